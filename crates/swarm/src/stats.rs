//! Request statistics: what workers record and how the aggregator reports it, with Locust's
//! formulas (`locust/stats.py`: percentiles from counts per rounded millisecond, current
//! RPS over a trailing window) over HdrHistograms instead of Locust's
//! rounded millisecond buckets.
//!
//! Workers record into their own [`Delta`] (one unix second of one thread) and hand it over
//! when the second ends: no message per request, no stored samples. The aggregator merges
//! deltas into [`Stats`], which keeps cumulative entries, per-second counts for Locust's
//! "current" rates, and per-second histograms for the last 10 s for current percentiles.
//! Memory stays flat however long the run.

use std::collections::{BTreeMap, VecDeque};

use hdrhistogram::Histogram;

use crate::profile::Failed;

/// Locust's `PERCENTILES_TO_REPORT`.
pub const PERCENTILES: [f64; 11] = [
    0.50, 0.66, 0.75, 0.80, 0.90, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0,
];
/// Largest latency a histogram holds (1 hour, in µs); longer ones are clamped.
const MAX_US: u64 = 3_600_000_000;
/// Seconds of per-second history kept for current values.
const KEEP_SECONDS: usize = 20;
/// Locust's current window length.
pub const WINDOW_SECONDS: u64 = 10;

/// Counts, sums and a latency histogram for one (method, name), or for all ("Aggregated").
#[derive(Clone, Debug)]
pub struct EntryStats {
    /// Requests, failed ones included (as Locust counts them).
    pub num_requests: u64,
    /// Failed requests.
    pub num_failures: u64,
    /// Sum of response times, µs.
    pub total_us: u64,
    /// Fastest response, µs (`u64::MAX` before any).
    pub min_us: u64,
    /// Slowest response, µs.
    pub max_us: u64,
    /// Sum of body bytes received.
    pub total_content: u64,
    /// Response times, µs, 3 significant digits.
    pub hist: Histogram<u64>,
}

impl Default for EntryStats {
    fn default() -> EntryStats {
        EntryStats {
            num_requests: 0,
            num_failures: 0,
            total_us: 0,
            min_us: u64::MAX,
            max_us: 0,
            total_content: 0,
            hist: Histogram::new_with_bounds(1, MAX_US, 3).expect("valid histogram bounds"),
        }
    }
}

/// Across the engine's processes: the counts as they are, the histogram in HdrHistogram's own
/// V2 encoding (every recorded bucket, exactly).
#[derive(serde::Serialize, serde::Deserialize)]
struct EntryWire {
    num_requests: u64,
    num_failures: u64,
    total_us: u64,
    min_us: u64,
    max_us: u64,
    total_content: u64,
    hist: Vec<u8>,
}

impl serde::Serialize for EntryStats {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use hdrhistogram::serialization::Serializer as _;
        let mut hist = Vec::new();
        hdrhistogram::serialization::V2Serializer::new()
            .serialize(&self.hist, &mut hist)
            .map_err(|e| serde::ser::Error::custom(format!("{e:?}")))?;
        EntryWire {
            num_requests: self.num_requests,
            num_failures: self.num_failures,
            total_us: self.total_us,
            min_us: self.min_us,
            max_us: self.max_us,
            total_content: self.total_content,
            hist,
        }
        .serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for EntryStats {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<EntryStats, D::Error> {
        let w = EntryWire::deserialize(d)?;
        let mut hist: Histogram<u64> = hdrhistogram::serialization::Deserializer::new()
            .deserialize(&mut w.hist.as_slice())
            .map_err(|e| serde::de::Error::custom(format!("{e:?}")))?;
        // the same bounds as every other histogram here, so that merging never resizes
        let mut fresh = EntryStats::default().hist;
        fresh
            .add(&hist)
            .map_err(|e| serde::de::Error::custom(format!("{e:?}")))?;
        hist = fresh;
        Ok(EntryStats {
            num_requests: w.num_requests,
            num_failures: w.num_failures,
            total_us: w.total_us,
            min_us: w.min_us,
            max_us: w.max_us,
            total_content: w.total_content,
            hist,
        })
    }
}

impl EntryStats {
    /// Records one request.
    pub fn record(&mut self, us: u64, content: u64, failed: bool) {
        let us = us.clamp(1, MAX_US);
        self.num_requests += 1;
        self.num_failures += u64::from(failed);
        self.total_us += us;
        self.min_us = self.min_us.min(us);
        self.max_us = self.max_us.max(us);
        self.total_content += content;
        self.hist.saturating_record(us);
    }

