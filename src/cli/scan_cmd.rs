//! `keysweep scan`, `keysweep git` and `keysweep staged`: scan, then validate
//! and revoke when asked, report, and choose the exit code.

use std::io::{self, IsTerminal};
use std::process::ExitCode;
use std::sync::Arc;

use super::args::{CheckArgs, FailOn, ScanArgs, TriageArgs};
use super::setup::{setup, Setup};
use super::{
    add_config_endpoints, revoke_options, validate_options, EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS,
    EXIT_REVOKE_FAILED,
};
use super::{open_output, write_report};
use crate::diag::Messages;
use crate::finding::{self, Finding, ValidationStatus};
use crate::report::{Format, Report, RunSummary};
use crate::revoke::{RevokeOptions, RevokeRequire, RevokeSummary, Revoker};
use crate::rules::{Confidence, Severity};
use crate::scan::{ScanOptions, ScanResult, Scanner};
use crate::source::fs::WalkOptions;
use crate::source::git::GitOptions;
use crate::validate::{ValidationSummary, Validator};

/// What `scan`, `git` and `staged` read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Files,
    Git,
    Staged,
}

pub fn run(args: ScanArgs, mode: Mode) -> anyhow::Result<ExitCode> {
    // First, so the diagnostic level holds for the whole run.
    let show = super::show_options(&args.out);
    let messages = Messages::new(args.out.quiet);
    let mut setup = setup(&args.config, &args.rules, &args.paths, &messages)?;
    use_baseline(&args.triage, &mut setup, &messages)?;
    check_flags(&args.checks)?;
    // Resolve validation and revocation options before scanning so a bad
    // --endpoint or broker fails fast.
    let plan = ChecksPlan::new(&args.checks, &setup)?;
    let rules = setup.rules.clone();
    let streamed = streams(&args, mode);
    let opts = ScanOptions {
        walk: WalkOptions {
            follow_symlinks: args.follow_symlinks,
            ..setup.walk_options(&args.input)?
        },
        progress: !args.out.quiet && io::stderr().is_terminal(),
        stream: streamed.then(|| stream_to_stdout(rules.clone(), show)),
    };
    // Open the output and load a template before scanning so a bad path
    // fails fast. A streamed scan writes to standard output from the
    // scanning threads: nothing may hold it locked meanwhile.
    let reporter = super::reporter_for(&args.out)?;
    let mut out: Box<dyn io::Write> = if streamed {
        Box::new(io::stdout())
    } else {
        open_output(args.out.output.as_deref())?
    };

    let scanner = Scanner::new(rules.clone(), Confidence::from(args.min_confidence))
        .with_triage(Arc::new(setup.triage))
        .with_path_root(setup.path_root)
        .with_scan_roots(&args.paths);
    let result = scan(&scanner, &args, mode, &opts, &messages)?;
    let (result, summary) = plan.apply(&args, &rules, result)?;

    let combined: Vec<Finding>;
    let findings: &[Finding] = if args.triage.show_suppressed && !result.suppressed.is_empty() {
        let mut all = result.findings.clone();
        all.extend(result.suppressed.iter().cloned());
        finding::sort(&mut all);
        combined = all;
        &combined
    } else {
        &result.findings
    };
    let report = Report {
        findings,
        summary: &summary,
        rules: &rules,
        show,
    };
    if streamed {
        super::ignore_broken_pipe(
            crate::report::Human::write_summary(&report, &mut out).and_then(|_| out.flush()),
        )?;
    } else {
        write_report(&*reporter, &report, &mut out)?;
    }
    // The human report carries its own summary; machine formats keep stdout
    // parseable and put a one-line summary on standard error.
    if args.out.format != Format::Human && !args.out.quiet {
        print_summary_line(&summary, findings);
    }
    if mode == Mode::Staged && !result.findings.is_empty() && !args.out.quiet {
        print_commit_blocked(result.findings.len());
    }
    Ok(ExitCode::from(exit_code(&args, &result.findings, &summary)))
}

