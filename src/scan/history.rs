//! The history driver: scans the blobs [`crate::source::git`] enumerates,
//! each once and in parallel, while the commit walk goes on; then gives only
//! the blobs with findings their provenance (introducing commit, author,
//! whether a branch tip still holds the secret).
//!
//! Plain text is scanned only where it is new at its path ([`super::dedupe`]);
//! formats (notebooks, configs) are read whole.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use super::dedupe::Chunks;
use super::meter::Meter;
use git2::{Oid, Repository};
use rayon::prelude::*;

use crate::blob::{GitProvenance, GitStatus, Origin};
use crate::diag::Messages;
use crate::finding::{self, Finding};
use crate::format;
use crate::matcher::{Matcher, Scratch};
use crate::source::git::{
    enumerate_with, for_each_attached_text, for_each_commit_message, open, GitOptions, GitSummary,
    History, HistoryText, Site,
};
use crate::source::pack::Kind;
use crate::source::SkipReason;

use super::{ScanResult, Scanner, Summary};

impl Scanner {
    /// Scans the history of the repository at `repo_path`: each distinct blob
    /// reachable from the selected commits once.
    ///
    /// # Errors
    ///
    /// Fails when the path is not a repository or a ref or range does not
    /// resolve. Unreadable objects are warned about, counted, and skipped.
    pub fn scan_git(
        &self,
        repo_path: &std::path::Path,
        opts: &GitOptions,
        progress: bool,
        messages: &Messages,
    ) -> anyhow::Result<ScanResult> {
        let started = Instant::now();
        let fallbacks_before = messages.format_fallbacks();
        log_memory(messages, "history scan started");
        if opts.read_packs {
            crate::source::git::limit_pack_maps();
        }
        // Fail fast, before any thread starts, when this is no repository.
        open(repo_path)?;
        let errors = AtomicU64::new(0);
        let meter = progress.then(super::meter::Meter::history);
        messages.set_progress(meter.as_ref().map(|m| m.bar().clone()));
        let result = if opts.read_packs {
            enumerate_then_scan_packs(repo_path, self, opts, messages, &errors, meter.as_ref())
        } else {
            enumerate_and_scan(repo_path, self, opts, messages, &errors, meter.as_ref())
        };
        if let Some(m) = meter {
            m.finish();
        }
        messages.set_progress(None);
        let (history, mut scanned) = result?;
        log_memory(messages, "blobs scanned");
        let done = std::mem::take(&mut scanned.messages_done);
        let texts = self.scan_texts(repo_path, &history, &done, opts, messages, &errors)?;
        log_memory(messages, "messages scanned");
        scanned.findings.extend(texts.findings);
        scanned.too_large += texts.too_large;
        if history.shallow {
            messages.warn(
                &repo_path.display().to_string(),
                &format!(
                    "shallow clone: history before the shallow boundary was not scanned. {}",
                    crate::source::git::SHALLOW_FIX
                ),
            );
        }
        messages.log(
            crate::diag::Level::Info,
            format_args!(
                "history scanned in {:?}: {} of {} bytes in new chunks",
                started.elapsed(),
                scanned.new_bytes,
                scanned.bytes
            ),
        );
        let errors = errors.into_inner();
        if errors > 0 {
            warn_unreadable(repo_path, errors, messages);
        }
        let mut summary = Summary {
            rules: self.rules().len(),
            files_scanned: scanned.scanned,
            bytes_scanned: scanned.bytes,
            errors,
            format_fallbacks: messages.format_fallbacks() - fallbacks_before,
            git: Some(GitSummary {
                commits: history.commit_count() as u64,
                blobs: history.blob_count() as u64,
                shallow: history.shallow,
            }),
            ..Summary::default()
        };
        if scanned.binary > 0 {
            summary.skipped.insert(SkipReason::Binary, scanned.binary);
        }
        for (reason, n) in std::mem::take(&mut scanned.skipped) {
            *summary.skipped.entry(reason).or_default() += n;
        }
        if scanned.too_large > 0 {
            summary
                .skipped
                .insert(SkipReason::TooLarge, scanned.too_large);
        }
        let mut findings = scanned.findings;
        self.rejudge(&mut findings);
        Ok(self.finish(findings, summary, started))
    }
}

/// Sums up unreadable objects once, naming the repository and, when a pack
/// is damaged (truncated by a full disk or an interrupted copy), which one:
/// libgit2 only says "object not found" for each object inside it.
fn warn_unreadable(repo_path: &Path, errors: u64, messages: &Messages) {
    let packs = git2::Repository::open(repo_path)
        .map(|r| crate::source::git::pack_damage(&r.path().join("objects/pack")))
        .unwrap_or_default();
    let cause = if packs.is_empty() {
        String::new()
    } else {
        format!(" Damaged: {}.", packs.join("; "))
    };
    messages.warn(
        &repo_path.display().to_string(),
        &format!(
            "{errors} object{} could not be read and {} skipped; everything else was scanned.{cause} \
             `git fsck` lists what is lost; a fresh clone repairs it",
            if errors == 1 { "" } else { "s" },
            if errors == 1 { "was" } else { "were" },
        ),
    );
}

/// Findings in commit, tag and note messages, and the messages too large to
/// scan.
struct TextScan {
    findings: Vec<Finding>,
    too_large: u64,
}

