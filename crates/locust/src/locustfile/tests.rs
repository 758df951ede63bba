//! Small locustfiles and the workloads they give; every refusal with its line. Needs python3
//! (skipped with the reason without it, a failure under SWARMLAB_REQUIRE_PEERS=1).

use super::*;
use swarmlab_swarm::program::Cond;

fn python() -> bool {
    let ok = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("SWARMLAB_REQUIRE_PEERS").as_deref() != Ok("1"),
            "python3 is not on PATH and SWARMLAB_REQUIRE_PEERS=1"
        );
        eprintln!("SKIPPED: python3 is not on PATH");
    }
    ok
}

fn read(src: &str, opts: &Options) -> Result<Workload, BadLocustfile> {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "swarmlab-lf-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("locustfile.py");
    std::fs::write(&path, src).unwrap();
    let w = load_static(
        std::path::Path::new("python3"),
        path.to_str().unwrap(),
        opts,
    );
    let _ = std::fs::remove_dir_all(&dir);
    w
}

fn host() -> Options {
    Options {
        host: Some(Target::parse("http://127.0.0.1:8080").unwrap()),
        ..Options::default()
    }
}

fn steps(w: &Workload, class: usize, set: usize, task: usize) -> &[Step] {
    match &w.classes[class].sets[set].tasks[task].run {
        TaskRun::Steps { steps, .. } => steps,
        TaskRun::Set(_) => panic!("a task set"),
    }
}

/// The request's bytes without the client's default fields (the next test checks those).
fn request(step: &Step) -> String {
    String::from_utf8_lossy(&step.request)
        .split_inclusive("\r\n")
        .filter(|l| {
            !(l.starts_with("User-Agent: python")
                || l.starts_with("Accept-Encoding: gzip, deflate")
                || l == &"Accept: */*\r\n"
                || l == &"Connection: keep-alive\r\n")
        })
        .collect()
}

#[test]
fn each_client_sends_its_default_fields_under_the_users() {
    if !python() {
        return;
    }
    let src = "from locust import HttpUser, FastHttpUser, task\n\
               class H(HttpUser):\n    @task\n    def t(self):\n        self.client.get(\"/h\", headers={\"accept\": \"text/html\", \"Connection\": None, \"X-A\": \"1\"})\n\
               class F(FastHttpUser):\n    @task\n    def t(self):\n        self.client.post(\"/f\", json={\"a\": 1})\n";
    let w = read(src, &host()).unwrap();
    let names = |c: usize| -> Vec<String> {
        steps(&w, c, 0, 0)[0]
            .parts
            .headers
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect()
    };
    let h = names(0);
    assert!(h[0].starts_with("User-Agent: python-requests/"), "{h:?}");
    assert!(h[1].starts_with("Accept-Encoding: gzip, deflate"), "{h:?}");
    // given again: in its place with the new spelling and value; None removes it
    assert_eq!(&h[2..], ["accept: text/html", "X-A: 1"], "{h:?}");
    let f = names(1);
    assert!(
        f[0].starts_with("User-Agent: python/gevent-http-client-"),
        "{f:?}"
    );
    assert_eq!(
        &f[1..],
        [
            "Accept-Encoding: gzip, deflate, br",
            "Accept: application/json",
            "Content-Type: application/json"
        ],
        "{f:?}"
    );
}

#[test]
fn the_classic_assignment_locustfile() {
    if !python() {
        return;
    }
    let w = read(
        "from locust import HttpUser, task, between\n\n\
         class QuickstartUser(HttpUser):\n    wait_time = between(1, 5)\n\n    \
         @task\n    def hello_world(self):\n        self.client.get(\"/hello\")\n        self.client.get(\"/world\")\n",
        &host(),
    )
    .unwrap();
    assert_eq!(w.classes.len(), 1);
    let c = &w.classes[0];
    assert_eq!(
        (c.name.as_str(), c.weight, c.wait),
        ("QuickstartUser", 1, WaitTime::Between(1.0, 5.0))
    );
    let s = steps(&w, 0, 0, 0);
    assert_eq!(s.len(), 2, "two requests in one task, in order");
    assert_eq!(
        request(&s[0]),
        "GET /hello HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"
    );
    assert_eq!(w.entries[s[1].entry].name, "/world");
    assert_eq!(s[0].verdict, Verdict::Client(Client::Http));
    assert!(!c.own_host);
}

