//! A compiled user's place in its class's program ([`crate::program`]): the task sets it is
//! in, the step list it runs (a set's `on_start`, a task, a set's `on_stop`) and its next
//! step; picking the next task (at random by weight, or in order in a sequential set) and
//! moving on when a list ends, as Locust's `TaskSet` does. Pure: the loop asks it what comes
//! next and carries it out.

use std::time::{Duration, Instant};

use crate::program::{Step, TaskRun};
use crate::workload::UserClass;

/// Which steps a user is running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Running {
    /// A set's `on_start`.
    OnStart(usize),
    /// Task `task` of set `set`.
    Task { set: usize, task: usize },
    /// A set's `on_stop` (after an interrupt, or on the way out when stopping).
    OnStop(usize),
}

/// A task set a user is in, and its next task when the set is sequential.
#[derive(Clone, Copy, Debug)]
struct Frame {
    set: usize,
    next: usize,
}

/// What comes after a step list ends.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// Send the next step now.
    Now,
    /// Send it after this think time.
    Wait(Duration),
    /// The user is done (it stopped gracefully, or left its last set).
    Retire,
}

/// A user's place in its program (see the module's doc).
pub(crate) struct Cursor {
    /// The sets entered, innermost last.
    frames: Vec<Frame>,
    running: Running,
    /// The next step of `running`.
    pos: usize,
    /// Stopping gracefully: running `on_stop` steps before it retires.
    stopping: bool,
    /// When the current task started (for constant_pacing / constant_throughput).
    task_started: Instant,
}

impl Cursor {
    /// At the start of the class's first set (its `on_start`).
    pub(crate) fn new(now: Instant) -> Cursor {
        Cursor {
            frames: vec![Frame { set: 0, next: 0 }],
            running: Running::OnStart(0),
            pos: 0,
            stopping: false,
            task_started: now,
        }
    }

    /// The step it sends next, if its current list has one left.
    pub(crate) fn current<'c>(&self, class: &'c UserClass) -> Option<&'c Step> {
        steps_of(class, self.running).get(self.pos)
    }

    /// The current step is done: the list's next one is current.
    pub(crate) fn step_done(&mut self) {
        self.pos += 1;
    }

    /// Whether it is on its way out.
    pub(crate) fn stopping(&self) -> bool {
        self.stopping
    }

    /// Whether a sets it is in has `on_stop` steps (else a stop needs no more requests).
    pub(crate) fn has_on_stop(&self, class: &UserClass) -> bool {
        self.frames
            .iter()
            .any(|f| !class.sets[f.set].on_stop.is_empty())
    }

    /// Starts stopping gracefully: the `on_stop` steps of the sets it is in, innermost first.
    pub(crate) fn stop(&mut self) {
        self.stopping = true;
        let top = self.frames.last().expect("a user is in a set").set;
        self.running = Running::OnStop(top);
        self.pos = 0;
    }

    /// Picks the next task of the innermost set (entering a nested set), `now`; `rand`: a
    /// random number for a weighted pick.
    fn pick(&mut self, class: &UserClass, rand: u64, now: Instant) {
        let frame = self.frames.last_mut().expect("a user is in a set");
        let set = &class.sets[frame.set];
        let task = if set.sequential {
            let t = frame.next % set.tasks.len();
            frame.next = t + 1;
            t
        } else if set.tasks.len() == 1 {
            0
        } else {
            let total: u64 = set.tasks.iter().map(|t| u64::from(t.weight)).sum();
            let mut roll = rand % total.max(1);
            let mut pick = 0;
            for (i, t) in set.tasks.iter().enumerate() {
                if roll < u64::from(t.weight) {
                    pick = i;
                    break;
                }
                roll -= u64::from(t.weight);
            }
            pick
        };
        let set_index = frame.set;
        match &set.tasks[task].run {
            TaskRun::Set(child) => {
                self.frames.push(Frame {
                    set: *child,
                    next: 0,
                });
                self.running = Running::OnStart(*child);
            }
            TaskRun::Steps { .. } => {
                self.running = Running::Task {
                    set: set_index,
                    task,
                }
            }
        }
        self.pos = 0;
        self.task_started = now;
    }

    /// The current step list is done: moves the program on. `rng` gives the random numbers
    /// a pick and a random wait take (the user's own stream).
    pub(crate) fn advance(
        &mut self,
        class: &UserClass,
        rng: &mut impl FnMut() -> u64,
        now: Instant,
    ) -> Next {
        match self.running {
            Running::OnStart(_) => {
                self.pick(class, rng(), now);
                Next::Now
            }
            Running::Task { set, task } => {
                let interrupt = matches!(
                    class.sets[set].tasks[task].run,
                    TaskRun::Steps {
                        interrupt: true,
                        ..
                    }
                );
                if interrupt && self.frames.len() > 1 {
                    // leave the set: its on_stop, then the parent's next task at once
                    self.running = Running::OnStop(set);
                    self.pos = 0;
                    return Next::Now;
                }
                let wait = class.sets[set].wait.unwrap_or(class.wait);
                let unit = (rng() >> 11) as f64 / (1u64 << 53) as f64;
                let took = now.saturating_duration_since(self.task_started);
                let wait = wait.after(took, unit);
                // the next task starts when the wait ends, as Locust's constant_pacing counts
                // it (its last run plus its last wait): from `now`, the wait itself was counted
                // as the next task's time and constant_throughput(10) ran twice as fast
                self.pick(class, rng(), now + wait);
                Next::Wait(wait)
            }
            Running::OnStop(_) => {
                self.frames.pop();
                if self.stopping {
                    match self.frames.last() {
                        Some(f) => {
                            self.running = Running::OnStop(f.set);
                            self.pos = 0;
                            Next::Now
                        }
                        None => Next::Retire,
                    }
                } else if self.frames.is_empty() {
                    Next::Retire
                } else {
                    self.pick(class, rng(), now);
                    Next::Now
                }
            }
        }
    }
}

