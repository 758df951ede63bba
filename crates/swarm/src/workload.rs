//! The model every input builds: user classes with their task sets, and the statistics rows
//! their requests are counted under. A scenario file (`scenario`), a locustfile (the locust
//! crate's reader) and the command line's single request (`Workload::request`) all produce a
//! [`Workload`]; the engine runs one. Requests are encoded to bytes here, once, so a running
//! user never formats a request.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::program::{Client, RequestParts, Step, Task, TaskRun, TaskSet, Verdict};
use crate::remote::Driver;
use crate::target::Target;
use crate::wait::WaitTime;

/// A request name in the statistics: Locust groups by (method, name).
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Entry {
    /// The method, e.g. `GET`.
    pub method: String,
    /// The name (the path unless a task names itself).
    pub name: String,
}

/// A user class, compiled.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
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
    /// `https://`: the TLS server name (SNI, and the name its certificate must hold).
    pub tls: Option<String>,
    /// Whether its client verifies certificates: `None`, as the run says (verify unless
    /// `-k`); `Some(false)`: a `FastHttpUser`'s, which does not.
    pub tls_verify: Option<bool>,
    /// Whether the class named its own host (else it has the run's default host, which a
    /// Locust master's host replaces).
    pub own_host: bool,
    /// Its users are sessions of a Locust client (`HttpUser`, `FastHttpUser`): each keeps
    /// its cookies and reads encoded bodies decoded. A scenario's or the command line's users
    /// send only what they were given and count bodies as they come.
    pub session: bool,
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
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Workload {
    /// The user classes.
    pub classes: Vec<UserClass>,
    /// Statistics rows, indexed by [`Step::entry`] (remote users name more as they go).
    pub entries: Vec<Entry>,
    /// Remote users: their logic runs in processes started this way, one per worker thread
    /// (the classes then have no task sets). `None`: the engine runs the classes' programs.
    /// Not sent to the engine's other processes, which run compiled programs only.
    #[serde(skip)]
    pub driver: Option<Arc<Driver>>,
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
                tls: host.tls_name(),
                tls_verify: None,
                own_host: false,
                session: false,
                sets: vec![TaskSet::of("User", vec![one_step_task(step, 1)])],
            }],
            entries,
            driver: None,
        }
    }

    /// One class whose tasks each GET one path, picked by weight, each its own statistics
    /// row named as given (`compare --experiment head-of-line`: short requests among long
    /// ones).
    pub fn mix(host: &Target, requests: &[(&str, &str, u32)], wait: WaitTime) -> Workload {
        let mut entries = Vec::new();
        let none = BTreeMap::new();
        let tasks = requests
            .iter()
            .map(|&(path, name, weight)| {
                let step = compile_step(
                    host,
                    "GET",
                    path,
                    Some(name),
                    &none,
                    None,
                    None,
                    &mut entries,
                );
                one_step_task(step, weight)
            })
            .collect();
        Workload {
            classes: vec![UserClass {
                name: "User".into(),
                weight: 1,
                fixed_count: None,
                wait,
                addr: host.addr,
                tls: host.tls_name(),
                tls_verify: None,
                own_host: false,
                session: false,
                sets: vec![TaskSet::of("User", tasks)],
            }],
            entries,
            driver: None,
        }
    }

    /// The same users against another host: every class, whatever host it had (the web UI's
    /// host field overrides the classes' hosts, as in Locust).
    pub fn retarget(&self, host: &Target) -> Workload {
        let mut w = self.clone();
        w.override_remote_host(host);
        for class in &mut w.classes {
            class.addr = host.addr;
            class.tls = host.tls_name();
            for step in class.steps_mut() {
                step.request = step.parts.encode(&host.authority);
            }
        }
        w
    }

    /// Remote users get the host as their process's `-H`: it replaces every class's host, as
    /// Locust's runner does.
    fn override_remote_host(&mut self, host: &Target) {
        if let Some(d) = &self.driver {
            let mut d = (**d).clone();
            d.env.retain(|(k, _)| k != "SWARMLAB_HOST");
            d.env.push(("SWARMLAB_HOST".into(), host.url()));
            self.driver = Some(Arc::new(d));
        }
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
        self.split_among(users, None)
    }

    /// [`Self::split`] over some of the classes only (a LoadTestShape's `user_classes`, as
    /// indices); the others get none. `None`: every class.
    pub fn split_among(&self, users: usize, among: Option<&[usize]>) -> Vec<usize> {
        let chosen = |i: usize| among.is_none_or(|a| a.contains(&i));
        let mut counts = vec![0; self.classes.len()];
        let mut left = users;
        for (i, c) in self.classes.iter().enumerate() {
            if !chosen(i) {
                continue;
            }
            if let Some(n) = c.fixed_count {
                counts[i] = n.min(left);
                left -= counts[i];
            }
        }
        let weighted: Vec<usize> = (0..self.classes.len())
            .filter(|&i| chosen(i) && self.classes[i].fixed_count.is_none())
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
                .max_by(|&a, &b| {
                    current[a]
                        .cmp(&current[b])
                        .then_with(|| self.first_by_name(weighted[a], weighted[b]))
                })
                .unwrap_or(0);
            current[pick] -= total;
            counts[weighted[pick]] += 1;
        }
        counts
    }

    /// Of two classes with equal claims, the one Locust's dispatcher picks first: it orders
    /// the classes by name (then the one defined first). As `Ordering` for `max_by`: `a`
    /// wins when it is `Greater`.
    fn first_by_name(&self, a: usize, b: usize) -> std::cmp::Ordering {
        (&self.classes[b].name, b).cmp(&(&self.classes[a].name, a))
    }

    /// The class of user number `i`: smooth weighted round robin (nginx's), so any prefix of
    /// users is split by weight as evenly as integers allow; ties go to the class whose name
    /// sorts first, as Locust's dispatcher (which sorts the classes by name) gives them.
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
                .max_by(|&a, &b| {
                    current[a]
                        .cmp(&current[b])
                        .then_with(|| self.first_by_name(a, b))
                })
                .unwrap_or(0);
            current[pick] -= total;
        }
        pick
    }
}

