//! Everything `compare` measured, as one serializable value.

use serde::{Deserialize, Serialize};

use crate::capacity::Capacity;

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
    /// `--baseline`: the earlier run's capacities, to compare with.
    #[serde(default)]
    pub baseline: Option<Baseline>,
}

/// Capacities of one more workload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkloadRun {
    /// Its name (close, sleep, cpu, ...).
    pub workload: String,
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
    /// The model.
    pub name: String,
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
    pub rows: Vec<(String, Capacity)>,
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
    /// The workload name (hello, echo, sleep, cpu, close).
    pub workload: String,
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
    /// Capacity: the latency objective, p99 at most this, ms (0: no capacity search).
    #[serde(default)]
    pub slo_p99_ms: f64,
    /// Capacity: connections the open model spreads its requests over.
    #[serde(default)]
    pub capacity_connections: usize,
    /// Cores the server could use (every core but the generator's).
    #[serde(default)]
    pub server_cores: usize,
}

/// One model's (or external target's) row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelResult {
    /// Model name (or the target's name).
    pub name: String,
    /// External target (`--target`) rather than a swarmlab model.
    pub external: bool,
    /// Ran, or why not.
    pub outcome: Outcome,
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
    /// One sample per second.
    pub timeline: Vec<Sample>,
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
    /// Exited with status 0 after SIGTERM.
    pub clean_exit: bool,
}

impl Results {
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
