//! Child processes of the forking models (`fork`, `prefork`): a SIGCHLD pipe so the parent's
//! poll wakes when one exits, reaping (never a zombie), and the bounded drain at shutdown.

use std::collections::HashSet;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::sys;

/// The live children and the pipe SIGCHLD writes to.
pub(crate) struct Children {
    live: HashSet<Pid>,
    sigchld: UnixStream,
}

impl Children {
    /// Installs the SIGCHLD pipe.
    pub fn new() -> io::Result<Children> {
        let (rx, tx) = UnixStream::pair()?;
        rx.set_nonblocking(true)?;
        tx.set_nonblocking(true)?;
        signal_hook::low_level::pipe::register(signal_hook::consts::SIGCHLD, tx)?;
        Ok(Children {
            live: HashSet::new(),
            sigchld: rx,
        })
    }

    /// Readable when a child may have exited.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.sigchld.as_fd()
    }

    /// Remembers a new child.
    pub fn add(&mut self, pid: Pid) {
        self.live.insert(pid);
    }

    /// How many are alive.
    pub fn len(&self) -> usize {
        self.live.len()
    }

    /// Drains the SIGCHLD pipe and reaps every child that has exited; returns how many.
    pub fn reap(&mut self) -> usize {
        let mut sink = [0u8; 64];
        while matches!((&self.sigchld).read(&mut sink), Ok(n) if n > 0) {}
        let mut reaped = 0;
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(_) => return reaped,
                Ok(status) => {
                    if let Some(pid) = status.pid() {
                        reaped += usize::from(self.live.remove(&pid));
                    }
                }
            }
        }
    }

    /// Shutdown: waits up to `timeout` for the children to finish, then kills and reaps the rest.
    pub fn drain(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.live.is_empty() {
            if let Ok(None) = sys::wait_readable(&[self.fd()], Some(deadline)) {
                for &pid in &self.live {
                    let _ = kill(pid, Signal::SIGKILL);
                }
                while !self.live.is_empty() {
                    match waitpid(None, None) {
                        Ok(status) => {
                            if let Some(pid) = status.pid() {
                                self.live.remove(&pid);
                            }
                        }
                        Err(_) => break,
                    }
                }
            }
            self.reap();
        }
    }

    /// Sends `signal` to every live child.
    pub fn signal(&self, signal: Signal) {
        for &pid in &self.live {
            let _ = kill(pid, signal);
        }
    }
}