    /// Records one response's read delay (the generator's own wait, see [`Delta::read_delay`]).
    pub fn record_delay(&mut self, delay: std::time::Duration) {
        self.record(delay.as_micros().min(u128::from(MAX_US)) as u64, 0, false);
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &EntryStats) {
        self.num_requests += other.num_requests;
        self.num_failures += other.num_failures;
        self.total_us += other.total_us;
        self.min_us = self.min_us.min(other.min_us);
        self.max_us = self.max_us.max(other.max_us);
        self.total_content += other.total_content;
        self.hist.add(&other.hist).expect("same histogram bounds");
    }

    /// Average response time, ms.
    pub fn avg_ms(&self) -> f64 {
        if self.num_requests == 0 {
            0.0
        } else {
            self.total_us as f64 / self.num_requests as f64 / 1000.0
        }
    }

    /// Fastest response, ms (0 before any).
    pub fn min_ms(&self) -> f64 {
        if self.num_requests == 0 {
            0.0
        } else {
            self.min_us as f64 / 1000.0
        }
    }

    /// Slowest response, ms.
    pub fn max_ms(&self) -> f64 {
        self.max_us as f64 / 1000.0
    }

    /// The response time at quantile `q` (0..=1), ms, within the histogram's 0.1 %; `None`
    /// without requests. Clamped into [min, max] as Locust 2.47 clamps its median.
    pub fn percentile_ms(&self, q: f64) -> Option<f64> {
        if self.hist.is_empty() {
            return None;
        }
        let v = self
            .hist
            .value_at_quantile(q)
            .clamp(self.min_us, self.max_us);
        Some(v as f64 / 1000.0)
    }

    /// Median, ms (0 without requests).
    pub fn median_ms(&self) -> f64 {
        self.percentile_ms(0.5).unwrap_or(0.0)
    }

    /// Average body size, bytes.
    pub fn avg_content(&self) -> f64 {
        if self.num_requests == 0 {
            0.0
        } else {
            self.total_content as f64 / self.num_requests as f64
        }
    }

    /// `num_failures / num_requests`.
    pub fn fail_ratio(&self) -> f64 {
        if self.num_requests == 0 {
            0.0
        } else {
            self.num_failures as f64 / self.num_requests as f64
        }
    }
}

/// One distinct failure: occurrences and when.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ErrorRow {
    /// How many times.
    pub occurrences: u64,
    /// First seen, unix seconds.
    pub first: u64,
    /// Last seen, unix seconds.
    pub last: u64,
}

impl ErrorRow {
    /// Adds `other`'s occurrences, widening first and last seen.
    pub fn merge(&mut self, other: &ErrorRow) {
        self.occurrences += other.occurrences;
        self.first = self.first.min(other.first);
        self.last = self.last.max(other.last);
    }
}

/// TLS handshakes completed, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Handshakes {
    /// Full handshakes.
    pub full: u64,
    /// Sessions resumed (tickets or IDs from earlier connections).
    pub resumed: u64,
}

