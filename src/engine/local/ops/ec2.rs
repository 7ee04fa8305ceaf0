//! EC2 calls: instances, their attributes, tags, volumes, network interfaces and instance
//! profile associations. A change made with `dry` is sent with `DryRun=true`.

use serde_json::{Map, Value, json};

use super::{Req, each, elsewhere, missing, text, texts};
use crate::domain::define::Op;
use crate::domain::step::StepError;

/// Makes the call `q` asks for.
pub(super) async fn call(q: &Req<'_, '_>) -> Result<Value, StepError> {
    let (c, args) = (&q.cx.clients, q.args);
    match q.op {
        Op::Ec2DescribeTags => {
            let filters = filters(args)?;
            let r = send!(q, ec2.describe_tags().set_filters(Some(filters)));
            let tags = each(r.tags(), |t| {
                json!({
                    "Key": t.key(),
                    "Value": t.value(),
                    "ResourceId": t.resource_id(),
                    "ResourceType": t.resource_type().map(|r| r.as_str()),
                })
            });
            Ok(json!({"Tags": tags}))
        }
        Op::Ec2DescribeIamInstanceProfileAssociations => {
            let r = send!(
                q,
                ec2.describe_iam_instance_profile_associations()
                    .set_filters(Some(filters(args)?))
            );
            let associations = each(r.iam_instance_profile_associations(), |a| {
                json!({
                    "AssociationId": a.association_id(),
                    "InstanceId": a.instance_id(),
                    "IamInstanceProfile": a.iam_instance_profile().map(|p| json!({
                        "Arn": p.arn(),
                        "Id": p.id(),
                    })),
                    "State": a.state().map(|s| s.as_str()),
                })
            });
            Ok(json!({"IamInstanceProfileAssociations": associations}))
        }
        Op::Ec2DisassociateIamInstanceProfile => {
            let req = c
                .ec2
                .disassociate_iam_instance_profile()
                .association_id(text(args, "AssociationId")?);
            if q.dry {
                // EC2 has no DryRun for this call: a dry run only notes it.
                return Ok(Value::Null);
            }
            q.send(req.send()).await?;
            Ok(json!({}))
        }
        Op::Ec2DescribeInstanceAttribute => {
            let r = send!(
                q,
                ec2.describe_instance_attribute()
                    .instance_id(text(args, "InstanceId")?)
                    .attribute(aws_sdk_ec2::types::InstanceAttributeName::from(text(
                        args,
                        "Attribute",
                    )?))
            );
            let mut out = Map::new();
            if let Some(v) = r.disable_api_termination() {
                out.insert("DisableApiTermination".into(), json!({"Value": v.value()}));
            }
            if let Some(v) = r.instance_initiated_shutdown_behavior() {
                out.insert(
                    "InstanceInitiatedShutdownBehavior".into(),
                    json!({"Value": v.value()}),
                );
            }
            Ok(Value::Object(out))
        }
        Op::Ec2ModifyInstanceAttribute => {
            use aws_sdk_ec2::types::{
                AttributeBooleanValue, AttributeValue, EbsInstanceBlockDeviceSpecification,
                InstanceBlockDeviceMappingSpecification,
            };
            let value = |member: &str| args.get(member).and_then(|v| v.get("Value"));
            let mut req = c
                .ec2
                .modify_instance_attribute()
                .instance_id(text(args, "InstanceId")?);
            if let Some(v) = value("DisableApiTermination").and_then(Value::as_bool) {
                req =
                    req.disable_api_termination(AttributeBooleanValue::builder().value(v).build());
            }
            if let Some(v) = value("InstanceInitiatedShutdownBehavior").and_then(Value::as_str) {
                req = req.instance_initiated_shutdown_behavior(
                    AttributeValue::builder().value(v).build(),
                );
            }
            for m in args
                .get("BlockDeviceMappings")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let keep = m
                    .get("Ebs")
                    .and_then(|e| e.get("DeleteOnTermination"))
                    .and_then(Value::as_bool);
                req = req.block_device_mappings(
                    InstanceBlockDeviceMappingSpecification::builder()
                        .set_device_name(
                            m.get("DeviceName")
                                .and_then(Value::as_str)
                                .map(str::to_string),
                        )
                        .ebs(
                            EbsInstanceBlockDeviceSpecification::builder()
                                .set_delete_on_termination(keep)
                                .build(),
                        )
                        .build(),
                );
            }
            if q.dry {
                q.dry_run(req.dry_run(true).send()).await?;
                return Ok(Value::Null);
            }
            q.send(req.send()).await?;
            Ok(json!({}))
        }
        Op::Ec2CreateTags => {
            use aws_sdk_ec2::types::Tag;
            let tags: Vec<Tag> = args
                .get("Tags")
                .and_then(Value::as_array)
                .map(|ts| {
                    ts.iter()
                        .map(|t| {
                            Tag::builder()
                                .set_key(t.get("Key").and_then(Value::as_str).map(str::to_string))
                                .set_value(
                                    t.get("Value").and_then(Value::as_str).map(str::to_string),
                                )
                                .build()
                        })
                        .collect()
                })
                .ok_or_else(|| missing("Tags"))?;
            let req = c
                .ec2
                .create_tags()
                .set_resources(Some(texts(args, "Resources")?))
                .set_tags(Some(tags));
            if q.dry {
                q.dry_run(req.dry_run(true).send()).await?;
                return Ok(Value::Null);
            }
            q.send(req.send()).await?;
            Ok(json!({}))
        }
        Op::Ec2DescribeInstances => {
            let r = send!(
                q,
                ec2.describe_instances()
                    .set_instance_ids(Some(texts(args, "InstanceIds")?))
            );
            let reservations = each(
                r.reservations(),
                |res| json!({"Instances": each(res.instances(), instance)}),
            );
            Ok(json!({"Reservations": reservations}))
        }
        Op::Ec2StopInstances => {
            let req = c
                .ec2
                .stop_instances()
                .set_instance_ids(Some(texts(args, "InstanceIds")?));
            if q.dry {
                q.dry_run(req.dry_run(true).send()).await?;
                return Ok(Value::Null);
            }
            q.send(req.send()).await?;
            Ok(json!({}))
        }
        Op::Ec2GetConsoleOutput => {
            let r = send!(
                q,
                ec2.get_console_output()
                    .instance_id(text(args, "InstanceId")?)
            );
            Ok(json!({"InstanceId": r.instance_id(), "Output": r.output()}))
        }
        Op::Ec2DescribeVolumes => {
            let r = send!(q, ec2.describe_volumes().set_filters(Some(filters(args)?)));
            let volumes = each(r.volumes(), |v| {
                json!({
                    "VolumeId": v.volume_id(),
                    "Size": v.size(),
                    "VolumeType": v.volume_type().map(|t| t.as_str()),
                    "Encrypted": v.encrypted(),
                    "SnapshotId": v.snapshot_id(),
                    "AvailabilityZone": v.availability_zone(),
                    "State": v.state().map(|s| s.as_str()),
                })
            });
            Ok(json!({"Volumes": volumes}))
        }
        Op::Ec2DescribeNetworkInterfaces => {
            let r = send!(
                q,
                ec2.describe_network_interfaces()
                    .set_filters(Some(filters(args)?))
            );
            let enis = each(r.network_interfaces(), |n| {
                json!({
                    "NetworkInterfaceId": n.network_interface_id(),
                    "VpcId": n.vpc_id(),
                    "SubnetId": n.subnet_id(),
                    "PrivateIpAddress": n.private_ip_address(),
                    "Groups": groups(n.groups()),
                })
            });
            Ok(json!({"NetworkInterfaces": enis}))
        }
        Op::Ec2DescribeSnapshots => {
            let r = send!(
                q,
                ec2.describe_snapshots()
                    .set_snapshot_ids(texts(args, "SnapshotIds").ok())
                    .set_owner_ids(texts(args, "OwnerIds").ok())
                    .set_filters(filters(args).ok())
            );
            let snapshots = each(r.snapshots(), |s| {
                json!({
                    "SnapshotId": s.snapshot_id(),
                    "VolumeId": s.volume_id(),
                    "OwnerId": s.owner_id(),
                    "State": s.state().map(|x| x.as_str()),
                    "VolumeSize": s.volume_size(),
                    "Encrypted": s.encrypted(),
                    "KmsKeyId": s.kms_key_id(),
                    "Description": s.description(),
                    "StartTime": s.start_time().map(|t| t.to_string()),
                    "Tags": tag_list(s.tags()),
                })
            });
            Ok(json!({"Snapshots": snapshots}))
        }
        Op::Ec2DescribeSnapshotAttribute => {
            let r = send!(
                q,
                ec2.describe_snapshot_attribute()
                    .snapshot_id(text(args, "SnapshotId")?)
                    .attribute(aws_sdk_ec2::types::SnapshotAttributeName::from(text(
                        args,
                        "Attribute",
                    )?))
            );
            let permissions = each(r.create_volume_permissions(), |p| {
                let mut m = Map::new();
                if let Some(g) = p.group() {
                    m.insert("Group".into(), json!(g.as_str()));
                }
                if let Some(u) = p.user_id() {
                    m.insert("UserId".into(), json!(u));
                }
                Value::Object(m)
            });
            Ok(json!({"SnapshotId": r.snapshot_id(), "CreateVolumePermissions": permissions}))
        }
        Op::Ec2ModifySnapshotAttribute => {
            let groups: Vec<String> = texts(args, "GroupNames").unwrap_or_default();
            let accounts: Vec<String> = texts(args, "UserIds").unwrap_or_default();
            let req = c
                .ec2
                .modify_snapshot_attribute()
                .snapshot_id(text(args, "SnapshotId")?)
                .attribute(aws_sdk_ec2::types::SnapshotAttributeName::from(text(
                    args,
                    "Attribute",
                )?))
                .operation_type(aws_sdk_ec2::types::OperationType::from(text(
                    args,
                    "OperationType",
                )?))
                .set_group_names((!groups.is_empty()).then_some(groups))
                .set_user_ids((!accounts.is_empty()).then_some(accounts));
            if q.dry {
                q.dry_run(req.dry_run(true).send()).await?;
                return Ok(Value::Null);
            }
            q.send(req.send()).await?;
            Ok(json!({}))
        }
        Op::Ec2DescribeImages => {
            let r = send!(
                q,
                ec2.describe_images()
                    .set_image_ids(Some(texts(args, "ImageIds")?))
            );
            let images = each(r.images(), |i| {
                json!({
                    "ImageId": i.image_id(),
                    "Name": i.name(),
                    "OwnerId": i.owner_id(),
                    "State": i.state().map(|x| x.as_str()),
                    "Public": i.public(),
                    "CreationDate": i.creation_date(),
                    "Description": i.description(),
                    "BlockDeviceMappings": each(i.block_device_mappings(), |m| json!({
                        "DeviceName": m.device_name(),
                        "Ebs": m.ebs().map(|e| json!({
                            "SnapshotId": e.snapshot_id(),
                            "VolumeSize": e.volume_size(),
                            "Encrypted": e.encrypted(),
                        })),
                    })),
                    "Tags": tag_list(i.tags()),
                })
            });
            Ok(json!({"Images": images}))
        }
        Op::Ec2DescribeImageAttribute => {
            let r = send!(
                q,
                ec2.describe_image_attribute()
                    .image_id(text(args, "ImageId")?)
                    .attribute(aws_sdk_ec2::types::ImageAttributeName::from(text(
                        args,
                        "Attribute",
                    )?))
            );
            let permissions = each(r.launch_permissions(), launch_permission);
            Ok(json!({"ImageId": r.image_id(), "LaunchPermissions": permissions}))
        }
        Op::Ec2ModifyImageAttribute => {
            use aws_sdk_ec2::types::{
                LaunchPermission, LaunchPermissionModifications, PermissionGroup,
            };
            let member = |p: &Value, m: &str| p.get(m).and_then(Value::as_str).map(str::to_string);
            let remove: Vec<LaunchPermission> = args
                .get("LaunchPermission")
                .and_then(|l| l.get("Remove"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|p| {
                    LaunchPermission::builder()
                        .set_group(member(p, "Group").map(|g| PermissionGroup::from(g.as_str())))
                        .set_user_id(member(p, "UserId"))
                        .set_organization_arn(member(p, "OrganizationArn"))
                        .set_organizational_unit_arn(member(p, "OrganizationalUnitArn"))
                        .build()
                })
                .collect();
            let req = c
                .ec2
                .modify_image_attribute()
                .image_id(text(args, "ImageId")?)
                .launch_permission(
                    LaunchPermissionModifications::builder()
                        .set_remove(Some(remove))
                        .build(),
                );
            if q.dry {
                q.dry_run(req.dry_run(true).send()).await?;
                return Ok(Value::Null);
            }
            q.send(req.send()).await?;
            Ok(json!({}))
        }
        Op::Ec2DescribeSecurityGroups => {
            let filters = match args.get("Filters") {
                Some(_) => Some(filters(args)?),
                None => None,
            };
            let r = send!(
                q,
                ec2.describe_security_groups()
                    .set_filters(filters)
                    .set_group_ids(texts(args, "GroupIds").ok())
            );
            let groups = each(r.security_groups(), |g| {
                json!({
                    "GroupId": g.group_id(),
                    "GroupName": g.group_name(),
                    "VpcId": g.vpc_id(),
                    "IpPermissions": each(g.ip_permissions(), rule),
                    "IpPermissionsEgress": each(g.ip_permissions_egress(), rule),
                })
            });
            Ok(json!({"SecurityGroups": groups}))
        }
        Op::Ec2DescribeSubnets => {
            let r = send!(
                q,
                ec2.describe_subnets()
                    .set_subnet_ids(Some(texts(args, "SubnetIds")?))
            );
            let subnets = each(r.subnets(), |s| {
                json!({
                    "SubnetId": s.subnet_id(),
                    "VpcId": s.vpc_id(),
                    "AvailabilityZone": s.availability_zone(),
                    "CidrBlock": s.cidr_block(),
                })
            });
            Ok(json!({"Subnets": subnets}))
        }
        Op::Ec2CreateSnapshot => {
            let req = c
                .ec2
                .create_snapshot()
                .volume_id(text(args, "VolumeId")?)
                .set_description(
                    args.get("Description")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                )
                .set_tag_specifications(tag_specifications(args));
            if q.dry {
                q.dry_run(req.dry_run(true).send()).await?;
                return Ok(Value::Null);
            }
            let r = q.send(req.send()).await?;
            Ok(
                json!({"SnapshotId": r.snapshot_id(), "VolumeId": r.volume_id(), "State": r.state().map(|s| s.as_str())}),
            )
        }
        Op::Ec2CreateSecurityGroup => {
            let req = c
                .ec2
                .create_security_group()
                .group_name(text(args, "GroupName")?)
                .description(text(args, "Description")?)
                .vpc_id(text(args, "VpcId")?)
                .set_tag_specifications(tag_specifications(args));
            if q.dry {
                q.dry_run(req.dry_run(true).send()).await?;
                return Ok(Value::Null);
            }
            let r = q.send(req.send()).await?;
            Ok(json!({"GroupId": r.group_id()}))
        }
        Op::Ec2RevokeSecurityGroupEgress => {
            use aws_sdk_ec2::types::{IpPermission, IpRange};
            let rules: Vec<IpPermission> = args
                .get("IpPermissions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|p| {
                    IpPermission::builder()
                        .set_ip_protocol(
                            p.get("IpProtocol")
                                .and_then(Value::as_str)
                                .map(str::to_string),
                        )
                        .set_ip_ranges(p.get("IpRanges").and_then(Value::as_array).map(|rs| {
                            rs.iter()
                                .map(|r| {
                                    IpRange::builder()
                                        .set_cidr_ip(
                                            r.get("CidrIp")
                                                .and_then(Value::as_str)
                                                .map(str::to_string),
                                        )
                                        .build()
                                })
                                .collect()
                        }))
                        .build()
                })
                .collect();
            let req = c
                .ec2
                .revoke_security_group_egress()
                .group_id(text(args, "GroupId")?)
                .set_ip_permissions(Some(rules));
            if q.dry {
                q.dry_run(req.dry_run(true).send()).await?;
                return Ok(Value::Null);
            }
            q.send(req.send()).await?;
            Ok(json!({}))
        }
        other => Err(elsewhere(other)),
    }
}

