//! The user's own `locustfile.py`, unchanged: read with Python's own parser (`ast`, by the
//! embedded `reader.py`, run by `python3`, which every Locust user has; the file is parsed,
//! never imported or run) and turned into the same [`Workload`] a scenario file gives.
//!
//! The subset is the static one almost every locustfile stays inside: `HttpUser` and
//! `FastHttpUser` classes (abstract ones skipped) with `host`, `weight`, `fixed_count` and
//! `wait_time`; `@task`/`@task(N)` methods, `tasks = [...]` / `{...}`, nested `TaskSet` and
//! `SequentialTaskSet` classes with `self.interrupt()`, `@tag`, `on_start`/`on_stop`; in a task,
//! `self.client.get/post/.../request(...)` with literal URLs (f-strings and `+` of literals and
//! module constants), `name=`, `headers=`, `data=`, `json=`, `params=`, `allow_redirects=`,
//! `auth=`, and `with ... catch_response=True as r:` judged by if/elif/else on `r.status_code`
//! and `... in r.text`. Anything else is refused, one line per problem
//! (`locustfile.py:LINE: <what> is not supported here; <what to do instead>`): never a silently
//! different scenario.
//!
//! Names in the statistics follow the class's client, as in Locust: `HttpUser` names a request
//! by the path it sent (query, `params=` included), `FastHttpUser` by the URL as written.

mod python_path;
pub mod write;

use std::path::PathBuf;

use serde::Deserialize;
use serde_json::Value;

use swarmlab_swarm::program::RequestParts;
use swarmlab_swarm::program::{Action, Client, Cond, Rule, Step, Task, TaskRun, TaskSet, Verdict};
use swarmlab_swarm::target::{BadTarget, Target};
use swarmlab_swarm::wait::WaitTime;
use swarmlab_swarm::workload::{entry_index, Entry, UserClass, Workload};

const READER: &str = include_str!("reader.py");

#[derive(Deserialize)]
struct Parsed {
    classes: Vec<ClassJ>,
    problems: Vec<ProblemJ>,
    #[serde(default)]
    client_env: ClientEnv,
}

/// What the user's python3 has installed that changes what Locust's clients send.
#[derive(Deserialize)]
struct ClientEnv {
    requests: Option<String>,
    geventhttpclient: Option<String>,
    brotli: bool,
}

impl Default for ClientEnv {
    /// What Locust 2.47's install brings.
    fn default() -> ClientEnv {
        ClientEnv {
            requests: None,
            geventhttpclient: None,
            brotli: true,
        }
    }
}

impl ClientEnv {
    /// The header fields a request of `client` starts from (python-requests' session
    /// defaults; geventhttpclient's user agent as Locust configures it).
    fn default_headers(&self, client: Client) -> Vec<(String, String)> {
        // no requests installed: the one Locust 2.47 installs, with brotli beside it
        let brotli = self.brotli || self.requests.is_none();
        match client {
            Client::Http => vec![
                (
                    "User-Agent".into(),
                    format!(
                        "python-requests/{}",
                        self.requests.as_deref().unwrap_or("2.34.2")
                    ),
                ),
                (
                    "Accept-Encoding".into(),
                    if brotli {
                        "gzip, deflate, br"
                    } else {
                        "gzip, deflate"
                    }
                    .into(),
                ),
                ("Accept".into(), "*/*".into()),
                ("Connection".into(), "keep-alive".into()),
            ],
            // geventhttpclient requires brotli: it always offers br
            Client::FastHttp => vec![
                (
                    "User-Agent".into(),
                    format!(
                        "python/gevent-http-client-{}",
                        self.geventhttpclient.as_deref().unwrap_or("2.6.1")
                    ),
                ),
                ("Accept-Encoding".into(), "gzip, deflate, br".into()),
            ],
        }
    }
}

/// `defaults` with `given` over them as python-requests merges a request's headers into the
/// session's: a field given again keeps its place and takes the new value (and spelling), a
/// `None` removes it, the rest follow in order.
fn merge_headers(
    defaults: &[(String, String)],
    given: &[(String, Option<String>)],
) -> Vec<(String, String)> {
    let mut out: Vec<(String, Option<String>)> = defaults
        .iter()
        .map(|(k, v)| (k.clone(), Some(v.clone())))
        .collect();
    for (k, v) in given {
        match out
            .iter_mut()
            .find(|(have, _)| have.eq_ignore_ascii_case(k))
        {
            Some(slot) => *slot = (k.clone(), v.clone()),
            None => out.push((k.clone(), v.clone())),
        }
    }
    out.into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
}

