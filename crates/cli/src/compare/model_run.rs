//! One design's part of a comparison: a target in, its row out. A swarmlab model gets a
//! fresh server for each phase (the assignment's run; the capacity searches; the `cpu`
//! workload on every core but the generator's), so no phase measures another's leftovers; an
//! external server is measured where it runs. The assignment's run is the classic one: the
//! users ramp until the first failure or the run time, second by second into Locust's CSVs.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use swarmlab_report::check::Check;
use swarmlab_report::{
    Capacity, CapacityRow, Client, Design, ModelResult, Outcome, Sample, ScalePoint, Server, Trial,
    WorkloadKind,
};
use swarmlab_swarm::{Plan as LoadPlan, Summary, Swarm, Target as Url, Workload};

use super::capacity::{mib, Searches};
use super::live::{Progress, Watcher};
use super::plan::{Plan, SearchPlan};
use super::targets::Target;
use super::workloads::users_for;
use crate::connections::loopback_sources;
use crate::csv_files::CsvFiles;
use crate::procfs::{self, TreeSample};
use crate::server_process::{answers, ServerCommand, ServerProcess};

/// What every design's run shares.
pub struct Ctx<'a> {
    pub plan: &'a Plan,
    /// This executable (it serves the models).
    pub exe: &'a Path,
    /// A locustfile's users (`--locustfile`), else the built-in workload's.
    pub users: Option<&'a Workload>,
    /// Ctrl-C.
    pub stop: &'a AtomicBool,
    /// `--server`s checked before any measuring ([`check_all`]), by name, until their rows
    /// take them.
    pub checked: std::sync::Mutex<std::collections::HashMap<String, anyhow::Result<Check>>>,
}

/// Checks every `--server` at once, before anything is measured: a check mostly waits (its
/// probes' answer waits, a slow server's threads), so several servers' checks take about as
/// long as the slowest of them instead of their sum (three of `tests/servers/` took 49 s one
/// after another). Each runs on a fresh server of its own; nothing is measured meanwhile.
pub fn check_all(ctx: &Ctx<'_>) {
    let commands: Vec<(&str, &str)> = ctx
        .plan
        .targets
        .iter()
        .filter_map(|t| match t {
            Target::Command { name, command } => Some((name.as_str(), command.as_str())),
            _ => None,
        })
        .collect();
    if commands.len() < 2 {
        return; // one is checked in its row, as it says there
    }
    let names: Vec<&str> = commands.iter().map(|(n, _)| *n).collect();
    println!(
        "checking the HTTP of {} servers of yours side by side: {}",
        names.len(),
        names.join(", ")
    );
    let results: Vec<(String, anyhow::Result<Check>)> = std::thread::scope(|s| {
        let runs: Vec<_> = commands
            .iter()
            .map(|&(name, command)| {
                let log = log_path(ctx.plan, name);
                let cmd =
                    ServerCommand::user(name, command, ctx.plan.server_cpus.as_deref(), Some(log));
                (name, s.spawn(move || crate::check::check_command(&cmd)))
            })
            .collect();
        runs.into_iter()
            .map(|(name, run)| {
                let checked = run
                    .join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("its check panicked")));
                (name.to_string(), checked)
            })
            .collect()
    });
    ctx.checked
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .extend(results);
}

/// A design's row of the main table, its row in each of `--workload all`'s others, and (a
/// `--server`) what `check` found.
pub struct Row {
    pub main: ModelResult,
    pub extras: Vec<CapacityRow>,
    pub check: Option<Check>,
}

impl Row {
    /// A design that could not run: why, in every table.
    pub fn skipped(ctx: &Ctx<'_>, design: Design, why: &str) -> Row {
        Row {
            extras: ctx
                .plan
                .extras()
                .iter()
                .map(|_| CapacityRow {
                    design: design.clone(),
                    capacity: None,
                    skipped: Some(why.to_string()),
                })
                .collect(),
            main: ModelResult {
                design,
                outcome: Outcome::Skipped {
                    reason: why.to_string(),
                },
            },
            check: None,
        }
    }
}

/// How one design's servers are started: a phase asks for one on `cpus`, serving HTTPS if
/// `tls`; `Err` says why it cannot be (a user's server serves what it serves).
type Starter<'a> = &'a dyn Fn(Option<&[usize]>, bool) -> Result<ServerCommand, String>;

