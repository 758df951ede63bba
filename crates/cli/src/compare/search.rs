//! The capacity search: the highest throughput a design sustains within a latency objective,
//! found by stepping an open-model rate. A pure search over a `probe` (offer this rate for a
//! while, say what happened), so it is tested on synthetic servers: a knee, a cliff, a
//! generator that gives out first, noise. [`super::capacity`] carries it out against a live
//! server.
//!
//! A step passes when its p99 (from intended send times: queueing counts) is within the
//! objective, fewer than 1 % of its requests failed, and the server completed at least 90 % of
//! what was offered. Rates grow geometrically until a step fails, then the gap between the
//! best pass and the lowest failure is halved until it is under 10 % (a failing step that
//! completed less than it was offered caps the gap at what it completed: that is about what the
//! server can do). When nothing passes, the next rate is half of what the server completed.
//! What limited the capacity is read from the lowest failing step: the generator if it was
//! saturated there (the figure is then a lower bound), failures, or the server.

use swarmlab_report::capacity::{Capacity, LimitedBy, Spread, Step};

/// The lowest rate the search offers, req/s.
const MIN_RATE: f64 = 0.5;

/// How the search runs.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    /// The latency objective: p99 at most this, ms. By default, 100.
    pub slo_p99_ms: f64,
    /// Failures below this share. By default, 0.01.
    pub max_failure_ratio: f64,
    /// First rate offered, req/s. By default, 1000.
    pub start: f64,
    /// Rate multiplier while steps pass. By default, 2.
    pub growth: f64,
    /// Most steps (the repeat of the found rate included). By default, 12.
    pub max_steps: usize,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            slo_p99_ms: 100.0,
            max_failure_ratio: 0.01,
            start: 1000.0,
            growth: 2.0,
            max_steps: 12,
        }
    }
}

impl Params {
    /// Whether a step met the objective.
    pub fn passes(&self, s: &Step) -> bool {
        s.p99_ms <= self.slo_p99_ms
            && s.failure_ratio < self.max_failure_ratio
            && s.achieved >= 0.9 * s.offered
    }
}

