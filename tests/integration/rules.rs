//! `keysweep rules list` and `keysweep rules check`.

use crate::common::Env;

#[test]
fn bundled_rules_pass_their_own_examples() {
    let env = Env::new();
    let out = env
        .cmd()
        .args(["rules", "check", "--strict"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(": 0 errors, 0 warnings"), "{stdout}");
}

#[test]
fn list_table_and_json() {
    let env = Env::new();
    let out = env.cmd().args(["rules", "list"]).output().unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.starts_with("ID "));
    assert!(table.lines().any(|l| l.starts_with("github-pat-classic ")));
    let out = env
        .cmd()
        .args(["rules", "list", "-f", "json"])
        .output()
        .unwrap();
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(list.len() >= 150, "{} rules", list.len());
    let ids: std::collections::HashSet<&str> =
        list.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), list.len(), "rule ids are unique");
    assert!(list
        .iter()
        .all(|r| !r["keywords"].as_array().unwrap().is_empty()));
}

#[test]
fn check_reports_failing_examples_with_location() {
    let env = Env::new();
    env.write(
        "mine.yml",
        r#"
rules:
  - id: acme-token
    name: ACME
    description: d
    references: [https://acme.test/docs]
    keywords: [acme_]
    pattern: '\b(acme_[a-z0-9]{24})\b'
    examples: ['acme_tooshort']
    negative_examples: ['acme_q8wn4rt2yp6lm0vzx3c7k5j9']
"#,
    );
    let out = env
        .cmd()
        .args(["rules", "check", "mine.yml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("mine.yml: rule acme-token: example 1 does not match"),
        "{stderr}"
    );
    assert!(
        stderr.contains("mine.yml: rule acme-token: negative example 1 matches"),
        "{stderr}"
    );
}

#[test]
fn check_strict_fails_on_warnings() {
    let env = Env::new();
    env.write(
        "bare.yml",
        "rules:\n  - id: bare\n    name: B\n    keywords: [abc]\n    pattern: '(abc)'\n",
    );
    env.cmd()
        .args(["rules", "check", "bare.yml"])
        .assert()
        .code(0);
    env.cmd()
        .args(["rules", "check", "--strict", "bare.yml"])
        .assert()
        .code(1);
}
