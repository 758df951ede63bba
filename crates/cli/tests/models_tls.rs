//! Every model over TLS (`serve --tls-cert/--tls-key`, a CA the test makes): through rustls
//! as a client verifying the server's name, the models suite's closing cases (8 MB with
//! `Connection: close`, HTTP/1.0, a slow reader, SIGTERM mid-download), each ended by the
//! server's `close_notify` (a client that sees EOF without it cannot tell a whole response
//! from a cut one), keep-alive with ALPN `http/1.1`, resumption, a handshake that never comes
//! (bounded by the header deadline), garbage records and plain HTTP on the TLS port (an alert,
//! a close, everyone else served).

#[macro_use]
mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Server;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, StreamOwned};

type Tls = StreamOwned<ClientConnection, TcpStream>;

/// A CA and a certificate it signed for localhost and 127.0.0.1, as PEM files in a directory of
/// this test's own; and a client that trusts that CA only.
struct Pki {
    dir: PathBuf,
    client: Arc<ClientConfig>,
}

impl Pki {
    fn make(name: &str) -> Pki {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("models-tls-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_key = KeyPair::generate().unwrap(); // ECDSA P-256
        let ca = p.self_signed(&ca_key).unwrap();
        let leaf =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".into()]).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = leaf.signed_by(&key, &ca, &ca_key).unwrap();
        std::fs::write(dir.join("server.pem"), cert.pem()).unwrap();
        std::fs::write(dir.join("server-key.pem"), key.serialize_pem()).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(ca.pem().as_bytes()).unwrap())
            .unwrap();
        let mut client =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth();
        client.alpn_protocols = vec![b"http/1.1".to_vec()];
        Pki {
            dir,
            client: Arc::new(client),
        }
    }

    fn args(&self) -> Vec<String> {
        vec![
            "--tls-cert".into(),
            self.dir.join("server.pem").display().to_string(),
            "--tls-key".into(),
            self.dir.join("server-key.pem").display().to_string(),
        ]
    }

    /// A TLS connection to `srv`, its handshake done.
    fn connect(&self, srv: &Server) -> Tls {
        self.try_connect(srv.addr)
            .unwrap_or_else(|e| panic!("{}: handshake: {e}", srv.model))
    }

    fn try_connect(&self, addr: std::net::SocketAddr) -> std::io::Result<Tls> {
        let tcp = TcpStream::connect(addr)?;
        tcp.set_read_timeout(Some(common::IO_TIMEOUT))?;
        let name = ServerName::try_from("localhost").unwrap();
        let conn = ClientConnection::new(Arc::clone(&self.client), name).unwrap();
        let mut tls = StreamOwned::new(conn, tcp);
        while tls.conn.is_handshaking() {
            tls.conn.complete_io(&mut tls.sock)?;
        }
        Ok(tls)
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One response: status, head, body (by Content-Length), read from a TLS stream.
fn response(s: &mut Tls) -> (u16, String, Vec<u8>) {
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") {
        let n = s.read(&mut byte).expect("a response head");
        assert_eq!(n, 1, "EOF inside a response head: {got:?}");
        got.push(byte[0]);
    }
    let head = String::from_utf8(got).unwrap();
    let status = head[9..12].parse().unwrap();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .map_or(0, |v| v.trim().parse().unwrap());
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).expect("the whole body");
    (status, head, body)
}

/// The server's `close_notify`, then EOF, and nothing else: rustls reads 0 only after a
/// `close_notify`; EOF without one is an error (a cut-short stream).
fn assert_close_notify(s: &mut Tls) {
    let mut rest = Vec::new();
    s.read_to_end(&mut rest)
        .expect("close_notify before the connection closed");
    assert!(rest.is_empty(), "{} bytes after the response", rest.len());
}

/// A body of `len` bytes read slowly (16 KiB, then a pause), then close_notify.
fn slow_download(s: &mut Tls, len: usize, pause: Duration) -> Result<usize, String> {
    match download(s, len, pause) {
        (_, Ok(n)) => Ok(n),
        (_, Err(e)) => Err(e),
    }
}

/// As [`slow_download`], and whether the response had begun (its head arrived).
fn download(s: &mut Tls, len: usize, pause: Duration) -> (bool, Result<usize, String>) {
    let mut head = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    let mut total = 0;
    loop {
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) if head.len() < 4 || !head.windows(4).any(|w| w == b"\r\n\r\n") => {
                head.extend_from_slice(&chunk[..n]);
                if let Some(i) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                    total = head.len() - (i + 4);
                    head.truncate(i + 4);
                }
            }
            Ok(n) => total += n,
            Err(e) => {
                return (
                    head.ends_with(b"\r\n\r\n"),
                    Err(format!("after {total} body bytes: {e}")),
                )
            }
        }
        std::thread::sleep(pause);
    }
    let begun = head.ends_with(b"\r\n\r\n");
    if total != len {
        return (begun, Err(format!("{total} body bytes of {len}")));
    }
    (begun, Ok(total))
}

