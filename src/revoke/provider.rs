//! The `provider` broker: the provider's own revocation API, from the rule's
//! `revoke:` section or a bundled `rules/revokers/<provider>.yml` entry
//! (rule ids → section, as with validators). Requests are templated like
//! validation requests and honour the same endpoint overrides.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use serde_json::Value;

use super::{short, Answer, Job, Outcome};
use crate::rules::RevokeSpec;

/// A malformed revoker file or entry. Display starts with the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {entry}: {message}")]
pub struct RevokerFileError {
    pub file: String,
    /// The entry's name, or `-` for the file as a whole.
    pub entry: String,
    pub message: String,
}

/// Why a provider revocation request could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CallError {
    #[error("the rule has no revoke section")]
    NoSection,
    #[error("revoke section not run: {0}")]
    Untrusted(String),
    /// The validation engine's words (a missing part, a refused URL).
    #[error("{0}")]
    Request(String),
    #[error("the secret does not have the form the revoker's `extract` expects")]
    Extract,
    /// The lookup request failed or its answer lacked a part.
    #[error("lookup: {0}")]
    Lookup(String),
}

/// Parses a revoker file, given as JSON (`build.rs` converts the YAML):
/// `name: {rules: [ids…], <revoke: section>}`.
///
/// # Errors
///
/// Names the file, the entry and the problem.
pub fn parse_revoker_file(
    file: &str,
    doc: &Value,
) -> Result<Vec<(Vec<String>, RevokeSpec)>, RevokerFileError> {
    let err = |entry: &str, message: String| RevokerFileError {
        file: file.to_string(),
        entry: entry.to_string(),
        message,
    };
    let map = doc
        .as_object()
        .ok_or_else(|| err("-", "a revoker file maps entry names to sections".into()))?;
    let mut out = Vec::new();
    for (name, entry) in map {
        let mut entry = match entry {
            Value::Object(m) => m.clone(),
            _ => return Err(err(name, "not a mapping".into())),
        };
        let rules: Vec<String> = entry
            .remove("rules")
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| err(name, format!("rules: {e}")))?
            .ok_or_else(|| err(name, "needs rules".into()))?;
        // `docs` is for readers and the tests: where the provider documents
        // the call.
        let docs = entry.remove("docs");
        if !docs
            .as_ref()
            .and_then(Value::as_str)
            .is_some_and(|d| d.starts_with("https://"))
        {
            return Err(err(
                name,
                "needs `docs`: the https:// address of the provider's documentation".into(),
            ));
        }
        let spec: RevokeSpec =
            serde_json::from_value(Value::Object(entry)).map_err(|e| err(name, e.to_string()))?;
        spec.check().map_err(|e| err(name, e.to_string()))?;
        out.push((rules, spec));
    }
    Ok(out)
}

/// Every bundled revoker entry: file stem, entry rules and section.
///
/// # Panics
///
/// On a malformed bundled file; the unit tests parse every one.
pub fn bundled_entries() -> &'static [(String, Vec<String>, RevokeSpec)] {
    static ALL: OnceLock<Vec<(String, Vec<String>, RevokeSpec)>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut all = Vec::new();
        for f in crate::rules::EMBEDDED_REVOKERS {
            let file = format!("rules/revokers/{}.yml", f.name);
            let doc: Value = serde_json::from_str(f.json).expect("build.rs writes JSON");
            let entries = parse_revoker_file(&file, &doc).unwrap_or_else(|e| panic!("{e}"));
            for (rules, spec) in entries {
                all.push((f.name.to_string(), rules, spec));
            }
        }
        all
    })
}

fn bundled() -> &'static HashMap<String, RevokeSpec> {
    static MAP: OnceLock<HashMap<String, RevokeSpec>> = OnceLock::new();
    MAP.get_or_init(|| {
        let mut m = HashMap::new();
        for (_, rules, spec) in bundled_entries() {
            for r in rules {
                m.insert(r.clone(), spec.clone());
            }
        }
        m
    })
}

/// Whether `rule` can revoke its secrets with the `provider` broker: it has a
/// `revoke:` section, or it is bundled and a bundled revoker names it.
pub fn has_revoker(rule: &crate::rules::Rule) -> bool {
    rule.spec.revoke.is_some() || (rule.builtin && bundled().contains_key(rule.id()))
}

/// The revoke section for a finding's rule: the rule's own, else a bundled
/// one for a bundled rule. Rules from elsewhere need their own section.
pub(crate) fn spec<'a>(job: &Job<'a>) -> Option<&'a RevokeSpec> {
    let rule = job.rule?;
    rule.spec
        .revoke
        .as_ref()
        .or_else(|| rule.builtin.then(|| bundled().get(rule.id())).flatten())
}

