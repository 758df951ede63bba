//! A worker of a stock Locust master (`locust --master`, 2.47): the master keeps its web UI,
//! CSVs and report; this process does the requests, through the steering handle.
//!
//! ZeroMQ DEALER (the `zeromq` crate) with identity = node id (`hostname_<uuid hex>`), msgpack
//! `[type, data, node_id]` arrays ([`rmpv`]), message by message as Locust's
//! `runners.py` exchanges them: `client_ready` (-1) resent every 5 s until `ack`; a heartbeat every second;
//! `spawn` (absolute per-class counts at the master's pace; older timestamps dropped) answered
//! with `spawning` and `spawning_complete`; `stats` every 3 s as deltas in Locust's format
//! ([`report`]); `stop` -> `client_stopped`, then `client_ready` after the stop timeout; `quit`
//! -> final stats, then `quit`; `reconnect` rebuilds the socket; no master heartbeat for the
//! timeout (60 s, as Locust) ends the worker with an error. A frame that does not decode is
//! reported and skipped.
//!
//! User classes go by name: the master spawns its locustfile's classes; a workload class with
//! that name runs them. A workload with one class runs any class name (said once).

pub mod report;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmpv::Value;
use zeromq::{Socket, SocketRecv, SocketSend, ZmqMessage};

use report::{map, Report};
use swarmlab_swarm::engine::{Start, State, Swarm};
use swarmlab_swarm::plan::Plan;
use swarmlab_swarm::stats::Delta;
use swarmlab_swarm::target::Target;
use swarmlab_swarm::workload::Workload;

/// Locust's timings (`runners.py`).
const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(1);
const REPORT_INTERVAL: Duration = Duration::from_secs(3);
const CONNECT_RETRY: Duration = Duration::from_secs(5);
const CONNECT_RETRIES: u32 = 60;
/// After the last messages: `send` only queues them for the socket's writer task, so the
/// worker gives it this long before the runtime (and the queue) goes, as ZeroMQ's
/// `ZMQ_LINGER` does. Well inside the 0.5 s a quitting master waits for final reports.
const LINGER: Duration = Duration::from_millis(200);
/// After SIGINT/SIGTERM, how long the goodbye to the master (final reports, `quit`) may take
/// before the worker ends without it: a master that stopped reading cannot hold it.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// Returns once `stop` is set (a signal handler sets it; checked every 50 ms).
async fn stopped(stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How the worker reaches its master.
#[derive(Clone, Debug)]
pub struct WorkerOptions {
    /// The master's host. By default, 127.0.0.1.
    pub master_host: String,
    /// The master's port. By default, 5557.
    pub master_port: u16,
    /// Quit when no master heartbeat came for this long, once one has. By default, 60 s.
    pub heartbeat_timeout: Duration,
}

impl Default for WorkerOptions {
    fn default() -> WorkerOptions {
        WorkerOptions {
            master_host: "127.0.0.1".into(),
            master_port: 5557,
            heartbeat_timeout: Duration::from_secs(60),
        }
    }
}

/// Why a worker stopped other than by the master's `quit`.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The master stopped answering.
    #[error("lost the Locust master at {endpoint}: no heartbeat for {secs} s")]
    MasterLost {
        /// `tcp://host:port`.
        endpoint: String,
        /// The timeout.
        secs: u64,
    },
    /// No `ack` to `client_ready`.
    #[error("no answer from a Locust master at {endpoint} after {tries} tries, 5 s apart (is `locust --master` running there, version 2.10 or later?)")]
    NoAck {
        /// `tcp://host:port`.
        endpoint: String,
        /// `client_ready` messages sent.
        tries: u32,
    },
    /// The master spawns a class this worker cannot run.
    #[error("the master spawns user class '{class}', which this worker's scenario does not define (it has: {have}); give the worker a scenario with that class (swarmlab swarm --print-locustfile prints a matching locustfile for the master)")]
    UnknownClass {
        /// The master's class name.
        class: String,
        /// Ours, comma-separated.
        have: String,
    },
    /// The master asks for more users than a run may have.
    #[error("the master asks this worker for {0} users; a run has at most {max}", max = swarmlab_swarm::MAX_USERS)]
    TooManyUsers(u64),
    /// Nothing to load: neither the worker nor the master gave a host.
    #[error("no host to load: start the master with -H/--host, or this worker with -H or a scenario whose classes name their hosts")]
    NoHost,
    /// The master's host cannot be used.
    #[error("the master's host cannot be used: {0}")]
    BadHost(String),
    /// ZeroMQ failed.
    #[error("zeromq: {0}")]
    Transport(String),
    /// Interrupted (SIGINT/SIGTERM); the master was told.
    #[error("interrupted")]
    Interrupted,
}

