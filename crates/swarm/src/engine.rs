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
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::clock::unix_now;
use crate::control::Shared;
use crate::controller::Controller;
use crate::event_loop::{self, Core};
use crate::history::History;
use crate::plan::Plan;
use crate::process_users::ProcessUsers;
use crate::program_users::ProgramUsers;
use crate::stats::{Delta, Stats};
use crate::workload::{Entry, Workload};

use crate::steering::{lock, Command, Inner};
pub use crate::steering::{Ended, Event, Start, State, Status, Summary, View};

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
        // the compiled program's users may run in processes of the engine, each standing in
        // one slot here for its threads
        let processes = plan.processes.clone().filter(|_| workload.driver.is_none());
        let slots = processes.as_ref().map_or(threads, |p| p.count.max(1));
        let all_threads = processes
            .as_ref()
            .map_or(threads, |p| p.count.max(1) * p.threads_each(threads));
        let shared = Arc::new(Shared::new(workload, plan, slots));
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
                engine_processes: Default::default(),
            }),
            subscribers: Mutex::new(Vec::new()),
            delta_subscribers: Mutex::new(Vec::new()),
            controller: Mutex::new(None),
            summary: Mutex::new(None),
            shared: Arc::clone(&shared),
        });
        let (tx, deltas) = mpsc::channel();
        let workers: Vec<_> = match processes {
            Some(p) => (0..slots)
                .map(|k| crate::processes::proxy(k, &p, Arc::clone(&shared), tx.clone()))
                .collect(),
            None => (0..threads)
                .map(|id| {
                    let shared = Arc::clone(&shared);
                    let tx = tx.clone();
                    std::thread::Builder::new()
                        .name(format!("swarm-{id}"))
                        .spawn(move || {
                            let driver = shared.workload().driver.clone();
                            let core = match Core::new(
                                id,
                                (id, threads),
                                Arc::clone(&shared),
                                driver.is_none(),
                            ) {
                                Ok(core) => core,
                                Err(e) => panic!("cannot start a worker: {e}"),
                            };
                            match driver {
                                // a process of user code per worker; one that cannot start ends
                                // the run with the reason
                                Some(driver) => match ProcessUsers::new(&core, &driver) {
                                    Ok(users) => event_loop::run(core, users, &tx),
                                    Err(e) => shared.control.fatal(e.to_string()),
                                },
                                None => {
                                    let users = ProgramUsers::new(&core);
                                    event_loop::run(core, users, &tx)
                                }
                            }
                        })
                        .expect("spawn a worker thread")
                })
                .collect(),
        };
        let controller = Controller::new(
            shared,
            command_rx,
            deltas,
            Arc::clone(&inner),
            workers,
            all_threads,
        );
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
    /// second, as a capacity search does. False when some worker had not handed over by then
    /// (a loaded machine): the view may then lack its latest requests.
    pub fn flush(&self) -> bool {
        let (tx, rx) = mpsc::channel();
        self.send(Command::Flush(tx));
        rx.recv_timeout(Duration::from_secs(2)).unwrap_or(false)
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

/// Gets the statistics as the run goes.
pub trait Observer {
    /// Called about once per second with everything merged so far and the rows' names.
    fn second(&mut self, stats: &Stats, entries: &[Entry], status: &Status);
}

impl Observer for () {
    fn second(&mut self, _: &Stats, _: &[Entry], _: &Status) {}
}
