//! The generator watching itself: its own CPU time against the cores its threads can use, and
//! its sends against their schedule, so that a saturated generator says so instead of passing
//! its own limit off as the server's.

use std::time::{Duration, Instant};

/// The warning printed when the generator, not the server, limits the figures.
pub const SATURATED: &str =
    "load generator saturated: these figures measure the client, not the server";

/// The generator watching itself: its own CPU time against the cores its threads can use.
pub(crate) struct SelfCheck {
    capacity: f64,
    last_cpu: Duration,
    last_wall: Instant,
    busy_seconds: u32,
    late_seconds: u32,
}

impl SelfCheck {
    pub(crate) fn new(threads: usize) -> SelfCheck {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        SelfCheck {
            capacity: threads.min(cores) as f64,
            last_cpu: process_cpu(),
            last_wall: Instant::now(),
            busy_seconds: 0,
            late_seconds: 0,
        }
    }

    /// CPU share since the last sample.
    pub(crate) fn sample(&mut self) -> f64 {
        let (cpu, wall) = (process_cpu(), Instant::now());
        let share = (cpu - self.last_cpu).as_secs_f64()
            / (wall - self.last_wall).as_secs_f64().max(1e-6)
            / self.capacity;
        (self.last_cpu, self.last_wall) = (cpu, wall);
        share
    }

    /// Saturated after two seconds in a row above 90 % CPU, or two in a row in which more than
    /// 1 % of the sends were behind schedule (one such second is a hiccup: connecting, a page
    /// fault, the scheduler).
    pub(crate) fn verdict(&mut self, cpu: f64, late: u64, sends: u64) -> Option<String> {
        self.busy_seconds = if cpu > 0.9 { self.busy_seconds + 1 } else { 0 };
        let behind = sends > 100 && late * 100 > sends;
        self.late_seconds = if behind { self.late_seconds + 1 } else { 0 };
        if self.busy_seconds >= 2 {
            return Some(format!(
                "{SATURATED} (generator CPU {:.0} % of {} core(s))",
                cpu * 100.0,
                self.capacity
            ));
        }
        if self.late_seconds >= 2 {
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
            late_seconds: 0,
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
        assert_eq!(
            c.verdict(0.1, 50, 1000),
            None,
            "one late second is a hiccup"
        );
        assert_eq!(c.verdict(0.1, 0, 1000), None);
        assert_eq!(c.verdict(0.1, 50, 1000), None);
        let why = c
            .verdict(0.1, 50, 1000)
            .expect("5 % of sends late, twice in a row");
        assert!(why.contains("50 of 1000 sends"), "{why}");
    }
}
