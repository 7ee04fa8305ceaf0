//! S3 actions: capture a bucket's access settings, block public access, deny one principal in
//! the bucket policy (keeping every existing statement), turn on versioning.

use serde_json::{Value, json};

use super::{Cx, outputs, verify_failed};
use crate::domain::step::{ApiCall, Outcome, StepError};

const SVC: &str = "s3";

async fn get_policy(cx: &Cx<'_>, bucket: &str) -> Result<Option<Value>, StepError> {
    let owner = cx.opt_str("expected_owner");
    match cx
        .call(
            SVC,
            "GetBucketPolicy",
            cx.clients
                .s3
                .get_bucket_policy()
                .bucket(bucket)
                .set_expected_bucket_owner(owner.map(str::to_string))
                .send(),
        )
        .await
    {
        Ok(o) => Ok(o
            .policy()
            .map(|p| serde_json::from_str(p).unwrap_or(Value::String(p.to_string())))),
        Err(e) if e.code == "NoSuchBucketPolicy" => Ok(None),
        Err(e) => Err(e),
    }
}

/// A bucket's versioning status, empty when versioning was never set.
pub(super) async fn versioning_status(
    cx: &Cx<'_>,
    bucket: &str,
    owner: Option<String>,
) -> Result<String, StepError> {
    let result = cx
        .clients
        .s3
        .get_bucket_versioning()
        .bucket(bucket)
        .set_expected_bucket_owner(owner)
        .send()
        .await;
    // The moto emulator wraps its answer in a `<GetBucketVersioningResponse>` root that the SDK
    // rejects (S3 itself sends `<VersioningConfiguration>`). Only a 200 answer with exactly that
    // root is read here, for its `<Status>`; anything else goes through the normal path.
    if let Err(aws_sdk_s3::error::SdkError::ServiceError(se)) = &result {
        let raw = se.raw();
        let body = raw
            .body()
            .bytes()
            .map(String::from_utf8_lossy)
            .unwrap_or_default();
        if raw.status().as_u16() == 200 && body.contains("<GetBucketVersioningResponse") {
            let status = body
                .split("<Status>")
                .nth(1)
                .and_then(|r| r.split("</Status>").next())
                .unwrap_or_default()
                .to_string();
            cx.record(ApiCall {
                service: SVC.into(),
                operation: "GetBucketVersioning".into(),
                request_id: None,
                result: "ok".into(),
            });
            return Ok(status);
        }
    }
    let v = cx
        .call(SVC, "GetBucketVersioning", async { result })
        .await?;
    Ok(v.status()
        .map(|s| s.as_str().to_string())
        .unwrap_or_default())
}

/// The partition of an ARN (`aws`, `aws-cn`, `aws-us-gov`).
fn partition(arn: &str) -> &str {
    arn.split(':')
        .nth(1)
        .filter(|p| !p.is_empty())
        .unwrap_or("aws")
}

/// A policy member that may be one value or a list, as a list.
fn listed(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        one => vec![one],
    }
}

/// Whether statement `s` denies `principal` every S3 action on the bucket and its objects,
/// without a condition or a `Not…` member that could leave a gap: only such a statement is
/// "already as wanted" (a weaker one of the same Sid, which anyone with PutBucketPolicy could
/// have written first, is replaced).
fn denies_everything(s: &Value, principal: &str, resources: &[String; 2]) -> bool {
    let actions = listed(&s["Action"]);
    let covered = listed(&s["Resource"]);
    s["Effect"] == "Deny"
        && statement_names(s, principal)
        && actions.iter().any(|a| *a == "s3:*" || *a == "*")
        && resources
            .iter()
            .all(|r| covered.iter().any(|c| *c == r.as_str() || *c == "*"))
        && ["Condition", "NotAction", "NotResource", "NotPrincipal"]
            .iter()
            .all(|k| s.get(*k).is_none())
}

fn statement_names(s: &Value, principal: &str) -> bool {
    match &s["Principal"]["AWS"] {
        Value::String(p) => p == principal,
        Value::Array(ps) => ps.iter().any(|p| p == principal),
        _ => false,
    }
}

