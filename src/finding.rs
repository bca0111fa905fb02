//! Findings: matches located in their blob, with a stable fingerprint.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::blob::Origin;
use crate::format::{CellPart, CiSystem, Client, Context, Literal, Segment};
use crate::matcher::{entropy, Match};
use crate::rules::{Confidence, Rule, Severity};
use crate::triage::Suppression;

/// A secret found at a place. Line and column numbers are 1-based; columns count
/// characters; `end_line`/`end_column` point at the secret's last character.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub rule_id: String,
    pub rule_name: String,
    pub provider: String,
    pub severity: Severity,
    pub confidence: Confidence,
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    /// The secret. Reporters redact it unless asked not to.
    pub secret: String,
    /// The line holding the start of the secret (at most 240 characters).
    pub snippet: String,
    pub fingerprint: String,
    pub entropy: f64,
    /// The generic detector's score, 0 to 1, for findings of its rules
    /// (`generic-password`, ...); their `confidence` is derived from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// Named parts found with the secret (e.g. `key_id` beside an AWS secret).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parts: BTreeMap<String, String>,
    /// Notebook cell holding the secret, 1-based. `line` stays the line in
    /// the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cell: Option<usize>,
    /// Line within the cell's source or output, 1-based.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cell_line: Option<usize>,
    /// Which part of the cell: `source`, `output` or `metadata`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cell_part: Option<CellPart>,
    /// The encodings undone to find the secret, outermost first (`base64`,
    /// `hex`, `base64/base64`). The location is that of the encoded text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoded: Option<String>,
    /// The MCP client whose config holds the secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp_client: Option<Client>,
    /// The MCP server whose config holds the secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp_server: Option<String>,
    /// The CI system whose pipeline file holds the secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_system: Option<CiSystem>,
    /// The environment variable, header, argument or URL part holding it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variable: Option<String>,
    /// How to fix it, in the syntax of the client or CI system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// Provenance of a finding from git history: `commit`, `author`, `email`,
    /// `date`, `message`, `blob`, `status`, `occurrences`.
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub git: Option<crate::source::git::GitProvenance>,
    /// What the provider said about the secret; absent unless `--validate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<Validation>,
    /// Why the finding is not reported (allowlist, inline allow, baseline).
    /// Suppressed findings are counted, and listed only with `--show-suppressed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppression>,
    /// The repository of a finding from `keysweep sweep`, as listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// What revocation did with the secret (`--revoke`, `keysweep revoke`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation: Option<Revocation>,
}

/// Whether a secret works, as its provider answered.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum ValidationStatus {
    /// The provider accepted the secret.
    Live,
    /// The provider rejected the secret (revoked, expired, never existed).
    Invalid,
    /// The check ran but proved nothing: timeout, DNS, TLS, rate limit,
    /// server error, refused address, or an answer no rule explains.
    Unknown,
    /// No check ran: the rule has no validator, the validator was not
    /// trusted, or a part it needs (e.g. the AWS key id) was not found.
    #[default]
    NotChecked,
}

impl std::fmt::Display for ValidationStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ValidationStatus::Live => "live",
            ValidationStatus::Invalid => "invalid",
            ValidationStatus::Unknown => "unknown",
            ValidationStatus::NotChecked => "not-checked",
        })
    }
}

/// The outcome of checking one secret, with the reason in words.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validation {
    pub status: ValidationStatus,
    pub detail: String,
}

impl Validation {
    pub fn new(status: ValidationStatus, detail: impl Into<String>) -> Validation {
        Validation {
            status,
            detail: detail.into(),
        }
    }

    pub fn live(detail: impl Into<String>) -> Validation {
        Validation::new(ValidationStatus::Live, detail)
    }

    pub fn invalid(detail: impl Into<String>) -> Validation {
        Validation::new(ValidationStatus::Invalid, detail)
    }

    pub fn unknown(detail: impl Into<String>) -> Validation {
        Validation::new(ValidationStatus::Unknown, detail)
    }

    pub fn not_checked(detail: impl Into<String>) -> Validation {
        Validation::new(ValidationStatus::NotChecked, detail)
    }
}

