//! Walking directories and reading files.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
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
    /// The size the walk saw, when it looked: for links and named files.
    /// A plain file known as one from its directory's listing is not
    /// looked up by path again; [`open_file`] takes its size from the open
    /// handle, and [`fill_sizes`] when a total is wanted up front.
    pub size: Option<u64>,
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
}

/// What a walk that handed its files on as it found them (see
/// [`walk_each`]) leaves behind.
#[derive(Debug, Default)]
pub struct Walked {
    /// Files handed on.
    pub files: u64,
    /// What was skipped, in path order.
    pub skipped: Vec<Skipped>,
}

/// `--exclude` in the syntax allowlist paths use: `./config` means `config`
/// at the root (gitignore writes that `/config`; `./` would match nothing).
fn exclude_glob(glob: &str) -> String {
    match glob.strip_prefix("./") {
        Some(rest) => format!("!/{}", rest.trim_start_matches('/')),
        None => format!("!{glob}"),
    }
}

fn root_overrides(root: &Path, opts: &WalkOptions) -> Result<Override, ignore::Error> {
    let mut overrides = OverrideBuilder::new(root);
    for glob in &opts.excludes {
        overrides.add(&exclude_glob(glob))?;
    }
    overrides.build()
}

/// Walks `roots` in parallel and returns the files in path order (see
/// [`walk_each`], which hands them on as it finds them).
///
/// # Errors
///
/// Fails only when an `--exclude` glob is invalid.
pub fn walk(roots: &[PathBuf], opts: &WalkOptions) -> Result<Walk, ignore::Error> {
    let files = Mutex::new(Vec::new());
    let walked = walk_each(roots, opts, &|f| files.lock().unwrap().push(f))?;
    let mut files = files.into_inner().unwrap();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Walk {
        files,
        skipped: walked.skipped,
    })
}

/// Walks `roots` in parallel and hands each file to `on_file` as soon as it
/// is found, on the walk's threads, so that reading and scanning need not
/// wait for the walk to end. Hidden files are included (secrets live in
/// `.env` and `.mcp.json`); `.git` directories never are. A path reached from
/// two overlapping roots is handed on once.
///
/// # Errors
///
/// Fails only when an `--exclude` glob is invalid, and then before any file
/// is handed on; unreadable directories and broken links are reported in
/// [`Walked::skipped`].
pub fn walk_each(
    roots: &[PathBuf],
    opts: &WalkOptions,
    on_file: &(dyn Fn(FileEntry) + Sync),
) -> Result<Walked, ignore::Error> {
    let overrides = roots
        .iter()
        .map(|root| root_overrides(root, opts))
        .collect::<Result<Vec<_>, _>>()?;
    // Where followed links may lead: the roots as the file system names them.
    let within: Arc<Vec<PathBuf>> = Arc::new(
        roots
            .iter()
            .filter_map(|r| std::fs::canonicalize(r).ok())
            .collect(),
    );
    // Only overlapping roots (`scan . src`) can reach a path twice.
    let seen = (roots.len() > 1).then(|| Mutex::new(HashSet::new()));
    let handed = AtomicU64::new(0);
    let hand_on = |f: FileEntry| {
        if let Some(seen) = &seen {
            if !seen.lock().unwrap().insert(f.path.clone()) {
                return;
            }
        }
        handed.fetch_add(1, Ordering::Relaxed);
        on_file(f);
    };
    // Ignored paths are found after a root's walk, from what it reached.
    let track = opts.respect_ignore || !opts.excludes.is_empty();
    let mut skipped = Vec::new();
    for (root, overrides) in roots.iter().zip(&overrides) {
        // A symbolic link named on the command line (`keysweep scan .env`)
        // is what the user asked for: read through it. Links met inside a
        // walk are not followed.
        if let Some(size) = linked_file_size(root) {
            if size > opts.max_file_size && !opens_as_archive(root, opts) {
                skipped.push(Skipped {
                    path: root.clone(),
                    reason: SkipReason::TooLarge,
                    detail: format!("{size} bytes"),
                });
            } else {
                hand_on(FileEntry {
                    path: root.clone(),
                    size: Some(size),
                });
            }
            continue;
        }
        let mut found = walk_root(root, opts, overrides, &within, track, &hand_on);
        if track {
            skipped.extend(left_out(root, &mut found, overrides));
        }
        skipped.append(&mut found.skipped);
    }
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Walked {
        files: handed.into_inner(),
        skipped,
    })
}

