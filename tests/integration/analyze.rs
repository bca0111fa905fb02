//! Analysis and provider revokers, table-driven from the bundled specs: for
//! every analyzer a loopback stand-in answers with the spec's example answer
//! (written from the provider's documentation) and the parsed identity,
//! scopes, expiry and severity are checked; for every revoker the request it
//! sends is checked and each kind of answer is mapped. Nothing here reaches
//! beyond 127.0.0.1.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use base64::Engine;
use serde_json::{json, Value};

use crate::common::{findings, Env, Fake};
use crate::stub::{Reply, Seen, Server};
use keysweep::analyze::{AnalyzeError, Analyzer};
use keysweep::finding::{Finding, RevocationStatus, Validation};
use keysweep::revoke::{Broker, RevokeConfig, RevokeMode, RevokeOptions, RevokeRequire, Revoker};
use keysweep::rules::{bundled_analyzers, AnalyzerKind, Matchers, RuleSet};
use keysweep::validate::{ValidateOptions, Validator};

/// A validator whose requests for `provider` go to `url`.
fn validator(provider: &str, url: &str) -> Validator {
    Validator::new(ValidateOptions {
        allow_internal: true,
        endpoints: HashMap::from([(provider.to_string(), url.to_string())]),
        per_host_interval: Duration::ZERO,
        retry_backoff: Duration::from_millis(10),
        timeout: Duration::from_secs(5),
        ..ValidateOptions::default()
    })
    .unwrap()
}

/// Fills `{{secret}}` and `{{parts.NAME}}` as the engine does (no encoding:
/// test values need none).
fn render(t: &str, secret: &str, parts: &BTreeMap<String, String>) -> String {
    let mut s = t.replace("{{secret}}", secret);
    for (k, v) in parts {
        s = s.replace(&format!("{{{{parts.{k}}}}}"), v);
    }
    s
}

fn path_of(url: &str) -> String {
    url::Url::parse(url).unwrap().path().to_string()
}

fn target_path(seen: &Seen) -> &str {
    seen.target.split('?').next().unwrap_or("")
}

/// The request fields a spec templates, checked against what the stand-in
/// saw: method, path, literal query, each header, basic auth, query values.
struct Expected<'a> {
    method: &'a str,
    url: &'a str,
    headers: &'a BTreeMap<String, String>,
    query: &'a BTreeMap<String, String>,
    basic: Option<(&'a str, &'a str)>,
}

fn check_request(
    what: &str,
    seen: &Seen,
    e: &Expected<'_>,
    secret: &str,
    parts: &BTreeMap<String, String>,
) {
    let url = render(e.url, secret, parts);
    assert_eq!(seen.method, e.method, "{what}: method\n{}", seen.raw());
    assert_eq!(
        target_path(seen),
        path_of(&url),
        "{what}: path\n{}",
        seen.raw()
    );
    if let Some(q) = url::Url::parse(&url).unwrap().query() {
        assert!(seen.target.contains(q), "{what}: query {q}\n{}", seen.raw());
    }
    for (k, t) in e.headers {
        let want = render(t, secret, parts);
        assert_eq!(
            seen.header(k),
            Some(want.as_str()),
            "{what}: header {k}\n{}",
            seen.raw()
        );
    }
    for (k, t) in e.query {
        let v: String =
            url::form_urlencoded::byte_serialize(render(t, secret, parts).as_bytes()).collect();
        assert!(
            seen.target.contains(&format!("{k}={v}")),
            "{what}: query {k}\n{}",
            seen.raw()
        );
    }
    if let Some((u, p)) = e.basic {
        let token = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            render(u, secret, parts),
            render(p, secret, parts)
        ));
        assert_eq!(
            seen.header("authorization"),
            Some(format!("Basic {token}").as_str()),
            "{what}: basic auth"
        );
    }
}

