//! A bounded, deterministic fuzz run that `cargo test` (and so `.ci/run`)
//! executes in seconds: seed inputs for every parser keysweep runs on
//! scanned content, mutated by a fixed-seed generator, through format
//! detection and parsing, the matcher with all rules, the JSONC parser, the
//! RE2 translation, the gitleaks config loader, baseline and report reading
//! and encoded-value decoding. Nothing may panic,
//! abort or take long. The `fuzz/` directory holds the cargo-fuzz targets
//! for open-ended runs; regression inputs they find live in
//! `fuzz/regressions/<target>/` and are replayed here through every path.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use keysweep::blob::Origin;
use keysweep::diag::Messages;
use keysweep::matcher::Scratch;
use keysweep::rules::{Confidence, RuleSet};
use keysweep::scan::Scanner;

const SEEDS: &[&str] = &[
    "{\"cells\":[{\"cell_type\":\"code\",\"source\":[\"k='ghp_x'\"],\"outputs\":[]}],\"nbformat\":4}",
    "{\"mcpServers\":{\"a\":{\"command\":\"npx\",\"env\":{\"TOKEN\":\"sk-abc\"},\"url\":\"https://u:p@h/x\"}}}",
    "// c\n{\"servers\": {\"x\": {\"type\": \"http\", \"headers\": {\"Authorization\": \"Bearer abc\"},}}}",
    "jobs:\n  b:\n    env:\n      TOKEN: abc\n    steps:\n      - run: echo ${{ secrets.X }}\n",
    "variables:\n  A: &a {b: [1, 2, *a]}\nscript:\n  - |\n    export K=v\n",
    "[mcp_servers.x]\ncommand = \"npx\"\nenv = { KEY = \"abc\" }\n",
    "a=Z2hwX0FCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaYWJjZGVmZ2hpams=\nb=6768705f41424344\n",
    "\u{feff}{\"mcpServers\":{}}",
    "{\"keysweep_baseline\":1,\"salt\":\"00\"}\n{\"path\":\"a\",\"rule\":\"r\",\"secret_hash\":\"00\"}\n",    "{\"findings\":[{\"rule_id\":\"r\",\"path\":\"a\",\"line\":1,\"column\":1,\"secret\":\"s\"}]}",
    "mcpServers:\n  - name: x\n    env:\n      API_KEY: abcdef123456\n",
];

/// Paths that make format detection choose each parser.
const PATHS: &[&str] = &[
    "a.ipynb",
    ".mcp.json",
    ".vscode/mcp.json",
    ".codex/config.toml",
    ".gitlab-ci.yml",
    ".github/workflows/ci.yml",
    "bitbucket-pipelines.yml",
    "plain.txt",
];

