//! The audit log: one JSON line per revocation attempt, appended, flushed
//! and fsync'd before the next attempt, so a crash loses at most the line
//! being written. It never holds the secret, only its fingerprint.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One attempt.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// RFC 3339, UTC.
    pub time: String,
    pub fingerprint: String,
    pub rule: String,
    /// `path:line`, with `@commit` for history findings.
    pub location: String,
    /// `http #1`, `vault #2` …
    pub broker: String,
    /// `revoked`, `not-found` or `failed`.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// The broker's reference for the revocation (ticket, request id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default)]
    pub detail: String,
}

/// An append-only JSONL file.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    file: File,
}

impl AuditLog {
    /// Opens (creating it and its directory if needed) the log at `path`.
    ///
    /// # Errors
    ///
    /// When the directory cannot be created or the file opened for appending.
    pub fn open(path: &Path) -> io::Result<AuditLog> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        // The log names findings and brokers: private to its owner. A device
        // or FIFO (`/dev/zero`) would hang or flood the run: refused.
        if let Ok(m) = std::fs::metadata(path) {
            if !m.is_file() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "the audit log is not a regular file",
                ));
            }
        }
        let mut o = OpenOptions::new();
        o.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
        let file = o.open(path)?;
        Ok(AuditLog {
            path: path.to_path_buf(),
            file,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line and syncs it to disk.
    ///
    /// # Errors
    ///
    /// When writing or syncing fails.
    pub fn append(&mut self, entry: &AuditEntry) -> io::Result<()> {
        let mut line = serde_json::to_vec(entry).map_err(io::Error::from)?;
        line.push(b'\n');
        // One write call per line: with O_APPEND, concurrent writers do not
        // interleave within it.
        self.file.write_all(&line)?;
        self.file.flush()?;
        self.file.sync_all()
    }
}

/// The outcome logged after "revoked" when validating the key again found
/// it still live.
pub const UNCONFIRMED: &str = "revoke-unconfirmed";

/// Fingerprints a log records as revoked. A missing file is an empty log;
/// lines that do not parse (a torn last line) are ignored.
///
/// # Errors
///
/// When the file exists but cannot be read.
pub fn revoked_fingerprints(path: &Path) -> io::Result<HashSet<String>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(HashSet::new()),
        Err(e) => return Err(e),
    };
    // A device (`/dev/zero`) has no end and no lines: refused, not read.
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the audit log is not a regular file",
        ));
    }
    let mut done = HashSet::new();
    for line in BufReader::new(file).lines() {
        let line = line?;
        if let Ok(e) = serde_json::from_str::<AuditEntry>(&line) {
            // The last word counts: "revoked" then "revoke-unconfirmed"
            // (the key still validated) is retried.
            if e.outcome == "revoked" {
                done.insert(e.fingerprint);
            } else if e.outcome == UNCONFIRMED {
                done.remove(&e.fingerprint);
            }
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unconfirmed_revocations_are_retried_and_devices_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let mut log = AuditLog::open(&path).unwrap();
        for (fp, outcome) in [("a", "revoked"), ("a", UNCONFIRMED), ("b", "revoked")] {
            log.append(&AuditEntry {
                fingerprint: fp.into(),
                outcome: outcome.into(),
                ..AuditEntry::default()
            })
            .unwrap();
        }
        let done = revoked_fingerprints(&path).unwrap();
        assert_eq!(done, HashSet::from(["b".to_string()]));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            assert!(revoked_fingerprints(Path::new("/dev/zero")).is_err());
            assert!(AuditLog::open(Path::new("/dev/zero")).is_err());
        }
    }

    #[test]
    fn appends_and_reads_back_revoked_fingerprints() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/audit.jsonl");
        let mut log = AuditLog::open(&path).unwrap();
        for (fp, outcome) in [("a", "revoked"), ("b", "failed"), ("c", "not-found")] {
            log.append(&AuditEntry {
                fingerprint: fp.into(),
                outcome: outcome.into(),
                ..AuditEntry::default()
            })
            .unwrap();
        }
        drop(log);
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"torn")
            .unwrap();
        let done = revoked_fingerprints(&path).unwrap();
        assert_eq!(done, HashSet::from(["a".to_string()]));
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 4);
        assert!(revoked_fingerprints(&dir.path().join("none"))
            .unwrap()
            .is_empty());
    }
}
