use std::collections::HashMap;
use std::io::{self, Write};

use serde_json::{json, Value};

use super::{Report, Reporter};
use crate::finding::SuppressReason;
use crate::rules::{Confidence, Severity};

/// SARIF 2.1.0 as GitHub code scanning accepts it: every selected rule in
/// `tool.driver.rules`, one result per finding with one physical location, and
/// the finding's fingerprint as `primaryLocationLineHash` so alerts survive
/// line moves.
pub struct Sarif;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// GitHub ranks alerts by this number (0–10).
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
    }
}

fn precision(c: Confidence) -> &'static str {
    match c {
        Confidence::High => "very-high",
        Confidence::Medium => "high",
        Confidence::Low => "medium",
    }
}

/// A relative URI reference for a path: forward slashes, and everything but
/// unreserved characters and `/` percent-encoded.
fn uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let mut out = String::with_capacity(path.len() + 7);
    if path.starts_with('/') {
        out.push_str("file://");
    }
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A rule as `tool.driver.rules` lists it.
fn rule_descriptor(r: &crate::rules::Rule) -> Value {
    let s = &r.spec;
    let full = if s.description.trim().is_empty() {
        s.name.clone()
    } else {
        s.description.trim().to_string()
    };
    let mut help = format!(
        "{full}\n\nRemove the secret from the file, revoke it with the provider, and \
         load it from a secret store or environment variable instead. If this is \
         not a secret, add `keysweep:allow` to the line."
    );
    if !s.references.is_empty() {
        help.push_str("\n\nReferences: ");
        help.push_str(&s.references.join(", "));
    }
    let mut v = json!({
        "id": s.id,
        "name": s.id,
        "shortDescription": {"text": s.name},
        "fullDescription": {"text": full},
        "help": {"text": help, "markdown": help},
        "helpUri": s.references.first(),
        "defaultConfiguration": {"level": level(s.severity)},
        "properties": {
            "tags": ["security", "secret", r.provider],
            "precision": precision(s.confidence),
            "security-severity": security_severity(s.severity),
        },
    });
    if v["helpUri"].is_null() {
        v.as_object_mut().expect("object").remove("helpUri");
    }
    v
}

/// One finding as a SARIF result, with `ruleIndex` from `index`.
fn result(f: &crate::finding::Finding, index: &HashMap<&str, usize>) -> Value {
    let mut message = format!("{} found: {}", f.rule_name, f.secret);
    if let Some(server) = &f.mcp_server {
        let client = f.mcp_client.map_or("MCP client", |c| c.name());
        message.push_str(&format!(" (MCP server \"{server}\" in a {client} config)"));
    }
    if let (Some(cell), Some(line)) = (f.cell, f.cell_line) {
        message.push_str(&format!(" (notebook cell {cell}, line {line})"));
    }
    if let Some(d) = &f.decoded {
        message.push_str(&format!(" (decoded from {d})"));
    }
    if let Some(fix) = &f.fix {
        message.push_str(". Fix: ");
        message.push_str(fix);
    }
    let mut result = json!({
        "ruleId": f.rule_id,
        "level": level(f.severity),
        "message": {"text": message},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": {"uri": uri(&f.path)},
                "region": {
                    "startLine": f.line,
                    "startColumn": f.column,
                    "endLine": f.end_line,
                    // SARIF's end column is exclusive.
                    "endColumn": f.end_column + 1,
                }
            }
        }],
        "partialFingerprints": {"primaryLocationLineHash": f.fingerprint},
        "properties": {
            "confidence": f.confidence,
            "severity": f.severity,
            "entropy": f.entropy,
            "provider": f.provider,
        },
    });
    if let Some(g) = &f.git {
        let props = result["properties"].as_object_mut().expect("object");
        for (k, v) in [
            ("commit", &g.commit),
            ("author", &g.author),
            ("email", &g.email),
            ("date", &g.date),
            ("message", &g.message),
            ("blob", &g.blob),
        ] {
            props.insert(k.to_string(), json!(v));
        }
        props.insert("status".into(), json!(g.status));
        props.insert("occurrences".into(), json!(g.occurrences));
    }
    if let Some(repo) = &f.repo {
        result["properties"]["repo"] = json!(repo);
    }
    if let Some(&i) = index.get(f.rule_id.as_str()) {
        result["ruleIndex"] = json!(i);
    }
    // Format facts go with the other properties, under the same
    // names as in the JSON output.
    let props = result["properties"].as_object_mut().expect("properties");
    let extra = [
        ("cell", json!(f.cell)),
        ("cell_line", json!(f.cell_line)),
        ("cell_part", json!(f.cell_part)),
        ("decoded", json!(f.decoded)),
        ("mcp_client", json!(f.mcp_client)),
        ("mcp_server", json!(f.mcp_server)),
        ("ci_system", json!(f.ci_system)),
        ("variable", json!(f.variable)),
        ("fix", json!(f.fix)),
    ];
    for (k, v) in extra {
        if !v.is_null() {
            props.insert(k.to_string(), v);
        }
    }
    if let Some(c) = &f.offline_check {
        result["properties"]["offline_check"] = json!(c);
    }
    if let Some(r) = &f.revocation {
        result["properties"]["revocation"] = json!(r);
    }
    if let Some(v) = &f.validation {
        result["properties"]["validation"] = json!(v);
        result["message"]["text"] = json!(format!(
            "{} found ({}): {}",
            f.rule_name, v.status, f.secret
        ));
    }
    if let Some(s) = &f.suppressed {
        // Viewers such as GitHub code scanning close suppressed
        // results instead of raising alerts.
        let kind = match s.reason {
            SuppressReason::Inline => "inSource",
            _ => "external",
        };
        result["suppressions"] = json!([{
            "kind": kind,
            "status": "accepted",
            "justification": format!("{}: {}", s.reason, s.detail),
        }]);
    }
    result
}

impl Reporter for Sarif {
    fn write(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        let mut index = HashMap::new();
        let rules: Vec<Value> = report
            .rules
            .rules()
            .iter()
            .enumerate()
            .map(|(i, r)| {
                index.insert(r.spec.id.as_str(), i);
                rule_descriptor(r)
            })
            .collect();
        let results: Vec<Value> = report.shown().iter().map(|f| result(f, &index)).collect();

        let doc = json!({
            "$schema": SCHEMA,
            "version": "2.1.0",
            "runs": [{
                "tool": {"driver": {
                    "name": "keysweep",
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "informationUri": "https://github.com/keysweep/keysweep",
                    "rules": rules,
                }},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }],
        });
        serde_json::to_writer_pretty(&mut *out, &doc)?;
        writeln!(out)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn uri_encoding() {
        assert_eq!(super::uri("src/a b.rs"), "src/a%20b.rs");
        assert_eq!(super::uri("dir\\file#1"), "dir/file%231");
        assert_eq!(super::uri("/tmp/x"), "file:///tmp/x");
    }
}
