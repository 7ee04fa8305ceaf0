//! `firebreak setup --evidence-bucket` (issue 4): creates a valid evidence bucket, is idempotent,
//! refuses a bucket without Object Lock, and the bucket it makes passes the audit's bucket checks.

use crate::support::{moto, stderr, stdout, unique};

#[tokio::test]
async fn setup_makes_an_evidence_bucket_idempotently() {
    let bucket = unique("evidence-setup");
    let out = moto().firebreak(&[
        "setup",
        "--evidence-bucket",
        &bucket,
        "--retention-days",
        "400",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("created with Object Lock"), "{text}");
    assert!(text.contains("set to COMPLIANCE 400 days"), "{text}");
    assert!(text.contains("public access: blocked"), "{text}");
    assert!(text.contains("skipped the plain-HTTP deny"), "{text}");
    let again = moto().firebreak(&[
        "setup",
        "--evidence-bucket",
        &bucket,
        "--retention-days",
        "400",
    ]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    let text = stdout(&again);
    assert!(
        text.contains("exists") && text.contains("(kept)") && !text.contains("set to"),
        "{text}"
    );
    // A shorter retention or a weaker mode is not applied, and setup says so (issue 16,
    // item 9).
    let weaker = moto().firebreak(&[
        "setup",
        "--evidence-bucket",
        &bucket,
        "--retention-days",
        "30",
        "--lock-mode",
        "governance",
    ]);
    assert_eq!(weaker.status.code(), Some(0), "{}", stderr(&weaker));
    let text = stdout(&weaker);
    assert!(
        text.contains("default retention: COMPLIANCE 400 days (kept; asked for GOVERNANCE 30 days, not applied")
            && !text.contains("set to"),
        "{text}"
    );

    let config = moto().config().await;
    let s3 = firebreak::aws::s3_client(&config);
    let pab = s3
        .get_public_access_block()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(
        pab.public_access_block_configuration()
            .and_then(|c| c.restrict_public_buckets()),
        Some(true)
    );

    // Evidence written there passes the audit, bucket checks included.
    let (user, key) = crate::run_s3::user_with_key(&config).await;
    let finding = crate::support::finding_file("iam-user-tor.json", |f| {
        f["id"] = serde_json::Value::String(unique("finding"));
        f["resource"]["accessKeyDetails"]["userName"] = user.clone().into();
        f["resource"]["accessKeyDetails"]["accessKeyId"] = key.clone().into();
    });
    let target = format!("s3://{bucket}");
    let run = moto().firebreak(&[
        "run",
        "--evidence",
        &target,
        "--retention-days",
        "400",
        finding.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let audit = moto().firebreak(&["audit", "--retention-days", "400", &target]);
    assert_eq!(
        audit.status.code(),
        Some(0),
        "{}{}",
        stdout(&audit),
        stderr(&audit)
    );

    // A bucket without Object Lock cannot become an evidence bucket.
    let plain = unique("plain");
    s3.create_bucket().bucket(&plain).send().await.unwrap();
    let out = moto().firebreak(&["setup", "--evidence-bucket", &plain]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("without Object Lock"),
        "{}",
        stderr(&out)
    );
}
