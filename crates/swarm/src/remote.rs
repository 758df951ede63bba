//! Users whose logic runs outside the engine, in a process of their own (the Python path: the
//! user's locustfile in the user's python3), while the engine still does their I/O, timing and
//! statistics. [`Driver`] says how to start such a process; this module is swarmlab's own
//! protocol with it, the engine's side (the other side is `swarmlab_runtime.py` in the locust
//! crate).
//!
//! One process per worker thread, on a socket that is the process's stdin. Frames both ways:
//! `u32` length (of what follows, little-endian), `u8` type, payload; strings are `u16`- or
//! `u32`-length-prefixed UTF-8. Both sides write many frames per system call.
//!
//! | engine → process | payload |
//! |---|---|
//! | `SPAWN` | user `u32`, class `u16` |
//! | `STOP` | user `u32` (Locust kills the user's greenlet: its `on_stop` runs) |
//! | `RESP` | request `u32`, status `u16`, elapsed ms `f64`, length `u64`, body `s32`, error `s32`, final URL `s32`, then to the frame's end the headers (`u16` count of `s16` name, `s32` value), which the process decodes only if user code reads them |
//! | `TEST_START`, `TEST_STOP`, `EXIT` | none |
//! | `SHAPE_TICK` | run time `f64` s, users running `u32` (to process 0, once a second, when the file has a LoadTestShape) |
//! | `PART` | request `u32`, last `u8`, body bytes `s32`, error `s32`: a streamed response's body as it arrives (`stream=True`: its `RESP` came at the head, with no body); the last one ends it, with the error that cut it short if one did |
//!
//! | process → engine | payload |
//! |---|---|
//! | `REQ` | request `u32`, user `u32`, flags `u16`, method `s16`, URL `s32`, name `s16`, headers, body `s32` |
//! | `DONE` | request `u32`, outcome `u8` (success, failure, the client's rule, not reported), error `s32` |
//! | `EXC` | message `s32`, traceback `s32` |
//! | `ENDED` | user `u32` (it ended by itself, or after `STOP`) |
//! | `FIRE` | method `s16`, name `s16`, response time ms `f64`, length `u64`, error `s32` (empty: success) |
//! | `QUIT` | none (`runner.quit()`) |
//! | `READY` | none (the file is imported) |
//! | `SHAPE` | users `u32` (`u32::MAX`: `tick()` returned None), spawn rate `f64`, then, if `tick()` named its `user_classes`, their count `u16` and each one's index `u16` |

use std::path::PathBuf;

/// How to start one process of remote users: `program args` with `env`, its stdin the
/// engine's socket.
#[derive(Clone, Debug)]
pub struct Driver {
    /// The program (the user's python3).
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Variables added to its environment.
    pub env: Vec<(String, String)>,
    /// The file has a LoadTestShape, which process 0 runs and the engine follows.
    pub shape: bool,
}

/// Engine → process frame types.
pub mod to_process {
    /// Start user `u32` of class `u16`.
    pub const SPAWN: u8 = 1;
    /// Stop user `u32`.
    pub const STOP: u8 = 2;
    /// A request's response.
    pub const RESP: u8 = 3;
    /// `events.test_start`.
    pub const TEST_START: u8 = 4;
    /// `events.test_stop`.
    pub const TEST_STOP: u8 = 5;
    /// Exit.
    pub const EXIT: u8 = 6;
    /// The LoadTestShape's turn (process 0 only): run time `f64` s, users running `u32`.
    pub const SHAPE_TICK: u8 = 7;
    /// A streamed response's body bytes as they arrive.
    pub const PART: u8 = 8;
}

