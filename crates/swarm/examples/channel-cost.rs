//! The engine's side of the Python channel, per request: splitting and decoding one `REQ`
//! frame and encoding its `RESP` (the request of `bench/locustfiles/dynamic.py`, nginx's
//! answer). `bench/locustfile-python.sh` runs it and states the figure next to the Python
//! side's.
//!
//! `cargo run --release -p swarmlab-swarm --example channel-cost`

use std::time::Instant;

use swarmlab_swarm::remote::{self, flags, Frame, Req, Resp};

fn main() {
    let req = Req {
        id: 7,
        user: 3,
        flags: flags::DEFERRED | flags::REDIRECTS,
        method: "GET".into(),
        url: "http://127.0.0.1:18880/items/4711".into(),
        name: "/items/[id]".into(),
        headers: vec![
            ("User-Agent".into(), "python-requests/2.34.2".into()),
            ("Accept-Encoding".into(), "gzip, deflate".into()),
            ("Accept".into(), "*/*".into()),
            ("Connection".into(), "keep-alive".into()),
            ("Authorization".into(), "Bearer t0k3n".into()),
        ],
        body: None,
        tls_files: None,
    };
    let mut frames = Vec::new();
    for _ in 0..64 {
        remote::req(&mut frames, &req);
    }
    let headers: Vec<(String, String)> = [
        ("Server", "nginx/1.22.1"),
        ("Date", "Tue, 01 Dec 2026 11:55:04 GMT"),
        ("Content-Type", "application/json"),
        ("Content-Length", "12"),
        ("Connection", "keep-alive"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let rounds = 20_000;
    let mut out = Vec::with_capacity(1 << 16);
    let mut checksum = 0usize;
    let start = Instant::now();
    for _ in 0..rounds {
        let (split, used) = remote::split(&frames).expect("frames");
        assert_eq!(used, frames.len());
        out.clear();
        for (kind, payload) in split {
            let Ok(Frame::Req(r)) = remote::decode(kind, payload) else {
                panic!("a REQ frame")
            };
            remote::resp(
                &mut out,
                &Resp {
                    id: r.id,
                    status: 200,
                    ms: 0.8,
                    length: 12,
                    headers: &headers,
                    body: b"{\"id\": 4711}",
                    error: "",
                    url: &r.url,
                },
            );
        }
        checksum += out.len();
    }
    let per = start.elapsed().as_nanos() as f64 / (rounds * 64) as f64;
    println!(
        "engine side of the channel: {per:.0} ns per request (REQ split+decode, RESP encode; {} bytes out)",
        checksum / rounds
    );
}
