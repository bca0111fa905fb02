//! Allowlists: findings accepted by path, commit, pattern or stopword.
//!
//! One [`Allowlist`] holds criteria of four kinds. With [`Condition::Or`] (the
//! default) any criterion that matches suppresses the finding; with
//! [`Condition::And`] every kind that has entries must match (gitleaks'
//! `condition = "AND"`). An allowlist applies to every rule or, with
//! [`Scope::Rules`], to some.

use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};
use regex_automata::meta;
use serde::{Deserialize, Serialize};

use super::{Context, PathForms, SuppressReason};
use crate::finding::Finding;
use crate::rules::{build_regex, glob_match};

/// What allowlist regexes are matched against.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegexTarget {
    /// The secret (the rule's secret group).
    #[default]
    Secret,
    /// The rule's whole match.
    Match,
    /// The lines the match spans.
    Line,
}

/// How an allowlist's criteria combine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Condition {
    /// Any criterion suppresses.
    #[default]
    Or,
    /// Every kind of criterion given must match.
    And,
}

/// Which rules an allowlist applies to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Scope {
    #[default]
    All,
    /// Rule ids or globs such as `generic-*`.
    Rules(Vec<String>),
}

impl Scope {
    pub fn includes(&self, rule_id: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Rules(ids) => ids.iter().any(|p| glob_match(p, rule_id)),
        }
    }
}

/// A path criterion: a glob (keysweep) or a regex (gitleaks).
#[derive(Debug, Clone)]
pub enum PathPattern {
    /// gitignore-like: `*` stays within a directory, `**` crosses them; a
    /// pattern without `/` matches any path component (`*.pem`,
    /// `node_modules`), and a pattern matching a directory covers what is
    /// inside it.
    Glob {
        pattern: String,
        matcher: GlobMatcher,
        component: bool,
    },
    /// Unanchored regex over the path (`/` separated).
    Regex { pattern: String, regex: meta::Regex },
}

/// A malformed allowlist entry; the caller names the file and table.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PatternError {
    #[error("path glob {0:?} is empty")]
    EmptyGlob(String),
    #[error("path glob {pattern:?}: {reason}")]
    Glob { pattern: String, reason: String },
    #[error("{what} {pattern:?}: {problem}")]
    Regex {
        what: &'static str,
        pattern: String,
        problem: crate::rules::RuleProblem,
    },
    #[error("commit {0:?} is not a commit id (7 to 64 hex digits)")]
    Commit(String),
}

impl PathPattern {
    /// # Errors
    ///
    /// Fails when the glob is malformed.
    pub fn glob(pattern: &str) -> Result<PathPattern, PatternError> {
        let trimmed = pattern.trim_start_matches("./");
        let trimmed = trimmed.strip_prefix('/').unwrap_or(trimmed);
        let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
        if trimmed.is_empty() {
            return Err(PatternError::EmptyGlob(pattern.to_string()));
        }
        let matcher = GlobBuilder::new(trimmed)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|e| PatternError::Glob {
                pattern: pattern.to_string(),
                reason: e.kind().to_string(),
            })?
            .compile_matcher();
        Ok(PathPattern::Glob {
            pattern: pattern.to_string(),
            matcher,
            component: !trimmed.contains('/'),
        })
    }

    /// # Errors
    ///
    /// Fails when the regex does not compile.
    pub fn regex(pattern: &str) -> Result<PathPattern, PatternError> {
        let regex = build_regex(pattern).map_err(|problem| PatternError::Regex {
            what: "path regex",
            pattern: pattern.to_string(),
            problem,
        })?;
        Ok(PathPattern::Regex {
            pattern: pattern.to_string(),
            regex,
        })
    }

    pub fn pattern(&self) -> &str {
        match self {
            PathPattern::Glob { pattern, .. } | PathPattern::Regex { pattern, .. } => pattern,
        }
    }

    /// Whether `path` (`/` separated) matches.
    pub fn is_match(&self, path: &str) -> bool {
        match self {
            PathPattern::Regex { regex, .. } => regex.is_match(path.as_bytes()),
            PathPattern::Glob {
                matcher, component, ..
            } => {
                if *component {
                    return path.split('/').any(|c| matcher.is_match(c));
                }
                // The path itself, then each directory above it.
                let mut p = path;
                loop {
                    if matcher.is_match(p) {
                        return true;
                    }
                    match p.rfind('/') {
                        Some(i) => p = &p[..i],
                        None => return false,
                    }
                }
            }
        }
    }
}

/// A compiled allowlist.
#[derive(Debug, Clone)]
pub struct Allowlist {
    /// Where it was defined, e.g. `keysweep.toml [allowlist]`.
    pub origin: String,
    pub description: String,
    pub scope: Scope,
    pub condition: Condition,
    /// The directory relative paths are taken from (the config's).
    pub base: PathBuf,
    pub paths: Vec<PathPattern>,
    pub regexes: Vec<(String, meta::Regex)>,
    pub target: RegexTarget,
    /// Lowercase; matched as substrings of the lowercased secret.
    pub stopwords: Vec<String>,
    /// Lowercase commit ids (full, or a prefix of at least 7).
    pub commits: Vec<String>,
}

