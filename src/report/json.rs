use std::io::{self, Write};

use serde::Serialize;

use super::RunSummary;
use super::{Group, Report, Reporter};
use crate::finding::Finding;

/// `{"schema_version": …, "findings": […], "summary": {…}}`, described by
/// `docs/report.schema.json`. With `--group`, `secrets` (one entry per
/// distinct secret, each with its findings) replaces `findings`.
pub struct Json;

/// One finding per line (one secret per line with `--group`); the summary
/// goes to standard error only.
pub struct JsonLines;

/// The version of `docs/report.schema.json` that the JSON and JSONL reports
/// follow. Raised when a field changes meaning or is removed; new optional
/// fields keep it.
pub const SCHEMA_VERSION: &str = "1.0";

#[derive(Serialize)]
struct Document<'a> {
    schema_version: &'static str,
    tool: &'static str,
    version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    findings: Option<Vec<Finding>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secrets: Option<Vec<Group>>,
    summary: &'a RunSummary,
}

impl Reporter for Json {
    fn write(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        let (findings, secrets) = if report.show.group {
            (None, Some(report.groups()))
        } else {
            (Some(report.shown()), None)
        };
        let doc = Document {
            schema_version: SCHEMA_VERSION,
            tool: "keysweep",
            version: env!("CARGO_PKG_VERSION"),
            findings,
            secrets,
            summary: report.summary,
        };
        serde_json::to_writer_pretty(&mut *out, &doc)?;
        writeln!(out)
    }
}

impl Reporter for JsonLines {
    fn write(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        if report.show.group {
            for g in report.groups() {
                serde_json::to_writer(&mut *out, &g)?;
                writeln!(out)?;
            }
            return Ok(());
        }
        for f in report.shown() {
            serde_json::to_writer(&mut *out, &f)?;
            writeln!(out)?;
        }
        Ok(())
    }
}
