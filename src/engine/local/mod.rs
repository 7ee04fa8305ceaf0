//! The AWS side of the action catalog: an [`Executor`] that carries out each action with the AWS
//! SDK for Rust. Every action records the pre-state, changes only what is not already as wanted
//! (a second run changes nothing), and reads the resource back to verify. The only module that
//! mutates AWS.

mod define;
mod ec2;
mod isolate;
mod ops;

use std::future::Future;
use std::sync::Mutex;

use aws_types::request_id::RequestId;
use serde_json::{Map, Value};

use crate::domain::catalog::{Action, How, Written};
use crate::domain::step::{ApiCall, Executor, Invocation, Outcome, StepError};

pub use crate::aws::{Clients, classify};

/// Carries out catalog actions against AWS.
pub struct AwsExecutor {
    pub clients: Clients,
    /// The finding and execution, for tags and notification bodies.
    pub finding_id: String,
    pub execution_id: String,
}

impl Executor for AwsExecutor {
    async fn execute(&self, inv: &Invocation) -> Result<Outcome, StepError> {
        let params = fixed_tags(
            inv.action,
            &inv.params,
            &self.finding_id,
            &self.execution_id,
        );
        let cx = Cx {
            clients: &self.clients,
            params: &params,
            dry_run: inv.dry_run,
            finding_id: &self.finding_id,
            execution_id: &self.execution_id,
            calls: Mutex::new(Vec::new()),
        };
        let result = dispatch(inv.action, &cx).await;
        let calls = cx.calls.into_inner().unwrap_or_default();
        match result {
            Ok(mut o) => {
                o.calls = calls;
                Ok(o)
            }
            Err(mut e) => {
                e.calls = calls;
                Err(e)
            }
        }
    }
}

/// The step's parameters with the action's own tags (`Spec::fixed_tags`) first in its `tags`,
/// as `[{Key, Value}]`, then the playbook's, minus any it fixes (as the ASL compiler binds
/// them for a state machine).
fn fixed_tags<'p>(
    action: Action,
    params: &'p Map<String, Value>,
    finding_id: &str,
    execution_id: &str,
) -> std::borrow::Cow<'p, Map<String, Value>> {
    use crate::domain::catalog::Fixed;
    let fixed = action.spec().fixed_tags;
    if fixed.is_empty() {
        return std::borrow::Cow::Borrowed(params);
    }
    let tag = |k: &str, v: Value| serde_json::json!({"Key": k, "Value": v});
    let mut list: Vec<Value> = fixed
        .iter()
        .map(|(k, f)| {
            let v = match f {
                Fixed::FindingId => Value::from(finding_id),
                Fixed::ExecutionId => Value::from(execution_id),
                Fixed::InstanceId => params.get("instance_id").cloned().unwrap_or(Value::Null),
            };
            tag(k, v)
        })
        .collect();
    if let Some(Value::Object(given)) = params.get("tags") {
        for (k, v) in given {
            if !fixed.iter().any(|(f, _)| k.starts_with(f)) {
                list.push(tag(k, Value::String(crate::domain::expr::to_text(v))));
            }
        }
    }
    let mut with = params.clone();
    with.insert("tags".into(), Value::Array(list));
    std::borrow::Cow::Owned(with)
}

/// Each action's future is boxed: their state machines differ a lot in size (concurrent SDK
/// calls), and an unboxed match would make every step's future as large as the largest.
async fn dispatch(action: Action, cx: &Cx<'_>) -> Result<Outcome, StepError> {
    match action.spec().how {
        How::Defined(def) => Box::pin(define::run(def, cx)).await,
        How::Hand { written, .. } => match written {
            Written::IsolateInstance => Box::pin(isolate::isolate_instance(cx)).await,
        },
    }
}

/// What an action function gets: clients, its parameters, and a log of the calls it makes.
pub(crate) struct Cx<'a> {
    pub clients: &'a Clients,
    pub params: &'a Map<String, Value>,
    pub dry_run: bool,
    pub finding_id: &'a str,
    pub execution_id: &'a str,
    calls: Mutex<Vec<ApiCall>>,
}

impl Cx<'_> {
    /// A text parameter (validated and bound before the step runs).
    pub fn str(&self, name: &str) -> Result<&str, StepError> {
        self.params
            .get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| {
                StepError::permanent("BindError", format!("parameter `{name}` is missing"))
            })
    }

    pub fn opt_str(&self, name: &str) -> Option<&str> {
        self.params
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    /// Makes one SDK call, recording it (with its request id) and classifying its error.
    pub async fn call<O, E>(
        &self,
        service: &'static str,
        operation: &'static str,
        fut: impl Future<
            Output = Result<
                O,
                aws_sdk_iam::error::SdkError<E, aws_smithy_runtime_api::http::Response>,
            >,
        >,
    ) -> Result<O, StepError>
    where
        O: RequestId,
        E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let result = fut.await;
        let (request_id, outcome) = match &result {
            Ok(o) => (o.request_id().map(str::to_string), "ok".to_string()),
            Err(e) => (
                e.request_id().map(str::to_string),
                aws_sdk_iam::error::ProvideErrorMetadata::code(e)
                    .unwrap_or("error")
                    .to_string(),
            ),
        };
        tracing::debug!(
            service,
            operation,
            request_id = request_id.as_deref().unwrap_or("-"),
            result = %outcome,
            "aws call"
        );
        self.record(ApiCall {
            service: service.into(),
            operation: operation.into(),
            request_id,
            result: outcome,
        });
        result.map_err(|e| classify(&e, service, operation))
    }

    pub fn record(&self, call: ApiCall) {
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(call);
        }
    }

    /// Notes a mutating call that a dry run does not make.
    pub fn planned(&self, service: &'static str, operation: &'static str) {
        self.record(ApiCall {
            service: service.into(),
            operation: operation.into(),
            request_id: None,
            result: "dry_run".into(),
        });
    }
}

/// `Err` for a failed read-back.
pub(crate) fn verify_failed(what: impl Into<String>) -> StepError {
    StepError::permanent(crate::domain::catalog::VERIFY_FAILED, what)
}

/// Builds outputs from pairs.
pub(crate) fn outputs<const N: usize>(pairs: [(&str, Value); N]) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}
