//! The generator watching itself: its own CPU time against the cores its threads can use, its
//! sends against their schedule, and the CPU of the Python processes that run user code, so
//! that a saturated generator says so instead of passing its own limit off as the server's.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::stats::EntryStats;

/// The warning printed when the generator, not the server, limits the figures.
pub const SATURATED: &str =
    "load generator saturated: these figures measure the client, not the server";

/// The warning printed when the generator's own read delay is a noticeable part of the
/// response times it reports.
pub const DELAYED: &str =
    "the load generator's own delay is a noticeable part of these response times";

/// A read delay counts as noticeable from this share of the response time it is part of...
const DELAY_SHARE: f64 = 0.10;
/// ...when it is also at least this long on average (ms): below it the share is of figures
/// too small to matter (a 0.25 ms loopback answer, 0.06 ms of it the generator's wake-up).
const DELAY_MEAN_FLOOR_MS: f64 = 0.5;
/// ...or at least this long at the 99th percentile (ms), against the response times' p99.
const DELAY_P99_FLOOR_MS: f64 = 2.0;

/// Whether the generator's own read delay (`delay`, [`crate::stats::Delta::read_delay`]) is a
/// noticeable part of the response times it reports (`total`): on average, or at the 99th
/// percentile, at least 10 % of them and over a floor (0.5 ms on average, 2 ms at p99). Then
/// the figures measure the client's waiting as well as the server, and this says by how much.
pub(crate) fn delay_verdict(delay: &EntryStats, total: &EntryStats) -> Option<String> {
    if delay.num_requests == 0 || total.num_requests == 0 {
        return None;
    }
    let (mean_d, mean_r) = (delay.avg_ms(), total.avg_ms());
    let p99_d = delay.percentile_ms(0.99).unwrap_or(0.0);
    let p99_r = total.percentile_ms(0.99).unwrap_or(0.0);
    let by_mean = mean_d >= DELAY_MEAN_FLOOR_MS && mean_d >= DELAY_SHARE * mean_r;
    let by_p99 = p99_d >= DELAY_P99_FLOOR_MS && p99_d >= DELAY_SHARE * p99_r;
    (by_mean || by_p99).then(|| {
        format!(
            "{DELAYED}: whole responses waited {mean_d:.2} ms on average (p99 {p99_d:.2} ms) in the generator's sockets before it read and timed them, {:.0} % of the {mean_r:.2} ms average response time (p99 {p99_r:.2} ms); the figures include the client's waiting (a loaded or descheduled generator, or bursts of users in lockstep)",
            100.0 * mean_d / mean_r.max(1e-9)
        )
    })
}

