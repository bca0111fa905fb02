//! Triage: config file, allowlists, inline allows, baselines, gitleaks
//! migration.

use std::path::Path;

use crate::common::{findings, git, Env, Fake};

const BASELINE: &str = ".keysweep-baseline.jsonl";

fn fixture(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/triage")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn paths(json: &serde_json::Value) -> Vec<String> {
    let mut v: Vec<String> = findings(json)
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

fn suppressed(json: &serde_json::Value, reason: &str) -> u64 {
    json["summary"]["suppressed"][reason].as_u64().unwrap_or(0)
}

/// Runs keysweep with `args`, expecting exit code `code`; returns stderr.
fn run(env: &Env, args: &[&str], code: i32) -> String {
    let out = env.cmd().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(code),
        "keysweep {args:?}\nstdout: {}\nstderr: {stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    stderr
}

// ---------------------------------------------------------------- baselines

#[test]
fn baseline_survives_a_line_move() {
    let env = Env::new();
    let tok = Fake::new(100).github_pat();
    env.write("src/app.py", format!("import os\nTOKEN = \"{tok}\"\n"));
    run(&env, &["baseline", "create", "-q"], 0);
    let text = std::fs::read_to_string(env.path().join(BASELINE)).unwrap();
    assert!(
        !text.contains(&tok[4..]),
        "the baseline holds the secret: {text}"
    );
    assert!(!text.contains("\"line\""), "{text}");

    // The code moves down and is re-indented: still known.
    env.write(
        "src/app.py",
        format!("import os\n\n\ndef f():\n    # moved\n    TOKEN = \"{tok}\"\n"),
    );
    let (code, json) = env.scan_json(&["--baseline", BASELINE, "."]);
    assert_eq!(code, 0, "{json}");
    assert!(findings(&json).is_empty());
    assert_eq!(suppressed(&json, "baseline"), 1);

    // A new secret beside it is reported; the known one is not.
    let new = Fake::new(101).github_pat();
    env.write(
        "src/app.py",
        format!("TOKEN = \"{tok}\"\nOTHER = \"{new}\"\n"),
    );
    let (code, json) = env.scan_json(&["--baseline", BASELINE, "--show-secrets", "."]);
    assert_eq!(code, 1);
    assert_eq!(findings(&json).len(), 1);
    assert_eq!(findings(&json)[0]["secret"], new.as_str());
    assert_eq!(findings(&json)[0]["line"], 2);
}

#[test]
fn a_renamed_file_is_new_only_because_its_path_changed() {
    let env = Env::new();
    let tok = Fake::new(102).github_pat();
    env.write("config/dev.env", format!("GH={tok}\n"));
    run(&env, &["baseline", "create", "-q", "-o", "bl.jsonl"], 0);
    std::fs::rename(
        env.path().join("config/dev.env"),
        env.path().join("config/local.env"),
    )
    .unwrap();
    let (code, json) = env.scan_json(&["--baseline", "bl.jsonl", "."]);
    assert_eq!(code, 1);
    assert_eq!(paths(&json), ["config/local.env"]);
    assert_eq!(suppressed(&json, "baseline"), 0);
    // Renamed back, the same content at the same path is known again.
    std::fs::rename(
        env.path().join("config/local.env"),
        env.path().join("config/dev.env"),
    )
    .unwrap();
    let (code, _) = env.scan_json(&["--baseline", "bl.jsonl", "."]);
    assert_eq!(code, 0);
}

#[test]
fn baseline_paths_do_not_depend_on_where_keysweep_runs() {
    let env = Env::new();
    let tok = Fake::new(103).github_pat();
    env.write("repo/a.txt", format!("{tok}\n"));
    run(
        &env,
        &["baseline", "create", "-q", "-o", "repo/bl.jsonl", "repo"],
        0,
    );
    let text = std::fs::read_to_string(env.path().join("repo/bl.jsonl")).unwrap();
    assert!(text.contains("\"path\":\"a.txt\""), "{text}");
    // Scanned with an absolute path from elsewhere, it is still known.
    let abs = env.path().join("repo");
    let out = env
        .cmd()
        .current_dir("/")
        .args(["scan", "-q", "-f", "json", "--baseline"])
        .arg(abs.join("bl.jsonl"))
        .arg(&abs)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn baseline_update_adds_and_prunes() {
    let env = Env::new();
    let mut fake = Fake::new(104);
    let (a, b, c) = (fake.github_pat(), fake.github_pat(), fake.github_pat());
    env.write("src/a.txt", format!("{a}\n"));
    env.write("src/b.txt", format!("{b}\n"));
    env.write("docs/c.txt", format!("{c}\n"));
    run(&env, &["baseline", "create", "-q"], 0);
    let read = || std::fs::read_to_string(env.path().join(BASELINE)).unwrap();
    let before = read();
    assert_eq!(before.lines().count(), 4, "{before}");

    // `create` refuses to replace a baseline (it would change the salt).
    let err = run(&env, &["baseline", "create", "-q"], 2);
    assert!(err.contains("already exists"), "{err}");

    let d = fake.github_pat();
    env.write("src/b.txt", "fixed\n");
    env.write("src/d.txt", format!("{d}\n"));
    std::fs::remove_file(env.path().join("docs/c.txt")).unwrap();
    // Updating only src/ prunes under src/ and leaves docs/ alone.
    let err = run(&env, &["baseline", "update", "src"], 0);
    assert!(err.contains("1 added, 1 removed, 3 entries"), "{err}");
    let after = read();
    assert_eq!(
        after.lines().next(),
        before.lines().next(),
        "header (salt) kept"
    );
    let entry_paths: Vec<&str> = after
        .lines()
        .skip(1)
        .map(|l| l.split('"').nth(3).unwrap())
        .collect();
    assert_eq!(entry_paths, ["docs/c.txt", "src/a.txt", "src/d.txt"]);
    // A whole-tree update prunes docs/ too; a second one changes nothing.
    let err = run(&env, &["baseline", "update"], 0);
    assert!(err.contains("0 added, 1 removed, 2 entries"), "{err}");
    let settled = read();
    run(&env, &["baseline", "update", "-q"], 0);
    assert_eq!(read(), settled, "update is idempotent");
    let err = run(&env, &["baseline", "update", "-o", "missing.jsonl"], 2);
    assert!(
        err.contains("missing.jsonl") && err.contains("baseline create"),
        "{err}"
    );
}

#[test]
fn baseline_from_config_and_no_baseline() {
    let env = Env::new();
    env.write("a.txt", Fake::new(105).github_pat());
    env.write("keysweep.toml", "baseline = \"known.jsonl\"\n");
    run(&env, &["baseline", "create", "-q"], 0);
    assert!(env.path().join("known.jsonl").is_file());
    let (code, _) = env.scan_json(&["."]);
    assert_eq!(code, 0);
    let (code, _) = env.scan_json(&["--no-baseline", "."]);
    assert_eq!(code, 1);
    // A baseline that cannot be read is an error, not an empty baseline.
    env.write("known.jsonl", "{\"not\": \"a baseline\"}\n");
    let err = run(&env, &["scan", "."], 2);
    assert!(
        err.contains("known.jsonl:1: not a keysweep baseline"),
        "{err}"
    );
}

#[test]
fn baseline_files_are_not_scanned() {
    let env = Env::new();
    let mut fake = Fake::new(116);
    env.write("a.txt", fake.github_pat());
    // A rule that would report the baseline's own hashes.
    env.write(
        "hex.yml",
        "rules:\n  - id: hex-hash\n    name: hex\n    keywords: [secret_hash]\n    pattern: '\"secret_hash\":\"([a-f0-9]{32})\"'\n",
    );
    env.write(
        "data/other.json",
        format!(
            "{{\"secret_hash\":\"{}\"}}\n",
            fake.string("0123456789abcdef", 32)
        ),
    );
    run(&env, &["baseline", "create", "-q", "--rules", "hex.yml"], 0);
    let (code, json) = env.scan_json(&["--rules", "hex.yml", "--baseline", BASELINE, "."]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(suppressed(&json, "baseline"), 2);
    assert_eq!(json["summary"]["skipped"]["baseline"], 1);
}

/// Two branches each accept a different new secret with `baseline update`;
/// git merges the two baselines as text, without a conflict, and the result
/// knows both secrets.
#[test]
fn baselines_from_two_branches_merge_without_conflict() {
    let env = Env::new();
    let repo = env.path();
    let mut fake = Fake::new(106);
    git(repo, &["init", "-q"]);
    env.write("m/base.txt", format!("{}\n", fake.github_pat()));
    run(&env, &["baseline", "create", "-q"], 0);
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", "baseline"]);

    git(repo, &["checkout", "-q", "-b", "feature-a"]);
    env.write("a/new.txt", format!("{}\n", fake.github_pat()));
    run(&env, &["baseline", "update", "-q"], 0);
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", "a"]);

    git(repo, &["checkout", "-q", "main"]);
    git(repo, &["checkout", "-q", "-b", "feature-z"]);
    env.write("z/new.txt", format!("{}\n", fake.github_pat()));
    run(&env, &["baseline", "update", "-q"], 0);
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", "z"]);

    git(repo, &["merge", "-q", "--no-edit", "feature-a"]);
    let merged = std::fs::read_to_string(repo.join(BASELINE)).unwrap();
    assert!(!merged.contains("<<<<<<<"), "{merged}");
    assert_eq!(merged.lines().count(), 4, "{merged}");
    let (code, json) = env.scan_json(&["--baseline", BASELINE, "."]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(suppressed(&json, "baseline"), 3);
}

/// Entries that sort into the same place conflict in a plain three-way merge;
/// with `merge=union` (as docs/triage.md recommends) they merge, and the file
/// stays valid because entries are independent lines.
#[test]
fn same_place_additions_merge_with_union() {
    let env = Env::new();
    let repo = env.path();
    let mut fake = Fake::new(107);
    git(repo, &["init", "-q"]);
    env.write(".gitattributes", format!("{BASELINE} merge=union\n"));
    env.write("a.txt", format!("{}\n", fake.github_pat()));
    run(&env, &["baseline", "create", "-q"], 0);
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", "baseline"]);
    for (branch, file) in [("one", "b1.txt"), ("two", "b2.txt")] {
        git(repo, &["checkout", "-q", "main"]);
        git(repo, &["checkout", "-q", "-b", branch]);
        env.write(file, format!("{}\n", fake.github_pat()));
        run(&env, &["baseline", "update", "-q"], 0);
        git(repo, &["add", "-A"]);
        git(repo, &["commit", "-q", "-m", branch]);
    }
    git(repo, &["merge", "-q", "--no-edit", "one"]);
    let (code, json) = env.scan_json(&["--baseline", BASELINE, "."]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(suppressed(&json, "baseline"), 3);
}

// ------------------------------------------------------------------ config

#[test]
fn unknown_config_key_is_an_error_naming_key_and_file() {
    let env = Env::new();
    env.write("a.txt", "nothing here\n");
    env.write(
        "keysweep.toml",
        "[rules]\nexclude = []\n\n[allowlist]\nstopword = [\"example\"]\n",
    );
    let err = run(&env, &["scan", "."], 2);
    assert!(err.contains("keysweep.toml"), "{err}");
    assert!(err.contains("unknown field `stopword`"), "{err}");
    assert!(err.contains("line 5"), "{err}");

    // The same through --config and KEYSWEEP_CONFIG, in a nested table.
    env.write(
        "other.toml",
        "[[revoke.broker]]\nkind = \"http\"\nurl = \"https://broker.internal/v1\"\ntoken = \"x\"\n",
    );
    let err = run(&env, &["scan", "--config", "other.toml", "."], 2);
    assert!(
        err.contains("other.toml") && err.contains("unknown field `token`"),
        "{err}"
    );
    let out = env
        .cmd()
        .env("KEYSWEEP_CONFIG", "other.toml")
        .args(["scan", "."])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown field `token`"));
    // --no-config reads none of them.
    run(&env, &["scan", "-q", "--no-config", "."], 0);
}

#[test]
fn config_sets_rules_size_and_endpoints() {
    let env = Env::new();
    let mut fake = Fake::new(108);
    env.write(
        "big.txt",
        format!("{}\n{}\n", fake.github_pat(), "x".repeat(2000)),
    );
    env.write(
        "extra/acme.yml",
        "rules:\n  - id: acme-token\n    name: ACME\n    keywords: [acme_]\n    pattern: '\\b(acme_[a-z0-9]{24})\\b'\n",
    );
    env.write("small.txt", "k = acme_q8wn4rt2yp6lm0vzx3c7k5j9\n");
    env.write(
        "keysweep.toml",
        "max_file_size = \"1K\"\n[rules]\npaths = [\"extra\"]\nexclude = [\"github-*\"]\n[endpoints]\nacme = \"https://acme.example.com\"\n",
    );
    let (code, json) = env.scan_json(&["."]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(paths(&json), ["small.txt"]);
    assert_eq!(json["summary"]["skipped"]["too-large"], 1);
    // The flag beats the config.
    let (_, json) = env.scan_json(&["--max-file-size", "1M", "--rule", "github-*", "."]);
    assert_eq!(paths(&json), ["big.txt"]);
    // An endpoint for a provider no rule has is a typo, not a no-op.
    env.write(
        "keysweep.toml",
        "[endpoints]\ngithib = \"https://github.example.com\"\n",
    );
    let err = run(&env, &["scan", "."], 2);
    assert!(err.contains("keysweep.toml: endpoints.githib"), "{err}");
    // A rule id in the config that names no rule is an error naming the file.
    env.write("keysweep.toml", "[rules]\ninclude = [\"no-such-rule\"]\n");
    let err = run(&env, &["scan", "."], 2);
    assert!(
        err.contains("keysweep.toml") && err.contains("no-such-rule"),
        "{err}"
    );
}

#[test]
fn init_writes_a_config_that_loads() {
    let env = Env::new();
    run(&env, &["init"], 0);
    let text = std::fs::read_to_string(env.path().join("keysweep.toml")).unwrap();
    assert!(text.contains("[allowlist]") && text.contains("[[revoke.broker]]"));
    env.write("a.txt", Fake::new(109).github_pat());
    let (code, _) = env.scan_json(&["."]);
    assert_eq!(code, 1);
    let err = run(&env, &["init"], 2);
    assert!(err.contains("already exists"), "{err}");
    run(&env, &["init", "--force"], 0);
}

// -------------------------------------------------------------- allowlists

#[test]
fn allowlists_suppress_and_count_by_reason() {
    let env = Env::new();
    let mut fake = Fake::new(110);
    let real = fake.github_pat();
    env.write("src/app.py", format!("T = \"{real}\"\n"));
    env.write("tests/fixtures/t.txt", fake.github_pat());
    env.write("deep/dir/key.snap", fake.github_pat());
    env.write(
        "src/doc.md",
        format!("token: {}  # docs\n", fake.github_pat()),
    );
    let stop = format!("ghp_{}SAMPLE{}", fake.alnum(10), fake.alnum(20));
    env.write("src/sample.txt", format!("{stop}\n"));
    env.write(
        "src/only.rs",
        format!("let t = \"{}\";\n", fake.github_pat()),
    );
    env.write(
        "keysweep.toml",
        r#"
[allowlist]
description = "fixtures"
paths = ["tests/fixtures/**", "*.snap"]
stopwords = ["sample"]

[allowlist.rule.github-pat-classic]
regexes = ['# docs$']
target = "line"

[allowlist.rule."other-*"]
paths = ["src/**"]
"#,
    );
    let (code, json) = env.scan_json(&["."]);
    assert_eq!(code, 1);
    assert_eq!(paths(&json), ["src/app.py", "src/only.rs"]);
    assert_eq!(suppressed(&json, "allowlist-path"), 2);
    assert_eq!(suppressed(&json, "allowlist-stopword"), 1);
    assert_eq!(suppressed(&json, "allowlist-regex"), 1);
    assert_eq!(json["summary"]["findings"], 2);

    // --show-suppressed lists them, marked, without changing the count.
    let (_, json) = env.scan_json(&["--show-suppressed", "."]);
    let all = findings(&json);
    assert_eq!(all.len(), 6);
    assert_eq!(json["summary"]["findings"], 2);
    let snap = all
        .iter()
        .find(|f| f["path"] == "deep/dir/key.snap")
        .unwrap();
    assert_eq!(snap["suppressed"]["reason"], "allowlist-path");
    let detail = snap["suppressed"]["detail"].as_str().unwrap();
    assert!(
        detail.contains("keysweep.toml [allowlist]")
            && detail.contains("*.snap")
            && detail.contains("fixtures"),
        "{detail}"
    );
    let doc = all.iter().find(|f| f["path"] == "src/doc.md").unwrap();
    assert!(doc["suppressed"]["detail"]
        .as_str()
        .unwrap()
        .contains("[allowlist.rule.github-pat-classic]"));
    assert!(all.iter().find(|f| f["path"] == "src/app.py").unwrap()["suppressed"].is_null());

    // The human summary line counts by reason.
    let out = env.cmd().args(["scan", "."]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("2 findings (2 distinct secrets) in 2 files;")
            && stdout.contains(
                "4 suppressed (2 allowlist path, 1 allowlist regex, 1 allowlist stopword) [--show-suppressed lists them]"
            ),
        "{stdout}"
    );
    let out = env
        .cmd()
        .args(["scan", "--show-suppressed", "."])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(
            "  suppressed   allowlist stopword: keysweep.toml [allowlist]: stopword `sample`"
        ),
        "{stdout}"
    );

    // SARIF marks them as suppressions, which code scanning closes.
    let out = env
        .cmd()
        .args(["scan", "-f", "sarif", "--show-suppressed", "."])
        .output()
        .unwrap();
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 6);
    let kinds: Vec<&str> = results
        .iter()
        .filter_map(|r| r["suppressions"][0]["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["external"; 4]);
}

#[test]
fn bad_allowlist_entries_fail_naming_the_table() {
    let env = Env::new();
    env.write("a.txt", "x");
    for (toml, want) in [
        (
            "[allowlist]\npaths = [\"a/[b\"]\n",
            "[allowlist]: path glob",
        ),
        (
            "[allowlist.rule.x]\nregexes = ['(']\n",
            "[allowlist.rule.x]: regex",
        ),
        ("[allowlist]\ncommits = [\"HEAD\"]\n", "commit \"HEAD\""),
        ("[allowlist]\ntarget = \"file\"\n", "unknown variant `file`"),
    ] {
        env.write("keysweep.toml", toml);
        let err = run(&env, &["scan", "."], 2);
        assert!(
            err.contains("keysweep.toml") && err.contains(want),
            "{toml}: {err}"
        );
    }
}

// ----------------------------------------------------------- inline allows

#[test]
fn inline_allows_of_each_syntax() {
    let env = Env::new();
    let mut fake = Fake::new(111);
    let t: Vec<String> = (0..8).map(|_| fake.github_pat()).collect();
    env.write(
        "app.py",
        format!(
            "a = \"{}\"  # keysweep:allow\n\
             b = \"{}\"  # gitleaks:allow\n\
             c = \"{}\"  # pragma: allowlist secret\n\
             # keysweep:allow-next-line\n\
             d = \"{}\"\n\
             # pragma: allowlist nextline secret\n\
             e = \"{}\"\n\
             f = \"{}\"  # keysweep:allow-next-line\n\
             # keysweep:allow\n\
             \n\
             g = \"{}\"\n\
             h = \"{}\"\n",
            t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]
        ),
    );
    let (code, json) = env.scan_json(&["--show-secrets", "--show-suppressed", "app.py"]);
    assert_eq!(code, 1);
    let all = findings(&json);
    let reported: Vec<&str> = all
        .iter()
        .filter(|f| f["suppressed"].is_null())
        .map(|f| f["secret"].as_str().unwrap())
        .collect();
    assert_eq!(reported, [t[5].as_str(), t[6].as_str(), t[7].as_str()]);
    assert_eq!(suppressed(&json, "inline"), 5);
    let details: Vec<&str> = all
        .iter()
        .filter_map(|f| f["suppressed"]["detail"].as_str())
        .collect();
    for marker in [
        "`keysweep:allow` on the line",
        "`gitleaks:allow` on the line",
        "`pragma: allowlist secret` on the line",
        "`keysweep:allow-next-line` on the line before",
        "`pragma: allowlist nextline secret` on the line before",
    ] {
        assert!(
            details.contains(&marker),
            "{marker} missing from {details:?}"
        );
    }
    // SARIF calls them in-source suppressions.
    let out = env
        .cmd()
        .args(["scan", "-f", "sarif", "--show-suppressed", "app.py"])
        .output()
        .unwrap();
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let in_source = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["suppressions"][0]["kind"] == "inSource")
        .count();
    assert_eq!(in_source, 5);
}

// --------------------------------------------------------- gitleaks config

/// The fixture config in a tree with one file per documented behaviour.
fn gitleaks_tree(env: &Env, fake: &mut Fake) -> (String, String) {
    let live = format!("acme_live_{}", fake.alnum(24));
    env.write("src/config.py", format!("TOKEN = \"{live}\"\n"));
    env.write(
        "src/tests.py",
        format!("TOKEN = \"acme_test_{}\"\n", fake.alnum(24)),
    );
    env.write(
        "docs/usage.md",
        format!("For example: `acme_live_{}`\n", fake.alnum(24)),
    );
    env.write(
        "vendor/lib/client.js",
        format!("t=\"acme_live_{}\"\n", fake.alnum(24)),
    );
    let password = format!("Pw{}", fake.alnum(14));
    env.write(
        "deploy/app.env",
        format!("DATABASE_URL=postgres://app:{password}@db.internal\n"),
    );
    // The rule's `path` limits it to env/yaml/toml files.
    env.write(
        "src/db.py",
        format!("URL = 'postgres://app:{}@db.internal'\n", fake.alnum(16)),
    );
    env.write(
        "deploy/dev.env",
        format!(
            "DATABASE_URL=postgres://app:devpass{}@localhost\n",
            fake.alnum(8)
        ),
    );
    env.write(
        "src/session.go",
        format!(
            "key := \"ACME-SESSION-{}\"\n",
            fake.string("0123456789ABCDEF", 32)
        ),
    );
    env.write(
        ".github/workflows/ci.yml",
        format!("token: {}\n", fake.github_pat()),
    );
    env.write(
        "ci/fixtures/revoked.txt",
        format!("{}\n", fake.github_pat()),
    );
    env.write(
        "src/legacy.py",
        format!("T = \"{}\"  # gitleaks:allow\n", fake.github_pat()),
    );
    env.write(
        "src/ignored.py",
        format!("T = \"acme_live_{}\"\n", fake.alnum(24)),
    );
    env.write(
        ".gitleaksignore",
        "# accepted in review\nsrc/ignored.py:acme-api-token:1\n",
    );
    (live, password)
}

#[test]
fn gitleaks_config_with_allowlists_and_extended_defaults() {
    let env = Env::new();
    let mut fake = Fake::new(112);
    let (live, password) = gitleaks_tree(&env, &mut fake);
    env.write("gl/gitleaks.toml", fixture("gitleaks.toml"));

    let (code, json) = env.scan_json(&[
        "--gitleaks-config",
        "gl/gitleaks.toml",
        "--show-secrets",
        ".",
    ]);
    assert_eq!(code, 1, "{json}");
    let mut got: Vec<(String, String)> = findings(&json)
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().into(),
                f["rule_id"].as_str().unwrap().into(),
            )
        })
        .collect();
    got.sort();
    let want: Vec<(String, String)> = [
        (".github/workflows/ci.yml", "github-pat-classic"),
        ("deploy/app.env", "acme-db-password"),
        ("src/config.py", "acme-api-token"),
        // The acme rule's `path` keeps it to env files, but with useDefault
        // keysweep's own rules run too, and its generic detector reports a
        // password in a URL wherever it is.
        ("src/db.py", "generic-url-password"),
        ("src/session.go", "acme-session-key"),
    ]
    .iter()
    .map(|(p, r)| (p.to_string(), r.to_string()))
    .collect();
    assert_eq!(got, want);
    let by_path = |p: &str| {
        findings(&json)
            .iter()
            .find(|f| f["path"] == p)
            .unwrap()
            .clone()
    };
    assert_eq!(by_path("src/config.py")["secret"], live.as_str());
    assert_eq!(
        by_path("src/config.py")["rule_name"],
        "ACME internal API token"
    );
    // secretGroup = 1: the password, not the URL.
    assert_eq!(by_path("deploy/app.env")["secret"], password.as_str());
    // No secretGroup and no capture group: the whole match.
    assert!(by_path("src/session.go")["secret"]
        .as_str()
        .unwrap()
        .starts_with("ACME-SESSION-"));

    assert_eq!(
        suppressed(&json, "allowlist-regex"),
        2,
        "{}",
        json["summary"]
    );
    assert_eq!(suppressed(&json, "allowlist-path"), 2);
    assert_eq!(suppressed(&json, "allowlist-stopword"), 1);
    assert_eq!(suppressed(&json, "inline"), 1);
    assert_eq!(suppressed(&json, "gitleaksignore"), 1);

    let (_, json) = env.scan_json(&[
        "--gitleaks-config",
        "gl/gitleaks.toml",
        "--show-suppressed",
        ".",
    ]);
    let detail = |p: &str| {
        findings(&json).iter().find(|f| f["path"] == p).unwrap()["suppressed"]["detail"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(detail("vendor/lib/client.js").contains("vendored and generated code"));
    assert!(detail("ci/fixtures/revoked.txt").contains("CI fixtures"));
    assert!(detail("docs/usage.md").contains("on the line"));
    assert!(detail("src/tests.py").contains("test-mode tokens"));
    assert!(detail("src/ignored.py").contains("src/ignored.py:acme-api-token:1"));
}

#[test]
fn gitleaks_toml_at_the_root_is_used_without_a_keysweep_config() {
    let env = Env::new();
    let mut fake = Fake::new(113);
    gitleaks_tree(&env, &mut fake);
    env.write(".gitleaks.toml", fixture("gitleaks.toml"));
    let out = env
        .cmd()
        .args(["scan", "-f", "json", "."])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(".gitleaks.toml: using this gitleaks config")
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // The four of the test above plus the generic detector's URL password.
    assert_eq!(findings(&json).len(), 5);
    // A keysweep.toml takes over: the gitleaks rules are not loaded...
    env.write("keysweep.toml", "");
    let (_, json) = env.scan_json(&["."]);
    assert!(
        findings(&json)
            .iter()
            .all(|f| !f["rule_id"].as_str().unwrap().starts_with("acme-")),
        "{json}"
    );
    assert!(findings(&json)
        .iter()
        .any(|f| f["rule_id"] == "github-pat-classic"));
    // ...unless it names the gitleaks config.
    env.write("keysweep.toml", "gitleaks_config = \".gitleaks.toml\"\n");
    let (_, json) = env.scan_json(&["."]);
    assert_eq!(findings(&json).len(), 5);
    // `rules list` shows the imported rules with their origin.
    let rules = env.rules_list();
    let acme = rules["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "acme-session-key")
        .unwrap();
    assert_eq!(acme["origin"], ".gitleaks.toml");
    assert_eq!(acme["keywords"], serde_json::json!(["acme-session-"]));
}

#[test]
fn gitleaks_without_use_default_replaces_bundled_rules() {
    let env = Env::new();
    let mut fake = Fake::new(114);
    env.write(
        "a.txt",
        format!("{}\nx = acme_live_{}\n", fake.github_pat(), fake.alnum(24)),
    );
    let own = fixture("gitleaks.toml").replace("useDefault = true", "useDefault = false");
    let own = own.replace(
        "targetRules = [\"github-pat-classic\"]",
        "targetRules = [\"acme-api-token\"]",
    );
    env.write("own.toml", &own);
    let (_, json) = env.scan_json(&["--gitleaks-config", "own.toml", "."]);
    let ids: Vec<&str> = findings(&json)
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["acme-api-token"]);
    // disabledRules drops a bundled rule when extending the defaults.
    env.write(
        "dis.toml",
        "[extend]\nuseDefault = true\ndisabledRules = [\"github-pat-classic\", \"generic-api-key\"]\n[[rules]]\nid = \"x\"\nregex = 'xq_[a-z]{30}'\n",
    );
    let out = env
        .cmd()
        .args(["scan", "-f", "json", "--gitleaks-config", "dis.toml", "."])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(findings(&json).is_empty(), "{json}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no bundled rule \"generic-api-key\""),
        "{stderr}"
    );
}

#[test]
fn gitleaks_extend_path_merges_rules() {
    let env = Env::new();
    let mut fake = Fake::new(115);
    env.write("base/gitleaks.toml", fixture("gitleaks.toml"));
    // Extends the fixture by path, drops one of its rules, overrides another.
    env.write(
        "conf/gitleaks.toml",
        "[extend]\npath = \"../base/gitleaks.toml\"\ndisabledRules = [\"acme-session-key\"]\n\n\
         [[rules]]\nid = \"acme-api-token\"\ndescription = \"ACME token (overridden)\"\n",
    );
    env.write(
        "a.txt",
        format!(
            "t = acme_live_{}\nACME-SESSION-{}\n",
            fake.alnum(24),
            fake.string("0123456789ABCDEF", 32)
        ),
    );
    let (_, json) = env.scan_json(&["--gitleaks-config", "conf/gitleaks.toml", "a.txt"]);
    let f = findings(&json);
    assert_eq!(f.len(), 1, "{json}");
    assert_eq!(f[0]["rule_name"], "ACME token (overridden)");
}

#[test]
fn unmappable_gitleaks_regex_names_the_rule() {
    let env = Env::new();
    env.write("a.txt", "x");
    env.write(
        "g.toml",
        "[[rules]]\nid = \"greek-key\"\nregex = '''\\p{Greek}{10}'''\nkeywords = [\"k\"]\n",
    );
    let err = run(&env, &["scan", "--gitleaks-config", "g.toml", "."], 2);
    assert!(
        err.contains("g.toml: rule greek-key: regex: Unicode classes"),
        "{err}"
    );
    env.write(
        "g.toml",
        "[[rules]]\nid = \"k\"\nregex = 'x'\nsecretgroups = 1\n",
    );
    let err = run(&env, &["scan", "--gitleaks-config", "g.toml", "."], 2);
    assert!(
        err.contains("rule k") && err.contains("unknown field `secretgroups`"),
        "{err}"
    );
}

// ------------------------------------------------- keyed baseline hashes

/// `keysweep ARGS` with `KEYSWEEP_ID_KEY=key`: (exit code, stderr).
fn run_keyed(env: &Env, key: &str, args: &[&str]) -> (i32, String) {
    let out = env
        .cmd()
        .env("KEYSWEEP_ID_KEY", key)
        .args(args)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap(), err)
}

#[test]
fn a_baseline_matches_only_under_the_key_it_was_written_with() {
    let env = Env::new();
    let tok = Fake::new(110).github_pat();
    env.write("src/app.py", format!("TOKEN = \"{tok}\"\n"));
    let k = "ci-secret-key-one-0123456789";
    let k2 = "ci-secret-key-two-0123456789";
    assert_eq!(run_keyed(&env, k, &["baseline", "create", "-q"]).0, 0);
    let text = std::fs::read_to_string(env.path().join(BASELINE)).unwrap();
    assert!(
        text.starts_with("{\"keysweep_baseline\":2,") && text.contains("\"key_id\":\""),
        "{text}"
    );
    // Same key (another CI machine given the same secret): suppressed.
    let scan = ["scan", "--baseline", BASELINE, "."];
    let (code, err) = run_keyed(&env, k, &scan);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("identity key"), "{err}");
    // Another key: nothing matches, and the user is told why.
    let (code, err) = run_keyed(&env, k2, &scan);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(BASELINE)
            && err.contains("another identity key")
            && err.contains("KEYSWEEP_ID_KEY"),
        "{err}"
    );
    // `update` under the other key would mix keys: refused.
    let (code, err) = run_keyed(&env, k2, &["baseline", "update", "-q"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("another identity key"), "{err}");
}

