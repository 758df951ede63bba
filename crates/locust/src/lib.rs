//! Locust's faces over the swarmlab engine (`swarmlab-swarm`), for people who already know
//! Locust: their `locustfile.py` ([`locustfile`], read by Python's own parser into the
//! engine's `Workload`, and written back out for a Locust master), Locust's web UI and its
//! endpoints with their JSON shapes ([`web`]), its `--html` report ([`html_report`]), and a worker of a stock `locust --master`
//! speaking its ZeroMQ/msgpack protocol ([`worker`]). Each of them steers the engine through
//! its one handle, `Swarm`; the engine itself knows no Locust file or wire format.
#![deny(missing_docs)]

pub mod html_report;
pub mod locustfile;
pub mod python;
pub mod web;
pub mod worker;
