//! What one attempt of one step is and gives back: the types the actions return and the
//! engine schedules, below both (the actions know nothing of the scheduler, the scheduler
//! nothing of AWS).

use std::future::Future;

use serde_json::{Map, Value};

use crate::domain::catalog::Action;
use crate::domain::retry::ErrorClass;

/// One AWS (or other) call a step made, for the report and the evidence.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct ApiCall {
    pub service: std::borrow::Cow<'static, str>,
    pub operation: std::borrow::Cow<'static, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// `ok`, `dry_run`, or the error code.
    pub result: String,
}

/// What a step produced.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Outcome {
    pub outputs: Map<String, Value>,
    /// The resource before the change (for audit and release).
    pub pre_state: Value,
    /// The resource read back after the change (verification).
    pub post_state: Value,
    /// False when the resource was already as wanted (idempotent re-run).
    pub changed: bool,
    /// In a dry run: what would have been done.
    pub planned: Vec<String>,
    pub calls: Vec<ApiCall>,
}

/// Whether trying again can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "class")]
pub enum ErrorKind {
    Transient(ErrorClass),
    Permanent,
}

impl ErrorKind {
    /// Whether `policy` tries again after `attempt` tries (1-based) failed with this kind of
    /// error: a permanent error never, a transient one while the policy covers its class and
    /// has attempts left. The engine's steps, the evidence store and the queue all ask this.
    pub fn retried_by(self, policy: &crate::domain::retry::RetryPolicy, attempt: u32) -> bool {
        match self {
            ErrorKind::Transient(class) => policy.should_retry(class, attempt),
            ErrorKind::Permanent => false,
        }
    }
}

/// Why an attempt failed. Never carries secrets: messages come from AWS error codes and texts,
/// which do not echo credentials.
#[derive(Debug, Clone, PartialEq, serde::Serialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct StepError {
    pub kind: ErrorKind,
    /// AWS error code (`AccessDenied`, `Throttling`, …) or a firebreak code (`VerifyFailed`).
    pub code: String,
    pub message: String,
    /// The calls made before the failure.
    #[serde(skip)]
    pub calls: Vec<ApiCall>,
}

impl StepError {
    pub fn permanent(code: impl Into<String>, message: impl Into<String>) -> Self {
        StepError {
            kind: ErrorKind::Permanent,
            code: code.into(),
            message: message.into(),
            calls: Vec::new(),
        }
    }

    pub fn transient(
        class: ErrorClass,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        StepError {
            kind: ErrorKind::Transient(class),
            code: code.into(),
            message: message.into(),
            calls: Vec::new(),
        }
    }
}

/// A step ready to run: its action and fully resolved parameters.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub step_id: String,
    pub action: Action,
    pub params: Map<String, Value>,
    pub dry_run: bool,
}

/// Carries out one attempt of one step.
pub trait Executor: Send + Sync + 'static {
    fn execute(&self, inv: &Invocation) -> impl Future<Output = Result<Outcome, StepError>> + Send;
}
