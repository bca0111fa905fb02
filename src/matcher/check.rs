//! `keysweep rules check`: every rule compiles, every example matches and no
//! negative or generic example does.

use std::sync::Arc;

use super::{Matcher, Scratch};
use crate::rules::{Rule, RuleSet};

/// The outcome of checking a rule set.
#[derive(Debug, Default)]
pub struct CheckReport {
    pub rules: usize,
    pub examples: usize,
    pub negative_examples: usize,
    /// Problems that make the rule set wrong, each starting with its location.
    pub errors: Vec<String>,
    /// Gaps that do not break scanning (missing references, no examples).
    pub warnings: Vec<String>,
}

impl CheckReport {
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Checks each rule in `set` in isolation, running its examples through the
/// same matcher (prefilter, regex, filters) that a scan uses.
pub fn check_rules(set: &RuleSet) -> CheckReport {
    let mut report = CheckReport::default();
    for rule in set.rules() {
        report.rules += 1;
        let loc = format!("{}: rule {}", rule.origin, rule.id());
        if let Err(e) = rule.try_compile() {
            report.errors.push(format!("{loc}: {e}"));
            continue;
        }
        if let Err(e) = rule.check_validator_parts() {
            let from = match &rule.validator_origin {
                Some(o) if *o != rule.origin => format!(" (validator from {o})"),
                _ => String::new(),
            };
            report.errors.push(format!("{loc}: {e}{from}"));
        }
        let spec = &rule.spec;
        if spec.examples.is_empty() {
            report.warnings.push(format!("{loc}: has no examples"));
        }
        if spec.negative_examples.is_empty() {
            report
                .warnings
                .push(format!("{loc}: has no negative examples"));
        }
        if spec.references.is_empty() {
            report.warnings.push(format!("{loc}: has no references"));
        }
        if spec.description.trim().is_empty() {
            report.warnings.push(format!("{loc}: has no description"));
        }
        let alone = Arc::new(RuleSet::alone(rule));
        let matcher = Matcher::new(alone);
        let mut scratch = Scratch::default();
        for (i, ex) in spec.examples.iter().enumerate() {
            report.examples += 1;
            let found = matcher.scan(ex.as_bytes(), &mut scratch);
            if let (Some(check), Some(m)) = (spec.offline_check, found.first()) {
                let secret = String::from_utf8_lossy(&ex.as_bytes()[m.secret.clone()]);
                let outcome = crate::rules::checksum::run(check, &secret, 0);
                if outcome.status == crate::rules::checksum::CheckStatus::Failed {
                    report.errors.push(format!(
                        "{loc}: example {} fails its {check} check: {}",
                        i + 1,
                        outcome.detail
                    ));
                }
            }
            if found.is_empty() {
                let why = if !has_keyword(rule, ex) {
                    " (it contains none of the rule's keywords)"
                } else {
                    ""
                };
                report.errors.push(format!(
                    "{loc}: example {} does not match{why}: {ex:?}",
                    i + 1
                ));
            }
        }
        let negatives = (spec.negative_examples.iter().enumerate())
            .map(|(i, ex)| ("negative", i, ex))
            .chain((spec.generic_examples.iter().enumerate()).map(|(i, ex)| ("generic", i, ex)));
        for (kind, i, ex) in negatives {
            report.negative_examples += 1;
            let found = matcher.scan(ex.as_bytes(), &mut scratch);
            if let Some(m) = found.first() {
                report.errors.push(format!(
                    "{loc}: {kind} example {} matches {:?}: {ex:?}",
                    i + 1,
                    String::from_utf8_lossy(&ex.as_bytes()[m.secret.clone()])
                ));
            }
        }
    }
    report
}

fn has_keyword(rule: &Rule, text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    rule.spec
        .keywords
        .iter()
        .any(|k| lower.contains(&k.to_ascii_lowercase()))
}
