//! What a user does, as data: task sets of weighted tasks, each task a list of request steps,
//! with Locust's structure (a user class is a task set; a task may be a nested `TaskSet` or
//! `SequentialTaskSet`; `on_start`/`on_stop` steps; a task may end with `self.interrupt()`), and
//! how a response is judged: by the client's default rule (Locust's `HttpUser` and
//! `FastHttpUser` differ), by a list of expected statuses (a scenario's `expect_status`), or by
//! a `catch_response` block's if/elif/else rules on the status and the body.
//!
//! The scenario file and the locustfile reader both build these (into a `Workload`); the worker
//! threads run them.

use crate::profile::Failure;
use crate::wait::WaitTime;

/// What a request is made of, before it is encoded for a host.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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

/// Whose default rule judges a status when nothing else does: the client's profile.
pub use crate::profile::ClientProfile as Client;

/// What makes a status a success when no rule of a `catch_response` block decides.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Verdict {
    /// The client's default rule.
    Client(Client),
    /// These statuses and no others (a scenario's `expect_status`).
    Codes(Vec<u16>),
}

/// A condition of a `catch_response` rule.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Cond {
    /// Always (an `else:`).
    True,
    /// The status is one of these.
    StatusIn(Vec<u16>),
    /// The status is below this.
    StatusLt(u16),
    /// The status is at most this.
    StatusLe(u16),
    /// The status is above this.
    StatusGt(u16),
    /// The status is at least this.
    StatusGe(u16),
    /// The body contains this text.
    TextContains(String),
    /// The body is this text.
    TextEq(String),
    /// Not the condition.
    Not(Box<Cond>),
    /// All of them.
    And(Vec<Cond>),
    /// Any of them.
    Or(Vec<Cond>),
}

impl Cond {
    fn holds(&self, status: u16, body: &[u8]) -> bool {
        match self {
            Cond::True => true,
            Cond::StatusIn(codes) => codes.contains(&status),
            Cond::StatusLt(v) => status < *v,
            Cond::StatusLe(v) => status <= *v,
            Cond::StatusGt(v) => status > *v,
            Cond::StatusGe(v) => status >= *v,
            Cond::TextContains(t) => {
                t.is_empty() || body.windows(t.len()).any(|w| w == t.as_bytes())
            }
            Cond::TextEq(t) => body == t.as_bytes(),
            Cond::Not(c) => !c.holds(status, body),
            Cond::And(cs) => cs.iter().all(|c| c.holds(status, body)),
            Cond::Or(cs) => cs.iter().any(|c| c.holds(status, body)),
        }
    }

    fn reads_body(&self) -> bool {
        match self {
            Cond::TextContains(_) | Cond::TextEq(_) => true,
            Cond::Not(c) => c.reads_body(),
            Cond::And(cs) | Cond::Or(cs) => cs.iter().any(Cond::reads_body),
            _ => false,
        }
    }
}

/// What a rule does with the response.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Action {
    /// `r.success()`: a success whatever the status.
    Success,
    /// `r.failure(message)`: a failure; `{status_code}` in the message is the status.
    Failure(String),
    /// `pass`: the verdict decides.
    Nothing,
}

/// One branch of a `catch_response` if/elif/else chain.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rule {
    /// When it applies.
    pub cond: Cond,
    /// What it does.
    pub action: Action,
}

/// One request of a task, ready to send.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Step {
    /// Index into `Workload::entries` (the statistics row).
    pub entry: usize,
    /// What the request is made of (kept to encode it again for another host).
    pub parts: RequestParts,
    /// The whole request, encoded.
    pub request: Vec<u8>,
    /// A HEAD request (its response has no body).
    pub head: bool,
    /// The status rule.
    pub verdict: Verdict,
    /// A `catch_response` block's rules, tried in order before the verdict.
    pub rules: Vec<Rule>,
    /// Follow 301/302/303/307/308 to the same host (Locust does, unless
    /// `allow_redirects=False`).
    pub follow_redirects: bool,
}

impl Step {
    /// Whether judging the response needs its body.
    pub fn reads_body(&self) -> bool {
        self.rules.iter().any(|r| r.cond.reads_body())
    }

    /// `None` for a success, else why it failed; `name` is the statistics name.
    pub fn judge(&self, status: u16, body: &[u8], name: &str) -> Option<Failure> {
        for rule in &self.rules {
            if rule.cond.holds(status, body) {
                match &rule.action {
                    Action::Success => return None,
                    Action::Failure(msg) => {
                        let msg = msg
                            .replace("{status_code}", &status.to_string())
                            .replace("{{", "{")
                            .replace("}}", "}");
                        return Some(Failure::Check(msg));
                    }
                    Action::Nothing => break,
                }
            }
        }
        match &self.verdict {
            Verdict::Codes(codes) => (!codes.contains(&status)).then(|| Failure::Unexpected {
                status,
                expected: codes.clone(),
                url: name.to_string(),
            }),
            Verdict::Client(client) => client.status_failure(status, name),
        }
    }
}

