//! The clients Locust's users have, as one table of rules: python-requests (`HttpUser`) and
//! geventhttpclient (`FastHttpUser`). What differs between them (which statuses fail, how far
//! and how redirects go, what a connection closed without an answer is called) is decided
//! here, for the engine's own loop and for the loop that serves Python users alike, and
//! rendered as the client's own exception text (what Locust shows) only here.

/// A client of a Locust user, and its rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

/// How a connection failed, before it is words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnFailure {
    /// Closed by the server before any byte of an answer.
    ClosedUnanswered,
    /// Closed by the server in the middle of an answer that has no other end.
    ClosedMidResponse,
    /// Anything else, already in the client's words (a system error, a bad status line, a
    /// body that does not decode).
    Said(String),
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

    /// The client's own rule for a status: `Some(its exception's text)` when it fails.
    /// `name`: the request's URL as python-requests' `HTTPError` cites it.
    pub fn status_failure(self, status: u16, name: &str) -> Option<String> {
        match self {
            ClientProfile::Http => (400..600)
                .contains(&status)
                .then(|| status_error_string(status, name)),
            ClientProfile::FastHttp => (!FAST_VALID.contains(&status))
                .then(|| format!("LocustBadStatusCode(code={status})")),
        }
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

    /// The failure past [`Self::MAX_REDIRECTS`] redirects; `url`: the last hop's.
    pub fn too_many_redirects(self, url: &str) -> String {
        let n = Self::MAX_REDIRECTS;
        match self {
            ClientProfile::Http => format!("TooManyRedirects('Exceeded {n} redirects.')"),
            ClientProfile::FastHttp => {
                format!("RetriesExceeded('{url}', 0, original=Redirection limit reached ({n}))")
            }
        }
    }

    /// A connection's failure in the client's words.
    pub fn say(self, failure: &ConnFailure) -> String {
        match (failure, self) {
            (ConnFailure::ClosedUnanswered, ClientProfile::Http) => {
                "RemoteDisconnected('Remote end closed connection without response')".into()
            }
            // geventhttpclient sends a GET again on a fresh connection first; what is left
            // when that fails too is this
            (ConnFailure::ClosedUnanswered, ClientProfile::FastHttp) => {
                "HTTPConnectionClosed('connection closed.')".into()
            }
            (ConnFailure::ClosedMidResponse, _) => {
                "IncompleteRead('connection closed mid-response')".into()
            }
            (ConnFailure::Said(text), _) => text.clone(),
        }
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

#[cfg(test)]
mod tests {
    use super::ClientProfile::{FastHttp, Http};
    use super::*;

    #[test]
    fn statuses_fail_by_the_clients_own_rules() {
        assert_eq!(Http.status_failure(399, "/x"), None);
        assert!(Http
            .status_failure(404, "http://h/x")
            .unwrap()
            .starts_with("HTTPError('404 Client Error"));
        assert_eq!(Http.status_failure(100, "/x"), None);
        assert_eq!(
            FastHttp.status_failure(100, "/x").as_deref(),
            Some("LocustBadStatusCode(code=100)")
        );
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
        assert!(Http
            .too_many_redirects("http://h/")
            .contains("Exceeded 30 redirects"));
        assert!(FastHttp
            .too_many_redirects("http://h/")
            .starts_with("RetriesExceeded('http://h/', 0,"));
    }

    #[test]
    fn an_unanswered_close_is_each_clients_exception() {
        assert_eq!(
            Http.say(&ConnFailure::ClosedUnanswered),
            "RemoteDisconnected('Remote end closed connection without response')"
        );
        assert_eq!(
            FastHttp.say(&ConnFailure::ClosedUnanswered),
            "HTTPConnectionClosed('connection closed.')"
        );
        assert_eq!(FastHttp.say(&ConnFailure::Said("x".into())), "x");
    }
}
