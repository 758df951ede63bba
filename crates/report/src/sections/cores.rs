//! `--cores`: which designs turn cores into throughput. Each design's capacity with its
//! server on 1, 2, 4, ... cores (a model with as many workers), a table, and a verdict that
//! says for each design whether more cores gave more capacity and why its design decides that.

use std::fmt::Write;

use swarmlab_models::Model;

use super::common::shown;
use crate::capacity::LimitedBy;
use crate::lang::Lang;
use crate::results::{Cores, CoresRow, Results};

/// A design whose capacity at the most cores is at least this share of "cores × its
/// one-core capacity" turns cores into throughput.
pub const SCALES: f64 = 0.6;
/// Below this ratio of its most-core to its one-core capacity, more cores gave it nothing.
pub const FLAT: f64 = 1.3;

/// The section: the one-line note where the machine has too few cores, else the table and
/// the verdict.
pub fn cores_section(lang: Lang, r: &Results) -> String {
    r.cores
        .as_ref()
        .map_or_else(String::new, |c| markdown(lang, c))
}

fn markdown(lang: Lang, c: &Cores) -> String {
    let mut s = format!(
        "## {}\n\n",
        lang.pick("Capacity against cores", "코어 수에 따른 수용량")
    );
    if c.steps.len() < 2 {
        let _ = writeln!(s, "{}\n", too_few_cores(lang, c.machine_cores));
        return s;
    }
    let _ = writeln!(
        s,
        "{}\n",
        match lang {
            Lang::En => format!(
                "Each design's capacity with its server on 1 to {} cores (a model with as many workers), the load generator on the other {} with {} threads. `≥` marks a lower bound: there the generator, not the server, was the limit.",
                c.steps.last().unwrap_or(&1),
                c.machine_cores - c.steps.last().unwrap_or(&1),
                c.generator_threads
            ),
            Lang::Ko => format!(
                "서버를 코어 1개에서 {}개까지 두고 (모델은 같은 수의 워커로) 잰 설계별 수용량이다. 부하 생성기는 나머지 {}개 코어에서 스레드 {}개로 돌았다. `≥` 는 하한값이다: 거기서는 서버가 아니라 생성기가 한계였다.",
                c.steps.last().unwrap_or(&1),
                c.machine_cores - c.steps.last().unwrap_or(&1),
                c.generator_threads
            ),
        }
    );
    s += &table(lang, c);
    for line in verdict(lang, c) {
        let _ = writeln!(s, "{line}\n");
    }
    s
}

/// The line a machine with too few cores gets.
pub fn too_few_cores(lang: Lang, machine_cores: usize) -> String {
    match lang {
        Lang::En => format!(
            "Scaling with cores needs more cores: this machine has {machine_cores}, the server gets at most half of them (the load generator the rest), so every design here ran on one core. `compare --cores` measures it with 4 cores or more (on by default from 6), `bash bench/cores.sh` with wrk."
        ),
        Lang::Ko => format!(
            "코어에 따른 확장성을 재려면 코어가 더 필요하다: 이 머신은 {machine_cores}개이고 서버는 그 절반까지만 받는다 (나머지는 부하 생성기), 그래서 여기서는 모든 설계가 코어 하나에서 돌았다. 코어가 4개 이상이면 `compare --cores` 로 (6개부터는 기본으로), wrk 로는 `bash bench/cores.sh` 로 잰다."
        ),
    }
}

fn table(lang: Lang, c: &Cores) -> String {
    let mut s = format!("| {} |", lang.pick("Design", "설계"));
    for k in &c.steps {
        let unit = match (lang, k) {
            (Lang::En, 1) => "core",
            _ => lang.pick("cores", "코어"),
        };
        let _ = write!(s, " {k} {unit} |");
    }
    let _ = writeln!(s, " × |");
    let _ = writeln!(s, "|{}", "---|".repeat(c.steps.len() + 2));
    for row in &c.rows {
        let _ = write!(s, "| {} |", row.design);
        for k in &c.steps {
            let cell = match row.points.iter().find(|p| p.cores == *k) {
                Some(p) => match &p.capacity {
                    Some(cap) => shown(cap),
                    None => lang.pick("did not run", "실행 안 됨").into(),
                },
                None => "-".into(),
            };
            let _ = write!(s, " {cell} |");
        }
        let x = gain(row).map_or_else(|| "-".into(), |(g, _)| format!("{g:.1}"));
        let _ = writeln!(s, " {x} |");
    }
    let _ = writeln!(s);
    s
}

