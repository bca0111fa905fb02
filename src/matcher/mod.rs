//! The matcher: bytes in, rule matches out. It knows nothing of files or commits.
//!
//! Two stages. One Aho-Corasick automaton over every rule's keywords finds the
//! places worth a closer look; then each rule whose keyword occurred runs its
//! regex only in a window around those places. Scanning is therefore one
//! linear pass plus regex work proportional to the keyword hits, not one pass
//! per rule.
//!
//! # Cost
//!
//! Building a [`Matcher`] builds the automaton (about a millisecond for the
//! bundled rules) but compiles no regex: each rule's regex is compiled the first
//! time one of its keywords is seen, and kept for the life of the rule set.

pub mod check;
pub(crate) mod lanes;

pub use check::{check_rules, CheckReport};

use std::ops::Range;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickKind};
use regex_automata::util::captures::Captures;
use regex_automata::{meta, Input};

use self::lanes::{KeywordDfa, Occurrences};
use crate::rules::{entropy, has_classes, is_placeholder, Confidence, Engine, Rule, RuleSet};

/// A secret found by one rule in one haystack. Offsets are byte offsets.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    /// Index of the rule in the matcher's [`RuleSet`].
    pub rule: usize,
    /// The span of the secret (the capture group).
    pub secret: Range<usize>,
    /// The span of the whole regex match.
    pub whole: Range<usize>,
    /// Named parts: other named groups and companions, with their values.
    pub parts: Vec<(String, String)>,
    /// Shannon entropy of the secret in bits per byte.
    pub entropy: f64,
}

/// Compiled keyword prefilter over a rule set.
pub struct Matcher {
    rules: Arc<RuleSet>,
    dfa: Option<KeywordDfa>,
    /// For each automaton pattern, the rules to try when it matches. A keyword
    /// also triggers the rules of every shorter keyword it contains, because the
    /// automaton reports only the longest keyword at a position.
    pattern_rules: Vec<Vec<u32>>,
    /// For each automaton pattern, the longer keywords it is the cut of.
    pattern_longer: Vec<Vec<u32>>,
    /// Keywords, lowercase, in full.
    keywords: Vec<Vec<u8>>,
    /// For each keyword, the rules its occurrence triggers.
    closure: Vec<Vec<u32>>,
    /// Rules without keywords (imported from gitleaks configs whose regexes
    /// yield no literal): their regex runs over every blob.
    always: Vec<u32>,
    /// Where the automaton's hits mark mark words (see [`Matcher::with_marks`]).
    marks: Marks,
    /// Automaton patterns from rule keywords; those after are mark words.
    rule_patterns: usize,
    /// Automaton patterns that take part in the leftmost-longest parse
    /// (rule keywords and mark words); those after are flag words only.
    parsed: usize,
    /// For each automaton pattern, whether it is a flag word (see
    /// [`Matcher::with_flags`]).
    flag_words: Vec<bool>,
}

/// How hits of each automaton pattern mark the places of mark words: the
/// automaton reports the leftmost-longest pattern and goes on after it, so
/// a mark word inside or overlapping the end of another pattern's hit is
/// found from that hit instead of from its own.
#[derive(Default)]
struct Marks {
    /// Mark words, lowercase, cut to [`KEY_PREFIX`] bytes.
    words: Vec<Vec<u8>>,
    /// For each pattern, the offset of a mark word wholly inside it.
    inside: Vec<Option<u32>>,
    /// For each pattern, `(offset, word)` of the mark words that start
    /// inside it and end beyond it: confirmed in place on each hit.
    straddle: Vec<Vec<(u32, u32)>>,
    /// For each pattern, where the search goes on after its hit: the
    /// pattern's length, or, for a pattern only a mark word has, the first
    /// offset where a rule keyword's pattern could start and run past its
    /// end (so marking never hides a rule keyword).
    resume: Vec<u32>,
}

