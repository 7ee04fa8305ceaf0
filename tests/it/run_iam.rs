//! `firebreak run` against moto with the real SDK: IAM credential containment (issue 3).

use aws_sdk_iam::types::StatusType;
use serde_json::Value;

use crate::support::{self, finding_file, moto, stderr, stdout, unique};

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
    assert!(support::deny_all_attached(&iam, &user).await);
    // No inline policy is written for it.
    let inline = iam
        .list_user_policies()
        .user_name(&user)
        .send()
        .await
        .unwrap();
    assert!(inline.policy_names().is_empty(), "{inline:?}");

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

/// The revocation time stored in a role's `AWSRevokeOlderSessions` policy.
async fn revocation_time(iam: &aws_sdk_iam::Client, role: &str) -> Value {
    let p = iam
        .get_role_policy()
        .role_name(role)
        .policy_name("AWSRevokeOlderSessions")
        .send()
        .await
        .unwrap();
    let doc: Value = serde_json::from_str(
        &percent_encoding::percent_decode_str(p.policy_document()).decode_utf8_lossy(),
    )
    .unwrap();
    doc["Statement"][0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"].clone()
}

fn rfc3339(t: std::time::SystemTime) -> String {
    aws_smithy_types::DateTime::from(t)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap()
}

/// Attack (issue 14, item 2): the role already has the console's "Revoke active sessions"
/// policy, dated before the attacker's session was issued. Keeping it because it exists left
/// the attacker's session valid while the step reported success. The date now moves to now;
/// a re-run for the same activity keeps it; new activity moves it again; a policy of that
/// name that does not deny everything is replaced.
#[tokio::test]
async fn an_older_revocation_is_moved_to_now() {
    let iam = iam().await;
    let role = crate::support::ec2_role(&iam, "revoked-role").await;
    let month_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(30 * 86400);
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    // As the console writes it.
    let console = serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Action": ["*"], "Resource": ["*"],
        "Condition": {"DateLessThan": {"aws:TokenIssueTime": rfc3339(month_ago)}}}]});
    iam.put_role_policy()
        .role_name(&role)
        .policy_name("AWSRevokeOlderSessions")
        .policy_document(console.to_string())
        .send()
        .await
        .unwrap();
    let finding_id = unique("finding");
    let write = |seen: String| {
        finding_file("iam-assumed-role-anomalous.json", |f| {
            f["id"] = Value::String(finding_id.clone());
            f["resource"]["accessKeyDetails"]["userName"] = role.clone().into();
            f["service"]["eventLastSeen"] = seen.into();
        })
    };
    let started = rfc3339(std::time::SystemTime::now() - std::time::Duration::from_secs(1));
    let finding = write(rfc3339(hour_ago));
    let (code, report, err) = run_json(&["run", finding.to_str().unwrap(), "--output", "json"]);
    assert_eq!(code, Some(0), "{report:#}\n{err}");
    let revoke = step(&report, "revoke_role_sessions");
    assert_eq!(revoke["changed"], true, "{revoke:#}");
    let first = revocation_time(&iam, &role).await;
    assert!(
        first.as_str().unwrap() >= started.as_str(),
        "the revocation must cover sessions issued up to now: {first} < {started}"
    );
    assert_eq!(revoke["outputs"]["issued_before"], first);

    // The same activity again: the revocation in place covers it.
    let (code, report, err) = run_json(&["run", finding.to_str().unwrap(), "--output", "json"]);
    assert_eq!(code, Some(0), "{report:#}\n{err}");
    assert_eq!(step(&report, "revoke_role_sessions")["changed"], false);
    assert_eq!(revocation_time(&iam, &role).await, first);

    // New activity after the revocation (the finding updated): moved again.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let updated = write(rfc3339(std::time::SystemTime::now()));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (code, report, err) = run_json(&["run", updated.to_str().unwrap(), "--output", "json"]);
    assert_eq!(code, Some(0), "{report:#}\n{err}");
    assert_eq!(step(&report, "revoke_role_sessions")["changed"], true);
    let second = revocation_time(&iam, &role).await;
    assert!(second.as_str() > first.as_str(), "{second} <= {first}");

    // A recent policy of that name that does not deny everything is not a revocation.
    for weak in [
        serde_json::json!({"Effect": "Allow", "Action": "*", "Resource": "*",
            "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2099-01-01T00:00:00Z"}}}),
        serde_json::json!({"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*",
            "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2099-01-01T00:00:00Z"}}}),
        serde_json::json!({"Effect": "Deny", "Action": "*", "Resource": "*",
            "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2099-01-01T00:00:00Z"},
                "IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}),
    ] {
        iam.put_role_policy()
            .role_name(&role)
            .policy_name("AWSRevokeOlderSessions")
            .policy_document(
                serde_json::json!({"Version": "2012-10-17", "Statement": [weak]}).to_string(),
            )
            .send()
            .await
            .unwrap();
        let (code, report, err) = run_json(&["run", finding.to_str().unwrap(), "--output", "json"]);
        assert_eq!(code, Some(0), "{report:#}\n{err}");
        assert_eq!(
            step(&report, "revoke_role_sessions")["changed"],
            true,
            "kept a policy that does not revoke: {weak}"
        );
        let p = iam
            .get_role_policy()
            .role_name(&role)
            .policy_name("AWSRevokeOlderSessions")
            .send()
            .await
            .unwrap();
        let doc: Value = serde_json::from_str(
            &percent_encoding::percent_decode_str(p.policy_document()).decode_utf8_lossy(),
        )
        .unwrap();
        assert_eq!(doc["Statement"][0]["Effect"], "Deny");
        assert_eq!(doc["Statement"][0]["Action"], "*");
        assert!(doc["Statement"][0]["Condition"]["IpAddress"].is_null());
    }
}

