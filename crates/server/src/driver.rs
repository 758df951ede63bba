//! The one per-connection driver every model runs: it owns the [`Conn`], the output buffer and
//! the bytes of it already sent, the wake-up time, the write deadline and the lingering close,
//! and tells its loop the next [`Step`]. A loop (blocking, readiness, io_uring, tokio) only
//! carries steps out, so the models differ in how they wait for I/O and in nothing else, and
//! they all close connections the same way:
//!
//! - a connection closes only after its last response was written whole, or after the client
//!   stopped reading for [`Config::write_timeout`] (then it is dropped: nobody is listening);
//! - after a last response, the close lingers as nginx's and Apache's do: shut down the write
//!   side (the client reads the response and then EOF), read and discard what the client still
//!   sends for up to [`LINGER`] or [`LINGER_BYTES`], then close. Closing with unread input in
//!   the socket would make the kernel send a reset, and a reset makes the client's kernel throw
//!   away response bytes it has not read yet: the response would be cut short, silently;
//! - on shutdown ([`Driver::shutdown`]) an idle connection closes at once; one with a request
//!   under way finishes that response, with `Connection: close`.
//!
//! Output is bounded: [`Conn`] appends at most a window ([`swarmlab_http::OUT_WINDOW`],
//! 256 KiB) before it asks for a flush, and a large body is pulled from its source a window
//! at a time as the socket drains, so a client that asks for 64 MiB and reads slowly costs the
//! server one window, not 64 MiB. Input is read only when all output is written (backpressure:
//! a client that sends without reading cannot make the server buffer without bound either),
//! and not while a delayed (`/sleep`) reply is pending. Timeouts need no call of their own: a loop wakes at [`Driver::deadline`]
//! and calls [`Driver::next`], which notices what expired.
//!
//! With TLS ([`crate::tls`]) the driver keeps one more layer between the socket and the
//! [`Conn`]: what arrives is ciphertext for rustls's `ServerConnection`, whose plaintext feeds
//! the `Conn`; what the `Conn` writes is encrypted a window at a time into a ciphertext buffer,
//! filled only in [`Driver::next`] and only once the previous one was sent whole (so a loop
//! whose kernel holds that buffer in flight, io_uring's, never sees it move). The closing rules
//! hold over TLS: a last response is followed by `close_notify`, then the lingering close. A
//! handshake is bounded by the header deadline; a record rustls refuses gets its alert, then the
//! connection closes.

use std::time::{Duration, Instant};

use std::io::{Read, Write};

use swarmlab_http::{Conn, Progress};

use crate::Config;

/// Longest a lingering close keeps reading after the last response.
pub const LINGER: Duration = Duration::from_secs(2);
/// Most input a lingering close discards before it gives up and closes.
pub const LINGER_BYTES: usize = 1024 * 1024;
/// Output buffer capacity an idle connection keeps; a larger one (after a large response) is
/// given back while the connection waits for its next request.
const KEEP_OUTPUT: usize = 64 * 1024;

/// What the loop does next for a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Write [`Driver::output`] (as much as the socket takes) and report it with
    /// [`Driver::sent`]; if the socket takes nothing now, wait until it is writable or until
    /// [`Driver::deadline`].
    Send,
    /// Read, and report with [`Driver::received`] or [`Driver::eof`]; wait for input until
    /// [`Driver::deadline`] if none is there.
    Recv,
    /// Wait until [`Driver::deadline`] without reading (a delayed reply is pending).
    Sleep,
    /// Shut down the socket's write side (`shutdown(SHUT_WR)`), then ask again.
    ShutdownWrite,
    /// Close the socket: the connection is over.
    Close,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Serving requests.
    Open,
    /// The last response is in the output; once it is written, linger or close.
    Closing { linger: bool },
    /// Discarding input until EOF, `until`, or `left` more bytes.
    Lingering { until: Instant, left: usize },
    /// Over.
    Done,
}

/// One connection's state, without the socket.
pub struct Driver {
    conn: Conn,
    out: Vec<u8>,
    sent: usize,
    phase: Phase,
    /// A delayed reply is due then.
    wake: Option<Instant>,
    /// While output is pending: the connection is dropped if nothing is written by then.
    write_by: Instant,
    write_timeout: Duration,
    /// A graceful shutdown began: close once idle.
    stopping: bool,
    /// Some output was written whole (a response, at least one).
    answered: bool,
    /// The TLS layer, on a TLS listener.
    tls: Option<Box<Tls>>,
}

