//! The one font the PDF and the figures are set in, found among the installed fonts (fontdb):
//! for Korean a face with Hangul (Noto Sans CJK KR first), for English a plain sans face;
//! and the advance of each character in it, to break lines.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use usvg::fontdb::{self, Database};

use crate::lang::Lang;

/// The installed fonts, and the face the pages are set in.
pub struct Fonts {
    /// Every installed face (usvg's font database: the charts' `sans-serif` is the chosen
    /// face's family).
    pub db: Arc<Database>,
    /// The chosen face's family, as the pages name it.
    pub family: String,
    data: Vec<u8>,
    index: u32,
    /// Advances per em, by character.
    advances: RefCell<HashMap<char, f32>>,
}

impl Fonts {
    /// The system's fonts, and a face for `lang`; `Err` is one line saying what to install.
    pub fn system(lang: Lang) -> Result<Fonts, String> {
        let mut db = Database::new();
        db.load_system_fonts();
        Fonts::from_db(db, lang)
    }

    /// A face for `lang` from `db`.
    pub fn from_db(mut db: Database, lang: Lang) -> Result<Fonts, String> {
        let probe = match lang {
            Lang::En => 'A',
            Lang::Ko => '한',
        };
        let mut best: Option<(i32, fontdb::ID, String)> = None;
        for face in db.faces() {
            let Some(family) = face.families.first().map(|(f, _)| f.clone()) else {
                continue;
            };
            if face.style != fontdb::Style::Normal {
                continue;
            }
            let covers = db
                .with_face_data(face.id, |data, i| {
                    ttf_parser::Face::parse(data, i)
                        .ok()
                        .and_then(|f| f.glyph_index(probe))
                        .is_some()
                })
                .unwrap_or(false);
            if !covers {
                continue;
            }
            let score = score(lang, &family, face.weight.0);
            if best.as_ref().is_none_or(|(s, _, _)| score > *s) {
                best = Some((score, face.id, family));
            }
        }
        let Some((_, id, family)) = best else {
            return Err(match lang {
                Lang::Ko => "no installed font has Korean glyphs, so the Korean report cannot be set: install one (Debian/Ubuntu: sudo apt install fonts-noto-cjk), or use --lang en".into(),
                Lang::En => "no installed font was found to set the report in: install one (Debian/Ubuntu: sudo apt install fonts-dejavu-core)".into(),
            });
        };
        let (data, index) = db
            .with_face_data(id, |d, i| (d.to_vec(), i))
            .ok_or_else(|| format!("cannot read the font {family}"))?;
        db.set_sans_serif_family(&family);
        Ok(Fonts {
            db: Arc::new(db),
            family,
            data,
            index,
            advances: RefCell::new(HashMap::new()),
        })
    }

    fn advance(&self, c: char) -> f32 {
        if let Some(&a) = self.advances.borrow().get(&c) {
            return a;
        }
        let a = ttf_parser::Face::parse(&self.data, self.index)
            .ok()
            .and_then(|f| {
                let g = f.glyph_index(c)?;
                Some(f.glyph_hor_advance(g)? as f32 / f.units_per_em() as f32)
            })
            // a character the face lacks is drawn by a fallback: about an em for CJK, half
            // for the rest
            .unwrap_or(if (c as u32) > 0x2e80 { 1.0 } else { 0.55 });
        self.advances.borrow_mut().insert(c, a);
        a
    }

    /// The width of `s` at `size` points.
    pub fn width(&self, s: &str, size: f32) -> f32 {
        s.chars().map(|c| self.advance(c)).sum::<f32>() * size
    }

    /// `s` broken into lines no wider than `width` at `size`: at spaces, and inside a word
    /// only when the word alone is wider.
    pub fn wrap(&self, s: &str, size: f32, width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        for word in s.split(' ') {
            let candidate = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if self.width(&candidate, size) <= width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // the word on its own, cut where it must be
            for c in word.chars() {
                line.push(c);
                if self.width(&line, size) > width && line.chars().count() > 1 {
                    let last = line.pop().expect("two characters");
                    lines.push(std::mem::take(&mut line));
                    line.push(last);
                }
            }
        }
        if !line.is_empty() || lines.is_empty() {
            lines.push(line);
        }
        lines
    }

    /// `s`, cut with `…` to fit `width` at `size`.
    pub fn clip(&self, s: &str, size: f32, width: f32) -> String {
        if self.width(s, size) <= width {
            return s.to_string();
        }
        let mut out = String::new();
        for c in s.chars() {
            if self.width(&format!("{out}{c}…"), size) > width {
                break;
            }
            out.push(c);
        }
        out.push('…');
        out
    }
}

/// How well a family suits the report: a plain sans face first, for Korean one made for it.
fn score(lang: Lang, family: &str, weight: u16) -> i32 {
    let f = family.to_ascii_lowercase();
    let mut s = 0;
    if f.contains("sans") && !f.contains("mono") {
        s += 4;
    }
    if f.contains("mono") || f.contains("serif") && !f.contains("sans") {
        s -= 2;
    }
    if weight == 400 {
        s += 1;
    }
    match lang {
        Lang::Ko => {
            if f.contains(" kr") || f.contains("korean") {
                s += 3;
            }
            if f.contains("nanum") {
                s += 2;
            }
        }
        Lang::En => {
            for (i, name) in ["dejavu sans", "noto sans", "liberation sans"]
                .iter()
                .enumerate()
            {
                if f == *name {
                    s += 6 - i as i32;
                }
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_sans_face_wins() {
        assert!(score(Lang::En, "DejaVu Sans", 400) > score(Lang::En, "DejaVu Sans Mono", 400));
        assert!(score(Lang::En, "DejaVu Sans", 400) > score(Lang::En, "Noto Serif", 400));
        assert!(
            score(Lang::Ko, "Noto Sans CJK KR", 400) > score(Lang::Ko, "Noto Sans CJK JP", 400)
        );
        assert!(
            score(Lang::Ko, "Noto Sans CJK KR", 400) > score(Lang::Ko, "Noto Serif CJK KR", 400)
        );
    }

    #[test]
    fn no_font_is_one_line_saying_what_to_install() {
        let err = Fonts::from_db(Database::new(), Lang::Ko).err().unwrap();
        assert!(
            err.contains("apt install fonts-noto-cjk") && !err.contains('\n'),
            "{err}"
        );
    }
}
