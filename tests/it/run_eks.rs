//! `firebreak run` of the EKS playbook (issue 13): a cluster where GuardDuty saw a role's
//! Kubernetes user list secrets from a Tor exit node (GuardDuty's sample of
//! `Discovery:Kubernetes/TorIPCaller`, with a seeded cluster and role) is recorded, the role's
//! sessions are revoked and its access entry deleted; the endpoint stays public unless
//! `restrict_endpoint` is given; a second run changes nothing; a dry run changes nothing.
//!
//! moto 5.2.5 has no access entries, and replaces a cluster's whole VPC configuration on
//! UpdateClusterConfig: these tests run on `support::private_emulator`, whose
//! `scripts/emulator/eks_clusters.py` serves access entries as EKS's API reference describes
//! them (a stand-in, not EKS's behaviour observed) and merges the endpoint's access as EKS
//! does. Everything else is moto.

use serde_json::{Value, json};

use crate::support::{self, finding_file, run_report, step_of, unique};

/// A seeded cluster and the role that has an access entry in it.
/// The EKS access policy the seeded entry has (AWS's own `AmazonEKSEditPolicy`).
const EDIT_POLICY: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy";

pub(crate) struct Cluster {
    pub name: String,
    pub role: String,
    pub role_arn: String,
    /// The role the service account `payments/api` gets through a pod identity association.
    pub pod_role: String,
}

/// A cluster (public endpoint, in a VPC of its own) and a role (path `/ci/`) with an access
/// entry in it.
pub(crate) async fn cluster_with_entry(config: &aws_config::SdkConfig) -> Cluster {
    cluster_named(config, &unique("prod-eks")).await
}

