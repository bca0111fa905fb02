//! Resolving flags and config files into what a command works with: the rule
//! set, the triage (allowlists, ignore file; the baseline is per command) and
//! the walk options. Everything here runs before any scanning, so a bad
//! config fails fast.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;

use super::args::{ConfigArgs, InputArgs, RuleArgs};
use crate::config::units::DEFAULT_MAX_FILE_SIZE;
use crate::config::{self, Config, LoadedConfig};
use crate::diag::Messages;
use crate::gitleaks::GitleaksConfig;
use crate::rules::{RuleError, RuleSet};
use crate::source::fs::WalkOptions;
use crate::triage::{absolute, Baseline, GitleaksIgnore, Triage};

/// Default baseline file name.
pub(crate) const DEFAULT_BASELINE: &str = ".keysweep-baseline.jsonl";
const GITLEAKS_CONFIG: &str = ".gitleaks.toml";
const GITLEAKS_IGNORE: &str = ".gitleaksignore";

/// A command's resolved settings.
pub(crate) struct Setup {
    pub rules: Arc<RuleSet>,
    pub triage: Triage,
    pub config: Option<LoadedConfig>,
    /// Directory rule path filters match relative paths from.
    pub path_root: PathBuf,
    pub cwd: PathBuf,
}

impl Setup {
    /// The config's `baseline`, resolved against the config's directory;
    /// refused outside the tree when the config was found there rather than
    /// chosen (a found config must not make `baseline create` write, or
    /// `scan` read, elsewhere).
    pub fn config_baseline(&self) -> anyhow::Result<Option<PathBuf>> {
        let Some(c) = self.config.as_ref() else {
            return Ok(None);
        };
        Ok(match &c.config.baseline {
            Some(b) => Some(c.resolve_checked(b, "baseline")?),
            None => None,
        })
    }

    /// Loads a baseline into the triage, warning when it is a version 1
    /// (unkeyed) file or was written under another identity key.
    pub fn use_baseline(&mut self, path: &Path, messages: &Messages) -> anyhow::Result<()> {
        let b = Baseline::load(path, &self.cwd)?;
        if let Some(n) = b.notice() {
            messages.warn_line(&n);
        }
        self.triage.baseline = Some(b);
        Ok(())
    }

    /// Walk options from the flags, then the config, then the defaults.
    pub fn walk_options(&self, input: &InputArgs) -> anyhow::Result<WalkOptions> {
        let threads = input
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
        if threads == 0 {
            anyhow::bail!("--threads must be at least 1");
        }
        super::check_parallelism("--threads", threads)?;
        let from_config = self.config.as_ref().and_then(|c| c.config.max_file_size);
        let max_file_size = input
            .max_file_size
            .or(from_config)
            .unwrap_or(DEFAULT_MAX_FILE_SIZE);
        Ok(WalkOptions {
            respect_ignore: !input.no_ignore,
            excludes: input.exclude.clone(),
            max_file_size,
            threads,
            archives: {
                let d = crate::source::archive::Limits::default();
                crate::source::archive::Limits {
                    depth: input.archive_depth,
                    max_member: max_file_size,
                    max_bytes: input.archive_max_bytes.unwrap_or(d.max_bytes),
                    max_members: input.archive_max_members.unwrap_or(d.max_members),
                    ..d
                }
            },
            follow_symlinks: false,
        })
    }
}

/// The directory config files are looked for in: the first PATH if it is a
/// directory, the directory of the first file, else the current directory.
pub(crate) fn scan_root(paths: &[PathBuf]) -> PathBuf {
    let Some(first) = paths.iter().find(|p| p.as_os_str() != "-") else {
        return PathBuf::from(".");
    };
    if first.is_dir() {
        return first.clone();
    }
    match first.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Finds `name` in `root` or a directory above it, up to the repository
/// root (the first directory with a `.git`), as git and ripgrep users expect
/// of `keysweep scan src`. Outside a repository only `root` is looked at, so
/// a stray file in a parent directory is never picked up. The path returned
/// is relative to the current directory when it lies below it.
pub(crate) fn discover(root: &Path, cwd: &Path, name: &str) -> Option<PathBuf> {
    let start = absolute(cwd, root);
    let in_repo = start.ancestors().any(|d| d.join(".git").exists());
    let mut found = None;
    for dir in start.ancestors() {
        let p = dir.join(name);
        if p.is_file() {
            found = Some(p);
            break;
        }
        // The walk up ends at the repository root, after looking in it.
        if !in_repo || dir.join(".git").exists() {
            break;
        }
    }
    let found = found?;
    Some(match found.strip_prefix(cwd) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.to_path_buf(),
        _ => found,
    })
}

