//! Every bundled validator against a loopback stand-in built from its own
//! spec: the answers its `live` and `invalid` matchers describe must read as
//! live and invalid, rate limits, server errors and timeouts as unknown with a
//! reason, and the request must go where the spec says with the secret where
//! the spec puts it. A new validator file is covered without touching this
//! file; the count at the end keeps the table from passing empty.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use keysweep::finding::ValidationStatus;
use keysweep::matcher::{Matcher, Scratch};
use keysweep::rules::{Matchers, ResponseMatch, Rule, RuleSet, ValidateSpec, ValidatorKind};
use keysweep::validate::{ValidateOptions, Validator};
use serde_json::{json, Map, Value};

use crate::stub::{Reply, Seen, Server};

/// Bundled rules with a validator must number at least this many.
const MIN_VALIDATED_RULES: usize = 320;
/// The GCP validator signs with the key, so it needs a real (test) RSA key.
const GCP_EMAIL: &str = "deployer@ledger-4821.iam.gserviceaccount.com";
const TIMEOUT: Duration = Duration::from_millis(300);

/// One rule with a validator, and a secret (plus parts) taken from the
/// rule's own examples, so that it has the provider's real format.
struct Case<'a> {
    rule: &'a Rule,
    spec: &'a ValidateSpec,
    secret: String,
    parts: BTreeMap<String, String>,
}

/// Canned answers: status and body.
type Answers = Vec<(u16, String)>;

/// What the stand-in answers next: status, body, delay.
type Plan = Arc<Mutex<(u16, String, Duration)>>;

fn gcp_pem() -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/validate/gcp-test-service-account.pem"),
    )
    .unwrap()
}

/// The first example of `rule` whose match carries every part the validator
/// needs.
fn case_of<'a>(rule: &'a Rule, spec: &'a ValidateSpec) -> Result<Case<'a>, String> {
    if spec.kind == ValidatorKind::Gcp {
        let parts = BTreeMap::from([("client_email".to_string(), GCP_EMAIL.to_string())]);
        return Ok(Case {
            rule,
            spec,
            secret: gcp_pem(),
            parts,
        });
    }
    let matcher = Matcher::new(Arc::new(RuleSet::alone(rule)));
    let mut scratch = Scratch::default();
    let need = spec.required_parts();
    for ex in &rule.spec.examples {
        for m in matcher.scan(ex.as_bytes(), &mut scratch) {
            let parts: BTreeMap<String, String> = m.parts.iter().cloned().collect();
            if need.iter().all(|p| parts.contains_key(p)) {
                let secret = ex[m.secret.clone()].to_string();
                return Ok(Case {
                    rule,
                    spec,
                    secret,
                    parts,
                });
            }
        }
    }
    Err(format!(
        "{}: no example yields the secret with parts {need:?}",
        rule.id()
    ))
}

/// Sets `path` (`a.b.0.c`) in `v` to `value`, building objects and arrays.
fn put(v: &mut Value, path: &str, value: Value) {
    let mut cur = v;
    for key in path.split('.') {
        cur = match key.parse::<usize>() {
            Ok(i) => {
                if !cur.is_array() {
                    *cur = Value::Array(Vec::new());
                }
                let a = cur.as_array_mut().unwrap();
                while a.len() <= i {
                    a.push(Value::Object(Map::new()));
                }
                &mut a[i]
            }
            Err(_) => {
                if !cur.is_object() {
                    *cur = Value::Object(Map::new());
                }
                cur.as_object_mut()
                    .unwrap()
                    .entry(key)
                    .or_insert(Value::Object(Map::new()))
            }
        };
    }
    *cur = value;
}

