//! The scan drivers and the per-blob pipeline they share.
//!
//! A driver reads a source ([`files`]: the walk and standard input;
//! [`history`]: git history, blob first; [`staged`]: the index) and hands each
//! blob to [`Scanner::scan_blob_with`], which chooses its format, runs the
//! matcher over each text segment and the encoded values in it, turns matches
//! into findings and marks what triage accepts. Drivers then sort, set
//! suppressed findings aside and count. Printing is left to [`crate::report`].

mod archive;
pub mod dedupe;
mod files;
pub mod history;
pub mod meter;
mod spans;
mod staged;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::blob::{Blob, Origin};
use crate::diag::Messages;
use crate::finding::{self, Finding, SuppressReason};
use crate::format::{self, encoded, Kind, Literal, OffsetMap, Place, Segment};
use crate::generic;
use crate::matcher::{Matcher, Scratch};
use crate::rules::{Confidence, RuleSet};
use crate::source::fs::WalkOptions;
use crate::source::SkipReason;
use crate::triage::baseline::is_baseline;
use crate::triage::{PathForms, Triage};

/// Counts of what a scan did, skipped and failed on. Reports serialize it
/// with the other stages' counts ([`crate::report::RunSummary`]).
#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub files_scanned: u64,
    pub bytes_scanned: u64,
    pub findings: usize,
    /// Inputs not scanned, by reason.
    pub skipped: BTreeMap<SkipReason, u64>,
    /// Inputs that could not be read or walked.
    pub errors: u64,
    /// Findings not reported because an allowlist, inline comment, ignore
    /// file or baseline accepts them, by reason.
    pub suppressed: BTreeMap<SuppressReason, u64>,
    pub rules: usize,
    /// Set when git history was scanned (`files_scanned` then counts blobs).
    pub git: Option<crate::source::git::GitSummary>,
    /// Files that did not parse as their format (a malformed notebook or
    /// config) and were scanned as plain text instead.
    pub format_fallbacks: u64,
    pub elapsed: Duration,
}

impl Summary {
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }

    pub fn suppressed_total(&self) -> u64 {
        self.suppressed.values().sum()
    }
}

/// Findings and the summary of one scan.
#[derive(Debug, Default)]
pub struct ScanResult {
    /// Findings to report.
    pub findings: Vec<Finding>,
    /// Findings triage accepted, each with its [`crate::triage::Suppression`].
    pub suppressed: Vec<Finding>,
    pub summary: Summary,
}

impl ScanResult {
    /// Adds another scan's findings and counts to this one.
    pub fn merge(&mut self, other: ScanResult) {
        self.findings.extend(other.findings);
        self.suppressed.extend(other.suppressed);
        let (a, b) = (&mut self.summary, other.summary);
        a.files_scanned += b.files_scanned;
        a.bytes_scanned += b.bytes_scanned;
        a.findings += b.findings;
        a.errors += b.errors;
        a.format_fallbacks += b.format_fallbacks;
        a.rules = a.rules.max(b.rules);
        a.elapsed += b.elapsed;
        for (k, v) in b.skipped {
            *a.skipped.entry(k).or_default() += v;
        }
        for (k, v) in b.suppressed {
            *a.suppressed.entry(k).or_default() += v;
        }
        if let Some(g) = b.git {
            let e = a.git.get_or_insert_with(Default::default);
            e.commits += g.commits;
            e.blobs += g.blobs;
            e.shallow |= g.shallow;
        }
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
    /// Where each file's findings go as soon as it is scanned, besides the
    /// result (which is still sorted at the end).
    pub stream: Option<Stream>,
}

/// Receives each input's findings as soon as it is scanned, in no set
/// order, suppressed ones included (marked). Called on the scanning
/// threads, with the progress bar cleared, one call at a time per thread:
/// the receiver serializes its own output.
#[derive(Clone)]
pub struct Stream(pub Arc<StreamFn>);

/// What a [`Stream`] calls.
pub type StreamFn = dyn Fn(&[Finding]) + Send + Sync;

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Stream")
    }
}

