//! Git history, blob first: every blob reachable from the selected commits is
//! enumerated once, scanned once in parallel, and only blobs with findings get
//! their provenance (introducing commit, author, whether still present).
//!
//! Enumeration walks commits oldest first and each commit's tree, skipping
//! every tree already visited, so each distinct tree object is read once and the
//! first path and commit recorded for a blob is the one that introduced it.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;
use std::path::Path;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use git2::{ObjectType, Oid, Repository, Sort};
use serde::Serialize;

use super::packed::Packs;
use crate::diag::Messages;

/// What to do about a shallow clone, said wherever its missing history
/// matters.
pub const SHALLOW_FIX: &str = "This repository is a shallow clone, so older commits are not \
    there: fetch them with `git fetch --unshallow` (in GitHub Actions: `actions/checkout` with \
    `fetch-depth: 0`; in GitLab CI: `GIT_DEPTH: 0`)";

type IdSet = HashSet<Oid, BuildHasherDefault<crate::blob::FoldHasher>>;

/// An object id as its 20 raw bytes: compared and hashed in place, where
/// [`Oid`]'s equality is a call into libgit2 (a history walk checks tens of
/// millions of tree entries against the ids already seen).
#[derive(Clone, Copy, PartialEq, Eq)]
struct RawId([u8; 20]);

impl std::hash::Hash for RawId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // SHA-1 output: any eight bytes of it are as good as a hash, and
        // nobody finds ids sharing them on purpose.
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.0[..8]);
        state.write_u64(u64::from_le_bytes(b));
    }
}

impl RawId {
    fn oid(self) -> Oid {
        Oid::from_bytes(&self.0).expect("20 bytes make an id")
    }

    fn of(oid: Oid) -> RawId {
        let mut b = [0u8; 20];
        b.copy_from_slice(oid.as_bytes());
        RawId(b)
    }
}

/// Takes the `u64` that [`RawId`] hashes to as the hash.
#[derive(Default)]
struct TakeU64(u64);

impl std::hash::Hasher for TakeU64 {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

type RawIdSet = HashSet<RawId, BuildHasherDefault<TakeU64>>;

/// The last tree read at each directory path, so the next version of a
/// directory is compared entry by entry with it: an entry byte for byte
/// the same as one of a tree already walked needs no lookup, as its id is
/// seen already. Bounded: past [`LastTrees::BUDGET`] bytes no more
/// directories are remembered (their entries are simply looked up).
#[derive(Default)]
struct LastTrees {
    by_dir: HashMap<String, Vec<u8>>,
    bytes: usize,
}

impl LastTrees {
    const BUDGET: usize = 64 << 20;

    fn take(&mut self, dir: &str) -> Vec<u8> {
        self.by_dir
            .get_mut(dir)
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Remembers `raw` as the last tree at `dir`, reusing `buf`.
    fn put(&mut self, dir: &str, mut buf: Vec<u8>, raw: &[u8]) {
        let had = buf.len();
        if self.bytes + raw.len() > Self::BUDGET + had {
            return;
        }
        self.bytes = self.bytes + raw.len() - had;
        buf.clear();
        buf.extend_from_slice(raw);
        match self.by_dir.get_mut(dir) {
            Some(slot) => *slot = buf,
            None => {
                self.by_dir.insert(dir.to_string(), buf);
            }
        }
    }
}

/// Which history to scan.
#[derive(Debug, Clone, Default)]
pub struct GitOptions {
    /// Refs or revisions to start from; empty means every ref and HEAD.
    pub branches: Vec<String>,
    /// Only commits after this one (exclusive), up to the starting refs.
    pub since_commit: Option<String>,
    /// `A..B`: only commits reachable from B and not from A.
    pub range: Option<String>,
    pub max_file_size: u64,
    pub threads: usize,
    /// Look for keywords only in text not seen before at the same path (see
    /// [`crate::scan::dedupe`]). Off only to compare against a full scan.
    pub dedupe: bool,
    /// Read blobs from the pack files in delta-tree order
    /// ([`crate::source::pack`]) after the commit walk, instead of by id
    /// while it runs, and have the walk read trees and commits from the
    /// packs itself ([`crate::source::packed`]). Same findings; `keysweep
    /// git` turns it on for whole-history scans (the library default stays
    /// off: a caller that wants a few blobs of a large pack is better
    /// served by id).
    pub read_packs: bool,
    /// How far archive blobs (`bundle.zip`, `app.jar`) are opened; members
    /// are reported as `bundle.zip!inner.py` with the archive's commit.
    pub archives: super::archive::Limits,
}

/// One blob and where it first appeared.
#[derive(Clone)]
pub struct Site {
    pub blob: Oid,
    /// Index into [`History::commits`].
    pub commit: u32,
    pub path: String,
}

/// The blobs to scan and what is needed to describe them.
pub struct History {
    /// Commits walked, oldest first.
    pub commits: Vec<Oid>,
    /// Each blob to scan once, at the commit and path that introduced it.
    pub sites: Vec<Site>,
    /// Blobs at each path in the trees of the branch tips.
    pub tip_paths: HashMap<String, Vec<Oid>>,
    pub shallow: bool,
}

impl History {
    pub fn commit_count(&self) -> usize {
        self.commits.len()
    }

    pub fn blob_count(&self) -> usize {
        self.sites.len()
    }

    /// The blobs a history scan will read, each once.
    pub fn blob_ids(&self) -> impl Iterator<Item = Oid> + '_ {
        self.sites.iter().map(|s| s.blob)
    }

