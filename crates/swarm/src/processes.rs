//! The engine across processes: the compiled program's users run in N processes of the
//! engine, each with worker threads of its own, while this process keeps the one controller,
//! the one set of statistics and every face (console, CSVs, web UI, a Locust master's worker).
//!
//! Why: one process may hold only so many descriptors (`RLIMIT_NOFILE`; 20,000 as a hard limit
//! on the machines this project runs on, with no right to raise it), and each user holds a
//! connection. nginx meets the same wall with worker processes; so does this.
//!
//! Each process stands in one worker slot of the controller (`control::Control`),
//! served by a proxy thread here that mirrors what a worker thread would read (a new run and
//! its workload, the open model's schedule, per-class targets, a drain, a flush, quit) to the
//! process as messages, and hands on what the process sends back (its threads' per-second
//! [`Delta`]s, a flush answered, requests in flight and users alive, a fatal error) as a worker
//! thread would. The process's threads are numbered among all the engine's threads, so each
//! takes the same share of the users, and the same user numbers (the open model's schedule,
//! the source addresses), as if every thread ran here.
//!
//! The channel is the process's stdin, a Unix socket; messages both ways are a `u32` length
//! (little-endian) and MessagePack ([`rmp_serde`]) of `ToProcess` or `ToEngine`; latency
//! histograms go in HdrHistogram's V2 encoding, so merging them here is exact.

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::control::{OpenSchedule, Shared};
use crate::event_loop::{self, Core};
use crate::plan::Plan;
pub use crate::plan::Processes;
use crate::program_users::ProgramUsers;
use crate::stats::Delta;
pub use crate::sys::Usage;
use crate::tls::{ClientTls, TlsOptions};
use crate::workload::Workload;

/// The first argument that makes swarmlab a process of an engine (not a command anyone types).
pub const PROCESS_ARG: &str = "__engine-process";

/// Descriptors a process of the engine keeps for itself besides its users' connections: the
/// standard three, its channel, each thread's epoll, timer and waker, the DNS lookups' and
/// TLS roots' files, with room to spare.
pub const RESERVED_FDS: usize = 64;

/// The most users one process holds with `limit` descriptors and `threads` threads.
pub fn users_per_process(limit: u64, threads: usize) -> usize {
    (limit as usize)
        .saturating_sub(RESERVED_FDS + 4 * threads)
        .max(1)
}

/// This process's descriptor limit, the soft one raised to the hard one first (a process may
/// do that without any right); `None` if it cannot be read.
pub fn descriptor_limit() -> Option<u64> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        return Some(hard);
    }
    Some(soft)
}

/// Engine → process.
#[derive(Serialize, Deserialize)]
enum ToProcess {
    /// First: which process it is of how many, its threads, the plan and the workload.
    Setup {
        index: usize,
        count: usize,
        threads: usize,
        plan: Box<Plan>,
        tls: Option<TlsOptions>,
        workload: Workload,
    },
    /// The open model's schedule; `t0` in `CLOCK_MONOTONIC` nanoseconds (one clock for every
    /// process of the machine).
    Open {
        rate: Option<f64>,
        ramp: Duration,
        t0: i128,
    },
    /// A new run, with its workload.
    Run { run: u64, workload: Workload },
    /// Users wanted per class across the engine, and how long the added ones take to start.
    Targets {
        counts: Vec<usize>,
        start_over: Duration,
    },
    /// Start no new tasks (a stop with a stop timeout), or again do.
    Draining(bool),
    /// Hand over what was measured so far (flush number).
    Flush(u64),
    /// End.
    Quit,
}

/// Process → engine.
#[derive(Serialize, Deserialize)]
enum ToEngine {
    /// Its threads' deltas.
    Deltas(Vec<Delta>),
    /// Every thread handed over for this flush (or was given long enough).
    Flushed(u64),
    /// Requests in flight, users alive, requests completed this run, and how many had
    /// completed when its first failure came (`--stop-on-failure`).
    Counts {
        in_flight: usize,
        alive: usize,
        completed: u64,
        first_failure: Option<u64>,
    },
    /// The run cannot go on.
    Fatal(String),
}

fn write_msg<T: Serialize>(w: &mut impl Write, msg: &T) -> io::Result<()> {
    let body = rmp_serde::to_vec(msg).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&(body.len() as u32).to_le_bytes());
    frame.extend_from_slice(&body);
    w.write_all(&frame)
}

