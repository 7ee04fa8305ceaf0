//! Runs a [`Plan`]: every ready step at once (bounded), honouring `needs`, `when`, `retry`,
//! `timeout` and `on_failure`, and reporting each step's start, retry, end or skip as an
//! [`Event`]. What a step does is up to an [`Executor`]; the AWS one lives in `actions`.

mod report;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use petgraph::graph::NodeIndex;
use serde_json::{Map, Value};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;

use crate::catalog::{Action, Effect};
use crate::expr::{self, MapScope};
use crate::plan::{ParamValue, Plan, PlanStep, StepState};
use crate::retry::{ErrorClass, RetryPolicy};

pub use report::{RunReport, RunStatus, StepReport, StepStatus};

/// One AWS (or other) call a step made, for the report and the evidence.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ApiCall {
    pub service: &'static str,
    pub operation: &'static str,
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

/// What happens during a run, in order, for people and logs.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    StepStarted {
        step: String,
        action: Action,
        attempt: u32,
    },
    StepRetrying {
        step: String,
        attempt: u32,
        delay_ms: u64,
        error: String,
    },
    StepSucceeded {
        step: String,
        action: Action,
        attempts: u32,
        duration_ms: u64,
        changed: bool,
    },
    StepFailed {
        step: String,
        attempts: u32,
        error: String,
    },
    StepSkipped {
        step: String,
        reason: String,
    },
    Interrupted,
}

/// Options of one run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// UUIDv7 naming this execution in reports and evidence.
    pub execution_id: String,
    pub dry_run: bool,
    /// How many steps may run at once.
    pub concurrency: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            execution_id: uuid::Uuid::now_v7().to_string(),
            dry_run: false,
            concurrency: 16,
        }
    }
}

enum Slot {
    Pending,
    Running,
    Done(Box<StepReport>),
}

