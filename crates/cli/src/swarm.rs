//! `swarmlab swarm`: build the workload, run the engine headless or behind the web UI, print
//! Locust's tables, write the CSV/HTML/JSON files, and turn failures and thresholds into the
//! exit code.

use std::fs;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::Context;
use swarmlab_locust::html_report as html;
use swarmlab_locust::web::{self, App, FormDefaults, Template, WebOptions};
use swarmlab_locust::worker::{self as locust_worker, SwarmSlot, WorkerError, WorkerOptions};
use swarmlab_swarm::output::{console, json};
use swarmlab_swarm::tls::{ClientTls, TlsOptions};
use swarmlab_swarm::{
    Ended, Entry, Event, Observer, Plan, Start, State, Stats, Status, Summary, Swarm, Target,
    Workload,
};

use crate::args::SwarmArgs;
use crate::connections;
use crate::csv_files::CsvFiles;
use crate::Failure;

/// Runs `swarm`; returns the exit code.
pub fn run(a: &SwarmArgs) -> Result<u8, Failure> {
    let host = a
        .host
        .as_deref()
        .map(Target::parse)
        .transpose()
        .map_err(|e| Failure::usage(e.into()))?;
    let mut workload = workload_of(a, host.as_ref())?;
    let driver = workload.as_ref().and_then(|w| w.driver.clone());
    let mut plan = plan_of(a, driver.is_some());
    plan.tls = tls_of(a).map_err(|e| Failure::usage(anyhow::anyhow!(e)))?;
    if driver.is_none() {
        // the static path: the engine's own processes, when asked or when one cannot hold
        // the users (a Locust master says the users later: only when asked)
        let users = if a.worker { 0 } else { plan.users };
        plan.processes = connections::engine_processes(users, plan.threads, a.processes);
        for line in connections::limits(users, &plan) {
            eprintln!("swarmlab: warning: {line}");
        }
    }
    if driver.as_ref().is_some_and(|d| d.shape) {
        if a.worker {
            // under a Locust master, the master runs the shape (its own copy of the file)
            let w = workload.as_mut().expect("a workload with a driver");
            let mut d = (*driver.expect("checked")).clone();
            d.shape = false;
            w.driver = Some(Arc::new(d));
        } else {
            // the shape says how many users, from its first tick on (Locust ignores -u and -r)
            plan.users = 0;
        }
    }
    if a.print_locustfile {
        let workload = workload.unwrap_or_else(|| {
            let placeholder = Target::parse("http://127.0.0.1:8080").expect("a literal URL");
            Workload::simple(&placeholder, a.wait_time)
        });
        let text = swarmlab_locust::locustfile::write::locustfile(&workload, host.as_ref())
            .map_err(|e| Failure::usage(e.into()))?;
        print!("{text}");
        return Ok(0);
    }
    let html_file = a.html.as_deref().map(|t| html_path(t, &plan));
    if let Some(path) = &html_file {
        // refused now, as --csv is, not after the run
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    // 10,000 users need 10,000 sockets; the soft limit is often 1024.
    swarmlab_server::sys::raise_fd_limit();
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("installing signal handlers")?;
    }
    let csv_files = a
        .csv
        .as_ref()
        .map(|p| CsvFiles::create(p, a.csv_full_history))
        .transpose()?;
    let mut out: Box<dyn Write> = if a.json {
        Box::new(std::io::stderr())
    } else {
        Box::new(std::io::stdout())
    };
    let mut observer = CliObserver {
        entries: workload
            .as_ref()
            .map_or_else(Vec::new, |w| w.entries.clone()),
        out: &mut out,
        csv: csv_files,
        periodic: if a.headless {
            !a.only_summary
        } else {
            a.print_stats
        },
        warned: false,
        seconds: 0,
        status_line: (std::io::stderr().is_terminal() && !a.json)
            .then(indicatif::ProgressBar::new_spinner),
    };
    let summary = if a.worker {
        match locust_worker_mode(a, workload, plan, &stop, &mut observer)? {
            Some(summary) => summary,
            None => return Ok(0), // the master quit before it started anything
        }
    } else if a.headless {
        let workload = workload.expect("headless runs have a workload");
        let shaped = workload.driver.as_ref().is_some_and(|d| d.shape);
        let engines = match (&workload.driver, &plan.processes) {
            (Some(_), _) => format!("{} Python process(es)", plan.threads),
            (None, Some(p)) => format!(
                "{} process(es) of {} thread(s) (one process may open {} files here)",
                p.count,
                p.threads_each(plan.threads),
                swarmlab_swarm::processes::descriptor_limit().unwrap_or(0)
            ),
            (None, None) => format!("{} thread(s)", plan.threads),
        };
        let _ = writeln!(
            observer.out,
            "swarming {}{}{} with {engines}",
            if shaped {
                "as the file's LoadTestShape says".to_string()
            } else {
                format!("{} user(s) at {}/s", plan.users, plan.spawn_rate)
            },
            plan.rate
                .map_or(String::new(), |r| format!(", open model at {r} req/s")),
            plan.run_time
                .map_or(String::new(), |t| format!(" for {t:?}")),
        );
        swarmlab_swarm::run(workload, plan, &stop, &mut observer)
    } else {
        match web_ui(a, workload, plan, &stop, &mut observer)? {
            Some(summary) => summary,
            None => return Ok(0), // the UI never started a test
        }
    };
    let csv_files = observer.csv.take();
    if let Some(bar) = observer.status_line.take() {
        bar.finish_and_clear();
    }
    let entries = std::mem::take(&mut observer.entries);
    report(&mut out, &summary, &entries);
    write_files(a, &summary, &entries, csv_files, html_file)?;
    Ok(exit_code(a, &summary, &mut out))
}