/// Scans blobs with one rule set. Cheap to share across threads.
pub struct Scanner {
    matcher: Matcher,
    /// Rule-set index of each generic category's rule, found on first use.
    generic_rules: std::sync::OnceLock<Option<Vec<Option<usize>>>>,
    /// Provider keywords that start tokens, lowercase, built on first use.
    provider_prefixes: std::sync::OnceLock<Vec<Vec<u8>>>,
    history: std::sync::OnceLock<history::HistoryPlan>,
    min_confidence: Confidence,
    triage: Option<Arc<Triage>>,
    /// Rule path filters also see paths relative to this directory.
    path_root: PathBuf,
    cwd: PathBuf,
    /// The directories a scan was asked for: the generic detector reads a
    /// file's path below them only (see [`Scanner::with_scan_roots`]).
    scan_roots: Vec<PathBuf>,
}

impl Scanner {
    pub fn new(rules: Arc<RuleSet>, min_confidence: Confidence) -> Scanner {
        let cwd = std::env::current_dir().unwrap_or_default();
        Scanner {
            matcher: Self::matcher_for(rules),
            generic_rules: std::sync::OnceLock::new(),
            provider_prefixes: std::sync::OnceLock::new(),
            history: std::sync::OnceLock::new(),
            min_confidence,
            triage: None,
            path_root: cwd.clone(),
            cwd,
            scan_roots: Vec::new(),
        }
    }

    /// The matcher of `rules`. When a generic detector rule is selected,
    /// its keyword pass also marks the lines that detector reads, so the
    /// detector needs no pass of its own.
    fn matcher_for(rules: Arc<RuleSet>) -> Matcher {
        if generic_selected(&rules) {
            Matcher::with_marks(rules, generic::candidate::LINE_KEYWORDS)
        } else {
            Matcher::new(rules)
        }
    }

    /// Marks findings that `triage` suppresses (see [`crate::triage`]).
    pub fn with_triage(mut self, triage: Arc<Triage>) -> Scanner {
        self.triage = Some(triage);
        self
    }

    /// The directory (absolute) that rule path filters match relative paths
    /// from, besides the paths as reported: the gitleaks config's directory.
    pub fn with_path_root(mut self, root: PathBuf) -> Scanner {
        self.path_root = root;
        self
    }

    /// The directories being scanned. The generic detector judges a file
    /// by the words of its path (`tests/`, `examples/`), and only the part
    /// below the scanned directory is the project's own: a checkout under
    /// `/var/jenkins/workspace/api-test-job/` is not test code.
    pub fn with_scan_roots(mut self, roots: &[PathBuf]) -> Scanner {
        self.scan_roots = roots.iter().filter(|r| r.is_dir()).cloned().collect();
        self
    }

