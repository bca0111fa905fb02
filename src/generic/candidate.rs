//! The candidate stage: name/value pairs where a credential can sit.
//!
//! Keywords (`pass`, `secret`, `token`, `key`, `://`, ...) pick the lines
//! worth reading — found by this module's automaton ([`candidates`]) or,
//! in a scan, by the matcher's keyword pass ([`candidates_marked`]); each such line is then read once, left to right,
//! by hand-written byte scanners (no regex), and every separator (`=`, `:`,
//! `:=`, `=>`, `==`, a call's `(`, an XML `>`, a CLI flag's space) yields the
//! name to its left and the value to its right. Separate passes read URLs
//! with `user:password@`, PEM blocks spread over string literals, and
//! name/value pairs split over keys (`- name: X` / `value: Y`,
//! `{"key": "X", "value": "Y"}`).
//!
//! # Cost
//!
//! One linear pass of the automaton over the input, then work bounded per
//! selected line: lines are read to [`MAX_LINE`] bytes, names to [`MAX_NAME`],
//! values to [`MAX_VALUE`], at most [`MAX_PER_LINE`] candidates per line and
//! [`MAX_PER_FILE`] per input. What the bounds cut is counted in [`Skipped`].

use std::ops::Range;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind};

use crate::matcher::lanes::{KeywordDfa, Occurrences};

/// Bytes of a line that are read; the rest is skipped (minified code).
pub const MAX_LINE: usize = 4096;
/// Longest name read left of a separator.
pub const MAX_NAME: usize = 96;
/// Longest value read right of a separator.
pub const MAX_VALUE: usize = 1024;
/// Candidates kept from one line.
pub const MAX_PER_LINE: usize = 24;
/// Candidates kept from one input.
pub const MAX_PER_FILE: usize = 4096;
/// Lines a split pair (`name:` then `value:`) or a PEM body may span.
const LOOKAHEAD_LINES: usize = 3;
const PEM_MAX_LINES: usize = 120;

/// How a candidate was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Form {
    /// `name = value`, `name := value`, `name => value`, keyword arguments,
    /// `.env`/INI/properties lines, connection-string `Password=...;`.
    Assign,
    /// `name: value` (YAML, JSON, dict and struct literals).
    Colon,
    /// `name == value`, `name != value`: a comparison (tests, asserts).
    Compare,
    /// `setPassword("value")`, `login(user, "value")`.
    Call,
    /// `--password value`, `-p value`.
    Flag,
    /// `<password>value</password>`.
    Xml,
    /// A name and its value under separate keys (Kubernetes env lists,
    /// Postman variables, .NET `<add key=... value=...>`).
    Split,
    /// `scheme://user:password@host`.
    Url,
    /// `Authorization: Bearer value` and similar headers.
    Header,
    /// A PEM private key, possibly spread over string literals.
    Pem,
    /// An AWS access key id (`AKIA...`, `ASIA...`) anywhere.
    AwsKeyId,
}

impl Form {
    /// All forms, in feature order.
    pub const ALL: [Form; 11] = [
        Form::Assign,
        Form::Colon,
        Form::Compare,
        Form::Call,
        Form::Flag,
        Form::Xml,
        Form::Split,
        Form::Url,
        Form::Header,
        Form::Pem,
        Form::AwsKeyId,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Form::Assign => "assign",
            Form::Colon => "colon",
            Form::Compare => "compare",
            Form::Call => "call",
            Form::Flag => "flag",
            Form::Xml => "xml",
            Form::Split => "split",
            Form::Url => "url",
            Form::Header => "header",
            Form::Pem => "pem",
            Form::AwsKeyId => "aws-key-id",
        }
    }
}

/// A proposed name/value pair. Ranges are byte offsets in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub form: Form,
    /// The name (variable, key, flag, function, URL scheme); may be empty.
    pub name: Range<usize>,
    /// The value: the secret if the scorer says so.
    pub value: Range<usize>,
    /// The line holding the value's start.
    pub line: Range<usize>,
    /// The quote around the value (`"`, `'`, `` ` ``), 0 when unquoted.
    pub quote: u8,
    /// The call the value is wrapped in (`getenv("X")`, `Some("x")`),
    /// when there is one.
    pub wrapper: Option<Range<usize>>,
    /// The HTTP auth scheme in front of the value (`Bearer`, `Basic`).
    pub auth_scheme: Option<Range<usize>>,
    /// 0-based position of a call argument (Call form), else 0.
    pub arg: u8,
}

/// What the candidate stage did not read, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Skipped {
    /// Lines longer than [`MAX_LINE`], read only to that length.
    pub long_lines: u64,
    /// Candidates over [`MAX_PER_LINE`] or [`MAX_PER_FILE`].
    pub candidates: u64,
}

