//! The whole connection state machine (`Conn`) fed arbitrary bytes at arbitrary split points.
//!
//! Input: byte 0 is the largest piece (1..=256), byte 1 seeds the piece sizes, the rest is what
//! a client sends. Invariants:
//! - it never panics;
//! - everything it writes is a sequence of valid HTTP/1.1 responses: CRLF line endings, a
//!   status line, exactly one `Content-Length` on every final response, and that many body
//!   bytes;
//! - the same bytes fed in one piece give the same responses (`Date` values and the interim
//!   `100 Continue`, which is only sent while the body has not arrived yet, aside).
//!
//! `HEAD` requests are turned into an unknown method (`GEAD`, answered 501): a HEAD response
//! announces a length without a body, which a checker that only sees the output cannot frame.
//! HEAD framing has its own unit tests.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use swarmlab_http::{Config, Conn, Progress};

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let (max_piece, seed) = (usize::from(data[0]) + 1, data[1]);
    let mut input = data[2..].to_vec();
    for i in 0..input.len().saturating_sub(3) {
        if &input[i..i + 4] == b"HEAD" {
            input[i] = b'G';
        }
    }
    let whole = serve(&input, |_| usize::MAX);
    let mut rng = u32::from(seed) | 0x100;
    let split = serve(&input, |_| {
        rng ^= rng << 13;
        rng ^= rng >> 17;
        rng ^= rng << 5;
        1 + rng as usize % max_piece
    });
    let whole = check(&whole);
    let split = check(&split);
    assert_eq!(whole, split, "the same input split differently answered differently");
});

/// Feeds `input` in pieces of `piece(i)` bytes, serving after each, with a clock that jumps
/// over every delay; returns all output.
fn serve(input: &[u8], mut piece: impl FnMut(usize) -> usize) -> Vec<u8> {
    let mut conn = Conn::new(Config::default());
    let mut out = Vec::new();
    let mut now = Instant::now();
    let mut at = 0;
    let mut i = 0;
    loop {
        let progress = loop {
            match conn.advance(&mut out, now) {
                Progress::Flush => {}
                Progress::Wait(d) => now += d + Duration::from_nanos(1),
                p => break p,
            }
        };
        if progress == Progress::Close || at == input.len() {
            return out;
        }
        let n = piece(i).min(input.len() - at);
        conn.feed(&input[at..at + n], now);
        at += n;
        i += 1;
    }
}

/// Checks that `out` is a sequence of valid responses; returns them with `Date` values blanked
/// and interim responses left out.
fn check(mut out: &[u8]) -> Vec<Vec<u8>> {
    let mut responses = Vec::new();
    while !out.is_empty() {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut resp = httparse::Response::new(&mut headers);
        let head_len = match resp.parse(out) {
            Ok(httparse::Status::Complete(n)) => n,
            other => panic!("not a response: {other:?} at {:?}", show(out)),
        };
        assert_eq!(resp.version, Some(1), "{:?}", show(out));
        let code = resp.code.unwrap();
        assert!((100..600).contains(&code));
        let head = &out[..head_len];
        for (i, &b) in head.iter().enumerate() {
            assert!(b != b'\n' || (i > 0 && head[i - 1] == b'\r'), "bare LF: {:?}", show(head));
        }
        let lengths: Vec<usize> = resp
            .headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case("content-length"))
            .map(|h| std::str::from_utf8(h.value).unwrap().parse().unwrap())
            .collect();
        if code < 200 {
            assert!(lengths.is_empty());
            out = &out[head_len..];
            continue;
        }
        assert_eq!(lengths.len(), 1, "one Content-Length: {:?}", show(head));
        let end = head_len + lengths[0];
        assert!(end <= out.len(), "body cut short: {:?}", show(head));
        let mut normal = Vec::with_capacity(end);
        for line in head.split_inclusive(|&b| b == b'\n') {
            if line.starts_with(b"Date: ") {
                normal.extend_from_slice(b"Date: *\r\n");
            } else {
                normal.extend_from_slice(line);
            }
        }
        normal.extend_from_slice(&out[head_len..end]);
        responses.push(normal);
        out = &out[end..];
    }
    responses
}

fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[..b.len().min(200)]).into_owned()
}
