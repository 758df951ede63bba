//! Think time between a user's tasks, with Locust's meanings:
//! `constant(S)`, `between(A,B)` (uniform), `constant_throughput(N)` (at most N tasks per second
//! per user: wait whatever is left of 1/N after the task), `constant_pacing(S)` (a task starts
//! every S seconds: wait whatever is left of S).

use std::time::Duration;

/// A wait-time rule.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum WaitTime {
    /// Always S seconds.
    Constant(f64),
    /// Uniform in [A, B] seconds.
    Between(f64, f64),
    /// Aim for N tasks per second per user.
    ConstantThroughput(f64),
    /// Aim for one task start every S seconds.
    ConstantPacing(f64),
}

impl Default for WaitTime {
    fn default() -> WaitTime {
        WaitTime::Constant(0.0)
    }
}

/// A wait-time spec that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid wait time '{0}': use constant(S), between(A,B), constant_throughput(N) or constant_pacing(S)")]
pub struct BadWaitTime(pub String);

impl std::str::FromStr for WaitTime {
    type Err = BadWaitTime;
    fn from_str(s: &str) -> Result<WaitTime, BadWaitTime> {
        let bad = || BadWaitTime(s.to_string());
        let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        let (name, args) = compact
            .strip_suffix(')')
            .and_then(|c| c.split_once('('))
            .ok_or_else(bad)?;
        let nums: Vec<f64> = args
            .split(',')
            .map(|a| a.parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0))
            .collect::<Option<_>>()
            .ok_or_else(bad)?;
        match (name, nums.as_slice()) {
            ("constant", &[s]) => Ok(WaitTime::Constant(s)),
            ("between", &[a, b]) if a <= b => Ok(WaitTime::Between(a, b)),
            ("constant_throughput", &[n]) if n > 0.0 => Ok(WaitTime::ConstantThroughput(n)),
            ("constant_pacing", &[s]) => Ok(WaitTime::ConstantPacing(s)),
            _ => Err(bad()),
        }
    }
}

impl WaitTime {
    /// How long to wait after a task that took `task_time`; `unit` is a uniform sample in [0, 1).
    pub fn after(self, task_time: Duration, unit: f64) -> Duration {
        let secs = match self {
            WaitTime::Constant(s) => s,
            WaitTime::Between(a, b) => a + (b - a) * unit,
            WaitTime::ConstantThroughput(n) => (1.0 / n - task_time.as_secs_f64()).max(0.0),
            WaitTime::ConstantPacing(s) => (s - task_time.as_secs_f64()).max(0.0),
        };
        Duration::from_secs_f64(secs)
    }

    /// The same rule in Locust's Python (`between(1, 3)`).
    pub fn python(self) -> String {
        match self {
            WaitTime::Constant(s) => format!("constant({s})"),
            WaitTime::Between(a, b) => format!("between({a}, {b})"),
            WaitTime::ConstantThroughput(n) => format!("constant_throughput({n})"),
            WaitTime::ConstantPacing(s) => format!("constant_pacing({s})"),
        }
    }

    /// Whether users never wait (the closed loop runs flat out).
    pub fn is_zero(self) -> bool {
        self == WaitTime::Constant(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_with_locust_meanings() {
        let ms = |x: u64| Duration::from_millis(x);
        let w: WaitTime = "constant(1)".parse().unwrap();
        assert_eq!(w.after(ms(300), 0.5), ms(1000));
        let w: WaitTime = "between(1, 3)".parse().unwrap();
        assert_eq!(w.after(ms(0), 0.5), ms(2000));
        let w: WaitTime = "constant_throughput(4)".parse().unwrap();
        assert_eq!(w.after(ms(100), 0.0), ms(150));
        assert_eq!(w.after(ms(400), 0.0), ms(0));
        let w: WaitTime = "constant_pacing(2)".parse().unwrap();
        assert_eq!(w.after(ms(500), 0.0), ms(1500));
        for bad in [
            "constant",
            "constant()",
            "between(3,1)",
            "between(1)",
            "constant(-1)",
            "constant_throughput(0)",
            "sometimes(1)",
            "constant(x)",
        ] {
            assert!(bad.parse::<WaitTime>().is_err(), "{bad}");
        }
    }
}
