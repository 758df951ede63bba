//! Why a request was refused, and which status answers it.

use crate::response::Status;

/// A request the server will not serve. Each variant knows its status code; every one of them
/// closes the connection after the response, because after bad framing the server can no
/// longer tell where the next request starts (RFC 9112 §6.3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The request line or a header field does not match the grammar.
    #[error("malformed request: {0}")]
    Malformed(&'static str),
    /// An HTTP/1.1 request without exactly one valid Host field.
    #[error("an HTTP/1.1 request needs exactly one Host header")]
    Host,
    /// Content-Length and Transfer-Encoding together, or Transfer-Encoding on HTTP/1.0.
    #[error("ambiguous message framing: {0}")]
    Framing(&'static str),
    /// A Content-Length that is not a number, or several that differ.
    #[error("invalid content-length")]
    ContentLength,
    /// A chunked body that does not follow the chunk grammar.
    #[error("malformed chunked body: {0}")]
    Chunk(&'static str),
    /// A transfer coding other than `chunked`.
    #[error("unsupported transfer coding")]
    TransferCoding,
    /// A method this server does not implement.
    #[error("method not implemented")]
    Method,
    /// An HTTP version other than 1.0 and 1.1.
    #[error("http version not supported")]
    Version,
    /// A request target longer than the limit.
    #[error("request target too long")]
    TargetTooLong,
    /// A header section larger than the limit, or with too many fields.
    #[error("request header fields too large")]
    HeadTooLarge,
    /// A body larger than the limit.
    #[error("request body too large")]
    BodyTooLarge,
    /// The header section did not arrive in time.
    #[error("request timeout")]
    Timeout,
}

impl RequestError {
    /// The status code that answers this error.
    pub fn status(&self) -> Status {
        match self {
            RequestError::Malformed(_)
            | RequestError::Host
            | RequestError::Framing(_)
            | RequestError::ContentLength
            | RequestError::Chunk(_) => Status::BAD_REQUEST,
            RequestError::TransferCoding | RequestError::Method => Status::NOT_IMPLEMENTED,
            RequestError::Version => Status::VERSION_NOT_SUPPORTED,
            RequestError::TargetTooLong => Status::URI_TOO_LONG,
            RequestError::HeadTooLarge => Status::HEADERS_TOO_LARGE,
            RequestError::BodyTooLarge => Status::CONTENT_TOO_LARGE,
            RequestError::Timeout => Status::REQUEST_TIMEOUT,
        }
    }
}
