//! Everything `compare` measured, as one serializable value. Rows name their design as a
//! [`Design`] (a swarmlab [`Model`] or an external server), workloads as a [`WorkloadKind`],
//! and a run without a capacity search has no objective (`None`); they become words only
//! when rendered. The JSON keeps the shapes it always had (`name` and `external`, workload
//! names as strings, `0` for no objective), so older `results.json` files still load.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use swarmlab_models::Model;

use crate::capacity::Capacity;

/// Whose row it is: one of swarmlab's models, or a server from outside (`--target`), by the
/// name it was given.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Design {
    /// A swarmlab model.
    Model(Model),
    /// An external server.
    External(String),
}

impl Design {
    /// The name a report shows.
    pub fn name(&self) -> &str {
        match self {
            Design::Model(m) => m.name(),
            Design::External(n) => n,
        }
    }

    /// The model, if it is one of swarmlab's.
    pub fn model(&self) -> Option<Model> {
        match self {
            Design::Model(m) => Some(*m),
            Design::External(_) => None,
        }
    }

    /// Whether it is an external server.
    pub fn is_external(&self) -> bool {
        matches!(self, Design::External(_))
    }

    /// The design a bare name stands for (a row of an earlier run's file): the model of that
    /// name, else an external server (compare refuses external names that are models').
    pub fn from_name(name: &str) -> Design {
        name.parse()
            .map_or_else(|_| Design::External(name.to_string()), Design::Model)
    }
}

impl fmt::Display for Design {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Design {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Design {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Design, D::Error> {
        Ok(Design::from_name(&String::deserialize(d)?))
    }
}

/// What every user sends in a built-in workload (`--workload`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkloadKind {
    /// GET / (Hello, World!).
    Hello,
    /// POST /echo with a small body.
    Echo,
    /// GET /sleep?ms=100 (I/O wait).
    Sleep,
    /// GET /cpu?us=1000 (CPU work).
    Cpu,
    /// GET / with Connection: close: a new connection per request, like the classic assignment.
    Close,
    /// GET / over TLS, keep-alive: what encryption costs per request.
    Tls,
    /// GET / over TLS with Connection: close: a new TLS connection, so a full handshake, per
    /// request (python-requests does not resume sessions).
    TlsClose,
    /// hello, then the capacity of every model under close, sleep and cpu too.
    All,
}

impl WorkloadKind {
    /// Every kind, in the order `--help` lists them.
    pub const ALL: &'static [WorkloadKind] = &[
        WorkloadKind::Hello,
        WorkloadKind::Echo,
        WorkloadKind::Sleep,
        WorkloadKind::Cpu,
        WorkloadKind::Close,
        WorkloadKind::Tls,
        WorkloadKind::TlsClose,
        WorkloadKind::All,
    ];

    /// The name on the command line and in the report.
    pub fn name(self) -> &'static str {
        match self {
            WorkloadKind::Hello => "hello",
            WorkloadKind::Echo => "echo",
            WorkloadKind::Sleep => "sleep",
            WorkloadKind::Cpu => "cpu",
            WorkloadKind::Close => "close",
            WorkloadKind::Tls => "tls",
            WorkloadKind::TlsClose => "tls-close",
            WorkloadKind::All => "all",
        }
    }

    /// What it sends, in a line (for `--help`).
    pub fn about(self) -> &'static str {
        match self {
            WorkloadKind::Hello => "GET / (Hello, World!)",
            WorkloadKind::Echo => "POST /echo with a small body",
            WorkloadKind::Sleep => "GET /sleep?ms=100 (I/O wait)",
            WorkloadKind::Cpu => "GET /cpu?us=1000 (CPU work)",
            WorkloadKind::Close => {
                "GET / with Connection: close: a new connection per request, like the classic assignment"
            }
            WorkloadKind::Tls => "GET / over TLS (the model serves --tls self-signed), keep-alive",
            WorkloadKind::TlsClose => {
                "GET / over TLS with Connection: close: a full handshake per request"
            }
            WorkloadKind::All => {
                "hello, then the capacity of every model under close, sleep, cpu, tls and tls-close too"
            }
        }
    }

    /// Whether its requests go over TLS (the server serves HTTPS).
    pub fn is_tls(self) -> bool {
        matches!(self, WorkloadKind::Tls | WorkloadKind::TlsClose)
    }

    /// The workload of the main run: `all` runs hello first.
    pub fn main(self) -> WorkloadKind {
        match self {
            WorkloadKind::All => WorkloadKind::Hello,
            k => k,
        }
    }
}

impl fmt::Display for WorkloadKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A workload name that is not one of [`WorkloadKind::ALL`].
#[derive(Debug, PartialEq, Eq)]
pub struct UnknownWorkload(pub String);

