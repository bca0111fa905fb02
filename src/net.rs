//! The guarded HTTP client that validation and revocation share: the address guard, per-host rate limit,
//! timeouts, one retry on 429/5xx, and errors turned into plain reasons.
//!
//! The guard sits in the resolver, so the addresses that are checked are the
//! addresses connected to: a name cannot resolve to a public address when
//! checked and to a private one when used.

use std::collections::HashMap;
use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use url::Url;

/// Largest answer body read; validation needs only status and a few fields.
const MAX_BODY: u64 = 64 << 10;
/// Longest wait honoured from a `Retry-After` header.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(5);

/// A request ready to send.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub method: String,
    pub url: Url,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

/// The parts of an answer validators look at.
#[derive(Debug, Clone, Default)]
pub(crate) struct Response {
    pub status: u16,
    pub body: String,
    /// Header names (lowercase) and values; analysis reads scopes and
    /// expiry from some (GitHub's `X-OAuth-Scopes`).
    pub headers: Vec<(String, String)>,
}

impl Response {
    /// The first value of header `name` (compared in lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why a request was refused before anything was sent.
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// Which addresses a resolver hands out.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Allow {
    /// Public addresses only (HTTPS without `--allow-internal`).
    Public,
    /// Any address (HTTPS with `--allow-internal`).
    Any,
    /// Internal addresses only (plain HTTP, which needs `--allow-internal`).
    InternalOnly,
}

struct GuardedResolver {
    allow: Allow,
    timeout: Duration,
}

impl ureq::Resolver for GuardedResolver {
    fn resolve(&self, netloc: &str) -> io::Result<Vec<SocketAddr>> {
        let addrs = lookup(netloc, self.timeout)?;
        let host = netloc.rsplit_once(':').map_or(netloc, |(h, _)| h);
        for a in &addrs {
            let kind = internal_kind(a.ip());
            let refusal = match (self.allow, kind) {
                (Allow::Public, Some(kind)) => Some(format!(
                    "refused to send the secret to {host}: it resolves to {}, a {kind} address (use --allow-internal to permit)",
                    a.ip()
                )),
                (Allow::InternalOnly, None) => Some(format!(
                    "refused to send the secret over plain http to {host}: it resolves to {}, a public address (use https)",
                    a.ip()
                )),
                _ => None,
            };
            if let Some(r) = refusal {
                return Err(io::Error::new(io::ErrorKind::PermissionDenied, Refused(r)));
            }
        }
        Ok(addrs)
    }
}

/// Resolves with a deadline: the system resolver has none of its own.
fn lookup(netloc: &str, timeout: Duration) -> io::Result<Vec<SocketAddr>> {
    let (tx, rx) = mpsc::channel();
    let name = netloc.to_string();
    std::thread::spawn(move || {
        let _ = tx.send(name.to_socket_addrs().map(|a| a.collect::<Vec<_>>()));
    });
    rx.recv_timeout(timeout).unwrap_or_else(|_| {
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "DNS lookup timed out",
        ))
    })
}

/// Names the kind of a non-public address, or `None` for a public one.
///
/// ```
/// use keysweep::validate::internal_kind;
/// assert_eq!(internal_kind("127.0.0.1".parse().unwrap()), Some("loopback"));
/// assert_eq!(internal_kind("10.1.2.3".parse().unwrap()), Some("private"));
/// assert_eq!(internal_kind("::ffff:192.168.0.1".parse().unwrap()), Some("private"));
/// assert_eq!(internal_kind("100.64.0.1".parse().unwrap()), Some("shared (CGNAT)"));
/// assert_eq!(internal_kind("fd00::1".parse().unwrap()), Some("unique-local"));
/// assert_eq!(internal_kind("8.8.8.8".parse().unwrap()), None);
/// ```
pub fn internal_kind(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_kind(v4),
        IpAddr::V6(v6) => v6_kind(v6),
    }
}

fn v4_kind(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, _, _] = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if a == 100 && (64..128).contains(&b) {
        Some("shared (CGNAT)")
    } else if a == 0 {
        Some("unspecified")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if a >= 240 {
        Some("reserved")
    } else if a == 198 && (b == 18 || b == 19) {
        Some("benchmarking")
    } else if a == 192 && b == 0 && ip.octets()[2] == 0 {
        Some("IETF protocol")
    } else {
        None
    }
}

