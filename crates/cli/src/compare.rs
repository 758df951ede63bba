//! `swarmlab compare`: every model under the same load, one after another, each ramped until its
//! first failure or until all users are up and held; the server's own costs beside the
//! clients' view; a report that says which design wins and why.
//!
//! Each model runs as a child process (`swarmlab serve --model M` on a free loopback port),
//! pinned to CPU 0 while the in-process generator is pinned to CPU 1 (when there are two cores).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use swarmlab_report::{Client, Lang, ModelResult, Outcome, Results, Sample, Server, Settings};
use swarmlab_server::Model;
use swarmlab_swarm::web::{self, App, WebOptions};
use swarmlab_swarm::{Observer, Plan, Stats, Status, Summary, Swarm, Target, WaitTime, Workload};

use crate::args::{CompareArgs, WorkloadKind};
use crate::csv_files::CsvFiles;
use crate::procfs;
use crate::Failure;

/// What each user sends in a built-in workload.
struct BuiltIn {
    /// How the report names it.
    what: &'static str,
    method: &'static str,
    path: &'static str,
    headers: &'static [(&'static str, &'static str)],
    body: Option<&'static str>,
}

fn request_of(kind: WorkloadKind) -> BuiltIn {
    let get = |what, path| BuiltIn {
        what,
        method: "GET",
        path,
        headers: &[],
        body: None,
    };
    match kind {
        WorkloadKind::Hello => get("GET /", "/"),
        WorkloadKind::Echo => BuiltIn {
            what: "POST /echo",
            method: "POST",
            path: "/echo",
            headers: &[],
            body: Some("hello from swarmlab"),
        },
        WorkloadKind::Sleep => get("GET /sleep?ms=100", "/sleep?ms=100"),
        WorkloadKind::Cpu => get("GET /cpu?us=1000", "/cpu?us=1000"),
        WorkloadKind::Close => BuiltIn {
            headers: &[("Connection", "close")],
            ..get("GET / (Connection: close)", "/")
        },
    }
}

