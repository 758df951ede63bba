//! `swarmlab check`'s findings: what a probe saw, how bad it is, the rule it breaks (RFC 9112
//! or 9110), and, in English or Korean, what it means for a real client and how to fix it.
//! The probes live in the CLI; this is their vocabulary and their rendering (plain text for
//! the terminal, Markdown for compare's report), so the same finding reads the same everywhere.

use serde::{Deserialize, Serialize};

use crate::lang::{int, Lang};

/// How bad a finding is. `check` exits 1 when any is [`Severity::Error`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// As HTTP/1.1 wants.
    Pass,
    /// Worth knowing; not wrong.
    Note,
    /// Legal or a design's choice, but it costs clients something.
    Warning,
    /// Wrong: real clients fail or misread the answer.
    Error,
}

impl Severity {
    /// The tag a line starts with.
    pub fn tag(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Severity::Pass, Lang::En) => "pass",
            (Severity::Note, Lang::En) => "note",
            (Severity::Warning, Lang::En) => "warning",
            (Severity::Error, Lang::En) => "error",
            (Severity::Pass, Lang::Ko) => "통과",
            (Severity::Note, Lang::Ko) => "참고",
            (Severity::Warning, Lang::Ko) => "경고",
            (Severity::Error, Lang::Ko) => "오류",
        }
    }
}

/// What one probe found, with the figures it rests on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Kind {
    /// `GET /` got a status line and a header.
    Answers {
        /// Its status code.
        status: u16,
    },
    /// No answer to `GET /`.
    NoAnswer {
        /// What happened instead.
        why: String,
    },
    /// Header lines end with a bare LF.
    BareLf,
    /// The body's end is marked (Content-Length or chunked).
    Framed {
        /// `Content-Length: N` or `Transfer-Encoding: chunked`.
        how: String,
    },
    /// No Content-Length and not chunked: the body ends when the server closes.
    NoLength,
    /// Content-Length says one thing, the body is another.
    WrongLength {
        /// What Content-Length said.
        said: u64,
        /// Bytes that came before the close.
        got: u64,
    },
    /// A second request on the same connection was answered.
    KeepsAlive,
    /// It closes after each answer and says `Connection: close`.
    ClosesSaysSo,
    /// It closes after an answer framed by Content-Length without saying so.
    ClosesSilently,
    /// It closed after answering a `Connection: close` request.
    HonoursClose,
    /// It kept the connection open after answering `Connection: close`.
    IgnoresClose {
        /// How long the probe waited for the end, ms.
        waited_ms: u64,
    },
    /// It closed after answering an HTTP/1.0 request without keep-alive.
    Http10Closed,
    /// It kept an HTTP/1.0 connection open that asked for no keep-alive.
    Http10KeptOpen {
        /// How long the probe waited for the end, ms.
        waited_ms: u64,
    },
    /// HEAD got a header and no body.
    HeadOk,
    /// HEAD got a body.
    HeadBody {
        /// Body bytes that came.
        bytes: u64,
    },
    /// An unknown path got a 4xx.
    NotFound {
        /// Its status.
        status: u16,
    },
    /// An unknown path got a success.
    UnknownPathOk {
        /// Its status.
        status: u16,
    },
    /// Two requests sent at once got two answers, in order.
    Pipelined,
    /// Two requests sent at once: the answer to the second never came.
    PipelineLost {
        /// Answers that came (of 2).
        answers: u32,
    },
    /// A long request (long header, body) got its whole answer and a clean close.
    LongOk {
        /// The request's size, bytes.
        bytes: u64,
    },
    /// A long request was refused with a status that says why (413, 431).
    LongRefused {
        /// Its status.
        status: u16,
    },
    /// A long request was cut: the server closed with it unread, so the kernel reset the
    /// connection.
    LongCut {
        /// The request's size, bytes.
        bytes: u64,
        /// Whether the whole answer came before the reset.
        answered: bool,
    },
    /// Bytes that are not HTTP got a 4xx.
    BadRequestRefused {
        /// Its status.
        status: u16,
    },
    /// Bytes that are not HTTP got a success.
    BadRequestAccepted {
        /// Its status.
        status: u16,
    },
    /// Bytes that are not HTTP: closed without an answer.
    BadRequestDropped,
    /// A client was answered while another sat connected and silent.
    Concurrent,
    /// A silent client held every other client until it left.
    Serial {
        /// How long the other client waited before the probe gave up on it, ms.
        held_ms: u64,
    },
    /// Clients that left before their answer did no harm: the next one was answered.
    Survives {
        /// Clients that left early.
        left: u32,
    },
    /// After clients left early, the server answered no one.
    Dies {
        /// Clients that left early.
        left: u32,
        /// How the process ended and its last line on stderr (with `--server`).
        said: Option<String>,
    },
    /// Sequential connections all answered, and (with `--server`) no descriptor or child left
    /// behind.
    ManyOk {
        /// Connections.
        n: u32,
        /// Open descriptors of the server's processes before and after (with `--server`).
        fds: Option<(u64, u64)>,
    },
    /// Sequential connections: some failed.
    ManyFailed {
        /// Connections tried.
        n: u32,
        /// Of them, failed.
        failed: u32,
        /// The first failure.
        first: String,
    },
    /// Descriptors grew with the connections and stayed: sockets never closed.
    FdLeak {
        /// Connections.
        n: u32,
        /// Open descriptors before.
        before: u64,
        /// Open descriptors after.
        after: u64,
        /// The server's open-file limit (`ulimit -n`), when read.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u64>,
    },
    /// Children ended and were never waited for.
    Zombies {
        /// Connections.
        n: u32,
        /// Zombie children after them.
        count: u64,
    },
    /// Descriptors and children not counted: no process to look at (a URL, not `--server`).
    NotCounted,
    /// Two requests sent at once: the first answered, and the connection closed as it said
    /// it would (or as a close-delimited body must): the client resends the second.
    PipelineClosed,
    /// The server's process ended during the probe.
    Crashed {
        /// How, and its last line on stderr.
        said: String,
    },
    /// Bytes came, and they are not an HTTP/1.x status line and header.
    Malformed {
        /// What came where, and what belongs there.
        what: String,
    },
    /// A status line and fields came, but no blank line ending the header.
    HeadUnended {
        /// Bytes that came.
        bytes: u64,
        /// How it went on: closed, still open, or more than the probe reads.
        then: String,
    },
    /// The connection closed before a single byte of answer.
    ClosedEmpty,
    /// Nothing at all came within the probe's wait, and the connection stayed open.
    Silent {
        /// How long the probe waited, ms.
        waited_ms: u64,
    },
    /// An answer without Content-Length or chunks, whose end (the close) never came.
    NeverEnds {
        /// How long the probe waited for the end, ms.
        waited_ms: u64,
        /// Body bytes that came meanwhile.
        bytes: u64,
        /// The body is chunked, and its last (empty) chunk never came.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        chunked: bool,
    },
    /// The process runs, and its port takes no connections any more.
    StoppedAccepting,
    /// With no client left, the server's processes keep a core busy.
    Spins {
        /// CPU while idle, percent of one core.
        cpu_percent: u64,
    },
    /// Idle connections held: the tree grew a thread or process for each (a bound, if it has
    /// one, lies beyond those held).
    PerConnection {
        /// Idle connections held.
        held: u32,
        /// Threads more than before (a process brings one).
        workers: u64,
        /// Of which processes.
        processes: u64,
        /// Memory (PSS) more than before, KiB.
        kib: u64,
    },
    /// Idle connections held: the tree stayed the same size (an event loop, or a bounded
    /// pool).
    Bounded {
        /// Idle connections held.
        held: u32,
        /// Threads and processes more than before.
        workers: u64,
    },
    /// Not run: the server was down.
    Down {
        /// The probe that found it down.
        since: String,
    },
}

