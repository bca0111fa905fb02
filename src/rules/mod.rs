//! Rule definitions: loading, selection and lazy compilation.
//!
//! A rule is data (`rules/*.yml`, one file per provider family): keywords for the
//! prefilter, a regex whose first capture group (or the group named `secret`) is
//! the secret, optional filters, and examples that `keysweep rules check` verifies.
//! Regexes are compiled on first use, so scanning one small file pays only for the
//! rules whose keywords occur in it.

mod analyzer_spec;
pub mod checksum;
pub mod filter;
pub mod literals;
pub mod scored;
mod spec;
mod validator_spec;

pub use analyzer_spec::{
    json_path_all, parse_analyzer_file, AnalyzeCheckError, AnalyzeSpec, AnalyzerEntry,
    AnalyzerKind, AnalyzerSpecError, ScopeSource, SeverityRule, ValueSource,
};
pub use filter::{entropy, has_classes, is_placeholder};
pub use spec::{CharClass, Companion, Confidence, RuleFile, RuleSpec, Severity};
pub(crate) use validator_spec::{host_part, is_host_label};
pub use validator_spec::{
    json_path, parse_validator_file, BasicAuth, LookupSpec, Matchers, MissingPart, ResponseMatch,
    RevokeSpec, Section, SpecError, Template, TemplateError, ValidateSpec, ValidatorEntry,
    ValidatorFileError, ValidatorKind,
};

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

/// One bundled validator file (`rules/validators/<name>.yml`) as JSON.
pub struct EmbeddedValidatorFile {
    /// File stem: the provider whose rules it serves.
    pub name: &'static str,
    pub json: &'static str,
}

/// One bundled analyzer or revoker file (`rules/analyzers/<name>.yml`,
/// `rules/revokers/<name>.yml`) as JSON.
pub struct EmbeddedSpecFile {
    pub name: &'static str,
    pub json: &'static str,
}

/// The bundled analyzer entries, parsed once.
///
/// # Errors
///
/// Names the file and entry of the first malformed entry (the bundled files
/// are checked by the tests, so this is for builds from a modified tree).
pub fn bundled_analyzers() -> Result<&'static [AnalyzerEntry], AnalyzerSpecError> {
    static PARSED: OnceLock<Result<Vec<AnalyzerEntry>, AnalyzerSpecError>> = OnceLock::new();
    let parsed = PARSED.get_or_init(|| {
        let mut all = Vec::new();
        for f in EMBEDDED_ANALYZERS {
            let file = format!("rules/analyzers/{}.yml", f.name);
            let doc: serde_json::Value =
                serde_json::from_str(f.json).map_err(|e| AnalyzerSpecError {
                    file: file.clone(),
                    entry: "-".into(),
                    message: e.to_string(),
                })?;
            all.extend(parse_analyzer_file(&file, &doc)?);
        }
        Ok(all)
    });
    parsed.as_ref().map(Vec::as_slice).map_err(Clone::clone)
}

/// The bundled analyzer for a rule id: an entry naming it exactly, else the
/// first selecting it by a glob.
pub fn bundled_analyzer_for(id: &str) -> Option<&'static AnalyzerEntry> {
    let all = bundled_analyzers().ok()?;
    all.iter()
        .find(|e| e.names_exactly(id) && e.selects(id))
        .or_else(|| all.iter().find(|e| e.selects(id)))
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
    #[error("{path}: rule {id}: {problem}")]
    Invalid {
        path: String,
        id: String,
        problem: RuleProblem,
    },
    #[error("unknown rule id {0:?} (see `keysweep rules list`)")]
    UnknownId(String),
}

