//! A JSON parser that keeps byte spans, and accepts what VS Code and Zed
//! settings allow on top of JSON: `//` and `/* */` comments and trailing
//! commas.
//!
//! serde_json cannot say where a value was, and a comment stripper that
//! rewrites the text would shift every location; parsing the original bytes
//! keeps positions exact, escapes included.

use super::tree::{Node, OffsetMap, Piece, Text, Tree};
use super::FormatError;

/// Nesting deeper than this is refused rather than risking the stack.
const MAX_DEPTH: usize = 200;

/// A syntax error at a byte offset, located by [`parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
struct SyntaxError {
    offset: usize,
    message: String,
}

/// Parses JSON with comments and trailing commas.
///
/// # Errors
///
/// Fails on anything else that is not JSON, naming the line and column.
pub fn parse(bytes: &[u8]) -> Result<Tree, FormatError> {
    parse_at(bytes).map_err(|e| FormatError::at(bytes, e.offset, e.message))
}

fn parse_at(bytes: &[u8]) -> Result<Tree, SyntaxError> {
    let mut p = Parser { b: bytes, pos: 0 };
    if p.b.starts_with(b"\xEF\xBB\xBF") {
        p.pos = 3;
    }
    p.ws()?;
    let tree = p.value(0)?;
    p.ws()?;
    if p.pos < p.b.len() {
        return Err(p.err("unexpected text after the JSON value"));
    }
    Ok(tree)
}

