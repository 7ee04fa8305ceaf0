//! `firebreak run` of the S3 malware playbook against moto (issue 13): an object GuardDuty
//! Malware Protection for S3 found malware in is tagged for quarantine (its other tags kept)
//! and its bucket's policy gains the statement that denies everyone reading objects so tagged
//! (its earlier statement kept); a second run changes nothing; a dry run changes nothing.
//! With a quarantine bucket, the scanned version is copied there first and the copy put under
//! legal hold; a copy that fails does not hold up the quarantine.
//!
//! The emulator runs behind `support::private_emulator`: moto itself authorises
//! every GET of an object (reading its tags included) as `s3:GetObject` and takes the deny's
//! tag condition as holding for every object, so the quarantine would refuse firebreak's own
//! read of the tags there, which S3 allows.

use serde_json::{Value, json};

use crate::support::{self, finding_file, run_report, step_of, unique};

/// A seeded object with malware, in a versioned bucket that has a policy.
pub(crate) struct Upload {
    pub bucket: String,
    pub key: String,
    pub version: String,
    /// The bucket policy's statement before.
    pub earlier: Value,
}

pub(crate) async fn upload(config: &aws_config::SdkConfig) -> Upload {
    let s3 = firebreak::aws::s3_client(config);
    let bucket = unique("uploads");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    s3.put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let earlier = json!({
        "Sid": "PartnerUpload",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
        "Action": "s3:PutObject",
        "Resource": format!("arn:aws:s3:::{bucket}/inbox/*"),
    });
    s3.put_bucket_policy()
        .bucket(&bucket)
        .policy(json!({"Version": "2012-10-17", "Statement": [earlier]}).to_string())
        .send()
        .await
        .unwrap();
    let key = "inbox/invoice.pdf.exe".to_string();
    let version = s3
        .put_object()
        .bucket(&bucket)
        .key(&key)
        .body(aws_sdk_s3::primitives::ByteStream::from_static(
            b"stands for an object with malware",
        ))
        .tagging("team=billing")
        .send()
        .await
        .unwrap()
        .version_id()
        .unwrap()
        .to_string();
    Upload {
        bucket,
        key,
        version,
        earlier,
    }
}

/// The finding GuardDuty gives for the upload.
pub(crate) fn finding(u: &Upload) -> std::path::PathBuf {
    finding_file("s3-malware-object.json", |f| about(u, f))
}

/// A Malware Protection for S3 finding made about the upload.
pub(crate) fn about(u: &Upload, f: &mut Value) {
    f["id"] = Value::String(unique("finding"));
    let b = &mut f["resource"]["s3BucketDetails"][0];
    b["name"] = u.bucket.clone().into();
    b["arn"] = format!("arn:aws:s3:::{}", u.bucket).into();
    let o = &mut b["s3ObjectDetails"][0];
    o["key"] = u.key.clone().into();
    o["versionId"] = u.version.clone().into();
    o["objectArn"] = format!("arn:aws:s3:::{}/{}", u.bucket, u.key).into();
}

/// The statement the quarantine adds to the bucket's policy.
pub(crate) fn quarantine_statement(bucket: &str) -> Value {
    json!({
        "Effect": "Deny",
        "Principal": "*",
        "Action": [
            "s3:GetObject",
            "s3:GetObjectVersion",
            "s3:PutObjectTagging",
            "s3:PutObjectVersionTagging",
            "s3:DeleteObjectTagging",
            "s3:DeleteObjectVersionTagging"
        ],
        "Resource": format!("arn:aws:s3:::{bucket}/*"),
        "Condition": {"StringEquals": {"s3:ExistingObjectTag/firebreak:quarantine": "true"}},
    })
}

/// The object version's tags and the bucket policy's statements.
pub(crate) async fn end_state(config: &aws_config::SdkConfig, u: &Upload) -> Value {
    let s3 = firebreak::aws::s3_client(config);
    let tags: Vec<Value> = s3
        .get_object_tagging()
        .bucket(&u.bucket)
        .key(&u.key)
        .version_id(&u.version)
        .send()
        .await
        .unwrap()
        .tag_set()
        .iter()
        .map(|t| json!({"Key": t.key(), "Value": t.value()}))
        .collect();
    let policy = s3
        .get_bucket_policy()
        .bucket(&u.bucket)
        .send()
        .await
        .unwrap();
    let policy: Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    json!({"tags": tags, "statements": policy["Statement"]})
}

