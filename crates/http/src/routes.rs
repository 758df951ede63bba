//! The benchmark routes: the workload every model serves.
//!
//! `/` hello, `/echo` (the classic assignment's echo, done right), `/sleep?ms=` (I/O wait,
//! expressed as a delayed reply), `/cpu?us=` (CPU work, burned here in the calling thread),
//! `/bytes?n=` (large bodies).

use std::time::Duration;

use crate::head::Method;
use crate::response::{Body, Reply, Status};

/// Longest `/sleep`, in milliseconds.
pub const MAX_SLEEP_MS: u64 = 60_000;
/// Longest `/cpu`, in microseconds.
pub const MAX_CPU_US: u64 = 1_000_000;
/// Largest `/bytes` body.
#[cfg(not(fuzzing))]
pub const MAX_BYTES: u64 = 64 * 1024 * 1024;
/// Largest `/bytes` body (64 KiB under the fuzzer, so that an input asking for 64 MiB does not
/// make every run slow: the framing code is the same for any size).
#[cfg(fuzzing)]
pub const MAX_BYTES: u64 = 64 * 1024;

const GET_HEAD: &str = "GET, HEAD";
const GET_HEAD_POST: &str = "GET, HEAD, POST";

/// Answers one request. `head` is the raw header section, `body` the decoded body.
pub fn route(method: Method, target: &str, head: &[u8], body: &[u8]) -> Reply {
    let (path, query) = split_target(target);
    let get = matches!(method, Method::Get | Method::Head);
    match path {
        "/" if get => Reply::text(Status::OK, "Hello, World!"),
        "/echo" if get || method == Method::Post => {
            let mut echo = Vec::with_capacity(head.len() + body.len());
            echo.extend_from_slice(head);
            echo.extend_from_slice(body);
            Reply::text(Status::OK, Body::Owned(echo))
        }
        "/sleep" if get => match param(query, "ms", MAX_SLEEP_MS) {
            Ok(ms) => Reply {
                delay: Some(Duration::from_millis(ms)),
                ..Reply::text(Status::OK, format!("slept {ms} ms\n"))
            },
            Err(reply) => reply,
        },
        "/cpu" if get => match param(query, "us", MAX_CPU_US) {
            Ok(us) => {
                burn_cpu(Duration::from_micros(us));
                Reply::text(Status::OK, format!("burned {us} us of cpu\n"))
            }
            Err(reply) => reply,
        },
        "/bytes" if get => match param(query, "n", MAX_BYTES) {
            Ok(n) => Reply {
                content_type: "application/octet-stream",
                ..Reply::text(Status::OK, Body::Fill(n as usize))
            },
            Err(reply) => reply,
        },
        "/" | "/sleep" | "/cpu" | "/bytes" => not_allowed(GET_HEAD),
        "/echo" => not_allowed(GET_HEAD_POST),
        _ => Reply::text(Status::NOT_FOUND, "not found\n"),
    }
}

fn not_allowed(allow: &'static str) -> Reply {
    Reply {
        allow: Some(allow),
        ..Reply::text(Status::METHOD_NOT_ALLOWED, "method not allowed\n")
    }
}

/// Splits origin-form or absolute-form targets into path and query.
fn split_target(target: &str) -> (&str, &str) {
    // Origin-form, the usual case, needs no search for "://" (it showed in perf).
    let target = if target.starts_with('/') {
        target
    } else {
        match target.find("://") {
            Some(i) => {
                let rest = &target[i + 3..];
                rest.find('/').map_or("/", |j| &rest[j..])
            }
            None => target,
        }
    };
    target.split_once('?').unwrap_or((target, ""))
}

/// Reads `key=N` from the query; a missing, non-numeric or too-large value is a 400 reply.
fn param(query: &str, key: &str, max: u64) -> Result<u64, Reply> {
    let value = query
        .split('&')
        .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
        .ok_or_else(|| bad_query(format!("missing query parameter {key}=N\n")))?;
    match value.parse::<u64>() {
        Ok(n) if n <= max && value.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(bad_query(format!(
            "{key} must be an integer in 0..={max}\n"
        ))),
    }
}

fn bad_query(msg: String) -> Reply {
    Reply::text(Status::BAD_REQUEST, msg)
}

/// Spins until this thread has used `d` of CPU time (not wall time: a preempted thread keeps
/// burning until it has done its share of work). Under the fuzzer it returns at once: a second
/// of spinning per input would stop the fuzzer, and the reply does not depend on it.
fn burn_cpu(d: Duration) {
    if cfg!(fuzzing) {
        return;
    }
    let start = thread_cpu_time();
    let mut x = 0u64;
    while thread_cpu_time().saturating_sub(start) < d {
        for i in 0..256 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(i));
        }
    }
}

fn thread_cpu_time() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(target: &str) -> Reply {
        route(Method::Get, target, b"", b"")
    }

    #[test]
    fn route_table() {
        let cases: &[(&str, u16)] = &[
            ("/", 200),
            ("/?x=1", 200),
            ("http://example.com/", 200),
            ("http://example.com", 200),
            ("/echo", 200),
            ("/sleep?ms=0", 200),
            ("/sleep?ms=60000", 200),
            ("/sleep?ms=60001", 400),
            ("/sleep?ms=-1", 400),
            ("/sleep?ms=+1", 400),
            ("/sleep?ms=", 400),
            ("/sleep", 400),
            ("/sleep?msx=5", 400),
            ("/cpu?us=10", 200),
            ("/cpu?us=1000001", 400),
            ("/bytes?n=0", 200),
            ("/bytes?n=67108864", 200),
            ("/bytes?n=67108865", 400),
            ("/bytes?n=abc", 400),
            ("/nope", 404),
            ("/echo/x", 404),
        ];
        for &(target, status) in cases {
            assert_eq!(get(target).status.0, status, "{target}");
        }
    }

    #[test]
    fn sleep_is_a_delay_not_a_sleep() {
        let r = get("/sleep?ms=250");
        assert_eq!(r.delay, Some(Duration::from_millis(250)));
    }

    #[test]
    fn wrong_method_is_405_with_allow() {
        let r = route(Method::Post, "/", b"", b"");
        assert_eq!((r.status.0, r.allow), (405, Some("GET, HEAD")));
        let r = route(Method::Delete, "/echo", b"", b"");
        assert_eq!((r.status.0, r.allow), (405, Some("GET, HEAD, POST")));
    }

    #[test]
    fn echo_returns_head_and_body() {
        let r = route(
            Method::Post,
            "/echo",
            b"POST /echo HTTP/1.1\r\n\r\n",
            b"abc",
        );
        assert_eq!(
            r.body,
            Body::Owned(b"POST /echo HTTP/1.1\r\n\r\nabc".to_vec())
        );
    }

    #[test]
    fn cpu_burns_at_least_the_asked_cpu_time() {
        let start = thread_cpu_time();
        assert_eq!(get("/cpu?us=20000").status.0, 200);
        assert!(thread_cpu_time() - start >= Duration::from_millis(20));
    }
}
