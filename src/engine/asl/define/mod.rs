//! The ASL compilation of the step vocabulary (`crate::domain::define`): a definition becomes a Pass
//! that sets every picked value to its default, a Task per call (with the step's retry and
//! timeout, its "not there" answer caught), Passes that pick values from each answer, a Choice
//! for "nothing to do", the change, the read-back and a Choice for its verdict. Reads that do
//! not wait for one another are the branches of one Parallel.
//!
//! Values live at `$.steps.<id>.v.<phase>.<name>`; each answer at `$.steps.<id>.<phase>_<n>`.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

mod decide;
mod policy;
mod select;

use decide::decision;
use select::{members, where_members, where_states};

use super::Val;
use super::act::{Act, Compiled, error_named};
use crate::domain::define::{self, Arg, Ask, Cond, Def, Engine, From};

pub(crate) fn compile(def: &Def, a: &mut Act, succeeded: &str) -> Compiled {
    let mut outputs: BTreeMap<&'static str, Val> = BTreeMap::new();
    let mut succeeded = succeeded.to_string();
    for (name, from) in def.outputs.iter().rev() {
        let path = if from.contains('|') {
            let (first, path) = first_given(a, name, from, &succeeded);
            succeeded = first;
            path
        } else {
            a.s(&format!("v.{from}"))
        };
        outputs.insert(name, Val::Path(path));
    }
    let succeeded = succeeded.as_str();
    let verdict = match &def.verified_when {
        Some(c) => {
            let cause = format_cause(a, def.unverified);
            let fail = a.fail(
                "not so after the change",
                crate::domain::catalog::VERIFY_FAILED,
                cause,
            );
            decision(a, "verified?", c, succeeded, &fail)
        }
        None => succeeded.to_string(),
    };
    let after = phase(a, "after", def.after, &verdict);
    let change = phase(a, "change", def.change, &after);
    let mut decide = if matches!(def.done_when, Cond::Always) {
        succeeded.to_string()
    } else if matches!(def.done_when, Cond::Never) {
        change.clone()
    } else {
        decision(a, "nothing to do?", &def.done_when, succeeded, &change)
    };
    for (i, r) in def.refuse.iter().enumerate().rev() {
        let cause = format_cause(a, r.message);
        let refused = a.fail(&format!("refused {}", i + 1), r.code, cause);
        decide = decision(a, &format!("refuse {}?", i + 1), &r.when, &refused, &decide);
    }
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
    let reads = def.reads();
    let body = if reads.contains(&define::NOW) || reads.contains(&define::FINDING_ID) {
        // The step's time, once, for every state of it, and the finding's id.
        let mut step = Map::new();
        if reads.contains(&define::NOW) {
            step.insert("now.$".into(), json!("$$.State.EnteredTime"));
        }
        if reads.contains(&define::FINDING_ID) {
            step.insert("finding_id.$".into(), json!("$.ctx.finding.id"));
        }
        defaults.insert("step".into(), Value::Object(step));
        json!({"Parameters": defaults, "ResultPath": a.s("v")})
    } else {
        json!({"Result": defaults, "ResultPath": a.s("v")})
    };
    let first = a.pass("defaults", body, &before);
    Compiled { first, outputs }
}

/// An output that is the first of its values (`after.x|before.x|step.now`) that is not null:
/// the states that pick it, ending at `next`, and where they put it.
fn first_given(a: &mut Act, name: &str, from: &str, next: &str) -> (String, String) {
    let target = a.s(&format!("v.out.{name}"));
    let values: Vec<&str> = from.split('|').collect();
    let set = |a: &mut Act, v: &str| {
        a.pass(
            &format!("output {name}: {v}"),
            json!({"InputPath": a.s(&format!("v.{v}")), "ResultPath": target}),
            next,
        )
    };
    let last = values.last().copied().unwrap_or_default();
    let mut first = set(a, last);
    for v in values.iter().rev().skip(1) {
        let this = set(a, v);
        first = a.choice(
            &format!("output {name}: {v}?"),
            json!([{"Not": {"Variable": a.s(&format!("v.{v}")), "IsNull": true}, "Next": this}]),
            &first,
        );
    }
    (first, target)
}

