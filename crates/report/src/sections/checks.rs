//! Each `--server`'s check beside its numbers: the findings (what, why, how to fix), and, in
//! the verdict, which of its failures (or its tail latency) a finding explains, so a failure
//! that measures a defect is not read as a measure of the design.

use std::fmt::Write;

use crate::check::{render_markdown, summary, Check, Kind, Severity};
use crate::lang::{int, ms, Lang};
use crate::results::{Client, Results};

/// `## Your servers, checked`: per server, the summary and every finding that is not a pass.
pub fn checks_section(lang: Lang, r: &Results) -> String {
    if r.checks.is_empty() {
        return String::new();
    }
    let mut s = format!(
        "## {}\n\n{}\n\n",
        lang.pick("Your servers, checked", "직접 작성한 서버 검사"),
        lang.pick(
            "Before its runs, each server was probed as `swarmlab check --server CMD` does (raw HTTP/1.1 requests: line ends, framing, keep-alive, Connection: close, HTTP/1.0, HEAD, an unknown path, pipelining, a request over 1,024 bytes, bytes that are not HTTP, a silent client, 2,000 connections with its descriptors and children counted, clients leaving early).",
            "실행 전에 각 서버를 `swarmlab check --server CMD` 와 같이 검사했다 (원시 HTTP/1.1 요청: 줄 끝, 본문 경계, keep-alive, Connection: close, HTTP/1.0, HEAD, 없는 경로, 파이프라이닝, 1,024 바이트를 넘는 요청, HTTP 가 아닌 바이트, 말 없는 클라이언트, 디스크립터와 자식 프로세스를 센 2,000번 연결, 일찍 떠나는 클라이언트)."
        )
    );
    for c in &r.checks {
        let _ = writeln!(s, "### {} ({})\n", c.server, summary(c, lang));
        s.push_str(&render_markdown(c, lang));
        s.push('\n');
    }
    s
}

/// The verdict's sentences about the checked servers: each failure kind a finding explains,
/// a tail latency the single-client finding explains, and the errors of a server that did not
/// fail in this run but would for real clients.
pub fn check_verdict(lang: Lang, r: &Results) -> Vec<String> {
    let mut out = Vec::new();
    for (m, c, _) in r.ran() {
        let Some(check) = r.check_of(m.design.name()) else {
            continue;
        };
        let name = m.design.name();
        let errors: Vec<&crate::check::Finding> = check.errors().collect();
        if c.failures > 0 {
            let explained = explained_failures(c, check);
            if explained.is_empty() && !errors.is_empty() {
                out.push(match lang {
                    Lang::En => format!(
                        "**{name}**'s {} failures may be its defects rather than its design: check found {}.",
                        int(c.failures as f64),
                        titles(&errors, lang)
                    ),
                    Lang::Ko => format!(
                        "**{name}** 의 실패 {}건은 설계보다 결함 때문일 수 있다: 검사에서 {} 이(가) 발견되었다.",
                        int(c.failures as f64),
                        titles(&errors, lang)
                    ),
                });
            }
            for (kind, n, finding) in explained {
                out.push(match lang {
                    Lang::En => format!(
                        "**{name}**'s failures `{kind}` ({}) are the defect check found, not the design's limit: {} ({}). {}",
                        int(n as f64),
                        finding.kind.title(lang),
                        finding.probe,
                        finding.kind.fix(lang)
                    ),
                    Lang::Ko => format!(
                        "**{name}** 의 실패 `{kind}` ({}건) 은 설계의 한계가 아니라 검사에서 찾은 결함이다: {} ({}). {}",
                        int(n as f64),
                        finding.kind.title(lang),
                        crate::check::probe_label(&finding.probe, lang),
                        finding.kind.fix(lang)
                    ),
                });
            }
        } else if !errors.is_empty() {
            out.push(match lang {
                Lang::En => format!(
                    "**{name}** had no failure under this load, but check found {} error(s) that real clients meet: {}.",
                    errors.len(),
                    titles(&errors, lang)
                ),
                Lang::Ko => format!(
                    "**{name}** 는 이 부하에서 실패가 없었지만, 실제 클라이언트가 겪을 오류 {}개가 검사에서 발견되었다: {}.",
                    errors.len(),
                    titles(&errors, lang)
                ),
            });
        }
        if let Some(serial) = check
            .findings
            .iter()
            .find(|f| matches!(f.kind, Kind::Serial { .. }))
        {
            out.push(match lang {
                Lang::En => format!(
                    "**{name}** serves one client at a time (check: {}); that is its p99 of {} ms: each user waits for everyone ahead of it.",
                    serial.kind.title(lang),
                    ms(c.p99_ms)
                ),
                Lang::Ko => format!(
                    "**{name}** 는 한 번에 한 클라이언트만 서비스한다 (검사: {}). 그것이 p99 {} ms 의 이유다: 각 사용자가 앞선 모두를 기다린다.",
                    serial.kind.title(lang),
                    ms(c.p99_ms)
                ),
            });
        }
    }
    out
}

fn titles(findings: &[&crate::check::Finding], lang: Lang) -> String {
    findings
        .iter()
        .map(|f| f.kind.title(lang))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Each failure kind of the run that one of the check's errors explains: (kind, count,
/// finding).
fn explained_failures<'a>(
    c: &'a Client,
    check: &'a Check,
) -> Vec<(&'a str, u64, &'a crate::check::Finding)> {
    let mut out = Vec::new();
    for (kind, n) in &c.failure_kinds {
        let k = kind.to_ascii_lowercase();
        let explains = |f: &&crate::check::Finding| -> bool {
            if f.severity != Severity::Error {
                return false;
            }
            match &f.kind {
                Kind::Dies { .. } | Kind::Crashed { .. } => {
                    k.contains("refused") || k.contains("reset") || k.contains("disconnected")
                }
                Kind::LongCut { .. } => k.contains("reset"),
                Kind::ClosesSilently | Kind::PipelineLost { .. } => {
                    k.contains("disconnected") || k.contains("reset") || k.contains("badstatus")
                }
                Kind::BareLf | Kind::WrongLength { .. } | Kind::HeadBody { .. } => {
                    k.contains("badstatus") || k.contains("incomplete") || k.contains("protocol")
                }
                Kind::FdLeak { .. } | Kind::Zombies { .. } | Kind::IgnoresClose { .. } => {
                    k.contains("timed out") || k.contains("timeout") || k.contains("refused")
                }
                _ => false,
            }
        };
        if let Some(f) = check.findings.iter().find(explains) {
            out.push((kind.as_str(), *n, f));
        }
    }
    out
}
