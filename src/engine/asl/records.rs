//! The evidence a state machine writes: where it goes (from the execution input), the finding
//! and plan records firebreak wrote, each step's record chained to the one before, and the
//! manifest.

use serde_json::{Map, Value, json};

use super::values::{finding_jsonpath, glob};
use super::{Compiler, Val, intrinsic_text, link, retriers};
use crate::domain::catalog::Effect;
use crate::domain::expr::Seg;
use crate::domain::retry::RetryPolicy;

impl Compiler<'_> {
    /// The states before the steps: the finding, its optional fields, the inputs and
    /// `no_containment`. Returns (first state, last state).
    pub(super) fn prologue(&mut self, states: &mut Map<String, Value>) -> (String, String) {
        // Evidence: where firebreak (which wrote the finding and plan records) wants the
        // step records and the manifest; none when the execution was started without it.
        states.insert(
            "Evidence?".into(),
            json!({
                "Type": "Choice",
                "Comment": "`firebreak run --engine sfn --evidence s3://…` passes where records go.",
                "Choices": [{"Variable": "$.firebreak.evidence.bucket", "IsPresent": true, "Next": "Evidence from firebreak"}],
                "Default": "No evidence",
            }),
        );
        states.insert(
            "Evidence from firebreak".into(),
            json!({"Type": "Pass", "Parameters": {
                "ev.$": "$.firebreak.evidence",
                "head.$": "$.firebreak.evidence.plan.sha256",
            }, "ResultPath": "$.fb", "Next": "Finding"}),
        );
        states.insert(
            "No evidence".into(),
            json!({"Type": "Pass", "Result": {"ev": null, "head": crate::domain::digest::GENESIS}, "ResultPath": "$.fb", "Next": "Finding"}),
        );
        states.insert(
            "Finding".into(),
            json!({
                "Type": "Choice",
                "Comment": "The input is an EventBridge event (the finding in `detail`) or a bare finding.",
                "Choices": [{"Variable": "$.detail", "IsPresent": true, "Next": "Finding from event"}],
                "Default": "Finding as given",
            }),
        );
        let init = |finding: &str| {
            json!({
                "Type": "Pass",
                "Parameters": {
                    "ctx": {"finding.$": finding, "f": {}, "inputs": {}, "no_containment": null, "ev.$": "$.fb.ev"},
                    "steps": {},
                    "head.$": "$.fb.head",
                },
            })
        };
        states.insert("Finding from event".into(), init("$.detail"));
        states.insert("Finding as given".into(), init("$"));
        let mut last: Vec<String> = vec!["Finding from event".into(), "Finding as given".into()];
        let mut chain = |states: &mut Map<String, Value>, entry: &str, exits: Vec<String>| {
            for l in &last {
                link(states, l, Some(entry));
            }
            last = exits;
        };

        let fields: Vec<(String, (String, Vec<Seg>))> = self
            .fields
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (i, (display, (key, segs))) in fields.into_iter().enumerate() {
            // State names are at most 80 characters: a long path keeps its end, numbered so
            // that two long paths cannot share a name.
            let chars: Vec<char> = display.chars().collect();
            let display = if chars.len() > 60 {
                let tail: String = chars[chars.len() - 54..].iter().collect();
                format!("{}…{tail}", i + 1)
            } else {
                display
            };
            let name = format!("Field {display}");
            let present = format!("Field {display}: present");
            let absent = format!("Field {display}: absent");
            let src = finding_jsonpath(&segs);
            let target = format!("$.ctx.f.{key}");
            states.insert(
                name.clone(),
                json!({
                    "Type": "Choice",
                    "Choices": [{"Variable": src, "IsPresent": true, "Next": present}],
                    "Default": absent,
                }),
            );
            // A list index is taken with `States.ArrayGetItem`, one index at a time through
            // `$.ctx.tmp`: the emulator reads an indexed path such as `a[0].b` as a list.
            let mut passes: Vec<Value> = Vec::new();
            let mut cur = String::from("$.ctx.finding");
            for seg in &segs {
                match seg {
                    Seg::Field(f) => {
                        cur.push('.');
                        cur.push_str(f);
                    }
                    Seg::Index(i) => {
                        passes.push(json!({
                            "Type": "Pass",
                            "Parameters": {"v.$": format!("States.ArrayGetItem({cur}, {i})")},
                            "ResultPath": "$.ctx.tmp",
                        }));
                        cur = "$.ctx.tmp.v".into();
                    }
                }
            }
            passes.push(json!({"Type": "Pass", "InputPath": cur, "ResultPath": target}));
            let count = passes.len();
            let ordered: Vec<String> = (0..count)
                .map(|i| {
                    if i == 0 {
                        present.clone()
                    } else {
                        format!("{present} ({})", i + 1)
                    }
                })
                .collect();
            for (i, mut st) in passes.into_iter().enumerate() {
                if i + 1 < count {
                    st["Next"] = json!(ordered[i + 1]);
                }
                states.insert(ordered[i].clone(), st);
            }
            let last = ordered[count - 1].clone();
            states.insert(
                absent.clone(),
                json!({"Type": "Pass", "Result": null, "ResultPath": target}),
            );
            chain(states, &name, vec![last, absent]);
        }

        for name in self.inputs.keys() {
            if !self.pb.inputs.iter().any(|i| &i.name == name) {
                let names: Vec<&str> = self.pb.inputs.iter().map(|i| i.name.as_str()).collect();
                self.err(
                    None,
                    format!("`{name}` is not an input of playbook {}", self.pb.name),
                    format!("its inputs are: {}", names.join(", ")),
                );
            }
        }
        let inputs = self.pb.inputs.clone();
        for input in &inputs {
            let name = format!("Input {}", input.name);
            let target = format!("$.ctx.inputs.{}", input.name);
            if let Some(given) = self.inputs.get(&input.name) {
                let value = input
                    .ty
                    .coerce(&Value::String(given.clone()))
                    .unwrap_or_else(|| Value::String(given.clone()));
                states.insert(
                    name.clone(),
                    json!({"Type": "Pass", "Comment": "fixed when compiled", "Result": value, "ResultPath": target}),
                );
                chain(states, &name, vec![name.clone()]);
                continue;
            }
            let fallback = |required: bool| -> Value {
                match (&input.default, required) {
                    (Some(d), _) => json!({"Type": "Pass", "Result": d, "ResultPath": target}),
                    (None, true) => json!({
                        "Type": "Fail",
                        "Error": "firebreak.BindError",
                        "Cause": format!(
                            "required input `{}` is missing: the finding has no {}",
                            input.name,
                            input.from.as_ref().map(|t| t.paths().iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")).unwrap_or_default()
                        ),
                    }),
                    (None, false) => json!({"Type": "Pass", "Result": null, "ResultPath": target}),
                }
            };
            match &input.from {
                None => {
                    if input.default.is_none() && input.required {
                        self.err(
                            None,
                            format!("input `{}` has neither `from` nor `default`", input.name),
                            "give it a default; the state machine has no `--input`",
                        );
                        continue;
                    }
                    states.insert(name.clone(), fallback(false));
                    chain(states, &name, vec![name.clone()]);
                }
                Some(t) => {
                    let Some(val) = self.template(None, t) else {
                        continue;
                    };
                    let given = format!("Input {}: from finding", input.name);
                    let missing = format!("Input {}: missing", input.name);
                    match val {
                        Val::Lit(v) => {
                            states.insert(
                                name.clone(),
                                json!({"Type": "Pass", "Result": v, "ResultPath": target}),
                            );
                            chain(states, &name, vec![name.clone()]);
                        }
                        // A field, bound when the finding has it; `basename(finding.x)`,
                        // computed from the field by intrinsics when it is there. Without the
                        // field the input is missing, as the local planner binds it.
                        Val::Path(p) if p.starts_with('$') || is_basename(t) => {
                            let (field, first) = if p.starts_with('$') {
                                states.insert(
                                    given.clone(),
                                    json!({"Type": "Pass", "InputPath": p, "ResultPath": target}),
                                );
                                (p.clone(), given.clone())
                            } else {
                                let Some(field) =
                                    t.paths().into_iter().find_map(|path| self.path(None, path))
                                else {
                                    continue;
                                };
                                let compute = format!("Input {}: computed", input.name);
                                states.insert(
                                    compute.clone(),
                                    json!({"Type": "Pass", "Parameters": {"v.$": p}, "ResultPath": "$.ctx.tmp", "Next": given}),
                                );
                                states.insert(
                                    given.clone(),
                                    json!({"Type": "Pass", "InputPath": "$.ctx.tmp.v", "ResultPath": target}),
                                );
                                (field, compute)
                            };
                            states.insert(
                                name.clone(),
                                json!({
                                    "Type": "Choice",
                                    "Choices": [{"Variable": field, "IsNull": false, "Next": first}],
                                    "Default": missing,
                                }),
                            );
                            let fb = fallback(input.required);
                            let fails = fb["Type"] == "Fail";
                            states.insert(missing.clone(), fb);
                            let mut exits = vec![given];
                            if !fails {
                                exits.push(missing);
                            }
                            chain(states, &name, exits);
                        }
                        Val::Path(p) => {
                            states.insert(
                                name.clone(),
                                json!({"Type": "Pass", "Parameters": {"v.$": p}, "ResultPath": "$.ctx.tmp"}),
                            );
                            states.insert(
                                given.clone(),
                                json!({"Type": "Pass", "InputPath": "$.ctx.tmp.v", "ResultPath": target}),
                            );
                            link(states, &name, Some(&given));
                            chain(states, &name, vec![given]);
                        }
                    }
                }
            }
        }

        if !self.pb.no_containment.is_empty() {
            let mut choices = Vec::new();
            let rules = self.pb.no_containment.clone();
            for (i, rule) in rules.iter().enumerate() {
                let mut any = Vec::new();
                for t in &rule.types {
                    match glob(t) {
                        Some(g) => {
                            any.push(json!({"Variable": "$.ctx.finding.type", "StringMatches": g}))
                        }
                        None => self.err(
                            None,
                            format!("no_containment type pattern `{t}` uses `?`"),
                            "Step Functions' StringMatches knows only `*`",
                        ),
                    }
                }
                let target = format!("No containment {}", i + 1);
                // The local planner's reason: "no containment for TYPE: REASON".
                states.insert(
                    target.clone(),
                    json!({
                        "Type": "Pass",
                        "Parameters": {"reason.$": format!(
                            "States.Format('no containment for {{}}: {}', $.ctx.finding.type)",
                            intrinsic_text(rule.reason.trim())
                        )},
                        "ResultPath": "$.ctx.no_containment",
                    }),
                );
                let mut rule = if any.len() == 1 {
                    any.remove(0)
                } else {
                    json!({"Or": any})
                };
                if let Some(w) = rules[i].when.as_ref().map(|c| c.expr.clone()) {
                    match self.condition(None, &w) {
                        Some(c) => rule = json!({"And": [rule, c]}),
                        None => continue,
                    }
                }
                rule["Next"] = json!(target);
                choices.push(rule);
            }
            let exits: Vec<String> = (1..=rules.len())
                .map(|i| format!("No containment {i}"))
                .chain(["Containment allowed".to_string()])
                .collect();
            states.insert(
                "No containment?".into(),
                json!({"Type": "Choice", "Choices": choices, "Default": "Containment allowed"}),
            );
            states.insert("Containment allowed".into(), json!({"Type": "Pass"}));
            chain(states, "No containment?", exits);
        }

        states.insert(
            "Steps".into(),
            json!({"Type": "Pass", "Comment": "Bound; the steps follow."}),
        );
        chain(states, "Steps", vec!["Steps".into()]);
        ("Evidence?".into(), "Steps".into())
    }

    /// After the steps, with evidence: the run's status (as the local engine decides it) and
    /// the manifest listing every record with its SHA-256, written last; then `Done`.
    pub(super) fn manifest(&mut self, states: &mut Map<String, Value>, order: &[String]) {
        let pb = self.pb;
        let status_is = |id: &String, s: &str| json!({"Variable": format!("$.steps.{id}.status"), "StringEquals": s});
        let failed: Vec<Value> = order.iter().map(|id| status_is(id, "failed")).collect();
        let contained: Vec<Value> = pb
            .steps
            .iter()
            .filter(|s| s.action.spec().effect == Effect::Contain)
            .map(|s| status_is(&s.id, "succeeded"))
            .collect();
        states.insert(
            "Manifest?".into(),
            json!({"Type": "Choice", "Choices": [{"Variable": "$.ctx.ev", "IsNull": true, "Next": "Done"}], "Default": "Run status"}),
        );
        let (can_fail, can_contain) = (!failed.is_empty(), !contained.is_empty());
        let mut choices = Vec::new();
        if !failed.is_empty() && !contained.is_empty() {
            choices.push(
                json!({"And": [{"Or": failed}, {"Or": contained}], "Next": "Status partial"}),
            );
        }
        if !failed.is_empty() {
            choices.push(json!({"Or": failed, "Next": "Status failed"}));
        }
        let mut status = json!({"Type": "Choice", "Default": "Status succeeded"});
        if choices.is_empty() {
            status = json!({"Type": "Pass", "Next": "Status succeeded"});
        } else {
            status["Choices"] = json!(choices);
        }
        states.insert("Run status".into(), status);
        let mut reachable = vec!["succeeded"];
        if can_fail {
            reachable.push("failed");
            if can_contain {
                reachable.push("partial");
            }
        }
        for s in reachable {
            states.insert(
                format!("Status {s}"),
                json!({"Type": "Pass", "Result": s, "ResultPath": "$.run_status", "Next": "Manifest"}),
            );
        }
        let last = order
            .last()
            .map_or("$.head".to_string(), |id| format!("$.steps.{id}.sha"));
        let mut records = vec![
            json!({"seq": 0, "kind": "finding", "key.$": "$.ctx.ev.finding.key", "sha256.$": "$.ctx.ev.finding.sha256"}),
            json!({"seq": 1, "kind": "plan", "key.$": "$.ctx.ev.plan.key", "sha256.$": "$.ctx.ev.plan.sha256"}),
        ];
        for id in order {
            let seq = self.seqs.get(id).copied().unwrap_or_default();
            records.push(json!({
                "seq": seq,
                "kind": "step",
                "key.$": format!("States.Format('{{}}/{}', $.ctx.ev.folder)", intrinsic_text(&format!("{seq:04}-step-{id}.json"))),
                "sha256.$": format!("$.steps.{id}.sha"),
            }));
        }
        let seq = order.len() as u64 + 2;
        states.insert(
            "Manifest".into(),
            json!({"Type": "Pass", "Parameters": {
                "schema": "firebreak.evidence.manifest/v1",
                "seq": seq,
                "execution_id.$": "$$.Execution.Name",
                "prev_sha256.$": last,
                "recorded_at.$": "$$.State.EnteredTime",
                "engine": "sfn",
                "finding_id.$": "$.ctx.finding.id",
                "finding_type.$": "$.ctx.finding.type",
                "account_id.$": "$.ctx.finding.accountId",
                "region.$": "$.ctx.finding.region",
                "playbook": pb.name,
                "caller.$": "$$.Execution.RoleArn",
                "firebreak_version": env!("CARGO_PKG_VERSION"),
                "status.$": "$.run_status",
                // When firebreak accepted the finding, as the local engine's manifest says.
                "started_at.$": "$.ctx.ev.started_at",
                "ended_at.$": "$$.State.EnteredTime",
                "time_to_contain_ms": null,
                "records": records,
                "chain_head.$": last,
            }, "ResultPath": "$.rec", "Next": "Manifest text"}),
        );
        self.write_record(
            states,
            "Manifest text",
            &format!("{seq:04}-manifest.json"),
            "the manifest",
            "Done",
        );
    }

    /// The states that write step `id`'s evidence record (when the execution keeps evidence):
    /// the record built from `$.steps.<id>.report`, its exact text and SHA-256
    /// (`States.Hash`), an `s3:putObject` with Object Lock and write-once, then the hash
    /// becomes the branch's `$.head`. A record that cannot be written fails the execution.
    pub(super) fn record(
        &mut self,
        id: &str,
        states: &mut Map<String, Value>,
        entry: &str,
        then: &str,
    ) {
        let seq = self.seqs.get(id).copied().unwrap_or_default();
        let n = |s: &str| format!("{id}: {s}");
        states.insert(
            entry.to_string(),
            json!({
                "Type": "Choice",
                "Choices": [{"Variable": "$.ctx.ev", "IsNull": true, "Next": then}],
                "Default": n("record"),
            }),
        );
        states.insert(
            n("record"),
            json!({"Type": "Pass", "Parameters": {
                "schema": "firebreak.evidence.step/v1",
                "seq": seq,
                "execution_id.$": "$$.Execution.Name",
                "prev_sha256.$": "$.head",
                "recorded_at.$": "$$.State.EnteredTime",
                "engine": "sfn",
                "step.$": format!("$.steps.{id}.report"),
                "params.$": format!("$.steps.{id}.params"),
            }, "ResultPath": "$.rec", "Next": n("record text")}),
        );
        self.write_record(
            states,
            &n("record text"),
            &format!("{seq:04}-step-{id}.json"),
            &format!("the record of step `{id}`"),
            &n("recorded"),
        );
        states.insert(
            n("recorded"),
            json!({"Type": "Pass", "InputPath": "$.w.sha", "ResultPath": format!("$.steps.{id}.sha"), "Next": n("head")}),
        );
        states.insert(
            n("head"),
            json!({"Type": "Pass", "InputPath": "$.w.sha", "ResultPath": "$.head", "Next": then}),
        );
    }

    /// From the record at `$.rec`: its text and SHA-256 at `$.w`, then the write of
    /// `{folder}/{name}`; starts at `first`, continues at `next`.
    pub(super) fn write_record(
        &mut self,
        states: &mut Map<String, Value>,
        first: &str,
        name: &str,
        what: &str,
        next: &str,
    ) {
        let hash = format!("{first}: hash");
        let put = format!("{first}: PutObject");
        let lost = format!("{first}: not written");
        states.insert(
            first.to_string(),
            json!({"Type": "Pass", "Parameters": {"body.$": "States.JsonToString($.rec)"}, "ResultPath": "$.w", "Next": hash}),
        );
        states.insert(
            hash.clone(),
            json!({"Type": "Pass", "Parameters": {
                "body.$": "$.w.body",
                "sha.$": "States.Hash($.w.body, 'SHA-256')",
            }, "ResultPath": "$.w", "Next": put}),
        );
        let mut task = json!({
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:s3:putObject",
            "Parameters": {
                "Bucket.$": "$.ctx.ev.bucket",
                "Key.$": format!("States.Format('{{}}/{}', $.ctx.ev.folder)", intrinsic_text(name)),
                "Body.$": "$.w.body",
                "ContentType": "application/json",
                "ChecksumAlgorithm": "SHA256",
                "ObjectLockMode.$": "$.ctx.ev.lock_mode",
                "ObjectLockRetainUntilDate.$": "$.ctx.ev.retain_until",
                "IfNoneMatch": "*",
            },
            "TimeoutSeconds": 30,
            "ResultPath": null,
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.evidence_error", "Next": lost}],
            "Next": next,
        });
        task["Retry"] = retriers(&RetryPolicy::default(), "S3");
        states.insert(put, task);
        states.insert(
            lost,
            json!({
                "Type": "Fail",
                "Error": "firebreak.EvidenceWriteFailed",
                "Cause": format!("{what} could not be written to the evidence bucket; firebreak does not go on without its evidence"),
            }),
        );
    }
}

/// Whether a template is one `basename(path)`.
fn is_basename(t: &crate::domain::expr::Template) -> bool {
    use crate::domain::expr::{Expr, Func, Part};
    matches!(t.parts.as_slice(), [Part::Expr(Expr::Call(Func::Basename, args))] if matches!(args.as_slice(), [Expr::Path(_)]))
}
