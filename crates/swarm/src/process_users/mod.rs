//! The users of a Python process of user code (the Python path), run by the event loop
//! ([`crate::event_loop`]): the process runs the user's logic on the other end of a socket
//! ([`crate::remote`]); the loop connects, sends, times, follows redirects, keeps each user's
//! cookies and records the statistics, exactly as for the compiled program's users.
//!
//! Each user may talk to any host (absolute URLs, redirects elsewhere) over connections of its
//! own ([`UserConn`]s), reused while keep-alive holds, and may have several requests in flight
//! (user code can start greenlets). A request made with `catch_response` is timed when its
//! response arrives and counted when the process says how the block judged it (`DONE`).
//!
//! It keeps its share of each class's target (asking the process to start and stop users),
//! starts a new run's users from scratch, and says the LoadTestShape's turns.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::Token;

use crate::client::{self, Reader, Response};
use crate::control::ShapeStep;
use crate::cookies::Jar;
use crate::event_loop::{Core, Users};
use crate::process::Process;
use crate::process_request::{encode, refused_field, tls_for, Pending};
use crate::profile::{ClientProfile, Failed, Failure};
use crate::remote::{self, flags, Driver, Frame, Req};
use crate::target::host_of;
use crate::tls::{ClientTls, Stream};
use crate::url::{is_https, join_url, split_url};
use crate::user_conn::{self, Phase, UserConn};

mod answers;
use answers::Judged;

/// The process channel's token (connections' tokens are their slots).
const CHANNEL: Token = Token(usize::MAX - 1);
/// Most of a body handed back to user code.
const BODY_LIMIT: usize = 32 << 20;

/// One connection of one user to one host.
struct Conn {
    user: u32,
    authority: String,
    /// `https://`: the configuration its TLS was made with (verifying or not), so that a
    /// request is only sent on a connection verified as it asks.
    tls: Option<Arc<rustls::ClientConfig>>,
    link: UserConn<Stream>,
    /// The request it carries.
    req: Option<u32>,
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

/// The users of one Python process, served by one worker thread.
pub(crate) struct ProcessUsers {
    process: Process,
    users: HashMap<u32, User>,
    /// Users added and not yet started, by their start times.
    starting: VecDeque<(Instant, u32)>,
    next_user: u32,
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    reqs: HashMap<u32, Pending>,
    judged: HashMap<u32, Judged>,
    names: HashMap<(String, String), usize>,
    /// TLS clients for requests' own files (`verify="ca.pem"`, `cert=`), or why not.
    tls_files: HashMap<remote::TlsFiles, Result<Arc<ClientTls>, String>>,
    started_test: bool,
    /// When the LoadTestShape's next turn is (process 0 of a file with one, during a run).
    shape_next: Option<Instant>,
    /// When this run began, for the shape's run time.
    run_t0: Instant,
    /// Why the process is gone, once it is.
    dead: Option<String>,
}

impl ProcessUsers {
    /// Starts the process of `driver` on a socket of this thread's loop.
    pub(crate) fn new(core: &Core, driver: &Driver) -> io::Result<ProcessUsers> {
        let registry = core.poll.registry();
        let process = Process::start(core.id, &core.shared, driver, registry, CHANNEL)?;
        Ok(ProcessUsers {
            process,
            users: HashMap::new(),
            starting: VecDeque::new(),
            next_user: 0,
            conns: Vec::new(),
            free: Vec::new(),
            reqs: HashMap::new(),
            judged: HashMap::new(),
            names: HashMap::new(),
            tls_files: HashMap::new(),
            started_test: false,
            shape_next: None,
            run_t0: Instant::now(),
            dead: None,
        })
    }
}

impl Users for ProcessUsers {
    fn new_run(&mut self, core: &mut Core, now: Instant) {
        let ids: Vec<u32> = self.users.keys().copied().collect();
        for uid in ids {
            self.stop_user(uid);
        }
        self.names.clear();
        if !self.started_test {
            self.started_test = true;
            remote::bare(&mut self.process.out, remote::to_process::TEST_START);
        }
        self.run_t0 = now;
        let shaped = core.workload.driver.as_ref().is_some_and(|d| d.shape);
        self.shape_next = (core.id == 0 && shaped).then_some(now);
    }

    fn spawn_to(&mut self, core: &mut Core, targets: &[usize], start_over: Duration, now: Instant) {
        self.spawn_users(core, targets, start_over, now);
    }

    fn before_wait(&mut self, core: &mut Core, now: Instant) -> Option<Instant> {
        self.shape_turn(core, now);
        let start = self.start_due(now);
        self.flush_channel(core);
        start
    }

