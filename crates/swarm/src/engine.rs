//! The engine: one controller thread and one worker thread per core, steered while it runs
//! through one handle, [`Swarm`].
//!
//! The handle sends commands (start, change users and spawn rate, change the open model's rate,
//! stop, reset statistics, quit); the controller carries them out on its 20 ms tick: it paces
//! ramps, publishes per-class user targets that the workers obey (see `control.rs`),
//! merges the workers' per-second deltas into [`Stats`], keeps a bounded per-second history,
//! ends runs on their run time or first failure, and watches its own CPU and send lag so it can
//! say when the figures measure the generator instead of the server. Readers (the CLI's tables
//! and CSVs, the web UI, the Locust worker) look at what the controller already has through
//! [`Swarm::view`] and [`Swarm::subscribe`]; nothing they do reaches the workers.
//!
//! [`run`] is the headless run (`swarmlab swarm --headless`, `compare`) on top of the handle.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::clock::unix_now;
use crate::control::{OpenSchedule, ShapeStep, Shared};
use crate::history::{History, HistoryRow};
use crate::plan::Plan;
use crate::remote_worker::RemoteWorker;
use crate::selfcheck::SelfCheck;
use crate::stats::{quantile_ms, Delta, Stats};
use crate::worker::Worker;
use crate::workload::{Entry, Workload};

/// A run's state, with Locust's names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// No run yet.
    #[default]
    Ready,
    /// Users are being started (or stopped) toward a new count.
    Spawning,
    /// At the wanted count.
    Running,
    /// The run ended; its statistics stay until the next start.
    Stopped,
}

impl State {
    /// The lower-case name Locust shows.
    pub fn name(self) -> &'static str {
        match self {
            State::Ready => "ready",
            State::Spawning => "spawning",
            State::Running => "running",
            State::Stopped => "stopped",
        }
    }
}

/// What a [`Swarm::start`] asks for.
#[derive(Clone, Debug)]
pub struct Start {
    /// Users wanted.
    pub users: usize,
    /// Users started (or stopped) per second on the way there.
    pub spawn_rate: f64,
    /// End the run after this long; `None`: until stopped.
    pub run_time: Option<Duration>,
    /// Open model: requests per second at intended send times (`users` connections).
    pub rate: Option<f64>,
    /// Open model: ramp the rate from 0 over this long.
    pub rate_ramp: Duration,
    /// A new workload for this run (another host, say); `None`: the engine's current one. Only
    /// used when no run is under way.
    pub workload: Option<Workload>,
}

impl Start {
    /// The run a [`Plan`] describes.
    pub fn from_plan(plan: &Plan) -> Start {
        Start {
            users: plan.users,
            spawn_rate: plan.spawn_rate,
            run_time: plan.run_time,
            rate: plan.rate,
            rate_ramp: plan.rate_ramp,
            workload: None,
        }
    }
}

/// What the web UI, the CLI and the Locust worker may read, as the controller last left it.
pub struct View {
    /// Statistics of the current run (since its start or the last reset).
    pub stats: Stats,
    /// State, users, CPU, saturation.
    pub status: Status,
    /// One row per second of the current run (older rows thinned, see [`History`]).
    pub history: History,
    /// The current run's workload.
    pub workload: Arc<Workload>,
    /// The statistics rows' names (the workload's, then any its users named as they went).
    pub names: Vec<Entry>,
    /// Most users at once in the current run.
    pub peak_users: usize,
    /// Requests before the first failure (`stop_on_failure`).
    pub before_first_failure: Option<u64>,
    /// Why the current run ended, once it has.
    pub ended: Option<Ended>,
    /// The run's length so far (or in all, once ended).
    pub duration: Duration,
    /// Why the run could not go on, if it could not.
    pub fatal: Option<String>,
    /// The seed of the users' random choices.
    pub seed: u64,
}

impl View {
    /// The statistics rows' names.
    pub fn entries(&self) -> &[Entry] {
        &self.names
    }

    /// A [`Summary`] of the run as it stands.
    pub fn summary(&self) -> Summary {
        Summary {
            fatal: self.fatal.clone(),
            stats: self.stats.clone(),
            entries: self.names.clone(),
            history: self.history.rows(),
            duration: self.duration,
            peak_users: self.peak_users,
            before_first_failure: self.before_first_failure,
            saturated: self.status.saturated.clone(),
            delayed: crate::selfcheck::delay_verdict(&self.stats.read_delay, &self.stats.total),
            ended: self.ended.unwrap_or(Ended::Interrupted),
            seed: self.seed,
        }
    }
}

/// What subscribers hear.
#[derive(Clone, Debug)]
pub enum Event {
    /// A second passed during a run: its history row.
    Second(HistoryRow),
    /// The state changed.
    State(State),
    /// The engine quit: nothing more will come.
    Quit,
}

