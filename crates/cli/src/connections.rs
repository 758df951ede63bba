//! How many connections a run can hold on this machine, and what it takes: the engine's
//! processes for more users than one process has descriptors for, local source addresses for
//! more than one address has ports, and the lines that say so beforehand (`swarm`, `compare`).

/// Local addresses for `connections` connections: one per 10,000 (a loopback address has
/// about 28,000 ephemeral ports per destination, and a connect searches that range for a
/// free port: at 25,000 per address the generator spent most of its time in the kernel
/// finding one; `compare -u 100000 -r 10000` against `procs` made 21,600 req/s over 4
/// addresses and 57,000 over 10); none (the kernel picks) up to 10,000.
pub fn loopback_sources(connections: usize) -> Vec<std::net::IpAddr> {
    if connections <= PER_SOURCE {
        return Vec::new();
    }
    (1..=connections.div_ceil(PER_SOURCE).min(250) as u8)
        .map(|n| std::net::Ipv4Addr::new(127, 0, 0, n).into())
        .collect()
}

/// Connections per loopback source address (see [`loopback_sources`]).
pub const PER_SOURCE: usize = 10_000;

/// The static path's processes of the engine for `users` users on `threads` threads: as many
/// as `asked` (`--processes`), else as many as one process's descriptor limit needs (none when
/// one process holds them all).
pub fn engine_processes(
    users: usize,
    threads: usize,
    asked: Option<u16>,
) -> Option<swarmlab_swarm::processes::Processes> {
    use swarmlab_swarm::processes::{self, Processes};
    let count = match asked {
        Some(n) => usize::from(n),
        None => {
            let per = processes::users_per_process(processes::descriptor_limit()?, threads);
            if users <= per {
                return None;
            }
            users.div_ceil(per)
        }
    };
    Some(Processes {
        count,
        program: std::env::current_exe().ok()?,
        args: vec![processes::PROCESS_ARG.into()],
    })
}

/// Local ports for one destination per source address (`net.ipv4.ip_local_port_range`).
fn local_ports() -> usize {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| {
            let mut it = s.split_whitespace().map(|n| n.parse::<usize>().ok());
            Some(it.next()??.abs_diff(it.next()??) + 1)
        })
        .unwrap_or(28_232)
}

/// What will stop `users` connections before the server does: a process's descriptors (more
/// users than its processes may hold) and the local ports to one destination (more than the
/// source addresses have), each one line saying what to give.
pub fn limits(users: usize, plan: &swarmlab_swarm::Plan) -> Vec<String> {
    use swarmlab_swarm::processes;
    let mut lines = Vec::new();
    if users == 0 {
        return lines;
    }
    if let Some(limit) = processes::descriptor_limit() {
        let count = plan.processes.as_ref().map_or(1, |p| p.count);
        let threads = plan
            .processes
            .as_ref()
            .map_or(plan.threads, |p| p.threads_each(plan.threads));
        let per = processes::users_per_process(limit, threads);
        if users > per * count {
            lines.push(format!(
                "{users} users in {count} process(es) of at most {per} connections each (a process may open {limit} files here): the rest will fail with 'Too many open files'; give --processes {} or more",
                users.div_ceil(per)
            ));
        }
    }
    let ports = local_ports();
    let sources = plan.source_addrs.len().max(1);
    if users > ports * sources {
        // a connect searches the range for a free port: a crowded range costs the generator
        // most of its time (see [`loopback_sources`])
        let need = users.div_ceil(PER_SOURCE);
        lines.push(format!(
            "{users} users to one address need as many local ports, and {} has {ports} (net.ipv4.ip_local_port_range): give --source-addrs with {need} addresses, 10,000 users each (on loopback: --source-addrs 127.0.0.1-127.0.0.{need})",
            if sources == 1 { "one source address".to_string() } else { format!("each of {sources} source addresses") }
        ));
    }
    lines
}