    /// Leaves out the blobs `skip` accepts (for a sweep: those scanned by an
    /// earlier run) and returns how many were left out. Findings in the blobs
    /// that remain are still reported at the earliest remaining version of
    /// their file.
    pub fn skip_blobs(&mut self, skip: impl Fn(Oid) -> bool) -> usize {
        let before = self.sites.len();
        self.sites.retain(|s| !skip(s.blob));
        before - self.sites.len()
    }
}

/// Counts from a history scan.
#[derive(Debug, Default, Clone, Serialize)]
pub struct GitSummary {
    pub commits: u64,
    pub blobs: u64,
    /// The repository is a shallow clone: older history is not there to scan.
    pub shallow: bool,
}

/// Bytes of pack files libgit2 may keep mapped at once, in windows of
/// [`PACK_WINDOW`] (its defaults: 8 GiB in 1 GiB windows, so a whole pack
/// stays mapped and every page read stays resident for the whole run).
/// The walk reads commits and trees from all over a pack: with 16 MiB
/// windows under a 96 MiB cap it spent a sixth of its time mapping and
/// unmapping them (git.git). The walk's handle is closed before the packs'
/// blobs are read, so what it mapped does not stay resident past it.
const PACK_MAPS: usize = 1 << 30;
const PACK_WINDOW: usize = 256 << 20;

/// Makes libgit2 unmap pack windows it is not using past [`PACK_MAPS`]
/// bytes, for the rest of the process. Only the pack reading path
/// ([`GitOptions::read_packs`]), which leaves libgit2 the commits and
/// trees, asks for it.
/// Call it before starting threads that read objects.
pub fn limit_pack_maps() {
    static LIMIT: std::sync::Once = std::sync::Once::new();
    // SAFETY: C globals written without a lock, before this run's threads
    // read objects (see above); they bound memory only, not results.
    LIMIT.call_once(|| unsafe {
        let _ = git2::opts::set_mwindow_size(PACK_WINDOW);
        let _ = git2::opts::set_mwindow_mapped_limit(PACK_MAPS);
    });
}

/// Opens a repository (work tree, `.git` dir, bare repo or mirror).
///
/// # Errors
///
/// Fails naming the path when it is not a repository or cannot be opened.
pub fn open(path: &Path) -> anyhow::Result<Repository> {
    // Re-hashing every object read costs a quarter of a history scan; a
    // damaged object still fails to inflate and is reported.
    git2::opts::strict_hash_verification(false);
    // libgit2 keeps up to 256 MiB of parsed objects per process. A history
    // walk reads each tree once and each commit twice, so the cache only
    // costs memory (a quarter of the walk's peak on git.git) and the time
    // to fill and evict it. Packs keep their own delta-base cache, which
    // is what resolving trees needs.
    static CACHE: std::sync::Once = std::sync::Once::new();
    CACHE.call_once(|| git2::opts::enable_caching(false));
    Repository::open(path)
        .map_err(|e| anyhow::anyhow!("{}: not a git repository: {}", path.display(), e.message()))
}

/// Finds the blobs to scan. Objects that cannot be read are reported through
/// `messages` and counted in `errors`; the walk goes on.
///
/// # Errors
///
/// Fails when a given ref, revision or range does not resolve.
pub fn enumerate(
    repo: &Repository,
    opts: &GitOptions,
    messages: &Messages,
    errors: &AtomicU64,
) -> anyhow::Result<History> {
    enumerate_with(repo, opts, messages, errors, None)
}

/// [`enumerate`], also sending each new blob's site to `sink` in batches as
/// it is found (the channel closes when the walk ends), so scanning can start
/// before the walk ends.
pub fn enumerate_with(
    repo: &Repository,
    opts: &GitOptions,
    messages: &Messages,
    errors: &AtomicU64,
    sink: Option<std::sync::mpsc::SyncSender<Vec<Site>>>,
) -> anyhow::Result<History> {
    enumerate_remembering(repo, opts, messages, errors, sink, true)
}

/// [`enumerate_with`]; `remember` whether to compare each directory's
/// trees with its last one ([`LastTrees`]), which changes the cost only.
fn enumerate_remembering(
    repo: &Repository,
    opts: &GitOptions,
    messages: &Messages,
    errors: &AtomicU64,
    sink: Option<std::sync::mpsc::SyncSender<Vec<Site>>>,
    remember: bool,
) -> anyhow::Result<History> {
    let (starts, hidden, tips) = starting_points(repo, opts)?;
    let (mut seen_trees, mut seen_blobs) = reachable_from(repo, &hidden, messages, errors);
    let packs = opts
        .read_packs
        .then(|| super::packed::Packs::open(repo.path()));
    let order = packs
        .as_ref()
        .filter(|_| hidden.is_empty())
        .and_then(|p| order_from_packs(repo, p, &starts))
        .unwrap_or_else(|| commits_to_scan(repo, &starts, &hidden, messages, errors));
    if sink.is_none() && opts.threads > 1 && order.len() >= PARALLEL_WALK_MIN {
        let parts = walk_in_parts(
            repo,
            &order,
            (&seen_trees, &seen_blobs),
            opts.threads,
            opts.threads * WALK_PARTS_PER_THREAD,
            remember,
            packs.as_ref(),
        );
        let (commits, sites) = merge_parts(&order, parts, seen_blobs, messages, errors);
        return Ok(History {
            commits,
            sites,
            tip_paths: tip_paths(repo, tips, messages, errors),
            shallow: repo.is_shallow(),
        });
    }
    let mut last = LastTrees::default();
    let mut batch = Batcher::new(sink);
    let mut commits = Vec::new();
    let mut sites = Vec::new();
    let mut objects = Objects::new(repo, packs);
    for id in order {
        let tree = match commit_tree(repo, &mut objects, id) {
            Ok(t) => t,
            Err(e) => {
                messages.warn(&format!("commit {id}"), e.message());
                errors.fetch_add(1, Ordering::Relaxed);
                continue;
            }
        };
        let idx = commits.len() as u32;
        commits.push(id);
        walk_tree(
            &mut objects,
            tree,
            &mut seen_trees,
            remember.then_some(&mut last),
            &mut warner(messages, errors),
            &mut |id, prefix, name| {
                if seen_blobs.insert(id) {
                    let site = Site {
                        blob: id.oid(),
                        commit: idx,
                        path: join(prefix, name),
                    };
                    batch.push(&site);
                    sites.push(site);
                }
            },
        );
    }

    batch.flush();
    let tip_paths = tip_paths(repo, tips, messages, errors);
    Ok(History {
        commits,
        sites,
        tip_paths,
        shallow: repo.is_shallow(),
    })
}

/// Below this many commits a history is walked on one thread.
const PARALLEL_WALK_MIN: usize = 1000;
/// Parts per walking thread (see [`walk_in_parts`]): each costs a walk of
/// its first commit's whole tree again.
const WALK_PARTS_PER_THREAD: usize = 4;

/// What one thread's walk found at one commit: the blobs new to that
/// thread with their paths, and the objects it could not read, or why the
/// commit itself could not be read.
type CommitWalk = Result<(Vec<(RawId, String)>, Vec<Unreadable>), String>;

/// An object a walk could not read: its id (to report it once), where it
/// was met, and why.
struct Unreadable {
    key: String,
    loc: String,
    why: String,
}

/// Walks `order` (oldest first) in `parts` consecutive parts on `threads`
/// threads, each part on a repository handle of its thread's and with its
/// own seen sets, starting from those of the excluded commits. Parts are
/// taken in order as threads come free: older commits have smaller trees,
/// so equal halves took unequal times (git.git's walk used about 1.4 of
/// 2 cores), and more parts than threads even that out.
///
/// A part finds every blob its commits introduce, plus blobs introduced
/// before it that it meets again (at least its first commit's whole
/// tree); [`merge_parts`] drops those. What a part finds at a commit that
/// one walk over all commits would also find there, it finds at the same
/// path: the trees one walk would skip and a part walks again hold only
/// blobs seen before the part, and walking them moves no other tree in
/// the depth-first order.
fn walk_in_parts(
    repo: &Repository,
    order: &[Oid],
    seen: (&RawIdSet, &RawIdSet),
    threads: usize,
    parts: usize,
    remember: bool,
    packs: Option<&Arc<Packs>>,
) -> Vec<Vec<CommitWalk>> {
    let size = order.len().div_ceil(parts.max(1)).max(1);
    let parts: Vec<&[Oid]> = order.chunks(size).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let walked: Vec<std::sync::OnceLock<Vec<CommitWalk>>> =
        parts.iter().map(|_| std::sync::OnceLock::new()).collect();
    let git_dir = repo.path();
    let walk_part = |repo: &Result<Repository, git2::Error>, part: &[Oid]| -> Vec<CommitWalk> {
        let repo = match repo {
            Ok(r) => r,
            Err(e) => {
                let why = e.message().to_string();
                return part.iter().map(|_| Err(why.clone())).collect();
            }
        };
        let (mut trees, mut blobs) = (seen.0.clone(), seen.1.clone());
        let mut objects = Objects::new(repo, packs.cloned());
        let mut last = LastTrees::default();
        part.iter()
            .map(|&id| {
                let tree =
                    commit_tree(repo, &mut objects, id).map_err(|e| e.message().to_string())?;
                let (mut found, mut bad) = (Vec::new(), Vec::new());
                walk_tree(
                    &mut objects,
                    tree,
                    &mut trees,
                    remember.then_some(&mut last),
                    &mut |loc, why| {
                        bad.push(Unreadable {
                            key: loc.split(' ').take(2).collect::<Vec<_>>().join(" "),
                            loc: loc.to_string(),
                            why: why.to_string(),
                        })
                    },
                    &mut |blob, prefix, name| {
                        if blobs.insert(blob) {
                            found.push((blob, join(prefix, name)));
                        }
                    },
                );
                Ok((found, bad))
            })
            .collect()
    };
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, parts.len().max(1)) {
            scope.spawn(|| {
                let repo = Repository::open(git_dir);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(part) = parts.get(i) else { break };
                    let _ = walked[i].set(walk_part(&repo, part));
                }
            });
        }
    });
    walked
        .into_iter()
        .map(|w| w.into_inner().expect("every part walked"))
        .collect()
}

