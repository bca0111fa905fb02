//! PyPI API tokens: offline. A token is a macaroon whose first-party caveats
//! are PyPI's restrictions, in the clear; reading them tells which projects
//! the token may upload to, whether it is bound to one user or to a trusted
//! publisher, and when it expires. No request is sent: PyPI has no endpoint
//! that describes a token, and the caveats are what PyPI itself checks.
//!
//! The caveats are JSON arrays `[tag, fields…]` (tag 0 expiry
//! `[0, expires_at, not_before]`, 1 project names, 2 project ids, 3 user id,
//! 4 trusted publisher id), or the older JSON objects
//! (`{"version": 1, "permissions": "user" | {"projects": […]}}`,
//! `{"exp", "nbf"}`, `{"project_ids"}`) that PyPI still accepts.
//!
//! <https://pypi.org/help/#apitoken>,
//! <https://github.com/pypi/warehouse/blob/main/warehouse/macaroons/caveats/__init__.py>,
//! <https://github.com/pypi/warehouse/blob/main/warehouse/macaroons/caveats/_legacy.py>

use serde_json::Value;

use super::AnalyzeError;
use crate::finding::Analysis;
use crate::rules::checksum::{pypi_token_macaroon, unix_now};
use crate::rules::AnalyzeSpec;

/// What the caveats say, before it becomes an [`Analysis`].
#[derive(Debug, Default, PartialEq)]
struct Restrictions {
    projects: Vec<String>,
    project_ids: Vec<String>,
    user: Option<String>,
    publisher: Option<String>,
    /// The earliest `expires_at` of all expiry caveats.
    expires_at: Option<i64>,
    /// Caveats this reading does not know (a newer tag): PyPI refuses a
    /// token whose caveat it cannot satisfy, so they only narrow it.
    unknown: usize,
}

pub(super) fn run(spec: &AnalyzeSpec, secret: &str) -> Result<Analysis, AnalyzeError> {
    let m = pypi_token_macaroon(secret).map_err(|e| AnalyzeError::Request(e.to_string()))?;
    let mut r = Restrictions::default();
    for c in &m.caveats {
        read_caveat(c, &mut r);
    }
    r.unknown += m.third_party;
    Ok(analysis(spec, &m.location, &r, unix_now()))
}

fn analysis(spec: &AnalyzeSpec, location: &str, r: &Restrictions, now: i64) -> Analysis {
    let mut scopes: Vec<String> = Vec::new();
    if r.projects.is_empty() && r.project_ids.is_empty() {
        scopes.push("all-projects".into());
    }
    scopes.extend(r.projects.iter().map(|p| format!("project:{p}")));
    scopes.extend(r.project_ids.iter().map(|p| format!("project-id:{p}")));
    if let Some(p) = &r.publisher {
        scopes.push(format!("trusted-publisher:{p}"));
    }
    if location != "pypi.org" {
        scopes.push(format!("index:{location}"));
    }
    if r.expires_at.is_some_and(|e| e <= now) {
        scopes.push("expired".into());
    }
    let identity = match &r.user {
        Some(u) => format!("{location} user {u}"),
        None => location.to_string(),
    };
    let error = (r.unknown > 0).then(|| {
        format!(
            "{} caveat(s) not understood; they can only narrow the token",
            r.unknown
        )
    });
    Analysis {
        identity: Some(identity),
        severity: Some(spec.severity_for(&scopes, None)),
        expires: r
            .expires_at
            .map(|e| crate::time::rfc3339(e, 0).replace("+00:00", "Z")),
        scopes,
        error,
    }
}

/// Reads one caveat's predicate into `r`; what is not JSON or not known
/// counts as unknown.
fn read_caveat(predicate: &[u8], r: &mut Restrictions) {
    let Ok(v) = serde_json::from_slice::<Value>(predicate) else {
        r.unknown += 1;
        return;
    };
    let known = match &v {
        Value::Array(a) => read_tagged(a, r),
        Value::Object(o) => read_legacy(o, r),
        _ => false,
    };
    if !known {
        r.unknown += 1;
    }
}

