//! Command-line arguments (clap derive), and usage errors as one line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use swarmlab_report::WorkloadKind;
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
    /// Generate load, Locust-style: its web UI (or --headless), flags and CSV files.
    Swarm(Box<SwarmArgs>),
    /// Every model under the same load, with a report saying which design wins and why.
    Compare(CompareArgs),
    /// Probe one server's HTTP/1.1 and say what is wrong, why it matters and how to fix it.
    Check(CheckArgs),
}

/// `swarmlab check`.
#[derive(Args, Debug)]
#[command(group = clap::ArgGroup::new("subject").required(true).args(["url", "server"]))]
pub struct CheckArgs {
    /// A running server: http://HOST:PORT or https://HOST:PORT.
    pub url: Option<String>,
    /// A command that starts the server: `{port}` in it (or $PORT in its environment) is the
    /// port it must listen on, on 127.0.0.1. Its open descriptors and children are counted too.
    #[arg(long, value_name = "CMD")]
    pub server: Option<String>,
    /// Language of the findings: en or ko.
    #[arg(long, default_value = "en")]
    pub lang: swarmlab_report::Lang,
    /// The findings as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// With --server: its stdout and stderr go to FILE.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// https: do not verify the server's certificate (curl's -k).
    #[arg(short = 'k', long)]
    pub insecure: bool,
}

/// `swarmlab compare`.
#[derive(Args, Debug)]
pub struct CompareArgs {
    /// Models to compare, comma-separated, `all`, or `none` (only --server and --target rows).
    #[arg(long, default_value = "all")]
    pub models: String,
    /// Your own server as a row, started fresh for each phase: NAME=CMD, with `{port}` in CMD
    /// (or $PORT in its environment) for the port it must listen on, on 127.0.0.1. Checked
    /// first (as `swarmlab check` does); its output goes to OUT/servers/NAME.log. Repeatable.
    #[arg(long, value_name = "NAME=CMD")]
    pub server: Vec<String>,
    /// What every user sends.
    #[arg(long, default_value = "hello", value_parser = workload_kind())]
    pub workload: WorkloadKind,
    /// Peak users per model [default: 10000; --quick: 1000].
    #[arg(short = 'u', long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub users: Option<u32>,
    /// Users started per second [default: 1000; --quick: 500].
    #[arg(short = 'r', long, value_parser = positive)]
    pub spawn_rate: Option<f64>,
    /// Longest run per model [default: 13s; --quick: 5s].
    #[arg(long, value_parser = timespan)]
    pub max_time: Option<Duration>,
    /// Where the reports go.
    #[arg(long, default_value = "report")]
    pub out: PathBuf,
    /// Report language: en or ko.
    #[arg(long, default_value = "en")]
    pub lang: swarmlab_report::Lang,
    /// A short smoke version of the same comparison.
    #[arg(long)]
    pub quick: bool,
    /// The assignment's run this many times per design, each on a fresh server: the report
    /// gives every trial, the median (its row) and the spread.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=20))]
    pub repeat: u32,
    /// Seed of the users' random choices in every run (each run its own stream of it): the
    /// same seed, the same choices [default: a new one, kept in results.json and the report].
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// An external server as an extra row: NAME=URL, or NAME=URL@PID for its CPU and memory.
    #[arg(long, value_name = "NAME=URL[@PID]")]
    pub target: Vec<String>,
    /// Capacity: the latency objective, p99 at most this many ms (the sleep and cpu workloads
    /// add their own 100 ms and 1 ms); 0 skips the capacity search.
    #[arg(long, value_name = "MS", default_value_t = 100.0, value_parser = non_negative)]
    pub slo_p99: f64,
    /// Capacity: connections the open-model load is spread over.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=200_000))]
    pub connections: u32,
    /// Capacity at 10, 100, 1,000 and 10,000 connections, with the server's memory at each.
    #[arg(long)]
    pub scaling: bool,
    /// Capacity against cores: each design's server on 1, 2, 4, ... cores (a model with as
    /// many workers, up to half the machine's cores), the generator on the rest. On by default
    /// with 6 cores or more (not with --quick); otherwise it says in one line that scaling needs
    /// more cores.
    #[arg(long, overrides_with = "no_cores")]
    pub cores: bool,
    /// Not the capacity against cores, however many cores the machine has.
    #[arg(long, overrides_with = "cores")]
    pub no_cores: bool,
    /// Put every design under one of the conditions courses study, after the other phases
    /// (repeatable; `all`: every one):
    #[arg(long = "experiment", value_name = "NAME", value_parser = experiment_name())]
    pub experiments: Vec<String>,
    /// How long each experiment's load is measured, after half a second of warm-up (e.g. 5s)
    /// [default: 3 s (slow-clients, idle, network, overload), 4 s (head-of-line), 2 s
    /// (pool-size); with --quick 0.5 s, 1 s for head-of-line and overload]
    #[arg(long, value_name = "TIME", value_parser = timespan)]
    pub experiment_time: Option<Duration>,
    /// `--experiment network`'s round trip between the clients and the server (e.g. 20ms, 0.1s)
    #[arg(long, value_name = "TIME", value_parser = rtt, default_value = "20ms")]
    pub rtt: Duration,
    /// `--experiment network`'s bandwidth each way, in bits a second with a k, M or G and
    /// `bit` (tc's units: 100mbit, 10Mbit, 1gbit); 0 for none. Made with `tbf` in a network
    /// namespace, which needs root; without root the report says the link was loopback's
    #[arg(long, value_name = "RATE", value_parser = bandwidth, default_value = "100mbit")]
    pub bandwidth: u64,
    /// An earlier run's results.json: the report shows what changed, and whether it exceeds the
    /// measured run-to-run spread.
    #[arg(long, value_name = "RESULTS_JSON")]
    pub baseline: Option<PathBuf>,
    /// Load every model with this locustfile's (or scenario's) users instead of --workload.
    #[arg(long, value_name = "FILE", conflicts_with = "workload")]
    pub locustfile: Option<PathBuf>,
    /// The live page's port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 8089)]
    pub web_port: u16,
    /// No live page.
    #[arg(long)]
    pub no_web: bool,
}

