//! `keysweep scan`.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;

use super::args::{FailOn, MinConfidence, ScanArgs};
use super::{
    ignore_broken_pipe, load_rules, validate_options, EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS,
};
use crate::finding::ValidationStatus;
use crate::report::{self, Format, Report};
use crate::rules::Confidence;
use crate::scan::{Messages, ScanOptions, Scanner};
use crate::source::fs::WalkOptions;
use crate::validate::Validator;

pub fn run(args: ScanArgs) -> anyhow::Result<ExitCode> {
    let rules = load_rules(&args.rules)?;
    if args.fail_on == FailOn::Live && !args.validate {
        anyhow::bail!("--fail-on live needs --validate");
    }
    // Resolve validation options before scanning so a bad --endpoint fails fast.
    let validator = if args.validate {
        Some(Validator::new(validate_options(
            &args.net,
            &rules,
            args.validate_concurrency,
        )?)?)
    } else {
        None
    };
    let min_confidence = match args.min_confidence {
        MinConfidence::Low => Confidence::Low,
        MinConfidence::Medium => Confidence::Medium,
        MinConfidence::High => Confidence::High,
    };
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    if threads == 0 {
        anyhow::bail!("--threads must be at least 1");
    }
    let opts = ScanOptions {
        walk: WalkOptions {
            respect_ignore: !args.no_ignore,
            excludes: args.exclude.clone(),
            max_file_size: args.max_file_size,
            threads,
        },
        progress: !args.quiet && io::stderr().is_terminal(),
    };
    // Open the output before scanning so a bad path fails fast.
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => {
            Box::new(BufWriter::new(File::create(path).with_context(|| {
                format!("{}: cannot create output file", path.display())
            })?))
        }
        None => Box::new(BufWriter::new(io::stdout().lock())),
    };

    let messages = Messages::new(args.quiet);
    let scanner = Scanner::new(rules.clone(), min_confidence);
    let mut result = scanner.scan_paths(&args.paths, &opts, &messages)?;
    if let Some(validator) = &validator {
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

    let report = Report {
        findings: &result.findings,
        summary: &result.summary,
        rules: &rules,
        show_secrets: args.show_secrets,
    };
    ignore_broken_pipe(
        report::reporter(args.format)
            .write(&report, &mut out)
            .and_then(|_| out.flush()),
    )
    .context("cannot write the report")?;
    // The human report carries its own summary; machine formats keep stdout
    // parseable and put a one-line summary on standard error.
    if args.format != Format::Human && !args.quiet {
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
        eprintln!(
            "keysweep: {} findings; scanned {} files ({} bytes); skipped {}; {} errors{validated}",
            s.findings,
            s.files_scanned,
            s.bytes_scanned,
            s.skipped_total(),
            s.errors
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

    let code = if result.summary.errors > 0 {
        EXIT_ERROR
    } else if failing && !args.exit_zero {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    };
    Ok(ExitCode::from(code))
}
