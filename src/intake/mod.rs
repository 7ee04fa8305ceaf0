//! Findings arriving by themselves: `serve` (an SQS queue fed by EventBridge), `watch` (the
//! GuardDuty API), the worker both share, and the claims that make each finding contained
//! exactly once.

pub mod claim;
pub mod serve;
pub mod watch;
pub mod worker;
