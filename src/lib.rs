//! keysweep finds leaked API keys and tokens.
//!
//! Data flows one way: a [`source`] yields [`blob::Blob`]s (bytes plus where they
//! came from); the [`matcher`] finds rule matches in the bytes; [`finding`] turns
//! matches into located, fingerprinted findings; [`report`] writes them out.
//! [`scan`] wires the stages together.

pub mod blob;
pub mod cli;
pub mod datastore;
pub mod dedupe;
pub mod finding;
pub mod matcher;
pub mod report;
pub mod rules;
pub mod scan;
pub mod source;
pub mod sweep;
