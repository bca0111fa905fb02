//! CI pipeline files: literal values with sensitive names under `env:`,
//! `variables:`, `environment:` (and action inputs, registry credentials),
//! in GitHub Actions, GitLab CI, CircleCI, Azure Pipelines, Bitbucket
//! Pipelines, Buildkite, Travis CI and Jenkinsfiles.
//!
//! References (`${{ secrets.X }}`, `$VAR`, `${VAR}`, `$(var)`,
//! `credentials('id')`, Travis `secure:`) are never reported. Secrets inline
//! in `run:`/`script:` lines are left to the provider rules, which scan the
//! whole file.

use std::ops::Range;
use std::sync::OnceLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::literal::{is_reference, is_sensitive_name, looks_like_secret};
use super::tree::{Node, OffsetMap, Text, Tree};
use super::{Context, Literal};

/// The id of the rule for literal credentials in CI files.
pub const RULE_ID: &str = "ci-literal-credential";

/// A CI system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CiSystem {
    GithubActions,
    GitlabCi,
    Circleci,
    AzurePipelines,
    BitbucketPipelines,
    Buildkite,
    TravisCi,
    Jenkins,
}

impl CiSystem {
    /// The id used in JSON output (`github-actions`, `gitlab-ci`, …).
    pub fn id(self) -> &'static str {
        match self {
            CiSystem::GithubActions => "github-actions",
            CiSystem::GitlabCi => "gitlab-ci",
            CiSystem::Circleci => "circleci",
            CiSystem::AzurePipelines => "azure-pipelines",
            CiSystem::BitbucketPipelines => "bitbucket-pipelines",
            CiSystem::Buildkite => "buildkite",
            CiSystem::TravisCi => "travis-ci",
            CiSystem::Jenkins => "jenkins",
        }
    }

    /// The product name, for people.
    pub fn name(self) -> &'static str {
        match self {
            CiSystem::GithubActions => "GitHub Actions",
            CiSystem::GitlabCi => "GitLab CI",
            CiSystem::Circleci => "CircleCI",
            CiSystem::AzurePipelines => "Azure Pipelines",
            CiSystem::BitbucketPipelines => "Bitbucket Pipelines",
            CiSystem::Buildkite => "Buildkite",
            CiSystem::TravisCi => "Travis CI",
            CiSystem::Jenkins => "Jenkins",
        }
    }

    /// How to keep `var` out of the file, in this system's terms.
    fn fix(self, var: &str) -> String {
        match self {
            CiSystem::GithubActions => format!(
                "Store it as an Actions secret (Settings > Secrets and variables > Actions, or \
                 `gh secret set {var}`) and write \"${{{{ secrets.{var} }}}}\"."
            ),
            CiSystem::GitlabCi => format!(
                "Define {var} as a masked (and protected) CI/CD variable in Settings > CI/CD > \
                 Variables and delete it here: jobs get it as ${var}."
            ),
            CiSystem::Circleci => format!(
                "Set {var} in the project's environment variables or in a context, delete it \
                 here, and use ${var}."
            ),
            CiSystem::AzurePipelines => format!(
                "Make {var} a secret variable (pipeline settings, a variable group or Azure Key \
                 Vault), delete it here, and map it where needed with `env: {var}: $({var})`."
            ),
            CiSystem::BitbucketPipelines => format!(
                "Add {var} as a secured repository or deployment variable, delete it here, and \
                 use ${var}."
            ),
            CiSystem::Buildkite => format!(
                "Store it as a Buildkite secret and read it in the step with \
                 `$(buildkite-agent secret get {var})` (or set it in an agent environment \
                 hook); delete it here."
            ),
            CiSystem::TravisCi => format!(
                "Encrypt it with `travis encrypt {var}=… --add env.global` (a `secure:` \
                 entry) or set it in the repository settings; delete it here."
            ),
            CiSystem::Jenkins => format!(
                "Store it as a Jenkins credential and write {var} = credentials('{}').",
                var.to_ascii_lowercase().replace('_', "-")
            ),
        }
    }
}

