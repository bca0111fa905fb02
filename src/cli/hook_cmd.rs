//! `keysweep install-hook`: a pre-commit hook that runs `keysweep staged`.

use std::process::ExitCode;

use anyhow::Context;

use super::args::InstallHookArgs;
use super::{EXIT_CLEAN, EXIT_ERROR};

pub fn run(args: InstallHookArgs) -> anyhow::Result<ExitCode> {
    let repo = git2::Repository::discover(&args.repo).map_err(|e| {
        anyhow::anyhow!(
            "{}: not in a git repository: {}",
            args.repo.display(),
            e.message()
        )
    })?;
    let hooks = repo.path().join("hooks");
    let hook = hooks.join("pre-commit");
    if hook.exists() && !args.force {
        eprintln!(
            "keysweep: {}: a pre-commit hook already exists; not overwriting it (use --force to replace it, \
             or call `keysweep staged` from your hook)",
            hook.display()
        );
        return Ok(ExitCode::from(EXIT_ERROR));
    }
    std::fs::create_dir_all(&hooks)
        .with_context(|| format!("{}: cannot create", hooks.display()))?;
    std::fs::write(&hook, HOOK_SCRIPT)
        .with_context(|| format!("{}: cannot write", hook.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("{}: cannot make executable", hook.display()))?;
    }
    eprintln!("keysweep: installed {}", hook.display());
    Ok(ExitCode::from(EXIT_CLEAN))
}

/// The hook: findings go to the terminal (stdout of a hook is shown to the
/// user), and the hook's exit status is keysweep's.
const HOOK_SCRIPT: &str = "#!/bin/sh\n\
# Installed by `keysweep install-hook`: blocks commits that add secrets.\n\
# Bypass once with `git commit --no-verify`.\n\
exec keysweep staged\n";
