//! One server as a child process, for one phase of a comparison or for `check`: started from
//! any command, told its address (never read back from its output), waited for until it
//! answers HTTP, pinned, its process tree measured, and stopped with SIGTERM, then SIGKILL
//! after a bound. Dropping it kills what is left, so no phase leaves a server behind.
//!
//! The address goes one of two ways, both decided here before the server starts:
//! [`Listen::Inherit`]: the comparison binds a loopback socket and hands it over as the
//! server's stdin (`swarmlab serve --listen-fd 0`), so there is no race for the port;
//! [`Listen::Port`]: the comparison picks a free port and passes it as `{port}` in the
//! command and `PORT` in its environment, for servers that bind their own socket.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use swarmlab_server::{Model, DEFAULT_BACKLOG};

use crate::procfs::{self, TreeSample};

/// SIGTERM's number: how a user's server that does not handle it ends when stopped.
const SIGTERM: i32 = nix::sys::signal::Signal::SIGTERM as i32;

/// How long a server may take to answer its first request.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long SIGTERM has before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// How long a server may listen on another port than its own before that is the answer.
const ASTRAY_AFTER: Duration = Duration::from_secs(2);

/// How a started server learns its address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listen {
    /// A listening socket bound here, as the server's stdin.
    Inherit,
    /// A free port chosen here: `{port}` in the arguments, `PORT` in the environment: a
    /// server of the user's own, which binds its own socket.
    Port,
}

/// How to start one server.
#[derive(Clone, Debug)]
pub struct ServerCommand {
    /// The row's name, for what the server says on stderr.
    pub name: String,
    /// The program and its arguments (`{port}` is replaced with [`Listen::Port`]).
    pub argv: Vec<String>,
    /// How it learns its address.
    pub listen: Listen,
    /// The cores it runs on (`None`: not pinned).
    pub cpus: Option<Vec<usize>>,
    /// It serves HTTPS (it is asked, and answers, over TLS).
    pub tls: bool,
    /// Its own process group, signalled whole: a user's command, run by `sh -c`, whose
    /// processes (a forking server's children too) all go when it is stopped.
    pub group: bool,
    /// Where its stdout and stderr go (`None`: stdout nowhere, stderr ours once it is up).
    pub log: Option<std::path::PathBuf>,
    /// It is up once it listens on its port (`check`: whatever it then answers is a finding),
    /// not once it answers HTTP (`compare`, which needs answers to measure); and it runs with
    /// the open-file limit the user had, not the one swarmlab raised for itself (`check`
    /// measures leaks against the limit the server meets when its author runs it).
    pub up_when_listening: bool,
}

/// The workers `serve` starts by default on this machine unpinned: its cores as this process
/// first saw them. `compare` pins itself to the generator's core afterwards, and
/// `available_parallelism()` follows that pinning, which gave `pool` and `prefork` one worker.
pub fn model_workers() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

impl ServerCommand {
    /// `swarmlab serve --model M` (this executable), with workers as `serve` would start them
    /// on this machine unpinned: the pinned core set does not shrink a pool of blocking threads.
    /// With `tls`, it serves HTTPS with a certificate made at its start.
    pub fn model(exe: &Path, model: Model, cpus: Option<&[usize]>, tls: bool) -> ServerCommand {
        let workers = model_workers();
        let mut cmd = ServerCommand {
            name: model.name().to_string(),
            argv: [
                exe.to_string_lossy().as_ref(),
                "serve",
                "--model",
                model.name(),
                "--listen-fd",
                "0",
                "--workers",
                &workers.to_string(),
            ]
            .map(String::from)
            .to_vec(),
            listen: Listen::Inherit,
            cpus: cpus.map(<[usize]>::to_vec),
            tls,
            group: false,
            log: None,
            up_when_listening: false,
        };
        if tls {
            cmd.argv.extend(["--tls".to_string(), "self-signed".into()]);
        }
        cmd
    }

