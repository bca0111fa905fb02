//! The file driver: standard input and the walked files, scanned in parallel.

use crate::diag::Level;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use super::{ScanOptions, ScanResult, Scanner, Summary};
use crate::diag::Messages;
use crate::finding::{self, Finding};
use crate::matcher::Scratch;
use crate::source::fs::{self, Walk, WalkOptions};
use crate::source::{stdin, SkipReason};
use crate::triage::baseline::is_baseline;

/// Per-file outcomes the scanning threads count.
#[derive(Default)]
struct Counters {
    scanned: AtomicU64,
    bytes: AtomicU64,
    unreadable: AtomicU64,
    binary: AtomicU64,
    baselines: AtomicU64,
    archives: super::archive::ArchiveTally,
}

impl Counters {
    fn add_to(self, summary: &mut Summary) {
        let mut skip = |reason, n: u64| {
            if n > 0 {
                *summary.skipped.entry(reason).or_default() += n;
            }
        };
        let unreadable = self.unreadable.into_inner();
        skip(SkipReason::Unreadable, unreadable);
        skip(SkipReason::Binary, self.binary.into_inner());
        skip(SkipReason::Baseline, self.baselines.into_inner());
        summary.errors += unreadable;
        self.archives.add_to(summary);
        summary.files_scanned += self.scanned.into_inner();
        summary.bytes_scanned += self.bytes.into_inner();
    }
}

impl Scanner {
    /// Scans files and directories (`-` is standard input) in parallel.
    ///
    /// Unreadable inputs are reported through `messages`, counted in the
    /// summary, and the scan goes on.
    ///
    /// # Errors
    ///
    /// Fails only on bad options (an invalid exclude glob, a thread pool that
    /// cannot start).
    pub fn scan_paths(
        &self,
        paths: &[PathBuf],
        opts: &ScanOptions,
        messages: &Messages,
    ) -> anyhow::Result<ScanResult> {
        let started = Instant::now();
        let mut result = ScanResult::default();
        let mut summary = Summary {
            rules: self.rules().len(),
            ..Summary::default()
        };
        let (stdin_wanted, roots): (Vec<_>, Vec<_>) =
            paths.iter().cloned().partition(|p| p.as_os_str() == "-");
        if !stdin_wanted.is_empty() {
            result.findings.extend(self.scan_stdin(
                opts.walk.max_file_size,
                &mut summary,
                messages,
            ));
        }
        let walk = walk(&roots, &opts.walk, &mut summary, messages, started)?;
        let progress = opts.progress.then(|| {
            bar(
                walk.files.iter().map(|f| f.size).sum::<u64>(),
                "{spinner} {bytes}/{total_bytes} ({bytes_per_sec}, {eta}) {msg}",
            )
        });
        messages.set_progress(progress.clone());
        let counters = Counters::default();
        let found = self.scan_walked(&walk, &opts.walk, &counters, progress.as_ref(), messages)?;
        if let Some(pb) = progress {
            pb.finish_and_clear();
        }
        messages.set_progress(None);

        counters.add_to(&mut summary);
        summary.format_fallbacks = messages.format_fallbacks();
        result.findings.extend(found);
        finding::sort(&mut result.findings);
        self.set_aside_suppressed(&mut result, &mut summary);
        summary.findings = result.findings.len();
        summary.elapsed = started.elapsed();
        result.summary = summary;
        Ok(result)
    }

    fn scan_stdin(
        &self,
        max_size: u64,
        summary: &mut Summary,
        messages: &Messages,
    ) -> Vec<Finding> {
        match stdin::read_stdin(max_size) {
            Ok(blob) => {
                let blob = blob.utf16_decoded();
                if blob.looks_binary() {
                    *summary.skipped.entry(SkipReason::Binary).or_default() += 1;
                    return Vec::new();
                }
                summary.files_scanned += 1;
                summary.bytes_scanned += blob.bytes.len() as u64;
                self.scan_blob_with(&blob, &mut Scratch::default(), messages)
            }
            Err(e) if e.kind() == std::io::ErrorKind::FileTooLarge => {
                messages.warn("<stdin>", &e.to_string());
                *summary.skipped.entry(SkipReason::TooLarge).or_default() += 1;
                Vec::new()
            }
            Err(e) => {
                messages.warn("<stdin>", &e.to_string());
                summary.errors += 1;
                Vec::new()
            }
        }
    }

