//! Format-aware scanning: notebooks, MCP client configs, CI files and encoded
//! values. Fixtures live in `testdata/formats/`; the opaque literals in them
//! are random strings, and provider-shaped tokens are put in at run time
//! (`@NAME@` markers).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::common::{findings, Env, Fake};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/formats")
}

/// Copies `testdata/formats/<from>` into the temp dir (at `to`), replacing
/// `@NAME@` markers.
fn copy_fixture(env: &Env, from: &str, to: &str, subs: &HashMap<&str, String>) {
    fn walk(src: &Path, dst: &Path, subs: &HashMap<&str, String>) {
        if src.is_dir() {
            for e in std::fs::read_dir(src).unwrap() {
                let e = e.unwrap();
                walk(&e.path(), &dst.join(e.file_name()), subs);
            }
        } else {
            let mut text = std::fs::read_to_string(src).unwrap();
            for (k, v) in subs {
                text = text.replace(&format!("@{k}@"), v);
            }
            std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
            std::fs::write(dst, text).unwrap();
        }
    }
    walk(&fixtures().join(from), &env.path().join(to), subs);
}

fn b64(s: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn hex(s: &[u8]) -> String {
    s.iter().map(|b| format!("{b:02x}")).collect()
}

/// 1-based line and character column of the first `needle` in `text`.
fn locate(text: &str, needle: &str) -> (u64, u64) {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} not in text"));
    let line = text[..at].matches('\n').count() + 1;
    let start = text[..at].rfind('\n').map_or(0, |p| p + 1);
    (line as u64, text[start..at].chars().count() as u64 + 1)
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

struct Expect {
    fixture: &'static str,
    file: &'static str,
    system: &'static str,
    server: Option<&'static str>,
    variable: &'static str,
    secret: &'static str,
    fix: &'static str,
}

#[test]
fn mcp_clients_report_literals_and_never_references() {
    let cases = [
        Expect {
            fixture: "mcp/claude-desktop",
            file: "claude_desktop_config.json",
            system: "claude-desktop",
            server: Some("brave-search"),
            variable: "BRAVE_API_KEY",
            secret: "ptgUzEjfebzJ6sZWdoHIxrXl",
            fix: "Desktop Extension",
        },
        Expect {
            fixture: "mcp/claude-code",
            file: ".mcp.json",
            system: "claude-code",
            server: Some("vendor"),
            variable: "Authorization",
            secret: "0gqn87b1PZqZrmktsO3U9224",
            fix: "\"Bearer ${VENDOR_TOKEN}\"",
        },
        Expect {
            fixture: "mcp/claude-code-user",
            file: ".claude.json",
            system: "claude-code",
            server: Some("db"),
            variable: "--password",
            secret: "xf2MvQyGplpErf87038J1ta6",
            fix: "${PASSWORD}",
        },
        Expect {
            fixture: "mcp/cursor",
            file: ".cursor/mcp.json",
            system: "cursor",
            server: Some("linear"),
            variable: "LINEAR_API_KEY",
            secret: "sKT4t2WGmABMsBCkotq0Zcfc",
            fix: "\"${env:LINEAR_API_KEY}\"",
        },
        Expect {
            fixture: "mcp/vscode",
            file: ".vscode/mcp.json",
            system: "vscode",
            server: Some("perplexity"),
            variable: "PERPLEXITY_API_KEY",
            secret: "DOrHIPESvjRmeA6mOOCrlwBV",
            fix: "\"${input:perplexity-api-key}\"",
        },
        Expect {
            fixture: "mcp/windsurf",
            file: "mcp_config.json",
            system: "windsurf",
            server: Some("remote"),
            variable: "url parameter api_key",
            secret: "LuOJm5ug1dTorWLN3phv7lsD",
            fix: "?api_key=${env:REMOTE_API_KEY}",
        },
        Expect {
            fixture: "mcp/cline",
            file: "cline_mcp_settings.json",
            system: "cline",
            server: Some("stripe"),
            variable: "STRIPE_SECRET_KEY",
            secret: "bcwSf599sVR9ubusu9jXPA38",
            fix: "wrapper",
        },
        Expect {
            fixture: "mcp/continue",
            file: ".continue/mcpServers/search.yaml",
            system: "continue",
            server: Some("exa"),
            variable: "EXA_API_KEY",
            secret: "3NR0esNm5CsiqyM9kvKaxcDk",
            fix: "\"${{ secrets.EXA_API_KEY }}\"",
        },
        Expect {
            fixture: "mcp/continue-config",
            file: ".continue/config.yaml",
            system: "continue",
            server: Some("weather"),
            variable: "X-Api-Key",
            secret: "xYZxsKgCnB6nhdddVkMRjMcI",
            fix: "${{ secrets.X_API_KEY }}",
        },
        Expect {
            fixture: "mcp/zed",
            file: ".zed/settings.json",
            system: "zed",
            server: Some("vendor"),
            variable: "VENDOR_TOKEN",
            secret: "FLpuch1HsXAPmEmpCAFcoACp",
            fix: "Zed passes these values verbatim",
        },
        Expect {
            fixture: "mcp/codex",
            file: ".codex/config.toml",
            system: "codex",
            server: Some("notion"),
            variable: "NOTION_TOKEN",
            secret: "P4B1nFmccqqpHnXoA3qjud57",
            fix: "env_vars = [\"NOTION_TOKEN\"]",
        },
        Expect {
            fixture: "mcp/gemini",
            file: ".gemini/settings.json",
            system: "gemini-cli",
            server: Some("weather"),
            variable: "X-Api-Key",
            secret: "uKhKz95PP3YTVcFyfBn73K58",
            fix: "\"${X_API_KEY}\"",
        },
    ];
    for c in cases {
        check_literal(&c, "mcp-literal-credential", "mcp_client");
    }
}

#[test]
fn ci_systems_report_literals_and_never_references() {
    let ci = |fixture, file, system, variable, secret, fix| Expect {
        fixture,
        file,
        system,
        server: None,
        variable,
        secret,
        fix,
    };
    let cases = [
        ci(
            "ci/github",
            ".github/workflows/deploy.yml",
            "github-actions",
            "DEPLOY_TOKEN",
            "7kvsQEZ5Pu0AHnPZRZrv7z9F",
            "${{ secrets.DEPLOY_TOKEN }}",
        ),
        ci(
            "ci/gitlab",
            ".gitlab-ci.yml",
            "gitlab-ci",
            "SONAR_TOKEN",
            "e2r9OQmcz5NiX9rQ2d3kSODK",
            "masked",
        ),
        ci(
            "ci/circleci",
            ".circleci/config.yml",
            "circleci",
            "SENTRY_AUTH_TOKEN",
            "EVz7ynZan7kaN4qhzZXYy4oJ",
            "context",
        ),
        ci(
            "ci/azure",
            "azure-pipelines.yml",
            "azure-pipelines",
            "API_SECRET",
            "d48mkQMv05JXYE6HCbfcSMhF",
            "$(API_SECRET)",
        ),
        ci(
            "ci/bitbucket",
            "bitbucket-pipelines.yml",
            "bitbucket-pipelines",
            "AWS_SECRET_ACCESS_KEY",
            "J3qMXicxfX4H5at1w0ef9IDy",
            "secured",
        ),
        ci(
            "ci/buildkite",
            ".buildkite/pipeline.yml",
            "buildkite",
            "NPM_TOKEN",
            "nYtyoWF29zgeh6NZ4xGBA2TX",
            "buildkite-agent secret get NPM_TOKEN",
        ),
        ci(
            "ci/travis",
            ".travis.yml",
            "travis-ci",
            "API_KEY",
            "CeO48mOt71EBhZJkx3klTjuF",
            "travis encrypt",
        ),
        ci(
            "ci/jenkins",
            "Jenkinsfile",
            "jenkins",
            "SLACK_TOKEN",
            "3vqI5aTkaPthIhFYTMEHeHpA",
            "credentials('slack-token')",
        ),
    ];
    for c in cases {
        check_literal(&c, "ci-literal-credential", "ci_system");
    }
}

/// Scans one fixture: exactly one finding, the literal, with its facts and
/// its real location; the reference beside it is not reported.
fn check_literal(c: &Expect, rule: &str, system_field: &str) {
    let env = Env::new();
    copy_fixture(&env, c.fixture, "", &HashMap::new());
    let (code, json) = env.scan_json(&["--show-secrets", "."]);
    let f = findings(&json);
    assert_eq!(f.len(), 1, "{}: {json:#}", c.fixture);
    assert_eq!(code, 1);
    let f = &f[0];
    assert_eq!(f["rule_id"], rule, "{}", c.fixture);
    assert_eq!(f["path"], c.file);
    assert_eq!(f["secret"], c.secret);
    assert_eq!(f[system_field], c.system, "{}", c.fixture);
    assert_eq!(f["variable"], c.variable, "{}", c.fixture);
    if let Some(server) = c.server {
        assert_eq!(f["mcp_server"], server, "{}", c.fixture);
    }
    let fix = f["fix"].as_str().unwrap();
    assert!(fix.contains(c.fix), "{}: fix {fix:?}", c.fixture);
    assert!(!fix.contains(c.secret), "the fix never repeats the secret");
    let text = std::fs::read_to_string(env.path().join(c.file)).unwrap();
    let (line, col) = locate(&text, c.secret);
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (Some(line), Some(col))
    );
    assert_eq!(
        f["end_column"].as_u64(),
        Some(col + c.secret.len() as u64 - 1)
    );

    // Redacted by default, in the human report too.
    let out = env.cmd().args(["scan", "."]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains(c.secret), "{stdout}");
    assert!(stdout.contains(&format!("  variable     {}", c.variable)));
    assert!(stdout.contains("  fix          "), "{stdout}");
}

