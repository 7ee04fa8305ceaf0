//! `firebreak run` of the S3 playbooks against moto (issue 3): a public bucket with a policy gets
//! all four Block Public Access flags, keeps its statements, gains the deny, and is versioned.

use serde_json::{Value, json};

use crate::support::{finding_file, moto, stderr, unique};

pub(crate) async fn public_bucket(config: &aws_config::SdkConfig) -> (String, Value) {
    let s3 = firebreak::aws::s3_client(config);
    let bucket = unique("exports");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let existing = json!({
        "Sid": "PublicRead",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": format!("arn:aws:s3:::{bucket}/*")
    });
    let policy = json!({"Version": "2012-10-17", "Statement": [existing.clone()]});
    s3.put_bucket_policy()
        .bucket(&bucket)
        .policy(policy.to_string())
        .send()
        .await
        .unwrap();
    (bucket, existing)
}

/// Whether one of `statements` is a Deny naming `principal`.
pub(crate) fn denies(statements: &[Value], principal: &str) -> bool {
    statements
        .iter()
        .any(|s| s["Effect"] == "Deny" && s["Principal"]["AWS"] == principal)
}

/// The bucket's policy, parsed.
pub(crate) async fn bucket_policy(s3: &aws_sdk_s3::Client, bucket: &str) -> Value {
    let text = s3
        .get_bucket_policy()
        .bucket(bucket)
        .send()
        .await
        .unwrap()
        .policy()
        .unwrap()
        .to_string();
    serde_json::from_str(&text).unwrap()
}

pub(crate) async fn user_with_key(config: &aws_config::SdkConfig) -> (String, String) {
    let user = unique("carol");
    let key = named_user_with_key(config, &user).await;
    (user, key)
}

/// A new IAM user `user` with one access key; the key's id.
pub(crate) async fn named_user_with_key(config: &aws_config::SdkConfig, user: &str) -> String {
    let iam = aws_sdk_iam::Client::new(config);
    iam.create_user().user_name(user).send().await.unwrap();
    let k = iam
        .create_access_key()
        .user_name(user)
        .send()
        .await
        .unwrap();
    k.access_key().unwrap().access_key_id().to_string()
}

pub(crate) fn s3_findings(
    bucket: &str,
    user: &str,
    key: &str,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let public = finding_file("s3-public-policy.json", |f| {
        f["id"] = Value::String(unique("finding"));
        f["resource"]["s3BucketDetails"][0]["name"] = bucket.into();
    });
    let access = finding_file("s3-exfil-anomalous.json", |f| {
        f["id"] = Value::String(unique("finding"));
        f["resource"]["s3BucketDetails"][0]["name"] = bucket.into();
        f["resource"]["accessKeyDetails"]["userName"] = user.into();
        f["resource"]["accessKeyDetails"]["accessKeyId"] = key.into();
    });
    (public, access)
}

/// Regression guard for issue 3 (S3 containment end state).
#[tokio::test]
async fn s3_public_bucket_is_locked_down_keeping_its_policy() {
    let config = moto().config().await;
    let (bucket, existing) = public_bucket(&config).await;
    let (user, key) = user_with_key(&config).await;
    let (public, access) = s3_findings(&bucket, &user, &key);
    for f in [&public, &access] {
        let out = moto().firebreak(&["run", "--output", "json", f.to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            stderr(&out)
        );
    }
    let s3 = firebreak::aws::s3_client(&config);
    let pab = s3
        .get_public_access_block()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let c = pab.public_access_block_configuration().unwrap();
    assert_eq!(
        (
            c.block_public_acls(),
            c.ignore_public_acls(),
            c.block_public_policy(),
            c.restrict_public_buckets()
        ),
        (Some(true), Some(true), Some(true), Some(true))
    );
    let policy = bucket_policy(&s3, &bucket).await;
    let statements = policy["Statement"].as_array().unwrap();
    assert!(
        statements.contains(&existing),
        "the old statement is kept: {policy:#}"
    );
    let principal = format!("arn:aws:iam::123456789012:user/{user}");
    assert!(
        denies(statements, &principal),
        "the deny is added: {policy:#}"
    );
    // moto's GetBucketVersioning answer has a root element the SDK rejects (see
    // actions/s3.rs); read its status from the raw answer.
    let status = match s3.get_bucket_versioning().bucket(&bucket).send().await {
        Ok(v) => v
            .status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        Err(aws_sdk_s3::error::SdkError::ServiceError(se)) => {
            let body =
                String::from_utf8_lossy(se.raw().body().bytes().unwrap_or_default()).to_string();
            if body.contains("<Status>Enabled</Status>") {
                "Enabled".to_string()
            } else {
                String::new()
            }
        }
        Err(e) => panic!("{e:?}"),
    };
    assert_eq!(status, "Enabled");

    for f in [&public, &access] {
        let out = moto().firebreak(&["run", "--output", "json", f.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        for s in report["steps"].as_array().unwrap() {
            assert_eq!(s["changed"], false, "{} changed on the second run", s["id"]);
        }
    }
}

/// Issue 14, item 5: an `--input` that only some playbooks declare (`webhook_url`, which the S3
/// playbooks do not take) is ignored for the others, instead of rejecting every S3 finding;
/// one that no playbook declares is refused before anything runs, by `run` and by `serve`.
#[tokio::test]
async fn inputs_a_playbook_does_not_declare_are_ignored_for_it() {
    let config = moto().config().await;
    let (bucket, _) = public_bucket(&config).await;
    let (user, key) = user_with_key(&config).await;
    let (public, _) = s3_findings(&bucket, &user, &key);
    let public = public.to_str().unwrap();
    let hook = "webhook_url=https://hooks.example/services/T0/B0/x";
    let out = moto().firebreak(&["run", "--input", hook, "--output", "json", public]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["playbook"], "s3-public-exposure");
    assert_eq!(report["status"], "succeeded");
    for args in [
        vec!["run", "--input", "no_such_input=1", public],
        vec![
            "serve",
            "--queue",
            "https://sqs.us-east-1.amazonaws.com/123456789012/none",
            "--evidence",
            "s3://none",
            "--input",
            "no_such_input=1",
        ],
    ] {
        let out = moto().firebreak(&args);
        assert_ne!(out.status.code(), Some(0), "{args:?}");
        assert!(
            stderr(&out).contains("--input no_such_input: no playbook in playbooks declares it"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

/// Issue 14, item 2: a weaker statement under the name firebreak once gave its deny (one
/// action, the objects only, under a condition that never holds), such as anyone with
/// PutBucketPolicy could write first, is not "already as wanted": the whole deny is added
/// beside it, and it stays (it is not firebreak's to remove). A second principal's deny then
/// stands beside the first.
#[tokio::test]
async fn a_weaker_statement_is_not_taken_for_the_deny() {
    let config = moto().config().await;
    let s3 = firebreak::aws::s3_client(&config);
    let (bucket, existing) = public_bucket(&config).await;
    let (user, key) = user_with_key(&config).await;
    let principal = format!("arn:aws:iam::123456789012:user/{user}");
    let weak = json!({
        "Sid": "FirebreakDenyPrincipal",
        "Effect": "Deny",
        "Principal": {"AWS": principal},
        "Action": "s3:DeleteBucket",
        "Resource": format!("arn:aws:s3:::{bucket}/*"),
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}
    });
    let policy = json!({"Version": "2012-10-17", "Statement": [existing.clone(), weak.clone()]});
    s3.put_bucket_policy()
        .bucket(&bucket)
        .policy(policy.to_string())
        .send()
        .await
        .unwrap();
    let deny = |p: &str| {
        json!({
            "Effect": "Deny",
            "Principal": {"AWS": p},
            "Action": "s3:*",
            "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")],
        })
    };
    let (_, access) = s3_findings(&bucket, &user, &key);
    let out = moto().firebreak(&["run", "--output", "json", access.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let step = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["action"] == "s3.deny_principal")
        .cloned()
        .unwrap();
    assert_eq!(step["changed"], true, "{step:#}");
    let now = bucket_policy(&s3, &bucket).await;
    assert_eq!(
        now["Statement"],
        json!([existing, weak, deny(&principal)]),
        "{now:#}"
    );

    let (other, other_key) = user_with_key(&config).await;
    let (_, access) = s3_findings(&bucket, &other, &other_key);
    let out = moto().firebreak(&["run", "--output", "json", access.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let second = format!("arn:aws:iam::123456789012:user/{other}");
    let now = bucket_policy(&s3, &bucket).await;
    assert_eq!(
        now["Statement"],
        json!([existing, weak, deny(&principal), deny(&second)]),
        "{now:#}"
    );
}
