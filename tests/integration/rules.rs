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
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = doc["rules"].as_array().unwrap();
    assert!(list.len() >= 650, "{} rules", list.len());
    let counts = &doc["counts"];
    assert_eq!(counts["rules"], list.len());
    let with = |key: &str| {
        list.iter()
            .filter(|r| !r[key].is_null() && r[key] != false)
            .count()
    };
    assert_eq!(counts["with_validator"], with("validator"));
    assert_eq!(counts["with_revoker"], with("revoker"));
    assert_eq!(counts["with_offline_check"], with("offline_check"));
    assert!(counts["with_revoker"].as_u64().unwrap() >= 6);
    let ids: std::collections::HashSet<&str> =
        list.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), list.len(), "rule ids are unique");
    // Pattern rules need keywords for the prefilter; the generic detector's
    // scored rules have none (its candidate stage finds their values).
    assert!(list
        .iter()
        .filter(|r| !r["id"].as_str().unwrap().starts_with("generic-"))
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

#[test]
fn check_requires_examples_to_pass_their_offline_check() {
    let env = Env::new();
    env.write(
        "mine.yml",
        r#"
rules:
  - id: acme-gh
    name: ACME GitHub-style token
    description: d
    references: [https://acme.test/docs]
    keywords: [ghp_]
    pattern: '\b(ghp_[A-Za-z0-9]{36})\b'
    offline_check: github-crc32
    examples: ['ghp_R8fK2mQ9xLz4Tb7Wc1Vn5Hj3Ds6Ga0Py2Ue8']
    negative_examples: ['ghp_short']
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
        stderr.contains("rule acme-gh: example 1 fails its github-crc32 check"),
        "{stderr}"
    );
}

/// The generic detector adds no noise where the rules promise none: every
/// bundled rule's negative example, scanned as a config file, gives no
/// generic finding at medium confidence or above, except the few listed
/// below (credential-shaped values under credential names: a provider
/// rule rejects them for lacking its context, but they are what the
/// generic detector exists to report).
#[test]
fn generic_detector_is_quiet_on_rule_negatives() {
    use keysweep::blob::Origin;
    use keysweep::matcher::Scratch;
    use keysweep::rules::{Confidence, RuleSet};
    use keysweep::scan::Scanner;
    let with_examples = RuleSet::builtin_with_examples().unwrap();
    let scanner = Scanner::new(std::sync::Arc::new(RuleSet::builtin()), Confidence::Medium);
    let origin = Origin::File("app.cfg".into());
    let mut scratch = Scratch::default();
    let mut loud = Vec::new();
    for rule in with_examples.rules() {
        for ex in &rule.spec.negative_examples {
            for f in scanner.scan_bytes_with(
                ex.as_bytes(),
                &origin,
                &mut scratch,
                &keysweep::diag::Messages::new(true),
            ) {
                if f.matched.score.is_some() {
                    loud.push(format!(
                        "{}: {ex:?} ({}, {:?})",
                        rule.spec.id, f.rule.confidence, f.matched.score
                    ));
                }
            }
        }
    }
    eprintln!("{}", loud.join("\n"));
    assert!(
        loud.len() <= ACCEPTED_LOUD_NEGATIVES,
        "{} rule negatives reported at medium or above",
        loud.len()
    );
}

/// How many rule negatives the generic detector reports at medium or above
/// (see the test above); raising it is a visible decision. 116 with the
/// 372 rules; 431 once the 313 rules of issue 16 came, whose negatives are
/// mostly right-shaped values under a generic name (`TOKEN=…`) that the
/// provider rule rejects for lacking the provider's name. All are
/// fake credentials built to look real under credential names
/// (`CLIENT_SECRET=…`, `api_token = "…"`) that a provider rule rejects for
/// a missing prefix or context; none is a placeholder, template or
/// reference (those are what the detector must and does stay quiet on).
const ACCEPTED_LOUD_NEGATIVES: usize = 431;
