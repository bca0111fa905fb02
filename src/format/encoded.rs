//! Base64 and hex runs that decode to text, so that a token inside a
//! Kubernetes `Secret`'s `data:`, a base64 environment variable or a hex dump
//! is scanned as the text it encodes; and percent-encoded runs
//! (`?token=ghp%5F…`, `password=p%40ss`), decoded with their keys.
//!
//! # Cost
//!
//! Finding runs is one pass over the text. With AVX2 (checked at run time)
//! it classifies 64 bytes per step with two nibble lookups and finds runs of
//! [`MIN_BASE64`] with a few bit operations on the mask; elsewhere a portable
//! loop probes [`MIN_BASE64`]` - 1` bytes ahead and skips past any byte that
//! cannot be in a run. Every run of a file is decoded only if its first 16
//! characters decode to printable ASCII (random binary, hashes and
//! identifiers fail there), and kept only if the whole decodes to text. On
//! the benchmark corpus this pass costs about 0.1 ns per byte.

use std::ops::Range;

/// Shortest base64 run decoded: 28 characters are 20 bytes, the length of
/// the shortest provider tokens with a known prefix (an AWS key id).
pub const MIN_BASE64: usize = 28;
/// Shortest hex run decoded: 40 digits are 20 bytes.
pub const MIN_HEX: usize = 40;
/// Longer runs are left alone (embedded files, not values).
pub const MAX_RUN: usize = 4 << 20;

/// How a run was encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Base64,
    Hex,
    /// URL percent-encoding (`%5F`); `+` is kept, since tokens contain it.
    Percent,
    /// A JSON string's escapes (`\"token\": \"…\"`, a JSON document logged
    /// inside another): one level per decoding, so text escaped twice is
    /// read after two.
    JsonEscaped,
}

impl Encoding {
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Base64 => "base64",
            Encoding::Hex => "hex",
            Encoding::Percent => "percent",
            Encoding::JsonEscaped => "json-escaped",
        }
    }
}

/// Whether a byte is a base64 digit (the standard alphabet: `A-Z a-z 0-9 + /`).
/// The URL-safe alphabet's `-` and `_` are left out on purpose: with them,
/// every long snake_case identifier is a run, ten times as many in source
/// code, and values stored base64-encoded (Kubernetes `data:`, `.env` files,
/// docker `auth`) use the standard alphabet.
static CLASS: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = (c as u8).is_ascii_alphanumeric() || c == b'+' as usize || c == b'/' as usize;
        c += 1;
    }
    t
};

/// Base64 digit values; 0xFF for anything else.
static VALUE: [u8; 256] = {
    let mut t = [0xFFu8; 256];
    let mut i = 0;
    while i < 26 {
        t[b'A' as usize + i] = i as u8;
        t[b'a' as usize + i] = 26 + i as u8;
        i += 1;
    }
    let mut d = 0;
    while d < 10 {
        t[b'0' as usize + d] = 52 + d as u8;
        d += 1;
    }
    t[b'+' as usize] = 62;
    t[b'/' as usize] = 63;
    t
};

#[inline]
fn in_run(b: u8) -> bool {
    CLASS[b as usize]
}