    /// `origin`'s path as the generic detector reads it: below the scan
    /// root holding it, when there is one.
    fn context_path<'a>(&self, origin: &'a Origin) -> Option<&'a Path> {
        let path = origin.path()?;
        if !matches!(origin, Origin::File(_)) {
            return Some(path);
        }
        let below = self
            .scan_roots
            .iter()
            .filter_map(|r| path.strip_prefix(r).ok())
            .min_by_key(|rel| rel.as_os_str().len());
        Some(below.unwrap_or(path))
    }

    pub fn rules(&self) -> &Arc<RuleSet> {
        self.matcher.rules()
    }

    /// Finds the secrets in one blob, with format warnings (a malformed
    /// notebook scanned as plain text) sent to and counted by `messages`. A
    /// keysweep baseline is scanned with its hashes masked ([`crate::triage::baseline::masked`]).
    pub fn scan_blob_with(
        &self,
        blob: &Blob,
        scratch: &mut Scratch,
        messages: &Messages,
    ) -> Vec<Finding> {
        self.scan_bytes_with(&blob.bytes, &blob.origin, scratch, messages)
    }

    /// Finds the secrets in bytes from `origin`: chooses their format, scans
    /// each of its segments and the base64/hex values in them, and adds the
    /// format's literal credentials and structural facts. Bytes that do not
    /// parse as their format are scanned as plain text, with a warning to
    /// `messages`.
    pub fn scan_bytes_with(
        &self,
        hay: &[u8],
        origin: &Origin,
        scratch: &mut Scratch,
        messages: &Messages,
    ) -> Vec<Finding> {
        if is_baseline(hay) {
            let masked = crate::triage::baseline::masked(hay);
            let mut found = Vec::new();
            let seg = Segment::plain(&masked);
            self.scan_segment(&masked, origin, &seg, 0, scratch, &mut found);
            keep_most_confident(&mut found);
            return found.into_iter().map(|(f, _)| f).collect();
        }
        let kind = format::detect(origin.path(), hay);
        let mut found = Vec::new();
        if kind == Kind::Plain {
            // The hot path: the blob is borrowed as it is.
            let seg = Segment::plain(hay);
            let matches = self.matcher.scan(hay, scratch);
            // Taken before decoded text is scanned with the same scratch.
            let mut marks = scratch.take_marks();
            if !matches.is_empty() {
                found.extend(self.findings_in(hay, origin, &seg, matches));
            }
            self.scan_encoded(hay, origin, &seg, 0, scratch, &mut found);
            keep_most_confident(&mut found);
            marks.sort_unstable();
            self.add_generic(hay, origin, generic::Lines::Marked(&marks), &mut found);
            scratch.restore_marks(marks);
            return found.into_iter().map(|(f, _)| f).collect();
        }
        let prepared = format::prepare(kind, hay);
        if let Some(why) = &prepared.fallback {
            messages.format_fallback(&origin.display_path(), why);
        }
        // A secret shown by several renderings of one notebook output
        // (text/plain and text/html) is reported once.
        let mut first_in_group: HashMap<(u32, String, String), usize> = HashMap::new();
        for (i, seg) in prepared.segments.iter().enumerate() {
            let mut here = Vec::new();
            self.scan_segment(hay, origin, seg, 0, scratch, &mut here);
            if let Some(g) = seg.place.group {
                here.retain(|(f, _)| {
                    let key = (g, f.rule.id.clone(), f.matched.secret.clone());
                    *first_in_group.entry(key).or_insert(i) == i
                });
            }
            found.extend(here);
        }
        keep_most_confident(&mut found);
        self.add_literals(hay, origin, &prepared.literals, &mut found);
        self.add_generic(hay, origin, generic::Lines::All, &mut found);
        found.into_iter().map(|(f, _)| f).collect()
    }

    /// Matches one segment, then the base64 and hex runs in it (decoded text
    /// is searched again, to [`MAX_DECODE_DEPTH`] levels).
    fn scan_segment(
        &self,
        hay: &[u8],
        origin: &Origin,
        seg: &Segment<'_>,
        depth: usize,
        scratch: &mut Scratch,
        out: &mut Vec<(Finding, Range<usize>)>,
    ) {
        let matches = self.matcher.scan(&seg.text, scratch);
        if !matches.is_empty() {
            out.extend(self.findings_in(hay, origin, seg, matches));
        }
        if depth < MAX_DECODE_DEPTH {
            self.scan_encoded(hay, origin, seg, depth, scratch, out);
        }
    }

    /// Scans the text decoded from the base64 and hex runs in a segment.
    fn scan_encoded(
        &self,
        hay: &[u8],
        origin: &Origin,
        seg: &Segment<'_>,
        depth: usize,
        scratch: &mut Scratch,
        out: &mut Vec<(Finding, Range<usize>)>,
    ) {
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
            self.scan_segment(hay, origin, &child, depth + 1, scratch, out);
        });
    }

    /// The findings in text decoded from base64 and hex runs within `ranges`
    /// of `hay` only: for callers that match the ranges themselves (git
    /// history scans only the chunks not seen before).
    pub fn decoded_findings(
        &self,
        hay: &[u8],
        origin: &Origin,
        ranges: &[Range<usize>],
        scratch: &mut Scratch,
    ) -> Vec<Finding> {
        let mut out = Vec::new();
        for r in ranges {
            let seg = Segment {
                text: Cow::Borrowed(&hay[r.clone()]),
                map: OffsetMap::Shift(r.start),
                place: Place::default(),
            };
            self.scan_encoded(hay, origin, &seg, 0, scratch, &mut out);
        }
        out.into_iter().map(|(f, _)| f).collect()
    }

    /// Turns matches in `hay` into findings: applies `--min-confidence` and
    /// rule path filters, and marks what triage suppresses.
    pub fn findings(
        &self,
        hay: &[u8],
        origin: &Origin,
        matches: Vec<crate::matcher::Match>,
    ) -> Vec<Finding> {
        self.findings_in(hay, origin, &Segment::plain(hay), matches)
            .into_iter()
            .map(|(f, _)| f)
            .collect()
    }

    /// [`Scanner::findings`] for matches in one segment of `hay`, each with
    /// the blob span of its secret.
    fn findings_in(
        &self,
        hay: &[u8],
        origin: &Origin,
        seg: &Segment<'_>,
        mut matches: Vec<crate::matcher::Match>,
    ) -> Vec<(Finding, Range<usize>)> {
        let rules = self.matcher.rules().rules();
        matches.retain(|m| rules[m.rule].spec.confidence >= self.min_confidence);
        if matches
            .iter()
            .any(|m| rules[m.rule].path_filter().is_some())
        {
            let reported = origin.display_path();
            let forms = PathForms::new(&reported, false, &self.cwd);
            let paths = forms.candidates(&self.path_root);
            matches.retain(|m| rules[m.rule].applies_to(paths.iter().map(|p| p.as_ref())));
        }
        if matches.is_empty() {
            return Vec::new();
        }
        let mut found = finding::from_segment(hay, origin, seg, &matches, rules);
        // An offline check (checksum) may have lowered a finding's confidence.
        found.retain(|(f, _)| f.rule.confidence >= self.min_confidence);
        if let Some(triage) = &self.triage {
            // Triage reads the file around each match (inline allows): give
            // it the matches where they are in the file.
            let in_blob: Vec<crate::matcher::Match> = if seg.map == OffsetMap::Shift(0) {
                matches
            } else {
                matches
                    .into_iter()
                    .map(|mut m| {
                        m.whole = seg.map.to_blob(m.whole.clone());
                        m.secret = seg.map.to_blob(m.secret.clone());
                        m
                    })
                    .collect()
            };
            let mut findings: Vec<Finding> = found.iter().map(|(f, _)| f.clone()).collect();
            triage.review(hay, &in_blob, &mut findings);
            for ((f, _), judged) in found.iter_mut().zip(findings) {
                f.annotations.suppressed = judged.annotations.suppressed;
            }
        }
        found
    }

    /// The matchers history scans use, built on first use.
    pub fn history_plan(&self) -> &history::HistoryPlan {
        self.history
            .get_or_init(|| history::HistoryPlan::new(self.matcher.rules()))
    }

    pub fn matcher(&self) -> &Matcher {
        &self.matcher
    }

    /// Gives each finding the facts of the most specific literal around it,
    /// and reports the literal credentials no provider rule found.
    fn add_literals(
        &self,
        hay: &[u8],
        origin: &Origin,
        literals: &[Literal],
        found: &mut Vec<(Finding, Range<usize>)>,
    ) {
        if literals.is_empty() {
            return;
        }
        let index = spans::SpanIndex::new(literals.iter().map(|l| &l.span));
        for (f, span) in found.iter_mut() {
            // The shortest, then the first listed, as a linear scan would pick.
            let best = index
                .touching(span)
                .min_by_key(|&i| (literals[i].span.len(), i));
            if let Some(i) = best {
                f.apply(&literals[i].context);
            }
        }
        self.report_literals(hay, origin, literals, found);
    }

    /// Adds a finding for each reported literal that no at least as
    /// confident finding covers, replacing the less confident ones it
    /// overlaps. Literals are taken in order, each seeing the ones added
    /// before it.
    fn report_literals(
        &self,
        hay: &[u8],
        origin: &Origin,
        literals: &[Literal],
        found: &mut Vec<(Finding, Range<usize>)>,
    ) {
        let overlaps = |a: &Range<usize>, b: &Range<usize>| a.start < b.end && b.start < a.end;
        let first = spans::SpanIndex::new(found.iter().map(|(_, s)| s));
        let mut alive = vec![true; found.len()];
        let mut added = AddedSpans::default();
        let mut reported = std::collections::HashSet::new();
        let mut lines = finding::LineCounter::default();
        for lit in literals.iter().filter(|l| l.report) {
            if reported.contains(&lit.span) {
                continue;
            }
            let Some(rule) = self.rules().get(lit.rule_id) else {
                continue; // deselected with --rule / --exclude-rule
            };
            if rule.spec.confidence < self.min_confidence {
                continue;
            }
            // As in the matcher, the most confident rule reports a secret: a
            // provider rule keeps it (with the literal's facts, given above);
            // a generic `key = value` rule gives way to the literal rule,
            // which knows the structure.
            let confidence = rule.spec.confidence;
            let old: Vec<usize> = first
                .touching(&lit.span)
                .filter(|&i| alive[i] && overlaps(&found[i].1, &lit.span))
                .collect();
            let new = added.overlapping(&lit.span);
            if old
                .iter()
                .any(|&i| found[i].0.rule.confidence >= confidence)
                || new
                    .iter()
                    .any(|&j| added.found[j].0.rule.confidence >= confidence)
            {
                continue;
            }
            old.iter().for_each(|&i| alive[i] = false);
            new.iter().for_each(|&j| added.alive[j] = false);
            reported.insert(lit.span.clone());
            let mut f = finding::from_literal(hay, origin, lit, rule, &mut lines);
            if let Some(triage) = &self.triage {
                let ctx = crate::triage::Context {
                    hay,
                    whole: lit.span.clone(),
                };
                f.annotations.suppressed = triage.judge(&f, Some(&ctx));
            }
            added.push(f, lit.span.clone());
        }
        retain_indexed(found, |i| alive[i]);
        found.extend(
            added
                .found
                .into_iter()
                .zip(added.alive)
                .filter_map(|(f, alive)| alive.then_some(f)),
        );
    }
}