fn v6_kind(ip: Ipv6Addr) -> Option<&'static str> {
    let seg = ip.segments();
    if ip.is_loopback() {
        return Some("loopback");
    }
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_kind(v4);
    }
    // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) embed an IPv4 address.
    if seg[0] == 0x64 && seg[1] == 0xff9b && seg[2..6] == [0, 0, 0, 0] {
        let v4 = Ipv4Addr::new(
            (seg[6] >> 8) as u8,
            seg[6] as u8,
            (seg[7] >> 8) as u8,
            seg[7] as u8,
        );
        return v4_kind(v4);
    }
    if seg[0] == 0x2002 {
        let v4 = Ipv4Addr::new(
            (seg[1] >> 8) as u8,
            seg[1] as u8,
            (seg[2] >> 8) as u8,
            seg[2] as u8,
        );
        return v4_kind(v4);
    }
    match seg[0] {
        s if s & 0xfe00 == 0xfc00 => Some("unique-local"),
        s if s & 0xffc0 == 0xfe80 => Some("link-local"),
        s if s & 0xffc0 == 0xfec0 => Some("site-local"),
        s if s & 0xff00 == 0xff00 => Some("multicast"),
        _ => None,
    }
}

/// Spaces requests to one host at least `interval` apart.
struct RateLimiter {
    interval: Duration,
    next: Mutex<HashMap<String, Instant>>,
}

impl RateLimiter {
    fn wait(&self, host: &str) {
        if self.interval.is_zero() {
            return;
        }
        let now = Instant::now();
        let at = {
            let mut next = self.next.lock().unwrap();
            let at = next.get(host).copied().map_or(now, |t| t.max(now));
            next.insert(host.to_string(), at + self.interval);
            at
        };
        if at > now {
            std::thread::sleep(at - now);
        }
    }
}

/// The HTTP side of validation. Shared by all worker threads.
pub(crate) struct Net {
    https: ureq::Agent,
    http: Option<ureq::Agent>,
    timeout: Duration,
    limiter: RateLimiter,
    backoff: Duration,
    requests: AtomicU64,
    max_body: u64,
    /// Retry once on 429 and 5xx; callers that read rate-limit headers
    /// themselves turn it off.
    retry: bool,
}

impl Net {
    pub fn new(
        timeout: Duration,
        allow_internal: bool,
        per_host_interval: Duration,
        backoff: Duration,
    ) -> Net {
        Net::with_purpose(
            timeout,
            allow_internal,
            per_host_interval,
            backoff,
            "secret validation",
        )
    }

    /// A client whose user agent names `purpose` (`keysweep/1.2 (purpose)`).
    pub fn with_purpose(
        timeout: Duration,
        allow_internal: bool,
        per_host_interval: Duration,
        backoff: Duration,
        purpose: &str,
    ) -> Net {
        let ua = format!("keysweep/{} ({purpose})", env!("CARGO_PKG_VERSION"));
        let agent = |allow| {
            ureq::AgentBuilder::new()
                .timeout(timeout)
                .redirects(0)
                .user_agent(&ua)
                .resolver(GuardedResolver { allow, timeout })
                .build()
        };
        Net {
            https: agent(if allow_internal {
                Allow::Any
            } else {
                Allow::Public
            }),
            http: allow_internal.then(|| agent(Allow::InternalOnly)),
            timeout,
            limiter: RateLimiter {
                interval: per_host_interval,
                next: Mutex::new(HashMap::new()),
            },
            backoff,
            requests: AtomicU64::new(0),
            max_body: MAX_BODY,
            retry: true,
        }
    }

    /// Reads answers up to `bytes` (a platform's listing is larger than a
    /// validation answer); longer ones are cut there.
    pub fn max_body(mut self, bytes: u64) -> Net {
        self.max_body = bytes;
        self
    }

    /// Returns 429 and 5xx answers as they are, for callers that wait by
    /// the rate-limit headers themselves.
    pub fn no_retry(mut self) -> Net {
        self.retry = false;
        self
    }