/// Calls `found(run, encoding, decoded)` for each base64 or hex run in
/// `text` that decodes to mostly printable text, in order, then each
/// percent-encoded run that does (see [`percent_runs`]).
///
/// ```
/// use keysweep::format::encoded::{decode_runs, Encoding};
/// let mut got = Vec::new();
/// decode_runs(b"token: dGhpcyBpcyBhIHNlY3JldCB0ZXh0IHZhbHVl\n", |r, e, d| got.push((r, e, d)));
/// assert_eq!(got[0].0, 7..43);
/// assert_eq!(got[0].1, Encoding::Base64);
/// assert_eq!(got[0].2, b"this is a secret text value");
/// ```
///
/// # Time complexity
///
/// Linear in `text`; see the module's cost notes.
pub fn decode_runs(text: &[u8], mut found: impl FnMut(Range<usize>, Encoding, Vec<u8>)) {
    // The end of the last wrapped block decoded: its lines are runs too.
    let mut block_end = 0;
    runs(text, |r| {
        if r.len() > MAX_RUN || r.start < block_end {
            return;
        }
        if let Some((block, decoded)) = wrapped_block(text, r.clone()) {
            // A block that is not text (an embedded image) is skipped whole:
            // trying each of its lines again would be quadratic.
            block_end = block.end;
            if let Some(d) = decoded {
                found(block, Encoding::Base64, d);
            }
            return;
        }
        if let Some((enc, decoded)) = decode(&text[r.clone()]) {
            let mut end = r.end;
            if enc == Encoding::Base64 {
                while end < text.len() && end - r.end < 2 && text[end] == b'=' {
                    end += 1;
                }
            }
            found(r.start..end, enc, decoded);
        }
    });
    percent_runs(text, |r, decoded| found(r, Encoding::Percent, decoded));
    escaped_runs(text, |r, decoded| found(r, Encoding::JsonEscaped, decoded));
}

/// Calls `found(line, decoded)` for each line holding at least two `\"`
/// (a JSON document embedded in a string, as log lines carry them), with one
/// level of escapes undone: `\"` is `"`, `\\` is `\`, `\/` is `/`; other
/// escapes stay as written, so lines keep their numbers.
///
/// ```
/// let mut got = Vec::new();
/// let line = br#"{"msg": "{\\\"token\\\": \\\"abc\\\"}"}"#;
/// keysweep::format::encoded::escaped_runs(line, |r, d| got.push((r, d)));
/// assert_eq!(got[0].1, br#"{"msg": "{\"token\": \"abc\"}"}"#);
/// ```
///
/// # Time complexity
///
/// Linear: one search for `\"`, and each line with one is decoded once.
pub fn escaped_runs(text: &[u8], mut found: impl FnMut(Range<usize>, Vec<u8>)) {
    let mut done = 0;
    for at in memchr::memmem::find_iter(text, b"\\\"") {
        if at < done {
            continue;
        }
        let start = memchr::memrchr(b'\n', &text[..at]).map_or(0, |p| p + 1);
        let end = memchr::memchr(b'\n', &text[at..]).map_or(text.len(), |p| at + p);
        done = end;
        let line = &text[start..end];
        if line.len() > MAX_RUN || memchr::memmem::find_iter(line, b"\\\"").nth(1).is_none() {
            continue;
        }
        found(start..end, unescape_once(line));
    }
}

