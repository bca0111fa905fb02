//! The generic detector: credentials without a recognisable prefix.
//!
//! Passwords, keys and tokens of no particular shape are found by where they
//! sit, not by what they look like. Two stages:
//!
//! 1. [`candidate`] proposes name/value pairs (assignments, keyword
//!    arguments, dict/map literals, calls, CLI flags, config keys, split
//!    name/value keys, connection strings, URLs with a password,
//!    `Authorization` headers, PEM keys in string literals, AWS key ids);
//! 2. a small boosted-tree model ([`model`], trained offline by
//!    `tools/generic-model/train.py` from [`features`]) scores each one
//!    between 0 and 1.
//!
//! [`detect`] returns the scored candidates; [`Level::of`] maps a score to a
//! confidence with the documented thresholds [`LOW`], [`MEDIUM`], [`HIGH`].
//! The module reads bytes and an optional path, and knows nothing of
//! findings, rules or reports.
//!
//! # Cost
//!
//! Linear in the input: one keyword-automaton pass (none in a scan, where
//! the matcher's keyword pass marks the lines: [`detect_marked`]), then
//! bounded work per selected line (see [`candidate`]), and per candidate a
//! feature vector (linear in the value) and one walk down each tree.

pub mod candidate;
pub mod features;
#[rustfmt::skip]
mod model;
pub mod value;

#[cfg(test)]
mod tests;

use std::ops::Range;
use std::path::Path;

pub use candidate::{Candidate, Form, Skipped};
pub use features::FileContext;

/// Scores at or above this are reported at low confidence. Chosen on
/// repository-grouped cross-validation of the train half of CredData for a
/// line-level precision of at least 0.90 (see `BENCHMARKS.md`).
pub const LOW: f32 = 0.6;
/// Scores at or above this are reported at medium confidence.
pub const MEDIUM: f32 = 0.8;
/// Scores at or above this are reported at high confidence.
pub const HIGH: f32 = 0.95;

/// A confidence level from a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Low,
    Medium,
    High,
}

impl Level {
    /// The level of `score`, or `None` below [`LOW`].
    pub fn of(score: f32) -> Option<Level> {
        if score >= HIGH {
            Some(Level::High)
        } else if score >= MEDIUM {
            Some(Level::Medium)
        } else if score >= LOW {
            Some(Level::Low)
        } else {
            None
        }
    }
}

/// What kind of credential a candidate would be, from its name and form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    Password,
    Secret,
    Token,
    Key,
    Auth,
    Credential,
    UrlCredentials,
    PrivateKey,
    AwsKeyId,
}

impl Category {
    /// All categories.
    pub const ALL: [Category; 9] = [
        Category::Password,
        Category::Secret,
        Category::Token,
        Category::Key,
        Category::Auth,
        Category::Credential,
        Category::UrlCredentials,
        Category::PrivateKey,
        Category::AwsKeyId,
    ];

    /// Kebab-case name, used in rule ids (`generic-password`).
    pub fn name(self) -> &'static str {
        match self {
            Category::Password => "password",
            Category::Secret => "secret",
            Category::Token => "token",
            Category::Key => "key",
            Category::Auth => "auth",
            Category::Credential => "credential",
            Category::UrlCredentials => "url-password",
            Category::PrivateKey => "private-key",
            Category::AwsKeyId => "aws-key-id",
        }
    }

    fn of(form: Form, name: &[u8]) -> Category {
        match form {
            Form::Url => return Category::UrlCredentials,
            Form::Pem => return Category::PrivateKey,
            Form::AwsKeyId => return Category::AwsKeyId,
            Form::Header => return Category::Auth,
            _ => {}
        }
        use features::group;
        let g = features::name_groups(name);
        if g & group::PASS != 0 {
            Category::Password
        } else if g & group::SECRET != 0 {
            Category::Secret
        } else if g & group::TOKEN != 0 {
            Category::Token
        } else if g & group::KEY != 0 {
            Category::Key
        } else if g & group::AUTH != 0 {
            Category::Auth
        } else {
            Category::Credential
        }
    }
}

/// A candidate with its category and score.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    pub candidate: Candidate,
    pub category: Category,
    /// The model's probability that the value is a credential, 0 to 1.
    pub score: f32,
    /// Whether the value sits where fake credentials are the rule rather
    /// than the exception: a test, example or documentation path, a
    /// comment, or code after a unit-test marker (`#[cfg(test)]`,
    /// `func Test`, `def test_`, `@Test`). Such values are reported at low
    /// confidence at most, so `--min-confidence medium` stays quiet on
    /// ordinary code.
    pub quiet: bool,
}

