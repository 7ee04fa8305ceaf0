//! No input makes any command panic: hostile findings, playbooks and arguments end in a clear
//! message and a non-zero exit.

use std::io::Write;

use crate::support::{firebreak, stderr};

fn tmp(name: &str, content: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("firebreak-nopanic-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::File::create(&p)
        .unwrap()
        .write_all(content)
        .unwrap();
    p
}

#[test]
fn hostile_findings() {
    let inputs: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("binary", vec![0xff, 0xfe, 0x00, 0x01]),
        ("deep", "[".repeat(100_000).into_bytes()),
        ("huge-number", br#"{"id":"x","type":"A:B/C","accountId":1e400,"region":"r","severity":1e400,"resource":{"resourceType":"X"}}"#.to_vec()),
        ("null-everything", br#"{"id":null,"type":null,"resource":null,"service":null}"#.to_vec()),
        ("wrong-nesting", br#"{"findings":[{"findings":[]}]}"#.to_vec()),
        ("unicode", "{\"id\":\"\u{202e}x\",\"type\":\"A:B/C\u{0}\",\"accountId\":\"1\",\"region\":\"r\",\"severity\":5,\"resource\":{\"resourceType\":\"Instance\",\"instanceDetails\":{\"tags\":[null,1,{\"key\":null}]}}}".as_bytes().to_vec()),
    ];
    for (name, bytes) in inputs {
        let p = tmp(&format!("{name}.json"), &bytes);
        for cmd in ["explain", "plan"] {
            let out = firebreak(&[cmd, p.to_str().unwrap()]);
            let err = stderr(&out);
            assert!(!err.contains("panicked"), "{cmd} {name}: {err}");
            assert!(out.status.code().is_some(), "{cmd} {name} was killed");
        }
    }
}

#[test]
fn hostile_playbooks() {
    let inputs: Vec<(&str, String)> = vec![
        ("deep", "a: ".to_string() + &"[".repeat(50_000)),
        ("tabs", "name:\tx\n\tmatch: y".to_string()),
        ("long-expr", format!("name: x\nmatch: {{types: ['*']}}\nsteps:\n  - id: a\n    action: iam.capture_user\n    when: {}\n    with: {{user_name: x}}\n", "!".repeat(10_000) + "true")),
        ("nested-expr", format!("name: x\nmatch: {{types: ['*']}}\nsteps:\n  - id: a\n    action: iam.capture_user\n    when: \"{}true{}\"\n    with: {{user_name: x}}\n", "(".repeat(5_000), ")".repeat(5_000))),
        ("template-junk", "name: x\nmatch: {types: ['*']}\nsteps:\n  - id: a\n    action: iam.capture_user\n    with: {user_name: '${{ ${{ }} }}'}\n".to_string()),
        ("many-steps", {
            let mut s = "name: x\nmatch: {types: ['*']}\nsteps:\n".to_string();
            for i in 0..2000 {
                s.push_str(&format!("  - {{id: s{i}, action: iam.capture_user, needs: [s{}], with: {{user_name: x}}}}\n", (i + 1) % 2000));
            }
            s
        }),
    ];
    for (name, text) in inputs {
        let p = tmp(&format!("{name}.yaml"), text.as_bytes());
        let out = firebreak(&["validate", p.to_str().unwrap()]);
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{name}: {err}");
        assert_eq!(
            out.status.code(),
            Some(1),
            "{name}: {}",
            crate::support::stdout(&out)
        );
    }
}

#[test]
fn bad_arguments() {
    for args in [
        vec!["validate", "/no/such/path"],
        vec!["explain", "/no/such/finding.json"],
        vec![
            "plan",
            "tests/findings/iam-user-tor.json",
            "--playbooks",
            "/nowhere",
        ],
        vec!["graph", "nope"],
        vec!["frobnicate"],
    ] {
        let out = firebreak(&args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(!err.trim().is_empty(), "{args:?} says why");
    }
}

#[test]
fn the_metrics_endpoint_is_loopback_only() {
    let out = firebreak(&[
        "serve",
        "--queue",
        "q",
        "--evidence",
        "s3://b",
        "--metrics",
        "0.0.0.0:9464",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("is not a loopback address"),
        "{}",
        stderr(&out)
    );
}

/// Issue 16, item 4: `firebreak actions | head -1` and `firebreak permissions | head -2` end
/// quietly when the reader goes away (status 141, as a Unix tool killed by SIGPIPE), never
/// with a panic (status 101).
#[test]
fn a_closed_pipe_is_not_a_panic() {
    use std::process::{Command, Stdio};
    for args in [vec!["actions"], vec!["permissions"]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_firebreak"))
            .args(&args)
            .current_dir(crate::support::root())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before the program has written (it is still starting): its
        // output meets a closed pipe, as `| head -1`'s rest does.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_ne!(out.status.code(), Some(101), "{args:?}: {err}");
    }
}

/// Issue 14, item 12: a finding's ESC, NUL and right-to-left override reach the terminal as
/// escapes in every human output (`explain`, `plan`), never raw.
#[test]
fn control_characters_in_a_finding_are_escaped() {
    let f = crate::support::finding_file("iam-user-tor.json", |f| {
        f["type"] = "UnauthorizedAccess:IAMUser/Tor\u{1b}[2J\u{0}IPCaller\u{202e}".into();
        f["title"] = "\u{1b}]0;owned\u{7}".into();
    });
    for cmd in ["explain", "plan"] {
        let out = firebreak(&[cmd, f.to_str().unwrap()]);
        let text = format!("{}{}", crate::support::stdout(&out), stderr(&out));
        for c in ['\u{1b}', '\u{0}', '\u{7}', '\u{202e}'] {
            assert!(!text.contains(c), "{cmd}: raw {c:?} in {text:?}");
        }
        assert!(text.contains("\\u{1b}"), "{cmd}: {text}");
    }
}
