//! The ASL compilation of the step vocabulary (`crate::define`): a definition becomes a Pass
//! that sets every picked value to its default, a Task per call (with the step's retry and
//! timeout, its "not there" answer caught), Passes that pick values from each answer, a Choice
//! for "nothing to do", the change, the read-back and a Choice for its verdict.
//!
//! Values live at `$.steps.<id>.v.<phase>.<name>`; each answer at `$.steps.<id>.<phase>_<n>`.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::Val;
use super::actions::{Act, Compiled, error_named};
use crate::define::{self, Arg, Ask, Cond, Def, From, Lit};

pub(crate) fn compile(def: &Def, a: &mut Act, succeeded: &str) -> Compiled {
    let outputs: BTreeMap<&'static str, Val> = def
        .outputs
        .iter()
        .map(|(name, from)| (*name, Val::Path(a.s(&format!("v.{from}")))))
        .collect();
    let verdict = match &def.verified_when {
        Some(c) => {
            let cause = format_cause(a, def.unverified);
            let fail = a.fail(
                "not so after the change",
                crate::catalog::VERIFY_FAILED,
                cause,
            );
            let mut rule = rule(a, c);
            rule["Next"] = json!(succeeded);
            a.choice("verified?", json!([rule]), &fail)
        }
        None => succeeded.to_string(),
    };
    let after = phase(a, "after", def.after, &verdict);
    let change = phase(a, "change", def.change, &after);
    let mut done = rule(a, &def.done_when);
    done["Next"] = json!(succeeded);
    let decide = a.choice("nothing to do?", json!([done]), &change);
    let before = phase(a, "before", def.before, &decide);
    let mut defaults = Map::new();
    for (name, asks) in def.phases() {
        let picks: Map<String, Value> = asks
            .iter()
            .flat_map(|k| k.picks)
            .map(|p| (p.name.to_string(), p.default.json()))
            .collect();
        defaults.insert(name.into(), Value::Object(picks));
    }
    let first = a.pass(
        "defaults",
        json!({"Result": defaults, "ResultPath": a.s("v")}),
        &before,
    );
    Compiled { first, outputs }
}

/// The asks of one phase in order, ending at `next`; the first state.
fn phase(a: &mut Act, name: &str, asks: &[Ask], next: &str) -> String {
    let mut next = next.to_string();
    for (i, ask) in asks.iter().enumerate().rev() {
        next = one(a, name, i, ask, &next);
    }
    next
}

fn one(a: &mut Act, phase: &str, i: usize, ask: &Ask, next: &str) -> String {
    let op = ask.call.op;
    let label = if i == 0 {
        format!("{phase} {}", op.name())
    } else {
        format!("{phase} {} {}", op.name(), i + 1)
    };
    let raw = format!("{phase}_{i}");
    let firsts: Vec<(&str, &str)> = ask
        .picks
        .iter()
        .filter_map(|p| match p.from {
            From::First(path) => Some((p.name, path)),
            _ => None,
        })
        .collect();
    // What the Task keeps of the answer: the lists first values are taken from, and the whole
    // answer only when members are read from it (the emulator cannot write an answer holding
    // a timestamp, such as a login profile's `CreateDate`, into the state: a selection keeps
    // those out).
    let has_at = ask.picks.iter().any(|p| matches!(p.from, From::At(_)));
    let mut sel = Map::new();
    for (name, path) in &firsts {
        let (list, _) = split_first(path);
        sel.insert(format!("first_{name}.$"), json!(format!("$.{list}")));
    }
    let (selector, base) = match (has_at, sel.is_empty()) {
        (true, true) => (None, a.s(&raw)),
        (true, false) => {
            sel.insert("raw.$".into(), json!("$"));
            (Some(Value::Object(sel)), a.s(&format!("{raw}.raw")))
        }
        (false, true) => (Some(json!({"answered": true})), a.s(&raw)),
        (false, false) => (Some(Value::Object(sel)), a.s(&raw)),
    };
    let mut after_task = next.to_string();
    for (k, p) in ask.picks.iter().enumerate().rev() {
        let target = a.s(&format!("v.{phase}.{}", p.name));
        let what = format!("{label}: {}", p.name);
        after_task = match p.from {
            From::Present => a.pass(
                &what,
                json!({"Result": true, "ResultPath": target}),
                &after_task,
            ),
            From::At(path) => {
                let src = format!("{base}.{path}");
                let set = a.pass(
                    &what,
                    json!({"InputPath": src, "ResultPath": target}),
                    &after_task,
                );
                a.choice(
                    &format!("{label}: {} given?", p.name),
                    json!([{"Variable": src, "IsPresent": true, "Next": set}]),
                    &after_task,
                )
            }
            From::First(_) => {
                let tmp = a.s(&format!("{raw}_{k}"));
                let rest = match p.from {
                    From::First(path) => split_first(path).1,
                    _ => "",
                };
                let src = if rest.is_empty() {
                    format!("{tmp}.v")
                } else {
                    format!("{tmp}.v.{rest}")
                };
                let set = a.pass(
                    &what,
                    json!({"InputPath": src, "ResultPath": target}),
                    &after_task,
                );
                let list = a.s(&format!("{raw}.first_{}", p.name));
                a.pass(
                    &format!("{label}: first {}", p.name),
                    json!({"Parameters": {"v.$": format!("States.ArrayGetItem({list}, 0)")}, "ResultPath": tmp}),
                    &set,
                )
            }
        };
    }
    let mutates = phase == "change";
    if mutates && !ask.picks.is_empty() {
        // The answer is kept for its values; the step has changed something.
        let changed = a.s("changed");
        after_task = a.pass(
            &format!("{label}: changed"),
            json!({"Result": {"v": true}, "ResultPath": changed}),
            &after_task,
        );
    }
    let mut catches = Vec::new();
    if let Some(absent) = ask.absent {
        let svc = op.service();
        catches.push(
            json!({"ErrorEquals": error_named(svc, absent.code), "ResultPath": null, "Next": next}),
        );
        if let Some(cause) = absent.sfn_cause {
            let check = format!("{label}: absent?");
            let other = format!("{label}: error");
            let caught = a.s("caught");
            let error = a.s("error");
            let failed = a.failed.clone();
            let other = a.pass(
                &other,
                json!({
                    "Parameters": {"Error.$": format!("{caught}.Error"), "Cause.$": format!("{caught}.Cause")},
                    "ResultPath": error,
                }),
                &failed,
            );
            let check = a.choice(
                &check,
                json!([{"Variable": format!("{caught}.Cause"), "StringMatches": format!("*{cause}*"), "Next": next}]),
                &other,
            );
            catches.push(
                json!({"ErrorEquals": ["States.TaskFailed"], "ResultPath": caught, "Next": check}),
            );
        }
    }
    let params = args(a, ask.call.args);
    let keep = !ask.picks.is_empty() || !mutates;
    // A change kept for nothing: the Task marks the step changed.
    let selector = if keep { selector } else { None };
    a.task(
        &label,
        op.service(),
        &op.sfn_name(),
        Value::Object(params),
        keep.then_some(raw.as_str()),
        selector,
        catches,
        &after_task,
    )
}

