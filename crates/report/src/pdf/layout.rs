//! Blocks (headings, paragraphs, lists, tables, charts) flowed onto A4 pages, each page an
//! SVG document: the same SVG that resvg turns into a PNG and krilla-svg into a PDF page (its
//! text kept as text). Lines are broken by measuring each character's advance in the one
//! font the pages use.

use std::fmt::Write;

use super::fonts::Fonts;

/// A4 in points.
pub const PAGE_W: f32 = 595.28;
/// A4 in points.
pub const PAGE_H: f32 = 841.89;
const MARGIN: f32 = 48.0;
/// The width text and tables may use.
pub const CONTENT_W: f32 = PAGE_W - 2.0 * MARGIN;
const BODY: f32 = 9.5;
const LEADING: f32 = 1.4;

/// One piece of the report.
#[derive(Clone, Debug)]
pub enum Block {
    /// The title.
    H1(String),
    /// A section.
    H2(String),
    /// A subsection.
    H3(String),
    /// A paragraph.
    Para(String),
    /// A paragraph set apart (the assignment's sentence).
    Quote(String),
    /// A list.
    Bullets(Vec<String>),
    /// A table: a header and rows; columns from `numeric_from` on are right-aligned.
    Table(Table),
    /// A chart (an SVG with a `viewBox`), drawn across the content width.
    Chart(String),
    /// The rest goes on a new page.
    PageBreak,
}

/// A table's cells.
#[derive(Clone, Debug, Default)]
pub struct Table {
    /// Column headings.
    pub header: Vec<String>,
    /// Rows of cells.
    pub rows: Vec<Vec<String>>,
    /// The first right-aligned (numeric) column.
    pub numeric_from: usize,
}

/// Pages being filled.
struct Flow<'a> {
    fonts: &'a Fonts,
    pages: Vec<String>,
    page: String,
    y: f32,
    footer: String,
}

impl Flow<'_> {
    fn room(&self) -> f32 {
        PAGE_H - MARGIN - self.y
    }

    fn need(&mut self, h: f32) {
        if h > self.room() && self.y > MARGIN + 1.0 {
            self.new_page();
        }
    }

    fn new_page(&mut self) {
        let n = self.pages.len() + 1;
        let done = std::mem::take(&mut self.page);
        self.pages
            .push(finish_page(done, &self.footer, n, self.fonts));
        self.y = MARGIN;
    }

    fn text(&mut self, x: f32, y: f32, size: f32, s: &str, extra: &str) {
        let _ = write!(
            self.page,
            r#"<text x="{x:.2}" y="{y:.2}" font-size="{size}" font-family="{}"{extra}>{}</text>"#,
            xml(&self.fonts.family),
            xml(s)
        );
    }

    fn lines(&mut self, text: &str, size: f32, indent: f32, color: &str, weight: &str) {
        let width = CONTENT_W - indent;
        for line in self.fonts.wrap(text, size, width) {
            let h = size * LEADING;
            self.need(h);
            self.y += h;
            let extra = format!(r#" fill="{color}"{weight}"#);
            self.text(MARGIN + indent, self.y - size * 0.3, size, &line, &extra);
        }
    }
}

