//! Findings: matches located in their blob, with a stable fingerprint.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::blob::Origin;
use crate::format::{CellPart, CiSystem, Client, Context, Literal, Segment};
use crate::matcher::Match;
use crate::rules::checksum::{self, CheckOutcome, CheckStatus};
use crate::rules::entropy;
use crate::rules::{Confidence, Rule, Severity};

pub mod redaction;
pub use redaction::{Redaction, Redactor};

/// A secret found at a place, in four parts read in this order: what
/// matched ([`RuleRef`], [`Matched`]), where ([`Location`], [`Place`]), which
/// commit brought it ([`GitProvenance`](crate::blob::GitProvenance)), and
/// what later stages said about it ([`Annotations`]).
///
/// Every part is flattened in JSON, so a report is one flat object per
/// finding whose keys keep this declaration order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    #[serde(flatten)]
    pub rule: RuleRef,
    #[serde(flatten)]
    pub location: Location,
    #[serde(flatten)]
    pub matched: Matched,
    #[serde(flatten)]
    pub place: Place,
    /// Provenance of a finding from git history: `commit`, `author`, `email`,
    /// `date`, `message`, `blob`, `status`, `occurrences`.
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub git: Option<crate::blob::GitProvenance>,
    #[serde(flatten)]
    pub annotations: Annotations,
}

/// The rule that matched, as reports name it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleRef {
    #[serde(rename = "rule_id")]
    pub id: String,
    #[serde(rename = "rule_name")]
    pub name: String,
    pub provider: String,
    pub severity: Severity,
    pub confidence: Confidence,
}

/// Where the secret is in its blob. Line and column numbers are 1-based;
/// columns count characters; `end_line`/`end_column` point at the secret's
/// last character.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

/// The secret and what was measured of it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Matched {
    /// The secret. Reporters redact it unless asked not to.
    pub secret: String,
    /// The line holding the start of the secret, cut to at most 80
    /// characters on each side of it (`…` marks a cut, and a word cut in two
    /// is left out).
    pub snippet: String,
    pub fingerprint: String,
    /// The same for every occurrence of one secret, in any file, rule or
    /// run (with one key): a keyed hash of the secret alone (see
    /// [`secret_id`]). Set by reports.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub secret_id: String,
    pub entropy: f64,
    /// The generic detector's score, 0 to 1, for findings of its rules
    /// (`generic-password`, ...); their `confidence` is derived from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// Named parts found with the secret (e.g. `key_id` beside an AWS secret).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parts: BTreeMap<String, String>,
}

/// Where the secret sits in its file's structure, as the format stage saw
/// it: notebook cell, encoding undone, MCP client and server, CI system.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
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
    /// The container images (by tag) whose layer holds the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The image layer holding the file, as its digest (`sha256:…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    /// Whether an upper layer deleted or replaced the file. Either way the
    /// layer still holds it, and so does every copy of the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer_status: Option<LayerStatus>,
}

/// What became of an image layer's file in the image built on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LayerStatus {
    /// Visible in the image's file system.
    Present,
    /// Deleted by a whiteout in an upper layer.
    Deleted,
    /// Overwritten by an upper layer's file.
    Replaced,
}

/// What the stages after matching added: offline checks, triage,
/// validation, the sweep's repository, revocation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Annotations {
    /// What the secret's own structure says (checksum, JWT expiry), for
    /// rules with an `offline_check`. A failed check lowers `confidence`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline_check: Option<CheckOutcome>,
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
    /// Who a live secret belongs to and what it can do (`--analyze`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<Analysis>,
    /// The sweep runs that saw the finding (`keysweep sweep`, `keysweep report`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepState>,
}

/// When sweeps saw a finding, as the datastore recorded it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepState {
    pub first_seen_run: i64,
    pub last_seen_run: i64,
    /// First seen in the run the report is about: new since the run before.
    pub new: bool,
}

/// Why a finding was suppressed. Serialized in kebab-case; the summary counts
/// suppressions by these names.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "kebab-case")]
pub enum SuppressReason {
    /// `keysweep:allow`, `gitleaks:allow` or `pragma: allowlist secret`.
    #[default]
    Inline,
    /// A fingerprint in `.gitleaksignore`.
    Gitleaksignore,
    /// An allowlist's `paths`.
    AllowlistPath,
    /// An allowlist's `commits`.
    AllowlistCommit,
    /// An allowlist's `regexes`.
    AllowlistRegex,
    /// An allowlist's `stopwords`.
    AllowlistStopword,
    /// An entry of the baseline.
    Baseline,
}

