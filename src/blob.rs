//! A blob is bytes plus where they came from. Sources produce blobs; the matcher
//! sees only the bytes.

use std::fmt;
use std::hash::Hasher;
use std::ops::Deref;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

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

    /// Whether the content looks binary (see [`looks_binary`]).
    pub fn looks_binary(&self) -> bool {
        looks_binary(&self.bytes)
    }

    /// The blob as UTF-8 when it is UTF-16 with a byte order mark (see
    /// [`utf16_to_utf8`]); otherwise unchanged.
    pub fn utf16_decoded(self) -> Blob {
        match utf16_to_utf8(&self.bytes) {
            Some(text) => Blob::new(Bytes::Owned(text), self.origin),
            None => self,
        }
    }
}

/// UTF-16 text with a byte order mark (`FF FE` little-endian, `FE FF`
/// big-endian), as Windows tools write `.ps1`, `.reg` and `.config` files,
/// converted to UTF-8 without the mark; `None` for anything else.
///
/// Such text is full of NUL bytes and would be skipped as binary. Lines stay
/// lines and a character stays one column, so findings in the converted
/// text point at the same line and column of the file. Unpaired surrogates
/// become U+FFFD, and an odd last byte is dropped. Costs one pass and at most
/// 1.5 times the input in memory.
///
/// ```
/// let le = b"\xFF\xFEk\0=\0v\0";
/// assert_eq!(keysweep::blob::utf16_to_utf8(le).as_deref(), Some(&b"k=v"[..]));
/// assert_eq!(keysweep::blob::utf16_to_utf8(b"k=v"), None);
/// ```
pub fn utf16_to_utf8(content: &[u8]) -> Option<Vec<u8>> {
    let (little, body) = match content {
        // `FF FE 00 00` is UTF-32's mark: not handled, left as binary.
        [0xFF, 0xFE, 0, 0, ..] => return None,
        [0xFF, 0xFE, rest @ ..] => (true, rest),
        [0xFE, 0xFF, rest @ ..] => (false, rest),
        _ => return None,
    };
    let units = body.chunks_exact(2).map(|c| {
        let pair = [c[0], c[1]];
        if little {
            u16::from_le_bytes(pair)
        } else {
            u16::from_be_bytes(pair)
        }
    });
    let mut out = String::with_capacity(body.len() / 2);
    out.extend(char::decode_utf16(units).map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER)));
    Some(out.into_bytes())
}

/// The largest configuration-like file keysweep reads whole: a baseline,
/// config, rule file, ignore file, repository list or report.
pub const MAX_TEXT_FILE: u64 = 256 << 20;

/// Reads a text file of at most [`MAX_TEXT_FILE`] bytes. A path given by a
/// user or a config may name `/dev/zero`, a FIFO or a multi-gigabyte file:
/// anything but a regular file is refused, and so is a file that is (or
/// grows) larger than the limit, instead of reading until memory runs out.
///
/// # Errors
///
/// The I/O error; `InvalidInput` for a non-regular file, `FileTooLarge` past
/// the limit, `InvalidData` for invalid UTF-8.
pub fn read_text_file(path: &std::path::Path) -> std::io::Result<String> {
    use std::io::{Error, ErrorKind, Read};
    let file = std::fs::File::open(path)?;
    if !file.metadata()?.is_file() {
        return Err(Error::new(ErrorKind::InvalidInput, "not a regular file"));
    }
    let mut bytes = Vec::new();
    file.take(MAX_TEXT_FILE + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_TEXT_FILE {
        return Err(Error::new(
            ErrorKind::FileTooLarge,
            format!("larger than {} MiB", MAX_TEXT_FILE >> 20),
        ));
    }
    String::from_utf8(bytes).map_err(|e| Error::new(ErrorKind::InvalidData, e.utf8_error()))
}

/// Bit `i` set when `block[i]` is `byte`, for a block of at most 64 bytes.
///
/// For delimiters a few bytes apart (line ends, the separators of a tree
/// entry), where a `memchr` call per hit spends more on its set-up than on
/// searching. On x86-64 it compares 16 bytes a step (SSE2, part of every
/// x86-64); elsewhere, and for a block's last bytes short of 16, one byte
/// at a time.
///
/// # Panics
///
/// Panics if `block` is longer than 64 bytes.
#[inline(always)]
pub fn byte_mask(block: &[u8], byte: u8) -> u64 {
    assert!(block.len() <= 64, "a byte mask covers 64 bytes");
    let mut mask = 0;
    let mut at = 0;
    #[cfg(target_arch = "x86_64")]
    while at + 16 <= block.len() {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
        };
        // SAFETY: SSE2 is part of the x86-64 baseline; the unaligned
        // 16-byte load reads within `block` (checked by the loop).
        let bits = unsafe {
            let v = _mm_loadu_si128(block.as_ptr().add(at).cast::<__m128i>());
            _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(byte as i8))) as u16
        };
        mask |= u64::from(bits) << at;
        at += 16;
    }
    for (i, &b) in block.iter().enumerate().skip(at) {
        mask |= u64::from(b == byte) << i;
    }
    mask
}

/// Whether content looks binary: a NUL byte in its first 8 KiB, the same
/// test git uses.
pub fn looks_binary(content: &[u8]) -> bool {
    memchr::memchr(0, &content[..content.len().min(8192)]).is_some()
}

/// The first 12 characters of an object id, as reports show it. Ids read
/// back from a report may be anything: this cuts at a character boundary.
///
/// ```
/// assert_eq!(keysweep::blob::short_id("57ba311e505daed8180b622d"), "57ba311e505d");
/// assert_eq!(keysweep::blob::short_id("ééééééééééééé"), "éééééééééééé");
/// assert_eq!(keysweep::blob::short_id("abc"), "abc");
/// ```
pub fn short_id(id: &str) -> &str {
    match id.char_indices().nth(12) {
        Some((i, _)) => &id[..i],
        None => id,
    }
}

/// Whether a secret can still be found at a branch tip.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GitStatus {
    /// In the tree of at least one branch tip (or HEAD).
    Present,
    /// Removed from every tip, but still in history.
    #[default]
    HistoryOnly,
}

/// Where a finding from history came from. Flattened into the finding.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GitProvenance {
    /// The commit that introduced the blob at `path`.
    pub commit: String,
    pub author: String,
    pub email: String,
    /// Author date, RFC 3339 with the author's offset.
    pub date: String,
    /// First line of the commit message.
    pub message: String,
    pub blob: String,
    pub status: GitStatus,
    /// Other paths where the same rule found the same secret.
    pub occurrences: usize,
}

/// A hasher for keys that are already uniformly random (object ids, xxh3
/// digests): it folds their bytes instead of rehashing them, which SipHash
/// would do measurably slower at millions of keys.
#[derive(Default)]
pub struct FoldHasher(u64);

impl Hasher for FoldHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The mask is the byte-by-byte answer for every block length up to
    /// 64, across the 16-byte steps and in the short tail.
    #[test]
    fn byte_mask_marks_every_match() {
        let block: Vec<u8> = (0..64u32)
            .map(|i| [b'\n', b'a', 0, b' '][(i * 7 % 5 % 4) as usize])
            .collect();
        for len in 0..=64 {
            for byte in [b'\n', 0, b' ', b'z'] {
                let want = (0..len).fold(0u64, |m, i| m | u64::from(block[i] == byte) << i);
                assert_eq!(byte_mask(&block[..len], byte), want, "{len} bytes, {byte}");
            }
        }
        assert_ne!(byte_mask(&block, b'\n'), 0);
    }
}
