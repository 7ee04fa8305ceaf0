//! EC2 actions in the step vocabulary.

use super::{Absent, Arg, Ask, Call, Cmp, Cond, Def, From, Lit, Op, Pick, Where};

const INSTANCE: &[(&str, Arg)] = &[("InstanceIds", Arg::ListOf("instance_id"))];

const READ_STATE: Ask = Ask {
    call: Call {
        op: Op::Ec2DescribeInstances,
        args: INSTANCE,
    },
    each: None,
    only: None,
    when: None,
    absent: None,
    picks: &[Pick {
        name: "state",
        from: From::First("Reservations[*].Instances[*].State.Name"),
        default: Lit::Null,
    }],
};

/// `ec2.stop_instance`: the instance stopping or stopped.
pub const STOP_INSTANCE: Def = Def {
    before: &[READ_STATE],
    refuse: &[],
    done_when: Cond::Any(&[
        Cond::Is("before.state", Lit::Text("stopped")),
        Cond::Is("before.state", Lit::Text("stopping")),
    ]),
    plan: "stop {instance_id}",
    change: &[Ask {
        call: Call {
            op: Op::Ec2StopInstances,
            args: INSTANCE,
        },
        each: None,
        only: None,
        when: None,
        absent: None,
        picks: &[],
    }],
    after: &[READ_STATE],
    verified_when: Some(Cond::Any(&[
        Cond::Is("after.state", Lit::Text("stopped")),
        Cond::Is("after.state", Lit::Text("stopping")),
    ])),
    unverified: "instance {instance_id} does not read back as stopping or stopped",
    outputs: &[("previous_state", "before.state")],
};

/// The instance's Auto Scaling group and lifecycle state (none when it is in no group).
const MEMBERSHIP: Ask = Ask {
    call: Call {
        op: Op::AutoscalingDescribeAutoScalingInstances,
        args: INSTANCE,
    },
    each: None,
    only: None,
    when: None,
    absent: None,
    picks: &[
        Pick {
            name: "group",
            from: From::Where(&of_instance(&["AutoScalingGroupName"])),
            default: Lit::Text(""),
        },
        Pick {
            name: "state",
            from: From::Where(&of_instance(&["LifecycleState"])),
            default: Lit::Null,
        },
    ],
};

/// A member of the instance's entry in `DescribeAutoScalingInstances`.
const fn of_instance(take: &'static [&'static str]) -> Where {
    Where {
        list: "AutoScalingInstances",
        key: "InstanceId",
        is: Arg::Param("instance_id"),
        cmp: Cmp::Eq,
        take,
        first: true,
    }
}

/// Out of its group, or on the way out (`Detaching`, `Detached`).
const fn out_of_group(state: &'static str) -> [Cond; 3] {
    [
        Cond::Is(state, Lit::Null),
        Cond::Is(state, Lit::Text("Detaching")),
        Cond::Is(state, Lit::Text("Detached")),
    ]
}

const OUT_BEFORE: [Cond; 3] = out_of_group("before.state");
const OUT_AFTER: [Cond; 3] = out_of_group("after.state");

/// `autoscaling.detach_instance`: the instance out of its Auto Scaling group, the desired
/// capacity kept (so the group neither replaces it now nor terminates it later).
pub const DETACH_INSTANCE: Def = Def {
    before: &[MEMBERSHIP],
    refuse: &[],
    done_when: Cond::Any(&OUT_BEFORE),
    plan: "detach {instance_id} from its Auto Scaling group, keeping the desired capacity",
    change: &[Ask {
        call: Call {
            op: Op::AutoscalingDetachInstances,
            args: &[
                ("AutoScalingGroupName", Arg::Value("before.group")),
                ("InstanceIds", Arg::ListOf("instance_id")),
                ("ShouldDecrementDesiredCapacity", Arg::Bool(false)),
            ],
        },
        each: None,
        only: None,
        when: None,
        absent: None,
        picks: &[],
    }],
    after: &[MEMBERSHIP],
    verified_when: Some(Cond::Any(&OUT_AFTER)),
    unverified: "instance {instance_id} is still in its Auto Scaling group",
    outputs: &[("group_name", "before.group")],
};