impl Allowlist {
    pub fn new(origin: impl Into<String>, base: &Path) -> Allowlist {
        Allowlist {
            origin: origin.into(),
            description: String::new(),
            scope: Scope::All,
            condition: Condition::Or,
            base: base.to_path_buf(),
            paths: Vec::new(),
            regexes: Vec::new(),
            target: RegexTarget::Secret,
            stopwords: Vec::new(),
            commits: Vec::new(),
        }
    }

    /// Adds a content regex (matched against [`Allowlist::target`]).
    ///
    /// # Errors
    ///
    /// Fails when the regex does not compile.
    pub fn add_regex(&mut self, pattern: &str) -> Result<(), PatternError> {
        let re = build_regex(pattern).map_err(|problem| PatternError::Regex {
            what: "regex",
            pattern: pattern.to_string(),
            problem,
        })?;
        self.regexes.push((pattern.to_string(), re));
        Ok(())
    }

    /// Adds stopwords (compared case-insensitively).
    pub fn add_stopwords<'a>(&mut self, words: impl IntoIterator<Item = &'a String>) {
        self.stopwords
            .extend(words.into_iter().map(|w| w.to_lowercase()));
    }

    /// Adds commit ids.
    ///
    /// # Errors
    ///
    /// Fails on a value that is not a hex commit id of 7 to 64 digits.
    pub fn add_commits<'a>(
        &mut self,
        ids: impl IntoIterator<Item = &'a String>,
    ) -> Result<(), PatternError> {
        for id in ids {
            let c = id.trim().to_ascii_lowercase();
            if !(7..=64).contains(&c.len()) || !c.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(PatternError::Commit(id.clone()));
            }
            self.commits.push(c);
        }
        Ok(())
    }

    /// Whether it has no criterion at all (and so never matches).
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
            && self.regexes.is_empty()
            && self.stopwords.is_empty()
            && self.commits.is_empty()
    }

    fn path_hit(&self, forms: &PathForms<'_>) -> Option<String> {
        let candidates = forms.candidates(&self.base);
        self.paths
            .iter()
            .find(|p| candidates.iter().any(|c| p.is_match(c)))
            .map(|p| format!("path `{}`", p.pattern()))
    }

    fn commit_hit(&self, f: &Finding) -> Option<String> {
        let commit = f.commit()?.to_ascii_lowercase();
        self.commits
            .iter()
            .find(|c| commit.starts_with(c.as_str()))
            .map(|c| format!("commit {c}"))
    }

    fn stopword_hit(&self, f: &Finding) -> Option<String> {
        let secret = f.matched.secret.to_lowercase();
        self.stopwords
            .iter()
            .find(|w| secret.contains(w.as_str()))
            .map(|w| format!("stopword `{w}`"))
    }

    fn regex_hit(&self, f: &Finding, ctx: Option<&Context<'_>>) -> Option<String> {
        let text: &[u8] = match (self.target, ctx) {
            (RegexTarget::Secret, _) => f.matched.secret.as_bytes(),
            (RegexTarget::Match, Some(c)) => c.matched(),
            (RegexTarget::Match, None) => return None,
            (RegexTarget::Line, Some(c)) => c.lines(),
            (RegexTarget::Line, None) => f.matched.snippet.as_bytes(),
        };
        let on = match self.target {
            RegexTarget::Secret => "secret",
            RegexTarget::Match => "match",
            RegexTarget::Line => "line",
        };
        self.regexes
            .iter()
            .find(|(_, re)| re.is_match(text))
            .map(|(p, _)| format!("regex `{p}` on the {on}"))
    }

    /// Whether this allowlist suppresses `f`, with the reason and a detail
    /// naming the allowlist and what matched.
    pub fn check(
        &self,
        f: &Finding,
        forms: &PathForms<'_>,
        ctx: Option<&Context<'_>>,
    ) -> Option<(SuppressReason, String)> {
        if !self.scope.includes(&f.rule.id) || self.is_empty() {
            return None;
        }
        type Check<'s> = (bool, SuppressReason, Box<dyn Fn() -> Option<String> + 's>);
        let checks: [Check<'_>; 4] = [
            (
                !self.paths.is_empty(),
                SuppressReason::AllowlistPath,
                Box::new(|| self.path_hit(forms)),
            ),
            (
                !self.commits.is_empty(),
                SuppressReason::AllowlistCommit,
                Box::new(|| self.commit_hit(f)),
            ),
            (
                !self.stopwords.is_empty(),
                SuppressReason::AllowlistStopword,
                Box::new(|| self.stopword_hit(f)),
            ),
            (
                !self.regexes.is_empty(),
                SuppressReason::AllowlistRegex,
                Box::new(|| self.regex_hit(f, ctx)),
            ),
        ];
        let (reason, what) = match self.condition {
            Condition::Or => checks
                .iter()
                .filter(|c| c.0)
                .find_map(|(_, reason, hit)| hit().map(|w| (*reason, w)))?,
            Condition::And => {
                let mut first = None;
                let mut hits = Vec::new();
                for (present, reason, hit) in &checks {
                    if !present {
                        continue;
                    }
                    hits.push(hit()?);
                    first.get_or_insert(*reason);
                }
                (first?, hits.join(" and "))
            }
        };
        let mut detail = format!("{}: {what}", self.origin);
        if !self.description.is_empty() {
            detail.push_str(&format!(" ({})", self.description));
        }
        Some((reason, detail))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(path: &str, secret: &str) -> Finding {
        Finding {
            rule: crate::finding::RuleRef {
                id: "acme-token".into(),
                ..Default::default()
            },
            location: crate::finding::Location {
                path: path.into(),
                ..Default::default()
            },
            matched: crate::finding::Matched {
                secret: secret.into(),
                snippet: format!("token = {secret}"),
                ..Default::default()
            },
            ..Finding::default()
        }
    }

    fn forms<'a>(f: &'a Finding) -> PathForms<'a> {
        PathForms::new(&f.location.path, f.commit().is_some(), Path::new("/repo"))
    }

    #[test]
    fn globs_are_gitignore_like() {
        let g = PathPattern::glob("tests/fixtures").unwrap();
        assert!(g.is_match("tests/fixtures/a/b.txt"));
        assert!(!g.is_match("src/tests/fixtures/a.txt"));
        let g = PathPattern::glob("*.pem").unwrap();
        assert!(g.is_match("deep/dir/key.pem"));
        assert!(!g.is_match("key.pem.txt"));
        let g = PathPattern::glob("docs/*.md").unwrap();
        assert!(g.is_match("docs/a.md"));
        assert!(!g.is_match("docs/sub/a.md"));
        let g = PathPattern::glob("**/testdata/**").unwrap();
        assert!(g.is_match("x/y/testdata/z.json"));
        let g = PathPattern::glob("/vendor/").unwrap();
        assert!(g.is_match("vendor/lib.js"));
        assert!(PathPattern::glob("a/[b").is_err());
    }

    #[test]
    fn or_and_and_conditions() {
        let mut a = Allowlist::new("test", Path::new("/repo"));
        a.paths.push(PathPattern::glob("tests/**").unwrap());
        a.add_stopwords(&["sample".to_string()]);
        let in_tests = finding("tests/a.txt", "acme_real");
        let sample = finding("src/a.txt", "acme_SAMPLE_1");
        let neither = finding("src/a.txt", "acme_real");
        assert_eq!(
            a.check(&in_tests, &forms(&in_tests), None).unwrap().0,
            SuppressReason::AllowlistPath
        );
        assert_eq!(
            a.check(&sample, &forms(&sample), None).unwrap().0,
            SuppressReason::AllowlistStopword
        );
        assert!(a.check(&neither, &forms(&neither), None).is_none());

        a.condition = Condition::And;
        assert!(a.check(&in_tests, &forms(&in_tests), None).is_none());
        let both = finding("tests/a.txt", "acme_sample");
        let (reason, detail) = a.check(&both, &forms(&both), None).unwrap();
        assert_eq!(reason, SuppressReason::AllowlistPath);
        assert!(
            detail.contains("tests/**") && detail.contains("sample"),
            "{detail}"
        );
    }

    #[test]
    fn regex_targets_and_scope() {
        let hay = b"token = acme_123456 # test fixture\n";
        let ctx = Context { hay, whole: 0..19 };
        let f = finding("src/a.txt", "acme_123456");
        let mut a = Allowlist::new("test", Path::new("/repo"));
        a.add_regex("fixture").unwrap();
        assert!(a.check(&f, &forms(&f), Some(&ctx)).is_none());
        a.target = RegexTarget::Line;
        let (reason, detail) = a.check(&f, &forms(&f), Some(&ctx)).unwrap();
        assert_eq!(reason, SuppressReason::AllowlistRegex);
        assert!(detail.contains("on the line"));
        a.target = RegexTarget::Match;
        assert!(a.check(&f, &forms(&f), Some(&ctx)).is_none());
        a.regexes.clear();
        a.add_regex("^token").unwrap();
        assert!(a.check(&f, &forms(&f), Some(&ctx)).is_some());
        a.scope = Scope::Rules(vec!["other-*".into()]);
        assert!(a.check(&f, &forms(&f), Some(&ctx)).is_none());
    }

    #[test]
    fn commits() {
        let mut a = Allowlist::new("test", Path::new("/repo"));
        assert!(a.add_commits(&["nothex!".to_string()]).is_err());
        a.add_commits(&["ABCDEF1".to_string()]).unwrap();
        let mut f = finding("a.txt", "s");
        assert!(a.check(&f, &forms(&f), None).is_none());
        f.set_commit("abcdef1234567890abcdef1234567890abcdef12");
        assert_eq!(
            a.check(&f, &forms(&f), None).unwrap().0,
            SuppressReason::AllowlistCommit
        );
    }
}
