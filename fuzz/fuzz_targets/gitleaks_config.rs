//! gitleaks config loading and RE2-to-Rust regex translation.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = keysweep::gitleaks::re2::translate(&text);
    let _ = keysweep::gitleaks::GitleaksConfig::parse(&text, Path::new("g.toml"), Path::new("/"));
});
