//! `--experiment`: after the other phases, every design (a built-in model, or a `--server`
//! command; an external `--target` runs where it runs and has no row) under the conditions
//! courses study, each on fresh servers as the main run has them.
//!
//! `slow-clients`: a steady load alone, then beside clients connected first that never finish
//! their headers (slowloris) or never read a large answer (slow readers); what the steady
//! clients still get on each design before the server's own timeouts end the slow ones.
//!
//! `head-of-line`: a load at a fixed rate in which 5 % of the requests are long: by 1 ms of
//! CPU (shorter than the kernel's time slice), by 10 ms (longer), by 100 ms of waiting; what
//! the short ones pay on each design. 1 ms alone, as first planned, showed nothing: a thread
//! that computes is preempted only after a slice (about 3 ms measured here), so on one core
//! `thread`'s short p99 was `epoll`'s (2.26 against 2.15 ms; a second run 1.24 against 3.55);
//! at 10 ms `epoll`'s was 10x `thread`'s (30.4 against 3.2 ms).

use std::sync::atomic::Ordering;
use std::time::Duration;

use std::io::Write as _;
use std::net::{SocketAddr, TcpStream};

use swarmlab_report::{
    Experiment, ExperimentKind, HeadOfLine, HolPoint, HolRow, LongRequest, SlowClients, SlowLoad,
    SlowPoint, SlowRow,
};
use swarmlab_server::Model;
use swarmlab_swarm::{
    Entry, Plan as LoadPlan, Stats, Status, Swarm, Target as Url, WaitTime, Workload,
};

use super::live::{LivePage, Progress};
use super::model_run::{log_path, Ctx};
use super::targets::Target;
use crate::server_process::{ServerCommand, ServerProcess};

/// The experiments the plan asks for, in order.
pub fn run(ctx: &Ctx<'_>, live: Option<&LivePage>) -> Vec<Experiment> {
    ctx.plan
        .experiments
        .iter()
        .filter_map(|k| match k {
            ExperimentKind::SlowClients => slow_clients(ctx, live).map(Experiment::SlowClients),
            ExperimentKind::HeadOfLine => head_of_line(ctx, live).map(Experiment::HeadOfLine),
        })
        .collect()
}

/// `slow-clients`' steady load: requests per second over connections; the slow clients' loads
/// (a slow reader asks for more than the socket buffers hold: 4 MiB of the server's send
/// buffer at most here, and the client's receive window); at least this many slow clients,
/// and twice the workers a pool or prefork server gets where that is more.
const SLOW_RATE: f64 = 500.0;
const SLOW_CONNECTIONS: usize = 20;
const SLOW_LOADS: [SlowLoad; 3] = [
    SlowLoad::None,
    SlowLoad::Headers,
    SlowLoad::Reader(32 << 20),
];
const SLOW_CLIENTS: usize = 16;