/// One connection's TLS: rustls's state and the ciphertext to send.
struct Tls {
    conn: rustls::ServerConnection,
    /// Ciphertext for the socket, and how much of it was sent.
    out: Vec<u8>,
    sent: usize,
    /// The handshake must be over by then (the header deadline, from the accept).
    handshake_by: Instant,
    /// `close_notify` is queued (after the last response, or before a quiet close).
    notified: bool,
    /// What follows once the ciphertext buffer is sent (after `close_notify`: shut down the
    /// write side, or close).
    then: Option<Step>,
    /// The client closed its side: nothing more is sent.
    gone: bool,
    /// rustls refused what arrived: its alert goes out, then the connection closes.
    failed: bool,
}

/// Plaintext taken out of rustls per read.
const PLAIN_CHUNK: usize = 16 * 1024;

impl Tls {
    /// Moves the records rustls has ready into the (empty) ciphertext buffer; whether there
    /// are any to send.
    fn flush(&mut self) -> bool {
        debug_assert_eq!(self.sent, self.out.len());
        while self.conn.wants_write() {
            if self.conn.write_tls(&mut self.out).is_err() {
                break;
            }
        }
        !self.out.is_empty()
    }
}

impl Driver {
    /// A new connection, accepted at `now`.
    pub fn new(cfg: &Config, now: Instant) -> Driver {
        Driver {
            conn: Conn::new(cfg.http),
            out: Vec::new(),
            sent: 0,
            phase: Phase::Open,
            wake: None,
            write_by: now,
            write_timeout: cfg.write_timeout,
            stopping: false,
            answered: false,
            tls: cfg.tls.as_ref().and_then(|t| {
                let mut conn =
                    rustls::ServerConnection::new(std::sync::Arc::clone(&t.config)).ok()?;
                // the plaintext given is one window at most: let rustls take it all at once
                conn.set_buffer_limit(None);
                Some(Box::new(Tls {
                    conn,
                    out: Vec::new(),
                    sent: 0,
                    handshake_by: now + cfg.http.header_timeout,
                    notified: false,
                    then: None,
                    gone: false,
                    failed: false,
                }))
            }),
        }
    }

    /// What to do next, with the TLS layer if there is one. Handles every deadline that has
    /// passed by `now`.
    ///
    /// The output buffer is only changed here once everything in it was sent, so a loop may
    /// hand [`Driver::output`] to the kernel and call `next` again before the write completes
    /// (it gets [`Step::Send`] again, and must not start a second write).
    pub fn next(&mut self, now: Instant) -> Step {
        if self.tls.is_none() {
            return self.next_plain(now);
        }
        let write_by = now + self.write_timeout;
        let tls = self.tls.as_mut().expect("a TLS layer");
        if tls.gone {
            // the socket failed or the client left: what is left to send cannot go
            self.phase = Phase::Done;
            return Step::Close;
        }
        if tls.sent < tls.out.len() {
            if now >= self.write_by {
                self.phase = Phase::Done; // the client stopped reading
                return Step::Close;
            }
            return Step::Send;
        }
        tls.out.clear();
        tls.sent = 0;
        if let Some(step) = tls.then.take() {
            return step;
        }
        if self.phase != Phase::Done && tls.flush() {
            self.write_by = write_by;
            return Step::Send;
        }
        if tls.failed {
            self.phase = Phase::Done;
        }
        if tls.conn.is_handshaking() {
            if now >= tls.handshake_by || self.stopping {
                self.phase = Phase::Done;
            }
            if self.phase == Phase::Done {
                return Step::Close;
            }
            return Step::Recv;
        }
        loop {
            let step = self.next_plain(now);
            let tls = self.tls.as_mut().expect("a TLS layer");
            match step {
                Step::Send => {
                    // the whole plaintext window becomes records at once
                    let plain = &self.out[self.sent..];
                    let n = tls.conn.writer().write(plain).unwrap_or(0);
                    self.sent += n;
                    if tls.flush() {
                        self.write_by = write_by;
                        return Step::Send;
                    }
                    if n == 0 {
                        self.phase = Phase::Done;
                        return Step::Close;
                    }
                }
                // close_notify before the write side shuts (and before a quiet close)
                Step::ShutdownWrite | Step::Close if !tls.notified && !tls.gone && !tls.failed => {
                    tls.notified = true;
                    tls.conn.send_close_notify();
                    if tls.flush() {
                        tls.then = Some(step);
                        self.write_by = write_by;
                        return Step::Send;
                    }
                    return step;
                }
                Step::Recv if tls.out.capacity() > KEEP_OUTPUT => {
                    tls.out = Vec::new();
                    return step;
                }
                _ => return step,
            }
        }
    }

