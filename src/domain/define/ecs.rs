//! ECS tasks in the step vocabulary: record a task (its definition, its role and its service),
//! protect it from being replaced so that it stays for the investigation, stop it (opt-in),
//! give its service's new tasks the isolation group (opt-in) or scale the service to zero
//! (opt-in).
//!
//! ECS answers a task it does not have with a failure (`MISSING`) in a successful answer, not
//! an error: each definition reads the task first and refuses a missing one
//! ([`NOT_FOUND`]). A stopped task stays readable for about an hour.

use super::{Arg, Ask, Cond, Def, Lit, Op, Pick, Refusal, Where};

const TASKS: Arg = Arg::ListOf("task_arn");

/// The task's member `m` (the call names one task, so the first); empty when ECS has no such
/// task.
const fn member(m: &'static [&'static str]) -> Where {
    Where::every("Tasks", "TaskArn", m, true)
}
const DEFINITION: Where = member(&["TaskDefinitionArn"]);
const GROUP: Where = member(&["Group"]);
const LAUNCH_TYPE: Where = member(&["LaunchType"]);
const LAST_STATUS: Where = member(&["LastStatus"]);
const DESIRED_STATUS: Where = member(&["DesiredStatus"]);

/// The task as ECS describes it, with its tags.
const DESCRIBE: Ask = Ask::to(
    Op::EcsDescribeTasks,
    &[
        ("Cluster", Arg::Param("cluster")),
        ("Tasks", TASKS),
        ("Include", Arg::List(&[Arg::Text("TAGS")])),
    ],
);

/// The task ECS has, whether it is (being) stopped, and its group (`service:NAME` for a
/// service's task).
const READ_STATUS: Ask = DESCRIBE.keeping(&[
    Pick::each("found", "Tasks[*].TaskArn"),
    Pick::selected("desired", &DESIRED_STATUS, Lit::Text("")),
    Pick::selected("group", &GROUP, Lit::Text("")),
]);

/// A task ECS does not have: nothing is read or changed.
const NOT_FOUND: Refusal = Refusal {
    when: Cond::Empty("before.found"),
    code: "TaskNotFound",
    message: "cluster {cluster} has no task {task_arn} (ECS answers MISSING): it stopped over an hour ago, or the finding is of another account or region",
};

/// The service's subnets (`awsvpc` only; none for a service on its instances' network).
const SUBNETS: &str = "Services[*].NetworkConfiguration.AwsvpcConfiguration.Subnets[*]";

/// `ecs.capture_task`: the task (its definition, group, launch type, status, containers and
/// tags, in the evidence), its task definition, the task role's name, and the service that
/// started it (its name, and the VPC of its subnets). A task started with another role
/// (`overrides`) has it in the evidence, not in the output.
pub const CAPTURE_TASK: Def = Def::capture(
    &[
        DESCRIBE.keeping(&[
            Pick::each("found", "Tasks[*].TaskArn"),
            Pick::selected("definition", &DEFINITION, Lit::Text("")),
            Pick::selected("group", &GROUP, Lit::Text("")),
            Pick::selected("launch_type", &LAUNCH_TYPE, Lit::Text("")),
            Pick::selected("status", &LAST_STATUS, Lit::Text("")),
        ]),
        Ask::to(
            Op::EcsDescribeTaskDefinition,
            &[
                ("TaskDefinition", Arg::Value("before.definition")),
                ("Include", Arg::List(&[Arg::Text("TAGS")])),
            ],
        )
        .only_when(Cond::Not(&Cond::Is("before.definition", Lit::Text(""))))
        .keeping(&[Pick::at(
            "role",
            "TaskDefinition.TaskRoleArn",
            Lit::Text(""),
        )]),
        // The role's name, from IAM: its ARN may have a path.
        Ask::to(
            Op::IamGetRole,
            &[("RoleName", Arg::LastPart("before.role", "/"))],
        )
        .only_when(Cond::Not(&Cond::Is("before.role", Lit::Text(""))))
        .absent_on(&["NoSuchEntity"], None)
        .keeping(&[Pick::at("role_name", "Role.RoleName", Lit::Text(""))]),
        // A service's task is in the group `service:NAME`.
        Ask::to(
            Op::EcsDescribeServices,
            &[
                ("Cluster", Arg::Param("cluster")),
                ("Services", Arg::List(&[Arg::LastPart("before.group", ":")])),
            ],
        )
        .only_when(Cond::Starts(Arg::Value("before.group"), &["service:"]))
        .keeping(&[
            Pick::selected(
                "service",
                &Where::every("Services", "ServiceName", &["ServiceName"], true),
                Lit::Text(""),
            ),
            // None when the call is not made (a task started alone).
            Pick {
                name: "subnets",
                from: super::From::Each(SUBNETS),
                default: Lit::EmptyList,
            },
        ]),
        Ask::to(
            Op::Ec2DescribeSubnets,
            &[("SubnetIds", Arg::Value("before.subnets"))],
        )
        .only_when(Cond::Not(&Cond::Empty("before.subnets")))
        .keeping(&[Pick::first("vpc", "Subnets[*].VpcId")]),
    ],
    &[
        ("task_definition_arn", "before.definition"),
        ("group", "before.group"),
        ("launch_type", "before.launch_type"),
        ("last_status", "before.status"),
        ("task_role_arn", "before.role"),
        ("task_role_name", "before.role_name"),
        ("service_name", "before.service"),
        ("vpc_id", "before.vpc"),
    ],
)
.refusing(&[NOT_FOUND]);