/// `swarmlab swarm`: Locust's flags with Locust's meanings, plus an open model and thresholds.
#[derive(Args, Debug)]
pub struct SwarmArgs {
    /// Target base URL, e.g. http://127.0.0.1:8080 (its path is what the default user GETs).
    #[arg(short = 'H', long)]
    pub host: Option<String>,
    /// Peak number of concurrent users (each holds one keep-alive connection).
    #[arg(short = 'u', long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=swarmlab_swarm::MAX_USERS as i64))]
    pub users: u32,
    /// Users started per second.
    #[arg(short = 'r', long, default_value_t = 1.0, value_parser = positive)]
    pub spawn_rate: f64,
    /// Stop after this long: 20, 20s, 3m, 1h30m [default: until Ctrl-C].
    #[arg(short = 't', long, value_parser = timespan)]
    pub run_time: Option<Duration>,
    /// No web UI: start at once and end on --run-time, Ctrl-C or --stop-on-failure.
    #[arg(long)]
    pub headless: bool,
    /// Web UI: the address to bind (not loopback: set --web-login too).
    #[arg(long, default_value = "127.0.0.1", value_name = "IP")]
    pub web_host: std::net::IpAddr,
    /// Web UI: the port (0: any free port).
    #[arg(short = 'P', long, default_value_t = 8089)]
    pub web_port: u16,
    /// Web UI: start the test at once, as --headless does, and keep the UI.
    #[arg(long)]
    pub autostart: bool,
    /// Web UI: quit this many seconds after an --autostart run ends.
    #[arg(long, value_name = "SECONDS", requires = "autostart")]
    pub autoquit: Option<u64>,
    /// Be a worker of a Locust master (`locust --master`, 2.47): it steers this process.
    #[arg(long, conflicts_with_all = ["headless", "autostart"])]
    pub worker: bool,
    /// Worker: the master's host.
    #[arg(long, default_value = "127.0.0.1", requires = "worker")]
    pub master_host: String,
    /// Worker: the master's port.
    #[arg(long, default_value_t = 5557, requires = "worker")]
    pub master_port: u16,
    /// Worker: quit when the master sends no heartbeat for this long (Locust: 60 s).
    #[arg(long, default_value = "60s", value_parser = timespan, requires = "worker", hide = true)]
    pub master_heartbeat_timeout: Duration,
    /// Print a locustfile with this workload's user classes (for `locust --master -f`), and exit.
    #[arg(long)]
    pub print_locustfile: bool,
    /// Web UI: require HTTP basic auth with USER:PASS.
    #[arg(long, value_name = "USER:PASS", value_parser = login)]
    pub web_login: Option<String>,
    /// Write PREFIX_stats.csv, PREFIX_stats_history.csv, PREFIX_failures.csv, PREFIX_exceptions.csv.
    #[arg(long, value_name = "PREFIX")]
    pub csv: Option<PathBuf>,
    /// A history row for every entry (current-window percentiles), not only Aggregated.
    #[arg(long, requires = "csv")]
    pub csv_full_history: bool,
    /// Write a self-contained HTML report to FILE; {u}, {r}, {t} become users, spawn rate, run time (s).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Print the final statistics as JSON on stdout (tables go to stderr).
    #[arg(long)]
    pub json: bool,
    /// Print only the final tables, not the table every 2 s.
    #[arg(long)]
    pub only_summary: bool,
    /// Accepted for Locust compatibility: the table is printed every 2 s anyway.
    #[arg(long)]
    pub print_stats: bool,
    /// At the end, let in-flight requests finish for up to this long.
    #[arg(short = 's', long, default_value = "0", value_parser = timespan)]
    pub stop_timeout: Duration,
    /// Exit code when any request failed.
    #[arg(long, default_value_t = 1)]
    pub exit_code_on_error: u8,
    /// What users do: a locustfile (.py, read as Locust would, without running it) or a
    /// scenario (.toml).
    #[arg(
        short = 'f',
        long = "locustfile",
        visible_alias = "scenario",
        value_name = "FILE"
    )]
    pub scenario: Option<PathBuf>,
    /// Locustfile: only tasks with one of these tags.
    #[arg(short = 'T', long, num_args = 1.., value_name = "TAG")]
    pub tags: Vec<String>,
    /// Locustfile: no task with one of these tags.
    #[arg(short = 'E', long, num_args = 1.., value_name = "TAG")]
    pub exclude_tags: Vec<String>,
    /// Locustfile: the user classes to run (by default, all).
    #[arg(value_name = "USER_CLASS")]
    pub classes: Vec<String>,
    /// Think time: constant(S), between(A,B), constant_throughput(N), constant_pacing(S).
    #[arg(long, default_value = "constant(0)")]
    pub wait_time: swarmlab_swarm::WaitTime,
    /// Open model: R requests/s at fixed intended send times; latency counts from those times.
    #[arg(long, value_parser = positive)]
    pub rate: Option<f64>,
    /// Open model: ramp the rate from 0 to --rate over this long.
    #[arg(long, value_parser = timespan, requires = "rate")]
    pub rate_ramp: Option<Duration>,
    /// Stop at the first failed request and report the requests sent until then.
    #[arg(long)]
    pub stop_on_failure: bool,
    /// Exit non-zero if the failure ratio (0..1) is above this.
    #[arg(long, value_parser = ratio)]
    pub fail_ratio: Option<f64>,
    /// Exit non-zero if the 99th percentile response time (ms) is above this.
    #[arg(long, value_name = "MS", value_parser = positive)]
    pub max_p99: Option<f64>,
    /// Per-request timeout.
    #[arg(long, default_value = "10s", value_parser = timespan)]
    pub timeout: Duration,
    /// Connect timeout.
    #[arg(long, default_value = "5s", value_parser = timespan)]
    pub connect_timeout: Duration,
    /// Worker threads (event loops) [default: cores available].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: Option<u16>,
    /// Locustfile: run it as Python (the Python path) even if the static reader takes it,
    /// with this python3 [default: $VIRTUAL_ENV's, else python3 on PATH].
    // a bare --python is "" (PathBuf's own parser refuses an empty value)
    #[arg(long, value_name = "PATH", num_args = 0..=1, default_missing_value = "",
          value_parser = clap::builder::TypedValueParser::map(clap::builder::OsStringValueParser::new(), PathBuf::from))]
    pub python: Option<PathBuf>,
    /// Processes of users. The Python path: Python processes of user code, each with an event
    /// loop of the engine's [default: cores available]. Otherwise: processes of the engine,
    /// the threads shared among them, one set of statistics [default: one, or as many as the
    /// users need when one process may not open a file per user].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub processes: Option<u16>,
    /// Connect from these local addresses, users spread over them in turn (each has about
    /// 28,000 ports per destination): A-B (a range) or A,B,C.
    #[arg(long, value_name = "ADDRS", value_parser = source_addrs)]
    pub source_addrs: Option<SourceAddrs>,
    /// https: do not verify the server's certificate (curl's and k6's -k).
    #[arg(short = 'k', long)]
    pub insecure: bool,
    /// Seed of the users' random choices (tasks by weight, random waits; on the Python path,
    /// Python's `random`): the same seed, the same choices [default: a new one each run,
    /// printed at the end].
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// https: verify the server's certificate against these CA certificates (PEM) only,
    /// instead of the system's.
    #[arg(long, value_name = "FILE", conflicts_with = "insecure")]
    pub cacert: Option<PathBuf>,
    /// https: a client certificate (PEM chain), with --key.
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// https: the client certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
}

