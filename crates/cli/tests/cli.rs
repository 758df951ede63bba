//! The command line's contract: `serve --list`, and bad input as one line on stderr with exit 2.

mod common;

use std::process::{Command, Output};

fn swarmlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_swarmlab"))
        .args(args)
        .output()
        .expect("run swarmlab")
}

fn one_line_error(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "not one line: {stderr:?}");
    assert!(stderr.starts_with("swarmlab: error: "), "{stderr}");
    stderr
}

#[test]
fn list_prints_one_model_per_line() {
    let out = swarmlab(&["serve", "--list"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let names: Vec<&str> = text
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "single", "fork", "prefork", "thread", "pool", "select", "poll", "epoll", "procs",
            "uring", "tokio"
        ]
    );
    assert!(
        text.lines().all(|l| l.split_whitespace().count() > 3),
        "a description per model"
    );
}

#[test]
fn unknown_model_is_one_line_naming_the_models() {
    let err = one_line_error(&swarmlab(&["serve", "--model", "bogus"]));
    assert!(
        err.contains("unknown model 'bogus'") && err.contains("single, fork"),
        "{err}"
    );
}

#[test]
fn bad_flags_are_one_line() {
    one_line_error(&swarmlab(&[
        "serve", "--model", "single", "--bind", "nowhere",
    ]));
    one_line_error(&swarmlab(&[
        "serve",
        "--model",
        "single",
        "--idle-timeout",
        "-1",
    ]));
    one_line_error(&swarmlab(&["serve", "--model", "thread", "--workers", "0"]));
    one_line_error(&swarmlab(&["serve"]));
    one_line_error(&swarmlab(&["serve", "--frobnicate"]));
}

#[test]
fn address_in_use_is_one_line() {
    let srv = common::Server::start("single", &[]);
    let err = one_line_error(&swarmlab(&[
        "serve",
        "--model",
        "single",
        "--bind",
        &srv.addr.to_string(),
    ]));
    assert!(
        err.contains("cannot listen on") && err.contains("in use"),
        "{err}"
    );
    assert!(srv.stop().success());
}

/// `--bind` says where it listens, for a person (nothing parses it back: compare and the tests
/// hand the server a socket they bound, `--listen-fd`).
#[test]
fn serve_announces_its_address_model_and_pid() {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_swarmlab"))
        .args(["serve", "--model", "epoll", "--bind", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let addr = line
        .strip_prefix("listening on http://127.0.0.1:")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|port| port.parse::<u16>().ok());
    assert!(addr.is_some_and(|p| p > 0), "{line:?}");
    assert!(
        line.contains(&format!("(model epoll, pid {})", child.id())),
        "{line:?}"
    );
}

/// `--listen-fd` takes only what it says: an open, listening TCP socket.
#[test]
fn listen_fd_refuses_what_is_not_a_listening_socket() {
    let err = one_line_error(&swarmlab(&[
        "serve",
        "--model",
        "single",
        "--listen-fd",
        "97",
    ]));
    assert!(
        err.contains("--listen-fd 97: descriptor 97 is not open"),
        "{err}"
    );
    // stdin as a pipe: open, but not a socket
    let out = Command::new(env!("CARGO_BIN_EXE_swarmlab"))
        .args(["serve", "--model", "single", "--listen-fd", "0"])
        .stdin(std::process::Stdio::piped())
        .output()
        .unwrap();
    let err = one_line_error(&out);
    assert!(
        err.contains("descriptor 0 is not a listening TCP socket"),
        "{err}"
    );
    // a TCP socket that is connected, not listening
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let stream = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_swarmlab"))
        .args(["serve", "--model", "single", "--listen-fd", "0"])
        .stdin(std::os::fd::OwnedFd::from(stream))
        .output()
        .unwrap();
    let err = one_line_error(&out);
    assert!(err.contains("not a listening TCP socket"), "{err}");
    one_line_error(&swarmlab(&[
        "serve",
        "--model",
        "single",
        "--listen-fd",
        "0",
        "--bind",
        "127.0.0.1:0",
    ]));
}
