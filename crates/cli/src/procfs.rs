//! What `compare` reads from the kernel about a server: its process tree's memory (RSS, and
//! PSS from `smaps_rollup`, which splits shared pages among the processes sharing them), threads,
//! processes and CPU time so far (sampled from /proc), its CPU time and context switches at the
//! end (rusage of waited-for children: every thread, and every child the server itself reaped),
//! and the machine.

use std::collections::{HashMap, HashSet};
use std::fs;

/// One sample of a process tree.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TreeSample {
    /// Summed resident set size, bytes (a page shared by forked processes counts once per
    /// process).
    pub rss: u64,
    /// Summed proportional set size, bytes (a shared page counts once in all).
    pub pss: u64,
    /// CPU time so far, ns: each live process's CPU clock (its threads, live and ended, in ns),
    /// and the children the live processes reaped (cutime + cstime, in clock ticks).
    pub cpu_ns: u64,
    /// Summed threads.
    pub threads: u64,
    /// Processes.
    pub processes: u64,
    /// Open file descriptors, summed over the live processes (`/proc/PID/fd`).
    pub fds: u64,
    /// Processes in the tree that ended and were not waited for (state `Z`).
    pub zombies: u64,
}

/// Samples the tree rooted at `root` (the root and every descendant alive now).
pub fn sample_tree(root: u32) -> TreeSample {
    let page = 4096u64;
    let mut parents: HashMap<u32, u32> = HashMap::new();
    let mut stats: HashMap<u32, (u64, u64, [u64; 2])> = HashMap::new();
    let mut zombies: HashSet<u32> = HashSet::new();
    let Ok(dir) = fs::read_dir("/proc") else {
        return TreeSample::default();
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
            continue;
        };
        let f: Vec<&str> = after.split(' ').collect();
        // after "(comm) ": state ppid ... num_threads is field 20 (index 17 here), rss field 24 (index 21)
        let (Some(ppid), Some(threads), Some(rss)) = (
            f.get(1).and_then(|v| v.parse().ok()),
            f.get(17).and_then(|v| v.parse::<u64>().ok()),
            f.get(21).and_then(|v| v.parse::<u64>().ok()),
        ) else {
            continue;
        };
        // utime stime cutime cstime
        let ticks: Vec<u64> = f[11..15.min(f.len())]
            .iter()
            .filter_map(|v| v.parse::<u64>().ok())
            .collect();
        if ticks.len() < 4 {
            continue;
        }
        parents.insert(pid, ppid);
        if f.first() == Some(&"Z") {
            zombies.insert(pid);
        }
        stats.insert(
            pid,
            (
                threads,
                rss * page,
                [ticks[0] + ticks[1], ticks[2] + ticks[3]],
            ),
        );
    }
    let mut tree = HashSet::from([root]);
    let mut grew = true;
    while grew {
        grew = false;
        for (&pid, &ppid) in &parents {
            if tree.contains(&ppid) && tree.insert(pid) {
                grew = true;
            }
        }
    }
    let mut s = TreeSample::default();
    let tick_ns = 1e9 / ticks_per_second();
    for pid in tree {
        if let Some(&(threads, rss, [own, reaped])) = stats.get(&pid) {
            if zombies.contains(&pid) {
                // no memory, threads or descriptors left; its CPU time stays until reaped
                s.zombies += 1;
                s.cpu_ns += ((own + reaped) as f64 * tick_ns) as u64;
                continue;
            }
            s.fds += fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count() as u64);
            s.threads += threads;
            // both from one read: a process that grows between two reads (a child exec'ing)
            // would otherwise show more PSS than RSS
            let (rss, pss) = rss_pss(pid).unwrap_or((rss, rss));
            s.rss += rss;
            s.pss += pss;
            s.cpu_ns += process_cpu_ns(pid, own, reaped, tick_ns);
            s.processes += 1;
        }
    }
    s
}

/// A live process's CPU time so far, ns: the kernel's clock of its whole thread group, ended
/// threads included, in ns (`clock_getcpuclockid`), and its `reaped` children's ticks. Where
/// that clock cannot be read: its live threads' (schedstat, ns) and the threads that ended (its
/// `own` ticks beyond its live threads' ticks). That estimate loses up to a tick (10 ms) for
/// every thread that ends between two samples (a thread's ticks are truncated, the process's
/// are not): 20 connections closing read as 100 ms less CPU than a moment before.
fn process_cpu_ns(pid: u32, own: u64, reaped: u64, tick_ns: f64) -> u64 {
    let clock = nix::time::clock_getcpuclockid(nix::unistd::Pid::from_raw(pid as i32))
        .and_then(nix::time::clock_gettime)
        .ok()
        .map(|t| t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64);
    let own_ns = match (clock, threads_time(pid)) {
        (Some(ns), _) => ns,
        // ended threads: the process's ticks beyond its live threads' ticks
        (None, Some((live_ns, live_ticks))) => {
            live_ns + (own.saturating_sub(live_ticks) as f64 * tick_ns) as u64
        }
        (None, None) => (own as f64 * tick_ns) as u64,
    };
    own_ns + (reaped as f64 * tick_ns) as u64
}

