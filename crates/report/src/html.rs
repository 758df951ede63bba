//! `index.html`: one self-contained page (inline CSS and SVG, no network loads): the Markdown
//! report's tables and text, comparison bars, a latency-vs-throughput curve, and Locust's three
//! charts for every model.

use std::fmt::Write;

use crate::chart::{bar_chart, line_chart, xy_chart, Bar, Line, Styled};
use crate::lang::Lang;
use crate::markdown::render_markdown;
use crate::results::Results;

/// The HTML report.
pub fn render_html(r: &Results, lang: Lang) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><title>swarmlab compare</title><style>{CSS}</style></head><body>",
        lang.pick("en", "ko")
    );
    h.push_str(&markdown_to_html(&render_markdown(r, lang)));
    for f in figures(r, lang) {
        match f {
            Fig::H2(t) => {
                let _ = write!(h, "<h2>{t}</h2>");
            }
            Fig::H3(t) => {
                let _ = write!(h, "<h3>{}</h3>", escape(&t));
            }
            Fig::Chart { svg, .. } => {
                let _ = write!(h, "<figure>{svg}</figure>");
            }
        }
    }
    h.push_str("</body></html>\n");
    h
}

/// One piece of the report's figures, in order: a heading, or a chart.
#[derive(Clone, Debug)]
pub enum Fig {
    /// A section's heading.
    H2(String),
    /// A design's heading (its name).
    H3(String),
    /// A chart: an id (its file's name, `figures/ID.png`) and its SVG.
    Chart {
        /// Letters, digits and '-'.
        id: String,
        /// The chart.
        svg: String,
    },
}

fn chart(out: &mut Vec<Fig>, id: &str, svg: String) {
    out.push(Fig::Chart {
        id: id.to_string(),
        svg,
    });
}

/// Every chart of the report with the headings between them, in the page's order: the
/// comparison bars, capacity, scaling, the other workloads, latency against throughput, and
/// Locust's three charts per design.
pub fn figures(r: &Results, lang: Lang) -> Vec<Fig> {
    let ranked = r.ranking();
    let mut out = Vec::new();
    comparison_bars(&mut out, &ranked, lang);
    capacity_charts(&mut out, r, lang);
    scaling_charts(&mut out, r, lang);
    cores_chart(&mut out, r, lang);
    experiment_charts(&mut out, r, lang);
    workload_bars(&mut out, r, lang);
    latency_curve(&mut out, &ranked, lang);
    per_model_charts(&mut out, &ranked, lang);
    out
}

/// Locust's three charts for one design's run (requests per second, response times, users),
/// as (id suffix, SVG).
pub fn locust_charts(c: &crate::Client, lang: Lang) -> [(&'static str, String); 3] {
    let series = |f: fn(&crate::Sample) -> Option<f64>| -> Vec<(f64, f64)> {
        c.timeline
            .iter()
            .filter_map(|t| Some((t.t, f(t)?)))
            .collect()
    };
    [
        (
            "rps",
            line_chart(
                lang.pick("Total requests per second", "초당 전체 요청 수"),
                lang.pick("seconds", "초"),
                "req/s",
                &[Line {
                    label: "RPS",
                    points: series(|t| Some(t.rps)),
                }],
            ),
        ),
        (
            "response-times",
            line_chart(
                lang.pick("Response times (ms)", "응답 시간(ms)"),
                lang.pick("seconds", "초"),
                "ms",
                &[
                    Line {
                        label: lang.pick("50th percentile", "50번째 백분위수"),
                        points: series(|t| t.p50_ms),
                    },
                    Line {
                        label: lang.pick("95th percentile", "95번째 백분위수"),
                        points: series(|t| t.p95_ms),
                    },
                ],
            ),
        ),
        (
            "users",
            line_chart(
                lang.pick("Number of users", "사용자 수"),
                lang.pick("seconds", "초"),
                lang.pick("users", "사용자"),
                &[Line {
                    label: lang.pick("Users", "사용자"),
                    points: series(|t| Some(t.users as f64)),
                }],
            ),
        ),
    ]
}

/// The ran rows, best first, with what their clients saw and their server cost.
type Ranked<'a> = [(
    &'a crate::ModelResult,
    &'a crate::Client,
    Option<&'a crate::Server>,
)];

