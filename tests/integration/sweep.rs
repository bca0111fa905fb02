//! `keysweep sweep` and `keysweep report`: many repositories built in each
//! test, swept into SQLite (always) and PostgreSQL (when
//! KEYSWEEP_TEST_POSTGRES_URL names a server, as `.ci/run` arranges).

use std::collections::BTreeSet;
use std::path::Path;

use git2::Repository;
use serde_json::Value;

use crate::common::{findings, Env, Fake};
use crate::repo::Repo;

/// Creates `n` repositories `r0..r{n-1}` under `env`, each with one secret of
/// its own and a harmless file; returns the secrets.
pub(crate) fn repos(env: &Env, n: usize, seed: u64) -> Vec<String> {
    let mut fake = Fake::new(seed);
    (0..n)
        .map(|i| {
            let tok = fake.github_pat();
            let r = Repo::init(&env.path().join(format!("r{i}")));
            r.commit_files(
                &[
                    ("config.env", &format!("GITHUB_TOKEN={tok}\n")),
                    ("README.md", &format!("repository {i}\n")),
                ],
                "initial",
            );
            tok
        })
        .collect()
}

pub(crate) fn write_list(env: &Env, name: &str, repos: &[&str]) {
    env.write(name, repos.join("\n") + "\n");
}

pub(crate) struct Out {
    pub(crate) code: i32,
    pub(crate) json: Value,
    pub(crate) stderr: String,
}

