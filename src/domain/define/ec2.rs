//! EC2 actions in the step vocabulary.

use super::{Arg, Ask, Call, Cmp, Cond, Def, From, Lit, Op, Pick, Where};

const INSTANCE: &[(&str, Arg)] = &[("InstanceIds", Arg::ListOf("instance_id"))];

const READ_STATE: Ask = Ask {
    call: Call {
        op: Op::Ec2DescribeInstances,
        args: INSTANCE,
    },
    each: None,
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
    absent: None,
    picks: &[
        Pick {
            name: "group",
            from: From::Where(&Where {
                list: "AutoScalingInstances",
                key: "InstanceId",
                is: Arg::Param("instance_id"),
                cmp: Cmp::Eq,
                take: &["AutoScalingGroupName"],
                first: true,
            }),
            default: Lit::Text(""),
        },
        Pick {
            name: "state",
            from: From::Where(&Where {
                list: "AutoScalingInstances",
                key: "InstanceId",
                is: Arg::Param("instance_id"),
                cmp: Cmp::Eq,
                take: &["LifecycleState"],
                first: true,
            }),
            default: Lit::Null,
        },
    ],
};

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
        absent: None,
        picks: &[],
    }],
    after: &[TAGS],
    verified_when: Some(Cond::Includes("after.tags", "tags")),
    unverified: "instance {instance_id} does not read back with every tag",
    outputs: &[],
};
