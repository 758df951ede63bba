//! `--workload all`: one capacity table per workload (the main one is the capacity table
//! above), then the matrix verdict: which designs win each workload and why, in the numbers.

use std::fmt::Write;

use swarmlab_models::Model;

use super::common::{in_top, limited_by, none_met, p99_cell, shown};
use crate::capacity::{Capacity, LimitedBy};
use crate::lang::{int, ms, Lang};
use crate::results::{Design, Outcome, Results, WorkloadKind};

/// One workload's table.
struct Table<'a> {
    /// How the report names it (`hello`, `all`, `users of locustfile.py`).
    label: String,
    /// Which built-in workload it is (`None`: a file's users).
    kind: Option<WorkloadKind>,
    request: &'a str,
    /// Its objective, ms.
    slo_ms: f64,
    /// Each design's capacity, best first (`None`: it did not run).
    rows: Vec<(&'a Design, Option<&'a Capacity>)>,
}

impl Table<'_> {
    /// The designs that have a capacity, best first.
    fn ranked(&self) -> Vec<(&Design, &Capacity)> {
        self.rows
            .iter()
            .filter_map(|(d, c)| Some((*d, (*c)?)))
            .collect()
    }
}

/// The main workload's table, then every other workload's, each sorted best first.
fn tables(r: &Results) -> Vec<Table<'_>> {
    let main = Table {
        label: r.settings.workload.to_string(),
        kind: r.settings.workload.main_kind(),
        request: &r.settings.request,
        slo_ms: r.settings.slo_p99_ms.unwrap_or_default(),
        rows: r
            .rows
            .iter()
            .map(|m| {
                let capacity = match &m.outcome {
                    Outcome::Ran { capacity, .. } => capacity.as_deref(),
                    Outcome::Skipped { .. } => None,
                };
                (&m.design, capacity)
            })
            .collect(),
    };
    let others = r.workloads.iter().map(|w| Table {
        label: w.workload.to_string(),
        kind: Some(w.workload),
        request: &w.request,
        slo_ms: w.slo_p99_ms,
        rows: w
            .rows
            .iter()
            .map(|row| (&row.design, row.capacity.as_ref()))
            .collect(),
    });
    let mut all: Vec<Table<'_>> = std::iter::once(main).chain(others).collect();
    for t in &mut all {
        t.rows.sort_by(|a, b| {
            let (x, y) = (a.1.map_or(-1.0, |c| c.rps), b.1.map_or(-1.0, |c| c.rps));
            y.total_cmp(&x)
        });
    }
    all
}

/// `--workload all`: a table per workload and the matrix verdict.
pub fn workloads_section(lang: Lang, r: &Results) -> String {
    if r.workloads.is_empty() {
        return String::new();
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## {}\n",
        lang.pick(
            "Which design wins which workload",
            "어떤 설계가 어떤 작업에서 이기는가"
        )
    );
    let _ = writeln!(
        s,
        "{}\n",
        match lang {
            Lang::En => format!(
                "The same capacity search for each workload, on a fresh server per model ({}'s table is the one above). Each workload's objective adds its request's own service time to the p99 limit.",
                r.settings.workload
            ),
            Lang::Ko => format!(
                "작업마다 모델별 새 서버에서 같은 수용량 탐색을 했다({}의 표는 위에 있다). 각 작업의 p99 한도에는 그 요청 자체의 처리 시간을 더했다.",
                r.settings.workload
            ),
        }
    );
    let tables = tables(r);
    // the first table is the capacity table above
    for t in tables.iter().skip(1) {
        s += &table(lang, t);
    }
    let _ = writeln!(
        s,
        "### {}\n",
        lang.pick("The matrix verdict", "작업별 결론")
    );
    let _ = writeln!(
        s,
        "{}",
        lang.pick(
            "| Workload | Wins | Capacity req/s | Why, in the numbers |",
            "| 작업 | 승자 | 수용량 req/s | 근거(측정값) |"
        )
    );
    let _ = writeln!(s, "|---|---|---|---|");
    for t in &tables {
        if let Some((winners, cap, why)) = matrix_row(lang, r, t) {
            let _ = writeln!(s, "| {} | {winners} | {cap} | {why} |", t.label);
        }
    }
    let _ = writeln!(s);
    s
}

