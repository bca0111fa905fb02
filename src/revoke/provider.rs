//! The `provider` broker: the provider's own revocation API, from the rule's
//! `revoke:` section or a bundled `rules/revokers/<provider>.yml` entry
//! (rule ids → section, as with validators). Requests are templated like
//! validation requests and honour the same endpoint overrides.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value;

use super::{short, Answer, Job, Outcome};
use crate::rules::RevokeSpec;

/// The bundled revoker files, by name.
const BUNDLED: &[(&str, &str)] = &[
    ("dropbox", include_str!("../../rules/revokers/dropbox.yml")),
    ("gcp", include_str!("../../rules/revokers/gcp.yml")),
    ("github", include_str!("../../rules/revokers/github.yml")),
    ("gitlab", include_str!("../../rules/revokers/gitlab.yml")),
    ("npm", include_str!("../../rules/revokers/npm.yml")),
    ("slack", include_str!("../../rules/revokers/slack.yml")),
];

/// Parses a revoker file: `name: {rules: [ids…], <revoke: section>}`.
///
/// # Errors
///
/// Names the entry and the problem.
pub fn parse_revoker_file(text: &str) -> Result<Vec<(Vec<String>, RevokeSpec)>, String> {
    let doc: serde_json::Map<String, serde_json::Value> =
        serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for (name, entry) in doc {
        let mut entry = match entry {
            serde_json::Value::Object(m) => m,
            _ => return Err(format!("{name}: not a mapping")),
        };
        let rules: Vec<String> = entry
            .remove("rules")
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| format!("{name}: rules: {e}"))?
            .ok_or_else(|| format!("{name}: needs rules"))?;
        let spec: RevokeSpec = serde_json::from_value(serde_json::Value::Object(entry))
            .map_err(|e| format!("{name}: {e}"))?;
        spec.check().map_err(|e| format!("{name}: {e}"))?;
        out.push((rules, spec));
    }
    Ok(out)
}

fn bundled() -> &'static HashMap<String, RevokeSpec> {
    static MAP: OnceLock<HashMap<String, RevokeSpec>> = OnceLock::new();
    MAP.get_or_init(|| {
        let mut m = HashMap::new();
        for (name, text) in BUNDLED {
            let entries = parse_revoker_file(text)
                .unwrap_or_else(|e| panic!("rules/revokers/{name}.yml: {e}"));
            for (rules, spec) in entries {
                for r in rules {
                    m.insert(r, spec.clone());
                }
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

fn build(job: &Job<'_>) -> Result<crate::net::Request, String> {
    let spec = spec(job).ok_or("the rule has no revoke section")?;
    if let Some(rule) = job.rule {
        rule.may_send_secrets(job.validator.trusts_rule_validators())
            .map_err(|why| format!("revoke section not run: {why}"))?;
    }
    let f = job.finding;
    job.validator
        .build_request(
            &f.rule.provider,
            &spec.request(),
            &f.matched.secret,
            &f.matched.parts,
        )
        .map_err(|e| e.to_string())
}

pub(crate) fn describe(job: &Job<'_>) -> Result<String, String> {
    let req = build(job)?;
    Ok(format!("{} {}", req.method, req.url))
}

pub(crate) fn revoke(job: &Job<'_>) -> Outcome {
    let Some(spec) = spec(job) else {
        return Outcome::failed("the rule has no revoke section", None);
    };
    let req = match build(job) {
        Ok(r) => r,
        Err(e) => return Outcome::failed(e, None),
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
        for (name, text) in BUNDLED {
            for (rules, spec) in parse_revoker_file(text).unwrap() {
                assert!(!spec.revoked.is_empty(), "{name}");
                for r in rules {
                    assert!(set.get(&r).is_some(), "{name}: no bundled rule {r}");
                }
            }
        }
        assert!(bundled().contains_key("slack-bot-token"));
        // Every file in rules/revokers/ is bundled.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/revokers");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                e.unwrap()
                    .path()
                    .file_stem()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        files.sort();
        let names: Vec<&str> = BUNDLED.iter().map(|(n, _)| *n).collect();
        assert_eq!(files, names);
    }
}
