//! The top-level modules of `src/` form layers: each may use only the modules
//! listed before it in [`LAYERS`], so data flows one way and no two modules
//! depend on each other. Edges are read from the source (`crate::module`
//! paths), the same way `../shared/tools/module-cycles` reads them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Lowest first. `src/lib.rs` describes the same order.
const LAYERS: &[&str] = &[
    "time",
    "diag",
    "blob",
    "rules",
    "format",
    "matcher",
    "generic",
    "finding",
    "triage",
    "source",
    "scan",
    "net",
    "validate",
    "analyze",
    "revoke",
    "datastore",
    "sweep",
    "report",
    "gitleaks",
    "config",
    "cli",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level modules each file of `src/` names through `crate::…`,
/// comments left out (doc links say nothing about dependencies).
fn edges(src: &Path) -> BTreeMap<String, BTreeMap<String, PathBuf>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut out: BTreeMap<String, BTreeMap<String, PathBuf>> = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs").to_string();
        if module == "lib" || module == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        let code: String = text
            .lines()
            .map(|l| l.split("//").next().unwrap())
            .collect::<Vec<_>>()
            .join("\n");
        for n in crate_paths(&code) {
            if n != module && n != "self" {
                out.entry(module.clone())
                    .or_default()
                    .entry(n)
                    .or_insert_with(|| rel.to_path_buf());
            }
        }
    }
    out
}

/// The first segment of each `crate::` path in `code`; a `crate::{…}` group
/// (over several lines too) gives the first segment of each of its items.
fn crate_paths(code: &str) -> Vec<String> {
    let ident_end = |s: &str| {
        s.find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(s.len())
    };
    let mut names = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let Some(group) = rest.strip_prefix('{') else {
            names.push(rest[..ident_end(rest)].to_string());
            continue;
        };
        // Items at depth 0 of the group, each up to its comma.
        let mut depth = 0;
        let mut item_start = true;
        for (j, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => item_start = true,
                c if c.is_whitespace() => {}
                _ if item_start && depth == 0 => {
                    let item = &group[j..];
                    names.push(item[..ident_end(item)].to_string());
                    item_start = false;
                }
                _ => {}
            }
        }
    }
    names.retain(|n| !n.is_empty());
    names
}

#[test]
fn every_module_uses_only_the_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let rank = |m: &str| LAYERS.iter().position(|l| *l == m);
    let mut modules = BTreeSet::new();
    for e in std::fs::read_dir(&src).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_stem().unwrap().to_string_lossy().to_string();
        if (p.is_dir() || p.extension().is_some_and(|x| x == "rs"))
            && name != "lib"
            && name != "main"
        {
            modules.insert(name);
        }
    }
    let unlisted: Vec<_> = modules.iter().filter(|m| rank(m).is_none()).collect();
    assert!(
        unlisted.is_empty(),
        "top-level modules missing from LAYERS (give each its place): {unlisted:?}"
    );
    let mut upward = Vec::new();
    for (from, tos) in edges(&src) {
        for (to, example) in tos {
            let Some(to_rank) = rank(&to) else { continue }; // a crate path such as `crate::X` type
            if to_rank >= rank(&from).unwrap() {
                upward.push(format!("{from} -> {to} (e.g. src/{})", example.display()));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "modules that use a layer at or above their own:\n  {}",
        upward.join("\n  ")
    );
}

#[test]
fn the_edge_reader_sees_grouped_and_qualified_paths() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("scan")).unwrap();
    std::fs::write(
        dir.path().join("scan/mod.rs"),
        "use crate::{blob::Blob, rules};\n// crate::cli in a comment\nfn f() { crate::report::x(); }\n\
         use crate::{\n    finding::{self, Finding},\n    diag::Messages,\n};\n",
    )
    .unwrap();
    let e = edges(dir.path());
    let got: Vec<&String> = e["scan"].keys().collect();
    assert_eq!(got, ["blob", "diag", "finding", "report", "rules"]);
}
