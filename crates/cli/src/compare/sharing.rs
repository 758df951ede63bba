//! Whether a run had its cores to itself: `/proc/stat`'s per-CPU busy time over the run
//! against the run's own CPU time there, so that a figure measured while other processes
//! loaded the same cores says so (a default `compare` run beside another load once ranked
//! `thread` first with the event loops at half their quiet figures, and nothing said why).

use std::time::Instant;

use swarmlab_report::results::Sharing;

use crate::procfs;

/// The counters at a run's start.
pub struct Watch {
    started: Instant,
    busy: Vec<u64>,
    own_ns: u64,
    server_ns: u64,
}

impl Watch {
    /// Starts watching; `server_ns`: the server tree's CPU time so far.
    pub fn start(server_ns: u64) -> Watch {
        Watch {
            started: Instant::now(),
            busy: procfs::cpu_busy_ticks(),
            own_ns: procfs::sample_tree(std::process::id()).cpu_ns,
            server_ns,
        }
    }

    /// What others took of the server's cores and of the generator's core since the start;
    /// `server_ns`: the server tree's CPU time now. The generator's own time is this process
    /// tree's less the server's (the server is one of its children).
    pub fn finish(self, server_ns: u64, server_cpus: &[usize], generator_cpu: usize) -> Sharing {
        let wall_ns = self.started.elapsed().as_nanos() as f64;
        let busy = procfs::cpu_busy_ticks();
        let own_ns = procfs::sample_tree(std::process::id())
            .cpu_ns
            .saturating_sub(self.own_ns);
        let server_own = server_ns.saturating_sub(self.server_ns);
        let tick_ns = 1e9 / procfs::ticks_per_second();
        let busy_ns = |cpus: &[usize]| -> f64 {
            cpus.iter()
                .map(|&c| {
                    let now = busy.get(c).copied().unwrap_or(0);
                    now.saturating_sub(self.busy.get(c).copied().unwrap_or(now))
                })
                .sum::<u64>() as f64
                * tick_ns
        };
        let others_pct = |cpus: &[usize], own: u64| -> f64 {
            let cores = cpus.len().max(1) as f64;
            (100.0 * (busy_ns(cpus) - own as f64).max(0.0) / (wall_ns * cores).max(1.0)).min(100.0)
        };
        Sharing {
            server_cores_pct: others_pct(server_cpus, server_own),
            generator_core_pct: others_pct(&[generator_cpu], own_ns.saturating_sub(server_own)),
        }
    }
}