/// What a task runs.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum TaskRun {
    /// Requests in order; `interrupt`: then leave the task set (`self.interrupt()`).
    Steps {
        /// The requests.
        steps: Vec<Step>,
        /// Whether the task ends with `self.interrupt()`.
        interrupt: bool,
    },
    /// Enter a nested task set (an index into `UserClass::sets`).
    Set(usize),
}

/// One task of a task set.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Task {
    /// Its name (the method's, or the request's for a scenario task).
    pub name: String,
    /// Relative weight among the set's tasks.
    pub weight: u32,
    /// What it runs.
    pub run: TaskRun,
}

/// A task set: a user class's own (index 0 of `UserClass::sets`) or a nested one.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct TaskSet {
    /// The class's name.
    pub name: String,
    /// `SequentialTaskSet`: tasks in order (a task of weight N N times in a row), not at random.
    pub sequential: bool,
    /// Its own wait time; `None`: the user's.
    pub wait: Option<WaitTime>,
    /// Requests when a user enters it.
    pub on_start: Vec<Step>,
    /// Requests when a user leaves it (interrupted, or stopped).
    pub on_stop: Vec<Step>,
    /// Its tasks.
    pub tasks: Vec<Task>,
}

impl TaskSet {
    /// A set with these tasks and nothing else.
    pub fn of(name: &str, tasks: Vec<Task>) -> TaskSet {
        TaskSet {
            name: name.to_string(),
            sequential: false,
            wait: None,
            on_start: Vec::new(),
            on_stop: Vec::new(),
            tasks,
        }
    }

    /// Every step of the set, mutably (on_start, tasks, on_stop).
    pub fn steps_mut(&mut self) -> impl Iterator<Item = &mut Step> {
        let tasks = self.tasks.iter_mut().flat_map(|t| match &mut t.run {
            TaskRun::Steps { steps, .. } => steps.iter_mut(),
            TaskRun::Set(_) => [].iter_mut(),
        });
        self.on_start
            .iter_mut()
            .chain(tasks)
            .chain(self.on_stop.iter_mut())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(verdict: Verdict, rules: Vec<Rule>) -> Step {
        Step {
            entry: 0,
            parts: RequestParts {
                method: "GET".into(),
                path: "/".into(),
                headers: Vec::new(),
                body: None,
            },
            request: Vec::new(),
            head: false,
            verdict,
            rules,
            follow_redirects: true,
        }
    }

    /// The failure in the client's words (what Locust shows).
    fn said(client: Client, f: Option<Failure>) -> Option<String> {
        f.map(|f| crate::output::failure::say(client, &f))
    }

    #[test]
    fn default_rules_are_locusts_clients() {
        let http = step(Verdict::Client(Client::Http), vec![]);
        assert_eq!(http.judge(302, b"", "/"), None);
        assert_eq!(
            said(Client::Http, http.judge(404, b"", "/x")),
            Some("HTTPError('404 Client Error: Not Found for url: /x')".into())
        );
        let fast = step(Verdict::Client(Client::FastHttp), vec![]);
        assert_eq!(fast.judge(200, b"", "/"), None);
        assert_eq!(
            said(Client::FastHttp, fast.judge(100, b"", "/")),
            Some("LocustBadStatusCode(code=100)".into())
        );
        assert_eq!(
            said(Client::FastHttp, fast.judge(500, b"", "/")),
            Some("LocustBadStatusCode(code=500)".into())
        );
        let codes = step(Verdict::Codes(vec![201]), vec![]);
        assert!(said(Client::Http, codes.judge(200, b"", "/"))
            .unwrap()
            .starts_with("UnexpectedStatus('got 200"));
    }

    #[test]
    fn catch_response_rules_go_first_in_order() {
        // if r.status_code == 404: r.success()
        // elif "Hello" not in r.text: r.failure(f"got {r.status_code}")
        let s = step(
            Verdict::Client(Client::Http),
            vec![
                Rule {
                    cond: Cond::StatusIn(vec![404]),
                    action: Action::Success,
                },
                Rule {
                    cond: Cond::Not(Box::new(Cond::TextContains("Hello".into()))),
                    action: Action::Failure("got {status_code}".into()),
                },
            ],
        );
        assert!(s.reads_body());
        assert_eq!(s.judge(404, b"", "/"), None, "success overrides the status");
        assert_eq!(s.judge(200, b"Hello, World!", "/"), None);
        assert_eq!(
            said(Client::Http, s.judge(200, b"bye", "/")),
            Some("CatchResponseError('got 200')".into())
        );
        assert!(
            said(Client::Http, s.judge(500, b"Hello", "/"))
                .unwrap()
                .starts_with("HTTPError('500"),
            "no rule: the verdict"
        );
    }
}
