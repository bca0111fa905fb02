//! Keywords derived from a regex, for rules that come without any (gitleaks
//! rules may omit `keywords`; the prefilter needs them to stay fast).

use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::{self, Class, Hir, HirKind};

/// Shortest keyword worth deriving: one byte would wake the rule everywhere.
const MIN_KEYWORD_LEN: usize = 2;
/// More alternatives than this make a poor prefilter; the rule is better off
/// without one.
const MAX_KEYWORDS: usize = 64;

fn parse(pattern: &str) -> Option<Hir> {
    // The same dialect as `build_regex`: ASCII classes, byte-oriented.
    regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(pattern)
        .ok()
}

/// Literal strings of which every match of `pattern` contains one (compared
/// ASCII case-insensitively, as the prefilter does), or `None` when no such
/// set of useful keywords exists.
///
/// The set is sound: it comes from the prefix (or suffix) literals of the
/// pattern or of a part that every match must contain, computed on a
/// lowercased copy of the pattern so that `(?i)password` yields `password`
/// rather than 256 case variants.
///
/// ```
/// use keysweep::rules::literals::derive_keywords;
/// assert_eq!(derive_keywords(r"\b(ghp_[A-Za-z0-9]{36})\b"), Some(vec!["ghp_".to_string()]));
/// // A literal in the middle of the pattern serves as well as a prefix.
/// assert_eq!(
///     derive_keywords(r"[a-z]{3,8}://[^:/]+:([^@]{8,})@"),
///     Some(vec!["://".to_string()])
/// );
/// assert_eq!(derive_keywords(r"[a-f0-9]{32}"), None);
/// ```
pub fn derive_keywords(pattern: &str) -> Option<Vec<String>> {
    let hir = lowercase(&parse(pattern)?);
    let mut seqs = Vec::new();
    candidates(&hir, &mut seqs);
    seqs.into_iter()
        .filter_map(|mut set| {
            set.sort();
            set.dedup();
            let ok = !set.is_empty()
                && set.len() <= MAX_KEYWORDS
                && set.iter().all(|k| k.len() >= MIN_KEYWORD_LEN);
            ok.then_some(set)
        })
        // Longest shortest keyword first, then fewer keywords.
        .max_by_key(|set| {
            let min = set.iter().map(String::len).min().unwrap_or(0);
            (min.min(12), std::cmp::Reverse(set.len()))
        })
}

/// The longest text `pattern` can match, if bounded.
pub fn max_match_len(pattern: &str) -> Option<usize> {
    parse(pattern)?.properties().maximum_len()
}

/// Pushes literal sets each of which every match of `h` contains one of.
fn candidates(h: &Hir, out: &mut Vec<Vec<String>>) {
    for kind in [ExtractKind::Prefix, ExtractKind::Suffix] {
        if let Some(set) = extract(h, kind) {
            out.push(set);
        }
    }
    match h.kind() {
        // Every part of a concatenation occurs in every match.
        HirKind::Concat(subs) => {
            for sub in subs {
                candidates(sub, out);
            }
        }
        HirKind::Capture(c) => candidates(&c.sub, out),
        HirKind::Repetition(r) if r.min >= 1 => candidates(&r.sub, out),
        _ => {}
    }
}

fn extract(h: &Hir, kind: ExtractKind) -> Option<Vec<String>> {
    let prefix = matches!(kind, ExtractKind::Prefix);
    let mut ex = Extractor::new();
    ex.kind(kind);
    let mut seq = ex.extract(h);
    // Trims case and class expansions (`bearer\t`, `bearer `, ...) to their
    // shared part; still a prefix (suffix) of every match.
    if prefix {
        seq.optimize_for_prefix_by_preference();
    } else {
        seq.optimize_for_suffix_by_preference();
    }
    let lits = seq.literals()?;
    lits.iter()
        .map(|l| String::from_utf8(l.as_bytes().to_vec()).ok())
        .collect()
}

