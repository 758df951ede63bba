//! What the sections share: how a capacity is written, what limited it, when two are told
//! apart, and the sentence for designs that met the objective at no rate.

use crate::capacity::{Capacity, LimitedBy};
use crate::lang::{int, ms, Lang};

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
pub(super) fn apart(a: &Capacity, b: &Capacity) -> bool {
    let (hi, lo) = if a.rps >= b.rps { (a, b) } else { (b, a) };
    if lo.limited_by == LimitedBy::Generator {
        return false; // a lower bound may be anywhere above its figure
    }
    let spread = |c: &Capacity| c.spread.map_or(0.0, |s| s.rps);
    let margin = RESOLUTION.max(spread(a)).max(spread(b));
    hi.rps > lo.rps * (1.0 + margin)
}

/// Whether `c` belongs with the best, `best`: not told apart from it, and, for a lower bound,
/// a figure within the margin of the best's. (A lower bound far below the best may be
/// anywhere above its figure, but nothing says it is up there: it is left unranked, and the
/// lower-bounds sentence says so, rather than named a co-winner.)
pub(super) fn in_top(best: &Capacity, c: &Capacity) -> bool {
    if c.limited_by == LimitedBy::Generator && c.rps < best.rps {
        let spread = |c: &Capacity| c.spread.map_or(0.0, |s| s.rps);
        let margin = RESOLUTION.max(spread(best)).max(spread(c));
        return c.rps * (1.0 + margin) >= best.rps;
    }
    !apart(best, c)
}

/// For designs for which no rate met the objective: what the lowest rate tried gave.
pub(super) fn none_met(lang: Lang, slo_ms: f64, rows: &[(&str, &Capacity)]) -> Option<String> {
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

/// A table's p99 cell: ms, or `-` for the placeholder of a window in which nothing completed.
pub fn p99_cell(v: f64) -> String {
    if v >= 1e8 {
        "-".to_string()
    } else {
        ms(v)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_windows_p99_is_no_number_in_a_table() {
        assert_eq!(p99_cell(1e9), "-");
        assert_eq!(p99_cell(12.5), ms(12.5));
    }
    use crate::capacity::Spread;

    fn cap(rps: f64, limited_by: LimitedBy, spread: f64) -> Capacity {
        Capacity {
            rps,
            p99_ms: 10.0,
            limited_by,
            cpu_us_per_request: Some(5.0),
            handshakes_per_s: None,
            curve: Vec::new(),
            spread: Some(Spread {
                rps: spread,
                p99: 0.0,
                cpu: 0.0,
            }),
            searches: Vec::new(),
        }
    }

    #[test]
    fn capacities_are_told_apart_only_beyond_resolution_spread_and_bounds() {
        let s = LimitedBy::Server;
        assert!(apart(&cap(12_000.0, s, 0.0), &cap(10_000.0, s, 0.0)));
        // a lower bound far below the best is not with it; one close to it is
        let bound = |rps| cap(rps, LimitedBy::Generator, 0.0);
        assert!(!in_top(&cap(19_000.0, s, 0.0), &bound(126.0)));
        assert!(in_top(&cap(19_000.0, s, 0.0), &bound(18_000.0)));
        assert!(in_top(&bound(19_000.0), &cap(18_000.0, s, 0.0)));
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
}
