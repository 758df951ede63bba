//! A failed request in its client's words: the exception text Locust shows for it (its
//! statistics' error column, its `_failures.csv`, a worker's report to its master, the
//! Python runtime's `response.error`). Made here from the typed [`Failed`] the engine
//! records, and nowhere else.

use std::io;

use crate::client::py_repr;
use crate::profile::{ClientProfile, Failed, Failure, Malformed};
use crate::stats::{ErrorRow, Stats};

/// The failure as its client says it.
pub fn text(failed: &Failed) -> String {
    say(failed.client, &failed.why)
}

/// `why` in `client`'s words.
pub fn say(client: ClientProfile, why: &Failure) -> String {
    match (why, client) {
        (Failure::ClosedUnanswered, ClientProfile::Http) => {
            "RemoteDisconnected('Remote end closed connection without response')".into()
        }
        // geventhttpclient sends a GET again on a fresh connection first; what is left when
        // that fails too is this
        (Failure::ClosedUnanswered, ClientProfile::FastHttp) => {
            "HTTPConnectionClosed('connection closed.')".into()
        }
        (Failure::ClosedMidResponse, _) => "IncompleteRead('connection closed mid-response')".into(),
        (
            Failure::Io {
                kind,
                errno,
                message,
            },
            _,
        ) => match kind {
            io::ErrorKind::ConnectionRefused => {
                "ConnectionRefusedError(111, 'Connection refused')".into()
            }
            io::ErrorKind::ConnectionReset => {
                "ConnectionResetError(104, 'Connection reset by peer')".into()
            }
            io::ErrorKind::BrokenPipe => "BrokenPipeError(32, 'Broken pipe')".into(),
            io::ErrorKind::ConnectionAborted => {
                "ConnectionAbortedError(103, 'Software caused connection abort')".into()
            }
            _ => match errno {
                Some(code) => format!("OSError({code}, '{message}')"),
                None => format!("OSError('{message}')"),
            },
        },
        (Failure::ConnectTimeout(d), _) => format!(
            "ConnectTimeout('Connection timed out. (connect timeout={})')",
            d.as_secs_f64()
        ),
        (Failure::ReadTimeout(d), _) => format!(
            "ReadTimeout('Read timed out. (read timeout={})')",
            d.as_secs_f64()
        ),
        (Failure::TooManyRedirects(_), ClientProfile::Http) => format!(
            "TooManyRedirects('Exceeded {} redirects.')",
            ClientProfile::MAX_REDIRECTS
        ),
        (Failure::TooManyRedirects(url), ClientProfile::FastHttp) => format!(
            "RetriesExceeded('{url}', 0, original=Redirection limit reached ({}))",
            ClientProfile::MAX_REDIRECTS
        ),
        (Failure::Status { status, url }, ClientProfile::Http) => {
            status_error_string(*status, url)
        }
        (Failure::Status { status, .. }, ClientProfile::FastHttp) => {
            format!("LocustBadStatusCode(code={status})")
        }
        (
            Failure::Unexpected {
                status,
                expected,
                url,
            },
            _,
        ) => format!("UnexpectedStatus('got {status} expected {expected:?} for url: {url}')"),
        (Failure::Malformed(m), _) => match m {
            Malformed::StatusLine(e) => format!("BadStatusLine('{e}')"),
            Malformed::ContentLength => "InvalidHeader('Content-Length')".into(),
            Malformed::ChunkSize => "InvalidChunkLength('bad chunk size')".into(),
            Malformed::ChunkWithoutCrlf => "InvalidChunkLength('chunk without crlf')".into(),
            Malformed::HeadTooLong => "LineTooLong('header section over 64 KiB')".into(),
            Malformed::BytesAfter => "BadResponse('bytes after the response')".into(),
        },
        (Failure::Decode { encoding, error }, _) => format!(
            "ContentDecodingError(DecodeError('Received response with content-encoding: {encoding}, but failed to decode it.', error('{error}')))"
        ),
        (Failure::Check(msg), _) => format!("CatchResponseError({})", py_repr(msg)),
        (Failure::Said(text), _) => text.clone(),
    }
}

