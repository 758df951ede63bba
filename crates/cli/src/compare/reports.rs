//! What a comparison leaves behind: `index.html`, `report.md`, `results.json`, the `report.pdf`
//! to hand in and its `figures/*.png` (rendered by swarmlab-report), a line per design as it
//! finishes, the rankings on the console at the end,
//! and `--baseline`'s earlier results read back.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use swarmlab_report::sections;
use swarmlab_report::{Baseline, Lang, ModelResult, Outcome, Results};

use crate::Failure;

/// Writes the reports into `out`: a PDF only where a font for `lang` is installed (else one
/// line says which to install, and the rest is written).
pub fn write(results: &Results, out: &Path, lang: Lang) -> Result<(), Failure> {
    write_text(results, out, lang)?;
    match swarmlab_report::pdf::Fonts::system(lang) {
        Ok(fonts) => write_pdf(results, out, lang, &fonts)?,
        Err(why) => {
            // an earlier run's PDF must not pass for this one's
            let _ = std::fs::remove_file(out.join("report.pdf"));
            eprintln!("swarmlab: warning: report.pdf and figures/ not written: {why}");
        }
    }
    Ok(())
}

/// `report.pdf` and `figures/*.png`.
pub fn write_pdf(
    results: &Results,
    out: &Path,
    lang: Lang,
    fonts: &swarmlab_report::pdf::Fonts,
) -> Result<(), Failure> {
    let pdf = swarmlab_report::pdf::render_pdf(results, lang, fonts).map_err(anyhow::Error::msg)?;
    let path = out.join("report.pdf");
    std::fs::write(&path, pdf).with_context(|| format!("cannot write {}", path.display()))?;
    let dir = out.join("figures");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (name, png) in
        swarmlab_report::pdf::render_figures(results, lang, fonts).map_err(anyhow::Error::msg)?
    {
        let path = dir.join(name);
        std::fs::write(&path, png).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// `index.html`, `report.md`, `results.json`.
fn write_text(results: &Results, out: &Path, lang: Lang) -> Result<(), Failure> {
    for (file, text) in [
        (
            "index.html",
            swarmlab_report::html::render_html(results, lang),
        ),
        (
            "report.md",
            swarmlab_report::markdown::render_markdown(results, lang),
        ),
        ("results.json", swarmlab_report::render_json(results)),
    ] {
        let path = out.join(file);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// One design's figures in a line, as it finishes.
pub fn describe(row: &ModelResult) -> String {
    match &row.outcome {
        Outcome::Ran {
            client,
            server,
            capacity,
            ..
        } => format!(
            "{}: peak {:.1} req/s, {} requests, {} failures{}, p99 {:.2} ms{}{}{}{}{}",
            row.design,
            client.peak_rps,
            client.requests,
            client.failures,
            client
                .before_first_failure
                .map_or(String::new(), |n| format!(" (first after {n})")),
            client.p99_ms,
            server.as_ref().map_or(String::new(), |s| format!(
                ", server {:.1} µs CPU/request, {:.1} MiB PSS, exit {}",
                s.cpu_us_per_request,
                s.peak_pss_mib,
                if s.clean_exit { "clean" } else { "NOT clean" }
            )),
            capacity.as_ref().map_or(String::new(), |c| format!(
                "; capacity {} req/s (p99 {:.2} ms, limited by {})",
                sections::shown(c),
                c.p99_ms,
                sections::limited_by(Lang::En, c.limited_by)
            )),
            client
                .saturated
                .as_ref()
                // which phase: the capacity has its own "limited by"
                .map_or(String::new(), |w| format!(" [the assignment's run: {w}]")),
            client
                .delayed
                .as_ref()
                .map_or(String::new(), |w| format!(" [the assignment's run: {w}]")),
            swarmlab_report::analysis::row_notes(Lang::En, server.as_ref())
                .iter()
                .map(|n| format!(" [{n}]"))
                .collect::<String>(),
        ),
        Outcome::Skipped { reason } => format!("{}: not run: {reason}", row.design),
    }
}

/// The rankings, how long it took, and where the reports are.
pub fn print_summary(results: &Results, took: Duration, out: &Path) {
    let by_capacity = results.by_capacity();
    if let (false, Some(slo)) = (by_capacity.is_empty(), results.settings.slo_p99_ms) {
        println!(
            "\ncapacity (the most req/s with p99 <= {slo} ms and failures < 1 %; >= is a lower bound):"
        );
        for (i, (m, c)) in by_capacity.iter().enumerate() {
            println!(
                "  {}. {:<8} {:>12} req/s  p99 {:.2} ms  limited by {}",
                i + 1,
                m.design.name(),
                sections::shown(c),
                c.p99_ms,
                sections::limited_by(Lang::En, c.limited_by)
            );
        }
    }
    println!("\nthe assignment's run (peak RPS over the best 10 s):");
    for (i, (m, c, _)) in results.ranking().iter().enumerate() {
        println!(
            "  {}. {:<8} {:>10.1} req/s  p99 {:.2} ms  failures {}",
            i + 1,
            m.design.name(),
            c.peak_rps,
            c.p99_ms,
            c.failures
        );
    }
    let shared: Vec<String> = results
        .ranking()
        .iter()
        .filter_map(|(m, _, s)| {
            let o = (*s)?.others?;
            o.shared().then(|| {
                format!(
                    "{} ({:.0} % of the server's cores, {:.0} % of the generator's)",
                    m.design, o.server_cores_pct, o.generator_core_pct
                )
            })
        })
        .collect();
    if !shared.is_empty() {
        println!(
            "this ranking is not to be trusted: processes outside the run loaded its cores while {} ran; run again with the machine quiet",
            shared.join(", ")
        );
    }
    let took = took.as_secs();
    println!("took {} min {:02} s", took / 60, took % 60);
    let pdf = out.join("report.pdf").exists();
    let out = out.display();
    println!("reports: {out}/index.html, {out}/report.md, {out}/results.json");
    if pdf {
        println!("to hand in: {out}/report.pdf, and each chart and table in {out}/figures/");
    }
}

/// `--baseline`: the capacities of an earlier results.json.
pub fn read_baseline(file: &Path) -> anyhow::Result<Baseline> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the baseline {}", file.display()))?;
    let old: Results = serde_json::from_str(&text).with_context(|| {
        format!(
            "the baseline {} is not a compare results.json",
            file.display()
        )
    })?;
    let rows: Vec<_> = old
        .rows
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::Ran {
                capacity: Some(c), ..
            } => Some((r.design.clone(), (**c).clone())),
            _ => None,
        })
        .collect();
    if rows.is_empty() {
        anyhow::bail!(
            "the baseline {} has no capacities to compare with (it was run without the capacity search)",
            file.display()
        );
    }
    Ok(Baseline {
        file: file.display().to_string(),
        started: old.settings.started,
        cpu: old.machine.cpu,
        rows,
    })
}
