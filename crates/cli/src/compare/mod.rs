//! `swarmlab compare`: every design under the same load, one after another, each ramped until
//! its first failure or until all users are up and held, then its capacity; the server's own
//! costs beside the clients' view; a report that says which design wins and why.
//!
//! A pipeline of small phases, each in its own file:
//! [`plan`] decides everything from the arguments, once; [`crate::server_process`] starts,
//! measures and stops one server process (a model is `swarmlab serve --model M`, pinned to CPU 0 while the
//! in-process generator is pinned to CPU 1); [`model_run`] is one design's phases (the
//! assignment's run, then [`capacity`]'s searches, which step [`search`]'s algorithm on a live
//! server); [`live`] is what a person watches meanwhile; [`reports`] writes what is left.

mod capacity;
mod cores;
mod experiments;
mod live;
mod model_run;
mod plan;
mod reports;
mod search;
mod sharing;
mod targets;
mod workloads;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use swarmlab_report::{Results, WorkloadRun};
use swarmlab_swarm::{Target as Url, WaitTime, Workload};

use crate::args::CompareArgs;
use crate::procfs;
use crate::Failure;
use live::{LivePage, Progress};
use model_run::{Ctx, Row};
use plan::{Plan, GENERATOR_CPU};

/// Runs `compare`; returns the exit code.
pub fn run(a: &CompareArgs) -> Result<u8, Failure> {
    let machine = procfs::machine();
    // read before compare pins itself to the generator's core
    crate::server_process::model_workers();
    let plan = Plan::new(a, machine.cores).map_err(Failure::usage)?;
    // a locustfile is read (and refused, if it must be) and a baseline read before anything runs
    let users = plan.locustfile.as_deref().map(load_users);
    let users = users.transpose().map_err(Failure::usage)?;
    let baseline = plan.baseline.as_deref().map(reports::read_baseline);
    let baseline = baseline.transpose().map_err(Failure::usage)?;
    warn_if_fds_short(&plan);
    refuse_foreign_out(&plan.out).map_err(Failure::usage)?;
    std::fs::create_dir_all(&plan.out)
        .with_context(|| format!("cannot create {}", plan.out.display()))?;
    fresh_logs(&plan)?;
    let stop = interrupt_flag()?;
    let exe = std::env::current_exe().context("cannot find the swarmlab executable")?;
    if plan.pinned {
        pin_self(GENERATOR_CPU);
    }
    let settings = plan.settings(swarmlab_swarm::output::utc(
        swarmlab_swarm::unix_now() as u64
    ));
    announce(&plan, &settings.request);
    let live = LivePage::start(plan.web_port);
    let ctx = Ctx {
        plan: &plan,
        exe: &exe,
        users: users.as_ref(),
        stop: &stop,
        checked: Default::default(),
    };
    let started = Instant::now();
    model_run::check_all(&ctx);
    let rows = run_all(&ctx, live.as_ref());
    let cores = cores::run(&ctx, live.as_ref());
    let experiments = experiments::run(&ctx, live.as_ref());
    let checks = rows.iter().filter_map(|r| r.check.clone()).collect();
    let results = Results {
        machine,
        settings,
        workloads: workload_runs(&plan, &rows),
        rows: rows.into_iter().map(|r| r.main).collect(),
        baseline,
        checks,
        cores,
        experiments,
    };
    reports::write(&results, &plan.out, plan.lang)?;
    if let Some(live) = &live {
        live.finish(&results, plan.lang, &stop);
    }
    reports::print_summary(&results, started.elapsed(), &plan.out);
    if results.ran().next().is_none() {
        eprintln!(
            "swarmlab: error: no server came up, so nothing was measured (each row says why)"
        );
        return Ok(1);
    }
    Ok(0)
}

/// `out` is a new or empty directory, or an earlier compare's (it has a `results.json`): the
/// reports overwrite `index.html`, `report.md` and CSVs, which must not be the user's own.
fn refuse_foreign_out(out: &std::path::Path) -> Result<(), anyhow::Error> {
    let Ok(mut entries) = std::fs::read_dir(out) else {
        return Ok(()); // not there yet (or not a directory: creating it says so)
    };
    if entries.next().is_none() || out.join("results.json").is_file() {
        return Ok(());
    }
    anyhow::bail!(
        "--out {} has files of its own and no results.json of an earlier compare: give a new or empty directory (its index.html, report.md and CSVs would be overwritten)",
        out.display()
    )
}