/// Whether findings are printed as they are found: the human report on a
/// terminal, when their order does not matter and nothing must see them all
/// first (grouping, validation, revocation, listing suppressed ones);
/// `--sort` turns it off. Files and pipes always get sorted output.
fn streams(args: &ScanArgs, mode: Mode) -> bool {
    mode == Mode::Files
        && args.out.format == Format::Human
        && args.out.output.is_none()
        && !args.out.sort
        && !args.out.group
        && !args.triage.show_suppressed
        && !args.checks.validate
        && !args.checks.revoke
        && io::stdout().is_terminal()
}

/// Prints each file's findings (not the suppressed ones) to standard output
/// as the human report does, one file at a time.
fn stream_to_stdout(
    rules: Arc<crate::rules::RuleSet>,
    show: crate::report::Show,
) -> crate::scan::Stream {
    let summary = RunSummary::default();
    crate::scan::Stream(Arc::new(move |found: &[Finding]| {
        let active: Vec<Finding> = found
            .iter()
            .filter(|f| f.annotations.suppressed.is_none())
            .cloned()
            .collect();
        if active.is_empty() {
            return;
        }
        let report = Report {
            findings: &active,
            summary: &summary,
            rules: &rules,
            show,
        };
        // The lock keeps one file's findings together; a closed terminal
        // is noticed when the summary is written.
        let mut out = io::stdout().lock();
        let _ = crate::report::Human::write_findings(&report, &mut out)
            .and_then(|_| io::Write::flush(&mut out));
    }))
}

/// `--baseline`, else the configured baseline unless `--no-baseline`;
/// returns the file loaded.
pub(crate) fn use_baseline(
    triage: &TriageArgs,
    setup: &mut Setup,
    messages: &Messages,
) -> anyhow::Result<Option<std::path::PathBuf>> {
    let baseline = match (&triage.baseline, triage.no_baseline) {
        (Some(b), _) => Some(b.clone()),
        (None, false) => setup.config_baseline()?,
        (None, true) => None,
    };
    if let Some(b) = &baseline {
        setup.use_baseline(b, messages)?;
    }
    Ok(baseline)
}

/// Flag combinations clap cannot express: `--fail-on live` and
/// `--only-live` need validation, `--fail-on SEVERITY` needs analysis.
pub(crate) fn check_flags(c: &CheckArgs) -> anyhow::Result<()> {
    let validating = c.validate || c.analyze;
    if c.fail_on == FailOn::Live && !validating {
        anyhow::bail!("--fail-on live needs --validate");
    }
    if c.only_live && !validating {
        anyhow::bail!("--only-live needs --validate");
    }
    if fail_severity(c.fail_on).is_some() && !c.analyze {
        anyhow::bail!("--fail-on {:?} needs --analyze", c.fail_on);
    }
    Ok(())
}

/// The least analyzed severity `--fail-on` asks for, if it names one.
fn fail_severity(f: FailOn) -> Option<Severity> {
    match f {
        FailOn::Any | FailOn::Live => None,
        FailOn::Critical => Some(Severity::Critical),
        FailOn::High => Some(Severity::High),
        FailOn::Medium => Some(Severity::Medium),
        FailOn::Low => Some(Severity::Low),
    }
}

/// Runs the scan `mode` asks for over `args.paths`.
fn scan(
    scanner: &Scanner,
    args: &ScanArgs,
    mode: Mode,
    opts: &ScanOptions,
    messages: &Messages,
) -> anyhow::Result<ScanResult> {
    Ok(match mode {
        Mode::Files => scanner.scan_paths(&args.paths, opts, messages)?,
        Mode::Git => {
            let git_opts = GitOptions {
                branches: args.history.branch.clone(),
                since_commit: args.history.since_commit.clone(),
                range: args.history.range.clone(),
                max_file_size: opts.walk.max_file_size,
                threads: opts.walk.threads,
                dedupe: !args.history.no_dedupe,
                read_packs: args.history.read_packs(),
                archives: opts.walk.archives,
            };
            let mut all = ScanResult::default();
            for repo in &args.paths {
                all.merge(scanner.scan_git(repo, &git_opts, opts.progress, messages)?);
            }
            all
        }
        Mode::Staged => {
            let root = args.paths.first().cloned().unwrap_or_else(|| ".".into());
            scanner.scan_staged(&root, messages)?
        }
    })
}

