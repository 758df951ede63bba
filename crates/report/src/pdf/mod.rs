//! `report.pdf` and `figures/*.png`: the report a student hands in. A4, English or Korean: the
//! question, the setup and the command that reproduces it, then per server the assignment's
//! sentence, a Statistics table laid out as Locust's Statistics tab, Locust's three charts
//! and the check's findings; then the comparison, capacity, and the verdict with its reasons.
//!
//! Pages are SVG (laid out in [`layout`]), drawn into the PDF by krilla-svg with their text
//! kept as text (so it can be selected, searched and extracted), and into PNGs by resvg. The
//! same results and fonts give the same bytes.

pub mod fonts;
pub mod layout;

use std::sync::Arc;

use krilla::geom::Size;
use krilla::page::PageSettings;
use krilla::Document;
use krilla_svg::{SurfaceExt, SvgSettings};

pub use fonts::Fonts;
use layout::{Block, Table};

use crate::analysis::{assignment_sentence, verdict};
use crate::check::{Check, Severity};
use crate::html::{figures, locust_charts, Fig};
use crate::lang::{int, ms, Lang};
use crate::results::{Client, Outcome, Results, Server};
use crate::sections;

/// The report as PDF bytes.
pub fn render_pdf(r: &Results, lang: Lang, fonts: &Fonts) -> Result<Vec<u8>, String> {
    let footer = match lang {
        Lang::En => format!("swarmlab compare, {}", r.settings.started),
        Lang::Ko => format!("swarmlab compare, {}", r.settings.started),
    };
    let pages = layout::pages(&blocks(r, lang), fonts, &footer);
    let mut doc = Document::new();
    for svg in &pages {
        let tree = tree(svg, fonts)?;
        let size = Size::from_wh(layout::PAGE_W, layout::PAGE_H).expect("A4");
        let mut page = doc.start_page_with(PageSettings::new(size));
        let mut surface = page.surface();
        surface.draw_svg(&tree, size, SvgSettings::default());
        surface.finish();
        page.finish();
    }
    doc.finish()
        .map_err(|e| format!("cannot write the PDF: {e:?}"))
}

/// Every chart and table of the report as a PNG (twice the size in points, for print):
/// (file name, bytes), in the report's order.
pub fn render_figures(
    r: &Results,
    lang: Lang,
    fonts: &Fonts,
) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut out = Vec::new();
    for (name, svg) in figure_svgs(r, lang, fonts) {
        out.push((format!("{name}.png"), png(&svg, fonts)?));
    }
    Ok(out)
}

/// The figures as SVG: every chart, and the tables (the results, capacity, each design's
/// Statistics and check).
pub fn figure_svgs(r: &Results, lang: Lang, fonts: &Fonts) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = figures(r, lang)
        .into_iter()
        .filter_map(|f| match f {
            Fig::Chart { id, svg } => Some((id, svg)),
            _ => None,
        })
        .collect();
    let mut table = |name: String, t: Table| {
        if !t.rows.is_empty() {
            out.push((name, layout::standalone(&Block::Table(t), fonts, 900.0)));
        }
    };
    table("results-table".into(), results_table(r, lang));
    if let Some(t) = capacity_table(r, lang) {
        table("capacity-table".into(), t);
    }
    for m in &r.rows {
        if let Outcome::Ran { client, .. } = &m.outcome {
            table(format!("{}-statistics", m.design), statistics(client));
        }
        if let Some(c) = r.check_of(m.design.name()) {
            table(format!("{}-check", m.design), check_table(c, lang));
        }
    }
    out
}

fn tree(svg: &str, fonts: &Fonts) -> Result<usvg::Tree, String> {
    let opts = usvg::Options {
        fontdb: Arc::clone(&fonts.db),
        ..Default::default()
    };
    usvg::Tree::from_str(svg, &opts).map_err(|e| format!("cannot lay out a page: {e}"))
}

fn png(svg: &str, fonts: &Fonts) -> Result<Vec<u8>, String> {
    let tree = tree(svg, fonts)?;
    let scale = 2.0;
    let size = tree.size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(
        (size.width() * scale).ceil() as u32,
        (size.height() * scale).ceil() as u32,
    )
    .ok_or("a figure of no size")?;
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| format!("cannot encode a PNG: {e}"))
}

