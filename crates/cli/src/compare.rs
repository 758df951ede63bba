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
use swarmlab_locust::web::{self, App, WebOptions};
use swarmlab_report::capacity::Params;
use swarmlab_report::sections;
use swarmlab_report::{
    Baseline, CapacityRow, Client, Lang, LimitedBy, ModelResult, Outcome, Results, Sample,
    ScalePoint, Server, Settings, WorkloadRun,
};
use swarmlab_server::Model;
use swarmlab_swarm::{Observer, Plan, Stats, Status, Summary, Swarm, Target, WaitTime, Workload};

use crate::args::{CompareArgs, WorkloadKind};
use crate::capacity::{measure, Probe};
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
        WorkloadKind::All => request_of(WorkloadKind::Hello),
    }
}

/// The workload's name in the report.
fn kind_name(kind: WorkloadKind) -> &'static str {
    match kind {
        WorkloadKind::Hello => "hello",
        WorkloadKind::Echo => "echo",
        WorkloadKind::Sleep => "sleep",
        WorkloadKind::Cpu => "cpu",
        WorkloadKind::Close => "close",
        WorkloadKind::All => "all",
    }
}

/// How the capacity searches run.
#[derive(Clone, Copy)]
struct CapacityCfg {
    slo_p99_ms: f64,
    connections: usize,
    settle: Duration,
    window: Duration,
    growth: f64,
    steps: usize,
    quick: bool,
}

impl CapacityCfg {
    /// The search for `kind`: its objective adds the request's own service time (100 ms of
    /// sleep, 1 ms of CPU), and it starts near where such a server can go.
    fn params(&self, kind: WorkloadKind, connections: usize) -> Params {
        let (own_ms, start) = match kind {
            WorkloadKind::Sleep => (100.0, sleep_ceiling(connections) / 2.0),
            WorkloadKind::Cpu => (1.0, 200.0),
            _ if self.quick => (0.0, 9000.0),
            _ => (0.0, 3000.0),
        };
        Params {
            slo_p99_ms: self.slo_p99_ms + own_ms,
            start: start.max(10.0),
            growth: self.growth,
            max_steps: self.steps,
            ..Params::default()
        }
    }

    /// Seconds one search takes at most.
    fn budget_s(&self, connections: usize) -> f64 {
        // server start, connections, the steps (and their flushes), quitting
        0.3 + self.settle.as_secs_f64()
            + connections as f64 * 1e-4
            + self.steps as f64 * ((self.settle + self.window).as_secs_f64() + 0.05)
            + 0.3
    }
}

