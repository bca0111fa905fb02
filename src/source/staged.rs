//! Staged changes: the content of each staged file as it is in the index, and
//! which of its lines the staged change adds or modifies.

use std::cell::RefCell;
use std::ops::RangeInclusive;

use git2::{Delta, DiffOptions, Oid, Repository};

/// A staged file and its added or modified lines (1-based, in the staged
/// content).
#[derive(Debug, Clone)]
pub struct StagedFile {
    pub path: String,
    pub blob: Oid,
    pub added: Vec<RangeInclusive<usize>>,
}

impl StagedFile {
    /// Whether any line in `first..=last` was added or modified.
    pub fn touches(&self, first: usize, last: usize) -> bool {
        self.added
            .iter()
            .any(|r| *r.start() <= last && first <= *r.end())
    }
}

/// Lists staged files that add or modify lines, compared with `HEAD` (or with
/// nothing in a repository without commits).
///
/// # Errors
///
/// Fails when the index or `HEAD` cannot be read.
pub fn staged_files(repo: &Repository) -> Result<Vec<StagedFile>, git2::Error> {
    let head = match repo.head() {
        Ok(h) => Some(h.peel_to_tree()?),
        Err(e)
            if e.code() == git2::ErrorCode::UnbornBranch
                || e.code() == git2::ErrorCode::NotFound =>
        {
            None
        }
        Err(e) => return Err(e),
    };
    let index = repo.index()?;
    let mut opts = DiffOptions::new();
    // No context: each hunk's new range is exactly the added or changed lines.
    opts.context_lines(0)
        .ignore_submodules(true)
        .include_typechange(true);
    let mut diff = repo.diff_tree_to_index(head.as_ref(), Some(&index), Some(&mut opts))?;
    // As `git diff --find-renames`: a moved file's hunks are only its edits.
    diff.find_similar(None)?;

    let files: RefCell<Vec<StagedFile>> = RefCell::new(Vec::new());
    diff.foreach(
        &mut |delta, _| {
            if matches!(
                delta.status(),
                Delta::Added | Delta::Modified | Delta::Renamed | Delta::Copied | Delta::Typechange
            ) {
                let nf = delta.new_file();
                if !nf.id().is_zero() {
                    files.borrow_mut().push(StagedFile {
                        path: nf
                            .path()
                            .map(|p| p.to_string_lossy().into_owned())
                            .unwrap_or_default(),
                        blob: nf.id(),
                        added: Vec::new(),
                    });
                }
            }
            true
        },
        None,
        Some(&mut |delta, hunk| {
            let id = delta.new_file().id();
            let mut files = files.borrow_mut();
            if let Some(f) = files.iter_mut().rev().find(|f| f.blob == id) {
                if hunk.new_lines() > 0 {
                    let start = hunk.new_start() as usize;
                    f.added.push(start..=start + hunk.new_lines() as usize - 1);
                }
            }
            true
        }),
        None,
    )?;
    let mut files = files.into_inner();
    // A mode-only change adds no lines; binary files are skipped by the scanner.
    files.retain(|f| !f.added.is_empty());
    Ok(files)
}

/// Lists staged changes by asking `git diff --cached`, which the pre-commit
/// hook runs beside anyway. It is faster than reading the index with libgit2
/// (git skips unchanged directories with the index's cache-tree: 18 ms instead
/// of 90 ms for 100,000 files) and it honours `GIT_INDEX_FILE`, which git sets
/// to a temporary index for `git commit -a` and partial commits.
///
/// # Errors
///
/// Fails when `git` cannot be run or exits with an error; the caller can then
/// fall back to [`staged_files`].
pub fn staged_files_with_git_cli(workdir: &std::path::Path) -> Result<Vec<StagedFile>, String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(workdir)
        .args([
            "-c",
            "core.quotePath=false",
            "diff",
            "--cached",
            "-U0",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "--full-index",
            // A renamed file's diff holds only the lines its move changed: a
            // pure `git mv` adds nothing (with --no-renames it would be a
            // new file, every line "added", and block the commit).
            "--find-renames",
            "--diff-filter=ACMRT",
            "--src-prefix=a/",
            "--dst-prefix=b/",
        ])
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git diff --cached failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(parse_cached_diff(&out.stdout))
}

