//! The engine's one need of `unsafe`: child processes (user code's Python) that die with
//! swarmlab.

use std::os::unix::process::CommandExt;
use std::process::Command;

/// Makes the process `command` starts get SIGKILL when the thread that started it ends, as it
/// does when swarmlab itself ends: a SIGINT or SIGTERM to swarmlab alone (a supervisor's) left
/// a `python3 ... --describe` of a locustfile that loops at import running under PID 1.
pub fn die_with_parent(command: &mut Command) {
    // SAFETY: between fork and exec the closure only calls prctl(2), which is
    // async-signal-safe, and allocates nothing.
    unsafe {
        command.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
                .map_err(std::io::Error::from)
        });
    }
}

/// What the engine's processes used, from the kernel's accounting as each was reaped.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Usage {
    /// CPU time, user + system.
    pub cpu: std::time::Duration,
    /// Voluntary context switches.
    pub voluntary_switches: u64,
    /// Involuntary context switches.
    pub involuntary_switches: u64,
}
