//! What a comparison will do, decided once from the arguments before anything runs (as
//! ripgrep's `HiArgs` is built from its `LowArgs`): which designs, under which workloads and
//! with which objective each, how the capacity searches step, the load of the assignment's run,
//! and which cores the servers and the generator get. Pure: the machine's core count comes in
//! as a number, files are only named here (read by the phases that need them), so every rule
//! is unit-tested without running anything.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::anyhow;
use swarmlab_report::{Lang, Settings, Workload, WorkloadKind};

use super::search::Params;
use super::targets::{self, Target};
use super::workloads::{request_of, sleep_ceiling};
use crate::args::CompareArgs;

/// One workload of the run, with its objective.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WorkloadPlan {
    /// Which built-in workload (with `--locustfile`, the file's users take its place).
    pub kind: WorkloadKind,
    /// The capacity search's objective, p99 at most this, ms: `--slo-p99` plus the request's
    /// own service time (sleep 100 ms, cpu 1 ms). `None`: no capacity search.
    pub objective_ms: Option<f64>,
}

/// How the capacity searches step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SearchPlan {
    /// Connections the open model spreads its requests over.
    pub connections: usize,
    /// After a rate change, before measuring.
    pub settle: Duration,
    /// How long each rate is measured.
    pub window: Duration,
    /// Rate multiplier while steps pass.
    pub growth: f64,
    /// Most steps per search.
    pub steps: usize,
    /// `--quick`: start higher.
    pub quick: bool,
}

impl SearchPlan {
    /// The search of `w` over `connections`: its objective, and a first rate near where such a
    /// server can go.
    pub fn params(&self, w: &WorkloadPlan, connections: usize) -> Params {
        let start = match w.kind {
            WorkloadKind::Sleep => sleep_ceiling(connections) / 2.0,
            WorkloadKind::Cpu => 200.0,
            _ if self.quick => 9000.0,
            _ => 3000.0,
        };
        Params {
            slo_p99_ms: w.objective_ms.expect("a search has an objective"),
            start: start.max(10.0),
            growth: self.growth,
            max_steps: self.steps,
            ..Params::default()
        }
    }

    /// Seconds one search takes at most: a server start, connecting, the steps (and their
    /// flushes), quitting.
    pub fn budget_s(&self, connections: usize) -> f64 {
        0.3 + self.settle.as_secs_f64()
            + connections as f64 * 1e-4
            + self.steps as f64 * ((self.settle + self.window).as_secs_f64() + 0.05)
            + 0.3
    }
}

/// Connections per number of clients in `--scaling`.
pub const SCALING: [usize; 4] = [10, 100, 1000, 10_000];

/// Everything a comparison will do.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The rows, in run order: the models, then the external targets.
    pub targets: Vec<Target>,
    /// The workload as asked (`all` included).
    pub workload: WorkloadKind,
    /// The main workload (the assignment's run and the first capacity) first, then
    /// `--workload all`'s others.
    pub workloads: Vec<WorkloadPlan>,
    /// `--locustfile`: every design gets this file's users instead of the built-in request.
    pub locustfile: Option<PathBuf>,
    /// `None`: no capacity search (`--slo-p99 0`).
    pub search: Option<SearchPlan>,
    /// `--scaling`.
    pub scaling: bool,
    /// `--cores` (or 6 cores or more): the server cores to measure each design's capacity on
    /// (fewer than two: the machine has too few, and only the note is given); `None`:
    /// `--no-cores`.
    pub cores: Option<Vec<usize>>,
    /// The machine's cores.
    pub machine_cores: usize,
    /// The assignment's run: peak users, spawn rate, longest run.
    pub users: usize,
    /// Users started per second.
    pub spawn_rate: f64,
    /// Longest assignment run per design.
    pub max_time: Duration,
    /// `--repeat`: trials of the assignment's run per design.
    pub repeat: usize,
    /// `--baseline`.
    pub baseline: Option<PathBuf>,
    /// Where the reports go.
    pub out: PathBuf,
    /// Their language.
    pub lang: Lang,
    /// The live page's port; `None`: `--no-web`.
    pub web_port: Option<u16>,
    /// Whether servers and the generator get cores of their own (two cores or more).
    pub pinned: bool,
    /// Generator threads.
    pub generator_threads: usize,
    /// The cores a server runs on (`None`: not pinned).
    pub server_cpus: Option<Vec<usize>>,
    /// The cores the `cpu` workload's server gets: every core but the generator's.
    pub wide_cpus: Option<Vec<usize>>,
    /// Cores the servers may use (every one but the generator's when pinned).
    pub server_cores: usize,
    /// The seed of the users' random choices (`--seed`, else drawn from the OS): each run of
    /// the assignment gets its own stream of it, in run order.
    pub seed: u64,
    /// `--quick`: shorter phases.
    pub quick: bool,
    /// `--experiment`: each once, in `ExperimentKind::ALL`'s order.
    pub experiments: Vec<swarmlab_report::ExperimentKind>,
    /// `--experiment-time`: each experiment load's measured time, instead of its own.
    pub experiment_time: Option<Duration>,
    /// `--rtt`: `network`'s round trip.
    pub rtt: Duration,
    /// `--bandwidth`: `network`'s bits a second each way (0: none).
    pub bandwidth: u64,
}

