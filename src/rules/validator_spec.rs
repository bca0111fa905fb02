//! The `validate:` section of a rule, and bundled validator files
//! (`rules/validators/<provider>.yml`). See `docs/validation.md`.
//!
//! This module is syntax only: what a validator says and whether it is well
//! formed. Sending requests is [`crate::validate`]'s job.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Which kind of section a [`SpecError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Validate,
    Revoke,
}

impl std::fmt::Display for Section {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Section::Validate => "validate",
            Section::Revoke => "revoke",
        })
    }
}

/// A malformed `validate:` or `revoke:` section. Display starts with the
/// section and field (`validate url: …`, `revoke header X: …`) and then says
/// how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{section} {field}: {problem}")]
pub struct SpecError {
    pub section: Section,
    /// `url`, `method`, `header NAME`, `json`, `live` …
    pub field: String,
    pub problem: String,
}

impl SpecError {
    fn new(section: Section, field: impl Into<String>, problem: impl Into<String>) -> SpecError {
        SpecError {
            section,
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// A template that does not parse. Display starts with the template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("template {template:?}: unclosed '{{{{'")]
    Unclosed { template: String },
    #[error(
        "template {template:?}: unknown placeholder {{{{{name}}}}} (use {{{{secret}}}} or {{{{parts.NAME}}}})"
    )]
    UnknownPlaceholder { template: String, name: String },
}

/// A template names a part the finding does not have. Display names the part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("part {0}: not found with the secret")]
pub struct MissingPart(pub String);

/// A malformed bundled or user validator file. Display starts with the entry
/// (the caller puts the file's path in front).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidatorFileError {
    #[error("top level: a validator file maps entry names (rule ids) to validate sections")]
    NotAMap,
    #[error("entry {entry}: expected a map")]
    EntryNotAMap { entry: String },
    #[error("entry {entry}: `{key}` must be a list of rule ids or globs")]
    BadList { entry: String, key: String },
    #[error("entry {entry}: {message}")]
    Syntax { entry: String, message: String },
    #[error("entry {entry}: {source}")]
    Spec { entry: String, source: SpecError },
}

/// How a rule's secrets are checked with their provider.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ValidateSpec {
    /// `http` (a templated request, the default) or a validator in code.
    #[serde(default)]
    pub kind: ValidatorKind,
    /// HTTP method: GET, HEAD or POST. Defaults to GET.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The URL, templated; its scheme, host and port must be literal. Code
    /// validators have a default and accept one here to replace it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Query parameters added to the URL (percent-encoded).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, String>,
    /// HTTP basic authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuth>,
    /// A raw request body (set the Content-Type in `headers`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// An `application/x-www-form-urlencoded` body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<BTreeMap<String, String>>,
    /// A JSON body; templates in its strings are filled in and escaped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<Value>,
    /// Answers that prove the secret live.
    #[serde(default, skip_serializing_if = "Matchers::is_empty")]
    pub live: Matchers,
    /// Answers that prove the secret invalid (revoked, expired, unknown).
    #[serde(default, skip_serializing_if = "Matchers::is_empty")]
    pub invalid: Matchers,
    /// A JSON path in a live answer naming who the secret belongs to
    /// (`login`, `user.email`); reported in the detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
}

/// The `revoke:` section of a rule, or an entry of a bundled
/// `rules/revokers/<provider>.yml`: a templated request (the same fields as
/// an http `validate:` section) and the answers that mean revoked or
/// not-found. Any other answer is a failure.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeSpec {
    /// GET, POST, DELETE … Defaults to POST.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    pub url: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuth>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<Value>,
    /// Answers that mean the secret is now revoked.
    pub revoked: Matchers,
    /// Answers that mean the provider does not know the secret (already
    /// revoked or never valid).
    #[serde(default, skip_serializing_if = "Matchers::is_empty")]
    pub not_found: Matchers,
    /// A regex whose named groups cut parts out of the secret itself, for
    /// providers whose delete call names the key by an id the key carries
    /// (`SG.<id>.<secret>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extract: Option<String>,
    /// A GET sent first whose JSON answer names parts the revoke request
    /// needs (the token's own id, when the provider can tell it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookup: Option<Box<LookupSpec>>,
}

