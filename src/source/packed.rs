//! Objects read one at a time, by id, straight from a repository's pack
//! files, for the history walk: every distinct tree of a long history is
//! read, oldest commit first, and pack delta chains run the other way
//! (git stores the newest version whole and older ones as deltas of newer
//! ones). Each read rebuilds the object from the nearest base in a cache
//! and caches every object it rebuilt on the way, so the newer versions the
//! walk asks for next are already there.
//!
//! libgit2 does the same with a delta-base cache fixed at 16 MiB at build
//! time, too small for a large repository's directory trees: git.git's walk
//! spent two fifths of its time inflating deltas again. Here the cache is
//! the caller's to size, and inflating is zlib-rs.
//!
//! A reader answers only for objects its packs hold and resolve on their
//! own. Anything else (loose objects, alternates, a REF delta whose base is
//! in another pack, damaged data) is [`Read::Elsewhere`], and the caller
//! reads it through libgit2, which reports what is wrong with it.
//!
//! # Costs
//!
//! A read is a binary search in each pack's index until one holds the id,
//! then one inflate per entry of the delta chain below the nearest cached
//! base, and one delta application each. Memory: the cache's budget, plus
//! the object being rebuilt.

use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use gix_pack::data::entry::Header;

/// No object or delta rebuilt here may be larger: the walk reads trees and
/// commits, and one this large is either hostile or so rare that libgit2
/// may read it instead.
const ALLOC_LIMIT: u64 = 64 << 20;

/// Delta chains longer than this are not followed (git writes at most 50
/// by default, 250 with `--aggressive`); a REF delta cycle ends here too.
const MAX_CHAIN: usize = 10_000;

/// The kind of a packed object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectKind {
    Commit,
    Tree,
    Blob,
    Tag,
}

/// What [`Reader::read`] found.
pub enum Read {
    /// The object, rebuilt from the packs.
    Found(ObjectKind, Rc<Vec<u8>>),
    /// Not in these packs, or not readable from them alone.
    Elsewhere,
}

/// One pack: its index and its data, mapped.
struct OnePack {
    path: PathBuf,
    index: gix_pack::index::File,
    data: super::pack::Pages,
}

/// The packs of one repository, opened once and shared by the walking
/// threads, each through its own [`Reader`].
pub struct Packs(Vec<OnePack>);

impl Packs {
    /// Opens the packs of the object directory of `git_dir`. A pack that
    /// does not open is left out (its objects are then read through
    /// libgit2, which reports the damage).
    pub fn open(git_dir: &Path) -> Arc<Packs> {
        let packs = super::pack::pack_indexes(git_dir)
            .into_iter()
            .filter_map(|idx| {
                let index = gix_pack::index::File::at(&idx, gix_hash::Kind::Sha1).ok()?;
                let path = idx.with_extension("pack");
                let data = super::pack::Pages::open(&path).ok()?;
                Some(OnePack { path, index, data })
            })
            .collect();
        Arc::new(Packs(packs))
    }

    /// The pack files, in the order they are searched.
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.0.iter().map(|p| p.path.as_path())
    }
}

/// Compressed bytes a [`Reader`] inflates between two releases of the
/// pack maps' resident pages: the walk's trees lie scattered among the
/// blobs, so the pages it touches would otherwise soon hold most of the
/// pack in this process (they stay in the page cache).
const RELEASE_EVERY: usize = 4 << 20;

/// A thread's reader over shared [`Packs`], with its own base cache.
pub struct Reader {
    packs: Arc<Packs>,
    cache: Cache,
    inflate: gix_zlib::Inflate,
    delta: Vec<u8>,
    chain: Vec<(u64, gix_pack::data::Entry)>,
    /// Compressed bytes inflated since the maps' pages were last released.
    inflated: usize,
}

impl Reader {
    /// A reader whose cache holds up to `budget` bytes of rebuilt objects.
    pub fn new(packs: Arc<Packs>, budget: usize) -> Reader {
        Reader {
            packs,
            cache: Cache::new(budget),
            inflate: gix_zlib::Inflate::default(),
            delta: Vec::new(),
            chain: Vec::new(),
            inflated: 0,
        }
    }

