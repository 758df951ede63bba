//! What the engine's controller thread and its worker threads share: the targets the workers
//! obey, the open model's schedule (and its maths), and the counters they report through. The controller writes the targets; workers read
//! them once per loop turn (a few relaxed loads) and report measurements by channel, never
//! through here. Nothing outside the engine touches this: the CLI, the web UI and the Locust
//! worker steer through [`crate::Swarm`], which sends the controller commands.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::plan::Plan;
use crate::workload::{Entry, Workload};

/// The open model's schedule: request `k` is due at `t0 + intended_offset(k, rate, ramp)`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OpenSchedule {
    /// Requests per second; `None`: the closed model.
    pub rate: Option<f64>,
    /// Ramp from 0 to `rate` over this long.
    pub ramp: Duration,
    /// Time zero of the schedule (moves when the rate changes).
    pub t0: Instant,
}

pub(crate) struct Shared {
    /// Engine-wide options (timeouts, threads, stop on failure).
    pub plan: Plan,
    /// What users do; replaced only between runs, when no user exists.
    pub workload: RwLock<Arc<Workload>>,
    /// The statistics rows' names: the workload's, then any a remote user names as it goes.
    pub names: Mutex<Names>,
    pub control: Control,
}

/// The statistics rows' names, and each one's index.
#[derive(Default)]
pub(crate) struct Names {
    pub list: Vec<Entry>,
    index: HashMap<Entry, usize>,
}

impl Names {
    pub fn of(entries: &[Entry]) -> Names {
        let index = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.clone(), i))
            .collect();
        Names {
            list: entries.to_vec(),
            index,
        }
    }

    /// The row of (`method`, `name`), added if new.
    pub fn index_of(&mut self, method: &str, name: &str) -> usize {
        let key = Entry {
            method: method.to_string(),
            name: name.to_string(),
        };
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        self.list.push(key.clone());
        self.index.insert(key, self.list.len() - 1);
        self.list.len() - 1
    }
}

pub(crate) struct Control {
    /// The run's number: when it changes, workers drop every user and reload the workload.
    pub run: AtomicU64,
    /// Users wanted now per class, across all workers, and how long the users this adds take
    /// to start (spread evenly over it); `targets_gen` says when it changed.
    pub targets: Mutex<(Arc<Vec<usize>>, Duration)>,
    pub targets_gen: AtomicU64,
    /// The sum of `targets` (the open model spreads its schedule over this many users).
    pub users: AtomicUsize,
    /// The open model's schedule; `open_gen` says when it changed.
    pub open: Mutex<OpenSchedule>,
    pub open_gen: AtomicU64,
    /// Bumped when a run stops: workers hand over what they measured so far at once, not at
    /// the end of the second, so the run's statistics are complete when it is reported stopped.
    pub flush_gen: AtomicU64,
    /// Per worker: the last `flush_gen` it answered (its partial delta is on the channel).
    pub flushed: Vec<AtomicU64>,
    /// Workers exit.
    pub quit: AtomicBool,
    /// Workers start no new tasks (a stop with a stop timeout).
    pub draining: AtomicBool,
    /// Requests completed (counted only with `stop_on_failure`).
    pub completed: AtomicU64,
    /// `completed` when the first failure happened; `u64::MAX` before.
    pub first_failure: AtomicU64,
    /// Requests in flight per worker.
    pub in_flight: Vec<AtomicUsize>,
    /// Users not yet retired per worker (those running their `on_stop` steps included).
    pub alive: Vec<AtomicUsize>,
    /// User code asked to end the run (`runner.quit()`).
    pub quit_run: AtomicBool,
    /// Why the run cannot go on (a process of user code died), once it cannot.
    pub fatal: Mutex<Option<String>>,
    /// The LoadTestShape's latest answer, until the controller follows it.
    pub shape: Mutex<Option<ShapeStep>>,
    /// The processes running user code (the Python path), for the self-check.
    pub pids: Mutex<Vec<u32>>,
    /// The engine's other processes (`Plan::processes`), whose CPU is the generator's too.
    pub engines: Mutex<Vec<u32>>,
    /// What they used, added as each is reaped.
    pub engines_used: Mutex<crate::sys::Usage>,
}

/// What a LoadTestShape's `tick()` asked for.
#[derive(Clone, Debug, PartialEq)]
pub enum ShapeStep {
    /// This many users, started (or stopped) at this rate, of these classes only (indices
    /// into the workload's; `None`: every class by weight).
    Users(usize, f64, Option<Vec<usize>>),
    /// `None`: the end of the run.
    End,
}

