//! The header section: `httparse` for the grammar, then the RFC 9112 checks it leaves to us
//! (Host, Content-Length against Transfer-Encoding, versions, sizes).

use std::ops::Range;

use crate::config::Config;
use crate::error::RequestError;

/// The largest number of header fields the parser has room for; `Config::max_headers` above
/// this is treated as this.
const HEADER_SLOTS: usize = 128;
/// Room for the method, spaces and version around a request target of the maximum length.
const REQUEST_LINE_SLACK: usize = 32;

/// The methods this server knows. Any other token gets 501.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Delete,
    Options,
    Patch,
    Trace,
    Connect,
}

impl Method {
    fn parse(token: &str) -> Option<Method> {
        Some(match token {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "OPTIONS" => Method::Options,
            "PATCH" => Method::Patch,
            "TRACE" => Method::Trace,
            "CONNECT" => Method::Connect,
            _ => return None,
        })
    }
}

/// How the body of a request is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// No body.
    None,
    /// `Content-Length: n`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A complete, checked header section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    /// Bytes of the header section, the final empty line included.
    pub len: usize,
    /// The request method.
    pub method: Method,
    /// Where the request target lies within the header section's bytes.
    pub target: Range<usize>,
    /// The minor version: 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor: u8,
    /// Whether the connection stays open after this request (version and `Connection`).
    pub keep_alive: bool,
    /// How the body is delimited.
    pub framing: Framing,
    /// Whether the client sent `Expect: 100-continue`.
    pub expect_continue: bool,
}