/// Keywords that select a line, matched case-insensitively. A name must
/// also contain one of the name words (`NAME_WORDS`) for a separator to yield a candidate.
/// Short words that occur in ordinary identifiers (`pin` in `mapping`,
/// `otp`, `session`) are left out: they cost a line read for little.
pub const LINE_KEYWORDS: &[&str] = &[
    "pass",
    "pwd",
    "psw",
    "secret",
    "key",
    "token",
    "tkn",
    "auth",
    "cred",
    "salt",
    "nonce",
    "seed",
    "bearer",
    "://",
    "akia",
    "asia",
    "-----begin",
    "private",
    // `login(user, "…")`: the call names no credential word of its own.
    "login",
];

/// Words that make a name worth a candidate (lowercase, searched in the
/// lowercased name).
const NAME_WORDS: &[&str] = &[
    "pass",
    "pwd",
    "psw",
    "secret",
    "key",
    "token",
    "tkn",
    "auth",
    "cred",
    "salt",
    "nonce",
    "seed",
    "bearer",
    "private",
    "signature",
    "session",
    "cookie",
    "otp",
    "login",
    "pin",
];

/// The line keywords' automaton, walked in lanes (see
/// [`crate::matcher::lanes`]): this pass reads every new byte of every
/// version in a history scan.
fn line_finder() -> &'static KeywordDfa {
    static DFA: OnceLock<KeywordDfa> = OnceLock::new();
    DFA.get_or_init(|| {
        let words: Vec<Vec<u8>> = LINE_KEYWORDS
            .iter()
            .map(|w| w.as_bytes().to_vec())
            .collect();
        KeywordDfa::new(&words)
    })
}

fn name_finder() -> &'static AhoCorasick {
    static AC: OnceLock<AhoCorasick> = OnceLock::new();
    AC.get_or_init(|| {
        AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .kind(Some(AhoCorasickKind::DFA))
            .build(NAME_WORDS)
            .expect("name automaton")
    })
}

/// Whether a name holds a credential word, in any case.
pub fn is_credential_name(name: &[u8]) -> bool {
    !name.is_empty() && name.len() <= MAX_NAME && name_finder().is_match(name)
}

/// Proposes the candidates in `text`.
///
/// # Time complexity
///
/// Linear in `text.len()`: one automaton pass, then at most [`MAX_LINE`]
/// bytes per selected line, each read by a bounded number of scanners.
pub fn candidates(text: &[u8]) -> (Vec<Candidate>, Skipped) {
    let mut st = State::new(text);
    st.process_keyword_lines(0..text.len());
    st.finish()
}

/// Like [`candidates`], but reads only the lines that can yield a
/// candidate overlapping one of `ranges` (sorted, disjoint): each range is
/// widened to whole lines, and back by as many lines as a pair split over
/// lines or a PEM body can span from its keyword line. A history scan
/// passes the few ranges of a blob that are new, so a blob's unchanged
/// bulk is not searched again for every version.
///
/// # Time complexity
///
/// Linear in the widened ranges' length (each widened by a few lines, and
/// at most [`PEM_MAX_LINES`] lines before a PEM header), plus
/// [`candidates`]'s per-line cost.
pub fn candidates_within(text: &[u8], ranges: &[Range<usize>]) -> (Vec<Candidate>, Skipped) {
    let mut st = State::new(text);
    for span in reading_spans(text, ranges) {
        st.process_keyword_lines(span);
    }
    st.finish()
}

/// The spans [`candidates_within`] reads for `ranges` (sorted, disjoint):
/// each widened to whole lines and back by the lines a candidate overlapping
/// it can start on, merged where they meet. Line keywords found in these
/// spans by another pass (as marks for [`candidates_marked`]) propose the
/// same candidates.
///
/// # Time complexity
///
/// Linear in the spans' length, at most [`PEM_MAX_LINES`] lines more per
/// range.
pub fn reading_spans(text: &[u8], ranges: &[Range<usize>]) -> Vec<Range<usize>> {
    let mut spans: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        let end = r.end.min(text.len());
        if r.start >= end {
            continue;
        }
        let start = reach_back(text, r.start);
        let end = memchr::memchr(b'\n', &text[end - 1..]).map_or(text.len(), |p| end - 1 + p);
        match spans.last_mut() {
            Some(last) if start <= last.end => last.end = last.end.max(end),
            _ => spans.push(start..end),
        }
    }
    spans
}

