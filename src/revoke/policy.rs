//! The revocation policy as `keysweep.toml`'s `[revoke]` table writes it:
//! mode, which findings may be revoked, the audit log and the brokers.

use std::path::PathBuf;

use serde::Deserialize;

/// `[revoke]`: revocation policy and brokers.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeConfig {
    #[serde(default)]
    pub mode: RevokeMode,
    #[serde(default)]
    pub require: RevokeRequire,
    /// Rule ids or globs that may be revoked.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Append-only JSONL audit log (resolved against the config's directory).
    #[serde(default)]
    pub audit_log: Option<PathBuf>,
    /// Brokers, tried in order.
    #[serde(default)]
    pub broker: Vec<Broker>,
}

/// Whether revocations are carried out.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RevokeMode {
    /// Print what would be called.
    #[default]
    DryRun,
    Enforce,
}

/// Which findings may be revoked.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RevokeRequire {
    /// Only findings validated live.
    #[default]
    Live,
    /// Any finding of an allowed rule (must be explicit).
    Any,
}

fn default_true() -> bool {
    true
}

/// `[[revoke.broker]]`, by `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Broker {
    /// A secrets broker with keysweep's JSON revocation API.
    Http {
        url: String,
        #[serde(default)]
        token_env: Option<String>,
        #[serde(default)]
        hmac_key_env: Option<String>,
        /// Send the secret itself; `false` sends only its SHA-256.
        #[serde(default = "default_true")]
        send_secret: bool,
    },
    /// HashiCorp Vault / OpenBao token revocation.
    Vault {
        address: String,
        #[serde(default)]
        token_env: Option<String>,
    },
    /// The provider's own revocation API (the rule's `revoke:` section).
    Provider {},
    /// A program given the finding as JSON on standard input; exit 0 means
    /// revoked.
    Command { command: Vec<String> },
}
