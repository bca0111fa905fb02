//! Analysis: for a live secret, who it belongs to and what it can do —
//! identity, scopes or permissions, expiry, and a blast-radius severity.
//!
//! Analyzers are data (`rules/analyzers/<provider>.yml`, parsed by
//! [`crate::rules::AnalyzeSpec`]): one documented read-only request and
//! where in the answer each fact is (or in the claims of a token the answer
//! carries). AWS and GCP keys are not bearer tokens, so their analyzers are
//! code ([`aws`](self), [`gcp`](self)) built on the validators' signing.
//! PyPI tokens carry their restrictions as macaroon caveats: that analyzer
//! ([`pypi`](self)) is offline and sends nothing, so it also runs on
//! secrets no validator confirmed (it says what the token would allow, not
//! that it is live).
//!
//! # Safety
//!
//! Requests go through the validation engine: the same guarded client,
//! literal HTTPS hosts, `--endpoint` overrides, rate limits and timeouts.
//! Every request is a read (GET, HEAD, or a POST the provider documents as
//! a read); analyzer files cannot name another method. Only bundled rules
//! get analyzers. Nothing read from an answer may hold the secret: every
//! value is scrubbed, stripped of control characters and bounded.

mod aws;
mod gcp;
mod http;
mod pypi;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde::Serialize;

use crate::finding::{Analysis, Finding, ValidationStatus};
use crate::net::scrub;
use crate::rules::{bundled_analyzer_for, AnalyzeSpec, AnalyzerKind, Rule, RuleSet};
use crate::validate::Validator;

pub use http::read_answer;

/// Why one secret could not be analyzed. Never quotes the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnalyzeError {
    #[error("no analyzer for rule {0}")]
    NoAnalyzer(String),
    #[error("needs the {0} found with the secret, and none was found near it")]
    MissingPart(String),
    /// The request could not be built or no usable answer came.
    #[error("{0}")]
    Request(String),
    /// The provider answered with something other than success.
    #[error("HTTP {status}{}", if said.is_empty() { String::new() } else { format!(": {said}") })]
    Status { status: u16, said: String },
}

impl From<crate::validate::CallError> for AnalyzeError {
    fn from(e: crate::validate::CallError) -> Self {
        match e {
            crate::validate::CallError::Status { status, said } => {
                AnalyzeError::Status { status, said }
            }
            other => AnalyzeError::Request(other.to_string()),
        }
    }
}

/// Counts for the summary.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct AnalysisSummary {
    /// Distinct live secrets analyzed, and those whose analysis failed.
    pub analyzed: usize,
    pub failed: usize,
    /// Live findings whose rule has no analyzer.
    pub no_analyzer: usize,
    /// Analyzed findings by severity.
    pub by_severity: BTreeMap<String, usize>,
}

impl std::fmt::Display for AnalysisSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} analyzed, {} failed", self.analyzed, self.failed)?;
        for (s, n) in &self.by_severity {
            write!(f, ", {n} {s}")?;
        }
        Ok(())
    }
}

/// The analyzer a rule gets: bundled rules only, as with validators, so a
/// rule file from elsewhere cannot choose where a secret is sent.
pub fn analyzer_for(rule: &Rule) -> Option<&'static AnalyzeSpec> {
    if !rule.builtin {
        return None;
    }
    bundled_analyzer_for(rule.id()).map(|e| &e.spec)
}

/// Whether a rule has an analyzer.
pub fn has_analyzer(rule: &Rule) -> bool {
    analyzer_for(rule).is_some()
}

/// Analyzes live secrets through a [`Validator`]'s client. Build once per run.
pub struct Analyzer<'a> {
    validator: &'a Validator,
}