/// Literal findings added while reporting literals, by start, for overlap
/// queries as they are added.
#[derive(Default)]
struct AddedSpans {
    found: Vec<(Finding, Range<usize>)>,
    alive: Vec<bool>,
    by_start: BTreeMap<usize, Vec<usize>>,
    longest: usize,
}

impl AddedSpans {
    fn push(&mut self, f: Finding, span: Range<usize>) {
        self.longest = self.longest.max(span.len());
        self.by_start
            .entry(span.start)
            .or_default()
            .push(self.found.len());
        self.found.push((f, span));
        self.alive.push(true);
    }

    /// The live added spans that overlap `r`: only those starting less than
    /// the longest span before it can reach it.
    fn overlapping(&self, r: &Range<usize>) -> Vec<usize> {
        let from = r.start.saturating_sub(self.longest);
        self.by_start
            .range(from..r.end.max(from))
            .flat_map(|(_, v)| v.iter().copied())
            .filter(|&j| {
                let s = &self.found[j].1;
                self.alive[j] && s.start < r.end && r.start < s.end
            })
            .collect()
    }
}

impl Scanner {
    /// Adds the generic detector's findings (see [`crate::generic`]) that
    /// reach `min_confidence`, lie within `within` (all of `hay` when
    /// `None`) and overlap no provider or format finding already in
    /// `found`: those rules keep priority, so a prefixed token is never
    /// reported again, or downgraded, by the scorer. A generic *pattern*
    /// rule's finding ([`replaceable`]) less confident than the scorer's
    /// gives way to it: `TOKEN=<32 random>` is the scorer's high, not the
    /// unquoted-assignment pattern's low. `lines` are the lines the
    /// detector reads: those of the line keywords' places when the matcher
    /// marked them (see [`Matcher::with_marks`]), or all.
    fn add_generic(
        &self,
        hay: &[u8],
        origin: &Origin,
        lines: generic::Lines<'_>,
        found: &mut Vec<(Finding, Range<usize>)>,
    ) {
        let Some(rules) = self.generic_rules.get_or_init(|| self.find_generic_rules()) else {
            return;
        };
        let overlaps = |a: &Range<usize>, b: &Range<usize>| a.start < b.end && b.start < a.end;
        let fixed = spans::SpanIndex::new(
            found
                .iter()
                .filter(|(f, _)| !replaceable(f))
                .map(|(_, t)| t),
        );
        let weak: Vec<usize> = (0..found.len())
            .filter(|&i| replaceable(&found[i].0))
            .collect();
        let weak_index = spans::SpanIndex::new(weak.iter().map(|&i| &found[i].1));
        let mut replaced = vec![false; found.len()];
        let path = self.context_path(origin);
        // Candidates below LOW have no level (see below): they are dropped
        // as soon as their score cannot reach it.
        let detection = generic::detect_reportable(hay, path, lines);
        let mut lines = finding::LineCounter::default();
        for s in &detection.found {
            let Some(level) = s.level(hay) else {
                continue;
            };
            let confidence = match level {
                generic::Level::Low => Confidence::Low,
                generic::Level::Medium => Confidence::Medium,
                generic::Level::High => Confidence::High,
            };
            let span = s.value();
            // A token with a provider's prefix is the provider rule's to
            // judge: one it did not report (wrong length, checksum) is not
            // raised above low by the generic detector.
            let confidence =
                if confidence > Confidence::Low && self.provider_prefixed(&hay[span.clone()]) {
                    Confidence::Low
                } else {
                    confidence
                };
            if confidence < self.min_confidence {
                continue;
            }
            if fixed.any_overlap(&span) {
                continue;
            }
            let under: Vec<usize> = weak_index
                .touching(&span)
                .map(|k| weak[k])
                .filter(|&i| overlaps(&found[i].1, &span))
                .collect();
            if under
                .iter()
                .any(|&i| found[i].0.rule.confidence >= confidence)
            {
                continue;
            }
            let Some(rule) = rules[category_index(s.category)] else {
                continue; // deselected with --rule / --exclude-rule
            };
            let rule = &self.rules().rules()[rule];
            let lit = Literal {
                rule_id: "",
                secret: String::from_utf8_lossy(&hay[span.clone()]).into_owned(),
                span: span.clone(),
                context: Default::default(),
                report: true,
            };
            let mut f = finding::from_literal(hay, origin, &lit, rule, &mut lines);
            f.rule.confidence = confidence;
            f.matched.score = Some((f64::from(s.score) * 1000.0).round() / 1000.0);
            if let Some(triage) = &self.triage {
                let ctx = crate::triage::Context {
                    hay,
                    whole: s.candidate.line.clone(),
                };
                f.annotations.suppressed = triage.judge(&f, Some(&ctx));
            }
            for i in under {
                replaced[i] = true;
            }
            found.push((f, span));
        }
        // Findings pushed above lie past `replaced`: kept.
        retain_indexed(found, |i| !replaced.get(i).copied().unwrap_or(false));
    }