/// An instance as `DescribeInstances` gives it (the members definitions and evidence read).
fn instance(i: &aws_sdk_ec2::types::Instance) -> Value {
    json!({
        "InstanceId": i.instance_id(),
        "InstanceType": i.instance_type().map(|t| t.as_str()),
        "ImageId": i.image_id(),
        "LaunchTime": i.launch_time().map(|t| t.to_string()),
        "State": {"Name": i.state().and_then(|s| s.name()).map(|n| n.as_str())},
        "VpcId": i.vpc_id(),
        "SubnetId": i.subnet_id(),
        "PrivateIpAddress": i.private_ip_address(),
        "PublicIpAddress": i.public_ip_address(),
        "KeyName": i.key_name(),
        "IamInstanceProfile": i.iam_instance_profile().map(|p| json!({"Arn": p.arn()})),
        "Tags": i.tags().iter().map(|t| json!({"Key": t.key(), "Value": t.value()})).collect::<Vec<_>>(),
        "NetworkInterfaces": i.network_interfaces().iter().map(|n| json!({
            "NetworkInterfaceId": n.network_interface_id(),
            "VpcId": n.vpc_id(),
            "Groups": groups(n.groups()),
        })).collect::<Vec<_>>(),
        "BlockDeviceMappings": i.block_device_mappings().iter().map(|m| json!({
            "DeviceName": m.device_name(),
            "Ebs": m.ebs().map(|e| json!({
                "VolumeId": e.volume_id(),
                "DeleteOnTermination": e.delete_on_termination(),
                "Status": e.status().map(|s| s.as_str()),
            })),
        })).collect::<Vec<_>>(),
    })
}

