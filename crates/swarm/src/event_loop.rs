//! The one event loop of a worker thread (mio over epoll, wrk's shape), generic over where
//! its users' logic runs: the compiled program ([`crate::program_users`]) or a Python process
//! of user code ([`crate::process_users`]). Either way the loop does every request those users
//! make over [`crate::user_conn::UserConn`]s, and records into this thread's own [`Delta`],
//! handed to the aggregator once per unix second.
//!
//! The loop obeys the controller through [`crate::control::Control`]: a new run drops every
//! user, new per-class targets start and stop users (the controller paces the ramp), a flush
//! hands the delta over at once; the users decide what each of those means for them.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};
use swarmlab_http::Timers;

use crate::control::{OpenSchedule, Shared};
use crate::profile::{Failed, Failure};
use crate::stats::Delta;
use crate::tls::{Handshake, Stream};
use crate::user_conn::{Timeouts, UserConn};
use crate::workload::Workload;

/// Longest the loop sleeps before looking at the controls again.
const TICK: Duration = Duration::from_millis(20);
const READ_BUF: usize = 64 * 1024;
/// The alarm's token (connections' tokens are their slots; a process channel's is below).
const ALARM: Token = Token(usize::MAX);

/// What a kind of users does at each turn of the loop.
pub(crate) trait Users {
    /// A new run began (`core` has its workload, number and an empty delta): every user of the
    /// last one goes.
    fn new_run(&mut self, core: &mut Core, now: Instant);
    /// The open model's schedule changed mid-run.
    fn open_changed(&mut self, _core: &mut Core, _now: Instant) {}
    /// The controller's per-class targets changed: hold this thread's share of each, the
    /// users added starting spread over `start_over`.
    fn spawn_to(&mut self, core: &mut Core, targets: &[usize], start_over: Duration, now: Instant);
    /// Work due before the loop waits; the next time (besides timers) it must wake for.
    fn before_wait(&mut self, core: &mut Core, now: Instant) -> Option<Instant>;
    /// A readiness event of `token`.
    fn on_event(&mut self, core: &mut Core, event: &mio::event::Event, now: Instant);
    /// The timer of `key` went off.
    fn on_timer(&mut self, core: &mut Core, key: usize, now: Instant);
    /// Work due after the events and timers of one turn.
    fn after_events(&mut self, core: &mut Core, now: Instant);
    /// Requests in flight and users alive (published for the controller).
    fn counts(&self) -> (usize, usize);
    /// The run is over: anything to end before the last delta goes.
    fn exit(&mut self, _core: &mut Core) {}
}

/// What every worker thread has, whatever its users: the poll, the timers, the delta, the
/// controller's state as last read.
pub(crate) struct Core {
    /// Its place among the workers of the whole engine (across its processes), and their
    /// number: its share of the users and their numbers come from these.
    pub id: usize,
    pub threads: usize,
    /// Its index among this process's workers (the counters it publishes for the controller).
    pub slot: usize,
    pub shared: Arc<Shared>,
    /// The current run's workload and number, as last read from control.
    pub workload: Arc<Workload>,
    pub run: u64,
    targets_gen: u64,
    pub open: OpenSchedule,
    pub open_gen: u64,
    flush_gen: u64,
    pub poll: Poll,
    /// Open model: wakes the loop at a send's intended time to the microsecond (`epoll_wait`
    /// counts whole milliseconds, which made sends up to a millisecond late).
    alarm: Option<Alarm>,
    /// Per key (a user's or a connection's slot): its next deadline.
    pub timers: Timers<usize>,
    pub buf: Vec<u8>,
    pub delta: Delta,
    /// A delta has an entry per workload entry from the start (the compiled program), or
    /// grows as names come (a Python process's).
    fixed_entries: bool,
    /// Unix time at `base`, to stamp seconds without a syscall per request.
    base: Instant,
    base_unix: f64,
    /// Hosts looked up, by authority: `http://`'s, then `https://`'s (their default ports
    /// differ).
    dns: [std::collections::HashMap<String, SocketAddr>; 2],
}

