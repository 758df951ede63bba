//! The target URL: `http[s]://host[:port][/path]`, resolved once at start.

use std::net::{SocketAddr, ToSocketAddrs};

/// A resolved target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The `Host` header value (`host[:port]` as written).
    pub authority: String,
    /// Where to connect.
    pub addr: SocketAddr,
    /// The path (with query) of the URL, `/` if none.
    pub path: String,
    /// `https://`: connections are TLS, to [`Target::host`].
    pub tls: bool,
}

/// A URL this generator cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadTarget {
    /// Not `http://...`.
    #[error("host '{0}' must look like http://HOST[:PORT][/PATH] or https://...")]
    Form(String),
    /// The host name does not resolve.
    #[error("cannot resolve host '{0}': {1}")]
    Resolve(String, String),
    /// A port that is not one (`:99999`, `:0`).
    #[error("host '{0}' has port {1}, which is not a TCP port (1 to 65535)")]
    Port(String, String),
    /// A space or a control character (a line break would end the request line and start
    /// another request: request splitting).
    #[error(
        "host {0:?} has a space or a control character in it (percent-encode it: %20, %0D%0A)"
    )]
    Unsafe(String),
}

/// Whether `s` may stand in a request line as it is: no space, no control character.
pub fn is_request_target(s: &str) -> bool {
    !s.bytes().any(|b| b <= b' ' || b == 0x7f)
}

/// Whether `s` may be a header field's value: no line break, no NUL (RFC 9110 §5.5), and no
/// whitespace around it (python-requests refuses those too).
pub fn is_field_value(s: &str) -> bool {
    !s.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0))
        && !s.starts_with([' ', '\t'])
        && !s.ends_with([' ', '\t'])
}

impl Target {
    /// The URL again, `http://authority/path` (no trailing `/` for the root).
    pub fn url(&self) -> String {
        let path = if self.path == "/" { "" } else { &self.path };
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}{path}", self.authority)
    }

    /// The host name without its port (and without an IPv6 address's brackets): the name TLS
    /// asks for (SNI) and checks the certificate against.
    pub fn host(&self) -> &str {
        host_of(&self.authority)
    }

    /// The TLS server name of the target, if it is `https://`.
    pub fn tls_name(&self) -> Option<String> {
        self.tls.then(|| self.host().to_string())
    }

    /// Parses and resolves `url`.
    pub fn parse(url: &str) -> Result<Target, BadTarget> {
        if !is_request_target(url) {
            return Err(BadTarget::Unsafe(url.to_string()));
        }
        let form = || BadTarget::Form(url.to_string());
        let (tls, rest) = match url.strip_prefix("http://") {
            Some(rest) => (false, rest),
            None => (true, url.strip_prefix("https://").ok_or_else(form)?),
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], &rest[i..]),
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let path = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_string()
        };
        if authority.is_empty() || authority.contains(['@', ' ']) {
            return Err(form());
        }
        if let Some((_, port)) = authority.rsplit_once(':').filter(|(h, _)| {
            // an IPv6 address without a port has colons inside its brackets
            !h.starts_with('[') || h.ends_with(']')
        }) {
            let digits = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
            if digits && !port.parse::<u16>().is_ok_and(|p| p > 0) {
                return Err(BadTarget::Port(authority.to_string(), port.to_string()));
            }
        }
        let with_port = if authority
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
            && !authority.ends_with(']')
        {
            authority.to_string()
        } else {
            format!("{authority}:{}", if tls { 443 } else { 80 })
        };
        let addr = with_port
            .to_socket_addrs()
            .map_err(|e| BadTarget::Resolve(authority.to_string(), e.to_string()))?
            .next()
            .ok_or_else(|| BadTarget::Resolve(authority.to_string(), "no address".into()))?;
        Ok(Target {
            authority: authority.to_string(),
            addr,
            path,
            tls,
        })
    }
}

/// `host[:port]` → `host` (`[::1]:8443` → `::1`).
pub fn host_of(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match authority.rsplit_once(':') {
        Some((h, p)) if p.parse::<u16>().is_ok() => h,
        _ => authority,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let t = Target::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(
            (t.authority.as_str(), t.addr.port(), t.path.as_str()),
            ("127.0.0.1:8080", 8080, "/")
        );
        let t = Target::parse("http://127.0.0.1:81/a/b?c=1").unwrap();
        assert_eq!(t.path, "/a/b?c=1");
        let t = Target::parse("http://localhost?x").unwrap();
        assert_eq!((t.addr.port(), t.path.as_str()), (80, "/?x"));
        let t = Target::parse("https://localhost/x").unwrap();
        assert_eq!((t.addr.port(), t.host(), t.tls), (443, "localhost", true));
        assert_eq!(t.url(), "https://localhost/x");
        assert_eq!(host_of("[::1]:8443"), "::1");
        assert!(matches!(
            Target::parse("127.0.0.1:80"),
            Err(BadTarget::Form(_))
        ));
        assert!(matches!(Target::parse("http://"), Err(BadTarget::Form(_))));
        // issue 27: a bad port said "cannot resolve host"
        for url in [
            "http://127.0.0.1:99999",
            "http://127.0.0.1:0/x",
            "http://[::1]:70000",
        ] {
            let e = Target::parse(url).unwrap_err();
            assert!(matches!(e, BadTarget::Port(..)), "{url}: {e}");
        }
    }

    /// Issue 27: a host with a line break in it sent a second request; with a space, a
    /// request line of its own.
    #[test]
    fn request_splitting_is_refused() {
        for url in [
            "http://127.0.0.1:18266/x HTTP/1.1\r\nHost: victim\r\n\r\nDELETE /admin",
            "http://127.0.0.1:1/a\r\nX-Injected: 1\r\n",
            "http://127.0.0.1:1/a b",
            "http://127.0.0.1:1/\x00",
            "http://127.0.0.1:1/\x7f",
        ] {
            let e = Target::parse(url).unwrap_err();
            assert!(matches!(e, BadTarget::Unsafe(_)), "{url:?}: {e}");
            assert!(!e.to_string().contains('\n'), "one line: {e}");
        }
        assert!(is_field_value("text/plain; q=1"));
        for bad in ["b\r\nInjected: yes", "a\nb", " lead", "trail\t", "nul\0"] {
            assert!(!is_field_value(bad), "{bad:?}");
        }
    }
}
