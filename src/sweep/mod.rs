//! Org-wide sweeps: many repositories, each mirrored into a cache and its
//! history scanned, incrementally (blobs scanned by an earlier run are not
//! read again) and resumably (repositories finished in an interrupted run are
//! skipped), with results written per repository to a [`Datastore`].
//!
//! Memory does not grow with the number of repositories: a fixed pool of
//! workers takes repositories one at a time from the list, and a repository's
//! findings and blob ids are written to the store and dropped before the
//! worker takes the next.

pub mod forge;
pub mod notify;
mod stats;

pub use stats::{add_stored, is_live, is_revoked, stored_summary, RepoSummary, NOT_IN_RUN};

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::datastore::{Datastore, Failure, RepoScan, RepoState};
use crate::diag::Messages;
use crate::finding::Finding;
use crate::rules::RuleSet;
use crate::scan::Scanner;
use crate::source::git::{self, GitOptions};
use crate::source::mirror::{self, Shard};

/// How to sweep.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// Where bare mirrors are kept between runs.
    pub cache: PathBuf,
    pub shard: Option<Shard>,
    /// Repositories swept at once.
    pub jobs: usize,
    /// Scanning threads per repository.
    pub threads: usize,
    pub max_file_size: u64,
    /// Identifies the rules and options in force; blobs scanned under another
    /// digest are scanned again.
    pub rules_digest: String,
    /// Show a progress bar (the caller decides: a terminal, not quiet).
    pub progress: bool,
}

/// What a sweep did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct SweepSummary {
    /// The run in the datastore.
    pub run: i64,
    /// An interrupted run was picked up again.
    pub resumed: bool,
    /// Repositories in the list (after sharding).
    pub repos: usize,
    /// Repositories already finished in the resumed run, not swept again.
    pub already_done: usize,
    /// Repositories swept in this invocation without failure.
    pub swept: usize,
    /// Of those, repositories whose refs had not moved since the last sweep.
    pub unchanged: usize,
    pub commits: u64,
    /// Blobs read and scanned.
    pub blobs_scanned: u64,
    /// Blobs left out because an earlier run scanned them.
    pub blobs_skipped: u64,
    pub bytes_scanned: u64,
    /// Findings reported by the repositories' scans in this invocation
    /// (including ones known from earlier runs).
    pub findings: u64,
    /// Findings left out by inline `keysweep:allow` comments (not stored).
    pub suppressed: u64,
    pub failures: Vec<Failure>,
    #[serde(serialize_with = "crate::time::serialize_secs")]
    pub elapsed: Duration,
    /// The run before this one (of any shard), which "new" is relative to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_run: Option<i64>,
    /// Of the reported findings: first seen in this run, live when last
    /// validated, and revoked.
    pub new_findings: usize,
    pub live: usize,
    pub revoked: usize,
    /// Each repository the run reached, by URL (credentials left out).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub repositories: Vec<RepoSummary>,
}

/// A digest of everything that decides what a scan finds: keysweep's version,
/// the rules, and the options that filter findings. Blob ids recorded under
/// one digest do not count as scanned under another.
pub fn rules_digest(rules: &RuleSet, options: &str) -> String {
    use std::hash::Hasher;
    let mut h = twox_hash::XxHash3_64::new();
    h.write(env!("CARGO_PKG_VERSION").as_bytes());
    h.write(b"\0");
    h.write(options.as_bytes());
    for r in rules.rules() {
        h.write(b"\0");
        h.write(
            serde_json::to_string(&r.spec)
                .unwrap_or_default()
                .as_bytes(),
        );
    }
    format!("{:016x}", h.finish())
}

/// Keeps the repositories of `shard` (all without one), dropping duplicates
/// and keeping the listed order.
pub fn select(repos: Vec<String>, shard: Option<Shard>) -> Vec<String> {
    let mut seen = HashSet::new();
    repos
        .into_iter()
        .filter(|r| shard.is_none_or(|s| s.contains(r)) && seen.insert(r.clone()))
        .collect()
}

/// Why a repository was not recorded as scanned.
enum Failed {
    /// The repository: recorded, and the sweep goes on.
    Repo(anyhow::Error),
    /// The datastore: the sweep stops.
    Store(anyhow::Error),
}

