//! The engine's controller thread: it carries out the handle's commands on its 20 ms tick,
//! paces ramps, publishes per-class user targets the worker threads obey (see `control.rs`),
//! merges the workers' per-second deltas into the statistics, keeps the per-second history,
//! ends runs on their run time or first failure, and watches the generator itself
//! ([`crate::selfcheck`]).

use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::clock::unix_now;
use crate::control::{OpenSchedule, ShapeStep, Shared};
use crate::history::{History, HistoryRow};
use crate::selfcheck::SelfCheck;
use crate::stats::{quantile_ms, Delta, Stats};
use crate::steering::{lock, Command, Ended, Event, Inner, Start, State, Status, Summary};

/// A ramp of users from `from` to `to` at `rate` per second, from `t0`.
#[derive(Clone, Copy, Debug)]
struct Ramp {
    from: usize,
    to: usize,
    rate: f64,
    t0: Instant,
}

impl Ramp {
    /// Users wanted at `now`, in Locust's steps: `max(1, floor(rate))` users at once, the
    /// first step at once and one every `step / rate` s after it (`-u 10 -r 3`: 3, 6, 9, 10
    /// at 0, 1, 2 and 3 s; `-r 0.5`: one user every 2 s).
    fn at(&self, now: Instant) -> usize {
        let step = self.rate.floor().max(1.0);
        let elapsed = now.saturating_duration_since(self.t0).as_secs_f64();
        let steps = (elapsed * self.rate / step).floor();
        let users = if steps.is_finite() {
            ((steps + 1.0) * step).min(usize::MAX as f64) as usize
        } else {
            usize::MAX
        };
        if self.to >= self.from {
            self.from.saturating_add(users).min(self.to)
        } else {
            self.from.saturating_sub(users).max(self.to)
        }
    }

    /// How long `added` users of a step take to start ([`crate::plan::step_start_span`]).
    fn start_over(&self, added: usize) -> Duration {
        crate::plan::step_start_span(added, self.rate)
    }
}

pub(crate) struct Controller {
    shared: Arc<Shared>,
    commands: Receiver<Command>,
    deltas: Receiver<Delta>,
    inner: Arc<Inner>,
    workers: Vec<JoinHandle<()>>,
    state: State,
    /// The current run's number (deltas of other runs are dropped).
    run: u64,
    t0: Instant,
    run_time: Option<Duration>,
    ramp: Option<Ramp>,
    /// The classes a LoadTestShape chose (its `user_classes`), if it did, and the users per
    /// class when it chose them: as Locust's dispatcher does, the users it adds from there are
    /// of these classes only, and the users already running stay.
    shape_classes: Option<(Vec<usize>, Vec<usize>)>,
    /// Users wanted now, and their split by class (`classes` set explicitly by a master, or
    /// derived from `users` by the classes' weights).
    users: usize,
    classes: Vec<usize>,
    /// A stop with a stop timeout: in-flight requests may finish until then.
    drain_until: Option<Instant>,
    stopping: Option<Ended>,
    check: SelfCheck,
    /// Worker threads in all (across the engine's processes), for the self-check.
    threads: usize,
    next_second: Instant,
    last_requests: u64,
    last_late: u64,
}

impl Controller {
    pub(crate) fn new(
        shared: Arc<Shared>,
        command_rx: Receiver<Command>,
        deltas: Receiver<Delta>,
        inner: Arc<Inner>,
        workers: Vec<JoinHandle<()>>,
        threads: usize,
    ) -> Controller {
        Controller {
            check: SelfCheck::new(threads),
            threads,
            shared,
            commands: command_rx,
            deltas,
            inner: Arc::clone(&inner),
            workers,
            state: State::Ready,
            run: 0,
            t0: Instant::now(),
            run_time: None,
            ramp: None,
            shape_classes: None,
            users: 0,
            classes: Vec::new(),
            drain_until: None,
            stopping: None,
            next_second: Instant::now(),
            last_requests: 0,
            last_late: 0,
        }
    }

    pub(crate) fn run(mut self) -> Summary {
        loop {
            let quit = loop {
                match self.commands.try_recv() {
                    Ok(Command::Quit) | Err(mpsc::TryRecvError::Disconnected) => break true,
                    Ok(c) => self.command(c),
                    Err(mpsc::TryRecvError::Empty) => break false,
                }
            };
            if quit {
                return self.quit();
            }
            let now = Instant::now();
            self.merge();
            self.tick(now);
            // Wait for the next command, or 20 ms: a command is carried out at once.
            match self.commands.recv_timeout(Duration::from_millis(20)) {
                Ok(Command::Quit) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return self.quit()
                }
                Ok(c) => self.command(c),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
        }
    }