/// This worker's node id: `hostname_<uuid4 hex>`, as Locust makes it (the master groups
/// workers by the part before the first `_`).
pub fn node_id() -> String {
    let host = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .replace('_', "-");
    format!("{host}_{}", uuid::Uuid::new_v4().simple())
}

/// Where the worker puts its engine once the master's first `spawn` makes it, so that others
/// (the CLI's CSV files and status line) can read it; the worker leaves it running: the caller
/// quits it and takes its summary.
pub type SwarmSlot = Arc<Mutex<Option<Swarm>>>;

/// Runs as a worker until the master says `quit` (`Ok`), the master is lost, or `stop` is set.
/// `workload` is what users do (`None`: the default user against the master's host); `log`
/// gets one line per event worth telling.
pub fn run(
    workload: Option<Workload>,
    plan: Plan,
    opts: &WorkerOptions,
    stop: &AtomicBool,
    slot: &SwarmSlot,
    log: &mut dyn FnMut(&str),
) -> Result<(), WorkerError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| WorkerError::Transport(e.to_string()))?;
    let mut w = Worker {
        endpoint: format!("tcp://{}:{}", opts.master_host, opts.master_port),
        node_id: node_id(),
        opts: opts.clone(),
        base: workload,
        plan,
        slot: Arc::clone(slot),
        deltas: None,
        report: Report::new(swarmlab_swarm::clock::unix_now()),
        state: WorkerState::Ready,
        classes: Value::Map(Vec::new()),
        user_count: 0,
        last_spawn: f64::NEG_INFINITY,
        stop_timeout: Duration::ZERO,
        said_single_class: false,
        cpu: CpuMeter::new(),
    };
    let result = runtime.block_on(async {
        let session = w.session(stop, log);
        tokio::pin!(session);
        tokio::select! {
            r = &mut session => r,
            _ = async {
                stopped(stop).await;
                tokio::time::sleep(STOP_GRACE).await;
            } => Err(WorkerError::Interrupted),
        }
    });
    if let Some(s) = w.swarm() {
        s.stop();
    }
    result
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WorkerState {
    Ready,
    Spawning,
    Running,
}

impl WorkerState {
    fn name(self) -> &'static str {
        match self {
            WorkerState::Ready => "ready",
            WorkerState::Spawning => "spawning",
            WorkerState::Running => "running",
        }
    }
}

struct Worker {
    endpoint: String,
    node_id: String,
    opts: WorkerOptions,
    /// The workload before the master's host is applied.
    base: Option<Workload>,
    plan: Plan,
    slot: SwarmSlot,
    deltas: Option<Receiver<Arc<Delta>>>,
    report: Report,
    state: WorkerState,
    /// The master's last `user_classes_count`, echoed back (the master counts users from it).
    classes: Value,
    user_count: u64,
    last_spawn: f64,
    stop_timeout: Duration,
    said_single_class: bool,
    cpu: CpuMeter,
}

/// A frame from the master, or why receiving failed.
type Inbound = Result<Vec<u8>, String>;