impl Scanner {
    /// Scans the messages of the walked commits (but those marked in
    /// `done`, already scanned from a pack) and the tags and notes on them;
    /// each finding names the commit it is attached to.
    fn scan_texts(
        &self,
        repo_path: &Path,
        history: &History,
        done: &[bool],
        opts: &GitOptions,
        messages: &Messages,
        errors: &AtomicU64,
    ) -> anyhow::Result<TextScan> {
        let too_large = AtomicU64::new(0);
        let max = opts.max_file_size;
        // Commit messages in consecutive parts on `threads` threads (each
        // with its own repository handle): tens of thousands of commits are
        // read and scanned one by one. Tags and notes go with the first.
        let scan_part = |part: &[Oid], attached: bool| -> anyhow::Result<Vec<Finding>> {
            let repo = open(repo_path)?;
            let mut texts = TextScanner::new(self, &repo, messages);
            let visit = &mut |t: HistoryText| texts.visit(t);
            for_each_commit_message(&repo, part, max, messages, errors, &too_large, visit);
            if attached {
                for_each_attached_text(&repo, history, max, messages, errors, &too_large, visit);
            }
            Ok(texts.findings)
        };
        let commits: Vec<Oid> = if done.is_empty() {
            history.commits.clone()
        } else {
            (history.commits.iter().zip(done))
                .filter(|(_, &d)| !d)
                .map(|(&c, _)| c)
                .collect()
        };
        let threads = if commits.len() >= PARALLEL_TEXTS_MIN {
            opts.threads.max(1)
        } else {
            1
        };
        let size = commits.len().div_ceil(threads).max(1);
        let parts: Vec<&[Oid]> = commits.chunks(size).collect();
        let findings = std::thread::scope(|s| -> anyhow::Result<Vec<Finding>> {
            let rest: Vec<_> = parts
                .iter()
                .skip(1)
                .map(|&p| s.spawn(move || scan_part(p, false)))
                .collect();
            let mut findings = scan_part(parts.first().copied().unwrap_or(&[]), true)?;
            for r in rest {
                findings.extend(r.join().expect("message scan panicked")?);
            }
            Ok(findings)
        })?;
        Ok(TextScan {
            findings,
            too_large: too_large.into_inner(),
        })
    }
}

/// Below this many commits the messages are scanned on one thread.
const PARALLEL_TEXTS_MIN: usize = 1000;

/// Scans history texts (messages of commits and tags, notes) one by one,
/// attaching the commit each belongs to.
struct TextScanner<'a> {
    scanner: &'a Scanner,
    messages: &'a Messages,
    scratch: Scratch,
    metas: CommitMetas<'a>,
    findings: Vec<Finding>,
}

impl<'a> TextScanner<'a> {
    fn new(scanner: &'a Scanner, repo: &'a Repository, messages: &'a Messages) -> Self {
        TextScanner {
            scanner,
            messages,
            scratch: Scratch::default(),
            metas: CommitMetas::new(repo),
            findings: Vec::new(),
        }
    }

    fn visit(&mut self, t: HistoryText) {
        let found = scan_text(
            self.scanner,
            &t.location(),
            t.object,
            &t.text,
            &mut self.scratch,
            self.messages,
        );
        for f in found {
            self.findings.push(self.metas.attach(f, t.commit, t.object));
        }
    }
}

/// The findings in one history text (`location` as
/// [`HistoryText::location`] names it), without provenance.
fn scan_text(
    scanner: &Scanner,
    location: &str,
    object: Oid,
    text: &[u8],
    scratch: &mut Scratch,
    messages: &Messages,
) -> Vec<Finding> {
    let origin = Origin::Git {
        blob: object.to_string(),
        path: location.to_string(),
    };
    scanner.scan_bytes_with(text, &origin, scratch, messages)
}

/// What scanning the blobs produced.
pub struct BlobScan {
    pub findings: Vec<Finding>,
    pub scanned: u64,
    pub bytes: u64,
    /// Bytes in chunks not seen before, where keywords were looked for.
    pub new_bytes: u64,
    pub binary: u64,
    pub too_large: u64,
    /// Archive members (and archives) not scanned, by reason.
    pub skipped: std::collections::BTreeMap<SkipReason, u64>,
    /// By index into [`History::commits`], the commits whose messages were
    /// scanned with the blobs (read from a pack); empty when none were.
    pub messages_done: Vec<bool>,
}

/// Rules whose keyword may sit further than this from their match (PEM keys,
/// service-account JSON) are run over whole blobs; the rest only over new
/// chunks, which keeps the dedupe margin small.
const LONG_REACH: usize = 512;

/// How a rule set scans history with dedupe: which rules look only at new
/// chunks, which at whole blobs, and the context a chunk needs. Built once per
/// [`Scanner`] (a sweep scans many repositories with it).
pub struct HistoryPlan {
    pub short: Matcher,
    pub long: Matcher,
    pub margin: usize,
    pub long_keyword_len: usize,
    /// Whether a generic detector category is selected: the short rules
    /// then also look for keywords where the detector reads (see
    /// [`crate::generic::candidate::reading_spans`]).
    pub generic: bool,
}

impl HistoryPlan {
    pub fn new(rules: &std::sync::Arc<crate::rules::RuleSet>) -> HistoryPlan {
        let is_short = |r: &crate::rules::Rule| r.is_line_local() || r.spec.max_len <= LONG_REACH;
        let generic = super::generic_selected(rules);
        // The short rules' keyword pass also marks the generic detector's
        // line keywords, so that detector needs no pass of its own.
        let words = if generic {
            crate::generic::candidate::LINE_KEYWORDS
        } else {
            &[]
        };
        // The short rules' pass also notes the long rules' keywords, which
        // flag the chunks the long rules must look at.
        let short = Matcher::with_flags(rules.clone(), is_short, words, |r| !is_short(r));
        let long = Matcher::with_filter(rules.clone(), |r| !is_short(r));
        let long_keyword_len = rules
            .rules()
            .iter()
            .filter(|r| !is_short(r))
            .flat_map(|r| r.spec.keywords.iter().map(|k| k.len()))
            .max()
            .unwrap_or(0);
        // Line-local rules need no margin: an old chunk holds whole old lines.
        let margin = rules
            .rules()
            .iter()
            .filter(|r| is_short(r) && !r.is_line_local())
            .map(|r| r.spec.max_len + r.spec.keywords.iter().map(|k| k.len()).max().unwrap_or(0))
            .max()
            .unwrap_or(0)
            + 8;
        // A chunk's remembered long-keyword flag holds only while the
        // margin covers the flag's overlap into the next chunk.
        let margin = margin.max(long_keyword_len);
        HistoryPlan {
            short,
            long,
            margin,
            long_keyword_len,
            generic,
        }
    }
}

