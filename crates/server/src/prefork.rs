//! `prefork`: N worker processes forked at start, each blocking in `accept(2)` on the shared
//! listener (Stevens ch. 30, row 2, "preforked, no locking around accept").
//!
//! Each worker serves one connection at a time with the blocking loop, so at most N requests run
//! at once, in separate address spaces; the kernel hands each new connection to one waiting
//! worker (Linux wakes one accept waiter, so no accept lock is needed, unlike Stevens' era).
//! The parent only supervises: it restarts a worker that dies and, on SIGINT/SIGTERM, forwards
//! SIGTERM and reaps them all. Failure mode: like `pool`, N slow clients occupy every worker;
//! while another client waits, responses say `Connection: close`. Each idle worker polls the
//! listener together with the stop pipe before it accepts, so a new connection wakes every idle
//! worker and all but one get EAGAIN: the thundering herd, small while N is the core count.
//! Connections spread as `pool`'s do: the next goes to a free worker (25 % each of 4).
//! Workers get SIGTERM when the parent dies (`PR_SET_PDEATHSIG`), so a killed parent leaves no
//! orphan serving the port.

use std::io;
use std::net::TcpListener;

use nix::sys::signal::Signal;

use crate::blocking::{accept, serve_conn};
use crate::children::Children;
use crate::log::warn_limited;
use crate::sys::{self, Forked};
use crate::{Config, Stop};

/// Forks `cfg.workers` workers and keeps that many alive until shutdown.
pub fn serve(listener: TcpListener, cfg: &Config, stop: &Stop) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let mut children = Children::new()?;
    let workers = cfg.workers.max(1);
    let parent = nix::unistd::getpid();
    while !stop.is_set() {
        while children.len() < workers {
            match sys::fork()? {
                Forked::Child => {
                    // A worker never exits on its own: if the parent is killed outright, it
                    // must not go on serving the port forever, an orphan.
                    if sys::die_with_parent(parent).is_err() {
                        sys::exit_child(0);
                    }
                    while let Ok(Some(stream)) = accept(&listener, stop) {
                        serve_conn(stream, cfg, stop, Some(&listener));
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
                    warn_limited!("prefork: {died} worker(s) exited; starting replacements");
                }
            }
        }
    }
    children.signal(Signal::SIGTERM);
    drop(listener);
    children.drain(cfg.drain_timeout);
    Ok(())
}