/// A row's capacity at its most cores over its capacity on one, and that most.
pub fn gain(row: &CoresRow) -> Option<(f64, usize)> {
    let cap = |k: usize| {
        row.points
            .iter()
            .find(|p| p.cores == k)
            .and_then(|p| p.capacity.as_ref())
    };
    let one = cap(1)?;
    let most = row
        .points
        .iter()
        .filter(|p| p.capacity.is_some())
        .map(|p| p.cores)
        .max()?;
    if most < 2 || one.rps <= 0.0 {
        return None;
    }
    Some((cap(most)?.rps / one.rps, most))
}

/// How a design uses cores, by design.
fn why(lang: Lang, model: Model) -> &'static str {
    match model {
        Model::Single => lang.pick(
            "serves one connection at a time, so one core is all it can use",
            "한 번에 연결 하나만 처리하므로 코어 하나가 쓸 수 있는 전부다",
        ),
        Model::Select | Model::Poll => lang.pick(
            "is one thread by design",
            "설계상 스레드 하나다",
        ),
        Model::Prefork | Model::Pool => lang.pick(
            "runs N workers on N cores, but each serves one connection at a time: N at once, the rest wait",
            "코어 N개에 워커 N개를 두지만 워커마다 한 번에 연결 하나다: 동시에 N개, 나머지는 기다린다",
        ),
        Model::Thread => lang.pick(
            "runs a thread per connection, on every core",
            "연결마다 스레드를 두어 모든 코어에서 돈다",
        ),
        Model::Fork => lang.pick(
            "runs a process per connection, on every core",
            "연결마다 프로세스를 두어 모든 코어에서 돈다",
        ),
        Model::Epoll | Model::Uring => lang.pick(
            "runs an event loop per core, each over its own connections",
            "코어마다 이벤트 루프를 두고, 루프마다 자기 연결을 처리한다",
        ),
        Model::Procs => lang.pick(
            "runs an event-loop process per core, as nginx does",
            "nginx 처럼 코어마다 이벤트 루프 프로세스를 둔다",
        ),
        Model::Tokio => lang.pick(
            "runs a worker thread per core that steals tasks from the others",
            "코어마다 워커 스레드를 두고 서로의 태스크를 가져온다",
        ),
    }
}

