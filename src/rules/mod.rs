//! Rule definitions: loading, selection and lazy compilation.
//!
//! A rule is data (`rules/*.yml`, one file per provider family): keywords for the
//! prefilter, a regex whose first capture group (or the group named `secret`) is
//! the secret, optional filters, and examples that `keysweep rules check` verifies.
//! Regexes are compiled on first use, so scanning one small file pays only for the
//! rules whose keywords occur in it.

mod check;
mod spec;

pub use check::{check_rules, CheckReport};
pub use spec::{CharClass, Companion, Confidence, RuleFile, RuleSpec, Severity};

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use regex_automata::meta;
use regex_automata::util::syntax;

include!(concat!(env!("OUT_DIR"), "/embedded_rules.rs"));

/// One bundled rule file, converted to JSON at build time.
pub struct EmbeddedRuleFile {
    /// File stem, e.g. `github`; also the rule's provider.
    pub name: &'static str,
    /// The rules without their examples.
    pub json: &'static str,
    /// The original YAML, examples included.
    pub yaml: &'static str,
}

/// Largest compiled size allowed for one rule's regex. A rule over this limit is
/// almost certainly a mistake (an unbounded repetition of a large class); the error
/// says which rule to fix.
const REGEX_SIZE_LIMIT: usize = 8 << 20;

/// An error loading or compiling rules. Display starts with the location.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: invalid rule file: {message}")]
    Parse { path: String, message: String },
    #[error("{path}: rule {id}: {message}")]
    Invalid {
        path: String,
        id: String,
        message: String,
    },
    #[error("unknown rule id {0:?} (see `keysweep rules list`)")]
    UnknownId(String),
}

/// A rule ready for matching; its regexes compile on first use.
#[derive(Debug)]
pub struct Rule {
    pub spec: RuleSpec,
    /// Provider family: the rule file's stem (`github`, `openai`, ...).
    pub provider: String,
    /// Where the rule came from: `builtin:github` or a file path.
    pub origin: String,
    /// Whether it is bundled with keysweep (as opposed to `--rules`).
    pub builtin: bool,
    /// What finds its secrets.
    pub engine: Engine,
    regex: OnceLock<Compiled>,
    companions: OnceLock<Vec<meta::Regex>>,
}

/// What finds a rule's secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Engine {
    /// The matcher, with the rule's keywords and pattern.
    #[default]
    Pattern,
    /// A format stage, by the value's position in a structured file
    /// (`mcp-literal-credential`, `ci-literal-credential`). The matcher never
    /// runs these rules; their keywords only describe what the format looks
    /// for. See [`crate::format::rules`].
    Format,
}

/// A compiled rule regex with the index of the group that holds the secret.
#[derive(Debug)]
pub struct Compiled {
    pub regex: meta::Regex,
    pub secret_group: usize,
    /// Other named groups, reported as parts of the finding.
    pub named: Vec<(usize, String)>,
}

impl Rule {
    fn new(spec: RuleSpec, provider: &str, origin: &str, builtin: bool) -> Rule {
        Rule {
            spec,
            provider: provider.to_string(),
            origin: origin.to_string(),
            builtin,
            engine: Engine::Pattern,
            regex: OnceLock::new(),
            companions: OnceLock::new(),
        }
    }

    pub fn id(&self) -> &str {
        &self.spec.id
    }

    /// The compiled pattern.
    ///
    /// # Panics
    ///
    /// Panics if the pattern does not compile. Every rule is compiled by
    /// [`Rule::try_compile`] when loaded from a user file, and bundled rules are
    /// compiled by the test suite, so this indicates a bug.
    pub fn compiled(&self) -> &Compiled {
        self.regex.get_or_init(|| {
            compile(&self.spec).unwrap_or_else(|e| panic!("rule {}: {e}", self.spec.id))
        })
    }

