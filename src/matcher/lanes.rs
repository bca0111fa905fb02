//! The keyword pass: every occurrence of the automaton's patterns, found by
//! several walks of one DFA over different parts of the haystack at once.
//!
//! A DFA step is a table load whose address depends on the previous step's
//! result, so one walk costs a load's latency per byte, however wide the
//! processor. Walking [`LANES`] parts in lockstep gives the processor
//! independent loads to overlap: the same transitions, several bytes per
//! latency. No SIMD and no `unsafe`: the automaton is aho-corasick's own DFA,
//! stepped through its public [`Automaton`] trait.
//!
//! The walks step a compact copy of aho-corasick's DFA (see [`Table`]):
//! measured over 64 MiB of the benchmark corpus, the 1,006-pattern keyword
//! automaton's walk took half the time of stepping aho-corasick's own table,
//! which pads each state's row to a power of two and is 2.5 times larger.
//!
//! The walks report every occurrence (standard, overlapping semantics); the
//! leftmost-longest hits the caller needs are replayed from them (see
//! [`KeywordDfa::leftmost_longest`]), and are exactly those a
//! leftmost-longest search would have found.

use std::ops::Range;

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;
use aho_corasick::{Anchored, MatchKind};

/// Walks in lockstep. Four hides most of a load's latency behind the others
/// on current x86-64 and aarch64 cores without running out of registers.
const LANES: usize = 4;

/// Below this many bytes a haystack is walked in one lane: the lanes'
/// lead-ins and the sort would cost more than they save.
const LANE_MIN: usize = 1024;

/// The most bytes whose keyword occurrences are kept at once: at most one
/// per pattern length per byte, so a hostile haystack made of keywords
/// holds a few MiB, not gigabytes.
const BLOCK: usize = 64 * 1024;

/// The keyword DFA: case-insensitive, standard semantics, no prefilter (so
/// that only match states are special).
pub(crate) struct KeywordDfa {
    /// Built by aho-corasick; asked only which patterns a match state holds.
    dfa: DFA,
    table: Table,
    /// Length of each pattern.
    lens: Vec<u32>,
}

/// The DFA's transitions in the smallest dense form that keeps a step to
/// two loads and an add: one column per class of bytes that the patterns
/// tell apart (case folded), rows of exactly that many entries, states
/// numbered with the match states first so "is a match" is one compare.
/// State ids are premultiplied: a state's id is its row's offset.
struct Table {
    class: [u8; 256],
    /// Padded to a power of two: the lanes' loop masks each index with
    /// `mask` into a slice of exactly `mask + 1` entries, so the compiler
    /// drops four bounds checks per step (no index is ever out of range;
    /// the mask only tells the compiler so).
    trans: Vec<u32>,
    mask: u32,
    /// Ids below this are match states.
    matches: u32,
    start: u32,
    stride: u32,
    /// aho-corasick's id of each row's state, for its matched patterns.
    original: Vec<StateID>,
}

impl Table {
    /// Copies the states reachable from `dfa`'s unanchored start.
    fn new(dfa: &DFA, patterns: &[Vec<u8>]) -> Table {
        // Bytes no pattern holds (in either case) all lead where any other
        // such byte leads; each pattern byte, case folded, is its own class.
        let mut class = [0u8; 256];
        let mut reps = vec![0u8];
        for p in patterns {
            for &b in p {
                let b = b.to_ascii_lowercase();
                if class[b as usize] == 0 && !reps[1..].contains(&b) {
                    reps.push(b);
                    let c = (reps.len() - 1) as u8;
                    class[b as usize] = c;
                    class[b.to_ascii_uppercase() as usize] = c;
                }
            }
        }
        if reps.len() == 1 {
            // Only other bytes: pick one no pattern holds.
            reps[0] = 0;
        } else {
            reps[0] = (0..=255u8).find(|b| class[*b as usize] == 0).unwrap_or(0);
        }
        let start = dfa.start_state(Anchored::No).expect("unanchored DFA");
        let mut order = vec![start];
        let mut index: std::collections::HashMap<StateID, u32> = [(start, 0)].into();
        let mut i = 0;
        while i < order.len() {
            for &b in &reps {
                let next = dfa.next_state(Anchored::No, order[i], b);
                index.entry(next).or_insert_with(|| {
                    order.push(next);
                    (order.len() - 1) as u32
                });
            }
            i += 1;
        }
        // Match states first.
        let mut renumber = vec![0u32; order.len()];
        let mut original = Vec::with_capacity(order.len());
        for want_match in [true, false] {
            for (j, &sid) in order.iter().enumerate() {
                if dfa.is_match(sid) == want_match {
                    renumber[j] = original.len() as u32;
                    original.push(sid);
                }
            }
        }
        let matches = order.iter().filter(|&&sid| dfa.is_match(sid)).count() as u32;
        let stride = reps.len() as u32;
        let mut trans = vec![0u32; (order.len() * reps.len()).next_power_of_two()];
        for (j, &sid) in order.iter().enumerate() {
            let row = (renumber[j] * stride) as usize;
            for (c, &b) in reps.iter().enumerate() {
                let next = index[&dfa.next_state(Anchored::No, sid, b)];
                trans[row + c] = renumber[next as usize] * stride;
            }
        }
        let mask = (trans.len() - 1) as u32;
        Table {
            class,
            trans,
            mask,
            matches: matches * stride,
            start: renumber[0] * stride,
            stride,
            original,
        }
    }

