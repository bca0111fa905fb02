//! Issue 13: the paths CI jobs and pre-commit hooks take, each silent failure
//! with its regression test. Repositories are built with the git CLI, as a
//! user's would be.

use std::path::Path;
use std::process::Command;

use crate::common::{findings, git, Env, Fake};

/// A repository with a clean commit on `main` and a `feature` branch whose
/// commit adds a secret and whose next commit deletes it again, so only a
/// history scan sees it.
fn repo_with_feature_secret(env: &Env, seed: u64) -> String {
    let d = env.path();
    git(d, &["init", "-q"]);
    env.write("README", "hello\n");
    git(d, &["add", "."]);
    git(d, &["commit", "-qm", "init"]);
    git(d, &["checkout", "-qb", "feature"]);
    let tok = Fake::new(seed).github_pat();
    env.write("app.env", format!("TOKEN={tok}\n"));
    git(d, &["add", "."]);
    git(d, &["commit", "-qm", "add"]);
    std::fs::remove_file(d.join("app.env")).unwrap();
    git(d, &["add", "-A"]);
    git(d, &["commit", "-qm", "remove"]);
    tok
}

// Item 1: a history flag on `scan` used to scan the work tree and miss what
// the range added.
#[test]
fn scan_with_history_flags_scans_history() {
    let env = Env::new();
    repo_with_feature_secret(&env, 1301);
    for flags in [
        &["--range", "main..feature"][..],
        &["--branch", "feature"],
        &["--since-commit", "main"],
    ] {
        let (code, json) = env.scan_json(flags);
        assert_eq!(code, 1, "{flags:?}: {json}");
        assert_eq!(findings(&json).len(), 1, "{flags:?}");
        assert_eq!(findings(&json)[0]["path"], "app.env");
    }
    let out = env
        .cmd()
        .args(["scan", "--range", "main..feature", "-f", "json"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("--range reads git history"));
}

// Item 1: `staged` and `git` accept only their own flags and describe them.
#[test]
fn each_subcommand_accepts_only_its_own_flags() {
    let env = Env::new();
    repo_with_feature_secret(&env, 1302);
    for args in [
        &["staged", "--git"][..],
        &["staged", "--branch", "main"],
        &["staged", "--range", "main..feature"],
        &["git", "--staged"],
        &["git", "--no-ignore"],
        &["scan", "--staged", "--range", "main..feature"],
    ] {
        let out = env.cmd().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("unexpected argument") || stderr.contains("cannot be used with"),
            "{args:?}: {stderr}"
        );
    }
    let help = |cmd: &str| {
        let out = env.cmd().args([cmd, "--help"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let git_help = help("git");
    assert!(git_help.contains("[REPO]..."), "{git_help}");
    assert!(git_help.contains("--range"));
    assert!(!git_help.contains("--staged\n"));
    assert!(!git_help.contains("reads standard input"));
    let staged_help = help("staged");
    assert!(staged_help.contains("[REPO]"), "{staged_help}");
    for absent in ["--range", "--branch", "--git", "--no-ignore"] {
        let shown = staged_help.contains(&format!("{absent} "))
            || staged_help.contains(&format!("{absent}\n"));
        assert!(!shown, "staged --help shows {absent}");
    }
}

/// The hooks directory git itself uses.
fn git_hooks_dir(dir: &Path) -> std::path::PathBuf {
    let p = git(
        dir,
        &["rev-parse", "--path-format=absolute", "--git-path", "hooks"],
    );
    std::path::PathBuf::from(p)
}

/// Stages a file and commits through the installed hook; returns (status, stderr).
fn commit_through_hook(dir: &Path, file: &str, text: &str) -> (i32, String, String) {
    std::fs::write(dir.join(file), text).unwrap();
    git(dir, &["add", file]);
    let out = Command::new("git")
        .args(["-c", "user.name=Ada", "-c", "user.email=ada@example.org"])
        .args(["commit", "-qm", "through the hook"])
        .current_dir(dir)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

// Item 2: with core.hooksPath set, the hook used to go to .git/hooks, where
// git never runs it.
#[test]
fn install_hook_uses_core_hooks_path_and_chains() {
    let env = Env::new();
    let d = env.path();
    git(d, &["init", "-q"]);
    git(d, &["config", "core.hooksPath", ".husky"]);
    env.write(
        ".husky/pre-commit",
        "#!/bin/sh\necho husky-ran > husky.log\n",
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            d.join(".husky/pre-commit"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
    }
    let out = env.cmd().arg("install-hook").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(!d.join(".git/hooks/pre-commit").exists());
    let hook = std::fs::read_to_string(d.join(".husky/pre-commit")).unwrap();
    assert!(hook.contains("staged"), "{hook}");
    // The absolute path of the installing binary, with a PATH fallback.
    let exe = assert_cmd::cargo::cargo_bin("keysweep");
    assert!(hook.contains(&*exe.to_string_lossy()), "{hook}");
    assert!(hook.contains("command -v keysweep"));

    // A clean commit passes silently, and the chained hook still runs.
    let (code, stdout, stderr) = commit_through_hook(d, "ok.txt", "fine\n");
    assert_eq!(code, 0, "{stderr}");
    assert_eq!((stdout.as_str(), stderr.as_str()), ("", ""));
    assert!(d.join("husky.log").exists());

    // A secret is blocked, with keysweep's explanation.
    let tok = Fake::new(1303).github_pat();
    let (code, _, stderr) = commit_through_hook(d, "leak.env", &format!("T={tok}\n"));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("keysweep blocked this commit"), "{stderr}");

    // Uninstall restores the chained hook.
    env.cmd()
        .args(["install-hook", "--uninstall"])
        .assert()
        .code(0);
    assert_eq!(
        std::fs::read_to_string(d.join(".husky/pre-commit")).unwrap(),
        "#!/bin/sh\necho husky-ran > husky.log\n"
    );
    env.cmd()
        .args(["install-hook", "--uninstall"])
        .assert()
        .code(2);
}

// Item 2: in a linked worktree, `.git` is a file; the hook belongs in the
// common directory's hooks, which every worktree runs.
#[test]
fn install_hook_in_a_worktree() {
    let env = Env::new();
    let main = env.path().join("main");
    std::fs::create_dir(&main).unwrap();
    git(&main, &["init", "-q"]);
    std::fs::write(main.join("a"), "a\n").unwrap();
    git(&main, &["add", "."]);
    git(&main, &["commit", "-qm", "init"]);
    git(&main, &["worktree", "add", "-q", "../wt", "-b", "wt"]);
    let wt = env.path().join("wt");
    let out = env
        .cmd()
        .current_dir(&wt)
        .arg("install-hook")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let hooks = git_hooks_dir(&wt);
    assert!(hooks.join("pre-commit").is_file(), "{}", hooks.display());
    let tok = Fake::new(1304).github_pat();
    let (code, _, stderr) = commit_through_hook(&wt, "leak.env", &format!("T={tok}\n"));
    assert_eq!(code, 1, "{stderr}");
}

// Item 3: a pure `git mv` used to be scanned as a new file and blocked.
#[test]
fn staged_pure_rename_adds_nothing() {
    let env = Env::new();
    let d = env.path();
    git(d, &["init", "-q"]);
    let tok = Fake::new(1305).github_pat();
    env.write("old.env", format!("A=1\nT={tok}\n"));
    git(d, &["add", "."]);
    git(
        d,
        &[
            "commit",
            "-qm",
            "known secret, already in the baseline of history",
        ],
    );
    git(d, &["mv", "old.env", "new.env"]);
    env.cmd().args(["staged", "-q"]).assert().code(0);
    // Without git on PATH the index is read by libgit2, with the same answer.
    env.cmd()
        .env("PATH", "/nonexistent")
        .args(["staged", "-q"])
        .assert()
        .code(0);
    // A rename that also adds a secret line still blocks.
    let tok2 = Fake::new(1306).github_pat();
    env.write("new.env", format!("A=1\nT={tok}\nU={tok2}\n"));
    git(d, &["add", "new.env"]);
    let out = env
        .cmd()
        .args(["staged", "-f", "json", "--show-secrets"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(findings(&json).len(), 1);
    assert_eq!(findings(&json)[0]["secret"], tok2.as_str());
}

// Item 6: `keysweep scan src` from the repository root used to ignore the
// root's keysweep.toml (and .gitleaks.toml).
#[test]
fn config_is_discovered_upward_to_the_repository_root() {
    let env = Env::new();
    let d = env.path();
    git(d, &["init", "-q"]);
    let tok = Fake::new(1307).github_pat();
    env.write("src/app.env", format!("T={tok}\n"));
    env.write(
        "keysweep.toml",
        "[allowlist]\ndescription = \"test fixtures\"\npaths = [\"src/app.env\"]\n",
    );
    let (code, json) = env.scan_json(&["src"]);
    assert_eq!(code, 0, "{json}");
    // From inside the subdirectory too.
    let out = env
        .cmd()
        .current_dir(d.join("src"))
        .args(["scan", "-f", "json", "-q"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");

    // A gitleaks config, when there is no keysweep.toml.
    std::fs::remove_file(d.join("keysweep.toml")).unwrap();
    env.write(
        ".gitleaks.toml",
        "[extend]\nuseDefault = true\n[allowlist]\npaths = ['''src/app\\.env''']\n",
    );
    let out = env
        .cmd()
        .args(["scan", "src", "-f", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains(".gitleaks.toml"));

    // Outside a repository nothing above the scan root is read.
    let outer = Env::new();
    outer.write(
        "keysweep.toml",
        "[allowlist]\ndescription = \"x\"\npaths = [\"sub/app.env\"]\n",
    );
    outer.write("sub/app.env", format!("T={tok}\n"));
    let (code, _) = outer.scan_json(&["sub"]);
    assert_eq!(code, 1);
}

// Item 7: `--range HEAD~3..HEAD` on a shallow clone used to fail with
// libgit2's "parent 0 does not exist" and no way forward.
#[test]
fn shallow_clone_range_says_how_to_deepen() {
    let env = Env::new();
    let src = env.path().join("src");
    std::fs::create_dir(&src).unwrap();
    git(&src, &["init", "-q"]);
    for i in 0..4 {
        std::fs::write(src.join("f"), format!("{i}\n")).unwrap();
        git(&src, &["add", "."]);
        git(&src, &["commit", "-qm", &format!("c{i}")]);
    }
    let url = format!("file://{}", src.display());
    git(
        env.path(),
        &["clone", "-q", "--depth", "1", &url, "shallow"],
    );
    let out = env
        .cmd()
        .args(["git", "shallow", "--range", "HEAD~3..HEAD"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("shallow clone"), "{stderr}");
    assert!(stderr.contains("fetch-depth: 0"), "{stderr}");
    assert!(stderr.contains("git fetch --unshallow"), "{stderr}");
}

/// Runs `keysweep scan ARGS -f sarif` in `dir` and returns the run.
fn sarif_run(env: &Env, dir: &Path, args: &[&str]) -> serde_json::Value {
    let out = env
        .cmd()
        .current_dir(dir)
        .args(["scan", "-f", "sarif", "-q"])
        .args(args)
        .output()
        .unwrap();
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    sarif["runs"][0].clone()
}

fn uris(run: &serde_json::Value) -> Vec<String> {
    run["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let loc = &r["locations"][0]["physicalLocation"]["artifactLocation"];
            format!("{}|{}", loc["uriBaseId"].as_str().unwrap_or(""), loc["uri"])
        })
        .collect()
}

// Item 4: SARIF locations used to depend on where the scan was started.
#[test]
fn sarif_locations_are_relative_to_the_repository_root() {
    let env = Env::new();
    let d = env.path().join("repo");
    std::fs::create_dir(&d).unwrap();
    git(&d, &["init", "-q"]);
    git(
        &d,
        &[
            "remote",
            "add",
            "origin",
            "https://user:hunter2@example.org/o/r.git",
        ],
    );
    let tok = Fake::new(1308).github_pat();
    std::fs::create_dir(d.join("src")).unwrap();
    std::fs::write(d.join("src/app.py"), format!("T = '{tok}'\n")).unwrap();
    git(&d, &["add", "."]);
    git(&d, &["commit", "-qm", "add the app"]);
    let head = git(&d, &["rev-parse", "HEAD"]);

    let abs = d.to_string_lossy().into_owned();
    let runs = [
        sarif_run(&env, &d, &[&abs]),
        sarif_run(&env, &d.join("src"), &[]),
        sarif_run(&env, env.path(), &["repo"]),
        sarif_run(&env, &d.join("src"), &["../src"]),
    ];
    for run in &runs {
        assert_eq!(uris(run), vec!["%SRCROOT%|\"src/app.py\""]);
        let base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
            .as_str()
            .unwrap();
        assert!(
            base.starts_with("file:///") && base.ends_with("/repo/"),
            "{base}"
        );
        let vcp = &run["versionControlProvenance"][0];
        assert_eq!(vcp["repositoryUri"], "https://example.org/o/r.git");
        assert_eq!(vcp["revisionId"], head.as_str());
        assert_eq!(vcp["branch"], "refs/heads/main");
        assert_eq!(run["automationDetails"]["id"], "keysweep/files/");
        assert!(run["invocations"][0]["workingDirectory"]["uri"]
            .as_str()
            .unwrap()
            .starts_with("file:///"));
    }

    // History findings name their commit in the message.
    let run = sarif_run(&env, &d, &["--git"]);
    assert_eq!(run["automationDetails"]["id"], "keysweep/history/");
    assert_eq!(uris(&run), vec!["%SRCROOT%|\"src/app.py\""]);
    let msg = run["results"][0]["message"]["text"].as_str().unwrap();
    assert!(msg.contains(&format!("commit {}", &head[..12])), "{msg}");

    // Still valid SARIF 2.1.0.
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/sarif-schema-2.1.0.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let doc = serde_json::json!({"version": "2.1.0", "runs": [run]});
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

// Item 5: gitignored files were skipped and nothing said so; `--exclude
// './x'` matched nothing.
#[test]
fn ignored_and_excluded_paths_are_counted_and_announced() {
    let env = Env::new();
    let d = env.path();
    git(d, &["init", "-q"]);
    let mut fake = Fake::new(1309);
    env.write(".gitignore", ".env\nbuild/\n");
    env.write(".env", format!("T={}\n", fake.github_pat()));
    env.write("build/a.txt", format!("T={}\n", fake.github_pat()));
    env.write("build/b.txt", format!("T={}\n", fake.github_pat()));
    env.write("config/app.env", format!("T={}\n", fake.github_pat()));
    env.write("ok.txt", "fine\n");

    let out = env
        .cmd()
        .args(["scan", "-f", "json", "--exclude", "./config"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // `.env` and `build/` (once, as a directory); `config` by --exclude.
    assert_eq!(json["summary"]["skipped"]["ignored"], 2, "{json}");
    assert_eq!(json["summary"]["skipped"]["excluded"], 1, "{json}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("ignored by .gitignore").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("--no-ignore scans them"), "{stderr}");
    // The human summary counts them too.
    let out = env.cmd().args(["scan"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("ignored"), "{stdout}");

    let (code, json) = env.scan_json(&["--no-ignore"]);
    assert_eq!(code, 1);
    assert_eq!(findings(&json).len(), 4);
    // Quiet means quiet.
    let out = env
        .cmd()
        .args(["scan", "-q", "-f", "json"])
        .output()
        .unwrap();
    assert!(out.stderr.is_empty());
}

#[test]
fn completions_and_man_page() {
    let env = Env::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = env.cmd().args(["completions", shell]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("install-hook") && text.contains("staged"),
            "{shell}"
        );
    }
    let out = env.cmd().arg("man").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(".ie") || text.contains(".TH keysweep"),
        "{text}"
    );
    env.cmd().args(["completions", "tcsh"]).assert().code(2);
}
