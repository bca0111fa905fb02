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
//! Every blob and commit of every pack is inflated, with every delta base
//! they need; trees and tags, whose delta trees never hold a blob or commit,
//! are not (see [`entries_to_resolve`]). Every entry's header is read twice:
//! once to tell its kind, once to build the delta tree. Memory holds one
//! entry per object plus the bases of the delta chains being resolved.

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
pub(crate) struct Pages {
    map: memmap2::Mmap,
    read: AtomicUsize,
}

impl Pages {
    pub(crate) fn open(path: &Path) -> Result<Pages, PackError> {
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

    /// Drops the resident pages each time a sequential read passes a
    /// multiple of [`RELEASE_EVERY`] (`at` is the reader's position).
    fn release_every(&self, at: usize) {
        let before = self.read.swap(at, Ordering::Relaxed);
        if before / RELEASE_EVERY != at / RELEASE_EVERY {
            self.release();
        }
    }

    /// The pack's bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// Drops the map's resident pages from this process.
    pub(crate) fn release(&self) {
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

/// One pack's delta tree of blobs and commits, built from its index and
/// entry headers: [`Pack::open`] can run while the commits are still being
/// walked, then [`Pack::for_each_object`] resolves it.
pub struct Pack {
    pub pack_path: PathBuf,
    pages: Pages,
    tree: Tree<gix_pack::index::Entry>,
    /// Entries in the tree: blobs, commits, and deltas of unknown kind.
    pub entries: usize,
    /// Tree and tag entries left out of it.
    pub left_out: usize,
}

/// What an entry resolves to, as far as its header and its base's tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Resolves {
    /// A blob or commit, or a base of one: resolved.
    Wanted,
    /// A tree or tag (trees are read by the walk, tags are not scanned).
    Other,
    /// A delta whose base's kind was not known yet where it was met.
    Pending,
    /// On the chain being settled.
    Visiting,
    /// A delta whose base lies outside the pack or forms a cycle: kept, so
    /// that building the delta tree reports it.
    Unknown,
}

/// Settles every [`Resolves::Pending`] entry, whose base is `base[i]`, as
/// the first settled entry down its chain of bases (REF deltas may name a
/// base further on in the pack); a chain that comes back on itself is
/// [`Resolves::Unknown`]. Each entry is visited once.
fn settle(resolves: &mut [Resolves], base: &[usize]) {
    let mut chain = Vec::new();
    for i in 0..resolves.len() {
        let mut j = i;
        let settled = loop {
            match resolves[j] {
                Resolves::Pending => {
                    resolves[j] = Resolves::Visiting;
                    chain.push(j);
                    j = base[j];
                }
                // Back on this chain: a cycle, which no base ends.
                Resolves::Visiting => break Resolves::Unknown,
                r => break r,
            }
        };
        for k in chain.drain(..) {
            resolves[k] = settled;
        }
    }
}

/// Of `entries` (sorted by offset), those whose objects are blobs or commits,
/// and the bases they are resolved from; the number left out.
///
/// A delta's object is of its base's kind (the pack format gives it no kind
/// of its own), so every entry of a delta tree is of its root's kind: the
/// delta trees of trees and tags are left out whole, and every base a kept
/// entry needs is kept. Trees are most of what resolving every object
/// costs in a long history (2.6 GB of git.git's 8.3 GB), and the walk reads
/// the trees it needs itself.
///
/// # Time complexity
///
/// One header parse per entry, a binary search per delta's base, and one
/// visit per entry to settle REF deltas whose base comes later.
fn entries_to_resolve(
    pages: &Pages,
    index: &gix_pack::index::File,
    entries: Vec<gix_pack::index::Entry>,
) -> Result<(Vec<gix_pack::index::Entry>, usize), String> {
    use gix_pack::data::entry::Header as H;
    let kind = gix_hash::Kind::Sha1;
    let position = |offset: u64| {
        entries
            .binary_search_by_key(&offset, |e| e.pack_offset)
            .ok()
    };
    let mut resolves = vec![Resolves::Unknown; entries.len()];
    let mut base = vec![usize::MAX; entries.len()];
    for (i, e) in entries.iter().enumerate() {
        let start = usize::try_from(e.pack_offset).map_err(|e| e.to_string())?;
        pages.release_every(start);
        // A header is at most 10 bytes of size, then a base's 20-byte id
        // or up to 10 bytes of distance.
        let bytes = pages
            .map
            .get(start..pages.map.len().min(start + 64))
            .ok_or_else(|| format!("entry at {start} lies past the pack's end"))?;
        let entry = gix_pack::data::Entry::from_bytes(bytes, e.pack_offset, kind)
            .map_err(|err| format!("entry at {start}: {err}"))?;
        let base_at = match entry.header {
            H::Blob | H::Commit => {
                resolves[i] = Resolves::Wanted;
                continue;
            }
            H::Tree | H::Tag => {
                resolves[i] = Resolves::Other;
                continue;
            }
            H::OfsDelta { base_distance } => {
                H::verified_base_pack_offset(e.pack_offset, base_distance).and_then(position)
            }
            H::RefDelta { base_id } => index
                .lookup(base_id.as_ref())
                .map(|k| index.pack_offset_at_index(k))
                .and_then(position),
        };
        if let Some(j) = base_at {
            resolves[i] = if j >= i || resolves[j] == Resolves::Pending {
                Resolves::Pending
            } else {
                resolves[j]
            };
            base[i] = j;
        }
    }
    settle(&mut resolves, &base);
    pages.release();
    pages.read.store(0, Ordering::Relaxed);
    let before = entries.len();
    let kept: Vec<_> = entries
        .into_iter()
        .zip(&resolves)
        .filter(|(_, r)| **r != Resolves::Other)
        .map(|(e, _)| e)
        .collect();
    let left_out = before - kept.len();
    Ok((kept, left_out))
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
        let pages = Pages::open(&pack_path)?;
        let (entries, left_out) = entries_to_resolve(&pages, &index, entries)
            .map_err(|e| PackError::new(&pack_path, e))?;
        let count = entries.len();
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
        Ok(Pack {
            pack_path,
            pages,
            tree,
            entries: count,
            left_out,
        })
    }

    /// Calls `visit` with the kind, id and content of every blob and commit
    /// in the pack, on `threads` threads, in delta-tree order. `visit` is
    /// cloned once per thread, so per-thread state (scratch buffers) lives
    /// in it. Commits are handed over for their messages.
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
        let (pack_path, pages) = (self.pack_path, self.pages);
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

#[cfg(test)]
pub(crate) mod tests {
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
        git(dir, &["tag", "-a", "v1", "-m", "a tag object"]);
        git(dir, &["gc", "-q", "--aggressive"]);
        let git_dir = dir.join(".git");
        let idx = pack_indexes(&git_dir);
        assert_eq!(idx.len(), 1);
        // Exactly the 40 root trees and the tag are left out.
        let pack = Pack::open(&idx[0]).unwrap();
        assert_eq!((pack.entries, pack.left_out), (80, 41));
        let seen = Mutex::new(HashMap::new());
        pack.for_each_object(2, |kind, oid, content| {
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

    /// Chains of bases settle to their first settled entry, forward and
    /// backward, through several pending entries; cycles and self-loops
    /// are unknown, and settled entries stay as they were.
    #[test]
    fn pending_entries_settle_down_their_chains() {
        use Resolves::{Other as O, Pending as P, Unknown as U, Wanted as W};
        let x = usize::MAX;
        let cases: [(&[Resolves], &[usize], &[Resolves]); 6] = [
            (&[W, O, U], &[x, x, x], &[W, O, U]),
            // 0 -> 2 -> 3 (wanted), 1 -> 4 (other).
            (&[P, P, P, W, O], &[2, 4, 3, x, x], &[W, O, W, W, O]),
            // Settled in a later round: 3 -> 0 -> 1 -> 2 (unknown).
            (&[P, P, U, P], &[1, 2, x, 0], &[U, U, U, U]),
            // A cycle 0 -> 1 -> 0, and 2 into it.
            (&[P, P, P, W], &[1, 0, 0, x], &[U, U, U, W]),
            // A self-loop beside a chain.
            (&[P, P, O], &[0, 2, x], &[U, O, O]),
            (&[], &[], &[]),
        ];
        for (start, base, want) in cases {
            let mut got = start.to_vec();
            settle(&mut got, base);
            assert_eq!(got, want, "from {start:?} with bases {base:?}");
        }
    }

    /// A pack entry: its header, a REF delta's base id, then the zlib
    /// stream of `payload`.
    pub(crate) fn pack_entry(
        kind: u8,
        base: Option<&gix_hash::ObjectId>,
        payload: &[u8],
    ) -> Vec<u8> {
        use std::io::Write as _;
        let mut size = payload.len();
        let mut out = vec![(kind << 4) | (size & 15) as u8];
        size >>= 4;
        while size > 0 {
            *out.last_mut().unwrap() |= 0x80;
            out.push((size & 0x7f) as u8);
            size >>= 7;
        }
        if let Some(id) = base {
            out.extend_from_slice(id.as_slice());
        }
        let mut z = flate2::write::ZlibEncoder::new(out, flate2::Compression::default());
        z.write_all(payload).unwrap();
        z.finish().unwrap()
    }

    pub(crate) fn object_id(kind: &str, content: &[u8]) -> gix_hash::ObjectId {
        let mut h = gix_hash::hasher(gix_hash::Kind::Sha1);
        h.update(format!("{kind} {}\0", content.len()).as_bytes());
        h.update(content);
        h.try_finalize().unwrap()
    }

    /// A delta onto `base` (under 128 bytes): its first `keep` bytes, then
    /// `insert`.
    pub(crate) fn delta(base: &[u8], keep: usize, insert: &[u8]) -> Vec<u8> {
        assert!(base.len() < 128 && keep > 0 && keep < 256 && insert.len() < 128);
        let mut d = vec![base.len() as u8, (keep + insert.len()) as u8];
        // Copy from offset 0 (no offset bytes), one size byte.
        d.extend_from_slice(&[0x80 | 0x10, keep as u8]);
        d.push(insert.len() as u8);
        d.extend_from_slice(insert);
        d
    }

    /// Writes `entries` as `test.pack` in `dir` and indexes it with git; the
    /// index's path.
    pub(crate) fn write_pack(dir: &Path, entries: &[Vec<u8>]) -> PathBuf {
        let mut pack = b"PACK\0\0\0\x02".to_vec();
        pack.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        for e in entries {
            pack.extend_from_slice(e);
        }
        let mut h = gix_hash::hasher(gix_hash::Kind::Sha1);
        h.update(&pack);
        pack.extend_from_slice(h.try_finalize().unwrap().as_slice());
        let path = dir.join("test.pack");
        std::fs::write(&path, &pack).unwrap();
        git(dir, &["index-pack", "test.pack"]);
        path.with_extension("idx")
    }

    /// Trees and tags are left out of the delta traversal with their whole
    /// delta trees, also where a REF delta comes before its base in the
    /// pack; blobs and their bases are still all resolved, byte for byte.
    #[test]
    fn trees_are_left_out_and_forward_ref_deltas_still_resolve() {
        let d = tempfile::tempdir().unwrap();
        let blob = b"base blob line one\nline two\n".to_vec();
        let blob_id = object_id("blob", &blob);
        let edited_blob = [&blob[..19], b"a new line\n"].concat();
        let mut tree = b"100644 a\0".to_vec();
        tree.extend_from_slice(blob_id.as_slice());
        let tree_id = object_id("tree", &tree);
        let entries = [
            // A blob delta, a tree delta, then their bases.
            pack_entry(7, Some(&blob_id), &delta(&blob, 19, b"a new line\n")),
            pack_entry(7, Some(&tree_id), &delta(&tree, 8, b"b\0")),
            pack_entry(3, None, &blob),
            pack_entry(2, None, &tree),
        ];
        let p = Pack::open(&write_pack(d.path(), &entries)).unwrap();
        assert_eq!((p.entries, p.left_out), (2, 2));
        let seen = Mutex::new(HashMap::new());
        p.for_each_object(2, |kind, oid, content| {
            seen.lock().unwrap().insert(oid, (kind, content.to_vec()));
        })
        .unwrap();
        let oid = |id: gix_hash::ObjectId| Oid::from_bytes(id.as_slice()).unwrap();
        let want = HashMap::from([
            (oid(blob_id), (Kind::Blob, blob)),
            (
                oid(object_id("blob", &edited_blob)),
                (Kind::Blob, edited_blob),
            ),
        ]);
        assert_eq!(seen.into_inner().unwrap(), want);
    }
}
