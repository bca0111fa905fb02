//! Archives and compressed files opened for scanning: zip (and jar, war,
//! ear), tar, and gzip, bzip2, xz and zstd streams (a compressed tar is
//! opened as a tar).
//!
//! Archive content is hostile. Every decompressor reads through a
//! [`Capped`] reader, so an archive can never expand past its budget
//! ([`Limits::max_bytes`], shared by the archives nested in it) or past
//! [`Limits::max_ratio`] times its compressed size: a zip bomb costs at most
//! its budget in decompression time and one member's worth of memory. Members
//! are handed to the caller one at a time; nested archives are opened to
//! [`Limits::depth`] levels. What is not scanned is returned as [`Skipped`]
//! with its reason, never dropped silently.
//!
//! Members are named `outer!inner` (`bundle.zip!src/app.py`, and
//! `a.tar.gz!lib/b.zip!x.env` when nested).

use std::cell::Cell;
use std::io::{self, Cursor, Read};
use std::rc::Rc;

use super::SkipReason;

/// How far archives are opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Archive nesting levels opened: 1 opens the archives found on disk but
    /// not the archives inside them; 0 opens none.
    pub depth: u32,
    /// Bytes one archive (with the archives in it) may expand to.
    pub max_bytes: u64,
    /// Members one archive (with the archives in it) may hold.
    pub max_members: u64,
    /// Expanded size over compressed size beyond which a member or stream is
    /// refused as a bomb (only past [`RATIO_FLOOR`] bytes).
    pub max_ratio: u64,
    /// Members larger than this are skipped as too large, like files over
    /// `--max-file-size`: at most one member this size is held in memory.
    pub max_member: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            depth: 3,
            max_bytes: 256 << 20,
            max_members: 10_000,
            max_ratio: 100,
            max_member: 25 << 20,
        }
    }
}

/// Expansion allowed whatever the ratio: small files of repeated bytes
/// compress a thousandfold and are harmless.
pub const RATIO_FLOOR: u64 = 1 << 20;

/// The archive formats recognised, by content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Zip,
    Tar,
    Gzip,
    Bzip2,
    Xz,
    Zstd,
}

/// The archive format of `bytes`, from their magic numbers. The name is not
/// trusted: a `.jar` is a zip, and a renamed archive is still one.
pub fn detect(bytes: &[u8]) -> Option<Kind> {
    let starts = |m: &[u8]| bytes.starts_with(m);
    if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") {
        Some(Kind::Zip)
    } else if starts(&[0x1f, 0x8b, 0x08]) {
        Some(Kind::Gzip)
    } else if starts(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Some(Kind::Xz)
    } else if starts(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some(Kind::Zstd)
    } else if bytes.len() > 10
        && starts(b"BZh")
        && (b'1'..=b'9').contains(&bytes[3])
        // The first block's magic (or the empty stream's end marker) makes a
        // text file that starts with "BZh" no archive.
        && (bytes[4..10] == [0x31, 0x41, 0x59, 0x26, 0x53, 0x59]
            || bytes[4..10] == [0x17, 0x72, 0x45, 0x38, 0x50, 0x90])
    {
        Some(Kind::Bzip2)
    } else if is_tar(bytes) {
        Some(Kind::Tar)
    } else {
        None
    }
}

fn is_tar(bytes: &[u8]) -> bool {
    bytes.len() >= 512 && &bytes[257..262] == b"ustar"
}

/// Something in an archive that was not scanned, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The archive (or member) concerned, `outer!inner`.
    pub location: String,
    pub reason: SkipReason,
    pub detail: String,
}

/// Opens the archive `bytes` found at `path` and hands each member that is
/// not itself an archive to `visit`, with its `outer!inner` path, opening
/// nested archives to `limits.depth` levels.
///
/// # Errors
///
/// None: corrupt archives, bombs and limits reached are returned as
/// [`Skipped`] entries; members read before a problem are still visited.
///
/// # Time complexity
///
/// Linear in the expanded bytes, which `limits` bound.
pub fn expand(
    path: &str,
    bytes: &[u8],
    limits: &Limits,
    visit: &mut dyn FnMut(&str, Vec<u8>),
) -> Vec<Skipped> {
    let mut x = Expander::new(limits, visit);
    if limits.depth > 0 {
        if let Some(kind) = detect(bytes) {
            x.open(path, kind, bytes, 1);
        }
    }
    x.skipped
}

