//! Telling a literal credential from a reference, shared by the MCP and CI
//! formats: which names are sensitive, which values are references in some
//! tool's syntax, and which literals look like a secret at all.

use crate::rules::{entropy, is_placeholder};

/// Words that make a variable, header or flag name sensitive.
const SENSITIVE_WORDS: &[&str] = &[
    "KEY",
    "APIKEY",
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "PASS",
    "PWD",
    "PASSPHRASE",
    "AUTH",
    "AUTHORIZATION",
    "CREDENTIAL",
    "CREDENTIALS",
    "CREDS",
    "PAT",
    "BEARER",
    "COOKIE",
];

/// Suffixes that make a word sensitive when glued to another (`APIKEY`,
/// `ACCESSTOKEN`, `CLIENTSECRET`).
const SENSITIVE_SUFFIXES: &[&str] = &["KEY", "TOKEN", "SECRET", "PASSWORD"];

/// A last word that names something about a credential, not the credential
/// (`API_KEY_ID`, `TOKEN_URL`, `SECRET_FILE`).
const NOT_A_VALUE: &[&str] = &[
    "ID",
    "IDS",
    "FILE",
    "FILES",
    "PATH",
    "DIR",
    "URL",
    "URI",
    "ENDPOINT",
    "HOST",
    "NAME",
    "USER",
    "USERNAME",
    "TYPE",
    "REGION",
    "HEADER",
    "ENV",
    "VAR",
    "FILENAME",
    "LENGTH",
    "SIZE",
    "EXPIRY",
    "EXPIRES",
    "TTL",
    "VERSION",
    "ALGORITHM",
    "PREFIX",
    "FORMAT",
    "PROVIDER",
    "MODE",
    "ENABLED",
    "COUNT",
    "LIMIT",
    "TIMEOUT",
    "KIND",
    "LOCATION",
    "FIELD",
    "SCOPE",
    "SCOPES",
    "HINT",
];

/// Splits `OPENAI_API_KEY`, `apiKey`, `X-Api-Key` or `--api-key` into
/// upper-case words.
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        cur.push(c.to_ascii_uppercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Whether a variable, header, query parameter or flag of this name holds a
/// credential: `OPENAI_API_KEY` does, `AWS_ACCESS_KEY_ID` (an identifier)
/// does not.
pub fn is_sensitive_name(name: &str) -> bool {
    let w = words(name);
    let Some(last) = w.last() else {
        return false;
    };
    if NOT_A_VALUE.contains(&last.as_str()) {
        return false;
    }
    w.iter().any(|w| {
        SENSITIVE_WORDS.contains(&w.as_str())
            || SENSITIVE_SUFFIXES
                .iter()
                .any(|s| w.len() > s.len() && w.ends_with(s))
    })
}

/// Whether a value is (or contains) a reference to a secret kept elsewhere,
/// in any of the syntaxes the supported tools expand: `${env:X}`,
/// `${input:x}`, `${X}`, `${X:-d}`, `$X`, `${{ secrets.X }}`, `$(X)`,
/// `$[ variables.X ]`, `<< parameters.x >>`, `{{ x }}`, `%X%`.
pub fn is_reference(value: &str) -> bool {
    let b = value.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        let next = b.get(i + 1).copied().unwrap_or(0);
        match c {
            b'$' if next == b'{'
                || next == b'('
                || next == b'['
                || next == b'$'
                || next == b'_'
                || next.is_ascii_alphabetic() =>
            {
                return true
            }
            b'<' if next == b'<' => return true,
            b'{' if next == b'{' => return true,
            b'%' if next.is_ascii_alphabetic() => {
                if let Some(end) = value[i + 1..].find('%') {
                    let name = &value[i + 1..i + 1 + end];
                    if !name.is_empty()
                        && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
                    {
                        return true;
                    }
                }
            }
            _ => {}
        }
    }
    false
}

/// Common dummy values in CI and sample configs (`postgres`, `password123`).
const DUMMY: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "postgres",
    "mysql",
    "root",
    "admin",
    "test",
    "testing",
    "example",
    "sample",
    "default",
    "guest",
    "user",
    "token",
    "apikey",
    "none",
    "null",
    "true",
    "false",
    "redis",
    "mongo",
    "local",
    "localhost",
    "development",
    "dev",
    "demo",
];

/// Whether a literal in a credential's position looks like a real secret:
/// long enough, not a reference, placeholder, dummy word, path or URL, at
/// least two kinds of characters, and enough entropy.
pub fn looks_like_secret(value: &str) -> bool {
    let v = value.trim();
    if v.len() < 8 || v.len() > 4096 || v.chars().any(char::is_whitespace) {
        return false;
    }
    if is_reference(v) || is_placeholder(v.as_bytes()) {
        return false;
    }
    let lower = v.to_ascii_lowercase();
    if lower.starts_with('/')
        || lower.starts_with("./")
        || lower.starts_with("~/")
        || lower.starts_with("../")
        || lower.contains("://")
        || (lower.len() > 2 && lower.as_bytes()[1] == b':' && lower.as_bytes()[2] == b'\\')
    {
        return false;
    }
    let stem: String = lower.chars().filter(|c| c.is_ascii_alphabetic()).collect();
    if DUMMY.contains(&stem.as_str()) {
        return false;
    }
    let mut classes = 0;
    if v.bytes().any(|c| c.is_ascii_lowercase()) {
        classes += 1;
    }
    if v.bytes().any(|c| c.is_ascii_uppercase()) {
        classes += 1;
    }
    if v.bytes().any(|c| c.is_ascii_digit()) {
        classes += 1;
    }
    if v.bytes().any(|c| !c.is_ascii_alphanumeric()) {
        classes += 1;
    }
    classes >= 2 && entropy(v.as_bytes()) >= 3.0
}

