//! The layering rule as a test: data flows `audio → features → model → recommend`, with the
//! evaluation and the drivers above and the CLI/wasm on top, and no module imports a layer above
//! it. `cargo tree` cannot see modules inside one crate, so this reads the sources: every
//! `crate::<module>` path in code (comments and doc links do not count) must be on its folder's
//! allow-list below. A new arrow is a decision: add it here, with the reason, or move the code.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Top-level module → the top-level modules its code may name. Each list holds only layers
/// below the module (see the crate docs for the order).
const ALLOWED: [(&str, &[&str]); 14] = [
    ("error", &[]),
    ("util", &["error"]),
    ("audio", &["error", "util"]),
    ("features", &["error", "util", "audio"]),
    ("data", &["error", "util"]),
    ("metrics", &["error", "util"]),
    ("ranking", &["error", "util", "data"]),
    (
        "model",
        &[
            "error", "util", "audio", "features", "data", "metrics", "ranking",
        ],
    ),
    ("recommend", &["error", "util", "data", "ranking"]),
    (
        "eval",
        &[
            "error",
            "util",
            "audio",
            "features",
            "data",
            "metrics",
            "ranking",
            "model",
            "recommend",
        ],
    ),
    (
        "drivers",
        &[
            "error",
            "util",
            "audio",
            "features",
            "data",
            "metrics",
            "ranking",
            "model",
            "recommend",
            "eval",
            "drivers",
        ],
    ),
    ("serve", &["error"]),
    (
        "wasm",
        &[
            "error",
            "util",
            "audio",
            "features",
            "data",
            "metrics",
            "ranking",
            "model",
            "recommend",
        ],
    ),
    ("lib", &["error"]),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("src/ is readable")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module of a file under `src/` (`src/model/browser/mod.rs` → `model`).
fn top_module(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let first = rel.components().next().expect("a component");
    let name = first.as_os_str().to_string_lossy();
    name.trim_end_matches(".rs").to_string()
}

/// The modules named as `crate::<name>` in the code of `text` (line comments removed).
fn named_modules(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        };
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            // `crate::{a, b}` names several.
            if name.is_empty() && after.starts_with('{') {
                let inner = &after[1..after.find('}').unwrap_or(after.len())];
                for part in inner.split(',') {
                    let m: String = part
                        .trim()
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !m.is_empty() {
                        out.push((n + 1, m));
                    }
                }
            } else if !name.is_empty() {
                out.push((n + 1, name));
            }
            rest = after;
        }
    }
    out
}

#[test]
fn no_module_imports_a_layer_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.into_iter().collect();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut wrong = Vec::new();
    // The binary is the top layer; this file's strings are examples, not imports.
    let skip = |f: &Path| f.starts_with(src.join("bin")) || f.ends_with("layering.rs");
    for f in files.iter().filter(|f| !skip(f)) {
        let module = top_module(&src, f);
        let Some(ok) = allowed.get(module.as_str()) else {
            wrong.push(format!(
                "{}: module `{module}` has no allow-list entry",
                f.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(f).expect("readable");
        for (line, name) in named_modules(&text) {
            // Items of the crate root (`crate::Result`, `crate::EXTRACTOR_VERSION`) are the
            // error type and constants, below everything.
            let root_item = name.chars().next().is_some_and(|c| c.is_ascii_uppercase());
            if name != module && !root_item && !ok.contains(&name.as_str()) {
                wrong.push(format!(
                    "{}:{line}: `{module}` imports `crate::{name}`",
                    f.strip_prefix(&src).unwrap_or(f).display()
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "layering broken:\n{}", wrong.join("\n"));
}

#[test]
fn the_scanner_sees_grouped_paths_and_ignores_comments() {
    let found = named_modules(
        "use crate::{data, eval::Trainer};\n// crate::drivers in a comment\nlet x = crate::util::f(); // crate::wasm\n",
    );
    let names: Vec<&str> = found.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(names, ["data", "eval", "util"]);
}