/// A connection to the master: the sending half of the DEALER, and the task that forwards
/// what arrives (stopped when the link is dropped).
struct Link {
    send: zeromq::DealerSendHalf,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for Link {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// A DEALER socket with identity `node_id`, connected to `endpoint` (within 5 s); its
/// receiving half runs in a task that forwards every frame to `tx`, so a send never waits on
/// a receive.
async fn open(
    endpoint: &str,
    node_id: &str,
    tx: tokio::sync::mpsc::UnboundedSender<Inbound>,
) -> Result<Link, WorkerError> {
    let mut options = zeromq::SocketOptions::default();
    options.connect_timeout(CONNECT_RETRY);
    let identity = zeromq::util::PeerIdentity::try_from(node_id.as_bytes().to_vec())
        .map_err(|e| WorkerError::Transport(e.to_string()))?;
    options.peer_identity(identity);
    let mut socket = zeromq::DealerSocket::with_options(options);
    // the option bounds the TCP connect; this, the greeting and handshake after it too
    match tokio::time::timeout(CONNECT_RETRY * 2, socket.connect(endpoint)).await {
        Ok(r) => r.map_err(|e| WorkerError::Transport(format!("connecting to {endpoint}: {e}")))?,
        Err(_) => {
            return Err(WorkerError::Transport(format!(
                "connecting to {endpoint}: no ZeroMQ handshake within {} s",
                (CONNECT_RETRY * 2).as_secs()
            )))
        }
    }
    let (send, mut recv) = socket.split();
    let reader = tokio::spawn(async move {
        loop {
            let item = match recv.recv().await {
                Ok(m) => Ok(m.into_vec().into_iter().flat_map(|b| b.to_vec()).collect()),
                Err(e) => Err(e.to_string()),
            };
            let failed = item.is_err();
            if tx.send(item).is_err() || failed {
                return;
            }
        }
    });
    Ok(Link { send, reader })
}

/// One decoded message from the master.
struct Message {
    kind: String,
    data: Value,
}

fn decode(frame: &[u8]) -> Result<Message, String> {
    let value = rmpv::decode::read_value(&mut &frame[..]).map_err(|e| e.to_string())?;
    match value {
        Value::Array(mut parts) if parts.len() == 3 => {
            let data = std::mem::replace(&mut parts[1], Value::Nil);
            match parts[0].as_str() {
                Some(kind) => Ok(Message {
                    kind: kind.to_string(),
                    data,
                }),
                None => Err("the message type is not a string".into()),
            }
        }
        other => Err(format!("not a [type, data, node_id] array: {other}")),
    }
}

fn get<'a>(data: &'a Value, key: &str) -> Option<&'a Value> {
    data.as_map()?
        .iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, v)| v)
}

/// The state of the conversation with the master.
struct Conversation {
    /// Where the link's reader forwards frames.
    tx: tokio::sync::mpsc::UnboundedSender<Inbound>,
    link: Option<Link>,
    /// The master acknowledged this worker's `client_ready`.
    acked: bool,
    ready_sent_at: Option<Instant>,
    tries: u32,
    last_master_heartbeat: Option<Instant>,
    /// A stop's timeout runs until then; then `client_ready` again.
    ready_due: Option<Instant>,
    bad_frames: u64,
}

/// Whether the session goes on.
enum Flow {
    Go,
    Done(Result<(), WorkerError>),
}

