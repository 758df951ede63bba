//! Real clients no one here wrote, against every model: Locust (`HttpUser`: Python's
//! `requests`; the CSV files it writes also pin swarm's headers to Locust's), wrk, and Python's
//! own `http.client`, which logs header defects that the classic assignment servers trigger.
//! A missing peer skips with a printed reason, or fails under `SWARMLAB_REQUIRE_PEERS=1` (as
//! `.ci/run` sets it). The clients run side by side (Locust and wrk against different servers
//! at once): what they check is correctness (no failure, no socket error, exact framing, a
//! thousand requests at least), which sharing the cores does not change.

mod common;

use std::path::Path;
use std::process::Command;

use common::{peer, Server};

/// Every model that has landed, as `serve --list` reports them.
fn models() -> Vec<&'static str> {
    let out = Command::new(env!("CARGO_BIN_EXE_swarmlab"))
        .args(["serve", "--list"])
        .output()
        .unwrap();
    let text: &'static str = String::from_utf8(out.stdout).unwrap().leak();
    text.lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect()
}

const LOCUSTFILE: &str = r#"
from locust import HttpUser, task, constant

class Visitor(HttpUser):
    wait_time = constant(0)

    @task
    def hello(self):
        self.client.get("/")

    @task
    def echo(self):
        self.client.post("/echo", data="hello from locust")
"#;

/// Locust, 50 users, 5 s, GET / and POST /echo: zero failures.
#[test]
fn locust_50_users_no_failures() {
    let Some(locust) = peer("locust") else { return };
    let dir = tempdir("locust");
    let file = dir.join("locustfile.py");
    std::fs::write(&file, LOCUSTFILE).unwrap();
    for model in models() {
        let Some(srv) = Server::try_start(model, &[]) else {
            continue;
        };
        let prefix = dir.join(model);
        let out = Command::new(&locust)
            .arg("-f")
            .arg(&file)
            .args([
                "--headless",
                "-u",
                "50",
                "-r",
                "50",
                "-t",
                "5s",
                "--only-summary",
            ])
            .args(["--host", &srv.url(), "--csv"])
            .arg(&prefix)
            .current_dir(&dir)
            .output()
            .expect("run locust");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stats = std::fs::read_to_string(format!("{}_stats.csv", prefix.display()))
            .unwrap_or_else(|e| panic!("{model}: no stats csv ({e}); locust said:\n{stderr}"));
        assert_locust_headers_match_ours(&prefix);
        let (requests, failures) = aggregated(&stats);
        assert!(
            requests > 100,
            "{model}: only {requests} requests\n{stderr}"
        );
        assert_eq!(
            failures, 0,
            "{model}: {failures} failures of {requests}\n{stderr}"
        );
        assert!(
            out.status.success(),
            "{model}: locust exited {}\n{stderr}",
            out.status
        );
        assert!(srv.stop().success(), "{model} did not exit cleanly");
        eprintln!("locust vs {model}: {requests} requests, 0 failures");
    }
}

/// The header line of each of the four files real Locust wrote equals swarmlab's, byte for byte.
fn assert_locust_headers_match_ours(prefix: &Path) {
    use swarmlab_swarm::output::csv;
    for (kind, ours) in [
        ("stats", csv::STATS_HEADER),
        ("stats_history", csv::HISTORY_HEADER),
        ("failures", csv::FAILURES_HEADER),
        ("exceptions", csv::EXCEPTIONS_HEADER),
    ] {
        let text = std::fs::read_to_string(format!("{}_{kind}.csv", prefix.display())).unwrap();
        let theirs = text.lines().next().unwrap_or_default();
        assert_eq!(theirs, ours, "{kind}.csv header differs from Locust's");
    }
}

/// Request and failure counts of the Aggregated row of a Locust `_stats.csv`.
fn aggregated(csv: &str) -> (u64, u64) {
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let row: Vec<&str> = csv
        .lines()
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|r| r.get(1) == Some(&"Aggregated"))
        .expect("an Aggregated row");
    let col = |name: &str| -> u64 {
        let i = header.iter().position(|h| *h == name).unwrap();
        row[i].parse().unwrap()
    };
    (col("Request Count"), col("Failure Count"))
}

/// wrk, 50 connections, 3 s: no socket errors, no non-2xx responses.
#[test]
fn wrk_50_connections_clean() {
    let Some(wrk) = peer("wrk") else { return };
    for model in models() {
        let Some(srv) = Server::try_start(model, &[]) else {
            continue;
        };
        let out = Command::new(&wrk)
            .args([
                "-t",
                "2",
                "-c",
                "50",
                "-d",
                "3s",
                &format!("{}/", srv.url()),
            ])
            .output()
            .expect("run wrk");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{model}: wrk failed: {text}");
        assert!(!text.contains("Socket errors"), "{model}:\n{text}");
        assert!(!text.contains("Non-2xx"), "{model}:\n{text}");
        let requests: u64 = text
            .lines()
            .find_map(|l| l.trim().split_once(" requests in ")?.0.parse().ok())
            .unwrap_or_else(|| panic!("{model}: no request count in\n{text}"));
        assert!(requests > 1000, "{model}: only {requests} requests\n{text}");
        assert!(srv.stop().success(), "{model} did not exit cleanly");
        eprintln!("wrk vs {model}: {requests} requests, no errors");
    }
}

const HTTP_CLIENT: &str = r#"
import http.client, sys
host, port = sys.argv[1], int(sys.argv[2])
conn = http.client.HTTPConnection(host, port, timeout=20)
for method, path, body in [("GET", "/", None), ("POST", "/echo", "abc"), ("HEAD", "/", None),
                           ("GET", "/bytes?n=100000", None), ("GET", "/nope", None),
                           ("GET", "/sleep?ms=5", None), ("GET", "/", None)]:
    conn.request(method, path, body=body)
    r = conn.getresponse()
    data = r.read()
    assert not r.msg.defects, (path, r.msg.defects)
    assert r.getheader("Content-Length") is not None, path
    assert r.version == 11, (path, r.version)
    assert len(data) == (0 if method == "HEAD" else int(r.getheader("Content-Length"))), path
print("ok")
"#;

/// Python's http.client, keep-alive across routes: no header defects, exact framing.
#[test]
fn python_http_client_sees_no_defects() {
    let Some(python) = peer("python3") else {
        return;
    };
    for model in models() {
        let Some(srv) = Server::try_start(model, &[]) else {
            continue;
        };
        let out = Command::new(&python)
            .args(["-c", HTTP_CLIENT, "127.0.0.1", &srv.addr.port().to_string()])
            .output()
            .expect("run python3");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{model}: {stderr}");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok");
        assert!(srv.stop().success());
    }
}

fn tempdir(tag: &str) -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
