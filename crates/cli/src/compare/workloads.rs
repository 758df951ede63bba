//! The built-in workloads (what every user sends in `--workload
//! hello|echo|sleep|cpu|close|tls|tls-close`),
//! and the users a run gives every design: a built-in request, or a file's users moved to the
//! design's address.

use swarmlab_report::WorkloadKind;
use swarmlab_swarm::{Target, WaitTime, Workload};

/// What each user sends in a built-in workload.
pub struct BuiltIn {
    /// How the report names it.
    pub what: &'static str,
    method: &'static str,
    path: &'static str,
    headers: &'static [(&'static str, &'static str)],
    body: Option<&'static str>,
    /// How long the server spends on one request by design (a sleep, CPU), ms: the
    /// workload's objective adds it to the latency limit.
    pub own_ms: f64,
}

/// The request of `kind` (`all` sends hello's).
pub fn request_of(kind: WorkloadKind) -> BuiltIn {
    let get = |what, path| BuiltIn {
        what,
        method: "GET",
        path,
        headers: &[],
        body: None,
        own_ms: 0.0,
    };
    match kind {
        WorkloadKind::Hello | WorkloadKind::All => get("GET /", "/"),
        WorkloadKind::Echo => BuiltIn {
            what: "POST /echo",
            method: "POST",
            path: "/echo",
            headers: &[],
            body: Some("hello from swarmlab"),
            own_ms: 0.0,
        },
        WorkloadKind::Sleep => BuiltIn {
            own_ms: 100.0,
            ..get("GET /sleep?ms=100", "/sleep?ms=100")
        },
        WorkloadKind::Cpu => BuiltIn {
            own_ms: 1.0,
            ..get("GET /cpu?us=1000", "/cpu?us=1000")
        },
        WorkloadKind::Close => BuiltIn {
            headers: &[("Connection", "close")],
            ..get("GET / (Connection: close)", "/")
        },
        WorkloadKind::Tls => get("GET / over TLS", "/"),
        WorkloadKind::TlsClose => BuiltIn {
            headers: &[("Connection", "close")],
            ..get("GET / over TLS (Connection: close)", "/")
        },
    }
}

/// The most requests per second `connections` connections can carry when each request takes
/// the `sleep` workload's 100 ms.
pub fn sleep_ceiling(connections: usize) -> f64 {
    connections as f64 / 0.1
}

/// The users every design gets: the built-in workload `kind`, or a locustfile's (or
/// scenario's) users moved to `target`.
pub fn users_for(kind: WorkloadKind, from_file: Option<&Workload>, target: &Target) -> Workload {
    match from_file {
        Some(w) => w.retarget(target),
        None => {
            let r = request_of(kind);
            let headers = r
                .headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            Workload::request(
                target,
                r.method,
                r.path,
                &headers,
                r.body,
                WaitTime::Constant(1.0),
            )
        }
    }
}
