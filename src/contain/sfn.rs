//! The Step Functions engine: `firebreak deploy` (one state machine per playbook, each with an
//! execution role holding exactly its actions' permissions) and `firebreak run --engine sfn`
//! (start a named execution of the playbook's machine, follow its history, report and keep
//! evidence like the local engine).
//!
//! Evidence: firebreak writes the finding and plan records before it starts the execution, and
//! each step's record as the history shows the step ending (its status, outputs, error or skip
//! reason from the state machine; its calls, timing, whether it changed anything, and what its
//! reads answered before and after the change, from the history), then the manifest — the same records, chain and layout as the local engine, so
//! `firebreak audit` checks both alike.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use aws_sdk_sfn::types::HistoryEventType as H;
use serde_json::{Map, Value, json};

use crate::domain::finding::Finding;
use crate::domain::plan::Plan;
use crate::domain::playbook::Playbook;
use crate::engine::{ApiCall, RunReport, StepReport, StepStatus, millis};
use crate::evidence::{self, Recorder, Store};

/// The state machine of a playbook is named after it.
pub fn machine_name(playbook: &str) -> String {
    format!("firebreak-{playbook}")
}

/// The ARN of the state machine named `name`, if it exists.
pub async fn find_machine(sfn: &aws_sdk_sfn::Client, name: &str) -> Result<Option<String>> {
    let mut token = None;
    loop {
        let page = sfn
            .list_state_machines()
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("ListStateMachines: {}", crate::aws::describe(&e)))?;
        if let Some(m) = page.state_machines().iter().find(|m| m.name() == name) {
            return Ok(Some(m.state_machine_arn().to_string()));
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(None);
        }
    }
}

/// What the history says of one step so far.
#[derive(Default)]
struct Seen {
    entered: Option<i64>,
    calls: Vec<ApiCall>,
    changed: bool,
    /// What the reads answered before the first change, and after it.
    before: Vec<Value>,
    after: Vec<Value>,
}

/// What the history says of a step, in the order it happened.
enum Progress {
    /// Its first task was scheduled.
    Started(String),
    /// It ended.
    Ended(Box<StepReport>),
}

/// Follows one execution's history and turns it into step reports as steps end.
struct Follower<'a> {
    plan: &'a Plan,
    /// Event id → the state it belongs to.
    names: HashMap<i64, String>,
    /// TaskScheduled/TaskStarted event id → (step, service, operation).
    tasks: HashMap<i64, (String, String, String)>,
    seen: HashMap<String, Seen>,
    done: BTreeMap<String, StepReport>,
    /// The steps whose first task was scheduled.
    started: std::collections::HashSet<String>,
    last_id: i64,
    /// When the execution started (ms since the epoch, from the history).
    start_ms: Option<i64>,
}

/// How long an execution may stay before its first state: far longer than Step Functions
/// takes to start one.
const NOT_ADVANCING: std::time::Duration = std::time::Duration::from_secs(20);

/// A read's answer as evidence keeps it: the answer, but an instance's console output
/// decoded and scrubbed as the local engine keeps it (`scrub::console_output`), not as the
/// base64 the scrubber cannot read; and without the environment variables of an ECS task's
/// containers, which often hold secrets as `{Name, Value}` pairs (the local engine's adapters
/// do not read them).
fn recorded(op: &str, mut answer: Value) -> Value {
    if op == "getConsoleOutput"
        && let Some(out) = answer.get_mut("Output")
    {
        *out = crate::domain::scrub::console_output(out.as_str());
    }
    let containers: Vec<&mut Value> = match op {
        "describeTaskDefinition" => answer
            .pointer_mut("/TaskDefinition/ContainerDefinitions")
            .and_then(Value::as_array_mut)
            .map(|l| l.iter_mut().collect())
            .unwrap_or_default(),
        "describeTasks" => answer
            .get_mut("Tasks")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
            .filter_map(|t| t.pointer_mut("/Overrides/ContainerOverrides"))
            .filter_map(Value::as_array_mut)
            .flatten()
            .collect(),
        _ => Vec::new(),
    };
    for c in containers {
        if let Some(c) = c.as_object_mut() {
            c.remove("Environment");
        }
    }
    answer
}

