//! Everything that needs `unsafe`, or talks to the kernel below std: fork, select with
//! caller-sized fd sets, waiting on a few fds with a deadline, the fd limit.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, RawFd};
use std::time::{Duration, Instant};

use rustix::event::{FdSetElement, PollFd, PollFlags, Timespec};

/// Which side of `fork` we are on.
pub enum Forked {
    /// The parent, with the child's pid.
    Parent(nix::unistd::Pid),
    /// The child.
    Child,
}

/// `fork(2)`. Fails with an error if this process has more than one thread, because the child
/// of a multithreaded process may only call async-signal-safe functions, and a server child
/// allocates.
pub fn fork() -> io::Result<Forked> {
    if thread_count() != Some(1) {
        return Err(io::Error::other("fork needs a single-threaded process"));
    }
    // SAFETY: the process has exactly one thread (checked just above, and no thread of ours
    // can be created between the check and the fork), so the child is a full copy of a
    // single-threaded process and may call anything, allocation included.
    match unsafe { nix::unistd::fork() }.map_err(io::Error::from)? {
        nix::unistd::ForkResult::Parent { child } => Ok(Forked::Parent(child)),
        nix::unistd::ForkResult::Child => Ok(Forked::Child),
    }
}

/// In a forked child: asks for SIGTERM when the parent dies (`PR_SET_PDEATHSIG`). Fails if the
/// parent (`parent`, its pid before the fork) is already gone.
pub fn die_with_parent(parent: nix::unistd::Pid) -> io::Result<()> {
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM)?;
    if nix::unistd::getppid() != parent {
        return Err(io::Error::other(
            "the parent exited before the child started",
        ));
    }
    Ok(())
}

/// Ends a forked child without running the parent's exit handlers or flushing its buffers.
pub fn exit_child(code: i32) -> ! {
    // SAFETY: `_exit` takes no pointers and never returns; skipping exit handlers is the point.
    unsafe { libc::_exit(code) }
}

/// The number of threads in this process, from `/proc/self/status`.
pub fn thread_count() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:")?.trim().parse().ok())
}

/// How many more processes and threads the machine and this user can start now, and what
/// bounds it: the least of `RLIMIT_NPROC` (this user's tasks), `kernel.pid_max` and
/// `kernel.threads-max` (every thread takes a pid too), less the tasks that exist
/// (`/proc/loadavg`'s count, all users'; for `RLIMIT_NPROC` an over-count, which errs low).
/// A server that spends all of it leaves the machine unable to start a shell.
pub fn task_room() -> (usize, &'static str) {
    use rustix::process::{getrlimit, Resource};
    let read = |path: &str| {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
    };
    let nproc = getrlimit(Resource::Nproc).current.unwrap_or(u64::MAX);
    let limits = [
        (nproc, "RLIMIT_NPROC"),
        (
            read("/proc/sys/kernel/pid_max").unwrap_or(32_768),
            "kernel.pid_max",
        ),
        (
            read("/proc/sys/kernel/threads-max").unwrap_or(u64::MAX),
            "kernel.threads-max",
        ),
    ];
    let (most, why) = limits
        .into_iter()
        .min_by_key(|l| l.0)
        .expect("three limits");
    let tasks = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| {
            l.split_whitespace()
                .nth(3)?
                .split('/')
                .nth(1)?
                .parse::<u64>()
                .ok()
        })
        .unwrap_or(0);
    (
        most.saturating_sub(tasks).min(usize::MAX as u64) as usize,
        why,
    )
}

/// The soft `RLIMIT_NOFILE` this process had before [`raise_fd_limit`] (`None` inside: no
/// limit): what a program the user runs would get, and what `check` gives their server.
pub static ORIGINAL_NOFILE: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();

/// Sets the soft `RLIMIT_NOFILE` of the program `cmd` will run back to what this process had
/// before [`raise_fd_limit`] (the hard limit stays): the user's server meets the limit it
/// would meet when they run it themselves.
pub fn original_fd_limit_on_exec(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    let Some(&Some(soft)) = ORIGINAL_NOFILE.get() else {
        return;
    };
    // SAFETY: the closure runs between fork and exec and only calls setrlimit(2), which is
    // async-signal-safe; it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
            let _ = rustix::process::setrlimit(
                rustix::process::Resource::Nofile,
                rustix::process::Rlimit {
                    current: Some(soft),
                    maximum: limit.maximum,
                },
            );
            Ok(())
        });
    }
}

