//! What a value looks like: classes, entropy, and the shapes that are not
//! secrets (hashes, UUIDs, paths, numbers, dates, versions, identifiers,
//! templates, placeholders, public-by-design keys).
//!
//! Every function is linear in the value's length, and values are at most
//! [`super::candidate::MAX_VALUE`] bytes.

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind};
use base64::Engine as _;

/// Groups of words, each looked for as a substring in any case: one
/// automaton pass over a text tells which groups occur in it.
pub(crate) struct WordGroups {
    ac: AhoCorasick,
    /// For each automaton pattern, the groups (bits) it belongs to.
    masks: Vec<u32>,
}

impl WordGroups {
    pub(crate) fn new(groups: &[&[&str]]) -> WordGroups {
        assert!(groups.len() <= 32, "at most 32 groups");
        let mut words: Vec<&str> = Vec::new();
        let mut masks: Vec<u32> = Vec::new();
        for (g, group) in groups.iter().enumerate() {
            for w in group.iter() {
                match words.iter().position(|x| x == w) {
                    Some(p) => masks[p] |= 1 << g,
                    None => {
                        words.push(w);
                        masks.push(1 << g);
                    }
                }
            }
        }
        let ac = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&words)
            .expect("word groups automaton");
        WordGroups { ac, masks }
    }

    /// Whether a word of any group occurs in `text`.
    pub(crate) fn any(&self, text: &[u8]) -> bool {
        self.ac.is_match(text)
    }

    /// The groups with a word in `text` (bit `g` for group `g`).
    pub(crate) fn of(&self, text: &[u8]) -> u32 {
        self.ac
            .find_overlapping_iter(text)
            .fold(0, |m, hit| m | self.masks[hit.pattern().as_usize()])
    }
}

/// Character counts and entropy of a value.
#[derive(Debug, Clone, Copy, Default)]
pub struct Shape {
    pub len: usize,
    pub lower: usize,
    pub upper: usize,
    pub digit: usize,
    pub special: usize,
    pub space: usize,
    /// Shannon entropy, bits per byte.
    pub entropy: f32,
}

impl Shape {
    pub fn of(v: &[u8]) -> Shape {
        let mut s = Shape {
            len: v.len(),
            ..Shape::default()
        };
        let mut counts = [0u16; 256];
        for &c in v {
            counts[c as usize] = counts[c as usize].saturating_add(1);
            match c {
                b'a'..=b'z' => s.lower += 1,
                b'A'..=b'Z' => s.upper += 1,
                b'0'..=b'9' => s.digit += 1,
                b' ' | b'\t' => s.space += 1,
                _ => s.special += 1,
            }
        }
        s.entropy = entropy_of(&counts, v.len());
        s
    }

    pub fn classes(&self) -> usize {
        [self.lower, self.upper, self.digit, self.special]
            .iter()
            .filter(|&&n| n > 0)
            .count()
    }

    pub fn frac(&self, n: usize) -> f32 {
        if self.len == 0 {
            0.0
        } else {
            n as f32 / self.len as f32
        }
    }

    /// Entropy over the most a value of this length can have.
    pub fn entropy_ratio(&self) -> f32 {
        if self.len < 2 {
            return 0.0;
        }
        let max = (self.len.min(256) as f32).log2();
        self.entropy / max
    }
}

fn entropy_of(counts: &[u16; 256], n: usize) -> f32 {
    if n == 0 {
        return 0.0;
    }
    let n = n as f32;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f32 / n;
            -p * p.log2()
        })
        .sum()
}

/// Whether `needle` occurs in `hay`: a plain scan, cheaper than building a
/// `memmem` searcher for the short names and values read here.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    match needle.first() {
        None => true,
        Some(&first) => {
            hay.len() >= needle.len()
                && (0..=hay.len() - needle.len())
                    .any(|i| hay[i] == first && &hay[i..i + needle.len()] == needle)
        }
    }
}

/// Shannon entropy of `v`, bits per byte.
pub fn entropy(v: &[u8]) -> f32 {
    Shape::of(v).entropy
}

pub fn is_hex(v: &[u8]) -> bool {
    v.len() >= 16 && v.iter().all(|c| c.is_ascii_hexdigit())
}

