//! The drill's recovery point: an AWS Backup recovery point of a new EBS volume (an EBS
//! snapshot, shared with everyone as malware in one is found) in a vault of its own, made with
//! a role AWS Backup assumes; its read-back and removal. On AWS a backup job takes minutes:
//! the drill waits for it.

use std::time::Duration;

use anyhow::{Context, Result};

use super::{Aws, Target, sdk};

/// The longest the drill waits for the recovery point, or for the vault to be empty.
const WAIT: Duration = Duration::from_secs(20 * 60);

/// AWS's managed policy that lets AWS Backup back resources up.
const BACKUP_POLICY: &str =
    "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup";

impl Aws {
    /// Builds the recovery point target.
    pub(super) async fn recovery_point(&self, t: &mut Target, name: &str) -> Result<()> {
        let role = self
            .drill_role(name, r#"{"Service":"backup.amazonaws.com"}"#)
            .await?;
        self.iam
            .attach_role_policy()
            .role_name(name)
            .policy_arn(BACKUP_POLICY)
            .send()
            .await
            .map_err(sdk("giving the drill's backup role AWS Backup's policy"))?;
        self.backup
            .create_backup_vault()
            .backup_vault_name(name)
            .backup_vault_tags("firebreak:drill", "true")
            .send()
            .await
            .map_err(sdk("creating the drill vault"))?;
        // Named before the backup: a lost answer still gets the vault and role removed.
        t.recovery_point = Some((name.to_string(), String::new(), name.to_string()));
        let volume = self
            .ec2
            .create_volume()
            .availability_zone(format!("{}a", self.region))
            .size(1)
            .tag_specifications(super::targets::drill_tags(
                aws_sdk_ec2::types::ResourceType::Volume,
                name,
            ))
            .send()
            .await
            .map_err(sdk("creating the drill volume"))?
            .volume_id()
            .map(str::to_string)
            .context("CreateVolume returned no id")?;
        t.volume = Some(volume.clone());
        let resource = format!(
            "arn:aws:ec2:{}:{}:volume/{volume}",
            self.region, self.account
        );
        // A new role takes a while to be usable by AWS Backup.
        let job = super::wait::again(Duration::from_secs(120), || {
            self.backup
                .start_backup_job()
                .backup_vault_name(name)
                .resource_arn(&resource)
                .iam_role_arn(&role)
                .send()
        })
        .await
        .map_err(sdk("starting the drill backup"))?;
        let arn = job
            .recovery_point_arn()
            .map(str::to_string)
            .context("StartBackupJob returned no recovery point")?;
        t.recovery_point = Some((name.to_string(), arn.clone(), name.to_string()));
        super::wait::again(WAIT, || async {
            let point = self
                .backup
                .describe_recovery_point()
                .backup_vault_name(name)
                .recovery_point_arn(&arn)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            match point.status().map(|s| s.as_str()) {
                Some("COMPLETED") => Ok(()),
                other => Err(format!("recovery point {arn} is {other:?}")),
            }
        })
        .await
        .map_err(|e| anyhow::anyhow!("waiting for the drill backup: {e}"))?;
        // Shared with everyone, as malware in a snapshot is found. (AWS Backup's snapshot: it
        // goes with the recovery point, not through EC2.)
        if let Some(snapshot) = arn.rsplit_once(":snapshot/").map(|(_, id)| id) {
            self.ec2
                .modify_snapshot_attribute()
                .snapshot_id(snapshot)
                .attribute(aws_sdk_ec2::types::SnapshotAttributeName::CreateVolumePermission)
                .operation_type(aws_sdk_ec2::types::OperationType::Add)
                .group_names("all")
                .send()
                .await
                .map_err(sdk("sharing the drill recovery point's snapshot"))?;
        }
        Ok(())
    }

    /// Whether the vault's access policy denies restoring the recovery point.
    pub(super) async fn recovery_point_quarantined(&self, vault: &str, arn: &str) -> bool {
        let Ok(policy) = self
            .backup
            .get_backup_vault_access_policy()
            .backup_vault_name(vault)
            .send()
            .await
        else {
            return false;
        };
        let policy: serde_json::Value =
            serde_json::from_str(policy.policy().unwrap_or("{}")).unwrap_or_default();
        policy["Statement"].as_array().is_some_and(|s| {
            s.iter().any(|s| {
                s["Effect"] == "Deny"
                    && s["Resource"] == arn
                    && s["Action"].to_string().contains("backup:StartRestoreJob")
            })
        })
    }

    /// Removes the recovery point (its quarantine lifted first), the vault and the role;
    /// returns what could not be removed. The volume goes with the other volumes.
    pub(super) async fn remove_recovery_point(&self, t: &Target) -> Vec<String> {
        let mut left = Vec::new();
        let Some((vault, arn, role)) = &t.recovery_point else {
            return left;
        };
        let _ = self
            .backup
            .delete_backup_vault_access_policy()
            .backup_vault_name(vault)
            .send()
            .await;
        if !arn.is_empty()
            && let Err(e) = self
                .backup
                .delete_recovery_point()
                .backup_vault_name(vault)
                .recovery_point_arn(arn)
                .send()
                .await
        {
            left.push(format!(
                "recovery point {arn}: {}",
                sdk::<_, _>("delete")(e)
            ));
        }
        // AWS Backup deletes a recovery point in the background: the vault waits for it.
        if let Err(e) = super::wait::again(WAIT, || {
            self.backup
                .delete_backup_vault()
                .backup_vault_name(vault)
                .send()
        })
        .await
        {
            left.push(format!(
                "backup vault {vault}: {}",
                sdk::<_, _>("delete")(e)
            ));
        }
        let _ = self
            .iam
            .detach_role_policy()
            .role_name(role)
            .policy_arn(BACKUP_POLICY)
            .send()
            .await;
        if let Err(e) = self.iam.delete_role().role_name(role).send().await {
            left.push(format!("role {role}: {}", sdk::<_, _>("delete")(e)));
        }
        left
    }
}
