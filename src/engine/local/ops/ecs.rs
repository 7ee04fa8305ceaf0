//! ECS calls: a task, its definition, its scale-in protection, and stopping it; a service and
//! its network configuration. (A dry run
//! never reaches an ECS change: ECS has no `DryRun`.)

use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, Failure, NetworkConfiguration, ProtectedTask,
    TaskDefinitionField, TaskField,
};
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
        Op::EcsDescribeServices => {
            let r = send!(
                q,
                ecs.describe_services()
                    .cluster(text(args, "Cluster")?)
                    .set_services(Some(texts(args, "Services")?))
            );
            let services = each(r.services(), |s| {
                let vpc = s
                    .network_configuration()
                    .and_then(|n| n.awsvpc_configuration());
                json!({
                    "ServiceName": s.service_name(),
                    "ServiceArn": s.service_arn(),
                    "Status": s.status(),
                    "DesiredCount": s.desired_count(),
                    "RunningCount": s.running_count(),
                    "TaskDefinition": s.task_definition(),
                    "LaunchType": s.launch_type().map(|l| l.as_str()),
                    "NetworkConfiguration": vpc.map(|v| json!({"AwsvpcConfiguration": {
                        "Subnets": v.subnets(),
                        "SecurityGroups": v.security_groups(),
                        "AssignPublicIp": v.assign_public_ip().map(|a| a.as_str()),
                    }})),
                })
            });
            Ok(json!({"Services": services, "Failures": failures(r.failures())}))
        }
        Op::EcsUpdateService => {
            let vpc = args
                .get("NetworkConfiguration")
                .and_then(|n| n.get("AwsvpcConfiguration"));
            let strings = |member: &str| -> Option<Vec<String>> {
                vpc.and_then(|v| v.get(member))
                    .and_then(Value::as_array)
                    .map(|l| {
                        l.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
            };
            let network = match vpc {
                Some(v) => Some(
                    NetworkConfiguration::builder()
                        .awsvpc_configuration(
                            AwsVpcConfiguration::builder()
                                .set_subnets(strings("Subnets"))
                                .set_security_groups(strings("SecurityGroups"))
                                .set_assign_public_ip(
                                    v.get("AssignPublicIp")
                                        .and_then(Value::as_str)
                                        .map(AssignPublicIp::from),
                                )
                                .build()
                                .map_err(|e| StepError::permanent("BindError", e.to_string()))?,
                        )
                        .build(),
                ),
                None => None,
            };
            send!(
                q,
                ecs.update_service()
                    .cluster(text(args, "Cluster")?)
                    .service(text(args, "Service")?)
                    .set_network_configuration(network)
                    .set_desired_count(
                        args.get("DesiredCount")
                            .and_then(Value::as_i64)
                            .and_then(|n| i32::try_from(n).ok())
                    )
            );
            Ok(json!({}))
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