impl SuppressReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SuppressReason::Inline => "inline",
            SuppressReason::Gitleaksignore => "gitleaksignore",
            SuppressReason::AllowlistPath => "allowlist path",
            SuppressReason::AllowlistCommit => "allowlist commit",
            SuppressReason::AllowlistRegex => "allowlist regex",
            SuppressReason::AllowlistStopword => "allowlist stopword",
            SuppressReason::Baseline => "baseline",
        }
    }
}

impl fmt::Display for SuppressReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a finding is not reported: the reason and what exactly matched (the
/// allowlist and its pattern, the marker, the baseline file).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Suppression {
    pub reason: SuppressReason,
    pub detail: String,
}

/// Sorts findings into report order: path, line, column, rule; then the
/// fingerprint and commit, so that findings sharing a place (a secret edited
/// in history) come out in the same order whatever order threads found them.
pub fn sort(findings: &mut [Finding]) {
    let key = |f: &Finding| {
        (
            f.location.path.clone(),
            f.location.line,
            f.location.column,
            f.rule.id.clone(),
            f.matched.fingerprint.clone(),
            f.commit().map(str::to_string),
        )
    };
    findings.sort_by_cached_key(key);
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

/// What a live secret can do, as its provider's read-only endpoints told
/// (`--analyze`, `keysweep analyze`). Never holds the secret.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Analysis {
    /// Who the secret belongs to: user, organisation, account, project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// Scopes, permissions or roles the provider reported, as it names them.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// When the secret expires (as the provider gave it); absent when the
    /// provider said nothing or the secret does not expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// The blast radius: what a holder of the secret could do. Absent when
    /// the analysis could not run (see `error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// Why analysis did not run or ran only in part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Analysis {
    /// An analysis that could not run, with the reason.
    pub fn failed(why: impl Into<String>) -> Analysis {
        Analysis {
            error: Some(why.into()),
            ..Analysis::default()
        }
    }

    /// `identity alice; scopes repo, gist; expires …; severity critical`, for
    /// the human report.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if let Some(i) = &self.identity {
            parts.push(format!("identity {i}"));
        }
        if !self.scopes.is_empty() {
            let shown: Vec<&str> = self.scopes.iter().take(12).map(String::as_str).collect();
            let more = self.scopes.len().saturating_sub(shown.len());
            let tail = if more > 0 {
                format!(" (+{more} more)")
            } else {
                String::new()
            };
            parts.push(format!("scopes {}{tail}", shown.join(", ")));
        }
        if let Some(e) = &self.expires {
            parts.push(format!("expires {e}"));
        }
        if let Some(s) = self.severity {
            parts.push(format!("severity {s}"));
        }
        if let Some(e) = &self.error {
            parts.push(format!("not analyzed: {e}"));
        }
        parts.join("; ")
    }
}

/// Fingerprint of a secret at a path: stable across runs and line moves, and
/// not reversible to the secret: HMAC-SHA256 under the identity key
/// ([`id_key`]), truncated to 16 bytes. An unkeyed hash of a weak password
/// would be guessed offline from a redacted report in seconds; without the
/// key each guess cannot be checked.
pub fn fingerprint(rule_id: &str, path: &str, secret: &[u8]) -> String {
    fingerprint_with_key(id_key(), rule_id, path, secret)
}

/// [`fingerprint`] under a given key (what a machine with that identity key
/// computes).
pub fn fingerprint_with_key(key: &[u8], rule_id: &str, path: &str, secret: &[u8]) -> String {
    keyed_hash(
        key,
        b"keysweep/fp/v2",
        &[rule_id.as_bytes(), path.as_bytes(), secret],
    )
}

/// HMAC-SHA256 under `key` of `domain` and `parts`, each ended by a NUL so
/// that no two lists of parts give the same input; 16 bytes as hex.
pub fn keyed_hash(key: &[u8], domain: &[u8], parts: &[&[u8]]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(domain);
    mac.update(b"\0");
    for p in parts {
        mac.update(p);
        mac.update(b"\0");
    }
    hex(&mac.finalize().into_bytes()[..16])
}

