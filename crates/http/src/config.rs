//! Limits and timeouts of one HTTP connection, shared by every model.

use std::time::Duration;

/// What a connection accepts and how long it waits.
///
/// The limits follow RFC 9112/9110: a request
/// target over `max_target` gets 414, a header section over `max_head` bytes or with more than
/// `max_headers` fields gets 431, a body over `max_body` gets 413.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Longest request target in bytes. By default, 8 KiB.
    pub max_target: usize,
    /// Longest header section (request line included) in bytes. By default, 16 KiB.
    pub max_head: usize,
    /// Most header fields in one request. By default, 100.
    pub max_headers: usize,
    /// Largest request body in bytes. By default, 16 MiB.
    pub max_body: u64,
    /// How long a whole header section may take to arrive, from its first byte (against
    /// slowloris). By default, 10 s.
    pub header_timeout: Duration,
    /// How long a connection may sit with nothing to do, between requests or between body reads.
    /// By default, 30 s.
    pub idle_timeout: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_target: 8 * 1024,
            max_head: 16 * 1024,
            max_headers: 100,
            max_body: 16 * 1024 * 1024,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
        }
    }
}