/// What the handle asks of the controller.
enum Command {
    Start(Box<Start>),
    Users {
        users: usize,
        spawn_rate: f64,
    },
    /// Users per class, the users added starting over this long.
    ClassUsers(Vec<usize>, f64),
    Rate(Option<f64>),
    Stop(Ended),
    Reset,
    /// Hand over every partial second now, then answer.
    Flush(Sender<()>),
    Quit,
}

struct Inner {
    commands: Sender<Command>,
    view: Mutex<View>,
    subscribers: Mutex<Vec<Sender<Event>>>,
    /// Hear every worker delta of the current run as it is merged (the Locust worker builds
    /// its reports to the master from them).
    delta_subscribers: Mutex<Vec<Sender<Arc<Delta>>>>,
    controller: Mutex<Option<JoinHandle<Summary>>>,
    summary: Mutex<Option<Summary>>,
    /// What the workers publish (requests in flight).
    shared: Arc<Shared>,
}

/// A handle to a running engine: steer it, read it, wait for it. Cheap to clone; every clone
/// steers the same engine.
#[derive(Clone)]
pub struct Swarm {
    inner: Arc<Inner>,
}

impl Swarm {
    /// Starts the engine's threads, with no users yet ([`State::Ready`]). `plan` gives the
    /// engine-wide options (threads, timeouts, stop on failure, stop timeout); its users, spawn
    /// rate, run time and rate are what [`Start::from_plan`] reads.
    pub fn new(workload: Workload, mut plan: Plan) -> Swarm {
        let threads = plan.threads.max(1);
        if plan.seed.is_none() {
            use rand::TryRng;
            plan.seed = Some(rand::rngs::SysRng.try_next_u64().unwrap_or_else(|_| {
                // no entropy from the OS (early boot): the clock, which still differs per run
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64)
            }));
        }
        let open = plan.rate.is_some();
        let shared = Arc::new(Shared::new(workload, plan));
        let (commands, command_rx) = mpsc::channel();
        let workload = shared.workload();
        let inner = Arc::new(Inner {
            commands,
            view: Mutex::new(View {
                stats: Stats::new(workload.entries.len(), unix_now(), open),
                status: Status::default(),
                history: History::default(),
                names: workload.entries.clone(),
                workload,
                peak_users: 0,
                before_first_failure: None,
                ended: None,
                duration: Duration::ZERO,
                fatal: None,
                seed: shared.plan.seed.unwrap_or_default(),
            }),
            subscribers: Mutex::new(Vec::new()),
            delta_subscribers: Mutex::new(Vec::new()),
            controller: Mutex::new(None),
            summary: Mutex::new(None),
            shared: Arc::clone(&shared),
        });
        let (tx, deltas) = mpsc::channel();
        let workers: Vec<_> = (0..threads)
            .map(|id| {
                let shared = Arc::clone(&shared);
                let tx = tx.clone();
                std::thread::Builder::new()
                    .name(format!("swarm-{id}"))
                    .spawn(move || match shared.workload().driver.clone() {
                        // remote users: a process of user code per worker; one that cannot
                        // start ends the run with the reason
                        Some(driver) => {
                            match RemoteWorker::new(id, threads, Arc::clone(&shared), &driver) {
                                Ok(w) => w.run(&tx),
                                Err(e) => shared.control.fatal(e.to_string()),
                            }
                        }
                        None => match Worker::new(id, threads, shared) {
                            Ok(w) => w.run(&tx),
                            Err(e) => panic!("cannot start a worker: {e}"),
                        },
                    })
                    .expect("spawn a worker thread")
            })
            .collect();
        let controller = Controller {
            check: SelfCheck::new(threads),
            shared,
            commands: command_rx,
            deltas,
            inner: Arc::clone(&inner),
            workers,
            state: State::Ready,
            run: 0,
            t0: Instant::now(),
            run_time: None,
            ramp: None,
            shape_classes: None,
            users: 0,
            classes: Vec::new(),
            drain_until: None,
            stopping: None,
            next_second: Instant::now(),
            last_requests: 0,
            last_late: 0,
        };
        let handle = std::thread::Builder::new()
            .name("swarm-control".into())
            .spawn(move || controller.run())
            .expect("spawn the controller thread");
        *lock(&inner.controller) = Some(handle);
        Swarm { inner }
    }

    /// Starts a run, or, while one is under way, changes its users and spawn rate (and rate).
    /// A new run starts from zero users with fresh statistics.
    pub fn start(&self, start: Start) {
        self.send(Command::Start(Box::new(start)));
    }

    /// Moves toward `users` at `spawn_rate` users per second (the web UI's Edit).
    pub fn set_users(&self, users: usize, spawn_rate: f64) {
        self.send(Command::Users { users, spawn_rate });
    }

    /// Sets users per class, in `Workload::classes` order (a Locust master's `spawn`: it paces
    /// the ramp itself, a step at a time); the users this adds start one after another as a
    /// ramp's step at `spawn_rate` does ([`crate::plan::step_start_span`]; infinite: all at
    /// once). Starts a run if none is under way.
    pub fn set_class_users(&self, counts: Vec<usize>, spawn_rate: f64) {
        self.send(Command::ClassUsers(counts, spawn_rate));
    }

    /// Sets the open model's rate (requests per second); `None` goes back to the closed model.
    pub fn set_rate(&self, rate: Option<f64>) {
        self.send(Command::Rate(rate));
    }

    /// Ends the current run (users stop, after the stop timeout if one was given).
    pub fn stop(&self) {
        self.send(Command::Stop(Ended::Stopped));
    }

    /// Ends the current run, saying why.
    pub fn stop_because(&self, why: Ended) {
        self.send(Command::Stop(why));
    }

    /// Clears the current run's statistics and history.
    pub fn reset_stats(&self) {
        self.send(Command::Reset);
    }

    /// Stops everything; [`Swarm::wait`] then returns the last run's summary.
    pub fn quit(&self) {
        self.send(Command::Quit);
    }

    /// Reads what the controller last published.
    pub fn view<R>(&self, f: impl FnOnce(&View) -> R) -> R {
        f(&lock(&self.inner.view))
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.view(|v| v.status.state)
    }

    /// Events from now on: a row per second of a run, state changes, the end.
    pub fn subscribe(&self) -> Receiver<Event> {
        let (tx, rx) = mpsc::channel();
        lock(&self.inner.subscribers).push(tx);
        rx
    }

    /// Makes every worker hand over what it measured so far (not at the end of its second) and
    /// waits until it is merged, so that [`Swarm::view`] then covers every request completed
    /// before the call (bounded: at most about 200 ms). For measuring windows shorter than a
    /// second, as a capacity search does.
    pub fn flush(&self) {
        let (tx, rx) = mpsc::channel();
        self.send(Command::Flush(tx));
        let _ = rx.recv_timeout(Duration::from_secs(2));
    }

    /// Requests sent and not yet answered (as the workers last published it: each does so
    /// every turn of its loop).
    pub fn in_flight(&self) -> usize {
        self.inner.shared.control.in_flight()
    }

    /// Every worker delta of the current run from now on, as the controller merges it: one per
    /// worker thread per second with requests in it.
    pub fn subscribe_deltas(&self) -> Receiver<Arc<Delta>> {
        let (tx, rx) = mpsc::channel();
        lock(&self.inner.delta_subscribers).push(tx);
        rx
    }

    /// Waits until the engine has quit; returns the last run's summary.
    pub fn wait(&self) -> Summary {
        if let Some(handle) = lock(&self.inner.controller).take() {
            let summary = handle.join().expect("the swarm controller panicked");
            *lock(&self.inner.summary) = Some(summary);
        }
        lock(&self.inner.summary)
            .clone()
            .expect("the summary of a finished engine")
    }

    fn send(&self, command: Command) {
        // After quit the controller is gone and the command has nothing left to steer.
        let _ = self.inner.commands.send(command);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A ramp of users from `from` to `to` at `rate` per second, from `t0`.
#[derive(Clone, Copy, Debug)]
struct Ramp {
    from: usize,
    to: usize,
    rate: f64,
    t0: Instant,
}

impl Ramp {
    /// Users wanted at `now`, in Locust's steps: `max(1, floor(rate))` users at once, the
    /// first step at once and one every `step / rate` s after it (`-u 10 -r 3`: 3, 6, 9, 10
    /// at 0, 1, 2 and 3 s; `-r 0.5`: one user every 2 s).
    fn at(&self, now: Instant) -> usize {
        let step = self.rate.floor().max(1.0);
        let elapsed = now.saturating_duration_since(self.t0).as_secs_f64();
        let steps = (elapsed * self.rate / step).floor();
        let users = if steps.is_finite() {
            ((steps + 1.0) * step).min(usize::MAX as f64) as usize
        } else {
            usize::MAX
        };
        if self.to >= self.from {
            self.from.saturating_add(users).min(self.to)
        } else {
            self.from.saturating_sub(users).max(self.to)
        }
    }

    /// How long `added` users of a step take to start ([`crate::plan::step_start_span`]).
    fn start_over(&self, added: usize) -> Duration {
        crate::plan::step_start_span(added, self.rate)
    }
}

struct Controller {
    shared: Arc<Shared>,
    commands: Receiver<Command>,
    deltas: Receiver<Delta>,
    inner: Arc<Inner>,
    workers: Vec<JoinHandle<()>>,
    state: State,
    /// The current run's number (deltas of other runs are dropped).
    run: u64,
    t0: Instant,
    run_time: Option<Duration>,
    ramp: Option<Ramp>,
    /// The classes a LoadTestShape chose (its `user_classes`), if it did, and the users per
    /// class when it chose them: as Locust's dispatcher does, the users it adds from there are
    /// of these classes only, and the users already running stay.
    shape_classes: Option<(Vec<usize>, Vec<usize>)>,
    /// Users wanted now, and their split by class (`classes` set explicitly by a master, or
    /// derived from `users` by the classes' weights).
    users: usize,
    classes: Vec<usize>,
    /// A stop with a stop timeout: in-flight requests may finish until then.
    drain_until: Option<Instant>,
    stopping: Option<Ended>,
    check: SelfCheck,
    next_second: Instant,
    last_requests: u64,
    last_late: u64,
}

impl Controller {
    fn run(mut self) -> Summary {
        loop {
            let quit = loop {
                match self.commands.try_recv() {
                    Ok(Command::Quit) | Err(mpsc::TryRecvError::Disconnected) => break true,
                    Ok(c) => self.command(c),
                    Err(mpsc::TryRecvError::Empty) => break false,
                }
            };
            if quit {
                return self.quit();
            }
            let now = Instant::now();
            self.merge();
            self.tick(now);
            // Wait for the next command, or 20 ms: a command is carried out at once.
            match self.commands.recv_timeout(Duration::from_millis(20)) {
                Ok(Command::Quit) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return self.quit()
                }
                Ok(c) => self.command(c),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
        }
    }

    fn command(&mut self, c: Command) {
        let now = Instant::now();
        match c {
            Command::Start(start) => {
                if matches!(self.state, State::Spawning | State::Running) {
                    if let Some(rate) = start.rate {
                        self.set_rate(Some(rate), now);
                    }
                    self.ramp_to(start.users, start.spawn_rate, now);
                } else {
                    self.new_run(*start, now);
                }
            }
            Command::Users { users, spawn_rate } => {
                if matches!(self.state, State::Spawning | State::Running) {
                    self.ramp_to(users, spawn_rate, now);
                }
            }
            Command::ClassUsers(counts, spawn_rate) => {
                if !matches!(self.state, State::Spawning | State::Running) {
                    let start = Start {
                        users: 0,
                        spawn_rate: 1.0,
                        run_time: None,
                        rate: None,
                        rate_ramp: Duration::ZERO,
                        workload: None,
                    };
                    self.new_run(start, now);
                }
                self.ramp = None;
                let n = self.shared.workload().classes.len();
                let mut counts = counts;
                counts.resize(n, 0);
                let users: usize = counts.iter().sum();
                let start_over =
                    crate::plan::step_start_span(users.saturating_sub(self.users), spawn_rate);
                self.users = users;
                self.classes = counts.clone();
                self.shared.control.set_targets(counts, start_over);
                self.set_state(State::Running);
            }
            Command::Rate(rate) => self.set_rate(rate, now),
            Command::Stop(why) => self.begin_stop(why, now),
            Command::Reset => {
                let open = self.shared.control.open().rate.is_some();
                let mut view = lock(&self.inner.view);
                view.stats = Stats::new(view.workload.entries.len(), unix_now(), open);
                view.history = History::default();
                view.before_first_failure = None;
                drop(view);
                self.shared.control.completed.store(0, Ordering::Relaxed);
                self.shared
                    .control
                    .first_failure
                    .store(u64::MAX, Ordering::Relaxed);
                (self.last_requests, self.last_late) = (0, 0);
            }
            Command::Flush(done) => {
                let asked = self.shared.control.flush_gen.fetch_add(1, Ordering::AcqRel) + 1;
                self.await_flush(asked, now + Duration::from_millis(200));
                let _ = done.send(());
            }
            Command::Quit => unreachable!("handled by the loop"),
        }
    }

    fn new_run(&mut self, start: Start, now: Instant) {
        let control = &self.shared.control;
        if let Some(w) = start.workload {
            *self
                .shared
                .workload
                .write()
                .unwrap_or_else(|e| e.into_inner()) = Arc::new(w);
        }
        let workload = self.shared.workload();
        *self.shared.names() = crate::control::Names::of(&workload.entries);
        self.run += 1;
        self.shape_classes = None;
        control.set_targets(vec![0; workload.classes.len()], Duration::ZERO);
        control.set_open(OpenSchedule {
            rate: start.rate,
            ramp: start.rate_ramp,
            t0: now,
        });
        control.completed.store(0, Ordering::Relaxed);
        control.first_failure.store(u64::MAX, Ordering::Relaxed);
        control.draining.store(false, Ordering::Relaxed);
        control.run.store(self.run, Ordering::Release);
        // Deltas still queued belong to the old run.
        while self.deltas.try_recv().is_ok() {}
        {
            let mut view = lock(&self.inner.view);
            view.stats = Stats::new(workload.entries.len(), unix_now(), start.rate.is_some());
            view.history = History::default();
            view.names = workload.entries.clone();
            view.workload = workload;
            view.peak_users = 0;
            view.before_first_failure = None;
            view.ended = None;
            view.duration = Duration::ZERO;
            view.status = Status::default();
        }
        self.t0 = now;
        self.run_time = start.run_time;
        self.users = 0;
        self.classes.clear();
        self.drain_until = None;
        self.stopping = None;
        self.check = SelfCheck::new(self.workers.len());
        self.next_second = now + Duration::from_secs(1);
        (self.last_requests, self.last_late) = (0, 0);
        self.set_state(State::Spawning);
        // the history starts at the start, as Locust's does: no users, no requests yet
        let first = {
            let mut view = lock(&self.inner.view);
            let row = history_row(&view.stats, 0);
            view.history.push(row.clone());
            row
        };
        self.publish(Event::Second(first));
        if start.rate.is_some() {
            // Open model: every connection at once; the schedule paces the requests.
            self.ramp = None;
            self.set_users(start.users, Duration::ZERO);
            self.set_state(State::Running);
        } else {
            self.ramp_to(start.users, start.spawn_rate, now);
        }
    }

    fn ramp_to(&mut self, users: usize, spawn_rate: f64, now: Instant) {
        // every face bounds what it is given; a LoadTestShape's answer is bounded here
        let users = users.min(crate::plan::MAX_USERS);
        if users == self.users {
            self.ramp = None;
            self.set_state(State::Running);
            return;
        }
        self.ramp = Some(Ramp {
            from: self.users,
            to: users,
            rate: spawn_rate,
            t0: now,
        });
        self.set_state(State::Spawning);
        self.advance_ramp(now);
    }

    fn advance_ramp(&mut self, now: Instant) {
        let Some(ramp) = self.ramp else { return };
        let wanted = ramp.at(now);
        if wanted != self.users {
            self.set_users(wanted, ramp.start_over(wanted.saturating_sub(self.users)));
        }
        if wanted == ramp.to {
            self.ramp = None;
            self.set_state(State::Running);
        }
    }

    /// Sets the total users, split over the classes (fixed counts first, then by weight); the
    /// users added start over `start_over`.
    fn set_users(&mut self, users: usize, start_over: Duration) {
        let workload = self.shared.workload();
        let counts = match &self.shape_classes {
            // above the users running when the shape chose: those, and the rest of its classes
            Some((chosen, base)) if users >= base.iter().sum::<usize>() => {
                let added = workload.split_among(users - base.iter().sum::<usize>(), Some(chosen));
                base.iter().zip(added).map(|(b, a)| b + a).collect()
            }
            // below them (Locust stops the users it started last): by weight, as without
            _ => workload.split(users),
        };
        self.users = users;
        self.classes = counts.clone();
        self.shared.control.set_targets(counts, start_over);
    }

    fn set_rate(&mut self, rate: Option<f64>, now: Instant) {
        self.shared.control.set_open(OpenSchedule {
            rate,
            ramp: Duration::ZERO,
            t0: now,
        });
    }

    fn begin_stop(&mut self, why: Ended, now: Instant) {
        if !matches!(self.state, State::Spawning | State::Running) || self.stopping.is_some() {
            return;
        }
        self.stopping = Some(why);
        self.ramp = None;
        let timeout = self.shared.plan.stop_timeout;
        if timeout.is_zero() || why != Ended::RunTime {
            self.finish_stop(now);
        } else {
            self.shared.control.draining.store(true, Ordering::Relaxed);
            self.drain_until = Some(now + timeout);
        }
    }

    fn finish_stop(&mut self, now: Instant) {
        self.drain_until = None;
        let n = self.classes.len();
        self.users = 0;
        self.classes = vec![0; n];
        let shared = Arc::clone(&self.shared);
        shared.control.set_targets(vec![0; n], Duration::ZERO);
        shared.control.draining.store(false, Ordering::Relaxed);
        // Users with on_stop steps run them on the way out (as Locust's do): wait for them,
        // bounded by the request timeout.
        let until = now + shared.plan.timeout;
        while shared.control.alive() > 0 && Instant::now() < until {
            self.merge();
            std::thread::sleep(Duration::from_millis(2));
        }
        // Every worker hands over its partial second now; wait (briefly) for all of it, so
        // that a reader who sees `Stopped` sees the whole run.
        let asked = shared.control.flush_gen.fetch_add(1, Ordering::AcqRel) + 1;
        self.await_flush(asked, now + Duration::from_millis(200));
        {
            let mut view = lock(&self.inner.view);
            view.ended = self.stopping;
            view.duration = now - self.t0;
            view.fatal = shared.control.fatal_reason();
        }
        self.set_state(State::Stopped);
    }

    /// Merges deltas until every worker has answered flush request `asked` (each sends its
    /// partial delta, if any, and `flushed` counts them) or `until` passes.
    fn await_flush(&mut self, asked: u64, until: Instant) {
        let shared = Arc::clone(&self.shared);
        while Instant::now() < until
            && shared
                .control
                .flushed
                .iter()
                .any(|f| f.load(Ordering::Acquire) < asked)
        {
            self.merge();
            std::thread::sleep(Duration::from_millis(1));
        }
        self.merge();
    }

    fn set_state(&mut self, state: State) {
        if self.state == state {
            return;
        }
        self.state = state;
        lock(&self.inner.view).status.state = state;
        self.publish(Event::State(state));
    }

    fn publish(&self, event: Event) {
        lock(&self.inner.subscribers).retain(|tx| tx.send(event.clone()).is_ok());
    }

    /// Merges every delta the workers handed over, and passes it on to delta subscribers.
    fn merge(&mut self) {
        let mut view = None;
        let mut taps = None;
        while let Ok(d) = self.deltas.try_recv() {
            if d.run != self.run {
                continue;
            }
            view.get_or_insert_with(|| lock(&self.inner.view))
                .stats
                .merge(&d);
            let taps = taps.get_or_insert_with(|| lock(&self.inner.delta_subscribers));
            if !taps.is_empty() {
                let d = Arc::new(d);
                taps.retain(|tx| tx.send(Arc::clone(&d)).is_ok());
            }
        }
        // names a remote user gave since (a worker names a row before it records into it, so
        // every row merged above has its name by now)
        if let Some(view) = view.as_mut() {
            let names = self.shared.names();
            if names.list.len() > view.names.len() {
                let new = names.list[view.names.len()..].to_vec();
                view.names.extend(new);
            }
        }
    }

    fn tick(&mut self, now: Instant) {
        let running = matches!(self.state, State::Spawning | State::Running);
        if !running {
            return;
        }
        // a second's row counts the users before the step due in the same instant, as Locust's
        // does (its writer runs before its spawner adds the step): at -r 250, 0, 250, 500...
        let users_before = self.users;
        self.advance_ramp(now);
        let shared = Arc::clone(&self.shared);
        let control = &shared.control;
        if let Some(until) = self.drain_until {
            if now >= until || control.in_flight() == 0 {
                self.finish_stop(now);
                return;
            }
        }
        let elapsed = now - self.t0;
        // the run's end comes before a row due in the same instant (Locust's last row of a
        // `-t 6s` run is its fifth second's)
        let ending = self.stopping.is_none()
            && self.drain_until.is_none()
            && self.run_time.is_some_and(|t| elapsed >= t);
        if now >= self.next_second && !ending {
            self.next_second += Duration::from_secs(1);
            if self.next_second <= now {
                self.next_second = now + Duration::from_secs(1);
            }
            // the row's totals as of now, as Locust's live ones are: every worker hands over
            // its partial second (they hand over at wall-clock seconds, not at the run's)
            let asked = self.shared.control.flush_gen.fetch_add(1, Ordering::AcqRel) + 1;
            self.await_flush(asked, now + Duration::from_millis(50));
            let cpu = self.check.sample();
            let pids = self
                .shared
                .control
                .pids
                .lock()
                .map(|p| p.clone())
                .unwrap_or_default();
            let python = self.check.sample_python(&pids, 1.0);
            let mut view = lock(&self.inner.view);
            let sends = view.stats.total.num_requests - self.last_requests;
            let late = view.stats.late_sends - self.last_late;
            (self.last_requests, self.last_late) =
                (view.stats.total.num_requests, view.stats.late_sends);
            if view.status.saturated.is_none() {
                view.status.saturated = self
                    .check
                    .verdict(cpu, late, sends)
                    .or_else(|| self.check.python_verdict(python, cpu));
            }
            view.status.cpu = cpu;
            view.status.delayed =
                crate::selfcheck::delay_verdict(&view.stats.read_delay, &view.stats.total);
            let row = history_row(&view.stats, users_before);
            view.history.push(row.clone());
            drop(view);
            self.publish(Event::Second(row));
        }
        {
            let mut view = lock(&self.inner.view);
            view.status.users = self.users;
            view.status.class_users.clone_from(&self.classes);
            view.status.elapsed = elapsed;
            view.duration = elapsed;
            view.peak_users = view.peak_users.max(self.users);
            let first = control.first_failure.load(Ordering::Relaxed);
            view.before_first_failure = (first != u64::MAX).then_some(first);
        }
        if self.stopping.is_none() {
            if control.fatal_reason().is_some() {
                self.begin_stop(Ended::Crashed, now);
            } else if control.quit_run.swap(false, Ordering::Relaxed) {
                self.begin_stop(Ended::UserQuit, now);
            } else if let Some(step) = control.take_shape() {
                match step {
                    ShapeStep::End => self.begin_stop(Ended::Shape, now),
                    // a rate of 0 (or less): at once
                    ShapeStep::Users(users, rate, classes) => {
                        if classes.as_ref() != self.shape_classes.as_ref().map(|(c, _)| c) {
                            let mut base = self.classes.clone();
                            base.resize(self.shared.workload().classes.len(), 0);
                            self.shape_classes = classes.map(|c| (c, base));
                        }
                        self.ramp_to(users, if rate > 0.0 { rate } else { f64::INFINITY }, now)
                    }
                }
            } else if self.shared.plan.stop_on_failure
                && control.first_failure.load(Ordering::Relaxed) != u64::MAX
            {
                self.begin_stop(Ended::Failure, now);
            } else if self.run_time.is_some_and(|t| elapsed >= t) {
                self.begin_stop(Ended::RunTime, now);
            }
        }
    }

    fn quit(mut self) -> Summary {
        let now = Instant::now();
        if matches!(self.state, State::Spawning | State::Running) {
            self.stopping.get_or_insert(Ended::Interrupted);
            self.finish_stop(now);
        }
        self.shared.control.quit.store(true, Ordering::Relaxed);
        for w in std::mem::take(&mut self.workers) {
            let _ = w.join();
        }
        self.merge();
        let summary = {
            let mut view = lock(&self.inner.view);
            if view.status.state == State::Ready {
                view.ended = Some(Ended::Interrupted);
            }
            view.summary()
        };
        self.publish(Event::Quit);
        summary
    }
}

/// Runs a swarm to its end, headless: starts the run `plan` describes, calls `observer` every
/// second, and ends on the run time, the first failure (`stop_on_failure`) or `stop` (checked
/// every 20 ms: set it from a signal handler).
pub fn run(
    workload: Workload,
    plan: Plan,
    stop: &AtomicBool,
    observer: &mut dyn Observer,
) -> Summary {
    drive(&Swarm::new(workload, plan.clone()), &plan, stop, observer)
}

/// [`run`] on an engine the caller made (and may show elsewhere, as compare shows it in the
/// web UI); quits it at the end.
pub fn drive(
    swarm: &Swarm,
    plan: &Plan,
    stop: &AtomicBool,
    observer: &mut dyn Observer,
) -> Summary {
    let events = swarm.subscribe();
    swarm.start(Start::from_plan(plan));
    let mut interrupted = false;
    loop {
        match events.recv_timeout(Duration::from_millis(20)) {
            Ok(Event::Second(row)) => swarm.view(|v| {
                // the second's user count is its row's (before a step due at that instant)
                let mut status = v.status.clone();
                status.users = row.users;
                observer.second(&v.stats, &v.names, &status)
            }),
            Ok(Event::State(State::Stopped)) | Ok(Event::Quit) => break,
            Ok(Event::State(_)) | Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if !interrupted && stop.load(Ordering::Relaxed) {
            interrupted = true;
            swarm.stop_because(Ended::Interrupted);
        }
    }
    swarm.quit();
    let summary = swarm.wait();
    swarm.view(|v| {
        let mut status = v.status.clone();
        status.elapsed = summary.duration;
        observer.second(&summary.stats, &summary.entries, &status);
    });
    summary
}

fn history_row(stats: &Stats, users: usize) -> HistoryRow {
    let (rps, fps) = stats.current_rates(None);
    let now = unix_now() as u64;
    let window = stats.current_window(None, now);
    HistoryRow {
        time: now,
        users,
        rps,
        fps,
        p50_ms: quantile_ms(&window, 0.5),
        p95_ms: quantile_ms(&window, 0.95),
        p99_ms: quantile_ms(&window, 0.99),
        completed_2s_ago: stats.requests_in_second(now.saturating_sub(2)),
    }
}

/// What the controller knows each second, besides the statistics.
#[derive(Clone, Debug, Default)]
pub struct Status {
    /// Where the run is.
    pub state: State,
    /// Users running (the controller's target; workers follow within a loop turn).
    pub users: usize,
    /// Users running per class, in `Workload::classes` order.
    pub class_users: Vec<usize>,
    /// Since the start.
    pub elapsed: Duration,
    /// The generator's CPU use over the last second, as a share of the cores its threads can use.
    pub cpu: f64,
    /// Why the generator is saturated, once it has been.
    pub saturated: Option<String>,
    /// Why the generator's own read delay is a noticeable part of the response times so far,
    /// when it is (the whole run's figures, judged each second).
    pub delayed: Option<String>,
}

/// Gets the statistics as the run goes.
pub trait Observer {
    /// Called about once per second with everything merged so far and the rows' names.
    fn second(&mut self, stats: &Stats, entries: &[Entry], status: &Status);
}

impl Observer for () {
    fn second(&mut self, _: &Stats, _: &[Entry], _: &Status) {}
}

/// Why the run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ended {
    /// `--run-time` elapsed.
    RunTime,
    /// `--stop-on-failure` saw a failure.
    Failure,
    /// Interrupted (SIGINT/SIGTERM or the caller's stop flag).
    Interrupted,
    /// Stopped from outside: the web UI's Stop, a Locust master's `stop`.
    Stopped,
    /// User code ended it (`self.environment.runner.quit()`).
    UserQuit,
    /// The LoadTestShape's `tick()` returned None.
    Shape,
    /// It could not go on: a process of user code died (see [`Summary::fatal`]).
    Crashed,
}

/// The outcome of a run.
#[derive(Clone, Debug)]
pub struct Summary {
    /// Why the run could not go on ([`Ended::Crashed`]).
    pub fatal: Option<String>,
    /// Everything merged.
    pub stats: Stats,
    /// The statistics rows' names.
    pub entries: Vec<Entry>,
    /// One row per second.
    pub history: Vec<HistoryRow>,
    /// Start to stop.
    pub duration: Duration,
    /// Most users running at once.
    pub peak_users: usize,
    /// Requests completed before the first failure (`--stop-on-failure`).
    pub before_first_failure: Option<u64>,
    /// Why the generator was saturated, if it was.
    pub saturated: Option<String>,
    /// Why the generator's own read delay is a noticeable part of the run's response times,
    /// if it is ([`Stats::read_delay`] against [`Stats::total`]).
    pub delayed: Option<String>,
    /// Why the run ended.
    pub ended: Ended,
    /// The seed of the users' random choices (`--seed` repeats them).
    pub seed: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Users come in Locust's steps: `floor(rate)` at once, a step per second.
    #[test]
    fn ramps_step_as_locust_spawns() {
        let t0 = Instant::now();
        let ramp = |from, to, rate| Ramp { from, to, rate, t0 };
        let at = |r: Ramp, s: f64| r.at(t0 + Duration::from_secs_f64(s));
        let up = ramp(0, 10, 3.0);
        let seen: Vec<usize> = [0.0, 0.5, 1.0, 1.9, 2.0, 3.0, 9.0]
            .iter()
            .map(|&s| at(up, s))
            .collect();
        assert_eq!(seen, [3, 3, 6, 6, 9, 10, 10]);
        let slow = ramp(0, 3, 0.5);
        let seen: Vec<usize> = [0.0, 1.9, 2.0, 4.0].iter().map(|&s| at(slow, s)).collect();
        assert_eq!(seen, [1, 1, 2, 3]);
        let down = ramp(10, 4, 2.0);
        let seen: Vec<usize> = [0.0, 1.0, 2.0, 5.0].iter().map(|&s| at(down, s)).collect();
        assert_eq!(seen, [8, 6, 4, 4]);
        assert_eq!(at(ramp(0, 7, f64::INFINITY), 0.0), 7);
    }

    /// Issue 26: a big step's users start one after another, not in one instant (10,000 users
    /// at 1,000/s started a thousand at a time stayed in lockstep under constant(1)); a small
    /// step starts within milliseconds, as under Locust.
    #[test]
    fn a_steps_users_start_over_the_step() {
        let t0 = Instant::now();
        let ramp = |rate| Ramp {
            from: 0,
            to: 10_000,
            rate,
            t0,
        };
        assert_eq!(ramp(1000.0).start_over(1000), Duration::from_secs(1));
        assert_eq!(
            ramp(10_000.0).start_over(10_000),
            Duration::from_millis(1000)
        );
        assert_eq!(ramp(3.0).start_over(3), Duration::from_millis(3));
        assert_eq!(ramp(0.5).start_over(1), Duration::from_millis(1));
        assert_eq!(ramp(f64::INFINITY).start_over(7), Duration::ZERO);
        assert_eq!(ramp(1000.0).start_over(0), Duration::ZERO);
    }
}
