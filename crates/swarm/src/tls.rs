//! TLS for the generator's connections: rustls client sessions (the `ring` provider, which
//! builds with a C compiler alone) over the workers' non-blocking mio sockets.
//!
//! [`Stream`] is a connection, plain or TLS, that the event loops read and write as before:
//! `read` pulls TLS records from the socket until it has plaintext or the socket would block;
//! `write` hands plaintext to the session and writes what records the socket takes; whatever
//! the socket did not take is written by [`Stream::pump`], which the loops call on every
//! readiness event (mio's events are edge-triggered, and a writable edge comes when the socket
//! drains). Records written before the handshake completes wait in the session until it does.
//!
//! Verification is Locust's: `HttpUser` (and the command line) verify against the system's
//! roots, or only against `--cacert`'s; `FastHttpUser` does not unless told to. A failure is
//! counted with the text python-requests users see for the same cause (OpenSSL's reason
//! strings inside `SSLError(...)`).

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use mio::net::TcpStream;

use crate::arrival::{self, Arrival};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct, Error};
use rustls::{RootCertStore, SignatureScheme};

/// What the user said about TLS (`-k/--insecure`, `--cacert`, `--cert`/`--key`).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TlsOptions {
    /// Do not verify the server's certificate (`-k`).
    pub insecure: bool,
    /// Verify against these roots only (PEM), instead of the system's.
    pub cacert: Option<PathBuf>,
    /// A client certificate chain and its key (PEM).
    pub client_cert: Option<(PathBuf, PathBuf)>,
    /// Make every handshake full, as python-requests does (it resumes no session). By
    /// default, off: sessions resume, as browsers and most clients do.
    pub no_resumption: bool,
}

/// The client configurations a run uses (built once: sessions resume across connections of
/// one configuration).
#[derive(Debug)]
pub struct ClientTls {
    verifying: Arc<ClientConfig>,
    trusting: Arc<ClientConfig>,
    insecure: bool,
    /// What it was built from (the engine's other processes build their own from it).
    options: TlsOptions,
}

impl ClientTls {
    /// Builds the configurations; a bad file is one line naming it.
    pub fn new(opts: &TlsOptions) -> Result<ClientTls, String> {
        let mut pinned = Vec::new();
        let roots = match &opts.cacert {
            Some(path) => {
                let mut roots = RootCertStore::empty();
                let certs = read_certs(path)?;
                for c in certs {
                    pinned.push(c.clone());
                    roots
                        .add(c)
                        .map_err(|e| format!("{}: not a CA certificate: {e}", path.display()))?;
                }
                roots
            }
            None => system_roots(),
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| format!("cannot use the CA certificates: {e}"))?;
        let verifier = Arc::new(Explained {
            webpki: verifier,
            pinned,
        });
        let trusting = Arc::new(Trusting(provider.clone()));
        let build = |v: Arc<dyn ServerCertVerifier>| -> Result<Arc<ClientConfig>, String> {
            let b = ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .dangerous()
                .with_custom_certificate_verifier(v);
            let mut config = match &opts.client_cert {
                Some((cert, key)) => {
                    let chain = read_certs(cert)?;
                    let key = PrivateKeyDer::from_pem_file(key)
                        .map_err(|e| format!("{}: no private key: {e}", key.display()))?;
                    b.with_client_auth_cert(chain, key)
                        .map_err(|e| format!("{}: {e}", cert.display()))?
                }
                None => b.with_no_client_auth(),
            };
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            if opts.no_resumption {
                config.resumption = rustls::client::Resumption::disabled();
            }
            Ok(Arc::new(config))
        };
        Ok(ClientTls {
            verifying: build(verifier)?,
            trusting: build(trusting)?,
            insecure: opts.insecure,
            options: opts.clone(),
        })
    }

    /// What it was built from.
    pub fn options(&self) -> &TlsOptions {
        &self.options
    }

