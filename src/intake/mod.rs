//! Findings arriving by themselves: `serve` (an SQS queue fed by EventBridge), `watch` (the
//! GuardDuty API), the worker both share, and the claims that make each finding contained
//! exactly once.

pub mod claim;
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