/// What is wrong with one rule. [`RuleError::Invalid`] and `rules check`
/// put the file and rule id in front.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuleProblem {
    /// The regex does not compile: the regex crate's message.
    #[error("{0}")]
    Regex(String),
    #[error("path {pattern:?}: {problem}")]
    PathFilter {
        pattern: String,
        problem: Box<RuleProblem>,
    },
    #[error("companion {name}: {problem}")]
    Companion {
        name: String,
        problem: Box<RuleProblem>,
    },
    #[error("pattern needs a capture group around the secret")]
    NoSecretGroup,
    #[error("pattern needs a capture group")]
    NoCaptureGroup,
    #[error("secret group {index} does not exist (the pattern has {groups} capture groups)")]
    NoSuchGroup { index: usize, groups: usize },
    #[error(
        "validator needs part {0:?}, but the rule has no companion or named group of that name"
    )]
    MissingPart(String),
    #[error("id must be kebab-case (a-z, 0-9, '-')")]
    BadId,
    #[error("needs at least one keyword for the prefilter")]
    NoKeywords,
    #[error("keyword {0:?} is too short (2 bytes at least)")]
    ShortKeyword(String),
    #[error("min_entropy {0} is outside 0..=8 bits per byte")]
    EntropyRange(f64),
    #[error("max_len must be between 1 and 1048576")]
    MaxLen,
    #[error("duplicate id (already defined in {0})")]
    DuplicateId(String),
    /// The rule's `validate` section is wrong; the reason as its checker
    /// words it.
    #[error("{0}")]
    Validator(String),
    /// The rule's `revoke` section is wrong.
    #[error("{0}")]
    Revoker(String),
}

/// Why a rule's requests (validation, revocation) may not carry secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Untrusted {
    #[error(
        "rule from {0} was loaded by a config found in the scanned tree; its requests \
         never run (pass the config with --config to trust it)"
    )]
    FromScannedTree(String),
    #[error("rule from {0} not trusted: pass --trust-rule-validators to let it send secrets")]
    NotTrusted(String),
}

/// `--provider` or a config names a provider no loaded rule has.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no loaded rule has provider {provider:?} (providers: {known})")]
pub struct UnknownProvider {
    pub provider: String,
    /// The providers that exist, comma-separated.
    pub known: String,
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
    /// Loaded through a config found in the scanned tree rather than one the
    /// user chose: its validator and revoke sections never run, even with
    /// `--trust-rule-validators`, since the tree would choose where its own
    /// secrets are sent.
    pub from_scanned_tree: bool,
    /// What finds its secrets.
    pub engine: Engine,
    /// Where its `validate:` section came from, when it has one: the rule
    /// file itself or a bundled validator file entry.
    pub validator_origin: Option<String>,
    /// Which capture group holds the secret.
    pub secret_group: SecretGroup,
    /// Only paths matching this regex are reported (gitleaks' rule `path`).
    path_filter: Option<(String, meta::Regex)>,
    regex: OnceLock<Compiled>,
    companions: OnceLock<Vec<meta::Regex>>,
    line_local: OnceLock<bool>,
}

/// Which capture group of a rule's regex is the secret.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SecretGroup {
    /// The group named `secret`, else group 1: the rule file convention.
    #[default]
    Default,
    /// This group (gitleaks' `secretGroup`).
    Index(usize),
    /// The first group that matched something, else the whole match: what
    /// gitleaks does when `secretGroup` is not set.
    FirstNonEmpty,
}

/// What finds a rule's secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Engine {
    /// The matcher, with the rule's keywords and pattern.
    #[default]
    Pattern,
    /// A stage other than the matcher: a format, by the value's position in
    /// a structured file (`mcp-literal-credential`, `ci-literal-credential`),
    /// or the generic detector's model ([`scored`]). The matcher never
    /// runs these rules; their keywords only describe what the format looks
    /// for. They are data in `rules/format/*.yml`.
    Format,
}

/// A compiled rule regex with the index of the group that holds the secret.
#[derive(Debug)]
pub struct Compiled {
    pub regex: meta::Regex,
    pub secret_group: usize,
    /// Take the first non-empty group instead of `secret_group` (see
    /// [`SecretGroup::FirstNonEmpty`]).
    pub first_nonempty: bool,
    /// Other named groups, reported as parts of the finding.
    pub named: Vec<(usize, String)>,
}

impl Rule {
    fn new(spec: RuleSpec, provider: &str, origin: &str, builtin: bool) -> Rule {
        Rule {
            validator_origin: spec.validate.as_ref().map(|_| origin.to_string()),
            spec,
            provider: provider.to_string(),
            origin: origin.to_string(),
            builtin,
            from_scanned_tree: false,
            engine: Engine::Pattern,
            secret_group: SecretGroup::Default,
            path_filter: None,
            regex: OnceLock::new(),
            companions: OnceLock::new(),
            line_local: OnceLock::new(),
        }
    }

