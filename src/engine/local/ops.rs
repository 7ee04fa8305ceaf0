//! One adapter per AWS operation of the step vocabulary (`crate::domain::define::Op`): the call's
//! parameters (members as the API names them, as JSON) to an SDK request, and its answer to
//! the JSON Step Functions' SDK integrations give (the members definitions read). Every call is
//! recorded and its error classified by [`Cx::call`].

use serde_json::{Map, Value, json};

use super::Cx;
use crate::domain::define::Op;
use crate::domain::step::StepError;

/// Makes `op` with `args`; with `dry`, an EC2 change is sent with `DryRun=true` (and answers
/// `null`).
pub(super) async fn call(
    cx: &Cx<'_>,
    op: Op,
    args: &Map<String, Value>,
    dry: bool,
) -> Result<Value, StepError> {
    let svc = op.service();
    let name = op.name();
    let c = &cx.clients;
    match op {
        Op::IamGetLoginProfile => {
            let r = cx
                .call(
                    svc,
                    name,
                    c.iam
                        .get_login_profile()
                        .user_name(text(args, "UserName")?)
                        .send(),
                )
                .await?;
            let p = r.login_profile();
            Ok(json!({"LoginProfile": {
                "UserName": p.map(|p| p.user_name()),
                "CreateDate": p.map(|p| p.create_date().to_string()),
                "PasswordResetRequired": p.map(|p| p.password_reset_required()),
            }}))
        }
        Op::IamDeleteLoginProfile => {
            cx.call(
                svc,
                name,
                c.iam
                    .delete_login_profile()
                    .user_name(text(args, "UserName")?)
                    .send(),
            )
            .await?;
            Ok(json!({}))
        }
        Op::IamGetUser => {
            let r = cx
                .call(svc, name, c.iam.get_user().user_name(user(args)?).send())
                .await?;
            let u = r.user();
            Ok(json!({"User": {
                "UserName": u.map(|u| u.user_name()),
                "UserId": u.map(|u| u.user_id()),
                "Arn": u.map(|u| u.arn()),
                "Path": u.map(|u| u.path()),
                "CreateDate": u.map(|u| u.create_date().to_string()),
                "PasswordLastUsed": u.and_then(|u| u.password_last_used()).map(|d| d.to_string()),
            }}))
        }
        Op::IamListUserTags => {
            let r = cx
                .call(
                    svc,
                    name,
                    c.iam.list_user_tags().user_name(user(args)?).send(),
                )
                .await?;
            let tags: Vec<Value> = r
                .tags()
                .iter()
                .map(|t| json!({"Key": t.key(), "Value": t.value()}))
                .collect();
            Ok(json!({"Tags": tags, "IsTruncated": r.is_truncated()}))
        }
        Op::IamListAttachedUserPolicies => {
            let r = cx
                .call(
                    svc,
                    name,
                    c.iam
                        .list_attached_user_policies()
                        .user_name(user(args)?)
                        .send(),
                )
                .await?;
            let policies: Vec<Value> = r
                .attached_policies()
                .iter()
                .map(|p| json!({"PolicyName": p.policy_name(), "PolicyArn": p.policy_arn()}))
                .collect();
            Ok(json!({"AttachedPolicies": policies, "IsTruncated": r.is_truncated()}))
        }
        Op::IamListUserPolicies => {
            let r = cx
                .call(
                    svc,
                    name,
                    c.iam.list_user_policies().user_name(user(args)?).send(),
                )
                .await?;
            Ok(json!({"PolicyNames": r.policy_names(), "IsTruncated": r.is_truncated()}))
        }
        Op::IamListGroupsForUser => {
            let r = cx
                .call(
                    svc,
                    name,
                    c.iam.list_groups_for_user().user_name(user(args)?).send(),
                )
                .await?;
            let groups: Vec<Value> = r
                .groups()
                .iter()
                .map(|g| json!({"GroupName": g.group_name(), "GroupId": g.group_id(), "Arn": g.arn()}))
                .collect();
            Ok(json!({"Groups": groups, "IsTruncated": r.is_truncated()}))
        }
        Op::IamGetAccessKeyLastUsed => {
            let r = cx
                .call(
                    svc,
                    name,
                    c.iam
                        .get_access_key_last_used()
                        .access_key_id(text(args, "AccessKeyId")?)
                        .send(),
                )
                .await?;
            let l = r.access_key_last_used();
            Ok(json!({"UserName": r.user_name(), "AccessKeyLastUsed": {
                "LastUsedDate": l.and_then(|l| l.last_used_date()).map(|d| d.to_string()),
                "ServiceName": l.map(|l| l.service_name()),
                "Region": l.map(|l| l.region()),
            }}))
        }
        Op::IamGetRole => {
            let r = cx
                .call(svc, name, c.iam.get_role().role_name(role(args)?).send())
                .await?;
            let r = r.role();
            Ok(json!({"Role": {
                "RoleName": r.map(|r| r.role_name()),
                "RoleId": r.map(|r| r.role_id()),
                "Arn": r.map(|r| r.arn()),
                "Path": r.map(|r| r.path()),
                "CreateDate": r.map(|r| r.create_date().to_string()),
                "AssumeRolePolicyDocument": r.and_then(|r| r.assume_role_policy_document()),
                "MaxSessionDuration": r.and_then(|r| r.max_session_duration()),
            }}))
        }
        Op::IamListAttachedRolePolicies => {
            let r = cx
                .call(
                    svc,
                    name,
                    c.iam
                        .list_attached_role_policies()
                        .role_name(role(args)?)
                        .send(),
                )
                .await?;
            let policies: Vec<Value> = r
                .attached_policies()
                .iter()
                .map(|p| json!({"PolicyName": p.policy_name(), "PolicyArn": p.policy_arn()}))
                .collect();
            Ok(json!({"AttachedPolicies": policies, "IsTruncated": r.is_truncated()}))
        }
        Op::IamListRolePolicies => {
            let r = cx
                .call(
                    svc,
                    name,
                    c.iam.list_role_policies().role_name(role(args)?).send(),
                )
                .await?;
            Ok(json!({"PolicyNames": r.policy_names(), "IsTruncated": r.is_truncated()}))
        }
        Op::IamListInstanceProfilesForRole => {
            let r = cx
                .call(
                    svc,
                    name,
                    c.iam
                        .list_instance_profiles_for_role()
                        .role_name(role(args)?)
                        .send(),
                )
                .await?;
            let profiles: Vec<Value> = r
                .instance_profiles()
                .iter()
                .map(|p| {
                    json!({
                        "InstanceProfileName": p.instance_profile_name(),
                        "InstanceProfileId": p.instance_profile_id(),
                        "Arn": p.arn(),
                    })
                })
                .collect();
            Ok(json!({"InstanceProfiles": profiles, "IsTruncated": r.is_truncated()}))
        }
        Op::IamListAccessKeys => {
            let r = cx
                .call(
                    svc,
                    name,
                    c.iam
                        .list_access_keys()
                        .user_name(text(args, "UserName")?)
                        .send(),
                )
                .await?;
            let keys: Vec<Value> = r
                .access_key_metadata()
                .iter()
                .map(|k| {
                    json!({
                        "UserName": k.user_name(),
                        "AccessKeyId": k.access_key_id(),
                        "Status": k.status().map(|s| s.as_str()),
                        "CreateDate": k.create_date().map(|d| d.to_string()),
                    })
                })
                .collect();
            Ok(json!({"AccessKeyMetadata": keys, "IsTruncated": r.is_truncated()}))
        }
        Op::IamUpdateAccessKey => {
            let status = text(args, "Status")?;
            cx.call(
                svc,
                name,
                c.iam
                    .update_access_key()
                    .user_name(text(args, "UserName")?)
                    .access_key_id(text(args, "AccessKeyId")?)
                    .status(aws_sdk_iam::types::StatusType::from(status))
                    .send(),
            )
            .await?;
            Ok(json!({}))
        }
        Op::IamListMfaDevices => {
            let r = cx
                .call(
                    svc,
                    name,
                    c.iam
                        .list_mfa_devices()
                        .user_name(text(args, "UserName")?)
                        .send(),
                )
                .await?;
            let devices: Vec<Value> = r
                .mfa_devices()
                .iter()
                .map(|d| {
                    json!({
                        "UserName": d.user_name(),
                        "SerialNumber": d.serial_number(),
                        "EnableDate": d.enable_date().to_string(),
                    })
                })
                .collect();
            Ok(json!({"MFADevices": devices, "IsTruncated": r.is_truncated()}))
        }
        Op::IamDeactivateMfaDevice => {
            cx.call(
                svc,
                name,
                c.iam
                    .deactivate_mfa_device()
                    .user_name(text(args, "UserName")?)
                    .serial_number(text(args, "SerialNumber")?)
                    .send(),
            )
            .await?;
            Ok(json!({}))
        }
        Op::AutoscalingDescribeAutoScalingInstances => {
            let r = cx
                .call(
                    svc,
                    name,
                    c.autoscaling
                        .describe_auto_scaling_instances()
                        .set_instance_ids(Some(texts(args, "InstanceIds")?))
                        .send(),
                )
                .await?;
            let instances: Vec<Value> = r
                .auto_scaling_instances()
                .iter()
                .map(|i| {
                    json!({
                        "InstanceId": i.instance_id(),
                        "AutoScalingGroupName": i.auto_scaling_group_name(),
                        "LifecycleState": i.lifecycle_state(),
                        "HealthStatus": i.health_status(),
                    })
                })
                .collect();
            Ok(json!({"AutoScalingInstances": instances}))
        }
        Op::AutoscalingDetachInstances => {
            cx.call(
                svc,
                name,
                c.autoscaling
                    .detach_instances()
                    .auto_scaling_group_name(text(args, "AutoScalingGroupName")?)
                    .set_instance_ids(Some(texts(args, "InstanceIds")?))
                    .should_decrement_desired_capacity(
                        args.get("ShouldDecrementDesiredCapacity")
                            .and_then(Value::as_bool)
                            .unwrap_or(false),
                    )
                    .send(),
            )
            .await?;
            Ok(json!({}))
        }
        Op::S3GetBucketPolicy => {
            let r = cx
                .call(
                    svc,
                    name,
                    c.s3.get_bucket_policy()
                        .bucket(text(args, "Bucket")?)
                        .set_expected_bucket_owner(opt(args, "ExpectedBucketOwner"))
                        .send(),
                )
                .await?;
            Ok(json!({"Policy": r.policy()}))
        }
        Op::S3GetBucketAcl => {
            let r = cx
                .call(
                    svc,
                    name,
                    c.s3.get_bucket_acl()
                        .bucket(text(args, "Bucket")?)
                        .set_expected_bucket_owner(opt(args, "ExpectedBucketOwner"))
                        .send(),
                )
                .await?;
            let grants: Vec<Value> = r
                .grants()
                .iter()
                .map(|g| {
                    let x = g.grantee();
                    json!({
                        "Grantee": {
                            "Type": x.map(|x| x.r#type().as_str()),
                            "ID": x.and_then(|x| x.id()),
                            "URI": x.and_then(|x| x.uri()),
                            "DisplayName": x.and_then(|x| x.display_name()),
                        },
                        "Permission": g.permission().map(|p| p.as_str()),
                    })
                })
                .collect();
            Ok(json!({
                "Owner": {"ID": r.owner().and_then(|o| o.id()), "DisplayName": r.owner().and_then(|o| o.display_name())},
                "Grants": grants,
            }))
        }
        Op::S3GetBucketOwnershipControls => {
            let r = cx
                .call(
                    svc,
                    name,
                    c.s3.get_bucket_ownership_controls()
                        .bucket(text(args, "Bucket")?)
                        .set_expected_bucket_owner(opt(args, "ExpectedBucketOwner"))
                        .send(),
                )
                .await?;
            let rules: Vec<Value> = r
                .ownership_controls()
                .map(|c| c.rules())
                .unwrap_or_default()
                .iter()
                .map(|r| json!({"ObjectOwnership": r.object_ownership().as_str()}))
                .collect();
            Ok(json!({"OwnershipControls": {"Rules": rules}}))
        }
        Op::Ec2DescribeTags => {
            let filters = filters(args)?;
            let r = cx
                .call(
                    svc,
                    name,
                    c.ec2.describe_tags().set_filters(Some(filters)).send(),
                )
                .await?;
            let tags: Vec<Value> = r
                .tags()
                .iter()
                .map(|t| {
                    json!({
                        "Key": t.key(),
                        "Value": t.value(),
                        "ResourceId": t.resource_id(),
                        "ResourceType": t.resource_type().map(|r| r.as_str()),
                    })
                })
                .collect();
            Ok(json!({"Tags": tags}))
        }
        Op::Ec2DescribeIamInstanceProfileAssociations => {
            let r = cx
                .call(
                    svc,
                    name,
                    c.ec2
                        .describe_iam_instance_profile_associations()
                        .set_filters(Some(filters(args)?))
                        .send(),
                )
                .await?;
            let associations: Vec<Value> = r
                .iam_instance_profile_associations()
                .iter()
                .map(|a| {
                    json!({
                        "AssociationId": a.association_id(),
                        "InstanceId": a.instance_id(),
                        "IamInstanceProfile": a.iam_instance_profile().map(|p| json!({
                            "Arn": p.arn(),
                            "Id": p.id(),
                        })),
                        "State": a.state().map(|s| s.as_str()),
                    })
                })
                .collect();
            Ok(json!({"IamInstanceProfileAssociations": associations}))
        }
        Op::Ec2DisassociateIamInstanceProfile => {
            let req = c
                .ec2
                .disassociate_iam_instance_profile()
                .association_id(text(args, "AssociationId")?);
            if dry {
                // EC2 has no DryRun for this call: a dry run only notes it.
                return Ok(Value::Null);
            }
            cx.call(svc, name, req.send()).await?;
            Ok(json!({}))
        }
        Op::IamGetInstanceProfile => {
            let r = cx
                .call(
                    svc,
                    name,
                    c.iam
                        .get_instance_profile()
                        .instance_profile_name(text(args, "InstanceProfileName")?)
                        .send(),
                )
                .await?;
            let p = r.instance_profile();
            Ok(json!({"InstanceProfile": {
                "InstanceProfileName": p.map(|p| p.instance_profile_name()),
                "Arn": p.map(|p| p.arn()),
                "Roles": p.map(|p| p.roles().iter().map(|r| json!({
                    "RoleName": r.role_name(),
                    "Arn": r.arn(),
                })).collect::<Vec<_>>()),
            }}))
        }
        Op::Ec2DescribeInstanceAttribute => {
            let r = cx
                .call(
                    svc,
                    name,
                    c.ec2
                        .describe_instance_attribute()
                        .instance_id(text(args, "InstanceId")?)
                        .attribute(aws_sdk_ec2::types::InstanceAttributeName::from(text(
                            args,
                            "Attribute",
                        )?))
                        .send(),
                )
                .await?;
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
            if dry {
                cx.ec2_dry(name, req.dry_run(true).send()).await?;
                return Ok(Value::Null);
            }
            cx.call(svc, name, req.send()).await?;
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
            if dry {
                cx.ec2_dry(name, req.dry_run(true).send()).await?;
                return Ok(Value::Null);
            }
            cx.call(svc, name, req.send()).await?;
            Ok(json!({}))
        }
        Op::S3GetBucketVersioning => {
            let status = super::s3::versioning_status(
                cx,
                text(args, "Bucket")?,
                opt(args, "ExpectedBucketOwner"),
            )
            .await?;
            Ok(if status.is_empty() {
                json!({})
            } else {
                json!({"Status": status})
            })
        }
        Op::S3PutBucketVersioning => {
            use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
            let status = args
                .get("VersioningConfiguration")
                .and_then(|v| v.get("Status"))
                .and_then(Value::as_str)
                .ok_or_else(|| missing("VersioningConfiguration.Status"))?;
            cx.call(
                svc,
                name,
                c.s3.put_bucket_versioning()
                    .bucket(text(args, "Bucket")?)
                    .set_expected_bucket_owner(opt(args, "ExpectedBucketOwner"))
                    .versioning_configuration(
                        VersioningConfiguration::builder()
                            .status(BucketVersioningStatus::from(status))
                            .build(),
                    )
                    .send(),
            )
            .await?;
            Ok(json!({}))
        }
        Op::S3GetPublicAccessBlock => {
            let r = cx
                .call(
                    svc,
                    name,
                    c.s3.get_public_access_block()
                        .bucket(text(args, "Bucket")?)
                        .set_expected_bucket_owner(opt(args, "ExpectedBucketOwner"))
                        .send(),
                )
                .await?;
            let p = r.public_access_block_configuration();
            Ok(json!({"PublicAccessBlockConfiguration": {
                "BlockPublicAcls": p.and_then(|p| p.block_public_acls()),
                "IgnorePublicAcls": p.and_then(|p| p.ignore_public_acls()),
                "BlockPublicPolicy": p.and_then(|p| p.block_public_policy()),
                "RestrictPublicBuckets": p.and_then(|p| p.restrict_public_buckets()),
            }}))
        }
        Op::S3PutPublicAccessBlock => {
            use aws_sdk_s3::types::PublicAccessBlockConfiguration;
            let flag = |f: &str| {
                args.get("PublicAccessBlockConfiguration")
                    .and_then(|c| c.get(f))
                    .and_then(Value::as_bool)
            };
            let config = PublicAccessBlockConfiguration::builder()
                .set_block_public_acls(flag("BlockPublicAcls"))
                .set_ignore_public_acls(flag("IgnorePublicAcls"))
                .set_block_public_policy(flag("BlockPublicPolicy"))
                .set_restrict_public_buckets(flag("RestrictPublicBuckets"))
                .build();
            cx.call(
                svc,
                name,
                c.s3.put_public_access_block()
                    .bucket(text(args, "Bucket")?)
                    .set_expected_bucket_owner(opt(args, "ExpectedBucketOwner"))
                    .public_access_block_configuration(config)
                    .send(),
            )
            .await?;
            Ok(json!({}))
        }
        Op::Ec2DescribeInstances => {
            let r = cx
                .call(
                    svc,
                    name,
                    c.ec2
                        .describe_instances()
                        .set_instance_ids(Some(texts(args, "InstanceIds")?))
                        .send(),
                )
                .await?;
            let reservations: Vec<Value> = r
                .reservations()
                .iter()
                .map(|res| {
                    let instances: Vec<Value> = res.instances().iter().map(instance).collect();
                    json!({"Instances": instances})
                })
                .collect();
            Ok(json!({"Reservations": reservations}))
        }
        Op::Ec2StopInstances => {
            let req = c
                .ec2
                .stop_instances()
                .set_instance_ids(Some(texts(args, "InstanceIds")?));
            if dry {
                cx.ec2_dry(name, req.dry_run(true).send()).await?;
                return Ok(Value::Null);
            }
            cx.call(svc, name, req.send()).await?;
            Ok(json!({}))
        }
        Op::Ec2GetConsoleOutput => {
            let r = cx
                .call(
                    svc,
                    name,
                    c.ec2
                        .get_console_output()
                        .instance_id(text(args, "InstanceId")?)
                        .send(),
                )
                .await?;
            Ok(json!({"InstanceId": r.instance_id(), "Output": r.output()}))
        }
        Op::Ec2DescribeVolumes => {
            let r = cx
                .call(
                    svc,
                    name,
                    c.ec2
                        .describe_volumes()
                        .set_filters(Some(filters(args)?))
                        .send(),
                )
                .await?;
            let volumes: Vec<Value> = r
                .volumes()
                .iter()
                .map(|v| {
                    json!({
                        "VolumeId": v.volume_id(),
                        "Size": v.size(),
                        "VolumeType": v.volume_type().map(|t| t.as_str()),
                        "Encrypted": v.encrypted(),
                        "SnapshotId": v.snapshot_id(),
                        "AvailabilityZone": v.availability_zone(),
                        "State": v.state().map(|s| s.as_str()),
                    })
                })
                .collect();
            Ok(json!({"Volumes": volumes}))
        }
        Op::Ec2DescribeNetworkInterfaces => {
            let r = cx
                .call(
                    svc,
                    name,
                    c.ec2
                        .describe_network_interfaces()
                        .set_filters(Some(filters(args)?))
                        .send(),
                )
                .await?;
            let enis: Vec<Value> = r
                .network_interfaces()
                .iter()
                .map(|n| {
                    json!({
                        "NetworkInterfaceId": n.network_interface_id(),
                        "VpcId": n.vpc_id(),
                        "SubnetId": n.subnet_id(),
                        "PrivateIpAddress": n.private_ip_address(),
                        "Groups": groups(n.groups()),
                    })
                })
                .collect();
            Ok(json!({"NetworkInterfaces": enis}))
        }
        Op::SnsPublish => {
            let r = cx
                .call(
                    svc,
                    name,
                    c.sns
                        .publish()
                        .topic_arn(text(args, "TopicArn")?)
                        .message(text(args, "Message")?)
                        .set_subject(opt(args, "Subject"))
                        .send(),
                )
                .await?;
            Ok(json!({"MessageId": r.message_id()}))
        }
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

fn role(args: &Map<String, Value>) -> Result<&str, StepError> {
    text(args, "RoleName")
}

fn user(args: &Map<String, Value>) -> Result<&str, StepError> {
    text(args, "UserName")
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

fn missing(member: &str) -> StepError {
    StepError::permanent("BindError", format!("the call has no `{member}`"))
}

fn text<'a>(args: &'a Map<String, Value>, member: &str) -> Result<&'a str, StepError> {
    args.get(member)
        .and_then(Value::as_str)
        .ok_or_else(|| missing(member))
}

fn opt(args: &Map<String, Value>, member: &str) -> Option<String> {
    args.get(member).and_then(Value::as_str).map(str::to_string)
}

fn texts(args: &Map<String, Value>, member: &str) -> Result<Vec<String>, StepError> {
    args.get(member)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .ok_or_else(|| missing(member))
}
