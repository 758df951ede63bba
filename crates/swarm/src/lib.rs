//! swarmlab's load generator: Locust's workflow (users, spawn rate, run time, the same CSV
//! files and console tables) without Locust's ceiling.
//!
//! One event loop per core drives many keep-alive users with a hand-written HTTP/1.1 client
//! ([`client`]); each loop records into its own HdrHistograms, merged once a second
//! ([`stats`]); the controller ([`engine`]) ramps users, stops on time or on failure, and
//! watches its own CPU and send lag so that a saturated generator says so. It is steered while
//! it runs through one handle, [`Swarm`]: the CLI, the web UI and the Locust worker all hold
//! it. Outputs ([`output`]) are pure functions of the merged statistics.
#![deny(missing_docs)]

pub mod client;
mod control;
pub mod engine;
pub mod locust_worker;
pub mod locustfile;
pub mod output;
pub mod program;
pub mod scenario;
pub mod stats;
pub mod target;
pub mod timespan;
pub mod wait;
pub mod web;
mod worker;

pub use engine::{
    drive, run, Ended, Event, History, HistoryRow, Observer, Plan, Start, State, Status, Summary,
    Swarm, View, SATURATED,
};
pub use scenario::{BadScenario, Entry, RequestParts, Workload};
pub use stats::{EntryStats, Stats};
pub use target::Target;
pub use timespan::parse_timespan;
pub use wait::WaitTime;
