//! Git history, blob first: every blob reachable from the selected commits is
//! enumerated once, scanned once in parallel, and only blobs with findings get
//! their provenance (introducing commit, author, whether still present).
//!
//! Enumeration walks commits oldest first and each commit's tree, skipping
//! every tree already visited, so each distinct tree object is read once and the
//! first path and commit recorded for a blob is the one that introduced it.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use git2::{ObjectType, Oid, Repository, Sort};
use indicatif::ProgressBar;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::blob::Origin;
use crate::finding::Finding;
use crate::format;
use crate::matcher::{Matcher, Scratch};
use crate::scan::{Messages, Scanner};

type IdSet = HashSet<Oid, BuildHasherDefault<crate::dedupe::FoldHasher>>;

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
    /// [`crate::dedupe`]). Off only to compare against a full scan.
    pub dedupe: bool,
}

/// Whether a secret can still be found at a branch tip.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GitStatus {
    /// In the tree of at least one branch tip (or HEAD).
    Present,
    /// Removed from every tip, but still in history.
    #[default]
    HistoryOnly,
}

/// Where a finding from history came from. Flattened into the finding.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GitProvenance {
    /// The commit that introduced the blob at `path`.
    pub commit: String,
    pub author: String,
    pub email: String,
    /// Author date, RFC 3339 with the author's offset.
    pub date: String,
    /// First line of the commit message.
    pub message: String,
    pub blob: String,
    pub status: GitStatus,
    /// Other paths where the same rule found the same secret.
    pub occurrences: usize,
}

/// One blob and where it first appeared.
#[derive(Clone)]
struct Site {
    blob: Oid,
    commit: u32,
    path: String,
}

/// The blobs to scan and what is needed to describe them.
pub struct History {
    /// Commits walked, oldest first.
    commits: Vec<Oid>,
    sites: Vec<Site>,
    /// Blobs at each path in the trees of the branch tips.
    tip_paths: HashMap<String, Vec<Oid>>,
    pub shallow: bool,
}

impl History {
    pub fn commits(&self) -> usize {
        self.commits.len()
    }

    pub fn blobs(&self) -> usize {
        self.sites.len()
    }