/// Process → engine frame types.
pub mod from_process {
    /// A request to send.
    pub const REQ: u8 = 1;
    /// A deferred (catch_response) request's outcome.
    pub const DONE: u8 = 2;
    /// An exception of user code.
    pub const EXC: u8 = 3;
    /// A user ended.
    pub const ENDED: u8 = 4;
    /// A request user code reported itself (`events.request.fire`).
    pub const FIRE: u8 = 5;
    /// `runner.quit()`.
    pub const QUIT: u8 = 6;
    /// The process is ready.
    pub const READY: u8 = 7;
    /// What the LoadTestShape's `tick()` returned: users `u32` (`u32::MAX`: None, the end),
    /// spawn rate `f64`.
    pub const SHAPE: u8 = 8;
}

/// `REQ` flags.
pub mod flags {
    /// The outcome comes later, in a `DONE` (`catch_response=True`).
    pub const DEFERRED: u16 = 1;
    /// Follow redirects.
    pub const REDIRECTS: u16 = 2;
    /// FastHttpUser's rules (valid codes, redirects for every method).
    pub const FAST: u16 = 4;
    /// The request has a body (possibly empty).
    pub const HAS_BODY: u16 = 8;
    /// https: do not verify the certificate (`verify=False`).
    pub const INSECURE: u16 = 16;
    /// https: verify the certificate although the client is a `FastHttpUser`'s
    /// (`insecure = False`).
    pub const VERIFY: u16 = 32;
    /// After the body: three s16 paths (empty: none), the CA file (`verify="ca.pem"`), the
    /// client certificate and its key (`cert=`).
    pub const TLS_FILES: u16 = 64;
    /// Not to be sent: the client refused it before connecting (python-requests'
    /// `InvalidHeader` for a header field with CR or LF, say). The body is the error's text,
    /// the failure the request is counted with.
    pub const FAILED: u16 = 128;
    /// `stream=True`: the response is handed back at its head (`RESP`, timed and counted
    /// then, as python-requests returns at the headers), its body after it in `PART`s.
    pub const STREAM: u16 = 256;
}

/// The files a request names for its TLS (`verify="ca.pem"`, `cert=`): absolute paths.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct TlsFiles {
    /// Verify against this CA file only.
    pub ca: Option<String>,
    /// A client certificate chain and its key.
    pub cert: Option<(String, String)>,
}

/// `DONE` outcomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `r.success()`.
    Success,
    /// `r.failure(...)`, or a `ResponseError` in the block.
    Failure,
    /// Neither: the client's own rule decides.
    ClientRule,
    /// Another exception escaped the block: Locust never reports the request.
    NotReported,
}

impl Outcome {
    fn of(b: u8) -> Option<Outcome> {
        Some(match b {
            0 => Outcome::Success,
            1 => Outcome::Failure,
            2 => Outcome::ClientRule,
            3 => Outcome::NotReported,
            _ => return None,
        })
    }
}

/// A frame from the process, decoded.
#[derive(Debug, PartialEq)]
pub enum Frame {
    /// A request to send.
    Req(Req),
    /// A deferred request's outcome.
    Done {
        /// The request.
        id: u32,
        /// What the block decided.
        outcome: Outcome,
        /// The failure's text.
        error: String,
    },
    /// An exception of user code.
    Exc {
        /// `str(exception)`.
        msg: String,
        /// Its traceback, as Locust groups them.
        traceback: String,
    },
    /// A user ended.
    Ended(u32),
    /// A request reported by user code.
    Fire {
        /// Its method (Locust's `request_type`).
        method: String,
        /// Its name.
        name: String,
        /// Response time, ms.
        ms: f64,
        /// Response length.
        length: u64,
        /// The failure's text (`None`: a success).
        error: Option<String>,
    },
    /// `runner.quit()`.
    Quit,
    /// The process imported the file.
    Ready,
    /// The shape's answer: `(users, spawn rate, its user_classes as class indices)`, or
    /// `None`: end the run.
    Shape(Option<(u32, f64, Option<Vec<usize>>)>),
}

