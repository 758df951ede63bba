//! The generator over TLS, against nginx with certificates this test makes: verification as
//! python-requests does it (and its error texts), `-k`, `--cacert`, a client certificate
//! nginx requires, SNI, session resumption.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::peer;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

/// A CA and what it signed, as PEM files in `dir`.
struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn make(dir: &Path) -> Pki {
        let write = |name: &str, text: String| std::fs::write(dir.join(name), text).unwrap();
        let ca = |cn: &str| {
            let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            p.distinguished_name.push(DnType::CommonName, cn);
            let key = KeyPair::generate().unwrap(); // ECDSA P-256
            let cert = p.self_signed(&key).unwrap();
            (cert, key)
        };
        let (server_ca, server_ca_key) = ca("swarmlab test CA");
        let (client_ca, client_ca_key) = ca("swarmlab test client CA");
        write("ca.pem", server_ca.pem());
        write("client-ca.pem", client_ca.pem());
        let leaf = |names: &[&str], file: &str, issuer: &rcgen::Certificate, key: &KeyPair| {
            let p = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
            let k = KeyPair::generate().unwrap();
            let cert = p.signed_by(&k, issuer, key).unwrap();
            write(&format!("{file}.pem"), cert.pem());
            write(&format!("{file}-key.pem"), k.serialize_pem());
        };
        leaf(
            &["localhost", "127.0.0.1"],
            "server",
            &server_ca,
            &server_ca_key,
        );
        leaf(&["other.example"], "other", &server_ca, &server_ca_key);
        leaf(&["client"], "client", &client_ca, &client_ca_key);
        Pki {
            dir: dir.to_path_buf(),
        }
    }

    fn file(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}

