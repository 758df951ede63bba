//! The clients Locust's users have, as one table of rules: python-requests (`HttpUser`) and
//! geventhttpclient (`FastHttpUser`). What differs between them (which statuses fail, how far
//! and how redirects go, what a connection closed without an answer is called) is decided
//! here, for the engine's own loop and for the loop that serves Python users alike. A request
//! that fails is recorded as a [`Failed`] value; the client's own exception text (what Locust
//! shows) is made from it only at the edge, in [`crate::output::failure`].

use std::io;
use std::time::Duration;

/// A client of a Locust user, and its rules.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum ClientProfile {
    /// python-requests (`HttpUser`): 400 to 599 fail.
    Http,
    /// geventhttpclient (`FastHttpUser`): anything outside 2xx and the usual redirects fails.
    FastHttp,
}

/// `FastHttpUser`'s successful statuses (`LocustUserAgent.valid_response_codes`).
const FAST_VALID: [u16; 16] = [
    200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 301, 302, 303, 304, 307, 308,
];

/// python-requests' failing statuses (`raise_for_status`).
const HTTP_FAILS: std::ops::RangeInclusive<u16> = 400..=599;

/// Why a request failed, as a value. Statistics record it with the request's
/// [`ClientProfile`] (a [`Failed`]); [`crate::output::failure::text`] says it in that client's
/// words, the only place Locust's failure text is made.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Failure {
    /// Closed by the server before any byte of an answer.
    ClosedUnanswered,
    /// Closed by the server in the middle of an answer that has no other end.
    ClosedMidResponse,
    /// A system call failed: its kind, its errno, and the system's words for it.
    Io {
        /// The error's kind.
        #[serde(with = "error_kind")]
        kind: io::ErrorKind,
        /// Its errno, when the system gave one.
        errno: Option<i32>,
        /// The system's message, without Rust's " (os error N)".
        message: String,
    },
    /// No connection within the connect timeout.
    ConnectTimeout(Duration),
    /// No whole answer within the read timeout.
    ReadTimeout(Duration),
    /// More redirects than the client follows; the last hop's URL.
    TooManyRedirects(String),
    /// A status the client's own rule fails; the URL as the client cites it.
    Status {
        /// The status.
        status: u16,
        /// The request's URL (its statistics name).
        url: String,
    },
    /// A status outside the codes the step expects.
    Unexpected {
        /// The status.
        status: u16,
        /// The codes that pass.
        expected: Vec<u16>,
        /// The request's URL (its statistics name).
        url: String,
    },
    /// An answer the client cannot read as HTTP.
    Malformed(Malformed),
    /// A body that does not decode under its `Content-Encoding`.
    Decode {
        /// The encoding (`gzip`, `deflate`, `br`).
        encoding: String,
        /// The decoder's words.
        error: String,
    },
    /// A check on the response failed, with its message (`response.failure(msg)` in a
    /// `catch_response` block; `{status_code}` already filled in).
    Check(String),
    /// Anything else, already in the client's words (a TLS alert, a URL it refuses, an
    /// exception user code gave).
    Said(String),
}

/// A response this reader refuses (said in each client's words by
/// [`crate::output::failure`]).
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    thiserror::Error,
    serde::Serialize,
    serde::Deserialize,
)]
pub enum Malformed {
    /// The status line or a header line does not parse (httparse's words).
    #[error("bad status line or header: {0}")]
    StatusLine(String),
    /// A `Content-Length` that is not a number.
    #[error("a Content-Length that is not a number")]
    ContentLength,
    /// A chunk size that is not hexadecimal.
    #[error("a bad chunk size")]
    ChunkSize,
    /// A chunk's data not followed by CRLF.
    #[error("a chunk without its CRLF")]
    ChunkWithoutCrlf,
    /// A header section over 64 KiB.
    #[error("a header section over 64 KiB")]
    HeadTooLong,
    /// Bytes after a response that were not asked for.
    #[error("bytes after the response")]
    BytesAfter,
}

/// A failed request as statistics record it: why, and the client whose words say it.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Failed {
    /// The client the request was made with.
    pub client: ClientProfile,
    /// Why it failed.
    pub why: Failure,
}