/// Scans every enumerated blob once, in parallel, then attaches provenance to
/// the findings and reports each (rule, path, secret) once, at the commit
/// that introduced it first.
pub fn scan_history(
    repo_path: &Path,
    history: &History,
    scanner: &Scanner,
    opts: &GitOptions,
    messages: &Messages,
    errors: &AtomicU64,
    progress: Option<&Meter>,
) -> anyhow::Result<BlobScan> {
    let mut scan = scan_sites(
        repo_path,
        Sites::Listed(&history.sites),
        scanner,
        opts,
        messages,
        errors,
        progress,
    )?;
    let repo = open(repo_path)?;
    scan.findings = attach_provenance(&repo, history, std::mem::take(&mut scan.findings), messages);
    Ok(scan)
}

/// Enumerates and scans history at once: blobs are scanned while later
/// commits are still being walked, so the walk (seconds on a large history)
/// overlaps with scanning instead of preceding it.
///
/// # Errors
///
/// As [`enumerate`] and [`scan_history`].
pub fn enumerate_and_scan(
    repo_path: &Path,
    scanner: &Scanner,
    opts: &GitOptions,
    messages: &Messages,
    errors: &AtomicU64,
    progress: Option<&Meter>,
) -> anyhow::Result<(History, BlobScan)> {
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Site>>(256);
        let walker = scope.spawn(move || -> anyhow::Result<History> {
            let repo = open(repo_path)?;
            enumerate_with(&repo, opts, messages, errors, Some(tx))
        });
        let scan = scan_sites(
            repo_path,
            Sites::Streamed(rx),
            scanner,
            opts,
            messages,
            errors,
            progress,
        );
        let history = walker.join().expect("history walk panicked")?;
        let mut scan = scan?;
        let repo = open(repo_path)?;
        scan.findings = attach_provenance(
            &repo,
            &history,
            std::mem::take(&mut scan.findings),
            messages,
        );
        Ok((history, scan))
    })
}

/// Walks the history, meanwhile reading the packs' indexes and entry headers
/// into delta trees, then scans the blobs as the packs yield them in
/// delta-tree order ([`crate::source::pack`]); blobs no pack yielded (loose,
/// in alternates, in a pack that does not resolve alone) are then read by
/// id. Each blob is scanned once, at its site, as [`enumerate_and_scan`]
/// does, so the findings are the same.
///
/// The walk's repository handle is closed before the packs are read: its
/// object cache and pack maps would otherwise stay resident through the
/// whole traversal.
///
/// # Errors
///
/// As [`enumerate_and_scan`]. A pack that cannot be read is warned about and
/// its blobs read by id instead.
pub fn enumerate_then_scan_packs(
    repo_path: &Path,
    scanner: &Scanner,
    opts: &GitOptions,
    messages: &Messages,
    errors: &AtomicU64,
    progress: Option<&Meter>,
) -> anyhow::Result<(History, BlobScan)> {
    let git_dir = open(repo_path)?.path().to_path_buf();
    let (history, packs) = std::thread::scope(|scope| {
        let walker = scope.spawn(|| -> anyhow::Result<History> {
            let repo = open(repo_path)?;
            enumerate_with(&repo, opts, messages, errors, None)
        });
        let packs: Vec<_> = crate::source::pack::pack_indexes(&git_dir)
            .into_iter()
            .map(|idx| crate::source::pack::Pack::open(&idx))
            .collect();
        let history = walker.join().expect("history walk panicked");
        (history, packs)
    });
    let history = history?;
    release_free_memory();
    log_memory(messages, "history walked, pack delta trees built");
    let worker = Worker::new(repo_path, scanner, opts, messages, errors, progress);
    let done = scan_packs(&worker, &history, packs, opts, messages);
    let rest: Vec<Site> = history
        .sites
        .iter()
        .zip(&done.sites)
        .filter(|(_, d)| !d.load(Ordering::Relaxed))
        .map(|(s, _)| s.clone())
        .collect();
    log_memory(messages, "packs read");
    let mut findings = done.found.into_inner().unwrap();
    findings.extend(scan_by_id(
        &worker,
        &rest,
        history.sites.len(),
        opts,
        messages,
    )?);
    let mut scan = worker.finish(findings);
    let repo = open(repo_path)?;
    scan.findings = attach_provenance(
        &repo,
        &history,
        std::mem::take(&mut scan.findings),
        messages,
    );
    let from_packs = done
        .commits
        .iter()
        .filter(|d| d.load(Ordering::Relaxed))
        .count();
    messages.log(
        crate::diag::Level::Info,
        format_args!(
            "{from_packs} commit messages read from pack files in delta order, {} by id",
            history.commits.len() - from_packs
        ),
    );
    let mut metas = CommitMetas::new(&repo);
    for (commit, f) in done.in_messages.into_inner().unwrap() {
        scan.findings.push(metas.attach(f, commit, commit));
    }
    scan.too_large += done.messages_too_large.into_inner();
    scan.messages_done = done
        .commits
        .into_iter()
        .map(AtomicBool::into_inner)
        .collect();
    Ok((history, scan))
}