/// A short public name of the identity key (the HMAC of a constant under
/// it): stored in baselines so that one made under another key is
/// recognised instead of silently matching nothing. It reveals nothing
/// about the key beyond what any fingerprint does.
pub fn key_id(key: &[u8]) -> String {
    keyed_hash(key, b"keysweep/key-id/v1", &[])[..8].to_string()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Shortens a secret for display when its rule is not at hand: its prefix
/// by shape and a few characters at both ends (see [`redaction`] for the
/// rule).
///
/// ```
/// assert_eq!(
///     keysweep::finding::redact("ghp_R8fK2mQ9xLz4Tb7Wc1Vn5Hj3Ds6Ga0Py2Ue8"),
///     "ghp_R8f…Ue8"
/// );
/// assert_eq!(keysweep::finding::redact("abc"), "…");
/// ```
pub fn redact(secret: &str) -> String {
    redaction::redact_with(secret, redaction::shape_prefix(secret), Redaction::Identify)
}

/// The identity key that keys fingerprints, secret ids and baseline
/// hashes, chosen once per process:
///
/// 1. `KEYSWEEP_ID_KEY` (its bytes) when set: teams that share baselines or
///    datastores across machines (CI runners) give every machine the same
///    key, e.g. from a CI secret;
/// 2. else a random per-installation key kept (0600) in
///    `$XDG_DATA_HOME/keysweep/secret-id.key` (`~/.local/share/...`),
///    created on first use;
/// 3. if that cannot be written, a key for this process only (fingerprints
///    then differ between runs).
pub fn id_key() -> &'static [u8] {
    static KEY: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        if let Some(k) = std::env::var_os("KEYSWEEP_ID_KEY").filter(|k| !k.is_empty()) {
            return k.into_encoded_bytes();
        }
        installation_key().unwrap_or_else(|| {
            let mut k = vec![0u8; 32];
            getrandom::fill(&mut k).expect("the OS random source");
            k
        })
    })
}

fn installation_key() -> Option<Vec<u8>> {
    let dir = std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".local/share"))
        })?
        .join("keysweep");
    let path = dir.join("secret-id.key");
    if let Ok(k) = std::fs::read(&path) {
        if k.len() >= 16 {
            return Some(k);
        }
    }
    std::fs::create_dir_all(&dir).ok()?;
    let mut k = vec![0u8; 32];
    getrandom::fill(&mut k).ok()?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    match opts.open(&path) {
        Ok(mut f) => {
            use std::io::Write;
            f.write_all(&k).ok()?;
            Some(k)
        }
        // Another process created it first: use theirs.
        Err(_) => std::fs::read(&path).ok().filter(|k| k.len() >= 16),
    }
}

/// A stable id for a secret: HMAC-SHA256 under [`id_key`], truncated
/// to 16 bytes. Without the key it cannot be tested against guesses, so it
/// says which findings share a secret without helping to recover it.
pub fn secret_id(secret: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<Sha256>::new_from_slice(id_key()).expect("HMAC takes keys of any length");
    mac.update(b"keysweep/secret-id/v1\0");
    mac.update(secret.as_bytes());
    hex(&mac.finalize().into_bytes()[..16])
}

impl Finding {
    /// The commit that introduced the secret, for findings from git history.
    pub fn commit(&self) -> Option<&str> {
        self.git.as_ref().map(|g| g.commit.as_str())
    }

    /// Sets the introducing commit, for tests of commit-based triage.
    #[cfg(test)]
    pub(crate) fn set_commit(&mut self, commit: impl Into<String>) {
        self.git.get_or_insert_with(Default::default).commit = commit.into();
    }

