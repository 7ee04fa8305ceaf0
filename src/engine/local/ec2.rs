//! EC2 actions still written for the local engine (not yet in the step vocabulary): snapshot
//! the volumes and wait for them, and the instance as isolation reads it (`super::isolate`).
//! Mutating EC2 calls in a dry run are sent with `DryRun=true`, so permissions are checked
//! without changing anything.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use futures_util::future::join_all;
use serde_json::{Value, json};

use super::{Cx, outputs, verify_failed};
use crate::domain::step::{ApiCall, Outcome, StepError};

pub(super) const SVC: &str = "ec2";

pub(super) fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

impl Cx<'_> {
    /// Sends an EC2 call with `DryRun=true`: `DryRunOperation` means it would have succeeded.
    pub(super) async fn ec2_dry<O, E>(
        &self,
        operation: &'static str,
        fut: impl std::future::Future<
            Output = Result<
                O,
                aws_sdk_ec2::error::SdkError<E, aws_smithy_runtime_api::http::Response>,
            >,
        >,
    ) -> Result<(), StepError>
    where
        E: aws_sdk_ec2::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        match fut.await {
            Err(e)
                if aws_sdk_ec2::error::ProvideErrorMetadata::code(&e)
                    == Some("DryRunOperation") =>
            {
                self.record(ApiCall {
                    service: SVC.into(),
                    operation: operation.into(),
                    request_id: None,
                    result: "dry_run".into(),
                });
                Ok(())
            }
            Err(e) => {
                let code = aws_sdk_ec2::error::ProvideErrorMetadata::code(&e)
                    .unwrap_or("error")
                    .to_string();
                self.record(ApiCall {
                    service: SVC.into(),
                    operation: operation.into(),
                    request_id: None,
                    result: code,
                });
                Err(crate::aws::classify(&e, SVC, operation))
            }
            Ok(_) => {
                self.record(ApiCall {
                    service: SVC.into(),
                    operation: operation.into(),
                    request_id: None,
                    result: "ok".into(),
                });
                Err(StepError::permanent(
                    "DryRunIgnored",
                    format!("{operation} was sent with DryRun=true but acted; stopping"),
                ))
            }
        }
    }
}

pub(super) struct Eni {
    pub(super) id: String,
    pub(super) vpc_id: String,
    pub(super) groups: Vec<String>,
}

/// What isolation needs of an instance: its network interfaces.
pub(super) struct Instance {
    pub(super) enis: Vec<Eni>,
}

pub(super) async fn describe(cx: &Cx<'_>, id: &str) -> Result<Instance, StepError> {
    let out = cx
        .call(
            SVC,
            "DescribeInstances",
            cx.clients.ec2.describe_instances().instance_ids(id).send(),
        )
        .await?;
    let Some(i) = out
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .find(|i| i.instance_id() == Some(id))
    else {
        return Err(StepError::permanent(
            "InvalidInstanceID.NotFound",
            format!("instance {id} does not exist in this account and region"),
        ));
    };
    let enis: Vec<Eni> = i
        .network_interfaces()
        .iter()
        .map(|n| Eni {
            id: n.network_interface_id().unwrap_or_default().to_string(),
            vpc_id: n.vpc_id().or(i.vpc_id()).unwrap_or_default().to_string(),
            groups: n
                .groups()
                .iter()
                .filter_map(|g| g.group_id().map(str::to_string))
                .collect(),
        })
        .collect();
    Ok(Instance { enis })
}

