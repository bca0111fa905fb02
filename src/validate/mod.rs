//! Live validation: asks each secret's provider whether the secret works.
//!
//! A finding's rule carries a `validate:` section (inline or from a bundled
//! `rules/validators/<provider>.yml`): either a templated HTTP request
//! ([`http`](self)) or the name of a validator in code (AWS, GCP). The engine
//! checks each distinct (rule, secret, parts) once per run, on a small pool of
//! threads, with a per-host rate limit, a timeout, and one retry on 429/5xx.
//!
//! # Safety
//!
//! A secret goes only to the host its rule names (URL hosts are literal, or
//! one DNS label from a part before the provider's literal domain, and
//! redirects are not followed), over HTTPS, and never to a loopback, private,
//! link-local, unique-local or CGNAT address unless
//! [`ValidateOptions::allow_internal`] is set. `--endpoint PROVIDER=URL`
//! overrides are the user's own choice of host. Validators of rules loaded
//! from outside keysweep run only with
//! [`ValidateOptions::trust_rule_validators`].
//!
//! # Honesty
//!
//! `invalid` is reported only when the provider said so. Timeouts, DNS, TLS,
//! refused addresses, rate limits, server errors and answers no rule explains
//! are `unknown`, with the reason.

pub(crate) mod aws;
mod gcp;
pub(crate) mod http;
use crate::net::{self, scrub};

pub use crate::net::internal_kind;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use url::Url;

use crate::finding::{Finding, Validation, ValidationStatus};
use crate::rules::{Rule, RuleSet, ValidatorKind};

/// How validation runs.
#[derive(Debug, Clone)]
pub struct ValidateOptions {
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Time allowed for one request, connection and answer included.
    pub timeout: Duration,
    /// Permit loopback, private, link-local, unique-local and CGNAT addresses,
    /// and plain HTTP to them (self-hosted providers, tests).
    pub allow_internal: bool,
    /// Run validators of rules loaded from outside keysweep (`--rules`).
    pub trust_rule_validators: bool,
    /// Provider name (a rule file's stem) → base URL replacing the scheme,
    /// host and port of that provider's validator URLs; a path in the base is
    /// put before the rule's path. From `--endpoint` and the config file.
    pub endpoints: HashMap<String, String>,
    /// Least time between two requests to one host.
    pub per_host_interval: Duration,
    /// Pause before the retry of a 429 or 5xx answer (a `Retry-After` of up
    /// to 5 s is honoured when longer).
    pub retry_backoff: Duration,
}

impl Default for ValidateOptions {
    fn default() -> Self {
        ValidateOptions {
            concurrency: 8,
            timeout: Duration::from_secs(10),
            allow_internal: false,
            trust_rule_validators: false,
            endpoints: HashMap::new(),
            per_host_interval: Duration::from_millis(100),
            retry_backoff: Duration::from_millis(500),
        }
    }
}

/// A bad validation option. Display names the option.
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    #[error("endpoint {provider}={url}: {message}")]
    Endpoint {
        provider: String,
        url: String,
        message: String,
    },
    #[error("validation concurrency must be at least 1")]
    Concurrency,
}

/// Why a validator's request could not be built. Display starts with the
/// part of the validator at fault; it never quotes the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("validator url: {0}")]
    Url(String),
    #[error("validator {0}")]
    Template(#[from] crate::rules::TemplateError),
    #[error("validator {0}")]
    MissingPart(#[from] crate::rules::MissingPart),
    #[error("header {0}: the secret contains a line break and cannot go into a header")]
    LineBreak(String),
}

/// Why no usable answer came back: a refused address, DNS, connection, TLS
/// or timeout failure, or a rate limit or server error that outlasted the
/// retry. Display is the network layer's reason, which names the host when
/// the host is what failed; the secret is scrubbed out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SendError(String);

/// Why a request made for a later stage (analysis) brought no usable
/// answer. Never quotes the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CallError {
    /// The request could not be built (a bad URL, an unusable key).
    #[error("{0}")]
    Build(String),
    /// Nothing usable came back: refused address, DNS, TLS, timeout, rate
    /// limit or server error.
    #[error("{0}")]
    Send(String),
    /// The provider answered, but not with what was asked for.
    #[error("HTTP {status}{}", if said.is_empty() { String::new() } else { format!(": {said}") })]
    Status { status: u16, said: String },
}