/// The steps `running` names in `class`.
fn steps_of(class: &UserClass, running: Running) -> &[Step] {
    let sets = &class.sets;
    match running {
        Running::OnStart(set) => &sets[set].on_start,
        Running::OnStop(set) => &sets[set].on_stop,
        Running::Task { set, task } => match &sets[set].tasks[task].run {
            TaskRun::Steps { steps, .. } => steps,
            TaskRun::Set(_) => &[],
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::{Task, TaskSet};
    use crate::target::Target;
    use crate::wait::WaitTime;
    use crate::workload::{compile_step, Workload};

    /// A class whose steps are named by their paths: `sets[0]` runs "/a" (weight 1) and enters
    /// set 1 (weight 3); set 1 is sequential, has an on_start "/s1" and on_stop "/x1", and
    /// runs "/b" then "/c" (which interrupts).
    fn class() -> UserClass {
        let target = Target::parse("http://127.0.0.1:1").unwrap();
        let mut entries = Vec::new();
        let mut step = |p: &str| {
            compile_step(
                &target,
                "GET",
                p,
                None,
                &Default::default(),
                None,
                None,
                &mut entries,
            )
        };
        let steps = |s, interrupt| TaskRun::Steps {
            steps: vec![s],
            interrupt,
        };
        let task = |name: &str, weight, run| Task {
            name: name.into(),
            weight,
            run,
        };
        let mut top = TaskSet::of(
            "top",
            vec![
                task("a", 1, steps(step("/a"), false)),
                task("in", 3, TaskRun::Set(1)),
            ],
        );
        top.wait = Some(WaitTime::Constant(2.0));
        let mut inner = TaskSet::of(
            "inner",
            vec![
                task("b", 1, steps(step("/b"), false)),
                task("c", 1, steps(step("/c"), true)),
            ],
        );
        inner.sequential = true;
        inner.on_start = vec![step("/s1")];
        inner.on_stop = vec![step("/x1")];
        let mut w = Workload::simple(&target, WaitTime::Constant(0.0));
        let mut class = w.classes.remove(0);
        class.sets = vec![top, inner];
        class
    }

    /// A random stream that always says `n`.
    fn always(n: u64) -> impl FnMut() -> u64 {
        move || n
    }

    fn path(c: &Cursor, class: &UserClass) -> Option<String> {
        c.current(class).map(|s| s.parts.path.clone())
    }

    #[test]
    fn a_user_walks_nested_sets_as_locust_runs_them() {
        let class = class();
        let now = Instant::now();
        let mut c = Cursor::new(now);
        assert_eq!(path(&c, &class), None, "the top set has no on_start");
        // a roll of 0 picks "/a" (weight 1 of 4); 1 to 3 enter the nested set
        assert_eq!(c.advance(&class, &mut always(0), now), Next::Now);
        assert_eq!(path(&c, &class).as_deref(), Some("/a"));
        c.step_done();
        assert_eq!(path(&c, &class), None);
        let wait = c.advance(&class, &mut always(2), now);
        assert_eq!(
            wait,
            Next::Wait(Duration::from_secs(2)),
            "the set's own wait"
        );
        assert_eq!(
            path(&c, &class).as_deref(),
            Some("/s1"),
            "entered: its on_start"
        );
        c.step_done();
        assert_eq!(c.advance(&class, &mut always(0), now), Next::Now);
        assert_eq!(
            path(&c, &class).as_deref(),
            Some("/b"),
            "sequential: in order"
        );
        c.step_done();
        assert_eq!(
            c.advance(&class, &mut always(0), now),
            Next::Wait(Duration::ZERO),
            "the class's wait in a set without one"
        );
        assert_eq!(path(&c, &class).as_deref(), Some("/c"));
        c.step_done();
        assert_eq!(c.advance(&class, &mut always(0), now), Next::Now);
        assert_eq!(
            path(&c, &class).as_deref(),
            Some("/x1"),
            "interrupt: its on_stop"
        );
        c.step_done();
        assert_eq!(c.advance(&class, &mut always(0), now), Next::Now);
        assert_eq!(
            path(&c, &class).as_deref(),
            Some("/a"),
            "back in the parent"
        );
    }

    #[test]
    fn a_stopped_user_runs_each_sets_on_stop_innermost_first_then_retires() {
        let class = class();
        let now = Instant::now();
        let mut c = Cursor::new(now);
        assert!(!c.has_on_stop(&class));
        c.advance(&class, &mut always(3), now);
        assert_eq!(path(&c, &class).as_deref(), Some("/s1"));
        assert!(c.has_on_stop(&class));
        c.stop();
        assert!(c.stopping());
        assert_eq!(path(&c, &class).as_deref(), Some("/x1"));
        c.step_done();
        assert_eq!(c.advance(&class, &mut always(0), now), Next::Now);
        assert_eq!(path(&c, &class), None, "the top set has no on_stop steps");
        assert_eq!(c.advance(&class, &mut always(0), now), Next::Retire);
    }

    #[test]
    fn constant_throughput_counts_a_task_from_when_its_wait_ended() {
        let target = Target::parse("http://127.0.0.1:1").unwrap();
        let class = Workload::simple(&target, WaitTime::ConstantThroughput(10.0))
            .classes
            .remove(0);
        let t0 = Instant::now();
        let mut c = Cursor::new(t0);
        assert_eq!(c.advance(&class, &mut always(0), t0), Next::Now);
        let ms = Duration::from_millis;
        // every task takes 20 ms: each waits 80 ms, so a task starts every 100 ms (10 a
        // second), not every other one at once
        let mut now = t0;
        for _ in 0..4 {
            c.step_done();
            now += ms(20);
            assert_eq!(c.advance(&class, &mut always(0), now), Next::Wait(ms(80)));
            now += ms(80);
        }
    }
}