    /// A rule built by an importer (such as the gitleaks config loader) rather
    /// than read from a rule file. `spec.keywords` may be empty: the rule then
    /// runs on every blob, which is slow, so importers derive keywords when
    /// they can ([`literals::derive_keywords`]).
    ///
    /// # Errors
    ///
    /// Fails when the regex (or the path filter) does not compile, or the
    /// secret group does not exist.
    pub fn imported(
        spec: RuleSpec,
        provider: &str,
        origin: &str,
        secret_group: SecretGroup,
        path_filter: Option<&str>,
    ) -> Result<Rule, RuleProblem> {
        let mut rule = Rule::new(spec, provider, origin, false);
        rule.secret_group = secret_group;
        if let Some(p) = path_filter {
            let re = build_regex(p).map_err(|e| RuleProblem::PathFilter {
                pattern: p.to_string(),
                problem: Box::new(e),
            })?;
            rule.path_filter = Some((p.to_string(), re));
        }
        rule.try_compile()?;
        Ok(rule)
    }

    /// Whether this rule's `validate:`/`revoke:` sections may send a secret,
    /// given `--trust-rule-validators`.
    ///
    /// # Errors
    ///
    /// Says why not, naming where the rule came from.
    pub fn may_send_secrets(&self, trust_rule_validators: bool) -> Result<(), Untrusted> {
        if self.builtin {
            Ok(())
        } else if self.from_scanned_tree {
            Err(Untrusted::FromScannedTree(self.origin.clone()))
        } else if !trust_rule_validators {
            Err(Untrusted::NotTrusted(self.origin.clone()))
        } else {
            Ok(())
        }
    }

    /// The regex a path must match for this rule to report in it, if any.
    pub fn path_filter(&self) -> Option<&str> {
        self.path_filter.as_ref().map(|(p, _)| p.as_str())
    }

