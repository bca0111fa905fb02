//! Reading a gitleaks config (`.gitleaks.toml`, gitleaks v8 format).
//!
//! Keys are case-insensitive, as in gitleaks (which reads them with viper):
//! `secretGroup`, `secretgroup` and `SecretGroup` are one key. A key gitleaks
//! does not know is an error, as is anything keysweep cannot reproduce
//! faithfully; errors name the file and the rule.
//!
//! | gitleaks                              | keysweep                                        |
//! |---------------------------------------|-------------------------------------------------|
//! | `[[rules]] id, description`           | rule id, name and description                   |
//! | `regex` (Go RE2)                      | the pattern, translated ([`super::re2`])        |
//! | `secretGroup`                         | that group; unset: the first non-empty group, else the whole match |
//! | `keywords`                            | prefilter keywords; as in gitleaks, one anywhere in the file lets the rule run on the file |
//! | no `keywords`                         | keywords derived from the regex; failing that the rule runs on every file (with a warning) |
//! | `entropy`                             | minimum entropy (a secret must exceed it)       |
//! | `path`                                | the rule reports only in matching paths         |
//! | `[[rules.allowlists]]`, `[rules.allowlist]` | allowlists scoped to the rule             |
//! | `[[allowlists]]`, `[allowlist]`, `targetRules` | global (or targeted) allowlists        |
//! | `[extend] useDefault = true`          | keysweep's bundled rules stay enabled alongside |
//! | `[extend] path`                       | that config is loaded first, then this one merged over it |
//! | `[extend] disabledRules`              | those rules of the extended config are dropped  |
//! | `tags`, `title`, `minVersion`         | accepted and ignored                            |
//! | path-only rules (no `regex`), `[[rules.required]]` | an error: not supported             |

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::re2;
use crate::rules::literals::{derive_keywords, max_match_len};
use crate::rules::{build_regex, Confidence, Rule, RuleSpec, SecretGroup, Severity};
use crate::triage::{absolute, Allowlist, Condition, PathPattern, RegexTarget, Scope};

/// gitleaks follows `[extend] path` this many levels deep.
const MAX_EXTEND_DEPTH: usize = 2;
/// A keyword anywhere in a file lets a gitleaks rule run on the whole file;
/// keysweep searches this far either side of each keyword hit (its maximum).
const WHOLE_FILE_REACH: usize = 1 << 20;

/// An error in a gitleaks config. Display starts with the file (and rule).
#[derive(Debug, thiserror::Error)]
pub enum GitleaksError {
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("{path}: rule {id}: {message}")]
    Rule {
        path: PathBuf,
        id: String,
        message: String,
    },
}

