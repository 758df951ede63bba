//! The readiness event loop shared by `select` (and later `poll` and `epoll`), behind the small
//! [`Selector`] trait, as mio does: one loop, several ways of asking the kernel what is ready.
//!
//! One thread owns every connection. Sockets are non-blocking; a connection is read only when
//! its output is fully written (backpressure), and while a `/sleep` reply is pending it is not
//! watched at all: a timer wakes it. Timers (delays, header deadlines, idle timeouts, lingering
//! closes) sit in one binary heap with at most a couple of entries per connection: an entry is
//! pushed only when a connection's deadline moves earlier than the one already queued.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use swarmlab_http::{Conn, Progress};

use crate::blocking::{accept_error, LINGER, READ_CHUNK};
use crate::{Config, Stop};

/// What a connection waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interest {
    /// Nothing (a timer will wake it).
    None,
    /// Input.
    Read,
    /// Room to write.
    Write,
}

/// One ready fd.
#[derive(Clone, Copy, Debug)]
pub struct Event {
    /// The fd.
    pub fd: RawFd,
    /// Readable, or hung up.
    pub readable: bool,
    /// Writable.
    pub writable: bool,
}

/// A way to wait for readiness: `select(2)`, `poll(2)`, `epoll(7)`.
pub trait Selector {
    /// Watches `fd` for `interest`, replacing any earlier interest.
    fn set(&mut self, fd: RawFd, interest: Interest) -> io::Result<()>;
    /// Watches the listener for connections. Selectors shared by several loops override this
    /// (epoll: `EPOLLEXCLUSIVE`, so one loop wakes per connection).
    fn set_listener(&mut self, fd: RawFd) -> io::Result<()> {
        self.set(fd, Interest::Read)
    }
    /// Stops watching `fd` (before it is closed).
    fn remove(&mut self, fd: RawFd);
    /// Waits up to `timeout` (forever if `None`) and appends the ready fds to `events`.
    fn wait(&mut self, timeout: Option<Duration>, events: &mut Vec<Event>) -> io::Result<()>;
}

struct Client {
    stream: TcpStream,
    conn: Conn,
    out: Vec<u8>,
    written: usize,
    /// A delayed reply is due then.
    wake: Option<Instant>,
    /// Closed on an error: discarding input until EOF or then.
    linger: Option<Instant>,
    /// The earliest timer entry queued for this client.
    queued: Option<Instant>,
    /// Tells this connection apart from an earlier one on the same fd.
    id: u64,
}

impl Client {
    fn due(&self) -> Option<Instant> {
        self.linger.or(self.wake).or_else(|| self.conn.deadline())
    }
}

/// What to do with a client after driving it.
enum Next {
    Keep(Interest),
    Close,
}

/// The loop: a listener, the stop signal, the clients, the timers.
pub struct Loop<S: Selector> {
    selector: S,
    cfg: Config,
    clients: Vec<Option<Client>>,
    timers: BinaryHeap<Reverse<(Instant, RawFd, u64)>>,
    next_id: u64,
    buf: Vec<u8>,
    open: usize,
}

impl<S: Selector> Loop<S> {
    /// A loop over `selector`.
    pub fn new(selector: S, cfg: &Config) -> Loop<S> {
        Loop {
            selector,
            cfg: *cfg,
            clients: Vec::new(),
            timers: BinaryHeap::new(),
            next_id: 0,
            buf: vec![0; READ_CHUNK],
            open: 0,
        }
    }

    /// Serves `listener` until shutdown, then drains (bounded) and returns.
    pub fn run(mut self, listener: TcpListener, stop: &Stop) -> io::Result<()> {
        listener.set_nonblocking(true)?;
        let lfd = listener.as_raw_fd();
        let sfd = stop.fd().as_raw_fd();
        self.selector.set_listener(lfd)?;
        self.selector.set(sfd, Interest::Read)?;
        let mut listener = Some(listener);
        let mut drain_until: Option<Instant> = None;
        let mut events = Vec::new();
        loop {
            let now = Instant::now();
            let next_timer = self.timers.peek().map(|Reverse((t, _, _))| *t);
            let until = match (next_timer, drain_until) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            events.clear();
            self.selector
                .wait(until.map(|t| t.saturating_duration_since(now)), &mut events)?;
            let now = Instant::now();
            for ev in &events {
                if ev.fd == lfd {
                    if let Some(listener) = &listener {
                        self.accept(listener)?;
                    }
                } else if ev.fd == sfd {
                    if drain_until.is_none() {
                        self.selector.remove(lfd);
                        self.selector.remove(sfd);
                        listener = None;
                        drain_until = Some(now + self.cfg.drain_timeout);
                        self.shutdown_all();
                    }
                } else {
                    self.drive(ev.fd, ev.readable, now);
                }
            }
            self.fire_timers(now);
            if let Some(limit) = drain_until {
                if self.open == 0 || now >= limit {
                    return Ok(());
                }
            }
        }
    }

    fn accept(&mut self, listener: &TcpListener) -> io::Result<()> {
        // Accept a bounded batch per wakeup so a connect storm cannot starve the clients.
        for _ in 0..64 {
            let stream = match listener.accept() {
                Ok((stream, _)) => stream,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return accept_error(e),
            };
            if stream.set_nonblocking(true).is_err() {
                continue;
            }
            let fd = stream.as_raw_fd();
            if self.selector.set(fd, Interest::Read).is_err() {
                continue;
            }
            let fd_index = fd as usize;
            if self.clients.len() <= fd_index {
                self.clients.resize_with(fd_index + 1, || None);
            }
            self.next_id += 1;
            let client = Client {
                stream,
                conn: Conn::new(self.cfg.http),
                out: Vec::new(),
                written: 0,
                wake: None,
                linger: None,
                queued: None,
                id: self.next_id,
            };
            self.clients[fd_index] = Some(client);
            self.open += 1;
            self.schedule(fd);
        }
        Ok(())
    }