/// The users every model gets: the built-in workload, or a locustfile's (or scenario's) users
/// moved to `target`.
fn users_for(a: &CompareArgs, from_file: Option<&Workload>, target: &Target) -> Workload {
    match from_file {
        Some(w) => w.retarget(target),
        None => {
            let r = request_of(a.workload);
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

/// Runs `compare`; returns the exit code.
pub fn run(a: &CompareArgs) -> Result<u8, Failure> {
    let models = parse_models(&a.models).map_err(Failure::usage)?;
    // A locustfile is read (and refused, if it must be) before anything runs.
    let from_file = a
        .locustfile
        .as_ref()
        .map(|file| {
            let placeholder = Target::parse("http://127.0.0.1:9").expect("a literal URL");
            let opts = swarmlab_swarm::locustfile::Options {
                host: Some(placeholder.clone()),
                wait: WaitTime::Constant(1.0),
                ..Default::default()
            };
            let name = file.to_string_lossy();
            if file.extension().is_some_and(|e| e == "py") {
                swarmlab_swarm::locustfile::load(&name, &opts).map_err(anyhow::Error::from)
            } else {
                Workload::load(&name, Some(&placeholder), WaitTime::Constant(1.0))
                    .map_err(anyhow::Error::from)
            }
        })
        .transpose()
        .map_err(Failure::usage)?;
    let targets = a
        .target
        .iter()
        .map(|t| parse_target(t))
        .collect::<anyhow::Result<Vec<_>>>()
        .map_err(Failure::usage)?;
    let users = a
        .users
        .map_or(if a.quick { 1000 } else { 10_000 }, |u| u as usize);
    let spawn_rate = a.spawn_rate.unwrap_or(if a.quick { 500.0 } else { 1000.0 });
    // 10 s ramps 10,000 users at 1,000/s and 3 s more holds them: ten models stay under 3 minutes.
    let max_time = a
        .max_time
        .unwrap_or(Duration::from_secs(if a.quick { 5 } else { 13 }));
    let machine = procfs::machine();
    let pinned = machine.cores >= 2;
    swarmlab_server::sys::raise_fd_limit();
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("cannot create {}", a.out.display()))?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("installing signal handlers")?;
    }
    let exe = std::env::current_exe().context("cannot find the swarmlab executable")?;
    if pinned {
        pin_self(1);
    }
    let settings = Settings {
        workload: match &a.locustfile {
            Some(f) => format!("users of {}", f.display()),
            None => format!("{:?}", a.workload).to_lowercase(),
        },
        request: match &a.locustfile {
            Some(f) => format!("the tasks of {}", f.display()),
            None => request_of(a.workload).what.to_string(),
        },
        users,
        spawn_rate,
        wait_time: "constant(1)".into(),
        max_time_s: max_time.as_secs_f64(),
        pinned,
        started: swarmlab_swarm::output::utc(swarmlab_swarm::engine::unix_now() as u64),
    };
    println!(
        "compare: {} model(s){}, {} users at {}/s, `{}`, at most {} s each{}",
        models.len(),
        if targets.is_empty() {
            String::new()
        } else {
            format!(" + {} target(s)", targets.len())
        },
        users,
        spawn_rate,
        settings.request,
        max_time.as_secs(),
        if pinned {
            ", server on CPU 0, generator on CPU 1"
        } else {
            ""
        }
    );
    // The live page: which model runs now, its charts, then the report. It reads what the
    // engine already has, on its own thread: it cannot slow the measurement.
    let live = (!a.no_web).then(App::for_compare);
    let web = match &live {
        None => None,
        Some(app) => {
            let opts = WebOptions {
                bind: SocketAddr::from(([127, 0, 0, 1], a.web_port)),
                login: None,
            };
            match web::start(Arc::clone(app), &opts) {
                Ok(w) => {
                    println!("live view: http://{} (--no-web: none)", w.addr);
                    Some(w)
                }
                Err(e) => {
                    eprintln!(
                        "swarmlab: warning: no live view: cannot serve it on {}: {e} (choose another --web-port, or --no-web)",
                        opts.bind
                    );
                    None
                }
            }
        }
    };
    let live = web.as_ref().and(live);
    let bars = indicatif::MultiProgress::new();
    let mut rows = Vec::new();
    let plan = Plan {
        users,
        spawn_rate,
        run_time: Some(max_time),
        stop_on_failure: true,
        threads: if pinned { 1 } else { machine.cores },
        ..Plan::default()
    };
    let runs: Vec<_> = models
        .iter()
        .map(|m| (m.name().to_string(), None))
        .chain(targets.into_iter().map(|(n, u, p)| (n, Some((u, p)))))
        .collect();
    let total = runs.len();
    for (i, (name, external)) in runs.into_iter().enumerate() {
        let shown = live.as_deref().map(|app| Live {
            app,
            banner: format!(
                "compare: {name} ({} of {total}), {} users at {spawn_rate}/s, at most {} s; about {} s left in all",
                i + 1,
                users,
                max_time.as_secs(),
                (total - i) as u64 * (max_time.as_secs() + 2)
            ),
        });
        if stop.load(Ordering::Relaxed) {
            rows.push(skipped(
                &name,
                external.is_some(),
                "interrupted before it ran".into(),
            ));
            continue;
        }
        let bar = bars.add(indicatif::ProgressBar::new_spinner());
        bar.set_message(format!("{name}: starting"));
        let ctx = Ctx {
            a,
            plan: &plan,
            stop: &stop,
            bar: &bar,
            live: shown.as_ref(),
            users: from_file.as_ref(),
        };
        let row = match external {
            None => run_model(&ctx, &exe, &name, pinned),
            Some((url, pid)) => run_target(&ctx, &name, &url, pid),
        };
        bar.finish_and_clear();
        // Once: above the bars on a terminal, as a plain line otherwise (bars hidden).
        if bars.is_hidden() {
            println!("{}", describe(&row));
        } else {
            let _ = bars.println(describe(&row));
        }
        rows.push(row);
    }
    let results = Results {
        machine,
        settings,
        rows,
    };
    write_reports(&results, &a.out, a.lang)?;
    if let (Some(app), Some(w)) = (&live, &web) {
        app.set_banner("compare: finished");
        app.set_report(swarmlab_report::html::render_html(&results, a.lang));
        if app.visits() > 0 && !stop.load(Ordering::Relaxed) {
            println!(
                "the live view shows the report at http://{}/compare/report for 30 s more (Ctrl-C ends it now)",
                w.addr
            );
            let until = Instant::now() + Duration::from_secs(30);
            while Instant::now() < until && !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    println!("\nranking (peak RPS over the best 10 s):");
    for (i, (m, c, _)) in results.ranking().iter().enumerate() {
        println!(
            "  {}. {:<8} {:>10.1} req/s  p99 {:.2} ms  failures {}",
            i + 1,
            m.name,
            c.peak_rps,
            c.p99_ms,
            c.failures
        );
    }
    println!(
        "reports: {}/index.html, {}/report.md, {}/results.json",
        a.out.display(),
        a.out.display(),
        a.out.display()
    );
    Ok(0)
}

fn write_reports(results: &Results, out: &Path, lang: Lang) -> Result<(), Failure> {
    for (file, text) in [
        (
            "index.html",
            swarmlab_report::html::render_html(results, lang),
        ),
        (
            "report.md",
            swarmlab_report::markdown::render_markdown(results, lang),
        ),
        ("results.json", swarmlab_report::render_json(results)),
    ] {
        let path = out.join(file);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

fn describe(row: &ModelResult) -> String {
    match &row.outcome {
        Outcome::Ran { client, server } => format!(
            "{}: peak {:.1} req/s, {} requests, {} failures{}, p99 {:.2} ms{}{}",
            row.name,
            client.peak_rps,
            client.requests,
            client.failures,
            client
                .before_first_failure
                .map_or(String::new(), |n| format!(" (first after {n})")),
            client.p99_ms,
            server.as_ref().map_or(String::new(), |s| format!(
                ", server {:.1} µs CPU/request, {:.1} MiB, exit {}",
                s.cpu_us_per_request,
                s.peak_rss_mib,
                if s.clean_exit { "clean" } else { "NOT clean" }
            )),
            client
                .saturated
                .as_ref()
                .map_or(String::new(), |w| format!(" [{w}]")),
        ),
        Outcome::Skipped { reason } => format!("{}: not run: {reason}", row.name),
    }
}

fn skipped(name: &str, external: bool, reason: String) -> ModelResult {
    ModelResult {
        name: name.into(),
        external,
        outcome: Outcome::Skipped { reason },
    }
}

/// What every run of a comparison shares.
struct Ctx<'a> {
    a: &'a CompareArgs,
    plan: &'a Plan,
    stop: &'a AtomicBool,
    bar: &'a indicatif::ProgressBar,
    live: Option<&'a Live<'a>>,
    /// A locustfile's users (`--locustfile`), else the built-in workload.
    users: Option<&'a Workload>,
}

/// The live page and what it says above the model that runs now.
struct Live<'a> {
    app: &'a App,
    banner: String,
}

/// Starts `swarmlab serve --model name`, loads it, stops it, and measures both sides.
fn run_model(ctx: &Ctx<'_>, exe: &Path, name: &str, pinned: bool) -> ModelResult {
    let bar = ctx.bar;
    let (mut child, addr) = match start_server(exe, name) {
        Ok(v) => v,
        Err(e) => return skipped(name, false, format!("{e:#}")),
    };
    if pinned {
        pin_pid(child.id(), 0);
    }
    let before = procfs::children_usage();
    let pid = child.id();
    let url = format!("http://{addr}");
    let outcome = load(ctx, &url, name, Some(pid));
    let (summary, tree) = match outcome {
        Ok(v) => v,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            return skipped(name, false, format!("{e:#}"));
        }
    };
    bar.set_message(format!("{name}: stopping the server"));
    let clean_exit = stop_server(&mut child);
    let after = procfs::children_usage();
    let cpu_s = after.cpu_s - before.cpu_s;
    let client = client_figures(&summary);
    let server = Server {
        cpu_s,
        cpu_us_per_request: cpu_s * 1e6 / (client.requests.max(1) as f64),
        peak_rss_mib: tree.rss as f64 / (1024.0 * 1024.0),
        voluntary_switches: after.voluntary - before.voluntary,
        involuntary_switches: after.involuntary - before.involuntary,
        peak_threads: tree.threads,
        peak_processes: tree.processes,
        clean_exit,
    };
    ModelResult {
        name: name.into(),
        external: false,
        outcome: Outcome::Ran {
            client: Box::new(client),
            server: Some(server),
        },
    }
}

/// An external server (`--target NAME=URL[@PID]`): server figures only with a pid.
fn run_target(ctx: &Ctx<'_>, name: &str, url: &str, pid: Option<u32>) -> ModelResult {
    let cpu_before = pid.and_then(procfs::process_cpu_s);
    match load(ctx, url, name, pid) {
        Ok((summary, tree)) => {
            let client = client_figures(&summary);
            let server = match (pid, cpu_before, pid.and_then(procfs::process_cpu_s)) {
                (Some(_), Some(b), Some(e)) => Some(Server {
                    cpu_s: e - b,
                    cpu_us_per_request: (e - b) * 1e6 / (client.requests.max(1) as f64),
                    peak_rss_mib: tree.rss as f64 / (1024.0 * 1024.0),
                    voluntary_switches: 0,
                    involuntary_switches: 0,
                    peak_threads: tree.threads,
                    peak_processes: tree.processes,
                    clean_exit: true,
                }),
                _ => None,
            };
            ModelResult {
                name: name.into(),
                external: true,
                outcome: Outcome::Ran {
                    client: Box::new(client),
                    server,
                },
            }
        }
        Err(e) => skipped(name, true, format!("{e:#}")),
    }
}

/// The swarm against `url`, sampling the server's tree (if any) once a second.
fn load(
    ctx: &Ctx<'_>,
    url: &str,
    name: &str,
    pid: Option<u32>,
) -> anyhow::Result<(Summary, procfs::TreeSample)> {
    let (a, plan, stop, bar, live) = (ctx.a, ctx.plan, ctx.stop, ctx.bar, ctx.live);
    let target = Target::parse(url)?;
    wait_until_answering(target.addr)?;
    let workload = users_for(a, ctx.users, &target);
    let mut watcher = Watcher {
        name,
        bar,
        pid,
        peak: procfs::TreeSample::default(),
        started: Instant::now(),
        entries: workload.entries.clone(),
        csvs: CsvFiles::create(&a.out.join(name), false)?,
    };
    let swarm = Swarm::new(workload, plan.clone());
    if let Some(live) = live {
        live.app.show(swarm.clone(), &live.banner);
    }
    let summary = swarmlab_swarm::drive(&swarm, plan, stop, &mut watcher);
    watcher.csvs.finish(&summary.stats, &watcher.entries)?;
    Ok((summary, watcher.peak))
}

struct Watcher<'a> {
    name: &'a str,
    bar: &'a indicatif::ProgressBar,
    pid: Option<u32>,
    peak: procfs::TreeSample,
    started: Instant,
    entries: Vec<swarmlab_swarm::Entry>,
    /// Each model's Locust CSVs: `<out>/<model>_stats.csv` and the other three.
    csvs: CsvFiles,
}

impl Observer for Watcher<'_> {
    fn second(&mut self, stats: &Stats, status: &Status) {
        if let Some(pid) = self.pid {
            let s = procfs::sample_tree(pid);
            self.peak.rss = self.peak.rss.max(s.rss);
            self.peak.threads = self.peak.threads.max(s.threads);
            self.peak.processes = self.peak.processes.max(s.processes);
        }
        self.csvs.second(stats, &self.entries, status.users);
        let (rps, _) = stats.current_rates(None);
        self.bar.set_message(format!(
            "{}: users {}  rps {:.0}  failures {}  elapsed {:.0} s",
            self.name,
            status.users,
            rps,
            stats.total.num_failures,
            self.started.elapsed().as_secs_f64()
        ));
        self.bar.tick();
    }
}

