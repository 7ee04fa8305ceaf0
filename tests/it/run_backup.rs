//! `firebreak run` of the malware-artifact playbook on the emulator (issue 13): a recovery
//! point that GuardDuty Malware Protection for Backup found malware in is recorded, and its
//! vault's access policy gains the statement that denies everyone restoring, copying or
//! deleting it or changing its lifecycle (the policy's earlier statement kept); an EBS
//! recovery point, which is an EBS snapshot, is also made private and tagged through EC2, one
//! with AWS Backup's own ARN tagged through AWS Backup; a
//! second run changes nothing; a dry run changes nothing.
//!
//! moto 5.2.5 has AWS Backup's vaults but neither recovery points nor vault access policies:
//! the emulator's stand-in (`scripts/emulator/backup_points.py`, written from AWS Backup's API
//! reference) serves them. The finding's shape (`recoveryPointDetails`) is GuardDuty's API
//! reference's; no public sample of this finding type was found.

use serde_json::{Value, json};

use crate::support::{self, finding_file, run_report, step_of, unique};

/// A recovery point in a vault whose access policy has a statement of its own.
pub(crate) struct Point {
    pub vault: String,
    pub arn: String,
    pub earlier: Value,
}

/// What a recovery point backs up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Of {
    /// An EBS volume: the recovery point is an EBS snapshot, shared with everyone and another
    /// account, as malware in one is found.
    Volume,
    /// An EC2 instance: the recovery point is an AMI, launchable by everyone and another account.
    Instance,
    /// An S3 bucket: AWS Backup's own ARN.
    Bucket,
}

/// A recovery point of a new resource.
pub(crate) async fn recovery_point(config: &aws_config::SdkConfig, of: Of) -> Point {
    let backup = aws_sdk_backup::Client::new(config);
    let vault = unique("backups");
    backup
        .create_backup_vault()
        .backup_vault_name(&vault)
        .send()
        .await
        .unwrap();
    let earlier = json!({
        "Sid": "KeepTheVault",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "backup:DeleteBackupVault",
        "Resource": "*",
    });
    backup
        .put_backup_vault_access_policy()
        .backup_vault_name(&vault)
        .policy(json!({"Version": "2012-10-17", "Statement": [earlier]}).to_string())
        .send()
        .await
        .unwrap();
    let resource = match of {
        Of::Volume => format!(
            "arn:aws:ec2:us-east-1:123456789012:volume/{}",
            crate::run_artifact::volume(config).await
        ),
        Of::Instance => format!(
            "arn:aws:ec2:us-east-1:123456789012:instance/{}",
            support::instance(config).await
        ),
        Of::Bucket => format!("arn:aws:s3:::{}", unique("records")),
    };
    let arn = backup
        .start_backup_job()
        .backup_vault_name(&vault)
        .resource_arn(resource)
        .iam_role_arn("arn:aws:iam::123456789012:role/service-role/AWSBackupDefaultServiceRole")
        .send()
        .await
        .unwrap()
        .recovery_point_arn()
        .unwrap()
        .to_string();
    // Shared, as malware in one is found.
    if let Some(snapshot) = arn.strip_prefix("arn:aws:ec2:us-east-1::snapshot/") {
        crate::run_artifact::share_snapshot(config, snapshot).await;
    }
    if let Some(image) = arn.strip_prefix("arn:aws:ec2:us-east-1::image/") {
        crate::run_artifact::share_image(config, image).await;
    }
    Point {
        vault,
        arn,
        earlier,
    }
}

/// The finding GuardDuty gives for the recovery point.
pub(crate) fn point_finding(p: &Point) -> std::path::PathBuf {
    finding_file("ec2-malware-recovery-point.json", |f| {
        f["id"] = Value::String(unique("finding"));
        let d = &mut f["resource"]["recoveryPointDetails"];
        d["recoveryPointArn"] = p.arn.clone().into();
        d["backupVaultName"] = p.vault.clone().into();
    })
}

/// The statement the quarantine adds to the vault's access policy.
fn quarantine_statement(arn: &str) -> Value {
    json!({
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": [
            "backup:DeleteRecoveryPoint",
            "backup:StartCopyJob",
            "backup:StartRestoreJob",
            "backup:UpdateRecoveryPointLifecycle"
        ],
        "Resource": arn,
    })
}