impl Worker {
    fn swarm(&self) -> Option<Swarm> {
        self.slot.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn encode(&self, kind: &str, data: Value) -> ZmqMessage {
        let msg = Value::Array(vec![
            Value::from(kind),
            data,
            Value::from(self.node_id.as_str()),
        ]);
        let mut bytes = Vec::new();
        rmpv::encode::write_value(&mut bytes, &msg).expect("encoding into a Vec");
        ZmqMessage::from(bytes)
    }

    /// The conversation with the master, until it says `quit` (`Ok`), it is lost, or `stop`
    /// is set: (re)connect, announce this worker until acknowledged, answer what arrives,
    /// heartbeat every second and report every three.
    async fn session(
        &mut self,
        stop: &AtomicBool,
        log: &mut dyn FnMut(&str),
    ) -> Result<(), WorkerError> {
        let (tx, mut inbox) = tokio::sync::mpsc::unbounded_channel::<Inbound>();
        log(&format!(
            "worker {} connecting to the Locust master at {}",
            self.node_id, self.endpoint
        ));
        let mut c = Conversation {
            tx,
            link: None,
            acked: false,
            ready_sent_at: None,
            tries: 0,
            last_master_heartbeat: None,
            ready_due: None,
            bad_frames: 0,
        };
        let mut heartbeat = tokio::time::interval(HEARTBEAT_INTERVAL);
        let mut reports = tokio::time::interval(REPORT_INTERVAL);
        for t in [&mut heartbeat, &mut reports] {
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        }
        loop {
            let mut out: Vec<(&str, Value)> = Vec::new();
            if c.link.is_none() {
                // a peer that accepts and says nothing must not keep a signal waiting
                tokio::select! {
                    r = self.connect(&mut c, log) => r?,
                    _ = stopped(stop) => return Err(WorkerError::Interrupted),
                }
            }
            self.announce(&mut c, &mut out)?;
            if let Some(t) = c.last_master_heartbeat {
                if t.elapsed() > self.opts.heartbeat_timeout {
                    return Err(WorkerError::MasterLost {
                        endpoint: self.endpoint.clone(),
                        secs: self.opts.heartbeat_timeout.as_secs(),
                    });
                }
            }
            if out.is_empty() {
                let flow = tokio::select! {
                    msg = inbox.recv(), if c.link.is_some() => match msg {
                        Some(Ok(frame)) => self.on_frame(&mut c, &frame, &mut out, log).await?,
                        Some(Err(e)) => {
                            log(&format!("lost the connection to the master ({e}); connecting again"));
                            c.link = None;
                            Flow::Go
                        }
                        None => return Err(WorkerError::Transport("the receiver ended".into())),
                    },
                    _ = heartbeat.tick() => self.on_heartbeat(&mut c, stop, &mut out).await,
                    _ = reports.tick() => {
                        if c.acked && c.ready_due.is_none() {
                            self.drain_deltas();
                            out.extend(self.reports());
                        }
                        Flow::Go
                    }
                };
                if let Flow::Done(result) = flow {
                    return result;
                }
            }
            self.send_all(&mut c, out, log).await;
            if c.link.is_none() {
                // not connected: try again in a moment (the heartbeat timeout still counts)
                tokio::time::sleep(CONNECT_RETRY.min(Duration::from_secs(1))).await;
            }
        }
    }

    /// (Re)connects: the master may not be up yet, or may have restarted. Gives up after
    /// [`CONNECT_RETRIES`] tries if no master was ever heard.
    async fn connect(
        &self,
        c: &mut Conversation,
        log: &mut dyn FnMut(&str),
    ) -> Result<(), WorkerError> {
        match open(&self.endpoint, &self.node_id, c.tx.clone()).await {
            Ok(l) => {
                c.link = Some(l);
                c.acked = false;
                c.ready_sent_at = None;
            }
            Err(e) => {
                c.tries += 1;
                if c.tries >= CONNECT_RETRIES && c.last_master_heartbeat.is_none() {
                    return Err(self.no_ack(c));
                }
                if c.tries == 1 {
                    log(&format!("{e}; trying again every 5 s"));
                }
            }
        }
        Ok(())
    }

    /// `client_ready`, every [`CONNECT_RETRY`] until the master acknowledges it.
    fn announce(
        &self,
        c: &mut Conversation,
        out: &mut Vec<(&str, Value)>,
    ) -> Result<(), WorkerError> {
        if c.link.is_some()
            && !c.acked
            && c.ready_sent_at.is_none_or(|t| t.elapsed() >= CONNECT_RETRY)
        {
            if c.tries >= CONNECT_RETRIES && c.last_master_heartbeat.is_none() {
                return Err(self.no_ack(c));
            }
            c.tries += 1;
            c.ready_sent_at = Some(Instant::now());
            out.push(("client_ready", Value::from(-1)));
        }
        Ok(())
    }

    fn no_ack(&self, c: &Conversation) -> WorkerError {
        WorkerError::NoAck {
            endpoint: self.endpoint.clone(),
            tries: c.tries,
        }
    }

    /// One frame from the master: decoded, answered (into `out`), or reported and skipped.
    async fn on_frame(
        &mut self,
        c: &mut Conversation,
        frame: &[u8],
        out: &mut Vec<(&'static str, Value)>,
        log: &mut dyn FnMut(&str),
    ) -> Result<Flow, WorkerError> {
        let msg = match decode(frame) {
            Ok(m) => m,
            Err(e) => {
                c.bad_frames += 1;
                if c.bad_frames <= 3 {
                    log(&format!(
                        "ignored a message from the master that does not decode ({e})"
                    ));
                }
                return Ok(Flow::Go);
            }
        };
        match msg.kind.as_str() {
            "ack" => {
                if !c.acked {
                    let index = get(&msg.data, "index").and_then(Value::as_u64);
                    log(&format!(
                        "connected to the master (worker index {})",
                        index.map_or("?".into(), |i| i.to_string())
                    ));
                }
                c.acked = true;
                c.tries = 0;
            }
            "heartbeat" => c.last_master_heartbeat = Some(Instant::now()),
            "spawn" => {
                if let Some(reply) = self.spawn(&msg.data, log)? {
                    out.push(("spawning", Value::Nil));
                    out.push(("spawning_complete", reply));
                }
            }
            "stop" => {
                // Everything measured before the stop is reported before client_stopped: the
                // master's count is then complete.
                self.stop_users();
                self.settle().await;
                out.extend(self.reports());
                out.push(("client_stopped", Value::Nil));
                c.ready_due = Some(Instant::now() + self.stop_timeout);
                log("the master stopped the test");
            }
            "quit" => {
                self.quit(c).await;
                log("the master quit: this worker quits too");
                return Ok(Flow::Done(Ok(())));
            }
            "reconnect" => {
                log("the master asked this worker to reconnect");
                c.link = open(&self.endpoint, &self.node_id, c.tx.clone()).await.ok();
            }
            "spawning_complete" | "update_user_class" => {}
            other => log(&format!("ignored a '{other}' message from the master")),
        }
        Ok(Flow::Go)
    }

    /// Every second: quit if told to (Ctrl-C), hand the deltas to the report, say ready again
    /// once a stop's timeout has passed, and heartbeat.
    async fn on_heartbeat(
        &mut self,
        c: &mut Conversation,
        stop: &AtomicBool,
        out: &mut Vec<(&'static str, Value)>,
    ) -> Flow {
        if stop.load(Ordering::Relaxed) {
            self.quit(c).await;
            return Flow::Done(Err(WorkerError::Interrupted));
        }
        self.drain_deltas();
        if c.ready_due.is_some_and(|due| Instant::now() >= due) {
            c.ready_due = None;
            out.push(("client_ready", Value::from(-1)));
        }
        if c.acked {
            out.push((
                "heartbeat",
                map(vec![
                    ("state", Value::from(self.state.name())),
                    ("current_cpu_usage", Value::from(self.cpu.percent())),
                    ("current_memory_usage", Value::from(rss_bytes())),
                ]),
            ));
        }
        Flow::Go
    }

    /// The last words: what was measured until now at once (a quitting Locust master waits
    /// only 0.5 s for final reports), then the users stop, then what they finished meanwhile,
    /// then `quit`; then a moment for the queue to leave.
    async fn quit(&mut self, c: &mut Conversation) {
        if let Some(s) = self.swarm() {
            s.flush();
        }
        self.drain_deltas();
        for (kind, data) in self.reports() {
            self.send_now(c, kind, data).await;
        }
        self.finish();
        for (kind, data) in self.reports() {
            self.send_now(c, kind, data).await;
        }
        self.send_now(c, "quit", Value::Nil).await;
        tokio::time::sleep(LINGER).await;
    }

    async fn send_now(&self, c: &mut Conversation, kind: &str, data: Value) {
        if let Some(l) = &mut c.link {
            let _ = l.send.send(self.encode(kind, data)).await;
        }
    }

    /// Sends `out` in order; a failed send drops the link (the loop connects again).
    async fn send_all(
        &self,
        c: &mut Conversation,
        out: Vec<(&str, Value)>,
        log: &mut dyn FnMut(&str),
    ) {
        if let Some(l) = &mut c.link {
            for (kind, data) in out {
                if let Err(e) = l.send.send(self.encode(kind, data)).await {
                    log(&format!("cannot reach the master ({e}); connecting again"));
                    c.link = None;
                    break;
                }
            }
        }
    }

    /// Waits until the engine has stopped and every worker thread's partial second is here.
    async fn settle(&mut self) {
        if let Some(s) = self.swarm() {
            let until = Instant::now() + Duration::from_secs(2);
            while s.state() != State::Stopped && Instant::now() < until {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        self.drain_deltas();
    }

    /// Applies a `spawn`: the absolute per-class counts the master wants now. Returns the
    /// `spawning_complete` data, or `None` for a stale message.
    fn spawn(
        &mut self,
        data: &Value,
        log: &mut dyn FnMut(&str),
    ) -> Result<Option<Value>, WorkerError> {
        let timestamp = get(data, "timestamp")
            .and_then(Value::as_f64)
            .unwrap_or(0.0);
        if timestamp <= self.last_spawn {
            return Ok(None);
        }
        self.last_spawn = timestamp;
        if let Some(t) = get(data, "stop_timeout").and_then(Value::as_f64) {
            self.stop_timeout = Duration::from_secs_f64(t.clamp(0.0, 3600.0));
        }
        // The master sends a step of max(1, floor(spawn_rate)) users every step / spawn_rate
        // s: this worker's share of a step starts one after another, as swarmlab's own ramps
        // do (`step_start_span`), not in one instant (users started at once stay in lockstep
        // under a constant wait). The share is only known below, so the rate is kept.
        let spawn_rate = get(data, "parsed_options")
            .and_then(|o| get(o, "spawn_rate"))
            .and_then(|v| v.as_f64().or_else(|| v.as_u64().map(|n| n as f64)))
            .filter(|r| r.is_finite() && *r > 0.0);
        let wanted: BTreeMap<String, u64> = get(data, "user_classes_count")
            .and_then(Value::as_map)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_u64()?)))
                    .collect()
            })
            .unwrap_or_default();
        let host = get(data, "host")
            .and_then(Value::as_str)
            .filter(|h| !h.is_empty());
        let asked = wanted.values().fold(0u64, |a, &n| a.saturating_add(n));
        if asked > swarmlab_swarm::MAX_USERS as u64 {
            return Err(WorkerError::TooManyUsers(asked));
        }
        let starting = self
            .swarm()
            .is_none_or(|s| !matches!(s.state(), State::Spawning | State::Running));
        if starting {
            // A new run: the master's host, if it has one, replaces every class's host (as
            // a Locust worker does)
            let workload = match (&self.base, host) {
                (Some(base), Some(h)) => {
                    let t = Target::parse(h).map_err(|e| WorkerError::BadHost(e.to_string()))?;
                    base.retarget(&t)
                }
                (None, Some(h)) => {
                    let t = Target::parse(h).map_err(|e| WorkerError::BadHost(e.to_string()))?;
                    Workload::simple(&t, swarmlab_swarm::wait::WaitTime::default())
                }
                (Some(base), None) => base.clone(),
                (None, None) => return Err(WorkerError::NoHost),
            };
            match self.swarm() {
                Some(s) => s.start(Start {
                    users: 0,
                    spawn_rate: 1.0,
                    run_time: None,
                    rate: None,
                    rate_ramp: Duration::ZERO,
                    workload: Some(workload),
                }),
                None => {
                    let s = Swarm::new(workload, self.plan.clone());
                    self.deltas = Some(s.subscribe_deltas());
                    *self.slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(s);
                }
            }
            self.report = Report::new(swarmlab_swarm::clock::unix_now());
        }
        let swarm = self.swarm().expect("made above");
        let classes: Vec<String> =
            swarm.view(|v| v.workload.classes.iter().map(|c| c.name.clone()).collect());
        let mut counts = vec![0usize; classes.len()];
        for (name, n) in &wanted {
            match classes.iter().position(|c| c == name) {
                Some(i) => counts[i] += *n as usize,
                None if classes.len() == 1 => {
                    if !self.said_single_class {
                        self.said_single_class = true;
                        log(&format!("the master's user class '{name}' runs as this worker's only class, '{}'", classes[0]));
                    }
                    counts[0] += *n as usize;
                }
                None => {
                    return Err(WorkerError::UnknownClass {
                        class: name.clone(),
                        have: classes.join(", "),
                    })
                }
            }
        }
        self.state = WorkerState::Spawning;
        swarm.set_class_users(counts, spawn_rate.unwrap_or(f64::INFINITY));
        self.state = WorkerState::Running;
        self.user_count = wanted.values().sum();
        self.classes = Value::Map(
            wanted
                .iter()
                .map(|(k, v)| (Value::from(k.as_str()), Value::from(*v)))
                .collect(),
        );
        Ok(Some(map(vec![
            ("user_classes_count", self.classes.clone()),
            ("user_count", Value::from(self.user_count)),
        ])))
    }