#[test]
fn names_follow_the_client_as_locust_does() {
    if !python() {
        return;
    }
    let src = "from locust import HttpUser, FastHttpUser, task\n\
               class A(HttpUser):\n    @task\n    def t(self):\n        self.client.get(\"/search\", params={\"q\": \"a b\"})\n\
               class B(FastHttpUser):\n    @task\n    def t(self):\n        self.client.get(\"/search\", params={\"q\": \"a b\"})\n";
    let w = read(src, &host()).unwrap();
    let name = |c| w.entries[steps(&w, c, 0, 0)[0].entry].name.clone();
    assert_eq!(name(0), "/search?q=a+b", "HttpUser: the path it sent");
    assert_eq!(name(1), "/search", "FastHttpUser: the URL as written");
    assert_eq!(
        steps(&w, 1, 0, 0)[0].verdict,
        Verdict::Client(Client::FastHttp)
    );
    assert!(request(&steps(&w, 1, 0, 0)[0]).starts_with("GET /search?q=a+b HTTP/1.1\r\n"));
}

#[test]
fn weights_lists_dicts_classes_and_fixed_counts() {
    if !python() {
        return;
    }
    let src = "from locust import HttpUser, task, constant\n\
               class Base(HttpUser):\n    abstract = True\n    host = \"http://127.0.0.1:9/api\"\n    wait_time = constant(2)\n\
               class Reader(Base):\n    weight = 3\n    @task(3)\n    def a(self):\n        self.client.get(\"/a\")\n    @task\n    def b(self):\n        self.client.get(\"/b\")\n\
               def c(user):\n    pass\n\
               class Admin(HttpUser):\n    fixed_count = 1\n    host = \"http://127.0.0.1:9\"\n    def x(self):\n        self.client.get(\"/x\")\n    def y(self):\n        self.client.get(\"/y\")\n    tasks = {x: 2, y: 1}\n\
               class Lister(HttpUser):\n    host = \"http://127.0.0.1:9\"\n    def p(self):\n        self.client.get(\"/p\")\n    tasks = [p, p]\n";
    let w = read(src, &Options::default()).unwrap();
    let names: Vec<&str> = w.classes.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["Reader", "Admin", "Lister"],
        "the abstract base is skipped"
    );
    let reader = &w.classes[0];
    assert_eq!(
        (reader.weight, reader.wait, reader.own_host),
        (3, WaitTime::Constant(2.0), true)
    );
    let weights: Vec<u32> = reader.sets[0].tasks.iter().map(|t| t.weight).collect();
    assert_eq!(weights, [3, 1]);
    assert_eq!(
        w.entries[steps(&w, 0, 0, 0)[0].entry].name,
        "/api/a",
        "the host's path comes first"
    );
    assert_eq!(w.classes[1].fixed_count, Some(1));
    let admin: Vec<u32> = w.classes[1].sets[0]
        .tasks
        .iter()
        .map(|t| t.weight)
        .collect();
    assert_eq!(admin, [2, 1]);
    assert_eq!(
        w.classes[2].sets[0].tasks.len(),
        2,
        "a list names a task as often as it is listed"
    );
    let only = read(
        src,
        &Options {
            classes: vec!["Admin".into()],
            ..Options::default()
        },
    )
    .unwrap();
    assert_eq!(only.classes.len(), 1);
    let e = read(
        src,
        &Options {
            classes: vec!["Nobody".into()],
            ..Options::default()
        },
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "locustfile.py: unknown User class 'Nobody' (it has: Reader, Admin, Lister)"
    );
}

#[test]
fn task_sets_sequences_interrupts_and_hooks() {
    if !python() {
        return;
    }
    let src = "from locust import HttpUser, TaskSet, SequentialTaskSet, task, constant\n\
               class Browse(TaskSet):\n    wait_time = constant(0.5)\n    def on_start(self):\n        self.client.get(\"/enter\")\n    def on_stop(self):\n        self.client.get(\"/leave\")\n    \
               @task(4)\n    def page(self):\n        self.client.get(\"/page\")\n    @task\n    def done(self):\n        self.interrupt()\n\
               class Flow(SequentialTaskSet):\n    @task\n    def one(self):\n        self.client.get(\"/1\")\n    @task(2)\n    def two(self):\n        self.client.get(\"/2\")\n\
               class U(HttpUser):\n    tasks = {Browse: 3, Flow: 1}\n    def on_start(self):\n        self.client.post(\"/login\", data={\"u\": \"ann\"})\n    def on_stop(self):\n        self.client.post(\"/logout\")\n";
    let w = read(src, &host()).unwrap();
    let c = &w.classes[0];
    assert_eq!(c.sets.len(), 3);
    assert!(matches!(c.sets[0].tasks[0].run, TaskRun::Set(1)));
    assert!(matches!(c.sets[0].tasks[1].run, TaskRun::Set(2)));
    assert_eq!(c.sets[0].on_start.len(), 1);
    assert_eq!(
        request(&c.sets[0].on_start[0]),
        "POST /login HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 5\r\n\r\nu=ann"
    );
    assert_eq!(c.sets[0].on_stop.len(), 1);
    let browse = &c.sets[1];
    assert_eq!(
        (browse.sequential, browse.wait),
        (false, Some(WaitTime::Constant(0.5)))
    );
    assert_eq!((browse.on_start.len(), browse.on_stop.len()), (1, 1));
    assert!(
        matches!(&browse.tasks[1].run, TaskRun::Steps { steps, interrupt: true } if steps.is_empty())
    );
    let flow = &c.sets[2];
    assert!(flow.sequential);
    let order: Vec<&str> = flow.tasks.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        order,
        ["one", "two", "two"],
        "weight N runs N times in a row"
    );
}