/// A request from user code.
#[derive(Debug, PartialEq)]
pub struct Req {
    /// Its number, echoed in `RESP`.
    pub id: u32,
    /// The user it is for.
    pub user: u32,
    /// [`flags`].
    pub flags: u16,
    /// The method.
    pub method: String,
    /// The absolute URL.
    pub url: String,
    /// The statistics name.
    pub name: String,
    /// Header fields to send (the engine adds `Host`, `Content-Length` and its cookies).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Option<Vec<u8>>,
    /// The files its TLS uses, if it names any.
    pub tls_files: Option<TlsFiles>,
}

/// A frame that does not decode.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("a frame from the Python process does not decode: {0}")]
pub struct BadFrame(pub &'static str);

struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], BadFrame> {
        let end = self.at.checked_add(n).ok_or(BadFrame("length"))?;
        let s = self.b.get(self.at..end).ok_or(BadFrame("cut short"))?;
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, BadFrame> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, BadFrame> {
        Ok(u16::from_le_bytes(
            self.take(2)?.try_into().expect("2 bytes"),
        ))
    }
    fn u32(&mut self) -> Result<u32, BadFrame> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    fn u64(&mut self) -> Result<u64, BadFrame> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    fn f64(&mut self) -> Result<f64, BadFrame> {
        Ok(f64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    fn s16(&mut self) -> Result<String, BadFrame> {
        let n = self.u16()? as usize;
        Ok(String::from_utf8_lossy(self.take(n)?).into_owned())
    }
    fn s32(&mut self) -> Result<String, BadFrame> {
        let n = self.u32()? as usize;
        Ok(String::from_utf8_lossy(self.take(n)?).into_owned())
    }
    fn bytes32(&mut self) -> Result<Vec<u8>, BadFrame> {
        let n = self.u32()? as usize;
        Ok(self.take(n)?.to_vec())
    }
}

/// The largest frame either side accepts.
pub const MAX_FRAME: usize = 256 << 20;

/// Complete frames, `(type, payload)` each, and how many bytes of the buffer they took.
pub type Split<'a> = (Vec<(u8, &'a [u8])>, usize);

/// Splits complete frames off the front of `buf`. A frame longer than [`MAX_FRAME`] is an
/// error.
pub fn split(buf: &[u8]) -> Result<Split<'_>, BadFrame> {
    let mut out = Vec::new();
    let mut at = 0;
    while buf.len() - at >= 5 {
        let len = u32::from_le_bytes(buf[at..at + 4].try_into().expect("4 bytes")) as usize;
        if len == 0 || len > MAX_FRAME {
            return Err(BadFrame("length"));
        }
        if buf.len() - at - 4 < len {
            break;
        }
        out.push((buf[at + 4], &buf[at + 5..at + 4 + len]));
        at += 4 + len;
    }
    Ok((out, at))
}

/// Decodes a process → engine frame.
pub fn decode(kind: u8, payload: &[u8]) -> Result<Frame, BadFrame> {
    let mut c = Cursor { b: payload, at: 0 };
    use from_process::*;
    Ok(match kind {
        REQ => {
            let (id, user, f) = (c.u32()?, c.u32()?, c.u16()?);
            let method = c.s16()?;
            let url = c.s32()?;
            let name = c.s16()?;
            let n = c.u16()? as usize;
            let mut headers = Vec::with_capacity(n);
            for _ in 0..n {
                headers.push((c.s16()?, c.s32()?));
            }
            let body = c.bytes32()?;
            let tls_files = if f & flags::TLS_FILES != 0 {
                let some = |s: String| (!s.is_empty()).then_some(s);
                let (ca, cert, key) = (some(c.s16()?), some(c.s16()?), some(c.s16()?));
                Some(TlsFiles {
                    ca,
                    cert: cert.zip(key),
                })
            } else {
                None
            };
            Frame::Req(Req {
                id,
                user,
                flags: f,
                method,
                url,
                name,
                headers,
                body: (f & flags::HAS_BODY != 0).then_some(body),
                tls_files,
            })
        }
        DONE => Frame::Done {
            id: c.u32()?,
            outcome: Outcome::of(c.u8()?).ok_or(BadFrame("outcome"))?,
            error: c.s32()?,
        },
        EXC => Frame::Exc {
            msg: c.s32()?,
            traceback: c.s32()?,
        },
        ENDED => Frame::Ended(c.u32()?),
        FIRE => {
            let method = c.s16()?;
            let name = c.s16()?;
            let ms = c.f64()?;
            let length = c.u64()?;
            let error = c.s32()?;
            Frame::Fire {
                method,
                name,
                ms,
                length,
                error: (!error.is_empty()).then_some(error),
            }
        }
        QUIT => Frame::Quit,
        READY => Frame::Ready,
        SHAPE => {
            let users = c.u32()?;
            let rate = c.f64()?;
            // then, when the shape named its user_classes: how many, and each one's index
            let classes = if c.at < c.b.len() {
                let n = c.u16()?;
                Some(
                    (0..n)
                        .map(|_| c.u16().map(usize::from))
                        .collect::<Result<_, _>>()?,
                )
            } else {
                None
            };
            Frame::Shape((users != u32::MAX).then_some((users, rate, classes)))
        }
        _ => return Err(BadFrame("type")),
    })
}

