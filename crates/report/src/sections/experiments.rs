//! `--experiment`: each design under the conditions courses study, a table and a verdict per
//! experiment that names the mechanism with the figures.

use std::fmt::Write;

use swarmlab_models::Model;

use crate::lang::{ms, Lang};
use crate::results::{
    Bandwidth, Design, Experiment, HeadOfLine, HolPoint, HolRow, Idle, IdlePoint, LongRequest,
    Network, NetworkMethod, NoNetem, NoShaping, Overload, OverloadWindow, PoolLoad, PoolRow,
    PoolSize, Results, SlowClients, SlowLoad, SlowPoint,
};

/// A design whose short requests' p99 is at least this many times the best design's is held
/// behind the long ones.
pub const HELD: f64 = 3.0;

/// Every experiment's section, in the order they ran.
pub fn experiments_section(lang: Lang, r: &Results) -> String {
    r.experiments
        .iter()
        .map(|e| experiment_section(lang, e))
        .collect()
}

/// One experiment's section.
pub fn experiment_section(lang: Lang, e: &Experiment) -> String {
    match e {
        Experiment::SlowClients(x) => slow_clients(lang, x),
        Experiment::Idle(x) => idle(lang, x),
        Experiment::HeadOfLine(h) => head_of_line(lang, h),
        Experiment::PoolSize(x) => pool_size(lang, x),
        Experiment::Overload(x) => overload(lang, x),
        Experiment::Network(x) => network(lang, x),
    }
}

/// What the ids of an experiment's charts begin with (`figures/ID.png`).
pub fn chart_prefix(e: &Experiment) -> &'static str {
    match e {
        Experiment::SlowClients(_) => "experiment-slow-clients",
        Experiment::Idle(_) => "experiment-idle",
        Experiment::HeadOfLine(_) => "experiment-head-of-line",
        Experiment::PoolSize(_) => "experiment-pool-size",
        Experiment::Overload(_) => "experiment-overload",
        Experiment::Network(_) => "experiment-network",
    }
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
                "Each design under {:.0} req/s over {} keep-alive connections (each waits for its answer, then a think time), for {} s after half a second of warm-up, once per load; in each, {:.0} % of the requests are long and the rest `GET /`. The loads' long requests: {}. CPU work shorter than the kernel's time slice and longer: a thread that computes is preempted only after a slice. Event loops run one loop per server core.",
                h.rate, h.connections, h.seconds, h.long_pct, loads.join("; ")
            ),
            Lang::Ko => format!(
                "설계마다 keep-alive 연결 {}개로 초당 {:.0}개 요청을 (연결마다 응답을 기다린 뒤 생각 시간을 두고) 부하마다 한 번씩, 0.5초 준비 후 {}초 걸었다. 요청의 {:.0} % 는 길고 나머지는 `GET /` 이다. 부하별 긴 요청: {}. CPU 작업은 커널의 타임 슬라이스보다 짧은 것과 긴 것이다: 계산 중인 스레드는 슬라이스가 지나야 선점된다. 이벤트 루프는 서버 코어마다 루프 하나로 돌았다.",
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

/// Under slow clients, a design that kept less than this share of its rate alone was stopped.
pub const STOPPED: f64 = 0.1;
/// ... and less than this share, slowed.
pub const SLOWED: f64 = 0.5;

fn slow_clients(lang: Lang, x: &SlowClients) -> String {
    let mut s = format!(
        "## {}\n\n",
        lang.pick(
            "Slow clients (slowloris, slow readers)",
            "느린 클라이언트 (slowloris, 느린 수신자)"
        )
    );
    let loads: Vec<String> = x
        .loads
        .iter()
        .filter(|l| **l != SlowLoad::None)
        .map(|l| slow_describe(lang, *l))
        .collect();
    let _ = writeln!(
        s,
        "{}\n",
        match lang {
            Lang::En => format!(
                "Each design under {:.0} req/s over {} keep-alive connections (each paced to its share, Locust's `constant_throughput`), for {} s after half a second of warm-up: alone (one run shared by the experiments that use this load), then beside {} slow clients connected first and held through the run: {}. The servers' own limits: a header section must arrive within {:.0} s, and a client that reads nothing for {:.0} s is dropped; the runs are shorter, so what a design does until then is what is measured.",
                x.rate, x.connections, x.seconds, x.slow, loads.join("; "), x.header_timeout_s, x.write_timeout_s
            ),
            Lang::Ko => format!(
                "설계마다 keep-alive 연결 {}개로 초당 {:.0}개 요청을 (연결마다 제 몫의 속도로, Locust 의 `constant_throughput`) 0.5초 준비 후 {}초 걸었다: 혼자 (이 부하를 쓰는 실험들이 함께 쓰는 한 번의 실행), 그리고 먼저 연결해 끝까지 붙잡고 있는 느린 클라이언트 {}개 옆에서: {}. 서버 자체의 한도: 헤더는 {:.0}초 안에 와야 하고, {:.0}초 동안 아무것도 읽지 않는 클라이언트는 끊긴다. 실행이 그보다 짧으므로, 그때까지 설계가 하는 일이 측정된다.",
                x.connections, x.rate, x.seconds, x.slow, loads.join("; "), x.header_timeout_s, x.write_timeout_s
            ),
        }
    );
    s += &slow_table(lang, x);
    for p in slow_verdict(lang, x) {
        let _ = writeln!(s, "{p}\n");
    }
    s
}

/// A slow load in words.
fn slow_describe(lang: Lang, l: SlowLoad) -> String {
    match (lang, l) {
        (Lang::En, SlowLoad::None) => "none".into(),
        (Lang::Ko, SlowLoad::None) => "없음".into(),
        (Lang::En, SlowLoad::Headers) => {
            "each sends a request line and one header and never ends the header section (slowloris)"
                .into()
        }
        (Lang::Ko, SlowLoad::Headers) => {
            "요청 줄과 헤더 하나만 보내고 헤더를 끝내지 않는다 (slowloris)".into()
        }
        (Lang::En, SlowLoad::Reader(n)) => format!(
            "each asks for {} MiB (`GET /bytes?n={n}`) and never reads it (slow readers)",
            n >> 20
        ),
        (Lang::Ko, SlowLoad::Reader(n)) => format!(
            "{} MiB 를 요청하고 (`GET /bytes?n={n}`) 읽지 않는다 (느린 수신자)",
            n >> 20
        ),
    }
}

/// A slow load's column heading.
fn slow_heading(lang: Lang, l: SlowLoad) -> &'static str {
    match l {
        SlowLoad::None => lang.pick("alone", "혼자"),
        SlowLoad::Headers => lang.pick("beside slowloris", "slowloris 옆"),
        SlowLoad::Reader(_) => lang.pick("beside slow readers", "느린 수신자 옆"),
    }
}