#[test]
fn a_version_1_baseline_still_suppresses_with_a_warning_to_regenerate_it() {
    use sha2::{Digest, Sha256};
    let env = Env::new();
    let tok = Fake::new(111).github_pat();
    env.write("src/app.py", format!("TOKEN = \"{tok}\"\n"));
    // What keysweep wrote before keyed hashes: SHA-256 of salt and secret.
    let salt = "5f0c1e2d3c4b5a69";
    let mut h = Sha256::new();
    h.update(format!("keysweep/baseline/v1\0{salt}\0{tok}").as_bytes());
    let hash: String = h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    env.write(
        BASELINE,
        format!(
            "{{\"keysweep_baseline\":1,\"about\":\"old\",\"salt\":\"{salt}\"}}\n\
             {{\"path\":\"src/app.py\",\"rule\":\"github-pat-classic\",\"secret_hash\":\"{hash}\"}}\n"
        ),
    );
    let scan = ["scan", "--baseline", BASELINE, "."];
    let (code, err) = run_keyed(&env, "any-key-0123456789abcdef", &scan);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("version 1 baseline") && err.contains("baseline create --force"),
        "{err}"
    );
    // The migration the warning names: rewritten keyed, still matching.
    run_keyed(
        &env,
        "any-key-0123456789abcdef",
        &["baseline", "create", "--force", "-q"],
    );
    let text = std::fs::read_to_string(env.path().join(BASELINE)).unwrap();
    assert!(
        text.starts_with("{\"keysweep_baseline\":2,") && !text.contains(&hash),
        "{text}"
    );
    let (code, err) = run_keyed(&env, "any-key-0123456789abcdef", &scan);
    assert_eq!((code, err.contains("version 1")), (0, false), "{err}");
}

#[test]
fn report_fingerprints_are_keyed_not_a_plain_hash_of_the_secret() {
    use sha2::{Digest, Sha256};
    let env = Env::new();
    let tok = Fake::new(112).github_pat();
    env.write("a.env", format!("GH={tok}\n"));
    let fp = |key: &str| {
        let out = env
            .cmd()
            .env("KEYSWEEP_ID_KEY", key)
            .args(["scan", "-f", "json", "-q", "."])
            .output()
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        findings(&json)[0]["fingerprint"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (a, b) = (fp("key-a-0123456789abcdef"), fp("key-b-0123456789abcdef"));
    assert_ne!(a, b);
    assert_eq!(a, fp("key-a-0123456789abcdef"));
    let hex = |d: &[u8]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let plain = hex(&Sha256::digest(tok.as_bytes()));
    let v1 = hex(&Sha256::digest(
        format!("keysweep/fp/v1\0github-pat-classic\0a.env\0{tok}").as_bytes(),
    ));
    for f in [&a, &b] {
        assert!(
            !plain.starts_with(f.as_str()) && !v1.starts_with(f.as_str()),
            "{f}"
        );
    }
}
