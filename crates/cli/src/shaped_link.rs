//! A link with a bandwidth, or a round trip: a network namespace this run creates, joined to
//! the host by a veth pair whose two ends each get a qdisc: `tbf` (token bucket: at most
//! `rate` bits a second leave each end, bursts of 10 ms worth), or the kernel's `netem`
//! (every packet held half the round trip at each end, and its `rate` for the bandwidth) where
//! the kernel has it. Whatever crosses the pair in either direction is shaped as on a slower
//! network. Both only shape an interface's egress, and loopback traffic never leaves the host
//! namespace, hence the namespace.
//!
//! The link carries nothing by itself: [`Link::listener`] makes a socket that listens inside
//! the namespace (a short-lived thread enters it with `setns(2)`, binds, and the socket stays
//! there whichever thread uses it), and clients in the host reach it at the namespace's
//! address, across the veth. `compare --experiment network` puts its relay's listening side
//! there, so the generator's bytes cross the shaped link and the relay's other side talks to
//! the server over loopback. Made with `ip` and `tc` (iproute2), as root; dropping a [`Link`]
//! deletes the namespace, which takes the veth pair with it.

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd as _;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A namespace behind a shaped veth pair.
pub struct Link {
    ns: String,
    /// The namespace's end's address (the host's end is one below).
    inside: Ipv4Addr,
}

/// Why there is no link: not root, or which step failed and what the tool said.
#[derive(Debug, Clone)]
pub enum NoLink {
    NotRoot,
    Failed(String),
}

impl std::fmt::Display for NoLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoLink::NotRoot => f.write_str("a network namespace needs root"),
            NoLink::Failed(why) => f.write_str(why),
        }
    }
}