    /// The blobs [`scan_history`] will read, each once.
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

/// Opens a repository (work tree, `.git` dir, bare repo or mirror).
///
/// # Errors
///
/// Fails naming the path when it is not a repository or cannot be opened.
pub fn open(path: &Path) -> anyhow::Result<Repository> {
    // Re-hashing every object read costs a quarter of a history scan; a
    // damaged object still fails to inflate and is reported.
    git2::opts::strict_hash_verification(false);
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
/// it is found (the channel closes when the walk ends).
fn enumerate_with(
    repo: &Repository,
    opts: &GitOptions,
    messages: &Messages,
    errors: &AtomicU64,
    sink: Option<std::sync::mpsc::SyncSender<Vec<Site>>>,
) -> anyhow::Result<History> {
    const BATCH: usize = 64;
    let mut batch: Vec<Site> = Vec::with_capacity(BATCH);
    let mut walk = repo.revwalk()?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)?;
    let mut hidden = Vec::new();
    let resolve = |spec: &str| -> anyhow::Result<Oid> {
        let obj = repo
            .revparse_single(spec)
            .map_err(|e| anyhow::anyhow!("{spec}: unknown revision: {}", e.message()))?;
        let commit = obj
            .peel_to_commit()
            .map_err(|e| anyhow::anyhow!("{spec}: not a commit: {}", e.message()))?;
        Ok(commit.id())
    };
    let mut tips: Vec<Oid> = Vec::new();
    if let Some(range) = &opts.range {
        let (a, b) = range
            .split_once("..")
            .ok_or_else(|| anyhow::anyhow!("--range {range:?}: expected A..B"))?;
        let a = resolve(a)?;
        let b = resolve(if b.is_empty() { "HEAD" } else { b })?;
        walk.push(b)?;
        walk.hide(a)?;
        hidden.push(a);
        tips.push(b);
    } else {
        if opts.branches.is_empty() {
            walk.push_glob("*")?;
            if let Ok(head) = repo.head() {
                if let Some(t) = head.target() {
                    let _ = walk.push(t);
                }
            }
            for r in repo.references()?.flatten() {
                let is_branch = r.is_branch() || r.is_remote();
                if let (true, Ok(c)) = (is_branch, r.peel_to_commit()) {
                    tips.push(c.id());
                }
            }
            if let Ok(c) = repo.head().and_then(|h| h.peel_to_commit()) {
                tips.push(c.id());
            }
        } else {
            for b in &opts.branches {
                let id = resolve(b)?;
                walk.push(id)?;
                tips.push(id);
            }
        }
        if let Some(since) = &opts.since_commit {
            let id = resolve(since)?;
            walk.hide(id)?;
            hidden.push(id);
        }
    }

    let mut seen_trees = IdSet::default();
    let mut seen_blobs = IdSet::default();
    // Trees and blobs reachable from excluded commits are not "introduced" by
    // the commits in range.
    for id in &hidden {
        if let Ok(c) = repo.find_commit(*id) {
            walk_tree(
                repo,
                c.tree_id(),
                &mut seen_trees,
                messages,
                errors,
                &mut |oid, _, _| {
                    seen_blobs.insert(oid);
                },
            );
        }
    }

    let mut commits = Vec::new();
    let mut sites = Vec::new();
    for id in walk {
        let id = match id {
            Ok(id) => id,
            Err(e) => {
                messages.warn("history", &format!("cannot walk commits: {}", e.message()));
                errors.fetch_add(1, Ordering::Relaxed);
                break;
            }
        };
        let tree = match repo.find_commit(id) {
            Ok(c) => c.tree_id(),
            Err(e) => {
                messages.warn(&format!("commit {id}"), e.message());
                errors.fetch_add(1, Ordering::Relaxed);
                continue;
            }
        };
        let idx = commits.len() as u32;
        commits.push(id);
        walk_tree(
            repo,
            tree,
            &mut seen_trees,
            messages,
            errors,
            &mut |oid, prefix, name| {
                if seen_blobs.insert(oid) {
                    let site = Site {
                        blob: oid,
                        commit: idx,
                        path: join(prefix, name),
                    };
                    if let Some(tx) = &sink {
                        batch.push(site.clone());
                        if batch.len() == BATCH {
                            // A closed channel means the scan gave up: keep walking
                            // so the history is complete for provenance.
                            let _ =
                                tx.send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)));
                        }
                    }
                    sites.push(site);
                }
            },
        );
    }

    if let Some(tx) = sink {
        if !batch.is_empty() {
            let _ = tx.send(batch);
        }
    }

    let mut tip_paths: HashMap<String, Vec<Oid>> = HashMap::new();
    tips.sort();
    tips.dedup();
    for t in tips {
        if let Ok(c) = repo.find_commit(t) {
            // Each tip separately: a subtree shared by two tips may sit at
            // different paths in each.
            let mut tip_trees = IdSet::default();
            walk_tree(
                repo,
                c.tree_id(),
                &mut tip_trees,
                messages,
                errors,
                &mut |oid, prefix, name| {
                    let v = tip_paths.entry(join(prefix, name)).or_default();
                    if !v.contains(&oid) {
                        v.push(oid);
                    }
                },
            );
        }
    }
    Ok(History {
        commits,
        sites,
        tip_paths,
        shallow: repo.is_shallow(),
    })
}

