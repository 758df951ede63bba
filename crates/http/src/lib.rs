//! Sans-IO HTTP/1.1 for every swarmlab concurrency model.
//!
//! Bytes go in, requests are parsed (with `httparse`) and checked against RFC 9112/9110, the
//! benchmark routes decide the reply, and response bytes come out into a caller-owned buffer.
//! There are no sockets, threads or clocks in here except the `Date` cache: the caller passes
//! `Instant`s in. Every server model drives the same [`Conn`], so a comparison between models
//! measures concurrency and never a difference in parsing or framing.
//!
//! ```
//! use std::time::Instant;
//! use swarmlab_http::{Conn, Config, Progress};
//!
//! let mut conn = Conn::new(Config::default());
//! let mut out = Vec::new();
//! conn.feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", Instant::now());
//! assert_eq!(conn.advance(&mut out, Instant::now()), Progress::NeedInput);
//! assert!(out.starts_with(b"HTTP/1.1 200 OK\r\n"));
//! assert!(out.ends_with(b"\r\n\r\nHello, World!"));
//! ```
#![deny(missing_docs)]

mod body;
mod config;
mod conn;
mod date;
mod error;
mod head;
mod response;
mod routes;
mod timers;

pub use config::Config;
pub use conn::{Conn, Progress, OUT_WINDOW};
pub use error::RequestError;
pub use head::{parse as parse_head, Framing, Head, Method};
pub use response::{Body, Reply, Status};
pub use routes::route;
pub use timers::Timers;