    fn on_event(&mut self, core: &mut Core, ev: &mio::event::Event, now: Instant) {
        if ev.token() == CHANNEL {
            if ev.is_readable() || ev.is_read_closed() {
                self.read_channel(core, now);
            }
            if ev.is_writable() {
                self.flush_channel(core);
            }
            return;
        }
        let slot = ev.token().0;
        let Some(c) = self.conns.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        let step = c.link.ready(now, &mut core.buf);
        core.rearm(slot, &mut c.link);
        self.carry_out(core, slot, step, now);
    }

    fn on_timer(&mut self, core: &mut Core, slot: usize, now: Instant) {
        let Some(c) = self.conns.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        let failure = c.link.timed_out();
        self.conn_failed(core, slot, failure, now);
    }

    fn after_events(&mut self, core: &mut Core, _now: Instant) {
        self.flush_channel(core);
    }

    fn counts(&self) -> (usize, usize) {
        (self.reqs.len(), self.users.len())
    }

    fn exit(&mut self, core: &mut Core) {
        let alive = self.dead.is_none();
        self.process
            .end(core.poll.registry(), self.started_test, alive);
    }
}

impl ProcessUsers {
    /// Once a second of a run, the LoadTestShape's turn: the process runs its `tick()` and
    /// answers with a [`Frame::Shape`], which the controller follows.
    fn shape_turn(&mut self, core: &mut Core, now: Instant) {
        let Some(at) = self.shape_next else { return };
        if now < at || self.dead.is_some() {
            return;
        }
        let users = core.shared.control.users.load(Ordering::Relaxed);
        let run_time = now.saturating_duration_since(self.run_t0).as_secs_f64();
        remote::shape_tick(
            &mut self.process.out,
            run_time,
            users.min(u32::MAX as usize) as u32,
        );
        self.shape_next = Some(at + Duration::from_secs(1));
    }

    /// Starts or stops users so this thread holds its share of each class's target; the users
    /// added start spread evenly over `start_over` ([`ProcessUsers::start_due`] tells the
    /// process when each is due).
    fn spawn_users(
        &mut self,
        core: &mut Core,
        targets: &[usize],
        start_over: Duration,
        now: Instant,
    ) {
        if self.dead.is_some() {
            return;
        }
        for (class, &total) in targets.iter().enumerate() {
            let mine = core.share(total);
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
                remote::spawn(&mut self.process.out, uid, u.class as u16);
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
                remote::stop(&mut self.process.out, uid);
            }
        }
    }

    // ---- the channel ----

    fn flush_channel(&mut self, core: &mut Core) {
        if self.dead.is_none() {
            if let Err(how) = self.process.flush(core.poll.registry()) {
                self.process_died(core, &how);
            }
        }
    }

    fn read_channel(&mut self, core: &mut Core, now: Instant) {
        match self.process.read(&mut core.buf) {
            Ok(frames) => {
                for f in frames {
                    self.on_frame(core, f, now);
                }
            }
            Err(how) => self.process_died(core, &how),
        }
    }

    fn process_died(&mut self, core: &mut Core, how: &str) {
        if self.dead.is_some() {
            return;
        }
        let status = self.process.ended();
        let why = format!(
            "the Python process of worker {} ended{status}: {how}",
            core.id
        );
        self.dead = Some(why.clone());
        core.shared.control.fatal(why);
        self.process.forget(core.poll.registry());
        self.users.clear();
        self.reqs.clear();
        self.judged.clear();
        for slot in 0..self.conns.len() {
            self.drop_conn(core, slot);
        }
    }

