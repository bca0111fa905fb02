//! Inline allow comments: a marker on a finding's line (or the line before)
//! accepts it where it is, reviewed with the code.
//!
//! | marker                              | where           | from           |
//! |-------------------------------------|-----------------|----------------|
//! | `keysweep:allow`                    | the line        | keysweep       |
//! | `keysweep:allow-next-line`          | the line before | keysweep       |
//! | `gitleaks:allow`                    | the line        | gitleaks       |
//! | `pragma: allowlist secret`          | the line        | detect-secrets |
//! | `pragma: allowlist nextline secret` | the line before | detect-secrets |
//!
//! "The line" is every line the rule's match spans, so a marker after a
//! multi-line value (a PEM block's last line) counts.

use std::ops::Range;

use memchr::memmem;

const ALLOW: &[u8] = b"keysweep:allow";
const NEXT_LINE_SUFFIX: &[u8] = b"-next-line";

/// Markers honoured on the lines of the match, with their description.
const SAME_LINE: &[(&[u8], &str)] = &[
    (b"gitleaks:allow", "`gitleaks:allow` on the line"),
    (
        b"pragma: allowlist secret",
        "`pragma: allowlist secret` on the line",
    ),
];

/// Markers honoured on the line before the match.
const PREVIOUS_LINE: &[(&[u8], &str)] = &[
    (
        b"keysweep:allow-next-line",
        "`keysweep:allow-next-line` on the line before",
    ),
    (
        b"pragma: allowlist nextline secret",
        "`pragma: allowlist nextline secret` on the line before",
    ),
];

/// From the start of the line holding `span.start` to the end of the line
/// holding the span's last byte (line break and `\r` excluded).
pub fn line_span(hay: &[u8], span: Range<usize>) -> Range<usize> {
    let start = memchr::memrchr(b'\n', &hay[..span.start]).map_or(0, |p| p + 1);
    let last = span.end.max(span.start + 1).min(hay.len());
    let mut end = memchr::memchr(b'\n', &hay[last.saturating_sub(1)..])
        .map_or(hay.len(), |p| last.saturating_sub(1) + p);
    if end > start && hay[end - 1] == b'\r' {
        end -= 1;
    }
    start..end.max(start)
}

/// Which inline marker allows the match at `whole`, if any.
///
/// ```
/// use keysweep::triage::inline::allowed;
/// let hay = b"a = 1\n# keysweep:allow-next-line\ntoken = 'x'\n";
/// let at = hay.len() - 4;
/// assert!(allowed(hay, at..at + 1).unwrap().contains("line before"));
/// assert_eq!(allowed(hay, 0..1), None);
/// ```
pub fn allowed(hay: &[u8], whole: Range<usize>) -> Option<&'static str> {
    allowed_on(hay, line_span(hay, whole))
}

/// [`allowed`] for many matches of one blob: each line's ends are found by
/// binary search and each line is searched for markers once, so thousands
/// of matches on one long line do not each read it whole.
#[derive(Default)]
pub struct Memo {
    newlines: Vec<usize>,
    seen: std::collections::HashMap<Range<usize>, Option<&'static str>>,
}

impl Memo {
    pub fn new(hay: &[u8]) -> Memo {
        Memo {
            newlines: memchr::memchr_iter(b'\n', hay).collect(),
            seen: Default::default(),
        }
    }

    pub fn allowed(&mut self, hay: &[u8], whole: Range<usize>) -> Option<&'static str> {
        let lines = self.line_span(hay, whole);
        *self
            .seen
            .entry(lines.clone())
            .or_insert_with(|| allowed_on(hay, lines))
    }

    /// [`line_span`], by the newline index.
    fn line_span(&self, hay: &[u8], span: Range<usize>) -> Range<usize> {
        let nl = &self.newlines;
        let i = nl.partition_point(|&p| p < span.start);
        let start = if i == 0 { 0 } else { nl[i - 1] + 1 };
        let last = span.end.max(span.start + 1).min(hay.len());
        let from = last.saturating_sub(1);
        let mut end = nl
            .get(nl.partition_point(|&p| p < from))
            .copied()
            .unwrap_or(hay.len());
        if end > start && hay[end - 1] == b'\r' {
            end -= 1;
        }
        start..end.max(start)
    }
}

/// Which inline marker allows a match on `lines` of `hay`, if any.
fn allowed_on(hay: &[u8], lines: Range<usize>) -> Option<&'static str> {
    let text = &hay[lines.clone()];
    // `keysweep:allow-next-line` contains `keysweep:allow`; only the bare
    // marker allows its own line.
    for at in memmem::find_iter(text, ALLOW) {
        if !text[at + ALLOW.len()..].starts_with(NEXT_LINE_SUFFIX) {
            return Some("`keysweep:allow` on the line");
        }
    }
    for (marker, what) in SAME_LINE {
        if memmem::find(text, marker).is_some() {
            return Some(what);
        }
    }
    if lines.start > 0 {
        let prev = line_span(hay, lines.start - 1..lines.start - 1);
        let prev = &hay[prev];
        for (marker, what) in PREVIOUS_LINE {
            if memmem::find(prev, marker).is_some() {
                return Some(what);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hay: &str, needle: &str) -> Range<usize> {
        let s = hay.find(needle).unwrap();
        s..s + needle.len()
    }

    #[test]
    fn line_spans() {
        let hay = b"one\r\ntwo three\nfour";
        assert_eq!(&hay[line_span(hay, 6..8)], b"two three");
        assert_eq!(&hay[line_span(hay, 0..2)], b"one");
        assert_eq!(&hay[line_span(hay, 16..19)], b"four");
        // A match spanning two lines covers both.
        assert_eq!(&hay[line_span(hay, 1..7)], b"one\r\ntwo three");
        // Empty span at a line start.
        assert_eq!(&hay[line_span(hay, 5..5)], b"two three");
    }

    #[test]
    fn each_marker() {
        for (hay, secret, expect) in [
            (
                "t = SECRET # keysweep:allow\n",
                "SECRET",
                Some("keysweep:allow"),
            ),
            (
                "t = SECRET // gitleaks:allow\n",
                "SECRET",
                Some("gitleaks:allow"),
            ),
            (
                "t = SECRET  # pragma: allowlist secret\n",
                "SECRET",
                Some("pragma"),
            ),
            (
                "# keysweep:allow-next-line\nt = SECRET\n",
                "SECRET",
                Some("next-line"),
            ),
            (
                "# pragma: allowlist nextline secret\nt = SECRET\n",
                "SECRET",
                Some("nextline"),
            ),
            // Next-line markers do not allow their own line.
            ("t = SECRET # keysweep:allow-next-line\n", "SECRET", None),
            // Nor a line two below.
            ("# keysweep:allow-next-line\n\nt = SECRET\n", "SECRET", None),
            // A marker on another line does nothing.
            ("# keysweep:allow\nx\nt = SECRET\n", "SECRET", None),
            ("t = SECRET\n# gitleaks:allow\n", "SECRET", None),
        ] {
            let got = allowed(hay.as_bytes(), at(hay, secret));
            match expect {
                Some(word) => assert!(got.is_some_and(|g| g.contains(word)), "{hay:?}: {got:?}"),
                None => assert_eq!(got, None, "{hay:?}"),
            }
        }
    }

    #[test]
    fn multi_line_match_marker_on_last_line() {
        let hay = "k = \"\"\"BEGIN\nabc\nEND\"\"\" # keysweep:allow\n";
        let s = hay.find("BEGIN").unwrap();
        let e = hay.find("END").unwrap() + 3;
        assert!(allowed(hay.as_bytes(), s..e).is_some());
    }
}
