//! Findings arriving by themselves: `serve` (an SQS queue fed by EventBridge), `watch` (the
//! GuardDuty API), the worker both share, and the claims that make each finding contained
//! exactly once.

pub mod asff;
pub mod claim;
pub mod reconcile;
pub mod redrive;
pub mod serve;
pub mod watch;
pub mod worker;

/// The target of the intake's events (`serve`, `watch`, the queue in a drill), which the log
/// set-up (`cli::log`) selects.
pub const EVENTS: &str = "firebreak::log";

/// One line of the intake's JSON log: `log!("claimed", finding_id = %f.id, …)` (fields as
/// `tracing` takes them: `%` for text, `?` for anything else, numbers and booleans as they are).
#[macro_export]
macro_rules! log {
    ($event:literal $(, $($field:tt)+)?) => {
        ::tracing::info!(target: $crate::intake::EVENTS, event = $event $(, $($field)+)?)
    };
}

/// How many messages a queue holds, visible, in flight or delayed; `None` when it cannot be
/// read. `serve --drain` stops at 0; the dead-letter queue's is a metric.
pub(crate) async fn queue_depth(sqs: &aws_sdk_sqs::Client, url: &str) -> Option<u64> {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .attribute_names(A::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .ok()?;
    out.attributes()?
        .values()
        .map(|v| v.parse::<u64>().ok())
        .sum()
}