pub fn is_base64ish(v: &[u8]) -> bool {
    v.len() >= 16
        && v.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=' | b'-' | b'_'))
}

/// `8-4-4-4-12` hex digits, as GUIDs and UUIDs are written.
pub fn is_uuid(v: &[u8]) -> bool {
    let v = v.strip_prefix(b"{").unwrap_or(v);
    let v = v.strip_suffix(b"}").unwrap_or(v);
    if v.len() != 36 {
        return false;
    }
    v.iter().enumerate().all(|(i, &c)| match i {
        8 | 13 | 18 | 23 => c == b'-',
        _ => c.is_ascii_alphanumeric(),
    })
}

pub fn is_path(v: &[u8]) -> bool {
    let slashes = v.iter().filter(|&&c| c == b'/' || c == b'\\').count();
    v.starts_with(b"/")
        || v.starts_with(b"./")
        || v.starts_with(b"../")
        || v.starts_with(b"~/")
        || (v.len() > 2 && v[1] == b':' && v[2] == b'\\')
        || (slashes >= 2 && !is_base64ish(v))
        || ends_with_ext(v)
}

fn ends_with_ext(v: &[u8]) -> bool {
    const EXTS: &[&[u8]] = &[
        b".json",
        b".pem",
        b".key",
        b".crt",
        b".p12",
        b".pfx",
        b".jks",
        b".txt",
        b".yml",
        b".yaml",
        b".xml",
        b".html",
        b".js",
        b".py",
        b".cfg",
        b".conf",
        b".png",
        b".jpg",
        b".keystore",
        b".der",
        b".pub",
        b".env",
        b".ini",
        b".properties",
        b".log",
        b".csv",
    ];
    EXTS.iter()
        .any(|e| v.len() >= e.len() && v[v.len() - e.len()..].eq_ignore_ascii_case(e))
}

pub fn is_number(v: &[u8]) -> bool {
    !v.is_empty()
        && v.iter()
            .all(|&c| c.is_ascii_digit() || matches!(c, b'.' | b'-' | b'_' | b'e' | b'x'))
        && v.iter().any(|c| c.is_ascii_digit())
        && v.iter().filter(|c| c.is_ascii_alphabetic()).count() <= 1
}

/// An unquoted value that is code, not data: a number with a type suffix
/// (`1073741837i32`, `0x10u64`, `42UL`, as in `windows-sys`' thousands of
/// `pub const …_PASSWORD: u32 = …;`), or an expression (`Cwd::getcwd()`,
/// `self->pass`, `env::var(KEY)`).
pub fn is_code_value(v: &[u8]) -> bool {
    const SUFFIXES: &[&[u8]] = &[
        b"i8", b"i16", b"i32", b"i64", b"i128", b"isize", b"u8", b"u16", b"u32", b"u64", b"u128",
        b"usize", b"f32", b"f64", b"ull", b"ul", b"ll", b"lu", b"u", b"l",
    ];
    let unsigned = v.strip_prefix(b"-").unwrap_or(v);
    let lower = unsigned.to_ascii_lowercase();
    let typed = SUFFIXES.iter().any(|s| {
        lower.strip_suffix(*s).is_some_and(|n| {
            let n = n.strip_suffix(b"_").unwrap_or(n);
            let hex = n.strip_prefix(b"0x").is_some_and(|h| {
                !h.is_empty() && h.iter().all(|c| c.is_ascii_hexdigit() || *c == b'_')
            });
            hex || (!n.is_empty() && n.iter().all(|c| c.is_ascii_digit() || *c == b'_'))
        })
    });
    let expr = v.ends_with(b")") && v.contains(&b'(') || contains(v, b"::") || contains(v, b"->");
    typed || expr
}

/// `2024-05-01`, `01/05/2024`, `2024-05-01T10:00:00Z`.
pub fn is_date(v: &[u8]) -> bool {
    if v.len() < 8 || v.len() > 40 {
        return false;
    }
    let digits = v.iter().filter(|c| c.is_ascii_digit()).count();
    let seps = v
        .iter()
        .filter(|&&c| matches!(c, b'-' | b'/' | b':' | b'.' | b'T' | b'Z' | b' ' | b'+'))
        .count();
    digits + seps == v.len()
        && digits >= 6
        && (v[4] == b'-' || v[2] == b'/' || v[2] == b'-' || v[4] == b'/')
}