/// The asks of one phase in order, ending at `next`; the first state. Reads that do not wait
/// for one another (no `when`, not made per item) are the branches of one Parallel, so their
/// latency is one round trip, as on the local engine, which sends them at once.
fn phase(a: &mut Act, name: &str, asks: &[Ask], next: &str) -> String {
    // This engine's asks, with their index in the phase (the other engine's keep their picks'
    // defaults: no states).
    let made: Vec<(usize, &Ask)> = asks
        .iter()
        .enumerate()
        .filter(|(_, ask)| ask.only.is_none_or(|e| e == Engine::Sfn))
        .collect();
    let mut next = next.to_string();
    let mut end = made.len();
    while end > 0 {
        let alone = |ask: &Ask| {
            name == "change"
                || ask.when.is_some()
                || ask.each.is_some()
                || ask.until.is_some()
                || ask.fails.is_some()
        };
        let mut start = end - 1;
        if !alone(made[start].1) {
            while start > 0 && !alone(made[start - 1].1) {
                start -= 1;
            }
        }
        let group = &made[start..end];
        if group.len() > 1
            && let Some(first) = parallel(a, name, asks, group, &next)
        {
            next = first;
        } else {
            for &(i, ask) in group.iter().rev() {
                next = sequential(a, name, i, ask, &next);
            }
        }
        end = start;
    }
    next
}

/// One ask as states of its own, ending at `next`: its Task (after a Choice, for an ask with a
/// `when`) and the Passes that pick its values.
fn sequential(a: &mut Act, name: &str, i: usize, ask: &Ask, next: &str) -> String {
    let what = format!("{name} {} {}", ask.call.op.name(), i + 1);
    // After the call (and its waiting): the step fails when the ask's failure holds.
    let next = match &ask.fails {
        Some(r) => {
            let cause = format_cause(a, r.message);
            let failed = a.fail(&format!("{what}: failed"), r.code, cause);
            decision(a, &format!("{what}: failed?"), &r.when, &failed, next)
        }
        None => next.to_string(),
    };
    let first = match &ask.until {
        // Again after a wait until its condition holds (unless the parameter says not to wait).
        Some(u) => {
            let wait = a.n(&format!("{what}: wait"));
            let check = decision(a, &format!("{what}: done?"), &u.holds, &next, &wait);
            let check = a.choice(
                &format!("{what}: wait at all?"),
                json!([{"Variable": a.p(u.unless), "BooleanEquals": false, "Next": next}]),
                &check,
            );
            let first = one(a, name, i, ask, &check);
            a.states
                .insert(wait, json!({"Type": "Wait", "Seconds": 5, "Next": first}));
            first
        }
        None => one(a, name, i, ask, &next),
    };
    let next = next.as_str();
    // A call made only when its condition holds (its picks keep their defaults).
    match &ask.when {
        Some(w) => {
            let what = format!("{name} {} {}: when?", ask.call.op.name(), i + 1);
            decision(a, &what, w, &first, next)
        }
        None => first,
    }
}

