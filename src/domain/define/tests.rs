//! Every definition is well formed, and the vocabulary's pieces do what they say.

use super::*;
use serde_json::json;

/// Timestamps of one form (`2020-01-01T00:00:00Z`) compared as text; anything else is not one.
fn later(a: &Value, b: &Value) -> Result<bool, String> {
    match (a.as_str(), b.as_str()) {
        (Some(x), Some(y)) if x.ends_with('Z') && y.ends_with('Z') => Ok(x > y),
        _ => Err("not a time".into()),
    }
}

#[test]
fn paths_go_through_lists() {
    let v = json!({"Reservations": [{"Instances": [{"State": {"Name": "running"}}]}]});
    let got = at_path(&v, "Reservations[*].Instances[*].State.Name");
    assert_eq!(got, vec![&json!("running")]);
    assert!(at_path(&v, "Reservations[*].Nope").is_empty());
}

#[test]
fn messages_fill_parameters() {
    let params = json!({"bucket": "b1"}).as_object().cloned().unwrap();
    assert_eq!(
        message("bucket {bucket} is open", &params),
        "bucket b1 is open"
    );
    // Only the host of a URL whose path and query hold a token.
    let params = json!({"url": "https://user:pw@hooks.example.com:8443/services/T0/B0/secret?x=1"})
        .as_object()
        .cloned()
        .unwrap();
    assert_eq!(
        message("POST to {url|host}", &params),
        "POST to hooks.example.com:8443"
    );
}

#[test]
fn conditions_read_picked_values() {
    let values = json!({"before": {"status": "Enabled", "tags": [{"Key": "a", "Value": "1"}]}});
    let params = json!({"want": {"a": "1"}, "more": {"a": "1", "b": "2"}})
        .as_object()
        .cloned()
        .unwrap();
    let holds = |c: Cond| c.holds(&values, &params, &later);
    assert!(holds(Cond::Is("before.status", Lit::Text("Enabled"))));
    assert!(!holds(Cond::Is("before.other", Lit::Text("Enabled"))));
    assert!(holds(Cond::Not(&Cond::Is("after.status", Lit::Bool(true)))));
    assert!(holds(Cond::Includes("before.tags", "want")));
    assert!(!holds(Cond::Includes("before.tags", "more")));
    let https = Cond::Starts(Arg::Param("url"), &["https://", "http://"]);
    let with = |url: &str| json!({"url": url}).as_object().cloned().unwrap();
    assert!(https.holds(&values, &with("https://hooks.example.com/x"), &later));
    assert!(!https.holds(&values, &with("ftp://hooks.example.com/x"), &later));
    assert!(!https.holds(&values, &params, &later));
}

#[test]
fn a_revocation_is_a_plain_deny_of_everything_before_one_time() {
    let revocation = |statement: Value| json!({"Version": "2012-10-17", "Statement": [statement]});
    let plain = json!({"Sid": "x", "Effect": "Deny", "Action": "*", "Resource": "*",
        "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2026-01-01T00:00:00Z"}}});
    assert_eq!(
        revoked_before(&revocation(plain.clone()), &later),
        Some("2026-01-01T00:00:00Z".into())
    );
    // IAM's URL-encoded answer is decoded first.
    let encoded: String = percent_encoding::utf8_percent_encode(
        &revocation(plain.clone()).to_string(),
        percent_encoding::NON_ALPHANUMERIC,
    )
    .collect();
    assert_eq!(policy_document(&encoded), revocation(plain.clone()));
    for (member, value) in [
        ("Effect", json!("Allow")),
        ("Action", json!("s3:*")),
        ("Resource", json!("arn:aws:s3:::b")),
        ("Principal", json!("*")),
        (
            "Condition",
            json!({"DateLessThan": {"aws:TokenIssueTime": "2026-01-01T00:00:00Z"}, "Bool": {"aws:SecureTransport": "true"}}),
        ),
        (
            "Condition",
            json!({"DateGreaterThan": {"aws:TokenIssueTime": "2026-01-01T00:00:00Z"}}),
        ),
        (
            "Condition",
            json!({"DateLessThan": {"aws:TokenIssueTime": "next week"}}),
        ),
    ] {
        let mut s = plain.clone();
        s[member] = value;
        assert_eq!(revoked_before(&revocation(s), &later), None, "{member}");
    }
}

