//! Reading blobs and commits straight from a repository's pack files in
//! delta-tree order (issue 15): each base is inflated once and each delta
//! applied once to a base still in memory, as `git index-pack` does, instead
//! of one libgit2 lookup per object that rebuilds its whole delta chain
//! through a cache.
//!
//! Only what the packs hold is visited: loose objects, objects in alternates
//! and packs that do not resolve on their own (thin packs) are left to the
//! caller, which reads whatever was not visited by id.
//!
//! # Costs
//!
//! Every object of every pack is inflated (commits and trees too: they can be
//! delta bases). Memory holds one entry per object plus the bases of the
//! delta chains being resolved.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use git2::Oid;
use gix_pack::cache::delta::{traverse, Tree};
use gix_pack::data::entry::Header;
use gix_pack::data::EntryRange;
use gix_utils::progress::Discard;

/// No single object or delta buffer may grow past this: a hostile pack that
/// claims a huge object fails (and its blobs are read by id, where
/// `--max-file-size` applies) instead of exhausting memory.
const ALLOC_LIMIT: usize = 1 << 30;

/// A pack that could not be read or resolved.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct PackError {
    pub path: PathBuf,
    pub message: String,
}

impl PackError {
    fn new(path: &Path, e: impl std::fmt::Display) -> PackError {
        PackError {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    }
}

/// The pack index files (`*.idx`) of the object directory of `git_dir`, in
/// name order.
pub fn pack_indexes(git_dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(git_dir.join("objects").join("pack"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| e == "idx") && p.with_extension("pack").is_file());
    v.sort();
    v
}

/// Bytes of compressed pack data handed to the traversal between two
/// releases of the map's resident pages (see [`Pages`]).
const RELEASE_EVERY: usize = 64 << 20;

/// The pack file's bytes, mapped read-only. The traversal reads every entry
/// once, scattered over the whole file, so a plain map would end up with the
/// whole pack resident in this process (317 MB for git.git, most of the
/// peak); every [`RELEASE_EVERY`] bytes read the map's pages are dropped from
/// the process again. They stay in the page cache, so one read again later
/// faults back in without I/O.
struct Pages {
    map: memmap2::Mmap,
    read: AtomicUsize,
}

impl Pages {
    fn open(path: &Path) -> Result<Pages, PackError> {
        let file = std::fs::File::open(path).map_err(|e| PackError::new(path, e))?;
        // SAFETY: the map is only read; a pack file is never rewritten in
        // place by git (it writes a new pack and renames it).
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| PackError::new(path, e))?;
        Ok(Pages {
            map,
            read: AtomicUsize::new(0),
        })
    }

    fn entry(&self, range: EntryRange) -> Option<&[u8]> {
        let bytes = self
            .map
            .get(usize::try_from(range.start).ok()?..usize::try_from(range.end).ok()?)?;
        let before = self.read.fetch_add(bytes.len(), Ordering::Relaxed);
        if before / RELEASE_EVERY != (before + bytes.len()) / RELEASE_EVERY {
            self.release();
        }
        Some(bytes)
    }

    fn release(&self) {
        #[cfg(unix)]
        // SAFETY: a private read-only file mapping that nothing wrote to:
        // dropped pages fault back in with the file's bytes, so slices other
        // threads hold keep reading the same content.
        let _ = unsafe {
            self.map
                .unchecked_advise(memmap2::UncheckedAdvice::DontNeed)
        };
    }
}

/// One pack's delta tree, built from its index and entry headers: the
/// first half of [`for_each_object`], which can run while the commits are
/// still being walked.
pub struct Pack {
    pack_path: PathBuf,
    tree: Tree<gix_pack::index::Entry>,
}

impl Pack {
    /// Reads the index at `idx` and the headers of its pack.
    ///
    /// # Errors
    ///
    /// Fails, naming the file, when the index or pack does not open or parse,
    /// or a REF delta names a base outside the pack (a thin pack).
    pub fn open(idx: &Path) -> Result<Pack, PackError> {
        let kind = gix_hash::Kind::Sha1;
        let index = gix_pack::index::File::at(idx, kind).map_err(|e| PackError::new(idx, e))?;
        let pack_path = idx.with_extension("pack");
        let mut entries: Vec<_> = index.iter().collect();
        entries.sort_by_key(|e| e.pack_offset);
        let stop = AtomicBool::new(false);
        let tree = Tree::from_offsets_in_pack(
            &pack_path,
            entries.into_iter(),
            &|e| e.pack_offset,
            &|id| Ok(index.lookup(id).map(|i| index.pack_offset_at_index(i))),
            &mut Discard,
            &stop,
            kind,
        )
        .map_err(|e| PackError::new(&pack_path, e))?;
        Ok(Pack { pack_path, tree })
    }

