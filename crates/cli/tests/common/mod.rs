//! Shared by the integration tests: a `swarmlab serve` child process on a free loopback port
//! (bound here, inherited by the server), and a raw-socket HTTP/1.1 response reader.

#![allow(dead_code)]

/// `per_model!(module, function)`: module `module` with one test per model calling
/// `function(model)` (the models suites, plain and TLS).
#[allow(unused_macros)]
macro_rules! per_model {
    ($module:ident, $function:path) => {
        mod $module {
            #[test]
            fn single() {
                $function("single")
            }
            #[test]
            fn fork() {
                $function("fork")
            }
            #[test]
            fn prefork() {
                $function("prefork")
            }
            #[test]
            fn thread() {
                $function("thread")
            }
            #[test]
            fn pool() {
                $function("pool")
            }
            #[test]
            fn select() {
                $function("select")
            }
            #[test]
            fn poll() {
                $function("poll")
            }
            #[test]
            fn epoll() {
                $function("epoll")
            }
            #[test]
            fn procs() {
                $function("procs")
            }
            #[test]
            fn uring() {
                $function("uring")
            }
            #[test]
            fn tokio() {
                $function("tokio")
            }
        }
    };
}

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Generous: the suite must pass on a loaded 2-core machine.
pub const IO_TIMEOUT: Duration = Duration::from_secs(20);

/// A running `swarmlab serve`.
pub struct Server {
    child: Option<Child>,
    pub addr: SocketAddr,
    pub model: &'static str,
}

impl Server {
    /// `None` (with the reason printed) when this machine cannot run `model` (io_uring); under
    /// `SWARMLAB_REQUIRE_PEERS=1` that is a failure instead, as a missing peer is.
    pub fn try_start(model: &'static str, extra: &[&str]) -> Option<Server> {
        if model == "uring" {
            if let Err(why) = swarmlab_server::uring::available() {
                assert!(
                    !peers_required(),
                    "uring: {why}, and SWARMLAB_REQUIRE_PEERS=1"
                );
                eprintln!("SKIPPED: uring: {why} (SWARMLAB_REQUIRE_PEERS=1 makes this fail)");
                return None;
            }
        }
        Some(Server::start(model, extra))
    }

    /// Binds a free loopback port here and hands the listening socket to `swarmlab serve` as
    /// its stdin (`--listen-fd 0`): the address is known before the server starts, and nothing
    /// is read back from its output.
    pub fn start(model: &'static str, extra: &[&str]) -> Server {
        // serve's own backlog (std's 128 overflows when hundreds of clients connect at once)
        let listener =
            swarmlab_server::bind(([127, 0, 0, 1], 0).into(), swarmlab_server::DEFAULT_BACKLOG)
                .expect("bind a free port");
        let addr = listener.local_addr().unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_swarmlab"))
            .args(["serve", "--model", model, "--listen-fd", "0"])
            .args(extra)
            .stdin(std::os::fd::OwnedFd::from(listener))
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn swarmlab serve");
        Server {
            child: Some(child),
            addr,
            model,
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().unwrap().id() as i32
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).expect("connect");
        s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        s
    }

    /// One request on a fresh connection.
    pub fn request(&self, raw: &[u8]) -> Response {
        let mut s = self.connect();
        s.write_all(raw).unwrap();
        read_response(&mut s).expect("a response")
    }