/// A path through lists split after its last `[*]`: the list (as Step Functions gives a
/// wildcard's matches, always a list) and the path within its first item.
fn split_first(path: &str) -> (&str, &str) {
    match path.rfind("[*]") {
        Some(at) => {
            let (list, rest) = path.split_at(at + 3);
            (list, rest.trim_start_matches('.'))
        }
        None => (path, ""),
    }
}

/// A call's parameters as a Task's `Parameters`.
fn args(a: &Act, members: &[(&str, Arg)]) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, arg) in members {
        match arg {
            Arg::Param(p) => {
                out.insert(format!("{key}.$"), json!(a.p(p)));
            }
            Arg::IfGiven(p) => {
                if a.given.iter().any(|g| g == p) {
                    out.insert(format!("{key}.$"), json!(a.p(p)));
                }
            }
            Arg::Text(t) => {
                out.insert((*key).into(), json!(t));
            }
            Arg::Bool(b) => {
                out.insert((*key).into(), json!(b));
            }
            Arg::ListOf(p) => {
                out.insert(
                    format!("{key}.$"),
                    json!(format!("States.Array({})", a.p(p))),
                );
            }
            Arg::Obj(inner) => {
                out.insert((*key).into(), Value::Object(args(a, inner)));
            }
        }
    }
    out
}

/// A condition as a Choice rule (without `Next`).
fn rule(a: &Act, c: &Cond) -> Value {
    match c {
        Cond::Is(name, lit) => {
            let var = a.s(&format!("v.{name}"));
            match lit {
                Lit::Null => json!({"Variable": var, "IsNull": true}),
                Lit::Bool(b) => json!({"Variable": var, "BooleanEquals": b}),
                Lit::Text(t) => json!({"Variable": var, "StringEquals": t}),
            }
        }
        Cond::All(cs) => json!({"And": cs.iter().map(|c| rule(a, c)).collect::<Vec<_>>()}),
        Cond::Any(cs) => json!({"Or": cs.iter().map(|c| rule(a, c)).collect::<Vec<_>>()}),
        Cond::Not(c) => json!({"Not": rule(a, c)}),
    }
}

/// A message with `{param}`s as a `States.Format` cause (plain text when it has none).
fn format_cause(a: &Act, text: &str) -> Value {
    let parts = define::message_parts(text);
    if parts.iter().all(Result::is_ok) {
        return json!(text);
    }
    let mut template = String::new();
    let mut values = Vec::new();
    for p in parts {
        match p {
            Ok(t) => template.push_str(&super::intrinsic_text(t)),
            Err(name) => {
                template.push_str("{}");
                values.push(a.p(name));
            }
        }
    }
    json!(format!(
        "States.Format('{template}', {})",
        values.join(", ")
    ))
}
