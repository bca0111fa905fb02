//! Content dedupe for history scans: each distinct neighbourhood of text at a
//! path is scanned once, however many versions of the file repeat it.
//!
//! A blob is cut into chunks of lines at content-defined boundaries, so an edit
//! changes only the chunks around it. A chunk is new when the bytes of the chunk
//! plus `margin` bytes on each side have not been seen at this path before.
//! The matcher looks for keywords only in new chunks, with regex windows that
//! still reach into the whole blob. With `margin` at least a rule's keyword
//! reach (`max_len`) plus its longest keyword, a keyword hit in an old chunk sits
//! in exactly the bytes around which it was matched before, so scanning only new
//! chunks finds the same (rule, path, secret) triples as scanning every blob.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::ops::Range;
use std::sync::Mutex;

use crate::blob::FoldHasher;

/// About one line in 32 ends a chunk.
const BOUNDARY_MASK: u64 = 31;
/// Chunks are cut at the next line end past this size...
const SOFT_MAX: usize = 8 << 10;
/// ...or anywhere past this one (minified files without line ends).
const HARD_MAX: usize = 64 << 10;

/// Neighbourhoods already scanned, shared by the scanning threads. Each
/// remembers a flag computed when it was new (whether it holds a keyword of a
/// rule that must see whole blobs).
///
/// # Costs
///
/// A history holds millions of chunks, so the shared table outgrows the
/// caches: a lookup there costs a lock whose cache line the other threads
/// also take, and a probe that misses to memory. Each thread therefore asks
/// its [`Recent`] first.
pub struct Seen {
    shards: Vec<Mutex<HashMap<u128, bool, BuildHasherDefault<FoldHasher>>>>,
    margin: usize,
}

impl Seen {
    /// `margin`: bytes of context on each side of a chunk that must match for
    /// the chunk to count as seen.
    pub fn new(margin: usize) -> Seen {
        Seen {
            shards: (0..64).map(|_| Mutex::new(HashMap::default())).collect(),
            margin,
        }
    }

    fn shard(&self, key: u128) -> &Mutex<HashMap<u128, bool, BuildHasherDefault<FoldHasher>>> {
        &self.shards[(key as usize) & (self.shards.len() - 1)]
    }