/// The next message; `None` at the end of the stream.
fn read_msg<T: DeserializeOwned>(r: &mut impl Read) -> io::Result<Option<T>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut body = vec![0u8; u32::from_le_bytes(len) as usize];
    r.read_exact(&mut body)?;
    rmp_serde::from_slice(&body)
        .map(Some)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

fn monotonic_ns() -> i128 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    i128::from(t.tv_sec) * 1_000_000_000 + i128::from(t.tv_nsec)
}

/// `t` on `CLOCK_MONOTONIC`, in nanoseconds.
fn instant_to_ns(t: Instant) -> i128 {
    let now = Instant::now();
    let ns = monotonic_ns();
    match now.checked_duration_since(t) {
        Some(ago) => ns - ago.as_nanos() as i128,
        None => ns + t.duration_since(now).as_nanos() as i128,
    }
}

/// The instant at `ns` on `CLOCK_MONOTONIC`.
fn ns_to_instant(ns: i128) -> Instant {
    let (now, at) = (Instant::now(), monotonic_ns());
    let d = Duration::from_nanos((at - ns).unsigned_abs().min(u64::MAX as u128) as u64);
    if ns <= at {
        now.checked_sub(d).unwrap_or(now)
    } else {
        now + d
    }
}

/// How long a process is given to end after `Quit` before it is killed.
const QUIT_GRACE: Duration = Duration::from_secs(5);
/// How often a proxy looks at the controller's state (a worker thread looks once per turn of
/// its loop, at most 20 ms apart).
const PROXY_TICK: Duration = Duration::from_millis(1);

/// Starts process `k` of `p` and the thread that stands for it in this engine's slot `k`.
pub(crate) fn proxy(
    k: usize,
    p: &Processes,
    shared: Arc<Shared>,
    tx: Sender<Delta>,
) -> JoinHandle<()> {
    let p = p.clone();
    std::thread::Builder::new()
        .name(format!("swarm-proc-{k}"))
        .spawn(move || {
            if let Err(e) = run_proxy(k, &p, &shared, tx) {
                shared
                    .control
                    .fatal(format!("process {k} of the engine: {e}"));
            }
            // nothing more will come from it: the controller does not wait for it
            shared.control.flushed[k].store(u64::MAX, Ordering::Release);
            shared.control.in_flight[k].store(0, Ordering::Relaxed);
            shared.control.alive[k].store(0, Ordering::Relaxed);
        })
        .expect("spawn a process proxy thread")
}