/// The size of the regular file `p` links to, when `p` is a symbolic link to
/// one.
fn linked_file_size(p: &Path) -> Option<u64> {
    let link = std::fs::symlink_metadata(p).ok()?;
    let target = std::fs::metadata(p).ok()?;
    (link.file_type().is_symlink() && target.is_file()).then_some(target.len())
}

/// What the walk of one root skipped and, when tracked, every path it
/// reached (files and directories), for [`left_out`].
#[derive(Default)]
struct RootWalk {
    reached: Vec<PathBuf>,
    skipped: Vec<Skipped>,
}

/// One walking thread's visitor: hands files on and keeps what it reached
/// and skipped to itself, adding it to the root's tally when the walk ends.
struct Visitor<'a> {
    root: &'a Path,
    opts: &'a WalkOptions,
    track: bool,
    hand_on: &'a (dyn Fn(FileEntry) + Sync),
    local: RootWalk,
    tally: &'a Mutex<RootWalk>,
}

impl ignore::ParallelVisitor for Visitor<'_> {
    fn visit(&mut self, entry: Result<ignore::DirEntry, ignore::Error>) -> WalkState {
        let local = match entry {
            Ok(e) if e.file_type().is_some_and(|t| t.is_dir()) => {
                if self.track {
                    self.local.reached.push(e.into_path());
                }
                return WalkState::Continue;
            }
            Ok(e) => classify(e, self.opts),
            Err(err) => Err(Skipped {
                path: error_path(&err).unwrap_or_else(|| self.root.to_path_buf()),
                reason: if is_loop(&err) {
                    SkipReason::SymlinkLoop
                } else {
                    SkipReason::Unreadable
                },
                detail: io_cause(&err),
            }),
        };
        match local {
            Ok(f) => {
                if self.track {
                    self.local.reached.push(f.path.clone());
                }
                (self.hand_on)(f);
            }
            Err(s) => self.local.skipped.push(s),
        }
        WalkState::Continue
    }
}

impl Drop for Visitor<'_> {
    fn drop(&mut self) {
        let mut tally = self.tally.lock().unwrap_or_else(|e| e.into_inner());
        tally.reached.append(&mut self.local.reached);
        tally.skipped.append(&mut self.local.skipped);
    }
}

struct Visitors<'a> {
    root: &'a Path,
    opts: &'a WalkOptions,
    track: bool,
    hand_on: &'a (dyn Fn(FileEntry) + Sync),
    tally: &'a Mutex<RootWalk>,
}

impl<'s> ignore::ParallelVisitorBuilder<'s> for Visitors<'s> {
    fn build(&mut self) -> Box<dyn ignore::ParallelVisitor + 's> {
        Box::new(Visitor {
            root: self.root,
            opts: self.opts,
            track: self.track,
            hand_on: self.hand_on,
            local: RootWalk::default(),
            tally: self.tally,
        })
    }
}

