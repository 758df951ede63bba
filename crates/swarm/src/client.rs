//! The load generator's HTTP/1.1 response reader, written over `httparse` because the client
//! is the hot path (see `bench/swarm-vs-wrk.sh`): it keeps no copy of bodies, only counts them,
//! and buffers bytes only while a header section is incomplete.

use std::fmt::Write;
use std::io;

use crate::profile::Failure;
pub use crate::profile::Malformed;

/// A complete response.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Body bytes.
    pub content: u64,
    /// The server will close the connection (`Connection: close`, HTTP/1.0, or read-to-EOF).
    pub close: bool,
    /// The body, up to the reader's limit, if it was asked to keep it (else empty).
    pub body: Vec<u8>,
    /// The `Location` of a 3xx response.
    pub location: Option<String>,
    /// Every header field, in order, if the reader was asked to keep them (else empty).
    pub headers: Vec<(String, String)>,
    /// The `Set-Cookie` field values, if the reader reads for a session (else empty).
    pub set_cookies: Vec<String>,
    /// The body had a `Content-Encoding` the session decodes and did not decode: the failure
    /// Locust's client reports (`content` and `body` are then the bytes as received).
    pub decode_error: Option<Failure>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Head,
    Length { remaining: u64 },
    ChunkSize,
    ChunkData { remaining: u64 },
    ChunkDataEnd,
    Trailers,
    UntilClose,
}

/// Reads one response at a time from a byte stream.
#[derive(Debug)]
pub struct Reader {
    state: State,
    /// Unconsumed bytes (a partial header section or chunk line).
    pending: Vec<u8>,
    status: u16,
    content: u64,
    close: bool,
    head_request: bool,
    /// Keep up to this many body bytes (0: keep none).
    keep: usize,
    body: Vec<u8>,
    location: Option<String>,
    keep_headers: bool,
    headers: Vec<(String, String)>,
    /// Reads as a Locust client's session: `Set-Cookie` kept, bodies decoded.
    session: bool,
    set_cookies: Vec<String>,
    /// The body's decoder, while a session reads an encoded body.
    decoder: Option<Decoder>,
    /// Hands the response out as it comes (`stream=True`): the head, then the body so far.
    stream: bool,
    /// The head of the response being read was handed out.
    head_told: bool,
}

/// Where a decoded body goes: counted, and kept up to the reader's limit.
struct Sink {
    kept: Vec<u8>,
    keep: usize,
    count: u64,
}

impl io::Write for Sink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.count += data.len() as u64;
        let room = self.keep.saturating_sub(self.kept.len());
        self.kept.extend_from_slice(&data[..data.len().min(room)]);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A streaming decoder for the `Content-Encoding`s urllib3 and geventhttpclient decode.
enum Decoder {
    Gzip(Box<flate2::write::MultiGzDecoder<Sink>>),
    /// `deflate`: zlib-wrapped, or raw (as urllib3 also accepts); chosen at the first bytes.
    Deflate(Option<Box<DeflateKind>>, Vec<u8>, usize),
    Br(Box<brotli_decompressor::DecompressorWriter<Sink>>),
    /// Failed, with python-requests' error: the rest of the body is only counted (as it came).
    Failed(Failure),
}

enum DeflateKind {
    Zlib(flate2::write::ZlibDecoder<Sink>),
    Raw(flate2::write::DeflateDecoder<Sink>),
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Decoder")
    }
}

impl Decoder {
    fn new(encoding: &[u8], keep: usize) -> Option<Decoder> {
        let sink = || Sink {
            kept: Vec::new(),
            keep,
            count: 0,
        };
        let e = encoding.trim_ascii();
        if e.eq_ignore_ascii_case(b"gzip") || e.eq_ignore_ascii_case(b"x-gzip") {
            Some(Decoder::Gzip(Box::new(flate2::write::MultiGzDecoder::new(
                sink(),
            ))))
        } else if e.eq_ignore_ascii_case(b"deflate") {
            Some(Decoder::Deflate(None, Vec::new(), keep))
        } else if e.eq_ignore_ascii_case(b"br") {
            Some(Decoder::Br(Box::new(
                brotli_decompressor::DecompressorWriter::new(sink(), 4096),
            )))
        } else {
            None // identity, or one no Locust client decodes: the body as it came
        }
    }