/// `1.2.3`, `v2.0`, `3.11-slim`.
pub fn is_version(v: &[u8]) -> bool {
    let v = v.strip_prefix(b"v").unwrap_or(v);
    let dots = v.iter().filter(|&&c| c == b'.').count();
    !v.is_empty()
        && v[0].is_ascii_digit()
        && dots >= 1
        && v.iter()
            .take_while(|&&c| c.is_ascii_digit() || c == b'.')
            .count()
            * 2
            >= v.len()
}

/// A code identifier: `user_password`, `dbPassword`, `DB_PASSWORD`,
/// `config.secret`. Letters (and `_.-`), with the shape of words joined.
pub fn is_identifier(v: &[u8]) -> bool {
    if v.len() < 3 || !v[0].is_ascii_alphabetic() {
        return false;
    }
    if !v
        .iter()
        .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
    {
        return false;
    }
    let digits = v.iter().filter(|c| c.is_ascii_digit()).count();
    if digits * 4 > v.len() {
        return false;
    }
    let joins = v.iter().filter(|&&c| matches!(c, b'_' | b'.')).count();
    let humps = v
        .windows(2)
        .filter(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase())
        .count();
    let all_upper = v.iter().all(|c| !c.is_ascii_lowercase());
    joins > 0 || (humps > 0 && humps * 4 <= v.len()) || (all_upper && v.len() >= 4)
}

/// Common English and code words; a value made of them is rarely random.
const WORDS: &[&str] = &[
    "the",
    "and",
    "for",
    "you",
    "your",
    "our",
    "not",
    "are",
    "all",
    "new",
    "get",
    "set",
    "use",
    "user",
    "name",
    "pass",
    "word",
    "password",
    "secret",
    "token",
    "key",
    "api",
    "auth",
    "admin",
    "root",
    "test",
    "demo",
    "example",
    "sample",
    "dummy",
    "fake",
    "mock",
    "default",
    "change",
    "changeme",
    "here",
    "value",
    "string",
    "null",
    "none",
    "true",
    "false",
    "empty",
    "data",
    "config",
    "app",
    "application",
    "server",
    "client",
    "service",
    "access",
    "private",
    "public",
    "local",
    "host",
    "port",
    "mail",
    "email",
    "login",
    "guest",
    "welcome",
    "hello",
    "world",
    "foo",
    "bar",
    "baz",
    "qux",
    "abc",
    "xyz",
    "qwerty",
    "letmein",
    "master",
    "super",
    "my",
    "db",
    "database",
    "mysql",
    "postgres",
    "redis",
    "mongo",
    "dev",
    "prod",
    "staging",
    "secure",
    "insecure",
    "random",
    "session",
    "cookie",
    "file",
    "path",
    "type",
    "field",
    "input",
    "form",
    "text",
    "label",
    "enter",
    "please",
    "required",
    "invalid",
    "error",
    "message",
    "must",
    "with",
    "from",
    "this",
    "that",
    "will",
    "should",
    "have",
    "has",
    "was",
    "can",
    "one",
    "two",
    "three",
    "some",
    "any",
    "other",
    "info",
    "list",
    "item",
    "page",
    "home",
    "web",
    "site",
    "account",
    "id",
    "code",
    "number",
    "date",
    "time",
    "old",
    "reset",
    "confirm",
    "current",
    "repeat",
    "store",
    "storage",
    "manager",
    "create",
    "update",
    "delete",
    "read",
    "write",
    "load",
    "save",
    "open",
    "close",
    "start",
    "stop",
    "run",
    "default",
    "version",
    "build",
    "release",
    "main",
    "master",
    "branch",
    "project",
    "org",
    "team",
    "group",
    "role",
    "policy",
    "rule",
    "bucket",
    "region",
    "cloud",
    "google",
    "amazon",
    "aws",
    "azure",
    "github",
    "gitlab",
    "docker",
    "kube",
    "jenkins",
    "slack",
    "twitter",
    "facebook",
    "stripe",
    "paypal",
    "oauth",
    "jwt",
    "bearer",
    "basic",
    "hash",
    "salt",
    "encrypt",
    "decrypt",
    "cipher",
    "sign",
    "signature",
    "verify",
    "valid",
    "check",
    "hidden",
    "show",
    "hide",
    "strong",
    "weak",
    "length",
    "min",
    "max",
    "size",
    "count",
    "index",
    "replace",
    "insert",
    "placeholder",
    "redacted",
    "masked",
    "sensitive",
    "credential",
    "credentials",
    "secrets",
    "tokens",
    "keys",
    "passwords",
    "ssh",
    "rsa",
    "pem",
    "cert",
    "certificate",
    "ssl",
    "tls",
    "http",
    "https",
    "url",
    "uri",
    "endpoint",
    "callback",
    "redirect",
    "response",
    "request",
    "header",
    "body",
    "query",
    "param",
    "params",
];

