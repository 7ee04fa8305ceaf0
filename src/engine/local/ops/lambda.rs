//! Lambda calls: a function's configuration, concurrency, event source mappings, URL and
//! resource policy. (A dry run never reaches a Lambda change: Lambda has no `DryRun`.)

use serde_json::{Value, json};

use super::{Req, each, elsewhere, missing, text};
use crate::domain::define::Op;
use crate::domain::step::StepError;

/// Makes the call `q` asks for.
pub(super) async fn call(q: &Req<'_, '_>) -> Result<Value, StepError> {
    let args = q.args;
    match q.op {
        Op::LambdaGetFunctionConfiguration => {
            let r = send!(
                q,
                lambda
                    .get_function_configuration()
                    .function_name(text(args, "FunctionName")?)
            );
            // The environment's values are left out: they hold secrets, and evidence keeps
            // only what a definition picks.
            Ok(json!({
                "FunctionName": r.function_name(),
                "FunctionArn": r.function_arn(),
                "Runtime": r.runtime().map(|x| x.as_str()),
                "Role": r.role(),
                "Handler": r.handler(),
                "CodeSha256": r.code_sha256(),
                "CodeSize": r.code_size(),
                "LastModified": r.last_modified(),
                "Version": r.version(),
                "PackageType": r.package_type().map(|x| x.as_str()),
                "State": r.state().map(|x| x.as_str()),
            }))
        }
        Op::LambdaGetFunctionConcurrency => {
            let r = send!(
                q,
                lambda
                    .get_function_concurrency()
                    .function_name(text(args, "FunctionName")?)
            );
            Ok(concurrency(r.reserved_concurrent_executions()))
        }
        Op::LambdaPutFunctionConcurrency => {
            let n = args
                .get("ReservedConcurrentExecutions")
                .and_then(Value::as_i64)
                .and_then(|n| i32::try_from(n).ok())
                .ok_or_else(|| missing("ReservedConcurrentExecutions"))?;
            let r = send!(
                q,
                lambda
                    .put_function_concurrency()
                    .function_name(text(args, "FunctionName")?)
                    .reserved_concurrent_executions(n)
            );
            Ok(concurrency(r.reserved_concurrent_executions()))
        }
        Op::LambdaListEventSourceMappings => {
            let r = send!(
                q,
                lambda
                    .list_event_source_mappings()
                    .function_name(text(args, "FunctionName")?)
            );
            let mappings = each(r.event_source_mappings(), |m| {
                json!({
                    "UUID": m.uuid(),
                    "State": m.state(),
                    "EventSourceArn": m.event_source_arn(),
                    "FunctionArn": m.function_arn(),
                    "BatchSize": m.batch_size(),
                })
            });
            Ok(json!({"EventSourceMappings": mappings}))
        }
        Op::LambdaUpdateEventSourceMapping => {
            let r = send!(
                q,
                lambda
                    .update_event_source_mapping()
                    .uuid(text(args, "UUID")?)
                    .set_enabled(args.get("Enabled").and_then(Value::as_bool))
            );
            Ok(json!({"UUID": r.uuid(), "State": r.state()}))
        }
        Op::LambdaGetFunctionUrlConfig => {
            let r = send!(
                q,
                lambda
                    .get_function_url_config()
                    .function_name(text(args, "FunctionName")?)
            );
            Ok(json!({
                "FunctionUrl": r.function_url(),
                "FunctionArn": r.function_arn(),
                "AuthType": r.auth_type().as_str(),
            }))
        }
        Op::LambdaUpdateFunctionUrlConfig => {
            let r = send!(
                q,
                lambda
                    .update_function_url_config()
                    .function_name(text(args, "FunctionName")?)
                    .auth_type(aws_sdk_lambda::types::FunctionUrlAuthType::from(text(
                        args, "AuthType"
                    )?))
            );
            Ok(json!({"FunctionUrl": r.function_url(), "AuthType": r.auth_type().as_str()}))
        }
        Op::LambdaRemovePermission => {
            send!(
                q,
                lambda
                    .remove_permission()
                    .function_name(text(args, "FunctionName")?)
                    .statement_id(text(args, "StatementId")?)
            );
            Ok(json!({}))
        }
        Op::LambdaGetPolicy => {
            let r = send!(
                q,
                lambda
                    .get_policy()
                    .function_name(text(args, "FunctionName")?)
            );
            Ok(json!({"Policy": r.policy(), "RevisionId": r.revision_id()}))
        }
        other => Err(elsewhere(other)),
    }
}

/// A reserved concurrency answer: the member only when the function has one.
fn concurrency(n: Option<i32>) -> Value {
    match n {
        Some(n) => json!({"ReservedConcurrentExecutions": n}),
        None => json!({}),
    }
}