/// One workload's capacity table, and the designs that met its objective at no rate.
fn table(lang: Lang, t: &Table<'_>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "### {}: `{}`\n", t.label, t.request);
    let head = match lang {
        Lang::En => format!(
            "| Model | Capacity req/s (p99 ≤ {} ms) | p99 ms there | Limited by | Server CPU µs/request |",
            ms(t.slo_ms)
        ),
        Lang::Ko => format!(
            "| 모델 | 수용량 req/s (p99 ≤ {}ms) | 그때 p99 ms | 한계 요인 | 요청당 서버 CPU µs |",
            ms(t.slo_ms)
        ),
    };
    // over TLS, the handshakes the generator completed per second at that rate
    let tls = t.kind.is_some_and(WorkloadKind::is_tls);
    let (extra_head, extra_rule) = match (tls, lang) {
        (false, _) => ("", ""),
        (true, Lang::En) => (" Handshakes/s |", "---|"),
        (true, Lang::Ko) => (" 초당 핸드셰이크 |", "---|"),
    };
    let _ = writeln!(s, "{head}{extra_head}");
    let _ = writeln!(s, "|---|---|---|---|---|{extra_rule}");
    for (design, c) in &t.rows {
        match c {
            Some(c) => {
                let handshakes = match (tls, c.handshakes_per_s) {
                    (false, _) => String::new(),
                    (true, Some(h)) => format!(" {} |", int(h)),
                    (true, None) => " - |".to_string(),
                };
                let _ = writeln!(
                    s,
                    "| {design} | {} | {} | {} | {} |{handshakes}",
                    shown(c),
                    p99_cell(c.p99_ms),
                    limited_by(lang, c.limited_by),
                    c.cpu_us_per_request
                        .map_or_else(|| "-".to_string(), |v| format!("{v:.1}"))
                );
            }
            None => {
                let _ = writeln!(
                    s,
                    "| {design} | - | - | {} | - |{}",
                    lang.pick("not run", "실행 안 됨"),
                    if tls { " - |" } else { "" }
                );
            }
        }
    }
    let _ = writeln!(s);
    let named: Vec<(&str, &Capacity)> = t.ranked().iter().map(|(d, c)| (d.name(), *c)).collect();
    if let Some(p) = none_met(lang, t.slo_ms, &named) {
        let _ = writeln!(s, "{p}\n");
    }
    s
}

/// One line of the matrix: a workload's winners (those not told apart from the best), the
/// best capacity, and why, citing the measurements.
fn matrix_row(lang: Lang, r: &Results, t: &Table<'_>) -> Option<(String, String, String)> {
    let ranked = t.ranked();
    let &(_, bc) = ranked.first()?;
    let winners: Vec<&(&Design, &Capacity)> =
        ranked.iter().filter(|(_, c)| in_top(bc, c)).collect();
    let names = winners
        .iter()
        .map(|(d, _)| format!("**{d}**"))
        .collect::<Vec<_>>()
        .join(", ");
    let why = match t.kind {
        Some(WorkloadKind::Sleep) => why_sleep(lang, r, &ranked, &winners),
        Some(WorkloadKind::Cpu) => why_cpu(lang, r, &ranked),
        Some(WorkloadKind::Close) => why_close(lang, &ranked),
        Some(WorkloadKind::Tls) => why_tls(lang, r, &ranked),
        Some(WorkloadKind::TlsClose) => why_tls_close(lang, r, &ranked),
        _ => why_keep_alive(lang, &ranked),
    };
    Some((names, shown(bc), why))
}