/// The start of the earliest line whose keyword can yield a candidate
/// reaching `at`: [`LOOKAHEAD_LINES`] lines back for a pair split over
/// lines, and further, up to [`PEM_MAX_LINES`] lines, to a PEM header
/// (found by its dashes, which are rare) whose body may reach `at`.
fn reach_back(text: &[u8], at: usize) -> usize {
    let back = |from: usize, lines: usize| {
        let mut start = from;
        for _ in 0..lines {
            match memchr::memrchr(b'\n', &text[..start]) {
                Some(p) => start = p,
                None => return 0,
            }
        }
        start
    };
    let near = back(at, LOOKAHEAD_LINES + 1);
    let far = back(near, PEM_MAX_LINES);
    match memchr::memmem::find(&text[far..near], b"-----") {
        Some(p) => memchr::memrchr(b'\n', &text[..far + p]).map_or(0, |q| q + 1),
        None => near,
    }
}

/// Like [`candidates`], with the places of the [`LINE_KEYWORDS`] already
/// known (sorted; at least one on each line holding a keyword, found by
/// the matcher's keyword pass): only their lines are read, and the text
/// is not searched again.
pub fn candidates_marked(text: &[u8], marks: &[usize]) -> (Vec<Candidate>, Skipped) {
    let mut st = State::new(text);
    for &m in marks {
        if st.out.len() >= MAX_PER_FILE {
            break;
        }
        if m >= st.done_to && m < text.len() {
            st.process_line_of(m);
        }
    }
    st.finish()
}

struct State<'a> {
    text: &'a [u8],
    out: Vec<Candidate>,
    skipped: Skipped,
    /// Everything before this offset has been read.
    done_to: usize,
}

/// A name waiting for its value under a separate key.
struct Pending {
    name: Range<usize>,
    lines_left: usize,
}

