//! One probe connection: raw bytes out, answers read back as a lenient client would (bare LF
//! accepted, so that it can be named), and how the connection ended (a clean end, a reset, or
//! nothing within the wait).

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// How long a probe waits for an answer.
pub const ANSWER_WAIT: Duration = Duration::from_secs(3);
/// How long a probe waits once the server has been silent (or never ended an answer) for a
/// whole [`ANSWER_WAIT`]: the cause is named, and its repeats need not cost 3 s each (a
/// server that never answers took a minute to check).
pub const REPEAT_WAIT: Duration = Duration::from_secs(1);

/// The wait in force, ms (process-wide, as the TLS setting is: `check` probes one server at
/// a time).
static WAIT_MS: std::sync::atomic::AtomicU64 =
    std::sync::atomic::AtomicU64::new(ANSWER_WAIT.as_millis() as u64);

/// How long a probe waits for an answer now.
pub fn answer_wait() -> Duration {
    Duration::from_millis(WAIT_MS.load(std::sync::atomic::Ordering::Relaxed))
}

/// Sets [`answer_wait`]: [`ANSWER_WAIT`], or [`REPEAT_WAIT`] once the cause is named.
pub fn set_answer_wait(wait: Duration) {
    WAIT_MS.store(
        wait.as_millis() as u64,
        std::sync::atomic::Ordering::Relaxed,
    );
}
/// The most header a probe reads looking for its end (a server sending fields forever).
pub const HEAD_MAX: usize = 64 * 1024;
/// The most of a body a probe keeps; the rest is counted and dropped.
pub const BODY_KEEP: usize = 64 * 1024;
/// The most bytes a probe reads of one answer's body (an endless one, at full speed): past
/// this it stops, and the answer counts as not ended.
pub const BODY_MAX: u64 = 16 << 20;

/// How a connection's reading ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// The server closed (FIN).
    Eof,
    /// The kernel reset it (RST): ECONNRESET.
    Reset,
    /// Nothing more within the wait.
    Timeout,
    /// More than a probe reads ([`HEAD_MAX`] of header, [`BODY_MAX`] of body), still coming.
    TooMuch,
    /// A header's end came, and what it ends is not an HTTP/1.x status line and fields.
    NotHttp,
    /// Another error.
    Other(String),
}

impl End {
    /// As a failure's text.
    pub fn describe(&self) -> String {
        match self {
            End::Eof => "the server closed the connection without an answer".into(),
            End::Reset => "the connection was reset (ECONNRESET)".into(),
            End::Timeout => format!("nothing within {} s", answer_wait().as_secs_f64()),
            End::TooMuch => "more than a probe reads, still coming".into(),
            End::NotHttp => "not an HTTP/1.x status line and header".into(),
            End::Other(e) => e.clone(),
        }
    }
}

/// How an answer's body ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length: N`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Neither: at the close.
    Close,
    /// No body (an answer to HEAD, 1xx, 204, 304).
    Empty,
}

/// One answer read.
#[derive(Clone, Debug)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The header's bytes as they came (the blank line included).
    pub head: Vec<u8>,
    /// A line of the header ended with a bare LF.
    pub bare_lf: bool,
    /// Header fields, names lowercased.
    pub headers: Vec<(String, String)>,
    /// How the body ends.
    pub framing: Framing,
    /// The body's bytes that came (the first [`BODY_KEEP`] of them).
    pub body: Vec<u8>,
    /// How many body bytes came.
    pub body_len: u64,
    /// The body ended where its framing said (for [`Framing::Close`]: a clean close).
    pub whole: bool,
    /// How reading the body ended, when it did not end where the framing said, or for a
    /// body that ends at the close.
    pub end: Option<End>,
}

impl Answer {
    /// Body bytes that came: counted, and kept up to [`BODY_KEEP`].
    fn keep(&mut self, bytes: &[u8]) {
        self.body_len += bytes.len() as u64;
        let room = BODY_KEEP.saturating_sub(self.body.len());
        self.body.extend_from_slice(&bytes[..room.min(bytes.len())]);
    }

    /// A header field's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// It says `Connection: close`.
    pub fn says_close(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")))
    }
}

/// The TLS every probe connection of this process speaks (`check https://...`), with the
/// server's name; unset: plain HTTP. Set once, before the probes.
static TLS: std::sync::OnceLock<(std::sync::Arc<rustls::ClientConfig>, String)> =
    std::sync::OnceLock::new();

/// Makes every probe connection speak TLS with `config` to `server_name` (a `check` of an
/// `https://` URL). Only the first call counts.
pub fn use_tls(config: std::sync::Arc<rustls::ClientConfig>, server_name: &str) {
    let _ = TLS.set((config, server_name.to_string()));
}

/// A connection's bytes: plain, or TLS over it.
enum Io {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Io {
    fn tcp(&self) -> &TcpStream {
        match self {
            Io::Plain(s) => s,
            Io::Tls(t) => &t.sock,
        }
    }
}

impl Read for Io {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Io::Plain(s) => s.read(buf),
            Io::Tls(t) => t.read(buf),
        }
    }
}