/// A copy of `h` that matches the ASCII-lowercased text of whatever `h`
/// matches, so its literals are lowercase and case variants collapse.
fn lowercase(h: &Hir) -> Hir {
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => h.clone(),
        HirKind::Literal(l) => Hir::literal(l.0.to_ascii_lowercase()),
        HirKind::Class(Class::Bytes(c)) => {
            let mut set = [false; 256];
            for r in c.iter() {
                for b in r.start()..=r.end() {
                    set[b.to_ascii_lowercase() as usize] = true;
                }
            }
            let ranges = (0..=255u8)
                .filter(|&b| set[b as usize])
                .map(|b| hir::ClassBytesRange::new(b, b));
            Hir::class(Class::Bytes(hir::ClassBytes::new(ranges)))
        }
        HirKind::Class(Class::Unicode(c)) => {
            let mut ranges = Vec::new();
            for r in c.iter() {
                let (s, e) = (r.start(), r.end());
                if s <= '\x7f' {
                    for b in (s as u8)..=(e.min('\x7f') as u8) {
                        let l = b.to_ascii_lowercase() as char;
                        ranges.push(hir::ClassUnicodeRange::new(l, l));
                    }
                }
                if e > '\x7f' {
                    ranges.push(hir::ClassUnicodeRange::new(s.max('\u{80}'), e));
                }
            }
            Hir::class(Class::Unicode(hir::ClassUnicode::new(ranges)))
        }
        HirKind::Repetition(r) => Hir::repetition(hir::Repetition {
            min: r.min,
            max: r.max,
            greedy: r.greedy,
            sub: Box::new(lowercase(&r.sub)),
        }),
        HirKind::Capture(c) => Hir::capture(hir::Capture {
            index: c.index,
            name: c.name.clone(),
            sub: Box::new(lowercase(&c.sub)),
        }),
        HirKind::Concat(subs) => Hir::concat(subs.iter().map(lowercase).collect()),
        HirKind::Alternation(subs) => Hir::alternation(subs.iter().map(lowercase).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kw(p: &str) -> Option<Vec<String>> {
        derive_keywords(p)
    }

    #[test]
    fn prefixes_inner_literals_and_alternations() {
        assert_eq!(kw(r"(?i)Bearer\s+([a-z0-9]{40})").unwrap(), ["bearer"]);
        assert_eq!(
            kw(r"\b((?:xoxb|xoxp)-[0-9]{10}-[a-zA-Z0-9]{24})").unwrap(),
            ["xoxb", "xoxp"]
        );
        // The literal is in the middle: found through the concatenation.
        assert_eq!(kw(r"[a-z]{3,8}://[^:]+:([^@]{8,})@").unwrap(), ["://"]);
        // Optional parts cannot serve as keywords.
        assert_eq!(kw(r"(?:tok_)?[A-Z0-9]{20}"), None);
        assert_eq!(kw(r".{20}"), None);
    }

    #[test]
    fn derived_keywords_are_sound() {
        // Every match contains one of the keywords (case-insensitively).
        let pattern = r"(?i)(?:aws|amazon)[_-]?(?:secret|key)\s*[:=]\s*([A-Za-z0-9/+]{40})";
        let keywords = kw(pattern).unwrap();
        let re = crate::rules::build_regex(pattern).unwrap();
        for text in [
            "AWS_SECRET = abcdABCD1234abcdABCD1234abcdABCD1234abcd",
            "amazon-key: abcdABCD1234abcdABCD1234abcdABCD1234abcd",
        ] {
            assert!(re.is_match(text.as_bytes()));
            let lower = text.to_ascii_lowercase();
            assert!(
                keywords.iter().any(|k| lower.contains(k.as_str())),
                "{keywords:?}"
            );
        }
    }

    #[test]
    fn max_len() {
        assert_eq!(max_match_len(r"ghp_[a-z]{36}"), Some(40));
        assert_eq!(max_match_len(r"key=.+"), None);
    }
}
