//! One adapter per AWS operation of the step vocabulary (`crate::domain::define::Op`): the call's
//! parameters (members as the API names them, as JSON) to an SDK request, and its answer to
//! the JSON Step Functions' SDK integrations give (the members definitions read). Every call is
//! recorded and its error classified by [`Cx::call`]. One module per service.

mod ec2;
mod fleet;
mod iam;
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
    match op.service() {
        "iam" => iam::call(cx, op, args, dry).await,
        "ec2" => ec2::call(cx, op, args, dry).await,
        "s3" => s3::call(cx, op, args, dry).await,
        "sns" => sns::call(cx, op, args, dry).await,
        "autoscaling" | "elasticloadbalancingv2" => fleet::call(cx, op, args, dry).await,
        // `Op::service` names no other; an operation of a new service needs its module here.
        _ => Err(elsewhere(op)),
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
