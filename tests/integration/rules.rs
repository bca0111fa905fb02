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
    let doc = env.rules_list();
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

/// The generic detector adds no noise where the rules promise none: no
/// bundled rule's negative example, scanned as a config file, gives a
/// generic finding at medium confidence or above. What a provider rule
/// rejects although it is a credential (the right shape under a bare
/// `TOKEN=`, a provider-named key cut short) is listed apart, as the rule's
/// `generic_examples`, and the detector must report every one of those: the
/// boundary between the rules and the detector is written down, and moving
/// it either way fails here.
#[test]
fn generic_detector_is_quiet_on_rule_negatives_and_reports_generic_examples() {
    use keysweep::blob::Origin;
    use keysweep::finding::Finding;
    use keysweep::matcher::Scratch;
    use keysweep::rules::{Confidence, RuleSet};
    use keysweep::scan::Scanner;
    let with_examples = RuleSet::builtin_with_examples().unwrap();
    let builtin = std::sync::Arc::new(RuleSet::builtin());
    let origin = Origin::File("app.cfg".into());
    let mut scratch = Scratch::default();
    let mut scan = |scanner: &Scanner, ex: &str| -> Vec<Finding> {
        let quiet = keysweep::diag::Messages::new(true);
        scanner.scan_bytes_with(ex.as_bytes(), &origin, &mut scratch, &quiet)
    };
    let medium = Scanner::new(builtin.clone(), Confidence::Medium);
    let low = Scanner::new(builtin, Confidence::Low);
    let (mut loud, mut missed, mut generic_examples) = (Vec::new(), Vec::new(), 0);
    for rule in with_examples.rules() {
        for ex in &rule.spec.negative_examples {
            for f in scan(&medium, ex) {
                if f.matched.score.is_some() {
                    loud.push(format!("{}: {ex:?} ({})", rule.spec.id, f.rule.id));
                }
            }
        }
        for ex in &rule.spec.generic_examples {
            generic_examples += 1;
            let found = scan(&low, ex);
            if !found.iter().any(|f| f.matched.score.is_some()) {
                missed.push(format!("{}: {ex:?}", rule.spec.id));
            }
        }
    }
    assert!(loud.is_empty(), "negatives reported:\n{}", loud.join("\n"));
    assert!(
        missed.is_empty(),
        "generic examples the detector misses:\n{}",
        missed.join("\n")
    );
    // The split is real: most provider rules have such a boundary case.
    assert!(generic_examples > 300, "{generic_examples}");
}