    /// [`Driver::next`] of the HTTP layer: its output is plaintext.
    fn next_plain(&mut self, now: Instant) -> Step {
        loop {
            match self.phase {
                Phase::Done => return Step::Close,
                Phase::Lingering { until, left } => {
                    if now >= until || left == 0 {
                        self.phase = Phase::Done;
                        return Step::Close;
                    }
                    return Step::Recv;
                }
                Phase::Open | Phase::Closing { .. } => {}
            }
            if self.sent < self.out.len() {
                if now >= self.write_by {
                    self.phase = Phase::Done; // the client stopped reading
                    return Step::Close;
                }
                return Step::Send;
            }
            if !self.out.is_empty() {
                self.out.clear();
                self.sent = 0;
                self.answered = true;
                if self.stopping && self.phase == Phase::Open && self.is_idle() {
                    // shutdown came while this (keep-alive) response was on its way: it was
                    // the last one
                    self.phase = Phase::Closing { linger: true };
                }
            }
            if let Phase::Closing { linger } = self.phase {
                if linger {
                    self.phase = Phase::Lingering {
                        until: now + LINGER,
                        left: LINGER_BYTES,
                    };
                    return Step::ShutdownWrite;
                }
                self.phase = Phase::Done;
                return Step::Close;
            }
            match self.wake {
                Some(w) if now < w => return Step::Sleep,
                Some(_) => self.wake = None,
                None => {
                    if self.conn.deadline().is_some_and(|d| now >= d) {
                        self.conn.on_timeout(&mut self.out);
                    }
                }
            }
            let progress = self.conn.advance(&mut self.out, now);
            self.write_by = now + self.write_timeout;
            match progress {
                Progress::NeedInput if self.out.is_empty() => {
                    if self.out.capacity() > KEEP_OUTPUT {
                        self.out = Vec::new();
                    }
                    return Step::Recv;
                }
                Progress::NeedInput | Progress::Flush => {}
                Progress::Wait(d) => self.wake = Some(now + d),
                // A close with a response to deliver lingers; an idle timeout closes quietly.
                Progress::Close => {
                    self.phase = Phase::Closing {
                        linger: !self.out.is_empty(),
                    }
                }
            }
        }
    }

    /// When the loop must call [`Driver::next`] again even if no I/O happens; `None`: only
    /// after I/O.
    pub fn deadline(&self) -> Option<Instant> {
        if let Some(tls) = &self.tls {
            if self.phase != Phase::Done && tls.sent < tls.out.len() {
                return Some(self.write_by);
            }
            if tls.conn.is_handshaking() && self.phase != Phase::Done {
                return Some(tls.handshake_by);
            }
        }
        match self.phase {
            Phase::Done => None,
            Phase::Lingering { until, .. } => Some(until),
            _ if self.sent < self.out.len() => Some(self.write_by),
            Phase::Closing { .. } => None,
            Phase::Open => self.wake.or_else(|| self.conn.deadline()),
        }
    }

    /// The bytes to write for [`Step::Send`].
    pub fn output(&self) -> &[u8] {
        match &self.tls {
            Some(tls) => &tls.out[tls.sent..],
            None => &self.out[self.sent..],
        }
    }

    /// `n` bytes of [`Driver::output`] were written at `now`.
    pub fn sent(&mut self, n: usize, now: Instant) {
        match &mut self.tls {
            Some(tls) => {
                debug_assert!(tls.sent + n <= tls.out.len());
                tls.sent += n;
            }
            None => {
                debug_assert!(self.sent + n <= self.out.len());
                self.sent += n;
            }
        }
        if n > 0 {
            self.write_by = now + self.write_timeout;
        }
    }

