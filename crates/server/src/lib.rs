//! One HTTP/1.1 server in several concurrency models.
//!
//! Every model is one file with one entry point of the same shape,
//! `serve(listener, &Config, &Stop) -> io::Result<()>`, and every connection of every model is
//! the same [`driver::Driver`] (the shared [`swarmlab_http::Conn`], the output, the deadlines
//! and the one close policy); a model only carries out the driver's steps, so the difference
//! between two model files *is* the difference between the two designs: how they wait for I/O.
//! Blocking models share [`blocking`]'s per-connection loop; readiness models share
//! [`readiness`]'s event loop behind a small selector trait. The system calls that need
//! `unsafe` are wrapped in [`sys`]; the one other home of `unsafe` is `uring`, whose submission
//! entries and provided-buffer ring point at memory the kernel uses after the call returns,
//! which no wrapper there could check. Each such block says why it is sound.
#![deny(missing_docs)]

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

pub mod blocking;
mod children;
pub mod driver;
mod epoll;
mod fork;
mod log;
mod poll;
mod pool;
mod prefork;
mod procs;
pub mod readiness;
mod select;
mod single;
pub mod stop;
pub mod sys;
mod thread;
pub mod tls;
mod tokio_rt;
pub mod uring;

pub use stop::Stop;

pub use swarmlab_models::{Model, UnknownModel};

/// How a server runs.
#[derive(Clone, Debug)]
pub struct Config {
    /// Per-connection limits and timeouts. By default, `swarmlab_http::Config::default()`.
    pub http: swarmlab_http::Config,
    /// Processes, threads or event loops, for models that have more than one. By default, the
    /// number of cores.
    pub workers: usize,
    /// How long a graceful shutdown waits for in-flight responses. By default, 5 s.
    pub drain_timeout: Duration,
    /// How long a response may wait for the client to read any of it before the connection is
    /// dropped (the client stopped reading). By default, 30 s.
    pub write_timeout: Duration,
    /// `thread`: the most connection threads at once (beyond, new connections wait in the
    /// backlog). By default (`None`), what `vm.max_map_count` allows.
    pub max_threads: Option<usize>,
    /// `fork`: the most connection processes at once (beyond, new connections wait in the
    /// backlog). By default (`None`), half the processes the machine can still start.
    pub max_processes: Option<usize>,
    /// Serve TLS with this certificate (`--tls-cert`/`--tls-key`, `--tls self-signed`). By
    /// default, plain HTTP.
    pub tls: Option<tls::Tls>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            http: swarmlab_http::Config::default(),
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            drain_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(30),
            max_threads: None,
            max_processes: None,
            tls: None,
        }
    }
}

/// Listen backlog unless told otherwise: std's 128 overflows under a 10k-user ramp.
pub const DEFAULT_BACKLOG: i32 = 4096;

/// Binds a listener with `SO_REUSEADDR` and the given backlog.
pub fn bind(addr: SocketAddr, backlog: i32) -> io::Result<TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    Ok(socket.into())
}

/// Runs `body` on `cfg.workers` threads named `name-N`, all sharing `listener`; returns when
/// every thread has, with the first error. The multi-loop models (epoll, uring) start this way.
pub(crate) fn on_workers<F>(
    name: &str,
    listener: TcpListener,
    cfg: &Config,
    body: F,
) -> io::Result<()>
where
    F: Fn(&TcpListener, Config) -> io::Result<()> + Send + Sync + 'static,
{
    listener.set_nonblocking(true)?;
    let (listener, body) = (std::sync::Arc::new(listener), std::sync::Arc::new(body));
    let threads: Vec<_> = (0..cfg.workers.max(1))
        .map(|i| {
            let (listener, body, cfg) = (listener.clone(), body.clone(), cfg.clone());
            std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || body(&listener, cfg))
        })
        .collect::<io::Result<_>>()?;
    for t in threads {
        t.join()
            .map_err(|_| io::Error::other(format!("a {name} thread panicked")))??;
    }
    Ok(())
}

/// Serves `listener` with `model` until `stop` is triggered, then drains and returns. Signals
/// are the caller's: the binary connects SIGINT and SIGTERM to `stop` ([`Stop::on_signals`]),
/// a test triggers it itself.
///
/// Sets `TCP_NODELAY` on the listener, which every accepted connection inherits (Linux copies
/// it in the accept): a response written in two parts is not held back by Nagle's algorithm,
/// and no model pays a `setsockopt` per connection.
pub fn serve(model: Model, listener: TcpListener, cfg: &Config, stop: &Stop) -> io::Result<()> {
    sys::raise_fd_limit();
    prepare_listener(&listener)?;
    match model {
        Model::Single => single::serve(listener, cfg, stop),
        Model::Fork => fork::serve(listener, cfg, stop),
        Model::Thread => thread::serve(listener, cfg, stop),
        Model::Prefork => prefork::serve(listener, cfg, stop),
        Model::Pool => pool::serve(listener, cfg, stop),
        Model::Select => select::serve(listener, cfg, stop),
        Model::Poll => poll::serve(listener, cfg, stop),
        Model::Epoll => epoll::serve(listener, cfg, stop),
        Model::Procs => procs::serve(listener, cfg, stop),
        Model::Uring => uring::serve(listener, cfg, stop),
        Model::Tokio => tokio_rt::serve(listener, cfg, stop),
    }
}

/// What every model's listener gets before it serves: `TCP_NODELAY`, inherited by each
/// accepted connection.
fn prepare_listener(listener: &TcpListener) -> io::Result<()> {
    socket2::SockRef::from(listener).set_tcp_nodelay(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Through the same step `serve` takes (a listener fresh from `bind` has it off).
    #[test]
    fn accepted_connections_inherit_nodelay_from_the_listener() {
        let listener = bind("127.0.0.1:0".parse().unwrap(), 16).unwrap();
        let _plain = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        assert!(!listener.accept().unwrap().0.nodelay().unwrap());
        prepare_listener(&listener).unwrap();
        let _client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        assert!(accepted.nodelay().unwrap());
    }

    #[test]
    fn names_round_trip() {
        for &m in Model::ALL {
            assert_eq!(m.name().parse::<Model>().unwrap(), m);
        }
        let err = "bogus".parse::<Model>().unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown model 'bogus' (models: single, fork, prefork, thread, pool, select, poll, epoll, procs, uring, tokio)"
        );
    }
}
