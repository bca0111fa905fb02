//! Criterion benchmarks of the matcher alone (no file system).
//!
//! `cargo bench --bench matcher`. Set `KEYSWEEP_BENCH_CORPUS=DIR` to read up to
//! 64 MiB of text from DIR (e.g. the corpus from `benches/make_corpus.py`);
//! otherwise keysweep's own sources, repeated to 8 MiB, are the haystack.

use std::path::Path;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use keysweep::matcher::{Matcher, Scratch};
use keysweep::rules::RuleSet;

fn collect(dir: &Path, limit: usize, out: &mut Vec<Vec<u8>>, total: &mut usize) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if *total >= limit {
            return;
        }
        if p.is_dir() {
            collect(&p, limit, out, total);
        } else if let Ok(b) = std::fs::read(&p) {
            *total += b.len();
            out.push(b);
        }
    }
}

fn haystacks() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut total = 0;
    if let Ok(dir) = std::env::var("KEYSWEEP_BENCH_CORPUS") {
        collect(Path::new(&dir), 64 << 20, &mut out, &mut total);
        return out;
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut once = Vec::new();
    let mut n = 0;
    collect(&src, usize::MAX, &mut once, &mut n);
    while total < 8 << 20 {
        for b in &once {
            total += b.len();
            out.push(b.clone());
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let rules = Arc::new(RuleSet::builtin());
    let matcher = Matcher::new(rules.clone());
    let hay = haystacks();
    let bytes: usize = hay.iter().map(|h| h.len()).sum();

    let mut g = c.benchmark_group("matcher");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.sample_size(10);
    g.bench_function("scan_corpus_1_thread", |b| {
        let mut scratch = Scratch::default();
        b.iter(|| {
            hay.iter()
                .map(|h| matcher.scan(h, &mut scratch).len())
                .sum::<usize>()
        })
    });
    g.finish();

    c.bench_function("startup/load_rules_and_build_matcher", |b| {
        b.iter(|| Matcher::new(Arc::new(RuleSet::builtin())))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
