//! Conditions compiled: Choice rules, and the Passes and Maps that prepare what a rule cannot
//! compute itself (lists' lengths, values as JSON text).

use serde_json::{Value, json};

use crate::domain::define::{Arg, Cond, Lit};
use crate::engine::asl::act::Act;

/// A Choice going to `yes` when `c` holds and to `no` otherwise, after the Passes that
/// prepare its comparisons of two values (each as JSON text: Choice rules compare no lists).
pub(super) fn decision(a: &mut Act, what: &str, c: &Cond, yes: &str, no: &str) -> String {
    let mut r = rule(a, c);
    r["Next"] = json!(yes);
    let mut first = a.choice(what, json!([r]), no);
    let mut includes = Vec::new();
    includes_of(c, &mut includes);
    for (x, p, param) in includes.into_iter().rev() {
        // Every item of `p` (a parameter, or a picked list) in the picked list `x`.
        let key = a.s(&includes_key(x, p));
        let items = if param {
            a.p(p)
        } else {
            a.s(&format!("v.{p}"))
        };
        let missing = a.pass(
            &format!("{what}: any of {p} missing from {x}"),
            json!({"Parameters": {"missing.$": format!("States.ArrayContains({key}, false)")}, "ResultPath": key}),
            &first,
        );
        let selector = json!({
            "has.$": format!("States.ArrayContains({}, $$.Map.Item.Value)", a.s(&format!("v.{x}"))),
        });
        first = a.map_member(
            &format!("{what}: {p} in {x}?"),
            &items,
            selector,
            "has",
            &key,
            &missing,
        );
    }
    let mut empties = Vec::new();
    prepared(c, &mut Vec::new(), &mut empties);
    for (x, nested) in empties.into_iter().rev() {
        let key = a.s(&empty_key(x));
        first = if nested {
            // Whether any list inside holds something: a Map telling each one, then whether
            // any said so. (Not a `[*][*]` wildcard: with every list empty it matches nothing,
            // which the emulator takes for a missing path.)
            let some = a.pass(
                &format!("{what}: any in {x}"),
                json!({"Parameters": {"some.$": format!("States.ArrayContains({key}, true)")}, "ResultPath": key}),
                &first,
            );
            let (test, yes, no) = (
                a.n(&format!("{what}: {x}, one: empty?")),
                a.n(&format!("{what}: {x}, one: something")),
                a.n(&format!("{what}: {x}, one: nothing")),
            );
            let states = json!({
                test.clone(): {"Type": "Choice", "Choices": [
                    {"Variable": "$.n", "NumericEquals": 0, "Next": no},
                ], "Default": yes},
                yes.clone(): {"Type": "Pass", "Result": true, "End": true},
                no.clone(): {"Type": "Pass", "Result": false, "End": true},
            });
            let items = a.s(&format!("v.{x}"));
            a.map(
                &format!("{what}: each of {x}"),
                &items,
                json!({"n.$": "States.ArrayLength($$.Map.Item.Value)"}),
                &test,
                states,
                &key,
                None,
                &some,
            )
        } else {
            a.pass(
                &format!("{what}: count {x}"),
                json!({"Parameters": {
                    "n.$": format!("States.ArrayLength({})", a.s(&format!("v.{x}"))),
                }, "ResultPath": key}),
                &first,
            )
        };
    }
    let mut documents = Vec::new();
    documents_of(c, &mut documents);
    for d in documents.into_iter().rev() {
        first = match d {
            Cond::HasStatement(x, statement) => super::policy::has(a, what, x, statement, &first),
            Cond::Keeps(x, y) => super::policy::keeps(a, what, x, y, &first),
            _ => first,
        };
    }
    let mut pairs = Vec::new();
    prepared(c, &mut pairs, &mut Vec::new());
    for (x, y) in pairs.into_iter().rev() {
        let key = same_key(x, y);
        first = a.pass(
            &format!("{what}: compare {x} and {y}"),
            json!({"Parameters": {
                "a.$": format!("States.JsonToString({})", a.s(&format!("v.{x}"))),
                "b.$": format!("States.JsonToString({})", a.s(&format!("v.{y}"))),
            }, "ResultPath": a.s(&key)}),
            &first,
        );
    }
    first
}

/// The comparisons of two values and the lists a condition counts (with whether it counts
/// the items of the lists inside), which a Choice cannot make itself.
fn prepared(
    c: &Cond,
    pairs: &mut Vec<(&'static str, &'static str)>,
    empties: &mut Vec<(&'static str, bool)>,
) {
    match c {
        Cond::Same(x, y) => pairs.push((x, y)),
        Cond::Empty(x) | Cond::Is(x, Lit::EmptyList) => empties.push((x, false)),
        Cond::NoneIn(x) => empties.push((x, true)),
        Cond::All(cs) | Cond::Any(cs) => cs.iter().for_each(|c| prepared(c, pairs, empties)),
        Cond::Not(c) => prepared(c, pairs, empties),
        // A `Local` check is not made here.
        Cond::Always
        | Cond::Never
        | Cond::Is(..)
        | Cond::Includes(..)
        | Cond::Starts(..)
        | Cond::Within(..)
        | Cond::NotBefore(..)
        | Cond::HasStatement(..)
        | Cond::Keeps(..)
        | Cond::PolicyText(_)
        | Cond::Local(_) => {}
    }
}

/// The conditions over policy documents, which states before the Choice answer.
fn documents_of<'c>(c: &'c Cond, out: &mut Vec<&'c Cond>) {
    match c {
        Cond::HasStatement(..) | Cond::Keeps(..) => out.push(c),
        Cond::All(cs) | Cond::Any(cs) => cs.iter().for_each(|c| documents_of(c, out)),
        Cond::Not(c) => documents_of(c, out),
        _ => {}
    }
}