    fn stop_users(&mut self) {
        if let Some(s) = self.swarm() {
            s.stop();
        }
        self.state = WorkerState::Ready;
        self.user_count = 0;
        self.classes = Value::Map(
            self.classes
                .as_map()
                .map(|m| {
                    m.iter()
                        .map(|(k, _)| (k.clone(), Value::from(0u64)))
                        .collect()
                })
                .unwrap_or_default(),
        );
    }

    /// The end: the engine quits, which makes every worker thread hand over what it measured,
    /// and all of it goes into the report (the master's count must equal the worker's own).
    fn finish(&mut self) {
        self.stop_users();
        if let Some(s) = self.swarm() {
            s.quit();
            s.wait();
        }
        self.drain_deltas();
    }

    fn drain_deltas(&mut self) {
        if let Some(rx) = &self.deltas {
            while let Ok(d) = rx.try_recv() {
                self.report.add(&d);
            }
        }
    }

    /// What goes to the master with each report: user code's exceptions (`exception`, one
    /// per exception, for the master's Exceptions tab), then the `stats`.
    fn reports(&mut self) -> Vec<(&'static str, Value)> {
        let mut out: Vec<(&'static str, Value)> = self
            .report
            .take_exceptions()
            .into_iter()
            .map(|e| ("exception", e))
            .collect();
        out.push(("stats", self.take_report()));
        out
    }

    fn take_report(&mut self) -> Value {
        let entries = self
            .swarm()
            .map_or_else(Vec::new, |s| s.view(|v| v.entries().to_vec()));
        self.report.take(&entries, &self.classes, self.user_count)
    }
}

/// This process's CPU use between calls, as a percentage of one core (psutil's
/// `cpu_percent`, what Locust's heartbeat carries).
struct CpuMeter {
    cpu: Duration,
    at: Instant,
}

impl CpuMeter {
    fn new() -> CpuMeter {
        CpuMeter {
            cpu: process_cpu(),
            at: Instant::now(),
        }
    }

