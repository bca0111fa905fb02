//! The GitHub Action's scripts (`action/*.sh`), run as the runner would run
//! them: a real repository checked out shallow from a local origin, and a
//! faked GitHub environment (event file, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY).
//! No network: origins are `file://` URLs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::{git, Env, Fake};

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("action")
        .join(name)
}

/// A faked runner: temp files for the outputs, the event written as GitHub
/// writes it (pretty-printed).
struct Runner {
    dir: PathBuf,
}

impl Runner {
    fn new(env: &Env) -> Runner {
        let dir = env.path().join("runner");
        std::fs::create_dir_all(&dir).unwrap();
        Runner { dir }
    }

    fn run(
        &self,
        checkout: &Path,
        event: &str,
        payload: &serde_json::Value,
        extra: &[(&str, &str)],
    ) -> Output {
        let event_path = self.dir.join("event.json");
        std::fs::write(&event_path, serde_json::to_string_pretty(payload).unwrap()).unwrap();
        let mut c = Command::new("sh");
        c.arg(script("scan.sh"))
            .current_dir(checkout)
            .env("KEYSWEEP", assert_cmd::cargo::cargo_bin("keysweep"))
            .env("GITHUB_EVENT_NAME", event)
            .env("GITHUB_EVENT_PATH", &event_path)
            .env("GITHUB_OUTPUT", self.dir.join("output"))
            .env("GITHUB_STEP_SUMMARY", self.dir.join("summary.md"))
            .env("KS_OUT_DIR", self.dir.join("out"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", &self.dir)
            .env_remove("KS_BASE")
            .env_remove("KS_HEAD")
            .env_remove("KEYSWEEP_CONFIG");
        for (k, v) in extra {
            c.env(k, v);
        }
        c.output().unwrap()
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }
}

/// An origin whose `main` already holds an old secret, a `feature` branch
/// adding a new one, and the merge commit GitHub checks out for the pull
/// request at `refs/heads/pr-merge`. Returns (origin, base, head, old, new).
fn pull_request_origin(env: &Env) -> (PathBuf, String, String, String, String) {
    let origin = env.path().join("origin");
    std::fs::create_dir(&origin).unwrap();
    let mut fake = Fake::new(1310);
    let (old, new) = (fake.github_pat(), fake.github_pat());
    git(&origin, &["init", "-q"]);
    std::fs::write(origin.join("legacy.env"), format!("OLD={old}\n")).unwrap();
    git(&origin, &["add", "."]);
    git(
        &origin,
        &["commit", "-qm", "old secret, before the pull request"],
    );
    let base = git(&origin, &["rev-parse", "HEAD"]);
    git(&origin, &["checkout", "-qb", "feature"]);
    std::fs::write(origin.join("app.env"), format!("A=1\nNEW={new}\n")).unwrap();
    git(&origin, &["add", "."]);
    git(&origin, &["commit", "-qm", "feature adds a secret"]);
    let head = git(&origin, &["rev-parse", "HEAD"]);
    git(&origin, &["checkout", "-q", "main"]);
    git(&origin, &["checkout", "-qb", "pr-merge"]);
    git(
        &origin,
        &["merge", "-q", "--no-ff", "-m", "merge", "feature"],
    );
    git(&origin, &["checkout", "-q", "main"]);
    (origin, base, head, old, new)
}

fn pr_event(base: &str, head: &str) -> serde_json::Value {
    serde_json::json!({
        "action": "synchronize",
        "number": 7,
        "pull_request": {
            "head": {"ref": "feature", "sha": head, "repo": {"name": "r", "owner": {"login": "o"}}},
            "base": {"ref": "main", "sha": base, "repo": {"name": "r", "owner": {"login": "o"}}},
            "title": "add the feature"
        },
        "repository": {"full_name": "o/r"}
    })
}

#[test]
fn pull_request_scan_deepens_annotates_summarises_and_fails() {
    let env = Env::new();
    let (origin, base, head, old, new) = pull_request_origin(&env);
    let url = format!("file://{}", origin.display());
    // actions/checkout's default: the merge commit, one commit deep.
    git(
        env.path(),
        &[
            "clone", "-q", "--depth", "1", "--branch", "pr-merge", &url, "checkout",
        ],
    );
    let checkout = env.path().join("checkout");
    assert_eq!(
        git(&checkout, &["rev-parse", "--is-shallow-repository"]),
        "true"
    );

    let runner = Runner::new(&env);
    let out = runner.run(
        &checkout,
        "pull_request",
        &pr_event(&base, &head),
        &[("KS_SARIF", "true")],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("shallow"), "{stderr}");
    assert_eq!(
        git(&checkout, &["rev-parse", "--is-shallow-repository"]),
        "false"
    );

    // One annotation: the pull request's secret, not the one already on main.
    let annotations: Vec<&str> = stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(annotations.len(), 1, "{stdout}");
    assert!(
        annotations[0].starts_with(
            "::error file=app.env,line=2,col=5,endLine=2,title=keysweep%3A github-pat-classic::"
        ),
        "{}",
        annotations[0]
    );
    assert!(
        !stdout.contains(&new) && !stdout.contains(&old),
        "secret printed: {stdout}"
    );

    let outputs = runner.read("output");
    assert!(outputs.contains("findings=1\n"), "{outputs}");
    assert!(outputs.contains("exit-code=1\n"));
    assert!(
        outputs.contains(&format!("range={base}..HEAD\n")),
        "{outputs}"
    );

    let summary = runner.read("summary.md");
    assert!(summary.contains("## keysweep"), "{summary}");
    assert!(
        summary.contains("| github-pat-classic | `app.env` | 2 |"),
        "{summary}"
    );
    assert!(!summary.contains(&new), "secret in the summary: {summary}");
    assert!(
        summary.contains("1 finding (1 distinct secret)"),
        "{summary}"
    );

    // The SARIF file the upload step would send (the upload itself needs
    // GitHub): valid, and naming the pull request's file from the root.
    let sarif_path = outputs
        .lines()
        .find_map(|l| l.strip_prefix("sarif="))
        .expect("sarif output");
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sarif_path).unwrap()).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(
        results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "app.env"
    );
}