    /// Whether the run does not verify (`-k`).
    pub fn is_insecure(&self) -> bool {
        self.insecure
    }

    /// The default (the system's roots, verifying), built the first time it is wanted.
    pub fn shared_default() -> Arc<ClientTls> {
        static DEFAULT: OnceLock<Arc<ClientTls>> = OnceLock::new();
        DEFAULT
            .get_or_init(|| {
                Arc::new(ClientTls::new(&TlsOptions::default()).expect("the default needs no file"))
            })
            .clone()
    }

    /// The configuration for a connection: `fast` is a `FastHttpUser`'s (not verified unless
    /// `verify` says so), else verified unless the run is `--insecure`.
    pub fn config(&self, fast: bool, verify: Option<bool>) -> Arc<ClientConfig> {
        let verify = verify.unwrap_or(!fast && !self.insecure);
        if verify {
            self.verifying.clone()
        } else {
            self.trusting.clone()
        }
    }
}

fn read_certs(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: not a PEM certificate: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no PEM certificate in it", path.display()));
    }
    Ok(certs)
}

fn system_roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    for c in found.certs {
        let _ = roots.add(c);
    }
    roots
}

/// webpki's verification, with a self-signed certificate told apart from an unknown issuer
/// (OpenSSL, and so python-requests, says which), and a server certificate that is itself in
/// `--cacert` trusted as OpenSSL trusts it (`openssl req -x509` makes such certificates; webpki
/// alone refuses a CA certificate as the server's).
#[derive(Debug)]
struct Explained {
    webpki: Arc<WebPkiServerVerifier>,
    pinned: Vec<CertificateDer<'static>>,
}

/// Marks [`CertificateError::Other`] for a self-signed certificate.
#[derive(Debug)]
struct SelfSigned;

impl std::fmt::Display for SelfSigned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("self-signed certificate")
    }
}

impl std::error::Error for SelfSigned {}

impl ServerCertVerifier for Explained {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let verdict =
            self.webpki
                .verify_server_cert(end_entity, intermediates, server_name, ocsp, now);
        let Err(Error::InvalidCertificate(why)) = &verdict else {
            return verdict;
        };
        let no_path = match why {
            CertificateError::UnknownIssuer => true,
            CertificateError::Other(o) => format!("{o:?}").contains("CaUsedAsEndEntity"),
            _ => false,
        };
        if !no_path {
            return verdict;
        }
        if self
            .pinned
            .iter()
            .any(|p| p.as_ref() == end_entity.as_ref())
        {
            let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
            rustls::client::verify_server_name(&parsed, server_name)?;
            return Ok(ServerCertVerified::assertion());
        }
        if intermediates.is_empty() && self_issued(end_entity) {
            return Err(Error::InvalidCertificate(CertificateError::Other(
                rustls::OtherError(Arc::new(SelfSigned)),
            )));
        }
        Err(Error::InvalidCertificate(CertificateError::UnknownIssuer))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// Whether `cert`'s issuer is its subject (DER: Certificate is SEQUENCE { tbsCertificate
/// SEQUENCE { [0] version, serial, signature algorithm, issuer, validity, subject, ... } }).
fn self_issued(cert: &CertificateDer<'_>) -> bool {
    fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, rest) = b.split_first()?;
        let (&first, mut rest) = rest.split_first()?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |a, &x| a << 8 | usize::from(x));
            rest = &rest[n..];
            len
        };
        (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
    }
    let fields = || -> Option<bool> {
        let (_, cert, _) = tlv(cert.as_ref())?;
        let (_, tbs, _) = tlv(cert)?;
        let (tag, _, mut rest) = tlv(tbs)?;
        if tag == 0xa0 {
            rest = tlv(rest)?.2; // the serial after the version
        }
        let (_, _, rest) = tlv(rest)?; // the signature algorithm
        let before_issuer = rest;
        let (_, _, after_issuer) = tlv(rest)?;
        let issuer = &before_issuer[..before_issuer.len() - after_issuer.len()];
        let (_, _, rest) = tlv(after_issuer)?; // validity
        let (_, _, after_subject) = tlv(rest)?;
        let subject = &rest[..rest.len() - after_subject.len()];
        Some(issuer == subject)
    };
    fields().unwrap_or(false)
}