/// Every target's phases in turn, each said on one line as it finishes.
fn run_all(ctx: &Ctx<'_>, live: Option<&LivePage>) -> Vec<Row> {
    let bars = indicatif::MultiProgress::new();
    let total = ctx.plan.targets.len();
    let per_design_s = ctx.plan.per_design_s();
    let mut rows = Vec::with_capacity(total);
    for (i, target) in ctx.plan.targets.iter().enumerate() {
        let design = target.design();
        if ctx.stop.load(Ordering::Relaxed) {
            rows.push(Row::skipped(ctx, design, "interrupted before it ran"));
            continue;
        }
        let progress = Progress::new(&bars, live, design.name(), (i, total), per_design_s);
        let row = model_run::run(ctx, target, &progress);
        progress.finish();
        // once: above the bars on a terminal, as a plain line otherwise (bars hidden)
        let line = reports::describe(&row.main);
        if bars.is_hidden() {
            println!("{line}");
        } else {
            let _ = bars.println(line);
        }
        rows.push(row);
    }
    rows
}

/// `--workload all`'s other tables, one per workload, a row per design.
fn workload_runs(plan: &Plan, rows: &[Row]) -> Vec<WorkloadRun> {
    plan.extras()
        .iter()
        .enumerate()
        .map(|(i, w)| WorkloadRun {
            workload: w.kind,
            request: workloads::request_of(w.kind).what.into(),
            slo_p99_ms: w.objective_ms.expect("extra workloads are searched"),
            rows: rows.iter().map(|r| r.extras[i].clone()).collect(),
        })
        .collect()
}

/// `--locustfile`: a locustfile (`.py`) or a scenario file, read against a placeholder host
/// (every design gets the users moved to its own address).
fn load_users(file: &Path) -> anyhow::Result<Workload> {
    let placeholder = Url::parse("http://127.0.0.1:9").expect("a literal URL");
    let name = file.to_string_lossy();
    if file.extension().is_some_and(|e| e == "py") {
        let opts = swarmlab_locust::locustfile::Options {
            host: Some(placeholder),
            wait: WaitTime::Constant(1.0),
            ..Default::default()
        };
        let loaded = swarmlab_locust::locustfile::load(&name, &opts)?;
        crate::swarm::say_path(&name, &loaded.path);
        Ok(loaded.workload)
    } else {
        Ok(swarmlab_swarm::scenario::load(
            &name,
            Some(&placeholder),
            WaitTime::Constant(1.0),
        )?)
    }
}

/// `OUT/servers/NAME.log` for each `--server`, emptied: every phase's server appends its
/// output there.
fn fresh_logs(plan: &Plan) -> anyhow::Result<()> {
    for t in &plan.targets {
        if let targets::Target::Command { name, .. } = t {
            let path = model_run::log_path(plan, name);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
            }
            std::fs::File::create(&path)
                .with_context(|| format!("cannot create {}", path.display()))?;
        }
    }
    Ok(())
}

/// Raises the open-file limit as far as it goes, and says what happens when the run needs
/// more than one process may hold.
fn warn_if_fds_short(plan: &Plan) {
    let limit = swarmlab_server::sys::raise_fd_limit();
    let wanted = plan.fds_needed();
    if wanted > limit {
        let n = (wanted as usize).div_ceil(swarmlab_swarm::processes::users_per_process(limit, 1));
        eprintln!(
            "swarmlab: note: one process may open {limit} files here and this run needs about {wanted} on each side: the generator spreads its connections over {n} processes and `procs` runs at least {n} workers, while a design that holds every connection in one process stops accepting at its limit (its row says so)"
        );
    }
}

/// Set by SIGINT and SIGTERM: the running phase ends, the rest are skipped, the reports say so.
fn interrupt_flag() -> anyhow::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("installing signal handlers")?;
    }
    Ok(stop)
}

/// The first line: what will run, and where.
fn announce(plan: &Plan, request: &str) {
    let count = |f: fn(&targets::Target) -> bool| plan.targets.iter().filter(|t| f(t)).count();
    let models = count(|t| matches!(t, targets::Target::Model(_)));
    let servers = count(|t| matches!(t, targets::Target::Command { .. }));
    let targets = plan.targets.len() - models - servers;
    let mut rows = vec![format!("{models} model(s)")];
    if servers > 0 {
        rows.push(format!("{servers} server(s) of yours"));
    }
    if targets > 0 {
        rows.push(format!("{targets} target(s)"));
    }
    println!(
        "compare: {}, {} users at {}/s, `{request}`, at most {} s each{}",
        rows.join(" + "),
        plan.users,
        plan.spawn_rate,
        plan.max_time.as_secs(),
        if plan.pinned {
            ", server on CPU 0, generator on CPU 1"
        } else {
            ""
        }
    );
}

fn pin_self(cpu: usize) {
    let mut set = nix::sched::CpuSet::new();
    if set.set(cpu).is_ok() {
        let _ = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set);
    }
}
