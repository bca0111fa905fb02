//! Repositories for a sweep: the list (from a file or found below a
//! directory), a deterministic shard of it, and a bare mirror of each in a
//! cache directory, fetched incrementally on later runs.

use std::path::{Path, PathBuf};

use anyhow::Context;
use git2::{AutotagOption, FetchOptions, FetchPrune, Repository};
use twox_hash::XxHash3_64;

/// Refs copied into the mirror: branches and tags, each onto itself.
const REFSPECS: [&str; 2] = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"];

/// The credential in a repository URL's user info (`https://x:TOKEN@host`,
/// or `https://TOKEN@host` as GitHub accepts), if any.
fn url_credential(url: &str) -> Option<&str> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let (userinfo, _) = authority.rsplit_once('@')?;
    match userinfo.split_once(':') {
        Some((_, pass)) if !pass.is_empty() => Some(pass),
        Some(_) => None,
        // `ssh://git@host`: a user name, not a credential.
        None if scheme.starts_with("http") && !userinfo.is_empty() => Some(userinfo),
        None => None,
    }
}

/// `url` fit for messages, reports and the datastore: a password or token
/// in its user info replaced by `***`.
pub fn without_credentials(url: &str) -> String {
    scrub_credentials(url, url)
}

/// `text` (a message about `url`, such as a git error quoting it) with
/// `url`'s credential replaced by `***`.
pub fn scrub_credentials(text: &str, url: &str) -> String {
    match url_credential(url) {
        Some(secret) => text.replace(secret, "***"),
        None => text.to_string(),
    }
}

/// Reads a repository list: one clone URL or local path per line; blank lines
/// and lines starting with `#` are ignored.
///
/// # Errors
///
/// Fails naming the file when it cannot be read.
pub fn read_list(path: &Path) -> anyhow::Result<Vec<String>> {
    let text = crate::blob::read_text_file(path)
        .with_context(|| format!("{}: cannot read repository list", path.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect())
}

/// Finds every git repository below `dir` (work trees and bare repositories),
/// without descending into them, in sorted order.
///
/// # Errors
///
/// Fails when `dir` cannot be read; unreadable subdirectories are skipped.
pub fn find_repos(dir: &Path) -> anyhow::Result<Vec<String>> {
    std::fs::read_dir(dir).with_context(|| format!("{}: cannot read directory", dir.display()))?;
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        if d.join(".git").exists() || is_bare(&d) {
            found.push(d.display().to_string());
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            // Symlinks are not followed: they can loop.
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(e.path());
            }
        }
    }
    found.sort();
    Ok(found)
}

fn is_bare(d: &Path) -> bool {
    d.join("HEAD").is_file() && d.join("objects").is_dir() && d.join("refs").is_dir()
}

/// A slice of the repository list: shard `index` of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// Parses `K/N` with `0 <= K < N` (`K` is 0-based, as Kubernetes'
    /// `JOB_COMPLETION_INDEX`).
    ///
    /// ```
    /// use keysweep::source::mirror::Shard;
    /// assert_eq!(Shard::parse("2/8"), Ok(Shard { index: 2, count: 8 }));
    /// assert!(Shard::parse("8/8").is_err());
    /// assert!(Shard::parse("1").is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// Fails when the text is not `K/N` or `K` is not below `N`.
    pub fn parse(s: &str) -> Result<Shard, BadShard> {
        let bad = || BadShard(s.to_string());
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u64 = k.trim().parse().map_err(|_| bad())?;
        let count: u64 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// Whether `repo` (as listed) belongs to this shard. The hash of the text
    /// is stable across machines and releases, so N workers given the same
    /// list split it without talking to each other.
    pub fn contains(&self, repo: &str) -> bool {
        XxHash3_64::oneshot(repo.as_bytes()) % self.count == self.index
    }
}