fn pascal(op: &str) -> String {
    let mut c = op.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

impl<'a> Follower<'a> {
    fn new(plan: &'a Plan) -> Self {
        Follower {
            plan,
            names: HashMap::new(),
            tasks: HashMap::new(),
            seen: HashMap::new(),
            done: BTreeMap::new(),
            started: Default::default(),
            last_id: 0,
            start_ms: None,
        }
    }

    /// The step a state belongs to (`id` or `id: …`).
    fn step_of(&self, state: &str) -> Option<String> {
        self.plan
            .steps()
            .find(|s| state == s.id || state.starts_with(&format!("{}: ", s.id)))
            .map(|s| s.id.clone())
    }

    /// Takes new events; returns the reports of the steps that ended in them.
    fn take(
        &mut self,
        events: &[aws_sdk_sfn::types::HistoryEvent],
        offset_ms: u64,
    ) -> Vec<Progress> {
        let mut ended = Vec::new();
        for e in events {
            if e.id() <= self.last_id {
                continue;
            }
            self.last_id = e.id();
            let at = e.timestamp().to_millis().unwrap_or_default();
            if *e.r#type() == H::ExecutionStarted {
                self.start_ms = Some(at);
            }
            let name = match e.state_entered_event_details() {
                Some(d) => d.name().to_string(),
                None => e
                    .state_exited_event_details()
                    .map(|d| d.name().to_string())
                    .or_else(|| self.names.get(&e.previous_event_id()).cloned())
                    .unwrap_or_default(),
            };
            self.names.insert(e.id(), name.clone());
            let Some(step) = self.step_of(&name) else {
                continue;
            };
            // A step starts with its first task; the tasks after it ended write its record.
            if *e.r#type() == H::TaskScheduled
                && !self.done.contains_key(&step)
                && self.started.insert(step.clone())
            {
                ended.push(Progress::Started(step.clone()));
            }
            let seen = self.seen.entry(step.clone()).or_default();
            if e.state_entered_event_details().is_some() && seen.entered.is_none() {
                seen.entered = Some(at);
            }
            match e.r#type() {
                H::TaskScheduled => {
                    if let Some(d) = e.task_scheduled_event_details() {
                        let service = d.resource_type().trim_start_matches("aws-sdk:").to_string();
                        self.tasks
                            .insert(e.id(), (step.clone(), service, d.resource().to_string()));
                    }
                }
                H::TaskStarted => {
                    if let Some(t) = self.tasks.get(&e.previous_event_id()).cloned() {
                        self.tasks.insert(e.id(), t);
                    }
                }
                H::TaskSucceeded | H::TaskFailed | H::TaskTimedOut => {
                    if let Some((_, service, op)) = self.tasks.get(&e.previous_event_id()).cloned()
                    {
                        let result = match e.task_failed_event_details() {
                            Some(f) => f.error().unwrap_or("error").to_string(),
                            None if *e.r#type() == H::TaskTimedOut => "States.Timeout".into(),
                            None => "ok".into(),
                        };
                        if result == "ok" && !crate::engine::asl::is_read(&op) {
                            seen.changed = true;
                        }
                        if result == "ok" && crate::engine::asl::is_read(&op) {
                            let answer = recorded(
                                &op,
                                e.task_succeeded_event_details()
                                    .and_then(|d| d.output())
                                    .and_then(|o| serde_json::from_str(o).ok())
                                    .unwrap_or_default(),
                            );
                            let read = json!({"call": pascal(&op), "answer": answer});
                            if seen.changed {
                                seen.after.push(read);
                            } else {
                                seen.before.push(read);
                            }
                        }
                        seen.calls.push(ApiCall {
                            service: service.into(),
                            operation: pascal(&op).into(),
                            request_id: None,
                            result,
                        });
                    }
                }
                _ => {}
            }
            let terminal = name == format!("{step}: succeeded")
                || name == format!("{step}: failed")
                || name.starts_with(&format!("{step}: skipped"));
            if let (true, Some(d)) = (terminal, e.state_exited_event_details()) {
                let out: Value = d
                    .output()
                    .and_then(|o| serde_json::from_str(o).ok())
                    .unwrap_or_default();
                let state = out["steps"][&step].clone();
                let finished = self.start_ms.map(|s| (at - s).max(0) as u64 + offset_ms);
                if let Some(r) = self.report(&step, &state, at, finished) {
                    self.done.insert(step.clone(), r.clone());
                    ended.push(Progress::Ended(Box::new(r)));
                }
            }
        }
        ended
    }

    fn report(
        &mut self,
        id: &str,
        state: &Value,
        at: i64,
        finished: Option<u64>,
    ) -> Option<StepReport> {
        let step = self.plan.steps().find(|s| s.id == id)?;
        let seen = self.seen.remove(id).unwrap_or_default();
        let status = match state["status"].as_str() {
            Some("succeeded") => StepStatus::Succeeded,
            Some("skipped") => StepStatus::Skipped,
            _ => StepStatus::Failed,
        };
        let mut r = StepReport::base(step, status);
        r.outputs = state["outputs"].as_object().cloned().unwrap_or_default();
        r.duration_ms = seen.entered.map(|e| (at - e).max(0) as u64).unwrap_or(0);
        r.calls = seen.calls;
        r.changed = seen.changed;
        if !seen.before.is_empty() {
            r.pre_state = json!({"reads": seen.before});
        }
        if !seen.after.is_empty() {
            r.post_state = json!({"reads": seen.after});
        }
        r.attempts = u32::from(status != StepStatus::Skipped);
        match status {
            StepStatus::Succeeded => r.finished_at_ms = finished,
            StepStatus::Skipped => {
                r.skip_reason = state["reason"].as_str().map(str::to_string);
                r.outputs = Map::new();
            }
            _ => {
                r.error_code = Some(canonical_error(
                    state["error"].as_str().unwrap_or("States.Runtime"),
                ));
                r.error = Some(
                    state["cause"]
                        .as_str()
                        .unwrap_or("the state machine gave no cause")
                        .to_string(),
                );
                r.outputs = Map::new();
            }
        }
        Some(r)
    }
}

