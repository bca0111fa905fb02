//! The dependency policy of `deny.toml`, checked from `Cargo.lock` so it holds
//! even where `cargo deny` is not installed.

/// Crates a security tool must not ship: deprecated or unmaintained YAML
/// stacks (`serde_yaml` pulls `unsafe-libyaml`), and their unsound forks.
const BANNED: &[&str] = &["serde_yaml", "unsafe-libyaml", "serde_yml", "libyml"];

fn locked_packages(lock: &str) -> Vec<String> {
    lock.lines()
        .filter_map(|l| l.strip_prefix("name = \""))
        .map(|n| n.trim_end_matches('"').to_string())
        .collect()
}

#[test]
fn no_banned_crate_is_locked() {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock")).unwrap();
    let packages = locked_packages(&lock);
    assert!(
        packages.len() > 50,
        "Cargo.lock did not parse: {} packages",
        packages.len()
    );
    let found: Vec<_> = packages
        .iter()
        .filter(|p| BANNED.contains(&p.as_str()))
        .collect();
    assert!(found.is_empty(), "banned crates in Cargo.lock: {found:?}");
}

#[test]
fn deny_toml_bans_the_same_crates() {
    let deny = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deny.toml")).unwrap();
    for b in BANNED {
        assert!(
            deny.contains(&format!("crate = \"{b}\"")),
            "deny.toml does not ban {b}"
        );
    }
}