#[test]
fn times_compare_with_a_parameter_or_a_value_and_outputs_take_the_first_given() {
    let values = json!({"before": {"t": "2026-01-02T00:00:00Z", "none": null}, "step": {"now": "2026-01-03T00:00:00Z"}});
    let params = json!({"early": "2026-01-01T00:00:00Z", "late": "2026-01-05T00:00:00Z"})
        .as_object()
        .cloned()
        .unwrap();
    let holds = |c: Cond| c.holds(&values, &params, &later);
    assert!(holds(Cond::NotBefore("before.t", Arg::IfGiven("early"))));
    assert!(!holds(Cond::NotBefore("before.t", Arg::IfGiven("late"))));
    assert!(!holds(Cond::NotBefore("before.t", Arg::IfGiven("absent"))));
    assert!(!holds(Cond::NotBefore("before.t", Arg::Value(NOW))));
    assert!(!holds(Cond::NotBefore(
        "before.none",
        Arg::IfGiven("early")
    )));
    assert!(holds(Cond::Local(&Cond::Always)));
    assert_eq!(
        output(&values, "before.none|before.t|step.now"),
        json!("2026-01-02T00:00:00Z")
    );
    assert_eq!(
        output(&values, "before.none|step.now"),
        json!("2026-01-03T00:00:00Z")
    );
    assert_eq!(output(&values, "before.none"), Value::Null);
}

#[test]
fn a_format_fills_its_arguments_and_within_compares_two_lists() {
    const CALL: Call = Call {
        op: Op::Ec2CreateSnapshot,
        args: &[(
            "Description",
            Arg::Format(
                "finding {} instance {} volume {}",
                &[Arg::Value(FINDING_ID), Arg::Param("instance_id"), Arg::Item],
            ),
        )],
    };
    let values = json!({"step": {"finding_id": "f1"}, "before": {"a": ["v1"], "b": ["v1", "v2"]}});
    let params = json!({"instance_id": "i-1", "$item": "v2"})
        .as_object()
        .cloned()
        .unwrap();
    assert_eq!(
        args(&CALL, &params, &values)["Description"],
        "finding f1 instance i-1 volume v2"
    );
    let holds = |c: Cond| c.holds(&values, &params, &later);
    assert!(holds(Cond::Within("before.a", "before.b")));
    assert!(!holds(Cond::Within("before.b", "before.a")));
    assert!(!holds(Cond::Within("before.none", "before.a")));
}

#[test]
fn where_selects_by_member() {
    let answer = json!({"Keys": [
        {"Id": "A", "Status": "Active", "Made": "2020-01-01T00:00:00Z"},
        {"Id": "B", "Status": "Inactive", "Made": "2024-01-01T00:00:00Z"},
    ]});
    let params = json!({"key": "B", "after": "2022-01-01T00:00:00Z"})
        .as_object()
        .cloned()
        .unwrap();
    let w = |is, cmp, take: &'static [&'static str], first| Where {
        list: "Keys",
        key: if cmp == Cmp::Later { "Made" } else { "Id" },
        is,
        cmp,
        except: &[],
        take,
        first,
    };
    let status = w(Arg::Param("key"), Cmp::Eq, &["Status"], true);
    assert_eq!(
        status.select(&answer, &params, &later),
        Ok(json!("Inactive"))
    );
    let others = w(Arg::Param("key"), Cmp::Ne, &["Id", "Status"], false);
    assert_eq!(
        others.select(&answer, &params, &later),
        Ok(json!([{"Id": "A", "Status": "Active"}]))
    );
    let newer = w(Arg::IfGiven("after"), Cmp::Later, &["Id"], false);
    assert_eq!(newer.select(&answer, &params, &later), Ok(json!(["B"])));
    let every = w(Arg::IfGiven("nope"), Cmp::Later, &["Id"], false);
    assert_eq!(
        every.select(&answer, &params, &later),
        Ok(json!(["A", "B"]))
    );
    let missing = w(Arg::Param("key"), Cmp::Eq, &["Status"], true);
    assert_eq!(
        missing.select(&json!({"Keys": []}), &params, &later),
        Ok(Value::Null)
    );
}

