//! What the steering handle ([`crate::engine::Swarm`]) and the controller thread
//! ([`crate::controller`]) share: the commands one sends the other, the view the controller
//! keeps for readers, a run's states, its events and how it ended.

use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::control::Shared;
use crate::history::{History, HistoryRow};
use crate::plan::Plan;
use crate::stats::{Delta, Stats};
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

/// What a [`Swarm::start`](crate::Swarm::start) asks for.
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
    /// What the engine's other processes used, once they are reaped (at quit).
    pub engine_processes: crate::sys::Usage,
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
            engine_processes: self.engine_processes,
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
pub(crate) enum Command {
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
    Flush(Sender<bool>),
    Quit,
}

pub(crate) struct Inner {
    pub(crate) commands: Sender<Command>,
    pub(crate) view: Mutex<View>,
    pub(crate) subscribers: Mutex<Vec<Sender<Event>>>,
    /// Hear every worker delta of the current run as it is merged (the Locust worker builds
    /// its reports to the master from them).
    pub(crate) delta_subscribers: Mutex<Vec<Sender<Arc<Delta>>>>,
    pub(crate) controller: Mutex<Option<JoinHandle<Summary>>>,
    pub(crate) summary: Mutex<Option<Summary>>,
    /// What the workers publish (requests in flight).
    pub(crate) shared: Arc<Shared>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
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
    /// What the engine's other processes ([`crate::plan::Plan::processes`]) used, reaped by
    /// the time this was made: a caller that measures its children (a server) takes this out.
    pub engine_processes: crate::sys::Usage,
}