    /// The same model with `workers` workers (a user's server runs what it runs).
    pub fn with_workers(mut self, workers: usize) -> ServerCommand {
        if let Some(i) = self.argv.iter().position(|a| a == "--workers") {
            if let Some(v) = self.argv.get_mut(i + 1) {
                *v = workers.to_string();
            }
        }
        self
    }

    /// A user's own server: `command` run by `sh -c` with `{port}` in it replaced (and `PORT`
    /// in its environment), in its own process group, its output into `log`.
    pub fn user(
        name: &str,
        command: &str,
        cpus: Option<&[usize]>,
        log: Option<std::path::PathBuf>,
    ) -> ServerCommand {
        ServerCommand {
            name: name.to_string(),
            argv: vec!["sh".into(), "-c".into(), command.to_string()],
            listen: Listen::Port,
            cpus: cpus.map(<[usize]>::to_vec),
            tls: false,
            group: true,
            log,
            up_when_listening: false,
        }
    }
}

/// A running server.
pub struct ServerProcess {
    child: Child,
    addr: SocketAddr,
    tls: bool,
    group: bool,
    said: Arc<Mutex<Said>>,
    /// Its row's name, for what is said about it.
    name: String,
    /// `SWARMLAB_SERVER_TAG=...`, unique to this start, in the environment of every process
    /// of its tree: how a child that left the process group (`setsid`) is found at the stop.
    tag: String,
}

/// The environment variable that marks a server's processes.
const TAG_VAR: &str = "SWARMLAB_SERVER_TAG";

/// How long processes a server left behind get between SIGTERM and SIGKILL.
const STRAY_GRACE: Duration = Duration::from_secs(1);

impl ServerProcess {
    /// Starts `cmd` and waits until it answers HTTP on its address. An exit, or no answer
    /// within [`START_TIMEOUT`], is an error that says why (its last line on stderr, if any).
    pub fn start(cmd: &ServerCommand) -> anyhow::Result<ServerProcess> {
        // with serve's own backlog: std's 128 would overflow under a 10,000-user ramp
        let listener = swarmlab_server::bind(([127, 0, 0, 1], 0).into(), DEFAULT_BACKLOG)
            .context("cannot bind a loopback port")?;
        let addr = listener.local_addr()?;
        let port = addr.port().to_string();
        let (program, args) = cmd.argv.split_first().context("an empty server command")?;
        static STARTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let tag = format!(
            "{}-{}",
            std::process::id(),
            STARTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let mut command = Command::new(program);
        command
            .env(TAG_VAR, &tag)
            .args(args.iter().map(|a| a.replace("{port}", &port)))
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let log = match &cmd.log {
            Some(path) => {
                // each phase's server after the last's
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("cannot open {}", path.display()))?;
                let shown = cmd
                    .argv
                    .last()
                    .map_or(String::new(), |a| a.replace("{port}", &port));
                writeln!(file, "--- swarmlab: `{shown}` on port {port}")?;
                command.stdout(file.try_clone()?);
                Some(file)
            }
            None => None,
        };
        if cmd.group {
            std::os::unix::process::CommandExt::process_group(&mut command, 0);
        }
        match cmd.listen {
            Listen::Inherit => {
                command.stdin(std::os::fd::OwnedFd::from(listener));
            }
            Listen::Port => {
                drop(listener); // the server binds it itself
                command.stdin(Stdio::null()).env("PORT", &port);
            }
        }
        if let Some(cpus) = &cmd.cpus {
            swarmlab_server::sys::pin_on_exec(&mut command, cpus)?;
        }
        if cmd.up_when_listening {
            swarmlab_server::sys::original_fd_limit_on_exec(&mut command);
        }
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start {program}"))?;
        let said = forward_stderr(&mut child, &cmd.name, log);
        let up_when_listening = cmd.up_when_listening && cmd.listen == Listen::Port;
        let mut server = ServerProcess {
            child,
            addr,
            tls: cmd.tls,
            group: cmd.group,
            said: Arc::clone(&said.0),
            name: cmd.name.clone(),
            tag: format!("{TAG_VAR}={tag}"),
        };
        match server.wait_until_up(up_when_listening) {
            Ok(()) => {
                said.0.lock().unwrap_or_else(|e| e.into_inner()).up = true;
                Ok(server)
            }
            Err(e) => {
                server.kill();
                // what it said before it went (its stderr ends when it does, unless a process
                // it started still holds it: then what came so far)
                let _ = said.1.recv_timeout(Duration::from_secs(1));
                let said = said.0.lock().unwrap_or_else(|e| e.into_inner());
                match said.lines.last() {
                    Some(line) => Err(anyhow!("{}", line.trim_start_matches("swarmlab: error: "))),
                    None => Err(e),
                }
            }
        }
    }