#[derive(Deserialize)]
struct ProblemJ {
    line: usize,
    what: String,
    instead: String,
}

#[derive(Deserialize)]
struct ClassJ {
    name: String,
    line: usize,
    client: String,
    host: Option<String>,
    weight: u32,
    fixed_count: Option<usize>,
    wait: Option<WaitJ>,
    sets: Vec<SetJ>,
}

#[derive(Deserialize)]
struct WaitJ {
    kind: String,
    args: Vec<f64>,
}

#[derive(Deserialize)]
struct SetJ {
    name: String,
    sequential: bool,
    wait: Option<WaitJ>,
    on_start: Vec<StepJ>,
    on_stop: Vec<StepJ>,
    tasks: Vec<TaskJ>,
}

#[derive(Deserialize)]
struct TaskJ {
    weight: u32,
    tags: Vec<String>,
    name: String,
    #[serde(default)]
    set: Option<usize>,
    #[serde(default)]
    steps: Vec<StepJ>,
    #[serde(default)]
    interrupt: bool,
}

#[derive(Deserialize)]
struct StepJ {
    line: usize,
    method: String,
    url: String,
    url_as_written: String,
    name: Option<String>,
    headers: Vec<(String, Option<String>)>,
    /// A `json=` body (`FastHttpUser` then also sends `Accept: application/json`).
    #[serde(default)]
    json: bool,
    body: Option<String>,
    allow_redirects: bool,
    catch: Option<CatchJ>,
}

#[derive(Deserialize)]
struct CatchJ {
    rules: Vec<RuleJ>,
}

#[derive(Deserialize)]
struct RuleJ {
    cond: Value,
    action: ActionJ,
}

#[derive(Deserialize)]
struct ActionJ {
    kind: String,
    #[serde(default)]
    message: String,
}

/// What the command line says about a locustfile's users.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `-H`: the host of classes without one of their own. By default, none.
    pub host: Option<Target>,
    /// Think time of classes without a `wait_time`. By default, Locust's `constant(0)`.
    pub wait: WaitTime,
    /// `-T/--tags`: only tasks with one of these tags. By default, all tasks.
    pub tags: Vec<String>,
    /// `-E/--exclude-tags`: no task with one of these tags. By default, none excluded.
    pub exclude_tags: Vec<String>,
    /// User classes to run, by name (Locust's positional `UserClass ...`). By default, all.
    pub classes: Vec<String>,
    /// The python3 to read and run the file with. By default, `$VIRTUAL_ENV/bin/python3` in a
    /// virtualenv, else `python3` on `PATH`.
    pub python: Option<PathBuf>,
    /// Run the file as Python even if the static reader accepts it (`--python`, for a
    /// differential check). By default, off.
    pub force_python: bool,
}

/// How a locustfile runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathTaken {
    /// Wholly inside the static subset: compiled to the engine's own program.
    Static,
    /// Run as Python in the user's python3 (the engine still does the requests); why, as the
    /// first construct the static reader could not take (`locustfile.py:LINE: ...`), or
    /// `--python`.
    Python(String),
}

/// A locustfile, read.
#[derive(Debug)]
pub struct Loaded {
    /// What the users do.
    pub workload: Workload,
    /// Which way it runs.
    pub path: PathTaken,
}

/// The python3 to use for `opts`.
pub fn python_of(opts: &Options) -> PathBuf {
    if let Some(p) = &opts.python {
        return p.clone();
    }
    if let Some(venv) = std::env::var_os("VIRTUAL_ENV") {
        let p = PathBuf::from(venv).join("bin/python3");
        if p.exists() {
            return p;
        }
    }
    PathBuf::from("python3")
}