/// The pids of the tree rooted at `root` (the root and its descendants alive now).
pub fn tree_pids(root: u32) -> Vec<u32> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return vec![root];
    };
    let parents: HashMap<u32, u32> = dir
        .flatten()
        .filter_map(|e| {
            let pid = e.file_name().to_str()?.parse::<u32>().ok()?;
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let after = &stat[stat.rfind(')')? + 2..];
            Some((pid, after.split(' ').nth(1)?.parse().ok()?))
        })
        .collect();
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let p = tree[i];
        tree.extend(parents.iter().filter(|&(_, &pp)| pp == p).map(|(&c, _)| c));
        i += 1;
    }
    tree
}

/// The TCP ports the processes of `root`'s tree listen on (IPv4 and IPv6, sorted): a socket
/// in LISTEN state (`/proc/net/tcp*`) whose inode one of their descriptors holds. How a
/// server is known to be up without connecting to it, and where it listens if not where told.
pub fn listening_ports(root: u32) -> Vec<u16> {
    let mut inodes = HashSet::new();
    for pid in tree_pids(root) {
        let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(link) = fs::read_link(fd.path()) {
                if let Some(inode) = link
                    .to_str()
                    .and_then(|l| l.strip_prefix("socket:["))
                    .and_then(|l| l.strip_suffix(']'))
                    .and_then(|n| n.parse::<u64>().ok())
                {
                    inodes.insert(inode);
                }
            }
        }
    }
    let mut ports: Vec<u16> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|f| fs::read_to_string(f).ok())
        .flat_map(|table| {
            table
                .lines()
                .skip(1)
                .filter_map(|l| {
                    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
                    let f: Vec<&str> = l.split_whitespace().collect();
                    let port = u16::from_str_radix(f.get(1)?.rsplit(':').next()?, 16).ok()?;
                    let listening = *f.get(3)? == "0A";
                    let inode = f.get(9)?.parse::<u64>().ok()?;
                    (listening && inodes.contains(&inode)).then_some(port)
                })
                .collect::<Vec<_>>()
        })
        .collect();
    ports.sort_unstable();
    ports.dedup();
    ports
}

/// The live processes (zombies left out) whose environment holds `entry` (`NAME=value`)
/// exactly: a server's processes carry their own tag there, which a child that left its
/// process group or session (`setsid`), or whose parent exited, keeps. Only our own user's
/// processes can be read; others are not ours to find.
pub fn with_env_entry(entry: &str) -> Vec<u32> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let entry = entry.as_bytes();
    let me = std::process::id();
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me)
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|&b| b == 0).any(|kv| kv == entry))
        })
        .filter(|pid| {
            // a zombie is gone already (its parent, or PID 1, reaps it)
            fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|st| {
                st.rfind(')')
                    .and_then(|i| st.get(i + 2..i + 3))
                    .is_some_and(|state| state != "Z")
            })
        })
        .collect()
}

/// A process's command line, for a message (`None` once it is gone).
pub fn cmdline(pid: u32) -> Option<String> {
    let raw = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let line: Vec<String> = raw
        .split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    Some(line.join(" "))
}

/// The summed time on a CPU of a process's live threads: ns (`schedstat`'s first field), and
/// clock ticks (utime + stime of each thread's `stat`), for the same threads.
fn threads_time(pid: u32) -> Option<(u64, u64)> {
    let (mut ns, mut ticks) = (0, 0);
    for task in fs::read_dir(format!("/proc/{pid}/task")).ok()?.flatten() {
        let path = task.path();
        // a thread that ended since the listing counts no more (in neither sum)
        let (Ok(sched), Ok(stat)) = (
            fs::read_to_string(path.join("schedstat")),
            fs::read_to_string(path.join("stat")),
        ) else {
            continue;
        };
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
            continue;
        };
        let f: Vec<&str> = after.split(' ').collect();
        let (Some(u), Some(s)) = (
            f.get(11).and_then(|v| v.parse::<u64>().ok()),
            f.get(12).and_then(|v| v.parse::<u64>().ok()),
        ) else {
            continue;
        };
        ns += sched.split(' ').next()?.trim().parse::<u64>().ok()?;
        ticks += u + s;
    }
    Some((ns, ticks))
}