    /// Adds to `existing` the generic detector's findings on the lines of
    /// `hay` that `marks` (sorted) mark, the places of line keywords a
    /// matcher built [`Matcher::with_marks`] found in the spans
    /// [`generic::candidate::reading_spans`] gives for a blob's new chunks
    /// in history; only those overlapping the new chunks (`within`) are
    /// kept, the rest having been found in an earlier version. Findings
    /// overlapping one of `existing` (same line, one secret holding the
    /// other) are dropped, as [`Scanner::add_generic`] does for a whole
    /// file, except that a [`replaceable`] finding less confident than the
    /// scorer's gives way.
    pub fn add_generic_findings(
        &self,
        hay: &[u8],
        origin: &Origin,
        marks: &[usize],
        within: &[Range<usize>],
        existing: &mut Vec<Finding>,
    ) {
        if marks.is_empty() {
            return;
        }
        let mut found = Vec::new();
        self.add_generic(hay, origin, generic::Lines::Marked(marks), &mut found);
        let overlaps = |s: &Range<usize>| within.iter().any(|r| r.start < s.end && s.start < r.end);
        found.retain(|(_, span)| overlaps(span));
        if found.is_empty() {
            return;
        }
        let mut by_line: HashMap<usize, Vec<usize>> = HashMap::new();
        for (i, e) in existing.iter().enumerate() {
            by_line.entry(e.location.line).or_default().push(i);
        }
        let same = |e: &Finding, f: &Finding| {
            e.matched.secret.contains(&f.matched.secret)
                || f.matched.secret.contains(&e.matched.secret)
        };
        let mut replaced = vec![false; existing.len()];
        let mut added = Vec::new();
        for (f, _) in found {
            let on_line = by_line.get(&f.location.line).map_or(&[][..], Vec::as_slice);
            let under: Vec<usize> = on_line
                .iter()
                .copied()
                .filter(|&i| same(&existing[i], &f))
                .collect();
            let gives_way = |i: &usize| {
                replaceable(&existing[*i]) && existing[*i].rule.confidence < f.rule.confidence
            };
            if !under.iter().all(gives_way) {
                continue;
            }
            for i in under {
                replaced[i] = true;
            }
            added.push(f);
        }
        retain_indexed(existing, |i| !replaced[i]);
        existing.extend(added);
    }

