//! `swarmlab serve`: bind (or take an inherited listening socket), announce, serve until
//! SIGINT/SIGTERM.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use swarmlab_server::{Config, Model, Stop};

use crate::args::ServeArgs;
use crate::Failure;

/// Runs `serve` with the parsed arguments.
pub fn run(a: &ServeArgs) -> Result<u8, Failure> {
    if a.list {
        let mut out = std::io::stdout().lock();
        for &m in Model::ALL {
            let _ = writeln!(out, "{:<8} {}", m.name(), m.about());
        }
        return Ok(0);
    }
    let model = a.model.expect("clap requires --model without --list");
    if model == Model::Uring {
        swarmlab_server::uring::available()
            .map_err(|why| Failure::usage(anyhow::anyhow!("{why}")))?;
    }
    let listener = match a.listen_fd {
        Some(fd) => swarmlab_server::sys::inherited_listener(fd)
            .with_context(|| format!("--listen-fd {fd}")),
        None => swarmlab_server::bind(a.bind, a.backlog)
            .with_context(|| format!("cannot listen on {}", a.bind)),
    }
    .map_err(Failure::usage)?;
    let addr = listener.local_addr().context("listener has no address")?;
    let mut cfg = Config::default();
    cfg.http.idle_timeout = Duration::from_secs_f64(a.idle_timeout);
    cfg.http.header_timeout = Duration::from_secs_f64(a.header_timeout);
    cfg.write_timeout = Duration::from_secs_f64(a.write_timeout);
    cfg.max_threads = a.max_threads.map(|n| n as usize);
    if let Some(w) = a.workers {
        cfg.workers = usize::from(w);
    }
    // before anyone can be told the address: a SIGTERM from then on is a graceful stop
    let stop = Stop::new().context("cannot make the stop signal")?;
    stop.on_signals().context("installing signal handlers")?;
    println!(
        "listening on http://{addr} (model {model}, pid {})",
        std::process::id()
    );
    let _ = std::io::stdout().flush();
    swarmlab_server::serve(model, listener, &cfg, &stop)
        .with_context(|| format!("model {model} failed"))?;
    Ok(0)
}
