//! A worker thread for remote users (the Python path): one process of user code on the other
//! end of a socket ([`crate::remote`]), this thread's event loop doing every request those
//! users make. The process runs the user's logic; the engine connects, sends, times, follows
//! redirects, keeps each user's cookies, and records the statistics, exactly as for its own
//! users, into this thread's [`Delta`].
//!
//! Each user may talk to any host (absolute URLs, redirects elsewhere) over connections of its
//! own, reused while keep-alive holds, and may have several requests in flight (user code can
//! start greenlets). A request made with `catch_response` is timed when its response arrives
//! and counted when the process says how the block judged it (`DONE`).
//!
//! The worker obeys the controller as the engine's own workers do: it keeps its share of each
//! class's target (asking the process to start and stop users), starts a new run's users from
//! scratch, hands over a delta every second and on a flush.

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::UnixStream;

use crate::target::host_of;
use crate::tls::{ClientTls, Handshake, Stream};
use mio::{Events, Interest, Poll, Token};
use swarmlab_http::Timers;

use crate::client::{self, io_error_string, Reader, Received, Response};
use crate::control::{ShapeStep, Shared};
use crate::cookies::Jar;
use crate::profile::{ClientProfile, ConnFailure};
use crate::remote::{self, flags, Driver, Frame, Outcome, Req};
use crate::stats::Delta;
use crate::url::{is_https, join_url, split_url};
use crate::workload::Workload;

const TICK: Duration = Duration::from_millis(20);
const CHANNEL: Token = Token(usize::MAX);
const READ_BUF: usize = 64 * 1024;
/// Most of a body handed back to user code.
const BODY_LIMIT: usize = 32 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum St {
    Idle,
    Connecting,
    Sending,
    Receiving,
}

/// One connection of one user to one host.
struct Conn {
    user: u32,
    authority: String,
    /// `https://`: the configuration its TLS was made with (verifying or not), so that a
    /// request is only sent on a connection verified as it asks.
    tls: Option<Arc<rustls::ClientConfig>>,
    sock: Stream,
    /// Its TLS handshake was counted.
    shaken: bool,
    state: St,
    out: Vec<u8>,
    written: usize,
    reader: Reader,
    /// The request it carries.
    req: Option<u32>,
    /// Since when it has been idle (a keep-alive connection idle a while is checked for the
    /// server's close before it is reused).
    idle_since: Instant,
}

/// A user of the process.
struct User {
    class: usize,
    /// Its cookies, by name.
    jar: Jar,
    stopping: bool,
    /// When its process is told to start it (a ramp's users start spread over their step);
    /// `None` once told.
    starts: Option<Instant>,
    /// Its connections' slots (looked up per request: a scan of every connection cost a third
    /// of the engine's time at 10,000 users).
    conns: Vec<usize>,
}

/// A request in flight (its redirects included).
struct Pending {
    user: u32,
    entry: usize,
    flags: u8,
    method: String,
    /// The current hop's URL.
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    hops: u8,
    started: Instant,
    /// Set-Cookie fields of the hops before the last, handed back with the response.
    cookies_seen: Vec<(String, String)>,
    conn: Option<usize>,
    /// The files its TLS uses (`verify="ca.pem"`, `cert=`), if it names any.
    tls_files: Option<remote::TlsFiles>,
}

/// A catch_response request answered, waiting for its block's verdict.
struct Judged {
    entry: usize,
    us: u64,
    length: u64,
    status: u16,
    error: Option<String>,
    fast: bool,
    name_for_errors: String,
}

pub(crate) struct RemoteWorker {
    id: usize,
    threads: usize,
    shared: Arc<Shared>,
    workload: Arc<Workload>,
    run: u64,
    targets_gen: u64,
    flush_gen: u64,
    poll: Poll,
    child: Child,
    chan: UnixStream,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    users: HashMap<u32, User>,
    /// Users added and not yet started, by their start times.
    starting: VecDeque<(Instant, u32)>,
    next_user: u32,
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    reqs: HashMap<u32, Pending>,
    judged: HashMap<u32, Judged>,
    /// Request timeouts, by connection slot.
    timers: Timers<usize>,
    delta: Delta,
    names: HashMap<(String, String), usize>,
    /// Resolved addresses by authority: `http://`'s, then `https://`'s (their default ports
    /// differ).
    dns: [HashMap<String, SocketAddr>; 2],
    /// TLS clients for requests' own files (`verify="ca.pem"`, `cert=`), or why not.
    tls_files: HashMap<remote::TlsFiles, Result<Arc<ClientTls>, String>>,
    buf: Vec<u8>,
    base: Instant,
    base_unix: f64,
    started_test: bool,
    /// When the LoadTestShape's next turn is (process 0 of a file with one, during a run).
    shape_next: Option<Instant>,
    /// When this run began, for the shape's run time.
    run_t0: Instant,
    /// Why the process is gone, once it is.
    dead: Option<String>,
}

