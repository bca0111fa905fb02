//! `keysweep init`: writes a commented keysweep.toml.

use std::process::ExitCode;

use anyhow::Context;

use super::args::InitArgs;
use super::EXIT_CLEAN;
use crate::config::{FILE_NAME, TEMPLATE};

pub fn run(args: InitArgs) -> anyhow::Result<ExitCode> {
    let path = args.dir.join(FILE_NAME);
    if path.exists() && !args.force {
        anyhow::bail!("{}: already exists (--force overwrites it)", path.display());
    }
    std::fs::write(&path, TEMPLATE).with_context(|| format!("{}: cannot write", path.display()))?;
    println!("wrote {}", path.display());
    Ok(ExitCode::from(EXIT_CLEAN))
}
