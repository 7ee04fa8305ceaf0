//! Elastic Load Balancing actions, defined once.

use super::{Arg, Ask, Cmp, Cond, Def, Lit, Op, Pick, Where};

/// A target group's targets that are the instance and still take traffic (not already
/// `draining`, not `unused`), each as registered (`Id`, `Port`, `AvailabilityZone`): what
/// deregistering takes out, and what must be gone after it. A target being drained is already
/// out: deregistering it again would change nothing, and it stays `draining` for the group's
/// deregistration delay.
const SERVING: Where = Where {
    list: "TargetHealthDescriptions",
    key: "Target.Id",
    is: Arg::Param("instance_id"),
    cmp: Cmp::Eq,
    except: &[
        ("TargetHealth.State", "draining"),
        ("TargetHealth.State", "unused"),
    ],
    take: &["Target"],
    first: false,
};

/// The instance's targets in one group (the group is the call's item).
const HEALTH: &[(&str, Arg)] = &[("TargetGroupArn", Arg::Item)];

/// `elbv2.deregister_instance`: out of every target group it serves in, on every port, so no
/// load balancer sends it traffic (and it sends none back to clients). The groups are read
/// all at once; each group it is in gets one DeregisterTargets with all its registrations.
pub const DEREGISTER_INSTANCE: Def = Def {
    before: &[
        // Every group of the region: a target group does not say which instances it holds.
        // The local engine reads every page; a state machine's SDK task reads the first (400
        // groups, DescribeTargetGroups' largest page).
        Ask::to(Op::Elbv2DescribeTargetGroups, &[])
            .keeping(&[Pick::each("groups", "TargetGroups[*].TargetGroupArn")]),
        Ask::to(Op::Elbv2DescribeTargetHealth, HEALTH)
            .for_each("before.groups")
            .keeping(&[Pick::selected("serving", &SERVING, Lit::Null)]),
    ],
    refuse: &[],
    done_when: Cond::NoneIn("before.serving"),
    plan: "deregister instance {instance_id} from every target group it is in",
    change: &[Ask::to(
        Op::Elbv2DeregisterTargets,
        &[("TargetGroupArn", Arg::Item), ("Targets", Arg::Paired)],
    )
    .for_each("before.groups")
    .paired_with("before.serving")
    .keeping(&[Pick::item("groups")])],
    after: &[Ask::to(Op::Elbv2DescribeTargetHealth, HEALTH)
        .for_each("change.groups")
        .keeping(&[Pick::selected("serving", &SERVING, Lit::Null)])],
    verified_when: Some(Cond::NoneIn("after.serving")),
    unverified: "instance {instance_id} is still registered in a target group",
    outputs: &[("target_group_arns", "change.groups")],
};
