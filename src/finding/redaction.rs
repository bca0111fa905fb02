//! How secrets are shown when they are not shown in full.
//!
//! # The rule
//!
//! A secret is split into its *known prefix* (the fixed part its rule names
//! as a keyword, such as `ghp_`, `github_pat_`, `AKIA`, or the header of a
//! PEM key) and its *random part*. The prefix is shown, since every token of
//! that kind starts with it. Of the random part (n characters), `k` characters
//! are shown at each end, where `k = 0` when `n < 16` and `k = min(3, n / 8)`
//! otherwise, so at most a quarter of the random part is ever shown and at
//! least 10 characters (n − 2k, with n ≥ 16) stay hidden:
//! `ghp_R8fK2mQ9xLz4Tb7Wc1Vn5Hj3Ds6Ga0Py2Ue8` becomes `ghp_R8f…Ue8`.
//!
//! Why that cannot be brute-forced: the 36 base62 characters of a GitHub
//! token keep 30 hidden, 62^30 ≈ 2^178 candidates; a 40-character AWS secret
//! keeps 34 of 64 possible characters hidden, 2^204. A password shorter than
//! 16 characters shows nothing but `…`, since a dictionary attack on a weak
//! one would be helped by any known characters. The shown ends are there so
//! that two different tokens of one kind look different; `secret_id` (a keyed
//! hash, see [`super::secret_id`]) says when two findings are the same secret.
//!
//! `--redact=N` replaces the rule with gitleaks' semantics: N% of the secret
//! is hidden, the first (100 − N)% shown.
//!
//! Values that are not secret by their provider's own documentation (an AWS
//! access key id, a Twilio account SID, a client id, an email address) are
//! shown in full, both as a finding's part and as the secret of the
//! `aws-access-key-id` rule.
//!
//! Every other known secret (the secret and secret parts of every finding in
//! the report) is replaced by its redacted form wherever it appears in the
//! text a report shows: the snippet, the fix, validation and revocation
//! details, commit messages.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, MatchKind};

use super::Finding;
use crate::rules::RuleSet;

/// How secrets are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Redaction {
    /// The known prefix and a few characters at both ends of the random part
    /// (see the module docs).
    #[default]
    Identify,
    /// gitleaks' `--redact=N`: hide N% of the secret (1–100), showing the
    /// first (100 − N)% of its characters.
    Percent(u8),
}

/// Names of parts that identify an account or key but grant nothing alone.
const PUBLIC_PARTS: &[&str] = &[
    "access_id",
    "account_sid",
    "app_id",
    "client_email",
    "client_id",
    "email",
    "host",
    "key_id",
    "key_sid",
    "public_key",
    "user",
    "username",
];

/// Rules whose "secret" is an identifier its provider documents as not
/// secret; reported because it travels with a secret, shown in full.
const PUBLIC_RULES: &[&str] = &["aws-access-key-id"];

/// Whether a finding's part with this name is shown in full.
pub fn is_public_part(name: &str) -> bool {
    PUBLIC_PARTS.contains(&name)
}

/// Whether a rule's secret is shown in full.
pub fn is_public_rule(rule_id: &str) -> bool {
    PUBLIC_RULES.contains(&rule_id)
}

/// Below this many characters a value is not searched for in other text:
/// a short password would blank out ordinary words.
const MIN_KNOWN_LEN: usize = 6;

/// Redacts one secret whose fixed prefix is `prefix_len` bytes long (0 when
/// unknown).
pub fn redact_with(secret: &str, prefix_len: usize, policy: Redaction) -> String {
    match policy {
        Redaction::Percent(p) => {
            let n = secret.chars().count();
            let shown = n * usize::from(100 - p.min(100)) / 100;
            let head: String = secret.chars().take(shown).collect();
            format!("{head}…")
        }
        Redaction::Identify => identify(secret, prefix_len),
    }
}

fn identify(secret: &str, prefix_len: usize) -> String {
    if let Some(pem) = pem_parts(secret) {
        return ends(pem.0, &pem.1);
    }
    let prefix_len = if secret.is_char_boundary(prefix_len) && prefix_len < secret.len() {
        prefix_len
    } else {
        0
    };
    let rest: Vec<char> = secret[prefix_len..].chars().collect();
    ends(&secret[..prefix_len], &rest)
}

/// `prefix` then k characters of `random` at each end (see the module docs).
fn ends(prefix: &str, random: &[char]) -> String {
    let n = random.len();
    let k = if n < 16 { 0 } else { (n / 8).min(3) };
    let head: String = random[..k].iter().collect();
    let tail: String = random[n - k..].iter().collect();
    format!("{prefix}{head}…{tail}")
}

