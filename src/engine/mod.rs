//! Runs a [`Plan`]: every ready step at once (bounded), honouring `needs`, `when`, `retry`,
//! `timeout` and `on_failure`, and reporting each step's start, retry, end or skip as an
//! [`Event`]. What a step does is up to an [`Executor`]; the AWS one lives in `actions`.

pub mod asl;
pub mod local;
mod report;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use petgraph::graph::NodeIndex;
use serde_json::{Map, Value};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tracing::Instrument as _;

use crate::domain::catalog::{Action, Effect};
use crate::domain::expr::{self, MapScope};
use crate::domain::plan::{ParamValue, Plan, PlanStep, StepState};
use crate::domain::retry::{ErrorClass, RetryPolicy};

pub use crate::domain::step::{ApiCall, ErrorKind, Executor, Invocation, Outcome, StepError};
pub use report::{RunReport, RunStatus, StepReport, StepStatus};

/// Where each finished step's record goes (the evidence recorder implements it): the engine
/// reports to it and knows nothing of evidence. A step whose record cannot be written has
/// failed.
pub trait Journal: Send + Sync {
    fn step<'a>(
        &'a self,
        report: &'a StepReport,
        params: &'a Map<String, Value>,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<(), JournalError>> + Send + 'a>>;
}

/// Why a step's record was not written: the journal's own error, kept whole (the engine
/// knows nothing of evidence stores; the step fails with `EvidenceWriteFailed` and this text).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct JournalError(pub Box<dyn std::error::Error + Send + Sync>);

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
        /// In a dry run: the step found changes to make and made none (`planned`).
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        would_change: bool,
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
    /// Steps that succeeded in an earlier attempt at this execution (step id → the `step` of
    /// its evidence record): not run again.
    pub resumed: HashMap<String, Value>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            execution_id: uuid::Uuid::now_v7().to_string(),
            dry_run: false,
            concurrency: 16,
            resumed: HashMap::new(),
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
    evidence: Option<Arc<dyn Journal>>,
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
        // Start or skip every pending step whose needs (and afters) are all done.
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
                // `after`: order only; whatever became of the step, this one may start.
                blocked |= step.after.iter().any(|a| {
                    by_id
                        .get(a.as_str())
                        .is_some_and(|m| !matches!(slots[m], Slot::Done(_)))
                });
                if blocked {
                    continue;
                }
                if let Some(done) = opts.resumed.get(&step.id) {
                    slots.insert(n, Slot::Done(Box::new(StepReport::resumed(step, done))));
                    progressed = true;
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
                    match resolve(step, &scope, opts.dry_run) {
                        Ok(Resolved::Run(p)) => Some(p),
                        Ok(Resolved::Skip(reason)) => {
                            skip = Some(reason);
                            None
                        }
                        Err(e) => {
                            let report = StepReport::failed(step, 0, Duration::ZERO, e);
                            let report = record(&evidence, report, &Map::new(), &events)
                                .instrument(step_span(&step.id, step.action))
                                .await;
                            let _ = events.send(Event::StepFailed {
                                step: step.id.clone(),
                                attempts: 0,
                                error: report.error.clone().unwrap_or_default(),
                            });
                            slots.insert(n, Slot::Done(Box::new(report)));
                            if step.on_failure == crate::domain::playbook::OnFailure::Abort {
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
                    let report = record(
                        &evidence,
                        StepReport::skipped(step, reason),
                        &Map::new(),
                        &events,
                    )
                    .instrument(step_span(&step.id, step.action))
                    .await;
                    slots.insert(n, Slot::Done(Box::new(report)));
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
                let evidence = evidence.clone();
                // A span per step, inside the execution's (`contain::execute`): every log line
                // of the step's calls carries its step id and action.
                let span = step_span(&step.id, step.action);
                let handle = tasks.spawn(
                    async move {
                        let _permit = sem.acquire_owned().await;
                        let params = inv.params.clone();
                        let report = attempt_step(&*exec, &step, inv, &events, started).await;
                        (n, record(&evidence, report, &params, &events).await)
                    }
                    .instrument(span),
                );
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
                        (n, StepReport::failed(&g[n], 1, Duration::ZERO, err))
                    }
                };
                if report.status == StepStatus::Failed && g[n].on_failure == crate::domain::playbook::OnFailure::Abort {
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

/// Writes a step's evidence record; a step whose evidence cannot be written has failed.
async fn record(
    evidence: &Option<Arc<dyn Journal>>,
    mut report: StepReport,
    params: &Map<String, Value>,
    events: &mpsc::UnboundedSender<Event>,
) -> StepReport {
    if let Some(rec) = evidence
        && let Err(e) = rec.step(&report, params).await
    {
        let message = format!("EvidenceWriteFailed: {e}");
        let _ = events.send(Event::StepFailed {
            step: report.id.clone(),
            attempts: report.attempts,
            error: message.clone(),
        });
        report.status = StepStatus::Failed;
        report.error = Some(match &report.error {
            Some(earlier) => format!("{message} (after: {earlier})"),
            None => message,
        });
        report.error_code = Some("EvidenceWriteFailed".into());
        report.finished_at_ms = None;
    }
    step_line(&report);
    report
}

/// A step's span: every log line of the step (its calls, its end) carries its id and action
/// (on both engines: the Step Functions follower opens it for each step it reports).
pub(crate) fn step_span(step: &str, action: Action) -> tracing::Span {
    tracing::info_span!("step", step = %step, action = %action)
}

/// The target of the line written when a step ends, which the log set-up (`cli::log`) selects.
pub const STEPS: &str = "firebreak::step";

/// The line the JSON log of `serve` and `watch` has for each step ended (target
/// `firebreak::step`), inside the execution's span (and the step's, for a step that ran).
pub(crate) fn step_line(report: &StepReport) {
    let status = match report.status {
        StepStatus::Succeeded => "succeeded",
        StepStatus::Failed => "failed",
        StepStatus::Skipped => "skipped",
    };
    tracing::info!(
        target: STEPS,
        event = "step",
        step = %report.id,
        action = %report.action,
        status,
        attempts = report.attempts,
        duration_ms = report.duration_ms,
        changed = report.changed,
        error_code = report.error_code.as_deref(),
        error = report.error.as_deref(),
        skip_reason = report.skip_reason.as_deref(),
    );
}

enum Resolved {
    Run(Map<String, Value>),
    Skip(String),
}

/// Decides a deferred `when` and resolves deferred parameters from earlier outputs.
fn resolve(step: &PlanStep, scope: &MapScope<'_>, dry_run: bool) -> Result<Resolved, StepError> {
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
                    // In a dry run an earlier step's change is planned, not made: what it
                    // would make (a group's id) is not there to read.
                    if p.required && dry_run {
                        return Ok(Resolved::Skip(format!(
                            "a dry run: parameter `{name}` resolved to nothing, as what an earlier step's change would make (a new group's id) is not made in a dry run; a real run fails here if it is still nothing"
                        )));
                    }
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
                    would_change: !outcome.planned.is_empty(),
                });
                return StepReport::succeeded(step, attempt, started, run_started, outcome);
            }
            Err(mut e) => {
                calls.append(&mut e.calls);
                let retry = e.kind.retried_by(policy, attempt);
                if !retry {
                    let _ = events.send(Event::StepFailed {
                        step: step.id.clone(),
                        attempts: attempt,
                        error: e.to_string(),
                    });
                    e.calls = calls;
                    return StepReport::failed(step, attempt, started.elapsed(), e);
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    type Attempts = Vec<Result<Map<String, Value>, StepError>>;

    /// A test executor: per step id, a list of results to return attempt by attempt (the last
    /// one repeats), and an optional delay.
    struct Script {
        results: HashMap<&'static str, Attempts>,
        delay: Duration,
        calls: Mutex<Vec<(String, Map<String, Value>)>>,
        attempts: AtomicU32,
    }

    impl Script {
        /// Answers each step's attempts with `results` (success otherwise), each after `delay`.
        fn new(results: HashMap<&'static str, Attempts>, delay: Duration) -> Self {
            Script {
                results,
                delay,
                calls: Mutex::default(),
                attempts: AtomicU32::new(0),
            }
        }
    }

    impl Executor for Script {
        async fn execute(&self, inv: &Invocation) -> Result<Outcome, StepError> {
            tokio::time::sleep(self.delay).await;
            let n = {
                let mut calls = self.calls.lock().unwrap();
                calls.push((inv.step_id.clone(), inv.params.clone()));
                calls.iter().filter(|(s, _)| *s == inv.step_id).count()
            };
            self.attempts.fetch_add(1, Ordering::Relaxed);
            let list = self
                .results
                .get(inv.step_id.as_str())
                .cloned()
                .unwrap_or_else(|| vec![Ok(Map::new())]);
            let r = list
                .get(n - 1)
                .or(list.last())
                .cloned()
                .unwrap_or(Ok(Map::new()));
            r.map(|outputs| Outcome {
                outputs,
                changed: true,
                ..Default::default()
            })
        }
    }

    const PLAYBOOK: &str = r#"
name: t
match: {types: ["*"]}
steps:
  - id: a
    action: ec2.disassociate_instance_profile
    with: {instance_id: i-1}
    retry: {interval: 1ms, attempts: 3}
  - id: b
    action: iam.revoke_role_sessions
    needs: [a]
    when: steps.a.outputs.role_name
    with: {role_name: "${{ steps.a.outputs.role_name }}"}
  - id: c
    action: ec2.tag_instance
    needs: [b]
    with: {instance_id: i-1, tags: {k: v}}
  - id: d
    action: ec2.preserve_instance
    with: {instance_id: i-1}
"#;

    fn plan(src: &str) -> Plan {
        let (pb, diags) = crate::domain::playbook::load(src, "t.yaml");
        let pb = pb.unwrap_or_else(|| panic!("{diags:?}"));
        let finding = crate::domain::finding::parse_findings(
            r#"{"id":"f","type":"A:B/C","accountId":"123456789012","region":"us-east-1","severity":5,"resource":{"resourceType":"Instance"}}"#,
            "t",
        )
        .unwrap()
        .remove(0);
        crate::domain::plan::compile(&finding, &pb).unwrap()
    }

    async fn go(plan: &Plan, script: Script) -> (RunReport, Vec<Event>, Arc<Script>) {
        let script = Arc::new(script);
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (_stop_tx, stop_rx) = watch::channel(false);
        let report = run(
            plan,
            script.clone(),
            &RunOptions::default(),
            Instant::now(),
            tx,
            stop_rx,
            None,
        )
        .await;
        let mut events = Vec::new();
        while let Ok(e) = rx.try_recv() {
            events.push(e);
        }
        (report, events, script)
    }

    fn status(r: &RunReport, id: &str) -> StepStatus {
        r.steps
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.status)
            .unwrap()
    }

    fn throttled() -> StepError {
        StepError::transient(ErrorClass::Throttling, "Throttling", "slow down")
    }

    #[tokio::test]
    async fn transient_errors_are_retried_and_outputs_flow() {
        let p = plan(PLAYBOOK);
        let mut results = HashMap::new();
        let out: Map<String, Value> = [("role_name".to_string(), Value::from("web"))]
            .into_iter()
            .collect();
        results.insert("a", vec![Err(throttled()), Ok(out)]);
        let (r, events, script) = go(&p, Script::new(results, Duration::ZERO)).await;
        assert!(r.ok(), "{r:#?}");
        assert_eq!(r.status, RunStatus::Succeeded);
        assert_eq!(r.steps.iter().find(|s| s.id == "a").unwrap().attempts, 2);
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Event::StepRetrying { step, .. } if step == "a"))
        );
        let calls = script.calls.lock().unwrap();
        let b = calls.iter().find(|(s, _)| s == "b").unwrap();
        assert_eq!(
            b.1["role_name"], "web",
            "deferred parameter resolved from a's output"
        );
        assert!(r.time_to_contain_ms.is_some());
    }

    #[tokio::test]
    async fn resumed_steps_are_not_run_again_and_their_outputs_flow() {
        let p = plan(PLAYBOOK);
        let script = Arc::new(Script::new(HashMap::new(), Duration::ZERO));
        let (tx, _rx) = mpsc::unbounded_channel();
        let (_stop_tx, stop_rx) = watch::channel(false);
        // `a` succeeded before the worker died, with an output `b` needs.
        let opts = RunOptions {
            resumed: [(
                "a".to_string(),
                serde_json::json!({"id": "a", "status": "succeeded", "attempts": 2,
                                   "outputs": {"role_name": "web"}, "changed": true}),
            )]
            .into_iter()
            .collect(),
            ..RunOptions::default()
        };
        let r = run(&p, script.clone(), &opts, Instant::now(), tx, stop_rx, None).await;
        assert!(r.ok(), "{r:#?}");
        let calls = script.calls.lock().unwrap();
        let ran: Vec<&str> = calls.iter().map(|(s, _)| s.as_str()).collect();
        assert!(!ran.contains(&"a"), "a is not run again: {ran:?}");
        let b = calls.iter().find(|(s, _)| s == "b").unwrap();
        assert_eq!(b.1["role_name"], "web", "a's recorded output feeds b");
        let a = r.steps.iter().find(|s| s.id == "a").unwrap();
        assert_eq!((a.status, a.attempts), (StepStatus::Succeeded, 2));
    }

    #[tokio::test]
    async fn permanent_errors_skip_dependents_only() {
        let p = plan(PLAYBOOK);
        let mut results = HashMap::new();
        results.insert("a", vec![Err(StepError::permanent("AccessDenied", "no"))]);
        let (r, _, script) = go(&p, Script::new(results, Duration::ZERO)).await;
        assert_eq!(status(&r, "a"), StepStatus::Failed);
        assert_eq!(r.steps.iter().find(|s| s.id == "a").unwrap().attempts, 1);
        assert_eq!(status(&r, "b"), StepStatus::Skipped);
        assert_eq!(status(&r, "c"), StepStatus::Skipped);
        assert!(
            r.steps
                .iter()
                .find(|s| s.id == "c")
                .unwrap()
                .skip_reason
                .as_deref()
                .unwrap()
                .contains("`b`")
        );
        assert_eq!(status(&r, "d"), StepStatus::Succeeded);
        assert_eq!(r.status, RunStatus::Partial);
        assert!(!r.ok());
        assert_eq!(script.calls.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_step_after_another_waits_for_it_and_runs_whatever_became_of_it() {
        let src = r#"
name: t
match: {types: ["*"]}
steps:
  - id: copy
    action: ec2.preserve_instance
    with: {instance_id: i-1}
  - id: skipped
    action: ec2.tag_instance
    when: false
    with: {instance_id: i-1, tags: {k: v}}
  - id: contain
    action: ec2.stop_instance
    after: [copy, skipped]
    with: {instance_id: i-1}
"#;
        let p = plan(src);
        let mut results = HashMap::new();
        results.insert(
            "copy",
            vec![Err(StepError::permanent("NoSuchBucket", "no"))],
        );
        let (r, events, _) = go(&p, Script::new(results, Duration::from_millis(10))).await;
        assert_eq!(status(&r, "copy"), StepStatus::Failed);
        assert_eq!(status(&r, "skipped"), StepStatus::Skipped);
        assert_eq!(status(&r, "contain"), StepStatus::Succeeded, "{r:#?}");
        let at = |f: &dyn Fn(&Event) -> bool| events.iter().position(f).unwrap();
        let copy_failed = at(&|e| matches!(e, Event::StepFailed { step, .. } if step == "copy"));
        let contain_started =
            at(&|e| matches!(e, Event::StepStarted { step, .. } if step == "contain"));
        assert!(copy_failed < contain_started, "{events:#?}");
    }

    #[tokio::test]
    async fn retries_are_bounded() {
        let p = plan(PLAYBOOK);
        let mut results = HashMap::new();
        results.insert("a", vec![Err(throttled())]);
        let (r, _, _) = go(&p, Script::new(results, Duration::ZERO)).await;
        let a = r.steps.iter().find(|s| s.id == "a").unwrap();
        assert_eq!((a.status, a.attempts), (StepStatus::Failed, 3));
    }

    #[tokio::test]
    async fn a_false_deferred_condition_skips() {
        let p = plan(PLAYBOOK);
        let (r, _, _) = go(&p, Script::new(HashMap::new(), Duration::ZERO)).await;
        assert_eq!(status(&r, "b"), StepStatus::Skipped);
        assert!(
            r.steps
                .iter()
                .find(|s| s.id == "b")
                .unwrap()
                .skip_reason
                .as_deref()
                .unwrap()
                .contains("when")
        );
        assert_eq!(status(&r, "c"), StepStatus::Skipped);
    }

    #[tokio::test]
    async fn abort_starts_nothing_more() {
        let src = PLAYBOOK
            .replace(
                "    retry: {interval: 1ms, attempts: 3}",
                "    on_failure: abort",
            )
            .replace(
                "  - id: d\n    action: ec2.preserve_instance\n",
                "  - id: d\n    action: ec2.preserve_instance\n    needs: [e]\n",
            )
            + "  - id: e\n    action: ec2.stop_instance\n    with: {instance_id: i-1}\n";
        let p = plan(&src);
        let mut results = HashMap::new();
        results.insert("a", vec![Err(StepError::permanent("AccessDenied", "no"))]);
        // e runs beside a and takes longer, so d becomes ready only after a has failed.
        let script = Script::new(results, Duration::from_millis(20));
        let (r, _, _) = go(&p, script).await;
        assert_eq!(status(&r, "a"), StepStatus::Failed);
        assert_eq!(
            status(&r, "e"),
            StepStatus::Succeeded,
            "a step already running finishes"
        );
        assert_eq!(status(&r, "d"), StepStatus::Skipped);
        assert!(
            r.steps
                .iter()
                .find(|s| s.id == "d")
                .unwrap()
                .skip_reason
                .as_deref()
                .unwrap()
                .contains("aborted")
        );
    }

    #[tokio::test]
    async fn a_stop_signal_starts_nothing_more_and_reports() {
        let p = plan(PLAYBOOK);
        let script = Arc::new(Script::new(HashMap::new(), Duration::from_millis(50)));
        let (tx, _rx) = mpsc::unbounded_channel();
        let (stop_tx, stop_rx) = watch::channel(false);
        let handle = {
            let p = p.clone();
            let script = script.clone();
            tokio::spawn(async move {
                run(
                    &p,
                    script,
                    &RunOptions::default(),
                    Instant::now(),
                    tx,
                    stop_rx,
                    None,
                )
                .await
            })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        stop_tx.send(true).unwrap();
        let r = handle.await.unwrap();
        assert!(r.interrupted);
        assert!(!r.ok());
        assert_eq!(
            status(&r, "a"),
            StepStatus::Succeeded,
            "running steps finish"
        );
        assert_eq!(status(&r, "b"), StepStatus::Skipped);
    }

    #[tokio::test]
    async fn step_timeouts_are_transient_and_bounded() {
        let src = PLAYBOOK.replace(
            "    retry: {interval: 1ms, attempts: 3}",
            "    retry: {interval: 1ms, attempts: 2}\n    timeout: 5ms",
        );
        let p = plan(&src);
        let script = Script::new(HashMap::new(), Duration::from_millis(200));
        let (r, _, _) = go(&p, script).await;
        let a = r.steps.iter().find(|s| s.id == "a").unwrap();
        assert_eq!((a.status, a.attempts), (StepStatus::Failed, 2));
        assert_eq!(a.error_code.as_deref(), Some("StepTimeout"));
    }
}