/// A gitleaks config converted to keysweep rules and allowlists.
#[derive(Debug)]
pub struct GitleaksConfig {
    pub path: PathBuf,
    /// Rules defined by the config (and the configs it extends by path).
    pub rules: Vec<Rule>,
    /// `[extend] useDefault = true`: keep keysweep's bundled rules.
    pub use_default: bool,
    /// With `use_default`: bundled rule ids to drop (`[extend] disabledRules`).
    pub disabled_builtin: Vec<String>,
    /// Global, targeted and per-rule allowlists.
    pub allowlists: Vec<Allowlist>,
    /// Things worth telling the user (rules running without keywords, ...).
    pub warnings: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    minversion: Option<String>,
    #[serde(default)]
    extend: Option<RawExtend>,
    #[serde(default)]
    rules: Vec<toml::Value>,
    #[serde(default)]
    allowlist: Option<RawAllowlist>,
    #[serde(default)]
    allowlists: Vec<RawAllowlist>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExtend {
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    usedefault: bool,
    #[serde(default)]
    disabledrules: Vec<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    #[serde(default)]
    id: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    regex: Option<String>,
    #[serde(default)]
    secretgroup: Option<usize>,
    #[serde(default)]
    entropy: Option<f64>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    allowlist: Option<RawAllowlist>,
    #[serde(default)]
    allowlists: Vec<RawAllowlist>,
    #[serde(default)]
    required: Vec<toml::Value>,
    #[serde(default)]
    skipreport: bool,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAllowlist {
    #[serde(default)]
    description: String,
    #[serde(default)]
    condition: Option<String>,
    #[serde(default)]
    commits: Vec<String>,
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    regextarget: Option<String>,
    #[serde(default)]
    regexes: Vec<String>,
    #[serde(default)]
    stopwords: Vec<String>,
    /// Only in global allowlists.
    #[serde(default)]
    targetrules: Vec<String>,
}

/// One config file's rules and allowlists, before merging.
#[derive(Debug, Default)]
struct Layer {
    path: PathBuf,
    rules: Vec<RawRule>,
    /// Global allowlists with where they were defined.
    allowlists: Vec<(String, RawAllowlist)>,
    use_default: bool,
    disabled_builtin: Vec<String>,
    warnings: Vec<String>,
}

impl GitleaksConfig {
    /// Loads a gitleaks config and what it extends, converting rules and
    /// allowlists. Relative paths are resolved against `cwd`; `[extend] path`
    /// against the extending file's directory first, then `cwd` (gitleaks
    /// uses the working directory).
    ///
    /// # Errors
    ///
    /// Fails naming the file (and rule) on unreadable files, TOML errors,
    /// unknown keys, regexes that cannot be mapped, and features keysweep does
    /// not support (path-only rules, `[[rules.required]]`, `[extend] url`).
    pub fn load(path: &Path, cwd: &Path) -> Result<GitleaksConfig, GitleaksError> {
        let layer = load_layer(path, cwd, 0, None)?;
        convert(layer, cwd)
    }

    /// As [`GitleaksConfig::load`] for a config found in (or named from) the
    /// scanned tree: it and every `[extend] path` must stay inside `root`
    /// and be regular files, since the tree must not make keysweep read (and
    /// echo in an error) files elsewhere on the machine.
    ///
    /// # Errors
    ///
    /// As [`GitleaksConfig::load`], and when a path leaves `root`.
    pub fn load_confined(
        path: &Path,
        cwd: &Path,
        root: &Path,
    ) -> Result<GitleaksConfig, GitleaksError> {
        crate::triage::confine(root, &absolute(cwd, path)).map_err(|m| file_err(path, m))?;
        let layer = load_layer(path, cwd, 0, Some(root))?;
        convert(layer, cwd)
    }

    /// Parses a gitleaks config from text, as if read from `path`. `[extend]
    /// path` is still read from disk.
    ///
    /// # Errors
    ///
    /// As [`GitleaksConfig::load`].
    pub fn parse(text: &str, path: &Path, cwd: &Path) -> Result<GitleaksConfig, GitleaksError> {
        let layer = parse_layer(text, path, cwd, 0, None)?;
        convert(layer, cwd)
    }
}

fn file_err(path: &Path, message: impl std::fmt::Display) -> GitleaksError {
    GitleaksError::File {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

fn rule_err(path: &Path, id: &str, message: impl std::fmt::Display) -> GitleaksError {
    GitleaksError::Rule {
        path: path.to_path_buf(),
        id: id.to_string(),
        message: message.to_string(),
    }
}

/// What is wrong with one rule or allowlist of a config;
/// [`GitleaksError`] puts the file (and rule) in front.
#[derive(Debug, thiserror::Error)]
enum Problem {
    #[error("{what}: {error}")]
    Translate {
        what: &'static str,
        error: super::re2::Re2Error,
    },
    #[error("{0}")]
    Rule(#[from] crate::rules::RuleProblem),
    #[error("regex: {0}")]
    Regex(crate::rules::RuleProblem),
    #[error("entropy {0} is above the maximum of 8 bits per byte")]
    Entropy(f64),
    #[error("secretGroup {index} does not exist (the regex has {groups} capture groups)")]
    SecretGroup { index: usize, groups: usize },
    #[error("{origin}: {problem}")]
    Allowlist {
        origin: String,
        problem: AllowlistProblem,
    },
}

#[derive(Debug, thiserror::Error)]
enum AllowlistProblem {
    #[error("condition {0:?} is not OR or AND")]
    Condition(String),
    #[error("regexTarget {0:?} is not secret, match or line")]
    RegexTarget(String),
    #[error("{what} {pattern:?}: {error}")]
    Translate {
        what: &'static str,
        pattern: String,
        error: super::re2::Re2Error,
    },
    #[error("{0}")]
    Pattern(#[from] crate::triage::PatternError),
    #[error("must contain at least one of commits, paths, regexes or stopwords")]
    Empty,
}

fn load_layer(
    path: &Path,
    cwd: &Path,
    depth: usize,
    root: Option<&Path>,
) -> Result<Layer, GitleaksError> {
    let text = crate::blob::read_text_file(path).map_err(|e| file_err(path, e.to_string()))?;
    parse_layer(&text, path, cwd, depth, root)
}

/// Lowercases every key, as viper does, refusing keys that then collide.
fn lowercase_keys(v: toml::Value, path: &Path) -> Result<toml::Value, GitleaksError> {
    Ok(match v {
        toml::Value::Table(t) => {
            let mut out = toml::map::Map::new();
            for (k, v) in t {
                let lower = k.to_lowercase();
                if out.contains_key(&lower) {
                    return Err(file_err(
                        path,
                        format!("key `{k}` is given twice (gitleaks keys ignore case)"),
                    ));
                }
                out.insert(lower, lowercase_keys(v, path)?);
            }
            toml::Value::Table(out)
        }
        toml::Value::Array(a) => toml::Value::Array(
            a.into_iter()
                .map(|v| lowercase_keys(v, path))
                .collect::<Result<_, _>>()?,
        ),
        other => other,
    })
}

fn parse_layer(
    text: &str,
    path: &Path,
    cwd: &Path,
    depth: usize,
    root: Option<&Path>,
) -> Result<Layer, GitleaksError> {
    // Errors give positions, not excerpts: the file may not be a config at
    // all (`[extend] path = ".env"`).
    let value: toml::Value =
        toml::from_str(text).map_err(|e| file_err(path, crate::diag::toml_error(text, &e)))?;
    let value = lowercase_keys(value, path)?;
    let raw = RawConfig::deserialize(value)
        .map_err(|e| file_err(path, crate::diag::without_quoted_values(&e.to_string())))?;
    let _ = (&raw.title, &raw.description, &raw.minversion);

    let rules = parse_rules(raw.rules, path)?;

    if raw.allowlist.is_some() && !raw.allowlists.is_empty() {
        return Err(file_err(
            path,
            "[allowlist] cannot be used alongside [[allowlists]]",
        ));
    }
    let mut allowlists = Vec::new();
    if let Some(a) = raw.allowlist {
        allowlists.push((format!("{} [allowlist]", path.display()), a));
    }
    for (i, a) in raw.allowlists.into_iter().enumerate() {
        allowlists.push((format!("{} [[allowlists]] #{}", path.display(), i + 1), a));
    }

    let layer = Layer {
        path: path.to_path_buf(),
        rules,
        allowlists,
        ..Layer::default()
    };

    match raw.extend {
        Some(ext) => extend(layer, ext, path, cwd, depth, root),
        None => Ok(layer),
    }
}

/// The `[[rules]]` of a config, each checked on its own (id, duplicates,
/// allowlist forms).
fn parse_rules(values: Vec<toml::Value>, path: &Path) -> Result<Vec<RawRule>, GitleaksError> {
    let mut rules = Vec::new();
    for (i, v) in values.into_iter().enumerate() {
        let id = v
            .get("id")
            .and_then(|x| x.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| format!("#{}", i + 1));
        let rule = RawRule::deserialize(v).map_err(|e| {
            rule_err(
                path,
                &id,
                crate::diag::without_quoted_values(&e.to_string()),
            )
        })?;
        if rule.id.trim().is_empty() {
            return Err(rule_err(path, &id, "`id` is missing or empty"));
        }
        if rule.id.contains(':') || rule.id.chars().any(char::is_whitespace) {
            return Err(rule_err(path, &id, "an id may not contain `:` or spaces"));
        }
        if rules.iter().any(|r: &RawRule| r.id == rule.id) {
            return Err(rule_err(path, &id, "defined twice"));
        }
        if rule.allowlist.is_some() && !rule.allowlists.is_empty() {
            return Err(rule_err(
                path,
                &id,
                "[rules.allowlist] cannot be used alongside [[rules.allowlists]]",
            ));
        }
        rules.push(rule);
    }
    Ok(rules)
}

/// Applies `[extend]`: gitleaks' own rules (`useDefault`) or a base config
/// (`path`, confined to the scanned tree when the config was found there),
/// loaded and merged under `layer`.
fn extend(
    mut layer: Layer,
    ext: RawExtend,
    path: &Path,
    cwd: &Path,
    depth: usize,
    root: Option<&Path>,
) -> Result<Layer, GitleaksError> {
    if ext.url.is_some() {
        return Err(file_err(
            path,
            "[extend] url is not supported (gitleaks does not implement it either); \
             download the file and use [extend] path",
        ));
    }
    if ext.usedefault && ext.path.is_some() {
        return Err(file_err(
            path,
            "[extend] useDefault and path cannot both be set",
        ));
    }
    if ext.usedefault {
        layer.use_default = true;
        layer.disabled_builtin = ext.disabledrules;
    } else if let Some(p) = ext.path {
        if depth >= MAX_EXTEND_DEPTH {
            return Err(file_err(
                path,
                format!(
                    "[extend] path {p:?}: configs extend at most {MAX_EXTEND_DEPTH} levels deep"
                ),
            ));
        }
        let dir = absolute(cwd, path)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let beside = dir.join(&p);
        let base_path = if beside.exists() {
            beside
        } else {
            absolute(cwd, Path::new(&p))
        };
        if let Some(root) = root {
            crate::triage::confine(root, &base_path)
                .map_err(|m| file_err(path, format!("[extend] path: {m}")))?;
        }
        let base = load_layer(&base_path, cwd, depth + 1, root).map_err(|e| match e {
            GitleaksError::File { message, .. } if !base_path.exists() => {
                file_err(path, format!("[extend] path {p:?}: {message}"))
            }
            other => other,
        })?;
        layer = merge(base, layer, &ext.disabledrules);
    }
    Ok(layer)
}

/// Merges `top` over `base` as gitleaks extends: `top`'s rules win field by
/// field, keywords and allowlists add up, `disabled` rules of `base` go.
fn merge(base: Layer, top: Layer, disabled: &[String]) -> Layer {
    let mut warnings = base.warnings;
    warnings.extend(top.warnings);
    for id in disabled {
        if !base.rules.iter().any(|r| r.id == *id) {
            // gitleaks warns too: a stale entry enables nothing extra.
            warnings.push(format!(
                "{}: [extend] disabledRules: no rule {id:?} in {}; nothing disabled",
                top.path.display(),
                base.path.display()
            ));
        }
    }
    let mut rules: Vec<RawRule> = base
        .rules
        .into_iter()
        .filter(|r| !disabled.contains(&r.id))
        .collect();
    for r in top.rules {
        match rules.iter_mut().find(|b| b.id == r.id) {
            None => rules.push(r),
            Some(b) => {
                if !r.description.is_empty() {
                    b.description = r.description;
                }
                if r.entropy.is_some_and(|e| e != 0.0) {
                    b.entropy = r.entropy;
                }
                if r.secretgroup.is_some_and(|g| g != 0) {
                    b.secretgroup = r.secretgroup;
                }
                if r.regex.is_some() {
                    b.regex = r.regex;
                }
                if r.path.is_some() {
                    b.path = r.path;
                }
                b.keywords.extend(r.keywords);
                b.tags.extend(r.tags);
                b.allowlists.extend(r.allowlist);
                b.allowlists.extend(r.allowlists);
                b.required.extend(r.required);
                b.skipreport |= r.skipreport;
            }
        }
    }
    let mut allowlists = top.allowlists;
    allowlists.extend(base.allowlists);
    Layer {
        path: top.path,
        rules,
        allowlists,
        use_default: base.use_default,
        disabled_builtin: base.disabled_builtin,
        warnings,
    }
}

fn convert(layer: Layer, cwd: &Path) -> Result<GitleaksConfig, GitleaksError> {
    let path = layer.path.clone();
    let base = absolute(cwd, &path)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let origin = path.display().to_string();
    let mut warnings = layer.warnings.clone();
    let mut rules = Vec::new();
    let mut allowlists = Vec::new();

    for raw in &layer.rules {
        let id = raw.id.as_str();
        if let Some(rule) = convert_rule(raw, &path, &mut warnings)? {
            rules.push(rule);
        }
        let rule_lists = raw.allowlist.iter().chain(&raw.allowlists);
        for (i, a) in rule_lists.enumerate() {
            let where_ = format!("{origin} rule {id} allowlist #{}", i + 1);
            if !a.targetrules.is_empty() {
                return Err(rule_err(
                    &path,
                    id,
                    "targetRules belongs in a global [[allowlists]]",
                ));
            }
            let mut list = allowlist(a, &where_, &base).map_err(|m| rule_err(&path, id, m))?;
            list.scope = Scope::Rules(vec![raw.id.clone()]);
            allowlists.push(list);
        }
    }

    for (where_, a) in &layer.allowlists {
        let mut list = allowlist(a, where_, &base).map_err(|m| file_err(&path, m))?;
        if !a.targetrules.is_empty() {
            for t in &a.targetrules {
                let known = layer.rules.iter().any(|r| r.id == *t);
                if !known && !layer.use_default {
                    return Err(file_err(
                        &path,
                        format!("{where_}: targetRules names {t:?}, which is not a rule"),
                    ));
                }
            }
            list.scope = Scope::Rules(a.targetrules.clone());
        }
        allowlists.push(list);
    }

    Ok(GitleaksConfig {
        path,
        rules,
        use_default: layer.use_default,
        disabled_builtin: layer.disabled_builtin,
        allowlists,
        warnings,
    })
}

/// One gitleaks rule as a keysweep rule; `None` for a rule that reports
/// nothing (`skipReport`).
fn convert_rule(
    raw: &RawRule,
    path: &Path,
    warnings: &mut Vec<String>,
) -> Result<Option<Rule>, GitleaksError> {
    let id = raw.id.as_str();
    let origin = path.display().to_string();
    if !raw.required.is_empty() {
        return Err(rule_err(
            path,
            id,
            "composite rules ([[rules.required]]) are not supported",
        ));
    }
    if raw.skipreport {
        warnings.push(format!(
            "{origin}: rule {id}: skipReport is set; the rule reports nothing and is left out"
        ));
        return Ok(None);
    }
    let Some(regex) = &raw.regex else {
        return Err(rule_err(
            path,
            id,
            if raw.path.is_some() {
                "path-only rules (a `path` and no `regex`) are not supported"
            } else {
                "neither `regex` nor `path` is set: the rule would find nothing"
            },
        ));
    };
    let translate = |what, re| {
        re2::translate(re).map_err(|error| rule_err(path, id, Problem::Translate { what, error }))
    };
    let pattern = translate("regex", regex)?;
    let secret_group = secret_group(raw, &pattern).map_err(|m| rule_err(path, id, m))?;
    let path_filter = raw
        .path
        .as_deref()
        .map(|p| translate("path", p))
        .transpose()?;
    let (keywords, max_len) = keywords_and_reach(raw, &pattern, &origin, warnings);
    let min_entropy = min_entropy(raw).map_err(|m| rule_err(path, id, m))?;
    let spec = RuleSpec {
        keywords,
        max_len,
        min_entropy,
        ..spec_of(raw, pattern)
    };
    Rule::imported(
        spec,
        "gitleaks",
        &origin,
        secret_group,
        path_filter.as_deref(),
    )
    .map(Some)
    .map_err(|m| rule_err(path, id, m))
}

/// gitleaks' `entropy` as keysweep's minimum: gitleaks drops a secret whose
/// entropy is <= the threshold, keysweep one below its minimum.
fn min_entropy(raw: &RawRule) -> Result<Option<f64>, Problem> {
    match raw.entropy {
        Some(e) if e > 8.0 => Err(Problem::Entropy(e)),
        Some(e) if e > 0.0 => Ok(Some(e + 1e-9)),
        _ => Ok(None),
    }
}

/// The spec of an imported rule: its id, description and pattern, medium
/// confidence and high severity (gitleaks has neither).
fn spec_of(raw: &RawRule, pattern: String) -> RuleSpec {
    RuleSpec {
        id: raw.id.clone(),
        name: if raw.description.trim().is_empty() {
            raw.id.clone()
        } else {
            raw.description.trim().to_string()
        },
        description: raw.description.clone(),
        keywords: Vec::new(),
        pattern,
        min_entropy: None,
        must_contain: Vec::new(),
        confidence: Confidence::Medium,
        severity: Severity::High,
        max_len: WHOLE_FILE_REACH,
        companions: Vec::new(),
        references: Vec::new(),
        examples: Vec::new(),
        negative_examples: Vec::new(),
        generic_examples: Vec::new(),
        reject_if_contains: Vec::new(),
        validate: None,
        revoke: None,
        offline_check: None,
    }
}

/// The group holding the secret: gitleaks' `secretGroup`, else the first
/// group that matched something.
fn secret_group(raw: &RawRule, pattern: &str) -> Result<SecretGroup, Problem> {
    let compiled = build_regex(pattern).map_err(Problem::Regex)?;
    let groups = compiled
        .group_info()
        .group_len(regex_automata::PatternID::ZERO);
    match raw.secretgroup {
        Some(g) if g > 0 && g >= groups => Err(Problem::SecretGroup {
            index: g,
            groups: groups - 1,
        }),
        Some(g) if g > 0 => Ok(SecretGroup::Index(g)),
        _ => Ok(SecretGroup::FirstNonEmpty),
    }
}

/// The rule's keywords (its own, else derived from the regex) and how far a
/// match may reach from one; a rule with neither runs on every file.
fn keywords_and_reach(
    raw: &RawRule,
    pattern: &str,
    origin: &str,
    warnings: &mut Vec<String>,
) -> (Vec<String>, usize) {
    let mut keywords: Vec<String> = raw
        .keywords
        .iter()
        .map(|k| k.to_lowercase())
        .filter(|k| !k.is_empty())
        .collect();
    keywords.sort();
    keywords.dedup();
    if !keywords.is_empty() {
        return (keywords, WHOLE_FILE_REACH);
    }
    if let Some(derived) = derive_keywords(pattern) {
        let reach =
            max_match_len(pattern).map_or(WHOLE_FILE_REACH, |n| n.clamp(1, WHOLE_FILE_REACH));
        return (derived, reach);
    }
    warnings.push(format!(
        "{origin}: rule {}: no keywords, and none can be derived from its regex: \
         it runs on every file, which is slow; add `keywords`",
        raw.id
    ));
    (keywords, WHOLE_FILE_REACH)
}

fn allowlist(a: &RawAllowlist, origin: &str, base: &Path) -> Result<Allowlist, Problem> {
    allowlist_in(a, origin, base).map_err(|problem| Problem::Allowlist {
        origin: origin.to_string(),
        problem,
    })
}

fn allowlist_in(
    a: &RawAllowlist,
    origin: &str,
    base: &Path,
) -> Result<Allowlist, AllowlistProblem> {
    let mut list = Allowlist::new(origin, base);
    list.description = a.description.clone();
    list.condition = match a
        .condition
        .as_deref()
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        None | Some("") | Some("OR") | Some("||") => Condition::Or,
        Some("AND") | Some("&&") => Condition::And,
        Some(other) => return Err(AllowlistProblem::Condition(other.to_string())),
    };
    list.target = match a.regextarget.as_deref() {
        None | Some("") | Some("secret") => RegexTarget::Secret,
        Some("match") => RegexTarget::Match,
        Some("line") => RegexTarget::Line,
        Some(other) => return Err(AllowlistProblem::RegexTarget(other.to_string())),
    };
    let translate = |what, pattern: &String| {
        re2::translate(pattern).map_err(|error| AllowlistProblem::Translate {
            what,
            pattern: pattern.clone(),
            error,
        })
    };
    for p in &a.paths {
        list.paths.push(PathPattern::regex(&translate("path", p)?)?);
    }
    for r in &a.regexes {
        list.add_regex(&translate("regex", r)?)?;
    }
    list.add_stopwords(&a.stopwords);
    list.add_commits(&a.commits)?;
    if list.is_empty() {
        return Err(AllowlistProblem::Empty);
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<GitleaksConfig, GitleaksError> {
        GitleaksConfig::parse(text, Path::new("/repo/.gitleaks.toml"), Path::new("/repo"))
    }

    #[test]
    fn rule_fields_map() {
        let c = parse(
            r#"
title = "t"
[[rules]]
id = "acme-key"
description = "ACME key"
regex = '''(?i)acme[_-]?key\s*=\s*['"]?([a-z0-9]{32})'''
secretGroup = 1
entropy = 3.0
keywords = ["ACME"]
tags = ["x"]
path = '''\.env$'''
"#,
        )
        .unwrap();
        let r = &c.rules[0];
        assert_eq!(r.id(), "acme-key");
        assert_eq!(r.spec.name, "ACME key");
        assert_eq!(r.spec.keywords, ["acme"]);
        assert_eq!(r.secret_group, SecretGroup::Index(1));
        assert!(r.spec.min_entropy.unwrap() > 3.0);
        assert_eq!(r.path_filter(), Some(r"\.env$"));
        assert!(!c.use_default);
    }

    #[test]
    fn keys_ignore_case_and_unknown_keys_fail() {
        let c = parse("[[rules]]\nID = 'a-b'\nREGEX = 'tok_[a-z]{8}'\nSecretGroup = 0\n").unwrap();
        assert_eq!(c.rules[0].secret_group, SecretGroup::FirstNonEmpty);
        let e = parse("[[rules]]\nid = 'a-b'\nregex = 'x'\nkeyword = ['x']\n").unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("/repo/.gitleaks.toml: rule a-b:"), "{msg}");
        assert!(msg.contains("unknown field `keyword`"), "{msg}");
    }

    #[test]
    fn unsupported_features_name_the_rule() {
        for (toml, word) in [
            ("[[rules]]\nid = 'p'\npath = 'x'\n", "path-only"),
            ("[[rules]]\nid = 'p'\nregex = '\\pL'\n", "Unicode"),
            (
                "[[rules]]\nid = 'p'\nregex = 'a(b)'\n[[rules.required]]\nid = 'q'\n",
                "composite",
            ),
            (
                "[[rules]]\nid = 'p'\nregex = 'a(b)'\nsecretGroup = 3\n",
                "secretGroup 3",
            ),
        ] {
            let msg = parse(toml).unwrap_err().to_string();
            assert!(msg.contains("rule p:") && msg.contains(word), "{msg}");
        }
    }

    #[test]
    fn derived_and_missing_keywords() {
        let c = parse("[[rules]]\nid = 'a'\nregex = 'tok_[a-z0-9]{20}'\n[[rules]]\nid = 'b'\nregex = '[a-f0-9]{40}'\n").unwrap();
        assert_eq!(c.rules[0].spec.keywords, ["tok_"]);
        assert_eq!(c.rules[0].spec.max_len, 24);
        assert!(c.rules[1].spec.keywords.is_empty());
        assert!(
            c.warnings[0].contains("rule b: no keywords"),
            "{:?}",
            c.warnings
        );
    }

    #[test]
    fn allowlists_legacy_new_and_targeted() {
        let c = parse(
            r#"
[extend]
useDefault = true
disabledRules = ["generic-api-key"]

[[rules]]
id = "acme"
regex = 'acme_([a-z0-9]{16})'
[rules.allowlist]
stopwords = ["test"]

[[rules]]
id = "other"
regex = 'oth_([a-z0-9]{16})'
[[rules.allowlists]]
regexTarget = "line"
regexes = ['fixture']
[[rules.allowlists]]
condition = "AND"
paths = ['^test/']
commits = ["abcdef1"]

[[allowlists]]
paths = ['''(^|/)vendor/''']
[[allowlists]]
targetRules = ["acme"]
regexes = ['^acme_0']
"#,
        )
        .unwrap();
        assert!(c.use_default);
        assert_eq!(c.disabled_builtin, ["generic-api-key"]);
        assert_eq!(c.allowlists.len(), 5);
        assert_eq!(c.allowlists[0].scope, Scope::Rules(vec!["acme".into()]));
        assert_eq!(c.allowlists[1].target, RegexTarget::Line);
        assert_eq!(c.allowlists[2].condition, Condition::And);
        assert_eq!(c.allowlists[3].scope, Scope::All);
        assert_eq!(c.allowlists[4].scope, Scope::Rules(vec!["acme".into()]));

        let e =
            parse("[allowlist]\nstopwords=['a']\n[[allowlists]]\nstopwords=['b']\n").unwrap_err();
        assert!(e.to_string().contains("cannot be used alongside"));
        let e = parse("[[allowlists]]\ntargetRules = ['nope']\nstopwords=['b']\n").unwrap_err();
        assert!(e.to_string().contains("\"nope\""), "{e}");
        let e = parse("[[allowlists]]\ndescription = 'empty'\n").unwrap_err();
        assert!(e.to_string().contains("at least one"), "{e}");
    }
}
