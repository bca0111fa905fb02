//! Git history, staged changes and the pre-commit hook, on repositories built
//! in each test.

use std::path::Path;

use git2::{Signature, Time};

use crate::common::{finding_paths, findings, git, Env, Fake};
use crate::repo::Repo;

fn git_json(env: &Env, args: &[&str]) -> (i32, serde_json::Value) {
    let mut all = vec!["--git"];
    all.extend_from_slice(args);
    env.scan_json(&all)
}

/// A history scan's JSON report and its log at info level (which says how
/// blobs and messages were read).
fn git_json_logged(env: &Env, args: &[&str]) -> (serde_json::Value, String) {
    let out = env
        .cmd()
        .args(["scan", "--git", "--log-level", "info", "-f", "json"])
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}); stderr: {stderr}"));
    (json, stderr)
}

#[test]
fn secret_added_then_removed_is_history_only_with_provenance() {
    let env = Env::new();
    let r = Repo::init(env.path());
    let tok = Fake::new(40).github_pat();
    r.write("README.md", "hello\n");
    r.commit("initial", 1_700_000_000);
    r.write("config/app.env", &format!("A=1\nGITHUB_TOKEN={tok}\n"));
    let added = r.commit("add config\n\nlong body", 1_700_000_100);
    r.remove("config/app.env");
    r.commit("remove config", 1_700_000_200);

    let (code, json) = git_json(&env, &["--show-secrets", "."]);
    assert_eq!(code, 1);
    let f = &findings(&json)[0];
    assert_eq!(findings(&json).len(), 1);
    assert_eq!(f["path"], "config/app.env");
    assert_eq!(f["line"], 2);
    assert_eq!(f["secret"], tok.as_str());
    assert_eq!(f["commit"], added.to_string());
    assert_eq!(f["author"], "Ada Lovelace");
    assert_eq!(f["email"], "ada@example.org");
    assert_eq!(f["date"], "2023-11-14T23:15:00+01:00");
    assert_eq!(f["message"], "add config");
    assert_eq!(f["status"], "history-only");
    assert_eq!(json["summary"]["git"]["commits"], 3);
}

#[test]
fn secret_at_tip_is_present_and_edits_do_not_duplicate() {
    let env = Env::new();
    let r = Repo::init(env.path());
    let tok = Fake::new(41).github_pat();
    r.write("app.py", &format!("T = '{tok}'\n"));
    let first = r.commit("add", 1_700_000_000);
    r.write("app.py", &format!("# edited\nT = '{tok}'\n"));
    r.commit("edit", 1_700_000_100);
    let (_, json) = git_json(&env, &["."]);
    let fs = findings(&json);
    assert_eq!(fs.len(), 1, "{json}");
    assert_eq!(fs[0]["commit"], first.to_string());
    assert_eq!(fs[0]["line"], 1, "located in the introducing version");
    assert_eq!(fs[0]["status"], "present");
    assert_eq!(fs[0]["occurrences"], 0);
    // The same secret pasted at another path is a second finding, and each
    // counts the other.
    r.write("copy.py", &format!("X = '{tok}'\n"));
    r.commit("copy", 1_700_000_200);
    let (_, json) = git_json(&env, &["."]);
    let fs = findings(&json);
    assert_eq!(fs.len(), 2, "{json}");
    assert!(fs.iter().all(|f| f["occurrences"] == 1));
}

#[test]
fn side_branches_tags_and_branch_filter() {
    let env = Env::new();
    let r = Repo::init(env.path());
    let mut fake = Fake::new(42);
    r.write("a.txt", "base\n");
    r.commit("base", 1_700_000_000);
    r.checkout_new_branch("feature");
    r.write("feature.txt", &fake.github_pat());
    r.commit("feature work", 1_700_000_100);
    r.checkout("main");
    // A tag on a commit that no branch reaches.
    r.write("tagged.txt", &fake.github_pat());
    let tagged = r.commit("to be tagged", 1_700_000_200);
    r.repo
        .tag_lightweight("v1", &r.repo.find_object(tagged, None).unwrap(), false)
        .unwrap();
    let base = r
        .repo
        .revparse_single("main~1")
        .unwrap()
        .peel_to_commit()
        .unwrap();
    r.repo
        .reference("refs/heads/main", base.id(), true, "rewind")
        .unwrap();
    r.checkout("main");

    let (_, json) = git_json(&env, &["."]);
    let paths = finding_paths(&json);
    assert_eq!(paths, vec!["feature.txt", "tagged.txt"]);

    let (code, json) = git_json(&env, &["--branch", "main", "."]);
    assert_eq!(code, 0, "{json}");
    let (_, json) = git_json(&env, &["--branch", "feature", "."]);
    assert_eq!(findings(&json).len(), 1);
    assert_eq!(findings(&json)[0]["status"], "present");
}

