//! Elastic Load Balancing actions still compiled by hand (not yet in the step vocabulary).

use serde_json::{Value, json};

use super::super::act::Act;
use super::Outputs;

/// `elbv2.deregister_instance`.
pub(super) fn deregister_instance(a: &mut Act, _outputs: &mut Outputs, succeeded: &str) -> String {
    let id = a.p("instance_id");
    // Per target group: its targets; per target that is this instance and still in
    // service: deregister it with its port (verify: none left).
    let per_target = |a: &Act, label: &str, on_match: Value, on_other: Value| -> Value {
        let test = a.n(&format!("{label}, this instance?"));
        let hit = a.n(&format!("{label}, yes"));
        let miss = a.n(&format!("{label}, no"));
        let mut states = json!({
            test.clone(): {"Type": "Choice", "Choices": [{"And": [
                {"Variable": "$.id", "StringEqualsPath": "$.want"},
                {"Not": {"Variable": "$.state", "StringEquals": "draining"}},
                {"Not": {"Variable": "$.state", "StringEquals": "unused"}},
            ], "Next": hit}], "Default": miss},
        });
        states[hit.clone()] = on_match;
        states[miss] = on_other;
        json!({
            "Type": "Map",
            "ItemsPath": "$.health.Targets",
            "ItemSelector": {
                "id.$": "$$.Map.Item.Value.Target.Id",
                "port.$": "$$.Map.Item.Value.Target.Port",
                "state.$": "$$.Map.Item.Value.TargetHealth.State",
                "want.$": "$.want",
                "arn.$": "$.arn",
            },
            "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": test, "States": states},
            "ResultPath": "$.per_target",
        })
    };
    let group_states = |a: &Act, label: &str, per: Value, last: Value| -> (String, Value) {
        let health = a.n(&format!("{label}, DescribeTargetHealth"));
        let each = a.n(&format!("{label}, each target"));
        let end = a.n(&format!("{label}, result"));
        let mut per = per;
        per["Next"] = json!(end);
        let mut last = last;
        last["End"] = json!(true);
        (
            health.clone(),
            json!({
                health: a.inner("elasticloadbalancingv2", "describeTargetHealth", json!({"TargetGroupArn.$": "$.arn"}), Some("$.health"), Some(json!({"Targets.$": "$.TargetHealthDescriptions"})), Some(&each)),
                each: per,
                end: last,
            }),
        )
    };
    let still = a.fail(
        "still registered",
        crate::domain::catalog::VERIFY_FAILED,
        json!(format!(
            "States.Format('instance {{}} is still registered in a target group', {id})"
        )),
    );
    let verdict = a.choice(
        "none left?",
        json!([{"Variable": a.s("left.any"), "BooleanEquals": true, "Next": still}]),
        succeeded,
    );
    let left = a.pass("left", json!({"Parameters": {"any.$": format!("States.ArrayContains({}, true)", a.s("registered"))}, "ResultPath": a.s("left")}), &verdict);
    let check_per = per_target(
        a,
        "check",
        json!({"Type": "Pass", "Result": true, "End": true}),
        json!({"Type": "Pass", "Result": false, "End": true}),
    );
    let (check_start, check_states) = group_states(
        a,
        "check",
        check_per,
        json!({"Type": "Pass", "Parameters": {"r.$": "States.ArrayContains($.per_target, true)"}, "OutputPath": "$.r"}),
    );
    let selector = json!({"arn.$": "$$.Map.Item.Value", "want.$": id});
    let verify = a.map(
        "still registered?",
        &a.s("pre.Arns"),
        selector.clone(),
        &check_start,
        check_states,
        "registered",
        None,
        &left,
    );
    let dereg_per = per_target(
        a,
        "deregister",
        // Each target deregistered yields {v: true}, each other {v: false}; per group,
        // whether any was; over all groups, whether the step changed anything.
        a.inner(
            "elasticloadbalancingv2",
            "deregisterTargets",
            json!({
                "TargetGroupArn.$": "$.arn",
                "Targets": [{"Id.$": "$.id", "Port.$": "$.port"}],
            }),
            Some("$"),
            Some(json!({"v": true})),
            None,
        ),
        json!({"Type": "Pass", "Result": {"v": false}, "End": true}),
    );
    let (dereg_start, dereg_states) = group_states(
        a,
        "deregister",
        dereg_per,
        json!({"Type": "Pass", "Parameters": {"r.$": "States.ArrayContains($.per_target[*].v, true)"}, "OutputPath": "$.r"}),
    );
    let changed = a.pass(
        "deregistered any?",
        json!({"Parameters": {
            "v.$": format!("States.ArrayContains({}, true)", a.s("deregistered")),
        }, "ResultPath": a.s("changed")}),
        &verify,
    );
    let dereg = a.map(
        "deregister from each group",
        &a.s("pre.Arns"),
        selector,
        &dereg_start,
        dereg_states,
        "deregistered",
        None,
        &changed,
    );
    a.task(
        "DescribeTargetGroups",
        "elasticloadbalancingv2",
        "describeTargetGroups",
        json!({}),
        Some("pre"),
        Some(json!({"Arns.$": "$.TargetGroups[*].TargetGroupArn"})),
        vec![],
        &dereg,
    )
}
