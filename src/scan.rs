//! The scan engine: walks sources, scans blobs in parallel and collects findings
//! and a summary. Printing is left to [`crate::report`].

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use serde::Serialize;

use crate::blob::Blob;
use crate::finding::{self, Finding};
use crate::format::{self, encoded, Kind, Literal, OffsetMap, Place, Segment};
use crate::matcher::{Matcher, Scratch};
use crate::rules::{Confidence, RuleSet};
use crate::source::fs::{self, WalkOptions};
use crate::source::{stdin, SkipReason};

/// Counts of what a scan did, skipped and failed on.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Summary {
    pub files_scanned: u64,
    pub bytes_scanned: u64,
    pub findings: usize,
    /// Inputs not scanned, by reason.
    pub skipped: BTreeMap<SkipReason, u64>,
    /// Inputs that could not be read or walked.
    pub errors: u64,
    pub rules: usize,
    /// Files that did not parse as their format (a malformed notebook or
    /// config) and were scanned as plain text instead.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub format_fallbacks: u64,
    #[serde(serialize_with = "secs")]
    pub elapsed: Duration,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}

impl Summary {
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }
}

/// Findings and the summary of one scan.
#[derive(Debug, Default)]
pub struct ScanResult {
    pub findings: Vec<Finding>,
    pub summary: Summary,
}

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

    fn set_progress(&self, pb: Option<ProgressBar>) {
        *self.progress.lock().unwrap() = pb;
    }
}

/// How many times decoded text is searched for encoded runs again: 2 finds
/// a token base64-encoded twice (a base64 `.dockerconfigjson` in a Secret).
pub const MAX_DECODE_DEPTH: usize = 2;

/// Options for [`Scanner::scan_paths`].
#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub walk: WalkOptions,
    /// Show a progress bar (the caller decides: a terminal, not quiet).
    pub progress: bool,
}

/// Scans blobs with one rule set. Cheap to share across threads.
pub struct Scanner {
    matcher: Matcher,
    min_confidence: Confidence,
}

impl Scanner {
    pub fn new(rules: Arc<RuleSet>, min_confidence: Confidence) -> Scanner {
        Scanner {
            matcher: Matcher::new(rules),
            min_confidence,
        }
    }

    pub fn rules(&self) -> &Arc<RuleSet> {
        self.matcher.rules()
    }

    /// Finds the secrets in one blob. Format problems (a malformed notebook)
    /// are not reported; use [`Scanner::scan_blob_with`] to have them.
    pub fn scan_blob(&self, blob: &Blob, scratch: &mut Scratch) -> Vec<Finding> {
        self.scan_blob_with(blob, scratch, &Messages::new(true))
    }

    /// Finds the secrets in one blob: chooses its format, scans each of its
    /// segments and the base64/hex values in them, and adds the format's
    /// literal credentials and structural facts. A blob that does not parse
    /// as its format is scanned as plain text, with a warning to `messages`.
    pub fn scan_blob_with(
        &self,
        blob: &Blob,
        scratch: &mut Scratch,
        messages: &Messages,
    ) -> Vec<Finding> {
        let bytes: &[u8] = &blob.bytes;
        let kind = format::detect(blob.origin.path(), bytes);
        let mut found = Vec::new();
        if kind == Kind::Plain {
            self.scan_segment(blob, &Segment::plain(bytes), 0, scratch, &mut found);
            return found.into_iter().map(|(f, _)| f).collect();
        }
        let prepared = format::prepare(kind, bytes);
        if let Some(why) = &prepared.fallback {
            messages.format_fallback(&blob.origin.display_path(), why);
        }
        // A secret shown by several renderings of one notebook output
        // (text/plain and text/html) is reported once.
        let mut first_in_group: HashMap<(u32, String, String), usize> = HashMap::new();
        for (i, seg) in prepared.segments.iter().enumerate() {
            let mut here = Vec::new();
            self.scan_segment(blob, seg, 0, scratch, &mut here);
            if let Some(g) = seg.place.group {
                here.retain(|(f, _)| {
                    let key = (g, f.rule_id.clone(), f.secret.clone());
                    *first_in_group.entry(key).or_insert(i) == i
                });
            }
            found.extend(here);
        }
        self.add_literals(blob, &prepared.literals, &mut found);
        found.into_iter().map(|(f, _)| f).collect()
    }

    /// Matches one segment, then the base64 and hex runs in it (decoded text
    /// is searched again, to [`MAX_DECODE_DEPTH`] levels).
    fn scan_segment(
        &self,
        blob: &Blob,
        seg: &Segment<'_>,
        depth: usize,
        scratch: &mut Scratch,
        out: &mut Vec<(Finding, Range<usize>)>,
    ) {
        let mut matches = self.matcher.scan(&seg.text, scratch);
        let rules = self.matcher.rules().rules();
        matches.retain(|m| rules[m.rule].spec.confidence >= self.min_confidence);
        if !matches.is_empty() {
            out.extend(finding::from_segment(blob, seg, &matches, rules));
        }
        if depth >= MAX_DECODE_DEPTH {
            return;
        }
        encoded::decode_runs(&seg.text, |run, encoding, decoded| {
            let decoded_label = match &seg.place.decoded {
                Some(outer) => format!("{outer}/{}", encoding.name()),
                None => encoding.name().to_string(),
            };
            let cell_line = seg.place.cell.map(|_| {
                seg.place.cell_line.unwrap_or_else(|| {
                    memchr::memchr_iter(b'\n', &seg.text[..run.start]).count() + 1
                })
            });
            let child = Segment {
                text: Cow::Owned(decoded),
                map: OffsetMap::Whole(seg.map.to_blob(run)),
                place: Place {
                    decoded: Some(decoded_label),
                    cell_line,
                    ..seg.place.clone()
                },
            };
            self.scan_segment(blob, &child, depth + 1, scratch, out);
        });
    }