/// The service, its network (`awsvpc`) and the isolation group (which must exist).
const READ_SERVICE: [Ask; 2] = [
    Ask::to(
        Op::EcsDescribeServices,
        &[
            ("Cluster", Arg::Param("cluster")),
            ("Services", Arg::ListOf("service")),
        ],
    )
    .keeping(&[
        Pick::each("found", "Services[*].ServiceName"),
        Pick::each("subnets", SUBNETS),
        Pick::each(
            "groups",
            "Services[*].NetworkConfiguration.AwsvpcConfiguration.SecurityGroups[*]",
        ),
    ]),
    // After the service is found (the service's error comes first, on either engine).
    Ask::to(
        Op::Ec2DescribeSecurityGroups,
        &[("GroupIds", Arg::ListOf("group_id"))],
    )
    .only_when(Cond::Not(&Cond::Empty("before.found")))
    .keeping(&[Pick::each("isolation", "SecurityGroups[*].GroupId")]),
];

const ISOLATED_BEFORE: [Cond; 2] = [
    Cond::Within("before.groups", "before.isolation"),
    Cond::Within("before.isolation", "before.groups"),
];
const ISOLATED_AFTER: [Cond; 2] = [
    Cond::Within("after.groups", "before.isolation"),
    Cond::Within("before.isolation", "after.groups"),
];

/// `ecs.isolate_service`: the service's network configuration given the isolation group alone,
/// and no public address, in the same subnets (opt-in). ECS starts new tasks with it and
/// replaces the old ones, but for a protected task, which keeps its network: this contains
/// what the same image does next, not the task already running. A service on its instances'
/// network (`bridge`, `host`) has no groups of its own: refused, nothing changed.
pub const ISOLATE_SERVICE: Def = Def {
    before: &READ_SERVICE,
    refuse: &[
        Refusal {
            when: Cond::Empty("before.found"),
            code: "ServiceNotFound",
            message: "cluster {cluster} has no service {service}",
        },
        Refusal {
            when: Cond::Empty("before.subnets"),
            code: "ServiceNotInVpc",
            message: "service {service} has no network of its own (awsvpc): its tasks use the network of the instances they run on; isolate those instances instead",
        },
    ],
    done_when: Cond::All(&ISOLATED_BEFORE),
    plan: "give service {service} of cluster {cluster} only the isolation group {group_id} (its new tasks; a protected task keeps its network)",
    change: &[Ask::to(
        Op::EcsUpdateService,
        &[
            ("Cluster", Arg::Param("cluster")),
            ("Service", Arg::Param("service")),
            (
                "NetworkConfiguration",
                Arg::Obj(&[(
                    "AwsvpcConfiguration",
                    Arg::Obj(&[
                        ("Subnets", Arg::Value("before.subnets")),
                        ("SecurityGroups", Arg::ListOf("group_id")),
                        ("AssignPublicIp", Arg::Text("DISABLED")),
                    ]),
                )]),
            ),
        ],
    )],
    after: &[READ_SERVICE[0]],
    verified_when: Some(Cond::All(&ISOLATED_AFTER)),
    unverified: "service {service} does not read back with only the isolation group {group_id}",
    outputs: &[("previous_security_group_ids", "before.groups")],
};

/// The task's scale-in protection: whether it is on, and the tasks ECS could not protect or
/// read (`MISSING`; `TASK_NOT_VALID`: no service started it).
const READ_PROTECTION: Ask = Ask::to(
    Op::EcsGetTaskProtection,
    &[("Cluster", Arg::Param("cluster")), ("Tasks", TASKS)],
)
.keeping(&[
    Pick::selected(
        "protected",
        &Where::every("ProtectedTasks", "TaskArn", &["ProtectionEnabled"], true),
        Lit::Bool(false),
    ),
    Pick::each("failed", "Failures[*].Reason"),
]);

