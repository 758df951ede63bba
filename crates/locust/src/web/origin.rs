//! The web UI answers its own pages and the scripts a user runs, not other web sites.
//!
//! Locust 2.47 takes a cross-site form POST to `/swarm`: any page the user visits (or a name an
//! attacker rebinds to 127.0.0.1) could start a load against any host. Two checks, on every
//! request:
//! - **Host** (DNS rebinding): the `Host` a browser sends is the name in its address bar, so
//!   it must be an IP address, `localhost`, or this machine's own name; a rebound
//!   `attacker.example:8089` is refused.
//! - **Origin** (cross-site requests) on the state-changing ones (every method but GET and
//!   HEAD): a browser says where a request comes from (`Origin`, `Sec-Fetch-Site`); one from
//!   another origin is refused. `curl` and scripts send neither and keep working, as Locust's
//!   documents drive its UI.

use axum::http::{header, Method, Request, Response, StatusCode};
use axum::response::IntoResponse;
use tower_http::validate_request::ValidateRequest;

/// The check, as a `tower_http` request validator.
#[derive(Clone, Default)]
pub struct SameOrigin {
    /// Whether `Host` is checked: not behind `--web-login` (a browser sends the login to its
    /// own origin only, so a rebound name gets no further, and a UI reached from other machines
    /// may be reached by any name).
    check_host: bool,
    /// This machine's name (from `gethostname`), also a valid `Host`.
    hostname: Option<String>,
}

impl SameOrigin {
    /// The check, knowing this machine's name; `check_host` as [`SameOrigin::check_host`].
    pub fn new(check_host: bool) -> SameOrigin {
        let hostname = rustix::system::uname()
            .nodename()
            .to_str()
            .ok()
            .map(|s| s.to_ascii_lowercase());
        SameOrigin {
            check_host,
            hostname,
        }
    }

    /// Why a request is refused, if it is.
    pub fn refuse(&self, method: &Method, headers: &axum::http::HeaderMap) -> Option<&'static str> {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        if let Some(host) = host.filter(|_| self.check_host) {
            if !self.host_allowed(host) {
                return Some("this UI answers requests to its IP address, localhost or this machine's name only (behind --web-login, to any name)\n");
            }
        }
        if matches!(*method, Method::GET | Method::HEAD) {
            return None;
        }
        let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
        if fetch_site.is_some_and(|s| s != "same-origin" && s != "none") {
            return Some("a request from another web site is refused\n");
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let same = match (origin.to_str().ok(), host) {
                (Some(o), Some(h)) => o
                    .strip_prefix("http://")
                    .or_else(|| o.strip_prefix("https://"))
                    .is_some_and(|rest| rest.eq_ignore_ascii_case(h)),
                _ => false,
            };
            if !same {
                return Some("a request from another web site is refused\n");
            }
        }
        None
    }

    /// An IP address (v4, or v6 in brackets), `localhost` (or a name under it), or this
    /// machine's name; any port.
    fn host_allowed(&self, host: &str) -> bool {
        let name = if let Some(rest) = host.strip_prefix('[') {
            return rest
                .split(']')
                .next()
                .is_some_and(|a| a.parse::<std::net::Ipv6Addr>().is_ok());
        } else {
            host.rsplit_once(':').map_or(host, |(n, _)| n)
        };
        let name = name.to_ascii_lowercase();
        name.parse::<std::net::Ipv4Addr>().is_ok()
            || name == "localhost"
            || name.ends_with(".localhost")
            || self.hostname.as_deref().is_some_and(|me| {
                // its own name, or a fully qualified one of it (lab-box.example.edu)
                name == me
                    || name
                        .strip_prefix(me)
                        .is_some_and(|rest| rest.starts_with('.'))
            })
    }
}

impl<B> ValidateRequest<B> for SameOrigin {
    type ResponseBody = axum::body::Body;

    fn validate(&mut self, request: &mut Request<B>) -> Result<(), Response<Self::ResponseBody>> {
        match self.refuse(request.method(), request.headers()) {
            None => Ok(()),
            Some(why) => Err((StatusCode::FORBIDDEN, why).into_response()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    /// Issue 27: a cross-site form POST and a rebound name are refused; the page itself, curl
    /// and scripts are not.
    #[test]
    fn cross_site_and_rebound_requests_are_refused() {
        let c = SameOrigin {
            check_host: true,
            hostname: Some("lab-box".into()),
        };
        let ok: &[(Method, &[(&str, &str)])] = &[
            (Method::POST, &[("host", "127.0.0.1:8089")]), // curl
            (
                Method::POST,
                &[
                    ("host", "127.0.0.1:8089"),
                    ("origin", "http://127.0.0.1:8089"),
                    ("sec-fetch-site", "same-origin"),
                ],
            ), // the page's own fetch
            (Method::POST, &[("host", "localhost:8089")]),
            (Method::POST, &[("host", "[::1]:8089")]),
            (Method::POST, &[("host", "LAB-BOX:8089")]),
            (Method::POST, &[("host", "lab-box.example.edu")]),
            (
                Method::GET,
                &[("host", "10.0.0.5:8089"), ("sec-fetch-site", "cross-site")],
            ),
            (Method::POST, &[]),
        ];
        for (m, h) in ok {
            assert_eq!(c.refuse(m, &headers(h)), None, "{m} {h:?}");
        }
        let refused: &[(Method, &[(&str, &str)])] = &[
            (
                Method::POST,
                &[
                    ("host", "127.0.0.1:8089"),
                    ("origin", "http://evil.example"),
                ],
            ),
            (
                Method::POST,
                &[("host", "127.0.0.1:8089"), ("sec-fetch-site", "cross-site")],
            ),
            (
                Method::POST,
                &[("host", "127.0.0.1:8089"), ("sec-fetch-site", "same-site")],
            ),
            (
                Method::POST,
                &[("host", "127.0.0.1:8089"), ("origin", "null")],
            ),
            (Method::POST, &[("host", "attacker.example:8089")]),
            (Method::GET, &[("host", "attacker.example:8089")]),
        ];
        for (m, h) in refused {
            assert!(c.refuse(m, &headers(h)).is_some(), "{m} {h:?}");
        }
        // behind a login, any name (the cross-site check stays)
        let logged = SameOrigin {
            check_host: false,
            ..c
        };
        let h = headers(&[("host", "lab.example.edu:8089")]);
        assert_eq!(logged.refuse(&Method::POST, &h), None);
        let h = headers(&[
            ("host", "lab.example.edu:8089"),
            ("origin", "http://evil.example"),
        ]);
        assert!(logged.refuse(&Method::POST, &h).is_some());
    }
}