impl Core {
    pub(crate) fn new(
        slot: usize,
        (id, threads): (usize, usize),
        shared: Arc<Shared>,
        fixed_entries: bool,
    ) -> io::Result<Core> {
        let base_unix = crate::clock::unix_now();
        let workload = shared.workload();
        let open = shared.control.open();
        let n = if fixed_entries {
            workload.entries.len()
        } else {
            0
        };
        let open_model = fixed_entries && open.rate.is_some();
        Ok(Core {
            id,
            threads,
            slot,
            workload,
            run: 0,
            targets_gen: 0,
            open,
            open_gen: 0,
            flush_gen: 0,
            poll: Poll::new()?,
            alarm: None,
            timers: Timers::new(),
            buf: vec![0; READ_BUF],
            delta: Delta::new(0, base_unix as u64, n, open_model),
            fixed_entries,
            base: Instant::now(),
            base_unix,
            dns: Default::default(),
            shared,
        })
    }

    /// This thread's share of `total` users.
    pub(crate) fn share(&self, total: usize) -> usize {
        (total + self.threads - 1 - self.id) / self.threads
    }

    /// The unix time at `t`.
    pub(crate) fn unix_at(&self, t: Instant) -> f64 {
        self.base_unix + t.saturating_duration_since(self.base).as_secs_f64()
    }

    /// The connect and read timeouts.
    pub(crate) fn timeouts(&self) -> Timeouts {
        Timeouts {
            connect: self.shared.plan.connect_timeout,
            read: self.shared.plan.timeout,
        }
    }

    fn fresh_delta(&self, second: u64) -> Delta {
        let n = if self.fixed_entries {
            self.workload.entries.len()
        } else {
            0
        };
        let open = self.fixed_entries && self.open.rate.is_some();
        Delta::new(self.run, second, n, open)
    }

    fn hand_over(&mut self, second: u64, tx: &Sender<Delta>) {
        let fresh = self.fresh_delta(second);
        let done = std::mem::replace(&mut self.delta, fresh);
        if !done.is_empty() {
            let _ = tx.send(done);
        }
    }

    /// Counts one request: its latency (and, in the open model, its service time) in
    /// microseconds, its body's length, its failure (with its client, whose words say it).
    pub(crate) fn record(
        &mut self,
        entry: usize,
        latency: u64,
        service: Option<u64>,
        content: u64,
        error: Option<Failed>,
        now: Instant,
    ) {
        let failed = error.is_some();
        self.delta.entry(entry).record(latency, content, failed);
        if let (Some(s), Some(us)) = (self.delta.service.get_mut(entry), service) {
            s.record(us, content, failed);
        }
        let unix_now = self.unix_at(now);
        self.delta.last_request = unix_now;
        self.shared
            .after_request(&mut self.delta, entry, error, unix_now);
    }

    /// Counts a connection's TLS handshake (once it is done).
    pub(crate) fn count_handshake(&mut self, handshake: Option<Handshake>) {
        match handshake {
            Some(Handshake::Full) => self.delta.handshakes.full += 1,
            Some(Handshake::Resumed) => self.delta.handshakes.resumed += 1,
            None => {}
        }
    }

    /// How long an answer's bytes waited in the socket before the loop read them.
    pub(crate) fn count_read_delay(
        &mut self,
        arrival: Option<crate::arrival::Arrival>,
        now: Instant,
    ) {
        if let Some(a) = arrival {
            self.delta.read_delay.record_delay(a.waited(now));
        }
    }

    /// The address of `authority` (looked up once per thread).
    pub(crate) fn resolve(&mut self, authority: &str, tls: bool) -> Result<SocketAddr, String> {
        if let Some(a) = self.dns[usize::from(tls)].get(authority) {
            return Ok(*a);
        }
        let addr = crate::url::lookup(authority, tls)?;
        self.dns[usize::from(tls)].insert(authority.to_string(), addr);
        Ok(addr)
    }