/// No verification of who the server is (`--insecure`, `FastHttpUser`); its handshake
/// signatures are still checked, as OpenSSL with `CERT_NONE` does.
#[derive(Debug)]
struct Trusting(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for Trusting {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The text python-requests shows for a TLS failure (OpenSSL's reason inside `SSLError`).
pub fn error_string(e: &Error, host: &str) -> String {
    let verify = |reason: &str| {
        let text = format!(
            "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: {reason} (_ssl.c:1006)"
        );
        format!("SSLError(SSLCertVerificationError(1, {}))", py_str(&text))
    };
    match e {
        Error::InvalidCertificate(c) => match c {
            CertificateError::UnknownIssuer => verify("unable to get local issuer certificate"),
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                verify("certificate has expired")
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                verify("certificate is not yet valid")
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                verify(&format!(
                    "Hostname mismatch, certificate is not valid for '{host}'."
                ))
            }
            CertificateError::Other(o) if o.to_string() == SelfSigned.to_string() => {
                verify("self-signed certificate")
            }
            other => verify(&format!("{other:?}")),
        },
        Error::AlertReceived(alert) => {
            let name = format!("{alert:?}");
            let words = snake(&name);
            let text = format!(
                "[SSL: TLSV1_ALERT_{}] tlsv1 alert {} (_ssl.c:2580)",
                words.to_uppercase(),
                words.replace('_', " ")
            );
            format!("SSLError(SSLError(1, {}))", py_str(&text))
        }
        other => format!(
            "SSLError(SSLError(1, {}))",
            py_str(&format!("[SSL] {other}"))
        ),
    }
}

/// `CertificateRequired` → `certificate_required`.
fn snake(camel: &str) -> String {
    let mut out = String::new();
    for (i, ch) in camel.chars().enumerate() {
        if ch.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(ch.to_ascii_lowercase());
    }
    out
}

/// Python's repr of a str (single quotes unless the text holds one and no double quote).
fn py_str(s: &str) -> String {
    if s.contains('\'') && !s.contains('"') {
        format!("\"{s}\"")
    } else {
        format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
    }
}

/// The io::Error a TLS failure travels in, its Locust text inside.
#[derive(Debug)]
pub struct TlsFailure(pub String);

impl std::fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TlsFailure {}

/// The Locust text of a TLS failure carried by `e`, if it carries one.
pub fn failure_text(e: &io::Error) -> Option<String> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<TlsFailure>())
        .map(|f| f.0.clone())
}

/// A connection of the generator: plain TCP, or TLS over it.
pub struct Stream {
    link: Link,
    /// The kernel stamps what arrives on it ([`crate::arrival`]): it is read with `recvmsg`.
    stamped: bool,
}

enum Link {
    /// `http://`.
    Plain(TcpStream),
    /// `https://`.
    Tls(Box<TlsStream>),
}

/// A TLS session over a non-blocking socket.
pub struct TlsStream {
    sock: TcpStream,
    tls: ClientConnection,
    host: String,
    /// The socket reached its end.
    eof: bool,
}

/// How the connection's handshake went, once it has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handshake {
    /// A full handshake.
    Full,
    /// A session resumed (a ticket or an ID from an earlier connection).
    Resumed,
}

