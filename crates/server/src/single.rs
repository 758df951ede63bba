//! `single`: the iterative server (Stevens ch. 30, row 0).
//!
//! Accepts one connection and serves it until it closes or idles out, then accepts the next.
//! One request runs at a time; everyone else waits in the listen backlog. A keep-alive client
//! would starve them all, so while another client is waiting every response says
//! `Connection: close`. Failure mode: any slow request (`/sleep`, `/cpu`, a slow client) stalls
//! every other client, and latency grows with the queue.

use std::io;
use std::net::TcpListener;

use crate::blocking::{accept, serve_conn};
use crate::{Config, Stop};

/// Serves connections one after another until shutdown.
pub fn serve(listener: TcpListener, cfg: &Config, stop: &Stop) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    while let Some(stream) = accept(&listener, stop)? {
        serve_conn(stream, cfg, stop, Some(&listener));
    }
    Ok(())
}