/// Why reading stopped early.
enum Stop {
    Limit(SkipReason, String),
    Corrupt(String),
}

impl From<io::Error> for Stop {
    fn from(e: io::Error) -> Stop {
        Stop::Corrupt(e.to_string())
    }
}

/// Opens archives under one budget; [`super::image`] drives it layer by
/// layer, so an image's layers share the limits an archive's members do.
pub(super) struct Expander<'v> {
    limits: Limits,
    /// Bytes expanded so far, nested archives included.
    expanded: u64,
    members: u64,
    pub(super) skipped: Vec<Skipped>,
    visit: &'v mut dyn FnMut(&str, Vec<u8>),
}

/// The names a layer's tar holds, in order (a leading `./` or `/` taken
/// off): regular files and whiteouts (`.wh.` names), for working out which
/// files an upper layer deletes.
pub(super) type Listing = Vec<String>;

impl<'v> Expander<'v> {
    pub(super) fn new(limits: &Limits, visit: &'v mut dyn FnMut(&str, Vec<u8>)) -> Expander<'v> {
        Expander {
            limits: *limits,
            expanded: 0,
            members: 0,
            skipped: Vec::new(),
            visit,
        }
    }

    /// Opens one archive at nesting level `depth` (1 for a file on disk).
    fn open(&mut self, path: &str, kind: Kind, bytes: &[u8], depth: u32) {
        let ratio_cap = ratio_cap(bytes.len() as u64, &self.limits);
        let result = match kind {
            Kind::Zip => self.zip(path, bytes, depth),
            Kind::Tar => self.tar(path, Cursor::new(bytes), None, depth, None),
            _ => self.stream(path, kind, bytes, ratio_cap, depth, None),
        };
        self.settle(path, result);
    }

    /// Opens an image layer (a tar, compressed or not) as a level-1 archive
    /// named `path`, filling `listing` with its names.
    pub(super) fn layer(&mut self, path: &str, bytes: &[u8], listing: &mut Listing) {
        let result = match detect(bytes) {
            Some(Kind::Tar) => self.tar(path, Cursor::new(bytes), None, 1, Some(listing)),
            Some(Kind::Zip) => Err(Stop::Corrupt("a zip, not a layer tar".to_string())),
            Some(kind) => {
                let cap = ratio_cap(bytes.len() as u64, &self.limits);
                self.stream(path, kind, bytes, cap, 1, Some(listing))
            }
            // An empty layer is a tar of only its end-of-archive blocks.
            None if bytes.iter().all(|&b| b == 0) => Ok(()),
            None => Err(Stop::Corrupt("not a tar".to_string())),
        };
        self.settle(path, result);
    }

    /// Hands a small file of an image (its config) to the visitor, counted
    /// like a member.
    pub(super) fn plain(&mut self, path: &str, data: Vec<u8>) {
        let size = data.len() as u64;
        if size > self.room() || self.count_member().is_err() {
            let detail = "past the archive limits; not scanned".to_string();
            self.skip(path, SkipReason::ArchiveTooLarge, detail);
            return;
        }
        self.expanded += size;
        (self.visit)(path, data);
    }

    /// Records why reading `path` stopped early, if it did.
    fn settle(&mut self, path: &str, result: Result<(), Stop>) {
        match result {
            Ok(()) => {}
            Err(Stop::Limit(reason, detail)) => self.skip(path, reason, detail),
            Err(Stop::Corrupt(cause)) => {
                self.skip(path, SkipReason::ArchiveCorrupt, cause);
            }
        }
    }

    fn skip(&mut self, location: &str, reason: SkipReason, detail: String) {
        self.skipped.push(Skipped {
            location: location.to_string(),
            reason,
            detail,
        });
    }

    /// Counts a member against the member limit.
    fn count_member(&mut self) -> Result<(), Stop> {
        self.members += 1;
        if self.members > self.limits.max_members {
            return Err(Stop::Limit(
                SkipReason::ArchiveTooManyMembers,
                format!(
                    "more than {} members; the rest not scanned",
                    self.limits.max_members
                ),
            ));
        }
        Ok(())
    }

    /// Bytes still allowed by the budget.
    fn room(&self) -> u64 {
        self.limits.max_bytes.saturating_sub(self.expanded)
    }

    /// Scans one member, or opens it when it is an archive itself.
    fn member(&mut self, path: String, data: Vec<u8>, depth: u32) {
        match detect(&data) {
            Some(kind) if depth < self.limits.depth => self.open(&path, kind, &data, depth + 1),
            Some(_) => self.skip(
                &path,
                SkipReason::ArchiveTooDeep,
                format!(
                    "archive nested deeper than --archive-depth {}",
                    self.limits.depth
                ),
            ),
            None => (self.visit)(&path, data),
        }
    }

    fn zip(&mut self, path: &str, bytes: &[u8], depth: u32) -> Result<(), Stop> {
        let mut zip =
            zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| Stop::Corrupt(e.to_string()))?;
        for i in 0..zip.len() {
            let mut entry = match zip.by_index(i) {
                Ok(e) => e,
                Err(e) => {
                    // One unreadable member (encrypted, unknown method) does
                    // not hide the others: the directory gives random access.
                    self.skip(path, SkipReason::ArchiveCorrupt, format!("member {i}: {e}"));
                    continue;
                }
            };
            if entry.is_dir() {
                continue;
            }
            self.count_member()?;
            let name = entry
                .name()
                .map(|n| n.into_owned())
                .unwrap_or_else(|_| format!("<member {i}>"));
            let inner = format!("{path}!{name}");
            let ratio_cap = entry
                .compressed_size()
                .saturating_mul(self.limits.max_ratio)
                .max(RATIO_FLOOR);
            // The declared size refuses an honest bomb before any work; the
            // capped read refuses one that lies about it.
            if entry.size() > ratio_cap {
                return Err(bomb(entry.size(), entry.compressed_size(), &self.limits));
            }
            let compressed = entry.compressed_size();
            let data = self.read_capped(&mut entry, ratio_cap, compressed, &inner);
            match data {
                Ok(Some(data)) => self.member(inner, data, depth),
                Ok(None) => {}
                Err(Stop::Corrupt(cause)) => self.skip(&inner, SkipReason::ArchiveCorrupt, cause),
                Err(limit) => return Err(limit),
            }
        }
        Ok(())
    }

