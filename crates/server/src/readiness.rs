//! The readiness event loop shared by `select`, `poll` and `epoll`, behind the small
//! [`Selector`] trait, as mio does: one loop, several ways of asking the kernel what is ready.
//!
//! One thread owns its connections. Sockets are non-blocking; each connection is a
//! [`Driver`], whose steps map to interests: `Send` waits for room to write, `Recv` for input,
//! `Sleep` (a `/sleep` reply pending) for nothing but its timer. Deadlines (delays, header
//! deadlines, idle and write timeouts, lingering closes) sit in one [`Timers`] heap keyed by fd.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use swarmlab_http::Timers;

use crate::blocking::{accept_error, READ_CHUNK};
use crate::driver::{Driver, Step};
use crate::{Config, Stop};

/// What a connection waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interest {
    /// Nothing (a timer will wake it).
    None,
    /// The client closing its side (a `/sleep` reply pending: nothing more to read, but a
    /// client that left need not be waited for). `select(2)` cannot watch for this alone.
    Hangup,
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
    /// The client closed its side, or the connection failed (`EPOLLRDHUP`, `POLLRDHUP`,
    /// `HUP`, `ERR`).
    pub hangup: bool,
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
    driver: Driver,
}

/// The loop: a listener, the stop signal, the clients by fd, their deadlines.
pub struct Loop<S: Selector> {
    selector: S,
    cfg: Config,
    clients: Vec<Option<Client>>,
    timers: Timers<usize>,
    buf: Vec<u8>,
    open: usize,
    accept_batch: usize,
    /// Others share the listener: near its descriptor limit this loop leaves new connections
    /// to them.
    shared: bool,
    /// Connections this loop holds at most: its process's descriptor limit, less a few.
    max_open: usize,
    /// The listener is not watched until then (descriptors ran out, or, sharing, nearly).
    paused_until: Option<Instant>,
}

/// How long a loop out of descriptors leaves the listener alone before it tries again.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// Connections a loop that has the listener to itself accepts per wakeup: bounded, so a
/// connect storm cannot starve its clients.
const ACCEPT_BATCH: usize = 64;

impl<S: Selector> Loop<S> {
    /// A loop over `selector`, the only one on its listener.
    pub fn new(selector: S, cfg: &Config) -> Loop<S> {
        Loop {
            selector,
            cfg: cfg.clone(),
            clients: Vec::new(),
            timers: Timers::new(),
            buf: vec![0; READ_CHUNK],
            open: 0,
            accept_batch: ACCEPT_BATCH,
            shared: false,
            max_open: fd_limit().saturating_sub(16).max(1),
            paused_until: None,
        }
    }

    /// One of `loops` loops on one listener: with others, it takes one connection per wakeup
    /// (nginx's `multi_accept off`), so the first loop to wake does not take a batch of the
    /// waiting connections while another sleeps. Measured (`tests/models.rs`
    /// `every_design_spreads_connections_over_its_workers`: 4 loops, 400 waiting connections
    /// of 1 ms each): a batch of 64 left one loop 4 to 8 % of the work, one at a time 25 %
    /// each; with `Connection: close` on 2 loops it costs nothing measurable (wrk, 3 runs:
    /// 32.7k against 32.2k req/s), alone it would cost 5 %, so a loop alone keeps the batch.
    ///
    /// And, as nginx's workers do (`ngx_accept_disabled`), a loop that shares its listener
    /// and holds 7/8 of the connections its descriptors allow stops accepting until it is
    /// below 3/4, so that the others take the new ones instead of it meeting `EMFILE`: under a
    /// 100,000-connection ramp `procs` with 6 processes of 20,000 descriptors had its busiest
    /// process hit the limit while others held a few thousand.
    pub fn sharing(mut self, loops: usize) -> Loop<S> {
        if loops > 1 {
            self.accept_batch = 1;
            self.shared = true;
        }
        self
    }

