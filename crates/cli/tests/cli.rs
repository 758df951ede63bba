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
            "single", "fork", "prefork", "thread", "pool", "select", "poll", "epoll", "uring",
            "tokio"
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