/// `sleep`: the requests wait without the CPU, so the designs that hold them all at once win;
/// `single`, which serves them one after another, is the contrast.
fn why_sleep(
    lang: Lang,
    r: &Results,
    ranked: &[(&Design, &Capacity)],
    winners: &[&(&Design, &Capacity)],
) -> String {
    let bc = ranked[0].1;
    let single = ranked
        .iter()
        .find(|(d, _)| d.model() == Some(Model::Single))
        .map(|(_, c)| *c);
    let ceiling = winners
        .iter()
        .any(|(_, c)| c.limited_by == LimitedBy::Connections);
    let mut w = match (lang, single) {
        (Lang::En, Some(sc)) if sc.rps <= 0.0 => format!(
            "each request waits 100 ms without using the CPU; a design that keeps every waiting request open at once serves them together ({} req/s), while **single**, which serves them one after another, met the objective at no rate tried",
            shown(bc)
        ),
        (Lang::Ko, Some(sc)) if sc.rps <= 0.0 => format!(
            "요청마다 CPU를 쓰지 않고 100ms를 기다린다. 기다리는 요청을 모두 동시에 열어 두는 설계는 함께 처리하고({} req/s), 하나씩 차례로 처리하는 **single**은 시도한 어떤 요청률에서도 목표를 만족하지 못했다",
            shown(bc)
        ),
        (Lang::En, Some(sc)) => format!(
            "each request waits 100 ms without using the CPU; a design that keeps every waiting request open at once serves them together: {} req/s against **single**'s {} ({:.0}×), which serves them one after another",
            shown(bc),
            shown(sc),
            bc.rps / sc.rps.max(0.1)
        ),
        (Lang::Ko, Some(sc)) => format!(
            "요청마다 CPU를 쓰지 않고 100ms를 기다린다. 기다리는 요청을 모두 동시에 열어 두는 설계는 함께 처리한다: {} req/s로, 하나씩 차례로 처리하는 **single**의 {}보다 {:.0}배",
            shown(bc),
            shown(sc),
            bc.rps / sc.rps.max(0.1)
        ),
        (Lang::En, None) => format!(
            "each request waits 100 ms without using the CPU: {} req/s for the designs that hold every waiting request at once",
            shown(bc)
        ),
        (Lang::Ko, None) => format!(
            "요청마다 CPU를 쓰지 않고 100ms를 기다린다: 기다리는 요청을 모두 동시에 여는 설계가 {} req/s",
            shown(bc)
        ),
    };
    if ceiling {
        let conns = r.settings.capacity_connections.unwrap_or_default() as f64;
        w += &match lang {
            Lang::En => format!(
                "; they reached the ceiling of {} connections / 100 ms = {} req/s, so the connections, not these servers, set that figure",
                int(conns),
                int(conns * 10.0)
            ),
            Lang::Ko => format!(
                ". 이들은 연결 {}개 / 100ms = {} req/s라는 상한에 닿았으므로, 이 수치를 정한 것은 서버가 아니라 연결 수이다",
                int(conns),
                int(conns * 10.0)
            ),
        };
    }
    w
}

/// `cpu`: every request burns 1 ms, so the server's cores set the ceiling.
fn why_cpu(lang: Lang, r: &Results, ranked: &[(&Design, &Capacity)]) -> String {
    let (best, bc) = ranked[0];
    let cores = r.settings.server_cores.max(1);
    let max = cores as f64 * 1000.0;
    match lang {
        Lang::En => format!(
            "each request burns 1 ms of CPU, so the server's cores are the limit: it had {cores} core(s) (every core but the load generator's), at most {} req/s; **{best}** reached {} ({:.0} % of that){}",
            int(max),
            shown(bc),
            bc.rps / max * 100.0,
            if cores == 1 {
                "; with one core for the server, designs that spread work over every core cannot show it on this machine"
            } else {
                "; single-threaded designs use one of them"
            }
        ),
        Lang::Ko => format!(
            "요청마다 CPU를 1ms 쓰므로 서버의 코어 수가 한계이다: 서버는 코어 {cores}개(부하 생성기의 코어를 뺀 전부)로 최대 {} req/s. **{best}**(은)는 {}(그 {:.0} %)에 닿았다{}",
            int(max),
            shown(bc),
            bc.rps / max * 100.0,
            if cores == 1 {
                ". 서버 코어가 하나뿐이라 모든 코어에 일을 나누는 설계의 이점은 이 머신에서 드러나지 않는다"
            } else {
                ". 단일 스레드 설계는 그중 하나만 쓴다"
            }
        ),
    }
}