fn run_proxy(k: usize, p: &Processes, shared: &Arc<Shared>, tx: Sender<Delta>) -> io::Result<()> {
    let (ours, theirs) = UnixStream::pair()?;
    let mut command = Command::new(&p.program);
    command
        .args(&p.args)
        .stdin(Stdio::from(OwnedFd::from(theirs)))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    crate::sys::die_with_parent(&mut command);
    let mut child = command.spawn().map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot start {}: {e}", p.program.display()),
        )
    })?;
    drop(command);
    crate::steering::lock(&shared.control.engines).push(child.id());
    let mut out = ours.try_clone()?;
    let control = &shared.control;
    let threads = p.threads_each(shared.plan.threads);
    let setup = ToProcess::Setup {
        index: k,
        count: p.count,
        threads,
        plan: Box::new(shared.plan.clone()),
        tls: shared.plan.tls.as_ref().map(|t| t.options().clone()),
        workload: (*shared.workload()).clone(),
    };
    write_msg(&mut out, &setup)?;

    // what the process sends, handed on as its threads' would be
    let ended = Arc::new(Mutex::new(None::<String>));
    let reader = {
        let shared = Arc::clone(shared);
        let ended = Arc::clone(&ended);
        let mut input = ours;
        std::thread::Builder::new()
            .name(format!("swarm-proc-{k}-in"))
            .spawn(move || {
                let control = &shared.control;
                let (mut completed, mut failed) = (0u64, false);
                let why = loop {
                    match read_msg::<ToEngine>(&mut input) {
                        Ok(Some(ToEngine::Deltas(ds))) => {
                            for d in ds {
                                let _ = tx.send(d);
                            }
                        }
                        Ok(Some(ToEngine::Flushed(g))) => {
                            control.flushed[k].store(g, Ordering::Release)
                        }
                        Ok(Some(ToEngine::Counts {
                            in_flight,
                            alive,
                            completed: done,
                            first_failure,
                        })) => {
                            control.in_flight[k].store(in_flight, Ordering::Relaxed);
                            control.alive[k].store(alive, Ordering::Relaxed);
                            if done < completed {
                                (completed, failed) = (0, false); // a new run
                            }
                            let all = control
                                .completed
                                .fetch_add(done - completed, Ordering::Relaxed)
                                + (done - completed);
                            completed = done;
                            if let (Some(before), false) = (first_failure, failed) {
                                failed = true;
                                // the engine's count when it came, as near as one can tell
                                // from here: the others' completions, and its own until then
                                let at = all.saturating_sub(done - before);
                                let _ = control.first_failure.compare_exchange(
                                    u64::MAX,
                                    at,
                                    Ordering::Relaxed,
                                    Ordering::Relaxed,
                                );
                            }
                        }
                        Ok(Some(ToEngine::Fatal(why))) => control.fatal(why),
                        Ok(None) => break None,
                        Err(e) => break Some(e.to_string()),
                    }
                };
                *ended.lock().unwrap_or_else(|e| e.into_inner()) = Some(why.unwrap_or_default());
            })?
    };

    // what the controller publishes, sent on as a worker thread would read it
    let (mut run, mut open_gen, mut targets_gen, mut flush_gen) = (0, 0, 0, 0);
    let mut draining = false;
    let result: Result<(), String> = loop {
        let gone = ended.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(why) = gone {
            if control.quit.load(Ordering::Relaxed) {
                break Ok(());
            }
            let why = if why.is_empty() {
                String::new()
            } else {
                format!(": {why}")
            };
            break Err(format!("it ended{why}"));
        }
        if control.quit.load(Ordering::Relaxed) {
            let _ = write_msg(&mut out, &ToProcess::Quit);
            break Ok(());
        }
        let sent = (|| -> io::Result<()> {
            let now_run = control.run.load(Ordering::Acquire);
            let now_open = control.open_gen.load(Ordering::Acquire);
            if now_open != open_gen {
                open_gen = now_open;
                let o = control.open();
                write_msg(
                    &mut out,
                    &ToProcess::Open {
                        rate: o.rate,
                        ramp: o.ramp,
                        t0: instant_to_ns(o.t0),
                    },
                )?;
            }
            if now_run != run {
                run = now_run;
                let workload = (*shared.workload()).clone();
                write_msg(&mut out, &ToProcess::Run { run, workload })?;
            }
            let now_targets = control.targets_gen.load(Ordering::Acquire);
            if now_targets != targets_gen {
                targets_gen = now_targets;
                let (counts, start_over) = control.targets();
                let counts = counts.to_vec();
                write_msg(&mut out, &ToProcess::Targets { counts, start_over })?;
            }
            let now_draining = control.draining.load(Ordering::Relaxed);
            if now_draining != draining {
                draining = now_draining;
                write_msg(&mut out, &ToProcess::Draining(draining))?;
            }
            let now_flush = control.flush_gen.load(Ordering::Acquire);
            if now_flush != flush_gen {
                flush_gen = now_flush;
                write_msg(&mut out, &ToProcess::Flush(flush_gen))?;
            }
            Ok(())
        })();
        if let Err(e) = sent {
            // the reader says why it went, if it did
            std::thread::sleep(Duration::from_millis(50));
            if ended.lock().unwrap_or_else(|e| e.into_inner()).is_none() {
                break Err(format!("writing to it failed: {e}"));
            }
            continue;
        }
        std::thread::sleep(PROXY_TICK);
    };
    // its last deltas come before its end
    let until = Instant::now() + QUIT_GRACE;
    while ended.lock().unwrap_or_else(|e| e.into_inner()).is_none() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(2));
    }
    if ended.lock().unwrap_or_else(|e| e.into_inner()).is_none() {
        let _ = child.kill();
    }
    let _ = reader.join();
    let (used, how) = reap(child);
    let mut all = crate::steering::lock(&shared.control.engines_used);
    all.cpu += used.cpu;
    all.voluntary_switches += used.voluntary_switches;
    all.involuntary_switches += used.involuntary_switches;
    drop(all);
    result.map_err(|e| io::Error::other(format!("{e} ({how})")))
}

