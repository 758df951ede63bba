//! The web UI in a real browser: Debian's chromium driven by playwright-core (`tests/web/ui.cjs`)
//! against `swarmlab swarm` (web mode) loading a `swarmlab serve` model. Screenshots of the
//! Statistics and Charts tabs land in `target/web-screenshots/`.
//!
//! Needs `node`, `chromium` and the npm package `playwright-core` (in
//! `target/ci-node/node_modules`, where `.ci/run` installs it, or at `SWARMLAB_PLAYWRIGHT_CORE`);
//! skipped with the reason when one is missing, a failure under `SWARMLAB_REQUIRE_PEERS=1`.

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{peer, peers_required, Server};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn playwright_core() -> Option<PathBuf> {
    let path = std::env::var_os("SWARMLAB_PLAYWRIGHT_CORE")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/ci-node/node_modules/playwright-core"));
    if path.join("package.json").is_file() {
        return Some(path);
    }
    assert!(
        !peers_required(),
        "playwright-core is not at {} and SWARMLAB_REQUIRE_PEERS=1",
        path.display()
    );
    eprintln!(
        "SKIPPED: playwright-core is not at {} (npm install --prefix target/ci-node playwright-core)",
        path.display()
    );
    None
}

/// `swarmlab swarm --web-port 0 ARGS` and the address its UI listens on (its first line).
fn web_ui(args: &[&str]) -> (std::process::Child, String) {
    let mut ui = Command::new(env!("CARGO_BIN_EXE_swarmlab"))
        .args(["swarm", "--web-port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(ui.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("web UI at ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    (ui, addr)
}

#[test]
fn a_locust_user_runs_a_test_in_the_browser() {
    let (Some(node), Some(chromium), Some(pw)) =
        (peer("node"), peer("chromium"), playwright_core())
    else {
        return;
    };
    let target = Server::start("epoll", &[]);
    let (mut ui, addr) = web_ui(&["-u", "1", "-r", "1"]);
    let out = workspace().join("target/web-screenshots");
    let run = Command::new(node)
        .arg(workspace().join("crates/cli/tests/web/ui.cjs"))
        .args([addr.as_str(), target.url().as_str(), out.to_str().unwrap()])
        .env("PLAYWRIGHT_CORE", &pw)
        .env("CHROMIUM", &chromium)
        .output()
        .unwrap();
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(ui.id() as i32, libc::SIGINT) };
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = ui.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "swarm did not quit on SIGINT");
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(run.status.success(), "the browser run failed:\n{log}");
    assert!(log.contains("ui: ok"), "{log}");
    assert_eq!(status.code(), Some(0), "swarm's exit after the UI run");
    for shot in ["statistics.png", "charts.png"] {
        let len = std::fs::metadata(out.join(shot)).map_or(0, |m| m.len());
        assert!(len > 10_000, "{shot}: {len} bytes");
    }
    let csv = std::fs::read_to_string(out.join("requests.csv")).unwrap();
    assert!(csv.lines().any(|l| l.starts_with(",Aggregated,")), "{csv}");
}

/// Issue 27: a page of another origin, in a real browser, cannot start a load through the UI (a
/// cross-site form POST and a no-cors fetch to `/swarm`); the UI stays ready.
#[test]
fn a_page_of_another_origin_cannot_start_a_load() {
    let (Some(node), Some(chromium), Some(pw)) =
        (peer("node"), peer("chromium"), playwright_core())
    else {
        return;
    };
    let target = Server::start("epoll", &[]);
    let (mut ui, addr) = web_ui(&[]);
    let run = Command::new(node)
        .arg(workspace().join("crates/cli/tests/web/cross_site.cjs"))
        .args([addr.as_str(), target.url().as_str()])
        .env("PLAYWRIGHT_CORE", &pw)
        .env("CHROMIUM", &chromium)
        .output()
        .unwrap();
    let _ = ui.kill();
    let _ = ui.wait();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        run.status.success() && log.contains("cross-site: ok"),
        "{log}"
    );
}
