//! The module tree of `crates/ncmd/src` is the architecture of DESIGN.md, and its arrows
//! run one way. This test reads every `crate::…` path in the sources and fails on an
//! import that points up the layers, so a circle cannot creep back in unnoticed.
//!
//! Layers, top to bottom (a module may use its own layer's modules and any lower layer):
//! `cli` → `daemon` → `expose` → `session` → `control` → `status` → `files`.
//! Inside `session`, the state machine (`session/mod.rs`, `pin_store`) must not use its
//! implementations (`modem`, `query`, `datapath`): they implement its traits.

use std::path::{Path, PathBuf};

const LAYERS: [&str; 7] = ["cli", "daemon", "expose", "session", "control", "status", "files"];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src dir").flatten() {
        let p = entry.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// `src/session/datapath/mod.rs` → ["session", "datapath"].
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = rel.iter().map(|c| c.to_string_lossy().trim_end_matches(".rs").to_string()).collect();
    if parts.last().is_some_and(|l| l == "mod" || l == "main") {
        parts.pop();
    }
    parts
}

/// Every `crate::a::b` path in `text`, as ["a", "b"] (the second part when present).
fn crate_paths(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices("crate::") {
        if text[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue; // e.g. `ncmd_crate::`
        }
        let rest = &text[i + "crate::".len()..];
        let path: Vec<String> = rest
            .split("::")
            .take(2)
            .map(|seg| seg.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>())
            .take_while(|seg| !seg.is_empty())
            .collect();
        out.push(path);
    }
    out
}

fn rank(top: &str) -> Option<usize> {
    LAYERS.iter().position(|l| *l == top)
}

#[test]
fn imports_point_down_the_layers_only() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    assert!(files.len() > 20, "expected the ncmd sources under {}", src.display());
    let mut wrong = Vec::new();
    let mut edges = 0;
    for file in &files {
        let module = module_of(&src, file);
        let Some(from) = module.first().and_then(|m| rank(m)) else { continue };
        let text = std::fs::read_to_string(file).expect("read source");
        for path in crate_paths(&text) {
            let Some(to) = path.first().and_then(|m| rank(m)) else { continue };
            edges += 1;
            if to < from {
                wrong.push(format!("{}: uses crate::{} (a higher layer)", file.display(), path.join("::")));
            }
            // The session's state machine must not reach into its implementations.
            let machine = module == ["session"] || module == ["session", "pin_store"];
            let implementation = path[0] == "session" && path.get(1).is_some_and(|m| ["modem", "query", "datapath"].contains(&m.as_str()));
            if machine && implementation {
                wrong.push(format!("{}: the state machine uses crate::{}", file.display(), path.join("::")));
            }
        }
    }
    assert!(edges > 30, "too few crate:: paths found ({edges}): is the scan still reading the sources?");
    assert!(wrong.is_empty(), "imports against the layering of DESIGN.md:\n{}", wrong.join("\n"));
}

#[test]
fn the_scan_sees_an_upward_import() {
    // The checker itself can fail: an upward path is found in a sample text.
    let found = crate_paths("use crate::daemon::Options;\nlet x = ncmd_crate::y; crate::status::Event");
    assert_eq!(found, vec![vec!["daemon".to_string(), "Options".to_string()], vec!["status".to_string(), "Event".to_string()]]);
    assert!(rank("daemon") < rank("session"));
}
