//! Command-line arguments (clap derive), and usage errors as one line.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use swarmlab_server::Model;

/// Which server architecture holds up under many clients, and why.
#[derive(Parser, Debug)]
#[command(name = "swarmlab", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve HTTP/1.1 with one concurrency model.
    Serve(ServeArgs),
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The concurrency model (see --list).
    #[arg(long, short, required_unless_present = "list")]
    pub model: Option<Model>,
    /// Print the models, one per line, and exit.
    #[arg(long)]
    pub list: bool,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Processes, threads or event loops, for models that have more than one [default: cores].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub workers: Option<u16>,
    /// Seconds a connection may idle before it is closed.
    #[arg(long, default_value_t = 30.0, value_parser = positive_secs)]
    pub idle_timeout: f64,
    /// Seconds a whole header section may take to arrive (against slowloris).
    #[arg(long, default_value_t = 10.0, value_parser = positive_secs)]
    pub header_timeout: f64,
    /// Listen backlog (std's 128 overflows under a 10,000-user ramp).
    #[arg(long, default_value_t = swarmlab_server::DEFAULT_BACKLOG,
          value_parser = clap::value_parser!(i32).range(1..))]
    pub backlog: i32,
}

fn positive_secs(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 86_400.0 => Ok(v),
        _ => Err(format!("'{s}' is not a number of seconds in (0, 86400]")),
    }
}

/// Prints a clap error as one line (help and version go out whole) and picks the exit code.
pub fn usage_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        let _ = e.print();
        return ExitCode::from(2);
    }
    // clap's message is the first paragraph (some kinds continue it on indented lines);
    // usage and tips follow a blank line.
    let rendered = e.render().to_string();
    let message: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .take_while(|l| !l.is_empty())
        .collect();
    let message = message.join(" ");
    let message = message.strip_prefix("error: ").unwrap_or(&message);
    eprintln!("swarmlab: error: {message} (see --help)");
    ExitCode::from(2)
}