fn notebook_tokens() -> (HashMap<&'static str, String>, Vec<String>) {
    let mut fake = Fake::new(400);
    let toks: Vec<String> = (0..5).map(|_| fake.github_pat()).collect();
    let mut subs = HashMap::new();
    subs.insert("GITHUB_TOKEN", toks[0].clone());
    subs.insert("GITHUB_TOKEN_2", toks[1].clone());
    subs.insert("GITHUB_TOKEN_3", toks[2].clone());
    subs.insert("BASE64_GITHUB_TOKEN_4", b64(toks[3].as_bytes()));
    subs.insert("ACME_KEY", fake.alnum(32));
    (subs, toks)
}

const ACME_RULE: &str = r#"
rules:
  - id: acme-api-key
    name: ACME API key
    keywords: [api_key]
    pattern: 'api_key\s*=\s*"([A-Za-z0-9]{32})"'
"#;

#[test]
fn notebook_sources_and_outputs_are_located_by_cell() {
    let env = Env::new();
    let (subs, toks) = notebook_tokens();
    copy_fixture(&env, "notebooks/api.ipynb", "api.ipynb", &subs);
    env.write("acme.yml", ACME_RULE);
    let text = std::fs::read_to_string(env.path().join("api.ipynb")).unwrap();
    let (code, json) = env.scan_json(&["--show-secrets", "--rules", "acme.yml", "api.ipynb"]);
    assert_eq!(code, 1);
    let f = findings(&json);
    let by_secret = |s: &str| {
        let hits: Vec<_> = f.iter().filter(|x| x["secret"] == s).collect();
        assert_eq!(hits.len(), 1, "{s} reported once: {json:#}");
        hits[0].clone()
    };
    // (secret, cell, cell_line, part, text just before it in the file)
    let want = [
        (subs["ACME_KEY"].as_str(), 2, 3, "source", ""),
        (toks[0].as_str(), 2, 5, "source", ""),
        (toks[1].as_str(), 2, 2, "output", ""),
        // Reported in the text/plain rendering, not the text/html one.
        (
            toks[2].as_str(),
            3,
            1,
            "output",
            "{'Authorization': 'token ",
        ),
    ];
    for (secret, cell, cell_line, part, before) in want {
        let x = by_secret(secret);
        assert_eq!(x["cell"], cell, "{x:#}");
        assert_eq!(x["cell_line"], cell_line, "{x:#}");
        assert_eq!(x["cell_part"], part, "{x:#}");
        // `line` stays the real line in the file.
        let (line, col) = locate(&text, &format!("{before}{secret}"));
        let col = col + before.chars().count() as u64;
        assert_eq!(x["line"].as_u64(), Some(line), "{x:#}");
        assert_eq!(x["column"].as_u64(), Some(col), "{x:#}");
    }
    // The escaped quotes are gone in the snippet: the decoded source line.
    let acme = by_secret(&subs["ACME_KEY"]);
    assert_eq!(
        acme["snippet"],
        format!("api_key = \"{}\"", subs["ACME_KEY"])
    );
    // The token inside the base64 image data is never looked at, and the
    // text/plain and text/html renderings of one output give one finding.
    assert_eq!(f.len(), 4, "{json:#}");
    assert!(!json.to_string().contains(&toks[3]));

    // Read as raw JSON, the quoted key is found only by undoing the escapes
    // of the whole line, located at the line's start: the notebook format
    // locates it at its column.
    std::fs::copy(env.path().join("api.ipynb"), env.path().join("raw.json")).unwrap();
    let (_, raw) = env.scan_json(&["--rules", "acme.yml", "raw.json"]);
    let raw_acme: Vec<_> = findings(&raw)
        .iter()
        .filter(|x| x["rule_id"] == "acme-api-key")
        .collect();
    assert_eq!(raw_acme.len(), 1, "{raw:#}");
    assert_eq!(raw_acme[0]["decoded"], "json-escaped");
    assert_eq!(raw_acme[0]["column"], 1);
    assert_eq!(raw_acme[0]["line"], acme["line"]);
}