impl Link {
    /// A namespace with a veth pair limited to `rate` bits a second in each direction (0: no
    /// limit) by `tbf`, or, with `one_way`, by `netem`, which also holds every packet that
    /// long at each end.
    pub fn create(rate: u64, one_way: Option<Duration>) -> Result<Link, NoLink> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        if one_way.is_none() && rate == 0 {
            return Err(NoLink::Failed(
                "a link with neither a rate nor a delay".into(),
            ));
        }
        if !rustix::process::geteuid().is_root() {
            return Err(NoLink::NotRoot);
        }
        let pid = std::process::id();
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        // a /30 in 10.213.0.0/16 per (process, link): 16,384 of them, so runs side by side
        // (the tests) rarely meet, and a clash fails `ip addr add` instead of mixing links
        let slot = (pid.wrapping_mul(31).wrapping_add(n)) % (1 << 14);
        let base = u32::from(Ipv4Addr::new(10, 213, 0, 0)) + slot * 4;
        let host = Ipv4Addr::from(base + 1);
        let inside = Ipv4Addr::from(base + 2);
        // interface names have at most 15 bytes
        let tag = format!("{:x}", (pid << 8) ^ n);
        let (h, i) = (format!("swl{tag}h"), format!("swl{tag}n"));
        let link = Link {
            ns: format!("swarmlab-{pid}-{n}"),
            inside,
        };
        run("ip", &["netns", "add", &link.ns])?;
        // from here on, dropping `link` deletes the namespace and the pair
        let ns = link.ns.as_str();
        let burst = (rate / 8 / 100).max(16 << 10).to_string();
        let rate_s = rate.to_string();
        let qdisc = |dev: &str| -> Vec<String> {
            let mut args = ["qdisc", "add", "dev", dev, "root"]
                .map(String::from)
                .to_vec();
            match one_way {
                Some(d) => {
                    args.extend([
                        "netem".into(),
                        "delay".into(),
                        format!("{}us", d.as_micros()),
                    ]);
                    if rate > 0 {
                        args.extend(["rate".into(), format!("{rate_s}bit")]);
                    }
                }
                None => args.extend(
                    ["tbf", "rate", &rate_s, "burst", &burst, "latency", "100ms"].map(String::from),
                ),
            }
            args
        };
        run(
            "ip",
            &[
                "link", "add", &h, "type", "veth", "peer", "name", &i, "netns", ns,
            ],
        )?;
        run("ip", &["addr", "add", &format!("{host}/30"), "dev", &h])?;
        run("ip", &["link", "set", &h, "up"])?;
        run(
            "ip",
            &["-n", ns, "addr", "add", &format!("{inside}/30"), "dev", &i],
        )?;
        run("ip", &["-n", ns, "link", "set", &i, "up"])?;
        run("ip", &["-n", ns, "link", "set", "lo", "up"])?;
        let qdisc_h = qdisc(&h);
        run(
            "tc",
            &qdisc_h.iter().map(String::as_str).collect::<Vec<_>>(),
        )?;
        let mut qdisc_i = vec!["-n".to_string(), ns.to_string()];
        qdisc_i.extend(qdisc(&i));
        run(
            "tc",
            &qdisc_i.iter().map(String::as_str).collect::<Vec<_>>(),
        )?;
        Ok(link)
    }

    /// A listener on an ephemeral port of the namespace's address, reached from the host
    /// across the shaped pair.
    pub fn listener(&self) -> std::io::Result<TcpListener> {
        let path = format!("/var/run/netns/{}", self.ns);
        let inside = self.inside;
        std::thread::scope(|s| {
            s.spawn(|| {
                let ns = std::fs::File::open(&path)?;
                // this thread only: it ends right after, and the socket stays in the namespace
                nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
                    .map_err(std::io::Error::from)?;
                TcpListener::bind(SocketAddr::from((inside, 0)))
            })
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the namespace thread panicked")))
        })
    }

    /// Bits a second measured across the link from the host into the namespace: `bytes` sent
    /// to a reader inside, timed until it has them all (its one-byte answer comes back).
    pub fn measure(&self, bytes: usize) -> std::io::Result<f64> {
        let listener = self.listener()?;
        let addr = listener.local_addr()?;
        let reader = std::thread::spawn(move || -> std::io::Result<()> {
            let (mut s, _) = listener.accept()?;
            let mut buf = vec![0; 64 << 10];
            while s.read(&mut buf)? > 0 {}
            s.write_all(b"k")
        });
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        let chunk = vec![0u8; 64 << 10];
        let start = Instant::now();
        let mut left = bytes;
        while left > 0 {
            let n = left.min(chunk.len());
            s.write_all(&chunk[..n])?;
            left -= n;
        }
        s.shutdown(std::net::Shutdown::Write)?;
        let mut k = [0u8; 1];
        s.read_exact(&mut k)?;
        let took = start.elapsed();
        reader
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the reader panicked")))?;
        Ok(bytes as f64 * 8.0 / took.as_secs_f64())
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        let _ = run("ip", &["netns", "delete", &self.ns]);
    }
}

/// Runs a command; its first line of complaint if it fails.
fn run(program: &str, args: &[&str]) -> Result<(), NoLink> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| NoLink::Failed(format!("`{program}` could not run ({e})")))?;
    if out.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&out.stderr);
    let said = said.lines().next().unwrap_or("").trim();
    Err(NoLink::Failed(format!(
        "`{program} {}` failed: {said}",
        args.join(" ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_carries_what_its_rate_allows() {
        let link = match Link::create(8_000_000, None) {
            Err(NoLink::NotRoot) if std::env::var_os("SWARMLAB_REQUIRE_PEERS").is_none() => {
                eprintln!("skipped: a network namespace needs root");
                return;
            }
            Err(e) => panic!("no link: {e}"),
            Ok(l) => l,
        };
        // 1 MB at 1 MB/s: about a second, the 16 KiB burst aside
        let bits = link.measure(1_000_000).expect("a transfer across the link");
        assert!(
            (6.0e6..9.0e6).contains(&bits),
            "8 Mbit/s asked, {:.2} Mbit/s measured",
            bits / 1e6
        );
        let ns = link.ns.clone();
        drop(link);
        assert!(
            !std::path::Path::new(&format!("/var/run/netns/{ns}")).exists(),
            "the namespace {ns} outlived its link"
        );
    }
}