/// The instance exists (EC2 answers `InvalidInstanceID.NotFound` when not: tags on a missing
/// id would be refused only by AWS, not by every emulator).
const EXISTS: Ask = Ask {
    call: Call {
        op: Op::Ec2DescribeInstances,
        args: INSTANCE,
    },
    each: None,
    only: None,
    when: None,
    absent: None,
    picks: &[Pick {
        name: "exists",
        from: From::Present,
        default: Lit::Bool(false),
    }],
};

/// The instance's tags, as `[{Key, Value}]`.
const TAGS: Ask = Ask {
    call: Call {
        op: Op::Ec2DescribeTags,
        args: &[(
            "Filters",
            Arg::List(&[Arg::Obj(&[
                ("Name", Arg::Text("resource-id")),
                ("Values", Arg::ListOf("instance_id")),
            ])]),
        )],
    },
    each: None,
    only: None,
    when: None,
    absent: None,
    picks: &[Pick {
        name: "tags",
        from: From::Where(&Where {
            list: "Tags",
            key: "Key",
            is: Arg::Text(""),
            cmp: Cmp::All,
            take: &["Key", "Value"],
            first: false,
        }),
        default: Lit::Null,
    }],
};

/// `ec2.tag_instance`: every tag given on the instance (others untouched).
pub const TAG_INSTANCE: Def = Def {
    before: &[EXISTS, TAGS],
    refuse: &[],
    done_when: Cond::Includes("before.tags", "tags"),
    plan: "tag {instance_id} with the given tags",
    change: &[Ask {
        call: Call {
            op: Op::Ec2CreateTags,
            args: &[
                ("Resources", Arg::ListOf("instance_id")),
                ("Tags", Arg::Tags("tags")),
            ],
        },
        each: None,
        only: None,
        when: None,
        absent: None,
        picks: &[],
    }],
    after: &[TAGS],
    verified_when: Some(Cond::Includes("after.tags", "tags")),
    unverified: "instance {instance_id} does not read back with every tag",
    outputs: &[],
};

/// The instance's instance profile association (EC2 lists only `associated` ones with the
/// filter): its id and the profile's ARN, empty when there is none.
const ASSOCIATION: Ask = Ask {
    call: Call {
        op: Op::Ec2DescribeIamInstanceProfileAssociations,
        args: &[(
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
    },
    each: None,
    only: None,
    when: None,
    absent: None,
    picks: &[
        Pick {
            name: "association",
            from: From::Where(&association_of_instance(&["AssociationId"])),
            default: Lit::Text(""),
        },
        Pick {
            name: "profile_arn",
            from: From::Where(&association_of_instance(&["IamInstanceProfile.Arn"])),
            default: Lit::Text(""),
        },
    ],
};

/// A member of the instance's association.
const fn association_of_instance(take: &'static [&'static str]) -> Where {
    Where {
        list: "IamInstanceProfileAssociations",
        key: "InstanceId",
        is: Arg::Param("instance_id"),
        cmp: Cmp::Eq,
        take,
        first: true,
    }
}

/// `ec2.disassociate_instance_profile`: the instance without its instance profile, so that it
/// gets no more role credentials; outputs the profile and its role (empty when it had none, or
/// the profile is gone from IAM).
pub const DISASSOCIATE_INSTANCE_PROFILE: Def = Def {
    before: &[
        ASSOCIATION,
        Ask {
            call: Call {
                op: Op::IamGetInstanceProfile,
                args: &[("InstanceProfileName", Arg::LastPart("before.profile_arn"))],
            },
            each: None,
            only: None,
            when: Some(Cond::Not(&Cond::Is("before.association", Lit::Text("")))),
            absent: Some(Absent {
                codes: &["NoSuchEntity"],
                sfn_cause: None,
            }),
            picks: &[Pick {
                name: "role",
                from: From::Where(&Where {
                    list: "InstanceProfile.Roles",
                    key: "RoleName",
                    is: Arg::Text(""),
                    cmp: Cmp::All,
                    take: &["RoleName"],
                    first: true,
                }),
                default: Lit::Text(""),
            }],
        },
    ],
    refuse: &[],
    done_when: Cond::Is("before.association", Lit::Text("")),
    plan: "remove the instance profile of {instance_id}",
    change: &[Ask {
        call: Call {
            op: Op::Ec2DisassociateIamInstanceProfile,
            args: &[("AssociationId", Arg::Value("before.association"))],
        },
        each: None,
        only: None,
        when: None,
        absent: None,
        picks: &[],
    }],
    after: &[ASSOCIATION],
    verified_when: Some(Cond::Is("after.association", Lit::Text(""))),
    unverified: "instance {instance_id} still has an instance profile association",
    outputs: &[
        ("instance_profile_arn", "before.profile_arn"),
        ("role_name", "before.role"),
    ],
};

/// One attribute of the instance (DescribeInstanceAttribute: `InstanceId` and `Attribute`),
/// its value picked.
const fn attribute(args: &'static [(&'static str, Arg)], picks: &'static [Pick]) -> Ask {
    Ask {
        call: Call {
            op: Op::Ec2DescribeInstanceAttribute,
            args,
        },
        each: None,
        only: None,
        when: None,
        absent: None,
        picks,
    }
}