    /// `data` arrived at `now`.
    pub fn received(&mut self, data: &[u8], now: Instant) {
        match &mut self.phase {
            Phase::Open if self.tls.is_some() => self.received_tls(data, now),
            Phase::Open => self.conn.feed(data, now),
            Phase::Lingering { left, .. } => *left = left.saturating_sub(data.len()),
            Phase::Closing { .. } | Phase::Done => {}
        }
    }

    /// Ciphertext arrived: its plaintext goes to the `Conn`. Nothing is written here (the
    /// output may be in flight): an alert rustls queues goes out at the next [`Driver::next`].
    fn received_tls(&mut self, mut data: &[u8], now: Instant) {
        let tls = self.tls.as_mut().expect("a TLS layer");
        let mut plain = [0u8; PLAIN_CHUNK];
        while !data.is_empty() && !tls.failed {
            match tls.conn.read_tls(&mut data) {
                Ok(0) => break,
                Ok(_) => {}
                Err(_) => tls.failed = true,
            }
            if tls.conn.process_new_packets().is_err() {
                tls.failed = true; // its alert, if rustls queued one, goes out next
            }
            loop {
                match tls.conn.reader().read(&mut plain) {
                    Ok(0) => break, // close_notify: the socket's EOF follows
                    Ok(n) => self.conn.feed(&plain[..n], now),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(_) => {
                        tls.failed = true;
                        break;
                    }
                }
            }
        }
    }

    /// The client closed its side (a read returned 0), or reading failed: nothing more can
    /// arrive, so nothing more can be answered.
    pub fn eof(&mut self) {
        self.phase = Phase::Done;
        if let Some(tls) = &mut self.tls {
            tls.gone = true;
            tls.then = None;
        }
    }

    /// A graceful shutdown began: an idle connection closes now; a request under way is
    /// answered with `Connection: close`, whole.
    pub fn shutdown(&mut self) {
        self.stopping = true;
        self.conn.shutdown();
        if self.phase == Phase::Open && self.out.is_empty() && self.is_idle() {
            self.phase = Phase::Done;
        }
    }

    /// Another client waits (the iterative and pooled models): lets this connection go as soon
    /// as it may: after the response under way, or now if it waits idle after an answer. A new
    /// connection (its TLS handshake or its first request on the way) is served first: nothing
    /// changes, and `false` says to ask again later.
    pub fn make_way(&mut self) -> bool {
        if !self.handshake_done() || (!self.answered && self.out.is_empty() && self.is_idle()) {
            return false;
        }
        self.shutdown();
        true
    }

    /// Between requests, owing nothing but what is in the output.
    fn is_idle(&self) -> bool {
        self.wake.is_none() && self.conn.is_idle()
    }

    /// Input received but not yet served. A loop that keeps receiving while the driver is not
    /// asking for input (io_uring's multishot receive) stops receiving above a bound of this.
    pub fn unread(&self) -> usize {
        self.conn.unread()
    }

    /// Whether the connection answered a request already and waits for the next one: a
    /// keep-alive connection that may be let go (a client reusing it retries elsewhere, as
    /// HTTP/1.1 clients do), unlike a new one whose first request is on its way.
    pub fn idle_after_answering(&self) -> bool {
        self.answered && self.phase == Phase::Open && self.out.is_empty() && self.is_idle()
    }

    /// The TLS handshake is over (always, without TLS).
    pub fn handshake_done(&self) -> bool {
        self.tls.as_ref().is_none_or(|t| !t.conn.is_handshaking())
    }

    /// Whether the connection is over (the loop got, or will get, [`Step::Close`]).
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    const CLOSE: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

    fn driver(t0: Instant) -> Driver {
        Driver::new(&Config::default(), t0)
    }

    /// Writes everything the driver wants written, `chunk` bytes at a time; returns the bytes
    /// and the first step that is not a send.
    fn write_all(d: &mut Driver, now: Instant, chunk: usize) -> (Vec<u8>, Step) {
        let mut wire = Vec::new();
        loop {
            match d.next(now) {
                Step::Send => {
                    let n = d.output().len().min(chunk);
                    wire.extend_from_slice(&d.output()[..n]);
                    d.sent(n, now);
                }
                step => return (wire, step),
            }
        }
    }

