//! `keysweep scan`.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;

use super::args::{MinConfidence, ScanArgs};
use super::{ignore_broken_pipe, load_rules, EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS};
use crate::report::{self, Format, Report};
use crate::rules::Confidence;
use crate::scan::{Messages, ScanOptions, Scanner};
use crate::source::fs::WalkOptions;

pub fn run(args: ScanArgs) -> anyhow::Result<ExitCode> {
    let rules = load_rules(&args.rules)?;
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
    let result = scanner.scan_paths(&args.paths, &opts, &messages)?;

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
        eprintln!(
            "keysweep: {} findings; scanned {} files ({} bytes); skipped {}; {} errors",
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
