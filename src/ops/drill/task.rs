//! The drill's ECS task: a Fargate service of one task in the default VPC (a public image that
//! only sleeps, reachable through a group of its own with no inbound rule), its task role, as
//! GuardDuty Runtime Monitoring finds one opening a reverse shell; its read-back and removal.
//! On AWS the task takes a minute or two to run and to stop: the drill waits for both.

use std::time::Duration;

use anyhow::{Context, Result};
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, Compatibility, ContainerDefinition, LaunchType,
    NetworkConfiguration, NetworkMode,
};

use super::{Aws, Target, sdk};

/// The longest the drill waits for the task to run, or to stop.
const WAIT: Duration = Duration::from_secs(10 * 60);

/// The image the drill's task runs: a public one, so that the task needs no registry
/// permission, and one that only sleeps.
const IMAGE: &str = "public.ecr.aws/docker/library/busybox:stable";

impl Aws {
    /// Builds the task target: role, group, cluster, task definition and service; waits until
    /// the service's task runs.
    pub(super) async fn ecs_task(&self, t: &mut Target, name: &str) -> Result<()> {
        let role_name = format!("{name}-task");
        let role = self
            .iam
            .create_role()
            .role_name(&role_name)
            .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#)
            .tags(super::tag_iam()?)
            .send()
            .await
            .map_err(sdk("creating the drill task's role"))?
            .role()
            .map(|r| r.arn().to_string())
            .context("CreateRole returned no role")?;
        t.task_role = Some(role_name);
        let (vpc, subnets) = self.default_vpc().await?;
        // No inbound rule; outbound as a new group has it, to pull the image.
        let group = self
            .ec2
            .create_security_group()
            .group_name(name)
            .description("firebreak drill: the task's group")
            .vpc_id(&vpc)
            .send()
            .await
            .map_err(sdk("creating the drill task's group"))?
            .group_id()
            .map(str::to_string)
            .context("CreateSecurityGroup returned no id")?;
        t.task_group = Some(group.clone());
        let tag = aws_sdk_ecs::types::Tag::builder()
            .key("firebreak:drill")
            .value("true")
            .build();
        let cluster = self
            .ecs
            .create_cluster()
            .cluster_name(name)
            .tags(tag.clone())
            .send()
            .await
            .map_err(sdk("creating the drill cluster"))?
            .cluster()
            .and_then(|c| c.cluster_arn())
            .map(str::to_string)
            .context("CreateCluster returned no ARN")?;
        t.cluster = Some(cluster.clone());
        let definition = self
            .ecs
            .register_task_definition()
            .family(name)
            .network_mode(NetworkMode::Awsvpc)
            .requires_compatibilities(Compatibility::Fargate)
            .cpu("256")
            .memory("512")
            .task_role_arn(role)
            .container_definitions(
                ContainerDefinition::builder()
                    .name("app")
                    .image(IMAGE)
                    .command("sleep")
                    .command("3600")
                    .essential(true)
                    .memory(512)
                    .build(),
            )
            .tags(tag.clone())
            .send()
            .await
            .map_err(sdk("registering the drill task definition"))?
            .task_definition()
            .and_then(|d| d.task_definition_arn())
            .map(str::to_string)
            .context("RegisterTaskDefinition returned no ARN")?;
        t.task_definition = Some(definition.clone());
        let network = NetworkConfiguration::builder()
            .awsvpc_configuration(
                AwsVpcConfiguration::builder()
                    .set_subnets(Some(subnets))
                    .security_groups(group)
                    // The default VPC has no NAT: a public address pulls the image.
                    .assign_public_ip(AssignPublicIp::Enabled)
                    .build()
                    .map_err(super::err("the drill task's network"))?,
            )
            .build();
        self.ecs
            .create_service()
            .cluster(&cluster)
            .service_name(name)
            .task_definition(&definition)
            .desired_count(1)
            .launch_type(LaunchType::Fargate)
            .network_configuration(network)
            .tags(tag)
            .send()
            .await
            .map_err(sdk("creating the drill service"))?;
        t.service = Some(name.to_string());
        // `Ok`: the task and whether it runs, or why it cannot be listed; `Err`: a task that
        // does not run yet (kept for the clean-up), or none.
        let waited = super::wait::again(WAIT, || async {
            let tasks = match self
                .ecs
                .list_tasks()
                .cluster(&cluster)
                .service_name(name)
                .send()
                .await
            {
                Ok(tasks) => tasks,
                Err(e) => return Ok(Err(sdk("listing the drill service's tasks")(e))),
            };
            let Some(arn) = tasks.task_arns().first() else {
                return Err(None);
            };
            match self.task_status(&cluster, arn).await.0.as_deref() {
                Some("RUNNING") => Ok(Ok(arn.clone())),
                _ => Err(Some(arn.clone())),
            }
        })
        .await;
        match waited {
            Ok(listed) => {
                t.task = Some(listed?);
                Ok(())
            }
            Err(pending) => {
                t.task = pending;
                anyhow::bail!(
                    "the drill service {name} has no running task after {} minutes",
                    WAIT.as_secs() / 60
                )
            }
        }
    }