impl Stream {
    /// `sock`, with a TLS session to `host` (SNI, and the name checked) when `tls` is given.
    /// One connection in four has its arrivals stamped (its arrival stamps: `crate::arrival`).
    pub fn new(sock: TcpStream, tls: Option<(Arc<ClientConfig>, &str)>) -> io::Result<Stream> {
        let stamped = arrival::sample(&sock);
        let Some((config, host)) = tls else {
            return Ok(Stream {
                link: Link::Plain(sock),
                stamped,
            });
        };
        let name = ServerName::try_from(host.to_string()).map_err(|_| {
            io::Error::other(TlsFailure(format!(
                "InvalidURL('Failed to parse: {host} (not a host name for TLS)')"
            )))
        })?;
        let tls = ClientConnection::new(config, name)
            .map_err(|e| io::Error::other(TlsFailure(error_string(&e, host))))?;
        Ok(Stream {
            link: Link::Tls(Box::new(TlsStream {
                sock,
                tls,
                host: host.to_string(),
                eof: false,
            })),
            stamped,
        })
    }

    /// The TCP socket under it.
    pub fn tcp(&self) -> &TcpStream {
        match &self.link {
            Link::Plain(s) => s,
            Link::Tls(t) => &t.sock,
        }
    }

    /// Whether the server has closed (or reset) this idle connection: a peek that reads its end
    /// or an error. Before a request goes out on a connection idle for a while, as urllib3
    /// checks a pooled one (`is_connection_dropped`): a server that lets idle clients go when
    /// others wait (`single`, `pool`, `prefork`) closes it at any moment, and a request sent
    /// into the close fails with `RemoteDisconnected` where python-requests would have
    /// reconnected. Bytes waiting (a TLS session ticket) are not a close.
    pub(crate) fn closed_by_peer(&self) -> bool {
        use rustix::net::{recv, RecvFlags};
        let mut byte = [0u8; 1];
        match recv(self.tcp(), &mut byte, RecvFlags::PEEK | RecvFlags::DONTWAIT) {
            Ok((0, _)) => true,
            Ok(_) => false,
            Err(e) => e != rustix::io::Errno::AGAIN && e != rustix::io::Errno::INTR,
        }
    }

    /// Writes what TLS records are waiting, as far as the socket takes them (a no-op for a
    /// plain connection). Call on every readiness event.
    pub fn pump(&mut self) -> io::Result<()> {
        match &mut self.link {
            Link::Plain(_) => Ok(()),
            Link::Tls(t) => t.flush_records(),
        }
    }

    /// Whether the handshake is done, and how; `None` while it runs, and for plain TCP.
    pub fn handshake(&self) -> Option<Handshake> {
        match &self.link {
            Link::Plain(_) => None,
            Link::Tls(t) if t.tls.is_handshaking() => None,
            Link::Tls(t) => Some(match t.tls.handshake_kind() {
                Some(rustls::HandshakeKind::Resumed) => Handshake::Resumed,
                _ => Handshake::Full,
            }),
        }
    }
}

impl TlsStream {
    fn flush_records(&mut self) -> io::Result<()> {
        while self.tls.wants_write() {
            match self.tls.write_tls(&mut self.sock) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn failure(&self, e: &Error) -> io::Error {
        io::Error::other(TlsFailure(error_string(e, &self.host)))
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv(buf, &mut None)
    }
}

/// The socket under a TLS session, read with its arrival stamps.
struct Stamped<'a> {
    sock: &'a TcpStream,
    arrival: &'a mut Option<Arrival>,
}

impl Read for Stamped<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let (n, stamp) = arrival::recv(self.sock, buf)?;
        if stamp.is_some() {
            *self.arrival = stamp;
        }
        Ok(n)
    }
}