fn slow_clients(ctx: &Ctx<'_>, live: Option<&LivePage>) -> Option<SlowClients> {
    let seconds = if ctx.plan.quick { 3.0 } else { 6.0 };
    let targets = experiment_targets(ctx);
    // the workers ServerCommand::model gives a pool or prefork server
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let slow = SLOW_CLIENTS.max(2 * workers);
    let http = swarmlab_http::Config::default();
    let server = swarmlab_server::Config::default();
    println!(
        "slow-clients: {} design(s), {SLOW_RATE:.0} req/s over {SLOW_CONNECTIONS} connections, alone, beside {slow} slowloris clients, beside {slow} slow readers, {seconds:.0} s each",
        targets.len(),
    );
    let bars = indicatif::MultiProgress::new();
    let mut rows = Vec::new();
    for (i, target) in targets.iter().enumerate() {
        let design = target.design();
        let progress = Progress::new(
            &bars,
            live,
            &format!("{} slow-clients", design.name()),
            (i, targets.len()),
            0.0,
        );
        let point = |load: SlowLoad| {
            if ctx.stop.load(Ordering::Relaxed) {
                return SlowPoint {
                    skipped: Some("interrupted".into()),
                    ..SlowPoint::default()
                };
            }
            progress.say(&format!("slow clients: {}", slow_name(load)));
            let cmd = server_command(ctx, target, None);
            match ServerProcess::start(&cmd) {
                Err(e) => SlowPoint {
                    skipped: Some(format!("{e:#}")),
                    ..SlowPoint::default()
                },
                Ok(server) => {
                    let held = match open_slow(server.addr(), load, slow) {
                        Ok(held) => held,
                        Err(e) => {
                            server.stop();
                            return SlowPoint {
                                skipped: Some(format!("a slow client could not connect: {e}")),
                                ..SlowPoint::default()
                            };
                        }
                    };
                    let url = Url::parse(&server.url()).expect("a loopback URL");
                    let p = steady_load(ctx, &url, seconds);
                    // the slow ones leave first: a worker blocked on one is freed to stop
                    drop(held);
                    server.stop();
                    p
                }
            }
        };
        let points: Vec<SlowPoint> = SLOW_LOADS.iter().map(|&l| point(l)).collect();
        progress.finish();
        let line = format!(
            "{} slow-clients: {}",
            design.name(),
            SLOW_LOADS
                .iter()
                .zip(&points)
                .map(|(l, p)| match &p.skipped {
                    Some(why) => format!("{} (did not run: {why})", slow_name(*l)),
                    None => format!("{:.0} req/s {}", p.rps, slow_name(*l)),
                })
                .collect::<Vec<_>>()
                .join(", ")
        );
        if bars.is_hidden() {
            println!("{line}");
        } else {
            let _ = bars.println(line);
        }
        let has_workers = matches!(target, Target::Model(Model::Pool | Model::Prefork));
        rows.push(SlowRow {
            design,
            workers: has_workers.then_some(workers),
            points,
        });
    }
    Some(SlowClients {
        rate: SLOW_RATE,
        connections: SLOW_CONNECTIONS,
        slow,
        seconds,
        header_timeout_s: http.header_timeout.as_secs_f64(),
        write_timeout_s: server.write_timeout.as_secs_f64(),
        loads: SLOW_LOADS.to_vec(),
        rows,
    })
}

fn slow_name(load: SlowLoad) -> &'static str {
    match load {
        SlowLoad::None => "alone",
        SlowLoad::Headers => "beside slowloris",
        SlowLoad::Reader(_) => "beside slow readers",
    }
}

/// `n` slow clients of `load`, connected and their bytes sent, then a moment for the server
/// to take them up (accept them, start reading or writing).
fn open_slow(addr: SocketAddr, load: SlowLoad, n: usize) -> std::io::Result<Vec<TcpStream>> {
    let request = match load {
        SlowLoad::None => return Ok(Vec::new()),
        // no blank line: the header section never ends
        SlowLoad::Headers => format!("GET / HTTP/1.1\r\nHost: {addr}\r\n"),
        SlowLoad::Reader(n) => format!("GET /bytes?n={n} HTTP/1.1\r\nHost: {addr}\r\n\r\n"),
    };
    let mut held = Vec::with_capacity(n);
    for _ in 0..n {
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        s.write_all(request.as_bytes())?;
        held.push(s);
    }
    std::thread::sleep(Duration::from_millis(300));
    Ok(held)
}

/// The steady load: `GET /` over [`SLOW_CONNECTIONS`], each waiting for its answer, measured
/// after [`WARM_UP`] for `seconds`.
fn steady_load(ctx: &Ctx<'_>, url: &Url, seconds: f64) -> SlowPoint {
    let workload = Workload::mix(
        url,
        &[("/", "steady", 1)],
        WaitTime::Constant(SLOW_CONNECTIONS as f64 / SLOW_RATE),
    );
    let (summary, took) = measured(ctx, workload, SLOW_CONNECTIONS, seconds);
    let stats = &summary.stats;
    SlowPoint {
        // over the time measured: the warm-up ends at the first second's report past it
        rps: stats.total.num_requests as f64 / took.as_secs_f64().max(1e-3),
        p99_ms: stats.total.percentile_ms(0.99),
        requests: stats.total.num_requests,
        failures: stats.total.num_failures,
        skipped: None,
    }
}

