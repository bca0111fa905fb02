//! The rule file schema (`rules/*.yml`). See the README's "Rule format".

use serde::{Deserialize, Serialize};

use super::validator_spec::ValidateSpec;

/// A rule file: an optional provider name and its rules.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// Provider family; defaults to the file's stem.
    #[serde(default)]
    pub provider: Option<String>,
    pub rules: Vec<RuleSpec>,
}

/// How likely a match is a real secret.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    #[default]
    Medium,
    High,
}

/// How bad a leak of this kind of secret is.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    #[default]
    High,
    Critical,
}

impl std::fmt::Display for Confidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        })
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        })
    }
}

/// Character classes a secret may be required to contain (`must_contain`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CharClass {
    Digit,
    Lower,
    Upper,
    Letter,
}

/// Another value looked for near a match (e.g. the AWS key id beside a secret
/// key). Its first capture group becomes a named part of the finding.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Companion {
    pub name: String,
    pub pattern: String,
    /// Lines above and below the match to search.
    #[serde(default = "default_within_lines")]
    pub within_lines: usize,
    /// Drop the match when no companion is found.
    #[serde(default)]
    pub required: bool,
}

fn default_within_lines() -> usize {
    5
}

fn default_max_len() -> usize {
    256
}

fn default_confidence() -> Confidence {
    Confidence::Medium
}

fn default_severity() -> Severity {
    Severity::High
}

/// One rule as written in a rule file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Stable kebab-case id, e.g. `github-pat-fine-grained`.
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Literal strings (matched case-insensitively) of which one must occur in
    /// or near every match: the prefilter.
    pub keywords: Vec<String>,
    /// The regex; capture group 1, or the group named `secret`, is the secret.
    pub pattern: String,
    /// Minimum Shannon entropy of the secret, in bits per byte.
    #[serde(default)]
    pub min_entropy: Option<f64>,
    /// Classes of characters the secret must contain.
    #[serde(default)]
    pub must_contain: Vec<CharClass>,
    /// Words (any case) that make a value not a secret when it contains them,
    /// e.g. `password` in `password = "myPassword1"`. Cheaper and clearer than
    /// spelling "does not contain" out in the regex.
    #[serde(default)]
    pub reject_if_contains: Vec<String>,
    #[serde(default = "default_confidence")]
    pub confidence: Confidence,
    #[serde(default = "default_severity")]
    pub severity: Severity,
    /// Longest distance, in bytes, between a keyword and either end of a match.
    #[serde(default = "default_max_len")]
    pub max_len: usize,
    #[serde(default)]
    pub companions: Vec<Companion>,
    /// The provider's documentation of the token format.
    #[serde(default)]
    pub references: Vec<String>,
    #[serde(default)]
    pub examples: Vec<String>,
    #[serde(default)]
    pub negative_examples: Vec<String>,
    /// Credentials this rule must not claim (they lack its provider's
    /// prefix, length or context: `TOKEN=…` with the right shape but no
    /// provider name) and that the generic detector reports under its own
    /// rule instead. Checked like negative examples against this rule; a
    /// test checks that the generic detector reports each one, so the
    /// boundary between a provider rule and the detector is written down.
    #[serde(default)]
    pub generic_examples: Vec<String>,
    /// How to check a found secret with its provider (`--validate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validate: Option<ValidateSpec>,
    /// How a found secret revokes itself with its provider (`--revoke` with a
    /// `provider` broker).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke: Option<super::RevokeSpec>,
    /// A check of the secret's own structure (checksum, JWT expiry) run on
    /// every finding; a failure lowers the finding's confidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline_check: Option<super::checksum::OfflineCheck>,
}

impl RuleSpec {
    /// Checks what serde cannot: id shape, keywords, filter ranges.
    pub(crate) fn validate(&self) -> Result<(), super::RuleProblem> {
        let id_ok = !self.id.is_empty()
            && self
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !self.id.starts_with('-')
            && !self.id.ends_with('-');
        if !id_ok {
            return Err(super::RuleProblem::BadId);
        }
        if self.keywords.is_empty() {
            return Err(super::RuleProblem::NoKeywords);
        }
        if let Some(k) = self.keywords.iter().find(|k| k.len() < 2) {
            return Err(super::RuleProblem::ShortKeyword(k.clone()));
        }
        if let Some(e) = self.min_entropy {
            if !(0.0..=8.0).contains(&e) {
                return Err(super::RuleProblem::EntropyRange(e));
            }
        }
        if self.max_len == 0 || self.max_len > 1 << 20 {
            return Err(super::RuleProblem::MaxLen);
        }
        if let Some(v) = &self.validate {
            v.check()
                .map_err(|e| super::RuleProblem::Validator(e.to_string()))?;
        }
        if let Some(r) = &self.revoke {
            r.check()
                .map_err(|e| super::RuleProblem::Revoker(e.to_string()))?;
        }
        Ok(())
    }
}