    fn on_frame(&mut self, core: &mut Core, f: Frame, now: Instant) {
        match f {
            Frame::Req(req) => self.request(core, req, now),
            Frame::Done { id, outcome, error } => self.judge(core, id, outcome, error, now),
            Frame::Exc { msg, traceback } => core.delta.exception(msg, traceback),
            Frame::Ended(uid) => {
                if let Some(mut u) = self.users.remove(&uid) {
                    for slot in std::mem::take(&mut u.conns) {
                        self.drop_conn(core, slot);
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
                let entry = self.entry(core, &method, &name);
                core.record(
                    entry,
                    (ms * 1000.0) as u64,
                    None,
                    length,
                    error.map(Failed::said),
                    now,
                );
            }
            Frame::Quit => core.shared.control.quit_asked(),
            Frame::Ready => {}
            Frame::Shape(step) => {
                let step = match step {
                    Some((users, rate, classes)) => ShapeStep::Users(users as usize, rate, classes),
                    None => {
                        self.shape_next = None; // the shape is done with this run
                        ShapeStep::End
                    }
                };
                core.shared.control.shape_says(step);
            }
        }
    }

    fn entry(&mut self, core: &mut Core, method: &str, name: &str) -> usize {
        if let Some(&i) = self.names.get(&(method.to_string(), name.to_string())) {
            return i;
        }
        let i = core.shared.names().index_of(method, name);
        self.names.insert((method.to_string(), name.to_string()), i);
        i
    }

    // ---- requests ----

    fn request(&mut self, core: &mut Core, req: Req, now: Instant) {
        let entry = self.entry(core, &req.method, &req.name);
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
            streaming: false,
        };
        self.reqs.insert(req.id, p);
        if req.flags & flags::FAILED != 0 {
            let error = self.reqs[&req.id].body.as_deref().unwrap_or_default();
            let error = String::from_utf8_lossy(error).into_owned();
            return self.answer(core, req.id, 0, None, Some(Failure::Said(error)), now);
        }
        self.dispatch(core, req.id, now);
    }

    /// Does what a connection says.
    fn carry_out(&mut self, core: &mut Core, slot: usize, step: user_conn::Step, now: Instant) {
        match step {
            user_conn::Step::Wait => {}
            user_conn::Step::Idle => {
                // connected with no request (its request went elsewhere meanwhile)
            }
            user_conn::Step::Gone => self.drop_conn(core, slot),
            user_conn::Step::Progress(head, body) => {
                self.stream_progress(core, slot, head, body, now)
            }
            user_conn::Step::Failed(failure) => self.conn_failed(core, slot, failure, now),
            user_conn::Step::Answer(resp, arrival, handshake) => {
                core.count_read_delay(arrival, now);
                core.count_handshake(handshake);
                self.response(core, slot, resp, now)
            }
        }
    }

    /// Sends request `id`'s current hop on a connection of its user to its host.
    fn dispatch(&mut self, core: &mut Core, id: u32, now: Instant) {
        let Some(p) = self.reqs.get(&id) else { return };
        let user = p.user;
        let (authority, path) = match split_url(&p.url) {
            Ok(v) => v,
            Err(e) => return self.answer(core, id, 0, None, Some(Failure::Said(e)), now),
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
            return self.answer(core, id, 0, None, Some(Failure::Said(e)), now);
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
                core.shared
                    .plan
                    .tls
                    .clone()
                    .unwrap_or_else(ClientTls::shared_default)
                    .config(fast, verify),
            ),
            // a CA file given is verified against, whatever the client's default
            (true, Some(files)) => match self.tls_client(core, &files) {
                Ok(client) => {
                    Some(client.config(fast, verify.or(files.ca.is_some().then_some(true))))
                }
                Err(e) => return self.answer(core, id, 0, None, Some(Failure::Said(e)), now),
            },
        };
        let addr = match core.resolve(&authority, tls.is_some()) {
            Ok(a) => a,
            Err(e) => return self.answer(core, id, 0, None, Some(Failure::Said(e)), now),
        };
        // the runtime refuses such fields as the user's client does; whatever sends REQ, a
        // field never becomes two lines on the wire
        if let Some(e) = self.reqs[&id]
            .headers
            .iter()
            .find_map(|(k, v)| refused_field(k, v))
        {
            return self.answer(core, id, 0, None, Some(Failure::Said(e)), now);
        }
        let p = &self.reqs[&id];
        let from_jar = self
            .users
            .get(&p.user)
            .and_then(|u| u.jar.header(&authority, &path, is_https(&p.url)));
        let bytes = encode(p, &authority, &path, from_jar);
        let head = p.method == "HEAD";
        let slot = match self.idle_conn(core, user, &authority, tls.as_ref(), now) {
            Some(s) => s,
            None => match self.open_conn(core, user, &authority, addr, tls, now) {
                Ok(s) => s,
                Err(failure) => return self.answer(core, id, 0, None, Some(failure), now),
            },
        };
        if let Some(p) = self.reqs.get_mut(&id) {
            p.conn = Some(slot);
        }
        let c = self.conns[slot].as_mut().expect("a connection");
        c.req = Some(id);
        let reader = if self.reqs[&id].flags & flags::STREAM != 0 {
            Reader::streaming(head, BODY_LIMIT)
        } else {
            Reader::whole(head, BODY_LIMIT)
        };
        let step = c.link.start(&bytes, reader, now);
        core.rearm(slot, &mut c.link);
        self.carry_out(core, slot, step, now);
    }