/// Every definition is well formed: the values its conditions and outputs read are picked,
/// the names are unique in their phase, every parameter it names is the action's.
#[test]
fn definitions_are_well_formed() {
    for action in crate::domain::catalog::Action::ALL {
        let Some(def) = action.definition() else {
            continue;
        };
        let spec = action.spec();
        let values = def.values();
        for (phase, asks) in def.phases() {
            for (i, ask) in asks.iter().enumerate() {
                let Some(w) = &ask.when else { continue };
                let mut read = Vec::new();
                w.names(&mut read);
                for n in read {
                    let earlier_phase = PHASES
                        .iter()
                        .take_while(|p| **p != phase)
                        .any(|p| n.starts_with(&format!("{p}.")));
                    let earlier_ask = asks[..i]
                        .iter()
                        .flat_map(|a| a.picks)
                        .any(|p| n == format!("{phase}.{}", p.name));
                    assert!(
                        earlier_phase || earlier_ask,
                        "{}: a `when` reads `{n}`, which is not picked before it",
                        spec.name
                    );
                }
            }
        }
        for n in def.reads() {
            assert!(
                values.iter().any(|v| v == n),
                "{}: `{n}` is not picked",
                spec.name
            );
        }
        let mut sorted = values.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(
            sorted.len(),
            values.len(),
            "{}: a name is picked twice",
            spec.name
        );
        for (name, _) in def.outputs {
            assert!(spec.output(name).is_some(), "{}: output {name}", spec.name);
        }
        for o in spec.outputs {
            assert!(
                def.outputs.iter().any(|(n, _)| n == &o.name),
                "{}: output {} is not defined",
                spec.name,
                o.name
            );
        }
        let mut params = Vec::new();
        for call in def.calls() {
            collect_params(call.args, &mut params);
        }
        for text in [def.plan, def.unverified]
            .into_iter()
            .chain(def.refuse.iter().map(|r| r.message))
        {
            for part in message_parts(text) {
                if let Err(p) = part {
                    // A state machine's messages cannot take a URL's host.
                    assert!(
                        text == def.plan || !p.ends_with(super::HOST),
                        "{}: `{p}` outside the plan",
                        spec.name
                    );
                    params.push(p.strip_suffix(super::HOST).unwrap_or(p));
                }
            }
        }
        // A time compared with, or a text whose beginning is, is a parameter of the action or
        // a value.
        fn times(c: &Cond, out: &mut Vec<Arg>) {
            match c {
                Cond::NotBefore(_, than) | Cond::Starts(than, _) => out.push(*than),
                Cond::All(cs) | Cond::Any(cs) => cs.iter().for_each(|c| times(c, out)),
                Cond::Not(c) | Cond::Local(c) => times(c, out),
                _ => {}
            }
        }
        let mut compared = Vec::new();
        times(&def.done_when, &mut compared);
        def.verified_when
            .iter()
            .for_each(|c| times(c, &mut compared));
        def.refuse
            .iter()
            .for_each(|r| times(&r.when, &mut compared));
        for than in compared {
            match than {
                Arg::IfGiven(p) | Arg::Param(p) => params.push(p),
                Arg::Value(_) => {}
                other => panic!("{}: a time compared with {other:?}", spec.name),
            }
        }
        // Only a read-back has a check of the local engine's only (a state machine takes it
        // as holding, which would decide for it elsewhere).
        fn has_local(c: &Cond) -> bool {
            match c {
                Cond::Local(_) => true,
                Cond::All(cs) | Cond::Any(cs) => cs.iter().any(has_local),
                Cond::Not(c) => has_local(c),
                _ => false,
            }
        }
        assert!(
            !has_local(&def.done_when)
                && def.refuse.iter().all(|r| !has_local(&r.when))
                && def
                    .before
                    .iter()
                    .chain(def.change)
                    .chain(def.after)
                    .all(|a| a.when.is_none_or(|w| !has_local(&w))),
            "{}: a local-only check outside the read-back",
            spec.name
        );
        // A format's arguments are paths on a state machine (`States.Format`).
        fn formats(args: &[(&str, Arg)], name: &str) {
            for (_, a) in args {
                match a {
                    Arg::Format(_, items) => assert!(
                        items.iter().all(|i| matches!(
                            i,
                            Arg::Param(_) | Arg::Value(_) | Arg::Item | Arg::ArnPart(..)
                        )),
                        "{name}: a format argument that is not a parameter, value or item"
                    ),
                    // `States.StringSplit` leaves out the empty field after `iam:` or `s3:`.
                    Arg::ArnPart(_, n) => assert!(*n < 3, "{name}: ARN field {n}"),
                    Arg::Obj(m) | Arg::Json(m) | Arg::WithStatement(_, m) | Arg::WithItem(_, m) => {
                        formats(m, name)
                    }
                    Arg::List(items) => items.iter().for_each(|i| formats(&[("", *i)], name)),
                    _ => {}
                }
            }
        }
        def.calls().for_each(|c| formats(c.args, spec.name));
        // A JSON text is a call's own member, of a call made once.
        for ask in def.before.iter().chain(def.change).chain(def.after) {
            fn nested(args: &[(&str, Arg)]) -> bool {
                args.iter().any(|(_, a)| match a {
                    Arg::Json(_) | Arg::WithStatement(..) => true,
                    Arg::Obj(m) => nested(m),
                    Arg::List(items) => items.iter().any(|i| nested(&[("", *i)])),
                    _ => false,
                })
            }
            let inner = ask.call.args.iter().any(|(_, a)| match a {
                Arg::Obj(m) | Arg::Json(m) | Arg::WithStatement(_, m) | Arg::WithItem(_, m) => {
                    nested(m)
                }
                Arg::List(items) => items.iter().any(|i| nested(&[("", *i)])),
                _ => false,
            });
            let top = ask
                .call
                .args
                .iter()
                .any(|(_, a)| matches!(a, Arg::Json(_) | Arg::WithStatement(..)));
            assert!(
                !(inner || (top && ask.each.is_some())),
                "{}: a JSON text inside a member or in a call per item",
                spec.name
            );
            fn has_item(args: &[(&str, Arg)]) -> bool {
                args.iter().any(|(_, a)| match a {
                    Arg::WithItem(..) => true,
                    Arg::Obj(m) => has_item(m),
                    _ => false,
                })
            }
            assert!(
                !(has_item(ask.call.args) && ask.each.is_some()),
                "{}: a list with an item appended in a call per item",
                spec.name
            );
        }
        // A call made again, or left out for some items, says how.
        for ask in def.before.iter().chain(def.change).chain(def.after) {
            if let Some(l) = ask.except_in {
                assert!(
                    ask.each.is_some() && ask.paired.is_none(),
                    "{}: `except_in` without a call per item, or with a paired list",
                    spec.name
                );
                assert!(values.iter().any(|v| v == l), "{}: `{l}`", spec.name);
            }
            // `made` is what a call per item's iterations say of themselves on Step Functions.
            assert!(
                ask.each.is_none() || ask.picks.iter().all(|p| p.name != "made"),
                "{}: a pick named `made` in a call per item",
                spec.name
            );
            assert!(
                !ask.at_once || ask.each.is_some(),
                "{}: `at_once` without a call per item",
                spec.name
            );
            if let Some(u) = ask.until {
                assert!(
                    spec.param(u.unless).is_some_and(|p| p.default.is_some()),
                    "{}: `{}` is no parameter with a default",
                    spec.name,
                    u.unless
                );
            }
        }
        // A call only one engine can make is asked of that engine only.
        for ask in def.before.iter().chain(def.change).chain(def.after) {
            if let Some(e) = ask.call.op.engine() {
                assert_eq!(
                    ask.only,
                    Some(e),
                    "{}: {} is made by {e:?} only",
                    spec.name,
                    ask.call.op.name()
                );
            }
        }
        for ask in def.before.iter().chain(def.change).chain(def.after) {
            for p in ask.picks {
                if let From::Where(w) | From::WhereIn(_, w) = p.from
                    && let Arg::Param(name) | Arg::IfGiven(name) = w.is
                {
                    params.push(name);
                }
            }
        }
        for ask in def.before.iter().chain(def.change).chain(def.after) {
            for p in ask.picks {
                if let From::Where(w) | From::WhereIn(_, w) = p.from {
                    assert!(
                        w.take.len() == 1 || w.take.iter().all(|m| !m.contains('.')),
                        "{}: {} takes dotted members beside others",
                        spec.name,
                        p.name
                    );
                }
            }
        }
        for p in params {
            assert!(spec.param(p).is_some(), "{}: no parameter `{p}`", spec.name);
        }
        // Messages become `States.Format` templates, in which the emulator cannot parse
        // an escaped quote.
        for text in [def.plan, def.unverified]
            .into_iter()
            .chain(def.refuse.iter().map(|r| r.message))
        {
            assert!(!text.contains('\''), "{}: a quote in `{text}`", spec.name);
        }
        for ask in def.before.iter().chain(def.change).chain(def.after) {
            if let Some(list) = ask.each {
                assert!(values.iter().any(|v| v == list), "{}: `{list}`", spec.name);
                for p in ask.picks {
                    assert!(
                        matches!(
                            p.from,
                            From::Present | From::Member(_) | From::Item | From::Where(_)
                        ),
                        "{}: {} in a call per item",
                        spec.name,
                        p.name
                    );
                }
                if let Some(paired) = ask.paired {
                    assert!(
                        values.iter().any(|v| v == paired),
                        "{}: `{paired}`",
                        spec.name
                    );
                }
            } else {
                assert!(
                    ask.paired.is_none(),
                    "{}: a paired list without a call per item",
                    spec.name
                );
                for p in ask.picks {
                    assert!(
                        !matches!(p.from, From::Item),
                        "{}: {} picks the item of a call made once",
                        spec.name,
                        p.name
                    );
                }
            }
            fn paired_args(args: &[(&str, Arg)], out: &mut usize) {
                for (_, a) in args {
                    match a {
                        Arg::Paired => *out += 1,
                        Arg::Obj(inner) => paired_args(inner, out),
                        Arg::List(items) => {
                            let inner: Vec<(&str, Arg)> = items.iter().map(|i| ("", *i)).collect();
                            paired_args(&inner, out);
                        }
                        _ => {}
                    }
                }
            }
            let mut n = 0;
            paired_args(ask.call.args, &mut n);
            assert!(
                n == 0 || ask.paired.is_some(),
                "{}: `Arg::Paired` in a call without a paired list",
                spec.name
            );
        }
        // A wildcard's matches are a list on Step Functions only up to one member past the
        // path's last list (the emulator gives one match deeper down unwrapped).
        for ask in def.before.iter().chain(def.change).chain(def.after) {
            for p in ask.picks {
                if let From::Each(path) | From::Distinct(path) = p.from
                    && let Some((_, rest)) = path.rsplit_once("[*]")
                {
                    assert!(
                        rest.matches('.').count() <= 1,
                        "{}: `{path}` goes deeper than one member past its last list",
                        spec.name
                    );
                }
            }
        }
        // A decoded value is evidence only: a state machine does not hold it.
        let read = def.reads();
        for (phase, asks) in def.phases() {
            for p in asks.iter().flat_map(|a| a.picks) {
                if matches!(p.from, From::Decoded(_) | From::Policy(_)) {
                    let name = format!("{phase}.{}", p.name);
                    assert!(
                        !read.contains(&name.as_str()),
                        "{}: `{name}` is decoded, for evidence only, but read",
                        spec.name
                    );
                }
            }
        }
    }
}

