//! The harness reaches the moto server with the real AWS SDK: caller identity, and an
//! Object-Locked bucket whose objects carry a COMPLIANCE retention (the evidence store's basis).

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ObjectLockMode, ObjectLockRetentionMode};

use crate::support::aws_config;

#[tokio::test]
async fn sdk_reaches_moto() {
    let config = aws_config().await;
    let sts = aws_sdk_sts::Client::new(&config);
    let who = sts
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity");
    assert_eq!(who.account(), Some("123456789012"));

    let s3 = firebreak::aws::s3_client(&config);
    let bucket = format!("firebreak-smoke-{}", std::process::id());
    s3.create_bucket()
        .bucket(&bucket)
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .expect("CreateBucket with Object Lock");
    let lock = s3
        .get_object_lock_configuration()
        .bucket(&bucket)
        .send()
        .await
        .expect("GetObjectLockConfiguration");
    assert_eq!(
        lock.object_lock_configuration()
            .and_then(|c| c.object_lock_enabled())
            .map(|e| e.as_str()),
        Some("Enabled")
    );
    let until = aws_sdk_s3::primitives::DateTime::from_secs(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
            + 86_400,
    );
    s3.put_object()
        .bucket(&bucket)
        .key("smoke/record.json")
        .body(ByteStream::from_static(b"{\"ok\":true}"))
        .object_lock_mode(ObjectLockMode::Compliance)
        .object_lock_retain_until_date(until)
        .send()
        .await
        .expect("PutObject with retention");
    let head = s3
        .head_object()
        .bucket(&bucket)
        .key("smoke/record.json")
        .send()
        .await
        .expect("HeadObject");
    assert_eq!(head.object_lock_mode(), Some(&ObjectLockMode::Compliance));
    assert!(head.object_lock_retain_until_date().is_some());
    let _ = ObjectLockRetentionMode::Compliance;
}