    /// `http://ADDR`, or `https://ADDR`.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Its pid (the root of its process tree).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `None` while it runs; once it has ended, how, with its last line on stderr.
    pub fn ended(&mut self) -> Option<String> {
        let status = self.child.try_wait().ok()??;
        let said = self.said.lock().unwrap_or_else(|e| e.into_inner());
        let how = match (status.code(), status.signal()) {
            (Some(code), _) => format!("exit status {code}"),
            (None, Some(signal)) => format!("killed by signal {signal}"),
            (None, None) => status.to_string(),
        };
        Some(match said.lines.last() {
            Some(last) => format!("{how}; its last words: {}", last.trim()),
            None => how,
        })
    }

    /// The limits it said it met so far (out of descriptors, at its most threads or
    /// processes), in its words, each once.
    pub fn limits(&self) -> Vec<String> {
        self.said
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .limits
            .clone()
    }

    /// Its process tree now: memory, threads, processes, CPU so far.
    pub fn sample(&self) -> TreeSample {
        procfs::sample_tree(self.pid())
    }

    /// SIGTERM, then a bounded wait, then SIGKILL; whether it exited 0 on its own (a user's
    /// server, which need not handle SIGTERM: whether it ended before SIGKILL, of either) and
    /// left no process of its own running. Processes that outlive it (a child that called
    /// `setsid`, or whose parent exited without it) are found by their tag, named on stderr,
    /// and stopped: such a server does not exit clean.
    pub fn stop(mut self) -> bool {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        if self.group {
            let _ = nix::sys::signal::killpg(pid, nix::sys::signal::Signal::SIGTERM);
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        let ended_clean = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    let by_term =
                        status.signal() == Some(SIGTERM) || status.code() == Some(128 + SIGTERM);
                    break status.success() || (self.group && by_term);
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    self.kill();
                    break false;
                }
            }
        };
        let strays = self.stop_strays();
        if !strays.is_empty() {
            eprintln!(
                "swarmlab: {}: {} process(es) it started outlived it outside its process group \
                 (setsid): {}; swarmlab stopped them, and the server does not count as exiting \
                 clean",
                self.name,
                strays.len(),
                strays.join("; ")
            );
        }
        ended_clean && strays.is_empty()
    }

    /// After its first process ended: gives the processes of its tree a grace to end too,
    /// then stops what is left (SIGTERM, a grace, SIGKILL). Returns the ones that had left its
    /// process group (`pid command`): a group's own were signalled with it and may just be
    /// slow; a process outside it was never told to stop.
    fn stop_strays(&self) -> Vec<String> {
        use nix::sys::signal::{kill, Signal};
        let pid = |p: u32| nix::unistd::Pid::from_raw(p as i32);
        let wait_out = |grace: Duration| {
            let deadline = Instant::now() + grace;
            loop {
                let left = procfs::with_env_entry(&self.tag);
                if left.is_empty() || Instant::now() >= deadline {
                    return left;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        };
        let left = wait_out(STRAY_GRACE);
        let root = pid(self.child.id());
        let escaped: Vec<u32> = left
            .iter()
            .copied()
            .filter(|&p| !self.group || nix::unistd::getpgid(Some(pid(p))).is_ok_and(|g| g != root))
            .collect();
        let named = escaped
            .iter()
            .map(|&p| format!("{p} `{}`", procfs::cmdline(p).unwrap_or_default()))
            .collect();
        for &p in &left {
            let _ = kill(pid(p), Signal::SIGTERM);
        }
        for p in wait_out(STRAY_GRACE) {
            let _ = kill(pid(p), Signal::SIGKILL);
        }
        named
    }

    fn kill(&mut self) {
        if self.group {
            let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
            let _ = nix::sys::signal::killpg(pid, nix::sys::signal::Signal::SIGKILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        for p in procfs::with_env_entry(&self.tag) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(p as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }

    /// Waits until it answers HTTP, or (`listening`) until its tree listens on its port. When
    /// it does not within [`START_TIMEOUT`]: why not, as far as can be told: it ended, it
    /// listens on another port, or it is still starting.
    fn wait_until_up(&mut self, listening: bool) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(anyhow!(
                    "the server exited ({status}) before it {}",
                    if listening { "listened" } else { "answered" }
                ));
            }
            let up = if listening {
                procfs::listening_ports(self.child.id()).contains(&self.addr.port())
            } else {
                answers(self.addr, self.tls)
            };
            if up {
                return Ok(());
            }
            // listening, and not where told, for a while: said without waiting out the bound
            let astray = listening
                && Instant::now() + START_TIMEOUT > deadline + ASTRAY_AFTER
                && procfs::listening_ports(self.child.id())
                    .iter()
                    .any(|&p| p != self.addr.port());
            if astray || Instant::now() > deadline {
                let elsewhere: Vec<String> = procfs::listening_ports(self.child.id())
                    .into_iter()
                    .filter(|&p| p != self.addr.port())
                    .map(|p| p.to_string())
                    .collect();
                return Err(match (elsewhere.is_empty(), listening) {
                    (false, _) => anyhow!(
                        "it listens on port {} and not on {}, the port it was given: take the \
                         port from the command line ({{port}} in the command) or from $PORT",
                        elsewhere.join(", "),
                        self.addr.port()
                    ),
                    (true, true) => anyhow!(
                        "it runs, and listens on no TCP port after {} s (still starting, or \
                         it never calls listen())",
                        START_TIMEOUT.as_secs()
                    ),
                    (true, false) => anyhow!("{} does not answer HTTP", self.addr),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // a group's other processes may outlive its first
        if self.group || matches!(self.child.try_wait(), Ok(None)) {
            self.kill();
        }
    }
}

/// How compare's generator speaks TLS: without verifying (the models' certificates are made
/// at their start, self-signed; an external https target is measured, not trusted), each
/// connection's handshake full, as python-requests makes them (it does not resume sessions):
/// `tls-close` measures the handshake a new client pays.
pub fn compare_tls() -> std::sync::Arc<swarmlab_swarm::tls::ClientTls> {
    static TLS: std::sync::OnceLock<std::sync::Arc<swarmlab_swarm::tls::ClientTls>> =
        std::sync::OnceLock::new();
    TLS.get_or_init(|| {
        let opts = swarmlab_swarm::tls::TlsOptions {
            insecure: true,
            no_resumption: true,
            ..Default::default()
        };
        std::sync::Arc::new(
            swarmlab_swarm::tls::ClientTls::new(&opts).expect("insecure TLS needs no file"),
        )
    })
    .clone()
}

/// Whether `addr` answers a `GET /` with an HTTP/1.x status line, over TLS if `tls` (its
/// certificate not verified: compare's own models make theirs at start).
pub fn answers(addr: SocketAddr, tls: bool) -> bool {
    if !tls {
        return answers_http(addr);
    }
    let Ok(tcp) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
    let config = compare_tls().config(false, Some(false));
    let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
    let Ok(conn) = rustls::ClientConnection::new(config, name) else {
        return false;
    };
    let mut s = rustls::StreamOwned::new(conn, tcp);
    let mut first = [0u8; 12];
    s.write_all(b"GET / HTTP/1.1\r\nHost: compare\r\nConnection: close\r\n\r\n")
        .is_ok()
        && s.read_exact(&mut first).is_ok()
        && first.starts_with(b"HTTP/1.")
}

/// Whether `addr` answers a `GET /` with an HTTP/1.x status line. The answer is read to its
/// end, as a polite client does: a server that dies when a client leaves early (a student's,
/// before `check` has said so) is not killed by being asked whether it is up.
pub fn answers_http(addr: SocketAddr) -> bool {
    let Ok(mut w) = crate::wire::Wire::connect(addr) else {
        return false;
    };
    w.send(b"GET / HTTP/1.1\r\nHost: compare\r\nConnection: close\r\n\r\n")
        .is_ok()
        && w.answer(false).is_ok()
}

/// What a server said on stderr: kept until it is up (the reason it did not start, if it did
/// not), then passed on to ours under its name, or, with a log, the last lines kept.
#[derive(Default)]
struct Said {
    up: bool,
    lines: Vec<String>,
    /// The limits it said it met (see [`limit_met`]), each once.
    limits: Vec<String>,
}

/// Most distinct limit lines kept.
const KEPT_LIMITS: usize = 4;

/// Whether a line a server wrote says it met a limit that stops it holding connections: out
/// of descriptors (`EMFILE`, in Rust's, C's or Python's words), or at its most threads or
/// processes (the built-in models say "new connections wait in the backlog").
fn limit_met(line: &str) -> bool {
    [
        "Too many open files",
        "out of file descriptors",
        "new connections wait in the backlog",
    ]
    .iter()
    .any(|m| line.contains(m))
}

/// Lines of stderr a logged server's [`Said`] keeps.
const KEPT_LINES: usize = 20;

/// Reads the child's stderr as it comes, so a full pipe never blocks the server; the
/// receiver hears when it has ended. With `log`, every line goes there too and nothing to
/// ours.
fn forward_stderr(
    child: &mut Child,
    name: &str,
    mut log: Option<std::fs::File>,
) -> (Arc<Mutex<Said>>, mpsc::Receiver<()>) {
    let said = Arc::new(Mutex::new(Said::default()));
    let (ended, on_end) = mpsc::channel();
    if let Some(err) = child.stderr.take() {
        let (said, name) = (Arc::clone(&said), name.to_string());
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let mut s = said.lock().unwrap_or_else(|e| e.into_inner());
                if limit_met(&line) && s.limits.len() < KEPT_LIMITS {
                    let l = line.trim().trim_start_matches("swarmlab: ").to_string();
                    if !s.limits.contains(&l) {
                        s.limits.push(l);
                    }
                }
                if let Some(file) = &mut log {
                    let _ = writeln!(file, "{line}");
                    if s.lines.len() == KEPT_LINES {
                        s.lines.remove(0);
                    }
                    s.lines.push(line);
                } else if s.up {
                    eprintln!(
                        "  [{name} server] {}",
                        line.trim_start_matches("swarmlab: ")
                    );
                } else {
                    s.lines.push(line);
                }
            }
            let _ = ended.send(());
        });
    }
    (said, on_end)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The swarmlab binary beside this test binary (target/debug/deps/..): `cargo test`
    /// builds it for the integration tests. `None` (said) when it is not there.
    fn exe() -> Option<std::path::PathBuf> {
        let mut p = std::env::current_exe().unwrap();
        p.pop();
        p.pop();
        p.push("swarmlab");
        if p.exists() {
            return Some(p);
        }
        assert!(
            std::env::var("SWARMLAB_REQUIRE_PEERS").as_deref() != Ok("1"),
            "{} is not built",
            p.display()
        );
        eprintln!(
            "SKIPPED: {} is not built (cargo test builds it)",
            p.display()
        );
        None
    }

    #[test]
    fn a_model_gets_its_socket_and_stops_cleanly() {
        let Some(exe) = exe() else {
            return;
        };
        let server =
            ServerProcess::start(&ServerCommand::model(&exe, Model::Epoll, None, false)).unwrap();
        assert!(answers_http(server.addr));
        let tree = server.sample();
        assert!(tree.processes >= 1 && tree.rss > 0, "{tree:?}");
        assert!(server.stop(), "exit 0 after SIGTERM");
    }

    #[test]
    fn any_command_can_be_told_its_port() {
        let Some(exe) = exe() else {
            return;
        };
        // a server that binds its own socket, from {port} and from $PORT
        for argv in [
            vec![
                exe.display().to_string(),
                "serve".into(),
                "-m".into(),
                "poll".into(),
                "--bind".into(),
                "127.0.0.1:{port}".into(),
            ],
            vec![
                "sh".into(),
                "-c".into(),
                format!(
                    "exec {} serve -m poll --bind 127.0.0.1:$PORT",
                    exe.display()
                ),
            ],
        ] {
            let cmd = ServerCommand {
                name: "own".into(),
                argv,
                listen: Listen::Port,
                cpus: None,
                tls: false,
                group: false,
                log: None,
                up_when_listening: false,
            };
            let server = ServerProcess::start(&cmd).unwrap();
            assert!(answers_http(server.addr));
            assert!(server.stop());
        }
    }

    #[test]
    fn a_server_that_does_not_come_up_says_why_and_is_gone() {
        let cmd = ServerCommand {
            name: "broken".into(),
            argv: vec![
                "sh".into(),
                "-c".into(),
                "echo 'cannot bind: no' >&2; exit 3".into(),
            ],
            listen: Listen::Port,
            cpus: None,
            tls: false,
            group: true,
            log: None,
            up_when_listening: false,
        };
        let err = ServerProcess::start(&cmd).err().expect("it did not start");
        assert_eq!(err.to_string(), "cannot bind: no");
        let silent = ServerCommand {
            argv: vec!["sh".into(), "-c".into(), "exit 0".into()],
            ..cmd
        };
        let err = ServerProcess::start(&silent).err().unwrap().to_string();
        assert!(
            err.contains("exited") && err.contains("before it answered"),
            "{err}"
        );
    }

    /// Issue 27: a user's server whose child leaves the process group (`setsid`) is not left
    /// running after the stop: the child is found by the server's tag, stopped, and the server
    /// does not count as exiting clean. A well-behaved forking server still does.
    #[test]
    fn a_child_that_left_the_group_is_found_and_stopped() {
        let Some(exe) = exe() else {
            return;
        };
        // a duration no other process has: how the stray is found below without its tag
        let marker = format!("sleep 300.{}", std::process::id());
        let user = |script: String| {
            ServerCommand::user(
                "escaper",
                &script.replace("EXE", &exe.display().to_string()),
                None,
                None,
            )
        };
        let escaper = user(format!(
            "setsid {marker} & exec EXE serve -m poll --bind 127.0.0.1:$PORT"
        ));
        let server = ServerProcess::start(&escaper).unwrap();
        let named = |needle: &str| {
            std::fs::read_dir("/proc")
                .unwrap()
                .flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
                .filter(|&p| procfs::cmdline(p).is_some_and(|c| c.starts_with(needle)))
                .count()
        };
        let t = Instant::now();
        while named(&marker) == 0 {
            assert!(
                t.elapsed() < Duration::from_secs(5),
                "the stray never started"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            !server.stop(),
            "a server that leaves a process running is not clean"
        );
        assert_eq!(named(&marker), 0, "the setsid child outlived the stop");
        // a forking server whose children stay in its group: clean, nothing named
        let forking =
            user("sleep 300 & sleep 300 & exec EXE serve -m poll --bind 127.0.0.1:$PORT".into());
        let server = ServerProcess::start(&forking).unwrap();
        assert!(server.stop(), "children in the group go with it: clean");
    }
}
