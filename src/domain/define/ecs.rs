//! ECS tasks in the step vocabulary: record a task (its definition and its role), protect it
//! from being replaced so that it stays for the investigation, and stop it (opt-in).
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

/// The task ECS has, and whether it is (being) stopped.
const READ_STATUS: Ask = DESCRIBE.keeping(&[
    Pick::each("found", "Tasks[*].TaskArn"),
    Pick::selected("desired", &DESIRED_STATUS, Lit::Text("")),
]);

/// A task ECS does not have: nothing is read or changed.
const NOT_FOUND: Refusal = Refusal {
    when: Cond::Empty("before.found"),
    code: "TaskNotFound",
    message: "cluster {cluster} has no task {task_arn} (ECS answers MISSING): it stopped over an hour ago, or the finding is of another account or region",
};

/// `ecs.capture_task`: the task (its definition, group, launch type, status, containers and
/// tags, in the evidence), its task definition and the task role's name. A task started with
/// another role (`overrides`) has it in the evidence, not in the output.
pub const CAPTURE_TASK: Def = Def {
    before: &[
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
            &[("RoleName", Arg::LastPart("before.role"))],
        )
        .only_when(Cond::Not(&Cond::Is("before.role", Lit::Text(""))))
        .absent_on(&["NoSuchEntity"], None)
        .keeping(&[Pick::at("role_name", "Role.RoleName", Lit::Text(""))]),
    ],
    refuse: &[NOT_FOUND],
    done_when: Cond::Always,
    plan: "",
    change: &[],
    after: &[],
    verified_when: None,
    unverified: "",
    outputs: &[
        ("task_definition_arn", "before.definition"),
        ("group", "before.group"),
        ("launch_type", "before.launch_type"),
        ("last_status", "before.status"),
        ("task_role_arn", "before.role"),
        ("task_role_name", "before.role_name"),
    ],
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

/// `ecs.protect_task`: the service's task protected from scale-in and from deployments (a
/// deployment starts new tasks and keeps this one), so that it stays for the investigation
/// until the protection expires (`expires_in_minutes`, at most 48 hours) or a person stops it.
/// Protection someone set already is kept as it is (its expiry is in the evidence).
pub const PROTECT_TASK: Def = Def {
    before: &[READ_STATUS, READ_PROTECTION],
    refuse: &[
        NOT_FOUND,
        Refusal {
            when: Cond::Not(&Cond::Empty("before.failed")),
            code: "TaskNotProtectable",
            message: "ECS cannot protect task {task_arn} of cluster {cluster}: no service started it (TASK_NOT_VALID), so no scheduler replaces it, or it is gone",
        },
    ],
    done_when: Cond::Is("before.protected", Lit::Bool(true)),
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