/// An SDK integration's error name as the local engine names the same AWS error:
/// `Iam.NoSuchEntityException` (AWS) and `iam.NoSuchEntityException` (the emulator) are
/// `NoSuchEntity`. Step Functions' own errors (`States.…`) and firebreak's (`firebreak.…`,
/// `VerifyFailed`) are kept. EC2's errors reach Step Functions as `Ec2.Ec2Exception`, without
/// their code (`Ec2Exception`, which is what is left).
pub fn canonical_error(name: &str) -> String {
    if name.starts_with("States.") || name.starts_with("firebreak.") {
        return name.to_string();
    }
    // `Service.CodeException`; anything else (`InvalidInstanceID.NotFound`, set by a state
    // of firebreak's) is already a code.
    match name.split_once('.') {
        // Lambda's, ECS's, EKS's and AWS Backup's codes end in `Exception` as AWS sends them
        // (`ResourceNotFoundException`, `ClusterNotFoundException`).
        Some((service, code))
            if ["lambda", "ecs", "eks", "backup"]
                .iter()
                .any(|s| service.eq_ignore_ascii_case(s)) =>
        {
            code.to_string()
        }
        // RDS: `Rds.DbInstanceNotFoundException` (AWS), `rds.DBInstanceNotFoundFaultException`
        // (the emulator): `DBInstanceNotFound`, the code without `Fault` as the local engine
        // keeps it.
        Some((service, code)) if service.eq_ignore_ascii_case("rds") => {
            let code = code.strip_suffix("Exception").unwrap_or(code);
            let code = code.strip_suffix("Fault").unwrap_or(code);
            match code.strip_prefix("Db") {
                Some(rest) => format!("DB{rest}"),
                None => code.to_string(),
            }
        }
        Some((service, code))
            if !service.is_empty()
                && service.chars().all(|c| c.is_ascii_alphanumeric())
                && code.ends_with("Exception") =>
        {
            code.strip_suffix("Exception")
                .filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case(service))
                .unwrap_or(code)
                .to_string()
        }
        _ => name.to_string(),
    }
}

