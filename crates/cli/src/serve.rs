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
    cfg.max_processes = a.max_processes.map(|n| n as usize);
    if let Some(w) = a.workers {
        cfg.workers = usize::from(w);
    }
    cfg.tls = tls(a)?;
    // before anyone can be told the address: a SIGTERM from then on is a graceful stop
    let stop = Stop::new().context("cannot make the stop signal")?;
    stop.on_signals().context("installing signal handlers")?;
    let scheme = if cfg.tls.is_some() { "https" } else { "http" };
    println!(
        "listening on {scheme}://{addr} (model {model}, pid {})",
        std::process::id()
    );
    let _ = std::io::stdout().flush();
    swarmlab_server::serve(model, listener, &cfg, &stop)
        .with_context(|| format!("model {model} failed"))?;
    Ok(0)
}

/// The TLS the flags ask for: the user's certificate, one made now, or none.
fn tls(a: &ServeArgs) -> Result<Option<swarmlab_server::tls::Tls>, Failure> {
    use swarmlab_server::tls::Tls;
    let usage = |e: String| Failure::usage(anyhow::anyhow!("{e}"));
    if let (Some(cert), Some(key)) = (&a.tls_cert, &a.tls_key) {
        let tls = Tls::from_files(cert, key).map_err(usage)?;
        println!("TLS: {} (SHA-256 {})", cert.display(), tls.fingerprint);
        return Ok(Some(tls));
    }
    if a.tls.is_none() {
        return Ok(None);
    }
    let (tls, pem) = Tls::self_signed().map_err(usage)?;
    let written = match &a.tls_cert_out {
        Some(path) => {
            std::fs::write(path, pem)
                .map_err(|e| usage(format!("cannot write {}: {e}", path.display())))?;
            format!(", written to {}", path.display())
        }
        None => String::new(),
    };
    println!(
        "TLS: a self-signed certificate for localhost, 127.0.0.1 and ::1 (SHA-256 {}{written}); clients need -k{}",
        tls.fingerprint,
        if written.is_empty() { "" } else { " or --cacert of it" }
    );
    Ok(Some(tls))
}