/// Walks one root in parallel, handing files on; keeps what was reached
/// when `track` is set, for [`left_out`].
fn walk_root(
    root: &Path,
    opts: &WalkOptions,
    overrides: &Override,
    within: &Arc<Vec<PathBuf>>,
    track: bool,
    hand_on: &(dyn Fn(FileEntry) + Sync),
) -> RootWalk {
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
    let tally = Mutex::new(RootWalk::default());
    builder.build_parallel().visit(&mut Visitors {
        root,
        opts,
        track,
        hand_on,
        tally: &tally,
    });
    let mut found = tally.into_inner().unwrap();
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
    // The listing's file type spares a path lookup (`statx`) per file; the
    // size limit is applied to the opened file instead (see `open_file`).
    if !e.path_is_symlink() && e.file_type().is_some_and(|t| t.is_file()) {
        return Ok(FileEntry {
            path: e.into_path(),
            size: None,
        });
    }
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
            size: Some(md.len()),
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
fn left_out(root: &Path, found: &mut RootWalk, overrides: &Override) -> Vec<Skipped> {
    // Keyed by the paths' bytes: both walks join the same root and names,
    // and one hash of the bytes is cheaper than `Path`'s per component.
    let reached: HashSet<std::ffi::OsString> = std::mem::take(&mut found.reached)
        .into_iter()
        .map(PathBuf::into_os_string)
        .chain(
            found
                .skipped
                .iter()
                .map(|s| s.path.clone().into_os_string()),
        )
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
            if reached.contains(e.path().as_os_str()) {
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

/// A file opened for reading, with its size from the handle.
pub struct OpenFile {
    file: std::fs::File,
    path: PathBuf,
    pub size: u64,
}

/// Opens one file and takes its size from the handle (`fstat`): one path
/// lookup per file, where a `stat` before opening costs two. Nothing is read
/// yet, so a caller can refuse a file over a size limit first.
///
/// # Errors
///
/// Returns the I/O error when the file cannot be opened or its size read.
pub fn open_file(path: &Path) -> std::io::Result<OpenFile> {
    let file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    Ok(OpenFile {
        file,
        path: path.to_path_buf(),
        size,
    })
}

impl OpenFile {
    /// Reads (or, from [`MMAP_THRESHOLD`] bytes, maps) the whole file.
    ///
    /// # Errors
    ///
    /// Returns the I/O error when the file cannot be read or mapped.
    pub fn read(self) -> std::io::Result<Blob> {
        use std::io::Read as _;
        let bytes = if self.size >= MMAP_THRESHOLD {
            // SAFETY: the map is read-only and dropped after the scan. A file
            // truncated by another process meanwhile can fault, a risk every
            // mmap-based searcher (ripgrep included) accepts for large files.
            let map = unsafe { memmap2::Mmap::map(&self.file)? };
            Bytes::Mapped(map)
        } else {
            // One byte more than the size (under the map threshold), so a
            // file read whole needs no second allocation.
            let mut buf = Vec::with_capacity(self.size as usize + 1);
            (&self.file).read_to_end(&mut buf)?;
            Bytes::Owned(buf)
        };
        Ok(Blob::new(bytes, Origin::File(self.path)))
    }
}

/// Sets the size of each entry the walk did not look up (see
/// [`FileEntry::size`]), for a total known before scanning; an entry whose
/// size cannot be read counts as empty here and fails when opened.
pub fn fill_sizes(files: &mut [FileEntry]) {
    for f in files.iter_mut().filter(|f| f.size.is_none()) {
        f.size = Some(std::fs::metadata(&f.path).map_or(0, |m| m.len()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> WalkOptions {
        WalkOptions {
            respect_ignore: true,
            excludes: vec!["*.log".to_string()],
            max_file_size: 1024,
            threads: 2,
            archives: super::super::archive::Limits::default(),
            follow_symlinks: false,
        }
    }

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        std::fs::create_dir_all(a.join("b/deep")).unwrap();
        for (path, body) in [
            ("x.txt", "x".to_string()),
            (".ignore", "skip.txt\n".to_string()),
            ("b/y.txt", "y".to_string()),
            ("b/deep/z.txt", "z".to_string()),
            ("b/skip.txt", "ignored".to_string()),
            ("b/run.log", "excluded".to_string()),
            ("b/big.txt", "b".repeat(2048)),
        ] {
            std::fs::write(a.join(path), body).unwrap();
        }
        dir
    }

    fn skips(skipped: &[Skipped], base: &Path) -> Vec<(String, SkipReason)> {
        skipped
            .iter()
            .map(|s| {
                let rel = s.path.strip_prefix(base).unwrap();
                (rel.display().to_string(), s.reason)
            })
            .collect()
    }

    #[test]
    fn overlapping_roots_hand_each_file_on_once() {
        let dir = tree();
        let a = dir.path().join("a");
        let roots = [a.clone(), a.join("b"), a.join("b/y.txt"), a.join("b")];
        let handed = Mutex::new(Vec::new());
        let walked = walk_each(&roots, &opts(), &|f| handed.lock().unwrap().push(f)).unwrap();
        let mut got: Vec<String> = handed
            .into_inner()
            .unwrap()
            .iter()
            .map(|f| f.path.strip_prefix(&a).unwrap().display().to_string())
            .collect();
        got.sort();
        // A file over the size limit is handed on: its size is first read
        // when it is opened (see `open_file`), and the reader refuses it.
        assert_eq!(
            got,
            [".ignore", "b/big.txt", "b/deep/z.txt", "b/y.txt", "x.txt"]
        );
        assert_eq!(walked.files, 5);
        // Each walk of a root counts what it left out, as before the walk
        // handed files on (in path order).
        let once = [
            ("b/run.log", SkipReason::Excluded),
            ("b/skip.txt", SkipReason::Ignored),
        ];
        let mut want: Vec<(String, SkipReason)> = Vec::new();
        for (p, r) in once {
            // Reached from `a` and from `a/b` twice.
            want.extend(std::iter::repeat_n((p.to_string(), r), 3));
        }
        assert_eq!(skips(&walked.skipped, &a), want);
    }

    #[test]
    fn the_collected_walk_equals_the_streamed_one_in_path_order() {
        let dir = tree();
        let root = [dir.path().to_path_buf()];
        let handed = Mutex::new(Vec::new());
        let walked = walk_each(&root, &opts(), &|f| handed.lock().unwrap().push(f.path)).unwrap();
        let walk = walk(&root, &opts()).unwrap();
        let mut handed = handed.into_inner().unwrap();
        handed.sort();
        let collected: Vec<PathBuf> = walk.files.iter().map(|f| f.path.clone()).collect();
        assert_eq!(collected, handed);
        assert_eq!(walked.files, 5);
        assert_eq!(
            skips(&walk.skipped, dir.path()),
            skips(&walked.skipped, dir.path())
        );
        assert_eq!(walk.skipped.len(), 2);
    }

    /// The size comes from the opened file, for the reader to refuse a
    /// file over the limit before reading it; `fill_sizes` gives the walk's
    /// entries theirs when a total is wanted first.
    #[test]
    fn sizes_come_from_the_open_file_or_fill_sizes() {
        let dir = tree();
        let big = dir.path().join("a/b/big.txt");
        assert_eq!(open_file(&big).unwrap().size, 2048);
        let blob = open_file(&big).unwrap().read().unwrap();
        assert_eq!(blob.bytes.len(), 2048);
        let mut files = walk(&[dir.path().to_path_buf()], &opts()).unwrap().files;
        assert!(files.iter().all(|f| f.size.is_none()), "{files:?}");
        fill_sizes(&mut files);
        let sizes: Vec<u64> = files.iter().map(|f| f.size.unwrap()).collect();
        assert!(sizes.contains(&2048) && sizes.contains(&1), "{sizes:?}");
        assert!(open_file(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn a_bad_exclude_glob_fails_before_any_file_is_handed_on() {
        let dir = tree();
        let mut o = opts();
        o.excludes.push("a/{b".to_string());
        let handed = AtomicU64::new(0);
        let roots = [dir.path().join("a/b"), dir.path().join("a")];
        let r = walk_each(&roots, &o, &|_| {
            handed.fetch_add(1, Ordering::Relaxed);
        });
        assert!(r.is_err());
        assert_eq!(handed.into_inner(), 0);
    }
}
