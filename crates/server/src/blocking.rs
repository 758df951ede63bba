//! The per-connection loop of the blocking models (`single`, `fork`, `prefork`, `thread`,
//! `pool`): the shared [`Driver`]'s steps, carried out with blocking calls. Waiting happens in
//! `poll(2)` on the socket and the stop signal with the driver's deadline, so a header
//! deadline, an idle timeout, a write deadline and a shutdown all wake a blocked connection;
//! `/sleep` blocks the thread (or process) in `poll(2)` until its time, watching only the stop
//! signal and the client closing its side: a client that leaves does not keep the thread (or
//! the process, or a pool's worker) for the rest of its sleep.

use std::io::{self, Read};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use crate::driver::{Driver, Step};
use crate::log::warn_limited;
use crate::sys::{self, Woken};
use crate::{Config, Stop};

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

/// How long after an answer an idle keep-alive connection is kept although another client
/// waits (the iterative and pooled models): its client may be sending its next request right
/// then, and a close that crosses it fails that request (`RemoteDisconnected`; the assignment's
/// locustfile failed 2 to 3 `/echo`s in 60 against `single` when users arrived one by one).
const YIELD_GRACE: std::time::Duration = std::time::Duration::from_millis(5);

/// How often a write blocked on a client that does not read looks for a stop.
const STOP_POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// Serves one connection until it closes, times out, or shutdown lets it go: carries out the
/// [`Driver`]'s steps with blocking calls. Writes go out with `MSG_DONTWAIT` and wait in
/// `poll(2)` when the socket is full, so the write deadline holds without a timer thread.
///
/// `yield_to`: the iterative and pooled models' listener. While another client waits there,
/// the connection ends after its current response (`Connection: close`), and an idle
/// keep-alive connection ends at once, so one keep-alive client cannot starve the rest (an
/// idle one held every other client until its next request: `compare`'s single row read a
/// p99 of one think time).
pub fn serve_conn(stream: TcpStream, cfg: &Config, stop: &Stop, yield_to: Option<&TcpListener>) {
    let mut driver = Driver::new(cfg, Instant::now());
    let mut buf = vec![0u8; READ_CHUNK];
    let mut stopping = false;
    // once stopping: what is under way may finish until then (the model's drain bound, kept
    // here too: `single` serves on its only thread, so nobody else can cut it short)
    let mut drain_until: Option<Instant> = None;
    // the connection was told to yield (it ends after what is under way): stop watching
    let mut yielded = false;
    // when the last answer went out whole: a client that keeps its connection sends its next
    // request right after it, so the connection is not let go before YIELD_GRACE has passed
    let mut answered_at: Option<Instant> = None;
    loop {
        let now = Instant::now();
        if drain_until.is_some_and(|d| now >= d) {
            return;
        }
        if !stopping && stop.is_set() {
            stopping = true;
            driver.shutdown();
        }
        if stopping && drain_until.is_none() {
            drain_until = Some(now + cfg.drain_timeout);
        }
        // a wait ends by the driver's deadline, the drain bound, and (for waits that cannot
        // watch the stop fd) soon enough to see a stop
        let bounded = |deadline: Option<Instant>, poll_stop: bool| {
            [
                deadline,
                drain_until,
                (poll_stop && !stopping).then(|| now + STOP_POLL),
            ]
            .into_iter()
            .flatten()
            .min()
        };
        match driver.next(now) {
            Step::Send => match sys::send_now(stream.as_fd(), driver.output()) {
                Ok(n) => {
                    driver.sent(n, now);
                    if driver.output().is_empty() {
                        answered_at = Some(now);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if sys::wait_writable(stream.as_fd(), bounded(driver.deadline(), true)).is_err()
                    {
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return,
            },
            Step::Recv => {
                let mut fds = [stream.as_fd(); 3];
                let mut n = 1;
                if !stopping {
                    fds[n] = stop.fd();
                    n += 1;
                }
                let may_yield = yield_to.is_some() && !stopping && !yielded;
                let grace_until = answered_at.map(|t| t + YIELD_GRACE).filter(|&g| g > now);
                let listening = match yield_to {
                    Some(l)
                        if may_yield && grace_until.is_none() && driver.idle_after_answering() =>
                    {
                        fds[n] = l.as_fd();
                        n += 1;
                        Some(n - 1)
                    }
                    _ => None,
                };
                let deadline = match grace_until {
                    Some(g) if may_yield => Some(driver.deadline().map_or(g, |d| d.min(g))),
                    _ => driver.deadline(),
                };
                match sys::wait_readable(&fds[..n], bounded(deadline, false)) {
                    Ok(Some(i)) if Some(i) == listening => {
                        // someone waits: an idle connection that was answered ends now
                        yielded = driver.make_way();
                    }
                    Ok(Some(0)) => match (&stream).read(&mut buf) {
                        Ok(0) => driver.eof(),
                        Ok(n) => {
                            driver.received(&buf[..n], Instant::now());
                            // Only new input can produce a response: decide here (one poll per
                            // read, not per loop turn) whether it must be the last.
                            if !yielded && yield_to.is_some_and(sys::readable_now) {
                                // the response under way is the last (over TLS, once the
                                // handshake is done and a request came)
                                yielded = driver.make_way();
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(_) => driver.eof(),
                    },
                    Ok(Some(_)) => {
                        stopping = true;
                        driver.shutdown();
                    }
                    Ok(None) => {} // a deadline: `next` deals with it
                    Err(_) => return,
                }
            }
            Step::Sleep => {
                // woken by a stop (then the drain bound holds), by the client closing its side
                // (it left: the reply is abandoned and the thread or process is free for the
                // next client), else at the driver's deadline
                let until = bounded(driver.deadline(), false);
                let stop_fd = (!stopping).then(|| stop.fd());
                match sys::wait_stop_or_hangup(stop_fd, stream.as_fd(), until) {
                    Ok(Woken::Hangup) => driver.eof(),
                    Ok(_) => {}
                    Err(_) => return,
                }
            }
            Step::ShutdownWrite => {
                let _ = stream.shutdown(Shutdown::Write);
            }
            Step::Close => return,
        }
    }
}