    fn command(&mut self, c: Command) {
        let now = Instant::now();
        match c {
            Command::Start(start) => {
                if matches!(self.state, State::Spawning | State::Running) {
                    if let Some(rate) = start.rate {
                        self.set_rate(Some(rate), now);
                    }
                    self.ramp_to(start.users, start.spawn_rate, now);
                } else {
                    self.new_run(*start, now);
                }
            }
            Command::Users { users, spawn_rate } => {
                if matches!(self.state, State::Spawning | State::Running) {
                    self.ramp_to(users, spawn_rate, now);
                }
            }
            Command::ClassUsers(counts, spawn_rate) => {
                if !matches!(self.state, State::Spawning | State::Running) {
                    let start = Start {
                        users: 0,
                        spawn_rate: 1.0,
                        run_time: None,
                        rate: None,
                        rate_ramp: Duration::ZERO,
                        workload: None,
                    };
                    self.new_run(start, now);
                }
                self.ramp = None;
                let n = self.shared.workload().classes.len();
                let mut counts = counts;
                counts.resize(n, 0);
                let users: usize = counts.iter().sum();
                let start_over =
                    crate::plan::step_start_span(users.saturating_sub(self.users), spawn_rate);
                self.users = users;
                self.classes = counts.clone();
                self.shared.control.set_targets(counts, start_over);
                self.set_state(State::Running);
            }
            Command::Rate(rate) => self.set_rate(rate, now),
            Command::Stop(why) => self.begin_stop(why, now),
            Command::Reset => {
                let open = self.shared.control.open().rate.is_some();
                let mut view = lock(&self.inner.view);
                view.stats = Stats::new(view.workload.entries.len(), unix_now(), open);
                view.history = History::default();
                view.before_first_failure = None;
                drop(view);
                self.shared.control.completed.store(0, Ordering::Relaxed);
                self.shared
                    .control
                    .first_failure
                    .store(u64::MAX, Ordering::Relaxed);
                (self.last_requests, self.last_late) = (0, 0);
            }
            Command::Flush(done) => {
                let asked = self.shared.control.flush_gen.fetch_add(1, Ordering::AcqRel) + 1;
                let whole = self.await_flush(asked, now + Duration::from_millis(200));
                let _ = done.send(whole);
            }
            Command::Quit => unreachable!("handled by the loop"),
        }
    }

    fn new_run(&mut self, start: Start, now: Instant) {
        let control = &self.shared.control;
        if let Some(w) = start.workload {
            *self
                .shared
                .workload
                .write()
                .unwrap_or_else(|e| e.into_inner()) = Arc::new(w);
        }
        let workload = self.shared.workload();
        *self.shared.names() = crate::control::Names::of(&workload.entries);
        self.run += 1;
        self.shape_classes = None;
        control.set_targets(vec![0; workload.classes.len()], Duration::ZERO);
        control.set_open(OpenSchedule {
            rate: start.rate,
            ramp: start.rate_ramp,
            t0: now,
        });
        control.completed.store(0, Ordering::Relaxed);
        control.first_failure.store(u64::MAX, Ordering::Relaxed);
        control.draining.store(false, Ordering::Relaxed);
        control.run.store(self.run, Ordering::Release);
        // Deltas still queued belong to the old run.
        while self.deltas.try_recv().is_ok() {}
        {
            let mut view = lock(&self.inner.view);
            view.stats = Stats::new(workload.entries.len(), unix_now(), start.rate.is_some());
            view.history = History::default();
            view.names = workload.entries.clone();
            view.workload = workload;
            view.peak_users = 0;
            view.before_first_failure = None;
            view.ended = None;
            view.duration = Duration::ZERO;
            view.status = Status::default();
        }
        self.t0 = now;
        self.run_time = start.run_time;
        self.users = 0;
        self.classes.clear();
        self.drain_until = None;
        self.stopping = None;
        self.check = SelfCheck::new(self.threads);
        self.next_second = now + Duration::from_secs(1);
        (self.last_requests, self.last_late) = (0, 0);
        self.set_state(State::Spawning);
        // the history starts at the start, as Locust's does: no users, no requests yet
        let first = {
            let mut view = lock(&self.inner.view);
            let row = history_row(&view.stats, 0);
            view.history.push(row.clone());
            row
        };
        self.publish(Event::Second(first));
        if start.rate.is_some() {
            // Open model: every connection at once; the schedule paces the requests.
            self.ramp = None;
            self.set_users(start.users, Duration::ZERO);
            self.set_state(State::Running);
        } else {
            self.ramp_to(start.users, start.spawn_rate, now);
        }
    }

