//! `--repeat`: every trial of the assignment's run per design, its median and spread, whether
//! the ranking holds across the trials, and each trial in the assignment's words.

use std::fmt::Write;

use crate::lang::{int, ms, Lang};
use crate::results::Results;
use crate::sentence::trial_sentence;

/// The trials section (empty for one trial).
pub fn trials_section(lang: Lang, r: &Results) -> String {
    let ranked: Vec<_> = r
        .ranking()
        .into_iter()
        .filter(|(_, c, _)| c.trials.len() > 1)
        .collect();
    let Some(n) = ranked.iter().map(|(_, c, _)| c.trials.len()).max() else {
        return String::new();
    };
    let mut s = format!(
        "## {}\n\n{}\n\n",
        lang.pick("Trials", "반복 실험"),
        match lang {
            Lang::En => format!("Each design's assignment run was repeated {n} times, each time on a fresh server (`--repeat {n}`). The results table shows the median trial (by peak RPS); the spread is the highest trial's peak RPS less the lowest's, as a share of the median."),
            Lang::Ko => format!("설계마다 과제 실행을 {n}번 반복했고, 매번 새 서버를 띄웠다 (`--repeat {n}`). 결과 표는 중앙값 시행(최고 RPS 기준)이다. 편차는 가장 높은 시행과 가장 낮은 시행의 최고 RPS 차이를 중앙값에 대한 비율로 나타낸 것이다."),
        }
    );
    let mut head = format!("| {} |", lang.pick("Model", "모델"));
    for k in 1..=n {
        let _ = write!(head, " {} {k} |", lang.pick("Trial", "시행"));
    }
    let _ = write!(
        head,
        " {} | {} |",
        lang.pick("Median peak RPS", "최고 RPS 중앙값"),
        lang.pick("Spread", "편차")
    );
    let _ = writeln!(s, "{head}");
    let _ = writeln!(s, "|{}", "---|".repeat(head.matches('|').count() - 1));
    for (m, c, _) in &ranked {
        let mut row = format!("| {} |", m.design);
        for k in 0..n {
            match c.trials.get(k) {
                Some(t) => {
                    let _ = write!(
                        row,
                        " {} req/s, {} ms, {} {} |",
                        int(t.peak_rps),
                        ms(t.avg_ms),
                        int(t.failures as f64),
                        lang.pick("failures", "실패")
                    );
                }
                None => row.push_str(" - |"),
            }
        }
        let spread = c.trial_spread().map_or(0.0, |(_, _, x)| x);
        let _ = writeln!(s, "{row} {} | {:.0} % |", int(c.peak_rps), spread * 100.0);
    }
    s.push('\n');
    // neighbours in the ranking whose trials overlap are not ranked by them
    for pair in ranked.windows(2) {
        let ((a, ac, _), (b, bc, _)) = (&pair[0], &pair[1]);
        let (Some((alo, ahi, _)), Some((blo, bhi, _))) = (ac.trial_spread(), bc.trial_spread())
        else {
            continue;
        };
        if blo <= ahi && alo <= bhi {
            let _ = writeln!(
                s,
                "{}\n",
                match lang {
                    Lang::En => format!(
                        "**{}** and **{}** are within their trials' spread ({} to {} and {} to {} req/s): these trials do not rank one above the other.",
                        a.design, b.design, int(alo), int(ahi), int(blo), int(bhi)
                    ),
                    Lang::Ko => format!(
                        "**{}** 와 **{}** 는 시행 편차 안에 있다 ({}~{}, {}~{} req/s): 이 시행들로는 둘의 순위를 매길 수 없다.",
                        a.design, b.design, int(alo), int(ahi), int(blo), int(bhi)
                    ),
                }
            );
        }
    }
    let _ = writeln!(
        s,
        "{}\n",
        lang.pick(
            "Each trial, in the assignment's words:",
            "시행별 결과(과제 형식):"
        )
    );
    for (m, c, _) in &ranked {
        for (k, t) in c.trials.iter().enumerate() {
            let _ = writeln!(
                s,
                "- **{}**, {} {}: {}",
                m.design,
                lang.pick("trial", "시행"),
                k + 1,
                trial_sentence(lang, t)
            );
        }
    }
    s
}
