//! The written comparison: the assignment's sentence per model, and "which design is most
//! efficient and why", built from the measured numbers. Every claim names the figure it rests
//! on; design explanations appear only next to the numbers that show them.

use crate::lang::{int, ms, Lang};
use swarmlab_models::Model;

use crate::results::{Client, Design, Results, Server, Sharing};

pub use crate::sentence::{assignment_sentence, trial_sentence};

/// A ran row: the design, what its clients saw, what its server cost (if known).
type Ran<'a> = (&'a crate::ModelResult, &'a Client, Option<&'a Server>);

/// The "which design is most efficient and why" paragraphs: throughput, failures, tail
/// latency, server cost and memory, what each design's numbers show about it, the verdict, and
/// whether the generator kept up.
pub fn verdict(lang: Lang, r: &Results) -> Vec<String> {
    let ranked = r.ranking();
    if ranked.is_empty() {
        return vec![lang
            .pick(
                "No model ran, so there is nothing to compare.",
                "실행된 모델이 없어 비교할 수 없다.",
            )
            .into()];
    }
    let mut out = vec![throughput(lang, &ranked)];
    out.extend(shared_cores(lang, &ranked));
    out.extend(failures(lang, &ranked));
    out.extend(crate::sections::check_verdict(lang, r));
    out.extend(tail_latency(lang, &ranked));
    let costed: Vec<(&Design, &Client, &Server)> = ranked
        .iter()
        .filter_map(|(m, c, s)| Some((&m.design, *c, (*s)?)))
        .collect();
    out.extend(server_cost(lang, &costed));
    // Why, per design, next to its own numbers.
    out.extend(
        costed
            .iter()
            .filter_map(|(d, c, s)| design_note(lang, d.model()?, c, s)),
    );
    out.push(
        crate::sections::capacity_conclusion(lang, r).unwrap_or_else(|| conclusion(lang, &ranked)),
    );
    out.push(generator(lang, r, &ranked));
    out
}