#[test]
fn catch_response_bodies_and_headers() {
    if !python() {
        return;
    }
    let src = "from locust import HttpUser, task\nPATH = \"/items\"\nN = 7\n\
               class U(HttpUser):\n    @task\n    def t(self):\n        \
               with self.client.get(f\"{PATH}/{N}\", name=PATH + \"/[id]\", catch_response=True) as r:\n            \
               if r.status_code == 404:\n                r.success()\n            elif \"ok\" not in r.text:\n                r.failure(f\"bad body ({r.status_code})\")\n        \
               self.client.post(\"/api\", json={\"a\": [1, 2]}, headers={\"X-Key\": \"k\"}, auth=(\"ann\", \"pw\"), allow_redirects=False)\n";
    let w = read(src, &host()).unwrap();
    let s = steps(&w, 0, 0, 0);
    assert_eq!(w.entries[s[0].entry].name, "/items/[id]");
    assert!(request(&s[0]).starts_with("GET /items/7 HTTP/1.1\r\n"));
    assert_eq!(s[0].rules.len(), 2);
    assert_eq!(s[0].rules[0].cond, Cond::StatusIn(vec![404]));
    assert_eq!(s[0].rules[0].action, Action::Success);
    assert_eq!(
        s[0].rules[1].cond,
        Cond::Not(Box::new(Cond::TextContains("ok".into())))
    );
    assert_eq!(
        s[0].rules[1].action,
        Action::Failure("bad body ({status_code})".into())
    );
    assert_eq!(
        s[0].judge(200, b"not it", "/items/[id]"),
        Some(swarmlab_swarm::profile::Failure::Check(
            "bad body (200)".into()
        ))
    );
    assert_eq!(s[0].judge(404, b"", "/items/[id]"), None);
    let post = request(&s[1]);
    assert!(
        post.contains("X-Key: k\r\n") && post.contains("Content-Type: application/json\r\n"),
        "{post}"
    );
    assert!(post.contains("Authorization: Basic YW5uOnB3\r\n"), "{post}");
    assert!(post.ends_with("\r\n\r\n{\"a\": [1, 2]}"), "{post}");
    assert!(!s[1].follow_redirects && s[0].follow_redirects);
}

#[test]
fn tags_pick_tasks_as_locust_does() {
    if !python() {
        return;
    }
    let src = "from locust import HttpUser, TaskSet, task, tag\n\
               @tag(\"web\")\nclass Pages(TaskSet):\n    @task\n    def p(self):\n        self.client.get(\"/p\")\n\
               class U(HttpUser):\n    tasks = [Pages]\n    @tag(\"api\", \"slow\")\n    @task\n    def a(self):\n        self.client.get(\"/a\")\n    @task\n    def b(self):\n        self.client.get(\"/b\")\n";
    let names = |o: Options| -> Vec<String> {
        let w = read(
            src,
            &Options {
                host: host().host,
                ..o
            },
        )
        .unwrap();
        w.classes[0].sets[0]
            .tasks
            .iter()
            .map(|t| t.name.clone())
            .collect()
    };
    assert_eq!(names(Options::default()), ["Pages", "a", "b"]);
    assert_eq!(
        names(Options {
            tags: vec!["api".into()],
            ..Options::default()
        }),
        ["a"]
    );
    assert_eq!(
        names(Options {
            tags: vec!["web".into()],
            ..Options::default()
        }),
        ["Pages"]
    );
    assert_eq!(
        names(Options {
            exclude_tags: vec!["slow".into()],
            ..Options::default()
        }),
        ["Pages", "b"]
    );
    let none = read(
        src,
        &Options {
            tags: vec!["nothing".into()],
            ..host()
        },
    )
    .unwrap_err();
    assert!(
        none.to_string().contains("no task is left to run"),
        "{none}"
    );
}