impl<'a> State<'a> {
    fn new(text: &'a [u8]) -> State<'a> {
        State {
            text,
            out: Vec::new(),
            skipped: Skipped::default(),
            done_to: 0,
        }
    }

    fn finish(mut self) -> (Vec<Candidate>, Skipped) {
        self.out.truncate(MAX_PER_FILE);
        (self.out, self.skipped)
    }

    /// Reads each line of `span` holding a line keyword (wholly inside
    /// the span), once: a keyword on a line already read is passed over.
    fn process_keyword_lines(&mut self, span: Range<usize>) {
        let mut occ = Occurrences::default();
        line_finder().each_start(self.text, span, &mut occ, |at| {
            if self.out.len() >= MAX_PER_FILE {
                return false;
            }
            if at >= self.done_to {
                self.process_line_of(at);
            }
            true
        });
    }

    /// Reads the line holding offset `at`, from where reading stopped if
    /// that is inside it.
    fn process_line_of(&mut self, at: usize) {
        let start = memchr::memrchr(b'\n', &self.text[..at]).map_or(0, |p| p + 1);
        self.process_from(start.max(self.done_to));
    }

    fn line_at(&self, start: usize) -> Range<usize> {
        let end = memchr::memchr(b'\n', &self.text[start..]).map_or(self.text.len(), |p| start + p);
        start..end
    }

    /// Reads the line at `start`, then the few lines a split pair or a PEM
    /// body it opened may need.
    fn process_from(&mut self, start: usize) {
        let mut line = self.line_at(start);
        let mut pending: Option<Pending> = None;
        let mut extra = 0;
        loop {
            self.done_to = (line.end + 1).min(self.text.len().max(line.end + 1));
            let opened = self.scan_line(line.clone(), &mut pending);
            if let Some(pem_end) = opened {
                self.done_to = self.done_to.max(pem_end);
            }
            let more = pending.as_ref().is_some_and(|p| p.lines_left > 0);
            if !more || line.end >= self.text.len() || extra >= LOOKAHEAD_LINES {
                break;
            }
            if let Some(p) = pending.as_mut() {
                p.lines_left -= 1;
            }
            extra += 1;
            line = self.line_at(line.end + 1);
        }
    }

    fn push(&mut self, c: Candidate, in_line: &mut usize) {
        if *in_line >= MAX_PER_LINE || self.out.len() >= MAX_PER_FILE {
            self.skipped.candidates += 1;
            return;
        }
        if c.value.is_empty() {
            return;
        }
        *in_line += 1;
        self.out.push(c);
    }

    /// Reads one line. Returns the end of a PEM body it consumed, if any.
    fn scan_line(&mut self, full: Range<usize>, pending: &mut Option<Pending>) -> Option<usize> {
        let mut line = full;
        if line.len() > MAX_LINE {
            self.skipped.long_lines += 1;
            line.end = line.start + MAX_LINE;
        }
        let l = &self.text[line.clone()];
        let mut n = 0usize;
        let mut pem_end = None;
        let dashes = memchr::memmem::find(l, b"-----");
        if let Some(p) = dashes.and_then(|d| memmem_ci(&l[d..], b"-----begin").map(|q| d + q)) {
            if let Some((c, end)) = self.pem(line.start + p, line.clone()) {
                self.push(c, &mut n);
                pem_end = Some(end);
            }
        }
        self.urls(line.clone(), &mut n);
        self.aws_ids(line.clone(), &mut n);
        self.bearer(line.clone(), &mut n);
        self.separators(line, pending, &mut n);
        pem_end
    }

    /// Every separator of the line, left to right: `=`, `==`, `!=`, `=>`,
    /// `:`, `:=`, a call's `(`, an XML `>` and CLI flags.
    fn separators(&mut self, line: Range<usize>, pending: &mut Option<Pending>, n: &mut usize) {
        let l = &self.text[line.clone()];
        let mut i = 0;
        while i < l.len() {
            i = match l[i] {
                b'=' => self.at_equals(line.clone(), i, pending, n),
                b'!' if l.get(i + 1) == Some(&b'=') => {
                    let len = if l.get(i + 2) == Some(&b'=') { 3 } else { 2 };
                    self.separator(line.clone(), i, len, Form::Compare, pending, n);
                    i + len
                }
                b':' => self.at_colon(line.clone(), i, pending, n),
                b'(' => {
                    self.call(line.clone(), i, n);
                    i + 1
                }
                b'>' => {
                    self.xml(line.clone(), i, n);
                    i + 1
                }
                b'-' if (i == 0 || matches!(l[i - 1], b' ' | b'\t' | b'"'))
                    && l.get(i + 1)
                        .is_some_and(|&c| c == b'-' || c.is_ascii_alphabetic()) =>
                {
                    self.flag(line.clone(), i, n).max(i + 1)
                }
                _ => i + 1,
            };
        }
    }

    /// An `=` at `i`: assignment (`=`, `=>`) or comparison (`==`, `===`);
    /// compound operators and `=~` are no separators. Returns where reading
    /// goes on.
    fn at_equals(
        &mut self,
        line: Range<usize>,
        i: usize,
        pending: &mut Option<Pending>,
        n: &mut usize,
    ) -> usize {
        let l = &self.text[line.clone()];
        let prev = if i > 0 { l[i - 1] } else { 0 };
        if matches!(
            prev,
            b'=' | b'!' | b'<' | b'>' | b':' | b'+' | b'-' | b'*' | b'/'
        ) {
            return i + 1;
        }
        let (form, len) = match l.get(i + 1) {
            Some(b'=') => {
                let len = if l.get(i + 2) == Some(&b'=') { 3 } else { 2 };
                (Form::Compare, len)
            }
            Some(b'>') => (Form::Assign, 2),
            Some(b'~') => return i + 2,
            _ => (Form::Assign, 1),
        };
        self.separator(line, i, len, form, pending, n);
        i + len
    }

    /// A `:` at `i`: `name: value`, or `:=`; `::` paths and `://` are no
    /// separators. Returns where reading goes on.
    fn at_colon(
        &mut self,
        line: Range<usize>,
        i: usize,
        pending: &mut Option<Pending>,
        n: &mut usize,
    ) -> usize {
        let l = &self.text[line.clone()];
        match l.get(i + 1) {
            Some(b':') => i + 2,
            Some(b'/') if l.get(i + 2) == Some(&b'/') => i + 3,
            Some(b'=') => {
                self.separator(line, i, 2, Form::Assign, pending, n);
                i + 2
            }
            _ => {
                self.separator(line, i, 1, Form::Colon, pending, n);
                i + 1
            }
        }
    }

    /// A separator at `line.start + at` of `len` bytes.
    fn separator(
        &mut self,
        line: Range<usize>,
        at: usize,
        len: usize,
        form: Form,
        pending: &mut Option<Pending>,
        n: &mut usize,
    ) {
        let t = self.text;
        let abs = line.start + at;
        let Some(name) = name_before(t, line.start, abs) else {
            return;
        };
        let Some(v) = value_after(t, abs + len, line.end) else {
            return;
        };
        let nm = &t[name.clone()];
        let bare = trim_name(nm);
        // A split pair: `name: DB_PASSWORD` / `key: "apiKey"` opens one.
        if (bare.eq_ignore_ascii_case(b"name") || bare.eq_ignore_ascii_case(b"key"))
            && v.wrapper.is_none()
            && is_credential_name(&t[v.value.clone()])
        {
            *pending = Some(Pending {
                name: v.value.clone(),
                lines_left: LOOKAHEAD_LINES,
            });
            return;
        }
        if bare.eq_ignore_ascii_case(b"value") {
            if let Some(p) = pending.take() {
                let c = v.into_candidate(Form::Split, p.name, line.clone());
                self.push(c, n);
            }
            return;
        }
        let name = match typed_name(t, line.start, name.clone()) {
            Some(n) => n,
            None => return,
        };
        let c = v.into_candidate(form, name, line);
        let c = if is_header_name(&t[c.name.clone()]) {
            Candidate {
                form: Form::Header,
                ..c
            }
        } else {
            c
        };
        self.push(c, n);
    }

    /// `name("value", ...)`: each quoted argument of a call whose name holds
    /// a credential word.
    fn call(&mut self, line: Range<usize>, at: usize, n: &mut usize) {
        let t = self.text;
        let abs = line.start + at;
        let mut j = abs;
        while j > line.start && is_name_byte(t[j - 1]) && abs - j < MAX_NAME {
            j -= 1;
        }
        if j == abs || !is_credential_name(&t[j..abs]) {
            return;
        }
        let name = j..abs;
        let mut p = abs + 1;
        let mut arg = 0u8;
        while p < line.end && arg < 4 {
            while p < line.end && t[p] == b' ' {
                p += 1;
            }
            if p >= line.end || t[p] == b')' {
                break;
            }
            if is_quote(t[p]) {
                let Some(close) = closing_quote(t, p, line.end) else {
                    return;
                };
                let c = Candidate {
                    form: Form::Call,
                    name: name.clone(),
                    value: p + 1..close,
                    line: line.clone(),
                    quote: t[p],
                    wrapper: None,
                    auth_scheme: None,
                    arg,
                };
                self.push(c, n);
                p = close + 1;
            } else {
                // Skip an unquoted argument, with balanced brackets.
                let mut depth = 0i32;
                while p < line.end {
                    match t[p] {
                        b'(' | b'[' | b'{' => depth += 1,
                        b')' | b']' | b'}' if depth == 0 => break,
                        b')' | b']' | b'}' => depth -= 1,
                        b',' if depth == 0 => break,
                        b'"' | b'\'' => break,
                        _ => {}
                    }
                    p += 1;
                }
            }
            while p < line.end && t[p] == b' ' {
                p += 1;
            }
            if p < line.end && t[p] == b',' {
                p += 1;
                arg += 1;
            } else {
                break;
            }
        }
    }

    /// `<password>value</password>`.
    fn xml(&mut self, line: Range<usize>, at: usize, n: &mut usize) {
        let t = self.text;
        let abs = line.start + at;
        let mut j = abs;
        while j > line.start && is_name_byte(t[j - 1]) && abs - j < MAX_NAME {
            j -= 1;
        }
        if j == abs || j == line.start || t[j - 1] != b'<' || !is_credential_name(&t[j..abs]) {
            return;
        }
        let start = abs + 1;
        let limit = line.end.min(start + MAX_VALUE);
        let Some(lt) = memchr::memchr(b'<', &t[start..limit]) else {
            return;
        };
        let end = start + lt;
        if t.get(end + 1) != Some(&b'/') {
            return;
        }
        let c = Candidate {
            form: Form::Xml,
            name: j..abs,
            value: start..end,
            line,
            quote: 0,
            wrapper: None,
            auth_scheme: None,
            arg: 0,
        };
        self.push(c, n);
    }

    /// `--password value` or `-p value`. Returns where reading goes on.
    fn flag(&mut self, line: Range<usize>, at: usize, n: &mut usize) -> usize {
        let t = self.text;
        let abs = line.start + at;
        let mut e = abs;
        while e < line.end && (t[e] == b'-') && e - abs < 2 {
            e += 1;
        }
        let name_start = e;
        while e < line.end
            && (t[e].is_ascii_alphanumeric() || t[e] == b'-' || t[e] == b'_')
            && e - abs < MAX_NAME
        {
            e += 1;
        }
        let flag = &t[name_start..e];
        let short_p = e - abs == 2 && flag == b"p";
        if flag.is_empty() || !(short_p || (e - abs > 2 && is_credential_name(flag))) {
            return e - line.start;
        }
        // `-pSECRET` (mysql) is left alone: `-p` followed by a word is too
        // often something else.
        if e >= line.end || t[e] != b' ' {
            return e - line.start;
        }
        let Some(v) = value_after(t, e, line.end) else {
            return e - line.start;
        };
        if t.get(v.value.start)
            .is_some_and(|&c| c == b'-' || c == b'$')
        {
            return e - line.start;
        }
        let next = v.value.end;
        let c = v.into_candidate(Form::Flag, abs..e, line.clone());
        self.push(c, n);
        next.saturating_sub(line.start)
    }

    /// `scheme://user:password@host`.
    fn urls(&mut self, line: Range<usize>, n: &mut usize) {
        let t = self.text;
        let mut from = line.start;
        while let Some(p) = memchr::memmem::find(&t[from..line.end], b"://") {
            let at = from + p;
            from = at + 3;
            let mut s = at;
            while s > line.start
                && (t[s - 1].is_ascii_alphanumeric() || b"+.-".contains(&t[s - 1]))
                && at - s < 24
            {
                s -= 1;
            }
            if s == at {
                continue;
            }
            let ui = at + 3;
            let mut e = ui;
            let mut colon = None;
            let mut at_sign = None;
            while e < line.end && e - ui < 256 {
                match t[e] {
                    b'/' | b'?' | b'#' | b' ' | b'\t' | b'"' | b'\'' | b'`' | b'<' | b'>' => break,
                    b':' if colon.is_none() => colon = Some(e),
                    b'@' => at_sign = Some(e),
                    _ => {}
                }
                e += 1;
            }
            let (Some(c), Some(a)) = (colon, at_sign) else {
                continue;
            };
            if c > a || a == c + 1 {
                continue;
            }
            let cand = Candidate {
                form: Form::Url,
                name: s..at,
                value: c + 1..a,
                line: line.clone(),
                quote: 0,
                wrapper: None,
                auth_scheme: None,
                arg: 0,
            };
            self.push(cand, n);
        }
    }

    /// `Bearer <token>` with no header name in front (YAML lists of
    /// headers, logged requests). A named header is read by [`Self::separator`].
    fn bearer(&mut self, line: Range<usize>, n: &mut usize) {
        let t = self.text;
        let l = &t[line.clone()];
        let Some(p) = memchr::memchr2_iter(b'b', b'B', l).find(|&p| {
            l.get(p..p + 7)
                .is_some_and(|w| w.eq_ignore_ascii_case(b"bearer "))
        }) else {
            return;
        };
        let before = l[..p].iter().rev().find(|c| **c != b' ' && **c != b'\t');
        if matches!(before, Some(b':') | Some(b'=')) || (p > 0 && l[p - 1].is_ascii_alphanumeric())
        {
            return;
        }
        let s = p + 7;
        let mut e = s;
        while e < l.len()
            && e - s < MAX_VALUE
            && (l[e].is_ascii_alphanumeric() || b"-._~+/=".contains(&l[e]))
        {
            e += 1;
        }
        if e - s < 8 {
            return;
        }
        let cand = Candidate {
            form: Form::Header,
            name: line.start + p..line.start + p + 6,
            value: line.start + s..line.start + e,
            line: line.clone(),
            quote: 0,
            wrapper: None,
            auth_scheme: Some(line.start + p..line.start + p + 6),
            arg: 0,
        };
        self.push(cand, n);
    }

    /// AWS access key ids: `AKIA`/`ASIA` and 16 base32 characters.
    fn aws_ids(&mut self, line: Range<usize>, n: &mut usize) {
        let t = self.text;
        let l = &t[line.clone()];
        let mut i = 0;
        while i + 20 <= l.len() {
            // Both prefixes start with `A`: skip to the next one.
            match memchr::memchr(b'A', &l[i..l.len() - 19]) {
                Some(k) => i += k,
                None => break,
            }
            let w = &l[i..i + 4];
            let hit = w == b"AKIA" || w == b"ASIA";
            let bounded = i == 0 || !l[i - 1].is_ascii_alphanumeric();
            if hit
                && bounded
                && l[i + 4..i + 20]
                    .iter()
                    .all(|&c| c.is_ascii_uppercase() || (b'2'..=b'7').contains(&c))
                && l.get(i + 20).is_none_or(|c| !c.is_ascii_alphanumeric())
            {
                let cand = Candidate {
                    form: Form::AwsKeyId,
                    name: line.start + i..line.start + i,
                    value: line.start + i..line.start + i + 20,
                    line: line.clone(),
                    quote: 0,
                    wrapper: None,
                    auth_scheme: None,
                    arg: 0,
                };
                self.push(cand, n);
                i += 20;
            } else {
                i += 1;
            }
        }
    }

    /// A PEM private key starting at `at`: its header and the base64 body
    /// that follows, read through string quotes, `\n` escapes and `+`
    /// concatenation. Returns the candidate (value = header to the end of
    /// the body) and the offset reading may resume at.
    fn pem(&self, at: usize, line: Range<usize>) -> Option<(Candidate, usize)> {
        let t = self.text;
        let head_end = (at + 80).min(t.len());
        let head = &t[at..head_end];
        let label_end = memmem_ci(&head[10..], b"-----")? + 10;
        let label = &head[10..label_end];
        memmem_ci(label, b"private key")?;
        let body_start = at + label_end + 5;
        let mut p = body_start;
        let mut b64 = 0usize;
        let mut lines = 0usize;
        let mut end = body_start;
        while p < t.len() && lines < PEM_MAX_LINES {
            let c = t[p];
            if c == b'-' && t[p..].starts_with(b"-----") {
                end = p;
                break;
            }
            if c.is_ascii_alphanumeric() || c == b'+' || c == b'/' || c == b'=' {
                b64 += 1;
            } else if c == b'\n' {
                lines += 1;
            }
            p += 1;
            end = p;
        }
        if b64 < 64 {
            return None;
        }
        let name = at + 10 + usize::from(head[10] == b' ')..at + label_end;
        let cand = Candidate {
            form: Form::Pem,
            name,
            value: at..end,
            line,
            quote: 0,
            wrapper: None,
            auth_scheme: None,
            arg: 0,
        };
        let resume = memchr::memchr(b'\n', &t[end..]).map_or(t.len(), |q| end + q + 1);
        Some((cand, resume))
    }
}

/// A value read right of a separator.
struct Value {
    value: Range<usize>,
    quote: u8,
    wrapper: Option<Range<usize>>,
    auth_scheme: Option<Range<usize>>,
}

impl Value {
    fn into_candidate(self, form: Form, name: Range<usize>, line: Range<usize>) -> Candidate {
        Candidate {
            form,
            name,
            value: self.value,
            line,
            quote: self.quote,
            wrapper: self.wrapper,
            auth_scheme: self.auth_scheme,
            arg: 0,
        }
    }
}

fn is_quote(b: u8) -> bool {
    b == b'"' || b == b'\'' || b == b'`'
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'$' | b'@')
}

