//! Whole organisations: `sweep --github-org/--github-user/--gitlab-group`
//! over a loopback stand-in of the platform API whose clone URLs name local
//! repositories, `KEYSWEEP_DATASTORE`, `--notify`, and sweeps with a config,
//! validation and revalidation.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use serde_json::{json, Value};

use crate::common::{findings, Env, Fake};
use crate::repo::Repo;
use crate::stub::{Reply, Seen, Server};

/// A fake token for the platform API (GitHub's format, checksum included).
fn api_token() -> String {
    Fake::new(901).github_pat()
}

/// Repository `name` under `env` with one secret; returns its file:// URL
/// and the secret.
fn repo(env: &Env, name: &str, fake: &mut Fake) -> (String, String) {
    let tok = fake.github_pat();
    let path = env.path().join("remote").join(name);
    Repo::init(&path).commit_files(&[("config.env", &format!("GITHUB_TOKEN={tok}\n"))], "init");
    (format!("file://{}", path.display()), tok)
}

fn gh_repo(clone: &str, archived: bool, fork: bool) -> Value {
    json!({"full_name": clone, "clone_url": clone, "archived": archived, "fork": fork})
}

/// The origin the stand-in was reached at, for absolute `Link` headers.
fn origin(req: &Seen) -> String {
    format!("http://{}", req.header("host").unwrap_or("127.0.0.1"))
}

fn run(env: &Env, args: &[&str], vars: &[(&str, &str)]) -> (i32, Value, String) {
    run_in(env, "s.db", args, vars)
}

fn run_in(env: &Env, store: &str, args: &[&str], vars: &[(&str, &str)]) -> (i32, Value, String) {
    let mut cmd = env.cmd();
    cmd.args(["sweep", "--cache", "cache", "--datastore", store])
        .args(args)
        .args(["-f", "json"]);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap(), json, stderr)
}

