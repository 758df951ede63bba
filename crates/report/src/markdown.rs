//! `report.md`: settings, the results table, the assignment's sentence per model, the verdict.

use std::fmt::Write;

use crate::analysis::{assignment_sentence, verdict};
use crate::lang::{int, ms, Lang};
use crate::results::{Outcome, Results};
use crate::sections;

/// The Markdown report.
pub fn render_markdown(r: &Results, lang: Lang) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# {}\n",
        lang.pick(
            "swarmlab compare: which server design holds up?",
            "swarmlab compare: 어떤 서버 구조가 버티는가?"
        )
    );
    setup(&mut s, r, lang);
    results_table(&mut s, r, lang);
    table_notes(&mut s, r, lang);
    for section in [
        sections::checks_section(lang, r),
        sections::trials_section(lang, r),
        sections::capacity_section(lang, r),
        sections::scaling_section(lang, r),
        sections::cores_section(lang, r),
        sections::experiments_section(lang, r),
        sections::workloads_section(lang, r),
        sections::baseline_section(lang, r),
    ] {
        if !section.is_empty() {
            let _ = write!(s, "\n{}", section.trim_end());
            let _ = writeln!(s);
        }
    }
    let _ = writeln!(
        s,
        "\n## {}\n",
        lang.pick(
            "Each model, in the assignment's words",
            "모델별 결과(과제 형식)"
        )
    );
    for (m, c, server) in r.ran() {
        let shared: String = crate::analysis::row_notes(lang, server)
            .iter()
            .map(|n| format!(" ({n})"))
            .collect();
        let _ = writeln!(
            s,
            "- **{}**: {}{shared}",
            m.design,
            assignment_sentence(lang, c)
        );
    }
    let _ = writeln!(
        s,
        "\n## {}\n",
        lang.pick(
            "Which design is most efficient, and why",
            "어떤 설계가 가장 효율적인가, 그리고 그 이유"
        )
    );
    for p in verdict(lang, r) {
        let _ = writeln!(s, "{p}\n");
    }
    s
}

/// The machine and the load.
pub(crate) fn setup(s: &mut String, r: &Results, lang: Lang) {
    let m = &r.machine;
    let st = &r.settings;
    let _ = writeln!(
        s,
        "{} {} cores, {}, kernel {}, {} MiB, swarmlab {}. {}\n",
        lang.pick("Machine:", "머신:"),
        m.cores,
        m.cpu,
        m.kernel,
        m.memory_mib,
        m.swarmlab,
        lang.pick(
            &format!("Started {}.", st.started),
            &format!("시작 {}.", st.started)
        )
    );
    if let Some(seed) = st.seed {
        let _ = writeln!(
            s,
            "{}\n",
            lang.pick(
                &format!("Users' random choices: seed {seed} (`--seed {seed}` repeats them)."),
                &format!("사용자의 무작위 선택: 시드 {seed} (`--seed {seed}` 로 같은 선택을 되풀이한다)."),
            )
        );
    }
    let _ = writeln!(
        s,
        "{} `{}` ({}), {} users spawned at {}/s, wait `{}`, at most {} s per model, {}.\n",
        lang.pick("Load:", "부하:"),
        st.request,
        st.workload,
        st.users,
        st.spawn_rate,
        st.wait_time,
        st.max_time_s,
        if st.pinned {
            lang.pick(
                "server and load generator pinned to different cores",
                "서버와 부하 생성기는 서로 다른 코어에 고정",
            )
        } else {
            lang.pick(
                "not pinned (fewer than two cores)",
                "코어 고정 없음(코어 2개 미만)",
            )
        }
    );
}

