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

/// A duration without a unit is read as seconds, and said (issue 16, item 8).
#[test]
fn a_duration_without_a_unit_is_a_warning() {
    let shipped = std::fs::read_to_string(root().join("playbooks/iam-credential-compromise.yaml"))
        .expect("a shipped playbook");
    assert!(shipped.contains("max_delay: 5s"));
    let dir = std::env::temp_dir().join(crate::support::unique("bare-duration"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bare.yaml");
    std::fs::write(&file, shipped.replacen("max_delay: 5s", "max_delay: 5", 1)).unwrap();
    let out = firebreak(&["validate", file.to_str().unwrap()]);
    let text = stdout(&out);
    assert!(
        out.status.success(),
        "a warning does not fail validation: {text}"
    );
    assert!(
        text.contains("FB024")
            && text.contains("has no unit; it is read as 5 seconds")
            && text.contains("0 error(s), 1 warning(s)"),
        "{text}"
    );
}
