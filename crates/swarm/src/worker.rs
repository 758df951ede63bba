//! One worker thread: an event loop (mio/epoll) that owns a share of the users, wrk's shape.
//!
//! A user is a small state machine over one keep-alive connection running its class's program
//! ([`crate::program`]): enter the class's task set (its `on_start` steps), pick a task (at
//! random by weight, or in order in a sequential set), send its pre-encoded requests one after
//! another (following redirects to the same host), judge and record each response, wait, pick
//! again; a task may enter a nested set or leave it (`self.interrupt()`, which runs the set's
//! `on_stop` steps). It reconnects when the server closes. A user that is stopped gracefully
//! runs the `on_stop` steps of the sets it is in, innermost first, as Locust does. In the open
//! model (`--rate`) each request goes out at an intended time from a fixed schedule and latency
//! counts from that time (coordinated omission corrected, as wrk2). Everything a worker measures goes into its own [`Delta`], handed to the aggregator
//! once per unix second.
//!
//! The worker obeys the controller through [`Control`]: per-class user targets (it keeps its
//! share of each, starting and stopping users at once: the controller paces the ramp), the
//! run number (a new run drops every user) and the open model's schedule.

use std::io::{self, Read, Write};
use std::sync::atomic::Ordering;
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpStream;

use crate::tls::{ClientTls, Handshake, Stream};
use mio::{Events, Interest, Poll, Token};
use swarmlab_http::Timers;

use crate::arrival::Arrival;
use crate::client::{self, io_error_string, Reader, Received, Response};
use crate::control::{OpenSchedule, Shared};
use crate::cookies::Jar;
use crate::profile::ClientProfile;
use crate::program::{RequestParts, Step, TaskRun, Verdict};
use crate::stats::Delta;
use crate::url::{is_https, join_url, split_url};
use crate::workload::Workload;

/// Longest the loop sleeps before looking at the controls again.
const TICK: Duration = Duration::from_millis(20);
/// A keep-alive connection idle this long is checked for a close before it is reused (a
/// syscall; connections in back-to-back use are not).
pub(crate) const CHECK_IDLE_AFTER: Duration = Duration::from_millis(50);
/// A send this late (open model) counts as behind schedule.
const LATE: Duration = Duration::from_millis(1);
const READ_BUF: usize = 64 * 1024;
/// Most of a body kept for a `catch_response` text check (the rest is counted, not kept).
const BODY_LIMIT: usize = 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum St {
    /// Waiting for its timer (or its turn) to send its next step.
    Waiting,
    Connecting,
    Sending,
    Receiving,
    /// No longer wanted; its slot may be reused.
    Retired,
}

/// Which steps a user is running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Running {
    /// A set's `on_start`.
    OnStart(usize),
    /// Task `task` of set `set`.
    Task { set: usize, task: usize },
    /// A set's `on_stop` (after an interrupt, or on the way out when stopping).
    OnStop(usize),
}

/// A task set a user is in, and its next task when the set is sequential.
#[derive(Clone, Copy, Debug)]
struct Frame {
    set: usize,
    next: usize,
}

struct User {
    class: usize,
    /// This user's own random stream (task picks, random waits): a run's choices depend on
    /// its seed only, not on the order in which responses arrive.
    rng: rand::rngs::SmallRng,
    sock: Option<Stream>,
    /// The TLS handshake of `sock` was counted (full or resumed).
    shaken: bool,
    state: St,
    /// The sets entered, innermost last.
    frames: Vec<Frame>,
    running: Running,
    /// The next step of `running`.
    pos: usize,
    /// Stopping gracefully: running `on_stop` steps before it retires.
    stopping: bool,
    /// When the current task started (for constant_pacing / constant_throughput).
    task_started: Instant,
    /// The request in flight when it is not the step's pre-encoded one (it carries the
    /// user's cookies, or it follows a redirect).
    hop: Option<Box<Hop>>,
    /// Its cookies (kept for a Locust class: [`UserClass::session`]).
    jar: Jar,
    /// `sock` is connected to another host than the class's (a redirect led there).
    elsewhere: bool,
    written: usize,
    reader: Reader,
    /// When the request started (closed model) or was due (open model): latency counts from
    /// here.
    intended: Instant,
    /// When the request actually went out (its connect included).
    sent: Instant,
    /// Open model: the next send was due before the last response came back, so it goes out
    /// late because the connection was busy (the server's doing), not the generator's.
    backlogged: bool,
    /// Open model: this user's next send, as a count of its own sends since `epoch`.
    seq: u64,
    /// Open model: the schedule `seq` counts in (it restarts when the rate changes).
    epoch: u64,
    /// Global user number.
    number: usize,
    /// It has taken its first step (a ramp's users wait their turn to start).
    started: bool,
}

