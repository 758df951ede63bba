//! The compiled program's users, run by the event loop ([`crate::event_loop`]).
//!
//! A user is a small state machine over one keep-alive connection
//! ([`crate::user_conn::UserConn`]) running its class's program ([`crate::program`]): enter the
//! class's task set (its `on_start` steps), pick a task (at random by weight, or in order in a
//! sequential set), send its pre-encoded requests one after another (following redirects),
//! judge and record each response, wait, pick again; a task may enter a nested set or leave
//! it (`self.interrupt()`, which runs the set's `on_stop` steps). It reconnects when the server
//! closes. A user that is stopped gracefully runs the `on_stop` steps of the sets it is in,
//! innermost first, as Locust does. In the open model (`--rate`) each request goes out at an
//! intended time from a fixed schedule and latency counts from that time (coordinated
//! omission corrected, as wrk2).
//!
//! It keeps its share of each class's target, starting and stopping users at once (the
//! controller paces the ramp); a new run drops every user.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::client::{Reader, Response};
use crate::cookies::Jar;
use crate::cursor::{Cursor, Next};
use crate::event_loop::{Core, Users};
use crate::profile::{ClientProfile, Failed, Failure};
use crate::program::{RequestParts, Step, Verdict};
use crate::tls::{ClientTls, Stream};
use crate::url::{is_https, join_url, split_url};
use crate::user_conn::{self, UserConn};
use crate::workload::Workload;

/// A send this late (open model) counts as behind schedule.
const LATE: Duration = Duration::from_millis(1);
/// Most of a body kept for a `catch_response` text check (the rest is counted, not kept).
const BODY_LIMIT: usize = 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum St {
    /// Waiting for its timer (or its turn) to send its next step.
    Waiting,
    /// A request in flight on its connection.
    Busy,
    /// No longer wanted; its slot may be reused.
    Retired,
}

struct User {
    class: usize,
    /// This user's own random stream (task picks, random waits): a run's choices depend on
    /// its seed only, not on the order in which responses arrive.
    rng: rand::rngs::SmallRng,
    conn: Option<UserConn<Stream>>,
    state: St,
    /// Its place in its class's program.
    cursor: Cursor,
    /// The request in flight when it is not the step's pre-encoded one (it carries the
    /// user's cookies, or it follows a redirect).
    hop: Option<Box<Hop>>,
    /// Its cookies (kept for a Locust class: [`UserClass::session`]).
    jar: Jar,
    /// `conn` is connected to another host than the class's (a redirect led there).
    elsewhere: bool,
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

/// The compiled program's users of one worker thread.
pub(crate) struct ProgramUsers {
    users: Vec<User>,
    /// Retired users' slots, to reuse.
    free: Vec<usize>,
    /// Users whose next step is due now.
    ready: Vec<usize>,
    /// The run's seed, and the users this thread has added: the `n`th user's stream is seeded
    /// from (seed, thread, n), the same in every run with that seed.
    seed: u64,
    added: u64,
    in_flight: usize,
    /// Users not retired (published for the controller's stop).
    alive: usize,
}

impl ProgramUsers {
    pub(crate) fn new(core: &Core) -> ProgramUsers {
        ProgramUsers {
            users: Vec::new(),
            free: Vec::new(),
            ready: Vec::new(),
            seed: core.shared.plan.seed.unwrap_or_default(),
            added: 0,
            in_flight: 0,
            alive: 0,
        }
    }
}

impl Users for ProgramUsers {
    fn new_run(&mut self, core: &mut Core, _now: Instant) {
        for idx in 0..self.users.len() {
            self.retire(core, idx);
        }
        self.users.clear();
        self.free.clear();
        self.alive = 0;
        self.ready.clear();
    }

    fn open_changed(&mut self, core: &mut Core, now: Instant) {
        // the rate changed mid-run: waiting users move to the new schedule
        for idx in 0..self.users.len() {
            if self.users[idx].state == St::Waiting {
                self.schedule_open(core, idx, now);
            }
        }
    }