/// One repository's results, before they are written.
#[derive(Default)]
struct Scanned {
    refs_digest: Option<String>,
    reset_blobs: bool,
    blobs: Vec<[u8; 20]>,
    skipped: u64,
    findings: Vec<Finding>,
    gone: Vec<String>,
    bytes: u64,
    commits: u64,
    unchanged: bool,
    suppressed: u64,
    error: Option<String>,
    /// `HEAD`'s commit and branch, when the repository was fetched.
    revision: Option<String>,
    branch: Option<String>,
}

struct Ctx<'a> {
    scanner: &'a Scanner,
    store: Mutex<&'a mut dyn Datastore>,
    opts: &'a SweepOptions,
    messages: &'a Messages,
    run: i64,
    /// Repositories failed so far, for the progress line.
    failed: AtomicU64,
}

impl Ctx<'_> {
    fn store<T>(
        &self,
        f: impl FnOnce(&mut dyn Datastore) -> anyhow::Result<T>,
    ) -> Result<T, Failed> {
        let mut guard = self.store.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut **guard).map_err(Failed::Store)
    }
}

/// Sweeps `repos` (URLs or local paths, as listed) into `store`.
///
/// Each repository is fetched into its mirror, its history enumerated, blobs
/// scanned by earlier runs (under the same rules digest) left out, the rest
/// scanned, and the results written in one transaction. A repository that
/// fails (unreachable, not a repository, corrupt) is recorded with its error
/// and the sweep goes on.
///
/// # Errors
///
/// Fails when the datastore fails (the run stays unfinished and a later sweep
/// resumes it) or the cache directory cannot be created.
pub fn sweep(
    scanner: &Scanner,
    store: &mut dyn Datastore,
    repos: Vec<String>,
    opts: &SweepOptions,
    messages: &Messages,
) -> anyhow::Result<SweepSummary> {
    let started = Instant::now();
    let (mut summary, todo) = start(store, repos, opts)?;
    let pb = opts.progress.then(|| progress_bar(todo.len()));
    messages.set_progress(pb.clone());
    let ctx = Ctx {
        scanner,
        store: Mutex::new(store),
        opts,
        messages,
        run: summary.run,
        failed: AtomicU64::new(0),
    };
    let (totals, fatal) = run_workers(&ctx, todo, pb.as_ref());
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    messages.set_progress(None);
    let store = ctx.store.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some(e) = fatal {
        return Err(e.context(format!(
            "datastore failed: run {} left unfinished; sweep again to resume it",
            summary.run
        )));
    }
    summary.failures = store.failures(summary.run)?;
    store.finish_run(summary.run)?;
    totals.add_to(&mut summary);
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// Step 1: the cache directory, the shard's repositories, and the run
/// (started, or resumed without the repositories it already finished).
fn start(
    store: &mut dyn Datastore,
    repos: Vec<String>,
    opts: &SweepOptions,
) -> anyhow::Result<(SweepSummary, Vec<String>)> {
    std::fs::create_dir_all(&opts.cache).map_err(|e| {
        anyhow::anyhow!(
            "{}: cannot create cache directory: {e}",
            opts.cache.display()
        )
    })?;
    let shard = opts
        .shard
        .map_or_else(|| "all".to_string(), |s| s.to_string());
    let repos = select(repos, opts.shard);
    let run = store.start_run(&shard, &opts.rules_digest)?;
    let done = if run.resumed {
        store.finished_repos(run.id)?
    } else {
        HashSet::new()
    };
    let listed = repos.len();
    let todo: Vec<String> = repos.into_iter().filter(|r| !done.contains(r)).collect();
    let summary = SweepSummary {
        run: run.id,
        resumed: run.resumed,
        repos: listed,
        already_done: listed - todo.len(),
        ..SweepSummary::default()
    };
    Ok((summary, todo))
}

fn progress_bar(len: usize) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr());
    pb.set_style(
        ProgressStyle::with_template("{spinner} {pos}/{len} repositories ({per_sec}, {eta}) {msg}")
            .expect("progress template"),
    );
    pb
}

/// Step 2: `opts.jobs` threads sweep `todo`; the counts, and the datastore
/// error that stopped them, if any.
fn run_workers(
    ctx: &Ctx<'_>,
    todo: Vec<String>,
    pb: Option<&ProgressBar>,
) -> (Totals, Option<anyhow::Error>) {
    let queue = Mutex::new(todo.into_iter());
    let stop = AtomicBool::new(false);
    let fatal: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    let totals = Totals::default();
    std::thread::scope(|s| {
        for _ in 0..ctx.opts.jobs.max(1) {
            s.spawn(|| work(ctx, &queue, &stop, &fatal, &totals, pb));
        }
    });
    (
        totals,
        fatal.into_inner().unwrap_or_else(|e| e.into_inner()),
    )
}

