//! The drill's EKS cluster: a cluster in the default VPC (public endpoint, authenticating with
//! access entries as well as the ConfigMap) and a deployer role with an access entry in it, as
//! GuardDuty finds that role's Kubernetes user calling from a Tor exit node; its read-back and
//! removal. On AWS the cluster takes some ten minutes to be made and to go: the drill waits
//! for both (no node: the cluster's control plane is what the playbook contains).

use std::time::Duration;

use anyhow::{Context, Result};
use aws_sdk_eks::types::{
    AuthenticationMode, ClusterStatus, CreateAccessConfigRequest, VpcConfigRequest,
};

use super::{Aws, Target, sdk};

/// The longest the drill waits for the cluster to be active, or to be gone.
const WAIT: Duration = Duration::from_secs(25 * 60);

/// The zones (by id) where EKS places no control plane (its user guide).
const UNSUPPORTED_ZONES: &[&str] = &["use1-az3", "usw1-az2", "cac1-az3"];

/// The managed policy an EKS cluster's role needs.
const CLUSTER_POLICY: &str = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy";

impl Aws {
    /// Builds the cluster target: the cluster's role, the cluster, the deployer role and its
    /// access entry; waits until the cluster is active.
    pub(super) async fn eks_cluster(&self, t: &mut Target, name: &str) -> Result<()> {
        let cluster_role = format!("{name}-cluster");
        let cluster_role_arn = self
            .drill_role(&cluster_role, r#"{"Service":"eks.amazonaws.com"}"#)
            .await?;
        t.eks_cluster_role = Some(cluster_role.clone());
        self.iam
            .attach_role_policy()
            .role_name(&cluster_role)
            .policy_arn(CLUSTER_POLICY)
            .send()
            .await
            .map_err(sdk("giving the drill cluster's role its policy"))?;
        let deployer = format!("{name}-deployer");
        let deployer_arn = self
            .drill_role(
                &deployer,
                &format!(r#"{{"AWS":"arn:aws:iam::{}:root"}}"#, self.account),
            )
            .await?;
        t.eks_deployer = Some(deployer);
        let subnets = self.cluster_subnets().await?;
        // Named before it is asked for: a cluster made whose answer was lost is still removed.
        t.eks_cluster = Some((name.to_string(), String::new()));
        // A role is usable by EKS a few seconds after it is made: EKS says so with
        // `InvalidParameterException`, and the call is made again; any other answer is final.
        let created = super::wait::again(Duration::from_secs(60), || async {
            match self
                .eks
                .create_cluster()
                .name(name)
                .role_arn(&cluster_role_arn)
                .resources_vpc_config(
                    VpcConfigRequest::builder()
                        .set_subnet_ids(Some(subnets.clone()))
                        .endpoint_public_access(true)
                        .endpoint_private_access(false)
                        .build(),
                )
                .access_config(
                    CreateAccessConfigRequest::builder()
                        .authentication_mode(AuthenticationMode::ApiAndConfigMap)
                        .build(),
                )
                .tags("firebreak:drill", "true")
                .send()
                .await
            {
                Err(e)
                    if aws_sdk_eks::error::ProvideErrorMetadata::code(&e)
                        == Some("InvalidParameterException") =>
                {
                    Err(sdk("creating the drill cluster")(e))
                }
                other => Ok(other.map_err(sdk("creating the drill cluster"))),
            }
        })
        .await
        .and_then(|answer| answer)?;
        let arn = created
            .cluster()
            .and_then(|c| c.arn())
            .map(str::to_string)
            .context("CreateCluster returned no cluster")?;
        t.eks_cluster = Some((name.to_string(), arn));
        let active = super::wait::again(WAIT, || async {
            let status = self
                .eks
                .describe_cluster()
                .name(name)
                .send()
                .await
                .ok()
                .and_then(|c| c.cluster().and_then(|c| c.status().cloned()));
            match status {
                Some(ClusterStatus::Active) => Ok(()),
                other => Err(other),
            }
        })
        .await;
        if let Err(status) = active {
            anyhow::bail!(
                "the drill cluster {name} is not active after {} minutes ({status:?})",
                WAIT.as_secs() / 60
            );
        }
        self.eks
            .create_access_entry()
            .cluster_name(name)
            .principal_arn(deployer_arn)
            .send()
            .await
            .map_err(sdk("giving the drill deployer role an access entry"))?;
        Ok(())
    }

    /// The default VPC's subnets in the zones EKS places a control plane in (it refuses a few,
    /// such as us-east-1e: `UnsupportedAvailabilityZoneException`).
    async fn cluster_subnets(&self) -> Result<Vec<String>> {
        let (vpc, _) = self.default_vpc().await?;
        let found = self
            .ec2
            .describe_subnets()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("vpc-id")
                    .values(vpc)
                    .build(),
            )
            .send()
            .await
            .map_err(sdk("finding the drill cluster's subnets"))?;
        let subnets: Vec<String> = found
            .subnets()
            .iter()
            .filter(|s| {
                !s.availability_zone_id()
                    .is_some_and(|z| UNSUPPORTED_ZONES.contains(&z))
            })
            .filter_map(|s| s.subnet_id().map(str::to_string))
            .collect();
        if subnets.len() < 2 {
            anyhow::bail!(
                "an EKS cluster needs subnets in two zones; the default VPC has {} where EKS runs",
                subnets.len()
            );
        }
        Ok(subnets)
    }

    /// A role firebreak's drill made, trusting `principal` (a policy's `Principal` value).
    pub(super) async fn drill_role(&self, role: &str, principal: &str) -> Result<String> {
        self.iam
            .create_role()
            .role_name(role)
            .assume_role_policy_document(format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{principal},"Action":"sts:AssumeRole"}}]}}"#
            ))
            .tags(super::tag_iam()?)
            .send()
            .await
            .map_err(sdk("creating a drill role"))?
            .role()
            .map(|r| r.arn().to_string())
            .context("CreateRole returned no role")
    }

    /// Whether the deployer role still has an access entry in the cluster (`None` when it
    /// cannot be told).
    pub(super) async fn has_access_entry(&self, cluster: &str, role: &str) -> Option<bool> {
        let arn = self
            .iam
            .get_role()
            .role_name(role)
            .send()
            .await
            .ok()?
            .role()?
            .arn()
            .to_string();
        match self
            .eks
            .describe_access_entry()
            .cluster_name(cluster)
            .principal_arn(arn)
            .send()
            .await
        {
            Ok(_) => Some(true),
            Err(e) => (aws_sdk_eks::error::ProvideErrorMetadata::code(&e)
                == Some("ResourceNotFoundException"))
            .then_some(false),
        }
    }

    /// Removes the cluster (waiting until it is gone, which its role must outlive) and both
    /// roles; returns what could not be removed.
    pub(super) async fn remove_eks_cluster(&self, t: &Target) -> Vec<String> {
        let mut left = Vec::new();
        if let Some((name, _)) = &t.eks_cluster {
            match self.eks.delete_cluster().name(name).send().await {
                Ok(_) => {
                    let gone = super::wait::again(WAIT, || async {
                        // Gone only when EKS says so (not on a throttled or refused read): its
                        // role must outlive it.
                        match self.eks.describe_cluster().name(name).send().await {
                            Err(e)
                                if aws_sdk_eks::error::ProvideErrorMetadata::code(&e)
                                    == Some("ResourceNotFoundException") =>
                            {
                                Ok(())
                            }
                            _ => Err(()),
                        }
                    })
                    .await;
                    if gone.is_err() {
                        left.push(format!(
                            "EKS cluster {name}: still deleting after {} minutes",
                            WAIT.as_secs() / 60
                        ));
                    }
                }
                Err(e) => left.push(format!("EKS cluster {name}: {}", sdk::<_, _>("delete")(e))),
            }
        }
        if let Some(r) = &t.eks_cluster_role {
            let _ = self
                .iam
                .detach_role_policy()
                .role_name(r)
                .policy_arn(CLUSTER_POLICY)
                .send()
                .await;
            self.delete_role(r, &mut left).await;
        }
        if let Some(r) = &t.eks_deployer {
            self.delete_role(r, &mut left).await;
        }
        left
    }
}