    /// Whether `value` starts with a provider rule's keyword (`ghp_`,
    /// `xoxb-`, `sk-`): the prefixes of provider-shaped tokens. Only
    /// keywords of 3+ characters that are not credential words count.
    fn provider_prefixed(&self, value: &[u8]) -> bool {
        let prefixes = self.provider_prefixes.get_or_init(|| {
            let mut v: Vec<Vec<u8>> = self
                .rules()
                .rules()
                .iter()
                .filter(|r| r.provider != "generic" && r.engine == crate::rules::Engine::Pattern)
                .flat_map(|r| r.spec.keywords.iter())
                .map(|k| k.as_bytes().to_ascii_lowercase())
                .filter(|k| k.len() >= 3 && !generic::candidate::is_credential_name(k))
                .collect();
            v.sort();
            v.dedup();
            v
        });
        let head = value[..value.len().min(32)].to_ascii_lowercase();
        prefixes.iter().any(|p| head.starts_with(p))
    }

    /// Where each generic category's rule is in the rule set, `None` for
    /// rules not selected; `None` overall when none is.
    fn find_generic_rules(&self) -> Option<Vec<Option<usize>>> {
        let rules = self.rules().rules();
        let idx: Vec<Option<usize>> = generic::Category::ALL
            .iter()
            .map(|c| {
                let id = format!("generic-{}", c.name());
                rules.iter().position(|r| r.spec.id == id)
            })
            .collect();
        idx.iter().any(Option::is_some).then_some(idx)
    }
}