    #[test]
    fn keep_alive_request_is_answered_and_the_connection_waits() {
        let t0 = Instant::now();
        let mut d = driver(t0);
        assert_eq!(d.next(t0), Step::Recv);
        d.received(GET, t0);
        let (wire, step) = write_all(&mut d, t0, usize::MAX);
        assert!(wire.ends_with(b"Hello, World!"));
        assert_eq!(step, Step::Recv);
        assert_eq!(
            d.deadline(),
            Some(t0 + swarmlab_http::Config::default().idle_timeout)
        );
    }

    #[test]
    fn a_closing_response_is_written_whole_then_lingers_then_closes() {
        let t0 = Instant::now();
        let mut d = driver(t0);
        d.received(
            b"GET /bytes?n=8000000 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            t0,
        );
        // a slow socket: 100,000 bytes per write; the driver never skips to closing
        let (wire, step) = write_all(&mut d, t0, 100_000);
        let body_at = wire.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        assert_eq!(wire.len() - body_at, 8_000_000);
        assert_eq!(step, Step::ShutdownWrite);
        assert_eq!(d.next(t0), Step::Recv, "lingering: discarding input");
        d.received(GET, t0);
        assert_eq!(
            d.next(t0),
            Step::Recv,
            "a pipelined request is not answered"
        );
        assert_eq!(d.output(), b"");
        assert_eq!(d.deadline(), Some(t0 + LINGER));
        assert_eq!(d.next(t0 + LINGER), Step::Close, "bounded in time");
    }

    #[test]
    fn lingering_is_bounded_in_size_and_ends_at_eof() {
        let t0 = Instant::now();
        let mut d = driver(t0);
        d.received(CLOSE, t0);
        assert_eq!(write_all(&mut d, t0, usize::MAX).1, Step::ShutdownWrite);
        d.received(&vec![b'x'; LINGER_BYTES], t0);
        assert_eq!(d.next(t0), Step::Close);

        let mut d = driver(t0);
        d.received(CLOSE, t0);
        assert_eq!(write_all(&mut d, t0, usize::MAX).1, Step::ShutdownWrite);
        d.eof();
        assert_eq!(d.next(t0), Step::Close);
    }

    #[test]
    fn a_large_response_is_held_one_window_at_a_time() {
        let t0 = Instant::now();
        let mut d = driver(t0);
        d.received(b"GET /bytes?n=67108864 HTTP/1.1\r\nHost: x\r\n\r\n", t0);
        let (mut total, mut most) = (0, 0);
        loop {
            match d.next(t0) {
                Step::Send => {
                    most = most.max(d.out.capacity());
                    let n = d.output().len().min(4096); // a slow socket
                    total += n;
                    d.sent(n, t0);
                }
                Step::Recv => break,
                step => panic!("{step:?}"),
            }
        }
        assert!(total > 64 << 20, "the whole response went out: {total}");
        assert!(most <= 2 * swarmlab_http::OUT_WINDOW, "held {most} bytes");
        assert!(d.out.capacity() <= KEEP_OUTPUT, "given back when idle");
    }

    #[test]
    fn a_client_that_stops_reading_is_dropped_after_the_write_timeout() {
        let t0 = Instant::now();
        let mut d = driver(t0);
        d.received(b"GET /bytes?n=1000000 HTTP/1.1\r\nHost: x\r\n\r\n", t0);
        assert_eq!(d.next(t0), Step::Send);
        let wt = Config::default().write_timeout;
        d.sent(1000, t0 + wt / 2);
        assert_eq!(
            d.deadline(),
            Some(t0 + wt / 2 + wt),
            "progress moves the deadline"
        );
        assert_eq!(d.next(t0 + wt), Step::Send);
        assert_eq!(d.next(t0 + wt / 2 + wt), Step::Close);
        assert!(d.is_done());
    }

    #[test]
    fn a_delayed_reply_sleeps_then_sends() {
        let t0 = Instant::now();
        let mut d = driver(t0);
        d.received(b"GET /sleep?ms=100 HTTP/1.1\r\nHost: x\r\n\r\n", t0);
        assert_eq!(d.next(t0), Step::Sleep);
        let due = t0 + Duration::from_millis(100);
        assert_eq!(d.deadline(), Some(due));
        assert_eq!(d.next(due - Duration::from_millis(1)), Step::Sleep);
        assert_eq!(d.next(due), Step::Send);
    }

