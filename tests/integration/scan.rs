//! What gets scanned and what is found.

use crate::common::{finding_paths, findings, Env, Fake};

#[test]
fn finds_secret_with_location() {
    let env = Env::new();
    let tok = Fake::new(1).github_pat();
    env.write("src/app.py", format!("import os\n\nTOKEN = \"{tok}\"\n"));
    let (code, json) = env.scan_json(&["--show-secrets", "."]);
    assert_eq!(code, 1);
    let f = &findings(&json)[0];
    assert_eq!(f["rule_id"], "github-pat-classic");
    assert_eq!(f["path"], "src/app.py");
    assert_eq!(f["line"], 3);
    assert_eq!(f["column"], 10);
    assert_eq!(f["end_line"], 3);
    assert_eq!(f["end_column"], 10 + 40 - 1);
    assert_eq!(f["secret"], tok.as_str());
    assert_eq!(json["summary"]["files_scanned"], 1);
}

#[test]
fn hidden_files_are_scanned_but_not_dot_git() {
    let env = Env::new();
    let mut fake = Fake::new(2);
    env.write(".env", format!("GH={}\n", fake.github_pat()));
    env.write(
        ".cursor/mcp.json",
        format!("{{\"t\": \"{}\"}}\n", fake.github_pat()),
    );
    env.write(".git/config", format!("token = {}\n", fake.github_pat()));
    let (_, json) = env.scan_json(&["."]);
    let paths = finding_paths(&json);
    assert_eq!(paths, vec![".cursor/mcp.json", ".env"]);
}

#[test]
fn gitignore_is_honoured_unless_no_ignore() {
    let env = Env::new();
    env.write(".gitignore", "secret.txt\n");
    env.write("secret.txt", Fake::new(3).github_pat());
    let (code, json) = env.scan_json(&["."]);
    assert_eq!(code, 0, "{json}");
    let (code, json) = env.scan_json(&["--no-ignore", "."]);
    assert_eq!(code, 1);
    assert_eq!(findings(&json)[0]["path"], "secret.txt");
}

#[test]
fn exclude_glob() {
    let env = Env::new();
    let mut fake = Fake::new(4);
    env.write("vendor/lib.js", fake.github_pat());
    env.write("app.js", fake.github_pat());
    let (_, json) = env.scan_json(&["--exclude", "vendor/", "."]);
    let paths: Vec<&str> = findings(&json)
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, vec!["app.js"]);
}