/// The revoke request. With `send_lookup` off (dry run) a lookup is not
/// sent and its parts read `:name`.
fn build(job: &Job<'_>, send_lookup: bool) -> Result<crate::net::Request, CallError> {
    let spec = spec(job).ok_or(CallError::NoSection)?;
    if let Some(rule) = job.rule {
        rule.may_send_secrets(job.validator.trusts_rule_validators())
            .map_err(|why| CallError::Untrusted(why.to_string()))?;
    }
    let f = job.finding;
    let parts = parts(job, spec, send_lookup)?;
    job.validator
        .build_request(&f.rule.provider, &spec.request(), &f.matched.secret, &parts)
        .map_err(|e| CallError::Request(e.to_string()))
}

/// The finding's parts plus those `extract` cuts from the secret and those
/// `lookup` reads from the provider.
fn parts(
    job: &Job<'_>,
    spec: &RevokeSpec,
    send_lookup: bool,
) -> Result<BTreeMap<String, String>, CallError> {
    let f = job.finding;
    let mut parts = f.matched.parts.clone();
    if let Some(re) = &spec.extract {
        // Checked when the section was loaded.
        let re = regex::Regex::new(re).map_err(|_| CallError::Extract)?;
        let caps = re.captures(&f.matched.secret).ok_or(CallError::Extract)?;
        for name in re.capture_names().flatten() {
            if let Some(m) = caps.name(name) {
                parts.insert(name.to_string(), m.as_str().to_string());
            }
        }
    }
    let Some(lookup) = &spec.lookup else {
        return Ok(parts);
    };
    if !send_lookup {
        for name in lookup.parts.keys() {
            parts.insert(name.clone(), format!(":{name}"));
        }
        return Ok(parts);
    }
    let req = job
        .validator
        .build_request(
            &f.rule.provider,
            &lookup.request(),
            &f.matched.secret,
            &parts,
        )
        .map_err(|e| CallError::Lookup(e.to_string()))?;
    let resp = job
        .validator
        .send(&req, &f.matched.secret)
        .map_err(|e| CallError::Lookup(e.to_string()))?;
    let json: Option<Value> = serde_json::from_str(&resp.body).ok();
    if !(200..300).contains(&resp.status) {
        return Err(CallError::Lookup(format!("HTTP {}", resp.status)));
    }
    for (name, path) in &lookup.parts {
        let v = json.as_ref().and_then(|j| crate::rules::json_path(j, path));
        let v = match v {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(CallError::Lookup(format!("the answer has no {path}"))),
        };
        parts.insert(name.clone(), v);
    }
    Ok(parts)
}

pub(crate) fn describe(job: &Job<'_>) -> Result<String, CallError> {
    let req = build(job, false)?;
    let first = spec(job)
        .and_then(|s| s.lookup.as_ref())
        .map(|l| format!("GET {} then ", l.url))
        .unwrap_or_default();
    Ok(format!("{first}{} {}", req.method, req.url))
}

pub(crate) fn revoke(job: &Job<'_>) -> Outcome {
    let Some(spec) = spec(job) else {
        return Outcome::failed("the rule has no revoke section", None);
    };
    let req = match build(job, true) {
        Ok(r) => r,
        Err(e) => return Outcome::failed(e.to_string(), None),
    };
    let resp = match job.validator.send(&req, &job.finding.matched.secret) {
        Ok(r) => r,
        Err(e) => return Outcome::failed(e.to_string(), None),
    };
    let json: Option<Value> = serde_json::from_str(&resp.body).ok();
    let said = crate::net::provider_message(&resp.body, json.as_ref())
        .unwrap_or_else(|| short(&resp.body));
    let detail = if said.is_empty() {
        format!("provider answered HTTP {}", resp.status)
    } else {
        format!("provider answered HTTP {}: {said}", resp.status)
    };
    let answer = if spec.revoked.matches(resp.status, &resp.body, json.as_ref()) {
        Answer::Revoked
    } else if spec
        .not_found
        .matches(resp.status, &resp.body, json.as_ref())
    {
        Answer::NotFound
    } else {
        Answer::Failed
    };
    Outcome {
        answer,
        http_status: Some(resp.status),
        reference: None,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_revokers_parse_and_name_real_rules() {
        let set = crate::rules::RuleSet::builtin();
        assert!(!bundled_entries().is_empty());
        for (file, rules, spec) in bundled_entries() {
            assert!(!spec.revoked.is_empty(), "{file}");
            for r in rules {
                assert!(set.get(r).is_some(), "{file}: no bundled rule {r}");
            }
        }
        assert!(bundled().contains_key("slack-bot-token"));
    }

    #[test]
    fn revoker_entries_need_docs_and_rules() {
        let doc = serde_json::json!({"x": {"rules": ["a"], "url": "https://a.test/", "revoked": {"status": [200]}}});
        let e = parse_revoker_file("f.yml", &doc).unwrap_err();
        assert_eq!((e.file.as_str(), e.entry.as_str()), ("f.yml", "x"));
        assert!(e.message.contains("docs"), "{e}");
        let doc = serde_json::json!({"x": {"docs": "https://d.test/", "url": "https://a.test/", "revoked": {"status": [200]}}});
        assert!(parse_revoker_file("f.yml", &doc)
            .unwrap_err()
            .message
            .contains("rules"));
    }
}
