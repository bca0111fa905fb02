//! Embeds the bundled rules into the binary.
//!
//! The scanner never needs a rule's examples, and parsing YAML costs milliseconds
//! that a pre-commit hook cannot spare, so each `rules/*.yml` is converted here to
//! compact JSON without examples. The original YAML is embedded as well, for
//! `keysweep rules check`.
//!
//! Rules the format stage reports by position (`rules/format/*.yml`, no
//! pattern) are a list of their own, loaded after the pattern rules. Validator
//! files (`rules/validators/*.yml`, rule id → `validate:` section) are embedded
//! as JSON too; they are attached to the bundled rules by id. So are analyzer
//! files (`rules/analyzers/*.yml`) and revoker files (`rules/revokers/*.yml`).

use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() {
    let rules_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let mut out = String::new();
    rule_files(&mut out, "EMBEDDED", &yaml_files(&rules_dir));
    rule_files(
        &mut out,
        "EMBEDDED_FORMAT",
        &yaml_files(&rules_dir.join("format")),
    );

    out.push_str("pub static EMBEDDED_VALIDATORS: &[EmbeddedValidatorFile] = &[\n");
    for path in &yaml_files(&rules_dir.join("validators")) {
        let json = serde_json::to_string(&parse(path)).unwrap();
        out.push_str(&format!(
            "    EmbeddedValidatorFile {{ name: {:?}, json: {json:?} }},\n",
            stem(path)
        ));
    }
    out.push_str("];\n");
    spec_files(&mut out, "EMBEDDED_ANALYZERS", &rules_dir.join("analyzers"));
    spec_files(&mut out, "EMBEDDED_REVOKERS", &rules_dir.join("revokers"));
    let dest = Path::new(&env::var("OUT_DIR").unwrap()).join("embedded_rules.rs");
    fs::write(dest, out).unwrap();
}

/// `pub static NAME: &[EmbeddedSpecFile]` for analyzer or revoker files.
fn spec_files(out: &mut String, name: &str, dir: &Path) {
    out.push_str(&format!("pub static {name}: &[EmbeddedSpecFile] = &[\n"));
    for path in &yaml_files(dir) {
        let json = serde_json::to_string(&parse(path)).unwrap();
        out.push_str(&format!(
            "    EmbeddedSpecFile {{ name: {:?}, json: {json:?} }},\n",
            stem(path)
        ));
    }
    out.push_str("];\n");
}

/// `pub static NAME: &[EmbeddedRuleFile]` for rule files, examples left out of
/// the JSON.
fn rule_files(out: &mut String, name: &str, paths: &[PathBuf]) {
    out.push_str(&format!("pub static {name}: &[EmbeddedRuleFile] = &[\n"));
    for path in paths {
        let mut doc = parse(path);
        if let Some(rules) = doc.get_mut("rules").and_then(|r| r.as_array_mut()) {
            for rule in rules {
                if let Some(obj) = rule.as_object_mut() {
                    obj.remove("examples");
                    obj.remove("negative_examples");
                    obj.remove("generic_examples");
                }
            }
        }
        let json = serde_json::to_string(&doc).unwrap();
        out.push_str(&format!(
            "    EmbeddedRuleFile {{ name: {:?}, json: {json:?}, yaml: include_str!({:?}) }},\n",
            stem(path),
            path.display().to_string()
        ));
    }
    out.push_str("];\n");
}

fn parse(path: &Path) -> serde_json::Value {
    let text = fs::read_to_string(path).expect("readable rule file");
    serde_saphyr::from_str(&text)
        .unwrap_or_else(|e| panic!("{}: invalid YAML: {e}", path.display()))
}

fn stem(path: &Path) -> String {
    path.file_stem().unwrap().to_string_lossy().into_owned()
}

/// The `.yml`/`.yaml` files in `dir`, sorted; none when it does not exist.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.expect("rules directory entry").path())
                .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    files
}