    /// A new connection to `addr` (from `source`, with TLS to `tls`'s name if given), in the
    /// poll as `slot`: its connect under way.
    pub(crate) fn open(
        &mut self,
        slot: usize,
        addr: SocketAddr,
        source: Option<std::net::IpAddr>,
        tls: Option<(Arc<rustls::ClientConfig>, &str)>,
        now: Instant,
    ) -> Result<UserConn<Stream>, Failure> {
        let made = connect(addr, source).and_then(|sock| Stream::new(sock, tls));
        let mut sock = made.map_err(|e| Failure::io(&e))?;
        self.poll
            .registry()
            .register(
                &mut sock,
                Token(slot),
                Interest::READABLE | Interest::WRITABLE,
            )
            .map_err(|e| Failure::io(&e))?;
        Ok(UserConn::connecting(sock, self.timeouts(), now))
    }

    /// Takes a connection out of the poll (it closes when dropped) and its timer away.
    pub(crate) fn close(&mut self, slot: usize, conn: &mut UserConn<Stream>) {
        let _ = self.poll.registry().deregister(conn.wire_mut());
        self.timers.cancel(slot);
    }

    /// Arms `slot`'s timer at the connection's deadline, if that changed.
    pub(crate) fn rearm(&mut self, slot: usize, conn: &mut UserConn<Stream>) {
        if let Some(at) = conn.take_deadline() {
            self.timers.schedule(slot, at);
        }
    }

    /// Picks up what the controller changed: a new run, a new open schedule, new targets, a
    /// flush.
    fn follow<U: Users>(&mut self, users: &mut U, tx: &Sender<Delta>, now: Instant) {
        let shared = Arc::clone(&self.shared);
        let control = &shared.control;
        // The run first: the controller publishes a run's schedule before its number, so a
        // worker that sees the new number also sees the new schedule.
        let run = control.run.load(Ordering::Acquire);
        let open_gen = control.open_gen.load(Ordering::Acquire);
        let open_changed = open_gen != self.open_gen;
        if open_changed {
            self.open_gen = open_gen;
            self.open = control.open();
            if self.fixed_entries && self.open.rate.is_some() && self.delta.service.is_empty() {
                self.delta.service = vec![Default::default(); self.workload.entries.len()];
            }
        }
        if run != self.run {
            // A new run: what was measured so far belongs to the old one.
            let done = std::mem::take(&mut self.delta);
            if !done.is_empty() {
                let _ = tx.send(done);
            }
            self.workload = shared.workload();
            self.run = run;
            self.delta = self.fresh_delta(self.unix_at(now) as u64);
            users.new_run(self, now);
        }
        if open_changed && self.open.rate.is_some() {
            users.open_changed(self, now);
        }
        let targets_gen = control.targets_gen.load(Ordering::Acquire);
        if targets_gen != self.targets_gen {
            self.targets_gen = targets_gen;
            let (targets, start_over) = control.targets();
            users.spawn_to(self, &targets, start_over, now);
        }
        let flush_gen = control.flush_gen.load(Ordering::Acquire);
        if flush_gen != self.flush_gen {
            self.flush_gen = flush_gen;
            self.hand_over(self.delta.second, tx);
            control.flushed[self.slot].store(flush_gen, Ordering::Release);
        }
    }

    /// How long to wait for events: until the next timer or `extra`, at most a tick; in the
    /// open model a short wait is kept by the alarm to the microsecond.
    fn wait(&mut self, extra: Option<Instant>, now: Instant) -> Duration {
        let next = self
            .timers
            .next_deadline()
            .into_iter()
            .chain(extra)
            .fold(now + TICK, Instant::min);
        let mut wait = next.saturating_duration_since(now);
        if self.open.rate.is_some() && !wait.is_zero() && wait < TICK {
            if self.alarm.is_none() {
                self.alarm = Alarm::new(&self.poll).ok();
            }
            if let Some(alarm) = self.alarm.as_mut() {
                if alarm.set(next, now) {
                    // the alarm wakes the loop; the timeout is the fallback
                    wait += Duration::from_millis(1);
                }
            }
        }
        wait
    }
}

