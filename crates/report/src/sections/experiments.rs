//! `--experiment`: each design under the conditions courses study, a table and a verdict per
//! experiment that names the mechanism with the figures.

use std::fmt::Write;

use swarmlab_models::Model;

use crate::lang::{ms, Lang};
use crate::results::{Design, Experiment, HeadOfLine, HolPoint, HolRow, LongRequest, Results};

/// A design whose short requests' p99 is at least this many times the best design's is held
/// behind the long ones.
pub const HELD: f64 = 3.0;

/// Every experiment's section, in the order they ran.
pub fn experiments_section(lang: Lang, r: &Results) -> String {
    r.experiments
        .iter()
        .map(|e| match e {
            Experiment::HeadOfLine(h) => head_of_line(lang, h),
        })
        .collect()
}

fn head_of_line(lang: Lang, h: &HeadOfLine) -> String {
    let mut s = format!(
        "## {}\n\n",
        lang.pick(
            "Long requests among short ones (head-of-line blocking)",
            "짧은 요청 사이의 긴 요청 (head-of-line blocking)"
        )
    );
    let loads: Vec<String> = h.loads.iter().map(|l| describe(lang, *l)).collect();
    let _ = writeln!(
        s,
        "{}\n",
        match lang {
            Lang::En => format!(
                "Each design under {:.0} req/s over {} keep-alive connections (each waits for its answer, then a think time), for {:.0} s after a second of warm-up, once per load; in each, {:.0} % of the requests are long and the rest `GET /`. The loads' long requests: {}. CPU work shorter than the kernel's time slice and longer: a thread that computes is preempted only after a slice. Event loops run one loop per server core.",
                h.rate, h.connections, h.seconds, h.long_pct, loads.join("; ")
            ),
            Lang::Ko => format!(
                "설계마다 keep-alive 연결 {}개로 초당 {:.0}개 요청을 (연결마다 응답을 기다린 뒤 생각 시간을 두고) 부하마다 한 번씩, 1초 준비 후 {:.0}초 걸었다. 요청의 {:.0} % 는 길고 나머지는 `GET /` 이다. 부하별 긴 요청: {}. CPU 작업은 커널의 타임 슬라이스보다 짧은 것과 긴 것이다: 계산 중인 스레드는 슬라이스가 지나야 선점된다. 이벤트 루프는 서버 코어마다 루프 하나로 돌았다.",
                h.connections, h.rate, h.seconds, h.long_pct, loads.join("; ")
            ),
        }
    );
    s += &hol_table(lang, h);
    for p in hol_verdict(lang, h) {
        let _ = writeln!(s, "{p}\n");
    }
    s
}

/// µs as ms, without a needless decimal (1000 µs: "1").
fn cpu_ms(us: u64) -> String {
    if us % 1000 == 0 {
        (us / 1000).to_string()
    } else {
        format!("{:.1}", us as f64 / 1000.0)
    }
}

/// A load's long request in words.
fn describe(lang: Lang, l: LongRequest) -> String {
    match (lang, l) {
        (Lang::En, LongRequest::Cpu(us)) => {
            format!("{} ms of CPU (`GET {}`)", cpu_ms(us), l.path())
        }
        (Lang::Ko, LongRequest::Cpu(us)) => format!("CPU {} ms (`GET {}`)", cpu_ms(us), l.path()),
        (Lang::En, LongRequest::Sleep(m)) => format!("{m} ms of waiting (`GET {}`)", l.path()),
        (Lang::Ko, LongRequest::Sleep(m)) => format!("{m} ms 대기 (`GET {}`)", l.path()),
    }
}

/// A load's column heading.
fn heading(lang: Lang, l: LongRequest) -> String {
    match (lang, l) {
        (Lang::En, LongRequest::Cpu(us)) => format!("{} ms CPU", cpu_ms(us)),
        (Lang::Ko, LongRequest::Cpu(us)) => format!("CPU {} ms", cpu_ms(us)),
        (Lang::En, LongRequest::Sleep(m)) => format!("{m} ms wait"),
        (Lang::Ko, LongRequest::Sleep(m)) => format!("대기 {m} ms"),
    }
}

