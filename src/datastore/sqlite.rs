//! The embedded datastore: one SQLite file (default `.keysweep/sweep.db`).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::Context;
use rusqlite::{params, Connection, OptionalExtension};

use super::{
    analysis_of, blob_of, commit_of, finding_json, now, restore_analysis, too_new, CheckTimes,
    Datastore, Failure, FindingQuery, RepoRun, RepoScan, RepoState, Run, RunInfo, StoredFinding,
    SCHEMA_VERSION,
};

/// Migrations, one per schema version, in order. Keep in step with
/// `postgres.rs`: same tables, columns and meaning.
const MIGRATIONS: &[&str] = &[
    // 1: the initial schema.
    "CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        started TEXT NOT NULL,
        finished TEXT,
        shard TEXT NOT NULL,
        rules_digest TEXT NOT NULL
    );
    CREATE TABLE repos (
        id INTEGER PRIMARY KEY,
        url TEXT NOT NULL UNIQUE,
        refs_digest TEXT,
        rules_digest TEXT,
        last_run INTEGER,
        last_error TEXT
    );
    CREATE TABLE run_repos (
        run INTEGER NOT NULL REFERENCES runs(id),
        repo INTEGER NOT NULL REFERENCES repos(id),
        status TEXT NOT NULL,
        error TEXT,
        blobs_scanned INTEGER NOT NULL DEFAULT 0,
        bytes_scanned INTEGER NOT NULL DEFAULT 0,
        findings INTEGER NOT NULL DEFAULT 0,
        finished TEXT NOT NULL,
        PRIMARY KEY (run, repo)
    );
    CREATE TABLE blobs (
        repo INTEGER NOT NULL REFERENCES repos(id),
        blob BLOB NOT NULL,
        PRIMARY KEY (repo, blob)
    ) WITHOUT ROWID;
    CREATE TABLE findings (
        repo INTEGER NOT NULL REFERENCES repos(id),
        fingerprint TEXT NOT NULL,
        rule TEXT NOT NULL,
        path TEXT NOT NULL,
        commit_id TEXT,
        blob BLOB,
        first_seen_run INTEGER NOT NULL REFERENCES runs(id),
        last_seen_run INTEGER NOT NULL REFERENCES runs(id),
        validation_status TEXT,
        revocation_status TEXT,
        finding TEXT NOT NULL,
        PRIMARY KEY (repo, fingerprint)
    );
    CREATE INDEX findings_first_seen ON findings (first_seen_run);
    CREATE INDEX findings_last_seen ON findings (last_seen_run);",
    // 2: when a finding was validated, so a later sweep validates it again
    // only once that is older than --revalidate-after.
    "ALTER TABLE findings ADD COLUMN validated_at INTEGER;",
    // 3: what each run scanned per repository (commits, blobs left out),
    // the repository's HEAD for SARIF provenance, and analysis results with
    // when they were made, re-used like validation results.
    "ALTER TABLE run_repos ADD COLUMN commits INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE run_repos ADD COLUMN blobs_skipped INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE repos ADD COLUMN revision TEXT;
    ALTER TABLE repos ADD COLUMN branch TEXT;
    ALTER TABLE findings ADD COLUMN analysis TEXT;
    ALTER TABLE findings ADD COLUMN analysis_severity TEXT;
    ALTER TABLE findings ADD COLUMN analyzed_at INTEGER;",
];

/// An SQLite datastore. Holds secrets: the file is created readable by its
/// owner only.
pub struct Sqlite {
    conn: Connection,
    path: PathBuf,
}

