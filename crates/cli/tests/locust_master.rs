//! swarmlab workers under a stock Locust 2.47 master (the venv's `locust`): counts that agree,
//! a run started, stopped and started again from the master's web API, a mixed fleet with a
//! Python worker, hosts in network namespaces, and the faults (a worker killed, the master
//! killed, garbage from a fake master).

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{peer, peers_required, Server};

/// The tests that load the machine (hundreds of users, or a count the master must agree with)
/// run one at a time; the light ones (a fake master, a handful of users) beside them.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn exclusive() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn tempdir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("locust-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A child killed when dropped.
struct Proc(Option<Child>);

impl Proc {
    fn spawn(cmd: &mut Command) -> Proc {
        Proc(Some(cmd.spawn().expect("spawn")))
    }

    fn pid(&self) -> i32 {
        self.0.as_ref().unwrap().id() as i32
    }

    /// Waits (bounded) for the exit; returns its output.
    fn finish(mut self, within: Duration) -> Output {
        let mut child = self.0.take().unwrap();
        let deadline = Instant::now() + within;
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let out = child.wait_with_output().unwrap();
                panic!(
                    "did not exit within {within:?}:\n{}\n{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        child.wait_with_output().unwrap()
    }

    fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.pid(), sig) };
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn swarmlab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_swarmlab"))
}

/// `swarmlab swarm --print-locustfile -H host` written to `dir/locustfile.py`.
fn locustfile(dir: &Path, host: &str) -> PathBuf {
    let out = swarmlab()
        .args(["swarm", "--print-locustfile", "-H", host])
        .output()
        .unwrap();
    assert!(out.status.success());
    let path = dir.join("locustfile.py");
    std::fs::write(&path, &out.stdout).unwrap();
    path
}

fn worker(port: u16, extra: &[&str]) -> Proc {
    Proc::spawn(
        swarmlab()
            .args(["swarm", "--worker", "--master-port", &port.to_string()])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    )
}

/// The Aggregated row of a Locust `_stats.csv`: (requests, failures).
fn aggregated(stats_csv: &Path) -> (u64, u64) {
    let text = std::fs::read_to_string(stats_csv)
        .unwrap_or_else(|e| panic!("{}: {e}", stats_csv.display()));
    let row = text
        .lines()
        .find(|l| l.starts_with(",Aggregated,"))
        .unwrap_or_else(|| panic!("no Aggregated row in {text}"));
    let f: Vec<&str> = row.split(',').collect();
    (f[2].parse().unwrap(), f[3].parse().unwrap())
}

/// The master's total is what its workers reported: never more than they counted in their own
/// CSVs, and less only by the requests still in flight when it quit (at most one per user:
/// a quitting worker reports all it measured at once, within the 0.5 s the master waits, and
/// what its users finish after that reaches the master only if it is still listening).
fn assert_master_counts_its_workers(master: u64, workers: u64, users: u64, logs: &str) {
    assert!(
        master <= workers && workers - master <= users,
        "the master counted {master}, its workers {workers} ({users} users)\n{logs}"
    );
}

/// (Type, Name) rows of a `_stats.csv`, Aggregated left out.
fn names(stats_csv: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(stats_csv)
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| !l.starts_with(",Aggregated,"))
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_string(), f[1].to_string())
        })
        .collect()
}

/// One HTTP request to the master's web UI; the body.
fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: m\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    raw.split_once("\r\n\r\n")
        .map_or(String::new(), |(_, b)| b.to_string())
}

fn stats(addr: SocketAddr) -> serde_json::Value {
    serde_json::from_str(&http(addr, "GET", "/stats/requests", "")).unwrap()
}

