//! `firebreak watch` (issue 6). moto has no GuardDuty findings API (emulator.md), so GuardDuty
//! alone is faked, with the SDK's own test support (aws-smithy-mocks): ListFindings filters
//! and sorts by `updatedAt` as GuardDuty does, GetFindings answers with the raw JSON body of
//! the requested findings. Everything else is real: the worker contains the findings in moto,
//! writes evidence and claims to an Object-Locked bucket, and `audit` checks them. The real
//! `watch` binary polling the findings stand-in, on Step Functions and with tickets, is in
//! `guardduty.rs`.

use std::sync::{Arc, Mutex};

use aws_sdk_guardduty::operation::list_findings::ListFindingsOutput;
use aws_smithy_mocks::{MockResponse, RuleMode, mock, mock_client};
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use serde_json::{Value, json};

use crate::support::{Account, finding_file, s3_client, stdout, unique};

/// GuardDuty's findings, as (updatedAt in epoch ms, finding JSON).
type Findings = Arc<Mutex<Vec<(i64, Value)>>>;

fn guardduty(findings: &Findings) -> aws_sdk_guardduty::Client {
    let list = {
        let findings = findings.clone();
        mock!(aws_sdk_guardduty::Client::list_findings).then_compute_output(move |req| {
            let since = req
                .finding_criteria()
                .and_then(|c| c.criterion())
                .and_then(|c| c.get("updatedAt"))
                .and_then(|c| c.greater_than_or_equal())
                .unwrap_or(0);
            let mut matching: Vec<(i64, String)> = findings
                .lock()
                .unwrap()
                .iter()
                .filter(|(at, _)| *at >= since)
                .map(|(at, f)| (*at, f["id"].as_str().unwrap().to_string()))
                .collect();
            matching.sort();
            ListFindingsOutput::builder()
                .set_finding_ids(Some(matching.into_iter().map(|(_, id)| id).collect()))
                .build()
        })
    };
    let get = {
        let findings = findings.clone();
        mock!(aws_sdk_guardduty::Client::get_findings).then_compute_response(move |req| {
            let wanted = req.finding_ids();
            let body: Vec<Value> = findings
                .lock()
                .unwrap()
                .iter()
                .filter(|(_, f)| wanted.iter().any(|w| f["id"] == w.as_str()))
                .map(|(_, f)| f.clone())
                .collect();
            MockResponse::Http(aws_smithy_runtime_api::http::Response::new(
                StatusCode::try_from(200u16).unwrap(),
                SdkBody::from(json!({ "findings": body }).to_string()),
            ))
        })
    };
    mock_client!(aws_sdk_guardduty, RuleMode::MatchAny, &[&list, &get])
}

#[tokio::test]
async fn polled_findings_are_contained_once_and_the_cursor_moves() {
    let account = Account::new().await;
    let bucket = account.evidence_bucket("watch-evidence");

    let findings: Findings = Arc::default();
    let mut users = Vec::new();
    for i in 0..3 {
        let (user, key) = crate::run_s3::user_with_key(&account.config).await;
        let path = finding_file("iam-user-tor.json", |f| {
            f["id"] = Value::String(unique("finding"));
            f["accountId"] = account.id.clone().into();
            f["updatedAt"] = format!("2026-11-23T10:0{i}:00.000Z").into();
            f["resource"]["accessKeyDetails"]["userName"] = user.clone().into();
            f["resource"]["accessKeyDetails"]["accessKeyId"] = key.into();
        });
        let f: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let at = 1_795_428_000_000 + i64::from(i) * 60_000; // 2026-11-23T10:0i:00Z
        findings.lock().unwrap().push((at, f));
        users.push(user);
    }
    let gd = guardduty(&findings);

    // The poll itself: oldest first, in GuardDuty's own JSON, parsed like any finding.
    let polled = firebreak::intake::watch::poll(&gd, "detector-1", 0)
        .await
        .unwrap()
        .findings;
    assert_eq!(polled.len(), 3);
    assert_eq!(
        polled[0].updated_at.as_deref(),
        Some("2026-11-23T10:00:00.000Z")
    );
    assert!(
        polled[0].raw.contains("TorIPCaller"),
        "the raw finding is kept"
    );

    let worker = Arc::new(
        firebreak::intake::worker::Worker::new(
            account.config.clone(),
            firebreak::intake::worker::Options {
                evidence: format!("s3://{bucket}"),
                playbooks: "playbooks".into(),
                inputs: Default::default(),
                step_concurrency: 16,
                engine: firebreak::domain::catalog::Engine::Local,
                lease: std::time::Duration::from_secs(60),
                cross: firebreak::aws::CrossAccount {
                    role_name: "FirebreakResponder".into(),
                    external_id: None,
                    external_ids: Default::default(),
                },
                retention_days: 1,
                lock_mode: firebreak::evidence::LockMode::Compliance,
                sign_key: None,
                seal_key: firebreak::evidence::seal::DEFAULT_ALIAS.into(),
                allow_sample: false,
                expected_owner: None,
                config: Default::default(),
            },
        )
        .await
        .unwrap(),
    );
    let mut cursor = firebreak::intake::watch::Cursor::default();
    let first = firebreak::intake::watch::sweep(&gd, "detector-1", &worker, &mut cursor, 4)
        .await
        .unwrap();
    assert_eq!((first.found, first.finished), (3, 3), "{first:?}");
    assert_eq!(
        cursor.since_ms, 1_795_428_120_000,
        "the cursor is at the newest updatedAt"
    );
    assert_eq!(
        cursor.handled.len(),
        1,
        "only the finding at the cursor is remembered"
    );
    let iam = aws_sdk_iam::Client::new(&account.config);
    for u in &users {
        let keys = iam.list_access_keys().user_name(u).send().await.unwrap();
        assert_eq!(
            keys.access_key_metadata()[0].status().unwrap().as_str(),
            "Inactive"
        );
    }

    // The next poll lists the newest again (the cursor is inclusive) and does nothing with it.
    let second = firebreak::intake::watch::sweep(&gd, "detector-1", &worker, &mut cursor, 4)
        .await
        .unwrap();
    assert_eq!((second.found, second.finished), (1, 0), "{second:?}");

    // GuardDuty updates the first finding (a higher count, a newer updatedAt), and a restarted
    // watcher starts from scratch: nothing is contained a second time, all is recorded as seen.
    {
        let mut all = findings.lock().unwrap();
        all[0].0 = 1_795_428_300_000;
        all[0].1["updatedAt"] = "2026-11-23T10:05:00.000Z".into();
        all[0].1["service"]["count"] = 7.into();
    }
    let mut restarted = firebreak::intake::watch::Cursor::default();
    let third = firebreak::intake::watch::sweep(&gd, "detector-1", &worker, &mut restarted, 4)
        .await
        .unwrap();
    assert_eq!((third.found, third.finished), (3, 3), "{third:?}");
    assert_eq!(restarted.since_ms, 1_795_428_300_000);

    let out = account.firebreak(&["audit", "--retention-days", "1", &format!("s3://{bucket}")]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("(3 execution(s), 0 with problems)"),
        "one execution per finding: {text}"
    );
    let s3 = s3_client(&account.config);
    let seen = s3
        .list_objects_v2()
        .bucket(&bucket)
        .prefix("_claims/")
        .send()
        .await
        .unwrap()
        .contents()
        .iter()
        .filter(|o| o.key().unwrap().contains("/seen-"))
        .count();
    assert_eq!(
        seen, 3,
        "the restarted watcher's deliveries are recorded as seen"
    );
}