    /// Shutdown began: idle connections close now, busy ones after their current response.
    fn shutdown_all(&mut self) {
        for fd in 0..self.clients.len() {
            let idle = match &mut self.clients[fd] {
                Some(c) => c.linger.is_none() && c.out.len() == c.written && c.conn.shutdown(),
                None => false,
            };
            if idle {
                self.close(fd as RawFd);
            } else if self.clients[fd].is_some() {
                self.schedule(fd as RawFd);
            }
        }
    }

    /// Reads if `readable` and the connection may read, then writes and advances it. Writability
    /// needs no flag: `pump` always tries to write what is pending.
    fn drive(&mut self, fd: RawFd, readable: bool, now: Instant) {
        let buf = &mut self.buf;
        let Some(client) = self.clients.get_mut(fd as usize).and_then(Option::as_mut) else {
            return;
        };
        let next = if client.linger.is_some() {
            discard(client, buf)
        } else {
            if readable && client.written == client.out.len() && client.wake.is_none() {
                match client.stream.read(buf) {
                    Ok(0) => return self.close(fd),
                    Ok(n) => client.conn.feed(&buf[..n], now),
                    Err(e) if is_transient(&e) => {}
                    Err(_) => return self.close(fd),
                }
            }
            pump(client, now)
        };
        self.apply(fd, next);
    }

    fn apply(&mut self, fd: RawFd, next: Next) {
        match next {
            Next::Close => self.close(fd),
            Next::Keep(interest) => {
                if self.selector.set(fd, interest).is_err() {
                    return self.close(fd);
                }
                self.schedule(fd);
            }
        }
    }

    /// Makes sure a timer entry is queued no later than the client's due time.
    fn schedule(&mut self, fd: RawFd) {
        let Some(client) = self.clients.get_mut(fd as usize).and_then(Option::as_mut) else {
            return;
        };
        if let Some(due) = client.due() {
            if client.queued.is_none_or(|q| due < q) {
                client.queued = Some(due);
                self.timers.push(Reverse((due, fd, client.id)));
            }
        }
    }

    fn fire_timers(&mut self, now: Instant) {
        while let Some(&Reverse((t, fd, id))) = self.timers.peek() {
            if t > now {
                return;
            }
            self.timers.pop();
            let Some(client) = self.clients.get_mut(fd as usize).and_then(Option::as_mut) else {
                continue;
            };
            if client.id != id || client.queued != Some(t) {
                continue; // stale: an earlier entry replaced it, or the fd was reused
            }
            client.queued = None;
            let next = match client.due() {
                Some(due) if due <= now => {
                    if client.linger.is_some() {
                        Next::Close
                    } else if client.wake.is_some() {
                        client.wake = None;
                        pump(client, now)
                    } else {
                        client.conn.on_timeout(&mut client.out);
                        pump(client, now)
                    }
                }
                _ => Next::Keep(interest_of(client)),
            };
            self.apply(fd, next);
        }
    }

    fn close(&mut self, fd: RawFd) {
        if let Some(client) = self.clients.get_mut(fd as usize).and_then(Option::take) {
            self.selector.remove(fd);
            self.open -= 1;
            drop(client);
        }
    }
}

/// Writes pending output, then lets the connection make progress, until it must wait.
fn pump(client: &mut Client, now: Instant) -> Next {
    loop {
        while client.written < client.out.len() {
            match client.stream.write(&client.out[client.written..]) {
                Ok(0) => return Next::Close,
                Ok(n) => client.written += n,
                Err(e) if is_transient(&e) => return Next::Keep(Interest::Write),
                Err(_) => return Next::Close,
            }
        }
        client.out.clear();
        client.written = 0;
        if client.wake.is_some_and(|w| w > now) {
            return Next::Keep(Interest::None);
        }
        client.wake = None;
        match client.conn.advance(&mut client.out, now) {
            Progress::NeedInput if client.out.is_empty() => return Next::Keep(Interest::Read),
            Progress::NeedInput | Progress::Flush => {}
            Progress::Wait(d) => client.wake = Some(now + d),
            Progress::Close => {
                if !flush_now(client) || !client.conn.wants_linger() {
                    return Next::Close;
                }
                let _ = client.stream.shutdown(Shutdown::Write);
                client.linger = Some(now + LINGER);
                return Next::Keep(Interest::Read);
            }
        }
    }
}

/// Writes the last response of a closing connection as far as the socket takes it now.
/// A closing client that cannot take it is not waited for.
fn flush_now(client: &mut Client) -> bool {
    while client.written < client.out.len() {
        match client.stream.write(&client.out[client.written..]) {
            Ok(n) if n > 0 => client.written += n,
            _ => return false,
        }
    }
    true
}

/// A lingering close: read and discard until EOF.
fn discard(client: &mut Client, buf: &mut [u8]) -> Next {
    loop {
        match client.stream.read(buf) {
            Ok(0) => return Next::Close,
            Ok(_) => {}
            Err(e) if is_transient(&e) => return Next::Keep(Interest::Read),
            Err(_) => return Next::Close,
        }
    }
}

fn interest_of(client: &Client) -> Interest {
    if client.written < client.out.len() {
        Interest::Write
    } else if client.wake.is_some() {
        Interest::None
    } else {
        Interest::Read
    }
}

fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}