/// Waits for `child` to end; its CPU time, user + system (`wait4`'s resource usage: a
/// compare run takes the generator's processes out of what its children, the server among
/// them, used), and how it ended.
fn reap(child: std::process::Child) -> (Usage, String) {
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: `usage` is a plain C struct that wait4 fills; all-zero bytes are a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our own child, not yet waited for (std's `Child` was never
        // waited); `status` and `usage` are valid for writes.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let e = io::Error::last_os_error();
        if r < 0 && e.kind() == io::ErrorKind::Interrupted {
            continue;
        }
        return (Usage::default(), format!("cannot wait for it: {e}"));
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    let how = if libc::WIFEXITED(status) {
        format!("exit status {}", libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        format!("killed by signal {}", libc::WTERMSIG(status))
    } else {
        format!("wait status {status}")
    };
    let used = Usage {
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
        voluntary_switches: usage.ru_nvcsw as u64,
        involuntary_switches: usage.ru_nivcsw as u64,
    };
    (used, how)
}

/// A process of the engine (swarmlab run with [`PROCESS_ARG`]): runs its threads of the
/// compiled program's users as the engine that started it says, on its stdin; the exit code.
pub fn process_main() -> u8 {
    let chan = match std::io::stdin().as_fd().try_clone_to_owned() {
        Ok(fd) => UnixStream::from(fd),
        Err(e) => {
            eprintln!("swarmlab: error: a process of the engine has no channel: {e}");
            return 1;
        }
    };
    match serve_engine(chan) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("swarmlab: error: a process of the engine: {e}");
            1
        }
    }
}