/// Hands the heap's free pages back to the system. The walk's threads
/// rebuilt hundreds of thousands of trees, and glibc keeps what they freed
/// in their arenas, resident through the whole pack traversal after them
/// (about 70 MiB on git.git).
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        // SAFETY: glibc's malloc_trim takes no pointers and may be called
        // at any time from any thread.
        unsafe {
            malloc_trim(0);
        }
    }
}

/// Logs (at info level) the time since the history scan began and this
/// process's resident memory now and at its peak so far, from
/// `/proc/self/status` where there is one: which phase of a history scan
/// holds the time and the memory.
fn log_memory(messages: &Messages, phase: &str) {
    static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let started = *STARTED.get_or_init(std::time::Instant::now);
    if !crate::diag::enabled(crate::diag::Level::Info) {
        return;
    }
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return;
    };
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map_or("?", str::trim)
            .to_string()
    };
    messages.log(
        crate::diag::Level::Info,
        format_args!(
            "{phase} at {:.2?}, CPU {}: resident {} ({} of it mapped files), peak {}",
            started.elapsed(),
            cpu_time(),
            field("VmRSS:"),
            field("RssFile:"),
            field("VmHWM:")
        ),
    );
}

/// This process's user and system CPU time so far, from `/proc/self/stat`
/// (fields 14 and 15, in clock ticks of 1/100 s on Linux), or `?`.
fn cpu_time() -> String {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return "?".into();
    };
    // The command name may hold spaces: fields are counted after its `)`.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let tick = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok());
    match (tick(11), tick(12)) {
        (Some(u), Some(s)) => format!(
            "{:.2} s user + {:.2} s sys",
            u as f64 / 100.0,
            s as f64 / 100.0
        ),
        _ => "?".into(),
    }
}

/// What the pack traversals scanned.
struct PackScan {
    /// By index into [`History::sites`]: the blob was scanned.
    sites: Vec<AtomicBool>,
    /// By index into [`History::commits`]: the commit's message was scanned.
    commits: Vec<AtomicBool>,
    /// In blobs, without provenance.
    found: Mutex<Vec<Finding>>,
    /// In commit messages, by commit, without provenance.
    in_messages: Mutex<Vec<(Oid, Finding)>>,
    messages_too_large: AtomicU64,
}

/// Scans the walked blobs the packs hold, and the messages of the walked
/// commits they hold, as each pack's traversal yields them. A pack that
/// fails is warned about; what it had not yielded stays unmarked.
fn scan_packs(
    worker: &Worker<'_>,
    history: &History,
    packs: Vec<Result<crate::source::pack::Pack, crate::source::pack::PackError>>,
    opts: &GitOptions,
    messages: &Messages,
) -> PackScan {
    type Index = HashMap<Oid, u32, BuildHasherDefault<crate::blob::FoldHasher>>;
    let index = |ids: &mut dyn Iterator<Item = Oid>| -> Index {
        ids.enumerate().map(|(i, id)| (id, i as u32)).collect()
    };
    let sites = index(&mut history.sites.iter().map(|s| s.blob));
    let commits = index(&mut history.commits.iter().copied());
    let flags = |n: usize| (0..n).map(|_| AtomicBool::new(false)).collect();
    let scan = PackScan {
        sites: flags(history.sites.len()),
        commits: flags(history.commits.len()),
        found: Mutex::new(Vec::new()),
        in_messages: Mutex::new(Vec::new()),
        messages_too_large: AtomicU64::new(0),
    };
    let first = |ids: &Index, done: &[AtomicBool], id: &Oid| {
        let i = *ids.get(id)? as usize;
        (!done[i].swap(true, Ordering::Relaxed)).then_some(i)
    };
    for pack in packs {
        let visit = {
            let mut local = Local::default();
            let (sites, commits, scan, list) = (&sites, &commits, &scan, &history.sites);
            move |kind: Kind, oid: Oid, content: &[u8]| {
                let Local(scratch, chunks) = &mut local;
                match kind {
                    Kind::Blob => {
                        let Some(i) = first(sites, &scan.sites, &oid) else {
                            return;
                        };
                        let f = worker.scan_blob(&list[i], content, scratch, chunks);
                        if let Some(m) = worker.progress {
                            m.scanned(f.len(), Some(list[i].commit));
                        }
                        if !f.is_empty() {
                            scan.found.lock().unwrap().extend(f);
                        }
                    }
                    Kind::Commit => {
                        if first(commits, &scan.commits, &oid).is_none() {
                            return;
                        }
                        let text = crate::source::git::commit_message(content);
                        if text.len() as u64 > opts.max_file_size {
                            scan.messages_too_large.fetch_add(1, Ordering::Relaxed);
                            return;
                        }
                        let location = crate::source::git::COMMIT_MESSAGE;
                        let f = scan_text(worker.scanner, location, oid, text, scratch, messages);
                        if !f.is_empty() {
                            let mut found = scan.in_messages.lock().unwrap();
                            found.extend(f.into_iter().map(|f| (oid, f)));
                        }
                    }
                }
            }
        };
        if let Ok(p) = &pack {
            messages.log(
                crate::diag::Level::Info,
                format_args!(
                    "{}: {} blob and commit entries to resolve, {} tree and tag entries left out",
                    p.pack_path.display(),
                    p.entries,
                    p.left_out
                ),
            );
        }
        if let Err(e) = pack.and_then(|p| p.for_each_object(opts.threads, visit)) {
            messages.warn(
                &e.path.display().to_string(),
                &format!("{}; reading its blobs by id instead", e.message),
            );
        }
    }
    scan
}

