//! AWS access keys: a SigV4-signed `sts:GetCallerIdentity`.
//!
//! GetCallerIdentity needs no permission (an IAM policy cannot deny it), has
//! no side effects, and names the account and principal, so a 200 proves the
//! pair live. STS says `InvalidClientTokenId` for an unknown or deactivated
//! key id and `SignatureDoesNotMatch` when the secret is not the key id's.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use url::Url;

use super::Ctx;
use crate::finding::{hex, Validation};
use crate::net::{provider_message, Request, Response};
use crate::rules::ValidateSpec;

/// The global STS endpoint; it signs as `us-east-1`.
const DEFAULT_URL: &str = "https://sts.amazonaws.com/";
const BODY: &str = "Action=GetCallerIdentity&Version=2011-06-15";

pub(crate) fn check(
    ctx: &Ctx<'_>,
    spec: &ValidateSpec,
    secret: &str,
    parts: &BTreeMap<String, String>,
) -> Validation {
    let key_id = &parts["key_id"];
    let session = parts.get("session_token");
    if key_id.starts_with("ASIA") && session.is_none() {
        return Validation::not_checked(
            "temporary key (ASIA…) needs its session token, and none was found near it",
        );
    }
    let url = match ctx.url(spec.url.as_deref().unwrap_or(DEFAULT_URL)) {
        Ok(u) => u,
        Err(e) => return Validation::unknown(e.to_string()),
    };
    let req = signed_request(
        url,
        "sts",
        BODY,
        key_id,
        secret,
        session.map(String::as_str),
    );
    match ctx.send(&req) {
        Ok(resp) => interpret(&resp),
        Err(e) => Validation::unknown(e.to_string()),
    }
}

/// A SigV4-signed form POST of `body` to `url` for `service`; the region
/// comes from the host (us-east-1 for global endpoints such as IAM's).
pub(crate) fn signed_request(
    url: Url,
    service: &str,
    body: &str,
    key_id: &str,
    secret: &str,
    session: Option<&str>,
) -> Request {
    let region = region_of(&url);
    let mut headers = vec![
        (
            "content-type".to_string(),
            "application/x-www-form-urlencoded; charset=utf-8".to_string(),
        ),
        ("host".to_string(), host_header(&url)),
        ("x-amz-date".to_string(), amz_date(SystemTime::now())),
    ];
    if let Some(t) = session {
        headers.push(("x-amz-security-token".to_string(), t.to_string()));
    }
    let auth = authorization(
        "POST",
        &url,
        &headers,
        body.as_bytes(),
        key_id,
        secret,
        &region,
        service,
    );
    headers.push(("authorization".to_string(), auth));
    headers.push(("accept".to_string(), "application/xml".to_string()));
    Request {
        method: "POST".into(),
        url,
        headers,
        body: Some(body.as_bytes().to_vec()),
    }
}

fn interpret(resp: &Response) -> Validation {
    let code = xml_text(&resp.body, "Code");
    match (resp.status, code.as_deref()) {
        (200, _) => match xml_text(&resp.body, "Arn") {
            Some(arn) => Validation::live(format!("HTTP 200; identity {arn}")),
            None => Validation::live("HTTP 200"),
        },
        (_, Some(c @ ("InvalidClientTokenId" | "ExpiredToken" | "SignatureDoesNotMatch"))) => {
            let why = match c {
                "InvalidClientTokenId" => "the key id is unknown or deactivated",
                "ExpiredToken" => "the session has expired",
                _ => "the secret does not belong to the key id",
            };
            Validation::invalid(format!("HTTP {} {c}: {why}", resp.status))
        }
        (status, code) => {
            let said = xml_text(&resp.body, "Message")
                .or_else(|| provider_message(&resp.body, None))
                .map(|m| format!(": {m}"))
                .unwrap_or_default();
            Validation::unknown(format!(
                "HTTP {status} {}{said} (an answer that proves nothing)",
                code.unwrap_or("")
            ))
        }
    }
}

/// The text of the first `<tag>…</tag>`; STS answers are small and flat.
pub(crate) fn xml_text(body: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find(&format!("</{tag}>"))? + start;
    Some(body[start..end].trim().to_string())
}

/// `sts.eu-west-1.amazonaws.com` signs as `eu-west-1`; the global endpoint
/// and anything else as `us-east-1`.
fn region_of(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() >= 4 && labels[0] == "sts" && labels[2] == "amazonaws" {
        labels[1].to_string()
    } else {
        "us-east-1".to_string()
    }
}

/// The Host header as the HTTP client sends it: with the port when it is not
/// the scheme's default.
fn host_header(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
}

