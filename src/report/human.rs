use std::io::{self, Write};

use super::{Report, Reporter};

/// `path:line:col: Rule name (rule-id)` (in a notebook, `path:cell N:L:`)
/// followed by indented details, then a summary line.
pub struct Human;

impl Reporter for Human {
    fn write(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        let unit = if report.summary.git.is_some() {
            "blob"
        } else {
            "file"
        };
        for f in report.shown() {
            match (f.cell, f.cell_line) {
                (Some(cell), Some(line)) => writeln!(
                    out,
                    "{}:cell {cell}:{line}: {} ({})",
                    f.path, f.rule_name, f.rule_id
                )?,
                _ => writeln!(
                    out,
                    "{}:{}:{}: {} ({})",
                    f.path, f.line, f.column, f.rule_name, f.rule_id
                )?,
            }
            if let Some(s) = &f.suppressed {
                writeln!(out, "  suppressed   {}: {}", s.reason, s.detail)?;
            }
            writeln!(out, "  secret       {}", f.secret)?;
            for (name, value) in &f.parts {
                writeln!(out, "  {name:<12} {value}")?;
            }
            if f.cell.is_some() {
                let part = f.cell_part.map(|p| format!(" ({p})")).unwrap_or_default();
                writeln!(
                    out,
                    "  in file      line {}, column {}{part}",
                    f.line, f.column
                )?;
            }
            if let Some(d) = &f.decoded {
                writeln!(out, "  decoded      {d} (located at the encoded text)")?;
            }
            if let Some(server) = &f.mcp_server {
                let client = f.mcp_client.map(|c| format!(" ({})", c.name()));
                writeln!(out, "  mcp server   {server}{}", client.unwrap_or_default())?;
            }
            if let Some(ci) = f.ci_system {
                writeln!(out, "  ci system    {}", ci.name())?;
            }
            if let Some(v) = &f.variable {
                writeln!(out, "  variable     {v}")?;
            }
            writeln!(
                out,
                "  confidence   {}   severity {}   entropy {:.2}",
                f.confidence, f.severity, f.entropy
            )?;
            if let Some(c) = &f.offline_check {
                writeln!(out, "  offline      {} {}: {}", c.check, c.status, c.detail)?;
            }
            if let Some(v) = &f.validation {
                writeln!(out, "  validation   {}: {}", v.status, v.detail)?;
            }
            if let Some(r) = &f.revocation {
                if r.broker.is_empty() {
                    writeln!(out, "  revocation   {}: {}", r.status, r.detail)?;
                } else {
                    writeln!(
                        out,
                        "  revocation   {} via {}: {}",
                        r.status, r.broker, r.detail
                    )?;
                }
            }
            writeln!(out, "  line         {}", f.snippet)?;
            if let Some(fix) = &f.fix {
                writeln!(out, "  fix          {fix}")?;
            }
            if let Some(repo) = &f.repo {
                writeln!(out, "  repo         {repo}")?;
            }
            if let Some(g) = &f.git {
                let short = &g.commit[..g.commit.len().min(12)];
                writeln!(out, "  commit       {short} {}", g.message)?;
                writeln!(out, "  author       {} <{}> {}", g.author, g.email, g.date)?;
                let status = match g.status {
                    crate::source::git::GitStatus::Present => "present at a branch tip",
                    crate::source::git::GitStatus::HistoryOnly => {
                        "history only (removed, still in history)"
                    }
                };
                if g.occurrences > 0 {
                    writeln!(
                        out,
                        "  status       {status}; in {} other blob(s)",
                        g.occurrences
                    )?;
                } else {
                    writeln!(out, "  status       {status}")?;
                }
            }
            writeln!(out, "  fingerprint  {}", f.fingerprint)?;
            writeln!(out)?;
        }
        let s = report.summary;
        let files_with: std::collections::BTreeSet<&str> = report
            .findings
            .iter()
            .filter(|f| f.suppressed.is_none())
            .map(|f| f.path.as_str())
            .collect();
        write!(
            out,
            "{} finding{} in {} file{}; scanned {} {unit}{} ({}) in {:.2}s",
            s.findings,
            plural(s.findings as u64),
            files_with.len(),
            plural(files_with.len() as u64),
            s.files_scanned,
            plural(s.files_scanned),
            human_bytes(s.bytes_scanned),
            s.elapsed.as_secs_f64()
        )?;
        if s.skipped_total() > 0 {
            let parts: Vec<String> = s
                .skipped
                .iter()
                .map(|(reason, n)| format!("{n} {reason}"))
                .collect();
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
                .map(|(reason, n)| format!("{n} {reason}"))
                .collect();
            write!(
                out,
                "; {} suppressed ({})",
                s.suppressed_total(),
                parts.join(", ")
            )?;
            if !report.findings.iter().any(|f| f.suppressed.is_some()) {
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
        if let Some(v) = &s.validation {
            write!(
                out,
                "; validation: {} live, {} invalid, {} unknown, {} not checked",
                v.live, v.invalid, v.unknown, v.not_checked
            )?;
        }
        if let Some(r) = &s.revocation {
            write!(out, "; revocation: {}", crate::revoke::summary_line(r))?;
        }
        writeln!(out)?;
        if let Some(r) = &s.revocation {
            for line in &r.failures {
                writeln!(out, "revocation failed: {line}")?;
            }
        }
        Ok(())
    }
}

fn plural(n: u64) -> &'static str {
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
