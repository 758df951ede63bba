//! Scenario files (TOML, `-f`): user classes with weights, wait times and host overrides, each
//! with weighted tasks. Compiled once into a [`Workload`]: requests are encoded to bytes up
//! front, so a running user never formats a request.
//!
//! ```toml
//! [[user]]
//! name = "reader"
//! weight = 3
//! wait_time = "between(0.5, 1.5)"
//!
//! [[user.task]]
//! path = "/"
//! weight = 5
//!
//! [[user.task]]
//! method = "POST"
//! path = "/echo"
//! name = "echo"
//! body = "hello"
//! headers = { "Content-Type" = "text/plain" }
//! expect_status = [200]
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde::Deserialize;

use crate::program::{Client, Step, Task, TaskRun, TaskSet, Verdict};
use crate::target::{BadTarget, Target};
use crate::wait::WaitTime;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    user: Vec<UserSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserSpec {
    name: String,
    #[serde(default = "one")]
    weight: u32,
    wait_time: Option<String>,
    host: Option<String>,
    task: Vec<TaskSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskSpec {
    #[serde(default = "get")]
    method: String,
    path: String,
    name: Option<String>,
    #[serde(default = "one")]
    weight: u32,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body: Option<String>,
    expect_status: Option<Expect>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Expect {
    One(u16),
    Many(Vec<u16>),
}

fn one() -> u32 {
    1
}

fn get() -> String {
    "GET".into()
}

/// A scenario that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BadScenario {
    /// The file cannot be read.
    #[error("cannot read scenario {file}: {error}")]
    Read {
        /// The file.
        file: String,
        /// Why.
        error: String,
    },
    /// TOML or schema error, with its line.
    #[error("scenario {file} line {line}: {message}")]
    Syntax {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// What is wrong (names the key).
        message: String,
    },
    /// A value that parses but makes no sense.
    #[error("scenario {file}: {message}")]
    Value {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A host that cannot be used.
    #[error(transparent)]
    Target(#[from] BadTarget),
}

/// A request name in the statistics: Locust groups by (method, name).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Entry {
    /// The method, e.g. `GET`.
    pub method: String,
    /// The name (the path unless a task names itself).
    pub name: String,
}

/// What a request is made of, before it is encoded for a host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestParts {
    /// The method, e.g. `GET`.
    pub method: String,
    /// The path with its query, starting with `/`.
    pub path: String,
    /// Header fields, in order (`Host` and `Content-Length` are added when encoding).
    pub headers: Vec<(String, String)>,
    /// The body, if any.
    pub body: Option<Vec<u8>>,
}

impl RequestParts {
    /// The request's bytes for `authority` (the `Host` header value).
    pub fn encode(&self, authority: &str) -> Vec<u8> {
        let mut req = format!(
            "{} {} HTTP/1.1\r\nHost: {authority}\r\n",
            self.method, self.path
        );
        for (k, v) in &self.headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        if let Some(b) = &self.body {
            req.push_str(&format!("Content-Length: {}\r\n", b.len()));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        if let Some(b) = &self.body {
            bytes.extend_from_slice(b);
        }
        bytes
    }
}

/// A user class, compiled.
#[derive(Clone, Debug)]
pub struct UserClass {
    /// Its name.
    pub name: String,
    /// Relative weight among classes.
    pub weight: u32,
    /// Exactly this many users of the class, started first, whatever the weights (Locust's
    /// `fixed_count`). By default, none.
    pub fixed_count: Option<usize>,
    /// Think time between tasks.
    pub wait: WaitTime,
    /// Where its users connect.
    pub addr: SocketAddr,
    /// Whether the class named its own host (else it has the run's default host, which a
    /// Locust master's host replaces).
    pub own_host: bool,
    /// Its task sets: index 0 is the class's own; tasks may enter the others.
    pub sets: Vec<TaskSet>,
}

impl UserClass {
    /// Every step of every task set, mutably.
    pub fn steps_mut(&mut self) -> impl Iterator<Item = &mut Step> {
        self.sets.iter_mut().flat_map(TaskSet::steps_mut)
    }
}

/// Everything the users will do.
#[derive(Clone, Debug)]
pub struct Workload {
    /// The user classes.
    pub classes: Vec<UserClass>,
    /// Statistics rows, indexed by [`Step::entry`].
    pub entries: Vec<Entry>,
}

impl Workload {
    /// Without `-f`: one class that GETs the host URL's path.
    pub fn simple(host: &Target, wait: WaitTime) -> Workload {
        Workload::request(host, "GET", &host.path, &BTreeMap::new(), None, wait)
    }

    /// One class whose one task sends one request (named by its path), judged as `HttpUser`
    /// judges it.
    pub fn request(
        host: &Target,
        method: &str,
        path: &str,
        headers: &BTreeMap<String, String>,
        body: Option<&str>,
        wait: WaitTime,
    ) -> Workload {
        let mut entries = Vec::new();
        let step = compile_step(host, method, path, None, headers, body, None, &mut entries);
        Workload {
            classes: vec![UserClass {
                name: "User".into(),
                weight: 1,
                fixed_count: None,
                wait,
                addr: host.addr,
                own_host: false,
                sets: vec![TaskSet::of("User", vec![one_step_task(step, 1)])],
            }],
            entries,
        }
    }

    /// Reads a scenario file; `host` is the `-H` default, `wait` the `--wait-time` default.
    pub fn load(
        path: &str,
        host: Option<&Target>,
        wait: WaitTime,
    ) -> Result<Workload, BadScenario> {
        let text = std::fs::read_to_string(path).map_err(|e| BadScenario::Read {
            file: path.into(),
            error: e.to_string(),
        })?;
        Workload::parse(&text, path, host, wait)
    }

    /// Parses scenario text (`file` names it in errors).
    pub fn parse(
        text: &str,
        file: &str,
        host: Option<&Target>,
        wait: WaitTime,
    ) -> Result<Workload, BadScenario> {
        let spec: File = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(1, |s| {
                text[..s.start.min(text.len())].matches('\n').count() + 1
            });
            BadScenario::Syntax {
                file: file.into(),
                line,
                message: e.message().replace('\n', " "),
            }
        })?;
        let value = |message: String| BadScenario::Value {
            file: file.into(),
            message,
        };
        if spec.user.is_empty() {
            return Err(value("no [[user]] classes".into()));
        }
        let mut entries = Vec::new();
        let mut classes = Vec::new();
        for u in &spec.user {
            let target = match (&u.host, host) {
                (Some(h), _) => Target::parse(h)?,
                (None, Some(t)) => t.clone(),
                (None, None) => {
                    return Err(value(format!(
                        "user '{}' has no host and no -H/--host was given",
                        u.name
                    )))
                }
            };
            let wait = match &u.wait_time {
                Some(w) => w
                    .parse()
                    .map_err(|e| value(format!("user '{}': {e}", u.name)))?,
                None => wait,
            };
            if u.weight == 0 || u.task.is_empty() {
                return Err(value(format!(
                    "user '{}' needs weight >= 1 and at least one [[user.task]]",
                    u.name
                )));
            }
            let mut tasks = Vec::new();
            for t in &u.task {
                if !t.path.starts_with('/') || t.weight == 0 || !is_token(&t.method) {
                    return Err(value(format!(
                        "user '{}': task '{} {}' needs a method token, a path starting with / and weight >= 1",
                        u.name, t.method, t.path
                    )));
                }
                let expect = t.expect_status.as_ref().map(|e| match e {
                    Expect::One(s) => vec![*s],
                    Expect::Many(v) => v.clone(),
                });
                let step = compile_step(
                    &target,
                    &t.method,
                    &t.path,
                    t.name.as_deref(),
                    &t.headers,
                    t.body.as_deref(),
                    expect,
                    &mut entries,
                );
                tasks.push(one_step_task(step, t.weight));
            }
            classes.push(UserClass {
                name: u.name.clone(),
                weight: u.weight,
                fixed_count: None,
                wait,
                addr: target.addr,
                own_host: u.host.is_some(),
                sets: vec![TaskSet::of(&u.name, tasks)],
            });
        }
        Ok(Workload { classes, entries })
    }

    /// The same users against another host: every class, whatever host it had (the web UI's
    /// host field overrides the classes' hosts, as in Locust).
    pub fn retarget(&self, host: &Target) -> Workload {
        let mut w = self.clone();
        for class in &mut w.classes {
            class.addr = host.addr;
            for step in class.steps_mut() {
                step.request = step.parts.encode(&host.authority);
            }
        }
        w
    }

    /// The same users with `host` as the default host: classes that named their own keep it
    /// (a Locust master's `spawn` sends its host this way).
    pub fn with_default_host(&self, host: &Target) -> Workload {
        let mut w = self.clone();
        for class in w.classes.iter_mut().filter(|c| !c.own_host) {
            class.addr = host.addr;
            for step in class.steps_mut() {
                step.request = step.parts.encode(&host.authority);
            }
        }
        w
    }

    /// The same users with another think time, for every class.
    pub fn with_wait(&self, wait: WaitTime) -> Workload {
        let mut w = self.clone();
        for class in &mut w.classes {
            class.wait = wait;
        }
        w
    }

    /// How `users` users split over the classes: classes with a `fixed_count` get theirs first
    /// (in order, as far as `users` goes), the rest go to the other classes by weight.
    pub fn split(&self, users: usize) -> Vec<usize> {
        let mut counts = vec![0; self.classes.len()];
        let mut left = users;
        for (i, c) in self.classes.iter().enumerate() {
            if let Some(n) = c.fixed_count {
                counts[i] = n.min(left);
                left -= counts[i];
            }
        }
        let weighted: Vec<usize> = (0..self.classes.len())
            .filter(|&i| self.classes[i].fixed_count.is_none())
            .collect();
        if weighted.is_empty() {
            return counts;
        }
        // Smooth weighted round robin (as class_of) is periodic with period `total`: whole
        // rounds split exactly by weight, the remainder as the round robin goes.
        let total: i64 = weighted
            .iter()
            .map(|&i| i64::from(self.classes[i].weight))
            .sum();
        let rounds = left / total as usize;
        for &i in &weighted {
            counts[i] += rounds * self.classes[i].weight as usize;
        }
        let mut current = vec![0i64; weighted.len()];
        for _ in 0..left % total as usize {
            for (k, &i) in weighted.iter().enumerate() {
                current[k] += i64::from(self.classes[i].weight);
            }
            let pick = (0..current.len())
                .max_by_key(|&k| (current[k], std::cmp::Reverse(k)))
                .unwrap_or(0);
            current[pick] -= total;
            counts[weighted[pick]] += 1;
        }
        counts
    }

    /// The class of user number `i`: smooth weighted round robin (nginx's), so any prefix of
    /// users is split by weight as evenly as integers allow.
    pub fn class_of(&self, i: usize) -> usize {
        let total: i64 = self.classes.iter().map(|c| i64::from(c.weight)).sum();
        let slot = i as i64 % total;
        let mut current = vec![0i64; self.classes.len()];
        let mut pick = 0;
        for _ in 0..=slot {
            for (k, c) in self.classes.iter().enumerate() {
                current[k] += i64::from(c.weight);
            }
            pick = (0..current.len())
                .max_by_key(|&k| (current[k], std::cmp::Reverse(k)))
                .unwrap_or(0);
            current[pick] -= total;
        }
        pick
    }
}