/// A request of a user's own: the step's with the user's cookies, or a redirect's next hop.
struct Hop {
    bytes: Vec<u8>,
    /// Where it goes (`host[:port]`) and its path, for the cookies its response sets.
    authority: String,
    path: String,
    /// Its request, as the next redirect changes it.
    parts: RequestParts,
    /// Another host than the class's (or another scheme): its address and TLS name.
    elsewhere: Option<(std::net::SocketAddr, Option<String>)>,
    /// Redirects followed to get here.
    count: u8,
}

/// Where a connection goes: the class's host, or another one a redirect named.
type Dest = Option<(std::net::SocketAddr, Option<String>)>;

/// The `Host` of a pre-encoded request.
fn authority_of(request: &[u8]) -> &str {
    request
        .split(|&b| b == b'\n')
        .find_map(|l| l.strip_prefix(b"Host: "))
        .and_then(|h| std::str::from_utf8(h.trim_ascii_end()).ok())
        .unwrap_or("")
}

/// A non-blocking connect to `addr`, from `source` if given (its port picked at connect time,
/// `IP_BIND_ADDRESS_NO_PORT`, so each source address has a full ephemeral range per
/// destination).
pub(crate) fn connect(
    addr: std::net::SocketAddr,
    source: Option<std::net::IpAddr>,
) -> io::Result<TcpStream> {
    let Some(ip) = source else {
        return TcpStream::connect(addr);
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
    socket.bind(&std::net::SocketAddr::new(ip, 0).into())?;
    match socket.connect(&addr.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::INPROGRESS.raw_os_error()) => {}
        Err(e) => return Err(e),
    }
    Ok(TcpStream::from_std(socket.into()))
}

/// The alarm's token (users' tokens are their slots).
const ALARM: Token = Token(usize::MAX);

/// A timerfd in the worker's poll set: a wake-up at a precise time.
struct Alarm {
    fd: std::os::fd::OwnedFd,
    /// When it is set to go off.
    at: Option<Instant>,
}