/// The core the generator is pinned to; the servers get the others.
pub const GENERATOR_CPU: usize = 1;

/// From this many cores `--cores` is on by default.
pub const AUTO_CORES: usize = 6;

/// The server cores `--cores` measures on a machine with `cores`: 1, 2, 4, ... up to half of
/// them (the generator gets the other half), that half last.
pub fn core_steps(cores: usize) -> Vec<usize> {
    let most = cores / 2;
    let mut steps: Vec<usize> = std::iter::successors(Some(1usize), |k| Some(k * 2))
        .take_while(|&k| k < most)
        .collect();
    if most >= 1 {
        steps.push(most);
    }
    steps.dedup();
    steps
}

impl Plan {
    /// The plan for `a` on a machine with `cores` cores; a bad model name or target is an
    /// error (a usage error: nothing has run).
    pub fn new(a: &CompareArgs, cores: usize) -> anyhow::Result<Plan> {
        let targets = targets::parse(&a.models, &a.server, &a.target)?;
        let objective = |kind: WorkloadKind| WorkloadPlan {
            kind,
            objective_ms: (a.slo_p99 > 0.0).then(|| a.slo_p99 + request_of(kind).own_ms),
        };
        let mut workloads = vec![objective(a.workload.main())];
        if a.workload == WorkloadKind::All {
            if a.slo_p99 <= 0.0 {
                return Err(anyhow!(
                    "--workload all compares capacities: it needs a latency objective (--slo-p99 above 0)"
                ));
            }
            workloads.extend(
                [
                    WorkloadKind::Close,
                    WorkloadKind::Sleep,
                    WorkloadKind::Cpu,
                    WorkloadKind::Tls,
                    WorkloadKind::TlsClose,
                ]
                .map(objective),
            );
        }
        let quick = a.quick;
        let search = (a.slo_p99 > 0.0).then_some(SearchPlan {
            connections: a.connections as usize,
            // --quick: 7 steps of 0.3 s (about 2.5 s a model); else 11 of 0.8 s (about 9 s)
            settle: Duration::from_millis(if quick { 80 } else { 200 }),
            window: Duration::from_millis(if quick { 220 } else { 600 }),
            growth: if quick { 3.0 } else { 2.0 },
            steps: if quick { 7 } else { 11 },
            quick,
        });
        let pinned = cores >= 2;
        Ok(Plan {
            targets,
            workload: a.workload,
            workloads,
            locustfile: a.locustfile.clone(),
            search,
            scaling: a.scaling,
            cores: match (a.cores, a.no_cores) {
                (_, true) => None,
                (true, _) => Some(core_steps(cores)),
                // below AUTO_CORES: one step, which is the one-line note that scaling needs
                // more cores
                // a full run: `--quick` is the coarse look, and stays quick
                _ if cores >= AUTO_CORES && !quick => Some(core_steps(cores)),
                _ => Some(core_steps(cores).into_iter().take(1).collect()),
            },
            machine_cores: cores,
            users: a
                .users
                .map_or(if quick { 1000 } else { 10_000 }, |u| u as usize),
            spawn_rate: a.spawn_rate.unwrap_or(if quick { 500.0 } else { 1000.0 }),
            // 10 s ramps 10,000 users at 1,000/s and 3 s more holds them: eleven models take
            // about 3 minutes.
            max_time: a
                .max_time
                .unwrap_or(Duration::from_secs(if quick { 5 } else { 13 })),
            repeat: a.repeat as usize,
            seed: a.seed.unwrap_or_else(|| {
                use rand::TryRng;
                rand::rngs::SysRng.try_next_u64().unwrap_or_default()
            }),
            baseline: a.baseline.clone(),
            out: a.out.clone(),
            lang: a.lang,
            web_port: (!a.no_web).then_some(a.web_port),
            pinned,
            generator_threads: if pinned { 1 } else { cores },
            server_cpus: pinned.then(|| vec![0]),
            wide_cpus: pinned.then(|| (0..cores).filter(|&c| c != GENERATOR_CPU).collect()),
            server_cores: if pinned { cores - 1 } else { cores },
            quick,
            experiments: swarmlab_report::ExperimentKind::ALL
                .iter()
                .copied()
                .filter(|k| a.experiments.iter().any(|e| e == "all" || e == k.name()))
                .collect(),
            experiment_time: a.experiment_time,
            rtt: a.rtt,
            bandwidth: a.bandwidth,
        })
    }

