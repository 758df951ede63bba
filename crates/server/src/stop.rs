//! Graceful shutdown: SIGINT and SIGTERM write a byte to a pipe that nobody drains, so its read
//! end stays readable forever after. Every model puts that fd in the set it waits on (blocking
//! models poll it beside their socket), which wakes every thread, and every forked child, at once.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::OnceLock;

use rustix::event::{poll, PollFd, PollFlags, Timespec};

/// The process-wide shutdown signal.
pub struct Stop {
    rx: UnixStream,
    tx: UnixStream,
}

static STOP: OnceLock<Stop> = OnceLock::new();

impl Stop {
    /// Installs the SIGINT/SIGTERM handlers once per process and returns the signal.
    pub fn install() -> io::Result<&'static Stop> {
        if let Some(stop) = STOP.get() {
            return Ok(stop);
        }
        let (rx, tx) = UnixStream::pair()?;
        rx.set_nonblocking(true)?;
        tx.set_nonblocking(true)?;
        for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            signal_hook::low_level::pipe::register(signal, tx.try_clone()?)?;
        }
        Ok(STOP.get_or_init(|| Stop { rx, tx }))
    }

    /// The fd that becomes readable when shutdown begins.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.rx.as_fd()
    }

    /// Whether shutdown has begun.
    pub fn is_set(&self) -> bool {
        let mut fds = [PollFd::new(&self.rx, PollFlags::IN)];
        let zero = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        matches!(poll(&mut fds, Some(&zero)), Ok(n) if n > 0)
    }

    /// Begins shutdown as a signal would.
    pub fn trigger(&self) {
        let _ = io::Write::write(&mut &self.tx, &[1]);
    }
}
