//! keysweep finds leaked API keys and tokens.
//!
//! Data flows one way, and each module uses only the ones before it here
//! (`tests/integration/layering.rs` keeps it so):
//!
//! - [`time`], [`diag`]: leaves — date formatting; `keysweep: location: cause`
//!   warnings and the counters they feed.
//! - [`blob`]: bytes plus where they came from (file, stdin, git blob with its
//!   [`blob::GitProvenance`]).
//! - [`rules`]: rule files, their filters (entropy, placeholders) and
//!   validator/revoker specs, as data.
//! - [`format`](mod@format): turns a blob into text segments (notebook cells,
//!   decoded values) and structural facts (MCP servers, CI variables).
//! - [`matcher`]: finds rule matches in text, blind to provenance; also
//!   `rules check`.
//! - [`generic`]: the detector for credentials without a recognisable
//!   format — candidate name/value pairs scored by a small trained model.
//! - [`finding`]: matches located, fingerprinted, with their validation,
//!   revocation and suppression.
//! - [`triage`]: what a user has accepted (allowlists, inline allows,
//!   baselines).
//! - [`source`]: where blobs come from — the walk, stdin, git enumeration,
//!   the index, mirrors, MCP client config locations.
//! - [`scan`]: the drivers (files, history, staged) and the per-blob pipeline.
//! - [`net`], [`validate`], [`analyze`], [`revoke`]: the guarded HTTP
//!   client; asking providers whether secrets are live; what a live one can
//!   do (identity, scopes, expiry, severity); revoking them through brokers.
//! - [`datastore`], [`sweep`]: org-wide incremental sweeps.
//! - [`report`]: writes findings and the run's summary.
//! - [`gitleaks`], [`config`]: configuration (`keysweep.toml`, gitleaks
//!   configs for teams migrating), and [`cli`] on top.

pub mod analyze;
pub mod blob;
pub mod cli;
pub mod config;
pub mod datastore;
pub mod diag;
pub mod finding;
pub mod format;
pub mod generic;
pub mod gitleaks;
pub mod matcher;
pub mod net;
pub mod report;
pub mod revoke;
pub mod rules;
pub mod scan;
pub mod source;
pub mod sweep;
pub mod time;
pub mod triage;
pub mod validate;
