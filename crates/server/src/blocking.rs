//! The per-connection loop of the blocking models (`single`, `fork`, `thread`): read, feed the
//! shared [`Conn`], write, repeat. Waiting happens in `poll(2)` on the socket and the stop
//! signal with the connection's deadline, so a header deadline, an idle timeout and a shutdown
//! all wake a blocked reader; `/sleep` blocks the thread (or process) in `thread::sleep`, which
//! is the natural way for a blocking design to wait.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use swarmlab_http::{Conn, Progress};

use crate::log::warn_limited;
use crate::sys;
use crate::{Config, Stop};

/// How long a connection closed on an error keeps reading (and discarding) so that the client
/// reads the error response instead of a reset.
pub const LINGER: Duration = Duration::from_secs(1);
/// Bytes read per `read(2)`.
pub const READ_CHUNK: usize = 16 * 1024;

/// Stack per connection thread: the loop needs a few KiB; 2 MiB (std's default) would make
/// 10,000 clients reserve 20 GiB of address space.
pub const STACK: usize = 128 * 1024;

/// After shutdown: waits until `active` threads are done, or `timeout` passes (then the process
/// exits and takes the stragglers with it: the drain is bounded).
pub fn drain(active: &std::sync::atomic::AtomicUsize, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while active.load(std::sync::atomic::Ordering::SeqCst) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits for a connection or for shutdown. `Ok(None)` means shutdown began.
pub fn accept(listener: &TcpListener, stop: &Stop) -> io::Result<Option<TcpStream>> {
    loop {
        if sys::wait_readable(&[stop.fd(), listener.as_fd()], None)? == Some(0) {
            return Ok(None);
        }
        match listener.accept() {
            Ok((stream, _)) => return Ok(Some(stream)),
            Err(e) => accept_error(e)?,
        }
    }
}

/// Sorts accept errors into "try again" and fatal. Running out of fds is logged and waited
/// out; a connection reset before we accepted it is nobody's business.
pub fn accept_error(e: io::Error) -> io::Result<()> {
    match e.raw_os_error() {
        Some(libc_errno)
            if libc_errno == rustix::io::Errno::MFILE.raw_os_error()
                || libc_errno == rustix::io::Errno::NFILE.raw_os_error()
                || libc_errno == rustix::io::Errno::NOMEM.raw_os_error()
                || libc_errno == rustix::io::Errno::NOBUFS.raw_os_error() =>
        {
            warn_limited!("accept: {e}; not accepting for 100 ms");
            std::thread::sleep(Duration::from_millis(100));
            Ok(())
        }
        _ => match e.kind() {
            io::ErrorKind::WouldBlock
            | io::ErrorKind::Interrupted
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset => Ok(()),
            _ => Err(e),
        },
    }
}

/// Serves one connection until it closes, times out, or shutdown lets it go.
///
/// `yield_to`: the iterative model's listener. While another client waits there, responses
/// say `Connection: close`, so one keep-alive client cannot starve the rest.
pub fn serve_conn(
    mut stream: TcpStream,
    cfg: &Config,
    stop: &Stop,
    yield_to: Option<&TcpListener>,
) {
    let mut conn = Conn::new(cfg.http);
    let mut out = Vec::new();
    let mut buf = vec![0u8; READ_CHUNK];
    let mut stopping = false;
    loop {
        let progress = conn.advance(&mut out, Instant::now());
        if !out.is_empty() {
            if stream.write_all(&out).is_err() {
                return;
            }
            out.clear();
        }
        match progress {
            Progress::Flush => {}
            Progress::Wait(d) => {
                std::thread::sleep(d);
                if !stopping && stop.is_set() {
                    stopping = true;
                    conn.shutdown();
                }
            }
            Progress::Close => return close(stream, conn.wants_linger()),
            Progress::NeedInput => {
                let fds = [stream.as_fd(), stop.fd()];
                let fds = if stopping { &fds[..1] } else { &fds[..] };
                match sys::wait_readable(fds, conn.deadline()) {
                    Ok(Some(0)) => {}
                    Ok(Some(_)) => {
                        stopping = true;
                        if conn.shutdown() {
                            return;
                        }
                        continue;
                    }
                    Ok(None) => {
                        conn.on_timeout(&mut out);
                        continue;
                    }
                    Err(_) => return,
                }
                match stream.read(&mut buf) {
                    Ok(0) => return,
                    Ok(n) => {
                        conn.feed(&buf[..n], Instant::now());
                        // Only new input can produce a response: decide here (one poll per
                        // read, not per loop turn) whether it must say Connection: close.
                        if yield_to.is_some_and(sys::readable_now) {
                            conn.shutdown();
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => return,
                }
            }
        }
    }
}

/// Closes a connection; after an error, lingers: shut down writing and discard input until
/// EOF or [`LINGER`], so the client reads our error response before any reset.
fn close(mut stream: TcpStream, linger: bool) {
    if !linger {
        return;
    }
    let _ = stream.shutdown(Shutdown::Write);
    let deadline = Instant::now() + LINGER;
    let mut sink = [0u8; 4096];
    while let Ok(Some(_)) = sys::wait_readable(&[stream.as_fd()], Some(deadline)) {
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}
