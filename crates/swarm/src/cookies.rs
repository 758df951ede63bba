//! A user's cookie jar, as Locust's clients keep one (python-requests' `RequestsCookieJar` and
//! geventhttpclient's `CookieJar` both run Python's `http.cookiejar` with its default policy):
//! `Set-Cookie` stored per domain and path, sent back in `Cookie` to a request whose host
//! domain-matches and whose path path-matches (longest path first), `Max-Age`/`Expires`
//! honoured, `Secure` cookies only over https. (Locust marks geventhttpclient's requests as
//! https for the jar so that Secure cookies would go over http too, but geventhttpclient 2.6
//! sets each request's scheme itself: measured, a `FastHttpUser` keeps them off http as well.)
//!
//! Nothing is allocated for a user whose responses set no cookie: the worker asks
//! [`Jar::is_empty`] before building a request of its own.

use std::time::{Duration, SystemTime};

#[derive(Clone, Debug, PartialEq, Eq)]
struct Cookie {
    name: String,
    value: String,
    /// Lowercase, without a leading dot.
    domain: String,
    /// Set without a `Domain` attribute: sent to that host only.
    host_only: bool,
    path: String,
    secure: bool,
    expires: Option<SystemTime>,
}

/// One user's cookies.
#[derive(Clone, Debug, Default)]
pub struct Jar {
    cookies: Vec<Cookie>,
}

/// `host` without a port, lowercase (cookies ignore ports).
fn host_name(authority: &str) -> String {
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6),
        None => authority.rsplit_once(':').map_or(authority, |(h, p)| {
            if p.parse::<u16>().is_ok() {
                h
            } else {
                authority
            }
        }),
    };
    host.to_ascii_lowercase()
}

fn domain_matches(host: &str, domain: &str) -> bool {
    host == domain
        || (host.len() > domain.len()
            && host.ends_with(domain)
            && host.as_bytes()[host.len() - domain.len() - 1] == b'.')
}

fn path_matches(req: &str, cookie: &str) -> bool {
    req == cookie
        || (req.starts_with(cookie)
            && (cookie.ends_with('/') || req.as_bytes().get(cookie.len()) == Some(&b'/')))
}

/// RFC 6265's default path: the request path up to (not including) its last `/`, or `/`.
fn default_path(path: &str) -> String {
    let path = path.split(['?', '#']).next().unwrap_or("");
    match path.rfind('/') {
        Some(0) | None => "/".into(),
        Some(i) => path[..i].into(),
    }
}

impl Jar {
    /// Whether the jar holds no cookie.
    pub fn is_empty(&self) -> bool {
        self.cookies.is_empty()
    }

    /// Takes one `Set-Cookie` field value of a response to a request for `path` on
    /// `authority` (`host[:port]`). A malformed field, or one whose `Domain` the host is not
    /// in, is ignored, as Python's cookiejar does.
    pub fn store(&mut self, set_cookie: &str, authority: &str, path: &str) {
        let now = SystemTime::now();
        let host = host_name(authority);
        let mut attrs = set_cookie.split(';');
        let Some((name, value)) = attrs.next().and_then(|kv| kv.split_once('=')) else {
            return;
        };
        let name = name.trim();
        if name.is_empty() {
            return;
        }
        let mut cookie = Cookie {
            name: name.to_string(),
            value: value.trim().to_string(),
            domain: host.clone(),
            host_only: true,
            path: default_path(path),
            secure: false,
            expires: None,
        };
        let mut max_age = None;
        for attr in attrs {
            let (k, v) = attr.split_once('=').unwrap_or((attr, ""));
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            match k.as_str() {
                "domain" if !v.is_empty() => {
                    let d = v.trim_start_matches('.').to_ascii_lowercase();
                    if !domain_matches(&host, &d) {
                        return;
                    }
                    cookie.host_only = d == host;
                    cookie.domain = d;
                }
                "path" if v.starts_with('/') => cookie.path = v.to_string(),
                "secure" => cookie.secure = true,
                "max-age" => max_age = v.parse::<i64>().ok(),
                "expires" => {
                    if let Ok(t) = httpdate::parse_http_date(v) {
                        cookie.expires = Some(t);
                    }
                }
                _ => {}
            }
        }
        // Max-Age wins over Expires; zero or less (or a date gone) deletes the cookie
        if let Some(secs) = max_age {
            cookie.expires = Some(if secs <= 0 {
                SystemTime::UNIX_EPOCH
            } else {
                now + Duration::from_secs(secs as u64)
            });
        }
        let same = |c: &Cookie| {
            c.name == cookie.name && c.domain == cookie.domain && c.path == cookie.path
        };
        let gone = cookie.expires.is_some_and(|t| t <= now);
        match self.cookies.iter().position(same) {
            Some(i) if gone => {
                self.cookies.remove(i);
            }
            Some(i) => self.cookies[i] = cookie,
            None if gone => {}
            None => self.cookies.push(cookie),
        }
    }