impl Kind {
    /// How bad it is.
    pub fn severity(&self) -> Severity {
        use Kind::*;
        match self {
            Answers { status } if (200..300).contains(status) => Severity::Pass,
            Answers { .. } => Severity::Warning,
            Framed { .. } | KeepsAlive | HonoursClose | Http10Closed | HeadOk | NotFound { .. } => {
                Severity::Pass
            }
            Pipelined | LongOk { .. } | LongRefused { .. } | BadRequestRefused { .. } => {
                Severity::Pass
            }
            Concurrent | Survives { .. } | ManyOk { .. } => Severity::Pass,
            ClosesSaysSo | BadRequestDropped | NotCounted | Down { .. } | PipelineClosed => {
                Severity::Note
            }
            NoLength | UnknownPathOk { .. } | BadRequestAccepted { .. } | Serial { .. } => {
                Severity::Warning
            }
            NoAnswer { .. } | BareLf | WrongLength { .. } | ClosesSilently => Severity::Error,
            Malformed { .. } | HeadUnended { .. } | ClosedEmpty | Silent { .. } => Severity::Error,
            NeverEnds { .. } | StoppedAccepting | Spins { .. } => Severity::Error,
            PerConnection { .. } => Severity::Warning,
            Bounded { .. } => Severity::Pass,
            IgnoresClose { .. } | Http10KeptOpen { .. } | HeadBody { .. } => Severity::Error,
            PipelineLost { .. } | LongCut { .. } | Dies { .. } | Crashed { .. } => Severity::Error,
            ManyFailed { .. } | FdLeak { .. } | Zombies { .. } => Severity::Error,
        }
    }

