//! Probe for issue 15: what history scanning could cost if blobs came from
//! the packs in delta-tree order (each base inflated once, each delta applied
//! once to a base still in memory) instead of one libgit2 lookup per blob.
//!
//! Prints, for all packs of a bare repository: blobs, bytes reconstructed,
//! bytes a delta *inserts* (bases count whole), those inserts widened by the
//! history dedupe margin on each side, and the wall time. `--libgit2` instead
//! reads every blob of the pack indexes through libgit2 (today's way of
//! getting blob bytes), on the same number of threads.
//!
//! ```text
//! cargo run --release --example pack_probe -- /tmp/redis.git [--threads 2] [--libgit2]
//! /usr/bin/time -f '%e s %M KiB' target/release/examples/pack_probe /tmp/git.git
//! ```

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use gix_pack::cache::delta::{traverse, Tree};
use gix_utils::progress::Discard;
use rayon::prelude::*;

#[derive(Default)]
struct Totals {
    blobs: AtomicU64,
    deltified: AtomicU64,
    reconstructed: AtomicU64,
    inserted: AtomicU64,
    with_margin: AtomicU64,
    delta_bytes: AtomicU64,
}

thread_local! {
    static SCRATCH: RefCell<(gix_zlib::Inflate, Vec<u8>)> =
        RefCell::new((gix_zlib::Inflate::default(), Vec::new()));
}

/// Reads a delta's varint size header.
fn varint(d: &[u8], at: &mut usize) -> u64 {
    let (mut v, mut shift) = (0u64, 0);
    while *at < d.len() {
        let b = d[*at];
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            break;
        }
    }
    v
}

/// The target ranges a delta inserts literally.
fn insert_ranges(delta: &[u8], out: &mut Vec<std::ops::Range<usize>>) {
    out.clear();
    let mut at = 0;
    varint(delta, &mut at);
    varint(delta, &mut at);
    let mut pos = 0usize;
    while at < delta.len() {
        let op = delta[at];
        at += 1;
        if op & 0x80 != 0 {
            let mut size = 0usize;
            let skip = (op & 0x0f).count_ones() as usize;
            at += skip;
            for (i, bit) in [0x10u8, 0x20, 0x40].iter().enumerate() {
                if op & bit != 0 {
                    size |= usize::from(delta[at]) << (8 * i);
                    at += 1;
                }
            }
            pos += if size == 0 { 0x10000 } else { size };
        } else if op != 0 {
            let n = usize::from(op);
            match out.last_mut() {
                Some(last) if last.end == pos => last.end += n,
                _ => out.push(pos..pos + n),
            }
            pos += n;
            at += n;
        }
    }
}

fn widened(ranges: &[std::ops::Range<usize>], margin: usize, len: usize) -> u64 {
    let mut total = 0u64;
    let mut end = 0usize;
    for r in ranges {
        let lo = r.start.saturating_sub(margin).max(end);
        let hi = (r.end + margin).min(len);
        if hi > lo {
            total += (hi - lo) as u64;
            end = hi;
        }
    }
    total
}

fn packs(git_dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(git_dir.join("objects/pack"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| e == "idx"));
    v.sort();
    v
}

