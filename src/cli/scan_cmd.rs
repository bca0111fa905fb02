//! `keysweep scan`.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

use super::args::{MinConfidence, ScanArgs};
use super::setup::setup;
use super::{ignore_broken_pipe, EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS};
use crate::finding::Finding;
use crate::report::{self, Format, Report};
use crate::rules::Confidence;
use crate::scan::{Messages, ScanOptions, Scanner};

pub fn run(args: ScanArgs) -> anyhow::Result<ExitCode> {
    let messages = Messages::new(args.quiet);
    let mut setup = setup(&args.config, &args.rules, &args.paths, &messages)?;
    let baseline = match (&args.baseline, args.no_baseline) {
        (Some(b), _) => Some(b.clone()),
        (None, false) => setup.config_baseline(),
        (None, true) => None,
    };
    if let Some(b) = baseline {
        setup.use_baseline(&b)?;
    }
    let min_confidence = match args.min_confidence {
        MinConfidence::Low => Confidence::Low,
        MinConfidence::Medium => Confidence::Medium,
        MinConfidence::High => Confidence::High,
    };
    let opts = ScanOptions {
        walk: setup.walk_options(&args.input)?,
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

    let rules = setup.rules.clone();
    let scanner = Scanner::new(rules.clone(), min_confidence)
        .with_triage(Arc::new(setup.triage))
        .with_path_root(setup.path_root);
    let result = scanner.scan_paths(&args.paths, &opts, &messages)?;

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
        let suppressed = if s.suppressed_total() > 0 {
            format!("; {} suppressed", s.suppressed_total())
        } else {
            String::new()
        };
        eprintln!(
            "keysweep: {} findings{suppressed}; scanned {} files ({} bytes); skipped {}; {} errors",
            s.findings,
            s.files_scanned,
            s.bytes_scanned,
            s.skipped_total(),
            s.errors
        );
    }

    let code = if result.summary.errors > 0 {
        EXIT_ERROR
    } else if !result.findings.is_empty() && !args.exit_zero {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    };
    Ok(ExitCode::from(code))
}