fn strings(v: Option<&Value>) -> Option<Vec<String>> {
    let a = v?.as_array()?;
    Some(
        a.iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
    )
}

fn expire(r: &mut Restrictions, at: Option<i64>) -> bool {
    let Some(at) = at else { return false };
    r.expires_at = Some(r.expires_at.map_or(at, |e| e.min(at)));
    true
}

/// `[tag, fields…]`: the current encoding.
fn read_tagged(a: &[Value], r: &mut Restrictions) -> bool {
    match a.first().and_then(Value::as_u64) {
        Some(0) => expire(r, a.get(1).and_then(Value::as_i64)),
        Some(1) => strings(a.get(1)).map(|p| r.projects.extend(p)).is_some(),
        Some(2) => strings(a.get(1)).map(|p| r.project_ids.extend(p)).is_some(),
        Some(3) => {
            r.user = a.get(1).and_then(Value::as_str).map(str::to_string);
            r.user.is_some()
        }
        Some(4) => {
            r.publisher = a.get(1).and_then(Value::as_str).map(str::to_string);
            r.publisher.is_some()
        }
        _ => false,
    }
}

/// The older object encodings.
fn read_legacy(o: &serde_json::Map<String, Value>, r: &mut Restrictions) -> bool {
    if o.get("version").and_then(Value::as_u64) == Some(1) {
        return match o.get("permissions") {
            // Scoped to the token's user: every project they can upload to.
            Some(Value::String(s)) if s == "user" => true,
            Some(Value::Object(p)) => strings(p.get("projects"))
                .map(|p| r.projects.extend(p))
                .is_some(),
            _ => false,
        };
    }
    if o.contains_key("exp") && o.contains_key("nbf") {
        return expire(r, o.get("exp").and_then(Value::as_i64));
    }
    strings(o.get("project_ids"))
        .map(|p| r.project_ids.extend(p))
        .is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(caveats: &[&str]) -> Restrictions {
        let mut r = Restrictions::default();
        for c in caveats {
            read_caveat(c.as_bytes(), &mut r);
        }
        r
    }

    #[test]
    fn reads_current_and_legacy_caveats() {
        let r = read(&[
            r#"[0, 1900000000, 1700000000]"#,
            r#"[1, ["requests", "urllib3"]]"#,
            r#"[3, "6b1c1f7e-0000-4000-8000-000000000001"]"#,
            r#"{"exp": 1800000000, "nbf": 1700000000}"#,
            r#"[9, "future"]"#,
            "not json",
        ]);
        assert_eq!(r.projects, ["requests", "urllib3"]);
        assert_eq!(
            r.user.as_deref(),
            Some("6b1c1f7e-0000-4000-8000-000000000001")
        );
        assert_eq!(r.expires_at, Some(1_800_000_000), "the earliest expiry");
        assert_eq!(r.unknown, 2);
        let legacy = read(&[
            r#"{"version": 1, "permissions": {"projects": ["flask"]}}"#,
            r#"{"project_ids": ["a1"]}"#,
        ]);
        assert_eq!(
            (legacy.projects, legacy.project_ids),
            (vec!["flask".to_string()], vec!["a1".to_string()])
        );
        let user = read(&[r#"{"version": 1, "permissions": "user"}"#]);
        assert_eq!(user, Restrictions::default());
    }

    #[test]
    fn scopes_say_reach_and_expiry() {
        let spec = AnalyzeSpec::default();
        let r = Restrictions {
            expires_at: Some(100),
            ..Restrictions::default()
        };
        let a = analysis(&spec, "test.pypi.org", &r, 200);
        assert_eq!(a.scopes, ["all-projects", "index:test.pypi.org", "expired"]);
        assert_eq!(a.expires.as_deref(), Some("1970-01-01T00:01:40Z"));
        assert_eq!(a.identity.as_deref(), Some("test.pypi.org"));
    }
}