/// The assignment's run side by side: peak RPS, average response time, requests until the
/// first failure, server CPU per request, server memory.
fn comparison_bars(out: &mut Vec<Fig>, ranked: &Ranked<'_>, lang: Lang) {
    let bars = |f: fn(&crate::Client, Option<&crate::Server>) -> Option<f64>| -> Vec<Bar> {
        ranked
            .iter()
            .filter_map(|(m, c, s)| Some(Bar::new(m.design.name().to_string(), f(c, *s)?)))
            .collect()
    };
    // A model that never failed shows all its requests as a lower bound, and the title says so.
    let until_failure: Vec<Bar> = ranked
        .iter()
        .map(|(m, c, _)| match c.before_first_failure {
            Some(n) => Bar::new(m.design.name().to_string(), n as f64),
            None => Bar {
                label: m.design.name().to_string(),
                value: c.requests as f64,
                at_least: true,
            },
        })
        .collect();
    out.push(Fig::H2(lang.pick("Comparison", "비교").into()));
    for (id, title, unit, data) in [
        (
            "comparison-peak-rps",
            lang.pick("Peak RPS (best 10 s)", "최고 RPS(10초)"),
            "req/s",
            bars(|c, _| Some(c.peak_rps)),
        ),
        (
            "comparison-average-ms",
            lang.pick("Average response time", "평균 응답시간"),
            "ms",
            bars(|c, _| Some(c.avg_ms)),
        ),
        (
            "comparison-until-failure",
            lang.pick(
                "Requests until the first failure (≥: none failed, all requests)",
                "첫 실패까지 요청 수 (≥: 실패 없음, 전체 요청 수)",
            ),
            lang.pick("requests", "요청"),
            until_failure,
        ),
        (
            "comparison-cpu",
            lang.pick("Server CPU per request", "요청당 서버 CPU"),
            "µs",
            bars(|_, s| Some(s?.cpu_us_per_request)),
        ),
        (
            "comparison-memory",
            lang.pick("Server peak memory (PSS)", "서버 최대 메모리(PSS)"),
            "MiB",
            bars(|_, s| Some(s?.peak_pss_mib)),
        ),
    ] {
        if !data.is_empty() {
            chart(out, id, bar_chart(title, unit, &data));
        }
    }
}

/// Latency against throughput, every model's 10-second windows.
fn latency_curve(out: &mut Vec<Fig>, ranked: &Ranked<'_>, lang: Lang) {
    let curve: Vec<Line<'_>> = ranked
        .iter()
        .map(|(m, c, _)| Line {
            label: m.design.name(),
            points: c
                .timeline
                .iter()
                .filter_map(|t| Some((t.rps, t.p95_ms?)))
                .filter(|p| p.0 > 0.0)
                .collect(),
        })
        .collect();
    // a run too short for a window has no point to draw: no empty axes in the report
    if curve.iter().all(|l| l.points.is_empty()) {
        return;
    }
    chart(
        out,
        "latency-against-throughput",
        line_chart(
            lang.pick(
                "Latency against throughput (10 s windows)",
                "처리량 대비 지연(10초 구간)",
            ),
            "req/s",
            "p95 ms",
            &curve,
        ),
    );
}

/// Locust's three charts (requests per second, response times, users) for every model.
fn per_model_charts(out: &mut Vec<Fig>, ranked: &Ranked<'_>, lang: Lang) {
    out.push(Fig::H2(
        lang.pick("Each model over time", "모델별 시간 추이").into(),
    ));
    for (m, c, _) in ranked {
        out.push(Fig::H3(m.design.name().to_string()));
        for (suffix, svg) in locust_charts(c, lang) {
            chart(out, &format!("{}-{suffix}", m.design.name()), svg);
        }
    }
}

