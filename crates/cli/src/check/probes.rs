//! The probes, each a few raw requests on its own connections and the findings they show, in
//! the order they run: the polite ones first, then load-like ones, and last the one that may
//! end the server (clients leaving early).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use swarmlab_report::check::{escape, Finding, Kind};
use swarmlab_report::lang::Lang;

use super::Subject;
use crate::wire::{Answer, End, Framing, Wire};

/// Sequential connections of the descriptor-leak probe.
pub const MANY: u32 = 2000;
/// Failures in a row, from the first connection, after which the probe stops.
const MANY_FAILURES: u32 = 5;
/// The most the sequential connections may take.
const MANY_BOUND: Duration = Duration::from_secs(40);
/// Descriptors (or zombies) left behind that make a leak, at least, and at least one per two
/// connections.
const LEAK_FLOOR: u64 = 10;
/// Connections a leak is judged over, at least.
const LEAK_MIN_CONNECTIONS: u32 = 20;
/// Connections after which the tree is sampled once on the way.
const LEAK_EARLY_AT: u32 = 50;
/// Clients of the early-leaving probe (half close, half reset).
const LEAVERS: u32 = 20;
/// How long a probe waits for a server to close after it should.
const CLOSE_WAIT: Duration = Duration::from_secs(2);
/// Bytes of the start of an answer a finding quotes.
const QUOTE: usize = 160;

