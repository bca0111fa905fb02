//! Listing the repositories of a GitHub organisation or user, or a GitLab
//! group (subgroups included), through the platform's REST API.
//!
//! The API's answers are not trusted to widen anything: the next page must be
//! on the API's own origin (the token goes with every request), listings are
//! bounded in pages and bytes, and clone URLs must be `https://` unless the
//! user allowed internal addresses on the command line. The token comes from
//! an environment variable and is only ever put in a request header.

use std::time::Duration;

use serde_json::Value;
use url::Url;

use crate::net::{Net, Request, Response};

/// Answers larger than this are cut (and then fail to parse): 100 repositories
/// of GitHub's listing take well under 2 MiB.
const MAX_PAGE: u64 = 16 << 20;
/// Pages followed at most (100 repositories each).
const MAX_PAGES: usize = 2_000;
/// Repositories per page: the most both platforms allow.
const PER_PAGE: u32 = 100;

/// Whose repositories to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    GitHubOrg(String),
    GitHubUser(String),
    GitLabGroup(String),
}

impl Owner {
    fn is_github(&self) -> bool {
        !matches!(self, Owner::GitLabGroup(_))
    }

    /// `--github-org NAME` and the like, for messages.
    fn describe(&self) -> String {
        match self {
            Owner::GitHubOrg(n) => format!("GitHub organisation {n}"),
            Owner::GitHubUser(n) => format!("GitHub user {n}"),
            Owner::GitLabGroup(n) => format!("GitLab group {n}"),
        }
    }
}

/// How to list.
#[derive(Debug, Clone)]
pub struct ListOptions {
    /// The API's base URL, e.g. `https://api.github.com` or
    /// `https://gitlab.example.com/api/v4`.
    pub api_url: String,
    /// The token, read from its environment variable by the caller; sent
    /// only in a header.
    pub token: Option<String>,
    pub include_archived: bool,
    pub include_forks: bool,
    /// Permit loopback and private API addresses, plain http to them, and
    /// clone URLs that are not `https://` (local mirrors, tests). Set only
    /// from the command line.
    pub allow_internal: bool,
    /// Longest wait for a rate limit to reset; a longer one stops the listing.
    pub max_wait: Duration,
    pub timeout: Duration,
}

/// What a listing found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Listing {
    /// Clone URLs, in the API's order.
    pub repos: Vec<String>,
    pub archived_skipped: usize,
    pub forks_skipped: usize,
    /// Listed clone URLs refused (not `https://`), named for the warning.
    pub refused: Vec<String>,
    pub pages: usize,
    /// Total time spent waiting for rate limits.
    pub waited: Duration,
}

/// Why a listing failed. Messages start with the API URL or owner.
#[derive(Debug, thiserror::Error)]
pub enum ForgeError {
    #[error("{url}: invalid API URL: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("{url}: {reason}")]
    Request { url: String, reason: String },
    #[error("{url}: HTTP {status}{detail}")]
    Status {
        url: String,
        status: u16,
        detail: String,
    },
    #[error(
        "{url}: rate limited; the limit resets in {}s, longer than --rate-limit-wait ({}s) allows; \
         sweep again later or raise --rate-limit-wait",
        reset_in.as_secs(),
        max_wait.as_secs()
    )]
    RateLimited {
        url: String,
        reset_in: Duration,
        max_wait: Duration,
    },
    #[error("{url}: answer is not a JSON list of repositories: {reason}")]
    BadAnswer { url: String, reason: String },
    #[error("{url}: next page {next} is not on the API's origin; refused")]
    ForeignNext { url: String, next: String },
    #[error("{owner}: more than {MAX_PAGES} pages; refused")]
    TooManyPages { owner: String },
}