/// What runs after a scan or sweep: validation and revocation, resolved up
/// front so a bad --endpoint or broker fails before anything is read.
pub(crate) struct ChecksPlan {
    validator: Option<Validator>,
    /// Validate the findings (asked for, or needed to revoke only live ones).
    validate: bool,
    /// Analyze live findings (`--analyze`).
    analyze: bool,
    revoke: Option<RevokeOptions>,
}

impl ChecksPlan {
    pub(crate) fn new(checks: &CheckArgs, setup: &Setup) -> anyhow::Result<ChecksPlan> {
        let revoke = if checks.revoke {
            Some(revoke_options(setup.config.as_ref())?)
        } else {
            None
        };
        // Revoking only live secrets needs to know which are live.
        let validate = checks.validate
            || checks.analyze
            || revoke
                .as_ref()
                .is_some_and(|r| r.config.require == RevokeRequire::Live);
        let validator = if validate || checks.revoke {
            let mut opts =
                validate_options(&checks.net, &setup.rules, checks.validate_concurrency)?;
            add_config_endpoints(&mut opts, setup.config.as_ref())?;
            Some(Validator::new(opts)?)
        } else {
            None
        };
        Ok(ChecksPlan {
            validator,
            validate,
            analyze: checks.analyze,
            revoke,
        })
    }

    /// Whether nothing runs after the scan.
    pub(crate) fn is_empty(&self) -> bool {
        self.validator.is_none()
    }

    /// Whether findings are validated.
    pub(crate) fn validates(&self) -> bool {
        self.validate && self.validator.is_some()
    }

    /// Whether live findings are analyzed.
    pub(crate) fn analyzes(&self) -> bool {
        self.analyze && self.validator.is_some()
    }

    /// Validates `findings` when planned.
    pub(crate) fn validate(
        &self,
        rules: &crate::rules::RuleSet,
        findings: &mut [Finding],
    ) -> Option<ValidationSummary> {
        let validator = self.validator.as_ref().filter(|_| self.validate)?;
        Some(validator.validate_findings(rules, findings))
    }

    /// Analyzes what the live secrets among `findings` can do, when asked.
    /// Runs before revocation: a revoked secret can no longer say.
    pub(crate) fn analyze(
        &self,
        rules: &crate::rules::RuleSet,
        findings: &mut [Finding],
    ) -> Option<crate::analyze::AnalysisSummary> {
        let validator = self.validator.as_ref().filter(|_| self.analyze)?;
        Some(crate::analyze::Analyzer::new(validator).analyze_findings(rules, findings))
    }

    /// Revokes `findings` when planned (a dry run unless the policy
    /// enforces), printing the dry run's plan unless `quiet`.
    pub(crate) fn revoke(
        self,
        rules: &crate::rules::RuleSet,
        findings: &mut [Finding],
        quiet: bool,
    ) -> anyhow::Result<Option<RevokeSummary>> {
        let (Some(ropts), Some(validator)) = (self.revoke, &self.validator) else {
            return Ok(None);
        };
        let mut revoker = Revoker::new(ropts, validator, rules)?;
        let counts = revoker.revoke_findings(findings)?;
        if !quiet {
            for line in &revoker.plan {
                eprintln!("keysweep: dry run: {line}");
            }
        }
        Ok(Some(counts))
    }

