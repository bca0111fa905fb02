use std::io::{self, Write};

use anstyle::{AnsiColor, Style};

use super::{Group, Report, Reporter};
use crate::finding::Finding;
use crate::rules::{RuleSet, Severity};

/// `path:line:col: Rule name (rule-id) [severity]` (in a notebook,
/// `path:cell N:L:`) followed by indented details and what to do, then a
/// summary line. Coloured when [`super::Show::color`] is set.
pub struct Human;

/// The styles of one report: all plain when colour is off.
struct Palette {
    location: Style,
    rule: Style,
    label: Style,
    secret: Style,
    advice: Style,
    on: bool,
}

impl Palette {
    fn new(on: bool) -> Palette {
        let p = |s: Style| if on { s } else { Style::new() };
        Palette {
            location: p(Style::new().bold()),
            rule: p(Style::new().fg_color(Some(AnsiColor::Cyan.into()))),
            label: p(Style::new().dimmed()),
            secret: p(Style::new().fg_color(Some(AnsiColor::Magenta.into()))),
            advice: p(Style::new().fg_color(Some(AnsiColor::Green.into()))),
            on,
        }
    }

    fn severity(&self, s: Severity) -> Style {
        if !self.on {
            return Style::new();
        }
        let color = match s {
            Severity::Critical | Severity::High => AnsiColor::Red,
            Severity::Medium => AnsiColor::Yellow,
            Severity::Low => AnsiColor::Blue,
        };
        let st = Style::new().fg_color(Some(color.into()));
        if s == Severity::Critical {
            st.bold()
        } else {
            st
        }
    }
}

/// Writes `text` in `style` (nothing extra when the style is plain).
fn paint(style: Style, text: impl std::fmt::Display) -> String {
    if style == Style::new() {
        text.to_string()
    } else {
        format!("{style}{text}{style:#}")
    }
}

/// One detail line: a dimmed label padded to 12 columns, then the value.
fn detail(out: &mut dyn Write, pal: &Palette, label: &str, value: &str) -> io::Result<()> {
    writeln!(
        out,
        "  {} {value}",
        paint(pal.label, format!("{label:<12}"))
    )
}

impl Reporter for Human {
    fn write(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        Human::write_findings(report, out)?;
        Human::write_summary(report, out)
    }
}

impl Human {
    /// The findings (or groups) without the closing summary: what a
    /// streamed scan prints for each file as it is scanned.
    ///
    /// # Errors
    ///
    /// Returns the error of the underlying writer.
    pub fn write_findings(report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        let pal = Palette::new(report.show.color);
        safely(report, out, |out| {
            if report.show.group {
                for g in report.groups() {
                    write_group(&g, report.rules, &pal, out)?;
                }
            } else {
                for f in report.shown() {
                    write_finding(&terminal_safe(&f), report.rules, &pal, out)?;
                }
            }
            Ok(())
        })
    }

    /// Only the closing summary, counting `report.findings`: what a
    /// streamed scan prints when it ends.
    ///
    /// # Errors
    ///
    /// Returns the error of the underlying writer.
    pub fn write_summary(report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        safely(report, out, |out| write_summary(report, out))
    }
}

/// Runs `f` on `out`, escaping every control character written unless the
/// report is coloured. File names and content come from the scanned tree:
/// with colour (our own escape sequences) the findings' texts are escaped
/// instead, by [`terminal_safe`].
fn safely(
    report: &Report<'_>,
    out: &mut dyn Write,
    f: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    if report.show.color {
        f(out)
    } else {
        f(&mut crate::diag::TerminalSafe(out))
    }
}

