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

use super::candidate::{Candidate, Form};
use super::value;

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
        let has = |w: &str| s.contains(w);
        FileContext {
            test: has("test") || has("spec") || has("mock") || has("fixture") || has("fake"),
            example: has("example") || has("sample") || has("demo") || has("tutorial"),
            doc: matches!(ext, "md" | "rst" | "txt" | "adoc" | "html" | "htm" | "tex")
                || has("/doc"),
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

fn has_any(lower: &[u8], words: &[&str]) -> bool {
    words.iter().any(|w| value::contains(lower, w.as_bytes()))
}

fn b(x: bool) -> f32 {
    if x {
        1.0
    } else {
        0.0
    }
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
        let line = &line[..line.len().min(super::candidate::MAX_LINE)];
        let l = line.to_ascii_lowercase();
        LineFacts {
            comment: value::is_comment_line(line),
            getenv: has_any(
                &l,
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
            ),
            assert: has_any(&l, &["assert", "expect", "should", "verify", "mock"]),
            log: has_any(
                &l,
                &[
                    "log.", "logger", "print", "console.", "echo ", "debug", "warn(", "error(",
                ],
            ),
            html: has_any(
                &l,
                &[
                    "<input",
                    "<label",
                    "placeholder=",
                    "type=\"password\"",
                    "<form",
                ],
            ),
        }
    }
}

/// The feature vector of one candidate in `text`; `facts` are its line's.
pub fn features(text: &[u8], c: &Candidate, file: &FileContext, facts: &LineFacts) -> [f32; COUNT] {
    let mut f = [0f32; COUNT];
    let name = &text[c.name.clone()];
    let lname = name.to_ascii_lowercase();
    let raw = &text[c.value.clone()];
    let val = if raw.len() > super::candidate::MAX_VALUE {
        &raw[..super::candidate::MAX_VALUE]
    } else {
        raw
    };
    let line_len = c.line.len().min(super::candidate::MAX_LINE);
    let shape = value::Shape::of(val);

    let mut i = 0;
    let mut put = |x: f32| {
        f[i] = x;
        i += 1;
    };
    // name
    let n = lname.as_slice();
    put(b(has_any(n, &["pass", "pwd", "psw"])));
    put(b(has_any(n, &["secret"])));
    put(b(has_any(n, &["token", "tkn", "bearer"])));
    put(b(has_any(n, &["key"])));
    put(b(has_any(n, &["apikey", "api_key", "api-key", "api.key"])));
    put(b(has_any(n, &["auth"])));
    put(b(has_any(n, &["cred"])));
    put(b(has_any(n, &["private", "priv_"])));
    put(b(has_any(n, &["access"])));
    put(b(has_any(n, &["client"])));
    put(b(has_any(n, &["salt", "nonce", "seed", "otp"])));
    put(b(has_any(n, &["session", "cookie", "login", "signature"])));
    put(b(has_any(n, &["aws", "amz"])));
    put(b(has_any(
        n,
        &[
            "db", "database", "mysql", "postgres", "redis", "mongo", "sql", "smtp", "mail", "ldap",
            "ftp",
        ],
    )));
    let bare = n.rsplit(|&x| x == b'.').next().unwrap_or(n);
    put(b(bare == b"key" || bare == b"\"key\"" || bare == b"keys"));
    put(b(has_any(
        n,
        &[
            "key_id", "keyid", "key-id", "_id", "name", "username", "user", "kid", "_ref", "alias",
        ],
    ) || n.ends_with(b"id")));
    put(b(has_any(
        n,
        &["public", "pub_", "publishable", "pubkey", "anon"],
    )));
    put(b(has_any(
        n,
        &[
            "url", "uri", "endpoint", "path", "file", "dir", "host", "server", "location",
            "prefix", "bucket",
        ],
    )));
    put(b(has_any(
        n,
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
    )));
    put(b(has_any(
        n,
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
    )));
    put(b(has_any(
        n,
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
    )));
    put((name.len() as f32).min(64.0));
    put(b(
        !name.is_empty() && name.iter().all(|c| !c.is_ascii_lowercase())
    ));
    put(b(name.is_empty()));
    // value
    put((val.len() as f32).min(256.0));
    put(b(shape.lower > 0));
    put(b(shape.upper > 0));
    put(b(shape.digit > 0));
    put(b(shape.special > 0));
    put(shape.classes() as f32);
    put(shape.entropy);
    put(shape.entropy_ratio());
    put(shape.frac(shape.digit));
    put(shape.frac(shape.upper));
    put(shape.frac(shape.special));
    put(b(shape.space > 0));
    put(b(value::is_hex(val)));
    put(b(value::is_base64ish(val)));
    put(b(value::is_uuid(val)));
    put(b(value::contains(val, b"://")));
    put(b(value::is_path(val)));
    put(b(value::is_number(val)));
    put(b(value::is_date(val)));
    put(b(value::is_version(val)));
    put(b(value::is_identifier(val)));
    put(value::word_fraction(val));
    put(value::bigram_score(val));
    put(value::max_repeat(val) as f32);
    put(value::max_sequence(val) as f32);
    put(b(value::is_placeholder(val)));
    put(b(value::is_template(val)));
    put(b(value::is_masked(val)));
    put(b(value::eq_name(val, name)));
    put(b(value::has_name_word(val)));
    put(val.iter().filter(|&&x| x == b'.').count().min(8) as f32);
    put(b(value::is_email(val)));
    put(b(value::jwt_claims(val).is_some()));
    put(b(value::is_public_by_design(val)));
    put(b(value::has_known_prefix(val)));
    put(b(val.first().is_some_and(|x| x.is_ascii_uppercase())));
    put(if c.form == Form::Pem {
        value::pem_body_chars(val) as f32
    } else {
        0.0
    });
    // surroundings
    put(match c.quote {
        b'"' => 1.0,
        b'\'' => 2.0,
        b'`' => 3.0,
        _ => 0.0,
    });
    put(b(c.wrapper.is_some()));
    let wrapper_env = c.wrapper.as_ref().is_some_and(|w| {
        let w = text[w.clone()].to_ascii_lowercase();
        has_any(
            &w,
            &[
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
            ],
        )
    });
    put(b(wrapper_env));
    put(b(c.auth_scheme.is_some()));
    put(c.arg as f32);
    put(b(facts.comment));
    put(b(facts.getenv));
    put(b(file.test));
    put(b(file.example));
    put(b(file.doc));
    put(b(file.code));
    put(b(file.config));
    put(b(file.data));
    put(b(facts.assert));
    let after = text
        .get(c.value.end + usize::from(c.quote != 0)..)
        .unwrap_or(&[]);
    let after = &after[..after.len().min(8)];
    let concat = after
        .iter()
        .find(|&&x| x != b' ')
        .is_some_and(|&x| x == b'+' || x == b'%' || x == b'.');
    put(b(concat));
    put((line_len as f32).min(512.0));
    put(b(facts.log));
    put(b(facts.html));
    for form in Form::ALL {
        put(b(c.form == form));
    }
    debug_assert_eq!(i, COUNT);
    f
}
