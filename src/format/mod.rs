//! The format stage, between a blob and the matcher.
//!
//! A format turns a blob into text [`Segment`]s for the matcher, each with an
//! [`OffsetMap`] back to the blob so findings point at real places, and may add
//! structural facts: [`Literal`]s, values that sit where a credential goes (an
//! MCP server's `env`, a CI file's `env:`) with the server, client or variable
//! they belong to.
//!
//! | format | chosen by | segments | facts |
//! |---|---|---|---|
//! | plain | everything else | the blob, borrowed | none |
//! | [notebook] | `.ipynb`; a notebook on stdin | each cell's source and outputs, decoded | cell, line in cell, part |
//! | [mcp] | client config paths; `mcpServers` in a `.json` | the blob | server, client, variable, fix |
//! | [ci] | CI file paths | the blob | CI system, variable, fix |
//!
//! Every segment is then searched for base64 and hex runs ([`encoded`]), whose
//! decoded text is scanned too.
//!
//! # Cost
//!
//! [`detect`] looks at the file name and extension first; a file that is not
//! `.ipynb`, `.json(c)`, `.yml`/`.yaml`, `.toml` or a Jenkinsfile is plain
//! after a few comparisons and its bytes are never copied. Only `.json` and
//! `.toml` files that no path rule claims are searched (with `memmem`, in their
//! first MiB) for an MCP key.

pub mod ci;
pub mod encoded;
pub mod jsonc;
mod literal;
pub mod mcp;
pub mod notebook;
mod toml;
pub mod tree;
mod yaml;

use std::borrow::Cow;
use std::ops::Range;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use ci::CiSystem;
pub use mcp::Client;
pub use tree::OffsetMap;

/// How a blob is to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Scanned as it is.
    Plain,
    /// A Jupyter notebook.
    Notebook,
    /// An MCP client's configuration.
    Mcp(Client),
    /// A CI system's pipeline definition.
    Ci(CiSystem),
}

/// Which part of a notebook cell a secret is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CellPart {
    Source,
    Output,
    /// The cell's metadata or attachments.
    Metadata,
}

impl std::fmt::Display for CellPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CellPart::Source => "source",
            CellPart::Output => "output",
            CellPart::Metadata => "metadata",
        })
    }
}

/// Where a segment's text sits beyond its byte offsets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Place {
    /// Notebook cell, 1-based.
    pub cell: Option<usize>,
    pub part: Option<CellPart>,
    /// Line within the cell, when the segment cannot say (decoded text).
    pub cell_line: Option<usize>,
    /// Decodings applied to reach this text, outermost first (`base64`,
    /// `base64/hex`).
    pub decoded: Option<String>,
    /// Segments sharing a group are renderings of one thing (a notebook
    /// output's `text/plain` and `text/html`): a secret is reported once per
    /// group.
    pub group: Option<u32>,
}

/// Text to scan, and where it is.
#[derive(Debug)]
pub struct Segment<'a> {
    pub text: Cow<'a, [u8]>,
    pub map: OffsetMap,
    pub place: Place,
}

impl<'a> Segment<'a> {
    /// The whole blob, borrowed.
    pub fn plain(bytes: &'a [u8]) -> Segment<'a> {
        Segment {
            text: Cow::Borrowed(bytes),
            map: OffsetMap::Shift(0),
            place: Place::default(),
        }
    }

    /// Whether the text is the blob's own bytes (then the blob's lines are
    /// the text's lines).
    pub fn is_verbatim(&self) -> bool {
        matches!(self.map, OffsetMap::Shift(_))
    }
}

/// Structural facts about a value: who uses it and how to fix a leak there.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Context {
    pub mcp_client: Option<Client>,
    pub mcp_server: Option<String>,
    pub ci_system: Option<CiSystem>,
    /// The environment variable, header, argument or URL part holding it.
    pub variable: Option<String>,
    /// How to fix it, in the syntax of the file's client or CI system.
    pub fix: Option<String>,
}

/// A value found by position in a structured file (an MCP server's env
/// value, a CI variable), with its [`Context`].
///
/// A `report`able literal is a credential in plain text: it is reported by
/// `rule_id` unless a provider rule reports the same bytes, in which case
/// that finding gets the context instead. Other literals (and whole servers)
/// only lend their context to findings inside them.
#[derive(Debug, Clone, PartialEq)]
pub struct Literal {
    pub rule_id: &'static str,
    /// The value, decoded.
    pub secret: String,
    /// Its bytes in the blob.
    pub span: Range<usize>,
    pub context: Context,
    pub report: bool,
}

/// A blob prepared for matching.
#[derive(Debug)]
pub struct Prepared<'a> {
    pub segments: Vec<Segment<'a>>,
    pub literals: Vec<Literal>,
    /// Set when the blob did not parse as its format and was scanned as
    /// plain text instead: the problem, with its line and column.
    pub fallback: Option<String>,
}

