//! keysweep finds leaked API keys and tokens.
//!
//! Data flows one way: a [`source`] yields [`blob::Blob`]s (bytes plus where they
//! came from); a [`format`](mod@format) turns a blob into text segments (decoded notebook
//! cells, base64 values) mapped back to the blob and adds structural facts
//! (MCP servers, CI variables); the [`matcher`] finds rule matches in the text;
//! [`finding`] turns matches into located, fingerprinted findings; [`triage`]
//! marks the ones a user has accepted (allowlists, inline allows, baselines);
//! [`validate`] asks providers whether the secrets are live (only when asked);
//! [`report`] writes them out. [`scan`] wires the stages together; [`config`]
//! is `keysweep.toml` and [`gitleaks`] reads gitleaks configs for teams
//! migrating.

pub mod blob;
pub mod cli;
pub mod config;
pub mod datastore;
pub mod dedupe;
pub mod finding;
pub mod format;
pub mod generic;
pub mod gitleaks;
pub mod matcher;
pub mod report;
pub mod revoke;
pub mod rules;
pub mod scan;
pub mod source;
pub mod sweep;
pub mod triage;
pub mod validate;
