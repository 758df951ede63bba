//! How a swarm runs: the engine-wide options every face (CLI, web UI, Locust worker,
//! compare) hands the engine. A plain struct whose fields say their defaults.

use std::time::Duration;

/// The most users a run may have, whatever asks for them (the command line, the web form, a
/// Locust master, a LoadTestShape): each costs memory up front, and 4,000,000,000 from one web
/// form once exhausted memory (issue 27).
pub const MAX_USERS: usize = 1_000_000;

/// How a swarm runs.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Peak concurrent users (connections). By default, 1.
    pub users: usize,
    /// Users started per second (closed model). By default, 1.
    pub spawn_rate: f64,
    /// Stop after this long. By default, `None`: until interrupted.
    pub run_time: Option<Duration>,
    /// Open model: requests per second at intended send times. By default, `None` (closed).
    pub rate: Option<f64>,
    /// Open model: ramp the rate from 0 over this long. By default, zero.
    pub rate_ramp: Duration,
    /// Per-request timeout, from the send. By default, 10 s.
    pub timeout: Duration,
    /// Connect timeout. By default, 5 s.
    pub connect_timeout: Duration,
    /// Stop at the first failed request. By default, off.
    pub stop_on_failure: bool,
    /// At the end, let in-flight requests finish for up to this long. By default, zero.
    pub stop_timeout: Duration,
    /// Worker threads. By default, the cores this process may run on.
    pub threads: usize,
    /// Local addresses to connect from, users spread over them in turn (one address has about
    /// 28,000 ephemeral ports per destination). By default, none: the kernel picks.
    pub source_addrs: Vec<std::net::IpAddr>,
    /// TLS client settings for `https://` hosts. By default, `None`: the system's roots,
    /// verified (as python-requests does).
    pub tls: Option<std::sync::Arc<crate::tls::ClientTls>>,
}

impl Default for Plan {
    fn default() -> Plan {
        Plan {
            users: 1,
            spawn_rate: 1.0,
            run_time: None,
            rate: None,
            rate_ramp: Duration::ZERO,
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            stop_on_failure: false,
            stop_timeout: Duration::ZERO,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            source_addrs: Vec::new(),
            tls: None,
        }
    }
}
