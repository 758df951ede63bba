//! `--scaling`: the capacity search again at each number of open connections, with the
//! server's memory and CPU per request there.

use std::fmt::Write;

use super::common::shown;
use crate::lang::{int, Lang};
use crate::results::{Outcome, Results};

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
    s += &table(lang, &rows, &counts);
    s += &growth(lang, &rows);
    s
}

/// A design's scaling points.
type Rows<'a> = [(&'a crate::ModelResult, &'a Vec<crate::ScalePoint>)];

/// One row per design, one column per connection count.
fn table(lang: Lang, rows: &Rows<'_>, counts: &[usize]) -> String {
    let mut s = String::new();
    let _ = write!(s, "| {} |", lang.pick("Model", "모델"));
    for n in counts {
        let _ = write!(
            s,
            " {} {} |",
            int(*n as f64),
            lang.pick("connections", "연결")
        );
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "|{}", "---|".repeat(counts.len() + 1));
    for (m, points) in rows {
        let _ = write!(s, "| {} |", m.design);
        for n in counts {
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
    s
}

/// Memory per added connection and CPU growth, fewest to most connections.
fn growth(lang: Lang, rows: &Rows<'_>) -> String {
    let mut s = String::new();
    let mut memory = Vec::new();
    let mut cpu = Vec::new();
    for (m, points) in rows {
        let (Some(a), Some(b)) = (points.first(), points.last()) else {
            continue;
        };
        if b.connections <= a.connections {
            continue;
        }
        let per_conn_kib =
            (b.pss_mib - a.pss_mib) * 1024.0 / (b.connections - a.connections) as f64;
        memory.push((m.design.name(), per_conn_kib, a, b));
        if let (Some(x), Some(y)) = (a.capacity.cpu_us_per_request, b.capacity.cpu_us_per_request) {
            cpu.push((m.design.name(), y / x.max(1e-9), x, y, a, b));
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
