//! A [`Playbook`] bound to a [`Finding`] → a [`Plan`]: a petgraph DAG of steps whose parameters
//! are resolved from the finding and inputs, with `when` conditions decided where they can be,
//! topological levels (what can run at once) and the critical path.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use petgraph::graph::{DiGraph, NodeIndex};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::domain::catalog::{Action, Effect};
use crate::domain::expr::{self, EvalError, MapScope, Template};
use crate::domain::finding::Finding;
use crate::domain::playbook::{OnFailure, Playbook, TValue};
use crate::domain::retry::RetryPolicy;

/// A finding's response, ready to run.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Plan {
    pub finding_id: String,
    pub finding_type: String,
    pub account_id: String,
    pub region: String,
    pub sample: bool,
    pub playbook: String,
    pub playbook_file: String,
    /// Set when the playbook declares this finding type uncontained: the reason.
    pub no_containment: Option<String>,
    pub inputs: BTreeMap<String, Value>,
    /// The finding's JSON, for expressions evaluated at run time.
    #[serde(skip)]
    pub finding: Value,
    #[serde(rename = "steps", serialize_with = "ser_steps")]
    #[schemars(with = "Vec<PlanStep>")]
    pub graph: DiGraph<PlanStep, ()>,
    /// Steps that will run, grouped by depth: every step of a level can run at once.
    pub levels: Vec<Vec<String>>,
    /// The longest chain of dependent steps that will run (by number of steps).
    pub critical_path: Vec<String>,
}

fn ser_steps<S: serde::Serializer>(g: &DiGraph<PlanStep, ()>, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(g.node_count()))?;
    for n in g.node_indices() {
        seq.serialize_element(&g[n])?;
    }
    seq.end()
}

/// Whether a step will run.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum StepState {
    /// Will run (its `when`, if deferred, is decided at run time).
    Planned,
    /// Will not run, and why.
    Skipped { reason: String },
}

/// A parameter value: known now, or computed from earlier steps' outputs at run time.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum ParamValue {
    Known(Value),
    Deferred { deferred: String },
}

/// One bound step.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PlanStep {
    pub id: String,
    pub action: Action,
    pub effect: Effect,
    pub params: BTreeMap<String, ParamValue>,
    pub needs: Vec<String>,
    /// Steps this one starts after, whatever became of them (order only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<String>,
    /// A condition on earlier steps' outputs, decided at run time.
    pub when: Option<String>,
    #[serde(skip)]
    pub when_expr: Option<expr::Expr>,
    /// The expressions of deferred parameters, evaluated when the step is about to run.
    #[serde(skip)]
    pub deferred: BTreeMap<String, TValue>,
    #[serde(flatten)]
    pub state: StepState,
    pub retry: RetryPolicy,
    pub timeout_ms: u64,
    pub on_failure: OnFailure,
}

/// Why a finding could not be bound to a playbook.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}\n  hint: {hint}")]
pub struct BindError {
    pub message: String,
    pub hint: String,
}