/// Lists the repositories of `owner`, following pages and waiting out rate
/// limits up to `opts.max_wait`.
///
/// # Errors
///
/// Fails on a bad API URL, a failed request or non-2xx answer, a rate limit
/// that resets later than `max_wait`, an answer that is not a list, or a next
/// page on another origin.
pub fn list(owner: &Owner, opts: &ListOptions) -> Result<Listing, ForgeError> {
    let net = Net::with_purpose(
        opts.timeout,
        opts.allow_internal,
        Duration::ZERO,
        Duration::ZERO,
        "repository listing",
    )
    .max_body(MAX_PAGE)
    .no_retry();
    let first = first_page(owner, &opts.api_url)?;
    let mut next = Some(first.clone());
    let mut listing = Listing::default();
    while let Some(url) = next.take() {
        if listing.pages >= MAX_PAGES {
            return Err(ForgeError::TooManyPages {
                owner: owner.describe(),
            });
        }
        let resp = get(&net, owner, &url, opts, &mut listing.waited)?;
        listing.pages += 1;
        add_page(owner, &url, &resp.body, opts, &mut listing)?;
        next = next_page(&url, &resp)?;
    }
    Ok(listing)
}

/// The first listing page of `owner` below `api`.
fn first_page(owner: &Owner, api: &str) -> Result<Url, ForgeError> {
    let bad = |reason: String| ForgeError::BadUrl {
        url: api.to_string(),
        reason,
    };
    let base = Url::parse(api.trim_end_matches('/')).map_err(|e| bad(e.to_string()))?;
    if !matches!(base.scheme(), "https" | "http") || base.host_str().is_none() {
        return Err(bad("needs an http(s) URL with a host".into()));
    }
    let name = |n: &str| {
        if n.is_empty() || n.contains(['?', '#']) || n.split('/').any(|p| p == ".." || p == ".") {
            Err(bad(format!("{n:?} is not a valid name")))
        } else {
            Ok(crate::net::encode_url_value(n))
        }
    };
    let path = match owner {
        Owner::GitHubOrg(n) => format!("orgs/{}/repos?type=all", name(n)?),
        Owner::GitHubUser(n) => format!("users/{}/repos?type=owner", name(n)?),
        // A group's full path is its id once its slashes are encoded.
        Owner::GitLabGroup(n) => format!(
            "groups/{}/projects?include_subgroups=true&order_by=id&sort=asc",
            name(n)?.replace('/', "%2F")
        ),
    };
    let text = format!(
        "{}/{path}&per_page={PER_PAGE}",
        base.as_str().trim_end_matches('/')
    );
    Url::parse(&text).map_err(|e| bad(e.to_string()))
}

/// One page, waiting out rate limits that reset within `opts.max_wait`.
fn get(
    net: &Net,
    owner: &Owner,
    url: &Url,
    opts: &ListOptions,
    waited: &mut Duration,
) -> Result<Response, ForgeError> {
    let shown = url.to_string();
    loop {
        let resp = net
            .send(&request(owner, url, opts.token.as_deref()))
            .map_err(|reason| ForgeError::Request {
                url: shown.clone(),
                reason,
            })?;
        if let Some(reset_in) = rate_limited(&resp) {
            let budget = opts.max_wait.saturating_sub(*waited);
            if reset_in > budget {
                return Err(ForgeError::RateLimited {
                    url: shown,
                    reset_in,
                    max_wait: opts.max_wait,
                });
            }
            std::thread::sleep(reset_in);
            *waited += reset_in;
            continue;
        }
        if !(200..300).contains(&resp.status) {
            let detail = crate::net::provider_message(
                &resp.body,
                serde_json::from_str(&resp.body).ok().as_ref(),
            )
            .map(|m| format!(": {m}"))
            .unwrap_or_default();
            return Err(ForgeError::Status {
                url: shown,
                status: resp.status,
                detail,
            });
        }
        return Ok(resp);
    }
}

fn request(owner: &Owner, url: &Url, token: Option<&str>) -> Request {
    let mut headers = Vec::new();
    if owner.is_github() {
        headers.push(("Accept".into(), "application/vnd.github+json".into()));
        headers.push(("X-GitHub-Api-Version".into(), "2022-11-28".into()));
        if let Some(t) = token {
            headers.push(("Authorization".into(), format!("Bearer {t}")));
        }
    } else {
        headers.push(("Accept".into(), "application/json".into()));
        if let Some(t) = token {
            headers.push(("PRIVATE-TOKEN".into(), t.to_string()));
        }
    }
    Request {
        method: "GET".into(),
        url: url.clone(),
        headers,
        body: None,
    }
}

