//! Bundled analyzer files (`rules/analyzers/<provider>.yml`): for a live
//! secret, which read-only endpoint tells who it belongs to and what it can
//! do, where in the answer identity, scopes and expiry are, and how scopes
//! map to a blast-radius severity.
//!
//! This module is syntax only; [`crate::analyze`] sends the requests.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::validator_spec::check_url;
use super::{BasicAuth, ResponseMatch, Severity, Template, ValidateSpec, ValidatorKind};

/// A malformed analyzer entry. Display starts with the file and entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: entry {entry}: {message}")]
pub struct AnalyzerSpecError {
    pub file: String,
    pub entry: String,
    pub message: String,
}

/// Which analyzer runs: a templated request, or one in code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnalyzerKind {
    #[default]
    Http,
    /// STS `GetCallerIdentity`, then the user's attached IAM policies where
    /// the key may read them.
    Aws,
    /// A service account's access token, then `testIamPermissions` on its
    /// project.
    Gcp,
    /// A PyPI token's macaroon caveats, read offline: no request is sent.
    PypiMacaroon,
}

/// One analyzer: a read-only request and how to read its answer.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AnalyzeSpec {
    #[serde(default)]
    pub kind: AnalyzerKind,
    /// The provider's documentation of the call (required: every analyzer
    /// says where its request and fields come from).
    pub docs: String,
    /// GET, HEAD or POST (a documented read such as Slack's `auth.test` or a
    /// GraphQL query). Defaults to GET.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuth>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<Value>,
    /// Answers that count as success; any 2xx when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ok: Option<ResponseMatch>,
    /// A JSON path to a JSON Web Token in the answer (an access token the
    /// call issued): `identity`, `scopes`, `expires` and severity `json`
    /// conditions then read its payload's claims instead of the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<String>,
    /// JSON paths (or `header:NAME`, or `parts:NAME` for a part found beside
    /// the secret) naming the owner; the values found are joined with ` / `.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identity: Vec<String>,
    /// Where scopes come from; all sources add up.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<ScopeSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<ValueSource>,
    /// First matching rule wins; the last must have no condition.
    #[serde(default)]
    pub severity: Vec<SeverityRule>,
    /// A provider-shaped answer and what must be read from it; used by the
    /// tests only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<Value>,
}

/// One source of scopes.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeSource {
    /// A JSON path (`*` walks every item of a list or map): strings are
    /// split, numbers and booleans taken as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<String>,
    /// A response header, split on commas and spaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// A JSON path to a map: `key:value` for string values, `key` for true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map: Option<String>,
    /// Scopes always added (or added when `when` holds): keys that carry no
    /// scopes and can do everything their account can.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fixed: Vec<String>,
    /// Only when the answer matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<ResponseMatch>,
    /// Prefix added to each scope from this source (`role:`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
}

/// Where a single value (the expiry) comes from.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ValueSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
}

/// `{level: critical, scopes: ["repo", "admin:*"]}`: the level when any
/// scope matches a glob (or the answer matches `json`); no condition means
/// always.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SeverityRule {
    pub level: Severity,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub json: BTreeMap<String, Value>,
}

impl SeverityRule {
    pub fn is_unconditional(&self) -> bool {
        self.scopes.is_empty() && self.json.is_empty()
    }

    /// Whether the rule holds for these scopes and this answer.
    pub fn holds(&self, scopes: &[String], answer: Option<&Value>) -> bool {
        if self.is_unconditional() {
            return true;
        }
        let by_scope = !self.scopes.is_empty()
            && scopes.iter().any(|s| {
                self.scopes
                    .iter()
                    .any(|g| super::glob_match(&g.to_ascii_lowercase(), &s.to_ascii_lowercase()))
            });
        let by_json = !self.json.is_empty()
            && ResponseMatch {
                json: self.json.clone(),
                ..ResponseMatch::default()
            }
            .matches(0, "", answer);
        by_scope || by_json
    }
}

impl AnalyzeSpec {
    /// Whether the analyzer reads the secret itself and sends nothing: it
    /// may run on secrets that no validator confirmed.
    pub fn is_offline(&self) -> bool {
        self.kind == AnalyzerKind::PypiMacaroon
    }

    /// The request part as an http validator section, so analysis builds
    /// requests with the validation engine's templating and URL rules.
    pub fn request(&self) -> ValidateSpec {
        ValidateSpec {
            kind: ValidatorKind::Http,
            method: Some(self.method.clone().unwrap_or_else(|| "GET".into())),
            url: self.url.clone(),
            headers: self.headers.clone(),
            query: self.query.clone(),
            basic_auth: self.basic_auth.clone(),
            form: self.form.clone(),
            json: self.json.clone(),
            ..ValidateSpec::default()
        }
    }

