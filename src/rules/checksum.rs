//! Offline checks: what a secret's own bytes say about it before any network
//! call. A rule opts in with `offline_check:` in its YAML.
//!
//! - `github-crc32`: GitHub's and npm's tokens (`ghp_`, `gho_`, `ghu_`, `ghs_`,
//!   `ghr_`, `npm_`) end in 6 base62 characters that encode the CRC32 of the 30
//!   random characters before them.
//! - `grafana-crc32`: Grafana service-account tokens, `glsa_<32 chars>_<8 hex>`,
//!   whose hex suffix is the CRC32 of `glsa_<32 chars>` (bytes little-endian).
//! - `jwt`: a JSON Web Token's header and payload are base64url JSON, the header
//!   names an `alg`, and an `exp` in the past means the token has expired.
//! - `pypi-macaroon`: a PyPI token is `pypi-` and a base64url macaroon (binary
//!   format version 2) with a location, an identifier and a 32-byte signature.
//!
//! Every function here is pure: the current time is an argument.
//!
//! A failed check does not hide a finding: the caller lowers its confidence and
//! keeps the reason ([`CheckOutcome`]). An expired JWT is reported as such.

use base64::Engine;
use serde::{Deserialize, Serialize};

/// Which offline check a rule's secrets get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OfflineCheck {
    GithubCrc32,
    GrafanaCrc32,
    Jwt,
    PypiMacaroon,
}

impl OfflineCheck {
    pub fn name(self) -> &'static str {
        match self {
            OfflineCheck::GithubCrc32 => "github-crc32",
            OfflineCheck::GrafanaCrc32 => "grafana-crc32",
            OfflineCheck::Jwt => "jwt",
            OfflineCheck::PypiMacaroon => "pypi-macaroon",
        }
    }
}

impl std::fmt::Display for OfflineCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What an offline check concluded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckStatus {
    /// The secret has the structure (and checksum) its format promises.
    #[default]
    Passed,
    /// It does not: a typo, a made-up example, or not this kind of secret.
    Failed,
    /// A well-formed token whose own expiry time has passed.
    Expired,
    /// A well-formed token whose own claims say it is meant to be published:
    /// a Supabase `anon` key (shipped in every browser bundle, gated by row
    /// level security) or the jwt.io documentation sample.
    Public,
    /// The check does not apply to this variant of the format (e.g. a GitHub
    /// token longer than the 36 characters whose checksum is documented).
    Skipped,
}

impl std::fmt::Display for CheckStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CheckStatus::Passed => "passed",
            CheckStatus::Failed => "failed",
            CheckStatus::Expired => "expired",
            CheckStatus::Public => "public",
            CheckStatus::Skipped => "skipped",
        })
    }
}

/// The result of one offline check, with the reason in words.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct CheckOutcome {
    /// The check that ran (`github-crc32`, `jwt`, ...).
    pub check: String,
    pub status: CheckStatus,
    pub detail: String,
}

impl CheckOutcome {
    fn new(check: OfflineCheck, status: CheckStatus, detail: impl Into<String>) -> CheckOutcome {
        CheckOutcome {
            check: check.name().to_string(),
            status,
            detail: detail.into(),
        }
    }
}

/// Runs `check` on `secret`; `now` is the current Unix time in seconds (for
/// JWT expiry).
pub fn run(check: OfflineCheck, secret: &str, now: i64) -> CheckOutcome {
    let (status, detail) = match check {
        OfflineCheck::GithubCrc32 => github_crc32(secret),
        OfflineCheck::GrafanaCrc32 => grafana_crc32(secret),
        OfflineCheck::Jwt => jwt(secret, now),
        OfflineCheck::PypiMacaroon => pypi_macaroon(secret),
    };
    CheckOutcome::new(check, status, detail)
}

/// The current Unix time in seconds.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

type Verdict = (CheckStatus, String);

fn passed(detail: impl Into<String>) -> Verdict {
    (CheckStatus::Passed, detail.into())
}

fn failed(detail: impl Into<String>) -> Verdict {
    (CheckStatus::Failed, detail.into())
}

