//! The drill's database: a PostgreSQL instance in the default VPC, publicly accessible, behind
//! a group of its own (with no rule: nothing reaches it), as GuardDuty RDS Protection finds one
//! logged into; its read-back and removal.
//! On AWS an instance takes minutes to become available and to go: the drill waits for both.

use std::time::Duration;

use anyhow::{Context, Result};

use super::{Aws, Target, sdk};

/// The longest the drill waits for the database to be available, or gone.
const WAIT: Duration = Duration::from_secs(20 * 60);

impl Aws {
    /// Builds the database target.
    pub(super) async fn database(&self, t: &mut Target, name: &str) -> Result<()> {
        let (vpc, subnets) = self.default_vpc().await?;
        let group = self
            .ec2
            .create_security_group()
            .group_name(name)
            .description("firebreak drill: the applications reach the database")
            .vpc_id(&vpc)
            .send()
            .await
            .map_err(sdk("creating the drill database's group"))?
            .group_id()
            .map(str::to_string)
            .context("CreateSecurityGroup returned no id")?;
        t.db_group = Some(group.clone());
        self.rds
            .create_db_subnet_group()
            .db_subnet_group_name(name)
            .db_subnet_group_description("firebreak drill")
            .set_subnet_ids(Some(subnets))
            .send()
            .await
            .map_err(sdk("creating the drill database's subnet group"))?;
        t.db_subnet_group = Some(name.to_string());
        self.rds
            .create_db_instance()
            .db_instance_identifier(name)
            .db_instance_class("db.t3.micro")
            .engine("postgres")
            .allocated_storage(20)
            .master_username("drill")
            .manage_master_user_password(true)
            .db_subnet_group_name(name)
            .vpc_security_group_ids(group)
            .publicly_accessible(true)
            .tags(
                aws_sdk_rds::types::Tag::builder()
                    .key("firebreak:drill")
                    .value("true")
                    .build(),
            )
            .send()
            .await
            .map_err(sdk("creating the drill database"))?;
        t.database = Some(name.to_string());
        self.until_database(name, |s| s == Some("available"), "available")
            .await
    }

    /// Waits until the database's status is as `done` says (`None`: it is gone).
    async fn until_database(
        &self,
        name: &str,
        done: impl Fn(Option<&str>) -> bool,
        what: &str,
    ) -> Result<()> {
        // `Err`: not yet, the status it has; `Ok(Err)`: it cannot be read.
        let waited = super::wait::again(WAIT, || async {
            let status = match self
                .rds
                .describe_db_instances()
                .db_instance_identifier(name)
                .send()
                .await
            {
                Ok(r) => r
                    .db_instances()
                    .first()
                    .and_then(|i| i.db_instance_status())
                    .map(str::to_string),
                Err(e)
                    if aws_sdk_rds::error::ProvideErrorMetadata::code(&e)
                        == Some("DBInstanceNotFound") =>
                {
                    None
                }
                Err(e) => return Ok(Err(sdk("reading the drill database")(e))),
            };
            if done(status.as_deref()) {
                Ok(Ok(()))
            } else {
                Err(status)
            }
        })
        .await;
        match waited {
            Ok(read) => read,
            Err(status) => anyhow::bail!(
                "the drill database {name} is not {what} after {} minutes (it is {status:?})",
                WAIT.as_secs() / 60
            ),
        }
    }

    /// The database's VPC security groups that are not on their way out, and whether it is
    /// publicly accessible (`None`: it could not be read).
    pub(super) async fn database_state(&self, name: &str) -> (Vec<String>, Option<bool>) {
        let read = self
            .rds
            .describe_db_instances()
            .db_instance_identifier(name)
            .send()
            .await;
        let Ok(r) = read else {
            return (Vec::new(), None);
        };
        let instance = r.db_instances().first();
        let groups = instance
            .map(|i| i.vpc_security_groups())
            .unwrap_or_default()
            .iter()
            .filter(|g| g.status() != Some("removing"))
            .filter_map(|g| g.vpc_security_group_id())
            .map(str::to_string)
            .collect();
        (groups, instance.and_then(|i| i.publicly_accessible()))
    }

    /// Removes the database, firebreak's snapshot of it, its subnet group and its group;
    /// returns what could not be removed.
    pub(super) async fn remove_database(&self, t: &Target, finding_id: &str) -> Vec<String> {
        let mut left = Vec::new();
        let Some(name) = &t.database else {
            return left;
        };
        let snapshot = format!("firebreak-{finding_id}");
        if let Err(e) = self
            .rds
            .delete_db_snapshot()
            .db_snapshot_identifier(&snapshot)
            .send()
            .await
            && aws_sdk_rds::error::ProvideErrorMetadata::code(&e) != Some("DBSnapshotNotFound")
        {
            left.push(format!("snapshot {snapshot}: {}", sdk::<_, _>("delete")(e)));
        }
        if let Err(e) = self
            .rds
            .delete_db_instance()
            .db_instance_identifier(name)
            .skip_final_snapshot(true)
            .delete_automated_backups(true)
            .send()
            .await
        {
            left.push(format!("database {name}: {}", sdk::<_, _>("delete")(e)));
            return left;
        }
        if let Err(e) = self.until_database(name, |s| s.is_none(), "deleted").await {
            left.push(e.to_string());
            return left;
        }
        if let Some(g) = &t.db_subnet_group
            && let Err(e) = self
                .rds
                .delete_db_subnet_group()
                .db_subnet_group_name(g)
                .send()
                .await
        {
            left.push(format!("subnet group {g}: {}", sdk::<_, _>("delete")(e)));
        }
        if let Some(g) = &t.db_group
            && let Err(e) = self.ec2.delete_security_group().group_id(g).send().await
        {
            left.push(format!("security group {g}: {}", sdk::<_, _>("delete")(e)));
        }
        left
    }
}
