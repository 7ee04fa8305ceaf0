//! Findings arriving by themselves: `serve` (an SQS queue fed by EventBridge), `watch` (the
//! GuardDuty API), the worker both share, and the claims that make each finding contained
//! exactly once.

pub mod claim;
pub mod serve;
pub mod watch;
pub mod worker;

/// One line of the intake's JSON log: `log!("claimed", finding_id = %f.id, …)` (fields as
/// `tracing` takes them: `%` for text, `?` for anything else, numbers and booleans as they are).
#[macro_export]
macro_rules! log {
    ($event:literal $(, $($field:tt)+)?) => {
        ::tracing::info!(target: "firebreak::log", event = $event $(, $($field)+)?)
    };
}
