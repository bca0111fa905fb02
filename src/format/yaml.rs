//! YAML to [`Tree`], with byte spans, using yaml-rust2's event parser (serde_yaml
//! keeps no positions).

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::tree::{Node, OffsetMap, Text, Tree};
use super::FormatError;

/// Deeper nesting is refused: the tree is dropped recursively and consumers
/// walk it recursively, so 10,000 levels of `- - -` (20 KB) would overflow
/// the stack. The caller scans such a file as plain text.
pub const MAX_DEPTH: usize = 128;

/// Parses every document in `text`; the result is a list of documents.
/// Aliases become [`Node::Other`]: the anchored node is walked where it is
/// defined, so nothing is reported twice.
///
/// # Errors
///
/// Fails on invalid YAML, with the line and column.
pub fn parse(text: &str) -> Result<Tree, FormatError> {
    let mut b = Builder {
        text,
        chars: CharIndex::new(text),
        stack: Vec::new(),
        docs: Vec::new(),
        too_deep: None,
    };
    let mut parser = Parser::new_from_str(text);
    // Events one by one: yaml-rust2's `load` recurses once per level.
    loop {
        let (ev, mark) = parser.next_token().map_err(|e| FormatError::Syntax {
            line: e.marker().line(),
            column: e.marker().col() + 1,
            message: e.info().to_string(),
        })?;
        if ev == Event::StreamEnd {
            break;
        }
        b.on_event(ev, mark);
        if b.too_deep.is_some() {
            break;
        }
    }
    if let Some(m) = b.too_deep {
        return Err(FormatError::Syntax {
            line: m.line(),
            column: m.col() + 1,
            message: format!("nested deeper than {MAX_DEPTH} levels"),
        });
    }
    Ok(Tree {
        span: 0..text.len(),
        node: Node::List(b.docs),
    })
}

/// Char index to byte offset (yaml-rust2 counts characters).
struct CharIndex {
    /// Byte offset of each character; empty when the text is ASCII.
    starts: Vec<usize>,
    len: usize,
}

impl CharIndex {
    fn new(text: &str) -> CharIndex {
        let starts = if text.is_ascii() {
            Vec::new()
        } else {
            text.char_indices().map(|(i, _)| i).collect()
        };
        CharIndex {
            starts,
            len: text.len(),
        }
    }

    fn byte(&self, chars: usize) -> usize {
        if self.starts.is_empty() {
            chars.min(self.len)
        } else {
            self.starts.get(chars).copied().unwrap_or(self.len)
        }
    }
}

enum Open {
    Map {
        start: usize,
        entries: Vec<(Text, Tree)>,
        key: Option<Text>,
    },
    List {
        start: usize,
        items: Vec<Tree>,
    },
}

struct Builder<'a> {
    text: &'a str,
    chars: CharIndex,
    stack: Vec<Open>,
    docs: Vec<Tree>,
    /// Where nesting passed [`MAX_DEPTH`]; later events are ignored.
    too_deep: Option<Marker>,
}

impl Builder<'_> {
    fn add(&mut self, tree: Tree) {
        match self.stack.last_mut() {
            None => self.docs.push(tree),
            Some(Open::List { items, .. }) => items.push(tree),
            Some(Open::Map { entries, key, .. }) => match key.take() {
                Some(k) => entries.push((k, tree)),
                None => {
                    // A key. Complex (non-scalar) keys are kept as empty text.
                    *key = Some(match tree.node {
                        Node::Str(t) => t,
                        _ => Text {
                            value: String::new(),
                            map: OffsetMap::Whole(tree.span),
                        },
                    });
                }
            },
        }
    }

    /// Where a scalar's value is in the text. The parser marks the start of
    /// the token (a quote, or the `|` of a block); the value itself is found
    /// from there.
    fn scalar_map(&self, at: usize, value: &str, style: TScalarStyle) -> OffsetMap {
        let rest = &self.text.as_bytes()[at.min(self.text.len())..];
        let v = value.as_bytes();
        match style {
            TScalarStyle::Plain if rest.starts_with(v) => return OffsetMap::Shift(at),
            TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted
                if rest.get(1..).is_some_and(|r| r.starts_with(v)) =>
            {
                return OffsetMap::Shift(at + 1)
            }
            _ => {}
        }
        // Escapes, folding or a block: find the first line of the value.
        let first = value.lines().next().unwrap_or("").trim();
        if !first.is_empty() {
            let window = &rest[..rest.len().min(first.len() * 2 + 512)];
            if let Some(p) = memchr::memmem::find(window, first.as_bytes()) {
                let start = at + p;
                return if first.len() == value.len() {
                    OffsetMap::Shift(start)
                } else {
                    OffsetMap::Whole(start..start + first.len())
                };
            }
        }
        OffsetMap::Whole(at..(at + 1).min(self.text.len()))
    }
}