/// The users: a locustfile's or scenario's (`-f`), else one that GETs `-H`; `None` when the
/// web UI (or `--print-locustfile`) will be told the host later.
fn workload_of(a: &SwarmArgs, host: Option<&Target>) -> Result<Option<Workload>, Failure> {
    if a.scenario.is_none()
        && (!a.classes.is_empty() || !a.tags.is_empty() || !a.exclude_tags.is_empty())
    {
        return Err(Failure::usage(anyhow::anyhow!(
            "user classes, --tags and --exclude-tags pick from a locustfile: give one with -f"
        )));
    }
    Ok(match (&a.scenario, host) {
        (Some(file), _) => Some(load_users(a, file, host)?),
        (None, Some(host)) => Some(Workload::simple(host, a.wait_time)),
        (None, None) if a.print_locustfile => None,
        (None, None) if a.headless || a.autostart => {
            return Err(Failure::usage(anyhow::anyhow!(
                "-H/--host is required without -f/--scenario{}",
                if a.headless {
                    ""
                } else {
                    " when --autostart starts the test"
                }
            )))
        }
        (None, None) => None,
    })
}

/// The TLS client settings from `-k`, `--cacert`, `--cert`/`--key` (`None`: the defaults).
fn tls_of(a: &SwarmArgs) -> Result<Option<Arc<ClientTls>>, String> {
    let opts = TlsOptions {
        insecure: a.insecure,
        cacert: a.cacert.clone(),
        client_cert: a.cert.clone().zip(a.key.clone()),
        no_resumption: false,
    };
    if opts == TlsOptions::default() {
        return Ok(None);
    }
    ClientTls::new(&opts).map(|t| Some(Arc::new(t)))
}

/// The engine-wide options from the flags; a Python-path workload (`remote`) gets a worker
/// thread per process of users (`--processes`).
fn plan_of(a: &SwarmArgs, remote: bool) -> Plan {
    let threads = if remote { a.processes } else { a.threads };
    Plan {
        users: a.users as usize,
        spawn_rate: a.spawn_rate,
        run_time: a.run_time,
        rate: a.rate,
        rate_ramp: a.rate_ramp.unwrap_or_default(),
        timeout: a.timeout,
        connect_timeout: a.connect_timeout,
        stop_on_failure: a.stop_on_failure,
        stop_timeout: a.stop_timeout,
        threads: threads.map_or(Plan::default().threads, usize::from),
        source_addrs: a.source_addrs.clone().map_or_else(Vec::new, |s| s.0),
        tls: None,
        processes: None,
        seed: a.seed,
    }
}

