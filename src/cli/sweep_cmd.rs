//! `keysweep sweep`.

use std::io::{self, IsTerminal};
use std::process::ExitCode;

use super::args::SweepArgs;
use super::{load_rules, EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS};
use super::{open_output, write_report};
use crate::datastore::{self, FindingQuery};
use crate::diag::Messages;
use crate::report::{Report, RunSummary};
use crate::rules::Confidence;
use crate::scan::{Scanner, Summary};
use crate::source::git::GitSummary;
use crate::source::mirror;
use crate::sweep::{self, SweepOptions};

pub fn run(args: SweepArgs) -> anyhow::Result<ExitCode> {
    let rules = load_rules(&args.rules)?;
    let min_confidence = Confidence::from(args.min_confidence);
    let jobs = parallelism(&args)?;
    let repos = repositories(&args)?;
    let mut out = open_output(args.out.output.as_deref())?;
    let mut store = datastore::open(&args.datastore)?;

    let opts = SweepOptions {
        cache: args.cache.clone(),
        shard: args.shard,
        jobs,
        threads: args.threads,
        max_file_size: args.max_file_size,
        rules_digest: sweep::rules_digest(
            &rules,
            &format!(
                "min-confidence={min_confidence};max-file-size={}",
                args.max_file_size
            ),
        ),
        progress: !args.out.quiet && io::stderr().is_terminal(),
    };
    // First, so the diagnostic level holds for the whole run.
    let show = super::show_options(&args.out);
    let messages = Messages::new(args.out.quiet);
    // Inline `keysweep:allow` comments hold in every repository; allowlists,
    // ignore files and baselines are per project and not applied to sweeps.
    let scanner = Scanner::new(rules.clone(), min_confidence)
        .with_triage(std::sync::Arc::new(crate::triage::Triage::new()));
    let s = sweep::sweep(&scanner, &mut *store, repos, &opts, &messages)?;

    let stored = store.findings(&FindingQuery {
        last_seen_run: Some(s.run),
        ..FindingQuery::default()
    })?;
    let seen = stored.len();
    let new = stored.iter().filter(|f| f.first_seen_run == s.run).count();
    let findings: Vec<_> = stored
        .into_iter()
        .filter(|f| !args.new_only || f.first_seen_run == s.run)
        .map(|f| f.finding)
        .collect();
    let summary = run_summary(&s, findings.len(), rules.len());
    let report = Report {
        findings: &findings,
        summary: &summary,
        rules: &rules,
        show,
    };
    write_report(&*super::reporter_for(&args.out)?, &report, &mut out)?;
    if !args.out.quiet {
        print_summary(&s, seen, new);
    }
    let code = if !s.failures.is_empty() {
        EXIT_ERROR
    } else if !findings.is_empty() && !args.out.exit_zero {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    };
    Ok(ExitCode::from(code))
}

/// `--jobs` (default: the number of CPUs), checked with `--threads`.
fn parallelism(args: &SweepArgs) -> anyhow::Result<usize> {
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    if jobs == 0 || args.threads == 0 {
        anyhow::bail!("--jobs and --threads must be at least 1");
    }
    super::check_parallelism("--jobs", jobs)?;
    super::check_parallelism("--threads", args.threads)?;
    super::check_parallelism("--jobs times --threads", jobs.saturating_mul(args.threads))?;
    Ok(jobs)
}

/// The repositories of `--repos` and `--dir`.
fn repositories(args: &SweepArgs) -> anyhow::Result<Vec<String>> {
    let mut repos = Vec::new();
    if let Some(list) = &args.repos {
        repos.extend(mirror::read_list(list)?);
    }
    for dir in &args.dir {
        repos.extend(mirror::find_repos(dir)?);
    }
    Ok(repos)
}

/// The report's summary of a sweep: blobs as files, the sweep's own counts.
fn run_summary(s: &sweep::SweepSummary, findings: usize, rules: usize) -> RunSummary {
    let scan = Summary {
        files_scanned: s.blobs_scanned,
        bytes_scanned: s.bytes_scanned,
        findings,
        errors: s.failures.len() as u64,
        rules,
        git: Some(GitSummary {
            commits: s.commits,
            blobs: s.blobs_scanned + s.blobs_skipped,
            shallow: false,
        }),
        elapsed: s.elapsed,
        ..Summary::default()
    };
    RunSummary {
        sweep: Some(s.clone()),
        ..RunSummary::from(scan)
    }
}

/// The sweep's one-line summary and its failures, on standard error.
fn print_summary(s: &sweep::SweepSummary, seen: usize, new: usize) {
    eprintln!(
        "keysweep: run {}{}: swept {} of {} repositories{} ({} unchanged); scanned {} blobs ({}), \
         skipped {} scanned before; {} findings ({} new); {} failed",
        s.run,
        if s.resumed { " (resumed)" } else { "" },
        s.swept,
        s.repos,
        if s.already_done > 0 {
            format!(", {} done before the interruption", s.already_done)
        } else {
            String::new()
        },
        s.unchanged,
        s.blobs_scanned,
        indicatif::HumanBytes(s.bytes_scanned),
        s.blobs_skipped,
        seen,
        new,
        s.failures.len(),
    );
    for f in &s.failures {
        eprintln!("  failed: {}: {}", f.repo, f.error);
    }
}