/// Where the quote opened at `open` closes on the line, skipping `\`
/// escapes; `None` past [`MAX_VALUE`] bytes or the line's end.
fn closing_quote(t: &[u8], open: usize, end: usize) -> Option<usize> {
    let q = t[open];
    let limit = end.min(open + 1 + MAX_VALUE);
    let mut p = open + 1;
    while p < limit {
        match t[p] {
            b'\\' => p += 2,
            c if c == q => return Some(p),
            _ => p += 1,
        }
    }
    None
}

/// The name left of a separator at `at`: skips blanks and a closing quote
/// or bracket (`"key":`, `cfg["key"] =`), then reads name bytes.
fn name_before(t: &[u8], line_start: usize, at: usize) -> Option<Range<usize>> {
    let mut j = at;
    let mut k = 0;
    while j > line_start && (t[j - 1] == b' ' || t[j - 1] == b'\t') && k < 8 {
        j -= 1;
        k += 1;
    }
    if j > line_start && t[j - 1] == b']' {
        j -= 1;
    }
    if j > line_start && (is_quote(t[j - 1]) || t[j - 1] == b'\\') {
        j -= 1;
        if j > line_start && t[j - 1] == b'\\' {
            j -= 1;
        }
    }
    // `\"key\"` inside an escaped JSON string.
    if j > line_start && t[j - 1] == b'\\' {
        j -= 1;
    }
    let end = j;
    while j > line_start && is_name_byte(t[j - 1]) && end - j < MAX_NAME {
        j -= 1;
    }
    if j == end {
        return None;
    }
    // `@` only opens a name (`@password`, C# and Ruby): inside one it is a
    // URL's userinfo (`user:pass@host:21`).
    if memchr::memchr(b'@', &t[j + 1..end]).is_some() {
        return None;
    }
    Some(j..end)
}

