//! The workspace's module graph has no cycle: no module imports one that imports it back.
//!
//! Read from the sources: in every crate, the top-level modules (a file or a folder under
//! `src/`) and what each one's non-test code names through `crate::` (names re-exported at the
//! crate's root count as the module they come from); inside every folder module, its files
//! and what each names of its siblings through `super::`. A cycle in any of these graphs
//! fails, with the modules in it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module name -> the modules it names.
type Graph = BTreeMap<String, BTreeSet<String>>;

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(rust_files(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out
}

/// The code that is not a unit test or a comment.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    text.lines()
        .map(|l| l.split_once("//").map_or(l, |(code, _)| code))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first path segment of everything named after `prefix` (`crate::`, `super::`), groups
/// (`crate::{a, b::c}`) included.
fn named_after(code: &str, prefix: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    for (i, _) in code.match_indices(prefix) {
        let rest = &code[i + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let (mut depth, mut part, mut parts) = (1, String::new(), Vec::new());
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 1 => parts.push(std::mem::take(&mut part)),
                    _ => {}
                }
                if depth == 0 {
                    break;
                }
                if depth == 1 && c != ',' {
                    part.push(c);
                }
            }
            parts.push(part);
            out.extend(parts.iter().map(|p| ident(p.trim())));
        } else {
            out.insert(ident(rest));
        }
    }
    out.remove("");
    out
}

/// Names the root re-exports (`pub use engine::{Swarm, Plan}`) -> their module.
fn reexports(root: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for stmt in root.split(';') {
        let Some(rest) = stmt.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, names)) = rest.split_once("::") else {
            continue;
        };
        for name in names.trim_matches(|c| "{} \n".contains(c)).split(',') {
            let name = name.split(" as ").last().unwrap_or("").trim();
            if !name.is_empty() {
                out.insert(name.to_string(), module.trim().to_string());
            }
        }
    }
    out
}

/// The cycles of `g` (strongly connected components of more than one module).
fn cycles(g: &Graph) -> Vec<Vec<String>> {
    // Kosaraju: order by finish time, then collect on the reversed graph.
    fn visit(g: &Graph, n: &str, seen: &mut BTreeSet<String>, order: &mut Vec<String>) {
        if seen.insert(n.to_string()) {
            for m in g.get(n).into_iter().flatten() {
                visit(g, m, seen, order);
            }
            order.push(n.to_string());
        }
    }
    let (mut seen, mut order) = (BTreeSet::new(), Vec::new());
    for n in g.keys() {
        visit(g, n, &mut seen, &mut order);
    }
    let mut reversed: Graph = g.keys().map(|k| (k.clone(), BTreeSet::new())).collect();
    for (a, bs) in g {
        for b in bs {
            reversed.entry(b.clone()).or_default().insert(a.clone());
        }
    }
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for n in order.iter().rev() {
        let mut component = Vec::new();
        visit(&reversed, n, &mut done, &mut component);
        if component.len() > 1 {
            component.sort();
            out.push(component);
        }
    }
    out
}

/// The top-level modules of one crate and what they name.
fn crate_graph(src: &Path) -> Graph {
    let root_file = ["lib.rs", "main.rs"]
        .iter()
        .map(|f| src.join(f))
        .find(|p| p.exists())
        .unwrap();
    let re = reexports(&code(&root_file));
    let module_of = |p: &Path| -> Option<String> {
        let rel = p.strip_prefix(src).ok()?;
        let first = rel.components().next()?.as_os_str().to_str()?;
        let name = first.strip_suffix(".rs").unwrap_or(first);
        (!matches!(name, "lib" | "main")).then(|| name.to_string())
    };
    let files = rust_files(src);
    let modules: BTreeSet<String> = files.iter().filter_map(|p| module_of(p)).collect();
    let mut g: Graph = modules
        .iter()
        .map(|m| (m.clone(), BTreeSet::new()))
        .collect();
    for f in &files {
        let Some(m) = module_of(f) else { continue };
        for name in named_after(&code(f), "crate::") {
            let target = re.get(&name).cloned().unwrap_or(name);
            if target != m && modules.contains(&target) {
                g.get_mut(&m).unwrap().insert(target);
            }
        }
    }
    g
}