/// Scans the blobs no pack handed over (loose objects, alternates, packs
/// that failed), reading them by id.
fn scan_by_id(
    worker: &Worker<'_>,
    rest: &[Site],
    total: usize,
    opts: &GitOptions,
    messages: &Messages,
) -> anyhow::Result<Vec<Finding>> {
    messages.log(
        crate::diag::Level::Info,
        format_args!(
            "{} blobs read from pack files in delta order, {} by id",
            total - rest.len(),
            rest.len()
        ),
    );
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .build()?;
    Ok(pool.install(|| {
        rest.par_chunks(64)
            .flat_map_iter(|c| worker.scan_chunk(c))
            .collect::<Vec<_>>()
    }))
}

/// A scanning thread's own working memory; a clone starts empty (each
/// thread of the pack traversal gets one).
#[derive(Default)]
struct Local(Scratch, Chunks);

impl Clone for Local {
    fn clone(&self) -> Local {
        Local::default()
    }
}

/// Where [`scan_sites`] gets its blobs.
enum Sites<'a> {
    Listed(&'a [Site]),
    Streamed(std::sync::mpsc::Receiver<Vec<Site>>),
}

/// Scans blobs in parallel; the findings have no provenance yet.
fn scan_sites(
    repo_path: &Path,
    sites: Sites<'_>,
    scanner: &Scanner,
    opts: &GitOptions,
    messages: &Messages,
    errors: &AtomicU64,
    progress: Option<&Meter>,
) -> anyhow::Result<BlobScan> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .build()?;
    let worker = Worker::new(repo_path, scanner, opts, messages, errors, progress);
    let per_blob: Vec<Finding> = pool.install(|| match sites {
        Sites::Listed(list) => list
            .par_chunks(64)
            .flat_map_iter(|c| worker.scan_chunk(c))
            .collect(),
        // Sites arrive while the history is still being walked.
        Sites::Streamed(rx) => rx
            .into_iter()
            .par_bridge()
            .flat_map_iter(|c| worker.scan_chunk(&c))
            .collect(),
    });
    Ok(worker.finish(per_blob))
}

/// What the scanning threads count.
#[derive(Default)]
struct Counts {
    scanned: AtomicU64,
    bytes: AtomicU64,
    new_bytes: AtomicU64,
    long_bytes: AtomicU64,
    binary: AtomicU64,
    too_large: AtomicU64,
    archives: super::archive::ArchiveTally,
}

/// What each scanning thread shares: repository handles to reuse, the
/// dedupe state and the counters.
struct Worker<'a> {
    repo_dir: PathBuf,
    repos: Mutex<Vec<Repository>>,
    scanner: &'a Scanner,
    plan: &'a HistoryPlan,
    seen: super::dedupe::Seen,
    opts: &'a GitOptions,
    messages: &'a Messages,
    errors: &'a AtomicU64,
    progress: Option<&'a Meter>,
    counts: Counts,
}

