//! The one retry policy type, shaped like a Step Functions Retrier (`ErrorEquals`,
//! `IntervalSeconds`, `MaxAttempts`, `BackoffRate`, `MaxDelaySeconds`, `JitterStrategy`) so that
//! the local engine and the ASL compiler share its semantics and defaults.

use std::time::Duration;

use serde::Serialize;

/// Classes of step errors a policy can retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// AWS throttling codes (Throttling, ThrottlingException, RequestLimitExceeded, SlowDown, …).
    Throttling,
    /// HTTP 5xx answers and AWS internal errors.
    Server,
    /// The call or the step took longer than allowed.
    Timeout,
    /// The connection was refused, reset or dropped.
    Network,
}

impl ErrorClass {
    pub const TRANSIENT: &'static [ErrorClass] = &[
        ErrorClass::Throttling,
        ErrorClass::Server,
        ErrorClass::Timeout,
        ErrorClass::Network,
    ];

    /// Parses a name from a playbook; `transient` means all four classes.
    pub fn parse(name: &str) -> Option<&'static [ErrorClass]> {
        Some(match name {
            "throttling" => &[ErrorClass::Throttling],
            "server" => &[ErrorClass::Server],
            "timeout" => &[ErrorClass::Timeout],
            "network" => &[ErrorClass::Network],
            "transient" => ErrorClass::TRANSIENT,
            _ => return None,
        })
    }

    pub const NAMES: &'static str = "throttling, server, timeout, network, transient";
}

/// How the delay grows between attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Jitter {
    /// Sleep a uniformly random time between zero and the computed delay (AWS "full jitter").
    Full,
    None,
}

/// When and how often a failed step is tried again.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct RetryPolicy {
    /// Error classes that are retried; anything else fails the step at once.
    pub errors: Vec<ErrorClass>,
    /// Total tries including the first (Step Functions' `MaxAttempts` is this minus one).
    pub attempts: u32,
    /// Delay before the first retry.
    #[serde(with = "millis", rename = "interval_ms")]
    #[schemars(with = "u64")]
    pub interval: Duration,
    /// Multiplier applied to the delay after each retry.
    pub backoff_rate: f64,
    /// Upper bound of any single delay.
    #[serde(with = "millis", rename = "max_delay_ms")]
    #[schemars(with = "u64")]
    pub max_delay: Duration,
    pub jitter: Jitter,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            errors: ErrorClass::TRANSIENT.to_vec(),
            attempts: 4,
            interval: Duration::from_millis(200),
            backoff_rate: 2.0,
            max_delay: Duration::from_secs(5),
            jitter: Jitter::Full,
        }
    }
}

impl RetryPolicy {
    /// Evidence writes: a few quick tries for a transient S3 error (200 ms, 400 ms, 800 ms,
    /// jittered), so that a record is not lost to one throttled or dropped request.
    pub fn store() -> RetryPolicy {
        RetryPolicy {
            attempts: 4,
            max_delay: Duration::from_millis(800),
            ..RetryPolicy::default()
        }
    }

    /// Polling a queue that fails: the pause after each consecutive failed receive, from
    /// 400 ms doubling to 12.8 s (without jitter: one poller).
    pub fn queue() -> RetryPolicy {
        RetryPolicy {
            errors: ErrorClass::TRANSIENT.to_vec(),
            attempts: u32::MAX,
            interval: Duration::from_millis(400),
            backoff_rate: 2.0,
            max_delay: Duration::from_millis(12_800),
            jitter: Jitter::None,
        }
    }

    /// A queue message whose finding failed for a reason that may pass (the evidence bucket
    /// unreachable): how long it stays away after each receive, 30 s, then four times longer
    /// each time (2 min, 8 min, 32 min), at most SQS's 12 hours. An outage of some 40 minutes
    /// then spends four receives, not the five `setup` allows before the dead-letter queue.
    pub fn redelivery() -> RetryPolicy {
        RetryPolicy {
            errors: ErrorClass::TRANSIENT.to_vec(),
            attempts: u32::MAX,
            interval: Duration::from_secs(30),
            backoff_rate: 4.0,
            max_delay: Duration::from_secs(12 * 3600),
            jitter: Jitter::None,
        }
    }

    /// A ticket tracker's write: 1 s doubling to 30 s, five tries (about a minute in all, besides
    /// the waits a rate limit asks for), so that a tracker that blinks loses no ticket; one
    /// that stays down is tried again later from the incident's record.
    pub fn tracker() -> RetryPolicy {
        RetryPolicy {
            errors: ErrorClass::TRANSIENT.to_vec(),
            attempts: 5,
            interval: Duration::from_secs(1),
            backoff_rate: 2.0,
            max_delay: Duration::from_secs(30),
            // Writes are one at a time per process: nothing to spread.
            jitter: Jitter::None,
        }
    }

    /// Whether an error of `class` should be tried again after `attempt` tries (1-based).
    pub fn should_retry(&self, class: ErrorClass, attempt: u32) -> bool {
        attempt < self.attempts && self.errors.contains(&class)
    }

    /// The delay before retry number `retry` (1 = the first retry), before jitter:
    /// `min(interval × backoff_rate^(retry-1), max_delay)`.
    pub fn base_delay(&self, retry: u32) -> Duration {
        let exp = self
            .backoff_rate
            .powi(retry.saturating_sub(1).min(64) as i32);
        let secs = (self.interval.as_secs_f64() * exp).min(self.max_delay.as_secs_f64());
        Duration::from_secs_f64(secs.max(0.0))
    }

    /// The delay with jitter applied; `unit` is a random number in [0, 1).
    pub fn delay(&self, retry: u32, unit: f64) -> Duration {
        let base = self.base_delay(retry);
        match self.jitter {
            Jitter::Full => base.mul_f64(unit.clamp(0.0, 1.0)),
            Jitter::None => base,
        }
    }
}

mod millis {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis().try_into().unwrap_or(u64::MAX))
    }
}

/// Parses durations such as `250ms`, `30s`, `5m`, `1h` (one number and one unit).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit())?;
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().ok()?;
    let d = match unit.trim() {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.checked_mul(60)?),
        "h" => Duration::from_secs(n.checked_mul(3600)?),
        _ => return None,
    };
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_capped() {
        let p = RetryPolicy::default();
        assert_eq!(p.base_delay(1), Duration::from_millis(200));
        assert_eq!(p.base_delay(2), Duration::from_millis(400));
        assert_eq!(p.base_delay(20), Duration::from_secs(5));
        assert!(p.delay(3, 0.5) <= p.base_delay(3));
        assert!(p.should_retry(ErrorClass::Throttling, 3));
        assert!(!p.should_retry(ErrorClass::Throttling, 4));
    }

    /// The store's and the queue's policies are the same mechanism as a step's.
    #[test]
    fn store_and_queue_policies() {
        let store = RetryPolicy::store();
        assert_eq!(store.attempts, 4);
        assert_eq!(store.base_delay(3), Duration::from_millis(800));
        assert!(!store.should_retry(ErrorClass::Server, 4));
        let queue = RetryPolicy::queue();
        assert_eq!(queue.delay(1, 0.9), Duration::from_millis(400));
        assert_eq!(queue.delay(6, 0.9), Duration::from_millis(12_800));
        assert_eq!(queue.delay(60, 0.9), Duration::from_millis(12_800));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("2 weeks"), None);
        assert_eq!(parse_duration("s"), None);
    }
}