/// A CI system recognised by a YAML file's path.
pub(crate) fn detect_yaml(name: &str, parent: &str, grandparent: &str) -> Option<CiSystem> {
    let name = name.to_ascii_lowercase();
    let parent = parent.to_ascii_lowercase();
    let grandparent = grandparent.to_ascii_lowercase();
    let stem = name
        .strip_suffix(".yml")
        .or_else(|| name.strip_suffix(".yaml"))
        .unwrap_or(&name);
    Some(
        if (parent == "workflows" && grandparent == ".github")
            || ((stem == "action") && parent != ".circleci")
        {
            CiSystem::GithubActions
        } else if stem == ".gitlab-ci" || stem.ends_with(".gitlab-ci") || parent == ".gitlab-ci" {
            CiSystem::GitlabCi
        } else if parent == ".circleci" {
            CiSystem::Circleci
        } else if stem.starts_with("azure-pipelines")
            || stem.ends_with(".azure-pipelines")
            || parent == ".azure-pipelines"
            || parent == "azure-pipelines"
        {
            CiSystem::AzurePipelines
        } else if stem == "bitbucket-pipelines" {
            CiSystem::BitbucketPipelines
        } else if parent == ".buildkite" || stem == "buildkite" || stem == ".buildkite" {
            CiSystem::Buildkite
        } else if stem == ".travis" {
            CiSystem::TravisCi
        } else {
            return None;
        },
    )
}

/// A CI file without a YAML extension: Jenkinsfiles.
pub(crate) fn detect_other(name: &str) -> Option<CiSystem> {
    let b = name.as_bytes();
    let jenkinsfile = b.len() >= 11 && b[..11].eq_ignore_ascii_case(b"jenkinsfile");
    let suffixed = b.len() > 12 && b[b.len() - 12..].eq_ignore_ascii_case(b".jenkinsfile");
    (jenkinsfile || suffixed).then_some(CiSystem::Jenkins)
}

/// The values under the system's variable keys. Every value is returned as
/// context; literal secrets with sensitive names are marked reportable.
///
/// # Errors
///
/// Fails when a YAML file does not parse, with the line and column.
pub fn literals(system: CiSystem, bytes: &[u8]) -> Result<Vec<Literal>, super::FormatError> {
    let mut w = Walker {
        system,
        out: vec![file_context(system, bytes.len())],
    };
    if system == CiSystem::Jenkins {
        w.jenkinsfile(&String::from_utf8_lossy(bytes));
    } else {
        let text = super::utf8(bytes)?;
        let root = super::yaml::parse(text)?;
        w.walk(&root, 0);
    }
    Ok(w.out)
}

/// The whole file as context, so that provider findings anywhere in it (a
/// token in a `run:` line) name the CI system, even when the file does not
/// parse.
pub fn file_context(system: CiSystem, len: usize) -> Literal {
    Literal {
        rule_id: RULE_ID,
        secret: String::new(),
        span: 0..len,
        context: Context {
            ci_system: Some(system),
            ..Context::default()
        },
        report: false,
    }
}

/// Keys whose values are variables or inputs, per system. All share one
/// treatment; only sensitive names are ever reported.
fn is_env_key(system: CiSystem, key: &str) -> bool {
    match key {
        "env" | "environment" | "variables" => true,
        "with" | "secrets" => system == CiSystem::GithubActions,
        "inputs" => system == CiSystem::AzurePipelines,
        "credentials" | "auth" => true,
        _ => false,
    }
}

struct Walker {
    system: CiSystem,
    out: Vec<Literal>,
}

impl Walker {
    fn walk(&mut self, t: &Tree, depth: usize) {
        if depth > 64 {
            return;
        }
        match &t.node {
            Node::Map(entries) => {
                for (k, v) in entries {
                    if is_env_key(self.system, &k.value) {
                        self.env(v, depth);
                    } else {
                        self.walk(v, depth + 1);
                    }
                }
            }
            Node::List(items) => {
                for i in items {
                    self.walk(i, depth + 1);
                }
            }
            _ => {}
        }
    }

    /// A block of variables, in any of the shapes the systems use.
    fn env(&mut self, v: &Tree, depth: usize) {
        if depth > 64 {
            return;
        }
        match &v.node {
            Node::Map(entries) => {
                for (k, val) in entries {
                    let name = k.value.as_str();
                    match &val.node {
                        Node::Str(t) => self.value(name, t, 0..t.value.len()),
                        // GitLab's `NAME: {value: …, description: …}`.
                        Node::Map(_) if val.get("value").is_some() => {
                            if let Some(t) = val.get("value").and_then(Tree::as_text) {
                                self.value(name, t, 0..t.value.len());
                            }
                        }
                        // Travis `secure:` entries are encrypted.
                        Node::Map(_) if val.get("secure").is_some() => {}
                        // Travis `env: {global: [...], jobs: [...]}`, nested blocks.
                        Node::Map(_) | Node::List(_) => self.env(val, depth + 1),
                        Node::Other => {}
                    }
                }
            }
            Node::List(items) => {
                for item in items {
                    match &item.node {
                        Node::Str(t) => self.assignments(t),
                        Node::Map(_) => {
                            // Azure's `- name: X\n  value: Y`.
                            if let (Some(n), Some(val)) = (
                                item.get("name").and_then(Tree::as_str),
                                item.get("value").and_then(Tree::as_text),
                            ) {
                                self.value(n, val, 0..val.value.len());
                            } else if item.get("secure").is_none()
                                && item.get("group").is_none()
                                && item.get("template").is_none()
                            {
                                self.env(item, depth + 1);
                            }
                        }
                        _ => {}
                    }
                }
            }
            Node::Str(t) => self.assignments(t),
            Node::Other => {}
        }
    }