fn hol_table(lang: Lang, h: &HeadOfLine) -> String {
    let (short99, long99) = match lang {
        Lang::En => ("short p99", "long p99"),
        Lang::Ko => ("짧은 요청 p99", "긴 요청 p99"),
    };
    let mut s = format!("| {} |", lang.pick("Design", "설계"));
    for l in &h.loads {
        let t = heading(lang, *l);
        let _ = write!(s, " {t}: {short99} | {t}: {long99} |");
    }
    let _ = writeln!(s, "\n|---|{}", "---|---|".repeat(h.loads.len()));
    for row in &h.rows {
        let _ = write!(s, "| {} |", row.design);
        for p in &row.points {
            match &p.skipped {
                Some(_) => {
                    let _ = write!(s, " {} | |", lang.pick("did not run", "실행 안 됨"));
                }
                None => {
                    let failed = match (lang, p.failures) {
                        (_, 0) => String::new(),
                        (Lang::En, n) => format!(" ({n} of {} failed)", p.requests),
                        (Lang::Ko, n) => format!(" ({}개 중 {n}개 실패)", p.requests),
                    };
                    let _ = write!(
                        s,
                        " {}{failed} | {} |",
                        cell(p.short_p99_ms),
                        cell(p.long_p99_ms)
                    );
                }
            }
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(s);
    s
}

fn cell(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{} ms", ms(v)))
}

/// The verdict: for each load, the design whose short requests fared best, those held behind
/// the long ones (p99 at least [`HELD`] times the best's) and why, the others by what they do.
pub fn hol_verdict(lang: Lang, h: &HeadOfLine) -> Vec<String> {
    let mut out = Vec::new();
    for (i, &load) in h.loads.iter().enumerate() {
        let intro = match (lang, load) {
            (Lang::En, LongRequest::Cpu(us)) => format!(
                "With {:.0} % of the requests taking {} ms of CPU",
                h.long_pct,
                cpu_ms(us)
            ),
            (Lang::Ko, LongRequest::Cpu(us)) => format!(
                "요청의 {:.0} % 가 CPU 를 {} ms 쓸 때",
                h.long_pct,
                cpu_ms(us)
            ),
            (Lang::En, LongRequest::Sleep(m)) => {
                format!("With {:.0} % waiting {m} ms", h.long_pct)
            }
            (Lang::Ko, LongRequest::Sleep(m)) => {
                format!("요청의 {:.0} % 가 {m} ms 기다릴 때", h.long_pct)
            }
        };
        let sleep = matches!(load, LongRequest::Sleep(_));
        let measured: Vec<(&HolRow, f64)> = h
            .rows
            .iter()
            .filter_map(|r| Some((r, r.points.get(i)?.short_p99_ms?)))
            .collect();
        let Some(&(best, best_p99)) = measured.iter().min_by(|a, b| a.1.total_cmp(&b.1)) else {
            continue;
        };
        let mut p = match lang {
            Lang::En => format!(
                "{intro}, the short requests fared best on **{}** (p99 {} ms).",
                best.design,
                ms(best_p99)
            ),
            Lang::Ko => format!(
                "{intro}, 짧은 요청은 **{}** 에서 가장 빨랐다 (p99 {} ms).",
                best.design,
                ms(best_p99)
            ),
        };
        // held: at least HELD times the best, and at least half a long request's own time (a
        // short request that waited behind one); the mechanisms grouped by design kind
        let long_ms = match load {
            LongRequest::Cpu(us) => us as f64 / 1000.0,
            LongRequest::Sleep(m) => m as f64,
        };
        let (mut held, mut free) = (Vec::new(), Vec::new());
        let mut whys: Vec<(&str, Vec<String>)> = Vec::new();
        for &(row, p99) in &measured {
            let times = p99 / best_p99.max(1e-6);
            if times >= HELD && p99 >= long_ms / 2.0 {
                held.push(format!("**{}** {} ms ({times:.0}×)", row.design, ms(p99)));
            } else {
                free.push(format!("{} {} ms", row.design, ms(p99)));
            }
            if let Some(why) = mechanism(lang, &row.design, sleep) {
                match whys.iter_mut().find(|(w, _)| *w == why) {
                    Some((_, names)) => names.push(row.design.to_string()),
                    None => whys.push((why, vec![row.design.to_string()])),
                }
            }
        }
        let _ = write!(
            p,
            " {}",
            match (lang, held.is_empty()) {
                (Lang::En, true) => format!(
                    "None was held behind the long ones (short p99 at least {HELD:.0}× the best's and half a long request): {}.",
                    free.join(", ")
                ),
                (Lang::Ko, true) => format!(
                    "긴 요청 뒤에 묶인 설계는 없었다 (짧은 요청 p99 가 가장 빠른 쪽의 {HELD:.0}배 이상이고 긴 요청의 절반 이상): {}.",
                    free.join(", ")
                ),
                (Lang::En, false) => format!(
                    "Held behind the long ones (short p99 at least {HELD:.0}× the best's and half a long request): {}.{}",
                    held.join(", "),
                    if free.is_empty() { String::new() } else { format!(" Not held: {}.", free.join(", ")) }
                ),
                (Lang::Ko, false) => format!(
                    "긴 요청 뒤에 묶였다 (짧은 요청 p99 가 가장 빠른 쪽의 {HELD:.0}배 이상이고 긴 요청의 절반 이상): {}.{}",
                    held.join(", "),
                    if free.is_empty() { String::new() } else { format!(" 묶이지 않았다: {}.", free.join(", ")) }
                ),
            }
        );
        let why: Vec<String> = whys
            .into_iter()
            .map(|(w, names)| format!("{}: {w}", names.join(", ")))
            .collect();
        if !why.is_empty() {
            let _ = write!(p, " {}{}.", lang.pick("Why: ", "이유: "), why.join("; "));
        }
        out.push(p);
    }
    out
}

/// What a built-in design does with a long request, by design (`sleep`: one that waits;
/// otherwise one that computes); `None` for a server of the user's own.
fn mechanism(lang: Lang, design: &Design, sleep: bool) -> Option<&'static str> {
    let Design::Model(m) = design else {
        return None;
    };
    Some(match (m, sleep) {
        (Model::Select | Model::Poll | Model::Epoll | Model::Uring | Model::Procs, false) => lang.pick(
            "its loop runs each request to its end, so a short request that arrives behind a long one waits for it",
            "루프가 요청 하나를 끝까지 처리하므로, 긴 요청 뒤에 온 짧은 요청은 그것을 기다린다",
        ),
        (Model::Tokio, false) => lang.pick(
            "a request's CPU runs inside its task and holds the runtime's thread, so the tasks queued behind it on that thread wait",
            "요청의 CPU 작업이 태스크 안에서 돌며 런타임 스레드를 붙잡으므로, 그 스레드에 줄 선 태스크는 기다린다",
        ),
        (Model::Select | Model::Poll | Model::Epoll | Model::Uring | Model::Procs | Model::Tokio, true) => lang.pick(
            "its loop waits with a timer, not by blocking, and goes on serving the others meanwhile",
            "루프가 막혀서가 아니라 타이머로 기다리므로, 그동안 다른 요청을 계속 처리한다",
        ),
        (Model::Thread | Model::Fork, false) => lang.pick(
            "a thread or process per connection, which the kernel time-slices every few milliseconds: a short request waits at most a slice however long the long one is, and a burst shorter than a slice it waits out whole, as on a loop",
            "연결마다 스레드나 프로세스가 있고 커널이 몇 ms 마다 시분할하므로, 짧은 요청은 긴 요청이 아무리 길어도 슬라이스 하나까지만 기다린다. 슬라이스보다 짧은 작업은 루프에서처럼 끝날 때까지 기다린다",
        ),
        (Model::Thread | Model::Fork, true) => lang.pick(
            "a thread or process per connection: the one that waits sleeps alone",
            "연결마다 스레드나 프로세스가 있어, 기다리는 쪽은 혼자 잠든다",
        ),
        (Model::Prefork | Model::Pool, _) => lang.pick(
            "N workers each serve one connection at a time, and a keep-alive connection keeps its worker until it idles, so requests wait for a worker whatever their length",
            "워커 N개가 각자 한 번에 연결 하나를 처리하고 keep-alive 연결은 쉴 때까지 워커를 붙잡으므로, 요청은 길이와 상관없이 워커를 기다린다",
        ),
        (Model::Single, _) => lang.pick(
            "it serves one connection at a time, so every request waits for the one being served",
            "한 번에 연결 하나만 처리하므로, 모든 요청이 처리 중인 요청을 기다린다",
        ),
    })
}

/// The short requests' p99 per design under load `i`, for the chart.
pub fn hol_bars(h: &HeadOfLine, i: usize) -> Vec<(String, f64)> {
    h.rows
        .iter()
        .filter_map(|r| {
            let p: &HolPoint = r.points.get(i)?;
            Some((r.design.name().to_string(), p.short_p99_ms?))
        })
        .collect()
}

/// A load's chart title.
pub fn hol_chart_title(lang: Lang, h: &HeadOfLine, i: usize) -> String {
    let t = h
        .loads
        .get(i)
        .map_or_else(String::new, |l| describe(lang, *l));
    let t = t.split(" (`").next().unwrap_or_default().to_string();
    match lang {
        Lang::En => format!("Short requests' p99, {:.0} % taking {t}", h.long_pct),
        Lang::Ko => format!("짧은 요청의 p99, {:.0} % 가 {t}", h.long_pct),
    }
}