    /// Requests sent so far (retries included).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Sends a request, retrying once after a pause on 429 and 5xx.
    ///
    /// # Errors
    ///
    /// Returns why no usable answer came, in words: a refused address, DNS,
    /// connection, TLS or timeout failure, or a rate limit or server error
    /// that outlasted the retry. None of these says anything about the secret.
    pub fn send(&self, req: &Request) -> Result<Response, String> {
        let agent = match req.url.scheme() {
            "https" => &self.https,
            "http" => self.http.as_ref().ok_or_else(|| {
                format!(
                    "refused to send the secret over plain http to {} (use https, or --allow-internal for an internal test server)",
                    req.url.host_str().unwrap_or("?")
                )
            })?,
            other => return Err(format!("refused: unsupported URL scheme {other:?}")),
        };
        let host = req.url.host_str().unwrap_or_default().to_string();
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.limiter.wait(&host);
            self.requests.fetch_add(1, Ordering::Relaxed);
            let mut r = agent.request_url(&req.method, &req.url);
            for (k, v) in &req.headers {
                r = r.set(k, v);
            }
            let result = match &req.body {
                Some(b) => r.send_bytes(b),
                None => r.call(),
            };
            let resp = match result {
                Ok(resp) | Err(ureq::Error::Status(_, resp)) => resp,
                Err(ureq::Error::Transport(t)) => return Err(self.describe(&t)),
            };
            let status = resp.status();
            let retry_after = resp
                .header("retry-after")
                .and_then(|s| s.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let headers = answer_headers(&resp);
            let mut body = Vec::new();
            if let Err(e) = resp
                .into_reader()
                .take(self.max_body)
                .read_to_end(&mut body)
            {
                return Err(self.describe_io(&e, "reading the answer"));
            }
            let body = String::from_utf8_lossy(&body).into_owned();
            if self.retry && (status == 429 || status >= 500) {
                let what = if status == 429 {
                    format!("rate limited (HTTP {status})")
                } else {
                    format!("server error (HTTP {status})")
                };
                if attempt >= 2 {
                    return Err(format!("{what}, also on retry"));
                }
                let wait = match retry_after {
                    Some(d) if d > MAX_RETRY_AFTER => {
                        return Err(format!("{what}; retry after {}s", d.as_secs()))
                    }
                    Some(d) => d.max(self.backoff),
                    None => self.backoff,
                };
                std::thread::sleep(wait);
                continue;
            }
            return Ok(Response {
                status,
                body,
                headers,
            });
        }
    }

    fn describe(&self, t: &ureq::Transport) -> String {
        if let Some(r) = find_source::<Refused>(t) {
            return r.0.clone();
        }
        if let Some(io) = find_source::<io::Error>(t) {
            if matches!(
                io.kind(),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
            ) {
                return self.timeout_message();
            }
        }
        let host = t
            .url()
            .and_then(|u| u.host_str())
            .unwrap_or("the provider")
            .to_string();
        let cause = source_chain(t);
        match t.kind() {
            ureq::ErrorKind::Dns => format!("DNS: cannot resolve {host}{cause}"),
            ureq::ErrorKind::ConnectionFailed => format!("cannot connect to {host}{cause}"),
            ureq::ErrorKind::TooManyRedirects => format!("{host} answered with a redirect"),
            ureq::ErrorKind::Io => {
                let text = format!("{}{cause}", t.message().unwrap_or("")).to_ascii_lowercase();
                if text.contains("tls")
                    || text.contains("certificate")
                    || text.contains("handshake")
                {
                    format!("TLS error with {host}{cause}")
                } else {
                    format!("network error with {host}{cause}")
                }
            }
            _ => format!("request to {host} failed{cause}"),
        }
    }

    fn describe_io(&self, e: &io::Error, doing: &str) -> String {
        if matches!(
            e.kind(),
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
        ) {
            self.timeout_message()
        } else {
            format!("network error {doing}: {e}")
        }
    }

    fn timeout_message(&self) -> String {
        format!("timeout after {}", human_duration(self.timeout))
    }
}

fn find_source<'a, T: std::error::Error + 'static>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(t) = err.downcast_ref::<T>() {
            return Some(t);
        }
        if let Some(io) = err.downcast_ref::<io::Error>() {
            if let Some(inner) = io.get_ref() {
                if let Some(t) = inner.downcast_ref::<T>() {
                    return Some(t);
                }
            }
        }
        cur = err.source();
    }
    None
}

/// `: cause: deeper cause` from an error's sources.
fn source_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = String::new();
    let mut cur = e.source();
    while let Some(err) = cur {
        out.push_str(": ");
        out.push_str(&err.to_string());
        cur = err.source();
    }
    out
}

/// `10s`, `500ms`, `1.5s`.
pub(crate) fn human_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else if d.as_secs() == 0 {
        format!("{}ms", d.as_millis())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `sha256=<hex HMAC-SHA256 of body>`: the `X-Keysweep-Signature` header of
/// broker requests and sweep notifications (`docs/revocation.md`).
pub(crate) fn signature(key: &[u8], body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex(&mac.finalize().into_bytes()))
}

/// Characters left as they are when a value goes into a URL template: the
/// unreserved set plus the path characters that mean nothing in a query
/// (`:` `@` …). Everything else, `/ ? # & = +` included, is percent-encoded so
/// a value cannot change the URL's structure.
pub(crate) fn encode_url_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:@!$'()*,;".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Removes the secret (raw and percent-encoded) from a text meant for
/// reports: transport errors can quote a URL that carries it.
pub(crate) fn scrub(text: &str, secret: &str) -> String {
    if secret.len() < 4 {
        return text.to_string();
    }
    let r = crate::finding::redact(secret);
    let mut out = text.replace(secret, &r);
    for enc in [
        url::form_urlencoded::byte_serialize(secret.as_bytes()).collect::<String>(),
        encode_url_value(secret),
    ] {
        if enc != secret {
            out = out.replace(&enc, &r);
        }
    }
    out
}