    /// Users added start spread evenly over `start_over`. Users stop at once, a request in
    /// flight abandoned (as Locust kills a user's greenlet), then run their `on_stop` steps if
    /// their class has any; idle users go first.
    fn spawn_to(&mut self, core: &mut Core, targets: &[usize], start_over: Duration, now: Instant) {
        for (class, &total) in targets.iter().enumerate() {
            let mine = core.share(total);
            let live: Vec<usize> = (0..self.users.len())
                .filter(|&i| {
                    let u = &self.users[i];
                    u.class == class && u.state != St::Retired && !u.cursor.stopping()
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
                            && !u.cursor.stopping()
                            && (u.state == St::Waiting) == pass_idle
                        {
                            self.stop_user(core, idx);
                            excess -= 1;
                        }
                    }
                }
            }
            let adding = mine.saturating_sub(live.len());
            for j in 0..adding {
                let start = now + start_over.mul_f64(j as f64 / adding as f64);
                self.add_user(core, class, now, start);
            }
        }
    }

    fn before_wait(&mut self, core: &mut Core, now: Instant) -> Option<Instant> {
        self.start_ready(core);
        // users ready again already (a connect that failed at once, no think time): the loop
        // looks at the controls and its sockets, without waiting, before their next turn
        (!self.ready.is_empty()).then_some(now)
    }

    fn on_event(&mut self, core: &mut Core, event: &mio::event::Event, now: Instant) {
        let idx = event.token().0;
        let Some(conn) = self.users.get_mut(idx).and_then(|u| u.conn.as_mut()) else {
            return;
        };
        let step = conn.ready(now, &mut core.buf);
        core.rearm(idx, conn);
        self.carry_out(core, idx, step, now);
    }

    fn on_timer(&mut self, core: &mut Core, idx: usize, now: Instant) {
        let u = &mut self.users[idx];
        match (u.state, u.conn.as_mut()) {
            (St::Waiting, _) => self.ready.push(idx),
            (St::Busy, Some(conn)) => {
                let failure = conn.timed_out();
                self.fail(core, idx, failure, now)
            }
            _ => {}
        }
    }

    fn after_events(&mut self, core: &mut Core, _now: Instant) {
        self.start_ready(core);
    }

    fn counts(&self) -> (usize, usize) {
        (self.in_flight, self.alive)
    }
}