/// Rows whose cores other processes shared past the bound: the ranking rests on them.
fn shared_cores(lang: Lang, ranked: &[Ran<'_>]) -> Option<String> {
    let shared: Vec<String> = ranked
        .iter()
        .filter_map(|(m, _, s)| {
            let o = (*s)?.others?;
            o.shared().then(|| {
                format!(
                    "**{}** ({:.0} % / {:.0} %)",
                    m.design, o.server_cores_pct, o.generator_core_pct
                )
            })
        })
        .collect();
    if shared.is_empty() {
        return None;
    }
    Some(match lang {
        Lang::En => format!(
            "**This ranking is not to be trusted:** while {} ran, processes outside the run took that share of the server's cores / of the generator's core (a quiet machine: under {:.0} %). Those designs' figures are lower than they give on a quiet machine, by an amount this run cannot know; run `compare` again with the machine quiet.",
            shared.join(", "),
            Sharing::BOUND_PCT
        ),
        Lang::Ko => format!(
            "**이 순위는 믿을 수 없다:** {} 이(가) 실행되는 동안 실행 밖의 프로세스가 서버 코어 / 생성기 코어의 그만큼을 가져갔다 (조용한 머신: {:.0} % 미만). 그 설계들의 수치는 조용한 머신에서보다 낮으며, 얼마나 낮은지는 이 실행으로 알 수 없다. 머신이 조용할 때 `compare` 를 다시 실행하라.",
            shared.join(", "),
            Sharing::BOUND_PCT
        ),
    })
}

/// Beside a row's figures: what processes outside the run took of its cores, when that
/// passed the bound.
pub fn shared_note(lang: Lang, server: Option<&Server>) -> Option<String> {
    let o = server?.others?;
    o.shared().then(|| match lang {
        Lang::En => format!(
            "Not this design's alone: while it ran, processes outside the run took {:.0} % of the server's cores and {:.0} % of the generator's core.",
            o.server_cores_pct, o.generator_core_pct
        ),
        Lang::Ko => format!(
            "이 설계만의 수치가 아니다: 실행되는 동안 실행 밖의 프로세스가 서버 코어의 {:.0} %, 생성기 코어의 {:.0} % 를 가져갔다.",
            o.server_cores_pct, o.generator_core_pct
        ),
    })
}

/// The limits the server said it met, for beside its figures: past them its connections
/// waited in the listen backlog, and once that was full the clients' connects timed out.
pub fn limits_note(lang: Lang, server: Option<&Server>) -> Option<String> {
    let s = server?;
    if s.limits.is_empty() {
        return None;
    }
    let said = s
        .limits
        .iter()
        .map(|l| format!("\"{l}\""))
        .collect::<Vec<_>>()
        .join("; ");
    Some(match lang {
        Lang::En => format!(
            "It met a limit of its own: {said}. Connections past it waited in the listen backlog, and once that was full, new clients' connects timed out."
        ),
        Lang::Ko => format!(
            "서버가 자신의 한계에 닿았다: {said}. 그 뒤의 연결은 listen backlog 에서 기다렸고, backlog 가 찬 뒤 새 클라이언트의 연결 시도는 시간 초과되었다."
        ),
    })
}

/// What to say beside a row's figures: the cores others shared, the limits it met.
pub fn row_notes(lang: Lang, server: Option<&Server>) -> Vec<String> {
    [shared_note(lang, server), limits_note(lang, server)]
        .into_iter()
        .flatten()
        .collect()
}

/// Throughput: the best, the runner-up, the least.
fn throughput(lang: Lang, ranked: &[Ran<'_>]) -> String {
    let (best, bc, _) = ranked[0];
    // (Locust counts failed requests in RPS: a fast failure is still a request)
    let failed = match (lang, bc.failures) {
        (_, 0) => String::new(),
        (Lang::En, n) => format!(" ({} of its requests failed)", int(n as f64)),
        (Lang::Ko, n) => format!("(그중 실패 {}번)", int(n as f64)),
    };
    let mut s = match lang {
        Lang::En => format!(
            "**{}** sustained the highest throughput: {} req/s over its best 10 s{failed}",
            best.design,
            int(bc.peak_rps)
        ),
        Lang::Ko => format!(
            "**{}**(이)가 가장 높은 처리량을 유지했다: 가장 좋은 10초 동안 {} req/s{failed}",
            best.design,
            int(bc.peak_rps)
        ),
    };
    if let Some(&(second, sc, _)) = ranked.get(1) {
        let ratio = bc.peak_rps / sc.peak_rps.max(1e-9);
        s += &match lang {
            Lang::En => format!(
                ", {ratio:.1}× the runner-up **{}** ({} req/s)",
                second.design,
                int(sc.peak_rps)
            ),
            Lang::Ko => format!(
                "로, 2위 **{}**({} req/s)의 {ratio:.1}배이다",
                second.design,
                int(sc.peak_rps)
            ),
        };
    }
    if let Some(&(last, lc, _)) = ranked.last().filter(|_| ranked.len() > 2) {
        s += &match lang {
            Lang::En => format!(
                "; **{}** managed the least ({} req/s)",
                last.design,
                int(lc.peak_rps)
            ),
            Lang::Ko => format!(
                ". 가장 낮은 것은 **{}**({} req/s)이다",
                last.design,
                int(lc.peak_rps)
            ),
        };
    }
    s.push('.');
    s
}

/// Which designs failed (after how many requests, with what) and which finished clean.
fn failures(lang: Lang, ranked: &[Ran<'_>]) -> Vec<String> {
    let mut out = Vec::new();
    let failed: Vec<String> = ranked
        .iter()
        .filter_map(|(m, c, _)| {
            let n = c.before_first_failure?;
            let kind = c.failure_kinds.first().map_or("?", |(k, _)| k.as_str());
            Some(match lang {
                Lang::En => format!(
                    "**{}** after {} requests (`{kind}`)",
                    m.design,
                    int(n as f64)
                ),
                Lang::Ko => format!(
                    "**{}**(은)는 {}번의 요청 후(`{kind}`)",
                    m.design,
                    int(n as f64)
                ),
            })
        })
        .collect();
    let clean: Vec<&str> = ranked
        .iter()
        .filter(|(_, c, _)| c.failures == 0)
        .map(|(m, _, _)| m.design.name())
        .collect();
    if !failed.is_empty() {
        out.push(match lang {
            Lang::En => format!("Failed under this load: {}.", failed.join("; ")),
            Lang::Ko => format!("이 부하에서 실패가 발생했다: {}.", failed.join("; ")),
        });
    }
    if !clean.is_empty() {
        out.push(match lang {
            Lang::En => format!("Finished without a single failure: {}.", clean.join(", ")),
            Lang::Ko => format!("실패 없이 끝난 모델: {}.", clean.join(", ")),
        });
    }
    out
}

/// The lowest and the highest p99.
fn tail_latency(lang: Lang, ranked: &[Ran<'_>]) -> Option<String> {
    (ranked.len() > 1).then(|| {
        let (lo, hi) = extremes(ranked, |r| r.1.p99_ms);
        match lang {
            Lang::En => format!(
                "Tail latency: **{}** had the lowest p99 ({} ms), **{}** the highest ({} ms).",
                lo.0.design,
                ms(lo.1.p99_ms),
                hi.0.design,
                ms(hi.1.p99_ms)
            ),
            Lang::Ko => {
                format!(
                "꼬리 지연: p99가 가장 낮은 것은 **{}**({}ms), 가장 높은 것은 **{}**({}ms)이다.",
                lo.0.design, ms(lo.1.p99_ms), hi.0.design, ms(hi.1.p99_ms)
            )
            }
        }
    })
}

/// Server CPU per request and memory, cheapest and dearest.
fn server_cost(lang: Lang, costed: &[(&Design, &Client, &Server)]) -> Vec<String> {
    let mut out = Vec::new();
    if costed.len() > 1 {
        let (cheap, dear) = extremes(costed, |r| r.2.cpu_us_per_request);
        let ratio = dear.2.cpu_us_per_request / cheap.2.cpu_us_per_request.max(1e-9);
        out.push(match lang {
            Lang::En => format!(
                "Per request, **{}** spent the least server CPU ({:.1} µs) and **{}** the most ({:.1} µs, {ratio:.1}×).",
                cheap.0, cheap.2.cpu_us_per_request, dear.0, dear.2.cpu_us_per_request
            ),
            Lang::Ko => format!(
                "요청 하나당 서버 CPU는 **{}**(이)가 가장 적게({:.1} µs), **{}**(이)가 가장 많이({:.1} µs, {ratio:.1}배) 썼다.",
                cheap.0, cheap.2.cpu_us_per_request, dear.0, dear.2.cpu_us_per_request
            ),
        });
        let (small, big) = extremes(costed, |r| r.2.peak_pss_mib);
        out.push(match lang {
            Lang::En => format!(
                "Memory (PSS): **{}** peaked at {:.1} MiB ({}, {}), **{}** at {:.1} MiB ({}, {}).",
                big.0, big.2.peak_pss_mib, counted(big.2.peak_threads, "thread"),
                counted(big.2.peak_processes, "process"),
                small.0, small.2.peak_pss_mib, counted(small.2.peak_threads, "thread"),
                counted(small.2.peak_processes, "process")
            ),
            Lang::Ko => format!(
                "메모리(PSS): **{}**(은)는 최대 {:.1} MiB(스레드 {}개, 프로세스 {}개), **{}**(은)는 {:.1} MiB(스레드 {}개, 프로세스 {}개)였다.",
                big.0, big.2.peak_pss_mib, big.2.peak_threads, big.2.peak_processes,
                small.0, small.2.peak_pss_mib, small.2.peak_threads, small.2.peak_processes
            ),
        });
    }
    out
}

/// Whether the load generator kept up, in the assignment's run and in the capacity search,
/// and how much of the response times was its own read delay.
fn generator(lang: Lang, r: &Results, ranked: &[Ran<'_>]) -> String {
    let mut text = kept_up(lang, r, ranked);
    if let Some(delay) = read_delay(lang, ranked) {
        text.push(' ');
        text.push_str(&delay);
    }
    text
}

/// The generator's own read delay in the assignment's run: the largest share of a row's
/// average response time, and the rows where it was a noticeable part of them.
fn read_delay(lang: Lang, ranked: &[Ran<'_>]) -> Option<String> {
    let share = |c: &crate::Client| {
        c.read_delay
            .map(|d| (d.mean_ms, d.mean_ms / c.avg_ms.max(1e-9)))
    };
    let (name, (mean, most)) = ranked
        .iter()
        .filter_map(|(m, c, _)| Some((m.design.name(), share(c)?)))
        .max_by(|a, b| a.1 .1.total_cmp(&b.1 .1))?;
    let delayed: Vec<&str> = ranked
        .iter()
        .filter(|(_, c, _)| c.delayed.is_some())
        .map(|(m, _, _)| m.design.name())
        .collect();
    let pct = 100.0 * most;
    let first = match lang {
        Lang::En => format!("Its own read delay in the assignment's run (how long a response waited, whole, in its sockets before it was read and timed, from the kernel's receive stamps) took the largest share of {name}'s response times: {mean:.2} ms on average, {pct:.0} % of the average."),
        Lang::Ko => format!("과제 실행에서 부하 생성기 자신의 읽기 지연(응답이 소켓에 다 도착한 뒤 읽혀 시간이 재어지기까지 기다린 시간, 커널의 수신 시각으로 측정)은 {name}의 응답 시간에서 가장 큰 몫을 차지했다: 평균 {mean:.2} ms, 평균 응답 시간의 {pct:.0} %."),
    };
    if delayed.is_empty() {
        return Some(first);
    }
    Some(match lang {
        Lang::En => format!("{first} However, for {} it was a noticeable part of the response times: those rows' latencies include the client's waiting as well as the server's.", delayed.join(", ")),
        Lang::Ko => format!("{first} 다만 {}에서는 응답 시간의 눈에 띄는 부분이었다: 해당 행의 지연 시간에는 서버뿐 아니라 클라이언트가 기다린 시간도 들어 있다.", delayed.join(", ")),
    })
}

/// Whether the load generator kept up (its CPU and send lag).
fn kept_up(lang: Lang, r: &Results, ranked: &[Ran<'_>]) -> String {
    let saturated: Vec<&str> = ranked
        .iter()
        .filter(|(_, c, _)| c.saturated.is_some())
        .map(|(m, _, _)| m.design.name())
        .collect();
    let bounds: Vec<&str> = r
        .by_capacity()
        .into_iter()
        .filter(|(_, c)| c.limited_by == crate::LimitedBy::Generator)
        .map(|(m, _)| m.design.name())
        .collect();
    if saturated.is_empty() && !bounds.is_empty() {
        match lang {
            Lang::En => format!("In the assignment's run the load generator was never saturated (it watches its own CPU and send lag), so those figures measure the servers; in the capacity search it gave out before {}, whose capacities are therefore lower bounds.", bounds.join(", ")),
            Lang::Ko => format!("과제 실행에서 부하 생성기는 한 번도 포화되지 않았으므로(자신의 CPU와 전송 지연을 감시한다) 그 수치는 서버를 측정한 것이다. 수용량 탐색에서는 {}보다 먼저 한계에 닿았으므로 이들의 수용량은 하한값이다.", bounds.join(", ")),
        }
    } else if saturated.is_empty() {
        lang.pick(
            "The load generator was never saturated (it watches its own CPU and send lag), so these figures measure the servers, not the client.",
            "부하 생성기는 한 번도 포화되지 않았다(자신의 CPU와 전송 지연을 감시한다). 따라서 이 수치는 클라이언트가 아니라 서버를 측정한 것이다.",
        )
        .to_string()
    } else {
        let capacity = match (lang, bounds.is_empty()) {
            (_, true) => String::new(),
            (Lang::En, false) => format!(" In the capacity search it gave out before {}, whose capacities are therefore lower bounds.", bounds.join(", ")),
            (Lang::Ko, false) => format!(" 수용량 탐색에서는 {}보다 먼저 한계에 닿았으므로 이들의 수용량은 하한값이다.", bounds.join(", ")),
        };
        match lang {
            Lang::En => format!("In the assignment's run the load generator was saturated while measuring {}: those rows of the results table measure the client, not the server.{capacity}", saturated.join(", ")),
            Lang::Ko => format!("과제 실행에서 {}(을)를 측정하는 동안 부하 생성기가 포화되었다: 결과 표의 해당 행은 서버가 아니라 클라이언트를 측정한 것이다.{capacity}", saturated.join(", ")),
        }
    }
}

/// Share of the best peak throughput within which designs count as having kept up equally.
const TIED: f64 = 0.9;

/// The verdict from the assignment's run alone (no capacity search). When several designs kept up within 10 % of the best throughput, throughput
/// no longer tells them apart; the one that needed the least server CPU per request wins.
fn conclusion(lang: Lang, ranked: &[Ran<'_>]) -> String {
    let (fastest, fc, _) = ranked[0];
    // a design that failed under the load is not the most efficient of those that did not
    let clean: Vec<Ran<'_>> = ranked
        .iter()
        .copied()
        .filter(|r| r.1.failures == 0)
        .collect();
    let candidates = if clean.is_empty() { ranked } else { &clean[..] };
    let (best, bc, _) = candidates[0];
    let tied: Vec<_> = candidates
        .iter()
        .filter(|(_, c, _)| c.peak_rps >= bc.peak_rps * TIED)
        .collect();
    let costed: Vec<_> = tied
        .iter()
        .filter_map(|(m, c, s)| Some((*m, *c, (*s)?)))
        .collect();
    // what the faster design that failed did, said beside the verdict
    let beside = if best.design == fastest.design {
        String::new()
    } else {
        let until = int(fc.before_first_failure.unwrap_or(fc.requests) as f64);
        match lang {
            Lang::En => format!(
                " **{}** went faster ({} req/s) but failed after {until} requests.",
                fastest.design,
                int(fc.peak_rps)
            ),
            Lang::Ko => format!(
                " **{}**(은)는 더 빨랐지만({} req/s) {until}번의 요청 후 실패했다.",
                fastest.design,
                int(fc.peak_rps)
            ),
        }
    };
    if tied.len() > 1 && costed.len() > 1 {
        let names: Vec<&str> = tied.iter().map(|(m, _, _)| m.design.name()).collect();
        let (win, worst) = extremes(&costed, |r| r.2.cpu_us_per_request);
        return match lang {
            Lang::En => format!(
                "**Verdict:** {} designs kept up within 10 % of the best throughput ({}), so throughput does not separate them; among them **{}** needed the least server CPU per request ({:.1} µs, against {:.1} µs for **{}**) with a p99 of {} ms and {:.1} MiB (PSS): under this load it is the most efficient design here.{beside}",
                tied.len(), names.join(", "), win.0.design, win.2.cpu_us_per_request, worst.2.cpu_us_per_request, worst.0.design, ms(win.1.p99_ms), win.2.peak_pss_mib
            ),
            Lang::Ko => format!(
                "**결론:** {}개 설계({})가 최고 처리량의 10 % 이내를 유지해 처리량으로는 구별되지 않는다. 그중 **{}**(이)가 요청당 서버 CPU를 가장 적게 썼다({:.1} µs, **{}**(은)는 {:.1} µs). p99 {}ms, 메모리 {:.1} MiB(PSS)로, 이 부하에서 가장 효율적인 설계이다.{beside}",
                tied.len(), names.join(", "), win.0.design, win.2.cpu_us_per_request, worst.0.design, worst.2.cpu_us_per_request, ms(win.1.p99_ms), win.2.peak_pss_mib
            ),
        };
    }
    if best.design != fastest.design {
        return match lang {
            Lang::En => format!(
                "**Verdict:** under this load **{}** is the most efficient design here: the highest peak throughput of the designs that did not fail ({} req/s), with a p99 of {} ms.{beside}",
                best.design, int(bc.peak_rps), ms(bc.p99_ms)
            ),
            Lang::Ko => format!(
                "**결론:** 이 부하에서 가장 효율적인 설계는 **{}**이다: 실패하지 않은 설계 중 가장 높은 처리량({} req/s)이며, p99는 {}ms이다.{beside}",
                best.design, int(bc.peak_rps), ms(bc.p99_ms)
            ),
        };
    }
    match lang {
        Lang::En => format!(
            "**Verdict:** under this load **{}** is the most efficient design here: the highest peak throughput ({} req/s), {} % ahead of the next, with a p99 of {} ms.",
            best.design, int(bc.peak_rps), ranked.get(1).map_or(100.0, |n| ((bc.peak_rps / n.1.peak_rps.max(1e-9)) - 1.0) * 100.0).round(), ms(bc.p99_ms)
        ),
        Lang::Ko => format!(
            "**결론:** 이 부하에서 가장 효율적인 설계는 **{}**이다: 가장 높은 처리량({} req/s)으로 다음보다 {} % 앞서며, p99는 {}ms이다.",
            best.design, int(bc.peak_rps), ranked.get(1).map_or(100.0, |n| ((bc.peak_rps / n.1.peak_rps.max(1e-9)) - 1.0) * 100.0).round(), ms(bc.p99_ms)
        ),
    }
}

/// The rows with the lowest and the highest `key` (the first of equals); `rows` is not empty.
fn extremes<T>(rows: &[T], key: impl Fn(&T) -> f64) -> (&T, &T) {
    let lo = rows
        .iter()
        .min_by(|a, b| key(a).total_cmp(&key(b)))
        .expect("non-empty");
    let hi = rows
        .iter()
        .max_by(|a, b| key(a).total_cmp(&key(b)))
        .expect("non-empty");
    (lo, hi)
}

/// The design fact a model's numbers show, if that model is one we can explain.
fn design_note(lang: Lang, model: Model, c: &Client, s: &Server) -> Option<String> {
    Some(match (model, lang) {
        (Model::Single, Lang::En) => format!(
            "**single** serves one connection at a time, so every other client waits in the listen backlog: its p99 was {} ms against a median of {} ms.",
            ms(c.p99_ms), ms(c.p50_ms)
        ),
        (Model::Single, Lang::Ko) => format!(
            "**single**는 한 번에 하나의 연결만 처리하므로 나머지 클라이언트는 listen backlog에서 기다린다: p99가 {}ms로 중앙값 {}ms보다 훨씬 길다.",
            ms(c.p99_ms), ms(c.p50_ms)
        ),
        (Model::Fork, Lang::En) => format!(
            "**fork** creates a process per connection: it ran up to {} processes and spent {:.1} µs of CPU per request, process creation included.",
            s.peak_processes, s.cpu_us_per_request
        ),
        (Model::Fork, Lang::Ko) => format!(
            "**fork**는 연결마다 프로세스를 만든다: 프로세스가 최대 {}개였고, 프로세스 생성을 포함해 요청당 {:.1} µs의 CPU를 썼다.",
            s.peak_processes, s.cpu_us_per_request
        ),
        (Model::Thread, Lang::En) => format!(
            "**thread** holds a thread per client: up to {} threads, {:.1} MiB (PSS), and {} involuntary context switches.",
            s.peak_threads, s.peak_pss_mib, int(s.involuntary_switches as f64)
        ),
        (Model::Thread, Lang::Ko) => format!(
            "**thread**는 클라이언트마다 스레드를 둔다: 스레드 최대 {}개, {:.1} MiB(PSS), 비자발적 문맥 교환 {}회.",
            s.peak_threads, s.peak_pss_mib, int(s.involuntary_switches as f64)
        ),
        (Model::Select, Lang::En) => format!(
            "**select** serves every client from {} in {:.1} MiB (PSS), waking only for ready sockets — but it rescans every descriptor on each wakeup.",
            counted(s.peak_threads, "thread"), s.peak_pss_mib
        ),
        (Model::Select, Lang::Ko) => format!(
            "**select**는 스레드 {}개, {:.1} MiB(PSS)로 모든 클라이언트를 처리하며 준비된 소켓에만 깨어난다. 다만 깨어날 때마다 모든 디스크립터를 다시 검사한다.",
            s.peak_threads, s.peak_pss_mib
        ),
        (Model::Procs, Lang::En) => format!(
            "**procs** is nginx's design: {} (the parent and its workers), each worker one event loop over many clients, in {:.1} MiB (PSS) in all; each worker may hold as many descriptors as one process may.",
            counted(s.peak_processes, "process"), s.peak_pss_mib
        ),
        (Model::Procs, Lang::Ko) => format!(
            "**procs**는 nginx의 설계다: 프로세스 {}개(부모와 워커), 워커마다 하나의 이벤트 루프가 여러 클라이언트를 처리하며 모두 합쳐 {:.1} MiB(PSS)이다. 워커마다 한 프로세스만큼의 디스크립터를 가질 수 있다.",
            s.peak_processes, s.peak_pss_mib
        ),
        _ => return None,
    })
}

/// "1 thread", "2 threads", "1 process", "3 processes".
fn counted(n: impl Into<u64>, noun: &str) -> String {
    let n = n.into();
    match (n, noun.ends_with('s')) {
        (1, _) => format!("{n} {noun}"),
        (_, true) => format!("{n} {noun}es"),
        _ => format!("{n} {noun}s"),
    }
}