/// An answer that satisfies `m`: its first status (else `default`), a JSON
/// body with every condition met, and its first `body_contains` text.
fn answer_for(m: &ResponseMatch, default: u16, identity: Option<&str>) -> (u16, String) {
    let status = m.status.first().copied().unwrap_or(default);
    let mut body = json!({});
    if let Some(path) = identity {
        put(&mut body, path, json!("ks-identity"));
    }
    for (path, want) in &m.json {
        match want {
            Value::Object(o) if o.len() == 1 && o.contains_key("exists") => {
                if o["exists"] == json!(true) {
                    if keysweep::rules::json_path(&body, path).is_none() {
                        put(&mut body, path, json!("present"));
                    }
                } else {
                    put(&mut body, path, Value::Null);
                }
            }
            Value::Array(any) => put(&mut body, path, any[0].clone()),
            want => put(&mut body, path, want.clone()),
        }
    }
    let mut text = body.to_string();
    if let Some(word) = m.body_contains.first() {
        // Keep the body JSON when it is: the word goes into a message field.
        put(&mut body, "ks_message", json!(word));
        text = body.to_string();
        if !text.contains(word.as_str()) {
            text = format!("{text} {word}");
        }
    }
    (status, text)
}

/// Fills `{{secret}}` and `{{parts.NAME}}` with the raw values: the test's
/// own renderer, independent of the engine's.
fn fill(t: &str, case: &Case<'_>) -> String {
    let mut out = String::new();
    let mut rest = t;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let close = rest[open..].find("}}").unwrap() + open;
        let name = rest[open + 2..close].trim();
        match name.strip_prefix("parts.") {
            Some(p) => out.push_str(&case.parts[p]),
            None => out.push_str(&case.secret),
        }
        rest = &rest[close + 2..];
    }
    out.push_str(rest);
    out
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Checks the request an http validator sent against its spec.
fn check_http_request(case: &Case<'_>, seen: &Seen) -> Result<(), String> {
    let spec = case.spec;
    let want_method = spec.method.as_deref().unwrap_or("GET");
    if seen.method != want_method {
        return Err(format!("method {} instead of {want_method}", seen.method));
    }
    let url = fill(spec.url.as_deref().unwrap(), case);
    let after_host = url["https://".len()..]
        .find('/')
        .map_or("/", |i| &url["https://".len() + i..]);
    let (want_path, want_query) = after_host.split_once('?').unwrap_or((after_host, ""));
    let (path, query) = seen.target.split_once('?').unwrap_or((&seen.target, ""));
    if percent_decode(path) != want_path {
        return Err(format!("path {path} instead of {want_path}"));
    }
    let got: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let mut wanted: Vec<(String, String)> = want_query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_string(), v.to_string())
        })
        .collect();
    wanted.extend(spec.query.iter().map(|(k, t)| (k.clone(), fill(t, case))));
    for pair in &wanted {
        if !got.contains(pair) {
            return Err(format!("query lacks {}= (got {query:?})", pair.0));
        }
    }
    for (name, t) in &spec.headers {
        if seen.header(name) != Some(fill(t, case).as_str()) {
            return Err(format!("header {name} is not the filled template"));
        }
    }
    if let Some(b) = &spec.basic_auth {
        let token = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            fill(&b.username, case),
            fill(&b.password, case)
        ));
        if seen.header("authorization") != Some(format!("Basic {token}").as_str()) {
            return Err("Authorization is not the filled basic_auth".into());
        }
    }
    carries_secret(case, seen)
}

/// The secret must be somewhere in what was sent: a header (or inside basic
/// credentials), the target or the body.
fn carries_secret(case: &Case<'_>, seen: &Seen) -> Result<(), String> {
    let s = case.secret.as_str();
    let in_header = seen.headers.iter().any(|(_, v)| {
        v.contains(s)
            || v.strip_prefix("Basic ").is_some_and(|b| {
                base64::engine::general_purpose::STANDARD
                    .decode(b)
                    .is_ok_and(|d| String::from_utf8_lossy(&d).contains(s))
            })
    });
    let decoded_body: String = url::form_urlencoded::parse(seen.body.as_bytes())
        .map(|(k, v)| format!("{k}={v}&"))
        .collect();
    let in_body = seen.body.contains(s)
        || decoded_body.contains(s)
        || serde_json::from_str::<Value>(&seen.body).is_ok_and(|j| j.to_string().contains(s));
    if in_header || percent_decode(&seen.target).contains(s) || in_body {
        Ok(())
    } else {
        Err(format!(
            "the secret is nowhere in the request:\n{}",
            seen.raw()
        ))
    }
}