/// Reads made at once: a Parallel whose branches are the asks' states, each ending with the
/// values it picked, which then replace their defaults among the phase's values. `None` when an ask's states
/// cannot be a branch (one of them leaves it other than by failing, which the Parallel
/// catches): those are then made one after the other.
fn parallel(
    a: &mut Act,
    phase: &str,
    all: &[Ask],
    group: &[(usize, &Ask)],
    next: &str,
) -> Option<String> {
    let mut branches = Vec::new();
    for &(i, ask) in group {
        let label = format!("{phase} {} {}: picked", ask.call.op.name(), i + 1);
        let end = a.n(&label);
        let outer = std::mem::take(&mut *a.states);
        let start = one(a, phase, i, ask, &end);
        let picked: Map<String, Value> = ask
            .picks
            .iter()
            .map(|p| {
                (
                    format!("{}.$", p.name),
                    json!(a.s(&format!("v.{phase}.{}", p.name))),
                )
            })
            .collect();
        a.states.insert(
            end,
            json!({"Type": "Pass", "Parameters": picked, "End": true}),
        );
        let mut states = std::mem::replace(&mut *a.states, outer);
        if !within(&mut states) {
            return None;
        }
        branches.push(json!({"StartAt": start, "States": states}));
    }
    // The phase's values: each branch's own picks from its output, the rest as they were.
    // (One intrinsic per field: nothing nested, which Step Functions bounds.)
    let first = group.first().map_or(0, |(i, _)| *i);
    let tmp = a.s(&format!("{phase}_at_once_{first}"));
    let mut values = Map::new();
    for p in all.iter().flat_map(|k| k.picks) {
        values.insert(
            format!("{}.$", p.name),
            json!(a.s(&format!("v.{phase}.{}", p.name))),
        );
    }
    for (k, (_, ask)) in group.iter().enumerate() {
        for p in ask.picks {
            values.insert(
                format!("{}.$", p.name),
                json!(format!("{tmp}.b{k}.{}", p.name)),
            );
        }
    }
    let merge = a.pass(
        &format!("{phase} reads {}: values", first + 1),
        json!({"Parameters": values, "ResultPath": a.s(&format!("v.{phase}"))}),
        next,
    );
    let selector: Map<String, Value> = (0..branches.len())
        .map(|k| {
            (
                format!("b{k}.$"),
                json!(format!("States.ArrayGetItem($, {k})")),
            )
        })
        .collect();
    let name = a.n(&format!("{phase} reads {} at once", first + 1));
    a.states.insert(
        name.clone(),
        json!({
            "Type": "Parallel",
            "Branches": branches,
            "ResultSelector": selector,
            "ResultPath": tmp,
            "Catch": [a.catch_all()],
            "Next": merge,
        }),
    );
    Some(name)
}

/// Whether a branch's states stay within it once the catchers that leave it (the step's
/// catch-all, which the Parallel has) are dropped.
fn within(states: &mut Map<String, Value>) -> bool {
    let names: Vec<String> = states.keys().cloned().collect();
    let inside = |v: &Value| v.as_str().is_some_and(|n| names.iter().any(|k| k == n));
    let mut ok = true;
    for state in states.values_mut() {
        if let Some(Value::Array(catches)) = state.get_mut("Catch") {
            catches.retain(|c| inside(&c["Next"]));
            if catches.is_empty() {
                state.as_object_mut().map(|o| o.remove("Catch"));
            }
        }
        let mut targets: Vec<&Value> = ["Next", "Default"]
            .iter()
            .filter_map(|k| state.get(*k))
            .collect();
        if let Some(Value::Array(choices)) = state.get("Choices") {
            targets.extend(choices.iter().filter_map(|c| c.get("Next")));
        }
        ok &= targets.into_iter().all(inside);
    }
    ok
}

