//! The per-second history of a run (what the charts and `_stats_history.csv` show), kept
//! bounded so that memory stays flat however long the run.

use std::collections::VecDeque;

/// One row per second of history: what the charts and `_stats_history.csv` show.
#[derive(Clone, Debug, serde::Serialize)]
pub struct HistoryRow {
    /// Unix seconds.
    pub time: u64,
    /// Users running.
    pub users: usize,
    /// Current (10 s window) requests/s.
    pub rps: f64,
    /// Current failures/s.
    pub fps: f64,
    /// Current-window median, ms.
    pub p50_ms: Option<f64>,
    /// Current-window 95th percentile, ms.
    pub p95_ms: Option<f64>,
    /// Current-window 99th percentile, ms.
    pub p99_ms: Option<f64>,
    /// Requests completed during the unix second `time - 2` (complete by now: workers hand
    /// over each second within about one second).
    pub completed_2s_ago: u64,
}

/// The per-second history, bounded: the last hour second by second, older rows thinned to
/// one a minute, and beyond a week of those the oldest half thinned again. Memory stays flat
/// however long the run.
#[derive(Clone, Debug, Default)]
pub struct History {
    recent: VecDeque<HistoryRow>,
    older: Vec<HistoryRow>,
}

const RECENT_ROWS: usize = 3600;
const OLDER_ROWS: usize = 7 * 24 * 60;

impl History {
    /// Appends a row.
    pub fn push(&mut self, row: HistoryRow) {
        self.recent.push_back(row);
        while self.recent.len() > RECENT_ROWS {
            let old = self.recent.pop_front().expect("not empty");
            if self
                .older
                .last()
                .is_none_or(|l| old.time / 60 != l.time / 60)
            {
                self.older.push(old);
            }
        }
        if self.older.len() > OLDER_ROWS {
            let keep: Vec<HistoryRow> = self.older.iter().step_by(2).cloned().collect();
            self.older = keep;
        }
    }

    /// Every row kept, oldest first.
    pub fn rows(&self) -> Vec<HistoryRow> {
        self.older.iter().chain(&self.recent).cloned().collect()
    }

    /// Rows kept.
    pub fn len(&self) -> usize {
        self.older.len() + self.recent.len()
    }

    /// Whether no row is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(time: u64) -> HistoryRow {
        HistoryRow {
            time,
            users: 1,
            rps: 1.0,
            fps: 0.0,
            p50_ms: None,
            p95_ms: None,
            p99_ms: None,
            completed_2s_ago: 0,
        }
    }

    /// Past the last hour rows are thinned to one a minute, and past a week of those to every
    /// other: 30 days of seconds keep a few thousand rows, newest second by second.
    #[test]
    fn history_stays_bounded_past_its_bounds() {
        let mut h = History::default();
        for t in 0..RECENT_ROWS as u64 {
            h.push(row(t));
        }
        assert_eq!(h.len(), RECENT_ROWS, "the first hour is kept whole");
        for t in RECENT_ROWS as u64..2 * RECENT_ROWS as u64 {
            h.push(row(t));
        }
        assert_eq!(
            h.len(),
            RECENT_ROWS + 60,
            "the older hour as one row a minute"
        );
        let rows = h.rows();
        assert!(
            rows.windows(2).all(|w| w[0].time < w[1].time),
            "oldest first"
        );
        assert_eq!(rows.last().unwrap().time, 2 * RECENT_ROWS as u64 - 1);
        let month = 30 * 24 * 3600;
        for t in 2 * RECENT_ROWS as u64..month {
            h.push(row(t));
        }
        assert!(h.len() <= RECENT_ROWS + OLDER_ROWS, "{} rows", h.len());
        assert!(h.len() > RECENT_ROWS + OLDER_ROWS / 4, "{} rows", h.len());
        let rows = h.rows();
        assert_eq!(
            rows[rows.len() - RECENT_ROWS].time,
            month - RECENT_ROWS as u64
        );
        assert!(rows.windows(2).all(|w| w[0].time < w[1].time));
    }
}