    #[test]
    fn errors_answer_then_linger_and_idle_timeouts_close_quietly() {
        let t0 = Instant::now();
        let mut d = driver(t0);
        d.received(b"GET / HTTP/1.1\r\n\r\n", t0);
        let (wire, step) = write_all(&mut d, t0, usize::MAX);
        assert!(wire.starts_with(b"HTTP/1.1 400 "));
        assert_eq!(step, Step::ShutdownWrite);

        let mut d = driver(t0);
        assert_eq!(d.next(t0), Step::Recv);
        let idle = d.deadline().unwrap();
        assert_eq!(d.next(idle), Step::Close);
        assert_eq!(d.output(), b"");

        let mut d = driver(t0);
        d.received(b"GET / HTTP/1.1\r\n", t0);
        assert_eq!(d.next(t0), Step::Recv);
        let header_deadline = d.deadline().unwrap();
        let (wire, step) = write_all(&mut d, header_deadline, usize::MAX);
        assert!(wire.starts_with(b"HTTP/1.1 408 "));
        assert_eq!(step, Step::ShutdownWrite);
    }

    #[test]
    fn shutdown_closes_idle_connections_and_finishes_busy_ones() {
        let t0 = Instant::now();
        let mut idle = driver(t0);
        assert_eq!(idle.next(t0), Step::Recv);
        idle.shutdown();
        assert_eq!(idle.next(t0), Step::Close);

        let mut busy = driver(t0);
        busy.received(b"GET /sleep?ms=50 HTTP/1.1\r\nHost: x\r\n\r\n", t0);
        assert_eq!(busy.next(t0), Step::Sleep);
        busy.shutdown();
        let later = t0 + Duration::from_millis(50);
        let (wire, step) = write_all(&mut busy, later, usize::MAX);
        assert!(String::from_utf8_lossy(&wire).contains("Connection: close\r\n"));
        assert_eq!(step, Step::ShutdownWrite);

        // shutdown while a keep-alive response is still being written: it is the last one
        let mut sending = driver(t0);
        sending.received(b"GET /bytes?n=1000000 HTTP/1.1\r\nHost: x\r\n\r\n", t0);
        assert_eq!(sending.next(t0), Step::Send);
        sending.shutdown();
        let (wire, step) = write_all(&mut sending, t0, 1000);
        assert!(wire.len() > 1_000_000);
        assert_eq!(step, Step::ShutdownWrite);
    }

