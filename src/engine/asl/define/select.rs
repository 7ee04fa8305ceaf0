//! A [`From::Where`] pick compiled: a Map over the selected members' lists.

use serde_json::{Map, Value, json};

use crate::domain::define::{Arg, Cmp};
use crate::engine::asl::act::Act;

/// The states of a [`From::Where`] pick: a Map over the list that keeps `{v}` for each
/// selected item (and `{}` for the rest), the values gathered with `[*].v` (a wildcard, which
/// gives a list, empty or not, on AWS and the emulator alike), then the list or its first
/// value at `target`.
#[allow(clippy::too_many_arguments)]
pub(super) fn where_states(
    a: &mut Act,
    what: &str,
    raw: &str,
    tmp: &str,
    name: &str,
    w: &crate::domain::define::Where,
    target: &str,
    next: &str,
) -> String {
    let base = a.s(raw);
    let list = |m: &str| format!("{base}.w_{name}_{m}");
    // Names inside the Map, the step's like every other state's: state names are unique in
    // the whole machine, and two steps may select alike.
    let test = a.n(&format!("{what}: test"));
    let take = a.n(&format!("{what}: take"));
    let skip = a.n(&format!("{what}: skip"));
    let mut selector = json!({"key.$": "$$.Map.Item.Value"});
    if compares(a, w) {
        match w.wanted() {
            Err(p) => selector["want.$"] = json!(a.p(p)),
            Ok(v) => selector["want"] = v,
        }
    }
    for m in w.take.iter().chain(w.except.iter().map(|(m, _)| m)) {
        let (m, _) = first_member(m);
        selector[format!("m_{m}.$")] = json!(format!(
            "States.ArrayGetItem({}, $$.Map.Item.Index)",
            list(m)
        ));
    }
    let taken = match w.take {
        [one] => match first_member(one) {
            (m, "") => json!({"v.$": format!("$.m_{m}")}),
            (m, rest) => json!({"v.$": format!("$.m_{m}.{rest}")}),
        },
        many => {
            let obj: Map<String, Value> = many
                .iter()
                .map(|m| (format!("{m}.$"), json!(format!("$.m_{m}"))))
                .collect();
            json!({"v": obj})
        }
    };
    let compared = compares(a, w);
    let (on_match, otherwise) = if w.cmp == Cmp::Ne {
        (&skip, &take)
    } else {
        (&take, &skip)
    };
    let compare = match (w.cmp, w.is) {
        (Cmp::Eq | Cmp::Ne | Cmp::All, Arg::Bool(_)) => "BooleanEqualsPath",
        (Cmp::Eq | Cmp::Ne | Cmp::All, Arg::Int(_)) => "NumericEqualsPath",
        (Cmp::Eq | Cmp::Ne | Cmp::All, _) => "StringEqualsPath",
        (Cmp::Later, _) => "TimestampGreaterThanPath",
    };
    // A dotted key is compared inside the object its first member selects.
    let key_var = match first_member(w.key) {
        (_, "") => "$.key".to_string(),
        (_, rest) => format!("$.key.{rest}"),
    };
    // A later-than over a parameter the playbook does not give keeps every item (but those
    // excepted).
    let start = if !compared && w.except.is_empty() {
        take.clone()
    } else {
        test.clone()
    };
    let gathered = format!("{tmp}.l");
    let set = a.pass(
        &format!("{what}: set"),
        json!({"InputPath": if w.first { format!("{tmp}.v") } else { gathered.clone() }, "ResultPath": target}),
        next,
    );
    let after_gather = if w.first {
        let get = a.pass(
            &format!("{what}: first"),
            json!({"Parameters": {"v.$": format!("States.ArrayGetItem({gathered}, 0)")}, "ResultPath": tmp}),
            &set,
        );
        let any = a.choice(
            &format!("{what}: any?"),
            json!([{"Variable": format!("{tmp}.n"), "NumericEquals": 0, "Next": next}]),
            &get,
        );
        a.pass(
            &format!("{what}: count"),
            json!({"Parameters": {"n.$": format!("States.ArrayLength({gathered})"), "l.$": gathered}, "ResultPath": tmp}),
            &any,
        )
    } else {
        set
    };
    let gather = a.pass(
        &format!("{what}: gather"),
        json!({"Parameters": {"l.$": format!("{tmp}[*].v")}, "ResultPath": tmp}),
        &after_gather,
    );
    let mut inner = json!({
        take.clone(): {"Type": "Pass", "Parameters": taken, "End": true},
    });
    if start == test {
        inner[skip.clone()] = json!({"Type": "Pass", "Result": {}, "End": true});
        // An excepted item is left out first; then the comparison decides.
        let mut choices = Vec::new();
        if !w.except.is_empty() {
            let rules: Vec<Value> = w
                .except
                .iter()
                .map(|(m, v)| {
                    let var = match first_member(m) {
                        (m, "") => format!("$.m_{m}"),
                        (m, rest) => format!("$.m_{m}.{rest}"),
                    };
                    json!({"And": [
                        {"Variable": var, "IsPresent": true},
                        {"Variable": var, "StringEquals": v},
                    ]})
                })
                .collect();
            choices.push(json!({"Or": rules, "Next": skip}));
        }
        let default = if compared {
            choices.push(json!({"Variable": key_var, compare: "$.want", "Next": on_match}));
            otherwise
        } else {
            &take
        };
        inner[test.clone()] = json!({
            "Type": "Choice",
            "Choices": choices,
            "Default": default,
        });
    }
    // Without a comparison the key's list is not selected (a timestamp's, on the emulator, is
    // an object it cannot write).
    let items = list(first_member(if compared { w.key } else { w.take[0] }).0);
    a.map(what, &items, selector, &start, inner, tmp, None, &gather)
}

/// A member path's first member and the rest (`IamInstanceProfile.Arn` → `IamInstanceProfile`,
/// `Arn`).
fn first_member(m: &str) -> (&str, &str) {
    m.split_once('.').unwrap_or((m, ""))
}

/// What a Task selects of its answer for a where-selection: each member it looks at (the
/// key when compared, the excepted ones, the taken one) as a list of its own, `w_<pick>_<m>`.
pub(super) fn where_members(
    a: &Act,
    pick: &str,
    w: &crate::domain::define::Where,
    sel: &mut Map<String, Value>,
) {
    let key = compares(a, w).then_some(&w.key);
    let except = w.except.iter().map(|(m, _)| m);
    for m in key.into_iter().chain(except).chain(w.take) {
        // A dotted member is selected by its first part: the emulator gives a path two
        // members below a wildcard as a bare value when one item matches.
        let (m, _) = first_member(m);
        sel.insert(
            format!("w_{pick}_{m}.$"),
            json!(format!("$.{}[*].{m}", w.list)),
        );
    }
}

/// Whether a selection compares its key: not a later-than over a parameter the playbook does
/// not give, which keeps every item.
fn compares(a: &Act, w: &crate::domain::define::Where) -> bool {
    match (w.cmp, w.is) {
        (Cmp::All, _) => false,
        (Cmp::Later, Arg::IfGiven(p)) => a.given.iter().any(|g| g == p),
        _ => true,
    }
}

/// A dotted member path as JSONPath after a base path: `.Name` for a plain member, `['key']`
/// for one with other characters (a tag key such as `firebreak:quarantine` in a map of tags).
pub(super) fn members(path: &str) -> String {
    path.split('.')
        .map(|m| {
            if !m.is_empty() && m.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                format!(".{m}")
            } else {
                format!("['{m}']")
            }
        })
        .collect()
}