fn unescape_once(line: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        match (line[i], line.get(i + 1)) {
            (b'\\', Some(&c @ (b'"' | b'\\' | b'/'))) => {
                out.push(c);
                i += 2;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// Base64 wrapped over several lines, as `base64`, MIME (76 columns) and
/// PEM-like tools (64) write it, starting with the run `first`: lines of
/// `first`'s width (a multiple of 4, so each line is whole quanta), each
/// after a newline and the same indentation, then a last shorter line with
/// its padding. Decoding line by line would cut a secret at a line end and
/// miss the last line, so the block is decoded as one run.
///
/// Returns the block's range and its text (`None` when it is not text), or
/// `None` when `first` does not start a block of two lines at least. Linear
/// in the block's length.
fn wrapped_block(text: &[u8], first: Range<usize>) -> Option<(Range<usize>, Option<Vec<u8>>)> {
    let width = first.len();
    if !width.is_multiple_of(4) || !(40..=128).contains(&width) {
        return None;
    }
    let indent = {
        let line_start = memchr::memrchr(b'\n', &text[..first.start]).map_or(0, |p| p + 1);
        &text[line_start..first.start]
    };
    if !indent.iter().all(|&b| b == b' ' || b == b'\t') {
        return None;
    }
    let mut joined = text[first.clone()].to_vec();
    let mut end = first.end;
    loop {
        // The next line: newline, the same indentation, then digits.
        let mut at = end;
        if text.get(at) == Some(&b'\r') {
            at += 1;
        }
        if text.get(at) != Some(&b'\n') || !text[at + 1..].starts_with(indent) {
            break;
        }
        let start = at + 1 + indent.len();
        let len = text[start..]
            .iter()
            .take(width + 1)
            .take_while(|&&b| in_run(b))
            .count();
        if len == 0 || len > width || joined.len() + len > MAX_RUN {
            break;
        }
        joined.extend_from_slice(&text[start..start + len]);
        end = start + len;
        if len < width {
            break;
        }
    }
    if end == first.end {
        return None;
    }
    let last = end;
    while end < text.len() && end - last < 2 && text[end] == b'=' {
        end += 1;
    }
    let decoded = match decode(&joined) {
        Some((Encoding::Base64, d)) => Some(d),
        _ => None,
    };
    Some((first.start..end, decoded))
}

/// Whether a byte can be in a percent-encoded run: printable ASCII but
/// quotes, brackets and backslash, so that a run is a URL, query string or
/// `key=value` and stops where the value does in source code.
fn in_percent_run(b: u8) -> bool {
    (b'!'..=b'~').contains(&b) && !b"\"'`<>()[]{}\\,".contains(&b)
}

/// Calls `found(run, decoded)` for each run of URL characters holding a
/// `%XX` escape, with its escapes decoded, when the result is text. Keys stay
/// in the run (`password=p%40ss` decodes to `password=p@ss`) so that rules
/// needing a keyword still match.
///
/// ```
/// let mut got = Vec::new();
/// keysweep::format::encoded::percent_runs(b"GET /?q=1&pw=p%40ss HTTP", |r, d| got.push((r, d)));
/// assert_eq!(got, [(4..19, b"/?q=1&pw=p@ss".to_vec())]);
/// ```
///
/// # Time complexity
///
/// Linear: each byte is looked at by at most two passes (finding `%`, then
/// the run around it), and runs never overlap.
pub fn percent_runs(text: &[u8], mut found: impl FnMut(Range<usize>, Vec<u8>)) {
    let mut done = 0;
    for at in memchr::memchr_iter(b'%', text) {
        if at < done || !is_escape(&text[at..]) {
            continue;
        }
        let start = text[done..at]
            .iter()
            .rposition(|&b| !in_percent_run(b))
            .map_or(done, |p| done + p + 1);
        let end = text[at..]
            .iter()
            .position(|&b| !in_percent_run(b))
            .map_or(text.len(), |p| at + p);
        done = end;
        if end - start > MAX_RUN {
            continue;
        }
        let decoded = percent_decode(&text[start..end]);
        if is_text(&decoded, true) {
            found(start..end, decoded);
        }
    }
}

fn is_escape(s: &[u8]) -> bool {
    s.len() >= 3 && s[0] == b'%' && s[1].is_ascii_hexdigit() && s[2].is_ascii_hexdigit()
}

fn percent_decode(run: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(run.len());
    let mut i = 0;
    while i < run.len() {
        if is_escape(&run[i..]) {
            out.push((hexval(run[i + 1]) << 4) | hexval(run[i + 2]));
            i += 3;
        } else {
            out.push(run[i]);
            i += 1;
        }
    }
    out
}

/// Calls `run` for each maximal run of at least [`MIN_BASE64`] base64
/// digits, in order.
fn runs(text: &[u8], run: impl FnMut(Range<usize>)) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("bmi1")
            && std::arch::is_x86_feature_detected!("lzcnt")
        {
            // SAFETY: the features are available, checked just above.
            unsafe { simd::runs(text, run) };
            return;
        }
    }
    runs_scalar(text, run)
}

/// The portable run finder: probes [`MIN_BASE64`]` - 1` bytes ahead and
/// skips past any byte that cannot be in a run.
fn runs_scalar(text: &[u8], mut run: impl FnMut(Range<usize>)) {
    let n = text.len();
    let l = MIN_BASE64;
    let mut i = 0;
    // Bytes in [i, verified) are known to be in the run class.
    let mut verified = 0;
    while i + l <= n {
        let p = i + l - 1;
        if !in_run(text[p]) {
            i = p + 1;
            verified = i;
            continue;
        }
        let floor = verified.max(i);
        let mut j = p;
        while j > floor && in_run(text[j - 1]) {
            j -= 1;
        }
        if j > floor {
            // A byte out of class at j - 1: no run of length l starts before j.
            i = j;
            verified = p + 1;
            continue;
        }
        let mut e = p + 1;
        while e < n && in_run(text[e]) {
            e += 1;
        }
        run(i..e);
        i = e + 1;
        verified = i;
    }
}

/// Runs from a bit mask per 64-byte block (bit `i` set when byte `base + i`
/// is in class). A block where no run reaches [`MIN_BASE64`] costs a few bit
/// operations; only a block with a long run in it is walked run by run.
struct RunTracker {
    /// Where the run reaching the previous block's end started.
    start: Option<usize>,
}

impl RunTracker {
    #[inline(always)]
    fn block(&mut self, base: usize, len: usize, m: u64, run: &mut impl FnMut(Range<usize>)) {
        let full = if len == 64 {
            u64::MAX
        } else {
            (1u64 << len) - 1
        };
        let m = m & full;
        if m == full && len == 64 {
            self.start.get_or_insert(base);
            return;
        }
        let t = (!m).trailing_zeros() as usize;
        let carried = self.start.map_or(0, |s| base - s);
        // Bit i survives iff bits i..i + 28 are all set.
        let mut r = m;
        r &= r >> 1;
        r &= r >> 2;
        r &= r >> 4;
        r &= r >> 8;
        r &= r >> 12;
        if r == 0 && (carried == 0 || carried + t < MIN_BASE64) {
            // Fast path: nothing long enough ends in this block.
            let lead = (!(m << (64 - len))).leading_zeros() as usize;
            self.start = (lead > 0 && len == 64).then(|| base + 64 - lead);
            return;
        }
        self.walk(base, len, m, run);
    }

    #[cold]
    fn walk(&mut self, base: usize, len: usize, m: u64, run: &mut impl FnMut(Range<usize>)) {
        let mut pos = 0;
        while pos < len {
            let rest = m >> pos;
            if rest & 1 == 0 {
                if let Some(s) = self.start.take() {
                    if base + pos - s >= MIN_BASE64 {
                        run(s..base + pos);
                    }
                }
                if rest == 0 {
                    return;
                }
                pos += rest.trailing_zeros() as usize;
                continue;
            }
            let ones = (!rest).trailing_zeros() as usize;
            self.start.get_or_insert(base + pos);
            pos += ones;
        }
        if len < 64 {
            self.finish(base + len, run);
        }
    }

    fn finish(&mut self, end: usize, run: &mut impl FnMut(Range<usize>)) {
        if let Some(s) = self.start.take() {
            if end - s >= MIN_BASE64 {
                run(s..end);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod simd {
    //! AVX2 classification: two nibble lookups per byte, 64 bytes a step.

    use std::arch::x86_64::*;
    use std::ops::Range;

    use super::{in_run, RunTracker};

    /// Bits set in `LO[low nibble] & HI[high nibble]` for bytes in class.
    /// Bit k of HI marks high nibble k + 2 (0x2_ to 0x7_).
    const LO: [i8; 16] = {
        let mut t = [0u8; 16];
        let mut c = 0x20;
        while c < 0x80 {
            if super::CLASS[c] {
                t[c & 0x0F] |= 1 << ((c >> 4) - 2);
            }
            c += 1;
        }
        let mut out = [0i8; 16];
        let mut i = 0;
        while i < 16 {
            out[i] = t[i] as i8;
            i += 1;
        }
        out
    };
    const HI: [i8; 16] = [0, 0, 1, 2, 4, 8, 16, 32, 0, 0, 0, 0, 0, 0, 0, 0];

    #[target_feature(enable = "avx2")]
    unsafe fn lut(t: &[i8; 16]) -> __m256i {
        let x = _mm_loadu_si128(t.as_ptr().cast());
        _mm256_broadcastsi128_si256(x)
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn class32(v: __m256i, lo: __m256i, hi: __m256i) -> u32 {
        let nib = _mm256_set1_epi8(0x0F);
        let l = _mm256_shuffle_epi8(lo, _mm256_and_si256(v, nib));
        let h = _mm256_shuffle_epi8(hi, _mm256_and_si256(_mm256_srli_epi16(v, 4), nib));
        let c = _mm256_and_si256(l, h);
        !(_mm256_movemask_epi8(_mm256_cmpeq_epi8(c, _mm256_setzero_si256())) as u32)
    }

    /// # Safety
    ///
    /// The CPU must support AVX2, BMI1 and LZCNT.
    #[target_feature(enable = "avx2,bmi1,lzcnt")]
    pub unsafe fn runs(text: &[u8], mut run: impl FnMut(Range<usize>)) {
        let lo = lut(&LO);
        let hi = lut(&HI);
        let mut t = RunTracker { start: None };
        // Where the run reaching the current block started (usize::MAX: none),
        // kept in a register on the fast path.
        let mut start = usize::MAX;
        let mut base = 0;
        while base + 64 <= text.len() {
            let p = text.as_ptr().add(base);
            let a = class32(_mm256_loadu_si256(p.cast()), lo, hi);
            let b = class32(_mm256_loadu_si256(p.add(32).cast()), lo, hi);
            let m = u64::from(a) | (u64::from(b) << 32);
            if m == u64::MAX {
                start = start.min(base);
            } else {
                let mut r = m;
                r &= r >> 1;
                r &= r >> 2;
                r &= r >> 4;
                r &= r >> 8;
                r &= r >> 12;
                let t0 = (!m).trailing_zeros() as usize;
                if r == 0 && (start == usize::MAX || base + t0 - start < super::MIN_BASE64) {
                    let lead = (!m).leading_zeros() as usize;
                    start = if lead > 0 {
                        base + 64 - lead
                    } else {
                        usize::MAX
                    };
                } else {
                    t.start = (start != usize::MAX).then_some(start);
                    t.walk(base, 64, m, &mut run);
                    start = t.start.take().unwrap_or(usize::MAX);
                }
            }
            base += 64;
        }
        t.start = (start != usize::MAX).then_some(start);
        let len = text.len() - base;
        if len > 0 {
            let mut m = 0u64;
            for (i, &c) in text[base..].iter().enumerate() {
                if in_run(c) {
                    m |= 1 << i;
                }
            }
            t.block(base, len, m, &mut run);
        }
        t.finish(text.len(), &mut run);
    }
}

/// Decodes a run as hex (when it is all hex digits) or base64, keeping the
/// result only if it is text. The first bytes are tried first, on the stack,
/// so that most runs (identifiers, hashes, binary) cost a few lookups.
fn decode(run: &[u8]) -> Option<(Encoding, Vec<u8>)> {
    if run.len() >= MIN_HEX
        && run.len().is_multiple_of(2)
        && run[..8].iter().all(u8::is_ascii_hexdigit)
    {
        let mut head = [0u8; 4];
        for (i, p) in run[..8].chunks_exact(2).enumerate() {
            head[i] = (hexval(p[0]) << 4) | hexval(p[1]);
        }
        if is_text(&head, false) && run.iter().all(u8::is_ascii_hexdigit) {
            let d: Vec<u8> = run
                .chunks_exact(2)
                .map(|p| (hexval(p[0]) << 4) | hexval(p[1]))
                .collect();
            return is_text(&d, true).then_some((Encoding::Hex, d));
        }
    }
    let mut head = [0u8; 12];
    base64_into(&run[..16], &mut head);
    if !is_text(&head, false) {
        return None;
    }
    let mut d = vec![0u8; run.len() * 3 / 4];
    let n = base64_into(run, &mut d);
    d.truncate(n);
    is_text(&d, true).then_some((Encoding::Base64, d))
}

/// Decodes base64 digits (no padding) into `out`, which must hold
/// `run.len() * 3 / 4` bytes; returns the number written.
fn base64_into(run: &[u8], out: &mut [u8]) -> usize {
    let mut acc: u32 = 0;
    let mut bits = 0;
    let mut n = 0;
    for &c in run {
        acc = (acc << 6) | u32::from(VALUE[c as usize] & 0x3F);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out[n] = (acc >> bits) as u8;
            n += 1;
        }
    }
    n
}

fn hexval(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => c.wrapping_sub(b'A').wrapping_add(10) & 0x0F,
    }
}

/// Whether decoded bytes are text. The first bytes of a run (`whole` false)
/// must be printable ASCII or white space: random bytes pass that one time
/// in 10^5. The whole must be UTF-8 with at most 2% control characters.
fn is_text(d: &[u8], whole: bool) -> bool {
    if !whole {
        return d
            .iter()
            .all(|&b| (0x20..0x7F).contains(&b) || matches!(b, b'\t' | b'\n' | b'\r'));
    }
    let control = d
        .iter()
        .filter(|&&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0x7F)
        .count();
    control * 50 <= d.len() && std::str::from_utf8(d).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_wrapped_over_lines_is_decoded_as_one_block() {
        use base64::Engine;
        let secret = "password = hunter2-but-much-longer; token = ghp_R8fK2mQ9xLz4Tb7Wc1Vn5Hj3Ds6Ga0Py2Ue8 and more text to wrap";
        let encoded = base64::engine::general_purpose::STANDARD.encode(secret);
        for width in [76, 64] {
            for indent in ["", "    "] {
                let wrapped: Vec<String> = encoded
                    .as_bytes()
                    .chunks(width)
                    .map(|c| format!("{indent}{}", std::str::from_utf8(c).unwrap()))
                    .collect();
                let text = format!("data: |\n{}\nnext: 1\n", wrapped.join("\n"));
                let mut got = Vec::new();
                decode_runs(text.as_bytes(), |r, e, d| got.push((r, e, d)));
                assert_eq!(got.len(), 1, "width {width} indent {indent:?}: {got:?}");
                let (r, e, d) = &got[0];
                assert_eq!(*e, Encoding::Base64);
                assert_eq!(d, secret.as_bytes());
                assert_eq!(&text[r.clone()].replace(['\n', ' '], ""), &encoded);
            }
        }
    }

    fn b64(s: &[u8]) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in s.chunks(3) {
            let v = (u32::from(chunk[0]) << 16)
                | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
                | u32::from(*chunk.get(2).unwrap_or(&0));
            for k in 0..4 {
                if k <= chunk.len() {
                    out.push(A[((v >> (18 - 6 * k)) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    fn decoded(text: &[u8]) -> Vec<(Range<usize>, Encoding, Vec<u8>)> {
        let mut v = Vec::new();
        decode_runs(text, |r, e, d| v.push((r, e, d)));
        v
    }

    #[test]
    fn escaped_json_is_undone_one_level_at_a_time() {
        let text = b"a\nlog {\"m\": \"{\\\\\\\"pw\\\\\\\": \\\\\\\"x\\\\\\\"}\"}\nsay \\\"hi\n";
        let mut got = Vec::new();
        escaped_runs(text, |r, d| got.push((r, d)));
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].0, 2..text.len() - 10);
        let once = &got[0].1;
        assert_eq!(once, br#"log {"m": "{\"pw\": \"x\"}"}"#);
        let mut again = Vec::new();
        escaped_runs(once, |_, d| again.push(d));
        assert_eq!(again, [br#"log {"m": "{"pw": "x"}"}"#.to_vec()]);
        // One `\"` on a line is a quote in a string, not embedded JSON.
        let mut none = Vec::new();
        escaped_runs(b"say \\\"hi", |r, _| none.push(r));
        assert!(none.is_empty());
    }

    #[test]
    fn percent_runs_decode_with_their_keys() {
        let got = decoded(b"url = \"https://x.test/cb?token=ghp%5Fabc&next=%2Fhome\"\n");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].1, Encoding::Percent);
        assert_eq!(got[0].2, b"https://x.test/cb?token=ghp_abc&next=/home");
        assert_eq!(
            &b"url = \"https://x.test/cb?token=ghp%5Fabc&next=%2Fhome\"\n"[got[0].0.clone()][..5],
            b"https"
        );
        // printf formats and lone percent signs are no escapes; a decoded
        // run that is not text is dropped.
        assert!(decoded(b"printf(\"%d%% done\", n)").is_empty());
        assert!(decoded(b"x=%00%01%02%03%04").is_empty());
        // Runs around several escapes are decoded once.
        let got = decoded(b"a=p%40ss%21 b=%7Ex");
        assert_eq!(
            got.iter().map(|g| g.2.clone()).collect::<Vec<_>>(),
            [b"a=p@ss!".to_vec(), b"b=~x".to_vec()]
        );
    }

    #[test]
    fn finds_base64_with_padding_and_position() {
        let secret = b"ghp_R8fK2mQ9xLz4Tb7Wc1Vn5Hj3Ds6Ga0Py2Ue8x";
        let enc = b64(secret);
        assert!(enc.ends_with('='));
        let text = format!("data:\n  token: {enc}\n  other: 1\n");
        let got = decoded(text.as_bytes());
        assert_eq!(got.len(), 1);
        assert_eq!(&text[got[0].0.clone()], enc);
        assert_eq!(got[0].2, secret);
    }

    #[test]
    fn hex_and_rejections() {
        let hexed: String = b"xoxb-123456789012-abcdefghijklmn"
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let got = decoded(format!("v={hexed};").as_bytes());
        assert_eq!(got[0].1, Encoding::Hex);
        assert_eq!(got[0].2, b"xoxb-123456789012-abcdefghijklmn");
        // A git object id, a sha512 integrity hash and identifiers are not text.
        for s in [
            "3fce3b5e9a1c4d2b8f7e6a5d4c3b2a1908f7e6d5",
            "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==",
            "this_is_a_really_long_snake_case_function_name",
            "ThisIsAVeryLongCamelCaseIdentifierName",
            "src/main/java/com/example/project/Application",
        ] {
            assert!(decoded(s.as_bytes()).is_empty(), "{s}");
        }
    }

    #[test]
    fn fast_and_portable_finders_agree() {
        let mut seed = 7u64;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let alphabet = b"AZaz09+/-_=. \n\xc3\xa9:\"";
        for len in [0, 1, 27, 28, 63, 64, 65, 127, 128, 129, 1000, 5000] {
            for _ in 0..20 {
                // Long in-class stretches with occasional breaks.
                let text: Vec<u8> = (0..len)
                    .map(|_| {
                        let r = rnd();
                        if r % 40 == 0 {
                            alphabet[(r >> 8) as usize % alphabet.len()]
                        } else {
                            b"Ab9+/Zz0"[(r >> 16) as usize % 8]
                        }
                    })
                    .collect();
                let mut a = Vec::new();
                runs(&text, |r| a.push(r));
                let mut b = Vec::new();
                runs_scalar(&text, |r| b.push(r));
                assert_eq!(a, b, "len {len}");
            }
        }
    }

    #[test]
    fn short_runs_and_boundaries() {
        assert!(decoded(b64(b"short text").as_bytes()).is_empty());
        // Several runs on a line, each found.
        let a = b64(b"first secret-ish text value!!");
        let b = b64(b"second secret-ish text value!");
        let got = decoded(format!("{a} {b}").as_bytes());
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].2, b"second secret-ish text value!");
    }
}