impl Marks {
    /// The marks of `patterns`, of which those from `rule_patterns` on are
    /// mark words only.
    fn new(words: Vec<Vec<u8>>, patterns: &[Vec<u8>], rule_patterns: usize) -> Marks {
        let overlap = |a: &[u8], b: &[u8], j: usize| {
            // `a[j..]` is a proper prefix of `b`.
            let tail = &a[j..];
            tail.len() < b.len() && b[..tail.len()].eq_ignore_ascii_case(tail)
        };
        let mut m = Marks {
            words,
            ..Marks::default()
        };
        for (p, pat) in patterns.iter().enumerate() {
            let inside = (0..pat.len()).find(|&j| {
                m.words.iter().any(|w| {
                    pat.len() - j >= w.len() && pat[j..j + w.len()].eq_ignore_ascii_case(w)
                })
            });
            m.inside.push(inside.map(|j| j as u32));
            let mut straddle = Vec::new();
            for j in 1..pat.len() {
                for (k, w) in m.words.iter().enumerate() {
                    if overlap(pat, w, j) {
                        straddle.push((j as u32, k as u32));
                    }
                }
            }
            m.straddle.push(straddle);
            let resume = if p < rule_patterns {
                pat.len()
            } else {
                (1..pat.len())
                    .find(|&j| patterns[..rule_patterns].iter().any(|r| overlap(pat, r, j)))
                    .unwrap_or(pat.len())
            };
            m.resume.push(resume as u32);
        }
        m
    }

    /// Records the mark words a hit of pattern `p` at `start` holds or
    /// overlaps.
    fn record(&self, hay: &[u8], p: usize, start: usize, out: &mut Vec<usize>) {
        if let Some(j) = self.inside[p] {
            out.push(start + j as usize);
        }
        for &(j, k) in &self.straddle[p] {
            let at = start + j as usize;
            let w = &self.words[k as usize];
            if hay
                .get(at..at + w.len())
                .is_some_and(|t| t.eq_ignore_ascii_case(w))
            {
                out.push(at);
            }
        }
    }
}

/// Keywords longer than this are cut to it in the automaton and confirmed in
/// place (see [`Matcher::with_filter`]).
const KEY_PREFIX: usize = 8;

/// The distinct lowercased keywords of the kept rules and the rules owning
/// each; `always` are kept rules without keywords.
struct Keywords {
    keywords: Vec<Vec<u8>>,
    owners: Vec<Vec<u32>>,
    always: Vec<u32>,
}

impl Keywords {
    fn of(rules: &RuleSet, keep: impl Fn(&Rule) -> bool) -> Keywords {
        let mut k = Keywords {
            keywords: Vec::new(),
            owners: Vec::new(),
            always: Vec::new(),
        };
        let mut index: std::collections::HashMap<Vec<u8>, usize> = Default::default();
        for (i, rule) in rules.rules().iter().enumerate() {
            // Format rules are found by the format stage, never by pattern.
            if !keep(rule) || rule.engine == Engine::Format {
                continue;
            }
            if rule.spec.keywords.is_empty() {
                k.always.push(i as u32);
            }
            for kw in &rule.spec.keywords {
                let kw = kw.as_bytes().to_ascii_lowercase();
                let p = *index.entry(kw.clone()).or_insert_with(|| {
                    k.keywords.push(kw);
                    k.owners.push(Vec::new());
                    k.keywords.len() - 1
                });
                if !k.owners[p].contains(&(i as u32)) {
                    k.owners[p].push(i as u32)
                }
            }
        }
        k
    }
}

/// The automaton's patterns: keywords cut to [`KEY_PREFIX`] bytes (a smaller
/// automaton stays in cache; a hit on a cut keyword is confirmed by comparing
/// the rest in place), each with the keywords longer than it.
fn cut_keywords(keywords: &[Vec<u8>]) -> (Vec<Vec<u8>>, Vec<Vec<u32>>) {
    let mut patterns: Vec<Vec<u8>> = Vec::new();
    let mut pattern_of: std::collections::HashMap<Vec<u8>, usize> = Default::default();
    let mut pattern_longer: Vec<Vec<u32>> = Vec::new();
    for (k, kw) in keywords.iter().enumerate() {
        let cut = kw[..kw.len().min(KEY_PREFIX)].to_vec();
        let p = *pattern_of.entry(cut.clone()).or_insert_with(|| {
            patterns.push(cut);
            pattern_longer.push(Vec::new());
            patterns.len() - 1
        });
        if kw.len() > patterns[p].len() {
            pattern_longer[p].push(k as u32);
        }
    }
    (patterns, pattern_longer)
}