/// Parses `git diff --cached -U0 --full-index` output into staged files and
/// their added line ranges.
fn parse_cached_diff(diff: &[u8]) -> Vec<StagedFile> {
    let mut files: Vec<StagedFile> = Vec::new();
    let mut blob: Option<Oid> = None;
    let mut in_header = false;
    // Hunks belong to the file of the current `diff --git` section, if kept.
    let mut current: Option<usize> = None;
    for line in diff.split(|&b| b == b'\n') {
        if line.starts_with(b"diff --git ") {
            blob = None;
            in_header = true;
            current = None;
        } else if in_header && line.starts_with(b"index ") {
            // `index <old>..<new>[ <mode>]`; a gitlink (submodule) has mode 160000.
            let text = String::from_utf8_lossy(&line[6..]);
            let mut fields = text.split(' ');
            let ids = fields.next().unwrap_or("");
            let gitlink = fields.next() == Some("160000");
            blob = ids
                .split_once("..")
                .and_then(|(_, new)| Oid::from_str(new).ok())
                .filter(|id| !id.is_zero() && !gitlink);
        } else if in_header && line.starts_with(b"+++ ") {
            in_header = false;
            let path = unquote(&line[4..]);
            if let (Some(id), Some(path)) = (blob, path.strip_prefix("b/")) {
                current = Some(files.len());
                files.push(StagedFile {
                    path: path.to_string(),
                    blob: id,
                    added: Vec::new(),
                });
            }
        } else if line.starts_with(b"@@ ") {
            if let (Some(i), Some(range)) = (current, new_range(line)) {
                files[i].added.push(range);
            }
        }
    }
    files.retain(|f| !f.added.is_empty());
    files
}

/// The added lines of a hunk header `@@ -a[,b] +c[,d] @@`.
fn new_range(header: &[u8]) -> Option<RangeInclusive<usize>> {
    let text = std::str::from_utf8(header).ok()?;
    let plus = text.split(' ').find(|f| f.starts_with('+'))?;
    let (start, count) = match plus[1..].split_once(',') {
        Some((s, c)) => (s.parse::<usize>().ok()?, c.parse::<usize>().ok()?),
        None => (plus[1..].parse::<usize>().ok()?, 1),
    };
    (count > 0).then(|| start..=start + count - 1)
}

/// Undoes git's C-style quoting of unusual paths (`"b/a\tb"`).
fn unquote(raw: &[u8]) -> String {
    if raw.first() != Some(&b'"') || raw.len() < 2 {
        return String::from_utf8_lossy(raw).into_owned();
    }
    let inner = &raw[1..raw.len() - 1];
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    while i < inner.len() {
        if inner[i] == b'\\' && i + 1 < inner.len() {
            i += 1;
            match inner[i] {
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'"' => out.push(b'"'),
                b'\\' => out.push(b'\\'),
                b'a' => out.push(7),
                b'b' => out.push(8),
                b'f' => out.push(12),
                b'r' => out.push(b'\r'),
                b'v' => out.push(11),
                d @ b'0'..=b'7' if i + 2 < inner.len() => {
                    let oct = [d, inner[i + 1], inner[i + 2]];
                    let v = std::str::from_utf8(&oct)
                        .ok()
                        .and_then(|s| u8::from_str_radix(s, 8).ok());
                    match v {
                        Some(v) => {
                            out.push(v);
                            i += 2;
                        }
                        None => out.push(d),
                    }
                }
                other => out.push(other),
            }
        } else {
            out.push(inner[i]);
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cached_diff() {
        let new = "1".repeat(40);
        let diff = format!(
            "diff --git a/app.env b/app.env\n\
             index {old}..{new} 100644\n\
             --- a/app.env\n\
             +++ b/app.env\n\
             @@ -0,0 +1 @@\n\
             +# comment\n\
             @@ -3 +4,2 @@\n\
             -x\n\
             +y\n\
             +z\n\
             @@ -9,2 +10,0 @@\n\
             diff --git a/gone b/gone\n\
             deleted file mode 100644\n\
             diff --git \"a/sp\\tace\" \"b/sp\\tace\"\n\
             new file mode 100644\n\
             index {zero}..{new}\n\
             --- /dev/null\n\
             +++ \"b/sp\\tace\"\n\
             @@ -0,0 +1,3 @@\n\
             diff --git a/sub b/sub\n\
             index {old}..{new} 160000\n\
             --- a/sub\n\
             +++ b/sub\n\
             @@ -1 +1 @@\n",
            old = "2".repeat(40),
            zero = "0".repeat(40),
        );
        let files = parse_cached_diff(diff.as_bytes());
        assert_eq!(files.len(), 2, "{files:?}");
        assert_eq!(files[0].path, "app.env");
        assert_eq!(files[0].added, vec![1..=1, 4..=5]);
        assert_eq!(files[1].path, "sp\tace");
        assert_eq!(files[1].added, vec![1..=3]);
        assert!(files[0].touches(5, 5) && !files[0].touches(2, 3));
    }
}
