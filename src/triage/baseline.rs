//! Baselines: known findings, recorded so that only new ones are reported.
//!
//! # File format
//!
//! JSON Lines, meant to be committed and merged:
//!
//! ```text
//! {"keysweep_baseline":2,"about":"…","salt":"5f0c…","key_id":"3e9a01c4"}
//! {"path":"config/dev.env","rule":"github-pat-classic","secret_hash":"9a1e…"}
//! {"path":"src/app.py","rule":"openai-api-key","commit":"1f2e…","secret_hash":"07bd…"}
//! ```
//!
//! - An entry is keyed by rule, path (relative to the baseline's directory)
//!   and a salted hash of the secret, plus the commit for findings from git
//!   history. Never a line number: moving code does not churn the file, and a
//!   renamed file's findings are new because the path changed.
//! - No secret is stored: `secret_hash` is a truncated HMAC-SHA256 of the
//!   salt and the secret under the identity key
//!   ([`crate::finding::id_key`]: `KEYSWEEP_ID_KEY`, else a per-installation
//!   key), so a weak password cannot be guessed from the file offline. The
//!   salt is random per baseline and kept by `update`; `key_id` names the
//!   key (an HMAC of a constant), so a baseline used under another key is
//!   reported rather than silently matching nothing. A baseline shared
//!   between machines (CI) needs the same `KEYSWEEP_ID_KEY` on each.
//! - Version 1 files (an unkeyed salted SHA-256) are still read and matched,
//!   with a warning: `keysweep baseline create --force` rewrites them keyed.
//!   `update` keeps a version 1 file at version 1.
//! - One entry per line, sorted, no timestamps and no separators between
//!   entries, so that branches adding entries in different places merge
//!   without conflict, and `merge=union` in `.gitattributes` is safe for
//!   entries added in the same place. Duplicate and unsorted lines (as a union
//!   merge may leave) are accepted; the next `update` tidies them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{absolute, PathForms};
use crate::finding::{hex, Finding};

/// The version written: keyed hashes.
const VERSION: u32 = 2;
/// The version before keyed hashes, still read.
const LEGACY_VERSION: u32 = 1;
/// How every baseline file starts.
const MAGIC: &[u8] = b"{\"keysweep_baseline\":";
const ABOUT: &str =
    "keysweep baseline: known findings, one per line; secrets are stored only as keyed hashes";

/// An error reading or writing a baseline. Display starts with the location.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    keysweep_baseline: u32,
    #[serde(default)]
    about: String,
    salt: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key_id: Option<String>,
}

/// One known finding. Field order is the sort order and the layout on disk.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub path: String,
    pub rule: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    pub secret_hash: String,
}

/// What [`Baseline::update`] changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct UpdateStats {
    pub added: usize,
    pub removed: usize,
    pub kept: usize,
}

/// A baseline file in memory.
#[derive(Debug, Clone)]
pub struct Baseline {
    path: PathBuf,
    /// Absolute directory entry paths are relative to.
    base: PathBuf,
    salt: String,
    /// Version 1: hashes are unkeyed.
    legacy: bool,
    /// The `key_id` of the file when it differs from this machine's key.
    other_key: Option<String>,
    entries: BTreeSet<Entry>,
}