/// A PEM block's header line and the characters of its body (whitespace
/// left out), so the ends shown are the key's, not the footer's dashes.
fn pem_parts(secret: &str) -> Option<(&str, Vec<char>)> {
    let rest = secret.strip_prefix("-----BEGIN ")?;
    let header_end = "-----BEGIN ".len() + rest.find("-----")? + 5;
    let body = &secret[header_end..];
    let body = body.find("-----END").map_or(body, |e| &body[..e]);
    Some((
        &secret[..header_end],
        body.chars().filter(|c| !c.is_whitespace()).collect(),
    ))
}

/// The fixed prefix of a secret by its shape, for when its rule is not at
/// hand: `ghp_`, `github_pat_`, `sk-proj-`, `xoxb-`, `glpat-`: up to three
/// runs of 2–12 lowercase letters each followed by `_` or `-`, at most a third
/// of the secret.
pub fn shape_prefix(secret: &str) -> usize {
    let b = secret.as_bytes();
    let mut end = 0;
    for _ in 0..3 {
        let run = b[end..]
            .iter()
            .take_while(|c| c.is_ascii_lowercase())
            .count();
        if !(2..=12).contains(&run) || !matches!(b.get(end + run), Some(b'_' | b'-')) {
            break;
        }
        end += run + 1;
    }
    if end * 3 > b.len() {
        0
    } else {
        end
    }
}

/// The longest of a rule's keywords that starts the secret, else its shape.
fn prefix_len(secret: &str, keywords: &[String]) -> usize {
    keywords
        .iter()
        .filter(|k| !k.is_empty() && k.len() < secret.len() && secret.starts_with(k.as_str()))
        .map(String::len)
        .max()
        .unwrap_or_else(|| shape_prefix(secret))
}

/// Redacts the findings of one report: each finding's own secret and parts,
/// and every known secret of the report wherever it appears in shown text.
///
/// Building it costs one Aho-Corasick automaton over the report's distinct
/// secrets; each redaction is then linear in the text redacted.
pub struct Redactor {
    policy: Redaction,
    keywords: HashMap<String, Vec<String>>,
    /// Known secrets and their redacted forms, in automaton pattern order.
    known: Option<(AhoCorasick, Vec<String>)>,
}

