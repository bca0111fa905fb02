//! `keysweep sweep`.

use std::io::{self, IsTerminal};
use std::process::ExitCode;

use anyhow::Context;

use super::args::{NetArgs, PlatformArgs, SweepArgs};
use super::scan_cmd::{check_flags, fails, is_live, use_baseline, ChecksPlan};
use super::setup::{setup, Setup};
use super::{open_output, write_report};
use super::{EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, EXIT_REVOKE_FAILED};
use crate::datastore::{self, CheckTimes, Datastore, FindingQuery};
use crate::diag::Messages;
use crate::finding::Finding;
use crate::report::{Report, RunSummary};
use crate::rules::Confidence;
use crate::scan::{Scanner, Summary};
use crate::source::git::GitSummary;
use crate::source::mirror;
use crate::sweep::notify::NotifyOptions;
use crate::sweep::{self, forge, SweepOptions};

pub fn run(args: SweepArgs) -> anyhow::Result<ExitCode> {
    // First, so the diagnostic level holds for the whole run.
    let show = super::show_options(&args.out);
    let messages = Messages::new(args.out.quiet);
    let (mut setup, inputs) = sweep_setup(&args, &messages)?;
    check_flags(&args.checks)?;
    let plan = ChecksPlan::new(&args.checks, &setup)?;
    let notify = notify_options(&args)?;
    let jobs = parallelism(&args)?;
    let repos = repositories(&args, &messages)?;
    let mut out = open_output(args.out.output.as_deref())?;
    let mut store = datastore::open(&datastore::location(args.datastore.as_deref()))?;

    let opts = sweep_options(&args, &setup, &inputs, jobs)?;
    let rules = setup.rules.clone();
    let triage = std::mem::take(&mut setup.triage);
    let scanner = Scanner::new(rules.clone(), Confidence::from(args.min_confidence))
        .with_triage(std::sync::Arc::new(triage));
    let mut s = sweep::sweep(&scanner, &mut *store, repos, &opts, &messages)?;

    let mut stored = Stored::load(&mut *store, s.run, args.new_only)?;
    let checks = stored.check(plan, &args, &rules, &mut *store)?;
    sweep::add_stored(&mut s, &mut *store, &stored.findings)?;
    let notified = notify
        .map(|n| send_notification(&n, s.run, &stored.new_findings()))
        .transpose();
    let summary = RunSummary {
        validation: checks.validation,
        analysis: checks.analysis,
        revocation: checks.revocation,
        ..run_summary(&s, stored.findings.len(), rules.len())
    };
    let report = Report {
        findings: &stored.findings,
        summary: &summary,
        rules: &rules,
        show,
    };
    write_report(&*super::reporter_for(&args.out)?, &report, &mut out)?;
    if !args.out.quiet {
        print_summary(&s, stored.seen, stored.new);
    }
    if let Err(e) = &notified {
        // An error, not a warning: shown with --quiet too.
        eprintln!("keysweep: {e}");
    }
    Ok(ExitCode::from(exit_code(
        &args,
        &s,
        &summary,
        &stored.findings,
        notified.is_err(),
    )))
}

/// Rules, allowlists and baseline: from `--config` (or `$KEYSWEEP_CONFIG`)
/// only. A `keysweep.toml` in the current directory is not picked up: a sweep
/// has no scan root, and each repository's own files are scanned content.
/// Also returns the files read (config, gitleaks config, baseline).
fn sweep_setup(
    args: &SweepArgs,
    messages: &Messages,
) -> anyhow::Result<(Setup, Vec<std::path::PathBuf>)> {
    let mut cfg = args.config.clone();
    let from_env = std::env::var_os("KEYSWEEP_CONFIG").is_some_and(|v| !v.is_empty());
    if cfg.config.is_none() && !from_env {
        cfg.no_config = true;
    }
    let mut setup = setup(&cfg, &args.rules, &[], messages)?;
    let mut inputs: Vec<std::path::PathBuf> = setup.config.iter().map(|c| c.path.clone()).collect();
    inputs.extend(cfg.gitleaks_config.clone());
    inputs.extend(use_baseline(&args.triage, &mut setup, messages)?);
    Ok((setup, inputs))
}

/// The sweep's options; the rules digest covers the files the triage came
/// from too, so changing an allowlist or baseline scans every repository
/// again.
fn sweep_options(
    args: &SweepArgs,
    setup: &Setup,
    inputs: &[std::path::PathBuf],
    jobs: usize,
) -> anyhow::Result<SweepOptions> {
    let min_confidence = Confidence::from(args.min_confidence);
    let mut options = format!(
        "min-confidence={min_confidence};max-file-size={}",
        args.max_file_size
    );
    for p in inputs {
        options.push_str(&format!(";{}", file_digest(p)?));
    }
    Ok(SweepOptions {
        cache: args.cache.clone(),
        shard: args.shard,
        jobs,
        threads: args.threads,
        max_file_size: args.max_file_size,
        rules_digest: sweep::rules_digest(&setup.rules, &options),
        progress: !args.out.quiet && io::stderr().is_terminal(),
    })
}