/// Runs one target's phases.
pub fn run(ctx: &Ctx<'_>, target: &Target, progress: &Progress<'_>) -> Row {
    match target {
        Target::Model(m) => {
            let model = *m;
            let workers = procs_workers(model, ctx.plan.users);
            let start = |cpus: Option<&[usize]>, tls| {
                let cmd = ServerCommand::model(ctx.exe, model, cpus, tls);
                Ok(match workers {
                    Some(n) => cmd.with_workers(n),
                    None => cmd,
                })
            };
            run_started(ctx, Design::Model(model), &start, progress)
        }
        Target::Command { name, command } => run_command(ctx, name, command, progress),
        Target::External { name, url, pid } => run_external(ctx, name, url, *pid, progress),
    }
}

/// `procs` holds more connections than one process may as nginx does, with more processes:
/// as many as `users` connections need (each may open as many files as this one), at least
/// one per core; `None`: the usual one per core will do (or another model).
fn procs_workers(model: swarmlab_server::Model, users: usize) -> Option<usize> {
    use swarmlab_swarm::processes;
    if model != swarmlab_server::Model::Procs {
        return None;
    }
    let per = processes::users_per_process(processes::descriptor_limit()?, 1);
    let cores = crate::server_process::model_workers();
    (users > per * cores).then(|| users.div_ceil(per).max(cores))
}

/// The user's own server: `check` first (its findings go beside the numbers), then the same
/// phases as a model's, each on a fresh server started from its command, its output in
/// `OUT/servers/NAME.log`.
fn run_command(ctx: &Ctx<'_>, name: &str, command: &str, progress: &Progress<'_>) -> Row {
    let design = Design::External(name.to_string());
    let log = log_path(ctx.plan, name);
    let start = |cpus: Option<&[usize]>, tls: bool| {
        if tls {
            return Err(format!(
                "{name} serves plain HTTP (a --server is asked over http://)"
            ));
        }
        Ok(ServerCommand::user(name, command, cpus, Some(log.clone())))
    };
    let already = ctx
        .checked
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(name);
    let checked = already.unwrap_or_else(|| {
        progress.say("checking its HTTP");
        start(ctx.plan.server_cpus.as_deref(), false)
            .map_err(anyhow::Error::msg)
            .and_then(|cmd| crate::check::check_command(&cmd))
    });
    let check = match checked {
        Ok(c) => c,
        Err(e) => {
            return Row::skipped(
                ctx,
                design,
                &format!("did not come up: {e:#} (its output: {})", log.display()),
            )
        }
    };
    let mut row = run_started(ctx, design, &start, progress);
    row.check = Some(check);
    row
}

/// Where a `--server`'s output goes.
pub fn log_path(plan: &Plan, name: &str) -> std::path::PathBuf {
    plan.out.join("servers").join(format!("{name}.log"))
}

/// A design started here (a model, or a user's server): the assignment's run on a fresh
/// server (`--repeat` times, the median trial's figures as the row's), the searches on fresh
/// ones.
fn run_started(ctx: &Ctx<'_>, design: Design, start: Starter<'_>, progress: &Progress<'_>) -> Row {
    let n = ctx.plan.repeat.max(1);
    let mut trials: Vec<(Client, Server)> = Vec::with_capacity(n);
    for k in 0..n {
        if k > 0 && interrupted(ctx) {
            break;
        }
        if n > 1 {
            progress.say(&format!("trial {} of {n}", k + 1));
        }
        let csv = if n > 1 {
            format!("{}_trial{}", design.name(), k + 1)
        } else {
            design.name().to_string()
        };
        match one_trial(ctx, start, &csv, progress) {
            Ok(t) => trials.push(t),
            // the first trial's failure is the row's; a later one's ends the trials
            Err(e) if trials.is_empty() => return Row::skipped(ctx, design, &e),
            Err(_) => break,
        }
    }
    let (client, mut server) = median_trial(trials);
    let (capacity, scaling, extras) = match ctx.plan.search.filter(|_| !interrupted(ctx)) {
        Some(search) => {
            let found = searches_on_fresh_servers(ctx, &design, start, search, progress);
            server.clean_exit &= found.clean_exit;
            (found.capacity, found.scaling, found.extras)
        }
        None => (None, Vec::new(), interrupted_rows(ctx, &design)),
    };
    Row {
        main: ran(design, client, Some(server), capacity, scaling),
        extras,
        check: None,
    }
}

