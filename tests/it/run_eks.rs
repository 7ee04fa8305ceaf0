//! EKS clusters seeded for the tests of the EKS actions (issue 13): a cluster with a public
//! endpoint and a role with an access entry in it.
//!
//! moto 5.2.5 has no access entries, and replaces a cluster's whole VPC configuration on
//! UpdateClusterConfig: the tests that use them run on `support::private_emulator`, whose
//! `scripts/emulator/eks_clusters.py` serves access entries as EKS's API reference describes
//! them (a stand-in, not EKS's behaviour observed) and merges the endpoint's access as EKS
//! does. Everything else is moto.

use crate::support;

/// A seeded cluster and the role that has an access entry in it.
pub(crate) struct Cluster {
    pub name: String,
    pub role_arn: String,
}

/// Cluster `name` (public endpoint, in a VPC of its own) and the role `name`-deployer (path
/// `/ci/`) with an access entry in it.
pub(crate) async fn cluster_named(config: &aws_config::SdkConfig, name: &str) -> Cluster {
    let name = name.to_string();
    let iam = aws_sdk_iam::Client::new(config);
    let role = format!("{name}-deployer");
    let role_arn = support::service_role(&iam, &role, "codebuild.amazonaws.com", "/ci/").await;
    let cluster_role =
        support::service_role(&iam, &format!("{name}-cluster"), "eks.amazonaws.com", "/").await;
    let ec2 = aws_sdk_ec2::Client::new(config);
    let vpc = support::new_vpc(&ec2, "10.40.0.0/16").await;
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.40.1.0/24")
        .send()
        .await
        .unwrap()
        .subnet()
        .unwrap()
        .subnet_id()
        .unwrap()
        .to_string();
    let eks = aws_sdk_eks::Client::new(config);
    eks.create_cluster()
        .name(&name)
        .role_arn(cluster_role)
        .resources_vpc_config(
            aws_sdk_eks::types::VpcConfigRequest::builder()
                .subnet_ids(subnet)
                .endpoint_public_access(true)
                .endpoint_private_access(false)
                .build(),
        )
        .send()
        .await
        .unwrap();
    eks.create_access_entry()
        .cluster_name(&name)
        .principal_arn(&role_arn)
        .kubernetes_groups("deployers")
        .send()
        .await
        .unwrap();
    Cluster { name, role_arn }
}