impl Failed {
    /// Already in words (the Python runtime's texts: an exception user code gave, a
    /// `catch_response` failure made in Python).
    pub fn said(text: impl Into<String>) -> Failed {
        Failed {
            client: ClientProfile::Http,
            why: Failure::Said(text.into()),
        }
    }
}

impl Failure {
    /// The failure of a system call (a TLS error carries its own words).
    pub fn io(e: &io::Error) -> Failure {
        if let Some(text) = crate::tls::failure_text(e) {
            return Failure::Said(text);
        }
        let s = e.to_string();
        Failure::Io {
            kind: e.kind(),
            errno: e.raw_os_error(),
            message: s.split(" (os error").next().unwrap_or(&s).to_string(),
        }
    }
}

impl ClientProfile {
    /// Most redirects followed (python-requests' limit; Locust gives geventhttpclient the same).
    pub const MAX_REDIRECTS: u8 = 30;

    /// The profile of a request made with `FastHttpUser`'s client (`fast`) or `HttpUser`'s.
    pub fn of(fast: bool) -> ClientProfile {
        if fast {
            ClientProfile::FastHttp
        } else {
            ClientProfile::Http
        }
    }

    /// The rules the Python runtime's clients follow too (a response's `raise_for_status`,
    /// `FastHttpUser.max_redirects`), as the engine hands them to it in
    /// `SWARMLAB_CLIENT_RULES`: `http_fails=400-599;fast_valid=200,201,...;max_redirects=30`.
    /// The runtime reads them instead of restating them.
    pub fn rules_for_python() -> String {
        let valid: Vec<String> = FAST_VALID.iter().map(u16::to_string).collect();
        format!(
            "http_fails={}-{};fast_valid={};max_redirects={}",
            HTTP_FAILS.start(),
            HTTP_FAILS.end(),
            valid.join(","),
            Self::MAX_REDIRECTS
        )
    }

    /// The client's own rule for a status: `Some(the failure)` when it fails.
    /// `name`: the request's URL as python-requests' `HTTPError` cites it.
    pub fn status_failure(self, status: u16, name: &str) -> Option<Failure> {
        let fails = match self {
            ClientProfile::Http => HTTP_FAILS.contains(&status),
            ClientProfile::FastHttp => !FAST_VALID.contains(&status),
        };
        fails.then(|| Failure::Status {
            status,
            url: name.to_string(),
        })
    }

    /// `failure` as this client's.
    pub fn failed(self, why: Failure) -> Failed {
        Failed { client: self, why }
    }

    /// The method of the next hop after a redirect with `status` of a `method` request:
    /// 307 and 308 repeat it; 302 and 303 turn it into GET (HEAD stays HEAD); a 301 turns a
    /// POST into GET under python-requests, anything into GET under geventhttpclient.
    pub fn redirect_method(self, status: u16, method: &str) -> String {
        let to_get = match status {
            307 | 308 => false,
            _ if method == "HEAD" => false,
            302 | 303 => true,
            _ => self == ClientProfile::FastHttp || method == "POST",
        };
        if to_get { "GET" } else { method }.to_string()
    }

    /// Whether the next hop drops the body (and its `Content-Type`): not after 307 and 308;
    /// after the others python-requests always does, geventhttpclient when it turned the
    /// request into a GET.
    pub fn redirect_drops_body(self, status: u16, turned_into_get: bool) -> bool {
        !matches!(status, 307 | 308) && (turned_into_get || self == ClientProfile::Http)
    }

