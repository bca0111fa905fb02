//! `keysweep.toml`: rule selection, allowlists, limits, and the settings of
//! validation and revocation.
//!
//! Found at the scan root, or given with `--config FILE` or the
//! `KEYSWEEP_CONFIG` environment variable. Every table refuses keys it does
//! not know, so a typo (`stopword`, `excude`) is an error naming the key and
//! the file rather than a silently disabled protection. Relative paths in the
//! file are relative to the file's directory. `keysweep init` writes a
//! commented example ([`TEMPLATE`]).

pub mod units;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};

pub use crate::revoke::policy::{Broker, RevokeConfig, RevokeMode, RevokeRequire};
use crate::triage::{absolute, Allowlist, Condition, PathPattern, RegexTarget, Scope};

/// The file name looked for at the scan root.
pub const FILE_NAME: &str = "keysweep.toml";

/// The commented example `keysweep init` writes. It parses to the defaults.
pub const TEMPLATE: &str = include_str!("template.toml");

/// An error in a config file. Display starts with the file.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    pub path: PathBuf,
    pub message: String,
}

/// The contents of `keysweep.toml`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Skip files larger than this (`"25MiB"` or a number of bytes).
    #[serde(default, deserialize_with = "size")]
    pub max_file_size: Option<u64>,
    /// Baseline applied by `scan` and written by `baseline create/update`.
    #[serde(default)]
    pub baseline: Option<PathBuf>,
    /// A gitleaks config to load rules and allowlists from.
    #[serde(default)]
    pub gitleaks_config: Option<PathBuf>,
    #[serde(default)]
    pub rules: RulesConfig,
    #[serde(default)]
    pub allowlist: GlobalAllowlist,
    /// Base URL overrides for validation, by provider (the rule file's name):
    /// `github = "https://github.example.com/api/v3"`.
    #[serde(default)]
    pub endpoints: BTreeMap<String, String>,
    #[serde(default)]
    pub revoke: Option<RevokeConfig>,
}

/// `[rules]`: which rules run.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesConfig {
    /// Rule ids or globs to use; empty means all. `--rule` replaces both
    /// lists.
    #[serde(default)]
    pub include: Vec<String>,
    /// Rule ids or globs to leave out; `--exclude-rule` adds to it.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Extra rule files or directories.
    #[serde(default)]
    pub paths: Vec<PathBuf>,
}

/// `[allowlist]`: what every rule ignores, and `[allowlist.rule.ID]` tables
/// for one rule (or a glob of rules).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalAllowlist {
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(default)]
    pub regexes: Vec<String>,
    #[serde(default)]
    pub target: RegexTarget,
    #[serde(default)]
    pub stopwords: Vec<String>,
    #[serde(default)]
    pub commits: Vec<String>,
    #[serde(default)]
    pub condition: Condition,
    #[serde(default)]
    pub rule: BTreeMap<String, RuleAllowlist>,
}

/// `[allowlist.rule.ID]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleAllowlist {
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(default)]
    pub regexes: Vec<String>,
    #[serde(default)]
    pub target: RegexTarget,
    #[serde(default)]
    pub stopwords: Vec<String>,
    #[serde(default)]
    pub commits: Vec<String>,
    #[serde(default)]
    pub condition: Condition,
}

fn size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Size {
        Bytes(u64),
        Text(String),
    }
    match Size::deserialize(d)? {
        Size::Bytes(n) => Ok(Some(n)),
        Size::Text(s) => units::parse_size(&s)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

/// A config file read from disk.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// The file as given or found.
    pub path: PathBuf,
    /// Its directory, absolute: relative paths in the file start here.
    pub dir: PathBuf,
    pub config: Config,
    /// Chosen by the user (`--config`, `$KEYSWEEP_CONFIG`) rather than found
    /// in the scanned tree. Only a chosen config may say where secrets are
    /// sent (`[endpoints]`, revocation brokers with their own address): a
    /// repository being scanned must not redirect its own secrets.
    pub chosen: bool,
}

