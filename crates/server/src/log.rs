//! Warnings to stderr, at most one per kind per second, so that a flood of failed accepts or
//! spawns cannot turn into a flood of log lines.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A kind of warning, with the second it was last printed.
pub(crate) struct Limiter(AtomicU64);

impl Limiter {
    pub(crate) const fn new() -> Limiter {
        Limiter(AtomicU64::new(0))
    }

    /// Prints `msg` unless this kind was printed within the current second.
    pub(crate) fn warn(&self, msg: std::fmt::Arguments<'_>) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if self.0.swap(now, Ordering::Relaxed) != now {
            eprintln!("swarmlab: {msg}");
        }
    }
}

/// `warn_limited!("fmt", args)`: a rate-limited warning, limited per call site.
macro_rules! warn_limited {
    ($($arg:tt)*) => {{
        static LIMITER: $crate::log::Limiter = $crate::log::Limiter::new();
        LIMITER.warn(format_args!($($arg)*))
    }};
}
pub(crate) use warn_limited;