/// Authorization schemes stripped from header values before judging them.
const SCHEMES: &[&str] = &[
    "bearer", "basic", "token", "bot", "apikey", "api-key", "digest",
];

/// The credential part of a header value: after `Bearer `, `Basic `,
/// `token `… when one is there. Returns the byte range within `value`.
pub fn strip_scheme(value: &str) -> std::ops::Range<usize> {
    let lead = value.len() - value.trim_start().len();
    let rest = &value[lead..];
    if let Some(sp) = rest.find(' ') {
        let scheme = &rest[..sp];
        if SCHEMES.iter().any(|s| scheme.eq_ignore_ascii_case(s)) {
            let after = &rest[sp..];
            let skip = after.len() - after.trim_start().len();
            let start = lead + sp + skip;
            return start..start + value[start..].trim_end().len();
        }
    }
    lead..lead + rest.trim_end().len()
}

/// A credential inside a URL: the password of `user:pass@host`, or the value
/// of a sensitive query parameter. Returns (what it is, range in `url`).
pub fn url_credentials(url: &str) -> Vec<(String, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    let Some(scheme_end) = url.find("://") else {
        return out;
    };
    let auth_start = scheme_end + 3;
    let auth_end = url[auth_start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |p| auth_start + p);
    if let Some(at) = url[auth_start..auth_end].rfind('@') {
        let userinfo = &url[auth_start..auth_start + at];
        if let Some(colon) = userinfo.find(':') {
            let s = auth_start + colon + 1;
            let e = auth_start + at;
            if e > s {
                out.push(("url password".to_string(), s..e));
            }
        }
    }
    if let Some(q) = url.find('?') {
        let query_end = url[q..].find('#').map_or(url.len(), |p| q + p);
        let mut pos = q + 1;
        for pair in url[q + 1..query_end].split('&') {
            if let Some(eq) = pair.find('=') {
                let name = &pair[..eq];
                let key_like = is_sensitive_name(name)
                    || matches!(
                        name.to_ascii_lowercase().as_str(),
                        "key" | "sig" | "signature" | "code"
                    );
                if key_like && eq + 1 < pair.len() {
                    out.push((
                        format!("url parameter {name}"),
                        pos + eq + 1..pos + pair.len(),
                    ));
                }
            }
            pos += pair.len() + 1;
        }
    }
    out
}

/// Upper-case environment variable name suggested for a value known by
/// `name` (`X-Api-Key` → `X_API_KEY`, `--api-key` → `API_KEY`).
pub fn env_name(name: &str) -> String {
    let w = words(name);
    if w.is_empty() {
        "API_KEY".to_string()
    } else {
        w.join("_")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_names() {
        for n in [
            "OPENAI_API_KEY",
            "apiKey",
            "X-Api-Key",
            "Authorization",
            "--api-key",
            "GITHUB_PERSONAL_ACCESS_TOKEN",
            "DB_PASSWORD",
            "clientSecret",
            "ACCESSTOKEN",
            "token",
        ] {
            assert!(is_sensitive_name(n), "{n}");
        }
        for n in [
            "AWS_ACCESS_KEY_ID",
            "TOKEN_URL",
            "GOOGLE_APPLICATION_CREDENTIALS_FILE",
            "HOME",
            "NODE_ENV",
            "keyboard",
            "PATH",
            "SECRET_NAME",
        ] {
            assert!(!is_sensitive_name(n), "{n}");
        }
    }

    #[test]
    fn references() {
        for v in [
            "${env:GITHUB_TOKEN}",
            "${input:api-key}",
            "${TOKEN}",
            "${TOKEN:-x}",
            "$TOKEN",
            "${{ secrets.TOKEN }}",
            "$(apiKey)",
            "$[ variables.key ]",
            "<< parameters.token >>",
            "{{ .Token }}",
            "Bearer ${env:TOKEN}",
            "%API_KEY%",
        ] {
            assert!(is_reference(v), "{v}");
        }
        for v in ["sk_live_abc", "p@ss-50%", "abc$", "100%"] {
            assert!(!is_reference(v), "{v}");
        }
    }

    #[test]
    fn secret_likeness() {
        assert!(looks_like_secret("q8Wn4Rt2Yp6Lm0VzX3c7"));
        assert!(looks_like_secret("550e8400-e29b-41d4-a716-446655440000"));
        for v in [
            "postgres",
            "password123",
            "short1",
            "/usr/local/bin/server",
            "https://api.example.com",
            "${env:KEY}",
            "true",
            "12345678901",
            "your-api-key-here",
            "two words here",
        ] {
            assert!(!looks_like_secret(v), "{v}");
        }
    }

    #[test]
    fn schemes_and_urls() {
        let v = "Bearer abc123";
        assert_eq!(&v[strip_scheme(v)], "abc123");
        assert_eq!(&"xyz"[strip_scheme("xyz")], "xyz");
        let u = "https://user:s3cr3tPa55@host.test/path?api_key=K3y&x=1";
        let c = url_credentials(u);
        assert_eq!(c.len(), 2);
        assert_eq!(&u[c[0].1.clone()], "s3cr3tPa55");
        assert_eq!(c[1].0, "url parameter api_key");
        assert_eq!(&u[c[1].1.clone()], "K3y");
        assert_eq!(env_name("X-Api-Key"), "X_API_KEY");
        assert_eq!(env_name("--api-key"), "API_KEY");
    }
}