/// `--shard` text that is not `K/N` with `K < N`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?}: expected K/N with 0 <= K < N, e.g. 0/4")]
pub struct BadShard(pub String);

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Where the mirror of `repo` lives in `cache`: a readable name plus a hash of
/// the whole text, so distinct repositories never share a directory.
pub fn cache_path(cache: &Path, repo: &str) -> PathBuf {
    let stem = repo
        .trim_end_matches('/')
        .trim_end_matches(".git")
        .rsplit(['/', '\\', ':'])
        .next()
        .unwrap_or("repo");
    let stem: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    cache.join(format!(
        "{stem}-{:016x}.git",
        XxHash3_64::oneshot(repo.as_bytes())
    ))
}

/// Clones `repo` as a bare mirror into `dest`, or fetches what is new when the
/// mirror exists. Branches and tags deleted upstream are pruned. A damaged
/// mirror is replaced (see [`fetch_repairing`]).
///
/// # Errors
///
/// As [`fetch_repairing`].
pub fn fetch(repo: &str, dest: &Path) -> anyhow::Result<Repository> {
    fetch_repairing(repo, dest).map(|(r, _)| r)
}

/// [`fetch`], also saying what was wrong with a cached mirror that had to be
/// cloned again (`None` when it was sound or new).
///
/// `repo` is a URL git understands or a local path (made absolute here).
/// An existing mirror is checked first ([`damage`]: it opens, its refs and
/// their objects read, each pack's trailer matches its index); a damaged one
/// is moved aside to `DEST.damaged` and cloned afresh, and the copy is
/// deleted once the new clone succeeded. Otherwise a mirror broken once
/// would fail on every later sweep.
///
/// # Errors
///
/// Fails with the cause (unreachable, not a repository, authentication
/// required, corrupt objects) when the fetch fails, and when a damaged
/// mirror cannot be cloned again (naming the damage too).
pub fn fetch_repairing(repo: &str, dest: &Path) -> anyhow::Result<(Repository, Option<String>)> {
    let url = fetch_url(repo)?;
    let damaged = dest.exists().then(|| damage(dest)).flatten();
    let aside = aside_path(dest);
    if damaged.is_some() {
        if aside.exists() {
            std::fs::remove_dir_all(&aside)
                .with_context(|| format!("{}: cannot remove", aside.display()))?;
        }
        std::fs::rename(dest, &aside)
            .with_context(|| format!("{}: cannot move the damaged mirror aside", dest.display()))?;
    }
    let mirror = match Repository::open_bare(dest) {
        Ok(r) => r,
        Err(_) => Repository::init_bare(dest)
            .with_context(|| format!("{}: cannot create cache", dest.display()))?,
    };
    let fetched = fetch_into(&mirror, &url);
    match (fetched, &damaged) {
        (Ok(()), Some(_)) => {
            // The new clone replaces it; a failed removal only costs disk.
            let _ = std::fs::remove_dir_all(&aside);
        }
        (Ok(()), None) => {}
        (Err(e), Some(d)) => {
            return Err(e.context(format!(
                "the cached mirror was damaged ({d}; moved to {}) and cannot be cloned again",
                aside.display()
            )))
        }
        (Err(e), None) => return Err(e),
    }
    Ok((mirror, damaged))
}

fn fetch_into(mirror: &Repository, url: &str) -> anyhow::Result<()> {
    let mut remote = mirror.remote_anonymous(url)?;
    let mut fo = FetchOptions::new();
    fo.remote_callbacks(callbacks());
    fo.prune(FetchPrune::On);
    fo.download_tags(AutotagOption::None);
    remote
        .fetch(&REFSPECS, Some(&mut fo), None)
        .map_err(|e| anyhow::anyhow!("fetch failed: {}", e.message()))
}

fn aside_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".damaged");
    dest.with_file_name(name)
}

