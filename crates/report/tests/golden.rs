//! The renderers on a fixed results value, against golden files. `UPDATE_GOLDEN=1 cargo test`
//! rewrites them; review the diff before committing.

use std::path::PathBuf;

use swarmlab_report::{
    analysis, html, markdown, render_json, Client, Lang, Machine, ModelResult, Outcome, Results,
    Sample, Server, Settings,
};

fn timeline(peak: f64, p95: f64) -> Vec<Sample> {
    (0..12)
        .map(|i| {
            let f = (i as f64 / 8.0).min(1.0);
            Sample {
                t: i as f64,
                users: (1000.0 * f) as usize,
                rps: peak * f,
                p50_ms: Some(p95 / 4.0),
                p95_ms: Some(p95 * (0.5 + f)),
            }
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn ran(
    name: &str,
    peak: f64,
    avg: f64,
    p99: f64,
    until: Option<u64>,
    cpu_us: f64,
    rss: f64,
    threads: u64,
    procs: u64,
) -> ModelResult {
    let requests = (peak * 11.0) as u64;
    ModelResult {
        name: name.into(),
        external: false,
        outcome: Outcome::Ran {
            client: Box::new(Client {
                requests,
                failures: u64::from(until.is_some()) * 7,
                before_first_failure: until,
                rps: peak * 0.9,
                peak_rps: peak,
                avg_ms: avg,
                p50_ms: avg / 2.0,
                p95_ms: p99 / 2.0,
                p99_ms: p99,
                max_ms: p99 * 2.0,
                duration_s: 12.0,
                users: 1000,
                failure_kinds: until
                    .map(|_| {
                        vec![(
                            "ReadTimeout('Read timed out. (read timeout=10.0)')".to_string(),
                            7,
                        )]
                    })
                    .unwrap_or_default(),
                saturated: None,
                timeline: timeline(peak, p99 / 2.0),
            }),
            server: Some(Server {
                cpu_s: cpu_us * requests as f64 / 1e6,
                cpu_us_per_request: cpu_us,
                peak_rss_mib: rss,
                voluntary_switches: requests / 3,
                involuntary_switches: requests / 50,
                peak_threads: threads,
                peak_processes: procs,
                clean_exit: true,
            }),
        },
    }
}

pub fn fixture() -> Results {
    let mut nginx = ran("nginx", 9900.0, 0.4, 3.0, None, 9.0, 4.0, 1, 2);
    nginx.external = true;
    if let Outcome::Ran { server, .. } = &mut nginx.outcome {
        *server = None;
    }
    Results {
        machine: Machine {
            cores: 2,
            cpu: "Test CPU @ 2.80GHz".into(),
            kernel: "6.18.0".into(),
            memory_mib: 24000,
            swarmlab: "0.1.0".into(),
        },
        settings: Settings {
            workload: "hello".into(),
            request: "GET /".into(),
            users: 1000,
            spawn_rate: 100.0,
            wait_time: "constant(1)".into(),
            max_time_s: 12.0,
            pinned: true,
            started: "2026-11-23T00:00:00Z".into(),
        },
        rows: vec![
            ran("single", 765.7, 83.0, 2300.0, Some(18367), 35.0, 2.5, 1, 1),
            ran("fork", 4100.0, 12.0, 95.0, None, 180.0, 310.0, 1, 1001),
            ran("thread", 8800.0, 1.6, 12.0, None, 22.0, 160.0, 1001, 1),
            ran("select", 9600.0, 0.9, 6.0, None, 14.0, 3.5, 1, 1),
            ModelResult {
                name: "uring".into(),
                external: false,
                outcome: Outcome::Skipped {
                    reason: "io_uring is not available on this kernel".into(),
                },
            },
            nginx,
        ],
    }
}

fn golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", path.display()));
    assert!(
        expected == actual,
        "{name} differs from its golden file; UPDATE_GOLDEN=1 to accept:\n{actual}"
    );
}

#[test]
fn markdown_en_matches_golden() {
    golden(
        "report.en.md",
        &markdown::render_markdown(&fixture(), Lang::En),
    );
}

#[test]
fn markdown_ko_matches_golden() {
    golden(
        "report.ko.md",
        &markdown::render_markdown(&fixture(), Lang::Ko),
    );
}

#[test]
fn json_matches_golden_and_round_trips() {
    let text = render_json(&fixture());
    golden("results.json", &text);
    let back: Results = serde_json::from_str(&text).unwrap();
    assert_eq!(back, fixture());
}

#[test]
fn html_matches_golden_and_is_self_contained() {
    let page = html::render_html(&fixture(), Lang::En);
    golden("index.en.html", &page);
    // 5 bar charts (always), the latency/throughput curve, 3 charts for each of the 5 rows that ran
    assert_eq!(page.matches("<svg").count(), 5 + 1 + 3 * 5);
    assert_eq!(
        swarmlab_report::html::network_loads(&page),
        Vec::<&str>::new()
    );
}

#[test]
fn assignment_sentences_have_the_assignments_format() {
    let r = fixture();
    let clients: Vec<&Client> = r.ran().map(|(_, c, _)| c).collect();
    assert_eq!(
        analysis::assignment_sentence(Lang::En, clients[0]),
        "RPS was 689.1; a failure occurred after 18367 requests; the average response time was 83 ms."
    );
    assert_eq!(
        analysis::assignment_sentence(Lang::Ko, clients[0]),
        "RPS가 689.1이며, 18367번의 요청을 했을 시 failure가 발생한다. 그리고 평균 응답시간은 83ms이다."
    );
    assert_eq!(
        analysis::assignment_sentence(Lang::En, clients[1]),
        "Over 45100 requests in total, RPS was 3690.0 and the average response time was 12 ms."
    );
    assert_eq!(
        analysis::assignment_sentence(Lang::Ko, clients[1]),
        "총 요청 45100번의 RPS가 3690.0이며, 그리고 평균 응답시간은 12ms이다."
    );
}

#[test]
fn verdict_cites_the_numbers() {
    let text = analysis::verdict(Lang::En, &fixture()).join("\n");
    assert!(
        text.contains("**nginx** sustained the highest throughput: 9,900 req/s"),
        "{text}"
    );
    assert!(text.contains("**single** after 18,367 requests"), "{text}");
    assert!(
        text.contains("least server CPU (14.0 µs)") && text.contains("**fork** the most (180.0 µs"),
        "{text}"
    );
    assert!(text.contains("never saturated"), "{text}");
    // nginx (9,900) and select (9,600) are within 10 %, but only select has server figures:
    // nothing to weigh CPU against, so throughput decides.
    assert!(
        text.contains("**Verdict:** under this load **nginx** is the most efficient design here: the highest peak throughput (9,900 req/s), 3 % ahead"),
        "{text}"
    );
}

#[test]
fn verdict_weighs_cpu_when_throughput_ties() {
    let mut r = fixture();
    if let Outcome::Ran { client, .. } = &mut r.rows[2].outcome {
        client.peak_rps = 9_500.0; // thread now within 10 % of the best
    }
    let text = analysis::verdict(Lang::En, &r).join("\n");
    assert!(
        text.contains("3 designs kept up within 10 % of the best throughput (nginx, select, thread)")
            && text.contains("among them **select** needed the least server CPU per request (14.0 µs, against 22.0 µs for **thread**)"),
        "{text}"
    );
}
