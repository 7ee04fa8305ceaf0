//! A playbook's steps: each step's keys, action, arguments and retry policy.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value as J;

use super::*;
use crate::domain::catalog::Action;
use crate::domain::diag::Code;
use crate::domain::retry::{ErrorClass, Jitter, RetryPolicy};
use crate::domain::yaml::{Node, Value as Y};

impl Cx<'_> {
    pub(super) fn steps(&mut self, node: &Node) -> Vec<Step> {
        let Some(items) = self.seq(node, "`steps`") else {
            return Vec::new();
        };
        let mut out: Vec<Step> = Vec::new();
        let mut seen: HashMap<String, Pos> = HashMap::new();
        for item in items {
            let Some(step) = self.step(item) else {
                continue;
            };
            if let Some(first) = seen.get(&step.id) {
                self.err(
                    Code::DuplicateStepId,
                    step.pos,
                    format!(
                        "duplicate step id `{}` (first used at line {})",
                        step.id, first.line
                    ),
                    "step ids must be unique within a playbook",
                );
                continue;
            }
            seen.insert(step.id.clone(), step.pos);
            out.push(step);
        }
        out
    }

    pub(super) fn step(&mut self, node: &Node) -> Option<Step> {
        let entries = self.map(node, "a step")?;
        self.check_keys(entries, STEP_KEYS, "a step");
        let get = |k: &str| {
            entries
                .iter()
                .find(|(key, _)| key.text == k)
                .map(|(_, v)| v)
        };
        let id = match get("id") {
            Some(v) => {
                let id = self.text(v, "`id`")?;
                if !valid_ident(&id) {
                    self.err(Code::InvalidValue, v.pos, format!("step id `{id}` is not allowed"), "use letters, digits, `_` and `-`, starting with a letter (ids appear in ${{ steps.<id>.outputs… }})");
                }
                id
            }
            None => {
                self.err(
                    Code::MissingField,
                    node.pos,
                    "a step has no `id`",
                    "give every step a unique `id`",
                );
                return None;
            }
        };
        let action = match get("action") {
            Some(v) => {
                let name = self.text(v, "`action`")?;
                match Action::from_name(&name) {
                    Some(a) => Some(a),
                    None => {
                        let names: Vec<&str> = Action::ALL.iter().map(|a| a.spec().name).collect();
                        let hint = match closest(&name, &names) {
                            Some(c) => {
                                format!("did you mean `{c}`? `firebreak actions` lists the catalog")
                            }
                            None => "`firebreak actions` lists the catalog".into(),
                        };
                        self.err(
                            Code::UnknownAction,
                            v.pos,
                            format!("unknown action `{name}` in step `{id}`"),
                            hint,
                        );
                        None
                    }
                }
            }
            None => {
                self.err(
                    Code::MissingField,
                    node.pos,
                    format!("step `{id}` has no `action`"),
                    "name an action from the catalog, e.g. `iam.deactivate_access_key`",
                );
                None
            }
        };
        let with = match (get("with"), action) {
            (Some(w), Some(a)) => self.args(w, a, &id),
            (None, Some(a)) => {
                for p in a.spec().params.iter().filter(|p| p.required) {
                    self.err(
                        Code::MissingParam,
                        node.pos,
                        format!(
                            "step `{id}` ({a}) is missing required parameter `{}`",
                            p.name
                        ),
                        format!("add `with: {{{}: …}}`: {}", p.name, p.doc),
                    );
                }
                Vec::new()
            }
            _ => Vec::new(),
        };
        let needs = get("needs")
            .map(|n| self.text_list(n, "`needs`"))
            .unwrap_or_default();
        let after = get("after")
            .map(|n| self.text_list(n, "`after`"))
            .unwrap_or_default();
        let when = get("when").and_then(|w| self.condition(w));
        let retry = get("retry").map(|r| self.retry(r)).unwrap_or_default();
        let timeout = get("timeout")
            .and_then(|t| self.duration(t, "`timeout`"))
            .unwrap_or(
                if action
                    .and_then(Action::definition)
                    .is_some_and(|d| d.waits())
                {
                    WAITING_TIMEOUT
                } else {
                    DEFAULT_TIMEOUT
                },
            );
        if timeout.is_zero() {
            self.err(
                Code::InvalidValue,
                node.pos,
                "`timeout` must be more than zero",
                "",
            );
        }
        let on_failure = match get("on_failure") {
            None => OnFailure::Continue,
            Some(v) => match self.text(v, "`on_failure`").as_deref() {
                Some("abort") => OnFailure::Abort,
                Some("continue") => OnFailure::Continue,
                Some(other) => {
                    self.err(Code::InvalidValue, v.pos, format!("`on_failure: {other}` is not known"), "use `abort` (start nothing more) or `continue` (skip only dependent steps)");
                    OnFailure::Continue
                }
                None => OnFailure::Continue,
            },
        };
        Some(Step {
            id,
            pos: node.pos,
            action: action?,
            with,
            needs,
            after,
            when,
            retry,
            timeout,
            on_failure,
        })
    }

    pub(super) fn args(&mut self, node: &Node, action: Action, id: &str) -> Vec<Arg> {
        let spec = action.spec();
        let Some(entries) = self.map(node, "`with`") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in entries {
            let Some(param) = spec.param(&k.text) else {
                let names: Vec<&str> = spec.params.iter().map(|p| p.name).collect();
                let hint = match closest(&k.text, &names) {
                    Some(c) => format!("did you mean `{c}`? {action} takes: {}", names.join(", ")),
                    None => format!("{action} takes: {}", names.join(", ")),
                };
                self.err(
                    Code::UnknownParam,
                    k.pos,
                    format!("unknown parameter `{}` for {action} in step `{id}`", k.text),
                    hint,
                );
                continue;
            };
            let Some(value) = self.tvalue(v) else {
                continue;
            };
            match &value {
                TValue::Template(t) if t.is_dynamic() => {
                    let single = t.parts.len() == 1;
                    if !single && param.ty != Type::String {
                        self.err(Code::ParamType, v.pos, format!("parameter `{}` of {action} must be {}, but text mixed with ${{{{ … }}}} is always text", param.name, param.ty.describe()), "use a single ${{ … }} expression for non-text parameters");
                    }
                }
                _ => {
                    let literal = v.to_json();
                    if value.templates().iter().all(|t| !t.is_dynamic())
                        && param.ty.coerce(&literal).is_none()
                    {
                        self.err(
                            Code::ParamType,
                            v.pos,
                            format!(
                                "parameter `{}` of {action} must be {}, found {}",
                                param.name,
                                param.ty.describe(),
                                v.kind()
                            ),
                            param.doc,
                        );
                    }
                }
            }
            out.push(Arg {
                name: k.text.clone(),
                pos: k.pos,
                value,
            });
        }
        for p in spec.params.iter().filter(|p| p.required) {
            if !entries.iter().any(|(k, _)| k.text == p.name) {
                self.err(
                    Code::MissingParam,
                    node.pos,
                    format!(
                        "step `{id}` ({action}) is missing required parameter `{}`",
                        p.name
                    ),
                    format!("{}: {}", p.name, p.doc),
                );
            }
        }
        out
    }

    pub(super) fn tvalue(&mut self, node: &Node) -> Option<TValue> {
        Some(match &node.value {
            Y::Str { text, .. } => {
                let t = self.template(text, node.pos)?;
                if t.is_dynamic() {
                    TValue::Template(t)
                } else {
                    TValue::Literal(J::String(text.clone()))
                }
            }
            Y::Seq(items) => TValue::List(items.iter().filter_map(|i| self.tvalue(i)).collect()),
            Y::Map(entries) => TValue::Map(
                entries
                    .iter()
                    .filter_map(|(k, v)| Some((k.text.clone(), self.tvalue(v)?)))
                    .collect(),
            ),
            _ => TValue::Literal(node.to_json()),
        })
    }

    pub(super) fn retry(&mut self, node: &Node) -> RetryPolicy {
        let mut p = RetryPolicy::default();
        if let Y::Bool(false) = node.value {
            p.attempts = 1;
            return p;
        }
        let Some(entries) = self.map(node, "`retry`") else {
            return p;
        };
        self.check_keys(entries, RETRY_KEYS, "`retry`");
        for (k, v) in entries {
            match k.text.as_str() {
                "attempts" => {
                    if let Some(n) = self.integer(v, "`retry.attempts`") {
                        if (1..=20).contains(&n) {
                            p.attempts = n as u32;
                        } else {
                            self.err(
                                Code::InvalidValue,
                                v.pos,
                                format!("`attempts: {n}` is outside 1-20"),
                                "attempts counts every try, the first included",
                            );
                        }
                    }
                }
                "interval" => {
                    p.interval = self.duration(v, "`retry.interval`").unwrap_or(p.interval)
                }
                "max_delay" => {
                    p.max_delay = self.duration(v, "`retry.max_delay`").unwrap_or(p.max_delay)
                }
                "backoff_rate" => {
                    if let Some(n) = self.number(v, "`retry.backoff_rate`") {
                        if (1.0..=10.0).contains(&n) {
                            p.backoff_rate = n;
                        } else {
                            self.err(
                                Code::InvalidValue,
                                v.pos,
                                format!("`backoff_rate: {n}` is outside 1.0-10.0"),
                                "Step Functions accepts 1.0 to 10.0 (2.0 doubles each delay)",
                            );
                        }
                    }
                }
                "jitter" => match self.text(v, "`retry.jitter`").as_deref() {
                    Some("full") => p.jitter = Jitter::Full,
                    Some("none") => p.jitter = Jitter::None,
                    Some(other) => self.err(
                        Code::InvalidValue,
                        v.pos,
                        format!("`jitter: {other}` is not known"),
                        "use `full` or `none`",
                    ),
                    None => {}
                },
                "errors" => {
                    let mut classes = BTreeSet::new();
                    for e in self.text_list(v, "`retry.errors`") {
                        match ErrorClass::parse(&e.value) {
                            Some(cs) => classes.extend(cs.iter().copied()),
                            None => self.err(
                                Code::InvalidValue,
                                e.pos,
                                format!("unknown error class `{}`", e.value),
                                format!("retry can name: {}", ErrorClass::NAMES),
                            ),
                        }
                    }
                    p.errors = classes.into_iter().collect();
                }
                _ => {}
            }
        }
        p
    }
}