impl Baseline {
    /// An empty baseline to be written at `path`, with a fresh random salt.
    ///
    /// # Errors
    ///
    /// Fails when the operating system provides no randomness.
    pub fn new(path: &Path, cwd: &Path) -> Result<Baseline, BaselineError> {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| BaselineError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other(format!("no randomness for the salt: {e}")),
        })?;
        Ok(Baseline {
            path: path.to_path_buf(),
            base: base_dir(path, cwd),
            salt: hex(&salt),
            legacy: false,
            other_key: None,
            entries: BTreeSet::new(),
        })
    }

    /// Reads a baseline.
    ///
    /// # Errors
    ///
    /// Fails naming the file (and line) when it cannot be read, has no header,
    /// holds a line that is not an entry, or two headers with different salts
    /// (two baselines created separately and then merged).
    pub fn load(path: &Path, cwd: &Path) -> Result<Baseline, BaselineError> {
        let text = crate::blob::read_text_file(path).map_err(|source| BaselineError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Baseline::parse(&text, path, cwd)
    }

    /// Parses the text of a baseline read from `path`.
    ///
    /// # Errors
    ///
    /// As [`Baseline::load`].
    pub fn parse(text: &str, path: &Path, cwd: &Path) -> Result<Baseline, BaselineError> {
        let err = |line: usize, message: String| BaselineError::Parse {
            path: path.to_path_buf(),
            line,
            message,
        };
        let mut header: Option<Header> = None;
        let mut entries = BTreeSet::new();
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            if line.contains("\"keysweep_baseline\"") {
                let h = parse_header(line).map_err(|m| err(n, m))?;
                match &header {
                    Some(first)
                        if first.salt != h.salt
                            || first.keysweep_baseline != h.keysweep_baseline =>
                    {
                        return Err(err(
                            n,
                            "a second header with a different salt or version: two baselines \
                             created separately were merged; recreate it with \
                             `keysweep baseline create --force`"
                                .into(),
                        ))
                    }
                    Some(_) => {}
                    None => header = Some(h),
                }
                continue;
            }
            if header.is_none() {
                return Err(err(
                    n,
                    "not a keysweep baseline (the first line must be its header)".into(),
                ));
            }
            let e: Entry =
                serde_json::from_str(line).map_err(|e| err(n, format!("invalid entry: {e}")))?;
            if e.secret_hash.len() != 32 || !e.secret_hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(err(n, "secret_hash must be 32 hex digits".into()));
            }
            entries.insert(e);
        }
        let h = header.ok_or_else(|| err(1, "empty file: not a keysweep baseline".into()))?;
        let legacy = h.keysweep_baseline == LEGACY_VERSION;
        let mine = crate::finding::key_id(crate::finding::id_key());
        let other_key = h.key_id.filter(|k| !legacy && *k != mine);
        Ok(Baseline {
            path: path.to_path_buf(),
            base: base_dir(path, cwd),
            salt: h.salt,
            legacy,
            other_key,
            entries,
        })
    }

    /// What the user should know before this baseline is used: it holds
    /// unkeyed hashes (version 1), or was written under another identity
    /// key (its entries then match nothing here). Starts with the file.
    pub fn notice(&self) -> Option<String> {
        let p = self.path.display();
        if self.legacy {
            return Some(format!(
                "{p}: version 1 baseline: its hashes are unkeyed, so a weak secret could be \
                 guessed from it offline; it is still used. Rewrite it keyed with \
                 `keysweep baseline create --force` (and commit the result)"
            ));
        }
        self.other_key.as_ref().map(|k| {
            format!(
                "{p}: written under another identity key (key id {k}), so none of its entries \
                 match here; give this machine the same KEYSWEEP_ID_KEY as the one that wrote \
                 it (e.g. from a CI secret), or recreate it with `keysweep baseline create --force`"
            )
        })
    }

    /// The key id the file was written under, when it is not this
    /// machine's identity key.
    pub fn other_key(&self) -> Option<&str> {
        self.other_key.as_deref()
    }

    /// Whether entries use the unkeyed version 1 hash.
    pub fn is_legacy(&self) -> bool {
        self.legacy
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter()
    }

    /// The hash of a secret, as stored: keyed (version 2), or the unkeyed
    /// salted SHA-256 of a version 1 file.
    pub fn secret_hash(&self, secret: &str) -> String {
        if self.legacy {
            return legacy_hash(&self.salt, secret);
        }
        self.secret_hash_with_key(crate::finding::id_key(), secret)
    }

    /// [`Baseline::secret_hash`] of a version 2 file under a given key.
    pub fn secret_hash_with_key(&self, key: &[u8], secret: &str) -> String {
        crate::finding::keyed_hash(
            key,
            b"keysweep/baseline/v2",
            &[self.salt.as_bytes(), secret.as_bytes()],
        )
    }

    /// The entry that records `f`.
    pub fn entry(&self, f: &Finding, forms: &PathForms<'_>) -> Entry {
        Entry {
            path: forms.key(&self.base),
            rule: f.rule.id.clone(),
            commit: f.commit().map(str::to_string),
            secret_hash: self.secret_hash(&f.matched.secret),
        }
    }

    /// Whether `f` is a known finding.
    pub fn contains(&self, f: &Finding, forms: &PathForms<'_>) -> bool {
        self.entries.contains(&self.entry(f, forms))
    }

    /// Records entries (for `baseline create`).
    pub fn extend(&mut self, entries: impl IntoIterator<Item = Entry>) {
        self.entries.extend(entries);
    }

    /// Makes the baseline match a scan: adds the entries in `current` and
    /// removes entries the scan could have found but did not. Only entries
    /// inside the scanned `roots` (absolute paths; `<stdin>` when `stdin`) are
    /// pruned: updating with one directory leaves the rest alone, and entries
    /// from git history are kept by a scan of files.
    pub fn update(
        &mut self,
        current: impl IntoIterator<Item = Entry>,
        roots: &[PathBuf],
        stdin: bool,
    ) -> UpdateStats {
        let current: BTreeSet<Entry> = current.into_iter().collect();
        let before = self.entries.len();
        let base = self.base.clone();
        self.entries.retain(|e| {
            let in_scope = if e.commit.is_some() {
                false
            } else if e.path == "<stdin>" {
                stdin
            } else {
                let abs = absolute(&base, Path::new(&e.path));
                roots.iter().any(|r| abs.starts_with(r))
            };
            !in_scope || current.contains(e)
        });
        let removed = before - self.entries.len();
        let kept = self.entries.len();
        let mut added = 0;
        for e in current {
            if self.entries.insert(e) {
                added += 1;
            }
        }
        UpdateStats {
            added,
            removed,
            kept,
        }
    }

    /// The file's text: header, then entries sorted, one per line.
    pub fn render(&self) -> String {
        let header = if self.legacy {
            Header {
                keysweep_baseline: LEGACY_VERSION,
                about: ABOUT.replace("keyed", "salted"),
                salt: self.salt.clone(),
                key_id: None,
            }
        } else {
            Header {
                keysweep_baseline: VERSION,
                about: ABOUT.to_string(),
                salt: self.salt.clone(),
                key_id: Some(crate::finding::key_id(crate::finding::id_key())),
            }
        };
        let mut out = serde_json::to_string(&header).expect("header serializes");
        out.push('\n');
        for e in &self.entries {
            out.push_str(&serde_json::to_string(e).expect("entry serializes"));
            out.push('\n');
        }
        out
    }

    /// Writes the file, replacing it at once (a temporary file renamed over it)
    /// so that an interrupted run never leaves half a baseline.
    ///
    /// # Errors
    ///
    /// Fails naming the file when it cannot be written.
    pub fn save(&self) -> Result<(), BaselineError> {
        let io = |source| BaselineError::Io {
            path: self.path.clone(),
            source,
        };
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "baseline".into());
        let tmp = self.path.with_file_name(format!(".{name}.tmp"));
        std::fs::write(&tmp, self.render()).map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)
    }
}