fn frame(out: &mut Vec<u8>, kind: u8, payload: impl FnOnce(&mut Vec<u8>)) {
    let at = out.len();
    out.extend_from_slice(&[0, 0, 0, 0, kind]);
    payload(out);
    let len = (out.len() - at - 4) as u32;
    out[at..at + 4].copy_from_slice(&len.to_le_bytes());
}

fn s16(out: &mut Vec<u8>, s: &[u8]) {
    let s = &s[..s.len().min(u16::MAX as usize)];
    out.extend_from_slice(&(s.len() as u16).to_le_bytes());
    out.extend_from_slice(s);
}

fn s32(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s);
}

/// Appends `SPAWN`.
pub fn spawn(out: &mut Vec<u8>, user: u32, class: u16) {
    frame(out, to_process::SPAWN, |o| {
        o.extend_from_slice(&user.to_le_bytes());
        o.extend_from_slice(&class.to_le_bytes());
    });
}

/// Appends `STOP`.
pub fn stop(out: &mut Vec<u8>, user: u32) {
    frame(out, to_process::STOP, |o| {
        o.extend_from_slice(&user.to_le_bytes())
    });
}

/// Appends `SHAPE_TICK`.
pub fn shape_tick(out: &mut Vec<u8>, run_time: f64, users: u32) {
    frame(out, to_process::SHAPE_TICK, |o| {
        o.extend_from_slice(&run_time.to_le_bytes());
        o.extend_from_slice(&users.to_le_bytes());
    });
}

/// Appends a frame without payload (`TEST_START`, `TEST_STOP`, `EXIT`).
pub fn bare(out: &mut Vec<u8>, kind: u8) {
    frame(out, kind, |_| {});
}

/// Appends `REQ` as the process writes it (for tests and `examples/channel-cost.rs`).
pub fn req(out: &mut Vec<u8>, r: &Req) {
    frame(out, from_process::REQ, |o| {
        o.extend_from_slice(&r.id.to_le_bytes());
        o.extend_from_slice(&r.user.to_le_bytes());
        o.extend_from_slice(&r.flags.to_le_bytes());
        s16(o, r.method.as_bytes());
        s32(o, r.url.as_bytes());
        s16(o, r.name.as_bytes());
        o.extend_from_slice(&(r.headers.len() as u16).to_le_bytes());
        for (k, v) in &r.headers {
            s16(o, k.as_bytes());
            s32(o, v.as_bytes());
        }
        s32(o, r.body.as_deref().unwrap_or(b""));
    });
}

/// Appends `PART`: `body`, a streamed response's next bytes; `last`: it ends here (`error`:
/// what cut it short, empty if nothing did).
pub fn part(out: &mut Vec<u8>, id: u32, last: bool, body: &[u8], error: &str) {
    frame(out, to_process::PART, |o| {
        o.extend_from_slice(&id.to_le_bytes());
        o.push(u8::from(last));
        s32(o, body);
        s32(o, error.as_bytes());
    });
}

