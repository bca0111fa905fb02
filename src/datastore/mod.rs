//! Where sweeps keep what they learned: repositories, the blob ids scanned in
//! each, findings with the runs that first and last saw them, and the runs
//! themselves. Two backends with one schema: SQLite for one machine, PostgreSQL
//! for many workers writing to one store.
//!
//! A repository counts as done in a run only once its findings and blobs are
//! committed, in the same transaction, so a sweep killed at any point resumes
//! without losing or double-counting work.

#[cfg(feature = "postgres")]
mod postgres;
mod sqlite;

use std::collections::HashSet;
use std::path::Path;

use crate::finding::Finding;

#[cfg(feature = "postgres")]
pub use self::postgres::Postgres;
pub use self::sqlite::Sqlite;

/// The schema version this build writes. Each backend holds one migration per
/// version; a store newer than this is refused rather than misread.
pub const SCHEMA_VERSION: i64 = 3;

/// A run of `keysweep sweep` (or one worker's share of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub id: i64,
    /// True when an unfinished run of the same shard was picked up again.
    pub resumed: bool,
}

/// What the store knows about a repository before this run scans it.
#[derive(Debug, Clone, Default)]
pub struct RepoState {
    pub id: i64,
    /// Digest of its refs at the last complete scan.
    pub refs_digest: Option<String>,
    /// Digest of the rules (and keysweep version) of that scan. Blob ids
    /// scanned under other rules do not count as scanned.
    pub rules_digest: Option<String>,
}

/// The outcome of scanning one repository in a run, written in one
/// transaction.
#[derive(Debug, Default)]
pub struct RepoScan<'a> {
    pub run: i64,
    pub repo: i64,
    /// Refs digest to remember; `None` when the scan was incomplete, so the
    /// next run looks again.
    pub refs_digest: Option<&'a str>,
    pub rules_digest: &'a str,
    /// Forget earlier blob ids first (the rules changed).
    pub reset_blobs: bool,
    /// Raw ids of the blobs scanned now.
    pub blobs: &'a [[u8; 20]],
    pub findings: &'a [Finding],
    /// Fingerprints of stored findings no longer reachable in the repository;
    /// every other stored finding of the repository is marked seen in this run.
    pub gone: &'a [String],
    pub bytes_scanned: u64,
    /// Commits walked, and blobs left out because an earlier run scanned them.
    pub commits: u64,
    pub blobs_skipped: u64,
    /// The commit and branch the repository's `HEAD` named, when it was
    /// fetched; `None` keeps what an earlier run recorded.
    pub revision: Option<&'a str>,
    pub branch: Option<&'a str>,
    /// Set when part of the repository could not be read: the findings are
    /// kept but the repository is recorded as failed in this run.
    pub error: Option<String>,
}

/// A stored finding with its history in the store.
#[derive(Debug, Clone)]
pub struct StoredFinding {
    pub finding: Finding,
    pub first_seen_run: i64,
    pub last_seen_run: i64,
    pub validation_status: Option<String>,
    pub revocation_status: Option<String>,
    /// When the validation was made (Unix seconds); `None` if never.
    pub validated_at: Option<i64>,
    /// When the analysis was made (Unix seconds); `None` if never. The
    /// analysis itself is in `finding.annotations.analysis`.
    pub analyzed_at: Option<i64>,
}

impl StoredFinding {
    /// The finding, annotated with the runs that saw it; `new` when first
    /// seen in `run`.
    pub fn into_finding(self, run: Option<i64>) -> Finding {
        let mut f = self.finding;
        f.annotations.sweep = Some(crate::finding::SweepState {
            first_seen_run: self.first_seen_run,
            last_seen_run: self.last_seen_run,
            new: run == Some(self.first_seen_run),
        });
        f
    }
}

/// Which checks [`Datastore::record_checks`] stores: each time is when that
/// check ran (Unix seconds), `None` to keep the stored result of that check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckTimes {
    /// Validation or revocation ran.
    pub validated_at: Option<i64>,
    /// Analysis ran (its result may be none: the secret was not live).
    pub analyzed_at: Option<i64>,
}

