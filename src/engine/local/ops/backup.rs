//! AWS Backup calls: a recovery point, its tags, and its vault's access policy. (A dry run never reaches
//! a Backup change: AWS Backup has no `DryRun`.)

use serde_json::{Value, json};

use super::{Req, elsewhere, missing, text};
use crate::domain::define::Op;
use crate::domain::step::StepError;

/// Makes the call `q` asks for.
pub(super) async fn call(q: &Req<'_, '_>) -> Result<Value, StepError> {
    let args = q.args;
    match q.op {
        Op::BackupDescribeRecoveryPoint => {
            let r = send!(
                q,
                backup
                    .describe_recovery_point()
                    .backup_vault_name(text(args, "BackupVaultName")?)
                    .recovery_point_arn(text(args, "RecoveryPointArn")?)
            );
            Ok(json!({
                "RecoveryPointArn": r.recovery_point_arn(),
                "BackupVaultName": r.backup_vault_name(),
                "BackupVaultArn": r.backup_vault_arn(),
                "ResourceArn": r.resource_arn(),
                "ResourceType": r.resource_type(),
                "Status": r.status().map(|s| s.as_str()),
                "CreationDate": r.creation_date().map(|t| t.to_string()),
                "IamRoleArn": r.iam_role_arn(),
            }))
        }
        Op::BackupGetBackupVaultAccessPolicy => {
            let r = send!(
                q,
                backup
                    .get_backup_vault_access_policy()
                    .backup_vault_name(text(args, "BackupVaultName")?)
            );
            Ok(json!({"Policy": r.policy()}))
        }
        Op::BackupPutBackupVaultAccessPolicy => {
            send!(
                q,
                backup
                    .put_backup_vault_access_policy()
                    .backup_vault_name(text(args, "BackupVaultName")?)
                    .policy(text(args, "Policy")?)
            );
            Ok(json!({}))
        }
        Op::BackupListTags => {
            let r = send!(
                q,
                backup.list_tags().resource_arn(text(args, "ResourceArn")?)
            );
            Ok(json!({"Tags": r.tags()}))
        }
        Op::BackupTagResource => {
            let tags = args
                .get("Tags")
                .and_then(Value::as_object)
                .ok_or_else(|| missing("Tags"))?
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect();
            send!(
                q,
                backup
                    .tag_resource()
                    .resource_arn(text(args, "ResourceArn")?)
                    .set_tags(Some(tags))
            );
            Ok(json!({}))
        }
        other => Err(elsewhere(other)),
    }
}
