//! The README and the manual in `docs/` say what exists: every relative link resolves, and
//! every flag a swarmlab command line on a page shows (in a code block or a code span) is one
//! that command's `--help` lists.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// README.md and every page of docs/.
fn pages() -> Vec<PathBuf> {
    let mut out = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    out.extend(docs);
    out
}

/// Words as a shell splits them (quotes kept together, without their quotes).
fn words(line: &str) -> Vec<String> {
    let (mut out, mut cur, mut quote) = (Vec::new(), String::new(), None::<char>);
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => quote = Some(c),
            (None, c) if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            (None, c) => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The swarmlab command lines of a page: code blocks' lines (a trailing `\` continues one)
/// and code spans, from the subcommand on.
fn command_lines(text: &str) -> Vec<Vec<String>> {
    let mut snippets: Vec<String> = Vec::new();
    let mut in_block = false;
    let mut pending = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            let l = line.split(" # ").next().unwrap_or(line);
            match l.trim_end().strip_suffix('\\') {
                Some(head) => pending.push_str(head),
                None => snippets.push(std::mem::take(&mut pending) + l),
            }
        } else {
            snippets.extend(line.split('`').skip(1).step_by(2).map(str::to_string));
        }
    }
    snippets
        .iter()
        .filter_map(|s| {
            let w = words(s);
            let at = w.iter().position(|x| x == "swarmlab" || x == "--")?;
            let rest = w[at + 1..].to_vec();
            matches!(
                rest.first().map(String::as_str),
                Some("serve" | "swarm" | "compare" | "check")
            )
            .then_some(rest)
        })
        .collect()
}

#[test]
fn every_relative_link_resolves() {
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        for target in text.split("](").skip(1).filter_map(|s| s.split(')').next()) {
            if target.starts_with("http")
                || target.starts_with('#')
                || target.starts_with("mailto:")
            {
                continue;
            }
            let file = target.split('#').next().unwrap();
            let resolved = page.parent().unwrap().join(file);
            assert!(
                resolved.exists(),
                "{}: the link ({target}) leads nowhere",
                page.display()
            );
        }
    }
}

#[test]
fn every_flag_a_page_shows_exists() {
    let mut help: BTreeMap<String, String> = BTreeMap::new();
    let mut checked = 0;
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        for line in command_lines(&text) {
            let sub = line[0].clone();
            let listed = help.entry(sub.clone()).or_insert_with(|| {
                let out = Command::new(env!("CARGO_BIN_EXE_swarmlab"))
                    .args([sub.as_str(), "--help"])
                    .output()
                    .unwrap();
                assert!(out.status.success(), "swarmlab {sub} --help");
                String::from_utf8_lossy(&out.stdout).into_owned()
            });
            for flag in line[1..]
                .iter()
                .filter(|w| w.starts_with('-') && w.len() > 1)
            {
                let flag = flag.split('=').next().unwrap();
                // `-u` is listed as `-u, --users`; `--users` as `--users <N>`
                let known = listed
                    .split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == ']')
                    .any(|w| w == flag);
                assert!(
                    known,
                    "{}: `swarmlab {sub}` has no {flag} (in: {})",
                    page.display(),
                    line.join(" ")
                );
                checked += 1;
            }
        }
    }
    assert!(
        checked > 20,
        "only {checked} flags found: the pages' commands were not read"
    );
}
