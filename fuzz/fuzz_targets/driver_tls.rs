//! The driver's TLS layer fed arbitrary bytes as records, at arbitrary split points.
//!
//! Input: byte 0 is the largest piece (1..=256), the rest is what a client sends. Invariants:
//! - it never panics and always comes to an end: within a bounded number of steps the driver
//!   closes, or waits for input once everything was fed;
//! - nothing it writes is in the clear: every record it sends starts with a TLS content type
//!   (alert, handshake, change-cipher-spec or application data) and a 0x03 version byte, and
//!   no byte string `HTTP/` appears (no request can be answered without a handshake).
#![no_main]

use std::sync::OnceLock;
use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use swarmlab_server::driver::{Driver, Step};
use swarmlab_server::Config;

fn config() -> &'static Config {
    static CFG: OnceLock<Config> = OnceLock::new();
    CFG.get_or_init(|| {
        let (tls, _) = swarmlab_server::tls::Tls::self_signed().expect("a certificate");
        Config {
            tls: Some(tls),
            ..Config::default()
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, input)) = data.split_first() else {
        return;
    };
    let piece = usize::from(first) + 1;
    let now = Instant::now();
    let mut d = Driver::new(config(), now);
    let mut fed = 0;
    let mut wire = Vec::new();
    for _ in 0..10_000 {
        match d.next(now) {
            Step::Send => {
                let n = d.output().len();
                wire.extend_from_slice(d.output());
                d.sent(n, now);
            }
            Step::Recv if fed < input.len() => {
                let end = (fed + piece).min(input.len());
                d.received(&input[fed..end], now);
                fed = end;
            }
            Step::Recv | Step::Sleep => break,
            Step::ShutdownWrite => {}
            Step::Close => break,
        }
    }
    assert!(
        fed == input.len() || d.is_done(),
        "stopped reading before the end without closing"
    );
    let mut at = 0;
    while at + 5 <= wire.len() {
        assert!(
            (0x14..=0x17).contains(&wire[at]) && wire[at + 1] == 3,
            "not a TLS record at {at}: {:?}",
            &wire[at..at + 5]
        );
        at += 5 + usize::from(u16::from_be_bytes([wire[at + 3], wire[at + 4]]));
    }
    assert!(!wire.windows(5).any(|w| w == b"HTTP/"), "an answer in the clear");
});