/// What validation did, for the summary.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct ValidationSummary {
    /// Findings by status.
    pub live: usize,
    pub invalid: usize,
    pub unknown: usize,
    pub not_checked: usize,
    /// Distinct (rule, secret) pairs checked with a provider.
    pub secrets_checked: usize,
    /// HTTP requests sent, retries included.
    pub requests: u64,
}

impl std::fmt::Display for ValidationSummary {
    /// `2 live, 1 invalid, 0 unknown, 0 not checked`, as summaries print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} live, {} invalid, {} unknown, {} not checked",
            self.live, self.invalid, self.unknown, self.not_checked
        )
    }
}

impl ValidationSummary {
    fn count(&mut self, status: ValidationStatus) {
        match status {
            ValidationStatus::Live => self.live += 1,
            ValidationStatus::Invalid => self.invalid += 1,
            ValidationStatus::Unknown => self.unknown += 1,
            ValidationStatus::NotChecked => self.not_checked += 1,
        }
    }
}

/// Checks secrets with their providers. Build once per run: it holds the
/// connection pools and the rate limiter.
pub struct Validator {
    opts: ValidateOptions,
    endpoints: HashMap<String, Url>,
    net: net::Net,
}

impl Validator {
    /// # Errors
    ///
    /// Fails when an endpoint override is not an `http(s)://host[:port][/path]`
    /// URL, or concurrency is zero.
    pub fn new(opts: ValidateOptions) -> Result<Validator, ValidateError> {
        if opts.concurrency == 0 {
            return Err(ValidateError::Concurrency);
        }
        let mut endpoints = HashMap::new();
        for (provider, raw) in &opts.endpoints {
            let err = |message: &str| ValidateError::Endpoint {
                provider: provider.clone(),
                url: raw.clone(),
                message: message.to_string(),
            };
            let url = Url::parse(raw).map_err(|e| err(&e.to_string()))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(err("must be an http:// or https:// URL"));
            }
            if url.host_str().is_none() {
                return Err(err("needs a host"));
            }
            if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
                return Err(err("give only scheme, host, port and an optional path"));
            }
            endpoints.insert(provider.clone(), url);
        }
        let net = net::Net::new(
            opts.timeout,
            opts.allow_internal,
            opts.per_host_interval,
            opts.retry_backoff,
        );
        Ok(Validator {
            opts,
            endpoints,
            net,
        })
    }

    /// Whether rules loaded from outside keysweep may send secrets
    /// (`--trust-rule-validators`); revocation honours it too.
    pub(crate) fn trusts_rule_validators(&self) -> bool {
        self.opts.trust_rule_validators
    }

    /// HTTP requests sent so far, retries included.
    pub fn requests(&self) -> u64 {
        self.net.requests()
    }

    /// Checks one secret with its rule's validator. Never fails: problems
    /// are an `unknown` or `not-checked` status with the reason. The detail
    /// never contains the secret; it may name a part (an identity such as a
    /// service account's email), which reports redact with the parts.
    pub fn check(&self, rule: &Rule, secret: &str, parts: &BTreeMap<String, String>) -> Validation {
        let mut v = self.check_unscrubbed(rule, secret, parts);
        v.detail = scrub(&v.detail, secret);
        v
    }

    fn check_unscrubbed(
        &self,
        rule: &Rule,
        secret: &str,
        parts: &BTreeMap<String, String>,
    ) -> Validation {
        let Some(spec) = &rule.spec.validate else {
            return Validation::not_checked("no validator for this rule");
        };
        if let Err(why) = rule.may_send_secrets(self.opts.trust_rule_validators) {
            return Validation::not_checked(format!("validator not run: {why}"));
        }
        for part in spec.required_parts() {
            if !parts.contains_key(&part) {
                return Validation::not_checked(format!(
                    "needs the {part} found with the secret, and none was found near it"
                ));
            }
        }
        let ctx = Ctx {
            v: self,
            provider: &rule.provider,
        };
        match spec.kind {
            ValidatorKind::Http => http::check(&ctx, spec, secret, parts),
            ValidatorKind::Aws => aws::check(&ctx, spec, secret, parts),
            ValidatorKind::Gcp => gcp::check(&ctx, spec, secret, parts),
        }
    }

    /// Builds the templated request of `spec` for a rule of `provider`, with
    /// that provider's endpoint override applied, without sending it.
    /// Revocation uses it for `revoke:` sections.
    ///
    /// # Errors
    ///
    /// A template that does not parse or names a missing part, a URL that
    /// does not parse, or a secret that cannot go into a header.
    pub(crate) fn build_request(
        &self,
        provider: &str,
        spec: &crate::rules::ValidateSpec,
        secret: &str,
        parts: &BTreeMap<String, String>,
    ) -> Result<net::Request, RequestError> {
        let ctx = Ctx { v: self, provider };
        http::build(&ctx, spec, secret, parts)
    }

    /// Requests in flight at once, for stages that run after validation
    /// (analysis) with the same limits.
    pub(crate) fn concurrency(&self) -> usize {
        self.opts.concurrency
    }

    /// A SigV4-signed AWS query-API call (`Action=…` form body) to `url` for
    /// `service`, with `provider`'s endpoint override applied.
    ///
    /// # Errors
    ///
    /// Why no answer came, never quoting the secret.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn aws_call(
        &self,
        provider: &str,
        url: &str,
        service: &str,
        body: &str,
        key_id: &str,
        secret: &str,
        session: Option<&str>,
    ) -> Result<net::Response, CallError> {
        let ctx = Ctx { v: self, provider };
        let url = ctx.url(url).map_err(|e| CallError::Build(e.to_string()))?;
        let req = aws::signed_request(url, service, body, key_id, secret, session);
        self.send(&req, secret)
            .map_err(|e| CallError::Send(e.to_string()))
    }

    /// A GCP service account's access token for `scope` (JWT-bearer grant),
    /// with `provider`'s endpoint override applied.
    ///
    /// # Errors
    ///
    /// An unusable key, no answer, or an answer without a token.
    pub(crate) fn gcp_token(
        &self,
        provider: &str,
        secret: &str,
        parts: &BTreeMap<String, String>,
        scope: &str,
    ) -> Result<String, CallError> {
        let ctx = Ctx { v: self, provider };
        let req = gcp::token_request(&ctx, gcp::TOKEN_URL, secret, parts, scope)
            .map_err(|e| CallError::Build(scrub(&e.to_string(), secret)))?;
        let resp = self
            .send(&req, secret)
            .map_err(|e| CallError::Send(e.to_string()))?;
        let json: Option<serde_json::Value> = serde_json::from_str(&resp.body).ok();
        json.as_ref()
            .and_then(|j| j.get("access_token"))
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
            .ok_or(CallError::Status {
                status: resp.status,
                said: net::provider_message(&resp.body, json.as_ref()).unwrap_or_default(),
            })
    }

    /// Sends a request through the address guard and rate limiter.
    ///
    /// # Errors
    ///
    /// Why no usable answer came ([`SendError`]); never quotes `secret`.
    pub(crate) fn send(
        &self,
        req: &net::Request,
        secret: &str,
    ) -> Result<net::Response, SendError> {
        self.net
            .send(req)
            .map_err(|e| SendError(scrub(&e.to_string(), secret)))
    }

    /// Sets `validation` on every finding. Each distinct (rule, secret,
    /// parts) is checked once, however many findings share it, on up to
    /// `concurrency` threads.
    pub fn validate_findings(
        &self,
        rules: &RuleSet,
        findings: &mut [Finding],
    ) -> ValidationSummary {
        let by_id: HashMap<&str, &Rule> = rules.rules().iter().map(|r| (r.id(), r)).collect();
        type Key<'a> = (&'a str, &'a str, &'a BTreeMap<String, String>);
        let mut index: HashMap<Key<'_>, usize> = HashMap::new();
        let mut jobs: Vec<(&Rule, Key<'_>)> = Vec::new();
        let mut job_of: Vec<Option<usize>> = Vec::with_capacity(findings.len());
        let mut fixed: Vec<Option<Validation>> = Vec::with_capacity(findings.len());
        for f in findings.iter() {
            let rule = by_id.get(f.rule.id.as_str());
            match rule {
                Some(rule) if rule.spec.validate.is_some() => {
                    let key = (
                        f.rule.id.as_str(),
                        f.matched.secret.as_str(),
                        &f.matched.parts,
                    );
                    let next = jobs.len();
                    let j = *index.entry(key).or_insert(next);
                    if j == next {
                        jobs.push((rule, key));
                    }
                    job_of.push(Some(j));
                    fixed.push(None);
                }
                Some(_) => {
                    job_of.push(None);
                    fixed.push(Some(Validation::not_checked("no validator for this rule")));
                }
                None => {
                    job_of.push(None);
                    fixed.push(Some(Validation::not_checked("rule not loaded")));
                }
            }
        }

        let results: Vec<Mutex<Option<Validation>>> =
            jobs.iter().map(|_| Mutex::new(None)).collect();
        let next = AtomicUsize::new(0);
        let workers = self.opts.concurrency.min(jobs.len());
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((rule, (_, secret, parts))) = jobs.get(i) else {
                        break;
                    };
                    let v = self.check(rule, secret, parts);
                    *results[i].lock().unwrap() = Some(v);
                });
            }
        });
        let results: Vec<Validation> = results
            .into_iter()
            .map(|m| m.into_inner().unwrap().unwrap_or_default())
            .collect();

        let mut summary = ValidationSummary {
            secrets_checked: results
                .iter()
                .filter(|v| v.status != ValidationStatus::NotChecked)
                .count(),
            requests: self.requests(),
            ..ValidationSummary::default()
        };
        for ((f, j), fixed) in findings.iter_mut().zip(job_of).zip(fixed) {
            let v = match j {
                Some(j) => results[j].clone(),
                None => fixed.unwrap_or_default(),
            };
            summary.count(v.status);
            f.annotations.validation = Some(v);
        }
        summary
    }
}