    /// The main workload.
    pub fn main(&self) -> &WorkloadPlan {
        &self.workloads[0]
    }

    /// `--workload all`'s other workloads.
    pub fn extras(&self) -> &[WorkloadPlan] {
        &self.workloads[1..]
    }

    /// Descriptors each side needs: one per connection of the largest phase, and some.
    pub fn fds_needed(&self) -> u64 {
        let most = self.users.max(if self.scaling {
            SCALING[SCALING.len() - 1]
        } else {
            0
        });
        most as u64 + 1000
    }

    /// What one design costs, in seconds, for the time left: the assignment's run, its
    /// capacity searches, starting and stopping servers.
    pub fn per_design_s(&self) -> f64 {
        (self.max_time.as_secs_f64() + 2.0) * self.repeat as f64
            + self.search.map_or(0.0, |s| {
                let scaling: f64 = if self.scaling {
                    SCALING.iter().map(|&n| s.budget_s(n)).sum()
                } else {
                    0.0
                };
                self.workloads.len() as f64 * s.budget_s(s.connections) + scaling + 1.0
            })
    }

    /// The report's settings for a run that started at `started` (UTC).
    pub fn settings(&self, started: String) -> Settings {
        let (workload, request) = match &self.locustfile {
            Some(f) => (
                Workload::Users(f.display().to_string()),
                format!("the tasks of {}", f.display()),
            ),
            None => (
                Workload::Builtin(self.workload),
                request_of(self.workload).what.to_string(),
            ),
        };
        Settings {
            workload,
            request,
            users: self.users,
            spawn_rate: self.spawn_rate,
            wait_time: "constant(1)".into(),
            max_time_s: self.max_time.as_secs_f64(),
            pinned: self.pinned,
            started,
            command: command_line(),
            slo_p99_ms: self.main().objective_ms,
            capacity_connections: self.search.map(|s| s.connections),
            server_cores: self.server_cores,
            seed: Some(self.seed),
        }
    }
}