/// The report, block by block.
pub fn blocks(r: &Results, lang: Lang) -> Vec<Block> {
    let mut b = vec![
        Block::H1(
            lang.pick(
                "Multi-client web servers: which design holds up, and why",
                "다중 클라이언트 웹 서버: 어떤 구조가 버티는가, 그리고 왜",
            )
            .into(),
        ),
        Block::Para(
            lang.pick(
                "The question: each server is loaded as Locust loads it (users spawned at a fixed rate, each sending a request, waiting, and sending the next) until it fails or every user is up; the figures below say how many requests it served, how fast, at what cost, and which design is the most efficient and why. Measured and written by swarmlab compare.",
                "질문: 각 서버에 Locust 와 같은 부하를 건다 (사용자를 일정한 속도로 늘리고, 각 사용자는 요청을 보내고 기다렸다가 다음 요청을 보낸다). failure 가 발생하거나 모든 사용자가 올라갈 때까지 진행하고, 아래의 수치로 몇 번의 요청을 얼마나 빨리, 어떤 비용으로 처리했는지, 어떤 설계가 가장 효율적인지와 그 이유를 말한다. swarmlab compare 가 측정하고 작성했다.",
            )
            .into(),
        ),
        Block::H2(lang.pick("Setup", "실험 환경").into()),
    ];
    let mut setup = String::new();
    crate::markdown::setup(&mut setup, r, lang);
    let mut items: Vec<String> = setup
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(plain)
        .collect();
    if !r.settings.command.is_empty() {
        items.push(format!(
            "{} {}",
            lang.pick("To reproduce:", "재현 명령:"),
            r.settings.command
        ));
    }
    b.push(Block::Bullets(items));
    for (i, m) in r.rows.iter().enumerate() {
        let name = m.design.name();
        let yours = r.check_of(name).is_some();
        // the first server follows the setup on the first page (it was three-quarters empty)
        if i > 0 {
            b.push(Block::PageBreak);
        }
        b.push(Block::H2(if yours {
            format!("{name} ({})", lang.pick("your server", "직접 작성한 서버"))
        } else {
            name.to_string()
        }));
        let (client, server) = match &m.outcome {
            Outcome::Ran { client, server, .. } => (client, server.as_ref()),
            Outcome::Skipped { reason } => {
                b.push(Block::Para(format!(
                    "{} {reason}",
                    lang.pick("It did not run:", "실행되지 않았다:")
                )));
                continue;
            }
        };
        b.push(Block::Quote(assignment_sentence(lang, client)));
        for note in crate::analysis::row_notes(lang, server) {
            b.push(Block::Para(note));
        }
        b.push(Block::H3(
            lang.pick("Statistics", "Statistics (통계)").into(),
        ));
        b.push(Block::Table(statistics(client)));
        // the sentence's RPS and the table's Current RPS are different figures
        b.push(Block::Para(
            lang.pick(
                "RPS in the sentence above is the run's requests over its length. Current RPS in the table is Locust's own column: the requests of a few seconds before the run ended (a lagged window, so it can read lower, or 0 at a run's last seconds).",
                "위 문장의 RPS 는 실행 전체의 요청 수를 실행 시간으로 나눈 값이다. 표의 Current RPS 는 Locust 의 열 그대로, 실행이 끝나기 몇 초 전의 요청 수다 (늦게 따라오는 창이라 더 낮거나, 실행 마지막 몇 초에는 0 일 수 있다).",
            )
            .into(),
        ));
        b.push(Block::H3(lang.pick("Charts", "Charts (차트)").into()));
        if client.timeline.len() < 2 {
            b.push(Block::Para(
                lang.pick(
                    "The run ended within its first seconds (at its first failure): too short for Locust's charts, which plot one point a second.",
                    "실행이 처음 몇 초 안에 (첫 failure 에서) 끝났다: 초마다 한 점을 찍는 Locust 의 차트를 그리기에는 너무 짧다.",
                )
                .into(),
            ));
        } else {
            for (_, svg) in locust_charts(client, lang) {
                b.push(Block::Chart(svg));
            }
        }
        if let Some(c) = r.check_of(name) {
            b.push(Block::H3(format!(
                "{} ({})",
                lang.pick("Check", "검사"),
                crate::check::summary(c, lang)
            )));
            b.push(Block::Bullets(check_items(c, lang)));
        }
    }
    b.push(Block::PageBreak);
    b.push(Block::H2(lang.pick("Comparison", "비교").into()));
    b.push(Block::Table(results_table(r, lang)));
    let figs = figures(r, lang);
    let charts = |prefix: &str| -> Vec<Block> {
        figs.iter()
            .filter_map(|f| match f {
                Fig::Chart { id, svg } if id.starts_with(prefix) => Some(Block::Chart(svg.clone())),
                _ => None,
            })
            .collect()
    };
    b.extend(charts("comparison-"));
    b.extend(charts("latency-"));
    // each experiment's charts right after its own section
    let experiments = r.experiments.iter().map(|e| {
        (
            sections::experiment_section(lang, e),
            sections::chart_prefix(e),
        )
    });
    let sections: Vec<(String, &str)> = [
        (sections::trials_section(lang, r), "\u{0}"),
        (sections::capacity_section(lang, r), "capacity"),
        (sections::scaling_section(lang, r), "scaling-"),
        (sections::cores_section(lang, r), "cores-"),
    ]
    .into_iter()
    .chain(experiments)
    .chain([
        (sections::workloads_section(lang, r), "workload-"),
        (sections::baseline_section(lang, r), "\u{0}"),
    ])
    .collect();
    for (section, prefix) in sections {
        if section.is_empty() {
            continue;
        }
        b.extend(markdown_blocks(&section));
        b.extend(charts(prefix));
    }
    b.push(Block::H2(
        lang.pick(
            "Which design is most efficient, and why",
            "어떤 설계가 가장 효율적인가, 그리고 그 이유",
        )
        .into(),
    ));
    for p in verdict(lang, r) {
        b.push(Block::Para(plain(&p)));
    }
    b
}

