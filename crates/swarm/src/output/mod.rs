//! Renderers: pure functions from merged statistics to text (console tables, Locust's CSV
//! files, JSON; the HTML report, which draws charts, is `swarmlab-locust`'s). Nothing here measures anything.

pub mod console;
pub mod csv;
pub mod failure;
pub mod json;

use crate::stats::{EntryStats, Stats};
use crate::workload::Entry;

/// Rows in Locust's order: entries sorted by (name, method), then the total.
///
/// `entries` may be longer than `stats.entries` (names registered, nothing merged yet).
pub fn rows<'a>(
    stats: &'a Stats,
    entries: &'a [Entry],
) -> Vec<(Option<usize>, &'a str, &'a str, &'a EntryStats)> {
    // A remote user may name a row before its first request is merged into `stats`: such a
    // row has no statistics yet, and is left out like any row without requests.
    let mut order: Vec<usize> = (0..entries.len())
        .filter(|&i| stats.entries.get(i).is_some_and(|e| e.num_requests > 0))
        .collect();
    order.sort_by(|&a, &b| {
        (&entries[a].name, &entries[a].method).cmp(&(&entries[b].name, &entries[b].method))
    });
    let mut out: Vec<_> = order
        .into_iter()
        .map(|i| {
            (
                Some(i),
                entries[i].method.as_str(),
                entries[i].name.as_str(),
                &stats.entries[i],
            )
        })
        .collect();
    out.push((None, "", "Aggregated", &stats.total));
    out
}

/// Milliseconds in a narrow column: two decimals below 10 ms, one below 100 ms, whole above
/// (Locust truncates everything to whole ms, which reads 0 for a fast server).
pub fn ms(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.2}")
    } else if v < 100.0 {
        format!("{v:.1}")
    } else {
        format!("{}", v as u64)
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a unix second (UTC).
pub fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::stats::{Delta, Stats};
    use crate::workload::Entry;

    /// Statistics of one `GET name` request at unix second 10 (failed if `error`).
    pub(crate) fn one_request(
        name: &str,
        us: u64,
        content: u64,
        error: Option<&str>,
    ) -> (Vec<Entry>, Stats) {
        let entries = vec![Entry {
            method: "GET".into(),
            name: name.into(),
        }];
        let mut stats = Stats::new(1, 10.0, false);
        let mut d = Delta::new(0, 10, 1, false);
        d.entries[0].record(us, content, error.is_some());
        if let Some(e) = error {
            d.error(0, crate::profile::Failed::said(e), 10);
        }
        d.last_request = 10.5;
        stats.merge(&d);
        (entries, stats)
    }

    #[test]
    fn utc_dates() {
        assert_eq!(super::utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::utc(1_795_349_712), "2026-11-22T12:15:12Z");
        assert_eq!(super::utc(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn ms_keeps_sub_millisecond_resolution() {
        assert_eq!(super::ms(0.2134), "0.21");
        assert_eq!(super::ms(42.26), "42.3");
        assert_eq!(super::ms(1234.9), "1234");
    }
}

#[cfg(test)]
mod rows_tests {
    use super::*;

    #[test]
    fn a_named_row_without_statistics_yet_is_left_out() {
        let entries: Vec<Entry> = ["/a", "/b"]
            .iter()
            .map(|n| Entry {
                method: "GET".into(),
                name: n.to_string(),
            })
            .collect();
        let mut stats = Stats::new(1, 0.0, false);
        stats.entries[0].record(1000, 10, false);
        let out = rows(&stats, &entries);
        assert_eq!(out.len(), 2, "the one row with requests, then Aggregated");
        assert_eq!(out[0].2, "/a");
    }
}