/// A copy of `f` whose texts have their control characters escaped (see
/// [`crate::diag::terminal_safe`]).
fn terminal_safe(f: &Finding) -> Finding {
    fn clean(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::String(s) => {
                if let std::borrow::Cow::Owned(safe) = crate::diag::terminal_safe(s) {
                    *s = safe;
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(clean),
            serde_json::Value::Object(o) => o.values_mut().for_each(clean),
            _ => {}
        }
    }
    let Ok(mut v) = serde_json::to_value(f) else {
        return f.clone();
    };
    clean(&mut v);
    serde_json::from_value(v).unwrap_or_else(|_| f.clone())
}

fn write_finding(
    f: &Finding,
    rules: &RuleSet,
    pal: &Palette,
    out: &mut dyn Write,
) -> io::Result<()> {
    write_header(f, pal, out)?;
    write_facts(f, pal, out)?;
    write_checks(f, pal, out)?;
    detail(out, pal, "line", &f.matched.snippet)?;
    if let Some(fix) = &f.place.fix {
        detail(out, pal, "fix", &paint(pal.advice, fix))?;
    }
    if let Some(repo) = &f.annotations.repo {
        detail(out, pal, "repo", repo)?;
    }
    if let Some(s) = &f.annotations.sweep {
        let seen = if s.new {
            format!("new in run {}", s.first_seen_run)
        } else {
            format!(
                "first seen in run {}, last in run {}",
                s.first_seen_run, s.last_seen_run
            )
        };
        detail(out, pal, "sweep", &seen)?;
    }
    write_git(f, pal, out)?;
    if f.annotations.suppressed.is_none() {
        detail(out, pal, "what to do", &paint(pal.advice, advice(f, rules)))?;
    }
    detail(out, pal, "fingerprint", &f.matched.fingerprint)?;
    writeln!(out)
}

/// `path:line:col: Rule name (rule-id) [severity]`.
fn write_header(f: &Finding, pal: &Palette, out: &mut dyn Write) -> io::Result<()> {
    let place = match (f.place.cell, f.place.cell_line) {
        (Some(cell), Some(line)) => format!("{}:cell {cell}:{line}:", f.location.path),
        _ => format!(
            "{}:{}:{}:",
            f.location.path, f.location.line, f.location.column
        ),
    };
    writeln!(
        out,
        "{} {} ({}) {}",
        paint(pal.location, place),
        paint(pal.rule, &f.rule.name),
        f.rule.id,
        paint(
            pal.severity(f.rule.severity),
            format!("[{}]", f.rule.severity)
        ),
    )
}

/// The secret and what the file's format says about where it sits.
fn write_facts(f: &Finding, pal: &Palette, out: &mut dyn Write) -> io::Result<()> {
    if let Some(s) = &f.annotations.suppressed {
        detail(
            out,
            pal,
            "suppressed",
            &format!("{}: {}", s.reason, s.detail),
        )?;
    }
    detail(out, pal, "secret", &paint(pal.secret, &f.matched.secret))?;
    for (name, value) in &f.matched.parts {
        detail(out, pal, name, value)?;
    }
    if f.place.cell.is_some() {
        let part = f
            .place
            .cell_part
            .map(|p| format!(" ({p})"))
            .unwrap_or_default();
        let at = format!(
            "line {}, column {}{part}",
            f.location.line, f.location.column
        );
        detail(out, pal, "in file", &at)?;
    }
    if let Some(d) = &f.place.decoded {
        detail(
            out,
            pal,
            "decoded",
            &format!("{d} (located at the encoded text)"),
        )?;
    }
    if let Some(server) = &f.place.mcp_server {
        let client = f.place.mcp_client.map(|c| format!(" ({})", c.name()));
        detail(
            out,
            pal,
            "mcp server",
            &format!("{server}{}", client.unwrap_or_default()),
        )?;
    }
    if let Some(ci) = f.place.ci_system {
        detail(out, pal, "ci system", ci.name())?;
    }
    if let Some(v) = &f.place.variable {
        detail(out, pal, "variable", v)?;
    }
    Ok(())
}

/// Confidence, severity and entropy; validation and revocation outcomes.
fn write_checks(f: &Finding, pal: &Palette, out: &mut dyn Write) -> io::Result<()> {
    let scores = format!(
        "{}   severity {}   entropy {:.2}",
        f.rule.confidence, f.rule.severity, f.matched.entropy
    );
    detail(out, pal, "confidence", &scores)?;
    if let Some(c) = &f.annotations.offline_check {
        detail(
            out,
            pal,
            "offline",
            &format!("{} {}: {}", c.check, c.status, c.detail),
        )?;
    }
    if let Some(v) = &f.annotations.validation {
        detail(
            out,
            pal,
            "validation",
            &format!("{}: {}", v.status, v.detail),
        )?;
    }
    if let Some(a) = &f.annotations.analysis {
        detail(out, pal, "analysis", &a.summary())?;
    }
    if let Some(r) = &f.annotations.revocation {
        let via = if r.broker.is_empty() {
            String::new()
        } else {
            format!(" via {}", r.broker)
        };
        detail(
            out,
            pal,
            "revocation",
            &format!("{}{via}: {}", r.status, r.detail),
        )?;
    }
    Ok(())
}

/// The commit that introduced the secret, for findings from history.
fn write_git(f: &Finding, pal: &Palette, out: &mut dyn Write) -> io::Result<()> {
    let Some(g) = &f.git else {
        return Ok(());
    };
    let short = crate::blob::short_id(&g.commit);
    detail(out, pal, "commit", &format!("{short} {}", g.message))?;
    detail(
        out,
        pal,
        "author",
        &format!("{} <{}> {}", g.author, g.email, g.date),
    )?;
    let status = match g.status {
        crate::blob::GitStatus::Present => "present at a branch tip",
        crate::blob::GitStatus::HistoryOnly => "history only (removed, still in history)",
    };
    if g.occurrences > 0 {
        let s = format!("{status}; in {} other blob(s)", g.occurrences);
        detail(out, pal, "status", &s)
    } else {
        detail(out, pal, "status", status)
    }
}

/// One line of what to do: revoke at the provider (the rule's first
/// reference), then how to mark a false positive.
pub(crate) fn advice(f: &Finding, rules: &RuleSet) -> String {
    let reference = rules
        .get(&f.rule.id)
        .and_then(|r| r.spec.references.first().cloned());
    let rotate = match reference {
        Some(url) => format!("revoke and rotate it with {} ({url})", provider_name(f)),
        None => format!("revoke and rotate it with {}", provider_name(f)),
    };
    format!(
        "{rotate}, then load it from a secret store; not a secret? add `keysweep:allow` to the line"
    )
}

fn provider_name(f: &Finding) -> &str {
    if f.rule.provider.is_empty() {
        "its provider"
    } else {
        &f.rule.provider
    }
}

/// `secret [severity] Rule name (rule-id)` then every place it was found.
fn write_group(g: &Group, rules: &RuleSet, pal: &Palette, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "{} {} ({}) {}",
        paint(pal.secret, &g.secret),
        paint(pal.rule, &g.rule_name),
        g.rule_id,
        paint(pal.severity(g.severity), format!("[{}]", g.severity)),
    )?;
    detail(out, pal, "secret id", &g.secret_id)?;
    for (i, f) in g.findings.iter().enumerate() {
        let label = if i == 0 { "found at" } else { "" };
        let mut at = paint(
            pal.location,
            format!(
                "{}:{}:{}",
                f.location.path, f.location.line, f.location.column
            ),
        );
        if let Some(c) = f.commit() {
            at.push_str(&format!(" ({})", crate::blob::short_id(c)));
        }
        if let Some(s) = &f.annotations.suppressed {
            at.push_str(&format!(" [suppressed: {}]", s.reason));
        }
        detail(out, pal, label, &at)?;
    }
    if let Some(f) = g.findings.first() {
        detail(out, pal, "what to do", &paint(pal.advice, advice(f, rules)))?;
    }
    writeln!(out)
}