impl<'a> Analyzer<'a> {
    pub fn new(validator: &'a Validator) -> Analyzer<'a> {
        Analyzer { validator }
    }

    /// Analyzes one secret. Does not check that it is live: a dead secret
    /// gets an error from the provider.
    ///
    /// # Errors
    ///
    /// No analyzer for the rule, a missing part, no usable answer.
    pub fn analyze(
        &self,
        rule: &Rule,
        secret: &str,
        parts: &BTreeMap<String, String>,
    ) -> Result<Analysis, AnalyzeError> {
        let spec = analyzer_for(rule).ok_or_else(|| AnalyzeError::NoAnalyzer(rule.id().into()))?;
        let a = match spec.kind {
            AnalyzerKind::Http => http::run(self.validator, &rule.provider, spec, secret, parts),
            AnalyzerKind::Aws => aws::run(self.validator, &rule.provider, spec, secret, parts),
            AnalyzerKind::Gcp => gcp::run(self.validator, &rule.provider, spec, secret, parts),
            AnalyzerKind::PypiMacaroon => pypi::run(spec, secret),
        };
        a.map(|a| clean(a, secret)).map_err(|e| match e {
            AnalyzeError::Request(m) => AnalyzeError::Request(scrub(&m, secret)),
            AnalyzeError::Status { status, said } => AnalyzeError::Status {
                status,
                said: scrub(&said, secret),
            },
            e => e,
        })
    }

    /// Sets `analysis` on every finding validated live whose rule has an
    /// analyzer, and on every finding not shown invalid whose analyzer is
    /// offline. Each distinct (rule, secret, parts) is analyzed once, on up
    /// to the validator's concurrency of threads.
    pub fn analyze_findings(&self, rules: &RuleSet, findings: &mut [Finding]) -> AnalysisSummary {
        let mut summary = AnalysisSummary::default();
        let mut index: HashMap<Key<'_>, usize> = HashMap::new();
        let mut jobs: Vec<(&Rule, Key<'_>)> = Vec::new();
        let mut job_of: Vec<Option<usize>> = Vec::with_capacity(findings.len());
        for f in findings.iter() {
            let status = f.annotations.validation.as_ref().map(|v| v.status);
            let rule = rules.get(&f.rule.id).filter(|r| match status {
                Some(ValidationStatus::Live) => true,
                Some(ValidationStatus::Invalid) => false,
                _ => analyzer_for(r).is_some_and(AnalyzeSpec::is_offline),
            });
            match rule {
                Some(rule) if has_analyzer(rule) => {
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
                }
                Some(_) => {
                    summary.no_analyzer += 1;
                    job_of.push(None);
                }
                None => job_of.push(None),
            }
        }
        let results = self.run_jobs(&jobs);
        for r in &results {
            if r.error.is_some() {
                summary.failed += 1;
            } else {
                summary.analyzed += 1;
            }
        }
        for (f, j) in findings.iter_mut().zip(job_of) {
            if let Some(j) = j {
                let a = results[j].clone();
                if let Some(s) = a.severity {
                    *summary.by_severity.entry(s.to_string()).or_default() += 1;
                }
                f.annotations.analysis = Some(a);
            }
        }
        summary
    }

    fn run_jobs(&self, jobs: &[(&Rule, Key<'_>)]) -> Vec<Analysis> {
        let results: Vec<Mutex<Option<Analysis>>> = jobs.iter().map(|_| Mutex::new(None)).collect();
        let next = AtomicUsize::new(0);
        let workers = self.validator.concurrency().min(jobs.len());
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((rule, (_, secret, parts))) = jobs.get(i) else {
                        break;
                    };
                    let a = self
                        .analyze(rule, secret, parts)
                        .unwrap_or_else(|e| Analysis::failed(e.to_string()));
                    *results[i].lock().unwrap() = Some(a);
                });
            }
        });
        results
            .into_iter()
            .map(|m| m.into_inner().unwrap().unwrap_or_default())
            .collect()
    }
}

/// One distinct secret: rule id, secret, parts.
type Key<'k> = (&'k str, &'k str, &'k BTreeMap<String, String>);

/// Longest identity, scope and expiry kept, and most scopes.
const MAX_TEXT: usize = 200;
const MAX_SCOPES: usize = 200;

/// Scrubs, strips control characters and bounds what an answer gave, so a
/// hostile or confused provider cannot put the secret or terminal escapes
/// into a report.
fn clean(mut a: Analysis, secret: &str) -> Analysis {
    let fix = |s: &str| -> String {
        let s: String = scrub(s, secret)
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_TEXT)
            .collect();
        s.trim().to_string()
    };
    a.identity = a.identity.map(|s| fix(&s)).filter(|s| !s.is_empty());
    a.expires = a.expires.map(|s| fix(&s)).filter(|s| !s.is_empty());
    a.error = a.error.map(|s| fix(&s));
    let mut scopes: Vec<String> = a
        .scopes
        .iter()
        .map(|s| fix(s))
        .filter(|s| !s.is_empty())
        .collect();
    let mut seen = std::collections::HashSet::new();
    scopes.retain(|s| seen.insert(s.clone()));
    scopes.truncate(MAX_SCOPES);
    a.scopes = scopes;
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_scrubs_bounds_and_dedupes() {
        let secret = "sk_live_0123456789abcdef";
        let a = Analysis {
            identity: Some(format!("owner {secret}\u{1b}[31m")),
            scopes: vec!["repo".into(), "repo".into(), " ".into(), "x".repeat(500)],
            ..Analysis::default()
        };
        let c = clean(a, secret);
        let id = c.identity.unwrap();
        assert!(!id.contains(secret) && !id.contains('\u{1b}'), "{id}");
        assert_eq!(c.scopes.len(), 2);
        assert_eq!(c.scopes[1].chars().count(), MAX_TEXT);
    }

    #[test]
    fn every_bundled_analyzer_parses_and_names_real_rules() {
        let all = crate::rules::bundled_analyzers().unwrap();
        let set = RuleSet::builtin();
        for e in all {
            for id in e.rules.iter().filter(|r| !r.contains('*')) {
                assert!(
                    set.get(id).is_some(),
                    "{} entry {}: no rule {id}",
                    e.file,
                    e.name
                );
            }
            assert!(
                set.rules().iter().any(|r| e.selects(r.id())),
                "{} entry {} selects no rule",
                e.file,
                e.name
            );
        }
    }
}
