//! The file driver: standard input and the walked files, scanned in parallel.

use crate::diag::Level;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::Instant;

use rayon::prelude::*;

use super::meter::Meter;
use super::{ScanOptions, ScanResult, Scanner, Summary};
use crate::diag::Messages;
use crate::finding::{self, Finding};
use crate::matcher::Scratch;
use crate::source::fs::{self, Skipped, WalkOptions};
use crate::source::{stdin, SkipReason};
use crate::triage::baseline::is_baseline;

/// Per-file outcomes the scanning threads count.
#[derive(Default)]
struct Counters {
    scanned: AtomicU64,
    bytes: AtomicU64,
    unreadable: AtomicU64,
    binary: AtomicU64,
    /// Over `--max-file-size`, let through as an archive, not one.
    too_large: AtomicU64,
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
        skip(SkipReason::TooLarge, self.too_large.into_inner());
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
            let found = self.scan_stdin(opts.walk.max_file_size, &mut summary, messages);
            if let Some(stream) = opts.stream.as_ref().filter(|_| !found.is_empty()) {
                (stream.0)(&found);
            }
            result.findings.extend(found);
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(opts.walk.threads)
            .build()?;
        // The totals grow as the walk finds files.
        let progress = opts.progress.then(|| Meter::files(0, 0));
        messages.set_progress(progress.as_ref().map(|m| m.bar().clone()));
        let counters = Counters::default();
        // Files are scanned as the walk finds them: the walk (and its second
        // pass for ignored paths) overlaps the scan instead of preceding it.
        // Someone watching a terminal gets the files in path order instead,
        // after the walk: a bar whose total is known, findings shown in order.
        let (tx, rx) = mpsc::channel();
        let ordered = opts.progress || opts.stream.is_some();
        let (walked, found) = std::thread::scope(|s| {
            let (roots, walk_opts, meter) = (&roots, &opts.walk, progress.as_ref());
            let to = Sink {
                files: tx,
                ordered,
                progress: meter,
            };
            let walker = s.spawn(move || walk(roots, walk_opts, messages, to, started));
            let found = self.scan_walked(rx, &pool, opts, &counters, progress.as_ref(), messages);
            (walker.join(), found)
        });
        let walked = walked.unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
        for (reason, n) in walked.skipped {
            *summary.skipped.entry(reason).or_default() += n;
        }
        summary.errors += walked.errors;
        if let Some(m) = progress {
            m.finish();
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

    /// Reads and scans the files the walk sends, on `pool`'s threads, as
    /// they arrive.
    fn scan_walked(
        &self,
        files: mpsc::Receiver<fs::FileEntry>,
        pool: &rayon::ThreadPool,
        scan_opts: &ScanOptions,
        counters: &Counters,
        progress: Option<&Meter>,
        messages: &Messages,
    ) -> Vec<Finding> {
        let opts = &scan_opts.walk;
        let scratches: Vec<Mutex<Scratch>> = (0..pool.current_num_threads().max(1))
            .map(|_| Mutex::new(Scratch::default()))
            .collect();
        pool.install(|| {
            files
                .into_iter()
                .par_bridge()
                .map(|entry| {
                    // One scratch per pool thread: its regex caches (lazy
                    // DFAs) warm up once per scan, not once per rayon job.
                    let slot = rayon::current_thread_index().unwrap_or(0) % scratches.len();
                    let mut scratch = scratches[slot].lock().unwrap();
                    let (found, size) =
                        self.scan_entry(&entry, opts, counters, &mut scratch, messages);
                    if let Some(m) = progress {
                        m.read(size);
                        m.scanned(found.len(), None);
                    }
                    if let Some(stream) = scan_opts.stream.as_ref().filter(|_| !found.is_empty()) {
                        match progress {
                            Some(m) => m.bar().suspend(|| (stream.0)(&found)),
                            None => (stream.0)(&found),
                        }
                    }
                    found
                })
                .flatten()
                .collect()
        })
    }

    /// Reads and scans one walked file, counting what happened to it.
    /// Returns its findings and its size.
    fn scan_entry(
        &self,
        entry: &fs::FileEntry,
        opts: &WalkOptions,
        counters: &Counters,
        scratch: &mut Scratch,
        messages: &Messages,
    ) -> (Vec<Finding>, u64) {
        let unreadable = |e: std::io::Error| {
            messages.warn(&entry.path.display().to_string(), &e.to_string());
            counters.unreadable.fetch_add(1, Ordering::Relaxed);
        };
        let file = match fs::open_file(&entry.path) {
            Ok(f) => f,
            Err(e) => {
                unreadable(e);
                return (Vec::new(), entry.size.unwrap_or(0));
            }
        };
        let size = file.size;
        // The walk refused what it saw was too large; a file it did not
        // look up is refused here, before a byte of it is read, unless it
        // opens as an archive.
        if entry.size.is_none()
            && size > opts.max_file_size
            && !fs::opens_as_archive(&entry.path, opts)
        {
            let path = entry.path.display().to_string();
            messages.log(
                Level::Debug,
                format_args!("skipped {path} ({}): {size} bytes", SkipReason::TooLarge),
            );
            messages.warn(
                &path,
                &format!(
                    "skipped: larger than --max-file-size ({size} bytes, limit {} bytes)",
                    opts.max_file_size
                ),
            );
            counters.too_large.fetch_add(1, Ordering::Relaxed);
            return (Vec::new(), size);
        }
        let blob = match file.read() {
            Ok(b) => b.utf16_decoded(),
            Err(e) => {
                unreadable(e);
                return (Vec::new(), size);
            }
        };
        let found = self.scan_read(&blob, size, opts, counters, scratch, messages);
        (found, size)
    }

    /// Scans one walked file's bytes (of `size` on disk), counting what
    /// happened to it.
    fn scan_read(
        &self,
        blob: &crate::blob::Blob,
        size: u64,
        opts: &WalkOptions,
        counters: &Counters,
        scratch: &mut Scratch,
        messages: &Messages,
    ) -> Vec<Finding> {
        let path = blob.origin.display_path();
        let archive = super::archive::ArchiveScan {
            path: &path,
            outer: super::archive::Outer::File,
            limits: &opts.archives,
            messages,
            tally: &counters.archives,
        };
        if let Some(found) = self.scan_archive(&blob.bytes, &archive, scratch) {
            return found;
        }
        if size > opts.max_file_size {
            // Let through as an archive by its first bytes, refused whole:
            // what is over the limit is not scanned as plain bytes.
            messages.warn(
                &path,
                &format!(
                    "skipped: larger than --max-file-size ({} bytes, limit {} bytes) and not an archive that opens",
                    size, opts.max_file_size
                ),
            );
            counters.too_large.fetch_add(1, Ordering::Relaxed);
            return Vec::new();
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
        self.scan_blob_with(blob, scratch, messages)
    }
}

/// What the walk skipped, by reason, and the errors among that.
#[derive(Default)]
struct WalkTally {
    skipped: BTreeMap<SkipReason, u64>,
    errors: u64,
}

/// Where the walk sends the files it finds.
struct Sink<'a> {
    files: mpsc::Sender<fs::FileEntry>,
    /// All at the end, in path order, instead of each as it is found.
    ordered: bool,
    progress: Option<&'a Meter>,
}

impl Sink<'_> {
    /// Logs `files` and adds them to the bar's totals.
    fn count(&self, files: &[fs::FileEntry], messages: &Messages) {
        if crate::diag::enabled(Level::Trace) {
            for f in files {
                messages.log(Level::Trace, format_args!("walked {}", f.path.display()));
            }
        }
        if let Some(m) = self.progress {
            m.walked(
                files.len() as u64,
                files.iter().map(|f| f.size.unwrap_or(0)).sum(),
            );
        }
    }

