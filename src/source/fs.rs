//! Walking directories and reading files.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ignore::overrides::{Override, OverrideBuilder};
use ignore::{WalkBuilder, WalkState};

use super::SkipReason;
use crate::blob::{Blob, Bytes, Origin};

/// Files at least this large are memory-mapped instead of read; below it a
/// read is cheaper than setting up a mapping.
const MMAP_THRESHOLD: u64 = 64 << 10;

/// How to walk.
#[derive(Debug, Clone)]
pub struct WalkOptions {
    /// Honour `.gitignore`, `.ignore` and git's exclude files.
    pub respect_ignore: bool,
    /// Globs (gitignore syntax; a leading `./` anchors at the walk's root, as
    /// in allowlist paths) of paths to leave out.
    pub excludes: Vec<String>,
    /// Files larger than this are skipped.
    pub max_file_size: u64,
    pub threads: usize,
    /// How far archives found in the walk are opened.
    pub archives: super::archive::Limits,
    /// Follow symbolic links met in the walk, to targets within the roots
    /// only (a link elsewhere is skipped as [`SkipReason::OutsideRoot`], a
    /// link to a directory above it as [`SkipReason::SymlinkLoop`]).
    pub follow_symlinks: bool,
}

/// A file to scan.
#[derive(Debug, Clone)]
pub struct FileEntry {
    pub path: PathBuf,
    pub size: u64,
}

/// Something the walk could not use, with the reason.
#[derive(Debug, Clone)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: SkipReason,
    pub detail: String,
}

/// The result of a walk: files to scan, in path order, and what was skipped.
#[derive(Debug, Default)]
pub struct Walk {
    pub files: Vec<FileEntry>,
    pub skipped: Vec<Skipped>,
    /// Directories entered, so what was left out can be found afterwards.
    dirs: Vec<PathBuf>,
}

/// `--exclude` in the syntax allowlist paths use: `./config` means `config`
/// at the root (gitignore writes that `/config`; `./` would match nothing).
fn exclude_glob(glob: &str) -> String {
    match glob.strip_prefix("./") {
        Some(rest) => format!("!/{}", rest.trim_start_matches('/')),
        None => format!("!{glob}"),
    }
}

/// Walks `roots` in parallel. Hidden files are included (secrets live in `.env`
/// and `.mcp.json`); `.git` directories never are.
///
/// # Errors
///
/// Fails only when an `--exclude` glob is invalid; unreadable directories and
/// broken links are reported in [`Walk::skipped`].
pub fn walk(roots: &[PathBuf], opts: &WalkOptions) -> Result<Walk, ignore::Error> {
    let mut walk = Walk::default();
    // Where followed links may lead: the roots as the file system names them.
    let within: Arc<Vec<PathBuf>> = Arc::new(
        roots
            .iter()
            .filter_map(|r| std::fs::canonicalize(r).ok())
            .collect(),
    );
    for root in roots {
        let mut overrides = OverrideBuilder::new(root);
        for glob in &opts.excludes {
            overrides.add(&exclude_glob(glob))?;
        }
        let overrides = overrides.build()?;
        // A symbolic link named on the command line (`keysweep scan .env`)
        // is what the user asked for: read through it. Links met inside a
        // walk are not followed.
        if let Some(size) = linked_file_size(root) {
            if size > opts.max_file_size && !opens_as_archive(root, opts) {
                walk.skipped.push(Skipped {
                    path: root.clone(),
                    reason: SkipReason::TooLarge,
                    detail: format!("{size} bytes"),
                });
            } else {
                walk.files.push(FileEntry {
                    path: root.clone(),
                    size,
                });
            }
            continue;
        }
        let mut found = walk_root(root, opts, &overrides, &within);
        if opts.respect_ignore || !opts.excludes.is_empty() {
            found.skipped.extend(left_out(root, &found, &overrides));
        }
        walk.files.append(&mut found.files);
        walk.skipped.append(&mut found.skipped);
    }
    walk.files.sort_by(|a, b| a.path.cmp(&b.path));
    walk.files.dedup_by(|a, b| a.path == b.path);
    walk.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    walk.dirs.clear();
    Ok(walk)
}

