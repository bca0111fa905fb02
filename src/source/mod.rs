//! Sources of blobs: the file system (walked with `.gitignore` support),
//! standard input, and the MCP client config locations (`keysweep agents`).

pub mod agents;
pub mod archive;
pub mod fs;
pub mod git;
pub mod image;
pub mod mirror;
pub mod pack;
pub mod packed;
pub mod staged;
pub mod stdin;
pub mod topo;

use std::fmt;

/// Why an input was not scanned. Every skip is counted and reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipReason {
    /// A NUL byte in the first 8 KiB.
    Binary,
    /// Larger than `--max-file-size`.
    TooLarge,
    /// Could not be opened or read (also counted as an error).
    Unreadable,
    /// Neither a regular file nor a directory (socket, device, broken symlink).
    NotAFile,
    /// A keysweep baseline: salted hashes, no secrets.
    Baseline,
    /// An archive (or a member) that does not open.
    ArchiveCorrupt,
    /// An archive member or stream past the compression ratio limit.
    ArchiveBomb,
    /// The rest of an archive past the expanded-bytes limit.
    ArchiveTooLarge,
    /// The rest of an archive past the member limit.
    ArchiveTooManyMembers,
    /// An archive nested deeper than `--archive-depth`.
    ArchiveTooDeep,
    /// Left out by `.gitignore`, `.ignore` or git's exclude files (a
    /// directory counts once); `--no-ignore` scans it.
    Ignored,
    /// Left out by `--exclude` (a directory counts once).
    Excluded,
    /// An image tarball whose manifests were refused (a path leading outside
    /// it, oversized JSON); its members are scanned as a plain tar's.
    ImageManifest,
    /// A symbolic link that leads back to a directory above it
    /// (`--follow-symlinks`).
    SymlinkLoop,
    /// A symbolic link whose target is outside the roots scanned
    /// (`--follow-symlinks` reads only within them).
    OutsideRoot,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Binary => "binary",
            SkipReason::TooLarge => "too large",
            SkipReason::Unreadable => "unreadable",
            SkipReason::NotAFile => "not a regular file",
            SkipReason::Baseline => "keysweep baseline",
            SkipReason::ArchiveCorrupt => "corrupt archive",
            SkipReason::ArchiveBomb => "archive bomb",
            SkipReason::ArchiveTooLarge => "archive too large",
            SkipReason::ArchiveTooManyMembers => "archive with too many members",
            SkipReason::ArchiveTooDeep => "archive nested too deep",
            SkipReason::Ignored => "ignored",
            SkipReason::Excluded => "excluded",
            SkipReason::ImageManifest => "image manifest refused",
            SkipReason::SymlinkLoop => "symlink loop",
            SkipReason::OutsideRoot => "outside the scanned root",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