impl Scored {
    /// The value's bytes in the input.
    pub fn value(&self) -> Range<usize> {
        self.candidate.value.clone()
    }

    /// The confidence to report this candidate at, or `None` when it is not
    /// to be reported: [`Level::of`] its score, except that an AWS access key
    /// id on its own is at most [`Level::Low`] (evidence of a key pair in
    /// use, not the secret), and a value public by design (Stripe `pk_`,
    /// Mapbox `pk.`, OAuth client ids, Supabase `anon` and jwt.io sample
    /// JWTs) is never reported.
    ///
    /// Nor is an unquoted value that is code ([`value::is_code_value`]:
    /// `1073741837i32`, `Cwd::getcwd()`).
    ///
    /// Documentation shapes are not reported either: a value cut short with
    /// `...`, and `Basic` credentials that decode to a placeholder
    /// (`user:password`, `admin:admin`). A comparison (`token == "…"`) is
    /// test code, and a name that calls its value public
    /// (`FLW_PUBLIC_KEY`) is probably right: both are low at most.
    pub fn level(&self, text: &[u8]) -> Option<Level> {
        let v = &text[self.value()];
        if value::is_public_by_design(v) || memchr::memmem::find(v, b"...").is_some() {
            return None;
        }
        if self.candidate.quote == 0 && value::is_code_value(v) {
            return None;
        }
        if let Some(scheme) = &self.candidate.auth_scheme {
            if text[scheme.clone()].eq_ignore_ascii_case(b"basic") && basic_is_placeholder(v) {
                return None;
            }
        }
        let level = Level::of(self.score)?;
        Some(match self.candidate.form {
            Form::AwsKeyId | Form::Compare => Level::Low,
            _ if self.quiet => Level::Low,
            _ if value::is_public_name(&text[self.candidate.name.clone()]) => Level::Low,
            _ => level,
        })
    }
}

/// Whether `Basic` credentials decode to `user:password` with a password
/// from the documentation (`password`, `admin`, `open sesame`) or too short
/// to be one.
fn basic_is_placeholder(v: &[u8]) -> bool {
    use base64::Engine as _;
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(v) else {
        return false;
    };
    let Some(colon) = memchr::memchr(b':', &decoded) else {
        return false;
    };
    let (user, pass) = (&decoded[..colon], &decoded[colon + 1..]);
    pass.len() < 6
        || value::is_placeholder(pass)
        || pass.eq_ignore_ascii_case(user)
        || pass.eq_ignore_ascii_case(b"open sesame")
}

/// The scored candidates of one input, and what was skipped.
#[derive(Debug, Clone, Default)]
pub struct Detection {
    /// One per value span, the best-scored reading of it, in input order.
    pub found: Vec<Scored>,
    pub skipped: Skipped,
}

/// Finds and scores the candidates in `text`, read as a file at `path`.
///
/// # Time complexity
///
/// Linear in `text.len()` (see the module's "Cost").
pub fn detect(text: &[u8], path: Option<&Path>) -> Detection {
    let (cands, skipped) = candidate::candidates(text);
    score_all(text, path, cands, skipped)
}

/// Like [`detect`], proposing only the candidates that can overlap one of
/// `ranges` (sorted, disjoint; see [`candidate::candidates_within`]).
pub fn detect_within(text: &[u8], path: Option<&Path>, ranges: &[Range<usize>]) -> Detection {
    let (cands, skipped) = candidate::candidates_within(text, ranges);
    score_all(text, path, cands, skipped)
}

/// Like [`detect`], with the places of the line keywords already found
/// ([`candidate::candidates_marked`]): the matcher's keyword pass finds
/// them, so the text is not searched twice.
pub fn detect_marked(text: &[u8], path: Option<&Path>, marks: &[usize]) -> Detection {
    let (cands, skipped) = candidate::candidates_marked(text, marks);
    score_all(text, path, cands, skipped)
}