/// A list argument is all paths or all objects and constants (ASL cannot mix them).
#[test]
fn lists_do_not_mix_paths_and_objects() {
    fn walk(args: &[(&str, Arg)], name: &str) {
        for (_, a) in args {
            match a {
                Arg::List(items) => {
                    let paths = items
                        .iter()
                        .filter(|i| !matches!(i, Arg::Obj(_) | Arg::Text(_) | Arg::Bool(_)))
                        .count();
                    assert!(paths == 0 || paths == items.len(), "{name}");
                    for i in *items {
                        if let Arg::Obj(m) = i {
                            walk(m, name);
                        }
                    }
                }
                Arg::Obj(m) | Arg::Json(m) | Arg::WithStatement(_, m) | Arg::WithItem(_, m) => {
                    walk(m, name)
                }
                _ => {}
            }
        }
    }
    for action in crate::domain::catalog::Action::ALL {
        if let Some(def) = action.definition() {
            for call in def.calls() {
                walk(call.args, action.spec().name);
            }
        }
    }
}

/// A parameter a call leaves out when not given has no default: the local engine's
/// parameters hold defaults, a state machine knows only what the playbook gave.
#[test]
fn left_out_parameters_have_no_default() {
    fn walk(args: &[(&str, Arg)], spec: &crate::domain::catalog::Spec) {
        for (_, a) in args {
            match a {
                Arg::IfGiven(p) => assert!(
                    spec.param(p).is_some_and(|p| p.default.is_none()),
                    "{}: `{p}`",
                    spec.name
                ),
                Arg::Obj(m) | Arg::Json(m) | Arg::WithStatement(_, m) | Arg::WithItem(_, m) => {
                    walk(m, spec)
                }
                _ => {}
            }
        }
    }
    for action in crate::domain::catalog::Action::ALL {
        if let Some(def) = action.definition() {
            for call in def.calls() {
                walk(call.args, action.spec());
            }
        }
    }
}