/// Raises `RLIMIT_NOFILE` as far as this process may: 100,000 clients need 100,000 fds on
/// each side. A privileged process lifts the hard limit too, up to `fs.nr_open`; any other
/// raises the soft limit to the hard one. Returns the soft limit now.
pub fn raise_fd_limit() -> u64 {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    let _ = ORIGINAL_NOFILE.set(limit.current);
    let nr_open = std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(0)
        .min(1 << 20);
    if limit.maximum.is_some_and(|max| max < nr_open) {
        let wanted = Rlimit {
            current: Some(nr_open),
            maximum: Some(nr_open),
        };
        if setrlimit(Resource::Nofile, wanted).is_ok() {
            return nr_open;
        }
    }
    if limit.current < limit.maximum {
        let raised = Rlimit {
            current: limit.maximum,
            ..limit
        };
        let _ = setrlimit(Resource::Nofile, raised);
    }
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

/// Waits until one of `fds` is readable (or hung up), or until `deadline`. Returns the index
/// of the first ready fd in `fds`' order, so callers put what matters most first; `None` means
/// the deadline passed.
pub fn wait_readable(
    fds: &[BorrowedFd<'_>],
    deadline: Option<Instant>,
) -> io::Result<Option<usize>> {
    const MAX: usize = 4;
    assert!(fds.len() <= MAX, "wait_readable takes at most {MAX} fds");
    loop {
        let timeout = deadline.map(|d| timespec(d.saturating_duration_since(Instant::now())));
        let mut polled: [PollFd<'_>; MAX] = std::array::from_fn(|i| match fds.get(i) {
            Some(fd) => PollFd::new(fd, PollFlags::IN),
            None => PollFd::new(&fds[0], PollFlags::empty()),
        });
        match rustix::event::poll(&mut polled[..fds.len()], timeout.as_ref()) {
            Ok(0) => return Ok(None),
            Ok(_) => return Ok(polled.iter().position(|p| !p.revents().is_empty())),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// What ended a [`wait_stop_or_hangup`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Woken {
    /// The deadline passed.
    Deadline,
    /// The stop signal.
    Stop,
    /// The peer closed its side of `conn` (`POLLRDHUP`), or the connection failed.
    Hangup,
}

/// Waits until `deadline` (forever if `None`), the `stop` fd is readable, or the peer closes
/// its side of `conn`: a blocked `/sleep` that a client leaves ends early. Input that arrives
/// meanwhile does not wake it (it waits in the socket for the next read).
pub fn wait_stop_or_hangup(
    stop: Option<BorrowedFd<'_>>,
    conn: BorrowedFd<'_>,
    deadline: Option<Instant>,
) -> io::Result<Woken> {
    loop {
        let timeout = deadline.map(|d| timespec(d.saturating_duration_since(Instant::now())));
        let mut polled = [
            PollFd::new(&conn, PollFlags::RDHUP),
            PollFd::new(stop.as_ref().unwrap_or(&conn), PollFlags::IN),
        ];
        let n = if stop.is_some() { 2 } else { 1 };
        match rustix::event::poll(&mut polled[..n], timeout.as_ref()) {
            Ok(0) => return Ok(Woken::Deadline),
            Ok(_) if n == 2 && !polled[1].revents().is_empty() => return Ok(Woken::Stop),
            Ok(_) => return Ok(Woken::Hangup),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Waits until `fd` is writable (or in error), or until `deadline`. Returns whether it is.
pub fn wait_writable(fd: BorrowedFd<'_>, deadline: Option<Instant>) -> io::Result<bool> {
    loop {
        let timeout = deadline.map(|d| timespec(d.saturating_duration_since(Instant::now())));
        let mut polled = [PollFd::new(&fd, PollFlags::OUT)];
        match rustix::event::poll(&mut polled, timeout.as_ref()) {
            Ok(n) => return Ok(n > 0),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Writes what the socket takes now, without blocking (`MSG_DONTWAIT`) and without `SIGPIPE`
/// (`MSG_NOSIGNAL`), even on a blocking socket: `WouldBlock` when it takes nothing.
pub fn send_now(fd: BorrowedFd<'_>, data: &[u8]) -> io::Result<usize> {
    use rustix::net::SendFlags;
    Ok(rustix::net::send(
        fd,
        data,
        SendFlags::DONTWAIT | SendFlags::NOSIGNAL,
    )?)
}

/// Whether `fd` is readable right now (for a listener: a connection is waiting).
pub fn readable_now(fd: impl AsFd) -> bool {
    let mut fds = [PollFd::new(&fd, PollFlags::IN)];
    matches!(rustix::event::poll(&mut fds, Some(&timespec(Duration::ZERO))), Ok(n) if n > 0)
}

/// A `Timespec` for a duration.
pub fn timespec(d: Duration) -> Timespec {
    Timespec {
        tv_sec: d.as_secs() as i64,
        tv_nsec: i64::from(d.subsec_nanos()),
    }
}

/// Read and write interest sets for `select(2)`, sized for any fd (no `FD_SETSIZE` cap:
/// glibc's fixed `fd_set` would be overrun past fd 1023, which is undefined behaviour).
#[derive(Default)]
pub struct FdSets {
    /// Fds to watch for reading.
    pub read: Vec<FdSetElement>,
    /// Fds to watch for writing.
    pub write: Vec<FdSetElement>,
}

impl FdSets {
    /// Empties both sets and sizes them for fds below `nfds`.
    pub fn reset(&mut self, nfds: RawFd) {
        let n = rustix::event::fd_set_num_elements(0, nfds).max(1);
        for set in [&mut self.read, &mut self.write] {
            set.clear();
            set.resize(n, FdSetElement::default());
        }
    }

    /// `select(2)` over fds below `nfds`; on return the sets hold the ready fds.
    ///
    /// The caller must have inserted only fds it owns and keeps open for the call.
    pub fn select(&mut self, nfds: RawFd, timeout: Option<Duration>) -> io::Result<usize> {
        let timeout = timeout.map(timespec);
        // SAFETY: both sets were sized by `reset(nfds)` for every fd below `nfds`, and the
        // fds in them are open sockets owned by the caller for the duration of the call
        // (the readiness loop only inserts fds of streams it holds).
        let n = unsafe {
            rustix::event::select(
                nfds,
                Some(&mut self.read),
                Some(&mut self.write),
                None,
                timeout.as_ref(),
            )
        };
        match n {
            Ok(n) => Ok(n as usize),
            Err(rustix::io::Errno::INTR) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }
}

/// Borrows a raw fd that the caller owns and keeps open while the borrow lives.
pub fn borrow_fd<'a>(fd: RawFd) -> BorrowedFd<'a> {
    // SAFETY: two callers. The readiness selectors, for fds of streams and listeners that the
    // readiness loop owns; a selector removes an fd before its stream is dropped, and the
    // borrows live only for one wait call. And `inherited_listener`, for an fd it has just
    // checked is open and that nothing else in the process refers to, while it inspects it.
    unsafe { BorrowedFd::borrow_raw(fd) }
}

/// The stop signal's fd, registered with the current tokio runtime (readable once shutdown
/// began). The `AsyncFd` owns a clone of `stop`.
pub fn async_stop_fd(stop: &crate::Stop) -> io::Result<tokio::io::unix::AsyncFd<crate::Stop>> {
    // SAFETY: the registered fd is the stop pipe's read end, owned by the `Stop` clone that
    // the `AsyncFd` itself holds: it stays open, and the same fd, for the whole life of the
    // registration, and nothing else closes it (`Stop` never closes or replaces its pipe).
    let registered = unsafe {
        tokio::io::unix::AsyncFd::register_with_interest(
            stop.clone(),
            tokio::io::Interest::READABLE,
        )
    };
    Ok(registered?)
}

/// Takes the listening TCP socket this process inherited as `fd` (inetd's `wait` mode, systemd's
/// socket activation, or `compare`, which binds the address itself and hands the socket to the
/// server it starts). Fails, without taking it, unless `fd` is open and a listening TCP socket.
pub fn inherited_listener(fd: RawFd) -> io::Result<std::net::TcpListener> {
    use std::os::fd::{FromRawFd, OwnedFd};
    // SAFETY: fcntl(F_GETFD) only asks whether the descriptor is open; it touches no memory.
    if fd < 0 || unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
        return Err(io::Error::other(format!(
            "descriptor {fd} is not open (nothing was passed on it)"
        )));
    }
    let borrowed = borrow_fd(fd);
    let sock = socket2::SockRef::from(&borrowed);
    let tcp = matches!(
        sock.domain(),
        Ok(socket2::Domain::IPV4 | socket2::Domain::IPV6)
    ) && sock.r#type().is_ok_and(|t| t == socket2::Type::STREAM);
    if !tcp || !sock.is_listener().unwrap_or(false) {
        return Err(io::Error::other(format!(
            "descriptor {fd} is not a listening TCP socket"
        )));
    }
    // SAFETY: the descriptor is open (checked above) and was handed to this process to own:
    // it is taken once, at start, and nothing else in the process refers to it.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    Ok(owned.into())
}

/// Makes the process `command` starts run on `cpus` from its first instruction, so every
/// thread and process it starts inherits them (`compare` pins each server this way).
pub fn pin_on_exec(command: &mut std::process::Command, cpus: &[usize]) -> io::Result<()> {
    let mut set = nix::sched::CpuSet::new();
    for &c in cpus {
        set.set(c)
            .map_err(|_| io::Error::other(format!("CPU {c} is out of range")))?;
    }
    // SAFETY: the closure runs in the child between fork and exec, where only
    // async-signal-safe work is allowed: it makes one system call (sched_setaffinity) on a
    // CpuSet copied in before the fork, and allocates nothing.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(command, move || {
            nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)
                .map_err(io::Error::from)
        });
    }
    Ok(())
}
