//! The worker's statistics in Locust's wire format (what `runners.py`'s master reads): what
//! the workers measured since the last report, as `StatsEntry.serialize()` dicts, with
//! Locust's rounded response-time buckets, per-second request and failure counts keyed by
//! integer unix second, and errors keyed as Locust keys them. Built from the engine's
//! per-thread deltas; the worker keeps its exact HdrHistograms for its own outputs.

use std::collections::BTreeMap;
use std::fmt::Write;

use rmpv::Value;
use sha2::{Digest, Sha256};

use swarmlab_swarm::client::py_repr;
use swarmlab_swarm::output::failure;
use swarmlab_swarm::output::json::locust_bucket;
use swarmlab_swarm::profile::Failed;
use swarmlab_swarm::stats::{Delta, ErrorRow};
use swarmlab_swarm::workload::Entry;

/// Locust's error key: `sha256(f"{method}.{name}.{error!r}")`, hex, so the master merges a
/// swarmlab worker's and a Python worker's identical errors into one row.
pub fn error_key(method: &str, name: &str, error: &str) -> String {
    let digest = Sha256::digest(format!("{method}.{name}.{}", py_repr(error)).as_bytes());
    digest.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// One entry's counts since the last report.
#[derive(Clone, Debug, Default, PartialEq)]
struct LocustEntry {
    num_requests: u64,
    num_failures: u64,
    total_ms: f64,
    max_ms: f64,
    min_ms: Option<f64>,
    content: u64,
    last_request: Option<f64>,
    buckets: BTreeMap<u64, u64>,
    reqs_per_sec: BTreeMap<u64, u64>,
    fail_per_sec: BTreeMap<u64, u64>,
}

impl LocustEntry {
    fn add(&mut self, e: &swarmlab_swarm::stats::EntryStats, second: u64, last_request: f64) {
        if e.num_requests == 0 {
            return;
        }
        self.num_requests += e.num_requests;
        self.num_failures += e.num_failures;
        self.total_ms += e.total_us as f64 / 1000.0;
        self.max_ms = self.max_ms.max(e.max_ms());
        self.min_ms = Some(self.min_ms.map_or(e.min_ms(), |m| m.min(e.min_ms())));
        self.content += e.total_content;
        self.last_request = Some(
            self.last_request
                .map_or(last_request, |l| l.max(last_request)),
        );
        for v in e.hist.iter_recorded() {
            // the bucket's lowest value: exact for what was recorded at a bucket's edge
            let ms = e.hist.lowest_equivalent(v.value_iterated_to()) as f64 / 1000.0;
            *self.buckets.entry(locust_bucket(ms)).or_default() += v.count_at_value();
        }
        *self.reqs_per_sec.entry(second).or_default() += e.num_requests;
        if e.num_failures > 0 {
            *self.fail_per_sec.entry(second).or_default() += e.num_failures;
        }
    }

    fn to_value(&self, name: &str, method: &str, start_time: f64) -> Value {
        let ints = |m: &BTreeMap<u64, u64>| {
            Value::Map(
                m.iter()
                    .map(|(k, v)| (Value::from(*k), Value::from(*v)))
                    .collect(),
            )
        };
        let opt = |v: Option<f64>| v.map_or(Value::Nil, Value::from);
        map(vec![
            ("name", Value::from(name)),
            ("method", Value::from(method)),
            ("last_request_timestamp", opt(self.last_request)),
            ("start_time", Value::from(start_time)),
            ("num_requests", Value::from(self.num_requests)),
            ("num_none_requests", Value::from(0u64)),
            ("num_failures", Value::from(self.num_failures)),
            ("total_response_time", Value::from(self.total_ms)),
            ("max_response_time", Value::from(self.max_ms)),
            ("min_response_time", opt(self.min_ms)),
            ("total_content_length", Value::from(self.content)),
            ("response_times", ints(&self.buckets)),
            ("num_reqs_per_sec", ints(&self.reqs_per_sec)),
            ("num_fail_per_sec", ints(&self.fail_per_sec)),
        ])
    }
}

/// A msgpack map with string keys, in order.
pub fn map(pairs: Vec<(&str, Value)>) -> Value {
    Value::Map(
        pairs
            .into_iter()
            .map(|(k, v)| (Value::from(k), v))
            .collect(),
    )
}

/// What the workers measured since the last report to the master.
#[derive(Clone, Debug)]
pub struct Report {
    start_time: f64,
    entries: BTreeMap<usize, LocustEntry>,
    total: LocustEntry,
    errors: BTreeMap<(usize, Failed), ErrorRow>,
    /// User code's exceptions since the last report, by traceback: (message, count).
    exceptions: BTreeMap<String, (String, u64)>,
}

/// Most `exception` messages sent per traceback per report: a task that raises on every
/// iteration of thousands of users would otherwise send thousands a second (Locust sends one
/// per exception; past this, the master's count of that one row is short, nothing else).
pub const MAX_EXCEPTIONS_PER_TRACEBACK: u64 = 1000;

impl Report {
    /// An empty report of a run that started at `start_time` (unix seconds).
    pub fn new(start_time: f64) -> Report {
        Report {
            start_time,
            entries: BTreeMap::new(),
            total: LocustEntry::default(),
            errors: BTreeMap::new(),
            exceptions: BTreeMap::new(),
        }
    }

    /// Adds one worker thread's second.
    pub fn add(&mut self, d: &Delta) {
        for (i, e) in d.entries.iter().enumerate() {
            if e.num_requests > 0 {
                self.entries
                    .entry(i)
                    .or_default()
                    .add(e, d.second, d.last_request);
                self.total.add(e, d.second, d.last_request);
            }
        }
        for (tb, row) in &d.exceptions {
            self.exceptions
                .entry(tb.clone())
                .or_insert_with(|| (row.msg.clone(), 0))
                .1 += row.count;
        }
        for (key, row) in &d.errors {
            self.errors
                .entry(key.clone())
                .and_modify(|r| r.merge(row))
                .or_insert_with(|| row.clone());
        }
    }

    /// The `exception` messages for the exceptions since the last call, one per exception
    /// as Locust's worker sends them (`{"msg", "traceback"}`; the master groups them by
    /// traceback), at most [`MAX_EXCEPTIONS_PER_TRACEBACK`] per traceback.
    pub fn take_exceptions(&mut self) -> Vec<Value> {
        let mut out = Vec::new();
        for (tb, (msg, count)) in std::mem::take(&mut self.exceptions) {
            let one = map(vec![
                ("msg", Value::from(msg.as_str())),
                ("traceback", Value::from(tb.as_str())),
            ]);
            out.extend(std::iter::repeat_n(
                one,
                count.min(MAX_EXCEPTIONS_PER_TRACEBACK) as usize,
            ));
        }
        out
    }

    /// Requests in this report.
    pub fn requests(&self) -> u64 {
        self.total.num_requests
    }

    /// The `stats` message's data, and a fresh report for what comes next: Locust's delta
    /// semantics (entries serialized, then reset). `user_classes_count` echoes what the master
    /// asked for, as the master counts users from it.
    pub fn take(
        &mut self,
        entries: &[Entry],
        user_classes_count: &Value,
        user_count: u64,
    ) -> Value {
        let stats: Vec<Value> = self
            .entries
            .iter()
            .filter(|(_, e)| e.num_requests > 0 || e.num_failures > 0)
            .filter_map(|(&i, e)| {
                let entry = entries.get(i)?;
                Some(e.to_value(&entry.name, &entry.method, self.start_time))
            })
            .collect();
        let errors: Vec<(Value, Value)> = failure::lines(&self.errors)
            .into_iter()
            .filter_map(|l| {
                let entry = entries.get(l.entry)?;
                Some((
                    Value::from(error_key(&entry.method, &entry.name, &l.error)),
                    map(vec![
                        ("name", Value::from(entry.name.as_str())),
                        ("method", Value::from(entry.method.as_str())),
                        ("error", Value::from(l.error.as_str())),
                        ("occurrences", Value::from(l.row.occurrences)),
                        ("first_seen", Value::from(l.row.first as f64)),
                        ("last_seen", Value::from(l.row.last as f64)),
                    ]),
                ))
            })
            .collect();
        let data = map(vec![
            ("stats", Value::Array(stats)),
            (
                "stats_total",
                self.total.to_value("Aggregated", "", self.start_time),
            ),
            ("errors", Value::Map(errors)),
            ("user_classes_count", user_classes_count.clone()),
            ("user_count", Value::from(user_count)),
        ]);
        *self = Report::new(self.start_time);
        data
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_reprs_and_locust_keys() {
        assert_eq!(py_repr("plain"), "'plain'");
        assert_eq!(
            py_repr("HTTPError('404 Client Error: Not Found for url: /404')"),
            "\"HTTPError('404 Client Error: Not Found for url: /404')\""
        );
        assert_eq!(py_repr("a'b\"c\n"), "'a\\'b\"c\\n'");
        // Locust 2.47's StatsError.create_key("GET", "/404", <that error>), computed by Python
        assert_eq!(
            error_key(
                "GET",
                "/404",
                "HTTPError('404 Client Error: Not Found for url: /404')"
            ),
            "1769c2d03e6d55a3dcae578a5ad2a19f02b682497f948451915c094f6316f08d"
        );
    }

    #[test]
    fn a_delta_becomes_locusts_entry_and_resets() {
        let mut d = Delta::new(1, 1000, 1, false);
        d.entries[0].record(1_500, 10, false); // 1.5 ms
        d.entries[0].record(2_500, 10, false); // 2.5 ms
        d.entries[0].record(145_000, 10, true); // 145 ms, failed
        d.error(0, Failed::said("boom"), 1000);
        d.last_request = 1000.7;
        let mut r = Report::new(999.5);
        r.add(&d);
        assert_eq!(r.requests(), 3);
        let entries = [Entry {
            method: "GET".into(),
            name: "/".into(),
        }];
        let classes = map(vec![("User", Value::from(4))]);
        let data = r.take(&entries, &classes, 4);
        let get = |v: &Value, k: &str| -> Value {
            v.as_map()
                .unwrap()
                .iter()
                .find(|(kk, _)| kk.as_str() == Some(k))
                .unwrap()
                .1
                .clone()
        };
        let stats = get(&data, "stats");
        let e = &stats.as_array().unwrap()[0];
        assert_eq!(get(e, "num_requests"), Value::from(3u64));
        assert_eq!(get(e, "num_failures"), Value::from(1u64));
        assert_eq!(get(e, "start_time"), Value::from(999.5));
        assert_eq!(get(e, "last_request_timestamp"), Value::from(1000.7));
        let rt: Vec<(u64, u64)> = get(e, "response_times")
            .as_map()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.as_u64().unwrap(), v.as_u64().unwrap()))
            .collect();
        assert_eq!(rt, [(2, 2), (140, 1)], "1.5 and 2.5 round to 2, 145 to 140");
        assert_eq!(
            get(e, "num_reqs_per_sec"),
            Value::Map(vec![(Value::from(1000u64), Value::from(3u64))])
        );
        assert_eq!(
            get(e, "num_fail_per_sec"),
            Value::Map(vec![(Value::from(1000u64), Value::from(1u64))])
        );
        let total = get(&data, "stats_total");
        assert_eq!(get(&total, "name"), Value::from("Aggregated"));
        let errors = get(&data, "errors");
        let (key, err) = &errors.as_map().unwrap()[0];
        assert_eq!(key.as_str().unwrap(), error_key("GET", "/", "boom"));
        assert_eq!(get(err, "occurrences"), Value::from(1u64));
        assert_eq!(get(&data, "user_classes_count"), classes);
        assert_eq!(
            r.requests(),
            0,
            "a report is a delta: taken, it starts again"
        );
    }
}