/// Locust's Statistics tab: its columns, a row per request and the Aggregated row.
fn statistics(c: &Client) -> Table {
    let header = [
        "Type",
        "Name",
        "# Requests",
        "# Fails",
        "Median (ms)",
        "95%ile (ms)",
        "99%ile (ms)",
        "Average (ms)",
        "Min (ms)",
        "Max (ms)",
        "Average size (bytes)",
        "Current RPS",
        "Current Failures/s",
    ]
    .map(String::from)
    .to_vec();
    let rows = c
        .stats
        .iter()
        .map(|s| {
            vec![
                s.method.clone(),
                s.name.clone(),
                int(s.requests as f64),
                int(s.failures as f64),
                ms(s.median_ms),
                ms(s.p95_ms),
                ms(s.p99_ms),
                ms(s.avg_ms),
                ms(s.min_ms),
                ms(s.max_ms),
                int(s.avg_size),
                format!("{:.1}", s.current_rps),
                format!("{:.1}", s.current_fail_s),
            ]
        })
        .collect::<Vec<_>>();
    // results written before the table existed: the aggregated figures there are
    let rows = if rows.is_empty() {
        vec![vec![
            String::new(),
            "Aggregated".into(),
            int(c.requests as f64),
            int(c.failures as f64),
            ms(c.p50_ms),
            ms(c.p95_ms),
            ms(c.p99_ms),
            ms(c.avg_ms),
            "-".into(),
            ms(c.max_ms),
            "-".into(),
            format!("{:.1}", c.rps),
            "-".into(),
        ]]
    } else {
        rows
    };
    Table {
        header,
        rows,
        numeric_from: 2,
    }
}

/// The assignment's run, a row per design, best first: the columns that fit a page.
fn results_table(r: &Results, lang: Lang) -> Table {
    let header: Vec<String> = match lang {
        Lang::En => [
            "#",
            "Server",
            "Peak RPS",
            "Requests",
            "Failures",
            "Until 1st failure",
            "Avg ms",
            "p99 ms",
            "CPU µs/request",
            "PSS MiB",
            "Threads",
            "Processes",
            "Open fds",
            "Clean exit",
        ]
        .map(String::from)
        .to_vec(),
        Lang::Ko => [
            "#",
            "서버",
            "최고 RPS",
            "요청 수",
            "실패 수",
            "첫 실패까지",
            "평균 ms",
            "p99 ms",
            "요청당 CPU µs",
            "PSS MiB",
            "스레드",
            "프로세스",
            "열린 fd",
            "정상 종료",
        ]
        .map(String::from)
        .to_vec(),
    };
    let server_cells = |s: Option<&Server>| -> Vec<String> {
        match s {
            Some(v) => vec![
                format!("{:.1}", v.cpu_us_per_request),
                format!("{:.1}", v.peak_pss_mib),
                v.peak_threads.to_string(),
                if v.zombies_left > 0 {
                    format!("{} (+{} Z)", v.peak_processes, v.zombies_left)
                } else {
                    v.peak_processes.to_string()
                },
                if v.peak_fds > 0 {
                    int(v.peak_fds as f64)
                } else {
                    "-".into()
                },
                lang.pick(
                    if v.clean_exit { "yes" } else { "NO" },
                    if v.clean_exit { "예" } else { "아니오" },
                )
                .into(),
            ],
            None => vec!["-".into(); 6],
        }
    };
    let rows = r
        .ranking()
        .into_iter()
        .enumerate()
        .map(|(i, (m, c, s))| {
            let mut row = vec![
                (i + 1).to_string(),
                m.design.name().to_string(),
                int(c.peak_rps),
                int(c.requests as f64),
                int(c.failures as f64),
                c.before_first_failure.map_or("-".into(), |n| int(n as f64)),
                ms(c.avg_ms),
                ms(c.p99_ms),
            ];
            row.extend(server_cells(s));
            row
        })
        .collect();
    Table {
        header,
        rows,
        numeric_from: 2,
    }
}