    /// The `Cookie` field value for a request to `path` on `authority`, `secure` if it goes
    /// over TLS; `None` if no cookie applies.
    pub fn header(&self, authority: &str, path: &str, secure: bool) -> Option<String> {
        let now = SystemTime::now();
        let host = host_name(authority);
        let path = path.split(['?', '#']).next().unwrap_or("/");
        let mut chosen: Vec<&Cookie> = self
            .cookies
            .iter()
            .filter(|c| {
                (if c.host_only {
                    host == c.domain
                } else {
                    domain_matches(&host, &c.domain)
                }) && path_matches(path, &c.path)
                    && (secure || !c.secure)
                    && c.expires.is_none_or(|t| t > now)
            })
            .collect();
        if chosen.is_empty() {
            return None;
        }
        // longest path first, as Python's cookiejar orders them (stable otherwise)
        chosen.sort_by_key(|c| std::cmp::Reverse(c.path.len()));
        let mut out = String::new();
        for c in chosen {
            if !out.is_empty() {
                out.push_str("; ");
            }
            out.push_str(&c.name);
            out.push('=');
            out.push_str(&c.value);
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_then_sent_by_domain_path_and_scheme() {
        let mut jar = Jar::default();
        assert!(jar.is_empty());
        jar.store("sid=abc; Path=/; HttpOnly", "127.0.0.1:8080", "/login");
        jar.store("deep=1; Path=/api", "127.0.0.1:8080", "/login");
        jar.store("dir=2", "127.0.0.1:8080", "/shop/cart");
        jar.store("sec=3; Secure", "127.0.0.1:8080", "/");
        // the port does not matter; the longest path goes first
        assert_eq!(
            jar.header("127.0.0.1:9999", "/api/x?q=1", false).as_deref(),
            Some("deep=1; sid=abc")
        );
        assert_eq!(
            jar.header("127.0.0.1", "/shop/item", false).as_deref(),
            Some("dir=2; sid=abc")
        );
        // /apix is not under /api; a Secure cookie only over TLS
        assert_eq!(
            jar.header("127.0.0.1", "/apix", true).as_deref(),
            Some("sid=abc; sec=3")
        );
        // host-only: not sent to another host
        assert_eq!(jar.header("localhost", "/", true), None);
    }

    #[test]
    fn domains_replacement_and_deletion() {
        let mut jar = Jar::default();
        jar.store("a=1; Domain=.example.test", "www.example.test", "/");
        jar.store("b=2; Domain=other.test", "www.example.test", "/"); // not its domain: ignored
        assert_eq!(
            jar.header("api.example.test", "/", false).as_deref(),
            Some("a=1")
        );
        assert_eq!(jar.header("badexample.test", "/", false), None);
        jar.store("a=9; Domain=example.test", "example.test", "/");
        assert_eq!(
            jar.header("example.test", "/", false).as_deref(),
            Some("a=9")
        );
        jar.store("a=; Max-Age=0; Domain=example.test", "example.test", "/");
        assert_eq!(jar.header("example.test", "/", false), None);
        jar.store(
            "t=1; Expires=Thu, 01 Jan 1970 00:00:01 GMT",
            "example.test",
            "/",
        );
        jar.store(
            "u=1; Expires=Fri, 01 Jan 2100 00:00:00 GMT",
            "example.test",
            "/",
        );
        assert_eq!(
            jar.header("example.test", "/", false).as_deref(),
            Some("u=1")
        );
        jar.store("garbage", "example.test", "/");
        jar.store("=nameless", "example.test", "/");
        assert_eq!(
            jar.header("example.test", "/", false).as_deref(),
            Some("u=1")
        );
    }
}