    /// A gzip, bzip2, xz or zstd stream: a tar inside is opened as a tar,
    /// anything else is one member named after the file.
    fn stream(
        &mut self,
        path: &str,
        kind: Kind,
        bytes: &[u8],
        ratio_cap: u64,
        depth: u32,
        listing: Option<&mut Listing>,
    ) -> Result<(), Stop> {
        let cap = ratio_cap.min(self.room());
        let meter = Rc::new(Cell::new(0u64));
        let mut reader = Capped {
            inner: decoder(kind, bytes)?,
            read: meter.clone(),
            cap,
        };
        let mut head = Vec::with_capacity(512);
        let result = (&mut reader)
            .take(512)
            .read_to_end(&mut head)
            .map_err(Stop::from)
            .and_then(|_| {
                let tar = is_tar(&head);
                let chained = Cursor::new(head).chain(reader);
                if tar {
                    self.tar(path, chained, Some(&meter), depth, listing)
                } else {
                    self.count_member()?;
                    let inner = format!("{path}!{}", stream_member_name(path));
                    if let Some(data) =
                        self.read_capped(chained, cap, bytes.len() as u64, &inner)?
                    {
                        self.member(inner, data, depth);
                    }
                    Ok(())
                }
            });
        if meter.get() > cap {
            return Err(self.limit_stop(cap, ratio_cap, meter.get(), bytes.len() as u64));
        }
        result
    }