/// The files asked for: the CSVs' last rows, `--html`, `--json` (on stdout).
fn write_files(
    a: &SwarmArgs,
    summary: &Summary,
    entries: &[Entry],
    csv_files: Option<CsvFiles>,
    html_file: Option<PathBuf>,
) -> Result<(), Failure> {
    if let Some(files) = csv_files {
        files.finish(&summary.stats, entries)?;
    }
    if let Some(path) = html_file {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        fs::write(
            &path,
            html::report(summary, entries, &a.host.clone().unwrap_or_default()),
        )
        .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json::summary_json(summary, entries)).expect("json")
        );
    }
    Ok(())
}

/// Serves the web UI until Ctrl-C (or `--autoquit` after an `--autostart` run): the engine is
/// steered from the page; this thread only writes the CSV files and the status line each
/// second. Returns the last run's summary, or `None` if no test was ever started.
fn web_ui(
    a: &SwarmArgs,
    workload: Option<Workload>,
    plan: Plan,
    stop: &AtomicBool,
    observer: &mut CliObserver<'_>,
) -> Result<Option<Summary>, Failure> {
    let template = match (&a.scenario, &workload) {
        (Some(_), Some(w)) => Template::Workload(w.clone()),
        _ => Template::Simple(a.wait_time),
    };
    let swarm = workload.map(|w| Swarm::new(w, plan.clone()));
    let defaults = FormDefaults {
        users: plan.users,
        spawn_rate: plan.spawn_rate,
        host: a.host.clone().unwrap_or_default(),
        run_time: plan
            .run_time
            .map_or(String::new(), |t| format!("{}s", t.as_secs())),
        wait_time: String::new(),
        rate: plan.rate.map_or(String::new(), |r| r.to_string()),
        locustfile: a
            .scenario
            .as_ref()
            .and_then(|f| f.file_name())
            .map_or("-".into(), |f| f.to_string_lossy().into_owned()),
    };
    let app = App::for_swarm(swarm.clone(), template, plan.clone(), defaults);
    if let (Some(prefix), true) = (&a.csv, a.csv_full_history) {
        app.set_full_history_csv(PathBuf::from(format!(
            "{}_stats_history.csv",
            prefix.display()
        )));
    }
    let opts = WebOptions {
        bind: std::net::SocketAddr::new(a.web_host, a.web_port),
        login: a.web_login.clone(),
    };
    if !a.web_host.is_loopback() && a.web_login.is_none() {
        eprintln!(
            "swarmlab: warning: the web UI on {} can be reached from other machines and has no login: anyone there can start load from this machine (set --web-login USER:PASS)",
            opts.bind
        );
    }
    let web = web::start(std::sync::Arc::clone(&app), &opts)
        .with_context(|| format!("cannot serve the web UI on {}", opts.bind))
        .map_err(Failure::usage)?;
    let _ = writeln!(
        observer.out,
        "web UI at http://{} (Ctrl-C to quit)",
        web.addr
    );
    let _ = observer.out.flush();
    if let (true, Some(s)) = (a.autostart, &swarm) {
        s.start(Start::from_plan(&plan));
    }
    let mut quit_at: Option<std::time::Instant> = None;
    follow(
        || app.swarm(),
        observer,
        |event| {
            if let (Some(Event::State(State::Stopped)), true, Some(secs)) =
                (event, a.autostart, a.autoquit)
            {
                quit_at.get_or_insert(
                    std::time::Instant::now() + std::time::Duration::from_secs(secs),
                );
            }
            !stop.load(std::sync::atomic::Ordering::Relaxed)
                && quit_at.is_none_or(|t| std::time::Instant::now() < t)
        },
    );
    web.close();
    let Some(swarm) = app.swarm() else {
        return Ok(None);
    };
    swarm.quit();
    let summary = swarm.wait();
    observer.entries = swarm.view(|v| v.entries().to_vec());
    Ok(Some(summary))
}