/// The provider's own words about an error, from common JSON shapes
/// (`error.message`, `message`, `error_description`, `error`), shortened.
/// At most 64 headers of at most 1 KiB each: enough for any scope list, and
/// bounded whatever a server sends.
fn answer_headers(resp: &ureq::Response) -> Vec<(String, String)> {
    resp.headers_names()
        .into_iter()
        .take(64)
        .filter_map(|n| {
            let v = resp.header(&n)?;
            (v.len() <= 1024).then(|| (n.to_ascii_lowercase(), v.to_string()))
        })
        .collect()
}

pub(crate) fn provider_message(body: &str, json: Option<&serde_json::Value>) -> Option<String> {
    let text = match json {
        Some(j) => [
            "error.message",
            "error_description",
            "message",
            "error",
            "detail",
            "errors.0.message",
        ]
        .iter()
        .find_map(|p| crate::rules::json_path(j, p).and_then(|v| v.as_str()))
        .map(str::to_string),
        None => {
            let t = body.trim();
            (!t.is_empty() && t.len() <= 200 && !t.starts_with('<')).then(|| t.to_string())
        }
    }?;
    let t: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    Some(if t.chars().count() > 120 {
        t.chars().take(120).collect::<String>() + "…"
    } else {
        t
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_kinds() {
        let k = |s: &str| internal_kind(s.parse().unwrap());
        assert_eq!(k("127.8.9.1"), Some("loopback"));
        assert_eq!(k("172.20.0.1"), Some("private"));
        assert_eq!(k("192.168.1.1"), Some("private"));
        assert_eq!(k("169.254.169.254"), Some("link-local"));
        assert_eq!(k("100.127.255.255"), Some("shared (CGNAT)"));
        assert_eq!(k("100.128.0.1"), None);
        assert_eq!(k("0.0.0.0"), Some("unspecified"));
        assert_eq!(k("::1"), Some("loopback"));
        assert_eq!(k("fe80::1"), Some("link-local"));
        assert_eq!(k("fc00::1"), Some("unique-local"));
        assert_eq!(k("::ffff:127.0.0.1"), Some("loopback"));
        assert_eq!(k("64:ff9b::a9fe:a9fe"), Some("link-local"));
        assert_eq!(k("2002:0a00:0001::1"), Some("private"));
        assert_eq!(k("2606:4700::1111"), None);
        assert_eq!(k("1.1.1.1"), None);
    }

    #[test]
    fn public_resolver_refuses_loopback_before_connecting() {
        let r = GuardedResolver {
            allow: Allow::Public,
            timeout: Duration::from_secs(5),
        };
        let err = ureq::Resolver::resolve(&r, "127.0.0.1:443").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
        assert!(err.to_string().contains("loopback"), "{err}");
        let any = GuardedResolver {
            allow: Allow::Any,
            timeout: Duration::from_secs(5),
        };
        assert!(ureq::Resolver::resolve(&any, "127.0.0.1:443").is_ok());
        let internal = GuardedResolver {
            allow: Allow::InternalOnly,
            timeout: Duration::from_secs(5),
        };
        assert!(ureq::Resolver::resolve(&internal, "127.0.0.1:80").is_ok());
        assert!(ureq::Resolver::resolve(&internal, "8.8.8.8:80").is_err());
    }

    #[test]
    fn signature_is_rfc4231_hmac() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(human_duration(Duration::from_secs(10)), "10s");
        assert_eq!(human_duration(Duration::from_millis(300)), "300ms");
        assert_eq!(human_duration(Duration::from_millis(1500)), "1.5s");
    }

    #[test]
    fn scrub_removes_the_secret_in_any_encoding() {
        let s = scrub(
            "GET /bot123:a/b/getMe and 123%3Aa%2Fb and 123:a%2Fb",
            "123:a/b",
        );
        assert_eq!(s, "GET /bot…/getMe and … and …");
    }

    #[test]
    fn provider_messages() {
        let j = serde_json::json!({"error": {"message": "Incorrect API key provided"}});
        assert_eq!(
            provider_message("", Some(&j)).as_deref(),
            Some("Incorrect API key provided")
        );
        let j = serde_json::json!({"ok": false, "error": "invalid_auth"});
        assert_eq!(
            provider_message("", Some(&j)).as_deref(),
            Some("invalid_auth")
        );
        assert_eq!(
            provider_message("Bad credentials", None).as_deref(),
            Some("Bad credentials")
        );
        assert_eq!(provider_message("<html>…</html>", None), None);
    }
}
