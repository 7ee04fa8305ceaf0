//! Attacks on `serve` by someone who can write to the evidence bucket but is not firebreak
//! (issue 14, item 1), each reproduced on moto with the real binary: a forged `done` marker
//! (the finding would be recorded as a duplicate and never contained), a forged expired claim
//! with forged "succeeded" step records (the next worker would "resume", skip those steps and
//! mark the finding done), a forged claim with a far-future lease (every delivery would bounce
//! to the dead-letter queue), and forged records in a real dead worker's execution. Claims and
//! records are sealed now (`firebreak::evidence::seal`); each finding is contained anyway, and the
//! forgery is reported.

use std::time::Duration;

use serde_json::{Value, json};

use crate::serve::{finish, put_event, serve, setup};
use crate::support::{Account, s3_client, stdout, unique};

fn finding(account: &Account, user: &str, key: &str) -> Value {
    let path = crate::support::leaked_key_finding(Some(&account.id), user, key);
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Writes `body` at `key` as an attacker with `s3:PutObject` would (the bucket's default
/// retention locks it; nothing is sealed).
async fn plant(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: &Value) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(aws_sdk_s3::primitives::ByteStream::from(
            serde_json::to_vec_pretty(body).unwrap(),
        ))
        .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256)
        .send()
        .await
        .unwrap();
}

fn claim(account: &Account, id: &str, kind: &str, execution: &str, lease_until_ms: i64) -> Value {
    json!({"schema": "firebreak.claim/v1", "kind": kind, "finding_id": id,
        "account_id": account.id, "execution_id": execution, "generation": 0,
        "worker": "attacker", "at": "2026-11-23T00:00:00Z",
        "lease_until_ms": lease_until_ms, "detail": "succeeded"})
}

/// A step record claiming that `step` succeeded, as a worker would have written it.
fn step_record(execution: &str, seq: u64, step: &str, action: &str) -> Value {
    json!({"schema": "firebreak.evidence.step/v1", "seq": seq, "execution_id": execution,
        "prev_sha256": "0".repeat(64), "recorded_at": "2026-11-23T00:00:00Z",
        "step": {"id": step, "action": action, "status": "succeeded", "attempts": 1,
            "outputs": {"user_name": "nobody"}, "pre_state": null, "post_state": null,
            "calls": [], "duration_ms": 1},
        "params": {}})
}

async fn key_status(iam: &aws_sdk_iam::Client, user: &str, key: &str) -> String {
    iam.list_access_keys()
        .user_name(user)
        .send()
        .await
        .unwrap()
        .access_key_metadata()
        .iter()
        .find(|k| k.access_key_id() == Some(key))
        .and_then(|k| k.status())
        .map(|s| s.as_str().to_string())
        .unwrap_or_default()
}

