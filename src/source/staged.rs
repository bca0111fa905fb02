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
    let diff = repo.diff_tree_to_index(head.as_ref(), Some(&index), Some(&mut opts))?;

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