fn eventually(what: &str, within: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn wait_listening(addr: SocketAddr) {
    eventually(
        &format!("{addr} to listen"),
        Duration::from_secs(30),
        || TcpStream::connect(addr).is_ok(),
    );
}

/// A stock `locust --master` with its web UI (no run until `POST /swarm`), on free loopback
/// ports: the master, its worker port and the UI's address, once the UI listens.
fn web_master(locust: &Path, lf: &Path, host: &str) -> (Proc, u16, SocketAddr) {
    let (port, web) = (free_port(), free_port());
    let master = Proc::spawn(
        Command::new(locust)
            .arg("-f")
            .arg(lf)
            .args(["--master", "-H", host, "--web-host", "127.0.0.1"])
            .args(["--web-port", &web.to_string()])
            .args(["--master-bind-host", "127.0.0.1"])
            .args(["--master-bind-port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let ui: SocketAddr = format!("127.0.0.1:{web}").parse().unwrap();
    wait_listening(ui);
    (master, port, ui)
}

#[test]
fn two_workers_under_a_headless_master_agree_with_it() {
    let Some(locust) = peer("locust") else { return };
    let _one = exclusive();
    let srv = Server::start("epoll", &[]);
    let dir = tempdir("headless");
    let lf = locustfile(&dir, &srv.url());
    let port = free_port();
    let master = Proc::spawn(
        Command::new(&locust)
            .arg("-f")
            .arg(&lf)
            .args(["--master", "--headless", "--expect-workers", "2"])
            .args(["-u", "200", "-r", "100", "-t", "10s", "-H", &srv.url()])
            .args([
                "--master-bind-host",
                "127.0.0.1",
                "--master-bind-port",
                &port.to_string(),
            ])
            .arg("--csv")
            .arg(dir.join("master"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    );
    let w1 = dir.join("w1");
    let w2 = dir.join("w2");
    let a = worker(port, &["--csv", w1.to_str().unwrap()]);
    let b = worker(port, &["--csv", w2.to_str().unwrap()]);
    let m = master.finish(Duration::from_secs(90));
    let (oa, ob) = (
        a.finish(Duration::from_secs(30)),
        b.finish(Duration::from_secs(30)),
    );
    for (who, out) in [("worker 1", &oa), ("worker 2", &ob)] {
        assert_eq!(
            out.status.code(),
            Some(0),
            "{who}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(
        m.status.success(),
        "master: {}",
        String::from_utf8_lossy(&m.stderr)
    );
    let (total, failures) = aggregated(&dir.join("master_stats.csv"));
    let (c1, f1) = aggregated(&dir.join("w1_stats.csv"));
    let (c2, f2) = aggregated(&dir.join("w2_stats.csv"));
    assert!(c1 > 0 && c2 > 0, "each worker did requests: {c1} {c2}");
    let sum = c1 + c2;
    assert_master_counts_its_workers(total, sum, 200, "");
    assert_eq!((failures, f1, f2), (0, 0, 0));
    assert_eq!(
        names(&dir.join("master_stats.csv")),
        names(&dir.join("w1_stats.csv"))
    );
    assert_eq!(
        names(&dir.join("master_stats.csv")),
        [("GET".to_string(), "/".to_string())]
    );
}

#[test]
fn workers_follow_start_stop_and_start_from_the_masters_web_api() {
    let Some(locust) = peer("locust") else { return };
    let _one = exclusive();
    let srv = Server::start("epoll", &[]);
    let dir = tempdir("webapi");
    let lf = locustfile(&dir, &srv.url());
    let (master, port, ui) = web_master(&locust, &lf, &srv.url());
    let w = worker(port, &[]);
    eventually("the worker to connect", Duration::from_secs(30), || {
        stats(ui)["workers"]
            .as_array()
            .is_some_and(|w| w.len() == 1)
    });
    let requests = |ui| {
        stats(ui)["stats"]
            .as_array()
            .and_then(|s| s.last().cloned())
            .map_or(0, |a| a["num_requests"].as_u64().unwrap_or(0))
    };
    for (round, users) in [(1, 10u64), (2, 4)] {
        let r = http(
            ui,
            "POST",
            "/swarm",
            &format!("user_count={users}&spawn_rate=100"),
        );
        assert!(
            r.contains("\"success\": true") || r.contains("\"success\":true"),
            "{r}"
        );
        eventually(
            &format!("round {round}: {users} users running on the worker"),
            Duration::from_secs(30),
            || {
                let s = stats(ui);
                s["user_count"] == users
                    && s["workers"][0]["user_count"] == users
                    && s["workers"][0]["state"] == "running"
            },
        );
        let before = requests(ui);
        eventually(
            &format!("round {round}: requests"),
            Duration::from_secs(30),
            || requests(ui) > before + 100,
        );
        let r = http(ui, "POST", "/stop", "");
        assert!(r.contains("Test stopped"), "{r}");
        eventually(
            &format!("round {round}: stopped"),
            Duration::from_secs(30),
            || {
                let s = stats(ui);
                s["state"] == "stopped" && s["user_count"] == 0
            },
        );
        let stopped = requests(ui);
        std::thread::sleep(Duration::from_secs(4)); // a report interval and more
        assert!(
            requests(ui) <= stopped + 10,
            "round {round}: load went on after the stop"
        );
        eventually(
            &format!("round {round}: the worker ready again"),
            Duration::from_secs(30),
            || {
                stats(ui)["workers"]
                    .as_array()
                    .is_some_and(|w| w.len() == 1 && w[0]["state"] == "ready")
            },
        );
    }
    master.signal(libc::SIGTERM);
    let wo = w.finish(Duration::from_secs(30));
    assert_eq!(
        wo.status.code(),
        Some(0),
        "worker: {}",
        String::from_utf8_lossy(&wo.stderr)
    );
}

#[test]
fn a_mixed_fleet_has_traffic_from_both_kinds_of_worker() {
    let Some(locust) = peer("locust") else { return };
    let _one = exclusive();
    let srv = Server::start("epoll", &[]);
    let dir = tempdir("mixed");
    let lf = locustfile(&dir, &srv.url());
    let port = free_port();
    let master = Proc::spawn(
        Command::new(&locust)
            .arg("-f")
            .arg(&lf)
            .args(["--master", "--headless", "--expect-workers", "2"])
            .args(["-u", "20", "-r", "20", "-t", "8s", "-H", &srv.url()])
            .args([
                "--master-bind-host",
                "127.0.0.1",
                "--master-bind-port",
                &port.to_string(),
            ])
            .arg("--csv")
            .arg(dir.join("master"))
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let python = Proc::spawn(
        Command::new(&locust)
            .arg("-f")
            .arg(&lf)
            .args([
                "--worker",
                "--master-host",
                "127.0.0.1",
                "--master-port",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let ours = dir.join("ours");
    let w = worker(port, &["--csv", ours.to_str().unwrap()]);
    assert!(master.finish(Duration::from_secs(90)).status.success());
    assert_eq!(w.finish(Duration::from_secs(30)).status.code(), Some(0));
    let _ = python.finish(Duration::from_secs(30));
    let (total, failures) = aggregated(&dir.join("master_stats.csv"));
    let (mine, _) = aggregated(&dir.join("ours_stats.csv"));
    let theirs = total.saturating_sub(mine);
    assert!(mine > 0, "the swarmlab worker had no traffic");
    assert!(
        theirs >= 100,
        "the Python worker had {theirs} requests (master {total}, swarmlab {mine})"
    );
    assert_eq!(failures, 0);
}

#[test]
fn a_killed_worker_is_marked_missing_and_the_run_goes_on() {
    let Some(locust) = peer("locust") else { return };
    let _one = exclusive();
    let srv = Server::start("epoll", &[]);
    let dir = tempdir("killed");
    let lf = locustfile(&dir, &srv.url());
    let (_master, port, ui) = web_master(&locust, &lf, &srv.url());
    let (a, b) = (
        worker(port, &["--wait-time", "constant(0.01)"]),
        worker(port, &["--wait-time", "constant(0.01)"]),
    );
    eventually("two workers", Duration::from_secs(30), || {
        stats(ui)["workers"]
            .as_array()
            .is_some_and(|w| w.len() == 2)
    });
    http(ui, "POST", "/swarm", "user_count=10&spawn_rate=100");
    eventually("running", Duration::from_secs(30), || {
        stats(ui)["state"] == "running"
    });
    a.signal(libc::SIGKILL);
    drop(a);
    eventually("a worker marked missing", Duration::from_secs(30), || {
        stats(ui)["workers"]
            .as_array()
            .is_some_and(|w| w.iter().any(|x| x["state"] == "missing"))
    });
    let total = |ui| {
        stats(ui)["stats"]
            .as_array()
            .and_then(|s| s.last().cloned())
            .map_or(0, |a| a["num_requests"].as_u64().unwrap_or(0))
    };
    let before = total(ui);
    eventually(
        "requests from the other worker",
        Duration::from_secs(30),
        || total(ui) > before + 100,
    );
    drop(b);
}

#[test]
fn a_worker_quits_on_its_own_when_the_master_dies() {
    let Some(locust) = peer("locust") else { return };
    let srv = Server::start("epoll", &[]);
    let dir = tempdir("masterdies");
    let lf = locustfile(&dir, &srv.url());
    let (master, port, ui) = web_master(&locust, &lf, &srv.url());
    let w = worker(
        port,
        &[
            "--master-heartbeat-timeout",
            "3s",
            "--wait-time",
            "constant(0.01)",
        ],
    );
    eventually("the worker", Duration::from_secs(30), || {
        stats(ui)["workers"]
            .as_array()
            .is_some_and(|w| w.len() == 1)
    });
    http(ui, "POST", "/swarm", "user_count=5&spawn_rate=100");
    eventually("running", Duration::from_secs(30), || {
        stats(ui)["state"] == "running"
    });
    master.signal(libc::SIGKILL);
    let t = Instant::now();
    let out = w.finish(Duration::from_secs(30));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("lost the Locust master at tcp://127.0.0.1:"),
        "{stderr}"
    );
    assert!(stderr.contains("no heartbeat for 3 s"), "{stderr}");
    assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
}

/// A fake master (a ROUTER of our own) sends garbage before and between real messages; the
/// worker reports it, goes on, and quits when told.
#[test]
fn garbage_from_a_fake_master_does_not_crash_the_worker() {
    with_fake_master(|mut router, w| async move {
        let (id, ready) = fake_recv(&mut router).await;
        assert_eq!(ready[0].as_str(), Some("client_ready"));
        assert_eq!(ready[1].as_i64(), Some(-1));
        assert_eq!(
            ready[2].as_str().map(str::as_bytes),
            Some(&id[..]),
            "node id = identity"
        );
        use rmpv::Value as V;
        for garbage in [
            b"\xc1\xc1 not msgpack".to_vec(),
            msgpack(V::from(42)),
            msgpack(V::Array(vec![V::from(7), V::Nil, V::from("x")])),
            Vec::new(),
        ] {
            fake_send(&mut router, &id, garbage).await;
        }
        fake_send(&mut router, &id, ack()).await;
        // the worker is alive and talking: a heartbeat with its state
        loop {
            let (_, msg) = fake_recv(&mut router).await;
            if msg[0].as_str() == Some("heartbeat") {
                let state = msg[1]
                    .as_map()
                    .unwrap()
                    .iter()
                    .find(|(k, _)| k.as_str() == Some("state"))
                    .unwrap()
                    .1
                    .clone();
                assert_eq!(state.as_str(), Some("ready"));
                break;
            }
        }
        // a spawn whose fields are all wrong is no crash either
        fake_send(&mut router, &id, message("spawn", V::from("not a map"))).await;
        let stderr = quit_and_wait(&mut router, &id, w).await;
        assert!(stderr.contains("does not decode"), "{stderr}");
    });
}

/// `reconnect` from the master: the worker closes its DEALER and opens a new one with the same
/// identity (as Locust's own worker does, without a new `client_ready`), goes on talking over
/// it, and still quits when told.
#[test]
fn reconnect_from_the_master_rebuilds_the_workers_socket() {
    with_fake_master(|mut router, w| async move {
        let (id, ready) = fake_recv(&mut router).await;
        assert_eq!(ready[0].as_str(), Some("client_ready"));
        fake_send(&mut router, &id, ack()).await;
        assert_eq!(next_heartbeat(&mut router).await, id);
        let port = w.port;
        let before = connections_to(w.pid(), port);
        assert_eq!(before.len(), 1, "one connection to the master: {before:?}");
        fake_send(&mut router, &id, message("reconnect", rmpv::Value::Nil)).await;
        // heartbeats go on, from the same identity, over a new connection
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            assert_eq!(next_heartbeat(&mut router).await, id, "the same identity");
            let now = connections_to(w.pid(), port);
            if now.iter().any(|p| !before.contains(p)) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "no new connection: {before:?} then {now:?}"
            );
        }
        let stderr = quit_and_wait(&mut router, &id, w).await;
        assert!(
            stderr.contains("asked this worker to reconnect"),
            "{stderr}"
        );
    });
}

/// A worker (`-H http://127.0.0.1:9`) of a fake master, a ROUTER of the test's own on a free
/// port; `body` talks to it.
fn with_fake_master<F, Fut>(body: F)
where
    F: FnOnce(zeromq::RouterSocket, FakeWorker) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    use zeromq::Socket;
    let port = free_port();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut router = zeromq::RouterSocket::new();
        router
            .bind(&format!("tcp://127.0.0.1:{port}"))
            .await
            .unwrap();
        let w = FakeWorker {
            proc: worker(port, &["-H", "http://127.0.0.1:9"]),
            port,
        };
        body(router, w).await;
    });
}

/// The worker of a fake master, and the master's port.
struct FakeWorker {
    proc: Proc,
    port: u16,
}

impl FakeWorker {
    fn pid(&self) -> i32 {
        self.proc.pid()
    }
}

fn msgpack(v: rmpv::Value) -> Vec<u8> {
    let mut b = Vec::new();
    rmpv::encode::write_value(&mut b, &v).unwrap();
    b
}

/// A master's message: `[kind, data, "master"]`.
fn message(kind: &str, data: rmpv::Value) -> Vec<u8> {
    msgpack(rmpv::Value::Array(vec![
        rmpv::Value::from(kind),
        data,
        rmpv::Value::from("master"),
    ]))
}

/// The master's `ack` of worker index 0.
fn ack() -> Vec<u8> {
    message(
        "ack",
        rmpv::Value::Map(vec![(rmpv::Value::from("index"), rmpv::Value::from(0))]),
    )
}

/// Sends `quit`, waits (without blocking the runtime: its socket still has to send what was
/// queued) until the worker exits 0; returns what it said on stderr.
async fn quit_and_wait(router: &mut zeromq::RouterSocket, id: &[u8], w: FakeWorker) -> String {
    fake_send(router, id, message("quit", rmpv::Value::Nil)).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !exited(&w.proc) {
        assert!(Instant::now() < deadline, "the worker did not quit");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let out = w.proc.finish(Duration::from_secs(5));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    stderr
}

/// The identity of the next heartbeat's sender (no `client_ready` may come meanwhile).
async fn next_heartbeat(router: &mut zeromq::RouterSocket) -> Vec<u8> {
    loop {
        let (from, msg) = fake_recv(router).await;
        assert_ne!(msg[0].as_str(), Some("client_ready"), "no new client_ready");
        if msg[0].as_str() == Some("heartbeat") {
            return from;
        }
    }
}

/// The local ports of `pid`'s established TCP connections to 127.0.0.1:`port` (from its fds'
/// socket inodes and /proc/PID/net/tcp).
fn connections_to(pid: i32, port: u16) -> Vec<u16> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|dir| {
            dir.filter_map(|e| {
                let link = std::fs::read_link(e.ok()?.path()).ok()?;
                let link = link.to_str()?;
                Some(
                    link.strip_prefix("socket:[")?
                        .strip_suffix(']')?
                        .to_string(),
                )
            })
            .collect()
        })
        .unwrap_or_default();
    let tcp = std::fs::read_to_string(format!("/proc/{pid}/net/tcp")).unwrap_or_default();
    tcp.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let port_of = |addr: &str| u16::from_str_radix(addr.rsplit_once(':')?.1, 16).ok();
            let (local, remote, state, inode) = (f.get(1)?, f.get(2)?, f.get(3)?, f.get(9)?);
            let ours = inodes.iter().any(|i| i == inode);
            (*state == "01" && port_of(remote)? == port && ours).then(|| port_of(local))?
        })
        .collect()
}

/// Whether the child has exited (a zombie waiting to be reaped), without reaping it.
fn exited(p: &Proc) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", p.pid())).unwrap_or_default();
    stat.is_empty()
        || stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z'))
}

/// The fake master's receive: (the DEALER's identity, the decoded message), within 20 s.
async fn fake_recv(r: &mut zeromq::RouterSocket) -> (Vec<u8>, rmpv::Value) {
    use zeromq::SocketRecv;
    let m = tokio::time::timeout(Duration::from_secs(20), r.recv())
        .await
        .expect("a message in 20 s")
        .unwrap();
    let frames = m.into_vec();
    let id = frames[0].to_vec();
    let value = rmpv::decode::read_value(&mut &frames[1][..]).unwrap();
    (id, value)
}

/// The fake master's send: `payload` to the worker with identity `id`.
async fn fake_send(r: &mut zeromq::RouterSocket, id: &[u8], payload: Vec<u8>) {
    use zeromq::SocketSend;
    let mut m = zeromq::ZmqMessage::from(id.to_vec());
    m.push_back(payload.into());
    r.send(m).await.unwrap();
}

/// Master and two workers each in a network namespace of their own (and the target in a
/// fourth), joined by a bridge: the worker protocol across hosts, on addresses of this test.
#[test]
fn master_and_workers_on_separate_hosts() {
    let Some(locust) = peer("locust") else { return };
    let Some(_ip) = peer("ip") else { return };
    let _one = exclusive();
    let Some(net) = Netns::create() else { return };
    let dir = tempdir("netns");
    let target = "http://10.231.0.4:18080";
    let srv = Proc::spawn(
        net.exec("s")
            .arg(env!("CARGO_BIN_EXE_swarmlab"))
            .args(["serve", "--model", "epoll", "--bind", "10.231.0.4:18080"])
            .stdout(Stdio::null()),
    );
    let lf = locustfile(&dir, target);
    let master = Proc::spawn(
        net.exec("m")
            .arg(&locust)
            .arg("-f")
            .arg(&lf)
            .args([
                "--master",
                "--headless",
                "--expect-workers",
                "2",
                "-u",
                "20",
                "-r",
                "20",
                "-t",
                "6s",
            ])
            .args([
                "-H",
                target,
                "--master-bind-host",
                "10.231.0.1",
                "--master-bind-port",
                "5557",
            ])
            .arg("--csv")
            .arg(dir.join("master"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    );
    let workers: Vec<Proc> = ["a", "b"]
        .iter()
        .map(|ns| {
            Proc::spawn(
                net.exec(ns)
                    .arg(env!("CARGO_BIN_EXE_swarmlab"))
                    .args([
                        "swarm",
                        "--worker",
                        "--master-host",
                        "10.231.0.1",
                        "--master-port",
                        "5557",
                    ])
                    .arg("--csv")
                    .arg(dir.join(format!("w{ns}")))
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped()),
            )
        })
        .collect();
    let m = master.finish(Duration::from_secs(90));
    assert!(
        m.status.success(),
        "master: {}",
        String::from_utf8_lossy(&m.stderr)
    );
    let mut sum = 0;
    let mut logs = format!("--- master:\n{}", String::from_utf8_lossy(&m.stderr));
    for (w, ns) in workers.into_iter().zip(["a", "b"]) {
        let out = w.finish(Duration::from_secs(30));
        logs += &format!("--- worker {ns}:\n{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(
            out.status.code(),
            Some(0),
            "worker {ns}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (n, _) = aggregated(&dir.join(format!("w{ns}_stats.csv")));
        assert!(n > 0, "worker {ns} in its namespace did no requests");
        sum += n;
    }
    let (total, failures) = aggregated(&dir.join("master_stats.csv"));
    assert_master_counts_its_workers(total, sum, 20, &logs);
    assert_eq!(failures, 0);
    drop(srv);
}

/// Four network namespaces (m, a, b, s) on a bridge in a fifth, addresses 10.231.0.1-4/24;
/// removed on drop.
struct Netns {
    prefix: String,
}

impl Netns {
    fn create() -> Option<Netns> {
        let prefix = format!("swl{}", std::process::id() % 100_000);
        let net = Netns { prefix };
        let lan = net.name("lan");
        let ip = |args: &[&str]| {
            Command::new("ip").args(args).output().map(|o| {
                (
                    o.status.success(),
                    String::from_utf8_lossy(&o.stderr).into_owned(),
                )
            })
        };
        let mut steps: Vec<Vec<String>> = vec![vec!["netns".into(), "add".into(), lan.clone()]];
        steps.push(vec![
            "-n".into(),
            lan.clone(),
            "link".into(),
            "add".into(),
            "br0".into(),
            "type".into(),
            "bridge".into(),
        ]);
        steps.push(vec![
            "-n".into(),
            lan.clone(),
            "link".into(),
            "set".into(),
            "br0".into(),
            "up".into(),
        ]);
        for (i, host) in ["m", "a", "b", "s"].iter().enumerate() {
            let ns = net.name(host);
            let veth = format!("v{host}");
            steps.push(vec!["netns".into(), "add".into(), ns.clone()]);
            steps.push(vec![
                "-n".into(),
                lan.clone(),
                "link".into(),
                "add".into(),
                veth.clone(),
                "type".into(),
                "veth".into(),
                "peer".into(),
                "name".into(),
                "eth0".into(),
                "netns".into(),
                ns.clone(),
            ]);
            steps.push(vec![
                "-n".into(),
                lan.clone(),
                "link".into(),
                "set".into(),
                veth.clone(),
                "master".into(),
                "br0".into(),
                "up".into(),
            ]);
            steps.push(vec![
                "-n".into(),
                ns.clone(),
                "addr".into(),
                "add".into(),
                format!("10.231.0.{}/24", i + 1),
                "dev".into(),
                "eth0".into(),
            ]);
            steps.push(vec![
                "-n".into(),
                ns.clone(),
                "link".into(),
                "set".into(),
                "eth0".into(),
                "up".into(),
            ]);
            steps.push(vec![
                "-n".into(),
                ns.clone(),
                "link".into(),
                "set".into(),
                "lo".into(),
                "up".into(),
            ]);
        }
        for step in steps {
            let args: Vec<&str> = step.iter().map(String::as_str).collect();
            let why = match ip(&args) {
                Ok((true, _)) => continue,
                Ok((false, err)) => err.trim().to_string(),
                Err(e) => e.to_string(),
            };
            assert!(
                !peers_required(),
                "network namespaces are not available (ip {}: {why}) and SWARMLAB_REQUIRE_PEERS=1",
                args.join(" ")
            );
            eprintln!(
                "SKIPPED: network namespaces are not available here (ip {}: {why})",
                args.join(" ")
            );
            return None;
        }
        Some(net)
    }

    fn name(&self, host: &str) -> String {
        format!("{}{host}", self.prefix)
    }

    /// `ip netns exec <ns>`, ready for the program and its arguments.
    fn exec(&self, host: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name(host)]);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for host in ["m", "a", "b", "s", "lan"] {
            let _ = Command::new("ip")
                .args(["netns", "del", &self.name(host)])
                .output();
        }
    }
}

/// Issue 27: a worker whose "master" accepts the connection and never speaks (or stops
/// mid-greeting) still ends at once on SIGINT and on SIGTERM; it went on waiting for the
/// ZeroMQ handshake and ignored both.
#[test]
fn a_worker_facing_a_silent_peer_ends_on_a_signal() {
    use std::io::Write;
    for (sig, greeting) in [
        (libc::SIGINT, &b""[..]),
        (libc::SIGTERM, &b""[..]),
        (libc::SIGINT, &b"\xff\0\0\0\0\0\0\0\x01\x7f"[..]),
    ] {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let greeting = greeting.to_vec();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for s in listener.incoming() {
                let Ok(mut s) = s else { return };
                let _ = s.write_all(&greeting);
                held.push(s); // open, and silent
            }
        });
        let w = worker(port, &["-H", "http://127.0.0.1:1"]);
        std::thread::sleep(Duration::from_millis(1500));
        w.signal(sig);
        let t = Instant::now();
        let out = w.finish(Duration::from_secs(10));
        assert!(
            t.elapsed() < Duration::from_secs(4),
            "signal {sig}: the worker took {:?} to end: {}",
            t.elapsed(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A user's exception on a swarmlab worker reaches the master's Exceptions tab (its
/// `_exceptions.csv`), as a Python worker's `exception` messages do.
#[test]
fn a_workers_user_exceptions_reach_the_master() {
    let Some(locust) = peer("locust") else { return };
    let srv = Server::start("epoll", &[]);
    let dir = tempdir("exceptions");
    let lf = dir.join("raising.py");
    std::fs::write(
        &lf,
        "from locust import HttpUser, constant, task\n\n\n\
         class Raising(HttpUser):\n    wait_time = constant(0.2)\n\n    @task\n    \
         def get_then_raise(self):\n        self.client.get(\"/\")\n        \
         raise ValueError(\"boom from a task\")\n",
    )
    .unwrap();
    let port = free_port();
    let master = Proc::spawn(
        Command::new(&locust)
            .arg("-f")
            .arg(&lf)
            .args(["--master", "--headless", "--expect-workers", "1"])
            .args(["-u", "4", "-r", "4", "-t", "4s", "-H", &srv.url()])
            .args([
                "--master-bind-host",
                "127.0.0.1",
                "--master-bind-port",
                &port.to_string(),
            ])
            .arg("--csv")
            .arg(dir.join("master"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    );
    let w = worker(port, &["-f", lf.to_str().unwrap(), "-H", &srv.url()]);
    let m = master.finish(Duration::from_secs(90));
    let out = w.finish(Duration::from_secs(30));
    let logs = format!(
        "master: {}\nworker: {}",
        String::from_utf8_lossy(&m.stderr),
        String::from_utf8_lossy(&out.stderr)
    );
    let (requests, _) = aggregated(&dir.join("master_stats.csv"));
    assert!(requests > 0, "no requests: {logs}");
    let csv = std::fs::read_to_string(dir.join("master_exceptions.csv")).unwrap();
    let row = csv
        .lines()
        .find(|l| l.contains("boom from a task"))
        .unwrap_or_else(|| panic!("no exception row in the master's CSV:\n{csv}\n{logs}"));
    let count: u64 = row.split(',').next().unwrap().trim().parse().unwrap();
    // one per task run: every request is followed by one exception
    assert!(
        count * 10 >= requests * 8 && count <= requests,
        "{count} exceptions for {requests} requests: {row}\n{logs}"
    );
}
