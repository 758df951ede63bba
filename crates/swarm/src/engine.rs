//! The controller: starts one worker thread per core, ramps users at the spawn rate, merges the
//! workers' per-second deltas, decides when to stop, and watches itself (CPU, send lag) so it can
//! say when the figures measure the generator instead of the server.
//!
//! It is driven through [`Control`] (users wanted, stop) and reports through an [`Observer`], so
//! the same engine serves the headless CLI now and a web UI later.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::scenario::Workload;
use crate::stats::{quantile_ms, Stats};
use crate::worker::Worker;

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
        }
    }
}

/// Shared switches between the controller and the workers.
pub struct Control {
    /// Users that should exist now, across all workers.
    pub users: AtomicUsize,
    /// Workers exit at once.
    pub stop: AtomicBool,
    /// Workers start no new tasks.
    pub draining: AtomicBool,
    /// Requests completed (counted only with `stop_on_failure`).
    pub completed: AtomicU64,
    /// `completed` when the first failure happened; `u64::MAX` before.
    pub first_failure: AtomicU64,
    /// Requests in flight per worker.
    pub in_flight: Vec<AtomicUsize>,
    /// The open model's time zero.
    pub t0: Instant,
}

pub(crate) struct Shared {
    pub workload: Workload,
    pub plan: Plan,
    pub control: Control,
}

/// What the controller knows each second, besides the statistics.
#[derive(Clone, Debug, Default)]
pub struct Status {
    /// Users running.
    pub users: usize,
    /// Since the start.
    pub elapsed: Duration,
    /// The generator's CPU use over the last second, as a share of the cores its threads can use.
    pub cpu: f64,
    /// Why the generator is saturated, once it has been.
    pub saturated: Option<String>,
}

/// One row per second of history: what the charts and `_stats_history.csv` show.
#[derive(Clone, Debug, serde::Serialize)]
pub struct HistoryRow {
    /// Unix seconds.
    pub time: u64,
    /// Users running.
    pub users: usize,
    /// Current (10 s window) requests/s.
    pub rps: f64,
    /// Current failures/s.
    pub fps: f64,
    /// Current-window median, ms.
    pub p50_ms: Option<f64>,
    /// Current-window 95th percentile, ms.
    pub p95_ms: Option<f64>,
    /// Current-window 99th percentile, ms.
    pub p99_ms: Option<f64>,
    /// Requests completed during the unix second `time - 2` (complete by now: workers hand
    /// over each second within about one second).
    pub completed_2s_ago: u64,
}

/// Gets the statistics as the run goes.
pub trait Observer {
    /// Called about once per second with everything merged so far.
    fn second(&mut self, stats: &Stats, status: &Status);
}

impl Observer for () {
    fn second(&mut self, _: &Stats, _: &Status) {}
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
}

/// The outcome of a run.
#[derive(Clone, Debug)]
pub struct Summary {
    /// Everything merged.
    pub stats: Stats,
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
    /// Why the run ended.
    pub ended: Ended,
}

/// The warning printed when the generator, not the server, limits the figures.
pub const SATURATED: &str =
    "load generator saturated: these figures measure the client, not the server";