#[test]
fn notebook_human_output_names_the_cell() {
    let env = Env::new();
    let (subs, toks) = notebook_tokens();
    copy_fixture(&env, "notebooks/api.ipynb", "nb/api.ipynb", &subs);
    let out = env.cmd().args(["scan", "nb"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(
            "nb/api.ipynb:cell 2:5: GitHub personal access token (classic) (github-pat-classic)"
        ),
        "{stdout}"
    );
    let text = std::fs::read_to_string(env.path().join("nb/api.ipynb")).unwrap();
    let (line, col) = locate(&text, &toks[0]);
    assert!(
        stdout.contains(&format!(
            "  in file      line {line}, column {col} (source)"
        )),
        "{stdout}"
    );
    assert!(stdout.contains("nb/api.ipynb:cell 2:2:"), "{stdout}");
    assert!(!stdout.contains(&toks[0]), "redacted");
}

#[test]
fn nbformat3_and_stdin_notebooks() {
    let env = Env::new();
    let (subs, toks) = notebook_tokens();
    copy_fixture(&env, "notebooks/v3.ipynb", "v3.ipynb", &subs);
    let (_, json) = env.scan_json(&["--show-secrets", "v3.ipynb"]);
    let f = findings(&json);
    assert_eq!(f.len(), 1, "{json:#}");
    assert_eq!(f[0]["secret"], toks[0].as_str());
    assert_eq!(f[0]["cell"], 2);
    assert_eq!(f[0]["cell_line"], 2);
    assert_eq!(f[0]["cell_part"], "source");

    // A notebook on standard input is recognised by its content.
    let nb = std::fs::read(env.path().join("v3.ipynb")).unwrap();
    let out = env
        .cmd()
        .args(["scan", "-f", "jsonl", "-q", "-"])
        .write_stdin(nb)
        .output()
        .unwrap();
    let line: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(line["path"], "<stdin>");
    assert_eq!(line["cell"], 2);
}

#[test]
fn malformed_notebook_falls_back_to_plain_text() {
    let env = Env::new();
    let (subs, toks) = notebook_tokens();
    copy_fixture(&env, "notebooks/malformed.ipynb", "bad.ipynb", &subs);
    let out = env
        .cmd()
        .args(["scan", "-f", "json", "--show-secrets", "bad.ipynb"])
        .output()
        .unwrap();
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("keysweep: bad.ipynb: not a valid notebook (4:1: unexpected end of input); scanned as plain text"),
        "{stderr}"
    );
    // Not an error: the file was scanned, and the finding is kept.
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = findings(&json);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["secret"], toks[0].as_str());
    assert_eq!(f[0]["line"], 3);
    assert!(f[0]["cell"].is_null());
    assert_eq!(json["summary"]["format_fallbacks"], 1);
}

