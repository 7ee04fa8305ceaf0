//! Notification actions in the step vocabulary.

use super::{Arg, Ask, Cond, Def, Op, Pick};

/// `sns.publish`: one message to a topic, each time (a notification is never "already sent").
/// SNS's answer is the proof it was accepted; there is nothing to read back.
pub const PUBLISH: Def = Def {
    before: &[],
    refuse: &[],
    done_when: Cond::Never,
    plan: "publish to {topic_arn}: {message}",
    change: &[Ask::to(
        Op::SnsPublish,
        &[
            ("TopicArn", Arg::Param("topic_arn")),
            ("Message", Arg::Param("message")),
            ("Subject", Arg::IfGiven("subject")),
        ],
    )
    .keeping(&[Pick::member("message_id", "MessageId")])],
    after: &[],
    verified_when: None,
    unverified: "",
    outputs: &[("message_id", "change.message_id")],
};
