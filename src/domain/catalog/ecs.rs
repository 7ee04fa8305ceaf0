//! The ECS actions' catalog entries.

use super::specs::{opt, out, req};
use super::*;
use crate::domain::define;

const CLUSTER: Param = req("cluster", Type::String, "ECS cluster name or ARN");

const TASK: Param = req("task_arn", Type::String, "ECS task ARN");

pub(super) const CAPTURE_TASK: &Spec = &Spec {
    name: "ecs.capture_task",
    doc: "Record an ECS task: its definition, group (the service that started it), launch type, status, containers, tags, and the task role.",
    undo: "",
    effect: Effect::Capture,
    params: &[CLUSTER, TASK],
    outputs: &[
        out("task_definition_arn", Type::String, "its task definition"),
        out(
            "group",
            Type::String,
            "`service:NAME` for a service's task, `family:NAME` for one started alone",
        ),
        out("launch_type", Type::String, "FARGATE, EC2 or EXTERNAL"),
        out("last_status", Type::String, "RUNNING, STOPPED, …"),
        out(
            "task_role_arn",
            Type::String,
            "its task definition's role (empty: none)",
        ),
        out(
            "task_role_name",
            Type::String,
            "that role's name (empty: none, or gone from IAM)",
        ),
    ],
    fixed_tags: &[],
    how: How::Defined(&define::ecs::CAPTURE_TASK),
};

pub(super) const PROTECT_TASK: &Spec = &Spec {
    name: "ecs.protect_task",
    doc: "Protect a service's ECS task from scale-in and deployments (task scale-in protection), so that it stays running for the investigation instead of being replaced. Protection already on is kept.",
    undo: "`aws ecs update-task-protection --cluster {cluster} --tasks {task_arn} --no-protection-enabled` once it is no longer needed (it expires by itself).",
    effect: Effect::Contain,
    params: &[
        CLUSTER,
        TASK,
        opt(
            "expires_in_minutes",
            Type::Integer,
            Some("2880"),
            "how long the protection lasts, 1 to 2,880 minutes (48 hours)",
        ),
    ],
    outputs: &[],
    fixed_tags: &[],
    how: How::Defined(&define::ecs::PROTECT_TASK),
};

pub(super) const STOP_TASK: &Spec = &Spec {
    name: "ecs.stop_task",
    doc: "Stop an ECS task (opt-in: its memory and disk are lost; a service starts a replacement). Never deletes its definition.",
    undo: "A stopped task cannot be started again; its service starts a new one from its task definition.",
    effect: Effect::Contain,
    params: &[CLUSTER, TASK],
    outputs: &[],
    fixed_tags: &[],
    how: How::Defined(&define::ecs::STOP_TASK),
};