/// Which lines of a text a detection proposes candidates on.
#[derive(Debug, Clone, Copy)]
pub enum Lines<'a> {
    /// Every line ([`detect`]).
    All,
    /// The lines of these keyword places ([`detect_marked`]).
    Marked(&'a [usize]),
    /// The lines that can overlap these ranges ([`detect_within`]).
    Within(&'a [Range<usize>]),
}

/// Like [`detect`], [`detect_marked`] or [`detect_within`] (by `lines`),
/// keeping only the candidates whose score reaches [`LOW`], with the same
/// scores: what a scan reports. A candidate is dropped as soon as the trees
/// left cannot lift it to [`LOW`] (most candidates are far below it), so
/// most are scored with a fraction of the trees; a span whose best reading
/// is below [`LOW`] is absent instead of present with that reading.
pub fn detect_reportable(text: &[u8], path: Option<&Path>, lines: Lines<'_>) -> Detection {
    let (cands, skipped) = match lines {
        Lines::All => candidate::candidates(text),
        Lines::Marked(marks) => candidate::candidates_marked(text, marks),
        Lines::Within(ranges) => candidate::candidates_within(text, ranges),
    };
    score_all_with(text, path, cands, skipped, true)
}

/// Scores the candidates of `text`, one per value span.
fn score_all(
    text: &[u8],
    path: Option<&Path>,
    cands: Vec<Candidate>,
    skipped: Skipped,
) -> Detection {
    score_all_with(text, path, cands, skipped, false)
}

/// [`score_all`]; with `reportable`, candidates below [`LOW`] are dropped
/// (see [`detect_reportable`]).
fn score_all_with(
    text: &[u8],
    path: Option<&Path>,
    cands: Vec<Candidate>,
    skipped: Skipped,
    reportable: bool,
) -> Detection {
    if cands.is_empty() {
        return Detection {
            found: Vec::new(),
            skipped,
        };
    }
    let file = FileContext::from_path(path);
    let mut found: Vec<Scored> = Vec::with_capacity(cands.len());
    let last = cands.iter().map(|c| c.value.start).max().unwrap_or(0);
    let tests_from = test_code_start(text, last);
    let quiet_file = features::is_quiet_path(path);
    let mut facts = LineCache::default();
    let mut xs = Vec::with_capacity(cands.len());
    let mut quiet = Vec::with_capacity(cands.len());
    for c in &cands {
        xs.push(features::features(text, c, &file, facts.get(text, &c.line)));
        quiet.push(quiet_file || c.value.start >= tests_from || facts.last.1.comment);
    }
    let scores = score_each(&xs, reportable);
    for ((c, score), quiet) in cands.into_iter().zip(scores).zip(quiet) {
        let Some(score) = score else {
            continue;
        };
        let category = Category::of(c.form, &text[c.name.clone()]);
        found.push(Scored {
            candidate: c,
            category,
            score,
            quiet,
        });
    }
    found.sort_by(|a, b| {
        (a.candidate.value.start, a.candidate.value.end)
            .cmp(&(b.candidate.value.start, b.candidate.value.end))
            .then(b.score.total_cmp(&a.score))
    });
    found.dedup_by(|b, a| a.candidate.value == b.candidate.value);
    Detection { found, skipped }
}

/// The facts of the last line asked for: candidates come line by line.
#[derive(Default)]
struct LineCache {
    last: (Option<usize>, features::LineFacts),
}

impl LineCache {
    fn get(&mut self, text: &[u8], line: &Range<usize>) -> &features::LineFacts {
        if self.last.0 != Some(line.start) {
            self.last = (
                Some(line.start),
                features::LineFacts::of(&text[line.clone()]),
            );
        }
        &self.last.1
    }
}

/// Where unit tests start in a source file: the first `#[cfg(test)]`,
/// `#[test]`, `func Test`, `def test_` or `@Test`; the end when none
/// starts at or before `upto` (the last candidate: what lies after it
/// changes nothing).
fn test_code_start(text: &[u8], upto: usize) -> usize {
    static AC: std::sync::OnceLock<aho_corasick::AhoCorasick> = std::sync::OnceLock::new();
    let markers = AC.get_or_init(|| {
        aho_corasick::AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostFirst)
            .build(["#[cfg(test)]", "#[test]", "func Test", "def test_", "@Test"])
            .expect("test markers")
    });
    // Markers are at most 12 bytes: one starting at `upto` ends before this.
    let end = text.len().min(upto.saturating_add(16));
    markers.find(&text[..end]).map_or(text.len(), |m| m.start())
}

/// Each candidate of `text` with its feature vector, for training.
pub fn feature_rows(text: &[u8], path: Option<&Path>) -> Vec<(Scored, [f32; features::COUNT])> {
    let file = FileContext::from_path(path);
    let (cands, _) = candidate::candidates(text);
    let mut facts = LineCache::default();
    cands
        .into_iter()
        .map(|c| {
            let x = features::features(text, &c, &file, facts.get(text, &c.line));
            let category = Category::of(c.form, &text[c.name.clone()]);
            let s = Scored {
                score: score(&x),
                candidate: c,
                category,
                quiet: false,
            };
            (s, x)
        })
        .collect()
}

