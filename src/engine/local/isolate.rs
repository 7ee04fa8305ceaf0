//! `ec2.isolate_instance`: every network interface of the instance moved, in two steps, to an
//! isolation security group with no rules (first a group that keeps established connections
//! from being tracked, then the one with no rules), and put back if the second move fails.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{IpPermission, IpRange, ResourceType, Tag, TagSpecification};
use serde_json::json;

use super::ec2::{Eni, SVC, describe, filter};
use super::{Cx, outputs, verify_failed};
use crate::domain::step::{Outcome, StepError};

/// Finds a security group by name in a VPC.
async fn find_group(
    cx: &Cx<'_>,
    vpc: &str,
    name: &str,
) -> Result<Option<aws_sdk_ec2::types::SecurityGroup>, StepError> {
    let out = cx
        .call(
            SVC,
            "DescribeSecurityGroups",
            cx.clients
                .ec2
                .describe_security_groups()
                .filters(filter("vpc-id", vpc))
                .filters(filter("group-name", name))
                .send(),
        )
        .await?;
    Ok(out
        .security_groups()
        .iter()
        .find(|g| g.group_name() == Some(name))
        .cloned())
}

fn all_traffic() -> IpPermission {
    IpPermission::builder()
        .ip_protocol("-1")
        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
        .build()
}

/// Finds a group by name in a VPC, or creates it (tagged) and reads it back, so that its
/// default rules are known.
async fn find_or_create_group(
    cx: &Cx<'_>,
    vpc: &str,
    name: &str,
    description: &str,
) -> Result<aws_sdk_ec2::types::SecurityGroup, StepError> {
    if let Some(g) = find_group(cx, vpc, name).await? {
        return Ok(g);
    }
    let tags = TagSpecification::builder()
        .resource_type(ResourceType::SecurityGroup)
        .tags(Tag::builder().key("Name").value(name).build())
        .tags(
            Tag::builder()
                .key(crate::domain::catalog::names::PURPOSE_TAG)
                .value(crate::domain::catalog::names::PURPOSE_ISOLATION)
                .build(),
        )
        .build();
    let created = cx
        .call(
            SVC,
            "CreateSecurityGroup",
            cx.clients
                .ec2
                .create_security_group()
                .group_name(name)
                .description(description)
                .vpc_id(vpc)
                .tag_specifications(tags)
                .send(),
        )
        .await?;
    let gid = created.group_id().unwrap_or_default().to_string();
    Ok(find_group(cx, vpc, name).await?.unwrap_or_else(|| {
        aws_sdk_ec2::types::SecurityGroup::builder()
            .group_id(gid)
            .group_name(name)
            .build()
    }))
}

/// Finds or creates the transition group (all traffic in and out allowed: every flow becomes
/// untracked) and the isolation group (no rule at all) of one VPC.
async fn isolation_groups(
    cx: &Cx<'_>,
    vpc: &str,
    transition: &str,
    isolation: &str,
) -> Result<(String, String), StepError> {
    let ec2 = &cx.clients.ec2;
    let t = find_or_create_group(
        cx,
        vpc,
        transition,
        "firebreak isolation step 1: allow all so tracked flows become untracked",
    )
    .await?;
    let tid = t.group_id().unwrap_or_default().to_string();
    let has_ingress_all = t.ip_permissions().iter().any(|p| {
        p.ip_protocol() == Some("-1")
            && p.ip_ranges()
                .iter()
                .any(|r| r.cidr_ip() == Some("0.0.0.0/0"))
    });
    if !has_ingress_all {
        match cx
            .call(
                SVC,
                "AuthorizeSecurityGroupIngress",
                ec2.authorize_security_group_ingress()
                    .group_id(&tid)
                    .ip_permissions(all_traffic())
                    .send(),
            )
            .await
        {
            Ok(_) => {}
            Err(e) if e.code == "InvalidPermission.Duplicate" => {}
            Err(e) => return Err(e),
        }
    }
    // A new group allows all egress by default: every rule it has is revoked.
    let i = find_or_create_group(
        cx,
        vpc,
        isolation,
        "firebreak isolation: no inbound and no outbound rules",
    )
    .await?;
    let iid = i.group_id().unwrap_or_default().to_string();
    if !i.ip_permissions_egress().is_empty() {
        cx.call(
            SVC,
            "RevokeSecurityGroupEgress",
            ec2.revoke_security_group_egress()
                .group_id(&iid)
                .set_ip_permissions(Some(i.ip_permissions_egress().to_vec()))
                .send(),
        )
        .await?;
    }
    if !i.ip_permissions().is_empty() {
        cx.call(
            SVC,
            "RevokeSecurityGroupIngress",
            ec2.revoke_security_group_ingress()
                .group_id(&iid)
                .set_ip_permissions(Some(i.ip_permissions().to_vec()))
                .send(),
        )
        .await?;
    }
    Ok((tid, iid))
}