fn file_digest(path: &std::path::Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    Ok(format!("{:016x}", twox_hash::XxHash3_64::oneshot(&bytes)))
}

/// The findings the sweep reports, from the store.
struct Stored {
    /// Reported: seen in this run (only the new ones with `--new-only`),
    /// each annotated with the runs that saw it.
    findings: Vec<Finding>,
    /// When each reported finding was last validated and analyzed (Unix
    /// seconds).
    validated_at: Vec<Option<i64>>,
    analyzed_at: Vec<Option<i64>>,
    /// Findings seen in this run, and of those first seen in it.
    seen: usize,
    new: usize,
}

/// What validation and revocation did after the sweep.
#[derive(Default)]
struct Checks {
    validation: Option<crate::validate::ValidationSummary>,
    analysis: Option<crate::analyze::AnalysisSummary>,
    revocation: Option<crate::revoke::RevokeSummary>,
}

impl Stored {
    fn load(store: &mut dyn Datastore, run: i64, new_only: bool) -> anyhow::Result<Stored> {
        let all = store.findings(&FindingQuery {
            last_seen_run: Some(run),
            ..FindingQuery::default()
        })?;
        let seen = all.len();
        let new = all.iter().filter(|f| f.first_seen_run == run).count();
        let kept: Vec<_> = all
            .into_iter()
            .filter(|f| !new_only || f.first_seen_run == run)
            .collect();
        Ok(Stored {
            validated_at: kept.iter().map(|f| f.validated_at).collect(),
            analyzed_at: kept.iter().map(|f| f.analyzed_at).collect(),
            findings: kept
                .into_iter()
                .map(|f| f.into_finding(Some(run)))
                .collect(),
            seen,
            new,
        })
    }

    /// Findings first seen in this run.
    fn new_findings(&self) -> Vec<Finding> {
        self.findings
            .iter()
            .filter(|f| f.annotations.sweep.is_some_and(|s| s.new))
            .cloned()
            .collect()
    }

    /// Validates the findings whose stored validation is missing or older
    /// than `--revalidate-after`, analyzes those whose analysis is (or that
    /// were validated again), revokes as the policy says, and stores what
    /// ran; the rest keep their stored results.
    fn check(
        &mut self,
        plan: ChecksPlan,
        args: &SweepArgs,
        rules: &crate::rules::RuleSet,
        store: &mut dyn Datastore,
    ) -> anyhow::Result<Checks> {
        if plan.is_empty() {
            return Ok(Checks::default());
        }
        let now = crate::time::unix_now();
        let max_age = args.revalidate_after.as_secs() as i64;
        let stale = |at: Option<i64>| at.is_none_or(|t| now.saturating_sub(t) >= max_age);
        let n = self.findings.len();
        let check_due: Vec<bool> = (0..n)
            .map(|i| !plan.validates() || stale(self.validated_at[i]))
            .collect();
        let analyze_due: Vec<bool> = (0..n)
            .map(|i| plan.analyzes() && (check_due[i] || stale(self.analyzed_at[i])))
            .collect();
        let which = |due: &[bool]| -> Vec<usize> { (0..n).filter(|&i| due[i]).collect() };
        let validation = on_subset(&mut self.findings, &which(&check_due), |b| {
            plan.validate(rules, b)
        });
        // Runs before revocation: a revoked secret can no longer say.
        let analysis = on_subset(&mut self.findings, &which(&analyze_due), |b| {
            plan.analyze(rules, b)
        });
        // A secret an earlier sweep revoked is not sent to the broker again.
        let pending: Vec<usize> = which(&check_due)
            .into_iter()
            .filter(|&i| !already_revoked(&self.findings[i]))
            .collect();
        let quiet = args.out.quiet;
        let revocation = on_subset(&mut self.findings, &pending, |b| {
            plan.revoke(rules, b, quiet)
        })?;
        let checked = validation.is_some() || revocation.is_some();
        for (i, f) in self.findings.iter().enumerate() {
            let times = CheckTimes {
                validated_at: (checked && check_due[i]).then_some(now),
                analyzed_at: (analysis.is_some() && analyze_due[i]).then_some(now),
            };
            if times != CheckTimes::default() {
                store.record_checks(f, times)?;
            }
        }
        if args.checks.only_live {
            self.findings.retain(is_live);
        }
        Ok(Checks {
            validation,
            analysis,
            revocation,
        })
    }
}

/// Runs `check` on copies of `findings[i]` for each `i` of `which`, and puts
/// the checked copies back.
fn on_subset<T>(
    findings: &mut [Finding],
    which: &[usize],
    check: impl FnOnce(&mut [Finding]) -> T,
) -> T {
    let mut batch: Vec<Finding> = which.iter().map(|&i| findings[i].clone()).collect();
    let out = check(&mut batch);
    for (&i, f) in which.iter().zip(batch) {
        findings[i] = f;
    }
    out
}