/// The instance's termination protection.
const PROTECTED: Ask = attribute(
    &[
        ("InstanceId", Arg::Param("instance_id")),
        ("Attribute", Arg::Text("disableApiTermination")),
    ],
    &[Pick {
        name: "protected",
        from: From::At("DisableApiTermination.Value"),
        default: Lit::Bool(false),
    }],
);

/// What the instance does when it is shut down from inside (`stop` or `terminate`).
const SHUTDOWN: Ask = attribute(
    &[
        ("InstanceId", Arg::Param("instance_id")),
        ("Attribute", Arg::Text("instanceInitiatedShutdownBehavior")),
    ],
    &[Pick {
        name: "shutdown",
        from: From::At("InstanceInitiatedShutdownBehavior.Value"),
        default: Lit::Text(""),
    }],
);

/// The instance's EBS volumes: the devices deleted with it, and every volume's id.
const DEVICES: Ask = Ask {
    call: Call {
        op: Op::Ec2DescribeInstances,
        args: INSTANCE,
    },
    each: None,
    only: None,
    when: None,
    absent: None,
    picks: &[
        Pick {
            name: "deleting",
            from: From::Where(&Where {
                list: "Reservations[*].Instances[*].BlockDeviceMappings",
                key: "Ebs.DeleteOnTermination",
                is: Arg::Bool(true),
                cmp: Cmp::Eq,
                take: &["DeviceName"],
                first: false,
            }),
            default: Lit::Null,
        },
        Pick {
            name: "volumes",
            from: From::Where(&Where {
                list: "Reservations[*].Instances[*].BlockDeviceMappings",
                key: "DeviceName",
                is: Arg::Text(""),
                cmp: Cmp::All,
                take: &["Ebs.VolumeId"],
                first: false,
            }),
            default: Lit::Null,
        },
    ],
};

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
        Ask {
            call: Call {
                op: Op::Ec2ModifyInstanceAttribute,
                args: &[
                    ("InstanceId", Arg::Param("instance_id")),
                    (
                        "DisableApiTermination",
                        Arg::Obj(&[("Value", Arg::Bool(true))]),
                    ),
                ],
            },
            each: None,
            only: None,
            when: Some(Cond::Not(&Cond::Is("before.protected", Lit::Bool(true)))),
            absent: None,
            picks: &[],
        },
        Ask {
            call: Call {
                op: Op::Ec2ModifyInstanceAttribute,
                args: &[
                    ("InstanceId", Arg::Param("instance_id")),
                    (
                        "InstanceInitiatedShutdownBehavior",
                        Arg::Obj(&[("Value", Arg::Text("stop"))]),
                    ),
                ],
            },
            each: None,
            only: None,
            when: Some(Cond::Not(&Cond::Is("before.shutdown", Lit::Text("stop")))),
            absent: None,
            picks: &[],
        },
        Ask {
            call: Call {
                op: Op::Ec2ModifyInstanceAttribute,
                args: &[
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
            },
            each: Some("before.deleting"),
            only: None,
            when: None,
            absent: None,
            picks: &[],
        },
    ],
    after: &[PROTECTED, SHUTDOWN, DEVICES],
    verified_when: Some(Cond::All(&PRESERVED_AFTER)),
    unverified: "instance {instance_id} does not read back with termination protection, shutdown behaviour stop and every volume kept",
    outputs: &[("volume_ids", "before.volumes")],
};
