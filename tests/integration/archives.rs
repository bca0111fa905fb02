//! Archives: members of every kind scanned under `outer!inner` paths, nested
//! to `--archive-depth`, and bombs, oversized and corrupt archives refused,
//! counted and named while the scan goes on. Archives are built here.

use std::io::Write;

use crate::common::{findings, Env, Fake};

fn zip(members: &[(&str, &[u8])], method: zip::CompressionMethod) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(method);
    for (name, data) in members {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn tar(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, *data).unwrap();
    }
    b.into_inner().unwrap()
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn bz2(data: &[u8]) -> Vec<u8> {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn xz(data: &[u8]) -> Vec<u8> {
    let mut e = liblzma::write::XzEncoder::new(Vec::new(), 1);
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zst(data: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
}

fn paths(json: &serde_json::Value) -> Vec<String> {
    let mut p: Vec<String> = findings(json)
        .iter()
        .map(|f| format!("{}:{}", f["path"].as_str().unwrap(), f["line"]))
        .collect();
    p.sort();
    p
}

#[test]
fn every_kind_is_opened_and_members_keep_their_lines() {
    let env = Env::new();
    let mut fake = Fake::new(170);
    let text = |fake: &mut Fake| format!("# config\n\ntoken = \"{}\"\n", fake.github_pat());
    let deflated = zip::CompressionMethod::Deflated;
    env.write(
        "a.zip",
        zip(&[("src/app.py", text(&mut fake).as_bytes())], deflated),
    );
    env.write(
        "b.jar",
        zip(
            &[("META-INF/x.properties", text(&mut fake).as_bytes())],
            zip::CompressionMethod::Stored,
        ),
    );
    env.write("c.tar", tar(&[("etc/c.env", text(&mut fake).as_bytes())]));
    env.write(
        "d.tar.gz",
        gz(&tar(&[("d.env", text(&mut fake).as_bytes())])),
    );
    env.write("e.tgz", gz(&tar(&[("e.env", text(&mut fake).as_bytes())])));
    env.write("f.log.gz", gz(text(&mut fake).as_bytes()));
    env.write("g.log.bz2", bz2(text(&mut fake).as_bytes()));
    env.write("h.log.xz", xz(text(&mut fake).as_bytes()));
    env.write("i.log.zst", zst(text(&mut fake).as_bytes()));
    env.write(
        "j.tar.xz",
        xz(&tar(&[("j.env", text(&mut fake).as_bytes())])),
    );
    let (code, json) = env.scan_json(&["."]);
    assert_eq!(code, 1);
    assert_eq!(
        paths(&json),
        [
            "a.zip!src/app.py:3",
            "b.jar!META-INF/x.properties:3",
            "c.tar!etc/c.env:3",
            "d.tar.gz!d.env:3",
            "e.tgz!e.env:3",
            "f.log.gz!f.log:3",
            "g.log.bz2!g.log:3",
            "h.log.xz!h.log:3",
            "i.log.zst!i.log:3",
            "j.tar.xz!j.env:3",
        ]
    );
    assert_eq!(
        json["summary"]["files_scanned"], 10,
        "{:#}",
        json["summary"]
    );
    assert!(json["summary"]["skipped"].get("binary").is_none());

    // --archive-depth 0 leaves archives as binary files, as before.
    let (code, json) = env.scan_json(&["--archive-depth", "0", "."]);
    assert_eq!(code, 0);
    assert_eq!(json["summary"]["skipped"]["binary"], 10);
}

#[test]
fn nested_archives_open_to_the_depth_given() {
    let env = Env::new();
    let mut fake = Fake::new(171);
    let secret = format!("key: {}\n", fake.github_pat());
    let inner = zip(
        &[("src/app.yml", secret.as_bytes())],
        zip::CompressionMethod::Deflated,
    );
    let outer = gz(&tar(&[("lib/inner.zip", &inner)]));
    env.write("bundle.tar.gz", &outer);
    let (_, json) = env.scan_json(&["."]);
    assert_eq!(paths(&json), ["bundle.tar.gz!lib/inner.zip!src/app.yml:1"]);

    let out = env
        .cmd()
        .args(["scan", "--archive-depth", "1", "-f", "json", "."])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(findings(&json).is_empty());
    assert_eq!(json["summary"]["skipped"]["archive-too-deep"], 1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bundle.tar.gz!lib/inner.zip: archive nested too deep"),
        "{stderr}"
    );
}

#[test]
fn bombs_are_refused_and_counted() {
    let env = Env::new();
    let mut fake = Fake::new(172);
    let zeros = vec![0u8; 16 << 20];
    // A zip whose member declares a thousandfold expansion, beside a member
    // that must still be found, and a gzip stream that expands as far.
    let ok = format!("t = {}\n", fake.github_pat());
    env.write(
        "bomb.zip",
        zip(
            &[("ok.txt", ok.as_bytes()), ("zeros.bin", &zeros)],
            zip::CompressionMethod::Deflated,
        ),
    );
    env.write("bomb.gz", gz(&zeros));
    let out = env
        .cmd()
        .args(["scan", "-f", "json", "."])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(paths(&json), ["bomb.zip!ok.txt:1"]);
    assert_eq!(
        json["summary"]["skipped"]["archive-bomb"], 2,
        "{:#}",
        json["summary"]
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bomb.zip: archive bomb: refused"),
        "{stderr}"
    );
    assert!(
        stderr.contains("bomb.gz: archive bomb: refused"),
        "{stderr}"
    );
}

#[test]
fn too_many_members_and_corrupt_archives_are_named_and_the_scan_goes_on() {
    let env = Env::new();
    let mut fake = Fake::new(173);
    let names: Vec<String> = (0..10_005).map(|i| format!("m{i}.txt")).collect();
    let many: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
    env.write("many.tar", tar(&many));
    let mut broken = zip(
        &[("a.txt", fake.github_pat().as_bytes())],
        zip::CompressionMethod::Deflated,
    );
    broken.truncate(broken.len() / 2);
    env.write("broken.zip", &broken);
    let mut truncated = gz(format!("{}\n", fake.github_pat()).repeat(50).as_bytes());
    truncated.truncate(truncated.len() - 12);
    env.write("cut.log.gz", &truncated);
    env.write("plain.txt", fake.github_pat());
    let out = env
        .cmd()
        .args(["scan", "-f", "json", "."])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(paths(&json), ["plain.txt:1"]);
    let skipped = &json["summary"]["skipped"];
    assert_eq!(skipped["archive-too-many-members"], 1, "{skipped:#}");
    assert_eq!(skipped["archive-corrupt"], 2, "{skipped:#}");
    assert_eq!(json["summary"]["files_scanned"], 10_000 + 1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("many.tar: archive with too many members"),
        "{stderr}"
    );
    assert!(stderr.contains("broken.zip: corrupt archive"), "{stderr}");
    assert!(stderr.contains("cut.log.gz: corrupt archive"), "{stderr}");
}

#[test]
fn members_over_max_file_size_are_skipped_and_named() {
    let env = Env::new();
    let mut fake = Fake::new(174);
    let big = format!("{}\n{}\n", "a = 1\n".repeat(400), fake.github_pat());
    let small = format!("t = {}\n", fake.github_pat());
    let members: &[(&str, &[u8])] = &[("big.txt", big.as_bytes()), ("small.txt", small.as_bytes())];
    env.write("t.tar.gz", gz(&tar(members)));
    env.write("z.zip", zip(members, zip::CompressionMethod::Deflated));
    env.write("big.log.gz", gz(big.as_bytes()));
    let out = env
        .cmd()
        .args(["scan", "--max-file-size", "1K", "-f", "json", "."])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(paths(&json), ["t.tar.gz!small.txt:1", "z.zip!small.txt:1"]);
    assert_eq!(
        json["summary"]["skipped"]["too-large"], 3,
        "{:#}",
        json["summary"]
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("t.tar.gz!big.txt: too large: skipped"),
        "{stderr}"
    );
    assert!(
        stderr.contains("big.log.gz!big.log: too large: skipped"),
        "{stderr}"
    );
}

/// A zip committed, then deleted: `keysweep git` opens the blob and reports
/// the member with the commit that added the archive.
#[test]
fn archives_in_git_history_are_opened() {
    let env = Env::new();
    let r = crate::repo::Repo::init(env.path());
    let tok = Fake::new(171).github_pat();
    r.write("README.md", "hello\n");
    r.commit("initial", 1_700_000_000);
    let bundle = zip(
        &[
            ("inner.py", format!("# x\nT = '{tok}'\n").as_bytes()),
            ("blob.bin", b"\x00\x01binary"),
        ],
        zip::CompressionMethod::Deflated,
    );
    std::fs::create_dir_all(env.path().join("path")).unwrap();
    std::fs::write(env.path().join("path/bundle.zip"), &bundle).unwrap();
    let added = r.commit("add bundle", 1_700_000_100);
    r.remove("path/bundle.zip");
    r.commit("remove bundle", 1_700_000_200);

    let out = env
        .cmd()
        .args(["git", "-f", "json", "--show-secrets", "."])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let fs = findings(&json);
    assert_eq!(fs.len(), 1, "{json:#}");
    assert_eq!(fs[0]["path"], "path/bundle.zip!inner.py");
    assert_eq!(fs[0]["line"], 2);
    assert_eq!(fs[0]["secret"], tok.as_str());
    assert_eq!(fs[0]["commit"], added.to_string());
    assert_eq!(fs[0]["status"], "history-only");
    assert_eq!(json["summary"]["skipped"]["binary"], 1, "the binary member");

    // --archive-depth 0: the archive is a binary blob again.
    let out = env
        .cmd()
        .args(["git", "-f", "json", "--archive-depth", "0", "."])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(findings(&json).is_empty());
}