    /// Compiles the rule's regexes now, returning the error instead of panicking.
    ///
    /// # Errors
    ///
    /// Fails when the pattern is not valid syntax, exceeds the size limit, or
    /// has no capture group; likewise for each companion pattern.
    pub fn try_compile(&self) -> Result<(), String> {
        if self.engine == Engine::Format {
            return Ok(());
        }
        if self.regex.get().is_none() {
            let c = compile(&self.spec)?;
            let _ = self.regex.set(c);
        }
        if self.companions.get().is_none() {
            let mut v = Vec::new();
            for c in &self.spec.companions {
                let re =
                    build_regex(&c.pattern).map_err(|e| format!("companion {}: {e}", c.name))?;
                if re.group_info().group_len(regex_automata::PatternID::ZERO) < 2 {
                    return Err(format!(
                        "companion {}: pattern needs a capture group",
                        c.name
                    ));
                }
                v.push(re);
            }
            let _ = self.companions.set(v);
        }
        Ok(())
    }

    /// Compiled companion patterns, in the order of `spec.companions`.
    pub fn companions(&self) -> &[meta::Regex] {
        self.companions.get_or_init(|| {
            self.spec
                .companions
                .iter()
                .map(|c| {
                    build_regex(&c.pattern).unwrap_or_else(|e| {
                        panic!("rule {} companion {}: {e}", self.spec.id, c.name)
                    })
                })
                .collect()
        })
    }
}

/// Builds a regex with keysweep's rule semantics: bytes-oriented and ASCII-only
/// classes (`\w`, `\b`, `(?i)` are ASCII), which keeps every rule on the fast DFA
/// engines even on non-UTF-8 input.
pub(crate) fn build_regex(pattern: &str) -> Result<meta::Regex, String> {
    meta::Regex::builder()
        .configure(
            meta::Config::new()
                .utf8_empty(false)
                .nfa_size_limit(Some(REGEX_SIZE_LIMIT))
                .hybrid_cache_capacity(1 << 20),
        )
        .syntax(syntax::Config::new().unicode(false).utf8(false))
        .build(pattern)
        .map_err(|e| {
            let mut msg = e.to_string();
            if let Some(syn) = e.syntax_error() {
                msg = syn.to_string();
            } else if e.size_limit().is_some() {
                msg.push_str(" (narrow the repetitions or character classes)");
            }
            msg
        })
}

fn compile(spec: &RuleSpec) -> Result<Compiled, String> {
    let regex = build_regex(&spec.pattern)?;
    let info = regex.group_info();
    let pid = regex_automata::PatternID::ZERO;
    let groups = info.group_len(pid);
    if groups < 2 {
        return Err("pattern needs a capture group around the secret".into());
    }
    let secret_group = info.to_index(pid, "secret").unwrap_or(1);
    let named = (1..groups)
        .filter(|&i| i != secret_group)
        .filter_map(|i| info.to_name(pid, i).map(|n| (i, n.to_string())))
        .collect();
    Ok(Compiled {
        regex,
        secret_group,
        named,
    })
}

/// A set of rules. Cheap to build; regexes compile lazily.
#[derive(Debug, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

impl RuleSet {
    /// The rules bundled with keysweep.
    pub fn builtin() -> RuleSet {
        let mut set = RuleSet::default();
        for file in EMBEDDED {
            let parsed: RuleFile = serde_json::from_str(file.json)
                .unwrap_or_else(|e| panic!("bundled rules/{}.yml: {e}", file.name));
            let provider = parsed
                .provider
                .clone()
                .unwrap_or_else(|| file.name.to_string());
            let origin = format!("builtin:{}", file.name);
            for spec in parsed.rules {
                set.rules.push(Rule::new(spec, &provider, &origin, true));
            }
        }
        for (spec, provider) in crate::format::rules() {
            let mut rule = Rule::new(spec, provider, &format!("builtin:format/{provider}"), true);
            rule.engine = Engine::Format;
            set.rules.push(rule);
        }
        set
    }

    /// Parses bundled rule files with their examples, for `rules check`.
    pub fn builtin_with_examples() -> Result<RuleSet, RuleError> {
        let mut set = RuleSet::default();
        for file in EMBEDDED {
            set.add_yaml(
                file.yaml,
                &format!("rules/{}.yml", file.name),
                file.name,
                true,
            )?;
        }
        Ok(set)
    }

