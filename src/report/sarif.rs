use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

use serde_json::{json, Value};

use super::{Report, Reporter};
use crate::finding::{Finding, SuppressReason};
use crate::rules::{Confidence, Severity};

/// SARIF 2.1.0 as GitHub code scanning accepts it: every selected rule in
/// `tool.driver.rules`, one result per finding with one physical location, and
/// the finding's fingerprint as `primaryLocationLineHash` so alerts survive
/// line moves.
///
/// Locations are relative to the repository root (`%SRCROOT%`), wherever the
/// scan was started and however its paths were written: GitHub resolves
/// them against the root, and `scan $PWD`, `cd src && scan` or `scan ../x`
/// must all name `src/app.py`.
pub struct Sarif;

/// Where the scan ran and the repository it ran in: the base of every
/// location, and the run's provenance.
struct Context {
    cwd: PathBuf,
    /// The repository's work tree, else the current directory.
    root: PathBuf,
    vcs: Option<Value>,
}

impl Context {
    /// Finds the repository containing `near` (the first scanned file) or
    /// else the current directory.
    fn new(near: Option<&Path>) -> Context {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        let start = near.map_or_else(|| cwd.clone(), |p| normalize(&cwd.join(p)));
        let dir = start.ancestors().find(|d| d.is_dir()).unwrap_or(&cwd);
        let repo = git2::Repository::discover(dir).ok();
        let root = repo
            .as_ref()
            .and_then(|r| r.workdir().map(normalize))
            .unwrap_or_else(|| cwd.clone());
        let vcs = repo.as_ref().and_then(provenance);
        Context { cwd, root, vcs }
    }

    /// The location of `path`: relative to the root with `%SRCROOT%`, or
    /// an absolute `file://` URI when it lies outside.
    fn location(&self, path: &str, from_history: bool) -> Value {
        // History paths are already relative to their repository's root.
        if from_history {
            return json!({"uri": uri(path), "uriBaseId": "%SRCROOT%"});
        }
        let abs = normalize(&self.cwd.join(path));
        match abs.strip_prefix(&self.root) {
            Ok(rel) => json!({
                "uri": uri(&rel.to_string_lossy()),
                "uriBaseId": "%SRCROOT%",
            }),
            Err(_) => json!({"uri": uri(&abs.to_string_lossy())}),
        }
    }
}

/// `versionControlProvenance`: repository URL (credentials removed),
/// commit and branch.
fn provenance(repo: &git2::Repository) -> Option<Value> {
    let head = repo.head().ok()?;
    let commit = head.peel_to_commit().ok()?.id().to_string();
    let url = repo
        .find_remote("origin")
        .ok()
        .and_then(|r| r.url().ok().map(strip_credentials))
        .or_else(|| {
            // Actions checkouts may have no origin URL worth using.
            let server = std::env::var("GITHUB_SERVER_URL").ok()?;
            let name = std::env::var("GITHUB_REPOSITORY").ok()?;
            Some(format!("{server}/{name}"))
        });
    let mut v = json!({"revisionId": commit});
    if let Some(u) = url {
        v["repositoryUri"] = json!(u);
    }
    if head.is_branch() {
        if let Ok(b) = head.name() {
            v["branch"] = json!(b);
        }
    }
    // SARIF requires repositoryUri.
    v.get("repositoryUri").is_some().then_some(v)
}