/// One stand-in answer from an example: `{when, status, headers, body}`.
fn reply(a: &Value) -> Reply {
    let body = match &a["body"] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let mut r = Reply::new(a["status"].as_u64().unwrap_or(200) as u16, body);
    if let Some(h) = a["headers"].as_object() {
        r.headers = h
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
    }
    r
}

fn gcp_key() -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/validate/gcp-test-service-account.pem"),
    )
    .unwrap()
}

/// The secret an analyzer is tried with: the example's own (an offline
/// analyzer reads the secret), the test key for GCP, a fake of no provider's
/// format otherwise (a network analysis does not look at the format).
fn secret_for(kind: AnalyzerKind, name: &str, example: &Value) -> String {
    if let Some(s) = example["secret"].as_str() {
        return s.to_string();
    }
    match kind {
        AnalyzerKind::Gcp => gcp_key(),
        _ => format!("kstest_{}_Zq81mV3xP0", name.replace('-', "_")),
    }
}

#[test]
fn every_analyzer_reads_its_documented_answer_from_a_stand_in() {
    let rules = RuleSet::builtin();
    let all = bundled_analyzers().unwrap();
    let files: BTreeSet<&str> = all.iter().map(|e| e.file.as_str()).collect();
    assert!(
        files.len() >= 30,
        "analyzers for only {} providers",
        files.len()
    );
    let mut tried = 0;
    for entry in all {
        let rule = rules
            .rules()
            .iter()
            .find(|r| entry.selects(r.id()))
            .unwrap_or_else(|| panic!("{}: no rule", entry.name));
        let spec = &entry.spec;
        let ex = spec
            .example
            .clone()
            .unwrap_or_else(|| panic!("{} entry {}: no example", entry.file, entry.name));
        let answers: Vec<Value> = match ex["answers"].as_array() {
            Some(a) => a.clone(),
            None => vec![ex.clone()],
        };
        let parts: BTreeMap<String, String> =
            serde_json::from_value(ex["parts"].clone()).unwrap_or_default();
        let secret = secret_for(spec.kind, &entry.name, &ex);
        let server = Server::start(move |req, _| {
            let seen = format!("{} {}\n{}", req.method, req.target, req.body);
            let a = answers
                .iter()
                .find(|a| a["when"].as_str().is_none_or(|w| seen.contains(w)))
                .cloned()
                .unwrap_or_else(|| json!({"status": 404, "body": {"message": "no such route"}}));
            reply(&a)
        });
        let v = validator(&rule.provider, &server.url);
        let got = Analyzer::new(&v)
            .analyze(rule, &secret, &parts)
            .unwrap_or_else(|e| panic!("{} entry {}: {e}", entry.file, entry.name));
        let want = &ex["expect"];
        let ctx = format!("{} entry {}", entry.file, entry.name);
        assert_eq!(
            got.identity.as_deref(),
            want["identity"].as_str(),
            "{ctx}: identity"
        );
        let scopes: Vec<String> =
            serde_json::from_value(want["scopes"].clone()).unwrap_or_default();
        assert_eq!(got.scopes, scopes, "{ctx}: scopes");
        assert_eq!(
            got.expires.as_deref(),
            want["expires"].as_str(),
            "{ctx}: expires"
        );
        assert_eq!(
            got.severity.map(|s| s.to_string()).as_deref(),
            want["severity"].as_str(),
            "{ctx}: severity"
        );
        assert!(got.error.is_none(), "{ctx}: {:?}", got.error);
        let text = serde_json::to_string(&got).unwrap();
        assert!(
            !text.contains(&secret),
            "{ctx}: the secret leaked into the analysis"
        );
        check_sent(&ctx, spec, &server.requests(), &secret, &parts);
        tried += 1;
    }
    assert_eq!(tried, all.len());
    assert!(tried >= 30);
}