#[test]
fn malformed_configs_fall_back_to_plain_text() {
    let env = Env::new();
    let tok = Fake::new(410).github_pat();
    let subs = HashMap::from([("GITHUB_TOKEN", tok.clone())]);
    copy_fixture(&env, "malformed", "", &subs);
    let out = env
        .cmd()
        .args(["scan", "-f", "json", "--show-secrets", "."])
        .output()
        .unwrap();
    let stderr = stderr_of(&out);
    for (file, what) in [
        (".cursor/mcp.json", "not a valid Cursor config (5:1: "),
        (".codex/config.toml", "not a valid Codex config (1:"),
        (
            ".continue/mcpServers/gh.yaml",
            "not a valid Continue config (",
        ),
        (".gitlab-ci.yml", "not a valid GitLab CI file ("),
    ] {
        assert!(
            stderr.contains(&format!("keysweep: {file}: {what}")),
            "{file}: {stderr}"
        );
    }
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut paths: Vec<&str> = findings(&json)
        .iter()
        .map(|f| {
            assert_eq!(f["secret"], tok.as_str());
            f["path"].as_str().unwrap()
        })
        .collect();
    paths.sort();
    // Every token is still found; the Jenkinsfile's unclosed block is read
    // leniently, so it is not even a fallback.
    assert_eq!(
        paths,
        vec![
            ".codex/config.toml",
            ".continue/mcpServers/gh.yaml",
            ".cursor/mcp.json",
            ".gitlab-ci.yml",
            "Jenkinsfile"
        ]
    );
    assert_eq!(json["summary"]["format_fallbacks"], 4);
    let jenkins = findings(&json)
        .iter()
        .find(|f| f["path"] == "Jenkinsfile")
        .unwrap();
    assert_eq!(jenkins["ci_system"], "jenkins");
    assert_eq!(jenkins["variable"], "GITHUB_TOKEN");
}

