//! The fleet an instance serves in: Auto Scaling groups and Elastic Load Balancing target
//! groups.

use serde_json::{Map, Value, json};

use super::{Req, each, elsewhere, missing, text, texts};
use crate::domain::define::Op;
use crate::domain::step::StepError;

/// Makes the call `q` asks for.
pub(super) async fn call(q: &Req<'_, '_>) -> Result<Value, StepError> {
    let args = q.args;
    match q.op {
        Op::AutoscalingDescribeAutoScalingInstances => {
            let r = send!(
                q,
                autoscaling
                    .describe_auto_scaling_instances()
                    .set_instance_ids(Some(texts(args, "InstanceIds")?))
            );
            let instances = each(r.auto_scaling_instances(), |i| {
                json!({
                    "InstanceId": i.instance_id(),
                    "AutoScalingGroupName": i.auto_scaling_group_name(),
                    "LifecycleState": i.lifecycle_state(),
                    "HealthStatus": i.health_status(),
                })
            });
            Ok(json!({"AutoScalingInstances": instances}))
        }
        Op::AutoscalingDetachInstances => {
            send!(
                q,
                autoscaling
                    .detach_instances()
                    .auto_scaling_group_name(text(args, "AutoScalingGroupName")?)
                    .set_instance_ids(Some(texts(args, "InstanceIds")?))
                    .should_decrement_desired_capacity(
                        args.get("ShouldDecrementDesiredCapacity")
                            .and_then(Value::as_bool)
                            .unwrap_or(false),
                    )
            );
            Ok(json!({}))
        }
        Op::Elbv2DescribeTargetGroups => {
            // Every page: the groups an instance is in may be on any of them.
            let mut arns = Vec::new();
            let mut marker = None;
            loop {
                let page = send!(q, elbv2.describe_target_groups().set_marker(marker.clone()));
                arns.extend(
                    page.target_groups()
                        .iter()
                        .map(|g| json!({"TargetGroupArn": g.target_group_arn()})),
                );
                marker = page.next_marker().map(str::to_string);
                if marker.is_none() {
                    break;
                }
            }
            Ok(json!({"TargetGroups": arns}))
        }
        Op::Elbv2DescribeTargetHealth => {
            let r = send!(
                q,
                elbv2
                    .describe_target_health()
                    .target_group_arn(text(args, "TargetGroupArn")?)
            );
            let targets = each(r.target_health_descriptions(), |d| {
                json!({
                    "Target": d.target().map(|t| {
                        let mut m = Map::new();
                        m.insert("Id".into(), json!(t.id()));
                        if let Some(p) = t.port() {
                            m.insert("Port".into(), json!(p));
                        }
                        if let Some(z) = t.availability_zone() {
                            m.insert("AvailabilityZone".into(), json!(z));
                        }
                        Value::Object(m)
                    }),
                    "TargetHealth": {
                        "State": d.target_health().and_then(|h| h.state()).map(|s| s.as_str()),
                        "Reason": d.target_health().and_then(|h| h.reason()).map(|s| s.as_str()),
                    },
                })
            });
            Ok(json!({"TargetHealthDescriptions": targets}))
        }
        Op::Elbv2DeregisterTargets => {
            let targets = args
                .get("Targets")
                .and_then(Value::as_array)
                .ok_or_else(|| missing("Targets"))?
                .iter()
                .map(|t| {
                    aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
                        .set_id(t.get("Id").and_then(Value::as_str).map(str::to_string))
                        .set_port(
                            t.get("Port")
                                .and_then(Value::as_i64)
                                .and_then(|p| i32::try_from(p).ok()),
                        )
                        .set_availability_zone(
                            t.get("AvailabilityZone")
                                .and_then(Value::as_str)
                                .map(str::to_string),
                        )
                        .build()
                })
                .collect::<Vec<_>>();
            send!(
                q,
                elbv2
                    .deregister_targets()
                    .target_group_arn(text(args, "TargetGroupArn")?)
                    .set_targets(Some(targets))
            );
            Ok(json!({}))
        }
        other => Err(elsewhere(other)),
    }
}