/// The capacity bars, and every search's curves (the baseline's dashed beside them).
fn capacity_charts(out: &mut Vec<Fig>, r: &Results, lang: Lang) {
    let ranked = r.by_capacity();
    let (false, Some(slo)) = (ranked.is_empty(), r.settings.slo_p99_ms) else {
        return;
    };
    let slo = crate::lang::ms(slo);
    out.push(Fig::H2(lang.pick("Capacity", "수용량").into()));
    let capacity_bars: Vec<Bar> = ranked
        .iter()
        .map(|(m, c)| Bar {
            label: m.design.name().to_string(),
            value: c.rps,
            at_least: c.limited_by == crate::LimitedBy::Generator,
        })
        .collect();
    chart(
        out,
        "capacity",
        bar_chart(
            &match lang {
                Lang::En => {
                    format!("Capacity: req/s sustained with p99 ≤ {slo} ms (≥: a lower bound)")
                }
                Lang::Ko => format!("수용량: p99 ≤ {slo}ms로 유지한 req/s (≥: 하한값)"),
            },
            "req/s",
            &capacity_bars,
        ),
    );
    // Every step of every search, sorted by the rate offered; the baseline's dashed.
    let mut achieved = Vec::new();
    let mut p99 = Vec::new();
    for (i, (m, c)) in ranked.iter().enumerate() {
        let mut steps = c.curve.clone();
        steps.sort_by(|a, b| a.offered.total_cmp(&b.offered));
        achieved.push(Styled {
            label: m.design.name().to_string(),
            points: steps.iter().map(|s| (s.offered, s.achieved)).collect(),
            color: i,
            dashed: false,
        });
        p99.push(Styled {
            label: m.design.name().to_string(),
            points: steps.iter().map(|s| (s.offered, s.p99_ms)).collect(),
            color: i,
            dashed: false,
        });
        if let Some((_, old)) = r
            .baseline
            .as_ref()
            .and_then(|b| b.rows.iter().find(|(n, _)| *n == m.design))
        {
            let mut steps = old.curve.clone();
            steps.sort_by(|a, b| a.offered.total_cmp(&b.offered));
            let label = format!("{} ({})", m.design, lang.pick("baseline", "기준"));
            achieved.push(Styled {
                label: label.clone(),
                points: steps.iter().map(|s| (s.offered, s.achieved)).collect(),
                color: i,
                dashed: true,
            });
            p99.push(Styled {
                label,
                points: steps.iter().map(|s| (s.offered, s.p99_ms)).collect(),
                color: i,
                dashed: true,
            });
        }
    }
    chart(
        out,
        "capacity-achieved",
        xy_chart(
            lang.pick(
                "Achieved against offered (each step of the search)",
                "제시한 요청률 대비 처리한 요청률(탐색의 각 단계)",
            ),
            lang.pick("offered req/s", "제시 req/s"),
            lang.pick("achieved req/s", "처리 req/s"),
            &achieved,
            true,
            true,
        ),
    );
    chart(
        out,
        "capacity-p99",
        xy_chart(
            &match lang {
                Lang::En => format!("p99 against offered (the objective: {slo} ms)"),
                Lang::Ko => format!("제시한 요청률 대비 p99(목표: {slo}ms)"),
            },
            lang.pick("offered req/s", "제시 req/s"),
            "p99 ms",
            &p99,
            true,
            true,
        ),
    );
}