/// What each kind of analyzer must have sent.
fn check_sent(
    ctx: &str,
    spec: &keysweep::rules::AnalyzeSpec,
    seen: &[Seen],
    secret: &str,
    parts: &BTreeMap<String, String>,
) {
    match spec.kind {
        AnalyzerKind::Http => {
            assert_eq!(seen.len(), 1, "{ctx}: one read-only request");
            let basic = spec
                .basic_auth
                .as_ref()
                .map(|b| (b.username.as_str(), b.password.as_str()));
            let e = Expected {
                method: spec.method.as_deref().unwrap_or("GET"),
                url: spec.url.as_deref().unwrap(),
                headers: &spec.headers,
                query: &spec.query,
                basic,
            };
            check_request(ctx, &seen[0], &e, secret, parts);
            let body_spec = serde_json::to_string(&(&spec.form, &spec.json)).unwrap();
            if body_spec.contains("{{secret}}") {
                assert!(
                    seen[0].body.contains(secret),
                    "{ctx}: the body does not carry the secret\n{}",
                    seen[0].raw()
                );
            }
        }
        AnalyzerKind::Aws => {
            let actions: Vec<&str> = seen
                .iter()
                .map(|s| s.body.split('&').next().unwrap_or(""))
                .collect();
            assert_eq!(
                actions,
                [
                    "Action=GetCallerIdentity",
                    "Action=ListAttachedUserPolicies",
                    "Action=ListUserPolicies"
                ],
                "{ctx}"
            );
            for s in seen {
                let auth = s.header("authorization").unwrap_or("");
                assert!(
                    auth.starts_with(&format!("AWS4-HMAC-SHA256 Credential={}/", parts["key_id"])),
                    "{ctx}: {auth}"
                );
                assert!(
                    s.body.contains("UserName=deployer") || s.body.contains("GetCallerIdentity"),
                    "{ctx}: {}",
                    s.body
                );
            }
        }
        AnalyzerKind::PypiMacaroon => assert!(seen.is_empty(), "{ctx}: offline, sends nothing"),
        AnalyzerKind::Gcp => {
            assert_eq!(seen.len(), 2, "{ctx}");
            assert_eq!(seen[0].target, "/token");
            assert!(seen[0].body.contains("grant_type=urn"), "{ctx}");
            assert_eq!(seen[1].method, "POST");
            assert_eq!(
                seen[1].target,
                "/v1/projects/ledger-4821:testIamPermissions"
            );
            assert_eq!(
                seen[1].header("authorization"),
                Some("Bearer ya29.analysis-test")
            );
            let body: Value = serde_json::from_str(&seen[1].body).unwrap();
            assert!(
                body["permissions"].as_array().is_some_and(|p| p.len() > 5),
                "{ctx}"
            );
        }
    }
}

