//! Migration from gitleaks: its config format (rules, allowlists, `[extend]`)
//! and its regex dialect. `.gitleaksignore` lives with the other suppressions
//! in [`crate::triage::gitleaksignore`].

pub mod config;
pub mod re2;

pub use config::{GitleaksConfig, GitleaksError};
