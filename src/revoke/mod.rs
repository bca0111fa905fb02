//! Revocation: turns a live leaked secret into a dead one through a
//! configured broker (`[revoke]` in `keysweep.toml`). See `docs/revocation.md`.
//!
//! Policy comes first: only rules matching `[revoke] rules`, only findings
//! validated live unless `require = "any"`, never a fingerprint the audit log
//! already records as revoked. The first broker that accepts a finding
//! handles it. In dry-run mode (the default) nothing is sent: each finding
//! gets `would-revoke` with the exact call. In enforce mode every attempt is
//! written to the audit log before the next one, and a revocation is checked
//! by validating the secret again where a validator exists.
//!
//! Failure never loses findings: a broker that is down, slow or answers
//! garbage gives that finding a `failed` revocation, and nothing else changes.
//!
//! # Safety
//!
//! Every request goes through the validation engine's guarded client (the
//! address guard, `--allow-internal`, timeouts) and the provider endpoint
//! overrides. Details, dry-run lines and the audit log never hold the secret.

pub mod audit;
mod command;
mod http;
pub mod policy;
mod provider;
mod vault;

pub use provider::{bundled_entries, has_revoker, parse_revoker_file, RevokerFileError};

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Serialize;

use crate::finding::{Finding, Revocation, RevocationStatus, ValidationStatus};
use crate::net::scrub;
use crate::rules::{Rule, RuleSet};
use crate::validate::Validator;
use audit::{AuditEntry, AuditLog};
pub use policy::{Broker, RevokeConfig, RevokeMode, RevokeRequire};

/// How revocation runs: the `[revoke]` table with paths resolved.
#[derive(Debug, Clone)]
pub struct RevokeOptions {
    pub config: RevokeConfig,
    /// The audit log, absolute or relative to the working directory.
    pub audit_log: Option<PathBuf>,
    /// Where relative command paths start (the config file's directory).
    pub base_dir: PathBuf,
}

/// A bad `[revoke]` setting or an unusable audit log.
#[derive(Debug, thiserror::Error)]
pub enum RevokeError {
    #[error("[revoke] rules: {0}")]
    Glob(String),
    #[error("[revoke]: no [[revoke.broker]] configured: nothing could revoke a secret")]
    NoBroker,
    #[error("{path}: audit log: {source}")]
    Audit {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Counts by revocation status, and the failures in words.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct RevokeSummary {
    pub would_revoke: usize,
    pub revoked: usize,
    pub revoked_confirmed: usize,
    pub revoke_unconfirmed: usize,
    pub failed: usize,
    pub skipped: usize,
    /// `rule at path:line: detail` for each failed or unconfirmed revocation.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<String>,
}

impl RevokeSummary {
    /// Whether some revocation failed or could not be confirmed.
    pub fn has_failures(&self) -> bool {
        self.failed + self.revoke_unconfirmed > 0
    }

    fn count(&mut self, f: &Finding, r: &Revocation) {
        match r.status {
            RevocationStatus::WouldRevoke => self.would_revoke += 1,
            RevocationStatus::Revoked => self.revoked += 1,
            RevocationStatus::RevokedConfirmed => self.revoked_confirmed += 1,
            RevocationStatus::RevokeUnconfirmed => self.revoke_unconfirmed += 1,
            RevocationStatus::Failed => self.failed += 1,
            RevocationStatus::Skipped => self.skipped += 1,
        }
        if r.status.is_failure() {
            self.failures.push(format!(
                "{} at {}: {} ({})",
                f.rule.id,
                location(f),
                r.detail,
                r.broker
            ));
        }
    }
}

/// What a broker answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    Revoked,
    NotFound,
    Failed,
}

/// One attempt's result, for the finding and the audit log.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub answer: Answer,
    pub http_status: Option<u16>,
    pub reference: Option<String>,
    pub detail: String,
}

impl Outcome {
    pub fn failed(detail: impl Into<String>, http_status: Option<u16>) -> Outcome {
        Outcome {
            answer: Answer::Failed,
            http_status,
            reference: None,
            detail: detail.into(),
        }
    }
}

