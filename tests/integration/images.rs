//! Container images saved as tarballs (`docker save`, OCI layout): layers
//! scanned under `image.tar!layer:<digest>!path`, whiteouts honoured (a file
//! deleted by an upper layer is still reported, marked), hostile manifests
//! refused and named. Images are built here, byte by byte, with `tar`.

use std::io::Write;

use sha2::{Digest, Sha256};

use crate::common::{finding_paths, findings, Env, Fake};

fn tar(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_path(name).unwrap();
        h.set_cksum();
        b.append(&h, *data).unwrap();
    }
    b.into_inner().unwrap()
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn sha(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `docker save` of `app:1.0`, old format: `<id>/layer.tar` and a config
/// whose `rootfs.diff_ids` name the layers.
fn docker_save(layers: &[Vec<u8>], config_extra: &str) -> (Vec<u8>, Vec<String>) {
    let digests: Vec<String> = layers
        .iter()
        .map(|l| format!("sha256:{}", sha(l)))
        .collect();
    let config = format!(
        r#"{{"rootfs":{{"type":"layers","diff_ids":{}}}{config_extra}}}"#,
        serde_json::to_string(&digests).unwrap()
    );
    let paths: Vec<String> = (0..layers.len())
        .map(|i| format!("l{i}/layer.tar"))
        .collect();
    let manifest = serde_json::json!([{
        "Config": "cfg.json",
        "RepoTags": ["app:1.0"],
        "Layers": paths,
    }])
    .to_string();
    let mut members: Vec<(&str, &[u8])> = vec![
        ("manifest.json", manifest.as_bytes()),
        ("cfg.json", config.as_bytes()),
    ];
    for (p, l) in paths.iter().zip(layers) {
        members.push((p, l));
    }
    (tar(&members), digests)
}

fn short(digest: &str) -> &str {
    &digest[7..19]
}

#[test]
fn saved_image_layers_are_scanned_and_whiteouts_marked() {
    let env = Env::new();
    let mut fake = Fake::new(1701);
    let (gone, kept, replaced, top) = (
        fake.github_pat(),
        fake.github_pat(),
        fake.github_pat(),
        fake.github_pat(),
    );
    let env_file = format!("A=1\nGITHUB_TOKEN={gone}\n");
    let keep = format!("TOKEN={kept}\n");
    let old = format!("TOKEN={replaced}\n");
    let lower = tar(&[
        ("./etc/app.env", env_file.as_bytes()),
        ("./srv/keep.env", keep.as_bytes()),
        ("./srv/conf.env", old.as_bytes()),
        ("./var/cache/c.env", old.as_bytes()),
    ]);
    let new = format!("# rotated\n\nTOKEN={top}\n");
    let upper = tar(&[
        ("etc/.wh.app.env", b""),
        ("var/.wh..wh..opq", b""),
        ("srv/conf.env", new.as_bytes()),
    ]);
    let (image, digests) = docker_save(&[lower, upper], "");
    env.write("app-image.tar", image);
    let (code, json) = env.scan_json(&["--show-secrets", "."]);
    assert_eq!(code, 1, "{json:#}");
    let mut got: Vec<(String, u64, String, String)> = findings(&json)
        .iter()
        .map(|f| {
            assert_eq!(f["image"], "app:1.0", "{f:#}");
            (
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["layer_status"].as_str().unwrap().to_string(),
                f["secret"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    let (l0, l1) = (short(&digests[0]), short(&digests[1]));
    let row = |p: String, line, status: &str, s: &str| (p, line, status.to_string(), s.to_string());
    let mut want = vec![
        row(
            format!("app-image.tar!layer:{l0}!etc/app.env"),
            2,
            "deleted",
            &gone,
        ),
        row(
            format!("app-image.tar!layer:{l0}!srv/conf.env"),
            1,
            "replaced",
            &replaced,
        ),
        row(
            format!("app-image.tar!layer:{l0}!srv/keep.env"),
            1,
            "present",
            &kept,
        ),
        row(
            format!("app-image.tar!layer:{l0}!var/cache/c.env"),
            1,
            "deleted",
            &replaced,
        ),
        row(
            format!("app-image.tar!layer:{l1}!srv/conf.env"),
            3,
            "present",
            &top,
        ),
    ];
    want.sort();
    assert_eq!(got, want);
    let deleted = findings(&json)
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("etc/app.env"))
        .unwrap();
    assert_eq!(deleted["layer"], digests[0].as_str());
    let fix = deleted["fix"].as_str().unwrap();
    assert!(fix.contains(&format!("deleted by layer {l1}")), "{fix}");
    // Whiteouts are not scanned as files: 5 layer files and the config.
    assert_eq!(json["summary"]["files_scanned"], 6, "{:#}", json["summary"]);
}

#[test]
fn a_secret_in_the_image_config_is_found() {
    let env = Env::new();
    let tok = Fake::new(1702).github_pat();
    let layer = tar(&[("app/main.py", b"print('hi')\n")]);
    let extra = format!(r#","config":{{"Env":["GITHUB_TOKEN={tok}"]}}"#);
    let (image, _) = docker_save(&[layer], &extra);
    env.write("img.tar", image);
    let (code, json) = env.scan_json(&["."]);
    assert_eq!(code, 1);
    assert_eq!(findings(&json).len(), 1);
    assert_eq!(findings(&json)[0]["path"], "img.tar!cfg.json");
}

/// An OCI image layout, gzip-compressed layers, named by containerd's
/// annotation, detected by content under a name that says nothing.
#[test]
fn oci_layout_with_gzip_layers_is_scanned() {
    let env = Env::new();
    let tok = Fake::new(1703).github_pat();
    let text = format!("export GITHUB_TOKEN={tok}\n");
    let base = gz(&tar(&[("etc/profile", b"umask 022\n")]));
    let app = gz(&tar(&[("root/.bashrc", text.as_bytes())]));
    let config = br#"{"rootfs":{"type":"layers","diff_ids":[]}}"#.to_vec();
    let desc = |mt: &str, b: &[u8]| serde_json::json!({"mediaType": mt, "digest": format!("sha256:{}", sha(b)), "size": b.len()});
    let layer_mt = "application/vnd.oci.image.layer.v1.tar+gzip";
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "config": desc("application/vnd.oci.image.config.v1+json", &config),
        "layers": [desc(layer_mt, &base), desc(layer_mt, &app)],
    })
    .to_string();
    let mut top = desc(
        "application/vnd.oci.image.manifest.v1+json",
        manifest.as_bytes(),
    );
    top["annotations"] = serde_json::json!({"io.containerd.image.name": "registry.example/app:2"});
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [top]}).to_string();
    let blob = |b: &[u8]| format!("blobs/sha256/{}", sha(b));
    let (pb, pa, pc, pm) = (
        blob(&base),
        blob(&app),
        blob(&config),
        blob(manifest.as_bytes()),
    );
    let image = tar(&[
        ("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#),
        ("index.json", index.as_bytes()),
        (&pm, manifest.as_bytes()),
        (&pc, &config),
        (&pb, &base),
        (&pa, &app),
    ]);
    env.write("backup.bin", image);
    let (code, json) = env.scan_json(&["."]);
    assert_eq!(code, 1, "{json:#}");
    let fs = findings(&json);
    assert_eq!(fs.len(), 1);
    let digest = format!("sha256:{}", sha(&app));
    assert_eq!(
        fs[0]["path"],
        format!("backup.bin!layer:{}!root/.bashrc", short(&digest))
    );
    assert_eq!(fs[0]["layer"], digest.as_str());
    assert_eq!(fs[0]["image"], "registry.example/app:2");
    assert_eq!(fs[0]["layer_status"], "present");
}

/// A manifest naming a layer outside the tarball is refused, named, and
/// counted; the tarball is then read as a plain tar, so the secret a hostile
/// manifest tried to hide is still found.
#[test]
fn hostile_manifests_are_refused_and_hide_nothing() {
    let env = Env::new();
    let tok = Fake::new(1704).github_pat();
    let layer = tar(&[("app.env", format!("TOKEN={tok}\n").as_bytes())]);
    let manifest = r#"[{"Config":"cfg.json","RepoTags":["x:1"],"Layers":["../../etc/passwd"]}]"#;
    env.write(
        "evil.tar",
        tar(&[
            ("manifest.json", manifest.as_bytes()),
            ("cfg.json", b"{}"),
            ("l/layer.tar", &layer),
        ]),
    );
    let huge = format!("[{}]", " ".repeat(5 << 20));
    env.write(
        "huge.tar",
        tar(&[("manifest.json", huge.as_bytes()), ("l/layer.tar", &layer)]),
    );
    let out = env
        .cmd()
        .args(["scan", "-f", "json", "."])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "evil.tar!manifest.json: refused: path \"../../etc/passwd\" leads outside the image"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("huge.tar!manifest.json: refused: 5242882 bytes of JSON"),
        "{stderr}"
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["summary"]["skipped"]["image-manifest"], 2);
    let paths = finding_paths(&json);
    assert_eq!(
        paths,
        [
            "evil.tar!l/layer.tar!app.env",
            "huge.tar!l/layer.tar!app.env"
        ]
    );
}

/// A saved image is routinely far over `--max-file-size`: a file whose first
/// bytes are an archive is opened anyway (members bounded one by one and in
/// total), while an oversized file that is not one stays skipped, even when
/// its name or first bytes pretend. `--archive-max-bytes` bounds the total.
#[test]
fn an_image_over_the_file_size_limit_is_opened_as_an_archive() {
    let env = Env::new();
    let mut fake = Fake::new(1702);
    let (tok, junk_tok) = (fake.github_pat(), fake.github_pat());
    let filler = fake.alnum(100_000);
    let env_file = format!("GITHUB_TOKEN={tok}\n");
    let layer = tar(&[
        ("srv/filler.txt", filler.as_bytes()),
        ("srv/app.env", env_file.as_bytes()),
    ]);
    let (image, _) = docker_save(&[layer], "");
    env.write("image.tar", &image);
    env.write("notes.txt", format!("{filler}\n{junk_tok}\n"));
    let mut fake_zip = b"PK\x03\x04".to_vec();
    fake_zip.extend(format!("{filler}\n{junk_tok}\n").as_bytes());
    env.write("fake.zip", &fake_zip);

    let (_, json) = env.scan_json(&[".", "--max-file-size", "64K", "--show-secrets"]);
    let secrets: Vec<&str> = findings(&json)
        .iter()
        .map(|f| f["secret"].as_str().unwrap())
        .collect();
    assert_eq!(secrets, [tok.as_str()], "{json:#}");
    let skipped = &json["summary"]["skipped"];
    // The text file and the layer's filler are over the limit; the fake zip
    // is a corrupt archive: none of them is read as plain bytes.
    assert_eq!(skipped["too-large"], 2, "{json:#}");
    assert_eq!(skipped["archive-corrupt"], 1, "{json:#}");

    let (_, json) = env.scan_json(&[
        "image.tar",
        "--max-file-size",
        "64K",
        "--archive-max-bytes",
        "1K",
    ]);
    assert!(findings(&json).is_empty(), "{json:#}");
    assert!(
        json["summary"]["skipped"]["archive-too-large"].as_u64() >= Some(1),
        "{json:#}"
    );
}