/// What the sweeping threads count.
#[derive(Default)]
struct Totals {
    swept: AtomicUsize,
    unchanged: AtomicUsize,
    commits: AtomicU64,
    blobs: AtomicU64,
    skipped: AtomicU64,
    bytes: AtomicU64,
    findings: AtomicU64,
    suppressed: AtomicU64,
}

impl Totals {
    fn record(&self, r: &Recorded) {
        if r.error.is_none() {
            self.swept.fetch_add(1, Ordering::Relaxed);
        }
        self.unchanged
            .fetch_add(r.unchanged as usize, Ordering::Relaxed);
        self.commits.fetch_add(r.commits, Ordering::Relaxed);
        self.blobs.fetch_add(r.blobs as u64, Ordering::Relaxed);
        self.skipped.fetch_add(r.skipped, Ordering::Relaxed);
        self.bytes.fetch_add(r.bytes, Ordering::Relaxed);
        self.findings
            .fetch_add(r.findings as u64, Ordering::Relaxed);
        self.suppressed.fetch_add(r.suppressed, Ordering::Relaxed);
    }

    fn add_to(self, summary: &mut SweepSummary) {
        summary.swept = self.swept.into_inner();
        summary.unchanged = self.unchanged.into_inner();
        summary.commits = self.commits.into_inner();
        summary.blobs_scanned = self.blobs.into_inner();
        summary.blobs_skipped = self.skipped.into_inner();
        summary.bytes_scanned = self.bytes.into_inner();
        summary.findings = self.findings.into_inner();
        summary.suppressed = self.suppressed.into_inner();
    }
}

/// One sweeping thread: takes repositories off the queue until it is empty
/// or a datastore failure stops every thread.
fn work(
    ctx: &Ctx<'_>,
    queue: &Mutex<std::vec::IntoIter<String>>,
    stop: &AtomicBool,
    fatal: &Mutex<Option<anyhow::Error>>,
    totals: &Totals,
    pb: Option<&ProgressBar>,
) {
    while !stop.load(Ordering::Relaxed) {
        let Some(url) = queue.lock().unwrap_or_else(|e| e.into_inner()).next() else {
            break;
        };
        match sweep_repo(ctx, &url) {
            Ok(Some(r)) => totals.record(&r),
            Ok(None) => {}
            Err(e) => {
                stop.store(true, Ordering::Relaxed);
                fatal
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get_or_insert(e);
                break;
            }
        }
        if let Some(pb) = pb {
            pb.inc(1);
            pb.set_message(format!(
                "{} scanned, {} findings, {} failed",
                indicatif::HumanBytes(totals.bytes.load(Ordering::Relaxed)),
                totals.findings.load(Ordering::Relaxed),
                ctx.failed.load(Ordering::Relaxed),
            ));
        }
    }
}

/// Counts written for one repository.
struct Recorded {
    unchanged: bool,
    commits: u64,
    blobs: usize,
    skipped: u64,
    bytes: u64,
    findings: usize,
    suppressed: u64,
    error: Option<String>,
}

