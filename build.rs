//! Embeds the bundled rules into the binary.
//!
//! The scanner never needs a rule's examples, and parsing YAML costs milliseconds
//! that a pre-commit hook cannot spare, so each `rules/*.yml` is converted here to
//! compact JSON without examples. The original YAML is embedded as well, for
//! `keysweep rules check`.
//!
//! Validator files (`rules/validators/*.yml`, rule id → `validate:` section) are
//! embedded as JSON too; they are attached to the bundled rules by id.

use std::{env, fs, path::Path};

fn main() {
    let rules_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    println!("cargo:rerun-if-changed={}", rules_dir.display());
    let mut entries: Vec<_> = fs::read_dir(&rules_dir)
        .expect("rules/ directory")
        .map(|e| e.expect("rules/ entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    entries.sort();

    let mut out = String::from("pub static EMBEDDED: &[EmbeddedRuleFile] = &[\n");
    for path in &entries {
        println!("cargo:rerun-if-changed={}", path.display());
        let text = fs::read_to_string(path).expect("readable rule file");
        let mut doc: serde_json::Value = serde_yaml::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: invalid YAML: {e}", path.display()));
        if let Some(rules) = doc.get_mut("rules").and_then(|r| r.as_array_mut()) {
            for rule in rules {
                if let Some(obj) = rule.as_object_mut() {
                    obj.remove("examples");
                    obj.remove("negative_examples");
                }
            }
        }
        let stem = path.file_stem().unwrap().to_string_lossy();
        let json = serde_json::to_string(&doc).unwrap();
        out.push_str(&format!(
            "    EmbeddedRuleFile {{ name: {stem:?}, json: {json:?}, yaml: include_str!({:?}) }},\n",
            path.display().to_string()
        ));
    }
    out.push_str("];\n");

    let validators_dir = rules_dir.join("validators");
    println!("cargo:rerun-if-changed={}", validators_dir.display());
    let mut vfiles: Vec<_> = fs::read_dir(&validators_dir)
        .map(|rd| {
            rd.map(|e| e.expect("rules/validators/ entry").path())
                .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
                .collect()
        })
        .unwrap_or_default();
    vfiles.sort();
    out.push_str("pub static EMBEDDED_VALIDATORS: &[EmbeddedValidatorFile] = &[\n");
    for path in &vfiles {
        println!("cargo:rerun-if-changed={}", path.display());
        let text = fs::read_to_string(path).expect("readable validator file");
        let doc: serde_json::Value = serde_yaml::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: invalid YAML: {e}", path.display()));
        let stem = path.file_stem().unwrap().to_string_lossy();
        let json = serde_json::to_string(&doc).unwrap();
        out.push_str(&format!(
            "    EmbeddedValidatorFile {{ name: {stem:?}, json: {json:?} }},\n"
        ));
    }
    out.push_str("];\n");
    let dest = Path::new(&env::var("OUT_DIR").unwrap()).join("embedded_rules.rs");
    fs::write(dest, out).unwrap();
}