impl fmt::Display for UnknownWorkload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = WorkloadKind::ALL.iter().map(|k| k.name()).collect();
        write!(
            f,
            "unknown workload '{}' (workloads: {})",
            self.0,
            names.join(", ")
        )
    }
}

impl std::error::Error for UnknownWorkload {}

impl FromStr for WorkloadKind {
    type Err = UnknownWorkload;
    fn from_str(s: &str) -> Result<WorkloadKind, UnknownWorkload> {
        WorkloadKind::ALL
            .iter()
            .copied()
            .find(|k| k.name() == s)
            .ok_or_else(|| UnknownWorkload(s.to_string()))
    }
}

/// What the users of a compare run did: a built-in workload, or the users of a file
/// (`--locustfile`). In the JSON: the kind's name, or `users of FILE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Workload {
    /// A built-in workload.
    Builtin(WorkloadKind),
    /// The users of this locustfile or scenario file.
    Users(String),
}

impl Workload {
    /// The kind of the main run (a file's users: `None`).
    pub fn main_kind(&self) -> Option<WorkloadKind> {
        match self {
            Workload::Builtin(k) => Some(k.main()),
            Workload::Users(_) => None,
        }
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Workload::Builtin(k) => f.write_str(k.name()),
            Workload::Users(file) => write!(f, "users of {file}"),
        }
    }
}

impl Serialize for Workload {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Workload {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Workload, D::Error> {
        let s = String::deserialize(d)?;
        if let Some(file) = s.strip_prefix("users of ") {
            return Ok(Workload::Users(file.to_string()));
        }
        s.parse()
            .map(Workload::Builtin)
            .map_err(serde::de::Error::custom)
    }
}

/// `Option<f64>` / `Option<usize>` written as `0` for `None`, as results.json always had it
/// (`slo_p99_ms: 0` meant "no capacity search"); `0` reads back as `None`.
mod zero_is_none {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T, S>(v: &Option<T>, s: S) -> Result<S::Ok, S::Error>
    where
        T: Serialize + Default,
        S: Serializer,
    {
        match v {
            Some(v) => v.serialize(s),
            None => T::default().serialize(s),
        }
    }

    pub fn deserialize<'de, T, D>(d: D) -> Result<Option<T>, D::Error>
    where
        T: Deserialize<'de> + Default + PartialEq,
        D: Deserializer<'de>,
    {
        let v = Option::<T>::deserialize(d)?;
        Ok(v.filter(|v| *v != T::default()))
    }
}

/// One compare run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// Where it ran.
    pub machine: Machine,
    /// How it ran.
    pub settings: Settings,
    /// One row per model or external target, in run order.
    pub rows: Vec<ModelResult>,
    /// `--workload all`: each other workload's capacity per model (the main workload's is in
    /// `rows`).
    #[serde(default)]
    pub workloads: Vec<WorkloadRun>,
    /// `swarmlab check`'s findings on each `--server`, taken before its phases ran.
    #[serde(default)]
    pub checks: Vec<crate::check::Check>,
    /// `--baseline`: the earlier run's capacities, to compare with.
    #[serde(default)]
    pub baseline: Option<Baseline>,
    /// `--cores`: each design's capacity against the cores its server had.
    #[serde(default)]
    pub cores: Option<Cores>,
    /// `--experiment`: each design under the conditions courses study.
    #[serde(default)]
    pub experiments: Vec<Experiment>,
}

/// One of the conditions `--experiment` puts every design under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExperimentKind {
    /// Clients that send half a request, or never read their answer: what the others pay.
    SlowClients,
    /// 10,000 idle keep-alive connections beside a few busy ones: what each wakeup costs.
    Idle,
    /// 5 % of the requests take 1 ms of CPU, or wait 100 ms: what the short ones pay.
    HeadOfLine,
    /// `prefork` and `pool` at 1 to 256 workers: where more stop helping, and what each costs.
    PoolSize,
    /// An open-model rate at 1.5× each design's capacity, then half of it: growth, failures,
    /// recovery.
    Overload,
    /// A round-trip delay between the clients and the server: which designs pay it per
    /// request.
    Network,
}

