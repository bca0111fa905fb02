//! Integration tests: one binary, one module per area.

mod common;
mod exit_codes;
mod formats;
mod git;
mod input;
mod offline;
mod output;
mod revoke;
mod rules;
mod scan;
mod sweep;
mod triage;
mod validate;