const REGEXES: &[&str] = &[
    r"(?i)\b(ghp_[a-z0-9]{36})\b",
    r"\p{L}+[[:alpha:]]\Q.*\E(?P<x>a)",
    r"(?s:.)\z\C{2,}",
    r"[^\x00-\x{10FFFF}]",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One mutation of `input`: bytes flipped, structure repeated (deep
/// nesting), bytes inserted or cut, a BOM or a NUL added.
fn mutate(rng: &mut Rng, input: &mut Vec<u8>) {
    const TOKENS: &[&[u8]] = &[
        b"[",
        b"{",
        b"- ",
        b"\"",
        b"\\",
        b"\n",
        b"&a ",
        b"*a",
        b"${{",
        b"\xef\xbb\xbf",
        b"\xff\xfe",
        b"\0",
        b"\r",
        b"=",
        b":",
        b"#",
        b"'",
        b"/*",
        b"ghp_",
    ];
    let at = rng.below(input.len() + 1);
    match rng.below(5) {
        0 if !input.is_empty() => {
            let i = rng.below(input.len());
            input[i] ^= 1 << rng.below(8);
        }
        1 => {
            let t = TOKENS[rng.below(TOKENS.len())];
            let most = if rng.below(8) == 0 { 3000 } else { 4 };
            let n = 1 + rng.below(most);
            let rep: Vec<u8> = t.iter().copied().cycle().take(t.len() * n).collect();
            input.splice(at..at, rep);
        }
        2 if !input.is_empty() => {
            let end = (at + rng.below(16)).min(input.len());
            input.drain(at..end);
        }
        3 => {
            let b = rng.next() as u8;
            input.insert(at, b);
        }
        _ => input.truncate(at),
    }
}

fn exercise(scanner: &Scanner, scratch: &mut Scratch, messages: &Messages, input: &[u8]) {
    for p in PATHS {
        let origin = Origin::File(p.into());
        let _ = scanner.scan_bytes_with(input, &origin, scratch, messages);
    }
    let _ = keysweep::format::jsonc::parse(input);
    // YAML and TOML MCP configs: the scanner's paths above reach them only
    // when the content looks like one.
    let _ = keysweep::format::mcp::literals(keysweep::format::Client::Continue, input);
    let _ = keysweep::format::mcp::literals(keysweep::format::Client::Codex, input);
    keysweep::format::encoded::decode_runs(input, |r, _, _| assert!(r.end <= input.len()));
    keysweep::format::encoded::percent_runs(input, |r, _| assert!(r.end <= input.len()));
    let text = String::from_utf8_lossy(input);
    let _ = keysweep::gitleaks::GitleaksConfig::parse(&text, Path::new("g.toml"), Path::new("/"));
    let _ = keysweep::triage::Baseline::parse(&text, Path::new("b.jsonl"), Path::new("/"));
    let _ = keysweep::cli::parse_report(&text, Path::new("r.json"));
}

/// The files under `fuzz/regressions/`, one level of per-target
/// directories included (the layout `scripts/fuzz.sh` reads).
fn regression_inputs() -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let mut out = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let path = e.path();
        if path.is_dir() {
            out.extend(
                std::fs::read_dir(&path)
                    .unwrap()
                    .flatten()
                    .map(|e| e.path()),
            );
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn bounded_fuzz_run_of_parsers_and_matcher() {
    let rules = Arc::new(RuleSet::builtin());
    let scanner = Scanner::new(rules, Confidence::Low);
    let mut scratch = Scratch::default();
    let messages = Messages::new(true);
    let mut rng = Rng(0x6b65_7973_7765_6570);
    let start = Instant::now();
    let budget = Duration::from_secs(8);
    let mut runs = 0;

    // Regression inputs found by cargo-fuzz runs, replayed first.
    let regressions = regression_inputs();
    assert!(regressions.len() >= 2, "fuzz/regressions/ not found");
    for path in regressions {
        let bytes = std::fs::read(&path).unwrap();
        let one = Instant::now();
        exercise(&scanner, &mut scratch, &messages, &bytes);
        assert!(
            one.elapsed() < Duration::from_secs(3),
            "{}: slow",
            path.display()
        );
        if let Ok(re) = std::str::from_utf8(&bytes) {
            let _ = keysweep::gitleaks::re2::translate(re);
        }
        runs += 1;
    }
    for re in REGEXES {
        let _ = keysweep::gitleaks::re2::translate(re);
    }
    'outer: for round in 0.. {
        for seed in SEEDS {
            if start.elapsed() > budget || round >= 300 {
                break 'outer;
            }
            let mut input = seed.as_bytes().to_vec();
            for _ in 0..1 + rng.below(6) {
                mutate(&mut rng, &mut input);
            }
            let one = Instant::now();
            exercise(&scanner, &mut scratch, &messages, &input);
            assert!(
                one.elapsed() < Duration::from_secs(3),
                "slow input ({:?}): {:?}",
                one.elapsed(),
                String::from_utf8_lossy(&input)
            );
            let mut re = String::from_utf8_lossy(&input).into_owned();
            let cut = (0..=re.len().min(200))
                .rev()
                .find(|&i| re.is_char_boundary(i))
                .unwrap_or(0);
            re.truncate(cut);
            let _ = keysweep::gitleaks::re2::translate(&re);
            runs += 1;
        }
    }
    assert!(runs > 50, "only {runs} inputs ran");
}