/// The operator's `--input`s that `playbook` declares: `serve`, `watch` and `run` without
/// `--playbook` give every selected playbook only its own (an S3 playbook without
/// `webhook_url` ignores it rather than rejecting every S3 finding).
pub fn inputs_for(
    playbook: &Playbook,
    inputs: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    inputs
        .iter()
        .filter(|(k, _)| playbook.inputs.iter().any(|i| &i.name == *k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The `--input` names no playbook of `playbooks` declares (a typo, or an input of a playbook
/// that is not there): refused before anything runs.
pub fn undeclared_inputs<'a>(
    playbooks: &[Playbook],
    inputs: &'a BTreeMap<String, String>,
) -> Vec<&'a str> {
    inputs
        .keys()
        .filter(|k| {
            !playbooks
                .iter()
                .any(|p| p.inputs.iter().any(|i| &i.name == *k))
        })
        .map(String::as_str)
        .collect()
}

/// Binds `finding` to `playbook`. All binding problems are returned together.
pub fn compile(finding: &Finding, playbook: &Playbook) -> Result<Plan, Vec<BindError>> {
    compile_with(finding, playbook, &BTreeMap::new())
}

/// Like [`compile`], with input values given by the operator (`--input name=value`), which take
/// precedence over the finding and the defaults.
pub fn compile_with(
    finding: &Finding,
    playbook: &Playbook,
    overrides: &BTreeMap<String, String>,
) -> Result<Plan, Vec<BindError>> {
    let mut errors = Vec::new();
    for name in overrides.keys() {
        if !playbook.inputs.iter().any(|i| &i.name == name) {
            let names: Vec<&str> = playbook.inputs.iter().map(|i| i.name.as_str()).collect();
            errors.push(BindError {
                message: format!(
                    "--input {name}: playbook `{}` has no input `{name}`",
                    playbook.name
                ),
                hint: format!("its inputs: {}", names.join(", ")),
            });
        }
    }
    let no_scope = MapScope {
        finding: &finding.json,
        inputs: None,
        steps: None,
    };
    // Inputs.
    let mut inputs = BTreeMap::new();
    for input in &playbook.inputs {
        let mut value = match (overrides.get(&input.name), &input.from) {
            (Some(v), _) => Value::String(v.clone()),
            (None, Some(t)) => t.eval(&no_scope).unwrap_or(Value::Null),
            (None, None) => Value::Null,
        };
        if is_empty(&value)
            && let Some(d) = &input.default
        {
            value = d.clone();
        }
        if is_empty(&value) {
            if input.required {
                errors.push(BindError {
                    message: format!(
                        "finding {}: input `{}` of playbook `{}` is required, but {} is missing or empty",
                        finding.id,
                        input.name,
                        playbook.name,
                        read_paths(input.from.as_ref())
                    ),
                    hint: "the finding lacks a field this response needs; check it is complete, or give the input a default".into(),
                });
            }
            inputs.insert(input.name.clone(), Value::Null);
            continue;
        }
        match input.ty.coerce(&value) {
            Some(v) => {
                inputs.insert(input.name.clone(), v);
            }
            None => errors.push(BindError {
                message: format!(
                    "finding {}: input `{}` must be {}, but {} is {value}",
                    finding.id,
                    input.name,
                    input.ty.describe(),
                    read_paths(input.from.as_ref())
                ),
                hint: "check the finding field or the input's `type`".into(),
            }),
        }
    }
    if !errors.is_empty() {
        // Steps would only repeat the missing inputs' story.
        return Err(errors);
    }
    let inputs_json = Value::Object(inputs.clone().into_iter().collect::<Map<_, _>>());
    let scope = MapScope {
        finding: &finding.json,
        inputs: Some(&inputs_json),
        steps: None,
    };
    let no_containment = playbook
        .no_containment_for(&finding.type_name, &scope)
        .map(|n| n.reason.clone());

    // Steps, in an order where needs come first (the playbook was validated acyclic).
    let mut graph: DiGraph<PlanStep, ()> = DiGraph::new();
    let mut index: HashMap<&str, NodeIndex> = HashMap::new();
    let order = topo_order(playbook);
    let mut skipped: BTreeSet<String> = BTreeSet::new();
    for &i in &order {
        let step = &playbook.steps[i];
        let spec = step.action.spec();
        let mut state = StepState::Planned;
        let mut when = None;
        let mut when_expr = None;
        let mut deferred = BTreeMap::new();
        if let (Some(reason), Effect::Contain) = (&no_containment, spec.effect) {
            state = StepState::Skipped {
                reason: format!("no containment for {}: {reason}", finding.type_name),
            };
        }
        if state == StepState::Planned
            && let Some(c) = &step.when
        {
            match c.expr.eval(&scope) {
                Ok(v) if expr::truthy(&v) => {}
                Ok(_) => {
                    state = StepState::Skipped {
                        reason: format!("when `{}` is false", c.text.trim()),
                    }
                }
                Err(EvalError::Deferred(_)) => {
                    when = Some(c.text.trim().to_string());
                    when_expr = Some(c.expr.clone());
                }
            }
        }
        if state == StepState::Planned
            && let Some(dep) = step.needs.iter().find(|n| skipped.contains(&n.value))
        {
            state = StepState::Skipped {
                reason: format!("needs `{}`, which is skipped", dep.value),
            };
        }
        let mut params = BTreeMap::new();
        if state == StepState::Planned {
            for arg in &step.with {
                let Some(p) = spec.param(&arg.name) else {
                    continue;
                };
                match arg.value.eval(&scope) {
                    Err(EvalError::Deferred(_)) => {
                        deferred.insert(arg.name.clone(), arg.value.clone());
                        params.insert(
                            arg.name.clone(),
                            ParamValue::Deferred {
                                deferred: describe(&arg.value),
                            },
                        );
                    }
                    Ok(v) if is_empty(&v) => {
                        if p.required {
                            errors.push(BindError {
                                message: format!(
                                    "finding {}: step `{}` ({}) needs `{}`, but {} is missing or empty",
                                    finding.id,
                                    step.id,
                                    step.action,
                                    p.name,
                                    read_paths_of(&arg.value)
                                ),
                                hint: "the finding lacks a field this response needs; guard the step with `when`, or fix the binding".into(),
                            });
                        }
                    }
                    Ok(v) => match p.ty.coerce(&v) {
                        Some(v) => {
                            params.insert(arg.name.clone(), ParamValue::Known(p.fit(v)));
                        }
                        None => errors.push(BindError {
                            message: format!(
                                "finding {}: step `{}` parameter `{}` must be {}, but it is {v}",
                                finding.id,
                                step.id,
                                p.name,
                                p.ty.describe()
                            ),
                            hint: format!("{} reads {}", p.name, read_paths_of(&arg.value)),
                        }),
                    },
                }
            }
            for p in spec.params {
                if let (false, Some(d)) = (params.contains_key(p.name), p.default)
                    && let Ok(v) = serde_json::from_str(d)
                {
                    params.insert(p.name.to_string(), ParamValue::Known(v));
                }
            }
        } else {
            skipped.insert(step.id.clone());
        }
        let node = graph.add_node(PlanStep {
            id: step.id.clone(),
            action: step.action,
            effect: spec.effect,
            params,
            needs: step.needs.iter().map(|n| n.value.clone()).collect(),
            after: step.after.iter().map(|n| n.value.clone()).collect(),
            when,
            when_expr,
            deferred,
            state,
            retry: step.retry.clone(),
            timeout_ms: step.timeout.as_millis().try_into().unwrap_or(u64::MAX),
            on_failure: step.on_failure,
        });
        index.insert(&step.id, node);
        for n in step.needs.iter().chain(&step.after) {
            if let Some(&from) = index.get(n.value.as_str()) {
                graph.add_edge(from, node, ());
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let (levels, critical_path) = levels_and_critical_path(&graph);
    Ok(Plan {
        finding_id: finding.id.clone(),
        finding_type: finding.type_name.clone(),
        account_id: finding.account_id.clone(),
        region: finding.region.clone(),
        sample: finding.sample,
        playbook: playbook.name.clone(),
        playbook_file: playbook.file.clone(),
        no_containment,
        inputs,
        finding: finding.json.clone(),
        graph,
        levels,
        critical_path,
    })
}

fn is_empty(v: &Value) -> bool {
    matches!(v, Value::Null) || matches!(v, Value::String(s) if s.is_empty())
}

fn describe(v: &TValue) -> String {
    match v {
        TValue::Literal(v) => v.to_string(),
        TValue::Template(t) => template_text(t),
        TValue::List(items) => format!(
            "[{}]",
            items.iter().map(describe).collect::<Vec<_>>().join(", ")
        ),
        TValue::Map(e) => format!(
            "{{{}}}",
            e.iter()
                .map(|(k, v)| format!("{k}: {}", describe(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn template_text(t: &Template) -> String {
    let paths: Vec<String> = t.paths().iter().map(|p| p.to_string()).collect();
    format!("${{{{ {} }}}}", paths.join(", "))
}

fn read_paths(t: Option<&Template>) -> String {
    let paths: Vec<String> = t
        .map(|t| t.paths().iter().map(|p| format!("`{p}`")).collect())
        .unwrap_or_default();
    if paths.is_empty() {
        "its value".to_string()
    } else {
        paths.join(", ")
    }
}

fn read_paths_of(v: &TValue) -> String {
    let paths: Vec<String> = v
        .templates()
        .iter()
        .flat_map(|t| t.paths())
        .map(|p| format!("`{p}`"))
        .collect();
    if paths.is_empty() {
        "its value".to_string()
    } else {
        paths.join(", ")
    }
}

/// Step indexes in an order where every step comes after the steps it needs (or is after);
/// ties keep file order.
fn topo_order(pb: &Playbook) -> Vec<usize> {
    let pos: HashMap<&str, usize> = pb
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    let mut done = vec![false; pb.steps.len()];
    let mut order = Vec::with_capacity(pb.steps.len());
    while order.len() < pb.steps.len() {
        let before = order.len();
        for (i, s) in pb.steps.iter().enumerate() {
            if !done[i]
                && s.needs
                    .iter()
                    .chain(&s.after)
                    .all(|n| pos.get(n.value.as_str()).is_none_or(|&j| done[j]))
            {
                done[i] = true;
                order.push(i);
            }
        }
        if order.len() == before {
            // Only reachable for an unvalidated cyclic playbook: keep the rest in file order.
            order.extend((0..pb.steps.len()).filter(|i| !done[*i]));
            break;
        }
    }
    order
}

fn levels_and_critical_path(g: &DiGraph<PlanStep, ()>) -> (Vec<Vec<String>>, Vec<String>) {
    let runs = |n: NodeIndex| g[n].state == StepState::Planned;
    let mut depth: HashMap<NodeIndex, usize> = HashMap::new();
    let mut best_prev: HashMap<NodeIndex, NodeIndex> = HashMap::new();
    // Nodes were added in topological order, so one pass suffices.
    for n in g.node_indices().filter(|n| runs(*n)) {
        let mut d = 0;
        for p in g
            .neighbors_directed(n, petgraph::Direction::Incoming)
            .filter(|p| runs(*p))
        {
            let pd = depth[&p] + 1;
            if pd > d || (pd == d && best_prev.get(&n).is_some_and(|b| g[p].id < g[*b].id)) {
                d = pd;
                best_prev.insert(n, p);
            }
        }
        depth.insert(n, d);
    }
    let max = depth.values().copied().max();
    let mut levels = vec![Vec::new(); max.map_or(0, |m| m + 1)];
    for n in g.node_indices().filter(|n| runs(*n)) {
        levels[depth[&n]].push(g[n].id.clone());
    }
    let mut path = Vec::new();
    if let Some(max) = max {
        let mut cur = g.node_indices().find(|n| depth.get(n) == Some(&max));
        while let Some(n) = cur {
            path.push(g[n].id.clone());
            cur = best_prev.get(&n).copied();
        }
        path.reverse();
    }
    (levels, path)
}

impl Plan {
    pub fn steps(&self) -> impl Iterator<Item = &PlanStep> {
        self.graph.node_indices().map(|n| &self.graph[n])
    }
}