/// The execution folders of a finding that hold a manifest.
async fn manifests(s3: &aws_sdk_s3::Client, bucket: &str, account: &str, id: &str) -> Vec<String> {
    s3.list_objects_v2()
        .bucket(bucket)
        .prefix(format!("{account}/{id}/"))
        .send()
        .await
        .unwrap()
        .contents()
        .iter()
        .filter_map(|o| o.key())
        .filter(|k| k.ends_with("-manifest.json"))
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn forged_claims_and_records_do_not_steer_serve() {
    let account = Account::new().await;
    let config = account.config.clone();
    let s3 = s3_client(&config);
    let iam = aws_sdk_iam::Client::new(&config);
    let events = aws_sdk_eventbridge::Client::new(&config);
    let bucket = unique("forged-evidence");
    let url = setup(&account, &bucket, &unique("forged-findings"), &[]);
    let claims = |id: &str| format!("_claims/{}/{id}", account.id);
    let now = firebreak::intake::claim::now_ms();

    let mut cases = Vec::new();
    for _ in 0..5 {
        let (user, key) = crate::run_s3::user_with_key(&config).await;
        let f = finding(&account, &user, &key);
        cases.push((f["id"].as_str().unwrap().to_string(), user, key, f));
    }
    // (a) `done` written first: the finding would be a duplicate, never contained.
    let (id, ..) = &cases[0];
    for name in [
        "done.json",
        "done-0199aaaa-0000-7000-8000-000000000000.json",
    ] {
        plant(
            &s3,
            &bucket,
            &format!("{}/{name}", claims(id)),
            &claim(&account, id, "done", "made-up", 0),
        )
        .await;
    }
    // (b) an expired claim naming an execution, with forged records saying the containment
    // steps succeeded: a worker would resume it and skip them.
    let (id, ..) = &cases[1];
    plant(
        &s3,
        &bucket,
        &format!("{}/claim-0000.json", claims(id)),
        &claim(&account, id, "claim", "forged-exec", now - 60_000),
    )
    .await;
    for (seq, step, action) in [
        (2, "capture_user", "iam.capture_user"),
        (3, "deactivate_key", "iam.deactivate_access_key"),
        (4, "deny_all_user", "iam.deny_all_user"),
    ] {
        plant(
            &s3,
            &bucket,
            &format!("{}/{id}/forged-exec/{seq:04}-step-{step}.json", account.id),
            &step_record("forged-exec", seq, step, action),
        )
        .await;
    }
    // (c) a claim held "forever": every delivery would bounce to the dead-letter queue.
    let (id, ..) = &cases[2];
    plant(
        &s3,
        &bucket,
        &format!("{}/claim-0000.json", claims(id)),
        &claim(
            &account,
            id,
            "claim",
            "held-forever",
            now + 10 * 365 * 86_400_000,
        ),
    )
    .await;
    // (d) a real, sealed claim of a worker that died, whose execution folder holds records
    // that firebreak did not write: not resumed, contained afresh.
    let (id, ..) = &cases[3];
    let dead = "0199bbbb-0000-7000-8000-000000000000";
    crate::support::put_sealed_claim(
        &config,
        &bucket,
        "claim-0000.json",
        claim(&account, id, "claim", dead, now - 60_000),
    )
    .await;
    for (seq, step, action) in [
        (2, "capture_user", "iam.capture_user"),
        (3, "deactivate_key", "iam.deactivate_access_key"),
    ] {
        plant(
            &s3,
            &bucket,
            &format!("{}/{id}/{dead}/{seq:04}-step-{step}.json", account.id),
            &step_record(dead, seq, step, action),
        )
        .await;
    }

    // (e) a claim at the last generation there is (issue 14, item 11): the next one would
    // overflow, and the finding could never be claimed.
    let (id, ..) = &cases[4];
    plant(
        &s3,
        &bucket,
        &format!("{}/claim-{}.json", claims(id), u32::MAX),
        &claim(&account, id, "claim", "exhausted", now - 60_000),
    )
    .await;

    for (.., f) in &cases {
        put_event(&events, f).await;
    }
    let (code, log) = finish(serve(&account, &url, &bucket, &[]), Duration::from_secs(90));
    assert_eq!(code, Some(0), "{log}");

    for (i, (id, user, key, _)) in cases.iter().enumerate() {
        assert_eq!(
            key_status(&iam, user, key).await,
            "Inactive",
            "case {i}: the leaked key is contained\n{log}"
        );
        let m = manifests(&s3, &bucket, &account.id, id).await;
        assert_eq!(m.len(), 1, "case {i}: one execution with a manifest: {m:?}");
        assert!(
            !m[0].contains("forged-exec") && !m[0].contains(dead),
            "case {i}: no forged execution was continued: {m:?}"
        );
    }
    // A line per forged object, its key a plain JSON string (not a list's Debug text).
    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let named = |event: &str, field: &str, key: &str| {
        lines
            .iter()
            .any(|l| l["event"] == event && l[field].as_str().is_some_and(|v| v.ends_with(key)))
    };
    let done_key = format!("{}/done.json", claims(&cases[0].0));
    assert!(named("forged_claims", "object", &done_key), "{log}");
    assert!(
        named("forged_records", "record", "0002-step-capture_user.json"),
        "{log}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["event"] == "forged_records" && l["execution_id"] == dead),
        "{log}"
    );
    assert!(!log.contains("\"duplicate\""), "{log}");
    assert!(!log.contains("\"in_progress_elsewhere\""), "{log}");

    // The audit reports every forgery: with the seal key, each object firebreak did not write.
    let target = format!("s3://{bucket}");
    let out = account.firebreak(&[
        "audit",
        "--retention-days",
        "1",
        "--seal-key",
        firebreak::evidence::seal::DEFAULT_ALIAS,
        &target,
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    for forged in [
        format!("{}/done.json", claims(&cases[0].0)),
        format!("{}/claim-0000.json", claims(&cases[1].0)),
        format!("{}/claim-0000.json", claims(&cases[2].0)),
        format!("{}/claim-{}.json", claims(&cases[4].0), u32::MAX),
        format!("{dead}/0002-step-capture_user.json"),
    ] {
        assert!(
            text.lines()
                .any(|l| l.contains(&forged) && l.contains("forged")),
            "{forged} is reported as forged:\n{text}"
        );
    }
    assert!(!text.contains("seals are not checked"), "{text}");
    // The five real executions, all sealed, pass.
    assert_eq!(text.matches("\nPASS  execution").count(), 5, "{text}");
    // Without it, the made-up `done` and the forged executions still fail the audit, and the
    // audit says what it could not check.
    let out = account.firebreak(&["audit", "--retention-days", "1", &target]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("contained by execution made-up, which is not in the store"),
        "{text}"
    );
    assert!(text.contains("forged-exec"), "{text}");
    assert!(
        text.contains("seals are not checked (no --seal-key)"),
        "{text}"
    );
    assert!(
        text.contains(
            "the records' chains and the execution index prove internal consistency only"
        ),
        "{text}"
    );
}