/// CRC-32 (IEEE 802.3, reflected, as zlib computes it).
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `n` in base62 (digits, upper, lower), left-padded with `0` to `width`.
pub fn base62(mut n: u32, width: usize) -> String {
    let mut out = Vec::with_capacity(width);
    while n > 0 {
        out.push(BASE62[(n % 62) as usize]);
        n /= 62;
    }
    while out.len() < width {
        out.push(b'0');
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// `<prefix>_<30 random base62><6 base62 CRC32 of the random part>`.
fn github_crc32(secret: &str) -> Verdict {
    let Some((_, body)) = secret.split_once('_') else {
        return failed("no '_' after the prefix");
    };
    if !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return failed("characters outside base62 after the prefix");
    }
    if body.len() != 36 {
        return (
            CheckStatus::Skipped,
            format!(
                "{} characters after the prefix; the checksum is documented for 36",
                body.len()
            ),
        );
    }
    let (random, sum) = body.split_at(30);
    let want = base62(crc32(random.as_bytes()), 6);
    if sum == want {
        passed("CRC32 checksum matches")
    } else {
        // The detail never quotes the secret's characters: it is shown
        // even when the secret is redacted.
        failed("CRC32 checksum does not match: mistyped, truncated or made up")
    }
}

/// `glsa_<32 alphanumerics>_<8 hex>`: the hex is CRC32(`glsa_<32>`), bytes
/// little-endian.
fn grafana_crc32(secret: &str) -> Verdict {
    let Some((head, sum)) = secret.rsplit_once('_') else {
        return failed("no checksum part");
    };
    if sum.len() != 8 || !sum.bytes().all(|b| b.is_ascii_hexdigit()) {
        return failed("the checksum part is not 8 hex digits");
    }
    let want: String = crc32(head.as_bytes())
        .to_le_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if sum.eq_ignore_ascii_case(&want) {
        passed("CRC32 checksum matches")
    } else {
        // The detail never quotes the secret's characters: it is shown
        // even when the secret is redacted.
        failed("CRC32 checksum does not match: mistyped, truncated or made up")
    }
}

fn b64url(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .ok()
        .or_else(|| {
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(s)
                .ok()
        })
}

fn json_object(part: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    match serde_json::from_slice(&b64url(part)?) {
        Ok(serde_json::Value::Object(m)) => Some(m),
        _ => None,
    }
}

/// Formats a Unix time as `YYYY-MM-DD` (proleptic Gregorian, UTC).
fn date(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Header and payload are base64url JSON objects, the header names an
/// `alg`; `exp` (seconds since the epoch) before `now` means expired.
fn jwt(secret: &str, now: i64) -> Verdict {
    let parts: Vec<&str> = secret.split('.').collect();
    if parts.len() != 3 {
        return failed(format!(
            "a signed JWT has 3 dot-separated parts, this has {}",
            parts.len()
        ));
    }
    let Some(header) = json_object(parts[0]) else {
        return failed("the header is not base64url-encoded JSON");
    };
    let Some(alg) = header.get("alg").and_then(|a| a.as_str()) else {
        return failed("the header has no \"alg\"");
    };
    let Some(payload) = json_object(parts[1]) else {
        return failed("the payload is not base64url-encoded JSON");
    };
    if b64url(parts[2]).is_none_or(|s| s.is_empty()) {
        return failed("the signature is not base64url");
    }
    let claim = |k: &str| payload.get(k).and_then(|v| v.as_str());
    if claim("role") == Some("anon") {
        return (
            CheckStatus::Public,
            format!("a public key by its own claims (role anon, {alg})"),
        );
    }
    if claim("sub") == Some("1234567890") && claim("name") == Some("John Doe") {
        return (
            CheckStatus::Public,
            "the jwt.io documentation sample".to_string(),
        );
    }
    let issuer = payload
        .get("iss")
        .and_then(|i| i.as_str())
        .map(|i| format!(", issuer {i}"))
        .unwrap_or_default();
    match payload.get("exp").and_then(|e| e.as_f64()) {
        Some(exp) if (exp as i64) < now => (
            CheckStatus::Expired,
            format!(
                "expired on {} (exp {}){issuer}",
                date(exp as i64),
                exp as i64
            ),
        ),
        Some(exp) => passed(format!(
            "well-formed ({alg}), expires on {}{issuer}",
            date(exp as i64)
        )),
        None => passed(format!("well-formed ({alg}), no expiry{issuer}")),
    }
}

/// Reads an unsigned LEB128 varint.
fn varint(b: &[u8], i: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*i)?;
        *i += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// One macaroon v2 field: `(type, data)`, or `None` for end-of-section.
/// Why bytes are not a v2 macaroon.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum MacaroonError {
    #[error("not a version 2 macaroon")]
    Version,
    #[error("truncated field")]
    Truncated,
    #[error("truncated field length")]
    TruncatedLength,
    #[error("field too long")]
    TooLong,
    #[error("a field runs past the end")]
    PastEnd,
    #[error("unexpected field type {0} in the header")]
    HeaderField(u64),
    #[error("unexpected field type {0} in a caveat")]
    CaveatField(u64),
    #[error("no identifier")]
    NoIdentifier,
    #[error("signature of {0} bytes, not 32")]
    SignatureLength(usize),
    #[error("no signature")]
    NoSignature,
}

fn field<'a>(b: &'a [u8], i: &mut usize) -> Result<Option<(u64, &'a [u8])>, MacaroonError> {
    let ty = varint(b, i).ok_or(MacaroonError::Truncated)?;
    if ty == 0 {
        return Ok(None);
    }
    let len = varint(b, i).ok_or(MacaroonError::TruncatedLength)?;
    let len = usize::try_from(len).map_err(|_| MacaroonError::TooLong)?;
    let end = i.checked_add(len).filter(|&e| e <= b.len());
    let end = end.ok_or(MacaroonError::PastEnd)?;
    let data = &b[*i..end];
    *i = end;
    Ok(Some((ty, data)))
}