    /// The state after `sid` on `byte`, for a single step (tests); loops
    /// take a [`Table::stepper`].
    #[cfg(test)]
    fn next(&self, sid: u32, byte: u8) -> u32 {
        self.stepper()(sid, byte)
    }

    /// The step function for a loop: the parts it reads are taken once, the
    /// transitions as a slice of exactly `mask + 1` entries, so the
    /// compiler knows a masked index is in range and drops the bounds
    /// check on every step.
    #[inline(always)]
    fn stepper(&self) -> impl Fn(u32, u8) -> u32 + '_ {
        let (trans, class, mask) = (&self.trans[..=self.mask as usize], &self.class, self.mask);
        move |s, b| trans[((s + u32::from(class[b as usize])) & mask) as usize]
    }

    #[inline(always)]
    fn is_match(&self, sid: u32) -> bool {
        sid < self.matches
    }

    /// aho-corasick's id of state `sid`.
    fn original(&self, sid: u32) -> StateID {
        self.original[(sid / self.stride) as usize]
    }
}

impl KeywordDfa {
    /// # Panics
    ///
    /// Panics only if the DFA cannot be built, which for a few thousand
    /// patterns of at most a few bytes does not happen.
    pub(crate) fn new(patterns: &[Vec<u8>]) -> KeywordDfa {
        let dfa = DFA::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .prefilter(false)
            .build(patterns)
            .expect("keyword automaton");
        let lens = patterns.iter().map(|p| p.len() as u32).collect();
        let table = Table::new(&dfa, patterns);
        KeywordDfa { dfa, table, lens }
    }

    /// Calls `hit(pattern, start)` for each hit, in order, of a
    /// leftmost-longest search of `range` of `hay` that goes on after each
    /// hit at its start plus `resume(pattern)` (at least 1): from a
    /// position, the hit is the longest pattern at the earliest start at or
    /// after it. These are the hits aho-corasick's own leftmost-longest
    /// search finds when restarted at those positions.
    ///
    /// `each(pattern, start)` sees every occurrence lying wholly in `range`
    /// first, in order of start; one for which it returns `false` takes no
    /// part in the search, which then finds what it would find without
    /// that pattern in the automaton.
    ///
    /// The range is taken in blocks of [`BLOCK`] bytes, so the occurrences
    /// kept at once (in `occ`) stay bounded whatever the haystack holds.
    ///
    /// # Time complexity
    ///
    /// One DFA step per byte of `range`, plus fewer than the longest
    /// pattern's length per lane and block, plus a sort of each block's
    /// occurrences.
    pub(super) fn leftmost_longest(
        &self,
        hay: &[u8],
        range: Range<usize>,
        occ: &mut Occurrences,
        mut each: impl FnMut(usize, usize) -> bool,
        resume: impl Fn(usize) -> usize,
        mut hit: impl FnMut(usize, usize),
    ) {
        let mut pos = range.start;
        let mut block = range.start;
        while block < range.end {
            let block_end = range.end.min(block + BLOCK);
            self.occurrences(hay, block..block_end, range.end, occ);
            for &(start, p) in &occ.0 {
                // Occurrences at one start come longest first: once one is
                // taken, `pos` has moved past that start.
                if !each(p as usize, start) || start < pos {
                    continue;
                }
                hit(p as usize, start);
                pos = start + resume(p as usize).max(1);
            }
            block = block_end;
        }
    }

