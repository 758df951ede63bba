//! Capacity in `compare`: the search of [`super::search`] carried out against a live server
//! with the steerable engine in the open model, and the searches one server gets (the main
//! workload, `--scaling`'s connection counts, `--workload all`'s others). Each step sets the
//! rate, lets the queues settle, then measures a window: requests completed, failures, p99
//! from the intended send times (HdrHistogram difference of two flushed snapshots), the
//! server tree's CPU (from /proc), and the generator's own lag: a step is generator-limited
//! when more than 1 % of its sends left over 1 ms late although their connection was free.
//! After a step that failed, the next waits (bounded) until the requests it queued are
//! answered, so no step measures the one before it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use swarmlab_report::capacity::{Capacity, Step};
use swarmlab_report::{CapacityRow, Design, LimitedBy, ScalePoint, WorkloadKind};
use swarmlab_swarm::{EntryStats, Plan as LoadPlan, Start, Swarm, Target as Url, Workload};

use super::live::Progress;
use super::plan::{Plan, SearchPlan, WorkloadPlan, SCALING};
use super::search::{search, Params};
use super::workloads::{sleep_ceiling, users_for};
use crate::procfs::TreeSample;

/// How windows are timed and who is watched.
pub struct Probe<'a> {
    /// Samples the server's tree (for its CPU and memory), if there is one to sample.
    pub sample: Option<&'a dyn Fn() -> TreeSample>,
    /// Generator threads.
    pub threads: usize,
    /// After a rate change, before measuring.
    pub settle: Duration,
    /// How long each rate is measured.
    pub window: Duration,
    /// After a failed step, the longest wait for its queued requests to finish before the
    /// next step (else the next step would measure the last one's backlog).
    pub drain: Duration,
    /// Ctrl-C.
    pub stop: &'a AtomicBool,
    /// Local addresses to connect from (100,000 connections need several).
    pub source_addrs: Vec<std::net::IpAddr>,
}

/// A search's result and the most memory the server held meanwhile.
pub struct Measured {
    /// The capacity and its curve.
    pub capacity: Capacity,
    /// Peak PSS of the server tree during the search, bytes.
    pub peak_pss: u64,
    /// Peak RSS likewise, bytes.
    pub peak_rss: u64,
}

/// The p99 recorded for a window in which nothing completed: far past any objective, and
/// finite, so results.json stays valid JSON.
const NOTHING_COMPLETED_MS: f64 = 1e9;

struct Snapshot {
    total: EntryStats,
    late_sends: u64,
    /// TLS handshakes completed so far (full and resumed).
    handshakes: u64,
    at: Instant,
    server: Option<TreeSample>,
}

fn snapshot(swarm: &Swarm, sample: Option<&dyn Fn() -> TreeSample>, edge: Edge) -> Snapshot {
    // Sampling a big tree (a forking server's hundreds of children, its thousands of
    // descriptors) takes milliseconds on the generator's core: done outside the window, so
    // the sends it delays are not counted as the generator's own lag.
    let before = match edge {
        Edge::Start => sample.map(|s| s()),
        Edge::End => None,
    };
    // every worker's latest requests, or the window is cut at different instants for
    // different workers (a worker later than the flush's 200 ms on a loaded machine would
    // leave one edge stale)
    let whole_by = Instant::now() + FLUSH_WAIT;
    while !swarm.flush() && Instant::now() < whole_by {}
    let (total, late_sends, handshakes) = swarm.view(|v| {
        let h = v.stats.handshakes;
        (
            v.stats.total.clone(),
            v.stats.late_sends,
            h.full + h.resumed,
        )
    });
    let at = Instant::now();
    let server = match edge {
        Edge::Start => before,
        Edge::End => sample.map(|s| s()),
    };
    Snapshot {
        total,
        late_sends,
        handshakes,
        at,
        server,
    }
}

/// The longest a snapshot waits for every worker to hand over its latest requests.
const FLUSH_WAIT: Duration = Duration::from_secs(5);

/// Which end of a measured window a snapshot is.
#[derive(Clone, Copy)]
enum Edge {
    Start,
    End,
}

