//! The Python user runtime, shipped inside the binary: swarmlab's own `locust` package (the
//! user-facing API Locust documents, written for swarmlab: user code imports it as Locust),
//! a small `gevent` on the same hub, `swarmlab_runtime` (the hub and the engine's protocol, at
//! the bottom: it imports nothing of the others) and `swarmlab_boot` (on top: it loads the
//! locustfile and runs its users; the process starts there). [`install`] writes them once into a directory of their own, named by their
//! content, which every Python process puts first on `sys.path`.

use std::hash::{Hash, Hasher};
use std::io;
use std::path::{Path, PathBuf};

/// Every file of the runtime, by its path below the directory.
pub const FILES: &[(&str, &str)] = &[
    (
        "gevent/__init__.py",
        include_str!("python/gevent/__init__.py"),
    ),
    ("gevent/lock.py", include_str!("python/gevent/lock.py")),
    ("gevent/monkey.py", include_str!("python/gevent/monkey.py")),
    ("gevent/pool.py", include_str!("python/gevent/pool.py")),
    (
        "locust/__init__.py",
        include_str!("python/locust/__init__.py"),
    ),
    (
        "locust/clients.py",
        include_str!("python/locust/clients.py"),
    ),
    (
        "locust/contrib/__init__.py",
        include_str!("python/locust/contrib/__init__.py"),
    ),
    (
        "locust/contrib/fasthttp.py",
        include_str!("python/locust/contrib/fasthttp.py"),
    ),
    ("locust/env.py", include_str!("python/locust/env.py")),
    ("locust/event.py", include_str!("python/locust/event.py")),
    (
        "locust/exception.py",
        include_str!("python/locust/exception.py"),
    ),
    (
        "locust/runners.py",
        include_str!("python/locust/runners.py"),
    ),
    ("locust/_port.py", include_str!("python/locust/_port.py")),
    ("locust/shape.py", include_str!("python/locust/shape.py")),
    (
        "locust/user/__init__.py",
        include_str!("python/locust/user/__init__.py"),
    ),
    (
        "locust/user/task.py",
        include_str!("python/locust/user/task.py"),
    ),
    (
        "locust/user/users.py",
        include_str!("python/locust/user/users.py"),
    ),
    (
        "locust/user/wait_time.py",
        include_str!("python/locust/user/wait_time.py"),
    ),
    (
        "swarmlab_runtime.py",
        include_str!("python/swarmlab_runtime.py"),
    ),
    ("swarmlab_boot.py", include_str!("python/swarmlab_boot.py")),
];

/// The directory holding the runtime (written if it is not there yet).
pub fn install() -> io::Result<PathBuf> {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for (name, text) in FILES {
        name.hash(&mut h);
        text.hash(&mut h);
    }
    let dir = std::env::temp_dir().join(format!("swarmlab-python-{:016x}", h.finish()));
    if dir.join("swarmlab_boot.py").exists() {
        return Ok(dir);
    }
    // written beside, then moved into place: a second swarmlab starting meanwhile never sees
    // half of it
    let staging = dir.with_extension(format!("tmp{}", std::process::id()));
    for (name, text) in FILES {
        let path = staging.join(name);
        std::fs::create_dir_all(path.parent().expect("a file in a directory"))?;
        std::fs::write(path, text)?;
    }
    match std::fs::rename(&staging, &dir) {
        Ok(()) => Ok(dir),
        Err(_) if dir.join("swarmlab_boot.py").exists() => {
            let _ = std::fs::remove_dir_all(&staging);
            Ok(dir)
        }
        Err(e) => Err(e),
    }
}

/// The `python3 -c` program that runs the runtime from `dir` (first on `sys.path`, before the
/// user's own site-packages, so `import locust` finds swarmlab's).
pub fn bootstrap(dir: &Path) -> String {
    format!(
        "import sys; sys.path.insert(0, {:?}); import swarmlab_boot; swarmlab_boot.main()",
        dir.display().to_string()
    )
}

/// How long a locustfile gets to be read or imported (a file that loops forever at import
/// would otherwise hold swarmlab forever).
pub const IMPORT_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Runs `command` to its end, as `Command::output` does, but bounded by `limit` (then it is
/// killed and the error says so) and tied to swarmlab's life (it dies with it: a SIGINT or
/// SIGTERM to swarmlab alone must not leave it running).
pub fn output_bounded(
    command: &mut std::process::Command,
    limit: std::time::Duration,
) -> io::Result<std::process::Output> {
    use std::io::Read;
    use std::process::Stdio;
    swarmlab_swarm::sys::die_with_parent(command);
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            buf
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped")));
    let until = std::time::Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if std::time::Instant::now() >= until {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "it did not finish in {} s (does the locustfile loop at import?)",
                    limit.as_secs()
                ),
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    Ok(std::process::Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_installs_once_with_every_file() {
        let a = install().unwrap();
        let b = install().unwrap();
        assert_eq!(a, b);
        for (name, text) in FILES {
            assert_eq!(std::fs::read_to_string(a.join(name)).unwrap(), *text);
        }
        assert!(FILES.iter().any(|(n, _)| *n == "locust/__init__.py"));
    }

    /// A file added to `src/python` but not to [`FILES`] would be missing from the binary.
    #[test]
    fn every_python_file_of_the_source_is_shipped() {
        fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, base, out);
                } else if p.extension().is_some_and(|x| x == "py") {
                    out.push(p.strip_prefix(base).unwrap().to_string_lossy().into_owned());
                }
            }
        }
        let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/python");
        let mut found = Vec::new();
        walk(&base, &base, &mut found);
        found.sort();
        let mut shipped: Vec<String> = FILES.iter().map(|(n, _)| n.to_string()).collect();
        shipped.sort();
        assert_eq!(found, shipped);
    }
}
