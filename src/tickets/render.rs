//! Ticket texts (GitHub-flavoured Markdown), for a person who is not an AWS expert: what
//! happened, what firebreak did and where its evidence is, and how to check it. Every text is
//! scrubbed of secrets before it leaves, like evidence.

use std::fmt::Write as _;

use serde_json::Value;

use crate::domain::config::{Close, Decision};
use crate::domain::finding::Finding;
use crate::domain::scrub::scrub_text;
use crate::domain::triage::Triage;
use crate::engine::{RunReport, StepStatus};

/// GuardDuty's severity bands.
fn severity(s: f64) -> &'static str {
    match s {
        s if s >= 9.0 => "Critical",
        s if s >= 7.0 => "High",
        s if s >= 4.0 => "Medium",
        _ => "Low",
    }
}

fn text(v: &Value, pointer: &str) -> Option<String> {
    match v.pointer(pointer)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Table cells hold no pipes or line breaks.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// The resource the finding is about, in words.
fn resource(f: &Finding) -> String {
    let j = &f.json;
    let r = |p: &str| text(j, &format!("/resource{p}"));
    match f.resource_type.as_str() {
        "AccessKey" => format!(
            "access key {} of {} {}",
            r("/accessKeyDetails/accessKeyId").unwrap_or_else(|| "?".into()),
            match r("/accessKeyDetails/userType").as_deref() {
                Some("IAMUser") => "IAM user",
                Some("AssumedRole") => "role session",
                Some("Root") => "the account's root user",
                Some("FederatedUser") => "federated user",
                _ => "principal",
            },
            r("/accessKeyDetails/userName").unwrap_or_else(|| "?".into()),
        ),
        "Instance" => format!(
            "EC2 instance {}",
            r("/instanceDetails/instanceId").unwrap_or_else(|| "?".into())
        ),
        "S3Bucket" => format!(
            "S3 bucket {}",
            r("/s3BucketDetails/0/name").unwrap_or_else(|| "?".into())
        ),
        other => other.to_string(),
    }
}

/// Who acted, as GuardDuty saw it.
fn actor(f: &Finding) -> Option<String> {
    let action = f.json.pointer("/service/action")?;
    let details = action
        .as_object()?
        .values()
        .find_map(|a| a.get("remoteIpDetails"))?;
    let ip = text(details, "/ipAddressV4").or_else(|| text(details, "/ipAddressV6"))?;
    let mut s = ip;
    if let Some(c) = text(details, "/country/countryName") {
        let _ = write!(s, ", {c}");
    }
    if let Some(o) = text(details, "/organization/asnOrg") {
        let _ = write!(s, ", {o}");
    }
    Some(s)
}

/// The ticket's title.
pub fn title(f: &Finding) -> String {
    let t = format!(
        "[{}] {} on {} in {}",
        severity(f.severity),
        f.type_name,
        resource(f),
        f.account_id
    );
    scrub_text(&t).chars().take(240).collect()
}

/// The ticket's body: what happened, how it was triaged and what firebreak is doing.
pub fn opening(
    f: &Finding,
    triage: &Triage,
    playbook: Option<&crate::domain::playbook::Playbook>,
    execution_id: Option<&str>,
    alias: Option<&str>,
) -> String {
    let j = &f.json;
    let mut rows = vec![
        ("Finding type", format!("`{}`", f.type_name)),
        (
            "Severity",
            format!("{} ({})", severity(f.severity), f.severity),
        ),
        (
            "Account",
            match alias {
                Some(a) => format!("{} ({a})", f.account_id),
                None => f.account_id.clone(),
            },
        ),
        ("Region", f.region.clone()),
        ("Resource", resource(f)),
    ];
    if let Some(a) = actor(f) {
        rows.push(("Actor", a));
    }
    for (label, p) in [
        ("First seen", "/service/eventFirstSeen"),
        ("Last seen", "/service/eventLastSeen"),
        ("Count", "/service/count"),
    ] {
        if let Some(v) = text(j, p) {
            rows.push((label, v));
        }
    }
    let mut s = String::new();
    let _ = writeln!(s, "## What happened\n");
    if let Some(t) = text(j, "/title") {
        let _ = writeln!(s, "**{}**\n", cell(&t));
    }
    if let Some(d) = text(j, "/description") {
        let _ = writeln!(s, "{d}\n");
    }
    let _ = writeln!(s, "| | |\n|---|---|");
    for (k, v) in rows {
        let _ = writeln!(s, "| {k} | {} |", cell(&v));
    }
    let decided = match &triage.rule {
        Some(rule) => format!("by triage {rule}"),
        None => "by default".to_string(),
    };
    let _ = writeln!(s, "\n## What firebreak does\n");
    match (
        triage.decision,
        playbook.map(|p| p.name.as_str()),
        execution_id,
    ) {
        (Decision::Respond, Some(p), Some(e)) => {
            let closes = match triage.close {
                Close::OnContainment => "this ticket closes itself when the finding is contained",
                Close::OnArchive => {
                    "this ticket closes itself when the finding is archived in GuardDuty"
                }
                Close::Manual => "a person closes this ticket",
            };
            let _ = writeln!(
                s,
                "Containing it with playbook `{p}` (execution `{e}`), {decided}: {}. The outcome follows as a comment; {closes}, and it reopens if the finding comes back.\n",
                triage.reason
            );
        }
        _ => {
            let closes = match triage.close {
                Close::OnArchive => {
                    " This ticket closes itself when the finding is archived in GuardDuty."
                }
                _ => "",
            };
            let _ = writeln!(
                s,
                "Nothing is contained automatically, {decided}: {}. **A person decides** what to do: check the resource and the actor above, then contain it (`firebreak run --playbook NAME` on the finding) or close this ticket with the reason.{closes}\n",
                triage.reason
            );
        }
    }
    match playbook.and_then(|p| p.runbook.as_deref()) {
        Some(runbook) => {
            let _ = writeln!(s, "## Runbook\n\n{}\n", runbook.trim());
        }
        None => {
            let _ = writeln!(s, "## Runbook\n\n{}\n", generic_runbook(&f.resource_type));
        }
    }
    let _ = writeln!(
        s,
        "<!-- firebreak finding-id: {} incident: {} -->",
        f.id,
        super::incident_key(f)
    );
    let _ = write!(s, "Finding id: `{}`", f.id);
    scrub_text(&s)
}

/// What to do with a finding no playbook (or no playbook's `runbook:`) speaks for: the steps
/// of AWS's GuardDuty remediation guidance for its resource type, then the judgement.
fn generic_runbook(resource_type: &str) -> String {
    let specific = match resource_type {
        "AccessKey" => {
            "If the activity is not the principal's owner's: deactivate the access key (or revoke the role's sessions), deny the principal everything until it is understood, and read what it did in CloudTrail (the investigation below)."
        }
        "Instance" => {
            "If the instance is compromised: snapshot its volumes and keep its memory if you can, move it to a security group with no rules, detach it from its Auto Scaling group and load balancers, and revoke its instance profile's sessions."
        }
        "S3Bucket" | "S3Object" => {
            "Check who can reach the bucket (its policy, ACLs and Block Public Access), block public access, and read its data events for what was read or written; a malicious object is quarantined or deleted by its owner."
        }
        "EKSCluster" => {
            "Read the Kubernetes audit log for the pod, user and service account named; cordon the node, delete or isolate the pod, and revoke the service account's and the user's access (RBAC and IAM)."
        }
        "ECSCluster" | "Container" => {
            "Stop the task (its definition stays for forensics), revoke its task role's sessions, and check the image it ran for what was planted."
        }
        "Lambda" => {
            "Check the function's code and layers for changes, revoke its execution role's sessions, and set its reserved concurrency to 0 until it is understood."
        }
        "RDSDBInstance" | "RDSLimitlessDB" => {
            "Check the database user and the addresses named; change that user's password, restrict the database's security group, and read the database's logs for what was run."
        }
        _ => {
            "Find the resource named above and its owner; AWS's GuardDuty remediation guide for this finding type says what to contain."
        }
    };
    format!(
        "No playbook speaks for this finding.\n\n1. Read it in the GuardDuty console (the finding id is below): the resource, the actor, the addresses and the counts.\n2. Ask the resource's owner whether the activity is expected.\n3. {specific}\n4. Record the judgement: close this ticket with the reason; archive the finding in GuardDuty with feedback if it is a false positive; and add a `triage:` rule so the same pattern is decided without a person next time."
    )
}

/// The ticket of a message on the finding queue that firebreak cannot act on: its title and body,
/// with the message's text scrubbed and cut to 4,000 characters.
pub fn poison(message_id: &str, why: &str, text: &str) -> (String, String) {
    let title: String = scrub_text(&format!(
        "[firebreak] Message {message_id} on the finding queue cannot be acted on"
    ))
    .chars()
    .take(240)
    .collect();
    let mut shown: String = scrub_text(text).chars().take(4000).collect();
    if text.chars().count() > 4000 {
        shown.push_str("\n… (cut)");
    }
    let fence = if shown.contains("```") { "````" } else { "```" };
    let body = format!(
        "## What happened\n\nA message on firebreak's finding queue could not be acted on: {}.\n\nAfter its receives run out it goes to the queue's dead-letter queue and stays there: firebreak brings back only messages that hold findings. Nothing was contained.\n\n## The message (scrubbed)\n\n{fence}\n{shown}\n{fence}\n\n## What to do\n\n1. Find who sent it: only the EventBridge rule that `firebreak setup` made should send to the queue. A sender you do not know is an incident of its own.\n2. If it is a finding firebreak should read, `firebreak explain` on its text says what is wrong with it.\n3. Once it is understood, delete it from the dead-letter queue and close this ticket with the reason.\n\nSQS message id: `{message_id}`",
        scrub_text(why)
    );
    (title, body)
}

/// A comment: the finding was archived in GuardDuty, so the ticket closes (`close: on_archive`).
pub fn archived(finding_id: &str) -> String {
    scrub_text(&format!(
        "The finding `{finding_id}` is archived in GuardDuty: by its triage rule (`close: on_archive`) this ticket closes."
    ))
}

/// A comment: an execution's outcome, step by step, with its evidence and how to undo what
/// it changed.
pub fn outcome(r: &RunReport, params: &super::StepParams, evidence: &str, close: Close) -> String {
    let mut s = String::new();
    let status = format!("{:?}", r.status).to_lowercase();
    let _ = write!(s, "## Containment {status}");
    if let Some(ms) = r.time_to_contain_ms {
        let _ = write!(s, ": contained in {ms} ms");
    }
    let _ = writeln!(
        s,
        "\n\nPlaybook `{}`, execution `{}`.\n\n| step | action | outcome |\n|---|---|---|",
        r.playbook, r.execution_id
    );
    for step in &r.steps {
        let outcome = match step.status {
            StepStatus::Succeeded if step.changed => "changed".to_string(),
            StepStatus::Succeeded => "done".to_string(),
            StepStatus::Failed => format!(
                "**failed**: {}",
                step.error
                    .as_deref()
                    .map(crate::domain::render::brief)
                    .unwrap_or_default()
            ),
            StepStatus::Skipped => format!(
                "skipped: {}",
                step.skip_reason.as_deref().unwrap_or_default()
            ),
        };
        let _ = writeln!(
            s,
            "| {} | `{}` | {} |",
            cell(&step.id),
            step.action.spec().name,
            cell(&outcome)
        );
    }
    let undo: Vec<String> = r
        .steps
        .iter()
        .filter(|st| st.status == StepStatus::Succeeded && st.changed)
        .filter(|st| !st.action.spec().undo.is_empty())
        .map(|st| {
            format!(
                "- `{}` ({}): {}",
                st.id,
                st.action.spec().name,
                fill(st.action.spec().undo, &st.outputs, params.get(&st.id))
            )
        })
        .collect();
    if !undo.is_empty() {
        let _ = writeln!(s, "\n### How to undo\n\n{}", undo.join("\n"));
    }
    let _ = writeln!(
        s,
        "\n**Evidence**: `{evidence}` (execution `{}`). Check it with\n\n```\nfirebreak audit {evidence} --execution {}\n```",
        r.execution_id, r.execution_id
    );
    if r.status == crate::engine::RunStatus::Succeeded && close == Close::Manual {
        let _ = writeln!(
            s,
            "\nContained; by its triage rule this ticket stays open until a person closes it."
        );
    }
    if r.status == crate::engine::RunStatus::Succeeded && close == Close::OnArchive {
        let _ = writeln!(
            s,
            "\nContained; by its triage rule this ticket closes when the finding is archived in GuardDuty."
        );
    }
    if r.status != crate::engine::RunStatus::Succeeded {
        let _ = writeln!(
            s,
            "\nNot every step succeeded: the ticket stays open for a person. `firebreak explain` on the finding shows the plan; the failed steps' errors say what was missing."
        );
    }
    scrub_text(&s)
}

/// A comment: the finding came again.
pub fn again(
    f: &Finding,
    count_before: Option<u64>,
    execution_id: Option<&str>,
    reopen: bool,
) -> String {
    let mut s = String::from("## The finding came again\n\n");
    if let Some(c) = f.count {
        let _ = write!(s, "GuardDuty has now seen it {c} time(s)");
        if let Some(b) = count_before {
            let _ = write!(s, " ({b} before)");
        }
        s.push_str(". ");
    }
    if let Some(u) = &f.updated_at {
        let _ = write!(s, "Updated at {u}. ");
    }
    if let Some(l) = text(&f.json, "/service/eventLastSeen") {
        let _ = write!(s, "Last seen {l}. ");
    }
    match execution_id {
        Some(e) => {
            let _ = write!(s, "\n\nfirebreak is containing it again (execution `{e}`).");
        }
        None => s.push_str("\n\nIt was contained already; nothing was run again."),
    }
    if reopen {
        s.push_str(" The ticket is reopened.");
    }
    scrub_text(&s)
}

/// A comment: another resource of the incident's attack sequence is being contained.
pub fn sequence_part(f: &Finding, execution_id: &str) -> String {
    scrub_text(&format!(
        "## Another resource of the attack sequence\n\n{} (finding `{}`) is being contained with execution `{execution_id}`; its outcome follows.",
        resource(f),
        f.id
    ))
}

/// A comment: the execution could not run at all.
pub fn not_run(execution_id: &str, error: &str) -> String {
    scrub_text(&format!(
        "## Containment did not run\n\nExecution `{execution_id}` could not start: {}\n\nNothing was changed by it. The ticket stays open for a person.",
        crate::domain::render::brief(error)
    ))
}

/// `template` with each `{name}` replaced by the step's output or parameter of that name.
fn fill(
    template: &str,
    outputs: &serde_json::Map<String, Value>,
    params: Option<&serde_json::Map<String, Value>>,
) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        out.push_str(&rest[..start]);
        let name = &rest[start + 1..start + len];
        let value = outputs
            .get(name)
            .or_else(|| params.and_then(|p| p.get(name)));
        out.push_str(&match value {
            Some(Value::String(v)) if !v.is_empty() => v.clone(),
            Some(Value::Array(items)) if !items.is_empty() => items
                .iter()
                .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join(", "),
            Some(v @ (Value::Number(_) | Value::Bool(_))) => v.to_string(),
            _ => "…".to_string(),
        });
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}