/// The users of `-f FILE`: a locustfile (`.py`: compiled to the engine where the static
/// reader takes it, else run as Python, said in one line) or a scenario (`.toml`).
pub fn load_users(a: &SwarmArgs, file: &Path, host: Option<&Target>) -> Result<Workload, Failure> {
    let name = file.to_string_lossy();
    if file.extension().is_some_and(|e| e == "py") {
        let opts = swarmlab_locust::locustfile::Options {
            host: host.cloned(),
            wait: a.wait_time,
            tags: a.tags.clone(),
            exclude_tags: a.exclude_tags.clone(),
            classes: a.classes.clone(),
            python: a.python.clone().filter(|p| !p.as_os_str().is_empty()),
            force_python: a.python.is_some(),
        };
        let loaded = swarmlab_locust::locustfile::load(&name, &opts)
            .map_err(|e| Failure::usage(e.into()))?;
        say_path(&name, &loaded.path);
        if loaded.workload.driver.is_some() && a.rate.is_some() {
            return Err(Failure::usage(anyhow::anyhow!(
                "--rate (the open model) needs a locustfile the static reader takes: {name} runs as Python"
            )));
        }
        return Ok(loaded.workload);
    }
    if a.python.is_some() {
        return Err(Failure::usage(anyhow::anyhow!(
            "--python runs a locustfile (.py) as Python, not {name}"
        )));
    }
    if !a.classes.is_empty() || !a.tags.is_empty() || !a.exclude_tags.is_empty() {
        return Err(Failure::usage(anyhow::anyhow!(
            "user classes, --tags and --exclude-tags apply to a locustfile (.py), not to {name}"
        )));
    }
    swarmlab_swarm::scenario::load(&name, host, a.wait_time).map_err(|e| Failure::usage(e.into()))
}

/// Which way a locustfile runs, in one line on stderr.
pub fn say_path(file: &str, path: &swarmlab_locust::locustfile::PathTaken) {
    use swarmlab_locust::locustfile::PathTaken;
    match path {
        PathTaken::Static => eprintln!(
            "swarmlab: {file}: the static path (compiled to swarmlab's engine)"
        ),
        PathTaken::Python(why) => eprintln!(
            "swarmlab: {file}: the Python path (your python3 runs the users, swarmlab's engine the requests), for {why}"
        ),
    }
}

/// Calls `observer` every second of whatever engine `current` returns (it may appear late, as
/// when the web form or a Locust master starts the first test), until `go_on` says stop; it
/// sees each event, and is asked at least every 100 ms.
fn follow(
    current: impl Fn() -> Option<Swarm>,
    observer: &mut CliObserver<'_>,
    mut go_on: impl FnMut(Option<&Event>) -> bool,
) {
    let mut watched: Option<(Swarm, std::sync::mpsc::Receiver<Event>)> = None;
    while go_on(None) {
        let Some((swarm, events)) = &watched else {
            match current() {
                Some(s) => {
                    let events = s.subscribe();
                    watched = Some((s, events));
                }
                None => std::thread::sleep(std::time::Duration::from_millis(100)),
            }
            continue;
        };
        match events.recv_timeout(std::time::Duration::from_millis(100)) {
            Ok(Event::Second(_)) => {
                swarm.view(|v| observer.second(&v.stats, v.entries(), &v.status))
            }
            Ok(event) => {
                if !go_on(Some(&event)) {
                    return;
                }
            }
            Err(_) => {}
        }
    }
}