impl Redactor {
    /// A redactor that knows every secret of `findings`, with prefixes from
    /// the rules of `rules` (when given).
    pub fn new(findings: &[Finding], rules: Option<&RuleSet>, policy: Redaction) -> Redactor {
        let mut keywords = HashMap::new();
        for f in findings {
            if keywords.contains_key(&f.rule.id) {
                continue;
            }
            let kw = rules
                .and_then(|r| r.get(&f.rule.id))
                .map(|r| r.spec.keywords.clone())
                .unwrap_or_default();
            keywords.insert(f.rule.id.clone(), kw);
        }
        let mut r = Redactor {
            policy,
            keywords,
            known: None,
        };
        let mut known: HashMap<&str, String> = HashMap::new();
        for f in findings {
            if !is_public_rule(&f.rule.id) {
                let red = r.secret(f);
                // A secret spanning lines shows only its first in a snippet.
                if let Some(first) = f
                    .matched
                    .secret
                    .lines()
                    .next()
                    .filter(|l| *l != f.matched.secret)
                {
                    known.entry(first).or_insert_with(|| red.clone());
                }
                known.entry(f.matched.secret.as_str()).or_insert(red);
            }
            for (name, v) in &f.matched.parts {
                if !is_public_part(name) {
                    known
                        .entry(v.as_str())
                        .or_insert_with(|| r.plain(v.as_str()));
                }
            }
        }
        known.retain(|k, _| k.chars().count() >= MIN_KNOWN_LEN);
        if !known.is_empty() {
            let (pats, reps): (Vec<&str>, Vec<String>) = known.into_iter().unzip();
            let ac = AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&pats)
                .expect("literal patterns within the default size limits");
            r.known = Some((ac, reps));
        }
        r
    }

    /// The redacted form of a finding's secret.
    pub fn secret(&self, f: &Finding) -> String {
        if is_public_rule(&f.rule.id) {
            return f.matched.secret.clone();
        }
        let kw = self.keywords.get(&f.rule.id).map_or(&[][..], Vec::as_slice);
        redact_with(
            &f.matched.secret,
            prefix_len(&f.matched.secret, kw),
            self.policy,
        )
    }

    /// The redacted form of a value whose rule is unknown.
    fn plain(&self, v: &str) -> String {
        redact_with(v, shape_prefix(v), self.policy)
    }

    /// `text` with every known secret redacted.
    pub fn mask(&self, text: &str) -> String {
        match &self.known {
            Some((ac, reps)) => ac.replace_all(text, reps),
            None => text.to_string(),
        }
    }

    /// A copy of `f` as reports show it.
    pub fn finding(&self, f: &Finding) -> Finding {
        let mut out = f.clone();
        out.matched.secret = self.secret(f);
        for (name, v) in out.matched.parts.iter_mut() {
            if !is_public_part(name) {
                *v = self.plain(v);
            }
        }
        out.matched.snippet = self.mask(&f.matched.snippet);
        let mask = |s: &mut String| *s = self.mask(s);
        out.place.fix.as_mut().map(mask);
        out.place.variable.as_mut().map(mask);
        out.place.decoded.as_mut().map(mask);
        out.annotations.repo.as_mut().map(mask);
        if let Some(v) = &mut out.annotations.validation {
            mask(&mut v.detail);
        }
        if let Some(r) = &mut out.annotations.revocation {
            mask(&mut r.detail);
        }
        if let Some(a) = &mut out.annotations.analysis {
            a.identity.as_mut().map(mask);
            a.error.as_mut().map(mask);
            a.scopes.iter_mut().for_each(mask);
        }
        if let Some(s) = &mut out.annotations.suppressed {
            mask(&mut s.detail);
        }
        if let Some(g) = &mut out.git {
            mask(&mut g.message);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identify_keeps_prefix_and_ends() {
        let kw = vec!["ghp_".to_string()];
        let s = "ghp_R8fK2mQ9xLz4Tb7Wc1Vn5Hj3Ds6Ga0Py2Ue8";
        assert_eq!(
            redact_with(s, prefix_len(s, &kw), Redaction::Identify),
            "ghp_R8f…Ue8"
        );
        // Short secrets show nothing of their random part.
        assert_eq!(redact_with("hunter2hunter", 0, Redaction::Identify), "…");
        // 16 characters: 2 at each end, a quarter.
        assert_eq!(
            redact_with("abcdefghijklmnop", 0, Redaction::Identify),
            "ab…op"
        );
    }

    #[test]
    fn never_more_than_a_quarter_of_the_random_part() {
        for n in 0..200 {
            let s: String = (0..n).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
            let r = redact_with(&s, 0, Redaction::Identify);
            let shown = r.chars().count() - 1;
            assert!(shown * 4 <= n, "{n}: {r}");
            assert!(n < 16 || n - shown >= 10, "{n}: {r}");
        }
    }

    #[test]
    fn pem_shows_header_and_body_ends() {
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx1\nZZZZabcdefghijklmnopqrstu9Qx=\n-----END RSA PRIVATE KEY-----";
        assert_eq!(
            redact_with(pem, 0, Redaction::Identify),
            "-----BEGIN RSA PRIVATE KEY-----MII…Qx="
        );
    }

    #[test]
    fn percent_follows_gitleaks() {
        assert_eq!(
            redact_with("abcdefghij", 0, Redaction::Percent(20)),
            "abcdefgh…"
        );
        assert_eq!(redact_with("abcdefghij", 0, Redaction::Percent(100)), "…");
    }

    #[test]
    fn shape_prefixes() {
        assert_eq!(
            shape_prefix("github_pat_abcdefghijklmnopqrstuvwxyz0123"),
            11
        );
        assert_eq!(shape_prefix("sk-proj-abcdefghijklmnopqrstuvwx"), 8);
        assert_eq!(shape_prefix("ABCDEFGH"), 0);
        assert_eq!(shape_prefix("ab_c"), 0);
    }

    fn finding(rule: &str, secret: &str, snippet: &str) -> Finding {
        Finding {
            rule: crate::finding::RuleRef {
                id: rule.into(),
                ..Default::default()
            },
            matched: crate::finding::Matched {
                secret: secret.into(),
                snippet: snippet.into(),
                ..Default::default()
            },
            ..Finding::default()
        }
    }

    #[test]
    fn every_known_secret_is_masked_in_every_snippet() {
        let id = "AKIA454ML6LG4TJFCZ4K";
        let key = "lAFbVV6q9rXxtNDFyuzX9k1gnneGEYG1+LwiqD9j";
        let tok = "ghp_R8fK2mQ9xLz4Tb7Wc1Vn5Hj3Ds6Ga0Py2Ue8";
        let line = format!("{{\"id\":\"{id}\",\"key\":\"{key}\",\"gh\":\"{tok}\"}}");
        let mut aws = finding("aws-secret-access-key", key, &line);
        aws.matched.parts.insert("key_id".into(), id.into());
        let mut gh = finding("github-pat-classic", tok, &line);
        gh.place.fix = Some(format!("replace {key} with a reference"));
        let fs = vec![aws, gh, finding("aws-access-key-id", id, &line)];
        let r = Redactor::new(&fs, None, Redaction::Identify);
        for f in &fs {
            let shown = r.finding(f);
            for text in [
                &shown.matched.snippet,
                shown.place.fix.as_deref().unwrap_or(""),
            ] {
                assert!(!text.contains(key) && !text.contains(tok), "{text}");
            }
            assert!(shown.matched.snippet.contains(id), "key ids are not secret");
        }
        assert_eq!(r.finding(&fs[0]).matched.parts["key_id"], id);
        assert_eq!(r.finding(&fs[2]).matched.secret, id);
        assert!(!r.finding(&fs[1]).place.fix.unwrap().contains(key));
    }
}
