//! Jupyter notebooks (nbformat 4 and 3): each cell's source and each output
//! is decoded from its JSON strings and scanned as the text it is, so a key
//! inside `"api_key=\"sk-…\""` is seen without the escapes and is located by
//! cell and line as well as by its real line in the file.
//!
//! Cells are numbered from 1 in file order, markdown cells included (in
//! nbformat 3, across worksheets). Image data (`image/*`, and nbformat 3's
//! `png`/`jpeg`/`svg` keys) and attachments are skipped; notebook and cell
//! metadata are scanned as they are written.

use std::borrow::Cow;

use super::jsonc;
use super::tree::{Node, OffsetMap, Tree};
use super::tree::{Text, TextBuilder};
use super::{CellPart, Place, Segment};

/// Output keys that are not text to scan.
const SKIPPED_OUTPUT_KEYS: &[&str] = &[
    "output_type",
    "execution_count",
    "prompt_number",
    "name",
    "stream",
    "png",
    "jpeg",
    "gif",
    "svg",
    "pdf",
];

/// Decodes a notebook into segments: one per cell source, one per textual
/// rendering of each output (renderings of one output share a group), and
/// metadata as written.
///
/// # Errors
///
/// Fails when the bytes are not JSON (naming the line and column) or not a
/// notebook (no `cells`, nor nbformat 3 `worksheets`).
pub fn segments(bytes: &[u8]) -> Result<Vec<Segment<'_>>, super::FormatError> {
    let root = jsonc::parse(bytes)?;
    let cells: Vec<&Tree> = if let Some(c) = root.get("cells") {
        if !matches!(c.node, Node::List(_)) {
            return Err(super::FormatError::Shape("\"cells\" is not a list"));
        }
        c.items().iter().collect()
    } else if let Some(w) = root.get("worksheets") {
        w.items()
            .iter()
            .flat_map(|ws| ws.get("cells").map(Tree::items).unwrap_or_default())
            .collect()
    } else {
        return Err(super::FormatError::Shape(
            "no \"cells\" list (nbformat 4) nor \"worksheets\" (nbformat 3)",
        ));
    };

    let mut out = Vec::new();
    let mut group = 0u32;
    for (k, v) in root.entries() {
        if !matches!(k.value.as_str(), "cells" | "worksheets") {
            out.push(raw(bytes, v, None, CellPart::Metadata));
        }
    }
    for (i, cell) in cells.iter().enumerate() {
        let n = i + 1;
        for (k, v) in cell.entries() {
            match k.value.as_str() {
                "source" | "input" => {
                    if let Some(seg) = joined(v, "", n, CellPart::Source, None) {
                        out.push(seg);
                    }
                }
                "outputs" => {
                    for o in v.items() {
                        group += 1;
                        outputs(bytes, o, n, group, &mut out);
                    }
                }
                "metadata" => out.push(raw(bytes, v, Some(n), CellPart::Metadata)),
                // Attachments are images; the rest is bookkeeping.
                _ => {}
            }
        }
    }
    out.retain(|s| !s.text.is_empty());
    Ok(out)
}

/// Segments for one output: stream text, each non-image rendering in
/// `data`, tracebacks, and nbformat 3's per-format keys.
fn outputs<'a>(bytes: &'a [u8], o: &Tree, cell: usize, group: u32, out: &mut Vec<Segment<'a>>) {
    for (k, v) in o.entries() {
        let key = k.value.as_str();
        if SKIPPED_OUTPUT_KEYS.contains(&key) {
            continue;
        }
        match key {
            "data" => {
                // text/plain first: of several renderings of one secret, the
                // first scanned is the one reported.
                let mut renderings: Vec<_> = v.entries().iter().collect();
                renderings.sort_by_key(|(mime, _)| mime.value != "text/plain");
                for (mime, val) in renderings {
                    if mime.value.starts_with("image/") || mime.value == "application/pdf" {
                        continue;
                    }
                    out.extend(text_or_raw(bytes, val, cell, group));
                }
            }
            "traceback" => out.extend(joined(v, "\n", cell, CellPart::Output, Some(group))),
            "metadata" => out.push(raw(bytes, v, Some(cell), CellPart::Output)),
            _ => out.extend(text_or_raw(bytes, v, cell, group)),
        }
    }
}

/// A rendering: a string or list of strings is decoded; anything else (the
/// object of `application/json`) is scanned as written.
fn text_or_raw<'a>(bytes: &'a [u8], v: &Tree, cell: usize, group: u32) -> Option<Segment<'a>> {
    match &v.node {
        Node::Str(_) | Node::List(_) => joined(v, "", cell, CellPart::Output, Some(group)),
        Node::Map(_) => {
            let mut s = raw(bytes, v, Some(cell), CellPart::Output);
            s.place.group = Some(group);
            Some(s)
        }
        Node::Other => None,
    }
}