/// `--experiment`: a chart per experiment and load.
fn experiment_charts(out: &mut Vec<Fig>, r: &Results, lang: Lang) {
    if !r.experiments.is_empty() {
        // under their own heading, not the capacity's charts before them
        out.push(Fig::H2(lang.pick("Experiments", "실험").to_string()));
    }
    for e in &r.experiments {
        match e {
            crate::results::Experiment::SlowClients(x) => {
                for (i, load) in x.loads.iter().enumerate() {
                    let bars: Vec<Bar> = crate::sections::slow_bars(x, i)
                        .into_iter()
                        .map(|(label, v)| Bar::new(label, v))
                        .collect();
                    if bars.is_empty() {
                        continue;
                    }
                    let id = match load {
                        crate::results::SlowLoad::None => "experiment-slow-clients-none",
                        crate::results::SlowLoad::Headers => "experiment-slow-clients-headers",
                        crate::results::SlowLoad::Reader(_) => "experiment-slow-clients-reader",
                    };
                    let title = crate::sections::slow_chart_title(lang, x, i);
                    chart(out, id, bar_chart(&title, "req/s", &bars));
                }
            }
            crate::results::Experiment::Idle(x) => {
                for (i, n) in x.idle.iter().enumerate() {
                    let bars: Vec<Bar> = crate::sections::idle_bars(x, i)
                        .into_iter()
                        .map(|(label, v)| Bar::new(label, v))
                        .collect();
                    if bars.is_empty() {
                        continue;
                    }
                    let title = crate::sections::idle_chart_title(lang, x, i);
                    chart(
                        out,
                        &format!("experiment-idle-{n}"),
                        bar_chart(&title, "µs", &bars),
                    );
                }
            }
            crate::results::Experiment::Network(x) => {
                let bars: Vec<Bar> = crate::sections::network_bars(x)
                    .into_iter()
                    .map(|(label, v)| Bar::new(label, v))
                    .collect();
                if !bars.is_empty() {
                    let title = crate::sections::network_chart_title(lang, x);
                    chart(out, "experiment-network", bar_chart(&title, "req/s", &bars));
                }
            }
            crate::results::Experiment::Overload(x) => {
                let bars: Vec<Bar> = crate::sections::overload_bars(x)
                    .into_iter()
                    .map(|(label, v)| Bar::new(label, v))
                    .collect();
                if !bars.is_empty() {
                    let title =
                        lang.pick("p99 in the overload's second half", "과부하 뒤 절반의 p99");
                    chart(
                        out,
                        "experiment-overload",
                        bar_chart(title, "p99 ms", &bars),
                    );
                }
            }
            crate::results::Experiment::PoolSize(x) => {
                for (title, load, lines) in crate::sections::pool_lines(lang, x) {
                    let styled: Vec<Styled> = lines
                        .into_iter()
                        .enumerate()
                        .map(|(i, (label, points))| Styled {
                            label,
                            points,
                            color: i,
                            dashed: false,
                        })
                        .collect();
                    let id = match load {
                        crate::results::PoolLoad::Hello => "experiment-pool-size-hello".to_string(),
                        crate::results::PoolLoad::Sleep(ms) => {
                            format!("experiment-pool-size-sleep-{ms}ms")
                        }
                    };
                    chart(
                        out,
                        &id,
                        xy_chart(
                            &title,
                            lang.pick("workers", "워커"),
                            "req/s",
                            &styled,
                            true,
                            false,
                        ),
                    );
                }
            }
            crate::results::Experiment::HeadOfLine(h) => {
                for (i, load) in h.loads.iter().enumerate() {
                    let bars: Vec<Bar> = crate::sections::hol_bars(h, i)
                        .into_iter()
                        .map(|(label, v)| Bar::new(label, v))
                        .collect();
                    if bars.is_empty() {
                        continue;
                    }
                    let id = match load {
                        crate::results::LongRequest::Cpu(us) => {
                            format!("experiment-head-of-line-cpu-{us}us")
                        }
                        crate::results::LongRequest::Sleep(ms) => {
                            format!("experiment-head-of-line-sleep-{ms}ms")
                        }
                    };
                    let title = crate::sections::hol_chart_title(lang, h, i);
                    chart(out, &id, bar_chart(&title, "p99 ms", &bars));
                }
            }
        }
    }
}

/// `--cores`: capacity against the server's cores, a line per design.
fn cores_chart(out: &mut Vec<Fig>, r: &Results, lang: Lang) {
    let Some(c) = r.cores.as_ref().filter(|c| c.steps.len() >= 2) else {
        return;
    };
    let lines: Vec<Styled> = c
        .rows
        .iter()
        .enumerate()
        .map(|(i, row)| Styled {
            label: row.design.name().to_string(),
            points: row
                .points
                .iter()
                .filter_map(|p| Some((p.cores as f64, p.capacity.as_ref()?.rps)))
                .collect(),
            color: i,
            dashed: false,
        })
        .collect();
    chart(
        out,
        "cores-capacity",
        xy_chart(
            lang.pick("Capacity against cores", "코어 수에 따른 수용량"),
            lang.pick("server cores", "서버 코어 수"),
            "req/s",
            &lines,
            false,
            false,
        ),
    );
}

/// `--scaling`: capacity, memory and CPU per request against connections.
fn scaling_charts(out: &mut Vec<Fig>, r: &Results, lang: Lang) {
    let scaled: Vec<_> = r
        .rows
        .iter()
        .filter_map(|m| match &m.outcome {
            crate::Outcome::Ran { scaling, .. } if !scaling.is_empty() => Some((m, scaling)),
            _ => None,
        })
        .collect();
    if !scaled.is_empty() {
        let line = |f: fn(&crate::ScalePoint) -> Option<f64>| -> Vec<Styled> {
            scaled
                .iter()
                .enumerate()
                .map(|(i, (m, pts))| Styled {
                    label: m.design.name().to_string(),
                    points: pts
                        .iter()
                        .filter_map(|p| Some((p.connections as f64, f(p)?)))
                        .collect(),
                    color: i,
                    dashed: false,
                })
                .collect()
        };
        let conns = lang.pick("connections", "연결 수");
        for (id, title, unit, lines) in [
            (
                "scaling-capacity",
                lang.pick("Capacity against connections", "연결 수에 따른 수용량"),
                "req/s",
                line(|p| Some(p.capacity.rps)),
            ),
            (
                "scaling-memory",
                lang.pick(
                    "Server memory (PSS) against connections",
                    "연결 수에 따른 서버 메모리(PSS)",
                ),
                "MiB",
                line(|p| Some(p.pss_mib)),
            ),
            (
                "scaling-cpu",
                lang.pick(
                    "Server CPU per request at capacity, against connections",
                    "연결 수에 따른 수용량에서의 요청당 서버 CPU",
                ),
                "µs",
                line(|p| p.capacity.cpu_us_per_request),
            ),
        ] {
            chart(out, id, xy_chart(title, conns, unit, &lines, true, true));
        }
    }
}

