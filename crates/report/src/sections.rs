//! The report's sections beyond the assignment's run: capacity (the most each design sustains
//! within the latency objective), scaling with clients, one table per workload with the matrix
//! verdict, and the change against a baseline run. Markdown, in English or Korean; every claim
//! cites the figure it rests on.

use std::fmt::Write;

use crate::capacity::{Capacity, LimitedBy, Spread};
use crate::lang::{int, ms, Lang};
use crate::results::{CapacityRow, Outcome, Results, WorkloadRun};

/// Two capacities closer than this (relative) are not told apart: the search resolves the
/// capacity to 10 %.
pub const RESOLUTION: f64 = 0.10;

/// A capacity as the report writes it: `≥ 81,000` when it is a lower bound.
pub fn shown(c: &Capacity) -> String {
    if c.limited_by == LimitedBy::Generator {
        format!("≥ {}", int(c.rps))
    } else {
        int(c.rps)
    }
}

/// What limited a capacity, in words.
pub fn limited_by(lang: Lang, l: LimitedBy) -> &'static str {
    match l {
        LimitedBy::Server => lang.pick("the server", "서버"),
        LimitedBy::Generator => {
            lang.pick("the load generator (a lower bound)", "부하 생성기(하한값)")
        }
        LimitedBy::Failures => lang.pick("failures (1 % or more)", "실패(1 % 이상)"),
        LimitedBy::Connections => lang.pick(
            "the connections (each carries one request at a time)",
            "연결 수(연결마다 한 번에 요청 하나)",
        ),
    }
}

/// Whether two capacities are told apart: more than the resolution and more than either
/// one's measured repeat spread apart, and not two lower bounds (which say only "at least").
fn apart(a: &Capacity, b: &Capacity) -> bool {
    let (hi, lo) = if a.rps >= b.rps { (a, b) } else { (b, a) };
    if lo.limited_by == LimitedBy::Generator {
        return false; // a lower bound may be anywhere above its figure
    }
    let spread = |c: &Capacity| c.spread.map_or(0.0, |s| s.rps);
    let margin = RESOLUTION.max(spread(a)).max(spread(b));
    hi.rps > lo.rps * (1.0 + margin)
}

/// The capacity table and what it says (empty when no capacity was searched).
pub fn capacity_section(lang: Lang, r: &Results) -> String {
    let ranked = r.by_capacity();
    if ranked.is_empty() {
        return String::new();
    }
    let st = &r.settings;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## {}\n",
        lang.pick(
            "Capacity: the most each design sustains",
            "수용량: 설계별로 버티는 최대 처리량"
        )
    );
    let _ = writeln!(
        s,
        "{}\n",
        match lang {
            Lang::En => format!(
                "After the assignment's run, each model got a fresh server and an open-model load over {} connections: the offered rate grows until p99 (counted from each request's intended send time, so queueing counts) exceeds {} ms, 1 % of requests fail, or the server completes less than 90 % of what is offered; then the gap is halved to within 10 %. The found rate is offered once more, and the two measurements' difference is the spread. `≥` marks a lower bound: the load generator gave out first.",
                int(st.capacity_connections as f64),
                ms(st.slo_p99_ms)
            ),
            Lang::Ko => format!(
                "과제 실행 뒤 모델마다 새 서버를 띄우고 연결 {}개에 열린 모델(open model) 부하를 걸었다. p99(각 요청의 예정 전송 시각부터 재므로 대기 시간이 포함된다)가 {}ms를 넘거나, 요청의 1 %가 실패하거나, 서버가 제시된 요청의 90 % 미만을 처리할 때까지 요청률을 올리고, 그 뒤 간격을 반씩 좁혀 10 % 이내로 찾는다. 찾은 요청률을 한 번 더 측정해 두 측정의 차이를 편차로 적는다. `≥`는 하한값이다: 부하 생성기가 먼저 한계에 닿았다.",
                int(st.capacity_connections as f64),
                ms(st.slo_p99_ms)
            ),
        }
    );
    let head = match lang {
        Lang::En => "| Rank | Model | Capacity req/s | p99 ms there | Limited by | Server CPU µs/request there | Repeat spread | Steps |",
        Lang::Ko => "| 순위 | 모델 | 수용량 req/s | 그때 p99 ms | 한계 요인 | 그때 요청당 서버 CPU µs | 반복 편차 | 단계 수 |",
    };
    let _ = writeln!(s, "{head}");
    let _ = writeln!(s, "|{}", "---|".repeat(head.matches('|').count() - 1));
    for (i, (m, c)) in ranked.iter().enumerate() {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            i + 1,
            m.name,
            shown(c),
            ms(c.p99_ms),
            limited_by(lang, c.limited_by),
            c.cpu_us_per_request
                .map_or_else(|| "-".to_string(), |v| format!("{v:.1}")),
            c.spread
                .map_or_else(|| "-".to_string(), |v| format!("{:.0} %", v.rps * 100.0)),
            c.curve.len()
        );
    }
    let _ = writeln!(s);
    for p in capacity_verdict(lang, r) {
        let _ = writeln!(s, "{p}\n");
    }
    let named: Vec<(&str, &Capacity)> = ranked.iter().map(|(m, c)| (m.name.as_str(), *c)).collect();
    if let Some(p) = none_met(lang, st.slo_p99_ms, &named) {
        let _ = writeln!(s, "{p}\n");
    }
    s
}

