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
        let line = format!("keysweep: {location}: {message}");
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