impl ExperimentKind {
    /// Every experiment there is, in the order `--experiment all` runs them.
    pub const ALL: &'static [ExperimentKind] = &[
        ExperimentKind::SlowClients,
        ExperimentKind::Idle,
        ExperimentKind::HeadOfLine,
        ExperimentKind::Network,
        ExperimentKind::PoolSize,
        ExperimentKind::Overload,
    ];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ExperimentKind::SlowClients => "slow-clients",
            ExperimentKind::Idle => "idle",
            ExperimentKind::HeadOfLine => "head-of-line",
            ExperimentKind::PoolSize => "pool-size",
            ExperimentKind::Overload => "overload",
            ExperimentKind::Network => "network",
        }
    }

    /// What it shows, in one line (`--help`).
    pub fn about(self) -> &'static str {
        match self {
            ExperimentKind::SlowClients => {
                "slow clients (half a request held, an answer never read) beside a steady load: what the others still get on each design"
            }
            ExperimentKind::Idle => {
                "10,000 idle keep-alive connections beside a steady load: the server's CPU per request and memory on each design"
            }
            ExperimentKind::Overload => {
                "an open-model rate at 1.5x each design's capacity, then half of it: whether latency grows without bound, failures start, and the design recovers"
            }
            ExperimentKind::PoolSize => {
                "prefork and pool at 1, 4, 16, 64 and 256 workers, under keep-alive GET / and under 1 ms of waiting per request: throughput, p99 and memory"
            }
            ExperimentKind::Network => {
                "a round trip between clients and server (20 ms by default, --rtt): what each design carries through it, and what each request pays"
            }
            ExperimentKind::HeadOfLine => {
                "long requests among short ones: 5 % take 1 ms of CPU, then 5 % wait 100 ms; the short ones' p99 on each design"
            }
        }
    }
}

impl std::str::FromStr for ExperimentKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ExperimentKind::ALL
            .iter()
            .copied()
            .find(|k| k.name() == s)
            .ok_or_else(|| format!("no experiment '{s}'"))
    }
}

/// What one experiment measured, for every design.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Experiment {
    /// Slow clients beside a steady load.
    SlowClients(SlowClients),
    /// Idle connections beside a steady load.
    Idle(Idle),
    /// Long requests among short ones.
    HeadOfLine(HeadOfLine),
    /// Worker counts.
    PoolSize(PoolSize),
    /// Past capacity and back.
    Overload(Overload),
    /// A round trip between clients and server.
    Network(Network),
}

/// `--experiment network`: a steady load on each design straight over loopback and then
/// through a network with a round trip, at a rate every design carries without one: whether the
/// design still carries it, and how many round trips each request costs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Network {
    /// The round trip asked for, ms.
    pub rtt_ms: f64,
    /// A TCP round trip measured through it before the loads (a request and its answer on an
    /// open connection to the first design), ms.
    pub measured_rtt_ms: Option<f64>,
    /// How the round trip was made.
    pub method: NetworkMethod,
    /// Why the relay and not `netem` (`None`: `netem` made it).
    pub method_why: Option<NoNetem>,
    /// The bandwidth each way, and whether it was made.
    pub bandwidth: Bandwidth,
    /// Requests per second the connections ask for (each paced to its share).
    pub rate: f64,
    /// Connections (users), keep-alive where the design keeps them.
    pub connections: usize,
    /// How long each load ran, s (after half a second of warm-up).
    pub seconds: f64,
    /// A row per design.
    pub rows: Vec<NetworkRow>,
}

/// How `network` put a round trip between clients and server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NetworkMethod {
    /// A relay on loopback holding every byte for half the round trip each way, and the
    /// connection to the server for one and a half (Toxiproxy's way).
    Relay,
    /// The kernel's `netem` on both ends of a veth pair into a network namespace the run
    /// made, each end delaying every packet by half the round trip (and limiting the
    /// bandwidth, where one was asked for); a relay inside forwards to the server at once.
    Netem,
}

/// Why `network`'s round trip is the relay's and not the kernel's `netem`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "why", rename_all = "kebab-case")]
pub enum NoNetem {
    /// `netem` is set on an interface of a network namespace, which needs root.
    NotRoot,
    /// `ip netns add` failed.
    NoNamespace,
    /// This kernel has no `netem` qdisc.
    NotInKernel {
        /// What `tc` said.
        tc: String,
    },
    /// `netem` is there, and setting the link up with it failed.
    Failed {
        /// Which step (`ip` or `tc`, and its arguments) and what it said.
        error: String,
    },
    /// `tc` could not run.
    NoTc {
        /// Why.
        error: String,
    },
}

/// `network`'s bandwidth: `tbf` on a veth pair into a network namespace, the clients' side
/// of the relay across it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Bandwidth {
    /// None asked (`--bandwidth 0`): loopback's.
    Unlimited,
    /// Limited each way.
    Shaped {
        /// Mbit/s each way.
        mbit: f64,
        /// Mbit/s timed across the link before the loads.
        measured_mbit: Option<f64>,
    },
    /// Asked for, not made (the loads ran at loopback's bandwidth).
    NotShaped {
        /// Mbit/s asked for.
        mbit: f64,
        /// Why not.
        why: NoShaping,
    },
}

/// Why `network` could not limit the bandwidth.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "why", rename_all = "kebab-case")]
pub enum NoShaping {
    /// A network namespace needs root.
    NotRoot,
    /// A step failed.
    Failed {
        /// Which (`ip` or `tc`, and its arguments) and what it said.
        error: String,
    },
}