/// The commits and sites of one walk over `order`, from the parts of
/// [`walk_in_parts`]: each blob at the first commit (and path) any part
/// found it, and each unreadable object or commit warned about and counted
/// once, in commit order.
fn merge_parts(
    order: &[Oid],
    parts: Vec<Vec<CommitWalk>>,
    mut seen_blobs: RawIdSet,
    messages: &Messages,
    errors: &AtomicU64,
) -> (Vec<Oid>, Vec<Site>) {
    let (mut commits, mut sites) = (Vec::new(), Vec::new());
    let mut warned: HashSet<String> = HashSet::new();
    for (&id, walked) in order.iter().zip(parts.into_iter().flatten()) {
        let (found, bad) = match walked {
            Ok(w) => w,
            Err(why) => {
                messages.warn(&format!("commit {id}"), &why);
                errors.fetch_add(1, Ordering::Relaxed);
                continue;
            }
        };
        for b in bad {
            if warned.insert(b.key) {
                messages.warn(&b.loc, &b.why);
                errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        let idx = commits.len() as u32;
        commits.push(id);
        for (blob, path) in found {
            if seen_blobs.insert(blob) {
                sites.push(Site {
                    blob: blob.oid(),
                    commit: idx,
                    path,
                });
            }
        }
    }
    (commits, sites)
}

/// The tree of commit `id`, from the first line of the raw commit (a
/// commit object starts with `tree <hex id>`): parsing the whole commit
/// through libgit2 for it cost an eighth of a walk.
fn commit_tree(repo: &Repository, objects: &mut Objects<'_>, id: Oid) -> Result<Oid, git2::Error> {
    if let Ok(raw) = objects.read(RawId::of(id)) {
        let tree = (raw.kind() == ObjectType::Commit)
            .then(|| raw.data().strip_prefix(b"tree ")?.get(..40))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| Oid::from_str(hex).ok());
        if let Some(tree) = tree {
            return Ok(tree);
        }
    }
    repo.find_commit(id).map(|c| c.tree_id())
}

/// The trees and blobs reachable from `hidden` (excluded) commits: the
/// commits in range do not introduce them.
fn reachable_from(
    repo: &Repository,
    hidden: &[Oid],
    messages: &Messages,
    errors: &AtomicU64,
) -> (RawIdSet, RawIdSet) {
    let mut trees = RawIdSet::default();
    let mut blobs = RawIdSet::default();
    for id in hidden {
        if let Ok(c) = repo.find_commit(*id) {
            walk_tree(
                &mut Objects::new(repo, None),
                c.tree_id(),
                &mut trees,
                None,
                &mut warner(messages, errors),
                &mut |oid, _, _| {
                    blobs.insert(oid);
                },
            );
        }
    }
    (trees, blobs)
}

/// Hands sites to the scan in batches while the walk goes on.
struct Batcher {
    sink: Option<std::sync::mpsc::SyncSender<Vec<Site>>>,
    batch: Vec<Site>,
}

impl Batcher {
    const SIZE: usize = 64;

    fn new(sink: Option<std::sync::mpsc::SyncSender<Vec<Site>>>) -> Batcher {
        Batcher {
            sink,
            batch: Vec::with_capacity(Self::SIZE),
        }
    }

    fn push(&mut self, site: &Site) {
        let Some(tx) = &self.sink else { return };
        self.batch.push(site.clone());
        if self.batch.len() == Self::SIZE {
            // A closed channel means the scan gave up: keep walking so the
            // history is complete for provenance.
            let _ = tx.send(std::mem::replace(
                &mut self.batch,
                Vec::with_capacity(Self::SIZE),
            ));
        }
    }

    fn flush(self) {
        if let (Some(tx), false) = (self.sink, self.batch.is_empty()) {
            let _ = tx.send(self.batch);
        }
    }
}

/// Where the walk starts (`starts`), what it leaves out with everything
/// reachable from it (`hidden`), and the branch tips whose trees tell
/// whether a secret is still present.
fn starting_points(
    repo: &Repository,
    opts: &GitOptions,
) -> anyhow::Result<(Vec<Oid>, Vec<Oid>, Vec<Oid>)> {
    let mut starts = Vec::new();
    let mut hidden = Vec::new();
    let resolve = |spec: &str| resolve(repo, spec);
    let mut tips: Vec<Oid> = Vec::new();
    if let Some(range) = &opts.range {
        let (a, b) = range
            .split_once("..")
            .ok_or_else(|| anyhow::anyhow!("--range {range:?}: expected A..B"))?;
        let a = resolve(a)?;
        let b = resolve(if b.is_empty() { "HEAD" } else { b })?;
        starts.push(b);
        hidden.push(a);
        tips.push(b);
    } else {
        if opts.branches.is_empty() {
            if let Ok(head) = repo.head() {
                starts.extend(head.target());
            }
            for r in repo.references()?.flatten() {
                // Notes are read as notes, on the commits they annotate
                // ([`for_each_attached_text`]), not as files named after commit ids.
                if r.name().is_ok_and(|n| n.starts_with("refs/notes/")) {
                    continue;
                }
                if let Ok(c) = r.peel_to_commit() {
                    starts.push(c.id());
                }
                let is_branch = r.is_branch() || r.is_remote();
                if let (true, Ok(c)) = (is_branch, r.peel_to_commit()) {
                    tips.push(c.id());
                }
            }
            if let Ok(c) = repo.head().and_then(|h| h.peel_to_commit()) {
                tips.push(c.id());
            }
            starts.extend(stash_entries(repo));
        } else {
            for b in &opts.branches {
                let id = resolve(b)?;
                starts.push(id);
                tips.push(id);
            }
        }
        if let Some(since) = &opts.since_commit {
            let id = resolve(since)?;
            hidden.push(id);
        }
    }
    Ok((starts, hidden, tips))
}

/// Every stash entry's commit: `refs/stash` names only the newest, the
/// older ones (`stash@{1}`, …) live only in its reflog. Each stash commit's
/// parents hold the staged and untracked files, so the walk reaches them.
fn stash_entries(repo: &Repository) -> Vec<Oid> {
    let Ok(log) = repo.reflog("refs/stash") else {
        return Vec::new();
    };
    log.iter()
        .map(|e| e.id_new())
        .filter(|id| !id.is_zero() && repo.find_commit(*id).is_ok())
        .collect()
}

/// The commit a revision names. In a shallow clone an unknown revision is
/// usually missing history, and the message says how to fetch it.
fn resolve(repo: &Repository, spec: &str) -> anyhow::Result<Oid> {
    let obj = repo.revparse_single(spec).map_err(|e| {
        if repo.is_shallow() {
            // libgit2 says "parent 0 does not exist": the cause is the
            // missing history, and the fix is to fetch it.
            anyhow::anyhow!("{spec}: unknown revision: {}. {SHALLOW_FIX}", e.message())
        } else {
            anyhow::anyhow!("{spec}: unknown revision: {}", e.message())
        }
    })?;
    let commit = obj
        .peel_to_commit()
        .map_err(|e| anyhow::anyhow!("{spec}: not a commit: {}", e.message()))?;
    Ok(commit.id())
}

/// The blobs at each path in the trees of the branch tips, for telling
/// whether a secret is still present.
fn tip_paths(
    repo: &Repository,
    mut tips: Vec<Oid>,
    messages: &Messages,
    errors: &AtomicU64,
) -> HashMap<String, Vec<Oid>> {
    let mut tip_paths: HashMap<String, Vec<Oid>> = HashMap::new();
    tips.sort();
    tips.dedup();
    for t in tips {
        if let Ok(c) = repo.find_commit(t) {
            // Each tip separately: a subtree shared by two tips may sit at
            // different paths in each.
            let mut tip_trees = RawIdSet::default();
            walk_tree(
                &mut Objects::new(repo, None),
                c.tree_id(),
                &mut tip_trees,
                None,
                &mut warner(messages, errors),
                &mut |id, prefix, name| {
                    let oid = id.oid();
                    let v = tip_paths.entry(join(prefix, name)).or_default();
                    if !v.contains(&oid) {
                        v.push(oid);
                    }
                },
            );
        }
    }
    tip_paths
}

/// [`commits_to_scan`]'s order for a whole history (nothing hidden), from
/// commits read through the packs (see [`super::topo`]); `None` where
/// libgit2 would read parents from elsewhere (a commit-graph file, grafts,
/// a shallow clone's cut) or a commit does not read or parse plainly: the
/// caller then asks libgit2.
fn order_from_packs(repo: &Repository, packs: &Arc<Packs>, starts: &[Oid]) -> Option<Vec<Oid>> {
    let git_dir = repo.path();
    let elsewhere = ["objects/info/commit-graph", "info/grafts", "shallow"];
    if elsewhere.iter().any(|p| git_dir.join(p).exists()) {
        return None;
    }
    let mut objects = Objects::new(repo, Some(packs.clone()));
    super::topo::topological_reverse(starts, |id| {
        let raw = objects.read(RawId::of(id)).ok()?;
        (raw.kind() == ObjectType::Commit)
            .then(|| super::topo::parse_commit(raw.data()))
            .flatten()
    })
}

/// The commits reachable from `starts` and not from `hidden`, parents
/// first. libgit2's sorted walk gives up on the first object it cannot read
/// (and names none): then the commits are walked here, naming and skipping
/// each unreadable one, so one corrupt commit does not hide the rest.
fn commits_to_scan(
    repo: &Repository,
    starts: &[Oid],
    hidden: &[Oid],
    messages: &Messages,
    errors: &AtomicU64,
) -> Vec<Oid> {
    let sorted = (|| -> Result<Vec<Oid>, git2::Error> {
        let mut walk = repo.revwalk()?;
        walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)?;
        for &s in starts {
            walk.push(s)?;
        }
        for &h in hidden {
            walk.hide(h)?;
        }
        walk.collect()
    })();
    match sorted {
        Ok(ids) => ids,
        Err(_) => {
            let mut excluded = IdSet::default();
            parents_first(repo, hidden, &mut excluded, messages, errors);
            let mut seen = excluded;
            parents_first(repo, starts, &mut seen, messages, errors)
        }
    }
}