/// Runs `users` on `core` until the controller says quit; hands over every delta, the last
/// one included.
pub(crate) fn run<U: Users>(mut core: Core, mut users: U, tx: &Sender<Delta>) {
    let mut events = Events::with_capacity(1024);
    let shared = Arc::clone(&core.shared);
    loop {
        let control = &shared.control;
        if control.quit.load(Ordering::Relaxed) {
            break;
        }
        let now = Instant::now();
        core.follow(&mut users, tx, now);
        let extra = users.before_wait(&mut core, now);
        let wait = core.wait(extra, now);
        if let Err(e) = core.poll.poll(&mut events, Some(wait)) {
            if e.kind() != io::ErrorKind::Interrupted {
                panic!("epoll_wait failed: {e}");
            }
        }
        let now = Instant::now();
        for ev in events.iter() {
            if ev.token() != ALARM {
                users.on_event(&mut core, ev, now);
            }
        }
        while let Some(key) = core.timers.pop_due(now) {
            users.on_timer(&mut core, key, now);
        }
        users.after_events(&mut core, now);
        let second = core.unix_at(now) as u64;
        if second != core.delta.second {
            core.hand_over(second, tx);
        }
        let (in_flight, alive) = users.counts();
        control.in_flight[core.slot].store(in_flight, Ordering::Relaxed);
        control.alive[core.slot].store(alive, Ordering::Relaxed);
    }
    users.exit(&mut core);
    let _ = tx.send(std::mem::take(&mut core.delta));
}

/// A non-blocking connect to `addr`, from `source` if given (its port picked at connect time,
/// `IP_BIND_ADDRESS_NO_PORT`, so each source address has a full ephemeral range per
/// destination).
pub(crate) fn connect(
    addr: SocketAddr,
    source: Option<std::net::IpAddr>,
) -> io::Result<mio::net::TcpStream> {
    let Some(ip) = source else {
        return mio::net::TcpStream::connect(addr);
    };
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.set_nonblocking(true)?;
    let _ = nix::sys::socket::setsockopt(
        &socket,
        nix::sys::socket::sockopt::IpBindAddressNoPort,
        &true,
    );
    socket.bind(&SocketAddr::new(ip, 0).into())?;
    match socket.connect(&addr.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::INPROGRESS.raw_os_error()) => {}
        Err(e) => return Err(e),
    }
    Ok(mio::net::TcpStream::from_std(socket.into()))
}

/// A timerfd in the worker's poll set: a wake-up at a precise time.
struct Alarm {
    fd: std::os::fd::OwnedFd,
    /// When it is set to go off.
    at: Option<Instant>,
}

impl Alarm {
    fn new(poll: &Poll) -> io::Result<Alarm> {
        use rustix::time::{timerfd_create, TimerfdClockId, TimerfdFlags};
        use std::os::fd::AsRawFd;
        let fd = timerfd_create(
            TimerfdClockId::Monotonic,
            TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
        )?;
        poll.registry().register(
            &mut mio::unix::SourceFd(&fd.as_raw_fd()),
            ALARM,
            Interest::READABLE,
        )?;
        Ok(Alarm { fd, at: None })
    }

    /// Sets it to go off at `at` (unless it already is); whether it is set. Setting it clears
    /// an earlier expiry, so it needs no read.
    fn set(&mut self, at: Instant, now: Instant) -> bool {
        use rustix::time::{timerfd_settime, Itimerspec, TimerfdTimerFlags, Timespec};
        if self.at == Some(at) {
            return true;
        }
        let d = at
            .saturating_duration_since(now)
            .max(Duration::from_micros(1));
        let spec = Itimerspec {
            it_interval: Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: Timespec {
                tv_sec: d.as_secs() as _,
                tv_nsec: d.subsec_nanos() as _,
            },
        };
        let ok = timerfd_settime(&self.fd, TimerfdTimerFlags::empty(), &spec).is_ok();
        self.at = ok.then_some(at);
        ok
    }
}
