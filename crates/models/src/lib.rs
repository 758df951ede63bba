//! The server designs swarmlab builds, by name: what a report, a command line and a results
//! file say about a design, without the code that runs it. A leaf: the servers
//! (`swarmlab-server`) implement these designs, the reports (`swarmlab-report`) read them as
//! data, and neither has to know the other.
#![deny(missing_docs)]

use std::fmt;
use std::str::FromStr;

/// A concurrency model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Model {
    /// Iterative: one connection at a time.
    Single,
    /// A child process per connection.
    Fork,
    /// A thread per connection.
    Thread,
    /// N processes forked at start, each accepting on the shared listener.
    Prefork,
    /// N threads, each accepting on the shared listener.
    Pool,
    /// One thread, non-blocking sockets, a `select(2)` readiness loop.
    Select,
    /// One thread, non-blocking sockets, a `poll(2)` readiness loop.
    Poll,
    /// N event loops, each with its own epoll instance, sharing the listener.
    Epoll,
    /// nginx's design: N worker processes, each an epoll event loop, sharing the listener.
    Procs,
    /// N io_uring completion loops sharing the listener.
    Uring,
    /// A multi-threaded tokio runtime, a task per connection.
    Tokio,
}

impl Model {
    /// Every model, in the order the README and `serve --list` show them.
    pub const ALL: &'static [Model] = &[
        Model::Single,
        Model::Fork,
        Model::Prefork,
        Model::Thread,
        Model::Pool,
        Model::Select,
        Model::Poll,
        Model::Epoll,
        Model::Procs,
        Model::Uring,
        Model::Tokio,
    ];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Model::Single => "single",
            Model::Fork => "fork",
            Model::Thread => "thread",
            Model::Prefork => "prefork",
            Model::Pool => "pool",
            Model::Select => "select",
            Model::Poll => "poll",
            Model::Epoll => "epoll",
            Model::Procs => "procs",
            Model::Uring => "uring",
            Model::Tokio => "tokio",
        }
    }

    /// One line on the design and its trade-off.
    pub fn about(self) -> &'static str {
        match self {
            Model::Single => {
                "iterative: one connection at a time; everyone else waits in the backlog"
            }
            Model::Fork => "process per connection: isolated, but pays a fork per connection",
            Model::Thread => {
                "thread per connection: simple blocking code, a thread (and stack) per client"
            }
            Model::Prefork => {
                "N processes forked at start, each accepting: no fork per client, N at a time"
            }
            Model::Pool => "N threads, each accepting: no thread per client, N at a time",
            Model::Select => {
                "one thread, select(2) readiness loop: no per-client thread, O(max fd) per wakeup"
            }
            Model::Poll => {
                "one thread, poll(2) readiness loop: no fd limit, O(connections) per wakeup"
            }
            Model::Epoll => {
                "N epoll loops sharing the listener: O(ready) per wakeup; a slow request blocks its loop"
            }
            Model::Procs => {
                "nginx's design: N processes, each an epoll loop; N times one process's fd limit"
            }
            Model::Uring => {
                "N io_uring loops: operations queued, completions batched; needs io_uring"
            }
            Model::Tokio => {
                "tokio runtime, a task per connection: idiomatic async Rust; pays for its generality"
            }
        }
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown model name.
#[derive(Debug, thiserror::Error)]
#[error("unknown model '{name}' (models: {})", Model::ALL.iter().map(|m| m.name()).collect::<Vec<_>>().join(", "))]
pub struct UnknownModel {
    name: String,
}

impl FromStr for Model {
    type Err = UnknownModel;
    fn from_str(s: &str) -> Result<Model, UnknownModel> {
        Model::ALL
            .iter()
            .copied()
            .find(|m| m.name() == s)
            .ok_or_else(|| UnknownModel {
                name: s.to_string(),
            })
    }
}