    /// A copy as reports show it, knowing no other finding: the secret and
    /// its parts redacted, in every text shown with it.
    pub fn redacted(&self) -> Finding {
        Redactor::new(std::slice::from_ref(self), None, Redaction::Identify).finding(self)
    }
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
                snippet(hay, span.clone())
            } else {
                snippet(text, m.secret.clone())
            };
            let mut f = located(hay, &path, &mut lines, span.clone(), secret, snippet, rule);
            f.matched.entropy = (m.entropy * 1000.0).round() / 1000.0;
            f.matched.parts = m.parts.iter().cloned().collect();
            if let Some(cell) = seg.place.cell {
                f.place.cell = Some(cell);
                f.place.cell_part = seg.place.part;
                f.place.cell_line = Some(
                    seg.place
                        .cell_line
                        .unwrap_or_else(|| text_lines.locate(text, m.secret.start).0),
                );
            }
            f.place.decoded = seg.place.decoded.clone();
            (f, span)
        })
        .collect()
}

/// The finding for a literal credential reported by a format's own rule.
pub fn from_literal(
    hay: &[u8],
    origin: &Origin,
    lit: &Literal,
    rule: &Rule,
    lines: &mut LineCounter,
) -> Finding {
    let path = origin.display_path();
    let snippet = snippet_with(hay, lit.span.clone(), &lit.secret);
    let mut f = located(
        hay,
        &path,
        lines,
        lit.span.clone(),
        lit.secret.clone(),
        snippet,
        rule,
    );
    f.matched.entropy = (entropy(lit.secret.as_bytes()) * 1000.0).round() / 1000.0;
    f.apply(&lit.context);
    f
}