/// The `lookup:` of a revoke section: a templated GET and the JSON paths
/// of the parts it yields.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LookupSpec {
    pub url: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, String>,
    /// Part name → JSON path in the answer.
    pub parts: BTreeMap<String, String>,
}

impl LookupSpec {
    /// The request as an http validator section.
    pub fn request(&self) -> ValidateSpec {
        ValidateSpec {
            kind: ValidatorKind::Http,
            method: Some("GET".into()),
            url: Some(self.url.clone()),
            headers: self.headers.clone(),
            query: self.query.clone(),
            ..ValidateSpec::default()
        }
    }
}

impl RevokeSpec {
    /// Checks what serde cannot: method, a literal https host, templates,
    /// header names, one body at most, a `revoked` answer.
    ///
    /// # Errors
    ///
    /// Names the field and the problem, prefixed `revoke`.
    pub fn check(&self) -> Result<(), SpecError> {
        let req = self.request();
        let err = |field: &str, problem: String| SpecError::new(Section::Revoke, field, problem);
        check_templates(&req, Section::Revoke)?;
        check_headers(&self.headers, Section::Revoke)?;
        check_url(&self.url, Section::Revoke)?;
        let method = req.method.as_deref().unwrap_or("POST");
        if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method) {
            return Err(err(
                "method",
                format!("{method:?} is not one of GET, POST, PUT, PATCH, DELETE"),
            ));
        }
        if req.body_count() > 1 {
            return Err(err(
                "body",
                "give at most one of body, form and json".into(),
            ));
        }
        if self.revoked.is_empty() {
            return Err(err(
                "revoked",
                "needs a `revoked` answer (everything else is a failure)".into(),
            ));
        }
        if let Some(re) = &self.extract {
            let re = regex::Regex::new(re).map_err(|e| err("extract", e.to_string()))?;
            if re.capture_names().flatten().next().is_none() {
                return Err(err("extract", "needs named groups, one per part".into()));
            }
        }
        if let Some(l) = &self.lookup {
            let lookup = |e: SpecError| err(&format!("lookup {}", e.field), e.problem);
            check_url(&l.url, Section::Revoke).map_err(lookup)?;
            if l.parts.is_empty() {
                return Err(err(
                    "lookup parts",
                    "needs `parts` (name → JSON path)".into(),
                ));
            }
            check_templates(&l.request(), Section::Revoke).map_err(lookup)?;
        }
        Ok(())
    }

    /// The request part as an http validator section, so revocation builds
    /// requests with the validation engine's templating and URL rules.
    pub fn request(&self) -> ValidateSpec {
        ValidateSpec {
            kind: ValidatorKind::Http,
            method: Some(self.method.clone().unwrap_or_else(|| "POST".into())),
            url: Some(self.url.clone()),
            headers: self.headers.clone(),
            query: self.query.clone(),
            basic_auth: self.basic_auth.clone(),
            body: self.body.clone(),
            form: self.form.clone(),
            json: self.json.clone(),
            ..ValidateSpec::default()
        }
    }
}

/// Which validator runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ValidatorKind {
    /// The templated request described by the section.
    #[default]
    Http,
    /// AWS access key pair: SigV4-signed `sts:GetCallerIdentity`. Needs the
    /// `key_id` part beside the secret access key.
    Aws,
    /// GCP service account key: an RS256 JWT exchanged at the OAuth token
    /// endpoint. Needs the `client_email` part beside the private key.
    Gcp,
}

impl std::fmt::Display for ValidatorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ValidatorKind::Http => "http",
            ValidatorKind::Aws => "aws",
            ValidatorKind::Gcp => "gcp",
        })
    }
}

/// `basic_auth: {username: …, password: …}`, both templated.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
}

/// Conditions on an answer. Every condition given must hold; within a list
/// (`status`, `body_contains`, a JSON list of values) any one item is enough.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseMatch {
    /// HTTP statuses, any of.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub status: Vec<u16>,
    /// JSON path → expected value: a scalar must be equal, a list means any
    /// of its items, and `{exists: true|false}` tests presence.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub json: BTreeMap<String, Value>,
    /// Substrings of the body, any of.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub body_contains: Vec<String>,
}

impl ResponseMatch {
    fn is_empty(&self) -> bool {
        self.status.is_empty() && self.json.is_empty() && self.body_contains.is_empty()
    }