#[test]
fn shallow_checkout_that_cannot_be_deepened_says_fetch_depth() {
    let env = Env::new();
    let (origin, base, head, _, _) = pull_request_origin(&env);
    let url = format!("file://{}", origin.display());
    git(
        env.path(),
        &[
            "clone", "-q", "--depth", "1", "--branch", "pr-merge", &url, "checkout",
        ],
    );
    let checkout = env.path().join("checkout");
    // The origin is gone (a runner without credentials to fetch again).
    git(
        &checkout,
        &["remote", "set-url", "origin", "file:///nonexistent/origin"],
    );
    let out = Runner::new(&env).run(&checkout, "pull_request", &pr_event(&base, &head), &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("::error title=keysweep::cannot reach the base commit"),
        "{stderr}"
    );
    assert!(stderr.contains("fetch-depth: 0"), "{stderr}");
}

#[test]
fn push_events_and_clean_runs() {
    let env = Env::new();
    let (origin, base, _, _, _) = pull_request_origin(&env);
    let runner = Runner::new(&env);
    // A new branch's push (`before` is all zeros): its whole history.
    let zero = "0".repeat(40);
    let after = git(&origin, &["rev-parse", "feature"]);
    git(&origin, &["checkout", "-q", "feature"]);
    let out = runner.run(
        &origin,
        "push",
        &serde_json::json!({"before": zero, "after": after, "ref": "refs/heads/feature"}),
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        runner.read("output").contains("findings=2\n"),
        "{}",
        runner.read("output")
    );

    // A push of main onto itself brings nothing: clean, and the summary says so.
    let runner2 = Runner::new(&env);
    std::fs::remove_file(runner2.dir.join("output")).ok();
    std::fs::remove_file(runner2.dir.join("summary.md")).ok();
    let out = runner2.run(
        &origin,
        "push",
        &serde_json::json!({"before": base, "after": base}),
        &[("KS_ARGS", "--min-confidence medium")],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(runner2.read("summary.md").contains("No secrets found."));
    // Expressions the action passes win over the event file.
    let out = runner2.run(
        &origin,
        "push",
        &serde_json::json!({"before": base, "after": base}),
        &[("KS_BASE", &base), ("KS_HEAD", &after)],
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn install_downloads_verifies_and_caches_the_release() {
    let env = Env::new();
    let releases = env.path().join("releases");
    let target = match std::env::consts::ARCH {
        "aarch64" => "aarch64-unknown-linux-musl",
        _ => "x86_64-unknown-linux-musl",
    };
    if std::env::consts::OS != "linux" {
        return;
    }
    let dl = releases.join("download/v9.9.9");
    std::fs::create_dir_all(dl.join("pkg")).unwrap();
    std::fs::copy(
        assert_cmd::cargo::cargo_bin("keysweep"),
        dl.join("pkg/keysweep"),
    )
    .unwrap();
    let archive = format!("keysweep-{target}.tar.gz");
    let st = Command::new("tar")
        .args(["-czf", &archive, "-C", "pkg", "keysweep"])
        .current_dir(&dl)
        .status()
        .unwrap();
    assert!(st.success());
    let sum = Command::new("sha256sum")
        .arg(&archive)
        .current_dir(&dl)
        .output()
        .unwrap();
    std::fs::write(dl.join(format!("{archive}.sha256")), &sum.stdout).unwrap();

    let install = |version: &str| {
        Command::new("sh")
            .arg(script("install.sh"))
            .env("KS_VERSION", version)
            .env("KS_CACHE_DIR", env.path().join("cache"))
            .env(
                "KEYSWEEP_DOWNLOAD_BASE",
                format!("file://{}", releases.display()),
            )
            .output()
            .unwrap()
    };
    let out = install("9.9.9");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bin = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let v = Command::new(&bin).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&v.stdout).starts_with("keysweep "));
    // Cached: a second run needs no download.
    std::fs::rename(&dl, releases.join("gone")).unwrap();
    let out = install("9.9.9");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), bin);
    std::fs::rename(releases.join("gone"), &dl).unwrap();

    // A corrupt download is refused.
    std::fs::write(
        dl.join(format!("{archive}.sha256")),
        format!("{}  x\n", "0".repeat(64)),
    )
    .unwrap();
    std::fs::rename(&dl, releases.join("download/v9.9.8")).unwrap();
    let out = install("9.9.8");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("checksum mismatch"));
}