/// A locustfile that cannot be run.
#[derive(Debug, thiserror::Error)]
pub enum BadLocustfile {
    /// No python3 to parse it with.
    #[error("reading {file} needs python3, which parses it as Locust would: {why}")]
    NoPython {
        /// The locustfile.
        file: String,
        /// What went wrong.
        why: String,
    },
    /// Constructs outside the subset, one line each.
    #[error("{}", .0.join("\n"))]
    Unsupported(Vec<String>),
    /// A value that parses but cannot be used.
    #[error("{file}: {message}")]
    Value {
        /// The locustfile.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A host that cannot be used.
    #[error(transparent)]
    Target(#[from] BadTarget),
    /// Importing the file as Python failed (`locustfile.py:LINE: Type: message`).
    #[error("{0}")]
    Python(String),
    /// A value that cannot be used, where it is (`locustfile.py:LINE: ...`).
    #[error("{0}")]
    At(String),
}

/// Largest locustfile read (`-f /dev/zero` was read until memory ran out).
const MAX_FILE: u64 = 16 << 20;

/// `path` is a regular file of a locustfile's size.
fn check_file(path: &str) -> Result<(), BadLocustfile> {
    let value = |message: String| BadLocustfile::Value {
        file: path.into(),
        message,
    };
    let meta = std::fs::metadata(path).map_err(|e| value(format!("cannot read it: {e}")))?;
    if !meta.is_file() {
        return Err(value("not a regular file".into()));
    }
    if meta.len() > MAX_FILE {
        return Err(value(format!(
            "{} bytes: larger than a locustfile ({} MiB at most)",
            meta.len(),
            MAX_FILE >> 20
        )));
    }
    Ok(())
}

/// Reads `path` into a workload: compiled to the engine's program when the static reader
/// takes all of it (and `--python` was not given), else run as Python.
pub fn load(path: &str, opts: &Options) -> Result<Loaded, BadLocustfile> {
    check_file(path)?;
    let python = python_of(opts);
    let why = if opts.force_python {
        "--python".to_string()
    } else {
        match load_static(&python, path, opts) {
            Ok(workload) => {
                return Ok(Loaded {
                    workload,
                    path: PathTaken::Static,
                })
            }
            Err(BadLocustfile::Unsupported(problems)) => {
                // the construct and where it is; the static reader's advice is for those who
                // want the fast path, which this run does not take
                let first = problems.into_iter().next().unwrap_or_default();
                match first.split_once(" is not supported here") {
                    Some((what, _)) => what.to_string(),
                    None => first,
                }
            }
            Err(e) => return Err(e),
        }
    };
    let workload = python_path::workload(&python, path, opts)?;
    Ok(Loaded {
        workload,
        path: PathTaken::Python(why),
    })
}

/// `path` compiled to the engine's own program, or every construct the static reader cannot
/// take (`locustfile.py:LINE: ... is not supported here; ...`).
pub fn load_static(
    python: &std::path::Path,
    path: &str,
    opts: &Options,
) -> Result<Workload, BadLocustfile> {
    build(read_static(python, path)?, path, opts)
}

/// The static reader's view of `path` (parsed by Python's own `ast`, never imported).
fn read_static(python: &std::path::Path, path: &str) -> Result<Parsed, BadLocustfile> {
    let out = crate::python::output_bounded(
        std::process::Command::new(python)
            .arg("-c")
            .arg(READER)
            .arg(path)
            .stdin(std::process::Stdio::null()),
        crate::python::IMPORT_LIMIT,
    )
    .map_err(|e| BadLocustfile::NoPython {
        file: path.into(),
        why: if e.kind() == std::io::ErrorKind::NotFound {
            format!("{} is not there (or not on PATH)", python.display())
        } else {
            e.to_string()
        },
    })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(BadLocustfile::NoPython {
            file: path.into(),
            why: format!(
                "python3 failed: {}",
                stderr.lines().last().unwrap_or("no output")
            ),
        });
    }
    serde_json::from_slice(&out.stdout).map_err(|e| BadLocustfile::Value {
        file: path.into(),
        message: format!("the reader's output does not parse: {e}"),
    })
}

fn build(parsed: Parsed, file: &str, opts: &Options) -> Result<Workload, BadLocustfile> {
    let short = std::path::Path::new(file)
        .file_name()
        .map_or(file.to_string(), |f| f.to_string_lossy().into_owned());
    let line = |l: usize, what: &str, instead: &str| {
        format!("{short}:{l}: {what} is not supported here; {instead}")
    };
    let mut problems: Vec<String> = parsed
        .problems
        .iter()
        .map(|p| line(p.line, &p.what, &p.instead))
        .collect();
    if !problems.is_empty() {
        // what is outside the subset first: a missing host is the smaller matter
        return Err(BadLocustfile::Unsupported(problems));
    }
    let value = |message: String| BadLocustfile::Value {
        file: short.clone(),
        message,
    };
    for wanted in &opts.classes {
        if !parsed.classes.iter().any(|c| &c.name == wanted) {
            let have: Vec<&str> = parsed.classes.iter().map(|c| c.name.as_str()).collect();
            return Err(value(format!(
                "unknown User class '{wanted}' (it has: {})",
                have.join(", ")
            )));
        }
    }
    let mut entries = Vec::new();
    let mut classes = Vec::new();
    for c in &parsed.classes {
        if !opts.classes.is_empty() && !opts.classes.contains(&c.name) {
            continue;
        }
        let client = if c.client == "FastHttpUser" {
            Client::FastHttp
        } else {
            Client::Http
        };
        let (target, own_host) = class_target(c, opts, &short)?;
        let mut ctx = Ctx {
            target: &target,
            client,
            defaults: parsed.client_env.default_headers(client),
            entries: &mut entries,
            problems: &mut problems,
            line: &line,
        };
        let mut sets: Vec<TaskSet> = c.sets.iter().map(|s| ctx.task_set(s, opts)).collect();
        prune(&mut sets);
        if sets[0].tasks.is_empty() {
            if opts.tags.is_empty() && opts.exclude_tags.is_empty() {
                problems.push(line(
                    c.line,
                    &format!("class {} without tasks", c.name),
                    "give it @task methods or a tasks attribute",
                ));
            }
            continue; // Locust leaves a class whose tasks the tags removed
        }
        classes.push(UserClass {
            name: c.name.clone(),
            weight: c.weight.max(1),
            fixed_count: c.fixed_count,
            wait: c.wait.as_ref().map_or(opts.wait, wait),
            addr: target.addr,
            tls: target.tls_name(),
            // geventhttpclient, under Locust, verifies nothing unless told (`insecure = True`)
            tls_verify: (c.client == "FastHttpUser").then_some(false),
            own_host,
            session: true,
            sets,
        });
    }
    if !problems.is_empty() {
        return Err(BadLocustfile::Unsupported(problems));
    }
    if classes.is_empty() {
        return Err(value(
            "no task is left to run (check --tags, --exclude-tags and the class names)".into(),
        ));
    }
    Ok(Workload {
        classes,
        entries,
        driver: None,
    })
}

/// Where a class's users connect: `-H`, else its own `host`; and whether it named its own.
fn class_target(c: &ClassJ, opts: &Options, file: &str) -> Result<(Target, bool), BadLocustfile> {
    match (&c.host, &opts.host) {
        // -H replaces every class's host, as Locust's runner does
        (own, Some(t)) => Ok((t.clone(), own.is_some())),
        (Some(h), None) => Target::parse(h).map(|t| (t, true)).map_err(|e| {
            BadLocustfile::At(format!(
                "{file}:{}: the host of class {}: {e}",
                c.line, c.name
            ))
        }),
        (None, None) => Err(BadLocustfile::Value {
            file: file.to_string(),
            message: format!(
                "class {} (line {}) has no host and no -H/--host was given",
                c.name, c.line
            ),
        }),
    }
}

/// Locust's tag filter: with --tags a task needs one of them; with --exclude-tags it needs
/// none of those.
fn keep(tags: &[String], opts: &Options) -> bool {
    (opts.tags.is_empty() || tags.iter().any(|t| opts.tags.contains(t)))
        && !tags.iter().any(|t| opts.exclude_tags.contains(t))
}

/// Drops task-set tasks whose set has no task left (after the tag filter), as Locust does.
fn prune(sets: &mut [TaskSet]) {
    loop {
        let empty: Vec<bool> = sets.iter().map(|s| s.tasks.is_empty()).collect();
        let mut changed = false;
        for s in sets.iter_mut() {
            let before = s.tasks.len();
            s.tasks
                .retain(|t| !matches!(t.run, TaskRun::Set(child) if empty[child]));
            changed |= s.tasks.len() != before;
        }
        if !changed {
            return;
        }
    }
}

fn wait(w: &WaitJ) -> WaitTime {
    match (w.kind.as_str(), w.args.as_slice()) {
        ("constant", &[s]) => WaitTime::Constant(s),
        ("between", &[a, b]) => WaitTime::Between(a.min(b), a.max(b)),
        ("constant_throughput", &[n]) => WaitTime::ConstantThroughput(n),
        ("constant_pacing", &[s]) => WaitTime::ConstantPacing(s),
        _ => WaitTime::Constant(0.0),
    }
}

struct Ctx<'a> {
    target: &'a Target,
    client: Client,
    /// The header fields every request of the class starts from.
    defaults: Vec<(String, String)>,
    entries: &'a mut Vec<Entry>,
    problems: &'a mut Vec<String>,
    line: &'a dyn Fn(usize, &str, &str) -> String,
}