/// What one broker needs to act on one finding.
pub(crate) struct Job<'a> {
    pub finding: &'a Finding,
    pub rule: Option<&'a Rule>,
    pub validator: &'a Validator,
    pub base_dir: &'a std::path::Path,
}

/// Revokes findings' secrets according to a policy. Build once per run.
pub struct Revoker<'a> {
    opts: RevokeOptions,
    rules: GlobSet,
    validator: &'a Validator,
    ruleset: &'a RuleSet,
    audit: Option<AuditLog>,
    already: HashSet<String>,
    /// Lines describing dry-run calls, for the user (never the secret).
    pub plan: Vec<String>,
}

impl<'a> Revoker<'a> {
    /// # Errors
    ///
    /// Fails on a bad rule glob, no broker, or (in enforce mode) an audit
    /// log that cannot be read or opened.
    pub fn new(
        opts: RevokeOptions,
        validator: &'a Validator,
        ruleset: &'a RuleSet,
    ) -> Result<Revoker<'a>, RevokeError> {
        if opts.config.broker.is_empty() {
            return Err(RevokeError::NoBroker);
        }
        let mut b = GlobSetBuilder::new();
        for g in &opts.config.rules {
            b.add(Glob::new(g).map_err(|e| RevokeError::Glob(e.to_string()))?);
        }
        let rules = b.build().map_err(|e| RevokeError::Glob(e.to_string()))?;
        let audit_err = |path: &PathBuf| {
            let path = path.clone();
            move |source| RevokeError::Audit { path, source }
        };
        let already = match &opts.audit_log {
            Some(p) => audit::revoked_fingerprints(p).map_err(audit_err(p))?,
            None => HashSet::new(),
        };
        let audit = match (&opts.audit_log, opts.config.mode) {
            (Some(p), RevokeMode::Enforce) => Some(AuditLog::open(p).map_err(audit_err(p))?),
            _ => None,
        };
        Ok(Revoker {
            opts,
            rules,
            validator,
            ruleset,
            audit,
            already,
            plan: Vec::new(),
        })
    }

    /// Whether this run only describes what it would do.
    pub fn dry_run(&self) -> bool {
        self.opts.config.mode == RevokeMode::DryRun
    }

    /// Sets `revocation` on every finding. A secret found at several places
    /// with one fingerprint is sent once; the others share the outcome.
    ///
    /// # Errors
    ///
    /// Only when the audit log cannot be written: going on would revoke
    /// secrets without a record.
    pub fn revoke_findings(
        &mut self,
        findings: &mut [Finding],
    ) -> Result<RevokeSummary, RevokeError> {
        let mut summary = RevokeSummary::default();
        let mut done: HashMap<String, Revocation> = HashMap::new();
        for f in findings.iter_mut() {
            let r = match done.get(&f.matched.fingerprint) {
                Some(r) => r.clone(),
                None => {
                    let r = self.revoke_one(f)?;
                    done.insert(f.matched.fingerprint.clone(), r.clone());
                    r
                }
            };
            summary.count(f, &r);
            f.annotations.revocation = Some(r);
        }
        Ok(summary)
    }

    fn skipped(detail: impl Into<String>) -> Revocation {
        Revocation {
            status: RevocationStatus::Skipped,
            broker: String::new(),
            detail: detail.into(),
        }
    }

    fn revoke_one(&mut self, f: &Finding) -> Result<Revocation, RevokeError> {
        if let Some(why) = self.policy_refuses(f) {
            return Ok(Self::skipped(why));
        }
        let rule = self.ruleset.get(&f.rule.id);
        let job = Job {
            finding: f,
            rule,
            validator: self.validator,
            base_dir: &self.opts.base_dir,
        };
        let cfg = &self.opts.config;
        let Some((i, broker)) = cfg
            .broker
            .iter()
            .enumerate()
            .find(|(_, b)| accepts(b, &job))
        else {
            return Ok(Self::skipped(format!(
                "no configured broker handles rule {}",
                f.rule.id
            )));
        };
        let broker = broker.clone();
        let name = format!("{} #{}", kind(&broker), i + 1);
        if self.dry_run() {
            let (revocation, plan) = Self::plan_call(&broker, &job, name);
            self.plan.extend(plan);
            return Ok(revocation);
        }

        let mut out = run(&broker, &job);
        out.detail = scrub(&out.detail, &f.matched.secret);
        if let Some(r) = &mut out.reference {
            *r = scrub(r, &f.matched.secret);
        }
        let entry = AuditEntry {
            time: now(),
            fingerprint: f.matched.fingerprint.clone(),
            rule: f.rule.id.clone(),
            location: location(f),
            broker: name.clone(),
            outcome: match out.answer {
                Answer::Revoked => "revoked",
                Answer::NotFound => "not-found",
                Answer::Failed => "failed",
            }
            .into(),
            http_status: out.http_status,
            reference: out.reference.clone(),
            detail: out.detail.clone(),
        };
        self.audit_append(&entry)?;
        let with_ref = |d: &str| match &out.reference {
            Some(r) => format!("{d} (reference {r})"),
            None => d.to_string(),
        };
        let (status, detail) = match out.answer {
            Answer::Revoked => self.confirm_revoked(rule, f, with_ref(&out.detail), entry)?,
            Answer::NotFound => (
                RevocationStatus::Failed,
                with_ref(&format!("broker does not know this secret: {}", out.detail)),
            ),
            Answer::Failed => (RevocationStatus::Failed, with_ref(&out.detail)),
        };
        Ok(Revocation {
            status,
            broker: name,
            detail,
        })
    }

    /// Why the policy leaves `f` alone: its rule is not allowed, it is not
    /// proved live when that is required, or it was revoked before.
    fn policy_refuses(&self, f: &Finding) -> Option<String> {
        if !self.rules.is_match(&f.rule.id) {
            return Some(format!("rule {} is not in [revoke] rules", f.rule.id));
        }
        if self.opts.config.require == RevokeRequire::Live {
            let status = f.annotations.validation.as_ref().map(|v| v.status);
            if status != Some(ValidationStatus::Live) {
                let was =
                    status.map_or("not validated".to_string(), |s| format!("validation: {s}"));
                return Some(format!(
                    "not validated live ({was}); require = \"any\" revokes without proof"
                ));
            }
        }
        if self.already.contains(&f.matched.fingerprint) {
            return Some("already revoked: the audit log records a successful revocation".into());
        }
        None
    }

    /// Dry run: the call that would be made, and the plan line saying so;
    /// nothing is sent.
    fn plan_call(broker: &Broker, job: &Job<'_>, name: String) -> (Revocation, Option<String>) {
        let f = job.finding;
        let call = match describe(broker, job) {
            Ok(c) => scrub(&c, &f.matched.secret),
            Err(e) => {
                let failed = Revocation {
                    status: RevocationStatus::Failed,
                    broker: name,
                    detail: scrub(&e.to_string(), &f.matched.secret),
                };
                return (failed, None);
            }
        };
        let plan = format!(
            "would call {call} (broker {name}) for {} at {}",
            f.rule.id,
            location(f)
        );
        let planned = Revocation {
            status: RevocationStatus::WouldRevoke,
            broker: name,
            detail: call,
        };
        (planned, Some(plan))
    }

    fn audit_append(&mut self, entry: &AuditEntry) -> Result<(), RevokeError> {
        if let Some(log) = &mut self.audit {
            log.append(entry).map_err(|source| RevokeError::Audit {
                path: log.path().to_path_buf(),
                source,
            })?;
        }
        Ok(())
    }

    /// After a broker's "revoked": validates again where possible. A key
    /// that still answers is logged unconfirmed so the next run tries again.
    fn confirm_revoked(
        &mut self,
        rule: Option<&Rule>,
        f: &Finding,
        detail: String,
        entry: AuditEntry,
    ) -> Result<(RevocationStatus, String), RevokeError> {
        let (status, detail) = self.confirm(rule, f, detail);
        if status == RevocationStatus::RevokeUnconfirmed {
            let again = AuditEntry {
                outcome: audit::UNCONFIRMED.into(),
                detail: detail.clone(),
                ..entry
            };
            self.audit_append(&again)?;
        } else {
            self.already.insert(f.matched.fingerprint.clone());
        }
        Ok((status, detail))
    }

    /// Validates a revoked secret again where its rule has a validator.
    fn confirm(
        &self,
        rule: Option<&Rule>,
        f: &Finding,
        detail: String,
    ) -> (RevocationStatus, String) {
        let Some(rule) = rule.filter(|r| r.spec.validate.is_some()) else {
            return (RevocationStatus::Revoked, detail);
        };
        let v = self
            .validator
            .check(rule, &f.matched.secret, &f.matched.parts);
        match v.status {
            ValidationStatus::Invalid => (
                RevocationStatus::RevokedConfirmed,
                format!("{detail}; validation now: invalid"),
            ),
            s => (
                RevocationStatus::RevokeUnconfirmed,
                format!("{detail}; validation now: {s}: {}", v.detail),
            ),
        }
    }
}