    /// Whether this loop should leave new connections to the others sharing its listener:
    /// from 7/8 of what it may hold, and, once paused (`resuming`), until below 3/4.
    fn nearly_full(&self, resuming: bool) -> bool {
        let (num, den) = if resuming { (3, 4) } else { (7, 8) };
        self.shared && self.open * den >= self.max_open * num
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
            if let (Some(at), Some(_)) = (self.paused_until, &listener) {
                if now >= at {
                    if self.nearly_full(true) {
                        self.paused_until = Some(now + ACCEPT_PAUSE);
                    } else {
                        self.paused_until = None;
                        self.selector.set_listener(lfd)?;
                    }
                }
            }
            let until = [self.timers.next_deadline(), drain_until, self.paused_until]
                .into_iter()
                .flatten()
                .min();
            events.clear();
            self.selector
                .wait(until.map(|t| t.saturating_duration_since(now)), &mut events)?;
            let now = Instant::now();
            for ev in &events {
                if ev.fd == lfd {
                    if let Some(listener) = &listener {
                        if self.paused_until.is_none() && !self.accept(listener, now)? {
                            // out of descriptors, or nearly while others share the
                            // listener: the connections wait in the backlog (for the others)
                            self.selector.remove(lfd);
                            self.paused_until = Some(now + ACCEPT_PAUSE);
                        }
                    }
                } else if ev.fd == sfd {
                    if drain_until.is_none() {
                        if self.paused_until.take().is_none() {
                            self.selector.remove(lfd);
                        }
                        self.selector.remove(sfd);
                        listener = None;
                        drain_until = Some(now + self.cfg.drain_timeout);
                        self.shutdown_all(now);
                    }
                } else {
                    self.drive(ev.fd, ev.readable, ev.hangup, now);
                }
            }
            while let Some(fd) = self.timers.pop_due(now) {
                self.drive(fd as RawFd, false, false, now);
            }
            if let Some(limit) = drain_until {
                if self.open == 0 || now >= limit {
                    return Ok(());
                }
            }
        }
    }

    /// Accepts up to a batch of connections; `false` when the listener should be left alone
    /// for a while (descriptors ran out, or nearly, with others to take the connections).
    fn accept(&mut self, listener: &TcpListener, now: Instant) -> io::Result<bool> {
        for _ in 0..self.accept_batch {
            if self.nearly_full(false) {
                return Ok(false);
            }
            let stream = match listener.accept() {
                Ok((stream, _)) => stream,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
                Err(e) if out_of_descriptors(&e) => {
                    crate::log::warn_limited!("accept: {e}; not accepting for 100 ms");
                    return Ok(false);
                }
                Err(e) => return accept_error(e).map(|()| true),
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
            let driver = Driver::new(&self.cfg, now);
            self.timers.schedule(fd_index, driver.deadline());
            self.clients[fd_index] = Some(Client { stream, driver });
            self.open += 1;
        }
        Ok(true)
    }

    /// Shutdown began: idle connections close now, busy ones after their current response.
    fn shutdown_all(&mut self, now: Instant) {
        for fd in 0..self.clients.len() {
            if let Some(c) = &mut self.clients[fd] {
                c.driver.shutdown();
                self.drive(fd as RawFd, false, false, now);
            }
        }
    }

    /// Carries out the driver's steps until one must wait; reads at most once, and only if the
    /// selector said `readable` (level-triggered: more input means another event).
    fn drive(&mut self, fd: RawFd, readable: bool, hangup: bool, now: Instant) {
        let Some(client) = self.clients.get_mut(fd as usize).and_then(Option::as_mut) else {
            return;
        };
        let mut can_read = readable;
        let interest = loop {
            match client.driver.next(now) {
                Step::Send => match client.stream.write(client.driver.output()) {
                    Ok(n) if n > 0 => client.driver.sent(n, now),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Interest::Write,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Ok(_) | Err(_) => client.driver.eof(),
                },
                Step::Recv if !can_read => break Interest::Read,
                Step::Recv => {
                    can_read = false;
                    match client.stream.read(&mut self.buf) {
                        Ok(0) => client.driver.eof(),
                        Ok(n) => client.driver.received(&self.buf[..n], now),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Interest::Read,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(_) => client.driver.eof(),
                    }
                }
                // a client gone during a `/sleep`: its reply is abandoned, as a blocking
                // model's is (nothing more can be answered on a closed connection)
                Step::Sleep if hangup => client.driver.eof(),
                Step::Sleep => break Interest::Hangup,
                Step::ShutdownWrite => {
                    let _ = client.stream.shutdown(Shutdown::Write);
                }
                Step::Close => return self.close(fd),
            }
        };
        let deadline = client.driver.deadline();
        if self.selector.set(fd, interest).is_err() {
            return self.close(fd);
        }
        self.timers.schedule(fd as usize, deadline);
    }

    fn close(&mut self, fd: RawFd) {
        if let Some(client) = self.clients.get_mut(fd as usize).and_then(Option::take) {
            self.selector.remove(fd);
            self.timers.cancel(fd as usize);
            self.open -= 1;
            drop(client);
        }
    }
}

/// `EMFILE`/`ENFILE`: no descriptor for a new connection (it stays in the backlog).
fn out_of_descriptors(e: &io::Error) -> bool {
    e.raw_os_error().is_some_and(|n| {
        n == rustix::io::Errno::MFILE.raw_os_error() || n == rustix::io::Errno::NFILE.raw_os_error()
    })
}

/// This process's descriptor limit (`RLIMIT_NOFILE`, soft).
fn fd_limit() -> usize {
    rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .map_or(usize::MAX / 8, |n| {
            usize::try_from(n).unwrap_or(usize::MAX / 8)
        })
}