impl<'a> Prepared<'a> {
    fn plain(bytes: &'a [u8]) -> Prepared<'a> {
        Prepared {
            segments: vec![Segment::plain(bytes)],
            literals: Vec::new(),
            fallback: None,
        }
    }
}

/// Chooses the format of a blob from its path, and for a few file types (and
/// blobs without a path, such as standard input) from a look at its content.
///
/// ```
/// use keysweep::format::{detect, Client, Kind, CiSystem};
/// use std::path::Path;
/// assert_eq!(detect(Some(Path::new("src/main.rs")), b""), Kind::Plain);
/// assert_eq!(detect(Some(Path::new("a/b.ipynb")), b""), Kind::Notebook);
/// assert_eq!(detect(Some(Path::new(".cursor/mcp.json")), b"{}"), Kind::Mcp(Client::Cursor));
/// assert_eq!(detect(Some(Path::new(".github/workflows/ci.yml")), b""), Kind::Ci(CiSystem::GithubActions));
/// ```
pub fn detect(path: Option<&Path>, bytes: &[u8]) -> Kind {
    match path {
        Some(p) => detect_path(p, bytes),
        None => sniff_stdin(bytes),
    }
}

const SNIFF_LIMIT: usize = 1 << 20;

fn detect_path(path: &Path, bytes: &[u8]) -> Kind {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return Kind::Plain;
    };
    let ext = match name.rfind('.') {
        Some(i) if i > 0 => &name[i + 1..],
        _ => "",
    };
    let is = |e: &str| ext.eq_ignore_ascii_case(e);
    let yaml = is("yml") || is("yaml");
    // The hot path: most files leave here after a few comparisons.
    if !(yaml || is("json") || is("jsonc") || is("toml") || is("ipynb")) {
        if let Some(system) = ci::detect_other(name) {
            return Kind::Ci(system);
        }
        return Kind::Plain;
    }
    if is("ipynb") {
        return Kind::Notebook;
    }
    let mut up = path.parent().into_iter().flat_map(|p| p.iter().rev());
    let parent = up.next().and_then(|s| s.to_str()).unwrap_or("");
    let grandparent = up.next().and_then(|s| s.to_str()).unwrap_or("");
    if let Some(client) = mcp::detect_path(name, parent, grandparent) {
        return Kind::Mcp(client);
    }
    if yaml {
        if let Some(system) = ci::detect_yaml(name, parent, grandparent) {
            return Kind::Ci(system);
        }
        return Kind::Plain;
    }
    let head = &bytes[..bytes.len().min(SNIFF_LIMIT)];
    if is("toml") {
        if memchr::memmem::find(head, b"mcp_servers").is_some() {
            return Kind::Mcp(Client::Generic);
        }
        return Kind::Plain;
    }
    if memchr::memmem::find(head, b"\"mcpServers\"").is_some()
        || memchr::memmem::find(head, b"\"context_servers\"").is_some()
    {
        return Kind::Mcp(Client::Generic);
    }
    Kind::Plain
}

fn sniff_stdin(bytes: &[u8]) -> Kind {
    let head = &bytes[..bytes.len().min(SNIFF_LIMIT)];
    let first = head.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Kind::Plain;
    }
    let has = |needle: &[u8]| memchr::memmem::find(head, needle).is_some();
    if has(b"\"nbformat\"") && (has(b"\"cells\"") || has(b"\"worksheets\"")) {
        Kind::Notebook
    } else if has(b"\"mcpServers\"") || has(b"\"context_servers\"") {
        Kind::Mcp(Client::Generic)
    } else {
        Kind::Plain
    }
}

/// The largest blob parsed as a structured format (notebook, MCP config, CI
/// file). The document tree costs about 20 times the size of a file of
/// small values (a node with its span and decoded text per few bytes), so a
/// 50 MB JSON file took over 1 GB; larger files are scanned as plain text
/// and counted as format fallbacks. Real configs are kilobytes; notebooks
/// with embedded images reach a few megabytes.
pub const MAX_PARSE: usize = 8 << 20;