    fn write(&mut self, data: &[u8]) {
        use io::Write;
        let result = match self {
            Decoder::Gzip(d) => d.write_all(data),
            Decoder::Br(d) => d.write_all(data),
            Decoder::Deflate(kind, head, keep) => {
                if kind.is_none() {
                    head.extend_from_slice(data);
                    if head.len() < 2 {
                        return;
                    }
                    let sink = Sink {
                        kept: Vec::new(),
                        keep: *keep,
                        count: 0,
                    };
                    // a zlib header: CM 8, a window of at most 32 KiB, a check that divides by 31
                    let zlib = head[0] & 0x0f == 8
                        && head[0] >> 4 <= 7
                        && (u16::from(head[0]) << 8 | u16::from(head[1])) % 31 == 0;
                    *kind = Some(Box::new(if zlib {
                        DeflateKind::Zlib(flate2::write::ZlibDecoder::new(sink))
                    } else {
                        DeflateKind::Raw(flate2::write::DeflateDecoder::new(sink))
                    }));
                    let first = std::mem::take(head);
                    return self.write(&first);
                }
                match kind.as_deref_mut() {
                    Some(DeflateKind::Zlib(d)) => d.write_all(data),
                    Some(DeflateKind::Raw(d)) => d.write_all(data),
                    None => Ok(()),
                }
            }
            Decoder::Failed(_) => Ok(()),
        };
        if let Err(e) = result {
            self.fail(e);
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Decoder::Gzip(_) => "gzip",
            Decoder::Deflate(..) => "deflate",
            Decoder::Br(_) => "br",
            Decoder::Failed(_) => "",
        }
    }

    /// Decoding failed: from here the body is counted as it came.
    fn fail(&mut self, e: io::Error) {
        if !matches!(self, Decoder::Failed(_)) {
            *self = Decoder::Failed(decode_error(self.name(), &e));
        }
    }

    /// The decoded body (count, kept bytes), or the error.
    fn finish(self) -> Result<(u64, Vec<u8>), Failure> {
        let name = self.name();
        let sink = match self {
            Decoder::Gzip(d) => d.finish(),
            Decoder::Br(d) => d
                .into_inner()
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "truncated brotli stream")),
            Decoder::Deflate(None, head, keep) if head.is_empty() => Ok(Sink {
                kept: Vec::new(),
                keep,
                count: 0,
            }),
            Decoder::Deflate(None, ..) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "a one-byte deflate stream",
            )),
            Decoder::Deflate(Some(kind), ..) => match *kind {
                DeflateKind::Zlib(d) => d.finish(),
                DeflateKind::Raw(d) => d.finish(),
            },
            Decoder::Failed(text) => return Err(text),
        };
        sink.map(|s| (s.count, s.kept))
            .map_err(|e| decode_error(name, &e))
    }
}

/// python-requests' failure for a body its encoding does not decode.
fn decode_error(name: &str, e: &io::Error) -> Failure {
    Failure::Decode {
        encoding: name.to_string(),
        error: e.to_string(),
    }
}

const MAX_HEAD: usize = 64 * 1024;

impl Reader {
    /// A reader expecting the response to a HEAD request if `head_request`; it counts the
    /// body and keeps none of it.
    pub fn new(head_request: bool) -> Reader {
        Reader {
            state: State::Head,
            pending: Vec::new(),
            status: 0,
            content: 0,
            close: false,
            head_request,
            keep: 0,
            body: Vec::new(),
            location: None,
            keep_headers: false,
            headers: Vec::new(),
            session: false,
            set_cookies: Vec::new(),
            decoder: None,
            stream: false,
            head_told: false,
        }
    }

    /// The same reader, reading as a Locust client's session does: it keeps the `Set-Cookie`
    /// values and decodes a gzip, deflate or br body (whose decoded length is the content).
    pub fn session(self) -> Reader {
        Reader {
            session: true,
            ..self
        }
    }