/// The commits reachable from `starts` not in `seen` (which gains them),
/// each after its parents; unreadable ones are named, counted and skipped.
fn parents_first(
    repo: &Repository,
    starts: &[Oid],
    seen: &mut IdSet,
    messages: &Messages,
    errors: &AtomicU64,
) -> Vec<Oid> {
    let mut order = Vec::new();
    let mut stack: Vec<(Oid, bool)> = starts.iter().rev().map(|&s| (s, false)).collect();
    while let Some((id, parents_done)) = stack.pop() {
        if parents_done {
            order.push(id);
            continue;
        }
        if !seen.insert(id) {
            continue;
        }
        match repo.find_commit(id) {
            Ok(c) => {
                stack.push((id, true));
                stack.extend(c.parent_ids().map(|p| (p, false)));
            }
            Err(e) => {
                messages.warn(
                    &format!("commit {id}"),
                    &format!("cannot be read, skipped: {}", e.message()),
                );
                errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    order
}

/// Bytes of rebuilt trees and commits each walking thread keeps (see
/// [`super::packed`]): room for the versions of every directory of a large
/// history between two reads of it.
const WALK_CACHE: usize = 16 << 20;

/// Where the walk reads trees and commits: the packs first when `packs`
/// is given, libgit2 for whatever they do not hold or cannot rebuild
/// alone (libgit2 then names what is wrong).
struct Objects<'r> {
    odb: Result<git2::Odb<'r>, git2::Error>,
    packed: Option<super::packed::Reader>,
}

/// A raw object as [`Objects::read`] got it.
enum Raw<'r> {
    Packed(ObjectType, Rc<Vec<u8>>),
    Odb(git2::OdbObject<'r>),
}

impl Raw<'_> {
    fn kind(&self) -> ObjectType {
        match self {
            Raw::Packed(k, _) => *k,
            Raw::Odb(o) => o.kind(),
        }
    }

    fn data(&self) -> &[u8] {
        match self {
            Raw::Packed(_, d) => d,
            Raw::Odb(o) => o.data(),
        }
    }
}

impl<'r> Objects<'r> {
    fn new(repo: &'r Repository, packs: Option<Arc<Packs>>) -> Objects<'r> {
        Objects {
            odb: repo.odb(),
            packed: packs.map(|p| super::packed::Reader::new(p, WALK_CACHE)),
        }
    }

    fn read(&mut self, id: RawId) -> Result<Raw<'_>, git2::Error> {
        use super::packed::{ObjectKind, Read};
        if let Some(Read::Found(kind, data)) = self.packed.as_mut().map(|r| r.read(&id.0)) {
            let kind = match kind {
                ObjectKind::Commit => ObjectType::Commit,
                ObjectKind::Tree => ObjectType::Tree,
                ObjectKind::Blob => ObjectType::Blob,
                ObjectKind::Tag => ObjectType::Tag,
            };
            return Ok(Raw::Packed(kind, data));
        }
        match &self.odb {
            Ok(odb) => odb.read(id.oid()).map(Raw::Odb),
            Err(e) => Err(git2::Error::from_str(e.message())),
        }
    }
}

/// Warns about an unreadable object through `messages` and counts it.
fn warner<'a>(messages: &'a Messages, errors: &'a AtomicU64) -> impl FnMut(&str, &str) + 'a {
    move |loc, why| {
        messages.warn(loc, why);
        errors.fetch_add(1, Ordering::Relaxed);
    }
}

/// Visits the blobs of a tree not below an already-seen tree. With `last`,
/// entries unchanged since the last tree read at the same directory are
/// passed over (see [`LastTrees`]): `on_blob` then sees every blob whose id
/// is not in a tree walked before, which is all a history walk needs.
fn walk_tree(
    objects: &mut Objects<'_>,
    root: Oid,
    seen: &mut RawIdSet,
    mut last: Option<&mut LastTrees>,
    warn: &mut dyn FnMut(&str, &str),
    on_blob: &mut dyn FnMut(RawId, &str, &[u8]),
) {
    let mut stack = vec![(RawId::of(root), String::new())];
    while let Some((id, prefix)) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        // Raw tree bytes parsed here: libgit2's tree objects allocate per
        // entry, and history walks read every distinct tree.
        let raw = match objects.read(id) {
            Ok(o) if o.kind() == ObjectType::Tree => o,
            Ok(_) => continue,
            Err(e) => {
                let id = id.oid();
                let loc = if prefix.is_empty() {
                    format!("tree {id}")
                } else {
                    format!("tree {id} ({prefix})")
                };
                warn(&loc, e.message());
                continue;
            }
        };
        let before = last
            .as_deref_mut()
            .map(|l| l.take(&prefix))
            .unwrap_or_default();
        let mut old = &before[..];
        let data = raw.data();
        let same_tail = common_suffix(data, &before);
        let mut entries = TreeEntries(data);
        loop {
            // Once the rest of this tree is, byte for byte, the rest of the
            // last one from the cursor on (both start at an entry), every
            // entry left is unchanged: the usual case once a directory's
            // one edited entry is passed.
            if entries.0.len() <= same_tail && entries.0.len() == old.len() {
                break;
            }
            let Some(e) = entries.next() else { break };
            if unchanged(&mut old, &e) {
                continue;
            }
            // Some old tools wrote `040000`: read the mode as a number.
            let mode = e
                .mode
                .iter()
                .fold(0u32, |m, &d| (m << 3) | u32::from(d.wrapping_sub(b'0') & 7));
            match mode & 0o170000 {
                0o040000 => {
                    if !seen.contains(&e.id) {
                        let dir = format!("{prefix}{}/", String::from_utf8_lossy(e.name));
                        stack.push((e.id, dir));
                    }
                }
                // Submodule commits belong to another repository.
                0o160000 => {}
                _ => on_blob(e.id, &prefix, e.name),
            }
        }
        if let Some(l) = last.as_deref_mut() {
            l.put(&prefix, before, raw.data());
        }
    }
}

