//! Locust's console tables: the periodic stats table, the percentile table, the error report.

use std::fmt::Write;

use crate::output::{ms, rows};
use crate::stats::{Stats, PERCENTILES};
use crate::workload::Entry;

/// Locust's name column at an 80-column terminal.
const NAME: usize = 24;

/// The stats table. `current`: req/s and failures/s over Locust's 10 s window (the periodic
/// table); otherwise over the whole run (the final table). Times are ms.
pub fn stats_table(stats: &Stats, entries: &[Entry], current: bool) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<8} {:<NAME$} {:>7} {:>12} |{:>7} {:>7} {:>7}{:>7} | {:>7} {:>11}",
        "Type", "Name", "# reqs", "# fails", "Avg", "Min", "Max", "Med", "req/s", "failures/s"
    );
    let sep = format!(
        "{}|{}|{}|{}|{}|{}|{}|{}|{}|{}",
        "-".repeat(8),
        "-".repeat(NAME + 1),
        "-".repeat(7),
        "-".repeat(13),
        "-".repeat(7),
        "-".repeat(7),
        "-".repeat(7),
        "-".repeat(7),
        "-".repeat(8),
        "-".repeat(11)
    );
    let _ = writeln!(s, "{sep}");
    let all = rows(stats, entries);
    for (i, method, name, e) in &all {
        if i.is_none() {
            let _ = writeln!(s, "{sep}");
        }
        let (rps, fps) = if current {
            stats.current_rates(*i)
        } else {
            stats.total_rates(e)
        };
        let fails = format!("{}({:.2}%)", e.num_failures, e.fail_ratio() * 100.0);
        let _ = writeln!(
            s,
            "{:<8} {:<NAME$} {:>7} {:>12} |{:>7} {:>7} {:>7}{:>7} | {:>7.2} {:>11.2}",
            method,
            truncate(name, NAME),
            e.num_requests,
            fails,
            ms(e.avg_ms()),
            ms(e.min_ms()),
            ms(e.max_ms()),
            ms(e.median_ms()),
            rps,
            fps
        );
    }
    s
}

/// The percentile table (whole run), ms.
pub fn percentile_table(stats: &Stats, entries: &[Entry]) -> String {
    let mut s = String::from("Response time percentiles (ms, from HdrHistograms: within 0.1 %)\n");
    let heads: Vec<String> = PERCENTILES.iter().map(|p| pct_label(*p)).collect();
    let _ = write!(s, "{:<8} {:<NAME$}", "Type", "Name");
    for h in &heads {
        let _ = write!(s, " {h:>6}");
    }
    let _ = writeln!(s, " {:>6}", "# reqs");
    let sep = format!(
        "{}|{}|{}",
        "-".repeat(8),
        "-".repeat(NAME + 1),
        vec!["-".repeat(6); PERCENTILES.len() + 1].join("|")
    );
    let _ = writeln!(s, "{sep}");
    for (i, method, name, e) in rows(stats, entries) {
        if i.is_none() {
            let _ = writeln!(s, "{sep}");
        }
        let _ = write!(s, "{:<8} {:<NAME$}", method, truncate(name, NAME));
        for p in PERCENTILES {
            let v = e.percentile_ms(p).map_or_else(|| "N/A".to_string(), ms);
            let _ = write!(s, " {v:>6}");
        }
        let _ = writeln!(s, " {:>6}", e.num_requests);
    }
    s
}

/// The error report: occurrences, then `METHOD name: error`.
pub fn error_report(stats: &Stats, entries: &[Entry]) -> String {
    let mut s = String::from("Error report\n");
    let _ = writeln!(s, "{:<18} Error", "# occurrences");
    let _ = writeln!(s, "{}|{}", "-".repeat(18), "-".repeat(4));
    let mut errors = super::failure::error_lines(stats);
    errors.sort_by_key(|l| std::cmp::Reverse(l.row.occurrences));
    for l in errors {
        let e = &entries[l.entry];
        let _ = writeln!(
            s,
            "{:<18} {} {}: {}",
            l.row.occurrences, e.method, e.name, l.error
        );
    }
    s
}

/// User code's exceptions (the Python path), most frequent first: count, message, and the
/// traceback's last frame (the full tracebacks are in `_exceptions.csv`).
pub fn exceptions_report(stats: &Stats) -> String {
    let mut s = String::from("Exceptions in user code\n");
    let _ = writeln!(s, "{:<18} Message (where)", "# occurrences");
    let _ = writeln!(s, "{}|{}", "-".repeat(18), "-".repeat(4));
    let mut rows: Vec<_> = stats.exceptions.iter().collect();
    rows.sort_by_key(|(_, row)| std::cmp::Reverse(row.count));
    for (tb, row) in rows {
        let last = tb
            .lines()
            .rev()
            .find(|l| l.trim_start().starts_with("File "))
            .map_or("", str::trim);
        let _ = writeln!(s, "{:<18} {} ({last})", row.count, row.msg);
    }
    s
}

/// `0.5` -> `50%`, `0.999` -> `99.9%`, `1.0` -> `100%`.
pub fn pct_label(p: f64) -> String {
    let v = p * 100.0;
    if (v - v.round()).abs() < 1e-9 {
        format!("{}%", v.round() as u64)
    } else {
        format!("{}%", format!("{v:.2}").trim_end_matches('0'))
    }
}

fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::tests::one_request;

    #[test]
    fn labels_match_locust() {
        let labels: Vec<String> = PERCENTILES.iter().map(|p| pct_label(*p)).collect();
        assert_eq!(
            labels,
            ["50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%"]
        );
    }

    #[test]
    fn tables_have_locust_layout() {
        let (entries, stats) = one_request(
            "/404",
            1500,
            9,
            Some("HTTPError('404 Client Error: Not Found for url: /404')"),
        );
        let t = stats_table(&stats, &entries, false);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(
            lines[0],
            "Type     Name                      # reqs      # fails |    Avg     Min     Max    Med |   req/s  failures/s"
        );
        assert_eq!(lines[1], "--------|-------------------------|-------|-------------|-------|-------|-------|-------|--------|-----------");
        assert!(lines[2].starts_with("GET      /404                           1   1(100.00%) |   1.50    1.50    1.50   1.50 |"), "{}", lines[2]);
        assert!(lines[4].starts_with("         Aggregated"), "{}", lines[4]);
        let e = error_report(&stats, &entries);
        assert!(e.contains("1                  GET /404: HTTPError('404 Client Error: Not Found for url: /404')"), "{e}");
        let p = percentile_table(&stats, &entries);
        assert!(
            p.lines()
                .nth(1)
                .unwrap()
                .ends_with("99.9% 99.99%   100% # reqs"),
            "{p}"
        );
    }
}