#[test]
fn provider_findings_in_configs_get_server_and_fix() {
    let env = Env::new();
    let tok = Fake::new(420).github_pat();
    env.write(
        ".vscode/mcp.json",
        format!(
            "{{\n  \"servers\": {{\n    \"github\": {{\n      \"command\": \"gh-mcp\",\n      \"env\": {{\"GITHUB_PERSONAL_ACCESS_TOKEN\": \"{tok}\"}}\n    }}\n  }}\n}}\n"
        ),
    );
    env.write(
        ".github/workflows/ci.yml",
        format!("on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: \"curl -H 'Authorization: token {tok}' https://api.github.com\"\n"),
    );
    let (_, json) = env.scan_json(&["--show-secrets", "."]);
    let f = findings(&json);
    assert_eq!(f.len(), 2, "{json:#}");
    // The provider rule wins over the literal rule, and keeps its facts.
    let mcp = f.iter().find(|x| x["path"] == ".vscode/mcp.json").unwrap();
    assert_eq!(mcp["rule_id"], "github-pat-classic");
    assert_eq!(mcp["mcp_client"], "vscode");
    assert_eq!(mcp["mcp_server"], "github");
    assert_eq!(mcp["variable"], "GITHUB_PERSONAL_ACCESS_TOKEN");
    assert!(mcp["fix"]
        .as_str()
        .unwrap()
        .contains("${input:github-personal-access-token}"));
    // In a `run:` line the normal rules find it; the file names its system.
    let ci = f
        .iter()
        .find(|x| x["path"] == ".github/workflows/ci.yml")
        .unwrap();
    assert_eq!(ci["rule_id"], "github-pat-classic");
    assert_eq!(ci["ci_system"], "github-actions");
    assert_eq!(ci["line"], 6);
}