/// The capacity section's table, as a table.
fn capacity_table(r: &Results, lang: Lang) -> Option<Table> {
    markdown_blocks(&sections::capacity_section(lang, r))
        .into_iter()
        .find_map(|b| match b {
            Block::Table(t) => Some(t),
            _ => None,
        })
}

fn check_items(c: &Check, lang: Lang) -> Vec<String> {
    let md = crate::check::render_markdown(c, lang);
    md.lines()
        .filter_map(|l| l.strip_prefix("- "))
        .map(plain)
        .collect()
}

fn check_table(c: &Check, lang: Lang) -> Table {
    let header = match lang {
        Lang::En => ["", "Probe", "Finding", "Rule"],
        Lang::Ko => ["", "검사", "결과", "규칙"],
    }
    .map(String::from)
    .to_vec();
    let rows = c
        .findings
        .iter()
        .map(|f| {
            vec![
                f.severity.tag(lang).to_string(),
                crate::check::probe_label(&f.probe, lang).to_string(),
                f.kind.title(lang),
                if f.severity == Severity::Pass {
                    String::new()
                } else {
                    f.kind.rule().to_string()
                },
            ]
        })
        .collect();
    Table {
        header,
        rows,
        numeric_from: 9,
    }
}

/// Markdown as our own sections write it (headings, tables, lists, paragraphs) as blocks.
fn markdown_blocks(md: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut table: Option<Table> = None;
    let mut bullets: Vec<String> = Vec::new();
    let flush = |out: &mut Vec<Block>, table: &mut Option<Table>, bullets: &mut Vec<String>| {
        if let Some(t) = table.take() {
            out.push(Block::Table(t));
        }
        if !bullets.is_empty() {
            out.push(Block::Bullets(std::mem::take(bullets)));
        }
    };
    for line in md.lines() {
        let line = line.trim_end();
        if let Some(row) = line.strip_prefix('|') {
            let cells: Vec<String> = row
                .trim_end_matches('|')
                .split('|')
                .map(|c| plain(c.trim()))
                .collect();
            if cells.iter().all(|c| c.chars().all(|ch| ch == '-')) {
                continue;
            }
            match &mut table {
                Some(t) => t.rows.push(cells),
                None => {
                    table = Some(Table {
                        header: cells,
                        rows: Vec::new(),
                        numeric_from: 2,
                    })
                }
            }
            continue;
        }
        if let Some(item) = line.strip_prefix("- ") {
            if let Some(t) = table.take() {
                out.push(Block::Table(t));
            }
            bullets.push(plain(item));
            continue;
        }
        flush(&mut out, &mut table, &mut bullets);
        if let Some(t) = line.strip_prefix("### ") {
            out.push(Block::H3(plain(t)));
        } else if let Some(t) = line.strip_prefix("## ") {
            out.push(Block::H2(plain(t)));
        } else if let Some(t) = line.strip_prefix("# ") {
            out.push(Block::H1(plain(t)));
        } else if !line.is_empty() {
            out.push(Block::Para(plain(line)));
        }
    }
    flush(&mut out, &mut table, &mut bullets);
    out
}

/// Markdown's emphasis and code marks taken out.
fn plain(s: &str) -> String {
    s.replace("**", "").replace('`', "")
}