    /// Calls `each(start)` for every distinct start of an occurrence lying
    /// wholly in `range`, in increasing order, until it returns `false`:
    /// the places a leftmost search restarted anywhere in `range` can
    /// report, whatever the restart points.
    ///
    /// # Time complexity
    ///
    /// As [`KeywordDfa::leftmost_longest`], up to where `each` stops it
    /// (plus the rest of that block).
    pub(crate) fn each_start(
        &self,
        hay: &[u8],
        range: Range<usize>,
        occ: &mut Occurrences,
        mut each: impl FnMut(usize) -> bool,
    ) {
        let mut block = range.start;
        while block < range.end {
            let block_end = range.end.min(block + BLOCK);
            self.occurrences(hay, block..block_end, range.end, occ);
            let mut last = None;
            for &(start, _) in &occ.0 {
                if last != Some(start) {
                    last = Some(start);
                    if !each(start) {
                        return;
                    }
                }
            }
            block = block_end;
        }
    }

    /// Leaves in `out` every occurrence, `(start, pattern)`, of a pattern
    /// starting in `block` and ending by `end`, sorted by start and, at one
    /// start, longest first.
    fn occurrences(&self, hay: &[u8], block: Range<usize>, end: usize, out: &mut Occurrences) {
        out.0.clear();
        // Occurrences starting in the block end before this.
        let span = block.start..end.min(block.end + self.dfa.max_pattern_len().saturating_sub(1));
        if span.len() < LANE_MIN {
            self.walk(self.start(), hay, span.start, span.end, &mut out.0);
        } else {
            self.walk_lanes(hay, span, &mut out.0);
        }
        out.0.retain(|o| o.0 < block.end);
        out.0
            .sort_unstable_by_key(|&(s, p)| (s, std::cmp::Reverse(self.lens[p as usize])));
    }

    /// The length of pattern `p`.
    pub(super) fn pattern_len(&self, p: usize) -> usize {
        self.lens[p] as usize
    }

    /// Whether any pattern for which `wanted` holds occurs in `hay`. A
    /// short haystack is walked in one lane, stopping at the first such
    /// pattern; a long one in [`LANES`] lanes, block by block, stopping
    /// after the first block that holds one.
    ///
    /// # Time complexity
    ///
    /// At most one DFA step per byte of `hay` (plus the lanes' lead-ins).
    pub(super) fn any(&self, hay: &[u8], wanted: impl Fn(usize) -> bool) -> bool {
        if hay.len() < LANE_MIN {
            // Most new chunks of a history are under a kilobyte.
            let step = self.table.stepper();
            let mut sid = self.table.start;
            for &b in hay {
                sid = step(sid, b);
                if self.table.is_match(sid) {
                    let ac = self.table.original(sid);
                    if (0..self.dfa.match_len(ac))
                        .any(|i| wanted(self.dfa.match_pattern(ac, i).as_usize()))
                    {
                        return true;
                    }
                }
            }
            return false;
        }
        let mut occ = Vec::new();
        let mut block = 0;
        while block < hay.len() {
            let end = hay.len().min(block + BLOCK);
            // Each span starts the longest pattern's length less one before
            // its block, so a pattern across a block border is seen whole.
            let lead = self.dfa.max_pattern_len().saturating_sub(1);
            occ.clear();
            self.walk_lanes(hay, block.saturating_sub(lead)..end, &mut occ);
            if occ.iter().any(|&(_, p)| wanted(p as usize)) {
                return true;
            }
            block = end;
        }
        false
    }

    fn start(&self) -> u32 {
        self.table.start
    }

    /// Walks `hay[at..end]` from state `sid`, recording matches; returns the
    /// state at `end`.
    fn walk(&self, mut sid: u32, hay: &[u8], at: usize, end: usize, out: &mut Vec<(usize, u32)>) {
        let step = self.table.stepper();
        for (i, &b) in hay[at..end].iter().enumerate() {
            sid = step(sid, b);
            if self.table.is_match(sid) {
                self.record(sid, at + i + 1, out);
            }
        }
    }