/// Runs a swarm to its end; `stop` is checked every tick (set it from a signal handler or UI).
pub fn run(
    workload: Workload,
    plan: Plan,
    stop: &AtomicBool,
    observer: &mut dyn Observer,
) -> Summary {
    let threads = plan.threads.max(1);
    let n_entries = workload.entries.len();
    let open = plan.rate.is_some();
    let t0 = Instant::now();
    let start_unix = unix_now();
    let shared = Arc::new(Shared {
        control: Control {
            users: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            draining: AtomicBool::new(false),
            completed: AtomicU64::new(0),
            first_failure: AtomicU64::new(u64::MAX),
            in_flight: (0..threads).map(|_| AtomicUsize::new(0)).collect(),
            t0,
        },
        workload,
        plan,
    });
    let plan = &shared.plan;
    let (tx, rx) = mpsc::channel();
    let handles: Vec<_> = (0..threads)
        .map(|id| {
            let shared = Arc::clone(&shared);
            let tx = tx.clone();
            std::thread::Builder::new()
                .name(format!("swarm-{id}"))
                .spawn(move || match Worker::new(id, threads, shared) {
                    Ok(w) => w.run(&tx),
                    Err(e) => panic!("cannot start a worker: {e}"),
                })
                .expect("spawn a worker thread")
        })
        .collect();
    drop(tx);

    let mut stats = Stats::new(n_entries, start_unix, open);
    let mut history = Vec::new();
    let mut status = Status::default();
    let mut check = SelfCheck::new(threads);
    let mut next_second = t0 + Duration::from_secs(1);
    let mut last_late = 0;
    let mut last_requests = 0;
    let ended = loop {
        std::thread::sleep(Duration::from_millis(20));
        let now = Instant::now();
        let elapsed = now - t0;
        let wanted = match plan.rate {
            Some(_) => plan.users,
            None => {
                (((plan.spawn_rate * elapsed.as_secs_f64()).floor() as usize) + 1).min(plan.users)
            }
        };
        shared.control.users.store(wanted, Ordering::Relaxed);
        status.users = wanted;
        status.elapsed = elapsed;
        while let Ok(d) = rx.try_recv() {
            stats.merge(&d);
        }
        if now >= next_second {
            next_second += Duration::from_secs(1);
            status.cpu = check.sample();
            let sends = stats.total.num_requests - last_requests;
            let late = stats.late_sends - last_late;
            (last_requests, last_late) = (stats.total.num_requests, stats.late_sends);
            if status.saturated.is_none() {
                status.saturated = check.verdict(status.cpu, late, sends);
            }
            history.push(history_row(&stats, wanted));
            observer.second(&stats, &status);
        }
        if stop.load(Ordering::Relaxed) {
            break Ended::Interrupted;
        }
        if plan.stop_on_failure && shared.control.first_failure.load(Ordering::Relaxed) != u64::MAX
        {
            break Ended::Failure;
        }
        if plan.run_time.is_some_and(|t| elapsed >= t) {
            break Ended::RunTime;
        }
    };
    if !plan.stop_timeout.is_zero() && ended == Ended::RunTime {
        shared.control.draining.store(true, Ordering::Relaxed);
        let until = Instant::now() + plan.stop_timeout;
        while Instant::now() < until
            && shared
                .control
                .in_flight
                .iter()
                .any(|n| n.load(Ordering::Relaxed) > 0)
        {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let duration = t0.elapsed();
    shared.control.stop.store(true, Ordering::Relaxed);
    for h in handles {
        let _ = h.join();
    }
    for d in rx.try_iter() {
        stats.merge(&d);
    }
    status.elapsed = duration;
    observer.second(&stats, &status);
    let first = shared.control.first_failure.load(Ordering::Relaxed);
    Summary {
        stats,
        history,
        duration,
        peak_users: status.users,
        before_first_failure: (first != u64::MAX).then_some(first),
        saturated: status.saturated,
        ended,
    }
}

fn history_row(stats: &Stats, users: usize) -> HistoryRow {
    let (rps, fps) = stats.current_rates(None);
    let window = stats.current_window(None, unix_now() as u64);
    HistoryRow {
        time: unix_now() as u64,
        users,
        rps,
        fps,
        p50_ms: quantile_ms(&window, 0.5),
        p95_ms: quantile_ms(&window, 0.95),
        p99_ms: quantile_ms(&window, 0.99),
        completed_2s_ago: stats.requests_in_second((unix_now() as u64).saturating_sub(2)),
    }
}

/// Unix time now, fractional seconds.
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Open model: when send number `k` (0-based, across all users) is due after time zero, for
/// `rate` requests/s reached linearly over `ramp`.
pub fn intended_offset(k: u64, rate: f64, ramp: Duration) -> Duration {
    let k = k as f64;
    let ramp_s = ramp.as_secs_f64();
    let during_ramp = rate * ramp_s / 2.0; // sends due while ramping
    let secs = if ramp_s > 0.0 && k < during_ramp {
        (2.0 * k * ramp_s / rate).sqrt()
    } else {
        (k - during_ramp) / rate + ramp_s
    };
    Duration::from_secs_f64(secs.max(0.0))
}

/// The generator watching itself: its own CPU time against the cores its threads can use.
struct SelfCheck {
    capacity: f64,
    last_cpu: Duration,
    last_wall: Instant,
    busy_seconds: u32,
}

impl SelfCheck {
    fn new(threads: usize) -> SelfCheck {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        SelfCheck {
            capacity: threads.min(cores) as f64,
            last_cpu: process_cpu(),
            last_wall: Instant::now(),
            busy_seconds: 0,
        }
    }

    /// CPU share since the last sample.
    fn sample(&mut self) -> f64 {
        let (cpu, wall) = (process_cpu(), Instant::now());
        let share = (cpu - self.last_cpu).as_secs_f64()
            / (wall - self.last_wall).as_secs_f64().max(1e-6)
            / self.capacity;
        (self.last_cpu, self.last_wall) = (cpu, wall);
        share
    }

    /// Saturated after two busy seconds in a row above 90 % CPU, or when more than 1 % of a
    /// second's sends were behind schedule.
    fn verdict(&mut self, cpu: f64, late: u64, sends: u64) -> Option<String> {
        self.busy_seconds = if cpu > 0.9 { self.busy_seconds + 1 } else { 0 };
        if self.busy_seconds >= 2 {
            return Some(format!(
                "{SATURATED} (generator CPU {:.0} % of {} core(s))",
                cpu * 100.0,
                self.capacity
            ));
        }
        if sends > 100 && late * 100 > sends {
            return Some(format!(
                "{SATURATED} ({late} of {sends} sends in one second fell behind schedule)"
            ));
        }
        None
    }
}

fn process_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_check_needs_two_busy_seconds_or_late_sends() {
        let mut c = SelfCheck {
            capacity: 1.0,
            last_cpu: Duration::ZERO,
            last_wall: Instant::now(),
            busy_seconds: 0,
        };
        assert_eq!(
            c.verdict(0.95, 0, 1000),
            None,
            "one busy second is not saturation"
        );
        assert_eq!(c.verdict(0.50, 0, 1000), None);
        assert_eq!(c.verdict(0.95, 0, 1000), None);
        let why = c.verdict(0.97, 0, 1000).expect("two busy seconds in a row");
        assert!(why.starts_with(SATURATED) && why.contains("97 %"), "{why}");
        let mut c = SelfCheck {
            busy_seconds: 0,
            ..c
        };
        assert_eq!(c.verdict(0.1, 10, 1000), None, "1 % late is tolerated");
        let why = c.verdict(0.1, 50, 1000).expect("5 % of sends late");
        assert!(why.contains("50 of 1000 sends"), "{why}");
    }

    #[test]
    fn open_schedule_is_even_and_ramps() {
        let at = |k| intended_offset(k, 1000.0, Duration::ZERO).as_secs_f64();
        assert!((at(0) - 0.0).abs() < 1e-9 && (at(1000) - 1.0).abs() < 1e-9);
        // ramp 0 -> 1000/s over 2 s: 1000 sends during the ramp, the 1000th at t = 2 s
        let ramp = |k| intended_offset(k, 1000.0, Duration::from_secs(2)).as_secs_f64();
        assert!((ramp(1000) - 2.0).abs() < 1e-9);
        assert!((ramp(2000) - 3.0).abs() < 1e-9);
        assert!(
            (ramp(250) - 1.0).abs() < 1e-9,
            "a quarter of the ramp's sends by half its time"
        );
    }
}