/// The size of the regular file `p` links to, when `p` is a symbolic link to
/// one.
fn linked_file_size(p: &Path) -> Option<u64> {
    let link = std::fs::symlink_metadata(p).ok()?;
    let target = std::fs::metadata(p).ok()?;
    (link.file_type().is_symlink() && target.is_file()).then_some(target.len())
}

/// Walks one root in parallel; `dirs` keeps the directories seen, for
/// [`left_out`].
fn walk_root(
    root: &Path,
    opts: &WalkOptions,
    overrides: &Override,
    within: &Arc<Vec<PathBuf>>,
) -> Walk {
    let mut builder = WalkBuilder::new(root);
    let outside = Arc::new(Mutex::new(Vec::new()));
    builder
        .hidden(false)
        .parents(opts.respect_ignore)
        .ignore(opts.respect_ignore)
        .git_ignore(opts.respect_ignore)
        .git_global(opts.respect_ignore)
        .git_exclude(opts.respect_ignore)
        .require_git(false)
        .overrides(overrides.clone())
        .threads(opts.threads)
        .follow_links(opts.follow_symlinks);
    if opts.follow_symlinks {
        let (within, sink) = (within.clone(), outside.clone());
        builder.filter_entry(move |e| {
            if e.file_name() == ".git" {
                return false;
            }
            match leads_outside(e, &within) {
                Some(skip) => {
                    sink.lock().unwrap().push(skip);
                    false
                }
                None => true,
            }
        });
    } else {
        builder.filter_entry(|e| e.file_name() != ".git");
    }
    let found = Mutex::new(Walk::default());
    builder.build_parallel().run(|| {
        let found = &found;
        Box::new(move |entry| {
            let local = match entry {
                Ok(e) if e.file_type().is_some_and(|t| t.is_dir()) => {
                    found.lock().unwrap().dirs.push(e.into_path());
                    return WalkState::Continue;
                }
                Ok(e) => classify(e, opts),
                Err(err) => Err(Skipped {
                    path: error_path(&err).unwrap_or_else(|| root.to_path_buf()),
                    reason: if is_loop(&err) {
                        SkipReason::SymlinkLoop
                    } else {
                        SkipReason::Unreadable
                    },
                    detail: io_cause(&err),
                }),
            };
            let mut w = found.lock().unwrap();
            match local {
                Ok(f) => w.files.push(f),
                Err(s) => w.skipped.push(s),
            }
            WalkState::Continue
        })
    });
    let mut found = found.into_inner().unwrap();
    found.skipped.append(&mut outside.lock().unwrap());
    found
}

/// Why the symbolic link `e` is not followed, when its target lies outside
/// every root: what the scanned tree links to must not widen what is read.
fn leads_outside(e: &ignore::DirEntry, within: &[PathBuf]) -> Option<Skipped> {
    if !e.path_is_symlink() {
        return None;
    }
    // A link that does not resolve is left to the walk, which reports it.
    let target = std::fs::canonicalize(e.path()).ok()?;
    if within.iter().any(|r| target.starts_with(r)) {
        return None;
    }
    Some(Skipped {
        path: e.path().to_path_buf(),
        reason: SkipReason::OutsideRoot,
        detail: format!(
            "symbolic link to {}, outside the scanned root; not followed",
            target.display()
        ),
    })
}

fn is_loop(err: &ignore::Error) -> bool {
    match err {
        ignore::Error::WithPath { err, .. }
        | ignore::Error::WithDepth { err, .. }
        | ignore::Error::WithLineNumber { err, .. } => is_loop(err),
        ignore::Error::Loop { .. } => true,
        _ => false,
    }
}

/// Whether a file over `--max-file-size` is an archive (by its first
/// bytes, not its name) to be opened anyway: a `docker save` tarball or a
/// release zip is routinely hundreds of megabytes, and its members are
/// bounded one by one and in total by the archive limits, while the file
/// itself is mapped, not read into memory. Never true with archives off.
pub fn opens_as_archive(path: &Path, opts: &WalkOptions) -> bool {
    use std::io::Read as _;
    if opts.archives.depth == 0 {
        return false;
    }
    // 512 bytes: a tar's `ustar` magic sits at 257, every other magic earlier.
    let mut head = Vec::with_capacity(512);
    let read = std::fs::File::open(path).and_then(|f| f.take(512).read_to_end(&mut head));
    read.is_ok() && super::archive::detect(&head).is_some()
}