    /// Whether an answer satisfies every condition. `json` is the parsed
    /// body, when it is JSON.
    pub fn matches(&self, status: u16, body: &str, json: Option<&Value>) -> bool {
        if !self.status.is_empty() && !self.status.contains(&status) {
            return false;
        }
        if !self.body_contains.is_empty() && !self.body_contains.iter().any(|w| body.contains(w)) {
            return false;
        }
        self.json.iter().all(|(path, want)| {
            let got = json.and_then(|j| json_path(j, path));
            match want {
                Value::Object(o)
                    if o.len() == 1 && o.get("exists").is_some_and(Value::is_boolean) =>
                {
                    got.is_some_and(|v| !v.is_null()) == o["exists"].as_bool().unwrap()
                }
                Value::Array(any) => got.is_some_and(|g| any.contains(g)),
                want => got == Some(want),
            }
        })
    }
}

/// One matcher or a list of them, any of which may match.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Matchers(pub Vec<ResponseMatch>);

impl Matchers {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether any matcher accepts the answer.
    pub fn matches(&self, status: u16, body: &str, json: Option<&Value>) -> bool {
        self.0.iter().any(|m| m.matches(status, body, json))
    }
}

impl<'de> Deserialize<'de> for Matchers {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Deserialize through a Value so that a mistake inside one matcher
        // gets serde's precise message instead of "did not match any variant".
        let v = Value::deserialize(d)?;
        let r = if v.is_array() {
            Vec::<ResponseMatch>::deserialize(v).map(Matchers)
        } else {
            ResponseMatch::deserialize(v).map(|m| Matchers(vec![m]))
        };
        r.map_err(serde::de::Error::custom)
    }
}

/// Looks up a dotted path (`user.login`, `data.0.id`) in a JSON value.
///
/// ```
/// use serde_json::json;
/// use keysweep::rules::json_path;
/// let v = json!({"user": {"login": "octo"}, "data": [{"id": 7}]});
/// assert_eq!(json_path(&v, "user.login"), Some(&json!("octo")));
/// assert_eq!(json_path(&v, "data.0.id"), Some(&json!(7)));
/// assert_eq!(json_path(&v, "user.name"), None);
/// ```
pub fn json_path<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    for key in path.split('.') {
        cur = match cur {
            Value::Object(m) => m.get(key)?,
            Value::Array(a) => a.get(key.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// A parsed template: literal text with `{{secret}}` and `{{parts.NAME}}`
/// placeholders.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Secret,
    Part(String),
}

impl Template {
    /// Parses a template.
    ///
    /// # Errors
    ///
    /// Fails on an unclosed `{{` or a placeholder other than `secret` and
    /// `parts.NAME`.
    ///
    /// ```
    /// use keysweep::rules::Template;
    /// let t = Template::parse("Bearer {{ secret }}").unwrap();
    /// assert_eq!(t.render("abc", &Default::default(), |s| s.to_string()).unwrap(), "Bearer abc");
    /// assert!(Template::parse("{{token}}").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Template, TemplateError> {
        let mut pieces = Vec::new();
        let mut rest = s;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                pieces.push(Piece::Text(rest[..open].to_string()));
            }
            let after = &rest[open + 2..];
            let close = after.find("}}").ok_or_else(|| TemplateError::Unclosed {
                template: s.to_string(),
            })?;
            let name = after[..close].trim();
            pieces.push(match name {
                "secret" => Piece::Secret,
                _ => match name.strip_prefix("parts.") {
                    Some(p)
                        if !p.is_empty()
                            && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
                    {
                        Piece::Part(p.to_string())
                    }
                    _ => {
                        return Err(TemplateError::UnknownPlaceholder {
                            template: s.to_string(),
                            name: name.to_string(),
                        })
                    }
                },
            });
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_string()));
        }
        Ok(Template { pieces })
    }

    /// The part names the template uses.
    pub fn parts(&self) -> impl Iterator<Item = &str> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Part(n) => Some(n.as_str()),
            _ => None,
        })
    }

    pub fn has_placeholders(&self) -> bool {
        self.pieces.iter().any(|p| !matches!(p, Piece::Text(_)))
    }

    /// Fills in the placeholders, passing each value through `encode`.
    ///
    /// # Errors
    ///
    /// Names a part that `parts` lacks.
    pub fn render(
        &self,
        secret: &str,
        parts: &BTreeMap<String, String>,
        encode: impl Fn(&str) -> String,
    ) -> Result<String, MissingPart> {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Secret => out.push_str(&encode(secret)),
                Piece::Part(n) => {
                    let value = parts.get(n).ok_or_else(|| MissingPart(n.clone()))?;
                    out.push_str(&encode(value))
                }
            }
        }
        Ok(out)
    }
}

