//! `fork`: a child process per connection (Stevens ch. 30, row 1).
//!
//! The parent polls the listener, the stop signal and a SIGCHLD pipe; it accepts, forks, closes
//! its copy of the connection and goes back to polling. The child serves the connection with
//! the blocking loop and exits. SIGCHLD makes the parent reap at once, so there are never
//! zombies. Any number of requests run at once, one per process. Failure mode: a fork per
//! connection (page tables copied, about 0.2 ms here) caps new connections per second, and
//! `fork` fails at RLIMIT_NPROC; that connection is then closed and logged. The parent never
//! starts a thread: the child of a multithreaded process may not allocate.

use std::collections::HashSet;
use std::io::{self, Read};
use std::net::TcpListener;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::time::Instant;

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::blocking::{accept_error, serve_conn};
use crate::log::warn_limited;
use crate::sys::{self, Forked};
use crate::{Config, Stop};

/// Accepts and forks until shutdown, then waits (bounded) for the children.
pub fn serve(listener: TcpListener, cfg: &Config, stop: &Stop) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let (mut chld_rx, chld_tx) = UnixStream::pair()?;
    chld_rx.set_nonblocking(true)?;
    chld_tx.set_nonblocking(true)?;
    signal_hook::low_level::pipe::register(signal_hook::consts::SIGCHLD, chld_tx)?;
    let mut children = HashSet::new();
    loop {
        match sys::wait_readable(&[stop.fd(), chld_rx.as_fd(), listener.as_fd()], None)? {
            Some(0) => break,
            Some(1) => {
                reap(&mut chld_rx, &mut children);
                continue;
            }
            _ => {}
        }
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) => {
                accept_error(e)?;
                continue;
            }
        };
        match sys::fork() {
            Ok(Forked::Child) => {
                drop(listener);
                serve_conn(stream, cfg, stop, None);
                sys::exit_child(0);
            }
            Ok(Forked::Parent(pid)) => {
                children.insert(pid);
            }
            Err(e) => warn_limited!("fork: cannot fork ({e}); closed that connection"),
        }
    }
    drop(listener);
    let deadline = Instant::now() + cfg.drain_timeout;
    while !children.is_empty() {
        if let Ok(None) = sys::wait_readable(&[chld_rx.as_fd()], Some(deadline)) {
            for &pid in &children {
                let _ = kill(pid, Signal::SIGKILL);
            }
            while !children.is_empty() {
                match waitpid(None, None) {
                    Ok(status) => forget(&mut children, status),
                    Err(_) => break,
                }
            }
        }
        reap(&mut chld_rx, &mut children);
    }
    Ok(())
}

/// Drains the SIGCHLD pipe and reaps every child that has exited.
fn reap(chld_rx: &mut UnixStream, children: &mut HashSet<Pid>) {
    let mut sink = [0u8; 64];
    while matches!(chld_rx.read(&mut sink), Ok(n) if n > 0) {}
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(_) => return,
            Ok(status) => forget(children, status),
        }
    }
}

fn forget(children: &mut HashSet<Pid>, status: WaitStatus) {
    if let Some(pid) = status.pid() {
        children.remove(&pid);
    }
}