fn kind(b: &Broker) -> &'static str {
    match b {
        Broker::Http { .. } => "http",
        Broker::Vault { .. } => "vault",
        Broker::Provider {} => "provider",
        Broker::Command { .. } => "command",
    }
}

fn accepts(b: &Broker, job: &Job<'_>) -> bool {
    match b {
        Broker::Http { .. } | Broker::Command { .. } => true,
        Broker::Vault { .. } => vault::accepts(job),
        Broker::Provider {} => provider::spec(job).is_some(),
    }
}

fn describe(b: &Broker, job: &Job<'_>) -> Result<String, provider::CallError> {
    match b {
        Broker::Http { url, .. } => Ok(format!("POST {url}")),
        Broker::Vault { address, token_env } => Ok(vault::describe(address, token_env.as_deref())),
        Broker::Provider {} => provider::describe(job),
        Broker::Command { command } => Ok(command::describe(command)),
    }
}

fn run(b: &Broker, job: &Job<'_>) -> Outcome {
    match b {
        Broker::Http {
            url,
            token_env,
            hmac_key_env,
            send_secret,
        } => http::revoke(
            job,
            url,
            token_env.as_deref(),
            hmac_key_env.as_deref(),
            *send_secret,
        ),
        Broker::Vault { address, token_env } => vault::revoke(job, address, token_env.as_deref()),
        Broker::Provider {} => provider::revoke(job),
        Broker::Command { command } => command::revoke(job, command),
    }
}

