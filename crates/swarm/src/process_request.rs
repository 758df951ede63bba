//! A Python user's request as the engine sends it: its bytes on the wire (python-requests'
//! field order and Latin-1 values, the user's cookies after its own), the fields its client
//! refuses, the TLS client for the files it names, its client's rule for a status.

use std::sync::Arc;

use crate::client;
use crate::profile::{ClientProfile, Failed};
use crate::remote::TlsFiles;
use crate::tls::ClientTls;

/// A request in flight (its redirects included).
pub(crate) struct Pending {
    pub user: u32,
    pub entry: usize,
    pub flags: u16,
    pub method: String,
    /// The current hop's URL.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub hops: u8,
    pub started: std::time::Instant,
    /// Set-Cookie fields of the hops before the last, handed back with the response.
    pub cookies_seen: Vec<(String, String)>,
    /// The connection carrying it.
    pub conn: Option<usize>,
    /// The files its TLS uses (`verify="ca.pem"`, `cert=`), if it names any.
    pub tls_files: Option<TlsFiles>,
    /// `stream=True`: its head was handed back (and counted); its body goes out in `PART`s.
    pub streaming: bool,
}

/// The request line and header section of `p`'s current hop to `authority` and `path`,
/// its body after them (every field checked by [`refused_field`] first); `from_jar`: the
/// user's cookies for this place.
pub(crate) fn encode(
    p: &Pending,
    authority: &str,
    path: &str,
    from_jar: Option<String>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + p.body.as_ref().map_or(0, Vec::len));
    out.extend_from_slice(p.method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    out.extend_from_slice(authority.as_bytes());
    out.extend_from_slice(b"\r\n");
    let mut cookie: Option<String> = None;
    for (k, v) in &p.headers {
        if k.eq_ignore_ascii_case("host") || k.eq_ignore_ascii_case("content-length") {
            continue;
        }
        if k.eq_ignore_ascii_case("cookie") {
            cookie = Some(v.clone());
            continue;
        }
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b": ");
        latin1(&mut out, v);
        out.extend_from_slice(b"\r\n");
    }
    let mut cookies: Vec<String> = cookie.into_iter().collect();
    // the user's own Cookie first; the jar's for this place after it, unless named there
    for kv in from_jar.iter().flat_map(|c| c.split("; ")) {
        let k = kv.split('=').next();
        let set_here = cookies
            .first()
            .is_some_and(|c| c.split("; ").any(|have| have.split('=').next() == k));
        if !set_here {
            cookies.push(kv.to_string());
        }
    }
    if !cookies.is_empty() {
        out.extend_from_slice(b"Cookie: ");
        out.extend_from_slice(cookies.join("; ").as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    match &p.body {
        Some(b) => {
            out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", b.len()).as_bytes());
            out.extend_from_slice(b);
            return out;
        }
        None if matches!(p.method.as_str(), "POST" | "PUT" | "PATCH") => {
            out.extend_from_slice(b"Content-Length: 0\r\n");
        }
        None => {}
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// The TLS client for a request's own files (`verify="ca.pem"`, `cert=`), made for one
/// set of files; a file that is not there is python-requests' error.
pub(crate) fn tls_for(files: &TlsFiles, insecure: bool) -> Result<Arc<ClientTls>, String> {
    match &files.ca {
        Some(ca) if !std::path::Path::new(ca).exists() => Err(format!(
            "OSError('Could not find a suitable TLS CA certificate bundle, invalid path: {ca}')"
        )),
        _ => match &files.cert {
            Some((c, _)) if !std::path::Path::new(c).exists() => Err(format!(
                "OSError('Could not find the TLS certificate file, invalid path: {c}')"
            )),
            Some((_, k)) if !std::path::Path::new(k).exists() => Err(format!(
                "OSError('Could not find the TLS key file, invalid path: {k}')"
            )),
            _ => ClientTls::new(&crate::tls::TlsOptions {
                insecure,
                cacert: files.ca.as_ref().map(Into::into),
                client_cert: files.cert.as_ref().map(|(c, k)| (c.into(), k.into())),
                no_resumption: false,
            })
            .map(Arc::new)
            .map_err(|e| format!("SSLError({})", client::py_repr(&e))),
        },
    }
}

/// The client's own rule for a status (its profile's).
pub(crate) fn client_rule(status: u16, fast: bool, name: &str) -> Option<Failed> {
    let client = ClientProfile::of(fast);
    client
        .status_failure(status, name)
        .map(|why| client.failed(why))
}

/// A header value as both Python clients write it: each character as its Latin-1 byte
/// (`café` is `63 61 66 e9`); a character past U+00FF, which they refuse, as UTF-8.
fn latin1(out: &mut Vec<u8>, v: &str) {
    if v.is_ascii() {
        return out.extend_from_slice(v.as_bytes());
    }
    for c in v.chars() {
        match u8::try_from(u32::from(c)) {
            Ok(b) => out.push(b),
            Err(_) => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
}

/// python-requests' `InvalidHeader` for a field it would not send (a name with a colon, CR,
/// LF or leading whitespace; a value with CR or LF or leading whitespace), as Locust's failure
/// text; `None` for a field that may go out. NUL, which requests would send, is refused too.
pub(crate) fn refused_field(name: &str, value: &str) -> Option<String> {
    let bad_name = name.is_empty()
        || name.starts_with(|c: char| c.is_whitespace())
        || name.contains([':', '\r', '\n', '\0']);
    let bad_value =
        value.starts_with(|c: char| c.is_whitespace()) || value.contains(['\r', '\n', '\0']);
    let (kind, part) = match (bad_name, bad_value) {
        (true, _) => ("name", name),
        (false, true) => ("value", value),
        (false, false) => return None,
    };
    let message = format!(
        "Invalid leading whitespace, reserved character(s), or return character(s) in header {kind}: {}",
        client::py_repr(part)
    );
    Some(format!("InvalidHeader({})", client::py_repr(&message)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::url::{is_https, join_url, split_url};

    /// The text Locust 2.47 records for such fields (python-requests' InvalidHeader).
    #[test]
    fn fields_that_would_split_a_request_are_refused_as_requests_does() {
        assert_eq!(
            refused_field("X-A", "b\r\nInjected: yes").as_deref(),
            Some(
                r#"InvalidHeader("Invalid leading whitespace, reserved character(s), or return character(s) in header value: 'b\\r\\nInjected: yes'")"#
            )
        );
        assert_eq!(
            refused_field("X:A", "b").as_deref(),
            Some(
                r#"InvalidHeader("Invalid leading whitespace, reserved character(s), or return character(s) in header name: 'X:A'")"#
            )
        );
        assert!(refused_field("X-A", " b").is_some());
        assert_eq!(refused_field("X-A", "space "), None);
        assert_eq!(refused_field("X-A", ""), None);
        assert_eq!(refused_field("X A", "tab\tin"), None);
    }

    #[test]
    fn urls_split_and_redirects_resolve() {
        assert_eq!(
            split_url("http://127.0.0.1:8080/a/b?x=1").unwrap(),
            ("127.0.0.1:8080".into(), "/a/b?x=1".into())
        );
        assert_eq!(split_url("http://h").unwrap(), ("h".into(), "/".into()));
        assert_eq!(split_url("http://h?q").unwrap(), ("h".into(), "/?q".into()));
        assert_eq!(
            split_url("https://h:1/").unwrap(),
            ("h:1".into(), "/".into())
        );
        assert!(is_https("HTTPS://h") && !is_https("http://h"));
        assert!(split_url("ftp://h/")
            .unwrap_err()
            .starts_with("InvalidURL("));
        assert!(split_url("http:///x").is_err());
        assert_eq!(join_url("http://a:1/x/y?q", "/z"), "http://a:1/z");
        assert_eq!(join_url("http://a:1/x/y?q", "z"), "http://a:1/x/z");
        assert_eq!(join_url("http://a:1/x", "http://b:2/w"), "http://b:2/w");
        assert_eq!(join_url("http://a:1/x", "//c/v"), "http://c/v");
    }

    #[test]
    fn each_clients_rule_for_a_status() {
        let client_rule = |status, fast, name| {
            super::client_rule(status, fast, name).map(|f| crate::output::failure::text(&f))
        };
        assert_eq!(client_rule(200, false, "/"), None);
        assert_eq!(client_rule(302, false, "/"), None);
        assert_eq!(
            client_rule(404, false, "/x"),
            Some("HTTPError('404 Client Error: Not Found for url: /x')".into())
        );
        assert_eq!(client_rule(600, false, "/"), None, "requests: 600 succeeds");
        assert_eq!(
            client_rule(299, true, "/"),
            Some("LocustBadStatusCode(code=299)".into())
        );
        assert_eq!(client_rule(304, true, "/"), None);
    }
}