/// Starts the playbook's state machine on `f` and follows it to the end. With evidence,
/// firebreak writes the finding and plan records, the state machine each step's record and the
/// manifest; when the execution ended before it could (an abort, a failure outside any step),
/// firebreak records the steps it did not and writes the manifest itself. Returns the report
/// and whether everything that ran succeeded and its evidence is complete.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn execute(
    f: &Finding,
    pb: &Playbook,
    plan: Plan,
    config: &aws_config::SdkConfig,
    caller_arn: &str,
    store: Option<&Store>,
    execution_id: String,
    machine: Option<&str>,
    progress: bool,
    started: Instant,
    sealer: Option<&crate::evidence::seal::Sealer>,
) -> Result<(RunReport, bool)> {
    let sfn = aws_sdk_sfn::Client::new(config);
    // The records firebreak writes (finding, plan, and what the state machine could not) are
    // sealed; the state machine's own are not (it has no derived key) and say `engine: sfn`.
    let seal = match (sealer, store) {
        (Some(s), Some(_)) => Some(
            s.key(&crate::evidence::seal::execution_scope(
                &f.account_id,
                &f.id,
                &execution_id,
            ))
            .await
            .map_err(|e| anyhow::anyhow!(e))?,
        ),
        _ => None,
    };
    let arn = match machine {
        Some(a) => a.to_string(),
        None => {
            let name = machine_name(&pb.name);
            find_machine(&sfn, &name).await?.with_context(|| {
                format!(
                    "no state machine `{name}` in this account and region\n  hint: `firebreak deploy` creates one per playbook"
                )
            })?
        }
    };
    let started_at = evidence::now_rfc3339();
    let (recorder, evidence_input) = match store {
        None => (None, Value::Null),
        Some(Store::Local { .. }) => bail!(
            "--engine sfn keeps evidence in S3 only: the state machine writes its records itself\n  hint: give --evidence s3://BUCKET[/PREFIX] (a bucket made by `firebreak setup`)"
        ),
        Some(
            st @ Store::S3 {
                bucket,
                mode,
                retention,
                ..
            },
        ) => {
            let r = Arc::new(
                Recorder::new(st.clone(), &f.account_id, &f.id, &execution_id)
                    .with_seal(seal.clone()),
            );
            let first = async {
                let finding = r.finding(f).await?;
                let plan_entry = r.plan(&plan, &pb.source).await?;
                Ok::<_, evidence::StoreError>((finding, plan_entry))
            };
            let (finding, plan_entry) = match first.await {
                Ok(e) => e,
                Err(e) => bail!(
                    "{e}\n  hint: firebreak does not act without its evidence; check that the evidence target exists and is writable (`firebreak setup`)"
                ),
            };
            let until = std::time::SystemTime::now() + *retention;
            let retain_until = aws_sdk_s3::primitives::DateTime::from(until)
                .fmt(aws_sdk_s3::primitives::DateTimeFormat::DateTime)
                .context("formatting the retention date")?;
            let input = json!({
                "bucket": bucket,
                "folder": r.folder(),
                "lock_mode": mode.as_s3(),
                "retain_until": retain_until,
                "started_at": started_at,
                "finding": finding,
                "plan": plan_entry,
            });
            (Some(r), input)
        }
    };
    let raw: Value = serde_json::from_str(&f.raw).context("the finding's text is not JSON")?;
    let mut input =
        json!({"detail": raw, "firebreak": {"execution_id": execution_id, "playbook": pb.name}});
    if !evidence_input.is_null() {
        input["firebreak"]["evidence"] = evidence_input.clone();
    }
    let start = sfn
        .start_execution()
        .state_machine_arn(&arn)
        .name(&execution_id)
        .input(input.to_string())
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("StartExecution of {arn}: {}", crate::aws::describe(&e)))?;
    let execution_arn = start.execution_arn().to_string();
    let offset_ms = millis(started.elapsed());
    if progress {
        crate::say!(
            "{}",
            super::start_line(f, &pb.name, &execution_id, " on Step Functions", false, "")
        );
    }
    let mut follower = Follower::new(&plan);
    let mut ok = true;
    let mut events = Vec::new();
    let mut end: Option<(String, Option<String>, Option<String>)> = None;
    let waiting = Instant::now();
    loop {
        events.clear();
        let mut token = None;
        loop {
            let page = sfn
                .get_execution_history()
                .execution_arn(&execution_arn)
                .max_results(1000)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| {
                    anyhow::anyhow!("GetExecutionHistory: {}", crate::aws::describe(&e))
                })?;
            events.extend(page.events().iter().cloned());
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        for p in follower.take(&events, offset_ms) {
            let event = match p {
                Progress::Started(step) => {
                    let Some(action) = plan.steps().find(|s| s.id == step).map(|s| s.action) else {
                        continue;
                    };
                    crate::engine::Event::StepStarted {
                        step,
                        action,
                        attempt: 1,
                    }
                }
                Progress::Ended(r) => {
                    crate::engine::step_span(&r.id, r.action)
                        .in_scope(|| crate::engine::step_line(&r));
                    r.event()
                }
            };
            if progress {
                crate::say!("{}", super::event_line(&event));
            }
        }
        if end.is_some() {
            break;
        }
        let d = sfn
            .describe_execution()
            .execution_arn(&execution_arn)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("DescribeExecution: {}", crate::aws::describe(&e)))?;
        let status = d.status().as_str().to_string();
        if status != "RUNNING" {
            end = Some((
                status,
                d.error().map(str::to_string),
                d.cause().map(str::to_string),
            ));
            // One more pass over the history: the last events may have come after it.
            continue;
        }
        // An execution none of whose steps is entered is not being run (the emulator runs
        // state machines only when told to, and answers with a made-up history of a state
        // named "A State"): say so, instead of waiting for ever.
        let entered = events.iter().any(|e| {
            e.state_entered_event_details()
                .is_some_and(|d| follower.step_of(d.name()).is_some())
        });
        if !entered && waiting.elapsed() > NOT_ADVANCING {
            bail!(
                "execution {execution_id} has entered none of its steps in {} s: the Step Functions at this endpoint is not running it\n  hint: moto runs state machines only when told: POST {{\"stepfunctions\": {{\"execute_state_machine\": true}}}} to /moto-api/config on the emulator, then `firebreak deploy` again (the setting drops deployed machines); on AWS, look at the execution in the console",
                NOT_ADVANCING.as_secs()
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let (status, error, cause) = end.unwrap_or_default();
    // `on_failure: abort` fails the execution: steps not started are skipped, as in the local
    // engine; steps it stopped while running failed.
    let aborted_by = (error.as_deref() == Some("firebreak.Aborted")).then(|| {
        cause
            .as_deref()
            .and_then(|c| c.split('`').nth(1))
            .unwrap_or("a step")
            .to_string()
    });
    let mut steps: Vec<StepReport> = Vec::new();
    let mut unrecorded: Vec<(StepReport, Map<String, Value>)> = Vec::new();
    for s in plan.steps() {
        if let Some(r) = follower.done.remove(&s.id) {
            steps.push(r);
            continue;
        }
        let started_running = follower
            .seen
            .get(&s.id)
            .is_some_and(|x| x.entered.is_some());
        let mut r = StepReport::base(s, StepStatus::Failed);
        // As the local engine says it: a need that did not succeed first.
        let need = s.needs.iter().find_map(|n| {
            steps
                .iter()
                .find(|d: &&StepReport| &d.id == n)
                .and_then(|d| match d.status {
                    StepStatus::Failed => Some(format!("needs `{n}`, which failed")),
                    StepStatus::Skipped => Some(format!("needs `{n}`, which is skipped")),
                    StepStatus::Succeeded => None,
                })
        });
        match &aborted_by {
            Some(by) if !started_running => {
                r.status = StepStatus::Skipped;
                r.skip_reason = Some(need.unwrap_or_else(|| {
                    format!("not started: the run was aborted after `{by}` failed")
                }));
            }
            Some(by) => {
                r.error_code = Some("firebreak.Aborted".into());
                r.error = Some(format!(
                    "stopped while running: the run was aborted after `{by}` failed"
                ));
            }
            None => {
                r.error_code = Some(error.clone().unwrap_or_else(|| status.clone()));
                r.error = Some(format!(
                    "the execution ended {status} before this step did: {}",
                    cause.clone().unwrap_or_default()
                ));
            }
        }
        if progress {
            crate::say!("{}", super::event_line(&r.event()));
        }
        unrecorded.push((r.clone(), Map::new()));
        steps.push(r);
    }
    let mut report = RunReport::new(&plan, &execution_id, steps, started, false, false);
    report.total_ms = millis(started.elapsed());
    ok &= report.ok();
    let expected = ["firebreak.StepFailed", "firebreak.Aborted"];
    if status != "SUCCEEDED" && !error.as_deref().is_some_and(|e| expected.contains(&e)) {
        crate::say!(
            "error: execution {execution_arn} ended {status}: {} {}",
            error.as_deref().unwrap_or_default(),
            cause.as_deref().unwrap_or_default()
        );
        ok = false;
    }
    if let (Some(r), Some(st)) = (&recorder, store) {
        match finish_evidence(
            r,
            st,
            pb,
            &report,
            &unrecorded,
            &events,
            caller_arn,
            &started_at,
            &f.account_id,
            &f.id,
            &execution_id,
            seal.clone(),
        )
        .await
        {
            Ok(manifest) => {
                let indexed = super::index(
                    store,
                    sealer,
                    f,
                    &execution_id,
                    r.folder(),
                    &manifest.key,
                    &manifest.sha256,
                )
                .await;
                ok &= indexed.is_some();
                if progress {
                    crate::say!("{}", super::evidence_line(&manifest.key, indexed.as_ref()));
                }
                report.evidence_manifest = Some(manifest.key);
                report.evidence_index = indexed.map(|i| format!("{}:{}", i.seq, i.sha256));
            }
            Err(e) => {
                crate::say!("error: the evidence of execution {execution_id} is incomplete: {e}");
                ok = false;
            }
        }
    }
    Ok((report, ok))
}

/// After the execution: the manifest the state machine wrote, or — when it ended before it
/// could — the records it did not write (steps ended by the abort or the failure, and steps
/// whose record is missing) and a manifest written by firebreak. Returns the manifest's place.
#[allow(clippy::too_many_arguments)]
async fn finish_evidence(
    r: &Recorder,
    store: &Store,
    pb: &Playbook,
    report: &RunReport,
    unrecorded: &[(StepReport, Map<String, Value>)],
    events: &[aws_sdk_sfn::types::HistoryEvent],
    caller_arn: &str,
    started_at: &str,
    account: &str,
    finding: &str,
    execution_id: &str,
    seal: Option<crate::evidence::seal::Key>,
) -> Result<evidence::Entry> {
    let folder = r.folder().to_string();
    let existing = store
        .read_folder(&folder)
        .await
        .map_err(|e| anyhow::anyhow!("reading {folder}: {e}"))?;
    let name_of = |k: &str| k.rsplit('/').next().map(str::to_string).unwrap_or_default();
    if let Some((key, bytes)) = existing
        .iter()
        .find(|(k, _)| name_of(k).ends_with("-manifest.json"))
    {
        let seq = evidence::parse_record_name(&name_of(key)).map_or(0, |(seq, _)| seq);
        return Ok(evidence::Entry {
            seq,
            kind: "manifest".into(),
            key: key.clone(),
            sha256: evidence::sha256_hex(bytes),
        });
    }
    // The state machine did not finish its evidence: firebreak does.
    let seqs = crate::engine::asl::record_seqs(pb);
    let recorder =
        Recorder::resume(store.clone(), account, finding, execution_id, &existing).with_seal(seal);
    let plan_sha = existing
        .iter()
        .find(|(k, _)| name_of(k) == "0001-plan.json")
        .map(|(_, b)| evidence::sha256_hex(b))
        .context("the plan record is missing")?;
    for s in &report.steps {
        let Some(&seq) = seqs.get(&s.id) else {
            continue;
        };
        let name = format!("{seq:04}-step-{}.json", evidence::sanitize(&s.id));
        if existing.iter().any(|(k, _)| name_of(k) == name) {
            continue;
        }
        let params = unrecorded
            .iter()
            .find(|(u, _)| u.id == s.id)
            .map(|(_, p)| p.clone())
            .unwrap_or_else(|| params_of(events, &s.id));
        recorder
            .step_at(seq, &plan_sha, s, &params)
            .await
            .map_err(|e| anyhow::anyhow!("writing the record of step {}: {e}", s.id))?;
    }
    let entry = recorder
        .manifest(report, caller_arn, None, started_at)
        .await
        .map_err(|e| anyhow::anyhow!("writing the manifest: {e}"))?;
    Ok(entry)
}

/// The parameters a step ran with, from its terminal state's output.
fn params_of(events: &[aws_sdk_sfn::types::HistoryEvent], id: &str) -> Map<String, Value> {
    events
        .iter()
        .rev()
        .filter_map(|e| e.state_exited_event_details())
        .filter(|d| d.name() == format!("{id}: succeeded") || d.name() == format!("{id}: failed"))
        .find_map(|d| {
            let v: Value = serde_json::from_str(d.output()?).ok()?;
            v["steps"][id]["params"].as_object().cloned()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod error_tests {
    use super::canonical_error;

    #[test]
    fn integration_errors_are_named_as_locally() {
        assert_eq!(canonical_error("Iam.NoSuchEntityException"), "NoSuchEntity");
        assert_eq!(canonical_error("iam.NoSuchEntityException"), "NoSuchEntity");
        assert_eq!(canonical_error("s3.NoSuchBucketException"), "NoSuchBucket");
        assert_eq!(canonical_error("sns.NotFoundException"), "NotFound");
        assert_eq!(canonical_error("Ec2.Ec2Exception"), "Ec2Exception");
        assert_eq!(
            canonical_error("Lambda.ResourceNotFoundException"),
            "ResourceNotFoundException"
        );
        // ECS's codes keep `Exception` as AWS sends them.
        for name in [
            "Ecs.ClusterNotFoundException",
            "ecs.ClusterNotFoundException",
        ] {
            assert_eq!(canonical_error(name), "ClusterNotFoundException", "{name}");
        }
        for name in [
            "Eks.ResourceNotFoundException",
            "eks.ResourceNotFoundException",
        ] {
            assert_eq!(canonical_error(name), "ResourceNotFoundException", "{name}");
        }
        for name in [
            "Rds.DbInstanceNotFoundException",
            "rds.DBInstanceNotFoundFaultException",
        ] {
            assert_eq!(canonical_error(name), "DBInstanceNotFound", "{name}");
        }
        assert_eq!(canonical_error("States.Timeout"), "States.Timeout");
        assert_eq!(
            canonical_error("firebreak.StepFailed"),
            "firebreak.StepFailed"
        );
        assert_eq!(canonical_error("VerifyFailed"), "VerifyFailed");
        assert_eq!(
            canonical_error("InvalidInstanceID.NotFound"),
            "InvalidInstanceID.NotFound"
        );
    }
}

#[cfg(test)]
mod record_tests {
    use serde_json::json;

    /// The console output a state machine read is kept decoded and scrubbed, as the local
    /// engine keeps it: the base64 would carry a boot script's password past the scrubber.
    #[test]
    fn console_output_is_kept_as_scrubbed_text() {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode("password=hunter2-xyz\n");
        let kept = super::recorded(
            "getConsoleOutput",
            json!({"InstanceId": "i-1", "Output": b64}),
        );
        assert!(!kept.to_string().contains(&b64), "{kept}");
        assert!(!kept.to_string().contains("hunter2"), "{kept}");
        assert_eq!(kept["Output"]["scrubbed"], true, "{kept}");
        // Other answers are kept as they came.
        let other = json!({"Output": "text"});
        assert_eq!(super::recorded("describeInstances", other.clone()), other);
    }

    /// An ECS task's environment variables, which often hold secrets, are not kept.
    #[test]
    fn containers_environments_are_not_recorded() {
        let definition = super::recorded(
            "describeTaskDefinition",
            json!({"TaskDefinition": {"TaskRoleArn": "arn:aws:iam::1:role/r",
                "ContainerDefinitions": [{"Name": "app", "Environment": [
                    {"Name": "DB_URL", "Value": "postgres://u:p@db/x"}]}]}}),
        );
        assert_eq!(
            definition,
            json!({"TaskDefinition": {"TaskRoleArn": "arn:aws:iam::1:role/r",
                "ContainerDefinitions": [{"Name": "app"}]}})
        );
        let tasks = super::recorded(
            "describeTasks",
            json!({"Tasks": [{"TaskArn": "t", "Overrides": {"ContainerOverrides": [
                {"Name": "app", "Environment": [{"Name": "TOKEN", "Value": "x"}]}]}}]}),
        );
        assert_eq!(
            tasks,
            json!({"Tasks": [{"TaskArn": "t", "Overrides": {"ContainerOverrides": [
                {"Name": "app"}]}}]})
        );
    }
}
