//! Go RE2 syntax, as gitleaks configs use it, mapped onto keysweep's regex
//! dialect (regex-syntax in ASCII, byte-oriented mode).
//!
//! What differs, and what is done about it:
//!
//! | Go RE2                         | keysweep                         | mapping              |
//! |--------------------------------|----------------------------------|----------------------|
//! | `\Q…\E` quotes literally       | not supported                    | escaped literal      |
//! | `\123` octal escapes           | not supported                    | `\x{53}`             |
//! | `\<`, `\>` are literal `<`, `>`| word boundaries                  | `<`, `>`             |
//! | `{` not starting `{n}`, `{n,}`, `{n,m}` is literal | an error     | `\{` (and `\}`)      |
//! | `[` inside a class is literal  | starts a nested class            | `\[`                 |
//! | `&&`, `~~`, `--` in a class are literal | class set operators     | escaped              |
//! | `\pL`, `\p{Greek}` Unicode classes | not in ASCII mode            | error naming the rule|
//! | `\C` any byte                  | not supported                    | error naming the rule|
//!
//! `\d`, `\w`, `\s` and `\b` are ASCII in both. `(?i)` folds ASCII only here,
//! where Go also folds a few non-ASCII letters (`ſ`, `K`); and `.` matches any
//! byte but `\n` here, any UTF-8 character but `\n` in Go. Neither changes what
//! a secret-detection regex finds in practice.

/// Translates a Go RE2 pattern into keysweep's dialect.
///
/// # Errors
///
/// Fails on syntax with no equivalent (Unicode classes, `\C`, backreferences)
/// and on an unterminated escape, with a message saying which.
///
/// ```
/// use keysweep::gitleaks::re2::translate;
/// assert_eq!(translate(r"\Qa.b\E{2}").unwrap(), r"a\.b{2}");
/// assert_eq!(translate(r"key{x}").unwrap(), r"key\{x\}");
/// assert_eq!(translate(r"[a[]").unwrap(), r"[a\[]");
/// assert!(translate(r"\pL+").is_err());
/// ```
pub fn translate(re: &str) -> Result<String, Re2Error> {
    let chars: Vec<char> = re.chars().collect();
    let n = chars.len();
    let mut out = String::with_capacity(re.len() + 8);
    let mut i = 0;
    let mut in_class = false;
    // Index of the first item in the current class: a `]` there is literal.
    let mut class_first = 0;
    while i < n {
        let c = chars[i];
        if c == '\\' {
            i = escape(&chars, i, in_class, &mut out)?;
            continue;
        }
        if in_class {
            (i, in_class) = class_item(&chars, i, class_first, &mut out);
            continue;
        }
        match c {
            '[' => {
                in_class = true;
                out.push('[');
                i += 1;
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                class_first = i;
                continue;
            }
            '{' => match repetition_len(&chars[i..]) {
                Some(len) => {
                    out.extend(&chars[i..i + len]);
                    i += len;
                    continue;
                }
                None => out.push_str("\\{"),
            },
            '}' => out.push_str("\\}"),
            _ => out.push(c),
        }
        i += 1;
    }
    Ok(out)
}

/// An RE2 construct with no equivalent in keysweep's regex dialect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Re2Error {
    #[error("trailing backslash")]
    TrailingBackslash,
    #[error("`\\C` (any single byte) has no equivalent")]
    AnyByte,
    #[error(
        "Unicode classes (`\\p…`) are not supported: keysweep regexes match \
         ASCII classes over bytes; use an explicit class such as `[A-Za-z]`"
    )]
    UnicodeClass,
    #[error("backreference `\\{0}` is not supported")]
    Backreference(char),
    #[error("octal escape `\\{0}` is out of range")]
    Octal(String),
}

