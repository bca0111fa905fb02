//! The `vault` broker: HashiCorp Vault / OpenBao token revocation.
//!
//! With `token_env`, keysweep revokes the leaked token with the operator's
//! token (`POST /v1/auth/token/revoke`, `{"token": …}`), which also revokes
//! its children. Without it, the leaked token revokes itself
//! (`POST /v1/auth/token/revoke-self`).

use serde_json::json;
use url::Url;

use super::{env, short, Answer, Job, Outcome};
use crate::net::Request;

/// Vault service (`hvs.`), batch (`hvb.`) and legacy (`s.`, `b.`) tokens.
pub(crate) fn accepts(job: &Job<'_>) -> bool {
    let s = &job.finding.matched.secret;
    (job.finding.rule.provider == "vault" || job.finding.rule.id.starts_with("vault-"))
        && ["hvs.", "hvb.", "s.", "b."]
            .iter()
            .any(|p| s.starts_with(p))
}

fn endpoint(address: &str, token_env: Option<&str>) -> String {
    let path = if token_env.is_some() {
        "/v1/auth/token/revoke"
    } else {
        "/v1/auth/token/revoke-self"
    };
    format!("{}{path}", address.trim_end_matches('/'))
}

pub(crate) fn describe(address: &str, token_env: Option<&str>) -> String {
    format!("POST {}", endpoint(address, token_env))
}

pub(crate) fn revoke(job: &Job<'_>, address: &str, token_env: Option<&str>) -> Outcome {
    let secret = &job.finding.matched.secret;
    let url = match Url::parse(&endpoint(address, token_env)) {
        Ok(u) => u,
        Err(e) => return Outcome::failed(format!("vault address {address}: {e}"), None),
    };
    let (auth, body) = match token_env {
        Some(name) => match env(name, "token_env") {
            Ok(t) => (t, Some(json!({"token": secret}).to_string().into_bytes())),
            Err(e) => return Outcome::failed(e, None),
        },
        None => (secret.clone(), None),
    };
    let mut headers = vec![("X-Vault-Token".to_string(), auth)];
    if body.is_some() {
        headers.push(("Content-Type".into(), "application/json".into()));
    }
    let req = Request {
        method: "POST".into(),
        url,
        headers,
        body,
    };
    match job.validator.send(&req, secret) {
        Ok(r) if (200..300).contains(&r.status) => Outcome {
            answer: Answer::Revoked,
            http_status: Some(r.status),
            reference: None,
            detail: format!("vault answered HTTP {}", r.status),
        },
        // Revoking an unknown token is 400 "invalid token"; revoke-self with
        // a dead token is 403 "permission denied".
        Ok(r) if r.status == 400 && r.body.contains("invalid") => Outcome {
            answer: Answer::NotFound,
            http_status: Some(r.status),
            reference: None,
            detail: format!("vault answered HTTP 400: {}", short(&r.body)),
        },
        Ok(r) => Outcome::failed(
            format!("vault answered HTTP {}: {}", r.status, short(&r.body)),
            Some(r.status),
        ),
        Err(e) => Outcome::failed(e.to_string(), None),
    }
}
