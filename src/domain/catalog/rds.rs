//! The RDS actions' catalog entries.

use super::specs::{ISOLATION_GROUP, PREVIOUS_GROUPS, out, req, wait};
use super::*;
use crate::domain::define;

const DB_INSTANCE: Param = req(
    "db_instance_id",
    Type::String,
    "RDS database instance identifier",
);

const DB_CLUSTER: Param = req("db_cluster_id", Type::String, "Aurora cluster identifier");

const SNAPSHOT_NAME: Param = req(
    "snapshot_id",
    Type::String,
    "the snapshot's name (letters, digits, hyphens; starts with a letter)",
);

pub(super) const CAPTURE_DB_INSTANCE: &Spec = &Spec {
    name: "rds.capture_db_instance",
    doc: "Record an RDS database instance: its state, engine, master user, VPC, public accessibility and security groups.",
    undo: "",
    effect: Effect::Capture,
    params: &[DB_INSTANCE],
    outputs: &[
        out("db_instance_arn", Type::String, "the instance's ARN"),
        out("status", Type::String, "its status"),
        out(
            "publicly_accessible",
            Type::Boolean,
            "whether it has a public address",
        ),
        out(
            "master_username",
            Type::String,
            "its master user (an unusual login as this user: its password is worth replacing)",
        ),
        out("vpc_id", Type::String, "its VPC"),
        out(
            "security_group_ids",
            Type::StringList,
            "its VPC security groups",
        ),
    ],
    fixed_tags: &[],
    how: How::Defined(&define::rds::CAPTURE_DB_INSTANCE),
};

pub(super) const SNAPSHOT_DB_INSTANCE: &Spec = &Spec {
    name: "rds.snapshot_db_instance",
    doc: "Take a manual snapshot of an RDS database instance under the given name (one per incident).",
    undo: "Once the case is closed: `aws rds delete-db-snapshot --db-snapshot-identifier {snapshot_id}`.",
    effect: Effect::Contain,
    params: &[DB_INSTANCE, SNAPSHOT_NAME],
    outputs: &[],
    fixed_tags: &[],
    how: How::Defined(&define::rds::SNAPSHOT_DB_INSTANCE),
};

pub(super) const SNAPSHOT_DB_CLUSTER: &Spec = &Spec {
    name: "rds.snapshot_db_cluster",
    doc: "Take a manual snapshot of an Aurora database cluster under the given name (one per incident).",
    undo: "Once the case is closed: `aws rds delete-db-cluster-snapshot --db-cluster-snapshot-identifier {snapshot_id}`.",
    effect: Effect::Contain,
    params: &[DB_CLUSTER, SNAPSHOT_NAME],
    outputs: &[],
    fixed_tags: &[],
    how: How::Defined(&define::rds::SNAPSHOT_DB_CLUSTER),
};

pub(super) const ISOLATE_DB_INSTANCE: &Spec = &Spec {
    name: "rds.isolate_db_instance",
    doc: "Replace an RDS database instance's VPC security groups with the isolation group, at once: no connection in or out. Never stops or deletes it.",
    undo: "Once the database is clean: `aws rds modify-db-instance --db-instance-identifier {db_instance_id} --vpc-security-group-ids {previous_security_group_ids} --apply-immediately`.",
    effect: Effect::Contain,
    params: &[DB_INSTANCE, ISOLATION_GROUP],
    outputs: &[PREVIOUS_GROUPS],
    fixed_tags: &[],
    how: How::Defined(&define::rds::ISOLATE_DB_INSTANCE),
};

pub(super) const ISOLATE_DB_CLUSTER: &Spec = &Spec {
    name: "rds.isolate_db_cluster",
    doc: "Replace an Aurora cluster's VPC security groups (its instances') with the isolation group, at once: no connection in or out. Never stops or deletes it.",
    undo: "Once the database is clean: `aws rds modify-db-cluster --db-cluster-identifier {db_cluster_id} --vpc-security-group-ids {previous_security_group_ids} --apply-immediately`.",
    effect: Effect::Contain,
    params: &[DB_CLUSTER, ISOLATION_GROUP],
    outputs: &[PREVIOUS_GROUPS],
    fixed_tags: &[],
    how: How::Defined(&define::rds::ISOLATE_DB_CLUSTER),
};

pub(super) const MAKE_DB_INSTANCE_PRIVATE: &Spec = &Spec {
    name: "rds.make_db_instance_private",
    doc: "Make an RDS database instance not publicly accessible: its DNS name resolves to its private address only. Never stops or deletes it.",
    undo: "Only if it must be reached from the internet: `aws rds modify-db-instance --db-instance-identifier {db_instance_id} --publicly-accessible` (it was publicly accessible: {was_publicly_accessible}).",
    effect: Effect::Contain,
    params: &[
        DB_INSTANCE,
        wait("wait until it reads back not publicly accessible"),
    ],
    outputs: &[out(
        "was_publicly_accessible",
        Type::Boolean,
        "whether it was publicly accessible before",
    )],
    fixed_tags: &[],
    how: How::Defined(&define::rds::MAKE_DB_INSTANCE_PRIVATE),
};

pub(super) const ROTATE_MASTER_PASSWORD: &Spec = &Spec {
    name: "rds.rotate_master_password",
    doc: "Replace an RDS database instance's master password with a new random one that Secrets Manager keeps (opt-in: whatever uses the master user must then read it from there). An instance already managed by Secrets Manager has its secret rotated, which applies the changes pending for the maintenance window too. Done once per finding (a tag says for which); an Aurora instance's password is its cluster's, and is refused (`rds.rotate_cluster_master_password`).",
    undo: "None: the old password is gone. Whatever used the master user reads the new one from the secret in this step's evidence (`aws secretsmanager get-secret-value --secret-id SECRET`).",
    effect: Effect::Contain,
    params: &[
        DB_INSTANCE,
        wait("wait until the instance names the secret"),
    ],
    outputs: &[out(
        "secret_arn",
        Type::String,
        "the Secrets Manager secret that holds the new password",
    )],
    fixed_tags: &[],
    how: How::Defined(&define::rds::ROTATE_MASTER_PASSWORD),
};

pub(super) const ROTATE_CLUSTER_MASTER_PASSWORD: &Spec = &Spec {
    name: "rds.rotate_cluster_master_password",
    doc: "Replace an Aurora cluster's master password, which its instances share, with a new random one that Secrets Manager keeps (opt-in: whatever uses the master user must then read it from there). A cluster already managed by Secrets Manager has its secret rotated, which applies the changes pending for the maintenance window too. Done once per finding (a tag on the cluster says for which).",
    undo: "None: the old password is gone. Whatever used the master user reads the new one from the secret in this step's evidence (`aws secretsmanager get-secret-value --secret-id SECRET`).",
    effect: Effect::Contain,
    params: &[DB_CLUSTER, wait("wait until the cluster names the secret")],
    outputs: &[out(
        "secret_arn",
        Type::String,
        "the Secrets Manager secret that holds the new password",
    )],
    fixed_tags: &[],
    how: How::Defined(&define::rds::ROTATE_CLUSTER_MASTER_PASSWORD),
};