/// `20150830T123600Z` for a time.
fn amz_date(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (y, m, d) = crate::time::civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// AWS's URI encoding: unreserved characters stay, everything else is `%XX`.
fn aws_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The SigV4 `Authorization` header for a request. `headers` must hold
/// every header to sign (`host` and `x-amz-date` at least), names lowercase.
#[allow(clippy::too_many_arguments)]
fn authorization(
    method: &str,
    url: &Url,
    headers: &[(String, String)],
    body: &[u8],
    key_id: &str,
    secret: &str,
    region: &str,
    service: &str,
) -> String {
    let amz_date = headers
        .iter()
        .find(|(k, _)| k == "x-amz-date")
        .map(|(_, v)| v.as_str())
        .expect("x-amz-date is signed");
    let date = &amz_date[..8];
    let mut query: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (aws_encode(&k), aws_encode(&v)))
        .collect();
    query.sort();
    let canonical_query = query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut signed: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.to_ascii_lowercase(),
                v.split_whitespace().collect::<Vec<_>>().join(" "),
            )
        })
        .collect();
    signed.sort();
    let canonical_headers: String = signed.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed_headers = signed
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let path = if url.path().is_empty() {
        "/"
    } else {
        url.path()
    };
    let canonical_request = format!(
        "{method}\n{path}\n{canonical_query}\n{canonical_headers}\n{signed_headers}\n{}",
        hex(&Sha256::digest(body))
    );
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical_request.as_bytes()))
    );
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    let k_signing = hmac(&k_service, b"aws4_request");
    let signature = hex(&hmac(&k_signing, string_to_sign.as_bytes()));
    format!(
        "AWS4-HMAC-SHA256 Credential={key_id}/{scope}, SignedHeaders={signed_headers}, Signature={signature}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // The AWS SigV4 test suite's example credentials and time.
    const KEY_ID: &str = "AKIDEXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    fn suite(method: &str, url: &str) -> String {
        let url = Url::parse(url).unwrap();
        let headers = vec![
            ("host".to_string(), "example.amazonaws.com".to_string()),
            ("x-amz-date".to_string(), "20150830T123600Z".to_string()),
        ];
        authorization(
            method,
            &url,
            &headers,
            b"",
            KEY_ID,
            SECRET,
            "us-east-1",
            "service",
        )
    }

    #[test]
    fn sigv4_matches_the_published_test_suite() {
        assert_eq!(
            suite("GET", "https://example.amazonaws.com/"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
        assert!(suite("POST", "https://example.amazonaws.com/").ends_with(
            "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"
        ));
        assert!(suite(
            "GET",
            "https://example.amazonaws.com/?Param2=value2&Param1=value1"
        )
        .ends_with("Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"));
    }

    #[test]
    fn dates_and_regions() {
        let t = UNIX_EPOCH + std::time::Duration::from_secs(1_440_938_160);
        assert_eq!(amz_date(t), "20150830T123600Z");
        assert_eq!(amz_date(UNIX_EPOCH), "19700101T000000Z");
        assert_eq!(
            amz_date(UNIX_EPOCH + std::time::Duration::from_secs(951_782_400)),
            "20000229T000000Z"
        );
        let r = |u: &str| region_of(&Url::parse(u).unwrap());
        assert_eq!(r("https://sts.amazonaws.com/"), "us-east-1");
        assert_eq!(r("https://sts.eu-west-1.amazonaws.com/"), "eu-west-1");
        assert_eq!(r("https://sts.cn-north-1.amazonaws.com.cn/"), "cn-north-1");
        assert_eq!(r("http://127.0.0.1:9000/"), "us-east-1");
    }

    #[test]
    fn sts_answers() {
        let r = |status, body: &str| {
            interpret(&Response {
                status,
                body: body.into(),
                headers: Vec::new(),
            })
        };
        let ok = "<GetCallerIdentityResponse><GetCallerIdentityResult>\
                  <Arn>arn:aws:iam::123456789012:user/ci</Arn></GetCallerIdentityResult></GetCallerIdentityResponse>";
        assert_eq!(
            r(200, ok).detail,
            "HTTP 200; identity arn:aws:iam::123456789012:user/ci"
        );
        let bad = "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code>\
                   <Message>The security token included in the request is invalid.</Message></Error></ErrorResponse>";
        assert_eq!(
            r(403, bad).status,
            crate::finding::ValidationStatus::Invalid
        );
        let denied = "<ErrorResponse><Error><Code>AccessDenied</Code><Message>no</Message></Error></ErrorResponse>";
        assert_eq!(
            r(403, denied).status,
            crate::finding::ValidationStatus::Unknown
        );
    }
}