/// Searches the capacity of the server behind `workload` with `connections` open, reporting
/// each step to `on_step` (offered rate, step number).
pub fn measure(
    workload: Workload,
    connections: usize,
    params: &Params,
    probe: &Probe<'_>,
    show: &dyn Fn(&Swarm),
    on_step: &mut dyn FnMut(f64, usize),
) -> Measured {
    let plan = LoadPlan {
        users: connections,
        spawn_rate: 1e9,
        rate: Some(params.start),
        threads: probe.threads,
        source_addrs: probe.source_addrs.clone(),
        processes: crate::connections::engine_processes(connections, probe.threads, None),
        tls: Some(crate::server_process::compare_tls()),
        ..LoadPlan::default()
    };
    // Connections open on the first sends: give many of them a moment before the first window.
    let begin = || {
        let swarm = Swarm::new(workload.clone(), plan.clone());
        show(&swarm);
        swarm.start(Start::from_plan(&plan));
        std::thread::sleep(probe.settle + Duration::from_micros(100 * connections as u64));
        swarm
    };
    let mut swarm = begin();
    let (mut peak_pss, mut peak_rss) = (0u64, 0u64);
    let mut n = 0;
    let mut backlog = false;
    let mut fresh_starts = 0;
    let capacity = search(params, |rate| {
        if probe.stop.load(Ordering::Relaxed) {
            return None;
        }
        n += 1;
        on_step(rate, n);
        if backlog {
            // (almost) nothing more is sent until what the last step queued is answered
            swarm.set_rate(Some(1e-6));
            let until = Instant::now() + probe.drain;
            while swarm.in_flight() > 0 {
                if probe.stop.load(Ordering::Relaxed) {
                    return None;
                }
                if Instant::now() >= until {
                    // It cannot clear one step's queue in this long: every later step would
                    // measure this queue. Twice, the queue is dropped with the connections
                    // that hold it and the next step starts from fresh ones (a design that
                    // serves one connection at a time can hold requests in its accept queue
                    // past any drain); after that the search ends with what it found.
                    if fresh_starts == 2 {
                        return None;
                    }
                    fresh_starts += 1;
                    swarm.quit();
                    swarm.wait();
                    swarm = begin();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        swarm.set_rate(Some(rate));
        std::thread::sleep(probe.settle);
        let mut a = snapshot(&swarm, probe.sample, Edge::Start);
        std::thread::sleep(probe.window);
        let mut b = snapshot(&swarm, probe.sample, Edge::End);
        if b.total.num_requests == a.total.num_requests {
            // Nothing completed: a short window can fall inside one stall (connections
            // retrying a SYN the backlog dropped wait a second). Once, a longer look: a server
            // that answers nothing then is measured as answering nothing.
            a = b;
            std::thread::sleep(probe.window * 4);
            b = snapshot(&swarm, probe.sample, Edge::End);
        }
        let secs = (b.at - a.at).as_secs_f64().max(1e-3);
        let requests = b.total.num_requests.saturating_sub(a.total.num_requests);
        let failures = b.total.num_failures.saturating_sub(a.total.num_failures);
        let mut window = b.total.hist.clone();
        let p99_ms = if window.subtract(&a.total.hist).is_ok() && !window.is_empty() {
            window.value_at_quantile(0.99) as f64 / 1000.0
        } else {
            NOTHING_COMPLETED_MS
        };
        let cpu_us_per_request = match (&a.server, &b.server) {
            (Some(x), Some(y)) if requests > 0 => {
                Some(y.cpu_ns.saturating_sub(x.cpu_ns) as f64 / 1e3 / requests as f64)
            }
            _ => None,
        };
        if let Some(s) = &b.server {
            peak_pss = peak_pss.max(s.pss);
            peak_rss = peak_rss.max(s.rss);
        }
        let step = Step {
            offered: rate,
            achieved: requests as f64 / secs,
            p99_ms,
            // nothing completed: no failure either (its p99 fails the step)
            failure_ratio: failures as f64 / requests.max(1) as f64,
            cpu_us_per_request,
            // the generator's own lag: more than 1 % of sends late with their connection free
            // (its CPU alone says little: it is busiest when the server is slow, too)
            generator_busy: b.late_sends.saturating_sub(a.late_sends) * 100 > requests.max(100),
            handshakes_per_s: match b.handshakes.saturating_sub(a.handshakes) {
                0 => None,
                n => Some(n as f64 / secs),
            },
        };
        backlog = !params.passes(&step);
        Some(step)
    });
    swarm.quit();
    swarm.wait();
    Measured {
        capacity,
        peak_pss,
        peak_rss,
    }
}

/// The longest wait for a failed capacity step's queued requests before the search gives up
/// on going further (a server that cannot clear one step's queue in this long is far below
/// what that step offered).
const DRAIN: Duration = Duration::from_secs(5);

/// The capacity searches against one running server.
pub struct Searches<'a> {
    plan: &'a Plan,
    search: SearchPlan,
    design: &'a Design,
    /// A locustfile's users, else the built-in workload's.
    users: Option<&'a Workload>,
    target: &'a Url,
    sample: Option<&'a dyn Fn() -> TreeSample>,
    stop: &'a AtomicBool,
    progress: &'a Progress<'a>,
}

impl<'a> Searches<'a> {
    /// The searches `plan` asks for against the server at `target`.
    pub fn new(
        (plan, search): (&'a Plan, SearchPlan),
        (design, target): (&'a Design, &'a Url),
        users: Option<&'a Workload>,
        sample: Option<&'a dyn Fn() -> TreeSample>,
        (stop, progress): (&'a AtomicBool, &'a Progress<'a>),
    ) -> Searches<'a> {
        Searches {
            plan,
            search,
            design,
            users,
            target,
            sample,
            stop,
            progress,
        }
    }

    fn one(&self, w: &WorkloadPlan, connections: usize) -> Option<Measured> {
        if self.stop.load(Ordering::Relaxed) {
            return None;
        }
        let probe = Probe {
            sample: self.sample,
            threads: self.plan.generator_threads,
            settle: self.search.settle,
            window: self.search.window,
            drain: DRAIN,
            stop: self.stop,
            source_addrs: crate::connections::loopback_sources(connections),
        };
        let mut phase = |rate: f64, n: usize| {
            self.progress.say(&format!(
                "capacity ({} over {connections} connections): step {n}, {rate:.0} req/s offered",
                w.kind
            ));
        };
        let mut m = measure(
            users_for(w.kind, self.users, self.target),
            connections,
            &self.search.params(w, connections),
            &probe,
            &|swarm: &Swarm| self.progress.show(swarm),
            &mut phase,
        );
        // Requests that each take 100 ms, one at a time per connection: no server completes
        // more than connections / 0.1 s. A capacity near that says nothing about the server.
        let c = &mut m.capacity;
        if w.kind == WorkloadKind::Sleep
            && self.users.is_none()
            && c.limited_by == LimitedBy::Server
            && c.rps >= 0.9 * sleep_ceiling(connections)
        {
            c.limited_by = LimitedBy::Connections;
        }
        Some(m)
    }

    /// The main workload at the configured connections.
    pub fn main(&self) -> Option<Capacity> {
        self.one(self.plan.main(), self.search.connections)
            .map(|m| m.capacity)
    }

    /// `--scaling`: the main workload at each of [`SCALING`]'s connection counts.
    pub fn scaling(&self) -> Vec<ScalePoint> {
        if !self.plan.scaling {
            return Vec::new();
        }
        SCALING
            .iter()
            .map_while(|&n| {
                let m = self.one(self.plan.main(), n)?;
                Some(ScalePoint {
                    connections: n,
                    capacity: m.capacity,
                    pss_mib: mib(m.peak_pss),
                    rss_mib: mib(m.peak_rss),
                })
            })
            .collect()
    }

    /// One of `--workload all`'s other workloads.
    pub fn extra(&self, w: &WorkloadPlan) -> CapacityRow {
        let capacity = self.one(w, self.search.connections).map(|m| m.capacity);
        CapacityRow {
            design: self.design.clone(),
            skipped: capacity
                .is_none()
                .then(|| "interrupted before it ran".to_string()),
            capacity,
        }
    }
}

/// Bytes as MiB.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