pub(super) async fn deny_principal(cx: &Cx<'_>) -> Result<Outcome, StepError> {
    let bucket = cx.str("bucket")?;
    let principal = cx.str("principal_arn")?;
    let sid = cx
        .opt_str("statement_id")
        .unwrap_or(crate::domain::catalog::names::DENY_PRINCIPAL_SID);
    let before = get_policy(cx, bucket).await?;
    let mut out = Outcome {
        outputs: outputs([("statement_id", json!(sid))]),
        pre_state: json!({"bucket": bucket, "policy": before}),
        ..Default::default()
    };
    let mut policy = before
        .clone()
        .unwrap_or_else(|| json!({"Version": "2012-10-17", "Statement": []}));
    if !policy.is_object() {
        return Err(StepError::permanent(
            "MalformedPolicy",
            format!("the policy of bucket {bucket} is not a JSON object; not changed"),
        ));
    }
    if policy["Statement"].is_object() {
        // A single statement may be written without a list.
        policy["Statement"] = json!([policy["Statement"].take()]);
    }
    let Some(statements) = policy["Statement"].as_array_mut() else {
        return Err(StepError::permanent(
            "MalformedPolicy",
            format!("the policy of bucket {bucket} has no Statement list; not changed"),
        ));
    };
    let p = partition(principal);
    let resources = [
        format!("arn:{p}:s3:::{bucket}"),
        format!("arn:{p}:s3:::{bucket}/*"),
    ];
    if statements
        .iter()
        .any(|s| s["Sid"] == sid && denies_everything(s, principal, &resources))
    {
        out.post_state = out.pre_state.clone();
        return Ok(out);
    }
    let deny = |principals: Value| {
        json!({
            "Sid": sid,
            "Effect": "Deny",
            "Principal": {"AWS": principals},
            "Action": "s3:*",
            "Resource": resources.clone(),
        })
    };
    match statements.iter_mut().find(|s| s["Sid"] == sid) {
        // A statement of our Sid exists (for other principals, or weaker than the deny):
        // it becomes the whole deny, for its principals and this one.
        Some(existing) => {
            let mut all: Vec<Value> = listed(&existing["Principal"]["AWS"])
                .into_iter()
                .filter(|v| v.is_string() && v.as_str() != Some(principal))
                .cloned()
                .collect();
            all.push(json!(principal));
            *existing = deny(Value::Array(all));
        }
        None => statements.push(deny(json!(principal))),
    }
    if cx.dry_run {
        cx.planned(SVC, "PutBucketPolicy");
        out.planned.push(format!(
            "add a Deny for {principal} to the policy of bucket {bucket}, keeping its statements"
        ));
        return Ok(out);
    }
    cx.call(
        SVC,
        "PutBucketPolicy",
        cx.clients
            .s3
            .put_bucket_policy()
            .bucket(bucket)
            .set_expected_bucket_owner(cx.opt_str("expected_owner").map(str::to_string))
            .policy(policy.to_string())
            .send(),
    )
    .await?;
    out.changed = true;
    let after = get_policy(cx, bucket).await?.unwrap_or(Value::Null);
    let kept = before
        .as_ref()
        .and_then(|b| {
            b["Statement"]
                .as_array()
                .cloned()
                .or_else(|| Some(vec![b["Statement"].clone()]))
        })
        .unwrap_or_default();
    let now = after["Statement"].as_array().cloned().unwrap_or_default();
    let lost = kept
        .iter()
        .filter(|s| s["Sid"] != sid)
        .any(|s| !now.contains(s));
    if lost
        || !now
            .iter()
            .any(|s| s["Sid"] == sid && denies_everything(s, principal, &resources))
    {
        return Err(verify_failed(format!(
            "the policy of bucket {bucket} does not read back with the deny and every earlier statement"
        )));
    }
    out.post_state = json!({"bucket": bucket, "policy": after});
    Ok(out)
}