fn word_set() -> &'static std::collections::HashSet<&'static [u8]> {
    static SET: std::sync::OnceLock<std::collections::HashSet<&'static [u8]>> =
        std::sync::OnceLock::new();
    SET.get_or_init(|| WORDS.iter().map(|w| w.as_bytes()).collect())
}

/// The fraction of the value's letters that belong to common words, reading
/// alphabetic runs split at case changes (`myDbPassword` is `my Db Password`).
pub fn word_fraction(v: &[u8]) -> f32 {
    let set = word_set();
    let letters = v.iter().filter(|c| c.is_ascii_alphabetic()).count();
    if letters == 0 {
        return 0.0;
    }
    let mut covered = 0;
    let mut i = 0;
    let mut buf = [0u8; 32];
    while i < v.len() {
        if !v[i].is_ascii_alphabetic() {
            i += 1;
            continue;
        }
        let s = i;
        i += 1;
        while i < v.len()
            && v[i].is_ascii_alphabetic()
            && !(v[i].is_ascii_uppercase() && v[i - 1].is_ascii_lowercase())
        {
            i += 1;
        }
        let run = &v[s..i];
        if run.len() < 2 || run.len() > 32 {
            continue;
        }
        let lower = &mut buf[..run.len()];
        lower.copy_from_slice(run);
        lower.make_ascii_lowercase();
        if set.contains(&*lower) {
            covered += run.len();
        } else {
            // A run made of two words (`dbpassword`, `secretkey`).
            let l = &*lower;
            if (2..l.len().saturating_sub(1))
                .any(|k| set.contains(&l[..k]) && set.contains(&l[k..]))
            {
                covered += run.len();
            }
        }
    }
    covered as f32 / letters as f32
}

/// English letter pairs common enough to mark readable text.
const BIGRAMS: &[&[u8; 2]] = &[
    b"th", b"he", b"in", b"er", b"an", b"re", b"on", b"at", b"en", b"nd", b"ti", b"es", b"or",
    b"te", b"of", b"ed", b"is", b"it", b"al", b"ar", b"st", b"to", b"nt", b"ng", b"se", b"ha",
    b"as", b"ou", b"io", b"le", b"ve", b"co", b"me", b"de", b"hi", b"ri", b"ro", b"ic", b"ne",
    b"ea", b"ra", b"ce", b"li", b"ch", b"ll", b"be", b"ma", b"si", b"om", b"ur", b"ca", b"el",
    b"ta", b"la", b"ns", b"di", b"fo", b"ho", b"pe", b"ec", b"pr", b"no", b"ct", b"us", b"ac",
    b"ot", b"il", b"tr", b"ly", b"nc", b"et", b"ut", b"ss", b"so", b"rs", b"un", b"lo", b"wa",
    b"ge", b"ie", b"wh", b"ee", b"wi", b"em", b"ad", b"ol", b"rt", b"po", b"we", b"na", b"ul",
    b"ni", b"ts", b"mo", b"ow", b"pa", b"im", b"mi", b"ai", b"sh", b"ir", b"su", b"id", b"os",
    b"iv", b"ia", b"am", b"fi", b"ci", b"vi", b"pl", b"ig", b"tu", b"ev", b"ld", b"ry", b"mp",
    b"fe", b"bl", b"ab", b"gh", b"ty", b"op", b"wo", b"sa", b"ay", b"ex", b"ke", b"fr", b"oo",
    b"av", b"ag", b"if", b"ap", b"gr", b"od", b"bo", b"sp", b"rd", b"do", b"uc", b"bu", b"ei",
    b"ov", b"by", b"rm", b"ep", b"tt", b"oc", b"fa", b"ef", b"cu", b"rn", b"sc", b"gi", b"da",
    b"yo", b"cr", b"cl", b"du", b"ga", b"qu", b"ue", b"ff", b"ba", b"ey", b"ls", b"va", b"um",
    b"pp", b"ua", b"up", b"lu", b"go", b"ht", b"ru", b"ug", b"ds", b"lt", b"pi", b"rc", b"rr",
    b"eg", b"au", b"ck", b"ew", b"mu", b"br", b"bi", b"pt", b"ak", b"pu", b"ui", b"rg", b"ib",
    b"tl", b"ny", b"ki", b"rk", b"ys", b"ob", b"mm", b"fu", b"ph", b"og", b"ms", b"ye", b"ud",
    b"mb", b"ip", b"ub", b"oi", b"rl", b"gu", b"dr", b"hr", b"cc", b"tw", b"ft", b"wn", b"nu",
];