/// A file to scan, or why an entry is skipped: too large (and not an
/// archive to open, see [`opens_as_archive`]), not a regular file, or
/// unreadable metadata.
fn classify(e: ignore::DirEntry, opts: &WalkOptions) -> Result<FileEntry, Skipped> {
    match e.metadata() {
        Ok(md)
            if md.is_file()
                && md.len() > opts.max_file_size
                && !opens_as_archive(e.path(), opts) =>
        {
            Err(Skipped {
                path: e.into_path(),
                reason: SkipReason::TooLarge,
                detail: format!("{} bytes", md.len()),
            })
        }
        Ok(md) if md.is_file() => Ok(FileEntry {
            path: e.into_path(),
            size: md.len(),
        }),
        Ok(_) => Err(Skipped {
            path: e.into_path(),
            reason: SkipReason::NotAFile,
            detail: String::new(),
        }),
        Err(err) => Err(Skipped {
            path: e.into_path(),
            reason: SkipReason::Unreadable,
            detail: io_cause(&err),
        }),
    }
}

/// What the walk of `root` left out by ignore files or `--exclude`: every
/// entry it never reached, found by walking again without them and stopping
/// at each such entry, so an ignored directory counts once and costs one
/// directory read.
fn left_out(root: &Path, found: &Walk, overrides: &ignore::overrides::Override) -> Vec<Skipped> {
    let reached: HashSet<PathBuf> = found
        .files
        .iter()
        .map(|f| f.path.clone())
        .chain(found.skipped.iter().map(|s| s.path.clone()))
        .chain(found.dirs.iter().cloned())
        .collect();
    let overrides = overrides.clone();
    let out = Arc::new(Mutex::new(Vec::new()));
    let sink = out.clone();
    WalkBuilder::new(root)
        .standard_filters(false)
        .filter_entry(move |e| {
            if e.file_name() == ".git" {
                return false;
            }
            if reached.contains(e.path()) {
                return true;
            }
            let is_dir = e.file_type().is_some_and(|t| t.is_dir());
            let reason = if overrides.matched(e.path(), is_dir).is_ignore() {
                SkipReason::Excluded
            } else {
                SkipReason::Ignored
            };
            sink.lock().unwrap().push(Skipped {
                path: e.path().to_path_buf(),
                reason,
                detail: String::new(),
            });
            false
        })
        .build()
        .for_each(drop);
    let mut v = out.lock().unwrap();
    std::mem::take(&mut *v)
}

/// The innermost cause of a walk error, without the path ignore prefixes.
fn io_cause(err: &ignore::Error) -> String {
    match err {
        ignore::Error::WithPath { err, .. } => io_cause(err),
        ignore::Error::WithDepth { err, .. } => io_cause(err),
        ignore::Error::WithLineNumber { err, .. } => io_cause(err),
        ignore::Error::Loop { ancestor, .. } => format!(
            "symbolic link back to {}, which contains it; not followed again",
            ancestor.display()
        ),
        other => other.to_string(),
    }
}

fn error_path(err: &ignore::Error) -> Option<PathBuf> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path.clone()),
        ignore::Error::WithDepth { err, .. } => error_path(err),
        ignore::Error::WithLineNumber { err, .. } => error_path(err),
        ignore::Error::Loop { child, .. } => Some(child.clone()),
        _ => None,
    }
}

/// Reads (or maps) one file.
///
/// # Errors
///
/// Returns the I/O error when the file cannot be opened, read or mapped.
pub fn read_file(path: &Path, size_hint: u64) -> std::io::Result<Blob> {
    let bytes = if size_hint >= MMAP_THRESHOLD {
        let file = std::fs::File::open(path)?;
        // SAFETY: the map is read-only and dropped after the scan. A file
        // truncated by another process meanwhile can fault, a risk every
        // mmap-based searcher (ripgrep included) accepts for large files.
        let map = unsafe { memmap2::Mmap::map(&file)? };
        Bytes::Mapped(map)
    } else {
        Bytes::Owned(std::fs::read(path)?)
    };
    Ok(Blob::new(bytes, Origin::File(path.to_path_buf())))
}