impl RemoteWorker {
    /// Starts the process of `driver` on a socket of this worker's.
    pub(crate) fn new(
        id: usize,
        threads: usize,
        shared: Arc<Shared>,
        driver: &Driver,
    ) -> io::Result<RemoteWorker> {
        let (ours, theirs) = std::os::unix::net::UnixStream::pair()?;
        ours.set_nonblocking(true)?;
        let mut command = Command::new(&driver.program);
        command
            .args(&driver.args)
            .envs(driver.env.iter().map(|(k, v)| (k, v)))
            .env("SWARMLAB_PROCESS", id.to_string())
            // Python's `random` in this process: its own stream of the run's seed
            .env(
                "SWARMLAB_SEED",
                (shared.plan.seed.unwrap_or_default()
                    ^ (id as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
                .to_string(),
            )
            .stdin(Stdio::from(OwnedFd::from(theirs)))
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit());
        crate::sys::die_with_parent(&mut command);
        let child = command.spawn().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot start {}: {e}", driver.program.display()),
            )
        })?;
        drop(command); // closes our copy of the process's end
        shared
            .control
            .pids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(child.id());
        let mut chan = UnixStream::from_std(ours);
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut chan, CHANNEL, Interest::READABLE)?;
        let base_unix = crate::clock::unix_now();
        let workload = shared.workload();
        Ok(RemoteWorker {
            id,
            threads,
            workload,
            run: 0,
            targets_gen: 0,
            flush_gen: 0,
            poll,
            child,
            chan,
            inbuf: Vec::new(),
            out: Vec::new(),
            users: HashMap::new(),
            starting: VecDeque::new(),
            next_user: 0,
            conns: Vec::new(),
            free: Vec::new(),
            reqs: HashMap::new(),
            judged: HashMap::new(),
            timers: Timers::new(),
            delta: Delta::new(0, base_unix as u64, 0, false),
            names: HashMap::new(),
            dns: [HashMap::new(), HashMap::new()],
            tls_files: HashMap::new(),
            buf: vec![0; READ_BUF],
            base: Instant::now(),
            base_unix,
            started_test: false,
            shape_next: None,
            run_t0: Instant::now(),
            dead: None,
            shared,
        })
    }

    /// Runs until the controller says quit; hands over every delta, the last one included.
    pub(crate) fn run(mut self, tx: &Sender<Delta>) {
        let mut events = Events::with_capacity(1024);
        let shared = Arc::clone(&self.shared);
        loop {
            if shared.control.quit.load(Ordering::Relaxed) {
                break;
            }
            let now = Instant::now();
            self.follow(tx, now);
            self.shape_turn(now);
            let start = self.start_due(now);
            self.flush_channel();
            let next = self
                .timers
                .next_deadline()
                .into_iter()
                .chain(start)
                .fold(now + TICK, Instant::min);
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
                if ev.token() == CHANNEL {
                    if ev.is_readable() || ev.is_read_closed() {
                        self.read_channel(now);
                    }
                    if ev.is_writable() {
                        self.flush_channel();
                    }
                } else {
                    self.on_conn(ev.token().0, now);
                }
            }
            self.fire_timers(now);
            self.flush_channel();
            self.flush_if_new_second(now, tx);
            let control = &shared.control;
            control.in_flight[self.id].store(self.reqs.len(), Ordering::Relaxed);
            control.alive[self.id].store(self.users.len(), Ordering::Relaxed);
        }
        self.exit();
        let _ = tx.send(std::mem::take(&mut self.delta));
    }

    /// The process is told to end, and given a moment (its `quitting` listeners) before it is
    /// killed.
    fn exit(&mut self) {
        if self.dead.is_none() {
            if self.started_test {
                remote::bare(&mut self.out, remote::to_process::TEST_STOP);
            }
            remote::bare(&mut self.out, remote::to_process::EXIT);
            self.flush_channel();
            let until = Instant::now() + Duration::from_secs(2);
            while Instant::now() < until {
                if matches!(self.child.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Once a second of a run, the LoadTestShape's turn: the process runs its `tick()` and
    /// answers with a [`Frame::Shape`], which the controller follows.
    fn shape_turn(&mut self, now: Instant) {
        let Some(at) = self.shape_next else { return };
        if now < at || self.dead.is_some() {
            return;
        }
        let users = self.shared.control.users.load(Ordering::Relaxed);
        let run_time = now.saturating_duration_since(self.run_t0).as_secs_f64();
        remote::shape_tick(&mut self.out, run_time, users.min(u32::MAX as usize) as u32);
        self.shape_next = Some(at + Duration::from_secs(1));
    }

    /// Picks up what the controller changed: a new run, new targets, a flush.
    fn follow(&mut self, tx: &Sender<Delta>, now: Instant) {
        let shared = Arc::clone(&self.shared);
        let control = &shared.control;
        let run = control.run.load(Ordering::Acquire);
        if run != self.run {
            let done = std::mem::take(&mut self.delta);
            if !done.is_empty() {
                let _ = tx.send(done);
            }
            let ids: Vec<u32> = self.users.keys().copied().collect();
            for uid in ids {
                self.stop_user(uid);
            }
            self.workload = self.shared.workload();
            self.names.clear();
            self.run = run;
            self.delta = Delta::new(run, self.unix_at(now) as u64, 0, false);
            if !self.started_test {
                self.started_test = true;
                remote::bare(&mut self.out, remote::to_process::TEST_START);
            }
            self.run_t0 = now;
            let shaped = self.workload.driver.as_ref().is_some_and(|d| d.shape);
            self.shape_next = (self.id == 0 && shaped).then_some(now);
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
            let fresh = Delta::new(self.run, self.delta.second, 0, false);
            let done = std::mem::replace(&mut self.delta, fresh);
            if !done.is_empty() {
                let _ = tx.send(done);
            }
            control.flushed[self.id].store(flush_gen, Ordering::Release);
        }
    }

    fn unix_at(&self, t: Instant) -> f64 {
        self.base_unix + t.saturating_duration_since(self.base).as_secs_f64()
    }

    fn flush_if_new_second(&mut self, now: Instant, tx: &Sender<Delta>) {
        let second = self.unix_at(now) as u64;
        if second != self.delta.second {
            let fresh = Delta::new(self.run, second, 0, false);
            let done = std::mem::replace(&mut self.delta, fresh);
            if !done.is_empty() {
                let _ = tx.send(done);
            }
        }
    }

    /// Starts or stops users so this thread holds its share of each class's target; the users
    /// added start spread evenly over `start_over` ([`RemoteWorker::start_due`] tells the
    /// process when each is due).
    fn spawn_to(&mut self, targets: &[usize], start_over: Duration, now: Instant) {
        if self.dead.is_some() {
            return;
        }
        for (class, &total) in targets.iter().enumerate() {
            let mine = (total + self.threads - 1 - self.id) / self.threads;
            let mut live: Vec<u32> = self
                .users
                .iter()
                .filter(|(_, u)| u.class == class && !u.stopping)
                .map(|(&id, _)| id)
                .collect();
            live.sort_unstable();
            while live.len() > mine {
                let uid = live.pop().expect("more than wanted");
                self.stop_user(uid);
            }
            let adding = mine.saturating_sub(live.len());
            for j in 0..adding {
                let uid = self.next_user;
                self.next_user = self.next_user.wrapping_add(1);
                let starts = now + start_over.mul_f64(j as f64 / adding as f64);
                self.users.insert(
                    uid,
                    User {
                        class,
                        jar: Jar::default(),
                        stopping: false,
                        starts: Some(starts),
                        conns: Vec::new(),
                    },
                );
                self.starting.push_back((starts, uid));
            }
        }
        // classes spread over the same time: interleave them
        self.starting.make_contiguous().sort_by_key(|&(at, _)| at);
        self.start_due(now);
    }

    /// Tells the process to start the users whose turn has come; the next one's turn, if any.
    fn start_due(&mut self, now: Instant) -> Option<Instant> {
        while let Some(&(at, uid)) = self.starting.front() {
            if at > now {
                return Some(at);
            }
            self.starting.pop_front();
            if let Some(u) = self.users.get_mut(&uid).filter(|u| u.starts.is_some()) {
                u.starts = None;
                remote::spawn(&mut self.out, uid, u.class as u16);
            }
        }
        None
    }

    /// Asks the process to stop a user (its on_stop may still make requests); it counts as
    /// alive until the process says it ended. A user not started yet just goes.
    fn stop_user(&mut self, uid: u32) {
        if self.users.get(&uid).is_some_and(|u| u.starts.is_some()) {
            self.users.remove(&uid);
            return;
        }
        if let Some(u) = self.users.get_mut(&uid) {
            if !u.stopping {
                u.stopping = true;
                remote::stop(&mut self.out, uid);
            }
        }
    }

    // ---- the channel ----

    fn flush_channel(&mut self) {
        while !self.out.is_empty() && self.dead.is_none() {
            match self.chan.write(&self.out) {
                Ok(n) => {
                    self.out.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let _ = self.poll.registry().reregister(
                        &mut self.chan,
                        CHANNEL,
                        Interest::READABLE | Interest::WRITABLE,
                    );
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.process_died(&format!("writing to it failed: {e}")),
            }
        }
        if self.out.is_empty() {
            let _ = self
                .poll
                .registry()
                .reregister(&mut self.chan, CHANNEL, Interest::READABLE);
        }
    }

    fn read_channel(&mut self, now: Instant) {
        loop {
            match self.chan.read(&mut self.buf) {
                Ok(0) => return self.process_died("it closed its end"),
                Ok(n) => self.inbuf.extend_from_slice(&self.buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.process_died(&format!("reading from it failed: {e}")),
            }
        }
        let inbuf = std::mem::take(&mut self.inbuf);
        let (frames, used) = match remote::split(&inbuf) {
            Ok(v) => v,
            Err(e) => return self.process_died(&e.to_string()),
        };
        let mut decoded = Vec::with_capacity(frames.len());
        for (kind, payload) in frames {
            match remote::decode(kind, payload) {
                Ok(f) => decoded.push(f),
                Err(e) => return self.process_died(&e.to_string()),
            }
        }
        self.inbuf = inbuf[used..].to_vec();
        for f in decoded {
            self.on_frame(f, now);
        }
    }

    fn process_died(&mut self, how: &str) {
        if self.dead.is_some() {
            return;
        }
        let status = match self.child.try_wait() {
            Ok(Some(s)) => format!(" ({s})"),
            _ => String::new(),
        };
        let why = format!(
            "the Python process of worker {} ended{status}: {how}",
            self.id
        );
        self.dead = Some(why.clone());
        self.shared.control.fatal(why);
        let _ = self.poll.registry().deregister(&mut self.chan);
        self.users.clear();
        self.reqs.clear();
        self.judged.clear();
        for slot in 0..self.conns.len() {
            self.drop_conn(slot);
        }
    }

    fn on_frame(&mut self, f: Frame, now: Instant) {
        match f {
            Frame::Req(req) => self.request(req, now),
            Frame::Done { id, outcome, error } => self.judge(id, outcome, error, now),
            Frame::Exc { msg, traceback } => self.delta.exception(msg, traceback),
            Frame::Ended(uid) => {
                if let Some(mut u) = self.users.remove(&uid) {
                    for slot in std::mem::take(&mut u.conns) {
                        self.drop_conn(slot);
                    }
                }
            }
            Frame::Fire {
                method,
                name,
                ms,
                length,
                error,
            } => {
                let entry = self.entry(&method, &name);
                self.record(entry, (ms * 1000.0) as u64, length, error, now);
            }
            Frame::Quit => self.shared.control.quit_asked(),
            Frame::Ready => {}
            Frame::Shape(step) => {
                let step = match step {
                    Some((users, rate, classes)) => ShapeStep::Users(users as usize, rate, classes),
                    None => {
                        self.shape_next = None; // the shape is done with this run
                        ShapeStep::End
                    }
                };
                self.shared.control.shape_says(step);
            }
        }
    }

    fn entry(&mut self, method: &str, name: &str) -> usize {
        if let Some(&i) = self.names.get(&(method.to_string(), name.to_string())) {
            return i;
        }
        let i = self.shared.names().index_of(method, name);
        self.names.insert((method.to_string(), name.to_string()), i);
        i
    }

    /// Counts one request (a failure with its error text), as the static workers do.
    fn record(&mut self, entry: usize, us: u64, length: u64, error: Option<String>, now: Instant) {
        let failed = error.is_some();
        self.delta.entry(entry).record(us, length, failed);
        self.delta.last_request = self.unix_at(now);
        let unix_now = self.unix_at(now);
        self.shared
            .after_request(&mut self.delta, entry, error, unix_now);
    }

    // ---- requests ----

    fn request(&mut self, req: Req, now: Instant) {
        let entry = self.entry(&req.method, &req.name);
        let p = Pending {
            user: req.user,
            entry,
            flags: req.flags,
            method: req.method,
            url: req.url,
            headers: req.headers,
            body: req.body,
            hops: 0,
            started: now,
            cookies_seen: Vec::new(),
            conn: None,
            tls_files: req.tls_files,
        };
        self.reqs.insert(req.id, p);
        if req.flags & flags::FAILED != 0 {
            let error = self.reqs[&req.id].body.as_deref().unwrap_or_default();
            let error = String::from_utf8_lossy(error).into_owned();
            return self.answer(req.id, 0, None, Some(error), now);
        }
        self.dispatch(req.id, now);
    }

    /// Sends request `id`'s current hop on a connection of its user to its host.
    fn dispatch(&mut self, id: u32, now: Instant) {
        let Some(p) = self.reqs.get(&id) else { return };
        let user = p.user;
        let (authority, path) = match split_url(&p.url) {
            Ok(v) => v,
            Err(e) => return self.answer(id, 0, None, Some(e), now),
        };
        // the runtime percent-encodes a URL as python-requests does; whatever sends REQ, a
        // target with a space or a control character never reaches the request line
        if path.bytes().any(|b| b <= b' ' || b == 0x7f) || authority.bytes().any(|b| b <= b' ') {
            let e = format!(
                "InvalidURL({})",
                client::py_repr(&format!(
                    "Invalid URL {}: a space or control character",
                    client::py_repr(&p.url)
                ))
            );
            return self.answer(id, 0, None, Some(e), now);
        }
        let verify = if p.flags & flags::INSECURE != 0 {
            Some(false)
        } else if p.flags & flags::VERIFY != 0 {
            Some(true)
        } else {
            None
        };
        let (fast, https, files) = (
            p.flags & flags::FAST != 0,
            is_https(&p.url),
            p.tls_files.clone(),
        );
        let tls = match (https, files) {
            (false, _) => None,
            (true, None) => Some(
                self.shared
                    .plan
                    .tls
                    .clone()
                    .unwrap_or_else(ClientTls::shared_default)
                    .config(fast, verify),
            ),
            // a CA file given is verified against, whatever the client's default
            (true, Some(files)) => match self.tls_for(&files) {
                Ok(client) => {
                    Some(client.config(fast, verify.or(files.ca.is_some().then_some(true))))
                }
                Err(e) => return self.answer(id, 0, None, Some(e), now),
            },
        };
        let addr = match self.resolve(&authority, tls.is_some()) {
            Ok(a) => a,
            Err(e) => return self.answer(id, 0, None, Some(e), now),
        };
        // the runtime refuses such fields as the user's client does; whatever sends REQ, a
        // field never becomes two lines on the wire
        if let Some(e) = self.reqs[&id]
            .headers
            .iter()
            .find_map(|(k, v)| refused_field(k, v))
        {
            return self.answer(id, 0, None, Some(e), now);
        }
        let bytes = self.encode(id, &authority, &path);
        let slot = self.idle_conn(user, &authority, tls.as_ref(), now);
        let slot = match slot {
            Some(s) => s,
            None => match self.open_conn(user, &authority, addr, tls) {
                Ok(s) => s,
                Err(e) => return self.answer(id, 0, None, Some(io_error_string(&e)), now),
            },
        };
        let head = self.reqs[&id].method == "HEAD";
        let c = self.conns[slot].as_mut().expect("a connection");
        c.req = Some(id);
        c.out = bytes;
        c.written = 0;
        c.reader = Reader::whole(head, BODY_LIMIT);
        if let Some(p) = self.reqs.get_mut(&id) {
            p.conn = Some(slot);
        }
        let deadline = now
            + if c.state == St::Connecting {
                self.shared.plan.connect_timeout
            } else {
                self.shared.plan.timeout
            };
        self.timers.schedule(slot, Some(deadline));
        if c.state == St::Idle {
            c.state = St::Sending;
            self.send(slot, now);
        }
    }

    /// The request line and header section of `id`'s current hop, its body after them
    /// (every field checked by [`refused_field`] first).
    fn encode(&self, id: u32, authority: &str, path: &str) -> Vec<u8> {
        let p = &self.reqs[&id];
        let mut out = Vec::with_capacity(256 + p.body.as_ref().map_or(0, Vec::len));
        out.extend_from_slice(p.method.as_bytes());
        out.push(b' ');
        out.extend_from_slice(path.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
        out.extend_from_slice(authority.as_bytes());
        out.extend_from_slice(b"\r\n");
        let mut cookie: Option<String> = None;
        for (k, v) in &p.headers {
            if k.eq_ignore_ascii_case("host") || k.eq_ignore_ascii_case("content-length") {
                continue;
            }
            if k.eq_ignore_ascii_case("cookie") {
                cookie = Some(v.clone());
                continue;
            }
            out.extend_from_slice(k.as_bytes());
            out.extend_from_slice(b": ");
            latin1(&mut out, v);
            out.extend_from_slice(b"\r\n");
        }
        let from_jar = self
            .users
            .get(&p.user)
            .and_then(|u| u.jar.header(authority, path, is_https(&p.url)));
        let mut cookies: Vec<String> = cookie.into_iter().collect();
        // the user's own Cookie first; the jar's for this place after it, unless named there
        for kv in from_jar.iter().flat_map(|c| c.split("; ")) {
            let k = kv.split('=').next();
            let set_here = cookies
                .first()
                .is_some_and(|c| c.split("; ").any(|have| have.split('=').next() == k));
            if !set_here {
                cookies.push(kv.to_string());
            }
        }
        if !cookies.is_empty() {
            out.extend_from_slice(b"Cookie: ");
            out.extend_from_slice(cookies.join("; ").as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        match &p.body {
            Some(b) => {
                out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", b.len()).as_bytes());
                out.extend_from_slice(b);
                return out;
            }
            None if matches!(p.method.as_str(), "POST" | "PUT" | "PATCH") => {
                out.extend_from_slice(b"Content-Length: 0\r\n");
            }
            None => {}
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    /// The TLS client for a request's own files (`verify="ca.pem"`, `cert=`), made once per
    /// set of files; a file that is not there is python-requests' error.
    fn tls_for(&mut self, files: &remote::TlsFiles) -> Result<Arc<ClientTls>, String> {
        if let Some(made) = self.tls_files.get(files) {
            return made.clone();
        }
        let made = match &files.ca {
            Some(ca) if !std::path::Path::new(ca).exists() => Err(format!(
                "OSError('Could not find a suitable TLS CA certificate bundle, invalid path: {ca}')"
            )),
            _ => match &files.cert {
                Some((c, _)) if !std::path::Path::new(c).exists() => Err(format!(
                    "OSError('Could not find the TLS certificate file, invalid path: {c}')"
                )),
                Some((_, k)) if !std::path::Path::new(k).exists() => Err(format!(
                    "OSError('Could not find the TLS key file, invalid path: {k}')"
                )),
                _ => ClientTls::new(&crate::tls::TlsOptions {
                    insecure: self
                        .shared
                        .plan
                        .tls
                        .as_ref()
                        .is_some_and(|t| t.is_insecure()),
                    cacert: files.ca.as_ref().map(Into::into),
                    client_cert: files.cert.as_ref().map(|(c, k)| (c.into(), k.into())),
                    no_resumption: false,
                })
                .map(Arc::new)
                .map_err(|e| format!("SSLError({})", client::py_repr(&e))),
            },
        };
        self.tls_files.insert(files.clone(), made.clone());
        made
    }

    fn resolve(&mut self, authority: &str, tls: bool) -> Result<SocketAddr, String> {
        if let Some(a) = self.dns[usize::from(tls)].get(authority) {
            return Ok(*a);
        }
        let addr = crate::url::lookup(authority, tls)?;
        self.dns[usize::from(tls)].insert(authority.to_string(), addr);
        Ok(addr)
    }

    /// An idle connection of `user` to `authority` made as `tls` says (plain, or TLS with this
    /// configuration: one made without verifying never carries a request that verifies).
    fn idle_conn(
        &mut self,
        user: u32,
        authority: &str,
        tls: Option<&Arc<rustls::ClientConfig>>,
        now: Instant,
    ) -> Option<usize> {
        let conns = &self.conns;
        let same = |a: Option<&Arc<rustls::ClientConfig>>| match (a, tls) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        };
        let slot = self.users.get(&user)?.conns.iter().copied().find(|&slot| {
            conns[slot].as_ref().is_some_and(|c| {
                c.user == user
                    && c.state == St::Idle
                    && c.req.is_none()
                    && c.authority == authority
                    && same(c.tls.as_ref())
            })
        })?;
        let c = self.conns[slot].as_ref().expect("found");
        if now.saturating_duration_since(c.idle_since) >= crate::worker::CHECK_IDLE_AFTER
            && c.sock.closed_by_peer()
        {
            // the server let it go while it was idle (its close not read yet): a fresh one,
            // as urllib3 checks a pooled connection before it reuses it
            self.drop_conn(slot);
            return None;
        }
        Some(slot)
    }

    /// A new connection of `user` to `authority`; `tls`: `https://`, with the configuration
    /// the request's client and its verify setting chose.
    fn open_conn(
        &mut self,
        user: u32,
        authority: &str,
        addr: SocketAddr,
        tls: Option<Arc<rustls::ClientConfig>>,
    ) -> io::Result<usize> {
        let slot = self.free.pop().unwrap_or(self.conns.len());
        let source = match self.shared.plan.source_addrs.as_slice() {
            [] => None,
            addrs => Some(addrs[(user as usize) % addrs.len()]),
        };
        let sock = crate::worker::connect(addr, source)?;
        let mut sock = Stream::new(sock, tls.clone().map(|c| (c, host_of(authority))))?;
        self.poll.registry().register(
            &mut sock,
            Token(slot),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        let conn = Conn {
            user,
            authority: authority.to_string(),
            tls,
            sock,
            shaken: false,
            state: St::Connecting,
            out: Vec::new(),
            written: 0,
            reader: Reader::new(false),
            req: None,
            idle_since: Instant::now(),
        };
        if slot == self.conns.len() {
            self.conns.push(Some(conn));
        } else {
            self.conns[slot] = Some(conn);
        }
        if let Some(u) = self.users.get_mut(&user) {
            u.conns.push(slot);
        }
        Ok(slot)
    }

    fn drop_conn(&mut self, slot: usize) {
        if let Some(mut c) = self.conns[slot].take() {
            if let Some(u) = self.users.get_mut(&c.user) {
                u.conns.retain(|&s| s != slot);
            }
            let _ = self.poll.registry().deregister(&mut c.sock);
            self.timers.cancel(slot);
            self.free.push(slot);
        }
    }

    fn on_conn(&mut self, slot: usize, now: Instant) {
        let Some(c) = self.conns.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        if c.state != St::Connecting {
            // TLS records the socket did not take last time
            if let Err(e) = c.sock.pump() {
                return self.conn_failed(slot, ConnFailure::Said(io_error_string(&e)), now);
            }
        }
        match c.state {
            St::Connecting => {
                match c.sock.tcp().take_error() {
                    Ok(Some(e)) | Err(e) => {
                        return self.conn_failed(slot, ConnFailure::Said(io_error_string(&e)), now)
                    }
                    Ok(None) => {}
                }
                match c.sock.tcp().peer_addr() {
                    Ok(_) => {
                        let _ = c.sock.tcp().set_nodelay(true);
                        let c = self.conns[slot].as_mut().expect("a connection");
                        if c.req.is_some() {
                            c.state = St::Sending;
                            let timeout = self.shared.plan.timeout;
                            self.timers.schedule(slot, Some(now + timeout));
                            self.send(slot, now);
                        } else {
                            c.state = St::Idle;
                            c.idle_since = now;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => {}
                    Err(e) => self.conn_failed(slot, ConnFailure::Said(io_error_string(&e)), now),
                }
            }
            St::Sending => self.send(slot, now),
            St::Receiving => self.receive(slot, now),
            St::Idle => {
                // the server closed an idle keep-alive connection (or sent something unasked)
                let c = self.conns[slot].as_mut().expect("a connection");
                match c.sock.read(&mut self.buf) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    _ => self.drop_conn(slot),
                }
            }
        }
    }

    fn send(&mut self, slot: usize, now: Instant) {
        let c = self.conns[slot].as_mut().expect("a connection");
        while c.written < c.out.len() {
            match c.sock.write(&c.out[c.written..]) {
                Ok(n) => c.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return self.conn_failed(slot, ConnFailure::Said(io_error_string(&e)), now)
                }
            }
        }
        c.state = St::Receiving;
    }

    fn receive(&mut self, slot: usize, now: Instant) {
        let c = self.conns[slot].as_mut().expect("a connection");
        match client::receive(&mut c.sock, &mut c.reader, &mut self.buf) {
            Received::Response(resp, arrival) => {
                if let Some(a) = arrival {
                    self.delta.read_delay.record_delay(a.waited(now));
                }
                self.response(slot, resp, now)
            }
            Received::Failed(failure) => self.conn_failed(slot, failure, now),
            Received::Later => {}
        }
    }

    /// The connection failed: its request is answered with the error. A request already
    /// written is never sent again (the server may have acted on it; python-requests does not
    /// resend either): a keep-alive connection the server closed is caught before reuse.
    fn conn_failed(&mut self, slot: usize, failure: ConnFailure, now: Instant) {
        let req = self.conns[slot].as_ref().expect("a connection").req;
        self.drop_conn(slot);
        let Some(id) = req else { return };
        let said = self.profile(id).say(&failure);
        self.answer(id, 0, None, Some(said), now);
    }

    /// The client whose rules and words request `id` has.
    fn profile(&self, id: u32) -> ClientProfile {
        ClientProfile::of(
            self.reqs
                .get(&id)
                .is_some_and(|p| p.flags & flags::FAST != 0),
        )
    }

    fn response(&mut self, slot: usize, resp: Response, now: Instant) {
        let c = self.conns[slot].as_mut().expect("a connection");
        if !c.shaken {
            match c.sock.handshake() {
                Some(Handshake::Full) => self.delta.handshakes.full += 1,
                Some(Handshake::Resumed) => self.delta.handshakes.resumed += 1,
                None => {}
            }
            c.shaken = true;
        }
        let id = c.req.take().expect("a request on the connection");
        self.timers.cancel(slot);
        if resp.close {
            self.drop_conn(slot);
        } else {
            let c = self.conns[slot].as_mut().expect("a connection");
            c.state = St::Idle;
            c.idle_since = now;
            c.out = Vec::new();
        }
        self.keep_cookies(id, &resp);
        if let Some(next) = self.redirect(id, &resp) {
            let p = self.reqs.get_mut(&id).expect("in flight");
            p.hops += 1;
            if p.hops > ClientProfile::MAX_REDIRECTS {
                let error =
                    ClientProfile::of(p.flags & flags::FAST != 0).too_many_redirects(&p.url);
                return self.answer(id, 0, None, Some(error), now);
            }
            for (k, v) in resp
                .headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            {
                p.cookies_seen.push((k.clone(), v.clone()));
            }
            let origin = |url: &str| split_url(url).ok().map(|(a, _)| (is_https(url), a));
            let changes_host = origin(&next.0) != origin(&p.url);
            p.url = next.0;
            let profile = ClientProfile::of(p.flags & flags::FAST != 0);
            let to_get = next.1 != p.method;
            p.method = next.1;
            if profile.redirect_drops_body(resp.status, to_get) {
                p.body = None;
                p.headers.retain(|(k, _)| {
                    !k.eq_ignore_ascii_case("content-type")
                        && !k.eq_ignore_ascii_case("transfer-encoding")
                });
            }
            if changes_host {
                p.headers
                    .retain(|(k, _)| !k.eq_ignore_ascii_case("authorization"));
            }
            return self.dispatch(id, now);
        }
        self.answer(id, resp.status, Some(resp), None, now);
    }

    /// The user's jar takes every cookie a response sets, for the place the request went.
    fn keep_cookies(&mut self, id: u32, resp: &Response) {
        let Some(p) = self.reqs.get(&id) else { return };
        let Some(user) = self.users.get_mut(&p.user) else {
            return;
        };
        let Ok((authority, path)) = split_url(&p.url) else {
            return;
        };
        for (k, v) in &resp.headers {
            if k.eq_ignore_ascii_case("set-cookie") {
                user.jar.store(v, &authority, &path);
            }
        }
    }

    /// Where a redirect leads and with which method, if this response is one the request
    /// follows.
    fn redirect(&self, id: u32, resp: &Response) -> Option<(String, String)> {
        let p = self.reqs.get(&id)?;
        if p.flags & flags::REDIRECTS == 0 || !matches!(resp.status, 301 | 302 | 303 | 307 | 308) {
            return None;
        }
        let location = resp
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("location"))
            .map(|(_, v)| v.trim())?;
        let url = join_url(&p.url, location);
        let method =
            ClientProfile::of(p.flags & flags::FAST != 0).redirect_method(resp.status, &p.method);
        Some((url, method))
    }

    /// The request is over: counted (now, or once its block has judged it), and its
    /// response handed to the process.
    fn answer(
        &mut self,
        id: u32,
        status: u16,
        resp: Option<Response>,
        error: Option<String>,
        now: Instant,
    ) {
        let Some(p) = self.reqs.remove(&id) else {
            return;
        };
        if let Some(slot) = p.conn {
            if self
                .conns
                .get(slot)
                .and_then(Option::as_ref)
                .is_some_and(|c| c.req == Some(id))
            {
                self.drop_conn(slot);
            }
        }
        let us = now.saturating_duration_since(p.started).as_micros() as u64;
        let fast = p.flags & flags::FAST != 0;
        let length = resp.as_ref().map_or(0, |r| r.content);
        let name = self
            .shared
            .names()
            .list
            .get(p.entry)
            .map(|e| e.name.clone())
            .unwrap_or_default();
        if p.flags & flags::DEFERRED != 0 {
            self.judged.insert(
                id,
                Judged {
                    entry: p.entry,
                    us,
                    length,
                    status,
                    error: error.clone(),
                    fast,
                    name_for_errors: name,
                },
            );
        } else {
            let verdict = error.clone().or_else(|| client_rule(status, fast, &name));
            self.record(p.entry, us, length, verdict, now);
        }
        let (headers, body) = match &resp {
            Some(r) => {
                let mut h = p.cookies_seen;
                h.extend(r.headers.iter().cloned());
                (h, r.body.as_slice())
            }
            None => (Vec::new(), &[][..]),
        };
        remote::resp(
            &mut self.out,
            &remote::Resp {
                id,
                status,
                ms: us as f64 / 1000.0,
                length,
                headers: &headers,
                body,
                error: error.as_deref().unwrap_or(""),
                url: &p.url,
            },
        );
        if self.out.len() > 1 << 16 {
            self.flush_channel();
        }
    }

    /// A catch_response block's verdict on request `id`.
    fn judge(&mut self, id: u32, outcome: Outcome, error: String, now: Instant) {
        let Some(j) = self.judged.remove(&id) else {
            return;
        };
        let verdict = match outcome {
            Outcome::Success => None,
            Outcome::Failure => Some(error),
            Outcome::ClientRule => j
                .error
                .or_else(|| client_rule(j.status, j.fast, &j.name_for_errors)),
            Outcome::NotReported => return,
        };
        self.record(j.entry, j.us, j.length, verdict, now);
    }

    fn fire_timers(&mut self, now: Instant) {
        while let Some(slot) = self.timers.pop_due(now) {
            let Some(c) = self.conns.get(slot).and_then(Option::as_ref) else {
                continue;
            };
            let error = if c.state == St::Connecting {
                let secs = self.shared.plan.connect_timeout.as_secs_f64();
                format!("ConnectTimeout('Connection timed out. (connect timeout={secs})')")
            } else {
                let secs = self.shared.plan.timeout.as_secs_f64();
                format!("ReadTimeout('Read timed out. (read timeout={secs})')")
            };
            let id = c.req;
            self.drop_conn(slot);
            if let Some(id) = id {
                self.answer(id, 0, None, Some(error), now);
            }
        }
    }
}

/// The client's own rule for a status (its profile's).
fn client_rule(status: u16, fast: bool, name: &str) -> Option<String> {
    ClientProfile::of(fast).status_failure(status, name)
}

/// A header value as both Python clients write it: each character as its Latin-1 byte
/// (`café` is `63 61 66 e9`); a character past U+00FF, which they refuse, as UTF-8.
fn latin1(out: &mut Vec<u8>, v: &str) {
    if v.is_ascii() {
        return out.extend_from_slice(v.as_bytes());
    }
    for c in v.chars() {
        match u8::try_from(u32::from(c)) {
            Ok(b) => out.push(b),
            Err(_) => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
}

/// python-requests' `InvalidHeader` for a field it would not send (a name with a colon, CR,
/// LF or leading whitespace; a value with CR or LF or leading whitespace), as Locust's failure
/// text; `None` for a field that may go out. NUL, which requests would send, is refused too.
fn refused_field(name: &str, value: &str) -> Option<String> {
    let bad_name = name.is_empty()
        || name.starts_with(|c: char| c.is_whitespace())
        || name.contains([':', '\r', '\n', '\0']);
    let bad_value =
        value.starts_with(|c: char| c.is_whitespace()) || value.contains(['\r', '\n', '\0']);
    let (kind, part) = match (bad_name, bad_value) {
        (true, _) => ("name", name),
        (false, true) => ("value", value),
        (false, false) => return None,
    };
    let message = format!(
        "Invalid leading whitespace, reserved character(s), or return character(s) in header {kind}: {}",
        client::py_repr(part)
    );
    Some(format!("InvalidHeader({})", client::py_repr(&message)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text Locust 2.47 records for such fields (python-requests' InvalidHeader).
    #[test]
    fn fields_that_would_split_a_request_are_refused_as_requests_does() {
        assert_eq!(
            refused_field("X-A", "b\r\nInjected: yes").as_deref(),
            Some(
                r#"InvalidHeader("Invalid leading whitespace, reserved character(s), or return character(s) in header value: 'b\\r\\nInjected: yes'")"#
            )
        );
        assert_eq!(
            refused_field("X:A", "b").as_deref(),
            Some(
                r#"InvalidHeader("Invalid leading whitespace, reserved character(s), or return character(s) in header name: 'X:A'")"#
            )
        );
        assert!(refused_field("X-A", " b").is_some());
        assert_eq!(refused_field("X-A", "space "), None);
        assert_eq!(refused_field("X-A", ""), None);
        assert_eq!(refused_field("X A", "tab\tin"), None);
    }

    #[test]
    fn urls_split_and_redirects_resolve() {
        assert_eq!(
            split_url("http://127.0.0.1:8080/a/b?x=1").unwrap(),
            ("127.0.0.1:8080".into(), "/a/b?x=1".into())
        );
        assert_eq!(split_url("http://h").unwrap(), ("h".into(), "/".into()));
        assert_eq!(split_url("http://h?q").unwrap(), ("h".into(), "/?q".into()));
        assert_eq!(
            split_url("https://h:1/").unwrap(),
            ("h:1".into(), "/".into())
        );
        assert!(is_https("HTTPS://h") && !is_https("http://h"));
        assert!(split_url("ftp://h/")
            .unwrap_err()
            .starts_with("InvalidURL("));
        assert!(split_url("http:///x").is_err());
        assert_eq!(join_url("http://a:1/x/y?q", "/z"), "http://a:1/z");
        assert_eq!(join_url("http://a:1/x/y?q", "z"), "http://a:1/x/z");
        assert_eq!(join_url("http://a:1/x", "http://b:2/w"), "http://b:2/w");
        assert_eq!(join_url("http://a:1/x", "//c/v"), "http://c/v");
    }

    #[test]
    fn each_clients_rule_for_a_status() {
        assert_eq!(client_rule(200, false, "/"), None);
        assert_eq!(client_rule(302, false, "/"), None);
        assert_eq!(
            client_rule(404, false, "/x"),
            Some("HTTPError('404 Client Error: Not Found for url: /x')".into())
        );
        assert_eq!(client_rule(600, false, "/"), None, "requests: 600 succeeds");
        assert_eq!(
            client_rule(299, true, "/"),
            Some("LocustBadStatusCode(code=299)".into())
        );
        assert_eq!(client_rule(304, true, "/"), None);
    }
}
