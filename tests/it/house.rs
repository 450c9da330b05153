//! The house's shape, checked from the source (ARCHITECTURE.md, "Invariants"): the modules
//! under `src/` import each other without a circle, the layers only in the allowed
//! directions (`cli → commands → {session, engine, report, core, aws}`, `engine → {aws,
//! core}`, `aws → core`, `report → core`), and nothing under `src/core/` names an AWS SDK
//! crate, tokio I/O or a terminal.
//!
//! The import graph is read from the text: every `crate::…` path (in `use` lines, grouped
//! or not, and inline), `super::…` in a folder's files, and a folder's `mod.rs` naming its
//! own children (`use direct::…`, `pub use json::…`, `stacksets::plan(…)`), resolved to the
//! longest module it names. Unit-test modules (`#[cfg(test)]` to the end of a file) are
//! left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `src/`, by module path (`core::config`, `report`, `lib`).
fn modules() -> BTreeMap<String, String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    files
        .into_iter()
        .map(|path| {
            let rel = path.strip_prefix(&src).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|p| p == "mod") {
                parts.pop();
            }
            let text = std::fs::read_to_string(&path).unwrap();
            // Unit tests may reach anywhere; they are not the architecture.
            let code = match text.find("#[cfg(test)]\nmod tests") {
                Some(i) => text[..i].to_owned(),
                None => text,
            };
            (parts.join("::"), code)
        })
        .collect()
}

/// `a::{b, c::{d, e}}` → `a::b`, `a::c::d`, `a::c::e`.
fn expand(path: &str) -> Vec<String> {
    let Some(open) = path.find('{') else {
        return vec![path.trim().to_owned()];
    };
    let prefix = &path[..open];
    let close = path.rfind('}').unwrap_or(path.len());
    if close < open {
        return Vec::new();
    }
    let inner = &path[open + 1..close];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .flat_map(|p| expand(&format!("{prefix}{p}")))
        .collect()
}

/// The modules `code` (the text of module `me`) imports.
fn imports(me: &str, code: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let mut paths = Vec::new();
    // `use` statements (possibly grouped, over several lines).
    let mut rest = code;
    while let Some(i) = rest.find("use ") {
        // Only a statement: `use` opening its line (after `pub`/`pub(crate)`), not prose.
        let line_start = rest[..i].rfind('\n').map_or(0, |n| n + 1);
        let lead = rest[line_start..i].trim();
        if !matches!(lead, "" | "pub" | "pub(crate)" | "pub(super)") {
            rest = &rest[i + 4..];
            continue;
        }
        let after = &rest[i + 4..];
        let end = after.find(';').unwrap_or(after.len());
        let stmt: String = after[..end]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if stmt.starts_with("crate::") || stmt.starts_with("super::") {
            paths.extend(expand(&stmt));
        } else {
            // A child of this module (`use direct::DirectEngine;` in `engine/mod.rs`).
            // (Anything else, `std::…` or another crate, names no module of ours.)
            paths.extend(expand(&stmt).into_iter().map(|p| child_path(me, &p)));
        }
        rest = &after[end.min(after.len())..];
    }
    // Inline paths through a child (`stacksets::plan(…)` in `engine/mod.rs`).
    for child in known.iter().filter(|m| is_child(me, m)) {
        let name = child.rsplit("::").next().unwrap_or(child);
        let needle = format!("{name}::");
        let mut rest = code;
        while let Some(i) = rest.find(&needle) {
            let before = rest[..i].chars().next_back();
            if !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                paths.push(child_path(me, name));
            }
            rest = &rest[i + needle.len()..];
        }
    }
    // Inline paths.
    for root in ["crate::", "super::"] {
        let mut rest = code;
        while let Some(i) = rest.find(root) {
            let tail = &rest[i..];
            let end = tail
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(tail.len());
            paths.push(tail[..end].trim_end_matches(':').to_owned());
            rest = &tail[root.len()..];
        }
    }
    let parent: Vec<&str> = {
        let mut p: Vec<&str> = me.split("::").collect();
        // A folder's `mod.rs` is the folder itself: its `super` is the folder's parent.
        p.pop();
        p
    };
    paths
        .into_iter()
        .filter_map(|path| {
            let path = path.split(" as ").next().unwrap_or("").trim().to_owned();
            let absolute = if let Some(p) = path.strip_prefix("crate::") {
                p.to_owned()
            } else if let Some(p) = path.strip_prefix("self::") {
                p.to_owned()
            } else if let Some(p) = path.strip_prefix("super::") {
                if parent.is_empty() {
                    p.to_owned()
                } else {
                    format!("{}::{p}", parent.join("::"))
                }
            } else {
                return None;
            };
            // The longest known module the path names.
            let segments: Vec<&str> = absolute.split("::").collect();
            (1..=segments.len())
                .rev()
                .map(|n| segments[..n].join("::"))
                .find(|m| known.contains(m))
        })
        .filter(|m| m != me)
        .collect()
}

/// `path` (relative to module `me`) as seen from the crate root, marked `self::`.
fn child_path(me: &str, path: &str) -> String {
    if me == "lib" {
        format!("self::{path}")
    } else {
        format!("self::{me}::{path}")
    }
}

/// Whether `m` is a module declared directly in `me`.
fn is_child(me: &str, m: &str) -> bool {
    match m.rsplit_once("::") {
        Some((parent, _)) => parent == me,
        None => me == "lib" && m != "lib" && m != "main",
    }
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules();
    let known: BTreeSet<String> = modules.keys().cloned().collect();
    modules
        .iter()
        .map(|(me, code)| (me.clone(), imports(me, code, &known)))
        .collect()
}