impl Ctx<'_> {
    /// A task set with its requests compiled, its tasks filtered by the tags (a nested set
    /// stays: `prune` drops it once it is empty), and tasks of weight 0 left out.
    fn task_set(&mut self, s: &SetJ, opts: &Options) -> TaskSet {
        TaskSet {
            name: s.name.clone(),
            sequential: s.sequential,
            wait: s.wait.as_ref().map(wait),
            on_start: s.on_start.iter().map(|st| self.step(st)).collect(),
            on_stop: s.on_stop.iter().map(|st| self.step(st)).collect(),
            tasks: s
                .tasks
                .iter()
                .filter(|t| t.set.is_some() || keep(&t.tags, opts))
                .map(|t| Task {
                    name: t.name.clone(),
                    weight: t.weight,
                    run: match t.set {
                        Some(child) => TaskRun::Set(child),
                        None => TaskRun::Steps {
                            steps: t.steps.iter().map(|st| self.step(st)).collect(),
                            interrupt: t.interrupt,
                        },
                    },
                })
                .filter(|t| t.weight > 0)
                .collect(),
        }
    }

    fn step(&mut self, s: &StepJ) -> Step {
        let base = self.target.path.trim_end_matches('/');
        let path = match s.url.strip_prefix("http://") {
            Some(rest) => {
                let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                if host != self.target.authority {
                    self.problems.push((self.line)(
                        s.line,
                        &format!("a request to another host ({host})"),
                        "give each host its own User class with its own host",
                    ));
                }
                if path.is_empty() {
                    "/".to_string()
                } else {
                    path.to_string()
                }
            }
            None if s.url.starts_with('/') => format!("{base}{}", s.url),
            None => {
                self.problems.push((self.line)(
                    s.line,
                    &format!(
                        "the URL '{}', which is neither a path nor http(s)://",
                        s.url
                    ),
                    "start the path with /",
                ));
                "/".to_string()
            }
        };
        let name = s.name.clone().unwrap_or_else(|| match self.client {
            Client::Http => path.clone(),
            Client::FastHttp => s.url_as_written.clone(),
        });
        let entry = entry_index(self.entries, &s.method, &name);
        let mut defaults = self.defaults.clone();
        if s.json && self.client == Client::FastHttp {
            defaults.push(("Accept".into(), "application/json".into()));
        }
        let parts = RequestParts {
            method: s.method.clone(),
            path,
            headers: merge_headers(&defaults, &s.headers),
            body: s.body.as_ref().map(|b| b.as_bytes().to_vec()),
        };
        let rules = s
            .catch
            .as_ref()
            .map(|c| {
                c.rules
                    .iter()
                    .map(|r| Rule {
                        cond: cond(&r.cond),
                        action: match r.action.kind.as_str() {
                            "success" => Action::Success,
                            "failure" => Action::Failure(r.action.message.clone()),
                            _ => Action::Nothing,
                        },
                    })
                    .collect()
            })
            .unwrap_or_default();
        Step {
            entry,
            request: parts.encode(&self.target.authority),
            head: s.method == "HEAD",
            parts,
            verdict: Verdict::Client(self.client),
            rules,
            follow_redirects: s.allow_redirects,
        }
    }
}

