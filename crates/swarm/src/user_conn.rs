//! One user connection as a state machine, the generator's counterpart of the server's
//! `Driver`: connect, (TLS,) write a request, read and frame its response, keep the connection
//! for the next one or say why it cannot. It decides; the event loop ([`crate::event_loop`])
//! only tells it when its socket is ready or its deadline has passed, and carries out the
//! [`Step`] it returns (wait, keep it idle, count an answer, record a failure, drop it).
//!
//! It reaches its socket through [`Wire`] (a [`Stream`] in the loop, a scripted fake in the
//! tests), so every transition is unit-tested without a network. What happens above a
//! connection (which request, redirects, cookies, which client's words) is the loop's users'
//! business; how a connection failed is a typed [`Failure`] the client's profile says.

use std::io;
use std::time::{Duration, Instant};

use crate::arrival::Arrival;
use crate::client::{Reader, Response};
use crate::profile::Failure;
use crate::tls::{Handshake, Stream};

/// A keep-alive connection idle this long is checked for the server's close before it is
/// reused (a syscall; connections in back-to-back use are not).
pub(crate) const CHECK_IDLE_AFTER: Duration = Duration::from_millis(50);

/// What a connection needs of its socket.
pub(crate) trait Wire {
    /// Whether a non-blocking connect has completed (`Ok(false)`: not yet), or why it failed.
    fn connected(&mut self) -> io::Result<bool>;
    /// Writes the TLS records waiting (plain TCP: nothing).
    fn pump(&mut self) -> io::Result<()>;
    /// Writes what the socket takes of `data`.
    fn write(&mut self, data: &[u8]) -> io::Result<usize>;
    /// Reads, setting `arrival` to when the last bytes reached the socket if they were stamped.
    fn recv(&mut self, buf: &mut [u8], arrival: &mut Option<Arrival>) -> io::Result<usize>;
    /// Whether the server has closed this idle connection (a peek).
    fn closed_by_peer(&self) -> bool;
    /// How its TLS handshake went, once it has (plain TCP: `None`).
    fn handshake(&self) -> Option<Handshake>;
}

impl Wire for Stream {
    fn connected(&mut self) -> io::Result<bool> {
        let sock = self.tcp();
        if let Some(e) = sock.take_error()? {
            return Err(e);
        }
        match sock.peer_addr() {
            Ok(_) => {
                let _ = sock.set_nodelay(true);
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn pump(&mut self) -> io::Result<()> {
        Stream::pump(self)
    }

    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        io::Write::write(self, data)
    }

    fn recv(&mut self, buf: &mut [u8], arrival: &mut Option<Arrival>) -> io::Result<usize> {
        Stream::recv(self, buf, arrival)
    }

    fn closed_by_peer(&self) -> bool {
        Stream::closed_by_peer(self)
    }

    fn handshake(&self) -> Option<Handshake> {
        Stream::handshake(self)
    }
}

/// Where a connection is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Its connect is under way.
    Connecting,
    /// Writing a request.
    Sending,
    /// Reading the answer.
    Receiving,
    /// Connected, no request on it.
    Idle,
}

/// How long a connect, and then an answer, may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Timeouts {
    /// From the connect's start to its end.
    pub connect: Duration,
    /// From the request's going out on a connected socket to the whole answer.
    pub read: Duration,
}

/// What the loop does next for a connection.
#[derive(Debug)]
pub(crate) enum Step {
    /// Nothing until its socket is ready again (or its deadline passes).
    Wait,
    /// Connected with no request to send: it is idle, kept for one.
    Idle,
    /// The whole answer; when its last bytes reached the socket (if stamped); the TLS
    /// handshake, the first time a connection's answer comes after one (to count it once).
    /// The connection is idle again, unless the answer said it closes (`close`).
    Answer(Response, Option<Arrival>, Option<Handshake>),
    /// A streaming reader's progress (`stream=True`): the answer's head, the first time
    /// (its status and fields, no body), and the body bytes that came since the last step.
    Progress(Option<Response>, Vec<u8>),
    /// The request failed; the connection is done for.
    Failed(Failure),
    /// The server closed an idle connection (or sent something unasked): drop it.
    Gone,
}

