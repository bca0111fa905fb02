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