/// The model's score for a feature vector: the logistic of the trees' sum.
/// Deterministic: the same vector gives the same score on every platform
/// (f32 sums in a fixed order).
pub fn score(x: &[f32; features::COUNT]) -> f32 {
    if model::FEATURES != features::COUNT {
        // A model trained on other features would read the wrong columns.
        return 0.0;
    }
    let mut sum = model::BASE;
    for &root in model::ROOTS.iter() {
        let mut i = root as usize;
        loop {
            let (f, t, l, r, v) = model::NODES[i];
            if f < 0 {
                sum += v;
                break;
            }
            i = if x[f as usize] <= t {
                l as usize
            } else {
                r as usize
            };
        }
    }
    1.0 / (1.0 + (-sum).exp())
}

/// Vectors [`score_each`] walks down each tree at once: the walks are
/// chains of dependent loads, and four independent chains overlap.
const LANES: usize = 4;

/// [`score`] of each vector, to the bit (each lane's f32 sum runs over the
/// trees in the same order). With `low_only`, `None` for each score below
/// [`LOW`]; a group of vectors stops early once the trees left cannot lift
/// any of them to [`LOW`]'s log-odds even at their largest leaves.
fn score_each(xs: &[[f32; features::COUNT]], low_only: bool) -> Vec<Option<f32>> {
    if model::FEATURES != features::COUNT {
        // A model trained on other features would read the wrong columns.
        return xs.iter().map(|_| (!low_only).then_some(0.0)).collect();
    }
    let bound = TreeBound::get();
    let mut out = Vec::with_capacity(xs.len());
    for group in xs.chunks(LANES) {
        // A short last group repeats its last vector.
        let lane: [&[f32; features::COUNT]; LANES] =
            std::array::from_fn(|j| &group[j.min(group.len() - 1)]);
        let mut sum = [model::BASE; LANES];
        let mut out_of_reach = false;
        for (k, &root) in model::ROOTS.iter().enumerate() {
            if low_only
                && sum
                    .iter()
                    .all(|&s| f64::from(s) + bound.rest[k] < bound.cut)
            {
                out_of_reach = true;
                break;
            }
            let mut at = [root as usize; LANES];
            loop {
                let mut leaves = 0;
                for j in 0..LANES {
                    let (f, t, l, r, _) = model::NODES[at[j]];
                    if f < 0 {
                        leaves += 1;
                    } else {
                        at[j] = if lane[j][f as usize] <= t {
                            l as usize
                        } else {
                            r as usize
                        };
                    }
                }
                if leaves == LANES {
                    break;
                }
            }
            for j in 0..LANES {
                sum[j] += model::NODES[at[j]].4;
            }
        }
        for &s in &sum[..group.len()] {
            let score = 1.0 / (1.0 + (-s).exp());
            out.push((!out_of_reach && (!low_only || score >= LOW)).then_some(score));
        }
    }
    out
}

/// The largest leaf value of the tree rooted at node `root`.
fn largest_leaf(root: usize) -> f64 {
    let mut top = f64::NEG_INFINITY;
    let mut stack = vec![root];
    while let Some(i) = stack.pop() {
        let (f, _, l, r, v) = model::NODES[i];
        if f < 0 {
            top = top.max(f64::from(v));
        } else {
            stack.extend([l as usize, r as usize]);
        }
    }
    top
}

/// What the trees still to walk can add at most, for [`score_each`].
struct TreeBound {
    /// `rest[k]`: the sum of the largest leaf of each tree from `k` on.
    rest: Vec<f64>,
    /// Below this partial-sum bound a candidate cannot reach [`LOW`]: its
    /// log-odds, less a margin far wider than the rounding of 150 f32
    /// additions and of the logistic (both below 1e-3 here).
    cut: f64,
}

impl TreeBound {
    fn get() -> &'static TreeBound {
        static BOUND: std::sync::OnceLock<TreeBound> = std::sync::OnceLock::new();
        BOUND.get_or_init(|| {
            let n = model::ROOTS.len();
            let mut rest = vec![0.0; n + 1];
            for k in (0..n).rev() {
                rest[k] = rest[k + 1] + largest_leaf(model::ROOTS[k] as usize);
            }
            let low = f64::from(LOW);
            TreeBound {
                rest,
                cut: (low / (1.0 - low)).ln() - 0.01,
            }
        })
    }
}