/// How long after the run its server has to reap the children that ended with it.
const ZOMBIE_GRACE: std::time::Duration = std::time::Duration::from_millis(300);

/// A fresh server from `start` on `cpus` (over TLS if `tls`), answering; `Err` says why not.
fn fresh(start: Starter<'_>, cpus: Option<&[usize]>, tls: bool) -> Result<ServerProcess, String> {
    start(cpus, tls).and_then(|cmd| ServerProcess::start(&cmd).map_err(|e| format!("{e:#}")))
}

/// A fresh server for the main workload: on the servers' cores, over TLS if it is.
fn main_server(ctx: &Ctx<'_>, start: Starter<'_>) -> Result<ServerProcess, String> {
    fresh(
        start,
        ctx.plan.server_cpus.as_deref(),
        ctx.plan.main().kind.is_tls(),
    )
}

/// One assignment's run on a fresh server: what the clients saw, what the server cost.
fn one_trial(
    ctx: &Ctx<'_>,
    start: Starter<'_>,
    csv: &str,
    progress: &Progress<'_>,
) -> Result<(Client, Server), String> {
    let server = main_server(ctx, start)?;
    let before = procfs::children_usage();
    let url = Url::parse(&server.url()).expect("a loopback URL");
    let sample = || server.sample();
    let watch = ctx.plan.pinned.then(super::sharing::Watch::start);
    let (summary, mut tree) =
        assignment_run(ctx, &url, Some(&sample), csv, progress).map_err(|e| format!("{e:#}"))?;
    let others = watch
        .zip(ctx.plan.server_cpus.as_deref())
        .map(|(w, cpus)| w.finish(cpus, super::plan::GENERATOR_CPU));
    // the children that ended with the run had a moment to be reaped: those left are leaked
    std::thread::sleep(ZOMBIE_GRACE);
    tree.zombies = server.sample().zombies;
    progress.say("stopping the server");
    let limits = server.limits();
    let clean_exit = server.stop();
    let after = procfs::children_usage();
    let client = client_figures(&summary);
    // rusage counts what was waited for, the generator's own processes among it (taken out);
    // the samples, what was alive (a user's server killed with its group leaves children
    // nobody waited for)
    let engines = summary.engine_processes;
    let cpu_s =
        (after.cpu_s - before.cpu_s - engines.cpu.as_secs_f64()).max(tree.cpu_ns as f64 / 1e9);
    let mut server = server_figures(
        cpu_s,
        client.requests,
        &tree,
        (
            (after.voluntary - before.voluntary).saturating_sub(engines.voluntary_switches),
            (after.involuntary - before.involuntary).saturating_sub(engines.involuntary_switches),
        ),
        clean_exit,
    );
    server.others = others;
    server.limits = limits;
    Ok((client, server))
}

/// The trial with the median peak RPS (of an even number, the lower of the middle two), with
/// every trial's figures in it, in order; its server figures, clean only if every trial's was.
fn median_trial(trials: Vec<(Client, Server)>) -> (Client, Server) {
    let mut order: Vec<usize> = (0..trials.len()).collect();
    order.sort_by(|&a, &b| trials[a].0.peak_rps.total_cmp(&trials[b].0.peak_rps));
    let mid = order[(trials.len() - 1) / 2];
    let all_clean = trials.iter().all(|(_, s)| s.clean_exit);
    let summaries: Vec<Trial> = if trials.len() > 1 {
        trials
            .iter()
            .map(|(c, s)| Trial {
                requests: c.requests,
                failures: c.failures,
                before_first_failure: c.before_first_failure,
                rps: c.rps,
                peak_rps: c.peak_rps,
                avg_ms: c.avg_ms,
                p99_ms: c.p99_ms,
                cpu_us_per_request: Some(s.cpu_us_per_request),
            })
            .collect()
    } else {
        Vec::new()
    };
    let (mut client, mut server) = trials.into_iter().nth(mid).expect("one trial at least");
    client.trials = summaries;
    server.clean_exit = all_clean;
    (client, server)
}

/// What the searches on a model's fresh servers found.
struct Found {
    capacity: Option<Capacity>,
    scaling: Vec<ScalePoint>,
    extras: Vec<CapacityRow>,
    clean_exit: bool,
}

