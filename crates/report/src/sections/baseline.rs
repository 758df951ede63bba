//! `--baseline`: the change against an earlier run, marked real only beyond the measured
//! spread.

use std::fmt::Write;

use super::common::{shown, RESOLUTION};
use crate::capacity::{LimitedBy, Spread};
use crate::lang::{int, ms, Lang};
use crate::results::Results;

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
        let Some((_, then)) = base.rows.iter().find(|(n, _)| *n == m.design) else {
            let _ = writeln!(
                s,
                "| {} | {} → {} | - | - |",
                m.design,
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
        let _ = writeln!(s, "| {} | {cap} | {p99} | {cpu} |", m.design);
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