/// Whether `bytes` start like a keysweep baseline.
pub fn is_baseline(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// A baseline with its hash values (and salt) zeroed, to be scanned: its
/// salted hashes are hex strings that generic secret rules would report,
/// but skipping every file that starts like a baseline would let anyone hide
/// a secret behind the header. Everything else in it is scanned; offsets
/// do not move.
pub fn masked(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for key in [
        &b"\"secret_hash\":\""[..],
        &b"\"salt\":\""[..],
        &b"\"key_id\":\""[..],
    ] {
        let mut from = 0;
        while let Some(p) = memchr::memmem::find(&out[from..], key) {
            let start = from + p + key.len();
            let end = out[start..]
                .iter()
                .position(|b| !b.is_ascii_hexdigit())
                .map_or(out.len(), |n| start + n);
            out[start..end].fill(b'0');
            from = end;
        }
    }
    out
}

/// A header line, of a version this keysweep reads.
fn parse_header(line: &str) -> Result<Header, String> {
    let h: Header = serde_json::from_str(line).map_err(|e| format!("invalid header: {e}"))?;
    if h.keysweep_baseline != VERSION && h.keysweep_baseline != LEGACY_VERSION {
        return Err(format!(
            "baseline version {} is not supported (this keysweep reads versions \
             {LEGACY_VERSION} and {VERSION})",
            h.keysweep_baseline
        ));
    }
    Ok(h)
}

/// The version 1 hash: SHA-256 of the salt (stored beside it) and the
/// secret, which anyone holding the file can test guesses against.
fn legacy_hash(salt: &str, secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"keysweep/baseline/v1\0");
    h.update(salt.as_bytes());
    h.update(b"\0");
    h.update(secret.as_bytes());
    hex(&h.finalize()[..16])
}