    fn percent(&mut self) -> f64 {
        let (cpu, at) = (process_cpu(), Instant::now());
        let pct = (cpu - self.cpu).as_secs_f64() / (at - self.at).as_secs_f64().max(1e-3) * 100.0;
        (self.cpu, self.at) = (cpu, at);
        (pct * 10.0).round() / 10.0
    }
}

fn process_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// Resident memory, bytes (`/proc/self/statm`).
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_look_like_locusts() {
        let id = node_id();
        let (host, hex) = id.split_once('_').unwrap();
        assert!(!host.is_empty() && !host.contains('_'));
        assert_eq!(hex.len(), 32);
        assert!(hex.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(node_id(), id);
    }

    #[test]
    fn garbage_does_not_decode_and_messages_do() {
        assert!(decode(b"").is_err());
        assert!(decode(b"\xc1\xc1\xc1").is_err());
        let mut bytes = Vec::new();
        rmpv::encode::write_value(&mut bytes, &Value::from(7)).unwrap();
        assert!(decode(&bytes).is_err(), "not an array");
        let mut bytes = Vec::new();
        let msg = Value::Array(vec![
            Value::from("ack"),
            map(vec![("index", Value::from(0))]),
            Value::from("n"),
        ]);
        rmpv::encode::write_value(&mut bytes, &msg).unwrap();
        let m = decode(&bytes).unwrap();
        assert_eq!(m.kind, "ack");
        assert_eq!(get(&m.data, "index").and_then(Value::as_u64), Some(0));
    }
}