impl Write for Io {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Io::Plain(s) => s.write(buf),
            Io::Tls(t) => t.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Io::Plain(s) => s.flush(),
            Io::Tls(t) => t.flush(),
        }
    }
}

/// A probe's connection.
pub struct Wire {
    stream: Io,
    buf: Vec<u8>,
}

impl Wire {
    /// Connects within a second.
    pub fn connect(addr: SocketAddr) -> std::io::Result<Wire> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
        let _ = stream.set_nodelay(true);
        let stream = match TLS.get() {
            None => Io::Plain(stream),
            Some((config, name)) => {
                let name = rustls::pki_types::ServerName::try_from(name.clone())
                    .map_err(|e| std::io::Error::new(ErrorKind::InvalidInput, e.to_string()))?;
                let conn = rustls::ClientConnection::new(std::sync::Arc::clone(config), name)
                    .map_err(|e| std::io::Error::other(e.to_string()))?;
                // the handshake runs with the first write, bounded as reads are
                let _ = stream.set_read_timeout(Some(answer_wait()));
                Io::Tls(Box::new(rustls::StreamOwned::new(conn, stream)))
            }
        };
        Ok(Wire {
            stream,
            buf: Vec::new(),
        })
    }

    /// Sends all of `bytes`.
    pub fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }

    /// The socket, for what a probe does to it itself (linger, shutdown).
    pub fn stream(&self) -> &TcpStream {
        self.stream.tcp()
    }

    /// Reads more into the buffer, waiting until `deadline`: the bytes read, or how it ended.
    fn fill(&mut self, deadline: Instant) -> Result<usize, End> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(End::Timeout);
        }
        let _ = self.stream.tcp().set_read_timeout(Some(left));
        let mut chunk = [0u8; 16384];
        match self.stream.read(&mut chunk) {
            Ok(0) => Err(End::Eof),
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(n)
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                Err(End::Timeout)
            }
            Err(e) if e.kind() == ErrorKind::ConnectionReset => Err(End::Reset),
            // a TLS peer that closed without close_notify: the end of the connection
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => Err(End::Eof),
            Err(e) => Err(End::Other(e.to_string())),
        }
    }

    /// Reads one answer (to a HEAD request if `head`), waiting up to [`answer_wait`] for each
    /// step. `Err`: no header came, and how the connection ended (with the bytes that did).
    pub fn answer(&mut self, head: bool) -> Result<Answer, (End, Vec<u8>)> {
        let deadline = Instant::now() + answer_wait();
        let head_len = loop {
            if let Some(n) = head_end(&self.buf) {
                break n;
            }
            if self.buf.len() > HEAD_MAX {
                return Err((End::TooMuch, std::mem::take(&mut self.buf)));
            }
            if let Err(end) = self.fill(deadline) {
                return Err((end, std::mem::take(&mut self.buf)));
            }
        };
        let head_bytes: Vec<u8> = self.buf.drain(..head_len).collect();
        let Some((status, headers)) = parse_head(&head_bytes) else {
            return Err((End::NotHttp, head_bytes));
        };
        let bare_lf = head_bytes
            .iter()
            .enumerate()
            .any(|(i, &b)| b == b'\n' && (i == 0 || head_bytes[i - 1] != b'\r'));
        let mut answer = Answer {
            status,
            head: head_bytes,
            bare_lf,
            framing: framing(status, head, &headers),
            headers,
            body: Vec::new(),
            body_len: 0,
            whole: false,
            end: None,
        };
        match answer.framing {
            Framing::Empty => answer.whole = true,
            Framing::Length(n) => loop {
                // what the buffer holds of this body moves to it (kept in part, counted)
                let take = ((n - answer.body_len) as usize).min(self.buf.len());
                answer.keep(self.buf.drain(..take).as_slice());
                if answer.body_len == n {
                    answer.whole = true;
                    break;
                }
                if answer.body_len >= BODY_MAX {
                    answer.end = Some(End::TooMuch);
                    break;
                }
                if let Err(end) = self.fill(deadline) {
                    answer.end = Some(end);
                    break;
                }
            },
            Framing::Chunked => loop {
                match dechunk(&self.buf) {
                    Some((body, used)) => {
                        answer.keep(&body);
                        self.buf.drain(..used);
                        answer.whole = true;
                        break;
                    }
                    None if self.buf.len() as u64 > BODY_MAX => {
                        answer.end = Some(End::TooMuch);
                        let all = std::mem::take(&mut self.buf);
                        answer.keep(&all);
                        break;
                    }
                    None => {
                        if let Err(end) = self.fill(deadline) {
                            answer.end = Some(end);
                            let all = std::mem::take(&mut self.buf);
                            answer.keep(&all);
                            break;
                        }
                    }
                }
            },
            Framing::Close => loop {
                let all = std::mem::take(&mut self.buf);
                answer.keep(&all);
                if answer.body_len >= BODY_MAX {
                    answer.end = Some(End::TooMuch);
                    break;
                }
                if let Err(end) = self.fill(deadline) {
                    answer.whole = end == End::Eof;
                    answer.end = Some(end);
                    break;
                }
            },
        }
        Ok(answer)
    }

    /// After an answer: waits up to `wait` for the connection's end; how it ended, the bytes
    /// that came meanwhile (beyond the answer; the first [`BODY_KEEP`] of them), and how many
    /// came (reading stops past [`BODY_MAX`]: [`End::TooMuch`]).
    pub fn end(&mut self, wait: Duration) -> (End, Vec<u8>, u64) {
        let deadline = Instant::now() + wait;
        let mut kept = std::mem::take(&mut self.buf);
        let mut count = kept.len() as u64;
        kept.truncate(BODY_KEEP);
        loop {
            if count >= BODY_MAX {
                return (End::TooMuch, kept, count);
            }
            match self.fill(deadline) {
                Ok(_) => {
                    count += self.buf.len() as u64;
                    let room = BODY_KEEP.saturating_sub(kept.len());
                    kept.extend(self.buf.drain(..).take(room));
                }
                Err(end) => return (end, kept, count),
            }
        }
    }
}