#[test]
fn action_yml_wires_the_scripts_and_inputs() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("action.yml")).unwrap();
    let doc: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    assert_eq!(doc["runs"]["using"], "composite");
    for input in [
        "args", "config", "baseline", "validate", "fail-on", "sarif", "version",
    ] {
        assert!(doc["inputs"][input].is_object(), "input {input}");
    }
    let steps = doc["runs"]["steps"].as_array().unwrap();
    let runs: String = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    assert!(runs.contains("action/install.sh") && runs.contains("action/scan.sh"));
    assert!(steps.iter().any(|s| s["uses"]
        .as_str()
        .is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif@"))));
    assert!(!text.to_lowercase().contains("license-key") && !text.contains("GITLEAKS_LICENSE"));
}

#[test]
fn install_files_are_complete() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let read =
        |p: &str| std::fs::read_to_string(root.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));

    let hooks: serde_json::Value = serde_saphyr::from_str(&read(".pre-commit-hooks.yaml")).unwrap();
    let ids: Vec<(&str, &str)> = hooks
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["id"].as_str().unwrap(), h["language"].as_str().unwrap()))
        .collect();
    assert_eq!(
        ids,
        vec![
            ("keysweep", "rust"),
            ("keysweep-system", "system"),
            ("keysweep-docker", "docker")
        ]
    );

    let gitlab: serde_json::Value =
        serde_saphyr::from_str(&read("ci/keysweep.gitlab-ci.yml")).unwrap();
    assert_eq!(gitlab["keysweep"]["variables"]["GIT_DEPTH"], "0");
    let script = gitlab["keysweep"]["script"][0].as_str().unwrap();
    assert!(script.contains("keysweep git .") && script.contains("CI_MERGE_REQUEST_DIFF_BASE_SHA"));
    // GitLab's own report, declared as such, so the merge request lists it.
    assert_eq!(gitlab["keysweep"]["variables"]["KEYSWEEP_FORMAT"], "gitlab");
    assert_eq!(
        gitlab["keysweep"]["artifacts"]["reports"]["secret_detection"],
        "keysweep-report.json"
    );

    let docker = read("Dockerfile");
    assert_eq!(
        docker.matches("\nFROM ").count() + usize::from(docker.starts_with("FROM ")),
        2
    );
    assert!(docker.contains("USER 10001"));
    assert!(docker.contains("ENTRYPOINT [\"keysweep\"]"));

    for f in ["LICENSE-MIT", "LICENSE-APACHE"] {
        assert!(read(f).len() > 1000, "{f}");
    }
    let manifest = read("Cargo.toml");
    assert!(manifest.contains("strip = true"));
    assert!(manifest.contains("default = [\"postgres\"]"));
}
