//! Features of a candidate: its name, its value's shape and its surroundings.
//!
//! Training (`tools/generic-model/`) reads these through
//! `examples/generic_features.rs`, so the model sees at training time exactly
//! what it sees when scanning. Adding, removing or reordering a feature
//! changes [`NAMES`] and requires retraining (the model checks the count).
//!
//! # Cost
//!
//! Linear in the value's length (at most [`super::candidate::MAX_VALUE`]
//! bytes) plus the line's (at most [`super::candidate::MAX_LINE`]).

use std::path::Path;
use std::sync::OnceLock;

use super::candidate::{Candidate, Form};
use super::value::{self, WordGroups};

/// Feature names, in vector order.
pub const NAMES: &[&str] = &[
    // name
    "n_pass",
    "n_secret",
    "n_token",
    "n_key",
    "n_apikey",
    "n_auth",
    "n_cred",
    "n_private",
    "n_access",
    "n_client",
    "n_salt",
    "n_session",
    "n_aws",
    "n_db",
    "n_bare_key",
    "n_neg_id",
    "n_neg_public",
    "n_neg_location",
    "n_neg_meta",
    "n_neg_hash",
    "n_neg_key_kind",
    "n_len",
    "n_upper",
    "n_empty",
    // value
    "v_len",
    "v_lower",
    "v_upper",
    "v_digit",
    "v_special",
    "v_classes",
    "v_entropy",
    "v_entropy_ratio",
    "v_frac_digit",
    "v_frac_upper",
    "v_frac_special",
    "v_space",
    "v_hex",
    "v_base64",
    "v_uuid",
    "v_url",
    "v_path",
    "v_number",
    "v_date",
    "v_version",
    "v_identifier",
    "v_words",
    "v_bigram",
    "v_repeat",
    "v_sequence",
    "v_placeholder",
    "v_template",
    "v_masked",
    "v_eq_name",
    "v_has_name_word",
    "v_dots",
    "v_email",
    "v_jwt",
    "v_public",
    "v_known_prefix",
    "v_starts_upper",
    "v_pem_body",
    // surroundings
    "c_quote",
    "c_wrapper",
    "c_wrapper_env",
    "c_auth_scheme",
    "c_arg",
    "c_comment",
    "c_getenv",
    "c_test_path",
    "c_example_path",
    "c_doc_file",
    "c_code_file",
    "c_config_file",
    "c_data_file",
    "c_assert",
    "c_concat",
    "c_line_len",
    "c_log",
    "c_html",
    // forms
    "f_assign",
    "f_colon",
    "f_compare",
    "f_call",
    "f_flag",
    "f_xml",
    "f_split",
    "f_url",
    "f_header",
    "f_pem",
    "f_aws",
];

/// Number of features.
pub const COUNT: usize = NAMES.len();

/// Path words that mark test code and fixtures.
const TEST_WORDS: &[&str] = &[
    "test",
    "tests",
    "testing",
    "testdata",
    "testutil",
    "testutils",
    "testcase",
    "testcases",
    "unittest",
    "unittests",
    "spec",
    "specs",
    "mock",
    "mocks",
    "fixture",
    "fixtures",
    "fake",
    "fakes",
];

/// Path words that mark examples and tutorials.
const EXAMPLE_WORDS: &[&str] = &[
    "example",
    "examples",
    "sample",
    "samples",
    "demo",
    "demos",
    "tutorial",
    "tutorials",
];