    /// Turns a request into its next hop after a redirect with `status`: its method as
    /// [`Self::redirect_method`] says, its body (with `Content-Type` and `Transfer-Encoding`)
    /// dropped as [`Self::redirect_drops_body`] says, `Authorization` dropped when the hop
    /// leaves the origin (`same_origin` false), as both clients do.
    pub fn redirect_request(
        self,
        status: u16,
        method: &mut String,
        headers: &mut Vec<(String, String)>,
        body: &mut Option<Vec<u8>>,
        same_origin: bool,
    ) {
        let next = self.redirect_method(status, method);
        let to_get = next != *method;
        *method = next;
        if self.redirect_drops_body(status, to_get) {
            *body = None;
            headers.retain(|(k, _)| {
                !k.eq_ignore_ascii_case("content-type")
                    && !k.eq_ignore_ascii_case("transfer-encoding")
            });
        }
        if !same_origin {
            headers.retain(|(k, _)| !k.eq_ignore_ascii_case("authorization"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ClientProfile::{FastHttp, Http};
    use super::*;

    #[test]
    fn statuses_fail_by_the_clients_own_rules() {
        assert_eq!(Http.status_failure(399, "/x"), None);
        assert_eq!(
            Http.status_failure(404, "http://h/x"),
            Some(Failure::Status {
                status: 404,
                url: "http://h/x".into()
            })
        );
        assert_eq!(Http.status_failure(100, "/x"), None);
        assert!(FastHttp.status_failure(100, "/x").is_some());
        assert_eq!(FastHttp.status_failure(226, "/x"), None);
        assert!(FastHttp.status_failure(299, "/x").is_some());
    }

    #[test]
    fn redirects_change_method_and_body_as_each_client_does() {
        assert_eq!(Http.redirect_method(301, "PUT"), "PUT");
        assert_eq!(FastHttp.redirect_method(301, "PUT"), "GET");
        assert_eq!(Http.redirect_method(301, "POST"), "GET");
        assert_eq!(Http.redirect_method(303, "HEAD"), "HEAD");
        assert_eq!(FastHttp.redirect_method(307, "POST"), "POST");
        assert!(Http.redirect_drops_body(301, false));
        assert!(!FastHttp.redirect_drops_body(301, false));
        assert!(!Http.redirect_drops_body(308, false));
        let (mut method, mut body) = ("POST".to_string(), Some(b"x".to_vec()));
        let mut headers = vec![
            ("Content-Type".to_string(), "text/plain".to_string()),
            ("Authorization".to_string(), "Basic x".to_string()),
        ];
        Http.redirect_request(302, &mut method, &mut headers, &mut body, false);
        assert_eq!((method.as_str(), body, headers.len()), ("GET", None, 0));
        let (mut method, mut body) = ("PUT".to_string(), Some(b"x".to_vec()));
        let mut headers = vec![("Authorization".to_string(), "Basic x".to_string())];
        FastHttp.redirect_request(307, &mut method, &mut headers, &mut body, true);
        assert_eq!(
            (method.as_str(), body.is_some(), headers.len()),
            ("PUT", true, 1)
        );
    }

    #[test]
    fn the_python_runtime_gets_the_same_rules() {
        let rules = ClientProfile::rules_for_python();
        assert!(rules.starts_with("http_fails=400-599;fast_valid=200,201,"));
        assert!(rules.ends_with(",304,307,308;max_redirects=30"));
    }
}

/// `io::ErrorKind` across the engine's processes (it has no serde of its own): by its name,
/// every kind a request can meet, the rest as `Other`.
mod error_kind {
    use std::io::ErrorKind as K;

    const KINDS: [K; 22] = [
        K::NotFound,
        K::PermissionDenied,
        K::ConnectionRefused,
        K::ConnectionReset,
        K::HostUnreachable,
        K::NetworkUnreachable,
        K::ConnectionAborted,
        K::NotConnected,
        K::AddrInUse,
        K::AddrNotAvailable,
        K::NetworkDown,
        K::BrokenPipe,
        K::AlreadyExists,
        K::WouldBlock,
        K::InvalidInput,
        K::InvalidData,
        K::TimedOut,
        K::WriteZero,
        K::Interrupted,
        K::Unsupported,
        K::UnexpectedEof,
        K::OutOfMemory,
    ];

    pub fn serialize<S: serde::Serializer>(kind: &K, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{kind:?}"))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<K, D::Error> {
        let name: String = serde::Deserialize::deserialize(d)?;
        Ok(KINDS
            .into_iter()
            .find(|k| format!("{k:?}") == name)
            .unwrap_or(K::Other))
    }
}