/// One design under `network`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkRow {
    /// The design.
    pub design: Design,
    /// Its workers (threads or processes that each serve one connection at a time), where
    /// the design has a number of them.
    pub workers: Option<usize>,
    /// Straight over loopback.
    pub direct: NetworkPoint,
    /// Through the round trip.
    pub delayed: NetworkPoint,
}

/// One load's figures under `network`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NetworkPoint {
    /// Completed requests per second over the measured time.
    pub rps: f64,
    /// Median, ms.
    pub p50_ms: Option<f64>,
    /// 99th percentile, ms.
    pub p99_ms: Option<f64>,
    /// Requests completed.
    pub requests: u64,
    /// Of them, failed.
    pub failures: u64,
    /// Why it did not run, if it did not.
    pub skipped: Option<String>,
}

/// `--experiment overload`: each design's capacity under CPU-bound requests (so that the
/// generator can offer more than the server serves), then an open-model rate of `factor` ×
/// that for `seconds` (measured in two halves), then half the capacity for twice as long (the
/// second half measured: the backlog has drained).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Overload {
    /// The request (`GET /cpu?us=N`).
    pub path: String,
    /// Connections carrying the open model's requests.
    pub connections: usize,
    /// The overload's rate as a multiple of capacity.
    pub factor: f64,
    /// The recovery's rate as a multiple of capacity.
    pub recovery_factor: f64,
    /// How long the overload ran, s.
    pub seconds: f64,
    /// A row per design.
    pub rows: Vec<OverloadRow>,
}

/// One design under `overload`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OverloadRow {
    /// The design.
    pub design: Design,
    /// Its capacity: requests answered without failing per second, the connections sending back
    /// to back (measured after half a second of warm-up).
    pub capacity: f64,
    /// The overload's first half.
    pub early: OverloadWindow,
    /// Its second half.
    pub late: OverloadWindow,
    /// The recovery's second half.
    pub recovery: OverloadWindow,
    /// Why it did not run, if it did not.
    pub skipped: Option<String>,
}

/// One measured window: what was offered and what came back. Latency runs from each
/// request's intended send time (the open model's schedule), so time it waited for a
/// connection counts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OverloadWindow {
    /// Offered, req/s.
    pub offered: f64,
    /// Completed, req/s.
    pub rps: f64,
    /// Failed, per second.
    pub fps: f64,
    /// Median, ms.
    pub p50_ms: Option<f64>,
    /// 99th percentile, ms.
    pub p99_ms: Option<f64>,
    /// The most common failure, in Locust's words, if any failed.
    pub failure: Option<String>,
}

/// `--experiment pool-size`: the designs with a fixed number of workers, each serving one
/// connection at a time, at several worker counts, under a closed load with more connections
/// than the most workers and no think time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PoolSize {
    /// Connections (users), each sending its next request as soon as it has an answer.
    pub connections: usize,
    /// How long each point ran, s (after half a second of warm-up).
    pub seconds: f64,
    /// The worker counts, in order.
    pub workers: Vec<usize>,
    /// A row per design and load.
    pub rows: Vec<PoolRow>,
}

/// What each request of a `pool-size` load does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PoolLoad {
    /// `GET /`: CPU work only.
    Hello,
    /// `GET /sleep?ms=N`: waiting.
    Sleep(u64),
}

impl PoolLoad {
    /// Its path.
    pub fn path(self) -> String {
        match self {
            PoolLoad::Hello => "/".into(),
            PoolLoad::Sleep(ms) => format!("/sleep?ms={ms}"),
        }
    }
}

/// One design under one load at every worker count.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PoolRow {
    /// The design.
    pub design: Design,
    /// The load.
    pub load: PoolLoad,
    /// Per worker count, in [`PoolSize::workers`]' order.
    pub points: Vec<PoolPoint>,
}

/// One worker count's figures.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PoolPoint {
    /// Completed requests per second over the measured time.
    pub rps: f64,
    /// Their 99th percentile, ms.
    pub p99_ms: Option<f64>,
    /// Of them, failed.
    pub failures: u64,
    /// The server's memory (PSS) at the end, MiB.
    pub pss_mib: f64,
    /// Its threads, summed over its processes, at the end.
    pub threads: u64,
    /// Why it did not run, if it did not.
    pub skipped: Option<String>,
}

/// `--experiment idle` (Kegel's C10K): a steady load alone, then beside many idle keep-alive
/// connections (each sent one request and keeps its connection open); the server's CPU per
/// request says what each wakeup costs with them, its memory what holding them costs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Idle {
    /// Requests per second the busy connections ask for (each waits for its answer, then a
    /// think time).
    pub rate: f64,
    /// Busy connections, keep-alive.
    pub connections: usize,
    /// How long each load ran, s (after half a second of warm-up).
    pub seconds: f64,
    /// The server's idle timeout, s: the runs end before it closes the idle ones.
    pub idle_timeout_s: f64,
    /// Idle connections of each load, in order (the first 0: the load alone).
    pub idle: Vec<usize>,
    /// A row per design.
    pub rows: Vec<IdleRow>,
}

