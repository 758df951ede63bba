//! What a person watching sees while a comparison runs: the progress line (which design and
//! phase now, the time left in all) and the live page (the same web UI as `swarm`, showing the
//! running load's charts and, at the end, the report). Both read what the engine already
//! has, on their own threads: they cannot slow the measurement.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use swarmlab_locust::web::{self, App, Web, WebOptions};
use swarmlab_report::{Lang, Results};
use swarmlab_swarm::{Observer, Stats, Status, Swarm};

use crate::csv_files::CsvFiles;
use crate::procfs::TreeSample;

/// The live page, when it could be served.
pub struct LivePage {
    app: Arc<App>,
    web: Web,
}

impl LivePage {
    /// Serves the page on 127.0.0.1:`port` (`None`: `--no-web`). A port that cannot be used is
    /// a warning, not a failure: the comparison goes on without it.
    pub fn start(port: Option<u16>) -> Option<LivePage> {
        let app = App::for_compare();
        let opts = WebOptions {
            bind: SocketAddr::from(([127, 0, 0, 1], port?)),
            login: None,
        };
        match web::start(Arc::clone(&app), &opts) {
            Ok(web) => {
                println!("live view: http://{} (--no-web: none)", web.addr);
                Some(LivePage { app, web })
            }
            Err(e) => {
                eprintln!(
                    "swarmlab: warning: no live view: cannot serve it on {}: {e} (choose another --web-port, or --no-web)",
                    opts.bind
                );
                None
            }
        }
    }

    /// Shows `swarm`'s charts.
    pub fn show(&self, swarm: &Swarm) {
        self.app.show(swarm.clone(), "");
    }

    /// Serves the finished report, for 30 s more if someone is looking (Ctrl-C ends it).
    pub fn finish(&self, results: &Results, lang: Lang, stop: &AtomicBool) {
        self.app.set_banner("compare: finished");
        self.app
            .set_report(swarmlab_report::html::render_html(results, lang));
        if self.app.visits() > 0 && !stop.load(Ordering::Relaxed) {
            println!(
                "the live view shows the report at http://{}/compare/report for 30 s more (Ctrl-C ends it now)",
                self.web.addr
            );
            let until = Instant::now() + Duration::from_secs(30);
            while Instant::now() < until && !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// Where the comparison is: the progress line and the live page's banner.
pub struct Progress<'a> {
    bar: indicatif::ProgressBar,
    live: Option<&'a LivePage>,
    /// "epoll (3 of 10)".
    design: String,
    /// When the whole comparison should end (the estimate).
    ends: Instant,
}

impl<'a> Progress<'a> {
    /// Progress for design `i` of `total`, each estimated at `per_design_s`.
    pub fn new(
        bars: &indicatif::MultiProgress,
        live: Option<&'a LivePage>,
        name: &str,
        (i, total): (usize, usize),
        per_design_s: f64,
    ) -> Progress<'a> {
        let bar = bars.add(indicatif::ProgressBar::new_spinner());
        bar.set_message(format!("{name}: starting"));
        Progress {
            bar,
            live,
            design: format!("{name} ({} of {total})", i + 1),
            // this design and the ones after it, each as long as the estimate says
            ends: Instant::now() + Duration::from_secs_f64(per_design_s * (total - i) as f64),
        }
    }

    /// Says the phase running now.
    pub fn say(&self, phase: &str) {
        let left = self
            .ends
            .saturating_duration_since(Instant::now())
            .as_secs();
        let line = format!(
            "{}: {phase}; about {} min {:02} s left in all",
            self.design,
            left / 60,
            left % 60
        );
        self.bar.set_message(line.clone());
        self.bar.tick();
        if let Some(live) = self.live {
            live.app.set_banner(&format!("compare: {line}"));
        }
    }

    /// Shows a running load on the live page.
    pub fn show(&self, swarm: &Swarm) {
        if let Some(live) = self.live {
            live.show(swarm);
        }
    }

    /// The design is done.
    pub fn finish(self) {
        self.bar.finish_and_clear();
    }
}

/// The assignment's run, second by second: the server tree's peak, the Locust CSVs, the
/// progress line.
pub struct Watcher<'a> {
    /// Samples the server's tree, if there is one to sample.
    pub sample: Option<Box<dyn Fn() -> TreeSample + 'a>>,
    /// The most of each figure seen.
    pub peak: TreeSample,
    pub started: Instant,
    pub entries: Vec<swarmlab_swarm::Entry>,
    /// The design's Locust CSVs: `<out>/<name>_stats.csv` and the other three.
    pub csvs: CsvFiles,
    pub progress: &'a Progress<'a>,
}

impl Observer for Watcher<'_> {
    fn second(&mut self, stats: &Stats, entries: &[swarmlab_swarm::Entry], status: &Status) {
        if self.entries != entries {
            self.entries = entries.to_vec();
        }
        if let Some(sample) = &self.sample {
            let s = sample();
            self.peak.rss = self.peak.rss.max(s.rss);
            self.peak.pss = self.peak.pss.max(s.pss);
            self.peak.threads = self.peak.threads.max(s.threads);
            self.peak.processes = self.peak.processes.max(s.processes);
            self.peak.fds = self.peak.fds.max(s.fds);
            self.peak.cpu_ns = self.peak.cpu_ns.max(s.cpu_ns);
        }
        self.csvs.second(stats, &self.entries, status.users);
        let (rps, _) = stats.current_rates(None);
        self.progress.say(&format!(
            "the assignment's run: users {}  rps {:.0}  failures {}  {:.0} s",
            status.users,
            rps,
            stats.total.num_failures,
            self.started.elapsed().as_secs_f64()
        ));
    }
}
