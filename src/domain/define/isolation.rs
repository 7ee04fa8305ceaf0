//! The isolation security group of a VPC in the step vocabulary: the group with no inbound and
//! no outbound rule that a database (or any resource with security groups) is moved into.
//! `ec2.isolate_instance` uses the same group for instances.

use super::{Arg, Ask, Cmp, Cond, Def, Lit, Op, Pick, Refusal, Where};
use crate::domain::catalog::names::{ISOLATION_GROUP, PURPOSE_ISOLATION, PURPOSE_TAG};

/// The VPC's groups of the isolation group's name.
const FILTERS: &[(&str, Arg)] = &[(
    "Filters",
    Arg::List(&[
        Arg::Obj(&[
            ("Name", Arg::Text("group-name")),
            ("Values", Arg::List(&[Arg::Text(ISOLATION_GROUP)])),
        ]),
        Arg::Obj(&[
            ("Name", Arg::Text("vpc-id")),
            ("Values", Arg::ListOf("vpc_id")),
        ]),
    ]),
)];

/// The group's id (empty when the VPC has none) and its rules, one list per group found.
const READ: Ask = Ask::to(Op::Ec2DescribeSecurityGroups, FILTERS).keeping(&[
    Pick::selected(
        "group",
        &Where {
            list: "SecurityGroups",
            key: "GroupName",
            is: Arg::Text(ISOLATION_GROUP),
            cmp: Cmp::Eq,
            except: &[],
            take: &["GroupId"],
            first: true,
        },
        Lit::Text(""),
    ),
    Pick::each("inbound", "SecurityGroups[*].IpPermissions"),
    Pick::each("outbound", "SecurityGroups[*].IpPermissionsEgress"),
]);

const CLOSED_BEFORE: [Cond; 3] = [
    Cond::Not(&Cond::Is("before.group", Lit::Text(""))),
    Cond::NoneIn("before.inbound"),
    Cond::NoneIn("before.outbound"),
];
const CLOSED_AFTER: [Cond; 3] = [
    Cond::Not(&Cond::Is("after.group", Lit::Text(""))),
    Cond::NoneIn("after.inbound"),
    Cond::NoneIn("after.outbound"),
];

/// `ec2.create_isolation_group`: the VPC has firebreak's isolation group, with no rule in or
/// out (a new group's default outbound rule is revoked). A group of that name that someone
/// opened is refused, not used: isolating into it would isolate nothing.
pub const CREATE_ISOLATION_GROUP: Def = Def {
    before: &[READ],
    refuse: &[Refusal {
        when: Cond::All(&[
            Cond::Not(&Cond::Is("before.group", Lit::Text(""))),
            Cond::Any(&[
                Cond::Not(&Cond::NoneIn("before.inbound")),
                Cond::Not(&Cond::NoneIn("before.outbound")),
            ]),
        ]),
        code: "IsolationGroupOpen",
        message: "the isolation group of VPC {vpc_id} has rules: nothing moved into it would be isolated; remove its rules (isolating an instance of the VPC does)",
    }],
    done_when: Cond::All(&CLOSED_BEFORE),
    plan: "create the isolation group of VPC {vpc_id} (no inbound and no outbound rule)",
    change: &[
        Ask::to(
            Op::Ec2CreateSecurityGroup,
            &[
                ("GroupName", Arg::Text(ISOLATION_GROUP)),
                (
                    "Description",
                    Arg::Text("firebreak isolation: no inbound or outbound rule"),
                ),
                ("VpcId", Arg::Param("vpc_id")),
                // Tagged as it is made: the responder may write rules only in groups with
                // firebreak's purpose tag, which it cannot give a group afterwards.
                (
                    "TagSpecifications",
                    Arg::List(&[Arg::Obj(&[
                        ("ResourceType", Arg::Text("security-group")),
                        (
                            "Tags",
                            Arg::List(&[
                                Arg::Obj(&[
                                    ("Key", Arg::Text("Name")),
                                    ("Value", Arg::Text(ISOLATION_GROUP)),
                                ]),
                                Arg::Obj(&[
                                    ("Key", Arg::Text(PURPOSE_TAG)),
                                    ("Value", Arg::Text(PURPOSE_ISOLATION)),
                                ]),
                            ]),
                        ),
                    ])]),
                ),
            ],
        )
        .keeping(&[Pick::member("group", "GroupId")]),
        Ask::to(
            Op::Ec2RevokeSecurityGroupEgress,
            &[
                ("GroupId", Arg::Value("change.group")),
                (
                    "IpPermissions",
                    Arg::List(&[Arg::Obj(&[
                        ("IpProtocol", Arg::Text("-1")),
                        (
                            "IpRanges",
                            Arg::List(&[Arg::Obj(&[("CidrIp", Arg::Text("0.0.0.0/0"))])]),
                        ),
                    ])]),
                ),
            ],
        ),
    ],
    after: &[READ],
    verified_when: Some(Cond::All(&CLOSED_AFTER)),
    unverified: "the isolation group of VPC {vpc_id} does not read back without rules",
    outputs: &[],
};

/// `ec2.capture_isolation_group`: the id of the VPC's isolation group (empty when it has
/// none), for the step that moves a resource into it.
pub const CAPTURE_ISOLATION_GROUP: Def = Def::capture(&[READ], &[("group_id", "before.group")]);