#[test]
fn base64_kubernetes_secret_is_decoded_to_depth_two() {
    let env = Env::new();
    let mut fake = Fake::new(430);
    let (t1, t2) = (fake.github_pat(), fake.github_pat());
    let docker = format!(
        "{{\"auths\":{{\"ghcr.io\":{{\"auth\":\"{}\"}}}}}}",
        b64(format!("deploy:{t2}").as_bytes())
    );
    let subs = HashMap::from([
        ("BASE64_GITHUB_TOKEN", b64(t1.as_bytes())),
        ("BASE64_DOCKERCONFIG", b64(docker.as_bytes())),
    ]);
    copy_fixture(&env, "encoded/k8s", "k8s", &subs);
    let (code, json) = env.scan_json(&["--show-secrets", "k8s"]);
    assert_eq!(code, 1);
    let f = findings(&json);
    assert_eq!(f.len(), 2, "{json:#}");
    assert_eq!(f[0]["secret"], t1.as_str());
    assert_eq!(f[0]["decoded"], "base64");
    // Located at the encoded run: line 8, after `  token: `.
    let enc = &subs["BASE64_GITHUB_TOKEN"];
    assert_eq!(
        (f[0]["line"].as_u64(), f[0]["column"].as_u64()),
        (Some(8), Some(10))
    );
    assert_eq!(f[0]["end_column"].as_u64(), Some(10 + enc.len() as u64 - 1));
    assert_eq!(f[1]["secret"], t2.as_str());
    assert_eq!(f[1]["decoded"], "base64/base64");
    assert_eq!(f[1]["line"], 16);

    // The human report redacts the secret and does not show the encoded run.
    let out = env.cmd().args(["scan", "k8s"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains(&t1) && !stdout.contains(enc.as_str()),
        "{stdout}"
    );
    assert!(stdout.contains("  decoded      base64 (located at the encoded text)"));
}

#[test]
fn hex_values_are_decoded() {
    let env = Env::new();
    let tok = Fake::new(440).github_pat();
    let subs = HashMap::from([("HEX_GITHUB_TOKEN", hex(tok.as_bytes()))]);
    copy_fixture(&env, "encoded/hex.env", "app.env", &subs);
    let (_, json) = env.scan_json(&["--show-secrets", "app.env"]);
    let f = findings(&json);
    assert_eq!(f.len(), 1, "{json:#}");
    assert_eq!(f[0]["secret"], tok.as_str());
    assert_eq!(f[0]["decoded"], "hex");
    assert_eq!(
        (f[0]["line"].as_u64(), f[0]["column"].as_u64()),
        (Some(2), Some(14))
    );
}

#[test]
fn format_rules_are_listed_selectable_and_in_sarif() {
    let env = Env::new();
    let out = env.cmd().args(["rules", "list"]).output().unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("mcp-literal-credential ")),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("ci-literal-credential ")),
        "{table}"
    );

    copy_fixture(&env, "mcp/cursor", "", &HashMap::new());
    let has_literal = |json: &serde_json::Value| {
        findings(json)
            .iter()
            .any(|f| f["rule_id"] == "mcp-literal-credential")
    };
    let (_, json) = env.scan_json(&["."]);
    assert!(has_literal(&json), "{json:#}");
    let (_, json) = env.scan_json(&["--exclude-rule", "mcp-literal-credential", "."]);
    assert!(
        !has_literal(&json),
        "an excluded format rule reports nothing"
    );
    let (_, json) = env.scan_json(&["--min-confidence", "high", "."]);
    assert!(
        !has_literal(&json),
        "the literal rules are of medium confidence"
    );

    let (subs, _) = notebook_tokens();
    copy_fixture(&env, "notebooks/api.ipynb", "api.ipynb", &subs);
    let out = env
        .cmd()
        .args(["scan", "-f", "sarif", "."])
        .output()
        .unwrap();
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/sarif-schema-2.1.0.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let run = &sarif["runs"][0];
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"mcp-literal-credential") && rules.contains(&"ci-literal-credential"));
    let results = run["results"].as_array().unwrap();
    let nb = results
        .iter()
        .find(|r| r["properties"]["cell"] == 2 && r["properties"]["cell_line"] == 5)
        .expect("a notebook result with cell properties");
    assert_eq!(nb["properties"]["cell_part"], "source");
    let text = std::fs::read_to_string(env.path().join("api.ipynb")).unwrap();
    let line = text
        .lines()
        .position(|l| l.contains("gh.headers[") && l.contains("token "))
        .unwrap()
        + 1;
    assert_eq!(
        nb["locations"][0]["physicalLocation"]["region"]["startLine"],
        line
    );
    let mcp = results
        .iter()
        .find(|r| r["ruleId"] == "mcp-literal-credential")
        .unwrap();
    assert_eq!(mcp["properties"]["mcp_server"], "linear");
    assert_eq!(mcp["properties"]["mcp_client"], "cursor");
    assert!(mcp["message"]["text"]
        .as_str()
        .unwrap()
        .contains("Fix: Write \"${env:LINEAR_API_KEY}\""));
}