/// How long until a rate limit that refused this request resets: GitHub
/// answers 403 or 429 with `x-ratelimit-remaining: 0` and
/// `x-ratelimit-reset` (epoch seconds), or `retry-after` (seconds) for its
/// secondary limits; GitLab answers 429 with `retry-after` or `ratelimit-reset`.
fn rate_limited(resp: &Response) -> Option<Duration> {
    if resp.status != 403 && resp.status != 429 {
        return None;
    }
    let num = |name: &str| resp.header(name)?.trim().parse::<i64>().ok();
    if let Some(secs) = num("retry-after") {
        return Some(Duration::from_secs(secs.max(0) as u64));
    }
    let exhausted =
        num("x-ratelimit-remaining") == Some(0) || num("ratelimit-remaining") == Some(0);
    let reset = num("x-ratelimit-reset").or_else(|| num("ratelimit-reset"));
    match (exhausted || resp.status == 429, reset) {
        (true, Some(at)) => {
            // One second more: the reset time is rounded down.
            let secs = (at - crate::time::unix_now()).max(0) + 1;
            Some(Duration::from_secs(secs as u64))
        }
        (true, None) if resp.status == 429 => Some(Duration::from_secs(60)),
        _ => None,
    }
}

/// The next page: the `Link` header's `rel="next"` (both platforms), else
/// GitLab's `x-next-page` number. Refused when it leaves the API's origin.
fn next_page(url: &Url, resp: &Response) -> Result<Option<Url>, ForgeError> {
    let next = if let Some(link) = resp.header("link").and_then(link_next) {
        url.join(&link).ok()
    } else if let Some(n) = resp
        .header("x-next-page")
        .and_then(|n| n.trim().parse::<u32>().ok())
    {
        let mut u = url.clone();
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != "page")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        u.query_pairs_mut()
            .clear()
            .extend_pairs(pairs)
            .append_pair("page", &n.to_string());
        Some(u)
    } else {
        None
    };
    match next {
        Some(n) if n.origin() != url.origin() => Err(ForgeError::ForeignNext {
            url: url.to_string(),
            next: n.to_string(),
        }),
        other => Ok(other),
    }
}

/// The target of `rel="next"` in a `Link` header
/// (`<https://…?page=2>; rel="next", <…>; rel="last"`).
fn link_next(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| matches!(p.trim(), r#"rel="next""# | "rel=next"));
        let t = target.trim();
        (is_next && t.starts_with('<') && t.ends_with('>')).then(|| t[1..t.len() - 1].to_string())
    })
}

/// Adds one page's repositories to `listing`, filtered.
fn add_page(
    owner: &Owner,
    url: &Url,
    body: &str,
    opts: &ListOptions,
    listing: &mut Listing,
) -> Result<(), ForgeError> {
    let bad = |reason: String| ForgeError::BadAnswer {
        url: url.to_string(),
        reason,
    };
    let page: Value = serde_json::from_str(body).map_err(|e| bad(e.to_string()))?;
    let items = page.as_array().ok_or_else(|| bad("not a list".into()))?;
    for item in items {
        let (clone, archived, fork) = if owner.is_github() {
            (
                item.get("clone_url"),
                item.get("archived").and_then(Value::as_bool),
                item.get("fork").and_then(Value::as_bool),
            )
        } else {
            (
                item.get("http_url_to_repo"),
                item.get("archived").and_then(Value::as_bool),
                Some(
                    item.get("forked_from_project")
                        .is_some_and(|v| !v.is_null()),
                ),
            )
        };
        let clone = clone
            .and_then(Value::as_str)
            .ok_or_else(|| bad("a repository without a clone URL".into()))?;
        if archived == Some(true) && !opts.include_archived {
            listing.archived_skipped += 1;
        } else if fork == Some(true) && !opts.include_forks {
            listing.forks_skipped += 1;
        } else if clone_allowed(clone, opts.allow_internal) {
            listing.repos.push(clone.to_string());
        } else {
            listing
                .refused
                .push(crate::source::mirror::without_credentials(clone));
        }
    }
    Ok(())
}