impl<'a> Worker<'a> {
    fn new(
        repo_path: &Path,
        scanner: &'a Scanner,
        opts: &'a GitOptions,
        messages: &'a Messages,
        errors: &'a AtomicU64,
        progress: Option<&'a Meter>,
    ) -> Worker<'a> {
        let plan = scanner.history_plan();
        Worker {
            repo_dir: repo_path.to_path_buf(),
            repos: Mutex::new(Vec::new()),
            scanner,
            plan,
            seen: super::dedupe::Seen::new(plan.margin),
            opts,
            messages,
            errors,
            progress,
            counts: Counts::default(),
        }
    }

    /// The counts and the (provenance-less) findings of the blobs scanned.
    fn finish(self, findings: Vec<Finding>) -> BlobScan {
        let c = self.counts;
        if crate::diag::enabled(crate::diag::Level::Info) {
            eprintln!(
                "keysweep: [info] whole-blob rules ran over {} bytes",
                c.long_bytes.load(Ordering::Relaxed)
            );
        }
        let (members, member_bytes, skipped) = c.archives.into_parts();
        BlobScan {
            findings,
            scanned: c.scanned.into_inner() + members,
            bytes: c.bytes.into_inner() + member_bytes,
            new_bytes: c.new_bytes.into_inner(),
            binary: c.binary.into_inner(),
            too_large: c.too_large.into_inner(),
            skipped,
            messages_done: Vec::new(),
        }
    }

    /// Scans a batch of blobs with one repository handle (libgit2 handles
    /// are not shared between threads).
    fn scan_chunk(&self, chunk: &[Site]) -> Vec<Finding> {
        let repo = self.repos.lock().unwrap().pop();
        let repo = match repo {
            Some(r) => r,
            None => match Repository::open(&self.repo_dir) {
                Ok(r) => r,
                Err(e) => {
                    self.messages
                        .warn(&self.repo_dir.display().to_string(), e.message());
                    self.errors.fetch_add(1, Ordering::Relaxed);
                    return Vec::new();
                }
            },
        };
        let Local(mut scratch, mut chunks) = Local::default();
        let mut out = Vec::new();
        let odb = repo.odb().ok();
        for site in chunk {
            if self.too_large(odb.as_ref(), site) {
                continue;
            }
            let blob = match repo.find_blob(site.blob) {
                Ok(b) => b,
                Err(e) => {
                    self.messages
                        .warn(&format!("blob {} ({})", site.blob, site.path), e.message());
                    self.errors.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
            };
            let found = self.scan_blob(site, blob.content(), &mut scratch, &mut chunks);
            if let Some(m) = self.progress {
                m.scanned(found.len(), Some(site.commit));
            }
            out.extend(found);
        }
        drop(odb);
        self.repos.lock().unwrap().push(repo);
        out
    }

    /// Whether the blob at `site` is over `--max-file-size` by the size its
    /// object header records (read without inflating the blob, so a huge
    /// one is never held in memory); such a blob is named and counted.
    fn too_large(&self, odb: Option<&git2::Odb<'_>>, site: &Site) -> bool {
        let Some(Ok((size, _))) = odb.map(|o| o.read_header(site.blob)) else {
            // Unreadable headers are reported when the blob is read.
            return false;
        };
        let max = self.opts.max_file_size;
        if size as u64 <= max {
            return false;
        }
        self.counts.too_large.fetch_add(1, Ordering::Relaxed);
        self.messages.warn(
            &format!("blob {} ({})", site.blob, site.path),
            &format!("skipped: larger than --max-file-size ({size} bytes, limit {max} bytes)"),
        );
        true
    }

    /// Scans one blob: plain text only where it is new at its path, formats
    /// (notebooks, configs) whole.
    fn scan_blob(
        &self,
        site: &Site,
        content: &[u8],
        scratch: &mut Scratch,
        chunks: &mut Chunks,
    ) -> Vec<Finding> {
        let c = &self.counts;
        if let Some(m) = self.progress {
            m.read(content.len() as u64);
        }
        if content.len() as u64 > self.opts.max_file_size {
            c.too_large.fetch_add(1, Ordering::Relaxed);
            return Vec::new();
        }
        if let Some(found) = self.scan_archive_blob(site, content, scratch) {
            return found;
        }
        if crate::blob::looks_binary(content) {
            c.binary.fetch_add(1, Ordering::Relaxed);
            return Vec::new();
        }
        c.scanned.fetch_add(1, Ordering::Relaxed);
        c.bytes.fetch_add(content.len() as u64, Ordering::Relaxed);
        let origin = Origin::Git {
            blob: site.blob.to_string(),
            path: site.path.clone(),
        };
        let plain = format::detect(Some(Path::new(&site.path)), content) == format::Kind::Plain;
        if self.opts.dedupe && plain {
            self.scan_new_text(&site.path, content, &origin, scratch, chunks)
        } else {
            self.scanner
                .scan_bytes_with(content, &origin, scratch, self.messages)
        }
    }

    /// The findings in `content`'s members when it is an archive blob, each
    /// carrying the archive's blob id until [`attach_provenance`] fills in
    /// the commit; `None` when it is no archive.
    fn scan_archive_blob(
        &self,
        site: &Site,
        content: &[u8],
        scratch: &mut Scratch,
    ) -> Option<Vec<Finding>> {
        if self.opts.archives.depth == 0 || crate::source::archive::detect(content).is_none() {
            return None;
        }
        let blob = site.blob.to_string();
        let archive = super::archive::ArchiveScan {
            path: &site.path,
            outer: super::archive::Outer::Git { blob: &blob },
            limits: &self.opts.archives,
            messages: self.messages,
            tally: &self.counts.archives,
        };
        let mut found = self.scanner.scan_archive(content, &archive, scratch)?;
        for f in &mut found {
            f.git = Some(GitProvenance {
                blob: blob.clone(),
                ..GitProvenance::default()
            });
        }
        Some(found)
    }

    /// Matches plain text in the chunks not seen before at `path` (see
    /// [`super::dedupe`]). The long-reach rules look for keywords only in
    /// the chunks, new or old, that hold one of them (every occurrence
    /// starts there), with regex windows reaching into the whole blob, so
    /// they find what a scan of the whole blob finds.
    fn scan_new_text(
        &self,
        path: &str,
        content: &[u8],
        origin: &Origin,
        scratch: &mut Scratch,
        chunks: &mut Chunks,
    ) -> Vec<Finding> {
        let (short, long) = (&self.plan.short, &self.plan.long);
        let overlap = self.plan.long_keyword_len;
        self.seen.new_chunks(path, content, chunks);
        let ranges = &chunks.new;
        self.counts.new_bytes.fetch_add(
            ranges.iter().map(|r| r.len() as u64).sum(),
            Ordering::Relaxed,
        );
        let decoded = self
            .scanner
            .decoded_findings(content, origin, ranges, scratch);
        // Keywords are looked for where the generic detector reads too (a
        // few lines more), so one pass finds both, and past each new
        // chunk's end by the long keywords' length, so that the pass sees
        // whole every flag word starting in a new chunk. Matching in more
        // than the new chunks finds nothing a whole-blob scan would not.
        let mut spans = if self.plan.generic {
            crate::generic::candidate::reading_spans(content, ranges)
        } else {
            ranges.clone()
        };
        spans.extend(
            ranges
                .iter()
                .map(|r| r.end..(r.end + overlap).min(content.len())),
        );
        let mut spans = merge_ranges(&mut spans);
        let mut a = if spans.is_empty() {
            scratch.clear_flags();
            Vec::new()
        } else {
            short.scan_ranges(content, &spans, scratch)
        };
        self.seen.record(overlap, scratch.flags(), chunks);
        let (ranges, flagged) = (&chunks.new, &chunks.flagged);
        // Taken before the second pass below clears them.
        let mut marks = scratch.take_marks();
        marks.sort_unstable();
        if !a.is_empty() {
            // Which rule reports an overlapping secret depends on every rule
            // that matches there, so look again with all keywords near each
            // match, old chunks included.
            let reach = 2 * LONG_REACH + 64;
            for m in &a {
                spans.push(
                    m.whole.start.saturating_sub(reach)..(m.whole.end + reach).min(content.len()),
                );
            }
            a = short.scan_ranges(content, &merge_ranges(&mut spans), scratch);
        }
        let b = if flagged.is_empty() {
            Vec::new()
        } else {
            self.counts.long_bytes.fetch_add(
                flagged.iter().map(|r| r.len() as u64).sum(),
                Ordering::Relaxed,
            );
            long.scan_ranges(content, flagged, scratch)
        };
        let mut found = self.scanner.findings(content, origin, short.combine(a, b));
        found.extend(decoded);
        self.scanner
            .add_generic_findings(content, origin, &marks, ranges, &mut found);
        scratch.restore_marks(marks);
        found
    }
}

