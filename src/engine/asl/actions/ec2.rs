//! `ec2.isolate_instance`, still compiled by hand (not yet in the step vocabulary).

use serde_json::{Map, Value, json};

use super::super::Val;
use super::super::act::Act;
use super::Outputs;

/// `ec2.isolate_instance`.
/// The states that put an interface whose second isolation move failed (the error at
/// `$.second`) back in its own groups (`$.g.ids`), starting at `back`, and fail the iteration
/// with that error, its cause saying where the interface is: back in its groups, or, when
/// that too is refused, left in the transition group `$.t.v` with what to do by hand.
fn rollback(a: &Act, st: &mut Map<String, Value>, back: &str) {
    let n = |s: &str| a.n(&format!("isolate, {s}"));
    let (listed, back_said, left_said, named, fail_named, fail_plain) = (
        n("put back, groups"),
        n("put back, said"),
        n("left open, said"),
        n("failed, its error?"),
        n("failed, its error"),
        n("failed"),
    );
    let mut put_back = a.inner(
        "ec2",
        "modifyNetworkInterfaceAttribute",
        json!({"NetworkInterfaceId.$": "$.eni", "Groups.$": "$.g.ids"}),
        None,
        None,
        Some(&listed),
    );
    put_back["Catch"] =
        json!([{"ErrorEquals": ["States.ALL"], "ResultPath": "$.back_error", "Next": left_said}]);
    st.insert(back.to_string(), put_back);
    st.insert(
        listed.clone(),
        json!({"Type": "Pass", "Parameters": {"ids.$": "States.JsonToString($.g.ids)"}, "ResultPath": "$.back_ids", "Next": back_said}),
    );
    st.insert(
        back_said,
        json!({"Type": "Pass", "Parameters": {
            "cause.$": "States.Format('{}; interface {} was put back in its groups {}', $.second.Cause, $.eni, $.back_ids.ids)",
        }, "ResultPath": "$.said", "Next": named}),
    );
    st.insert(
        left_said,
        json!({"Type": "Pass", "Parameters": {
            "cause.$": "States.Format('{}; interface {} was LEFT IN THE TRANSITION GROUP {}, which allows all traffic: move it to {} by hand ({})', $.second.Cause, $.eni, $.t.v, $.i.v, $.back_error.Cause)",
        }, "ResultPath": "$.said", "Next": named}),
    );
    // The move's own error names the failure, unless it is one of Step Functions' own
    // (`States.Timeout`), which a Fail state may not raise.
    st.insert(
        named,
        json!({"Type": "Choice", "Choices": [
            {"Variable": "$.second.Error", "StringMatches": "States.*", "Next": fail_plain},
        ], "Default": fail_named}),
    );
    st.insert(
        fail_named,
        json!({"Type": "Fail", "ErrorPath": "$.second.Error", "CausePath": "$.said.cause"}),
    );
    st.insert(
        fail_plain,
        json!({"Type": "Fail", "Error": "IsolationFailed", "CausePath": "$.said.cause"}),
    );
}

