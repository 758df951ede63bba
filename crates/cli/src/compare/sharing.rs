//! Whether a run had its cores to itself: the CPU time every process outside the run (not the
//! run's own tree, not the kernel's threads, which the run itself keeps busy) used while it
//! ran, put on the run's cores by where each thread may run, and the hypervisor's steal there,
//! as a share of those cores' time. So a figure measured while other processes loaded the same
//! cores says so (a default `compare` beside another load once ranked `thread` first with the
//! event loops at half their quiet figures, and nothing said why).
//!
//! Processes' own clocks, not `/proc/stat`'s per-CPU busy ticks less the run's own time: on
//! this project's VMs the two disagree by up to 40 % under a light load (a `thread` server's
//! 5.3 s of CPU on a core whose busy ticks read 3.8 s), which hid real sharing and invented
//! some.

use std::collections::HashMap;
use std::time::Instant;

use swarmlab_report::results::Sharing;

use crate::procfs;

/// The counters at a run's start.
pub struct Watch {
    started: Instant,
    others: HashMap<(u32, u32), (u64, Vec<usize>)>,
    steal: Vec<u64>,
}

impl Watch {
    /// Starts watching.
    pub fn start() -> Watch {
        Watch {
            started: Instant::now(),
            others: procfs::others_ticks(std::process::id()),
            steal: procfs::cpu_steal_ticks(),
        }
    }

    /// What others took of the server's cores and of the generator's core since the start.
    pub fn finish(self, server_cpus: &[usize], generator_cpu: usize) -> Sharing {
        let wall_s = self.started.elapsed().as_secs_f64().max(1e-3);
        let others = procfs::others_ticks(std::process::id());
        let steal = procfs::cpu_steal_ticks();
        let tick_s = 1.0 / procfs::ticks_per_second();
        let pct = |cpus: &[usize]| -> f64 {
            // each part's time on these cores: its share of the CPUs it may run on
            let taken: f64 = others
                .iter()
                .map(|(key, (now, allowed))| {
                    let then = self.others.get(key).map_or(0, |(t, _)| *t);
                    let on = allowed.iter().filter(|c| cpus.contains(c)).count();
                    now.saturating_sub(then) as f64 * on as f64 / allowed.len().max(1) as f64
                })
                .sum();
            let stolen: u64 = cpus
                .iter()
                .map(|&c| {
                    let n = steal.get(c).copied().unwrap_or(0);
                    n.saturating_sub(self.steal.get(c).copied().unwrap_or(n))
                })
                .sum();
            let cores = cpus.len().max(1) as f64;
            (100.0 * (taken + stolen as f64) * tick_s / (wall_s * cores)).min(100.0)
        };
        Sharing {
            server_cores_pct: pct(server_cpus),
            generator_core_pct: pct(&[generator_cpu]),
        }
    }
}