    fn ramp_to(&mut self, users: usize, spawn_rate: f64, now: Instant) {
        // every face bounds what it is given; a LoadTestShape's answer is bounded here
        let users = users.min(crate::plan::MAX_USERS);
        if users == self.users {
            self.ramp = None;
            self.set_state(State::Running);
            return;
        }
        self.ramp = Some(Ramp {
            from: self.users,
            to: users,
            rate: spawn_rate,
            t0: now,
        });
        self.set_state(State::Spawning);
        self.advance_ramp(now);
    }

    fn advance_ramp(&mut self, now: Instant) {
        let Some(ramp) = self.ramp else { return };
        let wanted = ramp.at(now);
        if wanted != self.users {
            self.set_users(wanted, ramp.start_over(wanted.saturating_sub(self.users)));
        }
        if wanted == ramp.to {
            self.ramp = None;
            self.set_state(State::Running);
        }
    }

    /// Sets the total users, split over the classes (fixed counts first, then by weight); the
    /// users added start over `start_over`.
    fn set_users(&mut self, users: usize, start_over: Duration) {
        let workload = self.shared.workload();
        let counts = match &self.shape_classes {
            // above the users running when the shape chose: those, and the rest of its classes
            Some((chosen, base)) if users >= base.iter().sum::<usize>() => {
                let added = workload.split_among(users - base.iter().sum::<usize>(), Some(chosen));
                base.iter().zip(added).map(|(b, a)| b + a).collect()
            }
            // below them (Locust stops the users it started last): by weight, as without
            _ => workload.split(users),
        };
        self.users = users;
        self.classes = counts.clone();
        self.shared.control.set_targets(counts, start_over);
    }

    fn set_rate(&mut self, rate: Option<f64>, now: Instant) {
        self.shared.control.set_open(OpenSchedule {
            rate,
            ramp: Duration::ZERO,
            t0: now,
        });
    }

    fn begin_stop(&mut self, why: Ended, now: Instant) {
        if !matches!(self.state, State::Spawning | State::Running) || self.stopping.is_some() {
            return;
        }
        self.stopping = Some(why);
        self.ramp = None;
        let timeout = self.shared.plan.stop_timeout;
        if timeout.is_zero() || why != Ended::RunTime {
            self.finish_stop(now);
        } else {
            self.shared.control.draining.store(true, Ordering::Relaxed);
            self.drain_until = Some(now + timeout);
        }
    }

    fn finish_stop(&mut self, now: Instant) {
        self.drain_until = None;
        let n = self.classes.len();
        self.users = 0;
        self.classes = vec![0; n];
        let shared = Arc::clone(&self.shared);
        shared.control.set_targets(vec![0; n], Duration::ZERO);
        shared.control.draining.store(false, Ordering::Relaxed);
        // Users with on_stop steps run them on the way out (as Locust's do): wait for them,
        // bounded by the request timeout.
        let until = now + shared.plan.timeout;
        while shared.control.alive() > 0 && Instant::now() < until {
            self.merge();
            std::thread::sleep(Duration::from_millis(2));
        }
        // Every worker hands over its partial second now; wait (briefly) for all of it, so
        // that a reader who sees `Stopped` sees the whole run.
        let asked = shared.control.flush_gen.fetch_add(1, Ordering::AcqRel) + 1;
        self.await_flush(asked, now + Duration::from_millis(200));
        {
            let mut view = lock(&self.inner.view);
            view.ended = self.stopping;
            view.duration = now - self.t0;
            view.fatal = shared.control.fatal_reason();
        }
        self.set_state(State::Stopped);
    }

    /// Merges deltas until every worker has answered flush request `asked` (each sends its
    /// partial delta, if any, and `flushed` counts them) or `until` passes.
    /// Whether every worker handed over by `until`.
    fn await_flush(&mut self, asked: u64, until: Instant) -> bool {
        let shared = Arc::clone(&self.shared);
        let behind = || {
            shared
                .control
                .flushed
                .iter()
                .any(|f| f.load(Ordering::Acquire) < asked)
        };
        while Instant::now() < until && behind() {
            self.merge();
            std::thread::sleep(Duration::from_millis(1));
        }
        let whole = !behind();
        self.merge();
        whole
    }

