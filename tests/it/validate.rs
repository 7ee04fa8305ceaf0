//! `firebreak validate`: the shipped playbooks pass; every invalid playbook under
//! tests/playbooks-invalid gives the expected diagnostics (insta snapshots, one per case).

use crate::support::{firebreak, root, stdout};

#[test]
fn shipped_playbooks_are_valid() {
    let out = firebreak(&["validate", "playbooks/"]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("0 error(s), 0 warning(s)"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn invalid_playbooks_give_the_expected_diagnostics() {
    let dir = root().join("tests/playbooks-invalid");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 25,
        "at least 25 invalid playbooks, found {}",
        cases.len()
    );
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let rel = format!("tests/playbooks-invalid/{name}");
        let out = firebreak(&["validate", &rel]);
        let text = stdout(&out);
        // A case that only warns (an unknown type pattern) still passes validation.
        let expect_fail = !name.starts_with("18-");
        assert_eq!(
            out.status.code(),
            Some(if expect_fail { 1 } else { 0 }),
            "{name}:\n{text}"
        );
        assert!(!crate::support::stderr(&out).contains("panicked"), "{name}");
        insta::assert_snapshot!(name.trim_end_matches(".yaml"), text);
    }
}

#[test]
fn json_output_lists_every_diagnostic() {
    let out = firebreak(&[
        "validate",
        "--output",
        "json",
        "tests/playbooks-invalid/21-bad-retry.yaml",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["errors"], 6);
    let first = &v["diagnostics"][0];
    assert_eq!(first["code"], "FB020");
    assert_eq!(first["line"], 7);
    assert!(first["hint"].as_str().unwrap().contains("500ms"));
}