/// Inside a folder module: its files and which siblings each names through `super::`.
fn folder_graph(dir: &Path) -> Graph {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs") && !p.ends_with("mod.rs"))
        .collect();
    let stem = |p: &Path| p.file_stem().unwrap().to_string_lossy().into_owned();
    let siblings: BTreeSet<String> = files.iter().map(|p| stem(p)).collect();
    let mut g: Graph = siblings
        .iter()
        .map(|s| (s.clone(), BTreeSet::new()))
        .collect();
    for f in &files {
        for name in named_after(&code(f), "super::") {
            if name != stem(f) && siblings.contains(&name) {
                g.get_mut(&stem(f)).unwrap().insert(name);
            }
        }
    }
    g
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut checked = 0;
    let mut found = Vec::new();
    for krate in std::fs::read_dir(&crates).unwrap().flatten() {
        let src = krate.path().join("src");
        if !src.is_dir() {
            continue;
        }
        let name = krate.file_name().to_string_lossy().into_owned();
        let g = crate_graph(&src);
        checked += g.len();
        for c in cycles(&g) {
            found.push(format!("crates/{name}: {}", c.join(" <-> ")));
        }
        for f in rust_files(&src) {
            if f.ends_with("mod.rs") {
                let dir = f.parent().unwrap();
                for c in cycles(&folder_graph(dir)) {
                    found.push(format!("{}: {}", dir.display(), c.join(" <-> ")));
                }
            }
        }
    }
    assert!(checked > 40, "read only {checked} modules");
    assert!(found.is_empty(), "import cycles:\n{}", found.join("\n"));
}

/// The reader itself, on a made-up graph and made-up code: it finds what it is for.
#[test]
fn the_reader_sees_groups_reexports_and_cycles() {
    let names = named_after(
        "use crate::a::X;\nuse crate::{b::Y, c, d::{e, f}};\nlet v = crate::G;",
        "crate::",
    );
    assert_eq!(names, ["G", "a", "b", "c", "d"].map(String::from).into());
    let re = reexports("pub use engine::{Swarm, Plan as P};\npub use stats::Stats;");
    assert_eq!(re["Swarm"], "engine");
    assert_eq!(re["P"], "engine");
    assert_eq!(re["Stats"], "stats");
    let g: Graph = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(cycles(&g), [["a", "b", "c"].map(String::from).to_vec()]);
}

/// The crates in their written order, each with the crates it may depend on: layers point one
/// way. `http` and `models` are leaves; the servers build on `http`; the engine on `http` alone
/// (no report, no server: a load generator builds neither a PDF writer nor io_uring);
/// the reports read design names (`models`) and know neither engine nor server; Locust's faces
/// sit on the engine (and draw the `--html` report's charts with the report's chart code); the
/// binary is on top.
const LAYERS: &[(&str, &[&str])] = &[
    ("http", &[]),
    ("models", &[]),
    ("server", &["http", "models"]),
    ("swarm", &["http"]),
    ("report", &["models"]),
    ("locust", &["swarm", "report"]),
    (
        "cli",
        &["http", "models", "server", "swarm", "report", "locust"],
    ),
];

/// The `swarmlab-*` crates a manifest names, in any dependency table (normal, dev, build):
/// a test's dependency points across layers as much as the code's does.
fn workspace_deps(manifest: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut in_deps = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_deps = line.ends_with("dependencies]");
            continue;
        }
        if !in_deps {
            continue;
        }
        let key = line.split(['=', '.', ' ']).next().unwrap_or("");
        if let Some(name) = key.strip_prefix("swarmlab-") {
            out.insert(name.to_string());
        }
    }
    out
}

