//! Amazon States Language (issue 5): a playbook compiled to one Step Functions state machine
//! that serves every finding of that playbook.
//!
//! The execution input is the finding: an EventBridge event (`detail` holds the finding) or the
//! bare finding. The machine keeps its working data in two objects:
//! - `$.ctx`: `finding` (as received), `f` (every optional finding field the playbook reads,
//!   bound once with `null` when absent, so no later state reads a missing path), `inputs` (the
//!   playbook's inputs, bound like the local planner binds them) and `no_containment` (the
//!   reason, or `null`);
//! - `$.steps.<id>`: each step's `status` (`succeeded`, `failed`, `skipped`), `outputs` (every
//!   catalog output, `null` unless the step succeeded), `reason` or `error`/`cause`, and while
//!   the step runs its `params` and the raw answers of its calls.
//!
//! Each step becomes: a Choice (a need that did not succeed, `no_containment` for containment
//! steps, a false `when` → a skip Pass), a Pass binding its parameters, the action's SDK
//! integration Tasks (`arn:aws:states:::aws-sdk:<service>:<action>`; lists become Map states),
//! each with the step's retry policy as a Retrier and its timeout as `TimeoutSeconds`, and a
//! Catch that records the failure, so that dependents are skipped and independent steps go on,
//! as in the local engine. The DAG becomes nested sequences and Parallel states ([`shape`]); a
//! Parallel's branches are merged back with `States.JsonMerge`.

mod act;
mod actions;
mod define;
mod records;
pub mod shape;
mod values;

pub(crate) use act::is_read;

use std::collections::BTreeMap;
use std::fmt;

use petgraph::graph::{DiGraph, NodeIndex};
use serde_json::{Map, Value, json};

use crate::domain::catalog::{Effect, Type};
use crate::domain::expr::{Root, Seg};
use crate::domain::playbook::{OnFailure, Playbook, Step};
use crate::domain::retry::{ErrorClass, Jitter, RetryPolicy};

pub use shape::{Shape, shape};

/// Why a playbook cannot be compiled to ASL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The step, when the problem is in one.
    pub step: Option<String>,
    pub message: String,
    pub hint: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.step {
            Some(s) => write!(f, "step `{s}`: {} (hint: {})", self.message, self.hint),
            None => write!(f, "{} (hint: {})", self.message, self.hint),
        }
    }
}

/// Fields of the finding that routing requires, so they are always present.
const ALWAYS_PRESENT: &[&str] = &["id", "type", "accountId", "region", "severity"];

/// The Step Functions definition of `pb`, or every reason it cannot be compiled.
pub fn compile(pb: &Playbook) -> Result<Value, Vec<Error>> {
    compile_with(pb, &BTreeMap::new())
}

/// As [`compile`], with some inputs fixed (as `firebreak run --input` fixes them): each given
/// value replaces the input's binding in the state machine.
pub fn compile_with(pb: &Playbook, inputs: &BTreeMap<String, String>) -> Result<Value, Vec<Error>> {
    let mut c = Compiler {
        pb,
        inputs,
        fields: BTreeMap::new(),
        errors: Vec::new(),
        parallels: 0,
        seqs: BTreeMap::new(),
    };
    c.collect_fields();
    let mut states = Map::new();
    let start = c.prologue(&mut states);
    let body = c.body(&mut states);
    link(&mut states, &start.1, Some(&body));
    if !c.errors.is_empty() {
        return Err(c.errors);
    }
    Ok(json!({
        "Comment": format!(
            "firebreak playbook `{}` compiled by firebreak {} (`firebreak asl`); do not edit",
            pb.name,
            env!("CARGO_PKG_VERSION")
        ),
        "StartAt": start.0,
        "States": states,
    }))
}

/// The definition as committed in `state-machines/`: pretty JSON and a final newline.
pub fn render(definition: &Value) -> String {
    serde_json::to_string_pretty(definition).unwrap_or_default() + "\n"
}