/// One design under `idle`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IdleRow {
    /// The design.
    pub design: Design,
    /// Per load, in [`Idle::idle`]'s order.
    pub points: Vec<IdlePoint>,
}

/// One design beside one number of idle connections.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IdlePoint {
    /// Idle connections opened (fewer than asked where a connect timed out: a design that
    /// accepts none leaves them in its listen queue until it is full).
    pub opened: usize,
    /// Idle connections whose one request was answered before the load began.
    pub answered: usize,
    /// Idle connections still open when the load ended (a design serving N at a time closes an
    /// answered one when others wait: it holds none).
    #[serde(default)]
    pub open_at_end: usize,
    /// The busy connections' completed requests per second.
    pub rps: f64,
    /// Their 99th percentile, ms.
    pub p99_ms: Option<f64>,
    /// Requests completed.
    pub requests: u64,
    /// Of them, failed.
    pub failures: u64,
    /// The server's CPU per completed request over the measured time, µs.
    pub cpu_us_per_request: Option<f64>,
    /// The server's memory (PSS) at the end, MiB.
    pub pss_mib: f64,
    /// Its threads at the end, summed over its processes.
    pub threads: u64,
    /// Why it did not run, if it did not.
    pub skipped: Option<String>,
}

/// `--experiment slow-clients`: a steady load of well-behaved clients, alone and then beside
/// clients that hold a connection without finishing it, on each design: whether the slow ones
/// cost the others their service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlowClients {
    /// Requests per second the well-behaved connections ask for (each waits for its answer,
    /// then a think time that makes this rate).
    pub rate: f64,
    /// Well-behaved connections, keep-alive.
    pub connections: usize,
    /// Slow clients, connected before the load starts and held through it.
    pub slow: usize,
    /// How long each load ran, s (after half a second of warm-up).
    pub seconds: f64,
    /// The server's own limits the slow ones meet: its header timeout and its write timeout, s.
    pub header_timeout_s: f64,
    /// See `header_timeout_s`.
    pub write_timeout_s: f64,
    /// The slow clients of each load, in order.
    pub loads: Vec<SlowLoad>,
    /// A row per design.
    pub rows: Vec<SlowRow>,
}

/// What the slow clients of one load do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SlowLoad {
    /// No slow clients: the load alone.
    None,
    /// Each sends a request line and one header, never the blank line that ends the header
    /// section (slowloris).
    Headers,
    /// Each asks for a large body (`GET /bytes?n=N`) and never reads it: the server's writes
    /// block once the socket buffers are full.
    Reader(u64),
}

/// One design under `slow-clients`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlowRow {
    /// The design.
    pub design: Design,
    /// Its workers (threads or processes that each serve one connection at a time, or loops),
    /// where the design has a number of them.
    pub workers: Option<usize>,
    /// Per load, in [`SlowClients::loads`]' order.
    pub points: Vec<SlowPoint>,
}

/// What the well-behaved clients got under one load.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SlowPoint {
    /// Completed requests per second over the measured time.
    pub rps: f64,
    /// Their 99th percentile, ms.
    pub p99_ms: Option<f64>,
    /// Requests completed.
    pub requests: u64,
    /// Of them, failed.
    pub failures: u64,
    /// Why it did not run, if it did not.
    pub skipped: Option<String>,
}

/// `--experiment head-of-line`: a load at a fixed rate in which a share of the requests are
/// long, long by CPU (shorter than the kernel's time slice, then longer) and long by waiting;
/// the short requests' latency on each design says whether a long request holds the ones
/// behind it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeadOfLine {
    /// Requests per second the connections send (each waits for its answer, then a think
    /// time that makes this rate).
    pub rate: f64,
    /// Connections (users) carrying them, keep-alive.
    pub connections: usize,
    /// Share of the requests that are long, %.
    pub long_pct: f64,
    /// How long each load ran, s (after half a second of warm-up).
    pub seconds: f64,
    /// The long requests of each load, in order.
    pub loads: Vec<LongRequest>,
    /// A row per design.
    pub rows: Vec<HolRow>,
}

/// What makes a request long.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LongRequest {
    /// This many µs of CPU (`GET /cpu?us=N`).
    Cpu(u64),
    /// This many ms of waiting (`GET /sleep?ms=N`).
    Sleep(u64),
}

impl LongRequest {
    /// Its path.
    pub fn path(self) -> String {
        match self {
            LongRequest::Cpu(us) => format!("/cpu?us={us}"),
            LongRequest::Sleep(ms) => format!("/sleep?ms={ms}"),
        }
    }
}

/// One design under each load.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HolRow {
    /// The design.
    pub design: Design,
    /// Its event loops ran with this many loops (one per server core), if it has loops.
    pub workers: Option<usize>,
    /// Per load, in [`HeadOfLine::loads`]' order.
    pub points: Vec<HolPoint>,
}

