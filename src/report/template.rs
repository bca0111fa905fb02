//! `--format template --template FILE`: the user's own Jinja template
//! (minijinja), rendered over the same data as the JSON report.
//!
//! The template is the user's, named on the command line: nothing in the
//! scanned tree is ever used as one. It reads nothing else from disk (the
//! environment has no loader, so `include` and `extends` fail), runs on
//! bounded fuel and writes at most [`MAX_OUTPUT`] bytes. Secrets are
//! redacted as everywhere else unless `--show-secrets`. A template whose name
//! ends in `.html`, `.htm` or `.xml` escapes every value for HTML; `.json`
//! for JSON; any other writes values as they are.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{Group, Report, Reporter, RunSummary};
use crate::finding::Finding;

/// The largest template file read (templates are small).
pub const MAX_TEMPLATE: u64 = 1 << 20;
/// The most a template may write: a loop gone wrong stops here.
pub const MAX_OUTPUT: u64 = 256 << 20;
/// Instructions a render may run before it is stopped, plus
/// [`FUEL_PER_FINDING`] for each finding.
const FUEL_BASE: u64 = 10_000_000;
const FUEL_PER_FINDING: u64 = 100_000;

/// Why a template could not be used. Each names the file first.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("{}: cannot read the template: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("{}: the template is larger than {} KiB", path.display(), MAX_TEMPLATE >> 10)]
    TooLarge { path: PathBuf },
    #[error("{}: the template is not UTF-8", path.display())]
    NotUtf8 { path: PathBuf },
    #[error("{}: {source}", path.display())]
    Syntax {
        path: PathBuf,
        source: minijinja::Error,
    },
}

/// A loaded template, syntax-checked.
pub struct Template {
    path: PathBuf,
    /// The file name: it chooses the auto-escaping.
    name: String,
    source: String,
}

/// The reporter for `--format template` without `--template`.
pub(crate) struct Missing;

impl Reporter for Missing {
    fn write(&self, _: &Report<'_>, _: &mut dyn Write) -> io::Result<()> {
        Err(io::Error::other("--format template needs --template FILE"))
    }
}

impl Template {
    /// Reads and compiles the template at `path`.
    ///
    /// # Errors
    ///
    /// When it cannot be read, is over [`MAX_TEMPLATE`], is not UTF-8, or
    /// does not parse.
    pub fn load(path: &Path) -> Result<Template, TemplateError> {
        use std::io::Read;
        let err = |source| TemplateError::Read {
            path: path.to_path_buf(),
            source,
        };
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .map_err(err)?
            .take(MAX_TEMPLATE + 1)
            .read_to_end(&mut bytes)
            .map_err(err)?;
        if bytes.len() as u64 > MAX_TEMPLATE {
            return Err(TemplateError::TooLarge {
                path: path.to_path_buf(),
            });
        }
        let source = String::from_utf8(bytes).map_err(|_| TemplateError::NotUtf8 {
            path: path.to_path_buf(),
        })?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "template".into());
        let t = Template {
            path: path.to_path_buf(),
            name,
            source,
        };
        t.check()?;
        Ok(t)
    }

    fn check(&self) -> Result<(), TemplateError> {
        environment(0)
            .template_from_named_str(&self.name, &self.source)
            .map(|_| ())
            .map_err(|source| TemplateError::Syntax {
                path: self.path.clone(),
                source,
            })
    }
}

/// What a template sees; README "Templates" lists it.
#[derive(Serialize)]
pub(super) struct Context<'a> {
    schema_version: &'static str,
    tool: &'static str,
    version: &'static str,
    /// Every finding, as in the JSON report (redacted).
    findings: Vec<Finding>,
    /// One entry per distinct secret with its findings, as `--group`.
    secrets: Vec<Group>,
    summary: &'a RunSummary,
    /// "N findings (M distinct secrets) in F files; scanned …".
    headline: String,
    /// Inputs skipped, all reasons together.
    skipped: u64,
    /// What to do about a finding of each rule, by rule id.
    advice: BTreeMap<String, String>,
}