/// How many bytes `a` and `b` end with alike, compared eight at a time.
fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let (a, b) = (&a[a.len() - n..], &b[b.len() - n..]);
    let words = a.rchunks_exact(8).zip(b.rchunks_exact(8));
    let mut same = 0;
    for (x, y) in words {
        if x != y {
            break;
        }
        same += 8;
    }
    same + a[..n - same]
        .iter()
        .rev()
        .zip(b[..n - same].iter().rev())
        .take_while(|(x, y)| x == y)
        .count()
}

/// Whether `e` is an entry of the sorted raw tree entries `old`, moving
/// `old` past it and the entries named before it. Trees change little from
/// one version to the next, so this is mostly one comparison of the bytes
/// at `old`'s start.
fn unchanged(old: &mut &[u8], e: &TreeEntry<'_>) -> bool {
    loop {
        if old.starts_with(e.whole) {
            *old = &old[e.whole.len()..];
            return true;
        }
        match TreeEntries(old).next() {
            Some(o) if o.name < e.name => *old = &old[o.whole.len()..],
            _ => return false,
        }
    }
}

/// One entry of a raw tree object.
struct TreeEntry<'a> {
    mode: &'a [u8],
    name: &'a [u8],
    id: RawId,
    /// The whole entry: mode, name and id.
    whole: &'a [u8],
}

/// Entries of a raw tree object: `<mode> <name>\0<20-byte id>`, repeated.
struct TreeEntries<'a>(&'a [u8]);

impl<'a> Iterator for TreeEntries<'a> {
    type Item = TreeEntry<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        let data = self.0;
        let (sp, nul) = match mode_and_name_ends(data) {
            Some(ends) => ends,
            None => {
                let sp = data.iter().position(|&b| b == b' ')?;
                (sp, sp + 1 + data[sp + 1..].iter().position(|&b| b == 0)?)
            }
        };
        let id: [u8; 20] = data.get(nul + 1..nul + 21)?.try_into().ok()?;
        self.0 = &data[nul + 21..];
        Some(TreeEntry {
            mode: &data[..sp],
            name: &data[sp + 1..nul],
            id: RawId(id),
            whole: &data[..nul + 21],
        })
    }
}