fn one(a: &mut Act, phase: &str, i: usize, ask: &Ask, next: &str) -> String {
    let op = ask.call.op;
    let label = if i == 0 {
        format!("{phase} {}", op.name())
    } else {
        format!("{phase} {} {}", op.name(), i + 1)
    };
    let raw = format!("{phase}_{i}");
    if let Some(list) = ask.each {
        return each(a, phase, &label, &raw, list, ask, next);
    }
    // What the Task keeps of the answer: the lists first values are taken from, and the whole
    // answer only when members are read from it (the emulator cannot write an answer holding
    // a timestamp, such as a login profile's `CreateDate`, into the state: a selection keeps
    // those out).
    let has_at = ask.picks.iter().any(|p| matches!(p.from, From::At(_)));
    let mut sel = Map::new();
    for p in ask.picks {
        match p.from {
            From::First(path) => {
                let (list, _) = split_first(path);
                sel.insert(format!("first_{}.$", p.name), json!(format!("$.{list}")));
            }
            From::Member(path) | From::Each(path) | From::Distinct(path) => {
                sel.insert(format!("{}.$", p.name), json!(format!("$.{path}")));
            }
            // Each member as a list of its own (the items may hold timestamps).
            From::Where(w) => where_members(a, p.name, w, &mut sel),
            // The document, parsed; its members are selected from it after the Task.
            From::WhereIn(text, _) => {
                sel.insert(
                    format!("{}_doc.$", p.name),
                    json!(format!("States.StringToJson($.{text})")),
                );
            }
            // Evidence only (the history's record of the answer): kept out of the state; an
            // item is only of a call per item (the definitions test).
            From::At(_)
            | From::Present
            | From::Decoded(_)
            | From::Policy(_)
            | From::RevokedBefore(_)
            | From::Item => {}
        }
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
            From::Member(_) | From::Each(_) => a.pass(
                &what,
                json!({"InputPath": a.s(&format!("{raw}.{}", p.name)), "ResultPath": target}),
                &after_task,
            ),
            From::Where(w) => {
                let tmp = a.s(&format!("{raw}_{k}"));
                where_states(a, &what, &raw, &tmp, p.name, w, &target, &after_task)
            }
            From::WhereIn(_, w) => {
                // The selected members' lists, from the parsed document, where a `Where`
                // over the answer finds them.
                let tmp = a.s(&format!("{raw}_{k}"));
                let members = format!("{raw}_{k}_in");
                let select =
                    where_states(a, &what, &members, &tmp, p.name, w, &target, &after_task);
                let mut lists = Map::new();
                where_members(a, p.name, w, &mut lists);
                let doc = format!("{}.{}_doc", a.s(&raw), p.name);
                let lists = a.pass(
                    &format!("{what}: members"),
                    json!({"InputPath": doc, "Parameters": lists, "ResultPath": a.s(&members)}),
                    &select,
                );
                // No policy ("not there") leaves the default.
                a.choice(
                    &format!("{what}: a document?"),
                    json!([{"Variable": doc, "IsPresent": true, "Next": lists}]),
                    &after_task,
                )
            }
            From::Distinct(_) => {
                let tmp = a.s(&format!("{raw}_{k}"));
                let set = a.pass(
                    &what,
                    json!({"InputPath": format!("{tmp}.v"), "ResultPath": target}),
                    &after_task,
                );
                a.pass(
                    &format!("{label}: distinct {}", p.name),
                    json!({"Parameters": {"v.$": format!("States.ArrayUnique({}.{})", a.s(&raw), p.name)}, "ResultPath": tmp}),
                    &set,
                )
            }
            // Its default stays: the value is the evidence's, from the history (an item is
            // only of a call per item).
            // No intrinsic decodes an IAM policy document: the default stays.
            From::Decoded(_) | From::Item | From::Policy(_) | From::RevokedBefore(_) => after_task,
            From::Present => a.pass(
                &what,
                json!({"Result": true, "ResultPath": target}),
                &after_task,
            ),
            From::At(path) => {
                let src = format!("{base}{}", members(path));
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
            json!({"ErrorEquals": absent_errors(svc, absent.codes), "ResultPath": null, "Next": next}),
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
    let params = args(a, ask.call.args, &a.s("params"));
    let keep = !ask.picks.is_empty() || !mutates;
    // A change kept for nothing: the Task marks the step changed.
    let selector = if keep { selector } else { None };
    let task = a.task(
        &label,
        op.service(),
        &op.sfn_name(),
        Value::Object(params),
        keep.then_some(raw.as_str()),
        selector,
        catches,
        &after_task,
    );
    a.states[&task]["Resource"] = json!(op.sfn_resource());
    json_states(a, &label, ask.call.args, &task)
}

/// Where an [`Arg::Json`] object is built before its Task.
fn json_key(member: &str) -> String {
    format!("json_{member}")
}

/// The Passes that build a call's [`Arg::Json`] objects (the emulator's `States.Format`
/// cannot write a literal brace) and [`Arg::WithStatement`] documents, ending at `next` (the
/// Task); the first state.
fn json_states(a: &mut Act, label: &str, members: &[(&str, Arg)], next: &str) -> String {
    let mut first = next.to_string();
    for (key, arg) in members.iter().rev() {
        match arg {
            Arg::Json(inner) => {
                let object = args(a, inner, &a.s("params"));
                first = a.pass(
                    &format!("{label}: {key}"),
                    json!({"Parameters": object, "ResultPath": a.s(&json_key(key))}),
                    &first,
                );
            }
            Arg::WithStatement(doc, statement) => {
                let target = a.s(&json_key(key));
                first = policy::appended(
                    a,
                    &format!("{label}: {key}"),
                    doc,
                    statement,
                    &target,
                    &first,
                );
            }
            Arg::WithItem(list, item) => {
                let target = a.s(&json_key(key));
                let list = a.s(&format!("v.{list}"));
                let what = format!("{label}: {key}");
                first = policy::with_item(a, &what, &list, item, &target, &first);
            }
            // A list with an item appended may stand inside a member (`Tagging.TagSet`).
            Arg::Obj(inner) => first = json_states(a, label, inner, &first),
            _ => {}
        }
    }
    first
}

/// An ask made once per item of a picked list: a Map (one item at a time for a change) whose
/// iteration is the call and the selection of its picks, which are then gathered into lists.
/// With a paired list, an iteration whose paired value is empty makes no call and gives
/// nothing (`{}`), so the gathered lists hold only the items a call was made for.
fn each(
    a: &mut Act,
    phase: &str,
    label: &str,
    raw: &str,
    list: &str,
    ask: &Ask,
    next: &str,
) -> String {
    let items = a.s(&format!("v.{list}"));
    let paired = ask.paired.map(|p| a.s(&format!("v.{p}")));
    // Only some items make a call: their answers are counted, not the items.
    let some = paired.is_some() || ask.except_in.is_some();
    // The iteration's states are built with the iteration's input as the step's data.
    let outer = std::mem::take(&mut *a.states);
    let root = std::mem::replace(&mut a.root, "$".to_string());
    let start = iteration(a, label, ask);
    a.root = root;
    let mut states = std::mem::replace(&mut *a.states, outer);
    // A failure inside fails the iteration, and the Map catches it; nothing else leaves it
    // (`iteration` makes no state that goes to the step's own).
    let inside = within(&mut states);
    debug_assert!(inside, "{label}: an iteration's state leaves it");
    let mutates = phase == "change";
    let mut after = next.to_string();
    if mutates {
        let changed = a.pass(
            &format!("{label}: changed"),
            json!({"Result": {"v": true}, "ResultPath": a.s("changed")}),
            &after,
        );
        let tmp = a.s(&format!("{raw}_n"));
        let any = a.choice(
            &format!("{label}: any?"),
            json!([{"Variable": format!("{tmp}.n"), "NumericGreaterThan": 0, "Next": changed}]),
            &after,
        );
        after = if some {
            // The calls made: the iterations that answered.
            let count = a.pass(
                &format!("{label}: count"),
                json!({"Parameters": {"n.$": format!("States.ArrayLength({tmp}.l)")}, "ResultPath": tmp}),
                &any,
            );
            a.pass(
                &format!("{label}: made"),
                json!({"Parameters": {"l.$": format!("{}[*].made", a.s(raw))}, "ResultPath": tmp}),
                &count,
            )
        } else {
            a.pass(
                &format!("{label}: count"),
                json!({"Parameters": {"n.$": format!("States.ArrayLength({items})")}, "ResultPath": tmp}),
                &any,
            )
        };
    }
    for (k, p) in ask.picks.iter().enumerate().rev() {
        let tmp = a.s(&format!("{raw}_{k}"));
        let target = a.s(&format!("v.{phase}.{}", p.name));
        let set = a.pass(
            &format!("{label}: {}", p.name),
            json!({"InputPath": format!("{tmp}.l"), "ResultPath": target}),
            &after,
        );
        after = a.pass(
            &format!("{label}: gather {}", p.name),
            json!({"Parameters": {"l.$": format!("{}[*].{}", a.s(raw), p.name)}, "ResultPath": tmp}),
            &set,
        );
    }
    let mut selector = json!({"item.$": "$$.Map.Item.Value", "params.$": a.s("params")});
    if let Some(with) = &paired {
        selector["paired.$"] = json!(format!("States.ArrayGetItem({with}, $$.Map.Item.Index)"));
    }
    if let Some(except) = ask.except_in {
        selector["skip.$"] = json!(format!(
            "States.ArrayContains({}, $$.Map.Item.Value)",
            a.s(&format!("v.{except}"))
        ));
    }
    // The values the call passes on, where the iteration's own paths find them.
    if !define::values_in(ask.call.args).is_empty() {
        selector["v.$"] = json!(a.s("v"));
    }
    let result = a.s(raw);
    let one_at_a_time = (mutates && !ask.at_once).then_some(1);
    a.map(
        label,
        &items,
        selector,
        &start,
        Value::Object(states),
        &result,
        one_at_a_time,
        &after,
    )
}

/// The states of one iteration of an ask made per item (input: `item`, `params`, and with a
/// paired list `paired`), which end with the iteration's picks (and `made`); the first state.
fn iteration(a: &mut Act, label: &str, ask: &Ask) -> String {
    let op = ask.call.op;
    let mut defaults = Map::new();
    for p in ask.picks {
        defaults.insert(p.name.into(), p.default.json());
    }
    // Present and Member picks are selected from the answer at once; the others need the
    // item or states of their own after the Task.
    let direct = ask.paired.is_none()
        && ask.except_in.is_none()
        && ask
            .picks
            .iter()
            .all(|p| matches!(p.from, From::Present | From::Member(_)));
    let mut sel = Map::new();
    let mut picked = Map::new();
    for p in ask.picks {
        match p.from {
            From::Member(path) if direct => {
                sel.insert(format!("{}.$", p.name), json!(format!("$.{path}")));
            }
            From::Member(path) => {
                sel.insert(format!("m_{}.$", p.name), json!(format!("$.{path}")));
                picked.insert(format!("{}.$", p.name), json!(format!("$.r.m_{}", p.name)));
            }
            From::Where(w) => {
                where_members(a, p.name, w, &mut sel);
                picked.insert(format!("{}.$", p.name), json!(format!("$.v_{}", p.name)));
            }
            From::Item => {
                picked.insert(format!("{}.$", p.name), json!("$.item"));
            }
            // The definitions test allows no other pick in a call per item; `true` says the
            // call answered.
            From::Present
            | From::At(_)
            | From::Each(_)
            | From::First(_)
            | From::Distinct(_)
            | From::Decoded(_)
            | From::Policy(_)
            | From::RevokedBefore(_)
            | From::WhereIn(..) => {
                if direct {
                    sel.insert(p.name.into(), json!(true));
                } else {
                    picked.insert(p.name.into(), json!(true));
                }
            }
        }
    }
    if sel.is_empty() {
        sel.insert("answered".into(), json!(true));
    }
    let task = a.n(&format!("{label}: one"));
    let absent = a.n(&format!("{label}: absent"));
    let mut t = a.sdk(
        op.service(),
        &op.sfn_name(),
        Value::Object(args(a, ask.call.args, "$.params")),
    );
    t["Resource"] = json!(op.sfn_resource());
    t["ResultSelector"] = Value::Object(sel);
    if let Some(x) = ask.absent {
        t["Catch"] = json!([{"ErrorEquals": absent_errors(op.service(), x.codes), "Next": absent}]);
        let result = if direct {
            defaults
        } else {
            let mut d = defaults;
            d.insert("made".into(), json!(true));
            d
        };
        a.states.insert(
            absent.clone(),
            json!({"Type": "Pass", "Result": result, "End": true}),
        );
    }
    if direct {
        t["End"] = json!(true);
        a.states.insert(task.clone(), t);
        return task;
    }
    picked.insert("made".into(), json!(true));
    let done = a.n(&format!("{label}: one, picked"));
    a.states.insert(
        done.clone(),
        json!({"Type": "Pass", "Parameters": picked, "End": true}),
    );
    let mut after_task = done;
    for (k, p) in ask.picks.iter().enumerate().rev() {
        if let From::Where(w) = p.from {
            let what = format!("{label}: one, {}", p.name);
            let tmp = a.s(&format!("t_{k}"));
            let target = a.s(&format!("v_{}", p.name));
            after_task = where_states(a, &what, "r", &tmp, p.name, w, &target, &after_task);
        }
    }
    t["ResultPath"] = json!("$.r");
    t["Next"] = json!(after_task);
    a.states.insert(task.clone(), t);
    // Only for an item not in the list of those left out.
    let task = if ask.except_in.is_some() {
        let skip = nothing(a, &format!("{label}: one, left out"));
        a.choice(
            &format!("{label}: one, left out?"),
            json!([{"Variable": "$.skip", "BooleanEquals": true, "Next": skip}]),
            &task,
        )
    } else {
        task
    };
    match &ask.paired {
        // Only for an item whose paired value is not empty.
        Some(_) => {
            let skip = nothing(a, &format!("{label}: one, nothing"));
            let any = a.choice(
                &format!("{label}: one, any?"),
                json!([{"Variable": "$.count.n", "NumericGreaterThan": 0, "Next": task}]),
                &skip,
            );
            a.pass(
                &format!("{label}: one, count"),
                json!({"Parameters": {"n.$": "States.ArrayLength($.paired)"}, "ResultPath": "$.count"}),
                &any,
            )
        }
        None => task,
    }
}

/// An iteration that makes no call and gives nothing (`{}`), so the gathered lists hold only
/// the items a call was made for.
fn nothing(a: &mut Act, what: &str) -> String {
    let name = a.n(what);
    a.states.insert(
        name.clone(),
        json!({"Type": "Pass", "Result": {}, "End": true}),
    );
    name
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

/// A call's parameters as a Task's `Parameters`, the step's parameters at `params` (in a
/// Map iteration, the item at `$.item`).
fn args(a: &Act, members: &[(&str, Arg)], params: &str) -> Map<String, Value> {
    let p = |name: &str| format!("{params}.{name}");
    let mut out = Map::new();
    for (key, arg) in members {
        match arg {
            Arg::Param(name) => {
                out.insert(format!("{key}.$"), json!(p(name)));
            }
            Arg::IfGiven(name) => {
                if a.given.iter().any(|g| g == name) {
                    out.insert(format!("{key}.$"), json!(p(name)));
                }
            }
            Arg::Item => {
                out.insert(format!("{key}.$"), json!("$.item"));
            }
            Arg::Paired => {
                out.insert(format!("{key}.$"), json!("$.paired"));
            }
            Arg::Value(name) => {
                out.insert(format!("{key}.$"), json!(a.s(&format!("v.{name}"))));
            }
            // The compiler binds a key-value parameter as the `[{Key, Value}]` list already.
            Arg::Tags(name) => {
                out.insert(format!("{key}.$"), json!(p(name)));
            }
            Arg::LastPart(name, sep) => {
                let split = format!(
                    "States.StringSplit({}, '{}')",
                    a.s(&format!("v.{name}")),
                    super::intrinsic_text(sep)
                );
                out.insert(
                    format!("{key}.$"),
                    json!(format!(
                        "States.ArrayGetItem({split}, States.MathAdd(States.ArrayLength({split}), -1))"
                    )),
                );
            }
            // Array items cannot be paths in ASL: a list of paths is `States.Array(…)`, a
            // list of objects and constants stays a list (the definitions test keeps the two
            // apart).
            Arg::List(items) => {
                let parts: Vec<Map<String, Value>> = items
                    .iter()
                    .map(|i| args(a, &[("x", *i)], params))
                    .collect();
                let paths: Vec<String> = parts
                    .iter()
                    .filter_map(|m| m.get("x.$").and_then(Value::as_str).map(str::to_string))
                    .collect();
                if !paths.is_empty() {
                    out.insert(
                        format!("{key}.$"),
                        json!(format!("States.Array({})", paths.join(", "))),
                    );
                } else {
                    let list: Vec<Value> =
                        parts.iter().filter_map(|m| m.get("x").cloned()).collect();
                    out.insert((*key).into(), Value::Array(list));
                }
            }
            Arg::Text(t) => {
                out.insert((*key).into(), json!(t));
            }
            Arg::Bool(b) => {
                out.insert((*key).into(), json!(b));
            }
            Arg::Int(i) => {
                out.insert((*key).into(), json!(i));
            }
            Arg::ListOf(name) => {
                out.insert(
                    format!("{key}.$"),
                    json!(format!("States.Array({})", p(name))),
                );
            }
            Arg::Obj(inner) => {
                out.insert((*key).into(), Value::Object(args(a, inner, params)));
            }
            Arg::Format(template, items) => {
                let paths: Vec<String> = items
                    .iter()
                    .filter_map(|i| {
                        args(a, &[("x", *i)], params)
                            .get("x.$")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                    })
                    .collect();
                out.insert(
                    format!("{key}.$"),
                    json!(format!(
                        "States.Format('{}', {})",
                        // The literal parts escaped; the `{}`s are the placeholders.
                        template
                            .split("{}")
                            .map(super::intrinsic_text)
                            .collect::<Vec<_>>()
                            .join("{}"),
                        paths.join(", ")
                    )),
                );
            }
            Arg::ArnPart(name, n) => {
                out.insert(
                    format!("{key}.$"),
                    json!(format!(
                        "States.ArrayGetItem(States.StringSplit({}, ':'), {n})",
                        p(name)
                    )),
                );
            }
            // Built by the states before the Task (`json_states`).
            Arg::WithItem(..) => {
                out.insert(format!("{key}.$"), json!(a.s(&json_key(key))));
            }
            Arg::Json(_) | Arg::WithStatement(..) => {
                out.insert(
                    format!("{key}.$"),
                    json!(format!("States.JsonToString({})", a.s(&json_key(key)))),
                );
            }
        }
    }
    out
}

/// The errors a Catch takes for "not there": each code's names, or, for a best-effort read,
/// any error of the Task (`States.TaskFailed`: all but a timeout, after the Retriers).
fn absent_errors(svc: &str, codes: &[&str]) -> Vec<Value> {
    if codes.contains(&define::ANY_REFUSAL) {
        return vec![json!("States.TaskFailed")];
    }
    codes.iter().flat_map(|c| names(svc, c)).collect()
}

/// The names an error code has in Step Functions (see `error_named`).
fn names(svc: &str, code: &str) -> Vec<Value> {
    error_named(svc, code)
        .as_array()
        .cloned()
        .unwrap_or_default()
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
