//! `fork`: a child process per connection (Stevens ch. 30, row 1).
//!
//! The parent polls the stop signal, a SIGCHLD pipe and the listener; it accepts, forks, closes
//! its copy of the connection and goes back to polling. The child serves the connection with
//! the blocking loop and exits. SIGCHLD makes the parent reap at once, so there are never
//! zombies. Any number of requests run at once, one per process. Failure mode: a fork per
//! connection (page tables copied, about 0.2 ms here) caps new connections per second, and
//! `fork` fails at RLIMIT_NPROC; that connection is then closed and logged. The parent never
//! starts a thread: the child of a multithreaded process may not allocate.

use std::io;
use std::net::TcpListener;
use std::os::fd::AsFd;

use crate::blocking::{accept_error, serve_conn};
use crate::children::Children;
use crate::log::warn_limited;
use crate::sys::{self, Forked};
use crate::{Config, Stop};

/// Accepts and forks until shutdown, then waits (bounded) for the children.
pub fn serve(listener: TcpListener, cfg: &Config, stop: &Stop) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let mut children = Children::new()?;
    loop {
        match sys::wait_readable(&[stop.fd(), children.fd(), listener.as_fd()], None)? {
            Some(0) => break,
            Some(1) => {
                children.reap();
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
            Ok(Forked::Parent(pid)) => children.add(pid),
            Err(e) => warn_limited!("fork: cannot fork ({e}); closed that connection"),
        }
    }
    drop(listener);
    children.drain(cfg.drain_timeout);
    Ok(())
}