fn bigram_table() -> &'static [[bool; 26]; 26] {
    static T: std::sync::OnceLock<[[bool; 26]; 26]> = std::sync::OnceLock::new();
    T.get_or_init(|| {
        let mut t = [[false; 26]; 26];
        for bg in BIGRAMS {
            t[(bg[0] - b'a') as usize][(bg[1] - b'a') as usize] = true;
        }
        t
    })
}

/// The fraction of adjacent letter pairs that are common in English: high
/// for words and names, lower for random strings.
pub fn bigram_score(v: &[u8]) -> f32 {
    let t = bigram_table();
    let mut pairs = 0;
    let mut common = 0;
    for w in v.windows(2) {
        let (a, b) = (w[0].to_ascii_lowercase(), w[1].to_ascii_lowercase());
        if a.is_ascii_lowercase() && b.is_ascii_lowercase() {
            pairs += 1;
            if t[(a - b'a') as usize][(b - b'a') as usize] {
                common += 1;
            }
        }
    }
    if pairs == 0 {
        0.0
    } else {
        common as f32 / pairs as f32
    }
}

/// The longest run of one repeated byte.
pub fn max_repeat(v: &[u8]) -> usize {
    let mut best = usize::from(!v.is_empty());
    let mut run = 1;
    for w in v.windows(2) {
        if w[0] == w[1] {
            run += 1;
            best = best.max(run);
        } else {
            run = 1;
        }
    }
    best
}

/// The longest ascending or descending run (`12345`, `abcd`, `9876`).
pub fn max_sequence(v: &[u8]) -> usize {
    let mut best = usize::from(!v.is_empty());
    let (mut up, mut down) = (1, 1);
    for w in v.windows(2) {
        up = if w[1] == w[0].wrapping_add(1) {
            up + 1
        } else {
            1
        };
        down = if w[1].wrapping_add(1) == w[0] {
            down + 1
        } else {
            1
        };
        best = best.max(up).max(down);
    }
    best
}

const PLACEHOLDERS: &[&str] = &[
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
    "yourpass",
    "<your",
    "replace",
    "redacted",
    "dummy",
    "insert",
    "xxxx",
    "****",
    "....",
    "\u{2026}",
    "todo",
    "fixme",
    "fake",
    "sample",
    "secret_here",
    "_here",
    "-here",
    "not_set",
    "notset",
    "undefined",
    "null",
    "none",
    "empty",
    "default",
    "password",
    "passw0rd",
    "p@ssw0rd",
    "secret",
    "foobar",
    "test",
    "1234",
    "abcd",
    "qwerty",
    "letmein",
    "admin",
    "hunter2",
    "xyz",
    "mysecret",
    "mypass",
    "s3cr3t",
];

/// Documentation and test filler: `changeme`, `your-key`, `xxxx`, `test`.
pub fn is_placeholder(v: &[u8]) -> bool {
    static G: OnceLock<WordGroups> = OnceLock::new();
    if G.get_or_init(|| WordGroups::new(&[PLACEHOLDERS])).any(v) {
        return true;
    }
    let mut seen = [false; 256];
    let distinct = v
        .iter()
        .filter(|&&c| !std::mem::replace(&mut seen[c.to_ascii_lowercase() as usize], true))
        .count();
    v.len() >= 4 && distinct <= 2
}