/// A task that a service started, and that runs: what protection is for.
const SERVICE_TASK_RUNNING: [Cond; 2] = [
    Cond::Starts(Arg::Value("before.group"), &["service:"]),
    Cond::Not(&Cond::Is("before.desired", Lit::Text("STOPPED"))),
];

/// `ecs.protect_task`: the service's task protected from scale-in and from deployments (a
/// deployment starts new tasks and keeps this one), so that it stays for the investigation
/// until the protection expires (`expires_in_minutes`, at most 48 hours) or a person stops it.
/// Protection someone set already is kept as it is (its expiry is in the evidence). A task no
/// service started (its group is not `service:…`) has nothing to be protected from: no
/// scheduler replaces it (ECS refuses to protect it). Nor has a task that is stopping.
pub const PROTECT_TASK: Def = Def {
    before: &[READ_STATUS, READ_PROTECTION],
    refuse: &[
        NOT_FOUND,
        Refusal {
            when: Cond::All(&[
                Cond::All(&SERVICE_TASK_RUNNING),
                Cond::Not(&Cond::Empty("before.failed")),
            ]),
            code: "TaskNotProtectable",
            message: "ECS cannot protect task {task_arn} of cluster {cluster}",
        },
    ],
    done_when: Cond::Any(&[
        Cond::Is("before.protected", Lit::Bool(true)),
        Cond::Not(&Cond::All(&SERVICE_TASK_RUNNING)),
    ]),
    plan: "protect task {task_arn} of cluster {cluster} from scale-in and deployments for {expires_in_minutes} minutes",
    change: &[Ask::to(
        Op::EcsUpdateTaskProtection,
        &[
            ("Cluster", Arg::Param("cluster")),
            ("Tasks", TASKS),
            ("ProtectionEnabled", Arg::Bool(true)),
            ("ExpiresInMinutes", Arg::Param("expires_in_minutes")),
        ],
    )],
    after: &[READ_PROTECTION],
    verified_when: Some(Cond::Is("after.protected", Lit::Bool(true))),
    unverified: "task {task_arn} does not read back protected",
    outputs: &[],
};

/// `ecs.stop_task`: the task stopped (opt-in: its memory and its disk are lost). ECS stops it
/// in the background; the read-back sees it on its way (`DesiredStatus` `STOPPED`).
pub const STOP_TASK: Def = Def {
    before: &[READ_STATUS],
    refuse: &[NOT_FOUND],
    done_when: Cond::Is("before.desired", Lit::Text("STOPPED")),
    plan: "stop task {task_arn} of cluster {cluster}",
    change: &[Ask::to(
        Op::EcsStopTask,
        &[
            ("Cluster", Arg::Param("cluster")),
            ("Task", Arg::Param("task_arn")),
            (
                "Reason",
                Arg::Format(
                    "firebreak: contained for GuardDuty finding {}",
                    &[Arg::Value(super::FINDING_ID)],
                ),
            ),
        ],
    )],
    after: &[READ_STATUS],
    verified_when: Some(Cond::Is("after.desired", Lit::Text("STOPPED"))),
    unverified: "task {task_arn} does not read back stopping",
    outputs: &[],
};

/// The service's desired count.
const READ_DESIRED: Ask = Ask::to(
    Op::EcsDescribeServices,
    &[
        ("Cluster", Arg::Param("cluster")),
        ("Services", Arg::ListOf("service")),
    ],
)
.keeping(&[
    Pick::each("found", "Services[*].ServiceName"),
    Pick::selected(
        "desired",
        &Where::every("Services", "ServiceName", &["DesiredCount"], true),
        Lit::Null,
    ),
]);

/// `ecs.scale_service_to_zero`: the service's desired count set to 0 (opt-in): ECS starts no
/// task for it and stops those it runs, but for a protected task, which stays until its
/// protection ends. The count before is the output.
pub const SCALE_SERVICE_TO_ZERO: Def = Def {
    before: &[READ_DESIRED],
    refuse: &[Refusal {
        when: Cond::Empty("before.found"),
        code: "ServiceNotFound",
        message: "cluster {cluster} has no service {service}",
    }],
    done_when: Cond::Is("before.desired", Lit::Int(0)),
    plan: "scale service {service} of cluster {cluster} to zero tasks",
    change: &[Ask::to(
        Op::EcsUpdateService,
        &[
            ("Cluster", Arg::Param("cluster")),
            ("Service", Arg::Param("service")),
            ("DesiredCount", Arg::Int(0)),
        ],
    )],
    after: &[READ_DESIRED],
    verified_when: Some(Cond::Is("after.desired", Lit::Int(0))),
    unverified: "service {service} does not read back with a desired count of 0",
    outputs: &[("previous_desired_count", "before.desired")],
};