/// One user connection (see the module's doc).
pub(crate) struct UserConn<W> {
    wire: W,
    phase: Phase,
    timeouts: Timeouts,
    /// The request, and how much of it is written.
    out: Vec<u8>,
    written: usize,
    reader: Reader,
    /// A request is on it (being sent, answered, or waiting for the connect).
    busy: bool,
    deadline: Option<Instant>,
    /// `deadline` changed since [`UserConn::take_deadline`] last said it.
    rearm: bool,
    idle_since: Instant,
    /// Its TLS handshake was counted.
    shaken: bool,
}

impl<W: Wire> UserConn<W> {
    /// A connection whose connect (on `wire`) started `now`.
    pub(crate) fn connecting(wire: W, timeouts: Timeouts, now: Instant) -> UserConn<W> {
        UserConn {
            wire,
            phase: Phase::Connecting,
            timeouts,
            out: Vec::new(),
            written: 0,
            reader: Reader::new(false),
            busy: false,
            deadline: Some(now + timeouts.connect),
            rearm: true,
            idle_since: now,
            shaken: false,
        }
    }

    /// Its socket.
    #[cfg(test)]
    pub(crate) fn wire(&self) -> &W {
        &self.wire
    }

    /// Its socket, to register or deregister.
    pub(crate) fn wire_mut(&mut self) -> &mut W {
        &mut self.wire
    }

    /// Where it is.
    pub(crate) fn phase(&self) -> Phase {
        self.phase
    }

    /// Whether it may take a request: connected or connecting, and no request on it.
    pub(crate) fn is_free(&self) -> bool {
        !self.busy
    }

    /// Whether an idle connection may carry the next request: not when it has been idle a while
    /// and the server has closed it meanwhile (urllib3 checks a pooled connection so before it
    /// reuses it: a request is never sent into a close, and never sent twice).
    pub(crate) fn reusable(&self, now: Instant) -> bool {
        self.phase != Phase::Idle
            || now.saturating_duration_since(self.idle_since) < CHECK_IDLE_AFTER
            || !self.wire.closed_by_peer()
    }

    /// Its new deadline (`Some(None)`: none) if it changed since last asked.
    pub(crate) fn take_deadline(&mut self) -> Option<Option<Instant>> {
        std::mem::take(&mut self.rearm).then_some(self.deadline)
    }

    fn set_deadline(&mut self, at: Option<Instant>) {
        if self.deadline != at {
            self.deadline = at;
            self.rearm = true;
        }
    }

    /// Puts `request` on the connection, its answer read by `reader`: written at once if it is
    /// connected, once the connect completes if not.
    pub(crate) fn start(&mut self, request: &[u8], reader: Reader, now: Instant) -> Step {
        debug_assert!(!self.busy, "one request at a time on a connection");
        self.out.clear();
        self.out.extend_from_slice(request);
        self.written = 0;
        self.reader = reader;
        self.busy = true;
        match self.phase {
            Phase::Connecting => Step::Wait,
            _ => {
                self.phase = Phase::Sending;
                self.set_deadline(Some(now + self.timeouts.read));
                self.send()
            }
        }
    }

