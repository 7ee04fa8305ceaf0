//! Notification actions in the step vocabulary.

use super::{Arg, Ask, Call, Cond, Def, From, Lit, Op, Pick};

/// `sns.publish`: one message to a topic, each time (a notification is never "already sent").
/// SNS's answer is the proof it was accepted; there is nothing to read back.
pub const PUBLISH: Def = Def {
    before: &[],
    refuse: &[],
    done_when: Cond::Never,
    plan: "publish to {topic_arn}: {message}",
    change: &[Ask {
        call: Call {
            op: Op::SnsPublish,
            args: &[
                ("TopicArn", Arg::Param("topic_arn")),
                ("Message", Arg::Param("message")),
                ("Subject", Arg::IfGiven("subject")),
            ],
        },
        each: None,
        only: None,
        when: None,
        absent: None,
        picks: &[Pick {
            name: "message_id",
            from: From::Member("MessageId"),
            default: Lit::Null,
        }],
    }],
    after: &[],
    verified_when: None,
    unverified: "",
    outputs: &[("message_id", "change.message_id")],
};
