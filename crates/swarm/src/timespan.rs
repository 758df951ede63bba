//! Locust's time strings: `20` (seconds), `20s`, `3m`, `2h`, `1h30m`, `3h30m10s`; and ours:
//! decimals (`0.5s`) and `ms`.

use std::time::Duration;

/// A time string that is not one of the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid time '{0}': use e.g. 20, 20s, 3m, 1h30m, 500ms")]
pub struct BadTimespan(pub String);

/// Parses a time string.
pub fn parse_timespan(s: &str) -> Result<Duration, BadTimespan> {
    let bad = || BadTimespan(s.to_string());
    let t = s.trim();
    if t.is_empty() {
        return Err(bad());
    }
    if let Ok(secs) = t.parse::<f64>() {
        return secs_to_duration(secs).ok_or_else(bad);
    }
    let mut total = 0.0f64;
    let mut rest = t;
    // Locust's form: each unit at most once, largest first (`1h1h` and `30s1m` are refused)
    let mut smallest = f64::INFINITY;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        if digits == 0 {
            return Err(bad());
        }
        let value: f64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            _ => return Err(bad()),
        };
        if scale >= smallest {
            return Err(bad());
        }
        smallest = scale;
        total += value * scale;
        rest = &rest[unit_len..];
    }
    secs_to_duration(total).ok_or_else(bad)
}

fn secs_to_duration(secs: f64) -> Option<Duration> {
    (0.0..1e9)
        .contains(&secs)
        .then(|| Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_time_table() {
        let ok: &[(&str, f64)] = &[
            ("20", 20.0),
            ("20s", 20.0),
            ("3m", 180.0),
            ("2h", 7200.0),
            ("1h30m", 5400.0),
            ("3h30m10s", 12610.0),
            ("0.5s", 0.5),
            ("250ms", 0.25),
            ("1m30s", 90.0),
        ];
        for &(s, secs) in ok {
            assert_eq!(parse_timespan(s), Ok(Duration::from_secs_f64(secs)), "{s}");
        }
        // issue 27: Locust refuses a unit twice or out of order
        for bad in [
            "", "s", "10x", "-5", "1h-3m", "h1", "1.2.3s", "nan", "inf", "1h1h", "30s1m", "1m1m",
        ] {
            assert!(parse_timespan(bad).is_err(), "{bad}");
        }
    }
}
