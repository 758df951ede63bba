//! The web UI's endpoints over a real socket: Locust's shapes, the error paths, auth, the
//! event stream, and a page that loads nothing from the network.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use super::*;
use swarmlab_swarm::{Plan, Target};

/// Answers `ok` to every request, keep-alive, until the process ends.
fn target() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut s = s;
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        buf.drain(..end + 4);
                        if s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                            .is_err()
                        {
                            return;
                        }
                    }
                    match s.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
            });
        }
    });
    addr
}

struct Resp {
    status: u16,
    head: String,
    body: String,
}

/// One request on a fresh connection (`Connection: close`), the whole response.
fn http(addr: SocketAddr, method: &str, path: &str, body: &str, extra: &str) -> Resp {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let ctype = if body.is_empty() {
        ""
    } else {
        "Content-Type: application/x-www-form-urlencoded\r\n"
    };
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{ctype}{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    Resp {
        status: head[9..12].parse().unwrap(),
        head: head.to_string(),
        body: body.to_string(),
    }
}

fn json(r: &Resp) -> serde_json::Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body))
}

fn ui(login: Option<&str>) -> (Web, Arc<App>) {
    let app = App::for_swarm(
        None,
        Template::Simple(WaitTime::Constant(0.01)),
        Plan {
            threads: 1,
            ..Plan::default()
        },
        FormDefaults {
            users: 1,
            spawn_rate: 1.0,
            locustfile: "-".into(),
            ..FormDefaults::default()
        },
    );
    let opts = WebOptions {
        bind: "127.0.0.1:0".parse().unwrap(),
        login: login.map(str::to_string),
    };
    (start(Arc::clone(&app), &opts).unwrap(), app)
}

fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_page_and_its_assets_are_served_and_load_nothing_from_the_network() {
    let (web, _) = ui(None);
    let page = http(web.addr, "GET", "/", "", "");
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("window.templateArgs = {"),
        "{}",
        page.body
    );
    assert!(page.body.contains("\"state\":\"ready\""));
    for (path, ctype, needle) in [
        ("/assets/app.js", "text/javascript", "EventSource"),
        ("/assets/app.css", "text/css", ".tabs"),
        ("/assets/uPlot.iife.min.js", "text/javascript", "uPlot"),
        ("/assets/uPlot.min.css", "text/css", ".uplot"),
        ("/assets/uPlot.LICENSE.txt", "text/plain", "MIT"),
    ] {
        let r = http(web.addr, "GET", path, "", "");
        assert_eq!(r.status, 200, "{path}");
        assert!(
            r.head
                .to_ascii_lowercase()
                .contains(&format!("content-type: {ctype}")),
            "{path}: {}",
            r.head
        );
        assert!(r.body.contains(needle), "{path}");
    }
    for text in [
        page.body,
        http(web.addr, "GET", "/assets/app.js", "", "").body,
    ] {
        for bad in [
            "src=\"http",
            "href=\"http",
            "src='http",
            "@import",
            "fetch(\"http",
        ] {
            assert!(!text.contains(bad), "loads from the network: {bad}");
        }
    }
}

#[test]
fn bad_form_values_get_locusts_error_and_change_nothing() {
    let (web, app) = ui(None);
    let host = format!("http://{}", target());
    for body in [
        format!("user_count=0&spawn_rate=1&host={host}"),
        format!("user_count=-3&spawn_rate=1&host={host}"),
        format!("user_count=5&spawn_rate=0&host={host}"),
        "user_count=5&spawn_rate=1&host=not-a-url".to_string(),
        format!("user_count=5&spawn_rate=1&host={host}&run_time=later"),
        "user_count=5&spawn_rate=1".to_string(),
    ] {
        let r = http(web.addr, "POST", "/swarm", &body, "");
        let v = json(&r);
        assert_eq!(v["success"], false, "{body}: {v}");
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
        assert!(v.get("host").is_some(), "{v}");
        assert!(app.swarm().is_none(), "{body} started something");
    }
    let state = json(&http(web.addr, "GET", "/stats/requests", "", ""))["state"].clone();
    assert_eq!(state, "ready");
}