impl Finding {
    /// Adds a format's structural facts (server, client, variable, fix).
    pub fn apply(&mut self, ctx: &Context) {
        if ctx.mcp_client.is_some() {
            self.place.mcp_client = ctx.mcp_client;
        }
        if ctx.mcp_server.is_some() {
            self.place.mcp_server.clone_from(&ctx.mcp_server);
        }
        if ctx.ci_system.is_some() {
            self.place.ci_system = ctx.ci_system;
        }
        if ctx.variable.is_some() {
            self.place.variable.clone_from(&ctx.variable);
        }
        if ctx.fix.is_some() {
            self.place.fix.clone_from(&ctx.fix);
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
    let offline_check = rule
        .spec
        .offline_check
        .map(|c| checksum::run(c, &secret, checksum::unix_now()));
    let confidence = match &offline_check {
        Some(o) if matches!(o.status, CheckStatus::Failed | CheckStatus::Public) => Confidence::Low,
        _ => rule.spec.confidence,
    };
    Finding {
        rule: RuleRef {
            id: rule.spec.id.clone(),
            name: rule.spec.name.clone(),
            provider: rule.provider.clone(),
            severity: rule.spec.severity,
            confidence,
        },
        location: Location {
            path: path.to_string(),
            line,
            column,
            end_line,
            end_column,
        },
        matched: Matched {
            fingerprint: fingerprint(&rule.spec.id, path, secret.as_bytes()),
            snippet,
            secret,
            ..Matched::default()
        },
        annotations: Annotations {
            offline_check,
            ..Annotations::default()
        },
        ..Finding::default()
    }
}

/// The line holding `span`, with the span's bytes replaced by `secret` (the
/// decoded value), so that redaction finds it.
fn snippet_with(hay: &[u8], span: Range<usize>, secret: &str) -> String {
    let start = span.start.min(hay.len());
    let line_end = memchr::memchr(b'\n', &hay[start..]).map_or(hay.len(), |p| start + p);
    if span.end > line_end || &hay[start..span.end] == secret.as_bytes() {
        return snippet(hay, span);
    }
    let line_start = memchr::memrchr(b'\n', &hay[..start]).map_or(0, |p| p + 1);
    let mut line = hay[line_start..start].to_vec();
    line.extend_from_slice(secret.as_bytes());
    line.extend_from_slice(&hay[span.end..line_end]);
    let at = start - line_start;
    snippet(&line, at..at + secret.len())
}

impl Finding {
    /// Points the finding at the first occurrence of its secret in `hay` (another
    /// version of the same file). Returns false, changing nothing, when the
    /// secret is not there.
    pub fn relocate(&mut self, hay: &[u8]) -> bool {
        let Some(start) = memchr::memmem::find(hay, self.matched.secret.as_bytes()) else {
            return false;
        };
        self.relocate_at(hay, start, &mut LineCounter::default());
        true
    }

    /// Points the finding at its secret found at byte `start` of `hay`;
    /// `lines` is shared by the findings relocated in one version, in
    /// ascending order, so that each costs no pass over the file.
    pub fn relocate_at(&mut self, hay: &[u8], start: usize, lines: &mut LineCounter) {
        let end = (start + self.matched.secret.len()).min(hay.len());
        (self.location.line, self.location.column) = lines.locate(hay, start);
        (self.location.end_line, self.location.end_column) =
            lines.locate(hay, last_char_start(hay, start..end));
        self.matched.snippet = snippet(hay, start..end);
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

/// Characters of context shown on each side of a secret in its snippet.
const SNIPPET_CONTEXT: usize = 80;

/// The part of the line holding `span` that a report shows: the secret (on
/// that line) and at most [`SNIPPET_CONTEXT`] characters on each side, so a
/// secret at column 3,000 of minified code is in its snippet. A word cut by
/// the bound is dropped rather than shown in part: it may be another secret
/// that redaction would then not recognise.
fn snippet(hay: &[u8], span: Range<usize>) -> String {
    let at = span.start.min(hay.len());
    // Four bytes per character at most, and a few for a character cut in two.
    let budget = SNIPPET_CONTEXT * 4 + 4;
    // The line's ends are looked for within the budget only: thousands of
    // findings on one long line must not each walk the whole line.
    let low = at.saturating_sub(budget);
    let line_start = memchr::memrchr(b'\n', &hay[low..at]).map_or(low, |p| low + p + 1);
    let high = span.end.max(at).saturating_add(budget).min(hay.len());
    let line_end = memchr::memchr(b'\n', &hay[at..high]).map_or(high, |p| at + p);
    let end = span.end.clamp(at, line_end);
    let before = String::from_utf8_lossy(&hay[line_start.max(at.saturating_sub(budget))..at]);
    let after = String::from_utf8_lossy(&hay[end..line_end.min(end + budget)]);
    let middle = String::from_utf8_lossy(&hay[at..end]);

    let before_chars: Vec<char> = before.chars().collect();
    let left_cut = before_chars.len() > SNIPPET_CONTEXT;
    let mut left: &[char] = &before_chars[before_chars.len().saturating_sub(SNIPPET_CONTEXT)..];
    if left_cut {
        let word = left.iter().take_while(|c| is_word(**c)).count();
        left = &left[word..];
    }
    let after_chars: Vec<char> = after.chars().collect();
    let right_cut = after_chars.len() > SNIPPET_CONTEXT;
    let mut right: &[char] = &after_chars[..after_chars.len().min(SNIPPET_CONTEXT)];
    if right_cut {
        let word = right.iter().rev().take_while(|c| is_word(**c)).count();
        right = &right[..right.len() - word];
    }
    let left: String = left.iter().collect();
    let right: String = right.iter().collect();
    let mut out = String::new();
    if left_cut {
        out.push('…');
        out.push_str(&left);
    } else {
        out.push_str(left.trim_start());
    }
    out.push_str(&middle);
    if right_cut {
        out.push_str(&right);
        out.push('…');
    } else {
        out.push_str(right.trim_end_matches('\r').trim_end());
    }
    out
}

/// Characters that may belong to a token: everything but whitespace and
/// the quotes, brackets and separators that end one.
fn is_word(c: char) -> bool {
    !c.is_whitespace() && !"\"'`,;(){}[]<>|".contains(c)
}

/// Turns byte offsets into line and column, walking forward from the last
/// offset asked for, so that locating sorted offsets is linear overall.
#[derive(Default)]
pub struct LineCounter {
    offset: usize,
    line: usize,
    line_start: usize,
    /// Characters from `line_start` to `offset`, so that many findings on
    /// one long line cost one pass over it, not one each.
    column: usize,
}

impl LineCounter {
    /// The 1-based line and column (in characters) of byte `at`. Cheapest
    /// when called with ascending offsets; going back starts over.
    pub fn locate(&mut self, hay: &[u8], at: usize) -> (usize, usize) {
        if at < self.offset {
            *self = LineCounter::default();
        }
        let chars = |b: &[u8]| b.iter().filter(|&&b| (b & 0xC0) != 0x80).count();
        let seen = &hay[self.offset..at];
        match memchr::memrchr(b'\n', seen) {
            Some(last) => {
                self.line += memchr::memchr_iter(b'\n', seen).count();
                self.line_start = self.offset + last + 1;
                self.column = chars(&hay[self.line_start..at]);
            }
            None => self.column += chars(seen),
        }
        self.offset = at;
        (self.line + 1, self.column + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_is_centred_and_bounded() {
        let secret = "ghp_R8fK2mQ9xLz4Tb7Wc1Vn5Hj3Ds6Ga0Py2Ue8";
        let mut line = "var a=1;".repeat(400);
        let start = line.len();
        line.push_str(secret);
        line.push_str(&";var b=2".repeat(400));
        let s = snippet(line.as_bytes(), start..start + secret.len());
        assert!(s.contains(secret), "{s}");
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(s.chars().count() <= secret.len() + 2 * SNIPPET_CONTEXT + 2);
        // A short line is shown whole, trimmed.
        let s = snippet(b"  x = 1\n  key = abc  \r\n", 16..19);
        assert_eq!(s, "key = abc");
    }

    #[test]
    fn snippet_drops_a_word_cut_by_the_bound() {
        let other = "lAFbVV6q9rXxtNDFyuzX9k1gnneGEYG1+LwiqD9j";
        let line = format!("k={other} {}SECRET", " ".repeat(SNIPPET_CONTEXT - 20));
        let at = line.len() - 6;
        let s = snippet(line.as_bytes(), at..line.len());
        assert!(!s.contains("LwiqD9j"), "{s}");
        assert!(s.starts_with('…') && s.ends_with("SECRET"), "{s}");
    }

    #[test]
    fn secret_id_is_keyed_and_path_free() {
        let a = secret_id("ghp_R8fK2mQ9xLz4Tb7Wc1Vn5Hj3Ds6Ga0Py2Ue8");
        assert_eq!(a, secret_id("ghp_R8fK2mQ9xLz4Tb7Wc1Vn5Hj3Ds6Ga0Py2Ue8"));
        assert_ne!(a, secret_id("ghp_R8fK2mQ9xLz4Tb7Wc1Vn5Hj3Ds6Ga0Py2Ue9"));
        assert_eq!(a.len(), 32);
    }

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
    fn fingerprint_is_keyed() {
        use sha2::Digest;
        let secret = b"hunter2";
        let k1 = fingerprint_with_key(b"key one, 16+ bytes", "r", "p", secret);
        let k2 = fingerprint_with_key(b"key two, 16+ bytes", "r", "p", secret);
        assert_ne!(k1, k2);
        assert_eq!(
            k1,
            fingerprint_with_key(b"key one, 16+ bytes", "r", "p", secret)
        );
        // Neither is (a prefix of) a plain hash anyone could recompute:
        // the secret's SHA-256, or the unkeyed v1 fingerprint.
        let plain = hex(&Sha256::digest(secret));
        let mut v1 = Sha256::new();
        v1.update(b"keysweep/fp/v1\0r\0p\0");
        v1.update(secret);
        let v1 = hex(&v1.finalize());
        for fp in [&k1, &k2, &fingerprint("r", "p", secret)] {
            assert!(!plain.starts_with(fp.as_str()) && !v1.starts_with(fp.as_str()));
        }
        assert_ne!(key_id(b"key one, 16+ bytes"), key_id(b"key two, 16+ bytes"));
    }

    #[test]
    fn redaction_hides_secret_in_snippet() {
        let f = Finding {
            rule: crate::finding::RuleRef {
                id: "x".into(),
                name: "X".into(),
                provider: "x".into(),
                severity: Severity::High,
                confidence: Confidence::High,
            },
            location: crate::finding::Location {
                path: "p".into(),
                line: 1,
                column: 1,
                end_line: 1,
                end_column: 1,
            },
            matched: crate::finding::Matched {
                secret: "supersecretvalue123".into(),
                snippet: "token = supersecretvalue123".into(),
                fingerprint: "f".into(),
                entropy: 3.0,
                ..Default::default()
            },
            ..Finding::default()
        };
        let r = f.redacted();
        assert_eq!(r.matched.secret, "su…23");
        assert_eq!(r.matched.snippet, "token = su…23");
    }
}