const METHODS: [&str; 3] = ["GET", "HEAD", "POST"];

impl ValidateSpec {
    /// Every template in the section, with where it is, for checks.
    pub fn templates(&self) -> Vec<(String, &str)> {
        let mut v: Vec<(String, &str)> = Vec::new();
        if let Some(u) = &self.url {
            v.push(("url".into(), u));
        }
        for (k, t) in &self.headers {
            v.push((format!("header {k}"), t));
        }
        for (k, t) in &self.query {
            v.push((format!("query {k}"), t));
        }
        if let Some(b) = &self.basic_auth {
            v.push(("basic_auth.username".into(), &b.username));
            v.push(("basic_auth.password".into(), &b.password));
        }
        if let Some(b) = &self.body {
            v.push(("body".into(), b));
        }
        for (k, t) in self.form.iter().flatten() {
            v.push((format!("form {k}"), t));
        }
        if let Some(j) = &self.json {
            json_strings(j, &mut v);
        }
        v
    }

    /// Part names the validator needs beside the secret: those its templates
    /// use, plus what a code validator requires.
    pub fn required_parts(&self) -> Vec<String> {
        let mut names: Vec<String> = match self.kind {
            ValidatorKind::Http => Vec::new(),
            ValidatorKind::Aws => vec!["key_id".into()],
            ValidatorKind::Gcp => vec!["client_email".into()],
        };
        for (_, t) in self.templates() {
            if let Ok(t) = Template::parse(t) {
                names.extend(t.parts().map(str::to_string));
            }
        }
        names.sort();
        names.dedup();
        names
    }

    /// How many of `body`, `form` and `json` are given.
    fn body_count(&self) -> usize {
        [
            self.body.is_some(),
            self.form.is_some(),
            self.json.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count()
    }

    /// Checks what serde cannot: templates parse, the URL names its host
    /// literally over HTTPS, one body at most, matchers are meaningful.
    ///
    /// # Errors
    ///
    /// Returns the first problem, naming the field and how to fix it.
    pub fn check(&self) -> Result<(), SpecError> {
        let err = |field: &str, problem: String| SpecError::new(Section::Validate, field, problem);
        check_templates(self, Section::Validate)?;
        check_headers(&self.headers, Section::Validate)?;
        if let Some(url) = &self.url {
            check_url(url, Section::Validate)?;
        }
        match self.kind {
            ValidatorKind::Http => self.check_http()?,
            kind => {
                let extra = self.method.is_some()
                    || !self.headers.is_empty()
                    || !self.query.is_empty()
                    || self.basic_auth.is_some()
                    || self.body_count() > 0
                    || !self.live.is_empty()
                    || !self.invalid.is_empty()
                    || self.identity.is_some();
                if extra {
                    return Err(err(
                        "kind",
                        format!("{kind} is a validator in code; it takes only an optional url"),
                    ));
                }
            }
        }
        for (which, ms) in [("live", &self.live), ("invalid", &self.invalid)] {
            if ms.0.iter().any(ResponseMatch::is_empty) {
                return Err(err(which, "an empty matcher matches everything".into()));
            }
        }
        // Rate limiting and server errors say nothing about the secret; the
        // engine always reports them as unknown, so a rule must not claim them.
        for (which, ms) in [("live", &self.live), ("invalid", &self.invalid)] {
            let claimed = ms.0.iter().flat_map(|m| &m.status);
            if let Some(s) = claimed.into_iter().find(|s| **s == 429 || **s >= 500) {
                return Err(err(
                    which,
                    format!("status {s} cannot prove anything (rate limits and server errors are always unknown)"),
                ));
            }
        }
        Ok(())
    }

    /// The checks only a templated request needs.
    fn check_http(&self) -> Result<(), SpecError> {
        let err = |field: &str, problem: &str| SpecError::new(Section::Validate, field, problem);
        let method = self.method.as_deref().unwrap_or("GET");
        if !METHODS.contains(&method) {
            return Err(err(
                "method",
                &format!("{method:?} is not allowed (use GET, HEAD or POST: a check must not change anything)"),
            ));
        }
        if self.url.is_none() {
            return Err(err("url", "missing: an http validator needs a url"));
        }
        if self.body_count() > 1 {
            return Err(err("body", "give at most one of body, form and json"));
        }
        if self.live.is_empty() || self.invalid.is_empty() {
            return Err(err(
                "live/invalid",
                "needs both `live` and `invalid` answers (everything else is unknown)",
            ));
        }
        Ok(())
    }
}

/// Every template of a section parses.
fn check_templates(spec: &ValidateSpec, section: Section) -> Result<(), SpecError> {
    for (loc, t) in spec.templates() {
        Template::parse(t).map_err(|e| SpecError::new(section, loc, e.to_string()))?;
    }
    Ok(())
}

/// Header names are tokens and values hold no line breaks.
fn check_headers(headers: &BTreeMap<String, String>, section: Section) -> Result<(), SpecError> {
    for (name, value) in headers {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
            return Err(SpecError::new(
                section,
                format!("header {name:?}"),
                "invalid header name",
            ));
        }
        if value.contains(['\r', '\n']) {
            return Err(SpecError::new(
                section,
                format!("header {name}"),
                "contains a line break",
            ));
        }
    }
    Ok(())
}

