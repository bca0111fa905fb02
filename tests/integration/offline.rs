//! Offline checks: checksums and JWT expiry judged from the secret alone.

use base64::Engine;

use crate::common::{findings, Env, Fake};

fn by_line(json: &serde_json::Value, line: u64) -> &serde_json::Value {
    findings(json)
        .iter()
        .find(|f| f["line"] == line)
        .unwrap_or_else(|| panic!("no finding on line {line}: {json}"))
}

/// The same token with its last checksum character changed.
fn break_checksum(token: &str) -> String {
    let last = token.chars().last().unwrap();
    let other = if last == 'A' { 'B' } else { 'A' };
    format!("{}{other}", &token[..token.len() - 1])
}

#[test]
fn a_wrong_checksum_lowers_confidence_and_says_why() {
    let env = Env::new();
    let mut fake = Fake::new(1601);
    let good = fake.github_pat();
    let bad = break_checksum(&fake.github_pat());
    let npm = fake.crc32_token("npm");
    env.write(
        "deploy.env",
        format!("GITHUB_TOKEN={good}\nGH_BACKUP={bad}\nNPM_TOKEN={npm}\n"),
    );
    let (code, json) = env.scan_json(&["."]);
    assert_eq!(code, 1);
    assert_eq!(findings(&json).len(), 3, "{json}");

    let ok = by_line(&json, 1);
    assert_eq!(ok["rule_id"], "github-pat-classic");
    assert_eq!(ok["confidence"], "high");
    assert_eq!(ok["offline_check"]["check"], "github-crc32");
    assert_eq!(ok["offline_check"]["status"], "passed");

    let wrong = by_line(&json, 2);
    assert_eq!(wrong["rule_id"], "github-pat-classic");
    assert_eq!(wrong["confidence"], "low", "reported, at low confidence");
    assert_eq!(wrong["offline_check"]["status"], "failed");
    let detail = wrong["offline_check"]["detail"].as_str().unwrap();
    assert!(detail.contains("checksum does not match"), "{detail}");
    assert!(!detail.contains(&bad[30..]), "the detail quotes no secret");

    let npm_finding = by_line(&json, 3);
    assert_eq!(npm_finding["rule_id"], "npm-access-token");
    assert_eq!(npm_finding["confidence"], "high");

    // --min-confidence applies to the lowered confidence.
    let (_, json) = env.scan_json(&["--min-confidence", "medium", "."]);
    assert_eq!(findings(&json).len(), 2, "{json}");
    assert!(findings(&json).iter().all(|f| f["line"] != 2));
}

#[test]
fn human_output_shows_the_offline_check() {
    let env = Env::new();
    let mut fake = Fake::new(1602);
    let bad = break_checksum(&fake.github_pat());
    env.write("a.env", format!("GITHUB_TOKEN={bad}\n"));
    let out = env.cmd().args(["scan", "."]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("offline      github-crc32 failed: CRC32 checksum does not match"),
        "{stdout}"
    );
    assert!(stdout.contains("confidence   low"), "{stdout}");
}

fn jwt(payload: &str) -> String {
    let b64 = |s: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    format!(
        "{}.{}.{}",
        b64(br#"{"alg":"HS256","typ":"JWT"}"#),
        b64(payload.as_bytes()),
        b64(b"fake-signature-bytes-made-at-test-time")
    )
}

#[test]
fn an_expired_jwt_is_marked_expired() {
    let env = Env::new();
    let expired = jwt(r#"{"sub":"svc-billing","iss":"https://auth.acme.test/","exp":1700000000}"#);
    let current = jwt(r#"{"sub":"svc-billing","exp":4102444800}"#);
    env.write(
        "config.yml",
        format!("old_token: {expired}\nnew_token: {current}\n"),
    );
    let (_, json) = env.scan_json(&["."]);
    let old = by_line(&json, 1);
    assert_eq!(old["rule_id"], "jwt");
    assert_eq!(old["offline_check"]["status"], "expired");
    let detail = old["offline_check"]["detail"].as_str().unwrap();
    assert!(detail.contains("expired on 2023-11-14"), "{detail}");
    assert!(
        detail.contains("issuer https://auth.acme.test/"),
        "{detail}"
    );
    assert_eq!(
        old["confidence"], "medium",
        "expiry does not lower confidence"
    );

    let new = by_line(&json, 2);
    assert_eq!(new["offline_check"]["status"], "passed");
    assert!(new["offline_check"]["detail"]
        .as_str()
        .unwrap()
        .contains("expires on 2100-01-01"));
}
