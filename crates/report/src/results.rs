//! Everything `compare` measured, as one serializable value.

use serde::{Deserialize, Serialize};

/// One compare run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// Where it ran.
    pub machine: Machine,
    /// How it ran.
    pub settings: Settings,
    /// One row per model or external target, in run order.
    pub rows: Vec<ModelResult>,
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

/// What the server's process tree cost, from /proc and rusage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Server {
    /// User + system CPU seconds, children included.
    pub cpu_s: f64,
    /// `cpu_s` per completed request, µs.
    pub cpu_us_per_request: f64,
    /// Peak of the summed RSS of every process in the tree, MiB.
    pub peak_rss_mib: f64,
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
            Outcome::Ran { client, server } => Some((r, &**client, server.as_ref())),
            Outcome::Skipped { .. } => None,
        })
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