const LOCATION: u64 = 1;
const IDENTIFIER: u64 = 2;
const VID: u64 = 4;
const SIGNATURE: u64 = 6;

/// Parses a macaroon in the v2 binary format (version byte 2, then
/// location?, identifier, end; caveats each ended by end; end; signature).
fn macaroon_v2(b: &[u8]) -> Result<(String, usize), MacaroonError> {
    if b.first() != Some(&2) {
        return Err(MacaroonError::Version);
    }
    let mut i = 1;
    let mut location = String::new();
    let mut identifier = false;
    while let Some((ty, data)) = field(b, &mut i)? {
        match ty {
            LOCATION => location = String::from_utf8_lossy(data).into_owned(),
            IDENTIFIER => identifier = true,
            t => return Err(MacaroonError::HeaderField(t)),
        }
    }
    if !identifier {
        return Err(MacaroonError::NoIdentifier);
    }
    let mut caveats = 0;
    // Each caveat is a list of fields ended by end-of-section; an empty
    // caveat (end-of-section alone) ends the caveat list.
    while let Some((ty, _)) = field(b, &mut i)? {
        match ty {
            LOCATION | IDENTIFIER | VID => {}
            t => return Err(MacaroonError::CaveatField(t)),
        }
        caveats += 1;
        while let Some((ty, _)) = field(b, &mut i)? {
            if !matches!(ty, LOCATION | IDENTIFIER | VID) {
                return Err(MacaroonError::CaveatField(ty));
            }
        }
    }
    match field(b, &mut i)? {
        Some((SIGNATURE, sig)) if sig.len() == 32 => Ok((location, caveats)),
        Some((SIGNATURE, sig)) => Err(MacaroonError::SignatureLength(sig.len())),
        _ => Err(MacaroonError::NoSignature),
    }
}