fn serve_engine(chan: UnixStream) -> io::Result<()> {
    let mut input = chan.try_clone()?;
    let mut out = chan;
    let Some(ToProcess::Setup {
        index,
        count,
        threads,
        plan,
        tls,
        workload,
    }) = read_msg(&mut input)?
    else {
        return Err(io::Error::other("the engine did not say what to run"));
    };
    let mut plan = *plan;
    descriptor_limit();
    plan.tls = match tls {
        Some(opts) => Some(Arc::new(ClientTls::new(&opts).map_err(io::Error::other)?)),
        None => None,
    };
    plan.threads = threads;
    plan.processes = None;
    let shared = Arc::new(Shared::new(workload, plan, threads));
    let (tx, deltas) = mpsc::channel();
    let workers: Vec<JoinHandle<()>> = (0..threads)
        .map(|i| {
            let shared = Arc::clone(&shared);
            let tx = tx.clone();
            std::thread::Builder::new()
                .name(format!("swarm-{}", index * threads + i))
                .spawn(move || {
                    let id = (index * threads + i, count * threads);
                    match Core::new(i, id, Arc::clone(&shared), true) {
                        Ok(core) => {
                            let users = ProgramUsers::new(&core);
                            event_loop::run(core, users, &tx)
                        }
                        Err(e) => shared.control.fatal(format!("cannot start a worker: {e}")),
                    }
                })
                .expect("spawn a worker thread")
        })
        .collect();
    drop(tx);

    // the engine's word, applied as its controller would apply it here
    let flushes = Arc::new(Mutex::new(Vec::<(u64, Instant)>::new()));
    {
        let shared = Arc::clone(&shared);
        let flushes = Arc::clone(&flushes);
        std::thread::Builder::new()
            .name("swarm-proc-in".into())
            .spawn(move || {
                let control = &shared.control;
                while let Ok(Some(msg)) = read_msg::<ToProcess>(&mut input) {
                    match msg {
                        ToProcess::Open { rate, ramp, t0 } => control.set_open(OpenSchedule {
                            rate,
                            ramp,
                            t0: ns_to_instant(t0),
                        }),
                        ToProcess::Run { run, workload } => {
                            *shared.workload.write().unwrap_or_else(|e| e.into_inner()) =
                                Arc::new(workload);
                            control.completed.store(0, Ordering::Relaxed);
                            control.first_failure.store(u64::MAX, Ordering::Relaxed);
                            control.draining.store(false, Ordering::Relaxed);
                            control.run.store(run, Ordering::Release);
                        }
                        ToProcess::Targets { counts, start_over } => {
                            control.set_targets(counts, start_over)
                        }
                        ToProcess::Draining(on) => control.draining.store(on, Ordering::Relaxed),
                        ToProcess::Flush(g) => {
                            flushes
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .push((g, Instant::now() + Duration::from_millis(150)));
                            control.flush_gen.store(g, Ordering::Release);
                        }
                        ToProcess::Quit | ToProcess::Setup { .. } => break,
                    }
                }
                // told to, or the engine is gone
                control.quit.store(true, Ordering::Relaxed);
            })?;
    }

    let control = &shared.control;
    let mut last_counts = None;
    let mut fatal_sent = false;
    loop {
        let mut batch = Vec::new();
        if let Ok(d) = deltas.recv_timeout(Duration::from_millis(2)) {
            batch.push(d);
        }
        batch.extend(deltas.try_iter());
        let answered: Vec<u64> = {
            let mut f = flushes.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let done = |g: u64, until: Instant| {
                now >= until
                    || control
                        .flushed
                        .iter()
                        .all(|x| x.load(Ordering::Acquire) >= g)
            };
            let answered = f
                .iter()
                .filter(|(g, u)| done(*g, *u))
                .map(|(g, _)| *g)
                .collect();
            f.retain(|(g, u)| !done(*g, *u));
            answered
        };
        if !answered.is_empty() {
            // what the threads handed over for it is on the channel by now
            batch.extend(deltas.try_iter());
        }
        if !batch.is_empty() {
            write_msg(&mut out, &ToEngine::Deltas(batch))?;
        }
        for g in answered {
            write_msg(&mut out, &ToEngine::Flushed(g))?;
        }
        let first = control.first_failure.load(Ordering::Relaxed);
        let counts = (
            control.in_flight(),
            control.alive(),
            control.completed.load(Ordering::Relaxed),
            (first != u64::MAX).then_some(first),
        );
        if last_counts != Some(counts) {
            last_counts = Some(counts);
            let (in_flight, alive, completed, first_failure) = counts;
            write_msg(
                &mut out,
                &ToEngine::Counts {
                    in_flight,
                    alive,
                    completed,
                    first_failure,
                },
            )?;
        }
        if let (Some(why), false) = (control.fatal_reason(), fatal_sent) {
            fatal_sent = true;
            write_msg(&mut out, &ToEngine::Fatal(why))?;
        }
        if control.quit.load(Ordering::Relaxed) {
            break;
        }
    }
    for w in workers {
        let _ = w.join();
    }
    let last: Vec<Delta> = deltas.try_iter().collect();
    if !last.is_empty() {
        write_msg(&mut out, &ToEngine::Deltas(last))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A delta crosses processes whole: counts, histograms bucket for bucket, typed failures.
    #[test]
    fn a_delta_crosses_whole() {
        use crate::profile::{ClientProfile, Failure};
        let mut d = Delta::new(3, 1_700_000_000, 2, true);
        for us in [120, 450, 9_000, 1_250_000] {
            d.entry(1).record(us, 10, us > 5_000);
        }
        d.service[1].record(77, 0, false);
        let io = io::Error::from_raw_os_error(111);
        d.error(
            1,
            ClientProfile::Http.failed(Failure::io(&io)),
            1_700_000_000,
        );
        d.error(
            0,
            ClientProfile::FastHttp.failed(Failure::ClosedMidResponse),
            1_700_000_001,
        );
        let mut buf = Vec::new();
        write_msg(&mut buf, &ToEngine::Deltas(vec![d.clone()])).unwrap();
        let Some(ToEngine::Deltas(back)) = read_msg(&mut buf.as_slice()).unwrap() else {
            panic!("not deltas")
        };
        let b = &back[0];
        assert_eq!((b.run, b.second), (d.run, d.second));
        let (x, y) = (&d.entries[1], &b.entries[1]);
        assert_eq!(
            (
                x.num_requests,
                x.num_failures,
                x.total_us,
                x.min_us,
                x.max_us,
                x.total_content
            ),
            (
                y.num_requests,
                y.num_failures,
                y.total_us,
                y.min_us,
                y.max_us,
                y.total_content
            )
        );
        for q in [0.25, 0.5, 0.99, 1.0] {
            assert_eq!(
                x.hist.value_at_quantile(q),
                y.hist.value_at_quantile(q),
                "q {q}"
            );
        }
        assert_eq!(b.service[1].num_requests, 1);
        assert_eq!(b.errors, d.errors, "the typed failures, kinds and all");
    }

    /// The schedule's time zero means the same instant on the other side.
    #[test]
    fn monotonic_instants_round_trip() {
        let t = Instant::now() - Duration::from_millis(1500);
        let back = ns_to_instant(instant_to_ns(t));
        let off = if back > t { back - t } else { t - back };
        assert!(off < Duration::from_millis(2), "{off:?}");
    }

    #[test]
    fn users_per_process_leaves_room() {
        assert_eq!(users_per_process(20_000, 2), 20_000 - 64 - 8);
        assert_eq!(users_per_process(10, 8), 1);
        let p = Processes {
            count: 6,
            program: "x".into(),
            args: vec![],
        };
        assert_eq!(p.threads_each(2), 1);
        assert_eq!(p.threads_each(13), 3);
    }
}