/// Security groups as `[{GroupId, GroupName}]`.
fn groups(g: &[aws_sdk_ec2::types::GroupIdentifier]) -> Vec<Value> {
    g.iter()
        .map(|g| json!({"GroupId": g.group_id(), "GroupName": g.group_name()}))
        .collect()
}

/// EC2 `Filters`: `[{Name, Values}]`.
fn filters(args: &Map<String, Value>) -> Result<Vec<aws_sdk_ec2::types::Filter>, StepError> {
    args.get("Filters")
        .and_then(Value::as_array)
        .map(|fs| {
            fs.iter()
                .map(|f| {
                    aws_sdk_ec2::types::Filter::builder()
                        .set_name(f.get("Name").and_then(Value::as_str).map(str::to_string))
                        .set_values(f.get("Values").and_then(Value::as_array).map(|v| {
                            v.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_string)
                                .collect()
                        }))
                        .build()
                })
                .collect()
        })
        .ok_or_else(|| missing("Filters"))
}

/// Tags as `[{Key, Value}]`.
fn tag_list(tags: &[aws_sdk_ec2::types::Tag]) -> Vec<Value> {
    each(tags, |t| json!({"Key": t.key(), "Value": t.value()}))
}

/// One launch permission of an image, with only the members it has.
fn launch_permission(p: &aws_sdk_ec2::types::LaunchPermission) -> Value {
    let mut m = Map::new();
    if let Some(g) = p.group() {
        m.insert("Group".into(), json!(g.as_str()));
    }
    for (name, v) in [
        ("UserId", p.user_id()),
        ("OrganizationArn", p.organization_arn()),
        ("OrganizationalUnitArn", p.organizational_unit_arn()),
    ] {
        if let Some(v) = v {
            m.insert(name.into(), json!(v));
        }
    }
    Value::Object(m)
}

