//! Notifications (issue 3): SNS publish through moto, and the webhook's JSON body with a
//! Slack-compatible `text`, received by a small HTTP listener in the test.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

use crate::support::{finding_file, moto, stderr, unique};

/// Accepts one POST and returns its body.
fn one_request_listener() -> (String, std::thread::JoinHandle<String>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks/secret-token", l.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (mut c, _) = l.accept().unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = c.read(&mut chunk).unwrap();
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).to_string();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let len = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if body.len() >= len {
                    c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                        .unwrap();
                    return body.to_string();
                }
            }
            if n == 0 {
                return String::new();
            }
        }
    });
    (url, handle)
}

#[tokio::test]
async fn sns_and_webhook_are_sent() {
    let config = moto().config().await;
    let sns = aws_sdk_sns::Client::new(&config);
    let topic = sns
        .create_topic()
        .name(unique("alerts"))
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_string();
    let (user, key) = crate::run_s3::user_with_key(&config).await;
    let finding_id = unique("finding");
    let finding = finding_file("iam-user-tor.json", |f| {
        f["id"] = Value::String(finding_id.clone());
        f["resource"]["accessKeyDetails"]["userName"] = user.clone().into();
        f["resource"]["accessKeyDetails"]["accessKeyId"] = key.clone().into();
    });
    let (url, received) = one_request_listener();
    let out = moto().firebreak(&[
        "run",
        "--output",
        "json",
        "--input",
        &format!("sns_topic_arn={topic}"),
        "--input",
        &format!("webhook_url={url}"),
        finding.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let step = |id: &str| {
        report["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(step("notify_sns")["status"], "succeeded");
    assert!(
        !step("notify_sns")["outputs"]["message_id"]
            .as_str()
            .unwrap()
            .is_empty()
    );
    assert_eq!(step("notify_webhook")["outputs"]["status"], 200);
    let body: Value = serde_json::from_str(&received.join().unwrap()).unwrap();
    assert!(body["text"].as_str().unwrap().contains(&user), "{body}");
    assert_eq!(body["finding_id"], finding_id.as_str());
    assert_eq!(body["execution_id"], report["execution_id"]);
    // The webhook URL's path holds a token: it is not repeated in the report or the log.
    assert!(!String::from_utf8_lossy(&out.stdout).contains("secret-token"));
    assert!(!stderr(&out).contains("secret-token"));

    // An unknown input is refused before anything runs.
    let out = moto().firebreak(&["run", "--input", "nope=1", finding.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--input nope: no playbook in playbooks declares it"),
        "{}",
        stderr(&out)
    );
}

/// Issue 16, item 3: a second Ctrl-C stops a run at once (exit 130), while a step still waits
/// on a webhook that never answers.
#[test]
fn a_second_stop_request_stops_at_once() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    let finding = finding_file("iam-root-usage.json", |f| {
        f["id"] = Value::String(unique("finding"));
    });
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_firebreak"))
        .args([
            "run",
            "--input",
            &format!("webhook_url={url}"),
            finding.to_str().unwrap(),
        ])
        .current_dir(crate::support::root())
        .env("AWS_ENDPOINT_URL", &moto().endpoint)
        .env("AWS_ACCESS_KEY_ID", "AKIAFIREBREAKTEST000")
        .env("AWS_SECRET_ACCESS_KEY", "dummy-secret-not-used")
        .env("AWS_REGION", "us-east-1")
        .env(firebreak::aws::webhook::LOCAL_SWITCH, "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The webhook step is running once its request arrives; it is never answered.
    let (_held, _) = l.accept().unwrap();
    let pid = child.id().to_string();
    let kill = || {
        std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
    };
    assert!(kill().success());
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(kill().success());
    let started = std::time::Instant::now();
    let out = loop {
        if let Some(_status) = child.try_wait().unwrap() {
            break child.wait_with_output().unwrap();
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "the second stop request did not stop the run"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("stop requested"), "{err}");
    assert!(err.contains("stopped at once"), "{err}");
}

/// A listener that answers every request with `answer` and counts the connections it took;
/// its address.
fn answering(answer: &'static str) -> (std::net::SocketAddr, std::sync::Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let seen = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    std::thread::spawn(move || {
        for mut c in l.incoming().flatten() {
            counter.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 8192];
            let _ = c.read(&mut buf);
            let _ = c.write_all(answer.as_bytes());
        }
    });
    (addr, seen)
}

/// The webhook step of a root-usage finding (nothing to contain, the alert is sent) run with
/// `url`, `switch` the test-only local-webhook switch; the step's report and the evidence's text.
fn webhook_step(url: &str, switch: &str) -> (Value, String) {
    let finding = finding_file("iam-root-usage.json", |f| {
        f["id"] = Value::String(unique("finding"));
    });
    let dir = std::env::temp_dir().join(unique("evidence-webhook"));
    let out = crate::support::firebreak_env(
        &moto().endpoint,
        &[
            "run",
            "--output",
            "json",
            "--evidence",
            dir.to_str().unwrap(),
            "--input",
            &format!("webhook_url={url}"),
            finding.to_str().unwrap(),
        ],
        &[(firebreak::aws::webhook::LOCAL_SWITCH, switch)],
    );
    let report: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    let step = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "notify_webhook")
        .unwrap_or_else(|| panic!("no webhook step: {report}"))
        .clone();
    (step, crate::secrets::read_all(&dir))
}

/// Issue 14, item 7: a webhook is sent over https to a public address only and never follows
/// a redirect (a 302 to a metadata-like path on loopback was followed and reported success);
/// its URL's path and query (a Slack token) are kept out of the evidence, which names the host.
#[test]
fn webhooks_reach_no_redirect_no_plain_http_and_no_internal_address() {
    // A redirect to a metadata-like path: refused as the receiver's answer, never followed.
    let (inner, inner_seen) = answering("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    let redirect: &'static str = Box::leak(
        format!(
            "HTTP/1.1 302 Found\r\nLocation: http://{inner}/latest/meta-data/iam/\r\nContent-Length: 0\r\n\r\n"
        )
        .into_boxed_str(),
    );
    let (outer, outer_seen) = answering(redirect);
    let (step, evidence) = webhook_step(&format!("http://{outer}/hooks/secret-token"), "1");
    assert_eq!(step["status"], "failed", "{step}");
    assert_eq!(step["error_code"], "HTTP302", "{step}");
    assert!(
        step["error"].as_str().unwrap().contains("redirect"),
        "{step}"
    );
    assert_eq!(outer_seen.load(Ordering::SeqCst), 1);
    assert_eq!(
        inner_seen.load(Ordering::SeqCst),
        0,
        "the redirect was followed"
    );
    // The evidence names where the webhook went, never its token.
    assert!(evidence.contains("127.0.0.1"), "{evidence}");
    assert!(!evidence.contains("secret-token"), "{evidence}");

    // Without the test-only switch: plain http, and https to loopback, are refused before
    // anything is sent.
    let (local, local_seen) = answering("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    let (step, _) = webhook_step(&format!("http://{local}/hooks/tok"), "0");
    assert_eq!(step["error_code"], "InvalidParameter", "{step}");
    assert!(step["error"].as_str().unwrap().contains("https"), "{step}");
    let (step, _) = webhook_step(&format!("https://{local}/hooks/tok"), "0");
    assert_eq!(step["error_code"], "WebhookRefused", "{step}");
    assert!(
        step["error"].as_str().unwrap().contains("loopback"),
        "{step}"
    );
    assert_eq!(
        local_seen.load(Ordering::SeqCst),
        0,
        "a refused webhook was sent"
    );

    // The instance-metadata service and private addresses, even with the switch.
    for url in [
        "https://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "https://10.0.0.5/hook",
        "https://[fd00:ec2::254]/latest/meta-data/",
    ] {
        let (step, _) = webhook_step(url, "1");
        assert_eq!(step["status"], "failed", "{url}: {step}");
        assert_eq!(step["error_code"], "WebhookRefused", "{url}: {step}");
    }
}
