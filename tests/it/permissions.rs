//! `firebreak permissions` (issue 7, least privilege): the printed policy is enough for a
//! responder holding exactly it, and every permission the run uses is needed — with one
//! removed, the run fails on an AccessDenied that names the step and the permission. The
//! emulator's IAM enforcement is switched on for this (see emulator.md).

use std::process::Command;

use crate::support;

fn enforce_iam(moto: &support::Moto) {
    let out = Command::new("curl")
        .args([
            "-sf",
            "-X",
            "POST",
            "-H",
            "Content-Type: text/plain",
            "-d",
            "0",
        ])
        .arg(format!("{}/moto-api/reset-auth", moto.endpoint))
        .output()
        .expect("curl");
    assert!(out.status.success(), "switching on IAM enforcement");
}

/// The credential playbook on a leaked user key: succeeds with exactly the printed policy;
/// fails, naming the step and the permission, with any permission it used taken away.
#[tokio::test(flavor = "multi_thread")]
async fn the_printed_policy_is_enough_and_every_permission_used_is_needed() {
    let printed = support::firebreak_at(
        "http://127.0.0.1:1",
        &["permissions", "iam-credential-compromise"],
    );
    assert_eq!(
        printed.status.code(),
        Some(0),
        "{}",
        support::stderr(&printed)
    );
    let policy: serde_json::Value = serde_json::from_slice(&printed.stdout).unwrap();
    let granted: Vec<String> = policy["Statement"][0]["Action"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    assert!(
        granted.contains(&"iam:UpdateAccessKey".to_string()),
        "{policy}"
    );

    let moto = support::private_moto();
    let iam = aws_sdk_iam::Client::new(&moto.config().await);
    // Before enforcement: an administrator (to change the responder's policy later), the
    // responder with exactly the printed policy, and one victim with a leaked key per run.
    let key_of = |k: aws_sdk_iam::operation::create_access_key::CreateAccessKeyOutput| {
        let k = k.access_key().unwrap();
        (
            k.access_key_id().to_string(),
            k.secret_access_key().to_string(),
        )
    };
    iam.create_user().user_name("admin").send().await.unwrap();
    iam.put_user_policy()
        .user_name("admin")
        .policy_name("all")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    let admin = key_of(
        iam.create_access_key()
            .user_name("admin")
            .send()
            .await
            .unwrap(),
    );
    iam.create_user()
        .user_name("responder")
        .send()
        .await
        .unwrap();
    iam.put_user_policy()
        .user_name("responder")
        .policy_name("firebreak")
        .policy_document(policy.to_string())
        .send()
        .await
        .unwrap();
    let responder = key_of(
        iam.create_access_key()
            .user_name("responder")
            .send()
            .await
            .unwrap(),
    );
    let mut victims = Vec::new();
    for i in 0..32 {
        let user = format!("victim-{i}");
        iam.create_user().user_name(&user).send().await.unwrap();
        let (leaked, _) = key_of(
            iam.create_access_key()
                .user_name(&user)
                .send()
                .await
                .unwrap(),
        );
        victims.push(support::leaked_key_finding(None, &user, &leaked));
    }
    enforce_iam(&moto);
    let admin_iam = {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&moto.endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sts::config::Credentials::new(
                &admin.0, &admin.1, None, None, "admin",
            ))
            .load()
            .await;
        aws_sdk_iam::Client::new(&config)
    };
    let run = |finding: &std::path::Path| {
        let out = support::firebreak_env(
            &moto.endpoint,
            &["run", "--output", "json", finding.to_str().unwrap()],
            &[
                ("AWS_ACCESS_KEY_ID", responder.0.as_str()),
                ("AWS_SECRET_ACCESS_KEY", responder.1.as_str()),
            ],
        );
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", support::stderr(&out)));
        (out.status.code(), report)
    };

    let (code, report) = run(&victims[0]);
    assert_eq!(code, Some(0), "{report:#}");
    // The permissions this run used: every call of every step that ran.
    let mut used: Vec<(String, String)> = Vec::new();
    for s in report["steps"].as_array().unwrap() {
        for c in s["calls"].as_array().into_iter().flatten() {
            let perm = format!(
                "{}:{}",
                c["service"].as_str().unwrap(),
                c["operation"].as_str().unwrap()
            );
            let pair = (s["id"].as_str().unwrap().to_string(), perm);
            if !used.contains(&pair) {
                used.push(pair);
            }
        }
    }
    assert!(used.len() >= 10, "{used:?}");
    for (_, perm) in &used {
        assert!(
            granted.contains(perm),
            "{perm} was used but is not in the printed policy"
        );
    }

    let mut tried = Vec::new();
    for (i, (step, perm)) in used.iter().enumerate() {
        if tried.contains(perm) {
            continue;
        }
        tried.push(perm.clone());
        let mut less = policy.clone();
        less["Statement"][0]["Action"] =
            serde_json::json!(granted.iter().filter(|a| *a != perm).collect::<Vec<_>>());
        admin_iam
            .put_user_policy()
            .user_name("responder")
            .policy_name("firebreak")
            .policy_document(less.to_string())
            .send()
            .await
            .unwrap();
        let (code, report) = run(&victims[i + 1]);
        assert_eq!(code, Some(1), "without {perm}: {report:#}");
        let failed: Vec<&serde_json::Value> = report["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["status"] == "failed")
            .collect();
        assert!(
            failed.iter().any(|s| s["id"] == step.as_str()
                && s["error"]
                    .as_str()
                    .unwrap_or_default()
                    .contains(perm.as_str())),
            "without {perm}, step {step} must fail naming it: {report:#}"
        );
    }
}