    /// The rule, as RFC and section.
    pub fn rule(&self) -> &'static str {
        use Kind::*;
        match self {
            Answers { .. } | NoAnswer { .. } | Malformed { .. } => "RFC 9112 §4",
            HeadUnended { .. } => "RFC 9112 §2.1",
            ClosedEmpty | Silent { .. } | StoppedAccepting => "",
            Spins { .. } | PerConnection { .. } | Bounded { .. } => "",
            NeverEnds { .. } => "RFC 9112 §6.3",
            BareLf => "RFC 9112 §2.2",
            Framed { .. } | NoLength | WrongLength { .. } => "RFC 9112 §6.3",
            KeepsAlive | ClosesSaysSo | ClosesSilently => "RFC 9112 §9.3",
            HonoursClose | IgnoresClose { .. } => "RFC 9112 §9.6",
            Http10Closed | Http10KeptOpen { .. } => "RFC 9112 §9.3",
            HeadOk | HeadBody { .. } => "RFC 9110 §9.3.2",
            NotFound { .. } | UnknownPathOk { .. } => "RFC 9110 §15.5.5",
            Pipelined | PipelineLost { .. } | PipelineClosed => "RFC 9112 §9.3.2",
            LongOk { .. } | LongRefused { .. } | LongCut { .. } => "RFC 9112 §9.6",
            BadRequestRefused { .. } | BadRequestAccepted { .. } | BadRequestDropped => {
                "RFC 9112 §3"
            }
            Concurrent | Serial { .. } | Survives { .. } | Dies { .. } => "",
            ManyOk { .. } | ManyFailed { .. } | FdLeak { .. } | Zombies { .. } | NotCounted => "",
            Down { .. } | Crashed { .. } => "",
        }
    }

    /// One line: what was seen.
    pub fn title(&self, lang: Lang) -> String {
        use Kind::*;
        match (self, lang) {
            (Answers { status }, Lang::En) => format!("answers GET / with {status}"),
            (Answers { status }, Lang::Ko) => format!("GET / 에 {status} 으로 응답한다"),
            (NoAnswer { why }, Lang::En) => format!("no answer: {why}"),
            (NoAnswer { why }, Lang::Ko) => format!("응답이 없다: {why}"),
            (BareLf, Lang::En) => "header lines end with a bare \\n, not \\r\\n".into(),
            (BareLf, Lang::Ko) => "헤더 줄이 \\r\\n 이 아니라 \\n 하나로 끝난다".into(),
            (Framed { how }, Lang::En) => format!("the body's end is marked ({how})"),
            (Framed { how }, Lang::Ko) => format!("본문의 끝이 표시된다 ({how})"),
            (NoLength, Lang::En) => {
                "no Content-Length: the body ends only when the server closes".into()
            }
            (NoLength, Lang::Ko) => {
                "Content-Length 가 없다: 본문은 서버가 연결을 닫아야만 끝난다".into()
            }
            (WrongLength { said, got }, Lang::En) => {
                format!("Content-Length says {said} bytes, {got} came")
            }
            (WrongLength { said, got }, Lang::Ko) => {
                format!("Content-Length 는 {said} 바이트인데 {got} 바이트가 왔다")
            }
            (KeepsAlive, Lang::En) => "keeps the connection for the next request".into(),
            (KeepsAlive, Lang::Ko) => "다음 요청을 위해 연결을 유지한다 (keep-alive)".into(),
            (ClosesSaysSo, Lang::En) => {
                "closes after every answer, and says so (Connection: close)".into()
            }
            (ClosesSaysSo, Lang::Ko) => {
                "응답마다 연결을 닫고, 그렇다고 알린다 (Connection: close)".into()
            }
            (ClosesSilently, Lang::En) => {
                "closes after an answer without sending Connection: close".into()
            }
            (ClosesSilently, Lang::Ko) => {
                "Connection: close 없이 응답 후 연결을 닫는다".into()
            }
            (HonoursClose, Lang::En) => "closes after answering Connection: close".into(),
            (HonoursClose, Lang::Ko) => "Connection: close 요청에 응답한 뒤 닫는다".into(),
            (IgnoresClose { waited_ms }, Lang::En) => format!(
                "asked Connection: close, answered, and still open {} ms later",
                int(*waited_ms as f64)
            ),
            (IgnoresClose { waited_ms }, Lang::Ko) => format!(
                "Connection: close 요청에 응답하고도 {} ms 동안 연결을 닫지 않는다",
                int(*waited_ms as f64)
            ),
            (Http10Closed, Lang::En) => "closes after an HTTP/1.0 request's answer".into(),
            (Http10Closed, Lang::Ko) => "HTTP/1.0 요청에 응답한 뒤 닫는다".into(),
            (Http10KeptOpen { waited_ms }, Lang::En) => format!(
                "an HTTP/1.0 request (no keep-alive) answered, connection still open {} ms later",
                int(*waited_ms as f64)
            ),
            (Http10KeptOpen { waited_ms }, Lang::Ko) => format!(
                "keep-alive 없는 HTTP/1.0 요청에 응답하고도 {} ms 동안 닫지 않는다",
                int(*waited_ms as f64)
            ),
            (HeadOk, Lang::En) => "HEAD gets a header and no body".into(),
            (HeadOk, Lang::Ko) => "HEAD 에 본문 없이 헤더만 보낸다".into(),
            (HeadBody { bytes }, Lang::En) => format!("HEAD gets a {bytes}-byte body"),
            (HeadBody { bytes }, Lang::Ko) => format!("HEAD 에 {bytes} 바이트 본문을 보낸다"),
            (NotFound { status }, Lang::En) => format!("an unknown path gets {status}"),
            (NotFound { status }, Lang::Ko) => format!("없는 경로에 {status} 으로 응답한다"),
            (UnknownPathOk { status }, Lang::En) => {
                format!("an unknown path gets {status}, as if it existed")
            }
            (UnknownPathOk { status }, Lang::Ko) => {
                format!("없는 경로에도 {status} 으로 응답한다")
            }
            (Pipelined, Lang::En) => "two requests sent at once get two answers".into(),
            (Pipelined, Lang::Ko) => "한 번에 보낸 두 요청에 두 응답이 온다 (pipelining)".into(),
            (PipelineLost { answers }, Lang::En) => {
                format!("two requests sent at once get {answers} answer(s)")
            }
            (PipelineLost { answers }, Lang::Ko) => {
                format!("한 번에 보낸 두 요청에 응답이 {answers}개만 온다")
            }
            (LongOk { bytes }, Lang::En) => {
                format!("a {}-byte request is read whole and answered", int(*bytes as f64))
            }
            (LongOk { bytes }, Lang::Ko) => {
                format!("{} 바이트 요청을 끝까지 읽고 응답한다", int(*bytes as f64))
            }
            (LongRefused { status }, Lang::En) => {
                format!("a long request is refused with {status}")
            }
            (LongRefused { status }, Lang::Ko) => {
                format!("긴 요청을 {status} 으로 거절한다")
            }
            (LongCut { bytes, answered }, Lang::En) => format!(
                "a {}-byte request is read in part and the connection reset ({})",
                int(*bytes as f64),
                if *answered {
                    "the answer came first, this time"
                } else {
                    "the answer was lost"
                }
            ),
            (LongCut { bytes, answered }, Lang::Ko) => format!(
                "{} 바이트 요청을 일부만 읽고 연결이 리셋된다 ({})",
                int(*bytes as f64),
                if *answered {
                    "이번에는 응답이 먼저 도착했다"
                } else {
                    "응답이 사라졌다"
                }
            ),
            (BadRequestRefused { status }, Lang::En) => {
                format!("bytes that are not HTTP get {status}")
            }
            (BadRequestRefused { status }, Lang::Ko) => {
                format!("HTTP 가 아닌 바이트에 {status} 으로 응답한다")
            }
            (BadRequestAccepted { status }, Lang::En) => {
                format!("bytes that are not HTTP get {status}, as if they were a request")
            }
            (BadRequestAccepted { status }, Lang::Ko) => {
                format!("HTTP 가 아닌 바이트에도 {status} 으로 응답한다")
            }
            (BadRequestDropped, Lang::En) => {
                "bytes that are not HTTP: closed without an answer".into()
            }
            (BadRequestDropped, Lang::Ko) => "HTTP 가 아닌 바이트: 응답 없이 닫는다".into(),
            (Concurrent, Lang::En) => {
                "answers a client while another sits connected and silent".into()
            }
            (Concurrent, Lang::Ko) => {
                "다른 클라이언트가 연결만 하고 말이 없어도 응답한다".into()
            }
            (Serial { held_ms }, Lang::En) => format!(
                "one silent client holds every other: a request waited {} ms, answered only when the silent one left",
                int(*held_ms as f64)
            ),
            (Serial { held_ms }, Lang::Ko) => format!(
                "말 없는 클라이언트 하나가 모두를 막는다: 다른 요청이 {} ms 기다렸고, 그 클라이언트가 떠난 뒤에야 응답받았다",
                int(*held_ms as f64)
            ),
            (Survives { left }, Lang::En) => format!(
                "{left} clients left before their answer; the next one was answered"
            ),
            (Survives { left }, Lang::Ko) => format!(
                "클라이언트 {left}개가 응답 전에 떠났고, 다음 요청에도 응답했다"
            ),
            (Dies { left, said }, Lang::En) => format!(
                "after {left} clients left before their answer, the server answers no one{}",
                said.as_deref().map(|s| format!(" ({s})")).unwrap_or_default()
            ),
            (Dies { left, said }, Lang::Ko) => format!(
                "클라이언트 {left}개가 응답 전에 떠난 뒤 서버가 더는 응답하지 않는다{}",
                said.as_deref().map(|s| format!(" ({s})")).unwrap_or_default()
            ),
            (ManyOk { n, fds }, Lang::En) => format!(
                "{} connections one after another, all answered{}",
                int(*n as f64),
                fds.map(|(b, a)| format!("; open descriptors {b} before, {a} after"))
                    .unwrap_or_default()
            ),
            (ManyOk { n, fds }, Lang::Ko) => format!(
                "연속 {}개 연결 모두 응답{}",
                int(*n as f64),
                fds.map(|(b, a)| format!("; 열린 디스크립터 전 {b}개, 후 {a}개"))
                    .unwrap_or_default()
            ),
            (ManyFailed { n, failed, first }, Lang::En) => format!(
                "{} of {} connections one after another failed (first: {first})",
                int(*failed as f64),
                int(*n as f64)
            ),
            (ManyFailed { n, failed, first }, Lang::Ko) => format!(
                "연속 {}개 연결 중 {}개 실패 (처음: {first})",
                int(*n as f64),
                int(*failed as f64)
            ),
            (FdLeak { n, before, after, limit }, Lang::En) => {
                let per = after.saturating_sub(*before) as f64 / (*n).max(1) as f64;
                format!(
                    "open descriptors grew from {} to {} over {} connections: {:.1} more per connection, never closed{}",
                    int(*before as f64),
                    int(*after as f64),
                    int(*n as f64),
                    per,
                    leak_projection(per, *after, *limit, Lang::En)
                )
            }
            (FdLeak { n, before, after, limit }, Lang::Ko) => {
                let per = after.saturating_sub(*before) as f64 / (*n).max(1) as f64;
                format!(
                    "연결 {}개 동안 열린 디스크립터가 {}개에서 {}개로 늘었다: 연결마다 {:.1}개씩, 닫히지 않는다{}",
                    int(*n as f64),
                    int(*before as f64),
                    int(*after as f64),
                    per,
                    leak_projection(per, *after, *limit, Lang::Ko)
                )
            }
            (Zombies { n, count }, Lang::En) => format!(
                "{} zombie children after {} connections: ended children are never waited for",
                int(*count as f64),
                int(*n as f64)
            ),
            (Zombies { n, count }, Lang::Ko) => format!(
                "연결 {}개 뒤 좀비 자식 프로세스 {}개: 끝난 자식을 wait 하지 않는다",
                int(*n as f64),
                int(*count as f64)
            ),
            (NotCounted, Lang::En) => {
                "descriptors and children not counted (start it with --server to count them)"
                    .into()
            }
            (NotCounted, Lang::Ko) => {
                "디스크립터와 자식 프로세스는 세지 않았다 (--server 로 시작하면 센다)".into()
            }
            (PipelineClosed, Lang::En) => {
                "two requests sent at once: the first answered, then the connection closed".into()
            }
            (PipelineClosed, Lang::Ko) => {
                "한 번에 보낸 두 요청: 첫 요청에 응답한 뒤 연결을 닫는다".into()
            }
            (Crashed { said }, Lang::En) => format!("the server's process ended ({said})"),
            (Crashed { said }, Lang::Ko) => format!("서버 프로세스가 끝났다 ({said})"),
            (Malformed { what }, Lang::En) => format!("the answer is not HTTP: {what}"),
            (Malformed { what }, Lang::Ko) => format!("응답이 HTTP 가 아니다: {what}"),
            (HeadUnended { bytes, then }, Lang::En) => format!(
                "a status line and fields, and no blank line ending the header ({} bytes, then {then})",
                int(*bytes as f64)
            ),
            (HeadUnended { bytes, then }, Lang::Ko) => format!(
                "상태 줄과 필드는 왔지만 헤더를 끝내는 빈 줄이 없다 ({} 바이트, 그 뒤 {then})",
                int(*bytes as f64)
            ),
            (ClosedEmpty, Lang::En) => {
                "the connection closed without a single byte of answer".into()
            }
            (ClosedEmpty, Lang::Ko) => "응답 바이트 하나 없이 연결이 닫혔다".into(),
            (Silent { waited_ms }, Lang::En) => format!(
                "nothing at all in {} ms, the connection open: it never reads the request, or never answers",
                int(*waited_ms as f64)
            ),
            (Silent { waited_ms }, Lang::Ko) => format!(
                "연결은 열린 채 {} ms 동안 아무것도 오지 않는다: 요청을 읽지 않거나 응답하지 않는다",
                int(*waited_ms as f64)
            ),
            (NeverEnds { waited_ms, bytes, chunked }, Lang::En) => format!(
                "the answer never ends: {}, and the connection still open {} ms after {} bytes of body",
                if *chunked {
                    "a chunked body without its last (0) chunk"
                } else {
                    "no Content-Length"
                },
                int(*waited_ms as f64),
                int(*bytes as f64)
            ),
            (NeverEnds { waited_ms, bytes, chunked }, Lang::Ko) => format!(
                "응답이 끝나지 않는다: {}, 본문 {} 바이트 뒤 {} ms 가 지나도 연결이 열려 있다",
                if *chunked {
                    "chunked 본문에 마지막 (0) 청크가 없고"
                } else {
                    "Content-Length 가 없고"
                },
                int(*bytes as f64),
                int(*waited_ms as f64)
            ),
            (Spins { cpu_percent }, Lang::En) => format!(
                "with its clients gone, the server keeps {cpu_percent} % of a core busy"
            ),
            (Spins { cpu_percent }, Lang::Ko) => format!(
                "클라이언트가 모두 떠났는데도 서버가 코어 하나의 {cpu_percent} % 를 계속 쓴다"
            ),
            (PerConnection { held, workers, processes, kib }, Lang::En) => format!(
                "a {} per connection (one each, for all {held} held): {held} idle connections took {} more threads and processes and {} KiB more memory (about {} KiB each; 10,000 users would take {} of them and {} MiB)",
                if *processes * 2 >= *workers { "process" } else { "thread" },
                int(*workers as f64),
                int(*kib as f64),
                int(*kib as f64 / (*workers).max(1) as f64),
                int(10_000.0 * *workers as f64 / (*held).max(1) as f64),
                int(10_000.0 * *kib as f64 / (*held).max(1) as f64 / 1024.0)
            ),
            (PerConnection { held, workers, processes, kib }, Lang::Ko) => format!(
                "연결마다 {} 하나 (붙잡은 {held}개 모두): 유휴 연결 {held}개에 스레드와 프로세스가 {}개, 메모리가 {} KiB 늘었다 (하나에 약 {} KiB; 사용자 10,000명이면 {}개, {} MiB)",
                if *processes * 2 >= *workers { "프로세스" } else { "스레드" },
                int(*workers as f64),
                int(*kib as f64),
                int(*kib as f64 / (*workers).max(1) as f64),
                int(10_000.0 * *workers as f64 / (*held).max(1) as f64),
                int(10_000.0 * *kib as f64 / (*held).max(1) as f64 / 1024.0)
            ),
            (Bounded { held, workers }, Lang::En) => format!(
                "{held} idle connections held with {} more threads and processes: no worker per connection",
                int(*workers as f64)
            ),
            (Bounded { held, workers }, Lang::Ko) => format!(
                "유휴 연결 {held}개를 스레드와 프로세스 {}개 더로 버틴다: 연결마다 작업자를 두지 않는다",
                int(*workers as f64)
            ),
            (StoppedAccepting, Lang::En) => {
                "the process runs, and its port takes no more connections".into()
            }
            (StoppedAccepting, Lang::Ko) => {
                "프로세스는 살아 있지만 포트가 더는 연결을 받지 않는다".into()
            }
            (Down { since }, Lang::En) => format!("not run: the server was down since {since}"),
            (Down { since }, Lang::Ko) => {
                format!("실행 안 함: {since} 이후 서버가 내려가 있었다")
            }
        }
    }

    /// Why a real client cares (empty for a pass).
    pub fn why(&self, lang: Lang) -> &'static str {
        use Kind::*;
        match self {
            NoAnswer { .. } => lang.pick(
                "Every Locust request to it will fail the same way.",
                "Locust 의 모든 요청이 같은 이유로 실패한다.",
            ),
            BareLf => lang.pick(
                "HTTP/1.1 ends every header line with CR LF; a client that accepts a bare LF does so as a courtesy. Under Locust (python-requests) the seed's run logged MissingHeaderBodySeparatorDefect for these answers; urllib3 2.8 on Python 3.11 reads them without a word; stricter clients and proxies refuse them.",
                "HTTP/1.1 의 헤더 줄은 CR LF 로 끝난다. LF 하나를 받아 주는 클라이언트는 호의일 뿐이다. Locust (python-requests) 에서 시드 보고서의 실행은 이런 응답에 MissingHeaderBodySeparatorDefect 를 기록했고, Python 3.11 의 urllib3 2.8 은 말없이 읽으며, 엄격한 클라이언트와 프록시는 거부한다.",
            ),
            NoLength => lang.pick(
                "Without Content-Length the client cannot tell a whole answer from one cut short by a reset, and the connection cannot be reused: every request pays a new connection (and, under load, the TIME_WAIT sockets that come with it).",
                "Content-Length 가 없으면 클라이언트는 온전한 응답과 리셋으로 잘린 응답을 구별하지 못하고, 연결을 재사용할 수 없어 요청마다 새 연결 (그리고 부하 시 TIME_WAIT 소켓) 을 치른다.",
            ),
            WrongLength { .. } => lang.pick(
                "The client reads exactly Content-Length bytes: too few and it waits for bytes that never come (a timeout); too many and the rest is taken for the next answer.",
                "클라이언트는 Content-Length 만큼만 읽는다: 적으면 오지 않을 바이트를 기다리다 시간 초과되고, 많으면 나머지를 다음 응답으로 읽는다.",
            ),
            ClosesSaysSo => lang.pick(
                "Legal, but every request pays a TCP handshake; under Locust that is most of a request's cost.",
                "규칙에 맞지만 요청마다 TCP 연결을 새로 맺어야 하고, Locust 부하에서는 그것이 요청 비용의 대부분이다.",
            ),
            ClosesSilently => lang.pick(
                "An HTTP/1.1 client keeps the connection for its next request unless told Connection: close; its next request then meets a closed socket and fails (RemoteDisconnected or ConnectionResetError in Locust).",
                "HTTP/1.1 클라이언트는 Connection: close 라는 말이 없으면 연결을 다음 요청에 재사용한다. 그 요청은 닫힌 소켓을 만나 실패한다 (Locust 에서는 RemoteDisconnected 나 ConnectionResetError).",
            ),
            IgnoresClose { .. } | Http10KeptOpen { .. } => lang.pick(
                "A client that asked to close waits for the end of the connection; a server that keeps it open holds a descriptor (and, in a process or thread per connection, a whole worker) for nothing. A forking parent that never closes its copy of the accepted socket does exactly this.",
                "닫기를 요청한 클라이언트는 연결의 끝을 기다린다. 연결을 열어 두는 서버는 디스크립터를 (연결마다 프로세스나 스레드라면 작업자 하나를) 헛되이 붙잡는다. accept 한 소켓의 사본을 닫지 않는 fork 서버의 부모가 바로 이렇게 한다.",
            ),
            HeadBody { .. } => lang.pick(
                "An answer to HEAD ends at its header; body bytes are read as the start of the next answer on the connection, which is then garbage.",
                "HEAD 응답은 헤더에서 끝난다. 본문 바이트는 그 연결의 다음 응답의 시작으로 읽혀 다음 응답이 깨진다.",
            ),
            UnknownPathOk { .. } => lang.pick(
                "A load test of a path that does not exist then measures nothing, and a typo in a locustfile goes unnoticed.",
                "없는 경로를 부하 테스트해도 아무것도 측정하지 못하고, locustfile 의 오타도 드러나지 않는다.",
            ),
            PipelineLost { .. } => lang.pick(
                "A server that keeps connections must answer every request on them in order, however they arrive; the lost answer is a client's timeout or failure.",
                "연결을 유지하는 서버는 요청이 어떻게 도착하든 모두 순서대로 응답해야 한다. 사라진 응답은 클라이언트의 시간 초과나 실패가 된다.",
            ),
            LongCut { .. } => lang.pick(
                "A socket closed with unread bytes makes the kernel send a reset instead of a normal end; the reset can overtake the answer, and a client reading to the end sees ConnectionResetError. Real requests pass 1,024 bytes easily (cookies, a body).",
                "읽지 않은 바이트가 남은 채 소켓을 닫으면 커널은 정상 종료 대신 리셋을 보낸다. 리셋이 응답을 앞지를 수 있고, 끝까지 읽는 클라이언트는 ConnectionResetError 를 본다. 실제 요청은 쿠키나 본문으로 1,024 바이트를 쉽게 넘는다.",
            ),
            BadRequestAccepted { .. } => lang.pick(
                "A server that answers 200 to anything cannot tell its clients they sent nonsense.",
                "무엇에든 200 으로 응답하는 서버는 클라이언트에게 잘못 보냈다고 알려 줄 수 없다.",
            ),
            BadRequestDropped => lang.pick(
                "Closing is allowed; a 400 tells the client why.",
                "닫는 것도 허용되지만, 400 은 클라이언트에게 이유를 알려 준다.",
            ),
            Serial { .. } => lang.pick(
                "That is the single-process design: one client at a time, so one slow or idle client holds all. In a multi-process or multi-thread server it is a defect (join() inside the accept loop does it).",
                "이것이 단일 프로세스 설계다: 한 번에 한 클라이언트라 느리거나 말 없는 클라이언트 하나가 모두를 막는다. 멀티 프로세스나 멀티 스레드 서버라면 결함이다 (accept 루프 안의 join() 이 그렇게 만든다).",
            ),
            Dies { .. } => lang.pick(
                "Clients leave early all the time (a timeout, a closed tab, Locust stopping). A send() to a client that left raises BrokenPipeError or ConnectionResetError; uncaught, it ends the server, and every later request fails with ConnectionRefusedError.",
                "클라이언트는 늘 일찍 떠난다 (시간 초과, 닫힌 탭, Locust 의 중지). 떠난 클라이언트에게 send() 하면 BrokenPipeError 나 ConnectionResetError 가 나고, 잡지 않으면 서버가 끝나 이후 모든 요청이 ConnectionRefusedError 로 실패한다.",
            ),
            ManyFailed { .. } => lang.pick(
                "Under Locust's thousands of users these failures come sooner and more often.",
                "Locust 의 수천 사용자 아래에서는 이런 실패가 더 빨리, 더 자주 온다.",
            ),
            FdLeak { .. } => lang.pick(
                "A process has a fixed number of descriptors (ulimit -n, often 1,024); when they run out accept() fails with EMFILE and the server stops taking clients, and until then every connection stays open on the client's side too.",
                "프로세스의 디스크립터 수는 정해져 있다 (ulimit -n, 흔히 1,024). 다 쓰면 accept() 가 EMFILE 로 실패해 서버가 더는 클라이언트를 받지 못하고, 그때까지 클라이언트 쪽 연결도 열린 채 남는다.",
            ),
            Zombies { .. } => lang.pick(
                "Each zombie holds a process slot; at the user's process limit fork() fails and the server stops serving.",
                "좀비 하나하나가 프로세스 자리를 차지한다. 사용자 프로세스 한도에 이르면 fork() 가 실패해 서버가 멈춘다.",
            ),
            Crashed { .. } => lang.pick(
                "A server that ends on one client's request ends every other client's too; under Locust the rest of the run is ConnectionRefusedError.",
                "클라이언트 하나의 요청에 끝나는 서버는 다른 모든 클라이언트도 끝낸다. Locust 에서는 나머지 실행이 모두 ConnectionRefusedError 가 된다.",
            ),
            Malformed { .. } | HeadUnended { .. } => lang.pick(
                "A client reads a status line, header fields and a blank line before any body; anything else is not an answer, and every Locust request fails (BadStatusLine, RemoteDisconnected or a timeout).",
                "클라이언트는 본문보다 먼저 상태 줄, 헤더 필드, 빈 줄을 읽는다. 그렇지 않으면 응답이 아니며, Locust 의 모든 요청이 실패한다 (BadStatusLine, RemoteDisconnected, 또는 시간 초과).",
            ),
            ClosedEmpty => lang.pick(
                "The client sees the connection end before any answer (RemoteDisconnected in Locust). Output written through a buffer (a FILE*, a BufferedWriter, makefile()) and never flushed before the close ends this way.",
                "클라이언트는 응답 없이 연결이 끝나는 것을 본다 (Locust 에서는 RemoteDisconnected). 버퍼 (FILE*, BufferedWriter, makefile()) 로 쓰고 닫기 전에 flush 하지 않은 출력이 이렇게 된다.",
            ),
            Silent { .. } => lang.pick(
                "Every client waits for its own timeout (Locust's default waits forever); the connection and whatever serves it stay taken.",
                "모든 클라이언트가 자기 시간 초과까지 기다린다 (Locust 의 기본값은 끝없이 기다린다). 연결과 그것을 맡은 작업자는 계속 묶여 있다.",
            ),
            NeverEnds { .. } => lang.pick(
                "Without Content-Length the body ends only at the close; if the close never comes, the client waits until its own timeout and then fails, although every byte came. A forking parent that keeps its copy of the accepted socket does exactly this.",
                "Content-Length 가 없으면 본문은 연결이 닫혀야 끝난다. 닫힘이 오지 않으면 모든 바이트가 왔어도 클라이언트는 시간 초과까지 기다리다 실패한다. accept 한 소켓의 사본을 닫지 않는 fork 서버의 부모가 바로 이렇게 한다.",
            ),
            Spins { .. } => lang.pick(
                "A loop that reads a closed socket gets b'' (or 0) at once, forever: a thread or process that never checks for it burns a core, and under Locust every client that leaves adds one more.",
                "닫힌 소켓을 읽는 루프는 곧바로 b'' (또는 0) 을 끝없이 받는다. 이를 확인하지 않는 스레드나 프로세스는 코어 하나를 태우고, Locust 에서는 떠나는 클라이언트마다 하나씩 늘어난다.",
            ),
            PerConnection { .. } => lang.pick(
                "A design's property, not a bug: each client costs a thread or process (its memory, a scheduler slot) for as long as it stays connected, idle or not; at thousands of users the memory and the thread or process limit (ulimit -u, kernel.pid_max) are what stop it.",
                "버그가 아니라 설계의 성질이다: 클라이언트마다 연결되어 있는 동안 (놀고 있어도) 스레드나 프로세스 하나 (그 메모리와 스케줄러 자리) 를 쓴다. 사용자가 수천 명이면 메모리와 스레드/프로세스 한도 (ulimit -u, kernel.pid_max) 가 서버를 멈춘다.",
            ),
            StoppedAccepting => lang.pick(
                "From then on every client gets ConnectionRefusedError, although the process still runs (and looks fine in ps).",
                "그 뒤로 모든 클라이언트가 ConnectionRefusedError 를 받는다. 프로세스는 여전히 살아 있어 ps 로는 멀쩡해 보인다.",
            ),
            PipelineClosed => lang.pick(
                "Allowed: the client resends the second request on a new connection.",
                "허용된다: 클라이언트가 두 번째 요청을 새 연결로 다시 보낸다.",
            ),
            Answers { .. } => lang.pick(
                "GET / is what the default Locust user asks; a non-2xx status counts as a failure there.",
                "GET / 은 기본 Locust 사용자가 보내는 요청이며, 2xx 가 아닌 상태는 실패로 집계된다.",
            ),
            _ => "",
        }
    }

    /// How to fix it (empty for a pass).
    pub fn fix(&self, lang: Lang) -> &'static str {
        use Kind::*;
        match self {
            NoAnswer { .. } => lang.pick(
                "Check that it listens on the address given and writes a status line (HTTP/1.1 200 OK\\r\\n) first.",
                "주어진 주소에서 듣는지, 그리고 상태 줄 (HTTP/1.1 200 OK\\r\\n) 을 먼저 쓰는지 확인한다.",
            ),
            BareLf => lang.pick(
                "Write \"HTTP/1.1 200 OK\\r\\nContent-Type: text/html\\r\\n\\r\\n\": \\r\\n after every line, and once more after the last.",
                "\"HTTP/1.1 200 OK\\r\\nContent-Type: text/html\\r\\n\\r\\n\" 처럼 모든 줄 뒤에 \\r\\n, 마지막 줄 뒤에 한 번 더 쓴다.",
            ),
            NoLength | WrongLength { .. } => lang.pick(
                "Build the body first, then send Content-Length: len(body) (in bytes, after encoding) in the header.",
                "본문을 먼저 만들고, 헤더에 Content-Length: len(body) (인코딩한 뒤의 바이트 수) 를 보낸다.",
            ),
            ClosesSaysSo => lang.pick(
                "To keep connections, loop on the socket: read a request, answer it, read the next.",
                "연결을 유지하려면 소켓에서 반복한다: 요청을 읽고, 응답하고, 다음 요청을 읽는다.",
            ),
            ClosesSilently => lang.pick(
                "Send Connection: close in the header of an answer after which you close.",
                "응답 후 닫을 것이라면 그 응답의 헤더에 Connection: close 를 보낸다.",
            ),
            IgnoresClose { .. } | Http10KeptOpen { .. } => lang.pick(
                "Close after answering a request that says Connection: close, or an HTTP/1.0 one without keep-alive; in a forking server the parent closes its copy of the accepted socket right after fork().",
                "Connection: close 요청이나 keep-alive 없는 HTTP/1.0 요청에는 응답 후 닫는다. fork 서버라면 부모가 fork() 직후 accept 한 소켓의 사본을 닫는다.",
            ),
            HeadBody { .. } => lang.pick(
                "For HEAD, send the header GET would get (Content-Length included) and no body.",
                "HEAD 에는 GET 과 같은 헤더 (Content-Length 포함) 만 보내고 본문은 보내지 않는다.",
            ),
            UnknownPathOk { .. } => lang.pick(
                "Answer 404 Not Found for a path the server does not have.",
                "없는 경로에는 404 Not Found 로 응답한다.",
            ),
            PipelineLost { .. } => lang.pick(
                "Keep what recv() returned beyond one request and parse it as the next before reading again.",
                "recv() 가 요청 하나보다 많이 돌려준 바이트는 버리지 말고, 다시 읽기 전에 다음 요청으로 파싱한다.",
            ),
            LongCut { .. } => lang.pick(
                "Read until the blank line that ends the header (\\r\\n\\r\\n), then Content-Length more bytes of body: recv() in a loop, not once.",
                "헤더 끝의 빈 줄 (\\r\\n\\r\\n) 까지, 그리고 Content-Length 만큼의 본문까지 recv() 를 한 번이 아니라 반복해서 읽는다.",
            ),
            BadRequestAccepted { .. } | BadRequestDropped => lang.pick(
                "Answer 400 Bad Request when the request line is not METHOD TARGET HTTP/1.x.",
                "요청 줄이 METHOD TARGET HTTP/1.x 가 아니면 400 Bad Request 로 응답한다.",
            ),
            Serial { .. } => lang.pick(
                "Serve each connection in its own process or thread and go straight back to accept(): join() (or wait) only at shutdown, never inside the accept loop.",
                "연결마다 프로세스나 스레드를 두고 곧바로 accept() 로 돌아간다. join() (또는 wait) 은 accept 루프 안이 아니라 종료할 때만 한다.",
            ),
            // it ended by itself, with success: no exception to catch
            Crashed { said } if said.starts_with("exit status 0") => lang.pick(
                "Keep the accept loop going: a return, break, sys.exit() or exit(0) after a request (or a loop that ends when a client leaves) ends the server for everyone.",
                "accept 루프를 계속 돌린다: 요청 뒤의 return, break, sys.exit(), exit(0) (또는 클라이언트가 떠나면 끝나는 루프) 가 모두를 위한 서버를 끝낸다.",
            ),
            Dies { .. } | Crashed { .. } => lang.pick(
                "Catch OSError (BrokenPipeError, ConnectionResetError) around each connection's recv/send, close that socket, and go on serving; use sendall() rather than send().",
                "연결마다 recv/send 를 try/except OSError (BrokenPipeError, ConnectionResetError) 로 감싸 그 소켓만 닫고 계속 서비스한다. send() 대신 sendall() 을 쓴다.",
            ),
            Malformed { .. } => lang.pick(
                "Send the status line first (HTTP/1.1 200 OK\\r\\n), then the header fields, each ending \\r\\n, then \\r\\n alone, then the body; print the request to the terminal, not to the client.",
                "상태 줄 (HTTP/1.1 200 OK\\r\\n) 을 먼저, 그다음 \\r\\n 으로 끝나는 헤더 필드들, 그다음 \\r\\n 하나, 그리고 본문을 보낸다. 요청은 클라이언트가 아니라 터미널에 출력한다.",
            ),
            HeadUnended { .. } => lang.pick(
                "End the header with an empty line: \\r\\n after the last field and \\r\\n once more, before the body.",
                "헤더를 빈 줄로 끝낸다: 마지막 필드 뒤 \\r\\n 과 본문 앞의 \\r\\n 한 번 더.",
            ),
            ClosedEmpty => lang.pick(
                "Flush what you wrote before closing: fflush() (or fclose()) a FILE*, flush() a BufferedWriter or makefile() object; or write to the socket itself with sendall().",
                "닫기 전에 쓴 것을 flush 한다: FILE* 는 fflush() (또는 fclose()), BufferedWriter 나 makefile() 객체는 flush(). 또는 소켓에 직접 sendall() 로 쓴다.",
            ),
            Silent { .. } => lang.pick(
                "Read the request up to the blank line (\\r\\n\\r\\n) as soon as the connection is accepted, and answer it with sendall(); a handler that waits on something else first keeps every client waiting.",
                "연결을 받자마자 빈 줄 (\\r\\n\\r\\n) 까지 요청을 읽고 sendall() 로 응답한다. 다른 것을 먼저 기다리는 핸들러는 모든 클라이언트를 기다리게 한다.",
            ),
            NeverEnds { .. } => lang.pick(
                "Send Content-Length: len(body) with every answer, and close when done; in a forking server the parent closes its copy of the accepted socket right after fork().",
                "모든 응답에 Content-Length: len(body) 를 보내고, 끝나면 닫는다. fork 서버라면 부모가 fork() 직후 accept 한 소켓의 사본을 닫는다.",
            ),
            Spins { .. } => lang.pick(
                "Leave the loop when recv() returns b'' (0 in C): the client closed; close the socket and end the thread or process.",
                "recv() 가 b'' (C 에서는 0) 을 돌려주면 루프를 끝낸다: 클라이언트가 닫은 것이다. 소켓을 닫고 스레드나 프로세스를 끝낸다.",
            ),
            PerConnection { .. } => lang.pick(
                "To hold thousands of clients, bound the workers (a pool) and let the rest wait, or serve many connections per thread with an event loop (select/poll/epoll, asyncio); the report compares the designs.",
                "수천 클라이언트를 버티려면 작업자 수를 제한하고 (풀) 나머지는 기다리게 하거나, 이벤트 루프 (select/poll/epoll, asyncio) 로 스레드 하나가 여러 연결을 맡게 한다. 보고서가 설계들을 비교한다.",
            ),
            StoppedAccepting => lang.pick(
                "Close the client's socket in an exception handler, never the listening one; catch the exceptions you expect (UnicodeDecodeError, OSError), not everything.",
                "예외 처리에서 듣기 소켓이 아니라 클라이언트 소켓을 닫는다. 모든 예외가 아니라 예상하는 예외 (UnicodeDecodeError, OSError) 만 잡는다.",
            ),
            ManyFailed { .. } => lang.pick(
                "Look at the first failure above, and at the server's own output.",
                "위의 첫 실패와 서버 자신의 출력을 살펴본다.",
            ),
            FdLeak { .. } => lang.pick(
                "Close what each connection opens once it is served: its socket (in a forking server the parent closes its copy right after fork(); the child keeps its own), and any file it opened (use with open(...) as f:).",
                "연결마다 연 것은 서비스를 마치면 닫는다: 소켓 (fork 서버라면 부모가 fork() 직후 자기 사본을 닫고, 자식은 자기 사본을 쓴다) 과 연 파일 (with open(...) as f: 를 쓴다).",
            ),
            Zombies { .. } => lang.pick(
                "Reap children: os.waitpid(-1, os.WNOHANG) in a loop (or a SIGCHLD handler) in the parent, or signal.signal(SIGCHLD, SIG_IGN).",
                "자식을 거둔다: 부모에서 os.waitpid(-1, os.WNOHANG) 를 반복하거나 (또는 SIGCHLD 핸들러), signal.signal(SIGCHLD, SIG_IGN) 을 쓴다.",
            ),
            _ => "",
        }
    }
}