/// A fake home with configs at Linux, macOS and Windows locations.
fn fake_home(env: &Env) -> PathBuf {
    let home = env.path().join("home");
    let put = |rel: &str, text: String| {
        let p = home.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    let lit = |server: &str, var: &str, value: &str| {
        format!("{{\"mcpServers\": {{\"{server}\": {{\"command\": \"x\", \"env\": {{\"{var}\": \"{value}\"}}}}}}}}\n")
    };
    put(
        "Library/Application Support/Claude/claude_desktop_config.json",
        lit("mac-server", "MAC_API_KEY", "Gq7Lm2Xw9Rt4Vb8N"),
    );
    put(
        ".config/Code/User/mcp.json",
        "{\"servers\": {\"linux-server\": {\"env\": {\"LINUX_TOKEN\": \"Hs3Kp8Wd1Zq6Yf5J\"}}}}\n"
            .to_string(),
    );
    put(
        "AppData/Roaming/Zed/settings.json",
        "{\n  // Windows Zed\n  \"context_servers\": {\"win-server\": {\"command\": \"x\", \"env\": {\"WIN_SECRET\": \"Pn4Tc9Ja2Ue7Mx3B\",},},},\n}\n"
            .to_string(),
    );
    put(
        ".cursor/mcp.json",
        lit("ref-only", "REF_TOKEN", "${env:REF_TOKEN}"),
    );
    put(
        ".codex/config.toml",
        "[mcp_servers.codex-server]\ncommand = \"x\"\nenv = { CODEX_API_KEY = \"Wy6Rb1Ko8Fs3Ld5Q\" }\n".to_string(),
    );
    home
}

#[test]
fn agents_scans_documented_locations_in_a_fake_home() {
    let env = Env::new();
    let home = fake_home(&env);
    env.write(
        "proj/.vscode/mcp.json",
        "{\"servers\": {\"proj-server\": {\"env\": {\"PROJ_API_KEY\": \"Ec5Vn0Qi7Tg2Hz9A\"}}}}\n",
    );
    let out = env
        .cmd()
        .args(["agents", "--home"])
        .arg(&home)
        .args(["--project", "proj", "-f", "json", "--show-secrets"])
        .output()
        .unwrap();
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for (client, path) in [
        (
            "Claude Desktop",
            "~/Library/Application Support/Claude/claude_desktop_config.json",
        ),
        ("VS Code", "~/.config/Code/User/mcp.json"),
        ("Zed", "~/AppData/Roaming/Zed/settings.json"),
        ("Cursor", "~/.cursor/mcp.json"),
        ("Codex", "~/.codex/config.toml"),
        ("VS Code", "proj/.vscode/mcp.json"),
    ] {
        assert!(
            stderr
                .lines()
                .any(|l| l.contains("found") && l.contains(client) && l.ends_with(path)),
            "{client} {path}: {stderr}"
        );
    }
    assert!(stderr.contains("6 config files found;"), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut got: Vec<(String, String, String)> = findings(&json)
        .iter()
        .map(|f| {
            (
                f["mcp_client"].as_str().unwrap().to_string(),
                f["mcp_server"].as_str().unwrap().to_string(),
                f["variable"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    let want = [
        ("claude-desktop", "mac-server", "MAC_API_KEY"),
        ("codex", "codex-server", "CODEX_API_KEY"),
        ("vscode", "linux-server", "LINUX_TOKEN"),
        ("vscode", "proj-server", "PROJ_API_KEY"),
        ("zed", "win-server", "WIN_SECRET"),
    ];
    let want: Vec<(String, String, String)> = want
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(got, want);

    // Human output lists the files on stdout; --verbose adds absent ones.
    let out = env
        .cmd()
        .args(["agents", "--no-project", "--verbose", "--home"])
        .arg(&home)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("MCP client configs (home "), "{stdout}");
    assert!(stdout.contains("absent  Windsurf"), "{stdout}");
    assert!(stdout.contains("5 config files found;"), "{stdout}");
    assert!(!stdout.contains("Gq7Lm2Xw9Rt4Vb8N"), "redacted");
}

#[test]
fn agents_with_nothing_to_scan_is_clean() {
    let env = Env::new();
    std::fs::create_dir_all(env.path().join("empty-home")).unwrap();
    let out = env
        .cmd()
        .args(["agents", "--home", "empty-home", "--no-project"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("0 config files found;"), "{stdout}");
    let out = env
        .cmd()
        .args(["agents", "--home", "no-such-dir"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("no-such-dir: --home is not a directory"));
}

/// Formats apply to blobs in git history too: a notebook, an MCP config and
/// a base64 value committed and then deleted are still found, with their
/// format facts.
#[test]
fn formats_apply_to_git_history() {
    let env = Env::new();
    let repo = crate::repo::Repo::init(env.path());
    let (subs, toks) = notebook_tokens();
    copy_fixture(&env, "notebooks/api.ipynb", "api.ipynb", &subs);
    copy_fixture(&env, "mcp/cursor", "", &HashMap::new());
    let t = Fake::new(450).github_pat();
    env.write(
        "deploy.env",
        format!("GH_TOKEN_B64={}\n", b64(t.as_bytes())),
    );
    repo.commit("add", 1_700_000_000);
    for f in ["api.ipynb", ".cursor/mcp.json", "deploy.env"] {
        std::fs::remove_file(env.path().join(f)).unwrap();
    }
    repo.commit("remove", 1_700_000_100);

    let (code, json) = env.scan_json(&["--git", "--show-secrets", "."]);
    assert_eq!(code, 1, "{json:#}");
    let f = findings(&json);
    let nb = f
        .iter()
        .find(|x| x["secret"] == toks[0].as_str())
        .expect("notebook token");
    assert_eq!(
        (nb["cell"].as_u64(), nb["cell_line"].as_u64()),
        (Some(2), Some(5))
    );
    let mcp = f
        .iter()
        .find(|x| x["rule_id"] == "mcp-literal-credential")
        .expect("MCP literal");
    assert_eq!(mcp["mcp_server"], "linear");
    let dec = f
        .iter()
        .find(|x| x["secret"] == t.as_str())
        .expect("decoded token");
    assert_eq!(dec["decoded"], "base64");
    assert_eq!(dec["path"], "deploy.env");
}

#[test]
fn percent_encoded_values_are_decoded_with_their_keys() {
    let env = Env::new();
    let mut fake = Fake::new(176);
    let tok = fake.github_pat();
    let pw = format!("{}@{}", fake.alnum(8), fake.alnum(8));
    env.write(
        "calls.sh",
        format!(
            "curl \"https://api.example.test/v1?token={}&x=1\"\npassword={}\n",
            tok.replace('_', "%5F"),
            pw.replace('@', "%40")
        ),
    );
    let (code, json) = env.scan_json(&["--show-secrets", "."]);
    assert_eq!(code, 1);
    let got: Vec<(String, u64, String)> = findings(&json)
        .iter()
        .map(|f| {
            (
                f["secret"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["decoded"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (tok, 1, "percent".to_string()),
            (pw, 2, "percent".to_string())
        ],
        "{json:#}"
    );
}

#[test]
fn json_escaped_twice_in_a_log_line_is_read_and_tokens_are_not_repeated() {
    let mut fake = Fake::new(611);
    let aws = fake.string(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+",
        40,
    );
    let pat = fake.github_pat();
    // A JSON body logged as a string inside a JSON log line: the key names
    // the rule needs sit behind two levels of escapes.
    let inner = serde_json::json!({ "aws_secret_access_key": aws }).to_string();
    let line = serde_json::json!({ "msg": "request", "body": inner }).to_string();
    let twice = serde_json::to_string(&line).unwrap();
    let once_with_pat =
        serde_json::json!({ "body": format!("{{\"auth\": \"{pat}\"}}") }).to_string();
    let env = Env::new();
    env.write("app.log", format!("start\n{twice}\n{once_with_pat}\n"));
    let (code, json) = env.scan_json(&["--show-secrets", "--no-config", "."]);
    assert_eq!(code, 1);
    let got = findings(&json);
    let aws_found: Vec<_> = got.iter().filter(|f| f["secret"] == aws.as_str()).collect();
    assert_eq!(aws_found.len(), 1, "{json:#}");
    assert_eq!(aws_found[0]["decoded"], "json-escaped/json-escaped");
    assert_eq!(aws_found[0]["line"], 2);
    // A token readable as written is reported once, at its column, not again
    // from the decoded line.
    let pat_found: Vec<_> = got.iter().filter(|f| f["secret"] == pat.as_str()).collect();
    assert_eq!(pat_found.len(), 1, "{json:#}");
    assert!(
        pat_found[0].get("decoded").is_none_or(|d| d.is_null()),
        "{json:#}"
    );
    assert_eq!(pat_found[0]["line"], 3);
    let col = once_with_pat.find(&pat).unwrap() + 1;
    assert_eq!(pat_found[0]["column"], col as u64);
}
