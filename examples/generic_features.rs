//! Dumps the generic detector's candidates and feature vectors as JSON
//! lines, for training (`tools/generic-model/`). Reads files only; values are
//! left out unless `--show-values` is given.
//!
//! ```text
//! cargo run --release --example generic_features -- DIR > features.jsonl
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

use keysweep::generic::{feature_rows, features};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() => walk(&p, out),
            Ok(t) if t.is_file() => out.push(p),
            _ => {}
        }
    }
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let show = args.iter().any(|a| a == "--show-values");
    args.retain(|a| a != "--show-values");
    if args.is_empty() || args[0] == "--names" {
        println!("{}", serde_json::to_string(features::NAMES).unwrap());
        return;
    }
    let root = PathBuf::from(&args[0]);
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for path in files {
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        if bytes.len() > 25 << 20 || memchr::memchr(0, &bytes[..bytes.len().min(8192)]).is_some() {
            continue;
        }
        let rel = path
            .strip_prefix(&root)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        let rows = feature_rows(&bytes, Some(&path));
        for (s, x) in rows {
            let c = &s.candidate;
            let line = memchr::memchr_iter(b'\n', &bytes[..c.value.start]).count() + 1;
            let end_line = line + memchr::memchr_iter(b'\n', &bytes[c.value.clone()]).count();
            let mut row = serde_json::json!({
                "path": rel,
                "line": line,
                "end_line": end_line,
                "start": c.value.start,
                "end": c.value.end,
                "form": c.form.name(),
                "category": s.category.name(),
                "name": String::from_utf8_lossy(&bytes[c.name.clone()]),
                "score": s.score,
                "x": x.to_vec(),
            });
            if show {
                row["value"] = String::from_utf8_lossy(&bytes[c.value.clone()]).into();
            }
            writeln!(out, "{row}").unwrap();
        }
    }
}
