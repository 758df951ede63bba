//! The same suite against every concurrency model, over raw sockets: every test starts its own
//! `swarmlab serve --model M`, talks raw HTTP/1.1 bytes to it, and ends by checking that the
//! server is still up and exits 0 on SIGTERM.

#[macro_use]
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
            // gone before the next request: `single` would otherwise linger on it (up to its
            // 2 s bound) before it takes the next client, 28 s over these cases
            drop(s);
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
        // from before the first byte: the server's deadline cannot start earlier
        let t = Instant::now();
        s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n").unwrap();
        let r = read_response(&mut s).unwrap();
        assert_eq!(r.status, 408);
        assert!(t.elapsed() >= Duration::from_millis(400), "{:?}", t.elapsed());
        assert_closed(&mut s);
    }

    // Issue 10: a closing connection's last response arrives whole, however large and however
    // slowly the client reads it.
    big_response_with_connection_close(srv) {
        let mut s = srv.connect();
        s.write_all(b"GET /bytes?n=8000000 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").unwrap();
        assert_whole_then_eof(&mut s, 8_000_000, Duration::ZERO);
    }

    big_response_to_http10(srv) {
        let mut s = srv.connect();
        s.write_all(b"GET /bytes?n=8000000 HTTP/1.0\r\n\r\n").unwrap();
        assert_whole_then_eof(&mut s, 8_000_000, Duration::ZERO);
    }

    big_response_to_a_slow_reader(srv) {
        // 32 KiB every 10 ms: the server's socket buffer fills and stays full for seconds
        let mut s = srv.connect();
        s.write_all(b"GET /bytes?n=8000000 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").unwrap();
        assert_whole_then_eof(&mut s, 8_000_000, Duration::from_millis(10));
    }

    pipelined_behind_connection_close(srv) {
        // The second request is in flight while the first response is still being written:
        // it is not answered, and it must not turn the close into a reset that destroys the
        // first response.
        let mut s = srv.connect();
        s.write_all(b"GET /bytes?n=2000000 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\nGET /echo?first HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
        std::thread::sleep(Duration::from_millis(50));
        s.write_all(b"GET /echo?second HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
        std::thread::sleep(Duration::from_millis(200));
        assert_whole_then_eof(&mut s, 2_000_000, Duration::ZERO);
    }

    // A client that pipelines requests for large responses and never reads: the server stops
    // reading it (backpressure) instead of buffering its requests or their responses.
    sender_that_never_reads(srv) {
        let mut s = srv.connect();
        s.set_write_timeout(Some(Duration::from_millis(200))).unwrap();
        let req = b"GET /bytes?n=100000 HTTP/1.1\r\nHost: t\r\n\r\n".repeat(100);
        let t = Instant::now();
        let mut sent = 0usize;
        while t.elapsed() < Duration::from_secs(2) {
            match s.write(&req) {
                Ok(n) => sent += n,
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        let rss = tree_rss_kib(srv.pid());
        assert!(rss < 128 * 1024, "{}: {rss} KiB resident after {sent} bytes of unread requests", srv.model);
        assert!(sent < 64 * 1024 * 1024, "{}: took {sent} bytes without reading", srv.model);
    }

    // Issue 18: 20 clients ask for 64 MiB each and read almost nothing (a 4 KiB receive
    // buffer). The server holds a bounded window of each response, never the response: its
    // whole process tree stays under 128 MiB, and a design that serves many at once still
    // answers another client meanwhile (single, prefork and pool serve one (or N) at a time:
    // for them, staying up is the point).
    slow_readers_of_large_responses(srv) {
        let readers: Vec<TcpStream> = (0..20)
            .map(|_| {
                let s = common::connect_with_receive_buffer(srv.addr, 4096);
                (&s).write_all(b"GET /bytes?n=67108864 HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
                s
            })
            .collect();
        let mut most = 0;
        for _ in 0..8 {
            std::thread::sleep(Duration::from_millis(150));
            most = most.max(tree_rss_kib(srv.pid()));
        }
        if !matches!(srv.model, "single" | "prefork" | "pool") {
            let r = srv.request(GET);
            assert_eq!(r.status, 200, "{}: another client is not served", srv.model);
        }
        most = most.max(tree_rss_kib(srv.pid()));
        assert!(
            most < 128 * 1024,
            "{}: {most} KiB resident with 20 slow readers of 64 MiB",
            srv.model
        );
        drop(readers);
    }

    // Issue 27: clients that ask for a long `/sleep` and leave do not keep the server's
    // threads, processes or workers for the rest of it: with 2 workers and 3 abandoned
    // 60 s sleeps, the next client is answered at once (pool and prefork answered no one until
    // the sleeps ended; single, one client at a time, likewise), and a model that holds a
    // thread or process per connection is back to its size within seconds. (select's loop
    // cannot watch for the close alone, so it keeps the sleeps: its one loop is not held.)
    abandoned_sleeps_do_not_hold_the_server(srv, "--workers", "2") {
        let before = tree_threads_and_processes(srv.pid());
        for _ in 0..3 {
            let mut s = srv.connect();
            s.write_all(b"GET /sleep?ms=60000 HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
            std::thread::sleep(Duration::from_millis(100)); // a worker has it
            drop(s);
        }
        let t = Instant::now();
        let mut s = srv.connect();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(GET).unwrap();
        let r = read_response(&mut s);
        assert!(
            r.as_ref().is_some_and(|r| r.status == 200),
            "{}: the next client was not answered within {:?}",
            srv.model,
            t.elapsed()
        );
        drop(s);
        let deadline = Instant::now() + Duration::from_secs(5);
        while matches!(srv.model, "fork" | "thread")
            && tree_threads_and_processes(srv.pid()) > before
        {
            assert!(
                Instant::now() < deadline,
                "{}: still {} threads and processes, {before} before the sleeps",
                srv.model,
                tree_threads_and_processes(srv.pid())
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    // Every model closes the same way (issue 18): a client that stops reading is dropped after
    // the write timeout, so it cannot hold a thread, a process or a loop's memory: what was in
    // the socket buffers arrives, then the end, far short of the 64 MiB asked for (and the
    // suite's last request shows the server went on, `single` included).
    write_timeout_drops_a_client_that_stops_reading(srv, "--write-timeout", "0.5") {
        let mut s = common::connect_with_receive_buffer(srv.addr, 4096);
        s.write_all(b"GET /bytes?n=67108864 HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
        std::thread::sleep(Duration::from_secs(2));
        let (got, _) = read_to_end_or_reset(&mut s);
        assert!(got > 0 && got < 32 << 20, "{}: {got} bytes before the end", srv.model);
    }

    // The lingering close after a last response is bounded in time (2 s): a client that goes
    // on sending slowly gets its connection closed, and its writes fail, within seconds.
    lingering_close_is_bounded_in_time(srv) {
        let mut s = srv.connect();
        s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").unwrap();
        assert_eq!(read_response(&mut s).unwrap().status, 200);
        let t = Instant::now();
        let (_, failed) = send_until_refused(&mut s, 64, Duration::from_millis(20));
        assert!(failed < Duration::from_secs(8), "{}: still taking input after {failed:?}", srv.model);
        assert!(t.elapsed() >= Duration::from_millis(500), "{}: no linger at all", srv.model);
    }

    // ... and in bytes (1 MiB): a client that floods it is cut off long before 2 s of
    // loopback speed (gigabytes) went in: what it sent is 1 MiB plus the kernels' buffers.
    lingering_close_is_bounded_in_bytes(srv) {
        let mut s = srv.connect();
        s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").unwrap();
        assert_eq!(read_response(&mut s).unwrap().status, 200);
        let (sent, failed) = send_until_refused(&mut s, 64 * 1024, Duration::ZERO);
        assert!(sent < 32 << 20, "{}: took {sent} bytes while lingering", srv.model);
        assert!(failed < Duration::from_secs(8), "{}: {failed:?}", srv.model);
    }

    idle_timeout(srv, "--idle-timeout", "0.5") {
        let mut s = srv.connect();
        // from before the request: the connection's last activity (the response) is later
        let t = Instant::now();
        s.write_all(GET).unwrap();
        assert_eq!(read_response(&mut s).unwrap().status, 200);
        assert_closed(&mut s);
        assert!(t.elapsed() >= Duration::from_millis(400), "{:?}", t.elapsed());
    }
}

/// Reads everything until EOF or a reset: (bytes, whether it was a reset).
fn read_to_end_or_reset(s: &mut TcpStream) -> (usize, bool) {
    let mut chunk = vec![0u8; 64 * 1024];
    let mut got = 0;
    loop {
        match s.read(&mut chunk) {
            Ok(0) => return (got, false),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return (got, true),
            Err(e) => panic!("after {got} bytes: {e}"),
        }
    }
}

/// Writes `chunk` bytes every `pause` until a write fails (the server closed); returns the
/// bytes written and how long until then. Gives up (and says so) after 30 s.
fn send_until_refused(s: &mut TcpStream, chunk: usize, pause: Duration) -> (usize, Duration) {
    let data = vec![b'x'; chunk];
    let t = Instant::now();
    let mut sent = 0;
    while t.elapsed() < Duration::from_secs(30) {
        match s.write(&data) {
            Ok(n) => sent += n,
            Err(e)
                if e.kind() == std::io::ErrorKind::TimedOut
                    || e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => return (sent, t.elapsed()),
        }
        if !pause.is_zero() {
            std::thread::sleep(pause);
        }
    }
    (sent, t.elapsed())
}

/// Reads `s` to EOF, 32 KiB at a time with `pause` between reads, and checks that it held
/// exactly one `200` response with a body of `len` bytes: whole, and nothing after it.
fn assert_whole_then_eof(s: &mut TcpStream, len: usize, pause: Duration) {
    let mut got = Vec::with_capacity(len + 512);
    let mut chunk = vec![0u8; 32 * 1024];
    loop {
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&chunk[..n]),
            Err(e) => panic!("after {} bytes: {e}", got.len()),
        }
        if !pause.is_zero() {
            std::thread::sleep(pause);
        }
    }
    let head_end = got
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header section in {} bytes", got.len()))
        + 4;
    let head = String::from_utf8_lossy(&got[..head_end]);
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert!(
        head.contains(&format!("Content-Length: {len}\r\n")),
        "{head}"
    );
    assert_eq!(got.len() - head_end, len, "body bytes received (then EOF)");
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

per_model!(drain, super::in_flight_drain);

/// On shutdown an idle keep-alive connection is closed at once: the client sees the end
/// without waiting for anything, and the server exits well inside its 5 s drain bound.
fn idle_keep_alive_closes_on_shutdown(model: &'static str) {
    let Some(srv) = Server::try_start(model, &[]) else {
        return;
    };
    let mut s = srv.connect();
    s.write_all(GET).unwrap();
    assert_eq!(read_response(&mut s).unwrap().status, 200);
    let t = Instant::now();
    let stopper = std::thread::spawn(move || srv.stop());
    assert_closed(&mut s);
    let closed = t.elapsed();
    assert!(stopper.join().unwrap().success(), "{model} did not exit 0");
    let exited = t.elapsed();
    assert!(
        closed < Duration::from_secs(4),
        "{model}: the idle connection closed after {closed:?}, as if it waited for the drain"
    );
    // nothing left to drain: the exit does not wait for the bound either (uring did, its
    // closed connection's slot never freed)
    assert!(
        exited < Duration::from_secs(3),
        "{model}: exited {exited:?} after the stop, as if it waited for the drain"
    );
}

per_model!(idle_on_shutdown, super::idle_keep_alive_closes_on_shutdown);

/// SIGTERM while 50 clients download 2 MB each, reading slowly: every response that started
/// arrives whole, the rest get nothing (they were never accepted, or not yet answered), and the
/// server exits 0.
fn sigterm_during_downloads(model: &'static str) {
    let Some(srv) = Server::try_start(model, &[]) else {
        return;
    };
    const N: usize = 50;
    const LEN: usize = 2_000_000;
    let barrier = Arc::new(Barrier::new(N + 1));
    let clients: Vec<_> = (0..N)
        .map(|_| {
            let (addr, barrier) = (srv.addr, Arc::clone(&barrier));
            std::thread::Builder::new()
                .stack_size(128 * 1024)
                .spawn(move || {
                    let mut s = TcpStream::connect(addr).unwrap();
                    s.set_read_timeout(Some(common::IO_TIMEOUT)).unwrap();
                    s.write_all(b"GET /bytes?n=2000000 HTTP/1.1\r\nHost: t\r\n\r\n")
                        .unwrap();
                    barrier.wait();
                    let mut got = Vec::new();
                    let mut chunk = vec![0u8; 64 * 1024];
                    loop {
                        match s.read(&mut chunk) {
                            Ok(0) => break,
                            Ok(n) => got.extend_from_slice(&chunk[..n]),
                            Err(e) if got.is_empty() => {
                                assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}");
                                break;
                            }
                            Err(e) => panic!("{model}: after {} bytes: {e}", got.len()),
                        }
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    got
                })
                .unwrap()
        })
        .collect();
    barrier.wait();
    std::thread::sleep(Duration::from_millis(150));
    let status = srv.stop();
    let mut started = 0;
    for c in clients {
        let got = c.join().unwrap();
        if got.is_empty() {
            continue;
        }
        started += 1;
        let head_end = got.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        assert_eq!(
            got.len() - head_end,
            LEN,
            "{model}: a started response was cut short"
        );
    }
    assert!(started > 0, "{model}: no response had started");
    assert!(status.success(), "{model} exited with {status}");
}

per_model!(sigterm_while_downloading, super::sigterm_during_downloads);

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

/// Prefork's workers never exit on their own: when the parent is killed outright (SIGKILL, no
/// chance to forward anything) they must still go, not serve the port forever as orphans.
#[test]
fn prefork_workers_die_with_a_killed_parent() {
    let srv = Server::start("prefork", &["--workers", "2"]);
    let parent = srv.pid();
    let deadline = Instant::now() + Duration::from_secs(10);
    let workers = loop {
        let workers = children_of(parent);
        if workers.len() == 2 || Instant::now() > deadline {
            break workers;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(workers.len(), 2, "prefork --workers 2 has {workers:?}");
    drop(srv); // SIGKILL
    let deadline = Instant::now() + Duration::from_secs(10);
    while workers
        .iter()
        .any(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists())
    {
        assert!(
            Instant::now() < deadline,
            "workers {workers:?} outlived their parent"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Resident memory of a process and its children, KiB.
/// At its thread cap, `thread` stops accepting: the next client waits in the backlog (no
/// crash, no reset) and is served as soon as a connection ends.
#[test]
fn thread_at_its_cap_keeps_new_clients_waiting_then_serves_them() {
    at_its_cap_new_clients_wait_then_are_served("thread", "--max-threads");
}

/// Issue 27: `fork` has a cap too (it had none: 30,000 clients would take every pid of a
/// 32,768 `kernel.pid_max`, the machine's and the user's), kept as `thread` keeps its own.
#[test]
fn fork_at_its_cap_keeps_new_clients_waiting_then_serves_them() {
    at_its_cap_new_clients_wait_then_are_served("fork", "--max-processes");
}

fn at_its_cap_new_clients_wait_then_are_served(model: &'static str, flag: &'static str) {
    let Some(mut srv) = Server::try_start(model, &[flag, "3"]) else {
        return;
    };
    let mut held: Vec<TcpStream> = (0..3)
        .map(|_| {
            let mut s = srv.connect();
            s.write_all(GET).unwrap();
            assert_eq!(read_response(&mut s).unwrap().status, 200);
            s
        })
        .collect();
    let mut waiting = srv.connect();
    waiting.write_all(GET).unwrap();
    waiting
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut byte = [0u8; 1];
    let early = waiting.read(&mut byte);
    assert!(
        early.as_ref().is_err_and(|e| matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        )),
        "{model}: the fourth client is answered at once ({early:?}): no cap"
    );
    drop(held.pop()); // one connection ends: its thread ends
    waiting
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut rest = Vec::new();
    let _ = waiting.read(&mut byte);
    assert_eq!(byte[0], b'H', "then the waiting client is served");
    let mut r = [0u8; 64];
    let n = waiting.read(&mut r).unwrap_or(0);
    rest.extend_from_slice(&r[..n]);
    assert!(
        String::from_utf8_lossy(&rest).starts_with("TTP/1.1 200"),
        "{rest:?}"
    );
    drop(held);
    assert!(srv.alive());
    let status = srv.stop();
    assert!(status.success(), "{status}");
}

/// Threads summed over a process and its children.
fn tree_threads_and_processes(pid: i32) -> u64 {
    std::iter::once(pid)
        .chain(children_of(pid))
        .filter_map(|p| {
            let status = std::fs::read_to_string(format!("/proc/{p}/status")).ok()?;
            status
                .lines()
                .find_map(|l| l.strip_prefix("Threads:")?.trim().parse::<u64>().ok())
        })
        .sum()
}

fn tree_rss_kib(pid: i32) -> u64 {
    std::iter::once(pid)
        .chain(children_of(pid))
        .filter_map(|p| {
            let status = std::fs::read_to_string(format!("/proc/{p}/status")).ok()?;
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))?
                .split_whitespace()
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

fn children_of(parent: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| {
        let e = e.ok()?;
        let pid: i32 = e.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
        let after = &stat[stat.rfind(')')? + 2..];
        let ppid: i32 = after.split(' ').nth(1)?.parse().ok()?;
        (ppid == parent).then_some(pid)
    })
    .collect()
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

/// Event loops never block the loop: 200 concurrent `/sleep?ms=300` all complete within 6 s,
/// where one after another they take a minute (as on `single`: that is the lesson).
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
    // one after another they take 60 s; together about 0.3 s, and a loaded machine adds
    // seconds, never tens of them
    assert!(
        took < Duration::from_secs(6),
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

/// Issue 27: `single` keeps the 5 s drain bound the other models keep, whatever its one client
/// is doing: sleeping a minute (it took 61 s to stop), or not reading a 64 MiB answer (29 s).
#[test]
fn single_stops_within_its_drain_bound() {
    for request in [
        &b"GET /sleep?ms=60000 HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"GET /bytes?n=67108864 HTTP/1.1\r\nHost: x\r\n\r\n",
    ] {
        let srv = Server::start("single", &[]);
        let mut s = common::connect_with_receive_buffer(srv.addr, 4096);
        s.write_all(request).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let t = Instant::now();
        assert!(srv.stop().success(), "single did not exit 0");
        let took = t.elapsed();
        // the bound is 5 s; a loaded machine adds to it, never minutes
        assert!(
            took < Duration::from_secs(12),
            "{}: single took {took:?} to stop",
            String::from_utf8_lossy(&request[..20])
        );
        drop(s);
    }
}

/// CPU time (ns, from schedstat) of each worker of a server: its threads named `prefix-N`,
/// or, for `prefix` "" (a design of processes), its child processes.
fn worker_cpu_ns(pid: i32, prefix: &str) -> std::collections::BTreeMap<String, u64> {
    let ns_of = |path: std::path::PathBuf| -> u64 {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .split_whitespace()
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let mut out = std::collections::BTreeMap::new();
    if prefix.is_empty() {
        for child in children_of(pid) {
            out.insert(
                format!("pid {child}"),
                ns_of(format!("/proc/{child}/schedstat").into()),
            );
        }
        return out;
    }
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
    {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim().starts_with(&format!("{prefix}-")) {
            out.insert(
                comm.trim().to_string(),
                ns_of(task.path().join("schedstat")),
            );
        }
    }
    out
}

/// Puts every thread of a server and of its worker processes on CPU 0, so its workers share
/// one run queue (the scheduler's fair share among them, not which core each landed on).
fn pin_tree_to_cpu0(pid: i32) {
    for p in std::iter::once(pid).chain(children_of(pid)) {
        for task in std::fs::read_dir(format!("/proc/{p}/task"))
            .unwrap()
            .flatten()
        {
            let tid: i32 = task.file_name().to_str().unwrap().parse().unwrap();
            // SAFETY: a zeroed cpu_set_t with CPU 0 set, passed by reference with its size.
            unsafe {
                let mut set: libc::cpu_set_t = std::mem::zeroed();
                libc::CPU_SET(0, &mut set);
                assert_eq!(
                    libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &set),
                    0
                );
            }
        }
    }
}

/// Stops (`SIGSTOP`) or continues (`SIGCONT`) a server and its worker processes.
fn signal_tree(pid: i32, signal: libc::c_int) {
    for p in std::iter::once(pid).chain(children_of(pid)) {
        // SAFETY: kill(2) on the server this test started and its children.
        assert_eq!(unsafe { libc::kill(p, signal) }, 0);
    }
}

/// Issue 30: every design with N workers spreads connections over them. With 4 workers, 400
/// connections wait at once (opened, each with its request written, while the server is
/// stopped), each asking for 1 ms of CPU: every worker does between 10 % and 40 % of the work
/// (its thread's or process's CPU; the server on one core, so that CPU follows connections). `uring`, whose every ring armed a multishot accept on the
/// one listener, left one loop with all of it.
#[test]
fn every_design_spreads_connections_over_its_workers() {
    for (model, prefix) in [
        ("epoll", "epoll"),
        ("procs", ""),
        ("uring", "uring"),
        ("tokio", "tokio"),
        ("pool", "pool"),
        ("prefork", ""),
    ] {
        let Some(srv) = Server::try_start(model, &["--workers", "4"]) else {
            continue;
        };
        spreads_connections(&srv, model, prefix);
        assert!(srv.stop().success(), "{model}");
    }
}

fn spreads_connections(srv: &Server, model: &str, prefix: &str) {
    // serving, its four workers up and waiting for connections
    assert_eq!(srv.request(GET).status, 200, "{model}");
    let up = Instant::now() + Duration::from_secs(10);
    while worker_cpu_ns(srv.pid(), prefix).len() < 4 {
        assert!(Instant::now() < up, "{model}: four workers did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    // on two cores, four CPU-bound workers get unequal CPU by where the scheduler put them
    // (one alone on a core does twice the others' work however connections were handed
    // out); on one core they share it fairly, and a worker with fewer connections shows it
    pin_tree_to_cpu0(srv.pid());
    signal_tree(srv.pid(), libc::SIGSTOP);
    let before = worker_cpu_ns(srv.pid(), prefix);
    let barrier = Arc::new(Barrier::new(8));
    let opening: Vec<_> = (0..8)
        .map(|_| {
            let (addr, barrier) = (srv.addr, Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                (0..50)
                    .map(|_| {
                        let mut s = TcpStream::connect(addr).expect("connect");
                        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                        s.write_all(
                            b"GET /cpu?us=1000 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                        )
                        .unwrap();
                        s
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let groups: Vec<Vec<TcpStream>> = opening
        .into_iter()
        .map(|t| t.join().expect("a connecting thread"))
        .collect();
    signal_tree(srv.pid(), libc::SIGCONT);
    let readers: Vec<_> = groups
        .into_iter()
        .map(|group| {
            std::thread::spawn(move || {
                // each closed once answered, as a client does (a blocking worker lingers on a
                // closed connection until its client closes too)
                for mut s in group {
                    assert_eq!(read_response(&mut s).expect("an answer").status, 200);
                }
            })
        })
        .collect();
    for t in readers {
        t.join().expect("a client thread");
    }
    let after = worker_cpu_ns(srv.pid(), prefix);
    assert_eq!(after.len(), 4, "{model}: {after:?}");
    let used: Vec<(String, u64)> = after
        .iter()
        .map(|(name, ns)| (name.clone(), ns - before.get(name).copied().unwrap_or(0)))
        .collect();
    let total: u64 = used.iter().map(|(_, ns)| ns).sum();
    let shares: Vec<(String, f64)> = used
        .iter()
        .map(|(name, ns)| (name.clone(), 100.0 * *ns as f64 / total.max(1) as f64))
        .collect();
    for (name, share) in &shares {
        assert!(
            (10.0..=40.0).contains(share),
            "{model}: {name} did {share:.0} % of the work: {shares:?} ({total} ns in all)"
        );
    }
    eprintln!("{model}: shares {shares:?}");
}

/// Issue 30: `procs` holds more connections than one of its processes may, as nginx's workers
/// do: a worker near its descriptor limit leaves new connections to the others instead of
/// meeting `EMFILE`. Each process here may open 128 files; 4 workers hold 380 connections
/// opened at once, and none says "Too many open files".
#[test]
fn procs_holds_more_connections_than_one_process_may() {
    let listener =
        swarmlab_server::bind(([127, 0, 0, 1], 0).into(), swarmlab_server::DEFAULT_BACKLOG)
            .unwrap();
    let addr = listener.local_addr().unwrap();
    let cmd = format!(
        "ulimit -n 128 && exec {} serve --model procs --workers 4 --listen-fd 0",
        env!("CARGO_BIN_EXE_swarmlab")
    );
    let server = std::process::Command::new("sh")
        .args(["-c", &cmd])
        .stdin(std::os::fd::OwnedFd::from(listener))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut conns: Vec<TcpStream> = (0..380)
        .map(|_| TcpStream::connect(addr).unwrap())
        .collect();
    for c in &mut conns {
        c.set_read_timeout(Some(common::IO_TIMEOUT)).unwrap();
        c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    }
    for (i, c) in conns.iter_mut().enumerate() {
        let r = read_response(c).unwrap_or_else(|| panic!("connection {i} had no answer"));
        assert_eq!(r.status, 200, "connection {i}");
    }
    drop(conns);
    // SAFETY: kill(2) on the server this test started.
    assert_eq!(unsafe { libc::kill(server.id() as i32, libc::SIGTERM) }, 0);
    let out = server.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!said.contains("Too many open files"), "{said}");
    assert!(out.status.success(), "{said}");
}