pub(super) async fn snapshot_volumes(cx: &Cx<'_>) -> Result<Outcome, StepError> {
    let id = cx.str("instance_id")?;
    let ec2 = &cx.clients.ec2;
    let wait = cx
        .params
        .get("wait")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let vols = cx
        .call(
            SVC,
            "DescribeVolumes",
            ec2.describe_volumes()
                .filters(filter("attachment.instance-id", id))
                .send(),
        )
        .await?;
    let volume_ids: Vec<String> = vols
        .volumes()
        .iter()
        .filter_map(|v| v.volume_id().map(str::to_string))
        .collect();
    // Snapshots this finding already made (a re-run): reuse them.
    let existing = cx
        .call(
            SVC,
            "DescribeSnapshots",
            ec2.describe_snapshots()
                .owner_ids("self")
                .filters(filter("tag:firebreak:finding-id", cx.finding_id))
                .send(),
        )
        .await?;
    let mut by_volume: BTreeMap<String, String> = existing
        .snapshots()
        .iter()
        .filter_map(|s| Some((s.volume_id()?.to_string(), s.snapshot_id()?.to_string())))
        .collect();
    // The action's own tags first (`Spec::fixed_tags`, as the state machine sets them), then
    // the playbook's, which cannot replace them.
    let fixed = crate::domain::catalog::Action::Ec2SnapshotVolumes
        .spec()
        .fixed_tags;
    let mut tags: Vec<Tag> = fixed
        .iter()
        .map(|(k, v)| {
            let value = match v {
                crate::domain::catalog::Fixed::FindingId => cx.finding_id,
                crate::domain::catalog::Fixed::ExecutionId => cx.execution_id,
                crate::domain::catalog::Fixed::InstanceId => id,
            };
            Tag::builder().key(*k).value(value).build()
        })
        .collect();
    if let Some(Value::Object(extra)) = cx.params.get("tags") {
        for (k, v) in extra {
            if !fixed.iter().any(|(f, _)| k.starts_with(f)) {
                tags.push(
                    Tag::builder()
                        .key(k)
                        .value(v.as_str().unwrap_or_default())
                        .build(),
                );
            }
        }
    }
    let mut out = Outcome {
        pre_state: json!({"instance_id": id, "volume_ids": volume_ids, "existing_snapshots": by_volume}),
        ..Default::default()
    };
    let missing: Vec<&String> = volume_ids
        .iter()
        .filter(|v| !by_volume.contains_key(*v))
        .collect();
    let calls = missing.iter().map(|vol| {
        let spec = TagSpecification::builder()
            .resource_type(ResourceType::Snapshot)
            .set_tags(Some(tags.clone()))
            .build();
        let call = ec2
            .create_snapshot()
            .volume_id(vol.as_str())
            .description(format!(
                "firebreak evidence: finding {} instance {id} volume {vol}",
                cx.finding_id
            ))
            .tag_specifications(spec);
        async move {
            if cx.dry_run {
                cx.ec2_dry("CreateSnapshot", call.dry_run(true).send())
                    .await
                    .map(|_| None)
            } else {
                cx.call(SVC, "CreateSnapshot", call.send())
                    .await
                    .map(|s| s.snapshot_id().map(|i| ((*vol).clone(), i.to_string())))
            }
        }
    });
    for r in join_all(calls).await {
        if let Some((vol, snap)) = r? {
            by_volume.insert(vol, snap);
            out.changed = true;
        }
    }
    if cx.dry_run {
        out.planned.extend(
            missing
                .iter()
                .map(|v| format!("snapshot volume {v} tagged with the finding id")),
        );
        return Ok(out);
    }
    let snapshot_ids: Vec<String> = volume_ids
        .iter()
        .filter_map(|v| by_volume.get(v).cloned())
        .collect();
    if snapshot_ids.len() != volume_ids.len() {
        return Err(verify_failed(format!(
            "not every volume of {id} has a snapshot: {by_volume:?}"
        )));
    }
    // Wait for completion (bounded by the step timeout; the engine cancels past it).
    let mut delay = Duration::from_millis(500);
    let states = loop {
        let d = cx
            .call(
                SVC,
                "DescribeSnapshots",
                ec2.describe_snapshots()
                    .set_snapshot_ids(Some(snapshot_ids.clone()))
                    .send(),
            )
            .await?;
        let states: BTreeMap<String, String> = d
            .snapshots()
            .iter()
            .map(|s| {
                (
                    s.snapshot_id().unwrap_or_default().to_string(),
                    s.state()
                        .map(|x| x.as_str().to_string())
                        .unwrap_or_default(),
                )
            })
            .collect();
        if let Some((s, _)) = states.iter().find(|(_, st)| st.as_str() == "error") {
            return Err(StepError::permanent(
                "SnapshotFailed",
                format!("snapshot {s} of instance {id} ended in error"),
            ));
        }
        if !wait || states.values().all(|s| s == "completed") {
            break states;
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(15));
    };
    out.outputs = outputs([("snapshot_ids", json!(snapshot_ids))]);
    out.post_state = json!({"instance_id": id, "snapshots": by_volume, "states": states});
    Ok(out)
}