/// `--source-addrs`: local addresses to connect from.
#[derive(Clone, Debug)]
pub struct SourceAddrs(pub Vec<std::net::IpAddr>);

/// A round trip: more than nothing, at most 10 s.
fn rtt(s: &str) -> Result<Duration, String> {
    let t = timespan(s)?;
    if t.is_zero() || t > Duration::from_secs(10) {
        return Err(format!("'{s}' is not a round trip between 1ms and 10s"));
    }
    Ok(t)
}

/// A bandwidth in bits a second: `100mbit`, `10Mbit`, `1gbit`, `512kbit`, `0`.
fn bandwidth(s: &str) -> Result<u64, String> {
    let bad = || format!("'{s}' is not a bandwidth such as 100mbit, 10mbit or 1gbit (0 for none)");
    let t = s.trim().to_ascii_lowercase();
    if t == "0" {
        return Ok(0);
    }
    let digits = t.strip_suffix("bit").ok_or_else(bad)?;
    let (number, unit) = match digits.char_indices().last() {
        Some((i, c @ ('k' | 'm' | 'g'))) => (&digits[..i], Some(c)),
        _ => (digits, None),
    };
    let v: f64 = number.trim().parse().map_err(|_| bad())?;
    let bits = v * match unit {
        Some('k') => 1e3,
        Some('m') => 1e6,
        Some('g') => 1e9,
        _ => 1.0,
    };
    // tbf wants at least a few packets a second; 100 Gbit/s is past what it shapes on one core
    if !(8_000.0..=1e11).contains(&bits) {
        return Err(format!(
            "'{s}' is not a bandwidth between 8kbit and 100gbit (0 for none)"
        ));
    }
    Ok(bits as u64)
}

