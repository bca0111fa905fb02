//! Report formats and redaction.

use crate::common::{findings, Env, Fake};

#[test]
fn human_output_redacts_by_default() {
    let env = Env::new();
    let tok = Fake::new(30).github_pat();
    env.write("conf/app.yml", format!("token: {tok}\n"));
    let out = env.cmd().args(["scan", "."]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains(&tok),
        "secret leaked into output: {stdout}"
    );
    assert!(stdout
        .contains("conf/app.yml:1:8: GitHub personal access token (classic) (github-pat-classic)"));
    let shown = format!("ghp_{}…{}", &tok[4..7], &tok[37..]);
    assert!(
        stdout.contains(&format!("secret       {shown}")),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("line         token: {shown}")));
    assert!(stdout.contains("1 finding (1 distinct secret) in 1 file; scanned 1 file"));

    let out = env
        .cmd()
        .args(["scan", "--show-secrets", "."])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains(&tok));
}

#[test]
fn json_has_documented_fields_and_redacts() {
    let env = Env::new();
    let tok = Fake::new(31).github_pat();
    env.write("a.txt", format!("{tok}\n"));
    let (_, json) = env.scan_json(&["."]);
    assert_eq!(json["tool"], "keysweep");
    let f = &findings(&json)[0];
    for key in [
        "rule_id",
        "rule_name",
        "provider",
        "severity",
        "confidence",
        "path",
        "line",
        "column",
        "end_line",
        "end_column",
        "secret",
        "snippet",
        "fingerprint",
        "entropy",
    ] {
        assert!(!f[key].is_null(), "missing {key} in {f}");
    }
    assert_eq!(
        f["secret"],
        format!("ghp_{}…{}", &tok[4..7], &tok[tok.len() - 3..])
    );
    assert!(!json.to_string().contains(&tok));
    assert_eq!(f["confidence"], "high");
    assert!(f["entropy"].as_f64().unwrap() > 4.0);
}

#[test]
fn output_file() {
    let env = Env::new();
    env.write("a.txt", Fake::new(32).github_pat());
    env.cmd()
        .args(["scan", "-f", "jsonl", "-o", "report.jsonl", "a.txt"])
        .assert()
        .code(1)
        .stdout("");
    let text = std::fs::read_to_string(env.path().join("report.jsonl")).unwrap();
    let f: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(f["rule_id"], "github-pat-classic");
}

#[test]
fn sarif_validates_against_the_2_1_0_schema() {
    let env = Env::new();
    let mut fake = Fake::new(33);
    env.write(
        "src/a file.py",
        format!("x = 1\nT = '{}'\n", fake.github_pat()),
    );
    env.write("b.env", fake.github_pat());
    let out = env
        .cmd()
        .args(["scan", "-f", "sarif", "."])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let schema_text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/sarif-schema-2.1.0.json"),
    )
    .unwrap();
    let schema: serde_json::Value = serde_json::from_str(&schema_text).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");

    let run = &sarif["runs"][0];
    assert!(run["tool"]["driver"]["rules"].as_array().unwrap().len() >= 150);
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    let r = results
        .iter()
        .find(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "src/a%20file.py"
        })
        .unwrap();
    assert_eq!(r["ruleId"], "github-pat-classic");
    let region = &r["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startLine"], 2);
    assert_eq!(region["startColumn"], 6);
    assert_eq!(region["endColumn"], 6 + 40);
    assert!(r["partialFingerprints"]["primaryLocationLineHash"].is_string());
    let rule_index = r["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(
        run["tool"]["driver"]["rules"][rule_index]["id"],
        "github-pat-classic"
    );
}

