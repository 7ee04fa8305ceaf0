//! EC2 for the isolation still written for the local engine (`super::isolate`): the instance
//! as isolation reads it. Mutating EC2 calls in a dry run are sent with `DryRun=true`, so
//! permissions are checked without changing anything.

use aws_sdk_ec2::types::Filter;

use super::Cx;
use crate::domain::step::{ApiCall, StepError};

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
