//! `keysweep analyze`: what a live secret can do — one secret given on the
//! command line or standard input, or every live secret of a JSON report.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::json;

use super::args::{AnalyzeArgs, RuleArgs, ValidateFormat};
use super::{
    ignore_broken_pipe, load_rules, validate_options, write_report, EXIT_CLEAN, EXIT_ERROR,
    EXIT_FINDINGS,
};
use crate::analyze::{analyzer_for, Analyzer};
use crate::finding::{Validation, ValidationStatus};
use crate::report::{Format, Report, RunSummary};
use crate::scan::Summary;
use crate::validate::Validator;

pub fn run(args: AnalyzeArgs) -> anyhow::Result<ExitCode> {
    if args.concurrency == 0 {
        anyhow::bail!("--concurrency must be at least 1");
    }
    match args.from.clone() {
        Some(path) => from_report(&args, path),
        None => one(&args),
    }
}

/// One secret: validated first where the rule has a validator, analyzed
/// when live (or when only an analyzer exists, whose success proves it).
fn one(args: &AnalyzeArgs) -> anyhow::Result<ExitCode> {
    let id = args.rule.clone().unwrap_or_default();
    let rules = load_rules(&RuleArgs {
        rules: args.rules.clone(),
        rule: vec![id.clone()],
        exclude_rule: Vec::new(),
    })?;
    let rule = rules
        .get(&id)
        .ok_or_else(|| anyhow::anyhow!("unknown rule id {id:?} (see `keysweep rules list`)"))?;
    let Some(spec) = analyzer_for(rule) else {
        anyhow::bail!(
            "rule {id} has no analyzer (`keysweep rules list -f json` shows which rules have one)"
        );
    };
    let secret = read_secret(args.secret.as_deref().unwrap_or("-"))?;
    let parts: BTreeMap<String, String> = args.part.iter().cloned().collect();
    let validator = Validator::new(validate_options(&args.net, &rules, 1)?)?;
    let validation = if rule.spec.validate.is_some() {
        validator.check(rule, &secret, &parts)
    } else if spec.is_offline() {
        Validation::not_checked("no validator for this rule; the offline analysis cannot tell")
    } else {
        Validation::not_checked("no validator for this rule; analysis decides")
    };
    let analysis = match validation.status {
        ValidationStatus::Live | ValidationStatus::NotChecked => {
            Some(Analyzer::new(&validator).analyze(rule, &secret, &parts))
        }
        _ => None,
    };
    // An offline analysis reads the secret, not the provider: it proves
    // nothing live, though a token past its own expiry is proved dead.
    let analyzed = analysis.as_ref().and_then(|a| a.as_ref().ok());
    let live =
        validation.status == ValidationStatus::Live || (analyzed.is_some() && !spec.is_offline());
    let expired =
        spec.is_offline() && analyzed.is_some_and(|a| a.scopes.iter().any(|s| s == "expired"));
    let mut out = io::stdout().lock();
    let written = match args.format {
        ValidateFormat::Human => {
            let mut text = format!("validation {}: {}\n", validation.status, validation.detail);
            match &analysis {
                Some(Ok(a)) => text.push_str(&format!("analysis: {}\n", a.summary())),
                Some(Err(e)) => text.push_str(&format!("analysis failed: {e}\n")),
                None => text.push_str("analysis: not run (the secret is not live)\n"),
            }
            out.write_all(text.as_bytes())
        }
        ValidateFormat::Json => {
            let analysis = match &analysis {
                Some(Ok(a)) => json!(a),
                Some(Err(e)) => json!({"error": e.to_string()}),
                None => json!(null),
            };
            let doc = json!({"rule_id": rule.id(), "provider": rule.provider,
                             "validation": validation, "analysis": analysis});
            serde_json::to_writer_pretty(&mut out, &doc)
                .map_err(io::Error::from)
                .and_then(|_| writeln!(out))
        }
    };
    ignore_broken_pipe(written)?;
    Ok(ExitCode::from(if live {
        EXIT_FINDINGS
    } else if validation.status == ValidationStatus::Invalid || expired {
        EXIT_CLEAN
    } else {
        EXIT_ERROR
    }))
}

/// Every finding of a report: validated again, live ones analyzed, the
/// report written back out with `analysis` set (secrets redacted).
fn from_report(args: &AnalyzeArgs, path: PathBuf) -> anyhow::Result<ExitCode> {
    let mut findings = super::revoke_cmd::read_report(&path)?;
    let rules = load_rules(&RuleArgs {
        rules: args.rules.clone(),
        ..RuleArgs::default()
    })?;
    let validator = Validator::new(validate_options(&args.net, &rules, args.concurrency)?)?;
    let mut summary = RunSummary::from(Summary {
        findings: findings.len(),
        rules: rules.len(),
        ..Summary::default()
    });
    summary.validation = Some(validator.validate_findings(&rules, &mut findings));
    summary.analysis = Some(Analyzer::new(&validator).analyze_findings(&rules, &mut findings));
    let live = findings.iter().any(|f| {
        f.annotations
            .validation
            .as_ref()
            .is_some_and(|v| v.status == ValidationStatus::Live)
    });
    let report = Report {
        findings: &findings,
        summary: &summary,
        rules: &rules,
        show: Default::default(),
    };
    let format = match args.format {
        ValidateFormat::Human => Format::Human,
        ValidateFormat::Json => Format::Json,
    };
    write_report(
        &*crate::report::reporter(format),
        &report,
        &mut io::stdout().lock(),
    )?;
    Ok(ExitCode::from(if live {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    }))
}

/// The secret as given, or standard input for `-` (line ending removed).
fn read_secret(arg: &str) -> anyhow::Result<String> {
    let secret = if arg == "-" {
        let mut s = String::new();
        io::stdin().take(1 << 20).read_to_string(&mut s)?;
        s.trim_end_matches(['\r', '\n']).to_string()
    } else {
        arg.to_string()
    };
    if secret.is_empty() {
        anyhow::bail!("the secret is empty");
    }
    Ok(secret)
}
