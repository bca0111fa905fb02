//! The declarative analyzer: one templated read-only request, and the
//! identity, scopes and expiry read from its answer.

use std::collections::BTreeMap;

use serde_json::Value;

use super::AnalyzeError;
use crate::finding::Analysis;
use crate::net::provider_message;
use crate::rules::{json_path, json_path_all, AnalyzeSpec, ScopeSource};
use crate::validate::Validator;

pub(super) fn run(
    v: &Validator,
    provider: &str,
    spec: &AnalyzeSpec,
    secret: &str,
    parts: &BTreeMap<String, String>,
) -> Result<Analysis, AnalyzeError> {
    let req = v
        .build_request(provider, &spec.request(), secret, parts)
        .map_err(|e| AnalyzeError::Request(e.to_string()))?;
    let resp = v
        .send(&req, secret)
        .map_err(|e| AnalyzeError::Request(e.to_string()))?;
    let json: Option<Value> = serde_json::from_str(&resp.body).ok();
    let ok = match &spec.ok {
        Some(m) => m.matches(resp.status, &resp.body, json.as_ref()),
        None => (200..300).contains(&resp.status),
    };
    if !ok {
        return Err(AnalyzeError::Status {
            status: resp.status,
            said: provider_message(&resp.body, json.as_ref()).unwrap_or_default(),
        });
    }
    Ok(read_answer(
        spec,
        resp.status,
        &resp.headers,
        json.as_ref(),
        parts,
    ))
}

/// The claims of the token at `path` in the answer, unverified: the token
/// came straight from the provider over HTTPS, and only its own words are
/// read from it.
fn claims(json: Option<&Value>, path: &str) -> Option<Value> {
    let token = json.and_then(|j| json_path(j, path))?.as_str()?;
    crate::rules::checksum::jwt_payload(token).map(Value::Object)
}

/// Reads identity, scopes, expiry and severity from a successful answer
/// (from the claims of the token in it when the spec names `claims`).
/// Public so tests can check an analyzer against its example answer.
pub fn read_answer(
    spec: &AnalyzeSpec,
    status: u16,
    headers: &[(String, String)],
    json: Option<&Value>,
    parts: &BTreeMap<String, String>,
) -> Analysis {
    let from_claims = spec.claims.as_deref().map(|p| claims(json, p));
    let json = match &from_claims {
        Some(c) => c.as_ref(),
        None => json,
    };
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let identity: Vec<String> = spec
        .identity
        .iter()
        .filter_map(|p| {
            if let Some(h) = p.strip_prefix("header:") {
                header(h).map(str::to_string)
            } else if let Some(name) = p.strip_prefix("parts:") {
                parts.get(name).cloned()
            } else {
                json.and_then(|j| json_path(j, p)).and_then(text)
            }
        })
        .collect();
    let mut scopes = Vec::new();
    for src in &spec.scopes {
        scopes.extend(scopes_from(src, status, header, json));
    }
    let expires = spec
        .expires
        .as_ref()
        .and_then(|e| match (&e.json, &e.header) {
            (Some(p), _) => json.and_then(|j| json_path(j, p)).and_then(expiry),
            (None, Some(h)) => header(h).map(|v| v.trim().to_string()),
            (None, None) => None,
        });
    let severity = spec.severity_for(&scopes, json);
    Analysis {
        identity: (!identity.is_empty()).then(|| identity.join(" / ")),
        scopes,
        expires,
        severity: Some(severity),
        error: None,
    }
}

fn scopes_from<'a>(
    src: &ScopeSource,
    status: u16,
    header: impl Fn(&str) -> Option<&'a str>,
    json: Option<&Value>,
) -> Vec<String> {
    if let Some(w) = &src.when {
        if !w.matches(status, "", json) {
            return Vec::new();
        }
    }
    let mut out: Vec<String> = Vec::new();
    if let Some(p) = &src.json {
        for v in json.map(|j| json_path_all(j, p)).unwrap_or_default() {
            match v {
                Value::String(s) => out.extend(split(s)),
                Value::Array(a) => out.extend(a.iter().filter_map(text)),
                other => out.extend(text(other)),
            }
        }
    }
    if let Some(h) = &src.header {
        out.extend(header(h).map(split).unwrap_or_default());
    }
    if let Some(p) = &src.map {
        for m in json.map(|j| json_path_all(j, p)).unwrap_or_default() {
            if let Value::Object(m) = m {
                for (k, v) in m {
                    match v {
                        Value::String(s) => out.push(format!("{k}:{s}")),
                        Value::Bool(true) => out.push(k.clone()),
                        _ => {}
                    }
                }
            }
        }
    }
    out.extend(src.fixed.iter().cloned());
    match &src.prefix {
        Some(p) => out.into_iter().map(|s| format!("{p}{s}")).collect(),
        None => out,
    }
}