    /// The TLS client for a request's own files, made once per set of files.
    fn tls_client(
        &mut self,
        core: &Core,
        files: &remote::TlsFiles,
    ) -> Result<Arc<ClientTls>, String> {
        let insecure = core
            .shared
            .plan
            .tls
            .as_ref()
            .is_some_and(|t| t.is_insecure());
        self.tls_files
            .entry(files.clone())
            .or_insert_with(|| tls_for(files, insecure))
            .clone()
    }

    /// An idle connection of `user` to `authority` made as `tls` says (plain, or TLS with this
    /// configuration: one made without verifying never carries a request that verifies), and
    /// not closed by the server while it was idle (one that was goes: a fresh one is made, as
    /// urllib3 checks a pooled connection before it reuses it).
    fn idle_conn(
        &mut self,
        core: &mut Core,
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
                    && c.link.phase() == Phase::Idle
                    && c.link.is_free()
                    && c.authority == authority
                    && same(c.tls.as_ref())
            })
        })?;
        let c = self.conns[slot].as_ref().expect("found");
        if !c.link.reusable(now) {
            self.drop_conn(core, slot);
            return None;
        }
        Some(slot)
    }

    /// A new connection of `user` to `authority`; `tls`: `https://`, with the configuration
    /// the request's client and its verify setting chose.
    fn open_conn(
        &mut self,
        core: &mut Core,
        user: u32,
        authority: &str,
        addr: SocketAddr,
        tls: Option<Arc<rustls::ClientConfig>>,
        now: Instant,
    ) -> Result<usize, Failure> {
        let slot = self.free.pop().unwrap_or(self.conns.len());
        let source = match core.shared.plan.source_addrs.as_slice() {
            [] => None,
            addrs => Some(addrs[(user as usize) % addrs.len()]),
        };
        let named = tls.clone().map(|c| (c, host_of(authority)));
        let link = match core.open(slot, addr, source, named, now) {
            Ok(link) => link,
            Err(failure) => {
                if slot < self.conns.len() {
                    self.free.push(slot);
                }
                return Err(failure);
            }
        };
        let conn = Conn {
            user,
            authority: authority.to_string(),
            tls,
            link,
            req: None,
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

    fn drop_conn(&mut self, core: &mut Core, slot: usize) {
        if let Some(mut c) = self.conns[slot].take() {
            if let Some(u) = self.users.get_mut(&c.user) {
                u.conns.retain(|&s| s != slot);
            }
            core.close(slot, &mut c.link);
            self.free.push(slot);
        }
    }

    /// The connection failed: its request is answered with the error. A request already
    /// written is never sent again (the server may have acted on it; python-requests does not
    /// resend either): a keep-alive connection the server closed is caught before reuse.
    fn conn_failed(&mut self, core: &mut Core, slot: usize, failure: Failure, now: Instant) {
        let req = self.conns[slot].as_ref().expect("a connection").req;
        self.drop_conn(core, slot);
        let Some(id) = req else { return };
        self.answer(core, id, 0, None, Some(failure), now);
    }

    fn response(&mut self, core: &mut Core, slot: usize, resp: Response, now: Instant) {
        let c = self.conns[slot].as_mut().expect("a connection");
        let id = c.req.take().expect("a request on the connection");
        if resp.close {
            self.drop_conn(core, slot);
        }
        self.keep_cookies(id, &resp);
        if let Some(next) = self.redirect(id, &resp) {
            let p = self.reqs.get_mut(&id).expect("in flight");
            p.hops += 1;
            if p.hops > ClientProfile::MAX_REDIRECTS {
                let error = Failure::TooManyRedirects(p.url.clone());
                return self.answer(core, id, 0, None, Some(error), now);
            }
            for (k, v) in resp
                .headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            {
                p.cookies_seen.push((k.clone(), v.clone()));
            }
            let origin = |url: &str| split_url(url).ok().map(|(a, _)| (is_https(url), a));
            let same_origin = origin(&next) == origin(&p.url);
            p.url = next;
            ClientProfile::of(p.flags & flags::FAST != 0).redirect_request(
                resp.status,
                &mut p.method,
                &mut p.headers,
                &mut p.body,
                same_origin,
            );
            return self.dispatch(core, id, now);
        }
        self.answer(core, id, resp.status, Some(resp), None, now);
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

    /// Where a redirect leads, if this response is one the request follows.
    fn redirect(&self, id: u32, resp: &Response) -> Option<String> {
        let p = self.reqs.get(&id)?;
        if p.flags & flags::REDIRECTS == 0 || !matches!(resp.status, 301 | 302 | 303 | 307 | 308) {
            return None;
        }
        let location = resp
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("location"))
            .map(|(_, v)| v.trim())?;
        Some(join_url(&p.url, location))
    }
}
