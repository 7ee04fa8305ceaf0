//! `iam.revoke_role_sessions`: a role's sessions issued before now denied (written for this
//! engine; the other IAM actions are defined in the step vocabulary).

use serde_json::{Value, json};

use super::{Cx, outputs, verify_failed};
use crate::domain::step::{Outcome, StepError};

const SVC: &str = "iam";

fn not_found(e: &StepError) -> bool {
    e.code == "NoSuchEntity"
}

/// IAM returns policy documents URL-encoded.
fn decode_policy(doc: &str) -> Value {
    let text = percent_encoding::percent_decode_str(doc).decode_utf8_lossy();
    serde_json::from_str(&text).unwrap_or(Value::String(text.into_owned()))
}

use crate::domain::catalog::names;

/// Reads a role's inline policy; `None` when absent.
async fn get_role_policy(cx: &Cx<'_>, role: &str, name: &str) -> Result<Option<Value>, StepError> {
    let doc = cx
        .call(
            SVC,
            "GetRolePolicy",
            cx.clients
                .iam
                .get_role_policy()
                .role_name(role)
                .policy_name(name)
                .send(),
        )
        .await
        .map(|o| o.policy_document().to_string());
    match doc {
        Ok(d) => Ok(Some(decode_policy(&d))),
        Err(e) if not_found(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

pub(super) async fn revoke_role_sessions(cx: &Cx<'_>) -> Result<Outcome, StepError> {
    use aws_sdk_iam::primitives::{DateTime, DateTimeFormat};
    let role = cx.str("role_name")?;
    let name = cx.opt_str("policy_name").unwrap_or(names::REVOKE_POLICY);
    let started = DateTime::from(std::time::SystemTime::now());
    // The revocation must cover every session that may be the attacker's: those issued up to
    // the latest activity the finding reports, or (when it gives none) up to now.
    let needed = cx
        .opt_str("last_activity")
        .and_then(|t| DateTime::from_str(t, DateTimeFormat::DateTime).ok())
        .map_or(started, |t| t.min(started));
    let existing = get_role_policy(cx, role, name).await?;
    let existing_time = existing.as_ref().and_then(revocation_time);
    let mut out = Outcome {
        pre_state: json!({"role_name": role, "policy_name": name, "policy": existing}),
        ..Default::default()
    };
    // A re-run for the same activity keeps the revocation already in place: moving the time
    // forward would also cut sessions started legitimately after containment. One that is
    // older than the activity (the console's "Revoke active sessions" of last month, an earlier
    // incident's) or not a plain deny-everything is replaced: sessions issued after its date —
    // the attacker's — would survive it.
    if let Some(t) = existing_time
        .filter(|(_, at)| *at >= needed)
        .map(|(t, _)| t)
    {
        out.outputs = outputs([("issued_before", json!(t))]);
        out.post_state = out.pre_state.clone();
        return Ok(out);
    }
    let now = started
        .fmt(DateTimeFormat::DateTime)
        .map_err(|e| StepError::permanent("InternalError", e.to_string()))?;
    let doc = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": names::REVOKE_SID,
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"DateLessThan": {"aws:TokenIssueTime": now}}
        }]
    });
    out.outputs = outputs([("issued_before", json!(now))]);
    if cx.dry_run {
        cx.planned(SVC, "PutRolePolicy");
        out.planned.push(format!(
            "deny every session of role {role} issued before {now} ({name})"
        ));
        return Ok(out);
    }
    cx.call(
        SVC,
        "PutRolePolicy",
        cx.clients
            .iam
            .put_role_policy()
            .role_name(role)
            .policy_name(name)
            .policy_document(doc.to_string())
            .send(),
    )
    .await?;
    out.changed = true;
    let after = get_role_policy(cx, role, name).await?;
    if after.as_ref() != Some(&doc) {
        return Err(verify_failed(format!(
            "policy {name} on role {role} does not read back as written"
        )));
    }
    out.post_state = json!({"role_name": role, "policy_name": name, "policy": after});
    Ok(out)
}

/// The time before which a revocation policy denies every session, if the policy is one: a
/// statement that denies every action on every resource, with no principal or exception,
/// conditioned only on `aws:TokenIssueTime` being earlier than one time. Anything else (an
/// Allow, a narrower action, an extra condition) revokes less than it says.
fn revocation_time(doc: &Value) -> Option<(String, aws_sdk_iam::primitives::DateTime)> {
    let statements = match &doc["Statement"] {
        Value::Array(a) => a.clone(),
        s @ Value::Object(_) => vec![s.clone()],
        _ => return None,
    };
    let everything = |v: &Value| match v {
        Value::String(s) => s == "*",
        Value::Array(a) => a.iter().any(|x| x == "*"),
        _ => false,
    };
    statements.iter().find_map(|s| {
        let st = s.as_object()?;
        let plain = st.keys().all(|k| {
            matches!(
                k.as_str(),
                "Sid" | "Effect" | "Action" | "Resource" | "Condition"
            )
        });
        if !plain
            || s["Effect"] != "Deny"
            || !everything(&s["Action"])
            || !everything(&s["Resource"])
        {
            return None;
        }
        let cond = s["Condition"].as_object()?;
        let (op, keys) = cond.iter().next().filter(|_| cond.len() == 1)?;
        let keys = keys.as_object().filter(|k| k.len() == 1)?;
        let (key, value) = keys.iter().next()?;
        if op != "DateLessThan" || !key.eq_ignore_ascii_case("aws:TokenIssueTime") {
            return None;
        }
        let t = match value {
            Value::String(t) => t.clone(),
            Value::Array(a) if a.len() == 1 => a[0].as_str()?.to_string(),
            _ => return None,
        };
        let at = aws_sdk_iam::primitives::DateTime::from_str(
            &t,
            aws_sdk_iam::primitives::DateTimeFormat::DateTime,
        )
        .ok()?;
        Some((t, at))
    })
}
