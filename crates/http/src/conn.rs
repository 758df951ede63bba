//! The connection state machine every model drives.
//!
//! The model feeds the bytes it reads ([`Conn::feed`]) and calls [`Conn::advance`], which
//! appends the responses of every complete request (in request order, so pipelining works) to
//! the model's output buffer and says what the model must do next. The model writes that buffer
//! out before it reads again, so one slow reader cannot make the server buffer without bound.
//!
//! The output is bounded whatever the response: `advance` appends at most about
//! [`OUT_WINDOW`] of it and then asks for a flush ([`Progress::Flush`]). A body larger than
//! that (a 64 MiB `/bytes`) is a source the connection pulls from window by window as the
//! model drains the buffer, never a buffer of its own size.

use std::time::{Duration, Instant};

use crate::body::BodyDecoder;
use crate::config::Config;
use crate::error::RequestError;
use crate::head::{self, Head, Method};
use crate::response::{Body, Reply};
use crate::routes::route;

/// The most output one `advance` appends before it asks for a flush: responses stop there, and
/// a body is written in pieces that end there. A caller that writes everything out before it
/// calls again (as swarmlab-server's driver does) holds at most this plus one response's header
/// section.
pub const OUT_WINDOW: usize = 256 * 1024;

/// Input buffer capacity a connection keeps between requests; a larger buffer (after a big
/// request body) is given back once it has been served.
const KEEP_INPUT: usize = 64 * 1024;

/// What the model does after [`Conn::advance`]. In every case it first writes out what was
/// appended to the output buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Read more input, then call `advance` again.
    NeedInput,
    /// The output window is full (many pipelined responses, or part of a large body): write
    /// it all, then call `advance` again before reading.
    Flush,
    /// A response is due later (the `/sleep` route): wait this long, without reading, then
    /// call `advance` again. Blocking models sleep; event loops arm a timer.
    Wait(Duration),
    /// Close the connection after writing (how, lingering or not, is the caller's policy:
    /// swarmlab-server's `Driver` decides it for every model).
    Close,
}

enum State {
    /// Waiting for (the rest of) a header section at `pos`.
    Head,
    /// Reading the body of `head`, whose bytes start at `start`.
    Body {
        head: Head,
        start: usize,
        decoder: BodyDecoder,
        body: Vec<u8>,
    },
    /// A reply held until `until`.
    Delayed {
        reply: Reply,
        until: Instant,
        is_head: bool,
        keep_alive: bool,
        minor: u8,
    },
    /// Writing a response's body from `at` on, a window at a time; `close` after it.
    Streaming { body: Body, at: usize, close: bool },
    /// Done: no more requests on this connection.
    Closed,
}

/// One HTTP/1.x connection, without the socket.
pub struct Conn {
    cfg: Config,
    buf: Vec<u8>,
    pos: usize,
    state: State,
    /// A graceful shutdown began: the next response says `Connection: close`.
    closing: bool,
    /// When the first byte of the current header section arrived.
    started: Option<Instant>,
    /// When the connection last did anything.
    last: Instant,
}

impl Conn {
    /// A new connection that has read nothing yet.
    pub fn new(cfg: Config) -> Conn {
        Conn {
            cfg,
            buf: Vec::new(),
            pos: 0,
            state: State::Head,
            closing: false,
            started: None,
            last: Instant::now(),
        }
    }

    /// Adds bytes read from the socket.
    pub fn feed(&mut self, data: &[u8], now: Instant) {
        if matches!(self.state, State::Head) && self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        if self.started.is_none() && self.buf.len() == self.pos && !data.is_empty() {
            self.started = Some(now);
        }
        self.buf.extend_from_slice(data);
        self.last = now;
    }