/// Sorts `ranges` and merges the overlapping or touching ones (draining it).
fn merge_ranges(ranges: &mut Vec<Range<usize>>) -> Vec<Range<usize>> {
    ranges.sort_by_key(|r| r.start);
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for r in ranges.drain(..) {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    merged
}

/// Reports each (rule, path, secret) once, at the earliest version of the file
/// that holds the secret, with its commit, and whether a branch tip still
/// holds it. Only blobs at paths with findings are read again.
fn attach_provenance(
    repo: &Repository,
    history: &History,
    found: Vec<Finding>,
    messages: &Messages,
) -> Vec<Finding> {
    let (in_archives, found): (Vec<Finding>, Vec<Finding>) =
        found.into_iter().partition(|f| f.git.is_some());
    let mut unique: HashMap<String, Finding> = HashMap::new();
    for f in found {
        unique.entry(f.matched.fingerprint.clone()).or_insert(f);
    }
    let wanted: HashSet<&str> = unique.values().map(|f| f.location.path.as_str()).collect();
    let mut versions: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, s) in history.sites.iter().enumerate() {
        if wanted.contains(s.path.as_str()) {
            versions.entry(s.path.as_str()).or_default().push(i);
        }
    }
    // Paths holding each (rule, secret).
    let mut spread: HashMap<(String, String), HashSet<String>> = HashMap::new();
    for f in unique.values() {
        spread
            .entry((f.rule.id.clone(), f.matched.secret.clone()))
            .or_default()
            .insert(f.location.path.clone());
    }
    let read = |oid: Oid| -> Option<Vec<u8>> {
        match repo.find_blob(oid) {
            Ok(b) => Some(b.content().to_vec()),
            Err(e) => {
                messages.warn(&format!("blob {oid}"), e.message());
                None
            }
        }
    };
    let mut found: Vec<Finding> = unique.into_values().collect();
    let sites = first_sites(history, &versions, &mut found, &read);
    let present = tip_presence(history, &spread, &found, &read);
    let mut metas = CommitMetas::new(repo);
    let mut out = Vec::with_capacity(found.len());
    for ((mut f, site), present) in found.into_iter().zip(sites).zip(present) {
        let Some(site) = site.map(|i| &history.sites[i]) else {
            out.push(f);
            continue;
        };
        let paths = &spread[&(f.rule.id.clone(), f.matched.secret.clone())];
        let commit = history.commits[site.commit as usize];
        let status = if present {
            GitStatus::Present
        } else {
            GitStatus::HistoryOnly
        };
        f.git = Some(metas.provenance(commit, site.blob.to_string(), status, paths.len() - 1));
        out.push(f);
    }
    out.extend(archive_provenance(history, in_archives, &mut metas));
    out
}

/// Provenance for findings in archive members (`bundle.zip!app.py`), which
/// carry their archive's blob: each (rule, path, secret) once, at the
/// earliest commit of an archive holding it; present when a branch tip's
/// archive at that path is one of those holding it.
fn archive_provenance(
    history: &History,
    found: Vec<Finding>,
    metas: &mut CommitMetas<'_>,
) -> Vec<Finding> {
    if found.is_empty() {
        return found;
    }
    let blob_of = |f: &Finding| f.git.as_ref().and_then(|g| Oid::from_str(&g.blob).ok());
    let wanted: HashSet<Oid> = found.iter().filter_map(blob_of).collect();
    let commit_of: HashMap<Oid, u32> = history
        .sites
        .iter()
        .filter(|s| wanted.contains(&s.blob))
        .map(|s| (s.blob, s.commit))
        .collect();
    let mut holders: HashMap<String, HashSet<Oid>> = HashMap::new();
    let mut first: HashMap<String, (u32, Finding)> = HashMap::new();
    for f in found {
        let Some(blob) = blob_of(&f) else { continue };
        let at = commit_of.get(&blob).copied().unwrap_or(u32::MAX);
        let fp = f.matched.fingerprint.clone();
        holders.entry(fp.clone()).or_default().insert(blob);
        match first.get(&fp) {
            Some((seen, _)) if *seen <= at => {}
            _ => {
                first.insert(fp, (at, f));
            }
        }
    }
    let mut out = Vec::with_capacity(first.len());
    for (fp, (at, mut f)) in first {
        let outer = f.location.path.split('!').next().unwrap_or_default();
        let present = history
            .tip_paths
            .get(outer)
            .is_some_and(|tips| tips.iter().any(|t| holders[&fp].contains(t)));
        if let Some(&commit) = history.commits.get(at as usize) {
            let blob = f.git.take().map(|g| g.blob).unwrap_or_default();
            let status = if present {
                GitStatus::Present
            } else {
                GitStatus::HistoryOnly
            };
            f.git = Some(metas.provenance(commit, blob, status, 0));
        }
        out.push(f);
    }
    out
}