/// Visits the blobs of a tree not below an already-seen tree.
fn walk_tree(
    repo: &Repository,
    root: Oid,
    seen: &mut IdSet,
    messages: &Messages,
    errors: &AtomicU64,
    on_blob: &mut dyn FnMut(Oid, &str, &[u8]),
) {
    let odb = match repo.odb() {
        Ok(o) => o,
        Err(e) => {
            messages.warn("object database", e.message());
            errors.fetch_add(1, Ordering::Relaxed);
            return;
        }
    };
    let mut stack = vec![(root, String::new())];
    while let Some((id, prefix)) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        // Raw tree bytes parsed here: libgit2's tree objects allocate per
        // entry, and history walks read every distinct tree.
        let raw = match odb.read(id) {
            Ok(o) if o.kind() == ObjectType::Tree => o,
            Ok(_) => continue,
            Err(e) => {
                let loc = if prefix.is_empty() {
                    format!("tree {id}")
                } else {
                    format!("tree {id} ({prefix})")
                };
                messages.warn(&loc, e.message());
                errors.fetch_add(1, Ordering::Relaxed);
                continue;
            }
        };
        for (mode, name, oid) in TreeEntries(raw.data()) {
            // Some old tools wrote `040000`: read the mode as a number.
            let mode = mode
                .iter()
                .fold(0u32, |m, &d| (m << 3) | u32::from(d.wrapping_sub(b'0') & 7));
            match mode & 0o170000 {
                0o040000 => {
                    if !seen.contains(&oid) {
                        stack.push((oid, format!("{prefix}{}/", String::from_utf8_lossy(name))));
                    }
                }
                // Submodule commits belong to another repository.
                0o160000 => {}
                _ => on_blob(oid, &prefix, name),
            }
        }
    }
}

/// Entries of a raw tree object: `<mode> <name>\0<20-byte id>`, repeated.
struct TreeEntries<'a>(&'a [u8]);

impl<'a> Iterator for TreeEntries<'a> {
    type Item = (&'a [u8], &'a [u8], Oid);

    fn next(&mut self) -> Option<Self::Item> {
        let data = self.0;
        let sp = memchr::memchr(b' ', data)?;
        let nul = sp + 1 + memchr::memchr(0, &data[sp + 1..])?;
        let id = data.get(nul + 1..nul + 21)?;
        self.0 = &data[nul + 21..];
        Some((&data[..sp], &data[sp + 1..nul], Oid::from_bytes(id).ok()?))
    }
}

/// `prefix` and `name` joined into a path.
fn join(prefix: &str, name: &[u8]) -> String {
    let mut p = String::with_capacity(prefix.len() + name.len());
    p.push_str(prefix);
    p.push_str(&String::from_utf8_lossy(name));
    p
}

/// What scanning the blobs produced.
pub struct BlobScan {
    pub findings: Vec<Finding>,
    pub scanned: u64,
    pub bytes: u64,
    /// Bytes in chunks not seen before, where keywords were looked for.
    pub new_bytes: u64,
    pub binary: u64,
    pub too_large: u64,
}

/// Rules whose keyword may sit further than this from their match (PEM keys,
/// service-account JSON) are run over whole blobs; the rest only over new
/// chunks, which keeps the dedupe margin small.
const LONG_REACH: usize = 512;

/// How a rule set scans history with dedupe: which rules look only at new
/// chunks, which at whole blobs, and the context a chunk needs. Built once per
/// [`Scanner`] (a sweep scans many repositories with it).
pub struct HistoryPlan {
    pub short: Matcher,
    pub long: Matcher,
    pub margin: usize,
    pub long_keyword_len: usize,
}

impl HistoryPlan {
    pub fn new(rules: &std::sync::Arc<crate::rules::RuleSet>) -> HistoryPlan {
        let is_short = |r: &crate::rules::Rule| r.is_line_local() || r.spec.max_len <= LONG_REACH;
        let short = Matcher::with_filter(rules.clone(), is_short);
        let long = Matcher::with_filter(rules.clone(), |r| !is_short(r));
        let long_keyword_len = rules
            .rules()
            .iter()
            .filter(|r| !is_short(r))
            .flat_map(|r| r.spec.keywords.iter().map(|k| k.len()))
            .max()
            .unwrap_or(0);
        // Line-local rules need no margin: an old chunk holds whole old lines.
        let margin = rules
            .rules()
            .iter()
            .filter(|r| is_short(r) && !r.is_line_local())
            .map(|r| r.spec.max_len + r.spec.keywords.iter().map(|k| k.len()).max().unwrap_or(0))
            .max()
            .unwrap_or(0)
            + 8;
        HistoryPlan {
            short,
            long,
            margin,
            long_keyword_len,
        }
    }
}

