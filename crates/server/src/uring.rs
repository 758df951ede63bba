//! `uring`: N completion loops (one thread and one io_uring each, `--workers`, default the
//! cores) sharing the listener.
//!
//! Instead of asking "what is ready?" and then making a syscall per read and write, each loop
//! queues the operations themselves (a multishot accept, a recv per idle connection, a send per
//! response) and collects their completions, many per `io_uring_enter`. Responses come from the
//! same [`Conn`]; timers (`/sleep`, deadlines, lingering closes) are a heap whose earliest entry
//! bounds the wait. Buffers are per connection (16 KiB) and stay put while the kernel owns them.
//! A connection is closed by `shutdown(2)`, which completes its pending recv; the fd is dropped
//! only when no operation refers to it. Where io_uring is unavailable (old kernel,
//! `kernel.io_uring_disabled`, seccomp) [`available`] says why and `serve` refuses to start.
//! Failure mode: one slow request blocks its loop, as with epoll. Not done yet: recv with a
//! provided-buffer ring (one shared pool instead of a buffer per connection).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Instant;

use io_uring::{cqueue, opcode, squeue, types, IoUring};
use swarmlab_http::{Conn, Progress};

use crate::blocking::{LINGER, READ_CHUNK};
use crate::log::warn_limited;
use crate::{Config, Stop};

const ACCEPT: u64 = 1;
const STOP: u64 = 2;
const RECV: u64 = 3;
const SEND: u64 = 4;
const CANCEL: u64 = 5;
const ENTRIES: u32 = 1024;

/// Whether io_uring can run here, with the operations this model uses; the reason if not.
///
/// Probed on a throwaway thread: a thread that has owned a ring can see its next blocking
/// syscall interrupted (EINTR) by io_uring's task-work notification, which would surprise a
/// caller that goes on to block in `read`.
pub fn available() -> Result<(), String> {
    std::thread::spawn(probe)
        .join()
        .unwrap_or_else(|_| Err("the io_uring probe panicked".into()))
}

fn probe() -> Result<(), String> {
    let ring = IoUring::new(8).map_err(|e| format!("io_uring is not available here: {e}"))?;
    let mut probe = io_uring::Probe::new();
    ring.submitter()
        .register_probe(&mut probe)
        .map_err(|e| format!("io_uring cannot be probed: {e}"))?;
    for (name, code) in [
        ("accept", opcode::Accept::CODE),
        ("recv", opcode::Recv::CODE),
        ("send", opcode::Send::CODE),
        ("poll_add", opcode::PollAdd::CODE),
        ("async_cancel", opcode::AsyncCancel::CODE),
    ] {
        if !probe.is_supported(code) {
            return Err(format!("io_uring here lacks the {name} operation"));
        }
    }
    Ok(())
}

/// Runs `cfg.workers` io_uring loops over one listener until shutdown.
pub fn serve(listener: TcpListener, cfg: &Config, stop: &'static Stop) -> io::Result<()> {
    available().map_err(io::Error::other)?;
    crate::on_workers("uring", listener, cfg, move |listener, cfg| {
        Loop::new(listener, cfg)?.run(stop)
    })
}

struct Slot {
    stream: TcpStream,
    conn: Conn,
    rbuf: Box<[u8]>,
    out: Vec<u8>,
    sent: usize,
    recv: bool,
    send: bool,
    wake: Option<Instant>,
    close_after_flush: bool,
    linger: Option<Instant>,
    closing: bool,
    queued: Option<Instant>,
}

impl Slot {
    fn due(&self) -> Option<Instant> {
        if self.closing {
            return None;
        }
        self.linger.or(self.wake).or_else(|| self.conn.deadline())
    }
}

struct Loop<'a> {
    ring: IoUring,
    listener: &'a TcpListener,
    cfg: Config,
    slots: Vec<Option<Slot>>,
    free: Vec<usize>,
    open: usize,
    timers: BinaryHeap<Reverse<(Instant, usize)>>,
    multishot: bool,
    stopping: Option<Instant>,
}