/// Finds and reads the config files, builds the rule set and the triage.
///
/// Order of precedence: `--config`, `$KEYSWEEP_CONFIG`, `keysweep.toml` at
/// the scan root or above it in the repository ([`discover`]). A gitleaks
/// config comes from `--gitleaks-config`, the config's `gitleaks_config`, or
/// (only when no keysweep config is in use) a discovered `.gitleaks.toml`.
/// Rules: bundled (unless a gitleaks config replaces them), gitleaks rules,
/// the config's `rules.paths`, `--rules`; then the selection: `--rule` if
/// given, else the config's `include` and `exclude`, less `--exclude-rule`.
pub(crate) fn setup(
    cfg: &ConfigArgs,
    rule_args: &RuleArgs,
    paths: &[PathBuf],
    messages: &Messages,
) -> anyhow::Result<Setup> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let root = scan_root(paths);
    let config = load_config(cfg, &root, &cwd)?;
    // Where a gitleaks config found in (or named from) the scanned tree must
    // stay, with what it extends; `None` when the user chose it.
    let (gitleaks_path, gitleaks_root) =
        gitleaks_config_path(cfg, config.as_ref(), &root, &cwd, messages)?;

    let mut set = RuleSet::builtin();
    let mut triage = Triage::new();
    let mut path_root = absolute(&cwd, &root);
    if let Some(gp) = &gitleaks_path {
        let g = match &gitleaks_root {
            Some(r) => GitleaksConfig::load_confined(gp, &cwd, r)?,
            None => GitleaksConfig::load(gp, &cwd)?,
        };
        for w in &g.warnings {
            messages.warn_line(w);
        }
        if g.use_default {
            for id in set.remove_ids(&g.disabled_builtin) {
                messages.warn(
                    &gp.display().to_string(),
                    &format!(
                        "[extend] disabledRules: keysweep has no bundled rule {id:?}; nothing \
                         disabled (keysweep's rule ids differ from gitleaks'; see `keysweep rules list`)"
                    ),
                );
            }
        } else {
            set.remove_builtin();
        }
        for mut rule in g.rules {
            rule.from_scanned_tree = gitleaks_root.is_some();
            set.add_imported(rule)?;
        }
        triage.allowlists.extend(g.allowlists);
        if let Some(dir) = absolute(&cwd, gp).parent() {
            path_root = dir.to_path_buf();
        }
    }
    load_rule_files(&mut set, config.as_ref(), rule_args)?;
    select_rules(&mut set, config.as_ref(), rule_args)?;

    if let Some(c) = &config {
        let mut lists = c.allowlists()?;
        lists.append(&mut triage.allowlists);
        triage.allowlists = lists;
    }
    if !cfg.no_config {
        if let Some(ignore_path) = discover(&root, &cwd, GITLEAKS_IGNORE) {
            // Its fingerprints name paths from where gitleaks ran: its directory.
            let base = absolute(&cwd, &ignore_path)
                .parent()
                .map_or_else(|| absolute(&cwd, &root), Path::to_path_buf);
            let (ignore, warnings) = GitleaksIgnore::load(&ignore_path, &base)
                .with_context(|| format!("{}: cannot read", ignore_path.display()))?;
            for w in &warnings {
                messages.warn_line(w);
            }
            triage.ignore = Some(ignore);
        }
    }

    Ok(Setup {
        rules: Arc::new(set),
        triage,
        config,
        path_root,
        cwd,
    })
}

/// Step 1: the keysweep config, from `--config`, `$KEYSWEEP_CONFIG` or
/// discovery.
fn load_config(cfg: &ConfigArgs, root: &Path, cwd: &Path) -> anyhow::Result<Option<LoadedConfig>> {
    let env_config = std::env::var_os("KEYSWEEP_CONFIG").filter(|v| !v.is_empty());
    let from_env = cfg.config.is_none() && !cfg.no_config && env_config.is_some();
    let config_path = match (&cfg.config, cfg.no_config, env_config) {
        (Some(p), _, _) => Some(p.clone()),
        (None, true, _) => None,
        (None, false, Some(env)) => Some(PathBuf::from(env)),
        (None, false, None) => discover(root, cwd, config::FILE_NAME),
    };
    let chosen = cfg.config.is_some() || from_env;
    match config_path.map(|p| Config::load(&p, cwd)).transpose() {
        Ok(c) => Ok(c.map(|mut c| {
            c.chosen = chosen;
            c
        })),
        Err(e) if from_env => {
            Err(anyhow::Error::new(e).context("the config named by KEYSWEEP_CONFIG"))
        }
        Err(e) => Err(e.into()),
    }
}