/// Runs the search: `probe(rate)` offers `rate` and reports the step, or `None` to end the
/// search now with what it found (interrupted, or the probe can measure no further).
pub fn search(p: &Params, mut probe: impl FnMut(f64) -> Option<Step>) -> Capacity {
    let mut curve: Vec<Step> = Vec::new();
    let mut best: Option<Step> = None; // the passing step with the most achieved
    let mut low_fail: Option<Step> = None; // the failing step at the lowest offered rate
    let mut rate = p.start;
    let steps = p.max_steps.max(2) - 1; // one step is kept for the repeat
    let mut interrupted = false;
    for _ in 0..steps {
        let Some(s) = probe(rate) else {
            interrupted = true;
            break;
        };
        curve.push(s.clone());
        if p.passes(&s) {
            if best.as_ref().is_none_or(|b| s.achieved > b.achieved) {
                best = Some(s);
            }
        } else if low_fail.as_ref().is_none_or(|f| s.offered < f.offered) {
            low_fail = Some(s);
        }
        let next = match (&best, &low_fail) {
            (_, None) => rate * p.growth,
            (Some(b), Some(f)) => {
                // A server that fell behind completed about what it can: the limit is near
                // there even if more was offered.
                let upper = f.offered.min((f.achieved * 1.1).max(b.offered * 1.1));
                if upper <= b.offered * 1.1 {
                    break; // resolved to 10 %
                }
                (b.offered + upper) / 2.0
            }
            // Nothing passed yet: well below what it managed while overloaded.
            (None, Some(f)) => (f.offered / p.growth).min(f.achieved / 2.0),
        };
        if next < MIN_RATE {
            break;
        }
        rate = next;
    }
    let limited_by = match &low_fail {
        Some(f) if f.generator_busy => LimitedBy::Generator,
        Some(f) if f.failure_ratio >= p.max_failure_ratio => LimitedBy::Failures,
        Some(_) => LimitedBy::Server,
        // nothing offered was too much: the search, not the server, ended it
        None => LimitedBy::Generator,
    };
    let Some(best) = best else {
        return Capacity {
            rps: 0.0,
            p99_ms: curve.last().map_or(0.0, |s| s.p99_ms),
            limited_by,
            cpu_us_per_request: None,
            handshakes_per_s: None,
            curve,
            spread: None,
            searches: Vec::new(),
        };
    };
    // The same rate once more: how much the figures move between two measurements.
    let again = if interrupted {
        None
    } else {
        probe(best.offered)
    };
    let rel = |a: f64, b: f64| (a - b).abs() / a.abs().max(b.abs()).max(1e-9);
    let spread = match again {
        Some(again) => {
            let spread = Spread {
                rps: rel(best.achieved, again.achieved),
                p99: rel(best.p99_ms, again.p99_ms),
                cpu: match (best.cpu_us_per_request, again.cpu_us_per_request) {
                    (Some(a), Some(b)) => rel(a, b),
                    _ => 0.0,
                },
            };
            curve.push(again);
            Some(spread)
        }
        None => None,
    };
    Capacity {
        rps: best.achieved,
        p99_ms: best.p99_ms,
        limited_by,
        cpu_us_per_request: best.cpu_us_per_request,
        handshakes_per_s: best.handshakes_per_s,
        curve,
        spread,
        searches: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server that completes everything below `capacity` with a p99 growing as queueing
    /// theory says (M/M/1-ish: base / (1 - load)), and falls behind above it.
    fn knee(capacity: f64, base_ms: f64) -> impl FnMut(f64) -> Option<Step> {
        move |rate| {
            let load = rate / capacity;
            let p99 = if load < 1.0 {
                base_ms / (1.0 - load)
            } else {
                5000.0
            };
            Some(Step {
                offered: rate,
                achieved: rate.min(capacity),
                p99_ms: p99,
                failure_ratio: 0.0,
                cpu_us_per_request: Some(10.0),
                generator_busy: false,
                handshakes_per_s: None,
            })
        }
    }

    #[test]
    fn a_knee_is_found_within_the_resolution() {
        // p99 = 2 / (1 - load) <= 100 ms  <=>  load <= 0.98
        let c = search(&Params::default(), knee(20_000.0, 2.0));
        assert_eq!(c.limited_by, LimitedBy::Server);
        assert!(c.rps <= 0.98 * 20_000.0 + 1.0, "{}", c.rps);
        assert!(c.rps >= 0.98 * 20_000.0 / 1.1, "{}", c.rps);
        assert!(c.p99_ms <= 100.0);
        assert!(c.curve.len() <= 12);
        assert_eq!(
            c.spread,
            Some(Spread::default()),
            "a noiseless server repeats exactly"
        );
    }

    #[test]
    fn a_cliff_of_failures_says_failures() {
        let c = search(&Params::default(), |rate: f64| {
            Some(Step {
                offered: rate,
                achieved: rate,
                p99_ms: 1.0,
                failure_ratio: if rate > 6000.0 { 0.3 } else { 0.0 },
                cpu_us_per_request: None,
                generator_busy: false,
                handshakes_per_s: None,
            })
        });
        assert_eq!(c.limited_by, LimitedBy::Failures);
        assert!(c.rps <= 6000.0 && c.rps >= 6000.0 / 1.1, "{}", c.rps);
    }

    #[test]
    fn a_generator_that_gives_out_first_gives_a_lower_bound() {
        let mut server = knee(1_000_000.0, 0.5);
        let c = search(&Params::default(), move |rate| {
            let mut s = server(rate.min(50_000.0))?;
            s.offered = rate;
            s.generator_busy = rate > 40_000.0;
            Some(s)
        });
        assert_eq!(c.limited_by, LimitedBy::Generator);
        assert!(c.rps >= 30_000.0, "{}", c.rps);
    }

    #[test]
    fn a_server_that_cannot_take_the_first_rate_is_searched_downward() {
        let c = search(&Params::default(), knee(150.0, 5.0));
        assert!(c.rps > 0.0 && c.rps < 150.0, "{}", c.rps);
    }

    #[test]
    fn a_slow_server_is_found_from_far_above_in_few_steps() {
        // `single` on 100 ms requests: about 10/s at most; offered 500/s first. p99 = 100 /
        // (1 - load) <= 200 ms  <=>  load <= 0.5, about 5/s.
        let p = Params {
            slo_p99_ms: 200.0,
            start: 500.0,
            growth: 3.0,
            max_steps: 8,
            ..Params::default()
        };
        let c = search(&p, knee(10.0, 100.0));
        assert_eq!(c.limited_by, LimitedBy::Server);
        assert!(
            c.rps <= 5.0 && c.rps >= 5.0 / 1.25,
            "{} after {:?}",
            c.rps,
            c.curve
        );
    }

    #[test]
    fn an_interrupted_search_keeps_what_it_found() {
        let mut n = 0;
        let mut server = knee(50_000.0, 1.0);
        let c = search(&Params::default(), move |rate| {
            n += 1;
            if n > 3 {
                return None;
            }
            server(rate)
        });
        assert_eq!(
            c.rps, 4000.0,
            "1,000, 2,000 and 4,000 passed, then it stopped"
        );
        assert_eq!(c.curve.len(), 3, "three steps, no repeat");
    }

    #[test]
    fn noise_moves_the_answer_by_little_and_shows_in_the_spread() {
        // p99 jitters by up to +-30 % from one measurement to the next
        let mut n = 0u64;
        let mut base = knee(10_000.0, 2.0);
        let c = search(&Params::default(), move |rate| {
            n += 1;
            let jitter = 1.0 + 0.3 * ((n * 7919 % 13) as f64 / 6.0 - 1.0);
            let mut s = base(rate)?;
            s.p99_ms *= jitter;
            s.achieved *= 1.0 + 0.02 * jitter;
            Some(s)
        });
        assert!((c.rps - 9_800.0).abs() / 9_800.0 < 0.25, "{}", c.rps);
        let spread = c.spread.expect("a repeat");
        assert!(spread.p99 > 0.0 || spread.rps > 0.0);
    }
}