/// A run as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RunInfo {
    pub id: i64,
    pub started: String,
    pub finished: Option<String>,
    pub shard: String,
}

/// What a run did with one repository.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepoRun {
    pub repo: String,
    /// `finished` or `failed`.
    pub status: String,
    pub error: Option<String>,
    pub commits: u64,
    pub blobs_scanned: u64,
    pub blobs_skipped: u64,
    pub bytes_scanned: u64,
    /// Findings the run's scan of the repository reported.
    pub findings: u64,
    /// The last known `HEAD` commit and branch of the repository.
    pub revision: Option<String>,
    pub branch: Option<String>,
}

/// Which stored findings to return.
#[derive(Debug, Clone, Copy, Default)]
pub struct FindingQuery {
    /// Only findings first seen in a run after this one.
    pub since_run: Option<i64>,
    /// Only findings first seen in this run.
    pub first_seen_run: Option<i64>,
    /// Only findings seen (again) in this run.
    pub last_seen_run: Option<i64>,
}

/// A repository that failed in a run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Failure {
    pub repo: String,
    pub error: String,
}

/// A sweep datastore. Implementations keep the same schema (see the
/// migrations in each backend) and the same semantics.
///
/// Every method may fail with the backend's error, naming the store.
pub trait Datastore: Send {
    /// Starts a run for `shard` (`"all"` when not sharded), or resumes the
    /// latest unfinished run of the same shard.
    fn start_run(&mut self, shard: &str, rules_digest: &str) -> anyhow::Result<Run>;

    /// Repositories already done in `run`: skipped when it is resumed.
    fn finished_repos(&mut self, run: i64) -> anyhow::Result<HashSet<String>>;

    /// Looks up a repository by its listed URL or path, adding it if new.
    fn repo(&mut self, url: &str) -> anyhow::Result<RepoState>;

    /// Raw ids of the blobs scanned in a repository by earlier runs.
    fn scanned_blobs(&mut self, repo: i64) -> anyhow::Result<HashSet<[u8; 20]>>;

    /// Fingerprints and blob ids of a repository's stored findings.
    fn finding_blobs(&mut self, repo: i64) -> anyhow::Result<Vec<(String, Vec<u8>)>>;

    /// Records a scanned repository: blobs, findings, and its state in the run.
    fn record_scan(&mut self, scan: &RepoScan<'_>) -> anyhow::Result<()>;

    /// Records that a repository could not be swept in `run`. Its stored
    /// findings count as seen in `run`: nothing showed they are gone, and a
    /// repository that fails (unreachable, a damaged mirror) must not drop
    /// its known secrets from the run's report.
    fn record_failure(&mut self, run: i64, repo: i64, error: &str) -> anyhow::Result<()>;

    /// Failures recorded in `run`.
    fn failures(&mut self, run: i64) -> anyhow::Result<Vec<Failure>>;

    /// Marks `run` finished.
    fn finish_run(&mut self, run: i64) -> anyhow::Result<()>;

    /// Stores a finding's validation, revocation and analysis (the finding
    /// as given, found by its `repo` and fingerprint) with when they ran. A
    /// finding not stored is left alone.
    fn record_checks(&mut self, finding: &Finding, times: CheckTimes) -> anyhow::Result<()>;

    /// Every run, oldest first.
    fn runs(&mut self) -> anyhow::Result<Vec<RunInfo>>;

    /// What `run` did with each repository it reached, ordered by URL.
    fn run_repos(&mut self, run: i64) -> anyhow::Result<Vec<RepoRun>>;

    /// Stored findings, ordered by repository, path and fingerprint.
    fn findings(&mut self, query: &FindingQuery) -> anyhow::Result<Vec<StoredFinding>>;
}

/// The environment variable that names the datastore when `--datastore` is
/// not given: a PostgreSQL URL with a password stays out of `argv` (and out of
/// Kubernetes manifests, filled from a Secret).
pub const ENV: &str = "KEYSWEEP_DATASTORE";

/// Where the datastore is when not given on the command line.
pub const DEFAULT_LOCATION: &str = ".keysweep/sweep.db";

/// The datastore location: `flag`, else `$KEYSWEEP_DATASTORE` (when set and
/// not empty), else [`DEFAULT_LOCATION`].
pub fn location(flag: Option<&str>) -> String {
    flag.map(str::to_string)
        .or_else(|| std::env::var(ENV).ok().filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| DEFAULT_LOCATION.to_string())
}

/// Opens the store at `location`: a `postgres://` or `postgresql://` URL, or a
/// path to an SQLite file (created with its directory if missing). Applies
/// pending migrations.
///
/// # Errors
///
/// Fails when the store cannot be opened or reached, or its schema is newer
/// than this keysweep understands.
pub fn open(location: &str) -> anyhow::Result<Box<dyn Datastore>> {
    if location.starts_with("postgres://") || location.starts_with("postgresql://") {
        #[cfg(feature = "postgres")]
        return Ok(Box::new(Postgres::connect(location)?));
        #[cfg(not(feature = "postgres"))]
        anyhow::bail!(
            "{}: this keysweep was built without PostgreSQL support (cargo feature \
             `postgres`, on by default); rebuild with it, or use an SQLite file",
            display_location(location)
        );
    } else {
        Ok(Box::new(Sqlite::open(Path::new(location))?))
    }
}

/// `location` fit for messages: a URL's password left out.
pub fn display_location(location: &str) -> String {
    without_password(location)
}

/// `postgres://user:secret@host/db` → `postgres://user@host/db`.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (auth, host) = match rest.rsplit_once('@') {
        Some(x) => x,
        None => return url.to_string(),
    };
    let user = auth.split(':').next().unwrap_or("");
    format!("{scheme}://{user}@{host}")
}

