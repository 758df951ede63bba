//! Wall-clock time as Locust reports it: unix seconds.

use std::time::{SystemTime, UNIX_EPOCH};

/// Unix time now, fractional seconds.
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