impl Sqlite {
    /// Opens or creates the store at `path` and migrates it.
    ///
    /// # Errors
    ///
    /// Fails naming the path when the file cannot be created or opened, is not
    /// an SQLite database, or has a newer schema.
    pub fn open(path: &Path) -> anyhow::Result<Sqlite> {
        let name = path.display().to_string();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("{}: cannot create directory", dir.display()))?;
        }
        // Shards of one sweep may open a new store at the same moment: the
        // loser of `create_new` finds the winner's file, which is what it wanted.
        match create_private(path) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                return Err(e).with_context(|| format!("{name}: cannot create datastore"));
            }
            _ => {}
        }
        let conn = Connection::open(path).with_context(|| format!("{name}: cannot open"))?;
        conn.busy_timeout(std::time::Duration::from_secs(60))?;
        wal_mode(&conn).with_context(|| format!("{name}: not an SQLite datastore"))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let mut store = Sqlite {
            conn,
            path: path.to_path_buf(),
        };
        store
            .migrate()
            .with_context(|| format!("{name}: cannot migrate"))?;
        Ok(store)
    }

    fn migrate(&mut self) -> anyhow::Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")?;
        let version: i64 = tx.query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_version",
            [],
            |r| r.get(0),
        )?;
        if version > SCHEMA_VERSION {
            return Err(too_new(&self.path.display().to_string(), version));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(sql)?;
            tx.execute("DELETE FROM schema_version", [])?;
            tx.execute(
                "INSERT INTO schema_version (version) VALUES (?1)",
                [i as i64 + 1],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}

/// Switches the store to write-ahead logging, waiting out other processes
/// doing the same.
///
/// The switch needs the write lock while holding a read lock, so SQLite
/// answers "busy" at once instead of calling the busy handler when two
/// shards open a fresh store together; retry for as long as the busy timeout.
fn wal_mode(conn: &Connection) -> rusqlite::Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut pause = std::time::Duration::from_millis(5);
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(std::time::Duration::from_millis(200));
            }
            other => return other,
        }
    }
}

#[cfg(unix)]
fn create_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map(drop)
}

#[cfg(not(unix))]
fn create_private(path: &Path) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map(drop)
}

