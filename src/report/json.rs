use std::io::{self, Write};

use serde::Serialize;

use super::RunSummary;
use super::{Report, Reporter};
use crate::finding::Finding;

/// `{"version": …, "findings": […], "summary": {…}}`.
pub struct Json;

/// One finding per line; the summary goes to standard error only.
pub struct JsonLines;

#[derive(Serialize)]
struct Document<'a> {
    tool: &'static str,
    version: &'static str,
    findings: Vec<Finding>,
    summary: &'a RunSummary,
}

impl Reporter for Json {
    fn write(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        let doc = Document {
            tool: "keysweep",
            version: env!("CARGO_PKG_VERSION"),
            findings: report.shown().map(|f| f.into_owned()).collect(),
            summary: report.summary,
        };
        serde_json::to_writer_pretty(&mut *out, &doc)?;
        writeln!(out)
    }
}

impl Reporter for JsonLines {
    fn write(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        for f in report.shown() {
            serde_json::to_writer(&mut *out, &*f)?;
            writeln!(out)?;
        }
        Ok(())
    }
}