/// Sweeps one repository and writes the outcome. `Ok(None)` when the
/// repository failed (and that was recorded); `Err` only when the store fails.
fn sweep_repo(ctx: &Ctx<'_>, url: &str) -> anyhow::Result<Option<Recorded>> {
    // A token in the clone URL is needed to fetch, never to show or store:
    // messages, the datastore and reports use the URL without it.
    let shown = mirror::without_credentials(url);
    let result = ctx
        .store(|s| s.repo(&shown))
        .and_then(|state| scan_repo(ctx, url, &state).map(|s| (state, s)));
    match result {
        Ok((state, mut scanned)) => {
            if let Some(e) = &mut scanned.error {
                *e = mirror::scrub_credentials(e, url);
                ctx.messages.warn(&shown, e);
            }
            let scan = RepoScan {
                run: ctx.run,
                repo: state.id,
                refs_digest: scanned.refs_digest.as_deref(),
                rules_digest: &ctx.opts.rules_digest,
                reset_blobs: scanned.reset_blobs,
                blobs: &scanned.blobs,
                findings: &scanned.findings,
                gone: &scanned.gone,
                bytes_scanned: scanned.bytes,
                commits: scanned.commits,
                blobs_skipped: scanned.skipped,
                revision: scanned.revision.as_deref(),
                branch: scanned.branch.as_deref(),
                error: scanned.error.clone(),
            };
            let mut guard = ctx.store.lock().unwrap_or_else(|e| e.into_inner());
            guard.record_scan(&scan)?;
            if scanned.error.is_some() {
                ctx.failed.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Some(Recorded {
                unchanged: scanned.unchanged,
                commits: scanned.commits,
                blobs: scanned.blobs.len(),
                skipped: scanned.skipped,
                bytes: scanned.bytes,
                findings: scanned.findings.len(),
                suppressed: scanned.suppressed,
                error: scanned.error,
            }))
        }
        Err(Failed::Store(e)) => Err(e),
        Err(Failed::Repo(e)) => {
            let msg = mirror::scrub_credentials(&crate::diag::error_chain(e.as_ref()), url);
            ctx.messages.warn(&shown, &msg);
            let state = ctx.store(|s| s.repo(&shown)).map_err(|f| match f {
                Failed::Store(e) | Failed::Repo(e) => e,
            })?;
            ctx.store
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .record_failure(ctx.run, state.id, &msg)?;
            ctx.failed.fetch_add(1, Ordering::Relaxed);
            Ok(None)
        }
    }
}

fn scan_repo(ctx: &Ctx<'_>, url: &str, state: &RepoState) -> Result<Scanned, Failed> {
    let same_rules = state.rules_digest.as_deref() == Some(ctx.opts.rules_digest.as_str());
    if same_rules && state.refs_digest.is_some() {
        // Ask before fetching: an unchanged repository costs one listing.
        let advertised = mirror::remote_digest(url).map_err(Failed::Repo)?;
        if state.refs_digest.as_deref() == Some(advertised.as_str()) {
            return Ok(Scanned {
                refs_digest: Some(advertised),
                unchanged: true,
                ..Scanned::default()
            });
        }
    }
    let dest = mirror::cache_path(&ctx.opts.cache, url);
    let (repo, damage) = mirror::fetch_repairing(url, &dest).map_err(Failed::Repo)?;
    if let Some(d) = damage {
        let shown = mirror::without_credentials(url);
        let msg = format!("the cached mirror was damaged ({d}): cloned again");
        ctx.messages
            .warn(&shown, &mirror::scrub_credentials(&msg, url));
    }
    let digest = mirror::refs_digest(&repo).map_err(Failed::Repo)?;
    let (revision, branch) = head_of(&repo);
    if same_rules && state.refs_digest.as_deref() == Some(digest.as_str()) {
        // Nothing moved: every blob was scanned under these rules.
        return Ok(Scanned {
            refs_digest: Some(digest),
            unchanged: true,
            revision,
            branch,
            ..Scanned::default()
        });
    }
    let scanned_before = if same_rules {
        ctx.store(|s| s.scanned_blobs(state.id))?
    } else {
        HashSet::new()
    };
    let known = ctx.store(|s| s.finding_blobs(state.id))?;

    let gopts = GitOptions {
        max_file_size: ctx.opts.max_file_size,
        threads: ctx.opts.threads,
        dedupe: true,
        ..GitOptions::default()
    };
    let errors = AtomicU64::new(0);
    let mut history = git::enumerate(&repo, &gopts, ctx.messages, &errors).map_err(Failed::Repo)?;
    // Findings whose blob is no longer reachable (history rewritten) are not
    // seen again in this run.
    let mut gone = unreachable(&known, &history);
    let skipped = history.skip_blobs(|id| scanned_before.contains(&raw(id))) as u64;
    drop(scanned_before);
    let mut blobs: Vec<[u8; 20]> = history.blob_ids().map(raw).collect();
    let (findings, bytes, suppressed) = scan_blobs(ctx, url, &repo, &history, &gopts, &errors)?;
    if !same_rules {
        // Every blob was scanned again under other rules or triage: a stored
        // finding not found now is no longer reported.
        gone = not_found_again(known, &findings);
    }
    let n_errors = errors.into_inner();
    let (refs_digest, error) = if n_errors > 0 {
        // Keep what was found, but scan the repository again next time.
        blobs.clear();
        (None, Some(unreadable_objects(n_errors)))
    } else {
        (Some(digest), None)
    };
    Ok(Scanned {
        refs_digest,
        reset_blobs: !same_rules,
        blobs,
        skipped,
        findings,
        gone,
        bytes,
        commits: history.commit_count() as u64,
        unchanged: false,
        suppressed,
        error,
        revision,
        branch,
    })
}