/// Where each distinct secret first occurs in `hay`: one pass over it for
/// all of them, not one per finding.
fn first_occurrences(secrets: &[&str], hay: &[u8]) -> Vec<Option<usize>> {
    let mut first: Vec<Option<usize>> = secrets.iter().map(|s| s.is_empty().then_some(0)).collect();
    let Ok(ac) = aho_corasick::AhoCorasick::new(secrets.iter().filter(|s| !s.is_empty())) else {
        // Too many patterns for the automaton: one search each instead.
        for (i, s) in secrets.iter().enumerate() {
            first[i] = memchr::memmem::find(hay, s.as_bytes());
        }
        return first;
    };
    let ids: Vec<usize> = (0..secrets.len())
        .filter(|&i| !secrets[i].is_empty())
        .collect();
    for m in ac.find_overlapping_iter(hay) {
        let slot = &mut first[ids[m.pattern().as_usize()]];
        if slot.is_none_or(|s| m.start() < s) {
            *slot = Some(m.start());
        }
    }
    first
}

/// The site of the earliest version of each finding's file that holds its
/// secret, relocating the finding there. Each version is read once.
fn first_sites(
    history: &History,
    versions: &HashMap<&str, Vec<usize>>,
    found: &mut [Finding],
    read: &dyn Fn(Oid) -> Option<Vec<u8>>,
) -> Vec<Option<usize>> {
    let mut sites = vec![None; found.len()];
    let mut by_path: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, f) in found.iter().enumerate() {
        by_path.entry(f.location.path.clone()).or_default().push(i);
    }
    for (path, mut waiting) in by_path {
        for &v in versions
            .get(path.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            if waiting.is_empty() {
                break;
            }
            let Some(content) = read(history.sites[v].blob) else {
                continue;
            };
            let secrets: Vec<&str> = waiting
                .iter()
                .map(|&i| found[i].matched.secret.as_str())
                .collect();
            let first = first_occurrences(&secrets, &content);
            let mut here: Vec<(usize, usize)> = waiting
                .iter()
                .zip(&first)
                .filter_map(|(&i, at)| at.map(|at| (at, i)))
                .collect();
            here.sort_unstable();
            let mut lines = finding::LineCounter::default();
            for &(at, i) in &here {
                found[i].relocate_at(&content, at, &mut lines);
                sites[i] = Some(v);
            }
            waiting.retain(|&i| sites[i].is_none());
        }
    }
    sites
}

/// Whether a branch tip still holds each finding's secret at any of the
/// paths that ever held it. Each tip blob is read and searched once.
fn tip_presence(
    history: &History,
    spread: &HashMap<(String, String), HashSet<String>>,
    found: &[Finding],
    read: &dyn Fn(Oid) -> Option<Vec<u8>>,
) -> Vec<bool> {
    let mut secrets: Vec<&str> = found.iter().map(|f| f.matched.secret.as_str()).collect();
    secrets.sort_unstable();
    secrets.dedup();
    let tips: HashSet<Oid> = spread
        .values()
        .flatten()
        .filter_map(|p| history.tip_paths.get(p.as_str()))
        .flatten()
        .copied()
        .collect();
    let held: HashMap<Oid, Vec<Option<usize>>> = tips
        .into_iter()
        .filter_map(|oid| Some((oid, first_occurrences(&secrets, &read(oid)?))))
        .collect();
    found
        .iter()
        .map(|f| {
            let Ok(k) = secrets.binary_search(&f.matched.secret.as_str()) else {
                return false;
            };
            spread[&(f.rule.id.clone(), f.matched.secret.clone())]
                .iter()
                .filter_map(|p| history.tip_paths.get(p.as_str()))
                .flatten()
                .any(|oid| held.get(oid).is_some_and(|h| h[k].is_some()))
        })
        .collect()
}

/// The author, email, date and message of the commits findings are
/// attached to, each commit read once however many findings it has.
struct CommitMetas<'r> {
    repo: &'r Repository,
    read: HashMap<Oid, (String, String, String, String)>,
}

impl<'r> CommitMetas<'r> {
    fn new(repo: &'r Repository) -> Self {
        CommitMetas {
            repo,
            read: HashMap::new(),
        }
    }

    /// `f`, found in the text of `object` (a commit, tag or note blob),
    /// attached to `commit`. History holds the text for good: no tip
    /// "removes" it.
    fn attach(&mut self, mut f: Finding, commit: Oid, object: Oid) -> Finding {
        f.git = Some(self.provenance(commit, object.to_string(), GitStatus::HistoryOnly, 0));
        f
    }

    /// A finding's provenance at `commit`, in `blob`.
    fn provenance(
        &mut self,
        commit: Oid,
        blob: String,
        status: GitStatus,
        occurrences: usize,
    ) -> GitProvenance {
        let repo = self.repo;
        let m = self
            .read
            .entry(commit)
            .or_insert_with(|| commit_meta(repo, commit));
        GitProvenance {
            commit: commit.to_string(),
            author: m.0.clone(),
            email: m.1.clone(),
            date: m.2.clone(),
            message: m.3.clone(),
            blob,
            status,
            occurrences,
        }
    }
}

fn commit_meta(repo: &Repository, id: Oid) -> (String, String, String, String) {
    let Ok(c) = repo.find_commit(id) else {
        return Default::default();
    };
    let author = c.author();
    let when = author.when();
    (
        String::from_utf8_lossy(author.name_bytes()).into_owned(),
        String::from_utf8_lossy(author.email_bytes()).into_owned(),
        crate::time::rfc3339(when.seconds(), when.offset_minutes()),
        c.summary_bytes()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .unwrap_or_default(),
    )
}