/// The clients' figures from a swarm summary.
fn client_figures(s: &Summary) -> Client {
    let t = &s.stats.total;
    let per_second: Vec<u64> = s.history.iter().map(|h| h.completed_2s_ago).collect();
    let window = per_second.len().clamp(1, 10);
    let peak = per_second
        .windows(window)
        .map(|w| w.iter().sum::<u64>())
        .max()
        .unwrap_or(0) as f64
        / window as f64;
    let mut kinds: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    for ((_, error), row) in &s.stats.errors {
        *kinds.entry(error.clone()).or_default() += row.occurrences;
    }
    let mut failure_kinds: Vec<(String, u64)> = kinds.into_iter().collect();
    failure_kinds.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    let t0 = s.history.first().map_or(0, |h| h.time);
    Client {
        requests: t.num_requests,
        failures: t.num_failures,
        before_first_failure: s.before_first_failure,
        rps: t.num_requests as f64 / s.duration.as_secs_f64().max(1e-3),
        // a run shorter than the window still has a peak: its whole-run rate at least
        peak_rps: peak.max(if per_second.len() < 10 {
            t.num_requests as f64 / s.duration.as_secs_f64().max(1e-3)
        } else {
            0.0
        }),
        avg_ms: t.avg_ms(),
        p50_ms: t.percentile_ms(0.5).unwrap_or(0.0),
        p95_ms: t.percentile_ms(0.95).unwrap_or(0.0),
        p99_ms: t.percentile_ms(0.99).unwrap_or(0.0),
        max_ms: t.max_ms(),
        duration_s: s.duration.as_secs_f64(),
        users: s.peak_users,
        failure_kinds,
        saturated: s.saturated.clone(),
        timeline: s
            .history
            .iter()
            .map(|h| Sample {
                t: (h.time - t0) as f64,
                users: h.users,
                rps: h.rps,
                p50_ms: h.p50_ms,
                p95_ms: h.p95_ms,
            })
            .collect(),
    }
}

