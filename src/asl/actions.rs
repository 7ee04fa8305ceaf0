//! Each catalog action as Step Functions states: the same reads, changes and read-backs as
//! `crate::actions`, made through SDK service integrations (no Lambda).
//!
//! An action's states read their parameters from `$.steps.<id>.params` and keep the raw
//! answers they need under `$.steps.<id>` (`pre` before the change, `post` after). They end at
//! the step's `succeeded` state, or at its `failed` state with `$.steps.<id>.error` holding
//! `Error` and `Cause` (every Task catches `States.ALL`; a verification that fails sets its own
//! error). Inside a Parallel or Map branch a Catch cannot leave the branch, so there the branch
//! fails and the enclosing state catches.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::Val;
use crate::catalog::Action;
use crate::retry::RetryPolicy;

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
    json!([
        format!("{}.{code}Exception", service_name(svc)),
        format!("{svc}.{code}Exception")
    ])
}

/// How Step Functions prefixes a service's SDK integration errors (`Iam`, `Ec2`, `S3`, `Sns`,
/// `AutoScaling`, `ElasticLoadBalancingV2`).
fn service_name(svc: &str) -> String {
    match svc {
        "autoscaling" => return "AutoScaling".into(),
        "elasticloadbalancingv2" => return "ElasticLoadBalancingV2".into(),
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
        format!("{}: {what}", self.id)
    }

    /// A parameter of the step.
    pub(crate) fn p(&self, param: &str) -> String {
        format!("$.steps.{}.params.{param}", self.id)
    }

    /// Working data of the step.
    pub(crate) fn s(&self, key: &str) -> String {
        format!("$.steps.{}.{key}", self.id)
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

    /// One branch of a Parallel: a single Task, ending the branch.
    fn branch(&self, svc: &str, op: &str, params: Value, selector: Value) -> Value {
        let name = self.n(op);
        let mut t = self.sdk(svc, op, params);
        t["ResultSelector"] = selector;
        t["End"] = json!(true);
        json!({"StartAt": name, "States": {name: t}})
    }

    /// A Parallel of independent reads; their answers at `result`, by key. (Branch outputs are
    /// taken with `States.ArrayGetItem`: the emulator reads an indexed path such as `$[1]` as
    /// a list.)
    fn reads(
        &mut self,
        what: &str,
        branches: Vec<(&str, Value)>,
        result: &str,
        next: &str,
    ) -> String {
        let name = self.n(what);
        let catch = self.catch_all();
        let mut selector = Map::new();
        for (i, (key, _)) in branches.iter().enumerate() {
            selector.insert(
                format!("{key}.$"),
                json!(format!("States.ArrayGetItem($, {i})")),
            );
        }
        let branches: Vec<Value> = branches.into_iter().map(|(_, b)| b).collect();
        self.states.insert(
            name.clone(),
            json!({
                "Type": "Parallel",
                "Branches": branches,
                "ResultSelector": selector,
                "ResultPath": self.s(result),
                "Catch": [catch],
                "Next": next,
            }),
        );
        name
    }

    /// A Task whose "not there" answer is an S3 error without its own name (S3 reports
    /// NoSuchBucketPolicy and its kin as the service's generic exception): any task error is
    /// caught, and its cause decides: one matching `absent` (the message AWS and the emulator
    /// both give) puts `absent_value` at `result` and goes on; any other fails the step.
    #[allow(clippy::too_many_arguments)]
    fn task_or_absent(
        &mut self,
        what: &str,
        svc: &str,
        op: &str,
        params: Value,
        result: &str,
        selector: Option<Value>,
        absent: &str,
        absent_value: Value,
        next: &str,
    ) -> String {
        let check = self.n(&format!("{what}: absent?"));
        let is_absent = self.n(&format!("{what}: absent"));
        let other = self.n(&format!("{what}: error"));
        let caught = self.s("caught");
        let failed = self.failed.clone();
        let error = self.s("error");
        self.states.insert(
            check.clone(),
            json!({
                "Type": "Choice",
                "Choices": [{"Variable": format!("{caught}.Cause"), "StringMatches": format!("*{absent}*"), "Next": is_absent}],
                "Default": other,
            }),
        );
        self.states.insert(
            is_absent.clone(),
            json!({"Type": "Pass", "Result": absent_value, "ResultPath": self.s(result), "Next": next}),
        );
        self.states.insert(
            other.clone(),
            json!({
                "Type": "Pass",
                "Parameters": {"Error.$": format!("{caught}.Error"), "Cause.$": format!("{caught}.Cause")},
                "ResultPath": error,
                "Next": failed,
            }),
        );
        let catch =
            json!({"ErrorEquals": ["States.TaskFailed"], "ResultPath": caught, "Next": check});
        self.task(
            what,
            svc,
            op,
            params,
            Some(result),
            selector,
            vec![catch],
            next,
        )
    }

    /// The bucket parameters of an S3 call: `Bucket`, and `ExpectedBucketOwner` when given.
    fn bucket_params(&self) -> Value {
        let mut p = json!({"Bucket.$": self.p("bucket")});
        if self.given.iter().any(|g| g == "expected_owner") {
            p["ExpectedBucketOwner.$"] = json!(self.p("expected_owner"));
        }
        p
    }

    /// A one-Task branch of a Parallel named `{id}: {label}` (labels keep names unique when an
    /// action reads the same thing twice).
    fn branch_as(&self, label: &str, svc: &str, op: &str, params: Value, selector: Value) -> Value {
        let name = self.n(label);
        let mut t = self.sdk(svc, op, params);
        t["ResultSelector"] = selector;
        t["End"] = json!(true);
        json!({"StartAt": name, "States": {name: t}})
    }

    /// An EC2 filter on one value: `{"Name": name, "Values": [value at path]}`.
    fn filter(name: &str, path: &str) -> Value {
        json!({"Name": name, "Values.$": format!("States.Array({path})")})
    }

    /// A Map state over `items` whose iterations run `states` from `start` (inline); its
    /// result at `$.steps.<id>.<result>`; a failed iteration fails the step.
    #[allow(clippy::too_many_arguments)]
    fn map(
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
            "ResultPath": self.s(result),
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
    fn inner(
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

    /// The block devices of a `describeInstances` read (`$.steps.<id>.<from>.devices.Mappings`)
    /// as `[{name, delete, vol}]` at `$.steps.<id>.<result>`.
    fn devices(&mut self, what: &str, from: &str, result: &str, next: &str) -> String {
        let one = self.n(&format!("{what}, one"));
        let list = self.s(&format!("{result}_list"));
        let map = self.map(
            what,
            &format!("{list}.m"),
            json!({
                "name.$": "$$.Map.Item.Value.DeviceName",
                "delete.$": "$$.Map.Item.Value.Ebs.DeleteOnTermination",
                "vol.$": "$$.Map.Item.Value.Ebs.VolumeId",
            }),
            &one.clone(),
            json!({one: {"Type": "Pass", "End": true}}),
            result,
            None,
            next,
        );
        let from = self.s(&format!("{from}.devices.Mappings"));
        self.pass(
            &format!("{what}: list"),
            json!({"Parameters": {"m.$": format!("States.ArrayGetItem({from}, 0)")}, "ResultPath": list}),
            &map,
        )
    }

    /// A Pass that counts the list at `list` into `$.steps.<id>.<result>`.
    fn count(&mut self, what: &str, list: &str, result: &str, next: &str) -> String {
        let result = self.s(result);
        self.pass(
            what,
            json!({"Parameters": {"n.$": format!("States.ArrayLength({list})")}, "ResultPath": result}),
            next,
        )
    }
}

/// What is kept of a ListAccessKeys answer: ids and statuses in the same order. (Only text is
/// kept: SDK timestamps are not JSON everywhere. No JSONPath filter: one that matches nothing
/// is a run-time error that no Catch sees.)
fn key_list() -> Value {
    json!({
        "AccessKeyIds.$": "$.AccessKeyMetadata[*].AccessKeyId",
        "Statuses.$": "$.AccessKeyMetadata[*].Status",
    })
}

/// An action defined in the step vocabulary, compiled (`None` without a definition, which the
/// caller reports).
fn defined(action: Action, a: &mut Act, succeeded: &str) -> Option<Compiled> {
    action
        .definition()
        .map(|def| super::define::compile(def, a, succeeded))
}

/// The states of `action`, ending at `succeeded`; `None` when the action has no compilation.
pub(crate) fn compile(action: Action, a: &mut Act, succeeded: &str) -> Option<Compiled> {
    let mut outputs: BTreeMap<&'static str, Val> = BTreeMap::new();
    let first = match action {
        Action::IamCaptureUser => {
            let user = json!({"UserName.$": a.p("user_name")});
            let login = {
                let name = a.n("GetLoginProfile");
                let none = a.n("no login profile");
                let mut t = a.sdk("iam", "getLoginProfile", user.clone());
                t["ResultSelector"] = json!({"exists": true});
                t["Catch"] =
                    json!([{"ErrorEquals": error_named("iam", "NoSuchEntity"), "Next": none}]);
                t["End"] = json!(true);
                json!({"StartAt": name, "States": {
                    name: t,
                    none: {"Type": "Pass", "Result": {"exists": false}, "End": true},
                }})
            };
            let branches = vec![
                ("user", a.branch(
                    "iam",
                    "getUser",
                    user.clone(),
                    json!({"UserName.$": "$.User.UserName", "UserId.$": "$.User.UserId", "Arn.$": "$.User.Arn"}),
                )),
                ("keys", a.branch("iam", "listAccessKeys", user.clone(), key_list())),
                ("attached", a.branch(
                    "iam",
                    "listAttachedUserPolicies",
                    user.clone(),
                    json!({"PolicyArns.$": "$.AttachedPolicies[*].PolicyArn"}),
                )),
                ("inline", a.branch(
                    "iam",
                    "listUserPolicies",
                    user.clone(),
                    json!({"PolicyNames.$": "$.PolicyNames"}),
                )),
                ("groups", a.branch(
                    "iam",
                    "listGroupsForUser",
                    user.clone(),
                    json!({"GroupNames.$": "$.Groups[*].GroupName"}),
                )),
                ("mfa", a.branch(
                    "iam",
                    "listMFADevices",
                    user,
                    json!({"SerialNumbers.$": "$.MFADevices[*].SerialNumber"}),
                )),
                ("login", login),
            ];
            let pre = a.s("pre");
            let out = |path: &str| Val::Path(format!("{pre}{path}"));
            outputs.insert("access_key_ids", out(".keys.AccessKeyIds"));
            outputs.insert("attached_policy_arns", out(".attached.PolicyArns"));
            outputs.insert("inline_policy_names", out(".inline.PolicyNames"));
            outputs.insert("groups", out(".groups.GroupNames"));
            outputs.insert("mfa_serials", out(".mfa.SerialNumbers"));
            outputs.insert("has_login_profile", out(".login.exists"));
            a.reads("read", branches, "pre", succeeded)
        }
        Action::IamCaptureRole => return defined(action, a, succeeded),
        Action::IamDeactivateAccessKey => return defined(action, a, succeeded),
        Action::IamDenyAllUser => {
            let get = json!({"UserName.$": a.p("user_name"), "PolicyName.$": a.p("policy_name")});
            let put = json!({
                "UserName.$": a.p("user_name"),
                "PolicyName.$": a.p("policy_name"),
                // The same document as the local action.
                "PolicyDocument": crate::catalog::names::deny_all_document().to_string(),
            });
            let doc = json!({"exists": true, "PolicyDocument.$": "$.PolicyDocument"});
            let read_back = a.task(
                "GetUserPolicy after",
                "iam",
                "getUserPolicy",
                get.clone(),
                Some("post"),
                Some(doc.clone()),
                vec![],
                succeeded,
            );
            let change = a.task(
                "PutUserPolicy",
                "iam",
                "putUserPolicy",
                put,
                None,
                None,
                vec![],
                &read_back,
            );
            let none = a.pass(
                "no such policy yet",
                json!({"Result": {"exists": false}, "ResultPath": a.s("pre")}),
                &change,
            );
            outputs.insert("policy_name", Val::Path(a.p("policy_name")));
            a.task(
                "GetUserPolicy",
                "iam",
                "getUserPolicy",
                get,
                Some("pre"),
                Some(doc),
                vec![json!({"ErrorEquals": error_named("iam", "NoSuchEntity"), "ResultPath": null, "Next": none})],
                &change,
            )
        }
        Action::IamRevokeRoleSessions => {
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
                            "Sid": crate::catalog::names::REVOKE_SID,
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
        Action::Ec2DisassociateInstanceProfile => {
            let describe = json!({"Filters": [
                {"Name": "instance-id", "Values.$": format!("States.Array({})", a.p("instance_id"))},
                {"Name": "state", "Values": ["associated"]},
            ]});
            let assoc = json!({
                "AssociationIds.$": "$.IamInstanceProfileAssociations[*].AssociationId",
                // Objects, not `…[*].IamInstanceProfile.Arn`: the emulator gives a path two
                // fields below a wildcard as a bare value when one thing matches.
                "Profiles.$": "$.IamInstanceProfileAssociations[*].IamInstanceProfile",
            });
            let first = |list: &str| format!("States.ArrayGetItem({list}, 0)");
            let still = a.fail(
                "still associated",
                crate::catalog::VERIFY_FAILED,
                json!(format!(
                    "States.Format('instance {{}} still has an instance profile association', {})",
                    a.p("instance_id")
                )),
            );
            let gone = a.choice(
                "gone?",
                json!([{"Variable": a.s("after.n"), "NumericGreaterThan": 0, "Next": still}]),
                succeeded,
            );
            let count_after = a.count("count after", &a.s("post.AssociationIds"), "after", &gone);
            let read_back = a.task(
                "read back",
                "ec2",
                "describeIamInstanceProfileAssociations",
                describe.clone(),
                Some("post"),
                Some(assoc.clone()),
                vec![],
                &count_after,
            );
            let change = a.task(
                "DisassociateIamInstanceProfile",
                "ec2",
                "disassociateIamInstanceProfile",
                json!({"AssociationId.$": first(&a.s("pre.AssociationIds"))}),
                None,
                None,
                vec![],
                &read_back,
            );
            let with_role = a.pass(
                "with role",
                json!({"Parameters": {"arn.$": a.s("profile.arn"), "role.$": first(&a.s("iprofile.Roles"))}, "ResultPath": a.s("found")}),
                &change,
            );
            let without_role = a.pass(
                "without role",
                json!({"Parameters": {"arn.$": a.s("profile.arn"), "role": ""}, "ResultPath": a.s("found")}),
                &change,
            );
            let role = a.choice(
                "role?",
                json!([{"Variable": a.s("roles.n"), "NumericGreaterThan": 0, "Next": with_role}]),
                &without_role,
            );
            let count_roles = a.count("count roles", &a.s("iprofile.Roles"), "roles", &role);
            let profile_gone = a.pass(
                "profile gone",
                json!({"Result": {"Roles": []}, "ResultPath": a.s("iprofile")}),
                &count_roles,
            );
            let get_profile = a.task(
                "GetInstanceProfile",
                "iam",
                "getInstanceProfile",
                json!({"InstanceProfileName.$": a.s("profile.name")}),
                Some("iprofile"),
                Some(json!({"Roles.$": "$.InstanceProfile.Roles[*].RoleName"})),
                vec![json!({"ErrorEquals": error_named("iam", "NoSuchEntity"), "ResultPath": null, "Next": profile_gone})],
                &count_roles,
            );
            let parts = a.s("split.parts");
            let name = a.pass(
                "profile name",
                json!({"Parameters": {
                    "arn.$": a.s("split.arn"),
                    "name.$": format!("States.ArrayGetItem({parts}, States.MathAdd(States.ArrayLength({parts}), -1))"),
                }, "ResultPath": a.s("profile")}),
                &get_profile,
            );
            let arn = a.s("first.p.Arn");
            let split = a.pass(
                "split profile ARN",
                json!({"Parameters": {
                    "arn.$": arn,
                    "parts.$": format!("States.StringSplit({arn}, '/')"),
                }, "ResultPath": a.s("split")}),
                &name,
            );
            let no_profile = a.pass(
                "no profile",
                json!({"Parameters": {"arn": "", "role": ""}, "ResultPath": a.s("found")}),
                succeeded,
            );
            let first_profile = a.pass(
                "the profile",
                json!({"Parameters": {"p.$": first(&a.s("pre.Profiles"))}, "ResultPath": a.s("first")}),
                &split,
            );
            let has = a.choice(
                "has a profile?",
                json!([{"Variable": a.s("before.n"), "NumericGreaterThan": 0, "Next": first_profile}]),
                &no_profile,
            );
            let count_before = a.count("count", &a.s("pre.AssociationIds"), "before", &has);
            outputs.insert("instance_profile_arn", Val::Path(a.s("found.arn")));
            outputs.insert("role_name", Val::Path(a.s("found.role")));
            a.task(
                "DescribeIamInstanceProfileAssociations",
                "ec2",
                "describeIamInstanceProfileAssociations",
                describe,
                Some("pre"),
                Some(assoc),
                vec![],
                &count_before,
            )
        }
        Action::S3CaptureBucket => return defined(action, a, succeeded),
        Action::S3BlockPublicAccess => return defined(action, a, succeeded),
        Action::S3EnableVersioning => return defined(action, a, succeeded),
        Action::S3DenyPrincipal => {
            let bucket = a.bucket_params();
            let sid = if a.given.iter().any(|g| g == "statement_id") {
                a.p("statement_id")
            } else {
                String::new()
            };
            let sid_val = if sid.is_empty() {
                json!({"Sid": crate::catalog::names::DENY_PRINCIPAL_SID})
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
                crate::catalog::VERIFY_FAILED,
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
        Action::Ec2CaptureInstance => {
            let id = a.p("instance_id");
            let ids = json!({"InstanceIds.$": format!("States.Array({id})")});
            let attached = json!({"Filters": [Act::filter("attachment.instance-id", &id)]});
            let console = {
                let name = a.n("GetConsoleOutput");
                let none = a.n("no console output");
                let mut t = a.sdk("ec2", "getConsoleOutput", json!({"InstanceId.$": id}));
                // Best-effort evidence, as in the local engine: a refusal is not fatal.
                t["Catch"] = json!([{"ErrorEquals": ["States.ALL"], "Next": none}]);
                t["End"] = json!(true);
                json!({"StartAt": name, "States": {
                    name: t,
                    none: {"Type": "Pass", "Result": {"unavailable": true}, "End": true},
                }})
            };
            let branches = vec![
                ("instance", a.branch("ec2", "describeInstances", ids.clone(), json!({
                    "Instances.$": "$.Reservations[*].Instances[*]",
                }))),
                ("volumes", a.branch("ec2", "describeVolumes", attached.clone(), json!({"VolumeIds.$": "$.Volumes[*].VolumeId"}))),
                ("enis", a.branch("ec2", "describeNetworkInterfaces", attached, json!({
                    "Ids.$": "$.NetworkInterfaces[*].NetworkInterfaceId",
                    "GroupIds.$": "$.NetworkInterfaces[*].Groups[*].GroupId",
                }))),
                ("association", a.branch("ec2", "describeIamInstanceProfileAssociations", json!({"Filters": [
                    Act::filter("instance-id", &id),
                    {"Name": "state", "Values": ["associated"]},
                ]}), json!({"Profiles.$": "$.IamInstanceProfileAssociations[*].IamInstanceProfile"}))),
                ("asg", a.branch("autoscaling", "describeAutoScalingInstances", ids, json!({"Groups.$": "$.AutoScalingInstances[*].AutoScalingGroupName"}))),
                ("console", console),
            ];
            let pre = a.s("pre");
            let asg_of = a.pass("group", json!({"Parameters": {"v.$": format!("States.ArrayGetItem({pre}.asg.Groups, 0)")}, "ResultPath": a.s("asg")}), succeeded);
            let no_asg = a.pass(
                "no group",
                json!({"Result": {"v": ""}, "ResultPath": a.s("asg")}),
                succeeded,
            );
            let asg = a.choice(
                "in a group?",
                json!([{"Variable": a.s("o.asgs"), "NumericGreaterThan": 0, "Next": asg_of}]),
                &no_asg,
            );
            let profile_arn = a.pass(
                "profile ARN",
                json!({"Parameters": {"v.$": a.s("profile.p.Arn")}, "ResultPath": a.s("profile")}),
                &asg,
            );
            let profile = a.pass("profile", json!({"Parameters": {"p.$": format!("States.ArrayGetItem({pre}.association.Profiles, 0)")}, "ResultPath": a.s("profile")}), &profile_arn);
            let no_profile = a.pass(
                "no profile",
                json!({"Result": {"v": ""}, "ResultPath": a.s("profile")}),
                &asg,
            );
            let has_profile = a.choice(
                "has a profile?",
                json!([{"Variable": a.s("o.profiles"), "NumericGreaterThan": 0, "Next": profile}]),
                &no_profile,
            );
            let o = a.pass(
                "outputs",
                json!({"Parameters": {
                "state.$": a.s("i.v.State.Name"),
                "vpc_id.$": a.s("i.v.VpcId"),
                "groups.$": format!("States.ArrayUnique({pre}.enis.GroupIds)"),
                "profiles.$": format!("States.ArrayLength({pre}.association.Profiles)"),
                "asgs.$": format!("States.ArrayLength({pre}.asg.Groups)"),
            }, "ResultPath": a.s("o")}),
                &has_profile,
            );
            let inst = a.pass("the instance", json!({"Parameters": {"v.$": format!("States.ArrayGetItem({pre}.instance.Instances, 0)")}, "ResultPath": a.s("i")}), &o);
            outputs.insert("state", Val::Path(a.s("o.state")));
            outputs.insert("vpc_id", Val::Path(a.s("o.vpc_id")));
            outputs.insert("volume_ids", Val::Path(format!("{pre}.volumes.VolumeIds")));
            outputs.insert(
                "network_interface_ids",
                Val::Path(format!("{pre}.enis.Ids")),
            );
            outputs.insert("security_group_ids", Val::Path(a.s("o.groups")));
            outputs.insert("instance_profile_arn", Val::Path(a.s("profile.v")));
            outputs.insert("autoscaling_group", Val::Path(a.s("asg.v")));
            a.reads("read", branches, "pre", &inst)
        }
        Action::Ec2PreserveInstance => {
            let id = a.p("instance_id");
            let attr = |name: &str| json!({"InstanceId.$": id, "Attribute": name});
            let reads = |a: &Act, tag: &str| {
                vec![
                    (
                        "term",
                        a.branch_as(
                            &format!("termination protection{tag}"),
                            "ec2",
                            "describeInstanceAttribute",
                            attr("disableApiTermination"),
                            json!({"v.$": "$.DisableApiTermination.Value"}),
                        ),
                    ),
                    (
                        "shutdown",
                        a.branch_as(
                            &format!("shutdown behaviour{tag}"),
                            "ec2",
                            "describeInstanceAttribute",
                            attr("instanceInitiatedShutdownBehavior"),
                            json!({"v.$": "$.InstanceInitiatedShutdownBehavior.Value"}),
                        ),
                    ),
                    (
                        "devices",
                        a.branch_as(
                            &format!("block devices{tag}"),
                            "ec2",
                            "describeInstances",
                            json!({"InstanceIds.$": format!("States.Array({id})")}),
                            json!({
                                "Mappings.$": "$.Reservations[*].Instances[*].BlockDeviceMappings",
                            }),
                        ),
                    ),
                ]
            };
            let post = a.s("post");
            let not_kept = a.fail("not preserved after the change", crate::catalog::VERIFY_FAILED, json!(format!(
                "States.Format('instance {{}} does not read back with termination protection, shutdown behaviour stop and every volume kept', {id})"
            )));
            let verified = a.choice(
                "preserved now?",
                json!([{"And": [
                {"Variable": format!("{post}.term.v"), "BooleanEquals": true},
                {"Variable": format!("{post}.shutdown.v"), "StringEquals": "stop"},
                {"Variable": a.s("after.delete_any"), "BooleanEquals": false},
            ], "Next": succeeded}]),
                &not_kept,
            );
            let after = a.pass("flags after", json!({"Parameters": {"delete_any.$": format!("States.ArrayContains({}[*].delete, true)", a.s("devs_after"))}, "ResultPath": a.s("after")}), &verified);
            let devs_after = a.devices("devices after", "post", "devs_after", &after);
            let branches = reads(a, " after");
            let read_back = a.reads("read back", branches, "post", &devs_after);
            let keep = a.task(
                "ModifyInstanceAttribute (volumes)",
                "ec2",
                "modifyInstanceAttribute",
                json!({"InstanceId.$": id, "BlockDeviceMappings.$": a.s("mappings")}),
                None,
                None,
                vec![],
                &read_back,
            );
            let mappings = a.map("every volume kept", &a.s("devs"), json!({"DeviceName.$": "$$.Map.Item.Value.name", "Ebs": {"DeleteOnTermination": false}}),
                "keep one", json!({"keep one": {"Type": "Pass", "End": true}}), "mappings", None, &keep);
            // The Map's inner state name must be unique in the machine.
            if let Some(Value::Object(m)) = a.states.get_mut(&mappings) {
                let inner = format!("{}: keep one", a.id);
                m["ItemProcessor"] = json!({"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": inner, "States": {inner.clone(): {"Type": "Pass", "End": true}}});
            }
            let volumes = a.choice("volumes deleted on termination?", json!([{"Variable": a.s("before.delete_any"), "BooleanEquals": true, "Next": mappings}]), &read_back);
            let stop = a.task(
                "ModifyInstanceAttribute (shutdown)",
                "ec2",
                "modifyInstanceAttribute",
                json!({"InstanceId.$": id, "InstanceInitiatedShutdownBehavior": {"Value": "stop"}}),
                None,
                None,
                vec![],
                &volumes,
            );
            let shutdown = a.choice("shutdown stops?", json!([{"Variable": a.s("pre.shutdown.v"), "StringEquals": "stop", "Next": volumes}]), &stop);
            let protect = a.task(
                "ModifyInstanceAttribute (termination)",
                "ec2",
                "modifyInstanceAttribute",
                json!({"InstanceId.$": id, "DisableApiTermination": {"Value": true}}),
                None,
                None,
                vec![],
                &shutdown,
            );
            let protected = a.choice(
                "protected?",
                json!([{"Variable": a.s("pre.term.v"), "BooleanEquals": true, "Next": shutdown}]),
                &protect,
            );
            let before = a.pass("flags", json!({"Parameters": {"delete_any.$": format!("States.ArrayContains({}[*].delete, true)", a.s("devs"))}, "ResultPath": a.s("before")}), &protected);
            let devs = a.devices("devices", "pre", "devs", &before);
            outputs.insert("volume_ids", Val::Path(format!("{}[*].vol", a.s("devs"))));
            let branches = reads(a, "");
            a.reads("read", branches, "pre", &devs)
        }
        Action::Ec2SnapshotVolumes => {
            let id = a.p("instance_id");
            let by_finding = json!({"OwnerIds": ["self"], "Filters": [Act::filter("tag:firebreak:finding-id", "$.ctx.finding.id")]});
            let f = a.s("f");
            let missing = a.fail(
                "a volume without snapshot",
                crate::catalog::VERIFY_FAILED,
                json!(format!(
                    "States.Format('not every volume of instance {{}} has a snapshot', {id})"
                )),
            );
            let failed_snap = a.fail(
                "a snapshot failed",
                "SnapshotFailed",
                json!(format!(
                    "States.Format('a snapshot of instance {{}} ended in error', {id})"
                )),
            );
            let read_again = a.n("DescribeSnapshots after");
            let wait = a.n("wait for the snapshots");
            a.states.insert(
                wait.clone(),
                json!({"Type": "Wait", "Seconds": 5, "Next": read_again}),
            );
            let done = a.choice(
                "complete?",
                json!([
                    {"Variable": format!("{f}.missing"), "BooleanEquals": true, "Next": missing},
                    {"Variable": format!("{f}.error"), "BooleanEquals": true, "Next": failed_snap},
                    {"And": [
                        {"Variable": a.p("wait"), "BooleanEquals": true},
                        {"Variable": format!("{f}.pending"), "BooleanEquals": true},
                    ], "Next": wait},
                ]),
                succeeded,
            );
            let flags = a.pass(
                "states",
                json!({"Parameters": {
                "missing.$": format!("States.ArrayContains({}, false)", a.s("covered")),
                "error.$": format!("States.ArrayContains({}.States, 'error')", a.s("post")),
                "pending.$": format!("States.ArrayContains({}.States, 'pending')", a.s("post")),
            }, "ResultPath": f}),
                &done,
            );
            let covered = {
                let one = a.n("covered, one");
                a.map("every volume covered?", &a.s("pre.VolumeIds"),
                    json!({"ok.$": format!("States.ArrayContains({}.VolumeIds, $$.Map.Item.Value)", a.s("post"))}),
                    &one.clone(), json!({one: {"Type": "Pass", "InputPath": "$.ok", "End": true}}), "covered", None, &flags)
            };
            a.task(
                "DescribeSnapshots after",
                "ec2",
                "describeSnapshots",
                by_finding.clone(),
                Some("post"),
                Some(json!({
                    "VolumeIds.$": "$.Snapshots[*].VolumeId",
                    "SnapshotIds.$": "$.Snapshots[*].SnapshotId",
                    "States.$": "$.Snapshots[*].State",
                })),
                vec![],
                &covered,
            );
            let each = {
                let has = a.n("snapshot, has one?");
                let which = a.n("snapshot, which");
                let reuse = a.n("snapshot, reuse");
                let create = a.n("snapshot, CreateSnapshot");
                let mut snap = a.inner("ec2", "createSnapshot", json!({
                    "VolumeId.$": "$.vol",
                    "Description.$": "States.Format('firebreak evidence: finding {} instance {} volume {}', $.finding, $.instance, $.vol)",
                    "TagSpecifications": [{"ResourceType": "snapshot", "Tags.$": "$.tags"}],
                }), None, Some(json!({"id.$": "$.SnapshotId"})), None);
                snap["ResultPath"] = json!("$");
                snap["OutputPath"] = json!("$.id");
                let states = json!({
                    has.clone(): {"Type": "Pass", "Parameters": {"v.$": "States.ArrayContains($.have, $.vol)"}, "ResultPath": "$.has", "Next": which},
                    which.clone(): {"Type": "Choice", "Choices": [{"Variable": "$.has.v", "BooleanEquals": true, "Next": reuse}], "Default": create},
                    reuse: {"Type": "Pass", "Result": "-", "End": true},
                    create: snap,
                });
                // Whether a snapshot was made (not only reused): "-" marks a reused one.
                let created = a.s("created");
                let made = a.pass(
                    "made one",
                    json!({"Result": {"v": true}, "ResultPath": a.s("changed")}),
                    &read_again,
                );
                let any = a.choice(
                    "made any?",
                    json!([{"Or": [
                        {"Variable": a.s("made.all"), "NumericEquals": 0},
                        {"And": [
                            {"Variable": a.s("made.kinds"), "NumericEquals": 1},
                            {"Variable": a.s("made.reused"), "BooleanEquals": true},
                        ]},
                    ], "Next": read_again}]),
                    &made,
                );
                let count = a.pass(
                    "count made",
                    json!({"Parameters": {
                        "all.$": format!("States.ArrayLength({created})"),
                        "kinds.$": format!("States.ArrayLength(States.ArrayUnique({created}))"),
                        "reused.$": format!("States.ArrayContains({created}, '-')"),
                    }, "ResultPath": a.s("made")}),
                    &any,
                );
                a.map(
                    "snapshot each volume",
                    &a.s("pre.VolumeIds"),
                    json!({
                        "vol.$": "$$.Map.Item.Value",
                        "have.$": a.s("existing.VolumeIds"),
                        "tags.$": a.p("tags"),
                        "instance.$": id,
                        "finding.$": "$.ctx.finding.id",
                    }),
                    &has,
                    states,
                    "created",
                    None,
                    &count,
                )
            };
            let existing = a.task(
                "DescribeSnapshots",
                "ec2",
                "describeSnapshots",
                by_finding,
                Some("existing"),
                Some(json!({"VolumeIds.$": "$.Snapshots[*].VolumeId"})),
                vec![],
                &each,
            );
            outputs.insert("snapshot_ids", Val::Path(a.s("post.SnapshotIds")));
            a.task(
                "DescribeVolumes",
                "ec2",
                "describeVolumes",
                json!({"Filters": [Act::filter("attachment.instance-id", &id)]}),
                Some("pre"),
                Some(json!({"VolumeIds.$": "$.Volumes[*].VolumeId"})),
                vec![],
                &existing,
            )
        }
        Action::AutoscalingDetachInstance => return defined(action, a, succeeded),
        Action::Elbv2DeregisterInstance => {
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
                crate::catalog::VERIFY_FAILED,
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
        Action::Ec2IsolateInstance => {
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
                            {"Key": "firebreak:purpose", "Value": "isolation"},
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
            auth["Catch"] = json!([{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.refused", "Next": refused}]);
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
            st.insert(
                mod_i.clone(),
                a.inner(
                    "ec2",
                    "modifyNetworkInterfaceAttribute",
                    json!({"NetworkInterfaceId.$": "$.eni", "Groups.$": "States.Array($.i.v)"}),
                    None,
                    None,
                    Some(&done),
                ),
            );
            st.insert(done.clone(), json!({"Type": "Pass", "Parameters": {"eni.$": "$.eni", "iso.$": "$.i.v", "changed": true}, "End": true}));
            st.insert(done_unchanged.clone(), json!({"Type": "Pass", "Parameters": {"eni.$": "$.eni", "iso.$": "$.i.v", "changed": false}, "End": true}));

            let v = a.s("v");
            let not_isolated = a.fail("not isolated after the change", crate::catalog::VERIFY_FAILED, json!(format!(
                "States.Format('a network interface of instance {{}} does not read back with only the isolation group', {id})"
            )));
            let verdict = a.choice("isolated now?", json!([{"Variable": format!("{v}.bad"), "BooleanEquals": true, "Next": not_isolated}]), succeeded);
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
                a.map(
                    "verify each interface",
                    &a.s("isolated"),
                    json!({"eni.$": "$$.Map.Item.Value.eni", "iso.$": "$$.Map.Item.Value.iso"}),
                    &read,
                    states,
                    "verified",
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
                "isolated",
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
        Action::Ec2TagInstance => return defined(action, a, succeeded),
        Action::IamDeleteLoginProfile => return defined(action, a, succeeded),
        Action::IamDeactivateMfaDevices => return defined(action, a, succeeded),
        Action::Ec2StopInstance => return defined(action, a, succeeded),
        Action::SnsPublish => {
            let mut params = json!({"TopicArn.$": a.p("topic_arn"), "Message.$": a.p("message")});
            if a.given.iter().any(|g| g == "subject") {
                params["Subject.$"] = json!(a.p("subject"));
            }
            outputs.insert("message_id", Val::Path(a.s("result.MessageId")));
            let sent = a.pass(
                "sent",
                json!({"Result": {"v": true}, "ResultPath": a.s("changed")}),
                succeeded,
            );
            a.task(
                "Publish",
                "sns",
                "publish",
                params,
                Some("result"),
                Some(json!({"MessageId.$": "$.MessageId"})),
                vec![],
                &sent,
            )
        }
        Action::HttpWebhook => {
            // Step Functions has no Lambda-free way to POST to an arbitrary URL but its HTTP
            // Task (which needs an EventBridge connection and which the emulator cannot run),
            // so the message goes to EventBridge as an event; an EventBridge rule with an API
            // destination can make the POST (not set up by `deploy` yet). The HTTP status is not
            // seen here: `status` is null.
            let name = a.n("PutEvents");
            let mut t = json!({
                "Type": "Task",
                "Resource": "arn:aws:states:::events:putEvents",
                "Parameters": {"Entries": [{
                    "Source": "firebreak",
                    "DetailType": "firebreak webhook",
                    "Detail": {"url.$": a.p("url"), "text.$": a.p("text")},
                }]},
                "TimeoutSeconds": a.timeout,
                "ResultSelector": {"FailedEntryCount.$": "$.FailedEntryCount"},
                "ResultPath": a.s("result"),
                "Catch": [a.catch_all()],
                "Next": a.n("sent"),
            });
            a.states.insert(
                a.n("sent"),
                json!({"Type": "Pass", "Result": {"v": true}, "ResultPath": a.s("changed"), "Next": succeeded}),
            );
            let retry = super::retriers(a.retry, "EventBridge");
            if retry.as_array().is_some_and(|r| !r.is_empty()) {
                t["Retry"] = retry;
            }
            a.states.insert(name.clone(), t);
            name
        }
    };
    Some(Compiled { first, outputs })
}