fn base_dir(path: &Path, cwd: &Path) -> PathBuf {
    let abs = absolute(cwd, path);
    abs.parent().map(Path::to_path_buf).unwrap_or(abs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(path: &str, secret: &str) -> Finding {
        Finding {
            rule: crate::finding::RuleRef {
                id: "acme-token".into(),
                ..Default::default()
            },
            location: crate::finding::Location {
                path: path.into(),
                ..Default::default()
            },
            matched: crate::finding::Matched {
                secret: secret.into(),
                ..Default::default()
            },
            ..Finding::default()
        }
    }

    #[test]
    fn round_trip_without_secrets() {
        let cwd = Path::new("/repo");
        let mut b = Baseline::new(Path::new(".keysweep-baseline.jsonl"), cwd).unwrap();
        let f = finding("src/a.py", "acme_SECRETVALUE123");
        let forms = PathForms::new(&f.location.path, false, cwd);
        b.extend([b.entry(&f, &forms)]);
        let text = b.render();
        assert!(is_baseline(text.as_bytes()));
        assert!(!text.contains("SECRETVALUE"));
        assert_eq!(text.lines().count(), 2);
        let back = Baseline::parse(&text, Path::new(".keysweep-baseline.jsonl"), cwd).unwrap();
        assert!(back.contains(&f, &forms));
        // Scanned from another directory, the same file is still known.
        let g = finding("repo/src/a.py", "acme_SECRETVALUE123");
        assert!(back.contains(&g, &PathForms::new(&g.location.path, false, Path::new("/"))));
        // Another secret, path or rule is not.
        let h = finding("src/a.py", "acme_OTHERVALUE456");
        assert!(!back.contains(&h, &PathForms::new(&h.location.path, false, cwd)));
    }

    #[test]
    fn salt_changes_the_hash() {
        let cwd = Path::new("/repo");
        let a = Baseline::new(Path::new("b"), cwd).unwrap();
        let b = Baseline::new(Path::new("b"), cwd).unwrap();
        assert_ne!(a.secret_hash("s"), b.secret_hash("s"));
        assert_eq!(a.secret_hash("s"), a.secret_hash("s"));
    }

    #[test]
    fn parse_errors_name_the_line() {
        let p = Path::new("bl.jsonl");
        let cwd = Path::new("/");
        let e = Baseline::parse("{\"path\":\"a\"}\n", p, cwd).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("bl.jsonl:1: not a keysweep baseline"),
            "{e}"
        );
        let header = "{\"keysweep_baseline\":1,\"salt\":\"00\"}\n";
        let e = Baseline::parse(
            &format!("{header}\n{{\"path\":\"a\",\"rule\":\"r\",\"secret_hash\":\"x\"}}\n"),
            p,
            cwd,
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("bl.jsonl:3: secret_hash"), "{e}");
        let e = Baseline::parse(
            &format!(
                "{header}{{\"path\":\"a\",\"rule\":\"r\",\"line\":3,\"secret_hash\":\"x\"}}\n"
            ),
            p,
            cwd,
        )
        .unwrap_err();
        assert!(e.to_string().contains("unknown field `line`"), "{e}");
        let other = "{\"keysweep_baseline\":1,\"salt\":\"01\"}\n";
        let e = Baseline::parse(&format!("{header}{other}"), p, cwd).unwrap_err();
        assert!(e.to_string().contains("different salt"), "{e}");
        // Duplicated headers with one salt (a union merge) are fine.
        assert!(Baseline::parse(&format!("{header}{header}"), p, cwd).is_ok());
    }

    #[test]
    fn update_prunes_only_in_scope() {
        let cwd = Path::new("/repo");
        let mut b = Baseline::new(Path::new("bl.jsonl"), cwd).unwrap();
        let forms = |f: &Finding| b.entry(f, &PathForms::new(&f.location.path, false, cwd));
        let a = forms(&finding("src/a.py", "one"));
        let gone = forms(&finding("src/b.py", "two"));
        let other = forms(&finding("docs/c.md", "three"));
        let mut hist = forms(&finding("src/old.py", "four"));
        hist.commit = Some("abc1234".into());
        let new = forms(&finding("src/d.py", "five"));
        b.extend([a.clone(), gone.clone(), other.clone(), hist.clone()]);
        let stats = b.update(
            [a.clone(), new.clone()],
            &[PathBuf::from("/repo/src")],
            false,
        );
        assert_eq!(
            stats,
            UpdateStats {
                added: 1,
                removed: 1,
                kept: 3
            }
        );
        let left: Vec<&Entry> = b.entries().collect();
        assert_eq!(left.len(), 4);
        assert!(b.entries.contains(&other) && b.entries.contains(&hist));
        assert!(!b.entries.contains(&gone));
    }
}
