//! `pool`: N threads, each calling `accept(2)` itself on the shared listener (Stevens ch. 30,
//! row 7, "prethreaded, each thread calls accept").
//!
//! Each thread serves one connection at a time with the blocking loop, so at most N requests
//! run at once and a connection beyond N waits in the backlog until a thread is free; `/sleep`
//! ties up a whole thread. No thread is created per connection. Failure mode: N slow or idle
//! keep-alive clients occupy the whole pool and everyone else waits (like `single`, N-fold).
//! While another client waits, responses say `Connection: close` so keep-alive cannot starve it.
//! Idle threads poll the listener with the stop pipe before accepting, so each new connection
//! wakes them all and all but one get EAGAIN (a small thundering herd with N = cores). How
//! connections spread: whichever thread is free takes the next one (25 % each of 4 for 400
//! waiting connections); a thread's share is the share of connections it had time for.

use std::io;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::blocking::{accept, drain, serve_conn, STACK};
use crate::log::warn_limited;
use crate::{sys, Config, Stop};

/// Runs `cfg.workers` accepting threads until shutdown, then waits (bounded) for them.
pub fn serve(listener: TcpListener, cfg: &Config, stop: &Stop) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let listener = Arc::new(listener);
    let alive = Arc::new(AtomicUsize::new(0));
    for i in 0..cfg.workers.max(1) {
        let (listener, alive, cfg) = (Arc::clone(&listener), Arc::clone(&alive), cfg.clone());
        let stop = stop.clone();
        alive.fetch_add(1, Ordering::SeqCst);
        std::thread::Builder::new()
            .name(format!("pool-{i}"))
            .stack_size(STACK)
            .spawn(move || {
                loop {
                    match accept(&listener, &stop) {
                        Ok(Some(stream)) => serve_conn(stream, &cfg, &stop, Some(&listener)),
                        Ok(None) => break,
                        Err(e) => {
                            warn_limited!("pool: accept failed ({e}); this thread stops");
                            break;
                        }
                    }
                }
                alive.fetch_sub(1, Ordering::SeqCst);
            })?;
    }
    while sys::wait_readable(&[stop.fd()], None)? != Some(0) {}
    drain(&alive, cfg.drain_timeout);
    Ok(())
}
