//! The same suite against every concurrency model, over raw sockets: every test starts its own
//! `swarmlab serve --model M`, talks raw HTTP/1.1 bytes to it, and ends by checking that the
//! server is still up and exits 0 on SIGTERM.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::{assert_closed, read_response, read_response_to, Server};

/// `suite! { name(server) { body } ... }` makes module `name` with one test per model.
macro_rules! suite {
    ($( $name:ident ( $srv:ident $(, $($arg:literal),* )? ) $body:block )*) => {
        $(
            mod $name {
                use super::*;
                fn case($srv: &Server) $body
                #[test] fn single() { run("single", &[$($($arg),*)?], case) }
                #[test] fn fork() { run("fork", &[$($($arg),*)?], case) }
                #[test] fn prefork() { run("prefork", &[$($($arg),*)?], case) }
                #[test] fn thread() { run("thread", &[$($($arg),*)?], case) }
                #[test] fn pool() { run("pool", &[$($($arg),*)?], case) }
                #[test] fn select() { run("select", &[$($($arg),*)?], case) }
                #[test] fn poll() { run("poll", &[$($($arg),*)?], case) }
                #[test] fn epoll() { run("epoll", &[$($($arg),*)?], case) }
                #[test] fn uring() { run("uring", &[$($($arg),*)?], case) }
                #[test] fn tokio() { run("tokio", &[$($($arg),*)?], case) }
            }
        )*
    };
}

