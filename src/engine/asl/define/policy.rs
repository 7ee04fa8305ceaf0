//! Policy documents compiled (a bucket's policy, which S3 gives as JSON text): the document
//! parsed, its `Statement` made a list; a statement built from its members; and the states that
//! tell whether a document has a statement ([`Cond::HasStatement`]), whether one keeps every
//! statement of another ([`Cond::Keeps`]), and that append a statement ([`Arg::WithStatement`]).
//!
//! [`Cond::HasStatement`]: crate::domain::define::Cond::HasStatement
//! [`Cond::Keeps`]: crate::domain::define::Cond::Keeps
//! [`Arg::WithStatement`]: crate::domain::define::Arg::WithStatement

use serde_json::json;

use super::args;
use crate::domain::define::Arg;
use crate::engine::asl::act::Act;

fn key(what: &str, x: &str) -> String {
    format!("{what}_{}", x.replace('.', "_"))
}

/// Where [`has`] leaves its answer (`.has`) for the value `x`.
pub(super) fn has_key(x: &str) -> String {
    key("has", x)
}

/// Where [`keeps`] leaves its answer (`.lost`) for the values `x` and `y`.
pub(super) fn keeps_key(x: &str, y: &str) -> String {
    format!("{}_{}", key("keeps", x), y.replace('.', "_"))
}

/// Where [`document`] puts the document the value `x` holds.
fn doc_path(a: &Act, x: &str) -> String {
    format!("{}.d", a.s(&key("doc", x)))
}

/// The states that put the document the value `x` holds as JSON text at [`doc_path`] (a new
/// document without statements when `x` is null), its `Statement` a list (one statement is
/// made a list of one), ending at `next`; the first state.
fn document(a: &mut Act, what: &str, x: &str, next: &str) -> String {
    let at = a.s(&key("doc", x));
    let doc = doc_path(a, x);
    let one = a.s(&key("doc_one", x));
    let var = a.s(&format!("v.{x}"));
    let merged = a.pass(
        &format!("{what}: {x}, as a list"),
        json!({"Parameters": {"d.$": format!("States.JsonMerge({doc}, {one}, false)")}, "ResultPath": at}),
        next,
    );
    let wrap = a.pass(
        &format!("{what}: {x}, its one statement"),
        json!({"Parameters": {"Statement.$": format!("States.Array({doc}.Statement)")}, "ResultPath": one}),
        &merged,
    );
    // Every statement has an `Effect`; a list has no members.
    let single = a.choice(
        &format!("{what}: {x}, one statement?"),
        json!([{"Variable": format!("{doc}.Statement.Effect"), "IsPresent": true, "Next": wrap}]),
        next,
    );
    let parse = a.pass(
        &format!("{what}: {x}, parsed"),
        json!({"Parameters": {"d.$": format!("States.StringToJson({var})")}, "ResultPath": at}),
        &single,
    );
    let none = a.pass(
        &format!("{what}: {x}, none yet"),
        json!({"Result": {"d": {"Version": "2012-10-17", "Statement": []}}, "ResultPath": at}),
        next,
    );
    a.choice(
        &format!("{what}: {x}, a document?"),
        json!([{"Variable": var, "IsNull": true, "Next": none}]),
        &parse,
    )
}

/// The Pass that builds a statement from its members at `at`, ending at `next`.
fn statement(a: &mut Act, what: &str, members: &[(&str, Arg)], at: &str, next: &str) -> String {
    let built = args(a, members, &a.s("params"));
    a.pass(
        &format!("{what}: the statement"),
        json!({"Parameters": built, "ResultPath": at}),
        next,
    )
}

/// The states that tell whether the document `x` holds has the statement (exactly): `.has` at
/// [`has_key`]; the first, ending at `next`.
pub(super) fn has(a: &mut Act, what: &str, x: &str, members: &[(&str, Arg)], next: &str) -> String {
    let at = a.s(&has_key(x));
    let wanted = format!("{at}_statement");
    let what = format!("{what}: {x} has it");
    let doc = doc_path(a, x);
    let tell = a.pass(
        &format!("{what}: contains"),
        json!({"Parameters": {"has.$": format!("States.ArrayContains({doc}.Statement, {wanted})")}, "ResultPath": at}),
        next,
    );
    let built = statement(a, &what, members, &wanted, &tell);
    document(a, &what, x, &built)
}

