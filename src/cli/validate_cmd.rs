//! `keysweep validate`: check one known secret with its provider.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::process::ExitCode;

use serde_json::json;

use super::args::{RuleArgs, ValidateArgs, ValidateFormat};
use super::{
    ignore_broken_pipe, load_rules, validate_options, EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS,
};
use crate::finding::ValidationStatus;
use crate::validate::Validator;

pub fn run(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let rules = load_rules(&RuleArgs {
        rules: args.rules.clone(),
        rule: vec![args.rule.clone()],
        exclude_rule: Vec::new(),
    })?;
    let rule = rules.get(&args.rule).ok_or_else(|| {
        anyhow::anyhow!(
            "unknown rule id {:?} (see `keysweep rules list`)",
            args.rule
        )
    })?;
    if rule.spec.validate.is_none() {
        anyhow::bail!(
            "rule {} has no validator (`keysweep rules list -f json` shows which rules have one)",
            args.rule
        );
    }
    let secret = if args.secret == "-" {
        let mut s = String::new();
        io::stdin().read_to_string(&mut s)?;
        s.trim_end_matches(['\r', '\n']).to_string()
    } else {
        args.secret.clone()
    };
    if secret.is_empty() {
        anyhow::bail!("the secret is empty");
    }
    let parts: BTreeMap<String, String> = args.part.iter().cloned().collect();
    let validator = Validator::new(validate_options(&args.net, &rules, 1)?)?;
    let v = validator.check(rule, &secret, &parts);

    let mut out = io::stdout().lock();
    let written = match args.format {
        ValidateFormat::Human => writeln!(out, "{}: {}", v.status, v.detail),
        ValidateFormat::Json => {
            let doc = json!({"rule_id": rule.id(), "provider": rule.provider, "validation": v});
            serde_json::to_writer_pretty(&mut out, &doc)
                .map_err(io::Error::from)
                .and_then(|_| writeln!(out))
        }
    };
    ignore_broken_pipe(written)?;
    // A live secret is a finding; a rejected one is clean; anything that
    // proves nothing is not a clean bill of health.
    Ok(ExitCode::from(match v.status {
        ValidationStatus::Live => EXIT_FINDINGS,
        ValidationStatus::Invalid => EXIT_CLEAN,
        ValidationStatus::Unknown | ValidationStatus::NotChecked => EXIT_ERROR,
    }))
}