fn repos_found(json: &Value) -> Vec<String> {
    let mut r: Vec<String> = findings(json)
        .iter()
        .map(|f| {
            f["repo"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    r.sort();
    r
}

/// Every file below `dir`, read as bytes.
fn all_bytes(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(all_bytes(&p));
        } else if let Ok(b) = std::fs::read(&p) {
            out.push((p.display().to_string(), b));
        }
    }
    out
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn github_org_over_three_pages_with_a_rate_limit_reset() {
    let env = Env::new();
    let mut fake = Fake::new(902);
    let r: Vec<(String, String)> = ["r0", "r1", "r2", "r3", "r4", "old", "copy"]
        .iter()
        .map(|n| repo(&env, n, &mut fake))
        .collect();
    let pages = [
        json!([
            gh_repo(&r[0].0, false, false),
            gh_repo(&r[1].0, false, false),
            gh_repo(&r[5].0, true, false)
        ]),
        json!([
            gh_repo(&r[2].0, false, false),
            gh_repo(&r[6].0, false, true)
        ]),
        json!([
            gh_repo(&r[3].0, false, false),
            gh_repo(&r[4].0, false, false)
        ]),
    ];
    let limited = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let lim = limited.clone();
    let api = Server::start(move |req, _| {
        let page = if req.target.contains("page=3") {
            2
        } else if req.target.contains("page=2") {
            1
        } else {
            0
        };
        if page == 1 && !lim.swap(true, std::sync::atomic::Ordering::SeqCst) {
            let reset = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
                + 1;
            return Reply::new(403, r#"{"message":"API rate limit exceeded"}"#)
                .header("x-ratelimit-remaining", "0")
                .header("x-ratelimit-reset", reset.to_string());
        }
        let mut reply =
            Reply::new(200, pages[page].to_string()).header("x-ratelimit-remaining", "4999");
        if page < 2 {
            let next = format!(
                "{}/orgs/acme/repos?type=all&per_page=100&page={}",
                origin(req),
                page + 2
            );
            reply = reply.header(
                "link",
                format!(r#"<{next}>; rel="next", <{next}>; rel="last""#),
            );
        }
        reply
    });
    let token = api_token();
    let started = Instant::now();
    let (code, json, stderr) = run(
        &env,
        &[
            "--github-org",
            "acme",
            "--github-api-url",
            &api.url,
            "--allow-internal",
        ],
        &[("GITHUB_TOKEN", &token)],
    );
    assert_eq!(code, 1, "{stderr}");
    // Three pages, one of them asked twice after the reset; the archived
    // repository and the fork are left out.
    assert_eq!(
        repos_found(&json),
        ["r0", "r1", "r2", "r3", "r4"],
        "{stderr}"
    );
    let seen = api.requests();
    assert_eq!(seen.len(), 4, "{seen:#?}");
    assert_eq!(seen[0].target, "/orgs/acme/repos?type=all&per_page=100");
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert!(
        stderr.contains("5 repositories in 3 pages (1 archived and 1 forks left out); waited"),
        "{stderr}"
    );
    for s in &seen {
        assert_eq!(
            s.header("authorization"),
            Some(format!("Bearer {token}").as_str())
        );
        assert_eq!(s.header("accept"), Some("application/vnd.github+json"));
    }
    // The token is written nowhere: not in the output, the datastore or the
    // mirrors.
    let out = json.to_string() + &stderr;
    assert!(!out.contains(&token));
    let mut files = all_bytes(&env.path().join("cache"));
    files.push((
        "s.db".into(),
        std::fs::read(env.path().join("s.db")).unwrap(),
    ));
    assert!(files.len() > 10);
    for (p, b) in &files {
        assert!(!contains(b, &token), "token written to {p}");
    }

    // Archived repositories and forks when asked for.
    let (code, json, stderr) = run(
        &env,
        &[
            "--github-org",
            "acme",
            "--github-api-url",
            &api.url,
            "--allow-internal",
            "--include-archived",
            "--include-forks",
        ],
        &[],
    );
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(repos_found(&json).len(), 7, "{stderr}");
    // Without a token in the environment, no Authorization header is sent.
    assert!(api.requests()[4..]
        .iter()
        .all(|s| s.header("authorization").is_none()));
}

#[test]
fn a_rate_limit_resetting_later_than_the_wait_stops_the_sweep() {
    let env = Env::new();
    let api = Server::start(|_, _| {
        let reset = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 3600;
        Reply::new(403, r#"{"message":"API rate limit exceeded"}"#)
            .header("x-ratelimit-remaining", "0")
            .header("x-ratelimit-reset", reset.to_string())
    });
    let started = Instant::now();
    let (code, _, stderr) = run(
        &env,
        &[
            "--github-user",
            "octocat",
            "--github-api-url",
            &api.url,
            "--allow-internal",
            "--rate-limit-wait",
            "10s",
        ],
        &[],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(stderr.contains("rate limited"), "{stderr}");
    assert!(stderr.contains("--rate-limit-wait (10s)"), "{stderr}");
    assert_eq!(
        api.requests()[0].target,
        "/users/octocat/repos?type=owner&per_page=100"
    );
    // Nothing was swept: the listing comes first.
    assert!(!env.path().join("cache").exists());
}

#[test]
fn gitlab_group_pages_by_x_next_page_with_a_private_token() {
    let env = Env::new();
    let mut fake = Fake::new(903);
    let a = repo(&env, "a", &mut fake);
    let b = repo(&env, "b", &mut fake);
    let f = repo(&env, "f", &mut fake);
    let (a0, b0, f0) = (a.0.clone(), b.0.clone(), f.0.clone());
    let api = Server::start(move |req, _| {
        if req.target.contains("page=2") {
            Reply::new(
                200,
                json!([{"http_url_to_repo": b0, "archived": false},
                       {"http_url_to_repo": f0, "archived": false,
                        "forked_from_project": {"id": 1}}])
                .to_string(),
            )
            .header("x-next-page", "")
        } else {
            Reply::new(
                200,
                json!([{"http_url_to_repo": a0, "archived": false,
                                   "forked_from_project": null}])
                .to_string(),
            )
            .header("x-next-page", "2")
        }
    });
    let token = "glpat-Zk3Rq8Lm2Xw9Tp4Vn7Bc";
    let (code, json, stderr) = run(
        &env,
        &[
            "--gitlab-group",
            "acme/platform",
            "--gitlab-api-url",
            &api.url,
            "--allow-internal",
        ],
        &[("GITLAB_TOKEN", token)],
    );
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(repos_found(&json), ["a", "b"], "{stderr}");
    let seen = api.requests();
    assert_eq!(seen.len(), 2);
    assert!(
        seen[0]
            .target
            .starts_with("/groups/acme%2Fplatform/projects?include_subgroups=true"),
        "{}",
        seen[0].target
    );
    assert!(seen[1].target.ends_with("&page=2"), "{}", seen[1].target);
    assert!(seen
        .iter()
        .all(|s| s.header("private-token") == Some(token)));
    assert!(!stderr.contains(token) && !json.to_string().contains(token));
}

#[test]
fn a_loopback_api_needs_allow_internal() {
    let env = Env::new();
    let api = Server::start(|_, _| Reply::new(200, "[]"));
    let (code, _, stderr) = run(
        &env,
        &["--github-org", "acme", "--github-api-url", &api.url],
        &[],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--allow-internal"), "{stderr}");
    assert!(api.requests().is_empty());
}

#[test]
fn the_datastore_url_can_come_from_the_environment() {
    let env = Env::new();
    let mut fake = Fake::new(904);
    let (url, _) = repo(&env, "r", &mut fake);
    env.write("repos.txt", format!("{url}\n"));
    let out = env
        .cmd()
        .args([
            "sweep",
            "--cache",
            "cache",
            "--repos",
            "repos.txt",
            "-f",
            "json",
        ])
        .env("KEYSWEEP_DATASTORE", "from-env.db")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(env.path().join("from-env.db").exists());
    assert!(!env.path().join(".keysweep/sweep.db").exists());
    let out = env
        .cmd()
        .args(["report", "-f", "json"])
        .env("KEYSWEEP_DATASTORE", "from-env.db")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(findings(&json).len(), 1);

    // A PostgreSQL URL from the variable (CI has a server).
    if let Some(url) = crate::sweep::postgres_db() {
        let out = env
            .cmd()
            .args([
                "sweep",
                "--cache",
                "cache",
                "--repos",
                "repos.txt",
                "-f",
                "json",
            ])
            .env("KEYSWEEP_DATASTORE", &url)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = env
            .cmd()
            .args(["report", "-f", "json"])
            .env("KEYSWEEP_DATASTORE", &url)
            .output()
            .unwrap();
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(findings(&json).len(), 1);
    }

    // A password in the variable is never shown, even when the server
    // cannot be reached.
    let out = env
        .cmd()
        .args(["sweep", "--cache", "cache", "--repos", "repos.txt"])
        .env(
            "KEYSWEEP_DATASTORE",
            "postgres://ks:Pw9xTq2Lm8Rz@127.0.0.1:1/keysweep",
        )
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("127.0.0.1:1"), "{stderr}");
    assert!(!stderr.contains("Pw9xTq2Lm8Rz"), "{stderr}");
}

fn verify(key: &str, body: &str, header: Option<&str>) -> bool {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let want: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    header == Some(format!("sha256={want}").as_str())
}

#[test]
fn new_findings_are_posted_signed_and_redacted() {
    let env = Env::new();
    let mut fake = Fake::new(905);
    let (a, sa) = repo(&env, "a", &mut fake);
    let (b, sb) = repo(&env, "b", &mut fake);
    env.write("repos.txt", format!("{a}\n{b}\n"));
    // The receiver fails once, so the notification is retried.
    let hook = Server::start(|_, n| {
        if n == 0 {
            Reply::new(503, "busy")
        } else {
            Reply::new(204, "")
        }
    });
    let key = "whsec-Jq4Vm8Xr2Lt6Pz9N";
    let url = format!("{}/hooks/keysweep", hook.url);
    let args = [
        "--repos",
        "repos.txt",
        "--notify",
        &url,
        "--notify-key-env",
        "KS_HOOK_KEY",
        "--allow-internal",
    ];
    let (code, _, stderr) = run(&env, &args, &[("KS_HOOK_KEY", key)]);
    assert_eq!(code, 1, "{stderr}");
    let seen = hook.requests();
    assert_eq!(seen.len(), 2, "{stderr}");
    let got = &seen[1];
    assert_eq!(got.method, "POST");
    assert_eq!(got.target, "/hooks/keysweep");
    assert!(
        verify(key, &got.body, got.header("x-keysweep-signature")),
        "{}",
        got.raw()
    );
    assert!(!verify(
        "another key",
        &got.body,
        got.header("x-keysweep-signature")
    ));
    let body: Value = serde_json::from_str(&got.body).unwrap();
    assert_eq!(body["event"], "keysweep.sweep.new_findings");
    assert_eq!(body["count"], 2);
    assert_eq!(body["findings"][0]["rule_id"], "github-pat-classic");
    assert_eq!(body["findings"][0]["path"], "config.env");
    for s in [&sa, &sb] {
        assert!(
            !got.body.contains(s.as_str()),
            "secret in full: {}",
            got.body
        );
    }
    assert!(got.body.contains(&sa[..7]), "{}", got.body);

    // Nothing new: nothing posted.
    let (code, _, stderr) = run(&env, &args, &[("KS_HOOK_KEY", key)]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(hook.requests().len(), 2);
}

#[test]
fn an_undelivered_notification_is_an_error_and_slack_payloads_are_text() {
    let env = Env::new();
    let mut fake = Fake::new(906);
    let (a, _) = repo(&env, "a", &mut fake);
    env.write("repos.txt", format!("{a}\n"));
    let hook = Server::start(|_, _| Reply::new(500, "down"));
    let url = format!("{}/slack", hook.url);
    let (code, json, stderr) = run(
        &env,
        &[
            "--repos",
            "repos.txt",
            "--notify",
            &url,
            "--notify-slack",
            "--allow-internal",
        ],
        &[],
    );
    assert_eq!(code, 2, "{stderr}");
    // The report is still written.
    assert_eq!(findings(&json).len(), 1);
    assert!(
        stderr.contains("not delivered after 3 attempts: HTTP 500"),
        "{stderr}"
    );
    assert!(!stderr.contains("/slack"), "webhook path shown: {stderr}");
    let seen = hook.requests();
    assert_eq!(seen.len(), 3);
    let body: Value = serde_json::from_str(&seen[0].body).unwrap();
    let text = body["text"].as_str().unwrap();
    assert!(
        text.starts_with("keysweep: 1 new finding in sweep run 1"),
        "{text}"
    );
    assert!(seen[0].header("x-keysweep-signature").is_none());
}

#[test]
fn sweeps_honour_the_config_allowlist_and_rule_selection() {
    let env = Env::new();
    let mut fake = Fake::new(907);
    let (a, _) = repo(&env, "a", &mut fake);
    let path = env.path().join("remote/a");
    let r = Repo {
        repo: git2::Repository::open(&path).unwrap(),
    };
    let (pat, npm) = (fake.github_pat(), fake.crc32_token("npm"));
    r.commit_files(
        &[
            ("vendor/keys.txt", &format!("TOKEN={pat}\n")),
            ("npm.env", &format!("NPM_TOKEN={npm}\n")),
        ],
        "vendor",
    );
    env.write("repos.txt", format!("{a}\n"));
    let (code, json, stderr) = run(&env, &["--repos", "repos.txt"], &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(findings(&json).len(), 3, "{json:#}");

    // A keysweep.toml in the current directory is not read by a sweep...
    env.write("keysweep.toml", "[allowlist]\npaths = [\"vendor/**\"]\n");
    let (_, json, _) = run(&env, &["--repos", "repos.txt", "--new-only"], &[]);
    assert!(findings(&json).is_empty());
    let (_, json, _) = run(&env, &["--repos", "repos.txt"], &[]);
    assert_eq!(findings(&json).len(), 3);
    // ...one named by --config is, and the repository is scanned again under it.
    env.write(
        "sweep.toml",
        "[allowlist]\npaths = [\"vendor/**\"]\n[rules]\nexclude = [\"npm-*\", \"generic-*\"]\n",
    );
    let (code, json, stderr) = run(
        &env,
        &["--repos", "repos.txt", "--config", "sweep.toml"],
        &[],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("scanned 3 blobs"), "{stderr}");
    let got = findings(&json);
    assert_eq!(got.len(), 1, "{json:#}");
    assert_eq!(got[0]["path"], "config.env");
}

#[test]
fn sweep_validation_is_stored_and_repeated_only_when_stale() {
    validation_in("s.db");
    if let Some(url) = crate::sweep::postgres_db() {
        validation_in(&url);
    }
}

/// Validation results kept in the datastore at `store`.
fn validation_in(store: &str) {
    let env = Env::new();
    let mut fake = Fake::new(908);
    let (a, live) = repo(&env, "a", &mut fake);
    let (b, _dead) = repo(&env, "b", &mut fake);
    env.write("repos.txt", format!("{a}\n{b}\n"));
    let want = format!("Bearer {live}");
    let provider = Server::start(move |req, _| {
        if req.header("authorization") == Some(want.as_str()) {
            Reply::new(200, r#"{"login":"octocat","id":1}"#)
        } else {
            Reply::new(401, r#"{"message":"Bad credentials"}"#)
        }
    });
    let endpoint = format!("github={}", provider.url);
    let call = |extra: &[&str]| {
        let mut a = vec![
            "--repos",
            "repos.txt",
            "--validate",
            "--allow-internal",
            "--endpoint",
        ];
        a.push(&endpoint);
        a.extend_from_slice(extra);
        run_in(&env, store, &a, &[])
    };
    let statuses = |json: &Value| -> Vec<String> {
        let mut s: Vec<String> = findings(json)
            .iter()
            .map(|f| {
                f["validation"]["status"]
                    .as_str()
                    .unwrap_or("<none>")
                    .to_string()
            })
            .collect();
        s.sort();
        s
    };
    let (code, json, stderr) = call(&[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(statuses(&json), ["invalid", "live"], "{stderr}");
    assert_eq!(provider.requests().len(), 2);
    // Fresh results are read back, not asked again.
    let (_, json, stderr) = call(&["--fail-on", "live"]);
    assert_eq!(statuses(&json), ["invalid", "live"], "{stderr}");
    assert_eq!(provider.requests().len(), 2);
    // Older than --revalidate-after: asked again; --only-live keeps one.
    let (code, json, stderr) = call(&["--revalidate-after", "0s", "--only-live"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(statuses(&json), ["live"], "{stderr}");
    assert_eq!(provider.requests().len(), 4);
    // `keysweep report` shows the stored validation.
    let out = env
        .cmd()
        .args(["report", "--datastore", store, "-f", "json"])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(statuses(&json), ["invalid", "live"]);
}

#[test]
fn deploy_examples_keep_the_datastore_url_out_of_argv() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
    let mut checked = 0;
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let text = std::fs::read_to_string(e.path()).unwrap();
        if !text.contains("KEYSWEEP_DATASTORE") {
            continue;
        }
        checked += 1;
        for (n, line) in text.lines().enumerate() {
            let code = line.split('#').next().unwrap_or("");
            assert!(
                !code.contains("--datastore"),
                "{}:{}: the datastore URL goes in KEYSWEEP_DATASTORE, not argv: {line}",
                e.path().display(),
                n + 1
            );
        }
    }
    assert_eq!(checked, 2);
}

#[test]
fn sweep_revokes_through_the_config_broker_once() {
    let env = Env::new();
    let mut fake = Fake::new(909);
    let (a, _) = repo(&env, "a", &mut fake);
    env.write("repos.txt", format!("{a}\n"));
    let broker = Server::start(|_, _| Reply::new(200, r#"{"status":"revoked","reference":"R-7"}"#));
    // GitHub's /user, asked after the revocation: the token is dead.
    let gh = Server::start(|_, _| Reply::new(401, r#"{"message":"Bad credentials"}"#));
    env.write(
        "sweep.toml",
        format!(
            "[revoke]\nmode = \"enforce\"\nrequire = \"any\"\nrules = [\"github-*\"]\n\
             audit_log = \"audit.jsonl\"\n[[revoke.broker]]\nkind = \"http\"\n\
             url = \"{}/v1/revocations\"\n",
            broker.url
        ),
    );
    let ep = format!("github={}", gh.url);
    let args = [
        "--repos",
        "repos.txt",
        "--config",
        "sweep.toml",
        "--revoke",
        "--allow-internal",
        "--endpoint",
        &ep,
    ];
    let (code, json, stderr) = run(&env, &args, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        findings(&json)[0]["revocation"]["status"],
        "revoked-confirmed",
        "{json:#}"
    );
    assert_eq!(broker.requests().len(), 1);
    // The next sweep reads the revocation back and does not ask again.
    let (code, json, stderr) = run(&env, &args, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        findings(&json)[0]["revocation"]["status"],
        "revoked-confirmed",
        "{json:#}"
    );
    assert_eq!(broker.requests().len(), 1, "{stderr}");
}