/// One probe's finding.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The probe, as a short name (`GET /`, `HEAD`, `2,000 connections`...).
    pub probe: String,
    /// How bad.
    pub severity: Severity,
    /// What it found.
    #[serde(flatten)]
    pub kind: Kind,
    /// The bytes seen (the start of an answer, escaped), where they show it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub seen: String,
    /// Why a real client cares, in English (empty for a pass): `--json`'s copy of the text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub why: String,
    /// How to fix it, in English (empty for a pass).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fix: String,
    /// The later probes that found the same (one cause, one finding: a server that answers
    /// every probe the same broken way, or ends on each, is said once).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<String>,
}

impl Finding {
    /// A finding, its severity from its kind.
    pub fn new(probe: &str, kind: Kind, seen: String) -> Finding {
        let severity = kind.severity();
        let said = |text: &str| {
            if severity == Severity::Pass {
                String::new()
            } else {
                text.to_string()
            }
        };
        Finding {
            probe: probe.to_string(),
            severity,
            why: said(kind.why(Lang::En)),
            fix: said(kind.fix(Lang::En)),
            kind,
            seen,
            also: Vec::new(),
        }
    }
}

/// One server's check: who, and what was found, in probe order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// The server: a URL, or a row's name.
    pub server: String,
    /// The findings.
    pub findings: Vec<Finding>,
}