#[test]
fn a_run_from_start_to_stop_with_locusts_shapes() {
    let (web, app) = ui(None);
    let host = format!("http://{}", target());
    let r = http(
        web.addr,
        "POST",
        "/swarm",
        &format!(
            "user_count=3&spawn_rate=100&host={}&run_time=",
            host.replace(':', "%3A").replace('/', "%2F")
        ),
        "",
    );
    let v = json(&r);
    assert_eq!(
        (v["success"].clone(), v["message"].clone()),
        (json!(true), json!("Swarming started")),
        "{v}"
    );
    assert_eq!(v["host"], host);
    eventually("requests", || {
        json(&http(web.addr, "GET", "/stats/requests", "", ""))["stats"]
            .as_array()
            .and_then(|s| s.last())
            .is_some_and(|agg| agg["num_requests"].as_u64().unwrap_or(0) > 20)
    });
    let s = json(&http(web.addr, "GET", "/stats/requests", "", ""));
    for key in [
        "stats",
        "errors",
        "total_rps",
        "total_fail_per_sec",
        "current_rps",
        "current_fail_per_sec",
        "fail_ratio",
        "current_response_time_percentiles",
        "user_count",
        "state",
    ] {
        assert!(s.get(key).is_some(), "no {key} in {s}");
    }
    let rows = s["stats"].as_array().unwrap();
    let agg = rows.last().unwrap();
    assert_eq!(
        (agg["name"].clone(), agg["method"].clone()),
        (json!("Aggregated"), json!(""))
    );
    assert_eq!(rows[0]["name"], "/");
    for key in [
        "num_requests",
        "num_failures",
        "median_response_time",
        "avg_response_time",
        "min_response_time",
        "max_response_time",
        "avg_content_length",
        "current_rps",
        "current_fail_per_sec",
        "total_rps",
        "total_fail_per_sec",
        "response_time_percentile_0.95",
        "response_time_percentile_0.99",
    ] {
        assert!(agg.get(key).is_some(), "no {key} in {agg}");
    }
    assert_eq!(s["user_count"], 3);
    assert!(s["current_response_time_percentiles"]
        .get("response_time_percentile_0.5")
        .is_some());

    let csv = http(web.addr, "GET", "/stats/requests/csv", "", "");
    assert_eq!(csv.status, 200);
    assert!(
        csv.body
            .starts_with(swarmlab_swarm::output::csv::STATS_HEADER),
        "{}",
        csv.body
    );
    assert!(
        csv.head.contains("attachment;filename=Locust_"),
        "{}",
        csv.head
    );
    assert!(
        csv.head.ends_with("_requests.csv") || csv.head.contains("_requests.csv\r\n"),
        "{}",
        csv.head
    );
    let failures = http(web.addr, "GET", "/stats/failures/csv", "", "");
    assert!(failures
        .body
        .starts_with(swarmlab_swarm::output::csv::FAILURES_HEADER));
    let exceptions = http(web.addr, "GET", "/exceptions/csv", "", "");
    assert!(exceptions
        .body
        .starts_with(swarmlab_swarm::output::csv::EXCEPTIONS_HEADER));
    assert_eq!(
        json(&http(web.addr, "GET", "/exceptions", "", "")),
        json!({"exceptions": []})
    );
    let tasks = json(&http(web.addr, "GET", "/tasks", "", ""));
    assert_eq!(tasks["per_class"]["User"]["ratio"], 1.0, "{tasks}");
    assert_eq!(
        tasks["per_class"]["User"]["tasks"]["GET /"]["ratio"], 1.0,
        "{tasks}"
    );
    let report = http(web.addr, "GET", "/stats/report", "", "");
    assert!(report.body.contains("<h2>Request statistics</h2>"));
    let download = http(web.addr, "GET", "/stats/report?download=1", "", "");
    assert!(download.head.contains(".html"), "{}", download.head);
    eventually("history rows", || {
        json(&http(web.addr, "GET", "/stats/history", "", ""))["rows"]
            .as_array()
            .is_some_and(|r| r.len() >= 2)
    });
    assert_eq!(
        http(web.addr, "GET", "/stats/requests_full_history/csv", "", "").status,
        404
    );

    // state changes only by POST
    assert_eq!(http(web.addr, "GET", "/stop", "", "").status, 405);
    assert_eq!(http(web.addr, "GET", "/stats/reset", "", "").status, 405);
    assert_eq!(http(web.addr, "GET", "/swarm", "", "").status, 405);
    let reset = http(web.addr, "POST", "/stats/reset", "", "");
    assert_eq!(reset.body, "ok");
    let stop = json(&http(web.addr, "POST", "/stop", "", ""));
    assert_eq!(stop, json!({"success": true, "message": "Test stopped"}));
    eventually("stopped", || {
        app.swarm().unwrap().state() == swarmlab_swarm::State::Stopped
    });
    assert_eq!(
        json(&http(web.addr, "GET", "/stats/requests", "", ""))["state"],
        "stopped"
    );
    app.swarm().unwrap().quit();
}