fn json_strings<'a>(v: &'a Value, out: &mut Vec<(String, &'a str)>) {
    match v {
        Value::String(s) => out.push(("json".into(), s)),
        Value::Array(a) => a.iter().for_each(|x| json_strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| json_strings(x, out)),
        _ => {}
    }
}

/// A validator URL must be HTTPS and name its host literally, so that a
/// secret can only ever go to the host its rule names.
pub(crate) fn check_url(url: &str, section: Section) -> Result<(), SpecError> {
    let err = |problem: String| SpecError::new(section, "url", problem);
    let rest = url
        .strip_prefix("https://")
        .ok_or_else(|| err(format!("{url:?} must start with https://")))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let literal = match host_part(url) {
        Some(_) => authority.split_once("}}").map_or("", |(_, s)| s),
        None => authority,
    };
    let suffix_ok = host_part(url).is_none() || literal.matches('.').count() >= 2;
    if literal.is_empty() || literal.contains("{{") || authority.contains('@') || !suffix_ok {
        return Err(err(format!(
            "{url:?} must name its host literally (no placeholders or user info before the path), \
             or as one label from a part before the provider's own domain \
             (`https://{{{{parts.shop}}}}.myshopify.com/`)"
        )));
    }
    let t = Template::parse(url).map_err(|e| err(e.to_string()))?;
    let dummy: BTreeMap<String, String> = t.parts().map(|p| (p.to_string(), "x".into())).collect();
    let probe = t
        .render("x", &dummy, |_| "x".into())
        .map_err(|e| err(e.to_string()))?;
    url::Url::parse(&probe).map_err(|e| err(format!("{url:?}: {e}")))?;
    Ok(())
}

/// The part whose value is the first label of a URL's host
/// (`https://{{parts.site}}.atlassian.net/`), if the host starts with one:
/// the provider gives each customer a subdomain of its own domain, and the
/// value must be a single DNS label ([`is_host_label`]) when the request is
/// built, so the host stays under that domain.
pub(crate) fn host_part(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("https://")?.strip_prefix("{{parts.")?;
    let (name, after) = rest.split_once("}}")?;
    let ok = !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && after.starts_with('.');
    ok.then_some(name)
}

