//! The result of a run: one [`StepReport`] per step and the run's status and timings.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Map, Value};

use super::{ApiCall, Outcome, StepError, contains, millis};
use crate::domain::catalog::Action;
use crate::domain::plan::{Plan, PlanStep};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Succeeded,
    Failed,
    Skipped,
}

/// How one step ended.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct StepReport {
    pub id: String,
    pub action: Action,
    pub status: StepStatus,
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    /// Absent in records written by the Step Functions state machine, which cannot subtract
    /// times; they give `started_at` and `ended_at` instead.
    #[serde(default)]
    pub duration_ms: u64,
    /// When the step started and ended (RFC 3339), where the engine records them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    /// Milliseconds from the finding's acceptance to this step's end (succeeded steps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at_ms: Option<u64>,
    pub changed: bool,
    pub outputs: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub planned: Vec<String>,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub pre_state: Value,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub post_state: Value,
    /// Absent in records written by the state machine (its calls are in the execution's
    /// history).
    #[serde(default)]
    pub calls: Vec<ApiCall>,
}

impl StepReport {
    pub(crate) fn base(step: &PlanStep, status: StepStatus) -> Self {
        StepReport {
            id: step.id.clone(),
            action: step.action,
            status,
            attempts: 0,
            error: None,
            error_code: None,
            skip_reason: None,
            duration_ms: 0,
            started_at: None,
            ended_at: None,
            finished_at_ms: None,
            changed: false,
            outputs: Map::new(),
            planned: Vec::new(),
            pre_state: Value::Null,
            post_state: Value::Null,
            calls: Vec::new(),
        }
    }

    /// A step that succeeded in an earlier attempt at this execution, as its evidence record
    /// says (`v` is the record's `step`): it is not run again and its outputs feed the steps
    /// after it. Its AWS calls stay in that record.
    pub fn resumed(step: &PlanStep, v: &Value) -> Self {
        StepReport {
            attempts: v["attempts"].as_u64().map_or(1, |a| a as u32),
            duration_ms: v["duration_ms"].as_u64().unwrap_or_default(),
            changed: v["changed"].as_bool().unwrap_or_default(),
            outputs: v["outputs"].as_object().cloned().unwrap_or_default(),
            pre_state: v["pre_state"].clone(),
            post_state: v["post_state"].clone(),
            ..Self::base(step, StepStatus::Succeeded)
        }
    }

    pub fn skipped(step: &PlanStep, reason: String) -> Self {
        StepReport {
            skip_reason: Some(reason),
            ..Self::base(step, StepStatus::Skipped)
        }
    }

    pub fn failed(step: &PlanStep, attempts: u32, took: Duration, e: StepError) -> Self {
        StepReport {
            attempts,
            error: Some(e.to_string()),
            error_code: Some(e.code.clone()),
            duration_ms: millis(took),
            calls: e.calls,
            ..Self::base(step, StepStatus::Failed)
        }
    }

    pub fn succeeded(
        step: &PlanStep,
        attempts: u32,
        started: Instant,
        run_started: Instant,
        o: Outcome,
    ) -> Self {
        StepReport {
            attempts,
            duration_ms: millis(started.elapsed()),
            finished_at_ms: Some(millis(run_started.elapsed())),
            changed: o.changed,
            outputs: o.outputs,
            planned: o.planned,
            pre_state: o.pre_state,
            post_state: o.post_state,
            calls: o.calls,
            ..Self::base(step, StepStatus::Succeeded)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Every step that ran succeeded.
    Succeeded,
    /// Steps failed and none of the containment steps succeeded.
    Failed,
    /// Some steps failed, some containment succeeded.
    Partial,
    /// Nothing was changed: mutating steps were planned or dry-run only.
    DryRun,
}

/// The outcome of one run.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub execution_id: String,
    pub finding_id: String,
    pub finding_type: String,
    pub account_id: String,
    pub region: String,
    pub playbook: String,
    pub status: RunStatus,
    /// Finding accepted → last containment step verified; null when no containment step succeeded.
    pub time_to_contain_ms: Option<u64>,
    pub total_ms: u64,
    pub interrupted: bool,
    /// Where the execution's evidence manifest was written, when evidence was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_manifest: Option<String>,
    /// The entry of the evidence store's execution index that names this execution:
    /// `SEQ:SHA256` of its bytes, as `audit --index-head` takes a head (kept outside the
    /// bucket, e.g. in `serve`'s log, it is an anchor no writer of the bucket can move).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_index: Option<String>,
    pub steps: Vec<StepReport>,
}

impl StepReport {
    /// The event that says how the step ended (for an engine that learns it afterwards: the
    /// Step Functions engine prints its progress from these).
    pub fn event(&self) -> crate::engine::Event {
        use crate::engine::Event;
        match self.status {
            StepStatus::Succeeded => Event::StepSucceeded {
                step: self.id.clone(),
                action: self.action,
                attempts: self.attempts.max(1),
                duration_ms: self.duration_ms,
                changed: self.changed,
                would_change: false,
            },
            StepStatus::Skipped => Event::StepSkipped {
                step: self.id.clone(),
                reason: self.skip_reason.clone().unwrap_or_default(),
            },
            _ => Event::StepFailed {
                step: self.id.clone(),
                attempts: self.attempts.max(1),
                error: match (&self.error_code, &self.error) {
                    (Some(c), Some(e)) if !e.starts_with(c.as_str()) => format!("{c}: {e}"),
                    (_, Some(e)) => e.clone(),
                    (Some(c), None) => c.clone(),
                    (None, None) => "failed".into(),
                },
            },
        }
    }
}

impl RunReport {
    pub(crate) fn new(
        plan: &Plan,
        execution_id: &str,
        steps: Vec<StepReport>,
        started: Instant,
        dry_run: bool,
        interrupted: bool,
    ) -> Self {
        let failed = steps.iter().any(|s| s.status == StepStatus::Failed);
        let contained = steps
            .iter()
            .filter(|s| s.status == StepStatus::Succeeded && contains(s.action))
            .filter_map(|s| s.finished_at_ms)
            .max();
        let status = match (dry_run, failed, contained.is_some()) {
            (true, false, _) => RunStatus::DryRun,
            (_, false, _) if !interrupted => RunStatus::Succeeded,
            (_, _, true) => RunStatus::Partial,
            _ => RunStatus::Failed,
        };
        RunReport {
            execution_id: execution_id.to_string(),
            finding_id: plan.finding_id.clone(),
            finding_type: plan.finding_type.clone(),
            account_id: plan.account_id.clone(),
            region: plan.region.clone(),
            playbook: plan.playbook.clone(),
            status,
            time_to_contain_ms: if dry_run { None } else { contained },
            total_ms: millis(started.elapsed()),
            interrupted,
            evidence_manifest: None,
            evidence_index: None,
            steps,
        }
    }

    /// True when every step that ran succeeded (the process exits 0 then).
    pub fn ok(&self) -> bool {
        !self.interrupted && self.steps.iter().all(|s| s.status != StepStatus::Failed)
    }
}