    /// A reader that keeps the header fields and up to `limit` bytes of the body (a response
    /// handed to user code).
    pub fn whole(head_request: bool, limit: usize) -> Reader {
        Reader {
            keep: limit,
            keep_headers: true,
            ..Reader::new(head_request)
        }
    }

    /// A reader that keeps what [`Reader::whole`] keeps and hands the response out as it comes
    /// (`stream=True`): its head once parsed ([`Reader::take_head`]), then its body as it
    /// arrives ([`Reader::take_streamed`], at most `limit` bytes between two takes); the whole
    /// response at the end carries the rest.
    pub fn streaming(head_request: bool, limit: usize) -> Reader {
        Reader {
            stream: true,
            ..Reader::whole(head_request, limit)
        }
    }

    /// Whether it hands the response out as it comes.
    pub fn is_streaming(&self) -> bool {
        self.stream
    }

    /// The head of the response being read (its status and header fields, no body), once it
    /// is parsed and the first time asked; a streaming reader only.
    pub fn take_head(&mut self) -> Option<Response> {
        if !self.stream || self.head_told || self.state == State::Head {
            return None;
        }
        self.head_told = true;
        Some(Response {
            status: self.status,
            close: self.close,
            location: self.location.clone(),
            headers: self.headers.clone(),
            ..Response::default()
        })
    }

    /// The body bytes that came since the last take, once the head was handed out.
    pub fn take_streamed(&mut self) -> Vec<u8> {
        if self.head_told {
            std::mem::take(&mut self.body)
        } else {
            Vec::new()
        }
    }

    /// A reader that also keeps the first `limit` bytes of the body (for checks on its text).
    pub fn capturing(head_request: bool, limit: usize) -> Reader {
        Reader {
            keep: limit,
            ..Reader::new(head_request)
        }
    }

    /// Body bytes as they came: counted and kept, or handed to the decoder.
    fn body_bytes(&mut self, data: &[u8]) {
        self.content += data.len() as u64;
        match &mut self.decoder {
            Some(d) => d.write(data),
            None => self.take_body(data),
        }
    }

    fn take_body(&mut self, data: &[u8]) {
        let room = self.keep.saturating_sub(self.body.len());
        if room > 0 {
            self.body.extend_from_slice(&data[..data.len().min(room)]);
        }
    }

    /// Whether no byte of a response has arrived yet.
    pub fn is_fresh(&self) -> bool {
        self.state == State::Head && self.pending.is_empty()
    }

    /// Feeds bytes; returns the response once it is complete. Bytes after it are an error
    /// (this client never pipelines).
    pub fn feed(&mut self, data: &[u8]) -> Result<Option<Response>, Malformed> {
        if self.pending.is_empty() {
            return self.step_all(data);
        }
        let mut joined = std::mem::take(&mut self.pending);
        joined.extend_from_slice(data);
        self.step_all(&joined)
    }