    /// The object `id` (20 raw bytes, SHA-1), or [`Read::Elsewhere`].
    pub fn read(&mut self, id: &[u8; 20]) -> Read {
        let oid = gix_hash::oid::from_bytes_unchecked(id);
        let at = self.packs.0.iter().enumerate().find_map(|(p, pack)| {
            let i = pack.index.lookup(oid)?;
            Some((p, pack.index.pack_offset_at_index(i)))
        });
        match at.and_then(|(p, offset)| self.resolve(p, offset).ok()) {
            Some((kind, data)) => Read::Found(kind, data),
            None => Read::Elsewhere,
        }
    }

    /// Rebuilds the object at `offset` in pack `p`: down its chain to a
    /// cached or whole base, then up again, caching each object rebuilt.
    fn resolve(
        &mut self,
        p: usize,
        offset: u64,
    ) -> Result<(ObjectKind, Rc<Vec<u8>>), &'static str> {
        let packs = Arc::clone(&self.packs);
        let pack = &packs.0[p];
        self.chain.clear();
        let mut at = offset;
        let (kind, mut base) = loop {
            if let Some(hit) = self.cache.get(p, at) {
                break hit;
            }
            if self.chain.len() >= MAX_CHAIN {
                return Err("delta chain too long");
            }
            let entry = entry_at(pack, at)?;
            let kind = match entry.header {
                Header::OfsDelta { base_distance } => {
                    let base = Header::verified_base_pack_offset(at, base_distance)
                        .ok_or("delta base before the pack's start")?;
                    self.chain.push((at, entry));
                    at = base;
                    continue;
                }
                Header::RefDelta { base_id } => {
                    let i = pack.index.lookup(base_id).ok_or("delta base in no pack")?;
                    self.chain.push((at, entry));
                    at = pack.index.pack_offset_at_index(i);
                    continue;
                }
                Header::Commit => ObjectKind::Commit,
                Header::Tree => ObjectKind::Tree,
                Header::Blob => ObjectKind::Blob,
                Header::Tag => ObjectKind::Tag,
            };
            let mut whole = Vec::new();
            self.inflated += inflate_entry(&mut self.inflate, pack, at, &entry, &mut whole)?;
            let whole = Rc::new(whole);
            self.cache.put(p, at, kind, Rc::clone(&whole));
            break (kind, whole);
        };
        while let Some((at, entry)) = self.chain.pop() {
            self.inflated += inflate_entry(&mut self.inflate, pack, at, &entry, &mut self.delta)?;
            let rebuilt = Rc::new(apply_delta(&base, &self.delta)?);
            self.cache.put(p, at, kind, Rc::clone(&rebuilt));
            base = rebuilt;
        }
        if self.inflated >= RELEASE_EVERY {
            self.inflated = 0;
            pack.data.release();
        }
        Ok((kind, base))
    }
}

/// The entry header at `offset` in `pack`.
fn entry_at(pack: &OnePack, offset: u64) -> Result<gix_pack::data::Entry, &'static str> {
    let start = usize::try_from(offset).map_err(|_| "offset out of range")?;
    // A header is at most 10 bytes of size, then a 20-byte base id or up
    // to 10 bytes of distance.
    let data = pack.data.bytes();
    let end = data.len().min(start.saturating_add(64));
    let bytes = data.get(start..end).ok_or("entry past the pack's end")?;
    gix_pack::data::Entry::from_bytes(bytes, offset, gix_hash::Kind::Sha1)
        .map_err(|_| "entry header does not parse")
}

/// Inflates the data of `entry` (at `offset`) into `out`, which it sizes;
/// the compressed bytes it took.
fn inflate_entry(
    inflate: &mut gix_zlib::Inflate,
    pack: &OnePack,
    offset: u64,
    entry: &gix_pack::data::Entry,
    out: &mut Vec<u8>,
) -> Result<usize, &'static str> {
    if entry.decompressed_size > ALLOC_LIMIT {
        return Err("entry larger than the allocation limit");
    }
    let size = entry.decompressed_size as usize;
    let start = usize::try_from(offset).map_err(|_| "offset out of range")? + entry.header_size();
    let compressed = pack
        .data
        .bytes()
        .get(start..)
        .ok_or("entry past the pack's end")?;
    out.clear();
    out.resize(size, 0);
    inflate.reset();
    match inflate.once(compressed, out) {
        Ok((gix_zlib::Status::StreamEnd, taken, written)) if written == size => Ok(taken),
        _ => Err("entry does not inflate to its size"),
    }
}