/// "N findings (M distinct secrets) in F files; scanned …" and the run's
/// other counts.
fn write_summary(report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
    if let Some(sweep) = &report.summary.sweep {
        write_sweep(sweep, out)?;
    }
    let s = &report.summary.scan;
    write!(
        out,
        "{} in {:.2}s",
        super::summary::headline(report.summary, report.findings),
        s.elapsed.as_secs_f64()
    )?;
    write_counts(report, out)?;
    writeln!(out)?;
    if let Some(r) = &report.summary.revocation {
        for line in &r.failures {
            writeln!(out, "revocation failed: {line}")?;
        }
    }
    Ok(())
}

/// The sweep's run and one line per repository: what was scanned, and its
/// findings, new, live and revoked.
fn write_sweep(s: &crate::sweep::SweepSummary, out: &mut dyn Write) -> io::Result<()> {
    if s.repositories.is_empty() {
        return Ok(());
    }
    let previous = s
        .previous_run
        .map_or_else(String::new, |p| format!(" (after run {p})"));
    writeln!(
        out,
        "run {}{previous}: {} repositor{} ({} swept, {} unchanged, {} failed); \
         {} new, {} live, {} revoked",
        s.run,
        s.repos,
        if s.repos == 1 { "y" } else { "ies" },
        s.swept,
        s.unchanged,
        s.failures.len(),
        s.new_findings,
        s.live,
        s.revoked,
    )?;
    // Only repositories with findings or a failure: a sweep of thousands
    // would otherwise bury them (JSON and HTML list every one).
    let shown: Vec<_> = s
        .repositories
        .iter()
        .filter(|r| r.findings > 0 || r.status == "failed")
        .collect();
    let width = shown.iter().map(|r| r.repo.len()).max().unwrap_or(0);
    for r in &shown {
        write_repo(r, width, out)?;
    }
    let quiet = s.repositories.len() - shown.len();
    if quiet > 0 {
        writeln!(
            out,
            "  {quiet} other repositor{} without findings",
            if quiet == 1 { "y" } else { "ies" }
        )?;
    }
    Ok(())
}