/// What the capacities say: the best, how far the rest are, which are lower bounds.
pub fn capacity_verdict(lang: Lang, r: &Results) -> Vec<String> {
    let ranked = r.by_capacity();
    let Some(&(best, bc)) = ranked.first() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let slo = ms(r.settings.slo_p99_ms);
    let top: Vec<_> = ranked.iter().filter(|(_, c)| !apart(bc, c)).collect();
    let names = |v: &[&(&crate::ModelResult, &Capacity)]| {
        v.iter()
            .map(|(m, c)| format!("**{}** ({})", m.name, shown(c)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if top.len() > 1 {
        out.push(match lang {
            Lang::En => format!(
                "At the top, {} are not told apart by this run (within 10 %, the measured spread, or lower bounds): each sustained at least {} req/s with p99 ≤ {slo} ms.",
                names(&top),
                int(top.iter().map(|(_, c)| c.rps).fold(f64::MAX, f64::min))
            ),
            Lang::Ko => format!(
                "최상위의 {}(은)는 이번 실행으로는 구별되지 않는다(10 % 이내, 측정 편차 이내, 또는 하한값). 모두 p99 ≤ {slo}ms로 최소 {} req/s를 유지했다.",
                names(&top),
                int(top.iter().map(|(_, c)| c.rps).fold(f64::MAX, f64::min))
            ),
        });
    } else {
        out.push(match lang {
            Lang::En => format!(
                "**{}** sustained the most: {} req/s with p99 ≤ {slo} ms (p99 {} ms there).",
                best.name,
                shown(bc),
                ms(bc.p99_ms)
            ),
            Lang::Ko => format!(
                "**{}**(이)가 가장 많이 버텼다: p99 ≤ {slo}ms에서 {} req/s(그때 p99 {}ms).",
                best.name,
                shown(bc),
                ms(bc.p99_ms)
            ),
        });
    }
    if let Some(&(last, lc)) = ranked.last().filter(|_| ranked.len() > 1) {
        // (a design that met the objective at no rate is described after the table)
        if apart(bc, lc) && lc.rps > 0.0 {
            let ratio = bc.rps / lc.rps.max(1e-9);
            out.push(match lang {
                Lang::En => format!(
                    "**{}** sustained the least: {} req/s, {ratio:.1}× below the best{}.",
                    last.name,
                    shown(lc),
                    if lc.limited_by == LimitedBy::Server {
                        String::new()
                    } else {
                        format!(", limited by {}", limited_by(lang, lc.limited_by))
                    }
                ),
                Lang::Ko => format!(
                    "가장 적게 버틴 것은 **{}**: {} req/s로 최고의 1/{ratio:.1}{}.",
                    last.name,
                    shown(lc),
                    if lc.limited_by == LimitedBy::Server {
                        String::new()
                    } else {
                        format!(", 한계 요인: {}", limited_by(lang, lc.limited_by))
                    }
                ),
            });
        }
    }
    let bounds: Vec<_> = ranked
        .iter()
        .filter(|(_, c)| c.limited_by == LimitedBy::Generator)
        .collect();
    if !bounds.is_empty() {
        out.push(match lang {
            Lang::En => format!(
                "Lower bounds: {}. The load generator (on its own core{}) was saturated before these servers were: they go at least this far, and this machine cannot say how much further.",
                names(&bounds),
                if r.settings.pinned { "" } else { "s, shared with the server" }
            ),
            Lang::Ko => format!(
                "하한값: {}. 부하 생성기(전용 코어{})가 이 서버들보다 먼저 포화되었다: 최소한 이만큼은 버티며, 이 머신으로는 얼마나 더 버티는지 알 수 없다.",
                names(&bounds),
                if r.settings.pinned { "" } else { ", 서버와 공유" }
            ),
        });
    }
    out
}

/// For designs for which no rate met the objective: what the lowest rate tried gave.
fn none_met(lang: Lang, slo_ms: f64, rows: &[(&str, &Capacity)]) -> Option<String> {
    let zero: Vec<String> = rows
        .iter()
        .filter(|(_, c)| c.rps <= 0.0)
        .filter_map(|(n, c)| {
            let low = c
                .curve
                .iter()
                .min_by(|a, b| a.offered.total_cmp(&b.offered))?;
            Some(match lang {
                Lang::En => format!(
                    "**{n}** (offered {} req/s, it completed {} req/s with p99 {})",
                    rate(low.offered),
                    rate(low.achieved),
                    p99_text(lang, low.p99_ms)
                ),
                Lang::Ko => format!(
                    "**{n}**({} req/s를 제시했을 때 {} req/s 처리, p99 {})",
                    rate(low.offered),
                    rate(low.achieved),
                    p99_text(lang, low.p99_ms)
                ),
            })
        })
        .collect();
    if zero.is_empty() {
        return None;
    }
    Some(match lang {
        Lang::En => format!(
            "No rate tried met p99 ≤ {} ms for {}: its capacity under this objective is below the lowest rate tried, or none.",
            ms(slo_ms),
            zero.join("; ")
        ),
        Lang::Ko => format!(
            "{}에서는 시도한 어떤 요청률도 p99 ≤ {}ms를 만족하지 못했다: 이 목표에서의 수용량은 시도한 가장 낮은 요청률보다 낮거나 없다.",
            zero.join("; "),
            ms(slo_ms)
        ),
    })
}

/// A rate with one decimal below 100 (a slow server's 2.5 req/s is not "3").
fn rate(v: f64) -> String {
    if v < 100.0 {
        format!("{v:.1}")
    } else {
        int(v)
    }
}

/// A p99, or "nothing completed" for the placeholder of an empty window.
fn p99_text(lang: Lang, v: f64) -> String {
    if v >= 1e8 {
        lang.pick("— nothing completed", "— 완료 없음").to_string()
    } else {
        format!("{} ms", ms(v))
    }
}

/// The final verdict by capacity: the best design, or, when the top ones are not told apart,
/// the one among them that needed the least server CPU per request at its capacity.
pub fn capacity_conclusion(lang: Lang, r: &Results) -> Option<String> {
    let ranked = r.by_capacity();
    let &(best, bc) = ranked.first()?;
    let slo = ms(r.settings.slo_p99_ms);
    let top: Vec<_> = ranked.iter().filter(|(_, c)| !apart(bc, c)).collect();
    let costed: Vec<_> = top
        .iter()
        .filter_map(|(m, c)| Some((m, c, c.cpu_us_per_request?)))
        .collect();
    if top.len() > 1 && costed.len() > 1 {
        let win = costed
            .iter()
            .min_by(|a, b| a.2.total_cmp(&b.2))
            .expect("two or more");
        let worst = costed
            .iter()
            .max_by(|a, b| a.2.total_cmp(&b.2))
            .expect("two or more");
        return Some(match lang {
            Lang::En => format!(
                "**Verdict:** {} designs share the top capacity within what one run can tell apart ({}); among them **{}** needed the least server CPU per request at its capacity ({:.1} µs, against {:.1} µs for **{}**): it is the most efficient design here, with p99 ≤ {slo} ms.",
                top.len(),
                top.iter().map(|(m, _)| m.name.as_str()).collect::<Vec<_>>().join(", "),
                win.0.name, win.2, worst.2, worst.0.name
            ),
            Lang::Ko => format!(
                "**결론:** {}개 설계({})가 한 번의 실행으로 구별할 수 있는 범위 안에서 최고 수용량을 함께 가진다. 그중 **{}**(이)가 수용량에서 요청당 서버 CPU를 가장 적게 썼다({:.1} µs, **{}**(은)는 {:.1} µs): p99 ≤ {slo}ms에서 여기서 가장 효율적인 설계이다.",
                top.len(),
                top.iter().map(|(m, _)| m.name.as_str()).collect::<Vec<_>>().join(", "),
                win.0.name, win.2, worst.0.name, worst.2
            ),
        });
    }
    let next = ranked.get(1).map(|(_, c)| bc.rps / c.rps.max(1e-9));
    Some(match lang {
        Lang::En => format!(
            "**Verdict:** **{}** is the most efficient design here: it sustained {} req/s with p99 ≤ {slo} ms{}.",
            best.name,
            shown(bc),
            next.map_or(String::new(), |x| format!(", {x:.1}× the next"))
        ),
        Lang::Ko => format!(
            "**결론:** 여기서 가장 효율적인 설계는 **{}**이다: p99 ≤ {slo}ms에서 {} req/s를 유지했다{}.",
            best.name,
            shown(bc),
            next.map_or(String::new(), |x| format!(", 다음 설계의 {x:.1}배"))
        ),
    })
}

/// `--scaling`: capacity, memory and CPU per request at each number of connections.
pub fn scaling_section(lang: Lang, r: &Results) -> String {
    let rows: Vec<_> = r
        .rows
        .iter()
        .filter_map(|m| match &m.outcome {
            Outcome::Ran { scaling, .. } if !scaling.is_empty() => Some((m, scaling)),
            _ => None,
        })
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    let mut counts: Vec<usize> = rows
        .iter()
        .flat_map(|(_, s)| s.iter().map(|p| p.connections))
        .collect();
    counts.sort_unstable();
    counts.dedup();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## {}\n",
        lang.pick("Scaling with clients", "클라이언트 수에 따른 확장성")
    );
    let _ = writeln!(
        s,
        "{}\n",
        lang.pick(
            "The capacity search again with each number of open connections; each cell: capacity req/s · server memory (PSS, MiB) · server CPU µs per request at that capacity.",
            "열린 연결 수마다 수용량을 다시 찾았다. 각 칸: 수용량 req/s · 서버 메모리(PSS, MiB) · 그 수용량에서 요청당 서버 CPU µs."
        )
    );
    let _ = write!(s, "| {} |", lang.pick("Model", "모델"));
    for n in &counts {
        let _ = write!(
            s,
            " {} {} |",
            int(*n as f64),
            lang.pick("connections", "연결")
        );
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "|{}", "---|".repeat(counts.len() + 1));
    for (m, points) in &rows {
        let _ = write!(s, "| {} |", m.name);
        for n in &counts {
            match points.iter().find(|p| p.connections == *n) {
                Some(p) => {
                    let _ = write!(
                        s,
                        " {} · {:.1} · {} |",
                        shown(&p.capacity),
                        p.pss_mib,
                        p.capacity
                            .cpu_us_per_request
                            .map_or_else(|| "-".into(), |v| format!("{v:.1}"))
                    );
                }
                None => s.push_str(" - |"),
            }
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(s);
    // Memory per added connection and CPU growth, fewest to most connections.
    let mut memory = Vec::new();
    let mut cpu = Vec::new();
    for (m, points) in &rows {
        let (Some(a), Some(b)) = (points.first(), points.last()) else {
            continue;
        };
        if b.connections <= a.connections {
            continue;
        }
        let per_conn_kib =
            (b.pss_mib - a.pss_mib) * 1024.0 / (b.connections - a.connections) as f64;
        memory.push((m.name.as_str(), per_conn_kib, a, b));
        if let (Some(x), Some(y)) = (a.capacity.cpu_us_per_request, b.capacity.cpu_us_per_request) {
            cpu.push((m.name.as_str(), y / x.max(1e-9), x, y, a, b));
        }
    }
    memory.sort_by(|a, b| b.1.total_cmp(&a.1));
    cpu.sort_by(|a, b| b.1.total_cmp(&a.1));
    if !memory.is_empty() {
        let list: Vec<String> = memory
            .iter()
            .map(|(n, k, a, b)| {
                format!(
                    "**{n}** {:.1} KiB ({:.1} → {:.1} MiB)",
                    k.max(0.0),
                    a.pss_mib,
                    b.pss_mib
                )
            })
            .collect();
        let _ = writeln!(
            s,
            "{}\n",
            match lang {
                Lang::En => format!("Memory per added connection: {}.", list.join(", ")),
                Lang::Ko => format!("연결 하나가 늘 때의 메모리: {}.", list.join(", ")),
            }
        );
    }
    if !cpu.is_empty() {
        let (a, b) = (cpu[0].4.connections, cpu[0].5.connections);
        let list: Vec<String> = cpu
            .iter()
            .map(|(n, ratio, x, y, _, _)| format!("**{n}** ×{ratio:.1} ({x:.1} → {y:.1} µs)"))
            .collect();
        let _ = writeln!(
            s,
            "{}\n",
            match lang {
                Lang::En => format!(
                    "Server CPU per request from {} to {} connections: {}. A design whose cost per request grows with the clients (select and poll rescan every descriptor on each wakeup) loses capacity as they grow; one whose cost stays flat (epoll, io_uring) does not.",
                    int(a as f64),
                    int(b as f64),
                    list.join(", ")
                ),
                Lang::Ko => format!(
                    "연결 {}개에서 {}개로 늘 때 요청당 서버 CPU: {}. 요청당 비용이 클라이언트 수와 함께 느는 설계(select와 poll은 깨어날 때마다 모든 디스크립터를 검사한다)는 클라이언트가 늘수록 수용량을 잃고, 비용이 일정한 설계(epoll, io_uring)는 그렇지 않다.",
                    int(a as f64),
                    int(b as f64),
                    list.join(", ")
                ),
            }
        );
    }
    s
}

/// The capacities of one more workload, by model.
fn rows_of(w: &WorkloadRun) -> Vec<(&str, Option<&Capacity>)> {
    w.rows
        .iter()
        .map(|CapacityRow { name, capacity, .. }| (name.as_str(), capacity.as_ref()))
        .collect()
}

/// One workload's table: its name, request, objective (ms) and each model's capacity.
type Table<'a> = (String, String, f64, Vec<(&'a str, Option<&'a Capacity>)>);

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
    let main: Vec<(&str, Option<&Capacity>)> = r
        .rows
        .iter()
        .map(|m| {
            (
                m.name.as_str(),
                match &m.outcome {
                    Outcome::Ran { capacity, .. } => capacity.as_deref(),
                    Outcome::Skipped { .. } => None,
                },
            )
        })
        .collect();
    let mut all: Vec<Table<'_>> = vec![(
        r.settings.workload.clone(),
        r.settings.request.clone(),
        r.settings.slo_p99_ms,
        main,
    )];
    for w in &r.workloads {
        all.push((
            w.workload.clone(),
            w.request.clone(),
            w.slo_p99_ms,
            rows_of(w),
        ));
    }
    let mut matrix = Vec::new();
    for (i, (workload, request, slo, rows)) in all.iter().enumerate() {
        let mut sorted: Vec<_> = rows.iter().collect();
        sorted.sort_by(|a, b| {
            let (x, y) = (a.1.map_or(-1.0, |c| c.rps), b.1.map_or(-1.0, |c| c.rps));
            y.total_cmp(&x)
        });
        let ranked: Vec<(&str, &Capacity)> = sorted
            .iter()
            .filter_map(|(n, c)| Some((*n, (*c)?)))
            .collect();
        if let Some(row) = matrix_row(lang, r, workload, &ranked) {
            matrix.push(row);
        }
        if i == 0 {
            continue; // its table is the capacity table above
        }
        let _ = writeln!(s, "### {workload}: `{request}`\n");
        let head = match lang {
            Lang::En => format!(
                "| Model | Capacity req/s (p99 ≤ {} ms) | p99 ms there | Limited by | Server CPU µs/request |",
                ms(*slo)
            ),
            Lang::Ko => format!(
                "| 모델 | 수용량 req/s (p99 ≤ {}ms) | 그때 p99 ms | 한계 요인 | 요청당 서버 CPU µs |",
                ms(*slo)
            ),
        };
        let _ = writeln!(s, "{head}");
        let _ = writeln!(s, "|---|---|---|---|---|");
        for (name, c) in &sorted {
            match c {
                Some(c) => {
                    let _ = writeln!(
                        s,
                        "| {name} | {} | {} | {} | {} |",
                        shown(c),
                        ms(c.p99_ms),
                        limited_by(lang, c.limited_by),
                        c.cpu_us_per_request
                            .map_or_else(|| "-".to_string(), |v| format!("{v:.1}"))
                    );
                }
                None => {
                    let _ = writeln!(
                        s,
                        "| {name} | - | - | {} | - |",
                        lang.pick("not run", "실행 안 됨")
                    );
                }
            }
        }
        let _ = writeln!(s);
        let named: Vec<(&str, &Capacity)> = sorted
            .iter()
            .filter_map(|(n, c)| Some((*n, (*c)?)))
            .collect();
        if let Some(p) = none_met(lang, *slo, &named) {
            let _ = writeln!(s, "{p}\n");
        }
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
    for (workload, winners, cap, why) in matrix {
        let _ = writeln!(s, "| {workload} | {winners} | {cap} | {why} |");
    }
    let _ = writeln!(s);
    s
}

/// One line of the matrix: the workload, its winners (those not told apart from the best),
/// the best capacity, and why, citing the measurements.
fn matrix_row(
    lang: Lang,
    r: &Results,
    workload: &str,
    ranked: &[(&str, &Capacity)],
) -> Option<(String, String, String, String)> {
    let &(best, bc) = ranked.first()?;
    let winners: Vec<&(&str, &Capacity)> = ranked.iter().filter(|(_, c)| !apart(bc, c)).collect();
    let names = winners
        .iter()
        .map(|(n, _)| format!("**{n}**"))
        .collect::<Vec<_>>()
        .join(", ");
    let find = |name: &str| ranked.iter().find(|(n, _)| *n == name).map(|(_, c)| *c);
    let last = ranked.last().filter(|_| ranked.len() > 1);
    let cores = r.settings.server_cores.max(1);
    let why = match workload {
        "sleep" => {
            let single = find("single");
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
                let conns = r.settings.capacity_connections;
                w += &match lang {
                    Lang::En => format!(
                        "; they reached the ceiling of {} connections / 100 ms = {} req/s, so the connections, not these servers, set that figure",
                        int(conns as f64),
                        int(conns as f64 * 10.0)
                    ),
                    Lang::Ko => format!(
                        ". 이들은 연결 {}개 / 100ms = {} req/s라는 상한에 닿았으므로, 이 수치를 정한 것은 서버가 아니라 연결 수이다",
                        int(conns as f64),
                        int(conns as f64 * 10.0)
                    ),
                };
            }
            w
        }
        "cpu" => {
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
        "close" => {
            let cheapest = ranked
                .iter()
                .filter_map(|(n, c)| Some((*n, c.cpu_us_per_request?)))
                .min_by(|a, b| a.1.total_cmp(&b.1));
            let dearest = ranked
                .iter()
                .filter_map(|(n, c)| Some((*n, c.cpu_us_per_request?)))
                .max_by(|a, b| a.1.total_cmp(&b.1));
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
        _ => match (lang, bc.cpu_us_per_request, last) {
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
        },
    };
    Some((workload.to_string(), names, shown(bc), why))
}

/// `--baseline`: per model, the change in capacity, p99 and CPU per request, and whether it is
/// larger than the spread measured for that figure.
pub fn baseline_section(lang: Lang, r: &Results) -> String {
    let Some(base) = &r.baseline else {
        return String::new();
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## {}\n",
        lang.pick("Against the baseline", "기준 실행과 비교")
    );
    let _ = writeln!(
        s,
        "{}\n",
        match lang {
            Lang::En => format!(
                "Baseline: `{}` (started {}, {}). A change counts as real only where it is larger than the run-to-run spread measured for that figure (the larger of the two runs' repeat spreads; for capacity at least the search's 10 % resolution).",
                base.file, base.started, base.cpu
            ),
            Lang::Ko => format!(
                "기준: `{}`(시작 {}, {}). 변화는 그 수치에 대해 측정한 실행 간 편차(두 실행의 반복 편차 중 큰 값, 수용량은 최소한 탐색 해상도 10 %)보다 클 때만 실제 변화로 본다.",
                base.file, base.started, base.cpu
            ),
        }
    );
    let _ = writeln!(
        s,
        "{}",
        lang.pick(
            "| Model | Capacity req/s: then → now | p99 ms: then → now | Server CPU µs/request: then → now |",
            "| 모델 | 수용량 req/s: 기준 → 지금 | p99 ms: 기준 → 지금 | 요청당 서버 CPU µs: 기준 → 지금 |"
        )
    );
    let _ = writeln!(s, "|---|---|---|---|");
    for (m, now) in r.by_capacity() {
        let Some((_, then)) = base.rows.iter().find(|(n, _)| *n == m.name) else {
            let _ = writeln!(
                s,
                "| {} | {} → {} | - | - |",
                m.name,
                lang.pick("not in the baseline", "기준에 없음"),
                shown(now)
            );
            continue;
        };
        // a figure's spread: the larger of the two runs' (unknown if neither run repeated)
        let spread = |f: fn(&Spread) -> f64| match (then.spread, now.spread) {
            (None, None) => None,
            (a, b) => Some(a.as_ref().map_or(0.0, f).max(b.as_ref().map_or(0.0, f))),
        };
        let cap = change(
            lang,
            then.rps,
            now.rps,
            Some(spread(|s| s.rps).unwrap_or(0.0).max(RESOLUTION)),
            then.limited_by == LimitedBy::Generator || now.limited_by == LimitedBy::Generator,
            int,
        );
        let p99 = change(lang, then.p99_ms, now.p99_ms, spread(|s| s.p99), false, ms);
        let cpu = match (then.cpu_us_per_request, now.cpu_us_per_request) {
            (Some(a), Some(b)) => {
                change(lang, a, b, spread(|s| s.cpu), false, |v| format!("{v:.1}"))
            }
            _ => "-".into(),
        };
        let _ = writeln!(s, "| {} | {cap} | {p99} | {cpu} |", m.name);
    }
    let _ = writeln!(s);
    s
}

/// `then → now (+x %, real | within the spread of y %)`.
fn change(
    lang: Lang,
    then: f64,
    now: f64,
    spread: Option<f64>,
    bound: bool,
    fmt: impl Fn(f64) -> String,
) -> String {
    let rel = (now - then) / then.abs().max(1e-9);
    let verdict = match spread {
        _ if bound => lang
            .pick("a lower bound: not compared", "하한값: 비교하지 않음")
            .to_string(),
        None => lang
            .pick("spread not measured", "편차 측정 안 됨")
            .to_string(),
        Some(spread) if rel.abs() > spread => lang.pick("**real**", "**실제 변화**").to_string(),
        Some(spread) => match lang {
            Lang::En => format!("within the spread of {:.0} %", spread * 100.0),
            Lang::Ko => format!("편차 {:.0} % 이내", spread * 100.0),
        },
    };
    format!(
        "{} → {} ({:+.0} %, {verdict})",
        fmt(then),
        fmt(now),
        rel * 100.0
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cap(rps: f64, limited_by: LimitedBy, spread: f64) -> Capacity {
        Capacity {
            rps,
            p99_ms: 10.0,
            limited_by,
            cpu_us_per_request: Some(5.0),
            curve: Vec::new(),
            spread: Some(Spread {
                rps: spread,
                p99: 0.0,
                cpu: 0.0,
            }),
        }
    }

    #[test]
    fn capacities_are_told_apart_only_beyond_resolution_spread_and_bounds() {
        let s = LimitedBy::Server;
        assert!(apart(&cap(12_000.0, s, 0.0), &cap(10_000.0, s, 0.0)));
        assert!(
            !apart(&cap(10_900.0, s, 0.0), &cap(10_000.0, s, 0.0)),
            "within 10 %"
        );
        assert!(
            !apart(&cap(12_000.0, s, 0.25), &cap(10_000.0, s, 0.0)),
            "within the spread"
        );
        assert!(
            !apart(
                &cap(20_000.0, s, 0.0),
                &cap(10_000.0, LimitedBy::Generator, 0.0)
            ),
            "a lower bound may be anywhere above"
        );
        assert!(apart(
            &cap(10_000.0, LimitedBy::Generator, 0.0),
            &cap(500.0, s, 0.0)
        ));
    }

    #[test]
    fn a_change_is_real_only_beyond_the_spread() {
        let real = change(Lang::En, 100.0, 130.0, Some(0.1), false, int);
        assert_eq!(real, "100 → 130 (+30 %, **real**)");
        let noise = change(Lang::En, 100.0, 105.0, Some(0.1), false, int);
        assert_eq!(noise, "100 → 105 (+5 %, within the spread of 10 %)");
        assert!(change(Lang::En, 100.0, 300.0, Some(0.1), true, int).contains("lower bound"));
        assert!(change(Lang::En, 100.0, 300.0, None, false, int).contains("not measured"));
    }
}
