//! `swarmlab check`: probes one server with raw HTTP/1.1 (and HTTP/1.0) and says what is
//! wrong, why a real client cares and how to fix it ([`swarmlab_report::check`] has the words).
//! A server given as a command (`--server CMD`) is started the way `compare` starts one, so its
//! process can be looked at too (open descriptors, zombie children, how it ended), and started
//! again if a probe ends it; a URL is probed where it runs.

mod probes;

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use swarmlab_report::check::{render_text, Check, Finding, Kind, Severity};

use crate::args::CheckArgs;
use crate::procfs::TreeSample;
use crate::server_process::{ServerCommand, ServerProcess};
use crate::Failure;

/// The server under the probes.
pub struct Subject {
    addr: SocketAddr,
    /// With `--server`: how to start it again, and the running process.
    process: Option<(ServerCommand, ServerProcess)>,
}

impl Subject {
    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The Host field for it.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// Its process tree now (`None` for a URL).
    pub fn sample(&self) -> Option<TreeSample> {
        self.process.as_ref().map(|(_, p)| p.sample())
    }

    /// Its process has not ended (always, for a URL).
    pub fn running(&mut self) -> bool {
        self.process
            .as_mut()
            .is_none_or(|(_, p)| p.ended().is_none())
    }

    /// How its process ended, waiting a second for it (`None` for a URL or if it runs).
    pub fn ended(&mut self) -> Option<String> {
        let (_, p) = self.process.as_mut()?;
        let deadline = Instant::now() + Duration::from_secs(1);
        loop {
            if let Some(how) = p.ended() {
                return Some(how);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// How it is after a probe: serving (its port takes connections), ended (its process is
    /// gone, with how), or running and taking no connections. A process is given a moment to
    /// end (a traceback takes one to print); whether it accepts is read from its sockets (a
    /// LISTEN socket on its port), never by connecting. A URL is asked politely.
    fn state(&mut self) -> State {
        let Some((_, p)) = self.process.as_ref() else {
            return if accepts(self.addr) {
                State::Serving
            } else {
                State::NotAccepting
            };
        };
        std::thread::sleep(Duration::from_millis(150));
        let root = p.pid();
        if !self.running() {
            let said = self
                .ended()
                .unwrap_or_else(|| "it takes no more connections".into());
            return State::Ended(said);
        }
        if crate::procfs::listening_ports(root).contains(&self.addr.port()) {
            State::Serving
        } else {
            State::NotAccepting
        }
    }

    /// Its port takes connections: its process listens there (read from its sockets), or, for
    /// a URL, a polite request is taken.
    pub fn accepting(&self) -> bool {
        match &self.process {
            Some((_, p)) => crate::procfs::listening_ports(p.pid()).contains(&self.addr.port()),
            None => accepts(self.addr),
        }
    }

    /// Its tree's CPU over a quarter second now, percent of one core (`None` for a URL).
    pub fn idle_cpu_percent(&self) -> Option<u64> {
        let (_, p) = self.process.as_ref()?;
        let window = Duration::from_millis(250);
        let a = p.sample();
        std::thread::sleep(window);
        let b = p.sample();
        if a.processes == 0 || b.processes == 0 {
            return None;
        }
        Some(b.cpu_ns.saturating_sub(a.cpu_ns) * 100 / window.as_nanos() as u64)
    }

    /// Its process's open-file limit (`Max open files` in /proc/PID/limits), if started here.
    pub fn open_file_limit(&self) -> Option<u64> {
        let (_, p) = self.process.as_ref()?;
        let limits = std::fs::read_to_string(format!("/proc/{}/limits", p.pid())).ok()?;
        limits
            .lines()
            .find(|l| l.starts_with("Max open files"))?
            .split_whitespace()
            .nth(3)?
            .parse()
            .ok()
    }

    /// Starts it again (a command only).
    fn restart(&mut self) -> anyhow::Result<()> {
        let (cmd, old) = self
            .process
            .take()
            .ok_or_else(|| anyhow!("not started here"))?;
        drop(old);
        let fresh = ServerProcess::start(&cmd)?;
        self.addr = fresh.addr();
        self.process = Some((cmd, fresh));
        Ok(())
    }
}

/// CPU while no client is left, percent of a core, from which a server spins.
const SPIN_PERCENT: u64 = 50;

/// A server as a probe left it.
enum State {
    Serving,
    Ended(String),
    NotAccepting,
}

/// Whether something accepts connections at `addr`: a connection taken, then a polite request
/// (never a bare connect and close, which is a client leaving early, and which some servers do
/// not survive), whatever it answers, read for a moment.
pub fn accepts(addr: SocketAddr) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = s.write_all(
        format!("GET / HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: swarmlab-check\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    );
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(1);
    while Instant::now() < deadline && matches!(s.read(&mut buf), Ok(n) if n > 0) {}
    true
}

/// The answer-failure kinds a probe's clients see when the server ended or stopped accepting
/// under them: the ending is the finding, said once.
fn consequence(k: &Kind) -> bool {
    matches!(
        k,
        Kind::NoAnswer { .. } | Kind::ClosedEmpty | Kind::Silent { .. }
    )
}

/// One cause, one finding: the same broken answer (or the same end) in later probes is said
/// once, at the first, which names the others.
fn merge_repeats(findings: Vec<Finding>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    for f in findings {
        let repeatable = matches!(
            f.kind,
            Kind::NoAnswer { .. }
                | Kind::WrongLength { .. }
                | Kind::Malformed { .. }
                | Kind::HeadUnended { .. }
                | Kind::ClosedEmpty
                | Kind::Silent { .. }
                | Kind::NeverEnds { .. }
                | Kind::Crashed { .. }
                | Kind::StoppedAccepting
        );
        let same = |g: &Finding| {
            std::mem::discriminant(&g.kind) == std::mem::discriminant(&f.kind)
                && match (&g.kind, &f.kind) {
                    (Kind::Crashed { said: a }, Kind::Crashed { said: b }) => a == b,
                    (Kind::NoAnswer { why: a }, Kind::NoAnswer { why: b }) => a == b,
                    _ => true,
                }
        };
        match out.iter_mut().find(|g| repeatable && same(g)) {
            Some(first) if first.probe != f.probe && !first.also.contains(&f.probe) => {
                first.also.push(f.probe)
            }
            Some(_) => {}
            None => out.push(f),
        }
    }
    out
}

/// Runs every probe on `subject`, in order: a server that a probe ends is named and, when
/// started here, started again for the next; a URL that stops answering ends the check.
pub fn probe(subject: &mut Subject, server: &str) -> Check {
    let mut findings: Vec<Finding> = Vec::new();
    let mut down_since: Option<&str> = None;
    let mut spun = false;
    crate::wire::set_answer_wait(crate::wire::ANSWER_WAIT);
    for (i, &(name, run)) in probes::ALL.iter().enumerate() {
        let last = i + 1 == probes::ALL.len();
        if let Some(since) = down_since {
            findings.push(Finding::new(
                name,
                Kind::Down {
                    since: since.into(),
                },
                String::new(),
            ));
            continue;
        }
        let found = run(subject);
        if found
            .iter()
            .any(|f| matches!(f.kind, Kind::Silent { .. } | Kind::NeverEnds { .. }))
        {
            // named at the full wait: its repeats in the probes after are said, not waited for
            crate::wire::set_answer_wait(crate::wire::REPEAT_WAIT);
        }
        let said = match subject.state() {
            State::Serving => {
                findings.extend(found);
                // with its clients gone, a server should be idle: a loop spinning on a closed
                // socket shows as CPU here, named at the probe that left it so (once)
                if !spun {
                    // twice, half a second apart: a server finishing the probe's work is no spin
                    let busy = |s: &Subject| s.idle_cpu_percent().filter(|&p| p >= SPIN_PERCENT);
                    let twice = busy(subject).and_then(|a| {
                        std::thread::sleep(Duration::from_millis(500));
                        busy(subject).map(|b| a.min(b))
                    });
                    if let Some(pct) = twice {
                        {
                            spun = true;
                            findings.push(Finding::new(
                                name,
                                Kind::Spins { cpu_percent: pct },
                                String::new(),
                            ));
                        }
                    }
                }
                continue;
            }
            State::Ended(said) => Kind::Crashed { said },
            State::NotAccepting => Kind::StoppedAccepting,
        };
        if name == probes::LEAVERS_PROBE {
            findings.extend(found); // it says so itself
        } else {
            // what the probe's clients saw of it is the ending, said once
            findings.extend(found.into_iter().filter(|f| !consequence(&f.kind)));
            findings.push(Finding::new(name, said, String::new()));
        }
        if !last && subject.restart().is_err() {
            down_since = Some(name);
        }
    }
    crate::wire::set_answer_wait(crate::wire::ANSWER_WAIT);
    Check {
        server: server.to_string(),
        findings: merge_repeats(findings),
    }
}

/// Starts `cmd`, probes it, stops it.
pub fn check_command(cmd: &ServerCommand) -> anyhow::Result<Check> {
    let process = ServerProcess::start(cmd)?;
    let mut subject = Subject {
        addr: process.addr(),
        process: Some((cmd.clone(), process)),
    };
    let check = probe(&mut subject, &cmd.name);
    if let Some((_, p)) = subject.process.take() {
        p.stop();
    }
    Ok(check)
}

/// Runs `check`; returns the exit code: 0 when nothing is an error, 1 otherwise.
pub fn run(a: &CheckArgs) -> Result<u8, Failure> {
    if a.log.is_some() && a.server.is_none() {
        return Err(Failure::usage(anyhow!(
            "--log is for a server started with --server (a URL's output is its own)"
        )));
    }
    swarmlab_server::sys::raise_fd_limit();
    let check = match (&a.url, &a.server) {
        (Some(url), None) => {
            let (addr, tls_name) = resolve(url).map_err(Failure::usage)?;
            if let Some(name) = &tls_name {
                // the generator's TLS client: verified against the system's roots, or not (-k)
                let opts = swarmlab_swarm::tls::TlsOptions {
                    insecure: a.insecure,
                    no_resumption: true,
                    ..Default::default()
                };
                let client = swarmlab_swarm::tls::ClientTls::new(&opts)
                    .map_err(|e| Failure::usage(anyhow!("{e}")))?;
                crate::wire::use_tls(client.config(false, None), name);
            }
            let mut subject = Subject {
                addr,
                process: None,
            };
            if !accepts(addr) {
                let why = format!("nothing accepts connections at {addr}");
                say_not_up(a.json, url, &why);
                return Err(anyhow!("{url}: {why}").into());
            }
            probe(&mut subject, url)
        }
        (None, Some(command)) => {
            // its output kept (the last lines name a crash), in --log or nowhere
            let log = a.log.clone().unwrap_or_else(|| "/dev/null".into());
            if a.log.is_some() {
                std::fs::File::create(&log)
                    .with_context(|| format!("cannot create {}", log.display()))?;
            }
            let mut cmd = ServerCommand::user(command, command, None, Some(log));
            // up once it listens: whatever it then answers is what the probes are for
            cmd.up_when_listening = true;
            match check_command(&cmd) {
                Ok(check) => check,
                Err(e) => {
                    let why = format!("the server did not come up: {e:#}");
                    say_not_up(a.json, command, &why);
                    return Err(anyhow!("{why}").into());
                }
            }
        }
        _ => unreachable!("clap requires exactly one of URL and --server"),
    };
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&check).expect("findings serialize")
        );
    } else {
        print!("{}", render_text(&check, a.lang));
    }
    Ok(u8::from(check.worst() == Severity::Error))
}

/// With `--json`, a server that never came up is a JSON document too (on stdout, as findings
/// are; the error line still goes to stderr).
fn say_not_up(json: bool, server: &str, why: &str) {
    if json {
        let doc =
            serde_json::json!({ "server": server, "up": false, "error": why, "findings": [] });
        println!(
            "{}",
            serde_json::to_string_pretty(&doc).expect("a JSON value")
        );
    }
}

/// `http[s]://HOST:PORT[/...]` to an address, and whether it is HTTPS.
fn resolve(url: &str) -> anyhow::Result<(SocketAddr, Option<String>)> {
    let (rest, tls, port) = if let Some(r) = url.strip_prefix("http://") {
        (r, false, 80)
    } else if let Some(r) = url.strip_prefix("https://") {
        (r, true, 443)
    } else {
        anyhow::bail!("'{url}': give an http:// or https:// URL");
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let has_port = authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok());
    let with_port = if has_port {
        authority.to_string()
    } else {
        format!("{authority}:{port}")
    };
    let host = with_port
        .rsplit_once(':')
        .map_or(authority, |(h, _)| h)
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let addr = with_port
        .to_socket_addrs()
        .with_context(|| format!("'{url}': cannot resolve {authority}"))?
        .next()
        .ok_or_else(|| anyhow!("'{url}': {authority} has no address"))?;
    Ok((addr, tls.then_some(host)))
}
