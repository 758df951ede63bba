//! Renderers for `swarmlab compare`: a [`Results`] value in, text out (Markdown, a
//! self-contained HTML page with inline SVG charts, JSON), and the report to hand in (PDF and
//! PNG figures, set in a font the caller found with [`pdf::Fonts`]). No clocks, no processes:
//! the same results always render to the same bytes, which the golden tests rely on.
#![deny(missing_docs)]

pub mod analysis;
pub mod capacity;
pub mod chart;
pub mod check;
pub mod html;
pub mod lang;
pub mod markdown;
pub mod pdf;
pub mod results;
pub mod sections;
pub mod sentence;

pub use capacity::{Capacity, LimitedBy};
pub use lang::Lang;
pub use results::{
    Bandwidth, Baseline, CapacityRow, Client, CorePoint, Cores, CoresRow, Design, Experiment,
    ExperimentKind, HeadOfLine, HolPoint, HolRow, Idle, IdlePoint, IdleRow, LongRequest, Machine,
    ModelResult, Network, NetworkMethod, NetworkPoint, NetworkRow, NoNetem, NoShaping, Outcome,
    Overload, OverloadRow, OverloadWindow, PoolLoad, PoolPoint, PoolRow, PoolSize, ReadDelay,
    Results, Sample, ScalePoint, Server, Settings, SlowClients, SlowLoad, SlowPoint, SlowRow,
    StatRow, Trial, UnknownWorkload, Workload, WorkloadKind, WorkloadRun,
};

/// `results.json`.
pub fn render_json(results: &Results) -> String {
    serde_json::to_string_pretty(results).expect("results serialize") + "\n"
}