/// A fresh server for the main workload's searches and the extras on its cores, one more
/// serving HTTPS for the TLS workloads, and one on every core but the generator's for the
/// `cpu` workload.
fn searches_on_fresh_servers(
    ctx: &Ctx<'_>,
    design: &Design,
    start: Starter<'_>,
    search: SearchPlan,
    progress: &Progress<'_>,
) -> Found {
    let design = design.clone();
    let extras = ctx.plan.extras();
    let mut found = Found {
        capacity: None,
        scaling: Vec::new(),
        extras: interrupted_rows(ctx, &design),
        clean_exit: true,
    };
    // (on every core, over TLS): the main workload's server first
    let main_tls = ctx.plan.main().kind.is_tls();
    let key = |k: WorkloadKind| (k == WorkloadKind::Cpu, k.is_tls());
    for (wide, tls) in [(false, main_tls), (false, !main_tls), (true, false)] {
        let main_here = !wide && tls == main_tls;
        let picked: Vec<usize> = (0..extras.len())
            .filter(|&i| key(extras[i].kind) == (wide, tls))
            .collect();
        if !main_here && picked.is_empty() {
            continue;
        }
        let cpus = if wide {
            ctx.plan.wide_cpus.as_deref()
        } else {
            ctx.plan.server_cpus.as_deref()
        };
        let server = match fresh(start, cpus, tls) {
            Ok(s) => s,
            Err(e) => {
                for i in picked {
                    found.extras[i].skipped = Some(e.clone());
                }
                continue;
            }
        };
        let url = Url::parse(&server.url()).expect("a loopback URL");
        let sample = || server.sample();
        let searches = Searches::new(
            (ctx.plan, search),
            (&design, &url),
            ctx.users,
            Some(&sample),
            (ctx.stop, progress),
        );
        if main_here {
            found.capacity = searches.main();
            found.scaling = searches.scaling();
        }
        for i in picked {
            found.extras[i] = searches.extra(&extras[i]);
        }
        found.clean_exit &= server.stop();
    }
    if let Some(first) = found.capacity.take() {
        found.capacity = Some(remeasured(ctx, &design, start, search, progress, first));
    }
    found
}

/// A capacity whose two measurements of the found rate differ by more than this is searched
/// again.
const RESEARCH_SPREAD: f64 = 0.20;
/// Searches in all, the first included, for a capacity that moved that much.
const MAX_SEARCHES: usize = 3;

/// The main capacity, searched again on fresh servers (up to [`MAX_SEARCHES`] in all) when its
/// spread was over [`RESEARCH_SPREAD`]: the median search's figures, with every search's
/// capacity and their spread.
fn remeasured(
    ctx: &Ctx<'_>,
    design: &Design,
    start: Starter<'_>,
    search: SearchPlan,
    progress: &Progress<'_>,
    first: Capacity,
) -> Capacity {
    if first.spread.is_none_or(|s| s.rps <= RESEARCH_SPREAD) {
        return first;
    }
    let mut all = vec![first];
    while all.len() < MAX_SEARCHES && !interrupted(ctx) {
        progress.say(&format!(
            "capacity moved {:.0} % between two measurements: search {} of {MAX_SEARCHES}",
            all[0].spread.map_or(0.0, |s| s.rps * 100.0),
            all.len() + 1
        ));
        let Ok(server) = main_server(ctx, start) else {
            break;
        };
        let url = Url::parse(&server.url()).expect("a loopback URL");
        let sample = || server.sample();
        let again = Searches::new(
            (ctx.plan, search),
            (design, &url),
            ctx.users,
            Some(&sample),
            (ctx.stop, progress),
        )
        .main();
        server.stop();
        match again {
            Some(c) => all.push(c),
            None => break,
        }
    }
    let rates: Vec<f64> = all.iter().map(|c| c.rps).collect();
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.sort_by(|&a, &b| all[a].rps.total_cmp(&all[b].rps));
    let mid = order[(all.len() - 1) / 2];
    let mut median = all.swap_remove(mid);
    if rates.len() > 1 {
        let (lo, hi) = rates
            .iter()
            .fold((f64::MAX, 0.0f64), |(lo, hi), &r| (lo.min(r), hi.max(r)));
        let mut spread = median.spread.unwrap_or_default();
        spread.rps = (hi - lo) / median.rps.max(1e-9);
        median.spread = Some(spread);
        median.searches = rates;
    }
    median
}