/// The error for a store whose schema is ahead of this build.
fn too_new(store: &str, version: i64) -> anyhow::Error {
    anyhow::anyhow!(
        "{store}: datastore schema version {version} is newer than this keysweep supports \
         ({SCHEMA_VERSION}); upgrade keysweep or use another --datastore"
    )
}

/// Current time, RFC 3339 in UTC.
fn now() -> String {
    crate::time::now_rfc3339()
}

/// The raw id of a finding's blob, when it came from history.
fn blob_of(f: &Finding) -> Option<Vec<u8>> {
    let hex = &f.git.as_ref()?.blob;
    git2::Oid::from_str(hex).ok().map(|o| o.as_bytes().to_vec())
}

/// The stored names of a finding's validation and revocation status.
fn check_statuses(f: &Finding) -> (Option<String>, Option<String>) {
    let name = |v: serde_json::Result<serde_json::Value>| {
        v.ok().and_then(|v| v.as_str().map(str::to_string))
    };
    (
        f.annotations
            .validation
            .as_ref()
            .and_then(|v| name(serde_json::to_value(v.status))),
        f.annotations
            .revocation
            .as_ref()
            .and_then(|r| name(serde_json::to_value(r.status))),
    )
}

/// A finding's analysis as stored: JSON and severity name, when it has one.
fn analysis_of(f: &Finding) -> (Option<String>, Option<String>) {
    let Some(a) = &f.annotations.analysis else {
        return (None, None);
    };
    let severity = a.severity.and_then(|s| {
        serde_json::to_value(s)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
    });
    (serde_json::to_string(a).ok(), severity)
}

/// The finding as stored in its `finding` column: what sweeps saw is kept
/// in columns of its own.
fn finding_json(f: &Finding) -> serde_json::Result<String> {
    if f.annotations.sweep.is_none() {
        return serde_json::to_string(f);
    }
    let mut f = f.clone();
    f.annotations.sweep = None;
    serde_json::to_string(&f)
}

/// Puts a stored analysis (column `analysis`) into `f`. Stores from before
/// schema 3 kept it only inside the finding's JSON, which stays as it was.
fn restore_analysis(f: &mut Finding, analysis: Option<&str>) {
    if let Some(a) = analysis.and_then(|a| serde_json::from_str(a).ok()) {
        f.annotations.analysis = Some(a);
    }
}

fn commit_of(f: &Finding) -> Option<&str> {
    f.git.as_ref().map(|g| g.commit.as_str())
}
