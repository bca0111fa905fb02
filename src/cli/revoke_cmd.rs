//! `keysweep revoke --from REPORT.json`: revoke the secrets of an earlier
//! report, e.g. one a scheduled sweep wrote and a human reviewed.

use std::io::{self};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use super::args::{RevokeArgs, RuleArgs};
use super::setup::setup;
use super::write_report;
use super::{
    add_config_endpoints, revoke_options, validate_options, EXIT_CLEAN, EXIT_REVOKE_FAILED,
};
use crate::diag::Messages;
use crate::finding::Finding;
use crate::report::{Format, Report, RunSummary};
use crate::revoke::Revoker;
use crate::scan::Summary;
use crate::validate::Validator;

/// Reads the findings of a JSON report (`-f json`) or JSON Lines report
/// (`-f jsonl`).
///
/// # Errors
///
/// Names the file when it cannot be read or parsed, and refuses redacted
/// secrets: revoking needs the secret itself.
pub(crate) fn read_report(path: &Path) -> anyhow::Result<Vec<Finding>> {
    let text = crate::blob::read_text_file(path)
        .with_context(|| format!("{}: cannot read the report", path.display()))?;
    parse_report(&text, path)
}

/// Parses the text of a report read from `path`; public so the fuzz target
/// `report` runs the same code as `revoke --from`.
///
/// # Errors
///
/// As [`read_report`].
pub fn parse_report(text: &str, path: &Path) -> anyhow::Result<Vec<Finding>> {
    let trimmed = text.trim_start();
    let findings: Vec<Finding> = if trimmed.starts_with('{') && !trimmed.contains("\n{") {
        #[derive(serde::Deserialize)]
        struct Doc {
            findings: Vec<Finding>,
        }
        serde_json::from_str::<Doc>(text)
            .with_context(|| format!("{}: not a keysweep JSON report", path.display()))?
            .findings
    } else {
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                serde_json::from_str(l).with_context(|| {
                    format!("{}:{}: not a keysweep finding", path.display(), i + 1)
                })
            })
            .collect::<anyhow::Result<_>>()?
    };
    let redacted = findings
        .iter()
        .filter(|f| f.matched.secret.contains('…') || f.matched.secret.is_empty())
        .count();
    if redacted > 0 {
        anyhow::bail!(
            "{}: {redacted} of {} findings have redacted secrets, which cannot be revoked; \
             write the report with `keysweep scan -f json --show-secrets -o REPORT.json` \
             and keep it somewhere only you can read",
            path.display(),
            findings.len()
        );
    }
    Ok(findings)
}

pub fn run(args: RevokeArgs) -> anyhow::Result<ExitCode> {
    let messages = Messages::new(false);
    let mut findings = read_report(&args.from)?;
    let setup = setup(
        &args.config,
        &RuleArgs {
            rules: args.rules.clone(),
            ..RuleArgs::default()
        },
        &[PathBuf::from(".")],
        &messages,
    )?;
    let ropts = revoke_options(setup.config.as_ref())?;
    let mut opts = validate_options(&args.net, &setup.rules, 8)?;
    add_config_endpoints(&mut opts, setup.config.as_ref())?;
    let validator = Validator::new(opts)?;
    let mut summary = RunSummary::from(Summary {
        findings: findings.len(),
        rules: setup.rules.len(),
        ..Summary::default()
    });
    if args.validate {
        summary.validation = Some(validator.validate_findings(&setup.rules, &mut findings));
    }
    let mut revoker = Revoker::new(ropts, &validator, &setup.rules)?;
    let rsummary = revoker.revoke_findings(&mut findings)?;
    for line in &revoker.plan {
        eprintln!("keysweep: dry run: {line}");
    }
    let failed = rsummary.has_failures();
    if args.format != Format::Human {
        eprintln!(
            "keysweep: revocation: {}",
            crate::revoke::summary_line(&rsummary)
        );
        for line in &rsummary.failures {
            eprintln!("keysweep: revocation failed: {line}");
        }
    }
    summary.revocation = Some(rsummary);
    let report = Report {
        findings: &findings,
        summary: &summary,
        rules: &setup.rules,
        show: Default::default(),
    };
    let mut out = io::stdout().lock();
    write_report(&*crate::report::reporter(args.format), &report, &mut out)?;
    Ok(ExitCode::from(if failed {
        EXIT_REVOKE_FAILED
    } else {
        EXIT_CLEAN
    }))
}
