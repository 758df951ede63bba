//! The report's sections beyond the assignment's run: each `--server`'s check, capacity (the most each design sustains
//! within the latency objective), scaling with clients and with cores, one table per workload with the matrix
//! verdict, and the change against a baseline run. Markdown, in English or Korean; every claim
//! cites the figure it rests on.

mod baseline;
mod capacity;
mod checks;
mod common;
mod cores;
mod experiments;
mod scaling;
mod trials;
mod workloads;

pub use baseline::baseline_section;
pub use capacity::{capacity_conclusion, capacity_section, capacity_verdict};
pub use checks::{check_verdict, checks_section};
pub use common::{limited_by, shown, RESOLUTION};
pub use cores::{cores_section, too_few_cores};
pub use experiments::{
    chart_prefix, experiment_section, experiments_section, hol_bars, hol_chart_title, hol_verdict,
    idle_bars, idle_chart_title, idle_verdict, network_bandwidth, network_bars,
    network_chart_title, network_how, network_verdict, overload_bars, overload_verdict, pool_lines,
    pool_verdict, slow_bars, slow_chart_title, slow_verdict, CARRIED, FLAT, GREW, GREW_BY_MS, HELD,
    PAID, SLOWED, STOPPED,
};
pub use scaling::scaling_section;
pub use trials::trials_section;
pub use workloads::workloads_section;
