//! `--format html`: one self-contained page (inline CSS and script, nothing
//! loaded from anywhere) with the summary, a filterable table of findings
//! and each distinct secret with its locations and what to do.
//!
//! File names, snippets and commit messages come from the scanned tree and
//! are hostile: the page is rendered with HTML auto-escaping on for every
//! value, and its Content-Security-Policy allows no script but its own (by
//! hash), so even markup that slipped through could not run.

use std::io::{self, Write};

use base64::Engine;
use sha2::Digest;

use super::template::{render, Context};
use super::{Report, Reporter};

/// See the module docs.
pub struct Html;

const PAGE: &str = include_str!("report.html");
const SCRIPT: &str = include_str!("report.js");

/// `sha256-…` of the inline script, for the page's CSP.
fn script_hash() -> String {
    let digest = sha2::Sha256::digest(SCRIPT.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

impl Reporter for Html {
    fn write(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        let ctx = Context::new(report);
        let n = ctx.findings();
        let value = minijinja::context! {
            script => minijinja::Value::from_safe_string(SCRIPT.to_string()),
            script_hash => script_hash(),
            ..minijinja::Value::from(minijinja::value::Serde(&ctx))
        };
        // The name ends in .html: every value is HTML-escaped.
        render("html report", "report.html", PAGE, value, n, out)
    }
}