/// A worker of a Locust master: the master steers the engine through the worker thread; this
/// thread writes the CSV files and the status line each second. Returns the last run's summary
/// (`None` if the master never started one), or the worker's error as the exit code says.
fn locust_worker_mode(
    a: &SwarmArgs,
    workload: Option<Workload>,
    plan: Plan,
    stop: &Arc<AtomicBool>,
    observer: &mut CliObserver<'_>,
) -> Result<Option<Summary>, Failure> {
    let opts = WorkerOptions {
        master_host: a.master_host.clone(),
        master_port: a.master_port,
        heartbeat_timeout: a.master_heartbeat_timeout,
    };
    let slot: SwarmSlot = Arc::default();
    let worker = {
        let (slot, stop) = (Arc::clone(&slot), Arc::clone(stop));
        std::thread::Builder::new()
            .name("locust-worker".into())
            .spawn(move || {
                locust_worker::run(workload, plan, &opts, &stop, &slot, &mut |line| {
                    eprintln!("swarmlab: worker: {line}");
                })
            })
            .context("starting the worker thread")?
    };
    follow(
        || slot.lock().unwrap_or_else(|e| e.into_inner()).clone(),
        observer,
        |_| !worker.is_finished(),
    );
    let result = worker.join().expect("the worker thread panicked");
    let swarm = slot.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let summary = swarm.map(|s| {
        s.quit();
        let summary = s.wait();
        observer.entries = s.view(|v| v.entries().to_vec());
        summary
    });
    match result {
        Ok(()) | Err(WorkerError::Interrupted) => Ok(summary),
        Err(
            e @ (WorkerError::UnknownClass { .. } | WorkerError::NoHost | WorkerError::BadHost(_)),
        ) => Err(Failure::usage(e.into())),
        Err(e) => Err(Failure::from(anyhow::Error::from(e))),
    }
}

/// The final tables and the numbers Locust does not give.
fn report(out: &mut dyn Write, summary: &Summary, entries: &[Entry]) {
    let stats = &summary.stats;
    let _ = writeln!(out, "\n{}", console::stats_table(stats, entries, false));
    let _ = writeln!(out, "{}", console::percentile_table(stats, entries));
    if !stats.errors.is_empty() {
        let _ = writeln!(out, "{}", console::error_report(stats, entries));
    }
    if !stats.exceptions.is_empty() {
        let _ = writeln!(out, "{}", console::exceptions_report(stats));
    }
    // requests over the run's length (Locust's total req/s divides by the span to the last
    // request, which makes one request in a one-second run look like hundreds per second)
    let rps = stats.total.num_requests as f64 / summary.duration.as_secs_f64().max(1e-3);
    let _ = writeln!(
        out,
        "ran {:.1} s, ended by {:?}: {} requests, {:.1} req/s, average {:.3} ms, {} failures; seed {} (--seed {} repeats its random choices)",
        summary.duration.as_secs_f64(),
        summary.ended,
        stats.total.num_requests,
        rps,
        stats.total.avg_ms(),
        stats.total.num_failures,
        summary.seed,
        summary.seed
    );
    if summary.ended == Ended::Failure {
        let _ = writeln!(
            out,
            "first failure after {} successful requests",
            summary.before_first_failure.unwrap_or(0)
        );
    }
    if let Some(service) = &stats.service_total {
        let _ = writeln!(
            out,
            "open model: latency counts from intended send times; service time (from the actual send) p50 {} ms, p99 {} ms; {} sends left more than 1 ms late with their connection free (the generator's own lag)",
            service.percentile_ms(0.5).map_or("N/A".into(), |v| format!("{v:.3}")),
            service.percentile_ms(0.99).map_or("N/A".into(), |v| format!("{v:.3}")),
            stats.late_sends
        );
    }
    let hs = stats.handshakes;
    if hs.full + hs.resumed > 0 {
        let _ = writeln!(
            out,
            "TLS: {} handshakes, {} full and {} resumed",
            hs.full + hs.resumed,
            hs.full,
            hs.resumed
        );
    }
    let delay = &stats.read_delay;
    if delay.num_requests > 0 {
        let _ = writeln!(
            out,
            "generator's own delay (responses waiting, whole, in its sockets before it read them): mean {:.3} ms, p99 {} ms, {:.0} % of the average response time",
            delay.avg_ms(),
            delay.percentile_ms(0.99).map_or("N/A".into(), |v| format!("{v:.3}")),
            100.0 * delay.avg_ms() / stats.total.avg_ms().max(1e-9)
        );
    }
    if let Some(why) = &summary.saturated {
        let _ = writeln!(out, "warning: {why}");
    }
    if let Some(why) = &summary.delayed {
        let _ = writeln!(out, "warning: {why}");
    }
}

