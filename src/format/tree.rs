//! A syntax-neutral document tree with byte spans, and the maps from decoded
//! text back to the blob.
//!
//! JSON (with comments), YAML and TOML parsers all produce a [`Tree`], so the
//! MCP and CI formats walk one shape whatever the file's syntax. Every string
//! keeps an [`OffsetMap`] so that a secret found inside a decoded value (after
//! `\"` escapes, or inside `Bearer …`) is located at its real place in the file.

use std::ops::Range;

/// Where the bytes of a decoded text came from in the blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OffsetMap {
    /// The text is the blob's bytes verbatim, starting at this offset.
    Shift(usize),
    /// Verbatim runs and escapes, in text order (JSON strings with escapes,
    /// notebook sources joined from several strings).
    Pieces(Vec<Piece>),
    /// The text was decoded from this span of the blob as a whole (a base64
    /// run): every offset maps into the span, its start to the start and its
    /// end to the end.
    Whole(Range<usize>),
}

/// One run of an [`OffsetMap::Pieces`] map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// Offset in the decoded text where this piece starts.
    pub text: usize,
    /// The blob bytes it came from.
    pub blob: Range<usize>,
    /// Whether the text equals the blob bytes byte for byte (otherwise it is
    /// an escape, and every offset in it maps to the whole escape).
    pub verbatim: bool,
}

impl OffsetMap {
    /// The blob span of the decoded text span `r`.
    pub fn to_blob(&self, r: Range<usize>) -> Range<usize> {
        match self {
            OffsetMap::Shift(base) => base + r.start..base + r.end,
            OffsetMap::Whole(span) => span.clone(),
            OffsetMap::Pieces(pieces) => {
                if pieces.is_empty() {
                    return 0..0;
                }
                let start = {
                    let p = &pieces[find(pieces, r.start)];
                    if p.verbatim {
                        (p.blob.start + (r.start - p.text)).min(p.blob.end)
                    } else {
                        p.blob.start
                    }
                };
                let last = r.end.max(r.start + 1) - 1;
                let end = {
                    let p = &pieces[find(pieces, last)];
                    if p.verbatim {
                        (p.blob.start + (last - p.text) + 1).min(p.blob.end)
                    } else {
                        p.blob.end
                    }
                };
                start..end.max(start)
            }
        }
    }

    /// This map for a text that is a sub-range of the mapped text, starting
    /// at `from`.
    pub fn slice(&self, from: Range<usize>) -> OffsetMap {
        match self {
            OffsetMap::Shift(base) => OffsetMap::Shift(base + from.start),
            OffsetMap::Whole(span) => OffsetMap::Whole(span.clone()),
            OffsetMap::Pieces(_) if from.is_empty() => OffsetMap::Whole(self.to_blob(from)),
            OffsetMap::Pieces(pieces) => {
                let mut out = Vec::new();
                for (i, p) in pieces.iter().enumerate() {
                    let len = pieces.get(i + 1).map_or(usize::MAX, |n| n.text) - p.text;
                    let (ps, pe) = (p.text, p.text.saturating_add(len));
                    if pe <= from.start || ps >= from.end {
                        continue;
                    }
                    let s = ps.max(from.start);
                    let blob = if p.verbatim {
                        let b0 = p.blob.start + (s - ps);
                        b0..p.blob.end
                    } else {
                        p.blob.clone()
                    };
                    out.push(Piece {
                        text: s - from.start,
                        blob,
                        verbatim: p.verbatim,
                    });
                }
                OffsetMap::Pieces(out)
            }
        }
    }
}

/// The index of the last piece starting at or before `off`.
fn find(pieces: &[Piece], off: usize) -> usize {
    pieces.partition_point(|p| p.text <= off).saturating_sub(1)
}

/// A decoded string and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    pub value: String,
    pub map: OffsetMap,
}

impl Text {
    /// The blob span of the whole string.
    pub fn span(&self) -> Range<usize> {
        self.map.to_blob(0..self.value.len())
    }

    /// The blob span of `r`, a byte range of `value`.
    pub fn span_of(&self, r: Range<usize>) -> Range<usize> {
        self.map.to_blob(r)
    }
}