/// Locust's error string for a status that fails (python-requests `raise_for_status`).
pub fn status_error_string(status: u16, name: &str) -> String {
    let kind = if status < 500 {
        "Client Error"
    } else {
        "Server Error"
    };
    format!(
        "HTTPError('{status} {kind}: {} for url: {name}')",
        reason(status)
    )
}

fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        414 => "URI Too Long",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// One row of the error report: a statistics entry, the failure's text, and how often.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorLine {
    /// Index into the entries (the statistics row).
    pub entry: usize,
    /// The failure in its client's words.
    pub error: String,
    /// Occurrences, first and last seen.
    pub row: ErrorRow,
}

/// The failures of `errors` as Locust groups them: by entry and text (two typed failures that
/// read the same are one row), in (entry, text) order.
pub fn lines<'a>(
    errors: impl IntoIterator<Item = (&'a (usize, Failed), &'a ErrorRow)>,
) -> Vec<ErrorLine> {
    let mut by_text: std::collections::BTreeMap<(usize, String), ErrorRow> =
        std::collections::BTreeMap::new();
    for ((entry, failed), row) in errors {
        by_text
            .entry((*entry, text(failed)))
            .and_modify(|r| r.merge(row))
            .or_insert_with(|| row.clone());
    }
    by_text
        .into_iter()
        .map(|((entry, error), row)| ErrorLine { entry, error, row })
        .collect()
}

/// [`lines`] of the whole run's statistics.
pub fn error_lines(stats: &Stats) -> Vec<ErrorLine> {
    lines(&stats.errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::ClientProfile::{FastHttp, Http};
    use std::time::Duration;

    #[test]
    fn an_unanswered_close_is_each_clients_exception() {
        assert_eq!(
            say(Http, &Failure::ClosedUnanswered),
            "RemoteDisconnected('Remote end closed connection without response')"
        );
        assert_eq!(
            say(FastHttp, &Failure::ClosedUnanswered),
            "HTTPConnectionClosed('connection closed.')"
        );
        assert_eq!(say(FastHttp, &Failure::Said("x".into())), "x");
        assert_eq!(
            say(Http, &Failure::ReadTimeout(Duration::from_millis(1500))),
            "ReadTimeout('Read timed out. (read timeout=1.5)')"
        );
        let refused = io::Error::from_raw_os_error(111);
        assert_eq!(
            say(Http, &Failure::io(&refused)),
            "ConnectionRefusedError(111, 'Connection refused')"
        );
        let other = io::Error::from_raw_os_error(24);
        assert_eq!(
            say(Http, &Failure::io(&other)),
            "OSError(24, 'Too many open files')"
        );
    }

    #[test]
    fn statuses_and_redirects_in_each_clients_words() {
        let f = Http.status_failure(404, "http://h/x").unwrap();
        assert_eq!(
            say(Http, &f),
            "HTTPError('404 Client Error: Not Found for url: http://h/x')"
        );
        let f = FastHttp.status_failure(100, "/x").unwrap();
        assert_eq!(say(FastHttp, &f), "LocustBadStatusCode(code=100)");
        let many = Failure::TooManyRedirects("http://h/".into());
        assert!(say(Http, &many).contains("Exceeded 30 redirects"));
        assert!(say(FastHttp, &many).starts_with("RetriesExceeded('http://h/', 0,"));
        assert_eq!(
            say(Http, &Failure::Check("it's {x}".into())),
            r#"CatchResponseError("it's {x}")"#
        );
        assert_eq!(
            say(
                Http,
                &Failure::Malformed(Malformed::StatusLine("invalid token".into()))
            ),
            "BadStatusLine('invalid token')"
        );
    }

    #[test]
    fn failures_that_read_the_same_are_one_row() {
        let mut d = crate::stats::Delta::new(1, 10, 1, false);
        // the same status at two URLs is one row for geventhttpclient (its text has no URL)
        for url in ["/a", "/b"] {
            let why = FastHttp.status_failure(500, url).unwrap();
            d.error(0, FastHttp.failed(why), 10);
        }
        d.error(0, Failed::said("boom"), 11);
        let lines = lines(&d.errors);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(lines[0].error, "LocustBadStatusCode(code=500)");
        assert_eq!(lines[0].row.occurrences, 2);
        assert_eq!((lines[1].error.as_str(), lines[1].row.first), ("boom", 11));
    }
}