/// Starts the model, runs the case, then checks the server survived it and stops cleanly.
fn run(model: &'static str, extra: &[&str], case: fn(&Server)) {
    let Some(mut srv) = Server::try_start(model, extra) else {
        return;
    };
    case(&srv);
    assert!(srv.alive(), "{model} died");
    let after = srv.request(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(after.status, 200, "{model} stopped serving");
    let status = srv.stop();
    assert!(
        status.success(),
        "{model} exited with {status} after SIGTERM"
    );
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n";

fn no_bare_lf(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .enumerate()
        .all(|(i, &b)| b != b'\n' || (i > 0 && bytes[i - 1] == b'\r'))
}

suite! {
    hello(srv) {
        let r = srv.request(GET);
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"Hello, World!");
        assert_eq!(r.header("content-length"), Some("13"));
        assert_eq!(r.header("server"), Some("swarmlab"));
        assert!(r.header("date").is_some_and(|d| d.ends_with(" GMT")));
        assert!(no_bare_lf(&r.raw_head), "{:?}", String::from_utf8_lossy(&r.raw_head));
    }

    keep_alive(srv) {
        let mut s = srv.connect();
        for _ in 0..5 {
            s.write_all(GET).unwrap();
            let r = read_response(&mut s).unwrap();
            assert_eq!((r.status, r.header("connection")), (200, None));
        }
    }

    pipelined(srv) {
        let mut s = srv.connect();
        s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\nGET /nope HTTP/1.1\r\nHost: t\r\n\r\nGET /echo?third HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
        let a = read_response(&mut s).unwrap();
        let b = read_response(&mut s).unwrap();
        let c = read_response(&mut s).unwrap();
        assert_eq!((a.status, b.status, c.status), (200, 404, 200));
        assert!(c.body.starts_with(b"GET /echo?third HTTP/1.1\r\n"));
    }

    pipelined_while_sleeping(srv) {
        // The second request arrives while the first is still waiting out its `/sleep`: it is
        // kept, answered after the first, in order, and the connection goes on.
        let mut s = srv.connect();
        s.write_all(b"GET /sleep?ms=300 HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
        std::thread::sleep(Duration::from_millis(100));
        s.write_all(b"GET /echo?second HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
        let a = read_response(&mut s).unwrap();
        let b = read_response(&mut s).unwrap();
        assert_eq!((a.status, b.status), (200, 200));
        assert!(b.body.starts_with(b"GET /echo?second HTTP/1.1\r\n"));
        s.write_all(GET).unwrap();
        assert_eq!(read_response(&mut s).unwrap().body, b"Hello, World!");
    }

    http10_closes(srv) {
        let mut s = srv.connect();
        s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        let r = read_response(&mut s).unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"Hello, World!"[..]));
        assert_closed(&mut s);
    }

    http10_keep_alive(srv) {
        let mut s = srv.connect();
        for _ in 0..2 {
            s.write_all(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").unwrap();
            let r = read_response(&mut s).unwrap();
            assert_eq!((r.status, r.header("connection")), (200, Some("keep-alive")));
        }
    }

    connection_close(srv) {
        let mut s = srv.connect();
        s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").unwrap();
        let r = read_response(&mut s).unwrap();
        assert_eq!((r.status, r.header("connection")), (200, Some("close")));
        assert_closed(&mut s);
    }

    head(srv) {
        let mut s = srv.connect();
        s.write_all(b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
        let r = read_response_to(&mut s, true).unwrap();
        assert_eq!((r.status, r.header("content-length")), (200, Some("13")));
        // no body bytes may follow: the next response must start right here
        s.write_all(GET).unwrap();
        assert_eq!(read_response(&mut s).unwrap().body, b"Hello, World!");
    }

    post_echo_content_length(srv) {
        let r = srv.request(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world");
        assert_eq!(r.status, 200);
        assert!(r.body.starts_with(b"POST /echo HTTP/1.1\r\nHost: t\r\n"));
        assert!(r.body.ends_with(b"\r\n\r\nhello world"));
    }

    post_echo_chunked(srv) {
        let r = srv.request(b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n");
        assert_eq!(r.status, 200);
        assert!(r.body.ends_with(b"\r\n\r\nhello world"), "{:?}", String::from_utf8_lossy(&r.body));
    }

    split_across_many_writes(srv) {
        let mut s = srv.connect();
        s.set_nodelay(true).unwrap();
        for piece in b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nabcd".chunks(3) {
            s.write_all(piece).unwrap();
            std::thread::sleep(Duration::from_millis(2));
        }
        let r = read_response(&mut s).unwrap();
        assert_eq!(r.status, 200);
        assert!(r.body.ends_with(b"\r\n\r\nabcd"));
    }

    sleep(srv) {
        let t = Instant::now();
        let r = srv.request(b"GET /sleep?ms=200 HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_eq!(r.status, 200);
        assert!(t.elapsed() >= Duration::from_millis(200), "{:?}", t.elapsed());
    }

    cpu(srv) {
        let r = srv.request(b"GET /cpu?us=20000 HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_eq!((r.status, r.body.as_slice()), (200, &b"burned 20000 us of cpu\n"[..]));
    }

    bytes(srv) {
        let r = srv.request(b"GET /bytes?n=5000000 HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_eq!((r.status, r.body.len()), (200, 5_000_000));
        assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    }

    not_found_and_bad_query(srv) {
        assert_eq!(srv.request(b"GET /nope HTTP/1.1\r\nHost: t\r\n\r\n").status, 404);
        assert_eq!(srv.request(b"GET /sleep?ms=99999999 HTTP/1.1\r\nHost: t\r\n\r\n").status, 400);
        assert_eq!(srv.request(b"DELETE / HTTP/1.1\r\nHost: t\r\n\r\n").status, 405);
    }

    bad_input(srv) {
        let long_target = format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(9000));
        let long_head = format!("GET / HTTP/1.1\r\nHost: t\r\nX: {}\r\n\r\n", "b".repeat(17000));
        let many = format!("GET / HTTP/1.1\r\nHost: t\r\n{}\r\n", "X: y\r\n".repeat(101));
        let cases: Vec<(&[u8], u16)> = vec![
            (b"GET / HTTP/1.1\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost : t\r\n\r\n", 400),
            (b"\x00\x01\x02 nonsense\r\n\r\n", 400),
            (b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
            (b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400),
            (b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: five\r\n\r\n", 400),
            (b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
            (b"BREW / HTTP/1.1\r\nHost: t\r\n\r\n", 501),
            (b"GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505),
            (long_target.as_bytes(), 414),
            (long_head.as_bytes(), 431),
            (many.as_bytes(), 431),
            (b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 20000000\r\n\r\n", 413),
        ];
        for (raw, status) in cases {
            let mut s = srv.connect();
            s.write_all(raw).unwrap();
            let r = read_response(&mut s).unwrap_or_else(|| panic!("no answer to {:?}", String::from_utf8_lossy(&raw[..raw.len().min(60)])));
            assert_eq!(r.status, status, "{:?}", String::from_utf8_lossy(&raw[..raw.len().min(60)]));
            assert_eq!(r.header("connection"), Some("close"));
            assert_closed(&mut s);
            assert_eq!(srv.request(GET).status, 200, "still serving after {status}");
        }
    }

    resets_mid_response(srv) {
        let threads: Vec<_> = (0..4).map(|_| {
            let addr = srv.addr;
            std::thread::spawn(move || {
                for _ in 0..50 {
                    let mut s = TcpStream::connect(addr).unwrap();
                    s.write_all(b"GET /bytes?n=2000000 HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
                    let mut first = [0u8; 100];
                    let _ = s.read(&mut first);
                    socket_reset(s);
                }
            })
        }).collect();
        for t in threads {
            t.join().unwrap();
        }
    }

    concurrent_clients(srv) {
        const N: usize = 200;
        let barrier = Arc::new(Barrier::new(N));
        let threads: Vec<_> = (0..N).map(|_| {
            let (addr, barrier) = (srv.addr, Arc::clone(&barrier));
            std::thread::Builder::new().stack_size(64 * 1024).spawn(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                s.set_read_timeout(Some(common::IO_TIMEOUT)).unwrap();
                barrier.wait();
                s.write_all(GET).unwrap();
                read_response(&mut s).map(|r| r.status)
            }).unwrap()
        }).collect();
        let answered = threads.into_iter().filter(|_| true).map(|t| t.join().unwrap()).filter(|s| *s == Some(200)).count();
        assert_eq!(answered, N);
    }

    header_deadline(srv, "--header-timeout", "0.5") {
        let mut s = srv.connect();
        s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n").unwrap();
        let t = Instant::now();
        let r = read_response(&mut s).unwrap();
        assert_eq!(r.status, 408);
        assert!(t.elapsed() >= Duration::from_millis(400), "{:?}", t.elapsed());
        assert_closed(&mut s);
    }

    idle_timeout(srv, "--idle-timeout", "0.5") {
        let mut s = srv.connect();
        s.write_all(GET).unwrap();
        assert_eq!(read_response(&mut s).unwrap().status, 200);
        let t = Instant::now();
        assert_closed(&mut s);
        assert!(t.elapsed() >= Duration::from_millis(400), "{:?}", t.elapsed());
    }
}

/// Closes with SO_LINGER 0: the server sees a reset while it is still writing.
fn socket_reset(s: TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt on an open socket we own, with a correctly sized linger struct.
    unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
    drop(s);
}

/// SIGTERM while a request is in flight: the response still arrives, then the server exits 0.
fn in_flight_drain(model: &'static str) {
    let Some(srv) = Server::try_start(model, &[]) else {
        return;
    };
    let mut s = srv.connect();
    s.write_all(b"GET /sleep?ms=500 HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let stopper = std::thread::spawn(move || srv.stop());
    let r = read_response(&mut s).expect("the in-flight response");
    assert_eq!((r.status, r.header("connection")), (200, Some("close")));
    assert_closed(&mut s);
    assert!(stopper.join().unwrap().success());
}

mod drain {
    #[test]
    fn single() {
        super::in_flight_drain("single")
    }
    #[test]
    fn fork() {
        super::in_flight_drain("fork")
    }
    #[test]
    fn thread() {
        super::in_flight_drain("thread")
    }
    #[test]
    fn select() {
        super::in_flight_drain("select")
    }
    #[test]
    fn prefork() {
        super::in_flight_drain("prefork")
    }
    #[test]
    fn pool() {
        super::in_flight_drain("pool")
    }
    #[test]
    fn poll() {
        super::in_flight_drain("poll")
    }
    #[test]
    fn epoll() {
        super::in_flight_drain("epoll")
    }
    #[test]
    fn tokio() {
        super::in_flight_drain("tokio")
    }
    #[test]
    fn uring() {
        super::in_flight_drain("uring")
    }
}

/// The fork model's parent reaps every child: no zombies, ever.
#[test]
fn fork_leaves_no_zombies() {
    let srv = Server::start("fork", &[]);
    for _ in 0..30 {
        assert_eq!(
            srv.request(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                .status,
            200
        );
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let zombies = children_in_state(srv.pid(), 'Z');
        if zombies == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{zombies} zombie children remain"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(srv.stop().success());
}

fn children_in_state(parent: i32, state: char) -> usize {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("stat")).ok())
        .filter(|stat| {
            // pid (comm) state ppid ...
            let after = &stat[stat.rfind(')').map_or(0, |i| i + 2)..];
            let mut fields = after.split(' ');
            let st = fields.next().and_then(|s| s.chars().next());
            let ppid = fields.next().and_then(|p| p.parse::<i32>().ok());
            st == Some(state) && ppid == Some(parent)
        })
        .count()
}

/// `select` past `FD_SETSIZE`: with 1,100 clients connected the server's fds pass 1023, where
/// glibc's `fd_set` would be overrun (undefined behaviour) and libc/nix would panic. The last
/// client to connect must still be served.
#[test]
fn select_serves_fds_past_fd_setsize() {
    raise_own_fd_limit(4096);
    let srv = Server::start("select", &[]);
    let mut idle: Vec<TcpStream> = (0..1100).map(|_| srv.connect()).collect();
    let mut last = srv.connect();
    last.write_all(GET).unwrap();
    assert_eq!(read_response(&mut last).unwrap().status, 200);
    // and the first ones are still served too
    idle[0].write_all(GET).unwrap();
    assert_eq!(read_response(&mut idle[0]).unwrap().status, 200);
    drop(idle);
    assert!(srv.stop().success());
}

fn raise_own_fd_limit(want: libc::rlim_t) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local rlimit.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        if lim.rlim_cur < want {
            lim.rlim_cur = want.min(lim.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// Event loops never block the loop: 200 concurrent `/sleep?ms=300` all complete within 1.5 s
/// (on `single` the same takes a minute: that is the lesson).
fn sleeps_do_not_block(model: &'static str) {
    let Some(srv) = Server::try_start(model, &[]) else {
        return;
    };
    const N: usize = 200;
    let barrier = Arc::new(Barrier::new(N + 1));
    let threads: Vec<_> = (0..N)
        .map(|_| {
            let (addr, barrier) = (srv.addr, Arc::clone(&barrier));
            std::thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn(move || {
                    let mut s = TcpStream::connect(addr).unwrap();
                    s.set_read_timeout(Some(common::IO_TIMEOUT)).unwrap();
                    barrier.wait();
                    s.write_all(b"GET /sleep?ms=300 HTTP/1.1\r\nHost: t\r\n\r\n")
                        .unwrap();
                    read_response(&mut s).map(|r| r.status)
                })
                .unwrap()
        })
        .collect();
    barrier.wait();
    let t = Instant::now();
    let ok = threads
        .into_iter()
        .filter(|_| true)
        .map(|t| t.join().unwrap())
        .filter(|s| *s == Some(200))
        .count();
    let took = t.elapsed();
    assert_eq!(ok, N);
    assert!(
        took < Duration::from_millis(1500),
        "{model}: 200 sleeps of 300 ms took {took:?}"
    );
    assert!(srv.stop().success());
}

mod event_loops_never_block {
    #[test]
    fn select() {
        super::sleeps_do_not_block("select")
    }
    #[test]
    fn poll() {
        super::sleeps_do_not_block("poll")
    }
    #[test]
    fn epoll() {
        super::sleeps_do_not_block("epoll")
    }
    #[test]
    fn tokio() {
        super::sleeps_do_not_block("tokio")
    }
    #[test]
    fn uring() {
        super::sleeps_do_not_block("uring")
    }
}