/// Lays `blocks` out on A4 pages: each page an SVG document, `footer` and the page number
/// at the bottom of each.
pub fn pages(blocks: &[Block], fonts: &Fonts, footer: &str) -> Vec<String> {
    let mut f = Flow {
        fonts,
        pages: Vec::new(),
        page: String::new(),
        y: MARGIN,
        footer: footer.to_string(),
    };
    for b in blocks {
        match b {
            Block::H1(t) => {
                f.lines(t, 17.0, 0.0, "#1a1a1a", r#" font-weight="bold""#);
                f.y += 8.0;
            }
            Block::H2(t) => {
                // a heading keeps some of what follows with it
                f.need(60.0);
                f.y += 10.0;
                f.lines(t, 13.0, 0.0, "#1f3b73", r#" font-weight="bold""#);
                let _ = write!(
                    f.page,
                    r##"<rect x="{MARGIN}" y="{:.2}" width="{CONTENT_W}" height="0.8" fill="#1f3b73"/>"##,
                    f.y + 2.0
                );
                f.y += 6.0;
            }
            Block::H3(t) => {
                f.need(45.0);
                f.y += 6.0;
                f.lines(t, 11.0, 0.0, "#1a1a1a", r#" font-weight="bold""#);
                f.y += 2.0;
            }
            Block::Para(t) => {
                f.lines(t, BODY, 0.0, "#222222", "");
                f.y += 5.0;
            }
            Block::Quote(t) => {
                let top = f.y;
                f.lines(t, BODY + 0.5, 10.0, "#111111", "");
                let _ = write!(
                    f.page,
                    r##"<rect x="{MARGIN}" y="{:.2}" width="3" height="{:.2}" fill="#d08a00"/>"##,
                    top + 2.0,
                    (f.y - top).max(4.0)
                );
                f.y += 6.0;
            }
            Block::Bullets(items) => {
                for it in items {
                    f.need(BODY * LEADING);
                    let y = f.y + BODY * LEADING - BODY * 0.3;
                    f.text(MARGIN + 2.0, y, BODY, "•", r##" fill="#444444""##);
                    f.lines(it, BODY, 11.0, "#222222", "");
                    f.y += 2.0;
                }
                f.y += 4.0;
            }
            Block::Table(t) => table(&mut f, t),
            Block::Chart(svg) => chart(&mut f, svg),
            Block::PageBreak => f.new_page(),
        }
    }
    if !f.page.is_empty() {
        f.new_page();
    }
    f.pages
}

/// One block on a page of its own size (a figure file): a table or a chart, `width` points
/// wide.
pub fn standalone(block: &Block, fonts: &Fonts, width: f32) -> String {
    let mut f = Flow {
        fonts,
        pages: Vec::new(),
        page: String::new(),
        y: 8.0,
        footer: String::new(),
    };
    let body = match block {
        Block::Table(t) => {
            let (size, widths, header_lines) = fit_table(fonts, t, width - 16.0);
            draw_table_rows(
                &mut f,
                t,
                8.0,
                size,
                &widths,
                &header_lines,
                0..t.rows.len(),
            );
            f.page
        }
        _ => String::new(),
    };
    let h = f.y + 8.0;
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h:.0}" viewBox="0 0 {width} {h:.0}"><rect width="100%" height="100%" fill="#ffffff"/>{body}</svg>"##
    )
}

fn finish_page(body: String, footer: &str, n: usize, fonts: &Fonts) -> String {
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{PAGE_W}" height="{PAGE_H}" viewBox="0 0 {PAGE_W} {PAGE_H}"><rect width="100%" height="100%" fill="#ffffff"/>{body}<text x="{MARGIN}" y="{:.2}" font-size="7.5" font-family="{fam}" fill="#777777">{}</text><text x="{:.2}" y="{:.2}" font-size="7.5" font-family="{fam}" fill="#777777" text-anchor="end">{n}</text></svg>"##,
        PAGE_H - 24.0,
        xml(footer),
        PAGE_W - MARGIN,
        PAGE_H - 24.0,
        fam = xml(&fonts.family),
    )
}

/// A chart scaled to the content width, its own `viewBox` kept.
fn chart(f: &mut Flow<'_>, svg: &str) {
    let Some((w, h)) = svg_size(svg) else {
        return;
    };
    let scale = CONTENT_W / w;
    let height = h * scale;
    f.need(height + 6.0);
    f.page.push_str(&nest(svg, MARGIN, f.y, CONTENT_W, height));
    f.y += height + 6.0;
}

/// `svg` as a nested `<svg>` at (x, y), `w` by `h`: its root's own width and height give way
/// to these (its `viewBox` stays, so it scales).
fn nest(svg: &str, x: f32, y: f32, w: f32, h: f32) -> String {
    let Some(start) = svg.find("<svg") else {
        return String::new();
    };
    let Some(len) = svg[start..].find('>') else {
        return String::new();
    };
    let root = &svg[start + 4..start + len];
    let mut kept = String::new();
    let mut rest = root;
    // attributes are name="value" pairs; drop width and height
    while let Some(eq) = rest.find("=\"") {
        let name = rest[..eq].trim();
        let after = &rest[eq + 2..];
        let Some(close) = after.find('"') else {
            break;
        };
        if name != "width" && name != "height" {
            let _ = write!(kept, r#" {name}="{}""#, &after[..close]);
        }
        rest = &after[close + 1..];
    }
    format!(
        r#"<svg x="{x:.2}" y="{y:.2}" width="{w:.2}" height="{h:.2}"{kept}{}"#,
        &svg[start + len..]
    )
}

/// The width and height of an SVG's root element.
pub fn svg_size(svg: &str) -> Option<(f32, f32)> {
    let root = &svg[svg.find("<svg")?..];
    let root = &root[..root.find('>')?];
    let attr = |name: &str| -> Option<f32> {
        let at = root.find(&format!(" {name}=\""))? + name.len() + 3;
        root[at..].split('"').next()?.parse().ok()
    };
    Some((attr("width")?, attr("height")?))
}

/// A font size and column widths that fit `width`: the body size, smaller (to 5 pt) for
/// wide tables; headings wrap onto several lines where their words allow.
fn fit_table(fonts: &Fonts, t: &Table, width: f32) -> (f32, Vec<f32>, Vec<Vec<String>>) {
    let pad = 6.0;
    let mut size = 8.5;
    loop {
        let mut widths: Vec<f32> = t
            .header
            .iter()
            .map(|h| {
                h.split(' ')
                    .map(|w| fonts.width(w, size))
                    .fold(0.0, f32::max)
                    + pad
            })
            .collect();
        for row in &t.rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = w.max(fonts.width(cell, size) + pad);
                }
            }
        }
        let total: f32 = widths.iter().sum();
        if total <= width || size <= 5.0 {
            // the spare width goes to every column alike
            let spare = ((width - total) / widths.len().max(1) as f32).max(0.0);
            let spare = if total > width * 0.55 { spare } else { 0.0 };
            for w in &mut widths {
                *w += spare;
            }
            let header_lines = t
                .header
                .iter()
                .zip(&widths)
                .map(|(h, w)| fonts.wrap(h, size, w - pad))
                .collect();
            return (size, widths, header_lines);
        }
        size -= 0.5;
    }
}

