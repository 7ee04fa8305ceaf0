//! The toolkit an action's states are built with: where they go ([`Act`]), Task, Pass, Choice,
//! Fail and Map states named for their step, the SDK integration of a call and its error names.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::Val;
use crate::domain::retry::RetryPolicy;

/// Where one action's states go and what surrounds them.
pub(crate) struct Act<'s> {
    pub id: &'s str,
    pub states: &'s mut Map<String, Value>,
    /// The step's retry policy, put on every Task as Retriers.
    pub retry: &'s RetryPolicy,
    /// The step's timeout in whole seconds, put on every Task.
    pub timeout: u64,
    /// The step's failure state.
    pub failed: String,
    /// Parameters the playbook gives (optional ones that are absent are left out of calls).
    pub given: Vec<String>,
    /// Where the step's data is (`$.steps.<id>`); `$` while the states of a Map iteration are
    /// built, whose input holds its own.
    pub root: String,
}

/// What an action compiled to: its first state and where its outputs are.
pub(crate) struct Compiled {
    pub first: String,
    pub outputs: BTreeMap<&'static str, Val>,
}

/// Calls that only read (their names say so): any other call that succeeded changed
/// something. Shared with the history follower (`sfn`).
pub(crate) fn is_read(op: &str) -> bool {
    ["get", "list", "describe"]
        .iter()
        .any(|p| op.starts_with(p))
}

/// The names an error code has in Step Functions: `Iam.NoSuchEntityException` on AWS, and
/// `iam.NoSuchEntityException` on the moto emulator (which names errors by the lower-case
/// service); both are listed so one definition serves both.
pub(crate) fn error_named(svc: &str, code: &str) -> Value {
    // Lambda's codes are already `…Exception` (`ResourceNotFoundException`).
    let name = if code.ends_with("Exception") {
        code.to_string()
    } else {
        format!("{code}Exception")
    };
    json!([
        format!("{}.{name}", service_name(svc)),
        format!("{svc}.{name}")
    ])
}

/// How Step Functions prefixes a service's SDK integration errors (`Iam`, `Ec2`, `S3`, `Sns`,
/// `AutoScaling`, `ElasticLoadBalancingV2`).
pub(crate) fn service_name(svc: &str) -> String {
    match svc {
        "autoscaling" => return "AutoScaling".into(),
        "elasticloadbalancingv2" => return "ElasticLoadBalancingV2".into(),
        "events" => return "EventBridge".into(),
        _ => {}
    }
    let mut upper = svc.to_string();
    if let Some(first) = upper.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    upper
}