impl Datastore for Sqlite {
    fn start_run(&mut self, shard: &str, rules_digest: &str) -> anyhow::Result<Run> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let open: Option<i64> = tx
            .query_row(
                "SELECT id FROM runs WHERE finished IS NULL AND shard = ?1 ORDER BY id DESC LIMIT 1",
                [shard],
                |r| r.get(0),
            )
            .optional()?;
        let run = match open {
            Some(id) => {
                tx.execute(
                    "UPDATE runs SET rules_digest = ?2 WHERE id = ?1",
                    params![id, rules_digest],
                )?;
                Run { id, resumed: true }
            }
            None => {
                tx.execute(
                    "INSERT INTO runs (started, shard, rules_digest) VALUES (?1, ?2, ?3)",
                    params![now(), shard, rules_digest],
                )?;
                Run {
                    id: tx.last_insert_rowid(),
                    resumed: false,
                }
            }
        };
        tx.commit()?;
        Ok(run)
    }

    fn finished_repos(&mut self, run: i64) -> anyhow::Result<HashSet<String>> {
        let mut st = self.conn.prepare(
            "SELECT r.url FROM run_repos rr JOIN repos r ON r.id = rr.repo
             WHERE rr.run = ?1 AND rr.status = 'finished'",
        )?;
        let urls = st
            .query_map([run], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(urls)
    }

    fn repo(&mut self, url: &str) -> anyhow::Result<RepoState> {
        self.conn
            .prepare_cached("INSERT INTO repos (url) VALUES (?1) ON CONFLICT (url) DO NOTHING")?
            .execute([url])?;
        Ok(self
            .conn
            .prepare_cached("SELECT id, refs_digest, rules_digest FROM repos WHERE url = ?1")?
            .query_row([url], |r| {
                Ok(RepoState {
                    id: r.get(0)?,
                    refs_digest: r.get(1)?,
                    rules_digest: r.get(2)?,
                })
            })?)
    }

    fn scanned_blobs(&mut self, repo: i64) -> anyhow::Result<HashSet<[u8; 20]>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT blob FROM blobs WHERE repo = ?1")?;
        let mut out = HashSet::new();
        let mut rows = st.query([repo])?;
        while let Some(row) = rows.next()? {
            let b: Vec<u8> = row.get(0)?;
            if let Ok(id) = <[u8; 20]>::try_from(b.as_slice()) {
                out.insert(id);
            }
        }
        Ok(out)
    }

    fn finding_blobs(&mut self, repo: i64) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
        let mut st = self.conn.prepare_cached(
            "SELECT fingerprint, blob FROM findings WHERE repo = ?1 AND blob IS NOT NULL",
        )?;
        let rows = st
            .query_map([repo], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    fn record_scan(&mut self, s: &RepoScan<'_>) -> anyhow::Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        if s.reset_blobs {
            tx.execute("DELETE FROM blobs WHERE repo = ?1", [s.repo])?;
        }
        {
            let mut ins =
                tx.prepare_cached("INSERT OR IGNORE INTO blobs (repo, blob) VALUES (?1, ?2)")?;
            for b in s.blobs {
                ins.execute(params![s.repo, &b[..]])?;
            }
        }
        let gone = serde_json::to_string(s.gone)?;
        tx.prepare_cached(
            "UPDATE findings SET last_seen_run = ?1
             WHERE repo = ?2 AND last_seen_run < ?1
               AND fingerprint NOT IN (SELECT value FROM json_each(?3))",
        )?
        .execute(params![s.run, s.repo, gone])?;
        {
            let mut ins = tx.prepare_cached(
                "INSERT INTO findings (repo, fingerprint, rule, path, commit_id, blob,
                     first_seen_run, last_seen_run, finding)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8)
                 ON CONFLICT (repo, fingerprint) DO UPDATE SET last_seen_run = excluded.last_seen_run",
            )?;
            for f in s.findings {
                ins.execute(params![
                    s.repo,
                    f.matched.fingerprint,
                    f.rule.id,
                    f.location.path,
                    commit_of(f),
                    blob_of(f),
                    s.run,
                    finding_json(f)?,
                ])?;
            }
        }
        tx.prepare_cached(
            "UPDATE repos SET refs_digest = ?2, rules_digest = ?3, last_run = ?4, last_error = ?5,
                 revision = COALESCE(?6, revision), branch = COALESCE(?7, branch)
             WHERE id = ?1",
        )?
        .execute(params![
            s.repo,
            s.refs_digest,
            s.rules_digest,
            s.run,
            s.error,
            s.revision,
            s.branch,
        ])?;
        tx.prepare_cached(
            "INSERT INTO run_repos (run, repo, status, error, blobs_scanned, bytes_scanned,
                 findings, finished, commits, blobs_skipped)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (run, repo) DO UPDATE SET status = excluded.status,
                 error = excluded.error, blobs_scanned = excluded.blobs_scanned,
                 bytes_scanned = excluded.bytes_scanned, findings = excluded.findings,
                 finished = excluded.finished, commits = excluded.commits,
                 blobs_skipped = excluded.blobs_skipped",
        )?
        .execute(params![
            s.run,
            s.repo,
            if s.error.is_some() {
                "failed"
            } else {
                "finished"
            },
            s.error,
            s.blobs.len() as i64,
            s.bytes_scanned as i64,
            s.findings.len() as i64,
            now(),
            s.commits as i64,
            s.blobs_skipped as i64,
        ])?;
        tx.commit()?;
        Ok(())
    }

    fn record_failure(&mut self, run: i64, repo: i64, error: &str) -> anyhow::Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE repos SET last_error = ?2, last_run = ?3 WHERE id = ?1",
            params![repo, error, run],
        )?;
        tx.execute(
            "UPDATE findings SET last_seen_run = ?1 WHERE repo = ?2 AND last_seen_run < ?1",
            params![run, repo],
        )?;
        tx.execute(
            "INSERT INTO run_repos (run, repo, status, error, finished)
             VALUES (?1, ?2, 'failed', ?3, ?4)
             ON CONFLICT (run, repo) DO UPDATE SET status = 'failed', error = excluded.error,
                 finished = excluded.finished",
            params![run, repo, error, now()],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn failures(&mut self, run: i64) -> anyhow::Result<Vec<Failure>> {
        let mut st = self.conn.prepare(
            "SELECT r.url, COALESCE(rr.error, '') FROM run_repos rr JOIN repos r ON r.id = rr.repo
             WHERE rr.run = ?1 AND rr.status = 'failed' ORDER BY r.url",
        )?;
        let rows = st
            .query_map([run], |r| {
                Ok(Failure {
                    repo: r.get(0)?,
                    error: r.get(1)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    fn finish_run(&mut self, run: i64) -> anyhow::Result<()> {
        self.conn.execute(
            "UPDATE runs SET finished = ?2 WHERE id = ?1",
            params![run, now()],
        )?;
        Ok(())
    }

    fn record_checks(
        &mut self,
        f: &crate::finding::Finding,
        times: CheckTimes,
    ) -> anyhow::Result<()> {
        let (validation, revocation) = super::check_statuses(f);
        let (analysis, severity) = analysis_of(f);
        // A check that did not run keeps its stored result and time; one
        // that ran replaces both, even with nothing (no longer live).
        self.conn.execute(
            "UPDATE findings SET finding = ?1,
                 validation_status = CASE WHEN ?4 IS NULL THEN validation_status ELSE ?2 END,
                 revocation_status = CASE WHEN ?4 IS NULL THEN revocation_status ELSE ?3 END,
                 validated_at = COALESCE(?4, validated_at),
                 analysis = CASE WHEN ?7 IS NULL THEN analysis ELSE ?5 END,
                 analysis_severity = CASE WHEN ?7 IS NULL THEN analysis_severity ELSE ?6 END,
                 analyzed_at = COALESCE(?7, analyzed_at)
             WHERE fingerprint = ?8 AND repo = (SELECT id FROM repos WHERE url = ?9)",
            params![
                finding_json(f)?,
                validation,
                revocation,
                times.validated_at,
                analysis,
                severity,
                times.analyzed_at,
                f.matched.fingerprint,
                f.annotations.repo.as_deref().unwrap_or_default(),
            ],
        )?;
        Ok(())
    }

    fn runs(&mut self) -> anyhow::Result<Vec<RunInfo>> {
        let mut st = self
            .conn
            .prepare("SELECT id, started, finished, shard FROM runs ORDER BY id")?;
        let rows = st
            .query_map([], |r| {
                Ok(RunInfo {
                    id: r.get(0)?,
                    started: r.get(1)?,
                    finished: r.get(2)?,
                    shard: r.get(3)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    fn run_repos(&mut self, run: i64) -> anyhow::Result<Vec<RepoRun>> {
        let mut st = self.conn.prepare(
            "SELECT r.url, rr.status, rr.error, rr.commits, rr.blobs_scanned, rr.blobs_skipped,
                    rr.bytes_scanned, rr.findings, r.revision, r.branch
             FROM run_repos rr JOIN repos r ON r.id = rr.repo
             WHERE rr.run = ?1 ORDER BY r.url",
        )?;
        let rows = st
            .query_map([run], |r| {
                Ok(RepoRun {
                    repo: r.get(0)?,
                    status: r.get(1)?,
                    error: r.get(2)?,
                    commits: r.get::<_, i64>(3)? as u64,
                    blobs_scanned: r.get::<_, i64>(4)? as u64,
                    blobs_skipped: r.get::<_, i64>(5)? as u64,
                    bytes_scanned: r.get::<_, i64>(6)? as u64,
                    findings: r.get::<_, i64>(7)? as u64,
                    revision: r.get(8)?,
                    branch: r.get(9)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    fn findings(&mut self, q: &FindingQuery) -> anyhow::Result<Vec<StoredFinding>> {
        let mut st = self.conn.prepare(
            "SELECT f.finding, f.first_seen_run, f.last_seen_run, f.validation_status,
                    f.revocation_status, f.validated_at, f.analysis, f.analyzed_at
             FROM findings f JOIN repos r ON r.id = f.repo
             WHERE (?1 IS NULL OR f.first_seen_run > ?1)
               AND (?2 IS NULL OR f.first_seen_run = ?2)
               AND (?3 IS NULL OR f.last_seen_run = ?3)
             ORDER BY r.url, f.path, f.fingerprint",
        )?;
        let mut rows = st.query(params![q.since_run, q.first_seen_run, q.last_seen_run])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let json: String = row.get(0)?;
            let mut finding = serde_json::from_str(&json).with_context(|| {
                format!("{}: a stored finding cannot be read", self.path.display())
            })?;
            restore_analysis(&mut finding, row.get::<_, Option<String>>(6)?.as_deref());
            out.push(StoredFinding {
                finding,
                first_seen_run: row.get(1)?,
                last_seen_run: row.get(2)?,
                validation_status: row.get(3)?,
                revocation_status: row.get(4)?,
                validated_at: row.get(5)?,
                analyzed_at: row.get(7)?,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shards of one sweep start at once against a store that does not exist
    /// yet; every one of them must open it, and it stays private.
    #[test]
    fn concurrent_first_opens_all_succeed() {
        for round in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(format!("state/sweep{round}.db"));
            let barrier = std::sync::Barrier::new(6);
            std::thread::scope(|s| {
                let handles: Vec<_> = (0..6)
                    .map(|_| {
                        s.spawn(|| {
                            barrier.wait();
                            Sqlite::open(&path).map(drop).map_err(|e| format!("{e:#}"))
                        })
                    })
                    .collect();
                for h in handles {
                    h.join().unwrap().unwrap();
                }
            });
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(&path).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600);
            }
        }
    }
}