    fn send(&self, f: fs::FileEntry) {
        // The scan ends early only by a panic, which the caller re-raises.
        let _ = self.files.send(f);
    }
}

/// Walks the roots that exist, sending each file to `to` (as it is found,
/// or all in path order once the skipped paths are reported), and counts
/// and reports the roots that do not exist and every skipped path.
fn walk(
    roots: &[PathBuf],
    opts: &WalkOptions,
    messages: &Messages,
    to: Sink<'_>,
    started: Instant,
) -> anyhow::Result<WalkTally> {
    let mut tally = WalkTally::default();
    for root in roots {
        let why = match (std::fs::symlink_metadata(root), std::fs::metadata(root)) {
            (Err(_), _) => "no such file or directory".to_string(),
            (Ok(_), Err(e)) => match std::fs::read_link(root) {
                Ok(to) => format!(
                    "symbolic link to {} that does not resolve ({e})",
                    to.display()
                ),
                Err(_) => e.to_string(),
            },
            _ => continue,
        };
        // A path the user named is scanned or reported, never dropped.
        messages.warn(&root.display().to_string(), &why);
        tally.errors += 1;
    }
    let roots: Vec<PathBuf> = roots.iter().filter(|r| r.exists()).cloned().collect();
    let held = Mutex::new(Vec::new());
    let walk = fs::walk_each(&roots, opts, &|f| match to.ordered {
        true => held.lock().unwrap().push(f),
        false => {
            to.count(std::slice::from_ref(&f), messages);
            to.send(f);
        }
    })?;
    messages.log(
        Level::Info,
        format_args!("walk: {} files in {:?}", walk.files, started.elapsed()),
    );
    report_skipped(&walk.skipped, opts, messages, &mut tally);
    let mut held = held.into_inner().unwrap();
    held.sort_by(|a, b| a.path.cmp(&b.path));
    if to.progress.is_some() {
        // The bar's byte total, before the first file is read.
        fs::fill_sizes(&mut held);
    }
    // The whole total before the first file is scanned.
    to.count(&held, messages);
    for f in held {
        to.send(f);
    }
    Ok(tally)
}

/// Counts the walk's skipped paths (in path order) and warns of those a user
/// must hear about.
fn report_skipped(
    skipped: &[Skipped],
    opts: &WalkOptions,
    messages: &Messages,
    tally: &mut WalkTally,
) {
    for s in skipped {
        messages.log(
            Level::Debug,
            format_args!("skipped {} ({}): {}", s.path.display(), s.reason, s.detail),
        );
        *tally.skipped.entry(s.reason).or_default() += 1;
        match s.reason {
            SkipReason::Unreadable => {
                tally.errors += 1;
                messages.warn(&s.path.display().to_string(), &s.detail);
            }
            SkipReason::SymlinkLoop | SkipReason::OutsideRoot => {
                messages.warn(&s.path.display().to_string(), &s.detail)
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
    let ignored: Vec<&Path> = skipped
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
}