    /// Its socket is ready (readable, writable, or closed).
    pub(crate) fn ready(&mut self, now: Instant, buf: &mut [u8]) -> Step {
        if self.phase != Phase::Connecting {
            // TLS records the socket did not take last time
            if let Err(e) = self.wire.pump() {
                return self.fail(Failure::io(&e));
            }
        }
        match self.phase {
            Phase::Connecting => match self.wire.connected() {
                Err(e) => self.fail(Failure::io(&e)),
                Ok(false) => Step::Wait,
                Ok(true) if self.busy => {
                    self.phase = Phase::Sending;
                    self.set_deadline(Some(now + self.timeouts.read));
                    self.send()
                }
                Ok(true) => {
                    self.idle(now);
                    Step::Idle
                }
            },
            Phase::Sending => self.send(),
            Phase::Receiving => self.receive(now, buf),
            Phase::Idle => match self.wire.recv(buf, &mut None) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Step::Wait,
                _ => Step::Gone,
            },
        }
    }

    /// Its deadline passed: why the request fails (the connection is done for).
    pub(crate) fn timed_out(&mut self) -> Failure {
        let failure = match self.phase {
            Phase::Connecting => Failure::ConnectTimeout(self.timeouts.connect),
            _ => Failure::ReadTimeout(self.timeouts.read),
        };
        self.busy = false;
        self.set_deadline(None);
        failure
    }

    fn idle(&mut self, now: Instant) {
        self.phase = Phase::Idle;
        self.busy = false;
        self.idle_since = now;
        self.set_deadline(None);
    }

    fn send(&mut self) -> Step {
        while self.written < self.out.len() {
            match self.wire.write(&self.out[self.written..]) {
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Step::Wait,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.fail(Failure::io(&e)),
            }
        }
        self.phase = Phase::Receiving;
        // its answer comes after the request, with a readiness of its own: no read now (a
        // syscall per request that finds nothing)
        Step::Wait
    }

    fn receive(&mut self, now: Instant, buf: &mut [u8]) -> Step {
        let mut arrival = None;
        loop {
            match self.wire.recv(buf, &mut arrival) {
                Ok(0) => {
                    return match self.reader.eof() {
                        Some(resp) => self.answered(resp, arrival, now),
                        None if self.reader.is_fresh() => self.fail(Failure::ClosedUnanswered),
                        None => self.fail(Failure::ClosedMidResponse),
                    };
                }
                Ok(n) => match self.reader.feed(&buf[..n]) {
                    Ok(Some(resp)) => return self.answered(resp, arrival, now),
                    Ok(None) => {}
                    Err(e) => return self.fail(Failure::Malformed(e)),
                },
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return self.progress(now),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.fail(Failure::io(&e)),
            }
        }
    }

    /// What a streaming reader has to hand out when the socket has nothing more for now; a
    /// stream that moves has its read timeout counted again from here (python-requests' read
    /// timeout is the longest wait between bytes).
    fn progress(&mut self, now: Instant) -> Step {
        if !self.reader.is_streaming() {
            return Step::Wait;
        }
        let head = self.reader.take_head();
        let body = self.reader.take_streamed();
        if head.is_none() && body.is_empty() {
            return Step::Wait;
        }
        self.set_deadline(Some(now + self.timeouts.read));
        Step::Progress(head, body)
    }

    fn answered(&mut self, resp: Response, arrival: Option<Arrival>, now: Instant) -> Step {
        let handshake = if self.shaken {
            None
        } else {
            let h = self.wire.handshake();
            self.shaken = h.is_some();
            h
        };
        self.idle(now);
        Step::Answer(resp, arrival, handshake)
    }

    fn fail(&mut self, failure: Failure) -> Step {
        self.busy = false;
        self.set_deadline(None);
        Step::Failed(failure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Malformed;
    use std::collections::VecDeque;

    /// A socket that plays a script: each `recv` takes the next item (bytes, an end, or an
    /// error); `write` takes up to `accepts` bytes at a time.
    #[derive(Default)]
    struct Fake {
        connected: VecDeque<io::Result<bool>>,
        reads: VecDeque<io::Result<Vec<u8>>>,
        written: Vec<u8>,
        accepts: Option<usize>,
        closed: bool,
    }

    fn would_block() -> io::Error {
        io::ErrorKind::WouldBlock.into()
    }

    impl Wire for Fake {
        fn connected(&mut self) -> io::Result<bool> {
            self.connected.pop_front().unwrap_or(Ok(true))
        }
        fn pump(&mut self) -> io::Result<()> {
            Ok(())
        }
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            match self.accepts {
                Some(0) => Err(would_block()),
                Some(n) => {
                    let n = n.min(data.len());
                    self.written.extend_from_slice(&data[..n]);
                    self.accepts = Some(0);
                    Ok(n)
                }
                None => {
                    self.written.extend_from_slice(data);
                    Ok(data.len())
                }
            }
        }
        fn recv(&mut self, buf: &mut [u8], _: &mut Option<Arrival>) -> io::Result<usize> {
            match self.reads.pop_front() {
                None => Err(would_block()),
                Some(Ok(bytes)) => {
                    buf[..bytes.len()].copy_from_slice(&bytes);
                    Ok(bytes.len())
                }
                Some(Err(e)) => Err(e),
            }
        }
        fn closed_by_peer(&self) -> bool {
            self.closed
        }
        fn handshake(&self) -> Option<Handshake> {
            None
        }
    }

    const T: Timeouts = Timeouts {
        connect: Duration::from_secs(1),
        read: Duration::from_secs(2),
    };
    const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";

    fn conn(fake: Fake) -> (UserConn<Fake>, Instant, Vec<u8>) {
        let now = Instant::now();
        (UserConn::connecting(fake, T, now), now, vec![0; 4096])
    }

    #[test]
    fn a_request_waits_for_the_connect_then_is_written_and_answered() {
        let fake = Fake {
            connected: [Ok(false), Ok(true)].into(),
            ..Fake::default()
        };
        let (mut c, now, mut buf) = conn(fake);
        assert_eq!(c.take_deadline(), Some(Some(now + T.connect)));
        assert!(matches!(
            c.start(b"GET / HTTP/1.1\r\n\r\n", Reader::new(false), now),
            Step::Wait
        ));
        assert!(c.wire().written.is_empty(), "nothing before the connect");
        assert!(matches!(c.ready(now, &mut buf), Step::Wait), "not yet");
        assert!(matches!(c.ready(now, &mut buf), Step::Wait));
        assert_eq!(c.wire().written, b"GET / HTTP/1.1\r\n\r\n");
        assert_eq!(c.phase(), Phase::Receiving);
        assert_eq!(c.take_deadline(), Some(Some(now + T.read)));
        c.wire_mut().reads.push_back(Ok(OK[..20].to_vec()));
        c.wire_mut().reads.push_back(Ok(OK[20..].to_vec()));
        match c.ready(now, &mut buf) {
            Step::Answer(resp, _, None) => {
                assert_eq!((resp.status, resp.content, resp.close), (200, 2, false))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(c.phase(), Phase::Idle);
        assert!(c.is_free());
        assert_eq!(c.take_deadline(), Some(None), "an idle connection has none");
    }

    #[test]
    fn a_partial_write_goes_on_at_the_next_readiness() {
        let fake = Fake {
            accepts: Some(4),
            ..Fake::default()
        };
        let (mut c, now, mut buf) = conn(fake);
        assert!(matches!(c.ready(now, &mut buf), Step::Idle));
        assert!(matches!(
            c.start(b"GET /abc", Reader::new(false), now),
            Step::Wait
        ));
        assert_eq!(
            (c.wire().written.as_slice(), c.phase()),
            (&b"GET "[..], Phase::Sending)
        );
        c.wire_mut().accepts = None;
        assert!(matches!(c.ready(now, &mut buf), Step::Wait));
        assert_eq!(c.wire().written, b"GET /abc");
        assert_eq!(c.phase(), Phase::Receiving);
    }

    #[test]
    fn closes_and_errors_are_typed_failures() {
        let cases: Vec<(Vec<io::Result<Vec<u8>>>, Failure)> = vec![
            (vec![Ok(vec![])], Failure::ClosedUnanswered),
            (
                vec![Ok(OK[..30].to_vec()), Ok(vec![])],
                Failure::ClosedMidResponse,
            ),
            (
                vec![Err(io::Error::from_raw_os_error(104))],
                Failure::io(&io::Error::from_raw_os_error(104)),
            ),
            (
                vec![Ok(b"HTTX/1.1 200 OK\r\n\r\n".to_vec())],
                Failure::Malformed(Malformed::StatusLine(String::new())),
            ),
        ];
        for (reads, want) in cases {
            let (mut c, now, mut buf) = conn(Fake::default());
            c.ready(now, &mut buf);
            c.start(b"GET /", Reader::new(false), now);
            c.wire_mut().reads = reads.into();
            match (c.ready(now, &mut buf), want) {
                // a bad status line, in httparse's words
                (
                    Step::Failed(Failure::Malformed(Malformed::StatusLine(text))),
                    Failure::Malformed(_),
                ) => assert!(!text.is_empty()),
                (Step::Failed(got), want) => assert_eq!(got, want),
                (other, _) => panic!("{other:?}"),
            }
            assert!(c.is_free());
        }
    }

    #[test]
    fn a_failed_connect_and_timeouts_name_their_phase() {
        let fake = Fake {
            connected: [Err(io::Error::from_raw_os_error(111))].into(),
            ..Fake::default()
        };
        let (mut c, now, mut buf) = conn(fake);
        match c.ready(now, &mut buf) {
            Step::Failed(Failure::Io { kind, .. }) => {
                assert_eq!(kind, io::ErrorKind::ConnectionRefused)
            }
            other => panic!("{other:?}"),
        }
        let (mut c, _, _) = conn(Fake {
            connected: [Ok(false)].into(),
            ..Fake::default()
        });
        assert_eq!(c.timed_out(), Failure::ConnectTimeout(T.connect));
        let (mut c, now, mut buf) = conn(Fake::default());
        c.ready(now, &mut buf);
        c.start(b"GET /", Reader::new(false), now);
        assert_eq!(c.timed_out(), Failure::ReadTimeout(T.read));
    }

    #[test]
    fn an_idle_connection_the_server_closed_is_not_reused_and_goes() {
        let (mut c, now, mut buf) = conn(Fake::default());
        c.ready(now, &mut buf);
        assert!(c.reusable(now));
        c.wire_mut().closed = true;
        assert!(
            c.reusable(now),
            "just used: not checked (a syscall per request)"
        );
        assert!(!c.reusable(now + CHECK_IDLE_AFTER), "idle a while: checked");
        c.wire_mut().reads.push_back(Ok(vec![]));
        assert!(matches!(c.ready(now, &mut buf), Step::Gone));
        let (mut c, now, mut buf) = conn(Fake::default());
        c.ready(now, &mut buf);
        assert!(
            matches!(c.ready(now, &mut buf), Step::Wait),
            "a spurious wake-up"
        );
    }

    #[test]
    fn a_streaming_reader_hands_out_the_head_then_the_body_as_it_comes() {
        let (mut c, now, mut buf) = conn(Fake::default());
        c.ready(now, &mut buf);
        c.start(b"GET /", Reader::streaming(false, 1 << 20), now);
        c.take_deadline();
        c.wire_mut().reads = [Ok(
            b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\ndata:".to_vec()
        )]
        .into();
        let later = now + Duration::from_millis(500);
        match c.ready(later, &mut buf) {
            Step::Progress(Some(head), body) => {
                assert_eq!((head.status, head.headers.len()), (200, 1));
                assert_eq!(body, b"data:");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            c.take_deadline(),
            Some(Some(later + T.read)),
            "a moving stream's read timeout starts again"
        );
        assert!(
            matches!(c.ready(later, &mut buf), Step::Wait),
            "nothing new"
        );
        c.wire_mut().reads = [Ok(b"1\n".to_vec())].into();
        match c.ready(later, &mut buf) {
            Step::Answer(resp, _, _) => assert_eq!((resp.body, resp.content), (b"1\n".to_vec(), 7)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_read_until_close_answer_ends_at_the_close() {
        let (mut c, now, mut buf) = conn(Fake::default());
        c.ready(now, &mut buf);
        c.start(b"GET /", Reader::new(false), now);
        c.wire_mut().reads = [
            Ok(b"HTTP/1.0 200 OK\r\n\r\nbody".to_vec()),
            Ok(b"more".to_vec()),
            Ok(vec![]),
        ]
        .into();
        match c.ready(now, &mut buf) {
            Step::Answer(resp, _, _) => assert_eq!((resp.content, resp.close), (8, true)),
            other => panic!("{other:?}"),
        }
    }
}
