//! EC2 actions in the step vocabulary.

use super::{Arg, Ask, Cmp, Cond, Def, Lit, Op, Pick, Refusal, Where};

const INSTANCE: &[(&str, Arg)] = &[("InstanceIds", Arg::ListOf("instance_id"))];

const READ_STATE: Ask = Ask::to(Op::Ec2DescribeInstances, INSTANCE).keeping(&[Pick::first(
    "state",
    "Reservations[*].Instances[*].State.Name",
)]);

/// `ec2.stop_instance`: the instance stopping or stopped.
pub const STOP_INSTANCE: Def = Def {
    before: &[READ_STATE],
    refuse: &[],
    done_when: Cond::Any(&[
        Cond::Is("before.state", Lit::Text("stopped")),
        Cond::Is("before.state", Lit::Text("stopping")),
    ]),
    plan: "stop {instance_id}",
    change: &[Ask::to(Op::Ec2StopInstances, INSTANCE)],
    after: &[READ_STATE],
    verified_when: Some(Cond::Any(&[
        Cond::Is("after.state", Lit::Text("stopped")),
        Cond::Is("after.state", Lit::Text("stopping")),
    ])),
    unverified: "instance {instance_id} does not read back as stopping or stopped",
    outputs: &[("previous_state", "before.state")],
};