/// `close`: a connection per request, so accepting and tearing down dominate the CPU.
fn why_close(lang: Lang, ranked: &[(&Design, &Capacity)]) -> String {
    let costs = || {
        ranked
            .iter()
            .filter_map(|(d, c)| Some((*d, c.cpu_us_per_request?)))
    };
    let cheapest = costs().min_by(|a, b| a.1.total_cmp(&b.1));
    let dearest = costs().max_by(|a, b| a.1.total_cmp(&b.1));
    match (lang, cheapest, dearest) {
        (Lang::En, Some(a), Some(b)) => format!(
            "every request opens and closes a connection, so accepting and tearing down dominate: **{}** spent the least server CPU per request ({:.1} µs, accept and close included), **{}** the most ({:.1} µs)",
            a.0, a.1, b.0, b.1
        ),
        (Lang::Ko, Some(a), Some(b)) => format!(
            "요청마다 연결을 열고 닫으므로 accept와 종료 비용이 지배한다: 요청당 서버 CPU는 **{}**(이)가 가장 적고({:.1} µs, accept와 close 포함) **{}**(이)가 가장 많다({:.1} µs)",
            a.0, a.1, b.0, b.1
        ),
        (Lang::En, ..) => "every request opens and closes a connection".to_string(),
        (Lang::Ko, ..) => "요청마다 연결을 열고 닫는다".to_string(),
    }
}

/// `design`'s capacity under the built-in workload `kind`, in this run (the main table or one
/// of `all`'s).
fn capacity_of<'a>(r: &'a Results, kind: WorkloadKind, design: &Design) -> Option<&'a Capacity> {
    if r.settings.workload.main_kind() == Some(kind) {
        return r
            .rows
            .iter()
            .find(|m| &m.design == design)
            .and_then(|m| match &m.outcome {
                Outcome::Ran { capacity, .. } => capacity.as_deref(),
                Outcome::Skipped { .. } => None,
            });
    }
    r.workloads
        .iter()
        .find(|w| w.workload == kind)?
        .rows
        .iter()
        .find(|row| &row.design == design)?
        .capacity
        .as_ref()
}

/// `tls`: kept connections, so TLS costs the record encryption per request; the same design's
/// plain `hello` says how much.
fn why_tls(lang: Lang, r: &Results, ranked: &[(&Design, &Capacity)]) -> String {
    let (best, bc) = ranked[0];
    let plain = capacity_of(r, WorkloadKind::Hello, best);
    let added = match (
        bc.cpu_us_per_request,
        plain.and_then(|c| c.cpu_us_per_request),
    ) {
        (Some(t), Some(p)) => Some((t, p)),
        _ => None,
    };
    match (lang, added) {
        (Lang::En, Some((t, p))) => format!(
            "kept connections, one handshake each, so TLS costs the encryption of every response: **{best}** served {} req/s at {t:.1} µs of server CPU per request, {p:.1} µs without TLS (`hello`): {:+.1} µs per request for TLS",
            shown(bc),
            t - p
        ),
        (Lang::Ko, Some((t, p))) => format!(
            "연결을 유지하므로 핸드셰이크는 연결마다 한 번이고, TLS 비용은 응답마다의 암호화이다: **{best}**(은)는 요청당 서버 CPU {t:.1} µs로 {} req/s를 처리했고, TLS 없이(`hello`)는 {p:.1} µs: TLS가 요청당 {:+.1} µs",
            shown(bc),
            t - p
        ),
        (Lang::En, None) => format!(
            "kept connections, one handshake each: **{best}** served {} req/s over TLS",
            shown(bc)
        ),
        (Lang::Ko, None) => format!(
            "연결을 유지하므로 핸드셰이크는 연결마다 한 번: **{best}**(은)는 TLS로 {} req/s",
            shown(bc)
        ),
    }
}