/// Issue 14, item 11: one finding that cannot be bound does not stop a batch. The findings
/// after it are contained, the bad one is named, and the run exits 1.
#[tokio::test]
async fn a_bad_finding_does_not_stop_the_batch() {
    let (user, k1, _) = user_with_two_keys().await;
    let bad = std::fs::read_to_string(crate::support::fixture("missing-username.json")).unwrap();
    let good =
        std::fs::read_to_string(crate::support::leaked_key_finding(None, &user, &k1)).unwrap();
    let compact =
        |t: &str| serde_json::to_string(&serde_json::from_str::<Value>(t).unwrap()).unwrap();
    let batch = std::env::temp_dir().join(format!("{}.ndjson", unique("batch")));
    std::fs::write(&batch, format!("{}\n{}\n", compact(&bad), compact(&good))).unwrap();
    let out = moto().firebreak(&["run", "--output", "json", batch.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot bind finding missing-username"),
        "{}",
        stderr(&out)
    );
    let keys = iam()
        .await
        .list_access_keys()
        .user_name(&user)
        .send()
        .await
        .unwrap();
    let first = keys
        .access_key_metadata()
        .iter()
        .find(|k| k.access_key_id() == Some(k1.as_str()))
        .unwrap();
    assert_eq!(
        first.status(),
        Some(&StatusType::Inactive),
        "the good finding was contained"
    );
}

/// Issue 14, item 8: a protected resource (configured, or firebreak's own evidence bucket), or
/// a finding of an account firebreak does not act in, is never contained, by `run` with or
/// without `--playbook`; each is said to be a ticket for a person.
#[tokio::test]
async fn protected_resources_and_other_accounts_are_never_contained() {
    let account = crate::support::Account::new().await;
    let iam = aws_sdk_iam::Client::new(&account.config);
    let user = unique("BreakGlass");
    let key = crate::run_s3::named_user_with_key(&account.config, &user).await;
    let finding = finding_file("iam-user-tor.json", |f| {
        f["id"] = Value::String(unique("break-glass"));
        f["accountId"] = account.id.as_str().into();
        f["resource"]["accessKeyDetails"]["userName"] = user.as_str().into();
        f["resource"]["accessKeyDetails"]["accessKeyId"] = key.as_str().into();
    });
    let config = crate::support::config_file("protected:\n  - \"BreakGlass*\"\n");
    let run = |config: &std::path::Path, extra: &[&str]| {
        let mut args = vec!["run"];
        args.extend_from_slice(extra);
        args.push(finding.to_str().unwrap());
        let env = [("FIREBREAK_CONFIG", config.to_str().unwrap())];
        let env: Vec<(&str, &str)> = account
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(env)
            .collect();
        crate::support::firebreak_env(&moto().endpoint, &args, &env)
    };
    let status = || async {
        iam.list_access_keys()
            .user_name(&user)
            .send()
            .await
            .unwrap()
            .access_key_metadata()[0]
            .status()
            .cloned()
    };
    for extra in [&[][..], &["--playbook", "iam-credential-compromise"][..]] {
        let out = run(&config, extra);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("`{user}` is protected (`BreakGlass*`)"))
                && stderr(&out).contains("nothing contained"),
            "{}",
            stderr(&out)
        );
        assert_eq!(status().await, Some(StatusType::Active), "{extra:?}");
    }
    // An account firebreak does not act in.
    let other = crate::support::config_file("accounts: ['111122223333']\n");
    let out = run(&other, &[]);
    assert!(
        stderr(&out).contains(&format!("account {} is not among the accounts", account.id)),
        "{}",
        stderr(&out)
    );
    assert_eq!(status().await, Some(StatusType::Active));
    // Firebreak's own evidence bucket: a finding about it is not acted on.
    let bucket = account.evidence_bucket("own-evidence");
    let about_bucket = finding_file("s3-public-policy.json", |f| {
        f["id"] = Value::String(unique("own-bucket"));
        f["accountId"] = account.id.as_str().into();
        f["resource"]["s3BucketDetails"][0]["name"] = bucket.as_str().into();
    });
    let out = account.firebreak(&[
        "run",
        "--evidence",
        &format!("s3://{bucket}"),
        about_bucket.to_str().unwrap(),
    ]);
    assert!(
        stderr(&out).contains(&format!("`{bucket}` is protected")),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    // And with no configuration, the same user is contained.
    let none = crate::support::config_file("triage: []\n");
    let out = run(&none, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(status().await, Some(StatusType::Inactive));
}