/// The generator watching itself: its own CPU time against the cores its threads can use.
pub(crate) struct SelfCheck {
    capacity: f64,
    last_cpu: Duration,
    last_wall: Instant,
    busy_seconds: u32,
    late_seconds: u32,
    /// Per Python process: its CPU ticks at the last sample.
    python: HashMap<u32, u64>,
    python_seconds: u32,
    /// The engine's other processes' CPU ticks at the last sample (`None` before the first).
    engine_ticks: Option<u64>,
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
            python: HashMap::new(),
            python_seconds: 0,
            engine_ticks: None,
        }
    }

    /// The Python processes' CPU since the last sample: the busiest one's share of one core
    /// (each runs its users on one thread) and their sum in cores; None without them.
    pub(crate) fn sample_python(&mut self, pids: &[u32], seconds: f64) -> Option<(f64, f64)> {
        let hz = rustix::param::clock_ticks_per_second() as f64;
        let mut seen: Option<(f64, f64)> = None;
        for &pid in pids {
            let Some(ticks) = process_ticks(pid) else {
                continue;
            };
            if let Some(before) = self.python.insert(pid, ticks) {
                let share = ticks.saturating_sub(before) as f64 / hz / seconds.max(1e-3);
                let (busiest, sum) = seen.unwrap_or((0.0, 0.0));
                seen = Some((busiest.max(share), sum + share));
            }
        }
        seen
    }

    /// Saturated by user code, two seconds in a row: the busiest Python process above 90 % of
    /// its core, or the Python processes and the engine (`engine`, its share of its own
    /// threads' cores) together above 90 % of the cores they may use.
    pub(crate) fn python_verdict(
        &mut self,
        python: Option<(f64, f64)>,
        engine: f64,
    ) -> Option<String> {
        let Some((busiest, sum)) = python else {
            self.python_seconds = 0;
            return None;
        };
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let together = (engine * self.capacity + sum) / cores;
        let busy = busiest > 0.9 || together > 0.9;
        self.python_seconds = if busy { self.python_seconds + 1 } else { 0 };
        (self.python_seconds >= 2).then(|| {
            format!(
                "{SATURATED} (user code: the busiest Python process at {:.0} % of its core, the generator at {:.0} % of {cores} core(s); the rate is what the locustfile's Python can do here)",
                busiest * 100.0,
                together * 100.0
            )
        })
    }

    /// CPU share since the last sample: this process's, and that of the engine's other
    /// processes (`engines`) while they live.
    pub(crate) fn sample(&mut self, engines: &[u32]) -> f64 {
        let hz = rustix::param::clock_ticks_per_second() as f64;
        let ticks: u64 = engines.iter().filter_map(|&pid| process_ticks(pid)).sum();
        let others = self
            .engine_ticks
            .replace(ticks)
            .map_or(0, |before| ticks.saturating_sub(before));
        let (cpu, wall) = (process_cpu(), Instant::now());
        let share = ((cpu - self.last_cpu).as_secs_f64() + others as f64 / hz)
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

/// A process's user + system CPU time in clock ticks (`/proc/PID/stat`, fields 14 and 15).
fn process_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // the command name (field 2) is in parentheses and may hold spaces: count after it
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
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
            python: HashMap::new(),
            python_seconds: 0,
            engine_ticks: None,
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
        assert_eq!(
            c.python_verdict(Some((0.95, 0.95)), 0.0),
            None,
            "one busy second"
        );
        assert_eq!(c.python_verdict(None, 0.0), None);
        assert_eq!(c.python_verdict(Some((0.95, 0.95)), 0.0), None);
        let why = c
            .python_verdict(Some((0.99, 0.99)), 0.0)
            .expect("two busy seconds");
        assert!(why.contains("user code") && why.contains("99 %"), "{why}");
        assert_eq!(c.python_verdict(Some((0.1, 0.1)), 0.0), None, "idle again");
    }

    /// The read delay is flagged when it is a noticeable part of the response times, in
    /// share and in size, on average or at p99; not for a fast server's sub-millisecond share.
    #[test]
    fn read_delay_is_flagged_when_a_noticeable_part() {
        let stats = |samples: &[(u64, u64)]| {
            let mut e = EntryStats::default();
            for &(us, n) in samples {
                for _ in 0..n {
                    e.record(us, 0, false);
                }
            }
            e
        };
        // issue 26's healthy run: 0.25 ms answers, 0.06 ms of it the generator's
        let healthy = (
            stats(&[(60, 990), (450, 10)]),
            stats(&[(250, 990), (1300, 10)]),
        );
        assert_eq!(delay_verdict(&healthy.0, &healthy.1), None);
        // issue 26's regression: 2.9 ms of a 9.1 ms average was the generator's
        let bursts = (stats(&[(2900, 1000)]), stats(&[(9100, 1000)]));
        let why = delay_verdict(&bursts.0, &bursts.1).expect("flagged");
        assert!(why.starts_with(DELAYED) && why.contains("32 %"), "{why}");
        // a slow server: 1 ms of the generator's in 100 ms answers is not noticeable
        let slow = (stats(&[(1000, 1000)]), stats(&[(100_000, 1000)]));
        assert_eq!(delay_verdict(&slow.0, &slow.1), None);
        // rare stalls: the mean hides them, p99 does not
        let stalls = (
            stats(&[(20, 980), (30_000, 20)]),
            stats(&[(5_000, 980), (35_000, 20)]),
        );
        assert!(delay_verdict(&stalls.0, &stalls.1).is_some());
        assert_eq!(delay_verdict(&EntryStats::default(), &healthy.1), None);
    }

    /// A process spinning on a core is seen at (about) all of it; this one's ticks parse.
    #[test]
    fn python_processes_cpu_is_read_from_proc() {
        let me = std::process::id();
        assert!(process_ticks(me).is_some());
        let mut spin = std::process::Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .spawn()
            .unwrap();
        let mut c = SelfCheck::new(1);
        assert_eq!(
            c.sample_python(&[spin.id()], 1.0),
            None,
            "the first sample only sets a base"
        );
        std::thread::sleep(Duration::from_millis(600));
        let (share, sum) = c.sample_python(&[spin.id()], 0.6).unwrap();
        assert_eq!(share, sum);
        spin.kill().unwrap();
        spin.wait().unwrap();
        // on a loaded machine the spinner gets less than its core: only "clearly busy" is asserted
        assert!(share > 0.2 && share < 1.5, "{share}");
    }
}
