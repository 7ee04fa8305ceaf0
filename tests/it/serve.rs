//! `firebreak setup --queue` and `firebreak serve` (issue 6) against moto: findings delivered by
//! the EventBridge rule to the queue are contained exactly once, even when re-sent with growing
//! counts and read by two `serve` processes at once; messages that are not findings go to the
//! dead-letter queue; the evidence, claims included, passes `audit`.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName as A;
use serde_json::{Value, json};

use crate::support::{Account, root, s3_client, stderr, stdout, unique};

/// `setup` of an evidence bucket and a queue; returns the queue's URL.
pub(crate) fn setup(account: &Account, bucket: &str, queue: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "setup",
        "--evidence-bucket",
        bucket,
        "--retention-days",
        "1",
        "--queue",
        queue,
    ];
    if !extra.contains(&"--max-receives") {
        args.extend(["--max-receives", "2"]);
    }
    args.extend_from_slice(extra);
    let out = account.firebreak(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
        .lines()
        .find_map(|l| l.strip_prefix("queue url: "))
        .expect("setup prints the queue url")
        .to_string()
}

/// A `serve --drain` process reading `queue` into `bucket`.
pub(crate) fn serve(account: &Account, queue: &str, bucket: &str, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_firebreak"))
        .args([
            "serve",
            "--queue",
            queue,
            "--evidence",
            &format!("s3://{bucket}"),
            "--retention-days",
            "1",
            "--drain",
            "--wait-seconds",
            "1",
            "--visibility-seconds",
            "5",
            "--lease-seconds",
            "10",
        ])
        .args(extra)
        .current_dir(root())
        .env("AWS_ENDPOINT_URL", account.endpoint())
        .env("AWS_ACCESS_KEY_ID", "AKIAFIREBREAKTEST000")
        .env("AWS_SECRET_ACCESS_KEY", "dummy-secret-not-used")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .env_remove("FIREBREAK_LOG")
        .envs(account.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("firebreak serve starts")
}

/// Waits for a serve process, at most `limit`; kills it and fails past that. Its log is read
/// as it is written: a full pipe would stop the server.
pub(crate) fn finish(mut child: Child, limit: Duration) -> (Option<i32>, String) {
    let read = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_string(&mut text);
            }
            text
        })
    };
    let log = read(child.stderr.take().map(|p| Box::new(p) as _));
    let _out = read(child.stdout.take().map(|p| Box::new(p) as _));
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status.code(), log.join().unwrap_or_default());
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "serve did not drain within {limit:?}:\n{}",
                log.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Sends a GuardDuty finding as GuardDuty does: an EventBridge event on the default bus.