impl Config {
    /// Parses and checks a config read from `path`.
    ///
    /// # Errors
    ///
    /// Fails naming the file on TOML errors, unknown keys (with the key's line),
    /// and values serde cannot check (URLs, empty commands).
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let err = |message: String| ConfigError {
            path: path.to_path_buf(),
            message,
        };
        let config: Config =
            toml::from_str(text).map_err(|e| err(crate::diag::toml_error(text, &e)))?;
        config.check().map_err(|p| err(p.to_string()))?;
        Ok(config)
    }

    fn check(&self) -> Result<(), Problem> {
        for (provider, url) in &self.endpoints {
            check_url(url).map_err(|problem| Problem::Url {
                at: format!("endpoints.{provider}"),
                problem,
            })?;
        }
        if let Some(r) = &self.revoke {
            for (i, b) in r.broker.iter().enumerate() {
                let at = format!("revoke.broker #{}", i + 1);
                let url_at = |key: &str, problem| Problem::Url {
                    at: format!("{at}: {key}"),
                    problem,
                };
                match b {
                    Broker::Http { url, .. } => check_url(url).map_err(|p| url_at("url", p))?,
                    Broker::Vault { address, .. } => {
                        check_url(address).map_err(|p| url_at("address", p))?
                    }
                    Broker::Command { command } if command.is_empty() => {
                        return Err(Problem::EmptyCommand(at))
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// Reads `path`.
    ///
    /// # Errors
    ///
    /// As [`Config::parse`], and when the file cannot be read.
    pub fn load(path: &Path, cwd: &Path) -> Result<LoadedConfig, ConfigError> {
        let text = crate::blob::read_text_file(path).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let config = Config::parse(&text, path)?;
        let abs = absolute(cwd, path);
        let dir = abs.parent().map(Path::to_path_buf).unwrap_or(abs);
        Ok(LoadedConfig {
            path: path.to_path_buf(),
            dir,
            config,
            chosen: false,
        })
    }
}

/// What is wrong at one key of a config file; [`ConfigError`] names the
/// file.
#[derive(Debug, thiserror::Error)]
enum Problem {
    #[error("{at}: {problem}")]
    Url { at: String, problem: UrlProblem },
    #[error("{0}: command is empty")]
    EmptyCommand(String),
    #[error("{table}: {problem}")]
    Allowlist {
        table: String,
        problem: crate::triage::PatternError,
    },
}

#[derive(Debug, thiserror::Error)]
enum UrlProblem {
    #[error("{0:?} is not an http:// or https:// URL")]
    NotHttp(String),
    #[error("{0:?} has no host")]
    NoHost(String),
}

fn check_url(url: &str) -> Result<(), UrlProblem> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| UrlProblem::NotHttp(url.to_string()))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(UrlProblem::NoHost(url.to_string()));
    }
    Ok(())
}

impl LoadedConfig {
    /// A path from the file, resolved against its directory (kept relative
    /// when the file's path is, for readable messages).
    pub fn resolve(&self, p: &Path) -> PathBuf {
        match self.path.parent() {
            _ if p.is_absolute() => p.to_path_buf(),
            Some(dir) if !dir.as_os_str().is_empty() => dir.join(p),
            _ => p.to_path_buf(),
        }
    }

    /// A path from the file for `key`, resolved as [`LoadedConfig::resolve`]
    /// and, unless the user chose this config, confined to the file's
    /// directory (see [`crate::triage::confine`]).
    ///
    /// # Errors
    ///
    /// Fails naming the file and key when a found config names a path
    /// outside its tree or something that is not a regular file.
    pub fn resolve_checked(&self, p: &Path, key: &str) -> Result<PathBuf, ConfigError> {
        let resolved = self.resolve(p);
        if !self.chosen {
            crate::triage::confine(&self.dir, &self.dir.join(p))
                .map_err(|m| self.err(format!("{key}: {m}")))?;
        }
        Ok(resolved)
    }

    /// The allowlists the file defines, compiled.
    ///
    /// # Errors
    ///
    /// Fails naming the file and table on a malformed glob, regex or commit.
    pub fn allowlists(&self) -> Result<Vec<Allowlist>, ConfigError> {
        let name = self.path.display().to_string();
        let a = &self.config.allowlist;
        let mut out = Vec::new();
        let global = build(
            &format!("{name} [allowlist]"),
            &self.dir,
            Scope::All,
            Parts {
                description: &a.description,
                paths: &a.paths,
                regexes: &a.regexes,
                target: a.target,
                stopwords: &a.stopwords,
                commits: &a.commits,
                condition: a.condition,
            },
        );
        out.push(global.map_err(|p| self.err(p.to_string()))?);
        for (id, r) in &a.rule {
            let list = build(
                &format!("{name} [allowlist.rule.{id}]"),
                &self.dir,
                Scope::Rules(vec![id.clone()]),
                Parts {
                    description: &r.description,
                    paths: &r.paths,
                    regexes: &r.regexes,
                    target: r.target,
                    stopwords: &r.stopwords,
                    commits: &r.commits,
                    condition: r.condition,
                },
            );
            out.push(list.map_err(|p| self.err(p.to_string()))?);
        }
        out.retain(|l| !l.is_empty());
        Ok(out)
    }

    fn err(&self, message: String) -> ConfigError {
        ConfigError {
            path: self.path.clone(),
            message,
        }
    }
}

struct Parts<'a> {
    description: &'a str,
    paths: &'a [String],
    regexes: &'a [String],
    target: RegexTarget,
    stopwords: &'a [String],
    commits: &'a [String],
    condition: Condition,
}