#[test]
fn stdin_and_several_paths() {
    let env = Env::new();
    let mut fake = Fake::new(5);
    let a = env.write("a/x.txt", fake.github_pat());
    let b = env.write("b/y.txt", fake.github_pat());
    let out = env
        .cmd()
        .args(["scan", "-f", "jsonl", "-q", "-"])
        .arg(&a)
        .arg(&b)
        .write_stdin(format!("stdin has {}\n", fake.github_pat()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert!(lines.iter().any(|f| f["path"] == "<stdin>"));
}

#[test]
fn placeholder_and_reference_values_are_not_reported() {
    let env = Env::new();
    env.write(
        "config.env",
        "GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\nGITHUB_TOKEN=${GITHUB_TOKEN}\n",
    );
    let (code, json) = env.scan_json(&["."]);
    assert_eq!(code, 0, "{json}");
}

#[test]
fn fingerprint_is_stable_across_line_moves_and_differs_by_path() {
    let env = Env::new();
    let tok = Fake::new(6).github_pat();
    env.write("a.txt", format!("t = {tok}\n"));
    let (_, before) = env.scan_json(&["a.txt"]);
    env.write("a.txt", format!("\n\n\n# moved\n    t = {tok}\n"));
    let (_, after) = env.scan_json(&["a.txt"]);
    let fb = &findings(&before)[0];
    let fa = &findings(&after)[0];
    assert_ne!(fb["line"], fa["line"]);
    assert_eq!(fb["fingerprint"], fa["fingerprint"]);
    env.write("b.txt", format!("t = {tok}\n"));
    let (_, other) = env.scan_json(&["b.txt"]);
    assert_ne!(findings(&other)[0]["fingerprint"], fb["fingerprint"]);
    // The fingerprint is a hash, never the secret.
    assert!(!fb["fingerprint"].as_str().unwrap().contains(&tok[4..]));
}

#[test]
fn rule_selection() {
    let env = Env::new();
    env.write("a.txt", Fake::new(7).github_pat());
    let (code, _) = env.scan_json(&["--exclude-rule", "github-*", "."]);
    assert_eq!(code, 0);
    let (code, json) = env.scan_json(&["--rule", "github-pat-classic", "."]);
    assert_eq!(code, 1);
    assert_eq!(json["summary"]["rules"], 1);
    let out = env
        .cmd()
        .args(["scan", "--rule", "no-such-rule", "."])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-rule"));
}

#[test]
fn user_rules_are_added() {
    let env = Env::new();
    env.write(
        "my-rules.yml",
        r#"
rules:
  - id: acme-token
    name: ACME internal token
    keywords: [acme_]
    pattern: '\b(acme_[a-z0-9]{24})\b'
    examples: ['acme_q8wn4rt2yp6lm0vzx3c7k5j9']
"#,
    );
    env.write("code/a.txt", "key: acme_q8wn4rt2yp6lm0vzx3c7k5j9\n");
    let (code, json) = env.scan_json(&["--rules", "my-rules.yml", "code"]);
    assert_eq!(code, 1);
    assert_eq!(findings(&json)[0]["rule_id"], "acme-token");
    assert_eq!(findings(&json)[0]["provider"], "my-rules");
}

#[test]
fn overlapping_matches_reported_once() {
    let env = Env::new();
    env.write(
        "r.yml",
        r#"
rules:
  - id: acme-loose
    name: loose
    confidence: low
    keywords: [acme_]
    pattern: '(acme_[a-z0-9]{10,40})'
"#,
    );
    let tok = Fake::new(8).github_pat();
    env.write(
        "code/a.txt",
        format!("x = acme_q8wn4rt2yp6lm0vzx3c7k5j9 {tok}\n"),
    );
    let (_, json) = env.scan_json(&["--rules", "r.yml", "code"]);
    assert_eq!(findings(&json).len(), 2, "{json}");
}

#[test]
fn min_confidence_filters() {
    let env = Env::new();
    env.write(
        "r.yml",
        r#"
rules:
  - id: acme-loose
    name: loose
    confidence: low
    keywords: [acme_]
    pattern: '(acme_[a-z0-9]{10,40})'
"#,
    );
    env.write("code/a.txt", "x = acme_q8wn4rt2yp6lm0vzx3c7k5j9\n");
    let (code, _) = env.scan_json(&["--rules", "r.yml", "--min-confidence", "medium", "code"]);
    assert_eq!(code, 0);
}

/// The generic detector judges a file by the words of its path below the
/// scanned directory: a checkout under a directory named like a test job
/// is ordinary code, a `tests/` directory inside it is not, and neither
/// `docker/` nor `contest` reads as documentation or tests. The same
/// credential-shaped value at each place; at `--min-confidence medium` it
/// is reported where the path says nothing and quiet (low) in tests.
#[test]
fn generic_detector_reads_the_path_below_the_scanned_directory() {
    let env = Env::new();
    let line = "SERVICE_TOKEN=Zq8wN4rT2yP6Lm0VzX3cBn5Hj7Ds\n";
    let root = "ci-test-job/app";
    for rel in [
        "config.env",
        "docker/compose.env",
        "contest/app.env",
        "tests/fixtures.env",
        "src/FooTest.env",
        "examples/demo.env",
    ] {
        env.write(&format!("{root}/{rel}"), line);
    }
    let scanned = env.path().join(root);
    let (_, json) = env.scan_json(&[scanned.to_str().unwrap(), "--min-confidence", "medium"]);
    let mut paths: Vec<String> = findings(&json)
        .iter()
        .map(|f| {
            f["path"]
                .as_str()
                .unwrap()
                .rsplit(root)
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        ["/config.env", "/contest/app.env", "/docker/compose.env"],
        "{json}"
    );
}

/// A generic pattern rule's low finding gives way to the generic
/// detector's more confident reading of the same value (one finding, the
/// scorer's), while a provider's token keeps its provider rule.
#[test]
fn scored_reading_replaces_a_less_confident_generic_pattern_finding() {
    let env = Env::new();
    let mut fake = Fake::new(177);
    let pat = fake.github_pat();
    env.write(
        "deploy.env",
        format!("TOKEN=nOBun6YMlvxiV5GQYJKoUjcyppYrk6ej\nGH_TOKEN={pat}\n"),
    );
    let (_, json) = env.scan_json(&["."]);
    let got: Vec<(u64, String, String)> = findings(&json)
        .iter()
        .map(|f| {
            (
                f["line"].as_u64().unwrap(),
                f["rule_id"].as_str().unwrap().to_string(),
                f["confidence"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(got.len(), 2, "{json:#}");
    assert_eq!(got[0].0, 1);
    assert_eq!(got[0].1, "generic-token");
    assert_ne!(got[0].2, "low", "{json:#}");
    assert_eq!((got[1].0, got[1].1.as_str()), (2, "github-pat-classic"));
}
