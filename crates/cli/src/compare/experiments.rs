//! `--experiment`: after the other phases, every design (a built-in model, or a `--server`
//! command; an external `--target` runs where it runs and has no row) under the conditions
//! courses study, each on fresh servers as the main run has them.
//!
//! `slow-clients`: a steady load alone, then beside clients connected first that never finish
//! their headers (slowloris) or never read a large answer (slow readers); what the steady
//! clients still get on each design before the server's own timeouts end the slow ones.
//!
//! `idle`: a steady load alone, then beside 10,000 idle keep-alive connections (each sent one
//! request, read its answer where it came, and stays open); the server's CPU per request and
//! memory on each design.
//!
//! `pool-size`: `prefork` and `pool` at 1, 4, 16, 64 and 256 workers under a closed load
//! with more connections than workers and no think time, keep-alive `GET /` and 1 ms of
//! waiting per request: where more workers stop helping, and what they cost.
//!
//! `overload`: each design's capacity under CPU-bound requests, then an open-model rate of
//! 1.5x that, then half of it: growth, failures, recovery.
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
    Bandwidth, Experiment, ExperimentKind, HeadOfLine, HolPoint, HolRow, Idle, IdlePoint, IdleRow,
    Lang, LongRequest, Network, NetworkMethod, NetworkPoint, NetworkRow, NoNetem, NoShaping,
    Overload, OverloadRow, OverloadWindow, PoolLoad, PoolPoint, PoolRow, PoolSize, SlowClients,
    SlowLoad, SlowPoint, SlowRow,
};
use swarmlab_server::Model;
use swarmlab_swarm::profile::Failed;
use swarmlab_swarm::stats::ErrorRow;
use swarmlab_swarm::{EntryStats, Plan as LoadPlan, Swarm, Target as Url, WaitTime, Workload};

use super::live::{LivePage, Progress};
use super::model_run::{log_path, Ctx};
use super::targets::Target;
use crate::server_process::{ServerCommand, ServerProcess};

/// The experiments the plan asks for, in order.
pub fn run(ctx: &Ctx<'_>, live: Option<&LivePage>) -> Vec<Experiment> {
    let alone = Baselines::default();
    ctx.plan
        .experiments
        .iter()
        .filter_map(|k| {
            let started = std::time::Instant::now();
            let done = experiment(ctx, live, &alone, *k);
            let t = started.elapsed().as_secs();
            println!("{}: took {} min {:02} s", k.name(), t / 60, t % 60);
            done
        })
        .collect()
}

/// One experiment over every design.
fn experiment(
    ctx: &Ctx<'_>,
    live: Option<&LivePage>,
    alone: &Baselines,
    k: ExperimentKind,
) -> Option<Experiment> {
    match k {
        ExperimentKind::SlowClients => slow_clients(ctx, live, alone).map(Experiment::SlowClients),
        ExperimentKind::Idle => idle(ctx, live, alone).map(Experiment::Idle),
        ExperimentKind::HeadOfLine => head_of_line(ctx, live).map(Experiment::HeadOfLine),
        ExperimentKind::PoolSize => pool_size(ctx, live).map(Experiment::PoolSize),
        ExperimentKind::Overload => overload(ctx, live).map(Experiment::Overload),
        ExperimentKind::Network => network(ctx, live, alone).map(Experiment::Network),
    }
}

/// The steady load `slow-clients`, `idle` and `network` put each design under, alone and
/// beside what they study: `GET /` at this rate over these keep-alive connections, each paced
/// to its share (Locust's `constant_throughput`: 10 a second, a tenth of a connection's time
/// even through a 20 ms round trip). Far from any design's capacity over loopback.
const STEADY_RATE: f64 = 500.0;
const STEADY_CONNECTIONS: usize = 50;

/// The steady load against `url`.
fn steady_workload(url: &Url) -> Workload {
    Workload::mix(
        url,
        &[("/", "steady", 1)],
        WaitTime::ConstantThroughput(STEADY_RATE / STEADY_CONNECTIONS as f64),
    )
}

/// How long the steady load is measured in each of its experiments.
fn steady_seconds(ctx: &Ctx<'_>) -> f64 {
    measured_for(ctx, 0.5, 3.0)
}

/// One design under the steady load alone, on a fresh server.
#[derive(Clone)]
struct Steady {
    rps: f64,
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
    requests: u64,
    failures: u64,
    cpu_us_per_request: Option<f64>,
    pss_mib: f64,
    threads: u64,
}

/// Each design's [`Steady`] (or why it did not run), measured once and shared by the
/// experiments that compare with it.
#[derive(Default)]
struct Baselines(std::cell::RefCell<Vec<(String, Result<Steady, String>)>>);

impl Baselines {
    fn get(&self, ctx: &Ctx<'_>, target: &Target) -> Result<Steady, String> {
        let name = target.design().name().to_string();
        if let Some((_, got)) = self.0.borrow().iter().find(|(n, _)| *n == name) {
            return got.clone();
        }
        let got = if ctx.stop.load(Ordering::Relaxed) {
            Err("interrupted".to_string())
        } else {
            match ServerProcess::start(&server_command(ctx, target, None)) {
                Err(e) => Err(format!("{e:#}")),
                Ok(server) => {
                    let url = Url::parse(&server.url()).expect("a loopback URL");
                    let m = measured(
                        ctx,
                        steady_workload(&url),
                        STEADY_CONNECTIONS,
                        steady_seconds(ctx),
                        Some(&server),
                    );
                    let end = server.sample();
                    server.stop();
                    let t = &m.total;
                    Ok(Steady {
                        rps: m.rps(),
                        p50_ms: t.percentile_ms(0.5),
                        p99_ms: t.percentile_ms(0.99),
                        requests: t.num_requests,
                        failures: t.num_failures,
                        cpu_us_per_request: m
                            .server_cpu_ns
                            .filter(|_| t.num_requests > 0)
                            .map(|ns| ns as f64 / 1000.0 / t.num_requests as f64),
                        pss_mib: end.pss as f64 / (1 << 20) as f64,
                        threads: end.threads,
                    })
                }
            }
        };
        self.0.borrow_mut().push((name, got.clone()));
        got
    }
}

