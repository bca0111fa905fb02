//! `keysweep completions SHELL` and `keysweep man`: generated from the same
//! clap definitions as `--help`, so they never drift from the flags.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::CommandFactory;

use super::{ignore_broken_pipe, Cli, EXIT_CLEAN};

pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<ExitCode> {
    let mut cmd = Cli::command();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(shell, &mut cmd, "keysweep", &mut out);
    ignore_broken_pipe(out.flush()).context("cannot write the completion script")?;
    Ok(ExitCode::from(EXIT_CLEAN))
}

pub fn man() -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    ignore_broken_pipe(clap_mangen::Man::new(Cli::command()).render(&mut out))
        .and_then(|_| ignore_broken_pipe(out.flush()))
        .context("cannot write the man page")?;
    Ok(ExitCode::from(EXIT_CLEAN))
}