/// The name of a typed declaration: for `password: String = "x"` the name
/// left of `=` is `String`, and the one that counts is left of `:`.
fn typed_name(t: &[u8], line_start: usize, name: Range<usize>) -> Option<Range<usize>> {
    if is_credential_name(&t[name.clone()]) {
        return Some(name);
    }
    let mut j = name.start;
    while j > line_start && t[j - 1] == b' ' {
        j -= 1;
    }
    if j > line_start && t[j - 1] == b':' {
        let inner = name_before(t, line_start, j - 1)?;
        if is_credential_name(&t[inner.clone()]) {
            return Some(inner);
        }
    }
    None
}

fn trim_name(n: &[u8]) -> &[u8] {
    let n = n.strip_prefix(b"-").unwrap_or(n);
    let n = match n.iter().rposition(|&b| b == b'.') {
        Some(p) => &n[p + 1..],
        None => n,
    };
    n.strip_prefix(b"$").unwrap_or(n)
}

fn is_header_name(n: &[u8]) -> bool {
    let n = trim_name(n);
    n.eq_ignore_ascii_case(b"authorization")
        || n.eq_ignore_ascii_case(b"proxy-authorization")
        || n.eq_ignore_ascii_case(b"x-api-key")
        || n.eq_ignore_ascii_case(b"x-auth-token")
}

