//! The target URL: `http://host[:port][/path]`, resolved once at start.

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
}

/// A URL this generator cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadTarget {
    /// Not `http://...`.
    #[error("host '{0}' must look like http://HOST[:PORT][/PATH] (https is not supported)")]
    Form(String),
    /// The host name does not resolve.
    #[error("cannot resolve host '{0}': {1}")]
    Resolve(String, String),
}

impl Target {
    /// The URL again, `http://authority/path` (no trailing `/` for the root).
    pub fn url(&self) -> String {
        let path = if self.path == "/" { "" } else { &self.path };
        format!("http://{}{path}", self.authority)
    }

    /// Parses and resolves `url`.
    pub fn parse(url: &str) -> Result<Target, BadTarget> {
        let form = || BadTarget::Form(url.to_string());
        let rest = url.strip_prefix("http://").ok_or_else(form)?;
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
        let with_port = if authority
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
            && !authority.ends_with(']')
        {
            authority.to_string()
        } else {
            format!("{authority}:80")
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
        })
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
        assert!(matches!(
            Target::parse("https://x"),
            Err(BadTarget::Form(_))
        ));
        assert!(matches!(
            Target::parse("127.0.0.1:80"),
            Err(BadTarget::Form(_))
        ));
        assert!(matches!(Target::parse("http://"), Err(BadTarget::Form(_))));
    }
}