    /// Loads user rules from a YAML file or every `*.yml`/`*.yaml` file in a
    /// directory, compiling them at once so that a mistake is reported up front.
    ///
    /// # Errors
    ///
    /// Fails naming the file (and rule) when a file cannot be read, is not a valid
    /// rule file, or holds a rule that does not compile or duplicates an id.
    pub fn load_path(&mut self, path: &Path) -> Result<(), RuleError> {
        let files = if path.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|source| RuleError::Io {
                    path: path.to_path_buf(),
                    source,
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
                .collect();
            v.sort();
            v
        } else {
            vec![path.to_path_buf()]
        };
        for file in files {
            let text = std::fs::read_to_string(&file).map_err(|source| RuleError::Io {
                path: file.clone(),
                source,
            })?;
            let stem = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "custom".into());
            let start = self.rules.len();
            self.add_yaml(&text, &file.display().to_string(), &stem, false)?;
            for rule in &self.rules[start..] {
                rule.try_compile().map_err(|message| RuleError::Invalid {
                    path: file.display().to_string(),
                    id: rule.spec.id.clone(),
                    message,
                })?;
            }
        }
        Ok(())
    }

    fn add_yaml(
        &mut self,
        text: &str,
        path: &str,
        stem: &str,
        builtin: bool,
    ) -> Result<(), RuleError> {
        let parsed: RuleFile = serde_yaml::from_str(text).map_err(|e| RuleError::Parse {
            path: path.to_string(),
            message: e.to_string(),
        })?;
        let provider = parsed.provider.clone().unwrap_or_else(|| stem.to_string());
        for spec in parsed.rules {
            spec.validate().map_err(|message| RuleError::Invalid {
                path: path.to_string(),
                id: spec.id.clone(),
                message,
            })?;
            if let Some(prev) = self.rules.iter().find(|r| r.spec.id == spec.id) {
                return Err(RuleError::Invalid {
                    path: path.to_string(),
                    id: spec.id.clone(),
                    message: format!("duplicate id (already defined in {})", prev.origin),
                });
            }
            self.rules.push(Rule::new(spec, &provider, path, builtin));
        }
        Ok(())
    }

    /// Keeps only the selected rules.
    ///
    /// `include` (when not empty) and `exclude` hold rule ids or globs such as
    /// `github-*`.
    ///
    /// # Errors
    ///
    /// Fails when a plain id (no `*`) names no rule, since a typo there would
    /// silently scan with the wrong rules.
    pub fn select(&mut self, include: &[String], exclude: &[String]) -> Result<(), RuleError> {
        for id in include.iter().chain(exclude) {
            if !id.contains('*') && !self.rules.iter().any(|r| r.spec.id == *id) {
                return Err(RuleError::UnknownId(id.clone()));
            }
        }
        self.rules.retain(|r| {
            (include.is_empty() || include.iter().any(|p| glob_match(p, &r.spec.id)))
                && !exclude.iter().any(|p| glob_match(p, &r.spec.id))
        });
        Ok(())
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.spec.id == id)
    }
}

/// Matches `text` against a pattern where `*` stands for any run of characters.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(pos) => rest = &rest[pos + part.len()..],
                None => return false,
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob() {
        assert!(glob_match("github-*", "github-pat"));
        assert!(!glob_match("github-*", "gitlab-pat"));
        assert!(glob_match("*-key", "openai-api-key"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "axxbyy"));
        assert!(glob_match("exact", "exact"));
    }

    #[test]
    fn builtin_rules_parse_and_compile() {
        let set = RuleSet::builtin();
        assert!(set.len() >= 150, "only {} bundled rules", set.len());
        for rule in set.rules() {
            rule.try_compile()
                .unwrap_or_else(|e| panic!("{}: {e}", rule.id()));
        }
    }

    #[test]
    fn select_rejects_unknown_plain_id() {
        let mut set = RuleSet::builtin();
        let err = set.select(&["no-such-rule".into()], &[]).unwrap_err();
        assert!(err.to_string().contains("no-such-rule"));
        let mut set = RuleSet::builtin();
        set.select(&["github-*".into()], &[]).unwrap();
        assert!(!set.is_empty());
        assert!(set.rules().iter().all(|r| r.id().starts_with("github-")));
    }
}