/// The assignment's run, one row per design, best first.
fn results_table(s: &mut String, r: &Results, lang: Lang) {
    let _ = writeln!(s, "## {}\n", lang.pick("Results", "결과"));
    let head = match lang {
        Lang::En => "| Rank | Model | Peak RPS (best 10 s) | RPS | Requests | Failures | Requests until first failure | Avg ms | p50 ms | p95 ms | p99 ms | Max ms | Server CPU µs/request | Peak PSS MiB (RSS) | Threads | Processes | Open fds | Context switches (vol/invol) | Clean exit |",
        Lang::Ko => "| 순위 | 모델 | 최고 RPS(10초) | RPS | 요청 수 | 실패 수 | 첫 실패까지 요청 수 | 평균 ms | p50 ms | p95 ms | p99 ms | 최대 ms | 요청당 서버 CPU µs | 최대 PSS MiB (RSS) | 스레드 | 프로세스 | 열린 fd | 문맥 교환(자발/비자발) | 정상 종료 |",
    };
    let _ = writeln!(s, "{head}");
    let _ = writeln!(s, "|{}", "---|".repeat(head.matches('|').count() - 1));
    for (rank, (m, c, srv)) in r.ranking().into_iter().enumerate() {
        let name = if r.check_of(m.design.name()).is_some() {
            format!("{} ({})", m.design, lang.pick("yours", "직접 작성"))
        } else if m.design.is_external() {
            format!("{} ({})", m.design, lang.pick("external", "외부"))
        } else {
            m.design.name().to_string()
        };
        let until = c
            .before_first_failure
            .map_or_else(|| "-".to_string(), |n| int(n as f64));
        let server = match srv {
            Some(v) => format!(
                "{:.1} | {:.1} ({:.1}) | {} | {}{} | {} | {}/{} | {}",
                v.cpu_us_per_request,
                v.peak_pss_mib,
                v.peak_rss_mib,
                v.peak_threads,
                v.peak_processes,
                if v.zombies_left > 0 {
                    format!(" + {} {}", v.zombies_left, lang.pick("zombies", "좀비"))
                } else {
                    String::new()
                },
                if v.peak_fds > 0 {
                    int(v.peak_fds as f64)
                } else {
                    "-".into()
                },
                int(v.voluntary_switches as f64),
                int(v.involuntary_switches as f64),
                if v.clean_exit {
                    lang.pick("yes", "예")
                } else {
                    lang.pick("NO", "아니오")
                }
            ),
            None => "- | - | - | - | - | - | -".to_string(),
        };
        let _ = writeln!(
            s,
            "| {} | {name}{} | {} | {:.1} | {} | {} | {until} | {} | {} | {} | {} | {} | {server} |",
            rank + 1,
            if c.saturated.is_some() || c.delayed.is_some() {
                " ⚠"
            } else {
                ""
            },
            int(c.peak_rps),
            c.rps,
            int(c.requests as f64),
            int(c.failures as f64),
            ms(c.avg_ms),
            ms(c.p50_ms),
            ms(c.p95_ms),
            ms(c.p99_ms),
            ms(c.max_ms),
        );
    }
}

/// Who did not run and why, the saturation mark, and how each figure was measured.
fn table_notes(s: &mut String, r: &Results, lang: Lang) {
    let skipped: Vec<_> = r
        .rows
        .iter()
        .filter_map(|m| match &m.outcome {
            Outcome::Skipped { reason } => Some((m.design.name(), reason.as_str())),
            Outcome::Ran { .. } => None,
        })
        .collect();
    if !skipped.is_empty() {
        let _ = writeln!(
            s,
            "\n{}",
            lang.pick("Not run here:", "여기서 실행하지 못한 모델:")
        );
        for (name, why) in skipped {
            let _ = writeln!(s, "- **{name}**: {why}");
        }
    }
    if r.ran().any(|(_, c, _)| c.saturated.is_some()) {
        let _ = writeln!(s, "\n⚠ {}", lang.pick("in the assignment's run (this table) the load generator was saturated for this row: it measures the client, not the server (capacity has its own \"limited by\").", "과제 실행(이 표)에서 이 행을 측정하는 동안 부하 생성기가 포화되었다: 서버가 아니라 클라이언트를 측정한 값이다(수용량에는 따로 \"한계 요인\"이 있다)."));
    }
    for (m, c, _) in r.ran() {
        if let (Some(d), Some(_)) = (c.read_delay, &c.delayed) {
            let _ = writeln!(s, "\n⚠ {}", match lang {
                Lang::En => format!("{}: the load generator's own read delay was a noticeable part of this row's response times ({:.2} ms on average, p99 {:.2} ms): its latencies include the client's waiting.", m.design.name(), d.mean_ms, d.p99_ms),
                Lang::Ko => format!("{}: 부하 생성기 자신의 읽기 지연이 이 행의 응답 시간에서 눈에 띄는 부분이었다(평균 {:.2} ms, p99 {:.2} ms): 지연 시간에 클라이언트가 기다린 시간이 들어 있다.", m.design.name(), d.mean_ms, d.p99_ms),
            });
        }
    }
    let _ = writeln!(s, "\n{}", lang.pick(
        "Latencies are measured by the client from send to complete response (HdrHistogram, 3 significant digits). Server CPU is user + system time of the server's process tree, children included (rusage after it exits). Memory is sampled from /proc once a second and summed over the tree's processes: PSS (from smaps_rollup) splits each shared page among the processes sharing it, so it is the memory the tree really holds; RSS, in brackets, counts a page shared by forked processes once per process (it overstates fork's and prefork's memory).",
        "지연 시간은 클라이언트가 요청 전송부터 응답 완료까지 측정했다(HdrHistogram, 유효숫자 3자리). 서버 CPU는 자식 프로세스를 포함한 서버 프로세스 트리의 user + system 시간(종료 후 rusage)이다. 메모리는 /proc에서 1초마다 측정해 트리의 프로세스에 걸쳐 합산했다: PSS(smaps_rollup)는 공유 페이지를 공유하는 프로세스들에 나누어 계산하므로 트리가 실제로 차지하는 메모리이고, 괄호 안의 RSS는 fork된 프로세스들이 공유하는 페이지를 프로세스마다 다시 센다(fork와 prefork의 메모리를 부풀린다).",
    ));
}