/// An external server (`--target NAME=URL[@PID]`): measured where it runs, its server figures
/// only with a pid; it is not restarted, so its capacity is searched right after the run.
fn run_external(
    ctx: &Ctx<'_>,
    name: &str,
    url: &str,
    pid: Option<u32>,
    progress: &Progress<'_>,
) -> Row {
    let design = Design::External(name.to_string());
    let url = Url::parse(url).expect("checked by the plan");
    let sample_pid = pid.map(|pid| move || procfs::sample_tree(pid));
    let sample = sample_pid.as_ref().map(|f| f as &dyn Fn() -> TreeSample);
    let cpu_before = pid.and_then(procfs::process_cpu_s);
    let (summary, tree) = match assignment_run(ctx, &url, sample, design.name(), progress) {
        Ok(v) => v,
        Err(e) => return Row::skipped(ctx, design, &format!("{e:#}")),
    };
    let client = client_figures(&summary);
    // (its context switches are not ours to read, and it is not stopped: its exit is clean)
    let server = match (cpu_before, pid.and_then(procfs::process_cpu_s)) {
        (Some(b), Some(e)) => Some(server_figures(e - b, client.requests, &tree, (0, 0), true)),
        _ => None,
    };
    let (capacity, scaling, extras) = match ctx.plan.search.filter(|_| !interrupted(ctx)) {
        Some(search) => {
            let searches = Searches::new(
                (ctx.plan, search),
                (&design, &url),
                ctx.users,
                sample,
                (ctx.stop, progress),
            );
            let extras = ctx
                .plan
                .extras()
                .iter()
                .map(|w| match w.kind.is_tls() && !url.tls {
                    // it serves what it serves: TLS needs its https:// address
                    true => CapacityRow {
                        design: design.clone(),
                        capacity: None,
                        skipped: Some(format!(
                            "{} is plain HTTP: {} needs its https:// address",
                            url.url(),
                            w.kind
                        )),
                    },
                    false => searches.extra(w),
                })
                .collect();
            (searches.main(), searches.scaling(), extras)
        }
        None => (None, Vec::new(), interrupted_rows(ctx, &design)),
    };
    Row {
        main: ran(design, client, server, capacity, scaling),
        extras,
        check: None,
    }
}

fn interrupted(ctx: &Ctx<'_>) -> bool {
    ctx.stop.load(Ordering::Relaxed)
}

/// The extra workloads' rows of a design whose searches did not run.
fn interrupted_rows(ctx: &Ctx<'_>, design: &Design) -> Vec<CapacityRow> {
    Row::skipped(ctx, design.clone(), "interrupted before it ran").extras
}

fn ran(
    design: Design,
    client: Client,
    server: Option<Server>,
    capacity: Option<Capacity>,
    scaling: Vec<ScalePoint>,
) -> ModelResult {
    ModelResult {
        design,
        outcome: Outcome::Ran {
            client: Box::new(client),
            server,
            capacity: capacity.map(Box::new),
            scaling,
        },
    }
}

/// The assignment runs so far in this process, counting this one: run `n` draws its users'
/// choices from its own stream of the seed (trials of `--repeat` differ as real trials do; a
/// seed given repeats them all, in order).
fn next_run() -> u64 {
    static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1
}

/// The swarm against `url` as the assignment loads it, sampling the server's tree (if any)
/// once a second into the peak it returns; Locust's CSVs as `OUT/CSV_*.csv`.
fn assignment_run(
    ctx: &Ctx<'_>,
    url: &Url,
    sample: Option<&dyn Fn() -> TreeSample>,
    csv: &str,
    progress: &Progress<'_>,
) -> anyhow::Result<(Summary, TreeSample)> {
    if !answers(url.addr, url.tls) {
        anyhow::bail!("{} does not answer HTTP", url.url());
    }
    let plan = ctx.plan;
    let workload = users_for(plan.main().kind, ctx.users, url);
    let load = LoadPlan {
        users: plan.users,
        spawn_rate: plan.spawn_rate,
        run_time: Some(plan.max_time),
        stop_on_failure: true,
        threads: plan.generator_threads,
        // one loopback source address has about 28,000 ports per destination
        source_addrs: loopback_sources(plan.users),
        // more users than one process may hold connections for: the engine's processes
        processes: crate::connections::engine_processes(plan.users, plan.generator_threads, None),
        tls: Some(crate::server_process::compare_tls()),
        seed: Some(plan.seed ^ next_run().wrapping_mul(0x9E37_79B9_7F4A_7C15)),
        ..LoadPlan::default()
    };
    let mut watcher = Watcher {
        sample: sample.map(|s| Box::new(s) as Box<dyn Fn() -> TreeSample>),
        peak: TreeSample::default(),
        started: Instant::now(),
        entries: workload.entries.clone(),
        csvs: CsvFiles::create(&plan.out.join(csv), false)?,
        progress,
    };
    let swarm = Swarm::new(workload, load.clone());
    progress.show(&swarm);
    let summary = swarmlab_swarm::drive(&swarm, &load, ctx.stop, &mut watcher);
    watcher.csvs.finish(&summary.stats, &watcher.entries)?;
    Ok((summary, watcher.peak))
}

