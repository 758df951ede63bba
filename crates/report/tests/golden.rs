//! The renderers on a fixed results value, against golden files. `UPDATE_GOLDEN=1 cargo test`
//! rewrites them; review the diff before committing.

use std::path::PathBuf;

use swarmlab_models::Model;
use swarmlab_report::capacity::{Spread, Step};
use swarmlab_report::{
    analysis, html, markdown, render_json, Baseline, Capacity, CapacityRow, Client, Design, Lang,
    LimitedBy, Machine, ModelResult, Outcome, ReadDelay, Results, Sample, ScalePoint, Server,
    Settings, Workload, WorkloadKind, WorkloadRun,
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
        design: Design::from_name(name),
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
                read_delay: Some(ReadDelay {
                    mean_ms: avg / 40.0,
                    p99_ms: p99 / 20.0,
                }),
                delayed: None,
                timeline: timeline(peak, p99 / 2.0),
                stats: Vec::new(),
                trials: Vec::new(),
            }),
            server: Some(Server {
                cpu_s: cpu_us * requests as f64 / 1e6,
                cpu_us_per_request: cpu_us,
                peak_rss_mib: rss,
                // forked processes share most of their pages: PSS splits them
                peak_pss_mib: if procs > 1 { rss / 4.0 } else { rss * 0.9 },
                voluntary_switches: requests / 3,
                involuntary_switches: requests / 50,
                peak_threads: threads,
                peak_processes: procs,
                peak_fds: 0,
                zombies_left: 0,
                clean_exit: true,
                others: None,
                limits: Vec::new(),
            }),
            capacity: None,
            scaling: Vec::new(),
        },
    }
}

/// `row` with the generator's own read delay a noticeable part of its response times.
fn delayed(mut row: ModelResult) -> ModelResult {
    if let Outcome::Ran { client, .. } = &mut row.outcome {
        client.read_delay = Some(ReadDelay {
            mean_ms: 0.5,
            p99_ms: 2.5,
        });
        client.delayed = Some("the load generator's own delay is a noticeable part of these response times: whole responses waited 0.50 ms on average (p99 2.50 ms) ...".into());
    }
    row
}

pub fn fixture() -> Results {
    let mut nginx = ran("nginx", 9900.0, 0.4, 3.0, None, 9.0, 4.0, 1, 2);
    nginx.design = Design::External("nginx".into());
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
            workload: Workload::Builtin(WorkloadKind::Hello),
            request: "GET /".into(),
            users: 1000,
            spawn_rate: 100.0,
            wait_time: "constant(1)".into(),
            max_time_s: 12.0,
            pinned: true,
            started: "2026-11-23T00:00:00Z".into(),
            command: String::new(),
            slo_p99_ms: None,
            capacity_connections: None,
            server_cores: 1,
            seed: Some(7),
        },
        rows: vec![
            ran("single", 765.7, 83.0, 2300.0, Some(18367), 35.0, 2.5, 1, 1),
            ran("fork", 4100.0, 12.0, 95.0, None, 180.0, 310.0, 1, 1001),
            ran("thread", 8800.0, 1.6, 12.0, None, 22.0, 160.0, 1001, 1),
            delayed(ran("select", 9600.0, 0.9, 6.0, None, 14.0, 3.5, 1, 1)),
            ModelResult {
                design: Design::Model(Model::Uring),
                outcome: Outcome::Skipped {
                    reason: "io_uring is not available on this kernel".into(),
                },
            },
            nginx,
        ],
        workloads: Vec::new(),
        baseline: None,
        cores: None,
        experiments: Vec::new(),
        checks: Vec::new(),
    }
}

/// A search's result: `steps` as (offered, achieved, p99 ms); the last passing step is the
/// capacity.
fn searched(
    steps: &[(f64, f64, f64)],
    limited_by: LimitedBy,
    cpu_us: f64,
    spread: f64,
) -> Capacity {
    let curve: Vec<Step> = steps
        .iter()
        .map(|&(offered, achieved, p99_ms)| Step {
            offered,
            achieved,
            p99_ms,
            failure_ratio: 0.0,
            cpu_us_per_request: Some(cpu_us),
            generator_busy: limited_by == LimitedBy::Generator && offered > 60_000.0,
            handshakes_per_s: None,
        })
        .collect();
    let best = curve
        .iter()
        .filter(|s| s.p99_ms <= 250.0 && s.achieved >= 0.9 * s.offered)
        .max_by(|a, b| a.achieved.total_cmp(&b.achieved))
        .expect("a passing step");
    Capacity {
        rps: best.achieved,
        p99_ms: best.p99_ms,
        limited_by,
        cpu_us_per_request: Some(cpu_us),
        handshakes_per_s: None,
        curve: curve.clone(),
        spread: Some(Spread {
            rps: spread,
            p99: 0.2,
            cpu: 0.05,
        }),
        searches: Vec::new(),
    }
}