impl Alarm {
    fn new(poll: &Poll) -> io::Result<Alarm> {
        use rustix::time::{timerfd_create, TimerfdClockId, TimerfdFlags};
        let fd = timerfd_create(
            TimerfdClockId::Monotonic,
            TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
        )?;
        use std::os::fd::AsRawFd;
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

/// The steps `running` names in a class of `workload`.
fn steps_of(workload: &Workload, class: usize, running: Running) -> &[Step] {
    let sets = &workload.classes[class].sets;
    match running {
        Running::OnStart(set) => &sets[set].on_start,
        Running::OnStop(set) => &sets[set].on_stop,
        Running::Task { set, task } => match &sets[set].tasks[task].run {
            TaskRun::Steps { steps, .. } => steps,
            TaskRun::Set(_) => &[],
        },
    }
}

/// What comes after a step list ends.
enum Next {
    /// Send the next step now.
    Now,
    /// Send it after this think time.
    Wait(Duration),
    /// The user is done (it stopped gracefully).
    Retire,
}

pub(crate) struct Worker {
    id: usize,
    threads: usize,
    shared: Arc<Shared>,
    /// The current run's workload, number and per-class targets, as last read from control.
    workload: Arc<Workload>,
    run: u64,
    targets_gen: u64,
    open: OpenSchedule,
    open_gen: u64,
    flush_gen: u64,
    /// Retired users' slots, to reuse.
    free: Vec<usize>,
    poll: Poll,
    /// Open model: wakes the loop at a send's intended time to the microsecond (`epoll_wait`
    /// counts whole milliseconds, which made sends up to a millisecond late).
    alarm: Option<Alarm>,
    users: Vec<User>,
    /// Per user: when to start its next task, or when its connect or request times out.
    timers: Timers<usize>,
    ready: Vec<usize>,
    buf: Vec<u8>,
    delta: Delta,
    /// The run's seed, and the users this worker has added: the `n`th user's stream is seeded
    /// from (seed, worker, n), the same in every run with that seed.
    seed: u64,
    added: u64,
    /// Unix time at `base`, to stamp seconds without a syscall per request.
    base: Instant,
    base_unix: f64,
    in_flight: usize,
    /// Users not retired (published for the controller's stop).
    alive: usize,
    /// Other hosts redirects led to, by authority and scheme.
    dns: std::collections::HashMap<(String, bool), std::net::SocketAddr>,
}

impl Worker {
    pub(crate) fn new(id: usize, threads: usize, shared: Arc<Shared>) -> io::Result<Worker> {
        let base_unix = crate::clock::unix_now();
        let workload = shared.workload();
        let open = shared.control.open();
        let n = workload.entries.len();
        Ok(Worker {
            id,
            threads,
            workload,
            run: 0,
            targets_gen: 0,
            open,
            open_gen: 0,
            flush_gen: 0,
            free: Vec::new(),
            alarm: None,
            poll: Poll::new()?,
            users: Vec::new(),
            timers: Timers::new(),
            ready: Vec::new(),
            buf: vec![0; READ_BUF],
            delta: Delta::new(0, base_unix as u64, n, open.rate.is_some()),
            seed: shared.plan.seed.unwrap_or_default(),
            added: 0,
            base: Instant::now(),
            base_unix,
            in_flight: 0,
            alive: 0,
            dns: std::collections::HashMap::new(),
            shared,
        })
    }

    /// Runs until the controller says quit; hands over every delta, the last one included.
    pub(crate) fn run(mut self, tx: &Sender<Delta>) {
        let mut events = Events::with_capacity(1024);
        let shared = Arc::clone(&self.shared);
        loop {
            let control = &shared.control;
            if control.quit.load(Ordering::Relaxed) {
                break;
            }
            let now = Instant::now();
            self.follow(&shared, tx, now);
            self.start_ready();
            let next = self
                .timers
                .next_deadline()
                .map_or(now + TICK, |t| t.min(now + TICK));
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
            if let Err(e) = self.poll.poll(&mut events, Some(wait)) {
                if e.kind() != io::ErrorKind::Interrupted {
                    panic!("epoll_wait failed: {e}");
                }
            }
            let now = Instant::now();
            for ev in events.iter() {
                if ev.token() != ALARM {
                    self.on_event(ev.token().0, now);
                }
            }
            self.fire_timers(now);
            self.start_ready();
            self.flush_if_new_second(now, tx);
            control.in_flight[self.id].store(self.in_flight, Ordering::Relaxed);
            control.alive[self.id].store(self.alive, Ordering::Relaxed);
        }
        let _ = tx.send(std::mem::take(&mut self.delta));
    }

    /// Picks up what the controller changed: a new run, new targets, a new open schedule.
    fn follow(&mut self, shared: &Shared, tx: &Sender<Delta>, now: Instant) {
        let control = &shared.control;
        // The run first: the controller publishes a run's schedule before its number, so a
        // worker that sees the new number also sees the new schedule.
        let run = control.run.load(Ordering::Acquire);
        let open_gen = control.open_gen.load(Ordering::Acquire);
        let open_changed = open_gen != self.open_gen;
        if open_changed {
            self.open_gen = open_gen;
            self.open = control.open();
            if self.open.rate.is_some() && self.delta.service.is_empty() {
                self.delta.service = vec![Default::default(); self.workload.entries.len()];
            }
        }
        if run != self.run {
            // A new run: what was measured so far belongs to the old one.
            let done = std::mem::take(&mut self.delta);
            if !done.is_empty() {
                let _ = tx.send(done);
            }
            for idx in 0..self.users.len() {
                self.retire(idx);
            }
            self.users.clear();
            self.free.clear();
            self.alive = 0;
            self.ready.clear();
            self.workload = shared.workload();
            self.run = run;
            self.delta = self.fresh_delta(self.unix_at(now) as u64);
        }
        if open_changed && self.open.rate.is_some() {
            // the rate changed mid-run: waiting users move to the new schedule
            for idx in 0..self.users.len() {
                if self.users[idx].state == St::Waiting {
                    self.schedule_open(idx, now);
                }
            }
        }
        let targets_gen = control.targets_gen.load(Ordering::Acquire);
        if targets_gen != self.targets_gen {
            self.targets_gen = targets_gen;
            let (targets, start_over) = control.targets();
            self.spawn_to(&targets, start_over, now);
        }
        let flush_gen = control.flush_gen.load(Ordering::Acquire);
        if flush_gen != self.flush_gen {
            self.flush_gen = flush_gen;
            let fresh = self.fresh_delta(self.delta.second);
            let done = std::mem::replace(&mut self.delta, fresh);
            if !done.is_empty() {
                let _ = tx.send(done);
            }
            control.flushed[self.id].store(flush_gen, Ordering::Release);
        }
    }

    fn fresh_delta(&self, second: u64) -> Delta {
        let n = self.workload.entries.len();
        Delta::new(self.run, second, n, self.open.rate.is_some())
    }

    fn unix_at(&self, t: Instant) -> f64 {
        self.base_unix + t.saturating_duration_since(self.base).as_secs_f64()
    }

    fn flush_if_new_second(&mut self, now: Instant, tx: &Sender<Delta>) {
        let second = self.unix_at(now) as u64;
        if second != self.delta.second {
            let fresh = self.fresh_delta(second);
            let done = std::mem::replace(&mut self.delta, fresh);
            if !done.is_empty() {
                let _ = tx.send(done);
            }
        }
    }

    /// Starts or stops users so this thread holds its share of each class's target. Users
    /// added start spread evenly over `start_over`. Users stop at once, a request in flight
    /// abandoned (as Locust kills a user's greenlet), then run their `on_stop` steps if their
    /// class has any; idle users go first.
    fn spawn_to(&mut self, targets: &[usize], start_over: Duration, now: Instant) {
        for (class, &total) in targets.iter().enumerate() {
            let mine = (total + self.threads - 1 - self.id) / self.threads;
            let live: Vec<usize> = (0..self.users.len())
                .filter(|&i| {
                    let u = &self.users[i];
                    u.class == class && u.state != St::Retired && !u.stopping
                })
                .collect();
            if live.len() > mine {
                let mut excess = live.len() - mine;
                for pass_idle in [true, false] {
                    for &idx in live.iter().rev() {
                        if excess == 0 {
                            break;
                        }
                        let u = &self.users[idx];
                        if u.state != St::Retired
                            && !u.stopping
                            && (u.state == St::Waiting) == pass_idle
                        {
                            self.stop_user(idx, now);
                            excess -= 1;
                        }
                    }
                }
            }
            let adding = mine.saturating_sub(live.len());
            for j in 0..adding {
                let start = now + start_over.mul_f64(j as f64 / adding as f64);
                self.add_user(class, now, start);
            }
        }
    }

    /// Adds a user of `class` that starts at `start` (its first step then).
    fn add_user(&mut self, class: usize, now: Instant, start: Instant) {
        let idx = self.free.pop().unwrap_or(self.users.len());
        self.added += 1;
        let stream = (self.id as u64) << 40 | self.added;
        let user = User {
            class,
            rng: rand::SeedableRng::seed_from_u64(
                self.seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15),
            ),
            sock: None,
            shaken: false,
            state: St::Waiting,
            frames: vec![Frame { set: 0, next: 0 }],
            running: Running::OnStart(0),
            pos: 0,
            stopping: false,
            task_started: now,
            hop: None,
            jar: Jar::default(),
            elsewhere: false,
            written: 0,
            reader: Reader::new(false),
            intended: now,
            sent: now,
            backlogged: false,
            seq: 0,
            epoch: self.open_gen,
            number: self.id + idx * self.threads,
            started: false,
        };
        if idx == self.users.len() {
            self.users.push(user);
        } else {
            self.users[idx] = user;
        }
        self.alive += 1;
        match self.open.rate {
            Some(_) => self.schedule_open(idx, now),
            None if start > now => self.set_timer(idx, Some(start)),
            None => self.ready.push(idx),
        }
    }

    /// Stops a user gracefully: a request in flight is abandoned; the `on_stop` steps of the
    /// sets it is in run (innermost first), then it retires.
    fn stop_user(&mut self, idx: usize, now: Instant) {
        let class = &self.workload.classes[self.users[idx].class];
        let u = &self.users[idx];
        if !u.started {
            // still waiting for its start: it never ran, so it has nothing to end
            return self.retire(idx);
        }
        let has_on_stop = u
            .frames
            .iter()
            .any(|f| !class.sets[f.set].on_stop.is_empty());
        if !has_on_stop {
            return self.retire(idx);
        }
        self.abandon(idx);
        let u = &mut self.users[idx];
        u.stopping = true;
        let top = u.frames.last().expect("a user is in a set").set;
        u.running = Running::OnStop(top);
        u.pos = 0;
        u.state = St::Waiting;
        self.timers.cancel(idx);
        let _ = now;
        self.ready.push(idx);
    }

    /// Drops the request in flight, if any (not recorded).
    fn abandon(&mut self, idx: usize) {
        let u = &mut self.users[idx];
        if matches!(u.state, St::Connecting | St::Sending | St::Receiving) {
            self.in_flight -= 1;
            u.sock = None;
            u.hop = None;
        }
    }

    /// Stops a user now, `on_stop` or not: its connection closes and a request in flight is
    /// abandoned.
    fn retire(&mut self, idx: usize) {
        if self.users[idx].state == St::Retired {
            return;
        }
        self.abandon(idx);
        let u = &mut self.users[idx];
        u.state = St::Retired;
        u.sock = None;
        self.timers.cancel(idx);
        self.free.push(idx);
        self.alive -= 1;
    }

    fn start_ready(&mut self) {
        while let Some(idx) = self.ready.pop() {
            self.start_step(idx);
        }
    }

    fn next_rand(&mut self, idx: usize) -> u64 {
        rand::Rng::next_u64(&mut self.users[idx].rng)
    }

    /// The steps `running` names.
    fn steps(&self, class: usize, running: Running) -> &[Step] {
        steps_of(&self.workload, class, running)
    }

    /// The step the user sends next, if its current list has one left.
    fn current(&self, idx: usize) -> Option<&Step> {
        let u = &self.users[idx];
        self.steps(u.class, u.running).get(u.pos)
    }

    /// Picks the next task of the innermost set (entering nested sets), `now`.
    fn pick(&mut self, idx: usize, now: Instant) {
        let rand = self.next_rand(idx);
        let u = &mut self.users[idx];
        let sets = &self.workload.classes[u.class].sets;
        let frame = u.frames.last_mut().expect("a user is in a set");
        let set = &sets[frame.set];
        let task = if set.sequential {
            let t = frame.next % set.tasks.len();
            frame.next = t + 1;
            t
        } else if set.tasks.len() == 1 {
            0
        } else {
            let total: u64 = set.tasks.iter().map(|t| u64::from(t.weight)).sum();
            let mut roll = rand % total.max(1);
            let mut pick = 0;
            for (i, t) in set.tasks.iter().enumerate() {
                if roll < u64::from(t.weight) {
                    pick = i;
                    break;
                }
                roll -= u64::from(t.weight);
            }
            pick
        };
        let set_index = frame.set;
        match &set.tasks[task].run {
            TaskRun::Set(child) => {
                u.frames.push(Frame {
                    set: *child,
                    next: 0,
                });
                u.running = Running::OnStart(*child);
            }
            TaskRun::Steps { .. } => {
                u.running = Running::Task {
                    set: set_index,
                    task,
                }
            }
        }
        u.pos = 0;
        u.task_started = now;
    }

    /// The current step list is done: moves the program on.
    fn advance(&mut self, idx: usize, now: Instant) -> Next {
        let class = &self.workload.classes[self.users[idx].class];
        let u = &mut self.users[idx];
        match u.running {
            Running::OnStart(_) => {
                self.pick(idx, now);
                Next::Now
            }
            Running::Task { set, task } => {
                let interrupt = matches!(
                    class.sets[set].tasks[task].run,
                    TaskRun::Steps {
                        interrupt: true,
                        ..
                    }
                );
                if interrupt && u.frames.len() > 1 {
                    // leave the set: its on_stop, then the parent's next task at once
                    u.running = Running::OnStop(set);
                    u.pos = 0;
                    return Next::Now;
                }
                let wait = class.sets[set].wait.unwrap_or(class.wait);
                let unit = (self.next_rand(idx) >> 11) as f64 / (1u64 << 53) as f64;
                let took = now.saturating_duration_since(self.users[idx].task_started);
                self.pick(idx, now);
                Next::Wait(wait.after(took, unit))
            }
            Running::OnStop(_) => {
                u.frames.pop();
                if u.stopping {
                    match u.frames.last() {
                        Some(f) => {
                            u.running = Running::OnStop(f.set);
                            u.pos = 0;
                            Next::Now
                        }
                        None => Next::Retire,
                    }
                } else if u.frames.is_empty() {
                    Next::Retire
                } else {
                    self.pick(idx, now);
                    Next::Now
                }
            }
        }
    }

    /// Sends the user's next step, moving its program on over finished lists and task-set
    /// changes first; or starts its think time; or retires it.
    fn start_step(&mut self, idx: usize) {
        // The batch's time may be stale by the time this user's turn comes: read the clock.
        let now = Instant::now();
        if self.shared.control.draining.load(Ordering::Relaxed)
            || self.users.get(idx).is_none_or(|u| u.state != St::Waiting)
        {
            return;
        }
        self.users[idx].started = true;
        // Lists may be empty (a task of only self.interrupt()); a user's program always comes
        // back to a step or a wait within a few turns, but do not spin on a workload without
        // steps.
        for _ in 0..64 {
            if self.current(idx).is_some() {
                return self.send_step(idx, now);
            }
            match self.advance(idx, now) {
                Next::Now => {}
                Next::Wait(d) if d.is_zero() || self.open.rate.is_some() => {}
                Next::Wait(d) => return self.set_timer(idx, Some(now + d)),
                Next::Retire => return self.retire(idx),
            }
        }
        self.retire(idx);
    }

    fn send_step(&mut self, idx: usize, now: Instant) {
        let open = self.open.rate.is_some();
        let reader = self.reader_for(idx);
        let hop = self.with_cookies(idx);
        let u = &mut self.users[idx];
        u.written = 0;
        u.hop = hop;
        u.reader = reader;
        if now.saturating_duration_since(u.sent) >= CHECK_IDLE_AFTER
            && u.sock.as_ref().is_some_and(Stream::closed_by_peer)
        {
            u.sock = None; // the server let it go while it was idle: a fresh one
        }
        if u.elsewhere {
            // a redirect left the connection on another host
            u.sock = None;
            u.elsewhere = false;
        }
        u.sent = now;
        if !open {
            u.intended = now;
        } else if !u.backlogged && now.saturating_duration_since(u.intended) > LATE {
            // free at its intended time, yet sent late: the generator fell behind
            self.delta.late_sends += 1;
        }
        self.in_flight += 1;
        self.connect_and_send(idx, None, now);
    }

    /// The reader for the current step's response.
    fn reader_for(&self, idx: usize) -> Reader {
        let step = self.current(idx).expect("a step in flight");
        let reader = if step.reads_body() {
            Reader::capturing(step.head, BODY_LIMIT)
        } else {
            Reader::new(step.head)
        };
        if self.workload.classes[self.users[idx].class].session {
            reader.session()
        } else {
            reader
        }
    }

    /// The current step's request with the user's cookies, if any apply to it.
    fn with_cookies(&self, idx: usize) -> Option<Box<Hop>> {
        let u = &self.users[idx];
        if u.jar.is_empty() {
            return None;
        }
        let class = &self.workload.classes[u.class];
        let step = self.current(idx)?;
        if step
            .parts
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("cookie"))
        {
            return None; // a Cookie the request sets itself wins, as in python-requests
        }
        let authority = authority_of(&step.request);
        let cookie = u
            .jar
            .header(authority, &step.parts.path, class.tls.is_some())?;
        let mut parts = step.parts.clone();
        parts.headers.push(("Cookie".into(), cookie));
        let bytes = parts.encode(authority);
        parts.headers.pop(); // the hop keeps the request as written: the jar decides each hop's
        Some(Box::new(Hop {
            bytes,
            authority: authority.to_string(),
            path: step.parts.path.clone(),
            parts,
            elsewhere: None,
            count: 0,
        }))
    }

