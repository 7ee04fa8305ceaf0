//! `firebreak setup`: creates or checks firebreak's own infrastructure, idempotently. Today: the
//! evidence bucket (Object Lock with a default retention, versioning, public access blocked, a
//! policy refusing plain-HTTP access). Prints what it changed and what was already right.

use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, DefaultRetention, ObjectLockConfiguration,
    ObjectLockEnabled, ObjectLockRetentionMode, ObjectLockRule, PublicAccessBlockConfiguration,
};
use serde_json::json;

use crate::evidence::LockMode;

/// What `setup` did, line by line.
pub struct SetupReport {
    pub lines: Vec<String>,
}

fn err<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// Makes `bucket` a valid evidence bucket. `tls_policy` false skips the deny of plain HTTP (for
/// an emulator reached over http://).
pub async fn evidence_bucket(
    s3: &aws_sdk_s3::Client,
    region: &str,
    bucket: &str,
    days: i32,
    mode: LockMode,
    tls_policy: bool,
) -> Result<SetupReport, String> {
    let mut lines = Vec::new();
    let exists = s3.head_bucket().bucket(bucket).send().await.is_ok();
    if exists {
        lines.push(format!("bucket {bucket}: exists"));
    } else {
        let mut create = s3
            .create_bucket()
            .bucket(bucket)
            .object_lock_enabled_for_bucket(true);
        if region != "us-east-1" {
            create = create.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region))
                    .build(),
            );
        }
        create.send().await.map_err(|e| {
            format!(
                "creating bucket {bucket}: {}",
                crate::actions::classify(&e, "s3", "CreateBucket")
            )
        })?;
        lines.push(format!("bucket {bucket}: created with Object Lock"));
    }
    let lock = s3
        .get_object_lock_configuration()
        .bucket(bucket)
        .send()
        .await;
    let current = lock
        .as_ref()
        .ok()
        .and_then(|l| l.object_lock_configuration().cloned());
    if current
        .as_ref()
        .and_then(|c| c.object_lock_enabled())
        .map(|e| e.as_str())
        != Some("Enabled")
    {
        return Err(format!(
            "bucket {bucket} exists without Object Lock; it cannot hold evidence\n  hint: choose a new bucket name (Object Lock is enabled when a bucket is created)"
        ));
    }
    let want_mode = match mode {
        LockMode::Compliance => ObjectLockRetentionMode::Compliance,
        LockMode::Governance => ObjectLockRetentionMode::Governance,
    };
    let retention = current
        .as_ref()
        .and_then(|c| c.rule())
        .and_then(|r| r.default_retention());
    let have_days = retention.and_then(|d| d.days().or(d.years().map(|y| y * 365)));
    let have_mode = retention.and_then(|d| d.mode()).cloned();
    if have_days.is_some_and(|d| d >= days) && have_mode == Some(want_mode.clone()) {
        lines.push(format!(
            "default retention: {} {} days (kept)",
            want_mode.as_str(),
            have_days.unwrap_or(days)
        ));
    } else if have_days.is_some_and(|d| d > days) {
        lines.push(format!(
            "default retention: {} days is longer than asked; kept",
            have_days.unwrap_or(days)
        ));
    } else {
        s3.put_object_lock_configuration()
            .bucket(bucket)
            .object_lock_configuration(
                ObjectLockConfiguration::builder()
                    .object_lock_enabled(ObjectLockEnabled::Enabled)
                    .rule(
                        ObjectLockRule::builder()
                            .default_retention(
                                DefaultRetention::builder()
                                    .mode(want_mode.clone())
                                    .days(days)
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .map_err(err("setting the default retention"))?;
        lines.push(format!(
            "default retention: set to {} {days} days",
            want_mode.as_str()
        ));
    }
    lines.push("versioning: on (Object Lock buckets are always versioned)".into());
    let pab = s3.get_public_access_block().bucket(bucket).send().await;
    let all_on = pab
        .as_ref()
        .ok()
        .and_then(|p| p.public_access_block_configuration())
        .is_some_and(|c| {
            c.block_public_acls() == Some(true)
                && c.ignore_public_acls() == Some(true)
                && c.block_public_policy() == Some(true)
                && c.restrict_public_buckets() == Some(true)
        });
    if all_on {
        lines.push("public access: blocked (kept)".into());
    } else {
        s3.put_public_access_block()
            .bucket(bucket)
            .public_access_block_configuration(
                PublicAccessBlockConfiguration::builder()
                    .block_public_acls(true)
                    .ignore_public_acls(true)
                    .block_public_policy(true)
                    .restrict_public_buckets(true)
                    .build(),
            )
            .send()
            .await
            .map_err(err("blocking public access"))?;
        lines.push("public access: blocked".into());
    }
    if tls_policy {
        let policy = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "FirebreakDenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}}
            }]
        });
        let current = s3
            .get_bucket_policy()
            .bucket(bucket)
            .send()
            .await
            .ok()
            .and_then(|p| p.policy().map(str::to_string));
        let has = current
            .as_deref()
            .is_some_and(|p| p.contains("FirebreakDenyInsecureTransport"));
        if has {
            lines.push("policy: plain-HTTP access refused (kept)".into());
        } else if current.is_some() {
            lines.push("policy: the bucket has its own policy; add a Deny on aws:SecureTransport=false to it by hand (not changed)".into());
        } else {
            s3.put_bucket_policy()
                .bucket(bucket)
                .policy(policy.to_string())
                .send()
                .await
                .map_err(err("setting the bucket policy"))?;
            lines.push("policy: plain-HTTP access refused".into());
        }
    } else {
        lines.push(
            "policy: skipped the plain-HTTP deny (the endpoint is http://, an emulator)".into(),
        );
    }
    Ok(SetupReport { lines })
}