    /// Sets `chunks.new` to the chunks of `hay` not seen before at `path`,
    /// merging adjacent ones. They count as seen once [`Seen::record`] has
    /// been given their flags, which come from the scan of the new chunks:
    /// the caller's matcher notes flag words in the same pass that looks
    /// for keywords, so no chunk is read twice.
    ///
    /// Until then another thread may find the same chunks new at this
    /// path, and scan them too: that costs time, never a finding.
    ///
    /// # Time complexity
    ///
    /// One pass over `hay` to find chunk ends, and one hash of each chunk
    /// with its margins.
    pub fn new_chunks(&self, path: &str, hay: &[u8], chunks: &mut Chunks) {
        let Chunks {
            new: out,
            flagged,
            pending,
            len,
            recent,
        } = chunks;
        out.clear();
        flagged.clear();
        pending.clear();
        *len = hay.len();
        let path_hash = twox_hash::XxHash3_64::oneshot(path.as_bytes());
        let mut start = 0;
        while start < hay.len() {
            let end = chunk_end(hay, start);
            let lo = start.saturating_sub(self.margin);
            let hi = (end + self.margin).min(hay.len());
            // One-shot: the streaming hasher's set-up and buffering cost
            // more than hashing a chunk's kilobyte or two.
            let seed = path_hash ^ ((start - lo) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let key = twox_hash::XxHash3_128::oneshot_with_seed(seed, &hay[lo..hi]);
            let known = recent.get(key).or_else(|| {
                let known = self.shard(key).lock().unwrap().get(&key).copied();
                if let Some(f) = known {
                    recent.put(key, f);
                }
                known
            });
            match known {
                Some(false) => {}
                Some(true) => pending.push((start..end, None)),
                None => {
                    push_merged(out, start..end);
                    pending.push((start..end, Some(key)));
                }
            }
            start = end;
        }
    }

    /// Records the chunks of the last [`Seen::new_chunks`] as seen, each
    /// with its flag: whether one of `flag_starts` (ascending) lies in it.
    /// Sets `chunks.flagged` to every flagged chunk, new or old, with
    /// `flag_overlap` bytes of the next one, merging those that touch.
    ///
    /// `flag_starts` must hold the start of every occurrence, in a new
    /// chunk, of a pattern no longer than `flag_overlap` (it may hold more,
    /// anywhere). Then every occurrence of one in the blob starts inside a
    /// chunk of `flagged` and ends inside `flagged`, also in old chunks: a
    /// chunk is old only when its `margin` bytes on each side are too, and
    /// `flag_overlap` is at most `margin`, so the bytes an occurrence
    /// starting in the chunk covers are those its remembered flag was
    /// computed from.
    ///
    /// # Panics
    ///
    /// Panics if `flag_overlap` exceeds the margin.
    pub fn record(&self, flag_overlap: usize, flag_starts: &[usize], chunks: &mut Chunks) {
        assert!(
            flag_overlap <= self.margin,
            "flag overlap beyond the margin"
        );
        debug_assert!(flag_starts.is_sorted());
        let Chunks {
            flagged,
            pending,
            len,
            recent,
            ..
        } = chunks;
        let mut next = 0;
        for (range, key) in pending.drain(..) {
            let flag = match key {
                None => true,
                Some(key) => {
                    next += flag_starts[next..].partition_point(|&s| s < range.start);
                    let f = flag_starts.get(next).is_some_and(|&s| s < range.end);
                    let f = *self.shard(key).lock().unwrap().entry(key).or_insert(f);
                    recent.put(key, f);
                    f
                }
            };
            if flag {
                push_merged(flagged, range.start..(range.end + flag_overlap).min(*len));
            }
        }
    }
}

/// What [`Seen::new_chunks`] found in the blob in hand, and the scanning
/// thread's [`Recent`] neighbourhoods: one per thread, reused blob after
/// blob, and with one [`Seen`] only (its cache answers for that table).
#[derive(Default)]
pub struct Chunks {
    /// The new chunks, sorted and merged.
    pub new: Vec<Range<usize>>,
    /// The flagged chunks, new or old, with their overlap, sorted and
    /// merged: set by [`Seen::record`].
    pub flagged: Vec<Range<usize>>,
    /// From [`Seen::new_chunks`] to [`Seen::record`], in order: each new
    /// chunk with its key, and each old flagged one.
    pending: Vec<(Range<usize>, Option<u128>)>,
    /// The blob's length.
    len: usize,
    recent: Recent,
}

/// A scanning thread's memory of the neighbourhoods it met last, each with
/// its flag: a cache in front of [`Seen`]'s shared table. Versions of a file
/// come one after another in a pack's delta order, on the thread that
/// resolved their base, and share most of their chunks, so most lookups
/// end here, in a table that stays in the core's own cache.
///
/// It holds only neighbourhoods the shared table holds, with the same
/// flag (the table never forgets or changes one), so its answers are the
/// table's. Direct-mapped: a neighbourhood evicts whichever one had its
/// slot.
pub struct Recent {
    /// `key` with its lowest bit replaced by the flag (keys are compared
    /// on their other 127 bits); 0 for an empty slot.
    slots: Box<[u128]>,
}

impl Recent {
    /// 16,384 slots of 16 bytes: 256 KiB, a quarter of a core's L2 cache
    /// here, and room for the chunks of the few versions a thread has open.
    const SLOTS: usize = 1 << 14;

    fn slot(key: u128) -> usize {
        // The shared table's shards use the low bits.
        ((key >> 64) as usize) & (Self::SLOTS - 1)
    }

    fn get(&self, key: u128) -> Option<bool> {
        let v = self.slots[Self::slot(key)];
        (v != 0 && v | 1 == key | 1).then_some(v & 1 == 1)
    }

