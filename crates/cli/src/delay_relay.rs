//! A delay relay: a TCP proxy on loopback that holds every byte for a one-way delay in each
//! direction, as Toxiproxy's latency toxic does, so a load crosses a network with a round trip
//! where the kernel has no `netem` qdisc to make one.
//!
//! A connection is set up through it as over a network: the relay accepts the client's
//! connection at once (the kernel completes the handshake), and connects to the server one and a
//! half round trips later, when a real handshake's last ACK would have reached the server with
//! the client's first bytes right behind it; those bytes are handed over then. From there each
//! chunk read on one side is written to the other no earlier than the one-way delay after it
//! was read, in order; an end of stream (FIN) travels the same way, and a reset closes both
//! sides. What it cannot model: the client's `connect` returns at once (its round trip is paid
//! before the first answer instead), and nothing is lost or reordered (that needs `netem`).
//! With no delay it only forwards: where the kernel's `netem` holds the packets on a veth pair
//! into a network namespace, the relay listens inside and carries each connection on to the
//! server over loopback.
//!
//! One thread, one mio event loop, a timer heap for the deliveries: a thread per direction
//! would need as many threads as a design's capacity times the round trip in connections. At
//! most [`QUEUE_LIMIT`] bytes wait in one direction of one connection; past it the relay stops
//! reading that side, so the sender feels the back pressure a network's window gives.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};

/// Bytes that may wait in one direction of one connection before the relay stops reading it.
const QUEUE_LIMIT: usize = 256 << 10;
/// One read's most.
const CHUNK: usize = 64 << 10;
const LISTENER: Token = Token(usize::MAX - 1);
const WAKER: Token = Token(usize::MAX - 2);

/// A running relay: connections to [`DelayRelay::addr`] reach `upstream` with the delay.
pub struct DelayRelay {
    addr: SocketAddr,
    waker: Arc<Waker>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl DelayRelay {
    /// Listens on an ephemeral port of `upstream`'s loopback address and relays to `upstream`,
    /// each direction held for `one_way`.
    pub fn start(upstream: SocketAddr, one_way: Duration) -> io::Result<DelayRelay> {
        let listener = std::net::TcpListener::bind(SocketAddr::new(upstream.ip(), 0))?;
        DelayRelay::start_on(listener, upstream, one_way)
    }

    /// The same on a listener of the caller's (one in a network namespace behind a shaped
    /// link, say): clients connect to it, the relay to `upstream` from this namespace.
    pub fn start_on(
        listener: std::net::TcpListener,
        upstream: SocketAddr,
        one_way: Duration,
    ) -> io::Result<DelayRelay> {
        listener.set_nonblocking(true)?;
        let mut listener = TcpListener::from_std(listener);
        let addr = listener.local_addr()?;
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut relay = Relay {
            poll,
            listener,
            upstream,
            one_way,
            pairs: Vec::new(),
            free: Vec::new(),
            timers: BinaryHeap::new(),
            buf: vec![0; CHUNK],
        };
        let thread = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("delay-relay".into())
                .spawn(move || relay.run(&stop))?
        };
        Ok(DelayRelay {
            addr,
            waker,
            stop,
            thread: Some(thread),
        })
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for DelayRelay {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = self.waker.wake();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What waits to be written to one side.
enum Item {
    Bytes(Vec<u8>),
    /// The other side ended its stream: shut this side's writing.
    End,
}

/// One direction: what waits, each with the instant it may go.
#[derive(Default)]
struct Lane {
    queue: VecDeque<(Instant, Item)>,
    /// Of the front item, bytes already written.
    written: usize,
    /// Bytes waiting.
    bytes: usize,
    /// The sending side's stream ended (read 0).
    read_done: bool,
    /// The end was delivered (the receiving side's writing shut).
    delivered_end: bool,
}

/// A client's connection and the relay's to the server.
struct Pair {
    client: TcpStream,
    server: Option<TcpStream>,
    /// When the connection to the server is made (the handshake's 1.5 round trips).
    dial_at: Instant,
    /// The connection to the server is up (its connect completed).
    connected: bool,
    to_server: Lane,
    to_client: Lane,
}

struct Relay {
    poll: Poll,
    listener: TcpListener,
    upstream: SocketAddr,
    one_way: Duration,
    pairs: Vec<Option<Pair>>,
    free: Vec<usize>,
    /// (when, pair): look at the pair then.
    timers: BinaryHeap<Reverse<(Instant, usize)>>,
    buf: Vec<u8>,
}

/// Which socket of a pair a token names.
fn token(pair: usize, server: bool) -> Token {
    Token(pair * 2 + usize::from(server))
}

impl Relay {
    fn run(&mut self, stop: &std::sync::atomic::AtomicBool) {
        let mut events = Events::with_capacity(1024);
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let now = Instant::now();
            let timeout = self
                .timers
                .peek()
                .map(|Reverse((at, _))| at.saturating_duration_since(now));
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return;
            }
            let mut touched: Vec<usize> = Vec::new();
            for ev in &events {
                match ev.token() {
                    LISTENER => self.accept(),
                    WAKER => {}
                    Token(t) => touched.push(t / 2),
                }
            }
            let now = Instant::now();
            while let Some(&Reverse((at, i))) = self.timers.peek() {
                if at > now {
                    break;
                }
                self.timers.pop();
                touched.push(i);
            }
            touched.sort_unstable();
            touched.dedup();
            for i in touched {
                self.pump(i);
            }
        }
    }

    fn accept(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((mut client, _)) => {
                    let _ = client.set_nodelay(true);
                    let i = self.free.pop().unwrap_or_else(|| {
                        self.pairs.push(None);
                        self.pairs.len() - 1
                    });
                    if self
                        .poll
                        .registry()
                        .register(
                            &mut client,
                            token(i, false),
                            Interest::READABLE | Interest::WRITABLE,
                        )
                        .is_err()
                    {
                        self.free.push(i);
                        continue;
                    }
                    let dial_at = Instant::now() + 3 * self.one_way;
                    self.pairs[i] = Some(Pair {
                        client,
                        server: None,
                        dial_at,
                        connected: false,
                        to_server: Lane::default(),
                        to_client: Lane::default(),
                    });
                    self.timers.push(Reverse((dial_at, i)));
                    self.pump(i);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // out of descriptors or the like: the client waits in the queue and is tried
                // again at the next event
                Err(_) => return,
            }
        }
    }

