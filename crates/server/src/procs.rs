//! `procs`: nginx's design. N worker processes forked at start (`--workers`, default the
//! cores), each one event loop (the shared [`readiness`](crate::readiness) loop over its own
//! epoll instance) serving many connections, all over the one listener the parent bound.
//!
//! What it adds to `epoll`'s threads is what processes give: each worker has its own address
//! space (a crash takes one worker's connections, not the server) and its own descriptor
//! table, so the server holds N times the connections one process may (the per-process
//! `RLIMIT_NOFILE`), as nginx's `worker_processes` does. The listener is shared with
//! `EPOLLEXCLUSIVE` (what nginx does on Linux 4.5+ with `accept_mutex off`), so a new
//! connection wakes one worker; the skew that remains is `epoll`'s (the kernel favours the
//! most recently waiting worker, which only matters when that one is saturated).
//! The parent only supervises, as `prefork`'s does: it restarts a worker that dies and, on
//! SIGINT/SIGTERM, forwards SIGTERM and reaps them all (each drains its connections within
//! the drain bound). Workers get SIGTERM when the parent dies (`PR_SET_PDEATHSIG`).
//! Failure mode: one slow request (`/cpu`) blocks every connection of its worker.

use std::io;
use std::net::TcpListener;

use nix::sys::signal::Signal;

use crate::children::Children;
use crate::epoll::EpollSelector;
use crate::log::warn_limited;
use crate::readiness::Loop;
use crate::sys::{self, Forked};
use crate::{Config, Stop};

/// Forks `cfg.workers` event-loop processes and keeps that many alive until shutdown.
pub fn serve(listener: TcpListener, cfg: &Config, stop: &Stop) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let mut children = Children::new()?;
    let workers = cfg.workers.max(1);
    let parent = nix::unistd::getpid();
    while !stop.is_set() {
        while children.len() < workers {
            match sys::fork()? {
                Forked::Child => {
                    if sys::die_with_parent(parent).is_err() {
                        sys::exit_child(0);
                    }
                    let served = EpollSelector::new().and_then(|selector| {
                        Loop::new(selector, cfg)
                            .sharing(workers)
                            .run(listener.try_clone()?, stop)
                    });
                    if let Err(e) = served {
                        warn_limited!("procs: a worker's loop failed ({e})");
                        sys::exit_child(1);
                    }
                    sys::exit_child(0);
                }
                Forked::Parent(pid) => children.add(pid),
            }
        }
        match sys::wait_readable(&[stop.fd(), children.fd()], None)? {
            Some(0) => break,
            _ => {
                let died = children.reap();
                if died > 0 && !stop.is_set() {
                    warn_limited!("procs: {died} worker(s) exited; starting replacements");
                }
            }
        }
    }
    children.signal(Signal::SIGTERM);
    drop(listener);
    children.drain(cfg.drain_timeout);
    Ok(())
}