    /// Sends the current request on the user's connection, connecting first (to the class's
    /// host, or to `dest`) if it has none.
    fn connect_and_send(&mut self, idx: usize, dest: Dest, now: Instant) {
        if self.users[idx].sock.is_some() {
            self.users[idx].state = St::Sending;
            return self.send(idx, now);
        }
        let source = match self.shared.plan.source_addrs.as_slice() {
            [] => None,
            addrs => Some(addrs[self.users[idx].number % addrs.len()]),
        };
        let class = &self.workload.classes[self.users[idx].class];
        let (addr, name) = match &dest {
            Some((addr, name)) => (*addr, name.as_deref()),
            None => (class.addr, class.tls.as_deref()),
        };
        let tls = name.map(|name| {
            let tls = self
                .shared
                .plan
                .tls
                .clone()
                .unwrap_or_else(ClientTls::shared_default);
            (tls.config(false, class.tls_verify), name)
        });
        match connect(addr, source).and_then(|sock| Stream::new(sock, tls)) {
            Ok(mut sock) => {
                let token = Token(idx);
                if let Err(e) = self.poll.registry().register(
                    &mut sock,
                    token,
                    Interest::READABLE | Interest::WRITABLE,
                ) {
                    return self.fail(idx, io_error_string(&e), now);
                }
                let u = &mut self.users[idx];
                u.sock = Some(sock);
                u.shaken = false;
                u.state = St::Connecting;
                self.set_timer(idx, Some(now + self.shared.plan.connect_timeout));
            }
            Err(e) => self.fail(idx, io_error_string(&e), now),
        }
    }

