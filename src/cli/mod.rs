//! The command-line interface: argument definitions and one module per command.
//! `main.rs` parses and calls [`run`].

pub mod args;
mod baseline_cmd;
mod init_cmd;
mod rules_cmd;
mod scan_cmd;
mod setup;

use std::process::ExitCode;

pub use args::Cli;
use args::Command;

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
        Command::Baseline(cmd) => baseline_cmd::run(cmd),
        Command::Init(args) => init_cmd::run(args),
    }
}

/// Writes to `out`, treating a closed pipe (`keysweep … | head`) as success.
pub(crate) fn ignore_broken_pipe(r: std::io::Result<()>) -> std::io::Result<()> {
    match r {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