/// A reference to a value held elsewhere: `${VAR}`, `$VAR`, `{{ x }}`,
/// `%(x)s`, `%s`, `{0}`, `<value>`, `#{x}`, `@VAR@`.
pub fn is_template(v: &[u8]) -> bool {
    let has = |n: &[u8]| contains(v, n);
    has(b"${")
        || has(b"{{")
        || has(b"%(")
        || has(b"#{")
        || v.starts_with(b"$")
        || v.starts_with(b"%") && v.len() <= 3
        || (v.starts_with(b"<") && v.ends_with(b">"))
        || (v.starts_with(b"{") && v.ends_with(b"}"))
        || (v.starts_with(b"@") && v.ends_with(b"@"))
        || (v.starts_with(b"[") && v.ends_with(b"]"))
        || has(b"%s")
        || has(b"%d")
        || has(b"{0}")
        || has(b"{}")
        || has(b"$(")
}

/// `********`, `●●●●`, `<redacted>`, `...`.
pub fn is_masked(v: &[u8]) -> bool {
    let stars = v
        .iter()
        .filter(|&&c| c == b'*' || c == b'.' || c == b'x' || c == b'X' || c == b'#')
        .count();
    v.len() >= 3 && stars * 2 > v.len()
}

fn alnum_lower(v: &[u8]) -> Vec<u8> {
    v.iter()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(u8::to_ascii_lowercase)
        .collect()
}

/// The value repeats its name (`password = "password"`, `API_KEY=api_key`),
/// or the name's last word (`db.password = "password"`).
pub fn eq_name(v: &[u8], name: &[u8]) -> bool {
    let a = alnum_lower(v);
    if a.is_empty() {
        return false;
    }
    let b = alnum_lower(name);
    if a == b || (b.len() >= 4 && (a.contains_slice(&b) || b.contains_slice(&a))) {
        return true;
    }
    let last = name
        .rsplit(|c| !c.is_ascii_alphanumeric())
        .find(|s| !s.is_empty())
        .map(alnum_lower)
        .unwrap_or_default();
    last.len() >= 3 && a.contains_slice(&last)
}

trait ContainsSlice {
    fn contains_slice(&self, needle: &[u8]) -> bool;
}

impl ContainsSlice for Vec<u8> {
    fn contains_slice(&self, needle: &[u8]) -> bool {
        contains(self, needle)
    }
}

/// The value holds a credential word itself (`db_password`, `api-token`).
pub fn has_name_word(v: &[u8]) -> bool {
    static G: OnceLock<WordGroups> = OnceLock::new();
    G.get_or_init(|| WordGroups::new(&[&["pass", "secret", "token", "key", "auth", "cred", "pwd"]]))
        .any(v)
}

pub fn is_email(v: &[u8]) -> bool {
    match memchr::memchr(b'@', v) {
        Some(p) => p > 0 && v[p + 1..].contains(&b'.') && !v.contains(&b' '),
        None => false,
    }
}

/// The claims of a JWT (`header.payload.signature`, base64url), when `v`
/// is one whose header decodes to JSON.
pub fn jwt_claims(v: &[u8]) -> Option<serde_json::Value> {
    if !v.starts_with(b"eyJ") || v.len() > 4096 {
        return None;
    }
    let mut parts = v.split(|&c| c == b'.');
    let _header = parts.next()?;
    let payload = parts.next()?;
    parts.next()?;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let trimmed: Vec<u8> = payload.iter().copied().filter(|&c| c != b'=').collect();
    let decoded = engine.decode(trimmed).ok()?;
    serde_json::from_slice(&decoded).ok()
}