/// A string, or the strings of a list joined with `sep`, as one segment.
fn joined<'a>(
    v: &Tree,
    sep: &str,
    cell: usize,
    part: CellPart,
    group: Option<u32>,
) -> Option<Segment<'a>> {
    let mut b = TextBuilder::default();
    let push = |t: &Text, b: &mut TextBuilder| {
        if !b.is_empty() && !sep.is_empty() {
            let at = b.pieces.last().map_or(0, |p| p.blob.end);
            b.push_sep(sep.as_bytes(), at);
        }
        b.push(t);
    };
    match &v.node {
        Node::Str(t) => push(t, &mut b),
        Node::List(items) => {
            for t in items.iter().filter_map(Tree::as_text) {
                push(t, &mut b);
            }
        }
        _ => return None,
    }
    if b.is_empty() {
        return None;
    }
    let (text, map) = b.finish();
    Some(Segment {
        text: Cow::Owned(text),
        map,
        place: Place {
            cell: Some(cell),
            part: Some(part),
            group,
            ..Place::default()
        },
    })
}

/// A node's bytes as written in the file.
fn raw<'a>(bytes: &'a [u8], v: &Tree, cell: Option<usize>, part: CellPart) -> Segment<'a> {
    let span = v.span.clone();
    Segment {
        text: Cow::Borrowed(&bytes[span.clone()]),
        map: OffsetMap::Shift(span.start),
        place: Place {
            cell,
            part: cell.map(|_| part),
            ..Place::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_outputs_and_skipped_images() {
        let nb = br##"{
 "cells": [
  {"cell_type": "markdown", "metadata": {}, "source": ["# Title\n"]},
  {"cell_type": "code", "metadata": {"tags": []}, "execution_count": 1,
   "source": ["import os\n", "key = \"abc\"\n"],
   "outputs": [
     {"output_type": "stream", "name": "stdout", "text": ["out1\n", "out2\n"]},
     {"output_type": "execute_result", "data": {"text/plain": ["'x'"], "image/png": "iVBORw0KGgo="}, "metadata": {}},
     {"output_type": "error", "ename": "E", "evalue": "v", "traceback": ["line a", "line b"]}
   ]}
 ],
 "metadata": {"kernelspec": {"name": "python3"}},
 "nbformat": 4, "nbformat_minor": 5
}"##;
        let segs = segments(nb).unwrap();
        let src: Vec<_> = segs
            .iter()
            .filter(|s| s.place.part == Some(CellPart::Source))
            .collect();
        assert_eq!(src.len(), 2);
        assert_eq!(src[1].place.cell, Some(2));
        assert_eq!(&*src[1].text, b"import os\nkey = \"abc\"\n");
        // The decoded quote before abc maps back to its escape in the file.
        let at = src[1].text.iter().position(|&b| b == b'"').unwrap();
        let r = src[1].map.to_blob(at..at + 1);
        assert_eq!(&nb[r], b"\\\"");
        let outs: Vec<_> = segs
            .iter()
            .filter(|s| s.place.part == Some(CellPart::Output))
            .map(|s| String::from_utf8_lossy(&s.text).into_owned())
            .collect();
        assert!(outs.contains(&"out1\nout2\n".to_string()), "{outs:?}");
        assert!(outs.contains(&"line a\nline b".to_string()), "{outs:?}");
        assert!(
            !outs.iter().any(|o| o.contains("iVBOR")),
            "images are skipped"
        );
    }

    #[test]
    fn nbformat3_worksheets() {
        let nb = br#"{"nbformat": 3, "metadata": {}, "worksheets": [{"cells": [
            {"cell_type": "code", "input": ["a = 1"], "outputs": [{"output_type": "pyout", "text": ["1"], "png": "AAAA"}]},
            {"cell_type": "markdown", "source": ["hi"]}]}]}"#;
        let segs = segments(nb).unwrap();
        let cells: Vec<_> = segs.iter().filter_map(|s| s.place.cell).collect();
        assert!(cells.contains(&1) && cells.contains(&2));
    }

    #[test]
    fn not_a_notebook() {
        assert!(segments(b"{\"a\": 1}")
            .unwrap_err()
            .to_string()
            .contains("cells"));
        assert!(segments(b"{\"cells\": [")
            .unwrap_err()
            .to_string()
            .starts_with("1:"));
    }
}