    /// Validates and revokes the findings as planned, counting both.
    fn apply(
        self,
        args: &ScanArgs,
        rules: &crate::rules::RuleSet,
        mut result: ScanResult,
    ) -> anyhow::Result<(ScanResult, RunSummary)> {
        let mut summary = RunSummary::from(result.summary.clone());
        if let Some(counts) = self.validate(rules, &mut result.findings) {
            if args.checks.only_live {
                result.findings.retain(is_live);
                summary.scan.findings = result.findings.len();
            }
            summary.validation = Some(counts);
            summary.analysis = self.analyze(rules, &mut result.findings);
        }
        summary.revocation = self.revoke(rules, &mut result.findings, args.out.quiet)?;
        result.summary = summary.scan.clone();
        Ok((result, summary))
    }
}

/// A finding its provider confirmed live.
pub(crate) fn is_live(f: &Finding) -> bool {
    f.annotations
        .validation
        .as_ref()
        .is_some_and(|v| v.status == ValidationStatus::Live)
}

/// The one-line summary machine formats put on standard error.
fn print_summary_line(summary: &RunSummary, findings: &[Finding]) {
    let s = &summary.scan;
    let validated = summary
        .validation
        .as_ref()
        .map(|v| format!("; validation: {v}"))
        .unwrap_or_default()
        + &summary
            .analysis
            .as_ref()
            .map(|a| format!("; analysis: {a}"))
            .unwrap_or_default();
    let suppressed = if s.suppressed_total() > 0 {
        format!("; {} suppressed", s.suppressed_total())
    } else {
        String::new()
    };
    let revoked = summary
        .revocation
        .as_ref()
        .map(|r| format!("; revocation: {}", crate::revoke::summary_line(r)))
        .unwrap_or_default();
    eprintln!(
        "keysweep: {}{suppressed}; skipped {}; {} errors{validated}{revoked}",
        crate::report::headline(summary, findings),
        s.skipped_total(),
        s.errors
    );
    if let Some(r) = &summary.revocation {
        for line in &r.failures {
            eprintln!("keysweep: revocation failed: {line}");
        }
    }
}

/// What the pre-commit hook prints when it blocks a commit.
fn print_commit_blocked(n: usize) {
    eprintln!(
        "\nkeysweep blocked this commit: {n} secret{} in the staged changes.\n\
         To fix:\n  \
         1. Remove the secret from the file and load it from the environment or a secret store,\n     \
            then `git add` the file again.\n  \
         2. Revoke the secret with its provider: once written down, treat it as exposed.\n  \
         3. If it is not a secret, add `keysweep:allow` to the line (or `keysweep:allow-next-line` above it).\n\
         Bypass once, at your own risk: git commit --no-verify",
        if n == 1 { "" } else { "s" }
    );
}

/// Whether `findings` make the exit code 1 under `--fail-on`.
pub(crate) fn fails(fail_on: FailOn, findings: &[Finding]) -> bool {
    match fail_on {
        FailOn::Any => !findings.is_empty(),
        FailOn::Live => findings.iter().any(is_live),
        other => {
            let least = fail_severity(other).unwrap_or(Severity::Low);
            findings.iter().any(|f| {
                f.annotations
                    .analysis
                    .as_ref()
                    .and_then(|a| a.severity)
                    .is_some_and(|s| s >= least)
            })
        }
    }
}

/// 2 on errors, 3 on a failed revocation, 1 on findings (as `--fail-on`
/// defines them) unless `--exit-zero`, else 0.
fn exit_code(args: &ScanArgs, findings: &[Finding], summary: &RunSummary) -> u8 {
    let failing = fails(args.checks.fail_on, findings);
    let revoke_failed = summary
        .revocation
        .as_ref()
        .is_some_and(|r| r.has_failures());
    if summary.scan.errors > 0 {
        EXIT_ERROR
    } else if revoke_failed {
        EXIT_REVOKE_FAILED
    } else if failing && !args.out.exit_zero {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    }
}
