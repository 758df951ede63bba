//! Locust 2.47's web API shapes (its `web.py` routes: `/swarm`, `/stop`, `/stats/requests`...), as pure functions of what
//! the engine already has, so scripts and exporters written against Locust's `/stats/requests`
//! keep working. Differences, on purpose: times are milliseconds with decimals (Locust rounds
//! min and max to whole ms and gives bucketed medians), and a `swarmlab` object is added with
//! what Locust does not know (whether the generator saturated, its CPU, its own read delay).

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{json, Value};

use swarmlab_swarm::engine::{Start, View};
use swarmlab_swarm::output::rows;
use swarmlab_swarm::stats::quantile_ms;
use swarmlab_swarm::target::Target;
use swarmlab_swarm::wait::WaitTime;
use swarmlab_swarm::MAX_USERS;

/// Locust truncates the statistics and errors it returns to this many (its UI slows past it).
const MAX_ROWS: usize = 500;

/// Rounds to 3 decimals: microsecond resolution in milliseconds, without float noise.
fn r3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// `GET /stats/requests`.
pub fn request_stats(view: &View) -> Value {
    let stats = &view.stats;
    let all = rows(stats, view.entries());
    let total_row = all.len() - 1;
    let mut out = Vec::with_capacity(all.len().min(MAX_ROWS + 1));
    for (k, (i, method, name, e)) in all.iter().enumerate() {
        if k >= MAX_ROWS && k != total_row {
            continue;
        }
        let (current_rps, current_fail_per_sec) = stats.current_rates(*i);
        let (total_rps, total_fail_per_sec) = stats.total_rates(e);
        out.push(json!({
            "method": method,
            "name": name,
            "num_requests": e.num_requests,
            "num_failures": e.num_failures,
            "min_response_time": r3(e.min_ms()),
            "max_response_time": r3(e.max_ms()),
            "current_rps": current_rps,
            "current_fail_per_sec": current_fail_per_sec,
            "avg_response_time": r3(e.avg_ms()),
            "median_response_time": r3(e.median_ms()),
            "total_rps": total_rps,
            "total_fail_per_sec": total_fail_per_sec,
            "response_time_percentile_0.95": e.percentile_ms(0.95).map(r3),
            "response_time_percentile_0.99": e.percentile_ms(0.99).map(r3),
            "avg_content_length": e.avg_content(),
        }));
    }
    let errors: Vec<Value> = swarmlab_swarm::output::failure::error_lines(stats)
        .into_iter()
        .take(MAX_ROWS)
        .map(|l| {
            let e = &view.entries()[l.entry];
            json!({
                "method": e.method,
                "name": e.name,
                "error": l.error,
                "occurrences": l.row.occurrences,
                "first_seen": l.row.first,
                "last_seen": l.row.last,
            })
        })
        .collect();
    let (current_rps, current_fail_per_sec) = stats.current_rates(None);
    let (total_rps, total_fail_per_sec) = stats.total_rates(&stats.total);
    let now = swarmlab_swarm::clock::unix_now() as u64;
    let window = stats.current_window(None, now);
    let pct = |q| quantile_ms(&window, q).map(r3);
    json!({
        "stats": out,
        "errors": errors,
        "current_rps": current_rps,
        "current_fail_per_sec": current_fail_per_sec,
        "total_rps": total_rps,
        "total_fail_per_sec": total_fail_per_sec,
        "fail_ratio": stats.total.fail_ratio(),
        "current_response_time_percentiles": {
            "response_time_percentile_0.5": pct(0.5),
            "response_time_percentile_0.95": pct(0.95),
            "response_time_percentile_0.99": pct(0.99),
        },
        "state": view.status.state.name(),
        "user_count": view.status.users,
        "swarmlab": {
            "saturated": view.status.saturated,
            "delayed": view.status.delayed,
            "read_delay_ms": (view.stats.read_delay.num_requests > 0).then(|| view.stats.read_delay.avg_ms()),
            "generator_cpu": view.status.cpu,
            "elapsed_s": view.duration.as_secs_f64(),
        },
    })
}

