//! `swarmlab check` against the test servers in `tests/servers/` (written after the seeds'
//! code, each with its defects), against every built-in model, and its usage errors.

#[macro_use]
mod common;

use std::process::{Command, Output};

use serde_json::Value;

fn swarmlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_swarmlab"))
        .args(args)
        .output()
        .expect("run swarmlab")
}

fn server_script(name: &str) -> String {
    format!(
        "{}/../../tests/servers/{name}.py",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// A check's exit code, its findings as (kind, severity), and its whole JSON.
type Checked = (i32, Vec<(String, String)>, String);

/// The Python test servers the tests check with [`check_python`]: the longest first, then in
/// the order the tests (by name) ask for them. A check
/// mostly waits (its probes' answer waits, a slow server's threads), so they are all started
/// on the first call, [`AT_ONCE`] at a time, and each test reads its own: the suite takes about
/// its longest check, not the sum of them (on 2 cores: 169 s one or two at a time, ...).
const PYTHON_SERVERS: [&str; 11] = [
    "spin",
    "never_reads",
    "correct",
    "fork_leak",
    "no_blank_line",
    "fd_leak",
    "listener_closed",
    "thread_join",
    "recv_once",
    "single",
    "echo_head",
];
const AT_ONCE: usize = 5;

/// `check --server "python3 tests/servers/NAME.py {port}" --json`.
fn run_python_check(name: &str) -> Output {
    let cmd = format!("python3 {} {{port}}", server_script(name));
    swarmlab(&["check", "--server", &cmd, "--json"])
}

/// `check --server "python3 tests/servers/NAME.py {port}" --json`: exit code and findings as
/// (kind, severity) pairs, and the whole JSON for messages. `None` without python3.
fn check_python(name: &str) -> Option<Checked> {
    use std::collections::HashMap;
    use std::sync::{Condvar, Mutex, OnceLock};
    type Done = (Mutex<HashMap<&'static str, Output>>, Condvar);
    static DONE: OnceLock<std::sync::Arc<Done>> = OnceLock::new();
    common::peer("python3")?;
    if !PYTHON_SERVERS.contains(&name) {
        return Some(parse(run_python_check(name)));
    }
    let done = DONE.get_or_init(|| {
        let done: std::sync::Arc<Done> = Default::default();
        let queue = std::sync::Arc::new(Mutex::new(
            PYTHON_SERVERS.iter().rev().copied().collect::<Vec<_>>(),
        ));
        for _ in 0..AT_ONCE {
            let (done, queue) = (std::sync::Arc::clone(&done), std::sync::Arc::clone(&queue));
            std::thread::spawn(move || loop {
                let Some(next) = queue.lock().unwrap().pop() else {
                    return;
                };
                let t = std::time::Instant::now();
                let out = run_python_check(next);
                eprintln!(
                    "check of tests/servers/{next}.py: {:.1} s",
                    t.elapsed().as_secs_f64()
                );
                done.0.lock().unwrap().insert(next, out);
                done.1.notify_all();
            });
        }
        done
    });
    let mut results = done.0.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if let Some(out) = results.remove(name) {
            return Some(parse(out));
        }
        results = done.1.wait(results).unwrap_or_else(|e| e.into_inner());
    }
}

fn parse(out: Output) -> Checked {
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {text}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let findings = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (out.status.code().unwrap_or(-1), findings, text)
}

fn has(findings: &[(String, String)], kind: &str, severity: &str) -> bool {
    findings.iter().any(|(k, s)| k == kind && s == severity)
}

/// `check --server "BINARY {port}" --json` for `tests/servers/NAME.c`, built here with `cc`.
fn check_c(name: &str) -> Option<Checked> {
    let cc = common::peer("cc")?;
    let src = format!(
        "{}/../../tests/servers/{name}.c",
        env!("CARGO_MANIFEST_DIR")
    );
    let bin = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("check-{name}"));
    let built = Command::new(cc)
        .args(["-O1", "-o"])
        .arg(&bin)
        .arg(&src)
        .output()
        .expect("run cc");
    assert!(
        built.status.success(),
        "cc {src}: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    let cmd = format!("{} {{port}}", bin.display());
    Some(parse(swarmlab(&["check", "--server", &cmd, "--json"])))
}

/// Issue 28: a server whose port accepts is up, whatever it answers; what it answers is the
/// finding, said once for every probe that met it, with its why and fix in the JSON, and
/// nothing blamed on it that it did not do (it did not die, it did not stop accepting).
fn named_once(checked: Option<Checked>, kind: &str) {
    let Some((code, f, text)) = checked else {
        return;
    };
    assert_eq!(code, 1, "{text}");
    assert!(!text.contains("did not come up"), "{text}");
    let count = f.iter().filter(|(k, _)| k == kind).count();
    assert_eq!(count, 1, "{kind} said {count} times: {text}");
    assert!(has(&f, kind, "error"), "{kind} not in {text}");
    for wrong in [
        "dies",
        "crashed",
        "stopped_accepting",
        "honours_close",
        "http10_closed",
    ] {
        assert!(
            !has(&f, wrong, "error") && !has(&f, wrong, "pass"),
            "{wrong}: {text}"
        );
    }
    let v: Value = serde_json::from_str(&text).unwrap();
    let found = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["kind"] == kind)
        .unwrap();
    assert!(
        found["why"].as_str().is_some_and(|w| !w.is_empty())
            && found["fix"].as_str().is_some_and(|w| !w.is_empty()),
        "{found}"
    );
}

#[test]
fn the_request_echoed_where_the_head_belongs_is_named() {
    named_once(check_python("echo_head"), "malformed");
}

#[test]
fn a_header_never_ended_by_a_blank_line_is_named() {
    named_once(check_python("no_blank_line"), "head_unended");
}

#[test]
fn output_never_flushed_is_zero_bytes_then_a_close() {
    named_once(check_c("unflushed"), "closed_empty");
}

#[test]
fn a_server_that_never_reads_is_silent_not_down() {
    named_once(check_python("never_reads"), "silent");
}

/// A forking parent that keeps the accepted socket: the answer (no Content-Length) never
/// ends, and a read that stopped waiting is never taken for a close.
#[test]
fn an_answer_that_never_ends_is_never_a_pass() {
    named_once(check_c("fork_keeps"), "never_ends");
}

/// An exception handler that closes the listening socket: the process runs and takes no
/// connections; named at the probe after which it began, the later probes not blamed.
#[test]
fn a_listener_closed_by_an_exception_handler_is_named_where_it_began() {
    let Some((code, f, text)) = check_python("listener_closed") else {
        return;
    };
    assert_eq!(code, 1, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    let at: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["kind"] == "stopped_accepting")
        .map(|x| x["probe"].as_str().unwrap())
        .collect();
    assert_eq!(at, ["bad request"], "{text}");
    assert!(!has(&f, "no_answer", "error"), "{text}");
}

/// One descriptor more per connection is named after a few dozen connections, with what it
/// means at 10,000 users and the server's own open-file limit.
#[test]
fn a_leak_of_one_descriptor_per_connection_is_named() {
    let Some((code, f, text)) = check_python("fd_leak") else {
        return;
    };
    assert_eq!(code, 1, "{text}");
    assert!(has(&f, "fd_leak", "error"), "{text}");
    // the server's own limit, against which the report projects 10,000 users
    assert!(text.contains("\"limit\""), "{text}");
}

#[test]
fn the_courses_single_process_server_has_each_of_its_defects_named() {
    let Some((code, f, text)) = check_python("single") else {
        return;
    };
    assert_eq!(code, 1, "{text}");
    for (kind, severity) in [
        ("bare_lf", "error"),
        ("no_length", "warning"),
        ("long_cut", "error"),
        ("head_body", "error"),
        ("dies", "error"),
    ] {
        assert!(has(&f, kind, severity), "{kind} ({severity}) not in {text}");
    }
    // the crash is said with the server's own last words
    assert!(
        text.contains("BrokenPipeError") || text.contains("ConnectionResetError"),
        "{text}"
    );
}

#[test]
fn a_forking_server_that_never_closes_or_reaps_is_named() {
    let Some((code, f, text)) = check_python("fork_leak") else {
        return;
    };
    assert_eq!(code, 1, "{text}");
    for kind in ["fd_leak", "zombies", "ignores_close"] {
        assert!(has(&f, kind, "error"), "{kind} not in {text}");
    }
    assert!(!has(&f, "bare_lf", "error"), "{text}");
}

#[test]
fn join_inside_the_accept_loop_makes_one_silent_client_hold_everyone() {
    let Some((code, f, text)) = check_python("thread_join") else {
        return;
    };
    assert!(has(&f, "serial", "warning"), "{text}");
    // nothing else is wrong with it
    assert_eq!(code, 0, "{text}");
}

#[test]
fn reading_a_request_with_one_recv_is_named() {
    let Some((code, f, text)) = check_python("recv_once") else {
        return;
    };
    assert_eq!(code, 1, "{text}");
    assert!(has(&f, "long_cut", "error"), "{text}");
    assert!(has(&f, "unknown_path_ok", "warning"), "{text}");
}

#[test]
fn a_correct_server_passes_everything() {
    let Some((code, f, text)) = check_python("correct") else {
        return;
    };
    assert_eq!(code, 0, "{text}");
    // a thread per connection is its design: a warning with its cost, never an error
    assert!(
        f.iter()
            .all(|(k, s)| s == "pass" || (k == "per_connection" && s == "warning")),
        "{text}"
    );
    assert!(has(&f, "per_connection", "warning"), "{text}");
    assert!(has(&f, "many_ok", "pass"), "{text}");
    assert!(text.contains("\"fds\""), "counted with --server: {text}");
}

/// Issue 28: a handler that loops on a closed socket (`if not data: continue`) keeps a core
/// busy once its client leaves: named at the first probe whose client left, once.
#[test]
fn a_thread_left_spinning_after_its_client_left_is_named() {
    let Some((code, f, text)) = check_python("spin") else {
        return;
    };
    assert_eq!(code, 1, "{text}");
    assert_eq!(f.iter().filter(|(k, _)| k == "spins").count(), 1, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    let at = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["kind"] == "spins")
        .map(|x| x["probe"].as_str().unwrap().to_string());
    assert_eq!(at.as_deref(), Some("GET /"), "{text}");
}

#[test]
fn korean_findings_say_why_and_how_to_fix() {
    if common::peer("python3").is_none() {
        return;
    }
    let cmd = format!("python3 {} {{port}}", server_script("single"));
    let out = swarmlab(&["check", "--server", &cmd, "--lang", "ko"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("오류") && text.contains("고치기:"), "{text}");
    assert!(text.contains("[RFC 9112 §2.2]"), "{text}");
}

/// Every built-in model, probed where it runs (`check URL`): no error.
fn model_passes(model: &'static str) {
    let Some(server) = common::Server::try_start(model, &[]) else {
        return;
    };
    let out = swarmlab(&["check", &server.url(), "--json"]);
    let (code, f, text) = parse(out);
    assert_eq!(code, 0, "{model}: {text}");
    assert!(!f.iter().any(|(_, s)| s == "error"), "{model}: {text}");
    // a URL has no process to count
    assert!(has(&f, "not_counted", "note"), "{text}");
    server.stop();
}

per_model!(models_pass, super::model_passes);

#[test]
fn a_model_started_by_check_has_its_descriptors_counted() {
    let exe = env!("CARGO_BIN_EXE_swarmlab");
    let cmd = format!("{exe} serve -m epoll --bind 127.0.0.1:{{port}}");
    let (code, f, text) = parse(swarmlab(&["check", "--server", &cmd, "--json"]));
    assert_eq!(code, 0, "{text}");
    assert!(
        has(&f, "many_ok", "pass") && text.contains("\"fds\""),
        "{text}"
    );
}

#[test]
fn bad_input_gets_one_line() {
    for (args, says) in [
        (vec!["check"], "required"),
        (vec!["check", "ftp://127.0.0.1:1"], "http:// or https://"),
        (vec!["check", "https://127.0.0.1:1"], "nothing accepts connections"),
        (
            vec!["check", "http://127.0.0.1:1"],
            "nothing accepts connections",
        ),
        (
            vec!["check", "--server", "sh -c 'echo cannot bind >&2; exit 3'"],
            "cannot bind",
        ),
        (
            vec!["check", "--log", "x.log", "http://127.0.0.1:1"],
            "--server",
        ),
        (
            vec![
                "check",
                "--server",
                "python3 -c 'import socket,time; s=socket.socket(); s.bind((\"127.0.0.1\", 0)); s.listen(); time.sleep(30)'",
            ],
            "and not on",
        ),
    ] {
        let out = swarmlab(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{args:?}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

/// Issue 28: with `--json`, a server that is not up is a JSON document too (stdout was empty).
#[test]
fn a_server_not_up_is_json_too() {
    let out = swarmlab(&["check", "--json", "http://127.0.0.1:1"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["up"], false);
    assert!(v["error"]
        .as_str()
        .is_some_and(|e| e.contains("nothing accepts connections")));
}

/// Issue 28: hostile answers end in bounded time and memory, one finding per cause (an endless
/// body took 114 s and 2.4 GB, an endless chunked one 121 s and 1.8 GB, and contradicted
/// itself).
#[test]
fn hostile_answers_are_bounded_in_time_and_memory() {
    if common::peer("python3").is_none() {
        return;
    }
    // the four run side by side (each mostly waits for its bounds)
    let runs: Vec<_> = [
        ("endless-body", "never_ends"),
        ("endless-chunks", "never_ends"),
        ("endless-headers", "head_unended"),
        ("garbage", "malformed"),
    ]
    .into_iter()
    .map(|(mode, kind)| {
        let cmd = format!("python3 {} {mode} {{port}}", server_script("hostile"));
        let run = std::thread::spawn(move || {
            let t = std::time::Instant::now();
            let out = Command::new(env!("CARGO_BIN_EXE_swarmlab"))
                .args(["check", "--server", &cmd, "--json"])
                .output()
                .expect("run swarmlab");
            (out, t.elapsed())
        });
        (mode, kind, run)
    })
    .collect();
    for (mode, kind, run) in runs {
        let (out, took) = run.join().expect("a check thread");
        let (code, f, text) = parse(out);
        assert_eq!(code, 1, "{mode}: {text}");
        assert!(
            took < std::time::Duration::from_secs(90),
            "{mode}: {took:?}"
        );
        assert_eq!(
            f.iter().filter(|(k, _)| k == kind).count(),
            1,
            "{mode}: one {kind}: {text}"
        );
        for wrong in ["dies", "crashed", "stopped_accepting", "no_answer"] {
            assert!(
                !f.iter().any(|(k, _)| k == wrong),
                "{mode}: {wrong} in {text}"
            );
        }
    }
    // the largest check process this test waited for (ru_maxrss: KiB)
    // SAFETY: rusage is plain integers; all zeros is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage(2) fills the struct it is given; RUSAGE_CHILDREN is a valid target.
    let got = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    assert_eq!(got, 0);
    assert!(
        usage.ru_maxrss < 100 * 1024,
        "a check took {} KiB",
        usage.ru_maxrss
    );
}

/// Issue 28: `check https://...` speaks TLS (the generator's client): a model serving HTTPS
/// with a self-signed certificate passes with `-k`, and without it every probe says why.
#[test]
fn https_is_checked_and_k_skips_verification() {
    let Some(server) = common::Server::try_start("epoll", &["--tls", "self-signed"]) else {
        return;
    };
    let url = format!("https://{}", server.addr);
    let (code, f, text) = parse(swarmlab(&["check", "-k", &url, "--json"]));
    assert_eq!(code, 0, "{text}");
    assert!(
        has(&f, "keeps_alive", "pass") && has(&f, "head_ok", "pass"),
        "{text}"
    );
    let (code, f, text) = parse(swarmlab(&["check", &url, "--json"]));
    assert_eq!(code, 1, "{text}");
    assert!(
        has(&f, "no_answer", "error") && text.contains("certificate"),
        "{text}"
    );
    assert!(!has(&f, "long_cut", "error"), "{text}");
    server.stop();
}
