//! `firebreak run` of the stored-artifact playbooks against moto (issue 13): an EBS snapshot and
//! an AMI that GuardDuty Malware Protection found malware in, each shared with everyone and
//! with another account, are made private and tagged, and kept; a second run changes nothing;
//! a dry run changes nothing.

use serde_json::Value;

use crate::support::{self, Moto, finding_file, run_report, step_of, unique};

const OTHER_ACCOUNT: &str = "111122223333";

/// A new 1 GiB volume; its id.
pub(crate) async fn volume(config: &aws_config::SdkConfig) -> String {
    aws_sdk_ec2::Client::new(config)
        .create_volume()
        .availability_zone("us-east-1a")
        .size(1)
        .send()
        .await
        .unwrap()
        .volume_id()
        .unwrap()
        .to_string()
}

/// Shares a snapshot with everyone and with another account, as malware in one is found.
pub(crate) async fn share_snapshot(config: &aws_config::SdkConfig, snapshot: &str) {
    aws_sdk_ec2::Client::new(config)
        .modify_snapshot_attribute()
        .snapshot_id(snapshot)
        .attribute(aws_sdk_ec2::types::SnapshotAttributeName::CreateVolumePermission)
        .operation_type(aws_sdk_ec2::types::OperationType::Add)
        .group_names("all")
        .user_ids(OTHER_ACCOUNT)
        .send()
        .await
        .unwrap();
}