    fn put(&mut self, key: u128, flag: bool) {
        let v = (key & !1) | u128::from(flag);
        // A key of 0 or 1 would read as an empty slot: not cached.
        if v > 1 {
            self.slots[Self::slot(key)] = v;
        }
    }
}

impl Default for Recent {
    fn default() -> Recent {
        Recent {
            slots: vec![0; Self::SLOTS].into_boxed_slice(),
        }
    }
}

/// Appends `r` to sorted ranges, extending the last one when they touch.
fn push_merged(ranges: &mut Vec<Range<usize>>, r: Range<usize>) {
    match ranges.last_mut() {
        Some(last) if last.end >= r.start => last.end = last.end.max(r.end),
        _ => ranges.push(r),
    }
}

/// The end of the chunk starting at `start`: just after a line end whose next
/// bytes hash to a boundary, or after the first line end past [`SOFT_MAX`],
/// or at [`HARD_MAX`] bytes when no line ends by then (minified text).
/// Nothing past `start + HARD_MAX` is looked at, so a blob without line
/// ends costs one pass, not one per chunk.
fn chunk_end(hay: &[u8], start: usize) -> usize {
    let limit = hay.len().min(start + HARD_MAX);
    // Blocks before the soft size whose line ends all have eight bytes
    // after them in `hay` need only the boundary test: most of every
    // blob. Such a block's line ends are tested in a tight loop, on words
    // read from one slice whose bounds are checked once.
    let mut at = start;
    while at + 64 <= limit && at + 73 <= hay.len() && at + 64 < start + SOFT_MAX {
        let mut mask = crate::blob::byte_mask(&hay[at..at + 64], b'\n');
        let after: &[u8; 72] = hay[at + 1..at + 73].try_into().expect("72 bytes");
        while mask != 0 {
            let i = mask.trailing_zeros() as usize;
            let word: [u8; 8] = after[i..i + 8].try_into().expect("eight bytes");
            if boundary_word(u64::from_le_bytes(word)) {
                return at + i + 1;
            }
            mask &= mask - 1;
        }
        at += 64;
    }
    // Near the soft size, the hard size or the blob's end: each line end
    // with every condition.
    let end = first_line_end(&hay[at..limit], |p| {
        let nl = at + p + 1;
        nl >= hay.len() || nl - start >= SOFT_MAX || is_boundary(&hay[nl..])
    });
    end.map_or(limit, |p| at + p + 1)
}

/// The first position `p` of a line end in `hay` for which `stop(p)`
/// holds, visiting line ends in order.
///
/// Lines of source code average a few dozen bytes, so line ends are found
/// 64 bytes at a time as a bit mask ([`crate::blob::byte_mask`]) rather
/// than by a `memchr` per line.
#[inline]
fn first_line_end(hay: &[u8], mut stop: impl FnMut(usize) -> bool) -> Option<usize> {
    // Whole blocks apart from the rest, so the mask of a block is known
    // to take four steps.
    let blocks = hay.chunks_exact(64);
    let rest = blocks.remainder();
    let masks = blocks.map(|b| crate::blob::byte_mask(b, b'\n'));
    for (i, mut mask) in masks
        .chain([crate::blob::byte_mask(rest, b'\n')])
        .enumerate()
    {
        while mask != 0 {
            let p = i * 64 + mask.trailing_zeros() as usize;
            if stop(p) {
                return Some(p);
            }
            mask &= mask - 1;
        }
    }
    None
}

/// Decides from up to 8 bytes after a line end, so boundaries depend on local
/// content only and re-synchronise right after an edit.
#[inline]
fn is_boundary(next: &[u8]) -> bool {
    let word = match next.get(..8) {
        Some(w) => u64::from_le_bytes(w.try_into().expect("eight bytes")),
        None => {
            let mut b = [0u8; 8];
            b[..next.len()].copy_from_slice(next);
            u64::from_le_bytes(b)
        }
    };
    boundary_word(word)
}

/// [`is_boundary`] on the eight bytes after a line end, read as a
/// little-endian word.
#[inline(always)]
fn boundary_word(word: u64) -> bool {
    let x = word.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (x >> 58) & BOUNDARY_MASK == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(lines: usize, seed: u64) -> Vec<u8> {
        let mut s = String::new();
        let mut x = seed;
        for i in 0..lines {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            s.push_str(&format!("line {i} value {:x}\n", x >> 20));
        }
        s.into_bytes()
    }

    /// Edits `hay` at a random place (`x` is the generator's state): by
    /// round, inserts `word`, removes 300 bytes, or inserts 20 lines.
    fn edit(hay: &mut Vec<u8>, word: &[u8], round: usize, x: &mut u64) {
        *x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let at = (*x >> 33) as usize % hay.len();
        match round % 3 {
            0 => drop(hay.splice(at..at, word.iter().copied())),
            1 => drop(hay.drain(at..(at + 300).min(hay.len()))),
            _ => drop(hay.splice(at..at, text(20, *x))),
        }
    }

    /// One blob through both steps, flagging the chunks where `word`
    /// starts (found anywhere in `hay`, as the contract allows).
    fn see(seen: &Seen, path: &str, hay: &[u8], word: &[u8], c: &mut Chunks) {
        seen.new_chunks(path, hay, c);
        let starts: Vec<usize> = if word.is_empty() {
            Vec::new()
        } else {
            memchr::memmem::find_iter(hay, word).collect()
        };
        seen.record(word.len(), &starts, c);
    }

    #[test]
    fn chunks_cover_the_blob() {
        let hay = text(5000, 1);
        let seen = Seen::new(300);
        let mut c = Chunks::default();
        see(&seen, "a", &hay, b"", &mut c);
        assert_eq!(c.new, vec![0..hay.len()]);
        // Everything is old the second time.
        see(&seen, "a", &hay, b"", &mut c);
        assert!(c.new.is_empty());
        // ...but not at another path.
        see(&seen, "b", &hay, b"", &mut c);
        assert_eq!(c.new, vec![0..hay.len()]);
    }

    #[test]
    fn an_edit_dirties_only_nearby_chunks() {
        let hay = text(20_000, 2);
        let seen = Seen::new(300);
        let mut c = Chunks::default();
        see(&seen, "a", &hay, b"", &mut c);
        let mut edited = hay.clone();
        let mid = edited.len() / 2;
        edited.splice(mid..mid, b"inserted line\n".iter().copied());
        see(&seen, "a", &edited, b"", &mut c);
        let dirty: usize = c.new.iter().map(|r| r.len()).sum();
        assert!(dirty > 0);
        assert!(
            dirty < 16 << 10,
            "{dirty} bytes rescanned for a one-line edit"
        );
        assert!(c.new.iter().any(|r| r.contains(&mid)));
    }

    #[test]
    fn flags_are_remembered_for_old_chunks() {
        let mut hay = text(3000, 3);
        let at = hay.len();
        hay.extend_from_slice(b"-----BEGIN KEY-----\n");
        hay.extend_from_slice(&text(3000, 4));
        let seen = Seen::new(100);
        let mut c = Chunks::default();
        see(&seen, "a", &hay, b"BEGIN KEY", &mut c);
        let covers = |flagged: &[Range<usize>]| {
            flagged.len() == 1 && flagged[0].start <= at + 5 && at + 14 <= flagged[0].end
        };
        assert!(covers(&c.flagged), "{:?}", c.flagged);
        // Only the chunk holding the word is flagged, not the whole blob.
        assert!(c.flagged[0].len() < 16 << 10, "{:?}", c.flagged);
        // All old now, but the flagged chunk is still reported as flagged,
        // with no flag words given.
        let first = c.flagged.clone();
        seen.new_chunks("a", &hay, &mut c);
        assert!(c.new.is_empty());
        seen.record(9, &[], &mut c);
        assert_eq!(c.flagged, first);
        see(&seen, "b", &text(3000, 3), b"BEGIN KEY", &mut c);
        assert!(c.flagged.is_empty());
        // Starts outside the new chunks flag nothing.
        let mut other = text(3000, 6);
        see(&seen, "c", &other, b"", &mut c);
        other.extend_from_slice(&text(30, 7));
        seen.new_chunks("c", &other, &mut c);
        let tail = c.new.clone();
        assert!(tail.len() == 1 && tail[0].end == other.len(), "{tail:?}");
        seen.record(9, &[10, 2000, tail[0].start - 1, other.len()], &mut c);
        assert!(c.flagged.is_empty(), "{:?}", c.flagged);
        // Nor later, when those chunks are old.
        see(&seen, "c", &other, b"", &mut c);
        assert!(c.new.is_empty() && c.flagged.is_empty());
    }

    /// Every occurrence of the flagged word starts inside a flagged range,
    /// whether its chunk is new or old, after edits anywhere, including
    /// words cut by a chunk's end.
    #[test]
    fn every_occurrence_starts_in_a_flagged_range() {
        let word = b"sEcReT";
        let seen = Seen::new(40);
        let mut c = Chunks::default();
        let mut hay = text(4000, 5);
        let mut x = 11u64;
        for round in 0..40 {
            edit(&mut hay, word, round, &mut x);
            see(&seen, "p", &hay, word, &mut c);
            for (i, w) in hay.windows(word.len()).enumerate() {
                if w == word {
                    assert!(
                        c.flagged
                            .iter()
                            .any(|r| r.start <= i && i + word.len() <= r.end),
                        "round {round}: occurrence at {i} outside {:?}",
                        c.flagged
                    );
                }
            }
        }
    }

    /// Chunks end just after a line end (a boundary, or the first one
    /// past the soft size), or at the hard size when no line ends by then,
    /// or at the blob's end; never later.
    #[test]
    fn chunks_end_where_the_definition_says() {
        let mut x = 5u64;
        let mut hay = Vec::new();
        // Short and long lines, runs of line ends, and stretches without
        // any past both size limits.
        for round in 0..400 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let len = match round % 7 {
                0 => (x >> 40) as usize % (HARD_MAX + 5000),
                1 => 0,
                _ => (x >> 40) as usize % 90,
            };
            hay.extend((0..len).map(|i| b'a' + ((x >> (i % 50)) % 26) as u8));
            hay.push(b'\n');
        }
        let (mut start, mut forced, mut boundaries) = (0, 0, 0);
        while start < hay.len() {
            let end = chunk_end(&hay, start);
            assert!(end > start && end - start <= HARD_MAX, "chunk at {start}");
            let inner = &hay[start..end - 1];
            match hay[end - 1] {
                b'\n' if end == hay.len() || is_boundary(&hay[end..]) => boundaries += 1,
                b'\n' => assert!(
                    end - start >= SOFT_MAX,
                    "chunk at {start} ends at a line end that is no boundary"
                ),
                _ => {
                    assert!(
                        end == hay.len() || end - start == HARD_MAX,
                        "chunk at {start}"
                    );
                    let past_soft = &hay[(start + SOFT_MAX - 1).min(end)..end];
                    assert!(!past_soft.contains(&b'\n'), "chunk at {start}");
                    forced += 1;
                }
            }
            // No boundary was passed over.
            for (i, _) in inner.iter().enumerate().filter(|(_, &c)| c == b'\n') {
                assert!(!is_boundary(&hay[start + i + 1..]) || start + i + 1 == end);
            }
            start = end;
        }
        assert!(
            forced > 0 && boundaries > 5,
            "{forced} forced, {boundaries} at boundaries"
        );
    }