impl Stream {
    /// Reads as [`Read::read`] does, and sets `arrival` to when the last bytes read reached the
    /// socket, when the kernel stamped them ([`crate::arrival`]).
    pub(crate) fn recv(
        &mut self,
        buf: &mut [u8],
        arrival: &mut Option<Arrival>,
    ) -> io::Result<usize> {
        let stamped = self.stamped;
        let t = match &mut self.link {
            Link::Plain(s) if !stamped => return s.read(buf),
            Link::Plain(s) => {
                let (n, stamp) = arrival::recv(s, buf)?;
                if stamp.is_some() {
                    *arrival = stamp;
                }
                return Ok(n);
            }
            Link::Tls(t) => t,
        };
        loop {
            match t.tls.reader().read(buf) {
                Ok(n) => return Ok(n),
                // the peer closed TCP without close_notify: the HTTP framing judges what came
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if t.eof {
                        return Ok(0);
                    }
                }
                Err(e) => return Err(e),
            }
            let read = if stamped {
                t.tls.read_tls(&mut Stamped {
                    sock: &t.sock,
                    arrival,
                })
            } else {
                t.tls.read_tls(&mut t.sock)
            };
            match read {
                Ok(0) => t.eof = true,
                Ok(_) => {}
                Err(e) => return Err(e),
            }
            if let Err(e) = t.tls.process_new_packets() {
                // the alert that says why goes out before the error is reported
                let _ = t.flush_records();
                return Err(t.failure(&e));
            }
            t.flush_records()?;
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let t = match &mut self.link {
            Link::Plain(s) => return s.write(buf),
            Link::Tls(t) => t,
        };
        let n = t.tls.writer().write(buf)?;
        t.flush_records()?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.link {
            Link::Plain(s) => s.flush(),
            Link::Tls(t) => t.flush_records(),
        }
    }
}

impl Stream {
    fn tcp_mut(&mut self) -> &mut TcpStream {
        match &mut self.link {
            Link::Plain(s) => s,
            Link::Tls(t) => &mut t.sock,
        }
    }
}

impl mio::event::Source for Stream {
    fn register(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> io::Result<()> {
        self.tcp_mut().register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> io::Result<()> {
        self.tcp_mut().reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &mio::Registry) -> io::Result<()> {
        self.tcp_mut().deregister(registry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_read_as_python_requests_shows_them() {
        let e = Error::InvalidCertificate(CertificateError::UnknownIssuer);
        assert_eq!(
            error_string(&e, "h"),
            "SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate \
             verify failed: unable to get local issuer certificate (_ssl.c:1006)'))"
        );
        let e = Error::InvalidCertificate(CertificateError::NotValidForName);
        assert_eq!(
            error_string(&e, "localhost"),
            "SSLError(SSLCertVerificationError(1, \"[SSL: CERTIFICATE_VERIFY_FAILED] certificate \
             verify failed: Hostname mismatch, certificate is not valid for 'localhost'. \
             (_ssl.c:1006)\"))"
        );
        let e = Error::AlertReceived(rustls::AlertDescription::CertificateRequired);
        assert_eq!(
            error_string(&e, "h"),
            "SSLError(SSLError(1, '[SSL: TLSV1_ALERT_CERTIFICATE_REQUIRED] tlsv1 alert \
             certificate required (_ssl.c:2580)'))"
        );
    }

    #[test]
    fn a_self_signed_certificate_is_told_apart_from_a_signed_one() {
        // Made once with openssl (`req -x509` for the first; a CA's `x509 -req` for the
        // second): a certificate is data here, so no generator is built for one test.
        let own = CertificateDer::from(&include_bytes!("testdata/self-signed.der")[..]);
        assert!(self_issued(&own));
        let leaf = CertificateDer::from(&include_bytes!("testdata/ca-signed.der")[..]);
        assert!(!self_issued(&leaf));
        assert!(!self_issued(&CertificateDer::from(vec![0x30, 0x03, 0x02])));
    }

    #[test]
    fn a_missing_ca_file_is_one_line_naming_it() {
        let opts = TlsOptions {
            cacert: Some("/nonexistent/ca.pem".into()),
            ..TlsOptions::default()
        };
        let err = ClientTls::new(&opts).unwrap_err();
        assert!(err.starts_with("cannot read /nonexistent/ca.pem"), "{err}");
    }
}
