//! `keysweep report` of a sweep datastore: what each run scanned, findings
//! per repository, new since the run before, live and revoked; SARIF with
//! one run per repository; analysis stored and re-used; old stores upgraded.
//! SQLite always, PostgreSQL when KEYSWEEP_TEST_POSTGRES_URL names a server.

use std::path::Path;

use git2::Repository;
use serde_json::Value;

use crate::common::{findings, Env, Fake};
use crate::repo::Repo;
use crate::sweep::{each_store, postgres_db, repos, repos_at, run_json, sweep, write_list};

/// The repository row named `name` in a JSON report's summary.
fn repo_row<'a>(json: &'a Value, name: &str) -> &'a Value {
    json["summary"]["sweep"]["repositories"]
        .as_array()
        .unwrap_or_else(|| panic!("no repositories: {json:#}"))
        .iter()
        .find(|r| r["repo"] == name)
        .unwrap_or_else(|| panic!("no row for {name}: {json:#}"))
}

/// `(repo, path, new)` of each finding.
fn new_flags(json: &Value) -> Vec<(String, String, bool)> {
    let mut v: Vec<_> = findings(json)
        .iter()
        .map(|f| {
            (
                f["repo"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap().to_string(),
                f["sweep"]["new"].as_bool().unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

fn sarif_schema() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/sarif-schema-2.1.0.json"),
        )
        .unwrap(),
    )
    .unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

#[test]
fn report_of_two_runs_shows_what_was_scanned_per_repository_and_what_is_new() {
    each_store(|env, store| {
        repos(env, 2, 820);
        write_list(env, "repos.txt", &["r0", "r1"]);
        assert_eq!(sweep(env, store, &["--repos", "repos.txt"]).code, 1);
        // Run 2: a new repository, a new secret in r0, r1 unchanged.
        repos_at(env, "r2", 821);
        let tok = Fake::new(822).github_pat();
        Repo {
            repo: Repository::open(env.path().join("r0")).unwrap(),
        }
        .commit_files(
            &[
                ("deploy/ci.env", &format!("TOKEN={tok}\n")),
                ("README.md", "edited\n"),
            ],
            "add deploy",
        );
        write_list(env, "repos.txt", &["r0", "r1", "r2"]);
        let second = sweep(env, store, &["--repos", "repos.txt"]);
        assert_eq!(second.code, 1, "{}", second.stderr);
        assert_eq!(repo_row(&second.json, "r2")["new"], 1, "{:#}", second.json);

        let rep = run_json(env, &["report", "--datastore", store]);
        assert_eq!(rep.code, 1, "{}", rep.stderr);
        let s = &rep.json["summary"];
        // r0's two new blobs and r2's one; r1 was not fetched again.
        assert_eq!(s["files_scanned"], 3, "{s:#}");
        assert!(s["bytes_scanned"].as_u64().unwrap() > 0);
        assert_eq!(s["git"]["commits"], 3, "{s:#}");
        assert_eq!(s["sweep"]["run"], 2);
        assert_eq!(s["sweep"]["previous_run"], 1);
        assert_eq!(s["sweep"]["new_findings"], 2);
        assert_eq!(s["sweep"]["unchanged"], 1);
        let r0 = repo_row(&rep.json, "r0");
        assert_eq!(
            (&r0["status"], &r0["blobs_scanned"], &r0["commits"]),
            (&"finished".into(), &2.into(), &2.into()),
            "{r0:#}"
        );
        assert_eq!((&r0["findings"], &r0["new"]), (&2.into(), &1.into()));
        let r1 = repo_row(&rep.json, "r1");
        assert_eq!(
            (&r1["blobs_scanned"], &r1["findings"], &r1["new"]),
            (&0.into(), &1.into(), &0.into())
        );
        assert_eq!(repo_row(&rep.json, "r2")["blobs_scanned"], 1);
        assert_eq!(
            new_flags(&rep.json),
            [
                ("r0".into(), "config.env".into(), false),
                ("r0".into(), "deploy/ci.env".into(), true),
                ("r1".into(), "config.env".into(), false),
                ("r2".into(), "key.env".into(), true),
            ]
        );

        // Run 1 as it was: four blobs in two repositories. Its findings were
        // all seen again by run 2, so none was last seen in run 1.
        let first = run_json(env, &["report", "--datastore", store, "--run", "1"]);
        assert_eq!(first.json["summary"]["files_scanned"], 4);
        assert!(first.json["summary"]["sweep"].get("previous_run").is_none());
        let rows = first.json["summary"]["sweep"]["repositories"]
            .as_array()
            .unwrap();
        assert_eq!(rows.len(), 2, "{:#}", first.json);
        assert!(findings(&first.json).is_empty());
        let human = env
            .cmd()
            .args(["report", "--datastore", store, "--run", "1"])
            .output()
            .unwrap();
        let human = String::from_utf8(human.stdout).unwrap();
        assert!(
            human.contains("\n  2 other repositories without findings\n"),
            "{human}"
        );

        let human = env
            .cmd()
            .args(["report", "--datastore", store])
            .output()
            .unwrap();
        let human = String::from_utf8(human.stdout).unwrap();
        assert!(
            human.contains(
                "run 2 (after run 1): 3 repositories (3 swept, 1 unchanged, 0 failed); 2 new"
            ),
            "{human}"
        );
        assert!(human.contains("scanned 3 blobs"), "{human}");
        assert!(
            human.contains("2 findings (1 new, 0 live, 0 revoked)"),
            "{human}"
        );
        assert!(human.contains("  sweep        new in run 2\n"), "{human}");
        assert!(
            human.contains("  sweep        first seen in run 1, last in run 2\n"),
            "{human}"
        );
        assert!(!human.contains(&tok), "human output must redact");

        let html = env
            .cmd()
            .args(["report", "--datastore", store, "-f", "html"])
            .output()
            .unwrap();
        let html = String::from_utf8(html.stdout).unwrap();
        assert!(html.contains("<td>r2</td>"), "{html}");
    });
}

#[test]
fn sarif_of_a_sweep_has_one_run_per_repository_with_provenance_and_no_credentials() {
    each_store(|env, store| {
        repos(env, 2, 830);
        let token = Fake::new(831).github_pat();
        // Nothing listens on port 1: a recorded failure, its URL with a token.
        let failing = format!("https://x-access-token:{token}@127.0.0.1:1/o/r.git");
        write_list(env, "repos.txt", &["r0", "r1", &failing]);
        let out = env
            .cmd()
            .args(["sweep", "--cache", "cache", "--datastore", store])
            .args(["--repos", "repos.txt", "-f", "sarif"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let swept = String::from_utf8(out.stdout).unwrap();
        let reported = env
            .cmd()
            .args(["report", "--datastore", store, "-f", "sarif"])
            .output()
            .unwrap();
        let reported = String::from_utf8(reported.stdout).unwrap();
        let head = Repository::open(env.path().join("r0"))
            .unwrap()
            .head()
            .unwrap()
            .peel_to_commit()
            .unwrap()
            .id()
            .to_string();
        for text in [&swept, &reported] {
            assert!(!text.contains(&token), "a token in SARIF: {text}");
            let sarif: Value = serde_json::from_str(text).unwrap();
            let errors: Vec<String> = sarif_schema()
                .iter_errors(&sarif)
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "{errors:?}");
            let runs = sarif["runs"].as_array().unwrap();
            assert_eq!(runs.len(), 3, "{sarif:#}");
            let by_uri = |suffix: &str| {
                runs.iter()
                    .find(|r| {
                        r["versionControlProvenance"][0]["repositoryUri"]
                            .as_str()
                            .unwrap()
                            .ends_with(suffix)
                    })
                    .unwrap_or_else(|| panic!("no run for {suffix}: {sarif:#}"))
            };
            let r0 = by_uri("/r0");
            let vcs = &r0["versionControlProvenance"][0];
            assert!(vcs["repositoryUri"]
                .as_str()
                .unwrap()
                .starts_with("file:///"));
            assert_eq!(vcs["revisionId"], head.as_str());
            assert_eq!(vcs["branch"], "main");
            assert_eq!(r0["results"].as_array().unwrap().len(), 1);
            assert_eq!(r0["results"][0]["ruleIndex"], 0);
            assert_eq!(r0["tool"]["driver"]["rules"].as_array().unwrap().len(), 1);
            assert_eq!(r0["invocations"][0]["executionSuccessful"], true);
            let bad = by_uri("/o/r.git");
            assert_eq!(
                bad["versionControlProvenance"][0]["repositoryUri"],
                "https://127.0.0.1:1/o/r.git"
            );
            assert_eq!(bad["invocations"][0]["executionSuccessful"], false);
            assert!(bad["results"].as_array().unwrap().is_empty());
            assert_ne!(
                r0["automationDetails"]["id"],
                bad["automationDetails"]["id"]
            );
        }
    });
}

#[test]
fn sweep_analysis_is_stored_reused_and_reported() {
    analysis_in("s.db");
    if let Some(url) = postgres_db() {
        analysis_in(&url);
    }
}

/// Analysis results kept in the datastore at `store`.
fn analysis_in(store: &str) {
    let env = Env::new();
    let mut fake = Fake::new(840);
    let (live, dead) = (fake.github_pat(), fake.github_pat());
    for (name, tok) in [("a", &live), ("b", &dead)] {
        Repo::init(&env.path().join(name))
            .commit_files(&[("config.env", &format!("GITHUB_TOKEN={tok}\n"))], "init");
    }
    write_list(&env, "repos.txt", &["a", "b"]);
    let provider = crate::analyze::github(&live);
    let endpoint = format!("github={}", provider.url);
    let call = |extra: &[&str]| {
        let mut a = vec!["--repos", "repos.txt", "--validate", "--allow-internal"];
        a.extend_from_slice(&["--endpoint", &endpoint]);
        a.extend_from_slice(extra);
        let out = sweep(&env, store, &a);
        assert_eq!(out.code, 1, "{}", out.stderr);
        out
    };
    let analysis = |json: &Value| -> Vec<Value> {
        findings(json)
            .iter()
            .filter_map(|f| f.get("analysis").cloned())
            .collect()
    };
    // Validation only: both secrets asked once, nothing analyzed.
    call(&[]);
    assert_eq!(provider.requests().len(), 2);
    // Validation is fresh; the analysis never ran: only it asks.
    let out = call(&["--analyze"]);
    assert_eq!(provider.requests().len(), 3, "{}", out.stderr);
    let got = analysis(&out.json);
    assert_eq!(got.len(), 1, "{:#}", out.json);
    assert_eq!(got[0]["identity"], "octocat");
    assert_eq!(got[0]["severity"], "critical");
    // Both fresh: read back, nobody asked.
    let out = call(&["--analyze"]);
    assert_eq!(provider.requests().len(), 3);
    assert_eq!(analysis(&out.json), got);
    // `keysweep report` shows the stored analysis, in JSON and for people.
    let rep = run_json(&env, &["report", "--datastore", store]);
    assert_eq!(analysis(&rep.json), got);
    assert_eq!(rep.json["summary"]["sweep"]["live"], 1);
    assert_eq!(repo_row(&rep.json, "a")["live"], 1);
    let human = env
        .cmd()
        .args(["report", "--datastore", store])
        .output()
        .unwrap();
    let human = String::from_utf8(human.stdout).unwrap();
    assert!(
        human.contains("  analysis     identity octocat; scopes repo, read:org"),
        "{human}"
    );
    // Older than --revalidate-after: validated and analyzed again.
    call(&["--analyze", "--revalidate-after", "0s"]);
    assert_eq!(provider.requests().len(), 6);
    if !store.contains("://") {
        let db = rusqlite::Connection::open(env.path().join(store)).unwrap();
        let (severity, at): (String, i64) = db
            .query_row(
                "SELECT analysis_severity, analyzed_at FROM findings WHERE analysis IS NOT NULL",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(severity, "critical");
        assert!(at > 0);
    }
}

/// The schema keysweep wrote before version 3 (migrations 1 and 2).
const SCHEMA_V2: &str = "
    CREATE TABLE schema_version (version INTEGER NOT NULL);
    INSERT INTO schema_version VALUES (2);
    CREATE TABLE runs (id INTEGER PRIMARY KEY, started TEXT NOT NULL, finished TEXT,
        shard TEXT NOT NULL, rules_digest TEXT NOT NULL);
    CREATE TABLE repos (id INTEGER PRIMARY KEY, url TEXT NOT NULL UNIQUE, refs_digest TEXT,
        rules_digest TEXT, last_run INTEGER, last_error TEXT);
    CREATE TABLE run_repos (run INTEGER NOT NULL REFERENCES runs(id),
        repo INTEGER NOT NULL REFERENCES repos(id), status TEXT NOT NULL, error TEXT,
        blobs_scanned INTEGER NOT NULL DEFAULT 0, bytes_scanned INTEGER NOT NULL DEFAULT 0,
        findings INTEGER NOT NULL DEFAULT 0, finished TEXT NOT NULL, PRIMARY KEY (run, repo));
    CREATE TABLE blobs (repo INTEGER NOT NULL REFERENCES repos(id), blob BLOB NOT NULL,
        PRIMARY KEY (repo, blob)) WITHOUT ROWID;
    CREATE TABLE findings (repo INTEGER NOT NULL REFERENCES repos(id),
        fingerprint TEXT NOT NULL, rule TEXT NOT NULL, path TEXT NOT NULL, commit_id TEXT,
        blob BLOB, first_seen_run INTEGER NOT NULL REFERENCES runs(id),
        last_seen_run INTEGER NOT NULL REFERENCES runs(id), validation_status TEXT,
        revocation_status TEXT, finding TEXT NOT NULL, validated_at INTEGER,
        PRIMARY KEY (repo, fingerprint));
    CREATE INDEX findings_first_seen ON findings (first_seen_run);
    CREATE INDEX findings_last_seen ON findings (last_seen_run);";

/// Repository `r0` with one secret listed in `repos.txt`, and its finding
/// as keysweep stores it (fingerprint, JSON), taken from a current store.
fn stored_finding(env: &Env) -> (String, String) {
    repos(env, 1, 850);
    write_list(env, "repos.txt", &["r0"]);
    assert_eq!(sweep(env, "new.db", &["--repos", "repos.txt"]).code, 1);
    let new = rusqlite::Connection::open(env.path().join("new.db")).unwrap();
    new.query_row("SELECT fingerprint, finding FROM findings", [], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })
    .unwrap()
}

#[test]
fn an_sqlite_store_of_schema_2_is_upgraded_and_keeps_its_findings() {
    let env = Env::new();
    let (fingerprint, finding) = stored_finding(&env);

    let old = rusqlite::Connection::open(env.path().join("old.db")).unwrap();
    old.execute_batch(SCHEMA_V2).unwrap();
    old.execute_batch(
        "INSERT INTO runs VALUES (1, '2026-01-01T00:00:00Z', '2026-01-01T00:01:00Z', 'all', 'x');
         INSERT INTO repos (id, url, last_run) VALUES (1, 'r0', 1);
         INSERT INTO run_repos VALUES (1, 1, 'finished', NULL, 2, 120, 1, '2026-01-01T00:01:00Z');",
    )
    .unwrap();
    old.execute(
        "INSERT INTO findings (repo, fingerprint, rule, path, first_seen_run, last_seen_run,
             validation_status, finding, validated_at)
         VALUES (1, ?1, 'github-pat-classic', 'config.env', 1, 1, 'live', ?2, 1)",
        [&fingerprint, &finding],
    )
    .unwrap();
    drop(old);

    let rep = run_json(&env, &["report", "--datastore", "old.db"]);
    assert_eq!(rep.code, 1, "{}", rep.stderr);
    assert_eq!(findings(&rep.json).len(), 1);
    assert_eq!(rep.json["summary"]["files_scanned"], 2);
    assert_eq!(repo_row(&rep.json, "r0")["commits"], 0);
    let db = rusqlite::Connection::open(env.path().join("old.db")).unwrap();
    let version: i64 = db
        .query_row("SELECT version FROM schema_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, keysweep::datastore::SCHEMA_VERSION);
    let analyzed: Option<i64> = db
        .query_row("SELECT analyzed_at FROM findings", [], |r| r.get(0))
        .unwrap();
    assert_eq!(analyzed, None);
    drop(db);
    // The upgraded store takes a sweep: the finding is known, not new.
    let next = sweep(&env, "old.db", &["--repos", "repos.txt"]);
    assert_eq!(next.code, 1, "{}", next.stderr);
    assert_eq!(next.json["summary"]["sweep"]["run"], 2);
    assert_eq!(
        next.json["summary"]["sweep"]["new_findings"], 0,
        "{:#}",
        next.json
    );
    assert_eq!(repo_row(&next.json, "r0")["commits"], 1);
}

/// The PostgreSQL schema keysweep wrote before version 3.
#[cfg(feature = "postgres")]
const PG_SCHEMA_V2: &str = "
    CREATE TABLE schema_version (version BIGINT NOT NULL);
    INSERT INTO schema_version VALUES (2);
    CREATE TABLE runs (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        started TEXT NOT NULL, finished TEXT, shard TEXT NOT NULL, rules_digest TEXT NOT NULL);
    CREATE TABLE repos (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        url TEXT NOT NULL UNIQUE, refs_digest TEXT, rules_digest TEXT, last_run BIGINT,
        last_error TEXT);
    CREATE TABLE run_repos (run BIGINT NOT NULL REFERENCES runs(id),
        repo BIGINT NOT NULL REFERENCES repos(id), status TEXT NOT NULL, error TEXT,
        blobs_scanned BIGINT NOT NULL DEFAULT 0, bytes_scanned BIGINT NOT NULL DEFAULT 0,
        findings BIGINT NOT NULL DEFAULT 0, finished TEXT NOT NULL, PRIMARY KEY (run, repo));
    CREATE TABLE blobs (repo BIGINT NOT NULL REFERENCES repos(id), blob BYTEA NOT NULL,
        PRIMARY KEY (repo, blob));
    CREATE TABLE findings (repo BIGINT NOT NULL REFERENCES repos(id),
        fingerprint TEXT NOT NULL, rule TEXT NOT NULL, path TEXT NOT NULL, commit_id TEXT,
        blob BYTEA, first_seen_run BIGINT NOT NULL REFERENCES runs(id),
        last_seen_run BIGINT NOT NULL REFERENCES runs(id), validation_status TEXT,
        revocation_status TEXT, finding TEXT NOT NULL, validated_at BIGINT,
        PRIMARY KEY (repo, fingerprint));";

#[cfg(feature = "postgres")]
#[test]
fn a_postgres_store_of_schema_2_is_upgraded_and_keeps_its_findings() {
    let Some(url) = postgres_db() else {
        return;
    };
    let env = Env::new();
    let (fingerprint, finding) = stored_finding(&env);
    let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    db.batch_execute(PG_SCHEMA_V2).unwrap();
    // Ids from the identity columns, as keysweep wrote them.
    db.batch_execute(
        "INSERT INTO runs (started, finished, shard, rules_digest)
             VALUES ('2026-01-01T00:00:00Z', '2026-01-01T00:01:00Z', 'all', 'x');
         INSERT INTO repos (url, last_run) VALUES ('r0', 1);
         INSERT INTO run_repos VALUES (1, 1, 'finished', NULL, 2, 120, 1, '2026-01-01T00:01:00Z');",
    )
    .unwrap();
    db.execute(
        "INSERT INTO findings (repo, fingerprint, rule, path, first_seen_run, last_seen_run,
             finding) VALUES (1, $1, 'github-pat-classic', 'config.env', 1, 1, $2)",
        &[&fingerprint, &finding],
    )
    .unwrap();
    let rep = run_json(&env, &["report", "--datastore", &url]);
    assert_eq!(rep.code, 1, "{}", rep.stderr);
    assert_eq!(findings(&rep.json).len(), 1);
    assert_eq!(rep.json["summary"]["files_scanned"], 2);
    let version: i64 = db
        .query_one("SELECT version FROM schema_version", &[])
        .unwrap()
        .get(0);
    assert_eq!(version, keysweep::datastore::SCHEMA_VERSION);
    let next = sweep(&env, &url, &["--repos", "repos.txt"]);
    assert_eq!(next.code, 1, "{}", next.stderr);
    assert_eq!(repo_row(&next.json, "r0")["commits"], 1);
    assert_eq!(next.json["summary"]["sweep"]["new_findings"], 0);
}