/// `slow-clients`' loads (a slow reader asks for more than the socket buffers hold: 4 MiB of
/// the server's send buffer at most here, and the client's receive window); at least this
/// many slow clients, and twice the workers a pool or prefork server gets where that is more.
const SLOW_LOADS: [SlowLoad; 3] = [
    SlowLoad::None,
    SlowLoad::Headers,
    SlowLoad::Reader(32 << 20),
];
const SLOW_CLIENTS: usize = 16;

fn slow_clients(ctx: &Ctx<'_>, live: Option<&LivePage>, alone: &Baselines) -> Option<SlowClients> {
    let seconds = steady_seconds(ctx);
    let targets = experiment_targets(ctx);
    // the workers ServerCommand::model gives a pool or prefork server
    let workers = crate::server_process::model_workers();
    let slow = SLOW_CLIENTS.max(2 * workers);
    let http = swarmlab_http::Config::default();
    let server = swarmlab_server::Config::default();
    println!(
        "slow-clients: {} design(s), {STEADY_RATE:.0} req/s over {STEADY_CONNECTIONS} connections, alone, beside {slow} slowloris clients, beside {slow} slow readers, {seconds} s each",
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
            if load == SlowLoad::None {
                return match alone.get(ctx, target) {
                    Err(why) => SlowPoint {
                        skipped: Some(why),
                        ..SlowPoint::default()
                    },
                    Ok(a) => SlowPoint {
                        rps: a.rps,
                        p99_ms: a.p99_ms,
                        requests: a.requests,
                        failures: a.failures,
                        skipped: None,
                    },
                };
            }
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
        rate: STEADY_RATE,
        connections: STEADY_CONNECTIONS,
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

/// The steady load beside the slow clients, measured after [`WARM_UP`] for `seconds`.
fn steady_load(ctx: &Ctx<'_>, url: &Url, seconds: f64) -> SlowPoint {
    let m = measured(ctx, steady_workload(url), STEADY_CONNECTIONS, seconds, None);
    SlowPoint {
        rps: m.rps(),
        p99_ms: m.total.percentile_ms(0.99),
        requests: m.total.num_requests,
        failures: m.total.num_failures,
        skipped: None,
    }
}

/// `idle`: idle connections of each load (0: the load alone), beside the steady load of
/// `slow-clients`.
const IDLE_COUNTS: [usize; 2] = [0, 10_000];
/// Connects timed out in a row after which a server is taken to accept no more.
const GIVE_UP: u32 = 3;
/// How long opening the idle connections and reading their answers may take (the server's
/// idle timeout, 30 s, must outlast it and the load after it).
const IDLE_SETTLE: Duration = Duration::from_secs(12);
/// Answers stop being awaited after this long without one.
const IDLE_QUIET: Duration = Duration::from_secs(2);

fn idle(ctx: &Ctx<'_>, live: Option<&LivePage>, alone: &Baselines) -> Option<Idle> {
    let seconds = steady_seconds(ctx);
    let targets = experiment_targets(ctx);
    println!(
        "idle: {} design(s), {STEADY_RATE:.0} req/s over {STEADY_CONNECTIONS} connections, alone and beside {} idle keep-alive connections, {seconds} s each",
        targets.len(),
        IDLE_COUNTS.iter().max().copied().unwrap_or(0)
    );
    let bars = indicatif::MultiProgress::new();
    let mut rows = Vec::new();
    for (i, target) in targets.iter().enumerate() {
        let design = target.design();
        let progress = Progress::new(
            &bars,
            live,
            &format!("{} idle", design.name()),
            (i, targets.len()),
            0.0,
        );
        let point = |n: usize| {
            if ctx.stop.load(Ordering::Relaxed) {
                return IdlePoint {
                    skipped: Some("interrupted".into()),
                    ..IdlePoint::default()
                };
            }
            progress.say(&format!("{n} idle connections"));
            if n == 0 {
                return match alone.get(ctx, target) {
                    Err(why) => IdlePoint {
                        skipped: Some(why),
                        ..IdlePoint::default()
                    },
                    Ok(a) => IdlePoint {
                        rps: a.rps,
                        p99_ms: a.p99_ms,
                        requests: a.requests,
                        failures: a.failures,
                        cpu_us_per_request: a.cpu_us_per_request,
                        pss_mib: a.pss_mib,
                        threads: a.threads,
                        ..IdlePoint::default()
                    },
                };
            }
            let cmd = server_command(ctx, target, None);
            let server = match ServerProcess::start(&cmd) {
                Err(e) => {
                    return IdlePoint {
                        skipped: Some(format!("{e:#}")),
                        ..IdlePoint::default()
                    }
                }
                Ok(server) => server,
            };
            let idle = IdleClients::open(server.addr(), n);
            let answered = idle.answered();
            let url = Url::parse(&server.url()).expect("a loopback URL");
            let m = measured(
                ctx,
                steady_workload(&url),
                STEADY_CONNECTIONS,
                seconds,
                Some(&server),
            );
            let end = server.sample();
            let still_open = idle.open_now();
            let requests = m.total.num_requests;
            let p = IdlePoint {
                opened: idle.opened,
                open_at_end: still_open,
                answered,
                rps: m.rps(),
                p99_ms: m.total.percentile_ms(0.99),
                requests,
                failures: m.total.num_failures,
                cpu_us_per_request: m
                    .server_cpu_ns
                    .filter(|_| requests > 0)
                    .map(|ns| ns as f64 / 1000.0 / requests as f64),
                pss_mib: end.pss as f64 / (1 << 20) as f64,
                threads: end.threads,
                skipped: None,
            };
            drop(idle);
            server.stop();
            p
        };
        let points: Vec<IdlePoint> = IDLE_COUNTS.iter().map(|&n| point(n)).collect();
        progress.finish();
        let line = format!(
            "{} idle: {}",
            design.name(),
            IDLE_COUNTS
                .iter()
                .zip(&points)
                .map(|(n, p)| match (&p.skipped, p.cpu_us_per_request) {
                    (Some(why), _) => format!("{n} idle: did not run: {why}"),
                    (None, Some(cpu)) => {
                        format!("{n} idle: {:.0} req/s, {cpu:.0} µs CPU/request", p.rps)
                    }
                    (None, None) => format!("{n} idle: {:.0} req/s", p.rps),
                })
                .collect::<Vec<_>>()
                .join(", ")
        );
        if bars.is_hidden() {
            println!("{line}");
        } else {
            let _ = bars.println(line);
        }
        rows.push(IdleRow { design, points });
    }
    Some(Idle {
        rate: STEADY_RATE,
        connections: STEADY_CONNECTIONS,
        seconds,
        idle_timeout_s: swarmlab_http::Config::default().idle_timeout.as_secs_f64(),
        idle: IDLE_COUNTS.to_vec(),
        rows,
    })
}

/// Idle keep-alive connections, kept as a client keeps them: a thread reads each one's answer
/// and closes the ones the server closes (a design serving N at a time lets an answered
/// connection go when others wait, and lingers until its client closes too), by epoll, so
/// 10,000 of them cost the generator's core nothing while they are quiet.
struct IdleClients {
    opened: usize,
    counts: std::sync::Arc<IdleCounts>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    keeper: Option<std::thread::JoinHandle<()>>,
}

/// What the idle clients' thread saw.
#[derive(Default)]
struct IdleCounts {
    /// Connections whose answer came.
    answered: std::sync::atomic::AtomicUsize,
    /// Connections the server closed.
    closed: std::sync::atomic::AtomicUsize,
}

impl IdleClients {
    /// `n` of them: each connects and sends `GET /`, handed at once to the thread that keeps
    /// them. A connect that times out (the listen queue is full: the server accepts more
    /// slowly than they come) is tried again; opening stops after [`GIVE_UP`] such timeouts
    /// in a row (a server that accepts no more) or at [`IDLE_SETTLE`]. Then answers are
    /// awaited until every connection has one, none came for [`IDLE_QUIET`], or
    /// [`IDLE_SETTLE`] has passed: a fork server takes seconds to start 10,000 processes, and
    /// the load should measure them held, not being created.
    fn open(addr: SocketAddr, n: usize) -> IdleClients {
        use std::sync::atomic::AtomicBool;
        use std::sync::Arc;
        let start = std::time::Instant::now();
        let settle_by = start + IDLE_SETTLE;
        let counts = Arc::new(IdleCounts::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (hand, take) = std::sync::mpsc::channel::<TcpStream>();
        let keeper = {
            let (counts, stop) = (counts.clone(), stop.clone());
            std::thread::Builder::new()
                .name("idle-clients".into())
                .spawn(move || keep(&take, &counts, &stop))
                .ok()
        };
        let request = format!("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n");
        let (mut opened, mut timeouts) = (0, 0);
        while opened < n && timeouts < GIVE_UP && std::time::Instant::now() < settle_by {
            let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
                timeouts += 1;
                continue;
            };
            timeouts = 0;
            if s.write_all(request.as_bytes()).is_err()
                || s.set_nonblocking(true).is_err()
                || hand.send(s).is_err()
            {
                break;
            }
            opened += 1;
        }
        let clients = IdleClients {
            opened,
            counts,
            stop,
            keeper,
        };
        let (mut seen, mut last_change) = (0, std::time::Instant::now());
        loop {
            let now = std::time::Instant::now();
            let got = clients.answered();
            if got != seen {
                (seen, last_change) = (got, now);
            }
            if got >= opened || now >= settle_by || now - last_change >= IDLE_QUIET {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        clients
    }

    fn answered(&self) -> usize {
        self.counts.answered.load(Ordering::Relaxed)
    }

    /// Connections still open (the server has not closed them).
    fn open_now(&self) -> usize {
        self.opened
            .saturating_sub(self.counts.closed.load(Ordering::Relaxed))
    }
}

impl Drop for IdleClients {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(k) = self.keeper.take() {
            let _ = k.join();
        }
    }
}

/// The idle clients' thread: takes each connection as it opens, reads what comes on it (the
/// first bytes are its answer), closes those the server closed, until `stop`; then closes the
/// rest.
fn keep(
    take: &std::sync::mpsc::Receiver<TcpStream>,
    counts: &IdleCounts,
    stop: &std::sync::atomic::AtomicBool,
) {
    use rustix::event::epoll;
    use std::io::Read as _;
    let Ok(ep) = epoll::create(epoll::CreateFlags::CLOEXEC) else {
        return;
    };
    let mut held: Vec<Option<(TcpStream, bool)>> = Vec::new();
    let mut events: Vec<epoll::Event> = Vec::with_capacity(1024);
    let mut buf = [0u8; 4096];
    let tick = rustix::time::Timespec {
        tv_sec: 0,
        tv_nsec: 20_000_000,
    };
    while !stop.load(Ordering::Relaxed) {
        while let Ok(s) = take.try_recv() {
            let data = epoll::EventData::new_u64(held.len() as u64);
            let _ = epoll::add(
                &ep,
                &s,
                data,
                epoll::EventFlags::IN | epoll::EventFlags::RDHUP,
            );
            held.push(Some((s, false)));
        }
        events.clear();
        if epoll::wait(
            &ep,
            rustix::buffer::spare_capacity(&mut events),
            Some(&tick),
        )
        .is_err()
        {
            continue;
        }
        for ev in &events {
            let i = { ev.data }.u64() as usize;
            let Some(Some((s, was_answered))) = held.get_mut(i) else {
                continue;
            };
            let closed = loop {
                match s.read(&mut buf) {
                    Ok(0) => break true,
                    Ok(_) => {
                        if !*was_answered {
                            *was_answered = true;
                            counts.answered.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break false,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break true,
                }
            };
            if closed {
                let _ = epoll::delete(&ep, &*s);
                held[i] = None;
                counts.closed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// `pool-size`: the worker counts, the loads, the connections (more than the most workers).
const POOL_SIZES: [usize; 5] = [1, 4, 16, 64, 256];
const POOL_LOADS: [PoolLoad; 2] = [PoolLoad::Hello, PoolLoad::Sleep(1)];
const POOL_CONNECTIONS: usize = 300;

fn pool_size(ctx: &Ctx<'_>, live: Option<&LivePage>) -> Option<PoolSize> {
    let seconds = measured_for(ctx, 0.5, 2.0);
    let mut models: Vec<Model> = ctx
        .plan
        .targets
        .iter()
        .filter_map(|t| match t {
            Target::Model(m @ (Model::Prefork | Model::Pool)) => Some(*m),
            _ => None,
        })
        .collect();
    if models.is_empty() {
        models = vec![Model::Prefork, Model::Pool];
        println!("pool-size: prefork and pool (the designs with a fixed number of workers), though not among the models compared");
    }
    println!(
        "pool-size: {} design(s) at {} workers, {POOL_CONNECTIONS} connections without think time, GET {}, {seconds} s each",
        models.len(),
        POOL_SIZES.map(|n| n.to_string()).join(", "),
        POOL_LOADS.map(PoolLoad::path).join(" then GET "),
    );
    let bars = indicatif::MultiProgress::new();
    let mut rows = Vec::new();
    let total = models.len() * POOL_LOADS.len();
    for (i, (m, load)) in models
        .iter()
        .flat_map(|m| POOL_LOADS.iter().map(move |l| (*m, *l)))
        .enumerate()
    {
        let target = Target::Model(m);
        let progress = Progress::new(
            &bars,
            live,
            &format!("{} pool-size GET {}", m.name(), load.path()),
            (i, total),
            0.0,
        );
        let point = |n: usize| {
            if ctx.stop.load(Ordering::Relaxed) {
                return PoolPoint {
                    skipped: Some("interrupted".into()),
                    ..PoolPoint::default()
                };
            }
            progress.say(&format!("{n} workers"));
            let server = match ServerProcess::start(&server_command(ctx, &target, Some(n))) {
                Err(e) => {
                    return PoolPoint {
                        skipped: Some(format!("{e:#}")),
                        ..PoolPoint::default()
                    }
                }
                Ok(server) => server,
            };
            let url = Url::parse(&server.url()).expect("a loopback URL");
            let workload =
                Workload::mix(&url, &[(&load.path(), "pool", 1)], WaitTime::Constant(0.0));
            // its memory and threads once the load is over (its CPU is not asked for)
            let m = measured(ctx, workload, POOL_CONNECTIONS, seconds, None);
            let end = server.sample();
            let p = PoolPoint {
                rps: m.rps(),
                p99_ms: m.total.percentile_ms(0.99),
                failures: m.total.num_failures,
                pss_mib: end.pss as f64 / (1 << 20) as f64,
                threads: end.threads,
                skipped: None,
            };
            server.stop();
            p
        };
        let points: Vec<PoolPoint> = POOL_SIZES.iter().map(|&n| point(n)).collect();
        progress.finish();
        let line = format!(
            "{} pool-size GET {}: {}",
            m.name(),
            load.path(),
            POOL_SIZES
                .iter()
                .zip(&points)
                .map(|(n, p)| match &p.skipped {
                    Some(why) => format!("{n}: did not run: {why}"),
                    None => format!("{n}: {:.0} req/s", p.rps),
                })
                .collect::<Vec<_>>()
                .join(", ")
        );
        if bars.is_hidden() {
            println!("{line}");
        } else {
            let _ = bars.println(line);
        }
        rows.push(PoolRow {
            design: target.design(),
            load,
            points,
        });
    }
    Some(PoolSize {
        connections: POOL_CONNECTIONS,
        seconds,
        workers: POOL_SIZES.to_vec(),
        rows,
    })
}

fn network(ctx: &Ctx<'_>, live: Option<&LivePage>, alone: &Baselines) -> Option<Network> {
    let seconds = steady_seconds(ctx);
    let targets = experiment_targets(ctx);
    let rtt = ctx.plan.rtt;
    let (link, method, method_why, bandwidth) =
        network_link(ctx.plan.bandwidth, rtt, netem_missing());
    // netem holds the packets; the relay then only hands connections over
    let one_way = match method {
        NetworkMethod::Relay => rtt / 2,
        NetworkMethod::Netem => Duration::ZERO,
    };
    // the workers ServerCommand::model gives a pool or prefork server
    let workers = crate::server_process::model_workers();
    println!(
        "network: {} design(s), {STEADY_RATE:.0} req/s over {STEADY_CONNECTIONS} connections, straight and through a {:.0} ms round trip ({}), {seconds} s each\nnetwork: {}",
        targets.len(),
        rtt.as_secs_f64() * 1e3,
        match &method_why {
            None => "the kernel's netem".to_string(),
            Some(why) => format!(
                "a delay relay: {}",
                swarmlab_report::sections::network_how(Lang::En, why)
            ),
        },
        swarmlab_report::sections::network_bandwidth(Lang::En, &bandwidth, method),
    );
    let bars = indicatif::MultiProgress::new();
    let mut rows = Vec::new();
    let mut measured_rtt: Option<Duration> = None;
    for (i, target) in targets.iter().enumerate() {
        let design = target.design();
        let progress = Progress::new(
            &bars,
            live,
            &format!("{} network", design.name()),
            (i, targets.len()),
            0.0,
        );
        let mut point = |delayed: bool| {
            let skipped = |why: String| NetworkPoint {
                skipped: Some(why),
                ..NetworkPoint::default()
            };
            if ctx.stop.load(Ordering::Relaxed) {
                return skipped("interrupted".into());
            }
            if !delayed {
                progress.say("straight");
                return match alone.get(ctx, target) {
                    Err(why) => skipped(why),
                    Ok(a) => NetworkPoint {
                        rps: a.rps,
                        p50_ms: a.p50_ms,
                        p99_ms: a.p99_ms,
                        requests: a.requests,
                        failures: a.failures,
                        skipped: None,
                    },
                };
            }
            progress.say("through the round trip");
            let server = match ServerProcess::start(&server_command(ctx, target, None)) {
                Err(e) => return skipped(format!("{e:#}")),
                Ok(server) => server,
            };
            let relay = match &link {
                None => crate::delay_relay::DelayRelay::start(server.addr(), one_way),
                Some(link) => link.listener().and_then(|l| {
                    crate::delay_relay::DelayRelay::start_on(l, server.addr(), one_way)
                }),
            };
            let relay = match relay {
                Ok(r) => r,
                Err(e) => {
                    server.stop();
                    return skipped(format!("the delay relay did not start: {e}"));
                }
            };
            let addr = relay.addr();
            if measured_rtt.is_none() {
                measured_rtt = round_trip(addr).ok();
            }
            let url = Url::parse(&format!("http://{addr}")).expect("a loopback URL");
            let m = measured(
                ctx,
                steady_workload(&url),
                STEADY_CONNECTIONS,
                seconds,
                None,
            );
            let t = &m.total;
            let p = NetworkPoint {
                rps: m.rps(),
                p50_ms: t.percentile_ms(0.5),
                p99_ms: t.percentile_ms(0.99),
                requests: t.num_requests,
                failures: t.num_failures,
                skipped: None,
            };
            drop(relay);
            server.stop();
            p
        };
        let direct = point(false);
        let delayed = point(true);
        progress.finish();
        let said = |p: &NetworkPoint| match &p.skipped {
            Some(why) => format!("did not run: {why}"),
            None => format!(
                "{:.0} req/s, median {}, p99 {}",
                p.rps,
                ms_or_dash(p.p50_ms),
                ms_or_dash(p.p99_ms)
            ),
        };
        let line = format!(
            "{} network: straight {}; through {:.0} ms: {}",
            design.name(),
            said(&direct),
            rtt.as_secs_f64() * 1e3,
            said(&delayed)
        );
        if bars.is_hidden() {
            println!("{line}");
        } else {
            let _ = bars.println(line);
        }
        let has_workers = matches!(target, Target::Model(Model::Pool | Model::Prefork));
        rows.push(NetworkRow {
            design,
            workers: has_workers.then_some(workers),
            direct,
            delayed,
        });
    }
    Some(Network {
        rtt_ms: rtt.as_secs_f64() * 1e3,
        measured_rtt_ms: measured_rtt.map(|d| d.as_secs_f64() * 1e3),
        method,
        method_why,
        bandwidth,
        rate: STEADY_RATE,
        connections: STEADY_CONNECTIONS,
        seconds,
        rows,
    })
}

/// Why the round trip is the relay's, not `netem`'s (which needs a network namespace, made
/// here for a moment where the user is root): what stopped it, in a few words.
fn netem_missing() -> Option<NoNetem> {
    use std::process::{Command, Stdio};
    if !rustix::process::geteuid().is_root() {
        return Some(NoNetem::NotRoot);
    }
    let ns = format!("swarmlab-probe-{}", std::process::id());
    let ip = |args: &[&str]| {
        Command::new("ip")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
    };
    if !ip(&["netns", "add", &ns]).is_ok_and(|o| o.status.success()) {
        return Some(NoNetem::NoNamespace);
    }
    let tried = ip(&[
        "netns", "exec", &ns, "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms",
    ]);
    let _ = ip(&["netns", "delete", &ns]);
    match tried {
        Ok(o) if o.status.success() => None,
        Ok(o) => {
            let why = String::from_utf8_lossy(&o.stderr);
            let why = why.lines().next().unwrap_or("").trim();
            let why = why.trim_start_matches("Error: ").trim_end_matches('.');
            Some(NoNetem::NotInKernel {
                tc: why.to_string(),
            })
        }
        Err(e) => Some(NoNetem::NoTc {
            error: e.to_string(),
        }),
    }
}

/// The link `network` runs across, how it makes the round trip, why not with `netem` (`None`:
/// with it), and its bandwidth. Where the kernel has `netem` (`no_netem` is `None`), a link
/// whose ends hold each packet half the round trip (and limit the rate, where `bits` asks);
/// if that fails, or without `netem`, the delay relay, with `tbf` for the bandwidth.
fn network_link(
    bits: u64,
    rtt: Duration,
    no_netem: Option<NoNetem>,
) -> (
    Option<crate::shaped_link::Link>,
    NetworkMethod,
    Option<NoNetem>,
    Bandwidth,
) {
    let why = match no_netem {
        Some(why) => why,
        None => match crate::shaped_link::Link::create(bits, Some(rtt / 2)) {
            Ok(link) => {
                let bandwidth = if bits == 0 {
                    Bandwidth::Unlimited
                } else {
                    Bandwidth::Shaped {
                        mbit: bits as f64 / 1e6,
                        measured_mbit: measure_link(&link, bits),
                    }
                };
                return (Some(link), NetworkMethod::Netem, None, bandwidth);
            }
            Err(e) => NoNetem::Failed {
                error: e.to_string(),
            },
        },
    };
    let (link, bandwidth) = shaped_link(bits);
    (link, NetworkMethod::Relay, Some(why), bandwidth)
}

/// Mbit/s across `link`: half a second's worth at `bits` a second sent into its namespace.
fn measure_link(link: &crate::shaped_link::Link, bits: u64) -> Option<f64> {
    let bytes = ((bits / 16) as usize).clamp(64 << 10, 32 << 20);
    link.measure(bytes).ok().map(|b| b / 1e6)
}

/// The shaped link `--bandwidth` asks for, or why there is none; and what the report says of it
/// (with the rate measured across the link: half a second's worth sent into the namespace).
fn shaped_link(bits: u64) -> (Option<crate::shaped_link::Link>, Bandwidth) {
    use crate::shaped_link::{Link, NoLink};
    if bits == 0 {
        return (None, Bandwidth::Unlimited);
    }
    let mbit = bits as f64 / 1e6;
    match Link::create(bits, None) {
        Ok(link) => {
            let measured_mbit = measure_link(&link, bits);
            (
                Some(link),
                Bandwidth::Shaped {
                    mbit,
                    measured_mbit,
                },
            )
        }
        Err(NoLink::NotRoot) => (
            None,
            Bandwidth::NotShaped {
                mbit,
                why: NoShaping::NotRoot,
            },
        ),
        Err(NoLink::Failed(error)) => (
            None,
            Bandwidth::NotShaped {
                mbit,
                why: NoShaping::Failed { error },
            },
        ),
    }
}

/// One request's round trip on an open connection to `addr` (the first request, which opens
/// it, is not timed).
fn round_trip(addr: SocketAddr) -> std::io::Result<Duration> {
    use std::io::Read as _;
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let _ = s.set_nodelay(true);
    let request = format!("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    let mut one = || -> std::io::Result<Duration> {
        let start = std::time::Instant::now();
        s.write_all(request.as_bytes())?;
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = s.read(&mut buf)?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            got.extend_from_slice(&buf[..n]);
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut r = httparse::Response::new(&mut headers);
            if let Ok(httparse::Status::Complete(head)) = r.parse(&got) {
                let len = r
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                    .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse().ok())
                    .unwrap_or(0usize);
                if got.len() >= head + len {
                    return Ok(start.elapsed());
                }
            }
        }
    };
    one()?;
    one()
}

/// `overload`: the request (100 us of CPU: one core serves at most about 10,000 a second, which
/// the generator's one core offers with room to spare), its connections, the rates as multiples
/// of capacity.
const OVERLOAD_PATH: &str = "/cpu?us=100";
const OVERLOAD_CONNECTIONS: usize = 200;
const OVERLOAD_FACTOR: f64 = 1.5;
const RECOVERY_FACTOR: f64 = 0.5;

fn overload(ctx: &Ctx<'_>, live: Option<&LivePage>) -> Option<Overload> {
    // the overload's length; the recovery runs twice as long
    let seconds = measured_for(ctx, 1.0, 3.0);
    let targets = experiment_targets(ctx);
    println!(
        "overload: {} design(s), GET {OVERLOAD_PATH} over {OVERLOAD_CONNECTIONS} connections: capacity, then {OVERLOAD_FACTOR}x it for {seconds} s, then {RECOVERY_FACTOR}x for {} s",
        targets.len(),
        2.0 * seconds
    );
    let bars = indicatif::MultiProgress::new();
    let mut rows = Vec::new();
    for (i, target) in targets.iter().enumerate() {
        let design = target.design();
        let progress = Progress::new(
            &bars,
            live,
            &format!("{} overload", design.name()),
            (i, targets.len()),
            0.0,
        );
        let row = |skipped: String| OverloadRow {
            design: design.clone(),
            capacity: 0.0,
            early: OverloadWindow::default(),
            late: OverloadWindow::default(),
            recovery: OverloadWindow::default(),
            skipped: Some(skipped),
        };
        let r = if ctx.stop.load(Ordering::Relaxed) {
            row("interrupted".into())
        } else {
            match ServerProcess::start(&server_command(ctx, target, None)) {
                Err(e) => row(format!("{e:#}")),
                Ok(server) => {
                    let url = Url::parse(&server.url()).expect("a loopback URL");
                    let workload =
                        |wait| Workload::mix(&url, &[(OVERLOAD_PATH, "overload", 1)], wait);
                    progress.say("capacity");
                    let capacity = measured(
                        ctx,
                        workload(WaitTime::Constant(0.0)),
                        OVERLOAD_CONNECTIONS,
                        measured_for(ctx, 0.5, 2.0),
                        None,
                    )
                    // a design that turns work away (503) serves only what it answers
                    .ok_rps();
                    let r = if capacity < 1.0 {
                        row(format!("it served {capacity:.0} req/s back to back"))
                    } else {
                        progress.say(&format!(
                            "{:.0} req/s offered, {OVERLOAD_FACTOR}x its capacity",
                            OVERLOAD_FACTOR * capacity
                        ));
                        let [early, late, recovery] = past_capacity(
                            ctx,
                            workload(WaitTime::Constant(0.0)),
                            capacity,
                            seconds,
                        );
                        OverloadRow {
                            design: design.clone(),
                            capacity,
                            early,
                            late,
                            recovery,
                            skipped: None,
                        }
                    };
                    server.stop();
                    r
                }
            }
        };
        progress.finish();
        let line = match &r.skipped {
            Some(why) => format!("{} overload: did not run: {why}", design.name()),
            None => format!(
                "{} overload: capacity {:.0} req/s; at {:.0}: p99 {} then {}, {:.0} failed/s; at {:.0}: {:.0} req/s, p99 {}",
                design.name(),
                r.capacity,
                r.early.offered,
                ms_or_dash(r.early.p99_ms),
                ms_or_dash(r.late.p99_ms),
                r.late.fps,
                r.recovery.offered,
                r.recovery.rps,
                ms_or_dash(r.recovery.p99_ms),
            ),
        };
        if bars.is_hidden() {
            println!("{line}");
        } else {
            let _ = bars.println(line);
        }
        rows.push(r);
    }
    Some(Overload {
        path: OVERLOAD_PATH.into(),
        connections: OVERLOAD_CONNECTIONS,
        factor: OVERLOAD_FACTOR,
        recovery_factor: RECOVERY_FACTOR,
        seconds,
        rows,
    })
}

fn ms_or_dash(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.1} ms"))
}

/// The open model at [`OVERLOAD_FACTOR`] × `capacity` for `seconds` (two windows), then at
/// [`RECOVERY_FACTOR`] × it for twice as long (its second half a window). Each window lies
/// between two snapshots taken while the connections are open, as [`measured`]'s does.
fn past_capacity(
    ctx: &Ctx<'_>,
    workload: Workload,
    capacity: f64,
    seconds: f64,
) -> [OverloadWindow; 3] {
    let t = Duration::from_secs_f64(seconds);
    let plan = LoadPlan {
        users: OVERLOAD_CONNECTIONS,
        spawn_rate: 1e9,
        rate: Some(OVERLOAD_FACTOR * capacity),
        threads: ctx.plan.generator_threads,
        seed: Some(ctx.plan.seed),
        ..LoadPlan::default()
    };
    let swarm = Swarm::new(workload, plan.clone());
    swarm.start(swarmlab_swarm::Start::from_plan(&plan));
    let start = edge(&swarm, None);
    wait_for(ctx, t / 2);
    let half = edge(&swarm, None);
    wait_for(ctx, t / 2);
    let over = edge(&swarm, None);
    swarm.set_rate(Some(RECOVERY_FACTOR * capacity));
    // the first half of the recovery drains the backlog the overload left
    wait_for(ctx, t);
    let drained = edge(&swarm, None);
    wait_for(ctx, t);
    let end = edge(&swarm, None);
    swarm.quit();
    swarm.wait();
    [
        window(&start, &half, OVERLOAD_FACTOR * capacity),
        window(&half, &over, OVERLOAD_FACTOR * capacity),
        window(&drained, &end, RECOVERY_FACTOR * capacity),
    ]
}

/// What happened between two snapshots of an open-model run offering `offered` req/s.
fn window(a: &Edge, b: &Edge, offered: f64) -> OverloadWindow {
    let took = (b.at - a.at).as_secs_f64().max(1e-3);
    let t = since(&a.total, &b.total);
    let failure = b
        .errors
        .iter()
        .map(|(k, row)| {
            let before = a.errors.get(k).map_or(0, |r| r.occurrences);
            (k, row.occurrences.saturating_sub(before))
        })
        .filter(|(_, n)| *n > 0)
        .max_by_key(|(_, n)| *n)
        .map(|((_, f), _)| swarmlab_swarm::output::failure::text(f));
    OverloadWindow {
        offered,
        rps: t.num_requests.saturating_sub(t.num_failures) as f64 / took,
        fps: t.num_failures as f64 / took,
        p50_ms: t.percentile_ms(0.5),
        p99_ms: t.percentile_ms(0.99),
        failure,
    }
}

/// Sleeps `d`, or less if the run is interrupted.
fn wait_for(ctx: &Ctx<'_>, d: Duration) {
    let until = std::time::Instant::now() + d;
    while !ctx.stop.load(Ordering::Relaxed) {
        let left = until.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            break;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
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
/// Measured once the connections are up and their first requests done.
const WARM_UP: Duration = Duration::from_millis(500);

fn head_of_line(ctx: &Ctx<'_>, live: Option<&LivePage>) -> Option<HeadOfLine> {
    let seconds = measured_for(ctx, 1.0, 4.0);
    let targets = experiment_targets(ctx);
    println!(
        "head-of-line: {} design(s), {HOL_RATE:.0} req/s over {HOL_CONNECTIONS} connections, 1 in {LONG_EVERY} requests long ({}), {seconds} s each",
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

/// How long an experiment's loads are measured: `--experiment-time`, else its own time with or
/// without `--quick`, s.
fn measured_for(ctx: &Ctx<'_>, quick: f64, full: f64) -> f64 {
    match ctx.plan.experiment_time {
        Some(t) => t.as_secs_f64().max(0.5),
        None if ctx.plan.quick => quick,
        None => full,
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
    let m = measured(ctx, workload, HOL_CONNECTIONS, seconds, None);
    let q = |name: &str, q: f64| m.entry(name).and_then(|e| e.percentile_ms(q));
    HolPoint {
        short_p50_ms: q("short", 0.5),
        short_p99_ms: q("short", 0.99),
        long_p99_ms: q("long", 0.99),
        requests: m.total.num_requests,
        failures: m.total.num_failures,
        skipped: None,
    }
}

/// What [`measured`] measured: one window of a run, from a snapshot after the warm-up to
/// one `seconds` later, both taken while every connection is open.
struct Measured {
    /// All requests completed in the window.
    total: EntryStats,
    /// Per request name.
    entries: Vec<(String, EntryStats)>,
    /// The window's length.
    took: Duration,
    /// The server's CPU time over the window, ns, where a server was given.
    server_cpu_ns: Option<u64>,
}

impl Measured {
    /// Completed requests per second over the window.
    fn rps(&self) -> f64 {
        self.total.num_requests as f64 / self.took.as_secs_f64().max(1e-3)
    }

    /// Requests per second answered without failing over the window.
    fn ok_rps(&self) -> f64 {
        let t = &self.total;
        t.num_requests.saturating_sub(t.num_failures) as f64 / self.took.as_secs_f64().max(1e-3)
    }

    /// The requests named `name`, if any were.
    fn entry(&self, name: &str) -> Option<&EntryStats> {
        self.entries.iter().find(|(n, _)| n == name).map(|(_, e)| e)
    }
}

/// One edge of a measured window: the generator's statistics with every worker's latest
/// requests handed over, and the server's CPU then.
struct Edge {
    total: EntryStats,
    entries: Vec<(String, EntryStats)>,
    errors: std::collections::BTreeMap<(usize, Failed), ErrorRow>,
    at: std::time::Instant,
    cpu_ns: Option<u64>,
}

fn edge(swarm: &Swarm, server: Option<&ServerProcess>) -> Edge {
    let whole_by = std::time::Instant::now() + Duration::from_secs(5);
    while !swarm.flush() && std::time::Instant::now() < whole_by {}
    let (total, entries, errors) = swarm.view(|v| {
        let entries = v
            .names
            .iter()
            .zip(&v.stats.entries)
            .map(|(n, e)| (n.name.clone(), e.clone()))
            .collect();
        (v.stats.total.clone(), entries, v.stats.errors.clone())
    });
    Edge {
        total,
        entries,
        errors,
        at: std::time::Instant::now(),
        cpu_ns: server.map(|s| s.sample().cpu_ns),
    }
}

/// What `b` holds beyond `a`.
fn since(a: &EntryStats, b: &EntryStats) -> EntryStats {
    let mut w = b.clone();
    w.num_requests = b.num_requests.saturating_sub(a.num_requests);
    w.num_failures = b.num_failures.saturating_sub(a.num_failures);
    w.total_us = b.total_us.saturating_sub(a.total_us);
    w.total_content = b.total_content.saturating_sub(a.total_content);
    if w.hist.subtract(&a.hist).is_err() {
        w.hist.reset();
    }
    (w.min_us, w.max_us) = if w.hist.is_empty() {
        (u64::MAX, 0)
    } else {
        (w.hist.min(), w.hist.max())
    };
    w
}

/// `workload` over `users` connections, all started at once; measured from [`WARM_UP`] for
/// `seconds` between two snapshots taken while the connections are open (with a `server`, its
/// CPU over the same window: a thread or process that ends with its connection leaves its time
/// behind, so it is read before they close).
fn measured(
    ctx: &Ctx<'_>,
    workload: Workload,
    users: usize,
    seconds: f64,
    server: Option<&ServerProcess>,
) -> Measured {
    let plan = LoadPlan {
        users,
        spawn_rate: 1e9,
        threads: ctx.plan.generator_threads,
        seed: Some(ctx.plan.seed),
        ..LoadPlan::default()
    };
    let swarm = Swarm::new(workload, plan.clone());
    swarm.start(swarmlab_swarm::Start::from_plan(&plan));
    wait_for(ctx, WARM_UP);
    let a = edge(&swarm, server);
    wait_for(ctx, Duration::from_secs_f64(seconds));
    let b = edge(&swarm, server);
    swarm.quit();
    swarm.wait();
    Measured {
        total: since(&a.total, &b.total),
        entries: b
            .entries
            .iter()
            .map(|(name, e)| {
                let before = a.entries.iter().find(|(n, _)| n == name).map(|(_, e)| e);
                let w = match before {
                    Some(x) => since(x, e),
                    None => e.clone(),
                };
                (name.clone(), w)
            })
            .collect(),
        took: b.at - a.at,
        server_cpu_ns: a.cpu_ns.zip(b.cpu_ns).map(|(x, y)| y.saturating_sub(x)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where the kernel has netem, `network` makes its round trip with it; where setting it up
    /// fails (here: a kernel without it, asked anyway), the relay makes it, the reason says
    /// what failed, and the bandwidth is still made with `tbf`.
    #[test]
    fn netem_is_used_where_it_works_and_the_relay_said_where_it_does_not() {
        if !rustix::process::geteuid().is_root() {
            assert!(
                std::env::var_os("SWARMLAB_REQUIRE_PEERS").is_none(),
                "a network namespace needs root, and SWARMLAB_REQUIRE_PEERS=1"
            );
            eprintln!("skipped: a network namespace needs root");
            return;
        }
        let rtt = Duration::from_millis(20);
        let (link, method, why, bandwidth) = network_link(8_000_000, rtt, None);
        assert!(link.is_some(), "{method:?} {why:?} {bandwidth:?}");
        match netem_missing() {
            None => {
                assert_eq!(method, NetworkMethod::Netem, "{why:?}");
                assert!(why.is_none());
            }
            Some(_) => {
                assert_eq!(method, NetworkMethod::Relay);
                let Some(NoNetem::Failed { error }) = &why else {
                    panic!("{why:?}");
                };
                assert!(error.contains("netem"), "{error}");
            }
        }
        let Bandwidth::Shaped {
            mbit,
            measured_mbit: Some(m),
        } = bandwidth
        else {
            panic!("{bandwidth:?}");
        };
        assert_eq!(mbit, 8.0);
        assert!((5.0..9.0).contains(&m), "8 Mbit/s asked, {m:.2} measured");
    }
}