    fn set_state(&mut self, state: State) {
        if self.state == state {
            return;
        }
        self.state = state;
        lock(&self.inner.view).status.state = state;
        self.publish(Event::State(state));
    }

    fn publish(&self, event: Event) {
        lock(&self.inner.subscribers).retain(|tx| tx.send(event.clone()).is_ok());
    }

    /// Merges every delta the workers handed over, and passes it on to delta subscribers.
    fn merge(&mut self) {
        let mut view = None;
        let mut taps = None;
        while let Ok(d) = self.deltas.try_recv() {
            if d.run != self.run {
                continue;
            }
            view.get_or_insert_with(|| lock(&self.inner.view))
                .stats
                .merge(&d);
            let taps = taps.get_or_insert_with(|| lock(&self.inner.delta_subscribers));
            if !taps.is_empty() {
                let d = Arc::new(d);
                taps.retain(|tx| tx.send(Arc::clone(&d)).is_ok());
            }
        }
        // names a remote user gave since (a worker names a row before it records into it, so
        // every row merged above has its name by now)
        if let Some(view) = view.as_mut() {
            let names = self.shared.names();
            if names.list.len() > view.names.len() {
                let new = names.list[view.names.len()..].to_vec();
                view.names.extend(new);
            }
        }
    }

    fn tick(&mut self, now: Instant) {
        let running = matches!(self.state, State::Spawning | State::Running);
        if !running {
            return;
        }
        // a second's row counts the users before the step due in the same instant, as Locust's
        // does (its writer runs before its spawner adds the step): at -r 250, 0, 250, 500...
        let users_before = self.users;
        self.advance_ramp(now);
        let shared = Arc::clone(&self.shared);
        let control = &shared.control;
        if let Some(until) = self.drain_until {
            if now >= until || control.in_flight() == 0 {
                self.finish_stop(now);
                return;
            }
        }
        let elapsed = now - self.t0;
        // the run's end comes before a row due in the same instant (Locust's last row of a
        // `-t 6s` run is its fifth second's)
        let ending = self.stopping.is_none()
            && self.drain_until.is_none()
            && self.run_time.is_some_and(|t| elapsed >= t);
        if now >= self.next_second && !ending {
            self.next_second += Duration::from_secs(1);
            if self.next_second <= now {
                self.next_second = now + Duration::from_secs(1);
            }
            // the row's totals as of now, as Locust's live ones are: every worker hands over
            // its partial second (they hand over at wall-clock seconds, not at the run's)
            let asked = self.shared.control.flush_gen.fetch_add(1, Ordering::AcqRel) + 1;
            self.await_flush(asked, now + Duration::from_millis(50));
            let engines = lock(&self.shared.control.engines).clone();
            let cpu = self.check.sample(&engines);
            let pids = self
                .shared
                .control
                .pids
                .lock()
                .map(|p| p.clone())
                .unwrap_or_default();
            let python = self.check.sample_python(&pids, 1.0);
            let mut view = lock(&self.inner.view);
            let sends = view.stats.total.num_requests - self.last_requests;
            let late = view.stats.late_sends - self.last_late;
            (self.last_requests, self.last_late) =
                (view.stats.total.num_requests, view.stats.late_sends);
            if view.status.saturated.is_none() {
                view.status.saturated = self
                    .check
                    .verdict(cpu, late, sends)
                    .or_else(|| self.check.python_verdict(python, cpu));
            }
            view.status.cpu = cpu;
            view.status.delayed =
                crate::selfcheck::delay_verdict(&view.stats.read_delay, &view.stats.total);
            let row = history_row(&view.stats, users_before);
            view.history.push(row.clone());
            drop(view);
            self.publish(Event::Second(row));
        }
        {
            let mut view = lock(&self.inner.view);
            view.status.users = self.users;
            view.status.class_users.clone_from(&self.classes);
            view.status.elapsed = elapsed;
            view.duration = elapsed;
            view.peak_users = view.peak_users.max(self.users);
            let first = control.first_failure.load(Ordering::Relaxed);
            view.before_first_failure = (first != u64::MAX).then_some(first);
        }
        if self.stopping.is_none() {
            if control.fatal_reason().is_some() {
                self.begin_stop(Ended::Crashed, now);
            } else if control.quit_run.swap(false, Ordering::Relaxed) {
                self.begin_stop(Ended::UserQuit, now);
            } else if let Some(step) = control.take_shape() {
                match step {
                    ShapeStep::End => self.begin_stop(Ended::Shape, now),
                    // a rate of 0 (or less): at once
                    ShapeStep::Users(users, rate, classes) => {
                        if classes.as_ref() != self.shape_classes.as_ref().map(|(c, _)| c) {
                            let mut base = self.classes.clone();
                            base.resize(self.shared.workload().classes.len(), 0);
                            self.shape_classes = classes.map(|c| (c, base));
                        }
                        self.ramp_to(users, if rate > 0.0 { rate } else { f64::INFINITY }, now)
                    }
                }
            } else if self.shared.plan.stop_on_failure
                && control.first_failure.load(Ordering::Relaxed) != u64::MAX
            {
                self.begin_stop(Ended::Failure, now);
            } else if self.run_time.is_some_and(|t| elapsed >= t) {
                self.begin_stop(Ended::RunTime, now);
            }
        }
    }