    /// Records the patterns of match state `sid` entered at `end`.
    fn record(&self, sid: u32, end: usize, out: &mut Vec<(usize, u32)>) {
        let sid = self.table.original(sid);
        for i in 0..self.dfa.match_len(sid) {
            let p = self.dfa.match_pattern(sid, i).as_u32();
            out.push((end - self.lens[p as usize] as usize, p));
        }
    }

    /// [`LANES`] walks over equal parts of `range`. Each lane first walks,
    /// without recording, the bytes before its part that a pattern ending
    /// in its part can start at (the longest pattern's length less one), so
    /// it reports exactly the occurrences ending in its part.
    fn walk_lanes(&self, hay: &[u8], range: Range<usize>, out: &mut Vec<(usize, u32)>) {
        let chunk = range.len() / LANES;
        let lead = self.dfa.max_pattern_len().saturating_sub(1);
        let mut sid = [self.start(); LANES];
        let mut base = [0; LANES];
        let warm_step = self.table.stepper();
        for k in 0..LANES {
            base[k] = range.start + k * chunk;
            let warm = base[k].saturating_sub(lead).max(range.start);
            for &b in &hay[warm..base[k]] {
                sid[k] = warm_step(sid[k], b);
            }
        }
        let part = |k: usize| &hay[base[k]..base[k] + chunk];
        let (p0, p1, p2, p3) = (part(0), part(1), part(2), part(3));
        let [mut s0, mut s1, mut s2, mut s3] = sid;
        // Indexed parts of one length and the table's fields held apart,
        // with the rare recording out of line: the loop keeps its states in
        // registers (no spills) and has no bounds checks. 20-30 % faster than
        // zipped iterators with the recording inline, measured in process.
        let t = &self.table;
        // A slice of exactly `mask + 1` entries: the compiler then knows a
        // masked index is in range and drops the bounds checks.
        let (trans, class, mask, matches) =
            (&t.trans[..=t.mask as usize], &t.class, t.mask, t.matches);
        let step = |s: u32, b: u8| trans[((s + u32::from(class[b as usize])) & mask) as usize];
        for i in 0..chunk {
            s0 = step(s0, p0[i]);
            s1 = step(s1, p1[i]);
            s2 = step(s2, p2[i]);
            s3 = step(s3, p3[i]);
            if (s0 < matches) | (s1 < matches) | (s2 < matches) | (s3 < matches) {
                self.record_lanes([s0, s1, s2, s3], &base, i + 1, out);
            }
        }
        // The last lane also takes the remainder of the division.
        self.walk(s3, hay, base[LANES - 1] + chunk, range.end, out);
    }

    /// Records the matches of the lanes' states, `at` bytes into each part.
    #[cold]
    #[inline(never)]
    fn record_lanes(
        &self,
        states: [u32; LANES],
        base: &[usize; LANES],
        at: usize,
        out: &mut Vec<(usize, u32)>,
    ) {
        for (k, s) in states.into_iter().enumerate() {
            if self.table.is_match(s) {
                self.record(s, base[k] + at, out);
            }
        }
    }
}

/// Working memory of [`KeywordDfa::leftmost_longest`]: the occurrences,
/// `(start, pattern)`, of one block. Reuse it across scans to keep the
/// allocation.
#[derive(Default)]
pub(crate) struct Occurrences(Vec<(usize, u32)>);

#[cfg(test)]
mod tests {
    use super::*;
    use aho_corasick::AhoCorasick;

    /// `len` bytes of `words` picked at random (a linear congruential
    /// generator from `seed`), cut at `len`.
    fn random_text(words: &[&str], len: usize, seed: &mut u64) -> Vec<u8> {
        let mut hay = Vec::new();
        while hay.len() < len {
            *seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            hay.extend_from_slice(words[(*seed >> 33) as usize % words.len()].as_bytes());
        }
        hay.truncate(len);
        hay
    }