fn exit_code(a: &SwarmArgs, summary: &Summary, out: &mut dyn Write) -> u8 {
    let total = &summary.stats.total;
    let mut crossed = false;
    if let Some(max) = a.fail_ratio {
        if total.fail_ratio() > max {
            let _ = writeln!(
                out,
                "threshold crossed: failure ratio {:.4} > {max}",
                total.fail_ratio()
            );
            crossed = true;
        }
    }
    if let Some(max) = a.max_p99 {
        let p99 = total.percentile_ms(0.99).unwrap_or(0.0);
        if p99 > max {
            let _ = writeln!(out, "threshold crossed: p99 {p99:.3} ms > {max} ms");
            crossed = true;
        }
    }
    if let Some(why) = &summary.fatal {
        let _ = writeln!(out, "error: {why}");
        return 1;
    }
    // Locust: any failure or any exception of user code
    if total.num_failures > 0 || !summary.stats.exceptions.is_empty() {
        a.exit_code_on_error
    } else if crossed {
        1
    } else {
        0
    }
}

struct CliObserver<'a> {
    entries: Vec<Entry>,
    out: &'a mut Box<dyn Write>,
    csv: Option<CsvFiles>,
    periodic: bool,
    warned: bool,
    seconds: u64,
    /// The live status line (users, RPS, failures, elapsed), on a TTY only.
    status_line: Option<indicatif::ProgressBar>,
}

impl Observer for CliObserver<'_> {
    fn second(&mut self, stats: &Stats, entries: &[Entry], status: &Status) {
        if self.entries != entries {
            self.entries = entries.to_vec(); // rows named as the run went (the Python path)
        }
        self.seconds += 1;
        if let Some(csv) = &mut self.csv {
            // the last call comes after the run stopped: Locust writes no history row then
            // (its last row of a `-t 6s` run is its fifth second's); `_stats.csv` is written
            // whole at the end anyway
            if status.state != swarmlab_swarm::State::Stopped {
                csv.second(stats, &self.entries, status.users);
            }
        }
        if let (Some(why), false) = (&status.saturated, self.warned) {
            self.warned = true;
            let _ = writeln!(self.out, "warning: {why}");
        }
        if self.periodic && self.seconds % 2 == 0 {
            let _ = writeln!(
                self.out,
                "{}",
                console::stats_table(stats, &self.entries, true)
            );
        }
        if let Some(bar) = &self.status_line {
            let (rps, _) = stats.current_rates(None);
            bar.set_message(format!(
                "users {}  rps {:.1} (10 s window)  failures {}  elapsed {:.0} s",
                status.users,
                rps,
                stats.total.num_failures,
                status.elapsed.as_secs_f64()
            ));
            bar.tick();
        }
    }
}

/// Locust's `--html` placeholders: `{u}` users, `{r}` spawn rate (no `.0` when whole), `{t}` run
/// time in seconds; a placeholder whose value was not given stays as written, as in Locust.
fn html_path(template: &Path, plan: &Plan) -> PathBuf {
    let number = |v: f64| {
        if v.fract() == 0.0 {
            format!("{}", v as i64)
        } else {
            v.to_string()
        }
    };
    let mut name = template.to_string_lossy().into_owned();
    name = name.replace("{u}", &plan.users.to_string());
    name = name.replace("{r}", &number(plan.spawn_rate));
    if let Some(t) = plan.run_time {
        name = name.replace("{t}", &t.as_secs().to_string());
    }
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn html_placeholders_are_filled_like_locust() {
        let mut plan = Plan {
            users: 10_000,
            spawn_rate: 1000.0,
            run_time: Some(Duration::from_secs(90)),
            ..Plan::default()
        };
        assert_eq!(
            html_path(Path::new("out/r-{u}-{r}-{t}.html"), &plan),
            Path::new("out/r-10000-1000-90.html")
        );
        plan.spawn_rate = 2.5;
        plan.run_time = None;
        assert_eq!(
            html_path(Path::new("{u}_{r}_{t}.html"), &plan),
            Path::new("10000_2.5_{t}.html")
        );
    }
}