/// nginx with three TLS servers: the right name, a wrong name, and one that requires a client
/// certificate. Its access log says which name each client asked for (SNI).
struct Nginx {
    child: Child,
    ports: [u16; 3],
    log: PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Nginx {
    fn start(nginx: &Path, pki: &Pki, dir: &Path) -> Nginx {
        let ports = [free_port(), free_port(), free_port()];
        let log = dir.join("access.log");
        let d = dir.display();
        let conf = format!(
            r#"worker_processes 1;
daemon off;
error_log {d}/error.log;
pid {d}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    log_format sni '$ssl_server_name $ssl_protocol $ssl_session_reused';
    access_log {log} sni;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    ssl_protocols TLSv1.2 TLSv1.3;
    server {{
        listen 127.0.0.1:{p0} ssl;
        ssl_certificate {server};
        ssl_certificate_key {server_key};
        location / {{ return 200 "hello\n"; }}
    }}
    server {{
        listen 127.0.0.1:{p1} ssl;
        ssl_certificate {other};
        ssl_certificate_key {other_key};
        location / {{ return 200 "hello\n"; }}
    }}
    server {{
        listen 127.0.0.1:{p2} ssl;
        ssl_certificate {server};
        ssl_certificate_key {server_key};
        ssl_client_certificate {client_ca};
        ssl_verify_client on;
        location / {{ return 200 "hello\n"; }}
    }}
}}
"#,
            log = log.display(),
            p0 = ports[0],
            p1 = ports[1],
            p2 = ports[2],
            server = pki.file("server.pem"),
            server_key = pki.file("server-key.pem"),
            other = pki.file("other.pem"),
            other_key = pki.file("other-key.pem"),
            client_ca = pki.file("client-ca.pem"),
        );
        std::fs::write(dir.join("nginx.conf"), conf).unwrap();
        let child = Command::new(nginx)
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx");
        let until = Instant::now() + common::IO_TIMEOUT;
        while ports
            .iter()
            .any(|p| std::net::TcpStream::connect(("127.0.0.1", *p)).is_err())
        {
            assert!(Instant::now() < until, "nginx did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
        Nginx { child, ports, log }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        common::stop_nginx(&mut self.child);
    }
}

/// `swarm --headless` for a second with `extra`; its output (both streams) and exit code.
fn swarm(url: &str, extra: &[&str]) -> (String, Option<i32>) {
    let out = Command::new(env!("CARGO_BIN_EXE_swarmlab"))
        .args([
            "swarm",
            "--headless",
            "-u",
            "2",
            "-r",
            "2",
            "-t",
            "1s",
            "--only-summary",
        ])
        .args(["-H", url])
        .args(extra)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (text, out.status.code())
}

fn requests_and_failures(text: &str) -> (u64, u64) {
    let line = text
        .lines()
        .find(|l| l.starts_with("ran "))
        .unwrap_or_else(|| panic!("no summary line: {text}"));
    let number_before = |word: &str| -> u64 {
        let i = line
            .find(word)
            .unwrap_or_else(|| panic!("{word} in {line}"));
        line[..i]
            .split_whitespace()
            .last()
            .unwrap()
            .replace(',', "")
            .parse()
            .unwrap()
    };
    (number_before(" requests"), number_before(" failures"))
}

#[test]
fn the_generator_speaks_tls_as_python_requests_would() {
    let Some(nginx) = peer("nginx") else { return };
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let pki = Pki::make(&dir);
    let server = Nginx::start(&nginx, &pki, &dir);
    let url = |i: usize| format!("https://localhost:{}", server.ports[i]);
    let ca = pki.file("ca.pem");

    // verified against --cacert: every request succeeds, sessions resume
    let (text, code) = swarm(&url(0), &["--cacert", &ca]);
    let (requests, failures) = requests_and_failures(&text);
    assert!(requests > 0 && failures == 0 && code == Some(0), "{text}");
    let hs = text
        .lines()
        .find(|l| l.starts_with("TLS: "))
        .unwrap_or_else(|| panic!("no TLS line: {text}"));
    assert!(hs.contains(" full and "), "{hs}");
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(
        log.lines()
            .next()
            .is_some_and(|l| l.starts_with("localhost TLSv1.3")),
        "SNI and TLS 1.3 in nginx's log: {log}"
    );

    // the system's roots do not hold the test's CA
    let (text, _) = swarm(&url(0), &[]);
    assert!(
        text.contains(
            "SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate \
             verify failed: unable to get local issuer certificate (_ssl.c:1006)'))"
        ),
        "{text}"
    );
    assert_eq!(
        requests_and_failures(&text).0,
        requests_and_failures(&text).1
    );

    // -k: not verified, so it works
    let (text, code) = swarm(&url(0), &["-k"]);
    let (requests, failures) = requests_and_failures(&text);
    assert!(requests > 0 && failures == 0 && code == Some(0), "{text}");

    // a certificate for another name
    let (text, _) = swarm(&url(1), &["--cacert", &ca]);
    assert!(
        text.contains(
            "certificate verify failed: Hostname mismatch, certificate is not valid for \
             'localhost'."
        ),
        "{text}"
    );

    // a server that requires a client certificate: without one nginx answers 400; with it, 200
    let (text, _) = swarm(&url(2), &["--cacert", &ca]);
    let (requests, failures) = requests_and_failures(&text);
    assert!(requests > 0 && failures == requests, "{text}");
    let (text, code) = swarm(
        &url(2),
        &[
            "--cacert",
            &ca,
            "--cert",
            &pki.file("client.pem"),
            "--key",
            &pki.file("client-key.pem"),
        ],
    );
    let (requests, failures) = requests_and_failures(&text);
    assert!(requests > 0 && failures == 0 && code == Some(0), "{text}");
}

#[test]
fn bad_tls_files_are_one_line() {
    let out = Command::new(env!("CARGO_BIN_EXE_swarmlab"))
        .args([
            "swarm",
            "--headless",
            "-H",
            "https://127.0.0.1:9",
            "-t",
            "1s",
        ])
        .args(["--cacert", "/nonexistent/ca.pem"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cannot read /nonexistent/ca.pem"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_swarmlab"))
        .args([
            "swarm",
            "--headless",
            "-H",
            "https://127.0.0.1:9",
            "-t",
            "1s",
        ])
        .args(["--cert", "c.pem"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// A console row's requests and failures.
fn row(text: &str, name: &str) -> (u64, u64) {
    let line = text
        .lines()
        .find(|l| l.starts_with("GET") && l.split_whitespace().nth(1) == Some(name))
        .unwrap_or_else(|| panic!("no row {name}: {text}"));
    let f: Vec<&str> = line.split_whitespace().collect();
    let fails = f[3].split('(').next().unwrap();
    (f[2].parse().unwrap(), fails.parse().unwrap())
}

/// Locust's clients verify differently: `HttpUser` (python-requests) verifies unless
/// `verify=False`; `FastHttpUser` (geventhttpclient) does not unless `insecure = False`. Both
/// paths follow them.
#[test]
fn each_locust_client_verifies_as_its_library_does() {
    let Some(nginx) = peer("nginx") else { return };
    if peer("python3").is_none() {
        return;
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("tls-lf-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let pki = Pki::make(&dir);
    let server = Nginx::start(&nginx, &pki, &dir);
    let url = format!("https://localhost:{}", server.ports[0]);
    let head = "from locust import FastHttpUser, HttpUser, task, constant\n";
    let class = |name: &str, base: &str, extra: &str, call: &str| {
        format!(
            "class {name}({base}):\n    wait_time = constant(0.05)\n{extra}    @task\n    def t(self):\n        {call}\n"
        )
    };
    // static: both clients' defaults
    let file = dir.join("static.py");
    std::fs::write(
        &file,
        format!(
            "{head}{}{}",
            class("F", "FastHttpUser", "", "self.client.get('/fast')"),
            class("H", "HttpUser", "", "self.client.get('/http')")
        ),
    )
    .unwrap();
    let (text, _) = swarm(&url, &["-f", file.to_str().unwrap()]);
    assert!(text.contains("the static path"), "{text}");
    let (n, failed) = row(&text, "/fast");
    assert!(n > 0 && failed == 0, "{text}");
    let (n, failed) = row(&text, "/http");
    assert!(n > 0 && failed == n, "{text}");
    assert!(text.contains("self-signed") || text.contains("unable to get local issuer"));

    // the Python path: the opposite settings
    if !common::python_has_greenlet() {
        return;
    }
    let file = dir.join("dynamic.py");
    std::fs::write(
        &file,
        format!(
            "import random\n{head}{}{}",
            class(
                "F",
                "FastHttpUser",
                "    insecure = False\n",
                "self.client.get(f'/?{random.random()}', name='/fast')"
            ),
            class(
                "H",
                "HttpUser",
                "",
                "self.client.get(f'/?{random.random()}', name='/http', verify=False)"
            )
        ),
    )
    .unwrap();
    let (text, _) = swarm(&url, &["-f", file.to_str().unwrap(), "--processes", "1"]);
    assert!(text.contains("the Python path"), "{text}");
    let (n, failed) = row(&text, "/fast");
    assert!(n > 0 && failed == n, "{text}");
    let (n, failed) = row(&text, "/http");
    assert!(n > 0 && failed == 0, "{text}");

    // one user, one host, verify=False then the default: the unverified connection kept alive
    // must not carry the request that verifies
    let file = dir.join("modes.py");
    std::fs::write(
        &file,
        format!(
            "import random\n{head}{}",
            class(
                "H",
                "HttpUser",
                "",
                "self.client.get(f'/?{random.random()}', name='/unverified', verify=False); self.client.get(f'/?{random.random()}', name='/verified')"
            )
        ),
    )
    .unwrap();
    let (text, _) = swarm(&url, &["-f", file.to_str().unwrap(), "--processes", "1"]);
    let (n, failed) = row(&text, "/unverified");
    assert!(n > 0 && failed == 0, "{text}");
    let (n, failed) = row(&text, "/verified");
    assert!(
        n > 0 && failed == n,
        "a verified request went over an unverified connection: {text}"
    );
}

/// Column `column` of a CSV file, as a set.
fn csv_column(csv_file: &Path, column: usize) -> BTreeSet<String> {
    let text =
        std::fs::read_to_string(csv_file).unwrap_or_else(|e| panic!("{}: {e}", csv_file.display()));
    let mut r = csv::Reader::from_reader(text.as_bytes());
    r.records()
        .map(|rec| rec.unwrap().get(column).unwrap_or("").to_string())
        .collect()
}

/// The `Error` column of a `_failures.csv`.
fn failure_texts(csv_file: &Path) -> BTreeSet<String> {
    csv_column(csv_file, 2)
}

/// The `Message` column of an `_exceptions.csv`.
fn exception_texts(csv_file: &Path) -> BTreeSet<String> {
    csv_column(csv_file, 1)
}

/// One headless run of `file` for 4 s with one user against `url`, by real Locust (`first`
/// empty) or by `swarmlab swarm`, its CSVs at `prefix`; its output, both streams.
fn headless(program: &Path, first: &[&str], file: &Path, url: &str, prefix: &Path) -> String {
    let out = Command::new(program)
        .args(first)
        .arg("-f")
        .arg(file)
        .args([
            "--headless",
            "-u",
            "1",
            "-r",
            "1",
            "-t",
            "4s",
            "--only-summary",
        ])
        .args(["-H", url, "--csv"])
        .arg(prefix)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// A failed verification reads as Locust users read it: real Locust 2.47 and swarmlab, the same
/// file (HttpUser, verifying as python-requests does) against a certificate of an unknown CA and
/// one for another name: the same failure texts, byte for byte.
#[test]
fn verification_failures_read_as_under_locust() {
    let Some(locust) = peer("locust") else { return };
    let Some(nginx) = peer("nginx") else { return };
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("tls-diff-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let pki = Pki::make(&dir);
    let server = Nginx::start(&nginx, &pki, &dir);
    let file = dir.join("verify.py");
    std::fs::write(
        &file,
        "from locust import HttpUser, task, constant\n\
         class H(HttpUser):\n    wait_time = constant(0.1)\n    @task\n    def t(self):\n        self.client.get('/x')\n",
    )
    .unwrap();
    for port in [server.ports[0], server.ports[1]] {
        let url = format!("https://localhost:{port}");
        let run = |program: &Path, first: &[&str], prefix: &str| {
            headless(program, first, &file, &url, &dir.join(prefix));
            failure_texts(&dir.join(format!("{prefix}_failures.csv")))
        };
        let theirs = run(&locust, &[], &format!("locust-{port}"));
        let ours = run(
            Path::new(env!("CARGO_BIN_EXE_swarmlab")),
            &["swarm"],
            &format!("swarmlab-{port}"),
        );
        assert!(!theirs.is_empty(), "Locust recorded no failure on {url}");
        assert_eq!(
            theirs, ours,
            "the failure texts on {url}: Locust's, then swarmlab's"
        );
    }
}

/// `verify="ca.pem"` and `cert=(...)` per request (the Python path), against real Locust: the
/// CA file makes the test CA's server verify; a CA path that is not there is python-requests'
/// OSError, raised in the task (Locust's Exceptions, not a failure); a client certificate gets
/// through nginx's `ssl_verify_client`, and its absence is refused (nginx answers 400).
#[test]
fn per_request_ca_and_client_certificates_as_under_locust() {
    let Some(locust) = peer("locust") else { return };
    let Some(nginx) = peer("nginx") else { return };
    if !common::python_has_greenlet() {
        return;
    }
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("tls-files-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let pki = Pki::make(&dir);
    let server = Nginx::start(&nginx, &pki, &dir);
    let mtls = format!("https://localhost:{}", server.ports[2]);
    let file = dir.join("files.py");
    std::fs::write(
        &file,
        format!(
            "from locust import HttpUser, task, constant\n\
             CA = {ca:?}\n\
             class H(HttpUser):\n    wait_time = constant(0.1)\n\
             \x20   @task\n    def good(self):\n\
             \x20       self.client.get('/ca', verify=CA)\n\
             \x20       self.client.get('{mtls}/cert', verify=CA, cert=({crt:?}, {key:?}))\n\
             \x20       self.client.get('{mtls}/nocert', verify=CA)\n\
             \x20   @task\n    def nowhere(self):\n\
             \x20       self.client.get('/nowhere', verify='/nonexistent/ca.pem')\n",
            ca = pki.file("ca.pem"),
            crt = pki.file("client.pem"),
            key = pki.file("client-key.pem"),
        ),
    )
    .unwrap();
    let url = format!("https://localhost:{}", server.ports[0]);
    let run = |program: &Path, first: &[&str], prefix: &str| {
        let text = headless(program, first, &file, &url, &dir.join(prefix));
        let failures = failure_texts(&dir.join(format!("{prefix}_failures.csv")));
        let exceptions = exception_texts(&dir.join(format!("{prefix}_exceptions.csv")));
        (failures, exceptions, text)
    };
    let (their_failures, their_exceptions, their_text) = run(&locust, &[], "locust");
    let (our_failures, our_exceptions, our_text) = run(
        Path::new(env!("CARGO_BIN_EXE_swarmlab")),
        &["swarm"],
        "swarmlab",
    );
    assert!(our_text.contains("the Python path"), "{our_text}");
    // the missing CA file: the same exception
    let missing = |set: &BTreeSet<String>| {
        set.iter()
            .any(|e| e.contains("Could not find a suitable TLS CA certificate bundle, invalid path: /nonexistent/ca.pem"))
    };
    assert!(
        missing(&their_exceptions),
        "Locust: {their_exceptions:?}\n{their_text}"
    );
    assert!(
        missing(&our_exceptions),
        "swarmlab: {our_exceptions:?}\n{our_text}"
    );
    // no client certificate: nginx answers 400, the same failure; the CA file and the client
    // certificate pass
    assert_eq!(
        their_failures.len(),
        1,
        "Locust: {their_failures:?}\n{their_text}"
    );
    assert_eq!(their_failures, our_failures, "{their_text}\n{our_text}");
    for name in ["/ca", "/cert"] {
        let (n, failed) = row(&our_text, name);
        assert!(n > 0 && failed == 0, "{name}: {our_text}");
    }
    let (n, failed) = row(&our_text, "/nocert");
    assert!(n > 0 && failed == n, "{our_text}");
}
