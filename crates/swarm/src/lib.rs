//! swarmlab's load generator: Locust's workflow (users, spawn rate, run time, the same CSV
//! files and console tables) without Locust's ceiling.
//!
//! One event loop per core (`event_loop.rs`) drives many keep-alive users, whether their logic
//! is the compiled program or a Python process, each connection a state machine
//! (`user_conn.rs`) over a hand-written HTTP/1.1 response reader ([`client`]), each Locust
//! client's rules in one table ([`profile`]); each loop records into its own HdrHistograms, merged once a second
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
mod controller;
pub mod cookies;
mod cursor;
pub mod engine;
mod event_loop;
pub mod history;
pub mod output;
pub mod plan;
mod process;
mod process_request;
mod process_users;
pub mod processes;
pub mod profile;
pub mod program;
mod program_users;
pub mod remote;
pub mod scenario;
mod selfcheck;
pub mod stats;
mod steering;
pub mod sys;
pub mod target;
pub mod timespan;
pub mod tls;
mod url;
mod user_conn;
pub mod wait;
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