#[test]
fn same_blob_at_many_paths_is_scanned_once() {
    let env = Env::new();
    let r = Repo::init(env.path());
    let content = format!("token: {}\n", Fake::new(43).github_pat());
    for i in 0..20 {
        r.write(&format!("copies/c{i}.yml"), &content);
    }
    r.commit("copies", 1_700_000_000);
    r.write("moved/renamed.yml", &content);
    r.remove("copies/c0.yml");
    r.commit("rename one", 1_700_000_100);
    let (_, json) = git_json(&env, &["."]);
    assert_eq!(json["summary"]["files_scanned"], 1, "one distinct blob");
    let fs = findings(&json);
    assert_eq!(fs.len(), 1);
    assert!(fs[0]["path"].as_str().unwrap().starts_with("copies/c"));
}

#[test]
fn merges_and_ranges() {
    let env = Env::new();
    let r = Repo::init(env.path());
    let mut fake = Fake::new(44);
    r.write("a.txt", "a\n");
    let base = r.commit("base", 1_700_000_000);
    r.write("old.txt", &fake.github_pat());
    let old = r.commit("old secret", 1_700_000_100);
    r.checkout_new_branch("pr");
    r.write("new.txt", &fake.github_pat());
    let pr = r.commit("pr secret", 1_700_000_200);
    // Merge pr into main with a merge commit.
    r.checkout("main");
    r.write("main.txt", "main side\n");
    let main_tip = r.commit("main side", 1_700_000_300);
    let sig = Signature::new("M", "m@example.org", &Time::new(1_700_000_400, 0)).unwrap();
    let mut idx = r
        .repo
        .merge_commits(
            &r.repo.find_commit(main_tip).unwrap(),
            &r.repo.find_commit(pr).unwrap(),
            None,
        )
        .unwrap();
    let tree = r
        .repo
        .find_tree(idx.write_tree_to(&r.repo).unwrap())
        .unwrap();
    let parents = [
        &r.repo.find_commit(main_tip).unwrap(),
        &r.repo.find_commit(pr).unwrap(),
    ];
    r.repo
        .commit(Some("HEAD"), &sig, &sig, "merge pr", &tree, &parents)
        .unwrap();

    let (_, json) = git_json(&env, &["."]);
    assert_eq!(findings(&json).len(), 2, "{json}");
    let new = findings(&json)
        .iter()
        .find(|f| f["path"] == "new.txt")
        .unwrap();
    assert_eq!(
        new["commit"],
        pr.to_string(),
        "introduced by the branch commit, not the merge"
    );

    let range = format!("{old}..{pr}");
    let (_, json) = git_json(&env, &["--range", &range, "."]);
    let paths: Vec<&str> = findings(&json)
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, vec!["new.txt"]);

    let (_, json) = git_json(&env, &["--since-commit", &base.to_string(), "."]);
    assert_eq!(findings(&json).len(), 2);
    let out = env
        .cmd()
        .args(["git", "--range", "nope..HEAD", "."])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope: unknown revision"));
}

#[test]
fn shallow_clone_and_bare_mirror() {
    let env = Env::new();
    let src = env.path().join("src");
    let r = Repo::init(&src);
    let mut fake = Fake::new(45);
    r.write("old.txt", &fake.github_pat());
    r.commit("old", 1_700_000_000);
    r.remove("old.txt");
    r.write("new.txt", &fake.github_pat());
    r.commit("new", 1_700_000_100);
    let url = format!("file://{}", src.display());
    git(
        env.path(),
        &["clone", "-q", "--depth", "1", &url, "shallow"],
    );
    git(env.path(), &["clone", "-q", "--mirror", &url, "mirror.git"]);

    let out = env
        .cmd()
        .args(["git", "-f", "json", "shallow"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("shallow clone"), "{stderr}");
    assert_eq!(json["summary"]["git"]["shallow"], true);
    let paths: Vec<&str> = findings(&json)
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, vec!["new.txt"]);

    let (_, json) = env.scan_json(&["--git", "mirror.git"]);
    assert_eq!(findings(&json).len(), 2);
    assert_eq!(json["summary"]["git"]["shallow"], false);
}

#[test]
fn corrupt_object_is_reported_and_skipped() {
    let env = Env::new();
    let r = Repo::init(env.path());
    let mut fake = Fake::new(46);
    r.write("good.txt", &fake.github_pat());
    r.write("bad.txt", &format!("other {}", fake.github_pat()));
    r.commit("two files", 1_700_000_000);
    let bad = r
        .repo
        .revparse_single("HEAD:bad.txt")
        .unwrap()
        .id()
        .to_string();
    let obj = env
        .path()
        .join(".git/objects")
        .join(&bad[..2])
        .join(&bad[2..]);
    std::fs::write(&obj, b"not zlib").unwrap();
    let out = env.cmd().args(["git", "-f", "json", "."]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("blob {bad} (bad.txt)")),
        "{stderr}"
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(findings(&json).len(), 1);
    assert_eq!(json["summary"]["errors"], 1);
}