/// The fixture after the capacity search, `--scaling`, `--workload all` and `--baseline`.
pub fn with_capacity() -> Results {
    let mut r = fixture();
    r.settings.slo_p99_ms = Some(100.0);
    r.settings.capacity_connections = Some(100);
    let caps = [
        (
            "single",
            searched(
                &[
                    (2000.0, 2000.0, 3.0),
                    (4000.0, 3100.0, 900.0),
                    (3000.0, 2900.0, 60.0),
                ],
                LimitedBy::Server,
                35.0,
                0.04,
            ),
        ),
        (
            "fork",
            searched(
                &[
                    (2000.0, 2000.0, 4.0),
                    (4000.0, 4000.0, 30.0),
                    (8000.0, 5000.0, 700.0),
                    (6000.0, 5100.0, 300.0),
                    (5000.0, 4900.0, 80.0),
                ],
                LimitedBy::Server,
                180.0,
                0.06,
            ),
        ),
        (
            "thread",
            searched(
                &[
                    (2000.0, 2000.0, 1.0),
                    (8000.0, 8000.0, 2.0),
                    (32000.0, 32000.0, 9.0),
                    (64000.0, 61000.0, 95.0),
                ],
                LimitedBy::Generator,
                22.0,
                0.02,
            ),
        ),
        (
            "select",
            searched(
                &[
                    (2000.0, 2000.0, 0.5),
                    (8000.0, 8000.0, 0.6),
                    (32000.0, 32000.0, 0.9),
                    (64000.0, 64000.0, 1.5),
                ],
                LimitedBy::Generator,
                14.0,
                0.03,
            ),
        ),
    ];
    for row in &mut r.rows {
        let Outcome::Ran {
            capacity, scaling, ..
        } = &mut row.outcome
        else {
            continue;
        };
        if let Some((_, c)) = caps.iter().find(|(n, _)| *n == row.design.name()) {
            *capacity = Some(Box::new(c.clone()));
            *scaling = [10usize, 100, 1000, 10_000]
                .iter()
                .map(|&n| {
                    let mut c = c.clone();
                    let (mem_per_conn, cpu_growth) = match row.design.name() {
                        "thread" => (0.07, 1.3),
                        "select" => (0.002, 1.0 + n as f64 / 2000.0),
                        _ => (0.01, 1.1),
                    };
                    c.cpu_us_per_request = c.cpu_us_per_request.map(|v| v * cpu_growth);
                    c.rps /= cpu_growth;
                    ScalePoint {
                        connections: n,
                        capacity: c,
                        pss_mib: 2.0 + mem_per_conn * n as f64,
                        rss_mib: 2.5 + mem_per_conn * n as f64,
                    }
                })
                .collect();
        }
    }
    let row = |name: &str, c: Capacity| CapacityRow {
        design: Design::from_name(name),
        capacity: Some(c),
        skipped: None,
    };
    let sleep = |rps: f64, limited_by| searched(&[(rps, rps, 150.0)], limited_by, 60.0, 0.01);
    r.workloads = vec![
        WorkloadRun {
            workload: WorkloadKind::Close,
            request: "GET / (Connection: close)".into(),
            slo_p99_ms: 100.0,
            rows: vec![
                row(
                    "single",
                    searched(&[(9000.0, 9000.0, 20.0)], LimitedBy::Server, 40.0, 0.05),
                ),
                row(
                    "fork",
                    searched(&[(3000.0, 3000.0, 40.0)], LimitedBy::Server, 210.0, 0.05),
                ),
                row(
                    "thread",
                    searched(&[(11000.0, 11000.0, 30.0)], LimitedBy::Server, 55.0, 0.05),
                ),
                row(
                    "select",
                    searched(&[(16000.0, 16000.0, 10.0)], LimitedBy::Server, 31.0, 0.05),
                ),
            ],
        },
        WorkloadRun {
            workload: WorkloadKind::Sleep,
            request: "GET /sleep?ms=100".into(),
            slo_p99_ms: 200.0,
            rows: vec![
                // met the objective at no rate tried
                row(
                    "single",
                    Capacity {
                        rps: 0.0,
                        p99_ms: 306.0,
                        limited_by: LimitedBy::Server,
                        cpu_us_per_request: None,
                        handshakes_per_s: None,
                        curve: vec![Step {
                            offered: 500.0,
                            achieved: 8.6,
                            p99_ms: 306.0,
                            failure_ratio: 0.0,
                            cpu_us_per_request: None,
                            generator_busy: false,
                            handshakes_per_s: None,
                        }],
                        spread: None,
                        searches: Vec::new(),
                    },
                ),
                row("fork", sleep(990.0, LimitedBy::Connections)),
                row("thread", sleep(995.0, LimitedBy::Connections)),
                row("select", sleep(992.0, LimitedBy::Connections)),
            ],
        },
        WorkloadRun {
            workload: WorkloadKind::Cpu,
            request: "GET /cpu?us=1000".into(),
            slo_p99_ms: 101.0,
            rows: vec![
                row(
                    "single",
                    searched(&[(700.0, 700.0, 60.0)], LimitedBy::Server, 1010.0, 0.05),
                ),
                row(
                    "fork",
                    searched(&[(650.0, 650.0, 80.0)], LimitedBy::Server, 1090.0, 0.05),
                ),
                row(
                    "thread",
                    searched(&[(820.0, 820.0, 40.0)], LimitedBy::Server, 1040.0, 0.05),
                ),
                row(
                    "select",
                    searched(&[(830.0, 830.0, 30.0)], LimitedBy::Server, 1020.0, 0.05),
                ),
                CapacityRow {
                    design: Design::Model(Model::Uring),
                    capacity: None,
                    skipped: Some("io_uring is not available on this kernel".into()),
                },
            ],
        },
    ];
    r.baseline = Some(Baseline {
        file: "old/results.json".into(),
        started: "2026-11-20T00:00:00Z".into(),
        cpu: "Test CPU @ 2.80GHz".into(),
        rows: vec![
            // single got 30 % better (real), fork moved 3 % (within its spread)
            (
                Design::Model(Model::Single),
                searched(
                    &[(2000.0, 2000.0, 5.0), (2200.0, 2200.0, 80.0)],
                    LimitedBy::Server,
                    45.0,
                    0.04,
                ),
            ),
            (
                Design::Model(Model::Fork),
                searched(&[(4900.0, 4750.0, 70.0)], LimitedBy::Server, 175.0, 0.06),
            ),
        ],
    });
    r
}

fn golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    // exactly "1": UPDATE_GOLDEN=0 (or empty) must not quietly accept whatever came out
    if std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1") {
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

#[test]
fn capacity_report_matches_golden() {
    let r = with_capacity();
    golden(
        "report.capacity.en.md",
        &markdown::render_markdown(&r, Lang::En),
    );
    golden(
        "report.capacity.ko.md",
        &markdown::render_markdown(&r, Lang::Ko),
    );
    let text = render_json(&r);
    golden("results.capacity.json", &text);
    let back: Results = serde_json::from_str(&text).unwrap();
    assert_eq!(
        render_json(&back),
        text,
        "results.json reads back to the same document"
    );
    let page = html::render_html(&r, Lang::En);
    golden("index.capacity.en.html", &page);
    // + capacity bars, two curve charts, three scaling charts, a bar chart per extra workload
    assert_eq!(page.matches("<svg").count(), 5 + 1 + 3 * 5 + 1 + 2 + 3 + 3);
    assert!(
        page.contains("single (baseline)"),
        "the baseline's curve is overlaid"
    );
    assert_eq!(html::network_loads(&page), Vec::<&str>::new());
}

#[test]
fn capacity_json_has_the_documented_shape() {
    let v: serde_json::Value = serde_json::from_str(&render_json(&with_capacity())).unwrap();
    let c = &v["rows"][0]["outcome"]["capacity"];
    assert_eq!(c["rps"], 2900.0);
    assert_eq!(c["p99_ms"], 60.0);
    assert_eq!(c["limited_by"], "server");
    assert_eq!(
        v["rows"][2]["outcome"]["capacity"]["limited_by"],
        "generator"
    );
}

#[test]
fn capacity_verdict_cites_bounds_ties_and_the_slowest() {
    let r = with_capacity();
    let md = markdown::render_markdown(&r, Lang::En);
    // thread and select are both lower bounds: not told apart, CPU decides between them
    assert!(md.contains("| 1 | select | ≥ 64,000 |"), "{md}");
    assert!(
        md.contains("**Verdict:** 2 designs share the top capacity within what one run can tell apart (select, thread); among them **select** needed the least server CPU per request at its capacity (14.0 µs, against 22.0 µs for **thread**)"),
        "{md}"
    );
    assert!(
        md.contains("**single** sustained the least: 2,900 req/s, 22.1× below the best"),
        "{md}"
    );
    assert!(
        md.contains("Lower bounds: **select** (≥ 64,000), **thread** (≥ 61,000)"),
        "{md}"
    );
}