impl MarkedEventReceiver for Builder<'_> {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.too_deep.is_some() {
            return;
        }
        if matches!(ev, Event::MappingStart(..) | Event::SequenceStart(..))
            && self.stack.len() >= MAX_DEPTH
        {
            self.too_deep = Some(mark);
            // Dropped level by level, not recursively.
            while let Some(open) = self.stack.pop() {
                drop(open);
            }
            return;
        }
        let at = self.chars.byte(mark.index());
        match ev {
            Event::Scalar(value, style, _, _) => {
                let map = self.scalar_map(at, &value, style);
                let span = match &map {
                    OffsetMap::Shift(s) => *s..s + value.len(),
                    OffsetMap::Whole(r) => r.clone(),
                    OffsetMap::Pieces(_) => at..at,
                };
                self.add(Tree {
                    span,
                    node: Node::Str(Text { value, map }),
                });
            }
            Event::Alias(_) => self.add(Tree {
                span: at..at,
                node: Node::Other,
            }),
            Event::MappingStart(..) => self.stack.push(Open::Map {
                start: at,
                entries: Vec::new(),
                key: None,
            }),
            Event::SequenceStart(..) => self.stack.push(Open::List {
                start: at,
                items: Vec::new(),
            }),
            Event::MappingEnd | Event::SequenceEnd => {
                let tree = match self.stack.pop() {
                    Some(Open::Map { start, entries, .. }) => Tree {
                        span: start..at.max(start),
                        node: Node::Map(entries),
                    },
                    Some(Open::List { start, items }) => Tree {
                        span: start..at.max(start),
                        node: Node::List(items),
                    },
                    None => return,
                };
                self.add(tree);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_of_scalars() {
        let src = "env:\n  A: plain-value\n  B: \"quoted\"\n  C: 'single'\n  é: ünï\n";
        let t = parse(src).unwrap();
        let doc = &t.items()[0];
        let env = doc.get("env").unwrap();
        for (k, want) in [
            ("A", "plain-value"),
            ("B", "quoted"),
            ("C", "single"),
            ("é", "ünï"),
        ] {
            let v = env.get(k).unwrap().as_text().unwrap();
            assert_eq!(v.value, want);
            assert_eq!(&src[v.span()], want, "{k}");
        }
    }

    #[test]
    fn multi_document_and_errors() {
        let t = parse("a: 1\n---\nb: [x, y]\n").unwrap();
        assert_eq!(t.items().len(), 2);
        assert_eq!(t.items()[1].get("b").unwrap().items().len(), 2);
        let e = parse("a: [1, 2\nb: c\n").unwrap_err();
        assert!(
            matches!(e, FormatError::Syntax { line, .. } if line >= 1),
            "{e}"
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_an_overflow() {
        let src = "- ".repeat(10_000) + "x\n";
        let e = parse(&src).unwrap_err();
        assert!(e.to_string().contains("deeper"), "{e}");
        let ok = "- ".repeat(MAX_DEPTH - 1) + "x\n";
        parse(&ok).unwrap();
    }

    #[test]
    fn escaped_double_quoted() {
        let src = "k: \"a\\tb-secret\"\n";
        let t = parse(src).unwrap();
        let v = t.items()[0].get("k").unwrap().as_text().unwrap();
        assert_eq!(v.value, "a\tb-secret");
        // Not verbatim: located at the token.
        assert!(v.span().start >= 3);
    }
}
