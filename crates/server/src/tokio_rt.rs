//! `tokio`: the idiomatic Rust async server: a multi-threaded tokio runtime (`--workers`
//! threads, default the cores), a task per connection, `tokio::time::sleep` for `/sleep`.
//!
//! Tasks are cheap (a few hundred bytes plus the connection's buffers), so any number of
//! connections run at once and a sleeping request costs only its timer; the runtime's worker
//! threads steal tasks from each other, so one slow `/cpu` request blocks only its thread's
//! queue for a while. Under it is mio, i.e. edge-triggered epoll. Failure mode: the generality
//! costs CPU per request (wakers, task scheduling, cross-thread stealing) against a hand-written
//! loop.

use std::io;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use swarmlab_http::{Conn, Progress};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

use crate::blocking::{drain, LINGER, READ_CHUNK};
use crate::log::warn_limited;
use crate::{Config, Stop};

/// Runs the tokio server until shutdown, then drains (bounded).
pub fn serve(listener: TcpListener, cfg: &Config, stop: &'static Stop) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cfg.workers.max(1))
        .enable_all()
        .build()?;
    let cfg = *cfg;
    let active = Arc::new(AtomicUsize::new(0));
    let result = runtime.block_on(accept_loop(listener, cfg, stop, Arc::clone(&active)));
    drain(&active, cfg.drain_timeout);
    runtime.shutdown_timeout(Duration::ZERO);
    result
}

async fn accept_loop(
    listener: TcpListener,
    cfg: Config,
    stop: &'static Stop,
    active: Arc<AtomicUsize>,
) -> io::Result<()> {
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let stop_fd = crate::sys::async_stop_fd(stop)?;
    let (stopping, stopped) = watch::channel(false);
    loop {
        tokio::select! {
            _ = stop_fd.readable() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    active.fetch_add(1, Ordering::SeqCst);
                    let (active, stopped) = (Arc::clone(&active), stopped.clone());
                    tokio::spawn(async move {
                        serve_conn(stream, cfg, stopped).await;
                        active.fetch_sub(1, Ordering::SeqCst);
                    });
                }
                Err(e) if is_fd_exhaustion(&e) => {
                    warn_limited!("accept: {e}; not accepting for 100 ms");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(_) => {}
            },
        }
    }
    let _ = stopping.send(true);
    Ok(())
}

fn is_fd_exhaustion(e: &io::Error) -> bool {
    [rustix::io::Errno::MFILE, rustix::io::Errno::NFILE]
        .iter()
        .any(|n| e.raw_os_error() == Some(n.raw_os_error()))
}

/// One connection: the shared `Conn`, awaited instead of blocked on.
async fn serve_conn(
    mut stream: tokio::net::TcpStream,
    cfg: Config,
    mut stop: watch::Receiver<bool>,
) {
    let mut conn = Conn::new(cfg.http);
    let mut out = Vec::new();
    let mut buf = vec![0u8; READ_CHUNK];
    let mut stopping = false;
    loop {
        let progress = conn.advance(&mut out, Instant::now());
        if !out.is_empty() {
            if stream.write_all(&out).await.is_err() {
                return;
            }
            out.clear();
        }
        match progress {
            Progress::Flush => {}
            Progress::Wait(d) => {
                tokio::time::sleep(d).await;
                if !stopping && *stop.borrow() {
                    stopping = true;
                    conn.shutdown();
                }
            }
            Progress::Close => return close(stream, conn.wants_linger()).await,
            Progress::NeedInput => {
                let deadline = conn
                    .deadline()
                    .map_or_else(far_future, tokio::time::Instant::from_std);
                tokio::select! {
                    biased;
                    read = stream.read(&mut buf) => match read {
                        Ok(0) | Err(_) => return,
                        Ok(n) => conn.feed(&buf[..n], Instant::now()),
                    },
                    _ = tokio::time::sleep_until(deadline) => conn.on_timeout(&mut out),
                    _ = stop.changed(), if !stopping => {
                        stopping = true;
                        if conn.shutdown() {
                            return;
                        }
                    }
                }
            }
        }
    }
}

fn far_future() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(86_400)
}

/// After an error: shut down writing and discard input until EOF or [`LINGER`].
async fn close(mut stream: tokio::net::TcpStream, linger: bool) {
    if !linger {
        return;
    }
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 4096];
    let _ = tokio::time::timeout(LINGER, async {
        while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
}