    /// `NAME=value NAME2="value 2"`, as Travis and docker-style lists write them.
    fn assignments(&mut self, t: &Text) {
        let v = t.value.as_str();
        let b = v.as_bytes();
        let mut i = 0;
        while i < b.len() {
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            let name_start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            if i == name_start || i >= b.len() || b[i] != b'=' {
                // Not an assignment: skip the word.
                while i < b.len() && !b[i].is_ascii_whitespace() {
                    i += 1;
                }
                continue;
            }
            let name = &v[name_start..i];
            i += 1;
            let (start, end);
            if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                let q = b[i];
                start = i + 1;
                let close = b[start..]
                    .iter()
                    .position(|&c| c == q)
                    .map_or(b.len(), |p| start + p);
                end = close;
                i = (close + 1).min(b.len());
            } else {
                start = i;
                while i < b.len() && !b[i].is_ascii_whitespace() {
                    i += 1;
                }
                end = i;
            }
            self.value(name, t, start..end);
        }
    }

    fn value(&mut self, name: &str, t: &Text, r: Range<usize>) {
        if r.start >= r.end || r.end > t.value.len() {
            return;
        }
        let secret = &t.value[r.clone()];
        let report = is_sensitive_name(name) && !is_reference(secret) && looks_like_secret(secret);
        self.out.push(Literal {
            rule_id: RULE_ID,
            secret: secret.to_string(),
            span: t.span_of(r),
            context: Context {
                ci_system: Some(self.system),
                variable: Some(name.to_string()),
                fix: Some(self.system.fix(name)),
                ..Context::default()
            },
            report,
        });
    }

    /// Jenkinsfile `environment { NAME = 'value' }` blocks and
    /// `withEnv(['NAME=value'])` lists.
    fn jenkinsfile(&mut self, src: &str) {
        static BLOCK: OnceLock<Regex> = OnceLock::new();
        static ASSIGN: OnceLock<Regex> = OnceLock::new();
        static WITH_ENV: OnceLock<Regex> = OnceLock::new();
        static ITEM: OnceLock<Regex> = OnceLock::new();
        let block = BLOCK.get_or_init(|| Regex::new(r"\benvironment\s*\{").unwrap());
        let assign = ASSIGN.get_or_init(|| {
            Regex::new(
                r#"(?m)^[ \t]*([A-Za-z_][A-Za-z0-9_]*)[ \t]*=[ \t]*(?:'([^'\n]*)'|"([^"\n]*)")"#,
            )
            .unwrap()
        });
        let with_env = WITH_ENV.get_or_init(|| Regex::new(r"\bwithEnv\s*\(\s*\[").unwrap());
        let item = ITEM.get_or_init(|| {
            Regex::new(
                r#"'([A-Za-z_][A-Za-z0-9_]*)=([^'\n]*)'|"([A-Za-z_][A-Za-z0-9_]*)=([^"\n]*)""#,
            )
            .unwrap()
        });
        for m in block.find_iter(src) {
            let body = m.end()..block_end(src, m.end(), b'{', b'}');
            for c in assign.captures_iter(&src[body.clone()]) {
                let name = c.get(1).unwrap().as_str();
                let Some(val) = c.get(2).or_else(|| c.get(3)) else {
                    continue;
                };
                self.located(name, src, body.start + val.start()..body.start + val.end());
            }
        }
        for m in with_env.find_iter(src) {
            let body = m.end()..block_end(src, m.end(), b'[', b']');
            for c in item.captures_iter(&src[body.clone()]) {
                let (Some(name), Some(val)) = (c.get(1).or(c.get(3)), c.get(2).or(c.get(4))) else {
                    continue;
                };
                self.located(
                    name.as_str(),
                    src,
                    body.start + val.start()..body.start + val.end(),
                );
            }
        }
    }

    fn located(&mut self, name: &str, src: &str, r: Range<usize>) {
        let t = Text {
            value: src[r.clone()].to_string(),
            map: OffsetMap::Shift(r.start),
        };
        self.value(name, &t, 0..t.value.len());
    }
}