/// Reads a delta header's size: little-endian groups of 7 bits.
fn delta_size(d: &[u8], at: &mut usize) -> Result<u64, &'static str> {
    let mut size = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *d.get(*at).ok_or("delta header truncated")?;
        *at += 1;
        size |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(size);
        }
    }
    Err("delta header size too long")
}

/// The object `delta` (git's delta format) makes of `base`. Every copy is
/// checked against the base and the result against the size the delta
/// declares.
fn apply_delta(base: &[u8], delta: &[u8]) -> Result<Vec<u8>, &'static str> {
    let mut i = 0;
    if delta_size(delta, &mut i)? != base.len() as u64 {
        return Err("delta base size mismatch");
    }
    let size = delta_size(delta, &mut i)?;
    if size > ALLOC_LIMIT {
        return Err("delta result larger than the allocation limit");
    }
    let mut out = Vec::with_capacity(size as usize);
    while let Some(&cmd) = delta.get(i) {
        i += 1;
        if cmd & 0x80 != 0 {
            // Which of four offset bytes and three size bytes follow.
            let mut field = |bits: u8, count: usize| -> Result<usize, &'static str> {
                let mut v = 0usize;
                for k in 0..count {
                    if cmd & (bits << k) != 0 {
                        v |= usize::from(*delta.get(i).ok_or("delta copy truncated")?) << (8 * k);
                        i += 1;
                    }
                }
                Ok(v)
            };
            let from = field(0x01, 4)?;
            let len = match field(0x10, 3)? {
                0 => 0x10000,
                n => n,
            };
            let copied = from
                .checked_add(len)
                .and_then(|end| base.get(from..end))
                .ok_or("delta copy past the base's end")?;
            out.extend_from_slice(copied);
        } else if cmd != 0 {
            let inserted = delta
                .get(i..i + usize::from(cmd))
                .ok_or("delta insert truncated")?;
            out.extend_from_slice(inserted);
            i += usize::from(cmd);
        } else {
            return Err("delta command 0 is reserved");
        }
        if out.len() as u64 > size {
            return Err("delta result longer than declared");
        }
    }
    if out.len() as u64 != size {
        return Err("delta result shorter than declared");
    }
    Ok(out)
}

/// A rebuilt object, shared by the cache and the reader's caller.
type Object = (ObjectKind, Rc<Vec<u8>>);

/// Rebuilt objects by (pack, offset), least recently used first out, up to
/// a byte budget. An object larger than an eighth of the budget is not
/// kept: it would push out the many small trees a walk reuses.
struct Cache {
    /// By (pack, offset).
    map: hashlink::LruCache<(usize, u64), Object>,
    bytes: usize,
    budget: usize,
}

impl Cache {
    fn new(budget: usize) -> Cache {
        Cache {
            map: hashlink::LruCache::new_unbounded(),
            bytes: 0,
            budget,
        }
    }

    fn get(&mut self, p: usize, offset: u64) -> Option<Object> {
        self.map.get(&(p, offset)).map(|(k, d)| (*k, Rc::clone(d)))
    }

