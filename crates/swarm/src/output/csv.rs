//! Locust's four CSV files, with Locust 2.47's exact headers and columns. Times are ms as
//! floats (Locust writes its rounded buckets, which read 0 or 1 for a fast server).

use std::fmt::Write;

use crate::output::{rows, utc};
use crate::stats::{quantile_ms, EntryStats, Stats, PERCENTILES};
use crate::workload::Entry;

/// `_stats.csv` header.
pub const STATS_HEADER: &str = "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%";
/// `_stats_history.csv` header.
pub const HISTORY_HEADER: &str = "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,Total Min Response Time,Total Max Response Time,Total Average Content Size";
/// `_failures.csv` header.
pub const FAILURES_HEADER: &str = "Method,Name,Error,Occurrences,First Seen,Last Seen";
/// `_exceptions.csv` header.
pub const EXCEPTIONS_HEADER: &str = "Count,Message,Traceback,Nodes";

/// The whole `_stats.csv` (rewritten each second): totals over the run.
pub fn stats_csv(stats: &Stats, entries: &[Entry]) -> String {
    let mut s = format!("{STATS_HEADER}\n");
    for (_, method, name, e) in rows(stats, entries) {
        let (rps, fps) = stats.total_rates(e);
        let _ = write!(
            s,
            "{},{},{},{rps},{fps}",
            field(method),
            field(name),
            totals(e)
        );
        for p in PERCENTILES {
            match e.percentile_ms(p) {
                Some(v) => write!(s, ",{v}"),
                None => write!(s, ",N/A"),
            }
            .expect("writing to a String");
        }
        s.push('\n');
    }
    s
}

/// Rows to append to `_stats_history.csv` for second `now` (unix). The Aggregated row's
/// percentiles are cumulative unless `full_history`, as in Locust; with it every entry gets a
/// row and all percentiles cover the current 10 s window.
pub fn history_rows(
    stats: &Stats,
    entries: &[Entry],
    users: usize,
    now: u64,
    full_history: bool,
) -> String {
    let mut s = String::new();
    for (i, method, name, e) in rows(stats, entries) {
        if i.is_some() && !full_history {
            continue;
        }
        let (rps, fps) = stats.current_rates(i);
        let _ = write!(
            s,
            "{now},{users},{},{},{rps:.6},{fps:.6}",
            field(method),
            field(name)
        );
        let window = full_history.then(|| stats.current_window(i, now));
        for p in PERCENTILES {
            let v = match &window {
                Some(h) => quantile_ms(h, p),
                None => e.percentile_ms(p),
            };
            match v {
                Some(v) => write!(s, ",{v}"),
                None => write!(s, ",N/A"),
            }
            .expect("writing to a String");
        }
        let _ = writeln!(s, ",{}", totals(e));
    }
    s
}

/// Request Count, Failure Count, Median, Average, Min, Max, Average Content Size: the same
/// seven columns in `_stats.csv` and, as "Total ...", in `_stats_history.csv`.
fn totals(e: &EntryStats) -> String {
    format!(
        "{},{},{},{},{},{},{}",
        e.num_requests,
        e.num_failures,
        e.median_ms(),
        e.avg_ms(),
        e.min_ms(),
        e.max_ms(),
        e.avg_content()
    )
}

/// The whole `_failures.csv`.
pub fn failures_csv(stats: &Stats, entries: &[Entry]) -> String {
    let mut s = format!("{FAILURES_HEADER}\n");
    for l in super::failure::error_lines(stats) {
        let e = &entries[l.entry];
        let _ = writeln!(
            s,
            "{},{},{},{},{},{}",
            field(&e.method),
            field(&e.name),
            field(&l.error),
            l.row.occurrences,
            utc(l.row.first),
            utc(l.row.last)
        );
    }
    s
}

/// The whole `_exceptions.csv`: user code's exceptions (the Python path's), most frequent
/// first; Nodes is `local`, as in a Locust run without workers.
pub fn exceptions_csv(stats: &Stats) -> String {
    let mut rows: Vec<_> = stats.exceptions.iter().collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.1.count));
    let mut s = format!("{EXCEPTIONS_HEADER}\n");
    for (tb, row) in rows {
        s += &format!("{},{},{},local\n", row.count, field(&row.msg), field(tb));
    }
    s
}

/// A CSV field, quoted as Python's csv module quotes (when it holds `,`, `"` or a newline).
pub fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::tests::one_request;

    #[test]
    fn rows_have_as_many_columns_as_headers() {
        let (entries, stats) = one_request(
            "/a,b",
            2000,
            13,
            Some("HTTPError('500 Server Error: x, y')"),
        );
        let cols = |line: &str| {
            let mut n = 1;
            let mut quoted = false;
            for c in line.chars() {
                match c {
                    '"' => quoted = !quoted,
                    ',' if !quoted => n += 1,
                    _ => {}
                }
            }
            n
        };
        // the headers (compared with a real Locust 2.47's files in the cli's peers test) have
        // as many columns as the rows written under them
        assert_eq!(
            [
                STATS_HEADER,
                HISTORY_HEADER,
                FAILURES_HEADER,
                EXCEPTIONS_HEADER
            ]
            .map(cols),
            [22, 24, 6, 4]
        );
        let s = stats_csv(&stats, &entries);
        assert!(s.lines().all(|l| cols(l) == 22), "{s}");
        assert!(s.contains("GET,\"/a,b\",1,1,2,2,2,2,13,"), "{s}");
        let h = history_rows(&stats, &entries, 5, 11, true);
        assert_eq!(h.lines().count(), 2);
        assert!(h.lines().all(|l| cols(l) == 24), "{h}");
        let f = failures_csv(&stats, &entries);
        assert!(f.lines().all(|l| cols(l) == 6), "{f}");
        assert!(
            f.contains("\"HTTPError('500 Server Error: x, y')\",1,1970-01-01T00:00:10Z"),
            "{f}"
        );
    }
}