struct Parser<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn err(&self, message: &str) -> SyntaxError {
        SyntaxError {
            offset: self.pos,
            message: message.to_string(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    /// Skips white space and comments.
    fn ws(&mut self) -> Result<(), SyntaxError> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\n' | b'\r') => self.pos += 1,
                Some(b'/') if self.b.get(self.pos + 1) == Some(&b'/') => {
                    self.pos = memchr::memchr(b'\n', &self.b[self.pos..])
                        .map_or(self.b.len(), |p| self.pos + p + 1);
                }
                Some(b'/') if self.b.get(self.pos + 1) == Some(&b'*') => {
                    match memchr::memmem::find(&self.b[self.pos + 2..], b"*/") {
                        Some(p) => self.pos += p + 4,
                        None => return Err(self.err("unterminated /* comment")),
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Tree, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        let start = self.pos;
        let node = match self.peek() {
            Some(b'{') => self.object(depth)?,
            Some(b'[') => self.array(depth)?,
            Some(b'"') => Node::Str(self.string()?),
            Some(b't') => self.literal(b"true")?,
            Some(b'f') => self.literal(b"false")?,
            Some(b'n') => self.literal(b"null")?,
            Some(b'-' | b'0'..=b'9') => {
                while matches!(
                    self.peek(),
                    Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                ) {
                    self.pos += 1;
                }
                Node::Other
            }
            Some(_) => return Err(self.err("expected a JSON value")),
            None => return Err(self.err("unexpected end of input")),
        };
        Ok(Tree {
            span: start..self.pos,
            node,
        })
    }

    fn literal(&mut self, word: &[u8]) -> Result<Node, SyntaxError> {
        if self.b[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(Node::Other)
        } else {
            Err(self.err("expected a JSON value"))
        }
    }

    fn object(&mut self, depth: usize) -> Result<Node, SyntaxError> {
        self.pos += 1;
        let mut entries = Vec::new();
        loop {
            self.ws()?;
            match self.peek() {
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Node::Map(entries));
                }
                Some(b'"') => {}
                _ => return Err(self.err("expected a string key or '}'")),
            }
            let key = self.string()?;
            self.ws()?;
            if self.peek() != Some(b':') {
                return Err(self.err("expected ':' after the key"));
            }
            self.pos += 1;
            self.ws()?;
            let value = self.value(depth + 1)?;
            entries.push((key, value));
            self.ws()?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {}
                _ => return Err(self.err("expected ',' or '}'")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Node, SyntaxError> {
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.ws()?;
            if self.peek() == Some(b']') {
                self.pos += 1;
                return Ok(Node::List(items));
            }
            items.push(self.value(depth + 1)?);
            self.ws()?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {}
                _ => return Err(self.err("expected ',' or ']'")),
            }
        }
    }

    /// A string literal, decoded, with a map from decoded bytes to the blob.
    fn string(&mut self) -> Result<Text, SyntaxError> {
        let open = self.pos;
        self.pos += 1;
        let mut out: Vec<u8> = Vec::new();
        let mut pieces: Vec<Piece> = Vec::new();
        loop {
            let rest = &self.b[self.pos..];
            let Some(i) = memchr::memchr3(b'"', b'\\', b'\n', rest) else {
                self.pos = open;
                return Err(self.err("unterminated string"));
            };
            if i > 0 {
                pieces.push(Piece {
                    text: out.len(),
                    blob: self.pos..self.pos + i,
                    verbatim: true,
                });
                out.extend_from_slice(&rest[..i]);
            }
            self.pos += i;
            match self.b[self.pos] {
                b'"' => {
                    self.pos += 1;
                    break;
                }
                b'\n' => return Err(self.err("unterminated string (newline inside)")),
                _ => {
                    let esc_start = self.pos;
                    let text_start = out.len();
                    self.escape(&mut out)?;
                    pieces.push(Piece {
                        text: text_start,
                        blob: esc_start..self.pos,
                        verbatim: false,
                    });
                }
            }
        }
        let inner = open + 1..self.pos - 1;
        let (value, map) = match String::from_utf8(out) {
            Ok(s) => {
                let map = if pieces.iter().all(|p| p.verbatim) {
                    OffsetMap::Shift(inner.start)
                } else {
                    OffsetMap::Pieces(pieces)
                };
                (s, map)
            }
            // Lossy decoding changes lengths; keep the location coarse.
            Err(e) => (
                String::from_utf8_lossy(e.as_bytes()).into_owned(),
                OffsetMap::Whole(inner),
            ),
        };
        Ok(Text { value, map })
    }

    fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), SyntaxError> {
        let Some(&c) = self.b.get(self.pos + 1) else {
            return Err(self.err("unterminated escape"));
        };
        self.pos += 2;
        let simple = match c {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 8,
            b'f' => 12,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let hi = self.hex4()?;
                let cp = if (0xD800..0xDC00).contains(&hi) && self.b[self.pos..].starts_with(b"\\u")
                {
                    self.pos += 2;
                    let lo = self.hex4()?;
                    if (0xDC00..0xE000).contains(&lo) {
                        0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                    } else {
                        0xFFFD
                    }
                } else {
                    hi
                };
                let ch = char::from_u32(cp).unwrap_or('\u{FFFD}');
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                return Ok(());
            }
            _ => {
                self.pos -= 2;
                return Err(self.err("invalid escape"));
            }
        };
        out.push(simple);
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let digits = self
            .b
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.err("short \\u escape"))?;
        let s = std::str::from_utf8(digits).map_err(|_| self.err("bad \\u escape"))?;
        let v = u32::from_str_radix(s, 16).map_err(|_| self.err("bad \\u escape"))?;
        self.pos += 4;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_jsonc_with_spans() {
        let src = br#"{
  // a comment
  "a": "x\"y", /* another */
  "b": [1, true, null,],
}"#;
        let t = parse(src).unwrap();
        let a = t.get("a").unwrap().as_text().unwrap();
        assert_eq!(a.value, "x\"y");
        // The decoded quote maps to its two-byte escape.
        let q = a.span_of(1..2);
        assert_eq!(&src[q], b"\\\"");
        assert_eq!(&src[a.span_of(2..3)], b"y");
        assert_eq!(&src[a.span()], br#"x\"y"#);
        assert_eq!(t.get("b").unwrap().items().len(), 3);
    }

    #[test]
    fn unicode_escapes() {
        let t = parse(br#"["\u00e9\ud83d\ude00!"]"#).unwrap();
        let s = t.items()[0].as_text().unwrap();
        assert_eq!(s.value, "é😀!");
        assert_eq!(s.span_of(s.value.len() - 1..s.value.len()), 20..21);
    }

    #[test]
    fn errors_name_the_place() {
        let src = b"{\n  \"a\": 1\n  \"b\": 2\n}";
        let e = parse(src).unwrap_err();
        let FormatError::Syntax {
            line,
            column,
            message,
        } = e
        else {
            panic!("{e:?}")
        };
        assert_eq!((line, column), (3, 3));
        assert!(message.contains("','"));
        assert!(parse(b"[\"abc").is_err());
        assert!(parse(b"{} x").is_err());
        let deep = "[".repeat(500);
        assert!(parse(deep.as_bytes()).is_err());
    }
}
