//! The server's TLS: a rustls `ServerConfig` from the user's PEM files or from a certificate
//! made at start (`--tls self-signed`), and the per-connection layer the one driver
//! ([`crate::driver`]) runs between the socket and the [`swarmlab_http::Conn`]. rustls's server
//! side is sans-IO like the rest: ciphertext in, plaintext out, and back, so the eleven models
//! carry TLS without knowing it.
//!
//! Session resumption: stateless tickets (TLS 1.3 and 1.2) with a key made before any worker
//! starts, so the processes of `fork` and `prefork` resume each other's sessions (see
//! `Tls::new` for what that takes), and an in-memory session-ID cache for TLS 1.2 clients
//! without tickets.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

/// What the server needs to speak TLS, shared by every connection.
#[derive(Clone, Debug)]
pub struct Tls {
    /// The rustls configuration.
    pub config: Arc<ServerConfig>,
    /// The leaf certificate's SHA-256 fingerprint (`AA:BB:...`), for the start-up line.
    pub fingerprint: String,
}

/// More than a session a ticket carries (no client certificates here: a few hundred bytes).
const TICKET_ROOM: usize = 4096;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl Tls {
    /// From a certificate chain and its private key (PEM files).
    pub fn from_files(cert: &Path, key: &Path) -> Result<Tls, String> {
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
            .map_err(|e| format!("cannot read {}: {e}", cert.display()))?
            .collect::<Result<_, _>>()
            .map_err(|e| format!("{}: not a PEM certificate: {e}", cert.display()))?;
        if chain.is_empty() {
            return Err(format!("{}: no PEM certificate in it", cert.display()));
        }
        let key = PrivateKeyDer::from_pem_file(key)
            .map_err(|e| format!("{}: no PEM private key in it ({e})", key.display()))?;
        Tls::new(chain, key)
    }

    /// A certificate made now for `localhost`, `127.0.0.1` and `::1` (ECDSA P-256, as the
    /// benchmarks use), self-signed: clients trust it with `-k` or `--cacert` of its PEM,
    /// which is returned beside it.
    pub fn self_signed() -> Result<(Tls, String), String> {
        let names = vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into()];
        let made = rcgen::generate_simple_self_signed(names)
            .map_err(|e| format!("cannot make a certificate: {e}"))?;
        let pem = made.cert.pem();
        let key = PrivateKeyDer::try_from(made.key_pair.serialize_der())
            .map_err(|e| format!("cannot use the key made: {e}"))?;
        Ok((Tls::new(vec![made.cert.der().clone()], key)?, pem))
    }

    pub(crate) fn new(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Tls, String> {
        let fingerprint = fingerprint(&chain[0]);
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| format!("the certificate and key do not go together: {e}"))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        config.ticketer = rustls::crypto::ring::Ticketer::new()
            .map_err(|e| format!("TLS session tickets: {e}"))?;
        // rustls refuses to decrypt a ticket longer than the longest it has encrypted (a
        // counter per process): a `fork` child that never issued one would refuse them all.
        // One ticket's worth encrypted here, before any fork, sets the bound for every child.
        let _ = config.ticketer.encrypt(&[0u8; TICKET_ROOM]);
        config.session_storage = rustls::server::ServerSessionMemoryCache::new(4096);
        Ok(Tls {
            config: Arc::new(config),
            fingerprint,
        })
    }
}

/// SHA-256 of a certificate's DER, as `openssl x509 -fingerprint -sha256` prints it.
fn fingerprint(cert: &CertificateDer<'_>) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(cert.as_ref())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_and_files_make_a_config() {
        let (tls, pem) = Tls::self_signed().unwrap();
        assert_eq!(tls.fingerprint.len(), 32 * 3 - 1);
        assert_eq!(tls.config.alpn_protocols, [b"http/1.1".to_vec()]);
        let dir = std::env::temp_dir().join(format!("swarmlab-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        std::fs::write(dir.join("c.pem"), made.cert.pem()).unwrap();
        std::fs::write(dir.join("k.pem"), made.key_pair.serialize_pem()).unwrap();
        let from = Tls::from_files(&dir.join("c.pem"), &dir.join("k.pem")).unwrap();
        assert_ne!(from.fingerprint, tls.fingerprint);
        // the wrong key for the certificate, a key file without a key, a missing file
        std::fs::write(
            dir.join("other.pem"),
            rcgen::KeyPair::generate().unwrap().serialize_pem(),
        )
        .unwrap();
        let e = Tls::from_files(&dir.join("c.pem"), &dir.join("other.pem")).unwrap_err();
        assert!(e.contains("do not go together"), "{e}");
        let e = Tls::from_files(&dir.join("c.pem"), &dir.join("c.pem")).unwrap_err();
        assert!(e.contains("no PEM private key"), "{e}");
        std::fs::write(dir.join("pem.pem"), pem).unwrap();
        let e = Tls::from_files(&dir.join("nope.pem"), &dir.join("k.pem")).unwrap_err();
        assert!(e.starts_with("cannot read"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