    /// The block loop ends chunks exactly where the definition, tested
    /// line end by line end, does: from any start, in blobs of short and
    /// long lines, near the soft size and in a blob's last bytes.
    #[test]
    fn chunk_ends_match_the_line_by_line_definition() {
        let reference = |hay: &[u8], start: usize| {
            let limit = hay.len().min(start + HARD_MAX);
            (start..limit)
                .find(|&q| {
                    let nl = q + 1;
                    hay[q] == b'\n'
                        && (nl >= hay.len() || nl - start >= SOFT_MAX || is_boundary(&hay[nl..]))
                })
                .map_or(limit, |q| q + 1)
        };
        let mut x = 3u64;
        let mut next = move |n: u64| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) % n
        };
        for round in 0..60 {
            let mut hay = Vec::new();
            let target = [100, 1_000, 9_000, 70_000][round % 4] + next(200) as usize;
            while hay.len() < target {
                // Mostly short lines (many boundaries), now and then one
                // past the soft size.
                let len = if next(40) == 0 {
                    SOFT_MAX + next(300) as usize
                } else {
                    next(60) as usize
                };
                hay.extend((0..len).map(|_| b'a' + next(26) as u8));
                hay.push(b'\n');
            }
            hay.truncate(target);
            let mut starts: Vec<usize> = (0..20).map(|_| next(hay.len() as u64) as usize).collect();
            starts.extend(hay.len().saturating_sub(80)..hay.len());
            starts.push(0);
            for start in starts {
                assert_eq!(
                    chunk_end(&hay, start),
                    reference(&hay, start),
                    "round {round}, start {start}"
                );
            }
        }
    }

    /// The block-wise search visits exactly the line ends a byte-by-byte
    /// one does, in order, across block edges and in the tail.
    #[test]
    fn line_ends_are_visited_in_order() {
        let mut x = 7u64;
        for len in [0, 1, 63, 64, 65, 127, 128, 200, 1000, 5000] {
            let hay: Vec<u8> = (0..len)
                .map(|_| {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                    if (x >> 60) < 3 {
                        b'\n'
                    } else {
                        b'a' + (x >> 59) as u8 % 26
                    }
                })
                .collect();
            let want: Vec<usize> = (0..len).filter(|&i| hay[i] == b'\n').collect();
            let mut got = Vec::new();
            assert_eq!(
                first_line_end(&hay, |p| {
                    got.push(p);
                    false
                }),
                None
            );
            assert_eq!(got, want, "length {len}");
            // Stopping returns the position stopped at.
            if let Some(&mid) = want.get(want.len() / 2) {
                assert_eq!(first_line_end(&hay, |p| p >= mid), Some(mid));
            }
        }
    }

    /// A thread's cache answers exactly as the shared table would: the same
    /// new and flagged ranges, version after version, whether each call
    /// brings an empty cache or one that saw every version before.
    #[test]
    fn recent_answers_as_the_shared_table() {
        let word = b"sEcReT";
        let (cached, fresh) = (Seen::new(40), Seen::new(40));
        let mut c = Chunks::default();
        let mut hay = text(3000, 9);
        let mut x = 5u64;
        for round in 0..30 {
            edit(&mut hay, word, round, &mut x);
            let path = ["p", "q"][round % 2];
            see(&cached, path, &hay, word, &mut c);
            let mut empty = Chunks::default();
            see(&fresh, path, &hay, word, &mut empty);
            assert_eq!(
                (&c.new, &c.flagged),
                (&empty.new, &empty.flagged),
                "round {round}"
            );
        }
        assert!(!c.flagged.is_empty());
    }

    /// Keys that share a slot evict each other; a key whose other 127 bits
    /// differ is never taken for a cached one.
    #[test]
    fn recent_slots_hold_one_key_each() {
        let mut r = Recent::default();
        let a: u128 = (7 << 64) | 0x1234_5678_0000;
        let b = a + (1 << 100); // the same slot
        assert_eq!(r.get(a), None);
        r.put(a, true);
        assert_eq!(r.get(a), Some(true));
        assert_eq!(r.get(a + 2), None);
        r.put(b, false);
        assert_eq!((r.get(a), r.get(b)), (None, Some(false)));
        // Keys that would read as an empty slot are not cached.
        r.put(1, true);
        assert_eq!(r.get(1), None);
    }

    #[test]
    fn no_newlines_still_chunks() {
        let hay: Vec<u8> = (0..200_000u32)
            .map(|i| (b'a' + (i * 7 % 26) as u8) ^ (i / 26 % 2) as u8)
            .collect();
        let seen = Seen::new(10);
        let mut c = Chunks::default();
        see(&seen, "x", &hay, b"", &mut c);
        assert_eq!(c.new, vec![0..hay.len()]);
    }
}
