//! `keysweep report`: findings stored by sweeps, in any output format.

use std::process::ExitCode;

use super::args::ReportArgs;
use super::sweep_cmd::run_summary;
use super::{open_output, write_report};
use super::{EXIT_CLEAN, EXIT_FINDINGS};
use crate::datastore::{self, Datastore, FindingQuery};
use crate::finding::Finding;
use crate::report::{Format, Report, RunSummary};
use crate::rules::RuleSet;
use crate::scan::Summary;
use crate::source::git::GitSummary;

pub fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let location = datastore::location(args.datastore.as_deref());
    let is_url = location.contains("://");
    if !is_url && !std::path::Path::new(&location).exists() {
        anyhow::bail!(
            "{}: no such datastore (run `keysweep sweep` first, or pass --datastore)",
            datastore::display_location(&location)
        );
    }
    let mut out = open_output(args.out.output.as_deref())?;
    let mut store = datastore::open(&location)?;
    // The run the summary describes, and that "new" is relative to.
    let run = match args.run {
        Some(r) => Some(r),
        None => store.runs()?.last().map(|r| r.id),
    };
    let findings: Vec<Finding> = store
        .findings(&FindingQuery {
            since_run: args.since,
            last_seen_run: args.run,
            ..FindingQuery::default()
        })?
        .into_iter()
        .map(|f| f.into_finding(run))
        .collect();
    // Rule metadata for SARIF's rule table: the bundled rules, where the
    // stored findings' rules usually come from.
    let rules = RuleSet::builtin();
    let summary = summary_of(&mut *store, run, &findings, rules.len())?;
    let report = Report {
        findings: &findings,
        summary: &summary,
        rules: &rules,
        show: super::show_options(&args.out),
    };
    write_report(&*super::reporter_for(&args.out)?, &report, &mut out)?;
    if args.out.format != Format::Human && !args.out.quiet {
        eprintln!(
            "keysweep: {} findings from {}",
            findings.len(),
            datastore::display_location(&location)
        );
    }
    Ok(ExitCode::from(
        if findings.is_empty() || args.out.exit_zero {
            EXIT_CLEAN
        } else {
            EXIT_FINDINGS
        },
    ))
}

/// The summary of `run` as stored (scanned counts, repositories, new, live
/// and revoked findings); only the findings' count when the store has no run.
fn summary_of(
    store: &mut dyn Datastore,
    run: Option<i64>,
    findings: &[Finding],
    rules: usize,
) -> anyhow::Result<RunSummary> {
    let Some(run) = run else {
        return Ok(RunSummary::from(Summary {
            findings: findings.len(),
            rules,
            git: Some(GitSummary::default()),
            ..Summary::default()
        }));
    };
    let sweep = crate::sweep::stored_summary(store, run, findings)?;
    Ok(run_summary(&sweep, findings.len(), rules))
}