fn probe_pack(idx_path: &Path, threads: usize, margin: usize, t: &Arc<Totals>) {
    let kind = gix_hash::Kind::Sha1;
    let index = gix_pack::index::File::at(idx_path, kind).expect("index");
    let pack = gix_pack::data::File::at(idx_path.with_extension("pack"), kind).expect("pack");
    let mut entries: Vec<_> = index.iter().collect();
    entries.sort_by_key(|e| e.pack_offset);
    let stop = AtomicBool::new(false);
    let tree = Tree::from_offsets_in_pack(
        pack.path(),
        entries.into_iter(),
        &|e| e.pack_offset,
        &|id| Ok(index.lookup(id).map(|i| index.pack_offset_at_index(i))),
        &mut Discard,
        &stop,
        kind,
    )
    .expect("delta tree");
    let totals = t.clone();
    let pack_ref = &pack;
    tree.traverse(
        |slice, pack: &gix_pack::data::File| pack.entry_slice(slice),
        &pack,
        pack.pack_end() as u64,
        move |_entry, _progress, ctx: traverse::Context<'_>| {
            if !matches!(ctx.entry.header, gix_pack::data::entry::Header::Blob) {
                return Ok(());
            }
            let len = ctx.decompressed.len();
            totals.blobs.fetch_add(1, Ordering::Relaxed);
            totals
                .reconstructed
                .fetch_add(len as u64, Ordering::Relaxed);
            if ctx.level == 0 {
                totals.inserted.fetch_add(len as u64, Ordering::Relaxed);
                totals.with_margin.fetch_add(len as u64, Ordering::Relaxed);
                return Ok(());
            }
            totals.deltified.fetch_add(1, Ordering::Relaxed);
            SCRATCH.with(|s| {
                let (inflate, buf) = &mut *s.borrow_mut();
                buf.resize(ctx.entry.decompressed_size as usize, 0);
                pack_ref
                    .decompress_entry(ctx.entry, inflate, buf)
                    .expect("delta");
                totals
                    .delta_bytes
                    .fetch_add(buf.len() as u64, Ordering::Relaxed);
                let mut ranges = Vec::new();
                insert_ranges(buf, &mut ranges);
                let ins: usize = ranges.iter().map(|r| r.len()).sum();
                totals.inserted.fetch_add(ins as u64, Ordering::Relaxed);
                totals
                    .with_margin
                    .fetch_add(widened(&ranges, margin, len), Ordering::Relaxed);
            });
            Ok(())
        },
        traverse::Options {
            object_progress: Box::new(Discard),
            size_progress: &mut Discard,
            thread_limit: Some(threads),
            should_interrupt: &stop,
            object_hash: kind,
            alloc_limit_bytes: None,
        },
    )
    .expect("traverse");
}

/// Today's way: every blob of the packs through libgit2, by id.
fn probe_libgit2(git_dir: &Path, threads: usize, t: &Totals) {
    let mut ids = Vec::new();
    for idx in packs(git_dir) {
        let index = gix_pack::index::File::at(&idx, gix_hash::Kind::Sha1).expect("index");
        ids.extend(index.iter().map(|e| e.oid));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        ids.par_chunks(256).for_each(|chunk| {
            let repo = git2::Repository::open(git_dir).expect("repo");
            let odb = repo.odb().expect("odb");
            for id in chunk {
                let oid = git2::Oid::from_bytes(id.as_slice()).unwrap();
                let Ok((_, kind)) = odb.read_header(oid) else {
                    continue;
                };
                if kind != git2::ObjectType::Blob {
                    continue;
                }
                if let Ok(b) = repo.find_blob(oid) {
                    t.blobs.fetch_add(1, Ordering::Relaxed);
                    t.reconstructed
                        .fetch_add(b.content().len() as u64, Ordering::Relaxed);
                }
            }
        })
    });
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let git_dir = PathBuf::from(args.first().expect("usage: pack_probe GIT_DIR"));
    let flag = |name: &str| args.iter().position(|a| a == name).map(|i| &args[i + 1]);
    let threads: usize = flag("--threads").map_or(2, |s| s.parse().unwrap());
    let rules = Arc::new(keysweep::rules::RuleSet::builtin());
    let margin = keysweep::scan::history::HistoryPlan::new(&rules).margin;
    let totals = Arc::new(Totals::default());
    let started = Instant::now();
    if args.iter().any(|a| a == "--libgit2") {
        probe_libgit2(&git_dir, threads, &totals);
    } else {
        for idx in packs(&git_dir) {
            probe_pack(&idx, threads, margin, &totals);
        }
    }
    let t = &totals;
    let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
    println!(
        "{}: {:.2} s, {} blobs ({} deltified), reconstructed {} B, inserted {} B ({:.1}%), \
         inserted+margin({margin}) {} B ({:.1}%), delta instructions {} B",
        git_dir.display(),
        started.elapsed().as_secs_f64(),
        g(&t.blobs),
        g(&t.deltified),
        g(&t.reconstructed),
        g(&t.inserted),
        100.0 * g(&t.inserted) as f64 / g(&t.reconstructed).max(1) as f64,
        g(&t.with_margin),
        100.0 * g(&t.with_margin) as f64 / g(&t.reconstructed).max(1) as f64,
        g(&t.delta_bytes),
    );
}