/// A task of one request.
fn one_step_task(step: Step, weight: u32) -> Task {
    Task {
        name: format!("{} {}", step.parts.method, step.parts.path),
        weight,
        run: TaskRun::Steps {
            steps: vec![step],
            interrupt: false,
        },
    }
}

/// The entry (statistics row) `(method, name)`, added if new.
pub(crate) fn entry_index(entries: &mut Vec<Entry>, method: &str, name: &str) -> usize {
    let entry = Entry {
        method: method.to_string(),
        name: name.to_string(),
    };
    entries.iter().position(|e| *e == entry).unwrap_or_else(|| {
        entries.push(entry);
        entries.len() - 1
    })
}

#[allow(clippy::too_many_arguments)]
fn compile_step(
    target: &Target,
    method: &str,
    path: &str,
    name: Option<&str>,
    headers: &BTreeMap<String, String>,
    body: Option<&str>,
    expect: Option<Vec<u16>>,
    entries: &mut Vec<Entry>,
) -> Step {
    let entry = entry_index(entries, method, name.unwrap_or(path));
    let parts = RequestParts {
        method: method.to_string(),
        path: path.to_string(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        body: body.map(|b| b.as_bytes().to_vec()),
    };
    Step {
        entry,
        request: parts.encode(&target.authority),
        head: method == "HEAD",
        parts,
        verdict: match expect {
            Some(codes) => Verdict::Codes(codes),
            None => Verdict::Client(Client::Http),
        },
        rules: Vec::new(),
        follow_redirects: false,
    }
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> Target {
        Target::parse("http://127.0.0.1:9").unwrap()
    }

    #[test]
    fn scenario_compiles_requests_and_entries() {
        let text = r#"
[[user]]
name = "a"
weight = 3
wait_time = "constant(1)"
[[user.task]]
path = "/"
[[user.task]]
method = "POST"
path = "/echo"
name = "echo"
body = "hi"
expect_status = 200

[[user]]
name = "b"
[[user.task]]
path = "/"
"#;
        let w = Workload::parse(text, "s.toml", Some(&host()), WaitTime::default()).unwrap();
        assert_eq!(w.entries.len(), 2, "GET / is one row for both classes");
        let step = |w: &Workload, c: usize, t: usize| match &w.classes[c].sets[0].tasks[t].run {
            TaskRun::Steps { steps, .. } => steps[0].clone(),
            TaskRun::Set(_) => unreachable!(),
        };
        let echo = step(&w, 0, 1);
        assert_eq!(
            String::from_utf8_lossy(&echo.request),
            "POST /echo HTTP/1.1\r\nHost: 127.0.0.1:9\r\nContent-Length: 2\r\n\r\nhi"
        );
        assert_eq!(echo.verdict, Verdict::Codes(vec![200]));
        let moved = w.retarget(&Target::parse("http://127.0.0.2:8/").unwrap());
        assert_eq!(
            String::from_utf8_lossy(&step(&moved, 0, 1).request),
            "POST /echo HTTP/1.1\r\nHost: 127.0.0.2:8\r\nContent-Length: 2\r\n\r\nhi"
        );
        assert_eq!(moved.classes[1].addr, "127.0.0.2:8".parse().unwrap());
        assert_eq!(w.classes[0].wait, WaitTime::Constant(1.0));
        let firsts: Vec<usize> = (0..8).map(|i| w.class_of(i)).collect();
        assert_eq!(firsts.iter().filter(|&&c| c == 0).count(), 6, "{firsts:?}");
        for n in [0, 1, 2, 5, 8, 9, 100, 1001] {
            let split = w.split(n);
            let by_class_of = (0..n).filter(|&i| w.class_of(i) == 0).count();
            assert_eq!(split, [by_class_of, n - by_class_of], "{n} users");
        }
        let mut fixed = w.clone();
        fixed.classes[1].fixed_count = Some(2);
        assert_eq!(fixed.split(1), [0, 1], "fixed classes first");
        assert_eq!(fixed.split(10), [8, 2]);
    }

    #[test]
    fn errors_name_the_key_and_line() {
        let text = "[[user]]\nname = \"a\"\n[[user.task]]\nmethod = \"GET\"\n";
        let e = Workload::parse(text, "s.toml", Some(&host()), WaitTime::default())
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("scenario s.toml line "), "{e}");
        assert!(e.contains("path"), "{e}");
        assert_eq!(e.lines().count(), 1);
        let text = "[[user]]\nname = \"a\"\nwieght = 2\n";
        let e = Workload::parse(text, "s.toml", Some(&host()), WaitTime::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3") && e.contains("wieght"), "{e}");
        let text = "[[user]]\nname = \"a\"\nwait_time = \"often\"\n[[user.task]]\npath = \"/\"\n";
        let e = Workload::parse(text, "s.toml", Some(&host()), WaitTime::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("invalid wait time"), "{e}");
    }
}