    /// Calls `visit` with the kind, id and content of every blob and commit
    /// in the pack, on `threads` threads, in delta-tree order. `visit` is
    /// cloned once per thread, so per-thread state (scratch buffers) lives
    /// in it. (Commits are inflated anyway, as delta bases: their messages
    /// cost nothing more to hand over here.)
    ///
    /// # Errors
    ///
    /// Fails, naming the pack, when a delta does not resolve (a base outside
    /// the pack, corrupt data). Blobs visited before the failure stay
    /// visited.
    pub fn for_each_object<V>(self, threads: usize, visit: V) -> Result<(), PackError>
    where
        V: FnMut(Kind, Oid, &[u8]) + Send + Clone,
    {
        let pack_path = self.pack_path;
        let pages = Pages::open(&pack_path)?;
        // The trailing checksum is no entry.
        let end = pages
            .map
            .len()
            .checked_sub(20)
            .ok_or_else(|| PackError::new(&pack_path, "truncated pack"))?;
        let stop = AtomicBool::new(false);
        let mut visit = visit;
        self.tree
            .traverse(
                |slice, pages: &Pages| pages.entry(slice),
                &pages,
                end as u64,
                move |entry, _progress, ctx: traverse::Context<'_>| {
                    // A resolved delta carries its base's kind.
                    let kind = match ctx.entry.header {
                        Header::Blob => Kind::Blob,
                        Header::Commit => Kind::Commit,
                        _ => return Ok(()),
                    };
                    if let Ok(oid) = Oid::from_bytes(entry.oid.as_slice()) {
                        visit(kind, oid, ctx.decompressed);
                    }
                    Ok(())
                },
                traverse::Options {
                    object_progress: Box::new(Discard),
                    size_progress: &mut Discard,
                    thread_limit: Some(threads.max(1)),
                    should_interrupt: &stop,
                    object_hash: gix_hash::Kind::Sha1,
                    alloc_limit_bytes: Some(ALLOC_LIMIT),
                },
            )
            .map_err(|e| PackError::new(&pack_path, e))?;
        Ok(())
    }
}

/// What [`Pack::for_each_object`] hands over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Blob,
    Commit,
}

/// Calls `visit` with the kind, id and content of every blob and commit in
/// the pack whose index is `idx`: [`Pack::open`] then
/// [`Pack::for_each_object`].
///
/// # Errors
///
/// As those two.
pub fn for_each_object<V>(idx: &Path, threads: usize, visit: V) -> Result<(), PackError>
where
    V: FnMut(Kind, Oid, &[u8]) + Send + Clone,
{
    Pack::open(idx)?.for_each_object(threads, visit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::git::tests::git;
    use std::collections::HashMap;
    use std::sync::Mutex;

    /// Blobs and commits read from the pack in delta order are byte for
    /// byte what libgit2 reads by id, deltas of deltas included.
    #[test]
    fn pack_objects_match_libgit2() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path();
        git(dir, &["init", "-q", "-b", "main"]);
        git(dir, &["config", "user.email", "t@example.com"]);
        git(dir, &["config", "user.name", "t"]);
        let mut text = String::new();
        for i in 0..40 {
            for j in 0..30 {
                text.push_str(&format!(
                    "line {j} of a file that changes a little {}\n",
                    j * i
                ));
            }
            std::fs::write(dir.join("f.txt"), &text).unwrap();
            git(dir, &["add", "."]);
            git(dir, &["commit", "-q", "-m", &format!("c{i}")]);
        }
        git(dir, &["gc", "-q", "--aggressive"]);
        let git_dir = dir.join(".git");
        let idx = pack_indexes(&git_dir);
        assert_eq!(idx.len(), 1);
        let seen = Mutex::new(HashMap::new());
        for_each_object(&idx[0], 2, |kind, oid, content| {
            seen.lock().unwrap().insert(oid, (kind, content.to_vec()));
        })
        .unwrap();
        let seen = seen.into_inner().unwrap();
        let count = |k| seen.values().filter(|(kind, _)| *kind == k).count();
        assert_eq!((count(Kind::Blob), count(Kind::Commit)), (40, 40));
        let repo = git2::Repository::open(&git_dir).unwrap();
        let odb = repo.odb().unwrap();
        for (oid, (kind, content)) in &seen {
            let object = odb.read(*oid).unwrap();
            let want = match kind {
                Kind::Blob => git2::ObjectType::Blob,
                Kind::Commit => git2::ObjectType::Commit,
            };
            assert_eq!(object.kind(), want);
            assert_eq!(object.data(), &content[..]);
        }
    }
}