/// Where the header ends: after the first empty line (CRLF CRLF, or bare LFs).
fn head_end(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(p) = buf[i..].iter().position(|&b| b == b'\n') {
        let nl = i + p;
        let rest = &buf[nl + 1..];
        if rest.starts_with(b"\n") {
            return Some(nl + 2);
        }
        if rest.starts_with(b"\r\n") {
            return Some(nl + 3);
        }
        i = nl + 1;
    }
    None
}

/// The status and the fields (names lowercased), read with httparse from the header with its
/// line ends made CRLF (so a bare-LF header reads too, and is named by the caller).
fn parse_head(head: &[u8]) -> Option<(u16, Vec<(String, String)>)> {
    let mut crlf = Vec::with_capacity(head.len() + 16);
    for (i, &b) in head.iter().enumerate() {
        if b == b'\n' && (i == 0 || head[i - 1] != b'\r') {
            crlf.push(b'\r');
        }
        crlf.push(b);
    }
    let mut fields = [httparse::EMPTY_HEADER; 64];
    let mut resp = httparse::Response::new(&mut fields);
    match resp.parse(&crlf) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => return None,
    }
    let status = resp.code?;
    let headers = resp
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_ascii_lowercase(),
                String::from_utf8_lossy(h.value).trim().to_string(),
            )
        })
        .collect();
    Some((status, headers))
}

/// RFC 9112 §6.3's order: no body for HEAD, 1xx, 204, 304; then chunked; then Content-Length;
/// else the close.
fn framing(status: u16, head: bool, headers: &[(String, String)]) -> Framing {
    if head || (100..200).contains(&status) || status == 204 || status == 304 {
        return Framing::Empty;
    }
    let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v);
    if get("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().ends_with("chunked")) {
        return Framing::Chunked;
    }
    match get("content-length").and_then(|v| v.parse::<u64>().ok()) {
        Some(n) => Framing::Length(n),
        None => Framing::Close,
    }
}

/// A whole chunked body at the start of `buf`: the body, and the bytes it took.
fn dechunk(buf: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut body = Vec::new();
    let mut at = 0;
    loop {
        let line_end = at + buf[at..].windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&buf[at..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        at = line_end + 2;
        if size == 0 {
            // trailer fields, then the empty line
            loop {
                let end = at + buf[at..].windows(2).position(|w| w == b"\r\n")?;
                let empty = end == at;
                at = end + 2;
                if empty {
                    return Some((body, at));
                }
            }
        }
        if buf.len() < at + size + 2 {
            return None;
        }
        body.extend_from_slice(&buf[at..at + size]);
        at += size + 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_and_bodies_are_read_leniently() {
        assert_eq!(head_end(b"HTTP/1.1 200 OK\nA: b\n\nbody"), Some(22));
        assert_eq!(head_end(b"HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody"), Some(25));
        assert_eq!(head_end(b"HTTP/1.1 200 OK\r\nA: b\r\n"), None);
        let (status, h) = parse_head(b"HTTP/1.1 404 Not Found\nContent-Length: 3\n\n").unwrap();
        assert_eq!((status, h[0].1.as_str()), (404, "3"));
        assert_eq!(framing(200, false, &h), Framing::Length(3));
        assert_eq!(framing(200, true, &h), Framing::Empty);
        assert_eq!(framing(200, false, &[]), Framing::Close);
        assert_eq!(
            dechunk(b"5\r\nhello\r\n1;x=y\r\n!\r\n0\r\n\r\nnext"),
            Some((b"hello!".to_vec(), 25))
        );
        assert_eq!(dechunk(b"5\r\nhel"), None);
    }
}
