//! Shared helpers: a temp dir with the keysweep command, and fake secrets built
//! at run time (random strings in real token formats, never real credentials).

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// A scratch directory and a way to run keysweep in it.
pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file (creating parent directories) and returns its path.
    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, contents).unwrap();
        p
    }

    /// `keysweep` with the temp dir as working directory.
    pub fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("keysweep").unwrap();
        // A fixed secret_id key keeps the user's installation key out of
        // tests; NO_COLOR and CLICOLOR_FORCE from the caller's shell are not
        // the test's.
        c.current_dir(self.dir.path())
            .env_remove("KEYSWEEP_CONFIG")
            .env_remove("KEYSWEEP_DATASTORE")
            .env_remove("GITHUB_TOKEN")
            .env_remove("GITLAB_TOKEN")
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .env("KEYSWEEP_ID_KEY", "keysweep-tests");
        c
    }

    /// Runs `keysweep rules list -f json` here and returns the parsed JSON
    /// (`{"counts": {...}, "rules": [...]}`).
    pub fn rules_list(&self) -> serde_json::Value {
        let out = self
            .cmd()
            .args(["rules", "list", "-f", "json"])
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Runs `keysweep scan ARGS -f json -q` and returns (exit code, parsed JSON).
    pub fn scan_json(&self, args: &[&str]) -> (i32, serde_json::Value) {
        let out = self
            .cmd()
            .arg("scan")
            .args(args)
            .args(["-f", "json", "-q"])
            .output()
            .unwrap();
        let code = out.status.code().unwrap();
        let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}): {}\nstderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (code, json)
    }
}

/// Deterministic pseudo-random strings, so failures reproduce.
pub struct Fake(u64);

impl Fake {
    pub fn new(seed: u64) -> Fake {
        Fake(
            seed.wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407),
        )
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn string(&mut self, charset: &str, n: usize) -> String {
        let cs: Vec<char> = charset.chars().collect();
        (0..n)
            .map(|_| cs[(self.next() % cs.len() as u64) as usize])
            .collect()
    }

    pub fn alnum(&mut self, n: usize) -> String {
        self.string(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            n,
        )
    }

    /// A GitHub classic personal access token with a valid CRC32 checksum.
    pub fn github_pat(&mut self) -> String {
        self.crc32_token("ghp")
    }

    /// `<prefix>_<30 random><6 base62 CRC32>`: the format of GitHub's and
    /// npm's tokens, with a checksum that passes the offline check.
    pub fn crc32_token(&mut self, prefix: &str) -> String {
        use keysweep::rules::checksum::{base62, crc32};
        let random = self.alnum(30);
        format!("{prefix}_{random}{}", base62(crc32(random.as_bytes()), 6))
    }
}

pub fn findings(json: &serde_json::Value) -> &Vec<serde_json::Value> {
    json["findings"].as_array().expect("findings array")
}

/// The paths of a JSON report's findings, sorted.
pub fn finding_paths(json: &serde_json::Value) -> Vec<&str> {
    let mut paths: Vec<&str> = findings(json)
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    paths.sort();
    paths
}

/// Whether the tests run in CI (`CI=true`, as GitHub Actions, GitLab and
/// `.ci/run` set it): a test that needs a service must fail there rather than
/// skip.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Runs git in `dir` with a fixed identity and branch name, whatever the
/// machine's config says; panics with git's message on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .args([
            "-c",
            "user.name=Ada",
            "-c",
            "user.email=ada@example.org",
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