/// What breaks the written order: a crate not in it, or a dependency it does not allow.
fn layer_violations(krate: &str, deps: &BTreeSet<String>) -> Vec<String> {
    let Some((_, allowed)) = LAYERS.iter().find(|(name, _)| *name == krate) else {
        return vec![format!(
            "crates/{krate} is not in the written order (LAYERS)"
        )];
    };
    deps.iter()
        .filter(|d| !allowed.contains(&d.as_str()))
        .map(|d| format!("crates/{krate} depends on swarmlab-{d}, which its layer may not"))
        .collect()
}

#[test]
fn crates_depend_only_on_the_layers_below() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut found = Vec::new();
    let mut checked = 0;
    for krate in std::fs::read_dir(&crates).unwrap().flatten() {
        let manifest = krate.path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        let name = krate.file_name().to_string_lossy().into_owned();
        checked += 1;
        found.extend(layer_violations(&name, &workspace_deps(&text)));
    }
    assert_eq!(checked, LAYERS.len(), "crates found: {checked}");
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// The check on made-up manifests: a reversed dependency (the engine on the reports, HTTP on
/// the engine) and a crate outside the order fail; the engine's own manifest passes.
#[test]
fn a_reversed_crate_dependency_fails() {
    let engine_on_report = "[package]\nname = \"swarmlab-swarm\"\n[dependencies]\n\
        swarmlab-http.workspace = true\nswarmlab-report = { path = \"../report\" }\n";
    let deps = workspace_deps(engine_on_report);
    assert_eq!(deps, ["http", "report"].map(String::from).into());
    assert_eq!(
        layer_violations("swarm", &deps),
        ["crates/swarm depends on swarmlab-report, which its layer may not"]
    );
    let http_on_engine = "[dev-dependencies]\nswarmlab-swarm.workspace = true\n";
    assert_eq!(
        layer_violations("http", &workspace_deps(http_on_engine)).len(),
        1
    );
    assert_eq!(layer_violations("newcrate", &BTreeSet::new()).len(), 1);
    let ours =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../swarm/Cargo.toml"))
            .unwrap();
    assert!(layer_violations("swarm", &workspace_deps(&ours)).is_empty());
    assert!(!workspace_deps(&ours).is_empty());
}

/// Python module name of a file below the runtime's root: `locust/user/task.py` ->
/// `locust.user.task`, `locust/__init__.py` -> `locust`.
fn py_module(rel: &str) -> String {
    let rel = rel.trim_end_matches(".py");
    let rel = rel.strip_suffix("/__init__").unwrap_or(rel);
    rel.replace('/', ".")
}

/// Every import of every module (inside functions too: an import is a dependency wherever it
/// is written), as edges between the given modules. `files`: (path below the root, text).
fn python_graph(files: &[(String, String)]) -> Graph {
    let known: BTreeSet<String> = files.iter().map(|(p, _)| py_module(p)).collect();
    let mut g = Graph::new();
    for (path, text) in files {
        let me = py_module(path);
        let package = if path.ends_with("__init__.py") {
            me.clone()
        } else {
            me.rsplit_once('.')
                .map_or(String::new(), |(p, _)| p.to_string())
        };
        let mut edges = BTreeSet::new();
        let mut add = |m: String| {
            // a module or, for a name imported from one, the module it comes from
            let mut m = m;
            while !known.contains(&m) {
                match m.rsplit_once('.') {
                    Some((head, _)) => m = head.to_string(),
                    None => return,
                }
            }
            edges.insert(m);
        };
        // statements, with a parenthesised name list joined onto its `from` line; the
        // docstrings and comments left out
        let mut statements: Vec<String> = Vec::new();
        let (mut in_doc, mut open) = (false, false);
        for line in text.lines() {
            let t = line.split('#').next().unwrap_or("").trim();
            if t.matches("\"\"\"").count() % 2 == 1 {
                in_doc = !in_doc;
                continue;
            }
            if in_doc {
                continue;
            }
            if open {
                statements.last_mut().unwrap().push_str(t);
                open = !t.contains(')');
            } else if t.starts_with("import ") || t.starts_with("from ") {
                statements.push(t.to_string());
                open = t.ends_with('(');
            }
        }
        for s in statements {
            let s = s.replace(['(', ')'], " ");
            if let Some(list) = s.strip_prefix("import ") {
                for part in list.split(',') {
                    add(part.split_whitespace().next().unwrap_or("").to_string());
                }
            } else if let Some((from, names)) = s
                .strip_prefix("from ")
                .and_then(|r| r.split_once(" import "))
            {
                let from = from.trim();
                let dots = from.len() - from.trim_start_matches('.').len();
                let base = if dots == 0 {
                    from.to_string()
                } else {
                    let mut p = package.clone();
                    for _ in 1..dots {
                        p = p
                            .rsplit_once('.')
                            .map_or(String::new(), |(h, _)| h.to_string());
                    }
                    let rest = &from[dots..];
                    match (p.is_empty(), rest.is_empty()) {
                        (_, true) => p,
                        (true, false) => rest.to_string(),
                        (false, false) => format!("{p}.{rest}"),
                    }
                };
                for name in names.split(',') {
                    let name = name.split_whitespace().next().unwrap_or("");
                    if !name.is_empty() {
                        add(format!("{base}.{name}"));
                    }
                }
            }
        }
        edges.remove(&me);
        g.insert(me, edges);
    }
    g
}

