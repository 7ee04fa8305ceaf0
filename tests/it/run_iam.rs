//! `firebreak run` against moto with the real SDK: IAM credential containment (issue 3).

use aws_sdk_iam::types::StatusType;
use serde_json::Value;

use crate::support::{finding_file, moto, stderr, stdout, unique};

async fn iam() -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(&moto().config().await)
}

fn run_json(args: &[&str]) -> (Option<i32>, Value, String) {
    let out = moto().firebreak(args);
    let err = stderr(&out);
    let v = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("{e}: stdout {} stderr {err}", stdout(&out)));
    (out.status.code(), v, err)
}

fn step<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step {id}"))
}

async fn user_with_two_keys() -> (String, String, String) {
    let iam = iam().await;
    let user = unique("alice");
    iam.create_user().user_name(&user).send().await.unwrap();
    let k1 = iam
        .create_access_key()
        .user_name(&user)
        .send()
        .await
        .unwrap();
    let k2 = iam
        .create_access_key()
        .user_name(&user)
        .send()
        .await
        .unwrap();
    let id = |k: aws_sdk_iam::operation::create_access_key::CreateAccessKeyOutput| {
        k.access_key().unwrap().access_key_id().to_string()
    };
    (user, id(k1), id(k2))
}

fn user_finding(user: &str, key: &str) -> std::path::PathBuf {
    finding_file("iam-user-tor.json", |f| {
        f["id"] = Value::String(unique("finding"));
        f["resource"]["accessKeyDetails"]["userName"] = user.into();
        f["resource"]["accessKeyDetails"]["accessKeyId"] = key.into();
    })
}

/// Regression guard for issue 3: only the finding's key is deactivated, the user is denied, the
/// other key stays Active, and a second run changes nothing.
#[tokio::test]
async fn iam_user_only_the_findings_key_is_deactivated() {
    let (user, k1, k2) = user_with_two_keys().await;
    let finding = user_finding(&user, &k1);
    let (code, report, err) = run_json(&["run", finding.to_str().unwrap(), "--output", "json"]);
    assert_eq!(code, Some(0), "{report:#}\n{err}");
    assert_eq!(report["status"], "succeeded");
    assert!(report["time_to_contain_ms"].as_u64().is_some());
    assert!(uuid::Uuid::parse_str(report["execution_id"].as_str().unwrap()).is_ok());
    assert_eq!(step(&report, "deactivate_key")["status"], "succeeded");
    assert_eq!(
        step(&report, "deactivate_key")["outputs"]["previous_status"],
        "Active"
    );
    assert_eq!(step(&report, "revoke_role_sessions")["status"], "skipped");
    assert!(
        err.contains("start    deactivate_key"),
        "progress is shown as it happens: {err}"
    );

    let iam = iam().await;
    let keys = iam
        .list_access_keys()
        .user_name(&user)
        .send()
        .await
        .unwrap();
    for k in keys.access_key_metadata() {
        let want = if k.access_key_id() == Some(k1.as_str()) {
            StatusType::Inactive
        } else {
            StatusType::Active
        };
        assert_eq!(k.status(), Some(&want), "{:?}", k.access_key_id());
    }
    assert!(
        keys.access_key_metadata()
            .iter()
            .any(|k| k.access_key_id() == Some(k2.as_str()))
    );
    let policy = iam
        .get_user_policy()
        .user_name(&user)
        .policy_name("FirebreakDenyAll")
        .send()
        .await
        .unwrap();
    let doc = percent_encoding::percent_decode_str(policy.policy_document())
        .decode_utf8_lossy()
        .to_string();
    assert!(doc.contains("\"Deny\"") && doc.contains("\"*\""), "{doc}");

    // Idempotent: the second run succeeds and changes nothing.
    let (code, again, err) = run_json(&["run", finding.to_str().unwrap(), "--output", "json"]);
    assert_eq!(code, Some(0), "{err}");
    for s in again["steps"].as_array().unwrap() {
        assert_eq!(s["changed"], false, "{} changed on the second run", s["id"]);
    }
}

#[tokio::test]
async fn assumed_role_sessions_are_revoked() {
    let iam = iam().await;
    let role = crate::support::ec2_role(&iam, "deploy-role").await;
    let finding = finding_file("iam-assumed-role-anomalous.json", |f| {
        f["id"] = Value::String(unique("finding"));
        f["resource"]["accessKeyDetails"]["userName"] = role.clone().into();
    });
    let (code, report, err) = run_json(&["run", finding.to_str().unwrap(), "--output", "json"]);
    assert_eq!(code, Some(0), "{report:#}\n{err}");
    assert_eq!(step(&report, "revoke_role_sessions")["status"], "succeeded");
    assert_eq!(step(&report, "deactivate_key")["status"], "skipped");
    let p = iam
        .get_role_policy()
        .role_name(&role)
        .policy_name("AWSRevokeOlderSessions")
        .send()
        .await
        .unwrap();
    let doc = percent_encoding::percent_decode_str(p.policy_document())
        .decode_utf8_lossy()
        .to_string();
    assert!(
        doc.contains("aws:TokenIssueTime") && doc.contains("DateLessThan"),
        "{doc}"
    );
}

#[tokio::test]
async fn sample_findings_are_refused_unless_allowed() {
    let (user, k1, _) = user_with_two_keys().await;
    let finding = finding_file("sample-in-value-string.json", |f| {
        f["resource"]["accessKeyDetails"]["userName"] = user.clone().into();
        f["resource"]["accessKeyDetails"]["accessKeyId"] = k1.clone().into();
    });
    let out = moto().firebreak(&["run", finding.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("sample finding"), "{}", stderr(&out));
    let keys = iam()
        .await
        .list_access_keys()
        .user_name(&user)
        .send()
        .await
        .unwrap();
    assert!(
        keys.access_key_metadata()
            .iter()
            .all(|k| k.status() == Some(&StatusType::Active))
    );
    let out = moto().firebreak(&["run", "--allow-sample", finding.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}
