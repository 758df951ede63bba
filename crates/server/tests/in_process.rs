//! Every model that does not fork, run inside the test process: `serve` takes its stop signal
//! from the caller, so a test starts a model on a thread, talks to it, triggers the signal and
//! sees `serve` return. (fork and prefork fork the process, which a multithreaded test binary
//! must not; the cli's models suite runs them as child processes.)

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use swarmlab_server::{serve, Config, Model, Stop};

fn get(addr: std::net::SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(request).unwrap();
    let mut got = String::new();
    s.read_to_string(&mut got).unwrap();
    got
}

fn runs_and_stops(model: Model) {
    if model == Model::Uring {
        if let Err(why) = swarmlab_server::uring::available() {
            assert!(
                std::env::var("SWARMLAB_REQUIRE_PEERS").as_deref() != Ok("1"),
                "io_uring is unavailable ({why}) and SWARMLAB_REQUIRE_PEERS=1"
            );
            eprintln!("SKIPPED: uring: {why}");
            return;
        }
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = Stop::new().unwrap();
    let cfg = Config {
        workers: 2,
        ..Config::default()
    };
    let server = {
        let stop = stop.clone();
        std::thread::spawn(move || serve(model, listener, &cfg, &stop))
    };
    let hello = get(
        addr,
        b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    assert!(
        hello.starts_with("HTTP/1.1 200 OK\r\n") && hello.ends_with("Hello, World!"),
        "{model}: {hello:?}"
    );
    // a request in flight when the signal comes is answered, with Connection: close
    let in_flight =
        std::thread::spawn(move || get(addr, b"GET /sleep?ms=300 HTTP/1.1\r\nHost: t\r\n\r\n"));
    std::thread::sleep(Duration::from_millis(100));
    stop.trigger();
    let answer = in_flight.join().unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200 OK\r\n") && answer.contains("Connection: close\r\n"),
        "{model}: {answer:?}"
    );
    server.join().unwrap().unwrap();
    assert!(
        TcpStream::connect(addr).is_err(),
        "{model}: still listening after serve returned"
    );
}

macro_rules! in_process {
    ($($name:ident: $model:expr),*) => {
        $( #[test] fn $name() { runs_and_stops($model) } )*
    };
}

in_process! {
    single: Model::Single,
    thread: Model::Thread,
    pool: Model::Pool,
    select: Model::Select,
    poll: Model::Poll,
    epoll: Model::Epoll,
    uring: Model::Uring,
    tokio: Model::Tokio
}