/// One line per design: whether more cores gave it more capacity, and why.
pub fn verdict(lang: Lang, c: &Cores) -> Vec<String> {
    let mut scales = Vec::new();
    let mut partly = Vec::new();
    let mut flat = Vec::new();
    let mut bounded = Vec::new();
    for row in &c.rows {
        let Some((g, most)) = gain(row) else {
            continue;
        };
        let name = row.design.to_string();
        let reason = row
            .design
            .model()
            .map(|m| format!(" ({})", why(lang, m)))
            .unwrap_or_default();
        let item = format!("**{name}** ×{g:.1}{reason}");
        if g >= SCALES * most as f64 {
            scales.push(item);
        } else if g >= FLAT {
            partly.push(item);
        } else {
            flat.push(item);
        }
        let lower: Vec<String> = row
            .points
            .iter()
            .filter(|p| {
                p.capacity
                    .as_ref()
                    .is_some_and(|cap| cap.limited_by == LimitedBy::Generator)
            })
            .map(|p| p.cores.to_string())
            .collect();
        if !lower.is_empty() {
            bounded.push(format!("**{name}** ({})", lower.join(", ")));
        }
    }
    let most = c.steps.last().copied().unwrap_or(1);
    let mut out = Vec::new();
    let mut say = |list: &[String], en: &str, ko: &str| {
        if !list.is_empty() {
            out.push(format!(
                "{} {}.",
                lang.pick(en, ko),
                list.join(lang.pick("; ", "; "))
            ));
        }
    };
    say(
        &scales,
        &format!("**Turn cores into throughput** (at {most} cores at least {:.0} % of {most} × their one-core capacity):", SCALES * 100.0),
        &format!("**코어를 처리량으로 바꾼다** (코어 {most}개에서 코어 하나일 때의 {most}배의 {:.0} % 이상):", SCALES * 100.0),
    );
    say(
        &partly,
        "**Gain from more cores, but less than in proportion:**",
        "**코어가 늘면 얻지만 비례보다 적다:**",
    );
    say(
        &flat,
        &format!("**Gain nothing from more cores** (under ×{FLAT:.1}):"),
        &format!("**코어가 늘어도 얻는 것이 없다** (×{FLAT:.1} 미만):"),
    );
    say(
        &bounded,
        "Where the load generator, not the server, was the limit (the server's figure is at least that), at these numbers of cores:",
        "서버가 아니라 부하 생성기가 한계였던 곳 (서버의 수치는 적어도 그만큼), 코어 수:",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capacity::Capacity;
    use crate::results::{CorePoint, Design};

    fn cap(rps: f64, limited_by: LimitedBy) -> Capacity {
        Capacity {
            rps,
            p99_ms: 10.0,
            limited_by,
            cpu_us_per_request: None,
            handshakes_per_s: None,
            curve: Vec::new(),
            spread: None,
            searches: Vec::new(),
        }
    }

    fn row(model: Model, caps: &[(usize, f64)]) -> CoresRow {
        CoresRow {
            design: Design::Model(model),
            points: caps
                .iter()
                .map(|&(cores, rps)| CorePoint {
                    cores,
                    capacity: Some(cap(
                        rps,
                        if rps > 900_000.0 {
                            LimitedBy::Generator
                        } else {
                            LimitedBy::Server
                        },
                    )),
                    skipped: None,
                })
                .collect(),
        }
    }

    /// The 16-core figures: epoll 7.9×, tokio 6.0×, uring 0.72×, pool flat.
    #[test]
    fn designs_are_sorted_by_what_cores_gave_them() {
        let c = Cores {
            machine_cores: 16,
            steps: vec![1, 2, 4, 8],
            generator_threads: 8,
            rows: vec![
                row(
                    Model::Epoll,
                    &[
                        (1, 127_546.0),
                        (2, 250_000.0),
                        (4, 500_000.0),
                        (8, 1_010_040.0),
                    ],
                ),
                row(Model::Tokio, &[(1, 123_932.0), (8, 745_862.0)]),
                row(Model::Uring, &[(1, 187_446.0), (8, 134_143.0)]),
                row(Model::Select, &[(1, 100_000.0), (8, 101_000.0)]),
            ],
        };
        let v = verdict(Lang::En, &c);
        assert!(v[0].starts_with("**Turn cores into throughput**"), "{v:?}");
        assert!(
            v[0].contains("**epoll** ×7.9") && v[0].contains("**tokio** ×6.0"),
            "{v:?}"
        );
        let flat = v.iter().find(|l| l.contains("Gain nothing")).unwrap();
        assert!(
            flat.contains("**uring** ×0.7") && flat.contains("**select** ×1.0"),
            "{flat}"
        );
        assert!(flat.contains("one thread by design"), "{flat}");
        // epoll at 8 cores was the generator's limit: said, and shown as a lower bound
        assert!(v
            .iter()
            .any(|l| l.contains("load generator") && l.contains("**epoll** (8)")));
        let md = table(Lang::En, &c);
        assert!(
            md.contains("| epoll | 127,546 | 250,000 | 500,000 | ≥ 1,010,040 | 7.9 |"),
            "{md}"
        );
        assert!(
            md.contains("| tokio | 123,932 | - | - | 745,862 | 6.0 |"),
            "{md}"
        );
    }

    #[test]
    fn too_few_cores_is_one_line() {
        let c = Cores {
            machine_cores: 2,
            steps: vec![1],
            generator_threads: 1,
            rows: Vec::new(),
        };
        let s = markdown(Lang::En, &c);
        assert_eq!(s.lines().filter(|l| !l.trim().is_empty()).count(), 2, "{s}");
        assert!(s.contains("needs more cores: this machine has 2"), "{s}");
        assert!(markdown(Lang::Ko, &c).contains("코어가 더 필요하다"));
    }
}
