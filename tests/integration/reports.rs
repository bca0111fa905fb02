//! What reports show (issue 14) and what they never show (issue 18, items 2
//! and 3): redaction that identifies, every known secret masked in every
//! context, secret ids and grouping, colour, advice, the CI formats, the
//! JSON schema, diagnostics.

use crate::common::{findings, Env, Fake};

/// A line with an AWS key pair and a GitHub token, in two files, plus a
/// long minified line with a token at column ~3,000.
fn corpus(env: &Env) -> (String, String, String, String) {
    let mut fake = Fake::new(1414);
    let id = format!(
        "AKIA{}",
        fake.string("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
    );
    let key = fake.alnum(40);
    let tok = fake.github_pat();
    let line =
        format!("{{\"id\": \"{id}\", \"aws_secret_access_key\": \"{key}\", \"gh\": \"{tok}\"}}\n");
    env.write("a.json", &line);
    env.write("b.json", &line);
    let far = fake.github_pat();
    let mut min = "var a=1;".repeat(375);
    min.push_str(&format!("t=\"{far}\";"));
    min.push_str(&"var b=2;".repeat(300));
    env.write("app.min.js", min);
    (id, key, tok, far)
}

fn run(env: &Env, args: &[&str]) -> (String, String) {
    let out = env.cmd().args(args).output().unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn no_format_shows_a_known_secret_in_full() {
    let env = Env::new();
    let (id, key, tok, far) = corpus(&env);
    for format in [
        "human", "json", "jsonl", "sarif", "github", "gitlab", "junit", "csv", "html",
    ] {
        for group in [false, true] {
            let mut args = vec!["scan", ".", "-f", format];
            if group {
                args.push("--group");
            }
            let (stdout, stderr) = run(&env, &args);
            for s in [&key, &tok, &far] {
                assert!(
                    !stdout.contains(s.as_str()) && !stderr.contains(s.as_str()),
                    "{format} (group {group}) leaks {s}:\n{stdout}"
                );
                // Nor a long piece of it.
                assert!(!stdout.contains(&s[8..30]), "{format} leaks part of {s}");
            }
            // The AWS key id is not secret (AWS's own documentation) and
            // identifies the key: shown in full.
            assert!(stdout.contains(&id), "{format}: key id hidden:\n{stdout}");
        }
    }
    let (stdout, _) = run(&env, &["scan", ".", "--show-secrets"]);
    assert!(stdout.contains(&key) && stdout.contains(&tok));
}

#[test]
fn redaction_keeps_prefix_and_both_ends() {
    let env = Env::new();
    let (_, key, tok, _) = corpus(&env);
    let (_, json) = env.scan_json(&[".", "--rule", "github-pat-classic"]);
    let f = &findings(&json)[0];
    assert_eq!(f["secret"], format!("ghp_{}…{}", &tok[4..7], &tok[37..]));
    // gitleaks' --redact=N hides N%.
    let (_, json) = env.scan_json(&[".", "--redact=75", "--rule", "aws-secret-access-key"]);
    assert_eq!(findings(&json)[0]["secret"], format!("{}…", &key[..10]));
    let (_, json) = env.scan_json(&[".", "--redact", "--rule", "aws-secret-access-key"]);
    assert_eq!(findings(&json)[0]["secret"], "…");
}

#[test]
fn snippet_of_a_long_line_is_centred_on_the_secret() {
    let env = Env::new();
    let (_, _, _, far) = corpus(&env);
    let (_, json) = env.scan_json(&["app.min.js", "--show-secrets"]);
    let f = &findings(&json)[0];
    assert_eq!(f["column"], 3004);
    let snippet = f["snippet"].as_str().unwrap();
    assert!(snippet.contains(&far), "{snippet}");
    assert!(snippet.starts_with('…') && snippet.ends_with('…'));
    assert!(snippet.chars().count() <= far.len() + 162, "{snippet}");
}

#[test]
fn secret_id_is_shared_by_every_occurrence_and_grouping_uses_it() {
    let env = Env::new();
    corpus(&env);
    let (_, json) = env.scan_json(&["a.json", "b.json"]);
    let fs = findings(&json);
    assert_eq!(fs.len(), 6);
    let ids: std::collections::BTreeSet<&str> = fs
        .iter()
        .map(|f| f["secret_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3, "one id per distinct secret");
    // Stable across runs with one key; another key gives other ids.
    let (_, again) = env.scan_json(&["a.json", "b.json"]);
    assert_eq!(fs[0]["secret_id"], findings(&again)[0]["secret_id"]);
    let out = env
        .cmd()
        .env("KEYSWEEP_ID_KEY", "another key")
        .args(["scan", "a.json", "-f", "json", "-q"])
        .output()
        .unwrap();
    let other: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_ne!(fs[0]["secret_id"], findings(&other)[0]["secret_id"]);

    let (_, json) = env.scan_json(&["a.json", "b.json", "--group"]);
    let secrets = json["secrets"].as_array().unwrap();
    assert_eq!(secrets.len(), 3);
    for s in secrets {
        let paths: Vec<&str> = s["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap())
            .collect();
        assert_eq!(paths, ["a.json", "b.json"]);
    }
    let (stdout, _) = run(&env, &["scan", "a.json", "b.json"]);
    assert!(
        stdout.contains("6 findings (3 distinct secrets) in 2 files;"),
        "{stdout}"
    );
}

#[test]
fn installation_key_is_created_private_and_reused() {
    let env = Env::new();
    corpus(&env);
    let data = env.path().join("data");
    let ids = || {
        let out = env
            .cmd()
            .env_remove("KEYSWEEP_ID_KEY")
            .env("XDG_DATA_HOME", &data)
            .args(["scan", "a.json", "-f", "json", "-q"])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        findings(&v)[0]["secret_id"].clone()
    };
    let first = ids();
    assert_eq!(first, ids());
    let key = data.join("keysweep/secret-id.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn mcp_fix_never_repeats_a_credential() {
    let env = Env::new();
    let mut fake = Fake::new(18);
    let password = fake.alnum(20);
    let token = fake.alnum(32);
    env.write(
        ".mcp.json",
        format!(
            r#"{{"mcpServers": {{"db": {{"type": "http", "url": "https://admin:{password}@db.example.com/mcp?api_key={token}"}}}}}}"#
        ),
    );
    for format in ["human", "json", "sarif", "junit", "csv", "github"] {
        let (stdout, _) = run(&env, &["scan", ".", "-f", format]);
        if ["human", "json", "sarif"].contains(&format) {
            assert!(
                stdout.contains("fix") || stdout.contains("Fix"),
                "{format}: {stdout}"
            );
        }
        for s in [&password, &token] {
            assert!(
                !stdout.contains(s.as_str()),
                "{format} leaks {s}:\n{stdout}"
            );
        }
    }
}

#[test]
fn human_output_golden_with_and_without_colour() {
    let env = Env::new();
    let tok = Fake::new(7).github_pat();
    env.write("k.txt", format!("token = {tok}\n"));
    let red = format!("ghp_{}…{}", &tok[4..7], &tok[37..]);
    let advice = "revoke and rotate it with github (https://github.blog/engineering/platform-security/behind-githubs-new-authentication-token-formats/), then load it from a secret store; not a secret? add `keysweep:allow` to the line";
    // The summary ends "in 0.01s" — or "in 1.52s" on a loaded machine.
    let strip_time = |s: String| match s.rfind(" in ") {
        Some(i) if s[i + 4..].starts_with(|c: char| c.is_ascii_digit()) => s[..i].to_string(),
        _ => s,
    };

    let (plain, _) = run(&env, &["scan", "k.txt", "--color", "never"]);
    let fp = plain.split("fingerprint  ").nth(1).unwrap()[..32].to_string();
    let want = format!(
        "k.txt:1:9: GitHub personal access token (classic) (github-pat-classic) [critical]\n\
         \x20 secret       {red}\n\
         \x20 confidence   high   severity critical   entropy ENTROPY\n\
         \x20 offline      github-crc32 passed: CRC32 checksum matches\n\
         \x20 line         token = {red}\n\
         \x20 what to do   {advice}\n\
         \x20 fingerprint  {fp}\n\n\
         1 finding (1 distinct secret) in 1 file; scanned 1 file (49 B)"
    );
    let entropy = plain.split("entropy ").nth(1).unwrap()[..4].to_string();
    assert_eq!(strip_time(plain.clone()), want.replace("ENTROPY", &entropy));
    // Piped output is plain by default; CLICOLOR_FORCE asks for colour.
    let (auto, _) = run(&env, &["scan", "k.txt"]);
    assert!(!auto.contains('\x1b'));
    let out = env
        .cmd()
        .env("CLICOLOR_FORCE", "1")
        .args(["scan", "k.txt"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains('\x1b'));

    let (color, _) = run(&env, &["scan", "k.txt", "--color", "always"]);
    let want = format!(
        "\x1b[1mk.txt:1:9:\x1b[0m \x1b[36mGitHub personal access token (classic)\x1b[0m (github-pat-classic) \x1b[1m\x1b[31m[critical]\x1b[0m\n\
         \x20 \x1b[2msecret      \x1b[0m \x1b[35m{red}\x1b[0m\n\
         \x20 \x1b[2mconfidence  \x1b[0m high   severity critical   entropy {entropy}\n\
         \x20 \x1b[2moffline     \x1b[0m github-crc32 passed: CRC32 checksum matches\n\
         \x20 \x1b[2mline        \x1b[0m token = {red}\n\
         \x20 \x1b[2mwhat to do  \x1b[0m \x1b[32m{advice}\x1b[0m\n\
         \x20 \x1b[2mfingerprint \x1b[0m {fp}\n\n\
         1 finding (1 distinct secret) in 1 file; scanned 1 file (49 B)"
    );
    assert_eq!(strip_time(color), want);
    // NO_COLOR does not override an explicit --color always, only auto.
    let out = env
        .cmd()
        .env("NO_COLOR", "1")
        .env("CLICOLOR_FORCE", "1")
        .args(["scan", "k.txt"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains('\x1b'));
}

#[test]
fn ci_formats() {
    let env = Env::new();
    let (_, _, tok, _) = corpus(&env);
    let red = format!("ghp_{}…{}", &tok[4..7], &tok[37..]);

    let (gh, _) = run(
        &env,
        &[
            "scan",
            "a.json",
            "-f",
            "github",
            "--rule",
            "github-pat-classic",
        ],
    );
    assert!(gh.starts_with("::error file=a.json,line=1,col="), "{gh}");
    assert!(gh.contains(&format!("title=GitHub personal access token (classic) [critical]::GitHub personal access token (classic) (github-pat-classic) found: {red}.")), "{gh}");

    // GitLab's published schema is not on npm or PyPI; this checks the
    // fields its secret detection schema (15.x) requires.
    let (gl, _) = run(&env, &["scan", "a.json", "-f", "gitlab"]);
    let gl: serde_json::Value = serde_json::from_str(&gl).unwrap();
    assert_eq!(gl["version"], "15.1.0");
    let scan = &gl["scan"];
    assert_eq!(scan["type"], "secret_detection");
    assert_eq!(scan["status"], "success");
    for k in ["analyzer", "scanner"] {
        for f in ["id", "name", "version"] {
            assert!(scan[k][f].is_string(), "scan.{k}.{f}");
        }
        assert!(scan[k]["vendor"]["name"].is_string());
    }
    let time = regex::Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$").unwrap();
    assert!(time.is_match(scan["start_time"].as_str().unwrap()));
    assert!(time.is_match(scan["end_time"].as_str().unwrap()));
    let vulns = gl["vulnerabilities"].as_array().unwrap();
    assert_eq!(vulns.len(), 3);
    for v in vulns {
        assert!(v["id"].is_string() && v["name"].is_string());
        assert!(["Critical", "High", "Medium", "Low"].contains(&v["severity"].as_str().unwrap()));
        assert_eq!(v["location"]["file"], "a.json");
        assert!(v["location"]["start_line"].is_u64());
        assert!(v["location"]["commit"]["sha"].is_string());
        let ident = &v["identifiers"][0];
        for f in ["type", "name", "value"] {
            assert!(ident[f].is_string());
        }
    }

    let (junit, _) = run(&env, &["scan", "a.json", "-f", "junit"]);
    assert!(junit.starts_with("<?xml"));
    assert!(
        junit.contains(r#"<testsuite name="keysweep" tests="3" failures="3""#),
        "{junit}"
    );
    assert_eq!(junit.matches("<testcase ").count(), 3);
    assert_eq!(junit.matches("</testcase>").count(), 3);
    assert!(junit.contains("&quot;"), "snippet quotes are escaped");

    let (csv, _) = run(&env, &["scan", "a.json", "-f", "csv"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4);
    assert!(lines[0].starts_with("path,line,column,rule_id,"));
    // The snippet holds quotes and commas: one quoted field.
    assert!(
        lines[1].ends_with('"') && lines[1].contains("\"\""),
        "{}",
        lines[1]
    );
}

#[test]
fn json_report_validates_against_the_published_schema() {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../docs/report.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let env = Env::new();
    corpus(&env);
    env.write(
        "nb.ipynb",
        format!(
            r#"{{"cells": [{{"cell_type": "code", "source": ["key = '{}'\n"], "outputs": [], "metadata": {{}}}}], "metadata": {{}}, "nbformat": 4, "nbformat_minor": 5}}"#,
            Fake::new(3).github_pat()
        ),
    );
    for extra in [&[][..], &["--group"][..], &["--show-secrets"][..]] {
        let mut args = vec!["."];
        args.extend_from_slice(extra);
        let (_, json) = env.scan_json(&args);
        assert_eq!(json["schema_version"], keysweep::report::SCHEMA_VERSION);
        let errors: Vec<String> = validator
            .iter_errors(&json)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{extra:?}: {errors:#?}");
    }
}

#[test]
fn verbose_levels_and_timings() {
    let env = Env::new();
    corpus(&env);
    let (_, stderr) = run(
        &env,
        &["scan", ".", "-v", "-f", "json", "--max-file-size", "1K"],
    );
    assert!(stderr.contains("keysweep: [info]: walk: "), "{stderr}");
    assert!(!stderr.contains("[debug]"));
    let (_, stderr) = run(
        &env,
        &["scan", ".", "-vv", "-f", "json", "--max-file-size", "1K"],
    );
    assert!(
        stderr.contains("[debug]: skipped ./app.min.js (too large)"),
        "{stderr}"
    );
    let (_, stderr) = run(&env, &["scan", ".", "--log-level", "trace", "-f", "json"]);
    assert!(
        stderr.contains("[trace]: walked a.json") || stderr.contains("[trace]: walked ./a.json"),
        "{stderr}"
    );
    let (_, stderr) = run(&env, &["scan", ".", "-f", "json"]);
    assert!(!stderr.contains("[info]"), "{stderr}");
}

/// Colour writes keysweep's own escape sequences, so the stream cannot be
/// escaped as a whole: the findings' texts from the scanned tree must be.
#[test]
fn coloured_output_still_escapes_control_characters_from_the_tree() {
    let env = Env::new();
    let tok = Fake::new(77).github_pat();
    env.write(
        "evil\u{1b}[2K.env",
        format!("GITHUB_TOKEN={tok} # \u{1b}]52;c;aGk=\u{7}\r all clean\n"),
    );
    let out = env
        .cmd()
        .args(["scan", ".", "--color", "always"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\u{1b}["), "no colour at all: {text}");
    assert!(
        text.contains("evil\\u{1b}[2K.env"),
        "file name not escaped: {text}"
    );
    assert!(
        !text.contains("\u{1b}]52"),
        "OSC sequence passed through: {text}"
    );
    assert!(
        !text.contains('\r'),
        "carriage return passed through: {text}"
    );
}

#[test]
fn template_format_renders_the_users_template_redacted() {
    let env = Env::new();
    let (_, _, tok, _) = corpus(&env);
    let red = format!("ghp_{}…{}", &tok[4..7], &tok[37..]);
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("list.txt.j2");
    std::fs::write(
        &t,
        "{% for f in findings if f.rule_id == 'github-pat-classic' %}{{ f.path }}:{{ f.line }} {{ f.secret }} {{ f.secret_id[:8] }}\n{% endfor %}\
         {{ secrets | length }} secrets; {{ summary.files_scanned }} files; {{ advice['github-pat-classic'][:17] }}\n{{ headline }}\n",
    )
    .unwrap();
    let t = t.to_str().unwrap();
    let (stdout, _) = run(
        &env,
        &[
            "scan",
            "a.json",
            "b.json",
            "-f",
            "template",
            "--template",
            t,
        ],
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with(&format!("a.json:1 {red} ")),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with(&format!("b.json:1 {red} ")),
        "{stdout}"
    );
    assert_eq!(
        lines[0][lines[0].len() - 8..],
        lines[1][lines[1].len() - 8..]
    );
    assert_eq!(lines[2], "3 secrets; 2 files; revoke and rotate");
    assert_eq!(
        lines[3],
        "6 findings (3 distinct secrets) in 2 files; scanned 2 files (300 B)"
    );
    assert!(!stdout.contains(&tok));
    let (shown, _) = run(
        &env,
        &[
            "scan",
            "a.json",
            "-f",
            "template",
            "--template",
            t,
            "--show-secrets",
        ],
    );
    assert!(shown.contains(&format!("a.json:1 {tok} ")), "{shown}");

    // A template named .html escapes every value.
    env.write("<b>x</b>.txt", format!("t = {tok}\n"));
    let h = dir.path().join("page.html");
    std::fs::write(&h, "{% for f in findings %}<p>{{ f.path }}</p>{% endfor %}").unwrap();
    let (html, _) = run(
        &env,
        &[
            "scan",
            "<b>x</b>.txt",
            "-f",
            "template",
            "--template",
            h.to_str().unwrap(),
        ],
    );
    assert_eq!(html, "<p>&lt;b&gt;x&lt;&#x2f;b&gt;.txt</p>");
}

#[test]
fn template_errors_name_the_file_and_bound_the_work() {
    let env = Env::new();
    let (_, _, tok, _) = corpus(&env);
    let dir = tempfile::tempdir().unwrap();
    let fail = |args: &[&str]| {
        let out = env.cmd().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!String::from_utf8_lossy(&out.stdout).contains(&tok));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = fail(&["scan", ".", "-f", "template"]);
    assert!(
        err.contains("--format template needs --template FILE"),
        "{err}"
    );
    let plain = dir.path().join("plain.j2");
    std::fs::write(&plain, "x").unwrap();
    let err = fail(&["scan", ".", "--template", plain.to_str().unwrap()]);
    assert!(err.contains("only used with --format template"), "{err}");

    let cases = [
        ("syntax.j2", "{% for %}", "syntax error"),
        // No loader: a template reads no other file.
        (
            "include.j2",
            "{% include 'a.json' %}",
            "unknown statement include",
        ),
        (
            "loop.j2",
            "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
            "fuel",
        ),
    ];
    for (name, text, why) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        let started = std::time::Instant::now();
        let err = fail(&[
            "scan",
            ".",
            "-f",
            "template",
            "--template",
            p.to_str().unwrap(),
        ]);
        assert!(err.contains(p.to_str().unwrap()), "{name}: {err}");
        assert!(err.contains(why), "{name}: {err}");
        assert!(started.elapsed().as_secs() < 60, "{name} ran unbounded");
    }
}

/// A headless Chromium, or `None` (a skip) where there is none; CI installs
/// Debian's `chromium` (.ci/run), so there a missing browser fails.
fn chromium() -> Option<String> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        let found = std::process::Command::new(name)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if found {
            return Some(name.to_string());
        }
    }
    assert!(
        !crate::common::in_ci(),
        "CI needs chromium for the HTML report test"
    );
    eprintln!("skipped: no chromium on this machine");
    None
}

/// Opens `page` in headless Chromium (no network, a fresh profile) and
/// returns the DOM after its script ran.
fn rendered_dom(browser: &str, page: &std::path::Path) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn html_report_is_self_contained_escaped_and_lists_every_finding() {
    let env = Env::new();
    let (id, key, tok, far) = corpus(&env);
    // Hostile names and content: markup that would run if not escaped.
    let pwn = "document.body.setAttribute('data-pwned','1')";
    env.write(
        &format!("<img src=x onerror=\"{pwn}\">.txt"),
        format!("t = {tok} <script>{pwn}</script><img src=x onerror=\"{pwn}\">\n"),
    );
    let (_, json) = env.scan_json(&["."]);
    let n = findings(&json).len();
    assert!(n >= 8, "{n}");
    let (html, _) = run(&env, &["scan", ".", "-f", "html"]);
    for s in [&key, &tok, &far] {
        assert!(
            !html.contains(s.as_str()),
            "the page shows a secret in full"
        );
    }
    assert!(html.contains(&id));
    // One script, ours; nothing loaded from anywhere.
    assert_eq!(html.matches("<script").count(), 1);
    assert!(!html.contains("<img"), "unescaped markup from the tree");
    assert!(html.contains("&lt;img src=x onerror="));
    assert!(html.contains("&lt;script&gt;document.body.setAttribute("));
    for external in ["src=\"http", "href=\"http", "url(", "@import", "<link"] {
        assert!(!html.contains(external), "{external}");
    }
    assert!(html.contains("Content-Security-Policy"));
    assert_eq!(html.matches("<tr class=\"finding").count(), n);

    let Some(browser) = chromium() else {
        return;
    };
    let page = env.path().join("report.html");
    std::fs::write(&page, &html).unwrap();
    let dom = rendered_dom(&browser, &page);
    // The page's own script ran (allowed by its CSP hash) and counted every
    // row; no script from the tree did.
    assert!(dom.contains(&format!("data-rows=\"{n}\"")), "{dom}");
    let body = &dom[dom.find("<body").unwrap()..];
    let body = &body[..body.find('>').unwrap()];
    assert!(!body.contains("data-pwned"), "script injection: {dom}");
    assert!(!dom.contains("data-pwned=\"1\""), "script injection: {dom}");
    assert_eq!(dom.matches("<tr class=\"finding").count(), n);
    assert!(dom.contains(&format!("{n} of {n}")));
}