    /// A server config with a certificate a test CA signed, and a client trusting that CA.
    pub(crate) fn tls_pair() -> (Config, std::sync::Arc<rustls::ClientConfig>) {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_key = KeyPair::generate().unwrap();
        let ca = p.self_signed(&ca_key).unwrap();
        let key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .signed_by(&key, &ca, &ca_key)
            .unwrap();
        let tls = crate::tls::Tls::new(
            vec![leaf.der().clone()],
            rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
        )
        .unwrap();
        let cfg = Config {
            tls: Some(tls),
            ..Config::default()
        };
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca.der().clone()).unwrap();
        let client = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        (cfg, std::sync::Arc::new(client))
    }

    /// What an in-memory client got: plaintext, whether `close_notify` came, whether the
    /// driver shut its write side.
    #[derive(Default)]
    struct Got {
        plain: Vec<u8>,
        notified: bool,
        shut: bool,
    }

    /// Runs the driver against an in-memory client until the driver waits for input the
    /// client does not have (or closes): that step, and what the client got.
    fn exchange(d: &mut Driver, c: &mut rustls::ClientConnection, now: Instant) -> (Step, Got) {
        let mut got = Got::default();
        let mut buf = vec![0u8; 65536];
        for _ in 0..100_000 {
            match d.next(now) {
                Step::Send => {
                    let mut out = d.output();
                    let n = out.len();
                    while !out.is_empty() {
                        c.read_tls(&mut out).unwrap();
                        c.process_new_packets().unwrap();
                        loop {
                            match c.reader().read(&mut buf) {
                                Ok(0) => {
                                    got.notified = true;
                                    break;
                                }
                                Ok(k) => got.plain.extend_from_slice(&buf[..k]),
                                Err(_) => break,
                            }
                        }
                    }
                    d.sent(n, now);
                }
                Step::Recv => {
                    let mut wire = Vec::new();
                    while c.wants_write() {
                        c.write_tls(&mut wire).unwrap();
                    }
                    if wire.is_empty() {
                        return (Step::Recv, got);
                    }
                    d.received(&wire, now);
                }
                Step::ShutdownWrite => got.shut = true,
                step => return (step, got),
            }
        }
        panic!("the driver never waited");
    }

    #[test]
    fn over_tls_requests_are_answered_and_a_close_sends_close_notify_first() {
        use std::io::Write as _;
        let t0 = Instant::now();
        let (cfg, client) = tls_pair();
        let mut d = Driver::new(&cfg, t0);
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let mut c = rustls::ClientConnection::new(client, name).unwrap();
        assert_eq!(
            d.deadline(),
            Some(t0 + cfg.http.header_timeout),
            "the handshake's bound"
        );
        assert_eq!(exchange(&mut d, &mut c, t0).0, Step::Recv);
        assert!(!c.is_handshaking() && d.handshake_done());
        c.writer().write_all(GET).unwrap();
        let (step, got) = exchange(&mut d, &mut c, t0);
        assert_eq!(step, Step::Recv);
        assert!(got.plain.ends_with(b"Hello, World!") && !got.notified);
        // 8 MB, then Connection: close: whole, close_notify, the write side shut, lingering
        c.writer()
            .write_all(b"GET /bytes?n=8000000 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let (step, got) = exchange(&mut d, &mut c, t0);
        let head = got.plain.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        assert_eq!(got.plain.len() - head, 8_000_000);
        assert!(got.notified && got.shut);
        assert_eq!(step, Step::Recv, "lingering");
        assert_eq!(d.next(t0 + LINGER), Step::Close);
    }

    /// Whatever the driver sends before it closes, then that it closes.
    fn until_close(d: &mut Driver, now: Instant) -> Vec<u8> {
        let mut wire = Vec::new();
        loop {
            match d.next(now) {
                Step::Send => {
                    let n = d.output().len();
                    wire.extend_from_slice(d.output());
                    d.sent(n, now);
                }
                Step::Close => return wire,
                step => panic!("{step:?} instead of a close"),
            }
        }
    }

    #[test]
    fn garbage_records_are_closed_and_a_silent_client_gets_the_header_deadline() {
        let t0 = Instant::now();
        let (cfg, _) = tls_pair();
        for junk in [
            &b"\x16\x03\x01\x00\x04junk\x17\x03\x03\x00\x01x"[..],
            b"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00",
            b"\x15\x03\x03\x00\x02\x02\x28",
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        ] {
            let mut d = Driver::new(&cfg, t0);
            assert_eq!(d.next(t0), Step::Recv);
            d.received(junk, t0);
            let wire = until_close(&mut d, t0);
            // nothing but an alert record, if anything: never an answer in the clear
            assert!(wire.is_empty() || wire[0] == 0x15, "{junk:?}: {wire:?}");
        }

        let mut d = Driver::new(&cfg, t0);
        assert_eq!(d.next(t0), Step::Recv);
        let by = d.deadline().unwrap();
        assert_eq!(d.next(by - Duration::from_millis(1)), Step::Recv);
        assert_eq!(d.next(by), Step::Close, "a handshake never finished");
    }

    #[test]
    fn over_tls_a_failed_write_closes_instead_of_trying_again() {
        use std::io::Write as _;
        let t0 = Instant::now();
        let (cfg, client) = tls_pair();
        let mut d = Driver::new(&cfg, t0);
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let mut c = rustls::ClientConnection::new(client, name).unwrap();
        assert_eq!(exchange(&mut d, &mut c, t0).0, Step::Recv);
        c.writer()
            .write_all(b"GET /bytes?n=1000000 HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut wire = Vec::new();
        while c.wants_write() {
            c.write_tls(&mut wire).unwrap();
        }
        d.received(&wire, t0);
        assert_eq!(d.next(t0), Step::Send);
        d.eof(); // the write failed (EPIPE): the loop says so
        assert_eq!(
            d.next(t0),
            Step::Close,
            "not Send again: that spun until the write timeout"
        );
    }
}
