//! RDS calls: a database instance, its security groups, its master password and tags, and its
//! (cluster's) snapshots. (A dry
//! run never reaches an RDS change: RDS has no `DryRun`.)

use serde_json::{Value, json};

use super::{Req, each, elsewhere, text};
use crate::domain::define::Op;
use crate::domain::step::StepError;

/// Makes the call `q` asks for.
pub(super) async fn call(q: &Req<'_, '_>) -> Result<Value, StepError> {
    let args = q.args;
    match q.op {
        Op::RdsDescribeDbInstances => {
            let r = send!(
                q,
                rds.describe_db_instances()
                    .db_instance_identifier(text(args, "DBInstanceIdentifier")?)
            );
            let instances = each(r.db_instances(), |i| {
                json!({
                    "DBInstanceIdentifier": i.db_instance_identifier(),
                    "DBInstanceArn": i.db_instance_arn(),
                    "DBInstanceStatus": i.db_instance_status(),
                    "Engine": i.engine(),
                    "PubliclyAccessible": i.publicly_accessible(),
                    "MasterUsername": i.master_username(),
                    "MasterUserSecret": i.master_user_secret().map(|s| json!({
                        "SecretArn": s.secret_arn(),
                        "SecretStatus": s.secret_status(),
                    })),
                    "DBClusterIdentifier": i.db_cluster_identifier(),
                    "DBSubnetGroup": i.db_subnet_group().map(|g| json!({
                        "DBSubnetGroupName": g.db_subnet_group_name(),
                        "VpcId": g.vpc_id(),
                    })),
                    "VpcSecurityGroups": each(i.vpc_security_groups(), |g| json!({
                        "VpcSecurityGroupId": g.vpc_security_group_id(),
                        "Status": g.status(),
                    })),
                })
            });
            Ok(json!({"DBInstances": instances}))
        }
        Op::RdsModifyDbInstance => {
            let groups = texts_of(args, "VpcSecurityGroupIds");
            send!(
                q,
                rds.modify_db_instance()
                    .db_instance_identifier(text(args, "DBInstanceIdentifier")?)
                    .set_vpc_security_group_ids((!groups.is_empty()).then_some(groups))
                    .set_publicly_accessible(
                        args.get("PubliclyAccessible").and_then(Value::as_bool)
                    )
                    .set_apply_immediately(flag(args, "ApplyImmediately"))
                    .set_manage_master_user_password(flag(args, "ManageMasterUserPassword"))
                    .set_rotate_master_user_password(flag(args, "RotateMasterUserPassword"))
            );
            Ok(json!({}))
        }
        Op::RdsAddTagsToResource => {
            let tags = args
                .get("Tags")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|t| {
                    aws_sdk_rds::types::Tag::builder()
                        .set_key(t.get("Key").and_then(Value::as_str).map(str::to_string))
                        .set_value(t.get("Value").and_then(Value::as_str).map(str::to_string))
                        .build()
                })
                .collect();
            send!(
                q,
                rds.add_tags_to_resource()
                    .resource_name(text(args, "ResourceName")?)
                    .set_tags(Some(tags))
            );
            Ok(json!({}))
        }
        Op::RdsListTagsForResource => {
            let r = send!(
                q,
                rds.list_tags_for_resource()
                    .resource_name(text(args, "ResourceName")?)
            );
            let tags = each(
                r.tag_list(),
                |t| json!({"Key": t.key(), "Value": t.value()}),
            );
            Ok(json!({"TagList": tags}))
        }
        Op::RdsDescribeDbSnapshots => {
            let r = send!(
                q,
                rds.describe_db_snapshots()
                    .db_snapshot_identifier(text(args, "DBSnapshotIdentifier")?)
            );
            let snapshots = each(r.db_snapshots(), |s| {
                json!({
                    "DBSnapshotIdentifier": s.db_snapshot_identifier(),
                    "DBInstanceIdentifier": s.db_instance_identifier(),
                    "Status": s.status(),
                })
            });
            Ok(json!({"DBSnapshots": snapshots}))
        }
        Op::RdsCreateDbSnapshot => {
            let r = send!(
                q,
                rds.create_db_snapshot()
                    .db_instance_identifier(text(args, "DBInstanceIdentifier")?)
                    .db_snapshot_identifier(text(args, "DBSnapshotIdentifier")?)
            );
            Ok(json!({"DBSnapshot": {
                "DBSnapshotIdentifier": r.db_snapshot().and_then(|s| s.db_snapshot_identifier()),
                "Status": r.db_snapshot().and_then(|s| s.status()),
            }}))
        }
        Op::RdsDescribeDbClusterSnapshots => {
            let r = send!(
                q,
                rds.describe_db_cluster_snapshots()
                    .db_cluster_snapshot_identifier(text(args, "DBClusterSnapshotIdentifier")?)
            );
            let snapshots = each(r.db_cluster_snapshots(), |s| {
                json!({
                    "DBClusterSnapshotIdentifier": s.db_cluster_snapshot_identifier(),
                    "DBClusterIdentifier": s.db_cluster_identifier(),
                    "Status": s.status(),
                })
            });
            Ok(json!({"DBClusterSnapshots": snapshots}))
        }
        Op::RdsCreateDbClusterSnapshot => {
            let r = send!(
                q,
                rds.create_db_cluster_snapshot()
                    .db_cluster_identifier(text(args, "DBClusterIdentifier")?)
                    .db_cluster_snapshot_identifier(text(args, "DBClusterSnapshotIdentifier")?)
            );
            let s = r.db_cluster_snapshot();
            Ok(json!({"DBClusterSnapshot": {
                "DBClusterSnapshotIdentifier": s.and_then(|s| s.db_cluster_snapshot_identifier()),
                "Status": s.and_then(|s| s.status()),
            }}))
        }
        Op::RdsDescribeDbClusters => {
            let r = send!(
                q,
                rds.describe_db_clusters()
                    .db_cluster_identifier(text(args, "DBClusterIdentifier")?)
            );
            let clusters = each(r.db_clusters(), |c| {
                json!({
                    "DBClusterIdentifier": c.db_cluster_identifier(),
                    "DBClusterArn": c.db_cluster_arn(),
                    "Status": c.status(),
                    "MasterUserSecret": c.master_user_secret().map(|s| json!({
                        "SecretArn": s.secret_arn(),
                    })),
                    "Engine": c.engine(),
                    "VpcSecurityGroups": each(c.vpc_security_groups(), |g| json!({
                        "VpcSecurityGroupId": g.vpc_security_group_id(),
                        "Status": g.status(),
                    })),
                })
            });
            Ok(json!({"DBClusters": clusters}))
        }
        Op::RdsModifyDbCluster => {
            let groups = texts_of(args, "VpcSecurityGroupIds");
            send!(
                q,
                rds.modify_db_cluster()
                    .db_cluster_identifier(text(args, "DBClusterIdentifier")?)
                    .set_vpc_security_group_ids((!groups.is_empty()).then_some(groups))
                    .set_apply_immediately(flag(args, "ApplyImmediately"))
                    .set_manage_master_user_password(flag(args, "ManageMasterUserPassword"))
                    .set_rotate_master_user_password(flag(args, "RotateMasterUserPassword"))
            );
            Ok(json!({}))
        }
        other => Err(elsewhere(other)),
    }
}

/// A boolean member, if given.
fn flag(args: &serde_json::Map<String, Value>, member: &str) -> Option<bool> {
    args.get(member).and_then(Value::as_bool)
}

/// A list of text members (empty when missing).
fn texts_of(args: &serde_json::Map<String, Value>, member: &str) -> Vec<String> {
    args.get(member)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}