    /// Does all a pair can do now: dial when due, read what came (within the limit), write
    /// what is due; schedules its next moment; ends it when both streams ended or one failed.
    fn pump(&mut self, i: usize) {
        let Some(Some(pair)) = self.pairs.get_mut(i) else {
            return;
        };
        let now = Instant::now();
        let ok = (|| -> io::Result<()> {
            if pair.server.is_none() && now >= pair.dial_at {
                let mut s = TcpStream::connect(self.upstream)?;
                let _ = s.set_nodelay(true);
                self.poll.registry().register(
                    &mut s,
                    token(i, true),
                    Interest::READABLE | Interest::WRITABLE,
                )?;
                pair.server = Some(s);
            }
            if let Some(s) = &pair.server {
                if !pair.connected {
                    if let Some(e) = s.take_error()? {
                        return Err(e);
                    }
                    match s.peer_addr() {
                        Ok(_) => pair.connected = true,
                        Err(e) if e.kind() == io::ErrorKind::NotConnected => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            // what is due goes first (a lane drained below its limit is read again below); and
            // again while anything moved: with no delay, what was just read is due at once, and
            // a socket that never filled will not say it is writable again (edge-triggered)
            let due = now + self.one_way;
            loop {
                let mut moved = false;
                if let (Some(s), true) = (&mut pair.server, pair.connected) {
                    moved |= deliver(s, &mut pair.to_server, now)?;
                }
                moved |= deliver(&mut pair.client, &mut pair.to_client, now)?;
                // client to server: nothing reaches the server before the handshake would have
                moved |= read_into(
                    &mut pair.client,
                    &mut pair.to_server,
                    due.max(pair.dial_at),
                    &mut self.buf,
                )?;
                if let (Some(s), true) = (&mut pair.server, pair.connected) {
                    moved |= read_into(s, &mut pair.to_client, due, &mut self.buf)?;
                }
                if !moved {
                    return Ok(());
                }
            }
        })();
        let done = pair.to_server.delivered_end && pair.to_client.delivered_end;
        if ok.is_err() || done {
            let mut pair = self.pairs[i].take().expect("present");
            let _ = self.poll.registry().deregister(&mut pair.client);
            if let Some(s) = &mut pair.server {
                let _ = self.poll.registry().deregister(s);
            }
            if ok.is_err() {
                // a failure on one side is a reset on the other
                let _ = socket2::SockRef::from(&pair.client).set_linger(Some(Duration::ZERO));
                if let Some(s) = &pair.server {
                    let _ = socket2::SockRef::from(s).set_linger(Some(Duration::ZERO));
                }
            }
            self.free.push(i);
            return;
        }
        // the next moment something is due (a front already due waits for writability)
        let fronts = [&pair.to_server, &pair.to_client]
            .into_iter()
            .filter_map(|lane| lane.queue.front().map(|(at, _)| *at));
        let dial = pair.server.is_none().then_some(pair.dial_at);
        if let Some(at) = fronts.chain(dial).filter(|&at| at > now).min() {
            self.timers.push(Reverse((at, i)));
        }
    }
}

/// Reads what `from` has (while `lane` holds less than [`QUEUE_LIMIT`]) into `lane`, each chunk
/// due at `due`; whether it read anything (or the end).
fn read_into(
    from: &mut TcpStream,
    lane: &mut Lane,
    due: Instant,
    buf: &mut [u8],
) -> io::Result<bool> {
    let mut moved = false;
    while !lane.read_done && lane.bytes < QUEUE_LIMIT {
        match from.read(buf) {
            Ok(0) => {
                lane.read_done = true;
                lane.queue.push_back((due, Item::End));
                moved = true;
            }
            Ok(n) => {
                lane.bytes += n;
                lane.queue.push_back((due, Item::Bytes(buf[..n].to_vec())));
                moved = true;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(moved)
}

/// Writes to `to` what in `lane` is due, until the socket is full; whether it wrote anything
/// (or the end).
fn deliver(to: &mut TcpStream, lane: &mut Lane, now: Instant) -> io::Result<bool> {
    let mut moved = false;
    while let Some((at, item)) = lane.queue.front() {
        if *at > now {
            break;
        }
        match item {
            Item::End => {
                // the peer may have gone already: its end is as good as delivered
                let _ = to.shutdown(Shutdown::Write);
                lane.delivered_end = true;
                lane.queue.pop_front();
                moved = true;
            }
            Item::Bytes(b) => match to.write(&b[lane.written..]) {
                Ok(n) => {
                    moved = true;
                    lane.written += n;
                    if lane.written == b.len() {
                        lane.bytes -= b.len();
                        lane.written = 0;
                        lane.queue.pop_front();
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            },
        }
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener as StdListener, TcpStream as StdStream};

    /// An echo server on loopback: each connection's bytes back until it ends, then its end.
    fn echo() -> SocketAddr {
        let l = StdListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            for s in l.incoming().flatten() {
                std::thread::spawn(move || {
                    let mut r = s.try_clone().unwrap();
                    let mut w = s;
                    let _ = io::copy(&mut r, &mut w);
                    let _ = w.shutdown(Shutdown::Write);
                });
            }
        });
        addr
    }

    #[test]
    fn a_round_trip_takes_the_delay_both_ways_and_a_connection_one_and_a_half() {
        let one_way = Duration::from_millis(15);
        let relay = DelayRelay::start(echo(), one_way).unwrap();
        let mut s = StdStream::connect(relay.addr()).unwrap();
        s.set_nodelay(true).unwrap();
        let mut byte = [0u8; 1];
        // the first: the handshake's 1.5 round trips, then the way back
        let t = Instant::now();
        s.write_all(b"a").unwrap();
        s.read_exact(&mut byte).unwrap();
        let first = t.elapsed();
        assert!(first >= 4 * one_way, "the first byte back after {first:?}");
        for _ in 0..3 {
            let t = Instant::now();
            s.write_all(b"b").unwrap();
            s.read_exact(&mut byte).unwrap();
            let rtt = t.elapsed();
            assert!(rtt >= 2 * one_way, "a round trip of {rtt:?}");
            // a loaded machine may add to it, never take from it
            assert!(rtt < 2 * one_way + Duration::from_millis(500), "{rtt:?}");
        }
    }

    #[test]
    fn many_bytes_cross_whole_and_in_order_and_an_end_follows_them() {
        // with no delay too: where netem holds the packets, the relay only forwards
        for one_way in [Duration::from_millis(2), Duration::ZERO] {
            many_bytes(one_way);
        }
    }

    fn many_bytes(one_way: Duration) {
        let relay = DelayRelay::start(echo(), one_way).unwrap();
        let mut s = StdStream::connect(relay.addr()).unwrap();
        // more than the relay holds per direction, so its back pressure is used
        let sent: Vec<u8> = (0..(3 * QUEUE_LIMIT + 12_345))
            .map(|i| (i % 251) as u8)
            .collect();
        let mut w = s.try_clone().unwrap();
        let writer = {
            let sent = sent.clone();
            std::thread::spawn(move || {
                w.write_all(&sent).unwrap();
                w.shutdown(Shutdown::Write).unwrap();
            })
        };
        let mut got = Vec::new();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.read_to_end(&mut got).unwrap();
        writer.join().unwrap();
        assert_eq!(got.len(), sent.len());
        assert!(got == sent, "the bytes came back changed");
    }

    #[test]
    fn a_server_that_is_not_there_resets_the_client() {
        // a port nobody listens on: bound, then let go
        let gone = StdListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let relay = DelayRelay::start(gone, Duration::from_millis(1)).unwrap();
        let mut s = StdStream::connect(relay.addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let _ = s.write_all(b"GET / HTTP/1.1\r\n\r\n");
        let mut buf = [0u8; 16];
        match s.read(&mut buf) {
            Ok(0) => {}
            Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}"),
            Ok(n) => panic!("{n} bytes from nowhere"),
        }
    }
}
