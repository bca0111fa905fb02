//! The forms of a finding's path that allowlists, baselines and ignore files
//! compare against.
//!
//! Findings report paths as the walk found them (`src/a.py` when scanning `.`,
//! `/abs/repo/src/a.py` when scanning `/abs/repo`). Files that describe a
//! project (a config, a baseline) must not depend on how it was scanned, so
//! they compare paths relative to their own directory; the reported form is
//! tried too, for patterns written against it.

use std::borrow::Cow;
use std::path::{Component, Path, PathBuf};

/// `p` made absolute against `cwd` and normalised lexically (`.` dropped, `..`
/// applied), without touching the file system.
pub fn absolute(cwd: &Path, p: &Path) -> PathBuf {
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        cwd.join(p)
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Checks a path named by a config file found in the scanned tree: the tree
/// is untrusted, so what it names must stay inside `root` (after symlinks)
/// and be a regular file or directory — never `/proc/self/environ`, a device,
/// a FIFO or `/dev/stdin`. A path that does not exist yet (a log to create)
/// is checked through its nearest existing ancestor.
///
/// # Errors
///
/// Says why the path is refused.
pub fn confine(root: &Path, p: &Path) -> Result<(), Refused> {
    let root = root.canonicalize().map_err(|source| Refused::Io {
        path: root.to_path_buf(),
        source,
    })?;
    let mut existing = p.to_path_buf();
    let mut missing = Vec::new();
    let real = loop {
        match existing.canonicalize() {
            Ok(r) => break r,
            Err(_) => match (existing.file_name(), existing.parent()) {
                (Some(name), Some(parent)) => {
                    missing.push(name.to_owned());
                    existing = if parent.as_os_str().is_empty() {
                        PathBuf::from(".")
                    } else {
                        parent.to_path_buf()
                    };
                }
                _ => return Err(Refused::Unresolved(p.to_path_buf())),
            },
        }
    };
    if missing.iter().any(|m| m == "..") || !real.starts_with(&root) {
        return Err(Refused::Outside {
            path: p.to_path_buf(),
            root,
        });
    }
    if missing.is_empty() {
        let kind = std::fs::metadata(&real)
            .map_err(|source| Refused::Io {
                path: p.to_path_buf(),
                source,
            })?
            .file_type();
        if !kind.is_file() && !kind.is_dir() {
            return Err(Refused::NotAFile(p.to_path_buf()));
        }
    }
    Ok(())
}

/// Why [`confine`] refuses a path named by a config found in the scanned
/// tree.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: cannot be resolved", .0.display())]
    Unresolved(PathBuf),
    #[error(
        "{} is outside the scanned tree ({}); a config found in the tree may only name \
         files inside it (pass the config with --config to trust it)",
        path.display(),
        root.display()
    )]
    Outside { path: PathBuf, root: PathBuf },
    #[error("{} is not a regular file", .0.display())]
    NotAFile(PathBuf),
}

/// A finding's path, ready to be made relative to a base directory.
#[derive(Debug, Clone)]
pub struct PathForms<'a> {
    /// The path as reported.
    pub reported: &'a str,
    abs: Option<PathBuf>,
    /// From git history: already relative to the repository root.
    repo_relative: bool,
}

impl<'a> PathForms<'a> {
    pub fn new(reported: &'a str, repo_relative: bool, cwd: &Path) -> PathForms<'a> {
        let abs = (!repo_relative && !reported.starts_with('<'))
            .then(|| absolute(cwd, Path::new(reported)));
        PathForms {
            reported,
            abs,
            repo_relative,
        }
    }

    /// The path relative to `base` with `/` separators, when it lies under
    /// `base` (an absolute directory). Paths from git history are relative to
    /// the repository already and are returned as they are.
    pub fn relative_to(&self, base: &Path) -> Option<Cow<'a, str>> {
        if self.repo_relative {
            return Some(Cow::Borrowed(self.reported));
        }
        let rel = self.abs.as_ref()?.strip_prefix(base).ok()?;
        let parts: Vec<_> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect();
        Some(Cow::Owned(parts.join("/")))
    }

    /// The path relative to `base` if it lies under it, else as reported.
    pub fn key(&self, base: &Path) -> String {
        self.relative_to(base)
            .map(Cow::into_owned)
            .unwrap_or_else(|| self.reported.replace('\\', "/"))
    }

    /// The distinct forms to try against a pattern: relative to `base` (when
    /// under it), then as reported.
    pub fn candidates(&self, base: &Path) -> Vec<Cow<'a, str>> {
        let mut v = Vec::with_capacity(2);
        if let Some(r) = self.relative_to(base) {
            v.push(r);
        }
        if !v.iter().any(|r| r == self.reported) {
            v.push(Cow::Borrowed(self.reported));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_is_lexical() {
        let cwd = Path::new("/work/repo");
        assert_eq!(
            absolute(cwd, Path::new("./a/../b/c")),
            Path::new("/work/repo/b/c")
        );
        assert_eq!(absolute(cwd, Path::new("/x/./y")), Path::new("/x/y"));
    }

    #[test]
    fn forms_relative_to_base() {
        let cwd = Path::new("/work");
        let f = PathForms::new("repo/src/a.py", false, cwd);
        assert_eq!(f.relative_to(Path::new("/work/repo")).unwrap(), "src/a.py");
        assert_eq!(f.relative_to(Path::new("/elsewhere")), None);
        assert_eq!(f.key(Path::new("/elsewhere")), "repo/src/a.py");
        assert_eq!(
            f.candidates(Path::new("/work/repo")),
            vec!["src/a.py", "repo/src/a.py"]
        );
        let h = PathForms::new("src/a.py", true, cwd);
        assert_eq!(h.relative_to(Path::new("/anything")).unwrap(), "src/a.py");
        let s = PathForms::new("<stdin>", false, cwd);
        assert_eq!(s.candidates(Path::new("/work")), vec!["<stdin>"]);
    }
}
