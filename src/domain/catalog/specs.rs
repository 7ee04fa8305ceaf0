//! Each action's catalog entry: parameters and defaults, outputs, permissions, effect, and
//! what only one engine does.

use super::*;
use crate::domain::define;

impl Action {
    pub fn spec(self) -> &'static Spec {
        match self {
            Action::IamCaptureUser => {
                const S: &Spec = &Spec {
                    name: "iam.capture_user",
                    doc: "Record an IAM user's tags, keys (with last use), policies, groups, login profile and MFA devices.",
                    undo: "",
                    effect: Effect::Capture,
                    params: &[USER],
                    outputs: &[
                        out("user_arn", Type::String, "the user's ARN"),
                        out(
                            "access_key_ids",
                            Type::StringList,
                            "every access key of the user",
                        ),
                        out(
                            "active_access_key_ids",
                            Type::StringList,
                            "the keys that were Active",
                        ),
                        out(
                            "attached_policy_arns",
                            Type::StringList,
                            "managed policies attached",
                        ),
                        out(
                            "inline_policy_names",
                            Type::StringList,
                            "inline policy names",
                        ),
                        out("groups", Type::StringList, "group names"),
                        out(
                            "has_login_profile",
                            Type::Boolean,
                            "whether a console password exists",
                        ),
                        out("mfa_serials", Type::StringList, "MFA device serial numbers"),
                    ],
                    fixed_tags: &[],
                    how: How::Defined(&define::iam::CAPTURE_USER),
                };
                S
            }
            Action::IamCaptureRole => {
                const S: &Spec = &Spec {
                    name: "iam.capture_role",
                    doc: "Record an IAM role's trust policy, attached and inline policies and instance profiles.",
                    undo: "",
                    effect: Effect::Capture,
                    params: &[ROLE],
                    outputs: &[
                        out("role_arn", Type::String, "the role's ARN"),
                        out(
                            "attached_policy_arns",
                            Type::StringList,
                            "managed policies attached",
                        ),
                        out(
                            "inline_policy_names",
                            Type::StringList,
                            "inline policy names",
                        ),
                        out(
                            "instance_profile_names",
                            Type::StringList,
                            "instance profiles holding the role",
                        ),
                    ],
                    fixed_tags: &[],
                    how: How::Defined(&define::iam::CAPTURE_ROLE),
                };
                S
            }
            Action::IamDeactivateAccessKey => {
                const S: &Spec = &Spec {
                    name: "iam.deactivate_access_key",
                    doc: "Set exactly the given access key to Inactive (never deleted, never the user's other keys).",
                    undo: "Once the key is rotated or cleared: `aws iam update-access-key --user-name {user_name} --access-key-id {access_key_id} --status Active` (it was {previous_status}).",
                    effect: Effect::Contain,
                    params: &[
                        USER,
                        req(
                            "access_key_id",
                            Type::String,
                            "the access key id from the finding (AKIA…)",
                        ),
                    ],
                    outputs: &[out(
                        "previous_status",
                        Type::String,
                        "Active or Inactive before the change",
                    )],
                    fixed_tags: &[],
                    how: How::Defined(&define::iam::DEACTIVATE_ACCESS_KEY),
                };
                S
            }
            Action::IamDenyAllUser => {
                const S: &Spec = &Spec {
                    name: "iam.deny_all_user",
                    doc: "Attach AWS's managed policy AWSDenyAll to a user, stopping every key and console session.",
                    undo: "Once the user's credentials are rotated: `aws iam detach-user-policy --user-name {user_name} --policy-arn arn:aws:iam::aws:policy/AWSDenyAll`.",
                    effect: Effect::Contain,
                    params: &[USER],
                    outputs: &[],
                    fixed_tags: &[],
                    how: How::Defined(&define::iam::DENY_ALL_USER),
                };
                S
            }
            Action::IamDeleteLoginProfile => {
                const S: &Spec = &Spec {
                    name: "iam.delete_login_profile",
                    doc: "Delete a user's console password (opt-in: the user must be given a new one later).",
                    undo: "Give the user a new console password: `aws iam create-login-profile --user-name {user_name} --password-reset-required --password …`.",
                    effect: Effect::Contain,
                    params: &[USER],
                    outputs: &[out(
                        "had_login_profile",
                        Type::Boolean,
                        "whether a password existed",
                    )],
                    fixed_tags: &[],
                    how: How::Defined(&define::iam::DELETE_LOGIN_PROFILE),
                };
                S
            }
            Action::IamDeactivateMfaDevices => {
                const S: &Spec = &Spec {
                    name: "iam.deactivate_mfa_devices",
                    doc: "Deactivate a user's MFA devices, optionally only those enabled after a time (attacker-registered).",
                    undo: "Have the user register their own MFA device again (the deactivated ones: {deactivated_serials}).",
                    effect: Effect::Contain,
                    params: &[
                        USER,
                        opt(
                            "enabled_after",
                            Type::String,
                            None,
                            "ISO 8601 time; only devices enabled after it",
                        ),
                    ],
                    outputs: &[out(
                        "deactivated_serials",
                        Type::StringList,
                        "serials deactivated",
                    )],
                    fixed_tags: &[],
                    how: How::Defined(&define::iam::DEACTIVATE_MFA_DEVICES),
                };
                S
            }
            Action::IamRevokeRoleSessions => {
                const S: &Spec = &Spec {
                    name: "iam.revoke_role_sessions",
                    doc: "Deny every session of a role issued before now (aws:TokenIssueTime inline policy); a revocation in place is kept only if it denies everything and is later than the last activity.",
                    undo: "New sessions work already; to let sessions issued before {issued_before} work again: `aws iam delete-role-policy --role-name {role_name} --policy-name {policy_name}`.",
                    effect: Effect::Contain,
                    params: &[
                        ROLE,
                        opt(
                            "policy_name",
                            Type::String,
                            Some("\"AWSRevokeOlderSessions\""),
                            "inline policy name",
                        ),
                        opt(
                            "last_activity",
                            Type::String,
                            None,
                            "ISO 8601 time of the latest activity to cover (the finding's service.eventLastSeen); omitted: now",
                        ),
                    ],
                    outputs: &[out(
                        "issued_before",
                        Type::String,
                        "sessions issued before this time are denied",
                    )],
                    fixed_tags: &[],
                    how: How::Defined(&define::iam::REVOKE_ROLE_SESSIONS),
                };
                S
            }
            Action::Ec2CaptureInstance => {
                const S: &Spec = &Spec {
                    name: "ec2.capture_instance",
                    doc: "Record the instance, its console output, attached volumes, network interfaces and profile.",
                    undo: "",
                    effect: Effect::Capture,
                    params: &[INSTANCE],
                    outputs: &[
                        out("state", Type::String, "instance state name"),
                        out("vpc_id", Type::String, "the instance's VPC"),
                        out("volume_ids", Type::StringList, "attached EBS volumes"),
                        out("network_interface_ids", Type::StringList, "attached ENIs"),
                        out("security_group_ids", Type::StringList, "groups on any ENI"),
                        out(
                            "instance_profile_arn",
                            Type::String,
                            "associated instance profile, or empty",
                        ),
                        out(
                            "autoscaling_group",
                            Type::String,
                            "Auto Scaling group name, or empty",
                        ),
                    ],
                    fixed_tags: &[],
                    how: How::Defined(&define::ec2::CAPTURE_INSTANCE),
                };
                S
            }
            Action::Ec2PreserveInstance => {
                const S: &Spec = &Spec {
                    name: "ec2.preserve_instance",
                    doc: "Turn on termination protection, stop-on-shutdown and DeleteOnTermination=false for every volume.",
                    undo: "When the investigation is over: `aws ec2 modify-instance-attribute --instance-id {instance_id} --no-disable-api-termination`, and the shutdown behaviour and the volumes' delete-on-termination ({volume_ids}) as they were (this step's evidence, pre_state).",
                    effect: Effect::Contain,
                    params: &[INSTANCE],
                    outputs: &[out(
                        "volume_ids",
                        Type::StringList,
                        "volumes now kept on termination",
                    )],
                    fixed_tags: &[],
                    how: How::Defined(&define::ec2::PRESERVE_INSTANCE),
                };
                S
            }
            Action::Ec2SnapshotVolumes => {
                const S: &Spec = &Spec {
                    name: "ec2.snapshot_volumes",
                    doc: "Snapshot every attached volume in parallel, tagged with the incident and finding ids; wait for completion.",
                    undo: "The snapshots are evidence ({snapshot_ids}): delete them only when the case is closed and its retention allows.",
                    effect: Effect::Contain,
                    params: &[
                        INSTANCE,
                        opt(
                            "tags",
                            Type::StringMap,
                            None,
                            "extra tags for every snapshot",
                        ),
                        wait("wait until every snapshot is completed"),
                    ],
                    outputs: &[out(
                        "snapshot_ids",
                        Type::StringList,
                        "one snapshot per volume",
                    )],
                    fixed_tags: &[
                        ("firebreak:finding-id", Fixed::FindingId),
                        ("firebreak:execution-id", Fixed::ExecutionId),
                        ("firebreak:instance-id", Fixed::InstanceId),
                    ],
                    how: How::Defined(&define::ec2::SNAPSHOT_VOLUMES),
                };
                S
            }
            Action::AutoscalingDetachInstance => {
                const S: &Spec = &Spec {
                    name: "autoscaling.detach_instance",
                    doc: "Detach the instance from its Auto Scaling group (desired capacity kept) so it is not replaced or terminated.",
                    undo: "`aws autoscaling attach-instances --auto-scaling-group-name {group_name} --instance-ids {instance_id}` (only a clean instance; the group has launched a replacement).",
                    effect: Effect::Contain,
                    params: &[INSTANCE],
                    outputs: &[out(
                        "group_name",
                        Type::String,
                        "the group it left, or empty",
                    )],
                    fixed_tags: &[],
                    how: How::Defined(&define::ec2::DETACH_INSTANCE),
                };
                S
            }
            Action::Elbv2DeregisterInstance => {
                const S: &Spec = &Spec {
                    name: "elbv2.deregister_instance",
                    doc: "Deregister the instance from every load balancer target group it is in.",
                    undo: "`aws elbv2 register-targets --target-group-arn ARN --targets Id={instance_id}` for each group it was taken out of ({target_group_arns}).",
                    effect: Effect::Contain,
                    params: &[INSTANCE],
                    outputs: &[out(
                        "target_group_arns",
                        Type::StringList,
                        "groups it was removed from",
                    )],
                    fixed_tags: &[],
                    how: How::Defined(&define::elbv2::DEREGISTER_INSTANCE),
                };
                S
            }
            Action::Ec2DisassociateInstanceProfile => {
                const S: &Spec = &Spec {
                    name: "ec2.disassociate_instance_profile",
                    doc: "Remove the instance profile so the instance gets no more role credentials.",
                    undo: "`aws ec2 associate-iam-instance-profile --instance-id {instance_id} --iam-instance-profile Arn={instance_profile_arn}` (only once the role's credentials are rotated).",
                    effect: Effect::Contain,
                    params: &[INSTANCE],
                    outputs: &[
                        out(
                            "instance_profile_arn",
                            Type::String,
                            "the profile removed, or empty",
                        ),
                        out("role_name", Type::String, "the profile's role, or empty"),
                    ],
                    fixed_tags: &[],
                    how: How::Defined(&define::ec2::DISASSOCIATE_INSTANCE_PROFILE),
                };
                S
            }
            Action::Ec2IsolateInstance => {
                const S: &Spec = &Spec {
                    name: "ec2.isolate_instance",
                    doc: "Two-step isolation per ENI: an allow-all transition group (untracks flows), then a group with no rules.",
                    undo: "Put each interface back in its groups: `aws ec2 modify-network-interface-attribute --network-interface-id ENI --groups …` (the groups before are in this step's evidence, pre_state).",
                    effect: Effect::Contain,
                    params: &[
                        INSTANCE,
                        opt(
                            "isolation_group",
                            Type::String,
                            Some("\"firebreak-isolation\""),
                            "name of the no-rules group (per VPC)",
                        ),
                        opt(
                            "transition_group",
                            Type::String,
                            Some("\"firebreak-isolation-transition\""),
                            "name of the allow-all transition group (per VPC)",
                        ),
                    ],
                    outputs: &[
                        out(
                            "isolation_group_ids",
                            Type::StringList,
                            "isolation groups used, one per VPC",
                        ),
                        out("network_interface_ids", Type::StringList, "ENIs isolated"),
                    ],
                    fixed_tags: &[],
                    how: How::Hand {
                        written: Written::IsolateInstance,
                        permissions: &[
                            "ec2:DescribeInstances",
                            "ec2:DescribeNetworkInterfaces",
                            "ec2:DescribeSecurityGroups",
                            "ec2:CreateSecurityGroup",
                            "ec2:AuthorizeSecurityGroupIngress",
                            "ec2:RevokeSecurityGroupIngress",
                            "ec2:RevokeSecurityGroupEgress",
                            "ec2:ModifyNetworkInterfaceAttribute",
                            "ec2:CreateTags",
                        ],
                        engine_only: &[
                            // Local finds the instance's ENIs with DescribeInstances, a state
                            // machine filters DescribeNetworkInterfaces by attachment.
                            ("ec2:DescribeInstances", Engine::Local),
                        ],
                        sfn_unavailable: &[],
                    },
                };
                S
            }
            Action::Ec2TagInstance => {
                const S: &Spec = &Spec {
                    name: "ec2.tag_instance",
                    doc: "Tag the instance (incident id, time, containment state).",
                    undo: "`aws ec2 delete-tags --resources {instance_id} --tags Key=…` for the tags firebreak added.",
                    effect: Effect::Contain,
                    params: &[INSTANCE, req("tags", Type::StringMap, "tags to set")],
                    outputs: &[],
                    fixed_tags: &[],
                    how: How::Defined(&define::ec2::TAG_INSTANCE),
                };
                S
            }
            Action::Ec2StopInstance => {
                const S: &Spec = &Spec {
                    name: "ec2.stop_instance",
                    doc: "Stop the instance (opt-in: memory is lost). Never terminates.",
                    undo: "`aws ec2 start-instances --instance-ids {instance_id}` (it was {previous_state}; its memory is gone; start it only once it is clean).",
                    effect: Effect::Contain,
                    params: &[INSTANCE],
                    outputs: &[out("previous_state", Type::String, "state before stopping")],
                    fixed_tags: &[],
                    how: How::Defined(&define::ec2::STOP_INSTANCE),
                };
                S
            }
            Action::Ec2CaptureSnapshot => {
                const S: &Spec = &Spec {
                    name: "ec2.capture_snapshot",
                    doc: "Record an EBS snapshot as EC2 describes it and who may create volumes from it.",
                    undo: "",
                    effect: Effect::Capture,
                    params: &[SNAPSHOT],
                    outputs: &[
                        out("volume_id", Type::String, "the volume it was taken of"),
                        out("owner_id", Type::String, "the account that owns it"),
                        out(
                            "shared_groups",
                            Type::StringList,
                            "groups that could use it (`all`: public)",
                        ),
                        out(
                            "shared_accounts",
                            Type::StringList,
                            "other accounts it was shared with",
                        ),
                    ],
                    fixed_tags: &[],
                    how: How::Defined(&define::artifact::CAPTURE_SNAPSHOT),
                };
                S
            }
            Action::Ec2MakeSnapshotPrivate => {
                const S: &Spec = &Spec {
                    name: "ec2.make_snapshot_private",
                    doc: "Remove every share of an EBS snapshot: public and with other accounts. Never deletes it.",
                    undo: "Once the snapshot is clean or deleted, share it again only where it must be: `aws ec2 modify-snapshot-attribute --snapshot-id {snapshot_id} --attribute createVolumePermission --operation-type add --user-ids ACCOUNT` (it was shared with {shared_accounts}, groups {shared_groups}).",
                    effect: Effect::Contain,
                    params: &[SNAPSHOT],
                    outputs: &[
                        out(
                            "shared_groups",
                            Type::StringList,
                            "groups that could use it (`all`: public)",
                        ),
                        out(
                            "shared_accounts",
                            Type::StringList,
                            "other accounts it was shared with",
                        ),
                    ],
                    fixed_tags: &[],
                    how: How::Defined(&define::artifact::MAKE_SNAPSHOT_PRIVATE),
                };
                S
            }
            Action::Ec2TagSnapshot => {
                const S: &Spec = &Spec {
                    name: "ec2.tag_snapshot",
                    doc: "Tag an EBS snapshot (the finding, quarantine); its other tags are untouched.",
                    undo: "`aws ec2 delete-tags --resources {snapshot_id} --tags Key=…` for the tags firebreak added.",
                    effect: Effect::Contain,
                    params: &[SNAPSHOT, req("tags", Type::StringMap, "tags to set")],
                    outputs: &[],
                    fixed_tags: &[],
                    how: How::Defined(&define::artifact::TAG_SNAPSHOT),
                };
                S
            }
            Action::Ec2CaptureImage => {
                const S: &Spec = &Spec {
                    name: "ec2.capture_image",
                    doc: "Record an AMI as EC2 describes it (its snapshots too) and who may launch it.",
                    undo: "",
                    effect: Effect::Capture,
                    params: &[IMAGE],
                    outputs: &[
                        out("owner_id", Type::String, "the account that owns it"),
                        out(
                            "shared_groups",
                            Type::StringList,
                            "groups that could use it (`all`: public)",
                        ),
                        out(
                            "shared_accounts",
                            Type::StringList,
                            "other accounts it was shared with",
                        ),
                    ],
                    fixed_tags: &[],
                    how: How::Defined(&define::artifact::CAPTURE_IMAGE),
                };
                S
            }
            Action::Ec2MakeImagePrivate => {
                const S: &Spec = &Spec {
                    name: "ec2.make_image_private",
                    doc: "Remove every launch permission of an AMI: public, accounts, organizations and units. Never deregisters it.",
                    undo: "Once the image is clean, share it again only where it must be: `aws ec2 modify-image-attribute --image-id {image_id} --attribute launchPermission --operation-type add --user-ids ACCOUNT` (it was shared with {shared_accounts}, groups {shared_groups}).",
                    effect: Effect::Contain,
                    params: &[IMAGE],
                    outputs: &[
                        out(
                            "shared_groups",
                            Type::StringList,
                            "groups that could use it (`all`: public)",
                        ),
                        out(
                            "shared_accounts",
                            Type::StringList,
                            "other accounts it was shared with",
                        ),
                    ],
                    fixed_tags: &[],
                    how: How::Defined(&define::artifact::MAKE_IMAGE_PRIVATE),
                };
                S
            }
            Action::Ec2TagImage => {
                const S: &Spec = &Spec {
                    name: "ec2.tag_image",
                    doc: "Tag an AMI (the finding, quarantine); its other tags are untouched.",
                    undo: "`aws ec2 delete-tags --resources {image_id} --tags Key=…` for the tags firebreak added.",
                    effect: Effect::Contain,
                    params: &[IMAGE, req("tags", Type::StringMap, "tags to set")],
                    outputs: &[],
                    fixed_tags: &[],
                    how: How::Defined(&define::artifact::TAG_IMAGE),
                };
                S
            }
            Action::LambdaCaptureFunction => {
                const S: &Spec = &Spec {
                    name: "lambda.capture_function",
                    doc: "Record a Lambda function: its configuration (not its environment's values), code SHA-256, execution role, reserved concurrency, resource policy, function URL and event source mappings.",
                    undo: "",
                    effect: Effect::Capture,
                    params: &[FUNCTION],
                    outputs: &[
                        out("function_arn", Type::String, "the function's ARN"),
                        out("role_arn", Type::String, "its execution role"),
                        out(
                            "code_sha256",
                            Type::String,
                            "the SHA-256 of its deployment package (base64)",
                        ),
                        out(
                            "reserved_concurrency",
                            Type::Integer,
                            "its reserved concurrency; null when none",
                        ),
                        out(
                            "has_policy",
                            Type::Boolean,
                            "whether it has a resource-based policy",
                        ),
                        out(
                            "function_url",
                            Type::String,
                            "its function URL; empty when none",
                        ),
                        out(
                            "event_source_mappings",
                            Type::StringList,
                            "the UUIDs of its event source mappings",
                        ),
                    ],
                    fixed_tags: &[],
                    how: How::Defined(&define::lambda::CAPTURE_FUNCTION),
                };
                S
            }
            Action::LambdaThrottleFunction => {
                const S: &Spec = &Spec {
                    name: "lambda.throttle_function",
                    doc: "Set a Lambda function's reserved concurrency to 0: every invocation (URL, triggers, direct calls) is throttled. Never deletes it.",
                    undo: "Once the function is clean: `aws lambda delete-function-concurrency --function-name {function_name}` (it had {previous_concurrency}; null: none), or `put-function-concurrency` with the old value.",
                    effect: Effect::Contain,
                    params: &[FUNCTION],
                    outputs: &[out(
                        "previous_concurrency",
                        Type::Integer,
                        "reserved concurrency before; null when none",
                    )],
                    fixed_tags: &[],
                    how: How::Defined(&define::lambda::THROTTLE_FUNCTION),
                };
                S
            }
            Action::LambdaDisableEventSourceMappings => {
                const S: &Spec = &Spec {
                    name: "lambda.disable_event_source_mappings",
                    doc: "Disable every event source mapping of a Lambda function (kept, not deleted), so that no queue or stream invokes it.",
                    undo: "`aws lambda update-event-source-mapping --uuid UUID --enabled` for each of {disabled_mappings}.",
                    effect: Effect::Contain,
                    params: &[FUNCTION],
                    outputs: &[out(
                        "disabled_mappings",
                        Type::StringList,
                        "the UUIDs of the mappings disabled",
                    )],
                    fixed_tags: &[],
                    how: How::Defined(&define::lambda::DISABLE_EVENT_SOURCE_MAPPINGS),
                };
                S
            }
            Action::LambdaRestrictFunctionUrl => {
                const S: &Spec = &Spec {
                    name: "lambda.restrict_function_url",
                    doc: "Make a Lambda function URL that anyone can call (AuthType NONE) require AWS credentials (AWS_IAM). The URL is kept.",
                    undo: "Only if the function must be public again: `aws lambda update-function-url-config --function-name {function_name} --auth-type NONE` (it was {previous_auth_type}).",
                    effect: Effect::Contain,
                    params: &[FUNCTION],
                    outputs: &[
                        out(
                            "function_url",
                            Type::String,
                            "the function URL; empty when none",
                        ),
                        out(
                            "previous_auth_type",
                            Type::String,
                            "NONE, AWS_IAM, or empty when there is no URL",
                        ),
                    ],
                    fixed_tags: &[],
                    how: How::Defined(&define::lambda::RESTRICT_FUNCTION_URL),
                };
                S
            }
            Action::LambdaRemovePublicPermissions => {
                const S: &Spec = &Spec {
                    name: "lambda.remove_public_permissions",
                    doc: "Remove every statement of a Lambda function's resource policy that grants to any principal (\"Principal\": \"*\"), whatever its conditions; the other statements stay, and the policy is recorded first.",
                    undo: "Only once the function is trusted again: put each removed statement ({removed}) back with `aws lambda add-permission --function-name {function_name}`, from the policy in this step's pre-state.",
                    effect: Effect::Contain,
                    params: &[FUNCTION],
                    outputs: &[out(
                        "removed",
                        Type::StringList,
                        "the Sids of the statements removed",
                    )],
                    fixed_tags: &[],
                    how: How::Defined(&define::lambda::REMOVE_PUBLIC_PERMISSIONS),
                };
                S
            }
            Action::Ec2CreateIsolationGroup => {
                const S: &Spec = &Spec {
                    name: "ec2.create_isolation_group",
                    doc: "Make sure the VPC has firebreak's isolation security group, with no inbound and no outbound rule (refused when one of that name has rules).",
                    undo: "Once nothing is isolated in it: `aws ec2 delete-security-group --group-id GROUP` (the group firebreak-isolation of VPC {vpc_id}).",
                    effect: Effect::Contain,
                    params: &[VPC],
                    outputs: &[],
                    fixed_tags: &[],
                    how: How::Defined(&define::isolation::CREATE_ISOLATION_GROUP),
                };
                S
            }
            Action::Ec2CaptureIsolationGroup => {
                const S: &Spec = &Spec {
                    name: "ec2.capture_isolation_group",
                    doc: "Record the id of the VPC's isolation security group (empty when it has none).",
                    undo: "",
                    effect: Effect::Capture,
                    params: &[VPC],
                    outputs: &[out(
                        "group_id",
                        Type::String,
                        "the isolation group; empty when none",
                    )],
                    fixed_tags: &[],
                    how: How::Defined(&define::isolation::CAPTURE_ISOLATION_GROUP),
                };
                S
            }
            Action::RdsCaptureDbInstance => rds::CAPTURE_DB_INSTANCE,
            Action::RdsSnapshotDbInstance => rds::SNAPSHOT_DB_INSTANCE,
            Action::RdsSnapshotDbCluster => rds::SNAPSHOT_DB_CLUSTER,
            Action::RdsIsolateDbInstance => rds::ISOLATE_DB_INSTANCE,
            Action::RdsIsolateDbCluster => rds::ISOLATE_DB_CLUSTER,
            Action::RdsMakeDbInstancePrivate => rds::MAKE_DB_INSTANCE_PRIVATE,
            Action::RdsRotateMasterPassword => rds::ROTATE_MASTER_PASSWORD,
            Action::RdsRotateClusterMasterPassword => rds::ROTATE_CLUSTER_MASTER_PASSWORD,
            Action::EcsCaptureTask => ecs::CAPTURE_TASK,
            Action::EcsProtectTask => ecs::PROTECT_TASK,
            Action::EcsStopTask => ecs::STOP_TASK,
            Action::EcsIsolateService => ecs::ISOLATE_SERVICE,
            Action::EcsScaleServiceToZero => ecs::SCALE_SERVICE_TO_ZERO,
            Action::EksCaptureCluster => eks::CAPTURE_CLUSTER,
            Action::EksRestrictEndpoint => eks::RESTRICT_ENDPOINT,
            Action::EksDeleteAccessEntry => eks::DELETE_ACCESS_ENTRY,
            Action::EksDeletePodIdentityAssociation => eks::DELETE_POD_IDENTITY_ASSOCIATION,
            Action::BackupCaptureRecoveryPoint => backup::CAPTURE_RECOVERY_POINT,
            Action::BackupQuarantineRecoveryPoint => backup::QUARANTINE_RECOVERY_POINT,
            Action::BackupTagRecoveryPoint => backup::TAG_RECOVERY_POINT,
            Action::S3CaptureBucket => s3::CAPTURE_BUCKET,
            Action::S3BlockPublicAccess => s3::BLOCK_PUBLIC_ACCESS,
            Action::S3DenyPrincipal => s3::DENY_PRINCIPAL,
            Action::S3EnableVersioning => s3::ENABLE_VERSIONING,
            Action::S3QuarantineObject => s3::QUARANTINE_OBJECT,
            Action::S3CopyToQuarantine => s3::COPY_TO_QUARANTINE,
            Action::SnsPublish => {
                const S: &Spec = &Spec {
                    name: "sns.publish",
                    doc: "Publish a message to an SNS topic.",
                    undo: "",
                    effect: Effect::Notify,
                    params: &[
                        req("topic_arn", Type::String, "SNS topic ARN"),
                        req("message", Type::String, "message text"),
                        opt(
                            "subject",
                            Type::String,
                            None,
                            "subject for e-mail subscribers (at most 100 characters: a longer one is cut)",
                        )
                        .at_most(100),
                    ],
                    outputs: &[out("message_id", Type::String, "SNS message id")],
                    fixed_tags: &[],
                    how: How::Defined(&define::notify::PUBLISH),
                };
                S
            }
            Action::HttpWebhook => {
                const S: &Spec = &Spec {
                    name: "http.webhook",
                    doc: "POST a JSON body with a Slack-compatible `text` field (plus finding and execution ids) to a URL.",
                    undo: "",
                    effect: Effect::Notify,
                    params: &[
                        req("url", Type::String, "https URL to POST to"),
                        req("text", Type::String, "message text (Slack `text`)"),
                    ],
                    outputs: &[out("status", Type::Integer, "HTTP status code")],
                    fixed_tags: &[],
                    how: How::Defined(&define::notify::WEBHOOK),
                };
                S
            }
        }
    }
}