/// This process's command line as a shell would take it back: `swarmlab` and its arguments,
/// each quoted where it must be.
fn command_line() -> String {
    let quote = |a: String| {
        if !a.is_empty()
            && a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c))
        {
            a
        } else {
            format!("'{}'", a.replace('\'', "'\\''"))
        }
    };
    std::iter::once("swarmlab".to_string())
        .chain(std::env::args().skip(1).map(quote))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use swarmlab_server::Model;

    fn plan(args: &[&str], cores: usize) -> anyhow::Result<Plan> {
        let cli = crate::args::Cli::try_parse_from(
            std::iter::once("swarmlab")
                .chain(std::iter::once("compare"))
                .chain(args.iter().copied()),
        )
        .unwrap();
        let crate::args::Command::Compare(a) = cli.command else {
            unreachable!()
        };
        Plan::new(&a, cores)
    }

    #[test]
    fn cores_is_on_from_six_cores_and_steps_to_half_of_them() {
        assert_eq!(core_steps(2), [1]);
        assert_eq!(core_steps(6), [1, 2, 3]);
        assert_eq!(core_steps(16), [1, 2, 4, 8]);
        assert_eq!(core_steps(24), [1, 2, 4, 8, 12]);
        assert_eq!(plan(&[], 2).unwrap().cores, Some(vec![1]), "the note");
        assert_eq!(plan(&["--cores"], 2).unwrap().cores, Some(vec![1]));
        assert_eq!(plan(&["--no-cores"], 2).unwrap().cores, None);
        assert_eq!(plan(&[], 4).unwrap().cores, Some(vec![1]), "the note");
        assert_eq!(plan(&["--cores"], 4).unwrap().cores, Some(vec![1, 2]));
        assert_eq!(plan(&[], 16).unwrap().cores, Some(vec![1, 2, 4, 8]));
        assert_eq!(
            plan(&["--quick"], 16).unwrap().cores,
            Some(vec![1]),
            "the note"
        );
        assert_eq!(
            plan(&["--quick", "--cores"], 16).unwrap().cores,
            Some(vec![1, 2, 4, 8])
        );
        assert_eq!(plan(&["--no-cores"], 16).unwrap().cores, None);
    }

    #[test]
    fn the_default_is_every_model_under_the_assignments_load_and_a_search() {
        let p = plan(&[], 2).unwrap();
        let models: Vec<Target> = Model::ALL.iter().map(|&m| Target::Model(m)).collect();
        assert_eq!(p.targets, models);
        assert_eq!(
            (p.users, p.spawn_rate, p.max_time),
            (10_000, 1000.0, Duration::from_secs(13))
        );
        assert_eq!(
            p.workloads,
            [WorkloadPlan {
                kind: WorkloadKind::Hello,
                objective_ms: Some(100.0)
            }]
        );
        let s = p.search.unwrap();
        assert_eq!((s.connections, s.steps, s.growth), (100, 11, 2.0));
        assert!(p.pinned && p.generator_threads == 1);
        assert_eq!(p.server_cpus, Some(vec![0]));
        let q = plan(&["--quick"], 2).unwrap();
        assert_eq!(
            (q.users, q.spawn_rate, q.max_time),
            (1000, 500.0, Duration::from_secs(5))
        );
        assert_eq!(q.search.unwrap().steps, 7);
    }

    #[test]
    fn each_workloads_objective_adds_its_requests_own_time_once() {
        let p = plan(&["--workload", "all", "--slo-p99", "50"], 4).unwrap();
        let got: Vec<(WorkloadKind, Option<f64>)> = p
            .workloads
            .iter()
            .map(|w| (w.kind, w.objective_ms))
            .collect();
        assert_eq!(
            got,
            [
                (WorkloadKind::Hello, Some(50.0)),
                (WorkloadKind::Close, Some(50.0)),
                (WorkloadKind::Sleep, Some(150.0)),
                (WorkloadKind::Cpu, Some(51.0)),
                (WorkloadKind::Tls, Some(50.0)),
                (WorkloadKind::TlsClose, Some(50.0)),
            ]
        );
        let s = p.search.unwrap();
        // the search and the report read the same objective
        let sleep = &p.workloads[2];
        assert_eq!(s.params(sleep, 100).slo_p99_ms, 150.0);
        assert_eq!(
            s.params(sleep, 100).start,
            500.0,
            "half the 100-connection ceiling"
        );
        let settings = p.settings("t".into());
        assert_eq!(settings.slo_p99_ms, Some(50.0));
        assert_eq!(settings.workload, Workload::Builtin(WorkloadKind::All));
        assert_eq!(
            p.wide_cpus,
            Some(vec![0, 2, 3]),
            "every core but the generator's"
        );
        assert_eq!(p.server_cores, 3);
    }

    #[test]
    fn no_objective_is_no_search() {
        let p = plan(&["--slo-p99", "0", "--workload", "sleep"], 2).unwrap();
        assert_eq!(p.search, None);
        assert_eq!(p.main().objective_ms, None);
        let s = p.settings("t".into());
        assert_eq!((s.slo_p99_ms, s.capacity_connections), (None, None));
        let err = plan(&["--slo-p99", "0", "--workload", "all"], 2).unwrap_err();
        assert!(
            err.to_string().contains("needs a latency objective"),
            "{err}"
        );
    }

    #[test]
    fn one_core_is_shared_and_not_pinned() {
        let p = plan(&[], 1).unwrap();
        assert!(!p.pinned);
        assert_eq!(
            (p.server_cpus, p.wide_cpus, p.server_cores),
            (None, None, 1)
        );
    }

    #[test]
    fn the_fd_need_and_the_time_estimate_follow_the_phases() {
        let p = plan(&["-u", "500"], 2).unwrap();
        assert_eq!(p.fds_needed(), 1500);
        let scaled = plan(&["-u", "500", "--scaling"], 2).unwrap();
        assert_eq!(scaled.fds_needed(), 11_000);
        assert!(scaled.per_design_s() > p.per_design_s());
        let none = plan(&["--slo-p99", "0", "--max-time", "3s"], 2).unwrap();
        assert_eq!(
            none.per_design_s(),
            5.0,
            "the run and 2 s of starting and stopping"
        );
    }
}