#[test]
fn workload_matrix_names_winners_and_reasons() {
    let md = markdown::render_markdown(&with_capacity(), Lang::En);
    assert!(
        md.contains("| sleep | **thread**, **select**, **fork** | 995 |"),
        "the three event-loop-or-thread designs hit the same ceiling: {md}"
    );
    assert!(md.contains("serves them together (995 req/s), while **single**, which serves them one after another, met the objective at no rate tried"), "{md}");
    assert!(md.contains("No rate tried met p99 ≤ 200 ms for **single** (offered 500 req/s, it completed 8.6 req/s with p99 306 ms)"), "{md}");
    assert!(
        md.contains("ceiling of 100 connections / 100 ms = 1,000 req/s"),
        "{md}"
    );
    assert!(
        md.contains("it had 1 core(s) (every core but the load generator's), at most 1,000 req/s"),
        "{md}"
    );
    assert!(md.contains("**select** spent the least server CPU per request (31.0 µs, accept and close included), **fork** the most (210.0 µs)"), "{md}");
    assert!(md.contains("| uring | - | - | not run | - |"), "{md}");
}

#[test]
fn tls_close_names_the_handshake_cost_against_close() {
    let mut r = with_capacity();
    let tls = |name: &str, rps: f64, cpu: f64| {
        let mut c = searched(&[(rps, rps, 20.0)], LimitedBy::Server, cpu, 0.05);
        c.handshakes_per_s = Some(rps);
        CapacityRow {
            design: Design::from_name(name),
            capacity: Some(c),
            skipped: None,
        }
    };
    r.workloads.push(WorkloadRun {
        workload: WorkloadKind::TlsClose,
        request: "GET / over TLS (Connection: close)".into(),
        slo_p99_ms: 100.0,
        rows: vec![tls("select", 3000.0, 331.0), tls("fork", 900.0, 1010.0)],
    });
    for lang in [Lang::En, Lang::Ko] {
        let md = markdown::render_markdown(&r, lang);
        let head = lang.pick("Handshakes/s |", "초당 핸드셰이크 |");
        assert!(md.contains(head), "{md}");
        assert!(md.contains("| select | 3,000 | 20 |"), "{md}");
        if lang == Lang::En {
            // close's select: 31.0 µs; over TLS 331.0: the handshake 300.0
            assert!(md.contains("**select** completed 3,000 handshakes/s at 331.0 µs of server CPU per request, 31.0 µs without TLS (`close`): the handshake costs 300.0 µs; **fork** paid the most per request (1010.0 µs)"), "{md}");
        } else {
            assert!(md.contains("초당 핸드셰이크 3,000회"), "{md}");
        }
    }
}

#[test]
fn scaling_shows_memory_per_connection_and_cpu_growth() {
    let md = markdown::render_markdown(&with_capacity(), Lang::En);
    assert!(md.contains("**thread** 71.7 KiB (2.7 → 702.0 MiB)"), "{md}");
    assert!(md.contains("**select** ×6.0 (14.1 → 84.0 µs)"), "{md}");
}

#[test]
fn baseline_marks_real_changes_only_beyond_the_spread() {
    let md = markdown::render_markdown(&with_capacity(), Lang::En);
    assert!(
        md.contains("| single | 2,200 → 2,900 (+32 %, **real**)"),
        "{md}"
    );
    assert!(
        md.contains("| fork | 4,750 → 4,900 (+3 %, within the spread of 10 %)"),
        "{md}"
    );
    assert!(
        md.contains("| select | not in the baseline → ≥ 64,000"),
        "{md}"
    );
}

/// Two students' servers: one whose failures are connections refused after it died (check's
/// early-leavers finding explains them), one serial server without failures.
fn with_checks() -> Results {
    use swarmlab_report::check::{Check, Finding, Kind};
    let mut r = fixture();
    r.rows.retain(|m| m.design.model() == Some(Model::Epoll));
    let mut mine = ran("mine", 650.0, 90.0, 900.0, Some(3120), 120.0, 15.0, 1, 2);
    mine.design = Design::External("mine".into());
    if let Outcome::Ran { client, server, .. } = &mut mine.outcome {
        client.failure_kinds = vec![(
            "ConnectionRefusedError(111, 'Connection refused')".into(),
            7,
        )];
        if let Some(s) = server {
            s.peak_fds = 12;
        }
    }
    let mut joined = ran("joined", 640.0, 300.0, 2900.0, None, 300.0, 13.0, 2, 2);
    joined.design = Design::External("joined".into());
    r.rows.push(mine);
    r.rows.push(joined);
    r.checks = vec![
        Check {
            server: "mine".into(),
            findings: vec![
                Finding::new("GET /", Kind::Answers { status: 200 }, String::new()),
                Finding::new(
                    "GET /",
                    Kind::BareLf,
                    "HTTP/1.1 200 OK\\nContent-Type: text/html\\n\\n".into(),
                ),
                Finding::new(
                    "early leavers",
                    Kind::Dies {
                        left: 20,
                        said: Some(
                            "exit status 1; its last words: BrokenPipeError: [Errno 32] Broken pipe"
                                .into(),
                        ),
                    },
                    String::new(),
                ),
            ],
        },
        Check {
            server: "joined".into(),
            findings: vec![
                Finding::new("GET /", Kind::Answers { status: 200 }, String::new()),
                Finding::new(
                    "silent client",
                    Kind::Serial { held_ms: 3100 },
                    String::new(),
                ),
            ],
        },
    ];
    r
}

#[test]
fn checked_servers_have_their_findings_beside_their_numbers() {
    for (lang, file) in [
        (Lang::En, "report.checks.en.md"),
        (Lang::Ko, "report.checks.ko.md"),
    ] {
        let md = markdown::render_markdown(&with_checks(), lang);
        golden(file, &md);
    }
    let md = markdown::render_markdown(&with_checks(), Lang::En);
    assert!(md.contains("| mine (yours) |"), "{md}");
    assert!(
        md.contains("### mine (2 error(s), 0 warning(s), 0 note(s), 1 passed)"),
        "{md}"
    );
    // the verdict says the refused connections are the crash check found
    assert!(
        md.contains("**mine**'s failures `ConnectionRefusedError(111, 'Connection refused')` (7) are the defect check found"),
        "{md}"
    );
    assert!(
        md.contains("**joined** serves one client at a time"),
        "{md}"
    );
    let back: Results = serde_json::from_str(&render_json(&with_checks())).unwrap();
    assert_eq!(back.checks, with_checks().checks);
}