    /// Serves every complete request buffered so far, appending responses to `out`: at most
    /// about [`OUT_WINDOW`] bytes per call (then [`Progress::Flush`]), whatever `out` held
    /// before, so every call makes progress.
    pub fn advance(&mut self, out: &mut Vec<u8>, now: Instant) -> Progress {
        let base = out.len();
        loop {
            match std::mem::replace(&mut self.state, State::Head) {
                State::Closed => {
                    self.state = State::Closed;
                    return Progress::Close;
                }
                State::Head => {
                    if self.pos == self.buf.len() {
                        self.started = None;
                        self.pos = 0;
                        if self.buf.capacity() > KEEP_INPUT {
                            self.buf = Vec::new();
                        } else {
                            self.buf.clear();
                        }
                        return Progress::NeedInput;
                    }
                    let head = match head::parse(&self.buf[self.pos..], &self.cfg) {
                        Ok(Some(head)) => head,
                        Ok(None) => return Progress::NeedInput,
                        Err(e) => return self.fail(&e, out),
                    };
                    let start = self.pos;
                    self.pos += head.len;
                    let decoder = BodyDecoder::new(head.framing);
                    if head.expect_continue && !decoder.is_done() && self.pos == self.buf.len() {
                        out.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
                    }
                    self.state = State::Body {
                        head,
                        start,
                        decoder,
                        body: Vec::new(),
                    };
                }
                State::Body {
                    head,
                    start,
                    mut decoder,
                    mut body,
                } => {
                    let input = &self.buf[self.pos..];
                    match decoder.decode(input, &mut body, self.cfg.max_body, self.cfg.max_head) {
                        Ok(used) => self.pos += used,
                        Err(e) => return self.fail(&e, out),
                    }
                    if !decoder.is_done() {
                        self.state = State::Body {
                            head,
                            start,
                            decoder,
                            body,
                        };
                        return Progress::NeedInput;
                    }
                    let raw = &self.buf[start..start + head.len];
                    let target = std::str::from_utf8(&raw[head.target.clone()]).unwrap_or("");
                    let reply = route(head.method, target, raw, &body);
                    self.started = (self.pos < self.buf.len()).then_some(now);
                    self.state = State::Delayed {
                        until: now + reply.delay.unwrap_or_default(),
                        reply,
                        is_head: head.method == Method::Head,
                        keep_alive: head.keep_alive,
                        minor: head.minor,
                    };
                }
                State::Delayed {
                    reply,
                    until,
                    is_head,
                    keep_alive,
                    minor,
                } => {
                    if now < until {
                        self.state = State::Delayed {
                            reply,
                            until,
                            is_head,
                            keep_alive,
                            minor,
                        };
                        return Progress::Wait(until - now);
                    }
                    let close = !keep_alive || self.closing;
                    reply.encode_head(out, close, minor == 0 && !close);
                    self.last = now;
                    if !is_head {
                        // the usual small body goes out with its head; a larger one a window
                        // at a time
                        let room = OUT_WINDOW.saturating_sub(out.len() - base);
                        let at = reply.body.write_part(0, room, out);
                        if at < reply.body.len() {
                            self.state = State::Streaming {
                                body: reply.body,
                                at,
                                close,
                            };
                            return Progress::Flush;
                        }
                    }
                    if let Some(p) = self.finished(close, out.len() - base) {
                        return p;
                    }
                }
                State::Streaming {
                    body,
                    mut at,
                    close,
                } => {
                    at += body.write_part(at, OUT_WINDOW.saturating_sub(out.len() - base), out);
                    if at < body.len() {
                        self.state = State::Streaming { body, at, close };
                        return Progress::Flush;
                    }
                    if let Some(p) = self.finished(close, out.len() - base) {
                        return p;
                    }
                }
            }
        }
    }

    /// A response was written whole (`appended` bytes so far in this call): close after it,
    /// stop for a flush, or (`None`) go on with the next request.
    fn finished(&mut self, close: bool, appended: usize) -> Option<Progress> {
        if close {
            self.state = State::Closed;
            return Some(Progress::Close);
        }
        (appended >= OUT_WINDOW).then_some(Progress::Flush)
    }

