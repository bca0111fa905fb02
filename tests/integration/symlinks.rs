//! `--follow-symlinks`: links in the walk followed within the roots only;
//! loops and links leading elsewhere reported and counted, never read.

use std::os::unix::fs::symlink;

use crate::common::{findings, Env, Fake};

fn paths(json: &serde_json::Value) -> Vec<String> {
    let mut p: Vec<String> = findings(json)
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    p.sort();
    p
}

#[test]
fn links_are_followed_only_when_asked_and_loops_are_reported() {
    let env = Env::new();
    let tok = Fake::new(1801).github_pat();
    env.write("repo/real/app.env", format!("TOKEN={tok}\n"));
    symlink("real", env.path().join("repo/linked")).unwrap();
    symlink("..", env.path().join("repo/real/up")).unwrap();

    // Off by default: links met in the walk are not read.
    let (_, json) = env.scan_json(&["repo"]);
    assert_eq!(paths(&json), ["repo/real/app.env"]);

    let out = env
        .cmd()
        .args(["scan", "--follow-symlinks", "-f", "json", "repo"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(paths(&json), ["repo/linked/app.env", "repo/real/app.env"]);
    // `real/up` leads back to `repo`; through `linked`, `linked/up` does too.
    assert_eq!(
        json["summary"]["skipped"]["symlink-loop"], 2,
        "{:#}",
        json["summary"]
    );
    assert!(
        stderr.contains("repo/real/up: symbolic link back to repo"),
        "{stderr}"
    );
    assert_eq!(json["summary"]["errors"], 0, "a loop is no read error");
}

#[test]
fn links_leading_outside_the_root_are_not_read() {
    let env = Env::new();
    let mut fake = Fake::new(1802);
    env.write(
        "outside/secret.env",
        format!("TOKEN={}\n", fake.github_pat()),
    );
    env.write(
        "outside/dir/more.env",
        format!("TOKEN={}\n", fake.github_pat()),
    );
    env.write("repo/app.env", format!("TOKEN={}\n", fake.github_pat()));
    let outside = env.path().join("outside");
    symlink(
        outside.join("secret.env"),
        env.path().join("repo/file-link"),
    )
    .unwrap();
    symlink(outside.join("dir"), env.path().join("repo/dir-link")).unwrap();
    let out = env
        .cmd()
        .args(["scan", "--follow-symlinks", "-f", "json", "repo"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(paths(&json), ["repo/app.env"]);
    assert_eq!(
        json["summary"]["skipped"]["outside-root"], 2,
        "{:#}",
        json["summary"]
    );
    assert!(
        stderr.contains("repo/dir-link: symbolic link to"),
        "{stderr}"
    );
    assert!(
        stderr.contains("outside the scanned root; not followed"),
        "{stderr}"
    );
    // Both given as roots, the same link is within them.
    let (_, json) = env.scan_json(&["--follow-symlinks", "repo", "outside"]);
    assert_eq!(findings(&json).len(), 5, "{json:#}");
}