/// Findings read from JSON-escaped text that repeat one found with fewer
/// decodings (the same rule and secret, overlapping): a token in an escaped
/// log line is matched as written too, and reported there, at its column.
fn escaped_repeats(found: &[(Finding, Range<usize>)]) -> std::collections::HashSet<usize> {
    let tag = encoded::Encoding::JsonEscaped.name();
    let levels = |f: &Finding| {
        f.place
            .decoded
            .as_deref()
            .map_or(0, |d| d.split('/').count())
    };
    let is_escaped = |f: &Finding| f.place.decoded.as_deref().is_some_and(|d| d.ends_with(tag));
    if !found.iter().any(|(f, _)| is_escaped(f)) {
        return Default::default();
    }
    // (rule, secret) → (decodings, span) of each finding.
    type Readings<'a> = HashMap<(&'a str, &'a str), Vec<(usize, &'a Range<usize>)>>;
    let mut by_value: Readings<'_> = HashMap::new();
    for (f, s) in found {
        by_value
            .entry((f.rule.id.as_str(), f.matched.secret.as_str()))
            .or_default()
            .push((levels(f), s));
    }
    found
        .iter()
        .enumerate()
        .filter(|(_, (f, s))| {
            is_escaped(f)
                && by_value[&(f.rule.id.as_str(), f.matched.secret.as_str())]
                    .iter()
                    .any(|(l, t)| *l < levels(f) && t.start < s.end && s.start < t.end)
        })
        .map(|(i, _)| i)
        .collect()
}

fn category_index(c: generic::Category) -> usize {
    generic::Category::ALL
        .iter()
        .position(|&x| x == c)
        .unwrap_or(0)
}

/// Reports each place in a blob once across segments: where findings from
/// different texts (a base64 run as written and as decoded) cover the same
/// bytes, only the most confident are kept. A value a rule matched both as
/// written and percent-decoded is reported decoded: `p%40ss` is `p@ss`.
/// A finding of a generic pattern rule (`generic-secret-assignment`,
/// `generic-authorization-bearer`) on the value as written: no provider, no
/// score, not decoded. The generic detector's scored reading of the same
/// value replaces it when more confident; provider, format, scored and
/// decoded findings are never replaced (the detector reads the raw text, so
/// `p%40ss` would lose its decoded `p@ss`).
fn replaceable(f: &Finding) -> bool {
    f.rule.provider == "generic" && f.matched.score.is_none() && f.place.decoded.is_none()
}