impl<'a> Loop<'a> {
    fn new(listener: &'a TcpListener, cfg: Config) -> io::Result<Loop<'a>> {
        Ok(Loop {
            ring: IoUring::new(ENTRIES)?,
            listener,
            cfg,
            slots: Vec::new(),
            free: Vec::new(),
            open: 0,
            timers: BinaryHeap::new(),
            multishot: true,
            stopping: None,
        })
    }

    fn push(&mut self, entry: squeue::Entry) {
        loop {
            // SAFETY: every entry this loop builds points at memory that outlives the
            // operation: the listener (borrowed for the loop's life), the stop pipe (static),
            // and a slot's `rbuf`/`out` buffers, which are heap allocations that are neither
            // freed nor touched while the slot's `recv`/`send` flag says an operation is in
            // flight (a slot is dropped only when both are clear).
            if unsafe { self.ring.submission().push(&entry) }.is_ok() {
                return;
            }
            let _ = self.ring.submit();
        }
    }

    fn arm_accept(&mut self) {
        let fd = types::Fd(self.listener.as_raw_fd());
        let entry = if self.multishot {
            opcode::AcceptMulti::new(fd).build()
        } else {
            opcode::Accept::new(fd, std::ptr::null_mut(), std::ptr::null_mut()).build()
        };
        self.push(entry.user_data(ACCEPT));
    }

    fn run(mut self, stop: &'static Stop) -> io::Result<()> {
        self.arm_accept();
        let stop_fd = types::Fd(stop.fd().as_raw_fd());
        self.push(
            opcode::PollAdd::new(stop_fd, libc::POLLIN as u32)
                .build()
                .user_data(STOP),
        );
        let mut done = Vec::with_capacity(ENTRIES as usize);
        loop {
            let now = Instant::now();
            let until = match (self.timers.peek().map(|Reverse((t, _))| *t), self.stopping) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let waited = match until {
                Some(t) => {
                    let d = t.saturating_duration_since(now);
                    let ts = types::Timespec::new()
                        .sec(d.as_secs())
                        .nsec(d.subsec_nanos());
                    self.ring
                        .submitter()
                        .submit_with_args(1, &types::SubmitArgs::new().timespec(&ts))
                }
                None => self.ring.submit_and_wait(1),
            };
            match waited {
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::ETIME | libc::EINTR | libc::EBUSY)
                    ) => {}
                Err(e) => return Err(e),
            }
            done.clear();
            done.extend(
                self.ring
                    .completion()
                    .map(|c| (c.user_data(), c.result(), c.flags())),
            );
            let now = Instant::now();
            for &(data, result, flags) in &done {
                self.complete(data, result, flags, now);
            }
            self.fire_timers(now);
            if let Some(limit) = self.stopping {
                if self.open == 0 || now >= limit {
                    // Operations may still refer to slot buffers: leak them rather than free
                    // memory the kernel could still write; the process is about to exit.
                    std::mem::forget(self.slots);
                    std::mem::forget(self.ring);
                    return Ok(());
                }
            }
        }
    }

    fn complete(&mut self, data: u64, result: i32, flags: u32, now: Instant) {
        let (slot, kind) = ((data >> 8) as usize, data & 0xff);
        match kind {
            ACCEPT => self.accepted(result, flags, now),
            STOP => self.begin_stop(now),
            RECV => {
                let Some(s) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
                    return;
                };
                s.recv = false;
                if result <= 0 || s.closing {
                    return self.close(slot);
                }
                if s.linger.is_none() {
                    s.conn.feed(&s.rbuf[..result as usize], now);
                }
                self.drive(slot, now);
            }
            SEND => {
                let Some(s) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
                    return;
                };
                s.send = false;
                if result < 0 || s.closing {
                    return self.close(slot);
                }
                s.sent += result as usize;
                self.drive(slot, now);
            }
            _ => {}
        }
    }

    fn accepted(&mut self, result: i32, flags: u32, now: Instant) {
        if result == -libc::EINVAL && self.multishot {
            self.multishot = false; // kernel before 5.19: one accept at a time
            return self.arm_accept();
        }
        if !cqueue::more(flags) && self.stopping.is_none() {
            self.arm_accept();
        }
        if result < 0 {
            if result == -libc::EMFILE || result == -libc::ENFILE {
                warn_limited!("accept: out of file descriptors");
            }
            return;
        }
        // SAFETY: a successful accept completion's result is a new fd that nothing else owns.
        let stream = TcpStream::from(unsafe { OwnedFd::from_raw_fd(result) });
        if self.stopping.is_some() {
            return; // dropped: closed
        }
        let _ = stream.set_nodelay(true);
        let slot = Slot {
            stream,
            conn: Conn::new(self.cfg.http),
            rbuf: vec![0; READ_CHUNK].into_boxed_slice(),
            out: Vec::new(),
            sent: 0,
            recv: false,
            send: false,
            wake: None,
            close_after_flush: false,
            linger: None,
            closing: false,
            queued: None,
        };
        let index = match self.free.pop() {
            Some(i) => {
                self.slots[i] = Some(slot);
                i
            }
            None => {
                self.slots.push(Some(slot));
                self.slots.len() - 1
            }
        };
        self.open += 1;
        self.drive(index, now);
    }

    fn begin_stop(&mut self, now: Instant) {
        if self.stopping.is_some() {
            return;
        }
        self.stopping = Some(now + self.cfg.drain_timeout);
        self.push(opcode::AsyncCancel::new(ACCEPT).build().user_data(CANCEL));
        for i in 0..self.slots.len() {
            let idle = self.slots[i]
                .as_mut()
                .is_some_and(|s| s.sent == s.out.len() && s.linger.is_none() && s.conn.shutdown());
            if idle {
                self.close(i);
            }
        }
    }

    /// Sends what is pending, then lets the connection make progress, until it must wait.
    fn drive(&mut self, slot: usize, now: Instant) {
        let mut push = None;
        {
            let Some(s) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
                return;
            };
            if s.closing {
                return;
            }
            loop {
                if s.sent < s.out.len() {
                    if !s.send {
                        s.send = true;
                        let rest = &s.out[s.sent..];
                        let fd = types::Fd(s.stream.as_raw_fd());
                        let entry = opcode::Send::new(fd, rest.as_ptr(), rest.len() as u32)
                            .flags(libc::MSG_NOSIGNAL);
                        push = Some(entry.build().user_data((slot as u64) << 8 | SEND));
                    }
                    break;
                }
                s.out.clear();
                s.sent = 0;
                if s.close_after_flush {
                    if !s.conn.wants_linger() {
                        return self.close(slot);
                    }
                    s.close_after_flush = false;
                    let _ = s.stream.shutdown(Shutdown::Write);
                    s.linger = Some(now + LINGER);
                }
                if s.linger.is_some() || s.wake.is_some_and(|w| w > now) {
                    if s.linger.is_some() && !s.recv {
                        push = Some(recv_entry(slot, s));
                    }
                    break;
                }
                s.wake = None;
                match s.conn.advance(&mut s.out, now) {
                    Progress::NeedInput if s.out.is_empty() => {
                        if !s.recv {
                            push = Some(recv_entry(slot, s));
                        }
                        break;
                    }
                    Progress::NeedInput | Progress::Flush => {}
                    Progress::Wait(d) => s.wake = Some(now + d),
                    Progress::Close => s.close_after_flush = true,
                }
            }
        }
        if let Some(entry) = push {
            self.push(entry);
        }
        self.schedule(slot);
    }

    fn schedule(&mut self, slot: usize) {
        let Some(s) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        if let Some(due) = s.due() {
            if s.queued.is_none_or(|q| due < q) {
                s.queued = Some(due);
                self.timers.push(Reverse((due, slot)));
            }
        }
    }

    fn fire_timers(&mut self, now: Instant) {
        while let Some(&Reverse((t, slot))) = self.timers.peek() {
            if t > now {
                return;
            }
            self.timers.pop();
            let Some(s) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
                continue;
            };
            if s.queued != Some(t) {
                continue;
            }
            s.queued = None;
            match s.due() {
                Some(due) if due <= now => {
                    if s.linger.is_some() {
                        self.close(slot);
                    } else if s.wake.is_some() {
                        self.drive(slot, now);
                    } else {
                        s.conn.on_timeout(&mut s.out);
                        s.close_after_flush = true;
                        self.drive(slot, now);
                    }
                }
                _ => self.schedule(slot),
            }
        }
    }

    /// Shuts the socket down (completing any pending recv) and frees the slot once no
    /// operation refers to it.
    fn close(&mut self, slot: usize) {
        let Some(s) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        if !s.closing {
            s.closing = true;
            let _ = s.stream.shutdown(Shutdown::Both);
        }
        if !s.recv && !s.send {
            self.slots[slot] = None;
            self.free.push(slot);
            self.open -= 1;
        }
    }
}

fn recv_entry(slot: usize, s: &mut Slot) -> squeue::Entry {
    s.recv = true;
    let fd = types::Fd(s.stream.as_raw_fd());
    opcode::Recv::new(fd, s.rbuf.as_mut_ptr(), s.rbuf.len() as u32)
        .build()
        .user_data((slot as u64) << 8 | RECV)
}