/// What one load measured on one design.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HolPoint {
    /// The short requests' median, ms.
    pub short_p50_ms: Option<f64>,
    /// The short requests' 99th percentile, ms.
    pub short_p99_ms: Option<f64>,
    /// The long requests' 99th percentile, ms.
    pub long_p99_ms: Option<f64>,
    /// Requests completed (short and long).
    pub requests: u64,
    /// Of them, failed.
    pub failures: u64,
    /// Why it did not run, if it did not.
    pub skipped: Option<String>,
}

/// `--cores`: each design's capacity with 1, 2, 4, ... server cores, the generator on the
/// cores the server did not get.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Cores {
    /// The machine's cores.
    pub machine_cores: usize,
    /// The server cores measured, fewest first; fewer than two: the machine has too few
    /// cores to measure scaling, and nothing was measured.
    pub steps: Vec<usize>,
    /// The generator's threads (one per core the server never gets).
    pub generator_threads: usize,
    /// One row per design.
    pub rows: Vec<CoresRow>,
}

/// One design's capacity at each number of server cores.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CoresRow {
    /// The design.
    pub design: Design,
    /// One point per step that ran.
    pub points: Vec<CorePoint>,
}

/// A design's capacity with its server on `cores` cores (and `--workers cores`, a model).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CorePoint {
    /// Server cores.
    pub cores: usize,
    /// Its capacity there, `None` if it could not run.
    pub capacity: Option<Capacity>,
    /// Why it did not run.
    pub skipped: Option<String>,
}

/// Capacities of one more workload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkloadRun {
    /// Which built-in workload (close, sleep, cpu).
    pub workload: WorkloadKind,
    /// The request each user sends.
    pub request: String,
    /// The latency objective it was held to, ms (the SLO plus the request's own service time).
    pub slo_p99_ms: f64,
    /// One row per model.
    pub rows: Vec<CapacityRow>,
}

/// One model's capacity under one workload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CapacityRow {
    /// The model (or external server).
    #[serde(rename = "name")]
    pub design: Design,
    /// Its capacity, or `None` if it could not run.
    pub capacity: Option<Capacity>,
    /// Why it did not run.
    pub skipped: Option<String>,
}

/// The capacities of an earlier run (`--baseline OLD/results.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// Where the file was.
    pub file: String,
    /// When that run started, UTC.
    pub started: String,
    /// Its machine.
    pub cpu: String,
    /// Each model's capacity then.
    pub rows: Vec<(Design, Capacity)>,
}

/// The machine.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// Logical CPUs.
    pub cores: usize,
    /// CPU model name.
    pub cpu: String,
    /// Kernel release.
    pub kernel: String,
    /// Total memory, MiB.
    pub memory_mib: u64,
    /// swarmlab's version.
    pub swarmlab: String,
}

/// The settings every model ran under.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// The workload (hello, echo, sleep, cpu, close, all, or a file's users).
    pub workload: Workload,
    /// The request each user sends, e.g. `GET /`.
    pub request: String,
    /// Peak users.
    pub users: usize,
    /// Users started per second.
    pub spawn_rate: f64,
    /// Think time between requests, Locust syntax.
    pub wait_time: String,
    /// Longest run per model, seconds.
    pub max_time_s: f64,
    /// Whether the server and the generator were pinned to different cores.
    pub pinned: bool,
    /// Started, UTC.
    pub started: String,
    /// The command line that ran it (to reproduce it); empty when not known.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub command: String,
    /// Capacity: the latency objective of the main workload, p99 at most this, ms; `None`: no
    /// capacity search.
    #[serde(default, with = "zero_is_none")]
    pub slo_p99_ms: Option<f64>,
    /// Capacity: connections the open model spreads its requests over; `None`: no search.
    #[serde(default, with = "zero_is_none")]
    pub capacity_connections: Option<usize>,
    /// Cores the server could use (every core but the generator's).
    #[serde(default)]
    pub server_cores: usize,
    /// The seed of the users' random choices (`compare --seed N` repeats them); `None` in
    /// results written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

/// One model's (or external target's) row. In the JSON: `name`, `external`, `outcome`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(into = "RawRow", try_from = "RawRow")]
pub struct ModelResult {
    /// The model, or the external target.
    pub design: Design,
    /// Ran, or why not.
    pub outcome: Outcome,
}

/// [`ModelResult`] as the JSON has it.
#[derive(Serialize, Deserialize)]
struct RawRow {
    name: String,
    external: bool,
    outcome: Outcome,
}

impl From<ModelResult> for RawRow {
    fn from(r: ModelResult) -> RawRow {
        RawRow {
            name: r.design.name().to_string(),
            external: r.design.is_external(),
            outcome: r.outcome,
        }
    }
}