/// Published by design, not a secret: Stripe publishable keys (`pk_`),
/// Mapbox public tokens (`pk.`), Google OAuth client ids, JWTs whose claims
/// say they are public (Supabase `role: anon`) or the jwt.io sample, and
/// the vendors' own documented samples ([`is_documented_sample`]).
pub fn is_public_by_design(v: &[u8]) -> bool {
    if v.starts_with(b"pk_live_") || v.starts_with(b"pk_test_") || v.starts_with(b"pk.eyJ") {
        return true;
    }
    if is_documented_sample(v) {
        return true;
    }
    if v.ends_with(b".apps.googleusercontent.com") {
        return true;
    }
    if let Some(claims) = jwt_claims(v) {
        let role = claims.get("role").and_then(|r| r.as_str());
        if role == Some("anon") {
            return true;
        }
        let sample = claims.get("sub").and_then(|s| s.as_str()) == Some("1234567890")
            && claims.get("name").and_then(|s| s.as_str()) == Some("John Doe");
        if sample {
            return true;
        }
    }
    false
}

/// Keys that vendors print in their documentation or ship in local
/// emulators, the same on every machine: AWS's documentation keys (an
/// access key id or secret key ending in `EXAMPLE` / `EXAMPLEKEY`, as in
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html>),
/// the Azurite storage emulator's account key and the Azure Cosmos DB
/// emulator's key (both published by Microsoft: Azurite's README, "Use the
/// Azure Cosmos DB emulator for local development").
pub fn is_documented_sample(v: &[u8]) -> bool {
    const EMULATOR_KEYS: &[&[u8]] = &[
        b"Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
        b"C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==",
    ];
    let aws_sample = (v.len() == 20
        && (v.starts_with(b"AKIA") || v.starts_with(b"ASIA"))
        && v.ends_with(b"EXAMPLE"))
        || (v.len() == 40 && v.ends_with(b"EXAMPLEKEY"));
    aws_sample || EMULATOR_KEYS.contains(&v)
}

/// A name that says its value is published (`FLW_PUBLIC_KEY`,
/// `stripePublishableKey`): such values are reported at low confidence at
/// most. Not "never": CredData labels some `PublicKey{Key: …}` literals as
/// credentials, and a secret under a misleading name is still a leak.
pub fn is_public_name(name: &[u8]) -> bool {
    static G: OnceLock<WordGroups> = OnceLock::new();
    G.get_or_init(|| WordGroups::new(&[&["public", "publishable"]]))
        .any(name)
}

/// Starts like a provider's token (`ghp_`, `xoxb-`, `sk_live_`, `AKIA`):
/// the provider rules report those.
pub fn has_known_prefix(v: &[u8]) -> bool {
    const PREFIXES: &[&[u8]] = &[
        b"ghp_",
        b"gho_",
        b"ghs_",
        b"ghu_",
        b"github_pat_",
        b"glpat-",
        b"xoxb-",
        b"xoxp-",
        b"xoxa-",
        b"sk_live_",
        b"sk_test_",
        b"rk_live_",
        b"sk-",
        b"AKIA",
        b"ASIA",
        b"AIza",
        b"SG.",
        b"npm_",
        b"pypi-",
        b"hf_",
        b"shpat_",
        b"dop_v1_",
        b"glc_",
        b"eyJ",
    ];
    PREFIXES.iter().any(|p| v.starts_with(p))
}

/// Base64 characters in a PEM value (its body, headers excluded).
pub fn pem_body_chars(v: &[u8]) -> usize {
    let body = match memchr::memmem::find(v.get(10..).unwrap_or(&[]), b"-----") {
        Some(p) => &v[(10 + p + 5).min(v.len())..],
        None => v,
    };
    body.iter()
        .filter(|c| c.is_ascii_alphanumeric() || **c == b'+' || **c == b'/')
        .count()
        .min(4096)
}

/// Whether the line is a comment (`#`, `//`, `/*`, `*`, `--`, `<!--`, `;`,
/// `%`, `rem`).
pub fn is_comment_line(line: &[u8]) -> bool {
    let t = line
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .map_or(&line[line.len()..], |p| &line[p..]);
    t.starts_with(b"#")
        || t.starts_with(b"//")
        || t.starts_with(b"/*")
        || t.starts_with(b"* ")
        || t.starts_with(b"--")
        || t.starts_with(b"<!--")
        || t.starts_with(b";")
        || t.starts_with(b"%")
        || t.starts_with(b"REM ")
        || t.starts_with(b"rem ")
}