/// What is wrong with the mirror at `dest`, if anything, found cheaply (no
/// object is hashed): it does not open as a bare repository; a ref, or the
/// object it names, cannot be read; a pack lacks its index, does not start
/// like a pack or its trailing checksum differs from the one its index
/// records (a truncated or overwritten pack).
pub fn damage(dest: &Path) -> Option<String> {
    let repo = match Repository::open_bare(dest) {
        Ok(r) => r,
        Err(e) => return Some(format!("does not open: {}", e.message())),
    };
    if let Some(d) = super::git::pack_damage(&dest.join("objects/pack"))
        .into_iter()
        .next()
    {
        return Some(d);
    }
    let refs = match repo.references() {
        Ok(r) => r,
        Err(e) => return Some(format!("refs unreadable: {}", e.message())),
    };
    for r in refs {
        let r = match r {
            Ok(r) => r,
            Err(e) => return Some(format!("a ref is unreadable: {}", e.message())),
        };
        if let Some(t) = r.target() {
            if let Err(e) = repo.find_object(t, None) {
                let name = String::from_utf8_lossy(r.name_bytes()).into_owned();
                return Some(format!("{name} -> {t}: {}", e.message()));
            }
        }
    }
    None
}

/// The URL to fetch `repo` from: URLs as they are, local paths made absolute.
fn fetch_url(repo: &str) -> anyhow::Result<String> {
    if repo.contains("://") || is_scp_like(repo) {
        return Ok(repo.to_string());
    }
    let p = Path::new(repo);
    if !p.exists() {
        anyhow::bail!("no such repository or directory");
    }
    Ok(std::path::absolute(p)?.display().to_string())
}

/// The [`refs_digest`] the mirror of `repo` would have after a fetch, from
/// the refs `repo` advertises (one round trip, like `git ls-remote`), so an
/// unchanged repository needs no fetch at all.
///
/// # Errors
///
/// Fails when the repository cannot be reached or listed.
pub fn remote_digest(repo: &str) -> anyhow::Result<String> {
    let url = fetch_url(repo)?;
    let mut remote = git2::Remote::create_detached(url.as_str())?;
    remote
        .connect_auth(git2::Direction::Fetch, Some(callbacks()), None)
        .map_err(|e| anyhow::anyhow!("cannot list refs: {}", e.message()))?;
    let heads = remote.list()?;
    let refs = heads.iter().filter_map(|h| {
        let name = String::from_utf8_lossy(h.name().as_bytes()).into_owned();
        mirrored(&name).then(|| (name, h.oid().to_string()))
    });
    Ok(digest(refs.collect()))
}

/// Credentials without prompting: a user name in the URL with an ssh agent
/// for ssh, git's credential helpers for https, then the default. Each is
/// tried once, so a repository that refuses them all fails instead of
/// looping.
fn callbacks<'a>() -> git2::RemoteCallbacks<'a> {
    let mut cb = git2::RemoteCallbacks::new();
    let mut tried = 0u32;
    cb.credentials(move |url, username, allowed| {
        tried += 1;
        let config = git2::Config::open_default();
        match tried {
            1 if allowed.contains(git2::CredentialType::USERNAME) => {
                git2::Cred::username(username.unwrap_or("git"))
            }
            1 | 2 if allowed.contains(git2::CredentialType::SSH_KEY) => {
                git2::Cred::ssh_key_from_agent(username.unwrap_or("git"))
            }
            1..=3 if allowed.contains(git2::CredentialType::USER_PASS_PLAINTEXT) => {
                let config = config?;
                git2::Cred::credential_helper(&config, url, username).map_err(|_| no_credentials())
            }
            1..=4 if allowed.contains(git2::CredentialType::DEFAULT) => git2::Cred::default(),
            _ => Err(no_credentials()),
        }
    });
    cb
}

fn no_credentials() -> git2::Error {
    git2::Error::from_str(
        "authentication required and no credentials were accepted (configure a git credential \
         helper or an ssh agent, or put a token in the URL)",
    )
}

