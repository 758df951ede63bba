//! When a response's bytes reached the generator: the kernel's receive timestamp of each read.
//!
//! A response time ends when the generator has read the response and timed it. If the loop was
//! busy with other users (a burst of responses at once), asleep in a halted vCPU, or descheduled,
//! the bytes sat readable in the socket for a while first, and that wait counts in the figure as
//! if the server had taken it. With `SO_TIMESTAMPNS` set on a socket, Linux stamps every segment
//! as it arrives (at the network device's receive, for loopback the server's send) and `recvmsg`
//! hands back the stamp of the last segment a read consumed; the difference to the clock when
//! the response is complete is the delay the generator itself added (its *read delay*). One
//! `recvmsg` instead of a `read`, and one vDSO clock read per response; stamps on one
//! connection in four: cheap enough for every run (`bench/generator-delay.sh`,
//! `bench/swarm-vs-wrk.sh`).

use std::io::{self, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use nix::sys::socket::{recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags};

/// When the last bytes of a read arrived, as the kernel stamped them (`CLOCK_REALTIME`, ns).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Arrival(i128);

impl Arrival {
    /// How long the bytes had arrived when the response was timed at `timed` (a moment just
    /// past): zero if the clock moved back.
    pub(crate) fn waited(self, timed: Instant) -> Duration {
        let age = realtime_ns() - self.0 - timed.elapsed().as_nanos() as i128;
        Duration::from_nanos(u64::try_from(age).unwrap_or(0))
    }
}

fn realtime_ns() -> i128 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Realtime);
    i128::from(t.tv_sec) * 1_000_000_000 + i128::from(t.tv_nsec)
}

/// One connection in this many is stamped: the delay is a sample of the responses (thousands
/// a second at any real load), and the stamps' cost (about 4 % more generator CPU per request
/// at 110,000 req/s when every connection had them and was read with `recvmsg`) a quarter of
/// that.
const SAMPLE_EVERY: u32 = 4;

static CONNECTIONS: AtomicU32 = AtomicU32::new(0);

/// Stamps what arrives on `sock` if it is one of the sampled connections (the first of every
/// [`SAMPLE_EVERY`], so a run's first connection always is); whether it does. The others are
/// read with a plain `read`.
pub(crate) fn sample(sock: &impl AsFd) -> bool {
    CONNECTIONS.fetch_add(1, Ordering::Relaxed) % SAMPLE_EVERY == 0 && enable(sock)
}

/// Asks the kernel to stamp what arrives on `sock`; whether it will (where it cannot, the delay
/// is not measured for that connection).
pub(crate) fn enable(sock: &impl AsFd) -> bool {
    setsockopt(sock, sockopt::ReceiveTimestampns, &true).is_ok()
}

/// A `read` of `sock` that also returns the arrival of the last bytes read, when stamped.
pub(crate) fn recv(sock: &impl AsRawFd, buf: &mut [u8]) -> io::Result<(usize, Option<Arrival>)> {
    // CMSG_SPACE(sizeof(struct timespec)) is 32 on 64-bit Linux
    let mut space = [0u8; 64];
    let mut iov = [IoSliceMut::new(buf)];
    loop {
        match recvmsg::<()>(
            sock.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::empty(),
        ) {
            Ok(msg) => {
                let stamp = msg.cmsgs().ok().and_then(|mut c| {
                    c.find_map(|m| match m {
                        ControlMessageOwned::ScmTimestampns(ts) => Some(Arrival(
                            i128::from(ts.tv_sec()) * 1_000_000_000 + i128::from(ts.tv_nsec()),
                        )),
                        _ => None,
                    })
                });
                return Ok((msg.bytes, stamp));
            }
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(io::Error::from(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Bytes that sat in the socket for a while are seen to have: the stamp is their arrival,
    /// not the read.
    #[test]
    fn a_read_tells_how_long_its_bytes_waited() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        assert!(enable(&client));
        let (mut server, _) = listener.accept().unwrap();
        let mut buf = [0u8; 16];
        // the kernel turns stamping on a moment after the first socket asks (a deferred work
        // item): what arrives before is not stamped
        let mut stamped = false;
        for _ in 0..200 {
            server.write_all(b".").unwrap();
            if recv(&client, &mut buf).unwrap().1.is_some() {
                stamped = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(stamped, "the kernel never stamped an arrival");
        server.write_all(b"hello").unwrap();
        std::thread::sleep(Duration::from_millis(30));
        let (n, stamp) = recv(&client, &mut buf).unwrap();
        assert_eq!(&buf[..n], b"hello");
        let age = stamp.expect("a stamped read").waited(Instant::now());
        assert!(
            age >= Duration::from_millis(25) && age < Duration::from_secs(5),
            "{age:?}"
        );
        // without the option, no stamp
        let plain = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut other, _) = listener.accept().unwrap();
        other.write_all(b"x").unwrap();
        std::thread::sleep(Duration::from_millis(5));
        let (n, stamp) = recv(&plain, &mut buf).unwrap();
        assert_eq!((n, stamp), (1, None));
    }
}
