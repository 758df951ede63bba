//! `epoll`: N event loops (one thread each, `--workers`, default the cores), each with its own
//! epoll instance over its own connections, all sharing one listener.
//!
//! Every loop is the shared [`readiness`](crate::readiness) loop; this file is the selector.
//! epoll keeps the interest set in the kernel, so a wakeup costs O(ready) instead of
//! O(connections), and an unchanged interest costs no syscall (the selector remembers what it
//! registered). The loops share the listener with `EPOLLEXCLUSIVE` (Linux 4.5) so a new
//! connection wakes one loop, not all of them (the thundering herd). Chosen over one
//! `SO_REUSEPORT` listener per loop because it needs no change to how every model binds (and
//! `SO_REUSEPORT` would let a second server silently share the port). How connections spread:
//! with several loops each accepts one connection per wakeup (nginx's `multi_accept off`), so
//! 400 connections waiting at once end up 25 % per loop of 4 (a batch of 64 per wakeup left
//! one loop 4 to 8 %); the skew that remains is the kernel's (it wakes the most recently
//! waiting loop first), and a loop that gets more CPU takes more connections.
//! Level-triggered, so the shared loop's read-once-per-event logic stays correct.
//! Failure mode: one slow request (`/cpu`) blocks every connection of its loop.

use std::io;
use std::net::TcpListener;
use std::os::fd::{OwnedFd, RawFd};
use std::time::Duration;

use rustix::event::epoll;

use crate::readiness::{Event, Interest, Loop, Selector};
use crate::sys::{borrow_fd, timespec};
use crate::{Config, Stop};

/// Runs `cfg.workers` epoll loops over one listener until shutdown.
pub fn serve(listener: TcpListener, cfg: &Config, stop: &Stop) -> io::Result<()> {
    let stop = stop.clone();
    crate::on_workers("epoll", listener, cfg, move |listener, cfg| {
        Loop::new(EpollSelector::new()?, &cfg)
            .sharing(cfg.workers)
            .run(listener.try_clone()?, &stop)
    })
}

/// One epoll instance and what is registered in it.
pub(crate) struct EpollSelector {
    epfd: OwnedFd,
    registered: Vec<Option<Interest>>,
    buf: Vec<epoll::Event>,
}

impl EpollSelector {
    pub(crate) fn new() -> io::Result<EpollSelector> {
        Ok(EpollSelector {
            epfd: epoll::create(epoll::CreateFlags::CLOEXEC)?,
            registered: Vec::new(),
            buf: Vec::with_capacity(1024),
        })
    }
}

fn flags(interest: Interest) -> epoll::EventFlags {
    match interest {
        Interest::None => epoll::EventFlags::empty(),
        Interest::Hangup => epoll::EventFlags::RDHUP,
        Interest::Read => epoll::EventFlags::IN | epoll::EventFlags::RDHUP,
        Interest::Write => epoll::EventFlags::OUT,
    }
}

impl Selector for EpollSelector {
    fn set(&mut self, fd: RawFd, interest: Interest) -> io::Result<()> {
        let i = fd as usize;
        if self.registered.len() <= i {
            self.registered.resize(i + 1, None);
        }
        let data = epoll::EventData::new_u64(fd as u64);
        match self.registered[i] {
            Some(old) if old == interest => return Ok(()),
            Some(_) => epoll::modify(&self.epfd, borrow_fd(fd), data, flags(interest))?,
            None => epoll::add(&self.epfd, borrow_fd(fd), data, flags(interest))?,
        }
        self.registered[i] = Some(interest);
        Ok(())
    }

    fn set_listener(&mut self, fd: RawFd) -> io::Result<()> {
        let data = epoll::EventData::new_u64(fd as u64);
        epoll::add(
            &self.epfd,
            borrow_fd(fd),
            data,
            epoll::EventFlags::IN | epoll::EventFlags::EXCLUSIVE,
        )?;
        if self.registered.len() <= fd as usize {
            self.registered.resize(fd as usize + 1, None);
        }
        // Recorded so that `remove` deletes it at shutdown; never modified (EXCLUSIVE forbids it).
        self.registered[fd as usize] = Some(Interest::Read);
        Ok(())
    }

    fn remove(&mut self, fd: RawFd) {
        if let Some(slot) = self.registered.get_mut(fd as usize) {
            if slot.take().is_some() {
                let _ = epoll::delete(&self.epfd, borrow_fd(fd));
            }
        }
    }

    fn wait(&mut self, timeout: Option<Duration>, events: &mut Vec<Event>) -> io::Result<()> {
        self.buf.clear();
        let timeout = timeout.map(timespec);
        match epoll::wait(
            &self.epfd,
            rustix::buffer::spare_capacity(&mut self.buf),
            timeout.as_ref(),
        ) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
        for ev in &self.buf {
            // `epoll_event` is packed on x86-64: copy the fields out before using them.
            let (flags, data) = (ev.flags, ev.data);
            let hangup = flags.intersects(
                epoll::EventFlags::HUP | epoll::EventFlags::ERR | epoll::EventFlags::RDHUP,
            );
            events.push(Event {
                fd: data.u64() as RawFd,
                readable: flags.contains(epoll::EventFlags::IN) || hangup,
                hangup,
                writable: flags.contains(epoll::EventFlags::OUT) || hangup,
            });
        }
        Ok(())
    }
}
