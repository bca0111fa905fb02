//! `keysweep install-hook`: a pre-commit hook that runs `keysweep staged`.
//!
//! The hook goes where git will run it: `git rev-parse --git-path hooks`
//! honours `core.hooksPath` (husky, lefthook, company templates) and
//! worktrees, which `.git/hooks` does not. A hook already there is chained
//! (renamed and run first), never lost.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use super::args::InstallHookArgs;
use super::{EXIT_CLEAN, EXIT_ERROR};

/// Marks a hook as keysweep's, so reinstalling updates it and `--uninstall`
/// removes only ours.
const MARKER: &str = "# Installed by `keysweep install-hook`";
/// What a chained hook is renamed to, next to ours.
const CHAINED_SUFFIX: &str = ".keysweep-chained";

pub fn run(args: InstallHookArgs) -> anyhow::Result<ExitCode> {
    let repo = git2::Repository::discover(&args.repo).map_err(|e| {
        anyhow::anyhow!(
            "{}: not in a git repository: {}",
            args.repo.display(),
            e.message()
        )
    })?;
    let hooks = hooks_dir(&repo)?;
    let hook = hooks.join("pre-commit");
    let chained = hooks.join(format!("pre-commit{CHAINED_SUFFIX}"));
    if args.uninstall {
        return uninstall(&hook, &chained);
    }

    let existing = std::fs::read_to_string(&hook).ok();
    let ours = existing.as_deref().is_some_and(|t| t.contains(MARKER));
    let chain = match existing {
        Some(_) if ours => chained.exists(),
        Some(_) if args.force => false,
        Some(_) => {
            if chained.exists() {
                eprintln!(
                    "keysweep: {}: cannot chain the existing hook: {} is in the way (remove it, or use --force)",
                    hook.display(),
                    chained.display()
                );
                return Ok(ExitCode::from(EXIT_ERROR));
            }
            std::fs::rename(&hook, &chained).with_context(|| {
                format!("{}: cannot rename to {}", hook.display(), chained.display())
            })?;
            eprintln!(
                "keysweep: kept the existing hook as {}; it runs before keysweep",
                chained.display()
            );
            true
        }
        None => false,
    };
    std::fs::create_dir_all(&hooks)
        .with_context(|| format!("{}: cannot create", hooks.display()))?;
    let exe = std::env::current_exe().ok();
    std::fs::write(&hook, hook_script(exe.as_deref(), chain))
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

fn uninstall(hook: &Path, chained: &Path) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(hook).unwrap_or_default();
    if !text.contains(MARKER) {
        eprintln!(
            "keysweep: {}: no keysweep hook installed there; nothing removed",
            hook.display()
        );
        return Ok(ExitCode::from(EXIT_ERROR));
    }
    std::fs::remove_file(hook).with_context(|| format!("{}: cannot remove", hook.display()))?;
    if chained.exists() {
        std::fs::rename(chained, hook).with_context(|| {
            format!(
                "{}: cannot restore to {}",
                chained.display(),
                hook.display()
            )
        })?;
        eprintln!(
            "keysweep: removed keysweep's hook; restored {}",
            hook.display()
        );
    } else {
        eprintln!("keysweep: removed {}", hook.display());
    }
    Ok(ExitCode::from(EXIT_CLEAN))
}

/// The directory git runs hooks from. Asks git itself (it knows
/// `core.hooksPath`, worktrees and `$GIT_DIR`); without git on PATH, reads
/// `core.hooksPath` and falls back to the common directory's `hooks`.
fn hooks_dir(repo: &git2::Repository) -> anyhow::Result<PathBuf> {
    let base = repo.workdir().unwrap_or_else(|| repo.path());
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(base)
        .args(["rev-parse", "--git-path", "hooks"])
        .output();
    if let Ok(out) = out {
        if out.status.success() {
            let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
            // Relative paths are relative to where git ran.
            if !text.is_empty() {
                return Ok(base.join(text));
            }
        }
    }
    let configured = repo
        .config()
        .and_then(|mut c| c.snapshot())
        .and_then(|c| c.get_path("core.hooksPath"))
        .ok();
    Ok(match configured {
        Some(p) if p.is_absolute() => p,
        Some(p) => base.join(p),
        None => repo.commondir().join("hooks"),
    })
}

/// The hook. The binary that installed it is called by absolute path, since
/// GUI git clients run hooks without `~/.cargo/bin` on PATH; PATH is the
/// fallback when that binary moved. Output is shown only when the commit is
/// blocked or keysweep fails, so a clean commit stays quiet.
fn hook_script(exe: Option<&Path>, chain: bool) -> String {
    let exe = exe
        .map(|p| shell_quote(&p.to_string_lossy()))
        .unwrap_or_else(|| "''".into());
    let chained = if chain {
        format!(
            "chained=\"$(dirname \"$0\")/pre-commit{CHAINED_SUFFIX}\"\n\
             if [ -x \"$chained\" ]; then \"$chained\" \"$@\" || exit $?; fi\n"
        )
    } else {
        String::new()
    };
    format!(
        "#!/bin/sh\n\
         {MARKER}: blocks commits that add secrets.\n\
         # Bypass once with `git commit --no-verify`; remove with `keysweep install-hook --uninstall`.\n\
         {chained}\
         keysweep={exe}\n\
         if [ ! -x \"$keysweep\" ]; then\n\
         \x20 keysweep=$(command -v keysweep) || {{ echo 'keysweep hook: keysweep is not installed (not at the installed path, not on PATH)' >&2; exit 1; }}\n\
         fi\n\
         out=$(\"$keysweep\" staged 2>&1)\n\
         status=$?\n\
         [ \"$status\" -eq 0 ] || printf '%s\\n' \"$out\" >&2\n\
         exit \"$status\"\n"
    )
}

/// Quotes `s` for a POSIX shell.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_paths_with_quotes_and_spaces() {
        assert_eq!(shell_quote("/a b/it's"), "'/a b/it'\\''s'");
    }
}