/// What a server's tree cost over a run of `requests`: `cpu_s` of CPU, its peak `tree`,
/// (voluntary, involuntary) context switches, whether it exited 0.
fn server_figures(
    cpu_s: f64,
    requests: u64,
    tree: &TreeSample,
    (voluntary, involuntary): (u64, u64),
    clean_exit: bool,
) -> Server {
    Server {
        cpu_s,
        cpu_us_per_request: cpu_s * 1e6 / (requests.max(1) as f64),
        peak_rss_mib: mib(tree.rss),
        peak_pss_mib: mib(tree.pss),
        voluntary_switches: voluntary,
        involuntary_switches: involuntary,
        peak_threads: tree.threads,
        peak_processes: tree.processes,
        peak_fds: tree.fds,
        zombies_left: tree.zombies,
        clean_exit,
        others: None,
        limits: Vec::new(),
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
    for l in swarmlab_swarm::output::failure::error_lines(&s.stats) {
        *kinds.entry(l.error).or_default() += l.row.occurrences;
    }
    let mut failure_kinds: Vec<(String, u64)> = kinds.into_iter().collect();
    failure_kinds.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    let t0 = s.history.first().map_or(0, |h| h.time);
    let whole_run_rps = t.num_requests as f64 / s.duration.as_secs_f64().max(1e-3);
    Client {
        requests: t.num_requests,
        failures: t.num_failures,
        before_first_failure: s.before_first_failure,
        rps: whole_run_rps,
        // a run shorter than the window still has a peak: its whole-run rate at least
        peak_rps: peak.max(if per_second.len() < 10 {
            whole_run_rps
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
        read_delay: (s.stats.read_delay.num_requests > 0).then(|| swarmlab_report::ReadDelay {
            mean_ms: s.stats.read_delay.avg_ms(),
            p99_ms: s.stats.read_delay.percentile_ms(0.99).unwrap_or(0.0),
        }),
        delayed: s.delayed.clone(),
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
        stats: stat_rows(s),
        trials: Vec::new(),
    }
}

/// Locust's Statistics tab at the end: a row per entry, then "Aggregated".
fn stat_rows(s: &Summary) -> Vec<swarmlab_report::StatRow> {
    let row =
        |method: &str, name: &str, e: &swarmlab_swarm::stats::EntryStats, i: Option<usize>| {
            let (current_rps, current_fail_s) = s.stats.current_rates(i);
            swarmlab_report::StatRow {
                method: method.to_string(),
                name: name.to_string(),
                requests: e.num_requests,
                failures: e.num_failures,
                median_ms: e.median_ms(),
                p95_ms: e.percentile_ms(0.95).unwrap_or(0.0),
                p99_ms: e.percentile_ms(0.99).unwrap_or(0.0),
                avg_ms: e.avg_ms(),
                min_ms: e.min_ms(),
                max_ms: e.max_ms(),
                avg_size: e.avg_content(),
                current_rps,
                current_fail_s,
            }
        };
    let mut rows: Vec<_> = s
        .entries
        .iter()
        .zip(&s.stats.entries)
        .enumerate()
        .filter(|(_, (_, e))| e.num_requests > 0)
        .map(|(i, (entry, e))| row(&entry.method, &entry.name, e, Some(i)))
        .collect();
    rows.push(row("", "Aggregated", &s.stats.total, None));
    rows
}
