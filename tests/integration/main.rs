//! Integration tests: one binary, one module per area.

mod action;
mod analyze;
mod archives;
mod ci;
mod common;
mod dependencies;
mod exit_codes;
mod formats;
mod fuzz_smoke;
mod git;
mod hostile;
mod images;
mod input;
mod layering;

mod offline;
mod org;
mod output;
mod repo;
mod reports;
mod revoke;
mod rules;
mod scan;
mod stub;
mod sweep;
mod sweep_report;
mod symlinks;
mod triage;
mod validate;
mod validator_table;