/// Makes an AMI launchable by everyone and by another account, as malware in one is found.
pub(crate) async fn share_image(config: &aws_config::SdkConfig, image: &str) {
    use aws_sdk_ec2::types::{LaunchPermission, LaunchPermissionModifications, PermissionGroup};
    aws_sdk_ec2::Client::new(config)
        .modify_image_attribute()
        .image_id(image)
        .launch_permission(
            LaunchPermissionModifications::builder()
                .add(
                    LaunchPermission::builder()
                        .group(PermissionGroup::All)
                        .build(),
                )
                .add(LaunchPermission::builder().user_id(OTHER_ACCOUNT).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// A snapshot of a new volume, shared with everyone and with another account; its id.
pub(crate) async fn shared_snapshot(config: &aws_config::SdkConfig) -> String {
    let snapshot = aws_sdk_ec2::Client::new(config)
        .create_snapshot()
        .volume_id(volume(config).await)
        .send()
        .await
        .unwrap()
        .snapshot_id()
        .unwrap()
        .to_string();
    share_snapshot(config, &snapshot).await;
    snapshot
}

/// An AMI registered from a shared snapshot, launchable by everyone and by another account;
/// its id.
pub(crate) async fn shared_image(config: &aws_config::SdkConfig) -> String {
    use aws_sdk_ec2::types::{BlockDeviceMapping, EbsBlockDevice};
    let ec2 = aws_sdk_ec2::Client::new(config);
    let snapshot = shared_snapshot(config).await;
    let image = ec2
        .register_image()
        .name(unique("golden"))
        .root_device_name("/dev/xvda")
        .block_device_mappings(
            BlockDeviceMapping::builder()
                .device_name("/dev/xvda")
                .ebs(EbsBlockDevice::builder().snapshot_id(snapshot).build())
                .build(),
        )
        .send()
        .await
        .unwrap()
        .image_id()
        .unwrap()
        .to_string();
    share_image(config, &image).await;
    image
}

/// The finding GuardDuty gives for malware in the snapshot.
pub(crate) fn snapshot_finding(snapshot: &str) -> std::path::PathBuf {
    finding_file("ec2-malware-snapshot.json", |f| {
        f["id"] = Value::String(unique("finding"));
        f["resource"]["ebsSnapshotDetails"]["snapshotArn"] =
            format!("arn:aws:ec2:us-east-1::snapshot/{snapshot}").into();
    })
}

/// The finding GuardDuty gives for malware in the image.
pub(crate) fn image_finding(image: &str) -> std::path::PathBuf {
    finding_file("ec2-malware-ami.json", |f| {
        f["id"] = Value::String(unique("finding"));
        f["resource"]["ec2ImageDetails"]["imageArn"] =
            format!("arn:aws:ec2:us-east-1::image/{image}").into();
    })
}

async fn snapshot_shares(ec2: &aws_sdk_ec2::Client, snapshot: &str) -> usize {
    ec2.describe_snapshot_attribute()
        .snapshot_id(snapshot)
        .attribute(aws_sdk_ec2::types::SnapshotAttributeName::CreateVolumePermission)
        .send()
        .await
        .unwrap()
        .create_volume_permissions()
        .len()
}

async fn image_shares(ec2: &aws_sdk_ec2::Client, image: &str) -> usize {
    ec2.describe_image_attribute()
        .image_id(image)
        .attribute(aws_sdk_ec2::types::ImageAttributeName::LaunchPermission)
        .send()
        .await
        .unwrap()
        .launch_permissions()
        .len()
}

async fn tag(ec2: &aws_sdk_ec2::Client, id: &str, key: &str) -> Option<String> {
    ec2.describe_tags()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("resource-id")
                .values(id)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .tags()
        .iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
        .map(str::to_string)
}

/// The emulator's state is as `before`.
fn unchanged(moto: &Moto, before: &Value) {
    let mut diffs = Vec::new();
    crate::run_dry::diff("", before, &moto.state(), &mut diffs);
    // A service moto had not served yet appears with no records: the emulator starting a
    // backend, not a change.
    diffs.retain(|d| {
        !d.split_once(": null -> ").is_some_and(|(_, after)| {
            serde_json::from_str::<Value>(after).is_ok_and(|v| {
                v.as_object()
                    .is_some_and(|o| o.values().all(|l| l.as_array().is_some_and(Vec::is_empty)))
            })
        })
    });
    assert!(
        diffs.is_empty(),
        "a dry run changed the emulator: {diffs:#?}"
    );
}

/// The first run changes what it must; the second changes nothing.
fn twice(moto: &Moto, finding: &std::path::Path, playbook: &str) -> Value {
    let first = run_report(moto, finding, playbook, &[]);
    assert_eq!(first["status"], "succeeded", "{first:#}");
    for step in ["make_private", "tag"] {
        let s = step_of(&first, step);
        assert_eq!(s["changed"], true, "{step}: {s}");
    }
    support::run_changes_nothing(moto, finding, playbook);
    first
}

#[tokio::test(flavor = "multi_thread")]
async fn a_snapshot_with_malware_is_made_private_tagged_and_kept() {
    let moto = support::private_moto();
    let config = moto.config().await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let snapshot = shared_snapshot(&config).await;
    let finding = snapshot_finding(&snapshot);

    // A dry run plans the change and makes none.
    let before = moto.state();
    let dry = run_report(&moto, &finding, "ebs-snapshot-malware", &["--dry-run"]);
    assert_eq!(dry["status"], "dry_run", "{dry:#}");
    assert_eq!(snapshot_shares(&ec2, &snapshot).await, 2);
    unchanged(&moto, &before);

    let report = twice(&moto, &finding, "ebs-snapshot-malware");
    assert_eq!(snapshot_shares(&ec2, &snapshot).await, 0);
    assert_eq!(
        tag(&ec2, &snapshot, "firebreak:quarantine")
            .await
            .as_deref(),
        Some("malware")
    );
    // Kept: the snapshot is the evidence.
    ec2.describe_snapshots()
        .snapshot_ids(&snapshot)
        .send()
        .await
        .unwrap();
    // Who could use it is the step's output, for the undo and the ticket.
    let private = step_of(&report, "make_private");
    assert_eq!(
        private["outputs"]["shared_groups"],
        serde_json::json!(["all"])
    );
    assert_eq!(
        private["outputs"]["shared_accounts"],
        serde_json::json!([OTHER_ACCOUNT])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_image_with_malware_is_made_private_tagged_and_kept() {
    let moto = support::private_moto();
    let config = moto.config().await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let image = shared_image(&config).await;
    let finding = image_finding(&image);

    let before = moto.state();
    let dry = run_report(&moto, &finding, "ami-malware", &["--dry-run"]);
    assert_eq!(dry["status"], "dry_run", "{dry:#}");
    assert_eq!(image_shares(&ec2, &image).await, 2);
    unchanged(&moto, &before);

    twice(&moto, &finding, "ami-malware");
    assert_eq!(image_shares(&ec2, &image).await, 0);
    assert_eq!(
        tag(&ec2, &image, "firebreak:quarantine").await.as_deref(),
        Some("malware")
    );
    let images = ec2
        .describe_images()
        .image_ids(&image)
        .send()
        .await
        .unwrap();
    assert_eq!(images.images().len(), 1, "the image is kept");
}