    fn step_all(&mut self, mut data: &[u8]) -> Result<Option<Response>, Malformed> {
        loop {
            match self.state {
                State::Head => {
                    let mut headers = [httparse::EMPTY_HEADER; 48];
                    let mut resp = httparse::Response::new(&mut headers);
                    let len = match resp.parse(data) {
                        Ok(httparse::Status::Complete(len)) => len,
                        Ok(httparse::Status::Partial) => return self.keep(data),
                        Err(e) => return Err(Malformed::StatusLine(e.to_string())),
                    };
                    let status = resp.code.unwrap_or(0);
                    let minor = resp.version.unwrap_or(1);
                    if self.keep_headers && !(100..200).contains(&status) {
                        self.headers = resp
                            .headers
                            .iter()
                            .map(|h| {
                                (
                                    h.name.to_string(),
                                    String::from_utf8_lossy(h.value).into_owned(),
                                )
                            })
                            .collect();
                    }
                    let (mut length, mut chunked, mut close) = (None, false, minor == 0);
                    let mut encoding: Option<&[u8]> = None;
                    for h in resp.headers.iter() {
                        if h.name.eq_ignore_ascii_case("content-length") {
                            let v = std::str::from_utf8(h.value)
                                .ok()
                                .and_then(|v| v.trim().parse::<u64>().ok());
                            length = Some(v.ok_or(Malformed::ContentLength)?);
                        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                            chunked = h.value.eq_ignore_ascii_case(b"chunked");
                        } else if (300..400).contains(&resp.code.unwrap_or(0))
                            && h.name.eq_ignore_ascii_case("location")
                        {
                            self.location =
                                Some(String::from_utf8_lossy(h.value).trim().to_string());
                        } else if h.name.eq_ignore_ascii_case("connection") {
                            for token in h.value.split(|&b| b == b',') {
                                let token = token.trim_ascii();
                                close |= token.eq_ignore_ascii_case(b"close");
                                close &= !(minor == 0 && token.eq_ignore_ascii_case(b"keep-alive"));
                            }
                        } else if self.session
                            && !(100..200).contains(&status)
                            && h.name.eq_ignore_ascii_case("set-cookie")
                        {
                            self.set_cookies
                                .push(String::from_utf8_lossy(h.value).into_owned());
                        } else if self.session && h.name.eq_ignore_ascii_case("content-encoding") {
                            encoding = Some(h.value);
                        }
                    }
                    data = &data[len..];
                    if (100..200).contains(&status) {
                        continue; // 100 Continue and friends: the real response follows
                    }
                    self.status = status;
                    self.close = close;
                    self.content = 0;
                    self.body.clear();
                    self.decoder = encoding.and_then(|e| Decoder::new(e, self.keep));
                    self.state = if self.head_request || status == 204 || status == 304 {
                        State::Length { remaining: 0 }
                    } else if chunked {
                        State::ChunkSize
                    } else if let Some(n) = length {
                        State::Length { remaining: n }
                    } else {
                        self.close = true;
                        State::UntilClose
                    };
                }
                State::Length { remaining } => {
                    let n = remaining.min(data.len() as u64);
                    self.body_bytes(&data[..n as usize]);
                    data = &data[n as usize..];
                    if remaining == n {
                        return self.finish(data);
                    }
                    self.state = State::Length {
                        remaining: remaining - n,
                    };
                    return Ok(None);
                }
                State::ChunkSize => match httparse::parse_chunk_size(data) {
                    Ok(httparse::Status::Complete((used, 0))) => {
                        data = &data[used..];
                        self.state = State::Trailers;
                    }
                    Ok(httparse::Status::Complete((used, size))) => {
                        data = &data[used..];
                        self.state = State::ChunkData { remaining: size };
                    }
                    Ok(httparse::Status::Partial) => return self.keep(data),
                    Err(_) => return Err(Malformed::ChunkSize),
                },
                State::ChunkData { remaining } => {
                    let n = remaining.min(data.len() as u64);
                    self.body_bytes(&data[..n as usize]);
                    data = &data[n as usize..];
                    if remaining > n {
                        self.state = State::ChunkData {
                            remaining: remaining - n,
                        };
                        return Ok(None);
                    }
                    self.state = State::ChunkDataEnd;
                }
                State::ChunkDataEnd => {
                    if data.len() < 2 {
                        return self.keep(data);
                    }
                    if &data[..2] != b"\r\n" {
                        return Err(Malformed::ChunkWithoutCrlf);
                    }
                    data = &data[2..];
                    self.state = State::ChunkSize;
                }
                State::Trailers => {
                    if data.starts_with(b"\r\n") {
                        return self.finish(&data[2..]);
                    }
                    match data.windows(4).position(|w| w == b"\r\n\r\n") {
                        Some(i) => return self.finish(&data[i + 4..]),
                        None => return self.keep(data),
                    }
                }
                State::UntilClose => {
                    self.body_bytes(data);
                    return Ok(None);
                }
            }
        }
    }