fn timespan(s: &str) -> Result<Duration, String> {
    swarmlab_swarm::parse_timespan(s).map_err(|e| e.to_string())
}

fn source_addrs(s: &str) -> Result<SourceAddrs, String> {
    source_addr_list(s).map(SourceAddrs)
}

fn source_addr_list(s: &str) -> Result<Vec<std::net::IpAddr>, String> {
    let bad = || format!("'{s}' is not A-B or A,B,... of IPv4 addresses");
    if let Some((a, b)) = s.split_once('-') {
        let (a, b): (std::net::Ipv4Addr, std::net::Ipv4Addr) = (
            a.trim().parse().map_err(|_| bad())?,
            b.trim().parse().map_err(|_| bad())?,
        );
        let (a, b) = (u32::from(a), u32::from(b));
        if b < a || b - a >= 1024 {
            return Err(format!(
                "'{s}': a range of 1 to 1024 addresses, first to last"
            ));
        }
        return Ok((a..=b)
            .map(|n| std::net::Ipv4Addr::from(n).into())
            .collect());
    }
    s.split(',')
        .map(|p| p.trim().parse().map_err(|_| bad()))
        .collect()
}

fn login(s: &str) -> Result<String, String> {
    match s.split_once(':') {
        Some((user, pass)) if !user.is_empty() && !pass.is_empty() => Ok(s.to_string()),
        _ => Err(format!("'{s}' is not USER:PASS")),
    }
}