/// Per-thread working memory for [`Matcher::scan`]; reuse it across calls.
#[derive(Default)]
pub struct Scratch {
    windows: Vec<(u32, usize, usize)>,
    /// Per rule, its regex's cache and capture slots (made on first use).
    caches: Vec<Option<(meta::Cache, Captures)>>,
    /// Places of mark words found by the last scan, in hit order.
    marks: Vec<usize>,
    /// Keyword occurrences of the block being scanned.
    occurrences: Occurrences,
    /// Starts of flag words found by the last scan, ascending.
    flags: Vec<usize>,
}

impl Scratch {
    /// Takes the places of mark words the last [`Matcher::scan`] found
    /// (see [`Matcher::with_marks`]): at least one on every line holding
    /// a mark word, roughly in order. Give the vector back with
    /// [`Scratch::restore_marks`] to keep its allocation.
    pub fn take_marks(&mut self) -> Vec<usize> {
        std::mem::take(&mut self.marks)
    }

    /// Returns a vector from [`Scratch::take_marks`] for reuse.
    pub fn restore_marks(&mut self, mut marks: Vec<usize>) {
        marks.clear();
        self.marks = marks;
    }

    /// Where the last scan's ranges hold a flag word (see
    /// [`Matcher::with_flags`]): the start of every occurrence lying wholly
    /// in a range, ascending (a start may repeat).
    pub fn flags(&self) -> &[usize] {
        &self.flags
    }

    /// Empties [`Scratch::flags`], as a scan of no ranges would.
    pub fn clear_flags(&mut self) {
        self.flags.clear();
    }
}

impl Matcher {
    /// Builds the keyword automaton for `rules`.
    ///
    /// # Panics
    ///
    /// Panics only if the automaton cannot be built, which for a few thousand
    /// short keywords does not happen.
    pub fn new(rules: Arc<RuleSet>) -> Matcher {
        Matcher::with_filter(rules, |_| true)
    }

    /// Builds a matcher for the rules of `rules` that `keep` accepts. Match rule
    /// indices still index the whole set.
    pub fn with_filter(rules: Arc<RuleSet>, keep: impl Fn(&Rule) -> bool) -> Matcher {
        Matcher::build(rules, keep, &[], |_| false)
    }

    /// Builds a matcher for all of `rules` whose scans also mark where the
    /// `words` (matched in any case) occur: after [`Matcher::scan`],
    /// [`Scratch::take_marks`] holds a place on every line that has one. A
    /// later stage reads only those lines, and no second pass over the
    /// bytes is needed. Matches are the same as [`Matcher::new`]'s.
    pub fn with_marks(rules: Arc<RuleSet>, words: &[&str]) -> Matcher {
        Matcher::build(rules, |_| true, words, |_| false)
    }

    /// [`Matcher::with_filter`] and [`Matcher::with_marks`] at once.
    pub fn with_filter_and_marks(
        rules: Arc<RuleSet>,
        keep: impl Fn(&Rule) -> bool,
        words: &[&str],
    ) -> Matcher {
        Matcher::build(rules, keep, words, |_| false)
    }

    /// [`Matcher::with_filter_and_marks`], whose scans also note where a
    /// keyword of a rule that `flagged` accepts may start: the start of
    /// every occurrence of its first [`KEY_PREFIX`] bytes (all a keyword's
    /// occurrences, and perhaps more). After a scan, [`Scratch::flags`]
    /// holds them. The flag words take no part in finding matches, which
    /// are [`Matcher::with_filter_and_marks`]'s, and cost no pass of their
    /// own: the keyword walk reports every occurrence of every pattern.
    pub fn with_flags(
        rules: Arc<RuleSet>,
        keep: impl Fn(&Rule) -> bool,
        words: &[&str],
        flagged: impl Fn(&Rule) -> bool,
    ) -> Matcher {
        Matcher::build(rules, keep, words, flagged)
    }

