//! The AWS Backup actions' catalog entries.

use super::specs::{out, req};
use super::*;
use crate::domain::define;

const VAULT: Param = req(
    "vault",
    Type::String,
    "the backup vault that holds the recovery point",
);

const RECOVERY_POINT: Param = req(
    "recovery_point_arn",
    Type::String,
    "the recovery point's ARN (AWS Backup's own, or the EBS snapshot's or AMI's for EC2 and EBS)",
);

pub(super) const CAPTURE_RECOVERY_POINT: &Spec = &Spec {
    name: "backup.capture_recovery_point",
    doc: "Record an AWS Backup recovery point (what it backs up, its type, status and lifecycle) and its vault's access policy.",
    undo: "",
    effect: Effect::Capture,
    params: &[VAULT, RECOVERY_POINT],
    outputs: &[
        out("resource_arn", Type::String, "the resource it backs up"),
        out("resource_type", Type::String, "EBS, EC2, S3, …"),
        out("status", Type::String, "COMPLETED, PARTIAL, …"),
    ],
    fixed_tags: &[],
    how: How::Defined(&define::backup::CAPTURE_RECOVERY_POINT),
};

pub(super) const QUARANTINE_RECOVERY_POINT: &Spec = &Spec {
    name: "backup.quarantine_recovery_point",
    doc: "Quarantine a recovery point with malware: one statement added to its vault's access policy (every existing statement kept) that denies everyone restoring it, copying it, deleting it or changing its lifecycle through AWS Backup. An EBS snapshot's or AMI's recovery point stays usable through EC2's own calls: the playbook makes it private there.",
    undo: "Once the case is closed, remove the statement that denies restoring {recovery_point_arn} from the access policy of vault {vault} (`aws backup get-backup-vault-access-policy`, edit, `put-backup-vault-access-policy`; the policy before is in this step's evidence, pre_state), then delete the recovery point or keep it.",
    effect: Effect::Contain,
    params: &[VAULT, RECOVERY_POINT],
    outputs: &[],
    fixed_tags: &[],
    how: How::Defined(&define::backup::QUARANTINE_RECOVERY_POINT),
};

pub(super) const TAG_RECOVERY_POINT: &Spec = &Spec {
    name: "backup.tag_recovery_point",
    doc: "Tag a recovery point that has AWS Backup's own ARN `firebreak:quarantine=malware`, with the finding's id (its other tags kept). An EBS snapshot's or AMI's recovery point is tagged through EC2 (`ec2.tag_snapshot`, `ec2.tag_image`).",
    undo: "`aws backup untag-resource --resource-arn {recovery_point_arn} --tag-key-list firebreak:quarantine firebreak:finding-id` once the case is closed.",
    effect: Effect::Contain,
    params: &[VAULT, RECOVERY_POINT],
    outputs: &[],
    fixed_tags: &[],
    how: How::Defined(&define::backup::TAG_RECOVERY_POINT),
};
