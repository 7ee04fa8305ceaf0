//! SNS calls: publishing a notification.

use serde_json::{Map, Value, json};

use super::{Cx, elsewhere, opt, text};
use crate::domain::define::Op;
use crate::domain::step::StepError;

/// Makes the sns call `op` with `args`.
pub(super) async fn call(
    cx: &Cx<'_>,
    op: Op,
    args: &Map<String, Value>,
    _dry: bool,
) -> Result<Value, StepError> {
    let svc = op.api_service();
    let name = op.name();
    let c = &cx.clients;
    match op {
        Op::SnsPublish => {
            let r = cx
                .call(
                    svc,
                    name,
                    c.sns
                        .publish()
                        .topic_arn(text(args, "TopicArn")?)
                        .message(text(args, "Message")?)
                        .set_subject(opt(args, "Subject"))
                        .send(),
                )
                .await?;
            Ok(json!({"MessageId": r.message_id()}))
        }
        other => Err(elsewhere(other)),
    }
}
