//! Graceful shutdown: a pipe that nobody drains, so once a byte is written its read end stays
//! readable forever after. Every model puts that fd in the set it waits on (blocking models
//! poll it beside their socket), which wakes every thread, and every forked child, at once.
//!
//! Who triggers it is the caller's business: the binary connects SIGINT and SIGTERM to it
//! ([`Stop::on_signals`]); a test calls [`Stop::trigger`] to stop a model it runs in-process.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;

use rustix::event::{poll, PollFd, PollFlags, Timespec};

/// A shutdown signal. Clones are the same signal: triggering one wakes every waiter on any.
#[derive(Clone, Debug)]
pub struct Stop {
    pipe: Arc<Pipe>,
}

#[derive(Debug)]
struct Pipe {
    rx: UnixStream,
    tx: UnixStream,
}

impl Stop {
    /// A new signal, not yet triggered.
    pub fn new() -> io::Result<Stop> {
        let (rx, tx) = UnixStream::pair()?;
        rx.set_nonblocking(true)?;
        tx.set_nonblocking(true)?;
        Ok(Stop {
            pipe: Arc::new(Pipe { rx, tx }),
        })
    }

    /// Makes SIGINT and SIGTERM trigger this signal (for the rest of the process's life).
    pub fn on_signals(&self) -> io::Result<()> {
        for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            signal_hook::low_level::pipe::register(signal, self.pipe.tx.try_clone()?)?;
        }
        Ok(())
    }

    /// The fd that becomes readable when shutdown begins.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.pipe.rx.as_fd()
    }

    /// Whether shutdown has begun.
    pub fn is_set(&self) -> bool {
        let mut fds = [PollFd::new(&self.pipe.rx, PollFlags::IN)];
        let zero = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        matches!(poll(&mut fds, Some(&zero)), Ok(n) if n > 0)
    }

    /// Begins shutdown as a signal would.
    pub fn trigger(&self) {
        let _ = io::Write::write(&mut &self.pipe.tx, &[1]);
    }
}

impl AsRawFd for Stop {
    /// The read end (see [`Stop::fd`]); it stays open as long as any clone lives.
    fn as_raw_fd(&self) -> RawFd {
        self.pipe.rx.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trigger_is_seen_by_every_clone_and_stays() {
        let stop = Stop::new().unwrap();
        let other = stop.clone();
        assert!(!stop.is_set() && !other.is_set());
        other.trigger();
        assert!(stop.is_set() && other.is_set());
        assert!(stop.is_set(), "it stays set");
        assert!(!Stop::new().unwrap().is_set(), "a new signal is its own");
    }
}