/// The offset of the bracket closing a block opened just before `from`,
/// skipping quoted strings and `//` comments; the end of the text if none.
fn block_end(src: &str, from: usize, open: u8, close: u8) -> usize {
    let b = src.as_bytes();
    let mut depth = 1;
    let mut i = from;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"') => {
                i += 1;
                while i < b.len() && b[i] != q && b[i] != b'\n' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            c if c == open => depth += 1,
            c if c == close => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
        i += 1;
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reported(system: CiSystem, src: &str) -> Vec<(String, String)> {
        literals(system, src.as_bytes())
            .unwrap()
            .into_iter()
            .filter(|l| l.report)
            .map(|l| {
                assert_eq!(&src[l.span.clone()], l.secret);
                (l.context.variable.unwrap(), l.secret)
            })
            .collect()
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn github_actions() {
        let src = "on: push\nenv:\n  API_TOKEN: Xk9fP2qL7mZ4rW1s\n  REF_TOKEN: ${{ secrets.REF_TOKEN }}\njobs:\n  b:\n    runs-on: x\n    services:\n      db:\n        image: postgres\n        env:\n          POSTGRES_PASSWORD: postgres\n    steps:\n      - uses: a/b@v1\n        with:\n          token: Qw8Er2Ty6Ui0Op4A\n";
        assert_eq!(
            reported(CiSystem::GithubActions, src),
            pairs(&[
                ("API_TOKEN", "Xk9fP2qL7mZ4rW1s"),
                ("token", "Qw8Er2Ty6Ui0Op4A")
            ])
        );
    }

    #[test]
    fn travis_gitlab_azure_shapes() {
        let travis = "env:\n  global:\n    - secure: \"abcdEFGH1234abcdEFGH1234\"\n    - API_KEY=Lm3Nb7Vc1Xz5Qa9S OTHER=1\n    - DEPLOY_TOKEN=$DEPLOY_TOKEN\n";
        assert_eq!(
            reported(CiSystem::TravisCi, travis),
            pairs(&[("API_KEY", "Lm3Nb7Vc1Xz5Qa9S")])
        );
        let gitlab = "variables:\n  DEPLOY_TOKEN:\n    value: \"Gh5Jk9Lz3Xc7Vb1N\"\n    description: x\n  REF_TOKEN: $CI_JOB_TOKEN\n";
        assert_eq!(
            reported(CiSystem::GitlabCi, gitlab),
            pairs(&[("DEPLOY_TOKEN", "Gh5Jk9Lz3Xc7Vb1N")])
        );
        let azure = "variables:\n  - name: API_SECRET\n    value: Pz4Xc8Vb2Nm6Lk0J\n  - group: prod\n  - name: REF_SECRET\n    value: $(REF_SECRET)\n";
        assert_eq!(
            reported(CiSystem::AzurePipelines, azure),
            pairs(&[("API_SECRET", "Pz4Xc8Vb2Nm6Lk0J")])
        );
    }

    #[test]
    fn jenkinsfile() {
        let src = "pipeline {\n  agent any\n  environment {\n    API_TOKEN = 'Rt6Yu0Io4Pa8Sd2F'\n    REF_TOKEN = credentials('ref-token')\n    URL = \"https://x\" // { not a block\n  }\n  stages { stage('b') { steps { withEnv([\"DB_PASSWORD=Hj3Kl7Zx1Cv5Bn9M\"]) { sh 'make' } } } }\n}\n";
        assert_eq!(
            reported(CiSystem::Jenkins, src),
            pairs(&[
                ("API_TOKEN", "Rt6Yu0Io4Pa8Sd2F"),
                ("DB_PASSWORD", "Hj3Kl7Zx1Cv5Bn9M")
            ])
        );
    }

    #[test]
    fn detection() {
        assert_eq!(
            detect_yaml("ci.yml", "workflows", ".github"),
            Some(CiSystem::GithubActions)
        );
        assert_eq!(
            detect_yaml("config.yml", ".circleci", "x"),
            Some(CiSystem::Circleci)
        );
        assert_eq!(
            detect_yaml("pipeline.yml", ".buildkite", "x"),
            Some(CiSystem::Buildkite)
        );
        assert_eq!(
            detect_yaml("azure-pipelines.yml", "x", "y"),
            Some(CiSystem::AzurePipelines)
        );
        assert_eq!(detect_yaml("values.yaml", "chart", "y"), None);
        assert_eq!(detect_other("Jenkinsfile"), Some(CiSystem::Jenkins));
        assert_eq!(detect_other("deploy.jenkinsfile"), Some(CiSystem::Jenkins));
        assert_eq!(detect_other("main.rs"), None);
    }
}