/// What a quarantined upload reads back as.
pub(crate) fn quarantined(u: &Upload) -> Value {
    json!({
        "tags": [{"Key": "team", "Value": "billing"}, {"Key": "firebreak:quarantine", "Value": "true"}],
        "statements": [u.earlier, quarantine_statement(&u.bucket)],
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn an_object_with_malware_is_quarantined_and_kept() {
    let moto = support::private_emulator();
    let config = moto.config().await;
    let u = upload(&config).await;
    let finding = finding(&u);
    let before = json!({
        "tags": [{"Key": "team", "Value": "billing"}],
        "statements": [u.earlier],
    });
    assert_eq!(end_state(&config, &u).await, before);

    let dry = run_report(&moto, &finding, "s3-malware-object", &["--dry-run"]);
    assert_eq!(dry["status"], "dry_run", "{dry:#}");
    assert_eq!(end_state(&config, &u).await, before, "a dry run changed it");

    let report = run_report(&moto, &finding, "s3-malware-object", &[]);
    assert_eq!(report["status"], "succeeded", "{report:#}");
    let step = step_of(&report, "quarantine_object");
    assert_eq!(step["changed"], true, "{step:#}");
    assert_eq!(
        step["pre_state"]["others"],
        json!([{"Key": "team", "Value": "billing"}]),
        "the tags before are in the evidence: {step:#}"
    );
    assert_eq!(end_state(&config, &u).await, quarantined(&u));

    let again = run_report(&moto, &finding, "s3-malware-object", &[]);
    let step = step_of(&again, "quarantine_object");
    assert_eq!(step["status"], "succeeded", "{step:#}");
    assert_eq!(step["changed"], false, "{step:#}");
    assert_eq!(end_state(&config, &u).await, quarantined(&u));

    // The deny holds for the quarantined object, and for no other.
    let s3 = firebreak::aws::s3_client(&config);
    let read = s3.get_object().bucket(&u.bucket).key(&u.key).send().await;
    assert!(read.is_err(), "the quarantined object can still be read");
    s3.put_object()
        .bucket(&u.bucket)
        .key("inbox/clean.txt")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"clean"))
        .send()
        .await
        .unwrap();
    s3.get_object()
        .bucket(&u.bucket)
        .key("inbox/clean.txt")
        .send()
        .await
        .expect("an object not quarantined is read as before");
}

/// A bucket made with Object Lock, for the copies; its name.
async fn quarantine_bucket(config: &aws_config::SdkConfig, locked: bool) -> String {
    let s3 = firebreak::aws::s3_client(config);
    let name = unique("quarantine");
    s3.create_bucket()
        .bucket(&name)
        .object_lock_enabled_for_bucket(locked)
        .send()
        .await
        .unwrap();
    name
}

/// The copies in a quarantine bucket: key, body and legal hold of each version.
async fn copies(config: &aws_config::SdkConfig, bucket: &str) -> Vec<Value> {
    let s3 = firebreak::aws::s3_client(config);
    let versions = s3
        .list_object_versions()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let mut out = Vec::new();
    for v in versions.versions() {
        let (key, version) = (v.key().unwrap(), v.version_id().unwrap());
        let body = s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .version_id(version)
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes();
        let hold = s3
            .get_object_legal_hold()
            .bucket(bucket)
            .key(key)
            .version_id(version)
            .send()
            .await
            .ok()
            .and_then(|h| {
                h.legal_hold()
                    .and_then(|h| h.status().map(|s| s.as_str().to_string()))
            });
        out.push(json!({"key": key, "body": String::from_utf8_lossy(&body), "hold": hold}));
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn with_a_quarantine_bucket_the_version_is_copied_under_legal_hold_first() {
    let moto = support::private_emulator();
    let config = moto.config().await;
    let u = upload(&config).await;
    let q = quarantine_bucket(&config, true).await;
    // A later upload under the same key: the copy is of the version scanned, not the latest.
    let s3 = firebreak::aws::s3_client(&config);
    s3.put_object()
        .bucket(&u.bucket)
        .key(&u.key)
        .body(aws_sdk_s3::primitives::ByteStream::from_static(
            b"a later upload",
        ))
        .send()
        .await
        .unwrap();
    let finding_path = finding(&u);
    let id: Value = serde_json::from_slice(&std::fs::read(&finding_path).unwrap()).unwrap();
    let id = id["id"].as_str().unwrap().to_string();
    let input = format!("quarantine_bucket={q}");

    let dry = run_report(
        &moto,
        &finding_path,
        "s3-malware-object",
        &["--dry-run", "--input", &input],
    );
    assert_eq!(dry["status"], "dry_run", "{dry:#}");
    assert!(copies(&config, &q).await.is_empty(), "a dry run copied");

    let report = run_report(
        &moto,
        &finding_path,
        "s3-malware-object",
        &["--input", &input],
    );
    assert_eq!(report["status"], "succeeded", "{report:#}");
    let copy = step_of(&report, "copy_to_quarantine");
    assert_eq!(copy["changed"], true, "{copy:#}");
    assert!(
        copy["outputs"]["copy_version_id"]
            .as_str()
            .is_some_and(|v| !v.is_empty()),
        "{copy:#}"
    );
    let want = json!([{
        "key": format!("{id}/{}/{}", u.bucket, u.key),
        "body": "stands for an object with malware",
        "hold": "ON",
    }]);
    assert_eq!(json!(copies(&config, &q).await), want);
    assert_eq!(end_state(&config, &u).await, quarantined(&u));

    // A second run: the copy is there under legal hold, and the object quarantined.
    support::run_changes_nothing_with(
        &moto,
        &finding_path,
        "s3-malware-object",
        &["--input", &input],
    );
    assert_eq!(json!(copies(&config, &q).await), want);
    // And nobody deletes the copy while the hold stands.
    let held = s3
        .delete_object()
        .bucket(&q)
        .key(format!("{id}/{}/{}", u.bucket, u.key))
        .version_id(copy["outputs"]["copy_version_id"].as_str().unwrap())
        .send()
        .await;
    assert!(held.is_err(), "a copy under legal hold was deleted");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_copy_that_cannot_be_made_does_not_hold_up_the_quarantine() {
    let moto = support::private_emulator();
    let config = moto.config().await;
    let u = upload(&config).await;
    // A bucket without Object Lock: the copy could not be put under legal hold.
    let q = quarantine_bucket(&config, false).await;
    let input = format!("quarantine_bucket={q}");
    let finding = finding(&u);
    let report = partial(&moto, &finding, &input);
    let copy = step_of(&report, "copy_to_quarantine");
    assert_eq!(copy["status"], "failed", "{copy:#}");
    assert_eq!(copy["error_code"], "QuarantineBucketNotLocked", "{copy:#}");
    assert!(copies(&config, &q).await.is_empty(), "copied anyway");
    let quarantine = step_of(&report, "quarantine_object");
    assert_eq!(quarantine["status"], "succeeded", "{quarantine:#}");
    assert_eq!(end_state(&config, &u).await, quarantined(&u));

    // Given a locked bucket later, the object quarantined already cannot be read to copy:
    // refused, with what to do.
    let locked = quarantine_bucket(&config, true).await;
    let input = format!("quarantine_bucket={locked}");
    let again = partial(&moto, &finding, &input);
    let copy = step_of(&again, "copy_to_quarantine");
    assert_eq!(copy["error_code"], "AlreadyQuarantined", "{copy:#}");
    assert!(copies(&config, &locked).await.is_empty());
}

/// A run of the playbook in which a step fails: the report, and its exit code that says so.
fn partial(moto: &support::Moto, finding: &std::path::Path, input: &str) -> Value {
    let out = moto.firebreak(&[
        "run",
        "--output",
        "json",
        "--input",
        input,
        finding.to_str().unwrap(),
    ]);
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", support::stderr(&out)));
    assert_eq!(report["status"], "partial", "{report:#}");
    assert_ne!(out.status.code(), Some(0), "a failed step exits 0");
    report
}