#[test]
fn editing_a_running_test_changes_its_users() {
    let (web, app) = ui(None);
    let host = format!("http://{}", target());
    let v = json(&http(
        web.addr,
        "POST",
        "/swarm",
        &format!("user_count=2&spawn_rate=100&host={host}"),
        "",
    ));
    assert_eq!(v["success"], true, "{v}");
    eventually("2 users", || {
        app.swarm().is_some_and(|s| s.view(|v| v.status.users) == 2)
    });
    let v = json(&http(
        web.addr,
        "POST",
        "/swarm",
        "user_count=7&spawn_rate=100",
        "",
    ));
    assert_eq!(v["success"], true, "{v}");
    eventually("7 users", || {
        json(&http(web.addr, "GET", "/stats/requests", "", ""))["user_count"] == 7
    });
    app.swarm().unwrap().quit();
}

#[test]
fn a_login_guards_every_route() {
    let (web, _) = ui(Some("ann:s3cret"));
    let r = http(web.addr, "GET", "/", "", "");
    assert_eq!(r.status, 401);
    assert!(
        r.head.contains("WWW-Authenticate: Basic") || r.head.contains("www-authenticate: Basic"),
        "{}",
        r.head
    );
    assert_eq!(http(web.addr, "GET", "/stats/requests", "", "").status, 401);
    assert_eq!(http(web.addr, "POST", "/stop", "", "").status, 401);
    let wrong = "Authorization: Basic YW5uOndyb25n\r\n"; // ann:wrong
    assert_eq!(http(web.addr, "GET", "/", "", wrong).status, 401);
    let right = "Authorization: Basic YW5uOnMzY3JldA==\r\n"; // ann:s3cret
    assert_eq!(http(web.addr, "GET", "/", "", right).status, 200);
    assert_eq!(
        http(web.addr, "GET", "/stats/requests", "", right).status,
        200
    );
}

#[test]
fn the_event_stream_carries_a_row_every_second() {
    let (web, app) = ui(None);
    let host = format!("http://{}", target());
    let v = json(&http(
        web.addr,
        "POST",
        "/swarm",
        &format!("user_count=1&spawn_rate=1&host={host}"),
        "",
    ));
    assert_eq!(v["success"], true);
    let mut s = TcpStream::connect(web.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
        .unwrap();
    let mut seen = String::new();
    let mut chunk = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(20);
    while !seen.contains("event: row\ndata: {") {
        assert!(Instant::now() < deadline, "no row event in {seen:?}");
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "stream ended: {seen:?}");
        seen.push_str(&String::from_utf8_lossy(&chunk[..n]));
    }
    assert!(seen.contains("text/event-stream"), "{seen}");
    assert!(seen.contains("\"rps\":"), "{seen}");
    app.swarm().unwrap().quit();
}

#[test]
fn target_urls_print_back() {
    assert_eq!(
        Target::parse("http://127.0.0.1:9").unwrap().url(),
        "http://127.0.0.1:9"
    );
    assert_eq!(
        Target::parse("http://127.0.0.1:9/x?y").unwrap().url(),
        "http://127.0.0.1:9/x?y"
    );
}
