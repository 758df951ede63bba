//! Scenario files (TOML, `-f`): user classes with weights, wait times and host overrides, each
//! with weighted tasks, read into a [`Workload`] ([`load`], [`parse`]).
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

use serde::Deserialize;

use crate::program::TaskSet;
use crate::target::{BadTarget, Target};
use crate::wait::WaitTime;
use crate::workload::{compile_step, one_step_task, UserClass, Workload};

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

/// Reads a scenario file; `host` is the `-H` default, `wait` the `--wait-time` default.
pub fn load(path: &str, host: Option<&Target>, wait: WaitTime) -> Result<Workload, BadScenario> {
    // a regular file of a scenario's size (`-f /dev/zero` was read until memory ran out)
    let meta = std::fs::metadata(path).map_err(|e| BadScenario::Read {
        file: path.into(),
        error: e.to_string(),
    })?;
    if !meta.is_file() || meta.len() > 16 << 20 {
        return Err(BadScenario::Read {
            file: path.into(),
            error: "not a regular file of at most 16 MiB".into(),
        });
    }
    let text = std::fs::read_to_string(path).map_err(|e| BadScenario::Read {
        file: path.into(),
        error: e.to_string(),
    })?;
    parse(&text, path, host, wait)
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
            if !crate::target::is_request_target(&t.path) {
                return Err(value(format!(
                    "user '{}': task path {:?} has a space or a control character in it (percent-encode it: %20, %0D%0A)",
                    u.name, t.path
                )));
            }
            if let Some((k, v)) = t
                .headers
                .iter()
                .find(|(k, v)| !is_token(k) || !crate::target::is_field_value(v))
            {
                return Err(value(format!(
                    "user '{}': header {k:?}: {v:?} is not a header (a name is a token; a value has no line break, NUL or surrounding whitespace)",
                    u.name
                )));
            }
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
            tls: target.tls_name(),
            tls_verify: None,
            own_host: u.host.is_some(),
            session: false,
            sets: vec![TaskSet::of(&u.name, tasks)],
        });
    }
    Ok(Workload {
        classes,
        entries,
        driver: None,
    })
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::{TaskRun, Verdict};

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
        let w = parse(text, "s.toml", Some(&host()), WaitTime::default()).unwrap();
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
        let e = parse(text, "s.toml", Some(&host()), WaitTime::default())
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("scenario s.toml line "), "{e}");
        assert!(e.contains("path"), "{e}");
        assert_eq!(e.lines().count(), 1);
        let text = "[[user]]\nname = \"a\"\nwieght = 2\n";
        let e = parse(text, "s.toml", Some(&host()), WaitTime::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3") && e.contains("wieght"), "{e}");
        let text = "[[user]]\nname = \"a\"\nwait_time = \"often\"\n[[user.task]]\npath = \"/\"\n";
        let e = parse(text, "s.toml", Some(&host()), WaitTime::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("invalid wait time"), "{e}");
        // issue 27: no request splitting through a path or a header
        for task in [
            "path = \"/a HTTP/1.1\\r\\nX: y\"",
            "path = \"/\"\nheaders = { \"X-A\" = \"b\\r\\nInjected: yes\" }",
            "path = \"/\"\nheaders = { \"X A\" = \"b\" }",
        ] {
            let text = format!("[[user]]\nname = \"a\"\n[[user.task]]\n{task}\n");
            let e = parse(&text, "s.toml", Some(&host()), WaitTime::default())
                .unwrap_err()
                .to_string();
            assert!(e.lines().count() == 1 && e.contains("user 'a'"), "{e}");
        }
    }
}