/// What one worker thread recorded during one unix second.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Delta {
    /// The run it belongs to (the engine numbers runs; a delta of an earlier run is dropped).
    pub run: u64,
    /// The unix second.
    pub second: u64,
    /// Per entry, indexed like `Workload::entries`.
    pub entries: Vec<EntryStats>,
    /// Open model: service times (from the actual send), per entry.
    pub service: Vec<EntryStats>,
    /// Failures by (entry, failure); [`crate::output::failure`] says them in Locust's words.
    pub errors: BTreeMap<(usize, Failed), ErrorRow>,
    /// Open model: sends more than 1 ms behind their intended time while their connection was
    /// free (the generator's own lag).
    pub late_sends: u64,
    /// TLS handshakes completed: full, and resumed from an earlier session.
    pub handshakes: Handshakes,
    /// Unix time (fractional) of the last completed request in this delta.
    pub last_request: f64,
    /// Exceptions raised by user code (the Python path's tasks), by traceback.
    pub exceptions: BTreeMap<String, ExceptionRow>,
    /// The generator's own delay per response read: from the kernel's stamp of its last bytes'
    /// arrival to its being read and timed (time the response waited for the generator, which
    /// its response time includes). Counted as requests are, in µs; responses on a socket the
    /// kernel did not stamp are not in it.
    pub read_delay: EntryStats,
}

/// One distinct exception of user code, as Locust groups them: by traceback, with the
/// message it had first.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExceptionRow {
    /// `str(exception)`.
    pub msg: String,
    /// How many times.
    pub count: u64,
}

impl Delta {
    /// An empty delta of run `run` for `n` entries.
    pub fn new(run: u64, second: u64, n: usize, open: bool) -> Delta {
        Delta {
            run,
            second,
            entries: vec![EntryStats::default(); n],
            service: if open {
                vec![EntryStats::default(); n]
            } else {
                Vec::new()
            },
            ..Delta::default()
        }
    }

    /// Records a failure.
    pub fn error(&mut self, entry: usize, error: Failed, second: u64) {
        self.errors
            .entry((entry, error))
            .and_modify(|r| {
                r.occurrences += 1;
                r.last = second;
            })
            .or_insert(ErrorRow {
                occurrences: 1,
                first: second,
                last: second,
            });
    }

    /// Records an exception of user code.
    pub fn exception(&mut self, msg: String, traceback: String) {
        self.exceptions
            .entry(traceback)
            .and_modify(|r| r.count += 1)
            .or_insert(ExceptionRow { msg, count: 1 });
    }

    /// Whether anything was recorded (errors come only with failed requests, counted here).
    pub fn is_empty(&self) -> bool {
        self.entries.iter().all(|e| e.num_requests == 0)
            && self.late_sends == 0
            && self.handshakes == Handshakes::default()
            && self.exceptions.is_empty()
            && self.read_delay.num_requests == 0
    }

    /// Entry `i`'s statistics, growing the delta for an entry named after it was made (the
    /// Python path names requests as they come).
    pub fn entry(&mut self, i: usize) -> &mut EntryStats {
        if self.entries.len() <= i {
            self.entries.resize_with(i + 1, EntryStats::default);
        }
        &mut self.entries[i]
    }
}

/// Per-second counts of one entry, for current rates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct SecondCounts {
    requests: u64,
    failures: u64,
}

/// Everything the aggregator knows.
#[derive(Clone, Debug)]
pub struct Stats {
    /// Cumulative per entry, indexed like `Workload::entries`.
    pub entries: Vec<EntryStats>,
    /// All entries together ("Aggregated").
    pub total: EntryStats,
    /// Open model: cumulative service times (from the actual send), all entries.
    pub service_total: Option<EntryStats>,
    /// Failures by (entry, failure); [`crate::output::failure`] says them in Locust's words.
    pub errors: BTreeMap<(usize, Failed), ErrorRow>,
    /// Open model: sends the generator itself got out more than 1 ms after their intended time
    /// (the user was free to send; a send held back by a busy connection does not count).
    pub late_sends: u64,
    /// TLS handshakes completed: full, and resumed from an earlier session.
    pub handshakes: Handshakes,
    /// Exceptions raised by user code, by traceback.
    pub exceptions: BTreeMap<String, ExceptionRow>,
    /// The generator's own read delay, all responses ([`Delta::read_delay`]).
    pub read_delay: EntryStats,
    /// Unix time the test started.
    pub start_time: f64,
    /// Unix time of the last completed request (`None` before any).
    pub last_request: Option<f64>,
    /// Per-second counts by unix second: the total first, then entries.
    per_second: BTreeMap<u64, Vec<SecondCounts>>,
    /// Per-second histograms by unix second (the total first, then entries).
    window: VecDeque<(u64, Vec<Histogram<u64>>)>,
}