/// Scope lists come space- or comma-separated (`repo, gist`; `read write`).
fn split(s: &str) -> Vec<String> {
    s.split([',', ' '])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// An expiry as given (RFC 3339 or the provider's own text), or Unix
/// seconds (milliseconds when too large for seconds) turned into RFC 3339.
fn expiry(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => {
            let mut secs = n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))?;
            if secs <= 0 {
                return None;
            }
            if secs > 100_000_000_000 {
                secs /= 1000;
            }
            Some(crate::time::rfc3339(secs, 0).replace("+00:00", "Z"))
        }
        other => text(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Severity;
    use serde_json::json;

    #[test]
    fn reads_json_paths_headers_maps_and_unix_expiry() {
        let spec: AnalyzeSpec = serde_json::from_value(json!({
            "docs": "https://d.test/", "url": "https://a.test/",
            "identity": ["login", "org.name", "missing"],
            "scopes": [{"header": "X-OAuth-Scopes"}, {"map": "permissions"},
                       {"json": "roles.*.name", "prefix": "role:"},
                       {"fixed": ["live-mode"], "when": {"json": {"livemode": true}}}],
            "expires": {"json": "exp"},
            "severity": [{"level": "critical", "scopes": ["admin:*", "role:owner"]}, {"level": "medium"}]
        }))
        .unwrap();
        spec.check().unwrap();
        let body = json!({"login": "octo", "org": {"name": "acme"}, "livemode": true,
            "permissions": {"contents": "write", "issues": true, "pages": false},
            "roles": [{"name": "dev"}], "exp": 1_700_000_000});
        let a = read_answer(
            &spec,
            200,
            &[("x-oauth-scopes".into(), "repo, gist".into())],
            Some(&body),
            &BTreeMap::new(),
        );
        assert_eq!(a.identity.as_deref(), Some("octo / acme"));
        assert_eq!(
            a.scopes,
            [
                "repo",
                "gist",
                "contents:write",
                "issues",
                "role:dev",
                "live-mode"
            ]
        );
        assert_eq!(a.expires.as_deref(), Some("2023-11-14T22:13:20Z"));
        assert_eq!(a.severity, Some(Severity::Medium));
        let owner = json!({"roles": [{"name": "owner"}]});
        assert_eq!(
            read_answer(&spec, 200, &[], Some(&owner), &BTreeMap::new()).severity,
            Some(Severity::Critical)
        );
    }

    #[test]
    fn reads_the_claims_of_an_issued_token_and_parts() {
        use base64::Engine;
        let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let token = format!(
            "{}.{}.c2ln",
            b64(json!({"alg": "RS256"})),
            b64(
                json!({"app_displayname": "deployer", "roles": ["Mail.Send"], "exp": 1_900_000_000})
            )
        );
        let spec: AnalyzeSpec = serde_json::from_value(json!({
            "docs": "https://d.test/", "url": "https://a.test/", "claims": "access_token",
            "identity": ["app_displayname", "parts:tenant_id"], "scopes": [{"json": "roles"}],
            "expires": {"json": "exp"}, "severity": [{"level": "high"}]
        }))
        .unwrap();
        let parts = BTreeMap::from([("tenant_id".to_string(), "t-1".to_string())]);
        let a = read_answer(
            &spec,
            200,
            &[],
            Some(&json!({"access_token": token})),
            &parts,
        );
        assert_eq!(a.identity.as_deref(), Some("deployer / t-1"));
        assert_eq!(a.scopes, ["Mail.Send"]);
        assert_eq!(a.expires.as_deref(), Some("2030-03-17T17:46:40Z"));
        // No token where the spec says: nothing read, not the answer itself.
        let plain = read_answer(&spec, 200, &[], Some(&json!({"roles": ["x"]})), &parts);
        assert!(plain.scopes.is_empty());
        assert_eq!(plain.identity.as_deref(), Some("t-1"));
    }
}
