//! `fork`: a child process per connection (Stevens ch. 30, row 1).
//!
//! The parent polls the stop signal, a SIGCHLD pipe and the listener; it accepts, forks, closes
//! its copy of the connection and goes back to polling. The child serves the connection with
//! the blocking loop and exits. SIGCHLD makes the parent reap at once, so there are never
//! zombies. Any number of requests run at once, one per process. Failure mode: a fork per
//! connection (page tables copied, about 0.2 ms here) caps new connections per second, and
//! every process takes a pid: uncapped, 30,000 clients would take all of a 32,768
//! `kernel.pid_max` (or the user's RLIMIT_NPROC), and neither this server nor anything else on
//! the machine could start a process. So the server stops accepting at a cap, half the room
//! for new tasks it finds at its start ([`crate::sys::task_room`]) or `--max-processes`: new
//! clients wait in the listen backlog and are served as children end; it says so once. Should
//! `fork` fail all the same, that connection is closed and logged. The parent never starts a
//! thread: the child of a multithreaded process may not allocate.

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
    let (room, bound) = sys::task_room();
    let most = (room / 2).max(1);
    let cap = cfg.max_processes.map_or(most, |n| n.min(most));
    loop {
        if children.len() >= cap {
            if cfg.max_processes.is_some_and(|n| n <= most) {
                warn_limited!("fork: {cap} connection processes (--max-processes); new connections wait in the backlog");
            } else {
                warn_limited!("fork: {cap} connection processes, half the room {bound} left at the start; new connections wait in the backlog");
            }
            // until a child ends (or shutdown)
            if sys::wait_readable(&[stop.fd(), children.fd()], None)? == Some(0) {
                break;
            }
            children.reap();
            continue;
        }
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