/// Checks the request a code validator sent.
fn check_code_request(case: &Case<'_>, seen: &Seen) -> Result<(), String> {
    if seen.method != "POST" {
        return Err(format!("method {} instead of POST", seen.method));
    }
    match case.spec.kind {
        ValidatorKind::Aws => {
            let want = format!("AWS4-HMAC-SHA256 Credential={}/", case.parts["key_id"]);
            let auth = seen.header("authorization").unwrap_or("");
            if !auth.starts_with(&want) || auth.contains(&case.secret) {
                return Err(format!("authorization {auth:?} is not SigV4 by the key id"));
            }
            if !seen.body.contains("Action=GetCallerIdentity") {
                return Err("not GetCallerIdentity".into());
            }
        }
        ValidatorKind::Gcp => {
            if seen.target != "/token" || !seen.body.contains("assertion=") {
                return Err(format!("not a JWT bearer exchange: {}", seen.raw()));
            }
        }
        ValidatorKind::Http => unreachable!(),
    }
    Ok(())
}

/// The answers a code validator's provider gives for live and invalid.
fn code_answers(kind: ValidatorKind) -> (Answers, Answers) {
    match kind {
        ValidatorKind::Aws => (
            vec![(200, "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/ks-identity</Arn></GetCallerIdentityResult></GetCallerIdentityResponse>".into())],
            vec![(403, "<ErrorResponse><Error><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error></ErrorResponse>".into())],
        ),
        ValidatorKind::Gcp => (
            vec![(200, r#"{"access_token":"ya29.x","expires_in":3599,"token_type":"Bearer"}"#.into())],
            vec![(400, r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#.into())],
        ),
        ValidatorKind::Http => unreachable!(),
    }
}

/// One answer per `live` matcher (each naming the identity when the spec
/// reads one) and one per `invalid` matcher.
fn answers(spec: &ValidateSpec) -> (Answers, Answers) {
    if spec.kind != ValidatorKind::Http {
        return code_answers(spec.kind);
    }
    let live = spec
        .live
        .0
        .iter()
        .map(|m| answer_for(m, 200, spec.identity.as_deref()))
        .collect();
    let invalid = spec
        .invalid
        .0
        .iter()
        .map(|m| answer_for(m, 401, None))
        .collect();
    (live, invalid)
}

/// One answer the stand-in gives and the status it must produce.
struct Scenario {
    what: &'static str,
    status: u16,
    body: String,
    delay: Duration,
    want: ValidationStatus,
}

/// The answers to play for a validator: each live and each invalid one, then
/// 429, 500, 503 and a live answer that comes too late.
fn scenarios(spec: &ValidateSpec) -> Vec<Scenario> {
    let at = |what, (status, body): (u16, String), delay, want| Scenario {
        what,
        status,
        body,
        delay,
        want,
    };
    let (live, invalid) = answers(spec);
    let first = live[0].clone();
    let mut v: Vec<Scenario> = live
        .into_iter()
        .map(|answer| at("live", answer, Duration::ZERO, ValidationStatus::Live))
        .collect();
    for answer in invalid {
        v.push(at(
            "invalid",
            answer,
            Duration::ZERO,
            ValidationStatus::Invalid,
        ));
    }
    for (what, status) in [
        ("rate limit", 429),
        ("server error", 500),
        ("unavailable", 503),
    ] {
        let answer = (status, first.1.clone());
        v.push(at(what, answer, Duration::ZERO, ValidationStatus::Unknown));
    }
    v.push(at("timeout", first, TIMEOUT * 4, ValidationStatus::Unknown));
    v
}

/// A stand-in whose next answer the test sets, and a validator pointed at it.
fn stand_in(case: &Case<'_>) -> (Server, Plan, Validator) {
    let plan: Plan = Arc::new(Mutex::new((200, String::new(), Duration::ZERO)));
    let server = {
        let plan = plan.clone();
        Server::start(move |_, _| {
            let (status, body, delay) = plan.lock().unwrap().clone();
            Reply {
                delay,
                ..Reply::new(status, body)
            }
        })
    };
    let validator = Validator::new(ValidateOptions {
        concurrency: 1,
        timeout: TIMEOUT,
        allow_internal: true,
        endpoints: [(case.rule.provider.clone(), server.url.clone())].into(),
        per_host_interval: Duration::ZERO,
        retry_backoff: Duration::from_millis(1),
        ..ValidateOptions::default()
    })
    .unwrap();
    (server, plan, validator)
}

/// Runs every scenario for one case; returns the failures.
fn exercise(case: &Case<'_>) -> Vec<String> {
    let (server, plan, validator) = stand_in(case);
    let id = case.rule.id();
    let mut failures = Vec::new();
    for sc in scenarios(case.spec) {
        *plan.lock().unwrap() = (sc.status, sc.body.clone(), sc.delay);
        let v = validator.check(case.rule, &case.secret, &case.parts);
        if v.status != sc.want || v.detail.trim().is_empty() {
            failures.push(format!(
                "{id}: {} (HTTP {} {}) gave {:?} {:?}, want {:?}",
                sc.what, sc.status, sc.body, v.status, v.detail, sc.want
            ));
        }
        let names_identity = case.spec.identity.is_some() || case.spec.kind == ValidatorKind::Aws;
        if sc.want == ValidationStatus::Live && names_identity && !v.detail.contains("ks-identity")
        {
            failures.push(format!(
                "{id}: live detail {:?} names no identity",
                v.detail
            ));
        }
    }
    // A bare refusal must never read as live: a `live` matcher that accepts
    // it would call every key live.
    for status in [401, 403] {
        *plan.lock().unwrap() = (status, r#"{"error":"unauthorized"}"#.into(), Duration::ZERO);
        let v = validator.check(case.rule, &case.secret, &case.parts);
        if v.status == ValidationStatus::Live {
            failures.push(format!("{id}: a bare HTTP {status} reads as live"));
        }
    }
    match server.requests().first() {
        None => failures.push(format!("{id}: no request reached the stand-in")),
        Some(seen) => {
            let checked = match case.spec.kind {
                ValidatorKind::Http => check_http_request(case, seen),
                _ => check_code_request(case, seen),
            };
            if let Err(e) = checked {
                failures.push(format!("{id}: request: {e}"));
            }
        }
    }
    failures
}

#[test]
fn every_bundled_validator_answers_like_its_provider_on_a_stand_in() {
    let rules = RuleSet::builtin_with_examples().unwrap();
    let mut failures = Vec::new();
    let mut cases = Vec::new();
    for rule in rules.rules() {
        if let Some(spec) = &rule.spec.validate {
            match case_of(rule, spec) {
                Ok(c) => cases.push(c),
                Err(e) => failures.push(e),
            }
        }
    }
    let exercised = std::sync::atomic::AtomicUsize::new(0);
    let found = Mutex::new(Vec::new());
    let chunk = cases.len().div_ceil(8).max(1);
    std::thread::scope(|s| {
        for part in cases.chunks(chunk) {
            let (found, exercised) = (&found, &exercised);
            s.spawn(move || {
                for case in part {
                    let f = exercise(case);
                    exercised.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    found.lock().unwrap().extend(f);
                }
            });
        }
    });
    failures.extend(found.into_inner().unwrap());
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let n = exercised.into_inner();
    assert!(
        n >= MIN_VALIDATED_RULES,
        "only {n} rules with a validator were exercised (want at least {MIN_VALIDATED_RULES})"
    );
}

/// No bundled validator names an internal address: its host is a name (the
/// guarded client still resolves and checks it) or a public IP literal.
#[test]
fn no_bundled_validator_targets_an_internal_address() {
    let rules = RuleSet::builtin();
    let http = rules
        .rules()
        .iter()
        .filter(|r| {
            r.spec
                .validate
                .as_ref()
                .is_some_and(|v| v.kind == ValidatorKind::Http)
        })
        .count();
    let mut n = 0;
    for rule in rules.rules() {
        let Some(url) = rule.spec.validate.as_ref().and_then(|v| v.url.as_deref()) else {
            continue;
        };
        n += 1;
        let host = url
            .strip_prefix("https://")
            .and_then(|r| r.split(['/', '?', ':']).next())
            .unwrap_or_else(|| panic!("{}: {url} is not https", rule.id()));
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
            assert_eq!(
                keysweep::validate::internal_kind(ip),
                None,
                "{}: {url}",
                rule.id()
            );
        }
        assert!(
            !matches!(bare, "localhost" | "metadata.google.internal")
                && !bare.ends_with(".local")
                && !bare.ends_with(".internal"),
            "{}: {url}",
            rule.id()
        );
    }
    assert!(
        n >= http && http > 0,
        "{n} validator URLs checked of {http}"
    );
}

/// The stand-in itself is trustworthy only if a mismatching answer fails:
/// a spec whose live answer needs `ok: true` is not live on `ok: false`.
#[test]
fn synthesized_answers_follow_the_matchers() {
    let m: Matchers = serde_json::from_value(
        json!({"status": [200], "json": {"ok": true, "data.0.id": {"exists": true}}}),
    )
    .unwrap();
    let (status, body) = answer_for(&m.0[0], 401, Some("user.login"));
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status, 200);
    assert!(m.matches(status, &body, Some(&v)));
    assert_eq!(v["user"]["login"], "ks-identity");
    let bad = r#"{"ok": false, "data": [{"id": 1}]}"#;
    assert!(!m.matches(200, bad, serde_json::from_str(bad).ok().as_ref()));
}

/// The README's validator figure is the one `rules list` reports, and it
/// meets the target.
#[test]
fn readme_states_the_validator_count_from_rules_list() {
    let env = crate::common::Env::new();
    let doc = env.rules_list();
    let with = doc["counts"]["with_validator"].as_u64().unwrap();
    let rules = doc["counts"]["rules"].as_u64().unwrap();
    assert!(
        with >= MIN_VALIDATED_RULES as u64,
        "{with} rules with a validator"
    );
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    let figure = format!("{with} of the {rules} bundled rules");
    assert!(
        readme.contains(&figure),
        "README should say \"{figure}\" (from `keysweep rules list -f json`)"
    );
}

/// Every entry of a bundled validator file is preceded by comments that cite
/// the provider's documentation (a URL), so a reviewer can check the endpoint.
#[test]
fn every_bundled_validator_entry_cites_its_docs() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/validators");
    let mut entries = 0;
    let mut uncited = Vec::new();
    for file in std::fs::read_dir(&dir).unwrap() {
        let path = file.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let top_level_key = !line.starts_with([' ', '#', '-'])
                && line.trim_end().ends_with(':')
                && !line.trim().is_empty();
            if !top_level_key {
                continue;
            }
            entries += 1;
            let cited = lines[..i]
                .iter()
                .rev()
                .take_while(|l| l.starts_with('#'))
                .any(|l| l.contains("https://"));
            if !cited {
                uncited.push(format!("{}: {line}", path.display()));
            }
        }
    }
    assert!(
        uncited.is_empty(),
        "entries without a docs URL:\n{}",
        uncited.join("\n")
    );
    assert!(entries >= 200, "only {entries} entries found");
}
