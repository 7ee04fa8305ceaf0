//! The layout keeps its promises: the pure core (`src/domain/`) names no AWS SDK, tokio, clap
//! or HTTP crate and no layer above it, and no source file grows past ~1,000 lines.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read a source folder") {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without its comments (a doc comment may name a crate it does not use).
fn code(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(at) => &l[..at],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A name used as a path's first segment (`tokio::spawn`, `use clap::Parser`) or a crate's
/// macro (`tokio::main`), not a word inside another name.
fn uses(code: &str, name: &str) -> bool {
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = code.as_bytes();
    code.match_indices(name).any(|(at, _)| {
        let after = &code[at + name.len()..];
        // Preceded by nothing of a name, and by `::` only as an absolute path (`::tokio::…`).
        let first_segment = match at.checked_sub(1).map(|i| bytes[i]) {
            None => true,
            Some(b':') => at >= 2 && bytes[at - 2] == b':' && (at < 3 || !ident(bytes[at - 3])),
            Some(b) => !ident(b),
        };
        first_segment
            && (after.starts_with("::")
                || (name.ends_with('_') && after.starts_with(|c: char| c.is_ascii_alphanumeric())))
    })
}

#[test]
fn the_core_imports_no_sdk_runtime_or_command_line() {
    let root = crate::support::root();
    let mut files = Vec::new();
    rust_files(&root.join("src/domain"), &mut files);
    assert!(files.len() > 10, "the core's files are found");
    let forbidden = [
        "aws_sdk_",
        "aws_config",
        "aws_smithy_",
        "aws_credential_types",
        "tokio",
        "clap",
        "reqwest",
        "hyper",
    ];
    let above = [
        "aws", "engine", "evidence", "contain", "intake", "ops", "cli",
    ];
    let mut found = Vec::new();
    for f in &files {
        let text = code(&std::fs::read_to_string(f).expect("read a source file"));
        for name in forbidden {
            if uses(&text, name) {
                found.push(format!("{}: {name}", f.display()));
            }
        }
        for layer in above {
            if text.contains(&format!("crate::{layer}::")) {
                found.push(format!("{}: crate::{layer}", f.display()));
            }
        }
    }
    assert!(found.is_empty(), "the pure core reaches out: {found:#?}");
}

#[test]
fn the_check_sees_what_it_looks_for() {
    assert!(uses("use tokio::sync::watch;", "tokio"));
    assert!(uses("let c = aws_sdk_s3::Client::new(&c);", "aws_sdk_"));
    assert!(uses("#[derive(clap::ValueEnum)]", "clap"));
    assert!(!uses("let tokio_like = 1;", "tokio"));
    assert!(!uses("crate::domain::clap::x", "clap"));
    assert!(uses(
        "let r = ::tokio::runtime::Builder::new_current_thread();",
        "tokio"
    ));
    assert_eq!(code("let a = 1; // tokio::spawn"), "let a = 1; ");
}

#[test]
fn no_source_file_is_over_a_thousand_lines() {
    let root = crate::support::root();
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).ok()?.lines().count();
            (n > 1_000).then(|| format!("{}: {n} lines", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these: {long:#?}");
}