    /// The lanes and the replay give the hits of aho-corasick's own
    /// leftmost-longest search, for haystacks long enough to be split and
    /// patterns straddling the lanes' borders at every offset. Patterns
    /// left out of the search by `each` change none of its hits (though
    /// they overlap, contain and extend the others), and `each` sees every
    /// one of their occurrences.
    #[test]
    fn replay_equals_leftmost_longest_search() {
        let patterns: Vec<Vec<u8>> = ["key", "api_key", "apikey", "ke", "y_a", "token", "k", "_k"]
            .iter()
            .map(|p| p.as_bytes().to_vec())
            .collect();
        let dfa = KeywordDfa::new(&patterns);
        let extra: Vec<Vec<u8>> = ["api", "y_api_", "ok", "to"]
            .iter()
            .map(|p| p.as_bytes().to_vec())
            .collect();
        let with_extra = KeywordDfa::new(&[patterns.clone(), extra.clone()].concat());
        let extra_ac = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(&extra)
            .unwrap();
        let ac = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .build(&patterns)
            .unwrap();
        let standard = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(&patterns)
            .unwrap();
        let words = [
            "API_KEY",
            "apikey",
            "tok",
            "TOKEN",
            "xk",
            "y_api_key",
            "_",
            "\n",
        ];
        let mut seed = 7u64;
        for len in [
            0,
            1,
            5,
            1023,
            1024,
            1025,
            1031,
            4099,
            20000,
            BLOCK + 3,
            3 * BLOCK + 1030,
        ] {
            let hay = random_text(&words, len, &mut seed);
            // Restarting after the hit, as without marks, or inside it, as
            // after a mark word's hit.
            let resumes: [&dyn Fn(usize) -> usize; 2] =
                [&|p| patterns[p].len(), &|p| patterns[p].len().div_ceil(2)];
            for (range, resume) in [0..hay.len(), hay.len() / 3..hay.len()]
                .into_iter()
                .flat_map(|r| resumes.map(|f| (r.clone(), f)))
            {
                let mut want = Vec::new();
                let mut pos = range.start;
                while let Some(m) = ac.find(aho_corasick::Input::new(&hay).span(pos..range.end)) {
                    want.push((m.pattern().as_usize(), m.start()));
                    pos = m.start() + resume(m.pattern().as_usize());
                }
                let mut occ = Occurrences::default();
                let mut got = Vec::new();
                let all = |_, _| true;
                dfa.leftmost_longest(&hay, range.clone(), &mut occ, all, resume, |p, s| {
                    got.push((p, s))
                });
                assert_eq!(got, want, "len {len}, range {range:?}");
                let (mut got, mut seen) = (Vec::new(), Vec::new());
                let each = |p: usize, s: usize| {
                    if p >= patterns.len() {
                        seen.push((s, p - patterns.len()));
                    }
                    p < patterns.len()
                };
                with_extra.leftmost_longest(&hay, range.clone(), &mut occ, each, resume, |p, s| {
                    got.push((p, s))
                });
                assert_eq!(got, want, "len {len}, range {range:?}, extra patterns");
                let mut extra_want: Vec<(usize, usize)> = extra_ac
                    .find_overlapping_iter(&hay[range.clone()])
                    .map(|m| (range.start + m.start(), m.pattern().as_usize()))
                    .collect();
                extra_want.sort_unstable();
                seen.sort_unstable();
                assert_eq!(seen, extra_want, "len {len}, range {range:?}");
                assert!(len < 1000 || !seen.is_empty());
                dfa.occurrences(&hay, range.clone(), range.end, &mut occ);
                let all = standard.find_overlapping_iter(&hay[range.clone()]).count();
                assert_eq!(occ.0.len(), all, "len {len}");
            }
        }
    }