/// Step 2: the gitleaks config, if any: the flag, the keysweep config's
/// `gitleaks_config`, else (without a keysweep config) a discovered one.
/// Also returns the directory a config from the scanned tree must stay in
/// (`None` when the user chose it).
fn gitleaks_config_path(
    cfg: &ConfigArgs,
    config: Option<&LoadedConfig>,
    root: &Path,
    cwd: &Path,
    messages: &Messages,
) -> anyhow::Result<(Option<PathBuf>, Option<PathBuf>)> {
    if let Some(p) = &cfg.gitleaks_config {
        return Ok((Some(p.clone()), None));
    }
    if let Some(c) = config {
        let Some(g) = &c.config.gitleaks_config else {
            return Ok((None, None));
        };
        let g = c.resolve_checked(g, "gitleaks_config")?;
        return Ok((Some(g), (!c.chosen).then(|| c.dir.clone())));
    }
    if cfg.no_config {
        return Ok((None, None));
    }
    let Some(p) = discover(root, cwd, GITLEAKS_CONFIG) else {
        return Ok((None, None));
    };
    messages.warn(
        &p.display().to_string(),
        "using this gitleaks config (there is no keysweep.toml; --no-config ignores it)",
    );
    // Found in the tree (at the scan root or above it in the repository):
    // confined to the directory it was found in.
    let dir = absolute(cwd, &p)
        .parent()
        .map_or_else(|| absolute(cwd, root), Path::to_path_buf);
    Ok((Some(p), Some(dir)))
}

/// Step 3: rule files from the config's `rules.paths` and `--rules`; then
/// every `[endpoints]` name must be a loaded provider.
fn load_rule_files(
    set: &mut RuleSet,
    config: Option<&LoadedConfig>,
    rule_args: &RuleArgs,
) -> anyhow::Result<()> {
    if let Some(c) = config {
        for p in &c.config.rules.paths {
            let p = c.resolve_checked(p, "rules.paths")?;
            let loaded = if c.chosen {
                set.load_path(&p)
            } else {
                set.load_path_from_tree(&p)
            };
            loaded.with_context(|| format!("{}: rules.paths", c.path.display()))?;
        }
    }
    for p in &rule_args.rules {
        set.load_path(p)?;
    }
    if let Some(c) = config {
        for name in c.config.endpoints.keys() {
            if let Err(why) = set.check_provider(name) {
                anyhow::bail!("{}: endpoints.{name}: {why}", c.path.display());
            }
        }
    }
    Ok(())
}

/// Step 4: the selection. `--rule` names exactly the rules wanted, so the
/// config's selection yields to it; `--exclude-rule` always applies.
fn select_rules(
    set: &mut RuleSet,
    config: Option<&LoadedConfig>,
    rule_args: &RuleArgs,
) -> anyhow::Result<()> {
    let (cfg_include, cfg_exclude) = config
        .map(|c| {
            (
                c.config.rules.include.clone(),
                c.config.rules.exclude.clone(),
            )
        })
        .unwrap_or_default();
    let (include, mut exclude) = if rule_args.rule.is_empty() {
        (cfg_include.clone(), cfg_exclude.clone())
    } else {
        (rule_args.rule.clone(), Vec::new())
    };
    exclude.extend(rule_args.exclude_rule.iter().cloned());
    if let Err(e) = set.select(&include, &exclude) {
        if let (RuleError::UnknownId(id), Some(c)) = (&e, config) {
            let from_flags = rule_args.rule.contains(id) || rule_args.exclude_rule.contains(id);
            if !from_flags && (cfg_include.contains(id) || cfg_exclude.contains(id)) {
                return Err(anyhow::Error::new(e).context(format!("{}: [rules]", c.path.display())));
            }
        }
        return Err(e.into());
    }
    if set.is_empty() {
        anyhow::bail!("no rules selected: check --rule, --exclude-rule and the config's [rules]");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_root_of_paths() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_path_buf();
        std::fs::write(d.join("f.txt"), "x").unwrap();
        assert_eq!(scan_root(&[]), PathBuf::from("."));
        assert_eq!(scan_root(&["-".into()]), PathBuf::from("."));
        assert_eq!(scan_root(std::slice::from_ref(&d)), d);
        assert_eq!(scan_root(&["-".into(), d.join("f.txt")]), d);
        assert_eq!(scan_root(&["f.txt".into()]), PathBuf::from("."));
    }
}
