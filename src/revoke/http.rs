//! The `http` broker: keysweep's JSON revocation protocol (specified in
//! `docs/revocation.md`).

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use url::Url;

use super::{env, short, Answer, Job, Outcome};
use crate::net::{hex, signature, Request};

/// The request body: everything a broker needs to find and revoke the
/// secret, and the secret itself only when `send_secret` is on.
pub(crate) fn body(job: &Job<'_>, send_secret: bool) -> Value {
    let f = job.finding;
    let mut location =
        json!({"path": f.location.path, "line": f.location.line, "column": f.location.column});
    if let Some(c) = f.commit() {
        location["commit"] = json!(c);
    }
    let mut b = json!({
        "rule_id": f.rule.id,
        "provider": f.rule.provider,
        "fingerprint": f.matched.fingerprint,
        "location": location,
        "validation": f.annotations.validation,
        "secret_sha256": hex(&Sha256::digest(f.matched.secret.as_bytes())),
    });
    if send_secret {
        b["secret"] = json!(f.matched.secret);
    }
    b
}

pub(crate) fn revoke(
    job: &Job<'_>,
    url: &str,
    token_env: Option<&str>,
    hmac_key_env: Option<&str>,
    send_secret: bool,
) -> Outcome {
    match send(job, url, token_env, hmac_key_env, send_secret) {
        Ok(o) => o,
        Err(e) => Outcome::failed(e, None),
    }
}

fn send(
    job: &Job<'_>,
    url: &str,
    token_env: Option<&str>,
    hmac_key_env: Option<&str>,
    send_secret: bool,
) -> Result<Outcome, String> {
    let body = serde_json::to_vec(&body(job, send_secret)).expect("JSON value serializes");
    let mut headers = vec![
        ("Content-Type".to_string(), "application/json".to_string()),
        ("Accept".to_string(), "application/json".to_string()),
        (
            "Idempotency-Key".to_string(),
            job.finding.matched.fingerprint.clone(),
        ),
    ];
    if let Some(name) = token_env {
        let token = env(name, "token_env")?;
        headers.push(("Authorization".into(), format!("Bearer {token}")));
    }
    if let Some(name) = hmac_key_env {
        let key = env(name, "hmac_key_env")?;
        headers.push((
            "X-Keysweep-Signature".into(),
            signature(key.as_bytes(), &body),
        ));
    }
    let req = Request {
        method: "POST".into(),
        url: Url::parse(url).map_err(|e| format!("broker url {url}: {e}"))?,
        headers,
        body: Some(body),
    };
    let resp = job
        .validator
        .send(&req, &job.finding.matched.secret)
        .map_err(|e| format!("broker {url}: {e}"))?;
    Ok(interpret(resp.status, &resp.body))
}

/// Reads a broker's answer. Only a 2xx with a known `status` counts.
pub(crate) fn interpret(status: u16, body: &str) -> Outcome {
    let http_status = Some(status);
    let json: Option<Value> = serde_json::from_str(body).ok();
    let text = |k: &str| {
        json.as_ref()
            .and_then(|j| j.get(k))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let detail = text("detail").unwrap_or_default();
    if !(200..300).contains(&status) {
        let why = if detail.is_empty() {
            short(body)
        } else {
            detail
        };
        return Outcome::failed(format!("broker answered HTTP {status}: {why}"), http_status);
    }
    let answer = match text("status").as_deref() {
        Some("revoked") => Answer::Revoked,
        Some("not-found") => Answer::NotFound,
        Some("failed") => Answer::Failed,
        _ => {
            return Outcome::failed(
                format!(
                    "broker answered HTTP {status} without a status of revoked, not-found or failed: {}",
                    short(body)
                ),
                http_status,
            )
        }
    };
    Outcome {
        answer,
        http_status,
        reference: text("reference"),
        detail: if detail.is_empty() {
            format!("broker answered {}", text("status").unwrap_or_default())
        } else {
            detail
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers() {
        let o = interpret(200, r#"{"status":"revoked","reference":"R-1"}"#);
        assert_eq!(o.answer, Answer::Revoked);
        assert_eq!(o.reference.as_deref(), Some("R-1"));
        assert_eq!(
            interpret(200, r#"{"status":"not-found"}"#).answer,
            Answer::NotFound
        );
        let o = interpret(200, "not json");
        assert_eq!(o.answer, Answer::Failed);
        assert!(o.detail.contains("without a status"), "{}", o.detail);
        let o = interpret(500, r#"{"status":"revoked","detail":"db down"}"#);
        assert_eq!(o.answer, Answer::Failed);
        assert!(o.detail.contains("HTTP 500: db down"), "{}", o.detail);
    }
}