const AUTH_SCHEMES: &[&[u8]] = &[b"bearer", b"basic", b"token", b"digest", b"bot"];

/// The value right of a separator ending at `from`: a quoted string, the
/// first quoted argument of a wrapping call (`Some("x")`, `getenv("X")`),
/// or an unquoted run. `Bearer x`/`Basic x` give `x`, with the scheme.
fn value_after(t: &[u8], from: usize, end: usize) -> Option<Value> {
    let p = value_start(t, from, end)?;
    let v = if is_quote(t[p]) {
        let close = closing_quote(t, p, end)?;
        Value {
            value: p + 1..close,
            quote: t[p],
            wrapper: None,
            auth_scheme: None,
        }
    } else {
        match wrapped(t, p, end) {
            Wrapped::Value(v) => return Some(v),
            Wrapped::Refused => return None,
            Wrapped::No => unquoted(t, p, end)?,
        }
    };
    Some(split_auth_scheme(t, v, end))
}

/// Where a value right of `from` starts: after blanks, a string prefix
/// (`r""`, `b""`, `u""`, `f""`, `@""`, `$""`) and Go's `[]byte(` (which
/// wraps a literal as a call would).
fn value_start(t: &[u8], from: usize, end: usize) -> Option<usize> {
    let mut p = from;
    let mut k = 0;
    while p < end && (t[p] == b' ' || t[p] == b'\t') && k < 16 {
        p += 1;
        k += 1;
    }
    if p >= end {
        return None;
    }
    if p + 1 < end
        && matches!(t[p], b'r' | b'b' | b'u' | b'f' | b'@' | b'$' | b'R' | b'B')
        && is_quote(t[p + 1])
    {
        p += 1;
    }
    if t[p..end].starts_with(b"[]byte(") {
        p += 2;
    }
    Some(p)
}