/// The vault policy's statements, and, for an EBS recovery point, who may make a volume of
/// the snapshot and its quarantine tag.
async fn end_state(config: &aws_config::SdkConfig, p: &Point) -> Value {
    let policy = aws_sdk_backup::Client::new(config)
        .get_backup_vault_access_policy()
        .backup_vault_name(&p.vault)
        .send()
        .await
        .unwrap();
    let policy: Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    let mut state = json!({"statements": policy["Statement"]});
    if let Some(snapshot) = p.arn.strip_prefix("arn:aws:ec2:us-east-1::snapshot/") {
        let ec2 = aws_sdk_ec2::Client::new(config);
        let shares = ec2
            .describe_snapshot_attribute()
            .snapshot_id(snapshot)
            .attribute(aws_sdk_ec2::types::SnapshotAttributeName::CreateVolumePermission)
            .send()
            .await
            .unwrap()
            .create_volume_permissions()
            .len();
        let tags = ec2
            .describe_snapshots()
            .snapshot_ids(snapshot)
            .send()
            .await
            .unwrap();
        let quarantine = tags.snapshots()[0]
            .tags()
            .iter()
            .find(|t| t.key() == Some("firebreak:quarantine"))
            .and_then(|t| t.value())
            .map(str::to_string);
        state["snapshot_shares"] = shares.into();
        state["snapshot_quarantine"] = json!(quarantine);
    }
    state
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ebs_recovery_point_with_malware_is_quarantined_made_private_and_kept() {
    let moto = support::private_emulator();
    let config = moto.config().await;
    let p = recovery_point(&config, Of::Volume).await;
    let finding = point_finding(&p);
    let before =
        json!({"statements": [p.earlier], "snapshot_shares": 2, "snapshot_quarantine": null});
    assert_eq!(end_state(&config, &p).await, before);

    let dry = run_report(&moto, &finding, "malware-artifact", &["--dry-run"]);
    assert_eq!(dry["status"], "dry_run", "{dry:#}");
    assert_eq!(end_state(&config, &p).await, before, "a dry run changed it");

    let report = run_report(&moto, &finding, "malware-artifact", &[]);
    assert_eq!(report["status"], "succeeded", "{report:#}");
    let capture = step_of(&report, "capture_recovery_point");
    assert_eq!(capture["outputs"]["resource_type"], "EBS", "{capture:#}");
    assert!(
        capture["outputs"]["resource_arn"]
            .as_str()
            .is_some_and(|a| a.contains(":volume/")),
        "{capture:#}"
    );
    assert_eq!(
        step_of(&report, "quarantine_recovery_point")["changed"],
        true
    );
    for skipped in ["make_image_private", "tag_image", "tag_recovery_point"] {
        assert_eq!(step_of(&report, skipped)["status"], "skipped", "{skipped}");
    }
    let contained = json!({
        "statements": [p.earlier, quarantine_statement(&p.arn)],
        "snapshot_shares": 0,
        "snapshot_quarantine": "malware",
    });
    assert_eq!(end_state(&config, &p).await, contained);

    support::run_changes_nothing(&moto, &finding, "malware-artifact");
    assert_eq!(end_state(&config, &p).await, contained);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_s3_recovery_point_is_quarantined_in_its_vault_and_a_missing_one_fails() {
    let moto = support::private_emulator();
    let config = moto.config().await;
    let p = recovery_point(&config, Of::Bucket).await;
    let finding = finding_file("ec2-malware-recovery-point.json", |f| {
        f["id"] = Value::String(unique("finding"));
        f["type"] = "Execution:S3/MaliciousFile!RecoveryPoint".into();
        let d = &mut f["resource"]["recoveryPointDetails"];
        d["recoveryPointArn"] = p.arn.clone().into();
        d["backupVaultName"] = p.vault.clone().into();
    });
    let report = run_report(&moto, &finding, "malware-artifact", &[]);
    assert_eq!(report["status"], "succeeded", "{report:#}");
    assert_eq!(
        step_of(&report, "capture_recovery_point")["outputs"]["resource_type"],
        "S3"
    );
    // AWS Backup's own ARN: no snapshot or image to make private.
    for skipped in [
        "make_snapshot_private",
        "tag_snapshot",
        "make_image_private",
        "tag_image",
    ] {
        assert_eq!(step_of(&report, skipped)["status"], "skipped", "{skipped}");
    }
    assert_eq!(
        end_state(&config, &p).await,
        json!({"statements": [p.earlier, quarantine_statement(&p.arn)]})
    );
    // Tagged through AWS Backup, with the finding.
    assert_eq!(step_of(&report, "tag_recovery_point")["changed"], true);
    let tags = aws_sdk_backup::Client::new(&config)
        .list_tags()
        .resource_arn(&p.arn)
        .send()
        .await
        .unwrap();
    let tags = tags.tags().cloned().unwrap_or_default();
    assert_eq!(
        tags.get("firebreak:quarantine").map(String::as_str),
        Some("malware")
    );
    assert_eq!(
        tags.get("firebreak:finding-id"),
        report["finding_id"].as_str().map(str::to_string).as_ref()
    );
    support::run_changes_nothing(&moto, &finding, "malware-artifact");

    // A recovery point the vault does not have: the capture fails, nothing is changed.
    let missing = Point {
        vault: p.vault.clone(),
        arn: format!("{}-gone", p.arn),
        earlier: Value::Null,
    };
    let out = moto.firebreak(&[
        "run",
        "--output",
        "json",
        point_finding(&missing).to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", support::stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let capture = step_of(&report, "capture_recovery_point");
    assert_eq!(
        capture["error_code"], "ResourceNotFoundException",
        "{capture:#}"
    );
    assert_eq!(
        step_of(&report, "quarantine_recovery_point")["status"],
        "skipped"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ec2_recovery_point_s_ami_is_made_private_and_tagged() {
    let moto = support::private_emulator();
    let config = moto.config().await;
    let p = recovery_point(&config, Of::Instance).await;
    let image = p
        .arn
        .strip_prefix("arn:aws:ec2:us-east-1::image/")
        .expect("an AMI's ARN")
        .to_string();
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let report = run_report(&moto, &point_finding(&p), "malware-artifact", &[]);
    assert_eq!(report["status"], "succeeded", "{report:#}");
    for step in [
        "quarantine_recovery_point",
        "make_image_private",
        "tag_image",
    ] {
        assert_eq!(step_of(&report, step)["changed"], true, "{step}");
    }
    for skipped in ["make_snapshot_private", "tag_snapshot"] {
        assert_eq!(step_of(&report, skipped)["status"], "skipped", "{skipped}");
    }
    let shares = ec2
        .describe_image_attribute()
        .image_id(&image)
        .attribute(aws_sdk_ec2::types::ImageAttributeName::LaunchPermission)
        .send()
        .await
        .unwrap()
        .launch_permissions()
        .len();
    assert_eq!(shares, 0, "the AMI can still be launched by others");
}