pub(super) fn isolate_instance(a: &mut Act, outputs: &mut Outputs, succeeded: &str) -> String {
    let id = a.p("instance_id");
    let n = |a: &Act, s: &str| a.n(&format!("isolate, {s}"));
    let find = |a: &Act, which: &str, name_path: &str, next: &str| {
        a.inner(
            "ec2",
            "describeSecurityGroups",
            json!({"Filters": [
                {"Name": "vpc-id", "Values.$": "States.Array($.vpc)"},
                {"Name": "group-name", "Values.$": format!("States.Array({name_path})")},
            ]}),
            Some(&format!("$.{which}_found")),
            Some(json!({"Ids.$": "$.SecurityGroups[*].GroupId"})),
            Some(next),
        )
    };
    let create = |a: &Act, which: &str, name_path: &str, description: &str, next: &str| {
        a.inner(
            "ec2",
            "createSecurityGroup",
            json!({
                "GroupName.$": name_path,
                "Description": description,
                "VpcId.$": "$.vpc",
                "TagSpecifications": [{"ResourceType": "security-group", "Tags": [
                    {"Key": "Name", "Value.$": name_path},
                    {"Key": crate::domain::catalog::names::PURPOSE_TAG,
                     "Value": crate::domain::catalog::names::PURPOSE_ISOLATION},
                ]}],
            }),
            Some(&format!("$.{which}")),
            Some(json!({"v.$": "$.GroupId"})),
            Some(next),
        )
    };
    let mut st = Map::new();
    let names: Vec<String> = [
        "transition group",
        "transition count",
        "transition exists?",
        "transition found",
        "CreateSecurityGroup (transition)",
        "allow all in",
        "allow all in, refused",
        "allow all in, already",
        "allow all in, failed",
        "isolation group",
        "isolation count",
        "isolation exists?",
        "isolation found",
        "CreateSecurityGroup (isolation)",
        "isolation rules",
        "isolation rule lists",
        "isolation rule counts",
        "egress?",
        "RevokeSecurityGroupEgress",
        "ingress?",
        "RevokeSecurityGroupIngress",
        "interface groups",
        "interface group count",
        "already isolated?",
        "ModifyNetworkInterfaceAttribute (transition)",
        "ModifyNetworkInterfaceAttribute (isolation)",
        "done",
    ]
    .iter()
    .map(|x| n(a, x))
    .collect();
    let done_unchanged = n(a, "done, already isolated");
    let [
        tg,
        tc,
        te,
        tf,
        tcreate,
        allow,
        refused,
        already,
        allow_failed,
        ig,
        ic,
        ie,
        ifound,
        icreate,
        rules,
        lists,
        counts,
        egress_q,
        revoke_e,
        ingress_q,
        revoke_i,
        groups,
        gcount,
        isolated_q,
        mod_t,
        mod_i,
        done,
    ]: [String; 27] = names.try_into().unwrap_or_else(|_| unreachable!());
    st.insert(tg.clone(), find(a, "t", "$.t_name", &tc));
    st.insert(tc.clone(), json!({"Type": "Pass", "Parameters": {"n.$": "States.ArrayLength($.t_found.Ids)"}, "ResultPath": "$.t_count", "Next": te}));
    st.insert(te.clone(), json!({"Type": "Choice", "Choices": [{"Variable": "$.t_count.n", "NumericGreaterThan": 0, "Next": tf}], "Default": tcreate}));
    st.insert(tf.clone(), json!({"Type": "Pass", "Parameters": {"v.$": "States.ArrayGetItem($.t_found.Ids, 0)"}, "ResultPath": "$.t", "Next": allow}));
    st.insert(
        tcreate.clone(),
        create(
            a,
            "t",
            "$.t_name",
            "firebreak isolation step 1: allow all so tracked flows become untracked",
            &allow,
        ),
    );
    let mut auth = a.inner("ec2", "authorizeSecurityGroupIngress", json!({"GroupId.$": "$.t.v", "IpPermissions": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]}), None, None, Some(&ig));
    auth["Catch"] =
        json!([{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.refused", "Next": refused}]);
    st.insert(allow.clone(), auth);
    st.insert(refused.clone(), json!({"Type": "Choice", "Choices": [{"Variable": "$.refused.Cause", "StringMatches": "*already exists*", "Next": already}], "Default": allow_failed}));
    st.insert(already.clone(), json!({"Type": "Pass", "Next": ig}));
    st.insert(allow_failed.clone(), json!({"Type": "Fail", "Error": "IsolationGroupFailed", "Cause": "allowing all traffic in the transition group was refused"}));
    st.insert(ig.clone(), find(a, "i", "$.i_name", &ic));
    st.insert(ic.clone(), json!({"Type": "Pass", "Parameters": {"n.$": "States.ArrayLength($.i_found.Ids)"}, "ResultPath": "$.i_count", "Next": ie}));
    st.insert(ie.clone(), json!({"Type": "Choice", "Choices": [{"Variable": "$.i_count.n", "NumericGreaterThan": 0, "Next": ifound}], "Default": icreate}));
    st.insert(ifound.clone(), json!({"Type": "Pass", "Parameters": {"v.$": "States.ArrayGetItem($.i_found.Ids, 0)"}, "ResultPath": "$.i", "Next": rules}));
    st.insert(
        icreate.clone(),
        create(
            a,
            "i",
            "$.i_name",
            "firebreak isolation: no inbound and no outbound rules",
            &rules,
        ),
    );
    st.insert(
        rules.clone(),
        a.inner(
            "ec2",
            "describeSecurityGroups",
            json!({"GroupIds.$": "States.Array($.i.v)"}),
            Some("$.i_rules"),
            Some(json!({
                "Egress.$": "$.SecurityGroups[*].IpPermissionsEgress",
                "Ingress.$": "$.SecurityGroups[*].IpPermissions",
            })),
            Some(&lists),
        ),
    );
    st.insert(
        lists.clone(),
        json!({"Type": "Pass", "Parameters": {
        "egress.$": "States.ArrayGetItem($.i_rules.Egress, 0)",
        "ingress.$": "States.ArrayGetItem($.i_rules.Ingress, 0)",
    }, "ResultPath": "$.rules", "Next": counts}),
    );
    st.insert(
        counts.clone(),
        json!({"Type": "Pass", "Parameters": {
        "e.$": "States.ArrayLength($.rules.egress)",
        "i.$": "States.ArrayLength($.rules.ingress)",
    }, "ResultPath": "$.rule_counts", "Next": egress_q}),
    );
    st.insert(egress_q.clone(), json!({"Type": "Choice", "Choices": [{"Variable": "$.rule_counts.e", "NumericGreaterThan": 0, "Next": revoke_e}], "Default": ingress_q}));
    st.insert(
        revoke_e.clone(),
        a.inner(
            "ec2",
            "revokeSecurityGroupEgress",
            json!({"GroupId.$": "$.i.v", "IpPermissions.$": "$.rules.egress"}),
            None,
            None,
            Some(&ingress_q),
        ),
    );
    st.insert(ingress_q.clone(), json!({"Type": "Choice", "Choices": [{"Variable": "$.rule_counts.i", "NumericGreaterThan": 0, "Next": revoke_i}], "Default": groups}));
    st.insert(
        revoke_i.clone(),
        a.inner(
            "ec2",
            "revokeSecurityGroupIngress",
            json!({"GroupId.$": "$.i.v", "IpPermissions.$": "$.rules.ingress"}),
            None,
            None,
            Some(&groups),
        ),
    );
    st.insert(groups.clone(), json!({"Type": "Pass", "Parameters": {"ids.$": "$.groups[*].GroupId"}, "ResultPath": "$.g", "Next": gcount}));
    st.insert(
        gcount.clone(),
        json!({"Type": "Pass", "Parameters": {
        "n.$": "States.ArrayLength($.g.ids)",
        "has.$": "States.ArrayContains($.g.ids, $.i.v)",
    }, "ResultPath": "$.gc", "Next": isolated_q}),
    );
    st.insert(
        isolated_q.clone(),
        json!({"Type": "Choice", "Choices": [{"And": [
        {"Variable": "$.gc.n", "NumericEquals": 1},
        {"Variable": "$.gc.has", "BooleanEquals": true},
    ], "Next": done_unchanged}], "Default": mod_t}),
    );
    st.insert(
        mod_t.clone(),
        a.inner(
            "ec2",
            "modifyNetworkInterfaceAttribute",
            json!({"NetworkInterfaceId.$": "$.eni", "Groups.$": "States.Array($.t.v)"}),
            None,
            None,
            Some(&mod_i),
        ),
    );
    // The second move refused: the interface is in the transition group, which allows all
    // traffic. It is never left there: back to the groups it had (as the local engine does),
    // and the step fails saying where the interface is.
    let back = n(a, "put back");
    let mut second = a.inner(
        "ec2",
        "modifyNetworkInterfaceAttribute",
        json!({"NetworkInterfaceId.$": "$.eni", "Groups.$": "States.Array($.i.v)"}),
        None,
        None,
        Some(&done),
    );
    second["Catch"] =
        json!([{"ErrorEquals": ["States.ALL"], "ResultPath": "$.second", "Next": back}]);
    st.insert(mod_i.clone(), second);
    rollback(a, &mut st, &back);
    st.insert(done.clone(), json!({"Type": "Pass", "Parameters": {"eni.$": "$.eni", "iso.$": "$.i.v", "changed": true}, "End": true}));
    st.insert(done_unchanged.clone(), json!({"Type": "Pass", "Parameters": {"eni.$": "$.eni", "iso.$": "$.i.v", "changed": false}, "End": true}));

    let v = a.s("v");
    let not_isolated = a.fail("not isolated after the change", crate::domain::catalog::VERIFY_FAILED, json!(format!(
        "States.Format('a network interface of instance {{}} does not read back with only the isolation group', {id})"
    )));
    let verdict = a.choice(
        "isolated now?",
        json!([{"Variable": format!("{v}.bad"), "BooleanEquals": true, "Next": not_isolated}]),
        succeeded,
    );
    let flags = a.pass(
        "results",
        json!({"Parameters": {
        "bad.$": format!("States.ArrayContains({}, false)", a.s("verified")),
        "groups.$": format!("States.ArrayUnique({}[*].iso)", a.s("isolated")),
    }, "ResultPath": v}),
        &verdict,
    );
    let verify = {
        let read = n(a, "read back");
        let count = n(a, "read back, count");
        let ok = n(a, "read back, only isolation?");
        let yes = n(a, "read back, yes");
        let no = n(a, "read back, no");
        let states = json!({
            read.clone(): a.inner("ec2", "describeNetworkInterfaces", json!({"NetworkInterfaceIds.$": "States.Array($.eni)"}), Some("$.after"), Some(json!({"Groups.$": "$.NetworkInterfaces[*].Groups[*].GroupId"})), Some(&count)),
            count.clone(): {"Type": "Pass", "Parameters": {"n.$": "States.ArrayLength($.after.Groups)", "has.$": "States.ArrayContains($.after.Groups, $.iso)"}, "ResultPath": "$.c", "Next": ok},
            ok.clone(): {"Type": "Choice", "Choices": [{"And": [
                {"Variable": "$.c.n", "NumericEquals": 1},
                {"Variable": "$.c.has", "BooleanEquals": true},
            ], "Next": yes}], "Default": no},
            yes: {"Type": "Pass", "Result": true, "End": true},
            no: {"Type": "Pass", "Result": false, "End": true},
        });
        let (isolated, verified) = (a.s("isolated"), a.s("verified"));
        a.map(
            "verify each interface",
            &isolated,
            json!({"eni.$": "$$.Map.Item.Value.eni", "iso.$": "$$.Map.Item.Value.iso"}),
            &read,
            states,
            &verified,
            None,
            &flags,
        )
    };
    let changed = a.pass(
        "moved any?",
        json!({"Parameters": {
            "v.$": format!("States.ArrayContains({}[*].changed, true)", a.s("isolated")),
        }, "ResultPath": a.s("changed")}),
        &verify,
    );
    let pre = a.s("pre");
    // One interface at a time: two interfaces in one VPC share (and must not both
    // create) its groups.
    let isolated = a.s("isolated");
    let each = a.map(
        "isolate each interface",
        &format!("{pre}.Ids"),
        json!({
            "eni.$": "$$.Map.Item.Value",
            "vpc.$": format!("States.ArrayGetItem({pre}.Vpcs, $$.Map.Item.Index)"),
            "groups.$": format!("States.ArrayGetItem({pre}.Groups, $$.Map.Item.Index)"),
            "t_name.$": a.p("transition_group"),
            "i_name.$": a.p("isolation_group"),
        }),
        &tg,
        Value::Object(st),
        &isolated,
        Some(1),
        &changed,
    );
    outputs.insert("isolation_group_ids", Val::Path(a.s("v.groups")));
    outputs.insert("network_interface_ids", Val::Path(format!("{pre}.Ids")));
    // An instance without an interface does not exist (or is terminated): isolating
    // nothing is not a success. The local action's DescribeInstances says the same.
    let missing = a.fail(
        "no network interface",
        "InvalidInstanceID.NotFound",
        json!(format!(
            "States.Format('instance {{}} has no network interface: it does not exist or is terminated', {id})"
        )),
    );
    let any = a.choice(
        "any interface?",
        json!([{"Variable": a.s("eni_count.n"), "NumericEquals": 0, "Next": missing}]),
        &each,
    );
    let count = a.pass(
        "count interfaces",
        json!({"Parameters": {"n.$": format!("States.ArrayLength({pre}.Ids)")}, "ResultPath": a.s("eni_count")}),
        &any,
    );
    a.task(
        "DescribeNetworkInterfaces",
        "ec2",
        "describeNetworkInterfaces",
        json!({"Filters": [Act::filter("attachment.instance-id", &id)]}),
        Some("pre"),
        Some(json!({
            "Ids.$": "$.NetworkInterfaces[*].NetworkInterfaceId",
            "Vpcs.$": "$.NetworkInterfaces[*].VpcId",
            "Groups.$": "$.NetworkInterfaces[*].Groups",
        })),
        vec![],
        &count,
    )
}
