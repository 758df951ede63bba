//! `select`: one thread, non-blocking sockets, a `select(2)` readiness loop (Stevens ch. 6,
//! the classic single-process concurrent server).
//!
//! The shared [`readiness`](crate::readiness) loop owns every connection; this file is only the
//! selector. The interest sets are rebuilt before every call because `select` overwrites them,
//! and the kernel scans every fd up to the highest: O(max fd) per wakeup, which is the model's
//! known cost at thousands of clients. glibc's `fd_set` holds only fds below `FD_SETSIZE`
//! (1024) and `FD_SET` past it is undefined behaviour; the sets here are sized for the highest
//! fd in use (rustix's unbounded sets), so the model serves 10,000 clients, slowly, instead of
//! crashing or refusing them.

use std::io;
use std::net::TcpListener;
use std::os::fd::RawFd;
use std::time::Duration;

use rustix::event::FdSetIter;

use crate::readiness::{Event, Interest, Loop, Selector};
use crate::sys::FdSets;
use crate::{Config, Stop};

/// Serves every connection from one `select(2)` loop until shutdown.
pub fn serve(listener: TcpListener, cfg: &Config, stop: &Stop) -> io::Result<()> {
    Loop::new(SelectSelector::default(), cfg).run(listener, stop)
}

/// Interests by fd, turned into fresh `fd_set`s before every wait.
#[derive(Default)]
struct SelectSelector {
    interest: Vec<Interest>,
    sets: FdSets,
}

impl Selector for SelectSelector {
    fn set(&mut self, fd: RawFd, interest: Interest) -> io::Result<()> {
        let i = fd as usize;
        if self.interest.len() <= i {
            self.interest.resize(i + 1, Interest::None);
        }
        self.interest[i] = interest;
        Ok(())
    }

    fn remove(&mut self, fd: RawFd) {
        if let Some(slot) = self.interest.get_mut(fd as usize) {
            *slot = Interest::None;
        }
        while self.interest.last() == Some(&Interest::None) {
            self.interest.pop();
        }
    }

    fn wait(&mut self, timeout: Option<Duration>, events: &mut Vec<Event>) -> io::Result<()> {
        let nfds = self.interest.len() as RawFd;
        self.sets.reset(nfds);
        for (fd, interest) in self.interest.iter().enumerate() {
            match interest {
                // select(2) reports a close only as readability, which pipelined input also
                // gives: a `/sleep` reply is kept for a client that left, as before (the loop is
                // not blocked by it: other clients go on)
                Interest::None | Interest::Hangup => {}
                Interest::Read => rustix::event::fd_set_insert(&mut self.sets.read, fd as RawFd),
                Interest::Write => rustix::event::fd_set_insert(&mut self.sets.write, fd as RawFd),
            }
        }
        if self.sets.select(nfds, timeout)? == 0 {
            return Ok(());
        }
        for fd in FdSetIter::new(&self.sets.read) {
            events.push(Event {
                fd,
                readable: true,
                writable: false,
                hangup: false,
            });
        }
        for fd in FdSetIter::new(&self.sets.write) {
            events.push(Event {
                fd,
                readable: false,
                writable: true,
                hangup: false,
            });
        }
        Ok(())
    }
}