fn served(model: &'static str) {
    let pki = Pki::make(model);
    let args = pki.args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let Some(srv) = Server::try_start(model, &args) else {
        return;
    };
    // keep-alive, ALPN
    let mut s = pki.connect(&srv);
    assert_eq!(s.conn.alpn_protocol(), Some(&b"http/1.1"[..]), "{model}");
    for _ in 0..3 {
        s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
        let (status, head, body) = response(&mut s);
        assert_eq!(
            (status, body.as_slice()),
            (200, &b"Hello, World!"[..]),
            "{head}"
        );
    }
    drop(s);
    // 8 MB with Connection: close: whole, then close_notify
    let mut s = pki.connect(&srv);
    s.write_all(b"GET /bytes?n=8000000 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let (status, head, body) = response(&mut s);
    assert_eq!((status, body.len()), (200, 8_000_000), "{model}: {head}");
    assert!(head.contains("Connection: close\r\n"), "{head}");
    assert_close_notify(&mut s);
    // HTTP/1.0: the response, then close_notify
    let mut s = pki.connect(&srv);
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let (status, _, body) = response(&mut s);
    assert_eq!((status, body.as_slice()), (200, &b"Hello, World!"[..]));
    assert_close_notify(&mut s);
    // a slow reader gets 2 MB whole
    let mut s = pki.connect(&srv);
    s.write_all(b"GET /bytes?n=2000000 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    slow_download(&mut s, 2_000_000, Duration::from_millis(1))
        .unwrap_or_else(|e| panic!("{model}: slow reader: {e}"));
    // garbage records, then plain HTTP on the TLS port: an alert and a close, nothing served
    for junk in [
        &b"\x16\x03\x01\x00\x10this is no hello"[..],
        b"GET / HTTP/1.1\r\nHost: t\r\n\r\n",
    ] {
        let mut tcp = srv.connect();
        tcp.write_all(junk).unwrap();
        let mut got = Vec::new();
        let _ = tcp.read_to_end(&mut got);
        assert!(
            got.is_empty() || got[0] == 0x15,
            "{model}: not an alert: {got:?}"
        );
        assert!(!got.starts_with(b"HTTP/"), "{model}: answered in the clear");
    }
    // the session resumes (a ticket from this connection's handshake)
    let mut s = pki.connect(&srv);
    s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    assert_eq!(response(&mut s).0, 200);
    assert_close_notify(&mut s);
    let s = pki.connect(&srv);
    assert_eq!(
        s.conn.handshake_kind(),
        Some(rustls::HandshakeKind::Resumed),
        "{model}: no resumption"
    );
    drop(s);
    // still serving, then SIGTERM exits 0
    let mut s = pki.connect(&srv);
    s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    assert_eq!(response(&mut s).0, 200);
    drop(s);
    let status = srv.stop();
    assert!(status.success(), "{model} exited with {status}");
}

/// A client that connects and never says hello is closed at the header deadline; while it
/// waits, others are served (except by `single`, whose one connection it is).
fn silent_handshake(model: &'static str) {
    let pki = Pki::make(&format!("{model}-silent"));
    let mut args = pki.args();
    args.extend(["--header-timeout".to_string(), "1".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let Some(srv) = Server::try_start(model, &args) else {
        return;
    };
    let mut silent = srv.connect();
    silent
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let t = Instant::now();
    if model != "single" {
        let mut s = pki.connect(&srv);
        s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
        assert_eq!(response(&mut s).0, 200, "{model}");
    }
    let mut got = Vec::new();
    let _ = silent.read_to_end(&mut got);
    let waited = t.elapsed();
    assert!(got.is_empty(), "{model}: {got:?}");
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(8),
        "{model}: the silent connection closed after {waited:?}"
    );
    let mut s = pki.connect(&srv);
    s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    assert_eq!(response(&mut s).0, 200, "{model}");
    drop(s);
    assert!(srv.stop().success());
}

/// SIGTERM while 10 clients download 2 MB each over TLS, reading slowly: every response that
/// started arrives whole and ends with close_notify, and the server exits 0.
fn sigterm_mid_download(model: &'static str) {
    let pki = Arc::new(Pki::make(&format!("{model}-term")));
    let args = pki.args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let Some(srv) = Server::try_start(model, &args) else {
        return;
    };
    let n = if model == "single" { 1 } else { 10 };
    let clients: Vec<_> = (0..n)
        .map(|_| {
            let (pki, addr) = (Arc::clone(&pki), srv.addr);
            std::thread::spawn(move || {
                // a model with fewer workers than clients (pool, prefork) leaves some of them
                // in the backlog: their handshake waits, and may never come
                let connected = pki.try_connect(addr).and_then(|mut s| {
                    s.write_all(b"GET /bytes?n=2000000 HTTP/1.1\r\nHost: t\r\n\r\n")?;
                    Ok(s)
                });
                match connected {
                    Ok(mut s) => download(&mut s, 2_000_000, Duration::from_millis(2)),
                    Err(e) => (false, Err(e.to_string())),
                }
            })
        })
        .collect();
    // the served ones begin (2 MB at 16 KiB per 2 ms takes a quarter of a second at least)
    std::thread::sleep(Duration::from_millis(300));
    let status = srv.stop();
    let mut begun = 0;
    for c in clients {
        let (started, result) = c.join().unwrap();
        if started {
            begun += 1;
            result.unwrap_or_else(|e| panic!("{model}: a started download under SIGTERM: {e}"));
        }
    }
    assert!(begun > 0, "{model}: no download had begun");
    assert!(status.success(), "{model} exited with {status}");
}

per_model!(closing_cases, super::served);
per_model!(silent_client, super::silent_handshake);
per_model!(sigterm_downloads, super::sigterm_mid_download);
