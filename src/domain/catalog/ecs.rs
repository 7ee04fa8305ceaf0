//! The ECS actions' catalog entries.

use super::specs::{ISOLATION_GROUP, PREVIOUS_GROUPS, opt, out, req};
use super::*;
use crate::domain::define;

const CLUSTER: Param = req("cluster", Type::String, "ECS cluster name or ARN");

const TASK: Param = req("task_arn", Type::String, "ECS task ARN");

const SERVICE: Param = req("service", Type::String, "ECS service name");

pub(super) const CAPTURE_TASK: &Spec = &Spec {
    name: "ecs.capture_task",
    doc: "Record an ECS task: its definition, group, launch type, status, containers, tags, the task role, and the service that started it with its VPC.",
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
        out(
            "service_name",
            Type::String,
            "the service that started it (empty: started alone)",
        ),
        out(
            "vpc_id",
            Type::String,
            "the VPC of that service's subnets (empty: none of its own)",
        ),
    ],
    fixed_tags: &[],
    how: How::Defined(&define::ecs::CAPTURE_TASK),
};

pub(super) const PROTECT_TASK: &Spec = &Spec {
    name: "ecs.protect_task",
    doc: "Protect a service's ECS task from scale-in and deployments (task scale-in protection), so that it stays running for the investigation instead of being replaced. Protection already on is kept; a task no service started has nothing to be protected from (nothing to do).",
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

pub(super) const ISOLATE_SERVICE: &Spec = &Spec {
    name: "ecs.isolate_service",
    doc: "Give an ECS service only the isolation group, without a public address, in its subnets (opt-in): ECS replaces its tasks with isolated ones, but for a protected task, which keeps its network.",
    undo: "Once the image is clean: `aws ecs update-service --cluster {cluster} --service {service} --network-configuration file://network.json`, with its subnets, its groups before ({previous_security_group_ids}) and its public address setting, which are in this step's evidence (pre_state).",
    effect: Effect::Contain,
    params: &[CLUSTER, SERVICE, ISOLATION_GROUP],
    outputs: &[PREVIOUS_GROUPS],
    fixed_tags: &[],
    how: How::Defined(&define::ecs::ISOLATE_SERVICE),
};

pub(super) const SCALE_SERVICE_TO_ZERO: &Spec = &Spec {
    name: "ecs.scale_service_to_zero",
    doc: "Scale an ECS service to zero tasks (opt-in): ECS stops its tasks and starts none, but for a protected task, which stays until its protection ends. Never deletes the service.",
    undo: "Once the image is clean: `aws ecs update-service --cluster {cluster} --service {service} --desired-count {previous_desired_count}`.",
    effect: Effect::Contain,
    params: &[CLUSTER, SERVICE],
    outputs: &[out(
        "previous_desired_count",
        Type::Integer,
        "its desired count before",
    )],
    fixed_tags: &[],
    how: How::Defined(&define::ecs::SCALE_SERVICE_TO_ZERO),
};
