//! The capacity table: the most each design sustained within the latency objective, what the
//! figures say (the best, the slowest, the lower bounds), and the verdict by capacity.

use std::fmt::Write;

use super::common::{apart, in_top, limited_by, none_met, p99_cell, shown};
use crate::capacity::{Capacity, LimitedBy};
use crate::lang::{int, ms, Lang};
use crate::results::Results;

/// The capacity table and what it says (empty when no capacity was searched).
pub fn capacity_section(lang: Lang, r: &Results) -> String {
    let ranked = r.by_capacity();
    if ranked.is_empty() {
        return String::new();
    }
    let st = &r.settings;
    let (Some(slo_ms), Some(connections)) = (st.slo_p99_ms, st.capacity_connections) else {
        return String::new();
    };
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
                int(connections as f64),
                ms(slo_ms)
            ),
            Lang::Ko => format!(
                "과제 실행 뒤 모델마다 새 서버를 띄우고 연결 {}개에 열린 모델(open model) 부하를 걸었다. p99(각 요청의 예정 전송 시각부터 재므로 대기 시간이 포함된다)가 {}ms를 넘거나, 요청의 1 %가 실패하거나, 서버가 제시된 요청의 90 % 미만을 처리할 때까지 요청률을 올리고, 그 뒤 간격을 반씩 좁혀 10 % 이내로 찾는다. 찾은 요청률을 한 번 더 측정해 두 측정의 차이를 편차로 적는다. `≥`는 하한값이다: 부하 생성기가 먼저 한계에 닿았다.",
                int(connections as f64),
                ms(slo_ms)
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
            m.design,
            shown(c),
            p99_cell(c.p99_ms),
            limited_by(lang, c.limited_by),
            c.cpu_us_per_request
                .map_or_else(|| "-".to_string(), |v| format!("{v:.1}")),
            match (c.spread, c.searches.len()) {
                (None, _) => "-".to_string(),
                (Some(v), 0 | 1) => format!("{:.0} %", v.rps * 100.0),
                (Some(v), n) => format!(
                    "{:.0} % ({n} {})",
                    v.rps * 100.0,
                    lang.pick("searches", "회 탐색")
                ),
            },
            c.curve.len()
        );
    }
    let _ = writeln!(s);
    let again: Vec<String> = ranked
        .iter()
        .filter(|(_, c)| c.searches.len() > 1)
        .map(|(m, c)| {
            let each: Vec<String> = c.searches.iter().map(|&r| int(r)).collect();
            format!("**{}** ({})", m.design, each.join(", "))
        })
        .collect();
    if !again.is_empty() {
        let _ = writeln!(
            s,
            "{}
",
            match lang {
                Lang::En => format!(
                    "Searched again: where the two measurements of a found rate differed by more than 20 %, the whole search ran again on a fresh server (up to three in all), and the table gives the median search, its spread the searches' (highest less lowest, over the median): {}.",
                    again.join("; ")
                ),
                Lang::Ko => format!(
                    "다시 탐색함: 찾은 요청률의 두 측정이 20 % 넘게 달랐던 설계는 새 서버에서 탐색 전체를 다시 했고(모두 세 번까지), 표는 중앙값 탐색이며 편차는 탐색들 사이의 것이다(최고 - 최저, 중앙값 대비): {}.",
                    again.join("; ")
                ),
            }
        );
    }
    for p in capacity_verdict(lang, r) {
        let _ = writeln!(s, "{p}\n");
    }
    let named: Vec<(&str, &Capacity)> = ranked.iter().map(|(m, c)| (m.design.name(), *c)).collect();
    if let Some(p) = none_met(lang, slo_ms, &named) {
        let _ = writeln!(s, "{p}\n");
    }
    s
}

/// What the capacities say: the best, how far the rest are, which are lower bounds.
pub fn capacity_verdict(lang: Lang, r: &Results) -> Vec<String> {
    let ranked = r.by_capacity();
    let (Some(&(_, bc)), Some(slo)) = (ranked.first(), r.settings.slo_p99_ms) else {
        return Vec::new();
    };
    let slo = ms(slo);
    let top: Vec<_> = ranked.iter().filter(|(_, c)| in_top(bc, c)).collect();
    let mut out = vec![the_most(lang, &ranked, &top, &slo)];
    out.extend(the_least(lang, &ranked));
    out.extend(lower_bounds(lang, r, &ranked));
    out
}

/// A design's capacity, as ranked.
type Ranked<'a> = (&'a crate::ModelResult, &'a Capacity);

