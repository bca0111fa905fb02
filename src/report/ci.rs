//! Formats CI systems read natively: GitHub workflow annotations, GitLab's
//! secret detection report, JUnit XML, CSV. Secrets are redacted as in every
//! other format (see [`crate::finding::redaction`]).

use std::io::{self, Write};

use serde_json::json;

use super::{Report, Reporter};
use crate::finding::Finding;
use crate::rules::Severity;

/// `::error file=…,line=…,col=…,endLine=…,endColumn=…,title=…::message`,
/// one per finding not suppressed; `warning` for medium, `notice` for low.
pub struct Github;

/// GitLab's secret detection report (schema 15.x): `version`,
/// `vulnerabilities` (id, name, description, severity, location with file,
/// lines and commit, identifiers) and `scan`.
pub struct Gitlab;

/// One `<testsuite>` with one failed `<testcase>` per finding.
pub struct Junit;

/// RFC 4180 CSV with a header row.
pub struct Csv;

/// What a finding's annotation or test case says.
fn message(f: &Finding, report: &Report<'_>) -> String {
    format!(
        "{} ({}) found: {}. {}",
        f.rule.name,
        f.rule.id,
        f.matched.secret,
        super::human::advice(f, report.rules)
    )
}

/// Workflow command data: `%`, CR and LF escaped.
fn gh_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Workflow command property values: also `:` and `,`.
fn gh_property(s: &str) -> String {
    gh_data(s).replace(':', "%3A").replace(',', "%2C")
}

impl Reporter for Github {
    fn write(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        for f in report
            .shown()
            .iter()
            .filter(|f| f.annotations.suppressed.is_none())
        {
            let level = match f.rule.severity {
                Severity::Critical | Severity::High => "error",
                Severity::Medium => "warning",
                Severity::Low => "notice",
            };
            writeln!(
                out,
                "::{level} file={},line={},col={},endLine={},endColumn={},title={}::{}",
                gh_property(&f.location.path),
                f.location.line,
                f.location.column,
                f.location.end_line,
                f.location.end_column + 1,
                gh_property(&format!("{} [{}]", f.rule.name, f.rule.severity)),
                gh_data(&message(f, report)),
            )?;
        }
        Ok(())
    }
}

fn gitlab_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "Critical",
        Severity::High => "High",
        Severity::Medium => "Medium",
        Severity::Low => "Low",
    }
}

/// GitLab's timestamps: `YYYY-MM-DDTHH:MM:SS`, UTC, no zone.
fn gitlab_time(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    crate::time::rfc3339(i64::try_from(secs).unwrap_or(0), 0)
        .chars()
        .take(19)
        .collect()
}

impl Reporter for Gitlab {
    fn write(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        let vulns: Vec<_> = report
            .shown()
            .iter()
            .filter(|f| f.annotations.suppressed.is_none())
            .map(|f| {
                let sha = f.commit().unwrap_or("0000000");
                json!({
                    "id": f.matched.fingerprint,
                    "category": "secret_detection",
                    "name": f.rule.name,
                    "description": message(f, report),
                    "severity": gitlab_severity(f.rule.severity),
                    "confidence": "Unknown",
                    "scanner": {"id": "keysweep", "name": "keysweep"},
                    "location": {
                        "file": f.location.path,
                        "start_line": f.location.line,
                        "end_line": f.location.end_line,
                        "commit": {"sha": sha},
                    },
                    "identifiers": [{
                        "type": "keysweep_rule_id",
                        "name": format!("keysweep rule {}", f.rule.id),
                        "value": f.rule.id,
                    }],
                    "details": {"secret_id": {"type": "text", "name": "secret id", "value": f.matched.secret_id}},
                })
            })
            .collect();
        let end = std::time::SystemTime::now();
        let start = end - report.summary.scan.elapsed;
        let tool = json!({
            "id": "keysweep",
            "name": "keysweep",
            "version": env!("CARGO_PKG_VERSION"),
            "vendor": {"name": "keysweep"},
        });
        let doc = json!({
            "version": "15.1.0",
            "vulnerabilities": vulns,
            "scan": {
                "analyzer": tool,
                "scanner": tool,
                "type": "secret_detection",
                "start_time": gitlab_time(start),
                "end_time": gitlab_time(end),
                "status": if report.summary.scan.errors > 0 { "failure" } else { "success" },
            },
        });
        serde_json::to_writer_pretty(&mut *out, &doc)?;
        writeln!(out)
    }
}