/// Scans every enumerated blob once, in parallel, then attaches provenance to
/// the findings and reports each (rule, path, secret) once, at the commit
/// that introduced it first.
pub fn scan_history(
    repo_path: &Path,
    history: &History,
    scanner: &Scanner,
    opts: &GitOptions,
    messages: &Messages,
    errors: &AtomicU64,
    progress: Option<&ProgressBar>,
) -> anyhow::Result<BlobScan> {
    let mut scan = scan_sites(
        repo_path,
        Sites::Listed(&history.sites),
        scanner,
        opts,
        messages,
        errors,
        progress,
    )?;
    let repo = open(repo_path)?;
    scan.findings = attach_provenance(&repo, history, std::mem::take(&mut scan.findings), messages);
    Ok(scan)
}

/// Enumerates and scans history at once: blobs are scanned while later
/// commits are still being walked, so the walk (seconds on a large history)
/// overlaps with scanning instead of preceding it.
///
/// # Errors
///
/// As [`enumerate`] and [`scan_history`].
pub fn enumerate_and_scan(
    repo_path: &Path,
    scanner: &Scanner,
    opts: &GitOptions,
    messages: &Messages,
    errors: &AtomicU64,
    progress: Option<&ProgressBar>,
) -> anyhow::Result<(History, BlobScan)> {
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Site>>(256);
        let walker = scope.spawn(move || -> anyhow::Result<History> {
            let repo = open(repo_path)?;
            enumerate_with(&repo, opts, messages, errors, Some(tx))
        });
        let scan = scan_sites(
            repo_path,
            Sites::Streamed(rx),
            scanner,
            opts,
            messages,
            errors,
            progress,
        );
        let history = walker.join().expect("history walk panicked")?;
        let mut scan = scan?;
        let repo = open(repo_path)?;
        scan.findings = attach_provenance(
            &repo,
            &history,
            std::mem::take(&mut scan.findings),
            messages,
        );
        Ok((history, scan))
    })
}

/// Where [`scan_sites`] gets its blobs.
enum Sites<'a> {
    Listed(&'a [Site]),
    Streamed(std::sync::mpsc::Receiver<Vec<Site>>),
}