/// `**epoll** (81,000), **uring** (≥ 90,000)`.
fn names(v: &[&Ranked<'_>]) -> String {
    v.iter()
        .map(|(m, c)| format!("**{}** ({})", m.design, shown(c)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The best, or the designs at the top that this run does not tell apart.
fn the_most(lang: Lang, ranked: &[Ranked<'_>], top: &[&Ranked<'_>], slo: &str) -> String {
    let (best, bc) = ranked[0];
    if top.len() > 1 {
        match lang {
            Lang::En => format!(
                "At the top, {} are not told apart by this run (within 10 %, the measured spread, or lower bounds): each sustained at least {} req/s with p99 ≤ {slo} ms.",
                names(top),
                int(top.iter().map(|(_, c)| c.rps).fold(f64::MAX, f64::min))
            ),
            Lang::Ko => format!(
                "최상위의 {}(은)는 이번 실행으로는 구별되지 않는다(10 % 이내, 측정 편차 이내, 또는 하한값). 모두 p99 ≤ {slo}ms로 최소 {} req/s를 유지했다.",
                names(top),
                int(top.iter().map(|(_, c)| c.rps).fold(f64::MAX, f64::min))
            ),
        }
    } else {
        match lang {
            Lang::En => format!(
                "**{}** sustained the most: {} req/s with p99 ≤ {slo} ms (p99 {} ms there).",
                best.design,
                shown(bc),
                ms(bc.p99_ms)
            ),
            Lang::Ko => format!(
                "**{}**(이)가 가장 많이 버텼다: p99 ≤ {slo}ms에서 {} req/s(그때 p99 {}ms).",
                best.design,
                shown(bc),
                ms(bc.p99_ms)
            ),
        }
    }
}

/// The design that sustained the least, when it is told apart from the best (one that met
/// the objective at no rate is described after the table).
fn the_least(lang: Lang, ranked: &[Ranked<'_>]) -> Option<String> {
    let bc = ranked[0].1;
    let &(last, lc) = ranked.last().filter(|_| ranked.len() > 1)?;
    if !apart(bc, lc) || lc.rps <= 0.0 {
        return None;
    }
    let ratio = bc.rps / lc.rps.max(1e-9);
    Some(match lang {
        Lang::En => format!(
            "**{}** sustained the least: {} req/s, {ratio:.1}× below the best{}.",
            last.design,
            shown(lc),
            if lc.limited_by == LimitedBy::Server {
                String::new()
            } else {
                format!(", limited by {}", limited_by(lang, lc.limited_by))
            }
        ),
        Lang::Ko => format!(
            "가장 적게 버틴 것은 **{}**: {} req/s로 최고의 1/{ratio:.1}{}.",
            last.design,
            shown(lc),
            if lc.limited_by == LimitedBy::Server {
                String::new()
            } else {
                format!(", 한계 요인: {}", limited_by(lang, lc.limited_by))
            }
        ),
    })
}

/// The capacities that are lower bounds: the generator gave out first.
fn lower_bounds(lang: Lang, r: &Results, ranked: &[Ranked<'_>]) -> Option<String> {
    let bounds: Vec<_> = ranked
        .iter()
        .filter(|(_, c)| c.limited_by == LimitedBy::Generator)
        .collect();
    (!bounds.is_empty()).then(|| match lang {
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
    })
}

/// The final verdict by capacity: the best design, or, when the top ones are not told apart,
/// the one among them that needed the least server CPU per request at its capacity.
pub fn capacity_conclusion(lang: Lang, r: &Results) -> Option<String> {
    let ranked = r.by_capacity();
    let &(best, bc) = ranked.first()?;
    let slo = ms(r.settings.slo_p99_ms?);
    let top: Vec<_> = ranked.iter().filter(|(_, c)| in_top(bc, c)).collect();
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
                top.iter().map(|(m, _)| m.design.name()).collect::<Vec<_>>().join(", "),
                win.0.design, win.2, worst.2, worst.0.design
            ),
            Lang::Ko => format!(
                "**결론:** {}개 설계({})가 한 번의 실행으로 구별할 수 있는 범위 안에서 최고 수용량을 함께 가진다. 그중 **{}**(이)가 수용량에서 요청당 서버 CPU를 가장 적게 썼다({:.1} µs, **{}**(은)는 {:.1} µs): p99 ≤ {slo}ms에서 여기서 가장 효율적인 설계이다.",
                top.len(),
                top.iter().map(|(m, _)| m.design.name()).collect::<Vec<_>>().join(", "),
                win.0.design, win.2, worst.0.design, worst.2
            ),
        });
    }
    let next = ranked.get(1).map(|(_, c)| bc.rps / c.rps.max(1e-9));
    Some(match lang {
        Lang::En => format!(
            "**Verdict:** **{}** is the most efficient design here: it sustained {} req/s with p99 ≤ {slo} ms{}.",
            best.design,
            shown(bc),
            next.map_or(String::new(), |x| format!(", {x:.1}× the next"))
        ),
        Lang::Ko => format!(
            "**결론:** 여기서 가장 효율적인 설계는 **{}**이다: p99 ≤ {slo}ms에서 {} req/s를 유지했다{}.",
            best.design,
            shown(bc),
            next.map_or(String::new(), |x| format!(", 다음 설계의 {x:.1}배"))
        ),
    })
}
