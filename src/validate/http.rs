//! The templated validator: builds a request from a rule's `validate:`
//! section and reads the answer with its `live` and `invalid` matchers.

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::Value;

use super::{Ctx, RequestError};
use crate::finding::Validation;
use crate::net::{encode_url_value, provider_message, Request, Response};
use crate::rules::{json_path, Template, ValidateSpec};

pub(crate) fn check(
    ctx: &Ctx<'_>,
    spec: &ValidateSpec,
    secret: &str,
    parts: &BTreeMap<String, String>,
) -> Validation {
    let req = match build(ctx, spec, secret, parts) {
        Ok(r) => r,
        Err(e) => return Validation::not_checked(e.to_string()),
    };
    match ctx.send(&req) {
        Ok(resp) => interpret(spec, &resp),
        Err(e) => Validation::unknown(e.to_string()),
    }
}

fn render(
    t: &str,
    secret: &str,
    parts: &BTreeMap<String, String>,
    encode: impl Fn(&str) -> String,
) -> Result<String, RequestError> {
    Ok(Template::parse(t)?.render(secret, parts, encode)?)
}

pub(crate) fn build(
    ctx: &Ctx<'_>,
    spec: &ValidateSpec,
    secret: &str,
    parts: &BTreeMap<String, String>,
) -> Result<Request, RequestError> {
    let raw = spec
        .url
        .as_deref()
        .ok_or_else(|| RequestError::Url("missing".into()))?;
    if let Some(name) = crate::rules::host_part(raw) {
        // The part becomes the first label of the provider's own domain;
        // anything but one DNS label could move the request elsewhere.
        if !parts
            .get(name)
            .is_some_and(|v| crate::rules::is_host_label(v))
        {
            return Err(RequestError::Url(format!(
                "the {name} found with the secret is not a host name label"
            )));
        }
    }
    let mut url = ctx.url(&render(raw, secret, parts, encode_url_value)?)?;
    if !spec.query.is_empty() {
        let mut q = url.query_pairs_mut();
        for (k, t) in &spec.query {
            q.append_pair(k, &render(t, secret, parts, str::to_string)?);
        }
    }
    let mut headers = Vec::new();
    for (k, t) in &spec.headers {
        let v = render(t, secret, parts, str::to_string)?;
        if v.contains(['\r', '\n']) {
            return Err(RequestError::LineBreak(k.clone()));
        }
        headers.push((k.clone(), v));
    }
    if let Some(b) = &spec.basic_auth {
        let user = render(&b.username, secret, parts, str::to_string)?;
        let pass = render(&b.password, secret, parts, str::to_string)?;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        headers.push(("Authorization".into(), format!("Basic {token}")));
    }
    let has =
        |h: &[(String, String)], name: &str| h.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
    let body = if let Some(b) = &spec.body {
        Some(render(b, secret, parts, str::to_string)?.into_bytes())
    } else if let Some(form) = &spec.form {
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        for (k, t) in form {
            ser.append_pair(k, &render(t, secret, parts, str::to_string)?);
        }
        if !has(&headers, "content-type") {
            headers.push((
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            ));
        }
        Some(ser.finish().into_bytes())
    } else if let Some(j) = &spec.json {
        let filled = fill_json(j, secret, parts)?;
        if !has(&headers, "content-type") {
            headers.push(("Content-Type".into(), "application/json".into()));
        }
        Some(serde_json::to_vec(&filled).expect("JSON value serializes"))
    } else {
        None
    };
    if !has(&headers, "accept") {
        headers.push(("Accept".into(), "application/json, */*;q=0.5".into()));
    }
    Ok(Request {
        method: spec.method.clone().unwrap_or_else(|| "GET".into()),
        url,
        headers,
        body,
    })
}

/// Fills templates in every string of a JSON body; serializing afterwards
/// escapes whatever the secret contains.
fn fill_json(
    v: &Value,
    secret: &str,
    parts: &BTreeMap<String, String>,
) -> Result<Value, RequestError> {
    Ok(match v {
        Value::String(s) => Value::String(render(s, secret, parts, str::to_string)?),
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| fill_json(x, secret, parts))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| Ok((k.clone(), fill_json(x, secret, parts)?)))
                .collect::<Result<_, RequestError>>()?,
        ),
        other => other.clone(),
    })
}

/// Reads an answer: `live` matchers first, then `invalid`, else unknown.
pub(crate) fn interpret(spec: &ValidateSpec, resp: &Response) -> Validation {
    let json: Option<Value> = serde_json::from_str(&resp.body).ok();
    let status = resp.status;
    let said = provider_message(&resp.body, json.as_ref())
        .map(|m| format!(": {m}"))
        .unwrap_or_default();
    if spec.live.matches(status, &resp.body, json.as_ref()) {
        let who = spec
            .identity
            .as_deref()
            .and_then(|p| json.as_ref().and_then(|j| json_path(j, p)))
            .and_then(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            });
        return Validation::live(match who {
            Some(w) => format!("HTTP {status}; identity {w}"),
            None => format!("HTTP {status}"),
        });
    }
    if spec.invalid.matches(status, &resp.body, json.as_ref()) {
        return Validation::invalid(format!("HTTP {status}{said}"));
    }
    let what = if (300..400).contains(&status) {
        "a redirect, not followed"
    } else {
        "an answer no rule explains"
    };
    Validation::unknown(format!("HTTP {status}{said} ({what})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(v: Value) -> ValidateSpec {
        let s: ValidateSpec = serde_json::from_value(v).unwrap();
        s.check().unwrap();
        s
    }

    #[test]
    fn url_values_cannot_change_url_structure() {
        assert_eq!(encode_url_value("12:ab-C_d"), "12:ab-C_d");
        assert_eq!(
            encode_url_value("a/b?c#d&e=f+g h"),
            "a%2Fb%3Fc%23d%26e%3Df%2Bg%20h"
        );
    }

    #[test]
    fn interpret_reads_live_invalid_unknown() {
        let s = spec(serde_json::json!({
            "url": "https://slack.com/api/auth.test",
            "live": {"status": [200], "json": {"ok": true}},
            "invalid": {"status": [200], "json": {"ok": false, "error": ["invalid_auth", "token_revoked"]}},
            "identity": "user"
        }));
        let r = |status, body: &str| {
            interpret(
                &s,
                &Response {
                    status,
                    body: body.into(),
                    headers: Vec::new(),
                },
            )
        };
        let v = r(200, r#"{"ok": true, "user": "bot"}"#);
        assert_eq!(v.status, crate::finding::ValidationStatus::Live);
        assert_eq!(v.detail, "HTTP 200; identity bot");
        let v = r(200, r#"{"ok": false, "error": "invalid_auth"}"#);
        assert_eq!(v.status, crate::finding::ValidationStatus::Invalid);
        assert_eq!(v.detail, "HTTP 200: invalid_auth");
        let v = r(200, r#"{"ok": false, "error": "ratelimited"}"#);
        assert_eq!(v.status, crate::finding::ValidationStatus::Unknown);
        let v = r(302, "");
        assert!(v.detail.contains("redirect"), "{}", v.detail);
    }
}