/// `head-of-line`'s load: requests per second, connections, the long share (one task in
/// `LONG_EVERY`), and each load's long request.
const HOL_RATE: f64 = 1000.0;
const HOL_CONNECTIONS: usize = 50;
const LONG_EVERY: u32 = 20;
const HOL_LOADS: [LongRequest; 3] = [
    LongRequest::Cpu(1000),
    LongRequest::Cpu(10_000),
    LongRequest::Sleep(100),
];
/// Measured after the connections are up and a second has passed.
const WARM_UP: Duration = Duration::from_secs(1);

fn head_of_line(ctx: &Ctx<'_>, live: Option<&LivePage>) -> Option<HeadOfLine> {
    let seconds = if ctx.plan.quick { 3.0 } else { 8.0 };
    let targets = experiment_targets(ctx);
    println!(
        "head-of-line: {} design(s), {HOL_RATE:.0} req/s over {HOL_CONNECTIONS} connections, 1 in {LONG_EVERY} requests long ({}), {seconds:.0} s each",
        targets.len(),
        HOL_LOADS.map(LongRequest::path).join(", then ")
    );
    let bars = indicatif::MultiProgress::new();
    let mut rows = Vec::new();
    for (i, target) in targets.iter().enumerate() {
        let design = target.design();
        let progress = Progress::new(
            &bars,
            live,
            &format!("{} head-of-line", design.name()),
            (i, targets.len()),
            0.0,
        );
        let loops = match target {
            Target::Model(m) => one_loop_per_core(*m, ctx),
            _ => None,
        };
        let point = |long: LongRequest| {
            if ctx.stop.load(Ordering::Relaxed) {
                return HolPoint {
                    skipped: Some("interrupted".into()),
                    ..HolPoint::default()
                };
            }
            progress.say(&format!("long requests: GET {}", long.path()));
            let cmd = server_command(ctx, target, loops);
            match ServerProcess::start(&cmd) {
                Err(e) => HolPoint {
                    skipped: Some(format!("{e:#}")),
                    ..HolPoint::default()
                },
                Ok(server) => {
                    let url = Url::parse(&server.url()).expect("a loopback URL");
                    let p = hol_load(ctx, &url, &long.path(), seconds);
                    server.stop();
                    p
                }
            }
        };
        let points: Vec<HolPoint> = HOL_LOADS.iter().map(|&l| point(l)).collect();
        progress.finish();
        let line = format!(
            "{} head-of-line: short p99 {}",
            design.name(),
            HOL_LOADS
                .iter()
                .zip(&points)
                .map(|(l, p)| format!("{} with GET {}", said(p), l.path()))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if bars.is_hidden() {
            println!("{line}");
        } else {
            let _ = bars.println(line);
        }
        rows.push(HolRow {
            design,
            workers: loops,
            points,
        });
    }
    Some(HeadOfLine {
        rate: HOL_RATE,
        connections: HOL_CONNECTIONS,
        long_pct: 100.0 / f64::from(LONG_EVERY),
        seconds,
        loads: HOL_LOADS.to_vec(),
        rows,
    })
}

fn said(p: &HolPoint) -> String {
    match (&p.skipped, p.short_p99_ms) {
        (Some(why), _) => format!("(did not run: {why})"),
        (None, Some(v)) => format!("{v:.2} ms"),
        (None, None) => "(no short request completed)".into(),
    }
}

/// The designs that run (an external target runs where it runs: not started here).
fn experiment_targets<'a>(ctx: &'a Ctx<'_>) -> Vec<&'a Target> {
    ctx.plan
        .targets
        .iter()
        .filter(|t| !matches!(t, Target::External { .. }))
        .collect()
}

/// An event-loop model gets one loop per core its server has (two loops time-slicing one core
/// would hide what one loop does with a long request).
fn one_loop_per_core(m: Model, ctx: &Ctx<'_>) -> Option<usize> {
    matches!(m, Model::Epoll | Model::Uring | Model::Procs | Model::Tokio)
        .then(|| ctx.plan.server_cpus.as_ref().map_or(1, Vec::len).max(1))
}

/// A fresh server of `target` on the servers' cores, as the main run has it.
fn server_command(ctx: &Ctx<'_>, target: &Target, loops: Option<usize>) -> ServerCommand {
    let cpus = ctx.plan.server_cpus.as_deref();
    match target {
        Target::Model(m) => {
            let cmd = ServerCommand::model(ctx.exe, *m, cpus, false);
            match loops {
                Some(n) => cmd.with_workers(n),
                None => cmd,
            }
        }
        Target::Command { name, command } => {
            ServerCommand::user(name, command, cpus, Some(log_path(ctx.plan, name)))
        }
        Target::External { .. } => unreachable!("filtered out"),
    }
}

/// One load against `url`: short `GET /` and, one task in [`LONG_EVERY`], `long`; measured
/// after [`WARM_UP`] for `seconds`.
fn hol_load(ctx: &Ctx<'_>, url: &Url, long: &str, seconds: f64) -> HolPoint {
    let workload = Workload::mix(
        url,
        &[("/", "short", LONG_EVERY - 1), (long, "long", 1)],
        // closed: each connection waits for its answer, then its think time, so a request's
        // latency is the server's alone (an open model would count a connection's own wait
        // behind its 100 ms request against the requests it sends next)
        WaitTime::Constant(HOL_CONNECTIONS as f64 / HOL_RATE),
    );
    let (summary, _) = measured(ctx, workload, HOL_CONNECTIONS, seconds);
    let stats = &summary.stats;
    let at = |name: &str| summary.entries.iter().position(|e| e.name == name);
    let q = |name: &str, q: f64| at(name).and_then(|i| stats.entries.get(i)?.percentile_ms(q));
    HolPoint {
        short_p50_ms: q("short", 0.5),
        short_p99_ms: q("short", 0.99),
        long_p99_ms: q("long", 0.99),
        requests: stats.total.num_requests,
        failures: stats.total.num_failures,
        skipped: None,
    }
}

/// `workload` over `users` connections, all started at once, measured after [`WARM_UP`] for
/// `seconds`; with the time measured (from the statistics' reset to the run's end).
fn measured(
    ctx: &Ctx<'_>,
    workload: Workload,
    users: usize,
    seconds: f64,
) -> (swarmlab_swarm::Summary, Duration) {
    let plan = LoadPlan {
        users,
        spawn_rate: 1e9,
        run_time: Some(WARM_UP + Duration::from_secs_f64(seconds)),
        threads: ctx.plan.generator_threads,
        seed: Some(ctx.plan.seed),
        ..LoadPlan::default()
    };
    let swarm = Swarm::new(workload, plan.clone());
    let mut warm = WarmUp {
        swarm: swarm.clone(),
        reset: None,
    };
    let started = std::time::Instant::now();
    let summary = swarmlab_swarm::drive(&swarm, &plan, ctx.stop, &mut warm);
    (summary, warm.reset.unwrap_or(started).elapsed())
}

/// Resets the statistics once the warm-up has passed.
struct WarmUp {
    swarm: Swarm,
    /// When it did.
    reset: Option<std::time::Instant>,
}

impl swarmlab_swarm::Observer for WarmUp {
    fn second(&mut self, _: &Stats, _: &[Entry], status: &Status) {
        if self.reset.is_none() && status.elapsed >= WARM_UP {
            self.reset = Some(std::time::Instant::now());
            self.swarm.reset_stats();
        }
    }
}