impl Shared {
    /// After a request was counted in `delta`: `--stop-on-failure`'s count of completed
    /// requests (and where the first failure came), and the failure.
    pub fn after_request(
        &self,
        delta: &mut crate::stats::Delta,
        entry: usize,
        error: Option<crate::profile::Failed>,
        unix_now: f64,
    ) {
        if self.plan.stop_on_failure {
            let before = self.control.completed.fetch_add(1, Ordering::Relaxed);
            if error.is_some() {
                let _ = self.control.first_failure.compare_exchange(
                    u64::MAX,
                    before,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                );
            }
        }
        if let Some(e) = error {
            delta.error(entry, e, unix_now as u64);
        }
    }

    /// What `slots` workers share (threads of this process, or the engine's other processes,
    /// each standing for its threads).
    pub fn new(workload: Workload, plan: Plan, slots: usize) -> Shared {
        let threads = slots.max(1);
        Shared {
            names: Mutex::new(Names::of(&workload.entries)),
            workload: RwLock::new(Arc::new(workload)),
            control: Control {
                run: AtomicU64::new(0),
                targets: Mutex::new((Arc::new(Vec::new()), Duration::ZERO)),
                targets_gen: AtomicU64::new(0),
                users: AtomicUsize::new(0),
                open: Mutex::new(OpenSchedule {
                    rate: None,
                    ramp: Duration::ZERO,
                    t0: Instant::now(),
                }),
                open_gen: AtomicU64::new(0),
                flush_gen: AtomicU64::new(0),
                flushed: (0..threads).map(|_| AtomicU64::new(0)).collect(),
                quit: AtomicBool::new(false),
                draining: AtomicBool::new(false),
                completed: AtomicU64::new(0),
                first_failure: AtomicU64::new(u64::MAX),
                in_flight: (0..threads).map(|_| AtomicUsize::new(0)).collect(),
                alive: (0..threads).map(|_| AtomicUsize::new(0)).collect(),
                quit_run: AtomicBool::new(false),
                fatal: Mutex::new(None),
                shape: Mutex::new(None),
                pids: Mutex::new(Vec::new()),
                engines: Mutex::new(Vec::new()),
                engines_used: Mutex::new(Default::default()),
            },
            plan,
        }
    }

    /// The workload of the current run.
    pub fn workload(&self) -> Arc<Workload> {
        Arc::clone(&self.workload.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// The statistics rows' names.
    pub fn names(&self) -> std::sync::MutexGuard<'_, Names> {
        self.names.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Control {
    /// Publishes new per-class targets; the users they add start spread evenly over
    /// `start_over` (zero: all at once).
    pub fn set_targets(&self, counts: Vec<usize>, start_over: Duration) {
        self.users.store(counts.iter().sum(), Ordering::Relaxed);
        *self.targets.lock().unwrap_or_else(|e| e.into_inner()) = (Arc::new(counts), start_over);
        self.targets_gen.fetch_add(1, Ordering::Release);
    }

    /// The current per-class targets, and how long the users they add take to start.
    pub fn targets(&self) -> (Arc<Vec<usize>>, Duration) {
        let t = self.targets.lock().unwrap_or_else(|e| e.into_inner());
        (Arc::clone(&t.0), t.1)
    }

    /// Publishes a new open-model schedule.
    pub fn set_open(&self, open: OpenSchedule) {
        *self.open.lock().unwrap_or_else(|e| e.into_inner()) = open;
        self.open_gen.fetch_add(1, Ordering::Release);
    }

    /// The current open-model schedule.
    pub fn open(&self) -> OpenSchedule {
        *self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Users not yet retired, across all workers.
    pub fn alive(&self) -> usize {
        self.alive.iter().map(|n| n.load(Ordering::Relaxed)).sum()
    }

    /// User code asked to end the run.
    pub fn quit_asked(&self) {
        self.quit_run.store(true, Ordering::Relaxed);
    }

    /// The run cannot go on: the first reason given is kept.
    pub fn fatal(&self, why: String) {
        let mut f = self.fatal.lock().unwrap_or_else(|e| e.into_inner());
        f.get_or_insert(why);
    }

    /// The shape's newest answer (an older one not yet followed is replaced).
    pub fn shape_says(&self, step: ShapeStep) {
        *self.shape.lock().unwrap_or_else(|e| e.into_inner()) = Some(step);
    }

    /// The shape's answer since the last call, if any.
    pub fn take_shape(&self) -> Option<ShapeStep> {
        self.shape.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// Why the run cannot go on, if it cannot.
    pub fn fatal_reason(&self) -> Option<String> {
        self.fatal.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Requests in flight across all workers.
    pub fn in_flight(&self) -> usize {
        self.in_flight
            .iter()
            .map(|n| n.load(Ordering::Relaxed))
            .sum()
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