fn keep_most_confident(found: &mut Vec<(Finding, Range<usize>)>) {
    if found.len() < 2 {
        return;
    }
    // One index per confidence level of the spans more confident than it:
    // a finding gives way when one of those overlaps it.
    let above = |c: Confidence| {
        spans::SpanIndex::new(
            found
                .iter()
                .filter(|(g, _)| g.rule.confidence > c)
                .map(|(_, t)| t),
        )
    };
    let indices: HashMap<Confidence, spans::SpanIndex> = found
        .iter()
        .map(|(f, _)| f.rule.confidence)
        .collect::<std::collections::HashSet<_>>()
        .into_iter()
        .map(|c| (c, above(c)))
        .collect();
    // A value as written gives way to its percent-decoded reading by the
    // same rule at least as confident: one index per (rule, confidence) of
    // the undecoded findings, over the decoded spans.
    let is_percent = |g: &Finding| {
        g.place
            .decoded
            .as_deref()
            .is_some_and(|d| d.ends_with(encoded::Encoding::Percent.name()))
    };
    let mut unescaped: HashMap<(&str, Confidence), spans::SpanIndex> = HashMap::new();
    if found.iter().any(|(g, _)| is_percent(g)) {
        for (f, _) in found.iter().filter(|(f, _)| f.place.decoded.is_none()) {
            let key = (f.rule.id.as_str(), f.rule.confidence);
            unescaped.entry(key).or_insert_with(|| {
                spans::SpanIndex::new(
                    found
                        .iter()
                        .filter(|(g, _)| {
                            is_percent(g) && g.rule.id == key.0 && g.rule.confidence >= key.1
                        })
                        .map(|(_, t)| t),
                )
            });
        }
    }
    let escaped = escaped_repeats(found);
    let keep: Vec<bool> = found
        .iter()
        .enumerate()
        .map(|(i, (f, s))| {
            !escaped.contains(&i)
                && !indices[&f.rule.confidence].any_overlap(s)
                && unescaped
                    .get(&(f.rule.id.as_str(), f.rule.confidence))
                    .is_none_or(|ix| f.place.decoded.is_some() || !ix.any_overlap(s))
        })
        .collect();
    retain_indexed(found, |i| keep[i]);
}

/// `Vec::retain` by each item's index: keeps item `i` when `keep(i)`.
fn retain_indexed<T>(v: &mut Vec<T>, mut keep: impl FnMut(usize) -> bool) {
    let mut i = 0;
    v.retain(|_| {
        i += 1;
        keep(i - 1)
    });
}

impl Scanner {
    /// Sorts findings, sets suppressed ones aside and completes the summary.
    fn finish(
        &self,
        mut findings: Vec<Finding>,
        mut summary: Summary,
        started: Instant,
    ) -> ScanResult {
        finding::sort(&mut findings);
        let mut result = ScanResult {
            findings,
            ..ScanResult::default()
        };
        self.set_aside_suppressed(&mut result, &mut summary);
        summary.findings = result.findings.len();
        summary.elapsed = started.elapsed();
        result.summary = summary;
        result
    }

    /// Moves suppressed findings out of the report into
    /// [`ScanResult::suppressed`], counting them by reason.
    fn set_aside_suppressed(&self, result: &mut ScanResult, summary: &mut Summary) {
        let (suppressed, active) = std::mem::take(&mut result.findings)
            .into_iter()
            .partition::<Vec<_>, _>(|f| f.annotations.suppressed.is_some());
        for f in &suppressed {
            if let Some(s) = &f.annotations.suppressed {
                *summary.suppressed.entry(s.reason).or_default() += 1;
            }
        }
        result.findings = active;
        result.suppressed = suppressed;
    }

    /// Judges findings again once history has given them a commit, so commit
    /// allowlists and history baselines apply.
    fn rejudge(&self, findings: &mut [Finding]) {
        if let Some(triage) = &self.triage {
            for f in findings
                .iter_mut()
                .filter(|f| f.annotations.suppressed.is_none())
            {
                f.annotations.suppressed = triage.judge(f, None);
            }
        }
    }
}
/// Whether `rules` select a generic detector category, so that keyword
/// passes should also mark the lines the detector reads.
pub(crate) fn generic_selected(rules: &RuleSet) -> bool {
    generic::Category::ALL.iter().any(|c| {
        let id = format!("generic-{}", c.name());
        rules.rules().iter().any(|r| r.spec.id == id)
    })
}