    /// When the model should call [`Conn::on_timeout`] unless input arrives first: the header
    /// deadline while a header section is arriving, the idle timeout otherwise. `None` while a
    /// delayed response is pending, while a body is being written (the model's write deadline
    /// bounds that), or after close.
    pub fn deadline(&self) -> Option<Instant> {
        let idle = self.last + self.cfg.idle_timeout;
        match self.state {
            State::Head => Some(match self.started {
                Some(started) => idle.min(started + self.cfg.header_timeout),
                None => idle,
            }),
            State::Body { .. } => Some(idle),
            State::Delayed { .. } | State::Streaming { .. } | State::Closed => None,
        }
    }

    /// The deadline passed: answers 408 if a request was under way, and closes.
    pub fn on_timeout(&mut self, out: &mut Vec<u8>) {
        if self.is_idle() {
            self.state = State::Closed;
        } else {
            self.fail(&RequestError::Timeout, out);
        }
    }

    /// A graceful shutdown: the next response closes the connection. Returns whether the
    /// connection is idle (between requests), in which case the model may close it now.
    pub fn shutdown(&mut self) -> bool {
        self.closing = true;
        self.is_idle()
    }

    /// Bytes received and not yet consumed by a request.
    pub fn unread(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Whether the connection is between requests, owing nothing.
    pub fn is_idle(&self) -> bool {
        matches!(self.state, State::Head) && self.pos == self.buf.len()
    }

    fn fail(&mut self, e: &RequestError, out: &mut Vec<u8>) -> Progress {
        let reply = Reply::text(e.status(), format!("{e}\n"));
        reply.encode(out, false, true, false);
        self.state = State::Closed;
        self.buf = Vec::new();
        self.pos = 0;
        Progress::Close
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in one piece and returns (status codes answered, final progress).
    fn run(input: &[u8]) -> (Vec<u16>, Progress, Vec<u8>) {
        run_with(input, Config::default())
    }

    fn run_with(input: &[u8], cfg: Config) -> (Vec<u16>, Progress, Vec<u8>) {
        let mut conn = Conn::new(cfg);
        let mut out = Vec::new();
        let now = Instant::now();
        conn.feed(input, now);
        let mut progress = conn.advance(&mut out, now);
        while progress == Progress::Flush {
            progress = conn.advance(&mut out, now);
        }
        (statuses(&out), progress, out)
    }

    /// The status codes of the responses in `out`, walking bodies by Content-Length (a HEAD
    /// response's missing body may only come last).
    fn statuses(mut out: &[u8]) -> Vec<u16> {
        let mut codes = Vec::new();
        while !out.is_empty() {
            let mut headers = [httparse::EMPTY_HEADER; 16];
            let mut resp = httparse::Response::new(&mut headers);
            let Ok(httparse::Status::Complete(len)) = resp.parse(out) else {
                break;
            };
            let length = resp
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .map_or(0, |h| {
                    std::str::from_utf8(h.value).unwrap().parse().unwrap()
                });
            codes.push(resp.code.unwrap());
            out = &out[(len + length).min(out.len())..];
        }
        codes
    }

    const KEEP: Progress = Progress::NeedInput;
    const CLOSE: Progress = Progress::Close;

    #[test]
    fn request_table() {
        let long_target = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(9000));
        let long_header = format!(
            "GET / HTTP/1.1\r\nHost: x\r\nX: {}\r\n\r\n",
            "a".repeat(17000)
        );
        let many_headers = format!(
            "GET / HTTP/1.1\r\nHost: x\r\n{}\r\n",
            "X-A: b\r\n".repeat(101)
        );
        let cases: &[(&[u8], &[u16], Progress)] = &[
            (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", &[200], KEEP),
            (b"GET / HTTP/1.1\r\nHost: x\r\n", &[], KEEP),
            (b"GET / HTTP/1.0\r\n\r\n", &[200], CLOSE),
            (b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &[200], KEEP),
            (b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &[200], CLOSE),
            (b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", &[200], KEEP),
            (b"\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", &[200], KEEP),
            (b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", &[404], KEEP),
            (b"GET /sleep?ms=x HTTP/1.1\r\nHost: x\r\n\r\n", &[400], KEEP),
            (b"POST / HTTP/1.1\r\nHost: x\r\n\r\n", &[405], KEEP),
            (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", &[200], KEEP),
            (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\nabc", &[200], KEEP),
            (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nab", &[], KEEP),
            (
                b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n",
                &[200],
                KEEP,
            ),
            // bad input: the right status, and the connection closes
            (b"GET / HTTP/1.1\r\n\r\n", &[400], CLOSE),
            (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", &[400], CLOSE),
            (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", &[400], CLOSE),
            (b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", &[400], CLOSE),
            (b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", &[400], CLOSE),
            (b"GET / HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n", &[400], CLOSE),
            (b"GET / FTP/1.1\r\nHost: x\r\n\r\n", &[400], CLOSE),
            (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", &[505], CLOSE),
            (b"GET / HTTP/3\r\nHost: x\r\n\r\n", &[505], CLOSE),
            // the version is the third field, not the line's last word (found by fuzzing)
            (b"GET / HTTP/2x HTTP/2\r\nHost: x\r\n\r\n", &[400], CLOSE),
            (b"GET / HTTP/2", &[], KEEP),
            (b"GET / HTTP/2.", &[], KEEP),
            (b"GET / HTTP/2x", &[400], CLOSE),
            (b"BREW / HTTP/1.1\r\nHost: x\r\n\r\n", &[501], CLOSE),
            (
                b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
                &[400],
                CLOSE,
            ),
            (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", &[400], CLOSE),
            (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 4\r\n\r\n", &[400], CLOSE),
            (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", &[400], CLOSE),
            (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0x10\r\n\r\n", &[400], CLOSE),
            (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", &[501], CLOSE),
            (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", &[501], CLOSE),
            (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", &[400], CLOSE),
            (b"POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", &[400], CLOSE),
            (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", &[400], CLOSE),
            (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n", &[400], CLOSE),
            (
                b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n",
                &[400],
                CLOSE,
            ),
            (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 16777217\r\n\r\n", &[413], CLOSE),
            (
                b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1000001\r\n",
                &[413],
                CLOSE,
            ),
            (long_target.as_bytes(), &[414], CLOSE),
            (&long_target.as_bytes()[..8500], &[414], CLOSE),
            (long_header.as_bytes(), &[431], CLOSE),
            (&long_header.as_bytes()[..16500], &[431], CLOSE),
            (many_headers.as_bytes(), &[431], CLOSE),
        ];
        for (i, &(input, want, progress)) in cases.iter().enumerate() {
            let (got, got_progress, out) = run(input);
            let shown = String::from_utf8_lossy(&input[..input.len().min(80)]);
            assert_eq!(
                got,
                want,
                "case {i}: {shown:?} -> {:?}",
                String::from_utf8_lossy(&out)
            );
            assert_eq!(got_progress, progress, "case {i}: {shown:?}");
        }
    }

    #[test]
    fn pipelined_responses_come_in_order() {
        let input = b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\nHEAD /echo HTTP/1.1\r\nHost: x\r\n\r\n";
        let (got, progress, _) = run(input);
        assert_eq!((got, progress), (vec![404, 200, 200], KEEP));
    }

    #[test]
    fn byte_at_a_time_is_the_same_as_all_at_once() {
        let input = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n";
        let mut conn = Conn::new(Config::default());
        let mut out = Vec::new();
        for b in input {
            conn.feed(std::slice::from_ref(b), Instant::now());
            assert_eq!(conn.advance(&mut out, Instant::now()), KEEP);
        }
        assert_eq!(statuses(&out), [200, 200]);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("Transfer-Encoding: chunked\r\n\r\nabcde"),
            "{text}"
        );
        assert_eq!(run(input).2.len(), text.len());
    }

    /// Found by fuzzing: a version field that httparse rejects early was sorted from the bytes
    /// seen so far, so `HTTP/2` cut off there got 505 and the same bytes in one piece got 400.
    #[test]
    fn version_errors_do_not_depend_on_the_split() {
        let input = b"GET / HTTP/2EADD x\r\nHost: x\r\n\r\n";
        let whole = run(input).0;
        for cut in 1..input.len() {
            let mut conn = Conn::new(Config::default());
            let mut out = Vec::new();
            let now = Instant::now();
            conn.feed(&input[..cut], now);
            if conn.advance(&mut out, now) != CLOSE {
                conn.feed(&input[cut..], now);
                conn.advance(&mut out, now);
            }
            assert_eq!(statuses(&out), whole, "cut at {cut}");
        }
        assert_eq!(whole, [400]);
    }

    #[test]
    fn delayed_reply_waits_then_continues_the_pipeline() {
        let mut conn = Conn::new(Config::default());
        let mut out = Vec::new();
        let t0 = Instant::now();
        conn.feed(
            b"GET /sleep?ms=100 HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
            t0,
        );
        assert_eq!(
            conn.advance(&mut out, t0),
            Progress::Wait(Duration::from_millis(100))
        );
        assert!(out.is_empty());
        assert_eq!(conn.deadline(), None);
        let t1 = t0 + Duration::from_millis(40);
        assert_eq!(
            conn.advance(&mut out, t1),
            Progress::Wait(Duration::from_millis(60))
        );
        assert_eq!(
            conn.advance(&mut out, t0 + Duration::from_millis(100)),
            KEEP
        );
        assert_eq!(statuses(&out), [200, 200]);
    }

    #[test]
    fn header_deadline_answers_408_and_idle_closes_silently() {
        let cfg = Config::default();
        let mut conn = Conn::new(cfg);
        let t0 = Instant::now();
        assert_eq!(conn.deadline(), Some(conn.last + cfg.idle_timeout));
        conn.feed(b"GET / HTTP/1.1\r\n", t0);
        let mut out = Vec::new();
        assert_eq!(conn.advance(&mut out, t0), KEEP);
        assert_eq!(conn.deadline(), Some(t0 + cfg.header_timeout));
        // slowloris: a byte now and then does not move the header deadline
        conn.feed(b"X", t0 + Duration::from_secs(5));
        assert_eq!(conn.deadline(), Some(t0 + cfg.header_timeout));
        conn.on_timeout(&mut out);
        assert_eq!(statuses(&out), [408]);
        assert_eq!(conn.advance(&mut out, t0), CLOSE);

        let mut idle = Conn::new(cfg);
        let mut out = Vec::new();
        idle.on_timeout(&mut out);
        assert!(out.is_empty());
        assert_eq!(idle.advance(&mut out, t0), CLOSE);
    }

    #[test]
    fn shutdown_closes_after_the_current_response() {
        let mut conn = Conn::new(Config::default());
        let mut out = Vec::new();
        conn.feed(b"GET / HTTP/1.1\r\nHost: x\r\n", Instant::now());
        assert_eq!(conn.advance(&mut out, Instant::now()), KEEP);
        assert!(!conn.shutdown(), "a request is under way");
        conn.feed(b"\r\n", Instant::now());
        assert_eq!(conn.advance(&mut out, Instant::now()), CLOSE);
        assert!(String::from_utf8(out)
            .unwrap()
            .contains("Connection: close\r\n"));
    }

    #[test]
    fn expect_100_continue_is_answered_before_the_body() {
        let mut conn = Conn::new(Config::default());
        let mut out = Vec::new();
        let head =
            b"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
        conn.feed(head, Instant::now());
        assert_eq!(conn.advance(&mut out, Instant::now()), KEEP);
        assert_eq!(out, b"HTTP/1.1 100 Continue\r\n\r\n");
        conn.feed(b"hi", Instant::now());
        assert_eq!(conn.advance(&mut out, Instant::now()), KEEP);
        assert_eq!(statuses(&out), [100, 200]);
    }

    /// Drains `conn` window by window as a model would; returns everything written and the
    /// largest the output ever got.
    fn drain(conn: &mut Conn) -> (Vec<u8>, usize, Progress) {
        let (mut wire, mut out, mut most) = (Vec::new(), Vec::new(), 0);
        loop {
            let p = conn.advance(&mut out, Instant::now());
            most = most.max(out.len());
            wire.append(&mut out);
            if p != Progress::Flush {
                return (wire, most, p);
            }
        }
    }

    #[test]
    fn big_pipelines_flush_before_going_on() {
        let one = b"GET /bytes?n=200000 HTTP/1.1\r\nHost: x\r\n\r\n";
        let mut conn = Conn::new(Config::default());
        conn.feed(&one.repeat(4), Instant::now());
        let mut out = Vec::new();
        assert_eq!(conn.advance(&mut out, Instant::now()), Progress::Flush);
        assert!(out.len() <= OUT_WINDOW + 200, "{}", out.len());
        let (rest, most, progress) = drain(&mut conn);
        assert_eq!(progress, KEEP);
        assert!(most <= OUT_WINDOW + 200, "{most}");
        out.extend_from_slice(&rest);
        assert_eq!(statuses(&out), [200, 200, 200, 200]);
        assert_eq!(out.iter().filter(|&&b| b == b'x').count(), 800_000);
    }

    /// A caller that calls again without writing the output out (the fuzz target keeps it all)
    /// still gets a window per call: every call makes progress, none loops forever.
    #[test]
    fn every_call_makes_progress_even_if_the_output_is_not_drained() {
        let mut conn = Conn::new(Config::default());
        conn.feed(
            &b"GET /bytes?n=300000 HTTP/1.1\r\nHost: x\r\n\r\n".repeat(3),
            Instant::now(),
        );
        let mut out = Vec::new();
        let mut calls = 0;
        while conn.advance(&mut out, Instant::now()) == Progress::Flush {
            calls += 1;
            assert!(calls < 100, "no progress: {} bytes", out.len());
        }
        assert_eq!(statuses(&out), [200, 200, 200]);
        assert_eq!(out.iter().filter(|&&b| b == b'x').count(), 900_000);
    }

    /// Issue 18: a 64 MiB answer is written a window at a time; the connection never holds
    /// more than one window of it, and the bytes that come out are the whole body.
    #[test]
    fn a_large_body_is_written_in_bounded_windows() {
        let mut conn = Conn::new(Config::default());
        conn.feed(
            b"GET /bytes?n=67108864 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            Instant::now(),
        );
        let (wire, most, progress) = drain(&mut conn);
        assert_eq!(progress, CLOSE, "closes after the last window");
        assert!(most <= OUT_WINDOW + 200, "held {most} bytes at once");
        let body_at = wire.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        assert!(String::from_utf8_lossy(&wire[..body_at]).contains("Content-Length: 67108864\r\n"));
        assert_eq!(wire.len() - body_at, 64 << 20);
        assert!(wire[body_at..].iter().all(|&b| b == b'x'));

        // an echo is a body like any other, and HEAD writes none
        let mut conn = Conn::new(Config::default());
        let body = vec![b'~'; 1 << 20];
        let mut req = format!(
            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        req.extend_from_slice(&body);
        req.extend_from_slice(b"HEAD /bytes?n=67108864 HTTP/1.1\r\nHost: x\r\n\r\n");
        conn.feed(&req, Instant::now());
        let (wire, most, progress) = drain(&mut conn);
        assert_eq!(progress, KEEP);
        assert!(most <= OUT_WINDOW + 200, "held {most} bytes at once");
        assert!(wire.ends_with(b"\r\n\r\n"), "HEAD: no body");
        assert_eq!(wire.iter().filter(|&&b| b == b'~').count(), 1 << 20);
    }

    #[test]
    fn smaller_limits_are_honoured() {
        let cfg = Config {
            max_body: 2,
            max_headers: 2,
            ..Config::default()
        };
        let (got, _, _) = run_with(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
            cfg,
        );
        assert_eq!(got, [413]);
        let (got, _, _) = run_with(b"GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\n\r\n", cfg);
        assert_eq!(got, [431]);
    }
}