/// Where the mode's space and the name's NUL are in a raw tree entry at
/// the start of `data`, when both lie in its first 32 bytes (most do:
/// modes are five or six bytes, names a dozen). Found as bit masks
/// ([`crate::blob::byte_mask`]) instead of by a loop over each byte, which
/// was half of the walk's own time on git.git.
#[inline]
fn mode_and_name_ends(data: &[u8]) -> Option<(usize, usize)> {
    let head = data.get(..32)?;
    let spaces = crate::blob::byte_mask(head, b' ');
    if spaces == 0 {
        return None;
    }
    let sp = spaces.trailing_zeros() as usize;
    // The first NUL after the space: a name holds none.
    let after = crate::blob::byte_mask(head, 0) & !((2u64 << sp) - 1);
    (after != 0).then(|| (sp, after.trailing_zeros() as usize))
}

/// `prefix` and `name` joined into a path.
fn join(prefix: &str, name: &[u8]) -> String {
    let mut p = String::with_capacity(prefix.len() + name.len());
    p.push_str(prefix);
    p.push_str(&String::from_utf8_lossy(name));
    p
}

/// Text that history carries besides trees, tied to the commit it describes:
/// a token pasted into a commit message, a tag message or a note leaks as
/// surely as one in a file, and rewriting trees does not remove it.
pub struct HistoryText {
    pub kind: TextKind,
    /// The object holding the text: the commit, the tag, or the note's blob.
    pub object: Oid,
    pub commit: Oid,
    pub text: Vec<u8>,
}

/// Where a [`HistoryText`] comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextKind {
    CommitMessage,
    /// An annotated tag, by name.
    TagMessage(String),
    /// A note, by notes ref.
    Note(String),
}

impl HistoryText {
    /// The path reports show: `<commit message>`, `<tag v1.0>`,
    /// `<note refs/notes/commits>`.
    pub fn location(&self) -> String {
        match &self.kind {
            TextKind::CommitMessage => COMMIT_MESSAGE.to_string(),
            TextKind::TagMessage(name) => format!("<tag {name}>"),
            TextKind::Note(r) => format!("<note {r}>"),
        }
    }
}

/// Where findings in commit messages are reported to be.
pub const COMMIT_MESSAGE: &str = "<commit message>";

/// The message of a raw commit object: what follows the first empty line
/// (header lines, signatures' continuation lines included, are never
/// empty), or nothing when there is none, as libgit2's
/// `message_raw_bytes` has it.
pub fn commit_message(raw: &[u8]) -> &[u8] {
    memchr::memmem::find(raw, b"\n\n").map_or(&[], |at| &raw[at + 2..])
}