    fn quit(mut self) -> Summary {
        let now = Instant::now();
        if matches!(self.state, State::Spawning | State::Running) {
            self.stopping.get_or_insert(Ended::Interrupted);
            self.finish_stop(now);
        }
        self.shared.control.quit.store(true, Ordering::Relaxed);
        for w in std::mem::take(&mut self.workers) {
            let _ = w.join();
        }
        self.merge();
        let summary = {
            let mut view = lock(&self.inner.view);
            view.engine_processes = *lock(&self.shared.control.engines_used);
            if view.status.state == State::Ready {
                view.ended = Some(Ended::Interrupted);
            }
            view.summary()
        };
        self.publish(Event::Quit);
        summary
    }
}

fn history_row(stats: &Stats, users: usize) -> HistoryRow {
    let (rps, fps) = stats.current_rates(None);
    let now = unix_now() as u64;
    let window = stats.current_window(None, now);
    HistoryRow {
        time: now,
        users,
        rps,
        fps,
        p50_ms: quantile_ms(&window, 0.5),
        p95_ms: quantile_ms(&window, 0.95),
        p99_ms: quantile_ms(&window, 0.99),
        completed_2s_ago: stats.requests_in_second(now.saturating_sub(2)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Users come in Locust's steps: `floor(rate)` at once, a step per second.
    #[test]
    fn ramps_step_as_locust_spawns() {
        let t0 = Instant::now();
        let ramp = |from, to, rate| Ramp { from, to, rate, t0 };
        let at = |r: Ramp, s: f64| r.at(t0 + Duration::from_secs_f64(s));
        let up = ramp(0, 10, 3.0);
        let seen: Vec<usize> = [0.0, 0.5, 1.0, 1.9, 2.0, 3.0, 9.0]
            .iter()
            .map(|&s| at(up, s))
            .collect();
        assert_eq!(seen, [3, 3, 6, 6, 9, 10, 10]);
        let slow = ramp(0, 3, 0.5);
        let seen: Vec<usize> = [0.0, 1.9, 2.0, 4.0].iter().map(|&s| at(slow, s)).collect();
        assert_eq!(seen, [1, 1, 2, 3]);
        let down = ramp(10, 4, 2.0);
        let seen: Vec<usize> = [0.0, 1.0, 2.0, 5.0].iter().map(|&s| at(down, s)).collect();
        assert_eq!(seen, [8, 6, 4, 4]);
        assert_eq!(at(ramp(0, 7, f64::INFINITY), 0.0), 7);
    }

    /// Issue 26: a big step's users start one after another, not in one instant (10,000 users
    /// at 1,000/s started a thousand at a time stayed in lockstep under constant(1)); a small
    /// step starts within milliseconds, as under Locust.
    #[test]
    fn a_steps_users_start_over_the_step() {
        let t0 = Instant::now();
        let ramp = |rate| Ramp {
            from: 0,
            to: 10_000,
            rate,
            t0,
        };
        assert_eq!(ramp(1000.0).start_over(1000), Duration::from_secs(1));
        assert_eq!(
            ramp(10_000.0).start_over(10_000),
            Duration::from_millis(1000)
        );
        assert_eq!(ramp(3.0).start_over(3), Duration::from_millis(3));
        assert_eq!(ramp(0.5).start_over(1), Duration::from_millis(1));
        assert_eq!(ramp(f64::INFINITY).start_over(7), Duration::ZERO);
        assert_eq!(ramp(1000.0).start_over(0), Duration::ZERO);
    }
}