/// The users every model gets: the built-in workload `kind`, or a locustfile's (or
/// scenario's) users moved to `target`.
fn users_for(kind: WorkloadKind, from_file: Option<&Workload>, target: &Target) -> Workload {
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

/// Runs `compare`; returns the exit code.
pub fn run(a: &CompareArgs) -> Result<u8, Failure> {
    let models = parse_models(&a.models).map_err(Failure::usage)?;
    // A locustfile is read (and refused, if it must be) before anything runs.
    let from_file = a
        .locustfile
        .as_ref()
        .map(|file| {
            let placeholder = Target::parse("http://127.0.0.1:9").expect("a literal URL");
            let opts = swarmlab_locust::locustfile::Options {
                host: Some(placeholder.clone()),
                wait: WaitTime::Constant(1.0),
                ..Default::default()
            };
            let name = file.to_string_lossy();
            if file.extension().is_some_and(|e| e == "py") {
                swarmlab_locust::locustfile::load(&name, &opts).map_err(anyhow::Error::from)
            } else {
                swarmlab_swarm::scenario::load(&name, Some(&placeholder), WaitTime::Constant(1.0))
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
    let fd_limit = swarmlab_server::sys::raise_fd_limit();
    // the generator and each server hold one descriptor per connection, each in its own process
    let wanted = users.max(if a.scaling {
        SCALING[SCALING.len() - 1]
    } else {
        0
    }) as u64
        + 1000;
    if wanted > fd_limit {
        eprintln!(
            "swarmlab: warning: the open-file limit is {fd_limit}; {wanted} connections' descriptors are needed on each side, so connections past the limit will fail with EMFILE (raise it with ulimit -n, or run as root)"
        );
    }
    let baseline = a
        .baseline
        .as_ref()
        .map(|f| read_baseline(f))
        .transpose()
        .map_err(Failure::usage)?;
    let (main_kind, extra_kinds): (WorkloadKind, Vec<WorkloadKind>) = match a.workload {
        WorkloadKind::All => (
            WorkloadKind::Hello,
            vec![WorkloadKind::Close, WorkloadKind::Sleep, WorkloadKind::Cpu],
        ),
        k => (k, Vec::new()),
    };
    let cap = (a.slo_p99 > 0.0).then_some(CapacityCfg {
        slo_p99_ms: a.slo_p99,
        connections: a.connections as usize,
        // --quick: 7 steps of 0.3 s (about 2.5 s a model); else 11 of 0.8 s (about 9 s)
        settle: Duration::from_millis(if a.quick { 80 } else { 200 }),
        window: Duration::from_millis(if a.quick { 220 } else { 600 }),
        growth: if a.quick { 3.0 } else { 2.0 },
        steps: if a.quick { 7 } else { 11 },
        quick: a.quick,
    });
    if cap.is_none() && !extra_kinds.is_empty() {
        return Err(Failure::usage(anyhow!(
            "--workload all compares capacities: it needs a latency objective (--slo-p99 above 0)"
        )));
    }
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
        started: swarmlab_swarm::output::utc(swarmlab_swarm::unix_now() as u64),
        slo_p99_ms: cap.map_or(0.0, |c| c.params(main_kind, c.connections).slo_p99_ms),
        capacity_connections: cap.map_or(0, |c| c.connections),
        server_cores: if pinned {
            machine.cores - 1
        } else {
            machine.cores
        },
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
    let threads = if pinned { 1 } else { machine.cores };
    let wide_cpus: Vec<usize> = (0..machine.cores).filter(|&c| c != 1).collect();
    let plan = Plan {
        users,
        spawn_rate,
        run_time: Some(max_time),
        stop_on_failure: true,
        threads,
        // one loopback source address has about 28,000 ports per destination
        source_addrs: loopback_sources(users),
        ..Plan::default()
    };
    // What one model costs, for the time left: the assignment run, its capacity searches,
    // starting and stopping servers.
    let per_model_s = max_time.as_secs_f64()
        + 2.0
        + cap.map_or(0.0, |c| {
            let scaling: f64 = if a.scaling {
                SCALING.iter().map(|&n| c.budget_s(n)).sum()
            } else {
                0.0
            };
            (1 + extra_kinds.len()) as f64 * c.budget_s(c.connections) + scaling + 1.0
        });
    let mut extra_rows: Vec<Vec<CapacityRow>> = vec![Vec::new(); extra_kinds.len()];
    let runs: Vec<_> = models
        .iter()
        .map(|m| (m.name().to_string(), None))
        .chain(targets.into_iter().map(|(n, u, p)| (n, Some((u, p)))))
        .collect();
    let total = runs.len();
    let started = Instant::now();
    for (i, (name, external)) in runs.into_iter().enumerate() {
        let left = Progress {
            model: format!("{name} ({} of {total})", i + 1),
            // this model and the ones after it, each as long as the estimate says
            ends: Instant::now() + Duration::from_secs_f64(per_model_s * (total - i) as f64),
        };
        let shown = live.as_deref().map(|app| Live { app });
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
            kind: main_kind,
            extras: &extra_kinds,
            cap,
            threads,
            server_cpus: pinned.then_some(&[0][..]),
            wide_cpus: pinned.then_some(&wide_cpus[..]),
            progress: &left,
        };
        let (row, extras) = match external {
            None => run_model(&ctx, &exe, &name),
            Some((url, pid)) => run_target(&ctx, &name, &url, pid),
        };
        for (rows, row) in extra_rows.iter_mut().zip(extras) {
            rows.push(row);
        }
        bar.finish_and_clear();
        // Once: above the bars on a terminal, as a plain line otherwise (bars hidden).
        if bars.is_hidden() {
            println!("{}", describe(&row));
        } else {
            let _ = bars.println(describe(&row));
        }
        rows.push(row);
    }
    let workloads = extra_kinds
        .iter()
        .zip(extra_rows)
        .map(|(&k, rows)| WorkloadRun {
            workload: kind_name(k).into(),
            request: request_of(k).what.into(),
            slo_p99_ms: cap.map_or(0.0, |c| c.params(k, c.connections).slo_p99_ms),
            rows,
        })
        .collect();
    let results = Results {
        machine,
        settings,
        rows,
        workloads,
        baseline,
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
    let by_capacity = results.by_capacity();
    if !by_capacity.is_empty() {
        println!(
            "\ncapacity (the most req/s with p99 <= {} ms and failures < 1 %; >= is a lower bound):",
            results.settings.slo_p99_ms
        );
        for (i, (m, c)) in by_capacity.iter().enumerate() {
            println!(
                "  {}. {:<8} {:>12} req/s  p99 {:.2} ms  limited by {}",
                i + 1,
                m.name,
                sections::shown(c),
                c.p99_ms,
                sections::limited_by(Lang::En, c.limited_by)
            );
        }
    }
    println!("\nthe assignment's run (peak RPS over the best 10 s):");
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
    let took = started.elapsed().as_secs();
    println!("took {} min {:02} s", took / 60, took % 60);
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
        Outcome::Ran {
            client,
            server,
            capacity,
            ..
        } => format!(
            "{}: peak {:.1} req/s, {} requests, {} failures{}, p99 {:.2} ms{}{}{}",
            row.name,
            client.peak_rps,
            client.requests,
            client.failures,
            client
                .before_first_failure
                .map_or(String::new(), |n| format!(" (first after {n})")),
            client.p99_ms,
            server.as_ref().map_or(String::new(), |s| format!(
                ", server {:.1} µs CPU/request, {:.1} MiB PSS, exit {}",
                s.cpu_us_per_request,
                s.peak_pss_mib,
                if s.clean_exit { "clean" } else { "NOT clean" }
            )),
            capacity.as_ref().map_or(String::new(), |c| format!(
                "; capacity {} req/s (p99 {:.2} ms, limited by {})",
                sections::shown(c),
                c.p99_ms,
                sections::limited_by(Lang::En, c.limited_by)
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

/// The longest wait for a failed capacity step's queued requests before the search gives up
/// on going further (a server that cannot clear one step's queue in this long is far below
/// what that step offered).
const DRAIN: Duration = Duration::from_secs(5);

/// The most requests per second `connections` connections can carry when each request takes
/// the `sleep` workload's 100 ms.
fn sleep_ceiling(connections: usize) -> f64 {
    connections as f64 / 0.1
}

/// Connections per number of clients in `--scaling`.
const SCALING: [usize; 4] = [10, 100, 1000, 10_000];

/// Loopback source addresses for `users` connections: one per 25,000 (an address has about
/// 28,000 ephemeral ports per destination); none (the kernel picks) below that.
fn loopback_sources(users: usize) -> Vec<std::net::IpAddr> {
    if users <= 25_000 {
        return Vec::new();
    }
    (1..=users.div_ceil(25_000) as u8)
        .map(|n| std::net::Ipv4Addr::new(127, 0, 0, n).into())
        .collect()
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
    /// The main workload (the assignment run and the first capacity).
    kind: WorkloadKind,
    /// `--workload all`: the other workloads' capacities.
    extras: &'a [WorkloadKind],
    cap: Option<CapacityCfg>,
    /// Generator threads.
    threads: usize,
    /// The cores a model's server runs on (`None`: not pinned).
    server_cpus: Option<&'a [usize]>,
    /// The cores the `cpu` workload's server gets: every core but the generator's.
    wide_cpus: Option<&'a [usize]>,
    progress: &'a Progress,
}

/// Where the comparison is: for the progress line and the live page.
struct Progress {
    model: String,
    /// When the whole comparison should end (the estimate).
    ends: Instant,
}

impl Progress {
    fn say(&self, bar: &indicatif::ProgressBar, live: Option<&Live<'_>>, phase: &str) {
        let left = self
            .ends
            .saturating_duration_since(Instant::now())
            .as_secs();
        let line = format!(
            "{}: {phase}; about {} min {:02} s left in all",
            self.model,
            left / 60,
            left % 60
        );
        bar.set_message(line.clone());
        bar.tick();
        if let Some(live) = live {
            live.app.set_banner(&format!("compare: {line}"));
        }
    }
}

/// The live page.
struct Live<'a> {
    app: &'a App,
}

/// Starts `swarmlab serve --model name`, loads it as the assignment does, stops it; then
/// searches its capacity on a fresh server (so the two runs' figures stay apart), and the
/// `cpu` workload's on one more that gets every core but the generator's.
fn run_model(ctx: &Ctx<'_>, exe: &Path, name: &str) -> (ModelResult, Vec<CapacityRow>) {
    let (mut child, addr) = match start_server(exe, name, ctx.server_cpus) {
        Ok(v) => v,
        Err(e) => {
            return (
                skipped(name, false, format!("{e:#}")),
                extra_skips(ctx, name, &e),
            )
        }
    };
    let before = procfs::children_usage();
    let pid = child.id();
    let url = format!("http://{addr}");
    let outcome = load(ctx, &url, name, Some(pid));
    let (summary, tree) = match outcome {
        Ok(v) => v,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            let extras = extra_skips(ctx, name, &e);
            return (skipped(name, false, format!("{e:#}")), extras);
        }
    };
    ctx.progress.say(ctx.bar, ctx.live, "stopping the server");
    let clean_exit = stop_server(&mut child);
    let after = procfs::children_usage();
    let cpu_s = after.cpu_s - before.cpu_s;
    let client = client_figures(&summary);
    let mut server = Server {
        cpu_s,
        cpu_us_per_request: cpu_s * 1e6 / (client.requests.max(1) as f64),
        peak_rss_mib: mib(tree.rss),
        peak_pss_mib: mib(tree.pss),
        voluntary_switches: after.voluntary - before.voluntary,
        involuntary_switches: after.involuntary - before.involuntary,
        peak_threads: tree.threads,
        peak_processes: tree.processes,
        clean_exit,
    };
    let (mut capacity, mut scaling) = (None, Vec::new());
    let mut extras = extra_skips(ctx, name, &anyhow!("interrupted before it ran"));
    if let Some(cfg) = ctx.cap.filter(|_| !ctx.stop.load(Ordering::Relaxed)) {
        // A fresh server for each core set the searches need.
        let mut found: Vec<Option<CapacityRow>> = vec![None; ctx.extras.len()];
        for wide in [false, true] {
            let kinds: Vec<usize> = (0..ctx.extras.len())
                .filter(|&i| (ctx.extras[i] == WorkloadKind::Cpu) == wide)
                .collect();
            if wide && kinds.is_empty() {
                continue;
            }
            let cpus = if wide { ctx.wide_cpus } else { ctx.server_cpus };
            match start_server(exe, name, cpus) {
                Ok((mut child, addr)) => {
                    let url = format!("http://{addr}");
                    let mut searched = Searches::new(ctx, cfg, name, &url, Some(child.id()));
                    if !wide {
                        capacity = searched.main();
                        scaling = searched.scaling();
                    }
                    for i in kinds {
                        found[i] = Some(searched.extra(ctx.extras[i]));
                    }
                    server.clean_exit &= stop_server(&mut child);
                }
                Err(e) => {
                    for i in kinds {
                        found[i] = Some(CapacityRow {
                            name: name.into(),
                            capacity: None,
                            skipped: Some(format!("{e:#}")),
                        });
                    }
                }
            }
        }
        extras = found
            .into_iter()
            .map(|r| r.expect("every workload searched"))
            .collect();
    }
    let row = ModelResult {
        name: name.into(),
        external: false,
        outcome: Outcome::Ran {
            client: Box::new(client),
            server: Some(server),
            capacity: capacity.map(Box::new),
            scaling,
        },
    };
    (row, extras)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// The extra workloads' rows of a model that could not run.
fn extra_skips(ctx: &Ctx<'_>, name: &str, why: &anyhow::Error) -> Vec<CapacityRow> {
    ctx.extras
        .iter()
        .map(|_| CapacityRow {
            name: name.into(),
            capacity: None,
            skipped: Some(format!("{why:#}")),
        })
        .collect()
}

/// The capacity searches against one running server.
struct Searches<'a, 'c> {
    ctx: &'a Ctx<'c>,
    cfg: CapacityCfg,
    name: &'a str,
    pid: Option<u32>,
    /// The server, once it answered (else why not).
    target: Result<Target, String>,
}

impl<'a, 'c> Searches<'a, 'c> {
    fn new(
        ctx: &'a Ctx<'c>,
        cfg: CapacityCfg,
        name: &'a str,
        url: &str,
        pid: Option<u32>,
    ) -> Searches<'a, 'c> {
        let target = Target::parse(url)
            .map_err(anyhow::Error::from)
            .and_then(|t| wait_until_answering(t.addr).map(|()| t))
            .map_err(|e| format!("{e:#}"));
        Searches {
            ctx,
            cfg,
            name,
            pid,
            target,
        }
    }

    fn one(&self, kind: WorkloadKind, connections: usize) -> Option<crate::capacity::Measured> {
        let ctx = self.ctx;
        let target = self.target.as_ref().ok()?;
        if ctx.stop.load(Ordering::Relaxed) {
            return None;
        }
        let probe = Probe {
            pid: self.pid,
            threads: ctx.threads,
            settle: self.cfg.settle,
            window: self.cfg.window,
            drain: DRAIN,
            stop: ctx.stop,
            source_addrs: loopback_sources(connections),
        };
        let show = |swarm: &Swarm| {
            if let Some(live) = ctx.live {
                live.app.show(swarm.clone(), "");
            }
        };
        let mut phase = |rate: f64, n: usize| {
            ctx.progress.say(
                ctx.bar,
                ctx.live,
                &format!(
                    "capacity ({} over {connections} connections): step {n}, {rate:.0} req/s offered",
                    kind_name(kind)
                ),
            );
        };
        let mut m = measure(
            users_for(kind, ctx.users, target),
            connections,
            &self.cfg.params(kind, connections),
            &probe,
            &show,
            &mut phase,
        );
        // Requests that each take 100 ms, one at a time per connection: no server completes
        // more than connections / 0.1 s. A capacity near that says nothing about the server.
        let c = &mut m.capacity;
        if kind == WorkloadKind::Sleep
            && ctx.users.is_none()
            && c.limited_by == LimitedBy::Server
            && c.rps >= 0.9 * sleep_ceiling(connections)
        {
            c.limited_by = LimitedBy::Connections;
        }
        Some(m)
    }

    /// The main workload at the configured connections.
    fn main(&mut self) -> Option<swarmlab_report::Capacity> {
        self.one(self.ctx.kind, self.cfg.connections)
            .map(|m| m.capacity)
    }

    /// `--scaling`: the main workload at each of [`SCALING`]'s connection counts.
    fn scaling(&mut self) -> Vec<ScalePoint> {
        if !self.ctx.a.scaling {
            return Vec::new();
        }
        SCALING
            .iter()
            .map_while(|&n| {
                let m = self.one(self.ctx.kind, n)?;
                Some(ScalePoint {
                    connections: n,
                    capacity: m.capacity,
                    pss_mib: mib(m.peak_pss),
                    rss_mib: mib(m.peak_rss),
                })
            })
            .collect()
    }

    /// One of `--workload all`'s other workloads.
    fn extra(&mut self, kind: WorkloadKind) -> CapacityRow {
        let capacity = self.one(kind, self.cfg.connections).map(|m| m.capacity);
        let skipped = match (&capacity, &self.target) {
            (Some(_), _) => None,
            (None, Err(why)) => Some(why.clone()),
            (None, Ok(_)) => Some("interrupted before it ran".into()),
        };
        CapacityRow {
            name: self.name.into(),
            capacity,
            skipped,
        }
    }
}

/// An external server (`--target NAME=URL[@PID]`): server figures only with a pid.
fn run_target(
    ctx: &Ctx<'_>,
    name: &str,
    url: &str,
    pid: Option<u32>,
) -> (ModelResult, Vec<CapacityRow>) {
    let cpu_before = pid.and_then(procfs::process_cpu_s);
    let (summary, tree) = match load(ctx, url, name, pid) {
        Ok(v) => v,
        Err(e) => {
            let extras = extra_skips(ctx, name, &e);
            return (skipped(name, true, format!("{e:#}")), extras);
        }
    };
    let client = client_figures(&summary);
    let server = match (pid, cpu_before, pid.and_then(procfs::process_cpu_s)) {
        (Some(_), Some(b), Some(e)) => Some(Server {
            cpu_s: e - b,
            cpu_us_per_request: (e - b) * 1e6 / (client.requests.max(1) as f64),
            peak_rss_mib: mib(tree.rss),
            peak_pss_mib: mib(tree.pss),
            voluntary_switches: 0,
            involuntary_switches: 0,
            peak_threads: tree.threads,
            peak_processes: tree.processes,
            clean_exit: true,
        }),
        _ => None,
    };
    // An external server is not restarted: its capacity is searched right after the run.
    let (capacity, scaling, extras) = match ctx.cap {
        Some(cfg) if !ctx.stop.load(Ordering::Relaxed) => {
            let mut searched = Searches::new(ctx, cfg, name, url, pid);
            let main = searched.main();
            let scaling = searched.scaling();
            let extras = ctx.extras.iter().map(|&k| searched.extra(k)).collect();
            (main, scaling, extras)
        }
        _ => (
            None,
            Vec::new(),
            extra_skips(ctx, name, &anyhow!("interrupted before it ran")),
        ),
    };
    let row = ModelResult {
        name: name.into(),
        external: true,
        outcome: Outcome::Ran {
            client: Box::new(client),
            server,
            capacity: capacity.map(Box::new),
            scaling,
        },
    };
    (row, extras)
}

/// The swarm against `url` as the assignment loads it, sampling the server's tree (if any)
/// once a second.
fn load(
    ctx: &Ctx<'_>,
    url: &str,
    name: &str,
    pid: Option<u32>,
) -> anyhow::Result<(Summary, procfs::TreeSample)> {
    let (a, plan, stop, bar, live) = (ctx.a, ctx.plan, ctx.stop, ctx.bar, ctx.live);
    let target = Target::parse(url)?;
    wait_until_answering(target.addr)?;
    let workload = users_for(ctx.kind, ctx.users, &target);
    let mut watcher = Watcher {
        bar,
        pid,
        peak: procfs::TreeSample::default(),
        started: Instant::now(),
        entries: workload.entries.clone(),
        csvs: CsvFiles::create(&a.out.join(name), false)?,
        progress: ctx.progress,
        live,
    };
    let swarm = Swarm::new(workload, plan.clone());
    if let Some(live) = live {
        live.app.show(swarm.clone(), "");
    }
    let summary = swarmlab_swarm::drive(&swarm, plan, stop, &mut watcher);
    watcher.csvs.finish(&summary.stats, &watcher.entries)?;
    Ok((summary, watcher.peak))
}

/// `--baseline`: the capacities of an earlier results.json.
fn read_baseline(file: &Path) -> anyhow::Result<Baseline> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the baseline {}", file.display()))?;
    let old: Results = serde_json::from_str(&text).with_context(|| {
        format!(
            "the baseline {} is not a compare results.json",
            file.display()
        )
    })?;
    let rows: Vec<(String, swarmlab_report::Capacity)> = old
        .rows
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::Ran {
                capacity: Some(c), ..
            } => Some((r.name.clone(), (**c).clone())),
            _ => None,
        })
        .collect();
    if rows.is_empty() {
        anyhow::bail!(
            "the baseline {} has no capacities to compare with (it was run without the capacity search)",
            file.display()
        );
    }
    Ok(Baseline {
        file: file.display().to_string(),
        started: old.settings.started,
        cpu: old.machine.cpu,
        rows,
    })
}

struct Watcher<'a> {
    bar: &'a indicatif::ProgressBar,
    progress: &'a Progress,
    live: Option<&'a Live<'a>>,
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
            self.peak.pss = self.peak.pss.max(s.pss);
            self.peak.threads = self.peak.threads.max(s.threads);
            self.peak.processes = self.peak.processes.max(s.processes);
        }
        self.csvs.second(stats, &self.entries, status.users);
        let (rps, _) = stats.current_rates(None);
        self.progress.say(
            self.bar,
            self.live,
            &format!(
                "the assignment's run: users {}  rps {:.0}  failures {}  {:.0} s",
                status.users,
                rps,
                stats.total.num_failures,
                self.started.elapsed().as_secs_f64()
            ),
        );
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

/// Spawns `swarmlab serve` (on `cpus` from its first instruction: every thread and process it
/// starts inherits them), reads its address; an exit before it listens is a reason to skip.
fn start_server(
    exe: &Path,
    name: &str,
    cpus: Option<&[usize]>,
) -> anyhow::Result<(Child, SocketAddr)> {
    let mut command = Command::new(exe);
    // Workers as `serve` would start on this machine unpinned: the pinned core set does not
    // shrink a pool of blocking threads.
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    command
        .args(["serve", "--model", name, "--bind", "127.0.0.1:0"])
        .args(["--workers", &workers.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(cpus) = cpus {
        let mut set = nix::sched::CpuSet::new();
        for &c in cpus {
            set.set(c).context("a CPU number out of range")?;
        }
        // SAFETY: sched_setaffinity is one system call, safe between fork and exec.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut command, move || {
                nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)
                    .map_err(std::io::Error::from)
            });
        }
    }
    let mut child = command.spawn().context("cannot start swarmlab serve")?;
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
        Some(addr) => {
            // What it says from now on (rate-limited warnings: a thread cap, EMFILE) goes to our
            // stderr, under its name; read as it comes, so a full pipe never blocks the server.
            if let Some(err) = child.stderr.take() {
                let name = name.to_string();
                std::thread::spawn(move || {
                    for line in BufReader::new(err).lines().map_while(Result::ok) {
                        let line = line.trim_start_matches("swarmlab: ");
                        eprintln!("  [{name} server] {line}");
                    }
                });
            }
            Ok((child, addr))
        }
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