fn collect_params(args: &[(&str, Arg)], out: &mut Vec<&'static str>) {
    for (_, a) in args {
        match a {
            Arg::Obj(m) | Arg::Json(m) | Arg::WithStatement(_, m) | Arg::WithItem(_, m) => {
                collect_params(m, out)
            }
            Arg::Param(p)
            | Arg::IfGiven(p)
            | Arg::ListOf(p)
            | Arg::Tags(p)
            | Arg::ArnPart(p, _) => out.push(p),
            Arg::List(items) | Arg::Format(_, items) => {
                for i in *items {
                    collect_params(&[("", *i)], out);
                }
            }
            Arg::Text(_)
            | Arg::Bool(_)
            | Arg::Int(_)
            | Arg::Item
            | Arg::Paired
            | Arg::Value(_)
            | Arg::LastPart(..) => {}
        }
    }
}

#[test]
fn a_policy_document_gains_a_statement_and_is_compared_by_its_statements() {
    const STATEMENT: &[(&str, Arg)] = &[
        ("Effect", Arg::Text("Deny")),
        (
            "Resource",
            Arg::Format("arn:{}:s3:::{}", &[Arg::ArnPart("who", 1), Arg::Param("b")]),
        ),
    ];
    const CALL: Call = Call {
        op: Op::S3PutBucketPolicy,
        args: &[("Policy", Arg::WithStatement("before.p", STATEMENT))],
    };
    let params = json!({"who": "arn:aws-cn:iam::1:user/u", "b": "bkt"})
        .as_object()
        .cloned()
        .unwrap();
    let ours = json!({"Effect": "Deny", "Resource": "arn:aws-cn:s3:::bkt"});
    let other = json!({"Effect": "Allow", "Resource": "*"});
    let policy = |v: Value| json!({"before": {"p": v}});
    let with = |v: Value| -> Value {
        let text = args(&CALL, &params, &policy(v))["Policy"].clone();
        serde_json::from_str(text.as_str().unwrap()).unwrap()
    };
    // None yet: a new document; one statement written without a list: a list of two.
    assert_eq!(
        with(Value::Null),
        json!({"Version": "2012-10-17", "Statement": [ours]})
    );
    let single = json!({"Version": "2012-10-17", "Id": "x", "Statement": other}).to_string();
    assert_eq!(
        with(json!(single)),
        json!({"Version": "2012-10-17", "Id": "x", "Statement": [other, ours]})
    );
    let holds = |c: Cond, v: &Value| c.holds(v, &params, &later);
    let both = json!({"before": {"p": single},
        "after": {"p": json!({"Statement": [other, ours]}).to_string()}});
    assert!(!holds(Cond::HasStatement("before.p", STATEMENT), &both));
    assert!(holds(Cond::HasStatement("after.p", STATEMENT), &both));
    assert!(holds(Cond::Keeps("before.p", "after.p"), &both));
    assert!(!holds(Cond::Keeps("after.p", "before.p"), &both));
    // What is not a policy document is refused, and has no statement.
    for bad in [
        json!("not json"),
        json!("[1]"),
        json!("{\"Statement\": 3}"),
        json!(4),
    ] {
        let v = policy(bad.clone());
        assert!(!holds(Cond::PolicyText("before.p"), &v), "{bad}");
        assert!(
            !holds(Cond::HasStatement("before.p", STATEMENT), &v),
            "{bad}"
        );
    }
    assert!(holds(Cond::PolicyText("before.p"), &policy(Value::Null)));
}

#[test]
fn a_list_gains_an_item() {
    const CALL: Call = Call {
        op: Op::S3PutObjectTagging,
        args: &[(
            "Tagging",
            Arg::Obj(&[(
                "TagSet",
                Arg::WithItem(
                    "before.others",
                    &[("Key", Arg::Text("k")), ("Value", Arg::Param("v"))],
                ),
            )]),
        )],
    };
    let params = json!({"v": "x"}).as_object().cloned().unwrap();
    let tags = |others: Value| args(&CALL, &params, &json!({"before": {"others": others}}));
    assert_eq!(
        tags(json!([{"Key": "team", "Value": "a"}]))["Tagging"]["TagSet"],
        json!([{"Key": "team", "Value": "a"}, {"Key": "k", "Value": "x"}])
    );
    assert_eq!(
        tags(json!([]))["Tagging"]["TagSet"],
        json!([{"Key": "k", "Value": "x"}])
    );
}