impl TryFrom<RawRow> for ModelResult {
    type Error = swarmlab_models::UnknownModel;
    fn try_from(r: RawRow) -> Result<ModelResult, Self::Error> {
        let design = if r.external {
            Design::External(r.name)
        } else {
            Design::Model(r.name.parse()?)
        };
        Ok(ModelResult {
            design,
            outcome: r.outcome,
        })
    }
}

/// Whether a row ran.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// It ran.
    Ran {
        /// What the clients saw.
        client: Box<Client>,
        /// What the server cost (`None` for an external target without a pid).
        server: Option<Server>,
        /// The highest throughput it sustained within the latency objective.
        #[serde(default)]
        capacity: Option<Box<Capacity>>,
        /// `--scaling`: capacity and memory at 10, 100, 1,000 and 10,000 connections.
        #[serde(default)]
        scaling: Vec<ScalePoint>,
    },
    /// It could not run here.
    Skipped {
        /// Why.
        reason: String,
    },
}

/// The client's view of one model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Client {
    /// Requests completed (failed ones included).
    pub requests: u64,
    /// Failed requests.
    pub failures: u64,
    /// Requests completed before the first failure; `None`: no failure.
    pub before_first_failure: Option<u64>,
    /// Requests / duration.
    pub rps: f64,
    /// Most requests completed in any 10 consecutive seconds, / 10.
    pub peak_rps: f64,
    /// Average response time, ms.
    pub avg_ms: f64,
    /// Median, ms.
    pub p50_ms: f64,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Slowest, ms.
    pub max_ms: f64,
    /// Seconds from start to stop.
    pub duration_s: f64,
    /// Users running at the end.
    pub users: usize,
    /// Failure kinds and their counts, most frequent first.
    pub failure_kinds: Vec<(String, u64)>,
    /// Why the generator was saturated, if it was.
    pub saturated: Option<String>,
    /// The generator's own read delay: how long a response waited, whole, in the generator's
    /// socket before it was read and timed (kernel receive stamps, a sample of the
    /// connections), mean and p99, ms; `None` where not measured.
    #[serde(default)]
    pub read_delay: Option<ReadDelay>,
    /// Why the generator's own read delay is a noticeable part of these response times, if it
    /// is.
    #[serde(default)]
    pub delayed: Option<String>,
    /// One sample per second.
    pub timeline: Vec<Sample>,
    /// Locust's Statistics tab at the end of the run: a row per request, then "Aggregated".
    #[serde(default)]
    pub stats: Vec<StatRow>,
    /// `--repeat`: every trial of the assignment's run, in order (this row's figures are the
    /// median trial's); empty for one trial.
    #[serde(default)]
    pub trials: Vec<Trial>,
}

/// The generator's own read delay over a run, ms.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReadDelay {
    /// Mean.
    pub mean_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
}

/// One trial of the assignment's run (`--repeat`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// Requests completed (failed ones included).
    pub requests: u64,
    /// Failed requests.
    pub failures: u64,
    /// Requests before the first failure; `None`: no failure.
    pub before_first_failure: Option<u64>,
    /// Requests / duration.
    pub rps: f64,
    /// Best 10 s.
    pub peak_rps: f64,
    /// Average response time, ms.
    pub avg_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Server CPU per request, µs (`None`: not measured).
    pub cpu_us_per_request: Option<f64>,
}

impl Client {
    /// The trials' peak RPS: (lowest, highest, spread as a share of the median), or `None`
    /// for a single trial.
    pub fn trial_spread(&self) -> Option<(f64, f64, f64)> {
        if self.trials.len() < 2 {
            return None;
        }
        let lo = self
            .trials
            .iter()
            .map(|t| t.peak_rps)
            .fold(f64::MAX, f64::min);
        let hi = self.trials.iter().map(|t| t.peak_rps).fold(0.0, f64::max);
        Some((lo, hi, (hi - lo) / self.peak_rps.max(1e-9)))
    }
}

/// One row of Locust's Statistics tab (its columns, in its order).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatRow {
    /// The method (empty for the "Aggregated" row).
    pub method: String,
    /// The request's name, or "Aggregated".
    pub name: String,
    /// # Requests.
    pub requests: u64,
    /// # Fails.
    pub failures: u64,
    /// Median (ms).
    pub median_ms: f64,
    /// 95%ile (ms).
    pub p95_ms: f64,
    /// 99%ile (ms).
    pub p99_ms: f64,
    /// Average (ms).
    pub avg_ms: f64,
    /// Min (ms).
    pub min_ms: f64,
    /// Max (ms).
    pub max_ms: f64,
    /// Average size (bytes).
    pub avg_size: f64,
    /// Current RPS (Locust's window at the end).
    pub current_rps: f64,
    /// Current Failures/s.
    pub current_fail_s: f64,
}