    /// Reads and scans the walked files on `opts.threads` threads.
    fn scan_walked(
        &self,
        walk: &Walk,
        opts: &WalkOptions,
        counters: &Counters,
        progress: Option<&ProgressBar>,
        messages: &Messages,
    ) -> anyhow::Result<Vec<Finding>> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(opts.threads)
            .build()?;
        let scratches: Vec<Mutex<Scratch>> = (0..opts.threads.max(1))
            .map(|_| Mutex::new(Scratch::default()))
            .collect();
        Ok(pool.install(|| {
            walk.files
                .par_iter()
                .map(|entry| {
                    // One scratch per pool thread: its regex caches (lazy
                    // DFAs) warm up once per scan, not once per rayon job.
                    let slot = rayon::current_thread_index().unwrap_or(0) % scratches.len();
                    let mut scratch = scratches[slot].lock().unwrap();
                    let blob = match fs::read_file(&entry.path, entry.size) {
                        Ok(b) => b.utf16_decoded(),
                        Err(e) => {
                            messages.warn(&entry.path.display().to_string(), &e.to_string());
                            counters.unreadable.fetch_add(1, Ordering::Relaxed);
                            return Vec::new();
                        }
                    };
                    if let Some(pb) = progress {
                        pb.inc(entry.size);
                    }
                    if let Some(found) = self.scan_archive(
                        &blob,
                        &opts.archives,
                        &mut scratch,
                        messages,
                        &counters.archives,
                    ) {
                        return found;
                    }
                    if blob.looks_binary() {
                        counters.binary.fetch_add(1, Ordering::Relaxed);
                        return Vec::new();
                    }
                    if is_baseline(&blob.bytes) {
                        // Counted, and scanned with its hashes masked.
                        counters.baselines.fetch_add(1, Ordering::Relaxed);
                    }
                    counters.scanned.fetch_add(1, Ordering::Relaxed);
                    counters
                        .bytes
                        .fetch_add(blob.bytes.len() as u64, Ordering::Relaxed);
                    self.scan_blob_with(&blob, &mut scratch, messages)
                })
                .flatten()
                .collect()
        }))
    }
}

/// Walks the roots that exist, counting and reporting the ones that do not
/// and every skipped path.
fn walk(
    roots: &[PathBuf],
    opts: &WalkOptions,
    summary: &mut Summary,
    messages: &Messages,
    started: Instant,
) -> anyhow::Result<Walk> {
    for root in roots {
        if std::fs::symlink_metadata(root).is_err() {
            messages.warn(&root.display().to_string(), "no such file or directory");
            summary.errors += 1;
        }
    }
    let roots: Vec<PathBuf> = roots.iter().filter(|r| r.exists()).cloned().collect();
    let walk = fs::walk(&roots, opts)?;
    messages.log(
        Level::Info,
        format_args!(
            "walk: {} files in {:?}",
            walk.files.len(),
            started.elapsed()
        ),
    );
    if crate::diag::enabled(Level::Trace) {
        for f in &walk.files {
            messages.log(Level::Trace, format_args!("walked {}", f.path.display()));
        }
    }
    for s in &walk.skipped {
        messages.log(
            Level::Debug,
            format_args!("skipped {} ({}): {}", s.path.display(), s.reason, s.detail),
        );
        *summary.skipped.entry(s.reason).or_default() += 1;
        match s.reason {
            SkipReason::Unreadable => {
                summary.errors += 1;
                messages.warn(&s.path.display().to_string(), &s.detail);
            }
            SkipReason::TooLarge => messages.warn(
                &s.path.display().to_string(),
                &format!(
                    "skipped: larger than --max-file-size ({}, limit {} bytes)",
                    s.detail, opts.max_file_size
                ),
            ),
            _ => {}
        }
    }
    // Said once, not per path: a build directory would flood the terminal.
    let ignored: Vec<&Path> = walk
        .skipped
        .iter()
        .filter(|s| s.reason == SkipReason::Ignored)
        .map(|s| s.path.as_path())
        .collect();
    if let Some(first) = ignored.first() {
        let n = ignored.len();
        messages.warn_line(&format!(
            "note: {n} path{} ignored by .gitignore, .ignore or git's excludes {} not scanned \
             (e.g. {}); --no-ignore scans them",
            if n == 1 { "" } else { "s" },
            if n == 1 { "was" } else { "were" },
            first.display()
        ));
    }
    Ok(walk)
}

/// A progress bar on standard error; `total` is `None` when unknown.
pub(crate) fn bar(total: impl Into<Option<u64>>, template: &str) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(total.into(), ProgressDrawTarget::stderr());
    pb.set_style(ProgressStyle::with_template(template).expect("progress template"));
    pb
}