/// What happened when keysweep tried to revoke a secret.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RevocationStatus {
    /// Dry run: the call that would have been made is in the detail.
    #[default]
    WouldRevoke,
    /// The broker said it revoked the secret; no validator could confirm.
    Revoked,
    /// Revoked, and validating again found the secret dead.
    RevokedConfirmed,
    /// The broker said revoked, but validating again did not show it dead.
    RevokeUnconfirmed,
    /// The broker failed, refused, timed out or answered nonsense.
    Failed,
    /// Policy kept keysweep from trying; the detail says which.
    Skipped,
}

impl RevocationStatus {
    /// Whether this status counts as a failed revocation for the exit code.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            RevocationStatus::Failed | RevocationStatus::RevokeUnconfirmed
        )
    }
}

impl std::fmt::Display for RevocationStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RevocationStatus::WouldRevoke => "would-revoke",
            RevocationStatus::Revoked => "revoked",
            RevocationStatus::RevokedConfirmed => "revoked-confirmed",
            RevocationStatus::RevokeUnconfirmed => "revoke-unconfirmed",
            RevocationStatus::Failed => "failed",
            RevocationStatus::Skipped => "skipped",
        })
    }
}

/// The outcome of one revocation attempt, with the broker that handled it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    pub status: RevocationStatus,
    /// `http #1`, `vault #2`, `provider #3`, `command #4`; empty when skipped.
    #[serde(default)]
    pub broker: String,
    pub detail: String,
}