    /// The members of a tar. `meter` counts the bytes decompressed under it
    /// (for a compressed tar), which are charged to the budget as read. With
    /// a `listing` (an image layer), names lose a leading `./` and whiteouts
    /// are listed, not scanned.
    fn tar<R: Read>(
        &mut self,
        path: &str,
        reader: R,
        meter: Option<&Rc<Cell<u64>>>,
        depth: u32,
        mut listing: Option<&mut Listing>,
    ) -> Result<(), Stop> {
        let mut archive = tar::Archive::new(reader);
        // Bytes of the decompressed stream already charged to the budget.
        let mut charged = 0;
        for entry in archive.entries()? {
            let mut entry = entry?;
            let mut name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let is_file = entry.header().entry_type().is_file();
            if let Some(list) = listing.as_deref_mut() {
                name = layer_name(&name).to_string();
                let whiteout = base_name(&name).starts_with(WHITEOUT);
                if whiteout || is_file {
                    list.push(name.clone());
                }
                if whiteout {
                    continue;
                }
            }
            if !is_file {
                continue;
            }
            self.count_member()?;
            let size = entry.size();
            if size > self.room() {
                return Err(Stop::Limit(
                    SkipReason::ArchiveTooLarge,
                    format!(
                        "member {name} of {size} bytes would pass the {} byte limit",
                        self.limits.max_bytes
                    ),
                ));
            }
            if size > self.limits.max_member {
                let detail = format!(
                    "skipped: member larger than --max-file-size ({} bytes)",
                    self.limits.max_member
                );
                self.skip(&format!("{path}!{name}"), SkipReason::TooLarge, detail);
                continue;
            }
            // The header's size was checked against the budget, and the
            // reader under a compressed tar is capped too.
            let mut data = Vec::with_capacity(size.min(1 << 20) as usize);
            (&mut entry).take(size).read_to_end(&mut data)?;
            match meter {
                Some(m) => {
                    self.expanded += m.get() - charged;
                    charged = m.get();
                }
                None => self.expanded += data.len() as u64,
            }
            self.member(format!("{path}!{name}"), data, depth);
        }
        Ok(())
    }

    /// Reads a member through a cap: the budget left, and `ratio_cap`. A
    /// member over [`Limits::max_member`] is skipped as too large (`None`),
    /// after reading the rest of it into nothing, under the same cap, to
    /// tell a bomb from a big file.
    fn read_capped(
        &mut self,
        reader: impl Read,
        ratio_cap: u64,
        compressed: u64,
        inner: &str,
    ) -> Result<Option<Vec<u8>>, Stop> {
        let cap = ratio_cap.min(self.room());
        let meter = Rc::new(Cell::new(0u64));
        let mut capped = Capped {
            inner: reader,
            read: meter.clone(),
            cap,
        };
        let mut data = Vec::new();
        let max = self.limits.max_member;
        let mut result = (&mut capped).take(max + 1).read_to_end(&mut data);
        let too_large = result.is_ok() && data.len() as u64 > max;
        if too_large {
            data = Vec::new();
            result = io::copy(&mut capped, &mut io::sink()).map(|n| n as usize);
        }
        self.expanded += meter.get().min(cap);
        if meter.get() > cap {
            return Err(self.limit_stop(cap, ratio_cap, meter.get(), compressed));
        }
        result?;
        if too_large {
            let detail = format!("skipped: member larger than --max-file-size ({max} bytes)");
            self.skip(inner, SkipReason::TooLarge, detail);
            return Ok(None);
        }
        Ok(Some(data))
    }

    /// The limit that stopped a read past `cap` bytes.
    fn limit_stop(&self, cap: u64, ratio_cap: u64, read: u64, compressed: u64) -> Stop {
        if cap == ratio_cap {
            bomb(read, compressed, &self.limits)
        } else {
            Stop::Limit(
                SkipReason::ArchiveTooLarge,
                format!(
                    "expands past the {} byte limit; the rest not scanned",
                    self.limits.max_bytes
                ),
            )
        }
    }
}