    /// `each_start` yields the distinct starts of the occurrences lying
    /// wholly in the range, in order, across lane and block borders, and
    /// stops when asked.
    #[test]
    fn each_start_yields_every_occurrence_start_in_the_range() {
        let patterns: Vec<Vec<u8>> = ["pass", "secret", "key", "://", "-----begin"]
            .iter()
            .map(|p| p.as_bytes().to_vec())
            .collect();
        let dfa = KeywordDfa::new(&patterns);
        let standard = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(&patterns)
            .unwrap();
        let words = [
            "PassKey",
            "x",
            "secretkey",
            "http://",
            "-----BEGIN",
            "  ",
            "ke",
        ];
        let mut seed = 3u64;
        for len in [0, 10, 1023, 1024, 5000, BLOCK + 7, 2 * BLOCK + 2000] {
            let hay = random_text(&words, len, &mut seed);
            for range in [0..len, len / 3..len - len / 5] {
                let mut want: Vec<usize> = standard
                    .find_overlapping_iter(&hay[range.clone()])
                    .map(|m| range.start + m.start())
                    .collect();
                want.sort_unstable();
                want.dedup();
                let mut got = Vec::new();
                let mut occ = Occurrences::default();
                dfa.each_start(&hay, range.clone(), &mut occ, |s| {
                    got.push(s);
                    true
                });
                assert_eq!(got, want, "len {len}, range {range:?}");
                let mut first = Vec::new();
                dfa.each_start(&hay, range.clone(), &mut occ, |s| {
                    first.push(s);
                    first.len() < 3
                });
                assert_eq!(first, want[..want.len().min(3)], "len {len}");
            }
        }
    }

    /// The compact table steps exactly as aho-corasick's DFA on every byte
    /// from every reachable state, for the bundled rules' keywords (mixed
    /// case, digits, punctuation) and for keywords with non-ASCII bytes.
    #[test]
    fn the_compact_table_steps_as_the_dfa() {
        let m = crate::matcher::Matcher::with_marks(
            std::sync::Arc::new(crate::rules::RuleSet::builtin()),
            &[
                "pass",
                "pwd",
                "secret",
                "token",
                "://",
                "-----begin",
                "login",
            ],
        );
        let bundled = m.dfa.as_ref().unwrap();
        let odd = KeywordDfa::new(&[
            b"\xffkey".to_vec(),
            "clé".as_bytes().to_vec(),
            b"A-b".to_vec(),
        ]);
        for dfa in [bundled, &odd] {
            let t = &dfa.table;
            assert_eq!(
                t.original(t.start),
                dfa.dfa.start_state(Anchored::No).unwrap()
            );
            let mut seen = std::collections::HashSet::from([t.start]);
            let mut todo = vec![t.start];
            while let Some(s) = todo.pop() {
                for b in 0..=255u8 {
                    let next = t.next(s, b);
                    let want = dfa.dfa.next_state(Anchored::No, t.original(s), b);
                    assert_eq!(t.original(next), want, "state {s}, byte {b}");
                    assert_eq!(t.is_match(next), dfa.dfa.is_match(want));
                    if seen.insert(next) {
                        todo.push(next);
                    }
                }
            }
            assert_eq!(seen.len(), t.original.len());
        }
    }

    #[test]
    fn any_stops_at_a_wanted_pattern() {
        let dfa = KeywordDfa::new(&[b"key".to_vec(), b"token".to_vec()]);
        assert!(dfa.any(b"my TOKEN", |p| p == 1));
        assert!(!dfa.any(b"my key", |p| p == 1));
        assert!(!dfa.any(b"", |_| true));
    }

    /// The lanes' answer is the one-lane walk's, for wanted patterns
    /// anywhere in a long haystack: at its ends, across lane and block
    /// borders, or nowhere.
    #[test]
    fn any_in_lanes_agrees_with_one_walk() {
        let dfa = KeywordDfa::new(&[b"key".to_vec(), b"token".to_vec()]);
        for len in [LANE_MIN, LANE_MIN + 3, 3 * BLOCK + 11] {
            for at in [
                0,
                1,
                len / 4 - 2,
                len / 4,
                len / 2 - 1,
                BLOCK - 2,
                BLOCK - 1,
                len - 5,
            ] {
                let mut hay = vec![b'x'; len];
                if at + 5 <= len {
                    hay[at..at + 5].copy_from_slice(b"ToKeN");
                }
                hay[len / 3..len / 3 + 3].copy_from_slice(b"key");
                let one = hay.windows(5).any(|w| w.eq_ignore_ascii_case(b"token"));
                assert_eq!(dfa.any(&hay, |p| p == 1), one, "len {len} at {at}");
                assert!(dfa.any(&hay, |p| p == 0), "len {len} at {at}");
            }
            assert!(!dfa.any(&vec![b'k'; len], |_| true), "len {len}");
        }
    }
}