/// Spawns `swarmlab serve`, reads its address; an exit before it listens is a reason to skip.
fn start_server(exe: &Path, name: &str) -> anyhow::Result<(Child, SocketAddr)> {
    let mut child = Command::new(exe)
        .args(["serve", "--model", name, "--bind", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start swarmlab serve")?;
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(10)).unwrap_or_default();
    let addr = line
        .strip_prefix("listening on http://")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|a| a.parse().ok());
    match addr {
        Some(addr) => Ok((child, addr)),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            let reason = err
                .lines()
                .last()
                .unwrap_or("the server did not start")
                .trim_start_matches("swarmlab: error: ");
            Err(anyhow!("{reason}"))
        }
    }
}

fn wait_until_answering(addr: SocketAddr) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            if s.write_all(b"GET / HTTP/1.1\r\nHost: compare\r\nConnection: close\r\n\r\n")
                .is_ok()
            {
                let mut first = [0u8; 12];
                if s.read_exact(&mut first).is_ok() && first.starts_with(b"HTTP/1.") {
                    return Ok(());
                }
            }
        }
        if Instant::now() > deadline {
            return Err(anyhow!("{addr} does not answer HTTP"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// SIGTERM, then wait (bounded); whether it exited 0 on its own.
fn stop_server(child: &mut Child) -> bool {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.success(),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
        }
    }
}

fn pin_self(cpu: usize) {
    let mut set = nix::sched::CpuSet::new();
    if set.set(cpu).is_ok() {
        let _ = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set);
    }
}

fn pin_pid(pid: u32, cpu: usize) {
    let mut set = nix::sched::CpuSet::new();
    if set.set(cpu).is_ok() {
        let _ = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(pid as i32), &set);
    }
}

fn parse_models(list: &str) -> anyhow::Result<Vec<Model>> {
    if list == "all" {
        return Ok(Model::ALL.to_vec());
    }
    list.split(',')
        .map(|m| m.trim().parse::<Model>().map_err(|e| anyhow!("{e}")))
        .collect()
}

/// `NAME=URL[@PID]`.
fn parse_target(t: &str) -> anyhow::Result<(String, String, Option<u32>)> {
    let (name, rest) = t
        .split_once('=')
        .ok_or_else(|| anyhow!("--target '{t}' must be NAME=URL[@PID]"))?;
    let (url, pid) = match rest.rsplit_once('@') {
        Some((u, p)) => (
            u,
            Some(
                p.parse::<u32>()
                    .map_err(|_| anyhow!("--target '{t}': '{p}' is not a pid"))?,
            ),
        ),
        None => (rest, None),
    };
    Target::parse(url)?;
    if name.is_empty() {
        return Err(anyhow!("--target '{t}' needs a name"));
    }
    Ok((name.to_string(), url.to_string(), pid))
}
