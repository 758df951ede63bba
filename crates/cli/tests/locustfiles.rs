//! Locustfiles run unchanged: each of `tests/locustfiles/*.py` by the venv's real Locust
//! (`locust --headless`) and by `swarmlab swarm -f` against one swarmlab server; the same
//! (Type, Name) rows, each name's share of requests within 5 percentage points of Locust's,
//! failures where Locust has them. And the classic assignment's locustfile against every model.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{peer, Server};

fn locustfile(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/locustfiles")
        .join(name)
}

fn tempdir(name: &str) -> PathBuf {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("lf-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// (Type, Name) -> (requests, failures) from a `_stats.csv`, Aggregated left out.
fn rows(stats_csv: &Path) -> BTreeMap<(String, String), (u64, u64)> {
    let text = std::fs::read_to_string(stats_csv)
        .unwrap_or_else(|e| panic!("{}: {e}", stats_csv.display()));
    text.lines()
        .skip(1)
        .filter(|l| !l.starts_with(",Aggregated,"))
        .map(|l| {
            // names here have no commas or quotes
            let f: Vec<&str> = l.split(',').collect();
            (
                (f[0].to_string(), f[1].to_string()),
                (f[2].parse().unwrap(), f[3].parse().unwrap()),
            )
        })
        .collect()
}

/// Runs `file` with Locust and with swarmlab for `secs` and compares what they did.
/// `not_in_locusts_csv`: rows Locust does count (its console summary shows them) but leaves
/// out of its final `_stats.csv`: requests made by `on_stop`, which runs after Locust wrote it.
fn differential(file: &str, users: u32, secs: u32, extra: &[&str], not_in_locusts_csv: &[&str]) {
    let Some(locust) = peer("locust") else { return };
    let srv = Server::start("epoll", &[]);
    let dir = tempdir(file);
    let lf = locustfile(file);
    let (u, t) = (users.to_string(), format!("{secs}s"));
    let common = [
        "-u",
        &u,
        "-r",
        &u,
        "-t",
        &t,
        "-H",
        &srv.url(),
        "--only-summary",
        "--exit-code-on-error",
        "0",
    ];
    let theirs = Command::new(&locust)
        .arg("-f")
        .arg(&lf)
        .arg("--headless")
        .args(common)
        .arg("--csv")
        .arg(dir.join("locust"))
        .args(extra)
        .output()
        .unwrap();
    assert!(
        theirs.status.success(),
        "locust: {}",
        String::from_utf8_lossy(&theirs.stderr)
    );
    let ours = Command::new(env!("CARGO_BIN_EXE_swarmlab"))
        .args(["swarm", "--headless", "--threads", "1", "-f"])
        .arg(&lf)
        .args(common)
        .arg("--csv")
        .arg(dir.join("swarm"))
        .args(extra)
        .output()
        .unwrap();
    assert!(
        ours.status.success(),
        "swarmlab: {}",
        String::from_utf8_lossy(&ours.stderr)
    );
    let (l, mut s) = (
        rows(&dir.join("locust_stats.csv")),
        rows(&dir.join("swarm_stats.csv")),
    );
    for name in not_in_locusts_csv {
        let key = s.keys().find(|(_, n)| n == name).cloned();
        let key = key.unwrap_or_else(|| panic!("{file}: swarmlab has no {name} row"));
        s.remove(&key);
    }
    let names = |m: &BTreeMap<(String, String), (u64, u64)>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(&l),
        names(&s),
        "{file}: the (Type, Name) rows, Locust's then swarmlab's"
    );
    let total =
        |m: &BTreeMap<(String, String), (u64, u64)>| m.values().map(|v| v.0).sum::<u64>() as f64;
    let (lt, st) = (total(&l), total(&s));
    assert!(lt >= 50.0, "{file}: Locust did only {lt} requests");
    for (key, &(ln, lf)) in &l {
        let (sn, sf) = s[key];
        let (ls, ss) = (ln as f64 / lt, sn as f64 / st);
        assert!(
            (ls - ss).abs() <= 0.05,
            "{file}: {key:?} is {:.1} % of Locust's requests ({ln} of {lt}) and {:.1} % of swarmlab's ({sn} of {st})",
            100.0 * ls,
            100.0 * ss
        );
        let (lr, sr) = (lf as f64 / ln.max(1) as f64, sf as f64 / sn.max(1) as f64);
        assert!(
            (lf > 0) == (sf > 0) && (lr - sr).abs() <= 0.05,
            "{file}: {key:?} failures: Locust {lf} of {ln}, swarmlab {sf} of {sn}"
        );
    }
}

#[test]
fn assignment() {
    differential("assignment.py", 40, 6, &[], &[]);
}

#[test]
fn weights() {
    differential("weights.py", 10, 4, &[], &[]);
}

#[test]
fn task_lists_and_dicts() {
    differential("task_collections.py", 10, 4, &[], &[]);
}

#[test]
fn nested_task_set_with_interrupt() {
    differential("taskset.py", 10, 4, &[], &[]);
}

#[test]
fn sequential_task_set() {
    differential("sequential.py", 10, 4, &[], &[]);
}

#[test]
fn on_start_and_on_stop() {
    differential("hooks.py", 10, 4, &[], &["logout"]);
}

#[test]
fn catch_response() {
    differential("catch.py", 10, 4, &[], &[]);
}

#[test]
fn literals_params_json() {
    differential("literals.py", 10, 4, &[], &[]);
}

#[test]
fn fasthttpuser_and_fixed_count() {
    differential("fasthttp.py", 20, 5, &[], &[]);
}

#[test]
fn tags() {
    differential("tags.py", 10, 4, &["--tags", "web", "api"], &[]);
}

/// The assignment's locustfile, unchanged, against every model: it runs and every request
/// succeeds.
#[test]
fn the_assignment_locustfile_runs_against_every_model() {
    let Some(_python) = peer("python3") else {
        return;
    };
    let models = Command::new(env!("CARGO_BIN_EXE_swarmlab"))
        .args(["serve", "--list"])
        .output()
        .unwrap();
    for model in String::from_utf8_lossy(&models.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
    {
        let model: &'static str = Box::leak(model.to_string().into_boxed_str());
        let Some(srv) = Server::try_start(model, &[]) else {
            continue;
        };
        let dir = tempdir(&format!("assign-{model}"));
        let out = Command::new(env!("CARGO_BIN_EXE_swarmlab"))
            .args(["swarm", "--headless", "-f"])
            .arg(locustfile("assignment.py"))
            .args([
                "-u",
                "20",
                "-r",
                "20",
                "-t",
                "3s",
                "-H",
                &srv.url(),
                "--only-summary",
                "--csv",
            ])
            .arg(dir.join("run"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{model}: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        let r = rows(&dir.join("run_stats.csv"));
        let (n, f) = r.values().fold((0, 0), |(n, f), v| (n + v.0, f + v.1));
        assert!(n >= 20 && f == 0, "{model}: {n} requests, {f} failures");
        assert!(srv.stop().success(), "{model}");
    }
}

/// (User Count, Total Request Count) of each Aggregated row of a `_stats_history.csv`.
fn history(path: &Path) -> Vec<(u64, u64)> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| l.contains(",Aggregated,"))
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[1].parse().unwrap(), f[17].parse().unwrap())
        })
        .collect()
}