/// Translates the escape at `chars[i]` (a backslash); returns the index after
/// it.
fn escape(chars: &[char], i: usize, in_class: bool, out: &mut String) -> Result<usize, Re2Error> {
    let n = chars.len();
    let Some(&d) = chars.get(i + 1) else {
        return Err(Re2Error::TrailingBackslash);
    };
    match d {
        'Q' if !in_class => {
            let mut j = i + 2;
            let mut lit = String::new();
            while j < n && !(chars[j] == '\\' && chars.get(j + 1) == Some(&'E')) {
                lit.push(chars[j]);
                j += 1;
            }
            out.push_str(&regex_syntax::escape(&lit));
            Ok((j + 2).min(n))
        }
        'C' => Err(Re2Error::AnyByte),
        'p' | 'P' => Err(Re2Error::UnicodeClass),
        '<' | '>' => {
            out.push(d);
            Ok(i + 2)
        }
        '0'..='7' => {
            let start = i + 1;
            let mut j = start;
            while j < n && j < start + 3 && ('0'..='7').contains(&chars[j]) {
                j += 1;
            }
            if d != '0' && j - start < 2 {
                return Err(Re2Error::Backreference(d));
            }
            let digits: String = chars[start..j].iter().collect();
            let value = u32::from_str_radix(&digits, 8).expect("octal digits");
            if value > 0xFF {
                return Err(Re2Error::Octal(digits));
            }
            out.push_str(&format!("\\x{{{value:02X}}}"));
            Ok(j)
        }
        '8' | '9' => Err(Re2Error::Backreference(d)),
        _ => {
            out.push('\\');
            out.push(d);
            Ok(i + 2)
        }
    }
}

/// Translates the character at `chars[i]` inside a class; returns the index
/// after it and whether the class goes on.
fn class_item(chars: &[char], i: usize, class_first: usize, out: &mut String) -> (usize, bool) {
    let c = chars[i];
    match c {
        ']' if i > class_first => {
            out.push(']');
            return (i + 1, false);
        }
        ']' => out.push_str("\\]"),
        '[' => {
            // POSIX classes such as `[:alpha:]` are the same in both.
            let rest: String = chars[i..].iter().take(12).collect();
            match rest.find(":]") {
                Some(end) if rest.starts_with("[:") => {
                    out.push_str(&rest[..end + 2]);
                    return (i + rest[..end + 2].chars().count(), true);
                }
                _ => out.push_str("\\["),
            }
        }
        '&' | '~' => {
            out.push('\\');
            out.push(c);
        }
        '-' if chars.get(i + 1) == Some(&'-') => {
            out.push_str("-\\-");
            return (i + 2, true);
        }
        _ => out.push(c),
    }
    (i + 1, true)
}

/// The length of a counted repetition (`{n}`, `{n,}`, `{n,m}`) at the start of
/// `s`, if there is one; anything else is a literal `{` in Go.
fn repetition_len(s: &[char]) -> Option<usize> {
    let mut i = 1;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < s.len() && s[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > start
    };
    if !digits(&mut i) {
        return None;
    }
    if s.get(i) == Some(&',') {
        i += 1;
        digits(&mut i);
    }
    (s.get(i) == Some(&'}')).then_some(i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::build_regex;

    fn ok(go: &str, expect: &str) {
        let t = translate(go).unwrap_or_else(|e| panic!("{go}: {e}"));
        assert_eq!(t, expect, "{go}");
        build_regex(&t).unwrap_or_else(|e| panic!("{go} -> {t}: {e}"));
    }

    #[test]
    fn mappings() {
        ok(
            r"(?i)token\s*=\s*([a-z0-9]{32})",
            r"(?i)token\s*=\s*([a-z0-9]{32})",
        );
        ok(r"\Q$HOME\E/x", r"\$HOME/x");
        ok(r"a\101\0", r"a\x{41}\x{00}");
        ok(r"\<tag\>", r"<tag>");
        ok(r"x{,3}", r"x\{,3\}");
        ok(r"{{ secret }}", r"\{\{ secret \}\}");
        ok(r"a{2,}b{1,3}c{4}", r"a{2,}b{1,3}c{4}");
        ok(r"[]a]", r"[\]a]");
        ok(r"[^]a]", r"[^\]a]");
        ok(r"[[:alpha:]_]", r"[[:alpha:]_]");
        ok(r"[a&&b]", r"[a\&\&b]");
        ok(r"[+--]", r"[+-\-]");
        ok(r"(?P<key>[A-Z]{4})", r"(?P<key>[A-Z]{4})");
    }

    #[test]
    fn translated_regexes_match_like_go() {
        let re = build_regex(&translate(r"\Qa.b\E{2}").unwrap()).unwrap();
        assert!(re.is_match(b"a.bb"));
        assert!(!re.is_match(b"axbb"));
        let re = build_regex(&translate(r"\<x\>").unwrap()).unwrap();
        assert!(re.is_match(b"<x>"));
    }

    #[test]
    fn unsupported() {
        for (go, word) in [
            (r"\pL", "Unicode"),
            (r"\p{Greek}", "Unicode"),
            (r"a\C", "\\C"),
            (r"(a)\1", "backreference"),
            (r"a\", "trailing"),
        ] {
            let e = translate(go).unwrap_err();
            assert!(e.to_string().contains(word), "{go}: {e}");
        }
    }
}