/// A process's RSS and PSS (`Rss:` and `Pss:` of one read of `/proc/PID/smaps_rollup`),
/// bytes.
fn rss_pss(pid: u32) -> Option<(u64, u64)> {
    let text = fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let kb: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix(name))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kb * 1024)
    };
    Some((field("Rss:")?, field("Pss:")?))
}

/// Clock ticks per second (`/proc/PID/stat`'s unit of CPU time).
pub fn ticks_per_second() -> f64 {
    rustix::param::clock_ticks_per_second() as f64
}

/// CPU time and context switches of every waited-for child so far (and their reaped children).
#[derive(Clone, Copy, Debug, Default)]
pub struct ChildUsage {
    /// User + system seconds.
    pub cpu_s: f64,
    /// Voluntary context switches.
    pub voluntary: u64,
    /// Involuntary context switches.
    pub involuntary: u64,
}

/// `getrusage(RUSAGE_CHILDREN)`.
pub fn children_usage() -> ChildUsage {
    use nix::sys::resource::{getrusage, UsageWho};
    match getrusage(UsageWho::RUSAGE_CHILDREN) {
        Ok(u) => {
            let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
            ChildUsage {
                cpu_s: secs(u.user_time()) + secs(u.system_time()),
                voluntary: u.voluntary_context_switches() as u64,
                involuntary: u.involuntary_context_switches() as u64,
            }
        }
        Err(_) => ChildUsage::default(),
    }
}

fn cpu_field_of(stat: &str, field: usize) -> Vec<u64> {
    cpu_lines(stat)
        .into_iter()
        .map(|v| v.get(field).copied().unwrap_or(0))
        .collect()
}

/// The `cpuN` lines' first eight numbers (user nice system idle iowait irq softirq steal),
/// indexed by N.
fn cpu_lines(stat: &str) -> Vec<Vec<u64>> {
    let mut out: Vec<Vec<u64>> = Vec::new();
    for line in stat.lines() {
        let Some(rest) = line
            .strip_prefix("cpu")
            .filter(|r| r.starts_with(|c: char| c.is_ascii_digit()))
        else {
            continue;
        };
        let mut f = rest.split_whitespace();
        let Some(Ok(cpu)) = f.next().map(str::parse::<usize>) else {
            continue;
        };
        let v: Vec<u64> = f.take(8).filter_map(|x| x.parse().ok()).collect();
        if v.len() < 8 {
            continue;
        }
        if out.len() <= cpu {
            out.resize(cpu + 1, Vec::new());
        }
        out[cpu] = v;
    }
    out
}

/// The CPU time of every process outside the tree rooted at `own` (and outside the kernel's
/// threads) so far, in clock ticks, with the CPUs each part may run on: a live thread's own
/// ticks with its affinity, and the rest of its process (ended threads, reaped children) with
/// the process's. Keyed by (pid, tid; 0 for the rest), to be subtracted from a later call's.
pub fn others_ticks(own: u32) -> HashMap<(u32, u32), (u64, Vec<usize>)> {
    let mut out = HashMap::new();
    let Ok(dir) = fs::read_dir("/proc") else {
        return out;
    };
    let mut procs: HashMap<u32, (u32, u64)> = HashMap::new();
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
            continue;
        };
        let f: Vec<&str> = after.split(' ').collect();
        let num = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        let ppid = num(1) as u32;
        procs.insert(pid, (ppid, num(11) + num(12) + num(13) + num(14)));
    }
    let mut mine = HashSet::from([own]);
    let mut grew = true;
    while grew {
        grew = false;
        for (&pid, &(ppid, _)) in &procs {
            if mine.contains(&ppid) && mine.insert(pid) {
                grew = true;
            }
        }
    }
    for (&pid, &(ppid, total)) in &procs {
        if mine.contains(&pid) || pid == 2 || ppid == 2 {
            continue;
        }
        let mut live = 0;
        if let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) {
            for t in tasks.flatten() {
                let Some(tid) = t.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                    continue;
                };
                let Ok(stat) = fs::read_to_string(t.path().join("stat")) else {
                    continue;
                };
                let Some(after) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
                    continue;
                };
                let f: Vec<&str> = after.split(' ').collect();
                let ticks: u64 = f[11..13.min(f.len())]
                    .iter()
                    .filter_map(|v| v.parse::<u64>().ok())
                    .sum();
                live += ticks;
                out.insert((pid, tid), (ticks, allowed_cpus(&t.path().join("status"))));
            }
        }
        let rest = total.saturating_sub(live);
        out.insert(
            (pid, 0),
            (
                rest,
                allowed_cpus(std::path::Path::new(&format!("/proc/{pid}/status"))),
            ),
        );
    }
    out
}

