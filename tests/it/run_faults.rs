//! Faults between firebreak and AWS (issue 3): a proxy in front of moto throttles, answers 503 and
//! drops connections on a share of requests, and every playbook still succeeds with its retries
//! visible; AccessDenied on one step fails that step, skips its dependents, finishes the
//! independent branches and exits non-zero with the reason.

use serde_json::Value;

use crate::fault_proxy::{FaultProxy, Faults};
use crate::support::{finding_file, firebreak_at, moto, stderr, stdout, unique};

fn report(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {} {}", stdout(out), stderr(out)))
}

#[tokio::test]
async fn every_playbook_succeeds_through_faults() {
    let config = moto().config().await;
    let proxy = FaultProxy::start(
        &moto().endpoint,
        Faults {
            every: 5,
            deny_actions: vec![],
            deny_body: None,
            long_denial: false,
            bucket_owner: None,
            snapshot_states: Vec::new(),
        },
    );
    let iam = aws_sdk_iam::Client::new(&config);
    let user = unique("faulty");
    iam.create_user().user_name(&user).send().await.unwrap();
    let key = iam
        .create_access_key()
        .user_name(&user)
        .send()
        .await
        .unwrap()
        .access_key()
        .unwrap()
        .access_key_id()
        .to_string();
    let role = unique("faulty-role");
    iam.create_role()
        .role_name(&role)
        .assume_role_policy_document("{}")
        .send()
        .await
        .unwrap();
    let t = crate::run_ec2::target(&config).await;
    let (bucket, _) = crate::run_s3::public_bucket(&config).await;
    let (s3_public, s3_access) = crate::run_s3::s3_findings(&bucket, &user, &key);
    let findings = vec![
        finding_file("iam-user-tor.json", |f| {
            f["id"] = Value::String(unique("finding"));
            f["resource"]["accessKeyDetails"]["userName"] = user.clone().into();
            f["resource"]["accessKeyDetails"]["accessKeyId"] = key.clone().into();
        }),
        finding_file("iam-assumed-role-anomalous.json", |f| {
            f["id"] = Value::String(unique("finding"));
            f["resource"]["accessKeyDetails"]["userName"] = role.clone().into();
        }),
        finding_file("ec2-bitcoin-dns.json", |f| {
            f["id"] = Value::String(unique("finding"));
            f["resource"]["instanceDetails"]["instanceId"] = t.instance_id.clone().into();
        }),
        s3_public,
        s3_access,
        // (A recovery point is the emulator's stand-in; a snapshot is moto's own.)
        crate::run_artifact::snapshot_finding(&crate::run_artifact::shared_snapshot(&config).await),
    ];
    let mut retries = 0;
    for f in &findings {
        let out = firebreak_at(
            &proxy.endpoint,
            &["run", "--output", "json", f.to_str().unwrap()],
        );
        let r = report(&out);
        assert_eq!(out.status.code(), Some(0), "{r:#}\n{}", stderr(&out));
        assert_eq!(r["status"], "succeeded");
        retries += r["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["attempts"].as_u64().unwrap_or(0).saturating_sub(1))
            .sum::<u64>();
        if stderr(&out).contains("  retry    ") {
            assert!(stderr(&out).contains("trying again in"), "{}", stderr(&out));
        }
    }
    let c = &proxy.counts;
    use std::sync::atomic::Ordering::Relaxed;
    let injected =
        c.throttled.load(Relaxed) + c.unavailable.load(Relaxed) + c.dropped.load(Relaxed);
    assert!(
        c.throttled.load(Relaxed) > 0
            && c.unavailable.load(Relaxed) > 0
            && c.dropped.load(Relaxed) > 0
    );
    assert!(
        retries > 0,
        "faults were injected ({injected}) but no step shows a retry"
    );
}

/// A proxy in front of the shared emulator that refuses `DetachInstances` (with a 7 KB message
/// when `long`), and an instance to contain through it.
async fn detach_denied(long: bool) -> (FaultProxy, crate::run_ec2::Target) {
    let config = moto().config().await;
    let proxy = FaultProxy::start(
        &moto().endpoint,
        Faults {
            every: 0,
            deny_actions: vec!["DetachInstances".into()],
            deny_body: None,
            long_denial: long,
            bucket_owner: None,
            snapshot_states: Vec::new(),
        },
    );
    (proxy, crate::run_ec2::target(&config).await)
}

#[tokio::test]
async fn access_denied_fails_one_step_and_skips_its_dependents() {
    let (proxy, t) = detach_denied(false).await;
    let finding = finding_file("ec2-bitcoin-dns.json", |f| {
        f["id"] = Value::String(unique("finding"));
        f["resource"]["instanceDetails"]["instanceId"] = t.instance_id.clone().into();
    });
    let out = firebreak_at(
        &proxy.endpoint,
        &["run", "--output", "json", finding.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let r = report(&out);
    let step = |id: &str| {
        r["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(r["status"], "partial");
    let detach = step("detach_from_asg");
    assert_eq!(detach["status"], "failed");
    assert_eq!(detach["attempts"], 1, "AccessDenied is not retried");
    assert!(
        detach["error"].as_str().unwrap().contains("AccessDenied"),
        "{detach:#}"
    );
    for dependent in ["isolate", "tag"] {
        assert_eq!(step(dependent)["status"], "skipped", "{dependent}");
    }
    assert!(
        step("isolate")["skip_reason"]
            .as_str()
            .unwrap()
            .contains("detach_from_asg")
    );
    for independent in [
        "capture",
        "preserve",
        "snapshot",
        "deregister_targets",
        "remove_profile",
        "revoke_role_sessions",
    ] {
        assert_eq!(step(independent)["status"], "succeeded", "{independent}");
    }
    // The text summary says why.
    let text = firebreak_at(&proxy.endpoint, &["run", finding.to_str().unwrap()]);
    assert_eq!(text.status.code(), Some(1));
    assert!(stdout(&text).contains("AccessDenied"), "{}", stdout(&text));
}

/// Issue 14, item 10: the second move of the two-step isolation (transition group → isolation
/// group) is refused. The interface is not left in the transition group, which allows all
/// traffic: it goes back to its recorded groups, and the step's error says so.
#[tokio::test]
async fn a_failed_isolation_does_not_leave_the_instance_open() {
    let config = moto().config().await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let (t, vpc) = crate::run_ec2::target_in_new_vpc(&config).await;
    // The isolation group, made beforehand so that its id is known to the proxy.
    let iso = crate::run_ec2::isolation_group(&ec2, &vpc).await;
    let before = crate::run_ec2::eni_groups(&ec2, &t.instance_id).await;
    let proxy = FaultProxy::start(
        &moto().endpoint,
        Faults {
            every: 0,
            deny_actions: vec![],
            deny_body: Some(format!("SecurityGroupId.1={iso}")),
            long_denial: false,
            bucket_owner: None,
            snapshot_states: Vec::new(),
        },
    );
    let finding = finding_file("ec2-bitcoin-dns.json", |f| {
        f["id"] = Value::String(unique("finding"));
        f["resource"]["instanceDetails"]["instanceId"] = t.instance_id.clone().into();
    });
    let out = firebreak_at(
        &proxy.endpoint,
        &["run", "--output", "json", finding.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let r = report(&out);
    let isolate = r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "isolate")
        .unwrap()
        .clone();
    assert_eq!(isolate["status"], "failed", "{isolate:#}");
    assert!(
        isolate["error"]
            .as_str()
            .unwrap_or_default()
            .contains("put back in its groups"),
        "{isolate:#}"
    );
    assert_eq!(
        crate::run_ec2::eni_groups(&ec2, &t.instance_id).await,
        before,
        "the interface is back in its own groups, not in the allow-all transition group"
    );
}

/// Issue 16, item 5: an AWS error of some 7 KB is shortened in the progress line, the summary
/// and the audit timeline, and kept whole in the JSON report and the evidence.
#[tokio::test]
async fn a_long_aws_error_is_shortened_in_human_output_only() {
    let (proxy, t) = detach_denied(true).await;
    let finding = finding_file("ec2-bitcoin-dns.json", |f| {
        f["id"] = Value::String(unique("finding"));
        f["resource"]["instanceDetails"]["instanceId"] = t.instance_id.clone().into();
    });
    let dir = std::env::temp_dir().join(unique("long-error-evidence"));
    let evidence = dir.to_str().unwrap();
    let out = firebreak_at(
        &proxy.endpoint,
        &["run", "--evidence", evidence, finding.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let human = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    let lines: Vec<&str> = human
        .lines()
        .filter(|l| l.contains("detach_from_asg") && l.contains("not authorized"))
        .collect();
    assert!(lines.len() >= 2, "progress and summary: {human}");
    for l in &lines {
        assert!(
            l.chars().count() < 600,
            "a line of {} characters",
            l.chars().count()
        );
        assert!(l.contains("more characters"), "{l}");
    }
    let audit = firebreak_at(&proxy.endpoint, &["audit", evidence]);
    let text = String::from_utf8_lossy(&audit.stdout).to_string();
    let timeline: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("detach_from_asg") && l.contains("not authorized"))
        .collect();
    assert!(!timeline.is_empty(), "{text}");
    assert!(
        timeline.iter().all(|l| l.contains("more characters")),
        "{text}"
    );
    // The JSON report keeps the whole error.
    let finding2 = finding_file("ec2-bitcoin-dns.json", |f| {
        f["id"] = Value::String(unique("finding"));
        f["resource"]["instanceDetails"]["instanceId"] = t.instance_id.clone().into();
    });
    let out = firebreak_at(
        &proxy.endpoint,
        &["run", "--output", "json", finding2.to_str().unwrap()],
    );
    let r = report(&out);
    let detach = r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "detach_from_asg")
        .unwrap();
    assert!(
        detach["error"].as_str().unwrap().len() > 6000,
        "{}",
        detach["error"]
    );
}