/// Runs `plan`. `started` is when the finding was accepted (time-to-contain counts from it).
/// `stop` turning true stops new steps from starting; running ones finish.
pub async fn run<E: Executor>(
    plan: &Plan,
    executor: Arc<E>,
    opts: &RunOptions,
    started: Instant,
    events: mpsc::UnboundedSender<Event>,
    mut stop: watch::Receiver<bool>,
) -> RunReport {
    let g = &plan.graph;
    let mut slots: HashMap<NodeIndex, Slot> =
        g.node_indices().map(|n| (n, Slot::Pending)).collect();
    let order: Vec<NodeIndex> = g.node_indices().collect();
    let by_id: HashMap<&str, NodeIndex> = order.iter().map(|n| (g[*n].id.as_str(), *n)).collect();
    let semaphore = Arc::new(Semaphore::new(opts.concurrency.max(1)));
    let mut tasks: JoinSet<(NodeIndex, StepReport)> = JoinSet::new();
    let mut task_nodes: HashMap<tokio::task::Id, NodeIndex> = HashMap::new();
    let mut aborted: Option<String> = None;
    let mut interrupted = false;
    let inputs = Value::Object(plan.inputs.clone().into_iter().collect());
    let finding: Value = plan.finding.clone();
    loop {
        // Start or skip every pending step whose needs are all done.
        let mut progressed = true;
        while progressed {
            progressed = false;
            for &n in &order {
                if !matches!(slots[&n], Slot::Pending) {
                    continue;
                }
                let step = &g[n];
                let mut blocked = false;
                let mut skip: Option<String> = None;
                for need in &step.needs {
                    let Some(&m) = by_id.get(need.as_str()) else {
                        continue;
                    };
                    match &slots[&m] {
                        Slot::Done(r) => match r.status {
                            StepStatus::Failed => {
                                skip = skip.or(Some(format!("needs `{need}`, which failed")))
                            }
                            StepStatus::Skipped => {
                                skip = skip.or(Some(format!("needs `{need}`, which is skipped")))
                            }
                            StepStatus::Succeeded => {}
                        },
                        _ => blocked = true,
                    }
                }
                if blocked {
                    continue;
                }
                if let StepState::Skipped { reason } = &step.state {
                    skip = Some(reason.clone());
                }
                if skip.is_none() {
                    if let Some(by) = &aborted {
                        skip = Some(format!(
                            "not started: the run was aborted after `{by}` failed"
                        ));
                    } else if interrupted || *stop.borrow() {
                        interrupted = true;
                        skip = Some("not started: the run was interrupted".into());
                    }
                }
                let steps_scope = steps_scope(&slots, g);
                let scope = MapScope {
                    finding: &finding,
                    inputs: Some(&inputs),
                    steps: Some(&steps_scope),
                };
                let params = if skip.is_none() {
                    match resolve(step, &scope) {
                        Ok(Resolved::Run(p)) => Some(p),
                        Ok(Resolved::Skip(reason)) => {
                            skip = Some(reason);
                            None
                        }
                        Err(e) => {
                            let report = StepReport::failed(step, 0, Duration::ZERO, e, None);
                            let _ = events.send(Event::StepFailed {
                                step: step.id.clone(),
                                attempts: 0,
                                error: report.error.clone().unwrap_or_default(),
                            });
                            slots.insert(n, Slot::Done(Box::new(report)));
                            if step.on_failure == crate::playbook::OnFailure::Abort {
                                aborted.get_or_insert(step.id.clone());
                            }
                            progressed = true;
                            continue;
                        }
                    }
                } else {
                    None
                };
                progressed = true;
                if let Some(reason) = skip {
                    let _ = events.send(Event::StepSkipped {
                        step: step.id.clone(),
                        reason: reason.clone(),
                    });
                    slots.insert(n, Slot::Done(Box::new(StepReport::skipped(step, reason))));
                    continue;
                }
                let inv = Invocation {
                    step_id: step.id.clone(),
                    action: step.action,
                    params: params.unwrap_or_default(),
                    dry_run: opts.dry_run,
                };
                slots.insert(n, Slot::Running);
                let exec = executor.clone();
                let sem = semaphore.clone();
                let events = events.clone();
                let step = step.clone();
                let handle = tasks.spawn(async move {
                    let _permit = sem.acquire_owned().await;
                    let report = attempt_step(&*exec, &step, inv, &events, started).await;
                    (n, report)
                });
                task_nodes.insert(handle.id(), n);
            }
        }
        if tasks.is_empty() {
            break;
        }
        tokio::select! {
            joined = tasks.join_next_with_id() => {
                let Some(joined) = joined else { break };
                let (n, report) = match joined {
                    Ok((_, (n, report))) => (n, report),
                    Err(e) => {
                        // A panicking executor is a bug; its step is failed, never lost.
                        let Some(&n) = task_nodes.get(&e.id()) else { continue };
                        let err = StepError::permanent("InternalError", format!("the step's task ended abnormally: {e}"));
                        let _ = events.send(Event::StepFailed { step: g[n].id.clone(), attempts: 1, error: err.to_string() });
                        (n, StepReport::failed(&g[n], 1, Duration::ZERO, err, None))
                    }
                };
                if report.status == StepStatus::Failed && g[n].on_failure == crate::playbook::OnFailure::Abort {
                    aborted.get_or_insert(g[n].id.clone());
                }
                slots.insert(n, Slot::Done(Box::new(report)));
            }
            changed = stop.changed(), if !interrupted => {
                if changed.is_err() || *stop.borrow() {
                    interrupted = true;
                    let _ = events.send(Event::Interrupted);
                }
            }
        }
    }
    let mut steps = Vec::new();
    for n in order {
        match slots.remove(&n) {
            Some(Slot::Done(r)) => steps.push(*r),
            _ => steps.push(StepReport::skipped(&g[n], "not reached".into())),
        }
    }
    RunReport::new(
        plan,
        &opts.execution_id,
        steps,
        started,
        opts.dry_run,
        interrupted,
    )
}

enum Resolved {
    Run(Map<String, Value>),
    Skip(String),
}

