//! Bad input: binary, huge, invalid UTF-8 and unreadable files are counted with
//! their reason and the scan goes on.

use crate::common::{finding_paths, findings, Env, Fake};

#[test]
fn binary_and_large_files_are_skipped_and_counted() {
    let env = Env::new();
    let mut fake = Fake::new(20);
    env.write("blob.bin", format!("\0\x01\x02 {}", fake.github_pat()));
    env.write(
        "big.txt",
        format!("{}\n{}", "a".repeat(4096), fake.github_pat()),
    );
    env.write("ok.txt", fake.github_pat());
    let (code, json) = env.scan_json(&["--max-file-size", "1K", "."]);
    assert_eq!(code, 1);
    assert_eq!(findings(&json).len(), 1);
    assert_eq!(json["summary"]["skipped"]["binary"], 1);
    assert_eq!(json["summary"]["skipped"]["too-large"], 1);
    assert_eq!(json["summary"]["errors"], 0);

    let out = env
        .cmd()
        .args(["scan", "--max-file-size", "1K", "."])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("skipped 2 (1 binary, 1 too large)"),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("big.txt: skipped: larger than --max-file-size"),
        "{stderr}"
    );
}

#[test]
fn utf16_files_with_a_byte_order_mark_are_decoded() {
    let env = Env::new();
    let mut fake = Fake::new(22);
    let (le_tok, be_tok) = (fake.github_pat(), fake.github_pat());
    let text = |tok: &str| format!("# settings\r\n$token = \"{tok}\"\r\n");
    let mut le = vec![0xFF, 0xFE];
    le.extend(text(&le_tok).encode_utf16().flat_map(u16::to_le_bytes));
    let mut be = vec![0xFE, 0xFF];
    be.extend(text(&be_tok).encode_utf16().flat_map(u16::to_be_bytes));
    env.write("le.ps1", le);
    env.write("be.reg", be);
    let (code, json) = env.scan_json(&["--show-secrets", "."]);
    assert_eq!(code, 1);
    let got: Vec<_> = findings(&json)
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap(),
                f["secret"].as_str().unwrap(),
                f["line"].clone(),
                f["column"].clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("be.reg", be_tok.as_str(), 2.into(), 11.into()),
            ("le.ps1", le_tok.as_str(), 2.into(), 11.into()),
        ]
    );
    assert_eq!(
        json["summary"]["skipped"]["binary"],
        serde_json::Value::Null
    );
}

#[test]
fn stdin_is_bounded_by_max_file_size() {
    let env = Env::new();
    let tok = Fake::new(23).github_pat();
    let big = format!("{}\n{tok}\n", "x".repeat(4096));
    let out = env
        .cmd()
        .args(["scan", "-", "--max-file-size", "1K", "-f", "json"])
        .write_stdin(big)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(findings(&json).len(), 0);
    assert_eq!(json["summary"]["skipped"]["too-large"], 1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("<stdin>: larger than --max-file-size (1024 bytes)"),
        "{stderr}"
    );
    assert!(!stderr.contains(&tok));
    // Within the limit it is scanned.
    let out = env
        .cmd()
        .args(["scan", "-", "--max-file-size", "1K", "-f", "json", "-q"])
        .write_stdin(format!("t = {tok}\n"))
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(findings(&json).len(), 1);
}

#[test]
fn invalid_utf8_is_scanned_as_bytes() {
    let env = Env::new();
    let tok = Fake::new(21).github_pat();
    let mut bytes = b"caf\xe9 \xff\xfe line one\nkey = ".to_vec();
    bytes.extend_from_slice(tok.as_bytes());
    bytes.extend_from_slice(b"\n\xc3\x28\n");
    env.write("latin1.txt", bytes);
    let (code, json) = env.scan_json(&["--show-secrets", "."]);
    assert_eq!(code, 1);
    let f = &findings(&json)[0];
    assert_eq!(f["secret"], tok.as_str());
    assert_eq!(f["line"], 2);
    assert_eq!(f["column"], 7);
}

#[test]
fn large_files_are_memory_mapped_and_scanned() {
    let env = Env::new();
    let tok = Fake::new(22).github_pat();
    let mut text = "fn main() {}\n".repeat(200_000);
    text.push_str(&format!("let t = \"{tok}\";\n"));
    env.write("big.rs", text);
    let (code, json) = env.scan_json(&["."]);
    assert_eq!(code, 1);
    assert_eq!(findings(&json)[0]["line"], 200_001);
}