#[test]
fn everything_outside_the_subset_is_one_line_each_with_its_line() {
    if !python() {
        return;
    }
    // (locustfile, line, what the message names)
    let cases: &[(&str, usize, &str)] = &[
        ("from locust import HttpUser, task\nclass U(HttpUser):\n    @task\n    def t(self):\n        for i in range(3):\n            self.client.get(\"/\")\n", 5, "a loop in a task"),
        ("from locust import HttpUser, task\nclass U(HttpUser):\n    @task\n    def t(self):\n        if True:\n            self.client.get(\"/\")\n", 5, "a condition in a task"),
        ("import time\nfrom locust import HttpUser, task\nclass U(HttpUser):\n    @task\n    def t(self):\n        time.sleep(1)\n", 6, "calling time.sleep() in a task"),
        ("import random\nfrom locust import HttpUser, task\nclass U(HttpUser):\n    @task\n    def t(self):\n        self.client.get(f\"/x/{random.randint(1, 9)}\")\n", 6, "a value computed at run time (a call) in the URL"),
        ("from locust import HttpUser, task\nimport myhelpers\nclass U(HttpUser):\n    @task\n    def t(self):\n        self.client.get(\"/\")\n", 2, "importing 'myhelpers', which is not installed for this python3"),
        ("from locust import HttpUser, task\nimport json\nclass U(HttpUser):\n    @task\n    def t(self):\n        assert True\n        self.client.get(\"/\")\n", 6, "an assert statement in a task"),
        ("from locust import HttpUser, task\nclass U(HttpUser):\n    @task\n    def t(self):\n        with open(\"x\") as f:\n            pass\n", 5, "a with block that is not a request"),
        ("from locust import HttpUser, task\nclass U(HttpUser):\n    @task\n    def t(self):\n        with self.client.get(\"/\") as r:\n            r.failure(\"x\")\n", 5, "a with block on a request without catch_response=True"),
        ("from locust import HttpUser, task, events\n@events.test_start.add_listener\ndef go(environment, **kw):\n    pass\nclass U(HttpUser):\n    @task\n    def t(self):\n        self.client.get(\"/\")\n", 3, "an event hook"),
        ("from locust import HttpUser, task, LoadTestShape\nclass S(LoadTestShape):\n    def tick(self):\n        return None\nclass U(HttpUser):\n    @task\n    def t(self):\n        self.client.get(\"/\")\n", 2, "a LoadTestShape (S)"),
        ("from locust import User, task\nclass U(User):\n    @task\n    def t(self):\n        pass\n", 2, "class U, a User with a client of its own"),
        ("from locust import HttpUser, task\nclass U(HttpUser):\n    @task\n    def t(self):\n        self.client.get(\"/\", timeout=1)\n", 5, "timeout= in a request"),
        ("from locust import HttpUser, task\nclass U(HttpUser):\n    @task\n    def t(self):\n        self.client.get(\"http://elsewhere:9/x\")\n", 5, "a request to another host (elsewhere:9)"),
        ("from locust import HttpUser, task\nclass U(HttpUser):\n    @task\n    def t(self)\n        pass\n", 4, "a syntax error"),
        ("from locust import HttpUser, task\nclass U(HttpUser):\n    @task\n    def t(self):\n        with self.client.get(\"/\", catch_response=True) as r:\n            if r.json()[\"ok\"]:\n                r.success()\n", 6, "this check of the response"),
    ];
    for (src, line, what) in cases {
        let e = read(src, &host()).unwrap_err().to_string();
        let want = format!("locustfile.py:{line}: {what}");
        assert!(e.contains(&want), "want {want:?} in:\n{e}");
        assert!(
            e.lines()
                .all(|l| l.starts_with("locustfile.py:") && l.contains(" is not supported here; ")),
            "{e}"
        );
    }
    // several problems: one line each
    let two = "import random\nfrom locust import HttpUser, task\nclass U(HttpUser):\n    @task\n    def t(self):\n        for i in range(2):\n            pass\n        self.client.get(f\"/{random.random()}\")\n";
    let e = read(two, &host()).unwrap_err().to_string();
    assert_eq!(e.lines().count(), 2, "{e}");
    // a problem of the class itself does not hide those of its tasks
    let both = "from locust import HttpUser, task, between\nclass U(HttpUser):\n    wait_time = between(1, 2, 3)\n    @task\n    def t(self):\n        while True:\n            pass\n";
    let e = read(both, &host()).unwrap_err().to_string();
    assert!(
        e.contains("locustfile.py:3: this wait_time") && e.contains("locustfile.py:6: a loop"),
        "{e}"
    );
}

#[test]
fn an_unusable_class_host_is_named_with_its_line() {
    if !python() {
        return;
    }
    let e = read(
        "from locust import HttpUser, task\nclass U(HttpUser):\n    host = \"ftp://x\"\n    @task\n    def t(self):\n        self.client.get(\"/\")\n",
        &Options::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("locustfile.py:2: the host of class U: "),
        "{e}"
    );
}

#[test]
fn a_missing_host_is_one_clear_line() {
    if !python() {
        return;
    }
    let e = read(
        "from locust import HttpUser, task\nclass U(HttpUser):\n    @task\n    def t(self):\n        self.client.get(\"/\")\n",
        &Options::default(),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "locustfile.py: class U (line 2) has no host and no -H/--host was given"
    );
}