impl Context<'_> {
    pub(super) fn new<'a>(report: &'a Report<'_>) -> Context<'a> {
        let findings = report.shown();
        let advice = findings
            .iter()
            .map(|f| (f.rule.id.clone(), super::human::advice(f, report.rules)))
            .collect();
        Context {
            schema_version: super::SCHEMA_VERSION,
            tool: "keysweep",
            version: env!("CARGO_PKG_VERSION"),
            secrets: super::group(findings.clone()),
            headline: super::headline(report.summary, report.findings),
            skipped: report.summary.scan.skipped_total(),
            advice,
            findings,
            summary: report.summary,
        }
    }

    pub(super) fn findings(&self) -> usize {
        self.findings.len()
    }
}

/// An environment with no loader and bounded fuel.
fn environment(findings: usize) -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.set_fuel(Some(
        FUEL_BASE.saturating_add(FUEL_PER_FINDING.saturating_mul(findings as u64)),
    ));
    env
}

/// Renders `source` (named `name`, which chooses the escaping) over `ctx`
/// into `out`, at most [`MAX_OUTPUT`] bytes. Errors name `label` first.
pub(super) fn render(
    label: &str,
    name: &str,
    source: &str,
    ctx: minijinja::Value,
    findings: usize,
    out: &mut dyn Write,
) -> io::Result<()> {
    let env = environment(findings);
    let fail = |e: minijinja::Error| io::Error::other(format!("{label}: {e}"));
    let tmpl = env.template_from_named_str(name, source).map_err(fail)?;
    let mut limited = Limited {
        out,
        left: MAX_OUTPUT,
        failed: None,
    };
    let result = tmpl.render_captured_to(ctx, &mut limited).map(|_| ());
    result.map_err(|e| match limited.failed.take() {
        // The writer's own error (the output limit, a closed pipe), with
        // its kind, so a closed pipe stays one.
        Some((kind, why)) => io::Error::new(kind, format!("{label}: {why}")),
        None => fail(e),
    })
}

impl Reporter for Template {
    fn write(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        let ctx = Context::new(report);
        let n = ctx.findings();
        render(
            &self.path.display().to_string(),
            &self.name,
            &self.source,
            minijinja::Value::from(minijinja::value::Serde(&ctx)),
            n,
            out,
        )
    }
}

/// A writer that fails once `left` bytes are written, remembering why it
/// failed (minijinja keeps only a message).
struct Limited<'a> {
    out: &'a mut dyn Write,
    left: u64,
    failed: Option<(io::ErrorKind, String)>,
}

impl Write for Limited<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let result = if buf.len() as u64 > self.left {
            Err(io::Error::other(format!(
                "the template wrote more than {} MiB",
                MAX_OUTPUT >> 20
            )))
        } else {
            self.out.write(buf)
        };
        match result {
            Ok(n) => {
                self.left -= n as u64;
                Ok(n)
            }
            Err(e) => {
                self.failed = Some((e.kind(), e.to_string()));
                Err(e)
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_stops_at_the_limit_and_keeps_the_writers_error_kind() {
        let mut sink = Vec::new();
        let mut w = Limited {
            out: &mut sink,
            left: 10,
            failed: None,
        };
        assert!(w.write_all(b"0123456789").is_ok());
        assert!(w.write_all(b"x").is_err());
        assert_eq!(w.failed.as_ref().unwrap().0, io::ErrorKind::Other);
        assert_eq!(sink, b"0123456789");

        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let ctx = minijinja::context! { x => 1 };
        let err = render("t", "t.txt", "{{ x }}", ctx, 0, &mut Closed).unwrap_err();
        // A closed pipe stays one, so `keysweep … | head` exits cleanly.
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }
}