/// Fonts for `lang`, or `None` (said) when none is installed; under SWARMLAB_REQUIRE_PEERS=1
/// (CI installs fonts-noto-cjk) that is a failure.
fn fonts(lang: Lang) -> Option<swarmlab_report::pdf::Fonts> {
    match swarmlab_report::pdf::Fonts::system(lang) {
        Ok(f) => Some(f),
        Err(why) => {
            assert!(
                std::env::var("SWARMLAB_REQUIRE_PEERS").as_deref() != Ok("1"),
                "{why}, and SWARMLAB_REQUIRE_PEERS=1"
            );
            eprintln!("SKIPPED: {why}");
            None
        }
    }
}

/// A poppler tool on PATH, or `None` (said); required under SWARMLAB_REQUIRE_PEERS=1.
fn poppler(tool: &str) -> Option<()> {
    let found = std::process::Command::new(tool).arg("-v").output().is_ok();
    if !found {
        assert!(
            std::env::var("SWARMLAB_REQUIRE_PEERS").as_deref() != Ok("1"),
            "{tool} (poppler-utils) is not installed, and SWARMLAB_REQUIRE_PEERS=1"
        );
        eprintln!("SKIPPED: {tool} is not installed (apt install poppler-utils)");
        return None;
    }
    Some(())
}