impl Act<'_> {
    pub(crate) fn n(&self, what: &str) -> String {
        state_name(&format!("{}: {what}", self.id))
    }

    /// A parameter of the step.
    pub(crate) fn p(&self, param: &str) -> String {
        format!("{}.params.{param}", self.root)
    }

    /// Working data of the step.
    pub(crate) fn s(&self, key: &str) -> String {
        format!("{}.{key}", self.root)
    }

    pub(crate) fn catch_all(&self) -> Value {
        json!({"ErrorEquals": ["States.ALL"], "ResultPath": self.s("error"), "Next": self.failed})
    }

    /// A Task calling `svc:op` through the SDK integration, with the step's retry and timeout.
    pub(crate) fn sdk(&self, svc: &str, op: &str, params: Value) -> Value {
        let mut t = json!({
            "Type": "Task",
            "Resource": format!("arn:aws:states:::aws-sdk:{svc}:{op}"),
            "Parameters": params,
            "TimeoutSeconds": self.timeout,
        });
        let retry = super::retriers(self.retry, &service_name(svc));
        if retry.as_array().is_some_and(|r| !r.is_empty()) {
            t["Retry"] = retry;
        }
        t
    }

    /// Adds a top-level Task: its answer (through `selector`) at `$.steps.<id>.<result>` (or
    /// dropped), `catches` tried before the catch-all, then `next`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn task(
        &mut self,
        what: &str,
        svc: &str,
        op: &str,
        params: Value,
        result: Option<&str>,
        selector: Option<Value>,
        catches: Vec<Value>,
        next: &str,
    ) -> String {
        let name = self.n(what);
        let mut t = self.sdk(svc, op, params);
        t["ResultPath"] = match result {
            Some(r) => json!(self.s(r)),
            // A change that succeeded: the step changed something (its record says so).
            None if !is_read(op) => json!(self.s("changed")),
            None => Value::Null,
        };
        if let Some(sel) = selector {
            t["ResultSelector"] = sel;
        } else if result.is_none() && !is_read(op) {
            t["ResultSelector"] = json!({"v": true});
        }
        let mut all = catches;
        all.push(self.catch_all());
        t["Catch"] = json!(all);
        t["Next"] = json!(next);
        self.states.insert(name.clone(), t);
        name
    }

    pub(crate) fn pass(&mut self, what: &str, mut body: Value, next: &str) -> String {
        let name = self.n(what);
        body["Type"] = json!("Pass");
        body["Next"] = json!(next);
        self.states.insert(name.clone(), body);
        name
    }

    pub(crate) fn choice(&mut self, what: &str, choices: Value, default: &str) -> String {
        let name = self.n(what);
        self.states.insert(
            name.clone(),
            json!({"Type": "Choice", "Choices": choices, "Default": default}),
        );
        name
    }

    /// A failure found by the action itself (not by AWS): sets the error and fails the step.
    pub(crate) fn fail(&mut self, what: &str, error: &str, cause: Value) -> String {
        let failed = self.failed.clone();
        let mut params = json!({"Error": error});
        match cause {
            Value::String(s) if s.starts_with("States.") => params["Cause.$"] = json!(s),
            other => params["Cause"] = other,
        }
        let error_path = self.s("error");
        self.pass(
            what,
            json!({"Parameters": params, "ResultPath": error_path}),
            &failed,
        )
    }

    /// A Map named `what` over the list at `items` whose iteration gives one member of the
    /// item `selector` builds (`$.<member>`): the list of those at `result`, then `next`.
    pub(crate) fn map_member(
        &mut self,
        what: &str,
        items: &str,
        selector: Value,
        member: &str,
        result: &str,
        next: &str,
    ) -> String {
        let one = self.n(&format!("{what}, one"));
        let states =
            json!({one.clone(): {"Type": "Pass", "InputPath": format!("$.{member}"), "End": true}});
        self.map(what, items, selector, &one, states, result, None, next)
    }

    /// An EC2 filter on one value: `{"Name": name, "Values": [value at path]}`.
    pub(crate) fn filter(name: &str, path: &str) -> Value {
        json!({"Name": name, "Values.$": format!("States.Array({path})")})
    }

    /// A Map state over `items` whose iterations run `states` from `start` (inline); its
    /// result at the path `result`; a failed iteration fails the step.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn map(
        &mut self,
        what: &str,
        items: &str,
        selector: Value,
        start: &str,
        states: Value,
        result: &str,
        max_concurrency: Option<u32>,
        next: &str,
    ) -> String {
        let name = self.n(what);
        let mut m = json!({
            "Type": "Map",
            "ItemsPath": items,
            "ItemSelector": selector,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": start, "States": states},
            "ResultPath": result,
            "Catch": [self.catch_all()],
            "Next": next,
        });
        if let Some(c) = max_concurrency {
            m["MaxConcurrency"] = json!(c);
        }
        self.states.insert(name.clone(), m);
        name
    }

    /// A Task inside a Map iteration (no Catch: a failure fails the Map, which catches).
    pub(crate) fn inner(
        &self,
        svc: &str,
        op: &str,
        params: Value,
        result: Option<&str>,
        selector: Option<Value>,
        next: Option<&str>,
    ) -> Value {
        let mut t = self.sdk(svc, op, params);
        t["ResultPath"] = match result {
            Some(r) => json!(r),
            None => Value::Null,
        };
        if let Some(sel) = selector {
            t["ResultSelector"] = sel;
        }
        match next {
            Some(n) => t["Next"] = json!(n),
            None => t["End"] = json!(true),
        }
        t
    }
}

/// The longest state name Step Functions accepts.
pub(crate) const MAX_STATE_NAME: usize = 80;

/// `name` as a state name: itself when short enough, else its first 73 characters and a
/// digest of the whole (so that two long names stay apart). 73 keeps `<id>: skipped` whole for
/// every step id (at most 64 characters), which the Step Functions engine reads a step's end
/// by (`<id>: succeeded` and `<id>: failed` are never this long).
pub(crate) fn state_name(name: &str) -> String {
    if name.chars().count() <= MAX_STATE_NAME {
        return name.to_string();
    }
    let digest = crate::domain::digest::sha256_hex(name.as_bytes());
    let head: String = name.chars().take(MAX_STATE_NAME - 7).collect();
    format!("{head}~{}", &digest[..6])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_state_names_are_shortened_apart() {
        let a = format!("{}: gather", "x".repeat(80));
        let b = format!("{}: count", "x".repeat(80));
        assert_eq!(state_name("short"), "short");
        assert_eq!(state_name(&a).chars().count(), MAX_STATE_NAME);
        assert_ne!(state_name(&a), state_name(&b));
    }
}
