//! The code's own layout, as ARCHITECTURE.md promises it: no import cycle among the modules of `src/` at
//! any level (top-level modules, and the files of each folder), and every source file opening with a `//!`
//! line saying what it owns.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn source_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            source_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

fn all_sources() -> Vec<PathBuf> {
    let mut found = Vec::new();
    source_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut found,
    );
    found.sort();
    found
}

/// A source file's module path below the crate (`src/render/board/model.rs` → `render::board::model`,
/// `src/render/board/mod.rs` → `render::board`).
fn module_path(path: &Path) -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let relative = path.strip_prefix(&src).expect("under src");
    let mut parts: Vec<String> = (relative.components())
        .map(|c| {
            c.as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_owned()
        })
        .collect();
    if parts
        .last()
        .is_some_and(|last| last == "mod" || last == "lib")
    {
        parts.pop();
    }
    parts
}

/// Each `use` tree written out whole: `super::{a::X, b::{c, d}}` → `super::a::X`, `super::b::c`, …
fn expand_use(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        return vec![tree.to_owned()];
    };
    let (prefix, rest) = tree.split_at(open);
    let inner = rest
        .trim_start_matches('{')
        .trim_end()
        .trim_end_matches('}');
    let (mut parts, mut depth, mut start) = (Vec::new(), 0, 0);
    for (at, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    (parts.into_iter())
        .filter(|part| !part.trim().is_empty())
        .flat_map(|part| expand_use(&format!("{prefix}{}", part.trim())))
        .collect()
}

/// Every path a file names through `crate::` or `super::`: in its `use` trees and in its code.
fn named_paths(code: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("use ") {
        let statement = &rest[at + 4..];
        let end = statement.find(';').unwrap_or(statement.len());
        paths.extend(expand_use(&statement[..end]));
        rest = &statement[end..];
    }
    for prefix in ["crate::", "super::"] {
        for (at, _) in code.match_indices(prefix) {
            let path: String = code[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            paths.push(path);
        }
    }
    paths
}

/// The module a path names, from the file at `from`: the longest known module its segments reach.
fn target(
    from: &[String],
    path: &str,
    known: &BTreeSet<Vec<String>>,
    is_folder: bool,
) -> Option<Vec<String>> {
    let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let (mut base, mut rest): (Vec<String>, &[&str]) = match segments.first() {
        Some(&"crate") => (Vec::new(), &segments[1..]),
        Some(&"super") => {
            // A folder's mod.rs is its folder's module: its `super` is the folder's parent.
            let mut base = from.to_vec();
            if !is_folder || !base.is_empty() {
                base.pop();
            }
            (base, &segments[1..])
        }
        _ => return None,
    };
    while rest.first() == Some(&"super") {
        base.pop();
        rest = &rest[1..];
    }
    let mut found = None;
    for segment in rest {
        base.push((*segment).to_owned());
        if known.contains(&base) {
            found = Some(base.clone());
        }
    }
    found
}

/// Each module's imports of its siblings (modules with the same parent), at every level of `src/`; a
/// module using its parent's or its children's items is not an arrow between siblings. Tests left out.
fn imports() -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let files = all_sources();
    let known: BTreeSet<Vec<String>> = files.iter().map(|p| module_path(p)).collect();
    let mut graph: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for path in files {
        let module = module_path(&path);
        if module.is_empty() || module == ["main"] {
            continue;
        }
        let is_folder = path.file_name().is_some_and(|n| n == "mod.rs");
        let text = std::fs::read_to_string(&path).expect("source");
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for named in named_paths(code) {
            let Some(used) = target(&module, &named, &known, is_folder) else {
                continue;
            };
            let shared = module.iter().zip(&used).take_while(|(a, b)| a == b).count();
            if shared < module.len() && shared < used.len() {
                let (from, to) = (module[..=shared].to_vec(), used[..=shared].to_vec());
                graph.entry(from).or_default().insert(to);
            }
        }
    }
    graph
}

fn cycle_from(
    module: &[String],
    graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
    path: &mut Vec<Vec<String>>,
) -> Option<Vec<Vec<String>>> {
    if let Some(start) = path.iter().position(|m| m == module) {
        let mut cycle = path[start..].to_vec();
        cycle.push(module.to_vec());
        return Some(cycle);
    }
    path.push(module.to_vec());
    for next in graph.get(module).into_iter().flatten() {
        if let Some(cycle) = cycle_from(next, graph, path) {
            return Some(cycle);
        }
    }
    path.pop();
    None
}

fn first_cycle(graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Option<String> {
    graph.keys().find_map(|module| {
        let cycle = cycle_from(module, graph, &mut Vec::new())?;
        Some(
            cycle
                .iter()
                .map(|m| m.join("::"))
                .collect::<Vec<_>>()
                .join(" → "),
        )
    })
}

#[test]
fn no_module_imports_one_that_imports_it_back_at_any_level() {
    let graph = imports();
    assert!(
        graph.contains_key(&vec!["pipeline".to_owned()]),
        "the import graph was read"
    );
    assert!(
        graph.keys().any(|m| m.len() > 1),
        "modules inside folders are seen too"
    );
    if let Some(cycle) = first_cycle(&graph) {
        panic!("import cycle: {cycle}");
    }
}

#[test]
fn a_circle_inside_a_folder_is_seen() {
    // As two files of one folder importing each other would be.
    let module = |path: &str| path.split("::").map(str::to_owned).collect::<Vec<_>>();
    let mut graph = BTreeMap::new();
    graph.insert(
        module("render::board::chart"),
        BTreeSet::from([module("render::board::model")]),
    );
    graph.insert(
        module("render::board::model"),
        BTreeSet::from([module("render::board::chart")]),
    );
    assert_eq!(
        first_cycle(&graph).as_deref(),
        Some("render::board::chart → render::board::model → render::board::chart")
    );
    let known: BTreeSet<Vec<String>> = [
        module("render"),
        module("render::board"),
        module("render::board::chart"),
        module("render::board::model"),
    ]
    .into();
    assert_eq!(
        target(
            &module("render::board::chart"),
            "super::model::number",
            &known,
            false
        ),
        Some(module("render::board::model"))
    );
    assert_eq!(
        target(
            &module("render::board"),
            "super::figures::Figures",
            &known,
            true
        ),
        None,
        "render::figures is not a module this list knows"
    );
    assert_eq!(
        expand_use("super::{a::X, b::{c, d}}"),
        ["super::a::X", "super::b::c", "super::b::d"]
    );
}

#[test]
fn every_source_file_says_what_it_owns() {
    for path in all_sources() {
        let text = std::fs::read_to_string(&path).expect("source");
        assert!(
            text.starts_with("//! "),
            "{} does not open with a //! line saying what it owns",
            path.display()
        );
    }
}
