//! TOML to [`Tree`], with byte spans, using toml-span.

use super::tree::{Node, OffsetMap, Text, Tree};
use super::FormatError;

/// Parses TOML.
///
/// # Errors
///
/// Fails on invalid TOML, with the line and column.
pub fn parse(text: &str) -> Result<Tree, FormatError> {
    let value = toml_span::parse(text)
        .map_err(|e| FormatError::at(text.as_bytes(), e.span.start, e.to_string()))?;
    Ok(convert(text, &value))
}

fn convert(text: &str, v: &toml_span::Value<'_>) -> Tree {
    let span = v.span.start..v.span.end;
    let node = if let Some(s) = v.as_str() {
        Node::Str(text_at(text, s, span.clone()))
    } else if let Some(table) = v.as_table() {
        // Tables are sorted by key; document order is span order.
        let mut entries: Vec<_> = table.iter().collect();
        entries.sort_by_key(|(k, _)| k.span.start);
        Node::Map(
            entries
                .into_iter()
                .map(|(k, v)| {
                    let ks = k.span.start..k.span.end;
                    (text_at(text, &k.name, ks), convert(text, v))
                })
                .collect(),
        )
    } else if let Some(items) = v.as_array() {
        Node::List(items.iter().map(|i| convert(text, i)).collect())
    } else {
        Node::Other
    };
    Tree { span, node }
}

/// Locates a decoded string within its token's span (quotes and escapes
/// aside).
fn text_at(text: &str, value: &str, span: std::ops::Range<usize>) -> Text {
    let raw = text.as_bytes().get(span.clone()).unwrap_or_default();
    let map = match memchr::memmem::find(raw, value.as_bytes()) {
        Some(p) if !value.is_empty() => OffsetMap::Shift(span.start + p),
        _ => OffsetMap::Whole(span),
    };
    Text {
        value: value.to_string(),
        map,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans() {
        let src =
            "[mcp_servers.gh]\ncommand = \"npx\"\nenv = { TOKEN = \"abc123\", \"X\" = 'lit' }\n";
        let t = parse(src).unwrap();
        let gh = t.get("mcp_servers").unwrap().get("gh").unwrap();
        let tok = gh
            .get("env")
            .unwrap()
            .get("TOKEN")
            .unwrap()
            .as_text()
            .unwrap();
        assert_eq!(&src[tok.span()], "abc123");
        let x = gh.get("env").unwrap().get("X").unwrap().as_text().unwrap();
        assert_eq!(&src[x.span()], "lit");
        assert!(parse("a = ").unwrap_err().to_string().starts_with("1:"));
    }
}