/// The layer of a module: its folder, or the file at the top.
fn layer(module: &str) -> &str {
    module.split("::").next().unwrap_or(module)
}

/// The first import circle in `graph`, as the modules it passes through.
fn find_circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    // Depth-first search for a back edge.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == node) {
            let mut circle = path[i..].to_vec();
            circle.push(node.to_owned());
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(circle) = visit(next, graph, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

/// The imports of `graph` that go against the layers' allowed directions.
fn against_the_layers(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let allowed: BTreeMap<&str, &[&str]> = [
        // The crate root declares (and its tour names) every layer.
        (
            "lib",
            &[
                "cli",
                "commands",
                "session",
                "interrupt",
                "engine",
                "aws",
                "report",
                "core",
            ][..],
        ),
        ("main", &["cli"][..]),
        ("cli", &["commands", "core", "report", "interrupt"][..]),
        (
            "commands",
            &["session", "engine", "report", "core", "aws", "interrupt"][..],
        ),
        ("session", &["engine", "aws", "core", "interrupt"][..]),
        ("interrupt", &["core"][..]),
        ("engine", &["aws", "core"][..]),
        ("aws", &["core"][..]),
        ("report", &["core"][..]),
        ("core", &[][..]),
    ]
    .into();
    let mut wrong = Vec::new();
    for (module, imports) in graph {
        let from = layer(module);
        let Some(may) = allowed.get(from) else {
            wrong.push(format!("{module}: a layer ARCHITECTURE.md does not name"));
            continue;
        };
        for import in imports {
            let to = layer(import);
            if to != from && !may.contains(&to) {
                wrong.push(format!("{module} → {import}"));
            }
        }
    }
    wrong
}

#[test]
fn the_modules_import_each_other_without_a_circle() {
    let graph = graph();
    assert!(graph.len() > 20, "the source was read: {:?}", graph.keys());
    if let Some(circle) = find_circle(&graph) {
        panic!("an import circle: {}", circle.join(" → "));
    }
}

#[test]
fn the_layers_import_only_downwards() {
    let wrong = against_the_layers(&graph());
    assert!(
        wrong.is_empty(),
        "imports against the layers:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn nothing_under_core_names_aws_tokio_io_or_a_terminal() {
    let banned = [
        "aws_sdk_",
        "aws_config",
        "aws_smithy",
        "aws_credential_types",
        "remedy_functions::rule::describe",
        "tokio::io",
        "tokio::fs",
        "tokio::net",
        "tokio::process",
        "tokio::signal",
        "tokio::spawn",
        "tokio::task",
        "tokio::time",
        "std::process",
        "std::net",
        "indicatif",
        "IsTerminal",
        "std::io::stdout",
        "std::io::stderr",
        "std::io::stdin",
        "println!",
        "eprintln!",
        "print!(",
        "eprint!(",
    ];
    let mut found = Vec::new();
    let modules = modules();
    assert!(modules.keys().any(|m| m == "core::config"), "core was read");
    for (module, code) in modules.iter().filter(|(m, _)| layer(m) == "core") {
        // Grouped imports spelled out (`use tokio::{io, sync}` names `tokio::io`).
        let mut named = code.clone();
        for stmt in code.split("use ").skip(1) {
            let stmt: String = stmt
                .split(';')
                .next()
                .unwrap_or("")
                .split_whitespace()
                .collect();
            named.push('\n');
            named.push_str(&expand(&stmt).join("\n"));
        }
        for word in banned {
            if named.contains(word) {
                found.push(format!("{module} names `{word}`"));
            }
        }
    }
    assert!(
        found.is_empty(),
        "the core is not pure:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_checker_sees_a_circle_and_a_wrong_direction() {
    // The checks above are only worth something if they can fail: made-up modules where
    // core::a and core::b import each other, and core::a imports from the edge.
    let known: BTreeSet<String> = ["core::a", "core::b", "aws::c"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let a = imports(
        "core::a",
        "use crate::core::{b, x};\nfn f() { crate::aws::c::g(); }",
        &known,
    );
    assert_eq!(a, ["aws::c".to_owned(), "core::b".to_owned()].into());
    let b = imports("core::b", "use super::a::Thing;", &known);
    assert_eq!(b, ["core::a".to_owned()].into());
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("core::a".to_owned(), a),
        ("core::b".to_owned(), b),
        ("aws::c".to_owned(), BTreeSet::new()),
    ]
    .into();
    let circle = find_circle(&graph).expect("the circle a → b → a");
    assert_eq!(circle.first(), circle.last(), "{circle:?}");
    assert!(circle.contains(&"core::b".to_owned()), "{circle:?}");
    assert_eq!(against_the_layers(&graph), ["core::a → aws::c"]);

    // A folder's `mod.rs` naming its own child, and the child importing the folder back.
    let known: BTreeSet<String> = ["engine", "engine::direct"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let parent = imports(
        "engine",
        "use direct::DirectEngine;\nuse std::sync::Arc;",
        &known,
    );
    assert_eq!(parent, ["engine::direct".to_owned()].into());
    let inline = imports("engine", "fn f() { direct::run(); redirect::x(); }", &known);
    assert_eq!(inline, ["engine::direct".to_owned()].into());
    let child = imports("engine::direct", "use crate::engine::Deployment;", &known);
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("engine".to_owned(), parent),
        ("engine::direct".to_owned(), child),
    ]
    .into();
    assert!(
        find_circle(&graph).is_some(),
        "engine → engine::direct → engine"
    );
}