/// The first item of `list` whose `key` is the instance's id: its `take`.
const fn of_instance(list: &'static str, take: &'static [&'static str]) -> Where {
    Where {
        list,
        key: "InstanceId",
        is: Arg::Param("instance_id"),
        cmp: Cmp::Eq,
        except: &[],
        take,
        first: true,
    }
}

/// The instance's Auto Scaling group and lifecycle state (none when it is in no group).
const MEMBERSHIP: Ask = Ask::to(Op::AutoscalingDescribeAutoScalingInstances, INSTANCE).keeping(&[
    Pick::selected(
        "autoscaling_group",
        &of_instance("AutoScalingInstances", &["AutoScalingGroupName"]),
        Lit::Text(""),
    ),
    Pick::selected(
        "lifecycle_state",
        &of_instance("AutoScalingInstances", &["LifecycleState"]),
        Lit::Null,
    ),
]);

/// Out of its group, or on the way out (`Detaching`, `Detached`).
const fn out_of_group(state: &'static str) -> [Cond; 3] {
    [
        Cond::Is(state, Lit::Null),
        Cond::Is(state, Lit::Text("Detaching")),
        Cond::Is(state, Lit::Text("Detached")),
    ]
}

const OUT_BEFORE: [Cond; 3] = out_of_group("before.lifecycle_state");
const OUT_AFTER: [Cond; 3] = out_of_group("after.lifecycle_state");

/// `autoscaling.detach_instance`: the instance out of its Auto Scaling group, the desired
/// capacity kept (so the group neither replaces it now nor terminates it later).
pub const DETACH_INSTANCE: Def = Def {
    before: &[MEMBERSHIP],
    refuse: &[],
    done_when: Cond::Any(&OUT_BEFORE),
    plan: "detach {instance_id} from its Auto Scaling group, keeping the desired capacity",
    change: &[Ask::to(
        Op::AutoscalingDetachInstances,
        &[
            (
                "AutoScalingGroupName",
                Arg::Value("before.autoscaling_group"),
            ),
            ("InstanceIds", Arg::ListOf("instance_id")),
            ("ShouldDecrementDesiredCapacity", Arg::Bool(false)),
        ],
    )],
    after: &[MEMBERSHIP],
    verified_when: Some(Cond::Any(&OUT_AFTER)),
    unverified: "instance {instance_id} is still in its Auto Scaling group",
    outputs: &[("group_name", "before.autoscaling_group")],
};

/// The instance exists (EC2 answers `InvalidInstanceID.NotFound` when not: tags on a missing
/// id would be refused only by AWS, not by every emulator).
const EXISTS: Ask = Ask::to(Op::Ec2DescribeInstances, INSTANCE).keeping(&[Pick::present("exists")]);

/// The instance's tags, as `[{Key, Value}]`.
const TAGS: Ask = Ask::to(
    Op::Ec2DescribeTags,
    &[(
        "Filters",
        Arg::List(&[Arg::Obj(&[
            ("Name", Arg::Text("resource-id")),
            ("Values", Arg::ListOf("instance_id")),
        ])]),
    )],
)
.keeping(&[Pick::selected(
    "tags",
    &Where::every("Tags", "Key", &["Key", "Value"], false),
    Lit::Null,
)]);

/// `ec2.tag_instance`: every tag given on the instance (others untouched).
pub const TAG_INSTANCE: Def = Def {
    before: &[EXISTS, TAGS],
    refuse: &[],
    done_when: Cond::Includes("before.tags", "tags"),
    plan: "tag {instance_id} with the given tags",
    change: &[Ask::to(
        Op::Ec2CreateTags,
        &[
            ("Resources", Arg::ListOf("instance_id")),
            ("Tags", Arg::Tags("tags")),
        ],
    )],
    after: &[TAGS],
    verified_when: Some(Cond::Includes("after.tags", "tags")),
    unverified: "instance {instance_id} does not read back with every tag",
    outputs: &[],
};

/// The instance's instance profile association (EC2 lists only `associated` ones with the
/// filter): its id and the profile's ARN, empty when there is none.
const ASSOCIATION: Ask = Ask::to(
    Op::Ec2DescribeIamInstanceProfileAssociations,
    &[(
        "Filters",
        Arg::List(&[
            Arg::Obj(&[
                ("Name", Arg::Text("instance-id")),
                ("Values", Arg::ListOf("instance_id")),
            ]),
            Arg::Obj(&[
                ("Name", Arg::Text("state")),
                ("Values", Arg::List(&[Arg::Text("associated")])),
            ]),
        ]),
    )],
)
.keeping(&[
    Pick::selected(
        "association",
        &of_instance("IamInstanceProfileAssociations", &["AssociationId"]),
        Lit::Text(""),
    ),
    Pick::selected(
        "profile_arn",
        &of_instance(
            "IamInstanceProfileAssociations",
            &["IamInstanceProfile.Arn"],
        ),
        Lit::Text(""),
    ),
]);

/// `ec2.disassociate_instance_profile`: the instance without its instance profile, so that it
/// gets no more role credentials; outputs the profile and its role (empty when it had none, or
/// the profile is gone from IAM).
pub const DISASSOCIATE_INSTANCE_PROFILE: Def = Def {
    before: &[
        ASSOCIATION,
        Ask::to(
            Op::IamGetInstanceProfile,
            &[(
                "InstanceProfileName",
                Arg::LastPart("before.profile_arn", "/"),
            )],
        )
        .only_when(Cond::Not(&Cond::Is("before.association", Lit::Text(""))))
        .absent_on(&["NoSuchEntity"], None)
        .keeping(&[Pick::selected(
            "role",
            &Where::every("InstanceProfile.Roles", "RoleName", &["RoleName"], true),
            Lit::Text(""),
        )]),
    ],
    refuse: &[],
    done_when: Cond::Is("before.association", Lit::Text("")),
    plan: "remove the instance profile of {instance_id}",
    change: &[Ask::to(
        Op::Ec2DisassociateIamInstanceProfile,
        &[("AssociationId", Arg::Value("before.association"))],
    )],
    after: &[ASSOCIATION],
    verified_when: Some(Cond::Is("after.association", Lit::Text(""))),
    unverified: "instance {instance_id} still has an instance profile association",
    outputs: &[
        ("instance_profile_arn", "before.profile_arn"),
        ("role_name", "before.role"),
    ],
};

/// The instance's termination protection.
const PROTECTED: Ask = Ask::to(
    Op::Ec2DescribeInstanceAttribute,
    &[
        ("InstanceId", Arg::Param("instance_id")),
        ("Attribute", Arg::Text("disableApiTermination")),
    ],
)
.keeping(&[Pick::at(
    "protected",
    "DisableApiTermination.Value",
    Lit::Bool(false),
)]);

/// What the instance does when it is shut down from inside (`stop` or `terminate`).
const SHUTDOWN: Ask = Ask::to(
    Op::Ec2DescribeInstanceAttribute,
    &[
        ("InstanceId", Arg::Param("instance_id")),
        ("Attribute", Arg::Text("instanceInitiatedShutdownBehavior")),
    ],
)
.keeping(&[Pick::at(
    "shutdown",
    "InstanceInitiatedShutdownBehavior.Value",
    Lit::Text(""),
)]);

/// The block devices of the instance (`DescribeInstances`).
const MAPPINGS: &str = "Reservations[*].Instances[*].BlockDeviceMappings";

/// The instance's EBS volumes: the devices deleted with it, and every volume's id.
const DEVICES: Ask = Ask::to(Op::Ec2DescribeInstances, INSTANCE).keeping(&[
    Pick::selected(
        "deleting",
        &Where {
            list: MAPPINGS,
            key: "Ebs.DeleteOnTermination",
            is: Arg::Bool(true),
            cmp: Cmp::Eq,
            except: &[],
            take: &["DeviceName"],
            first: false,
        },
        Lit::Null,
    ),
    Pick::selected(
        "volumes",
        &Where::every(MAPPINGS, "DeviceName", &["Ebs.VolumeId"], false),
        Lit::Null,
    ),
]);

/// Protected from termination, stopped (not terminated) by a shutdown from inside, and no
/// volume deleted with it.
const fn preserved(
    protected: &'static str,
    shutdown: &'static str,
    deleting: &'static str,
) -> [Cond; 3] {
    [
        Cond::Is(protected, Lit::Bool(true)),
        Cond::Is(shutdown, Lit::Text("stop")),
        Cond::Empty(deleting),
    ]
}

const PRESERVED_BEFORE: [Cond; 3] =
    preserved("before.protected", "before.shutdown", "before.deleting");
const PRESERVED_AFTER: [Cond; 3] = preserved("after.protected", "after.shutdown", "after.deleting");

/// `ec2.preserve_instance`: the instance and its volumes kept for the investigation whatever
/// is done to it: termination protection on, a shutdown from inside stops it, and every volume
/// is kept when it is terminated.
pub const PRESERVE_INSTANCE: Def = Def {
    before: &[PROTECTED, SHUTDOWN, DEVICES],
    refuse: &[],
    done_when: Cond::All(&PRESERVED_BEFORE),
    plan: "turn on termination protection of {instance_id}, make a shutdown stop it and keep its volumes on termination",
    change: &[
        Ask::to(
            Op::Ec2ModifyInstanceAttribute,
            &[
                ("InstanceId", Arg::Param("instance_id")),
                (
                    "DisableApiTermination",
                    Arg::Obj(&[("Value", Arg::Bool(true))]),
                ),
            ],
        )
        .only_when(Cond::Not(&Cond::Is("before.protected", Lit::Bool(true)))),
        Ask::to(
            Op::Ec2ModifyInstanceAttribute,
            &[
                ("InstanceId", Arg::Param("instance_id")),
                (
                    "InstanceInitiatedShutdownBehavior",
                    Arg::Obj(&[("Value", Arg::Text("stop"))]),
                ),
            ],
        )
        .only_when(Cond::Not(&Cond::Is("before.shutdown", Lit::Text("stop")))),
        Ask::to(
            Op::Ec2ModifyInstanceAttribute,
            &[
                ("InstanceId", Arg::Param("instance_id")),
                (
                    "BlockDeviceMappings",
                    Arg::List(&[Arg::Obj(&[
                        ("DeviceName", Arg::Item),
                        (
                            "Ebs",
                            Arg::Obj(&[("DeleteOnTermination", Arg::Bool(false))]),
                        ),
                    ])]),
                ),
            ],
        )
        .for_each("before.deleting"),
    ],
    after: &[PROTECTED, SHUTDOWN, DEVICES],
    verified_when: Some(Cond::All(&PRESERVED_AFTER)),
    unverified: "instance {instance_id} does not read back with termination protection, shutdown behaviour stop and every volume kept",
    outputs: &[("volume_ids", "before.volumes")],
};

/// Resources attached to the instance (`attachment.instance-id`).
const ATTACHED: &[(&str, Arg)] = &[(
    "Filters",
    Arg::List(&[Arg::Obj(&[
        ("Name", Arg::Text("attachment.instance-id")),
        ("Values", Arg::ListOf("instance_id")),
    ])]),
)];

/// `ec2.capture_instance`: the instance as EC2 describes it, its console output (best
/// effort), attached volumes, network interfaces, instance profile and Auto Scaling group.
pub const CAPTURE_INSTANCE: Def = Def::capture(
    &[
        Ask::to(Op::Ec2DescribeInstances, INSTANCE).keeping(&[
            Pick::first("state", "Reservations[*].Instances[*].State.Name"),
            Pick::first("vpc_id", "Reservations[*].Instances[*].VpcId"),
            Pick::each(
                "eni_ids",
                "Reservations[*].Instances[*].NetworkInterfaces[*].NetworkInterfaceId",
            ),
            Pick::distinct(
                "group_ids",
                "Reservations[*].Instances[*].NetworkInterfaces[*].Groups[*].GroupId",
            ),
            Pick::each("instance", "Reservations[*].Instances[*]"),
        ]),
        // An instance without console output (or one EC2 will not give) is recorded, not a
        // failed capture: containment waits for this step.
        Ask::to(
            Op::Ec2GetConsoleOutput,
            &[("InstanceId", Arg::Param("instance_id"))],
        )
        .best_effort()
        .keeping(&[Pick::decoded("console_output", "Output")]),
        Ask::to(Op::Ec2DescribeVolumes, ATTACHED).keeping(&[
            Pick::each("volume_ids", "Volumes[*].VolumeId"),
            Pick::selected(
                "volumes",
                &Where::every(
                    "Volumes",
                    "VolumeId",
                    // Members every volume has (a volume made from no snapshot has no
                    // `SnapshotId` on every implementation: the evidence's record of the
                    // answer has it).
                    &["VolumeId", "Size", "VolumeType", "Encrypted"],
                    false,
                ),
                Lit::Null,
            ),
        ]),
        Ask::to(Op::Ec2DescribeNetworkInterfaces, ATTACHED).keeping(&[Pick::selected(
            "network_interfaces",
            &Where::every(
                "NetworkInterfaces",
                "NetworkInterfaceId",
                &[
                    "NetworkInterfaceId",
                    "VpcId",
                    "SubnetId",
                    "PrivateIpAddress",
                    "Groups",
                ],
                false,
            ),
            Lit::Null,
        )]),
        ASSOCIATION,
        MEMBERSHIP,
    ],
    &[
        ("state", "before.state"),
        ("vpc_id", "before.vpc_id"),
        ("volume_ids", "before.volume_ids"),
        ("network_interface_ids", "before.eni_ids"),
        ("security_group_ids", "before.group_ids"),
        ("instance_profile_arn", "before.profile_arn"),
        ("autoscaling_group", "before.autoscaling_group"),
    ],
);

/// Snapshots firebreak made for this finding (`firebreak:finding-id`).
const OF_FINDING: Arg = Arg::Obj(&[
    ("Name", Arg::Text("tag:firebreak:finding-id")),
    ("Values", Arg::List(&[Arg::Value(super::FINDING_ID)])),
]);

/// The snapshots firebreak made in this account for this finding.
const FINDING_SNAPSHOTS: &[(&str, Arg)] = &[
    ("OwnerIds", Arg::List(&[Arg::Text("self")])),
    ("Filters", Arg::List(&[OF_FINDING])),
];

/// Those of them of the instance's volumes: the volume filter first, which narrows the search
/// at once (the emulator, which holds over a thousand snapshots of its own, answers in a tenth
/// of the time).
const VOLUME_SNAPSHOTS: &[(&str, Arg)] = &[
    ("OwnerIds", Arg::List(&[Arg::Text("self")])),
    (
        "Filters",
        Arg::List(&[
            Arg::Obj(&[
                ("Name", Arg::Text("volume-id")),
                ("Values", Arg::Value("before.volumes")),
            ]),
            OF_FINDING,
        ]),
    ),
];

/// Snapshots (their `take`) whose state is (or, with `Ne`, is not) `state`.
const fn snapshots(cmp: Cmp, state: &'static str, take: &'static [&'static str]) -> Where {
    Where {
        list: "Snapshots",
        key: "State",
        is: Arg::Text(state),
        cmp,
        except: &[],
        take,
        first: false,
    }
}

/// The volumes with a snapshot that did not end in error, and those snapshots.
const COVERED: Where = snapshots(Cmp::Ne, "error", &["VolumeId"]);
const GOOD: Where = snapshots(Cmp::Ne, "error", &["SnapshotId"]);
const PENDING: Where = snapshots(Cmp::Eq, "pending", &["SnapshotId"]);
const FAILED: Where = snapshots(Cmp::Eq, "error", &["VolumeId"]);

/// `ec2.snapshot_volumes`: one snapshot per volume attached to the instance, tagged with the
/// finding, the execution and the instance (the action's own tags first, then the playbook's),
/// made at once; then, unless `wait` is false, read again until none is `pending`. A volume
/// that has a snapshot for this finding already (a re-run) is not snapshotted again, unless
/// that snapshot ended in error. A snapshot made now that ends in error fails the step
/// (`SnapshotFailed`).
pub const SNAPSHOT_VOLUMES: Def = Def {
    before: &[
        Ask::to(Op::Ec2DescribeVolumes, ATTACHED)
            .keeping(&[Pick::each("volumes", "Volumes[*].VolumeId")]),
        Ask::to(Op::Ec2DescribeSnapshots, FINDING_SNAPSHOTS).keeping(&[
            Pick::selected("covered", &COVERED, Lit::EmptyList),
            Pick::selected("snapshots", &GOOD, Lit::Null),
        ]),
    ],
    refuse: &[],
    done_when: Cond::Within("before.volumes", "before.covered"),
    plan: "snapshot every volume of instance {instance_id}, tagged with the finding id",
    change: &[Ask::to(
        Op::Ec2CreateSnapshot,
        &[
            ("VolumeId", Arg::Item),
            (
                "Description",
                Arg::Format(
                    "firebreak evidence: finding {} instance {} volume {}",
                    &[
                        Arg::Value(super::FINDING_ID),
                        Arg::Param("instance_id"),
                        Arg::Item,
                    ],
                ),
            ),
            (
                "TagSpecifications",
                Arg::List(&[Arg::Obj(&[
                    ("ResourceType", Arg::Text("snapshot")),
                    ("Tags", Arg::Tags("tags")),
                ])]),
            ),
        ],
    )
    .for_each("before.volumes")
    .except_in("before.covered")
    .at_once()
    .keeping(&[Pick::member("created", "SnapshotId")])],
    after: &[Ask::to(Op::Ec2DescribeSnapshots, VOLUME_SNAPSHOTS)
        .keeping(&[
            Pick::selected("covered", &COVERED, Lit::EmptyList),
            Pick::selected("snapshots", &GOOD, Lit::Null),
            Pick::selected("pending", &PENDING, Lit::EmptyList),
            Pick::selected("failed", &FAILED, Lit::EmptyList),
        ])
        .until(Cond::Empty("after.pending"), "wait")
        .failing(Refusal {
            when: Cond::All(&[
                Cond::Not(&Cond::Within("before.volumes", "after.covered")),
                Cond::Not(&Cond::Empty("after.failed")),
            ]),
            code: "SnapshotFailed",
            message: "a snapshot of instance {instance_id} ended in error",
        })],
    verified_when: Some(Cond::Within("before.volumes", "after.covered")),
    unverified: "not every volume of instance {instance_id} has a snapshot",
    outputs: &[("snapshot_ids", "after.snapshots|before.snapshots")],
};