/// Prepares a blob of a given kind. Never fails: a blob that does not parse
/// as its format, or is over [`MAX_PARSE`] bytes, comes back as one plain
/// segment, with [`Prepared::fallback`] saying why.
pub fn prepare(kind: Kind, bytes: &[u8]) -> Prepared<'_> {
    if kind != Kind::Plain && bytes.len() > MAX_PARSE {
        let mut p = Prepared::plain(bytes);
        if let Kind::Ci(system) = kind {
            p.literals = vec![ci::file_context(system, bytes.len())];
        }
        p.fallback = Some(format!(
            "{} bytes, over the {} MiB parsed as a structured file; scanned as plain text",
            bytes.len(),
            MAX_PARSE >> 20
        ));
        return p;
    }
    match kind {
        Kind::Plain => Prepared::plain(bytes),
        Kind::Notebook => match notebook::segments(bytes) {
            Ok(segments) => Prepared {
                segments,
                literals: Vec::new(),
                fallback: None,
            },
            Err(e) => Prepared {
                fallback: Some(format!("not a valid notebook ({e}); scanned as plain text")),
                ..Prepared::plain(bytes)
            },
        },
        Kind::Mcp(client) => {
            let mut p = Prepared::plain(bytes);
            match mcp::literals(client, bytes) {
                Ok(l) => p.literals = l,
                Err(e) => {
                    p.fallback = Some(format!(
                        "not a valid {} config ({e}); scanned as plain text",
                        client.name()
                    ))
                }
            }
            p
        }
        Kind::Ci(system) => {
            let mut p = Prepared::plain(bytes);
            match ci::literals(system, bytes) {
                Ok(l) => p.literals = l,
                Err(e) => {
                    p.literals = vec![ci::file_context(system, bytes.len())];
                    p.fallback = Some(format!(
                        "not a valid {} file ({e}); scanned as plain text",
                        system.name()
                    ))
                }
            }
            p
        }
    }
}

/// Why a file could not be read as the format its name says. The scan
/// falls back to plain text and warns with this message, so it names the
/// place and never quotes the file's content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The bytes do not parse. `line` and `column` are 1-based; the column
    /// counts characters.
    #[error("{line}:{column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    /// The bytes parse, but not into the shape of the format (a notebook
    /// without cells).
    #[error("{0}")]
    Shape(&'static str),
}

impl FormatError {
    /// A syntax error at byte `offset` of `bytes`.
    pub fn at(bytes: &[u8], offset: usize, message: impl Into<String>) -> FormatError {
        let offset = offset.min(bytes.len());
        let line = memchr::memchr_iter(b'\n', &bytes[..offset]).count() + 1;
        let start = memchr::memrchr(b'\n', &bytes[..offset]).map_or(0, |p| p + 1);
        let column = bytes[start..offset]
            .iter()
            .filter(|&&b| (b & 0xC0) != 0x80)
            .count()
            + 1;
        FormatError::Syntax {
            line,
            column,
            message: message.into(),
        }
    }
}

/// Decodes `bytes` as UTF-8 for the parsers, which need text.
fn utf8(bytes: &[u8]) -> Result<&str, FormatError> {
    std::str::from_utf8(bytes).map_err(|e| FormatError::at(bytes, e.valid_up_to(), "invalid UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(p: &str, content: &str) -> Kind {
        detect(Some(Path::new(p)), content.as_bytes())
    }

    #[test]
    fn detection_by_path() {
        assert_eq!(d("x/notes.ipynb", ""), Kind::Notebook);
        assert_eq!(d("README.md", "\"mcpServers\""), Kind::Plain);
        assert_eq!(d("pkg/package.json", "{}"), Kind::Plain);
        assert_eq!(
            d("x/tool.json", "{\"mcpServers\": {}}"),
            Kind::Mcp(Client::Generic)
        );
        assert_eq!(d("a/.mcp.json", ""), Kind::Mcp(Client::ClaudeCode));
        assert_eq!(d("/home/u/.claude.json", ""), Kind::Mcp(Client::ClaudeCode));
        assert_eq!(d(".vscode/mcp.json", ""), Kind::Mcp(Client::VsCode));
        assert_eq!(d(".zed/settings.json", ""), Kind::Mcp(Client::Zed));
        assert_eq!(d(".gemini/settings.json", ""), Kind::Mcp(Client::Gemini));
        assert_eq!(d(".codex/config.toml", ""), Kind::Mcp(Client::Codex));
        assert_eq!(d("Cargo.toml", "[package]"), Kind::Plain);
        assert_eq!(
            d(".continue/mcpServers/gh.yaml", ""),
            Kind::Mcp(Client::Continue)
        );
        assert_eq!(d(".gitlab-ci.yml", ""), Kind::Ci(CiSystem::GitlabCi));
        assert_eq!(d("ci/Jenkinsfile", ""), Kind::Ci(CiSystem::Jenkins));
        assert_eq!(d("deploy/k8s.yaml", ""), Kind::Plain);
    }

    #[test]
    fn detection_of_stdin() {
        assert_eq!(
            detect(None, br#" {"nbformat": 4, "cells": []}"#),
            Kind::Notebook
        );
        assert_eq!(
            detect(None, br#"{"mcpServers": {}}"#),
            Kind::Mcp(Client::Generic)
        );
        assert_eq!(detect(None, b"token = 1"), Kind::Plain);
    }

    #[test]
    fn malformed_falls_back_to_plain() {
        let p = prepare(Kind::Notebook, b"{\"cells\": [");
        assert_eq!(p.segments.len(), 1);
        assert!(p.segments[0].is_verbatim());
        assert!(p.fallback.unwrap().contains("not a valid notebook"));
    }
}