/// Whether a ref is copied into mirrors (see [`REFSPECS`]). Peeled tag
/// entries (`^{}`) are advertisements, not refs.
fn mirrored(name: &str) -> bool {
    (name.starts_with("refs/heads/") || name.starts_with("refs/tags/")) && !name.ends_with("^{}")
}

/// `user@host:path`, the scp-like syntax of ssh URLs.
fn is_scp_like(s: &str) -> bool {
    match (s.find(':'), s.find('/')) {
        (Some(c), Some(sl)) => c < sl && c > 1 && !Path::new(s).exists(),
        (Some(c), None) => c > 1 && !Path::new(s).exists(),
        _ => false,
    }
}

/// A digest of a mirror's branches and tags and their targets: equal digests
/// mean nothing new to scan.
///
/// # Errors
///
/// Fails when the refs cannot be read.
pub fn refs_digest(repo: &Repository) -> anyhow::Result<String> {
    let mut refs: Vec<(String, String)> = Vec::new();
    for r in repo.references()? {
        let r = r?;
        let name = String::from_utf8_lossy(r.name_bytes()).into_owned();
        if let (true, Some(t)) = (mirrored(&name), r.target()) {
            refs.push((name, t.to_string()));
        }
    }
    Ok(digest(refs))
}

fn digest(mut refs: Vec<(String, String)>) -> String {
    refs.sort();
    let mut text = String::new();
    for (n, t) in refs {
        text.push_str(&n);
        text.push(' ');
        text.push_str(&t);
        text.push('\n');
    }
    format!("{:016x}", XxHash3_64::oneshot(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn credentials_stay_out_of_shown_urls() {
        use super::without_credentials as w;
        assert_eq!(
            w("https://x:tok3n@host/o/r.git"),
            "https://x:***@host/o/r.git"
        );
        assert_eq!(w("https://tok3n@host/o/r.git"), "https://***@host/o/r.git");
        assert_eq!(w("ssh://git@host/o/r.git"), "ssh://git@host/o/r.git");
        assert_eq!(w("git@host:o/r.git"), "git@host:o/r.git");
        assert_eq!(w("https://host/o/r.git"), "https://host/o/r.git");
        assert_eq!(w("/srv/repos/a@b"), "/srv/repos/a@b");
    }

    use super::*;

    #[test]
    fn shards_partition_the_list() {
        let repos: Vec<String> = (0..1000)
            .map(|i| format!("https://git.example/r{i}"))
            .collect();
        let n = 7;
        let mut seen = vec![0u32; repos.len()];
        for k in 0..n {
            let s = Shard { index: k, count: n };
            let mine = repos.iter().filter(|r| s.contains(r)).count();
            // Roughly even: no shard is empty or holds a third of the list.
            assert!(mine > 50 && mine < 333, "shard {k} has {mine}");
            for (i, r) in repos.iter().enumerate() {
                if s.contains(r) {
                    seen[i] += 1;
                }
            }
        }
        assert!(seen.iter().all(|&c| c == 1));
    }

    #[test]
    fn cache_paths_are_distinct_and_readable() {
        let c = Path::new("/c");
        let a = cache_path(c, "https://github.com/org/app.git");
        let b = cache_path(c, "https://gitlab.com/org/app.git");
        assert_ne!(a, b);
        assert!(a.file_name().unwrap().to_str().unwrap().starts_with("app-"));
    }

    #[test]
    fn scp_like_urls() {
        assert!(is_scp_like("git@github.com:org/repo.git"));
        assert!(!is_scp_like("/tmp/x"));
        assert!(!is_scp_like("C:/x"));
    }

    /// A repository at `dir/src` with one commit; its path.
    fn source_repo(dir: &Path) -> String {
        let src = dir.join("src");
        let repo = Repository::init(&src).unwrap();
        std::fs::write(src.join("a.txt"), "a\n").unwrap();
        let mut index = repo.index().unwrap();
        index.add_path(Path::new("a.txt")).unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = git2::Signature::now("t", "t@example.org").unwrap();
        repo.commit(Some("HEAD"), &sig, &sig, "one", &tree, &[])
            .unwrap();
        src.display().to_string()
    }

    fn truncate_packs(mirror: &Path) -> usize {
        let mut n = 0;
        for e in std::fs::read_dir(mirror.join("objects/pack"))
            .unwrap()
            .flatten()
        {
            if e.path().extension().is_some_and(|x| x == "pack") {
                let len = e.metadata().unwrap().len();
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(e.path())
                    .unwrap();
                f.set_len(len - 7).unwrap();
                n += 1;
            }
        }
        n
    }

    #[test]
    fn a_damaged_mirror_is_detected_and_cloned_again() {
        let dir = tempfile::tempdir().unwrap();
        let url = source_repo(dir.path());
        let dest = dir.path().join("m.git");
        let (_, damage) = fetch_repairing(&url, &dest).unwrap();
        assert_eq!(damage, None);
        assert_eq!(super::damage(&dest), None);
        assert!(truncate_packs(&dest) > 0);
        let found = super::damage(&dest).expect("a truncated pack is damage");
        assert!(found.contains(".pack"), "{found}");
        let (m, damage) = fetch_repairing(&url, &dest).unwrap();
        assert_eq!(damage.as_deref(), Some(found.as_str()));
        assert_eq!(super::damage(&dest), None);
        assert_eq!(m.references().unwrap().count(), 1);
        assert!(!aside_path(&dest).exists());

        // A mirror that no longer opens (HEAD gone) is damage too.
        std::fs::remove_file(dest.join("HEAD")).unwrap();
        assert!(super::damage(&dest).unwrap().starts_with("does not open"));

        // Damaged, and the source is no longer a repository: the error says
        // both, and the damaged copy is kept aside.
        std::fs::remove_dir_all(dir.path().join("src/.git")).unwrap();
        let Err(e) = fetch_repairing(&url, &dest) else {
            panic!("cloned from a directory that is no repository");
        };
        let e = format!("{e:#}");
        assert!(
            e.contains("damaged (does not open") && e.contains("cannot be cloned again"),
            "{e}"
        );
        assert!(aside_path(&dest).exists());
    }

    #[test]
    fn advertised_refs_digest_equals_the_fetched_mirror_digest() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        let repo = Repository::init(&src).unwrap();
        std::fs::write(src.join("a.txt"), "a\n").unwrap();
        let mut index = repo.index().unwrap();
        index.add_path(Path::new("a.txt")).unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = git2::Signature::now("t", "t@example.org").unwrap();
        let c = repo
            .commit(Some("HEAD"), &sig, &sig, "one", &tree, &[])
            .unwrap();
        let obj = repo.find_object(c, None).unwrap();
        repo.tag("v1", &obj, &sig, "annotated", false).unwrap();
        repo.tag_lightweight("light", &obj, false).unwrap();
        repo.branch("side", &repo.find_commit(c).unwrap(), false)
            .unwrap();

        let url = src.display().to_string();
        let mirror = fetch(&url, &dir.path().join("m.git")).unwrap();
        let fetched = refs_digest(&mirror).unwrap();
        assert_eq!(remote_digest(&url).unwrap(), fetched);
        assert_eq!(mirror.references().unwrap().count(), 4);

        // A moved branch changes both, equally.
        repo.branch("side", &repo.find_commit(c).unwrap(), true)
            .unwrap();
        let c2 = repo
            .commit(
                Some("refs/heads/side"),
                &sig,
                &sig,
                "two",
                &tree,
                &[&repo.find_commit(c).unwrap()],
            )
            .unwrap();
        assert_ne!(c, c2);
        let moved = remote_digest(&url).unwrap();
        assert_ne!(moved, fetched);
        let mirror = fetch(&url, &dir.path().join("m.git")).unwrap();
        assert_eq!(refs_digest(&mirror).unwrap(), moved);
    }
}
