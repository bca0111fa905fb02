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
