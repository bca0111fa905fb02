//! `keysweep scan`.

use std::io::{self, IsTerminal};
use std::process::ExitCode;
use std::sync::Arc;

use super::args::{FailOn, MinConfidence, ScanArgs};
use super::setup::setup;
use super::{
    add_config_endpoints, revoke_options, validate_options, EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS,
    EXIT_REVOKE_FAILED,
};
use super::{open_output, write_report};
use crate::config::RevokeRequire;
use crate::finding::{Finding, ValidationStatus};
use crate::report::{Format, Report};
use crate::revoke::Revoker;
use crate::rules::Confidence;
use crate::scan::{Messages, ScanOptions, ScanResult, Scanner};
use crate::source::git::GitOptions;
use crate::validate::Validator;

/// What `scan`, `git` and `staged` read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Files,
    Git,
    Staged,
}

pub fn run(args: ScanArgs, mode: Mode) -> anyhow::Result<ExitCode> {
    let messages = Messages::new(args.out.quiet);
    let mut setup = setup(&args.config, &args.rules, &args.paths, &messages)?;
    let baseline = match (&args.baseline, args.no_baseline) {
        (Some(b), _) => Some(b.clone()),
        (None, false) => setup.config_baseline(),
        (None, true) => None,
    };
    if let Some(b) = baseline {
        setup.use_baseline(&b)?;
    }
    if args.fail_on == FailOn::Live && !args.validate {
        anyhow::bail!("--fail-on live needs --validate");
    }
    // Resolve validation options before scanning so a bad --endpoint fails fast.
    let revoke_opts = if args.revoke {
        Some(revoke_options(setup.config.as_ref())?)
    } else {
        None
    };
    // Revoking only live secrets needs to know which are live.
    let validate = args.validate
        || revoke_opts
            .as_ref()
            .is_some_and(|r| r.config.require == RevokeRequire::Live);
    let validator = if validate || args.revoke {
        let mut opts = validate_options(&args.net, &setup.rules, args.validate_concurrency)?;
        add_config_endpoints(&mut opts, setup.config.as_ref())?;
        Some(Validator::new(opts)?)
    } else {
        None
    };
    let min_confidence = match args.min_confidence {
        MinConfidence::Low => Confidence::Low,
        MinConfidence::Medium => Confidence::Medium,
        MinConfidence::High => Confidence::High,
    };
    let opts = ScanOptions {
        walk: setup.walk_options(&args.input)?,
        progress: !args.out.quiet && io::stderr().is_terminal(),
    };
    // Open the output before scanning so a bad path fails fast.
    let mut out = open_output(args.out.output.as_deref())?;

    let rules = setup.rules.clone();
    let scanner = Scanner::new(rules.clone(), min_confidence)
        .with_triage(Arc::new(setup.triage))
        .with_path_root(setup.path_root);
    let mut result = match mode {
        Mode::Files => scanner.scan_paths(&args.paths, &opts, &messages)?,
        Mode::Git => {
            let git_opts = GitOptions {
                branches: args.branch.clone(),
                since_commit: args.since_commit.clone(),
                range: args.range.clone(),
                max_file_size: opts.walk.max_file_size,
                threads: opts.walk.threads,
                dedupe: !args.no_dedupe,
            };
            let mut all = ScanResult::default();
            for repo in &args.paths {
                let r = scanner.scan_git(repo, &git_opts, opts.progress, &messages)?;
                all.merge(r);
            }
            all
        }
        Mode::Staged => {
            let root = args.paths.first().cloned().unwrap_or_else(|| ".".into());
            scanner.scan_staged(&root, &messages)?
        }
    };
    if let Some(validator) = validator.as_ref().filter(|_| validate) {
        let summary = validator.validate_findings(&rules, &mut result.findings);
        if args.only_live {
            result.findings.retain(|f| {
                f.validation
                    .as_ref()
                    .is_some_and(|v| v.status == ValidationStatus::Live)
            });
            result.summary.findings = result.findings.len();
        }
        result.summary.validation = Some(summary);
    }

    if let (Some(ropts), Some(validator)) = (revoke_opts, &validator) {
        let mut revoker = Revoker::new(ropts, validator, &rules)?;
        let summary = revoker.revoke_findings(&mut result.findings)?;
        if !args.out.quiet {
            for line in &revoker.plan {
                eprintln!("keysweep: dry run: {line}");
            }
        }
        result.summary.revocation = Some(summary);
    }

    let combined: Vec<Finding>;
    let findings: &[Finding] = if args.show_suppressed && !result.suppressed.is_empty() {
        let mut all = result.findings.clone();
        all.extend(result.suppressed.iter().cloned());
        all.sort_by(|a, b| {
            (&a.path, a.line, a.column, &a.rule_id).cmp(&(&b.path, b.line, b.column, &b.rule_id))
        });
        combined = all;
        &combined
    } else {
        &result.findings
    };
    let report = Report {
        findings,
        summary: &result.summary,
        rules: &rules,
        show_secrets: args.out.show_secrets,
    };
    write_report(args.out.format, &report, &mut out)?;
    // The human report carries its own summary; machine formats keep stdout
    // parseable and put a one-line summary on standard error.
    if args.out.format != Format::Human && !args.out.quiet {
        let s = &result.summary;
        let validated = s
            .validation
            .as_ref()
            .map(|v| {
                format!(
                    "; validation: {} live, {} invalid, {} unknown, {} not checked",
                    v.live, v.invalid, v.unknown, v.not_checked
                )
            })
            .unwrap_or_default();
        let suppressed = if s.suppressed_total() > 0 {
            format!("; {} suppressed", s.suppressed_total())
        } else {
            String::new()
        };
        let revoked = s
            .revocation
            .as_ref()
            .map(|r| format!("; revocation: {}", crate::revoke::summary_line(r)))
            .unwrap_or_default();
        eprintln!(
            "keysweep: {} findings{suppressed}; scanned {} files ({} bytes); skipped {}; {} errors{validated}{revoked}",
            s.findings,
            s.files_scanned,
            s.bytes_scanned,
            s.skipped_total(),
            s.errors
        );
        if let Some(r) = &s.revocation {
            for line in &r.failures {
                eprintln!("keysweep: revocation failed: {line}");
            }
        }
    }

    if mode == Mode::Staged && !result.findings.is_empty() && !args.out.quiet {
        eprintln!(
            "\nkeysweep blocked this commit: {} secret{} in the staged changes.\n\
             To fix:\n  \
             1. Remove the secret from the file and load it from the environment or a secret store,\n     \
                then `git add` the file again.\n  \
             2. Revoke the secret with its provider: once written down, treat it as exposed.\n  \
             3. If it is not a secret, add `keysweep:allow` to the line (or `keysweep:allow-next-line` above it).\n\
             Bypass once, at your own risk: git commit --no-verify",
            result.findings.len(),
            if result.findings.len() == 1 { "" } else { "s" }
        );
    }
    let failing = match args.fail_on {
        FailOn::Any => !result.findings.is_empty(),
        FailOn::Live => result.findings.iter().any(|f| {
            f.validation
                .as_ref()
                .is_some_and(|v| v.status == ValidationStatus::Live)
        }),
    };
    let revoke_failed = result
        .summary
        .revocation
        .as_ref()
        .is_some_and(|r| r.has_failures());
    let code = if result.summary.errors > 0 {
        EXIT_ERROR
    } else if revoke_failed {
        EXIT_REVOKE_FAILED
    } else if failing && !args.out.exit_zero {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    };
    Ok(ExitCode::from(code))
}