/// `--workload all`: a capacity bar chart per other workload.
fn workload_bars(out: &mut Vec<Fig>, r: &Results, lang: Lang) {
    for w in &r.workloads {
        let mut data: Vec<Bar> = w
            .rows
            .iter()
            .filter_map(|row| {
                let c = row.capacity.as_ref()?;
                Some(Bar {
                    label: row.design.name().to_string(),
                    value: c.rps,
                    at_least: c.limited_by == crate::LimitedBy::Generator,
                })
            })
            .collect();
        data.sort_by(|a, b| b.value.total_cmp(&a.value));
        if !data.is_empty() {
            chart(
                out,
                &format!("workload-{}", w.workload),
                bar_chart(
                    &match lang {
                        Lang::En => format!(
                            "{}: capacity with p99 ≤ {} ms",
                            w.workload,
                            crate::lang::ms(w.slo_p99_ms)
                        ),
                        Lang::Ko => format!(
                            "{}: p99 ≤ {}ms 수용량",
                            w.workload,
                            crate::lang::ms(w.slo_p99_ms)
                        ),
                    },
                    "req/s",
                    &data,
                ),
            );
        }
    }
}

/// Just enough Markdown for our own report: headings, tables, lists, paragraphs, bold, code.
fn markdown_to_html(md: &str) -> String {
    let mut h = String::new();
    let mut in_table = false;
    let mut in_list = false;
    for line in md.lines() {
        if in_table && !line.starts_with('|') {
            h.push_str("</table>");
            in_table = false;
        }
        if in_list && !line.starts_with("- ") {
            h.push_str("</ul>");
            in_list = false;
        }
        if let Some(t) = line.strip_prefix("### ") {
            let _ = write!(h, "<h3>{}</h3>", inline(t));
        } else if let Some(t) = line.strip_prefix("## ") {
            let _ = write!(h, "<h2>{}</h2>", inline(t));
        } else if let Some(t) = line.strip_prefix("# ") {
            let _ = write!(h, "<h1>{}</h1>", inline(t));
        } else if line.starts_with("|---") {
        } else if line.starts_with('|') {
            let tag = if in_table { "td" } else { "th" };
            if !in_table {
                h.push_str("<table>");
                in_table = true;
            }
            h.push_str("<tr>");
            for cell in line.trim_matches('|').split('|') {
                let _ = write!(h, "<{tag}>{}</{tag}>", inline(cell.trim()));
            }
            h.push_str("</tr>");
        } else if let Some(t) = line.strip_prefix("- ") {
            if !in_list {
                h.push_str("<ul>");
                in_list = true;
            }
            let _ = write!(h, "<li>{}</li>", inline(t));
        } else if !line.trim().is_empty() {
            let _ = write!(h, "<p>{}</p>", inline(line));
        }
    }
    if in_table {
        h.push_str("</table>");
    }
    if in_list {
        h.push_str("</ul>");
    }
    h
}

/// `**bold**` and `` `code` `` inside escaped text.
fn inline(s: &str) -> String {
    let mut out = String::new();
    let (mut bold, mut code) = (false, false);
    let text = escape(s);
    let mut rest = text.as_str();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("**") {
            out.push_str(if bold { "</b>" } else { "<b>" });
            bold = !bold;
            rest = r;
        } else if let Some(r) = rest.strip_prefix('`') {
            out.push_str(if code { "</code>" } else { "<code>" });
            code = !code;
            rest = r;
        } else {
            let c = rest.chars().next().expect("non-empty");
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// What in `page` would make a browser fetch something from the network (empty: none).
pub fn network_loads(page: &str) -> Vec<&'static str> {
    [
        "src=\"http",
        "href=\"http",
        "<link",
        "@import",
        "url(http",
        "<script",
    ]
    .into_iter()
    .filter(|needle| page.contains(needle))
    .collect()
}

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}\
table{border-collapse:collapse;margin:1em 0;font-size:13px}th,td{border:1px solid #ccc;padding:3px 6px;text-align:right}\
th{background:#f3f3f3}td:nth-child(2){text-align:left}figure{margin:1em 0}code{background:#f5f5f5}";
