//! YAML playbooks → [`Playbook`]s, with every problem reported as a [`Diagnostic`].
//! `load` checks one file on its own (keys, types, actions, parameters, expressions, the step
//! graph); `check_set` checks playbooks against each other (names, ambiguous matches).

mod fields;
mod load;
mod set;

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::domain::catalog::{Action, Type};
use crate::domain::expr::{Expr, Template};
use crate::domain::retry::RetryPolicy;
use crate::domain::yaml::Pos;

pub use fields::finding_field_known;
pub use load::{LoadError, LoadedSet, load, load_dir, load_valid, parse_match};
pub use set::check_set;

/// A playbook that passed validation.
#[derive(Debug, Clone)]
pub struct Playbook {
    pub name: String,
    pub description: String,
    /// What a person checks and does next for the findings it handles (Markdown), for the
    /// incident's ticket.
    pub runbook: Option<String>,
    /// The file it was read from, as given.
    pub file: String,
    /// The YAML text as read (evidence records it with its SHA-256).
    pub source: String,
    pub priority: i64,
    pub matcher: Match,
    pub no_containment: Vec<NoContainment>,
    pub inputs: Vec<Input>,
    pub steps: Vec<Step>,
    pub pos: Pos,
}

/// Which findings a playbook is for.
#[derive(Debug, Clone)]
pub struct Match {
    pub pos: Pos,
    /// Finding-type patterns: `*` any run of characters, `?` one character.
    pub types: Vec<Located<String>>,
    /// `resource.resourceType` values; empty means any.
    pub resource_types: Vec<String>,
    pub severity_min: f64,
    pub severity_max: f64,
    pub accounts: Filter,
    pub regions: Filter,
    /// Resources carrying this tag are exempt from the playbook.
    pub exempt_tag: Option<TagMatch>,
}

/// An include/exclude list; empty `include` means everything not excluded.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Filter {
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

impl Filter {
    /// `Ok(())` when `value` passes, else why not.
    pub fn check(&self, value: &str) -> Result<(), String> {
        if self.exclude.iter().any(|e| e == value) {
            return Err(format!("{value} is excluded"));
        }
        if !self.include.is_empty() && !self.include.iter().any(|i| i == value) {
            return Err(format!("{value} is not in the include list"));
        }
        Ok(())
    }
}

/// `key` or `key=value`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TagMatch {
    pub key: String,
    pub value: Option<String>,
}

impl TagMatch {
    pub fn matches(&self, tags: &[(String, String)]) -> bool {
        tags.iter()
            .any(|(k, v)| *k == self.key && self.value.as_ref().is_none_or(|want| want == v))
    }
}

impl std::fmt::Display for TagMatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.value {
            Some(v) => write!(f, "{}={}", self.key, v),
            None => f.write_str(&self.key),
        }
    }
}

/// Finding types the playbook matches on purpose but does not contain, and why.
#[derive(Debug, Clone, Serialize)]
pub struct NoContainment {
    pub types: Vec<String>,
    /// Only when this also holds (over the finding and inputs): a type whose meaning depends on
    /// the finding, e.g. brute force *against* the instance (`resourceRole: TARGET`).
    #[serde(skip)]
    pub when: Option<Condition>,
    pub reason: String,
}

/// A value with the place it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Located<T> {
    pub value: T,
    pub pos: Pos,
}

/// A named value bound from the finding before any step runs.
#[derive(Debug, Clone)]
pub struct Input {
    pub name: String,
    pub pos: Pos,
    pub ty: Type,
    pub from: Option<Template>,
    pub default: Option<Value>,
    pub required: bool,
    pub description: String,
}

/// What happens to the rest of the run when a step fails for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// Start no further step; steps already running finish.
    Abort,
    /// Skip the steps that depend on this one; independent branches go on.
    Continue,
}

/// One step of a playbook.
#[derive(Debug, Clone)]
pub struct Step {
    pub id: String,
    pub pos: Pos,
    pub action: Action,
    pub with: Vec<Arg>,
    pub needs: Vec<Located<String>>,
    /// Steps this one starts after, whatever became of them (order only: a failed or skipped
    /// one does not skip this one, and its outputs are not this step's to read).
    pub after: Vec<Located<String>>,
    pub when: Option<Condition>,
    pub retry: RetryPolicy,
    pub timeout: Duration,
    pub on_failure: OnFailure,
}

/// A `when` condition with its source text.
#[derive(Debug, Clone)]
pub struct Condition {
    pub text: String,
    pub expr: Expr,
    pub pos: Pos,
}

/// One `with:` parameter.
#[derive(Debug, Clone)]
pub struct Arg {
    pub name: String,
    pub pos: Pos,
    pub value: TValue,
}

/// A parameter value: literal data in which every string may hold `${{ … }}`.
#[derive(Debug, Clone, PartialEq)]
pub enum TValue {
    Literal(Value),
    Template(Template),
    List(Vec<TValue>),
    Map(Vec<(String, TValue)>),
}

impl TValue {
    /// Every template inside, depth first.
    pub fn templates(&self) -> Vec<&Template> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect<'a>(&'a self, out: &mut Vec<&'a Template>) {
        match self {
            TValue::Literal(_) => {}
            TValue::Template(t) => out.push(t),
            TValue::List(items) => items.iter().for_each(|i| i.collect(out)),
            TValue::Map(entries) => entries.iter().for_each(|(_, v)| v.collect(out)),
        }
    }

    /// Evaluates every template in the value.
    pub fn eval(
        &self,
        scope: &dyn crate::domain::expr::Scope,
    ) -> Result<Value, crate::domain::expr::EvalError> {
        Ok(match self {
            TValue::Literal(v) => v.clone(),
            TValue::Template(t) => t.eval(scope)?,
            TValue::List(items) => Value::Array(
                items
                    .iter()
                    .map(|i| i.eval(scope))
                    .collect::<Result<_, _>>()?,
            ),
            TValue::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), v.eval(scope)?)))
                    .collect::<Result<_, crate::domain::expr::EvalError>>()?,
            ),
        })
    }
}

impl Playbook {
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// Why this playbook does not contain this finding, if it says so: the first entry whose
    /// type pattern matches and whose `when` (if any) holds over `scope` (the finding and the
    /// bound inputs). A `when` that cannot be evaluated does not hold: containment goes on.
    pub fn no_containment_for(
        &self,
        type_name: &str,
        scope: &dyn crate::domain::expr::Scope,
    ) -> Option<&NoContainment> {
        self.no_containment.iter().find(|n| {
            n.types
                .iter()
                .any(|p| crate::domain::expr::wildcard_match(p, type_name))
                && n.when.as_ref().is_none_or(|c| {
                    c.expr
                        .eval(scope)
                        .is_ok_and(|v| crate::domain::expr::truthy(&v))
                })
        })
    }
}
