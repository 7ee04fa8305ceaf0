//! Notification actions in the step vocabulary.

use super::{Arg, Ask, Cond, Def, Engine, Lit, Op, Pick, Refusal};

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

/// `http.webhook`: a JSON body with a Slack-compatible `text` (and the finding's and
/// execution's ids) POSTed to a URL, each time. firebreak's own process POSTs it, to a public
/// HTTPS address only, and its answer's status is the output. A state machine has no
/// Lambda-free way to POST to an arbitrary URL but its HTTP Task, which needs an EventBridge
/// connection and which the emulator cannot run: it puts the message as an EventBridge event
/// (`firebreak webhook`), for a rule with an API destination to POST; it never sees an HTTP
/// status, and an event EventBridge did not take fails the step.
pub const WEBHOOK: Def = Def {
    before: &[],
    refuse: &[Refusal {
        when: Cond::Not(&Cond::Starts(Arg::Param("url"), &["https://", "http://"])),
        code: "InvalidParameter",
        message: "webhook url must be http(s)",
    }],
    done_when: Cond::Never,
    plan: "POST a notification to {url|host}",
    change: &[
        Ask::to(
            Op::HttpPost,
            &[("Url", Arg::Param("url")), ("Text", Arg::Param("text"))],
        )
        .keeping(&[Pick::member("status", "Status")])
        .only_on(Engine::Local),
        Ask::to(
            Op::EventsPutEvents,
            &[(
                "Entries",
                Arg::List(&[Arg::Obj(&[
                    ("Source", Arg::Text("firebreak")),
                    ("DetailType", Arg::Text("firebreak webhook")),
                    (
                        "Detail",
                        Arg::Obj(&[("url", Arg::Param("url")), ("text", Arg::Param("text"))]),
                    ),
                ])]),
            )],
        )
        .keeping(&[Pick::at("failed", "FailedEntryCount", Lit::Int(0))])
        .only_on(Engine::Sfn),
    ],
    after: &[],
    verified_when: Some(Cond::Is("change.failed", Lit::Int(0))),
    unverified: "EventBridge did not take the webhook event",
    outputs: &[("status", "change.status")],
};