/// A listed clone URL is fetched only over `https://` (without credentials of
/// its own), unless internal addresses were allowed on the command line: an
/// API answer must not make the sweep read local paths or other protocols.
fn clone_allowed(url: &str, allow_internal: bool) -> bool {
    if url.starts_with('-') || url.contains(['\n', '\r', '\0']) {
        return false;
    }
    if allow_internal {
        return true;
    }
    Url::parse(url).is_ok_and(|u| {
        u.scheme() == "https"
            && u.host_str().is_some()
            && u.username().is_empty()
            && u.password().is_none()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, headers: &[(&str, &str)]) -> Response {
        Response {
            status,
            body: String::new(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn first_pages() {
        let u = first_page(&Owner::GitHubOrg("acme".into()), "https://api.github.com/").unwrap();
        assert_eq!(
            u.as_str(),
            "https://api.github.com/orgs/acme/repos?type=all&per_page=100"
        );
        let u = first_page(
            &Owner::GitLabGroup("acme/platform".into()),
            "https://gl.example.com/api/v4",
        )
        .unwrap();
        assert_eq!(
            u.as_str(),
            "https://gl.example.com/api/v4/groups/acme%2Fplatform/projects?include_subgroups=true&order_by=id&sort=asc&per_page=100"
        );
        for bad in ["..", "a?b", "a#b", ""] {
            assert!(
                first_page(&Owner::GitHubUser(bad.into()), "https://x").is_err(),
                "{bad}"
            );
        }
        assert!(first_page(&Owner::GitHubUser("a".into()), "file:///x").is_err());
    }

    #[test]
    fn links() {
        assert_eq!(
            link_next(r#"<https://a/x?page=2>; rel="next", <https://a/x?page=9>; rel="last""#)
                .as_deref(),
            Some("https://a/x?page=2")
        );
        assert_eq!(link_next(r#"<https://a/x?page=1>; rel="prev""#), None);
        let url = Url::parse("https://a/x?per_page=100").unwrap();
        let r = resp(200, &[("link", r#"<https://evil/x?page=2>; rel="next""#)]);
        assert!(matches!(
            next_page(&url, &r),
            Err(ForgeError::ForeignNext { .. })
        ));
        let r = resp(200, &[("x-next-page", "3")]);
        assert_eq!(
            next_page(&url, &r).unwrap().unwrap().as_str(),
            "https://a/x?per_page=100&page=3"
        );
        let r = resp(200, &[("x-next-page", "")]);
        assert_eq!(next_page(&url, &r).unwrap(), None);
    }

    #[test]
    fn rate_limits() {
        let reset = (crate::time::unix_now() + 30).to_string();
        let r = resp(
            403,
            &[
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", &reset),
            ],
        );
        let d = rate_limited(&r).unwrap();
        assert!((29..=32).contains(&d.as_secs()), "{d:?}");
        assert_eq!(
            rate_limited(&resp(429, &[("retry-after", "7")])),
            Some(Duration::from_secs(7))
        );
        // A plain 403 (no access) is not a rate limit.
        assert_eq!(
            rate_limited(&resp(403, &[("x-ratelimit-remaining", "12")])),
            None
        );
        assert_eq!(rate_limited(&resp(200, &[("retry-after", "7")])), None);
    }

    #[test]
    fn clone_urls() {
        assert!(clone_allowed("https://github.com/a/b.git", false));
        for bad in [
            "file:///etc",
            "/srv/git/a",
            "http://github.com/a/b.git",
            "ssh://git@github.com/a/b",
            "https://user:pw@github.com/a/b.git",
            "-uhttps://x",
            "ext::sh -c touch% /tmp/x",
        ] {
            assert!(!clone_allowed(bad, false), "{bad}");
        }
        assert!(clone_allowed("file:///srv/git/a", true));
        assert!(!clone_allowed("--upload-pack=x", true));
    }
}