/// `https://user:token@host/x` → `https://host/x`.
fn strip_credentials(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// Removes `.` and resolves `..` lexically (paths need not exist).
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// A directory as a `file://` URI with a trailing slash, as
/// `originalUriBaseIds` requires.
fn dir_uri(p: &Path) -> String {
    let mut u = uri(&p.to_string_lossy());
    if !u.ends_with('/') {
        u.push('/');
    }
    u
}

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

/// A URI reference for a path (RFC 3986, as SARIF §3.10 asks): everything
/// but unreserved characters and the separators percent-encoded. On Windows
/// `\` separates directories and becomes `/`; elsewhere it is an ordinary
/// character of a file name (possibly a hostile one) and becomes `%5C`, so a
/// viewer never reads `a\..\..\x` as a path that climbs out of the root.
fn uri(path: &str) -> String {
    uri_for(path, cfg!(windows))
}

fn uri_for(path: &str, windows: bool) -> String {
    let path = if windows {
        path.replace('\\', "/")
    } else {
        path.to_string()
    };
    let mut out = String::with_capacity(path.len() + 8);
    let bytes = path.as_bytes();
    // `C:/x` is absolute on Windows: `file:///C:/x`, the drive's colon kept.
    let drive =
        windows && bytes.len() >= 3 && bytes[0].is_ascii_alphabetic() && &bytes[1..3] == b":/";
    let rest = if drive {
        out.push_str("file:///");
        out.push(bytes[0] as char);
        out.push(':');
        &bytes[2..]
    } else {
        if path.starts_with('/') {
            out.push_str("file://");
        }
        bytes
    };
    for &b in rest {
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
fn result(f: &crate::finding::Finding, index: &HashMap<&str, usize>, ctx: &Context) -> Value {
    let mut result = json!({
        "ruleId": f.rule.id,
        "level": level(f.rule.severity),
        "message": {"text": message(f)},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": ctx.location(&f.location.path, f.git.is_some()),
                "region": {
                    "startLine": f.location.line,
                    "startColumn": f.location.column,
                    "endLine": f.location.end_line,
                    // SARIF's end column is exclusive.
                    "endColumn": f.location.end_column + 1,
                }
            }
        }],
        "partialFingerprints": {"primaryLocationLineHash": f.matched.fingerprint},
        "properties": properties(f),
    });
    if let Some(&i) = index.get(f.rule.id.as_str()) {
        result["ruleIndex"] = json!(i);
    }
    if let Some(v) = &f.annotations.validation {
        result["message"]["text"] = json!(format!(
            "{} found ({}): {}",
            f.rule.name, v.status, f.matched.secret
        ));
    }
    if let Some(s) = &f.annotations.suppressed {
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

/// The result's message: rule, secret (as shown), and where it came from.
fn message(f: &crate::finding::Finding) -> String {
    let mut message = format!("{} found: {}", f.rule.name, f.matched.secret);
    if let Some(g) = &f.git {
        let short = crate::blob::short_id(&g.commit);
        message.push_str(&format!(" (added in commit {short}: {})", g.message));
    }
    if let Some(server) = &f.place.mcp_server {
        let client = f.place.mcp_client.map_or("MCP client", |c| c.name());
        message.push_str(&format!(" (MCP server \"{server}\" in a {client} config)"));
    }
    if let (Some(cell), Some(line)) = (f.place.cell, f.place.cell_line) {
        message.push_str(&format!(" (notebook cell {cell}, line {line})"));
    }
    if let Some(d) = &f.place.decoded {
        message.push_str(&format!(" (decoded from {d})"));
    }
    if let Some(fix) = &f.place.fix {
        message.push_str(". Fix: ");
        message.push_str(fix);
    }
    message
}

/// The result's properties: scores, git provenance, and the format facts
/// and checks under the same names as in the JSON output.
fn properties(f: &crate::finding::Finding) -> Value {
    let mut props = serde_json::Map::new();
    props.insert("confidence".into(), json!(f.rule.confidence));
    props.insert("severity".into(), json!(f.rule.severity));
    props.insert("entropy".into(), json!(f.matched.entropy));
    props.insert("provider".into(), json!(f.rule.provider));
    if let Some(g) = &f.git {
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
    let extra = [
        ("repo", json!(f.annotations.repo)),
        ("cell", json!(f.place.cell)),
        ("cell_line", json!(f.place.cell_line)),
        ("cell_part", json!(f.place.cell_part)),
        ("decoded", json!(f.place.decoded)),
        ("mcp_client", json!(f.place.mcp_client)),
        ("mcp_server", json!(f.place.mcp_server)),
        ("ci_system", json!(f.place.ci_system)),
        ("variable", json!(f.place.variable)),
        ("fix", json!(f.place.fix)),
        ("offline_check", json!(f.annotations.offline_check)),
        ("revocation", json!(f.annotations.revocation)),
        ("validation", json!(f.annotations.validation)),
        ("analysis", json!(f.annotations.analysis)),
    ];
    for (k, v) in extra {
        if !v.is_null() {
            props.insert(k.to_string(), v);
        }
    }
    Value::Object(props)
}

/// `tool`: keysweep with `rules` as its rule table.
fn tool(rules: Vec<Value>) -> Value {
    json!({"driver": {
        "name": "keysweep",
        "version": env!("CARGO_PKG_VERSION"),
        "semanticVersion": env!("CARGO_PKG_VERSION"),
        "informationUri": "https://github.com/keysweep/keysweep",
        "rules": rules,
    }})
}

/// Whether the report is of a sweep: findings from many repositories.
fn is_sweep(report: &Report<'_>) -> bool {
    report.summary.sweep.is_some() || report.findings.iter().any(|f| f.annotations.repo.is_some())
}

/// A sweep's runs: one per repository (those the run reached, with or
/// without findings, so a viewer can close alerts of a cleaned repository,
/// and those the findings name), each with its provenance.
fn sweep_runs(report: &Report<'_>) -> Vec<Value> {
    let shown = report.shown();
    let rows: &[crate::sweep::RepoSummary] = report
        .summary
        .sweep
        .as_ref()
        .map_or(&[], |s| s.repositories.as_slice());
    let mut by_repo: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for r in rows {
        by_repo.entry(r.repo.as_str()).or_default();
    }
    for f in &shown {
        let repo = f.annotations.repo.as_deref().unwrap_or_default();
        by_repo.entry(repo).or_default().push(f);
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    by_repo
        .into_iter()
        .map(|(repo, findings)| {
            let row = rows.iter().find(|r| r.repo == repo);
            repo_run(report, repo, row, &findings, &cwd)
        })
        .collect()
}

/// The run of one swept repository: only the rules its results use (a
/// sweep of thousands of repositories must not repeat the whole table in
/// each), and `versionControlProvenance` naming the repository without
/// credentials, with the commit and branch of its `HEAD` when known.
fn repo_run(
    report: &Report<'_>,
    repo: &str,
    row: Option<&crate::sweep::RepoSummary>,
    findings: &[&Finding],
    cwd: &Path,
) -> Value {
    let mut index = HashMap::new();
    let mut rules = Vec::new();
    for f in findings {
        if let Some(r) = report.rules.get(&f.rule.id) {
            index.entry(f.rule.id.as_str()).or_insert_with(|| {
                rules.push(rule_descriptor(r));
                rules.len() - 1
            });
        }
    }
    let ctx = Context {
        cwd: cwd.to_path_buf(),
        root: cwd.to_path_buf(),
        vcs: None,
    };
    let results: Vec<Value> = findings.iter().map(|f| result(f, &index, &ctx)).collect();
    let failed = row.and_then(|r| r.error.as_deref().or((r.status == "failed").then_some("")));
    let mut invocation = json!({"executionSuccessful": failed.is_none()});
    if let Some(e) = failed.filter(|e| !e.is_empty()) {
        invocation["toolExecutionNotifications"] =
            json!([{"level": "error", "message": {"text": e}}]);
    }
    let uri = repository_uri(repo);
    let mut run = json!({
        "tool": tool(rules),
        // One category per repository: code scanning keeps each one's alerts.
        "automationDetails": {"id": format!("keysweep/sweep/{uri}/")},
        "invocations": [invocation],
        "columnKind": "unicodeCodePoints",
        "results": results,
    });
    if !repo.is_empty() {
        let mut vcs = json!({
            "repositoryUri": uri,
            // Result locations are relative to the repository's root.
            "mappedTo": {"uriBaseId": "%SRCROOT%"},
        });
        if let Some(rev) = row.and_then(|r| r.revision.as_deref()) {
            vcs["revisionId"] = json!(rev);
        }
        if let Some(b) = row.and_then(|r| r.branch.as_deref()) {
            vcs["branch"] = json!(b);
        }
        run["versionControlProvenance"] = json!([vcs]);
    }
    run
}

/// A swept repository as an absolute URI without credentials: a URL loses
/// its user, password, query and fragment (where tokens hide); `git@host:o/r`
/// becomes `ssh://host/o/r`; a local path becomes a `file://` URI.
fn repository_uri(repo: &str) -> String {
    if let Ok(mut u) = url::Url::parse(repo) {
        // `C:\x` parses with scheme `c`: a Windows path, not a URL.
        if u.scheme().len() > 1 {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            return u.to_string();
        }
    }
    if !repo.contains("://") {
        if let Some((host, path)) = repo.split_once(':') {
            if host.len() > 1 && !host.contains('/') {
                let host = host.rsplit('@').next().unwrap_or(host);
                return format!("ssh://{host}/{}", uri(path.trim_start_matches('/')));
            }
        }
    }
    let abs = std::path::absolute(repo).unwrap_or_else(|_| PathBuf::from(repo));
    uri(&normalize(&abs).to_string_lossy())
}

impl Reporter for Sarif {
    fn write(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        if is_sweep(report) {
            let doc = json!({
                "$schema": SCHEMA,
                "version": "2.1.0",
                "runs": sweep_runs(report),
            });
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            return writeln!(out);
        }
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
        let first_file = report
            .findings
            .iter()
            .find(|f| f.git.is_none())
            .map(|f| Path::new(&f.location.path));
        let ctx = Context::new(first_file);
        let results: Vec<Value> = report
            .shown()
            .iter()
            .map(|f| result(f, &index, &ctx))
            .collect();

        // Code scanning keeps one set of alerts per category: history and
        // file scans of the same repository must not close each other's.
        let kind = if report.summary.scan.git.is_some() {
            "history"
        } else {
            "files"
        };
        let mut run = json!({
            "tool": tool(rules),
            "automationDetails": {"id": format!("keysweep/{kind}/")},
            "invocations": [{
                "executionSuccessful": report.summary.scan.errors == 0,
                "workingDirectory": {"uri": dir_uri(&ctx.cwd)},
            }],
            "originalUriBaseIds": {"%SRCROOT%": {"uri": dir_uri(&ctx.root)}},
            "columnKind": "unicodeCodePoints",
            "results": results,
        });
        if let Some(v) = ctx.vcs {
            run["versionControlProvenance"] = json!([v]);
        }
        let doc = json!({
            "$schema": SCHEMA,
            "version": "2.1.0",
            "runs": [run],
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
        assert_eq!(super::uri_for("dir\\file#1", true), "dir/file%231");
        assert_eq!(super::uri_for("dir\\file#1", false), "dir%5Cfile%231");
        assert_eq!(
            super::uri_for("C:\\src\\a b.rs", true),
            "file:///C:/src/a%20b.rs"
        );
        // A hostile name cannot climb out of the root or end the path.
        assert_eq!(
            super::uri_for("a\\..\\..\\x?y", false),
            "a%5C..%5C..%5Cx%3Fy"
        );
        assert_eq!(super::uri_for("c:x", false), "c%3Ax");
        assert_eq!(super::uri("/tmp/x"), "file:///tmp/x");
    }

    #[test]
    fn locations_are_relative_to_the_root_wherever_the_scan_started() {
        use std::path::PathBuf;
        let ctx = super::Context {
            cwd: PathBuf::from("/r/src"),
            root: PathBuf::from("/r"),
            vcs: None,
        };
        for p in ["app.py", "/r/src/app.py", "../src/app.py", "./app.py"] {
            assert_eq!(ctx.location(p, false)["uri"], "src/app.py", "{p}");
            assert_eq!(ctx.location(p, false)["uriBaseId"], "%SRCROOT%");
        }
        assert_eq!(
            ctx.location("/elsewhere/x", false)["uri"],
            "file:///elsewhere/x"
        );
        assert_eq!(ctx.location("lib/a.rs", true)["uri"], "lib/a.rs");
        assert_eq!(
            super::strip_credentials("https://u:t@github.com/o/r.git"),
            "https://github.com/o/r.git"
        );
    }

    #[test]
    fn repository_uris_never_carry_credentials() {
        use super::repository_uri;
        for (repo, want) in [
            (
                "https://x-access-token:ghp_x@github.com/o/r.git",
                "https://github.com/o/r.git",
            ),
            (
                "https://gitlab.example/g/r.git?private_token=t#frag",
                "https://gitlab.example/g/r.git",
            ),
            ("https://u:***@host/r", "https://host/r"),
            ("git@github.com:o/r.git", "ssh://github.com/o/r.git"),
            ("ssh://git@host:2222/r", "ssh://host:2222/r"),
            ("file:///srv/git/r", "file:///srv/git/r"),
        ] {
            assert_eq!(repository_uri(repo), want, "{repo}");
        }
        let local = repository_uri("repos/a b");
        assert!(local.starts_with("file:///"), "{local}");
        assert!(local.ends_with("/repos/a%20b"), "{local}");
    }
}
