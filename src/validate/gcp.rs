//! GCP service account keys: an RS256-signed JWT assertion exchanged at
//! Google's OAuth token endpoint (the "JWT bearer" grant).
//!
//! Minting a short-lived access token changes nothing in the project and is
//! exactly what any client library does first, so it is a fair "who am I".
//! Google answers `invalid_grant` when the key was deleted or the account no
//! longer exists, and `invalid_client` when the account is disabled.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use serde_json::{json, Value};

use super::Ctx;
use crate::finding::Validation;
use crate::net::{provider_message, Request, Response};
use crate::rules::ValidateSpec;

pub(crate) const TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
/// The narrowest scope every service account may ask for.
const SCOPE: &str = "https://www.googleapis.com/auth/userinfo.email";

pub(crate) fn check(
    ctx: &Ctx<'_>,
    spec: &ValidateSpec,
    secret: &str,
    parts: &BTreeMap<String, String>,
) -> Validation {
    let email = &parts["client_email"];
    let canonical = spec.url.as_deref().unwrap_or(TOKEN_URL);
    let req = match token_request(ctx, canonical, secret, parts, SCOPE) {
        Ok(r) => r,
        Err(e) => return Validation::unknown(e.to_string()),
    };
    match ctx.send(&req) {
        Ok(resp) => interpret(&resp, email),
        Err(e) => Validation::unknown(e.to_string()),
    }
}

/// The JWT-bearer token request for the key in `secret` and its
/// `client_email` part, asking for `scope`.
pub(crate) fn token_request(
    ctx: &Ctx<'_>,
    canonical: &str,
    secret: &str,
    parts: &BTreeMap<String, String>,
    scope: &str,
) -> Result<Request, TokenError> {
    let email = parts.get("client_email").ok_or(TokenError::NoEmail)?;
    let key = key_pair(secret)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut header = json!({"alg": "RS256", "typ": "JWT"});
    if let Some(kid) = parts.get("private_key_id") {
        header["kid"] = json!(kid);
    }
    // The audience is Google's token URL even when an endpoint override sends
    // the request elsewhere (a proxy or a test server), since that is what
    // Google checks.
    let claims = json!({
        "iss": email,
        "scope": scope,
        "aud": canonical,
        "iat": now,
        "exp": now + 300,
    });
    let assertion = sign_jwt(&key, &header, &claims)?;
    let url = ctx.url(canonical)?;
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer")
        .append_pair("assertion", &assertion)
        .finish();
    Ok(Request {
        method: "POST".into(),
        url,
        headers: vec![
            (
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            ),
            ("Accept".into(), "application/json".into()),
        ],
        body: Some(body.into_bytes()),
    })
}