    fn put(&mut self, p: usize, offset: u64, kind: ObjectKind, data: Rc<Vec<u8>>) {
        if data.len() > self.budget / 8 {
            return;
        }
        self.bytes += data.len();
        if let Some((_, old)) = self.map.insert((p, offset), (kind, data)) {
            self.bytes -= old.len();
        }
        while self.bytes > self.budget {
            match self.map.remove_lru() {
                Some((_, (_, old))) => self.bytes -= old.len(),
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::git::tests::git;
    use crate::source::pack::tests::{
        delta as keep_then_insert, object_id, pack_entry, write_pack,
    };

    /// A repository of 60 commits editing two files and a subdirectory,
    /// repacked with deep delta chains; every object's id.
    fn repacked(dir: &Path) -> Vec<git2::Oid> {
        git(dir, &["init", "-q", "-b", "main"]);
        git(dir, &["config", "user.email", "t@example.com"]);
        git(dir, &["config", "user.name", "t"]);
        std::fs::create_dir(dir.join("sub")).unwrap();
        let mut text = String::new();
        for i in 0..60 {
            text.push_str(&format!("line {i} of a file that grows\n"));
            std::fs::write(dir.join("a.txt"), &text).unwrap();
            std::fs::write(dir.join(format!("sub/f{}.txt", i % 7)), format!("v{i}")).unwrap();
            git(dir, &["add", "."]);
            git(dir, &["commit", "-q", "-m", &format!("c{i}")]);
        }
        git(dir, &["repack", "-adq", "--depth=250", "--window=250"]);
        let repo = git2::Repository::open(dir).unwrap();
        let mut ids = Vec::new();
        repo.odb()
            .unwrap()
            .foreach(|id| {
                ids.push(*id);
                true
            })
            .unwrap();
        ids
    }

    /// What libgit2 reads for `id`.
    fn libgit2s(repo: &git2::Repository, id: git2::Oid) -> (ObjectKind, Vec<u8>) {
        let odb = repo.odb().unwrap();
        let o = odb.read(id).unwrap();
        let kind = match o.kind() {
            git2::ObjectType::Commit => ObjectKind::Commit,
            git2::ObjectType::Tree => ObjectKind::Tree,
            git2::ObjectType::Blob => ObjectKind::Blob,
            _ => ObjectKind::Tag,
        };
        (kind, o.data().to_vec())
    }

    fn raw(id: git2::Oid) -> [u8; 20] {
        id.as_bytes().try_into().unwrap()
    }

    /// Every packed object, read oldest first and newest first, with no
    /// cache, one that keeps a few trees and one that keeps all: byte for
    /// byte libgit2's. A loose object is elsewhere.
    #[test]
    fn packed_objects_are_libgit2s_with_any_cache() {
        let d = tempfile::tempdir().unwrap();
        let mut ids = repacked(d.path());
        let repo = git2::Repository::open(d.path()).unwrap();
        let packs = Packs::open(repo.path());
        assert_eq!(packs.paths().count(), 1);
        let deltas = String::from_utf8(
            std::process::Command::new("git")
                .args(["verify-pack", "-v"])
                .arg(packs.paths().next().unwrap())
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        // The case is real: chains many deltas deep.
        assert!(deltas.contains("chain length = 20"), "{deltas}");
        for budget in [0, 4 << 10, 16 << 20] {
            for _ in 0..2 {
                let mut r = Reader::new(Arc::clone(&packs), budget);
                for &id in &ids {
                    match r.read(&raw(id)) {
                        Read::Found(kind, data) => {
                            assert_eq!((kind, data.to_vec()), libgit2s(&repo, id), "{id}")
                        }
                        Read::Elsewhere => panic!("{id} is packed but was not read"),
                    }
                }
                ids.reverse();
            }
        }
        let loose = repo.blob(b"a loose blob").unwrap();
        let mut r = Reader::new(packs, 1 << 20);
        assert!(matches!(r.read(&raw(loose)), Read::Elsewhere));
    }

    /// A REF delta written before its base, and a delta of a delta, read
    /// from a hand-made pack.
    #[test]
    fn ref_deltas_resolve_forward_and_down_chains() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("objects/pack");
        std::fs::create_dir_all(&dir).unwrap();
        let base = b"base blob line one\nline two\n".to_vec();
        let base_id = object_id("blob", &base);
        let edited = [&base[..19], b"a new line\n"].concat();
        let edited_id = object_id("blob", &edited);
        let again = [&edited[..19], b"another\n"].concat();
        let entries = [
            pack_entry(
                7,
                Some(&edited_id),
                &keep_then_insert(&edited, 19, b"another\n"),
            ),
            pack_entry(
                7,
                Some(&base_id),
                &keep_then_insert(&base, 19, b"a new line\n"),
            ),
            pack_entry(3, None, &base),
        ];
        write_pack(&dir, &entries);
        let mut r = Reader::new(Packs::open(d.path()), 1 << 20);
        for want in [again, edited, base] {
            let id: [u8; 20] = object_id("blob", &want).as_slice().try_into().unwrap();
            match r.read(&id) {
                Read::Found(ObjectKind::Blob, data) => assert_eq!(*data, want),
                _ => panic!("not read: {}", String::from_utf8_lossy(&want)),
            }
        }
    }

    /// A pack cut short, as by a full disk: what lies before the cut is
    /// read right, the rest is elsewhere (libgit2 then names the damage);
    /// nothing panics or reads wrong.
    #[test]
    fn a_truncated_pack_reads_right_or_elsewhere() {
        let d = tempfile::tempdir().unwrap();
        let ids = repacked(d.path());
        let repo = git2::Repository::open(d.path()).unwrap();
        let want: Vec<_> = ids.iter().map(|&id| libgit2s(&repo, id)).collect();
        let pack = Packs::open(repo.path())
            .paths()
            .next()
            .unwrap()
            .to_path_buf();
        let bytes = std::fs::read(&pack).unwrap();
        for cut in [bytes.len() / 3, bytes.len() / 2, bytes.len() - 30] {
            std::fs::write(&pack, &bytes[..cut]).unwrap();
            let mut r = Reader::new(Packs::open(repo.path()), 4 << 10);
            let mut found = 0;
            for (&id, want) in ids.iter().zip(&want) {
                if let Read::Found(kind, data) = r.read(&raw(id)) {
                    assert_eq!(&(kind, data.to_vec()), want, "{id} after a cut at {cut}");
                    found += 1;
                }
            }
            assert!(
                found > 0 && found < ids.len(),
                "{found} of {} read",
                ids.len()
            );
        }
    }

    /// A git delta: the header sizes, then the given instructions.
    fn delta(base_len: usize, result_len: usize, ops: &[u8]) -> Vec<u8> {
        let mut d = Vec::new();
        for mut n in [base_len, result_len] {
            loop {
                let b = (n & 0x7f) as u8;
                n >>= 7;
                if n == 0 {
                    d.push(b);
                    break;
                }
                d.push(b | 0x80);
            }
        }
        d.extend_from_slice(ops);
        d
    }

    #[test]
    fn deltas_apply_as_the_format_says() {
        let base = b"0123456789abcdef";
        // copy 4 bytes from offset 2, insert "XY", copy 3 bytes from 13.
        let ops = [0x91, 2, 4, 2, b'X', b'Y', 0x91, 13, 3];
        let d = delta(base.len(), 9, &ops);
        assert_eq!(apply_delta(base, &d).unwrap(), b"2345XYdef");
        // A copy with no size bytes copies 0x10000 bytes.
        let big = vec![7u8; 0x10000];
        let d = delta(big.len(), 0x10000, &[0x80]);
        assert_eq!(apply_delta(&big, &d).unwrap(), big);
    }

    #[test]
    fn hostile_deltas_are_refused() {
        let base = b"0123456789";
        let cases: [(&str, Vec<u8>); 7] = [
            ("base size", delta(9, 1, &[1, b'a'])),
            ("copy past the end", delta(10, 4, &[0x91, 8, 4])),
            ("copy truncated", delta(10, 4, &[0x91, 8])),
            ("insert truncated", delta(10, 4, &[4, b'a'])),
            ("reserved command", delta(10, 1, &[0])),
            ("longer than declared", delta(10, 1, &[2, b'a', b'b'])),
            ("shorter than declared", delta(10, 3, &[1, b'a'])),
        ];
        for (what, d) in cases {
            assert!(apply_delta(base, &d).is_err(), "{what}");
        }
        // A declared size past the limit is refused before any allocation.
        let mut d = delta(10, 0, &[]);
        d.truncate(1);
        d.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x01]);
        assert!(apply_delta(base, &d).is_err());
        // A size that runs on past 64 bits.
        let endless = vec![0xff; 12];
        assert!(apply_delta(base, &endless).is_err());
    }

    #[test]
    fn the_cache_keeps_to_its_budget_least_recently_used_out() {
        let mut c = Cache::new(800);
        let obj = |n: usize| Rc::new(vec![0u8; n]);
        for i in 0..8 {
            c.put(0, i, ObjectKind::Tree, obj(100));
        }
        assert_eq!(c.bytes, 800);
        // Reading 0 makes 1 the least recently used.
        assert!(c.get(0, 0).is_some());
        c.put(0, 8, ObjectKind::Tree, obj(100));
        assert!(c.get(0, 1).is_none());
        assert!(c.get(0, 0).is_some() && c.get(0, 8).is_some());
        assert_eq!(c.bytes, 800);
        // Too large for the cache: not kept, nothing pushed out.
        c.put(0, 9, ObjectKind::Blob, obj(101));
        assert!(c.get(0, 9).is_none());
        assert_eq!(c.bytes, 800);
        // The same key again replaces, counted once.
        c.put(0, 8, ObjectKind::Tree, obj(50));
        assert_eq!(c.bytes, 750);
        // Other packs' offsets are other keys.
        assert!(c.get(1, 0).is_none());
    }
}