fn non_negative(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("'{s}' is not a number of milliseconds >= 0")),
    }
}

/// `--workload`: one of the report's workload kinds, each listed with what it sends.
fn workload_kind() -> impl clap::builder::TypedValueParser<Value = WorkloadKind> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    PossibleValuesParser::new(
        WorkloadKind::ALL
            .iter()
            .map(|k| PossibleValue::new(k.name()).help(k.about())),
    )
    .map(|name| {
        name.parse::<WorkloadKind>()
            .expect("one of the possible values")
    })
}

/// `--experiment`: one of the report's experiments, each listed with what it shows, or `all`.
fn experiment_name() -> impl clap::builder::TypedValueParser<Value = String> {
    use clap::builder::{PossibleValue, PossibleValuesParser};
    use swarmlab_report::ExperimentKind;
    PossibleValuesParser::new(
        ExperimentKind::ALL
            .iter()
            .map(|k| PossibleValue::new(k.name()).help(k.about()))
            .chain([PossibleValue::new("all").help("every experiment above")]),
    )
}

fn positive(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("'{s}' is not a positive number")),
    }
}

fn ratio(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("'{s}' is not a ratio in 0..=1")),
    }
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
    /// Serve the listening TCP socket inherited on this file descriptor instead of binding
    /// --bind (inetd's wait mode, systemd's socket activation; `compare` hands each server the
    /// socket it bound, as stdin: --listen-fd 0).
    #[arg(long, value_name = "FD", conflicts_with = "bind")]
    pub listen_fd: Option<i32>,
    /// Processes, threads or event loops, for models that have more than one [default: cores].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub workers: Option<u16>,
    /// Seconds a connection may idle before it is closed.
    #[arg(long, default_value_t = 30.0, value_parser = positive_secs)]
    pub idle_timeout: f64,
    /// Seconds a whole header section may take to arrive (against slowloris).
    #[arg(long, default_value_t = 10.0, value_parser = positive_secs)]
    pub header_timeout: f64,
    /// Seconds a response may wait for the client to read any of it before the connection is
    /// dropped.
    #[arg(long, default_value_t = 30.0, value_parser = positive_secs)]
    pub write_timeout: f64,
    /// `thread`: the most connection threads at once; beyond, new connections wait in the
    /// backlog [default: what vm.max_map_count allows, about 16,000, and at most half the
    /// processes and threads the machine can still start].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_threads: Option<u32>,
    /// `fork`: the most connection processes at once; beyond, new connections wait in the
    /// backlog [default: half the processes and threads the machine can still start, by
    /// RLIMIT_NPROC, kernel.pid_max and kernel.threads-max].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_processes: Option<u32>,
    /// Listen backlog (std's 128 overflows under a 10,000-user ramp).
    #[arg(long, default_value_t = swarmlab_server::DEFAULT_BACKLOG,
          value_parser = clap::value_parser!(i32).range(1..))]
    pub backlog: i32,
    /// Serve HTTPS with this certificate chain (PEM, leaf first); with --tls-key.
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_key",
        conflicts_with = "tls"
    )]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
    /// `self-signed`: serve HTTPS with a certificate made at start for localhost, 127.0.0.1
    /// and ::1 (its fingerprint printed; clients need -k, or --cacert of the file
    /// --tls-cert-out writes).
    #[arg(long, value_name = "self-signed", value_parser = ["self-signed"])]
    pub tls: Option<String>,
    /// With --tls self-signed: write the certificate made (PEM) here, for clients' --cacert.
    #[arg(long, value_name = "FILE", requires = "tls")]
    pub tls_cert_out: Option<std::path::PathBuf>,
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
