//! The Python path: a locustfile the static reader cannot take all of runs as Python, in the
//! user's own python3, against swarmlab's `locust` package ([`crate::python`]); the engine
//! does every request. This asks the file (imported once, as Locust imports it) for its user
//! classes, and builds the engine's workload: those classes, no program of its own, and the
//! [`Driver`] that starts one process of them per worker thread.

use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use swarmlab_swarm::remote::Driver;
use swarmlab_swarm::target::Target;
use swarmlab_swarm::workload::{UserClass, Workload};

use super::{BadLocustfile, Options};

#[derive(Deserialize)]
struct Described {
    classes: Vec<ClassD>,
    shape: Option<String>,
}

#[derive(Deserialize)]
struct ClassD {
    name: String,
    weight: u32,
    fixed_count: Option<usize>,
    host: Option<String>,
}

/// The workload of `path` run as Python by `python`.
pub fn workload(python: &Path, path: &str, opts: &Options) -> Result<Workload, BadLocustfile> {
    let dir = crate::python::install().map_err(|e| BadLocustfile::Value {
        file: path.into(),
        message: format!("cannot write the Python runtime: {e}"),
    })?;
    let file = std::fs::canonicalize(path).map_err(|e| BadLocustfile::Value {
        file: path.into(),
        message: format!("cannot read it: {e}"),
    })?;
    let file = file.to_string_lossy().into_owned();
    // the clients' rules, from the engine's table (the runtime does not restate them)
    let mut env: Vec<(String, String)> = vec![(
        "SWARMLAB_CLIENT_RULES".into(),
        swarmlab_swarm::profile::ClientProfile::rules_for_python(),
    )];
    if let Some(host) = &opts.host {
        env.push(("SWARMLAB_HOST".into(), host.url()));
    }
    if !opts.tags.is_empty() {
        env.push(("SWARMLAB_TAGS".into(), opts.tags.join(",")));
    }
    if !opts.exclude_tags.is_empty() {
        env.push(("SWARMLAB_EXCLUDE_TAGS".into(), opts.exclude_tags.join(",")));
    }
    let args = |mode: &str| -> Vec<String> {
        let mut a = vec![
            "-c".to_string(),
            crate::python::bootstrap(&dir),
            mode.to_string(),
            file.clone(),
        ];
        a.extend(opts.classes.iter().cloned());
        a
    };
    let out = crate::python::output_bounded(
        std::process::Command::new(python)
            .args(args("--describe"))
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(std::process::Stdio::null()),
        crate::python::IMPORT_LIMIT,
    )
    .map_err(|e| BadLocustfile::NoPython {
        file: path.into(),
        why: e.to_string(),
    })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        // the runtime says what is wrong in its last line (FILE:LINE: Type: message)
        let why = stderr
            .lines()
            .last()
            .unwrap_or("it exited without a word")
            .to_string();
        return Err(BadLocustfile::Python(why));
    }
    let described: Described =
        serde_json::from_slice(&out.stdout).map_err(|e| BadLocustfile::Value {
            file: path.into(),
            message: format!("the runtime's description does not parse: {e}"),
        })?;
    let short = Path::new(path)
        .file_name()
        .map_or(path.to_string(), |f| f.to_string_lossy().into_owned());
    let value = |message: String| BadLocustfile::Value {
        file: short.clone(),
        message,
    };
    for wanted in &opts.classes {
        if !described.classes.iter().any(|c| &c.name == wanted) {
            let have: Vec<&str> = described.classes.iter().map(|c| c.name.as_str()).collect();
            return Err(value(format!(
                "unknown User class '{wanted}' (it has: {})",
                have.join(", ")
            )));
        }
    }
    if described.classes.is_empty() {
        return Err(value("No User class found!".into()));
    }
    let mut classes = Vec::new();
    for c in &described.classes {
        let target = match (&c.host, &opts.host) {
            (_, Some(t)) => t.clone(), // -H replaces every class's host, as in Locust
            (Some(h), None) => {
                Target::parse(h).map_err(|e| value(format!("class {}: {e}", c.name)))?
            }
            (None, None) => {
                return Err(value(format!(
                    "class {} has no host and no -H/--host was given",
                    c.name
                )))
            }
        };
        classes.push(UserClass {
            name: c.name.clone(),
            weight: c.weight.max(1),
            fixed_count: c.fixed_count,
            wait: opts.wait,
            addr: target.addr,
            tls: target.tls_name(),
            tls_verify: None,
            own_host: c.host.is_some(),
            session: true,
            sets: Vec::new(),
        });
    }
    Ok(Workload {
        classes,
        entries: Vec::new(),
        driver: Some(Arc::new(Driver {
            program: python.to_path_buf(),
            args: args("--serve"),
            env,
            shape: described.shape.is_some(),
        })),
    })
}
