//! Replies and their encoding: status line, `Server`, `Date`, `Content-Length` on every response,
//! CRLF everywhere, written into a caller-owned buffer.

use std::time::Duration;

use crate::date::write_date;

/// An HTTP status code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status(pub u16);

#[allow(missing_docs)]
impl Status {
    pub const OK: Status = Status(200);
    pub const BAD_REQUEST: Status = Status(400);
    pub const NOT_FOUND: Status = Status(404);
    pub const METHOD_NOT_ALLOWED: Status = Status(405);
    pub const REQUEST_TIMEOUT: Status = Status(408);
    pub const CONTENT_TOO_LARGE: Status = Status(413);
    pub const URI_TOO_LONG: Status = Status(414);
    pub const HEADERS_TOO_LARGE: Status = Status(431);
    pub const NOT_IMPLEMENTED: Status = Status(501);
    pub const SERVICE_UNAVAILABLE: Status = Status(503);
    pub const VERSION_NOT_SUPPORTED: Status = Status(505);

    /// The status line's reason phrase.
    pub fn reason(self) -> &'static str {
        match self.0 {
            100 => "Continue",
            200 => "OK",
            400 => "Bad Request",
            404 => "Not Found",
            405 => "Method Not Allowed",
            408 => "Request Timeout",
            413 => "Content Too Large",
            414 => "URI Too Long",
            431 => "Request Header Fields Too Large",
            501 => "Not Implemented",
            503 => "Service Unavailable",
            505 => "HTTP Version Not Supported",
            _ => "Unknown",
        }
    }
}

/// A response body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// Fixed bytes.
    Static(&'static [u8]),
    /// Bytes made for this request.
    Owned(Vec<u8>),
    /// `n` filler bytes (the `/bytes` route), written straight into the output.
    Fill(usize),
}

impl Body {
    /// Its length in bytes.
    pub fn len(&self) -> usize {
        match self {
            Body::Static(b) => b.len(),
            Body::Owned(b) => b.len(),
            Body::Fill(n) => *n,
        }
    }

    /// Whether it has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends the bytes from `at` on to `out`, at most `max` of them; returns how many. The
    /// body is a source the connection pulls from window by window, so a 64 MiB `/bytes`
    /// answer never needs more than one window of output buffer.
    #[inline]
    pub fn write_part(&self, at: usize, max: usize, out: &mut Vec<u8>) -> usize {
        let n = self.len().saturating_sub(at).min(max);
        match self {
            Body::Static(b) => out.extend_from_slice(&b[at..at + n]),
            Body::Owned(b) => out.extend_from_slice(&b[at..at + n]),
            Body::Fill(_) => out.resize(out.len() + n, b'x'),
        }
        n
    }
}

/// What the application answers, before framing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The status code.
    pub status: Status,
    /// The `Content-Type`.
    pub content_type: &'static str,
    /// The body (left out of the bytes for HEAD, but counted in `Content-Length`).
    pub body: Body,
    /// Send the reply only after this delay (the `/sleep` route). The model decides how to wait.
    pub delay: Option<Duration>,
    /// The `Allow` header of a 405.
    pub allow: Option<&'static str>,
}

impl Reply {
    /// A `text/plain` reply.
    pub fn text(status: Status, body: impl Into<Body>) -> Reply {
        Reply {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.into(),
            delay: None,
            allow: None,
        }
    }

    /// Appends this reply's bytes to `out`, the whole body included. `head` leaves the body
    /// out; `close` says `Connection: close`, `keep_alive_1_0` says `Connection: keep-alive` to
    /// an HTTP/1.0 client.
    pub fn encode(&self, out: &mut Vec<u8>, head: bool, close: bool, keep_alive_1_0: bool) {
        if !head {
            out.reserve(160 + self.body.len());
        }
        self.encode_head(out, close, keep_alive_1_0);
        if !head {
            self.body.write_part(0, usize::MAX, out);
        }
    }

    /// Appends the status line and header section (ending in the empty line) to `out`; the
    /// body is written separately, with [`Body::write_part`].
    pub fn encode_head(&self, out: &mut Vec<u8>, close: bool, keep_alive_1_0: bool) {
        let len = self.body.len();
        out.reserve(160);
        out.extend_from_slice(b"HTTP/1.1 ");
        out.extend_from_slice(itoa(u64::from(self.status.0)).as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.status.reason().as_bytes());
        out.extend_from_slice(b"\r\nServer: swarmlab\r\nDate: ");
        write_date(out);
        out.extend_from_slice(b"\r\nContent-Type: ");
        out.extend_from_slice(self.content_type.as_bytes());
        out.extend_from_slice(b"\r\nContent-Length: ");
        out.extend_from_slice(itoa(len as u64).as_bytes());
        if let Some(allow) = self.allow {
            out.extend_from_slice(b"\r\nAllow: ");
            out.extend_from_slice(allow.as_bytes());
        }
        if close {
            out.extend_from_slice(b"\r\nConnection: close");
        } else if keep_alive_1_0 {
            out.extend_from_slice(b"\r\nConnection: keep-alive");
        }
        out.extend_from_slice(b"\r\n\r\n");
    }
}

impl From<&'static str> for Body {
    fn from(s: &'static str) -> Body {
        Body::Static(s.as_bytes())
    }
}

impl From<String> for Body {
    fn from(s: String) -> Body {
        Body::Owned(s.into_bytes())
    }
}

/// Formats a number without going through `fmt` (this is on every response).
fn itoa(mut n: u64) -> ItoaBuf {
    let mut buf = ItoaBuf {
        bytes: [0; 20],
        start: 20,
    };
    loop {
        buf.start -= 1;
        buf.bytes[buf.start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return buf;
        }
    }
}

struct ItoaBuf {
    bytes: [u8; 20],
    start: usize,
}

impl ItoaBuf {
    fn as_bytes(&self) -> &[u8] {
        &self.bytes[self.start..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_crlf_and_content_length() {
        let mut out = Vec::new();
        Reply::text(Status::OK, "hi").encode(&mut out, false, true, false);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\nServer: swarmlab\r\nDate: "));
        assert!(text.contains("\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"));
        assert!(
            !text.replace("\r\n", "").contains('\n'),
            "bare LF in {text:?}"
        );
    }

    #[test]
    fn head_keeps_length_but_drops_body() {
        let mut out = Vec::new();
        Reply::text(Status::OK, Body::Fill(1000)).encode(&mut out, true, false, false);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("Content-Length: 1000\r\n"));
        assert!(text.ends_with("\r\n\r\n"));
    }

    #[test]
    fn itoa_matches_display() {
        for n in [0u64, 7, 10, 99, 100, 12345, u64::MAX] {
            assert_eq!(itoa(n).as_bytes(), n.to_string().as_bytes());
        }
    }
}
