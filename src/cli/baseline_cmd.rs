//! `keysweep baseline create` and `keysweep baseline update`.

use std::path::PathBuf;
use std::process::ExitCode;

use super::args::{BaselineArgs, BaselineCommand};
use super::setup::{setup, Setup, DEFAULT_BASELINE};
use super::{EXIT_CLEAN, EXIT_ERROR};
use crate::diag::Messages;
use crate::rules::Confidence;
use crate::scan::{ScanOptions, ScanResult, Scanner};
use crate::triage::{absolute, baseline::Entry, Baseline, Triage};
use std::sync::Arc;

pub fn run(cmd: BaselineCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        BaselineCommand::Create { args, force } => create(args, force),
        BaselineCommand::Update(args) => update(args),
    }
}

/// `-o`, else the config's `baseline`, else the default name.
fn file(args: &BaselineArgs, setup: &Setup) -> anyhow::Result<PathBuf> {
    Ok(match &args.output {
        Some(o) => o.clone(),
        None => setup
            .config_baseline()?
            .unwrap_or_else(|| PathBuf::from(DEFAULT_BASELINE)),
    })
}

/// Scans at every confidence with the allowlists, inline allows and ignore
/// file in force (what they suppress is not recorded), and no baseline.
fn scan(
    args: &BaselineArgs,
    setup: Setup,
    messages: &Messages,
) -> anyhow::Result<(ScanResult, Arc<Triage>)> {
    let opts = ScanOptions {
        walk: setup.walk_options(&args.input)?,
        progress: false,
        stream: None,
    };
    let triage = Arc::new(setup.triage);
    let scanner = Scanner::new(setup.rules, Confidence::Low)
        .with_triage(triage.clone())
        .with_path_root(setup.path_root);
    let result = scanner.scan_paths(&args.paths, &opts, messages)?;
    Ok((result, triage))
}

fn entries(result: &ScanResult, baseline: &Baseline, triage: &Triage) -> Vec<Entry> {
    result
        .findings
        .iter()
        .map(|f| baseline.entry(f, &triage.forms(f)))
        .collect()
}

/// Prints the outcome and picks the exit code: 2 when some input could not
/// be read (the baseline may miss its findings), else 0.
fn finish(result: &ScanResult, quiet: bool, what: String) -> ExitCode {
    if !quiet {
        let s = &result.summary;
        eprintln!(
            "keysweep: {what} (scanned {} files; {} findings suppressed by allowlists or inline; {} errors)",
            s.files_scanned,
            s.suppressed_total(),
            s.errors
        );
    }
    ExitCode::from(if result.summary.errors > 0 {
        EXIT_ERROR
    } else {
        EXIT_CLEAN
    })
}

fn create(args: BaselineArgs, force: bool) -> anyhow::Result<ExitCode> {
    let messages = Messages::new(args.quiet);
    let setup = setup(&args.config, &args.rules, &args.paths, &messages)?;
    let path = file(&args, &setup)?;
    if path.exists() && !force {
        anyhow::bail!(
            "{}: already exists; `keysweep baseline update` adds to it and keeps its salt, \
             --force replaces it",
            path.display()
        );
    }
    let mut baseline = Baseline::new(&path, &setup.cwd)?;
    let (result, triage) = scan(&args, setup, &messages)?;
    let new = entries(&result, &baseline, &triage);
    baseline.extend(new);
    baseline.save()?;
    Ok(finish(
        &result,
        args.quiet,
        format!(
            "{}: recorded {} findings as {} entries",
            path.display(),
            result.findings.len(),
            baseline.len()
        ),
    ))
}

fn update(args: BaselineArgs) -> anyhow::Result<ExitCode> {
    let messages = Messages::new(args.quiet);
    let setup = setup(&args.config, &args.rules, &args.paths, &messages)?;
    let path = file(&args, &setup)?;
    if !path.exists() {
        anyhow::bail!(
            "{}: no such baseline; `keysweep baseline create` makes one",
            path.display()
        );
    }
    let cwd = setup.cwd.clone();
    let mut baseline = Baseline::load(&path, &cwd)?;
    if let Some(k) = baseline.other_key() {
        // Entries outside the scanned paths would keep the other key's
        // hashes beside new ones under this key: a file no machine matches.
        anyhow::bail!(
            "{}: written under another identity key (key id {k}); run `update` with the \
             KEYSWEEP_ID_KEY it was made with, or recreate it with `keysweep baseline create --force`",
            path.display()
        );
    }
    if let Some(n) = baseline.notice() {
        messages.warn_line(&n);
    }
    let (result, triage) = scan(&args, setup, &messages)?;
    let current = entries(&result, &baseline, &triage);
    let roots: Vec<PathBuf> = args
        .paths
        .iter()
        .filter(|p| p.as_os_str() != "-")
        .map(|p| absolute(&cwd, p))
        .collect();
    let stdin = args.paths.iter().any(|p| p.as_os_str() == "-");
    let stats = baseline.update(current, &roots, stdin);
    baseline.save()?;
    Ok(finish(
        &result,
        args.quiet,
        format!(
            "{}: {} added, {} removed, {} entries",
            path.display(),
            stats.added,
            stats.removed,
            baseline.len()
        ),
    ))
}