    /// Gives each finding the facts of the most specific literal around it,
    /// and reports the literal credentials no provider rule found.
    fn add_literals(
        &self,
        blob: &Blob,
        literals: &[Literal],
        found: &mut Vec<(Finding, Range<usize>)>,
    ) {
        if literals.is_empty() {
            return;
        }
        let overlaps = |a: &Range<usize>, b: &Range<usize>| a.start < b.end && b.start < a.end;
        for (f, span) in found.iter_mut() {
            let best = literals
                .iter()
                .filter(|l| overlaps(&l.span, span) || l.span.start == span.start)
                .min_by_key(|l| l.span.len());
            if let Some(l) = best {
                f.apply(&l.context);
            }
        }
        let mut reported: Vec<Range<usize>> = Vec::new();
        for lit in literals.iter().filter(|l| l.report) {
            if found.iter().any(|(_, s)| overlaps(s, &lit.span)) || reported.contains(&lit.span) {
                continue;
            }
            let Some(rule) = self.rules().get(lit.rule_id) else {
                continue; // deselected with --rule / --exclude-rule
            };
            if rule.spec.confidence < self.min_confidence {
                continue;
            }
            reported.push(lit.span.clone());
            let f = finding::from_literal(blob, lit, rule);
            found.push((f, lit.span.clone()));
        }
    }

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
            match stdin::read_stdin() {
                Ok(blob) => {
                    summary.files_scanned += 1;
                    summary.bytes_scanned += blob.bytes.len() as u64;
                    result.findings.extend(self.scan_blob_with(
                        &blob,
                        &mut Scratch::default(),
                        messages,
                    ));
                }
                Err(e) => {
                    messages.warn("<stdin>", &e.to_string());
                    summary.errors += 1;
                }
            }
        }

        for root in &roots {
            if std::fs::symlink_metadata(root).is_err() {
                messages.warn(&root.display().to_string(), "no such file or directory");
                summary.errors += 1;
            }
        }
        let roots: Vec<PathBuf> = roots.into_iter().filter(|r| r.exists()).collect();
        let walk = fs::walk(&roots, &opts.walk)?;
        for s in &walk.skipped {
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
                        s.detail, opts.walk.max_file_size
                    ),
                ),
                _ => {}
            }
        }

        let total: u64 = walk.files.iter().map(|f| f.size).sum();
        let progress = opts.progress.then(|| {
            let pb = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            pb.set_style(
                ProgressStyle::with_template(
                    "{spinner} {bytes}/{total_bytes} ({bytes_per_sec}, {eta}) {msg}",
                )
                .expect("progress template"),
            );
            pb
        });
        messages.set_progress(progress.clone());

        let scanned = AtomicU64::new(0);
        let bytes = AtomicU64::new(0);
        let errors = AtomicU64::new(0);
        let binary = AtomicU64::new(0);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(opts.walk.threads)
            .build()?;
        let found: Vec<Finding> = pool.install(|| {
            walk.files
                .par_iter()
                .map_init(Scratch::default, |scratch, entry| {
                    let blob = match fs::read_file(&entry.path, entry.size) {
                        Ok(b) => b,
                        Err(e) => {
                            messages.warn(&entry.path.display().to_string(), &e.to_string());
                            errors.fetch_add(1, Ordering::Relaxed);
                            return Vec::new();
                        }
                    };
                    if let Some(pb) = &progress {
                        pb.inc(entry.size);
                    }
                    if blob.looks_binary() {
                        binary.fetch_add(1, Ordering::Relaxed);
                        return Vec::new();
                    }
                    scanned.fetch_add(1, Ordering::Relaxed);
                    bytes.fetch_add(blob.bytes.len() as u64, Ordering::Relaxed);
                    self.scan_blob_with(&blob, scratch, messages)
                })
                .flatten()
                .collect()
        });
        if let Some(pb) = progress {
            pb.finish_and_clear();
        }
        messages.set_progress(None);

        let unreadable = errors.load(Ordering::Relaxed);
        summary.errors += unreadable;
        if unreadable > 0 {
            *summary.skipped.entry(SkipReason::Unreadable).or_default() += unreadable;
        }
        let binary = binary.load(Ordering::Relaxed);
        if binary > 0 {
            *summary.skipped.entry(SkipReason::Binary).or_default() += binary;
        }
        summary.format_fallbacks = messages.format_fallbacks();
        summary.files_scanned += scanned.load(Ordering::Relaxed);
        summary.bytes_scanned += bytes.load(Ordering::Relaxed);
        result.findings.extend(found);
        result.findings.sort_by(|a, b| {
            (&a.path, a.line, a.column, &a.rule_id).cmp(&(&b.path, b.line, b.column, &b.rule_id))
        });
        summary.findings = result.findings.len();
        summary.elapsed = started.elapsed();
        result.summary = summary;
        Ok(result)
    }
}