/// `GET /tasks`: each class's share of the running users and each task's share of its class
/// (`per_class`), or of all users (`total`), by weight, nested sets within, as Locust's
/// `get_ratio`.
pub fn tasks(view: &View) -> Value {
    let classes = &view.workload.classes;
    let running: usize = view.status.class_users.iter().sum();
    // Locust's _get_task_ratio: shares of the parent's share in `total`, of 1 otherwise.
    fn set_ratios(
        sets: &[swarmlab_swarm::program::TaskSet],
        set: usize,
        parent: f64,
        total: bool,
    ) -> Value {
        let parent = if total { parent } else { 1.0 };
        let weights: u64 = sets[set].tasks.iter().map(|t| u64::from(t.weight)).sum();
        let mut tasks = serde_json::Map::new();
        for t in &sets[set].tasks {
            let ratio = parent * f64::from(t.weight) / weights.max(1) as f64;
            let old = tasks
                .get(&t.name)
                .and_then(|v| v["ratio"].as_f64())
                .unwrap_or(0.0);
            let mut entry = json!({ "ratio": old + ratio });
            if let swarmlab_swarm::program::TaskRun::Set(child) = t.run {
                entry["tasks"] = set_ratios(sets, child, ratio, total);
            }
            tasks.insert(t.name.clone(), entry);
        }
        Value::Object(tasks)
    }
    let ratios = |total: bool| -> Value {
        let mut map = serde_json::Map::new();
        for (c, class) in classes.iter().enumerate() {
            let share = if running == 0 {
                0.0
            } else {
                view.status.class_users.get(c).copied().unwrap_or(0) as f64 / running as f64
            };
            map.insert(
                class.name.clone(),
                json!({"ratio": share, "tasks": set_ratios(&class.sets, 0, share, total)}),
            );
        }
        Value::Object(map)
    };
    json!({"per_class": ratios(false), "total": ratios(true)})
}

/// A `POST /swarm` that makes sense.
#[derive(Debug)]
pub struct SwarmForm {
    /// Users and spawn rate, run time and rate (no workload: the caller builds it).
    pub start: Start,
    /// A new host, if the form gave one.
    pub host: Option<Target>,
    /// A new wait time, if the form gave one.
    pub wait: Option<WaitTime>,
}