/// One repository's line: status, what was scanned, its findings.
fn write_repo(r: &crate::sweep::RepoSummary, width: usize, out: &mut dyn Write) -> io::Result<()> {
    // Repository URLs come from a list or an API: escape them even when the
    // report is coloured.
    let name = crate::diag::terminal_safe(&r.repo);
    write!(
        out,
        "  {name:<width$}  {}: {} commit{}, {} blob{} ({}), {} skipped; {} finding{} \
         ({} new, {} live, {} revoked)",
        r.status,
        r.commits,
        plural(r.commits),
        r.blobs_scanned,
        plural(r.blobs_scanned),
        human_bytes(r.bytes_scanned),
        r.blobs_skipped,
        r.findings,
        plural(r.findings as u64),
        r.new,
        r.live,
        r.revoked,
    )?;
    match &r.error {
        Some(e) => writeln!(out, "; {}", crate::diag::terminal_safe(e)),
        None => writeln!(out),
    }
}

/// Skipped, malformed, suppressed, commits, errors, validation, revocation.
fn write_counts(report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
    let s = &report.summary.scan;
    if s.skipped_total() > 0 {
        let parts: Vec<String> = s.skipped.iter().map(|(r, n)| format!("{n} {r}")).collect();
        write!(
            out,
            "; skipped {} ({})",
            s.skipped_total(),
            parts.join(", ")
        )?;
    }
    if s.format_fallbacks > 0 {
        write!(
            out,
            "; {} malformed file{} scanned as plain text",
            s.format_fallbacks,
            plural(s.format_fallbacks)
        )?;
    }
    if s.suppressed_total() > 0 {
        let parts: Vec<String> = s
            .suppressed
            .iter()
            .map(|(r, n)| format!("{n} {r}"))
            .collect();
        write!(
            out,
            "; {} suppressed ({})",
            s.suppressed_total(),
            parts.join(", ")
        )?;
        if !report
            .findings
            .iter()
            .any(|f| f.annotations.suppressed.is_some())
        {
            write!(out, " [--show-suppressed lists them]")?;
        }
    }
    if let Some(g) = &s.git {
        write!(out, "; {} commit{}", g.commits, plural(g.commits))?;
        if g.shallow {
            write!(out, " (shallow clone: older history is not available)")?;
        }
    }
    if s.errors > 0 {
        write!(out, "; {} error{}", s.errors, plural(s.errors))?;
    }
    if let Some(v) = &report.summary.validation {
        write!(out, "; validation: {v}")?;
    }
    if let Some(a) = &report.summary.analysis {
        write!(out, "; analysis: {a}")?;
    }
    if let Some(r) = &report.summary.revocation {
        write!(out, "; revocation: {}", crate::revoke::summary_line(r))?;
    }
    Ok(())
}

pub(crate) fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Formats a byte count with a binary unit.
pub(crate) fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