/// Decides a deferred `when` and resolves deferred parameters from earlier outputs.
fn resolve(step: &PlanStep, scope: &MapScope<'_>) -> Result<Resolved, StepError> {
    if let Some(cond) = &step.when_expr {
        let v = cond
            .eval(scope)
            .map_err(|e| StepError::permanent("BindError", e.to_string()))?;
        if !expr::truthy(&v) {
            return Ok(Resolved::Skip(format!(
                "when `{}` is false",
                step.when.as_deref().unwrap_or_default()
            )));
        }
    }
    let spec = step.action.spec();
    let mut params = Map::new();
    for (name, value) in &step.params {
        let v = match value {
            ParamValue::Known(v) => v.clone(),
            ParamValue::Deferred { .. } => {
                let Some(t) = step.deferred.get(name) else {
                    continue;
                };
                let v = t
                    .eval(scope)
                    .map_err(|e| StepError::permanent("BindError", e.to_string()))?;
                let Some(p) = spec.param(name) else { continue };
                if matches!(&v, Value::Null) || v.as_str() == Some("") {
                    if p.required {
                        return Err(StepError::permanent(
                            "BindError",
                            format!("parameter `{name}` resolved to nothing"),
                        ));
                    }
                    continue;
                }
                p.ty.coerce(&v).ok_or_else(|| {
                    StepError::permanent(
                        "BindError",
                        format!("parameter `{name}` must be {}, got {v}", p.ty.describe()),
                    )
                })?
            }
        };
        params.insert(name.clone(), v);
    }
    Ok(Resolved::Run(params))
}

fn steps_scope(
    slots: &HashMap<NodeIndex, Slot>,
    g: &petgraph::graph::DiGraph<PlanStep, ()>,
) -> Value {
    let mut m = Map::new();
    for (n, slot) in slots {
        if let Slot::Done(r) = slot
            && r.status == StepStatus::Succeeded
        {
            m.insert(
                g[*n].id.clone(),
                serde_json::json!({ "outputs": r.outputs }),
            );
        }
    }
    Value::Object(m)
}

async fn attempt_step<E: Executor>(
    exec: &E,
    step: &PlanStep,
    inv: Invocation,
    events: &mpsc::UnboundedSender<Event>,
    run_started: Instant,
) -> StepReport {
    let policy: &RetryPolicy = &step.retry;
    let timeout = Duration::from_millis(step.timeout_ms);
    let started = Instant::now();
    let mut attempt = 1;
    let mut calls = Vec::new();
    loop {
        let _ = events.send(Event::StepStarted {
            step: step.id.clone(),
            action: step.action,
            attempt,
        });
        let result = match tokio::time::timeout(timeout, exec.execute(&inv)).await {
            Ok(r) => r,
            Err(_) => Err(StepError::transient(
                ErrorClass::Timeout,
                "StepTimeout",
                format!(
                    "the attempt took longer than the step timeout ({} ms)",
                    step.timeout_ms
                ),
            )),
        };
        match result {
            Ok(mut outcome) => {
                let mut all = std::mem::take(&mut calls);
                all.append(&mut outcome.calls);
                outcome.calls = all;
                let _ = events.send(Event::StepSucceeded {
                    step: step.id.clone(),
                    action: step.action,
                    attempts: attempt,
                    duration_ms: millis(started.elapsed()),
                    changed: outcome.changed,
                });
                return StepReport::succeeded(step, attempt, started, run_started, outcome);
            }
            Err(mut e) => {
                calls.append(&mut e.calls);
                let retry = match e.kind {
                    ErrorKind::Transient(class) => policy.should_retry(class, attempt),
                    ErrorKind::Permanent => false,
                };
                if !retry {
                    let _ = events.send(Event::StepFailed {
                        step: step.id.clone(),
                        attempts: attempt,
                        error: e.to_string(),
                    });
                    e.calls = calls;
                    return StepReport::failed(step, attempt, started.elapsed(), e, Some(started));
                }
                let delay = policy.delay(attempt, fastrand::f64());
                let _ = events.send(Event::StepRetrying {
                    step: step.id.clone(),
                    attempt,
                    delay_ms: millis(delay),
                    error: e.to_string(),
                });
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
        }
    }
}

pub(crate) fn millis(d: Duration) -> u64 {
    d.as_millis().try_into().unwrap_or(u64::MAX)
}

/// Effects that count for time-to-contain.
pub(crate) fn contains(action: Action) -> bool {
    action.spec().effect == Effect::Contain
}

/// Output values by step id, for callers that want them.
pub fn outputs_by_step(report: &RunReport) -> BTreeMap<String, Map<String, Value>> {
    report
        .steps
        .iter()
        .map(|s| (s.id.clone(), s.outputs.clone()))
        .collect()
}
