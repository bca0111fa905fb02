//! The rules the generic detector (`crate::generic`) reports under: one per
//! credential category. Like the format rules they have no pattern: the
//! detector's candidate stage finds their values and its model scores them,
//! and each finding carries its own confidence (from the score) rather than
//! the rule's, which is the lowest it can report.

use super::{Confidence, RuleSpec, Severity};

/// `(id, name, what the value is)` of each category's rule. The id is
/// `generic-` and the detector's category name.
pub const SCORED: &[(&str, &str, &str)] = &[
    (
        "generic-password",
        "Password without a recognisable format",
        "a password",
    ),
    (
        "generic-secret",
        "Secret without a recognisable format",
        "a secret (client secret, secret key)",
    ),
    (
        "generic-token",
        "Token without a recognisable format",
        "an access, auth or API token",
    ),
    (
        "generic-key",
        "Key without a recognisable format",
        "an API, encryption or signing key",
    ),
    (
        "generic-auth",
        "Authorization header or auth value",
        "an `Authorization` header value or an auth code",
    ),
    (
        "generic-credential",
        "Credential without a recognisable format",
        "a credential (salt, nonce, session or login secret)",
    ),
    (
        "generic-url-password",
        "Password in a URL (user:password@host)",
        "the password of a URL's userinfo",
    ),
    (
        "generic-private-key",
        "Private key in string literals",
        "a PEM private key, possibly split over string literals",
    ),
    (
        "generic-aws-key-id",
        "AWS access key id on its own",
        "an AWS access key id (reported at low confidence)",
    ),
];

/// The rule specs, with provider `generic`.
pub fn rules() -> Vec<(RuleSpec, &'static str)> {
    SCORED
        .iter()
        .map(|(id, name, what)| {
            let spec = RuleSpec {
                id: (*id).to_string(),
                name: (*name).to_string(),
                description: format!(
                    "A value that is {what}, found by the generic detector: a name/value pair \
                     (assignment, keyword argument, config key, call, CLI flag, connection \
                     string, header, URL) scored by a model trained on labelled leaks. The \
                     finding's confidence and `score` come from the model (see the README's \
                     \"Generic detector\")."
                ),
                keywords: Vec::new(),
                pattern: String::new(),
                min_entropy: None,
                must_contain: Vec::new(),
                confidence: Confidence::Low,
                severity: Severity::Medium,
                max_len: 4096,
                companions: Vec::new(),
                references: vec!["https://cwe.mitre.org/data/definitions/798.html".into()],
                examples: Vec::new(),
                negative_examples: Vec::new(),
                generic_examples: Vec::new(),
                reject_if_contains: Vec::new(),
                validate: None,
                revoke: None,
                offline_check: None,
            };
            (spec, "generic")
        })
        .collect()
}