/// Every analyzer that asks its provider: a refusal (401) is reported as the
/// provider's status and a server error (503, after the retry) as no usable
/// answer, never as an analysis; offline ones send nothing and need neither.
#[test]
fn every_networked_analyzer_maps_refusals_and_server_errors() {
    let rules = RuleSet::builtin();
    let mut tried = 0;
    for entry in bundled_analyzers().unwrap() {
        let spec = &entry.spec;
        if spec.is_offline() {
            continue;
        }
        let rule = rules
            .rules()
            .iter()
            .find(|r| entry.selects(r.id()))
            .unwrap();
        let ex = spec.example.clone().unwrap();
        let parts: BTreeMap<String, String> =
            serde_json::from_value(ex["parts"].clone()).unwrap_or_default();
        let secret = secret_for(spec.kind, &entry.name, &ex);
        let ctx = format!("{} entry {}", entry.file, entry.name);
        for status in [401u16, 503] {
            let server =
                Server::start(move |_, _| Reply::new(status, r#"{"message":"stand-in refusal"}"#));
            let v = validator(&rule.provider, &server.url);
            let got = Analyzer::new(&v).analyze(rule, &secret, &parts);
            match (status, got) {
                (401, Err(AnalyzeError::Status { status: 401, .. })) => {}
                (503, Err(AnalyzeError::Request(why))) => {
                    assert!(!why.contains(&secret), "{ctx}: {why}")
                }
                (_, other) => panic!("{ctx}: HTTP {status} gave {other:?}"),
            }
            assert!(!server.requests().is_empty(), "{ctx}: nothing sent");
        }
        tried += 1;
    }
    assert!(tried >= 35, "only {tried} networked analyzers");
}

/// The PyPI analyzer reads a token offline; `keysweep analyze` says so and
/// proves nothing live (exit 2), and `scan --analyze` analyzes tokens no
/// validator confirmed.
#[test]
fn pypi_tokens_are_analyzed_offline() {
    let entry = bundled_analyzers()
        .unwrap()
        .iter()
        .find(|e| e.name == "pypi")
        .unwrap();
    let token = entry.spec.example.as_ref().unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let env = Env::new();
    let out = env
        .cmd()
        .args(["analyze", "-", "--rule", "pypi-api-token", "-f", "json"])
        .write_stdin(format!("{token}\n"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["validation"]["status"], "not-checked");
    assert_eq!(doc["analysis"]["scopes"], json!(["project:acme-deploy"]));
    assert_eq!(doc["analysis"]["severity"], "high");
    env.write("setup.cfg", format!("[pypi]\npassword = {token}\n"));
    let (code, json) = env.scan_json(&[".", "--analyze"]);
    assert_eq!(code, 1);
    let fs = findings(&json);
    let pypi: Vec<&Value> = fs
        .iter()
        .filter(|f| f["rule_id"] == "pypi-api-token")
        .collect();
    assert_eq!(pypi.len(), 1, "{json:#}");
    assert_eq!(pypi[0]["analysis"]["expires"], "2033-05-18T03:33:20Z");
    assert!(!json.to_string().contains(&token));
}

#[test]
fn an_analyzer_refused_by_the_provider_reports_the_status() {
    let rules = RuleSet::builtin();
    let rule = rules.get("github-pat-classic").unwrap();
    let server = Server::start(|_, _| Reply::new(401, r#"{"message":"Bad credentials"}"#));
    let v = validator("github", &server.url);
    let e = Analyzer::new(&v)
        .analyze(rule, "ghp_notlive", &BTreeMap::new())
        .unwrap_err();
    assert_eq!(
        e,
        AnalyzeError::Status {
            status: 401,
            said: "Bad credentials".into()
        }
    );
    // An AWS user whose policies may not be listed: identity, the refusal, high.
    let aws = Server::start(|req, _| {
        if req.body.contains("GetCallerIdentity") {
            Reply::new(
                200,
                "<Arn>arn:aws:iam::123456789012:user/ci</Arn><Account>123456789012</Account>",
            )
        } else {
            Reply::new(403, "<Error><Code>AccessDenied</Code></Error>")
        }
    });
    let v = validator("aws", &aws.url);
    let parts = BTreeMap::from([("key_id".to_string(), "AKIAIOSFODNN7EXAMPLE".to_string())]);
    let a = Analyzer::new(&v)
        .analyze(
            rules.get("aws-secret-access-key").unwrap(),
            "kstest_aws_secret",
            &parts,
        )
        .unwrap();
    assert_eq!(
        a.identity.as_deref(),
        Some("arn:aws:iam::123456789012:user/ci (account 123456789012)")
    );
    assert_eq!(
        a.error.as_deref(),
        Some("policies not readable (AccessDenied)")
    );
    assert_eq!(a.severity.map(|s| s.to_string()).as_deref(), Some("high"));
}

/// A body satisfying the first matcher: each JSON condition's value (the
/// first of a list, a string for `exists: true`), plus any required text.
fn answer_for(m: &Matchers) -> (u16, String) {
    let Some(m) = m.0.first() else {
        return (200, "{}".into());
    };
    let mut body = json!({});
    for (path, want) in &m.json {
        let v = match want {
            Value::Array(a) => a[0].clone(),
            Value::Object(o) if o.contains_key("exists") => json!("x"),
            other => other.clone(),
        };
        set_path(&mut body, path, v);
    }
    if let Some(text) = m.body_contains.first() {
        body["message"] = json!(text);
    }
    (m.status.first().copied().unwrap_or(200), body.to_string())
}

fn set_path(root: &mut Value, path: &str, v: Value) {
    let mut cur = root;
    let keys: Vec<&str> = path.split('.').collect();
    for k in &keys[..keys.len() - 1] {
        cur = cur
            .as_object_mut()
            .unwrap()
            .entry(k.to_string())
            .or_insert(json!({}));
    }
    cur[keys[keys.len() - 1]] = v;
}

/// A fake in the format a revoker's `extract` needs, else a format-free one.
fn revoke_secret(name: &str, fake: &mut Fake) -> String {
    match name {
        "tailscale" => format!("tskey-api-k{}CNTRL-{}", fake.alnum(6), fake.alnum(32)),
        "sendgrid" => format!("SG.{}.{}", fake.alnum(22), fake.alnum(43)),
        "discord-webhook" => format!(
            "https://discord.com/api/webhooks/123456789012345678/{}",
            fake.alnum(68)
        ),
        _ => format!("kstest_{}_{}", name.replace('-', "_"), fake.alnum(16)),
    }
}

/// Parts a revoker's `extract` cuts from the secret (the test knows the
/// formats above).
fn extracted(name: &str, secret: &str) -> BTreeMap<String, String> {
    let mut p = BTreeMap::new();
    match name {
        "tailscale" => {
            p.insert(
                "key_id".into(),
                secret.split('-').nth(2).unwrap().to_string(),
            );
        }
        "sendgrid" => {
            p.insert(
                "api_key_id".into(),
                secret.split('.').nth(1).unwrap().to_string(),
            );
        }
        "discord-webhook" => {
            let mut it = secret.rsplit('/');
            p.insert("webhook_token".into(), it.next().unwrap().to_string());
            p.insert("webhook_id".into(), it.next().unwrap().to_string());
        }
        _ => {}
    }
    p
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Case {
    Revoked,
    NotFound,
    Refused,
}

#[test]
fn every_revoker_sends_its_documented_request_and_maps_the_answers() {
    let rules = RuleSet::builtin();
    let entries = keysweep::revoke::bundled_entries();
    let providers: BTreeSet<&str> = entries.iter().map(|(f, _, _)| f.as_str()).collect();
    assert!(
        providers.len() >= 20,
        "revokers for only {} providers",
        providers.len()
    );
    let mut fake = Fake::new(1601);
    let mut runs = 0;
    for (file, ids, spec) in entries {
        let rule = rules.get(&ids[0]).unwrap();
        let name = ids_entry_name(file, &ids[0]);
        for case in [Case::Revoked, Case::NotFound, Case::Refused] {
            let secret = revoke_secret(&name, &mut fake);
            let mut parts = extracted(&name, &secret);
            let ctx = format!("rules/revokers/{file}.yml ({}) {case:?}", ids[0]);
            let lookup_body = spec.lookup.as_ref().map(|l| {
                let mut b = json!({});
                for (part, path) in &l.parts {
                    set_path(&mut b, path, json!(format!("lk-{part}")));
                    parts.insert(part.clone(), format!("lk-{part}"));
                }
                (path_of(&l.url), b.to_string())
            });
            let method = spec.method.clone().unwrap_or_else(|| "POST".into());
            let revoke_path = path_of(&render(&spec.url, &secret, &parts));
            let (status, body) = match case {
                Case::Revoked => answer_for(&spec.revoked),
                Case::NotFound => answer_for(&spec.not_found),
                Case::Refused => (403, r#"{"message":"forbidden"}"#.to_string()),
            };
            let (m, p, lb) = (method.clone(), revoke_path.clone(), lookup_body.clone());
            let server = Server::start(move |req, _| {
                if let Some((lp, b)) = &lb {
                    if req.method == "GET" && target_path(req) == lp {
                        return Reply::new(200, b.clone());
                    }
                }
                if req.method == m && target_path(req) == p {
                    return Reply::new(status, body.clone());
                }
                // Anything else (the confirming validation) is refused.
                Reply::new(401, r#"{"message":"invalid token"}"#)
            });
            let v = validator(&rule.provider, &server.url);
            let got = revoke_one(&v, &rules, rule, &secret);
            check_outcome(&ctx, case, &got.0, &got.1);
            let seen = server.requests();
            let revoke_req = seen
                .iter()
                .find(|s| s.method == method && target_path(s) == revoke_path)
                .unwrap_or_else(|| {
                    panic!(
                        "{ctx}: no revoke request among {:?}",
                        seen.iter().map(|s| s.raw()).collect::<Vec<_>>()
                    )
                });
            let basic = spec
                .basic_auth
                .as_ref()
                .map(|b| (b.username.as_str(), b.password.as_str()));
            let e = Expected {
                method: &method,
                url: &spec.url,
                headers: &spec.headers,
                query: &spec.query,
                basic,
            };
            check_request(&ctx, revoke_req, &e, &secret, &parts);
            let raw = revoke_req.raw();
            let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
            assert!(
                raw.contains(&secret) || raw.contains(&encoded) || !parts.is_empty(),
                "{ctx}: the request does not carry the secret\n{raw}"
            );
            assert!(
                !got.1.contains(&secret),
                "{ctx}: detail shows the secret: {}",
                got.1
            );
            runs += 1;
        }
    }
    assert_eq!(runs, entries.len() * 3);
}

/// The entry name the secret formats above are keyed by.
fn ids_entry_name(file: &str, first_rule: &str) -> String {
    if first_rule == "discord-webhook" {
        "discord-webhook".into()
    } else {
        file.to_string()
    }
}

fn revoke_one(
    v: &Validator,
    rules: &RuleSet,
    rule: &keysweep::rules::Rule,
    secret: &str,
) -> (RevocationStatus, String) {
    let config = RevokeConfig {
        mode: RevokeMode::Enforce,
        require: RevokeRequire::Any,
        rules: vec!["*".into()],
        broker: vec![Broker::Provider {}],
        ..RevokeConfig::default()
    };
    let opts = RevokeOptions {
        config,
        audit_log: None,
        base_dir: std::env::temp_dir(),
    };
    let mut revoker = Revoker::new(opts, v, rules).unwrap();
    let mut f = Finding::default();
    f.rule.id = rule.id().to_string();
    f.rule.provider = rule.provider.clone();
    f.matched.secret = secret.to_string();
    f.matched.fingerprint = format!("fp-{}", rule.id());
    f.location.path = "leak.env".into();
    f.location.line = 1;
    f.annotations.validation = Some(Validation::live("test"));
    let mut findings = vec![f];
    revoker.revoke_findings(&mut findings).unwrap();
    let r = findings[0].annotations.revocation.clone().unwrap();
    (r.status, r.detail)
}

fn check_outcome(ctx: &str, case: Case, status: &RevocationStatus, detail: &str) {
    match case {
        Case::Revoked => {
            assert_ne!(*status, RevocationStatus::Failed, "{ctx}: {detail}");
            assert!(
                detail.starts_with("provider answered HTTP"),
                "{ctx}: {detail}"
            );
        }
        Case::NotFound => {
            assert_eq!(*status, RevocationStatus::Failed, "{ctx}: {detail}");
            assert!(
                detail.starts_with("broker does not know this secret"),
                "{ctx}: {detail}"
            );
        }
        Case::Refused => {
            assert_eq!(*status, RevocationStatus::Failed, "{ctx}: {detail}");
            assert!(
                detail.starts_with("provider answered HTTP 403"),
                "{ctx}: {detail}"
            );
        }
    }
}

/// A GitHub stand-in for the CLI tests: `/user` with scopes and expiry.
pub(crate) fn github(live: &str) -> Server {
    let want = format!("Bearer {live}");
    Server::start(move |req, _| {
        if req.header("authorization") != Some(want.as_str()) {
            return Reply::new(401, r#"{"message":"Bad credentials"}"#);
        }
        let mut r = Reply::new(200, r#"{"login":"octocat","id":1}"#);
        r.headers = vec![
            ("X-OAuth-Scopes".into(), "repo, read:org".into()),
            (
                "GitHub-Authentication-Token-Expiration".into(),
                "2031-04-01 00:00:00 UTC".into(),
            ),
        ];
        r
    })
}

#[test]
fn scan_analyze_reports_live_secrets_in_json_human_and_sarif() {
    let mut fake = Fake::new(1602);
    let (live, dead) = (fake.github_pat(), fake.github_pat());
    let server = github(&live);
    let env = Env::new();
    env.write("ci.env", format!("TOKEN={live}\nOLD={dead}\n"));
    let endpoint = format!("github={}", server.url);
    let base = ["--analyze", "--allow-internal", "--endpoint", &endpoint];
    let (code, json) = env.scan_json(&[&["."][..], &base[..]].concat());
    assert_eq!(code, 1);
    let fs = findings(&json);
    let analysis: Vec<&Value> = fs.iter().filter_map(|f| f.get("analysis")).collect();
    assert_eq!(
        analysis.len(),
        1,
        "only the live secret is analyzed: {json:#}"
    );
    assert_eq!(
        analysis[0],
        &json!({"identity": "octocat", "scopes": ["repo", "read:org"],
                "expires": "2031-04-01 00:00:00 UTC", "severity": "critical"})
    );
    assert_eq!(json["summary"]["analysis"]["analyzed"], 1);
    assert_eq!(json["summary"]["analysis"]["by_severity"]["critical"], 1);
    // Validation once and analysis once per secret: three requests.
    assert_eq!(server.requests().len(), 3);
    let schema: Value =
        serde_json::from_str(include_str!("../../docs/report.schema.json")).unwrap();
    let errors: Vec<String> = jsonschema::validator_for(&schema)
        .unwrap()
        .iter_errors(&json)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");

    let human = env
        .cmd()
        .args([&["scan", "."][..], &base[..]].concat())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains("identity octocat; scopes repo, read:org; expires 2031-04-01 00:00:00 UTC; severity critical"), "{text}");
    assert!(!text.contains(&live));
    let sarif = env
        .cmd()
        .args([&["scan", ".", "-f", "sarif"][..], &base[..]].concat())
        .output()
        .unwrap();
    let sarif: Value = serde_json::from_slice(&sarif.stdout).unwrap();
    let props: Vec<&Value> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["properties"].get("analysis"))
        .collect();
    assert_eq!(props.len(), 1);
    assert_eq!(props[0]["severity"], "critical");
}

#[test]
fn fail_on_severity_needs_analysis_and_counts_only_that_severity() {
    let mut fake = Fake::new(1603);
    let live = fake.github_pat();
    let server = github(&live);
    let env = Env::new();
    env.write("a.env", format!("T={live}\n"));
    let endpoint = format!("github={}", server.url);
    let run = |extra: &[&str]| {
        env.cmd()
            .args(
                [
                    &[
                        "scan",
                        ".",
                        "-q",
                        "--allow-internal",
                        "--endpoint",
                        &endpoint,
                    ][..],
                    extra,
                ]
                .concat(),
            )
            .output()
            .unwrap()
    };
    let out = run(&["--fail-on", "critical"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs --analyze"));
    assert_eq!(
        run(&["--analyze", "--fail-on", "critical"]).status.code(),
        Some(1)
    );
    // Only a critical one fails the run; scopes without `repo` rate lower.
    let weak = Server::start(|_, _| {
        let mut r = Reply::new(200, r#"{"login":"reader"}"#);
        r.headers = vec![("X-OAuth-Scopes".into(), "read:user".into())];
        r
    });
    let endpoint = format!("github={}", weak.url);
    let out = env
        .cmd()
        .args([
            "scan",
            ".",
            "-q",
            "--allow-internal",
            "--endpoint",
            &endpoint,
            "--analyze",
            "--fail-on",
            "critical",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn analyze_command_reads_the_secret_from_stdin() {
    let mut fake = Fake::new(1604);
    let live = fake.github_pat();
    let server = github(&live);
    let env = Env::new();
    let endpoint = format!("github={}", server.url);
    let out = env
        .cmd()
        .args([
            "analyze",
            "-",
            "--rule",
            "github-pat-classic",
            "-f",
            "json",
            "--allow-internal",
            "--endpoint",
            &endpoint,
        ])
        .write_stdin(format!("{live}\n"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["validation"]["status"], "live");
    assert_eq!(doc["analysis"]["identity"], "octocat");
    assert_eq!(doc["analysis"]["severity"], "critical");
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&live));
    // A dead secret is not analyzed and exits 0.
    let out = env
        .cmd()
        .args([
            "analyze",
            "ghp_000000000000000000000000000000000000",
            "--rule",
            "github-pat-classic",
            "--allow-internal",
            "--endpoint",
            &endpoint,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("analysis: not run"));
}

/// The README's analyzer figure is the one `rules list` reports.
#[test]
fn readme_states_the_analyzer_count_from_rules_list() {
    let env = Env::new();
    let doc = env.rules_list();
    let with = doc["counts"]["with_analyzer"].as_u64().unwrap();
    let rules = doc["counts"]["rules"].as_u64().unwrap();
    let providers: BTreeSet<&str> = doc["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["analyzer"] == true)
        .filter_map(|r| r["provider"].as_str())
        .collect();
    assert!(providers.len() >= 30, "{} providers", providers.len());
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    let figure = format!(
        "{with} of the {rules} bundled rules ({} providers) have an analyzer",
        providers.len()
    );
    assert!(
        readme.replace('\n', " ").contains(&figure),
        "README should say \"{figure}\" (from `keysweep rules list -f json`)"
    );
}

/// A store or site part that is not one DNS label never becomes a host: the
/// request is not built and nothing is sent.
#[test]
fn a_hostile_host_part_sends_nothing() {
    let rules = RuleSet::builtin();
    let rule = rules.get("shopify-access-token").unwrap();
    let server = Server::start(|_, _| Reply::new(200, r#"{"access_scopes":[]}"#));
    let v = Validator::new(ValidateOptions {
        allow_internal: true,
        ..ValidateOptions::default()
    })
    .unwrap();
    for shop in ["evil.example.com/x?", "127.0.0.1:9", "a@b", "-acme"] {
        let parts = BTreeMap::from([("shop".to_string(), shop.to_string())]);
        let secret = "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";
        let e = Analyzer::new(&v).analyze(rule, secret, &parts).unwrap_err();
        assert!(
            e.to_string().contains("not a host name label"),
            "{shop}: {e}"
        );
        let val = v.check(rule, secret, &parts);
        assert_eq!(
            val.status,
            keysweep::finding::ValidationStatus::NotChecked,
            "{shop}"
        );
    }
    assert_eq!(v.requests(), 0);
    assert!(server.requests().is_empty());
}

/// docs/analysis.md lists every analyzer with its documentation, so the
/// per-provider page cannot fall behind the analyzer files.
#[test]
fn every_analyzer_is_documented_in_docs_analysis() {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/analysis.md"),
    )
    .unwrap();
    let rows = doc
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains("| `"))
        .count();
    let all = bundled_analyzers().unwrap();
    for e in all {
        let row = doc
            .lines()
            .find(|l| l.contains(&format!("| `{}` |", e.name)))
            .unwrap_or_else(|| panic!("docs/analysis.md has no row for {}", e.name));
        assert!(
            row.contains(&e.spec.docs),
            "{}: docs URL not in {row}",
            e.name
        );
    }
    assert_eq!(rows, all.len(), "docs/analysis.md rows vs analyzer entries");
}