/// A security group rule as EC2 gives it.
fn rule(p: &aws_sdk_ec2::types::IpPermission) -> Value {
    json!({
        "IpProtocol": p.ip_protocol(),
        "FromPort": p.from_port(),
        "ToPort": p.to_port(),
        "IpRanges": each(p.ip_ranges(), |r| json!({"CidrIp": r.cidr_ip()})),
        "Ipv6Ranges": each(p.ipv6_ranges(), |r| json!({"CidrIpv6": r.cidr_ipv6()})),
        "UserIdGroupPairs": each(p.user_id_group_pairs(), |g| json!({"GroupId": g.group_id()})),
        "PrefixListIds": each(p.prefix_list_ids(), |l| json!({"PrefixListId": l.prefix_list_id()})),
    })
}

/// `TagSpecifications` as the API names them (`ResourceType`, `Tags` of `Key`/`Value`).
fn tag_specifications(
    args: &serde_json::Map<String, Value>,
) -> Option<Vec<aws_sdk_ec2::types::TagSpecification>> {
    use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
    let specs = args.get("TagSpecifications")?.as_array()?;
    Some(
        specs
            .iter()
            .map(|s| {
                TagSpecification::builder()
                    .set_resource_type(
                        s.get("ResourceType")
                            .and_then(Value::as_str)
                            .map(ResourceType::from),
                    )
                    .set_tags(s.get("Tags").and_then(Value::as_array).map(|tags| {
                        tags.iter()
                            .map(|t| {
                                Tag::builder()
                                    .set_key(
                                        t.get("Key").and_then(Value::as_str).map(str::to_string),
                                    )
                                    .set_value(
                                        t.get("Value").and_then(Value::as_str).map(str::to_string),
                                    )
                                    .build()
                            })
                            .collect()
                    }))
                    .build()
            })
            .collect(),
    )
}