/// `2 revoked, 1 failed, 3 skipped`: the non-zero counts.
pub fn summary_line(r: &RevokeSummary) -> String {
    let parts: Vec<String> = [
        (r.would_revoke, "would revoke"),
        (r.revoked_confirmed, "revoked (confirmed)"),
        (r.revoked, "revoked"),
        (r.revoke_unconfirmed, "revoked but unconfirmed"),
        (r.failed, "failed"),
        (r.skipped, "skipped"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    if parts.is_empty() {
        "nothing to revoke".into()
    } else {
        parts.join(", ")
    }
}

/// `path:line`, and `@commit` for a finding from history.
pub fn location(f: &Finding) -> String {
    match f.commit() {
        Some(c) => format!(
            "{}:{}@{}",
            f.location.path,
            f.location.line,
            crate::blob::short_id(c)
        ),
        None => format!("{}:{}", f.location.path, f.location.line),
    }
}

fn now() -> String {
    crate::time::now_rfc3339().replace("+00:00", "Z")
}

/// Reads an environment variable a broker setting names.
pub(crate) fn env(name: &str, setting: &'static str) -> Result<String, BrokerError> {
    std::env::var(name).map_err(|_| BrokerError::Unset {
        setting,
        name: name.to_string(),
    })
}

/// Why a broker call could not be made or answered; the outcome's detail.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BrokerError {
    #[error("{setting} names the environment variable {name}, which is not set")]
    Unset { setting: &'static str, name: String },
    #[error("broker url {url}: {source}")]
    Url {
        url: String,
        source: url::ParseError,
    },
    #[error("broker {url}: {reason}")]
    Send { url: String, reason: String },
}

/// The first line of an answer, shortened, for details.
pub(crate) fn short(text: &str) -> String {
    let t = text.trim();
    let line = t.lines().next().unwrap_or("");
    if line.chars().count() > 120 {
        line.chars().take(120).collect::<String>() + "…"
    } else {
        line.to_string()
    }
}