fn interpret(resp: &Response, email: &str) -> Validation {
    let json: Option<Value> = serde_json::from_str(&resp.body).ok();
    let error = json
        .as_ref()
        .and_then(|j| j.get("error"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let description = json
        .as_ref()
        .and_then(|j| j.get("error_description"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let has_token = json
        .as_ref()
        .is_some_and(|j| j.get("access_token").is_some());
    match resp.status {
        200 if has_token => Validation::live(format!("HTTP 200; identity {email}")),
        400 | 401
            if matches!(
                error,
                "invalid_grant" | "invalid_client" | "unauthorized_client"
            ) =>
        {
            // A JWT outside Google's time window says our clock is wrong, not
            // that the key is dead.
            let d = description.to_ascii_lowercase();
            if d.contains("iat") || d.contains("timeframe") || d.contains("exp") {
                return Validation::unknown(format!(
                    "HTTP {}: {description} (check this machine's clock)",
                    resp.status
                ));
            }
            Validation::invalid(format!("HTTP {} {error}: {description}", resp.status))
        }
        status => {
            let said = provider_message(&resp.body, json.as_ref())
                .map(|m| format!(": {m}"))
                .unwrap_or_default();
            Validation::unknown(format!(
                "HTTP {status}{said} (an answer that proves nothing)"
            ))
        }
    }
}

/// Parses the key as found: a PEM block, possibly with JSON-escaped
/// newlines (`\n`) as in a key file, or a whole key file.
fn key_pair(secret: &str) -> Result<RsaKeyPair, KeyError> {
    let pem = if secret.trim_start().starts_with('{') {
        let v: Value =
            serde_json::from_str(secret).map_err(|e| KeyError::NotJson(e.to_string()))?;
        v.get("private_key")
            .and_then(Value::as_str)
            .ok_or(KeyError::NoPrivateKey)?
            .to_string()
    } else {
        secret
            .replace("\\r", "")
            .replace("\\n", "\n")
            .replace("\\/", "/")
    };
    let (label, der) = pem_body(&pem)?;
    let key = |problem: String| KeyError::Key {
        label: label.clone(),
        problem,
    };
    match label.as_str() {
        "PRIVATE KEY" => {
            RsaKeyPair::from_pkcs8(&der).map_err(|e| key(format!("not an RSA PKCS#8 key: {e}")))
        }
        "RSA PRIVATE KEY" => {
            RsaKeyPair::from_der(&der).map_err(|e| key(format!("not an RSA key: {e}")))
        }
        _ => Err(key("unsupported PEM block".into())),
    }
}

/// Why the token request cannot be built. Display starts with what is at
/// fault; it never quotes the key.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TokenError {
    #[error("client_email: needs the client_email found with the key")]
    NoEmail,
    #[error("cannot use the private key: {0}")]
    Key(#[from] KeyError),
    #[error(transparent)]
    Url(#[from] super::RequestError),
}

/// Why the private key cannot sign. Display starts with the part of the key
/// at fault; it never quotes the key.
#[derive(Debug, thiserror::Error)]
pub(crate) enum KeyError {
    #[error("key file: not JSON: {0}")]
    NotJson(String),
    #[error("key file: no private_key field")]
    NoPrivateKey,
    #[error("PEM header: no PEM header")]
    NoHeader,
    #[error("PEM header: malformed")]
    BadHeader,
    #[error("PEM footer: no PEM footer for {0:?}")]
    NoFooter(String),
    #[error("PEM body: not base64: {0}")]
    NotBase64(String),
    #[error("PEM block {label:?}: {problem}")]
    Key { label: String, problem: String },
    #[error("JWT: signing failed")]
    Signing,
}

/// The label and decoded body of the first PEM block.
fn pem_body(pem: &str) -> Result<(String, Vec<u8>), KeyError> {
    let begin = pem.find("-----BEGIN ").ok_or(KeyError::NoHeader)?;
    let rest = &pem[begin + 11..];
    let label_end = rest.find("-----").ok_or(KeyError::BadHeader)?;
    let label = rest[..label_end].to_string();
    let body_start = label_end + 5;
    let footer = format!("-----END {label}-----");
    let end = rest
        .find(&footer)
        .ok_or_else(|| KeyError::NoFooter(label.clone()))?;
    let b64: String = rest[body_start..end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| KeyError::NotBase64(e.to_string()))?;
    Ok((label, der))
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn sign_jwt(key: &RsaKeyPair, header: &Value, claims: &Value) -> Result<String, KeyError> {
    let signing_input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let mut sig = vec![0; key.public().modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        signing_input.as_bytes(),
        &mut sig,
    )
    .map_err(|_| KeyError::Signing)?;
    Ok(format!("{signing_input}.{}", b64url(&sig)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_parsing_errors_are_plain() {
        let e = |s: &str| key_pair(s).expect_err("a key error").to_string();
        assert_eq!(e("nothing here"), "PEM header: no PEM header");
        let bad = e("-----BEGIN PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE KEY-----\\n");
        assert!(bad.starts_with("PEM block \"PRIVATE KEY\": "), "{bad}");
        assert!(bad.contains("PKCS#8"), "{bad}");
        assert!(
            e("-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----")
                .starts_with("PEM body: not base64")
        );
        assert_eq!(e("{\"type\": 1}"), "key file: no private_key field");
    }

    #[test]
    fn token_answers() {
        let r = |status, body: &str| {
            interpret(
                &Response {
                    status,
                    body: body.into(),
                    headers: Vec::new(),
                },
                "sa@p.iam.gserviceaccount.com",
            )
        };
        use crate::finding::ValidationStatus::*;
        assert_eq!(
            r(200, r#"{"access_token":"ya29.x","expires_in":3599}"#).status,
            Live
        );
        assert_eq!(
            r(
                400,
                r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#
            )
            .status,
            Invalid
        );
        assert_eq!(
            r(400, r#"{"error":"invalid_grant","error_description":"Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim."}"#).status,
            Unknown
        );
        assert_eq!(r(403, "forbidden").status, Unknown);
    }
}