/// What a validator needs from the engine: URLs with overrides applied, and
/// a guarded, rate-limited sender.
pub(crate) struct Ctx<'a> {
    v: &'a Validator,
    provider: &'a str,
}

impl Ctx<'_> {
    /// Parses a validator URL and applies the provider's endpoint override.
    pub fn url(&self, raw: &str) -> Result<Url, RequestError> {
        let mut url = Url::parse(raw).map_err(|e| RequestError::Url(e.to_string()))?;
        if let Some(base) = self.v.endpoints.get(self.provider) {
            apply_endpoint(&mut url, base);
        }
        Ok(url)
    }

    /// The detail of a [`SendError`] is scrubbed by [`Validator::check`].
    pub fn send(&self, req: &net::Request) -> Result<net::Response, SendError> {
        self.v.net.send(req).map_err(|e| SendError(e.to_string()))
    }
}

/// Replaces scheme, host and port of `url` with those of `base`, and puts
/// `base`'s path (if any) in front of `url`'s path.
fn apply_endpoint(url: &mut Url, base: &Url) {
    // Built as a string: `Url::set_scheme` refuses some special-scheme moves.
    let mut s = format!(
        "{}://{}",
        base.scheme(),
        base.host_str().unwrap_or_default()
    );
    if let Some(p) = base.port() {
        s.push_str(&format!(":{p}"));
    }
    s.push_str(base.path().trim_end_matches('/'));
    s.push_str(url.path());
    if let Some(q) = url.query() {
        s.push('?');
        s.push_str(q);
    }
    if let Ok(u) = Url::parse(&s) {
        *url = u;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_override_replaces_origin_and_prefixes_path() {
        let mut u = Url::parse("https://api.github.com/user?x=1").unwrap();
        apply_endpoint(&mut u, &Url::parse("http://127.0.0.1:8080").unwrap());
        assert_eq!(u.as_str(), "http://127.0.0.1:8080/user?x=1");
        let mut u = Url::parse("https://api.github.com/user").unwrap();
        apply_endpoint(
            &mut u,
            &Url::parse("https://ghe.example.com/api/v3/").unwrap(),
        );
        assert_eq!(u.as_str(), "https://ghe.example.com/api/v3/user");
    }

    #[test]
    fn bad_endpoints_are_rejected() {
        let with = |url: &str| {
            Validator::new(ValidateOptions {
                endpoints: HashMap::from([("github".to_string(), url.to_string())]),
                ..ValidateOptions::default()
            })
        };
        assert!(with("https://ghe.example.com/api/v3").is_ok());
        assert!(with("ftp://x.test").is_err());
        assert!(with("not a url").is_err());
        assert!(with("https://x.test/?token=1").is_err());
    }
}
