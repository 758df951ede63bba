//! One worker thread: an event loop (mio/epoll) that owns a share of the users, wrk's shape.
//!
//! A user is a small state machine over one keep-alive connection: connect, send the task's
//! pre-encoded request, read the response, record it, wait, repeat; it reconnects when the
//! server closes. In the open model (`--rate`) each user sends at intended times from a fixed
//! schedule and latency counts from the intended time (coordinated omission corrected, as
//! wrk2). Everything a worker measures goes into its own [`Delta`], handed to the aggregator
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
use mio::{Events, Interest, Poll, Token};
use swarmlab_http::Timers;

use crate::client::{io_error_string, status_error_string, Reader, Response};
use crate::control::{OpenSchedule, Shared};
use crate::scenario::Workload;
use crate::stats::Delta;

/// Longest the loop sleeps before looking at the controls again.
const TICK: Duration = Duration::from_millis(20);
/// A send this late (open model) counts as behind schedule.
const LATE: Duration = Duration::from_millis(1);
const READ_BUF: usize = 64 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum St {
    /// Waiting for its timer to start the next task.
    Waiting,
    Connecting,
    Sending,
    Receiving,
    /// No longer wanted; its slot may be reused.
    Retired,
}

struct User {
    class: usize,
    sock: Option<TcpStream>,
    state: St,
    task: usize,
    written: usize,
    reader: Reader,
    /// When the task started (closed model) or was due (open model): latency counts from here.
    intended: Instant,
    /// When the request actually went out (its connect included).
    sent: Instant,
    /// Open model: this user's next send, as a count of its own sends since `epoch`.
    seq: u64,
    /// Open model: the schedule `seq` counts in (it restarts when the rate changes).
    epoch: u64,
    /// Global user number.
    number: usize,
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
    users: Vec<User>,
    /// Per user: when to start its next task, or when its connect or request times out.
    timers: Timers<usize>,
    ready: Vec<usize>,
    buf: Vec<u8>,
    delta: Delta,
    rng: u64,
    /// Unix time at `base`, to stamp seconds without a syscall per request.
    base: Instant,
    base_unix: f64,
    in_flight: usize,
}

impl Worker {
    pub(crate) fn new(id: usize, threads: usize, shared: Arc<Shared>) -> io::Result<Worker> {
        let base_unix = crate::engine::unix_now();
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
            poll: Poll::new()?,
            users: Vec::new(),
            timers: Timers::new(),
            ready: Vec::new(),
            buf: vec![0; READ_BUF],
            delta: Delta::new(0, base_unix as u64, n, open.rate.is_some()),
            rng: 0x9E37_79B9_7F4A_7C15 ^ (id as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03),
            base: Instant::now(),
            base_unix,
            in_flight: 0,
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
            if let Err(e) = self
                .poll
                .poll(&mut events, Some(next.saturating_duration_since(now)))
            {
                if e.kind() != io::ErrorKind::Interrupted {
                    panic!("epoll_wait failed: {e}");
                }
            }
            let now = Instant::now();
            for ev in events.iter() {
                self.on_event(ev.token().0, now);
            }
            self.fire_timers(now);
            self.start_ready();
            self.flush_if_new_second(now, tx);
            control.in_flight[self.id].store(self.in_flight, Ordering::Relaxed);
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
            let targets = control.targets();
            self.spawn_to(&targets, now);
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
    /// stop at once, a request in flight abandoned (as Locust kills a user's greenlet); idle
    /// ones go first.
    fn spawn_to(&mut self, targets: &[usize], now: Instant) {
        for (class, &total) in targets.iter().enumerate() {
            let mine = (total + self.threads - 1 - self.id) / self.threads;
            let live: Vec<usize> = (0..self.users.len())
                .filter(|&i| self.users[i].class == class && self.users[i].state != St::Retired)
                .collect();
            if live.len() > mine {
                let mut excess = live.len() - mine;
                for pass_idle in [true, false] {
                    for &idx in live.iter().rev() {
                        if excess == 0 {
                            break;
                        }
                        let u = &self.users[idx];
                        let idle = u.state == St::Waiting;
                        if u.state != St::Retired && idle == pass_idle {
                            self.retire(idx);
                            excess -= 1;
                        }
                    }
                }
            }
            for _ in live.len()..mine {
                self.add_user(class, now);
            }
        }
    }

    fn add_user(&mut self, class: usize, now: Instant) {
        let idx = self.free.pop().unwrap_or(self.users.len());
        let user = User {
            class,
            sock: None,
            state: St::Waiting,
            task: 0,
            written: 0,
            reader: Reader::new(false),
            intended: now,
            sent: now,
            seq: 0,
            epoch: self.open_gen,
            number: self.id + idx * self.threads,
        };
        if idx == self.users.len() {
            self.users.push(user);
        } else {
            self.users[idx] = user;
        }
        match self.open.rate {
            Some(_) => self.schedule_open(idx, now),
            None => self.ready.push(idx),
        }
    }

    /// Stops a user now: its connection closes and a request in flight is abandoned.
    fn retire(&mut self, idx: usize) {
        let u = &mut self.users[idx];
        if u.state == St::Retired {
            return;
        }
        if matches!(u.state, St::Connecting | St::Sending | St::Receiving) {
            self.in_flight -= 1;
        }
        u.state = St::Retired;
        u.sock = None;
        self.timers.cancel(idx);
        self.free.push(idx);
    }

    fn start_ready(&mut self) {
        while let Some(idx) = self.ready.pop() {
            self.start_task(idx);
        }
    }

    fn pick_task(&mut self, class: usize) -> usize {
        if self.workload.classes[class].tasks.len() == 1 {
            return 0;
        }
        let rand = self.next_rand();
        let tasks = &self.workload.classes[class].tasks;
        let total: u64 = tasks.iter().map(|t| u64::from(t.weight)).sum();
        let mut roll = rand % total;
        for (i, t) in tasks.iter().enumerate() {
            if roll < u64::from(t.weight) {
                return i;
            }
            roll -= u64::from(t.weight);
        }
        0
    }

    fn next_rand(&mut self) -> u64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn start_task(&mut self, idx: usize) {
        // The batch's time may be stale by the time this user's turn comes: read the clock.
        let now = Instant::now();
        let control = &self.shared.control;
        if control.draining.load(Ordering::Relaxed)
            || self.users.get(idx).is_none_or(|u| u.state != St::Waiting)
        {
            return;
        }
        let class = self.users[idx].class;
        let task = self.pick_task(class);
        let head = self.workload.classes[class].tasks[task].head;
        let open = self.open.rate.is_some();
        let u = &mut self.users[idx];
        u.task = task;
        u.written = 0;
        u.reader = Reader::new(head);
        u.sent = now;
        if !open {
            u.intended = now;
        } else if now.saturating_duration_since(u.intended) > LATE {
            self.delta.late_sends += 1;
        }
        self.in_flight += 1;
        if self.users[idx].sock.is_some() {
            self.users[idx].state = St::Sending;
            self.send(idx, now);
            return;
        }
        let addr = self.workload.classes[class].addr;
        match TcpStream::connect(addr) {
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
                u.state = St::Connecting;
                self.set_timer(idx, Some(now + self.shared.plan.connect_timeout));
            }
            Err(e) => self.fail(idx, io_error_string(&e), now),
        }
    }