struct Compiler<'a> {
    pb: &'a Playbook,
    /// Inputs fixed at compile time.
    inputs: &'a BTreeMap<String, String>,
    /// Optional finding fields read by the playbook: display path → key under `$.ctx.f`.
    fields: BTreeMap<String, (String, Vec<Seg>)>,
    errors: Vec<Error>,
    /// Parallel states emitted so far (they are named by number).
    parallels: usize,
    /// Each step's record number (the finding is 0, the plan 1, written by firebreak).
    seqs: BTreeMap<String, u64>,
}

/// Sets the `Next` of state `name` (or `End` when `next` is `None`).
fn link(states: &mut Map<String, Value>, name: &str, next: Option<&str>) {
    if let Some(Value::Object(s)) = states.get_mut(name) {
        match next {
            Some(n) => {
                s.insert("Next".into(), json!(n));
            }
            None => {
                s.insert("End".into(), json!(true));
            }
        }
    }
}

/// A literal inside an intrinsic function's single-quoted string.
pub(crate) fn intrinsic_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if matches!(ch, '\'' | '{' | '}' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// The value of a parameter or input: a literal, or a path/intrinsic for a `.$` key.
#[derive(Debug, Clone)]
pub(crate) enum Val {
    Lit(Value),
    Path(String),
}

impl Val {
    /// Puts the value under `key` of `obj` (as `key.$` when it is a path).
    pub(crate) fn put(&self, obj: &mut Map<String, Value>, key: &str) {
        match self {
            Val::Lit(v) => {
                obj.insert(key.into(), v.clone());
            }
            Val::Path(p) => {
                obj.insert(format!("{key}.$"), json!(p));
            }
        }
    }
}

impl<'a> Compiler<'a> {
    fn err(&mut self, step: Option<&str>, message: impl Into<String>, hint: impl Into<String>) {
        self.errors.push(Error {
            step: step.map(str::to_string),
            message: message.into(),
            hint: hint.into(),
        });
    }

    /// The steps, as nested sequences and Parallels, then `Done`. Returns the first state.
    fn body(&mut self, states: &mut Map<String, Value>) -> String {
        let pb = self.pb;
        let g = step_graph(pb);
        // Every step has a status: the execution fails when one failed, as the local run does.
        let failed: Vec<Value> = pb
            .steps
            .iter()
            .map(|s| json!({"Variable": format!("$.steps.{}.status", s.id), "StringEquals": "failed"}))
            .collect();
        let mut done = json!({"Type": "Choice", "Default": "Run succeeded"});
        if !failed.is_empty() {
            done["Choices"] = json!([{"Or": failed, "Next": "Run failed"}]);
        } else {
            done = json!({"Type": "Pass", "Next": "Run succeeded"});
        }
        states.insert("Done".into(), done);
        states.insert(
            "Run failed".into(),
            json!({
                "Type": "Fail",
                "Error": "firebreak.StepFailed",
                "Cause": "a step failed; each step's status, error and cause are in this state's input",
            }),
        );
        states.insert("Run succeeded".into(), json!({"Type": "Succeed"}));
        let sh = shape(&g);
        let mut order = Vec::new();
        collect_ids(&sh, &g, pb, &mut order);
        self.seqs = record_seqs(pb);
        self.manifest(states, &order);
        self.emit(&sh, &g, states, Some("Manifest?"))
    }

    /// Emits `shape` into `states`, continuing at `next`; returns its first state.
    fn emit(
        &mut self,
        sh: &Shape,
        g: &DiGraph<usize, ()>,
        states: &mut Map<String, Value>,
        next: Option<&str>,
    ) -> String {
        match sh {
            Shape::Step(n) => {
                let step = &self.pb.steps[g[*n]];
                self.step(step, states, next)
            }
            Shape::Seq(items) => {
                let mut next = next.map(str::to_string);
                for item in items.iter().rev() {
                    next = Some(self.emit(item, g, states, next.as_deref()));
                }
                next.unwrap_or_else(|| "Done".into())
            }
            Shape::Par(branches) => {
                let mut ids = Vec::new();
                collect_ids(sh, g, self.pb, &mut ids);
                self.parallels += 1;
                let name = format!("Parallel {}", self.parallels);
                let mut bs = Vec::new();
                for b in branches {
                    let mut bstates = Map::new();
                    let start = self.emit(b, g, &mut bstates, None);
                    bs.push(json!({"StartAt": start, "States": bstates}));
                }
                if branches.len() > 10 {
                    self.err(
                        None,
                        format!("{} independent branches at one point", branches.len()),
                        "Step Functions nests at most 10 intrinsic functions; give some steps a common need",
                    );
                }
                // Each branch's output, then one merge of their steps (the emulator reads an
                // indexed path such as `$[1].steps` as a list, so branches are taken with
                // `States.ArrayGetItem`).
                let mut selector = Map::new();
                for i in 0..branches.len() {
                    selector.insert(
                        format!("b{i}.$"),
                        json!(format!("States.ArrayGetItem($, {i})")),
                    );
                }
                let mut merge = "$.b0.steps".to_string();
                for i in 1..branches.len() {
                    merge = format!("States.JsonMerge({merge}, $.b{i}.steps, false)");
                }
                let merged = format!("{name}: merge");
                let mut join = json!({
                    "Type": "Pass",
                    "Parameters": {
                        "ctx.$": "$.b0.ctx",
                        "steps.$": merge,
                        // Any branch's last record will do: the next record links to it.
                        "head.$": format!("$.b{}.head", branches.len() - 1),
                    },
                });
                match next {
                    Some(n) => join["Next"] = json!(n),
                    None => join["End"] = json!(true),
                }
                states.insert(merged.clone(), join);
                let par = json!({
                    "Type": "Parallel",
                    "Comment": format!("steps {}", ids.join(", ")),
                    "Branches": bs,
                    "ResultSelector": selector,
                    "ResultPath": "$",
                    "Next": merged,
                });
                states.insert(name.clone(), par);
                name
            }
        }
    }

    /// One step's states; returns its first state.
    fn step(&mut self, step: &Step, states: &mut Map<String, Value>, next: Option<&str>) -> String {
        let id = step.id.as_str();
        let spec = step.action.spec();
        let nulls: Map<String, Value> = spec
            .outputs
            .iter()
            .map(|o| (o.name.to_string(), Value::Null))
            .collect();
        let here = format!("$.steps.{id}");
        let name = spec.name;
        // Every way the step ends goes through its evidence record.
        let evidence = format!("{id}: evidence?");
        let end = |mut s: Value| {
            s["Next"] = json!(evidence);
            s
        };

        // Skips, in the local engine's order and with its reasons: `no_containment`, a `when`
        // over the finding and inputs (decided when planning there), a need that did not
        // succeed, then a `when` over earlier steps' outputs.
        let mut choices = Vec::new();
        let skip_state = |states: &mut Map<String, Value>, state: &str, reason: Value| {
            let mut report = json!({
                "id": id,
                "action": name,
                "status": "skipped",
                "attempts": 0,
                "started_at.$": "$$.State.EnteredTime",
                "ended_at.$": "$$.State.EnteredTime",
                "changed": false,
                "outputs": {},
            });
            let mut params = json!({"status": "skipped", "outputs": nulls.clone(), "params": {}});
            match reason {
                Value::String(r) if r.starts_with('$') => {
                    params["reason.$"] = json!(r);
                    report["skip_reason.$"] = json!(r);
                }
                other => {
                    params["reason"] = other.clone();
                    report["skip_reason"] = other;
                }
            }
            params["report"] = report;
            let name = state;
            states.insert(
                name.to_string(),
                end(json!({"Type": "Pass", "Parameters": params, "ResultPath": here})),
            );
        };
        if spec.effect == Effect::Contain && !self.pb.no_containment.is_empty() {
            let skip = format!("{id}: skipped, no containment");
            choices
                .push(json!({"Variable": "$.ctx.no_containment", "IsNull": false, "Next": skip}));
            skip_state(states, &skip, json!("$.ctx.no_containment.reason"));
        }
        let when_rule = match &step.when {
            Some(w) => self.condition(Some(id), &w.expr).map(|rule| {
                let mut paths = Vec::new();
                w.expr.collect_paths(&mut paths);
                let deferred = paths.iter().any(|p| p.root == Root::Steps);
                (rule, w.text.trim().to_string(), deferred)
            }),
            None => None,
        };
        let when_choice = |choices: &mut Vec<Value>, states: &mut Map<String, Value>| {
            if let Some((rule, text, _)) = &when_rule {
                let skip = format!("{id}: skipped, when");
                let mut rule = json!({"Not": rule});
                rule["Next"] = json!(skip);
                choices.push(rule);
                skip_state(states, &skip, json!(format!("when `{text}` is false")));
            }
        };
        if when_rule.as_ref().is_some_and(|w| !w.2) {
            when_choice(&mut choices, states);
        }
        for need in &step.needs {
            let status = format!("$.steps.{}.status", need.value);
            for (outcome, reason) in [("failed", "which failed"), ("skipped", "which is skipped")] {
                let skip = format!("{id}: skipped, {} {outcome}", need.value);
                choices.push(json!({"Variable": status, "StringEquals": outcome, "Next": skip}));
                skip_state(
                    states,
                    &skip,
                    json!(format!("needs `{}`, {reason}", need.value)),
                );
            }
        }
        if when_rule.as_ref().is_some_and(|w| w.2) {
            when_choice(&mut choices, states);
        }

        // Parameters: the playbook's, then the catalog's defaults.
        let mut params = Map::new();
        for p in spec.params {
            if p.ty == Type::StringMap {
                // Key/value maps (tags) become the `[{Key, Value}]` lists AWS calls take, with
                // the entries the action always sets.
                let given = step.with.iter().find(|a| a.name == p.name);
                if let Some(list) = self.tag_list(step, given.map(|a| &a.value)) {
                    params.insert(p.name.into(), list);
                }
                continue;
            }
            if let Some(arg) = step.with.iter().find(|a| a.name == p.name) {
                if let Some(v) = self.tvalue(id, &arg.value) {
                    v.put(&mut params, p.name);
                }
            } else if let Some(d) = p.default
                && let Ok(v) = serde_json::from_str::<Value>(d)
            {
                params.insert(p.name.into(), v);
            }
        }
        let bind = format!("{id}: parameters");
        states.insert(
            bind.clone(),
            json!({"Type": "Pass", "Parameters": {
                "params": params,
                "started.$": "$$.State.EnteredTime",
                "changed": {"v": false},
            }, "ResultPath": here}),
        );
        let entry = if choices.is_empty() {
            bind.clone()
        } else {
            let name = id.to_string();
            states.insert(
                name.clone(),
                json!({"Type": "Choice", "Choices": choices, "Default": bind}),
            );
            name
        };

        // The action, then success or failure.
        let succeeded = format!("{id}: succeeded");
        let failed = format!("{id}: failed");
        let mut a = act::Act {
            id,
            states,
            retry: &step.retry,
            timeout: step.timeout.as_secs_f64().ceil().max(1.0) as u64,
            failed: failed.clone(),
            given: step.with.iter().map(|a| a.name.clone()).collect(),
            root: format!("$.steps.{id}"),
        };
        let act::Compiled { first, outputs } = actions::compile(step.action, &mut a, &succeeded);
        link(states, &bind, Some(&first));
        let mut outs = Map::new();
        for o in spec.outputs {
            match outputs.get(o.name) {
                Some(v) => v.put(&mut outs, o.name),
                None => {
                    outs.insert(o.name.into(), Value::Null);
                }
            }
        }
        let ran = |status: &str, outputs: Value| {
            json!({
                "id": id,
                "action": name,
                "status": status,
                "attempts": 1,
                "started_at.$": format!("$.steps.{id}.started"),
                "ended_at.$": "$$.State.EnteredTime",
                "changed.$": format!("$.steps.{id}.changed.v"),
                "outputs": outputs,
            })
        };
        states.insert(
            succeeded,
            end(json!({
                "Type": "Pass",
                "Parameters": {
                    "status": "succeeded",
                    "outputs": outs.clone(),
                    "params.$": format!("$.steps.{id}.params"),
                    "report": ran("succeeded", Value::Object(outs)),
                },
                "ResultPath": here,
            })),
        );
        let mut failed_report = ran("failed", json!({}));
        failed_report["error.$"] = json!(format!("$.steps.{id}.error.Cause"));
        failed_report["error_code.$"] = json!(format!("$.steps.{id}.error.Error"));
        let failed_state = end(json!({
            "Type": "Pass",
            "Parameters": {
                "status": "failed",
                "error.$": format!("$.steps.{id}.error.Error"),
                "cause.$": format!("$.steps.{id}.error.Cause"),
                "outputs": nulls,
                "params.$": format!("$.steps.{id}.params"),
                "report": failed_report,
            },
            "ResultPath": here,
        }));

        // After the record: `on_failure: abort` fails the execution at once, which stops every
        // other branch (the local engine lets running steps finish; here they are stopped).
        let after = match next {
            Some(n) => n.to_string(),
            None => {
                let end_state = format!("{id}: end");
                states.insert(end_state.clone(), json!({"Type": "Pass", "End": true}));
                end_state
            }
        };
        let then = if step.on_failure == OnFailure::Abort {
            let abort = format!("{id}: abort");
            states.insert(
                abort.clone(),
                json!({
                    "Type": "Fail",
                    "Error": "firebreak.Aborted",
                    "Cause": format!("step `{id}` failed and has `on_failure: abort`"),
                }),
            );
            let then = format!("{id}: abort?");
            states.insert(
                then.clone(),
                json!({
                    "Type": "Choice",
                    "Choices": [{"Variable": format!("$.steps.{id}.status"), "StringEquals": "failed", "Next": abort}],
                    "Default": after,
                }),
            );
            then
        } else {
            after
        };
        self.record(id, states, &evidence, &then);
        states.insert(failed, failed_state);
        entry
    }
}

/// The playbook's steps as a graph (edges from a need, or a step another comes after, to that
/// step).
fn step_graph(pb: &Playbook) -> DiGraph<usize, ()> {
    let mut g: DiGraph<usize, ()> = DiGraph::new();
    let nodes: Vec<NodeIndex> = (0..pb.steps.len()).map(|i| g.add_node(i)).collect();
    for (i, step) in pb.steps.iter().enumerate() {
        for need in step.needs.iter().chain(&step.after) {
            if let Some(j) = pb.steps.iter().position(|s| s.id == need.value) {
                g.add_edge(nodes[j], nodes[i], ());
            }
        }
    }
    g
}

/// The record number of each step's evidence record in an execution of the compiled state
/// machine (in the order the steps appear in it; 0 and 1 are the finding and the plan, the
/// manifest follows the last step).
pub fn record_seqs(pb: &Playbook) -> BTreeMap<String, u64> {
    let g = step_graph(pb);
    let mut order = Vec::new();
    collect_ids(&shape(&g), &g, pb, &mut order);
    order
        .into_iter()
        .enumerate()
        .map(|(i, id)| (id, i as u64 + 2))
        .collect()
}

fn collect_ids(sh: &Shape, g: &DiGraph<usize, ()>, pb: &Playbook, out: &mut Vec<String>) {
    match sh {
        Shape::Step(n) => out.push(pb.steps[g[*n]].id.clone()),
        Shape::Seq(items) | Shape::Par(items) => {
            items.iter().for_each(|i| collect_ids(i, g, pb, out))
        }
    }
}

/// The error names a retry class stands for, for a service's SDK integration errors
/// (`<Service>.<Code>Exception`, as Step Functions names them).
pub(crate) fn error_names(class: ErrorClass, svc: &str) -> Vec<String> {
    let codes: &[&str] = match class {
        ErrorClass::Throttling => &[
            "Throttling",
            "ThrottlingException",
            "RequestLimitExceeded",
            "SlowDown",
            "TooManyRequestsException",
            "Throttled",
        ],
        ErrorClass::Server => &[
            "ServiceUnavailable",
            "ServiceUnavailableException",
            "InternalFailure",
            "InternalError",
            "ServiceFailure",
        ],
        ErrorClass::Timeout => return vec!["States.Timeout".into()],

        ErrorClass::Network => &["SdkClient"],
    };
    let mut out = Vec::new();
    for c in codes {
        let name = if c.ends_with("Exception") {
            format!("{svc}.{c}")
        } else {
            format!("{svc}.{c}Exception")
        };
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// A step's retry policy as the Retriers of a Task calling `svc` (`Iam`, `Ec2`, …; none when
/// the policy allows one attempt). Step Functions counts whole seconds: a sub-second interval
/// becomes one second.
pub(crate) fn retriers(p: &RetryPolicy, svc: &str) -> Value {
    if p.attempts <= 1 || p.errors.is_empty() {
        return json!([]);
    }
    let mut names = Vec::new();
    for c in &p.errors {
        names.extend(error_names(*c, svc));
    }
    if names.is_empty() {
        return json!([]);
    }
    let mut r = json!({
        "ErrorEquals": names,
        "IntervalSeconds": p.interval.as_secs_f64().ceil().max(1.0) as u64,
        "MaxAttempts": p.attempts - 1,
        "BackoffRate": p.backoff_rate.max(1.0),
        "MaxDelaySeconds": p.max_delay.as_secs_f64().ceil().max(1.0) as u64,
    });
    r["JitterStrategy"] = json!(match p.jitter {
        Jitter::Full => "FULL",
        Jitter::None => "NONE",
    });
    json!([r])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn playbook(steps: &str) -> Playbook {
        let src = format!(
            "name: t\ndescription: t\nmatch:\n  types: [\"*\"]\ninputs:\n  user_name:\n    from: ${{{{ finding.resource.accessKeyDetails.userName }}}}\n    required: true\nsteps:\n{steps}"
        );
        let (pb, diags) = crate::domain::playbook::load(&src, "t.yaml");
        pb.unwrap_or_else(|| panic!("{diags:?}"))
    }

    #[test]
    fn conditions_compile_to_choice_rules() {
        let pb = playbook(
            "  - id: a\n    action: iam.capture_user\n    when: startsWith(inputs.user_name, 'x*y') && finding.severity >= 7 || !(inputs.user_name == 'root')\n    with:\n      user_name: ${{ inputs.user_name }}\n",
        );
        let def = compile(&pb).expect("compiles");
        let rule = &def["States"]["a"]["Choices"][0]["Not"];
        let text = rule.to_string();
        assert!(text.contains(r#""StringMatches":"x\\*y*""#), "{text}");
        assert!(text.contains(r#""NumericGreaterThanEquals":7"#), "{text}");
        assert!(text.contains(r#""StringEquals":"root""#), "{text}");
        assert!(
            text.contains(r#""Or""#) && text.contains(r#""And""#),
            "{text}"
        );
    }

    #[test]
    fn what_cannot_be_compiled_is_named_with_its_step() {
        let pb = playbook(
            "  - id: a\n    action: iam.capture_user\n    when: length(inputs.user_name) > 3\n    with:\n      user_name: ${{ lower(inputs.user_name) }}\n  - id: c\n    action: http.webhook\n    with:\n      url: https://hooks.example.com/x\n      text: hello\n  - id: b\n    action: iam.deactivate_access_key\n    needs: [a, c]\n    on_failure: abort\n    with:\n      user_name: ${{ inputs.user_name }}\n      access_key_id: ${{ steps.c.outputs.status }}\n",
        );
        let errors = compile(&pb).expect_err("must not compile");
        let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        let all = text.join("\n");
        assert!(all.contains("step `a`: the condition part"), "{all}");
        assert!(all.contains("step `a`: the expression"), "{all}");
        assert!(all.contains("cannot give `status`"), "{all}");
        assert!(errors.iter().all(|e| !e.hint.is_empty()));
    }

    #[test]
    fn abort_fails_the_execution_after_recording_the_step() {
        let pb = playbook(
            "  - id: a\n    action: iam.capture_user\n    on_failure: abort\n    with:\n      user_name: ${{ inputs.user_name }}\n  - id: b\n    action: iam.deny_all_user\n    with:\n      user_name: ${{ inputs.user_name }}\n",
        );
        let def = compile(&pb).expect("compiles");
        // The failure is recorded in `$.steps.a` first, then the execution fails.
        let branches = def["States"]["Parallel 1"]["Branches"].as_array().unwrap();
        let state = |name: &str| {
            branches
                .iter()
                .find_map(|b| b["States"].get(name).cloned())
                .unwrap_or_else(|| panic!("no state {name}: {def}"))
        };
        let abort = state("a: abort");
        assert_eq!(abort["Type"], "Fail");
        assert_eq!(abort["Error"], "firebreak.Aborted");
        assert_eq!(
            abort["Cause"],
            "step `a` failed and has `on_failure: abort`"
        );
        let failed = state("a: failed");
        assert_eq!(failed["ResultPath"], "$.steps.a");
        // Through the step's record (written when the execution keeps evidence) to the abort.
        assert_eq!(failed["Next"], "a: evidence?");
        assert_eq!(state("a: evidence?")["Choices"][0]["Next"], "a: abort?");
        assert_eq!(state("a: head")["Next"], "a: abort?");
        let then = state("a: abort?");
        assert_eq!(then["Choices"][0]["StringEquals"], "failed");
        assert_eq!(then["Choices"][0]["Next"], "a: abort");
    }

    #[test]
    fn retry_policy_becomes_a_retrier_with_the_same_numbers() {
        let p = RetryPolicy::default();
        let r = retriers(&p, "Iam");
        assert_eq!(r[0]["MaxAttempts"], p.attempts - 1);
        assert_eq!(
            r[0]["IntervalSeconds"], 1,
            "200 ms rounds up to Step Functions' 1 s"
        );
        assert_eq!(r[0]["MaxDelaySeconds"], 5);
        assert_eq!(r[0]["JitterStrategy"], "FULL");
        let names = r[0]["ErrorEquals"].as_array().unwrap();
        assert!(names.contains(&json!("Iam.ThrottlingException")));
        assert!(names.contains(&json!("States.Timeout")));
        let once = RetryPolicy {
            attempts: 1,
            ..RetryPolicy::default()
        };
        assert_eq!(retriers(&once, "Iam"), json!([]));
    }
}

#[cfg(test)]
mod permission_tests {
    use super::*;
    use crate::domain::catalog::Action;

    /// The IAM action a Task's SDK call needs (`aws-sdk:s3:getPublicAccessBlock` →
    /// `s3:GetBucketPublicAccessBlock`).
    fn permission(resource: &str) -> Option<String> {
        let rest = resource.strip_prefix("arn:aws:states:::")?;
        let rest = rest.strip_prefix("aws-sdk:").unwrap_or(rest);
        let (svc, op) = rest.split_once(':')?;
        let svc = match svc {
            "elasticloadbalancingv2" => "elasticloadbalancing",
            other => other,
        };
        let mut op = op.to_string();
        if let Some(f) = op.get_mut(0..1) {
            f.make_ascii_uppercase();
        }
        Some(crate::domain::catalog::permission(svc, &op))
    }

    fn tasks(v: &Value, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(m) => {
                if let (Some(Value::String(r)), Some(Value::String(_))) =
                    (m.get("Resource"), m.get("Type"))
                {
                    out.push((r.clone(), String::new()));
                }
                for (k, x) in m {
                    // State names carry the step id: `<id>: …`.
                    if let Value::Object(st) = x
                        && let Some(Value::String(r)) = st.get("Resource")
                    {
                        let step = k.split(':').next().unwrap_or_default().to_string();
                        // Members AWS acts on as the caller (tagging on create counts as
                        // ec2:CreateTags; a master password's secret as its calls).
                        let op = Action::ALL
                            .iter()
                            .filter_map(|a| a.spec().definition())
                            .flat_map(|d| d.calls())
                            .map(|c| c.op)
                            .find(|op| &op.sfn_resource() == r);
                        if let (Some(op), Some(params)) = (op, st["Parameters"].as_object()) {
                            for member in params.keys() {
                                let member = member.trim_end_matches(".$");
                                for p in op.member_permissions(member) {
                                    let (svc, action) = p.split_once(':').unwrap_or_default();
                                    let mut call = action.to_string();
                                    call[..1].make_ascii_lowercase();
                                    out.push((
                                        format!("arn:aws:states:::aws-sdk:{svc}:{call}"),
                                        step.clone(),
                                    ));
                                }
                            }
                        }
                        // An object's version: S3 authorises it as the version's call.
                        let params = &st["Parameters"];
                        if params.get("VersionId").is_some() || params.get("VersionId.$").is_some()
                        {
                            let version = match r.rsplit(':').next().unwrap_or_default() {
                                "getObjectTagging" => "getObjectVersionTagging",
                                "putObjectTagging" => "putObjectVersionTagging",
                                other => other,
                            };
                            out.push((
                                format!("arn:aws:states:::aws-sdk:s3:{version}"),
                                step.clone(),
                            ));
                        }
                        out.push((r.clone(), step));
                    }
                    tasks(x, out);
                }
            }
            Value::Array(a) => a.iter().for_each(|x| tasks(x, out)),
            _ => {}
        }
    }

    /// Every SDK call a compiled step makes is in its action's catalog permissions, so the
    /// role `deploy` makes (and the responder role `firebreak permissions` will print) can make
    /// it. (The evidence writes are the state machine's own: the `FirebreakEvidence` statement.)
    #[test]
    fn every_call_a_state_machine_makes_is_in_its_actions_permissions() {
        let mut steps = String::new();
        for (i, a) in Action::ALL.iter().enumerate() {
            let spec = a.spec();
            let mut with = String::new();
            // An object's version, where the action takes one (its calls need more).
            for p in spec
                .params
                .iter()
                .filter(|p| p.required || p.name == "version_id")
            {
                let value = match p.ty {
                    Type::StringMap => "\n        k: v".to_string(),
                    Type::StringList => " [x]".to_string(),
                    _ => " x".to_string(),
                };
                with.push_str(&format!("\n      {}:{value}", p.name));
            }
            // One after the other (a state machine joins at most 11 branches at one point).
            let needs = if i == 0 {
                String::new()
            } else {
                format!("\n    needs: [s{}]", i - 1)
            };
            steps.push_str(&format!(
                "  - id: s{i}\n    action: {}{needs}\n    with:{with}\n",
                spec.name
            ));
        }
        let src = format!(
            "name: all\ndescription: every action\nmatch:\n  types: [\"*\"]\nsteps:\n{steps}"
        );
        let (pb, diags) = crate::domain::playbook::load(&src, "all.yaml");
        let pb = pb.unwrap_or_else(|| panic!("{diags:?}"));
        let def = compile(&pb).expect("every action compiles");
        let mut found = Vec::new();
        tasks(&def, &mut found);
        let mut missing = Vec::new();
        let mut called: Vec<(Action, String)> = Vec::new();
        for (resource, state) in &found {
            let Some(perm) = permission(resource) else {
                continue;
            };
            let Some(step) = pb.steps.iter().find(|s| &s.id == state) else {
                continue;
            };
            // The evidence records: the state machine's own writes (`FirebreakEvidence`).
            if resource.ends_with(":s3:putObject") {
                continue;
            }
            if !step
                .action
                .permissions(crate::domain::catalog::Engine::Sfn)
                .any(|p| p == perm)
            {
                missing.push(format!("{}: {perm}", step.action));
            }
            called.push((step.action, perm));
        }
        missing.sort();
        missing.dedup();
        assert!(missing.is_empty(), "missing from the catalog: {missing:#?}");
        // And the other way: every permission a state machine's role gets is called by it.
        let mut unused = Vec::new();
        for a in Action::ALL {
            for p in a.permissions(crate::domain::catalog::Engine::Sfn) {
                if !called.iter().any(|(b, q)| b == a && q == p) {
                    unused.push(format!("{a}: {p}"));
                }
            }
        }
        assert!(
            unused.is_empty(),
            "never called by a state machine: {unused:#?}"
        );
    }
}
