//! `--json`: Locust's `serialize_stats()` shape (one object per entry, `StatsEntryDict` keys,
//! the Aggregated row left out), with response-time buckets made Locust's way from the
//! histogram, plus a `swarmlab` object with what Locust lacks.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::stats::EntryStats;
use crate::steering::Summary;
use crate::workload::Entry;

/// The JSON document for a finished run.
pub fn summary_json(summary: &Summary, entries: &[Entry]) -> Value {
    let stats = &summary.stats;
    let (current_rps, current_fail_per_sec) = stats.current_rates(None);
    let list: Vec<Value> = entries
        .iter()
        .zip(&stats.entries)
        .filter(|(_, e)| e.num_requests > 0)
        .map(|(entry, e)| {
            entry_json(
                &entry.name,
                &entry.method,
                e,
                stats.start_time,
                stats.last_request,
            )
        })
        .collect();
    json!({
        "stats": list,
        "stats_total": entry_json("Aggregated", "", &stats.total, stats.start_time, stats.last_request),
        "swarmlab": {
            "duration_s": summary.duration.as_secs_f64(),
            "peak_users": summary.peak_users,
            "ended": summary.ended,
            "requests_before_first_failure": summary.before_first_failure,
            "late_sends": stats.late_sends,
            "tls_handshakes": {"full": stats.handshakes.full, "resumed": stats.handshakes.resumed},
            "current_rps": current_rps,
            "current_fail_per_sec": current_fail_per_sec,
            "p99_ms": stats.total.percentile_ms(0.99),
            "saturated": summary.saturated,
            "delayed": summary.delayed,
            "latency_unit": "ms; open model: from the intended send time",
            "service_time_p99_ms": stats.service_total.as_ref().and_then(|s| s.percentile_ms(0.99)),
            "read_delay": read_delay_json(stats),
            "seed": summary.seed,
        },
    })
}

/// The generator's own read delay ([`crate::stats::Delta::read_delay`]), `null` when no
/// response was stamped; `responses` counts the sample (one connection in four), and
/// `share_of_mean` is its mean over the mean response time.
fn read_delay_json(stats: &crate::stats::Stats) -> Value {
    let d = &stats.read_delay;
    if d.num_requests == 0 {
        return Value::Null;
    }
    json!({
        "responses": d.num_requests,
        "mean_ms": d.avg_ms(),
        "p50_ms": d.percentile_ms(0.5),
        "p99_ms": d.percentile_ms(0.99),
        "max_ms": d.max_ms(),
        "share_of_mean": d.avg_ms() / stats.total.avg_ms().max(1e-9),
    })
}

fn entry_json(name: &str, method: &str, e: &EntryStats, start: f64, last: Option<f64>) -> Value {
    let mut buckets: BTreeMap<u64, u64> = BTreeMap::new();
    for v in e.hist.iter_recorded() {
        *buckets
            .entry(locust_bucket(v.value_iterated_to() as f64 / 1000.0))
            .or_default() += v.count_at_value();
    }
    json!({
        "name": name,
        "method": method,
        "last_request_timestamp": last,
        "start_time": start,
        "num_requests": e.num_requests,
        "num_none_requests": 0,
        "num_failures": e.num_failures,
        "total_response_time": e.total_us as f64 / 1000.0,
        "max_response_time": e.max_ms(),
        "min_response_time": (e.num_requests > 0).then(|| e.min_ms()),
        "total_content_length": e.total_content,
        "response_times": buckets.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
    })
}

/// Locust's `bucket_response_time`: 1 ms steps below 100 ms, 10 ms below 1 s, 100 ms below
/// 10 s, then 1 s; Python's round, i.e. half to even (145 -> 140, 155 -> 160). Used for
/// `--json`'s `response_times` and for the stats a Locust worker sends its master.
pub fn locust_bucket(ms: f64) -> u64 {
    let to = |step: f64| ((ms / step).round_ties_even() * step) as u64;
    if ms < 100.0 {
        ms.round_ties_even() as u64
    } else if ms < 1000.0 {
        to(10.0)
    } else if ms < 10_000.0 {
        to(100.0)
    } else {
        to(1000.0)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn buckets_round_half_to_even_like_python() {
        let cases = [
            (0.5, 0),
            (1.5, 2),
            (2.5, 2),
            (145.0, 140),
            (155.0, 160),
            (1050.0, 1000),
            (1150.0, 1200),
            (10500.0, 10000),
            (58760.0, 59000),
            (147.0, 150),
            (3432.0, 3400),
            (99.4, 99),
            (0.04, 0),
        ];
        for (ms, want) in cases {
            assert_eq!(super::locust_bucket(ms), want, "{ms}");
        }
    }
}
