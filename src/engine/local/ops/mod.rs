//! One adapter per AWS operation of the step vocabulary (`crate::domain::define::Op`): the call's
//! parameters (members as the API names them, as JSON) to an SDK request, and its answer to
//! the JSON Step Functions' SDK integrations give (the members definitions read). Every call is
//! recorded and its error classified by [`Cx::call`]. One module per service; `http` is
//! firebreak's own POST to a webhook.

/// Sends `$service.$request…` built on the step's clients, recorded and classified as `q`'s
/// operation (see [`Req::send`]); its error ends the adapter.
macro_rules! send {
    ($q:expr, $service:ident . $($request:tt)+) => {
        $q.send($q.cx.clients.$service.$($request)+.send()).await?
    };
}

mod backup;
mod ec2;
mod ecs;
mod eks;
mod fleet;
mod http;
mod iam;
mod lambda;
mod rds;
mod s3;
mod sns;

use serde_json::{Map, Value};

use super::Cx;
use crate::domain::define::Op;
use crate::domain::step::StepError;

/// Makes `op` with `args`; with `dry`, an EC2 change is sent with `DryRun=true` (and answers
/// `null`).
pub(super) async fn call(
    cx: &Cx<'_>,
    op: Op,
    args: &Map<String, Value>,
    dry: bool,
) -> Result<Value, StepError> {
    let q = Req { cx, op, args, dry };
    // Each service's call on the heap: its future is as large as its largest SDK request's,
    // and a step's future would otherwise hold the largest of them all (a deep poll of it
    // overflowed a 2 MiB thread's stack in a debug build).
    match op.service() {
        "iam" => Box::pin(iam::call(&q)).await,
        "ec2" => Box::pin(ec2::call(&q)).await,
        "ecs" => Box::pin(ecs::call(&q)).await,
        "eks" => Box::pin(eks::call(&q)).await,
        "backup" => Box::pin(backup::call(&q)).await,
        "s3" => Box::pin(s3::call(&q)).await,
        "sns" => Box::pin(sns::call(&q)).await,
        "lambda" => Box::pin(lambda::call(&q)).await,
        "rds" => Box::pin(rds::call(&q)).await,
        "autoscaling" | "elasticloadbalancingv2" => Box::pin(fleet::call(&q)).await,
        "http" => Box::pin(http::call(&q)).await,
        // `Op::service` names no other; an operation of a new service needs its module here.
        // (EventBridge's `PutEvents` is a state machine's only: `Op::engine`.)
        _ => Err(elsewhere(op)),
    }
}

/// One call asked for: the step's context, the operation, its parameters (members as the API
/// names them) and whether it is a dry run.
struct Req<'a, 'c> {
    cx: &'a Cx<'c>,
    op: Op,
    args: &'a Map<String, Value>,
    dry: bool,
}

impl Req<'_, '_> {
    /// Sends the request the operation's adapter built, recorded and classified as the
    /// operation (see [`Cx::call`]).
    async fn send<O, E>(
        &self,
        fut: impl Future<
            Output = Result<
                O,
                aws_sdk_iam::error::SdkError<E, aws_smithy_runtime_api::http::Response>,
            >,
        >,
    ) -> Result<O, StepError>
    where
        O: aws_types::request_id::RequestId,
        E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        self.cx
            .call(self.op.api_service(), self.op.name(), fut)
            .await
    }

    /// Sends an EC2 change with `DryRun=true`: EC2 answers whether it would be allowed.
    async fn dry_run<O, E>(
        &self,
        fut: impl Future<
            Output = Result<
                O,
                aws_sdk_ec2::error::SdkError<E, aws_smithy_runtime_api::http::Response>,
            >,
        >,
    ) -> Result<(), StepError>
    where
        E: aws_sdk_ec2::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        self.cx.ec2_dry(self.op.name(), fut).await
    }
}

/// An operation sent to the module of another service (the dispatch above keeps them apart).
fn elsewhere(op: Op) -> StepError {
    StepError::permanent(
        "BindError",
        format!("{} is a {} call, not made here", op.name(), op.service()),
    )
}

fn missing(member: &str) -> StepError {
    StepError::permanent("BindError", format!("the call has no `{member}`"))
}

fn text<'a>(args: &'a Map<String, Value>, member: &str) -> Result<&'a str, StepError> {
    args.get(member)
        .and_then(Value::as_str)
        .ok_or_else(|| missing(member))
}

fn opt(args: &Map<String, Value>, member: &str) -> Option<String> {
    args.get(member).and_then(Value::as_str).map(str::to_string)
}

fn texts(args: &Map<String, Value>, member: &str) -> Result<Vec<String>, StepError> {
    args.get(member)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .ok_or_else(|| missing(member))
}

/// A list member of an answer, each item as the JSON `item` makes of it.
fn each<T>(items: &[T], item: impl Fn(&T) -> Value) -> Vec<Value> {
    items.iter().map(item).collect()
}
