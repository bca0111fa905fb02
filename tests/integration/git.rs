//! Git history, staged changes and the pre-commit hook, on repositories built
//! in each test.

use std::path::Path;

use git2::{Repository, Signature, Time};

use crate::common::{findings, Env, Fake};

/// A repository in the test's temp dir with helpers to commit files.
struct Repo {
    repo: Repository,
}

impl Repo {
    fn init(path: &Path) -> Repo {
        let repo = Repository::init(path).unwrap();
        // A fixed default branch name, whatever the machine's git config says.
        repo.set_head("refs/heads/main").unwrap();
        Repo { repo }
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.repo.workdir().unwrap().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    /// Stages every change (additions and deletions) and commits on HEAD.
    fn commit(&self, message: &str, when: i64) -> git2::Oid {
        let mut index = self.repo.index().unwrap();
        index
            .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
            .unwrap();
        index.update_all(["*"], None).unwrap();
        index.write().unwrap();
        let tree = self.repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = Signature::new("Ada Lovelace", "ada@example.org", &Time::new(when, 60)).unwrap();
        let parents: Vec<git2::Commit> = self
            .repo
            .head()
            .ok()
            .and_then(|h| h.peel_to_commit().ok())
            .into_iter()
            .collect();
        let refs: Vec<&git2::Commit> = parents.iter().collect();
        self.repo
            .commit(Some("HEAD"), &sig, &sig, message, &tree, &refs)
            .unwrap()
    }

    fn remove(&self, rel: &str) {
        std::fs::remove_file(self.repo.workdir().unwrap().join(rel)).unwrap();
    }

    fn checkout_new_branch(&self, name: &str) {
        let head = self.repo.head().unwrap().peel_to_commit().unwrap();
        self.repo.branch(name, &head, false).unwrap();
        self.repo.set_head(&format!("refs/heads/{name}")).unwrap();
    }

    fn checkout(&self, name: &str) {
        self.repo.set_head(&format!("refs/heads/{name}")).unwrap();
        self.repo
            .checkout_head(Some(git2::build::CheckoutBuilder::new().force()))
            .unwrap();
    }
}

fn git_json(env: &Env, args: &[&str]) -> (i32, serde_json::Value) {
    let mut all = vec!["--git"];
    all.extend_from_slice(args);
    env.scan_json(&all)
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
    assert_eq!(fs[0]["status"], "present");
    // The edited version is another blob with the same secret.
    assert_eq!(fs[0]["occurrences"], 1);
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
    let mut paths: Vec<&str> = findings(&json)
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    paths.sort();
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

fn git(dir: &Path, args: &[&str]) {
    let st = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&st.stderr)
    );
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

    // The staged content counts, not the work tree: unstage by editing after add.
    r.write("new.env", "x=1\n");
    env.cmd().args(["scan", "--staged", "-q"]).assert().code(1);
}

#[test]
fn install_hook_refuses_to_overwrite_unless_forced() {
    let env = Env::new();
    Repo::init(env.path());
    env.cmd().args(["install-hook"]).assert().code(0);
    let hook = env.path().join(".git/hooks/pre-commit");
    let text = std::fs::read_to_string(&hook).unwrap();
    assert!(text.contains("keysweep staged"));
    std::fs::write(&hook, "#!/bin/sh\necho mine\n").unwrap();
    let out = env.cmd().args(["install-hook"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    assert_eq!(
        std::fs::read_to_string(&hook).unwrap(),
        "#!/bin/sh\necho mine\n"
    );
    env.cmd().args(["install-hook", "--force"]).assert().code(0);
    assert!(std::fs::read_to_string(&hook)
        .unwrap()
        .contains("keysweep staged"));
}