    fn build(
        rules: Arc<RuleSet>,
        keep: impl Fn(&Rule) -> bool,
        words: &[&str],
        flagged: impl Fn(&Rule) -> bool,
    ) -> Matcher {
        let Keywords {
            keywords,
            owners,
            always,
        } = Keywords::of(&rules, keep);
        // Rules each keyword triggers: its own, and those of every keyword it
        // contains (which therefore occurs wherever it does). An overlapping
        // search of the keywords in each other finds those in linear time.
        let finder = (!keywords.is_empty()).then(|| {
            AhoCorasick::builder()
                .kind(Some(AhoCorasickKind::NoncontiguousNFA))
                .build(&keywords)
                .expect("keyword finder")
        });
        let rules_within = |text: &[u8]| {
            let mut v: Vec<u32> = Vec::new();
            for m in finder.iter().flat_map(|f| f.find_overlapping_iter(text)) {
                for &r in &owners[m.pattern().as_usize()] {
                    if !v.contains(&r) {
                        v.push(r);
                    }
                }
            }
            v
        };
        let closure: Vec<Vec<u32>> = keywords.iter().map(|kw| rules_within(kw)).collect();
        let (mut patterns, mut pattern_longer) = cut_keywords(&keywords);
        let rule_patterns = patterns.len();
        let mark_words: Vec<Vec<u8>> = words
            .iter()
            .map(|w| w.as_bytes()[..w.len().min(KEY_PREFIX)].to_ascii_lowercase())
            .collect();
        for w in &mark_words {
            if !patterns.contains(w) {
                patterns.push(w.clone());
                pattern_longer.push(Vec::new());
            }
        }
        let parsed = patterns.len();
        let marks = Marks::new(mark_words, &patterns, rule_patterns);
        let mut pattern_rules: Vec<Vec<u32>> = patterns.iter().map(|p| rules_within(p)).collect();
        let mut flag_words = vec![false; parsed];
        for w in cut_keywords(&Keywords::of(&rules, flagged).keywords).0 {
            match patterns.iter().position(|p| *p == w) {
                Some(p) => flag_words[p] = true,
                None => {
                    // Out of the parse: no rules, marks or longer keywords.
                    patterns.push(w);
                    flag_words.push(true);
                    pattern_rules.push(Vec::new());
                }
            }
        }
        let dfa = (!patterns.is_empty()).then(|| KeywordDfa::new(&patterns));
        Matcher {
            rules,
            dfa,
            pattern_rules,
            pattern_longer,
            keywords,
            closure,
            always,
            marks,
            rule_patterns,
            parsed,
            flag_words,
        }
    }

    pub fn rules(&self) -> &Arc<RuleSet> {
        &self.rules
    }

    /// Finds every secret in `hay`.
    ///
    /// Overlapping matches of the same secret by several rules are reported once,
    /// by the most confident rule. Matches are ordered by position.
    ///
    /// # Time complexity
    ///
    /// One linear pass of the keyword automaton, plus, for each rule with a
    /// keyword hit, a regex search over windows of `2 * max_len` bytes around
    /// its hits (merged where they overlap). Rules without keywords search
    /// the whole haystack.
    pub fn scan(&self, hay: &[u8], scratch: &mut Scratch) -> Vec<Match> {
        self.scan_ranges(hay, std::slice::from_ref(&(0..hay.len())), scratch)
    }

