//! SNS calls: publishing a notification.

use serde_json::{Value, json};

use super::{Req, elsewhere, opt, text};
use crate::domain::define::Op;
use crate::domain::step::StepError;

/// Makes the call `q` asks for.
pub(super) async fn call(q: &Req<'_, '_>) -> Result<Value, StepError> {
    let args = q.args;
    match q.op {
        Op::SnsPublish => {
            let r = send!(
                q,
                sns.publish()
                    .topic_arn(text(args, "TopicArn")?)
                    .message(text(args, "Message")?)
                    .set_subject(opt(args, "Subject"))
            );
            Ok(json!({"MessageId": r.message_id()}))
        }
        other => Err(elsewhere(other)),
    }
}