/// The binary's own path: moto answers GuardDuty's findings API with 404, which `watch --once`
/// reports with a hint and exit 2 rather than looping or panicking.
#[tokio::test]
async fn watch_once_reports_an_unusable_guardduty_api() {
    let account = Account::new().await;
    let bucket = account.evidence_bucket("watch-cli-evidence");
    let out = account.firebreak(&[
        "watch",
        "--detector",
        "12abc34d567e8fa901bc2d34e56789f0",
        "--evidence",
        &format!("s3://{bucket}"),
        "--once",
    ]);
    let err = crate::support::stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("\"event\":\"started\""), "{err}");
    assert!(err.contains("ListFindings"), "{err}");
    assert!(err.contains("hint: check the detector id"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// Issue 14, item 11: a finding GuardDuty returns that cannot be read is reported and skipped;
/// it neither hides the findings polled with it nor holds the cursor back.
#[tokio::test]
async fn an_unreadable_finding_does_not_stall_the_cursor() {
    let account = Account::new().await;
    let bucket = account.evidence_bucket("watch-bad-evidence");
    let (user, key) = crate::run_s3::user_with_key(&account.config).await;
    let good = finding_file("iam-user-tor.json", |f| {
        f["id"] = Value::String(unique("finding"));
        f["accountId"] = account.id.clone().into();
        f["updatedAt"] = "2026-11-23T10:01:00.000Z".into();
        f["resource"]["accessKeyDetails"]["userName"] = user.clone().into();
        f["resource"]["accessKeyDetails"]["accessKeyId"] = key.clone().into();
    });
    let good: Value = serde_json::from_slice(&std::fs::read(good).unwrap()).unwrap();
    // No type and no resource: nothing to route on.
    let bad = json!({"id": unique("unreadable"), "updatedAt": "2026-11-23T10:02:00.000Z",
        "accountId": account.id, "region": "us-east-1"});
    let findings: Findings = Arc::new(Mutex::new(vec![
        (1_795_428_060_000, good),
        (1_795_428_120_000, bad),
    ]));
    let gd = guardduty(&findings);
    let worker = Arc::new(
        firebreak::intake::worker::Worker::new(
            account.config.clone(),
            firebreak::intake::worker::Options {
                evidence: format!("s3://{bucket}"),
                playbooks: "playbooks".into(),
                inputs: Default::default(),
                step_concurrency: 16,
                engine: firebreak::domain::catalog::Engine::Local,
                lease: std::time::Duration::from_secs(60),
                cross: firebreak::aws::CrossAccount {
                    role_name: "FirebreakResponder".into(),
                    external_id: None,
                    external_ids: Default::default(),
                },
                retention_days: 1,
                lock_mode: firebreak::evidence::LockMode::Compliance,
                sign_key: None,
                seal_key: firebreak::evidence::seal::DEFAULT_ALIAS.into(),
                allow_sample: false,
                expected_owner: None,
                config: Default::default(),
            },
        )
        .await
        .unwrap(),
    );
    let mut cursor = firebreak::intake::watch::Cursor::default();
    let sweep = firebreak::intake::watch::sweep(&gd, "detector-1", &worker, &mut cursor, 4)
        .await
        .unwrap();
    assert_eq!(
        (sweep.found, sweep.finished, sweep.rejected),
        (2, 1, 1),
        "{sweep:?}"
    );
    assert_eq!(
        cursor.since_ms, 1_795_428_120_000,
        "the cursor moved past both"
    );
    let keys = aws_sdk_iam::Client::new(&account.config)
        .list_access_keys()
        .user_name(&user)
        .send()
        .await
        .unwrap();
    assert_eq!(
        keys.access_key_metadata()[0].status().unwrap().as_str(),
        "Inactive"
    );
}