/// Visits the messages of `commits` (walked commits, or a consecutive part
/// of them). Messages over `max_size` bytes are counted in `too_large` and
/// not read further; unreadable commits are warned about and counted in
/// `errors`.
pub fn for_each_commit_message(
    repo: &Repository,
    commits: &[Oid],
    max_size: u64,
    messages: &Messages,
    errors: &AtomicU64,
    too_large: &AtomicU64,
    visit: &mut dyn FnMut(HistoryText),
) {
    for &id in commits {
        match repo.find_commit(id) {
            Ok(c) if c.message_raw_bytes().len() as u64 > max_size => {
                too_large.fetch_add(1, Ordering::Relaxed);
            }
            Ok(c) => visit(HistoryText {
                kind: TextKind::CommitMessage,
                object: id,
                commit: id,
                text: c.message_raw_bytes().to_vec(),
            }),
            Err(e) => {
                messages.warn(&format!("commit {id}"), e.message());
                errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Visits the messages of the annotated tags on the walked commits, then the
/// notes (under every `refs/notes/` ref) on them, counting and warning as
/// [`for_each_commit_message`] does.
pub fn for_each_attached_text(
    repo: &Repository,
    history: &History,
    max_size: u64,
    messages: &Messages,
    errors: &AtomicU64,
    too_large: &AtomicU64,
    visit: &mut dyn FnMut(HistoryText),
) {
    let walked: IdSet = history.commits.iter().copied().collect();
    let mut emit = |t: HistoryText| {
        if t.text.len() as u64 > max_size {
            too_large.fetch_add(1, Ordering::Relaxed);
        } else {
            visit(t);
        }
    };
    let mut tags = Vec::new();
    let _ = repo.tag_foreach(|oid, name| {
        tags.push((oid, String::from_utf8_lossy(name).into_owned()));
        true
    });
    for (oid, name) in tags {
        // Lightweight tags point at commits and carry no text of their own.
        let Ok(tag) = repo.find_tag(oid) else {
            continue;
        };
        let Ok(target) = tag.target().and_then(|t| t.peel_to_commit()) else {
            continue;
        };
        if walked.contains(&target.id()) {
            let name = name.strip_prefix("refs/tags/").unwrap_or(&name).to_string();
            emit(HistoryText {
                kind: TextKind::TagMessage(name),
                object: oid,
                commit: target.id(),
                text: tag.message_bytes().unwrap_or_default().to_vec(),
            });
        }
    }
    for_each_note(repo, &walked, messages, errors, &mut emit);
}

fn for_each_note(
    repo: &Repository,
    walked: &IdSet,
    messages: &Messages,
    errors: &AtomicU64,
    emit: &mut dyn FnMut(HistoryText),
) {
    let Ok(refs) = repo.references_glob("refs/notes/*") else {
        return;
    };
    let names: Vec<String> = refs
        .flatten()
        .filter_map(|r| r.name().ok().map(str::to_string))
        .collect();
    for notes_ref in names {
        let Ok(notes) = repo.notes(Some(&notes_ref)) else {
            continue;
        };
        for (blob, commit) in notes.flatten() {
            if !walked.contains(&commit) {
                continue;
            }
            match repo.find_blob(blob) {
                Ok(b) => emit(HistoryText {
                    kind: TextKind::Note(notes_ref.clone()),
                    object: blob,
                    commit,
                    text: b.content().to_vec(),
                }),
                Err(e) => {
                    messages.warn(&format!("note {blob} ({notes_ref})"), e.message());
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}

/// Checks each `*.pack` below `dir` against its `.idx`: the pack starts with
/// `PACK` and ends with the checksum the index records (the 20 bytes before
/// the index's own trailing checksum). Reads 12 + 20 bytes per pack; one
/// line per damaged pack, naming it. A pack that fails this cannot be read
/// by libgit2 at all ("object not found"), so this says why.
pub fn pack_damage(dir: &Path) -> Vec<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut damaged = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return damaged;
    };
    for e in entries.flatten() {
        let pack = e.path();
        if pack.extension().is_none_or(|x| x != "pack") {
            continue;
        }
        let name = pack
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let tail = |p: &Path, back: i64| -> std::io::Result<[u8; 20]> {
            let mut f = std::fs::File::open(p)?;
            f.seek(SeekFrom::End(-back))?;
            let mut b = [0u8; 20];
            f.read_exact(&mut b)?;
            Ok(b)
        };
        let head = std::fs::File::open(&pack).and_then(|mut f| {
            let mut b = [0u8; 12];
            f.read_exact(&mut b).map(|_| b)
        });
        if !head.is_ok_and(|h| &h[..4] == b"PACK") {
            damaged.push(format!("{name}: not a pack (truncated?)"));
            continue;
        }
        let idx = pack.with_extension("idx");
        let (Ok(in_pack), Ok(in_idx)) = (tail(&pack, 20), tail(&idx, 40)) else {
            damaged.push(format!("{name}: pack or index unreadable"));
            continue;
        };
        if in_pack != in_idx {
            damaged.push(format!(
                "{name}: its checksum differs from its index's (truncated or overwritten)"
            ));
        }
    }
    damaged.sort();
    damaged
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Runs `git args` in `dir`, isolated from the user's and the system's
    /// configuration, as author and committer `t`; panics when git fails.
    pub(crate) fn git(dir: &Path, args: &[&str]) {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", dir)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
    }

    /// Raw tree entries parse the same whether the mode's space and the
    /// name's NUL are found in a 32-byte block or byte by byte: names of
    /// every length around the block, names with spaces, ids full of
    /// spaces and NULs, and a truncated last entry.
    #[test]
    fn tree_entries_parse_as_the_format_says() {
        let mut x = 3u64;
        let mut rnd = |n: u64| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) % n
        };
        let mut raw = Vec::new();
        let mut want = Vec::new();
        for i in 0..400 {
            let mode: &[u8] = if i % 3 == 0 { b"40000" } else { b"100644" };
            let len = 1 + rnd(60) as usize;
            let name: Vec<u8> = (0..len)
                .map(|_| match rnd(8) {
                    0 => b' ',
                    _ => b'a' + rnd(26) as u8,
                })
                .collect();
            let id: [u8; 20] = std::array::from_fn(|_| [0, b' ', 7, 255][rnd(4) as usize]);
            let start = raw.len();
            raw.extend_from_slice(mode);
            raw.push(b' ');
            raw.extend_from_slice(&name);
            raw.push(0);
            raw.extend_from_slice(&id);
            want.push((mode.to_vec(), name, id, start..raw.len()));
        }
        let got: Vec<_> = TreeEntries(&raw)
            .map(|e| (e.mode.to_vec(), e.name.to_vec(), e.id.0, e.whole.to_vec()))
            .collect();
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert_eq!((&g.0, &g.1, &g.2), (&w.0, &w.1, &w.2));
            assert_eq!(g.3, raw[w.3.clone()]);
        }
        // A last entry cut inside its id ends the entries.
        let cut = &raw[..raw.len() - 5];
        assert_eq!(TreeEntries(cut).count(), want.len() - 1);
    }

    /// A commit's message read from its raw bytes is libgit2's, through
    /// signatures with continuation lines, blank lines inside the message,
    /// an empty message and none at all.
    #[test]
    fn commit_messages_read_raw_are_libgit2s() {
        let d = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init_bare(d.path()).unwrap();
        let odb = repo.odb().unwrap();
        let tree = odb.write(ObjectType::Tree, b"").unwrap();
        let head = format!(
            "tree {tree}\nauthor t <t@example.com> 1700000000 +0000\n\
             committer t <t@example.com> 1700000000 +0000\n"
        );
        let signed = format!(
            "{head}gpgsig -----BEGIN PGP SIGNATURE-----\n \n iQEzBAABCAAdFiEE\n \
             -----END PGP SIGNATURE-----\n"
        );
        let cases = [
            format!("{head}\nsubject\n\nbody token=abc\n"),
            format!("{signed}\nsigned subject\n\n\nafter blank lines\n"),
            format!("{head}encoding ISO-8859-1\n\nlatin \u{e9}\n"),
            format!("{head}\n"),
            head.clone(),
        ];
        for raw in &cases {
            let id = odb.write(ObjectType::Commit, raw.as_bytes()).unwrap();
            let commit = repo.find_commit(id).unwrap();
            assert_eq!(
                commit_message(raw.as_bytes()),
                commit.message_raw_bytes(),
                "{raw:?}"
            );
        }
        assert_eq!(
            commit_message(cases[1].as_bytes()),
            b"signed subject\n\n\nafter blank lines\n"
        );
    }

    /// The sites one walk over every ref finds, as (blob, commit, path),
    /// with or without comparing each directory with its last tree.
    fn walked_sites(
        repo: &Repository,
        remember: bool,
        read_packs: bool,
        errors: &AtomicU64,
    ) -> Vec<(Oid, u32, String)> {
        let messages = Messages::new(true);
        let opts = GitOptions {
            read_packs,
            ..GitOptions::default()
        };
        let h = enumerate_remembering(repo, &opts, &messages, errors, None, remember).unwrap();
        h.sites
            .into_iter()
            .map(|s| (s.blob, s.commit, s.path))
            .collect()
    }

    #[test]
    fn common_suffixes_are_counted_in_words_and_bytes() {
        let base: Vec<u8> = (0..40u8).collect();
        for n in [0, 1, 7, 8, 9, 16, 23, 40] {
            for cut in [0, 3, 8, 17] {
                let a = &base[..];
                // `b` ends with `a`'s last `n` bytes, after other bytes.
                let mut b = vec![255u8; cut];
                b.extend_from_slice(&a[a.len() - n..]);
                assert_eq!(common_suffix(a, &b), n, "n {n}, cut {cut}");
                assert_eq!(common_suffix(&b, a), n, "n {n}, cut {cut}");
            }
        }
        assert_eq!(common_suffix(b"same", b"same"), 4);
        assert_eq!(common_suffix(b"", b"x"), 0);
    }

    /// Directories of many entries, edited at their first, middle and last
    /// entries and at two places at once (the second past the point where
    /// the rest of the tree lines up with the last one again), renamed,
    /// made executable: the walk that passes over each directory's
    /// unchanged tail finds what a walk reading every entry finds.
    #[test]
    fn trees_edited_anywhere_walk_the_same_with_tails_passed_over() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path();
        git(dir, &["init", "-q", "-b", "main"]);
        let name = |i: usize| format!("pkg/f{i:02}.txt");
        std::fs::create_dir_all(dir.join("pkg")).unwrap();
        for i in 0..30 {
            std::fs::write(dir.join(name(i)), format!("file {i}\n")).unwrap();
        }
        let commit = |m: &str| {
            git(dir, &["add", "-A"]);
            git(dir, &["commit", "-q", "--allow-empty", "-m", m]);
        };
        commit("start");
        let edits: &[&[usize]] = &[&[0], &[15], &[29], &[3, 27], &[10, 11], &[1, 28, 29]];
        for (round, files) in edits.iter().enumerate() {
            for &i in files.iter() {
                std::fs::write(dir.join(name(i)), format!("file {i} round {round}\n")).unwrap();
            }
            commit(&format!("round {round}"));
        }
        git(dir, &["mv", &name(12), "pkg/f12-renamed.txt"]);
        std::fs::write(dir.join(name(20)), "file 20 edited beside a rename\n").unwrap();
        commit("rename");
        git(dir, &["update-index", "--chmod=+x", &name(5)]);
        std::fs::write(dir.join(name(25)), "file 25 beside a mode change\n").unwrap();
        commit("mode");
        let repo = Repository::open(dir).unwrap();
        let errors = AtomicU64::new(0);
        let all = walked_sites(&repo, false, false, &errors);
        // Every version of every edited file is a blob of its own.
        assert_eq!(all.len(), 30 + 1 + 1 + 1 + 2 + 2 + 3 + 1 + 1);
        assert_eq!(walked_sites(&repo, true, false, &errors), all);
        assert_eq!(errors.load(Ordering::Relaxed), 0);
    }

    /// Comparing each directory with its last tree is only a shortcut: the
    /// walk finds the same blobs at the same commits and paths as looking
    /// every entry up, through edits, renames, reverts, a directory removed
    /// and restored, one blob at two paths, and a merge.
    #[test]
    fn remembered_trees_change_nothing_found() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path();
        git(dir, &["init", "-q", "-b", "main"]);
        let mut x: u64 = 7;
        let mut rnd = |n: u64| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) % n
        };
        let paths = [
            "a.txt",
            "src/b.rs",
            "src/deep/c.py",
            "src/deep/d.py",
            "docs/e.md",
            "z/f",
        ];
        for step in 0..40 {
            match step {
                12 => git(dir, &["rm", "-rq", "src/deep"]),
                15 => git(dir, &["checkout", "-q", "HEAD~3", "--", "src/deep"]),
                20 => git(dir, &["mv", "docs", "manual"]),
                25 => git(dir, &["checkout", "-q", "-b", "side"]),
                30 => {
                    git(dir, &["checkout", "-q", "main"]);
                    git(dir, &["merge", "-q", "--no-edit", "-s", "ours", "side"]);
                }
                _ => {
                    let p = dir.join(paths[rnd(paths.len() as u64) as usize]);
                    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                    let body = format!("v{} {}\n", rnd(9), step % 11);
                    std::fs::write(&p, &body).unwrap();
                    std::fs::write(dir.join("copy.txt"), &body).unwrap();
                }
            }
            git(dir, &["add", "-A"]);
            git(
                dir,
                &[
                    "commit",
                    "-q",
                    "--allow-empty",
                    "-m",
                    &format!("step {step}"),
                ],
            );
        }
        let repo = Repository::open(dir).unwrap();
        let (messages, errors) = (Messages::new(true), AtomicU64::new(0));
        let opts = GitOptions::default();
        let (fast, slow) = (
            walked_sites(&repo, true, false, &errors),
            walked_sites(&repo, false, false, &errors),
        );
        assert!(slow.len() > 30, "{} sites", slow.len());
        assert_eq!(fast, slow);
        assert_eq!(errors.load(Ordering::Relaxed), 0);

        // Walked in parts on several threads and merged: the same commits,
        // and each blob at the same commit and path, in the same order.
        let (starts, hidden, _) = starting_points(&repo, &opts).unwrap();
        let (trees, blobs) = reachable_from(&repo, &hidden, &messages, &errors);
        let order = commits_to_scan(&repo, &starts, &hidden, &messages, &errors);
        let one = enumerate_remembering(&repo, &opts, &messages, &errors, None, true).unwrap();
        for (threads, n) in [(2, 2), (2, 3), (3, 7), (2, 8)] {
            let parts = walk_in_parts(&repo, &order, (&trees, &blobs), threads, n, true, None);
            let size = order.len().div_ceil(n);
            assert_eq!(parts.len(), order.len().div_ceil(size), "{n} parts");
            let (commits, sites) = merge_parts(&order, parts, blobs.clone(), &messages, &errors);
            assert_eq!(commits, one.commits, "{threads} threads, {n} parts");
            let got: Vec<_> = sites
                .into_iter()
                .map(|s| (s.blob, s.commit, s.path))
                .collect();
            assert_eq!(got, fast, "{threads} threads, {n} parts");
        }
        assert_eq!(errors.load(Ordering::Relaxed), 0);

        // Trees and commits read from a pack of deep delta chains
        // ([`super::super::packed`]), with a loose commit and tree on top:
        // the same again, in one walk and in parts.
        git(dir, &["repack", "-adq", "--depth=250", "--window=250"]);
        std::fs::write(dir.join("loose.txt"), "after the repack\n").unwrap();
        git(dir, &["add", "-A"]);
        git(dir, &["commit", "-q", "-m", "loose"]);
        let repo = Repository::open(dir).unwrap();
        let all = walked_sites(&repo, true, false, &errors);
        assert_eq!(all[..fast.len()], fast[..]);
        assert_eq!(walked_sites(&repo, true, true, &errors), all);
        let (starts, hidden, _) = starting_points(&repo, &opts).unwrap();
        let order = commits_to_scan(&repo, &starts, &hidden, &messages, &errors);
        let packs = Packs::open(repo.path());
        for (threads, n) in [(2, 3), (2, 8)] {
            let parts = walk_in_parts(
                &repo,
                &order,
                (&trees, &blobs),
                threads,
                n,
                true,
                Some(&packs),
            );
            let (_, sites) = merge_parts(&order, parts, blobs.clone(), &messages, &errors);
            let got: Vec<_> = sites
                .into_iter()
                .map(|s| (s.blob, s.commit, s.path))
                .collect();
            assert_eq!(got, all, "{threads} threads, {n} parts, from the pack");
        }
        assert_eq!(errors.load(Ordering::Relaxed), 0);

        // The order from commits read through the packs is libgit2's; with
        // a commit-graph file (whose parents libgit2 would read) it is
        // libgit2's to give.
        assert_eq!(order_from_packs(&repo, &packs, &starts), Some(order));
        git(dir, &["commit-graph", "write", "--reachable"]);
        assert_eq!(order_from_packs(&repo, &packs, &starts), None);
    }
}