    /// The severity for what was read: the first rule that holds.
    pub fn severity_for(&self, scopes: &[String], answer: Option<&Value>) -> Severity {
        self.severity
            .iter()
            .find(|r| r.holds(scopes, answer))
            .map_or(Severity::High, |r| r.level)
    }

    /// Checks what serde cannot: documentation named, read-only method,
    /// literal https host, templates, a severity rule for every case.
    ///
    /// # Errors
    ///
    /// The first problem, saying how to fix it.
    pub fn check(&self) -> Result<(), AnalyzeCheckError> {
        use AnalyzeCheckError as E;
        if !self.docs.starts_with("https://") {
            return Err(E::Docs);
        }
        if !self
            .severity
            .last()
            .is_some_and(SeverityRule::is_unconditional)
        {
            return Err(E::Severity);
        }
        for (loc, t) in self.request().templates() {
            Template::parse(t).map_err(|e| E::Template {
                loc,
                message: e.to_string(),
            })?;
        }
        for (name, value) in &self.headers {
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
                return Err(E::HeaderName(name.clone()));
            }
            if value.contains(['\r', '\n']) {
                return Err(E::HeaderBreak(name.clone()));
            }
        }
        if self.kind != AnalyzerKind::Http {
            let extra = self.url.is_some()
                || !self.headers.is_empty()
                || self.method.is_some()
                || self.claims.is_some();
            return if extra { Err(E::CodeFields) } else { Ok(()) };
        }
        let url = self.url.as_deref().ok_or(E::NoUrl)?;
        check_url(url, super::Section::Validate).map_err(|e| E::Url(e.problem))?;
        let method = self.method.as_deref().unwrap_or("GET");
        if !["GET", "HEAD", "POST"].contains(&method) {
            return Err(E::Method(method.to_string()));
        }
        if self.form.is_some() && self.json.is_some() {
            return Err(E::Bodies);
        }
        self.check_sources()
    }

    /// Each scope source and the expiry name exactly one place to read.
    fn check_sources(&self) -> Result<(), AnalyzeCheckError> {
        for s in &self.scopes {
            let given = [
                s.json.is_some(),
                s.header.is_some(),
                s.map.is_some(),
                !s.fixed.is_empty(),
            ];
            if given.iter().filter(|b| **b).count() != 1 {
                return Err(AnalyzeCheckError::ScopeSource);
            }
        }
        if let Some(e) = &self.expires {
            if e.json.is_some() == e.header.is_some() {
                return Err(AnalyzeCheckError::Expires);
            }
        }
        Ok(())
    }
}

/// What is wrong with an analyzer section.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnalyzeCheckError {
    #[error("`docs` must be the https:// address of the provider's documentation")]
    Docs,
    #[error("`severity` must end with a rule without conditions")]
    Severity,
    #[error("analyze {loc}: {message}")]
    Template { loc: String, message: String },
    #[error("analyze: invalid header name {0:?}")]
    HeaderName(String),
    #[error("analyze: header {0} contains a line break")]
    HeaderBreak(String),
    #[error("analyze: a code analyzer (aws, gcp, pypi-macaroon) takes no request fields")]
    CodeFields,
    #[error("analyze: needs a url")]
    NoUrl,
    #[error("analyze: {0}")]
    Url(String),
    #[error("analyze: method {0:?} is not allowed (GET, HEAD or POST: analysis only reads)")]
    Method(String),
    #[error("analyze: give at most one of form and json")]
    Bodies,
    #[error("analyze: each scope source has exactly one of json, header, map, fixed")]
    ScopeSource,
    #[error("analyze: `expires` has exactly one of json and header")]
    Expires,
}

/// One entry of an analyzer file.
#[derive(Debug, Clone)]
pub struct AnalyzerEntry {
    /// `rules/analyzers/<file>.yml`.
    pub file: String,
    pub name: String,
    /// Rule ids or globs; defaults to the entry's name.
    pub rules: Vec<String>,
    pub exclude: Vec<String>,
    pub spec: AnalyzeSpec,
}

impl AnalyzerEntry {
    pub fn names_exactly(&self, id: &str) -> bool {
        self.rules.iter().any(|r| r == id)
    }

    pub fn selects(&self, id: &str) -> bool {
        self.rules.iter().any(|p| super::glob_match(p, id))
            && !self.exclude.iter().any(|p| super::glob_match(p, id))
    }
}

