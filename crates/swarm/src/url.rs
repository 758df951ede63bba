//! URLs as Locust's clients handle them: split into authority and path, a redirect's
//! `Location` resolved against the URL it answered, a host looked up.

use std::net::{SocketAddr, ToSocketAddrs};

/// Whether `url` is `https://...`.
pub(crate) fn is_https(url: &str) -> bool {
    url.get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
}

/// `http[s]://authority/path?query` as (authority, path with query).
pub(crate) fn split_url(url: &str) -> Result<(String, String), String> {
    let rest = match url.get(..7) {
        Some(s) if s.eq_ignore_ascii_case("http://") => &url[7..],
        _ if is_https(url) => &url[8..],
        _ => {
            return Err(format!(
                "InvalidURL('Invalid URL {url:?}: No host supplied')"
            ))
        }
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    if authority.is_empty() {
        return Err(format!(
            "InvalidURL('Invalid URL {url:?}: No host supplied')"
        ));
    }
    let path = if path.is_empty() {
        "/".to_string()
    } else if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_string()
    };
    Ok((authority.to_string(), path))
}

/// A Location resolved against the URL it answered.
pub(crate) fn join_url(base: &str, location: &str) -> String {
    if location.len() > 7
        && (location[..7].eq_ignore_ascii_case("http://")
            || location.len() > 8 && location[..8].eq_ignore_ascii_case("https://"))
    {
        return location.to_string();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("http", base));
    if let Some(net) = location.strip_prefix("//") {
        return format!("{scheme}://{net}");
    }
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..end];
    if location.starts_with('/') {
        return format!("{scheme}://{authority}{location}");
    }
    let path = rest[end..].split('?').next().unwrap_or("/");
    let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
    format!(
        "{scheme}://{authority}{}{location}",
        if dir.is_empty() { "/" } else { dir }
    )
}

/// The address of `authority` (`host[:port]`; the scheme's port if none), or the error a
/// Locust client reports when the name does not resolve. It blocks while the resolver works:
/// callers keep what it returns.
pub(crate) fn lookup(authority: &str, tls: bool) -> Result<SocketAddr, String> {
    let with_port = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        authority.to_string()
    } else {
        format!("{authority}:{}", if tls { 443 } else { 80 })
    };
    with_port
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| format!("NameResolutionError(\"Failed to resolve '{authority}'\")"))
}