/// Whether a stored finding's secret was revoked by an earlier sweep.
fn already_revoked(f: &Finding) -> bool {
    use crate::finding::RevocationStatus::{Revoked, RevokedConfirmed};
    f.annotations
        .revocation
        .as_ref()
        .is_some_and(|r| matches!(r.status, Revoked | RevokedConfirmed))
}

/// `--notify` resolved before the sweep: a missing key fails fast.
fn notify_options(args: &SweepArgs) -> anyhow::Result<Option<NotifyOptions>> {
    let Some(url) = &args.notify else {
        return Ok(None);
    };
    let key = match &args.notify_key_env {
        Some(name) => Some(std::env::var(name).map_err(|_| {
            anyhow::anyhow!(
                "--notify-key-env names the environment variable {name}, which is not set"
            )
        })?),
        None => None,
    };
    Ok(Some(NotifyOptions {
        url: url.clone(),
        key,
        slack: args.notify_slack,
        allow_internal: args.checks.net.allow_internal,
        timeout: args.checks.net.validate_timeout,
        backoff: std::time::Duration::from_millis(500),
    }))
}

/// Posts the new findings, when there are any.
fn send_notification(
    opts: &NotifyOptions,
    run: i64,
    new: &[Finding],
) -> Result<(), sweep::notify::NotifyError> {
    if new.is_empty() {
        return Ok(());
    }
    sweep::notify::send(opts, &sweep::notify::body(run, new, opts.slack)).map(drop)
}

/// 2 on failed repositories or an undelivered notification, 3 on a failed
/// revocation, 1 on findings (as `--fail-on` defines them) unless
/// `--exit-zero`, else 0.
fn exit_code(
    args: &SweepArgs,
    s: &sweep::SweepSummary,
    summary: &RunSummary,
    findings: &[Finding],
    notify_failed: bool,
) -> u8 {
    let failing = fails(args.checks.fail_on, findings);
    if !s.failures.is_empty() || notify_failed {
        EXIT_ERROR
    } else if summary
        .revocation
        .as_ref()
        .is_some_and(|r| r.has_failures())
    {
        EXIT_REVOKE_FAILED
    } else if failing && !args.out.exit_zero {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    }
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

/// The repositories of `--repos`, `--dir` and the platform listings.
fn repositories(args: &SweepArgs, messages: &Messages) -> anyhow::Result<Vec<String>> {
    let mut repos = Vec::new();
    if let Some(list) = &args.repos {
        repos.extend(mirror::read_list(list)?);
    }
    for dir in &args.dir {
        repos.extend(mirror::find_repos(dir)?);
    }
    for (owner, opts) in platform_listings(&args.platforms, &args.checks.net)? {
        let listing = forge::list(&owner, &opts)?;
        for refused in &listing.refused {
            messages.warn(
                refused,
                "listed clone URL is not https:// and was left out (--allow-internal permits it)",
            );
        }
        if !args.out.quiet {
            eprintln!(
                "keysweep: {}: {} repositories in {} pages ({} archived and {} forks left out){}",
                opts.api_url,
                listing.repos.len(),
                listing.pages,
                listing.archived_skipped,
                listing.forks_skipped,
                if listing.waited.is_zero() {
                    String::new()
                } else {
                    format!("; waited {}s for the rate limit", listing.waited.as_secs())
                }
            );
        }
        repos.extend(listing.repos);
    }
    Ok(repos)
}

/// One listing per `--github-org`, `--github-user` and `--gitlab-group`,
/// each with its platform's API URL and token.
fn platform_listings(
    p: &PlatformArgs,
    net: &NetArgs,
) -> anyhow::Result<Vec<(forge::Owner, forge::ListOptions)>> {
    let token = |name: &str| std::env::var(name).ok().filter(|t| !t.trim().is_empty());
    let opts = |api_url: &str, token_env: &str| forge::ListOptions {
        api_url: api_url.to_string(),
        token: token(token_env),
        include_archived: p.include_archived,
        include_forks: p.include_forks,
        allow_internal: net.allow_internal,
        max_wait: p.rate_limit_wait,
        timeout: net.validate_timeout.max(std::time::Duration::from_secs(30)),
    };
    let mut out = Vec::new();
    for n in &p.github_org {
        out.push((
            forge::Owner::GitHubOrg(n.clone()),
            opts(&p.github_api_url, &p.github_token_env),
        ));
    }
    for n in &p.github_user {
        out.push((
            forge::Owner::GitHubUser(n.clone()),
            opts(&p.github_api_url, &p.github_token_env),
        ));
    }
    for n in &p.gitlab_group {
        out.push((
            forge::Owner::GitLabGroup(n.clone()),
            opts(&p.gitlab_api_url, &p.gitlab_token_env),
        ));
    }
    Ok(out)
}

/// The report's summary of a sweep: blobs as files, the sweep's own counts.
pub(crate) fn run_summary(s: &sweep::SweepSummary, findings: usize, rules: usize) -> RunSummary {
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
