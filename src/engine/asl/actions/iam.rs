//! `iam.revoke_role_sessions`, still compiled by hand (not in the step vocabulary).

use serde_json::json;

use super::super::Val;
use super::super::act::{Act, error_named};
use super::Outputs;

/// `iam.revoke_role_sessions`.
pub(super) fn revoke_role_sessions(a: &mut Act, outputs: &mut Outputs, succeeded: &str) -> String {
    let get = json!({"RoleName.$": a.p("role_name"), "PolicyName.$": a.p("policy_name")});
    let doc = json!({"exists": true, "PolicyDocument.$": "$.PolicyDocument"});
    // The same document as the local action, with the time this state was entered,
    // built as JSON (not as text: the emulator's States.Format mishandles `\{`).
    let policy = format!("States.JsonToString({})", a.s("now.doc"));
    let issued = a.pass(
        "issued before",
        json!({"InputPath": a.s("now.time"), "ResultPath": a.s("issued_before")}),
        succeeded,
    );
    let read_back = a.task(
        "GetRolePolicy after",
        "iam",
        "getRolePolicy",
        get.clone(),
        Some("post"),
        Some(doc.clone()),
        vec![],
        &issued,
    );
    let change = a.task(
        "PutRolePolicy",
        "iam",
        "putRolePolicy",
        json!({
            "RoleName.$": a.p("role_name"),
            "PolicyName.$": a.p("policy_name"),
            "PolicyDocument.$": policy,
        }),
        None,
        None,
        vec![],
        &read_back,
    );
    let now = a.pass(
        "now",
        json!({"Parameters": {
            "time.$": "$$.State.EnteredTime",
            "doc": {
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": crate::domain::catalog::names::REVOKE_SID,
                    "Effect": "Deny",
                    "Action": "*",
                    "Resource": "*",
                    "Condition": {"DateLessThan": {"aws:TokenIssueTime.$": "$$.State.EnteredTime"}},
                }],
            },
        }, "ResultPath": a.s("now")}),
        &change,
    );
    // The local action keeps a revocation in place when it denies everything and is
    // later than the last activity. IAM returns the stored document URL-encoded, which
    // no intrinsic decodes, so the state machine cannot read that time to compare it:
    // it always moves the revocation to now (never keeping one that is too old).
    let none = a.pass(
        "no revocation yet",
        json!({"Result": {"exists": false}, "ResultPath": a.s("pre")}),
        &now,
    );
    outputs.insert("issued_before", Val::Path(a.s("issued_before")));
    a.task(
        "GetRolePolicy",
        "iam",
        "getRolePolicy",
        get,
        Some("pre"),
        Some(doc),
        vec![json!({"ErrorEquals": error_named("iam", "NoSuchEntity"), "ResultPath": null, "Next": none})],
        &now,
    )
}
