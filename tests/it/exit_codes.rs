//! One exit-code table for every command (issue 15, item 6; issue 16, item 6): each command on
//! each class of error ends with the code `src/domain/exit.rs` gives it, and `--help` prints the
//! table.

use crate::support::{self, firebreak, root, stderr, stdout, unique};

/// A folder holding one invalid playbook (an unknown action).
fn invalid_playbooks() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(unique("exit-invalid"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        root().join("tests/playbooks-invalid/04-unknown-action.yaml"),
        dir.join("broken.yaml"),
    )
    .unwrap();
    dir
}

fn finding(name: &str) -> String {
    root()
        .join("tests/findings")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

fn code(out: &std::process::Output) -> Option<i32> {
    out.status.code()
}

#[test]
fn invalid_playbooks_are_problems_found_for_every_command() {
    let dir = invalid_playbooks();
    let dir = dir.to_str().unwrap();
    let tor = finding("iam-user-tor.json");
    let moto = support::moto();
    let cases: Vec<Vec<&str>> = vec![
        vec!["validate", dir],
        vec!["explain", "--playbooks", dir, &tor],
        vec!["plan", "--playbooks", dir, &tor],
        vec!["run", "--dry-run", "--playbooks", dir, &tor],
        vec!["asl", "--playbooks", dir],
        vec!["permissions", "--playbooks", dir],
        vec!["graph", "--playbooks", dir, "nosuch"],
        vec!["triage", "test", "--playbooks", dir, &tor],
        vec!["triage", "coverage", "--playbooks", dir],
    ];
    for args in cases {
        let out = moto.firebreak(&args);
        assert_eq!(
            code(&out),
            Some(1),
            "{args:?}: {}{}",
            stdout(&out),
            stderr(&out)
        );
    }
}

#[test]
fn a_finding_that_cannot_be_bound_is_a_problem_found() {
    let moto = support::moto();
    let missing = finding("missing-username.json");
    let missing = missing.as_str();
    for args in [vec!["plan", missing], vec!["run", "--dry-run", missing]] {
        let out = moto.firebreak(&args);
        assert_eq!(code(&out), Some(1), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn usage_and_input_errors_are_two() {
    let moto = support::moto();
    let nope = "/nonexistent/finding.json";
    let tor = finding("iam-user-tor.json");
    let cases: Vec<Vec<&str>> = vec![
        vec!["nosuch"],
        vec!["run", "--bogus"],
        vec!["plan", nope],
        vec!["explain", nope],
        vec!["run", "--dry-run", nope],
        vec![
            "run",
            "--dry-run",
            "--playbooks",
            "/nonexistent/playbooks",
            &tor,
        ],
        vec!["run", "--dry-run", "--input", "nope=1", &tor],
        vec!["audit", "/nonexistent/evidence"],
        vec!["triage", "test", nope],
        vec![
            "triage",
            "coverage",
            "--config",
            "/nonexistent/firebreak.yaml",
        ],
        vec![
            "run",
            "--dry-run",
            "--config",
            "/nonexistent/firebreak.yaml",
            &tor,
        ],
    ];
    for args in cases {
        let out = moto.firebreak(&args);
        assert_eq!(
            code(&out),
            Some(2),
            "{args:?}: {}{}",
            stdout(&out),
            stderr(&out)
        );
    }
}

#[test]
fn help_prints_the_table() {
    let out = firebreak(&["--help"]);
    assert!(out.status.success());
    assert!(
        stdout(&out).contains(firebreak::domain::exit::HELP),
        "{}",
        stdout(&out)
    );
}
