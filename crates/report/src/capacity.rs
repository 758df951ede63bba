//! A capacity as `compare` reports it: the highest throughput a design sustained within a
//! latency objective, what limited it, the run-to-run spread, and every step of the search
//! that found it (the search itself is compare's, in the `swarmlab` binary: this crate only
//! renders what it found).

use serde::{Deserialize, Serialize};

/// What one step of the search measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Requests per second offered (the open model's rate).
    pub offered: f64,
    /// Requests per second completed.
    pub achieved: f64,
    /// 99th percentile from intended send times, ms.
    pub p99_ms: f64,
    /// Failed share of the step's requests (0..1).
    pub failure_ratio: f64,
    /// Server CPU per completed request, µs, if measured.
    pub cpu_us_per_request: Option<f64>,
    /// The generator was saturated during the step (its own CPU).
    pub generator_busy: bool,
    /// TLS handshakes completed per second (the generator's count), over TLS only.
    #[serde(default)]
    pub handshakes_per_s: Option<f64>,
}

/// What limited the capacity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitedBy {
    /// The server: latency went past the objective (or it fell behind the offered rate).
    Server,
    /// The load generator gave out first (or never offered more than the server took): the
    /// capacity is a lower bound.
    Generator,
    /// The open connections: each carries one request at a time, so with requests that take
    /// a fixed time (`sleep`) no server can complete more than connections / that time.
    Connections,
    /// Failures reached 1 %.
    Failures,
}

/// The result of a search.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Capacity {
    /// Highest throughput that passed, req/s (0 if no step passed).
    pub rps: f64,
    /// Its p99, ms.
    pub p99_ms: f64,
    /// What stopped the search.
    pub limited_by: LimitedBy,
    /// Server CPU per request at that throughput, µs.
    pub cpu_us_per_request: Option<f64>,
    /// TLS handshakes completed per second at that throughput (over TLS only).
    #[serde(default)]
    pub handshakes_per_s: Option<f64>,
    /// Every step, in the order run: the offered-vs-achieved and p99-vs-offered curves.
    pub curve: Vec<Step>,
    /// Run-to-run spread of the capacity figures, measured by offering the found rate once
    /// more: relative difference of the two measurements (0.05 = 5 %). `None` when the search
    /// ended before it could repeat. With `searches`, the spread of the searches' capacities.
    pub spread: Option<Spread>,
    /// When the first search's spread was over 20 %, the capacity of each whole search (each
    /// on a fresh server, up to three), in order: the figures above are the median search's.
    #[serde(default)]
    pub searches: Vec<f64>,
}

/// Relative differences between two measurements of the same rate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Achieved req/s.
    pub rps: f64,
    /// p99.
    pub p99: f64,
    /// CPU per request.
    pub cpu: f64,
}
