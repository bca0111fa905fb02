//! What a sweep run did, read back from the datastore: the run's counts and
//! one row per repository, for the sweep's own report and `keysweep report`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::SweepSummary;
use crate::datastore::{Datastore, RepoRun};
use crate::finding::{Finding, RevocationStatus, ValidationStatus};

/// One repository in a run: what was scanned, and its reported findings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RepoSummary {
    /// As listed, credentials left out.
    pub repo: String,
    /// `finished`, `failed`, or `not-in-run` for a repository whose
    /// findings are reported but which this run did not reach (another
    /// shard, or gone from the list).
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The last known `HEAD` commit and branch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    pub commits: u64,
    pub blobs_scanned: u64,
    /// Blobs left out because an earlier run scanned them.
    pub blobs_skipped: u64,
    pub bytes_scanned: u64,
    /// Reported findings; of those first seen in this run, live when last
    /// validated (and not revoked), and revoked.
    pub findings: usize,
    pub new: usize,
    pub live: usize,
    pub revoked: usize,
}

/// The status of a repository with findings that the run did not reach.
pub const NOT_IN_RUN: &str = "not-in-run";

/// Whether the provider said the secret works, and it was not revoked since.
pub fn is_live(f: &Finding) -> bool {
    !is_revoked(f)
        && f.annotations
            .validation
            .as_ref()
            .is_some_and(|v| v.status == ValidationStatus::Live)
}

/// Whether revocation reported the secret revoked.
pub fn is_revoked(f: &Finding) -> bool {
    f.annotations.revocation.as_ref().is_some_and(|r| {
        matches!(
            r.status,
            RevocationStatus::Revoked | RevocationStatus::RevokedConfirmed
        )
    })
}

fn is_new(f: &Finding) -> bool {
    f.annotations.sweep.is_some_and(|s| s.new)
}

/// One row per repository of `reached` (what the run stored for it) and per
/// other repository that `findings` name, ordered by URL, with the counts of
/// each repository's findings.
fn repositories(reached: Vec<RepoRun>, findings: &[Finding]) -> Vec<RepoSummary> {
    let mut rows: BTreeMap<String, RepoSummary> = reached
        .into_iter()
        .map(|r| {
            let row = RepoSummary {
                repo: r.repo.clone(),
                status: r.status,
                error: r.error,
                revision: r.revision,
                branch: r.branch,
                commits: r.commits,
                blobs_scanned: r.blobs_scanned,
                blobs_skipped: r.blobs_skipped,
                bytes_scanned: r.bytes_scanned,
                ..RepoSummary::default()
            };
            (r.repo, row)
        })
        .collect();
    for f in findings {
        let Some(repo) = &f.annotations.repo else {
            continue;
        };
        let row = rows.entry(repo.clone()).or_insert_with(|| RepoSummary {
            repo: repo.clone(),
            status: NOT_IN_RUN.to_string(),
            ..RepoSummary::default()
        });
        row.findings += 1;
        row.new += is_new(f) as usize;
        row.live += is_live(f) as usize;
        row.revoked += is_revoked(f) as usize;
    }
    rows.into_values().collect()
}

/// Adds what the store knows of `summary.run` to the summary of a sweep
/// that just ran: the run before it, one row per repository, and the
/// new/live/revoked counts of the reported `findings`.
///
/// # Errors
///
/// Fails when the datastore does.
pub fn add_stored(
    summary: &mut SweepSummary,
    store: &mut dyn Datastore,
    findings: &[Finding],
) -> anyhow::Result<()> {
    let run = summary.run;
    summary.previous_run = store
        .runs()?
        .iter()
        .map(|r| r.id)
        .filter(|&id| id < run)
        .max();
    summary.repositories = repositories(store.run_repos(run)?, findings);
    summary.new_findings = findings.iter().filter(|f| is_new(f)).count();
    summary.live = findings.iter().filter(|f| is_live(f)).count();
    summary.revoked = findings.iter().filter(|f| is_revoked(f)).count();
    Ok(())
}

/// The summary of an earlier run, as stored: its scanned counts summed over
/// its repositories, its failures, and (see [`add_stored`]) its rows and
/// counts of the reported `findings` (annotated with their runs).
///
/// # Errors
///
/// Fails when the datastore does.
pub fn stored_summary(
    store: &mut dyn Datastore,
    run: i64,
    findings: &[Finding],
) -> anyhow::Result<SweepSummary> {
    let reached = store.run_repos(run)?;
    let finished = |r: &&RepoRun| r.status == "finished";
    let mut s = SweepSummary {
        run,
        repos: reached.len(),
        swept: reached.iter().filter(finished).count(),
        // An unchanged repository is recorded as finished with no commit
        // walked (its refs had not moved).
        unchanged: reached
            .iter()
            .filter(finished)
            .filter(|r| r.commits == 0 && r.blobs_scanned == 0)
            .count(),
        commits: reached.iter().map(|r| r.commits).sum(),
        blobs_scanned: reached.iter().map(|r| r.blobs_scanned).sum(),
        blobs_skipped: reached.iter().map(|r| r.blobs_skipped).sum(),
        bytes_scanned: reached.iter().map(|r| r.bytes_scanned).sum(),
        findings: findings
            .iter()
            .filter(|f| f.annotations.sweep.is_some_and(|s| s.last_seen_run == run))
            .count() as u64,
        failures: store.failures(run)?,
        ..SweepSummary::default()
    };
    add_stored(&mut s, store, findings)?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::SweepState;

    fn finding(repo: &str, new: bool) -> Finding {
        let mut f = Finding::default();
        f.annotations.repo = Some(repo.to_string());
        f.annotations.sweep = Some(SweepState {
            first_seen_run: 1,
            last_seen_run: 2,
            new,
        });
        f
    }

    #[test]
    fn rows_cover_reached_repositories_and_those_with_findings() {
        let reached = vec![RepoRun {
            repo: "b".into(),
            status: "finished".into(),
            blobs_scanned: 3,
            ..RepoRun::default()
        }];
        let rows = repositories(
            reached,
            &[finding("b", true), finding("b", false), finding("a", false)],
        );
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0].repo.as_str(), rows[0].status.as_str()),
            ("a", NOT_IN_RUN)
        );
        assert_eq!(
            (rows[1].findings, rows[1].new, rows[1].blobs_scanned),
            (2, 1, 3)
        );
    }
}