fn table(f: &mut Flow<'_>, t: &Table) {
    let (size, widths, header_lines) = fit_table(f.fonts, t, CONTENT_W);
    let row_h = size * 1.7;
    let head_h = header_h(&header_lines, size);
    let mut start = 0;
    loop {
        f.need(head_h + row_h * (t.rows.len() - start).min(3) as f32);
        let fits = ((f.room() - head_h) / row_h).floor().max(1.0) as usize;
        let end = (start + fits).min(t.rows.len());
        draw_table_rows(f, t, MARGIN, size, &widths, &header_lines, start..end);
        start = end;
        if start >= t.rows.len() {
            break;
        }
        f.new_page();
    }
    f.y += 8.0;
}

fn header_h(lines: &[Vec<String>], size: f32) -> f32 {
    lines.iter().map(Vec::len).max().unwrap_or(1) as f32 * size * 1.25 + size * 0.8
}

fn draw_table_rows(
    f: &mut Flow<'_>,
    t: &Table,
    x0: f32,
    size: f32,
    widths: &[f32],
    header_lines: &[Vec<String>],
    rows: std::ops::Range<usize>,
) {
    let row_h = size * 1.7;
    let head_h = header_h(header_lines, size);
    let total: f32 = widths.iter().sum();
    let _ = write!(
        f.page,
        r##"<rect x="{x0:.2}" y="{:.2}" width="{total:.2}" height="{head_h:.2}" fill="#e9edf5"/>"##,
        f.y
    );
    let mut x = x0;
    for (i, lines) in header_lines.iter().enumerate() {
        for (k, line) in lines.iter().enumerate() {
            let y = f.y + size * 1.25 * (k + 1) as f32;
            cell(
                f,
                x,
                widths[i],
                y,
                size,
                line,
                i >= t.numeric_from,
                r#" font-weight="bold""#,
            );
        }
        x += widths[i];
    }
    f.y += head_h;
    for (n, r) in t.rows[rows].iter().enumerate() {
        if n % 2 == 1 {
            let _ = write!(
                f.page,
                r##"<rect x="{x0:.2}" y="{:.2}" width="{total:.2}" height="{row_h:.2}" fill="#f6f7f9"/>"##,
                f.y
            );
        }
        let mut x = x0;
        for (i, c) in r.iter().enumerate() {
            let w = widths.get(i).copied().unwrap_or(0.0);
            cell(f, x, w, f.y + size * 1.2, size, c, i >= t.numeric_from, "");
            x += w;
        }
        f.y += row_h;
    }
    let _ = write!(
        f.page,
        r##"<rect x="{x0:.2}" y="{:.2}" width="{total:.2}" height="0.6" fill="#9aa5b8"/>"##,
        f.y
    );
}

#[allow(clippy::too_many_arguments)]
fn cell(f: &mut Flow<'_>, x: f32, w: f32, y: f32, size: f32, s: &str, right: bool, extra: &str) {
    let pad = 3.0;
    // (a hair more than the columns were sized for: what fit there is not cut here)
    let s = f.fonts.clip(s, size, w - 2.0 * pad + 0.5);
    if right {
        let extra = format!(r##" text-anchor="end" fill="#1a1a1a"{extra}"##);
        f.text(x + w - pad, y, size, &s, &extra);
    } else {
        let extra = format!(r##" fill="#1a1a1a"{extra}"##);
        f.text(x + pad, y, size, &s, &extra);
    }
}

/// Text for XML.
pub fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