#[test]
fn not_a_repository_is_a_clear_error() {
    let env = Env::new();
    let out = env.cmd().args(["git", "."]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a git repository"));
}

#[test]
fn staged_reports_only_added_lines() {
    let env = Env::new();
    let r = Repo::init(env.path());
    let mut fake = Fake::new(47);
    let old = fake.github_pat();
    r.write("app.env", &format!("OLD={old}\n"));
    r.commit("old secret already committed", 1_700_000_000);

    // Nothing staged: clean, even though a secret is committed.
    env.cmd().args(["staged", "-q"]).assert().code(0);

    // Stage an unrelated edit to the same file, and a new secret in another.
    let new = fake.github_pat();
    r.write("app.env", &format!("# comment\nOLD={old}\n"));
    r.write("new.env", &format!("x=1\nNEW={new}\n"));
    let mut index = r.repo.index().unwrap();
    index.add_path(Path::new("app.env")).unwrap();
    index.add_path(Path::new("new.env")).unwrap();
    index.write().unwrap();
    // An unstaged secret in the work tree is not part of the commit.
    r.write("unstaged.env", &fake.github_pat());

    let out = env
        .cmd()
        .args(["staged", "-f", "json", "--show-secrets"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let fs = findings(&json);
    assert_eq!(fs.len(), 1, "{json}");
    assert_eq!(fs[0]["path"], "new.env");
    assert_eq!(fs[0]["line"], 2);
    assert_eq!(fs[0]["secret"], new.as_str());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("keysweep blocked this commit"), "{stderr}");
    assert!(stderr.contains("keysweep:allow"));

    // Without git on PATH keysweep reads the index itself, with the same result.
    let out = env
        .cmd()
        .env("PATH", "/nonexistent")
        .args(["staged", "-f", "json", "--show-secrets"])
        .output()
        .unwrap();
    let fallback: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(findings(&fallback), findings(&json));

    // The staged content counts, not the work tree: unstage by editing after add.
    r.write("new.env", "x=1\n");
    env.cmd().args(["scan", "--staged", "-q"]).assert().code(1);
}

#[test]
fn install_hook_chains_an_existing_hook_unless_forced() {
    let env = Env::new();
    Repo::init(env.path());
    env.cmd().args(["install-hook"]).assert().code(0);
    let hook = env.path().join(".git/hooks/pre-commit");
    let text = std::fs::read_to_string(&hook).unwrap();
    assert!(text.contains("staged"));
    std::fs::write(&hook, "#!/bin/sh\necho mine\n").unwrap();
    let out = env.cmd().args(["install-hook"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("kept the existing hook"));
    let chained = env.path().join(".git/hooks/pre-commit.keysweep-chained");
    assert_eq!(
        std::fs::read_to_string(&chained).unwrap(),
        "#!/bin/sh\necho mine\n"
    );
    assert!(std::fs::read_to_string(&hook)
        .unwrap()
        .contains("pre-commit.keysweep-chained"));
    std::fs::write(&hook, "#!/bin/sh\necho other\n").unwrap();
    // The chained slot is taken: refuse rather than lose a hook.
    env.cmd().args(["install-hook"]).assert().code(2);
    env.cmd().args(["install-hook", "--force"]).assert().code(0);
    assert!(std::fs::read_to_string(&hook).unwrap().contains("staged"));
}

/// Secrets in several shapes: single-line tokens, a keyword-context pair, and a
/// multi-line PEM key, so dedupe is exercised on short and long-reach rules.
fn secret_block(fake: &mut Fake) -> String {
    let b32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    match fake.string("012345", 1).as_str() {
        "0" => format!("token = \"{}\"\n", fake.github_pat()),
        // Found by the generic detector: an assignment, and a name and its
        // value on separate lines (read from the name's line).
        "4" => format!("db_password = \"{}\"\n", fake.alnum(16)),
        "5" => format!(
            "conf = {{\n  \"name\": \"smtp_password\",\n  \"value\": \"{}\"\n}}\n",
            fake.alnum(14)
        ),
        "1" => format!(
            "aws_access_key_id = AKIA{}\naws_secret_access_key = {}\n",
            fake.string(b32, 16),
            fake.string(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+",
                40
            )
        ),
        "2" => format!(
            "slack = \"xoxb-{}-{}-{}\"\n",
            fake.string("123456789", 11),
            fake.string("123456789", 12),
            fake.alnum(24)
        ),
        _ => {
            let body: Vec<String> = (0..14)
                .map(|_| {
                    fake.string(
                        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
                        64,
                    )
                })
                .collect();
            format!(
                "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----\n",
                body.join("\n")
            )
        }
    }
}

type Key = (String, String, String, String, u64, String);

/// Asserts two finding sets are equal, printing only the differences.
fn assert_same(deduped: &[Key], full: &[Key]) {
    let missing: Vec<&Key> = full.iter().filter(|k| !deduped.contains(k)).collect();
    let extra: Vec<&Key> = deduped.iter().filter(|k| !full.contains(k)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "dedupe differs from a full scan\nmissing: {missing:#?}\nextra: {extra:#?}"
    );
}

fn finding_keys(json: &serde_json::Value) -> Vec<Key> {
    let mut v: Vec<Key> = findings(json)
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap().to_string(),
                f["secret"].as_str().unwrap().to_string(),
                f["commit"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

/// Scanning only text not seen before at a path must find exactly what
/// scanning every blob in full finds: same rules, paths, secrets, introducing
/// commits, lines and status.
#[test]
fn dedupe_finds_exactly_what_a_full_scan_finds() {
    let env = Env::new();
    let r = Repo::init(env.path());
    let mut fake = Fake::new(48);
    let mut files: Vec<(String, Vec<String>)> = (0..4)
        .map(|i| {
            let lines = (0..400)
                .map(|n| {
                    format!(
                        "fn item_{i}_{n}() -> u32 {{ {} }}\n",
                        fake.string("0123456789", 6)
                    )
                })
                .collect();
            (format!("src/file{i}.rs"), lines)
        })
        .collect();
    for round in 0..60 {
        for _ in 0..3 {
            let f = (fake.alnum(1).as_bytes()[0] as usize) % files.len();
            let lines = &mut files[f].1;
            let at = (fake.string("0123456789", 4).parse::<usize>().unwrap()) % (lines.len() + 1);
            match fake.string("012345", 1).as_str() {
                "0" | "1" => lines.insert(at, secret_block(&mut fake)),
                "2" if !lines.is_empty() => {
                    lines.remove(at.min(lines.len() - 1));
                }
                "3" => {
                    // Move a block of lines elsewhere, secrets included.
                    let n = 5.min(lines.len() - at.min(lines.len()));
                    let block: Vec<String> = lines.drain(at..at + n).collect();
                    let to = at / 2;
                    for (k, l) in block.into_iter().enumerate() {
                        lines.insert(to + k, l);
                    }
                }
                _ => lines.insert(at, format!("// edit {round} {}\n", fake.alnum(10))),
            }
        }
        if round % 17 == 16 {
            // A copy at a new path, then the original goes on changing.
            let (path, lines) = files[0].clone();
            files.push((path.replace(".rs", &format!("_copy{round}.rs")), lines));
        }
        for (path, lines) in &files {
            r.write(path, &lines.concat());
        }
        r.commit(
            &format!("round {round}"),
            1_700_000_000 + round as i64 * 100,
        );
        // Several packs, one with REF deltas, then loose objects on top:
        // `--read-packs` must find the same in every mix.
        if round == 25 {
            git(env.path(), &["repack", "-q", "-d"]);
        }
        if round == 45 {
            let refs = "repack.useDeltaBaseOffset=false";
            git(env.path(), &["-c", refs, "repack", "-q", "-d"]);
        }
    }
    // Lookups by id, with and without the dedupe, against the packs in
    // delta order (the default for a whole history).
    let (_, deduped) = git_json(&env, &["--show-secrets", "--no-read-packs", "."]);
    let (_, full) = git_json(
        &env,
        &["--show-secrets", "--no-dedupe", "--no-read-packs", "."],
    );
    let (_, default) = git_json(&env, &["--show-secrets", "."]);
    assert_same(&finding_keys(&default), &finding_keys(&full));
    let (_, mixed) = git_json(&env, &["--show-secrets", "--read-packs", "."]);
    assert_same(&finding_keys(&mixed), &finding_keys(&full));
    // One pack, long delta chains.
    git(env.path(), &["gc", "-q", "--aggressive", "--prune=now"]);
    let (_, packed) = git_json(&env, &["--show-secrets", "--read-packs", "."]);
    assert_same(&finding_keys(&packed), &finding_keys(&full));
    let (a, b) = (finding_keys(&deduped), finding_keys(&full));
    assert!(
        b.len() >= 20,
        "the history should hold many secrets, got {}",
        b.len()
    );
    assert!(
        b.iter().any(|k| k.0.starts_with("private-keys")),
        "a PEM key is among them"
    );
    assert!(
        b.iter().filter(|k| k.0 == "generic-password").count() >= 4,
        "generic findings, split pairs among them, are among them"
    );
    assert_same(&a, &b);
}

/// A rule whose keyword sits on the line above its secret: when a later version
/// changes only the secret's line, the keyword's chunk is old, and the finding
/// depends on the dedupe margin reaching across the chunk boundary.
#[test]
fn dedupe_margin_reaches_secrets_below_an_unchanged_keyword_line() {
    let env = Env::new();
    env.write(
        "rules/acme.yml",
        r#"
rules:
  - id: acme-two-line
    name: ACME two-line secret
    keywords: ["acme_secret:"]
    pattern: 'acme_secret:[ \t]*\n[ \t]*value:[ \t]*([a-z0-9]{24})\b'
"#,
    );
    let r = Repo::init(&env.path().join("repo"));
    let mut fake = Fake::new(49);
    let n = 120;
    let header: Vec<String> = (0..n)
        .map(|i| format!("# config {i} {}\n", fake.alnum(30)))
        .collect();
    for round in 0..2 {
        for (i, h) in header.iter().enumerate() {
            let value = fake.string("abcdefghijklmnopqrstuvwxyz0123456789", 24);
            // Varied indentation varies where chunk boundaries fall.
            let indent = fake.string(" \t", 8);
            r.write(
                &format!("c{i}.yml"),
                &format!("{h}acme_secret:\n{indent}value: {value}\n# end\n"),
            );
        }
        r.commit(&format!("round {round}"), 1_700_000_000 + round);
    }
    let args = [
        "--rules",
        "rules/acme.yml",
        "--rule",
        "acme-two-line",
        "--show-secrets",
        "repo",
    ];
    let (_, deduped) = git_json(&env, &args);
    let mut full_args = args.to_vec();
    full_args.insert(0, "--no-dedupe");
    let (_, full) = git_json(&env, &full_args);
    assert_eq!(findings(&full).len(), 2 * n);
    assert_same(&finding_keys(&deduped), &finding_keys(&full));
}

/// Trees written by some old tools give directories the mode `040000`
/// instead of `40000`; they are still directories (regression: redis.git).
#[test]
fn zero_padded_tree_modes_are_directories() {
    let env = Env::new();
    let r = Repo::init(env.path());
    let tok = Fake::new(50).github_pat();
    let odb = r.repo.odb().unwrap();
    let blob = odb
        .write(git2::ObjectType::Blob, format!("t = {tok}\n").as_bytes())
        .unwrap();
    let mut sub = b"100644 file.txt\0".to_vec();
    sub.extend_from_slice(blob.as_bytes());
    let sub = odb.write(git2::ObjectType::Tree, &sub).unwrap();
    let mut root = b"040000 old\0".to_vec();
    root.extend_from_slice(sub.as_bytes());
    let root = odb.write(git2::ObjectType::Tree, &root).unwrap();
    let sig = Signature::new("A", "a@example.org", &Time::new(1_700_000_000, 0)).unwrap();
    let tree = r.repo.find_tree(root).unwrap();
    r.repo
        .commit(Some("HEAD"), &sig, &sig, "old tool", &tree, &[])
        .unwrap();
    let (code, json) = git_json(&env, &["."]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["summary"]["errors"], 0);
    assert_eq!(findings(&json)[0]["path"], "old/file.txt");
}

#[test]
fn commit_tag_and_note_messages_are_scanned_with_their_commit() {
    let env = Env::new();
    let r = Repo::init(env.path());
    let mut fake = Fake::new(175);
    let (in_msg, in_tag, in_note) = (fake.github_pat(), fake.github_pat(), fake.github_pat());
    r.write("README.md", "hello\n");
    let first = r.commit(
        &format!("deploy\n\nused GITHUB_TOKEN={in_msg}\n"),
        1_700_000_000,
    );
    r.write("README.md", "hello again\n");
    let second = r.commit("docs", 1_700_000_100);
    let repo = git2::Repository::open(env.path()).unwrap();
    let sig = Signature::new(
        "Ada Lovelace",
        "ada@example.org",
        &Time::new(1_700_000_200, 60),
    )
    .unwrap();
    let target = repo.find_object(second, None).unwrap();
    repo.tag(
        "v1.0",
        &target,
        &sig,
        &format!("release\ntoken {in_tag}\n"),
        false,
    )
    .unwrap();
    repo.note(&sig, &sig, None, first, &format!("ci: {in_note}"), false)
        .unwrap();

    let (code, json) = git_json(&env, &["--show-secrets", "."]);
    assert_eq!(code, 1);
    let mut got: Vec<(String, String, String, u64)> = findings(&json)
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["secret"].as_str().unwrap().to_string(),
                f["commit"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect();
    got.sort();
    let mut want = vec![
        ("<commit message>".to_string(), in_msg, first.to_string(), 3),
        (
            "<note refs/notes/commits>".to_string(),
            in_note,
            first.to_string(),
            1,
        ),
        ("<tag v1.0>".to_string(), in_tag, second.to_string(), 2),
    ];
    want.sort();
    assert_eq!(got, want, "{json:#}");

    // Packed, the messages come from the pack traversal, with the same
    // findings and provenance (author, date, line); a loose commit made
    // after the repack still has its message read by id.
    git(env.path(), &["gc", "-q", "--prune=now"]);
    let (packed, stderr) = git_json_logged(&env, &["--show-secrets", "."]);
    assert!(
        stderr.contains("2 commit messages read from pack files in delta order, 0 by id"),
        "{stderr}"
    );
    assert_eq!(packed["findings"], json["findings"]);
    let late = fake.github_pat();
    r.write("README.md", "hello at last\n");
    let third = r.commit(&format!("fix\n\nGITHUB_TOKEN={late}\n"), 1_700_000_300);
    let (_, json) = git_json(&env, &["--show-secrets", "."]);
    let in_messages: Vec<(&str, &str)> = findings(&json)
        .iter()
        .filter(|f| f["path"] == "<commit message>")
        .map(|f| (f["secret"].as_str().unwrap(), f["commit"].as_str().unwrap()))
        .collect();
    assert_eq!(in_messages.len(), 2, "{json:#}");
    let third = third.to_string();
    assert!(
        in_messages.contains(&(late.as_str(), third.as_str())),
        "{json:#}"
    );

    // A range that leaves the first commit out leaves its message and note
    // out (the third commit's message is in it).
    let (_, json) = git_json(&env, &["--since-commit", &first.to_string(), "."]);
    let mut paths: Vec<(&str, &str)> = findings(&json)
        .iter()
        .map(|f| (f["path"].as_str().unwrap(), f["commit"].as_str().unwrap()))
        .collect();
    paths.sort_unstable();
    let second = second.to_string();
    assert_eq!(
        paths,
        [
            ("<commit message>", third.as_str()),
            ("<tag v1.0>", second.as_str())
        ]
    );
}

/// `--read-packs` takes packed blobs from the pack in delta order and the
/// loose ones by id, and finds the secrets in both.
#[test]
fn read_packs_reads_packed_and_loose_blobs() {
    let env = Env::new();
    let r = Repo::init(env.path());
    let mut fake = Fake::new(41);
    let (packed, loose) = (fake.github_pat(), fake.github_pat());
    r.write("README.md", "hello\n");
    r.write("config.env", &format!("GITHUB_TOKEN={packed}\n"));
    r.commit("packed", 1_700_000_000);
    git(env.path(), &["gc", "-q", "--prune=now"]);
    r.write("later.env", &format!("GITHUB_TOKEN={loose}\n"));
    r.commit("loose", 1_700_000_100);
    let (json, stderr) = git_json_logged(&env, &["--read-packs", "--show-secrets", "."]);
    assert!(
        stderr.contains("2 blobs read from pack files in delta order, 1 by id"),
        "{stderr}"
    );
    let mut secrets: Vec<&str> = findings(&json)
        .iter()
        .map(|f| f["secret"].as_str().unwrap())
        .collect();
    secrets.sort_unstable();
    let mut want = vec![packed.as_str(), loose.as_str()];
    want.sort_unstable();
    assert_eq!(secrets, want);
}

#[test]
fn every_stash_entry_is_scanned_not_only_the_newest() {
    let env = Env::new();
    let dir = env.path();
    git(dir, &["init", "-q"]);
    std::fs::write(dir.join("app.env"), "A=1\n").unwrap();
    git(dir, &["add", "app.env"]);
    git(dir, &["commit", "-qm", "initial"]);
    let mut fake = Fake::new(47);
    let toks: Vec<String> = (0..3).map(|_| fake.github_pat()).collect();
    // stash@{2}: a work-tree change; stash@{1}: a staged one; stash@{0}: an
    // untracked file.
    std::fs::write(dir.join("app.env"), format!("A=1\nT={}\n", toks[0])).unwrap();
    git(dir, &["stash", "-q"]);
    std::fs::write(dir.join("app.env"), format!("A=1\nT={}\n", toks[1])).unwrap();
    git(dir, &["add", "app.env"]);
    git(dir, &["stash", "-q"]);
    std::fs::write(dir.join("new.env"), format!("T={}\n", toks[2])).unwrap();
    git(dir, &["stash", "-q", "--include-untracked"]);
    assert_eq!(git(dir, &["stash", "list"]).lines().count(), 3);

    let (code, json) = git_json(&env, &["--show-secrets", "."]);
    assert_eq!(code, 1);
    let mut found: Vec<&str> = findings(&json)
        .iter()
        .map(|f| f["secret"].as_str().unwrap())
        .collect();
    found.sort();
    found.dedup();
    let mut want: Vec<&str> = toks.iter().map(String::as_str).collect();
    want.sort();
    assert_eq!(found, want, "{json:#}");
}

/// `--read-packs` must report what lookups by id report, findings for
/// findings (rule, path, secret, commit, line, status).
fn assert_read_packs_same(env: &Env, args: &[&str]) -> Vec<Key> {
    let mut by_id_args = vec!["--no-read-packs"];
    by_id_args.extend_from_slice(args);
    let (_, by_id) = git_json(env, &by_id_args);
    let mut with = vec!["--read-packs"];
    with.extend_from_slice(args);
    let (_, packed) = git_json(env, &with);
    let keys = finding_keys(&by_id);
    assert_same(&finding_keys(&packed), &keys);
    keys
}

/// How each object is stored in the packs: its delta base, if any.
fn delta_bases(dir: &Path) -> std::collections::HashMap<String, String> {
    let out = git(
        dir,
        &[
            "cat-file",
            "--batch-all-objects",
            "--batch-check=%(objectname) %(deltabase)",
        ],
    );
    out.lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// A delta chain far deeper than any base cache: every version but one is
/// a delta of the next, and the secrets are found at the right commits.
#[test]
fn read_packs_resolves_a_delta_chain_deeper_than_the_cache() {
    let env = Env::new();
    let r = Repo::init(env.path());
    let mut fake = Fake::new(51);
    let (early, middle) = (fake.github_pat(), fake.github_pat());
    let mut lines: Vec<String> = (0..300)
        .map(|i| format!("setting_{i} = {}\n", fake.alnum(20)))
        .collect();
    lines.insert(10, format!("GITHUB_TOKEN={early}\n"));
    for v in 0..160 {
        if v == 80 {
            lines.insert(200, format!("OTHER_TOKEN={middle}\n"));
        }
        if v == 90 {
            lines.retain(|l| !l.contains(&middle));
        }
        // Each version rewrites one more line, so a version is closest to
        // its neighbours and git chains them instead of basing all on one.
        let at = 1 + (v as usize * 7) % (lines.len() - 1);
        if !lines[at].contains("TOKEN=") {
            lines[at] = format!("setting_{at} = {} v{v}\n", fake.alnum(20));
        }
        r.write("settings.conf", &lines.concat());
        r.commit(&format!("v{v}"), 1_700_000_000 + v);
    }
    git(
        env.path(),
        &[
            "repack",
            "-q",
            "-a",
            "-d",
            "-f",
            "--depth=500",
            "--window=500",
        ],
    );
    let stats = git(env.path(), &["verify-pack", "-s", &pack_idx(env.path())]);
    let deepest = stats
        .lines()
        .filter_map(|l| l.strip_prefix("chain length = "))
        .filter_map(|l| l.split(':').next()?.trim().parse::<u32>().ok())
        .max()
        .unwrap_or(0);
    assert!(deepest >= 100, "chains too short to test: {stats}");
    let keys = assert_read_packs_same(&env, &["--show-secrets", "."]);
    let secrets: Vec<&str> = keys.iter().map(|k| k.2.as_str()).collect();
    assert!(secrets.contains(&early.as_str()), "{keys:#?}");
    assert!(secrets.contains(&middle.as_str()), "{keys:#?}");
}

/// The one pack index of the repository at `dir`.
fn pack_idx(dir: &Path) -> String {
    let packs = dir.join(".git/objects/pack");
    let idx: Vec<_> = std::fs::read_dir(&packs)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "idx"))
        .collect();
    assert_eq!(idx.len(), 1, "{idx:?}");
    idx[0].display().to_string()
}

/// Secrets a delta builds from copied and inserted bytes: a keyword copied
/// from the base with its value inserted, and a value whose first half is
/// copied and second half inserted. Each blob is checked to be stored as a
/// delta of the version before, so the case is really exercised.
#[test]
fn read_packs_finds_secrets_built_from_copied_and_inserted_bytes() {
    let env = Env::new();
    env.write(
        "rules/acme.yml",
        r#"
rules:
  - id: acme-key
    name: ACME key
    keywords: ["acme_key="]
    pattern: 'acme_key=([a-z0-9]{32})\b'
"#,
    );
    let r = Repo::init(&env.path().join("repo"));
    let mut fake = Fake::new(52);
    let body: String = (0..200)
        .map(|i| format!("line {i} {}\n", fake.alnum(40)))
        .collect();
    let lower = "abcdefghijklmnopqrstuvwxyz0123456789";
    let (whole, half) = (fake.string(lower, 32), fake.string(lower, 32));
    // The base is larger (git keeps the larger version whole and makes the
    // smaller one a delta of it): a trailer the later version drops.
    let trailer: String = (0..40)
        .map(|i| format!("old {i} {}\n", fake.alnum(30)))
        .collect();
    let base = format!(
        "{body}acme_key=PLACEHOLDER\nhalf: acme_key={}\n{body}{trailer}",
        &half[..16]
    );
    r.write("a.conf", &base);
    r.commit("placeholder", 1_700_000_000);
    let next = format!("{body}acme_key={whole}\nhalf: acme_key={half}\n{body}");
    r.write("a.conf", &next);
    let second = r.commit("real keys", 1_700_000_100);
    let repo = env.path().join("repo");
    git(&repo, &["repack", "-q", "-a", "-d", "-f"]);
    let oid = |text: &str| {
        git2::Oid::hash_object(git2::ObjectType::Blob, text.as_bytes())
            .unwrap()
            .to_string()
    };
    let bases = delta_bases(&repo);
    assert_eq!(
        bases.get(&oid(&next)).map(String::as_str),
        Some(oid(&base).as_str()),
        "the later version should be a delta of the earlier"
    );
    let keys = assert_read_packs_same(
        &env,
        &[
            "--rules",
            "rules/acme.yml",
            "--rule",
            "acme-key",
            "--show-secrets",
            "repo",
        ],
    );
    let mut got: Vec<(&str, &str)> = keys.iter().map(|k| (k.2.as_str(), k.3.as_str())).collect();
    got.sort_unstable();
    let second = second.to_string();
    let mut want = vec![
        (whole.as_str(), second.as_str()),
        (half.as_str(), second.as_str()),
    ];
    want.sort_unstable();
    assert_eq!(got, want);
}

/// Objects borrowed through `objects/info/alternates` and a shallow clone's
/// cut history: `--read-packs` reads what its own packs hold and the rest by
/// id, and reports what the default path reports.
#[test]
fn read_packs_with_alternates_and_shallow_clones() {
    let env = Env::new();
    let src = env.path().join("src");
    let r = Repo::init(&src);
    let mut fake = Fake::new(53);
    let toks: Vec<String> = (0..3).map(|_| fake.github_pat()).collect();
    for (i, t) in toks.iter().enumerate() {
        r.write(&format!("f{i}.env"), &format!("TOKEN={t}\n"));
        r.commit(&format!("c{i}"), 1_700_000_000 + i as i64 * 100);
    }
    git(&src, &["gc", "-q", "--prune=now"]);
    let url = format!("file://{}", src.display());
    git(
        env.path(),
        &[
            "clone",
            "-q",
            "--shared",
            &src.display().to_string(),
            "borrowed",
        ],
    );
    let borrowed = env.path().join("borrowed");
    assert!(borrowed.join(".git/objects/info/alternates").is_file());
    let own = fake.github_pat();
    std::fs::write(borrowed.join("own.env"), format!("TOKEN={own}\n")).unwrap();
    git(&borrowed, &["add", "own.env"]);
    git(&borrowed, &["commit", "-q", "-m", "own"]);
    git(&borrowed, &["repack", "-q", "-a", "-d", "-l"]);
    let keys = assert_read_packs_same(&env, &["--show-secrets", "borrowed"]);
    assert_eq!(keys.len(), 4, "{keys:#?}");

    git(
        env.path(),
        &["clone", "-q", "--depth", "1", &url, "shallow"],
    );
    let keys = assert_read_packs_same(&env, &["--show-secrets", "shallow"]);
    assert_eq!(keys.len(), 3, "{keys:#?}");
}

/// A whole-history scan reads the packs in delta order by default; a range
/// or a starting commit (a few blobs of a possibly large pack) and
/// `--no-read-packs` look blobs up by id.
#[test]
fn packs_are_read_in_delta_order_for_a_whole_history_only() {
    let env = Env::new();
    let r = Repo::init(env.path());
    let mut fake = Fake::new(42);
    r.write(
        "config.env",
        &format!("GITHUB_TOKEN={}\n", fake.github_pat()),
    );
    r.commit("first", 1_700_000_000);
    r.write("README.md", "hello\n");
    r.commit("second", 1_700_000_100);
    git(env.path(), &["gc", "-q", "--prune=now"]);
    let first = git(env.path(), &["rev-list", "--max-parents=0", "HEAD"]);
    let range = format!("{}..HEAD", first.trim());
    let cases: [(&[&str], bool); 4] = [
        (&[], true),
        (&["--no-read-packs"], false),
        (&["--range", &range], false),
        (&["--range", &range, "--read-packs"], true),
    ];
    for (args, packs) in cases {
        let (_, stderr) = git_json_logged(&env, &[args, &["."]].concat());
        assert_eq!(
            stderr.contains("read from pack files in delta order"),
            packs,
            "{args:?}: {stderr}"
        );
    }
}

/// A history long enough to be walked and its messages scanned in parts on
/// two threads: secrets in commit messages on either side of the split, in
/// a file added and removed in the second half, a tag and a note are each
/// reported once, at their own commit.
#[test]
fn long_histories_walked_in_parts_report_each_secret_at_its_commit() {
    let env = Env::new();
    let r = Repo::init(env.path());
    let mut fake = Fake::new(176);
    let (early, late, in_file, in_tag, in_note) = (
        fake.github_pat(),
        fake.github_pat(),
        fake.github_pat(),
        fake.github_pat(),
        fake.github_pat(),
    );
    let mut ids = Vec::new();
    for i in 0..1200u32 {
        r.write("counter.txt", &format!("{i}\n"));
        r.write(&format!("dir{}/f.txt", i % 7), &format!("v{}\n", i / 7));
        match i {
            700 => r.write("leak.env", &format!("GITHUB_TOKEN={in_file}\n")),
            750 => r.write("leak.env", "GITHUB_TOKEN=\n"),
            _ => {}
        }
        let msg = match i {
            100 => format!("setup\n\ntoken {early}\n"),
            900 => format!("deploy\n\ntoken {late}\n"),
            _ => format!("step {i}"),
        };
        ids.push(r.commit(&msg, 1_700_000_000 + i64::from(i) * 60));
    }
    let repo = git2::Repository::open(env.path()).unwrap();
    let sig = Signature::new("Ada", "ada@example.org", &Time::new(1_800_000_000, 0)).unwrap();
    let last = repo.find_object(ids[1199], None).unwrap();
    repo.tag("v9", &last, &sig, &format!("release {in_tag}\n"), false)
        .unwrap();
    repo.note(
        &sig,
        &sig,
        None,
        ids[1100],
        &format!("ci: {in_note}"),
        false,
    )
    .unwrap();

    let (code, json) = git_json(&env, &["--show-secrets", "-j", "2", "."]);
    assert_eq!(code, 1, "{json:#}");
    let mut got: Vec<(String, String, String)> = findings(&json)
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["secret"].as_str().unwrap().to_string(),
                f["commit"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    let mut want = vec![
        ("<commit message>".to_string(), early, ids[100].to_string()),
        ("<commit message>".to_string(), late, ids[900].to_string()),
        ("leak.env".to_string(), in_file, ids[700].to_string()),
        ("<tag v9>".to_string(), in_tag, ids[1199].to_string()),
        (
            "<note refs/notes/commits>".to_string(),
            in_note,
            ids[1100].to_string(),
        ),
    ];
    want.sort();
    assert_eq!(got, want, "{json:#}");
    assert_eq!(json["summary"]["git"]["commits"], 1200, "{json:#}");
}
