//! Inline SVG charts drawn with plotters: line charts over time (or over throughput) and
//! horizontal-free simple bar charts. Deterministic: the same data gives the same SVG.

use plotters::prelude::*;

/// One line of a line chart.
pub struct Line<'a> {
    /// Legend label.
    pub label: &'a str,
    /// (x, y) points.
    pub points: Vec<(f64, f64)>,
}

const COLORS: [RGBColor; 10] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x7f, 0x7f, 0x7f),
    RGBColor(0xbc, 0xbd, 0x22),
    RGBColor(0x17, 0xbe, 0xcf),
];

/// A line chart as an `<svg>` element.
pub fn line_chart(title: &str, x_desc: &str, y_desc: &str, lines: &[Line<'_>]) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 300)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let all = || lines.iter().flat_map(|l| l.points.iter());
        let xmax = all().map(|p| p.0).fold(0.0f64, f64::max).max(1e-3) * 1.02;
        let ymax = all().map(|p| p.1).fold(0.0f64, f64::max).max(1e-3) * 1.1;
        let Ok(mut c) = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(32)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..xmax, 0.0..ymax)
        else {
            return String::new();
        };
        let _ = c.configure_mesh().x_desc(x_desc).y_desc(y_desc).draw();
        for (i, line) in lines.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            if let Ok(s) = c.draw_series(LineSeries::new(
                line.points.iter().copied(),
                color.stroke_width(2),
            )) {
                s.label(line.label).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
            }
        }
        let _ = c
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw();
        let _ = root.present();
    }
    svg
}

/// A bar chart (one bar per label) as an `<svg>` element.
pub fn bar_chart(title: &str, y_desc: &str, bars: &[(String, f64)]) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 280)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let ymax = bars.iter().map(|b| b.1).fold(0.0f64, f64::max).max(1e-3) * 1.15;
        let n = bars.len().max(1) as f64;
        let Ok(mut c) = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(32)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..n, 0.0..ymax)
        else {
            return String::new();
        };
        let _ = c
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_desc(y_desc)
            .draw();
        for (i, (label, v)) in bars.iter().enumerate() {
            let x = i as f64;
            let color = COLORS[i % COLORS.len()];
            let _ = c.draw_series(std::iter::once(Rectangle::new(
                [(x + 0.15, 0.0), (x + 0.85, *v)],
                color.filled(),
            )));
            let _ = c.draw_series(std::iter::once(Text::new(
                format!("{label}: {}", short(*v)),
                (x + 0.15, *v + ymax * 0.03),
                ("sans-serif", 13),
            )));
        }
        let _ = root.present();
    }
    svg
}

fn short(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}
