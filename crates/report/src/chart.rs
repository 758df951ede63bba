//! Inline SVG charts drawn with plotters: line charts over time (or over throughput) and
//! horizontal-free simple bar charts. Deterministic: the same data gives the same SVG.

use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One line of a line chart.
pub struct Line<'a> {
    /// Legend label.
    pub label: &'a str,
    /// (x, y) points.
    pub points: Vec<(f64, f64)>,
}

/// A line of [`xy_chart`]: its own colour index, and dashed (a baseline) or solid.
pub struct Styled {
    /// Legend label.
    pub label: String,
    /// (x, y) points.
    pub points: Vec<(f64, f64)>,
    /// Index into the palette (a model and its baseline share a colour).
    pub color: usize,
    /// Drawn dashed.
    pub dashed: bool,
}

/// A line chart with optional logarithmic axes, dashed lines and point markers, as an `<svg>`
/// element: capacity curves (offered against achieved, p99 against offered) and scaling
/// (against the number of connections).
pub fn xy_chart(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    lines: &[Styled],
    log_x: bool,
    log_y: bool,
) -> String {
    let all = || lines.iter().flat_map(|l| l.points.iter());
    let (xmin, xmax) = bounds(all().map(|p| p.0), log_x);
    let (ymin, ymax) = bounds(all().map(|p| p.1), log_y);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 320)).into_drawing_area();
        let _ = root.fill(&WHITE);
        macro_rules! build {
            ($x:expr, $y:expr) => {
                draw(
                    ChartBuilder::on(&root)
                        .caption(title, ("sans-serif", 18))
                        .margin(10)
                        .x_label_area_size(32)
                        .y_label_area_size(64)
                        .build_cartesian_2d($x, $y),
                    x_desc,
                    y_desc,
                    lines,
                )
            };
        }
        match (log_x, log_y) {
            (false, false) => build!(xmin..xmax, ymin..ymax),
            (true, false) => build!((xmin..xmax).log_scale(), ymin..ymax),
            (false, true) => build!(xmin..xmax, (ymin..ymax).log_scale()),
            (true, true) => build!((xmin..xmax).log_scale(), (ymin..ymax).log_scale()),
        }
        let _ = root.present();
    }
    svg
}

/// An axis' range: from 0 (or, logarithmic, the smallest positive value) to a little above the
/// largest.
fn bounds(values: impl Iterator<Item = f64>, log: bool) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::MAX, 0.0f64);
    for v in values.filter(|v| v.is_finite() && (!log || *v > 0.0)) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if log {
        let lo = if lo == f64::MAX { 1.0 } else { lo };
        (lo / 1.5, hi.max(lo * 10.0) * 1.5)
    } else {
        (0.0, hi.max(1e-3) * 1.1)
    }
}

fn draw<'a, 'b: 'a, X, Y>(
    chart: Result<
        ChartContext<'a, SVGBackend<'b>, Cartesian2d<X, Y>>,
        DrawingAreaErrorKind<std::io::Error>,
    >,
    x_desc: &str,
    y_desc: &str,
    lines: &[Styled],
) where
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let Ok(mut c) = chart else {
        return;
    };
    let _ = c.configure_mesh().x_desc(x_desc).y_desc(y_desc).draw();
    for line in lines {
        let color = COLORS[line.color % COLORS.len()];
        let style = color.stroke_width(2);
        let points: Vec<(f64, f64)> = line.points.clone();
        let drawn = if line.dashed {
            c.draw_series(DashedLineSeries::new(points.clone(), 6, 4, style))
        } else {
            c.draw_series(LineSeries::new(points.clone(), style))
        };
        if let Ok(s) = drawn {
            let dashed = line.dashed;
            s.label(line.label.as_str()).legend(move |(x, y)| {
                if dashed {
                    PathElement::new(vec![(x, y), (x + 6, y)], style)
                } else {
                    PathElement::new(vec![(x, y), (x + 20, y)], style)
                }
            });
        }
        let _ = c.draw_series(
            points
                .iter()
                .map(|&p| Circle::new(p, 3, if line.dashed { style } else { color.filled() })),
        );
    }
    let _ = c
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw();
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

/// One bar of a [`bar_chart`]: the model's name (under the bar) and its value (above it).
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// The name drawn under the bar.
    pub label: String,
    /// The bar's height, drawn above it.
    pub value: f64,
    /// The value is a lower bound (the generator gave out first, or nothing failed): drawn "≥ v".
    pub at_least: bool,
}

impl Bar {
    /// An exact value (not a lower bound).
    pub fn new(label: impl Into<String>, value: f64) -> Self {
        Bar {
            label: label.into(),
            value,
            at_least: false,
        }
    }
}

/// A bar chart (one bar per label, the label on the axis under it) as an `<svg>` element.
pub fn bar_chart(title: &str, y_desc: &str, bars: &[Bar]) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 280)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let ymax = bars
            .iter()
            .map(|b| b.value)
            .fold(0.0f64, f64::max)
            .max(1e-3)
            * 1.15;
        let n = bars.len().max(1) as u32;
        let Ok(mut c) = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(28)
            .y_label_area_size(64)
            // plotters' integer range is inclusive: 0..n-1 gives n segments.
            .build_cartesian_2d((0..n - 1).into_segmented(), 0.0..ymax)
        else {
            return String::new();
        };
        let name = |v: &SegmentValue<u32>| match v {
            SegmentValue::CenterOf(i) => bars
                .get(*i as usize)
                .map(|b| b.label.clone())
                .unwrap_or_default(),
            _ => String::new(),
        };
        let _ = c
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(bars.len().max(1))
            .x_label_formatter(&name)
            .x_label_style(("sans-serif", 13))
            .y_desc(y_desc)
            .draw();
        for (i, bar) in bars.iter().enumerate() {
            let x = i as u32;
            let color = COLORS[i % COLORS.len()];
            let mut rect = Rectangle::new(
                [
                    (SegmentValue::Exact(x), 0.0),
                    (SegmentValue::Exact(x + 1), bar.value),
                ],
                color.filled(),
            );
            rect.set_margin(0, 0, 8, 8);
            let _ = c.draw_series(std::iter::once(rect));
            let bound = if bar.at_least { "≥ " } else { "" };
            let _ = c.draw_series(std::iter::once(Text::new(
                format!("{bound}{}", short(bar.value)),
                (SegmentValue::CenterOf(x), bar.value + ymax * 0.03),
                ("sans-serif", 13)
                    .into_font()
                    .into_text_style(&root)
                    .pos(Pos::new(HPos::Center, VPos::Bottom)),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_chart_names_each_bar_once_and_marks_lower_bounds() {
        let one = bar_chart("t", "req/s", &[Bar::new("epoll", 1234.0)]);
        assert!(one.contains(">epoll<") || one.contains("epoll\n"), "{one}");
        assert!(one.contains("1234"));
        let bars = [
            Bar::new("select", 9600.0),
            Bar {
                label: "thread".into(),
                value: 8800.0,
                at_least: true,
            },
        ];
        let svg = bar_chart("t", "req/s", &bars);
        for label in ["select", "thread", "9600", "≥ 8800"] {
            assert_eq!(svg.matches(label).count(), 1, "{label} in {svg}");
        }
        assert!(!bar_chart("t", "req/s", &[]).is_empty());
    }
}
