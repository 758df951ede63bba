//! `tokio`: the idiomatic Rust async server: a multi-threaded tokio runtime (`--workers`
//! threads, default the cores), a task per connection, `tokio::time::sleep` for `/sleep`.
//!
//! Tasks are cheap (under 1 KiB each; the read buffer belongs to the worker thread, `BUFFER`),
//! so any number of connections run at once and a sleeping request costs only its timer; the
//! runtime's worker threads steal tasks from each other, so one slow `/cpu` request blocks only
//! its thread's queue for a while. Under it is mio, i.e. edge-triggered epoll. Failure mode: the generality
//! costs CPU per request (wakers, task scheduling, cross-thread stealing) against a hand-written
//! loop. How connections spread: one task accepts (on the runtime's caller thread) and spawns a
//! task per connection into the shared queue; idle workers take tasks from it and steal from
//! each other, so tasks, not connections, are spread (4 workers, 400 waiting connections of
//! 1 ms each on one core: 25 % each; on two cores a worker alone on a core does up to 40 %,
//! the scheduler's skew, not the runtime's).

use std::cell::RefCell;
use std::io;
use std::net::TcpListener;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWriteExt};
use tokio::sync::watch;

use crate::blocking::{drain, READ_CHUNK};
use crate::driver::{Driver, Step};
use crate::log::warn_limited;
use crate::{Config, Stop};

/// Runs the tokio server until shutdown, then drains (bounded).
pub fn serve(listener: TcpListener, cfg: &Config, stop: &Stop) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cfg.workers.max(1))
        // named as the other models' threads are (`tokio-N`), so per-thread figures read
        .thread_name_fn(|| {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            format!("tokio-{}", NEXT.fetch_add(1, Ordering::Relaxed))
        })
        .enable_all()
        .build()?;
    let shared = Arc::new(cfg.clone());
    let active = Arc::new(AtomicUsize::new(0));
    let result = runtime.block_on(accept_loop(listener, shared, stop, Arc::clone(&active)));
    drain(&active, cfg.drain_timeout);
    runtime.shutdown_timeout(Duration::ZERO);
    result
}

async fn accept_loop(
    listener: TcpListener,
    cfg: Arc<Config>,
    stop: &Stop,
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
                    let (active, stopped, cfg) =
                        (Arc::clone(&active), stopped.clone(), Arc::clone(&cfg));
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

/// One connection: the shared [`Driver`]'s steps, awaited instead of blocked on.
async fn serve_conn(
    mut stream: tokio::net::TcpStream,
    cfg: Arc<Config>,
    mut stop: watch::Receiver<bool>,
) {
    let mut driver = Driver::new(&cfg, Instant::now());
    let mut stopping = false;
    loop {
        let step = driver.next(Instant::now());
        let deadline = driver
            .deadline()
            .map_or_else(far_future, tokio::time::Instant::from_std);
        match step {
            Step::Send => {
                tokio::select! {
                    biased;
                    written = stream.write(driver.output()) => match written {
                        Ok(n) if n > 0 => driver.sent(n, Instant::now()),
                        _ => driver.eof(),
                    },
                    _ = tokio::time::sleep_until(deadline) => {}
                }
            }
            Step::Recv => {
                tokio::select! {
                    biased;
                    ready = stream.readable() => {
                        if ready.is_err() {
                            driver.eof();
                        } else if let Some(Ok(0) | Err(_)) = read_into(&mut stream, &mut driver).await {
                            // `None`: the readiness was stale; wait again.
                            driver.eof();
                        }
                    }
                    _ = tokio::time::sleep_until(deadline) => {}
                    _ = stop.changed(), if !stopping => {
                        stopping = true;
                        driver.shutdown();
                    }
                }
            }
            Step::Sleep => {
                tokio::time::sleep_until(deadline).await;
                if !stopping && *stop.borrow() {
                    stopping = true;
                    driver.shutdown();
                }
            }
            Step::ShutdownWrite => {
                let _ = stream.shutdown().await;
            }
            Step::Close => return,
        }
    }
}

thread_local! {
    /// The read buffer of every connection on this worker thread. A connection only borrows it
    /// between "readable" and "handed to its `Driver`", never across an `.await`, so an idle connection
    /// holds no buffer: 10,000 idle keep-alive connections cost their tasks and `Conn`s, not
    /// 10,000 x 16 KiB.
    static BUFFER: RefCell<Box<[u8]>> = RefCell::new(vec![0u8; READ_CHUNK].into_boxed_slice());
}

/// One read into this thread's [`BUFFER`], handed to `driver` while borrowed: `None` if the
/// socket was not readable after all.
///
/// It goes through `poll_read`, not `try_read`, because `poll_read` knows that a short read has
/// drained the socket and clears its readiness; with `try_read` every request costs one more
/// `read(2)` that ends in `EAGAIN` (measured: about 20 % more CPU per keep-alive request).
fn read_into<'a>(
    stream: &'a mut tokio::net::TcpStream,
    driver: &'a mut Driver,
) -> impl std::future::Future<Output = Option<io::Result<usize>>> + 'a {
    std::future::poll_fn(move |cx| {
        let read = BUFFER.with_borrow_mut(|buf| {
            let mut read_buf = tokio::io::ReadBuf::new(buf);
            let read = Pin::new(&mut *stream).poll_read(cx, &mut read_buf);
            if !read_buf.filled().is_empty() {
                driver.received(read_buf.filled(), Instant::now());
            }
            read.map_ok(|()| read_buf.filled().len())
        });
        Poll::Ready(match read {
            Poll::Ready(read) => Some(read),
            Poll::Pending => None,
        })
    })
}

fn far_future() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What an idle connection costs is mostly its task, and the task is this future: an array
    /// inside it (a read or linger buffer) multiplies by every open connection.
    #[test]
    fn a_connection_task_stays_small() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let client = tokio::net::TcpStream::connect(listener.local_addr().unwrap());
            let (client, accepted) = tokio::join!(client, listener.accept());
            let (_stop, stopped) = watch::channel(false);
            let task = serve_conn(accepted.unwrap().0, Arc::new(Config::default()), stopped);
            let size = std::mem::size_of_val(&task);
            assert!(size <= 2048, "a connection's task is {size} bytes");
            drop((task, client));
        });
    }
}