pub(crate) async fn put_event(events: &aws_sdk_eventbridge::Client, finding: &Value) {
    let out = events
        .put_events()
        .entries(
            aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                .source("aws.guardduty")
                .detail_type("GuardDuty Finding")
                .detail(finding.to_string())
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(out.failed_entry_count(), 0);
}

/// The claims of a worker named `worker` in `bucket`, sealed as `serve` seals them.
fn claims_as(
    account: &Account,
    bucket: &str,
    worker: &str,
    lease: Duration,
) -> firebreak::intake::claim::Claims {
    let store = firebreak::evidence::Store::S3 {
        client: s3_client(&account.config),
        bucket: bucket.to_string(),
        prefix: String::new(),
        mode: firebreak::evidence::LockMode::Governance,
        retention: Duration::from_secs(86_400),
    };
    let sealer = firebreak::evidence::seal::Sealer::new(
        aws_sdk_kms::Client::new(&account.config),
        firebreak::evidence::seal::DEFAULT_ALIAS,
    );
    firebreak::intake::claim::Claims::new(&store, worker, lease, sealer).unwrap()
}

/// The URL of the dead-letter queue `setup --queue NAME` made (`NAME-dead-letter`).
pub(crate) async fn dead_letter_url(sqs: &aws_sdk_sqs::Client, queue: &str) -> String {
    sqs.get_queue_url()
        .queue_name(format!("{queue}-dead-letter"))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string()
}

pub(crate) async fn depth(sqs: &aws_sdk_sqs::Client, url: &str) -> u64 {
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap();
    out.attributes()
        .unwrap()
        .values()
        .map(|v| v.parse::<u64>().unwrap())
        .sum()
}

fn leaked_key_finding(account: &Account, user: &str, key: &str) -> Value {
    let path = crate::support::leaked_key_finding(Some(&account.id), user, key);
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

pub(crate) async fn keys_of(iam: &aws_sdk_iam::Client, user: &str) -> Vec<String> {
    iam.list_access_keys()
        .user_name(user)
        .send()
        .await
        .unwrap()
        .access_key_metadata()
        .iter()
        .map(|k| k.status().unwrap().as_str().to_string())
        .collect()
}

#[tokio::test]
async fn findings_are_contained_once_across_two_servers_and_poison_is_dead_lettered() {
    let account = Account::new().await;
    let config = account.config.clone();
    let sqs = aws_sdk_sqs::Client::new(&config);
    let events = aws_sdk_eventbridge::Client::new(&config);
    let s3 = s3_client(&config);
    let bucket = unique("serve-evidence");
    let queue = unique("findings");
    let url = setup(&account, &bucket, &queue, &[]);
    // Idempotent: a second setup changes nothing and finds everything in place.
    let again = setup(&account, &bucket, &queue, &[]);
    assert_eq!(url, again);
    // Only the rule, and firebreak's principals (the caller: `serve` sends dead-lettered
    // findings back), may send: everyone else's send is denied by the queue's policy. (The
    // emulator does not evaluate queue policies, so the policy is read back, not attacked.)
    let policy = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::Policy)
        .send()
        .await
        .unwrap();
    let policy: Value = serde_json::from_str(
        policy
            .attributes()
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::Policy))
            .expect("the queue has a policy"),
    )
    .unwrap();
    let caller = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    let deny = crate::support::statement(&policy, "FirebreakOnlyTheRuleSends");
    assert_eq!(deny["Effect"], "Deny", "{policy:#}");
    assert_eq!(deny["Principal"], "*", "{policy:#}");
    assert_eq!(deny["Action"], "sqs:SendMessage", "{policy:#}");
    let rule_arn = &deny["Condition"]["ArnNotEquals"]["aws:SourceArn"];
    assert!(
        rule_arn
            .as_str()
            .is_some_and(|a| a.ends_with(&format!(":rule/firebreak-{queue}"))),
        "{policy:#}"
    );
    assert_eq!(
        &crate::support::statement(&policy, "FirebreakEventBridgeDelivers")["Condition"]["ArnEquals"]
            ["aws:SourceArn"],
        rule_arn
    );
    // The caller's role, for a role session.
    let senders = deny["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
        .as_array()
        .unwrap();
    for principal in firebreak::ops::setup::principal_arns(&caller) {
        assert!(senders.contains(&json!(principal)), "{caller}: {policy:#}");
    }

    // Three leaked keys; the first finding is re-sent ten times with growing counts, as
    // GuardDuty does while the activity goes on.
    let mut users = Vec::new();
    let mut findings = Vec::new();
    for _ in 0..3 {
        let (user, key) = crate::run_s3::user_with_key(&config).await;
        findings.push(leaked_key_finding(&account, &user, &key));
        users.push(user);
    }
    for count in 1..=10 {
        let mut f = findings[0].clone();
        f["service"]["count"] = json!(count);
        f["updatedAt"] = json!(format!("2026-11-23T10:{count:02}:00.000Z"));
        put_event(&events, &f).await;
    }
    put_event(&events, &findings[1]).await;
    put_event(&events, &findings[2]).await;
    // Five messages that are no findings, some hostile.
    let deep = "[".repeat(100_000);
    for body in [
        "hello",
        r#"{"detail-type":"GuardDuty Finding","detail":{"id":"x"}}"#,
        deep.as_str(),
        r#"{"id":null,"type":null,"resource":null,"service":null}"#,
        r#"{"id":"x","type":"A:B/C","accountId":1e400,"region":"r","severity":1e400,"resource":{"resourceType":"X"}}"#,
    ] {
        sqs.send_message()
            .queue_url(&url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    assert_eq!(
        depth(&sqs, &url).await,
        17,
        "the rule delivered every event"
    );

    let a = serve(&account, &url, &bucket, &["--concurrency", "4"]);
    let b = serve(&account, &url, &bucket, &["--concurrency", "4"]);
    let (code_a, log_a) = finish(a, Duration::from_secs(120));
    let (code_b, log_b) = finish(b, Duration::from_secs(120));
    let logs = format!("{log_a}\n{log_b}");
    assert_eq!(code_a, Some(0), "{logs}");
    assert_eq!(code_b, Some(0), "{logs}");

    // Every line is a JSON object.
    let lines: Vec<Value> = logs
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let count = |event: &str| lines.iter().filter(|l| l["event"] == event).count();
    assert_eq!(count("containing"), 3, "one execution per finding:\n{logs}");
    assert!(count("rejected") >= 5, "{logs}");
    assert!(
        lines
            .iter()
            .any(|l| l["event"] == "rejected" && l["reason"].as_str().unwrap().contains("line 1")),
        "a rejection says where the message is not a finding:\n{logs}"
    );
    // A line per step ended, inside its execution's span and its own.
    let steps: Vec<&Value> = lines.iter().filter(|l| l["event"] == "step").collect();
    assert!(!steps.is_empty(), "no step lines:\n{logs}");
    for l in &steps {
        let spans = l["spans"].as_array().unwrap_or_else(|| panic!("{l}"));
        let span = |name: &str| spans.iter().find(|s| s["name"] == name);
        let execution = span("execution").unwrap_or_else(|| panic!("{l}"));
        let step = span("step").unwrap_or_else(|| panic!("{l}"));
        assert!(execution["execution_id"].is_string(), "{l}");
        assert!(execution["finding_id"].is_string(), "{l}");
        assert_eq!(step["step"], l["step"], "{l}");
        assert_eq!(step["action"], l["action"], "{l}");
        assert!(l["timestamp"].is_string(), "{l}");
    }

    // Contained: every user's key is inactive.
    let iam = aws_sdk_iam::Client::new(&config);
    for u in &users {
        assert_eq!(keys_of(&iam, u).await, ["Inactive"], "{u}");
    }
    // The queue is empty; the two poison messages are in the dead-letter queue.
    assert_eq!(depth(&sqs, &url).await, 0);
    let dlq = dead_letter_url(&sqs, &queue).await;
    assert_eq!(
        depth(&sqs, &dlq).await,
        5,
        "every poison message is dead-lettered"
    );

    // One execution folder per finding, and the nine re-sent copies recorded as seen.
    let listed: Vec<String> = s3
        .list_objects_v2()
        .bucket(&bucket)
        .max_keys(1000)
        .send()
        .await
        .unwrap()
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect();
    for f in &findings {
        let id = f["id"].as_str().unwrap();
        let manifests = listed
            .iter()
            .filter(|k| {
                !k.starts_with("_claims/")
                    && k.contains(&format!("/{id}/"))
                    && k.ends_with("-manifest.json")
            })
            .count();
        assert_eq!(manifests, 1, "{id}: {listed:#?}");
        let done = format!("_claims/{}/{id}/done-", account.id);
        assert_eq!(
            listed.iter().filter(|k| k.starts_with(&done)).count(),
            1,
            "{id}: one done marker: {listed:#?}"
        );
    }
    let first = findings[0]["id"].as_str().unwrap();
    let seen = listed
        .iter()
        .filter(|k| k.starts_with(&format!("_claims/{}/{first}/seen-", account.id)))
        .count();
    assert_eq!(seen, 9, "{listed:#?}");

    let out = account.firebreak(&["audit", "--retention-days", "1", &format!("s3://{bucket}")]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("claim record(s) of `serve` checked"));
    // Each execution's line in the log names its index entry (`SEQ:SHA256`): kept outside the
    // bucket, the last one is the head a later audit is given (issue 14, item 3).
    let mut entries: Vec<(u64, String)> = lines
        .iter()
        .filter(|l| l["event"] == "executed")
        .map(|l| {
            let e = l["index_entry"].as_str().unwrap_or_else(|| panic!("{l}"));
            let (seq, sha) = e.split_once(':').unwrap();
            (seq.parse().unwrap(), sha.to_string())
        })
        .collect();
    assert_eq!(entries.len(), 3, "{logs}");
    entries.sort();
    let (seq, sha) = entries.last().unwrap();
    let head = format!("{seq}:{sha}");
    assert!(
        stdout(&out).contains(&format!("head {head}")),
        "{head}\n{}",
        stdout(&out)
    );
    let out = account.firebreak(&[
        "audit",
        "--retention-days",
        "1",
        "--index-head",
        &head,
        &format!("s3://{bucket}"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[tokio::test]
async fn sigkilled_servers_still_contain_every_finding_exactly_once() {
    let account = Account::new().await;
    let config = account.config.clone();
    let sqs = aws_sdk_sqs::Client::new(&config);
    let events = aws_sdk_eventbridge::Client::new(&config);
    let s3 = s3_client(&config);
    let bucket = unique("crash-evidence");
    let queue = unique("crash-findings");
    // Killed workers leave messages to be received again: allow many receives.
    let url = setup(&account, &bucket, &queue, &["--max-receives", "50"]);
    let mut users = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..50 {
        let (user, key) = crate::run_s3::user_with_key(&config).await;
        let f = leaked_key_finding(&account, &user, &key);
        ids.push(f["id"].as_str().unwrap().to_string());
        put_event(&events, &f).await;
        users.push(user);
    }
    assert_eq!(depth(&sqs, &url).await, 50);

    // Five servers, each killed with SIGKILL at a random moment of its work.
    let mut kills = 0;
    for _ in 0..5 {
        let mut child = serve(&account, &url, &bucket, &["--concurrency", "8"]);
        std::thread::sleep(Duration::from_millis(fastrand::u64(400..2500)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
    }
    assert_eq!(kills, 5);
    let (code, log) = finish(
        serve(&account, &url, &bucket, &["--concurrency", "8"]),
        Duration::from_secs(300),
    );
    assert_eq!(code, Some(0), "{log}");
    // What the kills interrupted (shown with --nocapture; how much depends on timing).
    eprintln!(
        "crash test: {} executions taken over from killed servers, {} started by the last one",
        log.matches("\"taken_over\"").count(),
        log.matches("\"containing\"").count()
    );

    let iam = aws_sdk_iam::Client::new(&config);
    for u in &users {
        assert_eq!(keys_of(&iam, u).await, ["Inactive"], "{u}");
    }
    assert_eq!(depth(&sqs, &url).await, 0, "the queue is empty");
    let dlq = dead_letter_url(&sqs, &queue).await;
    assert_eq!(depth(&sqs, &dlq).await, 0, "the dead-letter queue is empty");

    // Exactly one execution (one folder, one manifest) per finding.
    let mut keys = Vec::new();
    let mut token = None;
    loop {
        let page = s3
            .list_objects_v2()
            .bucket(&bucket)
            .set_continuation_token(token)
            .send()
            .await
            .unwrap();
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_string)),
        );
        match page.next_continuation_token() {
            Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_string()),
            _ => break,
        }
    }
    for id in &ids {
        let prefix = format!("{}/{id}/", account.id);
        let executions: std::collections::BTreeSet<&str> = keys
            .iter()
            .filter_map(|k| k.strip_prefix(&prefix)?.split('/').next())
            .collect();
        assert_eq!(executions.len(), 1, "{id}: {executions:?}");
        let manifests = keys
            .iter()
            .filter(|k| k.starts_with(&prefix) && k.ends_with("-manifest.json"))
            .count();
        assert_eq!(manifests, 1, "{id}");
    }
    let out = account.firebreak(&["audit", "--retention-days", "1", &format!("s3://{bucket}")]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("(50 execution(s), 0 with problems)"),
        "{}",
        stdout(&out)
    );
}

/// A worker that died half-way: its claim's lease is over, its execution has the finding, the
/// plan and the first steps, no manifest. The next worker continues that execution.
#[tokio::test]
async fn a_dead_workers_execution_is_resumed_not_restarted() {
    let account = Account::new().await;
    let config = account.config.clone();
    let events = aws_sdk_eventbridge::Client::new(&config);
    let s3 = s3_client(&config);
    let bucket = unique("resume-evidence");
    let url = setup(&account, &bucket, &unique("resume-findings"), &[]);
    let (user, key) = crate::run_s3::user_with_key(&config).await;
    let f = leaked_key_finding(&account, &user, &key);
    let id = f["id"].as_str().unwrap();
    // The dead worker's evidence: a whole run, then (GOVERNANCE bypass, version by version, so
    // no delete marker is left) everything after its first step removed.
    let path = std::env::temp_dir().join(format!("{}.json", unique("finding")));
    std::fs::write(&path, f.to_string()).unwrap();
    let out = account.firebreak(&[
        "run",
        "--evidence",
        &format!("s3://{bucket}"),
        "--seal-key",
        firebreak::evidence::seal::DEFAULT_ALIAS,
        "--lock-mode",
        "governance",
        "--retention-days",
        "1",
        "--output",
        "json",
        path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let execution = serde_json::from_slice::<Value>(&out.stdout).unwrap()["execution_id"]
        .as_str()
        .unwrap()
        .to_string();
    let folder = format!("{}/{id}/{execution}/", account.id);
    let versions = s3
        .list_object_versions()
        .bucket(&bucket)
        .prefix(&folder)
        .send()
        .await
        .unwrap();
    // Keep the records up to the first step that succeeded; remove the rest.
    let mut all: Vec<(String, String)> = versions
        .versions()
        .iter()
        .map(|v| {
            (
                v.key().unwrap().to_string(),
                v.version_id().unwrap().to_string(),
            )
        })
        .collect();
    all.sort();
    let mut kept = Vec::new();
    let mut cut = false;
    for (k, version) in all {
        if !cut {
            let body = s3
                .get_object()
                .bucket(&bucket)
                .key(&k)
                .send()
                .await
                .unwrap();
            let v: Value =
                serde_json::from_slice(&body.body.collect().await.unwrap().into_bytes()).unwrap();
            cut = v["step"]["status"] == "succeeded";
            kept.push(k);
            continue;
        }
        s3.delete_object()
            .bucket(&bucket)
            .key(&k)
            .version_id(version)
            .bypass_governance_retention(true)
            .send()
            .await
            .unwrap();
    }
    assert!(
        cut && kept.len() >= 3,
        "finding, plan, steps up to a success: {kept:?}"
    );
    // Nor had it entered the execution in the index: that comes after the manifest.
    let entries = s3
        .list_object_versions()
        .bucket(&bucket)
        .prefix("_index/")
        .send()
        .await
        .unwrap();
    assert_eq!(entries.versions().len(), 1);
    for v in entries.versions() {
        s3.delete_object()
            .bucket(&bucket)
            .key(v.key().unwrap())
            .version_id(v.version_id().unwrap())
            .bypass_governance_retention(true)
            .send()
            .await
            .unwrap();
    }
    let first_step = kept.last().unwrap().rsplit('/').next().unwrap().to_string();
    // Its claim, whose lease ended a minute ago, sealed as the dead worker sealed it.
    let claim = json!({"schema": "firebreak.claim/v1", "kind": "claim", "finding_id": id,
        "account_id": account.id, "execution_id": execution, "generation": 0,
        "worker": "dead-worker", "at": "2026-11-23T00:00:00Z",
        "lease_until_ms": firebreak::intake::claim::now_ms() - 60_000});
    crate::support::put_sealed_claim(&config, &bucket, "claim-0000.json", claim).await;

    put_event(&events, &f).await;
    let (code, log) = finish(serve(&account, &url, &bucket, &[]), Duration::from_secs(60));
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("\"taken_over\""), "{log}");

    let keys: Vec<String> = s3
        .list_objects_v2()
        .bucket(&bucket)
        .prefix(format!("{}/{id}/", account.id))
        .send()
        .await
        .unwrap()
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect();
    assert!(
        keys.iter().all(|k| k.starts_with(&folder)),
        "the same execution continued, no second one: {keys:#?}"
    );
    assert!(
        keys.iter().any(|k| k.ends_with("-manifest.json")),
        "{keys:#?}"
    );
    let step_name = first_step[5..].to_string();
    assert_eq!(
        keys.iter().filter(|k| k.ends_with(&step_name)).count(),
        1,
        "the first step, recorded as succeeded, is not run again: {keys:#?}"
    );
    let iam = aws_sdk_iam::Client::new(&config);
    assert_eq!(keys_of(&iam, &user).await, ["Inactive"]);
    let out = account.firebreak(&["audit", "--retention-days", "1", &format!("s3://{bucket}")]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

/// The answer to `GET /metrics`, or `None` while nothing listens yet.
fn http_get(addr: &str) -> Option<String> {
    http_get_as(addr, addr)
}

/// The answer to `GET /metrics` sent with `Host: host`.
fn http_get_as(addr: &str, host: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.write_all(format!("GET /metrics HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
        .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// A long-running `serve`: Prometheus metrics while it works, and SIGTERM makes it stop
/// cleanly.
#[tokio::test]
async fn serve_exposes_metrics_and_stops_on_sigterm() {
    let account = Account::new().await;
    let config = account.config.clone();
    let events = aws_sdk_eventbridge::Client::new(&config);
    let bucket = unique("metrics-evidence");
    let url = setup(&account, &bucket, &unique("metrics-findings"), &[]);
    let (user, key) = crate::run_s3::user_with_key(&config).await;
    put_event(&events, &leaked_key_finding(&account, &user, &key)).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_firebreak"))
        .args([
            "serve",
            "--queue",
            &url,
            "--evidence",
            &format!("s3://{bucket}"),
        ])
        .args([
            "--retention-days",
            "1",
            "--wait-seconds",
            "1",
            "--metrics",
            &addr,
        ])
        .current_dir(root())
        .env("AWS_ENDPOINT_URL", account.endpoint())
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .envs(account.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    let metrics = loop {
        let m = http_get(&addr).unwrap_or_default();
        if m.contains("firebreak_executions_total{status=\"succeeded\"} 1") {
            break m;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("no execution in the metrics: {m}\n{}", stderr(&out));
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(metrics.starts_with("HTTP/1.1 200 OK"), "{metrics}");
    // Issue 14, item 11: another Host (a page that rebinds its name to 127.0.0.1) is refused.
    let rebound = http_get_as(&addr, "attacker.example").unwrap_or_default();
    assert!(
        rebound.starts_with("HTTP/1.1 421") && !rebound.contains("firebreak_"),
        "{rebound}"
    );
    for line in [
        "firebreak_findings_received_total 1",
        "# TYPE firebreak_time_to_contain_seconds summary",
        "firebreak_time_to_contain_seconds_count 1",
        "firebreak_step_duration_seconds_count{action=\"iam.deactivate_access_key\"} 1",
        "# HELP firebreak_time_to_contain_seconds Finding accepted to last containment step verified.",
        "firebreak_messages_rejected_total 0",
        // The dead-letter queue, looked at when serve started (issue 13, item 3).
        "firebreak_dead_letter_messages 0",
        "firebreak_dead_letter_oldest_age_seconds 0",
        "firebreak_messages_redriven_total 0",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let (code, log) = finish(child, Duration::from_secs(30));
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("\"event\":\"stopped\""), "{log}");
    let iam = aws_sdk_iam::Client::new(&config);
    assert_eq!(keys_of(&iam, &user).await, ["Inactive"]);
}

#[tokio::test]
async fn serve_refuses_a_missing_bucket_or_queue_at_once() {
    let account = Account::new().await;
    let bucket = unique("refuse-evidence");
    let url = setup(&account, &bucket, &unique("refuse-findings"), &[]);
    let out = account.firebreak(&[
        "serve",
        "--queue",
        &url,
        "--evidence",
        "s3://no-such-evidence-bucket",
        "--drain",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("firebreak setup --evidence-bucket no-such-evidence-bucket"),
        "{}",
        stderr(&out)
    );
    let missing = url.replace("refuse-findings", "no-such-queue");
    let out = account.firebreak(&[
        "serve",
        "--queue",
        &missing,
        "--evidence",
        &format!("s3://{bucket}"),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("error: --queue"), "{}", stderr(&out));
}

/// Claims at the library level: a live worker renews its claim, so it is not taken over; once
/// it stops renewing, the next worker takes the same execution over, and the first can no
/// longer renew.
#[tokio::test]
async fn a_renewed_claim_holds_and_an_expired_one_is_taken_over() {
    use firebreak::intake::claim::Claim;
    let account = Account::new().await;
    let bucket = account.evidence_bucket("claims-evidence");
    // Leases of 6 s and steps of 4 s: 2 s of margin on every side, for a loaded test machine.
    let lease = Duration::from_secs(6);
    let a = claims_as(&account, &bucket, "worker-a", lease);
    let b = claims_as(&account, &bucket, "worker-b", lease);
    let f = leaked_key_finding(&account, "someone", "AKIASOMEONE");
    let f = firebreak::domain::finding::parse_findings(&f.to_string(), "test")
        .unwrap()
        .remove(0);
    let Claim::Won {
        generation: 0,
        execution_id,
        resume: false,
    } = a.claim(&f).await.unwrap().claim
    else {
        panic!("the first claim wins");
    };
    assert!(matches!(
        b.claim(&f).await.unwrap().claim,
        Claim::Held { .. }
    ));
    tokio::time::sleep(Duration::from_millis(4000)).await;
    assert_eq!(a.renew(&f, 0, &execution_id).await.unwrap(), 1);
    // The first generation's lease is over, the renewal's is not.
    tokio::time::sleep(Duration::from_millis(4000)).await;
    let second = b.claim(&f).await.unwrap().claim;
    assert!(matches!(second, Claim::Held { .. }), "{second:?}");
    // No more renewals: the claim is taken over, for the same execution.
    tokio::time::sleep(Duration::from_millis(7000)).await;
    assert_eq!(
        b.claim(&f).await.unwrap().claim,
        Claim::Won {
            generation: 2,
            execution_id: execution_id.clone(),
            resume: true
        }
    );
    assert!(
        a.renew(&f, 1, &execution_id).await.is_err(),
        "a cannot renew a claim taken over"
    );
}

/// Issue 14, item 4: a message whose finding another worker holds (a live claim) stays away
/// until the claim's lease ends, instead of coming back every visibility timeout and spending
/// a receive each time. With 2 receives and a 5-second visibility, a claim held for 20 s sent
/// the finding to the dead-letter queue, uncontained. Here the holder dies (its claim is never
/// renewed): the message comes back when the lease ends, and the finding is contained.
#[tokio::test]
async fn a_message_held_by_a_live_claim_waits_for_its_lease_without_spending_receives() {
    use firebreak::intake::claim::Claim;
    let account = Account::new().await;
    let config = account.config.clone();
    let events = aws_sdk_eventbridge::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let iam = aws_sdk_iam::Client::new(&config);
    let bucket = unique("held-evidence");
    let queue = unique("held-findings");
    let url = setup(&account, &bucket, &queue, &[]);
    let (user, key) = crate::run_s3::user_with_key(&config).await;
    let f = leaked_key_finding(&account, &user, &key);
    // Another worker's claim, sealed as firebreak seals it, for 20 s.
    let elsewhere = claims_as(
        &account,
        &bucket,
        "worker-elsewhere",
        Duration::from_secs(20),
    );
    let parsed = firebreak::domain::finding::parse_findings(&f.to_string(), "test")
        .unwrap()
        .remove(0);
    let won = elsewhere.claim(&parsed).await.unwrap().claim;
    assert!(matches!(won, Claim::Won { .. }), "{won:?}");

    put_event(&events, &f).await;
    let (code, log) = finish(
        serve(&account, &url, &bucket, &[]),
        Duration::from_secs(120),
    );
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("\"in_progress_elsewhere\""), "{log}");
    assert_eq!(keys_of(&iam, &user).await, ["Inactive"], "{log}");
    let dlq = dead_letter_url(&sqs, &queue).await;
    assert_eq!(
        depth(&sqs, &dlq).await,
        0,
        "dead-lettered while held: {log}"
    );
    assert_eq!(depth(&sqs, &url).await, 0);
}

/// Issue 14, item 4: findings that reached the dead-letter queue (their receives spent while the
/// evidence bucket was out) come back once it answers: `serve` sends them to its queue and
/// contains them. A message that holds no finding stays for a person, and so does one brought
/// back too often, with an alert in the log.
#[tokio::test]
async fn dead_lettered_findings_are_brought_back_and_contained() {
    let account = Account::new().await;
    let config = account.config.clone();
    let sqs = aws_sdk_sqs::Client::new(&config);
    let iam = aws_sdk_iam::Client::new(&config);
    let bucket = unique("redrive-evidence");
    let queue = unique("redrive-findings");
    let url = setup(&account, &bucket, &queue, &[]);
    let dlq = dead_letter_url(&sqs, &queue).await;
    let event = |f: &Value| {
        json!({"version": "0", "id": unique("event"), "detail-type": "GuardDuty Finding",
            "source": "aws.guardduty", "account": account.id, "region": "us-east-1",
            "time": "2026-11-23T00:00:00Z", "resources": [], "detail": f})
        .to_string()
    };
    let (user, key) = crate::run_s3::user_with_key(&config).await;
    sqs.send_message()
        .queue_url(&dlq)
        .message_body(event(&leaked_key_finding(&account, &user, &key)))
        .send()
        .await
        .unwrap();
    sqs.send_message()
        .queue_url(&dlq)
        .message_body("not a finding")
        .send()
        .await
        .unwrap();
    let (tired, tired_key) = crate::run_s3::user_with_key(&config).await;
    sqs.send_message()
        .queue_url(&dlq)
        .message_body(event(&leaked_key_finding(&account, &tired, &tired_key)))
        .message_attributes(
            firebreak::intake::redrive::REDRIVES,
            aws_sdk_sqs::types::MessageAttributeValue::builder()
                .data_type("Number")
                .string_value(firebreak::intake::redrive::MAX_REDRIVES.to_string())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let (code, log) = finish(
        serve(&account, &url, &bucket, &["--redrive-every", "1"]),
        Duration::from_secs(90),
    );
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("\"redriven\""), "{log}");
    assert_eq!(keys_of(&iam, &user).await, ["Inactive"], "{log}");
    assert!(log.contains("\"dead_letter_kept\""), "{log}");
    assert!(log.contains("\"dead_letter_given_up\""), "{log}");
    assert_eq!(keys_of(&iam, &tired).await, ["Active"]);
    assert_eq!(depth(&sqs, &dlq).await, 2, "{log}");
    assert_eq!(depth(&sqs, &url).await, 0);
}

#[tokio::test]
async fn the_rule_delivers_only_findings_of_the_minimum_severity() {
    let account = Account::new().await;
    let sqs = aws_sdk_sqs::Client::new(&account.config);
    let events = aws_sdk_eventbridge::Client::new(&account.config);
    let url = setup(
        &account,
        &unique("sev-evidence"),
        &unique("sev-findings"),
        &["--min-severity", "7"],
    );
    let mut f = leaked_key_finding(&account, "nobody", "AKIANOBODY");
    f["severity"] = json!(8);
    put_event(&events, &f).await;
    f["severity"] = json!(2.5);
    put_event(&events, &f).await;
    assert_eq!(depth(&sqs, &url).await, 1);
}

/// Issue 13: a Malware Protection for S3 scan result that found a threat reaches the queue and
/// is contained as the finding GuardDuty makes of it (the object quarantined); one that found
/// none does not reach the queue.
#[tokio::test]
async fn a_scan_result_that_found_malware_is_contained_from_the_queue() {
    let server = crate::support::private_emulator();
    let account = Account::on(&server, "100000000043").await;
    let sqs = aws_sdk_sqs::Client::new(&account.config);
    let events = aws_sdk_eventbridge::Client::new(&account.config);
    let bucket = unique("scan-evidence");
    let url = setup(
        &account,
        &bucket,
        &unique("scan-findings"),
        &["--min-severity", "7"],
    );
    let u = crate::run_quarantine::upload(&account.config).await;
    let mut scan: Value = serde_json::from_str(
        &std::fs::read_to_string(crate::support::fixture("shape-malware-scan-result.json"))
            .unwrap(),
    )
    .unwrap();
    let put = |detail: Value| {
        let events = events.clone();
        async move {
            let out = events
                .put_events()
                .entries(
                    aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                        .source("aws.guardduty")
                        .detail_type(firebreak::domain::finding::SCAN_RESULT)
                        .detail(detail.to_string())
                        // The emulator's events carry no `account`: the plan's ARN says it.
                        .resources(
                            "arn:aws:guardduty:us-east-1:100000000043:malware-protection-plan/b4c7f464ab3a4EXAMPLE",
                        )
                        .build(),
                )
                .send()
                .await
                .unwrap();
            assert_eq!(out.failed_entry_count(), 0);
        }
    };
    let d = &mut scan["detail"];
    d["s3ObjectDetails"]["bucketName"] = json!(u.bucket);
    d["s3ObjectDetails"]["objectKey"] = json!(u.key);
    d["s3ObjectDetails"]["versionId"] = json!(u.version);
    let mut clean = scan["detail"].clone();
    clean["scanResultDetails"] = json!({"scanResultStatus": "NO_THREATS_FOUND", "threats": null});
    put(clean).await;
    put(scan["detail"].clone()).await;
    assert_eq!(depth(&sqs, &url).await, 1, "only the threat is delivered");
    let (code, log) = finish(
        serve(&account, &url, &bucket, &[]),
        Duration::from_secs(120),
    );
    assert_eq!(code, Some(0), "{log}");
    assert_eq!(
        crate::run_quarantine::end_state(&account.config, &u).await,
        crate::run_quarantine::quarantined(&u),
        "{log}"
    );
}

/// Issue 14, item 11: a finding GuardDuty sends again with activity after it was contained
/// (`service.eventLastSeen` later than its `done`) is contained again; sent again without new
/// activity, it is a duplicate.
#[tokio::test]
async fn a_finding_active_after_its_containment_is_contained_again() {
    let account = Account::new().await;
    let events = aws_sdk_eventbridge::Client::new(&account.config);
    let bucket = unique("again-evidence");
    let url = setup(&account, &bucket, &unique("again-findings"), &[]);
    let (user, key) = crate::run_s3::user_with_key(&account.config).await;
    let mut f = leaked_key_finding(&account, &user, &key);
    f["service"]["eventLastSeen"] = json!("2026-11-20T09:05:02.000Z");
    let drain = || {
        finish(
            serve(&account, &url, &bucket, &[]),
            Duration::from_secs(120),
        )
    };
    put_event(&events, &f).await;
    let (code, first) = drain();
    assert_eq!(code, Some(0), "{first}");
    // The same again: a duplicate.
    put_event(&events, &f).await;
    let (code, log) = drain();
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("\"duplicate\""), "{log}");
    // New activity, seen after the containment: contained again, by a new execution.
    let now = aws_smithy_types::DateTime::from(std::time::SystemTime::now())
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap();
    f["service"]["eventLastSeen"] = json!(now);
    f["service"]["count"] = json!(7);
    put_event(&events, &f).await;
    let (code, log) = drain();
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("\"active_after_containment\""), "{log}");
    let s3 = s3_client(&account.config);
    let listed = s3.list_objects_v2().bucket(&bucket).send().await.unwrap();
    let id = f["id"].as_str().unwrap();
    let manifests = listed
        .contents()
        .iter()
        .filter_map(|o| o.key())
        .filter(|k| k.contains(&format!("/{id}/")) && k.ends_with("-manifest.json"))
        .count();
    assert_eq!(manifests, 2, "{listed:#?}");
    // And then it is done again: the same delivery once more is a duplicate.
    put_event(&events, &f).await;
    let (code, log) = drain();
    assert_eq!(code, Some(0), "{log}");
    assert!(
        log.contains("\"duplicate\"") && !log.contains("\"active_after_containment\""),
        "{log}"
    );
    let audit = account.firebreak(&["audit", "--retention-days", "1", &format!("s3://{bucket}")]);
    assert_eq!(audit.status.code(), Some(0), "{}", stdout(&audit));
}