/// One second of a model's run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Seconds since the model's start.
    pub t: f64,
    /// Users running.
    pub users: usize,
    /// Requests completed per second (Locust's 10 s window).
    pub rps: f64,
    /// Median over the last 10 s, ms.
    pub p50_ms: Option<f64>,
    /// 95th percentile over the last 10 s, ms.
    pub p95_ms: Option<f64>,
}

/// Capacity and memory at one number of connections.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScalePoint {
    /// Open connections.
    pub connections: usize,
    /// The capacity with that many connections.
    pub capacity: Capacity,
    /// The server's memory with them open: PSS summed over its processes, MiB.
    pub pss_mib: f64,
    /// The same as RSS (shared pages counted once per process), MiB.
    pub rss_mib: f64,
}

/// What the server's process tree cost, from /proc and rusage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Server {
    /// User + system CPU seconds, children included.
    pub cpu_s: f64,
    /// `cpu_s` per completed request, µs.
    pub cpu_us_per_request: f64,
    /// Peak of the summed RSS of every process in the tree, MiB (pages shared by forked
    /// processes count once per process).
    pub peak_rss_mib: f64,
    /// Peak of the summed PSS (`/proc/PID/smaps_rollup`: shared pages split among their
    /// sharers), MiB: the memory the tree really holds.
    #[serde(default)]
    pub peak_pss_mib: f64,
    /// Voluntary context switches (children included).
    pub voluntary_switches: u64,
    /// Involuntary context switches (children included).
    pub involuntary_switches: u64,
    /// Most threads at once (all processes).
    pub peak_threads: u64,
    /// Most processes at once.
    pub peak_processes: u64,
    /// Most open file descriptors at once, summed over the processes (0: not counted).
    #[serde(default)]
    pub peak_fds: u64,
    /// Zombie children (ended, never waited for) still there a moment after the run: what a
    /// parent that never reaps leaves, not the instant of a thousand clients leaving at once.
    #[serde(default)]
    pub zombies_left: u64,
    /// Exited with status 0 after SIGTERM.
    pub clean_exit: bool,
    /// What processes outside the run took of its cores while it ran (`None`: not measured,
    /// as when nothing was pinned).
    #[serde(default)]
    pub others: Option<Sharing>,
    /// The limits it said it met while it ran, in its own words, each once (out of
    /// descriptors, at its most threads or processes): where a design stops holding
    /// connections, which the clients only see as connects that time out.
    #[serde(default)]
    pub limits: Vec<String>,
}

/// What processes outside a run took of its cores while it ran: the CPU time of every process
/// outside the run's own tree (the kernel's threads aside), put on the run's cores by where
/// each thread may run, and the hypervisor's steal there, as a share of those cores' time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Sharing {
    /// % of the server's cores' time.
    pub server_cores_pct: f64,
    /// % of the generator's core's time.
    pub generator_core_pct: f64,
}

impl Sharing {
    /// From this share of either side's cores a figure is not the design's alone: the report
    /// says so beside it, and calls the ranking not to be trusted.
    pub const BOUND_PCT: f64 = 10.0;

    /// Whether either side's cores were shared past [`Self::BOUND_PCT`].
    pub fn shared(&self) -> bool {
        self.server_cores_pct >= Self::BOUND_PCT || self.generator_core_pct >= Self::BOUND_PCT
    }
}

impl Results {
    /// The check of the `--server` row named `name`, if it was checked.
    pub fn check_of(&self, name: &str) -> Option<&crate::check::Check> {
        self.checks.iter().find(|c| c.server == name)
    }

    /// Rows that ran, with their client figures.
    pub fn ran(&self) -> impl Iterator<Item = (&ModelResult, &Client, Option<&Server>)> {
        self.rows.iter().filter_map(|r| match &r.outcome {
            Outcome::Ran { client, server, .. } => Some((r, &**client, server.as_ref())),
            Outcome::Skipped { .. } => None,
        })
    }

    /// Rows with a capacity, highest first.
    pub fn by_capacity(&self) -> Vec<(&ModelResult, &Capacity)> {
        let mut v: Vec<_> = self
            .rows
            .iter()
            .filter_map(|r| match &r.outcome {
                Outcome::Ran {
                    capacity: Some(c), ..
                } => Some((r, &**c)),
                _ => None,
            })
            .collect();
        v.sort_by(|a, b| b.1.rps.total_cmp(&a.1.rps));
        v
    }

    /// Ran rows ordered best first: by peak RPS, then fewer failures.
    pub fn ranking(&self) -> Vec<(&ModelResult, &Client, Option<&Server>)> {
        let mut v: Vec<_> = self.ran().collect();
        v.sort_by(|a, b| {
            b.1.peak_rps
                .total_cmp(&a.1.peak_rps)
                .then(a.1.failures.cmp(&b.1.failures))
        });
        v
    }
}
