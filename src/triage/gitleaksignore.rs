//! `.gitleaksignore`: findings accepted by gitleaks fingerprint.
//!
//! Each line is `file:rule-id:line` (any finding of that rule starting on that
//! line of that file) or `commit:file:rule-id:line` (only in that commit);
//! blank lines and `#` comments are skipped. Files are compared as reported
//! and relative to the ignore file's directory, with `/` separators. Rule ids
//! are keysweep's: a fingerprint written for one of gitleaks' default rules
//! matches only if a rule with that id is loaded (from a gitleaks config, for
//! instance).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::PathForms;
use crate::finding::Finding;

/// Parsed `.gitleaksignore` fingerprints.
#[derive(Debug, Clone, Default)]
pub struct GitleaksIgnore {
    path: PathBuf,
    base: PathBuf,
    entries: HashSet<String>,
}

impl GitleaksIgnore {
    /// Reads a `.gitleaksignore`. Relative paths in it are taken from `base`
    /// (absolute; normally the file's directory). Returns the warnings for
    /// lines that are not fingerprints (`path:line: problem`).
    ///
    /// # Errors
    ///
    /// Fails when the file cannot be read.
    pub fn load(path: &Path, base: &Path) -> std::io::Result<(GitleaksIgnore, Vec<String>)> {
        let text = crate::blob::read_text_file(path)?;
        let (ignore, warnings) = GitleaksIgnore::parse(&text, path, base);
        Ok((ignore, warnings))
    }

    /// Parses the text of a `.gitleaksignore` read from `path`.
    pub fn parse(text: &str, path: &Path, base: &Path) -> (GitleaksIgnore, Vec<String>) {
        let mut entries = HashSet::new();
        let mut warnings = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts: Vec<String> = line.split(':').map(str::to_string).collect();
            let file_at = match parts.len() {
                3 => 0,
                4 => 1,
                _ => {
                    warnings.push(format!(
                        "{}:{}: not a gitleaks fingerprint (file:rule-id:line or \
                         commit:file:rule-id:line): {line}",
                        path.display(),
                        i + 1
                    ));
                    continue;
                }
            };
            if parts.last().unwrap().parse::<usize>().is_err() {
                warnings.push(format!(
                    "{}:{}: fingerprint does not end with a line number: {line}",
                    path.display(),
                    i + 1
                ));
                continue;
            }
            parts[file_at] = parts[file_at].replace('\\', "/");
            if file_at == 1 {
                parts[0] = parts[0].to_ascii_lowercase();
            }
            entries.insert(parts.join(":"));
        }
        let ignore = GitleaksIgnore {
            path: path.to_path_buf(),
            base: base.to_path_buf(),
            entries,
        };
        (ignore, warnings)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The fingerprint that accepts `f`, if any.
    pub fn matches(&self, f: &Finding, forms: &PathForms<'_>) -> Option<String> {
        for file in forms.candidates(&self.base) {
            let global = format!("{file}:{}:{}", f.rule.id, f.location.line);
            if self.entries.contains(&global) {
                return Some(global);
            }
            if let Some(commit) = f.commit() {
                let full = format!("{}:{global}", commit.to_ascii_lowercase());
                if self.entries.contains(&full) {
                    return Some(full);
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_match() {
        let text = "# accepted\n\nsrc/a.py:acme-token:3\nABCDEF0123:src\\b.py:acme-token:7\nbad line\nx:y:z\n";
        let (ig, warnings) =
            GitleaksIgnore::parse(text, Path::new("/repo/.gitleaksignore"), Path::new("/repo"));
        assert_eq!(ig.len(), 2);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].starts_with("/repo/.gitleaksignore:5:"));
        let cwd = Path::new("/repo");
        let mut f = Finding {
            rule: crate::finding::RuleRef {
                id: "acme-token".into(),
                ..Default::default()
            },
            location: crate::finding::Location {
                path: "src/a.py".into(),
                line: 3,
                ..Default::default()
            },
            ..Finding::default()
        };
        assert!(ig
            .matches(&f, &PathForms::new(&f.location.path, false, cwd))
            .is_some());
        f.location.line = 4;
        assert!(ig
            .matches(&f, &PathForms::new(&f.location.path, false, cwd))
            .is_none());
        // Scanned from elsewhere: the path relative to the ignore file counts.
        let g = Finding {
            rule: crate::finding::RuleRef {
                id: "acme-token".into(),
                ..Default::default()
            },
            location: crate::finding::Location {
                path: "/repo/src/a.py".into(),
                line: 3,
                ..Default::default()
            },
            ..Finding::default()
        };
        assert!(ig
            .matches(
                &g,
                &PathForms::new(&g.location.path, false, Path::new("/tmp"))
            )
            .is_some());
        let mut h = Finding {
            rule: crate::finding::RuleRef {
                id: "acme-token".into(),
                ..Default::default()
            },
            location: crate::finding::Location {
                path: "src/b.py".into(),
                line: 7,
                ..Default::default()
            },
            git: Some(crate::blob::GitProvenance {
                commit: "abcdef0123".into(),
                ..Default::default()
            }),
            ..Finding::default()
        };
        assert!(ig
            .matches(&h, &PathForms::new(&h.location.path, true, cwd))
            .is_some());
        h.set_commit("0000000000");
        assert!(ig
            .matches(&h, &PathForms::new(&h.location.path, true, cwd))
            .is_none());
    }
}
