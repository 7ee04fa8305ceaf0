//! EC2 actions in the step vocabulary.

use super::{Arg, Ask, Call, Cond, Def, From, Lit, Op, Pick};

const INSTANCE: &[(&str, Arg)] = &[("InstanceIds", Arg::ListOf("instance_id"))];

const READ_STATE: Ask = Ask {
    call: Call {
        op: Op::Ec2DescribeInstances,
        args: INSTANCE,
    },
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
