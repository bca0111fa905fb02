//! Reporters write findings and a summary; they never scan.

mod human;
mod json;
mod sarif;
mod summary;

use std::io::{self, Write};

use crate::finding::Finding;
use crate::rules::RuleSet;

pub use human::Human;
pub use json::{Json, JsonLines};
pub use sarif::Sarif;
pub use summary::RunSummary;

/// Output formats for `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One block per finding, for people.
    Human,
    /// One JSON document with findings and summary.
    Json,
    /// One JSON object per finding, one per line.
    Jsonl,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
}

/// What a reporter needs to know.
pub struct Report<'a> {
    /// Findings to write, in order. Suppressed ones (listed on request) carry
    /// their [`Finding::suppressed`] reason and count in no total.
    pub findings: &'a [Finding],
    pub summary: &'a RunSummary,
    pub rules: &'a RuleSet,
    /// Print secrets in full instead of redacted.
    pub show_secrets: bool,
}

impl Report<'_> {
    /// Findings as they should be shown: redacted unless `show_secrets`.
    pub fn shown(&self) -> impl Iterator<Item = std::borrow::Cow<'_, Finding>> {
        self.findings.iter().map(move |f| {
            if self.show_secrets {
                std::borrow::Cow::Borrowed(f)
            } else {
                std::borrow::Cow::Owned(f.redacted())
            }
        })
    }
}

/// A way of writing a report.
pub trait Reporter {
    /// Writes the whole report to `out`.
    ///
    /// # Errors
    ///
    /// Returns the error of the underlying writer.
    fn write(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()>;
}

/// The reporter for a format.
pub fn reporter(format: Format) -> Box<dyn Reporter> {
    match format {
        Format::Human => Box::new(Human),
        Format::Json => Box::new(Json),
        Format::Jsonl => Box::new(JsonLines),
        Format::Sarif => Box::new(Sarif),
    }
}
