//! Locust's four CSV files for one run (`swarm --csv PREFIX`, and each model in `compare`):
//! `_stats_history.csv` appended and `_stats.csv` rewritten every second, the rest at the end.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use swarmlab_swarm::output::csv;
use swarmlab_swarm::{Entry, Stats};

/// Locust's four CSV files.
pub struct CsvFiles {
    prefix: PathBuf,
    history: fs::File,
    full_history: bool,
    /// The unix second of the last history rows written (one set of rows a second).
    last: Option<u64>,
}

impl CsvFiles {
    /// Creates `PREFIX_stats_history.csv` with its header (and the directory).
    pub fn create(prefix: &Path, full_history: bool) -> anyhow::Result<CsvFiles> {
        if let Some(dir) = prefix.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let path = Self::path(prefix, "stats_history");
        let mut history =
            fs::File::create(&path).with_context(|| format!("cannot write {}", path.display()))?;
        writeln!(history, "{}", csv::HISTORY_HEADER).context("writing the history csv")?;
        Ok(CsvFiles {
            prefix: prefix.to_path_buf(),
            history,
            full_history,
            last: None,
        })
    }

    fn path(prefix: &Path, kind: &str) -> PathBuf {
        PathBuf::from(format!("{}_{kind}.csv", prefix.display()))
    }

    /// Appends this second's history rows and rewrites `_stats.csv`.
    pub fn second(&mut self, stats: &Stats, entries: &[Entry], users: usize) {
        let now = swarmlab_swarm::unix_now() as u64;
        if self.last != Some(now) {
            self.last = Some(now);
            let _ = self.history.write_all(
                csv::history_rows(stats, entries, users, now, self.full_history).as_bytes(),
            );
        }
        let _ = write_atomically(
            &Self::path(&self.prefix, "stats"),
            &csv::stats_csv(stats, entries),
        );
    }

    /// Writes the final `_stats.csv`, `_failures.csv` and `_exceptions.csv`.
    pub fn finish(self, stats: &Stats, entries: &[Entry]) -> anyhow::Result<()> {
        for (kind, text) in [
            ("stats", csv::stats_csv(stats, entries)),
            ("failures", csv::failures_csv(stats, entries)),
            ("exceptions", csv::exceptions_csv(stats)),
        ] {
            let path = Self::path(&self.prefix, kind);
            write_atomically(&path, &text)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        Ok(())
    }
}

/// Writes via a temporary file and a rename, so a reader never sees half a file.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("csv.tmp");
    fs::write(&tmp, text)?;
    fs::rename(tmp, path)
}