    /// Like [`Matcher::scan`], but looks for keywords only in `ranges` (sorted,
    /// disjoint). Regex windows around a keyword still extend into the rest of
    /// `hay`, so a match is found exactly as a full scan finds it as long as one
    /// of its rule's keyword hits lies inside a range. Rules without keywords
    /// still search all of `hay`.
    pub fn scan_ranges(
        &self,
        hay: &[u8],
        ranges: &[Range<usize>],
        scratch: &mut Scratch,
    ) -> Vec<Match> {
        let rules = self.rules.rules();
        scratch.windows.clear();
        scratch.marks.clear();
        scratch.flags.clear();
        for &r in &self.always {
            scratch.windows.push((r, 0, hay.len()));
        }
        if let Some(dfa) = &self.dfa {
            for range in ranges {
                self.find_keywords(dfa, hay, range.clone(), scratch);
            }
        }
        if scratch.windows.is_empty() {
            return Vec::new();
        }
        scratch.windows.sort_unstable();
        if scratch.caches.len() < rules.len() {
            scratch.caches.resize_with(rules.len(), || None);
        }

        let mut found = Vec::new();
        let windows = std::mem::take(&mut scratch.windows);
        let mut i = 0;
        while i < windows.len() {
            let (r, start, mut end) = windows[i];
            i += 1;
            while i < windows.len() && windows[i].0 == r && windows[i].1 <= end {
                end = end.max(windows[i].2);
                i += 1;
            }
            let rule = &rules[r as usize];
            let (cache, caps) = scratch.caches[r as usize].get_or_insert_with(|| {
                let re = &rule.compiled().regex;
                (re.create_cache(), re.create_captures())
            });
            search_window(rule, r as usize, hay, start..end, cache, caps, &mut found);
        }
        scratch.windows = windows;
        dedupe(&mut found, rules);
        found
    }

    /// Adds the windows of the keyword hits in `range` of `hay` to
    /// `scratch`, the places of mark words and the starts of flag words.
    /// The hits are those of a leftmost-longest search, of the patterns
    /// that take part in it, that goes on after each hit at its pattern's
    /// resume offset (see [`Marks`]).
    fn find_keywords(
        &self,
        dfa: &KeywordDfa,
        hay: &[u8],
        range: Range<usize>,
        scratch: &mut Scratch,
    ) {
        let rules = self.rules.rules();
        let mut occurrences = std::mem::take(&mut scratch.occurrences);
        let resume = |p: usize| self.marks.resume[p] as usize;
        let flags = &mut scratch.flags;
        let each = |p: usize, start: usize| {
            if self.flag_words[p] {
                flags.push(start);
            }
            p < self.parsed
        };
        dfa.leftmost_longest(hay, range, &mut occurrences, each, resume, |p, start| {
            let end = start + dfa.pattern_len(p);
            self.marks.record(hay, p, start, &mut scratch.marks);
            add_windows(
                &mut scratch.windows,
                rules,
                &self.pattern_rules[p],
                start,
                end,
                hay.len(),
            );
            for &k in &self.pattern_longer[p] {
                let kw = &self.keywords[k as usize];
                let end = start + kw.len();
                if hay
                    .get(start..end)
                    .is_some_and(|t| t.eq_ignore_ascii_case(kw))
                {
                    add_windows(
                        &mut scratch.windows,
                        rules,
                        &self.closure[k as usize],
                        start,
                        end,
                        hay.len(),
                    );
                }
            }
        });
        scratch.occurrences = occurrences;
    }

    /// Whether any keyword of this matcher's rules occurs in `hay`.
    pub fn has_keyword(&self, hay: &[u8]) -> bool {
        let Some(dfa) = &self.dfa else {
            return false;
        };
        // Mark words are no keywords, unless a keyword lies inside one.
        dfa.any(hay, |p| {
            p < self.rule_patterns || !self.pattern_rules[p].is_empty()
        })
    }

    /// Merges matches from several scans of the same haystack (e.g. by
    /// matchers over different rule subsets), reporting each secret once.
    pub fn combine(&self, mut a: Vec<Match>, b: Vec<Match>) -> Vec<Match> {
        if b.is_empty() {
            return a;
        }
        a.extend(b);
        dedupe(&mut a, self.rules.rules());
        a
    }
}

/// Adds, for each rule in `triggered`, the window of its reach around a
/// keyword hit at `start..end`, extending the rule's latest window when they
/// overlap (hits come in order, so dense hits do not pile up windows).
fn add_windows(
    windows: &mut Vec<(u32, usize, usize)>,
    rules: &[Rule],
    triggered: &[u32],
    start: usize,
    end: usize,
    len: usize,
) {
    for &r in triggered {
        let reach = rules[r as usize].spec.max_len;
        let lo = start.saturating_sub(reach);
        let hi = (end + reach).min(len);
        if let Some(last) = windows.iter_mut().rev().take(8).find(|w| w.0 == r) {
            if lo <= last.2 {
                last.2 = last.2.max(hi);
                continue;
            }
        }
        windows.push((r, lo, hi));
    }
}

