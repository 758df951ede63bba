//! `--cores`: which designs turn cores into throughput. After the other phases, each design's
//! capacity again with its server on 1, 2, 4, ... cores (CPUs 0..k, a model with `--workers
//! k`), the generator on the cores the server never gets, with a thread for each of them. An
//! external `--target` runs where it runs, so it has no row here.

use std::sync::atomic::Ordering;

use swarmlab_report::{CorePoint, Cores, CoresRow, Lang};
use swarmlab_swarm::Target as Url;

use super::capacity::Searches;
use super::live::{LivePage, Progress};
use super::model_run::{log_path, Ctx};
use super::plan::GENERATOR_CPU;
use super::targets::Target;
use crate::server_process::{ServerCommand, ServerProcess};

/// Runs the phase if the plan has it: `None` without `--cores` (or without a capacity search
/// to run); with too few cores, the note and nothing measured.
pub fn run(ctx: &Ctx<'_>, live: Option<&LivePage>) -> Option<Cores> {
    let steps = ctx.plan.cores.clone()?;
    let machine_cores = ctx.plan.machine_cores;
    let mut cores = Cores {
        machine_cores,
        steps: steps.clone(),
        generator_threads: 0,
        rows: Vec::new(),
    };
    if steps.len() < 2 {
        println!(
            "capacity against cores: {}",
            swarmlab_report::sections::too_few_cores(Lang::En, machine_cores)
        );
        return Some(cores);
    }
    let Some(search) = ctx.plan.search else {
        println!("capacity against cores: not measured: it is a capacity search, and --slo-p99 0 turns those off");
        return None;
    };
    let most = *steps.last().expect("two steps");
    let generator_cpus: Vec<usize> = (most..machine_cores).collect();
    let mut plan = ctx.plan.clone();
    plan.generator_threads = generator_cpus.len();
    cores.generator_threads = plan.generator_threads;
    println!(
        "capacity against cores: each design's server on {} cores, the generator on CPUs {}-{} ({} threads)",
        steps
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        most,
        machine_cores - 1,
        plan.generator_threads
    );
    // the generator's threads start from this one and keep its cores
    pin_thread(&generator_cpus);
    let tls = plan.main().kind.is_tls();
    let targets: Vec<&Target> = ctx
        .plan
        .targets
        .iter()
        .filter(|t| !matches!(t, Target::External { .. }))
        .collect();
    let bars = indicatif::MultiProgress::new();
    for (i, target) in targets.iter().enumerate() {
        let design = target.design();
        let progress = Progress::new(
            &bars,
            live,
            &format!("{} on cores", design.name()),
            (i, targets.len()),
            0.0,
        );
        let mut row = CoresRow {
            design: design.clone(),
            points: Vec::new(),
        };
        for &k in &steps {
            if ctx.stop.load(Ordering::Relaxed) {
                break;
            }
            progress.say(&format!("{k} of {most} cores"));
            let cpus: Vec<usize> = (0..k).collect();
            let cmd = match target {
                Target::Model(m) => {
                    ServerCommand::model(ctx.exe, *m, Some(&cpus), tls).with_workers(k)
                }
                Target::Command { name, command } => {
                    ServerCommand::user(name, command, Some(&cpus), Some(log_path(ctx.plan, name)))
                }
                Target::External { .. } => unreachable!("filtered out"),
            };
            let started = match target {
                Target::Command { name, .. } if tls => Err(anyhow::anyhow!(
                    "{name} serves plain HTTP (a --server is asked over http://)"
                )),
                _ => ServerProcess::start(&cmd),
            };
            let point = match started {
                Err(e) => CorePoint {
                    cores: k,
                    capacity: None,
                    skipped: Some(format!("{e:#}")),
                },
                Ok(server) => {
                    let url = Url::parse(&server.url()).expect("a loopback URL");
                    let sample = || server.sample();
                    let capacity = Searches::new(
                        (&plan, search),
                        (&design, &url),
                        ctx.users,
                        Some(&sample),
                        (ctx.stop, &progress),
                    )
                    .main();
                    server.stop();
                    CorePoint {
                        cores: k,
                        skipped: capacity.is_none().then(|| "interrupted".to_string()),
                        capacity,
                    }
                }
            };
            let said = match (&point.capacity, &point.skipped) {
                (Some(c), _) => format!(
                    "{} req/s (p99 {:.2} ms, limited by {})",
                    swarmlab_report::sections::shown(c),
                    c.p99_ms,
                    swarmlab_report::sections::limited_by(Lang::En, c.limited_by)
                ),
                (None, Some(why)) => format!("did not run: {why}"),
                (None, None) => "did not run".into(),
            };
            let line = format!("{} on {k} core(s): {said}", design.name());
            if bars.is_hidden() {
                println!("{line}");
            } else {
                let _ = bars.println(line);
            }
            row.points.push(point);
        }
        progress.finish();
        cores.rows.push(row);
    }
    pin_thread(&[GENERATOR_CPU]);
    Some(cores)
}

/// Puts the calling thread (and the threads it starts from now on) on `cpus`.
fn pin_thread(cpus: &[usize]) {
    let mut set = nix::sched::CpuSet::new();
    for &c in cpus {
        let _ = set.set(c);
    }
    let _ = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set);
}
