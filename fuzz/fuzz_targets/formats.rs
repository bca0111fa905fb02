//! Every format parser (notebook, MCP JSON/JSONC/TOML, CI YAML, encoded
//! values) and the matcher with all bundled rules, on arbitrary bytes: the
//! first byte picks the path that selects the parser.
#![no_main]

use std::sync::{Arc, OnceLock};

use keysweep::blob::Origin;
use keysweep::diag::Messages;
use keysweep::matcher::Scratch;
use keysweep::rules::{Confidence, RuleSet};
use keysweep::scan::Scanner;
use libfuzzer_sys::fuzz_target;

const PATHS: &[&str] = &[
    "a.ipynb",
    ".mcp.json",
    ".vscode/mcp.json",
    ".codex/config.toml",
    ".gitlab-ci.yml",
    ".github/workflows/ci.yml",
    "plain.txt",
    ".keysweep-baseline.jsonl",
];

fuzz_target!(|data: &[u8]| {
    static SCANNER: OnceLock<Scanner> = OnceLock::new();
    let scanner =
        SCANNER.get_or_init(|| Scanner::new(Arc::new(RuleSet::builtin()), Confidence::Low));
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let origin = Origin::File(PATHS[pick as usize % PATHS.len()].into());
    let mut scratch = Scratch::default();
    let _ = scanner.scan_bytes_with(rest, &origin, &mut scratch, &Messages::new(true));
});