#[test]
fn the_pdf_holds_the_assignments_sentence_in_korean_and_english() {
    let r = with_checks();
    let dir = std::env::temp_dir().join(format!("swarmlab-pdf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (lang, sentence) in [
        (
            Lang::Ko,
            "RPS가 585.0이며, 3120번의 요청을 했을 시 failure가 발생한다. 그리고 평균 응답시간은 90ms이다.",
        ),
        (
            Lang::En,
            "RPS was 585.0; a failure occurred after 3120 requests; the average response time was 90 ms.",
        ),
    ] {
        let Some(fonts) = fonts(lang) else {
            return;
        };
        let pdf = swarmlab_report::pdf::render_pdf(&r, lang, &fonts).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        // the same results and fonts: the same bytes
        assert_eq!(pdf, swarmlab_report::pdf::render_pdf(&r, lang, &fonts).unwrap());
        let path = dir.join(format!("report.{lang:?}.pdf"));
        std::fs::write(&path, &pdf).unwrap();
        if poppler("pdftotext").is_none() {
            return;
        }
        let out = std::process::Command::new("pdftotext")
            .args(["-enc", "UTF-8"])
            .arg(&path)
            .arg("-")
            .output()
            .unwrap();
        assert!(out.status.success());
        // lines break at spaces: joined with one, the sentence is whole
        let text = String::from_utf8_lossy(&out.stdout).replace('\n', " ");
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(text.contains(sentence), "{lang:?}: no '{sentence}' in:\n{text}");
        // Locust's Statistics columns, the check's finding, the verdict's citation of it
        for needle in ["Requests", "Median", "Current", "Aggregated", "RFC 9112"] {
            assert!(text.contains(needle), "{lang:?}: no '{needle}'");
        }
        // every page renders
        let pages = std::process::Command::new("pdftoppm")
            .args(["-r", "20", "-png"])
            .arg(&path)
            .arg(dir.join(format!("page-{lang:?}")))
            .status()
            .unwrap();
        assert!(pages.success());
        let rendered = std::fs::read_dir(&dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with(&format!("page-{lang:?}"))
            })
            .count();
        assert!(rendered >= 4, "{lang:?}: {rendered} pages");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_chart_and_table_is_a_png() {
    let r = with_checks();
    let Some(fonts) = fonts(Lang::En) else {
        return;
    };
    let figs = swarmlab_report::pdf::render_figures(&r, Lang::En, &fonts).unwrap();
    let names: Vec<&str> = figs.iter().map(|(n, _)| n.as_str()).collect();
    let charts = swarmlab_report::html::figures(&r, Lang::En)
        .into_iter()
        .filter(|f| matches!(f, swarmlab_report::html::Fig::Chart { .. }))
        .count();
    // every chart, the results table, each design's Statistics, each checked server's check
    assert_eq!(figs.len(), charts + 1 + 2 + 2, "{names:?}");
    for n in [
        "results-table.png",
        "mine-statistics.png",
        "mine-check.png",
        "mine-rps.png",
        "joined-users.png",
    ] {
        assert!(names.contains(&n), "{n} not in {names:?}");
    }
    for (name, png) in &figs {
        assert!(png.starts_with(b"\x89PNG"), "{name}");
    }
}

/// `--repeat 3`: two designs with three trials each, overlapping.
fn with_trials() -> Results {
    let mut r = with_checks();
    for (m, peaks) in r
        .rows
        .iter_mut()
        .zip([[640.0, 650.0, 700.0], [600.0, 640.0, 660.0]])
    {
        if let Outcome::Ran { client, .. } = &mut m.outcome {
            client.trials = peaks
                .iter()
                .map(|&p| swarmlab_report::Trial {
                    requests: (p * 11.0) as u64,
                    failures: client.failures,
                    before_first_failure: client.before_first_failure,
                    rps: p * 0.9,
                    peak_rps: p,
                    avg_ms: client.avg_ms,
                    p99_ms: client.p99_ms,
                    cpu_us_per_request: Some(100.0),
                })
                .collect();
        }
    }
    r
}

#[test]
fn trials_are_each_given_with_their_median_and_spread() {
    for (lang, file) in [
        (Lang::En, "report.trials.en.md"),
        (Lang::Ko, "report.trials.ko.md"),
    ] {
        golden(file, &markdown::render_markdown(&with_trials(), lang));
    }
    let md = markdown::render_markdown(&with_trials(), Lang::En);
    assert!(md.contains("## Trials"), "{md}");
    assert!(
        md.contains("**mine** and **joined** are within their trials' spread (640 to 700 and 600 to 660 req/s)"),
        "{md}"
    );
    assert!(md.contains("- **mine**, trial 3: RPS was 630.0;"), "{md}");
    let back: Results = serde_json::from_str(&render_json(&with_trials())).unwrap();
    assert_eq!(back, with_trials());
}

#[test]
fn a_capacity_searched_again_gives_each_search_and_their_spread() {
    let mut r = with_capacity();
    let row = r
        .rows
        .iter_mut()
        .find_map(|m| match &mut m.outcome {
            Outcome::Ran {
                capacity: Some(c), ..
            } => Some(c),
            _ => None,
        })
        .expect("a capacity");
    row.searches = vec![96_000.0, 150_000.0, 205_000.0];
    row.spread.as_mut().unwrap().rps = 0.73;
    let md = swarmlab_report::sections::capacity_section(Lang::En, &r);
    assert!(md.contains("73 % (3 searches)"), "{md}");
    assert!(md.contains("(96,000, 150,000, 205,000)"), "{md}");
    let ko = swarmlab_report::sections::capacity_section(Lang::Ko, &r);
    assert!(
        ko.contains("(3회 탐색)") || ko.contains("3 회 탐색"),
        "{ko}"
    );
}

/// Issue 30: `--cores`' table, chart and verdict, a run whose cores others shared, and the
/// limit a server said it met, reach the Markdown, the HTML and the PDF.
#[test]
fn cores_and_shared_cores_reach_every_report() {
    use swarmlab_report::results::Sharing;
    use swarmlab_report::{CorePoint, Cores, CoresRow};
    let mut r = fixture();
    let point = |cores: usize, rps: f64, limited_by: LimitedBy| CorePoint {
        cores,
        capacity: Some(searched(&[(rps, rps, 20.0)], limited_by, 5.0, 0.05)),
        skipped: None,
    };
    r.cores = Some(Cores {
        machine_cores: 16,
        steps: vec![1, 2, 4, 8],
        generator_threads: 8,
        rows: vec![
            CoresRow {
                design: Design::Model(Model::Epoll),
                points: vec![
                    point(1, 127_000.0, LimitedBy::Server),
                    point(2, 250_000.0, LimitedBy::Server),
                    point(4, 490_000.0, LimitedBy::Server),
                    point(8, 1_000_000.0, LimitedBy::Generator),
                ],
            },
            CoresRow {
                design: Design::Model(Model::Select),
                points: vec![
                    point(1, 90_000.0, LimitedBy::Server),
                    point(2, 91_000.0, LimitedBy::Server),
                    point(4, 90_500.0, LimitedBy::Server),
                    point(8, 91_500.0, LimitedBy::Server),
                ],
            },
        ],
    });
    for row in &mut r.rows {
        if let Outcome::Ran {
            server: Some(s), ..
        } = &mut row.outcome
        {
            s.others = Some(Sharing {
                server_cores_pct: 48.0,
                generator_core_pct: 3.0,
            });
            s.limits = vec!["accept: Too many open files (os error 24)".into()];
            break;
        }
    }
    let md = markdown::render_markdown(&r, Lang::En);
    for needle in [
        "## Capacity against cores",
        "| epoll | 127,000 | 250,000 | 490,000 | ≥ 1,000,000 | 7.9 |",
        "**Turn cores into throughput**",
        "**select** ×1.0 (is one thread by design)",
        "**This ranking is not to be trusted:**",
        "Not this design's alone: while it ran, processes outside the run took 48 % of the server's cores",
        "It met a limit of its own: \"accept: Too many open files (os error 24)\". Connections past it waited in the listen backlog",
    ] {
        assert!(md.contains(needle), "no '{needle}' in:\n{md}");
    }
    assert!(markdown::render_markdown(&r, Lang::Ko).contains("## 코어 수에 따른 수용량"));
    assert!(markdown::render_markdown(&r, Lang::Ko).contains("서버가 자신의 한계에 닿았다"));
    let page = html::render_html(&r, Lang::En);
    assert!(page.contains("Capacity against cores") && page.contains("<svg"));
    assert!(page.contains("It met a limit of its own"));
    let Some(fonts) = fonts(Lang::En) else {
        return;
    };
    let pdf = swarmlab_report::pdf::render_pdf(&r, Lang::En, &fonts).unwrap();
    let dir = std::env::temp_dir().join(format!("swarmlab-cores-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("report.pdf");
    std::fs::write(&path, &pdf).unwrap();
    if poppler("pdftotext").is_some() {
        let out = std::process::Command::new("pdftotext")
            .args(["-enc", "UTF-8"])
            .arg(&path)
            .arg("-")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).replace('\n', " ");
        for needle in [
            "Capacity against cores",
            "not to be trusted",
            "It met a limit of its own",
        ] {
            assert!(text.contains(needle), "no '{needle}' in the PDF");
        }
    }
    if std::env::var_os("SWARMLAB_KEEP_PDF").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        eprintln!("kept {}", path.display());
    }
}

/// Issue 31: `--experiment head-of-line`'s table, verdict (the mechanism with the figures) and
/// charts reach the Markdown (English and Korean), the HTML and the PDF.
#[test]
fn head_of_line_reaches_every_report() {
    use swarmlab_report::{Experiment, HeadOfLine, HolPoint, HolRow, LongRequest};
    let point = |p99: f64, long: f64| HolPoint {
        short_p50_ms: Some(0.2),
        short_p99_ms: Some(p99),
        long_p99_ms: Some(long),
        requests: 8000,
        failures: 0,
        skipped: None,
    };
    let mut r = fixture();
    r.experiments = vec![Experiment::HeadOfLine(HeadOfLine {
        rate: 1000.0,
        connections: 50,
        long_pct: 5.0,
        seconds: 8.0,
        loads: vec![
            LongRequest::Cpu(1000),
            LongRequest::Cpu(10_000),
            LongRequest::Sleep(100),
        ],
        rows: vec![
            HolRow {
                design: Design::Model(Model::Epoll),
                workers: Some(1),
                points: vec![point(2.15, 2.4), point(30.4, 33.0), point(0.55, 101.0)],
            },
            HolRow {
                design: Design::Model(Model::Thread),
                workers: None,
                points: vec![point(2.26, 2.9), point(3.16, 14.0), point(0.47, 101.2)],
            },
            HolRow {
                design: Design::Model(Model::Pool),
                workers: None,
                points: vec![point(6.82, 8.0), point(29.9, 35.0), point(502.0, 560.0)],
            },
        ],
    })];
    let md = markdown::render_markdown(&r, Lang::En);
    for needle in [
        "## Long requests among short ones (head-of-line blocking)",
        "| epoll | 2.15 ms | 2.40 ms | 30 ms | 33 ms | 0.55 ms | 101 ms |",
        "With 5 % of the requests taking 1 ms of CPU, the short requests fared best on **epoll** (p99 2.15 ms).",
        "Held behind the long ones (short p99 at least 3× the best's and half a long request): **pool** 6.82 ms (3×). Not held: epoll 2.15 ms, thread 2.26 ms.",
        "thread: a thread or process per connection, which the kernel time-slices every few milliseconds",
        "With 5 % of the requests taking 10 ms of CPU, the short requests fared best on **thread** (p99 3.16 ms).",
        "Held behind the long ones (short p99 at least 3× the best's and half a long request): **epoll** 30 ms (10×), **pool** 30 ms (9×). Not held: thread 3.16 ms.",
        "Why: epoll: its loop runs each request to its end",
        "With 5 % waiting 100 ms, the short requests fared best on **thread** (p99 0.47 ms).",
        "Held behind the long ones (short p99 at least 3× the best's and half a long request): **pool** 502 ms (1068×). Not held: epoll 0.55 ms, thread 0.47 ms.",
        "epoll: its loop waits with a timer, not by blocking",
    ] {
        assert!(md.contains(needle), "no '{needle}' in:\n{md}");
    }
    // without pool, no design is held at 1 ms of CPU, and the verdict says so
    let mut two = r.clone();
    let Experiment::HeadOfLine(h) = &mut two.experiments[0] else {
        unreachable!("the fixture's experiment")
    };
    h.rows.truncate(2);
    let md2 = markdown::render_markdown(&two, Lang::En);
    assert!(
        md2.contains("None was held behind the long ones (short p99 at least 3× the best's and half a long request): epoll 2.15 ms, thread 2.26 ms."),
        "{md2}"
    );
    let ko = markdown::render_markdown(&r, Lang::Ko);
    assert!(
        ko.contains("## 짧은 요청 사이의 긴 요청 (head-of-line blocking)"),
        "{ko}"
    );
    assert!(ko.contains("루프가 요청 하나를 끝까지 처리하므로"), "{ko}");
    let page = html::render_html(&r, Lang::En);
    assert!(page.contains("Long requests among short ones"));
    assert!(page.contains("p99, 5 % taking 10 ms of CPU"), "the chart");
    let Some(fonts) = fonts(Lang::En) else {
        return;
    };
    let pdf = swarmlab_report::pdf::render_pdf(&r, Lang::En, &fonts).unwrap();
    let dir = std::env::temp_dir().join(format!("swarmlab-hol-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("report.pdf");
    std::fs::write(&path, &pdf).unwrap();
    if poppler("pdftotext").is_some() {
        let out = std::process::Command::new("pdftotext")
            .args(["-enc", "UTF-8"])
            .arg(&path)
            .arg("-")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).replace('\n', " ");
        for needle in ["head-of-line blocking", "Held behind the long ones"] {
            assert!(text.contains(needle), "no '{needle}' in the PDF");
        }
    }
    if std::env::var_os("SWARMLAB_KEEP_PDF").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        eprintln!("kept {}", path.display());
    }
}

#[test]
fn slow_clients_reach_every_report() {
    use swarmlab_report::{Experiment, SlowClients, SlowLoad, SlowPoint, SlowRow};
    let point = |rps: f64, p99: Option<f64>| SlowPoint {
        rps,
        p99_ms: p99,
        requests: (rps * 3.0) as u64,
        failures: 0,
        skipped: None,
    };
    let mut r = fixture();
    r.experiments = vec![Experiment::SlowClients(SlowClients {
        rate: 500.0,
        connections: 20,
        slow: 16,
        seconds: 3.0,
        header_timeout_s: 10.0,
        write_timeout_s: 30.0,
        loads: vec![
            SlowLoad::None,
            SlowLoad::Headers,
            SlowLoad::Reader(32 << 20),
        ],
        rows: vec![
            SlowRow {
                design: Design::Model(Model::Pool),
                workers: Some(4),
                points: vec![
                    point(481.0, Some(4.1)),
                    point(0.0, None),
                    point(180.0, Some(900.0)),
                ],
            },
            SlowRow {
                design: Design::Model(Model::Thread),
                workers: None,
                points: vec![
                    point(476.0, Some(1.6)),
                    point(480.0, Some(1.7)),
                    point(475.0, Some(0.7)),
                ],
            },
            SlowRow {
                design: Design::Model(Model::Epoll),
                workers: None,
                points: vec![
                    point(481.0, Some(0.7)),
                    point(477.0, Some(1.0)),
                    point(480.0, Some(0.5)),
                ],
            },
        ],
    })];
    let md = markdown::render_markdown(&r, Lang::En);
    for needle in [
        "## Slow clients (slowloris, slow readers)",
        "| pool | 481 | 4.10 ms | 0 | - | 180 | 900 ms |",
        "Beside 16 slow clients that never finish their headers, of the rate each design served alone: Stopped (under 10 %): **pool 0 req/s (0 %)**. Kept serving: thread 480 req/s (101 %), epoll 477 req/s (99 %).",
        "pool: 4 workers each serve one connection at a time, and 16 slow clients hold every one of them until its header timeout (10 s)",
        "Beside 16 slow clients that never read their answers, of the rate each design served alone: Slowed (under half): **pool 180 req/s (37 %)**.",
        "epoll: the loop waits on every connection at once",
    ] {
        assert!(md.contains(needle), "no '{needle}' in:\n{md}");
    }
    let ko = markdown::render_markdown(&r, Lang::Ko);
    assert!(
        ko.contains("## 느린 클라이언트 (slowloris, 느린 수신자)"),
        "{ko}"
    );
    assert!(
        ko.contains("멈췄다 (10 % 미만): **pool 0 req/s (0 %)**"),
        "{ko}"
    );
    let page = html::render_html(&r, Lang::En);
    assert!(
        page.contains("Requests per second beside 16 slowloris clients"),
        "the chart"
    );
    let figures = html::figures(&r, Lang::En);
    let ids: Vec<&str> = figures
        .iter()
        .filter_map(|f| match f {
            html::Fig::Chart { id, .. } => Some(id.as_str()),
            _ => None,
        })
        .filter(|id| id.starts_with("experiment-"))
        .collect();
    assert_eq!(
        ids,
        [
            "experiment-slow-clients-none",
            "experiment-slow-clients-headers",
            "experiment-slow-clients-reader"
        ]
    );
    let json = swarmlab_report::render_json(&r);
    let back: swarmlab_report::Results = serde_json::from_str(&json).unwrap();
    assert_eq!(back.experiments, r.experiments);
}

#[test]
fn idle_reaches_every_report() {
    use swarmlab_report::{Experiment, Idle, IdlePoint, IdleRow};
    let point =
        |n: usize, answered: usize, rps: f64, cpu: Option<f64>, pss: f64, threads: u64| IdlePoint {
            opened: n,
            open_at_end: answered,
            answered,
            rps,
            p99_ms: Some(1.0),
            requests: (rps * 3.0) as u64,
            failures: 0,
            cpu_us_per_request: cpu,
            pss_mib: pss,
            threads,
            skipped: None,
        };
    let mut r = fixture();
    r.experiments = vec![Experiment::Idle(Idle {
        rate: 500.0,
        connections: 20,
        seconds: 3.0,
        idle_timeout_s: 30.0,
        idle: vec![0, 10_000],
        rows: vec![
            IdleRow {
                design: Design::Model(Model::Poll),
                points: vec![
                    point(0, 0, 477.0, Some(11.0), 2.9, 1),
                    point(10_000, 10_000, 398.0, Some(798.0), 9.5, 1),
                ],
            },
            IdleRow {
                design: Design::Model(Model::Epoll),
                points: vec![
                    point(0, 0, 477.0, Some(10.0), 3.1, 2),
                    point(10_000, 10_000, 476.0, Some(13.0), 9.5, 2),
                ],
            },
            IdleRow {
                design: Design::Model(Model::Thread),
                points: vec![
                    point(0, 0, 476.0, Some(19.0), 3.9, 1),
                    point(10_000, 10_000, 458.0, Some(29.0), 320.0, 10_001),
                ],
            },
            IdleRow {
                design: Design::Model(Model::Prefork),
                points: vec![
                    point(0, 0, 479.0, Some(50.0), 3.2, 2),
                    point(4_099, 4, 0.0, None, 3.1, 2),
                ],
            },
        ],
    })];
    let md = markdown::render_markdown(&r, Lang::En);
    for needle in [
        "## Idle connections (C10K)",
        "| poll | 477 | 11 | 2.9 | 1 | 10,000 | 10,000 | 398 | 798 | 9.5 | 1 |",
        "| prefork | 479 | 50 | 3.2 | 2 | 4 of 4,099 opened | 4 | 0 | - | 3.1 | 2 |",
        "Beside 10,000 idle connections: the server's CPU per request was lowest on **epoll** (13 µs).",
        "Paid for the idle ones on every wakeup (CPU per request at least 3× its own alone): **poll** 798 µs (73× its 11 µs alone, 61× epoll's).",
        "Under 3× their own alone: epoll 13 µs (10 alone), thread 29 µs (19 alone).",
        "Stopped (under 10 % of the rate alone): **prefork** 0 req/s (4 of 10,000 answered).",
        "Holding them (PSS at the end): thread 320.0 MiB (3.9 alone; 10001 threads), poll 9.5 MiB (2.9 alone; 1 thread)",
        "poll: poll(2) passes every connection's entry to the kernel",
    ] {
        assert!(md.contains(needle), "no '{needle}' in:\n{md}");
    }
    let ko = markdown::render_markdown(&r, Lang::Ko);
    assert!(ko.contains("## 유휴 연결 (C10K)"), "{ko}");
    assert!(
        ko.contains("**poll** 798 µs (혼자일 때 11 µs 의 73배, epoll 의 61배)"),
        "{ko}"
    );
    let page = html::render_html(&r, Lang::En);
    assert!(page.contains("Server CPU per request beside 10,000 idle connections"));
}

#[test]
fn pool_size_reaches_every_report() {
    use swarmlab_report::{Experiment, PoolLoad, PoolPoint, PoolRow, PoolSize};
    let point = |rps: f64, pss: f64, threads: u64| PoolPoint {
        rps,
        p99_ms: Some(10.0),
        failures: 0,
        pss_mib: pss,
        threads,
        skipped: None,
    };
    let mut r = fixture();
    r.experiments = vec![Experiment::PoolSize(PoolSize {
        connections: 300,
        seconds: 2.0,
        workers: vec![1, 4, 16, 64, 256],
        rows: vec![
            PoolRow {
                design: Design::Model(Model::Pool),
                load: PoolLoad::Sleep(1),
                points: vec![
                    point(847.0, 3.0, 2),
                    point(3271.0, 3.1, 5),
                    point(12934.0, 3.6, 17),
                    point(31225.0, 6.0, 65),
                    point(32526.0, 14.1, 257),
                ],
            },
            PoolRow {
                design: Design::Model(Model::Prefork),
                load: PoolLoad::Sleep(1),
                points: vec![
                    point(824.0, 3.1, 2),
                    point(3243.0, 3.2, 5),
                    point(12964.0, 4.0, 17),
                    point(23267.0, 8.0, 65),
                    point(19451.0, 30.4, 257),
                ],
            },
        ],
    })];
    let md = markdown::render_markdown(&r, Lang::En);
    for needle in [
        "## Pool size",
        "| pool | `/sleep?ms=1` | 847 | 10 ms | 3271 | 10 ms |",
        "**pool** under `GET /sleep?ms=1` (1 ms of waiting each): capacity rose from 847 req/s at 1 to 31225 at 64 (36.9× for 64× the workers); from 64 on it stayed within 10 % of the best (32526 req/s): more workers did not help. 256 workers held 14.1 MiB (257 threads and processes) against 3.0 MiB at 1.",
        "N workers serve at most N × 1000 req/s",
        "**prefork** under `GET /sleep?ms=1` (1 ms of waiting each): capacity rose from 824 req/s at 1 to 23267 at 64 (28.2× for 64× the workers); at 64 it came within 10 % of the best (23267 req/s); more workers did not help, and 256 lost ground (19451 req/s).",
    ] {
        assert!(md.contains(needle), "no '{needle}' in:\n{md}");
    }
    let ko = markdown::render_markdown(&r, Lang::Ko);
    assert!(ko.contains("## 풀 크기"), "{ko}");
    let figs = html::figures(&r, Lang::En);
    assert!(figs.iter().any(
        |f| matches!(f, html::Fig::Chart { id, .. } if id == "experiment-pool-size-sleep-1ms")
    ));
}

#[test]
fn overload_reaches_every_report() {
    use swarmlab_report::{Experiment, Overload, OverloadRow, OverloadWindow};
    let w = |offered: f64, rps: f64, fps: f64, p99: f64| OverloadWindow {
        offered,
        rps,
        fps,
        p50_ms: Some(p99 / 2.0),
        p99_ms: Some(p99),
        failure: (fps > 0.0).then(|| "ConnectTimeout".to_string()),
    };
    let mut r = fixture();
    r.experiments = vec![Experiment::Overload(Overload {
        path: "/cpu?us=100".into(),
        connections: 200,
        factor: 1.5,
        recovery_factor: 0.5,
        seconds: 2.0,
        rows: vec![
            OverloadRow {
                design: Design::Model(Model::Epoll),
                capacity: 8016.0,
                early: w(12024.0, 8100.0, 0.0, 349.0),
                late: w(12024.0, 8050.0, 0.0, 665.0),
                recovery: w(4008.0, 4008.0, 0.0, 0.28),
                skipped: None,
            },
            OverloadRow {
                design: Design::Model(Model::Pool),
                capacity: 5500.0,
                early: w(8250.0, 5500.0, 0.0, 340.0),
                late: w(8250.0, 5000.0, 900.0, 700.0),
                recovery: w(2750.0, 1000.0, 300.0, 900.0),
                skipped: None,
            },
            OverloadRow {
                design: Design::External("nginx".into()),
                capacity: 2000.0,
                early: w(3000.0, 2000.0, 1000.0, 1.2),
                late: w(3000.0, 2000.0, 1000.0, 1.1),
                recovery: w(1000.0, 1000.0, 0.0, 1.0),
                skipped: None,
            },
        ],
    })];
    let md = markdown::render_markdown(&r, Lang::En);
    for needle in [
        "## Overload past capacity",
        "| epoll | 8016 | 12024 | 8100, 349 ms | 8050, 665 ms | 0 | 4008 | 4008, 0.28 ms | 0 |",
        "**epoll**: capacity 8016 req/s; at 12024 offered, p99 349 ms in the first half and 665 ms in the second (growing); recovered at 4008 offered (4008 req/s, p99 0.28 ms).",
        "**pool**: capacity 5500 req/s; at 8250 offered, p99 340 ms in the first half and 700 ms in the second (growing); 900 failed/s, `ConnectTimeout`; not recovered at 2750 offered (1000 req/s, p99 900 ms, 300 failed/s).",
        "the wait grows by about 0.33 s for every second the rate is 1.5× capacity",
        "Failed fast, a bounded queue (over 1 % of the offered rate failed, and p99 did not grow): nginx. Latency grew, an unbounded queue (p99 grew, nothing failed): epoll. Latency grew and failures started: pool.",
    ] {
        assert!(md.contains(needle), "no '{needle}' in:\n{md}");
    }
    let ko = markdown::render_markdown(&r, Lang::Ko);
    assert!(ko.contains("## 용량을 넘는 과부하"), "{ko}");
    let figs = html::figures(&r, Lang::En);
    assert!(figs
        .iter()
        .any(|f| matches!(f, html::Fig::Chart { id, .. } if id == "experiment-overload")));
}

#[test]
fn network_reaches_every_report() {
    use swarmlab_report::{
        Bandwidth, Experiment, Network, NetworkMethod, NetworkPoint, NetworkRow, NoNetem,
    };
    let p = |rps: f64, p50: f64| NetworkPoint {
        rps,
        p50_ms: Some(p50),
        p99_ms: Some(p50 * 1.05),
        requests: (rps * 3.0) as u64,
        failures: 0,
        skipped: None,
    };
    let mut r = fixture();
    r.experiments = vec![Experiment::Network(Network {
        rtt_ms: 20.0,
        measured_rtt_ms: Some(20.4),
        method: NetworkMethod::Relay,
        method_why: Some(NoNetem::NotInKernel {
            tc: "Specified qdisc kind is unknown".into(),
        }),
        bandwidth: Bandwidth::Shaped {
            mbit: 100.0,
            measured_mbit: Some(95.2),
        },
        rate: 500.0,
        connections: 50,
        seconds: 3.0,
        rows: vec![
            NetworkRow {
                design: Design::Model(Model::Single),
                workers: None,
                direct: p(488.0, 2.71),
                delayed: p(48.0, 1027.0),
            },
            NetworkRow {
                design: Design::Model(Model::Epoll),
                workers: None,
                direct: p(493.0, 0.21),
                delayed: p(493.0, 21.3),
            },
            NetworkRow {
                design: Design::Model(Model::Pool),
                workers: Some(2),
                direct: p(491.0, 2.76),
                delayed: p(96.0, 500.0),
            },
            NetworkRow {
                design: Design::Model(Model::Thread),
                workers: None,
                direct: p(490.0, 0.3),
                delayed: p(200.0, 180.0),
            },
        ],
    })];
    let md = markdown::render_markdown(&r, Lang::En);
    for needle in [
        "## A network between clients and server (a round trip)",
        "Measured through it: a request and its answer on an open connection took 20 ms.",
        "(this kernel has no netem qdisc; tc said: Specified qdisc kind is unknown). Nothing is lost or reordered: packet loss needs the kernel's `netem`. The clients reach the relay across a veth pair into a network namespace made for the run, each end limited to 100 Mbit/s by `tbf` (95 Mbit/s measured across it before the loads).",
        "| single | 488 | 2.71 ms | 48 | 1027 ms | 1078 ms |",
        "| pool (2 workers) | 491 | 2.76 ms | 96 | 500 ms | 525 ms |",
        "Paid the round trip on every request: **single 48 req/s** (488 straight: 0.96 requests per round trip; median 1027 ms), **pool 96 req/s** (491 straight: 0.96 requests per round trip by each of 2 workers; median 500 ms).",
        "Carried it (within 10 % of straight): epoll 493 req/s (493 straight; median 21 ms).",
        "a worker serves at most one request per 20 ms (50 req/s)",
        "Fell short of straight, with more than one request per round trip: **thread 200 req/s** (490 straight: 4.00 requests per round trip; median 180 ms).",
        "thread: it holds no worker for a client's round trip; what held it is the link's 100.0 Mbit/s each way",
    ] {
        assert!(md.contains(needle), "no '{needle}' in:\n{md}");
    }
    let ko = markdown::render_markdown(&r, Lang::Ko);
    assert!(
        ko.contains("## 클라이언트와 서버 사이의 네트워크 (왕복 지연)"),
        "{ko}"
    );
    assert!(
        ko.contains("요청마다 왕복 지연을 치렀다: **single 48 req/s**"),
        "{ko}"
    );
    assert!(
        ko.contains("(이 커널에는 netem qdisc 가 없다. tc 의 말: Specified qdisc kind is unknown)")
            && ko.contains("`tbf` 로 100 Mbit/s 로 제한했다 (부하 전에 건너서 잰 값 95 Mbit/s)"),
        "{ko}"
    );
    let figs = html::figures(&r, Lang::En);
    assert!(figs
        .iter()
        .any(|f| matches!(f, html::Fig::Chart { id, .. } if id == "experiment-network")));
    // where the kernel has netem, it makes the round trip and the rate, and no reason is given
    let mut n = r.clone();
    if let Experiment::Network(x) = &mut n.experiments[0] {
        x.method = NetworkMethod::Netem;
        x.method_why = None;
    }
    let md = markdown::render_markdown(&n, Lang::En);
    for needle in [
        "The round trip is the kernel's `netem`: the clients reach the server through a veth pair into a network namespace made for the run, each end of which delays every packet by 10 ms,",
        "each end limited to 100 Mbit/s by `netem`'s rate (95 Mbit/s measured across it before the loads).",
    ] {
        assert!(md.contains(needle), "no '{needle}' in:\n{md}");
    }
    assert!(!md.contains("delay relay"), "{md}");
    let json = swarmlab_report::render_json(&r);
    assert!(
        json.contains("\"kind\": \"network\"") && json.contains("\"method\": \"relay\""),
        "{json}"
    );
}
