//! Diagnostics: `keysweep: location: cause` warnings on standard error, kept
//! clear of the progress bar, and the counters a summary reports from them.
//! A leaf: every stage may report through it.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Mutex;

use indicatif::ProgressBar;

/// Where warnings go. Each names its location first, ripgrep style:
/// `path: cause`.
pub struct Messages {
    quiet: bool,
    progress: Mutex<Option<ProgressBar>>,
    fallbacks: AtomicU64,
}

impl Messages {
    pub fn new(quiet: bool) -> Messages {
        Messages {
            quiet,
            progress: Mutex::new(None),
            fallbacks: AtomicU64::new(0),
        }
    }

    /// Warns that a file did not parse as its format and was scanned as
    /// plain text, and counts it.
    pub fn format_fallback(&self, location: &str, message: &str) {
        self.fallbacks.fetch_add(1, Ordering::Relaxed);
        self.warn(location, message);
    }

    /// How many files fell back to plain text so far.
    pub fn format_fallbacks(&self) -> u64 {
        self.fallbacks.load(Ordering::Relaxed)
    }

    /// Prints `keysweep: location: message` to standard error, unless quiet.
    pub fn warn(&self, location: &str, message: &str) {
        if self.quiet {
            return;
        }
        // Locations are file names and messages may quote file content:
        // both come from the scanned tree.
        let line = terminal_safe(&format!("keysweep: {location}: {message}")).into_owned();
        match &*self.progress.lock().unwrap() {
            Some(pb) => pb.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    /// Prints `keysweep: line` for a warning that names its location itself.
    pub fn warn_line(&self, line: &str) {
        if let Some((location, message)) = line.split_once(": ") {
            self.warn(location, message);
        } else {
            self.warn("warning", line);
        }
    }

    /// Routes warnings around `pb` while it is drawn (`None` when done).
    pub fn set_progress(&self, pb: Option<ProgressBar>) {
        *self.progress.lock().unwrap() = pb;
    }
}

/// An error and its causes as one line, `error: cause: cause`, each cause
/// said once. Many errors here end their own message with their source
/// (`{path}: {source}`, so that they read well alone); printing the chain
/// as well (anyhow's `{:#}`) repeated the cause. A cause whose text the line
/// already holds is left out.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let s = e.to_string();
        if !s.is_empty() && !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cur = e.source();
    }
    out
}

/// How much `keysweep` says on standard error beyond warnings: `-v` is
/// `info` (per-phase timings), `-vv` `debug` (each file skipped and why),
/// `-vvv` `trace` (each file walked); `--log-level` names one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
#[repr(u8)]
pub enum Level {
    Error = 0,
    Warn = 1,
    Info = 2,
    Debug = 3,
    Trace = 4,
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Warn as u8);

/// Sets the level for the whole process (once, from the command line).
pub fn set_level(level: Level) {
    LEVEL.store(level as u8, Ordering::Relaxed);
}

/// Whether messages of `level` are printed.
pub fn enabled(level: Level) -> bool {
    LEVEL.load(Ordering::Relaxed) >= level as u8
}

impl Messages {
    /// Prints `keysweep: [level] message` when `level` is enabled (and not
    /// quiet), around the progress bar.
    pub fn log(&self, level: Level, message: impl std::fmt::Display) {
        if !enabled(level) {
            return;
        }
        let name = match level {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
            Level::Trace => "trace",
        };
        self.warn(&format!("[{name}]"), &message.to_string());
    }
}

/// `text` with control characters escaped, for anything written to a
/// terminal: file names and content come from the scanned tree, and a raw
/// `\r`, `ESC[2K` or OSC sequence could erase a line, overwrite a finding
/// with "all clean" or write the clipboard. Newlines and tabs pass (callers
/// print multi-line text); other C0, DEL and C1 controls become `\u{..}`,
/// and bidirectional overrides too, since they reorder what is shown.
pub fn terminal_safe(text: &str) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(bad) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if bad(c) {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A writer that passes text through [`terminal_safe`]. Reporters that write
/// for people wrap their output in it. Each `write` must hold whole UTF-8
/// characters, as `write!` pieces do; invalid bytes become U+FFFD.
pub struct TerminalSafe<W>(pub W);

impl<W: std::io::Write> std::io::Write for TerminalSafe<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(terminal_safe(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// A parser's error message with the values it quotes elided, keeping short
/// identifiers (key names, type names). Parse errors of a file that turns
/// out not to be a config (a `.env` named as one) must not print its content.
pub fn without_quoted_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(i) = rest.find(['"', '`', '\'']) {
        let q = rest[i..].chars().next().unwrap();
        out.push_str(&rest[..i + 1]);
        let after = &rest[i + 1..];
        let Some(j) = after.find(q) else {
            rest = after;
            break;
        };
        let inner = &after[..j];
        // Serde quotes values in double quotes and names (fields, types) in
        // backticks; a short name helps fix the file, a value may be a secret.
        let name = q != '"'
            && inner.len() <= 40
            && inner
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ' '));
        if name {
            out.push_str(inner);
        } else {
            out.push('…');
        }
        out.push(q);
        rest = &after[j + 1..];
    }
    out.push_str(rest);
    // Unquoted tails such as `found character 'x'` or raw lines a parser
    // appends after a newline are dropped: only the first line is kept.
    match out.split_once('\n') {
        Some((first, _)) => first.to_string(),
        None => out,
    }
}

/// 1-based line and column of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    (line, offset - start + 1)
}

/// A TOML error as `line L column C: message`, without the excerpt of the
/// file the `toml` crate's Display adds.
pub fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let msg = without_quoted_values(e.message());
    match e.span() {
        Some(span) => {
            let (l, c) = line_col(text, span.start);
            format!("line {l} column {c}: {msg}")
        }
        None => msg,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn error_chain_says_each_cause_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("bl.jsonl: {source}")]
        struct Wrapped {
            source: std::io::Error,
        }
        let io = || std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let e = anyhow::Error::from(Wrapped { source: io() }).context("cannot load");
        assert_eq!(
            format!("{e:#}"),
            "cannot load: bl.jsonl: no such file: no such file"
        );
        assert_eq!(
            super::error_chain(e.as_ref()),
            "cannot load: bl.jsonl: no such file"
        );
        // A cause not in the message is still said.
        let e = anyhow::Error::from(io()).context("reading x");
        assert_eq!(super::error_chain(e.as_ref()), "reading x: no such file");
    }

    use super::*;

    #[test]
    fn controls_are_escaped_for_terminals() {
        assert_eq!(terminal_safe("a\tb\nc"), "a\tb\nc");
        assert_eq!(terminal_safe("x\ry"), "x\\u{d}y");
        assert_eq!(terminal_safe("\u{1b}[2Kok"), "\\u{1b}[2Kok");
        assert_eq!(terminal_safe("\u{9b}2K"), "\\u{9b}2K");
        assert_eq!(terminal_safe("a\u{202e}b"), "a\\u{202e}b");
    }

    #[test]
    fn quoted_values_are_elided() {
        let m = "invalid type: string \"hunter2-very-secret-value\", expected a table";
        assert_eq!(
            without_quoted_values(m),
            "invalid type: string \"…\", expected a table"
        );
        assert_eq!(
            without_quoted_values("unknown field `excude`, expected one of `exclude`"),
            "unknown field `excude`, expected one of `exclude`"
        );
        assert_eq!(without_quoted_values("x `ghp_abc/def+ghi=`"), "x `…`");
        assert_eq!(without_quoted_values("bad\nSECRET=1"), "bad");
    }

    #[test]
    fn positions() {
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("ab", 0), (1, 1));
    }
}
