//! The README's hand-run session, as a newcomer copies it (issue 16): the block between
//! `<!-- hand-run -->` markers runs with bash against a fresh emulator of its own (the
//! README's port 5000 replaced by a free one, and the evidence folder by a fresh one), and must
//! contain the planted key and leave evidence that passes the audit.

use std::process::{Command, Stdio};

use crate::support::{root, unique};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn the_readme_hand_run_contains_the_planted_key() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let block = readme
        .split_once("<!-- hand-run -->")
        .and_then(|(_, rest)| rest.split_once("<!-- /hand-run -->"))
        .map(|(b, _)| b)
        .expect("README.md has a hand-run block");
    let script = block
        .trim()
        .strip_prefix("```sh")
        .and_then(|b| b.strip_suffix("```"))
        .expect("the hand-run block is one sh code block");
    let port = free_port();
    let dir = std::env::temp_dir().join(unique("readme"));
    std::fs::create_dir_all(&dir).unwrap();
    let evidence = dir.join("evidence");
    let script = script
        .replace("5000", &port.to_string())
        .replace("/tmp/firebreak-evidence", evidence.to_str().unwrap())
        .replace(
            "/tmp/finding.json",
            dir.join("finding.json").to_str().unwrap(),
        )
        .replace("/tmp/moto.log", dir.join("moto.log").to_str().unwrap());
    // Whatever happens, the emulator the block started is stopped.
    let script = format!(
        "set -e\ntrap 'pkill -f \"[m]oto_server -H 127.0.0.1 -p {port}\" || true' EXIT\n{script}\n\
         .venv-moto/bin/python -c \"import boto3,sys; iam=boto3.client('iam', endpoint_url='http://127.0.0.1:{port}', region_name='us-east-1'); print(' '.join(k['Status'] for k in iam.list_access_keys(UserName='alice')['AccessKeyMetadata']))\"\n"
    );
    // From a file: a `bash -c` command line would hold the emulator's command and be killed
    // with it.
    let file = dir.join("hand-run.sh");
    std::fs::write(&file, &script).unwrap();
    let out = Command::new("bash")
        .arg(&file)
        .current_dir(root())
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .stdin(Stdio::null())
        .output()
        .expect("bash runs");
    let _ = Command::new("pkill")
        .args(["-f", &format!("[m]oto_server -H 127.0.0.1 -p {port}")])
        .status();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}\n{stdout}\n{stderr}", out.status);
    assert!(
        stdout.contains("selected: type matches `*:IAMUser/*`"),
        "{stdout}"
    );
    assert!(stdout.contains("dry run: would set access key"), "{stdout}");
    assert!(stdout.contains("verdict: PASS"), "{stdout}");
    let statuses = stdout.lines().last().unwrap_or_default();
    let mut statuses: Vec<&str> = statuses.split_whitespace().collect();
    statuses.sort();
    assert_eq!(
        statuses,
        ["Active", "Inactive"],
        "the leaked key contained, the other untouched: {stdout}\n{stderr}"
    );
}
