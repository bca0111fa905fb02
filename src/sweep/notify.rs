//! `sweep --notify URL`: the findings first seen in a sweep, posted to a
//! webhook as JSON, redacted, and signed like broker requests
//! (`X-Keysweep-Signature: sha256=<hex HMAC-SHA256 of the body>`,
//! `docs/revocation.md`).

use std::time::Duration;

use serde_json::{json, Value};
use url::Url;

use crate::finding::Finding;
use crate::net::{signature, Net, Request};

/// Attempts per notification: a webhook that is briefly down or rate
/// limiting still gets the alert.
const ATTEMPTS: u32 = 3;

/// Where and how to notify.
#[derive(Debug, Clone)]
pub struct NotifyOptions {
    pub url: String,
    /// The HMAC key, read from its environment variable by the caller.
    pub key: Option<String>,
    /// `{"text": …}`, as Slack's incoming webhooks take it.
    pub slack: bool,
    /// Permit loopback and private addresses, and plain http to them. Set
    /// only from the command line.
    pub allow_internal: bool,
    pub timeout: Duration,
    /// Pause before the first retry; doubled before the next.
    pub backoff: Duration,
}

/// Why a notification was not delivered. Messages start with the URL.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("--notify: invalid URL: {reason}")]
    BadUrl { reason: String },
    #[error("--notify {url}: not delivered after {attempts} attempts: {reason}")]
    Failed {
        url: String,
        attempts: u32,
        reason: String,
    },
}

/// The notification's body: the run and its new findings, secrets redacted.
pub fn body(run: i64, findings: &[Finding], slack: bool) -> Value {
    if slack {
        return slack_body(run, findings);
    }
    let items: Vec<Value> = findings
        .iter()
        .map(|f| {
            json!({
                "rule_id": f.rule.id,
                "provider": f.rule.provider,
                "repo": f.annotations.repo,
                "path": f.location.path,
                "line": f.location.line,
                "commit": f.commit(),
                "fingerprint": f.matched.fingerprint,
                "secret": crate::finding::redact(&f.matched.secret),
                "validation": f.annotations.validation,
            })
        })
        .collect();
    json!({
        "event": "keysweep.sweep.new_findings",
        "run": run,
        "count": findings.len(),
        "findings": items,
    })
}

/// A short message for Slack-compatible webhooks: one line per finding (the
/// first 20), secrets redacted.
fn slack_body(run: i64, findings: &[Finding]) -> Value {
    let mut text = format!(
        "keysweep: {} new finding{} in sweep run {run}",
        findings.len(),
        if findings.len() == 1 { "" } else { "s" }
    );
    for f in findings.iter().take(20) {
        text.push_str(&format!(
            "\n• {} in {}:{}:{} ({})",
            f.rule.id,
            f.annotations.repo.as_deref().unwrap_or("?"),
            f.location.path,
            f.location.line,
            crate::finding::redact(&f.matched.secret)
        ));
    }
    if findings.len() > 20 {
        text.push_str(&format!("\n… and {} more", findings.len() - 20));
    }
    json!({ "text": text })
}

/// Posts `body` to the webhook, retrying on network errors, 429 and 5xx.
///
/// # Errors
///
/// Fails on a bad URL, a refused address (see [`crate::net`]), or when no
/// attempt got a 2xx answer.
pub fn send(opts: &NotifyOptions, body: &Value) -> Result<u16, NotifyError> {
    let url = Url::parse(&opts.url).map_err(|e| NotifyError::BadUrl {
        reason: e.to_string(),
    })?;
    // A webhook URL can be a credential itself (Slack's are): messages name
    // only its origin.
    let shown = url.origin().ascii_serialization();
    let bytes = serde_json::to_vec(body).expect("JSON value serializes");
    let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
    if let Some(key) = &opts.key {
        headers.push((
            "X-Keysweep-Signature".into(),
            signature(key.as_bytes(), &bytes),
        ));
    }
    let req = Request {
        method: "POST".into(),
        url,
        headers,
        body: Some(bytes),
    };
    let net = Net::with_purpose(
        opts.timeout,
        opts.allow_internal,
        Duration::ZERO,
        Duration::ZERO,
        "sweep notification",
    )
    .no_retry();
    let mut wait = opts.backoff;
    let mut reason = String::new();
    for attempt in 1..=ATTEMPTS {
        match net.send(&req) {
            Ok(r) if (200..300).contains(&r.status) => return Ok(r.status),
            // Another 4xx will not change on retry.
            Ok(r) if r.status != 429 && r.status < 500 => {
                return Err(failed(&shown, attempt, format!("HTTP {}", r.status)))
            }
            Ok(r) => reason = format!("HTTP {}", r.status),
            // A refused address stays refused.
            Err(e) if e.starts_with("refused") => return Err(failed(&shown, attempt, e)),
            Err(e) => reason = e,
        }
        if attempt < ATTEMPTS {
            std::thread::sleep(wait);
            wait *= 2;
        }
    }
    Err(failed(&shown, ATTEMPTS, reason))
}

fn failed(shown: &str, attempts: u32, reason: String) -> NotifyError {
    NotifyError::Failed {
        url: shown.to_string(),
        attempts,
        reason,
    }
}