    /// Sends SIGTERM and waits (bounded) for the exit status.
    pub fn stop(mut self) -> ExitStatus {
        let mut child = self.child.take().unwrap();
        // The address is known before the server starts, so a test can get here before the
        // server has installed its handlers; SIGTERM then would kill it rather than stop it.
        wait_until_catching_sigterm(&mut child);
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + IO_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!(
                    "{} did not exit within {IO_TIMEOUT:?} of SIGTERM",
                    self.model
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        self.child.as_mut().unwrap().try_wait().unwrap().is_none()
    }
}

/// Waits (bounded) until `child` catches SIGTERM (`SigCgt` in /proc/PID/status), or has exited.
fn wait_until_catching_sigterm(child: &mut Child) {
    let deadline = Instant::now() + IO_TIMEOUT;
    let status = format!("/proc/{}/status", child.id());
    while Instant::now() < deadline && child.try_wait().unwrap().is_none() {
        let caught = std::fs::read_to_string(&status)
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("SigCgt:"))
                    .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
            })
            .is_some_and(|mask| mask & (1 << (libc::SIGTERM - 1)) != 0);
        if caught {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A parsed response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The header section exactly as received.
    pub raw_head: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one response (not to a HEAD request) from `s`; `None` on EOF before any byte.
pub fn read_response(s: &mut TcpStream) -> Option<Response> {
    read_response_to(s, false)
}

/// Reads one response; `head_request` means the body is absent whatever Content-Length says.
pub fn read_response_to(s: &mut TcpStream, head_request: bool) -> Option<Response> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(0) if buf.is_empty() => return None,
            Ok(0) => panic!(
                "EOF inside a header section: {:?}",
                String::from_utf8_lossy(&buf)
            ),
            Ok(_) => buf.push(byte[0]),
            Err(e) if buf.is_empty() && e.kind() == std::io::ErrorKind::ConnectionReset => {
                return None
            }
            Err(e) => panic!("reading a response: {e}"),
        }
    }
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut resp = httparse::Response::new(&mut headers);
    assert!(resp.parse(&buf).unwrap().is_complete());
    let headers: Vec<(String, String)> = resp
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_string(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    let status = resp.code.unwrap();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.parse().unwrap())
        .unwrap_or_else(|| panic!("no Content-Length in {:?}", String::from_utf8_lossy(&buf)));
    let mut body = vec![
        0;
        if head_request || status == 100 {
            0
        } else {
            length
        }
    ];
    s.read_exact(&mut body).expect("a whole body");
    Some(Response {
        status,
        headers,
        body,
        raw_head: buf,
    })
}

/// Asserts that the server closes `s` (EOF or reset) without sending more.
pub fn assert_closed(s: &mut TcpStream) {
    let mut rest = Vec::new();
    match s.read_to_end(&mut rest) {
        Ok(_) => assert!(
            rest.is_empty(),
            "bytes after close: {:?}",
            String::from_utf8_lossy(&rest)
        ),
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
    }
}

/// A connection whose receive buffer is set to `bytes` before it connects (so the window it
/// advertises stays that small): a client that reads slowly holds little in its kernel.
pub fn connect_with_receive_buffer(addr: SocketAddr, bytes: usize) -> TcpStream {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        None,
    )
    .unwrap();
    socket.set_recv_buffer_size(bytes).unwrap();
    socket.connect(&addr.into()).expect("connect");
    let s: TcpStream = socket.into();
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    s
}

/// Whether a peer program is required (CI) rather than optional (a developer's machine).
pub fn peers_required() -> bool {
    std::env::var("SWARMLAB_REQUIRE_PEERS").is_ok_and(|v| v == "1")
}

/// Finds `name` on PATH; when missing, fails under `SWARMLAB_REQUIRE_PEERS=1` and otherwise
/// prints why the test is skipped.
pub fn peer(name: &str) -> Option<std::path::PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            !peers_required(),
            "{name} is not on PATH and SWARMLAB_REQUIRE_PEERS=1"
        );
        eprintln!(
            "SKIPPED: {name} is not on PATH (set SWARMLAB_REQUIRE_PEERS=1 to make this fail)"
        );
    }
    found
}

/// Whether `python3` on PATH has greenlet (the Python path needs it); without it, the reason
/// is printed, and under `SWARMLAB_REQUIRE_PEERS=1` that is a failure.
pub fn python_has_greenlet() -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import greenlet"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            !peers_required(),
            "python3 on PATH has no greenlet, and SWARMLAB_REQUIRE_PEERS=1"
        );
        eprintln!("SKIPPED: python3 on PATH has no greenlet (pip install greenlet)");
    }
    ok
}

/// Stops an nginx started with `daemon off`: SIGTERM (its master stops the workers), a bounded
/// wait, then SIGKILL. A SIGKILL alone leaves its workers running, orphaned, on their ports.
#[allow(dead_code)]
pub fn stop_nginx(child: &mut Child) {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}