/// What [`wrapped`] found at a value's start.
enum Wrapped {
    /// A call with a quoted first argument: the argument is the value.
    Value(Value),
    /// A call with anything else inside: no value to read.
    Refused,
    /// No call.
    No,
}

/// A call wrapping the value at `p`: `Some("x")`, `os.getenv("X")`.
fn wrapped(t: &[u8], p: usize, end: usize) -> Wrapped {
    let mut e = p;
    while e < end && is_name_byte(t[e]) && e - p < MAX_NAME {
        e += 1;
    }
    if e == p || e >= end || t[e] != b'(' {
        return Wrapped::No;
    }
    let mut q = e + 1;
    while q < end && t[q] == b' ' {
        q += 1;
    }
    if q >= end || !is_quote(t[q]) {
        return Wrapped::Refused;
    }
    match closing_quote(t, q, end) {
        Some(close) => Wrapped::Value(Value {
            value: q + 1..close,
            quote: t[q],
            wrapper: Some(p..e),
            auth_scheme: None,
        }),
        None => Wrapped::Refused,
    }
}

/// An unquoted value at `p`, up to a blank, a delimiter or a quote;
/// `None` when `p` opens a structure, a comment or an operator instead.
fn unquoted(t: &[u8], p: usize, end: usize) -> Option<Value> {
    if matches!(
        t[p],
        b'[' | b'{' | b'(' | b'<' | b'#' | b'/' | b'|' | b'>' | b'&' | b'*'
    ) && !(t[p] == b'/' && t.get(p + 1).is_some_and(|c| c.is_ascii_alphanumeric()))
    {
        return None;
    }
    let limit = end.min(p + MAX_VALUE);
    let e = t[p..limit]
        .iter()
        .position(|c| {
            matches!(
                c,
                b' ' | b'\t'
                    | b'\r'
                    | b','
                    | b';'
                    | b')'
                    | b']'
                    | b'}'
                    | b'"'
                    | b'\''
                    | b'`'
                    | b'<'
            )
        })
        .map_or(limit, |k| p + k);
    Some(Value {
        value: p..e,
        quote: 0,
        wrapper: None,
        auth_scheme: None,
    })
}

/// `Bearer <token>`: the token is the value and the scheme is kept aside,
/// whether both sit inside the quotes or the scheme is an unquoted word.
fn split_auth_scheme(t: &[u8], mut v: Value, end: usize) -> Value {
    let inner = &t[v.value.clone()];
    let is_scheme = |w: &[u8]| AUTH_SCHEMES.iter().any(|s| w.eq_ignore_ascii_case(s));
    if let Some(sp) = memchr::memchr(b' ', inner) {
        if is_scheme(&inner[..sp]) {
            let s = v.value.start;
            v.auth_scheme = Some(s..s + sp);
            v.value = s + sp + 1..v.value.end;
        }
    } else if v.quote == 0 && is_scheme(inner) && t.get(v.value.end) == Some(&b' ') {
        let s = v.value.end + 1;
        let mut q = s;
        while q < end && !matches!(t[q], b' ' | b'\t' | b'\r' | b'"' | b'\'' | b'`' | b',') {
            q += 1;
        }
        v.auth_scheme = Some(v.value.clone());
        v.value = s..q;
    }
    v
}

fn memmem_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.len() > hay.len() {
        return None;
    }
    (0..=hay.len() - needle.len()).find(|&i| hay[i..i + needle.len()].eq_ignore_ascii_case(needle))
}