/// A probe: its name, and what it does.
pub type Probe = (&'static str, fn(&mut Subject) -> Vec<Finding>);

/// Every probe, in order.
pub const ALL: &[Probe] = &[
    ("GET /", get),
    ("Connection: close", connection_close),
    ("HTTP/1.0", http10),
    ("HEAD", head),
    ("unknown path", unknown_path),
    ("pipelining", pipelining),
    ("long request", long_request),
    ("bad request", bad_request),
    ("silent client", silent_client),
    ("idle clients", idle_connections),
    ("2,000 connections", many_connections),
    ("early leavers", early_leavers),
];

/// The name of the probe that may end the server on purpose (it reports that itself).
pub const LEAVERS_PROBE: &str = "early leavers";

fn request(s: &Subject, method: &str, path: &str, extra: &str) -> Vec<u8> {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: swarmlab-check\r\nAccept: */*\r\n{extra}\r\n",
        s.host()
    )
    .into_bytes()
}

/// Connects and sends; `Err` is the finding that says it could not.
fn open(addr: SocketAddr, probe: &str, bytes: &[u8]) -> Result<Wire, Box<Finding>> {
    let no = |e: std::io::Error| {
        Box::new(Finding::new(
            probe,
            Kind::NoAnswer { why: e.to_string() },
            String::new(),
        ))
    };
    let mut w = Wire::connect(addr).map_err(no)?;
    w.send(bytes).map_err(no)?;
    Ok(w)
}

/// What an answer that has no proper head is: the bytes that came (none, a head never ended,
/// something that is not HTTP) and how the connection went on.
pub fn no_head(probe: &str, end: &End, bytes: &[u8]) -> Finding {
    let seen = escape(bytes, QUOTE);
    let waited_ms = crate::wire::answer_wait().as_millis() as u64;
    let first_line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let status_line = first_line.starts_with(b"HTTP/1.")
        && first_line.len() >= 12
        && first_line[8] == b' '
        && first_line[9..12].iter().all(u8::is_ascii_digit);
    let kind = match (bytes.is_empty(), end) {
        (true, End::Eof) => Kind::ClosedEmpty,
        (true, End::Timeout) => Kind::Silent { waited_ms },
        (true, _) => Kind::NoAnswer {
            why: end.describe(),
        },
        (false, _) if !status_line => Kind::Malformed {
            what: format!(
                "it starts `{}` where a status line such as `HTTP/1.1 200 OK` belongs",
                escape(first_line.strip_suffix(b"\r").unwrap_or(first_line), 60)
            ),
        },
        (false, End::NotHttp) => Kind::Malformed {
            what: "a status line, then header lines that are not `Name: value`".into(),
        },
        (false, _) => Kind::HeadUnended {
            bytes: bytes.len() as u64,
            then: match end {
                End::Eof => "closed".into(),
                End::Timeout => format!("nothing more, still open after {} s", waited_ms / 1000),
                End::TooMuch => format!("more fields past {} KiB", crate::wire::HEAD_MAX / 1024),
                other => other.describe(),
            },
        },
    };
    Finding::new(probe, kind, seen)
}

/// An answer's body that did not end where it should have: the finding that says so, or
/// `None` for a whole one.
fn unended(probe: &str, a: &Answer) -> Option<Finding> {
    if a.whole {
        return None;
    }
    let end = a.end.clone().unwrap_or(End::Timeout);
    Some(match (a.framing, &end) {
        (Framing::Close | Framing::Chunked, End::Timeout | End::TooMuch) => Finding::new(
            probe,
            Kind::NeverEnds {
                waited_ms: crate::wire::answer_wait().as_millis() as u64,
                bytes: a.body_len,
                chunked: a.framing == Framing::Chunked,
            },
            escape(&a.head, QUOTE),
        ),
        (Framing::Length(n), _) => Finding::new(
            probe,
            Kind::WrongLength {
                said: n,
                got: a.body_len,
            },
            escape(&a.head, QUOTE),
        ),
        _ => Finding::new(
            probe,
            Kind::NoAnswer {
                why: format!("the body ended early: {}", end.describe()),
            },
            escape(&a.head, QUOTE),
        ),
    })
}

macro_rules! try_open {
    ($addr:expr, $probe:expr, $bytes:expr) => {
        match open($addr, $probe, $bytes) {
            Ok(w) => w,
            Err(f) => return vec![*f],
        }
    };
}

/// `GET /` as python-requests asks it: the status, the header's line ends, the framing, and
/// whether the connection serves a second request.
fn get(s: &mut Subject) -> Vec<Finding> {
    let p = "GET /";
    let req = request(s, "GET", "/", "Connection: keep-alive\r\n");
    let mut w = try_open!(s.addr(), p, &req);
    let a = match w.answer(false) {
        Ok(a) => a,
        Err((end, bytes)) => return vec![no_head(p, &end, &bytes)],
    };
    let seen = escape(&a.head, QUOTE);
    let mut out = vec![Finding::new(
        p,
        Kind::Answers { status: a.status },
        seen.clone(),
    )];
    if a.bare_lf {
        out.push(Finding::new(p, Kind::BareLf, seen.clone()));
    }
    if let Some(f) = unended(p, &a) {
        out.push(f);
        return out;
    }
    match a.framing {
        Framing::Close => out.push(Finding::new(p, Kind::NoLength, seen)),
        Framing::Length(n) => out.push(Finding::new(
            p,
            Kind::Framed {
                how: format!("Content-Length: {n}"),
            },
            seen,
        )),
        Framing::Chunked => out.push(Finding::new(
            p,
            Kind::Framed {
                how: "Transfer-Encoding: chunked".into(),
            },
            seen,
        )),
        Framing::Empty => {}
    }
    if a.framing == Framing::Close || !a.whole {
        return out;
    }
    if a.says_close() {
        out.push(Finding::new(p, Kind::ClosesSaysSo, seen_of(&a.head)));
        return out;
    }
    // the same request again on the same connection, as a keep-alive client does
    let again = w
        .send(&req)
        .map_err(|_| End::Reset)
        .and_then(|()| w.answer(false).map(|_| ()).map_err(|(end, _)| end));
    out.push(match again {
        Ok(()) => Finding::new(p, Kind::KeepsAlive, String::new()),
        Err(End::Eof | End::Reset) => Finding::new(p, Kind::ClosesSilently, seen_of(&a.head)),
        Err(end) => Finding::new(
            p,
            Kind::NoAnswer {
                why: format!(
                    "a second request on the same connection: {}",
                    end.describe()
                ),
            },
            String::new(),
        ),
    });
    out
}

fn seen_of(head: &[u8]) -> String {
    escape(head, QUOTE)
}

/// `Connection: close`: the answer, then the end of the connection (and nothing more).
fn connection_close(s: &mut Subject) -> Vec<Finding> {
    closes_after(
        s,
        "Connection: close",
        request(s, "GET", "/", "Connection: close\r\n"),
    )
}

/// HTTP/1.0 without keep-alive: the same.
fn http10(s: &mut Subject) -> Vec<Finding> {
    let req = format!(
        "GET / HTTP/1.0\r\nHost: {}\r\nUser-Agent: swarmlab-check\r\n\r\n",
        s.host()
    );
    closes_after(s, "HTTP/1.0", req.into_bytes())
}

fn closes_after(s: &mut Subject, p: &'static str, req: Vec<u8>) -> Vec<Finding> {
    let mut w = try_open!(s.addr(), p, &req);
    let a = match w.answer(false) {
        Ok(a) => a,
        Err((end, bytes)) => return vec![no_head(p, &end, &bytes)],
    };
    let http10 = p == "HTTP/1.0";
    let closed = if http10 {
        Kind::Http10Closed
    } else {
        Kind::HonoursClose
    };
    if let Some(f) = unended(p, &a) {
        // a read that stopped waiting is no close
        return vec![f];
    }
    if a.framing == Framing::Close {
        // its end was the close
        return vec![Finding::new(p, closed, String::new())];
    }
    let (end, extra, _) = w.end(CLOSE_WAIT);
    let mut out = Vec::new();
    if let (Framing::Length(n), false) = (a.framing, extra.is_empty()) {
        out.push(Finding::new(
            p,
            Kind::WrongLength {
                said: n,
                got: n + extra.len() as u64,
            },
            escape(&extra, QUOTE),
        ));
    }
    let waited_ms = CLOSE_WAIT.as_millis() as u64;
    out.push(match end {
        End::Timeout if http10 => {
            Finding::new(p, Kind::Http10KeptOpen { waited_ms }, seen_of(&a.head))
        }
        End::Timeout => Finding::new(p, Kind::IgnoresClose { waited_ms }, seen_of(&a.head)),
        _ => Finding::new(p, closed, String::new()),
    });
    out
}

/// `HEAD /`: a header and no body.
fn head(s: &mut Subject) -> Vec<Finding> {
    let p = "HEAD";
    let mut w = try_open!(
        s.addr(),
        p,
        &request(s, "HEAD", "/", "Connection: close\r\n")
    );
    let a = match w.answer(true) {
        Ok(a) => a,
        Err((end, bytes)) => return vec![no_head(p, &end, &bytes)],
    };
    let (_, extra, count) = w.end(Duration::from_secs(1));
    if count == 0 {
        vec![Finding::new(p, Kind::HeadOk, String::new())]
    } else {
        let mut seen = a.head.clone();
        seen.extend_from_slice(&extra);
        vec![Finding::new(
            p,
            Kind::HeadBody { bytes: count },
            escape(&seen, QUOTE + 80),
        )]
    }
}

/// A path no server has.
fn unknown_path(s: &mut Subject) -> Vec<Finding> {
    let p = "unknown path";
    let req = request(
        s,
        "GET",
        "/swarmlab-check/no-such-path",
        "Connection: close\r\n",
    );
    let mut w = try_open!(s.addr(), p, &req);
    match w.answer(false) {
        Ok(a) if (200..300).contains(&a.status) => vec![Finding::new(
            p,
            Kind::UnknownPathOk { status: a.status },
            seen_of(&a.head),
        )],
        Ok(a) => vec![Finding::new(
            p,
            Kind::NotFound { status: a.status },
            String::new(),
        )],
        Err((end, bytes)) => vec![no_head(p, &end, &bytes)],
    }
}

/// Two requests in one write: two answers, in order (or one and a close the server announced).
fn pipelining(s: &mut Subject) -> Vec<Finding> {
    let p = "pipelining";
    let mut both = request(s, "GET", "/", "");
    both.extend(request(s, "GET", "/", "Connection: close\r\n"));
    let mut w = try_open!(s.addr(), p, &both);
    let first = match w.answer(false) {
        Ok(a) => a,
        Err((end, bytes)) => return vec![no_head(p, &end, &bytes)],
    };
    if first.framing == Framing::Close || first.says_close() || !first.whole {
        return vec![Finding::new(p, Kind::PipelineClosed, String::new())];
    }
    match w.answer(false) {
        Ok(_) => vec![Finding::new(p, Kind::Pipelined, String::new())],
        Err((_, bytes)) => vec![Finding::new(
            p,
            Kind::PipelineLost { answers: 1 },
            escape(&bytes, QUOTE),
        )],
    }
}

/// A request over 1,024 bytes two ways: a long header field, and a body. Each must be read
/// whole: a server that reads part and closes resets the connection.
fn long_request(s: &mut Subject) -> Vec<Finding> {
    let p = "long request";
    let header = request(
        s,
        "GET",
        "/",
        &format!("X-Padding: {}\r\nConnection: close\r\n", "a".repeat(3000)),
    );
    let body = "b".repeat(2000);
    let mut post = request(
        s,
        "POST",
        "/",
        &format!(
            "Content-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n",
            body.len()
        ),
    );
    post.extend_from_slice(body.as_bytes());
    let mut worst: Option<Finding> = None;
    for req in [header, post] {
        let bytes = req.len() as u64;
        let f = long_one(s.addr(), p, &req, bytes);
        // the first that is not a pass, else the last pass
        if worst.as_ref().is_none_or(|w| w.severity < f.severity) {
            worst = Some(f);
        }
    }
    worst.into_iter().collect()
}

fn long_one(addr: SocketAddr, p: &str, req: &[u8], bytes: u64) -> Finding {
    let cut = |answered| Finding::new(p, Kind::LongCut { bytes, answered }, String::new());
    let mut w = match Wire::connect(addr) {
        Ok(w) => w,
        Err(e) => return Finding::new(p, Kind::NoAnswer { why: e.to_string() }, String::new()),
    };
    match w.send(req) {
        Ok(()) => {}
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
            ) =>
        {
            return cut(false)
        }
        // not a cut: the connection failed before the request went (a TLS handshake)
        Err(e) => return Finding::new(p, Kind::NoAnswer { why: e.to_string() }, String::new()),
    }
    let a = match w.answer(false) {
        Ok(a) => a,
        Err((End::Reset, _)) => return cut(false),
        Err((end, bytes)) => return no_head(p, &end, &bytes),
    };
    if matches!(a.status, 413 | 431) {
        return Finding::new(p, Kind::LongRefused { status: a.status }, String::new());
    }
    if a.end == Some(End::Reset) {
        // a body that ends at the close, ended by a reset: the client cannot know it is whole
        return cut(false);
    }
    if let Some(f) = unended(p, &a) {
        return f;
    }
    let (end, _, _) = if a.framing == Framing::Close {
        (End::Eof, Vec::new(), 0)
    } else {
        w.end(CLOSE_WAIT)
    };
    if end == End::Reset {
        return cut(a.whole);
    }
    Finding::new(p, Kind::LongOk { bytes }, String::new())
}

/// Bytes that are not HTTP: a 4xx, and the server goes on.
fn bad_request(s: &mut Subject) -> Vec<Finding> {
    let p = "bad request";
    let mut w = try_open!(s.addr(), p, b"HELLO\x01\xff this is not HTTP\r\n\r\n");
    vec![match w.answer(false) {
        Ok(a) if (200..300).contains(&a.status) => Finding::new(
            p,
            Kind::BadRequestAccepted { status: a.status },
            seen_of(&a.head),
        ),
        Ok(a) => Finding::new(
            p,
            Kind::BadRequestRefused { status: a.status },
            String::new(),
        ),
        Err((_, bytes)) if bytes.is_empty() => {
            Finding::new(p, Kind::BadRequestDropped, String::new())
        }
        Err((end, bytes)) => no_head(p, &end, &bytes),
    }]
}

/// One client connects and says nothing; does another get its answer meanwhile?
fn silent_client(s: &mut Subject) -> Vec<Finding> {
    let p = "silent client";
    let silent = match Wire::connect(s.addr()) {
        Ok(w) => w,
        Err(e) => {
            return vec![Finding::new(
                p,
                Kind::NoAnswer { why: e.to_string() },
                String::new(),
            )]
        }
    };
    // the server takes the silent one first
    std::thread::sleep(Duration::from_millis(200));
    let asked = Instant::now();
    let mut other = try_open!(
        s.addr(),
        p,
        &request(s, "GET", "/", "Connection: close\r\n")
    );
    match other.answer(false) {
        Ok(_) => return vec![Finding::new(p, Kind::Concurrent, String::new())],
        // an answer came, broken: the answer's finding (said once), no question of waiting
        Err((end, bytes)) if !bytes.is_empty() || end != End::Timeout => {
            return vec![no_head(p, &end, &bytes)]
        }
        Err(_) => {}
    }
    drop(silent);
    match other.answer(false) {
        Ok(_) => vec![Finding::new(
            p,
            Kind::Serial {
                held_ms: asked.elapsed().as_millis() as u64,
            },
            String::new(),
        )],
        // what every client gets (an earlier probe's finding, said once), unless nothing came
        Err((end, bytes)) if !bytes.is_empty() || end != End::Reset => vec![no_head(p, &end, &bytes)],
        Err((end, bytes)) => vec![Finding::new(
            p,
            Kind::NoAnswer {
                why: format!(
                    "a client asked while another sat silent, and nothing came even after that one left: {}",
                    end.describe()
                ),
            },
            escape(&bytes, QUOTE),
        )],
    }
}

/// Idle connections held by the design probe.
const IDLE: u32 = 200;

/// With the server's process: 200 connections opened and left idle, and the tree's threads,
/// processes and memory counted before and while they are held. A thread or process per
/// connection without a bound is the design's cost, said as a warning with its figures; one
/// client at a time is the silent-client probe's finding.
fn idle_connections(s: &mut Subject) -> Vec<Finding> {
    let p = "idle clients";
    let Some(before) = s.sample().filter(|t| t.processes > 0) else {
        return Vec::new(); // a URL: nothing to count
    };
    let mut held = Vec::new();
    for _ in 0..IDLE {
        match std::net::TcpStream::connect_timeout(&s.addr(), Duration::from_millis(300)) {
            Ok(c) => held.push(c),
            Err(_) => break, // a full backlog: what was taken is enough
        }
    }
    // a thread or process per connection is started as each is accepted
    std::thread::sleep(Duration::from_millis(700));
    let during = s.sample().filter(|t| t.processes > 0);
    let n = held.len() as u32;
    drop(held);
    std::thread::sleep(Duration::from_millis(300));
    let Some(during) = during else {
        return Vec::new(); // it ended: the probe loop says so
    };
    // a process brings its own thread: threads count both kinds of worker once
    let workers = during.threads.saturating_sub(before.threads);
    let processes = during.processes.saturating_sub(before.processes);
    if n >= IDLE / 2 && workers * 10 >= n as u64 * 8 {
        vec![Finding::new(
            p,
            Kind::PerConnection {
                held: n,
                workers,
                processes,
                kib: during.pss.saturating_sub(before.pss) / 1024,
            },
            String::new(),
        )]
    } else {
        vec![Finding::new(
            p,
            Kind::Bounded { held: n, workers },
            String::new(),
        )]
    }
}

/// Connections one after another, each one request; with the server's process, its open
/// descriptors and zombie children before and after.
fn many_connections(s: &mut Subject) -> Vec<Finding> {
    let p = "2,000 connections";
    let before = s.sample();
    let req = request(s, "GET", "/", "Connection: close\r\n");
    let started = Instant::now();
    let (mut tried, mut failed, mut first) = (0u32, 0u32, None::<String>);
    let mut first_finding: Option<Finding> = None;
    // the tree a few dozen connections in: a leak is measured there too, in case the server
    // does not live to the end (a leak of one descriptor a connection ends a server with
    // `ulimit -n 1024` after about a thousand)
    let mut early: Option<(u32, crate::procfs::TreeSample)> = None;
    while tried < MANY && started.elapsed() < MANY_BOUND {
        if tried == LEAK_EARLY_AT {
            std::thread::sleep(Duration::from_millis(100)); // the last ones' sockets go
            early = s.sample().filter(|t| t.processes > 0).map(|t| (tried, t));
        }
        tried += 1;
        let result = match Wire::connect(s.addr()) {
            Ok(mut w) => match w.send(&req) {
                Ok(()) => {
                    let broken = match w.answer(false) {
                        Ok(a) => unended(p, &a),
                        Err((end, bytes)) => Some(no_head(p, &end, &bytes)),
                    };
                    match broken {
                        Some(f) => {
                            let text = f.kind.title(Lang::En);
                            first_finding.get_or_insert(f);
                            Err(text)
                        }
                        None => Ok(()),
                    }
                }
                Err(e) => Err(e.to_string()),
            },
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = result {
            failed += 1;
            first.get_or_insert(format!("connection {tried}: {e}"));
            if failed >= MANY_FAILURES && failed == tried {
                break; // every one fails: more say nothing new
            }
        }
    }
    // let the last ones' processes and sockets go as they would
    std::thread::sleep(Duration::from_millis(300));
    let after = s.sample();
    let mut out = Vec::new();
    if let (true, Some(f)) = (failed == tried, first_finding) {
        // every answer broken the same way an earlier probe saw: that finding, said once
        if !matches!(f.kind, Kind::NoAnswer { .. }) {
            out.push(f);
            return out;
        }
    }
    if let Some(first) = first {
        out.push(Finding::new(
            p,
            Kind::ManyFailed {
                n: tried,
                failed,
                first,
            },
            String::new(),
        ));
    }
    // one descriptor per two connections, over enough of them to tell from noise
    // the end's sample, or the early one if the server did not live to the end
    let after = after.filter(|t| t.processes > 0);
    let (n, after) = match (after, early) {
        (Some(a), _) => (tried, Some(a)),
        (None, Some((n, t))) => (n, Some(t)),
        (None, None) => (tried, None),
    };
    let floor = LEAK_FLOOR.max(n as u64 / 2);
    match (before, after) {
        (Some(b), Some(a)) => {
            if n >= LEAK_MIN_CONNECTIONS && a.fds >= b.fds + floor {
                out.push(Finding::new(
                    p,
                    Kind::FdLeak {
                        n,
                        before: b.fds,
                        after: a.fds,
                        limit: s.open_file_limit(),
                    },
                    String::new(),
                ));
            }
            if a.zombies >= b.zombies + floor {
                out.push(Finding::new(
                    p,
                    Kind::Zombies {
                        n,
                        count: a.zombies,
                    },
                    String::new(),
                ));
            }
            if out.is_empty() {
                out.push(Finding::new(
                    p,
                    Kind::ManyOk {
                        n: tried,
                        fds: Some((b.fds, a.fds)),
                    },
                    String::new(),
                ));
            }
        }
        _ => {
            if out.is_empty() {
                out.push(Finding::new(
                    p,
                    Kind::ManyOk {
                        n: tried,
                        fds: None,
                    },
                    String::new(),
                ));
            }
            out.push(Finding::new(p, Kind::NotCounted, String::new()));
        }
    }
    out
}

/// Clients that send a request and leave before the answer: half close normally, half with a
/// reset. Then someone else asks.
fn early_leavers(s: &mut Subject) -> Vec<Finding> {
    let p = LEAVERS_PROBE;
    let req = request(s, "GET", "/", "");
    for i in 0..LEAVERS {
        if let Ok(mut w) = Wire::connect(s.addr()) {
            let _ = w.send(&req);
            if i % 2 == 1 {
                let _ = rustix::net::sockopt::set_socket_linger(w.stream(), Some(Duration::ZERO));
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    // still serving as before: its answers were judged by the probes before (a server whose
    // every answer is broken has not died of this)
    if s.running() && s.accepting() {
        vec![Finding::new(
            p,
            Kind::Survives { left: LEAVERS },
            String::new(),
        )]
    } else {
        vec![Finding::new(
            p,
            Kind::Dies {
                left: LEAVERS,
                said: s.ended(),
            },
            String::new(),
        )]
    }
}