/// Runs `keysweep ARGS -f json` (with the summary on standard error) in the
/// temp dir.
pub(crate) fn run_json(env: &Env, args: &[&str]) -> Out {
    let out = env.cmd().args(args).args(["-f", "json"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    Out {
        code: out.status.code().unwrap(),
        json,
        stderr,
    }
}

pub(crate) fn sweep(env: &Env, store: &str, extra: &[&str]) -> Out {
    let mut args = vec!["sweep", "--cache", "cache", "--datastore", store];
    args.extend_from_slice(extra);
    run_json(env, &args)
}

fn secrets_and_repos(json: &Value) -> BTreeSet<(String, String)> {
    findings(json)
        .iter()
        .map(|f| {
            (
                f["repo"].as_str().unwrap().to_string(),
                f["secret"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn blobs_scanned(json: &Value) -> u64 {
    json["summary"]["files_scanned"].as_u64().unwrap()
}

/// A fresh database on the test server, or `None` (with a message) when there
/// is none or keysweep is built without the `postgres` feature.
#[cfg(not(feature = "postgres"))]
pub(crate) fn postgres_db() -> Option<String> {
    eprintln!("skipped: built without the postgres feature");
    None
}

/// A fresh database on the test server, or `None` (with a message) when there
/// is none. In CI (`CI=true`) a missing server fails the test: `.ci/run`
/// starts one, so its absence means the tests did not run.
#[cfg(feature = "postgres")]
pub(crate) fn postgres_db() -> Option<String> {
    let Ok(url) = std::env::var("KEYSWEEP_TEST_POSTGRES_URL") else {
        assert!(
            !crate::common::in_ci(),
            "no PostgreSQL server in CI (CI=true): .ci/run should have started one and set \
             KEYSWEEP_TEST_POSTGRES_URL"
        );
        eprintln!("skipped: no PostgreSQL server (set KEYSWEEP_TEST_POSTGRES_URL)");
        return None;
    };
    let mut client = postgres::Client::connect(&url, postgres::NoTls)
        .unwrap_or_else(|e| panic!("KEYSWEEP_TEST_POSTGRES_URL={url}: cannot connect: {e}"));
    let name = format!(
        "keysweep_t{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let base = url.rsplit_once('/').map_or(url.as_str(), |(b, _)| b);
    Some(format!("{base}/{name}"))
}

/// Runs `check` with an SQLite store and, when a server is available, a
/// PostgreSQL one.
pub(crate) fn each_store(check: impl Fn(&Env, &str)) {
    let env = Env::new();
    check(&env, "state/sweep.db");
    if let Some(url) = postgres_db() {
        let env = Env::new();
        check(&env, &url);
    }
}

#[test]
fn second_sweep_scans_no_blob_and_new_only_reports_only_new_findings() {
    each_store(|env, store| {
        let secrets = repos(env, 3, 801);
        write_list(env, "repos.txt", &["r0", "r1", "r2"]);

        let first = sweep(env, store, &["--repos", "repos.txt"]);
        assert_eq!(first.code, 1, "{}", first.stderr);
        let want: BTreeSet<_> = (0..3)
            .map(|i| {
                let s = &secrets[i];
                (
                    format!("r{i}"),
                    format!("{}…{}", &s[..7], &s[s.len() - 3..]),
                )
            })
            .collect();
        assert_eq!(secrets_and_repos(&first.json), want);
        assert_eq!(blobs_scanned(&first.json), 6);
        let f = &findings(&first.json)[0];
        assert_eq!(f["path"], "config.env");
        assert_eq!(f["message"], "initial");
        assert_eq!(f["status"], "present");

        // Nothing changed: nothing is read, the known findings are reported.
        let second = sweep(env, store, &["--repos", "repos.txt"]);
        assert_eq!(second.code, 1, "{}", second.stderr);
        assert_eq!(blobs_scanned(&second.json), 0);
        assert_eq!(secrets_and_repos(&second.json), want);
        assert!(second.stderr.contains("(3 unchanged)"), "{}", second.stderr);
        let quiet = sweep(env, store, &["--repos", "repos.txt", "--new-only"]);
        assert_eq!(quiet.code, 0, "{}", quiet.stderr);
        assert!(findings(&quiet.json).is_empty());

        // A new branch at an old commit moves the refs but adds no blob: the
        // history is walked and every blob left out as scanned before.
        let r1 = Repository::open(env.path().join("r1")).unwrap();
        let head = r1.head().unwrap().peel_to_commit().unwrap();
        r1.branch("copy", &head, false).unwrap();
        let moved = sweep(env, store, &["--repos", "repos.txt"]);
        assert_eq!(blobs_scanned(&moved.json), 0, "{}", moved.stderr);
        assert_eq!(moved.json["summary"]["git"]["blobs"], 2);

        // A new commit with a new secret: only its blobs are read, and
        // --new-only reports only that secret.
        let tok = Fake::new(802).github_pat();
        let r0 = Repo {
            repo: Repository::open(env.path().join("r0")).unwrap(),
        };
        r0.commit_files(
            &[
                ("deploy/ci.env", &format!("TOKEN={tok}\n")),
                ("README.md", "repository 0, edited\n"),
            ],
            "add deploy",
        );
        let third = sweep(env, store, &["--repos", "repos.txt", "--new-only"]);
        assert_eq!(third.code, 1, "{}", third.stderr);
        assert_eq!(blobs_scanned(&third.json), 2);
        let got = findings(&third.json);
        assert_eq!(got.len(), 1, "{:#}", third.json);
        assert_eq!(got[0]["repo"], "r0");
        assert_eq!(got[0]["path"], "deploy/ci.env");
        assert_eq!(got[0]["message"], "add deploy");
        assert!(
            third.stderr.contains("4 findings (1 new)"),
            "{}",
            third.stderr
        );
    });
}

#[test]
fn failing_repositories_are_recorded_and_the_sweep_goes_on() {
    each_store(|env, store| {
        let secrets = repos(env, 2, 803);
        std::fs::create_dir(env.path().join("plain-dir")).unwrap();
        // A repository missing one of its objects.
        let broken = Repo::init(&env.path().join("broken"));
        let blob = broken.commit_files(&[("a.txt", "some text\n")], "one");
        let tree = broken.repo.find_commit(blob).unwrap().tree_id().to_string();
        std::fs::remove_file(
            env.path()
                .join("broken/.git/objects")
                .join(&tree[..2])
                .join(&tree[2..]),
        )
        .unwrap();
        write_list(
            env,
            "repos.txt",
            &[
                "r0",
                "missing",
                "plain-dir",
                "broken",
                "file:///nonexistent/x.git",
                "r1",
            ],
        );

        let out = sweep(env, store, &["--repos", "repos.txt", "--jobs", "2"]);
        assert_eq!(out.code, 2, "{}", out.stderr);
        // The good repositories are swept and reported all the same.
        let got = secrets_and_repos(&out.json);
        assert_eq!(got.len(), 2);
        assert!(got.contains(&(
            "r1".to_string(),
            format!(
                "{}…{}",
                &secrets[1][..7],
                &secrets[1][secrets[1].len() - 3..]
            )
        )));
        assert_eq!(out.json["summary"]["errors"], 4);
        for bad in [
            "missing",
            "plain-dir",
            "broken",
            "file:///nonexistent/x.git",
        ] {
            assert!(
                out.stderr.contains(&format!("  failed: {bad}: ")),
                "{bad} not listed:\n{}",
                out.stderr
            );
        }
        assert!(out.stderr.contains("4 failed"), "{}", out.stderr);
        let stats = &out.json["summary"]["sweep"];
        assert_eq!(stats["repos"], 6);
        assert_eq!(stats["swept"], 2);
        let failed: BTreeSet<&str> = stats["failures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                assert!(!f["error"].as_str().unwrap().is_empty());
                f["repo"].as_str().unwrap()
            })
            .collect();
        assert_eq!(
            failed,
            [
                "missing",
                "plain-dir",
                "broken",
                "file:///nonexistent/x.git"
            ]
            .into()
        );

        // Failures are retried by the next run; fixed ones then succeed.
        std::fs::remove_dir_all(env.path().join("plain-dir")).unwrap();
        repos_at(env, "plain-dir", 804);
        let again = sweep(env, store, &["--repos", "repos.txt"]);
        assert_eq!(again.code, 2);
        assert!(
            !again.stderr.contains("failed: plain-dir"),
            "{}",
            again.stderr
        );
        assert!(again.stderr.contains("3 failed"), "{}", again.stderr);
        assert_eq!(findings(&again.json).len(), 3);
    });
}

/// One repository with one secret at `rel`.
pub(crate) fn repos_at(env: &Env, rel: &str, seed: u64) -> String {
    let tok = Fake::new(seed).github_pat();
    Repo::init(&env.path().join(rel)).commit_files(&[("key.env", &format!("K={tok}\n"))], "key");
    tok
}

#[test]
fn an_interrupted_run_resumes_without_sweeping_finished_repositories() {
    let env = Env::new();
    repos(&env, 3, 805);
    write_list(&env, "repos.txt", &["r0", "r1", "r2"]);
    let first = sweep(&env, "sweep.db", &["--repos", "repos.txt"]);
    assert_eq!(first.code, 1);

    // Simulate a kill after r0 and r1 were committed but before r2 and the
    // end of the run: the run is unfinished and r2 has no record in it.
    let db = rusqlite::Connection::open(env.path().join("sweep.db")).unwrap();
    db.execute_batch(
        "UPDATE runs SET finished = NULL;
         DELETE FROM run_repos WHERE repo = (SELECT id FROM repos WHERE url = 'r2');",
    )
    .unwrap();
    drop(db);
    // Were r0 or r1 swept again they would now fail.
    std::fs::remove_dir_all(env.path().join("r0")).unwrap();
    std::fs::remove_dir_all(env.path().join("cache")).unwrap();
    std::fs::rename(env.path().join("r1"), env.path().join("r1-moved")).unwrap();

    let resumed = sweep(&env, "sweep.db", &["--repos", "repos.txt"]);
    assert_eq!(resumed.code, 1, "{}", resumed.stderr);
    assert!(
        resumed
            .stderr
            .contains("run 1 (resumed): swept 1 of 3 repositories, 2 done before the interruption"),
        "{}",
        resumed.stderr
    );
    // The run's report covers all three.
    let got: BTreeSet<String> = findings(&resumed.json)
        .iter()
        .map(|f| f["repo"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, ["r0", "r1", "r2"].map(String::from).into());

    // The next sweep is a new run, and sees the moved repositories fail.
    let next = sweep(&env, "sweep.db", &["--repos", "repos.txt"]);
    assert!(next.stderr.contains("run 2:"), "{}", next.stderr);
    assert_eq!(next.code, 2);
}

#[test]
fn shards_are_disjoint_and_cover_the_list() {
    each_store(|env, store| {
        let n = 12;
        repos(env, n, 806);
        let names: Vec<String> = (0..n).map(|i| format!("r{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        write_list(env, "repos.txt", &refs);

        // Three workers at once, into one store.
        let children: Vec<_> = (0..3)
            .map(|k| {
                let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_keysweep"));
                c.current_dir(env.path())
                    .args(["sweep", "--repos", "repos.txt", "--cache", "cache"])
                    .args(["--datastore", store, "--shard", &format!("{k}/3")])
                    .args(["-f", "json", "-q", "--jobs", "2"]);
                c.stdout(std::process::Stdio::piped()).spawn().unwrap()
            })
            .collect();
        let mut union = BTreeSet::new();
        let mut total = 0;
        for child in children {
            let out = child.wait_with_output().unwrap();
            let json: Value = serde_json::from_slice(&out.stdout).unwrap();
            let mine: BTreeSet<String> = findings(&json)
                .iter()
                .map(|f| f["repo"].as_str().unwrap().to_string())
                .collect();
            total += mine.len();
            union.extend(mine);
        }
        assert_eq!(total, n, "shards overlap");
        assert_eq!(union, names.iter().cloned().collect::<BTreeSet<_>>());

        // The shared store holds every shard's findings.
        let all = run_json(env, &["report", "--datastore", store]);
        assert_eq!(findings(&all.json).len(), n);

        // Bad shard specifications are usage errors.
        for bad in ["3/3", "1", "a/b", "0/0"] {
            env.cmd()
                .args(["sweep", "--repos", "repos.txt", "--shard", bad])
                .assert()
                .code(2);
        }
    });
}

#[test]
fn dir_finds_work_trees_and_bare_repositories() {
    let env = Env::new();
    repos_at(&env, "org/a", 807);
    repos_at(&env, "org/team/b", 808);
    Repository::init_bare(env.path().join("org/c.git")).unwrap();
    // A repository inside a repository's work tree is the outer one's business.
    repos_at(&env, "org/a/vendor/inner", 809);
    let out = sweep(&env, "s.db", &["--dir", "org"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let got: BTreeSet<String> = findings(&out.json)
        .iter()
        .map(|f| f["repo"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, ["org/a", "org/team/b"].map(String::from).into());
    assert!(out.stderr.contains("swept 3 of 3"), "{}", out.stderr);
}

#[test]
fn report_renders_stored_findings_in_every_format() {
    each_store(|env, store| {
        let secrets = repos(env, 2, 810);
        write_list(env, "repos.txt", &["r0", "r1"]);
        assert_eq!(sweep(env, store, &["--repos", "repos.txt"]).code, 1);
        let tok = repos_at(env, "r2", 811);
        write_list(env, "repos.txt", &["r0", "r1", "r2"]);
        assert_eq!(sweep(env, store, &["--repos", "repos.txt"]).code, 1);

        let json = run_json(env, &["report", "--datastore", store, "--show-secrets"]);
        assert_eq!(json.code, 1);
        let got: BTreeSet<_> = secrets_and_repos(&json.json);
        let want: BTreeSet<_> = [
            ("r0".to_string(), secrets[0].clone()),
            ("r1".to_string(), secrets[1].clone()),
            ("r2".to_string(), tok.clone()),
        ]
        .into();
        assert_eq!(got, want);

        // Findings first seen after run 1: only r2's.
        let since = run_json(env, &["report", "--datastore", store, "--since", "1"]);
        let got: Vec<&str> = findings(&since.json)
            .iter()
            .map(|f| f["repo"].as_str().unwrap())
            .collect();
        assert_eq!(got, ["r2"]);

        let out = |format: &str| {
            let o = env
                .cmd()
                .args(["report", "--datastore", store, "-f", format])
                .output()
                .unwrap();
            assert_eq!(o.status.code(), Some(1), "{format}");
            String::from_utf8(o.stdout).unwrap()
        };
        let human = out("human");
        assert!(human.contains("  repo         r2\n"), "{human}");
        assert!(human.contains(&format!("{}…{}", &tok[..7], &tok[tok.len() - 3..])));
        assert!(!human.contains(&tok), "human output must redact");

        let lines: Vec<Value> = out("jsonl")
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert!(lines
            .iter()
            .all(|l| l["repo"].is_string() && l["commit"].is_string()));

        let sarif: Value = serde_json::from_str(&out("sarif")).unwrap();
        let schema: Value = serde_json::from_str(
            &std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/sarif-schema-2.1.0.json"),
            )
            .unwrap(),
        )
        .unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        assert!(validator.is_valid(&sarif));
        // One run per repository, in order.
        let runs = sarif["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 3);
        let results = runs[2]["results"].as_array().unwrap();
        assert_eq!(results.len(), 1);
        assert_eq!(results[0]["properties"]["repo"], "r2");
    });
}

#[test]
fn report_without_a_datastore_is_an_error() {
    let env = Env::new();
    env.cmd()
        .args(["report", "--datastore", "nope.db"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("nope.db: no such datastore"));
}

#[test]
fn authentication_required_is_a_recorded_failure() {
    use std::io::{Read, Write};
    // A loopback git server that asks every request for credentials.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { break };
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let _ = conn.write_all(
                b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"\r\n\
                  Content-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    let env = Env::new();
    repos(&env, 1, 812);
    let private = format!("http://127.0.0.1:{port}/org/private.git");
    write_list(&env, "repos.txt", &[&private, "r0"]);
    let out = env
        .cmd()
        .env("HOME", env.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .args([
            "sweep",
            "--repos",
            "repos.txt",
            "--cache",
            "c",
            "--datastore",
            "s.db",
        ])
        .args(["-f", "json"])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "  failed: {private}: fetch failed: authentication required"
        )),
        "{stderr}"
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(findings(&json).len(), 1);
}

#[test]
fn findings_of_rewritten_history_are_kept_but_no_longer_seen() {
    each_store(|env, store| {
        let r = Repo::init(&env.path().join("app"));
        r.commit_files(&[("README.md", "app\n")], "initial");
        let head = r.repo.head().unwrap().peel_to_commit().unwrap();
        r.repo.branch("leak", &head, false).unwrap();
        r.repo.set_head("refs/heads/leak").unwrap();
        let tok = Fake::new(813).github_pat();
        r.commit_files(&[("leak.env", &format!("T={tok}\n"))], "oops");
        r.repo.set_head("refs/heads/main").unwrap();
        write_list(env, "repos.txt", &["app"]);

        let first = sweep(env, store, &["--repos", "repos.txt"]);
        assert_eq!(findings(&first.json).len(), 1, "{}", first.stderr);

        // The branch is deleted upstream: the mirror prunes it and the secret
        // is no longer reachable.
        r.repo
            .find_branch("leak", git2::BranchType::Local)
            .unwrap()
            .delete()
            .unwrap();
        let second = sweep(env, store, &["--repos", "repos.txt"]);
        assert_eq!(second.code, 0, "{}", second.stderr);
        assert!(findings(&second.json).is_empty());
        // The store still knows it, last seen in run 1.
        let all = run_json(env, &["report", "--datastore", store]);
        assert_eq!(findings(&all.json).len(), 1);
        let run2 = run_json(env, &["report", "--datastore", store, "--run", "2"]);
        assert!(findings(&run2.json).is_empty());
    });
}

#[test]
fn a_newer_datastore_schema_and_bad_flags_are_refused() {
    let env = Env::new();
    repos(&env, 1, 814);
    write_list(&env, "repos.txt", &["r0"]);
    assert_eq!(sweep(&env, "s.db", &["--repos", "repos.txt"]).code, 1);
    let db = rusqlite::Connection::open(env.path().join("s.db")).unwrap();
    let version: i64 = db
        .query_row("SELECT version FROM schema_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, keysweep::datastore::SCHEMA_VERSION);
    db.execute("UPDATE schema_version SET version = 99", [])
        .unwrap();
    drop(db);
    for cmd in [&["sweep", "--repos", "repos.txt"][..], &["report"][..]] {
        env.cmd()
            .args(cmd)
            .args(["--datastore", "s.db"])
            .assert()
            .code(2)
            .stderr(predicates::str::contains(
                "s.db: datastore schema version 99 is newer than this keysweep supports",
            ));
    }
    env.cmd()
        .args(["sweep", "--repos", "repos.txt", "--jobs", "0"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "--jobs and --threads must be at least 1",
        ));
    // Neither --repos nor --dir: a usage error.
    env.cmd().args(["sweep"]).assert().code(2);
    env.cmd()
        .args(["sweep", "--repos", "no-such-list.txt"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "no-such-list.txt: cannot read repository list",
        ));
}

#[test]
fn inline_allows_hold_in_sweeps() {
    let env = Env::new();
    let mut fake = Fake::new(815);
    let (allowed, real) = (fake.github_pat(), fake.github_pat());
    Repo::init(&env.path().join("app")).commit_files(
        &[
            (
                "test/fixture.env",
                &format!("T={allowed} # keysweep:allow\n"),
            ),
            ("deploy.env", &format!("T={real}\n")),
        ],
        "two tokens",
    );
    write_list(&env, "repos.txt", &["app"]);
    let out = run_json(
        &env,
        &[
            "sweep",
            "--repos",
            "repos.txt",
            "--datastore",
            "s.db",
            "--show-secrets",
        ],
    );
    let got: Vec<&str> = findings(&out.json)
        .iter()
        .map(|f| f["secret"].as_str().unwrap())
        .collect();
    assert_eq!(got, [real.as_str()], "{}", out.stderr);
    assert_eq!(out.json["summary"]["sweep"]["suppressed"], 1);
}

/// Truncates every pack of every mirror in `env`'s `cache` to half its size.
fn truncate_mirror_packs(env: &Env) -> usize {
    let mut n = 0;
    for m in std::fs::read_dir(env.path().join("cache"))
        .unwrap()
        .flatten()
    {
        let Ok(packs) = std::fs::read_dir(m.path().join("objects/pack")) else {
            continue;
        };
        for p in packs.flatten() {
            let p = p.path();
            if p.extension().is_some_and(|x| x == "pack") {
                let len = std::fs::metadata(&p).unwrap().len();
                let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
                f.set_len(len / 2).unwrap();
                n += 1;
            }
        }
    }
    n
}

#[test]
fn a_damaged_mirror_is_cloned_again_and_its_findings_stay_reported() {
    each_store(|env, store| {
        repos(env, 1, 850);
        write_list(env, "repos.txt", &["r0"]);
        let first = sweep(env, store, &["--repos", "repos.txt"]);
        let before = secrets_and_repos(&first.json);
        assert_eq!(before.len(), 1, "{}", first.stderr);

        // Upstream moves on (so the mirror must be fetched) and the cached
        // pack is truncated between the two sweeps.
        Repo {
            repo: Repository::open(env.path().join("r0")).unwrap(),
        }
        .commit_files(&[("NOTES.md", "notes\n")], "two");
        assert!(truncate_mirror_packs(env) > 0, "the mirror has no pack");
        let second = sweep(env, store, &["--repos", "repos.txt"]);
        assert_eq!(second.code, first.code, "{}", second.stderr);
        assert!(
            second.stderr.contains("r0: the cached mirror was damaged")
                && second.stderr.contains("cloned again"),
            "{}",
            second.stderr
        );
        assert_eq!(secrets_and_repos(&second.json), before);
        assert!(!env.path().join("cache").read_dir().unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".damaged")));

        // Damaged again, and upstream gone: an error naming the repository,
        // and its stored finding is still in the report.
        Repo {
            repo: Repository::open(env.path().join("r0")).unwrap(),
        }
        .commit_files(&[("MORE.md", "more\n")], "three");
        truncate_mirror_packs(env);
        std::fs::rename(env.path().join("r0"), env.path().join("r0-moved")).unwrap();
        let third = sweep(env, store, &["--repos", "repos.txt"]);
        assert_eq!(third.code, 2, "{}", third.stderr);
        assert!(third.stderr.contains("failed: r0: "), "{}", third.stderr);
        assert_eq!(secrets_and_repos(&third.json), before, "{}", third.stderr);
    });
}