/// The `Includes` and `Within` of a condition: (picked list, the list whose every item must be
/// in it, whether that list is a parameter).
fn includes_of(c: &Cond, out: &mut Vec<(&'static str, &'static str, bool)>) {
    match c {
        Cond::Includes(x, p) => out.push((x, p, true)),
        Cond::Within(items, x) => out.push((x, items, false)),
        Cond::All(cs) | Cond::Any(cs) => cs.iter().for_each(|c| includes_of(c, out)),
        Cond::Not(c) => includes_of(c, out),
        _ => {}
    }
}

fn includes_key(x: &str, p: &str) -> String {
    format!("includes_{}_{}", x.replace('.', "_"), p.replace('.', "_"))
}

fn empty_key(x: &str) -> String {
    format!("count_{}", x.replace('.', "_"))
}

fn same_key(x: &str, y: &str) -> String {
    format!("same_{}_{}", x.replace('.', "_"), y.replace('.', "_"))
}

/// A condition as a Choice rule (without `Next`).
fn rule(a: &Act, c: &Cond) -> Value {
    match c {
        // Not a rule: `compile` leaves the decision out.
        Cond::Always => json!({"Variable": "$", "IsPresent": true}),
        Cond::Never => json!({"Not": {"Variable": "$", "IsPresent": true}}),
        Cond::Is(name, lit) => {
            let var = a.s(&format!("v.{name}"));
            match lit {
                Lit::Null => json!({"Variable": var, "IsNull": true}),
                Lit::Bool(b) => json!({"Variable": var, "BooleanEquals": b}),
                // A value that may be null (no reserved concurrency) is a number first.
                Lit::Int(i) => json!({"And": [
                    {"Variable": var, "IsNumeric": true},
                    {"Variable": var, "NumericEquals": i},
                ]}),
                Lit::Text(t) => json!({"Variable": var, "StringEquals": t}),
                Lit::EmptyList => {
                    json!({"Variable": format!("{}.n", a.s(&empty_key(name))), "NumericEquals": 0})
                }
            }
        }
        Cond::Same(x, y) => {
            let key = a.s(&same_key(x, y));
            json!({"Variable": format!("{key}.a"), "StringEqualsPath": format!("{key}.b")})
        }
        Cond::Empty(x) => {
            json!({"Variable": format!("{}.n", a.s(&empty_key(x))), "NumericEquals": 0})
        }
        Cond::NoneIn(x) => {
            json!({"Variable": format!("{}.some", a.s(&empty_key(x))), "BooleanEquals": false})
        }
        Cond::Includes(x, p) | Cond::Within(p, x) => {
            json!({"Variable": format!("{}.missing", a.s(&includes_key(x, p))), "BooleanEquals": false})
        }
        Cond::Starts(text, prefixes) => {
            let var = match text {
                Arg::Value(n) => a.s(&format!("v.{n}")),
                Arg::Param(p) | Arg::IfGiven(p) => a.p(p),
                // The definitions test keeps a condition to these.
                _ => a.p(""),
            };
            let each: Vec<Value> = prefixes
                .iter()
                .map(|x| json!({"Variable": var, "StringMatches": format!("{}*", matched(x))}))
                .collect();
            json!({"And": [{"Variable": var, "IsString": true}, {"Or": each}]})
        }
        Cond::NotBefore(x, than) => {
            let var = a.s(&format!("v.{x}"));
            let than = match than {
                Arg::Value(n) => Some(a.s(&format!("v.{n}"))),
                Arg::IfGiven(p) | Arg::Param(p) => a.given.iter().any(|g| g == p).then(|| a.p(p)),
                _ => None,
            };
            match than {
                Some(than) => json!({"And": [
                    {"Variable": var, "IsTimestamp": true},
                    {"Variable": than, "IsTimestamp": true},
                    {"Variable": var, "TimestampGreaterThanEqualsPath": than},
                ]}),
                // A parameter the playbook does not give: never.
                None => rule(a, &Cond::Never),
            }
        }
        Cond::HasStatement(x, _) => {
            json!({"Variable": format!("{}.has", a.s(&super::policy::has_key(x))), "BooleanEquals": true})
        }
        Cond::Keeps(x, y) => {
            json!({"Variable": format!("{}.lost", a.s(&super::policy::keeps_key(x, y))), "BooleanEquals": false})
        }
        // What only the local engine can check holds here; a text that is not JSON fails
        // the execution where it is parsed.
        Cond::Local(_) | Cond::PolicyText(_) => rule(a, &Cond::Always),
        Cond::All(cs) => json!({"And": cs.iter().map(|c| rule(a, c)).collect::<Vec<_>>()}),
        Cond::Any(cs) => json!({"Or": cs.iter().map(|c| rule(a, c)).collect::<Vec<_>>()}),
        Cond::Not(c) => json!({"Not": rule(a, c)}),
    }
}

/// A text as itself in a `StringMatches` pattern (`*` and `\` escaped).
fn matched(text: &str) -> String {
    text.replace('\\', "\\\\").replace('*', "\\*")
}
