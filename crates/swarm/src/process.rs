//! The Python process of user code behind a worker thread, and the socket to it: started
//! with the run's seed, written to as the socket takes it, read into whole frames
//! ([`crate::remote`]), told to end and given a moment before it is killed.

use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mio::net::UnixStream;
use mio::{Interest, Registry, Token};

use crate::control::Shared;
use crate::remote::{self, Driver, Frame};

/// The process and its socket.
pub(crate) struct Process {
    child: Child,
    chan: UnixStream,
    inbuf: Vec<u8>,
    /// Frames to send, as far as the socket has not taken them.
    pub out: Vec<u8>,
    token: Token,
}

impl Process {
    /// Starts the process of `driver` for worker `id`, its socket in `registry` as `token`.
    pub(crate) fn start(
        id: usize,
        shared: &Shared,
        driver: &Driver,
        registry: &Registry,
        token: Token,
    ) -> io::Result<Process> {
        let (ours, theirs) = std::os::unix::net::UnixStream::pair()?;
        ours.set_nonblocking(true)?;
        let mut command = Command::new(&driver.program);
        command
            .args(&driver.args)
            .envs(driver.env.iter().map(|(k, v)| (k, v)))
            .env("SWARMLAB_PROCESS", id.to_string())
            // Python's `random` in this process: its own stream of the run's seed
            .env(
                "SWARMLAB_SEED",
                (shared.plan.seed.unwrap_or_default()
                    ^ (id as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
                .to_string(),
            )
            .stdin(Stdio::from(OwnedFd::from(theirs)))
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit());
        crate::sys::die_with_parent(&mut command);
        let child = command.spawn().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot start {}: {e}", driver.program.display()),
            )
        })?;
        drop(command); // closes our copy of the process's end
        shared
            .control
            .pids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(child.id());
        let mut chan = UnixStream::from_std(ours);
        registry.register(&mut chan, token, Interest::READABLE)?;
        Ok(Process {
            child,
            chan,
            inbuf: Vec::new(),
            out: Vec::new(),
            token,
        })
    }

    /// Writes what is waiting, as far as the socket takes it (the rest when it is writable).
    pub(crate) fn flush(&mut self, registry: &Registry) -> Result<(), String> {
        while !self.out.is_empty() {
            match self.chan.write(&self.out) {
                Ok(n) => {
                    self.out.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let _ = registry.reregister(
                        &mut self.chan,
                        self.token,
                        Interest::READABLE | Interest::WRITABLE,
                    );
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("writing to it failed: {e}")),
            }
        }
        let _ = registry.reregister(&mut self.chan, self.token, Interest::READABLE);
        Ok(())
    }

    /// Reads what the process sent (through `buf`): its whole frames, decoded.
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> Result<Vec<Frame>, String> {
        loop {
            match self.chan.read(buf) {
                Ok(0) => return Err("it closed its end".into()),
                Ok(n) => self.inbuf.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("reading from it failed: {e}")),
            }
        }
        let (frames, used) = remote::split(&self.inbuf).map_err(|e| e.to_string())?;
        let decoded = frames
            .into_iter()
            .map(|(kind, payload)| remote::decode(kind, payload).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        self.inbuf.drain(..used);
        Ok(decoded)
    }

    /// How it ended, if it has (`" (exit status: 1)"`), for the line that says it is gone.
    pub(crate) fn ended(&mut self) -> String {
        match self.child.try_wait() {
            Ok(Some(s)) => format!(" ({s})"),
            _ => String::new(),
        }
    }

    /// Takes its socket out of the poll (it is gone).
    pub(crate) fn forget(&mut self, registry: &Registry) {
        let _ = registry.deregister(&mut self.chan);
    }

    /// Tells it to end (`TEST_STOP` first if a test started) and gives it a moment (its
    /// `quitting` listeners) before it is killed; `alive`: it can still hear.
    pub(crate) fn end(&mut self, registry: &Registry, started_test: bool, alive: bool) {
        if alive {
            if started_test {
                remote::bare(&mut self.out, remote::to_process::TEST_STOP);
            }
            remote::bare(&mut self.out, remote::to_process::EXIT);
            let _ = self.flush(registry);
            let until = Instant::now() + Duration::from_secs(2);
            while Instant::now() < until {
                if matches!(self.child.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