/// Checks a `POST /swarm` form as Locust does, and the fields swarmlab adds (`wait_time`,
/// `rate`); an error is the message for Locust's `{"success": false, "message": ...}`.
pub fn parse_swarm_form(form: &HashMap<String, String>) -> Result<SwarmForm, String> {
    let field = |k: &str| form.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let users = match field("user_count") {
        None => {
            return Err("Missing or invalid user_count or spawn_rate from /swarm request".into())
        }
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 1 && n as u64 <= MAX_USERS as u64 => n as usize,
            Ok(n) if n >= 1 => {
                return Err(format!(
                    "Invalid user_count value: '{v}' (at most {MAX_USERS} users)"
                ))
            }
            Ok(_) => {
                return Err(format!(
                    "Invalid user_count value: '{v}' (must be a positive integer)"
                ))
            }
            Err(_) if v.bytes().all(|b| b.is_ascii_digit()) => {
                return Err(format!(
                    "Invalid user_count value: '{v}' (at most {MAX_USERS} users)"
                ))
            }
            Err(_) => {
                return Err(format!(
                    "Invalid user_count value: '{v}' (must be an integer)"
                ))
            }
        },
    };
    let spawn_rate = match field("spawn_rate") {
        None => {
            return Err("Missing or invalid user_count or spawn_rate from /swarm request".into())
        }
        Some(v) => match v.parse::<f64>() {
            Ok(r) if r.is_finite() && r > 0.0 => r,
            Ok(_) => {
                return Err(format!(
                    "Invalid spawn_rate value: '{v}' (must be a positive number)"
                ))
            }
            Err(_) => {
                return Err(format!(
                    "Invalid spawn_rate value: '{v}' (must be a number)"
                ))
            }
        },
    };
    let host = match field("host") {
        None => None,
        Some(h) => Some(Target::parse(h).map_err(|e| format!("Invalid host: {e}"))?),
    };
    let run_time = match field("run_time") {
        None => None,
        Some(t) => Some(swarmlab_swarm::timespan::parse_timespan(t).map_err(|_| {
            "Valid run_time formats are : 20, 20s, 3m, 2h, 1h20m, 3h30m10s, etc.".to_string()
        })?),
    }
    .filter(|t| !t.is_zero());
    let wait = field("wait_time")
        .map(|w| w.parse::<WaitTime>().map_err(|e| e.to_string()))
        .transpose()?;
    let rate = match field("rate") {
        None => None,
        Some(v) => match v.parse::<f64>() {
            Ok(r) if r.is_finite() && r > 0.0 => Some(r),
            _ => {
                return Err(format!(
                    "Invalid rate value: '{v}' (must be a positive number of requests per second)"
                ))
            }
        },
    };
    Ok(SwarmForm {
        start: Start {
            users,
            spawn_rate,
            run_time,
            rate,
            rate_ramp: Duration::ZERO,
            workload: None,
        },
        host,
        wait,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn swarm_form_table() {
        let ok = parse_swarm_form(&form(&[
            ("user_count", "20"),
            ("spawn_rate", "2.5"),
            ("host", "http://127.0.0.1:9"),
            ("run_time", "1m30s"),
            ("wait_time", "between(1, 2)"),
            ("rate", "100"),
        ]))
        .unwrap();
        assert_eq!((ok.start.users, ok.start.spawn_rate), (20, 2.5));
        assert_eq!(ok.start.run_time, Some(Duration::from_secs(90)));
        assert_eq!(ok.start.rate, Some(100.0));
        assert_eq!(ok.wait, Some(WaitTime::Between(1.0, 2.0)));
        assert_eq!(ok.host.unwrap().authority, "127.0.0.1:9");
        let minimal = parse_swarm_form(&form(&[
            ("user_count", "1"),
            ("spawn_rate", "1"),
            ("host", ""),
            ("run_time", ""),
        ]))
        .unwrap();
        assert!(minimal.host.is_none() && minimal.start.run_time.is_none());

        let bad: &[(&[(&str, &str)], &str)] = &[
            (&[("spawn_rate", "1")], "Missing or invalid user_count"),
            (
                &[("user_count", "0"), ("spawn_rate", "1")],
                "'0' (must be a positive integer)",
            ),
            (
                &[("user_count", "-5"), ("spawn_rate", "1")],
                "'-5' (must be a positive integer)",
            ),
            (
                &[("user_count", "ten"), ("spawn_rate", "1")],
                "'ten' (must be an integer)",
            ),
            // issue 27: one POST of 4,000,000,000 users exhausted memory
            (
                &[("user_count", "4000000000"), ("spawn_rate", "1e308")],
                "'4000000000' (at most 1000000 users)",
            ),
            (
                &[("user_count", "1000001"), ("spawn_rate", "1")],
                "(at most 1000000 users)",
            ),
            (
                &[
                    ("user_count", "99999999999999999999999"),
                    ("spawn_rate", "1"),
                ],
                "(at most 1000000 users)",
            ),
            (
                &[("user_count", "5"), ("spawn_rate", "0")],
                "'0' (must be a positive number)",
            ),
            (
                &[("user_count", "5"), ("spawn_rate", "inf")],
                "must be a positive number",
            ),
            (
                &[("user_count", "5")],
                "Missing or invalid user_count or spawn_rate",
            ),
            (
                &[
                    ("user_count", "5"),
                    ("spawn_rate", "1"),
                    ("host", "ftp://x"),
                ],
                "Invalid host",
            ),
            (
                &[
                    ("user_count", "5"),
                    ("spawn_rate", "1"),
                    ("host", "example"),
                ],
                "Invalid host",
            ),
            // issue 27: a line break in the host sent a second request
            (
                &[
                    ("user_count", "5"),
                    ("spawn_rate", "1"),
                    (
                        "host",
                        "http://127.0.0.1:18266/x HTTP/1.1\r\nHost: victim\r\n\r\nDELETE /admin",
                    ),
                ],
                "Invalid host",
            ),
            (
                &[
                    ("user_count", "5"),
                    ("spawn_rate", "1"),
                    ("run_time", "soon"),
                ],
                "Valid run_time formats",
            ),
            (
                &[
                    ("user_count", "5"),
                    ("spawn_rate", "1"),
                    ("wait_time", "often"),
                ],
                "invalid wait time",
            ),
            (
                &[("user_count", "5"), ("spawn_rate", "1"), ("rate", "-1")],
                "Invalid rate value",
            ),
        ];
        for (pairs, want) in bad {
            let e = parse_swarm_form(&form(pairs)).unwrap_err();
            assert!(e.contains(want), "{pairs:?}: {e}");
        }
    }
}