fn python_files(root: &Path) -> Vec<(String, String)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else if p.extension().is_some_and(|x| x == "py") {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.push((rel, std::fs::read_to_string(&p).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out
}

/// The Python runtime in layers: the hub (`swarmlab_runtime`) imports nothing of the others,
/// nothing imports the boot module (`swarmlab_boot`), and no module imports one that imports
/// it back.
#[test]
fn the_python_runtime_has_layers_without_a_circle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../locust/src/python");
    let g = python_graph(&python_files(&root));
    assert!(g.len() > 15, "read only {} Python modules", g.len());
    assert_eq!(
        g["swarmlab_runtime"],
        BTreeSet::new(),
        "the hub imports none of the modules built on it"
    );
    let boot_importers: Vec<_> = g
        .iter()
        .filter(|(_, e)| e.contains("swarmlab_boot"))
        .map(|(m, _)| m)
        .collect();
    assert!(
        boot_importers.is_empty(),
        "{boot_importers:?} import the boot module"
    );
    assert!(g["swarmlab_boot"].contains("locust.user.users"));
    assert!(g["locust.clients"].contains("locust._port"));
    let found = cycles(&g);
    assert!(found.is_empty(), "Python import circles: {found:?}");
}

/// The Python reader on made-up files: relative imports, names taken for their module, a
/// parenthesised list, an import inside a function; the circle it closes is found.
#[test]
fn a_python_import_circle_fails() {
    let files: Vec<(String, String)> = [
        ("pkg/__init__.py", "from .a import A\n"),
        (
            "pkg/a.py",
            "\"\"\"import pkg.c (a docstring)\"\"\"\nfrom . import b\n",
        ),
        (
            "pkg/b.py",
            "import os\nfrom .sub.c import (\n    X,\n    Y,\n)\n",
        ),
        ("pkg/sub/__init__.py", ""),
        (
            "pkg/sub/c.py",
            "def f():\n    from .. import a  # a circle\n",
        ),
        ("hub.py", "import json\n"),
    ]
    .into_iter()
    .map(|(p, t)| (p.to_string(), t.to_string()))
    .collect();
    let g = python_graph(&files);
    assert_eq!(g["pkg"], ["pkg.a"].map(String::from).into());
    assert_eq!(g["pkg.a"], ["pkg.b"].map(String::from).into());
    assert_eq!(g["pkg.b"], ["pkg.sub.c"].map(String::from).into());
    assert_eq!(g["pkg.sub.c"], ["pkg.a"].map(String::from).into());
    assert!(g["hub"].is_empty());
    assert_eq!(
        cycles(&g),
        [["pkg.a", "pkg.b", "pkg.sub.c"].map(String::from).to_vec()]
    );
}