fn build(origin: &str, dir: &Path, scope: Scope, p: Parts<'_>) -> Result<Allowlist, Problem> {
    // The origin begins with the file name, which the error adds again.
    let table = origin.rsplit_once(' ').map_or(origin, |(_, t)| t);
    let at = |problem| Problem::Allowlist {
        table: table.to_string(),
        problem,
    };
    let mut list = Allowlist::new(origin, dir);
    list.description = p.description.to_string();
    list.scope = scope;
    list.condition = p.condition;
    list.target = p.target;
    for g in p.paths {
        list.paths.push(PathPattern::glob(g).map_err(at)?);
    }
    for r in p.regexes {
        list.add_regex(r).map_err(at)?;
    }
    list.add_stopwords(p.stopwords);
    list.add_commits(p.commits).map_err(at)?;
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("keysweep.toml"))
    }

    #[test]
    fn template_parses_to_defaults() {
        let c = parse(TEMPLATE).unwrap();
        assert!(c.max_file_size.is_none());
        assert!(c.rules.include.is_empty());
        assert!(c.revoke.is_none());
        // Every commented-out setting in the template is valid too.
        let uncommented: String = TEMPLATE
            .lines()
            .map(|l| {
                l.strip_prefix("# ")
                    .filter(|r| looks_like_toml(r))
                    .unwrap_or(l)
            })
            .map(|l| format!("{l}\n"))
            .collect();
        let c = parse(&uncommented).unwrap_or_else(|e| panic!("{e}\n{uncommented}"));
        assert_eq!(c.max_file_size, Some(25 << 20));
        let r = c.revoke.unwrap();
        assert_eq!(r.mode, RevokeMode::DryRun);
        assert_eq!(r.broker.len(), 4);
        assert!(!c.endpoints.is_empty());
        assert!(!c.allowlist.rule.is_empty());
    }

    /// A commented line that is a setting rather than prose.
    fn looks_like_toml(l: &str) -> bool {
        l.starts_with('[') || l.split_once(" = ").is_some_and(|(k, _)| !k.contains(' '))
    }

    #[test]
    fn unknown_keys_name_key_and_file() {
        let e = parse("[allowlist]\nstopword = ['x']\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("keysweep.toml: "), "{e}");
        assert!(e.contains("unknown field `stopword`"), "{e}");
        assert!(e.contains("line 2"), "{e}");
        let e =
            parse("[[revoke.broker]]\nkind = 'http'\nurl = 'https://b'\nsend_secrets = false\n")
                .unwrap_err()
                .to_string();
        assert!(e.contains("send_secrets"), "{e}");
        let e = parse("[revoke]\nmode = 'enforced'\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("enforced"), "{e}");
    }

    #[test]
    fn values_are_checked() {
        assert_eq!(
            parse("max_file_size = 1024").unwrap().max_file_size,
            Some(1024)
        );
        assert_eq!(
            parse("max_file_size = '1K'").unwrap().max_file_size,
            Some(1024)
        );
        assert!(parse("max_file_size = 'lots'").is_err());
        let e = parse("[endpoints]\ngithub = 'github.example.com'\n").unwrap_err();
        assert!(e.to_string().contains("endpoints.github"), "{e}");
        let e = parse("[[revoke.broker]]\nkind = 'command'\ncommand = []\n").unwrap_err();
        assert!(e.to_string().contains("command is empty"), "{e}");
    }

    #[test]
    fn allowlists_compile_with_their_origin() {
        let c = parse(
            "[allowlist]\npaths = ['tests/**']\n[allowlist.rule.github-pat-classic]\nstopwords = ['x']\n",
        )
        .unwrap();
        let loaded = LoadedConfig {
            chosen: false,
            path: "keysweep.toml".into(),
            dir: "/repo".into(),
            config: c,
        };
        let lists = loaded.allowlists().unwrap();
        assert_eq!(lists.len(), 2);
        assert_eq!(
            lists[1].scope,
            Scope::Rules(vec!["github-pat-classic".into()])
        );
        assert!(lists[1]
            .origin
            .ends_with("[allowlist.rule.github-pat-classic]"));
        let bad = LoadedConfig {
            chosen: false,
            config: parse("[allowlist]\nregexes = ['(']\n").unwrap(),
            ..loaded
        };
        let e = bad.allowlists().unwrap_err().to_string();
        assert!(e.starts_with("keysweep.toml: [allowlist]: regex"), "{e}");
    }
}