impl ProgramUsers {
    /// Adds a user of `class` that starts at `start` (its first step then).
    fn add_user(&mut self, core: &mut Core, class: usize, now: Instant, start: Instant) {
        let idx = self.free.pop().unwrap_or(self.users.len());
        self.added += 1;
        let stream = (core.id as u64) << 40 | self.added;
        let user = User {
            class,
            rng: rand::SeedableRng::seed_from_u64(
                self.seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15),
            ),
            conn: None,
            state: St::Waiting,
            cursor: Cursor::new(now),
            hop: None,
            jar: Jar::default(),
            elsewhere: false,
            intended: now,
            sent: now,
            backlogged: false,
            seq: 0,
            epoch: core.open_gen,
            number: core.id + idx * core.threads,
            started: false,
        };
        if idx == self.users.len() {
            self.users.push(user);
        } else {
            self.users[idx] = user;
        }
        self.alive += 1;
        match core.open.rate {
            Some(_) => self.schedule_open(core, idx, now),
            None if start > now => core.timers.schedule(idx, Some(start)),
            None => self.ready.push(idx),
        }
    }

    /// Stops a user gracefully: a request in flight is abandoned; the `on_stop` steps of the
    /// sets it is in run (innermost first), then it retires.
    fn stop_user(&mut self, core: &mut Core, idx: usize) {
        let class = &core.workload.classes[self.users[idx].class];
        let u = &self.users[idx];
        if !u.started {
            // still waiting for its start: it never ran, so it has nothing to end
            return self.retire(core, idx);
        }
        if !u.cursor.has_on_stop(class) {
            return self.retire(core, idx);
        }
        self.abandon(idx);
        let u = &mut self.users[idx];
        u.cursor.stop();
        u.state = St::Waiting;
        core.timers.cancel(idx);
        self.ready.push(idx);
    }

    /// Drops the request in flight, if any (not recorded), and its connection.
    fn abandon(&mut self, idx: usize) {
        let u = &mut self.users[idx];
        if u.state == St::Busy {
            self.in_flight -= 1;
            u.conn = None;
            u.hop = None;
        }
    }

    /// Stops a user now, `on_stop` or not: its connection closes and a request in flight is
    /// abandoned.
    fn retire(&mut self, core: &mut Core, idx: usize) {
        if self.users[idx].state == St::Retired {
            return;
        }
        self.abandon(idx);
        let u = &mut self.users[idx];
        u.state = St::Retired;
        u.conn = None;
        core.timers.cancel(idx);
        self.free.push(idx);
        self.alive -= 1;
    }

    /// Starts the users ready now. A user that is ready again at once (its connect failed in
    /// the call, `Too many open files`, and it has no think time) waits for the next turn of
    /// the loop: draining the list until empty spun on such users and never came back to hand
    /// over the second's statistics or to see a stop (the run then reported nothing).
    fn start_ready(&mut self, core: &mut Core) {
        let mut batch = std::mem::take(&mut self.ready);
        for &idx in batch.iter().rev() {
            self.start_step(core, idx);
        }
        batch.clear();
        // the users made ready meanwhile, in the list's old allocation
        batch.append(&mut self.ready);
        self.ready = batch;
    }

    /// The step the user sends next, if its current list has one left.
    fn current<'w>(&self, workload: &'w Workload, idx: usize) -> Option<&'w Step> {
        let u = &self.users[idx];
        u.cursor.current(&workload.classes[u.class])
    }

    /// Sends the user's next step, moving its program on over finished lists and task-set
    /// changes first; or starts its think time; or retires it.
    fn start_step(&mut self, core: &mut Core, idx: usize) {
        // The batch's time may be stale by the time this user's turn comes: read the clock.
        let now = Instant::now();
        if core.shared.control.draining.load(Ordering::Relaxed)
            || self.users.get(idx).is_none_or(|u| u.state != St::Waiting)
        {
            return;
        }
        self.users[idx].started = true;
        let workload = std::sync::Arc::clone(&core.workload);
        // Lists may be empty (a task of only self.interrupt()); a user's program always comes
        // back to a step or a wait within a few turns, but do not spin on a workload without
        // steps.
        for _ in 0..64 {
            if self.current(&workload, idx).is_some() {
                return self.send_step(core, idx, now);
            }
            let u = &mut self.users[idx];
            let rng = &mut u.rng;
            match u.cursor.advance(
                &workload.classes[u.class],
                &mut || rand::Rng::next_u64(rng),
                now,
            ) {
                Next::Now => {}
                Next::Wait(d) if d.is_zero() || core.open.rate.is_some() => {}
                Next::Wait(d) => return core.timers.schedule(idx, Some(now + d)),
                Next::Retire => return self.retire(core, idx),
            }
        }
        self.retire(core, idx);
    }

    fn send_step(&mut self, core: &mut Core, idx: usize, now: Instant) {
        let hop = self.with_cookies(&core.workload, idx);
        let u = &mut self.users[idx];
        u.hop = hop;
        if u.elsewhere {
            // a redirect left the connection on another host
            u.conn = None;
            u.elsewhere = false;
        }
        u.sent = now;
        if core.open.rate.is_none() {
            u.intended = now;
        } else if !u.backlogged && now.saturating_duration_since(u.intended) > LATE {
            // free at its intended time, yet sent late: the generator fell behind
            core.delta.late_sends += 1;
        }
        u.state = St::Busy;
        self.in_flight += 1;
        self.connect_and_send(core, idx, None, now);
    }

    /// The reader for the current step's response.
    fn reader_for(&self, workload: &Workload, idx: usize) -> Reader {
        let step = self.current(workload, idx).expect("a step in flight");
        let reader = if step.reads_body() {
            Reader::capturing(step.head, BODY_LIMIT)
        } else {
            Reader::new(step.head)
        };
        if workload.classes[self.users[idx].class].session {
            reader.session()
        } else {
            reader
        }
    }

    /// The current step's request with the user's cookies, if any apply to it.
    fn with_cookies(&self, workload: &Workload, idx: usize) -> Option<Box<Hop>> {
        let u = &self.users[idx];
        if u.jar.is_empty() {
            return None;
        }
        let class = &workload.classes[u.class];
        let step = self.current(workload, idx)?;
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
    /// host, or to `dest`) if it has none or the server closed it while it was idle.
    fn connect_and_send(&mut self, core: &mut Core, idx: usize, dest: Dest, now: Instant) {
        let workload = std::sync::Arc::clone(&core.workload);
        let reader = self.reader_for(&workload, idx);
        let u = &mut self.users[idx];
        if u.conn.as_ref().is_some_and(|c| !c.reusable(now)) {
            u.conn = None;
        }
        if u.conn.is_none() {
            let source = match core.shared.plan.source_addrs.as_slice() {
                [] => None,
                addrs => Some(addrs[u.number % addrs.len()]),
            };
            let class = &workload.classes[u.class];
            let (addr, name) = match &dest {
                Some((addr, name)) => (*addr, name.as_deref()),
                None => (class.addr, class.tls.as_deref()),
            };
            let tls = name.map(|name| {
                let tls = core
                    .shared
                    .plan
                    .tls
                    .clone()
                    .unwrap_or_else(ClientTls::shared_default);
                (tls.config(false, class.tls_verify), name)
            });
            match core.open(idx, addr, source, tls, now) {
                Ok(conn) => u.conn = Some(conn),
                Err(failure) => return self.fail(core, idx, failure, now),
            }
        }
        let request: &[u8] = match &u.hop {
            Some(hop) => &hop.bytes,
            None => {
                let class = &workload.classes[u.class];
                &u.cursor.current(class).expect("a step in flight").request
            }
        };
        let conn = u.conn.as_mut().expect("connected above");
        let step = conn.start(request, reader, now);
        core.rearm(idx, conn);
        self.carry_out(core, idx, step, now);
    }

    /// Does what the user's connection says.
    fn carry_out(&mut self, core: &mut Core, idx: usize, step: user_conn::Step, now: Instant) {
        match step {
            // its readers do not stream
            user_conn::Step::Wait | user_conn::Step::Idle | user_conn::Step::Progress(..) => {}
            user_conn::Step::Gone => self.users[idx].conn = None,
            user_conn::Step::Failed(failure) => self.fail(core, idx, failure, now),
            user_conn::Step::Answer(resp, arrival, handshake) => {
                let now = Instant::now();
                core.count_read_delay(arrival, now);
                core.count_handshake(handshake);
                self.complete(core, idx, resp, now)
            }
        }
    }

    /// The client whose rules and words the user's current request has (a scenario's
    /// requests: python-requests').
    fn profile(&self, workload: &Workload, idx: usize) -> ClientProfile {
        match self.current(workload, idx).map(|s| &s.verdict) {
            Some(Verdict::Client(client)) => *client,
            _ => ClientProfile::Http,
        }
    }

    fn complete(&mut self, core: &mut Core, idx: usize, resp: Response, now: Instant) {
        if resp.close {
            self.users[idx].conn = None;
        }
        let workload = std::sync::Arc::clone(&core.workload);
        self.keep_cookies(&workload, idx, &resp);
        match self.redirect(core, idx, &resp) {
            Some(Ok(hop)) => {
                // the same step goes on at the new location: one request in the statistics
                let u = &mut self.users[idx];
                let dest = hop.elsewhere.clone();
                if dest.is_some() || u.elsewhere {
                    u.conn = None;
                }
                u.elsewhere = dest.is_some();
                u.hop = Some(hop);
                return self.connect_and_send(core, idx, dest, now);
            }
            Some(Err(failure)) => {
                let failed = self.profile(&workload, idx).failed(failure);
                return self.finish(core, idx, resp.content, Some(failed), now);
            }
            None => {}
        }
        let step = self.current(&workload, idx).expect("a step in flight");
        let name = &workload.entries[step.entry].name;
        let error = match resp.decode_error {
            Some(e) => Some(e),
            None => step.judge(resp.status, &resp.body, name),
        }
        .map(|why| self.profile(&workload, idx).failed(why));
        self.finish(core, idx, resp.content, error, now);
    }

    /// The request in flight: where it went and what it is (the step's, or its own hop's).
    fn in_flight_request<'a>(
        &'a self,
        workload: &'a Workload,
        idx: usize,
    ) -> Option<(&'a str, &'a str, &'a RequestParts)> {
        match &self.users[idx].hop {
            Some(h) => Some((&h.authority, &h.path, &h.parts)),
            None => {
                let step = self.current(workload, idx)?;
                Some((authority_of(&step.request), &step.parts.path, &step.parts))
            }
        }
    }

    /// A Locust class's user keeps the cookies a response sets.
    fn keep_cookies(&mut self, workload: &Workload, idx: usize, resp: &Response) {
        if resp.set_cookies.is_empty() {
            return;
        }
        let Some((authority, path, _)) = self.in_flight_request(workload, idx) else {
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
    /// the new place; past the client's limit, its failure.
    fn redirect(
        &mut self,
        core: &mut Core,
        idx: usize,
        resp: &Response,
    ) -> Option<Result<Box<Hop>, Failure>> {
        let workload = std::sync::Arc::clone(&core.workload);
        let step = self.current(&workload, idx)?;
        if !step.follow_redirects || !matches!(resp.status, 301 | 302 | 303 | 307 | 308) {
            return None;
        }
        let location = resp.location.as_deref()?;
        let profile = match step.verdict {
            Verdict::Client(client) => client,
            Verdict::Codes(_) => ClientProfile::Http,
        };
        let class = &workload.classes[self.users[idx].class];
        let u = &self.users[idx];
        let count = u.hop.as_ref().map_or(0, |h| h.count);
        let (authority, path, parts) = self.in_flight_request(&workload, idx)?;
        let tls = match u.hop.as_deref() {
            Some(Hop {
                elsewhere: Some((_, name)),
                ..
            }) => name.is_some(),
            _ => class.tls.is_some(),
        };
        let here = format!("{}://{authority}{path}", if tls { "https" } else { "http" });
        if count >= ClientProfile::MAX_REDIRECTS {
            return Some(Err(Failure::TooManyRedirects(here)));
        }
        let next = join_url(&here, location);
        let next_tls = is_https(&next);
        let (next_authority, next_path) = match split_url(&next) {
            Ok(v) => v,
            Err(e) => return Some(Err(Failure::Said(e))),
        };
        let mut parts = parts.clone();
        parts.path.clone_from(&next_path);
        let same_origin = next_authority == authority && next_tls == tls;
        let RequestParts {
            method,
            headers,
            body,
            ..
        } = &mut parts;
        profile.redirect_request(resp.status, method, headers, body, same_origin);
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
            let addr = match core.resolve(&next_authority, next_tls) {
                Ok(a) => a,
                Err(e) => return Some(Err(Failure::Said(e))),
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

    fn fail(&mut self, core: &mut Core, idx: usize, failure: Failure, now: Instant) {
        self.users[idx].conn = None;
        let failed = self.profile(&core.workload, idx).failed(failure);
        self.finish(core, idx, 0, Some(failed), now);
    }

    /// Records the outcome of the current step and moves the user on: the task's next step at
    /// once, or the program's next list (after a think time).
    fn finish(
        &mut self,
        core: &mut Core,
        idx: usize,
        content: u64,
        error: Option<Failed>,
        now: Instant,
    ) {
        self.in_flight -= 1;
        let entry = self
            .current(&core.workload, idx)
            .expect("a step in flight")
            .entry;
        let u = &mut self.users[idx];
        let latency = now.saturating_duration_since(u.intended).as_micros() as u64;
        let service = now.saturating_duration_since(u.sent).as_micros() as u64;
        u.state = St::Waiting;
        u.hop = None;
        u.cursor.step_done();
        core.record(entry, latency, Some(service), content, error, now);
        if core.open.rate.is_some() {
            self.users[idx].seq += 1;
            return self.schedule_open(core, idx, now);
        }
        core.timers.schedule(idx, None);
        self.ready.push(idx);
    }

    /// Open model: the user's next intended send time from the global schedule.
    fn schedule_open(&mut self, core: &mut Core, idx: usize, now: Instant) {
        let Some(rate) = core.open.rate else {
            return;
        };
        let users = core.shared.control.users.load(Ordering::Relaxed).max(1) as u64;
        let u = &mut self.users[idx];
        if u.epoch != core.open_gen {
            (u.epoch, u.seq) = (core.open_gen, 0);
        }
        let k = u.number as u64 + users * u.seq;
        let at = core.open.t0 + crate::control::intended_offset(k, rate, core.open.ramp);
        u.intended = at;
        u.backlogged = at <= now;
        if at <= now {
            core.timers.schedule(idx, None);
            self.ready.push(idx);
        } else {
            core.timers.schedule(idx, Some(at));
        }
    }
}
