//! `thread`: a thread per connection (Stevens ch. 30, row 6).
//!
//! The main thread accepts; each connection gets its own thread with a small stack running the
//! blocking loop. Any number of requests run at once, one per thread, and `/sleep` blocks only
//! its own thread. Failure mode: memory and scheduler cost grow with the number of clients, and
//! `pthread_create` fails at the thread limits (pid_max, RLIMIT_NPROC); then that connection is
//! closed, logged, and the server goes on. Before that, each thread's stack, guard page and
//! signal stack take about four memory mappings, and the kernel allows `vm.max_map_count`
//! (65,530 by default) per process: past about 16,000 threads the runtime cannot set up a new
//! thread and aborts the whole process; and every thread takes a pid, of which the machine
//! may have 32,768 in all (`kernel.pid_max`). So the server stops accepting at a cap below
//! both (half the room for new tasks it finds at its start, as `fork`), or `--max-threads`:
//! new clients wait in the listen backlog, and are served as threads end; it says so once.

use std::io;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::blocking::{accept, drain, serve_conn, STACK};
use crate::log::warn_limited;
use crate::{Config, Stop};

/// Accepts until shutdown, spawning a thread per connection; then waits (bounded) for them.
pub fn serve(listener: TcpListener, cfg: &Config, stop: &Stop) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let active = Arc::new(AtomicUsize::new(0));
    let (by_maps, maps) = thread_cap();
    // every thread takes a pid too: half the room for new tasks, as `fork` keeps
    let (room, bound) = crate::sys::task_room();
    let most = by_maps.min((room / 2).max(1));
    let cap = cfg.max_threads.map_or(most, |n| n.min(most));
    loop {
        if active.load(Ordering::SeqCst) >= cap {
            if cap < most {
                warn_limited!("thread: {cap} connection threads (--max-threads); new connections wait in the backlog");
            } else if most == by_maps {
                warn_limited!(
                    "thread: {cap} connection threads, the most vm.max_map_count ({maps}) allows; new connections wait in the backlog"
                );
            } else {
                warn_limited!(
                    "thread: {cap} connection threads, half the room {bound} left at the start; new connections wait in the backlog"
                );
            }
            // (wakes for shutdown at once)
            let _ = crate::sys::wait_readable(
                &[stop.fd()],
                Some(std::time::Instant::now() + std::time::Duration::from_millis(10)),
            );
            if stop.is_set() {
                break;
            }
            continue;
        }
        let Some(stream) = accept(&listener, stop)? else {
            break;
        };
        let (cfg, stop) = (cfg.clone(), stop.clone());
        let active2 = Arc::clone(&active);
        active.fetch_add(1, Ordering::SeqCst);
        let spawned = std::thread::Builder::new()
            .stack_size(STACK)
            .spawn(move || {
                serve_conn(stream, &cfg, &stop, None);
                active2.fetch_sub(1, Ordering::SeqCst);
            });
        if let Err(e) = spawned {
            active.fetch_sub(1, Ordering::SeqCst);
            warn_limited!("thread: cannot spawn a connection thread ({e}); closed that connection");
        }
    }
    drop(listener);
    drain(&active, cfg.drain_timeout);
    Ok(())
}

/// The most connection threads this process can hold, and the map limit it comes from: four
/// mappings a thread, less the mappings the process has besides.
fn thread_cap() -> (usize, usize) {
    let maps = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .unwrap_or(65_530);
    let used = std::fs::read_to_string("/proc/self/maps").map_or(1000, |m| m.lines().count());
    (maps.saturating_sub(used + 1000) / 4, maps)
}