/// `tls-close`: a full handshake per request (the server's signature and key exchange), so
/// the design that spreads handshakes over its cores, and pays least per one, goes furthest.
fn why_tls_close(lang: Lang, r: &Results, ranked: &[(&Design, &Capacity)]) -> String {
    let (best, bc) = ranked[0];
    let per_s = bc.handshakes_per_s.unwrap_or(bc.rps);
    let plain = capacity_of(r, WorkloadKind::Close, best).and_then(|c| c.cpu_us_per_request);
    let dearest = ranked
        .iter()
        .filter_map(|(d, c)| Some((*d, c.cpu_us_per_request?)))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    let cost = match (bc.cpu_us_per_request, plain) {
        (Some(t), Some(p)) => match lang {
            Lang::En => format!(
                " at {t:.1} µs of server CPU per request, {p:.1} µs without TLS (`close`): the handshake costs {:.1} µs",
                t - p
            ),
            Lang::Ko => format!(
                ", 요청당 서버 CPU {t:.1} µs(TLS 없는 `close`는 {p:.1} µs): 핸드셰이크 한 번에 {:.1} µs",
                t - p
            ),
        },
        (Some(t), None) => match lang {
            Lang::En => format!(" at {t:.1} µs of server CPU per request"),
            Lang::Ko => format!(", 요청당 서버 CPU {t:.1} µs"),
        },
        _ => String::new(),
    };
    let contrast = match dearest {
        Some((d, v)) if d != best => match lang {
            Lang::En => format!("; **{d}** paid the most per request ({v:.1} µs)"),
            Lang::Ko => format!(". 요청당 가장 많이 쓴 것은 **{d}**({v:.1} µs)"),
        },
        _ => String::new(),
    };
    match lang {
        Lang::En => format!(
            "every request is a new TLS connection with a full handshake (the server signs and does a key exchange each time), so handshake CPU is the limit: **{best}** completed {} handshakes/s{cost}{contrast}",
            int(per_s)
        ),
        Lang::Ko => format!(
            "요청마다 새 TLS 연결과 전체 핸드셰이크(서버가 매번 서명과 키 교환을 한다)이므로 핸드셰이크 CPU가 한계이다: **{best}**(은)는 초당 핸드셰이크 {}회{cost}{contrast}",
            int(per_s)
        ),
    }
}

/// `hello` and the like: cheap keep-alive requests, so the cheapest design per request goes
/// furthest.
fn why_keep_alive(lang: Lang, ranked: &[(&Design, &Capacity)]) -> String {
    let bc = ranked[0].1;
    let last = ranked.last().filter(|_| ranked.len() > 1);
    match (lang, bc.cpu_us_per_request, last) {
        (Lang::En, Some(cpu), Some((ln, lc))) => format!(
            "keep-alive requests that cost the server little: the cheapest per request goes furthest on one core ({:.1} µs per request at {} req/s; **{ln}**: {} req/s{})",
            cpu,
            shown(bc),
            shown(lc),
            lc.cpu_us_per_request
                .map_or(String::new(), |v| format!(", {v:.1} µs"))
        ),
        (Lang::Ko, Some(cpu), Some((ln, lc))) => format!(
            "서버 비용이 작은 keep-alive 요청: 요청당 가장 싼 설계가 한 코어로 가장 멀리 간다({} req/s에서 요청당 {:.1} µs. **{ln}**: {} req/s{})",
            shown(bc),
            cpu,
            shown(lc),
            lc.cpu_us_per_request
                .map_or(String::new(), |v| format!(", {v:.1} µs"))
        ),
        (Lang::En, ..) => format!("{} req/s", shown(bc)),
        (Lang::Ko, ..) => format!("{} req/s", shown(bc)),
    }
}
