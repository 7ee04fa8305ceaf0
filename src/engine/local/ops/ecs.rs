//! ECS calls: a task, its definition, its scale-in protection, and stopping it. (A dry run
//! never reaches an ECS change: ECS has no `DryRun`.)

use aws_sdk_ecs::types::{Failure, ProtectedTask, TaskDefinitionField, TaskField};
use serde_json::{Value, json};

use super::{Req, each, elsewhere, text, texts};
use crate::domain::define::Op;
use crate::domain::step::StepError;

/// Makes the call `q` asks for.
pub(super) async fn call(q: &Req<'_, '_>) -> Result<Value, StepError> {
    let args = q.args;
    match q.op {
        Op::EcsDescribeTasks => {
            let r = send!(
                q,
                ecs.describe_tasks()
                    .cluster(text(args, "Cluster")?)
                    .set_tasks(Some(texts(args, "Tasks")?))
                    .include(TaskField::Tags)
            );
            let tasks = each(r.tasks(), |t| {
                json!({
                    "TaskArn": t.task_arn(),
                    "ClusterArn": t.cluster_arn(),
                    "TaskDefinitionArn": t.task_definition_arn(),
                    "Group": t.group(),
                    "StartedBy": t.started_by(),
                    "LaunchType": t.launch_type().map(|l| l.as_str()),
                    "LastStatus": t.last_status(),
                    "DesiredStatus": t.desired_status(),
                    "StoppedReason": t.stopped_reason(),
                    "Overrides": t.overrides().map(|o| json!({
                        "TaskRoleArn": o.task_role_arn(),
                        "ExecutionRoleArn": o.execution_role_arn(),
                    })),
                    "Attachments": each(t.attachments(), |a| json!({
                        "Type": a.r#type(),
                        "Status": a.status(),
                        "Details": each(a.details(), |d| json!({"Name": d.name(), "Value": d.value()})),
                    })),
                    "Containers": each(t.containers(), |c| json!({
                        "Name": c.name(),
                        "Image": c.image(),
                        "ImageDigest": c.image_digest(),
                        "LastStatus": c.last_status(),
                    })),
                    "Tags": each(t.tags(), |g| json!({"Key": g.key(), "Value": g.value()})),
                })
            });
            Ok(json!({"Tasks": tasks, "Failures": failures(r.failures())}))
        }
        Op::EcsDescribeTaskDefinition => {
            let r = send!(
                q,
                ecs.describe_task_definition()
                    .task_definition(text(args, "TaskDefinition")?)
                    .include(TaskDefinitionField::Tags)
            );
            let d = r.task_definition();
            Ok(json!({"TaskDefinition": d.map(|d| json!({
                "TaskDefinitionArn": d.task_definition_arn(),
                "Family": d.family(),
                "Revision": d.revision(),
                "TaskRoleArn": d.task_role_arn(),
                "ExecutionRoleArn": d.execution_role_arn(),
                "NetworkMode": d.network_mode().map(|m| m.as_str()),
                "ContainerDefinitions": each(d.container_definitions(), |c| json!({
                    "Name": c.name(),
                    "Image": c.image(),
                    "Privileged": c.privileged(),
                    "User": c.user(),
                })),
            }))}))
        }
        Op::EcsGetTaskProtection => {
            let r = send!(
                q,
                ecs.get_task_protection()
                    .cluster(text(args, "Cluster")?)
                    .set_tasks(Some(texts(args, "Tasks")?))
            );
            Ok(protection(r.protected_tasks(), r.failures()))
        }
        Op::EcsUpdateTaskProtection => {
            let r = send!(
                q,
                ecs.update_task_protection()
                    .cluster(text(args, "Cluster")?)
                    .set_tasks(Some(texts(args, "Tasks")?))
                    .protection_enabled(
                        args.get("ProtectionEnabled")
                            .and_then(Value::as_bool)
                            .unwrap_or(false)
                    )
                    .set_expires_in_minutes(
                        args.get("ExpiresInMinutes")
                            .and_then(Value::as_i64)
                            .and_then(|m| i32::try_from(m).ok())
                    )
            );
            Ok(protection(r.protected_tasks(), r.failures()))
        }
        Op::EcsStopTask => {
            let r = send!(
                q,
                ecs.stop_task()
                    .cluster(text(args, "Cluster")?)
                    .task(text(args, "Task")?)
                    .set_reason(
                        args.get("Reason")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                    )
            );
            Ok(json!({"Task": r.task().map(|t| json!({
                "TaskArn": t.task_arn(),
                "DesiredStatus": t.desired_status(),
                "LastStatus": t.last_status(),
            }))}))
        }
        other => Err(elsewhere(other)),
    }
}

/// ECS's answer for tasks it could not act on or read (`MISSING`, `TASK_NOT_VALID`).
fn failures(items: &[Failure]) -> Vec<Value> {
    each(
        items,
        |f| json!({"Arn": f.arn(), "Reason": f.reason(), "Detail": f.detail()}),
    )
}

/// The protection of each task asked for, and the failures.
fn protection(tasks: &[ProtectedTask], failed: &[Failure]) -> Value {
    json!({
        "ProtectedTasks": each(tasks, |t| json!({
            "TaskArn": t.task_arn(),
            "ProtectionEnabled": t.protection_enabled(),
            "ExpirationDate": t.expiration_date().map(|d| d.to_string()),
        })),
        "Failures": failures(failed),
    })
}