/// A task of one request.
pub(crate) fn one_step_task(step: Step, weight: u32) -> Task {
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
pub fn entry_index(entries: &mut Vec<Entry>, method: &str, name: &str) -> usize {
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
pub(crate) fn compile_step(
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

#[cfg(test)]
mod tests {
    use super::*;

    fn class(name: &str, weight: u32) -> UserClass {
        UserClass {
            name: name.into(),
            weight,
            fixed_count: None,
            wait: WaitTime::Constant(0.0),
            addr: "127.0.0.1:1".parse().unwrap(),
            tls: None,
            tls_verify: None,
            own_host: false,
            session: true,
            sets: Vec::new(),
        }
    }

    fn workload(classes: Vec<UserClass>) -> Workload {
        Workload {
            classes,
            entries: Vec::new(),
            driver: None,
        }
    }

    /// Locust's dispatcher sorts the classes by name: of two equal weights, the extra user of
    /// an odd count goes to the name that sorts first, wherever the file defines it.
    #[test]
    fn ties_go_to_the_name_that_sorts_first() {
        let w = workload(vec![class("Requests", 1), class("Fast", 1)]);
        assert_eq!(w.split(3), [1, 2]);
        assert_eq!(w.class_of(0), 1);
        assert_eq!(w.class_of(1), 0);
        assert_eq!(w.class_of(2), 1);
        let w = workload(vec![class("A", 1), class("B", 1)]);
        assert_eq!(w.split(3), [2, 1]);
    }

    #[test]
    fn a_shape_may_choose_the_classes() {
        let w = workload(vec![class("A", 1), class("B", 3), class("C", 1)]);
        assert_eq!(w.split_among(4, Some(&[0, 2])), [2, 0, 2]);
        assert_eq!(w.split_among(5, Some(&[1])), [0, 5, 0]);
        assert_eq!(w.split_among(5, None), w.split(5));
    }

    /// Weights 5 and 1 give Locust's sequence, AAABAA AAABAA (its docstring's example).
    #[test]
    fn weights_split_as_locust_dispatches() {
        let w = workload(vec![class("A", 5), class("B", 1)]);
        let order: String = (0..12)
            .map(|i| if w.class_of(i) == 0 { 'A' } else { 'B' })
            .collect();
        assert_eq!(order, "AAABAAAAABAA");
        for n in 0..40 {
            let by_class = (0..n).fold([0, 0], |mut c, i| {
                c[w.class_of(i)] += 1;
                c
            });
            assert_eq!(w.split(n).to_vec(), by_class.to_vec(), "{n} users");
        }
    }
}