    fn on_event(&mut self, idx: usize, now: Instant) {
        let Some(u) = self.users.get(idx) else { return };
        match u.state {
            St::Connecting => {
                let sock = u.sock.as_ref().expect("connecting user has a socket");
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
        let request = &self.workload.classes[u.class].tasks[u.task].request;
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

    fn receive(&mut self, idx: usize, now: Instant) {
        loop {
            let u = &mut self.users[idx];
            let sock = u.sock.as_mut().expect("receiving user has a socket");
            match sock.read(&mut self.buf) {
                Ok(0) => {
                    return match u.reader.eof() {
                        Some(resp) => self.complete(idx, resp, now),
                        None if u.reader.is_fresh() => self.fail(
                            idx,
                            "RemoteDisconnected('Remote end closed connection without response')"
                                .into(),
                            now,
                        ),
                        None => self.fail(
                            idx,
                            "IncompleteRead('connection closed mid-response')".into(),
                            now,
                        ),
                    };
                }
                Ok(n) => match u.reader.feed(&self.buf[..n]) {
                    Ok(Some(resp)) => return self.complete(idx, resp, now),
                    Ok(None) => {}
                    Err(e) => return self.fail(idx, e.0, now),
                },
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.fail(idx, io_error_string(&e), now),
            }
        }
    }

    fn complete(&mut self, idx: usize, resp: Response, _batch: Instant) {
        let now = Instant::now();
        let u = &self.users[idx];
        let task = &self.workload.classes[u.class].tasks[u.task];
        let ok = match &task.expect {
            Some(codes) => codes.contains(&resp.status),
            None => resp.status < 400,
        };
        let error = (!ok).then(|| {
            let name = &self.workload.entries[task.entry].name;
            match &task.expect {
                Some(codes) => format!(
                    "UnexpectedStatus('got {} expected {codes:?} for url: {name}')",
                    resp.status
                ),
                None => status_error_string(resp.status, name),
            }
        });
        if resp.close {
            self.users[idx].sock = None;
        }
        self.finish(idx, resp.content, error, now);
    }

    fn fail(&mut self, idx: usize, error: String, now: Instant) {
        self.users[idx].sock = None;
        self.finish(idx, 0, Some(error), now);
    }

    /// Records the outcome of the current task and schedules the user's next one.
    fn finish(&mut self, idx: usize, content: u64, error: Option<String>, now: Instant) {
        self.in_flight -= 1;
        let u = &self.users[idx];
        let entry = self.workload.classes[u.class].tasks[u.task].entry;
        let latency = now.saturating_duration_since(u.intended).as_micros() as u64;
        let service = now.saturating_duration_since(u.sent).as_micros() as u64;
        let failed = error.is_some();
        self.delta.entries[entry].record(latency, content, failed);
        if let Some(s) = self.delta.service.get_mut(entry) {
            s.record(service, content, failed);
        }
        self.delta.last_request = self.unix_at(now);
        let control = &self.shared.control;
        if self.shared.plan.stop_on_failure {
            let before = control.completed.fetch_add(1, Ordering::Relaxed);
            if failed {
                let _ = control.first_failure.compare_exchange(
                    u64::MAX,
                    before,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                );
            }
        }
        if let Some(e) = error {
            let second = self.unix_at(now) as u64;
            self.delta.error(entry, e, second);
        }
        self.users[idx].state = St::Waiting;
        if self.open.rate.is_some() {
            self.users[idx].seq += 1;
            return self.schedule_open(idx, now);
        }
        let unit = (self.next_rand() >> 11) as f64 / (1u64 << 53) as f64;
        let class = &self.workload.classes[self.users[idx].class];
        let wait = class.wait.after(
            now.saturating_duration_since(self.users[idx].intended),
            unit,
        );
        if wait.is_zero() {
            self.set_timer(idx, None);
            self.ready.push(idx);
        } else {
            self.set_timer(idx, Some(now + wait));
        }
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
        let at = self.open.t0 + crate::engine::intended_offset(k, rate, self.open.ramp);
        u.intended = at;
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