/// Issue 28: `_stats_history.csv` (and the charts drawn from the same rows) reads as Locust's,
/// second by second: a row at the start with no users, then each second's users before the
/// step due that second (at `-r 10`: 0, 10, 20, 30, 40), beside the requests made so far; no
/// row after the end. swarmlab's started a second late and read a step ahead.
#[test]
fn the_history_reads_as_locusts_second_by_second() {
    let Some(locust) = peer("locust") else { return };
    let srv = Server::start("epoll", &[]);
    let dir = tempdir("history");
    let lf = dir.join("paced.py");
    std::fs::write(
        &lf,
        "from locust import HttpUser, constant, task\n\n\nclass Paced(HttpUser):\n    \
         wait_time = constant(0.5)\n\n    @task\n    def t(self):\n        self.client.get(\"/\")\n",
    )
    .unwrap();
    let url = srv.url();
    let common = [
        "-u",
        "40",
        "-r",
        "10",
        "-t",
        "6s",
        "-H",
        &url,
        "--only-summary",
    ];
    let theirs = Command::new(&locust)
        .arg("-f")
        .arg(&lf)
        .arg("--headless")
        .args(common)
        .arg("--csv")
        .arg(dir.join("locust"))
        .output()
        .unwrap();
    assert!(
        theirs.status.success(),
        "{}",
        String::from_utf8_lossy(&theirs.stderr)
    );
    let ours = Command::new(env!("CARGO_BIN_EXE_swarmlab"))
        .args(["swarm", "--headless", "-f"])
        .arg(&lf)
        .args(common)
        .arg("--csv")
        .arg(dir.join("swarm"))
        .output()
        .unwrap();
    assert!(
        ours.status.success(),
        "{}",
        String::from_utf8_lossy(&ours.stderr)
    );
    let (l, s) = (
        history(&dir.join("locust_stats_history.csv")),
        history(&dir.join("swarm_stats_history.csv")),
    );
    let users = |h: &[(u64, u64)]| h.iter().map(|r| r.0).collect::<Vec<_>>();
    assert_eq!(
        users(&l),
        users(&s),
        "User Count by second: Locust {l:?}, swarmlab {s:?}"
    );
    assert_eq!(users(&s)[..5], [0, 10, 20, 30, 40], "{s:?}");
    for (i, (a, b)) in l.iter().zip(&s).enumerate() {
        // 2 requests a user a second: the same totals, give or take a user's request or two
        // of timing on a loaded machine
        let slack = 4 + a.1 / 10;
        assert!(
            a.1.abs_diff(b.1) <= slack,
            "second {i}: Locust {} requests, swarmlab {}: Locust {l:?}, swarmlab {s:?}",
            a.1,
            b.1
        );
    }
}