pub(super) async fn isolate_instance(cx: &Cx<'_>) -> Result<Outcome, StepError> {
    let id = cx.str("instance_id")?;
    let isolation = cx
        .opt_str("isolation_group")
        .unwrap_or(crate::domain::catalog::names::ISOLATION_GROUP);
    let transition = cx
        .opt_str("transition_group")
        .unwrap_or(crate::domain::catalog::names::TRANSITION_GROUP);
    let ec2 = &cx.clients.ec2;
    let inst = describe(cx, id).await?;
    let eni_state = |enis: &[Eni]| {
        enis.iter()
            .map(|e| json!({"id": e.id, "vpc_id": e.vpc_id, "groups": e.groups}))
            .collect::<Vec<_>>()
    };
    let mut out = Outcome {
        pre_state: json!({"instance_id": id, "network_interfaces": eni_state(&inst.enis)}),
        ..Default::default()
    };
    if cx.dry_run {
        for e in &inst.enis {
            cx.ec2_dry(
                "ModifyNetworkInterfaceAttribute",
                ec2.modify_network_interface_attribute()
                    .network_interface_id(&e.id)
                    .groups("sg-00000000")
                    .dry_run(true)
                    .send(),
            )
            .await
            .or_else(|err| {
                if err.code.starts_with("InvalidGroup") {
                    Ok(())
                } else {
                    Err(err)
                }
            })?;
            out.planned.push(format!(
                "move {} to {transition}, then to {isolation} (no rules) in {}",
                e.id, e.vpc_id
            ));
        }
        return Ok(out);
    }
    let mut vpcs: BTreeMap<String, (String, String)> = BTreeMap::new();
    for e in &inst.enis {
        if !vpcs.contains_key(&e.vpc_id) {
            let groups = isolation_groups(cx, &e.vpc_id, transition, isolation).await?;
            vpcs.insert(e.vpc_id.clone(), groups);
        }
    }
    for e in &inst.enis {
        let (tid, iid) = &vpcs[&e.vpc_id];
        if e.groups == [iid.clone()] {
            continue;
        }
        for (i, group) in [tid, iid].into_iter().enumerate() {
            let moved = cx
                .call(
                    SVC,
                    "ModifyNetworkInterfaceAttribute",
                    ec2.modify_network_interface_attribute()
                        .network_interface_id(&e.id)
                        .groups(group)
                        .send(),
                )
                .await;
            match moved {
                Ok(_) => {}
                Err(err) if i == 0 => return Err(err),
                // In the transition group (all traffic allowed) but not isolated: never left
                // there. Back to the groups it had, and the error says where it is.
                Err(err) => {
                    let back = cx
                        .call(
                            SVC,
                            "ModifyNetworkInterfaceAttribute",
                            ec2.modify_network_interface_attribute()
                                .network_interface_id(&e.id)
                                .set_groups(Some(e.groups.clone()))
                                .send(),
                        )
                        .await;
                    let where_now = match back {
                        Ok(_) => format!("put back in its groups {:?}", e.groups),
                        Err(b) => format!(
                            "LEFT IN THE TRANSITION GROUP {tid}, which allows all traffic: move it to {iid} by hand ({}: {})",
                            b.code, b.message
                        ),
                    };
                    return Err(StepError {
                        message: format!("{}; interface {} was {where_now}", err.message, e.id),
                        ..err
                    });
                }
            }
        }
        out.changed = true;
    }
    let ids: Vec<String> = inst.enis.iter().map(|e| e.id.clone()).collect();
    let after = cx
        .call(
            SVC,
            "DescribeNetworkInterfaces",
            ec2.describe_network_interfaces()
                .set_network_interface_ids(Some(ids.clone()))
                .send(),
        )
        .await?;
    for n in after.network_interfaces() {
        let groups: Vec<&str> = n.groups().iter().filter_map(|g| g.group_id()).collect();
        let want = &vpcs[n.vpc_id().unwrap_or_default()].1;
        if groups != [want.as_str()] {
            return Err(verify_failed(format!(
                "{} reads back with groups {groups:?}, not only {want}",
                n.network_interface_id().unwrap_or_default()
            )));
        }
    }
    out.outputs = outputs([
        (
            "isolation_group_ids",
            json!(vpcs.values().map(|v| &v.1).collect::<Vec<_>>()),
        ),
        ("network_interface_ids", json!(ids)),
    ]);
    out.post_state = json!({"instance_id": id, "network_interfaces": after.network_interfaces().iter().map(|n| json!({"id": n.network_interface_id(), "groups": n.groups().iter().filter_map(|g| g.group_id()).collect::<Vec<_>>()})).collect::<Vec<_>>()});
    Ok(out)
}
