//! Filters that tell a secret from text shaped like one.

use super::CharClass;

/// Shannon entropy of `bytes`, in bits per byte (0 for empty input).
///
/// ```
/// assert_eq!(keysweep::rules::entropy(b"aaaa"), 0.0);
/// assert!((keysweep::rules::entropy(b"ab") - 1.0).abs() < 1e-9);
/// ```
pub fn entropy(bytes: &[u8]) -> f64 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in bytes {
        counts[b as usize] += 1;
    }
    let n = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// Words that mark a value as documentation or a template rather than a secret.
const PLACEHOLDER_WORDS: &[&str] = &[
    "example",
    "changeme",
    "change_me",
    "change-me",
    "placeholder",
    "your_",
    "your-",
    "yourkey",
    "yourtoken",
    "yoursecret",
    "replace_me",
    "replaceme",
    "redacted",
    "dummy",
    "insert_",
    "xxxxxx",
    "******",
    "${",
    "{{",
    "<",
    ">",
    "%(",
    "...",
    "\u{2026}",
];

/// Whether `secret` looks like a placeholder (`changeme`, `<your-key>`, `xxxx…`,
/// `${VAR}`, the providers' documented `EXAMPLE` keys) rather than a real value.
///
/// ```
/// use keysweep::rules::is_placeholder;
/// assert!(is_placeholder(b"AKIAIOSFODNN7EXAMPLE"));
/// assert!(is_placeholder(b"${OPENAI_API_KEY}"));
/// assert!(is_placeholder(b"xxxxxxxxxxxxxxxxxxxx"));
/// assert!(!is_placeholder(b"ghp_R8fK2mQ9xLz4Tb7Wc1Vn5Hj3Ds6Ga0Py2Ue8"));
/// ```
pub fn is_placeholder(secret: &[u8]) -> bool {
    let lower = secret.to_ascii_lowercase();
    let text = String::from_utf8_lossy(&lower);
    if PLACEHOLDER_WORDS.iter().any(|w| text.contains(w)) {
        return true;
    }
    // A value made of one or two distinct characters (`0000…`, `abababab`) is filler.
    let mut seen = [false; 256];
    let mut distinct = 0;
    for &b in &lower {
        if !seen[b as usize] {
            seen[b as usize] = true;
            distinct += 1;
        }
    }
    if lower.len() >= 6 && distinct <= 2 {
        return true;
    }
    // Long ascending runs such as `1234567890` or `abcdefgh` are keyboard filler.
    let mut run = 1;
    for w in lower.windows(2) {
        if w[1] == w[0].wrapping_add(1) {
            run += 1;
            if run >= 8 {
                return true;
            }
        } else {
            run = 1;
        }
    }
    false
}

/// Whether `secret` has at least one byte of each class.
pub fn has_classes(secret: &[u8], classes: &[CharClass]) -> bool {
    classes.iter().all(|c| {
        secret.iter().any(|&b| match c {
            CharClass::Digit => b.is_ascii_digit(),
            CharClass::Lower => b.is_ascii_lowercase(),
            CharClass::Upper => b.is_ascii_uppercase(),
            CharClass::Letter => b.is_ascii_alphabetic(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        for p in [
            "changeme",
            "<your-api-key>",
            "YOUR_API_KEY_HERE",
            "sk-xxxxxxxxxxxxxxxxxxxxxxxx",
            "${env:TOKEN}",
            "{{ secrets.TOKEN }}",
            "00000000000000000000",
            "abcdefghijklmnop",
            "********",
            "REDACTED",
        ] {
            assert!(is_placeholder(p.as_bytes()), "{p} should be a placeholder");
        }
        for s in [
            "hQ7vN2pX9rL4kT8w",
            "sk-proj-a8F3kL9qW2xZ7mN4",
            "Zm9vYmFyYmF6cXV4",
        ] {
            assert!(
                !is_placeholder(s.as_bytes()),
                "{s} should not be a placeholder"
            );
        }
    }

    #[test]
    fn entropy_bounds() {
        assert_eq!(entropy(b""), 0.0);
        assert!((entropy(b"abcd") - 2.0).abs() < 1e-9);
        assert!(entropy(b"hQ7vN2pX9rL4kT8wZ") > 3.5);
    }

    #[test]
    fn classes() {
        assert!(has_classes(b"abc1", &[CharClass::Digit, CharClass::Letter]));
        assert!(!has_classes(b"abcd", &[CharClass::Digit]));
        assert!(has_classes(b"aB", &[CharClass::Upper, CharClass::Lower]));
    }
}
