//! The command-line interface: argument definitions and one module per command.
//! `main.rs` parses and calls [`run`].

mod agents_cmd;
pub mod args;
mod rules_cmd;
mod scan_cmd;

use std::process::ExitCode;
use std::sync::Arc;

pub use args::Cli;
use args::{Command, RuleArgs};

use crate::rules::RuleSet;

/// Exit status for a clean run.
pub const EXIT_CLEAN: u8 = 0;
/// Exit status when findings were reported.
pub const EXIT_FINDINGS: u8 = 1;
/// Exit status for usage errors and inputs that could not be scanned.
pub const EXIT_ERROR: u8 = 2;

/// Runs a parsed command line.
///
/// # Errors
///
/// Returns fatal errors (bad rules, unwritable output); `main` prints them and
/// exits with [`EXIT_ERROR`].
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Scan(args) => scan_cmd::run(args),
        Command::Rules(cmd) => rules_cmd::run(cmd),
        Command::Agents(args) => agents_cmd::run(args),
    }
}

/// Builds the rule set: bundled rules, then `--rules`, then the selection.
pub(crate) fn load_rules(args: &RuleArgs) -> anyhow::Result<Arc<RuleSet>> {
    let mut set = RuleSet::builtin();
    for path in &args.rules {
        set.load_path(path)?;
    }
    set.select(&args.rule, &args.exclude_rule)?;
    if set.is_empty() {
        anyhow::bail!("no rules selected: check --rule and --exclude-rule");
    }
    Ok(Arc::new(set))
}

/// Writes to `out`, treating a closed pipe (`keysweep … | head`) as success.
pub(crate) fn ignore_broken_pipe(r: std::io::Result<()>) -> std::io::Result<()> {
    match r {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