/// XML text and attribute values, with characters XML 1.0 forbids dropped.
fn xml(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            '\t' | '\n' | '\r' => o.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => o.push(c),
        }
    }
    o
}

impl Reporter for Junit {
    fn write(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        let shown: Vec<Finding> = report
            .shown()
            .into_iter()
            .filter(|f| f.annotations.suppressed.is_none())
            .collect();
        let time = report.summary.scan.elapsed.as_secs_f64();
        writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
        writeln!(
            out,
            r#"<testsuites name="keysweep" tests="{n}" failures="{n}" errors="0" time="{time:.3}">"#,
            n = shown.len()
        )?;
        writeln!(
            out,
            r#"  <testsuite name="keysweep" tests="{n}" failures="{n}" errors="0" skipped="0" time="{time:.3}">"#,
            n = shown.len()
        )?;
        for f in &shown {
            let place = format!(
                "{}:{}:{}",
                f.location.path, f.location.line, f.location.column
            );
            writeln!(
                out,
                r#"    <testcase classname="{}" name="{}" file="{}" line="{}">"#,
                xml(&f.rule.id),
                xml(&format!("{place} {}", f.rule.name)),
                xml(&f.location.path),
                f.location.line
            )?;
            writeln!(
                out,
                r#"      <failure type="{}" message="{}">{}</failure>"#,
                xml(&f.rule.severity.to_string()),
                xml(&message(f, report)),
                xml(&format!(
                    "{place}\n{}\nsecret_id {}",
                    f.matched.snippet, f.matched.secret_id
                ))
            )?;
            writeln!(out, "    </testcase>")?;
        }
        writeln!(out, "  </testsuite>\n</testsuites>")
    }
}

/// A CSV field, quoted when it holds a comma, quote or line break. A field
/// starting with `=`, `+`, `-` or `@` gets a leading `'` so spreadsheets do
/// not run it as a formula (file content is untrusted).
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

impl Reporter for Csv {
    fn write(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        const HEADER: &[&str] = &[
            "path",
            "line",
            "column",
            "rule_id",
            "rule_name",
            "severity",
            "confidence",
            "secret",
            "secret_id",
            "fingerprint",
            "commit",
            "validation",
            "suppressed",
            "snippet",
        ];
        writeln!(out, "{}", HEADER.join(","))?;
        for f in report.shown() {
            let row = [
                f.location.path.clone(),
                f.location.line.to_string(),
                f.location.column.to_string(),
                f.rule.id.clone(),
                f.rule.name.clone(),
                f.rule.severity.to_string(),
                f.rule.confidence.to_string(),
                f.matched.secret.clone(),
                f.matched.secret_id.clone(),
                f.matched.fingerprint.clone(),
                f.commit().unwrap_or_default().to_string(),
                f.annotations
                    .validation
                    .as_ref()
                    .map(|v| v.status.to_string())
                    .unwrap_or_default(),
                f.annotations
                    .suppressed
                    .as_ref()
                    .map(|s| s.reason.to_string())
                    .unwrap_or_default(),
                f.matched.snippet.clone(),
            ];
            let row: Vec<String> = row.iter().map(|s| csv_field(s)).collect();
            writeln!(out, "{}", row.join(","))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(gh_property("a:b,c%"), "a%3Ab%2Cc%25");
        assert_eq!(gh_data("x\ny"), "x%0Ay");
        assert_eq!(xml("<a&'\"\u{1b}>"), "&lt;a&amp;&apos;&quot;&gt;");
        assert_eq!(csv_field("a,\"b\""), "\"a,\"\"b\"\"\"");
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
    }
}