/// Parses an analyzer file (entry name → section plus `rules`/`exclude`).
///
/// # Errors
///
/// Names the file and entry of the first malformed entry.
pub fn parse_analyzer_file(
    file: &str,
    doc: &Value,
) -> Result<Vec<AnalyzerEntry>, AnalyzerSpecError> {
    let err = |entry: &str, message: String| AnalyzerSpecError {
        file: file.to_string(),
        entry: entry.to_string(),
        message,
    };
    let map = doc
        .as_object()
        .ok_or_else(|| err("-", "an analyzer file maps entry names to sections".into()))?;
    let mut out = Vec::new();
    for (name, v) in map {
        let mut obj = v
            .as_object()
            .cloned()
            .ok_or_else(|| err(name, "expected a map".into()))?;
        let mut list = |key: &str| -> Result<Vec<String>, AnalyzerSpecError> {
            match obj.remove(key) {
                None => Ok(Vec::new()),
                Some(Value::String(s)) => Ok(vec![s]),
                Some(v) => serde_json::from_value(v)
                    .map_err(|_| err(name, format!("`{key}` must be a list of rule ids or globs"))),
            }
        };
        let mut rules = list("rules")?;
        let exclude = list("exclude")?;
        if rules.is_empty() {
            rules.push(name.clone());
        }
        let spec: AnalyzeSpec =
            serde_json::from_value(Value::Object(obj)).map_err(|e| err(name, e.to_string()))?;
        spec.check().map_err(|e| err(name, e.to_string()))?;
        out.push(AnalyzerEntry {
            file: file.to_string(),
            name: name.clone(),
            rules,
            exclude,
            spec,
        });
    }
    Ok(out)
}

/// Every value at a dotted path where `*` walks all items of a list or map
/// (`permissions.*.name`). Depth is bounded by the path.
///
/// ```
/// use serde_json::json;
/// use keysweep::rules::json_path_all;
/// let v = json!({"roles": [{"name": "admin"}, {"name": "dev"}]});
/// let got: Vec<_> = json_path_all(&v, "roles.*.name");
/// assert_eq!(got, [&json!("admin"), &json!("dev")]);
/// ```
pub fn json_path_all<'a>(v: &'a Value, path: &str) -> Vec<&'a Value> {
    let mut cur = vec![v];
    for key in path.split('.') {
        let mut next = Vec::new();
        for c in cur {
            match (c, key) {
                (Value::Array(a), "*") => next.extend(a.iter()),
                (Value::Object(m), "*") => next.extend(m.values()),
                (Value::Object(m), k) => next.extend(m.get(k)),
                (Value::Array(a), k) => next.extend(k.parse::<usize>().ok().and_then(|i| a.get(i))),
                _ => {}
            }
        }
        cur = next;
    }
    cur
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(v: Value) -> Result<AnalyzeSpec, String> {
        let s: AnalyzeSpec = serde_json::from_value(v).map_err(|e| e.to_string())?;
        s.check().map_err(|e| e.to_string())?;
        Ok(s)
    }

    #[test]
    fn checks_keep_analysis_read_only_and_documented() {
        let ok = json!({"docs": "https://docs.example.com/me", "url": "https://api.example.com/me",
                        "severity": [{"level": "critical", "scopes": ["admin*"]}, {"level": "medium"}]});
        assert!(entry(ok.clone()).is_ok());
        let mut v = ok.clone();
        v["method"] = json!("DELETE");
        assert!(entry(v).unwrap_err().contains("only reads"));
        let mut v = ok.clone();
        v["docs"] = json!("see the site");
        assert!(entry(v).unwrap_err().contains("docs"));
        let mut v = ok.clone();
        v["severity"] = json!([{"level": "critical", "scopes": ["x"]}]);
        assert!(entry(v).unwrap_err().contains("without conditions"));
        let mut v = ok.clone();
        v["url"] = json!("https://{{secret}}.example.com/");
        assert!(entry(v).is_err());
        let mut v = ok;
        v["scopes"] = json!([{"json": "a", "header": "b"}]);
        assert!(entry(v).unwrap_err().contains("exactly one"));
    }

    #[test]
    fn severity_rules_match_scope_globs_and_json() {
        let s = entry(json!({"docs": "https://d.test/", "url": "https://a.test/",
            "severity": [{"level": "critical", "scopes": ["admin:*", "repo"]},
                         {"level": "high", "json": {"livemode": true}},
                         {"level": "low"}]}))
        .unwrap();
        let sc = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            s.severity_for(&sc(&["Admin:Org"]), None),
            Severity::Critical
        );
        assert_eq!(
            s.severity_for(&sc(&["read:user"]), Some(&json!({"livemode": true}))),
            Severity::High
        );
        assert_eq!(s.severity_for(&sc(&["read:user"]), None), Severity::Low);
    }
}