    /// Whether the rule reports findings in a blob at this path. Each form of
    /// the path (as reported, relative to the project root) is tried.
    pub fn applies_to<'a>(&self, mut paths: impl Iterator<Item = &'a str>) -> bool {
        match &self.path_filter {
            None => true,
            Some((_, re)) => paths.any(|p| re.is_match(p.as_bytes())),
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
            compile(&self.spec, self.secret_group)
                .unwrap_or_else(|e| panic!("rule {}: {e}", self.spec.id))
        })
    }

    /// Compiles the rule's regexes now, returning the error instead of panicking.
    ///
    /// # Errors
    ///
    /// Fails when the pattern is not valid syntax, exceeds the size limit, or
    /// has no capture group; likewise for each companion pattern.
    pub fn try_compile(&self) -> Result<(), RuleProblem> {
        if self.engine == Engine::Format {
            return Ok(());
        }
        if self.regex.get().is_none() {
            let c = compile(&self.spec, self.secret_group)?;
            let _ = self.regex.set(c);
        }
        if self.companions.get().is_none() {
            let mut v = Vec::new();
            for c in &self.spec.companions {
                let companion = |problem| RuleProblem::Companion {
                    name: c.name.clone(),
                    problem: Box::new(problem),
                };
                let re = build_regex(&c.pattern).map_err(companion)?;
                if re.group_info().group_len(regex_automata::PatternID::ZERO) < 2 {
                    return Err(companion(RuleProblem::NoCaptureGroup));
                }
                v.push(re);
            }
            let _ = self.companions.set(v);
        }
        Ok(())
    }

    /// Whether every match lies on one line and contains one of the rule's
    /// keywords. For such a rule, a line seen before can only match as it did
    /// before, which lets history scans skip old text without any margin (see
    /// [`crate::dedupe`]). Conservative: `false` when it cannot be shown.
    pub fn is_line_local(&self) -> bool {
        *self.line_local.get_or_init(|| line_local(&self.spec))
    }

    /// Checks that the parts the rule's validator needs (`{{parts.NAME}}`, or
    /// `key_id` for the AWS validator) are ones the rule can find: named
    /// groups of its pattern or companions.
    ///
    /// # Errors
    ///
    /// Names the missing part.
    pub fn check_validator_parts(&self) -> Result<(), RuleProblem> {
        let Some(v) = &self.spec.validate else {
            return Ok(());
        };
        let named: Vec<&str> = match self.regex.get() {
            Some(c) => c.named.iter().map(|(_, n)| n.as_str()).collect(),
            None => Vec::new(),
        };
        for part in v.required_parts() {
            let found = named.contains(&part.as_str())
                || self.spec.companions.iter().any(|c| c.name == part);
            if !found {
                return Err(RuleProblem::MissingPart(part));
            }
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
pub(crate) fn build_regex(pattern: &str) -> Result<meta::Regex, RuleProblem> {
    meta::Regex::builder()
        .configure(
            meta::Config::new()
                .utf8_empty(false)
                .nfa_size_limit(Some(REGEX_SIZE_LIMIT))
                .hybrid_cache_capacity(8 << 20),
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
            RuleProblem::Regex(msg)
        })
}

fn line_local(spec: &RuleSpec) -> bool {
    use regex_syntax::hir::{Class, Hir, HirKind};

    fn can_match_newline(h: &Hir) -> bool {
        match h.kind() {
            HirKind::Literal(lit) => lit.0.contains(&b'\n'),
            HirKind::Class(Class::Bytes(c)) => c
                .ranges()
                .iter()
                .any(|r| r.start() <= b'\n' && b'\n' <= r.end()),
            HirKind::Class(Class::Unicode(c)) => c
                .ranges()
                .iter()
                .any(|r| r.start() <= '\n' && '\n' <= r.end()),
            HirKind::Empty | HirKind::Look(_) => false,
            HirKind::Repetition(r) => can_match_newline(&r.sub),
            HirKind::Capture(c) => can_match_newline(&c.sub),
            HirKind::Concat(v) | HirKind::Alternation(v) => v.iter().any(can_match_newline),
        }
    }

    let Ok(hir) = regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(&spec.pattern)
    else {
        return false;
    };
    if can_match_newline(&hir) {
        return false;
    }
    let keywords: Vec<Vec<u8>> = spec
        .keywords
        .iter()
        .map(|k| k.as_bytes().to_ascii_lowercase())
        .collect();
    must_contain_keyword(&hir, &keywords)
}

/// Whether every match of `h` contains one of `keywords` (lowercase),
/// compared case-insensitively. Sound, not complete.
fn must_contain_keyword(h: &regex_syntax::hir::Hir, keywords: &[Vec<u8>]) -> bool {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    use regex_syntax::hir::{Hir, HirKind};

    // Every match starts with one of the prefix literals, so a keyword inside
    // each of them is inside every match.
    let prefixes_contain = |h: &Hir| {
        let seq = Extractor::new().kind(ExtractKind::Prefix).extract(h);
        seq.literals().is_some_and(|lits| {
            !lits.is_empty()
                && lits.iter().all(|lit| {
                    let l = lit.as_bytes().to_ascii_lowercase();
                    keywords
                        .iter()
                        .any(|k| memchr::memmem::find(&l, k).is_some())
                })
        })
    };
    match h.kind() {
        HirKind::Capture(c) => must_contain_keyword(&c.sub, keywords),
        HirKind::Alternation(v) => v.iter().all(|x| must_contain_keyword(x, keywords)),
        HirKind::Repetition(r) if r.min >= 1 => must_contain_keyword(&r.sub, keywords),
        // Some mandatory part of the sequence, or the sequence from some
        // point on, must hold the keyword.
        HirKind::Concat(v) => (0..v.len()).any(|i| {
            must_contain_keyword(&v[i], keywords) || prefixes_contain(&Hir::concat(v[i..].to_vec()))
        }),
        _ => prefixes_contain(h),
    }
}

fn compile(spec: &RuleSpec, choice: SecretGroup) -> Result<Compiled, RuleProblem> {
    let regex = build_regex(&spec.pattern)?;
    let info = regex.group_info();
    let pid = regex_automata::PatternID::ZERO;
    let groups = info.group_len(pid);
    let secret_group = match choice {
        SecretGroup::Default => {
            if groups < 2 {
                return Err(RuleProblem::NoSecretGroup);
            }
            info.to_index(pid, "secret").unwrap_or(1)
        }
        SecretGroup::Index(i) => {
            if i == 0 || i >= groups {
                return Err(RuleProblem::NoSuchGroup {
                    index: i,
                    groups: groups - 1,
                });
            }
            i
        }
        SecretGroup::FirstNonEmpty => 0,
    };
    let named = (1..groups)
        .filter(|&i| i != secret_group)
        .filter_map(|i| info.to_name(pid, i).map(|n| (i, n.to_string())))
        .collect();
    Ok(Compiled {
        regex,
        secret_group,
        first_nonempty: choice == SecretGroup::FirstNonEmpty,
        named,
    })
}

/// A set of rules. Cheap to build; regexes compile lazily.
#[derive(Debug, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

impl RuleSet {
    /// A set of just `rule` (with a fresh regex), to test it on its own.
    pub fn alone(rule: &Rule) -> RuleSet {
        RuleSet {
            rules: vec![Rule::new(
                rule.spec.clone(),
                &rule.provider,
                &rule.origin,
                rule.builtin,
            )],
        }
    }

    /// Checks that `provider` is the provider of a loaded rule; otherwise
    /// says so and lists the providers there are. Endpoint overrides need
    /// this: a typo would send secrets to the real provider instead.
    ///
    /// # Errors
    ///
    /// The message names the provider and the known ones.
    pub fn check_provider(&self, provider: &str) -> Result<(), UnknownProvider> {
        if self.rules.iter().any(|r| r.provider == provider) {
            return Ok(());
        }
        let known: std::collections::BTreeSet<&str> =
            self.rules.iter().map(|r| r.provider.as_str()).collect();
        Err(UnknownProvider {
            provider: provider.to_string(),
            known: known.into_iter().collect::<Vec<_>>().join(", "),
        })
    }

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
        let files =
            bundled_validator_files().unwrap_or_else(|e| panic!("bundled validator file {e}"));
        set.attach_validators(&files);
        for file in EMBEDDED_FORMAT {
            let parsed: RuleFile = serde_json::from_str(file.json)
                .unwrap_or_else(|e| panic!("bundled rules/format/{}.yml: {e}", file.name));
            let provider = parsed.provider.unwrap_or_else(|| file.name.to_string());
            let origin = format!("builtin:format/{provider}");
            for spec in parsed.rules {
                let mut rule = Rule::new(spec, &provider, &origin, true);
                rule.engine = Engine::Format;
                set.rules.push(rule);
            }
        }
        for (spec, provider) in scored::rules() {
            let mut rule = Rule::new(spec, provider, "builtin:generic-detector", true);
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
        let files = bundled_validator_files().map_err(|message| RuleError::Parse {
            path: "rules/validators".into(),
            message,
        })?;
        set.attach_validators(&files);
        Ok(set)
    }

    /// Gives each bundled rule without a `validate:` section of its own the
    /// validator that a bundled validator file assigns to it. An entry naming
    /// a rule id exactly wins over one selecting it by a glob; among globs the
    /// first (files in name order) wins. Rules loaded with `--rules` never get
    /// a bundled validator: their ids are not under keysweep's control.
    ///
    /// Returns, per entry, how many rules it was attached to.
    pub fn attach_validators(&mut self, files: &[ValidatorFile]) -> Vec<(String, usize)> {
        let mut used = Vec::new();
        let entries: Vec<(&ValidatorFile, &ValidatorEntry)> = files
            .iter()
            .flat_map(|f| f.entries.iter().map(move |e| (f, e)))
            .collect();
        let mut counts = vec![0usize; entries.len()];
        for rule in self.rules.iter_mut().filter(|r| r.builtin) {
            if rule.spec.validate.is_some() {
                continue;
            }
            let id = rule.spec.id.clone();
            let pick = entries
                .iter()
                .position(|(_, e)| e.names_exactly(&id) && e.selects(&id))
                .or_else(|| entries.iter().position(|(_, e)| e.selects(&id)));
            if let Some(i) = pick {
                let (file, entry) = entries[i];
                rule.spec.validate = Some(entry.spec.clone());
                rule.validator_origin = Some(format!("{} entry {}", file.path, entry.name));
                counts[i] += 1;
            }
        }
        for ((file, entry), n) in entries.iter().zip(counts) {
            used.push((format!("{} entry {}", file.path, entry.name), n));
        }
        used
    }

    /// Problems with bundled validator files against this rule set, for
    /// `rules check`: an entry naming a rule id exactly (no `*`) that is not
    /// loaded although its provider's rules are, which is a typo or a renamed
    /// rule. Globs select whatever exists and are not errors when they select
    /// nothing; nor are entries of providers with no rule file in the build.
    pub fn check_validator_files(&self, files: &[ValidatorFile]) -> Vec<String> {
        let mut errors = Vec::new();
        for file in files {
            if !self.rules.iter().any(|r| r.provider == file.provider) {
                continue;
            }
            for entry in &file.entries {
                for id in entry.rules.iter().filter(|p| !p.contains('*')) {
                    if self.get(id).is_none() {
                        errors.push(format!(
                            "{}: entry {}: names rule {id}, which does not exist",
                            file.path, entry.name
                        ));
                    }
                }
            }
        }
        errors
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
            let text = crate::blob::read_text_file(&file).map_err(|source| RuleError::Io {
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
                rule.try_compile()
                    .and_then(|_| rule.check_validator_parts())
                    .map_err(|problem| RuleError::Invalid {
                        path: file.display().to_string(),
                        id: rule.spec.id.clone(),
                        problem,
                    })?;
            }
        }
        Ok(())
    }

    /// As [`RuleSet::load_path`] for a path named by a config found in the
    /// scanned tree: the rules are marked [`Rule::from_scanned_tree`].
    ///
    /// # Errors
    ///
    /// As [`RuleSet::load_path`].
    pub fn load_path_from_tree(&mut self, path: &Path) -> Result<(), RuleError> {
        let start = self.rules.len();
        self.load_path(path)?;
        for r in &mut self.rules[start..] {
            r.from_scanned_tree = true;
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
        // No source excerpt and no quoted values in the message: a path in a
        // config may name a file that is not a rule file (`.env`).
        let options = serde_saphyr::options! { with_snippet: false };
        let parsed: RuleFile =
            serde_saphyr::from_str_with_options(text, options).map_err(|e| RuleError::Parse {
                path: path.to_string(),
                message: crate::diag::without_quoted_values(&e.to_string()),
            })?;
        let provider = parsed.provider.clone().unwrap_or_else(|| stem.to_string());
        for spec in parsed.rules {
            spec.validate().map_err(|problem| RuleError::Invalid {
                path: path.to_string(),
                id: spec.id.clone(),
                problem,
            })?;
            if let Some(prev) = self.rules.iter().find(|r| r.spec.id == spec.id) {
                return Err(RuleError::Invalid {
                    path: path.to_string(),
                    id: spec.id.clone(),
                    problem: RuleProblem::DuplicateId(prev.origin.clone()),
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

    /// Adds an imported rule (see [`Rule::imported`]). A bundled rule with the
    /// same id is replaced, as a gitleaks config that extends the defaults
    /// overrides them; the replaced rule's origin is returned.
    ///
    /// # Errors
    ///
    /// Fails when a rule with that id came from a user rule file or an earlier
    /// import.
    pub fn add_imported(&mut self, rule: Rule) -> Result<Option<String>, RuleError> {
        match self.rules.iter().position(|r| r.spec.id == rule.spec.id) {
            Some(i) if self.rules[i].builtin => {
                let old = std::mem::replace(&mut self.rules[i], rule);
                Ok(Some(old.origin))
            }
            Some(i) => Err(RuleError::Invalid {
                path: rule.origin.clone(),
                id: rule.spec.id.clone(),
                problem: RuleProblem::DuplicateId(self.rules[i].origin.clone()),
            }),
            None => {
                self.rules.push(rule);
                Ok(None)
            }
        }
    }

    /// Removes the rules with these ids; returns the ids that named no rule.
    pub fn remove_ids(&mut self, ids: &[String]) -> Vec<String> {
        let missing = ids
            .iter()
            .filter(|id| !self.rules.iter().any(|r| r.spec.id == **id))
            .cloned()
            .collect();
        self.rules.retain(|r| !ids.contains(&r.spec.id));
        missing
    }

    /// Removes every bundled rule.
    pub fn remove_builtin(&mut self) {
        self.rules.retain(|r| !r.builtin);
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

/// A parsed validator file.
#[derive(Debug, Clone)]
pub struct ValidatorFile {
    /// `rules/validators/<provider>.yml`.
    pub path: String,
    /// The provider named by the file's stem.
    pub provider: String,
    pub entries: Vec<ValidatorEntry>,
}

/// Parses the bundled validator files.
///
/// # Errors
///
/// Names the file and entry of the first malformed entry.
pub fn bundled_validator_files() -> Result<Vec<ValidatorFile>, String> {
    EMBEDDED_VALIDATORS
        .iter()
        .map(|f| {
            let path = format!("rules/validators/{}.yml", f.name);
            let doc: serde_json::Value =
                serde_json::from_str(f.json).map_err(|e| format!("{path}: {e}"))?;
            let entries = parse_validator_file(&doc).map_err(|e| format!("{path}: {e}"))?;
            Ok(ValidatorFile {
                path,
                provider: f.name.to_string(),
                entries,
            })
        })
        .collect()
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

    fn spec(pattern: &str, keywords: &[&str]) -> RuleSpec {
        serde_saphyr::from_str(&format!(
            "id: t\nname: t\nkeywords: {keywords:?}\npattern: '{pattern}'\n"
        ))
        .unwrap()
    }

    #[test]
    fn line_locality() {
        assert!(line_local(&spec(r"\b(ghp_[A-Za-z0-9]{36})\b", &["ghp_"])));
        assert!(line_local(&spec(r"(?i)\b(ghp_[a-z0-9]{36})\b", &["GHP_"])));
        // The keyword may sit after an optional part or a context prefix.
        assert!(line_local(&spec(
            r"\b((?:[a-z]{1,20}-)?glpat-[a-z0-9]{20})\b",
            &["glpat-"]
        )));
        assert!(line_local(&spec(
            r"(?i)sv=[0-9]{4}&[a-z=&]{0,40}?\bsig=([a-z0-9]{43})",
            &["sig="]
        )));
        assert!(!line_local(&spec(r"(ab|cd)_([a-z]{4})", &["ab"])));
        // The keyword may be off the match: not provably local.
        assert!(!line_local(&spec(
            r"\b(AIza[A-Za-z0-9_-]{35})",
            &["gemini"]
        )));
        // \s and [^x] can cross lines.
        assert!(!line_local(&spec(r"ghp_\s*([a-z]{4})", &["ghp_"])));
        assert!(!line_local(&spec(r"(ghp_[^x]{4})", &["ghp_"])));
    }

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

    /// Every bundled validator parses and needs only parts its rule can find.
    /// Once the full rule set is bundled (150 rules and more), every entry
    /// must also select at least one rule, at least 40 rules must have a
    /// validator, and so must every rule of the AI providers below.
    #[test]
    fn bundled_validators_attach_to_existing_rules() {
        let files = bundled_validator_files().unwrap();
        let set = RuleSet::builtin();
        for rule in set.rules().iter().filter(|r| r.spec.validate.is_some()) {
            rule.try_compile().unwrap();
            rule.check_validator_parts()
                .unwrap_or_else(|e| panic!("{}: {e} ({:?})", rule.id(), rule.validator_origin));
        }
        assert!(set.check_validator_files(&files).is_empty());
        if set.len() < 150 {
            return;
        }
        let unused: Vec<String> = files
            .iter()
            .flat_map(|f| f.entries.iter().map(move |e| (f, e)))
            .filter(|(_, e)| !set.rules().iter().any(|r| e.selects(r.id())))
            .map(|(f, e)| format!("{} entry {}", f.path, e.name))
            .collect();
        assert!(
            unused.is_empty(),
            "validator entries that select no rule: {unused:#?}"
        );
        let validated = set
            .rules()
            .iter()
            .filter(|r| r.spec.validate.is_some())
            .count();
        assert!(validated >= 40, "only {validated} rules have a validator");
        const AI: &[&str] = &[
            "openai",
            "anthropic",
            "gemini",
            "cohere",
            "mistral",
            "groq",
            "huggingface",
            "replicate",
            "perplexity",
            "together",
            "fireworks",
            "deepseek",
            "xai",
            "openrouter",
            "elevenlabs",
            "deepgram",
            "assemblyai",
            "stability",
            "cerebras",
            "runway",
            "leonardo",
        ];
        let missing: Vec<&str> = set
            .rules()
            .iter()
            .filter(|r| AI.contains(&r.provider.as_str()) && r.spec.validate.is_none())
            .map(|r| r.id())
            .filter(|id| !NOT_VALIDATABLE.contains(id))
            .collect();
        assert!(
            missing.is_empty(),
            "AI provider rules without a validator: {missing:?}"
        );
    }

    /// AI provider rules with no side-effect-free check: OAuth tokens of
    /// consumer apps, and catch-all rules whose key type is unknown.
    const NOT_VALIDATABLE: &[&str] = &["anthropic-oauth-token", "anthropic-credential"];

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