    /// EOF: completes a read-until-close response; anything else is an incomplete response.
    pub fn eof(&mut self) -> Option<Response> {
        (self.state == State::UntilClose).then(|| {
            self.state = State::Head;
            let mut resp = self.response();
            resp.close = true;
            resp
        })
    }

    /// The response read so far (its body decoded, if it was encoded), the reader emptied.
    fn response(&mut self) -> Response {
        let mut resp = Response {
            status: self.status,
            content: self.content,
            close: self.close,
            body: std::mem::take(&mut self.body),
            location: self.location.take(),
            headers: std::mem::take(&mut self.headers),
            set_cookies: std::mem::take(&mut self.set_cookies),
            decode_error: None,
        };
        match self.decoder.take().map(Decoder::finish) {
            Some(Ok((count, body))) => (resp.content, resp.body) = (count, body),
            Some(Err(e)) => resp.decode_error = Some(e),
            None => {}
        }
        resp
    }

    fn keep(&mut self, data: &[u8]) -> Result<Option<Response>, Malformed> {
        if data.len() > MAX_HEAD {
            return Err(Malformed::HeadTooLong);
        }
        self.pending.clear();
        self.pending.extend_from_slice(data);
        Ok(None)
    }

    fn finish(&mut self, rest: &[u8]) -> Result<Option<Response>, Malformed> {
        if !rest.is_empty() {
            return Err(Malformed::BytesAfter);
        }
        self.state = State::Head;
        self.pending.clear();
        Ok(Some(self.response()))
    }
}