/// The prefix of a whiteout's name in an image layer: `.wh.NAME` deletes
/// `NAME` from the layers below, `.wh..wh..opq` everything in its directory.
pub(super) const WHITEOUT: &str = ".wh.";

/// A layer member's name without the `./` or `/` tar writers put first.
pub(super) fn layer_name(name: &str) -> &str {
    let mut n = name;
    loop {
        match n.strip_prefix("./").or_else(|| n.strip_prefix('/')) {
            Some(rest) => n = rest,
            None => return n,
        }
    }
}

/// The last component of a `/`-separated name.
pub(super) fn base_name(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// Expansion allowed from `compressed` bytes before they count as a bomb.
fn ratio_cap(compressed: u64, limits: &Limits) -> u64 {
    compressed.saturating_mul(limits.max_ratio).max(RATIO_FLOOR)
}

fn bomb(size: u64, compressed: u64, limits: &Limits) -> Stop {
    Stop::Limit(
        SkipReason::ArchiveBomb,
        format!(
            "refused: {size}+ bytes from {compressed} compressed, past the ratio limit of {}",
            limits.max_ratio
        ),
    )
}

fn decoder<'a>(kind: Kind, bytes: &'a [u8]) -> Result<Box<dyn Read + 'a>, Stop> {
    Ok(match kind {
        Kind::Gzip => Box::new(flate2::read::MultiGzDecoder::new(bytes)),
        Kind::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(bytes)),
        Kind::Xz => Box::new(liblzma::read::XzDecoder::new_multi_decoder(bytes)),
        Kind::Zstd => Box::new(
            ruzstd::decoding::StreamingDecoder::new(bytes)
                .map_err(|e| Stop::Corrupt(e.to_string()))?,
        ),
        Kind::Zip | Kind::Tar => unreachable!("not a stream"),
    })
}

/// The name of the file a compressed stream holds: `app.log.gz` holds
/// `app.log`.
fn stream_member_name(path: &str) -> String {
    let base = path.rsplit(['/', '\\', '!']).next().unwrap_or(path);
    for ext in [
        ".gz", ".bz2", ".xz", ".zst", ".zstd", ".tgz", ".tbz2", ".txz",
    ] {
        if let Some(stem) = base.strip_suffix(ext) {
            if !stem.is_empty() {
                return stem.to_string();
            }
        }
    }
    "<decompressed>".to_string()
}

/// A reader that fails once more than `cap` bytes pass through it, leaving
/// the count in `read` (above `cap` when it tripped).
struct Capped<R> {
    inner: R,
    read: Rc<Cell<u64>>,
    cap: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let room = self.cap.saturating_sub(self.read.get());
        // One byte past the cap tells "exactly at the cap" from "over it".
        let want = buf.len().min(
            usize::try_from(room)
                .unwrap_or(usize::MAX)
                .saturating_add(1),
        );
        let n = self.inner.read(&mut buf[..want])?;
        self.read.set(self.read.get() + n as u64);
        if self.read.get() > self.cap {
            return Err(io::Error::other("expansion limit reached"));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_no_archive() {
        assert_eq!(detect(b"BZh9 just text that starts like bzip2"), None);
        assert_eq!(detect(b"PK is a prefix"), None);
        assert_eq!(detect(b""), None);
    }

    #[test]
    fn stream_members_are_named_after_the_file() {
        assert_eq!(stream_member_name("logs/app.log.gz"), "app.log");
        assert_eq!(stream_member_name("a.zip!x.zst"), "x");
        assert_eq!(stream_member_name("blob"), "<decompressed>");
    }

    #[test]
    fn the_cap_trips_one_byte_past() {
        let meter = Rc::new(Cell::new(0));
        let mut c = Capped {
            inner: &[7u8; 10][..],
            read: meter.clone(),
            cap: 10,
        };
        let mut v = Vec::new();
        assert!(c.read_to_end(&mut v).is_ok());
        let mut c = Capped {
            inner: &[7u8; 11][..],
            read: Rc::new(Cell::new(0)),
            cap: 10,
        };
        assert!(c.read_to_end(&mut Vec::new()).is_err());
    }
}