/// Cluster `name` and the role `name`-deployer with an access entry in it, as
/// [`cluster_with_entry`].
pub(crate) async fn cluster_named(config: &aws_config::SdkConfig, name: &str) -> Cluster {
    let name = name.to_string();
    let iam = aws_sdk_iam::Client::new(config);
    let role = format!("{name}-deployer");
    let role_arn = support::service_role(&iam, &role, "codebuild.amazonaws.com", "/ci/").await;
    let cluster_role =
        support::service_role(&iam, &format!("{name}-cluster"), "eks.amazonaws.com", "/").await;
    let ec2 = aws_sdk_ec2::Client::new(config);
    let vpc = support::new_vpc(&ec2, "10.40.0.0/16").await;
    let subnet = support::new_subnet(&ec2, &vpc, "10.40.1.0/24").await;
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
    // What the entry lets the role do, deleted with it (its record is the undo's).
    eks.associate_access_policy()
        .cluster_name(&name)
        .principal_arn(&role_arn)
        .policy_arn(EDIT_POLICY)
        .access_scope(
            aws_sdk_eks::types::AccessScope::builder()
                .r#type(aws_sdk_eks::types::AccessScopeType::Namespace)
                .namespaces("payments")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let pod_role = format!("{name}-payments");
    let pod_role_arn =
        support::service_role(&iam, &pod_role, "pods.eks.amazonaws.com", "/apps/").await;
    eks.create_pod_identity_association()
        .cluster_name(&name)
        .namespace("payments")
        .service_account("api")
        .role_arn(pod_role_arn)
        .send()
        .await
        .unwrap();
    Cluster {
        name,
        role,
        role_arn,
        pod_role,
    }
}

/// Whether the service account `payments/api` has a pod identity association in the cluster.
pub(crate) async fn has_pod_identity(config: &aws_config::SdkConfig, cluster: &str) -> bool {
    aws_sdk_eks::Client::new(config)
        .list_pod_identity_associations()
        .cluster_name(cluster)
        .namespace("payments")
        .service_account("api")
        .send()
        .await
        .is_ok_and(|r| !r.associations().is_empty())
}

/// A Runtime Monitoring finding (a miner in a pod of `payments/api`) on the cluster.
pub(crate) fn pod_finding(c: &Cluster) -> std::path::PathBuf {
    finding_file("runtime-eks-cryptominer.json", |f| {
        f["id"] = Value::String(unique("finding"));
        f["resource"]["eksClusterDetails"]["name"] = c.name.clone().into();
        f["resource"]["kubernetesDetails"] = json!({"kubernetesWorkloadDetails": {
            "name": "api-7d9f8b6c5-x2x4q", "type": "pods", "namespace": "payments",
            "serviceAccountName": "api"}});
    })
}

/// GuardDuty's sample of the finding, with the seeded cluster and role.
pub(crate) fn eks_finding(c: &Cluster) -> std::path::PathBuf {
    finding_file("eks-tor-ip-caller.json", |f| {
        f["id"] = Value::String(unique("finding"));
        let d = &mut f["resource"]["eksClusterDetails"];
        d["name"] = c.name.clone().into();
        d["arn"] = format!("arn:aws:eks:us-east-1:123456789012:cluster/{}", c.name).into();
        f["resource"]["accessKeyDetails"]["userName"] = c.role.clone().into();
    })
}

/// What the test reads back: whether the role's access entry is there, whether the endpoint is
/// public, and the role's inline policies.
pub(crate) async fn end_state(config: &aws_config::SdkConfig, c: &Cluster) -> Value {
    let eks = aws_sdk_eks::Client::new(config);
    let entry = eks
        .describe_access_entry()
        .cluster_name(&c.name)
        .principal_arn(&c.role_arn)
        .send()
        .await
        .is_ok();
    let public = eks
        .describe_cluster()
        .name(&c.name)
        .send()
        .await
        .unwrap()
        .cluster()
        .and_then(|c| c.resources_vpc_config())
        .map(|v| v.endpoint_public_access());
    let policies = support::role_policy_names(config, &c.role).await;
    json!({"access_entry": entry, "public": public, "role_policies": policies})
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_calling_from_tor_loses_its_sessions_and_its_access_entry() {
    let moto = support::private_emulator();
    let config = moto.config().await;
    let c = cluster_with_entry(&config).await;
    let finding = eks_finding(&c);

    let open = json!({"access_entry": true, "public": true, "role_policies": []});
    assert_eq!(end_state(&config, &c).await, open);
    let dry = run_report(&moto, &finding, "eks-cluster-compromise", &["--dry-run"]);
    assert_eq!(dry["status"], "dry_run", "{dry:#}");
    assert_eq!(end_state(&config, &c).await, open, "a dry run changed it");

    let report = run_report(&moto, &finding, "eks-cluster-compromise", &[]);
    assert_eq!(report["status"], "succeeded", "{report:#}");
    let capture = step_of(&report, "capture")["outputs"].clone();
    assert_eq!(capture["authentication_mode"], "API_AND_CONFIG_MAP");
    assert_eq!(capture["endpoint_public_access"], true);
    assert_eq!(capture["status"], "ACTIVE");
    assert!(
        capture["vpc_id"]
            .as_str()
            .is_some_and(|v| v.starts_with("vpc-")),
        "{capture}"
    );
    assert_eq!(step_of(&report, "revoke_role_sessions")["changed"], true);
    let entry = step_of(&report, "role_access_entry");
    assert_eq!(entry["changed"], true, "{entry:#}");
    assert_eq!(entry["outputs"]["kubernetes_username"], c.role_arn.as_str());
    // The access policies it had, for a person to give back: the policy and its scope.
    assert_eq!(
        entry["outputs"]["access_policy_arns"],
        json!([EDIT_POLICY]),
        "{entry:#}"
    );
    assert_eq!(
        entry["pre_state"]["scopes"],
        json!([{"Type": "namespace", "Namespaces": ["payments"]}]),
        "{entry:#}"
    );
    // A role, not a user; no node (an audit log finding); the endpoint is an opt-in.
    for skipped in [
        "pod_identity",
        "capture_user",
        "user_access_entry",
        "restrict_endpoint",
        "capture_node",
        "isolate_node",
    ] {
        assert_eq!(step_of(&report, skipped)["status"], "skipped", "{skipped}");
    }
    assert_eq!(
        end_state(&config, &c).await,
        json!({"access_entry": false, "public": true,
            "role_policies": ["AWSRevokeOlderSessions"]})
    );

    support::run_changes_nothing(&moto, &finding, "eks-cluster-compromise");

    // The opt-in: the endpoint answers inside the VPC only.
    let restricted = run_report(
        &moto,
        &finding,
        "eks-cluster-compromise",
        &["--input", "restrict_endpoint=true"],
    );
    assert_eq!(restricted["status"], "succeeded", "{restricted:#}");
    assert_eq!(step_of(&restricted, "restrict_endpoint")["changed"], true);
    assert_eq!(end_state(&config, &c).await["public"], false);
}

/// A cluster EKS does not have (another account's, or deleted): the capture fails and the
/// access entry, which needs it, is skipped; the role is contained all the same.
#[tokio::test(flavor = "multi_thread")]
async fn a_cluster_eks_does_not_have_fails_the_capture_and_the_role_is_still_revoked() {
    let moto = support::private_emulator();
    let config = moto.config().await;
    let c = cluster_with_entry(&config).await;
    let finding = finding_file("eks-tor-ip-caller.json", |f| {
        f["id"] = Value::String(unique("finding"));
        f["resource"]["eksClusterDetails"]["name"] = "no-such-cluster".into();
        f["resource"]["accessKeyDetails"]["userName"] = c.role.clone().into();
    });
    let out = moto.firebreak(&["run", "--output", "json", finding.to_str().unwrap()]);
    // A step failed: containment is incomplete (exit 1).
    assert_eq!(out.status.code(), Some(1), "{}", support::stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    // The role was contained: partly done.
    assert_eq!(report["status"], "partial", "{report:#}");
    let capture = step_of(&report, "capture");
    assert_eq!(
        capture["error_code"], "ResourceNotFoundException",
        "{capture:#}"
    );
    assert_eq!(step_of(&report, "role_access_entry")["status"], "skipped");
    assert_eq!(step_of(&report, "revoke_role_sessions")["changed"], true);
}

/// A finding on the seeded cluster whose Kubernetes user is an IAM user with a long-term key
/// (an access entry of its own in the cluster).
pub(crate) async fn user_finding(config: &aws_config::SdkConfig) -> std::path::PathBuf {
    let c = cluster_with_entry(config).await;
    let (user, key) = crate::run_s3::user_with_key(config).await;
    let arn = aws_sdk_iam::Client::new(config)
        .get_user()
        .user_name(&user)
        .send()
        .await
        .unwrap()
        .user()
        .unwrap()
        .arn()
        .to_string();
    aws_sdk_eks::Client::new(config)
        .create_access_entry()
        .cluster_name(&c.name)
        .principal_arn(arn)
        .send()
        .await
        .unwrap();
    finding_file("eks-tor-ip-caller.json", |f| {
        f["id"] = Value::String(unique("finding"));
        f["resource"]["eksClusterDetails"]["name"] = c.name.clone().into();
        let k = &mut f["resource"]["accessKeyDetails"];
        k["userName"] = user.into();
        k["userType"] = "IAMUser".into();
        k["accessKeyId"] = key.into();
    })
}

/// A Runtime Monitoring finding (a miner in a pod of `payments/api`, whose pod identity role
/// is taken away) on the seeded cluster, on a node that is an
/// instance in an Auto Scaling group and a target group, with a profile and two volumes, in a
/// VPC whose isolation group someone opened (isolating the node closes it again).
pub(crate) async fn node_finding(config: &aws_config::SdkConfig) -> std::path::PathBuf {
    let c = cluster_with_entry(config).await;
    let (node, vpc) = crate::run_ec2::target_in_new_vpc(config).await;
    support::open_isolation_group(config, &vpc).await;
    let pod = pod_finding(&c);
    let mut f: Value = serde_json::from_slice(&std::fs::read(&pod).unwrap()).unwrap();
    f["resource"]["instanceDetails"] = json!({"instanceId": node.instance_id});
    std::fs::write(&pod, serde_json::to_vec_pretty(&f).unwrap()).unwrap();
    pod
}

/// A miner in a pod (Runtime Monitoring): the IAM role its service account gets through its
/// pod identity association is taken away and its sessions revoked; a second run changes
/// nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_miner_in_a_pod_loses_its_service_account_s_role() {
    let moto = support::private_emulator();
    let config = moto.config().await;
    let c = cluster_with_entry(&config).await;
    let finding = pod_finding(&c);
    assert!(has_pod_identity(&config, &c.name).await);
    let dry = run_report(&moto, &finding, "eks-cluster-compromise", &["--dry-run"]);
    assert_eq!(dry["status"], "dry_run", "{dry:#}");
    assert!(
        has_pod_identity(&config, &c.name).await,
        "a dry run changed it"
    );

    let report = run_report(&moto, &finding, "eks-cluster-compromise", &[]);
    assert_eq!(report["status"], "succeeded", "{report:#}");
    let step = step_of(&report, "pod_identity");
    assert_eq!(step["changed"], true, "{step:#}");
    assert_eq!(step["outputs"]["role_name"], c.pod_role.as_str());
    assert_eq!(
        step_of(&report, "revoke_pod_role_sessions")["changed"],
        true
    );
    assert!(!has_pod_identity(&config, &c.name).await);
    assert_eq!(
        support::role_policy_names(&config, &c.pod_role).await,
        ["AWSRevokeOlderSessions"]
    );

    support::run_changes_nothing(&moto, &finding, "eks-cluster-compromise");
}

/// A role whose access entry is a node's (`EC2_LINUX`: every node of the role joins the
/// cluster through it) keeps it: deleting it would take every node down. The step says so.
#[tokio::test(flavor = "multi_thread")]
async fn a_node_role_s_access_entry_is_not_deleted() {
    let moto = support::private_emulator();
    let config = moto.config().await;
    let c = cluster_with_entry(&config).await;
    let iam = aws_sdk_iam::Client::new(&config);
    let node_role = format!("{}-nodes", c.name);
    let node_role_arn = support::service_role(&iam, &node_role, "ec2.amazonaws.com", "/").await;
    let eks = aws_sdk_eks::Client::new(&config);
    eks.create_access_entry()
        .cluster_name(&c.name)
        .principal_arn(&node_role_arn)
        .r#type("EC2_LINUX")
        .send()
        .await
        .unwrap();
    let finding = finding_file("eks-tor-ip-caller.json", |f| {
        f["id"] = Value::String(unique("finding"));
        f["resource"]["eksClusterDetails"]["name"] = c.name.clone().into();
        f["resource"]["accessKeyDetails"]["userName"] = node_role.clone().into();
    });
    let out = moto.firebreak(&["run", "--output", "json", finding.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", support::stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let entry = step_of(&report, "role_access_entry");
    assert_eq!(entry["error_code"], "NodeAccessEntry", "{entry:#}");
    assert!(
        eks.describe_access_entry()
            .cluster_name(&c.name)
            .principal_arn(&node_role_arn)
            .send()
            .await
            .is_ok(),
        "the node entry is kept"
    );
}