/// Scans blobs in parallel; the findings have no provenance yet.
fn scan_sites(
    repo_path: &Path,
    sites: Sites<'_>,
    scanner: &Scanner,
    opts: &GitOptions,
    messages: &Messages,
    errors: &AtomicU64,
    progress: Option<&ProgressBar>,
) -> anyhow::Result<BlobScan> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .build()?;
    let repos: Mutex<Vec<Repository>> = Mutex::new(Vec::new());
    let scanned = AtomicU64::new(0);
    let bytes = AtomicU64::new(0);
    let new_bytes = AtomicU64::new(0);
    let long_bytes = AtomicU64::new(0);
    let binary = AtomicU64::new(0);
    let too_large = AtomicU64::new(0);
    let repo_dir: PathBuf = repo_path.to_path_buf();

    let plan = scanner.history_plan();
    let (short, long, long_kw_len) = (&plan.short, &plan.long, plan.long_keyword_len);
    let seen = crate::dedupe::Seen::new(plan.margin);

    let work = |chunk: &[Site]| -> Vec<Finding> {
        let repo = repos.lock().unwrap().pop();
        let repo = match repo {
            Some(r) => r,
            None => match Repository::open(&repo_dir) {
                Ok(r) => r,
                Err(e) => {
                    messages.warn(&repo_dir.display().to_string(), e.message());
                    errors.fetch_add(1, Ordering::Relaxed);
                    return Vec::new();
                }
            },
        };
        let mut scratch = Scratch::default();
        let mut ranges = Vec::new();
        let mut out = Vec::new();
        for site in chunk {
            let blob = match repo.find_blob(site.blob) {
                Ok(b) => b,
                Err(e) => {
                    messages.warn(&format!("blob {} ({})", site.blob, site.path), e.message());
                    errors.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
            };
            let content = blob.content();
            if let Some(pb) = progress {
                pb.inc(content.len() as u64);
            }
            if content.len() as u64 > opts.max_file_size {
                too_large.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            if memchr::memchr(0, &content[..content.len().min(8192)]).is_some() {
                binary.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            scanned.fetch_add(1, Ordering::Relaxed);
            bytes.fetch_add(content.len() as u64, Ordering::Relaxed);
            let origin = Origin::Git {
                blob: site.blob.to_string(),
                path: site.path.clone(),
            };
            // Notebooks and configs are read whole by their format;
            // plain text only in the chunks not seen before.
            let plain = format::detect(Some(Path::new(&site.path)), content) == format::Kind::Plain;
            let found = if opts.dedupe && plain {
                let needs_long = seen.new_chunks(
                    &site.path,
                    content,
                    long_kw_len,
                    |bytes| long.has_keyword(bytes),
                    &mut ranges,
                );
                new_bytes.fetch_add(
                    ranges.iter().map(|r| r.len() as u64).sum(),
                    Ordering::Relaxed,
                );
                let decoded = scanner.decoded_findings(content, &origin, &ranges, &mut scratch);
                let fresh = ranges.clone();
                let mut a = if ranges.is_empty() {
                    Vec::new()
                } else {
                    short.scan_ranges(content, &ranges, &mut scratch)
                };
                if !a.is_empty() {
                    // Which rule reports an overlapping secret depends on
                    // every rule that matches there, so look again with all
                    // keywords near each match, old chunks included.
                    let reach = 2 * LONG_REACH + 64;
                    for m in &a {
                        ranges.push(
                            m.whole.start.saturating_sub(reach)
                                ..(m.whole.end + reach).min(content.len()),
                        );
                    }
                    ranges.sort_by_key(|r| r.start);
                    let mut merged: Vec<std::ops::Range<usize>> = Vec::with_capacity(ranges.len());
                    for r in ranges.drain(..) {
                        match merged.last_mut() {
                            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
                            _ => merged.push(r),
                        }
                    }
                    a = short.scan_ranges(content, &merged, &mut scratch);
                }
                // A whole-blob rule can only match where one of its
                // keywords is, and chunks remember whether they hold one.
                let b = if needs_long {
                    long_bytes.fetch_add(content.len() as u64, Ordering::Relaxed);
                    long.scan(content, &mut scratch)
                } else {
                    Vec::new()
                };
                let mut found = scanner.findings(content, &origin, short.combine(a, b));
                found.extend(decoded);
                let generic = scanner.generic_findings(content, &origin, &fresh, &found);
                found.extend(generic);
                found
            } else {
                scanner.scan_bytes(content, &origin, &mut scratch)
            };
            out.extend(found);
        }
        repos.lock().unwrap().push(repo);
        out
    };
    let per_blob: Vec<Finding> = pool.install(|| match sites {
        Sites::Listed(list) => list.par_chunks(64).flat_map_iter(work).collect(),
        // Sites arrive while the history is still being walked.
        Sites::Streamed(rx) => rx
            .into_iter()
            .par_bridge()
            .flat_map_iter(|c| work(&c))
            .collect(),
    });

    if std::env::var_os("KEYSWEEP_TIMING").is_some() {
        eprintln!(
            "whole-blob rules ran over {} bytes",
            long_bytes.load(Ordering::Relaxed)
        );
    }
    Ok(BlobScan {
        findings: per_blob,
        scanned: scanned.into_inner(),
        bytes: bytes.into_inner(),
        new_bytes: new_bytes.into_inner(),
        binary: binary.into_inner(),
        too_large: too_large.into_inner(),
    })
}

/// Reports each (rule, path, secret) once, at the earliest version of the file
/// that holds the secret, with its commit, and whether a branch tip still
/// holds it. Only blobs at paths with findings are read again.
fn attach_provenance(
    repo: &Repository,
    history: &History,
    found: Vec<Finding>,
    messages: &Messages,
) -> Vec<Finding> {
    let mut unique: HashMap<String, Finding> = HashMap::new();
    for f in found {
        unique.entry(f.fingerprint.clone()).or_insert(f);
    }
    let wanted: HashSet<&str> = unique.values().map(|f| f.path.as_str()).collect();
    let mut versions: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, s) in history.sites.iter().enumerate() {
        if wanted.contains(s.path.as_str()) {
            versions.entry(s.path.as_str()).or_default().push(i);
        }
    }
    // Paths holding each (rule, secret).
    let mut spread: HashMap<(String, String), HashSet<String>> = HashMap::new();
    for f in unique.values() {
        spread
            .entry((f.rule_id.clone(), f.secret.clone()))
            .or_default()
            .insert(f.path.clone());
    }
    let read = |oid: Oid| -> Option<Vec<u8>> {
        match repo.find_blob(oid) {
            Ok(b) => Some(b.content().to_vec()),
            Err(e) => {
                messages.warn(&format!("blob {oid}"), e.message());
                None
            }
        }
    };
    let mut meta: HashMap<Oid, (String, String, String, String)> = HashMap::new();
    let mut out = Vec::with_capacity(unique.len());
    for (_, mut f) in unique {
        let mut site = None;
        for &i in versions
            .get(f.path.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            let s = &history.sites[i];
            if let Some(content) = read(s.blob) {
                if f.relocate(&content) {
                    site = Some(s);
                    break;
                }
            }
        }
        let Some(site) = site else {
            out.push(f);
            continue;
        };
        let paths = &spread[&(f.rule_id.clone(), f.secret.clone())];
        let present = paths.iter().any(|p| {
            history.tip_paths.get(p.as_str()).is_some_and(|oids| {
                oids.iter().any(|&oid| {
                    read(oid)
                        .is_some_and(|c| memchr::memmem::find(&c, f.secret.as_bytes()).is_some())
                })
            })
        });
        let commit = history.commits[site.commit as usize];
        let m = meta
            .entry(commit)
            .or_insert_with(|| commit_meta(repo, commit));
        f.git = Some(GitProvenance {
            commit: commit.to_string(),
            author: m.0.clone(),
            email: m.1.clone(),
            date: m.2.clone(),
            message: m.3.clone(),
            blob: site.blob.to_string(),
            status: if present {
                GitStatus::Present
            } else {
                GitStatus::HistoryOnly
            },
            occurrences: paths.len() - 1,
        });
        out.push(f);
    }
    out
}

fn commit_meta(repo: &Repository, id: Oid) -> (String, String, String, String) {
    let Ok(c) = repo.find_commit(id) else {
        return Default::default();
    };
    let author = c.author();
    let when = author.when();
    (
        String::from_utf8_lossy(author.name_bytes()).into_owned(),
        String::from_utf8_lossy(author.email_bytes()).into_owned(),
        rfc3339(when.seconds(), when.offset_minutes()),
        c.summary_bytes()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .unwrap_or_default(),
    )
}

/// Formats a Unix time and UTC offset as RFC 3339.
///
/// ```
/// assert_eq!(keysweep::source::git::rfc3339(0, 0), "1970-01-01T00:00:00+00:00");
/// assert_eq!(keysweep::source::git::rfc3339(1700000000, 60), "2023-11-14T23:13:20+01:00");
/// ```
pub fn rfc3339(secs: i64, offset_minutes: i32) -> String {
    let local = secs + offset_minutes as i64 * 60;
    let days = local.div_euclid(86_400);
    let rem = local.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let off = offset_minutes.abs();
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        off / 60,
        off % 60
    )
}
