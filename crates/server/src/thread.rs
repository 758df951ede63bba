//! `thread`: a thread per connection (Stevens ch. 30, row 6).
//!
//! The main thread accepts; each connection gets its own thread with a small stack running the
//! blocking loop. Any number of requests run at once, one per thread, and `/sleep` blocks only
//! its own thread. Failure mode: memory and scheduler cost grow with the number of clients, and
//! `pthread_create` fails at the thread limits (pid_max, RLIMIT_NPROC); then that connection is
//! closed, logged, and the server goes on.

use std::io;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::blocking::{accept, drain, serve_conn, STACK};
use crate::log::warn_limited;
use crate::{Config, Stop};

/// Accepts until shutdown, spawning a thread per connection; then waits (bounded) for them.
pub fn serve(listener: TcpListener, cfg: &Config, stop: &'static Stop) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let active = Arc::new(AtomicUsize::new(0));
    while let Some(stream) = accept(&listener, stop)? {
        let cfg = *cfg;
        let active2 = Arc::clone(&active);
        active.fetch_add(1, Ordering::SeqCst);
        let spawned = std::thread::Builder::new()
            .stack_size(STACK)
            .spawn(move || {
                serve_conn(stream, &cfg, stop, None);
                active2.fetch_sub(1, Ordering::SeqCst);
            });
        if let Err(e) = spawned {
            active.fetch_sub(1, Ordering::SeqCst);
            warn_limited!("thread: cannot spawn a connection thread ({e}); closed that connection");
        }
    }
    drop(listener);
    drain(&active, cfg.drain_timeout);
    Ok(())
}