fn search_window(
    rule: &Rule,
    index: usize,
    hay: &[u8],
    window: Range<usize>,
    cache: &mut meta::Cache,
    caps: &mut Captures,
    out: &mut Vec<Match>,
) {
    let compiled = rule.compiled();
    let re = &compiled.regex;
    let mut pos = window.start;
    while pos <= window.end {
        let input = Input::new(hay).span(pos..window.end);
        re.search_captures_with(cache, &input, caps);
        let Some(whole) = caps.get_match() else { break };
        pos = if whole.end() > whole.start() {
            whole.end()
        } else {
            whole.end() + 1
        };
        let secret = if compiled.first_nonempty {
            (1..caps.group_len())
                .filter_map(|g| caps.get_group(g))
                .find(|s| !s.is_empty())
                .unwrap_or(whole.span())
        } else {
            match caps.get_group(compiled.secret_group) {
                Some(s) => s,
                None => continue,
            }
        };
        let value = &hay[secret.range()];
        let Some(h) = passes_filters(rule, value) else {
            continue;
        };
        let Some(parts) = parts_of(rule, hay, caps, whole.range()) else {
            continue;
        };
        out.push(Match {
            rule: index,
            secret: secret.range(),
            whole: whole.range(),
            parts,
            entropy: h,
        });
    }
}

/// The value's entropy when it passes the rule's filters (not empty, not a
/// placeholder, entropy, character classes, rejected words); `None` if not.
fn passes_filters(rule: &Rule, value: &[u8]) -> Option<f64> {
    if value.is_empty() || is_placeholder(value) {
        return None;
    }
    let h = entropy(value);
    if rule.spec.min_entropy.is_some_and(|min| h < min)
        || !has_classes(value, &rule.spec.must_contain)
    {
        return None;
    }
    let rejected = rule
        .spec
        .reject_if_contains
        .iter()
        .any(|w| contains_ignore_case(value, w.as_bytes()));
    (!rejected).then_some(h)
}

/// The named groups of a match and the companions found near it; `None`
/// when a required companion is missing.
fn parts_of(
    rule: &Rule,
    hay: &[u8],
    caps: &Captures,
    whole: Range<usize>,
) -> Option<Vec<(String, String)>> {
    let text = |r: Range<usize>| String::from_utf8_lossy(&hay[r]).into_owned();
    let mut parts: Vec<(String, String)> = rule
        .compiled()
        .named
        .iter()
        .filter_map(|(g, name)| caps.get_group(*g).map(|s| (name.clone(), text(s.range()))))
        .collect();
    for (spec, re) in rule.spec.companions.iter().zip(rule.companions()) {
        let around = lines_around(hay, whole.clone(), spec.within_lines);
        let mut ccaps = re.create_captures();
        re.search_captures(&Input::new(hay).span(around), &mut ccaps);
        match ccaps.get_group(1) {
            Some(s) => parts.push((spec.name.clone(), text(s.range()))),
            None if spec.required => return None,
            None => {}
        }
    }
    Some(parts)
}

