//! swarmlab's load generator: Locust's workflow (users, spawn rate, run time, the same CSV
//! files and console tables) without Locust's ceiling.
//!
//! One event loop per core drives many keep-alive users with a hand-written HTTP/1.1 client
//! ([`client`]); each loop records into its own HdrHistograms, merged once a second
//! ([`stats`]); the controller ([`engine`]) ramps users, stops on time or on failure, and
//! watches its own CPU and send lag so that a saturated generator says so. It is steered while
//! it runs through one handle, [`Swarm`]: the CLI, the web UI and the Locust worker all hold
//! it. Outputs ([`output`]) are pure functions of the merged statistics.
//!
//! Every input builds the same [`Workload`]: a scenario file ([`scenario`]), the command
//! line's single request, or a locustfile. Locust's own faces over this engine (the
//! locustfile reader, the web UI, the master/worker protocol) are the `swarmlab-locust` crate:
//! nothing here knows a Locust file or wire format.
#![deny(missing_docs)]

mod arrival;
pub mod client;
pub mod clock;
mod control;
pub mod cookies;
pub mod engine;
pub mod history;
pub mod output;
pub mod plan;
pub mod profile;
pub mod program;
pub mod remote;
mod remote_worker;
pub mod scenario;
mod selfcheck;
pub mod stats;
pub mod sys;
pub mod target;
pub mod timespan;
pub mod tls;
mod url;
pub mod wait;
mod worker;
pub mod workload;

pub use clock::unix_now;
pub use engine::{drive, run, Ended, Event, Observer, Start, State, Status, Summary, Swarm, View};
pub use history::{History, HistoryRow};
pub use plan::{Plan, MAX_USERS};
pub use program::RequestParts;
pub use scenario::BadScenario;
pub use selfcheck::SATURATED;
pub use stats::{EntryStats, Stats};
pub use target::Target;
pub use timespan::parse_timespan;
pub use wait::WaitTime;
pub use workload::{Entry, Workload};