impl Stats {
    /// Empty statistics for `n` entries, starting now-ish (`start_time`, unix seconds).
    pub fn new(n: usize, start_time: f64, open: bool) -> Stats {
        Stats {
            entries: vec![EntryStats::default(); n],
            total: EntryStats::default(),
            service_total: open.then(EntryStats::default),
            errors: BTreeMap::new(),
            late_sends: 0,
            handshakes: Handshakes::default(),
            exceptions: BTreeMap::new(),
            read_delay: EntryStats::default(),
            start_time,
            last_request: None,
            per_second: BTreeMap::new(),
            window: VecDeque::new(),
        }
    }

    /// Merges a worker's delta. A delta may know entries this does not yet (the Python path
    /// names requests as they come): they are added.
    pub fn merge(&mut self, d: &Delta) {
        if d.entries.len() > self.entries.len() {
            self.entries
                .resize_with(d.entries.len(), EntryStats::default);
        }
        let n = self.entries.len();
        let counts = self
            .per_second
            .entry(d.second)
            .or_insert_with(|| vec![SecondCounts::default(); n + 1]);
        if counts.len() < n + 1 {
            counts.resize(n + 1, SecondCounts::default());
        }
        let pos = self.window.iter().position(|(s, _)| *s == d.second);
        let slot = match pos {
            Some(i) => i,
            None => {
                let empty = (0..=n).map(|_| EntryStats::default().hist).collect();
                self.window.push_back((d.second, empty));
                self.window.make_contiguous().sort_by_key(|(s, _)| *s);
                self.window
                    .iter()
                    .position(|(s, _)| *s == d.second)
                    .expect("just inserted")
            }
        };
        let hists = &mut self.window[slot].1;
        while hists.len() < n + 1 {
            hists.push(EntryStats::default().hist);
        }
        for (i, e) in d
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.num_requests > 0)
        {
            self.entries[i].merge(e);
            self.total.merge(e);
            for c in [0, i + 1] {
                counts[c].requests += e.num_requests;
                counts[c].failures += e.num_failures;
            }
            hists[0].add(&e.hist).expect("same bounds");
            hists[i + 1].add(&e.hist).expect("same bounds");
        }
        if let Some(service) = &mut self.service_total {
            for e in &d.service {
                service.merge(e);
            }
        }
        for (key, row) in &d.errors {
            self.errors
                .entry(key.clone())
                .and_modify(|r| r.merge(row))
                .or_insert_with(|| row.clone());
        }
        self.late_sends += d.late_sends;
        self.read_delay.merge(&d.read_delay);
        self.handshakes.full += d.handshakes.full;
        self.handshakes.resumed += d.handshakes.resumed;
        for (tb, row) in &d.exceptions {
            self.exceptions
                .entry(tb.clone())
                .and_modify(|r| r.count += row.count)
                .or_insert_with(|| row.clone());
        }
        if d.entries.iter().any(|e| e.num_requests > 0) {
            self.last_request = Some(
                self.last_request
                    .map_or(d.last_request, |l| l.max(d.last_request)),
            );
        }
        while self.per_second.len() > KEEP_SECONDS {
            self.per_second.pop_first();
        }
        while self.window.len() > KEEP_SECONDS {
            self.window.pop_front();
        }
    }

    /// Locust's current req/s and failures/s of entry `i` (`None`: the total): the average of
    /// whole seconds [last−12, last−3], anchored to the last request, not the wall clock.
    pub fn current_rates(&self, i: Option<usize>) -> (f64, f64) {
        let Some(last) = self.last_request else {
            return (0.0, 0.0);
        };
        let col = i.map_or(0, |i| i + 1);
        let last = last as u64;
        let start = last.saturating_sub(12).max(self.start_time as u64);
        let end = last.saturating_sub(2);
        if end <= start {
            return (0.0, 0.0);
        }
        let (mut reqs, mut fails) = (0, 0);
        for s in start..end {
            if let Some(c) = self.per_second.get(&s).and_then(|c| c.get(col)) {
                reqs += c.requests;
                fails += c.failures;
            }
        }
        let len = (end - start) as f64;
        (reqs as f64 / len, fails as f64 / len)
    }

    /// Locust's total req/s and failures/s: counts over (last request − start).
    pub fn total_rates(&self, e: &EntryStats) -> (f64, f64) {
        let Some(last) = self.last_request else {
            return (0.0, 0.0);
        };
        let span = (last - self.start_time).max(1e-3);
        (e.num_requests as f64 / span, e.num_failures as f64 / span)
    }

    /// Response times over the last [`WINDOW_SECONDS`] whole seconds before `now` (unix s), of
    /// entry `i` (`None`: the total).
    pub fn current_window(&self, i: Option<usize>, now: u64) -> Histogram<u64> {
        let mut h = EntryStats::default().hist;
        let col = i.map_or(0, |i| i + 1);
        for (s, hists) in &self.window {
            if *s + WINDOW_SECONDS >= now && *s < now {
                if let Some(hist) = hists.get(col) {
                    h.add(hist).expect("same bounds");
                }
            }
        }
        h
    }

    /// Requests (all entries) completed during unix second `second`, if still held.
    pub fn requests_in_second(&self, second: u64) -> u64 {
        self.per_second.get(&second).map_or(0, |c| c[0].requests)
    }
}

