//! How a swarm runs: the engine-wide options every face (CLI, web UI, Locust worker,
//! compare) hands the engine. A plain struct whose fields say their defaults.

use std::time::Duration;

/// The most users a run may have, whatever asks for them (the command line, the web form, a
/// Locust master, a LoadTestShape): each costs memory up front, and 4,000,000,000 from one web
/// form once exhausted memory (issue 27).
pub const MAX_USERS: usize = 1_000_000;

/// How a swarm runs.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
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
    /// verified (as python-requests does). The engine's other processes get its options and
    /// build their own.
    #[serde(skip)]
    pub tls: Option<std::sync::Arc<crate::tls::ClientTls>>,
    /// Run the compiled program's users in this many processes of the engine
    /// ([`crate::processes`]), started this way; `None`: in this process (the default).
    #[serde(skip)]
    pub processes: Option<Processes>,
    /// The seed of the users' random choices (tasks by weight, random waits). `None`: one is
    /// drawn from the OS when the engine starts (the run's [`crate::Summary::seed`]), so runs differ
    /// as Locust's do; a seed given makes a run's choices repeatable.
    pub seed: Option<u64>,
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
            processes: None,
            seed: None,
        }
    }
}

/// The longest gap between two users of one step starting.
pub const STEP_START_GAP: Duration = Duration::from_millis(1);

/// How long the `added` users of one ramp step take to start at `rate` users per second.
///
/// Locust adds a step's users (`max(1, floor(rate))` of them) in one instant. swarmlab starts
/// them one after another, `min(1 / rate, 1 ms)` apart: a step of three starts within 2 ms, as
/// under Locust (a user started a third of a second late loses a tenth of a 3 s run's share of
/// the requests), while a step of thousands does not stay in lockstep under a constant wait —
/// 10,000 users at `-r 1000` started a thousand at a time sent ten bursts of 1,000 requests a
/// second, each request timed behind the rest of its burst (issue 26). The gap never exceeds
/// `1 / rate`, so the step has started before the next one is due.
pub fn step_start_span(added: usize, rate: f64) -> Duration {
    if added == 0 || !rate.is_finite() || rate <= 0.0 {
        return Duration::ZERO;
    }
    let gap = (1.0 / rate).min(STEP_START_GAP.as_secs_f64());
    Duration::from_secs_f64((added as f64 * gap).min(3600.0))
}

/// How the engine's processes are started.
#[derive(Clone, Debug)]
pub struct Processes {
    /// How many.
    pub count: usize,
    /// The program each is (swarmlab itself: its `main` calls
    /// [`crate::processes::process_main`] when given `args`).
    pub program: std::path::PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
}

impl Processes {
    /// Worker threads in each process for `threads` in all (at least one each).
    pub fn threads_each(&self, threads: usize) -> usize {
        threads.div_ceil(self.count.max(1)).max(1)
    }
}