/// Runs keysweep under a pseudo-terminal (util-linux `script`), so its
/// standard output and error are a terminal, and returns what the terminal
/// showed; `None` where `script` is missing (it is part of util-linux, on
/// every Debian machine and CI image).
fn run_in_terminal(env: &Env, args: &[&str]) -> Option<String> {
    use std::process::{Command, Stdio};
    if Command::new("script").arg("--version").output().is_err() {
        assert!(!crate::common::in_ci(), "CI needs util-linux's `script`");
        return None;
    }
    let quote = |a: &str| format!("'{}'", a.replace('\'', r"'\''"));
    let bin = assert_cmd::cargo::cargo_bin("keysweep");
    let line: Vec<String> = std::iter::once(bin.display().to_string().as_str())
        .chain(args.iter().copied())
        .map(quote)
        .collect();
    let out = Command::new("script")
        .args(["-qec", &line.join(" "), "/dev/null"])
        .current_dir(env.path())
        .env("SHELL", "/bin/sh")
        .env("TERM", "xterm-256color")
        .env("KEYSWEEP_ID_KEY", "keysweep-tests")
        .env_remove("KEYSWEEP_CONFIG")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// 200 files, two with a token (the 6th and the 151st in walk order).
fn many_files(env: &Env) {
    let mut fake = Fake::new(1400);
    for i in 0..200 {
        let text = if i == 5 || i == 150 {
            format!("t = {}\n", fake.github_pat())
        } else {
            format!("x = {i}\n")
        };
        env.write(&format!("f{i:03}.txt"), text);
    }
}

#[test]
fn progress_counts_files_and_findings_on_a_terminal_only() {
    let env = Env::new();
    many_files(&env);
    let Some(shown) = run_in_terminal(&env, &["scan", ".", "-j1", "-f", "json", "-o", "/dev/null"])
    else {
        return;
    };
    // The bar redraws at most ~20 times a second, but its first draws are
    // never held back: the 6th file's finding shows.
    assert!(shown.contains("/200 files, 0 findings"), "{shown}");
    assert!(shown.contains("6/200 files, 1 finding "), "{shown}");
    let quiet =
        run_in_terminal(&env, &["scan", ".", "-q", "-f", "json", "-o", "/dev/null"]).unwrap();
    assert!(!quiet.contains(" files, "), "--quiet drew a bar: {quiet}");
    // Piped: no bar, only the summary line.
    let out = env
        .cmd()
        .args(["scan", ".", "-f", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains(" files, ") && !stderr.contains('\r'),
        "{stderr}"
    );
}

#[test]
fn findings_stream_on_a_terminal_and_stay_sorted_otherwise() {
    let env = Env::new();
    many_files(&env);
    let header = "f005.txt:1:5: GitHub personal access token";
    let Some(shown) = run_in_terminal(&env, &["scan", ".", "-j1", "--color", "never"]) else {
        return;
    };
    // Streamed: the finding is printed while the scan goes on, so the bar
    // is drawn again after it (and before the summary).
    let at = shown.find(header).expect(&shown);
    let summary = shown
        .find("2 findings (2 distinct secrets) in 2 files;")
        .expect(&shown);
    assert!(
        shown[at..summary].contains("/200 files, 1 finding"),
        "{shown}"
    );
    // --sort: everything after the scan, in order.
    let sorted =
        run_in_terminal(&env, &["scan", ".", "-j1", "--sort", "--color", "never"]).unwrap();
    let at = sorted.find(header).expect(&sorted);
    assert!(!sorted[at..].contains(" files, "), "{sorted}");
    assert!(at < sorted.find("f150.txt:1:5:").unwrap());
    // A pipe gets the sorted report and no bar.
    let out = env.cmd().args(["scan", ".", "-j2"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let (a, b) = (
        stdout.find("f005.txt").unwrap(),
        stdout.find("f150.txt").unwrap(),
    );
    assert!(a < b, "{stdout}");
    assert_eq!(stdout.matches(": GitHub personal access token").count(), 2);
}

#[test]
fn stderr_summary_counts_distinct_secrets() {
    let env = Env::new();
    let tok = Fake::new(1401).github_pat();
    env.write("a.txt", format!("t = {tok}\n"));
    env.write("b/c.txt", format!("t = {tok}\n"));
    for format in ["json", "sarif", "csv"] {
        let out = env
            .cmd()
            .args(["scan", ".", "-f", format])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.starts_with(
                "keysweep: 2 findings (1 distinct secret) in 2 files; scanned 2 files (90 B); skipped 0; 0 errors"
            ),
            "{format}: {stderr}"
        );
    }
}

#[test]
fn sarif_uris_percent_encode_backslashes_in_file_names() {
    let env = Env::new();
    let mut fake = Fake::new(1402);
    // On Unix `\` is an ordinary character of a file name, not a separator.
    env.write(
        "dir/a\\..\\b c#.txt",
        format!("t = {}\n", fake.github_pat()),
    );
    let out = env
        .cmd()
        .args(["scan", ".", "-f", "sarif"])
        .output()
        .unwrap();
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let uri = &sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
        ["artifactLocation"]["uri"];
    assert_eq!(uri, "dir/a%5C..%5Cb%20c%23.txt");
}