/// `Cpus_allowed_list` of a `status` file (`0-3,8`); empty if unreadable.
fn allowed_cpus(status: &std::path::Path) -> Vec<usize> {
    let text = fs::read_to_string(status).unwrap_or_default();
    let Some(list) = text
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
    else {
        return Vec::new();
    };
    cpu_list(list.trim())
}

/// A CPU list as the kernel writes it (`0-3,8`).
fn cpu_list(list: &str) -> Vec<usize> {
    let mut out = Vec::new();
    for part in list.split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<usize>(), b.parse::<usize>()) {
                    out.extend(a..=b);
                }
            }
            None => out.extend(part.parse::<usize>().ok()),
        }
    }
    out
}

/// Per-CPU steal time so far (what the hypervisor gave other machines), clock ticks.
pub fn cpu_steal_ticks() -> Vec<u64> {
    cpu_field_of(&fs::read_to_string("/proc/stat").unwrap_or_default(), 7)
}

/// CPU seconds (user + system, reaped children included) of a process we did not start.
pub fn process_cpu_s(pid: u32) -> Option<f64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let f: Vec<u64> = after
        .split(' ')
        .skip(11)
        .take(4)
        .filter_map(|v| v.parse().ok())
        .collect();
    (f.len() == 4).then(|| f.iter().sum::<u64>() as f64 / 100.0)
}

/// The machine, for the report.
pub fn machine() -> swarmlab_report::Machine {
    let read = |p: &str| fs::read_to_string(p).unwrap_or_default();
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")?
                .split(':')
                .nth(1)
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let memory_mib = read("/proc/meminfo")
        .lines()
        .find_map(|l| {
            l.strip_prefix("MemTotal:")?
                .trim()
                .trim_end_matches(" kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kb| kb / 1024);
    swarmlab_report::Machine {
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        cpu,
        kernel: read("/proc/sys/kernel/osrelease").trim().to_string(),
        memory_mib,
        swarmlab: env!("CARGO_PKG_VERSION").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_read_as_the_kernel_writes_them() {
        assert_eq!(cpu_list("0-3,8"), [0, 1, 2, 3, 8]);
        assert_eq!(cpu_list("1"), [1]);
        assert!(cpu_list("").is_empty());
    }

    #[test]
    fn cpu_lines_are_per_cpu_and_not_the_total_line() {
        let stat = "cpu  900 0 500 8000 10 0 30 7 0 0\n\
                    cpu0 400 0 200 4000 5 0 20 3 0 0\n\
                    cpu1 500 0 300 4000 5 0 10 4 0 0\n\
                    intr 12345\nctxt 999\n";
        assert_eq!(cpu_field_of(stat, 7), [3, 4]);
        assert_eq!(cpu_field_of(stat, 0), [400, 500]);
    }

    /// Spends `ns` of this thread's own CPU time (its clock: on a loaded machine that much
    /// wall time may be far less CPU).
    fn burn_thread_cpu(ns: u64) {
        let cpu = || {
            let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
            t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
        };
        let start = cpu();
        while cpu() - start < ns {
            std::hint::black_box(0u64);
        }
    }

    #[test]
    fn samples_our_own_tree() {
        let s = sample_tree(std::process::id());
        assert!(s.processes >= 1 && s.threads >= 1 && s.rss > 0, "{s:?}");
        assert!(s.pss > 0 && s.pss <= s.rss + 4096, "{s:?}");
        // Burn 30 ms of this thread's CPU time (its own clock: on a loaded machine 30 ms of
        // wall time may be far less CPU). The tree's figure counts it, give or take the tick
        // by which a running thread's schedstat lags (10 ms at HZ=100): 20 ms of it at least.
        burn_thread_cpu(30_000_000);
        let later = sample_tree(std::process::id());
        assert!(
            later.cpu_ns >= s.cpu_ns + 20_000_000,
            "{s:?} then {later:?}"
        );
        assert!(machine().cores >= 1);
    }

    #[test]
    fn threads_that_ended_still_count() {
        // a thread per connection: its CPU time must not leave the figure with the thread
        let before = sample_tree(std::process::id());
        std::thread::spawn(|| burn_thread_cpu(60_000_000))
            .join()
            .unwrap();
        let after = sample_tree(std::process::id());
        // 60 ms burnt; ticks of 10 ms: 40 ms of it at least
        assert!(
            after.cpu_ns >= before.cpu_ns + 40_000_000,
            "{before:?} then {after:?}"
        );
    }
}
