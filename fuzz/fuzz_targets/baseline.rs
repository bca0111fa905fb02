//! Baseline parsing.
#![no_main]

use std::path::Path;

use keysweep::triage::Baseline;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = Baseline::parse(&text, Path::new(".keysweep-baseline.jsonl"), Path::new("/"));
});