/// Parses the header section at the start of `buf`.
///
/// `Ok(None)` means more bytes are needed (and the limits are not yet exceeded).
pub fn parse(buf: &[u8], cfg: &Config) -> Result<Option<Head>, RequestError> {
    // Uninitialised slots: zeroing 128 of them (4 KiB) on every request was a measurable part
    // of a keep-alive request's user-space time (perf, uring model); httparse initialises the
    // ones it fills and `req.headers` covers only those.
    let mut slots =
        [const { std::mem::MaybeUninit::<httparse::Header<'_>>::uninit() }; HEADER_SLOTS];
    let slots = &mut slots[..cfg.max_headers.clamp(1, HEADER_SLOTS)];
    let mut req = httparse::Request::new(&mut []);
    let len = match req.parse_with_uninit_headers(buf, slots) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return partial_limits(buf, cfg).map(|()| None),
        Err(httparse::Error::Version) => {
            return match version_error(buf) {
                Some(e) => Err(e),
                None => partial_limits(buf, cfg).map(|()| None),
            }
        }
        Err(httparse::Error::TooManyHeaders) => return Err(RequestError::HeadTooLarge),
        Err(e) => return Err(RequestError::Malformed(grammar(e))),
    };
    if len > cfg.max_head {
        return Err(RequestError::HeadTooLarge);
    }
    let (Some(method), Some(path), Some(minor)) = (req.method, req.path, req.version) else {
        return Err(RequestError::Malformed("incomplete request line"));
    };
    let method = Method::parse(method).ok_or(RequestError::Method)?;
    if path.len() > cfg.max_target {
        return Err(RequestError::TargetTooLong);
    }
    let start = path.as_ptr() as usize - buf.as_ptr() as usize;
    let fields = Fields::collect(req.headers, minor)?;
    if minor == 1 && fields.hosts != 1 {
        return Err(RequestError::Host);
    }
    let framing = match (fields.length, fields.chunked) {
        (Some(_), true) => {
            return Err(RequestError::Framing(
                "content-length with transfer-encoding",
            ))
        }
        (Some(n), false) if n > cfg.max_body => return Err(RequestError::BodyTooLarge),
        (Some(0), false) | (None, false) => Framing::None,
        (Some(n), false) => Framing::Length(n),
        (None, true) => Framing::Chunked,
    };
    let keep_alive = match minor {
        1 => !fields.close,
        _ => fields.keep_alive && !fields.close,
    };
    Ok(Some(Head {
        len,
        method,
        target: start..start + path.len(),
        minor,
        keep_alive,
        framing,
        expect_continue: fields.expect_continue,
    }))
}

/// What the header fields say about framing and the connection.
#[derive(Default)]
struct Fields {
    hosts: usize,
    length: Option<u64>,
    chunked: bool,
    close: bool,
    keep_alive: bool,
    expect_continue: bool,
}

impl Fields {
    fn collect(headers: &[httparse::Header<'_>], minor: u8) -> Result<Fields, RequestError> {
        let mut f = Fields::default();
        let mut codings = 0usize;
        for h in headers {
            let name = h.name.as_bytes();
            if name.eq_ignore_ascii_case(b"host") {
                f.hosts += 1;
                if !h.value.iter().all(|&b| is_host_byte(b)) {
                    return Err(RequestError::Host);
                }
            } else if name.eq_ignore_ascii_case(b"content-length") {
                for item in list(h.value) {
                    let n = parse_length(item).ok_or(RequestError::ContentLength)?;
                    if f.length.is_some_and(|m| m != n) {
                        return Err(RequestError::ContentLength);
                    }
                    f.length = Some(n);
                }
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                if minor == 0 {
                    return Err(RequestError::Framing("transfer-encoding on http/1.0"));
                }
                for coding in list(h.value) {
                    if !coding.eq_ignore_ascii_case(b"chunked") {
                        return Err(RequestError::TransferCoding);
                    }
                    codings += 1;
                }
                if list(h.value).next().is_none() {
                    return Err(RequestError::Framing("empty transfer-encoding"));
                }
            } else if name.eq_ignore_ascii_case(b"connection") {
                for token in list(h.value) {
                    f.close |= token.eq_ignore_ascii_case(b"close");
                    f.keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
                }
            } else if name.eq_ignore_ascii_case(b"expect") {
                f.expect_continue |= trim(h.value).eq_ignore_ascii_case(b"100-continue");
            }
        }
        match codings {
            0 => {}
            1 => f.chunked = true,
            _ => return Err(RequestError::Framing("chunked applied more than once")),
        }
        Ok(f)
    }
}

/// Checks the size limits while a header section is still incomplete.
fn partial_limits(buf: &[u8], cfg: &Config) -> Result<(), RequestError> {
    let line_end = buf.iter().position(|&b| b == b'\n');
    let line_len = line_end.unwrap_or(buf.len());
    if line_len > cfg.max_target + REQUEST_LINE_SLACK {
        return Err(RequestError::TargetTooLong);
    }
    if buf.len() > cfg.max_head {
        return Err(RequestError::HeadTooLarge);
    }
    Ok(())
}

/// Sorts a version httparse rejected (it rejects every version but 1.0 and 1.1 alike): `HTTP/2`, `HTTP/3.0` and the like are versions we do not
/// support (505); anything else is a malformed request (400). `None`: the request line is not
/// complete and its version field could still turn out either way (`HTTP/2` may go on as
/// `HTTP/2.0` or `HTTP/2x`), so the answer waits for more input and never depends on how the
/// bytes were split.
fn version_error(buf: &[u8]) -> Option<RequestError> {
    let (line, complete) = match buf.iter().position(|&b| b == b'\n') {
        Some(end) => (&buf[..end], true),
        None => (buf, false),
    };
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    // method SP target SP version: the version is the third field, spaces and all
    let version = line.splitn(3, |&b| b == b' ').nth(2).unwrap_or(b"");
    let unsupported = |v: &[u8]| match v.strip_prefix(b"HTTP/") {
        Some([major, b'.', minor]) => major.is_ascii_digit() && minor.is_ascii_digit(),
        Some([major]) => major.is_ascii_digit(),
        _ => false,
    };
    if unsupported(version) {
        return complete.then_some(RequestError::Version);
    }
    let could_grow = [&b"HTTP/0.0"[..], b"HTTP/0"].iter().any(|shape| {
        version.len() < shape.len()
            && version.iter().zip(shape.iter()).all(|(&b, &s)| {
                if s == b'0' {
                    b.is_ascii_digit()
                } else {
                    b == s
                }
            })
    });
    if !complete && could_grow {
        return None;
    }
    Some(RequestError::Malformed("invalid http version"))
}

fn grammar(e: httparse::Error) -> &'static str {
    match e {
        httparse::Error::HeaderName => "invalid header name",
        httparse::Error::HeaderValue => "invalid header value",
        httparse::Error::NewLine => "invalid line ending",
        httparse::Error::Status => "invalid status",
        httparse::Error::Token => "invalid token in request line",
        httparse::Error::TooManyHeaders => "too many headers",
        httparse::Error::Version => "invalid http version",
    }
}

/// The items of a comma-separated field value, trimmed, empty items skipped.
fn list(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim)
        .filter(|s| !s.is_empty())
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &s[start..end]
}

fn parse_length(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 18 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0')))
}

/// Bytes allowed in a Host value: reg-name, IP literals and a port (RFC 3986 §3.2.2).
fn is_host_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=:[]".contains(&b)
}
