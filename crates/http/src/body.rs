//! Incremental request-body decoding: `Content-Length` and `chunked` (RFC 9112 §6, §7.1).
//!
//! The decoder takes whatever bytes have arrived, appends the body bytes it finds to a
//! caller-owned buffer and says how much input it used; running out of input is not an error.

use crate::error::RequestError;
use crate::head::Framing;

/// Where the decoder stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyDecoder {
    /// `remaining` bytes of a Content-Length body are still to come.
    Length { remaining: u64 },
    /// Inside a chunked body.
    Chunked(Chunk),
    /// The body is complete.
    Done,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Chunk {
    Size { value: u64, digits: u8 },
    Ext { value: u64, len: usize },
    SizeLf { value: u64 },
    Data { remaining: u64 },
    DataCr,
    DataLf,
    Trailer { line: usize, total: usize },
    TrailerLf { line: usize, total: usize },
}

const CHUNK_START: Chunk = Chunk::Size {
    value: 0,
    digits: 0,
};

impl BodyDecoder {
    /// A decoder for the given framing.
    pub(crate) fn new(framing: Framing) -> BodyDecoder {
        match framing {
            Framing::None | Framing::Length(0) => BodyDecoder::Done,
            Framing::Length(n) => BodyDecoder::Length { remaining: n },
            Framing::Chunked => BodyDecoder::Chunked(CHUNK_START),
        }
    }

    /// Whether the whole body has been decoded.
    pub(crate) fn is_done(&self) -> bool {
        *self == BodyDecoder::Done
    }

    /// Decodes from `input`, appending body bytes to `body`; returns the bytes consumed.
    ///
    /// `max_body` bounds the decoded body, `max_trailer` the trailer section.
    pub(crate) fn decode(
        &mut self,
        input: &[u8],
        body: &mut Vec<u8>,
        max_body: u64,
        max_trailer: usize,
    ) -> Result<usize, RequestError> {
        let mut i = 0;
        while i < input.len() {
            match self {
                BodyDecoder::Done => break,
                BodyDecoder::Length { remaining } => {
                    i += take(remaining, &input[i..], body);
                    if *remaining == 0 {
                        *self = BodyDecoder::Done;
                    }
                }
                BodyDecoder::Chunked(Chunk::Data { remaining }) => {
                    i += take(remaining, &input[i..], body);
                    if *remaining == 0 {
                        *self = BodyDecoder::Chunked(Chunk::DataCr);
                    }
                }
                BodyDecoder::Chunked(state) => {
                    *self = chunk_byte(*state, input[i], body.len() as u64, max_body, max_trailer)?;
                    i += 1;
                }
            }
        }
        Ok(i)
    }
}

/// Copies up to `remaining` body bytes from `input` into `body`; returns how many.
fn take(remaining: &mut u64, input: &[u8], body: &mut Vec<u8>) -> usize {
    let n = usize::try_from(*remaining)
        .unwrap_or(usize::MAX)
        .min(input.len());
    body.extend_from_slice(&input[..n]);
    *remaining -= n as u64;
    n
}

/// One framing byte of a chunked body (everything but chunk data).
fn chunk_byte(
    state: Chunk,
    b: u8,
    decoded: u64,
    max_body: u64,
    max_trailer: usize,
) -> Result<BodyDecoder, RequestError> {
    use BodyDecoder::Chunked as C;
    let bad = |why| Err(RequestError::Chunk(why));
    Ok(match state {
        Chunk::Size { value, digits } => match b {
            b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => {
                if digits >= 15 {
                    return bad("chunk size too large");
                }
                let d = (b as char).to_digit(16).unwrap_or(0);
                C(Chunk::Size {
                    value: value * 16 + u64::from(d),
                    digits: digits + 1,
                })
            }
            _ if digits == 0 => return bad("missing chunk size"),
            b';' | b' ' | b'\t' => {
                end_size(value, decoded, max_body, Chunk::Ext { value, len: 0 })?
            }
            b'\r' => end_size(value, decoded, max_body, Chunk::SizeLf { value })?,
            _ => return bad("invalid chunk size"),
        },
        Chunk::Ext { value, len } => match b {
            b'\r' => C(Chunk::SizeLf { value }),
            _ if len >= max_trailer => return Err(RequestError::HeadTooLarge),
            b'\n' => return bad("chunk size line must end in crlf"),
            _ => C(Chunk::Ext {
                value,
                len: len + 1,
            }),
        },
        Chunk::SizeLf { value } => match b {
            b'\n' if value == 0 => C(Chunk::Trailer { line: 0, total: 0 }),
            b'\n' => C(Chunk::Data { remaining: value }),
            _ => return bad("chunk size line must end in crlf"),
        },
        Chunk::DataCr => match b {
            b'\r' => C(Chunk::DataLf),
            _ => return bad("chunk data must end in crlf"),
        },
        Chunk::DataLf => match b {
            b'\n' => C(CHUNK_START),
            _ => return bad("chunk data must end in crlf"),
        },
        Chunk::Trailer { line, total } => {
            if total >= max_trailer {
                return Err(RequestError::HeadTooLarge);
            }
            match b {
                b'\r' => C(Chunk::TrailerLf {
                    line,
                    total: total + 1,
                }),
                _ => C(Chunk::Trailer {
                    line: line + 1,
                    total: total + 1,
                }),
            }
        }
        // data bytes are copied in bulk by `decode` and never reach this function
        Chunk::Data { remaining } => C(Chunk::Data { remaining }),
        Chunk::TrailerLf { line, total } => match b {
            b'\n' if line == 0 => BodyDecoder::Done,
            b'\n' => C(Chunk::Trailer {
                line: 0,
                total: total + 1,
            }),
            _ => return bad("trailer line must end in crlf"),
        },
    })
}

/// A size line has ended (or reached its extension): check the size against the limit.
fn end_size(
    value: u64,
    decoded: u64,
    max_body: u64,
    next: Chunk,
) -> Result<BodyDecoder, RequestError> {
    if decoded.saturating_add(value) > max_body {
        return Err(RequestError::BodyTooLarge);
    }
    Ok(BodyDecoder::Chunked(next))
}
