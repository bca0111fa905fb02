//! Reporters write findings and a summary; they never scan.

mod ci;
mod html;
mod human;
mod json;
mod sarif;
mod summary;
mod template;

use std::io::{self, Write};

use crate::finding::{Finding, Redaction, Redactor};
use crate::rules::RuleSet;

pub use ci::{Csv, Github, Gitlab, Junit};
pub use html::Html;
pub use human::Human;
pub use json::{Json, JsonLines, SCHEMA_VERSION};
pub use sarif::Sarif;
pub use summary::{headline, RunSummary};
pub use template::{Template, TemplateError};

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
    /// GitHub Actions workflow commands (`::error file=…,line=…::…`), which
    /// annotate the pull request.
    Github,
    /// A GitLab secret detection report (`gl-secret-detection-report.json`).
    Gitlab,
    /// JUnit XML: one failed test case per finding, for CI test views.
    Junit,
    /// Comma-separated values with a header row, for spreadsheets.
    Csv,
    /// One self-contained HTML page: summary, a filterable table, each
    /// secret with its locations and what to do.
    Html,
    /// Your own Jinja template, named by `--template FILE`.
    Template,
}

/// How a report shows its findings.
#[derive(Debug, Clone, Copy, Default)]
pub struct Show {
    /// Print secrets in full instead of redacted.
    pub secrets: bool,
    /// How secrets are redacted when not shown in full.
    pub redaction: Redaction,
    /// One entry per distinct secret, with all its locations.
    pub group: bool,
    /// Colour the human report (ANSI escapes).
    pub color: bool,
}

/// What a reporter needs to know.
pub struct Report<'a> {
    /// Findings to write, in order. Suppressed ones (listed on request) carry
    /// their [`Finding::suppressed`] reason and count in no total.
    pub findings: &'a [Finding],
    pub summary: &'a RunSummary,
    pub rules: &'a RuleSet,
    pub show: Show,
}

impl Report<'_> {
    /// Findings as they should be shown: each with its `secret_id`, and
    /// redacted unless `show.secrets`, every known secret of the report
    /// masked in every text (see [`crate::finding::redaction`]).
    pub fn shown(&self) -> Vec<Finding> {
        let with_id = |f: &Finding| {
            let mut f = f.clone();
            f.matched.secret_id = crate::finding::secret_id(&f.matched.secret);
            f
        };
        if self.show.secrets {
            return self.findings.iter().map(with_id).collect();
        }
        let redactor = Redactor::new(self.findings, Some(self.rules), self.show.redaction);
        self.findings
            .iter()
            .map(|f| {
                let mut r = redactor.finding(f);
                r.matched.secret_id = crate::finding::secret_id(&f.matched.secret);
                r
            })
            .collect()
    }

    /// Shown findings grouped by secret, in order of first appearance.
    pub fn groups(&self) -> Vec<Group> {
        group(self.shown())
    }
}

/// One distinct secret and every finding of it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Group {
    pub secret_id: String,
    pub rule_id: String,
    pub rule_name: String,
    pub severity: crate::rules::Severity,
    /// Redacted unless `--show-secrets`.
    pub secret: String,
    /// Every finding of this secret, in report order.
    pub findings: Vec<Finding>,
}

/// Groups findings by `secret_id`, keeping the order of first appearance.
pub fn group(findings: Vec<Finding>) -> Vec<Group> {
    let mut index = std::collections::HashMap::new();
    let mut groups: Vec<Group> = Vec::new();
    for f in findings {
        let i = *index.entry(f.matched.secret_id.clone()).or_insert_with(|| {
            groups.push(Group {
                secret_id: f.matched.secret_id.clone(),
                rule_id: f.rule.id.clone(),
                rule_name: f.rule.name.clone(),
                severity: f.rule.severity,
                secret: f.matched.secret.clone(),
                findings: Vec::new(),
            });
            groups.len() - 1
        });
        groups[i].findings.push(f);
    }
    groups
}

/// Distinct secrets among findings not suppressed.
pub fn distinct_secrets(findings: &[Finding]) -> usize {
    findings
        .iter()
        .filter(|f| f.annotations.suppressed.is_none())
        .map(|f| f.matched.secret.as_str())
        .collect::<std::collections::HashSet<_>>()
        .len()
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
        Format::Github => Box::new(Github),
        Format::Gitlab => Box::new(Gitlab),
        Format::Junit => Box::new(Junit),
        Format::Csv => Box::new(Csv),
        Format::Html => Box::new(Html),
        Format::Template => Box::new(template::Missing),
    }
}