/// Whether `hay` contains `needle`, ASCII case ignored.
fn contains_ignore_case(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || hay
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

/// The span of `n` whole lines above and below `span`.
fn lines_around(hay: &[u8], span: Range<usize>, n: usize) -> Range<usize> {
    let mut start = span.start;
    for _ in 0..=n {
        match memchr::memrchr(b'\n', &hay[..start]) {
            Some(p) => start = p,
            None => {
                start = 0;
                break;
            }
        }
    }
    let mut end = span.end;
    for _ in 0..=n {
        match memchr::memchr(b'\n', &hay[end..]) {
            Some(p) => end += p + 1,
            None => {
                end = hay.len();
                break;
            }
        }
    }
    start..end.min(hay.len())
}

/// Reports each secret once: among matches whose secrets overlap, the most
/// confident rule wins, then the longer secret, then the longer whole match (a
/// rule that also matched its context is more specific), then the earlier rule.
fn dedupe(found: &mut Vec<Match>, rules: &[Rule]) {
    if found.len() < 2 {
        return;
    }
    let rank = |m: &Match| {
        let c: Confidence = rules[m.rule].spec.confidence;
        (
            std::cmp::Reverse(c),
            std::cmp::Reverse(m.secret.len()),
            std::cmp::Reverse(m.whole.len()),
            m.rule,
        )
    };
    found.sort_by(|a, b| {
        a.secret
            .start
            .cmp(&b.secret.start)
            .then(rank(a).cmp(&rank(b)))
    });
    let mut kept: Vec<Match> = Vec::with_capacity(found.len());
    for m in found.drain(..) {
        // Kept spans are disjoint and sorted, so only the last can overlap `m`.
        if let Some(k) = kept.last_mut() {
            if k.secret.end > m.secret.start {
                if rank(&m) < rank(k) {
                    *k = m;
                }
                continue;
            }
        }
        kept.push(m);
    }
    kept.sort_by_key(|m| (m.secret.start, m.rule));
    *found = kept;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(yaml: &str) -> Arc<RuleSet> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.yml");
        std::fs::write(&p, yaml).unwrap();
        let mut s = RuleSet::default();
        s.load_path(&p).unwrap();
        Arc::new(s)
    }

    const TWO: &str = r#"
rules:
  - id: short
    name: Short
    keywords: [tok_]
    pattern: '\b(tok_[a-zA-Z0-9]{16})\b'
    confidence: medium
  - id: long
    name: Long
    keywords: [tok_live_]
    pattern: '\b(tok_live_[a-zA-Z0-9]{11})\b'
    confidence: high
"#;

    #[test]
    fn keyword_containment_triggers_shorter_rules() {
        let m = Matcher::new(set(TWO));
        let hay = b"x = tok_live_Ab3dE6gH9jK and tok_Zq8Wn4Rt2Yp6Lm0V";
        let found = m.scan(hay, &mut Scratch::default());
        assert_eq!(found.len(), 2, "{found:?}");
        // The same 20 bytes match both rules: reported once, by the confident rule.
        assert_eq!(m.rules().rules()[found[0].rule].id(), "long");
        assert_eq!(&hay[found[1].secret.clone()], b"tok_Zq8Wn4Rt2Yp6Lm0V");
    }

    #[test]
    fn long_keywords_are_confirmed_past_the_automaton_prefix() {
        let rules = set(r#"
rules:
  - id: long-kw
    name: Long keyword
    keywords: [acme_service_key]
    pattern: '=\s*([a-z0-9]{12})\b'
    max_len: 64
  - id: short-kw
    name: Short keyword in the long one's prefix
    keywords: [acme_s]
    pattern: 'acme_s([A-Z]{12})\b'
"#);
        let m = Matcher::new(rules);
        let mut scratch = Scratch::default();
        // Same first 8 bytes, different rest: the long keyword is absent.
        assert!(m
            .scan(b"acme_servicX_key = q8wn4rt2yp6l", &mut scratch)
            .is_empty());
        let found = m.scan(b"ACME_SERVICE_KEY = q8wn4rt2yp6l", &mut scratch);
        assert_eq!(found.len(), 1);
        assert_eq!(m.rules().rules()[found[0].rule].id(), "long-kw");
        // A shorter keyword inside the cut prefix still triggers its rule.
        let found = m.scan(b"acme_sQWERTZUIOPAS", &mut scratch);
        assert_eq!(found.len(), 1);
        assert_eq!(m.rules().rules()[found[0].rule].id(), "short-kw");
    }

    #[test]
    fn reject_if_contains_ignores_case() {
        let rules = set(r#"
rules:
  - id: assign
    name: Assignment
    keywords: [secret]
    pattern: 'secret\s*=\s*"([^"]{8,64})"'
    reject_if_contains: [password]
"#);
        let m = Matcher::new(rules);
        let mut scratch = Scratch::default();
        assert!(m
            .scan(br#"secret = "myPassWord123""#, &mut scratch)
            .is_empty());
        assert_eq!(m.scan(br#"secret = "q8Wn4Rt2Yp6L""#, &mut scratch).len(), 1);
    }

    #[test]
    fn window_boundary_respects_word_boundary() {
        let m = Matcher::new(set(TWO));
        // 17 characters after the prefix: the \b must see past any window edge.
        let hay = b"tok_Zq8Wn4Rt2Yp6Lm0VX";
        assert!(m.scan(hay, &mut Scratch::default()).is_empty());
    }

    #[test]
    fn companions_and_required() {
        let rules = set(r#"
rules:
  - id: pair
    name: Pair
    keywords: [secret_key]
    pattern: 'secret_key\s*=\s*"([A-Za-z0-9]{20})"'
    companions:
      - name: key_id
        pattern: '\b(KID[0-9]{6})\b'
        within_lines: 2
        required: true
"#);
        let m = Matcher::new(rules);
        let with = b"id = KID123456\nsecret_key = \"q8Wn4Rt2Yp6Lm0VzX3c7\"\n";
        let found = m.scan(with, &mut Scratch::default());
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].parts,
            vec![("key_id".to_string(), "KID123456".to_string())]
        );
        let far = b"id = KID123456\n\n\n\n\nsecret_key = \"q8Wn4Rt2Yp6Lm0VzX3c7\"\n";
        assert!(m.scan(far, &mut Scratch::default()).is_empty());
    }

    /// Marks: every line holding a mark word has one, no other line has
    /// one, and matches are those of a matcher without marks, also where a
    /// word hides inside a keyword (`api_key`), a keyword starts inside a
    /// word (`key` then `eyJ`) or two words overlap (`secretoken`).
    #[test]
    fn marks_cover_word_lines_and_leave_matches_alone() {
        let rules = set(r#"
rules:
  - id: jwt
    name: JWT
    keywords: [eyJ]
    pattern: '\b(eyJ[A-Za-z0-9_-]{10,})'
  - id: api
    name: API key
    keywords: [api_key]
    pattern: 'api_key\s*=\s*([a-z0-9]{12})\b'
"#);
        let words = ["key", "token", "secret", "-----begin", "://"];
        let plain = Matcher::new(rules.clone());
        let marked = Matcher::with_marks(rules, &words);
        let lines = [
            "monkeyJhbGciOiJIUzI1NiJ9",
            "api_key = q8wn4rt2yp6l",
            "API_KEY=q8wn4rt2yp6l",
            "secretoken = x",
            "SECRETKEY",
            "nothing here",
            "url = https://a:b@c",
            "-----BEGIN RSA PRIVATE KEY-----",
            "eyJhbGciOiJIUzI1NiJ9 token",
            "kekey keKEY",
        ];
        let hay = lines.join("\n");
        let mut a = Scratch::default();
        let mut b = Scratch::default();
        assert_eq!(
            plain.scan(hay.as_bytes(), &mut a),
            marked.scan(hay.as_bytes(), &mut b)
        );
        assert!(a.take_marks().is_empty());
        let marks = b.take_marks();
        let mut start = 0;
        for line in lines {
            let end = start + line.len();
            let has_word = words.iter().any(|w| {
                line.to_ascii_lowercase()
                    .contains(&w[..w.len().min(KEY_PREFIX)])
            });
            let marked_here = marks.iter().any(|&m| (start..end).contains(&m));
            assert_eq!(has_word, marked_here, "{line:?}: {marks:?}");
            start = end + 1;
        }
        // A mark word is no rule keyword.
        assert!(!marked.has_keyword(b"my token"));
        assert!(marked.has_keyword(b"monkeyJ"));
    }

    #[test]
    fn lines_around_clamps() {
        let hay = b"a\nb\nc\nd\ne";
        assert_eq!(lines_around(hay, 4..5, 1), 1..8);
        assert_eq!(lines_around(hay, 0..1, 3), 0..8);
        assert_eq!(lines_around(hay, 0..1, 9), 0..hay.len());
    }
}