/// The default branch and its commit, for SARIF's
/// `versionControlProvenance`. A mirror's `HEAD` is its own, not the
/// remote's (fetching does not set it): when it names no branch the mirror
/// has, `main`, else `master`, else the only branch stands in; `None` when
/// none fits.
fn head_of(repo: &git2::Repository) -> (Option<String>, Option<String>) {
    let branch_commit = |name: &str| {
        repo.find_branch(name, git2::BranchType::Local)
            .ok()
            .and_then(|b| b.get().peel_to_commit().ok())
            .map(|c| c.id().to_string())
    };
    if let Ok(head) = repo.head() {
        if let (true, Ok(name)) = (head.is_branch(), head.shorthand()) {
            if let Some(c) = branch_commit(name) {
                return (Some(c), Some(name.to_string()));
            }
        }
    }
    let names: Vec<String> = repo
        .branches(Some(git2::BranchType::Local))
        .map(|it| {
            it.flatten()
                .filter_map(|(b, _)| b.name().ok().flatten().map(str::to_string))
                .take(2)
                .collect()
        })
        .unwrap_or_default();
    let pick = ["main", "master"]
        .into_iter()
        .find(|n| branch_commit(n).is_some())
        .map(str::to_string)
        .or_else(|| (names.len() == 1).then(|| names[0].clone()));
    match pick {
        Some(name) => (branch_commit(&name), Some(name)),
        None => (None, None),
    }
}

/// The fingerprints of known findings whose blob is no longer reachable
/// (history rewritten): they are not seen again in this run.
fn unreachable(known: &[(String, Vec<u8>)], history: &git::History) -> Vec<String> {
    if known.is_empty() {
        return Vec::new();
    }
    let reachable: HashSet<[u8; 20]> = history.blob_ids().map(raw).collect();
    known
        .iter()
        .filter(|(_, b)| <[u8; 20]>::try_from(b.as_slice()).is_ok_and(|b| !reachable.contains(&b)))
        .map(|(fp, _)| fp.clone())
        .collect()
}

/// The fingerprints of known findings a full scan did not report again.
fn not_found_again(known: Vec<(String, Vec<u8>)>, found: &[Finding]) -> Vec<String> {
    let found: HashSet<&str> = found
        .iter()
        .map(|f| f.matched.fingerprint.as_str())
        .collect();
    known
        .into_iter()
        .map(|(fp, _)| fp)
        .filter(|fp| !found.contains(fp.as_str()))
        .collect()
}

/// Scans the blobs left in `history`: the findings to store (suppressed
/// ones left out and counted), and the bytes scanned.
fn scan_blobs(
    ctx: &Ctx<'_>,
    url: &str,
    repo: &git2::Repository,
    history: &git::History,
    gopts: &GitOptions,
    errors: &AtomicU64,
) -> Result<(Vec<Finding>, u64, u64), Failed> {
    if history.blob_count() == 0 {
        return Ok((Vec::new(), 0, 0));
    }
    let scan = crate::scan::history::scan_history(
        repo.path(),
        history,
        ctx.scanner,
        gopts,
        ctx.messages,
        errors,
        None,
    )
    .map_err(Failed::Repo)?;
    let mut findings = scan.findings;
    let before = findings.len();
    findings.retain(|f| f.annotations.suppressed.is_none());
    let suppressed = (before - findings.len()) as u64;
    for f in &mut findings {
        f.annotations.repo = Some(mirror::without_credentials(url));
    }
    Ok((findings, scan.bytes, suppressed))
}

fn unreadable_objects(n: u64) -> String {
    format!(
        "{n} object{} could not be read (corrupt or missing); findings so far were kept and \
         the repository will be scanned again",
        if n == 1 { "" } else { "s" }
    )
}

fn raw(id: git2::Oid) -> [u8; 20] {
    let mut b = [0u8; 20];
    let s = id.as_bytes();
    b[..s.len().min(20)].copy_from_slice(&s[..s.len().min(20)]);
    b
}