impl Check {
    /// The findings that are errors.
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
    }

    /// The worst severity found.
    pub fn worst(&self) -> Severity {
        self.findings
            .iter()
            .map(|f| f.severity)
            .max()
            .unwrap_or(Severity::Pass)
    }
}

/// A probe's name as a reader of `lang` reads it (the JSON keeps the English one).
pub fn probe_label(probe: &str, lang: Lang) -> &str {
    if lang == Lang::En {
        return probe;
    }
    match probe {
        "unknown path" => "없는 경로",
        "pipelining" => "파이프라이닝",
        "long request" => "긴 요청",
        "bad request" => "잘못된 요청",
        "silent client" => "말 없는 클라이언트",
        "2,000 connections" => "연속 2,000 연결",
        "early leavers" => "일찍 떠나는 클라이언트",
        "idle clients" => "유휴 클라이언트",
        other => other,
    }
}

/// Bytes as a person reads them: printable ASCII as is, `\r` `\n` `\t` as escapes, the rest
/// as `\xNN`; at most `max` bytes, with `…` after a cut.
pub fn escape(bytes: &[u8], max: usize) -> String {
    let mut s = String::new();
    for &b in bytes.iter().take(max) {
        match b {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    if bytes.len() > max {
        s.push('…');
    }
    s
}

/// The check as the terminal shows it: a line per finding, and under each one that is not a
/// pass, the bytes seen, why it matters and how to fix it; then a summary line.
pub fn render_text(check: &Check, lang: Lang) -> String {
    let mut out = format!("{} {}\n", lang.pick("check:", "검사:"), check.server);
    for f in &check.findings {
        let rule = f.kind.rule();
        out.push_str(&format!(
            "  {:<8} {:<18} {}{}{}\n",
            f.severity.tag(lang),
            probe_label(&f.probe, lang),
            f.kind.title(lang),
            also(f, lang),
            if rule.is_empty() || f.severity == Severity::Pass {
                String::new()
            } else {
                format!(" [{rule}]")
            }
        ));
        if f.severity != Severity::Pass {
            if !f.seen.is_empty() {
                out.push_str(&format!(
                    "           {} {}\n",
                    lang.pick("seen:", "받은 바이트:"),
                    f.seen
                ));
            }
            for (label, text) in [
                (lang.pick("why:", "이유:"), f.kind.why(lang)),
                (lang.pick("fix:", "고치기:"), f.kind.fix(lang)),
            ] {
                if !text.is_empty() {
                    out.push_str(&format!("           {label} {text}\n"));
                }
            }
        }
    }
    out.push_str(&summary(check, lang));
    out.push('\n');
    out
}

/// What a leak of `per` descriptors a connection means at the assignment's 10,000 users, and
/// when it meets the open-file limit.
fn leak_projection(per: f64, now: u64, limit: Option<u64>, lang: Lang) -> String {
    let users = 10_000.0;
    let need = now as f64 + per * users;
    match (limit, lang) {
        (Some(l), Lang::En) => format!(
            " (10,000 users' connections would need {}; its limit, ulimit -n, is {}: it stops accepting after about {} more)",
            int(need),
            int(l as f64),
            int((l.saturating_sub(now) as f64 / per.max(0.001)).floor())
        ),
        (Some(l), Lang::Ko) => format!(
            " (사용자 10,000명의 연결에는 {}개가 필요하다. 한도 ulimit -n 은 {}개라 약 {}개 연결 뒤 더는 받지 못한다)",
            int(need),
            int(l as f64),
            int((l.saturating_sub(now) as f64 / per.max(0.001)).floor())
        ),
        (None, Lang::En) => format!(" (10,000 users' connections would need {})", int(need)),
        (None, Lang::Ko) => format!(" (사용자 10,000명의 연결에는 {}개가 필요하다)", int(need)),
    }
}

/// "; the same in 3 more probes: HEAD, ..." for a finding that stands for several.
pub fn also(f: &Finding, lang: Lang) -> String {
    if f.also.is_empty() {
        return String::new();
    }
    let names: Vec<&str> = f.also.iter().map(|p| probe_label(p, lang)).collect();
    match lang {
        Lang::En => format!(
            "; the same in {} more probe(s): {}",
            names.len(),
            names.join(", ")
        ),
        Lang::Ko => format!("; 검사 {}개에서 똑같다: {}", names.len(), names.join(", ")),
    }
}

/// "3 errors, 1 warning, 9 passed" (or its Korean).
pub fn summary(check: &Check, lang: Lang) -> String {
    let count = |s: Severity| check.findings.iter().filter(|f| f.severity == s).count();
    let (e, w, n, p) = (
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Note),
        count(Severity::Pass),
    );
    match lang {
        Lang::En => format!("{e} error(s), {w} warning(s), {n} note(s), {p} passed"),
        Lang::Ko => format!("오류 {e}개, 경고 {w}개, 참고 {n}개, 통과 {p}개"),
    }
}

/// The check as a Markdown list (compare's report): every finding that is not a pass, with
/// why and how to fix; the passes as one line.
pub fn render_markdown(check: &Check, lang: Lang) -> String {
    let mut out = String::new();
    for f in check
        .findings
        .iter()
        .filter(|f| f.severity != Severity::Pass)
    {
        let rule = f.kind.rule();
        out.push_str(&format!(
            "- **{}** ({}{}): {}{}.",
            f.severity.tag(lang),
            probe_label(&f.probe, lang),
            if rule.is_empty() {
                String::new()
            } else {
                format!(", {rule}")
            },
            f.kind.title(lang),
            also(f, lang)
        ));
        if !f.seen.is_empty() {
            out.push_str(&format!(
                " {} `{}`.",
                lang.pick("Seen:", "받은 바이트:"),
                f.seen.replace('`', "'")
            ));
        }
        for text in [f.kind.why(lang), f.kind.fix(lang)] {
            if !text.is_empty() {
                out.push(' ');
                out.push_str(text);
            }
        }
        out.push('\n');
    }
    let mut passed: Vec<&str> = Vec::new();
    for f in check
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Pass)
    {
        // a probe with several findings (GET /) is named once, if none of them failed
        let failed = check
            .findings
            .iter()
            .any(|g| g.probe == f.probe && g.severity != Severity::Pass);
        let label = probe_label(&f.probe, lang);
        if !failed && !passed.contains(&label) {
            passed.push(label);
        }
    }
    if !passed.is_empty() {
        out.push_str(&format!(
            "- {}: {}\n",
            lang.pick("passed", "통과"),
            passed.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_and_text_follow_the_kind() {
        let f = Finding::new(
            "GET /",
            Kind::BareLf,
            escape(b"HTTP/1.1 200 OK\nX: y\n\n", 64),
        );
        assert_eq!(f.severity, Severity::Error);
        assert_eq!(f.seen, "HTTP/1.1 200 OK\\nX: y\\n\\n");
        let c = Check {
            server: "http://127.0.0.1:1".into(),
            findings: vec![f, Finding::new("HEAD", Kind::HeadOk, String::new())],
        };
        assert_eq!(c.worst(), Severity::Error);
        let text = render_text(&c, Lang::En);
        assert!(text.contains("error    GET /"), "{text}");
        assert!(text.contains("[RFC 9112 §2.2]"), "{text}");
        assert!(
            text.contains("1 error(s), 0 warning(s), 0 note(s), 1 passed"),
            "{text}"
        );
        let ko = render_text(&c, Lang::Ko);
        assert!(ko.contains("오류 1개"), "{ko}");
        let json = serde_json::to_string(&c).unwrap();
        assert!(json.contains("\"kind\":\"bare_lf\""), "{json}");
        assert_eq!(serde_json::from_str::<Check>(&json).unwrap(), c);
        assert_eq!(escape(&[0, b'a', 0xff], 2), "\\x00a…");
    }

    /// The fix fits the cause: a server that exited with success has no exception to catch.
    #[test]
    fn a_server_that_exits_on_purpose_is_not_told_to_catch_oserror() {
        let exited = Kind::Crashed {
            said: "exit status 0".into(),
        };
        let raised = Kind::Crashed {
            said: "exit status 1; its last words: BrokenPipeError".into(),
        };
        assert!(exited.fix(Lang::En).contains("accept loop"));
        assert!(raised.fix(Lang::En).contains("OSError"));
        let chunked = Kind::NeverEnds {
            waited_ms: 3000,
            bytes: 10,
            chunked: true,
        };
        assert!(chunked.title(Lang::En).contains("last (0) chunk"));
    }
}