/// `pypi-` and a base64url macaroon v2 whose location is a PyPI index.
fn pypi_macaroon(secret: &str) -> Verdict {
    let Some(body) = secret.strip_prefix("pypi-") else {
        return failed("no 'pypi-' prefix");
    };
    let Some(bytes) = b64url(body) else {
        return failed("not base64url");
    };
    match macaroon_v2(&bytes) {
        Ok((location, caveats)) if location.ends_with("pypi.org") => passed(format!(
            "well-formed macaroon for {location} with {caveats} caveat(s)"
        )),
        Ok((location, _)) => failed(format!("a macaroon for {location:?}, not PyPI")),
        Err(e) => failed(format!("not a well-formed macaroon: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a GitHub-style token with a correct checksum.
    fn github_token(prefix: &str, random: &str) -> String {
        format!("{prefix}_{random}{}", base62(crc32(random.as_bytes()), 6))
    }

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    fn jwt_with(header: &str, payload: &str) -> String {
        format!(
            "{}.{}.c2lnbmF0dXJlLWJ5dGVzLWhlcmU",
            b64(header.as_bytes()),
            b64(payload.as_bytes())
        )
    }

    fn field_bytes(ty: u8, data: &[u8]) -> Vec<u8> {
        let mut v = vec![ty, u8::try_from(data.len()).unwrap()];
        v.extend_from_slice(data);
        v
    }

    /// A macaroon v2 with one caveat; `sig_len` bytes of signature.
    fn macaroon(location: &str, sig_len: usize) -> Vec<u8> {
        let mut m = vec![2];
        m.extend(field_bytes(1, location.as_bytes()));
        m.extend(field_bytes(2, b"\x00\x01identifier-bytes"));
        m.push(0);
        m.extend(field_bytes(
            2,
            b"{\"version\": 1, \"permissions\": \"user\"}",
        ));
        m.push(0);
        m.push(0);
        m.extend(field_bytes(6, &vec![0x5a; sig_len]));
        m
    }

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn base62_pads_and_orders_digits_upper_lower() {
        for (n, want) in [
            (0, "000000"),
            (61, "00000z"),
            (62, "000010"),
            (u32::MAX, "4gfFC3"),
        ] {
            assert_eq!(base62(n, 6), want, "{n}");
        }
    }

    #[test]
    fn github_crc32_table() {
        let good = github_token("ghp", "R8fK2mQ9xLz4Tb7Wc1Vn5Hj3Ds6Ga0");
        let mut bad = good.clone();
        bad.replace_range(5..6, if &good[5..6] == "A" { "B" } else { "A" });
        let npm = github_token("npm", "h8dvK3c88qII0kC85LBQS5tPTNs8Z9");
        let cases: &[(&str, CheckStatus)] = &[
            (&good, CheckStatus::Passed),
            (&npm, CheckStatus::Passed),
            (&bad, CheckStatus::Failed),
            (
                "ghp_R8fK2mQ9xLz4Tb7Wc1Vn5Hj3Ds6Ga0Py2Ue8",
                CheckStatus::Failed,
            ),
            ("ghp_short", CheckStatus::Skipped),
            ("ghp", CheckStatus::Failed),
            (
                "ghr_R8fK2mQ9xLz4Tb7Wc1Vn5Hj3Ds6Ga0Py2Ue8x",
                CheckStatus::Skipped,
            ),
            (
                "ghp_R8fK2mQ9xLz4Tb7Wc1Vn5Hj3Ds6Ga0Py2U-8",
                CheckStatus::Failed,
            ),
            ("", CheckStatus::Failed),
        ];
        for (token, want) in cases {
            let got = run(OfflineCheck::GithubCrc32, token, 0);
            assert_eq!(got.status, *want, "{token}: {}", got.detail);
            assert_eq!(got.check, "github-crc32");
        }
    }

    #[test]
    fn grafana_crc32_table() {
        let head = "glsa_Qm7Rk2VxT9bLp4Wz8Nc3Hy6Jd1Fs5Ga0";
        let sum: String = crc32(head.as_bytes())
            .to_le_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let good = format!("{head}_{sum}");
        let cases: &[(&str, CheckStatus)] = &[
            (&good, CheckStatus::Passed),
            (&good.to_uppercase()[..], CheckStatus::Failed),
            (&format!("{head}_00000000"), CheckStatus::Failed),
            (&format!("{head}_zzzzzzzz"), CheckStatus::Failed),
            (head, CheckStatus::Failed),
            ("glsa", CheckStatus::Failed),
        ];
        for (token, want) in cases {
            let got = run(OfflineCheck::GrafanaCrc32, token, 0);
            assert_eq!(got.status, *want, "{token}: {}", got.detail);
        }
    }

    #[test]
    fn jwt_table() {
        let now = 1_750_000_000; // 2025-06-15
        let h = r#"{"alg":"HS256","typ":"JWT"}"#;
        let cases: Vec<(String, CheckStatus, &str)> = vec![
            (
                jwt_with(h, r#"{"sub":"42","exp":1700000000}"#),
                CheckStatus::Expired,
                "expired on 2023-11-14",
            ),
            (
                jwt_with(h, r#"{"sub":"42","exp":1900000000,"iss":"acme"}"#),
                CheckStatus::Passed,
                "expires on 2030-03-17, issuer acme",
            ),
            (
                jwt_with(h, r#"{"sub":"42"}"#),
                CheckStatus::Passed,
                "no expiry",
            ),
            (
                jwt_with(h, r#"{"iss":"supabase","role":"anon","exp":1900000000}"#),
                CheckStatus::Public,
                "role anon",
            ),
            (
                jwt_with(h, r#"{"iss":"supabase","role":"service_role"}"#),
                CheckStatus::Passed,
                "issuer supabase",
            ),
            (
                jwt_with(
                    h,
                    r#"{"sub":"1234567890","name":"John Doe","iat":1516239022}"#,
                ),
                CheckStatus::Public,
                "jwt.io documentation sample",
            ),
            (
                jwt_with(r#"{"typ":"JWT"}"#, r#"{"sub":"42"}"#),
                CheckStatus::Failed,
                "no \"alg\"",
            ),
            (
                jwt_with(h, "not json"),
                CheckStatus::Failed,
                "payload is not",
            ),
            (
                jwt_with("[1,2]", r#"{"sub":"42"}"#),
                CheckStatus::Failed,
                "header is not",
            ),
            ("a.b".into(), CheckStatus::Failed, "3 dot-separated parts"),
            (
                "a.b.c.d".into(),
                CheckStatus::Failed,
                "3 dot-separated parts",
            ),
            (
                format!(
                    "{}.",
                    &jwt_with(h, "{}")[..jwt_with(h, "{}").rfind('.').unwrap()]
                ),
                CheckStatus::Failed,
                "signature",
            ),
        ];
        for (token, want, detail) in cases {
            let got = run(OfflineCheck::Jwt, &token, now);
            assert_eq!(got.status, want, "{token}: {}", got.detail);
            assert!(got.detail.contains(detail), "{token}: {}", got.detail);
        }
    }

    #[test]
    fn pypi_macaroon_table() {
        let good = format!("pypi-{}", b64(&macaroon("pypi.org", 32)));
        assert!(good.starts_with("pypi-AgEIcHlwaS5vcmc"), "{good}");
        let test = format!("pypi-{}", b64(&macaroon("test.pypi.org", 32)));
        let mut truncated = macaroon("pypi.org", 32);
        truncated.truncate(truncated.len() - 5);
        let mut v1 = macaroon("pypi.org", 32);
        v1[0] = 1;
        let cases: Vec<(String, CheckStatus, &str)> = vec![
            (good, CheckStatus::Passed, "pypi.org with 1 caveat"),
            (test, CheckStatus::Passed, "test.pypi.org"),
            (
                format!("pypi-{}", b64(&macaroon("example.org", 32))),
                CheckStatus::Failed,
                "not PyPI",
            ),
            (
                format!("pypi-{}", b64(&macaroon("pypi.org", 31))),
                CheckStatus::Failed,
                "31 bytes",
            ),
            (
                format!("pypi-{}", b64(&truncated)),
                CheckStatus::Failed,
                "past the end",
            ),
            (
                format!("pypi-{}", b64(&v1)),
                CheckStatus::Failed,
                "version 2",
            ),
            ("pypi-!!!".into(), CheckStatus::Failed, "base64url"),
            ("AgEIcHlwaS5vcmc".into(), CheckStatus::Failed, "prefix"),
            ("pypi-".into(), CheckStatus::Failed, "version 2"),
        ];
        for (token, want, detail) in cases {
            let got = run(OfflineCheck::PypiMacaroon, &token, 0);
            assert_eq!(got.status, want, "{token}: {}", got.detail);
            assert!(got.detail.contains(detail), "{token}: {}", got.detail);
        }
    }

    #[test]
    fn hostile_inputs_never_panic() {
        let long = "A".repeat(100_000);
        let inputs = [
            "",
            "_",
            "__",
            "pypi-",
            "pypi-AgE",
            "pypi-Ag__________",
            "pypi-AgEIcHlwaS5vcmcC_____________________",
            "...",
            "e.e.e",
            "ghp_é",
            "glsa_é_é",
            &long,
        ];
        for check in [
            OfflineCheck::GithubCrc32,
            OfflineCheck::GrafanaCrc32,
            OfflineCheck::Jwt,
            OfflineCheck::PypiMacaroon,
        ] {
            for s in inputs {
                let _ = run(check, s, 0);
            }
        }
        // A varint that never ends and lengths past the end.
        for bytes in [vec![2, 0xff, 0xff, 0xff], vec![2, 1, 200, 1], vec![2, 0x80]] {
            assert!(macaroon_v2(&bytes).is_err());
        }
    }

    #[test]
    fn dates_are_utc_calendar_days() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(951_782_400), "2000-02-29");
        assert_eq!(date(1_700_000_000), "2023-11-14");
    }
}