    /// The task's last status and whether it is protected (`None` when either cannot be
    /// read).
    pub(super) async fn task_status(
        &self,
        cluster: &str,
        task: &str,
    ) -> (Option<String>, Option<bool>) {
        let status = self
            .ecs
            .describe_tasks()
            .cluster(cluster)
            .tasks(task)
            .send()
            .await
            .ok()
            .and_then(|r| {
                r.tasks()
                    .first()
                    .and_then(|t| t.last_status().map(str::to_string))
            });
        let protected = self
            .ecs
            .get_task_protection()
            .cluster(cluster)
            .tasks(task)
            .send()
            .await
            .ok()
            .and_then(|r| r.protected_tasks().first().map(|p| p.protection_enabled()));
        (status, protected)
    }

    /// Whether `role` has firebreak's revocation of its older sessions.
    pub(super) async fn role_revoked(&self, role: Option<&str>) -> bool {
        let Some(role) = role else {
            return false;
        };
        self.iam
            .get_role_policy()
            .role_name(role)
            .policy_name(crate::domain::catalog::names::REVOKE_POLICY)
            .send()
            .await
            .is_ok()
    }

    /// Removes the service (its task stopped, its protection taken off first), the cluster,
    /// the task definition, the group and the role; returns what could not be removed.
    pub(super) async fn remove_ecs_task(&self, t: &Target) -> Vec<String> {
        let mut left = Vec::new();
        let Some(cluster) = &t.cluster else {
            return left;
        };
        if let Some(task) = &t.task {
            let _ = self
                .ecs
                .update_task_protection()
                .cluster(cluster)
                .tasks(task)
                .protection_enabled(false)
                .send()
                .await;
        }
        if let Some(service) = &t.service
            && let Err(e) = self
                .ecs
                .delete_service()
                .cluster(cluster)
                .service(service)
                .force(true)
                .send()
                .await
        {
            left.push(format!("service {service}: {}", sdk::<_, _>("delete")(e)));
        }
        if let Some(task) = &t.task {
            let _ = self
                .ecs
                .stop_task()
                .cluster(cluster)
                .task(task)
                .reason("firebreak drill: clean-up")
                .send()
                .await;
            // The cluster, and the group its interface is in, go once the task has stopped
            // (what it could not is said below).
            let _ = super::wait::again(WAIT, || async {
                match self.task_status(cluster, task).await.0.as_deref() {
                    Some("STOPPED") => Ok(()),
                    _ => Err(()),
                }
            })
            .await;
        }
        // A deleted service drains for a while, and the cluster cannot go before it has.
        if let Err(e) =
            super::wait::again(WAIT, || self.ecs.delete_cluster().cluster(cluster).send()).await
        {
            left.push(format!("cluster {cluster}: {}", sdk::<_, _>("delete")(e)));
        }
        if let Some(d) = &t.task_definition {
            // Deregistered, then deleted: an inactive revision stays otherwise.
            let gone = match self
                .ecs
                .deregister_task_definition()
                .task_definition(d)
                .send()
                .await
            {
                Ok(_) => self
                    .ecs
                    .delete_task_definitions()
                    .task_definitions(d)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(sdk("delete")),
                Err(e) => Err(sdk("deregister")(e)),
            };
            if let Err(e) = gone {
                left.push(format!("task definition {d}: {e}"));
            }
        }
        if let Some(g) = &t.task_group {
            // The task's interface is released a little after the task stops.
            if let Err(e) =
                super::wait::again(WAIT, || self.ec2.delete_security_group().group_id(g).send())
                    .await
            {
                left.push(format!("security group {g}: {}", sdk::<_, _>("delete")(e)));
            }
        }
        if let Some(r) = &t.task_role {
            self.delete_role(r, &mut left).await;
        }
        left
    }
}