/// A quantile of a histogram, ms; `None` when empty.
pub fn quantile_ms(h: &Histogram<u64>, q: f64) -> Option<f64> {
    (!h.is_empty()).then(|| h.value_at_quantile(q) as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delta_with(second: u64, samples_ms: &[(u64, u64)], fails: u64) -> Delta {
        let mut d = Delta::new(0, second, 1, false);
        for &(ms, count) in samples_ms {
            for _ in 0..count {
                d.entries[0].record(ms * 1000, 10, false);
            }
        }
        for _ in 0..fails {
            d.entries[0].record(1000, 0, true);
            d.error(0, Failed::said("boom"), second);
        }
        d.last_request = second as f64 + 0.5;
        d
    }

    #[test]
    fn percentiles_of_a_known_distribution() {
        let mut e = EntryStats::default();
        for ms in 1..=1000u64 {
            e.record(ms * 1000, 0, false);
        }
        let close =
            |got: Option<f64>, want: f64| (got.unwrap() - want).abs() <= want * 0.001 + 0.001;
        assert!(
            close(e.percentile_ms(0.5), 500.0),
            "{:?}",
            e.percentile_ms(0.5)
        );
        assert!(
            close(e.percentile_ms(0.99), 990.0),
            "{:?}",
            e.percentile_ms(0.99)
        );
        assert!(close(e.percentile_ms(1.0), 1000.0));
        assert!((e.avg_ms() - 500.5).abs() < 1e-9);
        assert_eq!((e.min_ms(), e.max_ms()), (1.0, 1000.0));
        // sub-millisecond latencies keep their resolution (Locust would say 0)
        let mut fast = EntryStats::default();
        fast.record(213, 0, false);
        assert!(close(fast.percentile_ms(0.5), 0.213));
        assert_eq!(EntryStats::default().percentile_ms(0.5), None);
    }

    #[test]
    fn merging_deltas_equals_recording_once() {
        let mut stats = Stats::new(1, 1000.0, false);
        stats.merge(&delta_with(1000, &[(1, 50), (2, 30)], 0));
        stats.merge(&delta_with(1000, &[(150, 20)], 5)); // a second thread, same second
        assert_eq!(stats.total.num_requests, 105);
        assert_eq!(stats.total.num_failures, 5);
        assert_eq!(stats.errors[&(0, Failed::said("boom"))].occurrences, 5);
        let mut once = EntryStats::default();
        for (ms, n) in [(1u64, 50), (2, 30), (150, 20), (1, 5)] {
            for _ in 0..n {
                once.record(ms * 1000, 0, false);
            }
        }
        for q in PERCENTILES {
            assert_eq!(stats.total.percentile_ms(q), once.percentile_ms(q), "q={q}");
        }
    }

    #[test]
    fn current_rps_is_locust_window_of_whole_seconds() {
        let mut stats = Stats::new(1, 1000.0, false);
        for s in 1000..1020u64 {
            stats.merge(&delta_with(s, &[(1, s - 1000)], 1)); // s-1000 ok + 1 failure per second
        }
        // last request at 1019.5: window is [1007, 1017): requests 7..=16 ok + 1 fail each
        let (rps, fps) = stats.current_rates(None);
        let want: u64 = (7..=16).map(|k| k + 1).sum();
        assert!((rps - want as f64 / 10.0).abs() < 1e-9, "{rps}");
        assert!((fps - 1.0).abs() < 1e-9, "{fps}");
        assert_eq!(stats.current_rates(Some(0)), (rps, fps));
        // the current window of percentiles covers only recent seconds
        let h = stats.current_window(None, 1020);
        assert_eq!(h.len(), (10..=19).map(|k| k + 1).sum::<u64>());
    }

    #[test]
    fn current_rps_is_zero_for_the_first_seconds() {
        let mut stats = Stats::new(1, 1000.0, false);
        stats.merge(&delta_with(1000, &[(1, 100)], 0));
        stats.merge(&delta_with(1001, &[(1, 100)], 0));
        assert_eq!(stats.current_rates(None), (0.0, 0.0));
        let (total, _) = stats.total_rates(&stats.total);
        assert!((total - 200.0 / 1.5).abs() < 1e-9);
    }

    #[test]
    fn memory_is_flat_over_a_long_run() {
        let mut stats = Stats::new(1, 0.0, false);
        for s in 0..200u64 {
            stats.merge(&delta_with(s, &[(1, 1)], 0));
        }
        assert!(stats.per_second.len() <= KEEP_SECONDS && stats.window.len() <= KEEP_SECONDS);
    }

    /// The Python path names requests as they come: a delta may bring entries the statistics
    /// have not seen; they are added, and every figure of the older ones stays.
    #[test]
    fn entries_named_later_are_added() {
        let mut stats = Stats::new(1, 100.0, false);
        let mut first = Delta::new(0, 101, 1, false);
        first.entries[0].record(1000, 10, false);
        stats.merge(&first);
        let mut later = Delta::new(0, 102, 0, false);
        later.entry(2).record(3000, 5, true);
        later.entry(1).record(2000, 5, false);
        stats.merge(&later);
        assert_eq!(stats.entries.len(), 3);
        assert_eq!(
            stats
                .entries
                .iter()
                .map(|e| e.num_requests)
                .collect::<Vec<_>>(),
            [1, 1, 1]
        );
        assert_eq!((stats.total.num_requests, stats.total.num_failures), (3, 1));
        assert_eq!(stats.requests_in_second(101), 1);
        assert_eq!(stats.requests_in_second(102), 2);
        let window = stats.current_window(Some(2), 103);
        assert_eq!(window.len(), 1, "the new entry's window has its request");
        assert_eq!(stats.current_window(Some(0), 103).len(), 1);
        let mut exc = Delta::new(0, 102, 0, false);
        exc.exception("division by zero".into(), "tb".into());
        exc.exception("division by zero, again".into(), "tb".into());
        assert!(!exc.is_empty());
        stats.merge(&exc);
        stats.merge(&exc);
        let row = &stats.exceptions["tb"];
        assert_eq!(
            (row.count, row.msg.as_str()),
            (4, "division by zero"),
            "by traceback"
        );
    }
}