/// The states that tell whether every statement of the document `x` holds is in the one `y`
/// holds: `.lost` at [`keeps_key`]; the first, ending at `next`.
pub(super) fn keeps(a: &mut Act, what: &str, x: &str, y: &str, next: &str) -> String {
    let at = a.s(&keeps_key(x, y));
    let list = format!("{at}_each");
    let what = format!("{what}: {x} kept in {y}");
    let lost = a.pass(
        &format!("{what}: any lost"),
        json!({"Parameters": {"lost.$": format!("States.ArrayContains({list}, false)")}, "ResultPath": at}),
        next,
    );
    let (doc_x, doc_y) = (doc_path(a, x), doc_path(a, y));
    let each = a.map_member(
        &format!("{what}: each"),
        &format!("{doc_x}.Statement"),
        json!({"kept.$": format!("States.ArrayContains({doc_y}.Statement, $$.Map.Item.Value)")}),
        "kept",
        &list,
        &lost,
    );
    let of_y = document(a, &format!("{what}, after"), y, &each);
    document(a, &format!("{what}, before"), x, &of_y)
}

/// The states that put the document `x` holds, with the statement appended, at `target`
/// (an object), ending at `next`; the first.
pub(super) fn appended(
    a: &mut Act,
    what: &str,
    x: &str,
    members: &[(&str, Arg)],
    target: &str,
    next: &str,
) -> String {
    let at = format!("{target}_work");
    let doc = doc_path(a, x);
    let unwrap = a.pass(
        &format!("{what}: the new document"),
        json!({"InputPath": format!("{at}.merged.d"), "ResultPath": target}),
        next,
    );
    let merged = a.pass(
        &format!("{what}: merged"),
        json!({"Parameters": {"d.$": format!("States.JsonMerge({doc}, {at}.list, false)")}, "ResultPath": format!("{at}.merged")}),
        &unwrap,
    );
    let wrap = a.pass(
        &format!("{what}: as Statement"),
        json!({"Parameters": {"Statement.$": format!("{at}.items")}, "ResultPath": format!("{at}.list")}),
        &merged,
    );
    let append = with_item(
        a,
        what,
        &format!("{doc}.Statement"),
        members,
        &format!("{at}.items"),
        &wrap,
    );
    document(a, what, x, &append)
}

/// The states that put the list at `list` with one item (built from its members) appended at
/// `target`, ending at `next`; the first. The list is rebuilt by a Map over `0..=n`: the item
/// at `i < n`, the new one at `n` (ASL has no intrinsic that appends).
pub(super) fn with_item(
    a: &mut Act,
    what: &str,
    list: &str,
    members: &[(&str, Arg)],
    target: &str,
    next: &str,
) -> String {
    let at = format!("{target}_work");
    let wanted = format!("{at}.item");
    let (test, new, old) = (
        a.n(&format!("{what}: which")),
        a.n(&format!("{what}: the new one")),
        a.n(&format!("{what}: an earlier one")),
    );
    let states = json!({
        test.clone(): {
            "Type": "Choice",
            "Choices": [{"Variable": "$.i", "NumericEqualsPath": "$.n", "Next": new}],
            "Default": old,
        },
        new.clone(): {"Type": "Pass", "InputPath": "$.new", "End": true},
        old.clone(): {
            "Type": "Pass",
            "Parameters": {"s.$": "States.ArrayGetItem($.items, $.i)"},
            "OutputPath": "$.s",
            "End": true,
        },
    });
    let append = a.map(
        &format!("{what}: append"),
        &format!("{at}.range.indices"),
        json!({
            "i.$": "$$.Map.Item.Value",
            "n.$": format!("{at}.range.n"),
            "items.$": list,
            "new.$": wanted,
        }),
        &test,
        states,
        target,
        None,
        next,
    );
    let range = a.pass(
        &format!("{what}: indices"),
        json!({"Parameters": {
            "n.$": format!("States.ArrayLength({list})"),
            "indices.$": format!("States.ArrayRange(0, States.ArrayLength({list}), 1)"),
        }, "ResultPath": format!("{at}.range")}),
        &append,
    );
    statement(a, what, members, &wanted, &range)
}