/// One DNS label: 1–63 letters, digits and inner hyphens.
pub(crate) fn is_host_label(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// One entry of a bundled validator file: which rules it serves and the
/// validator itself.
#[derive(Debug, Clone)]
pub struct ValidatorEntry {
    /// The entry's key in the file.
    pub name: String,
    /// Rule ids or globs (`openai-*`); defaults to the entry's name.
    pub rules: Vec<String>,
    /// Rule ids or globs left out.
    pub exclude: Vec<String>,
    pub spec: ValidateSpec,
}

impl ValidatorEntry {
    /// Whether the entry names `id` exactly (as opposed to by a glob).
    pub fn names_exactly(&self, id: &str) -> bool {
        self.rules.iter().any(|r| r == id)
    }

    pub fn selects(&self, id: &str) -> bool {
        self.rules.iter().any(|p| super::glob_match(p, id))
            && !self.exclude.iter().any(|p| super::glob_match(p, id))
    }
}

/// Parses a validator file: a map from entry name to a `validate:` section
/// plus optional `rules:` and `exclude:` lists.
///
/// # Errors
///
/// Fails naming the entry when it is not a map, its `rules` is not a list of
/// strings, or its section is malformed.
pub fn parse_validator_file(doc: &Value) -> Result<Vec<ValidatorEntry>, ValidatorFileError> {
    let map = doc.as_object().ok_or(ValidatorFileError::NotAMap)?;
    let mut out = Vec::new();
    for (name, v) in map {
        let mut obj = v
            .as_object()
            .cloned()
            .ok_or_else(|| ValidatorFileError::EntryNotAMap {
                entry: name.clone(),
            })?;
        let mut list = |key: &str| -> Result<Vec<String>, ValidatorFileError> {
            match obj.remove(key) {
                None => Ok(Vec::new()),
                Some(Value::String(s)) => Ok(vec![s]),
                Some(v) => serde_json::from_value(v).map_err(|_| ValidatorFileError::BadList {
                    entry: name.clone(),
                    key: key.to_string(),
                }),
            }
        };
        let mut rules = list("rules")?;
        let exclude = list("exclude")?;
        if rules.is_empty() {
            rules.push(name.clone());
        }
        let spec: ValidateSpec =
            serde_json::from_value(Value::Object(obj)).map_err(|e| ValidatorFileError::Syntax {
                entry: name.clone(),
                message: e.to_string(),
            })?;
        spec.check().map_err(|source| ValidatorFileError::Spec {
            entry: name.clone(),
            source,
        })?;
        out.push(ValidatorEntry {
            name: name.clone(),
            rules,
            exclude,
            spec,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_may_start_with_one_part_label_before_a_literal_domain() {
        let ok = "https://{{parts.shop}}.myshopify.com/admin/oauth/access_scopes.json";
        assert_eq!(host_part(ok), Some("shop"));
        assert!(check_url(ok, Section::Validate).is_ok());
        for bad in [
            "https://{{parts.shop}}.com/",
            "https://{{parts.shop}}/",
            "https://{{parts.a}}.{{parts.b}}.example.com/",
            "https://x.{{parts.shop}}.example.com/",
            "https://{{secret}}.example.com/",
            "https://{{parts.shop}}@evil.example.com/",
        ] {
            assert!(check_url(bad, Section::Validate).is_err(), "{bad}");
        }
        for label in ["acme", "acme-eng", "a1"] {
            assert!(is_host_label(label), "{label}");
        }
        for label in [
            "",
            "evil.com",
            "-x",
            "x-",
            "a/b",
            "a%2f",
            "a b",
            &"a".repeat(64),
        ] {
            assert!(!is_host_label(label), "{label:?}");
        }
    }
    use serde_json::json;

    fn spec(v: Value) -> Result<ValidateSpec, String> {
        let s: ValidateSpec = serde_json::from_value(v).map_err(|e| e.to_string())?;
        s.check().map_err(|e| e.to_string())?;
        Ok(s)
    }

    #[test]
    fn templates_parse_and_render() {
        let t = Template::parse("a{{secret}}b{{ parts.key_id }}c").unwrap();
        let parts = BTreeMap::from([("key_id".to_string(), "K/1".to_string())]);
        assert_eq!(
            t.render("s s", &parts, |v| v.replace(' ', "%20")).unwrap(),
            "as%20sbK/1c"
        );
        assert_eq!(t.parts().collect::<Vec<_>>(), ["key_id"]);
        assert_eq!(
            t.render("s", &BTreeMap::new(), |v| v.to_string()),
            Err(MissingPart("key_id".to_string()))
        );
        assert!(Template::parse("{{secret").is_err());
        assert!(Template::parse("{{parts.}}").is_err());
        assert!(Template::parse("{{env.HOME}}").is_err());
    }

    #[test]
    fn url_must_be_https_with_literal_host() {
        let base = |url: &str| json!({"url": url, "live": {"status": [200]}, "invalid": {"status": [401]}});
        assert!(spec(base("https://api.example.com/v1/{{secret}}")).is_ok());
        assert!(spec(base("http://api.example.com/"))
            .unwrap_err()
            .contains("https://"));
        assert!(spec(base("https://{{parts.host}}/x"))
            .unwrap_err()
            .contains("literally"));
        assert!(spec(base("https://evil.test@api.example.com/")).is_err());
    }

    #[test]
    fn checks_reject_unsafe_or_meaningless_sections() {
        let ok = json!({"url": "https://a.test/", "live": {"status": [200]}, "invalid": {"status": [401]}});
        assert!(spec(ok.clone()).is_ok());
        let mut v = ok.clone();
        v["method"] = json!("DELETE");
        assert!(spec(v).unwrap_err().contains("not allowed"));
        let mut v = ok.clone();
        v["invalid"] = json!({"status": [401, 503]});
        assert!(spec(v).unwrap_err().contains("503"));
        let mut v = ok.clone();
        v["live"] = json!([{}]);
        assert!(spec(v).unwrap_err().contains("empty"));
        let mut v = ok.clone();
        v["body"] = json!("x");
        v["form"] = json!({"a": "b"});
        assert!(spec(v).unwrap_err().contains("at most one"));
        let mut v = ok.clone();
        v.as_object_mut().unwrap().remove("invalid");
        assert!(spec(v).is_err());
        let mut v = ok.clone();
        v["surprise"] = json!(1);
        assert!(spec(v).is_err(), "unknown fields are rejected");
        assert!(spec(json!({"kind": "aws"})).is_ok());
        assert!(spec(json!({"kind": "aws", "headers": {"a": "b"}})).is_err());
    }

    #[test]
    fn matchers_combine_all_of_keys_any_of_lists() {
        let m: Matchers = serde_json::from_value(json!([
            {"status": [200], "json": {"ok": true}},
            {"status": [403], "body_contains": ["SERVICE_DISABLED", "API_KEY_SERVICE_BLOCKED"]}
        ]))
        .unwrap();
        assert!(m.matches(200, "", Some(&json!({"ok": true}))));
        assert!(!m.matches(200, "", Some(&json!({"ok": false}))));
        assert!(!m.matches(200, "not json", None));
        assert!(m.matches(403, "x API_KEY_SERVICE_BLOCKED y", None));
        assert!(!m.matches(403, "forbidden", None));
        let one: Matchers = serde_json::from_value(json!({
            "json": {"error": ["invalid_auth", "token_revoked"], "user": {"exists": false}}
        }))
        .unwrap();
        assert!(one.matches(200, "", Some(&json!({"error": "token_revoked"}))));
        assert!(!one.matches(
            200,
            "",
            Some(&json!({"error": "token_revoked", "user": "u"}))
        ));
        assert!(!one.matches(200, "", Some(&json!({"error": "ratelimited"}))));
    }

    #[test]
    fn validator_file_entries() {
        let doc = json!({
            "openai": {"rules": ["openai-*"], "exclude": ["openai-org-id"],
                       "url": "https://api.openai.com/v1/models",
                       "live": {"status": [200]}, "invalid": {"status": [401]}},
            "openai-admin-key": {"url": "https://api.openai.com/v1/organization/users",
                       "live": {"status": [200]}, "invalid": {"status": [401]}}
        });
        let entries = parse_validator_file(&doc).unwrap();
        let wide = entries.iter().find(|e| e.name == "openai").unwrap();
        assert!(wide.selects("openai-project-key"));
        assert!(!wide.selects("openai-org-id"));
        let exact = entries
            .iter()
            .find(|e| e.name == "openai-admin-key")
            .unwrap();
        assert!(exact.names_exactly("openai-admin-key"));
        let bad = json!({"x": {"rules": [1], "url": "https://a.test/"}});
        assert!(parse_validator_file(&bad)
            .unwrap_err()
            .to_string()
            .starts_with("entry x:"));
    }
}
