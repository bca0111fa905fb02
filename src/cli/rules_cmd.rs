//! `keysweep rules list` and `keysweep rules check`.

use std::io::{self, Write};
use std::process::ExitCode;

use serde_json::json;

use super::args::{ListFormat, RulesCommand};
use super::setup::setup;
use super::{ignore_broken_pipe, EXIT_CLEAN, EXIT_FINDINGS};
use crate::diag::Messages;
use crate::matcher::check_rules;
use crate::rules::{bundled_validator_files, RuleSet};

pub fn run(cmd: RulesCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        RulesCommand::List {
            format,
            rules,
            config,
        } => {
            let set = setup(&config, &rules, &[], &Messages::new(false))?.rules;
            let mut out = io::stdout().lock();
            ignore_broken_pipe(list(&set, format, &mut out))?;
            Ok(ExitCode::from(EXIT_CLEAN))
        }
        RulesCommand::Check { paths, strict } => {
            let set = if paths.is_empty() {
                RuleSet::builtin_with_examples()?
            } else {
                let mut set = RuleSet::default();
                for p in &paths {
                    set.load_path(p)?;
                }
                set
            };
            let mut report = check_rules(&set);
            if paths.is_empty() {
                let files = bundled_validator_files().map_err(anyhow::Error::msg)?;
                report.errors.extend(set.check_validator_files(&files));
            }
            for e in &report.errors {
                eprintln!("error: {e}");
            }
            for w in &report.warnings {
                eprintln!("warning: {w}");
            }
            println!(
                "{} rules, {} examples, {} negative examples: {} errors, {} warnings",
                report.rules,
                report.examples,
                report.negative_examples,
                report.errors.len(),
                report.warnings.len()
            );
            let ok = report.is_ok() && (!strict || report.warnings.is_empty());
            Ok(ExitCode::from(if ok { EXIT_CLEAN } else { EXIT_FINDINGS }))
        }
    }
}

fn list(set: &RuleSet, format: ListFormat, out: &mut dyn Write) -> io::Result<()> {
    match format {
        ListFormat::Json => list_json(set, out),
        ListFormat::Table => list_table(set, out),
    }
}

fn list_json(set: &RuleSet, out: &mut dyn Write) -> io::Result<()> {
    let all = set.rules();
    let counts = json!({
        "rules": all.len(),
        "providers": all.iter().map(|r| r.provider.as_str()).collect::<std::collections::BTreeSet<_>>().len(),
        "with_validator": all.iter().filter(|r| r.spec.validate.is_some()).count(),
        "with_revoker": all.iter().filter(|r| crate::revoke::has_revoker(r)).count(),
        "with_analyzer": all.iter().filter(|r| crate::analyze::has_analyzer(r)).count(),
        "with_offline_check": all.iter().filter(|r| r.spec.offline_check.is_some()).count(),
    });
    let rules: Vec<_> = set
        .rules()
        .iter()
        .map(|r| {
            json!({
                "id": r.spec.id,
                "name": r.spec.name,
                "provider": r.provider,
                "description": r.spec.description,
                "keywords": r.spec.keywords,
                "confidence": r.spec.confidence,
                "severity": r.spec.severity,
                "references": r.spec.references,
                "origin": r.origin,
                "validator": r.spec.validate.as_ref().map(|v| v.kind),
                "revoker": crate::revoke::has_revoker(r),
                "analyzer": crate::analyze::has_analyzer(r),
                "offline_check": r.spec.offline_check,
            })
        })
        .collect();
    let doc = json!({"counts": counts, "rules": rules});
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

fn list_table(set: &RuleSet, out: &mut dyn Write) -> io::Result<()> {
    let w = set
        .rules()
        .iter()
        .map(|r| r.spec.id.len())
        .max()
        .unwrap_or(2)
        .max(2);
    let pw = set
        .rules()
        .iter()
        .map(|r| r.provider.len())
        .max()
        .unwrap_or(8)
        .max(8);
    writeln!(
        out,
        "{:<w$}  {:<pw$}  {:<10}  {:<8}  NAME",
        "ID", "PROVIDER", "CONFIDENCE", "SEVERITY"
    )?;
    for r in set.rules() {
        writeln!(
            out,
            "{:<w$}  {:<pw$}  {:<10}  {:<8}  {}",
            r.spec.id,
            r.provider,
            r.spec.confidence.to_string(),
            r.spec.severity.to_string(),
            r.spec.name
        )?;
    }
    let with =
        |f: &dyn Fn(&crate::rules::Rule) -> bool| set.rules().iter().filter(|r| f(r)).count();
    writeln!(
        out,
        "{} rules: {} with a validator, {} with an analyzer, {} with a revoker, {} with an offline check",
        set.len(),
        with(&|r| r.spec.validate.is_some()),
        with(&|r| crate::analyze::has_analyzer(r)),
        with(&|r| crate::revoke::has_revoker(r)),
        with(&|r| r.spec.offline_check.is_some()),
    )
}
