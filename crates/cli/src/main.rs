//! `swarmlab`: the binary. Parses arguments, runs a subcommand, maps the outcome to an exit
//! code: 0 success, 1 failure at run time, 2 bad usage (a bad flag, an address in use).

mod args;
mod check;
mod compare;
mod connections;
mod csv_files;
mod delay_relay;
mod procfs;
mod serve;
mod server_process;
mod shaped_link;
mod swarm;
mod wire;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // a process of a swarm's engine, started by the engine (`--processes`)
    if std::env::args_os().nth(1).as_deref()
        == Some(std::ffi::OsStr::new(swarmlab_swarm::processes::PROCESS_ARG))
    {
        return ExitCode::from(swarmlab_swarm::processes::process_main());
    }
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return args::usage_error(&e),
    };
    let result = match cli.command {
        args::Command::Serve(a) => serve::run(&a),
        args::Command::Swarm(a) => swarm::run(&a),
        args::Command::Compare(a) => compare::run(&a),
        args::Command::Check(a) => check::run(&a),
    };
    match result {
        Ok(0) => ExitCode::SUCCESS,
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // one line per problem (a locustfile can have several)
            for line in format!("{:#}", e.error).lines() {
                eprintln!("swarmlab: error: {line}");
            }
            ExitCode::from(e.code)
        }
    }
}

/// An error with the exit code it deserves.
pub struct Failure {
    /// What went wrong, with context.
    pub error: anyhow::Error,
    /// 1 for run-time failures, 2 for usage errors.
    pub code: u8,
}

impl Failure {
    /// A usage error (exit 2).
    pub fn usage(error: anyhow::Error) -> Failure {
        Failure { error, code: 2 }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Failure {
        Failure { error, code: 1 }
    }
}