pub(super) const fn req(name: &'static str, ty: Type, doc: &'static str) -> Param {
    Param {
        name,
        ty,
        required: true,
        default: None,
        doc,
        max_chars: None,
    }
}

/// The `wait` parameter of an action whose read-back waits for AWS (`Until`): on by default;
/// false reads once. `until` says what it waits for.
pub(super) const fn wait(until: &'static str) -> Param {
    opt("wait", Type::Boolean, Some("true"), until)
}

pub(super) const fn opt(
    name: &'static str,
    ty: Type,
    default: Option<&'static str>,
    doc: &'static str,
) -> Param {
    Param {
        name,
        ty,
        required: false,
        default,
        doc,
        max_chars: None,
    }
}

pub(super) const fn out(name: &'static str, ty: Type, doc: &'static str) -> Output {
    Output { name, ty, doc }
}

/// The isolation group a resource is moved into (an output of `ec2.capture_isolation_group`).
pub(super) const ISOLATION_GROUP: Param = req(
    "group_id",
    Type::String,
    "the isolation group (ec2.capture_isolation_group)",
);

/// The security groups a resource had before it was moved into the isolation group.
pub(super) const PREVIOUS_GROUPS: Output = out(
    "previous_security_group_ids",
    Type::StringList,
    "its groups before",
);

const USER: Param = req("user_name", Type::String, "IAM user name");

const ROLE: Param = req("role_name", Type::String, "IAM role name");

const INSTANCE: Param = req("instance_id", Type::String, "EC2 instance id (i-…)");

const SNAPSHOT: Param = req("snapshot_id", Type::String, "EBS snapshot id (snap-…)");

const IMAGE: Param = req("image_id", Type::String, "AMI id (ami-…)");

const FUNCTION: Param = req("function_name", Type::String, "Lambda function name or ARN");

const VPC: Param = req("vpc_id", Type::String, "VPC id (vpc-…)");
