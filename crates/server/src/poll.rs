//! `poll`: one thread, non-blocking sockets, a `poll(2)` readiness loop.
//!
//! The shared [`readiness`](crate::readiness) loop owns every connection; this file is only the
//! selector. Unlike `select` there is no fd-number limit and the interest array is kept between
//! calls (only `revents` is written by the kernel), but the kernel still walks the whole array
//! on every call: O(connections) per wakeup, about 80 ns per fd here, which is the model's known
//! cost at thousands of mostly idle clients.

use std::io;
use std::net::TcpListener;
use std::os::fd::RawFd;
use std::time::Duration;

use rustix::event::{PollFd, PollFlags};

use crate::readiness::{Event, Interest, Loop, Selector};
use crate::sys::{borrow_fd, timespec};
use crate::{Config, Stop};

/// Serves every connection from one `poll(2)` loop until shutdown.
pub fn serve(listener: TcpListener, cfg: &Config, stop: &Stop) -> io::Result<()> {
    Loop::new(PollSelector::default(), cfg).run(listener, stop)
}

/// The `pollfd` array (kept between calls: the kernel writes only `revents`), and where each
/// fd sits in it.
#[derive(Default)]
struct PollSelector {
    pollfds: Vec<PollFd<'static>>,
    fds: Vec<RawFd>,
    slot: Vec<Option<usize>>,
}

fn flags(interest: Interest) -> PollFlags {
    match interest {
        Interest::None => PollFlags::empty(),
        Interest::Hangup => PollFlags::RDHUP,
        Interest::Read => PollFlags::IN,
        Interest::Write => PollFlags::OUT,
    }
}

impl Selector for PollSelector {
    fn set(&mut self, fd: RawFd, interest: Interest) -> io::Result<()> {
        let i = fd as usize;
        if self.slot.len() <= i {
            self.slot.resize(i + 1, None);
        }
        let entry = PollFd::from_borrowed_fd(borrow_fd(fd), flags(interest));
        match self.slot[i] {
            Some(at) => self.pollfds[at] = entry,
            None => {
                self.slot[i] = Some(self.pollfds.len());
                self.pollfds.push(entry);
                self.fds.push(fd);
            }
        }
        Ok(())
    }

    fn remove(&mut self, fd: RawFd) {
        let Some(at) = self.slot.get_mut(fd as usize).and_then(Option::take) else {
            return;
        };
        self.pollfds.swap_remove(at);
        self.fds.swap_remove(at);
        if let Some(&moved) = self.fds.get(at) {
            self.slot[moved as usize] = Some(at);
        }
    }

    fn wait(&mut self, timeout: Option<Duration>, events: &mut Vec<Event>) -> io::Result<()> {
        let timeout = timeout.map(timespec);
        match rustix::event::poll(&mut self.pollfds, timeout.as_ref()) {
            Ok(0) | Err(rustix::io::Errno::INTR) => return Ok(()),
            Ok(_) => {}
            Err(e) => return Err(e.into()),
        }
        for (p, &fd) in self.pollfds.iter().zip(&self.fds) {
            let r = p.revents();
            if r.is_empty() {
                continue;
            }
            let hangup = r.intersects(PollFlags::HUP | PollFlags::ERR | PollFlags::RDHUP);
            events.push(Event {
                fd,
                readable: r.contains(PollFlags::IN) || hangup,
                hangup,
                writable: r.contains(PollFlags::OUT) || hangup,
            });
        }
        Ok(())
    }
}