/// Python's `repr()` of a string: how Locust quotes a message inside an error's text
/// (`CatchResponseError('...')`) and inside its error keys.
pub fn py_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(encoding: &str, body: &[u8], chunked: bool) -> Vec<u8> {
        let mut out = format!("HTTP/1.1 200 OK\r\nContent-Encoding: {encoding}\r\nSet-Cookie: a=1; Path=/\r\nSet-Cookie: b=2\r\n").into_bytes();
        if chunked {
            out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
            for part in body.chunks(7) {
                out.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
                out.extend_from_slice(part);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\n\r\n");
        } else {
            out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
            out.extend_from_slice(body);
        }
        out
    }

    #[test]
    fn a_session_decodes_bodies_and_keeps_set_cookie() {
        use std::io::Write as _;
        let text = b"compressible compressible compressible";
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(text).unwrap();
        let gz = gz.finish().unwrap();
        let mut zl = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        zl.write_all(text).unwrap();
        let zl = zl.finish().unwrap();
        let mut raw =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        raw.write_all(text).unwrap();
        let raw = raw.finish().unwrap();
        // made by Python's brotli module
        let br = b"\x1b\x25\x00\xf8\xa5\x41\xc4\xca\xd8\x14\x30\xe4\x54\x03\x26\xf9\xb3\xf3\x00";
        for (encoding, body) in [
            ("gzip", &gz[..]),
            ("deflate", &zl[..]),
            ("deflate", &raw[..]),
            ("br", &br[..]),
        ] {
            for chunked in [false, true] {
                let input = encoded(encoding, body, chunked);
                // fed a byte at a time: the decoder streams
                let mut r = Reader::capturing(false, 1 << 20).session();
                let mut got = None;
                for b in &input {
                    if let Some(resp) = r.feed(std::slice::from_ref(b)).unwrap() {
                        got = Some(resp);
                    }
                }
                let resp = got.unwrap_or_else(|| panic!("{encoding}: no response"));
                assert_eq!(resp.decode_error, None, "{encoding}");
                assert_eq!(resp.body, text, "{encoding} chunked={chunked}");
                assert_eq!(resp.content, text.len() as u64, "decoded length counts");
                assert_eq!(resp.set_cookies, ["a=1; Path=/", "b=2"]);
                // a reader that keeps no body still counts the decoded length
                let mut r = Reader::new(false).session();
                let resp = r.feed(&input).unwrap().unwrap();
                assert!(resp.body.is_empty());
                assert_eq!(resp.content, text.len() as u64, "{encoding}");
            }
        }
        // not a session: the body as it came, no cookies kept
        let input = encoded("gzip", &gz, false);
        let resp = Reader::capturing(false, 1 << 20)
            .feed(&input)
            .unwrap()
            .unwrap();
        assert_eq!((resp.body, resp.content), (gz.clone(), gz.len() as u64));
        assert!(resp.set_cookies.is_empty());
        // garbage that says gzip: python-requests' error, the connection still usable
        let mut r = Reader::new(false).session();
        let resp = r
            .feed(&encoded("gzip", b"not gzip at all", false))
            .unwrap()
            .unwrap();
        let e = resp.decode_error.expect("a decoding error");
        assert!(
            matches!(&e, Failure::Decode { encoding, .. } if encoding == "gzip"),
            "{e:?}"
        );
        let again = r
            .feed(&encoded("identity", b"plain", false))
            .unwrap()
            .unwrap();
        assert_eq!((again.content, again.decode_error), (5, None));
    }

    fn whole(input: &[u8], head: bool) -> Result<Option<Response>, Malformed> {
        Reader::new(head).feed(input)
    }

    fn bytewise(input: &[u8]) -> Option<Response> {
        let mut r = Reader::new(false);
        let mut out = None;
        for b in input {
            if let Some(resp) = r.feed(std::slice::from_ref(b)).unwrap() {
                out = Some(resp);
            }
        }
        out
    }

    #[test]
    fn response_table() {
        let ok = |status, content, close| {
            Ok(Some(Response {
                status,
                content,
                close,
                ..Response::default()
            }))
        };
        type Case<'a> = (&'a [u8], bool, Result<Option<Response>, Malformed>);
        let cases: &[Case<'_>] = &[
            (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false, ok(200, 5, false)),
            (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", false, Ok(None)),
            (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", true, ok(200, 0, false)),
            (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", false, ok(200, 0, true)),
            (b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false, ok(200, 0, true)),
            (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", false, ok(200, 0, false)),
            (b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno", false, ok(404, 2, false)),
            (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", false, ok(201, 0, false)),
            (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", false, ok(200, 5, false)),
            (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nX: y\r\n\r\n", false, ok(200, 1, false)),
            (b"HTTP/1.1 204 No Content\r\n\r\n", false, ok(204, 0, false)),
            (b"HTTP/1.1 200 OK\r\n\r\nuntil close", false, Ok(None)),
        ];
        for (i, (input, head, want)) in cases.iter().enumerate() {
            assert_eq!(&whole(input, *head), want, "case {i}");
            if let Ok(Some(resp)) = want {
                if !head {
                    assert_eq!(bytewise(input).as_ref(), Some(resp), "bytewise case {i}");
                }
            }
        }
        for bad in [
            &b"HTTP/1.1 2x0 OK\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nab",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        ] {
            assert!(
                whole(bad, false).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn read_until_close_completes_at_eof() {
        let mut r = Reader::new(false);
        assert_eq!(r.feed(b"HTTP/1.0 200 OK\r\n\r\nabc").unwrap(), None);
        assert_eq!(
            r.eof(),
            Some(Response {
                status: 200,
                content: 3,
                close: true,
                ..Response::default()
            })
        );
        let mut r = Reader::new(false);
        assert_eq!(
            r.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc")
                .unwrap(),
            None
        );
        assert_eq!(
            r.eof(),
            None,
            "EOF inside a framed body is an incomplete response"
        );
    }

    #[test]
    fn bodies_are_kept_only_when_asked_and_up_to_the_limit() {
        let input = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        assert!(Reader::new(false)
            .feed(input)
            .unwrap()
            .unwrap()
            .body
            .is_empty());
        let full = Reader::capturing(false, 100).feed(input).unwrap().unwrap();
        assert_eq!(full.body, b"abcde");
        let cut = Reader::capturing(false, 4).feed(input).unwrap().unwrap();
        assert_eq!((cut.body.as_slice(), cut.content), (&b"abcd"[..], 5));
        let moved = Reader::new(false)
            .feed(b"HTTP/1.1 302 Found\r\nLocation: /next\r\nContent-Length: 0\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(moved.location.as_deref(), Some("/next"));
    }
}
