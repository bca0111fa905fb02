//! A blob is bytes plus where they came from. Sources produce blobs; the matcher
//! sees only the bytes.

use std::fmt;
use std::ops::Deref;
use std::path::PathBuf;

/// Bytes read into memory or mapped from a file.
pub enum Bytes {
    Owned(Vec<u8>),
    Mapped(memmap2::Mmap),
}

impl Deref for Bytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Owned(v) => v,
            Bytes::Mapped(m) => m,
        }
    }
}

/// Where a blob came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A file on disk, as given or found by walking.
    File(PathBuf),
    /// Standard input.
    Stdin,
    /// A blob in a git repository, at the path where it was first seen.
    Git { blob: String, path: String },
}

impl Origin {
    /// The file's path, for choosing its format; `None` for standard input.
    pub fn path(&self) -> Option<&std::path::Path> {
        match self {
            Origin::File(p) => Some(p),
            Origin::Stdin => None,
            Origin::Git { path, .. } => Some(std::path::Path::new(path)),
        }
    }

    /// The path to show in reports.
    pub fn display_path(&self) -> String {
        match self {
            Origin::File(p) => {
                let s = p.display().to_string();
                s.strip_prefix("./").map(str::to_string).unwrap_or(s)
            }
            Origin::Stdin => "<stdin>".to_string(),
            Origin::Git { path, .. } => path.clone(),
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display_path())
    }
}

/// Content to scan and its provenance.
pub struct Blob {
    pub bytes: Bytes,
    pub origin: Origin,
}

impl Blob {
    pub fn new(bytes: Bytes, origin: Origin) -> Blob {
        Blob { bytes, origin }
    }

    /// Whether the content looks binary: a NUL byte in its first 8 KiB, the
    /// same test git uses.
    pub fn looks_binary(&self) -> bool {
        let head = &self.bytes[..self.bytes.len().min(8192)];
        memchr::memchr(0, head).is_some()
    }
}