/// A response, as `RESP` carries it.
pub struct Resp<'a> {
    /// The request.
    pub id: u32,
    /// Its status (0: no response).
    pub status: u16,
    /// Time from the first send to the last byte, ms.
    pub ms: f64,
    /// Body bytes.
    pub length: u64,
    /// Header fields (the final response's, and the cookies set on the way).
    pub headers: &'a [(String, String)],
    /// The body (up to the engine's limit).
    pub body: &'a [u8],
    /// The error, if the request failed before a response.
    pub error: &'a str,
    /// The URL of the final response.
    pub url: &'a str,
}

/// Appends `RESP`.
pub fn resp(out: &mut Vec<u8>, r: &Resp<'_>) {
    frame(out, to_process::RESP, |o| {
        o.extend_from_slice(&r.id.to_le_bytes());
        o.extend_from_slice(&r.status.to_le_bytes());
        o.extend_from_slice(&r.ms.to_le_bytes());
        o.extend_from_slice(&r.length.to_le_bytes());
        s32(o, r.body);
        s32(o, r.error.as_bytes());
        s32(o, r.url.as_bytes());
        let n = r.headers.len().min(u16::MAX as usize);
        o.extend_from_slice(&(n as u16).to_le_bytes());
        for (k, v) in &r.headers[..n] {
            s16(o, k.as_bytes());
            s32(o, v.as_bytes());
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames as the Python side writes them (struct.pack), and split across reads.
    #[test]
    fn frames_decode_whole_and_split() {
        let mut py = Vec::new();
        // REQ: id 7, user 3, flags DEFERRED|REDIRECTS|HAS_BODY
        frame(&mut py, from_process::REQ, |o| {
            o.extend_from_slice(&7u32.to_le_bytes());
            o.extend_from_slice(&3u32.to_le_bytes());
            o.extend_from_slice(
                &(flags::DEFERRED | flags::REDIRECTS | flags::HAS_BODY).to_le_bytes(),
            );
            s16(o, b"POST");
            s32(o, b"http://127.0.0.1:1/login");
            s16(o, b"/login");
            o.extend_from_slice(&1u16.to_le_bytes());
            s16(o, b"Content-Type");
            s32(o, b"application/json");
            s32(o, b"{}");
        });
        frame(&mut py, from_process::DONE, |o| {
            o.extend_from_slice(&7u32.to_le_bytes());
            o.push(1);
            s32(o, b"CatchResponseError('bad')");
        });
        frame(&mut py, from_process::READY, |_| {});
        let (frames, used) = split(&py[..py.len() - 2]).unwrap();
        assert_eq!(frames.len(), 2, "the last frame is not complete yet");
        let (frames, used2) = split(&py).unwrap();
        assert_eq!((frames.len(), used2), (3, py.len()));
        assert!(used < used2);
        let req = decode(frames[0].0, frames[0].1).unwrap();
        assert_eq!(
            req,
            Frame::Req(Req {
                id: 7,
                user: 3,
                flags: flags::DEFERRED | flags::REDIRECTS | flags::HAS_BODY,
                method: "POST".into(),
                url: "http://127.0.0.1:1/login".into(),
                name: "/login".into(),
                headers: vec![("Content-Type".into(), "application/json".into())],
                body: Some(b"{}".to_vec()),
                tls_files: None,
            })
        );
        assert_eq!(
            decode(frames[1].0, frames[1].1).unwrap(),
            Frame::Done {
                id: 7,
                outcome: Outcome::Failure,
                error: "CatchResponseError('bad')".into()
            }
        );
        assert_eq!(decode(frames[2].0, frames[2].1).unwrap(), Frame::Ready);
        assert!(decode(from_process::REQ, &[1, 2, 3]).is_err(), "cut short");
        assert!(decode(99, &[]).is_err(), "unknown type");
        assert!(split(&[0, 0, 0, 0, 1]).is_err(), "a zero length");
    }
}