/// The words of a path, lowercased: split at every character that is not
/// a letter or digit and where a lowercase letter meets an uppercase one
/// (`src/FooTest.java` → src, foo, test, java). Whole words, so that
/// `contest.py`, `inspect/`, `docker/` and a checkout under `/home/tester`
/// say nothing about tests or docs.
pub fn path_words(path: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in path.chars() {
        if (!c.is_alphanumeric() || (prev_lower && c.is_uppercase())) && !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
        if c.is_alphanumeric() {
            cur.extend(c.to_lowercase());
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// Extensions of documentation and prose files.
fn is_doc_ext(ext: &str) -> bool {
    matches!(ext, "md" | "rst" | "txt" | "adoc" | "html" | "htm" | "tex")
}

/// Whether the path says test code, fixtures, examples or documentation,
/// read as whole words ([`path_words`]) plus the documentation extensions:
/// what caps the generic detector's findings at low.
pub fn is_quiet_path(path: Option<&Path>) -> bool {
    let Some(path) = path else {
        return false;
    };
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    is_doc_ext(&ext)
        || path_words(&path.to_string_lossy()).iter().any(|w| {
            TEST_WORDS.contains(&w.as_str())
                || EXAMPLE_WORDS.contains(&w.as_str())
                || matches!(w.as_str(), "doc" | "docs" | "documentation")
        })
}

/// What a file's path says, computed once per file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileContext {
    pub test: bool,
    pub example: bool,
    pub doc: bool,
    pub code: bool,
    pub config: bool,
    pub data: bool,
}

impl FileContext {
    /// Reads the path's directories and extension.
    pub fn from_path(path: Option<&Path>) -> FileContext {
        let Some(path) = path else {
            return FileContext::default();
        };
        let s = path.to_string_lossy().to_ascii_lowercase();
        let name = s.rsplit(['/', '\\']).next().unwrap_or("");
        let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
        // Substrings, as the model was trained on (`docker/` reads as
        // `/doc`); the quiet cap reads whole words instead (`is_quiet_path`).
        let has = |w: &str| s.contains(w);
        FileContext {
            test: has("test") || has("spec") || has("mock") || has("fixture") || has("fake"),
            example: has("example") || has("sample") || has("demo") || has("tutorial"),
            doc: is_doc_ext(ext) || has("/doc"),
            code: matches!(
                ext,
                "py" | "js"
                    | "ts"
                    | "mjs"
                    | "cjs"
                    | "jsx"
                    | "tsx"
                    | "java"
                    | "kt"
                    | "go"
                    | "rb"
                    | "php"
                    | "cs"
                    | "c"
                    | "cc"
                    | "cpp"
                    | "h"
                    | "hpp"
                    | "rs"
                    | "scala"
                    | "swift"
                    | "m"
                    | "groovy"
                    | "sh"
                    | "bash"
                    | "ps1"
                    | "pl"
                    | "lua"
                    | "dart"
                    | "r"
                    | "ex"
                    | "exs"
                    | "erl"
                    | "clj"
                    | "vb"
                    | "sql"
            ),
            config: matches!(
                ext,
                "yml"
                    | "yaml"
                    | "toml"
                    | "ini"
                    | "cfg"
                    | "conf"
                    | "env"
                    | "properties"
                    | "xml"
                    | "config"
                    | "tf"
                    | "tfvars"
                    | "example"
                    | "template"
                    | "j2"
                    | "tpl"
            ) || name.starts_with(".env")
                || name == "dockerfile",
            data: matches!(
                ext,
                "json" | "tfstate" | "csv" | "snap" | "lock" | "log" | "har"
            ),
        }
    }
}

fn b(x: bool) -> f32 {
    if x {
        1.0
    } else {
        0.0
    }
}

/// The words a name feature looks for, one group per feature in vector
/// order (`n_bare_key`, `n_len`, `n_upper` and `n_empty` are computed).
/// A table of data: the words are the model's vocabulary.
const NAME_GROUPS: &[&[&str]] = &[
    &["pass", "pwd", "psw"],
    &["secret"],
    &["token", "tkn", "bearer"],
    &["key"],
    &["apikey", "api_key", "api-key", "api.key"],
    &["auth"],
    &["cred"],
    &["private", "priv_"],
    &["access"],
    &["client"],
    &["salt", "nonce", "seed", "otp"],
    &["session", "cookie", "login", "signature"],
    &["aws", "amz"],
    &[
        "db", "database", "mysql", "postgres", "redis", "mongo", "sql", "smtp", "mail", "ldap",
        "ftp",
    ],
    // n_neg_id
    &[
        "key_id", "keyid", "key-id", "_id", "name", "username", "user", "kid", "_ref", "alias",
    ],
    // n_neg_public
    &["public", "pub_", "publishable", "pubkey", "anon"],
    // n_neg_location
    &[
        "url", "uri", "endpoint", "path", "file", "dir", "host", "server", "location", "prefix",
        "bucket",
    ],
    // n_neg_meta
    &[
        "field",
        "label",
        "type",
        "length",
        "len",
        "size",
        "count",
        "max",
        "min",
        "format",
        "policy",
        "hint",
        "regex",
        "pattern",
        "prompt",
        "placeholder",
        "message",
        "text",
        "title",
        "input",
        "column",
        "header",
        "param",
        "mode",
        "enabled",
        "expir",
        "timeout",
        "ttl",
        "error",
        "status",
        "valid",
        "reset",
        "forgot",
        "confirm",
        "change",
        "strength",
        "storage",
        "manager",
        "provider",
        "service",
        "class",
        "method",
        "event",
        "index",
        "cache",
        "store",
        "request",
        "response",
        "callback",
        "handler",
        "option",
        "setting",
    ],
    // n_neg_hash
    &[
        "hash",
        "digest",
        "hashed",
        "encrypted",
        "checksum",
        "fingerprint",
        "md5",
        "sha",
    ],
    // n_neg_key_kind
    &[
        "keyboard",
        "keycode",
        "keymap",
        "keyword",
        "keystore",
        "keyfile",
        "keypath",
        "hotkey",
        "monkey",
        "turkey",
        "keyval",
        "sortkey",
        "primarykey",
        "primary_key",
        "foreign",
        "partition",
        "cachekey",
        "cache_key",
        "keyname",
        "key_name",
        "keys",
        "_keyboard",
        "keyup",
        "keydown",
        "keypress",
    ],
];

/// Bits of [`name_groups`] used outside the feature vector.
pub(crate) mod group {
    pub const PASS: u32 = 1 << 0;
    pub const SECRET: u32 = 1 << 1;
    pub const TOKEN: u32 = 1 << 2;
    pub const KEY: u32 = 1 << 3;
    pub const AUTH: u32 = 1 << 5;
    /// Index of the first group after `n_db` (`n_bare_key` goes before it).
    pub const AFTER_DB: usize = 14;
}

/// Which of [`NAME_GROUPS`] occur in `name` (bit `g` for group `g`).
pub(crate) fn name_groups(name: &[u8]) -> u32 {
    static G: OnceLock<WordGroups> = OnceLock::new();
    G.get_or_init(|| WordGroups::new(NAME_GROUPS)).of(name)
}

/// The words a line fact looks for: getenv, assert, log, html.
const LINE_GROUPS: &[&[&str]] = &[
    &[
        "getenv",
        "environ",
        "process.env",
        "env(",
        "env[",
        "env.",
        "${",
        "config.get",
        "settings.",
        "vault",
        "secretkeyref",
        "valuefrom",
        "keyvault",
    ],
    &["assert", "expect", "should", "verify", "mock"],
    &[
        "log.", "logger", "print", "console.", "echo ", "debug", "warn(", "error(",
    ],
    &[
        "<input",
        "<label",
        "placeholder=",
        "type=\"password\"",
        "<form",
    ],
];

/// Wrapping calls that read a value from elsewhere or translate a label
/// (`getenv("X")`, `_t("Password")`).
const WRAPPER_ENV: &[&[&str]] = &[&[
    "env",
    "get",
    "config",
    "param",
    "arg",
    "setting",
    "lookup",
    "read",
    "load",
    "secret",
    "translate",
    "gettext",
    "_t",
    "i18n",
    "lang",
]];

fn wrapper_is_env(wrapper: &[u8]) -> bool {
    static G: OnceLock<WordGroups> = OnceLock::new();
    G.get_or_init(|| WordGroups::new(WRAPPER_ENV)).any(wrapper)
}

/// What a candidate's line says, computed once per line: every candidate
/// of a line shares it.
#[derive(Debug, Clone, Copy, Default)]
pub struct LineFacts {
    pub comment: bool,
    pub getenv: bool,
    pub assert: bool,
    pub log: bool,
    pub html: bool,
}

impl LineFacts {
    /// Reads `line` (at most [`super::candidate::MAX_LINE`] bytes of it).
    pub fn of(line: &[u8]) -> LineFacts {
        static G: OnceLock<WordGroups> = OnceLock::new();
        let line = &line[..line.len().min(super::candidate::MAX_LINE)];
        let g = G.get_or_init(|| WordGroups::new(LINE_GROUPS)).of(line);
        LineFacts {
            comment: value::is_comment_line(line),
            getenv: g & 1 != 0,
            assert: g & 2 != 0,
            log: g & 4 != 0,
            html: g & 8 != 0,
        }
    }
}

/// A feature vector being filled in order.
struct Vector {
    f: [f32; COUNT],
    i: usize,
}

impl Vector {
    fn put(&mut self, x: f32) {
        self.f[self.i] = x;
        self.i += 1;
    }

    fn flag(&mut self, x: bool) {
        self.put(b(x));
    }
}

/// The feature vector of one candidate in `text`; `facts` are its line's.
pub fn features(text: &[u8], c: &Candidate, file: &FileContext, facts: &LineFacts) -> [f32; COUNT] {
    let mut x = Vector {
        f: [0f32; COUNT],
        i: 0,
    };
    let name = &text[c.name.clone()];
    let raw = &text[c.value.clone()];
    let val = &raw[..raw.len().min(super::candidate::MAX_VALUE)];
    name_features(&mut x, name);
    value_features(&mut x, val, name, c.form);
    context_features(&mut x, text, c, file, facts);
    for form in Form::ALL {
        x.flag(c.form == form);
    }
    debug_assert_eq!(x.i, COUNT);
    x.f
}

/// `n_*`: the name's words, its length and case.
fn name_features(x: &mut Vector, name: &[u8]) {
    let groups = name_groups(name);
    for g in 0..NAME_GROUPS.len() {
        if g == group::AFTER_DB {
            let bare = name.rsplit(|&c| c == b'.').next().unwrap_or(name);
            let is = |w: &[u8]| bare.eq_ignore_ascii_case(w);
            x.flag(is(b"key") || is(b"\"key\"") || is(b"keys"));
        }
        let ends_id = name.len() >= 2 && name[name.len() - 2..].eq_ignore_ascii_case(b"id");
        x.flag(groups & (1 << g) != 0 || (g == group::AFTER_DB && ends_id));
    }
    x.put((name.len() as f32).min(64.0));
    x.flag(!name.is_empty() && name.iter().all(|c| !c.is_ascii_lowercase()));
    x.flag(name.is_empty());
}

/// `v_*`: the value's length, classes, entropy and shapes.
fn value_features(x: &mut Vector, val: &[u8], name: &[u8], form: Form) {
    let shape = value::Shape::of(val);
    x.put((val.len() as f32).min(256.0));
    x.flag(shape.lower > 0);
    x.flag(shape.upper > 0);
    x.flag(shape.digit > 0);
    x.flag(shape.special > 0);
    x.put(shape.classes() as f32);
    x.put(shape.entropy);
    x.put(shape.entropy_ratio());
    x.put(shape.frac(shape.digit));
    x.put(shape.frac(shape.upper));
    x.put(shape.frac(shape.special));
    x.flag(shape.space > 0);
    x.flag(value::is_hex(val));
    x.flag(value::is_base64ish(val));
    x.flag(value::is_uuid(val));
    x.flag(value::contains(val, b"://"));
    x.flag(value::is_path(val));
    x.flag(value::is_number(val));
    x.flag(value::is_date(val));
    x.flag(value::is_version(val));
    x.flag(value::is_identifier(val));
    x.put(value::word_fraction(val));
    x.put(value::bigram_score(val));
    x.put(value::max_repeat(val) as f32);
    x.put(value::max_sequence(val) as f32);
    x.flag(value::is_placeholder(val));
    x.flag(value::is_template(val));
    x.flag(value::is_masked(val));
    x.flag(value::eq_name(val, name));
    x.flag(value::has_name_word(val));
    x.put(val.iter().filter(|&&c| c == b'.').count().min(8) as f32);
    x.flag(value::is_email(val));
    x.flag(value::jwt_claims(val).is_some());
    x.flag(value::is_public_by_design(val));
    x.flag(value::has_known_prefix(val));
    x.flag(val.first().is_some_and(|c| c.is_ascii_uppercase()));
    x.put(if form == Form::Pem {
        value::pem_body_chars(val) as f32
    } else {
        0.0
    });
}

/// `c_*`: quoting, wrapping call, the line's facts and the file's kind.
fn context_features(
    x: &mut Vector,
    text: &[u8],
    c: &Candidate,
    file: &FileContext,
    facts: &LineFacts,
) {
    x.put(match c.quote {
        b'"' => 1.0,
        b'\'' => 2.0,
        b'`' => 3.0,
        _ => 0.0,
    });
    x.flag(c.wrapper.is_some());
    x.flag(
        c.wrapper
            .as_ref()
            .is_some_and(|w| wrapper_is_env(&text[w.clone()])),
    );
    x.flag(c.auth_scheme.is_some());
    x.put(c.arg as f32);
    x.flag(facts.comment);
    x.flag(facts.getenv);
    x.flag(file.test);
    x.flag(file.example);
    x.flag(file.doc);
    x.flag(file.code);
    x.flag(file.config);
    x.flag(file.data);
    x.flag(facts.assert);
    let after = text
        .get(c.value.end + usize::from(c.quote != 0)..)
        .unwrap_or(&[]);
    let after = &after[..after.len().min(8)];
    let concat = after
        .iter()
        .find(|&&c| c != b' ')
        .is_some_and(|&c| c == b'+' || c == b'%' || c == b'.');
    x.flag(concat);
    x.put((c.line.len().min(super::candidate::MAX_LINE) as f32).min(512.0));
    x.flag(facts.log);
    x.flag(facts.html);
}