    fn on_event(&mut self, idx: usize, now: Instant) {
        let Some(u) = self.users.get_mut(idx) else {
            return;
        };
        if u.state != St::Connecting {
            // TLS records the socket did not take last time
            if let Some(Err(e)) = u.sock.as_mut().map(Stream::pump) {
                return self.fail(idx, io_error_string(&e), now);
            }
        }
        match u.state {
            St::Connecting => {
                let sock = u.sock.as_ref().expect("connecting user has a socket").tcp();
                match sock.take_error() {
                    Ok(Some(e)) | Err(e) => return self.fail(idx, io_error_string(&e), now),
                    Ok(None) => {}
                }
                match sock.peer_addr() {
                    Ok(_) => {
                        let _ = sock.set_nodelay(true);
                        self.users[idx].state = St::Sending;
                        self.send(idx, now);
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => {}
                    Err(e) => self.fail(idx, io_error_string(&e), now),
                }
            }
            St::Sending => self.send(idx, now),
            St::Receiving => self.receive(idx, now),
            St::Waiting | St::Retired => self.idle_event(idx),
        }
    }

    /// An idle keep-alive connection became readable: the server closed it (or misbehaved).
    fn idle_event(&mut self, idx: usize) {
        let Some(sock) = self.users[idx].sock.as_mut() else {
            return;
        };
        match sock.read(&mut self.buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            _ => self.users[idx].sock = None,
        }
    }

    fn send(&mut self, idx: usize, now: Instant) {
        let u = &mut self.users[idx];
        let request: &[u8] = match &u.hop {
            Some(hop) => &hop.bytes,
            None => &steps_of(&self.workload, u.class, u.running)[u.pos].request,
        };
        let sock = u.sock.as_mut().expect("sending user has a socket");
        while u.written < request.len() {
            match sock.write(&request[u.written..]) {
                Ok(n) => u.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.fail(idx, io_error_string(&e), now),
            }
        }
        u.state = St::Receiving;
        let deadline = u.sent + self.shared.plan.timeout;
        self.set_timer(idx, Some(deadline));
    }

    /// The client whose rules and words the user's current request has (a scenario's
    /// requests: python-requests').
    fn profile(&self, idx: usize) -> ClientProfile {
        let u = &self.users[idx];
        match steps_of(&self.workload, u.class, u.running)
            .get(u.pos)
            .map(|s| &s.verdict)
        {
            Some(Verdict::Client(client)) => *client,
            _ => ClientProfile::Http,
        }
    }

    fn receive(&mut self, idx: usize, now: Instant) {
        let u = &mut self.users[idx];
        let sock = u.sock.as_mut().expect("receiving user has a socket");
        match client::receive(sock, &mut u.reader, &mut self.buf) {
            Received::Response(resp, arrival) => self.complete(idx, resp, arrival),
            Received::Failed(failure) => {
                let said = self.profile(idx).say(&failure);
                self.fail(idx, said, now)
            }
            Received::Later => {}
        }
    }

    fn complete(&mut self, idx: usize, resp: Response, arrival: Option<Arrival>) {
        let now = Instant::now();
        if let Some(a) = arrival {
            self.delta.read_delay.record_delay(a.waited(now));
        }
        self.count_handshake(idx);
        if resp.close {
            self.users[idx].sock = None;
        }
        self.keep_cookies(idx, &resp);
        match self.redirect(idx, &resp) {
            Some(Ok(hop)) => {
                // the same step goes on at the new location: one request in the statistics
                let reader = self.reader_for(idx);
                let u = &mut self.users[idx];
                let dest = hop.elsewhere.clone();
                if dest.is_some() || u.elsewhere {
                    u.sock = None;
                }
                u.elsewhere = dest.is_some();
                u.hop = Some(hop);
                u.written = 0;
                u.reader = reader;
                return self.connect_and_send(idx, dest, now);
            }
            Some(Err(error)) => return self.finish(idx, resp.content, Some(error), now),
            None => {}
        }
        let step = self.current(idx).expect("a step in flight");
        let name = &self.workload.entries[step.entry].name;
        let error = match resp.decode_error {
            Some(e) => Some(e),
            None => step.judge(resp.status, &resp.body, name),
        };
        self.finish(idx, resp.content, error, now);
    }

    /// The request in flight: where it went and what it is (the step's, or its own hop's).
    fn in_flight_request(&self, idx: usize) -> Option<(&str, &str, &RequestParts)> {
        match &self.users[idx].hop {
            Some(h) => Some((&h.authority, &h.path, &h.parts)),
            None => {
                let step = self.current(idx)?;
                Some((authority_of(&step.request), &step.parts.path, &step.parts))
            }
        }
    }

    /// A Locust class's user keeps the cookies a response sets.
    fn keep_cookies(&mut self, idx: usize, resp: &Response) {
        if resp.set_cookies.is_empty() {
            return;
        }
        let Some((authority, path, _)) = self.in_flight_request(idx) else {
            return;
        };
        let (authority, path) = (authority.to_string(), path.to_string());
        let jar = &mut self.users[idx].jar;
        for c in &resp.set_cookies {
            jar.store(c, &authority, &path);
        }
    }

    /// The next hop, if this response is a redirect (301, 302, 303, 307 or 308 with a
    /// Location) the step follows: to any host, the method and body changed as the class's
    /// client changes them, `Authorization` dropped on another origin, the user's cookies for
    /// the new place; past 30 hops, the client's error.
    fn redirect(&mut self, idx: usize, resp: &Response) -> Option<Result<Box<Hop>, String>> {
        let step = self.current(idx)?;
        if !step.follow_redirects || !matches!(resp.status, 301 | 302 | 303 | 307 | 308) {
            return None;
        }
        let location = resp.location.as_deref()?;
        let profile = match step.verdict {
            Verdict::Client(client) => client,
            Verdict::Codes(_) => ClientProfile::Http,
        };
        let class = &self.workload.classes[self.users[idx].class];
        let u = &self.users[idx];
        let count = u.hop.as_ref().map_or(0, |h| h.count);
        let (authority, path, parts) = self.in_flight_request(idx)?;
        let tls = match u.hop.as_deref() {
            Some(Hop {
                elsewhere: Some((_, name)),
                ..
            }) => name.is_some(),
            _ => class.tls.is_some(),
        };
        let here = format!("{}://{authority}{path}", if tls { "https" } else { "http" });
        if count >= ClientProfile::MAX_REDIRECTS {
            return Some(Err(profile.too_many_redirects(&here)));
        }
        let next = join_url(&here, location);
        let next_tls = is_https(&next);
        let (next_authority, next_path) = match split_url(&next) {
            Ok(v) => v,
            Err(e) => return Some(Err(e)),
        };
        let mut parts = parts.clone();
        parts.path.clone_from(&next_path);
        let method = profile.redirect_method(resp.status, &parts.method);
        let to_get = method != parts.method;
        parts.method = method;
        if profile.redirect_drops_body(resp.status, to_get) {
            parts.body = None;
            parts.headers.retain(|(k, _)| {
                !k.eq_ignore_ascii_case("content-type")
                    && !k.eq_ignore_ascii_case("transfer-encoding")
            });
        }
        if next_authority != authority || next_tls != tls {
            parts
                .headers
                .retain(|(k, _)| !k.eq_ignore_ascii_case("authorization"));
        }
        // the jar decides the Cookie of every hop (python-requests drops the one it had)
        parts
            .headers
            .retain(|(k, _)| !k.eq_ignore_ascii_case("cookie"));
        let mut sent = parts.clone();
        if let Some(cookie) = u.jar.header(&next_authority, &next_path, next_tls) {
            sent.headers.push(("Cookie".into(), cookie));
        }
        let home = next_authority == authority_of(&step.request) && next_tls == class.tls.is_some();
        let elsewhere = if home {
            None
        } else {
            let addr = match self.lookup(&next_authority, next_tls) {
                Ok(a) => a,
                Err(e) => return Some(Err(e)),
            };
            Some((
                addr,
                next_tls.then(|| crate::target::host_of(&next_authority).to_string()),
            ))
        };
        Some(Ok(Box::new(Hop {
            bytes: sent.encode(&next_authority),
            authority: next_authority,
            path: next_path,
            parts,
            elsewhere,
            count: count + 1,
        })))
    }

    /// The address of another host a redirect named (looked up once per worker).
    fn lookup(&mut self, authority: &str, tls: bool) -> Result<std::net::SocketAddr, String> {
        let key = (authority.to_string(), tls);
        if let Some(a) = self.dns.get(&key) {
            return Ok(*a);
        }
        let addr = crate::url::lookup(authority, tls)?;
        self.dns.insert(key, addr);
        Ok(addr)
    }

    /// Counts the TLS handshake of the user's connection once it is done.
    fn count_handshake(&mut self, idx: usize) {
        let u = &mut self.users[idx];
        if u.shaken {
            return;
        }
        match u.sock.as_ref().and_then(Stream::handshake) {
            Some(Handshake::Full) => self.delta.handshakes.full += 1,
            Some(Handshake::Resumed) => self.delta.handshakes.resumed += 1,
            None => return,
        }
        u.shaken = true;
    }

    fn fail(&mut self, idx: usize, error: String, now: Instant) {
        self.users[idx].sock = None;
        self.finish(idx, 0, Some(error), now);
    }

    /// Records the outcome of the current step and moves the user on: the task's next step at
    /// once, or the program's next list (after a think time).
    fn finish(&mut self, idx: usize, content: u64, error: Option<String>, now: Instant) {
        self.in_flight -= 1;
        let entry = self.current(idx).expect("a step in flight").entry;
        let u = &self.users[idx];
        let latency = now.saturating_duration_since(u.intended).as_micros() as u64;
        let service = now.saturating_duration_since(u.sent).as_micros() as u64;
        let failed = error.is_some();
        self.delta.entries[entry].record(latency, content, failed);
        if let Some(s) = self.delta.service.get_mut(entry) {
            s.record(service, content, failed);
        }
        self.delta.last_request = self.unix_at(now);
        let unix_now = self.unix_at(now);
        self.shared
            .after_request(&mut self.delta, entry, error, unix_now);
        let u = &mut self.users[idx];
        u.state = St::Waiting;
        u.hop = None;
        u.pos += 1;
        if self.open.rate.is_some() {
            self.users[idx].seq += 1;
            return self.schedule_open(idx, now);
        }
        self.set_timer(idx, None);
        self.ready.push(idx);
    }

    /// Open model: the user's next intended send time from the global schedule.
    fn schedule_open(&mut self, idx: usize, now: Instant) {
        let Some(rate) = self.open.rate else {
            return;
        };
        let users = self.shared.control.users.load(Ordering::Relaxed).max(1) as u64;
        let u = &mut self.users[idx];
        if u.epoch != self.open_gen {
            (u.epoch, u.seq) = (self.open_gen, 0);
        }
        let k = u.number as u64 + users * u.seq;
        let at = self.open.t0 + crate::control::intended_offset(k, rate, self.open.ramp);
        u.intended = at;
        u.backlogged = at <= now;
        if at <= now {
            self.set_timer(idx, None);
            self.ready.push(idx);
        } else {
            self.set_timer(idx, Some(at));
        }
    }

    fn set_timer(&mut self, idx: usize, at: Option<Instant>) {
        self.timers.schedule(idx, at);
    }

    fn fire_timers(&mut self, now: Instant) {
        while let Some(idx) = self.timers.pop_due(now) {
            let u = &self.users[idx];
            match u.state {
                St::Waiting => self.ready.push(idx),
                St::Connecting => {
                    let secs = self.shared.plan.connect_timeout.as_secs_f64();
                    self.fail(
                        idx,
                        format!("ConnectTimeout('Connection timed out. (connect timeout={secs})')"),
                        now,
                    )
                }
                St::Sending | St::Receiving => {
                    let secs = self.shared.plan.timeout.as_secs_f64();
                    self.fail(
                        idx,
                        format!("ReadTimeout('Read timed out. (read timeout={secs})')"),
                        now,
                    )
                }
                St::Retired => {}
            }
        }
    }
}