/// Fingerprint of a secret at a path: stable across runs and line moves, and
/// not reversible to the secret (a truncated SHA-256).
pub fn fingerprint(rule_id: &str, path: &str, secret: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(b"keysweep/fp/v1\0");
    h.update(rule_id.as_bytes());
    h.update(b"\0");
    h.update(path.as_bytes());
    h.update(b"\0");
    h.update(secret);
    hex(&h.finalize()[..16])
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Shortens a secret for display: its first 4 characters and an ellipsis.
///
/// ```
/// assert_eq!(keysweep::finding::redact("ghp_R8fK2mQ9"), "ghp_…");
/// assert_eq!(keysweep::finding::redact("abc"), "…");
/// ```
pub fn redact(secret: &str) -> String {
    if secret.chars().count() <= 6 {
        return "…".to_string();
    }
    let head: String = secret.chars().take(4).collect();
    format!("{head}…")
}

impl Finding {
    /// The commit that introduced the secret, for findings from git history.
    pub fn commit(&self) -> Option<&str> {
        self.git.as_ref().map(|g| g.commit.as_str())
    }

    /// Sets the introducing commit (as history scanning does).
    pub fn set_commit(&mut self, commit: impl Into<String>) {
        self.git.get_or_insert_with(Default::default).commit = commit.into();
    }

    /// A copy with the secret (and its parts) redacted, and the secret's text in
    /// the snippet replaced by its redacted form.
    pub fn redacted(&self) -> Finding {
        let mut f = self.clone();
        let r = redact(&self.secret);
        f.snippet = self.snippet.replace(&self.secret, &r);
        for v in f.parts.values_mut() {
            let rv = redact(v);
            f.snippet = f.snippet.replace(v.as_str(), &rv);
            *v = rv;
        }
        if let Some(v) = &mut f.validation {
            v.detail = v.detail.replace(&self.secret, &r);
            for part in self.parts.values() {
                v.detail = v.detail.replace(part.as_str(), &redact(part));
            }
        }
        f.secret = r;
        f
    }
}

/// Converts matches in one blob into findings. `rules` indexes as the matcher's.
pub fn from_matches(
    hay: &[u8],
    origin: &Origin,
    matches: &[Match],
    rules: &[Rule],
) -> Vec<Finding> {
    from_segment(hay, origin, &Segment::plain(hay), matches, rules)
        .into_iter()
        .map(|(f, _)| f)
        .collect()
}

/// Converts matches in one segment of a blob into findings, each with the
/// blob span of its secret. Lines and columns are the blob's; notebook cell,
/// line in cell and decoding come from the segment.
pub fn from_segment(
    hay: &[u8],
    origin: &Origin,
    seg: &Segment<'_>,
    matches: &[Match],
    rules: &[Rule],
) -> Vec<(Finding, Range<usize>)> {
    let text: &[u8] = &seg.text;
    let path = origin.display_path();
    let mut lines = LineCounter::default();
    let mut text_lines = LineCounter::default();
    matches
        .iter()
        .map(|m| {
            let rule = &rules[m.rule];
            let span = seg.map.to_blob(m.secret.clone());
            let secret = String::from_utf8_lossy(&text[m.secret.clone()]).into_owned();
            // Decoded text shows its own line, so redaction finds the secret
            // in it (the file's line holds it escaped or encoded).
            let snippet = if seg.is_verbatim() {
                snippet(hay, span.start)
            } else {
                snippet(text, m.secret.start)
            };
            let mut f = located(hay, &path, &mut lines, span.clone(), secret, snippet, rule);
            f.entropy = (m.entropy * 1000.0).round() / 1000.0;
            f.parts = m.parts.iter().cloned().collect();
            if let Some(cell) = seg.place.cell {
                f.cell = Some(cell);
                f.cell_part = seg.place.part;
                f.cell_line = Some(
                    seg.place
                        .cell_line
                        .unwrap_or_else(|| text_lines.locate(text, m.secret.start).0),
                );
            }
            f.decoded = seg.place.decoded.clone();
            (f, span)
        })
        .collect()
}

/// The finding for a literal credential reported by a format's own rule.
pub fn from_literal(hay: &[u8], origin: &Origin, lit: &Literal, rule: &Rule) -> Finding {
    let path = origin.display_path();
    let snippet = snippet_with(hay, lit.span.clone(), &lit.secret);
    let mut f = located(
        hay,
        &path,
        &mut LineCounter::default(),
        lit.span.clone(),
        lit.secret.clone(),
        snippet,
        rule,
    );
    f.entropy = (entropy(lit.secret.as_bytes()) * 1000.0).round() / 1000.0;
    f.apply(&lit.context);
    f
}

impl Finding {
    /// Adds a format's structural facts (server, client, variable, fix).
    pub fn apply(&mut self, ctx: &Context) {
        if ctx.mcp_client.is_some() {
            self.mcp_client = ctx.mcp_client;
        }
        if ctx.mcp_server.is_some() {
            self.mcp_server.clone_from(&ctx.mcp_server);
        }
        if ctx.ci_system.is_some() {
            self.ci_system = ctx.ci_system;
        }
        if ctx.variable.is_some() {
            self.variable.clone_from(&ctx.variable);
        }
        if ctx.fix.is_some() {
            self.fix.clone_from(&ctx.fix);
        }
    }
}

/// A finding for `secret` at `span` of the blob, without match details.
fn located(
    hay: &[u8],
    path: &str,
    lines: &mut LineCounter,
    span: Range<usize>,
    secret: String,
    snippet: String,
    rule: &Rule,
) -> Finding {
    let start = span.start.min(hay.len());
    let (line, column) = lines.locate(hay, start);
    let last = last_char_start(hay, start..span.end.min(hay.len()));
    let (end_line, end_column) = lines.locate(hay, last);
    Finding {
        rule_id: rule.spec.id.clone(),
        rule_name: rule.spec.name.clone(),
        provider: rule.provider.clone(),
        severity: rule.spec.severity,
        confidence: rule.spec.confidence,
        fingerprint: fingerprint(&rule.spec.id, path, secret.as_bytes()),
        path: path.to_string(),
        line,
        column,
        end_line,
        end_column,
        snippet,
        secret,
        ..Finding::default()
    }
}

/// The line holding `span`, with the span's bytes replaced by `secret` (the
/// decoded value), so that redaction finds it.
fn snippet_with(hay: &[u8], span: Range<usize>, secret: &str) -> String {
    let start = span.start.min(hay.len());
    let line_end = memchr::memchr(b'\n', &hay[start..]).map_or(hay.len(), |p| start + p);
    if span.end > line_end || &hay[start..span.end] == secret.as_bytes() {
        return snippet(hay, start);
    }
    let line_start = memchr::memrchr(b'\n', &hay[..start]).map_or(0, |p| p + 1);
    let mut line = hay[line_start..start].to_vec();
    line.extend_from_slice(secret.as_bytes());
    line.extend_from_slice(&hay[span.end..line_end]);
    snippet(&line, start - line_start)
}

impl Finding {
    /// Points the finding at the first occurrence of its secret in `hay` (another
    /// version of the same file). Returns false, changing nothing, when the
    /// secret is not there.
    pub fn relocate(&mut self, hay: &[u8]) -> bool {
        let Some(start) = memchr::memmem::find(hay, self.secret.as_bytes()) else {
            return false;
        };
        let end = start + self.secret.len();
        let mut lines = LineCounter::default();
        (self.line, self.column) = lines.locate(hay, start);
        (self.end_line, self.end_column) = lines.locate(hay, last_char_start(hay, start..end));
        self.snippet = snippet(hay, start);
        true
    }
}

fn last_char_start(hay: &[u8], span: Range<usize>) -> usize {
    if span.start >= hay.len() {
        return hay.len();
    }
    let mut i = span.end.saturating_sub(1).max(span.start);
    while i > span.start && (hay[i] & 0xC0) == 0x80 {
        i -= 1;
    }
    i
}

fn snippet(hay: &[u8], at: usize) -> String {
    let start = memchr::memrchr(b'\n', &hay[..at]).map_or(0, |p| p + 1);
    let end = memchr::memchr(b'\n', &hay[at..]).map_or(hay.len(), |p| at + p);
    let line = String::from_utf8_lossy(&hay[start..end]);
    let line = line.trim_end_matches('\r').trim();
    if line.chars().count() > 240 {
        line.chars().take(240).collect::<String>() + "…"
    } else {
        line.to_string()
    }
}

/// Turns byte offsets into line and column, walking forward from the last
/// offset asked for, so that locating sorted offsets is linear overall.
#[derive(Default)]
struct LineCounter {
    offset: usize,
    line: usize,
    line_start: usize,
}

impl LineCounter {
    fn locate(&mut self, hay: &[u8], at: usize) -> (usize, usize) {
        if at < self.offset {
            *self = LineCounter::default();
        }
        let newlines = memchr::memchr_iter(b'\n', &hay[self.offset..at]);
        for p in newlines {
            self.line += 1;
            self.line_start = self.offset + p + 1;
        }
        self.offset = at;
        let col = hay[self.line_start..at]
            .iter()
            .filter(|&&b| (b & 0xC0) != 0x80)
            .count();
        (self.line + 1, col + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_lines_and_char_columns() {
        let hay = "ab\ncdé f\n\nxyz".as_bytes();
        let mut lc = LineCounter::default();
        assert_eq!(lc.locate(hay, 0), (1, 1));
        assert_eq!(lc.locate(hay, 4), (2, 2));
        // 'f' follows a two-byte 'é' and a space: column 5.
        assert_eq!(lc.locate(hay, 8), (2, 5));
        assert_eq!(lc.locate(hay, 11), (4, 1));
        // Going backwards restarts rather than giving a wrong answer.
        assert_eq!(lc.locate(hay, 3), (2, 1));
    }

    #[test]
    fn fingerprint_depends_on_rule_path_and_secret() {
        let a = fingerprint("r", "p", b"s");
        assert_eq!(a, fingerprint("r", "p", b"s"));
        assert_ne!(a, fingerprint("r2", "p", b"s"));
        assert_ne!(a, fingerprint("r", "p2", b"s"));
        assert_ne!(a, fingerprint("r", "p", b"s2"));
        assert_eq!(a.len(), 32);
    }

    #[test]
    fn redaction_hides_secret_in_snippet() {
        let f = Finding {
            rule_id: "x".into(),
            rule_name: "X".into(),
            provider: "x".into(),
            severity: Severity::High,
            confidence: Confidence::High,
            path: "p".into(),
            line: 1,
            column: 1,
            end_line: 1,
            end_column: 1,
            secret: "supersecretvalue123".into(),
            snippet: "token = supersecretvalue123".into(),
            fingerprint: "f".into(),
            entropy: 3.0,
            ..Finding::default()
        };
        let r = f.redacted();
        assert_eq!(r.secret, "supe…");
        assert_eq!(r.snippet, "token = supe…");
    }
}