#[test]
fn unreadable_file_warns_names_it_and_scan_goes_on() {
    let env = Env::new();
    env.write("ok.txt", Fake::new(23).github_pat());
    // Reading /proc/self/mem at offset 0 fails even for root, unlike chmod 000.
    let out = env
        .cmd()
        .args(["scan", "-f", "json", ".", "/proc/self/mem"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("keysweep: /proc/self/mem: "), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(findings(&json).len(), 1);
    assert_eq!(json["summary"]["errors"], 1);
    assert_eq!(json["summary"]["skipped"]["unreadable"], 1);
}

#[test]
fn malformed_rule_files_name_file_and_rule() {
    let env = Env::new();
    env.write("a.txt", "x");
    let cases: &[(&str, &str, &[&str])] = &[
        ("syntax.yml", "rules: [unclosed\n", &["syntax.yml", "invalid rule file"]),
        (
            "regex.yml",
            "rules:\n  - id: bad-regex\n    name: B\n    keywords: [abc]\n    pattern: '(abc'\n",
            &["regex.yml", "rule bad-regex", "unclosed group"],
        ),
        (
            "nocap.yml",
            "rules:\n  - id: no-capture\n    name: B\n    keywords: [abc]\n    pattern: 'abc'\n",
            &["nocap.yml", "rule no-capture", "capture group"],
        ),
        (
            "unknown.yml",
            "rules:\n  - id: typo\n    name: B\n    keyword: [abc]\n    pattern: '(abc)'\n",
            &["unknown.yml", "unknown field `keyword`"],
        ),
        (
            "dup.yml",
            "rules:\n  - id: github-pat-classic\n    name: B\n    keywords: [abc]\n    pattern: '(abc)'\n",
            &["dup.yml", "rule github-pat-classic", "duplicate id"],
        ),
        (
            "id.yml",
            "rules:\n  - id: Bad_Id\n    name: B\n    keywords: [abc]\n    pattern: '(abc)'\n",
            &["id.yml", "kebab-case"],
        ),
    ];
    for (file, text, needles) in cases {
        env.write(file, text);
        let out = env
            .cmd()
            .args(["scan", "--rules", file, "a.txt"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{file}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        for n in *needles {
            assert!(stderr.contains(n), "{file}: expected {n:?} in {stderr}");
        }
    }
}

#[cfg(unix)]
#[test]
fn symlinks_named_on_the_command_line_are_read_or_reported() {
    let env = Env::new();
    let tok = Fake::new(24).github_pat();
    env.write("real/env", format!("t = {tok}\n"));
    std::os::unix::fs::symlink("real/env", env.path().join(".env")).unwrap();
    std::os::unix::fs::symlink("nowhere", env.path().join("dangling")).unwrap();
    let (code, json) = env.scan_json(&[".env"]);
    assert_eq!(code, 1);
    assert_eq!(findings(&json)[0]["path"], ".env");
    let out = env.cmd().args(["scan", "dangling"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("dangling: symbolic link to nowhere that does not resolve"),
        "{stderr}"
    );
    assert_eq!(out.status.code(), Some(2), "{stderr}");
}

#[cfg(unix)]
#[test]
fn a_baseline_or_config_that_is_a_device_is_refused_not_read_forever() {
    let env = Env::new();
    env.write("a.txt", "nothing here\n");
    for args in [
        ["scan", ".", "--baseline", "/dev/zero"],
        ["scan", ".", "--config", "/dev/zero"],
    ] {
        let out = env
            .cmd()
            .args(args)
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("/dev/zero") && stderr.contains("not a regular file"),
            "{args:?}: {stderr}"
        );
    }
}

/// The walk hands files to the scan as it finds them: a file reached from
/// overlapping roots is still scanned and reported once, and what the walk
/// skips is still counted and announced.
#[test]
fn overlapping_roots_scan_each_file_once_while_the_walk_streams() {
    let env = Env::new();
    let mut fake = Fake::new(23);
    env.write("sub/a.env", format!("T={}\n", fake.github_pat()));
    env.write("sub/deeper/b.env", format!("T={}\n", fake.github_pat()));
    env.write("top.env", format!("T={}\n", fake.github_pat()));
    env.write("sub/big.txt", "a".repeat(4096));
    env.write(".ignore", "hidden.env\n");
    env.write("hidden.env", format!("T={}\n", fake.github_pat()));
    let args = ["--max-file-size", "1K", ".", "sub", "sub/a.env", "./sub"];
    let (code, json) = env.scan_json(&args);
    assert_eq!(code, 1);
    let paths = finding_paths(&json);
    // `./sub/a.env` and `sub/a.env` are one path once `./` is dropped, but
    // two walked paths: the walk dedupes by the path it walked, as before.
    assert_eq!(
        paths,
        [
            "sub/a.env",
            "sub/a.env",
            "sub/deeper/b.env",
            "sub/deeper/b.env",
            "top.env"
        ]
    );
    assert_eq!(json["summary"]["files_scanned"], 6, "{json}");
    assert_eq!(json["summary"]["skipped"]["ignored"], 1, "{json}");
    // Refused when opened, so counted like a scanned file: once per
    // walked path (`./sub/big.txt` from `.` and `./sub`, `sub/big.txt`).
    assert_eq!(json["summary"]["skipped"]["too-large"], 2, "{json}");
}
