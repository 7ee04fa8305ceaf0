//! EKS calls: a cluster (its endpoint's access), an IAM principal's access entry, and a service
//! account's pod identity association. (A dry
//! run never reaches an EKS change: EKS has no `DryRun`.)

use aws_sdk_eks::types::VpcConfigRequest;
use serde_json::{Value, json};

use super::{Req, each, elsewhere, opt, text};
use crate::domain::define::Op;
use crate::domain::step::StepError;

/// Makes the call `q` asks for.
pub(super) async fn call(q: &Req<'_, '_>) -> Result<Value, StepError> {
    let args = q.args;
    match q.op {
        Op::EksDescribeCluster => {
            let r = send!(q, eks.describe_cluster().name(text(args, "Name")?));
            let c = r.cluster();
            Ok(json!({"Cluster": c.map(|c| {
                let v = c.resources_vpc_config();
                json!({
                    "Name": c.name(),
                    "Arn": c.arn(),
                    "Status": c.status().map(|s| s.as_str()),
                    "Version": c.version(),
                    "Endpoint": c.endpoint(),
                    "RoleArn": c.role_arn(),
                    "CreatedAt": c.created_at().map(|t| t.to_string()),
                    "ResourcesVpcConfig": v.map(|v| json!({
                        "VpcId": v.vpc_id(),
                        "SubnetIds": v.subnet_ids(),
                        "SecurityGroupIds": v.security_group_ids(),
                        "ClusterSecurityGroupId": v.cluster_security_group_id(),
                        "EndpointPublicAccess": v.endpoint_public_access(),
                        "EndpointPrivateAccess": v.endpoint_private_access(),
                        "PublicAccessCidrs": v.public_access_cidrs(),
                    })),
                    "AccessConfig": c.access_config().map(|a| json!({
                        "AuthenticationMode": a.authentication_mode().map(|m| m.as_str()),
                    })),
                    "Logging": c.logging().map(|l| json!({
                        "ClusterLogging": each(l.cluster_logging(), |s| json!({
                            "Types": s.types().iter().map(|t| t.as_str()).collect::<Vec<_>>(),
                            "Enabled": s.enabled(),
                        })),
                    })),
                    "Identity": c.identity().and_then(|i| i.oidc()).map(|o| json!({
                        "Oidc": {"Issuer": o.issuer()},
                    })),
                    "Tags": c.tags(),
                })
            })}))
        }
        Op::EksUpdateClusterConfig => {
            let v = args.get("ResourcesVpcConfig");
            let flag = |member: &str| v.and_then(|v| v.get(member)).and_then(Value::as_bool);
            let r = send!(
                q,
                eks.update_cluster_config()
                    .name(text(args, "Name")?)
                    .resources_vpc_config(
                        VpcConfigRequest::builder()
                            .set_endpoint_public_access(flag("EndpointPublicAccess"))
                            .set_endpoint_private_access(flag("EndpointPrivateAccess"))
                            .build()
                    )
            );
            Ok(json!({"Update": r.update().map(|u| json!({
                "Id": u.id(),
                "Status": u.status().map(|s| s.as_str()),
                "Type": u.r#type().map(|t| t.as_str()),
            }))}))
        }
        Op::EksDescribeAccessEntry => {
            let r = send!(
                q,
                eks.describe_access_entry()
                    .cluster_name(text(args, "ClusterName")?)
                    .principal_arn(text(args, "PrincipalArn")?)
            );
            Ok(json!({"AccessEntry": r.access_entry().map(|e| json!({
                "ClusterName": e.cluster_name(),
                "PrincipalArn": e.principal_arn(),
                "AccessEntryArn": e.access_entry_arn(),
                "KubernetesGroups": e.kubernetes_groups(),
                "Username": e.username(),
                "Type": e.r#type(),
                "CreatedAt": e.created_at().map(|t| t.to_string()),
            }))}))
        }
        Op::EksListAssociatedAccessPolicies => {
            let r = send!(
                q,
                eks.list_associated_access_policies()
                    .cluster_name(text(args, "ClusterName")?)
                    .principal_arn(text(args, "PrincipalArn")?)
            );
            let policies = each(r.associated_access_policies(), |p| {
                json!({
                    "PolicyArn": p.policy_arn(),
                    "AccessScope": p.access_scope().map(|s| json!({
                        "Type": s.r#type().map(|t| t.as_str()),
                        "Namespaces": s.namespaces(),
                    })),
                })
            });
            Ok(json!({"AssociatedAccessPolicies": policies}))
        }
        Op::EksDeleteAccessEntry => {
            send!(
                q,
                eks.delete_access_entry()
                    .cluster_name(text(args, "ClusterName")?)
                    .principal_arn(text(args, "PrincipalArn")?)
            );
            Ok(json!({}))
        }
        Op::EksListPodIdentityAssociations => {
            let r = send!(
                q,
                eks.list_pod_identity_associations()
                    .cluster_name(text(args, "ClusterName")?)
                    .set_namespace(opt(args, "Namespace"))
                    .set_service_account(opt(args, "ServiceAccount"))
            );
            let found = each(r.associations(), |a| {
                json!({
                    "ClusterName": a.cluster_name(),
                    "Namespace": a.namespace(),
                    "ServiceAccount": a.service_account(),
                    "AssociationArn": a.association_arn(),
                    "AssociationId": a.association_id(),
                })
            });
            Ok(json!({"Associations": found}))
        }
        Op::EksDescribePodIdentityAssociation => {
            let r = send!(
                q,
                eks.describe_pod_identity_association()
                    .cluster_name(text(args, "ClusterName")?)
                    .association_id(text(args, "AssociationId")?)
            );
            Ok(json!({"Association": r.association().map(association)}))
        }
        Op::EksDeletePodIdentityAssociation => {
            let r = send!(
                q,
                eks.delete_pod_identity_association()
                    .cluster_name(text(args, "ClusterName")?)
                    .association_id(text(args, "AssociationId")?)
            );
            Ok(json!({"Association": r.association().map(association)}))
        }
        other => Err(elsewhere(other)),
    }
}

/// A pod identity association as EKS describes it.
fn association(a: &aws_sdk_eks::types::PodIdentityAssociation) -> Value {
    json!({
        "ClusterName": a.cluster_name(),
        "Namespace": a.namespace(),
        "ServiceAccount": a.service_account(),
        "RoleArn": a.role_arn(),
        "AssociationArn": a.association_arn(),
        "AssociationId": a.association_id(),
    })
}