fn slow_table(lang: Lang, x: &SlowClients) -> String {
    let mut s = format!("| {} |", lang.pick("Design", "설계"));
    for l in &x.loads {
        let t = slow_heading(lang, *l);
        let _ = write!(s, " {t}: req/s | {t}: p99 |");
    }
    let _ = writeln!(s, "\n|---|{}", "---|---|".repeat(x.loads.len()));
    for row in &x.rows {
        let _ = write!(s, "| {} |", row.design);
        for p in &row.points {
            match &p.skipped {
                Some(_) => {
                    let _ = write!(s, " {} | |", lang.pick("did not run", "실행 안 됨"));
                }
                None => {
                    let failed = match (lang, p.failures) {
                        (_, 0) => String::new(),
                        (Lang::En, n) => format!(" ({n} failed)"),
                        (Lang::Ko, n) => format!(" ({n}개 실패)"),
                    };
                    let _ = write!(s, " {:.0}{failed} | {} |", p.rps, cell(p.p99_ms));
                }
            }
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(s);
    s
}

/// The verdict: per slow load, the designs the slow clients stopped (under [`STOPPED`] of
/// their rate alone), slowed (under [`SLOWED`]) and left alone, with each design's mechanism.
pub fn slow_verdict(lang: Lang, x: &SlowClients) -> Vec<String> {
    let Some(alone) = x.loads.iter().position(|l| *l == SlowLoad::None) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, &load) in x.loads.iter().enumerate() {
        if load == SlowLoad::None {
            continue;
        }
        let (mut stopped, mut slowed, mut kept) = (Vec::new(), Vec::new(), Vec::new());
        let mut whys: Vec<(String, Vec<String>)> = Vec::new();
        for row in &x.rows {
            let (Some(base), Some(p)) = (row.points.get(alone), row.points.get(i)) else {
                continue;
            };
            if base.skipped.is_some() || p.skipped.is_some() || base.rps <= 0.0 {
                continue;
            }
            let share = p.rps / base.rps;
            let named = format!("{} {:.0} req/s ({:.0} %)", row.design, p.rps, share * 100.0);
            if share < STOPPED {
                stopped.push(format!("**{named}**"));
            } else if share < SLOWED {
                slowed.push(format!("**{named}**"));
            } else {
                kept.push(named);
            }
            if let Some(why) = slow_mechanism(lang, &row.design, row.workers, load, x) {
                match whys.iter_mut().find(|(w, _)| *w == why) {
                    Some((_, names)) => names.push(row.design.to_string()),
                    None => whys.push((why, vec![row.design.to_string()])),
                }
            }
        }
        let intro = match lang {
            Lang::En => format!(
                "Beside {} slow clients that {}, of the rate each design served alone:",
                x.slow,
                match load {
                    SlowLoad::Headers => "never finish their headers",
                    _ => "never read their answers",
                }
            ),
            Lang::Ko => format!(
                "{}을 하는 느린 클라이언트 {}개 옆에서, 혼자일 때의 처리량 대비:",
                match load {
                    SlowLoad::Headers => "헤더를 끝내지 않기",
                    _ => "응답을 읽지 않기",
                },
                x.slow
            ),
        };
        let mut p = intro;
        for (names, en, ko) in [
            (&stopped, "Stopped (under 10 %)", "멈췄다 (10 % 미만)"),
            (&slowed, "Slowed (under half)", "느려졌다 (절반 미만)"),
            (&kept, "Kept serving", "계속 처리했다"),
        ] {
            if !names.is_empty() {
                let _ = write!(p, " {}: {}.", lang.pick(en, ko), names.join(", "));
            }
        }
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

/// What a built-in design does with a slow client; `None` for a server of the user's own.
fn slow_mechanism(
    lang: Lang,
    design: &Design,
    workers: Option<usize>,
    load: SlowLoad,
    x: &SlowClients,
) -> Option<String> {
    let Design::Model(m) = design else {
        return None;
    };
    let (until_en, until_ko) = match load {
        SlowLoad::Headers => (
            format!("until its header timeout ({:.0} s)", x.header_timeout_s),
            format!("헤더 타임아웃({:.0}초)까지", x.header_timeout_s),
        ),
        _ => (
            format!(
                "blocked in a write until its write timeout ({:.0} s)",
                x.write_timeout_s
            ),
            format!(
                "쓰기 타임아웃({:.0}초)까지 쓰기에서 막혀",
                x.write_timeout_s
            ),
        ),
    };
    Some(match m {
        Model::Single => match lang {
            Lang::En => format!("it serves one connection at a time, and the first slow one holds it {until_en}, while everyone else waits in the listen queue"),
            Lang::Ko => format!("한 번에 연결 하나만 처리하는데, 첫 느린 클라이언트가 {until_ko} 붙잡고, 나머지는 listen 큐에서 기다린다"),
        },
        Model::Pool | Model::Prefork => {
            let n = workers.map_or_else(|| "N".to_string(), |n| n.to_string());
            match lang {
                Lang::En if workers == Some(1) => format!("its one worker serves one connection at a time, and {} slow clients hold it {until_en}", x.slow),
                Lang::En => format!("{n} workers each serve one connection at a time, and {} slow clients hold every one of them {until_en}", x.slow),
                Lang::Ko => format!("워커 {n}개가 각자 한 번에 연결 하나만 처리하는데, 느린 클라이언트 {}개가 워커를 모두 {until_ko} 붙잡는다", x.slow),
            }
        }
        Model::Thread | Model::Fork => lang
            .pick(
                "a thread or process per connection: a slow client's thread or process waits alone, at the price of a stack or a process each",
                "연결마다 스레드나 프로세스가 있어, 느린 클라이언트의 것은 혼자 기다린다 (대신 각각 스택이나 프로세스 하나)",
            )
            .to_string(),
        Model::Select | Model::Poll | Model::Epoll | Model::Uring | Model::Procs | Model::Tokio => lang
            .pick(
                "the loop waits on every connection at once and serves whichever is ready: a slow client costs a descriptor and its buffers, not the loop's time",
                "루프가 모든 연결을 한꺼번에 기다리고 준비된 것을 처리하므로, 느린 클라이언트는 디스크립터와 버퍼만 쓰고 루프의 시간은 쓰지 않는다",
            )
            .to_string(),
    })
}

/// Requests per second per design under load `i`, for the chart.
pub fn slow_bars(x: &SlowClients, i: usize) -> Vec<(String, f64)> {
    x.rows
        .iter()
        .filter_map(|r| {
            let p: &SlowPoint = r.points.get(i)?;
            p.skipped
                .is_none()
                .then(|| (r.design.name().to_string(), p.rps))
        })
        .collect()
}

/// A slow load's chart title.
pub fn slow_chart_title(lang: Lang, x: &SlowClients, i: usize) -> String {
    match (lang, x.loads.get(i)) {
        (Lang::En, Some(SlowLoad::None)) => "Requests per second, no slow clients".into(),
        (Lang::Ko, Some(SlowLoad::None)) => "초당 요청 수, 느린 클라이언트 없음".into(),
        (Lang::En, Some(SlowLoad::Headers)) => {
            format!("Requests per second beside {} slowloris clients", x.slow)
        }
        (Lang::Ko, Some(SlowLoad::Headers)) => {
            format!("초당 요청 수, slowloris 클라이언트 {}개 옆", x.slow)
        }
        (Lang::En, _) => format!("Requests per second beside {} slow readers", x.slow),
        (Lang::Ko, _) => format!("초당 요청 수, 느린 수신자 {}개 옆", x.slow),
    }
}

/// Beside idle connections, a design whose CPU per request is at least this many times the
/// best's pays for them on every wakeup.
pub const PAID: f64 = 3.0;

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn idle(lang: Lang, x: &Idle) -> String {
    let mut s = format!(
        "## {}\n\n",
        lang.pick("Idle connections (C10K)", "유휴 연결 (C10K)")
    );
    let most = x.idle.iter().copied().max().unwrap_or(0);
    let _ = writeln!(
        s,
        "{}\n",
        match lang {
            Lang::En => format!(
                "Each design under {:.0} req/s over {} keep-alive connections (each paced to its share, Locust's `constant_throughput`), for {} s after half a second of warm-up: alone (one run shared by the experiments that use this load), then beside {} idle connections, each of which sent one request and keeps its connection open (the server's idle timeout, {:.0} s, is longer than the run). The server's CPU per request is its CPU time over the measured seconds divided by the requests completed: with idle connections it holds what each wakeup costs beyond the work.",
                x.rate, x.connections, x.seconds, thousands(most), x.idle_timeout_s
            ),
            Lang::Ko => format!(
                "설계마다 keep-alive 연결 {}개로 초당 {:.0}개 요청을 (연결마다 제 몫의 속도로, Locust 의 `constant_throughput`) 0.5초 준비 후 {}초 걸었다: 혼자 (이 부하를 쓰는 실험들이 함께 쓰는 한 번의 실행), 그리고 요청 하나를 보낸 뒤 연결을 열어 둔 유휴 연결 {}개 옆에서 (서버의 유휴 타임아웃 {:.0}초는 실행보다 길다). 요청당 서버 CPU 는 측정 구간의 서버 CPU 시간을 끝난 요청 수로 나눈 값으로, 유휴 연결이 있을 때는 깨어날 때마다 드는 비용이 들어 있다.",
                x.connections, x.rate, x.seconds, thousands(most), x.idle_timeout_s
            ),
        }
    );
    s += &idle_table(lang, x);
    if let Some(p) = idle_verdict(lang, x) {
        let _ = writeln!(s, "{p}\n");
    }
    s
}

fn idle_table(lang: Lang, x: &Idle) -> String {
    let mut s = format!("| {} |", lang.pick("Design", "설계"));
    for &n in &x.idle {
        let t = match (lang, n) {
            (Lang::En, 0) => "alone".to_string(),
            (Lang::Ko, 0) => "혼자".to_string(),
            (Lang::En, n) => format!("{} idle", thousands(n)),
            (Lang::Ko, n) => format!("유휴 {}", thousands(n)),
        };
        if n > 0 {
            let _ = write!(
                s,
                " {t}: {} | {t}: {} |",
                lang.pick("answered", "응답받음"),
                lang.pick("open at the end", "끝까지 열린 것")
            );
        }
        let _ = write!(
            s,
            " {t}: req/s | {t}: {} | {t}: PSS MiB | {t}: {} |",
            lang.pick("CPU µs/request", "요청당 CPU µs"),
            lang.pick("threads", "스레드")
        );
    }
    let cols: usize = x.idle.iter().map(|&n| if n > 0 { 6 } else { 4 }).sum();
    let _ = writeln!(s, "\n|---|{}", "---|".repeat(cols));
    for row in &x.rows {
        let _ = write!(s, "| {} |", row.design);
        for (p, &n) in row.points.iter().zip(&x.idle) {
            let blank = if n > 0 { " | | | | |" } else { " | | |" };
            if p.skipped.is_some() {
                let _ = write!(s, " {} |{blank}", lang.pick("did not run", "실행 안 됨"));
                continue;
            }
            if n > 0 {
                let opened = if p.opened < n {
                    match lang {
                        Lang::En => format!(" of {} opened", thousands(p.opened)),
                        Lang::Ko => format!(" (열린 {}개 중)", thousands(p.opened)),
                    }
                } else {
                    String::new()
                };
                let _ = write!(
                    s,
                    " {}{opened} | {} |",
                    thousands(p.answered),
                    thousands(p.open_at_end)
                );
            }
            let failed = match (lang, p.failures) {
                (_, 0) => String::new(),
                (Lang::En, n) => format!(" ({n} failed)"),
                (Lang::Ko, n) => format!(" ({n}개 실패)"),
            };
            let _ = write!(
                s,
                " {:.0}{failed} | {} | {:.1} | {} |",
                p.rps,
                p.cpu_us_per_request
                    .map_or_else(|| "-".into(), |v| format!("{v:.0}")),
                p.pss_mib,
                p.threads
            );
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(s);
    s
}

/// The verdict beside the most idle connections: who it stopped, who paid for them on every
/// wakeup (CPU per request at least [`PAID`] times the best's), who did not, what holding them
/// cost in memory, and why.
pub fn idle_verdict(lang: Lang, x: &Idle) -> Option<String> {
    let alone = x.idle.iter().position(|&n| n == 0)?;
    let (i, &most) = x.idle.iter().enumerate().max_by_key(|(_, n)| **n)?;
    if most == 0 {
        return None;
    }
    let pt = |r: &'_ crate::results::IdleRow, j: usize| -> Option<IdlePoint> {
        r.points.get(j).filter(|p| p.skipped.is_none()).cloned()
    };
    let mut stopped = Vec::new();
    let mut let_go = Vec::new();
    let mut served: Vec<(&Design, IdlePoint, IdlePoint)> = Vec::new();
    for r in &x.rows {
        let (Some(a), Some(b)) = (pt(r, alone), pt(r, i)) else {
            continue;
        };
        if b.open_at_end * 2 < b.opened && !(a.rps > 0.0 && b.rps < STOPPED * a.rps) {
            let_go.push(match lang {
                Lang::En => format!(
                    "**{}** ({} of {} still open at the end, {:.0} req/s)",
                    r.design,
                    thousands(b.open_at_end),
                    thousands(b.opened),
                    b.rps
                ),
                Lang::Ko => format!(
                    "**{}** ({}개 중 끝까지 열린 것 {}개, {:.0} req/s)",
                    r.design,
                    thousands(b.opened),
                    thousands(b.open_at_end),
                    b.rps
                ),
            });
            continue;
        }
        if a.rps > 0.0 && b.rps < STOPPED * a.rps {
            stopped.push(format!(
                "**{}** {:.0} req/s ({} of {} answered)",
                r.design,
                b.rps,
                thousands(b.answered),
                thousands(most)
            ));
        } else {
            served.push((&r.design, a, b));
        }
    }
    let best = served
        .iter()
        .filter_map(|(d, _, b)| Some((*d, b.cpu_us_per_request?)))
        .min_by(|a, b| a.1.total_cmp(&b.1));
    let mut p = match lang {
        Lang::En => format!("Beside {} idle connections:", thousands(most)),
        Lang::Ko => format!("유휴 연결 {}개 옆에서:", thousands(most)),
    };
    if let Some((best_d, best_cpu)) = best {
        let (mut paid, mut cheap) = (Vec::new(), Vec::new());
        for (d, a, b) in &served {
            let Some(cpu) = b.cpu_us_per_request else {
                continue;
            };
            let vs_best = cpu / best_cpu.max(1e-6);
            match a.cpu_us_per_request.filter(|v| *v > 0.0) {
                Some(own) if cpu >= PAID * own => paid.push(match lang {
                    Lang::En => format!(
                        "**{d}** {cpu:.0} µs ({:.0}× its {own:.0} µs alone, {vs_best:.0}× {best_d}'s)",
                        cpu / own
                    ),
                    Lang::Ko => format!(
                        "**{d}** {cpu:.0} µs (혼자일 때 {own:.0} µs 의 {:.0}배, {best_d} 의 {vs_best:.0}배)",
                        cpu / own
                    ),
                }),
                Some(own) => cheap.push(match lang {
                    Lang::En => format!("{d} {cpu:.0} µs ({own:.0} alone)"),
                    Lang::Ko => format!("{d} {cpu:.0} µs (혼자 {own:.0})"),
                }),
                None => cheap.push(format!("{d} {cpu:.0} µs")),
            }
        }
        let _ = write!(
            p,
            " {}",
            match lang {
                Lang::En => format!(
                    "the server's CPU per request was lowest on **{best_d}** ({best_cpu:.0} µs)."
                ),
                Lang::Ko =>
                    format!("요청당 서버 CPU 는 **{best_d}** 에서 가장 적었다 ({best_cpu:.0} µs)."),
            }
        );
        if !paid.is_empty() {
            let _ = write!(
                p,
                " {}: {}.",
                match lang {
                    Lang::En => format!("Paid for the idle ones on every wakeup (CPU per request at least {PAID:.0}× its own alone)"),
                    Lang::Ko => format!("깨어날 때마다 유휴 연결 값을 치렀다 (요청당 CPU 가 혼자일 때의 {PAID:.0}배 이상)"),
                },
                paid.join(", ")
            );
        }
        if !cheap.is_empty() {
            let _ = write!(
                p,
                " {}: {}.",
                match lang {
                    Lang::En => format!("Under {PAID:.0}× their own alone"),
                    Lang::Ko => format!("혼자일 때의 {PAID:.0}배 미만"),
                },
                cheap.join(", ")
            );
        }
    }
    if !let_go.is_empty() {
        let _ = write!(
            p,
            " {}: {}.",
            lang.pick(
                "Did not hold them (closed most before the load ended)",
                "들고 있지 않았다 (부하가 끝나기 전에 대부분 닫음)"
            ),
            let_go.join(", ")
        );
    }
    if !stopped.is_empty() {
        let _ = write!(
            p,
            " {}: {}.",
            lang.pick(
                "Stopped (under 10 % of the rate alone)",
                "멈췄다 (혼자일 때의 10 % 미만)"
            ),
            stopped.join(", ")
        );
    }
    // memory: what holding them cost, the most first
    let mut mem: Vec<(&Design, f64, f64, u64)> = served
        .iter()
        .map(|(d, a, b)| (*d, a.pss_mib, b.pss_mib, b.threads))
        .collect();
    mem.sort_by(|a, b| (b.2 - b.1).total_cmp(&(a.2 - a.1)));
    if !mem.is_empty() {
        let said: Vec<String> = mem
            .iter()
            .map(|(d, a, b, t)| match lang {
                Lang::En if *t == 1 => format!("{d} {b:.1} MiB ({a:.1} alone; 1 thread)"),
                Lang::En => format!("{d} {b:.1} MiB ({a:.1} alone; {t} threads)"),
                Lang::Ko => format!("{d} {b:.1} MiB (혼자 {a:.1}; 스레드 {t}개)"),
            })
            .collect();
        let _ = write!(
            p,
            " {}: {}.",
            lang.pick(
                "Holding them (PSS at the end)",
                "연결을 들고 있는 비용 (끝의 PSS)"
            ),
            said.join(", ")
        );
    }
    let mut whys: Vec<(&str, Vec<String>)> = Vec::new();
    for r in &x.rows {
        if let Some(why) = idle_mechanism(lang, &r.design) {
            match whys.iter_mut().find(|(w, _)| *w == why) {
                Some((_, names)) => names.push(r.design.to_string()),
                None => whys.push((why, vec![r.design.to_string()])),
            }
        }
    }
    if !whys.is_empty() {
        let why: Vec<String> = whys
            .into_iter()
            .map(|(w, names)| format!("{}: {w}", names.join(", ")))
            .collect();
        let _ = write!(p, " {}{}.", lang.pick("Why: ", "이유: "), why.join("; "));
    }
    Some(p)
}

fn idle_mechanism(lang: Lang, design: &Design) -> Option<&'static str> {
    let Design::Model(m) = design else {
        return None;
    };
    Some(match m {
        Model::Select => lang.pick(
            "select(2) takes bit sets up to the highest descriptor, which the loop rebuilds and the kernel scans on every call",
            "select(2) 는 가장 큰 디스크립터까지의 비트 집합을 받고, 루프는 매번 그것을 다시 만들며 커널은 매 호출마다 훑는다",
        ),
        Model::Poll => lang.pick(
            "poll(2) passes every connection's entry to the kernel, which checks each on every call",
            "poll(2) 는 매 호출마다 모든 연결의 항목을 커널에 넘기고 커널은 그 하나하나를 확인한다",
        ),
        Model::Epoll | Model::Procs | Model::Tokio => lang.pick(
            "epoll keeps the interest list in the kernel and returns only the ready connections: an idle one costs nothing per wakeup",
            "epoll 은 관심 목록을 커널에 두고 준비된 연결만 돌려주므로, 유휴 연결은 깨어날 때 비용이 없다",
        ),
        Model::Uring => lang.pick(
            "io_uring completes only the operations that finished: an idle connection's pending receive costs nothing per wakeup",
            "io_uring 은 끝난 작업만 완료로 돌려주므로, 유휴 연결의 대기 중인 수신은 깨어날 때 비용이 없다",
        ),
        Model::Thread | Model::Fork => lang.pick(
            "a thread or process per connection blocks in its own read: the idle ones cost no CPU, a stack or a process each",
            "연결마다 스레드나 프로세스가 자기 read 에서 막혀 있으므로, 유휴 연결은 CPU 를 쓰지 않고 스택이나 프로세스 하나씩을 쓴다",
        ),
        Model::Single | Model::Prefork | Model::Pool => lang.pick(
            "each worker serves one connection at a time and closes an answered one as soon as another waits, so it cannot hold idle connections: they take their turn in the listen queue, are answered and closed",
            "워커마다 한 번에 연결 하나를 처리하고 다른 연결이 기다리면 응답한 연결을 바로 닫으므로 유휴 연결을 들고 있을 수 없다: 유휴 연결은 listen 큐에서 차례를 기다려 응답받고 닫힌다",
        ),
    })
}

/// CPU per request per design beside load `i`'s idle connections, for the chart.
pub fn idle_bars(x: &Idle, i: usize) -> Vec<(String, f64)> {
    x.rows
        .iter()
        .filter_map(|r| {
            let p = r.points.get(i)?;
            Some((r.design.name().to_string(), p.cpu_us_per_request?))
        })
        .collect()
}

/// Load `i`'s chart title.
pub fn idle_chart_title(lang: Lang, x: &Idle, i: usize) -> String {
    match (lang, x.idle.get(i).copied().unwrap_or(0)) {
        (Lang::En, 0) => "Server CPU per request, no idle connections".into(),
        (Lang::Ko, 0) => "요청당 서버 CPU, 유휴 연결 없음".into(),
        (Lang::En, n) => format!(
            "Server CPU per request beside {} idle connections",
            thousands(n)
        ),
        (Lang::Ko, n) => format!("요청당 서버 CPU, 유휴 연결 {}개 옆", thousands(n)),
    }
}

/// Under `pool-size`, capacity within this share of a row's best is "flat": more workers did
/// not help.
pub const FLAT: f64 = 0.9;

fn pool_load_words(lang: Lang, l: PoolLoad) -> String {
    match (lang, l) {
        (Lang::En, PoolLoad::Hello) => "keep-alive `GET /` (CPU work only)".into(),
        (Lang::Ko, PoolLoad::Hello) => "keep-alive `GET /` (CPU 작업만)".into(),
        (Lang::En, PoolLoad::Sleep(ms)) => {
            format!("`GET /sleep?ms={ms}` ({ms} ms of waiting each)")
        }
        (Lang::Ko, PoolLoad::Sleep(ms)) => format!("`GET /sleep?ms={ms}` (요청마다 {ms} ms 대기)"),
    }
}

fn pool_size(lang: Lang, x: &PoolSize) -> String {
    let mut s = format!("## {}\n\n", lang.pick("Pool size", "풀 크기"));
    let sizes: Vec<String> = x.workers.iter().map(|n| n.to_string()).collect();
    let _ = writeln!(
        s,
        "{}\n",
        match lang {
            Lang::En => format!(
                "The designs with a fixed number of workers, each serving one connection at a time, at {} workers, under {} connections that each send their next request as soon as they have an answer, for {} s after half a second of warm-up. The built-in `prefork` and `pool` only: a `--server` command's worker count is its own, not one this run can set.",
                sizes.join(", "), x.connections, x.seconds
            ),
            Lang::Ko => format!(
                "한 번에 연결 하나씩 처리하는 워커 수가 정해진 설계를 워커 {}개로, 응답을 받자마자 다음 요청을 보내는 연결 {}개로 0.5초 준비 후 {}초 걸었다. 내장 `prefork` 와 `pool` 만 돌린다: `--server` 명령의 워커 수는 그 명령이 정하는 것이어서 이 실행이 바꿀 수 없다.",
                sizes.join(", "), x.connections, x.seconds
            ),
        }
    );
    // the table: a row per design and load, req/s (p99) per worker count, memory at the most
    let _ = write!(
        s,
        "| {} | {} |",
        lang.pick("Design", "설계"),
        lang.pick("Load", "부하")
    );
    for n in &x.workers {
        let _ = write!(s, " {n}: req/s | {n}: p99 |");
    }
    let last = x.workers.last().copied().unwrap_or(0);
    let _ = write!(s, " PSS MiB (1 / {last}) |");
    let _ = writeln!(s, "\n|---|---|{}---|", "---|---|".repeat(x.workers.len()));
    for row in &x.rows {
        let load = match row.load {
            PoolLoad::Hello => "`GET /`".to_string(),
            PoolLoad::Sleep(ms) => format!("`/sleep?ms={ms}`"),
        };
        let _ = write!(s, "| {} | {load} |", row.design);
        for p in &row.points {
            if p.skipped.is_some() {
                let _ = write!(s, " {} | |", lang.pick("did not run", "실행 안 됨"));
                continue;
            }
            let failed = match (lang, p.failures) {
                (_, 0) => String::new(),
                (Lang::En, n) => format!(" ({n} failed)"),
                (Lang::Ko, n) => format!(" ({n}개 실패)"),
            };
            let _ = write!(s, " {:.0}{failed} | {} |", p.rps, cell(p.p99_ms));
        }
        let pss = |p: Option<&crate::results::PoolPoint>| {
            p.filter(|p| p.skipped.is_none())
                .map_or_else(|| "-".into(), |p| format!("{:.1}", p.pss_mib))
        };
        let _ = writeln!(
            s,
            " {} / {} |",
            pss(row.points.first()),
            pss(row.points.last())
        );
    }
    let _ = writeln!(s);
    for p in pool_verdict(lang, x) {
        let _ = writeln!(s, "{p}\n");
    }
    s
}

/// Per row: the worker count from which capacity stays within [`FLAT`] of the row's best (more
/// workers stopped helping), how it rose until then, what the most workers cost, and why.
pub fn pool_verdict(lang: Lang, x: &PoolSize) -> Vec<String> {
    let mut out = Vec::new();
    for row in &x.rows {
        let measured: Vec<(usize, &crate::results::PoolPoint)> = x
            .workers
            .iter()
            .copied()
            .zip(&row.points)
            .filter(|(_, p)| p.skipped.is_none())
            .collect();
        let Some(best) = measured.iter().map(|(_, p)| p.rps).max_by(f64::total_cmp) else {
            continue;
        };
        if best <= 0.0 {
            continue;
        }
        let Some(&(knee, kp)) = measured.iter().find(|(_, p)| p.rps >= FLAT * best) else {
            continue;
        };
        let (first_n, first) = measured[0];
        let (last_n, last) = measured[measured.len() - 1];
        let load = pool_load_words(lang, row.load);
        let rise = if knee == first_n {
            match lang {
                Lang::En => format!(
                    "{first_n} worker(s) already reached it ({:.0} req/s; best {best:.0})",
                    first.rps
                ),
                Lang::Ko => format!(
                    "워커 {first_n}개로 이미 도달했다 ({:.0} req/s; 최고 {best:.0})",
                    first.rps
                ),
            }
        } else {
            match lang {
                Lang::En => format!(
                    "capacity rose from {:.0} req/s at {first_n} to {:.0} at {knee} ({:.1}× for {}× the workers)",
                    first.rps,
                    kp.rps,
                    kp.rps / first.rps.max(1e-9),
                    knee / first_n.max(1)
                ),
                Lang::Ko => format!(
                    "처리량이 워커 {first_n}개의 {:.0} req/s 에서 {knee}개의 {:.0} 로 올랐다 (워커 {}배에 {:.1}배)",
                    first.rps,
                    kp.rps,
                    knee / first_n.max(1),
                    kp.rps / first.rps.max(1e-9)
                ),
            }
        };
        // every count from the knee on within FLAT of the best, or one fell below it
        let fell = measured
            .iter()
            .skip_while(|(n, _)| *n != knee)
            .find(|(_, p)| p.rps < FLAT * best);
        let pct = (1.0 - FLAT) * 100.0;
        let flat = match (lang, fell) {
            (Lang::En, None) => format!(
                "from {knee} on it stayed within {pct:.0} % of the best ({best:.0} req/s): more workers did not help"
            ),
            (Lang::En, Some((n, p))) => format!(
                "at {knee} it came within {pct:.0} % of the best ({best:.0} req/s); more workers did not help, and {n} lost ground ({:.0} req/s)",
                p.rps
            ),
            (Lang::Ko, None) => format!(
                "{knee}개부터는 최고({best:.0} req/s)의 {pct:.0} % 안에 머물렀다: 워커를 늘려도 나아지지 않았다"
            ),
            (Lang::Ko, Some((n, p))) => format!(
                "{knee}개에서 최고({best:.0} req/s)의 {pct:.0} % 안에 들었고, 워커를 늘려도 나아지지 않았으며 {n}개에서는 오히려 떨어졌다 ({:.0} req/s)",
                p.rps
            ),
        };
        let cost = match lang {
            Lang::En => format!(
                "{last_n} workers held {:.1} MiB ({} threads and processes) against {:.1} MiB at {first_n}",
                last.pss_mib, last.threads, first.pss_mib
            ),
            Lang::Ko => format!(
                "워커 {last_n}개는 {:.1} MiB (스레드와 프로세스 {}개), {first_n}개는 {:.1} MiB 였다",
                last.pss_mib, last.threads, first.pss_mib
            ),
        };
        let why = match (row.load, lang) {
            (PoolLoad::Sleep(ms), Lang::En) => format!(
                "each worker waits {ms} ms per request and serves no one meanwhile, so N workers serve at most N × {:.0} req/s, until the core is busy with the work itself",
                1000.0 / ms as f64
            ),
            (PoolLoad::Sleep(ms), Lang::Ko) => format!(
                "워커는 요청마다 {ms} ms 기다리는 동안 아무도 처리하지 못하므로 워커 N개는 많아야 초당 N × {:.0}개를 처리하고, 그 뒤로는 코어가 일 자체로 바쁘다",
                1000.0 / ms as f64
            ),
            (PoolLoad::Hello, _) => lang
                .pick(
                    "one worker leaves the core idle while it waits on its one client (each round trip, and each new connection, since it closes a kept-alive one when others wait); more workers overlap those waits until the core is busy with the work, and beyond that only take turns on it",
                    "워커 하나는 자기 클라이언트 하나를 기다리는 동안(왕복마다, 그리고 다른 연결이 기다리면 keep-alive 연결을 닫으므로 새 연결마다) 코어를 놀린다. 워커를 늘리면 그 기다림이 겹쳐 코어가 일로 바빠질 때까지 처리량이 오르고, 그 뒤로는 코어를 번갈아 쓸 뿐이다",
                )
                .to_string(),
        };
        out.push(match lang {
            Lang::En => format!(
                "**{}** under {load}: {rise}; {flat}. {cost}. Why: {why}.",
                row.design
            ),
            Lang::Ko => format!(
                "**{}**, {load}: {rise}. {flat}. {cost}. 이유: {why}.",
                row.design
            ),
        });
    }
    out
}

/// A design's line: its name and (workers, req/s) points.
pub type PoolLine = (String, Vec<(f64, f64)>);

/// Per load (in the rows' order of first appearance): its chart's title and a line per design,
/// (workers, req/s).
pub fn pool_lines(lang: Lang, x: &PoolSize) -> Vec<(String, PoolLoad, Vec<PoolLine>)> {
    let mut loads: Vec<PoolLoad> = Vec::new();
    for r in &x.rows {
        if !loads.contains(&r.load) {
            loads.push(r.load);
        }
    }
    loads
        .into_iter()
        .map(|l| {
            let title = match (lang, l) {
                (Lang::En, PoolLoad::Hello) => {
                    "Capacity against workers, keep-alive GET /".to_string()
                }
                (Lang::Ko, PoolLoad::Hello) => {
                    "워커 수에 따른 처리량, keep-alive GET /".to_string()
                }
                (Lang::En, PoolLoad::Sleep(ms)) => {
                    format!("Capacity against workers, {ms} ms of waiting per request")
                }
                (Lang::Ko, PoolLoad::Sleep(ms)) => {
                    format!("워커 수에 따른 처리량, 요청마다 {ms} ms 대기")
                }
            };
            let lines = x
                .rows
                .iter()
                .filter(|r| r.load == l)
                .map(|r: &PoolRow| {
                    (
                        r.design.name().to_string(),
                        x.workers
                            .iter()
                            .zip(&r.points)
                            .filter(|(_, p)| p.skipped.is_none())
                            .map(|(&n, p)| (n as f64, p.rps))
                            .collect(),
                    )
                })
                .collect();
            (title, l, lines)
        })
        .collect()
}

fn overload(lang: Lang, x: &Overload) -> String {
    let mut s = format!(
        "## {}\n\n",
        lang.pick("Overload past capacity", "용량을 넘는 과부하")
    );
    let _ = writeln!(
        s,
        "{}\n",
        match lang {
            Lang::En => format!(
                "Each design's capacity under `GET {}` (CPU work, so that the load generator can offer more than any design serves: {} connections sending back to back, after half a second of warm-up), then an open-model rate of {:.1}× that capacity for {} s (measured in two halves), then {:.1}× it for {} s (the second half measured, once the backlog could drain). Latency runs from each request's intended send time, so the time a request waited for a free connection counts.",
                x.path, x.connections, x.factor, x.seconds, x.recovery_factor, 2.0 * x.seconds
            ),
            Lang::Ko => format!(
                "설계마다 `GET {}` (CPU 작업이라 부하 생성기가 어느 설계보다 많이 보낼 수 있다) 의 용량을 연결 {}개가 쉬지 않고 보내 (0.5초 준비 후) 재고, 그 {:.1}배의 open-model 요청률을 {}초 (두 반으로 나눠 측정), 그다음 {:.1}배를 {}초 (밀린 요청이 빠질 수 있도록 뒤쪽 절반을 측정) 걸었다. 지연은 요청이 보내졌어야 할 시각부터 재므로, 빈 연결을 기다린 시간도 들어간다.",
                x.path, x.connections, x.factor, x.seconds, x.recovery_factor, 2.0 * x.seconds
            ),
        }
    );
    let h = |en: &'static str, ko: &'static str| lang.pick(en, ko);
    let _ = writeln!(
        s,
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n|---|---|---|---|---|---|---|---|---|",
        h("Design", "설계"),
        h("Capacity req/s", "용량 req/s"),
        h("Overload: offered", "과부하: 보낸 것"),
        h("First half: req/s, p99", "앞 절반: req/s, p99"),
        h("Second half: req/s, p99", "뒤 절반: req/s, p99"),
        h("Failed/s", "실패/s"),
        h("Recovery: offered", "회복: 보낸 것"),
        h("Recovery: req/s, p99", "회복: req/s, p99"),
        h("Recovery failed/s", "회복 실패/s"),
    );
    let w = |w: &OverloadWindow| format!("{:.0}, {}", w.rps, cell(w.p99_ms));
    for r in &x.rows {
        if r.skipped.is_some() {
            let _ = writeln!(
                s,
                "| {} | {} | | | | | | | |",
                r.design,
                lang.pick("did not run", "실행 안 됨")
            );
            continue;
        }
        let _ = writeln!(
            s,
            "| {} | {:.0} | {:.0} | {} | {} | {:.0} | {:.0} | {} | {:.0} |",
            r.design,
            r.capacity,
            r.early.offered,
            w(&r.early),
            w(&r.late),
            r.late.fps,
            r.recovery.offered,
            w(&r.recovery),
            r.recovery.fps
        );
    }
    let _ = writeln!(s);
    for p in overload_verdict(lang, x) {
        let _ = writeln!(s, "{p}\n");
    }
    s
}

/// Per design: whether failures started (over 1 % of the offered rate failed in the second
/// half), whether latency grew (second half's p99 at least [`GREW`] times the first's, and
/// [`GREW_BY_MS`] more),
/// whether it recovered (at the lower rate: at least 90 % of it served, under 1 % failed, p99
/// under a tenth of the overload's); first, which designs failed fast (a bounded queue that
/// turns away what it cannot serve) and whose latency grew (an unbounded queue); last, where
/// the queue formed.
pub fn overload_verdict(lang: Lang, x: &Overload) -> Vec<String> {
    let mut out = Vec::new();
    let (mut fast, mut queued, mut both, mut neither) = (vec![], vec![], vec![], vec![]);
    for r in &x.rows {
        if r.skipped.is_some() || r.capacity <= 0.0 {
            continue;
        }
        let failed = r.late.fps > 0.01 * r.late.offered;
        let (e, l) = (r.early.p99_ms.unwrap_or(0.0), r.late.p99_ms.unwrap_or(0.0));
        // and by a margin a queue makes: a few ms of noise on a 1 ms p99 is not one
        let grew = l >= GREW * e && l - e >= GREW_BY_MS;
        match (failed, grew) {
            (true, false) => fast.push(r.design.to_string()),
            (false, true) => queued.push(r.design.to_string()),
            (true, true) => both.push(r.design.to_string()),
            (false, false) => neither.push(r.design.to_string()),
        }
        let rec = &r.recovery;
        let recovered = rec.rps >= 0.9 * rec.offered
            && rec.fps <= 0.01 * rec.offered
            && rec.p99_ms.is_some_and(|p| p <= l / 10.0);
        let mut said = vec![match lang {
            Lang::En => format!(
                "capacity {:.0} req/s; at {:.0} offered, p99 {} in the first half and {} in the second ({})",
                r.capacity,
                r.early.offered,
                cell(r.early.p99_ms),
                cell(r.late.p99_ms),
                if grew { "growing" } else { "not growing" }
            ),
            Lang::Ko => format!(
                "용량 {:.0} req/s; {:.0} 을 보내자 p99 가 앞 절반 {}, 뒤 절반 {} ({})",
                r.capacity,
                r.early.offered,
                cell(r.early.p99_ms),
                cell(r.late.p99_ms),
                if grew { "커지는 중" } else { "커지지 않음" }
            ),
        }];
        if failed {
            let why = r
                .late
                .failure
                .as_deref()
                .map_or_else(String::new, |f| format!(", `{f}`"));
            said.push(match lang {
                Lang::En => format!("{:.0} failed/s{why}", r.late.fps),
                Lang::Ko => format!("실패 {:.0}/s{why}", r.late.fps),
            });
        }
        said.push(match (lang, recovered) {
            (Lang::En, true) => format!(
                "recovered at {:.0} offered ({:.0} req/s, p99 {})",
                rec.offered,
                rec.rps,
                cell(rec.p99_ms)
            ),
            (Lang::Ko, true) => format!(
                "{:.0} 으로 줄이자 회복했다 ({:.0} req/s, p99 {})",
                rec.offered,
                rec.rps,
                cell(rec.p99_ms)
            ),
            (Lang::En, false) => format!(
                "not recovered at {:.0} offered ({:.0} req/s, p99 {}, {:.0} failed/s)",
                rec.offered,
                rec.rps,
                cell(rec.p99_ms),
                rec.fps
            ),
            (Lang::Ko, false) => format!(
                "{:.0} 으로 줄여도 회복하지 못했다 ({:.0} req/s, p99 {}, 실패 {:.0}/s)",
                rec.offered,
                rec.rps,
                cell(rec.p99_ms),
                rec.fps
            ),
        });
        out.push(format!("**{}**: {}.", r.design, said.join("; ")));
    }
    let classes: Vec<String> = [
        (
            &fast,
            "Failed fast, a bounded queue (over 1 % of the offered rate failed, and p99 did not grow)",
            "빨리 실패했다, 한도가 있는 큐 (보낸 요청률의 1 % 넘게 실패했고 p99 는 커지지 않았다)",
        ),
        (
            &queued,
            "Latency grew, an unbounded queue (p99 grew, nothing failed)",
            "지연이 커졌다, 한도 없는 큐 (p99 가 커졌고 실패는 없었다)",
        ),
        (
            &both,
            "Latency grew and failures started",
            "지연이 커지고 실패도 시작됐다",
        ),
        (
            &neither,
            "Neither failed nor queued",
            "실패도 큐도 없었다",
        ),
    ]
    .iter()
    .filter(|(names, _, _)| !names.is_empty())
    .map(|(names, en, ko)| format!("{}: {}.", lang.pick(en, ko), names.join(", ")))
    .collect();
    if !classes.is_empty() {
        out.insert(0, classes.join(" "));
    }
    if !out.is_empty() {
        let growth = (x.factor - 1.0).max(0.0) / x.factor.max(1e-9);
        out.push(match lang {
            Lang::En => format!(
                "Where the queue formed: {} keep-alive connections each carry one request at a time (as Locust's users do), so what is offered beyond capacity and not turned away waits for a free connection in the clients, whatever the design: the wait grows by about {growth:.2} s for every second the rate is {:.1}× capacity, and drains once it is below. A design's own queue (the listen queue of one that serves N at a time, which fills and times out; the sockets of an event loop) shows only when clients arrive on new connections, which this experiment does not yet do.",
                x.connections, x.factor
            ),
            Lang::Ko => format!(
                "큐가 생긴 곳: keep-alive 연결 {}개가 (Locust 의 사용자처럼) 한 번에 요청 하나씩 나르므로, 용량을 넘고 거절되지 않은 요청은 설계와 상관없이 클라이언트 쪽에서 빈 연결을 기다린다: 요청률이 용량의 {:.1}배인 동안 기다림이 1초에 약 {growth:.2}초씩 늘고, 요청률이 내려가면 빠진다. 설계 자신의 큐(한 번에 N개를 처리하는 설계의 listen 큐가 차서 시간 초과되는 것, 이벤트 루프의 소켓)는 클라이언트가 새 연결로 올 때에만 드러나며, 이 실험은 아직 그렇게 하지 않는다.",
                x.connections, x.factor
            ),
        });
    }
    out
}

/// Under `overload`, a second half's p99 at least this many times the first's, and at least
/// [`GREW_BY_MS`] above it, is growing.
pub const GREW: f64 = 1.25;
/// See [`GREW`].
pub const GREW_BY_MS: f64 = 10.0;

/// Per design, the second half's p99 and the recovery's, for the chart.
pub fn overload_bars(x: &Overload) -> Vec<(String, f64)> {
    x.rows
        .iter()
        .filter(|r| r.skipped.is_none())
        .filter_map(|r| Some((r.design.name().to_string(), r.late.p99_ms?)))
        .collect()
}

/// Through the round trip, a design that carries at least this share of what it carried
/// straight carried the load.
pub const CARRIED: f64 = 0.9;

fn network(lang: Lang, x: &Network) -> String {
    let mut s = format!(
        "## {}\n\n",
        lang.pick(
            "A network between clients and server (a round trip)",
            "클라이언트와 서버 사이의 네트워크 (왕복 지연)"
        )
    );
    let rtt = ms(x.rtt_ms);
    let half = ms(x.rtt_ms / 2.0);
    let per = x.rate / x.connections.max(1) as f64;
    let measured = match (lang, x.measured_rtt_ms) {
        (Lang::En, Some(m)) => format!(
            " Measured through it: a request and its answer on an open connection took {} ms.",
            ms(m)
        ),
        (Lang::Ko, Some(m)) => format!(
            " 실제로 재어 보니 열린 연결에서 요청 하나와 응답이 {} ms 걸렸다.",
            ms(m)
        ),
        (_, None) => String::new(),
    };
    let how = match (lang, x.method) {
        (Lang::En, NetworkMethod::Relay) => format!(
            "The round trip is a delay relay, as Toxiproxy makes one: every byte is held {half} ms each way, and a new connection reaches the server one and a half round trips after the client connects, with its first bytes, as a handshake's last packet would{}. Nothing is lost or reordered: packet loss needs the kernel's `netem`. {}",
            x.method_why
                .as_ref()
                .map_or_else(String::new, |w| format!(" ({})", network_how(lang, w))),
            network_bandwidth(lang, &x.bandwidth, x.method)
        ),
        (Lang::Ko, NetworkMethod::Relay) => format!(
            "왕복 지연은 Toxiproxy 처럼 지연 릴레이로 만들었다: 모든 바이트를 방향마다 {half} ms 붙잡고, 새 연결은 핸드셰이크의 마지막 패킷처럼 클라이언트가 연결한 뒤 왕복 1.5번이 지나서 첫 바이트와 함께 서버에 닿는다{}. 패킷은 잃거나 순서가 바뀌지 않는다: 패킷 손실에는 커널의 `netem` 이 필요하다. {}",
            x.method_why
                .as_ref()
                .map_or_else(String::new, |w| format!(" ({})", network_how(lang, w))),
            network_bandwidth(lang, &x.bandwidth, x.method)
        ),
        (Lang::En, NetworkMethod::Netem) => format!(
            "The round trip is the kernel's `netem`: the clients reach the server through a veth pair into a network namespace made for the run, each end of which delays every packet by {half} ms, so every exchange, the connection's handshake included, pays the round trip; a relay inside the namespace hands each connection to the server over loopback at once. {}",
            network_bandwidth(lang, &x.bandwidth, x.method)
        ),
        (Lang::Ko, NetworkMethod::Netem) => format!(
            "왕복 지연은 커널의 `netem` 으로 만들었다: 클라이언트는 이번 실행에서 만든 네트워크 네임스페이스로 이어진 veth 쌍을 거쳐 서버에 닿고, 양 끝이 모든 패킷을 {half} ms 씩 늦추므로 연결의 핸드셰이크를 포함한 모든 주고받기가 왕복 지연을 치른다. 네임스페이스 안의 릴레이는 각 연결을 곧바로 루프백으로 서버에 넘긴다. {}",
            network_bandwidth(lang, &x.bandwidth, x.method)
        ),
    };
    let _ = writeln!(
        s,
        "{}\n",
        match lang {
            Lang::En => format!(
                "Each design under {:.0} req/s over {} keep-alive connections (each paced to {per:.0} requests a second, Locust's `constant_throughput`), for {} s after half a second of warm-up: straight over loopback, then through a {rtt} ms round trip.{measured} {how}",
                x.rate, x.connections, x.seconds
            ),
            Lang::Ko => format!(
                "설계마다 keep-alive 연결 {}개로 초당 {:.0}개 요청을 (연결마다 초당 {per:.0}개, Locust 의 `constant_throughput`) 0.5초 준비 후 {}초 걸었다: 루프백으로 곧바로, 그리고 {rtt} ms 왕복 지연을 거쳐.{measured} {how}",
                x.connections, x.rate, x.seconds
            ),
        }
    );
    let (straight, through) = match lang {
        Lang::En => ("straight".to_string(), format!("through {rtt} ms")),
        Lang::Ko => ("곧바로".to_string(), format!("{rtt} ms 지연")),
    };
    let _ = writeln!(
        s,
        "| {} | {straight}: req/s | {straight}: {m} | {through}: req/s | {through}: {m} | {through}: p99 |\n|---|---|---|---|---|---|",
        lang.pick("Design", "설계"),
        m = lang.pick("median", "중앙값"),
    );
    for row in &x.rows {
        let name = match row.workers {
            Some(n) => format!(
                "{} ({n} {})",
                row.design,
                lang.pick(if n == 1 { "worker" } else { "workers" }, "워커")
            ),
            None => row.design.to_string(),
        };
        let _ = write!(s, "| {name} |");
        for (p, p99) in [(&row.direct, false), (&row.delayed, true)] {
            match &p.skipped {
                Some(_) => {
                    let _ = write!(s, " {} | |", lang.pick("did not run", "실행 안 됨"));
                    if p99 {
                        s += " |";
                    }
                }
                None => {
                    let failed = match (lang, p.failures) {
                        (_, 0) => String::new(),
                        (Lang::En, n) => format!(" ({n} failed)"),
                        (Lang::Ko, n) => format!(" ({n}개 실패)"),
                    };
                    let _ = write!(s, " {:.0}{failed} | {} |", p.rps, cell(p.p50_ms));
                    if p99 {
                        let _ = write!(s, " {} |", cell(p.p99_ms));
                    }
                }
            }
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(s);
    for p in network_verdict(lang, x) {
        let _ = writeln!(s, "{p}\n");
    }
    s
}

/// Why the relay and not `netem`, in a few words.
pub fn network_how(lang: Lang, why: &NoNetem) -> String {
    match (lang, why) {
        (Lang::En, NoNetem::NotRoot) => "netem needs a network namespace, which needs root".into(),
        (Lang::Ko, NoNetem::NotRoot) => {
            "netem 에는 네트워크 네임스페이스가 필요하고, 그것을 만들려면 root 여야 한다".into()
        }
        (Lang::En, NoNetem::NoNamespace) => {
            "netem needs a network namespace, and `ip netns add` failed".into()
        }
        (Lang::Ko, NoNetem::NoNamespace) => {
            "netem 에는 네트워크 네임스페이스가 필요한데 `ip netns add` 가 실패했다".into()
        }
        (Lang::En, NoNetem::NotInKernel { tc }) => {
            format!("this kernel has no netem qdisc; tc said: {tc}")
        }
        (Lang::Ko, NoNetem::NotInKernel { tc }) => {
            format!("이 커널에는 netem qdisc 가 없다. tc 의 말: {tc}")
        }
        (Lang::En, NoNetem::Failed { error }) => {
            format!("netem is there, and setting the link up with it failed: {error}")
        }
        (Lang::Ko, NoNetem::Failed { error }) => {
            format!("netem 은 있지만 그것으로 링크를 만들지 못했다: {error}")
        }
        (Lang::En, NoNetem::NoTc { error }) => format!("tc could not run: {error}"),
        (Lang::Ko, NoNetem::NoTc { error }) => format!("tc 를 실행할 수 없었다: {error}"),
    }
}

/// What the bandwidth was, one sentence.
pub fn network_bandwidth(lang: Lang, b: &Bandwidth, method: NetworkMethod) -> String {
    let mbit = |v: f64| {
        if v >= 10.0 {
            format!("{v:.0}")
        } else {
            format!("{v:.1}")
        }
    };
    let by = |m: NetworkMethod| match (lang, m) {
        (_, NetworkMethod::Relay) => "`tbf`",
        (Lang::En, NetworkMethod::Netem) => "`netem`'s rate",
        (Lang::Ko, NetworkMethod::Netem) => "`netem` 의 rate",
    };
    match (lang, b) {
        (Lang::En, Bandwidth::Unlimited) => "No bandwidth was asked for: the link is loopback's.".into(),
        (Lang::Ko, Bandwidth::Unlimited) => "대역폭은 제한하지 않았다: 루프백 그대로다.".into(),
        (Lang::En, Bandwidth::Shaped { mbit: m, measured_mbit }) => format!(
            "The clients reach the relay across a veth pair into a network namespace made for the run, each end limited to {} Mbit/s by {}{}.",
            mbit(*m),
            by(method),
            measured_mbit.map_or(String::new(), |v| format!(" ({} Mbit/s measured across it before the loads)", mbit(v)))
        ),
        (Lang::Ko, Bandwidth::Shaped { mbit: m, measured_mbit }) => format!(
            "클라이언트는 이번 실행에서 만든 네트워크 네임스페이스로 이어진 veth 쌍을 건너 릴레이에 닿고, 양 끝은 {} 로 {} Mbit/s 로 제한했다{}.",
            by(method),
            mbit(*m),
            measured_mbit.map_or(String::new(), |v| format!(" (부하 전에 건너서 잰 값 {} Mbit/s)", mbit(v)))
        ),
        (Lang::En, Bandwidth::NotShaped { mbit: m, why }) => format!(
            "The {} Mbit/s asked for was not made, so the link is loopback's: {}.",
            mbit(*m),
            match why {
                NoShaping::NotRoot => "`tbf` needs a network namespace, which needs root".to_string(),
                NoShaping::Failed { error } => error.clone(),
            }
        ),
        (Lang::Ko, Bandwidth::NotShaped { mbit: m, why }) => format!(
            "요청한 {} Mbit/s 는 만들지 못해 루프백 그대로다: {}.",
            mbit(*m),
            match why {
                NoShaping::NotRoot => {
                    "`tbf` 에는 네트워크 네임스페이스가 필요하고, 그것을 만들려면 root 여야 한다"
                        .to_string()
                }
                NoShaping::Failed { error } => error.clone(),
            }
        ),
    }
}

/// The verdict: the designs that still carried the load through the round trip (at least
/// [`CARRIED`] of it straight), and those that paid the round trip per request, with how many
/// requests each worker served per round trip and why.
pub fn network_verdict(lang: Lang, x: &Network) -> Vec<String> {
    let rtt = ms(x.rtt_ms);
    let (mut carried, mut paid, mut short) = (Vec::new(), Vec::new(), Vec::new());
    let mut whys: Vec<(String, Vec<String>)> = Vec::new();
    for row in &x.rows {
        let (d, t) = (&row.direct, &row.delayed);
        if d.skipped.is_some() || t.skipped.is_some() || d.rps <= 0.0 {
            continue;
        }
        let held = t.rps >= CARRIED * d.rps;
        if held {
            carried.push(match lang {
                Lang::En => format!(
                    "{} {:.0} req/s ({:.0} straight; median {})",
                    row.design,
                    t.rps,
                    d.rps,
                    cell(t.p50_ms)
                ),
                Lang::Ko => format!(
                    "{} {:.0} req/s (곧바로 {:.0}; 중앙값 {})",
                    row.design,
                    t.rps,
                    d.rps,
                    cell(t.p50_ms)
                ),
            });
        } else {
            // requests each worker completed per round trip
            let per_rtt = t.rps * x.rtt_ms / 1000.0 / row.workers.unwrap_or(1) as f64;
            let workers = match (lang, row.workers) {
                (_, None | Some(1)) => String::new(),
                (Lang::En, Some(n)) => format!(" by each of {n} workers"),
                (Lang::Ko, Some(n)) => format!(", 워커 {n}개 각각"),
            };
            // about one request per worker per round trip: the round trip is what it paid;
            // more than that, something else held it (the link's bandwidth, say)
            let into = if per_rtt <= 1.5 {
                &mut paid
            } else {
                &mut short
            };
            into.push(match lang {
                Lang::En => format!(
                    "**{} {:.0} req/s** ({:.0} straight: {per_rtt:.2} requests per round trip{workers}; median {})",
                    row.design, t.rps, d.rps, cell(t.p50_ms)
                ),
                Lang::Ko => format!(
                    "**{} {:.0} req/s** (곧바로 {:.0}: 왕복 한 번에 요청 {per_rtt:.2}개{workers}; 중앙값 {})",
                    row.design, t.rps, d.rps, cell(t.p50_ms)
                ),
            });
        }
        let why = network_mechanism(lang, &row.design, held, x);
        match whys.iter_mut().find(|(w, _)| *w == why) {
            Some((_, names)) => names.push(row.design.to_string()),
            None => whys.push((why, vec![row.design.to_string()])),
        }
    }
    if carried.is_empty() && paid.is_empty() && short.is_empty() {
        return Vec::new();
    }
    let mut p = match lang {
        Lang::En => format!(
            "Through a {rtt} ms round trip, of {:.0} req/s offered:",
            x.rate
        ),
        Lang::Ko => format!("{rtt} ms 왕복 지연을 거쳐, 초당 {:.0}개 요청 중:", x.rate),
    };
    for (names, en, ko) in [
        (
            &paid,
            "Paid the round trip on every request",
            "요청마다 왕복 지연을 치렀다",
        ),
        (
            &short,
            "Fell short of straight, with more than one request per round trip",
            "곧바로보다 덜 처리했지만 왕복 한 번에 요청이 하나보다 많았다",
        ),
        (
            &carried,
            "Carried it (within 10 % of straight)",
            "그대로 처리했다 (곧바로의 10 % 이내)",
        ),
    ] {
        if !names.is_empty() {
            let _ = write!(p, " {}: {}.", lang.pick(en, ko), names.join(", "));
        }
    }
    let why: Vec<String> = whys
        .into_iter()
        .map(|(w, names)| format!("{}: {w}", names.join(", ")))
        .collect();
    if !why.is_empty() {
        let _ = write!(p, " {}{}.", lang.pick("Why: ", "이유: "), why.join("; "));
    }
    vec![p]
}

/// Why a design carried the round trip or paid it.
fn network_mechanism(lang: Lang, design: &Design, held: bool, x: &Network) -> String {
    let rtt = ms(x.rtt_ms);
    let one = 1000.0 / x.rtt_ms;
    match (design, held) {
        (Design::Model(Model::Single | Model::Pool | Model::Prefork), false) => match lang {
            Lang::En => format!("each worker serves one connection at a time; with others waiting it answers one request with `Connection: close`, then waits for the client's end of stream before it closes (a lingering close, so that a reset cannot cut the answer short): over the network that wait is the answer's way out and the FIN's way back, a round trip, so a worker serves at most one request per {rtt} ms ({one:.0} req/s) while the other clients queue"),
            Lang::Ko => format!("워커마다 한 번에 연결 하나만 처리한다. 다른 클라이언트가 기다리면 요청 하나에 `Connection: close` 로 답하고, 닫기 전에 클라이언트의 스트림 끝을 기다린다 (lingering close: 리셋이 응답을 자르지 않게). 네트워크에서는 그 기다림이 응답이 가고 FIN 이 돌아오는 왕복 한 번이어서, 워커 하나는 {rtt} ms 에 요청 하나(초당 {one:.0}개)까지만 처리하고 나머지 클라이언트는 줄을 선다"),
        },
        (Design::Model(_), true) => lang
            .pick(
                "a connection waiting on the network holds only its own thread, process or place in the loop's set, never the server: the round trip adds to each request's latency, not to the server's time",
                "네트워크를 기다리는 연결은 자기 스레드나 프로세스, 루프의 집합 속 자리만 차지하고 서버를 붙잡지 않는다: 왕복 지연은 요청마다의 지연 시간에 더해질 뿐 서버의 시간에는 더해지지 않는다",
            )
            .to_string(),
        (Design::Model(_), false) => match (lang, &x.bandwidth) {
            (Lang::En, Bandwidth::Shaped { mbit, .. }) => format!("it holds no worker for a client's round trip; what held it is the link's {mbit:.1} Mbit/s each way: requests and answers queue in the link's `tbf`, not in the server"),
            (Lang::Ko, Bandwidth::Shaped { mbit, .. }) => format!("클라이언트의 왕복 동안 워커를 붙잡지 않는다. 붙잡은 것은 방향마다 {mbit:.1} Mbit/s 인 링크다: 요청과 응답이 서버가 아니라 링크의 `tbf` 에서 줄을 선다"),
            (Lang::En, _) => "it holds no worker for a client's round trip, and the link's bandwidth was not limited: the table's figures are what this run can say of it".to_string(),
            (Lang::Ko, _) => "클라이언트의 왕복 동안 워커를 붙잡지 않고 링크의 대역폭도 제한하지 않았다: 이 실행이 말할 수 있는 것은 표의 수치뿐이다".to_string(),
        },
        (_, false) => match lang {
            Lang::En => format!("a design that holds its only worker for a client's round trip (waiting for its next request, or for its close) serves at most one request per round trip: {one:.0} req/s at {rtt} ms"),
            Lang::Ko => format!("클라이언트의 왕복 동안 하나뿐인 워커를 붙잡는 설계(다음 요청이나 닫기를 기다리는)는 왕복 한 번에 요청 하나, {rtt} ms 에서 초당 {one:.0}개까지만 처리한다"),
        },
        (_, true) => lang
            .pick(
                "it did not hold the server for a client's round trip",
                "클라이언트의 왕복 동안 서버를 붙잡지 않았다",
            )
            .to_string(),
    }
}

/// Requests per second through the round trip per design, for the chart.
pub fn network_bars(x: &Network) -> Vec<(String, f64)> {
    x.rows
        .iter()
        .filter(|r| r.delayed.skipped.is_none())
        .map(|r| (r.design.name().to_string(), r.delayed.rps))
        .collect()
}

/// The chart's title.
pub fn network_chart_title(lang: Lang, x: &Network) -> String {
    match lang {
        Lang::En => format!(
            "Requests per second through a {} ms round trip ({:.0} offered)",
            ms(x.rtt_ms),
            x.rate
        ),
        Lang::Ko => format!(
            "{} ms 왕복 지연을 거친 초당 요청 수 (제시 {:.0})",
            ms(x.rtt_ms),
            x.rate
        ),
    }
}
