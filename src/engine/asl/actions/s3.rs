//! S3 actions still compiled by hand (not yet in the step vocabulary).

use serde_json::{Value, json};

use super::super::Val;
use super::super::act::Act;
use super::Outputs;

/// `s3.deny_principal`.
pub(super) fn deny_principal(a: &mut Act, outputs: &mut Outputs, succeeded: &str) -> String {
    let bucket = a.bucket_params();
    let sid = if a.given.iter().any(|g| g == "statement_id") {
        a.p("statement_id")
    } else {
        String::new()
    };
    let sid_val = if sid.is_empty() {
        json!({"Sid": crate::domain::catalog::names::DENY_PRINCIPAL_SID})
    } else {
        json!({"Sid.$": sid})
    };
    // The statement the local action writes, with the principal's partition.
    let mut deny = sid_val;
    deny["Effect"] = json!("Deny");
    deny["Principal"] = json!({"AWS.$": a.p("principal_arn")});
    deny["Action"] = json!("s3:*");
    let part = format!(
        "States.ArrayGetItem(States.StringSplit({}, ':'), 1)",
        a.p("principal_arn")
    );
    deny["Resource.$"] = json!(format!(
        "States.Array(States.Format('arn:{{}}:s3:::{{}}', {part}, {b}), States.Format('arn:{{}}:s3:::{{}}/*', {part}, {b}))",
        b = a.p("bucket")
    ));
    let doc = a.s("doc");
    let statements = a.s("statements");

    // Verification: the deny is there and no earlier statement was lost.
    let lost = a.fail(
        "statements lost",
        crate::domain::catalog::VERIFY_FAILED,
        json!(format!(
            "States.Format('the policy of bucket {{}} does not read back with the deny and every earlier statement', {})",
            a.p("bucket")
        )),
    );
    let check = a.choice(
        "all there?",
        json!([{"And": [
            {"Variable": a.s("kept.deny"), "BooleanEquals": true},
            {"Variable": a.s("kept.lost"), "BooleanEquals": false},
        ], "Next": succeeded}]),
        &lost,
    );
    let kept_flags = a.pass(
        "kept?",
        json!({"Parameters": {
            "deny.$": format!("States.ArrayContains($.steps.{}.after.Statement, $.steps.{}.deny)", a.id, a.id),
            "lost.$": format!("States.ArrayContains($.steps.{}.each_kept, false)", a.id),
        }, "ResultPath": a.s("kept")}),
        &check,
    );
    let each_kept = {
        let name = a.n("each earlier statement kept?");
        let test = a.n("kept, one");
        let map = json!({
            "Type": "Map",
            "ItemsPath": format!("{doc}.Statement"),
            "ItemSelector": {
                "kept.$": format!("States.ArrayContains($.steps.{}.after.Statement, $$.Map.Item.Value)", a.id),
            },
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": test,
                "States": {test: {"Type": "Pass", "InputPath": "$.kept", "End": true}},
            },
            "ResultPath": a.s("each_kept"),
            "Catch": [a.catch_all()],
            "Next": kept_flags,
        });
        a.states.insert(name.clone(), map);
        name
    };
    let parse_after = a.pass(
        "parse the policy read back",
        json!({"Parameters": {"d.$": format!("States.StringToJson($.steps.{}.post.Policy)", a.id)}, "ResultPath": a.s("after_doc")}),
        &each_kept,
    );
    let statements_after = a.pass(
        "statements read back",
        json!({"InputPath": a.s("after_doc.d.Statement"), "ResultPath": a.s("after.Statement")}),
        &each_kept,
    );
    if let Some(Value::Object(st)) = a.states.get_mut(&parse_after) {
        st.insert("Next".into(), json!(statements_after));
    }
    let read_back = a.task(
        "read back",
        "s3",
        "getBucketPolicy",
        bucket.clone(),
        Some("post"),
        Some(json!({"Policy.$": "$.Policy"})),
        vec![],
        &parse_after,
    );
    let mut put = bucket.clone();
    put["Policy.$"] = json!(format!("States.JsonToString({})", a.s("new_policy")));
    let change = a.task(
        "PutBucketPolicy",
        "s3",
        "putBucketPolicy",
        put,
        None,
        None,
        vec![],
        &read_back,
    );
    let merged = a.pass(
        "the policy with the deny",
        json!({"Parameters": {"p.$": format!("States.JsonMerge({doc}, $.steps.{}.statements, false)", a.id)}, "ResultPath": a.s("merged")}),
        &change,
    );
    let unwrap = a.pass(
        "new policy",
        json!({"InputPath": a.s("merged.p"), "ResultPath": a.s("new_policy")}),
        &change,
    );
    if let Some(Value::Object(st)) = a.states.get_mut(&merged) {
        st.insert("Next".into(), json!(unwrap));
    }
    // Append: a Map over 0..=n yields statement i for i < n and the deny for i = n.
    let append = {
        let name = a.n("append the deny");
        let test = a.n("append, which");
        let new = a.n("append, the deny");
        let old = a.n("append, an earlier statement");
        let map = json!({
            "Type": "Map",
            "ItemsPath": a.s("range.indices"),
            "ItemSelector": {
                "i.$": "$$.Map.Item.Value",
                "n.$": a.s("range.n"),
                "stmts.$": format!("{doc}.Statement"),
                "deny.$": a.s("deny"),
            },
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": test,
                "States": {
                    test.clone(): {
                        "Type": "Choice",
                        "Choices": [{"Variable": "$.i", "NumericEqualsPath": "$.n", "Next": new}],
                        "Default": old,
                    },
                    new.clone(): {"Type": "Pass", "InputPath": "$.deny", "End": true},
                    old.clone(): {
                        "Type": "Pass",
                        "Parameters": {"s.$": "States.ArrayGetItem($.stmts, $.i)"},
                        "OutputPath": "$.s",
                        "End": true,
                    },
                },
            },
            "ResultSelector": {"Statement.$": "$"},
            "ResultPath": statements,
            "Catch": [a.catch_all()],
            "Next": merged,
        });
        a.states.insert(name.clone(), map);
        name
    };
    let range = a.pass(
        "indices",
        json!({"Parameters": {
            "n.$": format!("States.ArrayLength({doc}.Statement)"),
            "indices.$": format!("States.ArrayRange(0, States.ArrayLength({doc}.Statement), 1)"),
        }, "ResultPath": a.s("range")}),
        &append,
    );
    // A statement of that Sid for another principal: the local engine adds the
    // principal to it; here the step fails rather than write a duplicate Sid.
    let taken = a.fail(
        "statement id taken",
        "SidInUse",
        json!(format!(
            "States.Format('the policy of bucket {{}} already has a statement {{}} for another principal; the Step Functions engine does not merge principals (the local engine does)', {}, $.steps.{}.deny.Sid)",
            a.p("bucket"),
            a.id
        )),
    );
    let sid_check = a.choice(
        "Sid free?",
        json!([{"Variable": a.s("present.sid"), "BooleanEquals": true, "Next": taken}]),
        &range,
    );
    let sid_in_use = a.pass(
        "Sid in use?",
        json!({"Parameters": {
            "sid.$": format!("States.ArrayContains($.steps.{}.sids, $.steps.{}.deny.Sid)", a.id, a.id),
        }, "ResultPath": a.s("present")}),
        &sid_check,
    );
    // Every statement's Sid ("" for none; a JSONPath wildcard over statements without
    // one would match nothing, which is a run-time error).
    let sids = {
        let name = a.n("Sids");
        let test = a.n("Sids, has one?");
        let some = a.n("Sids, this one");
        let none = a.n("Sids, none");
        let map = json!({
            "Type": "Map",
            "ItemsPath": format!("{doc}.Statement"),
            "ItemSelector": {"s.$": "$$.Map.Item.Value"},
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": test,
                "States": {
                    test.clone(): {
                        "Type": "Choice",
                        "Choices": [{"Variable": "$.s.Sid", "IsPresent": true, "Next": some}],
                        "Default": none,
                    },
                    some.clone(): {"Type": "Pass", "InputPath": "$.s.Sid", "End": true},
                    none.clone(): {"Type": "Pass", "Result": "", "End": true},
                },
            },
            "ResultPath": a.s("sids"),
            "Catch": [a.catch_all()],
            "Next": sid_in_use,
        });
        a.states.insert(name.clone(), map);
        name
    };
    let decide = a.choice(
        "already denied?",
        json!([{"Variable": a.s("present.deny"), "BooleanEquals": true, "Next": succeeded}]),
        &sids,
    );
    let present = a.pass(
        "is the deny there?",
        json!({"Parameters": {
            "deny.$": format!("States.ArrayContains({doc}.Statement, $.steps.{}.deny)", a.id),
        }, "ResultPath": a.s("present")}),
        &decide,
    );
    let parse = a.pass(
        "parse the policy",
        json!({"Parameters": {"d.$": format!("States.StringToJson($.steps.{}.pre.Policy)", a.id)}, "ResultPath": a.s("parsed")}),
        &present,
    );
    let take = a.pass(
        "the document",
        json!({"InputPath": a.s("parsed.d"), "ResultPath": doc.clone()}),
        &present,
    );
    if let Some(Value::Object(st)) = a.states.get_mut(&parse) {
        st.insert("Next".into(), json!(take));
    }
    let empty = a.pass(
        "no policy yet",
        json!({"Result": {"Version": "2012-10-17", "Statement": []}, "ResultPath": doc.clone()}),
        &present,
    );
    let has = a.choice(
        "has a policy?",
        json!([{"Variable": a.s("pre.exists"), "BooleanEquals": true, "Next": parse}]),
        &empty,
    );
    let get = a.task_or_absent(
        "GetBucketPolicy",
        "s3",
        "getBucketPolicy",
        bucket,
        "pre",
        Some(json!({"exists": true, "Policy.$": "$.Policy"})),
        "bucket policy does not exist",
        json!({"exists": false}),
        &has,
    );
    let statement = a.pass(
        "the deny statement",
        json!({"Parameters": deny, "ResultPath": a.s("deny")}),
        &get,
    );
    outputs.insert("statement_id", Val::Path(a.s("deny.Sid")));
    statement
}