/// A node of a parsed document.
#[derive(Debug, Clone, PartialEq)]
pub struct Tree {
    /// The node's bytes in the blob.
    pub span: Range<usize>,
    pub node: Node,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Str(Text),
    /// Entries in document order; keys are decoded strings.
    Map(Vec<(Text, Tree)>),
    List(Vec<Tree>),
    /// Numbers, booleans, null, aliases: nothing to scan.
    Other,
}

impl Tree {
    /// The value of the first entry named `key`, if this is a map.
    pub fn get(&self, key: &str) -> Option<&Tree> {
        self.entries()
            .iter()
            .find(|(k, _)| k.value == key)
            .map(|(_, v)| v)
    }

    /// The entries of a map, or nothing.
    pub fn entries(&self) -> &[(Text, Tree)] {
        match &self.node {
            Node::Map(m) => m,
            _ => &[],
        }
    }

    /// The items of a list, or nothing.
    pub fn items(&self) -> &[Tree] {
        match &self.node {
            Node::List(l) => l,
            _ => &[],
        }
    }

    pub fn as_text(&self) -> Option<&Text> {
        match &self.node {
            Node::Str(t) => Some(t),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        self.as_text().map(|t| t.value.as_str())
    }
}

/// Joins decoded strings into one text, keeping the map to the blob.
#[derive(Debug, Default)]
pub struct TextBuilder {
    pub text: Vec<u8>,
    pub pieces: Vec<Piece>,
}

impl TextBuilder {
    /// Appends a decoded string.
    pub fn push(&mut self, t: &Text) {
        let base = self.text.len();
        self.text.extend_from_slice(t.value.as_bytes());
        match &t.map {
            OffsetMap::Shift(b) => self.pieces.push(Piece {
                text: base,
                blob: *b..b + t.value.len(),
                verbatim: true,
            }),
            OffsetMap::Whole(span) => self.pieces.push(Piece {
                text: base,
                blob: span.clone(),
                verbatim: false,
            }),
            OffsetMap::Pieces(ps) => self.pieces.extend(ps.iter().map(|p| Piece {
                text: base + p.text,
                blob: p.blob.clone(),
                verbatim: p.verbatim,
            })),
        }
    }

    /// Appends a separator that stands for the blob position `at`.
    pub fn push_sep(&mut self, sep: &[u8], at: usize) {
        self.pieces.push(Piece {
            text: self.text.len(),
            blob: at..at,
            verbatim: false,
        });
        self.text.extend_from_slice(sep);
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    pub fn finish(self) -> (Vec<u8>, OffsetMap) {
        (self.text, OffsetMap::Pieces(self.pieces))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces() -> OffsetMap {
        // Decoded `a"bc` from raw `a\"bc` at blob offset 10.
        OffsetMap::Pieces(vec![
            Piece {
                text: 0,
                blob: 10..11,
                verbatim: true,
            },
            Piece {
                text: 1,
                blob: 11..13,
                verbatim: false,
            },
            Piece {
                text: 2,
                blob: 13..15,
                verbatim: true,
            },
        ])
    }

    #[test]
    fn maps_through_escapes() {
        let m = pieces();
        assert_eq!(m.to_blob(0..1), 10..11);
        assert_eq!(m.to_blob(1..2), 11..13);
        assert_eq!(m.to_blob(2..4), 13..15);
        assert_eq!(m.to_blob(0..4), 10..15);
        assert_eq!(OffsetMap::Shift(5).to_blob(1..3), 6..8);
        assert_eq!(OffsetMap::Whole(3..9).to_blob(1..2), 3..9);
    }

    #[test]
    fn slices_keep_positions() {
        let m = pieces().slice(2..4);
        assert_eq!(m.to_blob(0..2), 13..15);
        let m = pieces().slice(1..3);
        assert_eq!(m.to_blob(0..2), 11..14);
        assert_eq!(OffsetMap::Shift(5).slice(2..4).to_blob(0..1), 7..8);
    }

    #[test]
    fn builder_joins() {
        let mut b = TextBuilder::default();
        b.push(&Text {
            value: "ab".into(),
            map: OffsetMap::Shift(3),
        });
        b.push_sep(b"\n", 5);
        b.push(&Text {
            value: "cd".into(),
            map: OffsetMap::Shift(8),
        });
        let (text, map) = b.finish();
        assert_eq!(text, b"ab\ncd");
        assert_eq!(map.to_blob(3..5), 8..10);
        assert_eq!(map.to_blob(1..4), 4..9);
    }
}