fn cond(v: &Value) -> Cond {
    let codes = |v: &Value| -> Vec<u16> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_u64())
                    .map(|x| x as u16)
                    .collect()
            })
            .unwrap_or_default()
    };
    let num = |v: &Value| v.as_u64().unwrap_or(0) as u16;
    let Some((k, v)) = v.as_object().and_then(|o| o.iter().next()) else {
        return Cond::True;
    };
    match k.as_str() {
        "status_in" => Cond::StatusIn(codes(v)),
        "status_lt" => Cond::StatusLt(num(v)),
        "status_le" => Cond::StatusLe(num(v)),
        "status_gt" => Cond::StatusGt(num(v)),
        "status_ge" => Cond::StatusGe(num(v)),
        "text_contains" => Cond::TextContains(v.as_str().unwrap_or("").to_string()),
        "text_eq" => Cond::TextEq(v.as_str().unwrap_or("").to_string()),
        "not" => Cond::Not(Box::new(cond(v))),
        "and" => Cond::And(
            v.as_array()
                .map(|a| a.iter().map(cond).collect())
                .unwrap_or_default(),
        ),
        "or" => Cond::Or(
            v.as_array()
                .map(|a| a.iter().map(cond).collect())
                .unwrap_or_default(),
        ),
        _ => Cond::True,
    }
}

#[cfg(test)]
mod tests;
