//! `firebreak setup`: creates or checks firebreak's own infrastructure, idempotently. Today: the
//! evidence bucket (Object Lock with a default retention, versioning, public access blocked, a
//! policy refusing plain-HTTP access). Prints what it changed and what was already right.

use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, DefaultRetention, ObjectLockConfiguration,
    ObjectLockEnabled, ObjectLockRetentionMode, ObjectLockRule, PublicAccessBlockConfiguration,
};
use serde_json::json;

use crate::domain::step::StepError;
use crate::evidence::LockMode;

/// What `setup` did, line by line.
pub struct SetupReport {
    pub lines: Vec<String>,
}

/// Why `setup` could not make or check a piece of firebreak's infrastructure.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// An AWS call failed: what was being done, and the classified error.
    #[error("{what}: {source}")]
    Aws { what: String, source: StepError },
    /// What exists cannot serve, and setup does not replace it.
    #[error("{problem}\n  hint: {hint}")]
    Unusable { problem: String, hint: String },
}

impl SetupError {
    fn aws(what: String, source: StepError) -> SetupError {
        SetupError::Aws { what, source }
    }

    fn unusable(problem: String, hint: &str) -> SetupError {
        SetupError::Unusable {
            problem,
            hint: hint.to_string(),
        }
    }
}

/// Makes `bucket` a valid evidence bucket. `tls_policy` false skips the deny of plain HTTP (for
/// an emulator reached over http://).
pub async fn evidence_bucket(
    s3: &aws_sdk_s3::Client,
    region: &str,
    bucket: &str,
    days: i32,
    mode: LockMode,
    tls_policy: bool,
    writers: &[String],
) -> Result<SetupReport, SetupError> {
    let mut lines = Vec::new();
    let exists = s3.head_bucket().bucket(bucket).send().await.is_ok();
    if exists {
        lines.push(format!("bucket {bucket}: exists"));
    } else {
        let mut create = s3
            .create_bucket()
            .bucket(bucket)
            .object_lock_enabled_for_bucket(true);
        if region != "us-east-1" {
            create = create.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region))
                    .build(),
            );
        }
        create.send().await.map_err(|e| {
            SetupError::aws(
                format!("creating bucket {bucket}"),
                crate::aws::classify(&e, "s3", "CreateBucket"),
            )
        })?;
        lines.push(format!("bucket {bucket}: created with Object Lock"));
    }
    let lock = s3
        .get_object_lock_configuration()
        .bucket(bucket)
        .send()
        .await;
    let current = lock
        .as_ref()
        .ok()
        .and_then(|l| l.object_lock_configuration().cloned());
    if current
        .as_ref()
        .and_then(|c| c.object_lock_enabled())
        .map(|e| e.as_str())
        != Some("Enabled")
    {
        return Err(SetupError::unusable(
            format!("bucket {bucket} exists without Object Lock; it cannot hold evidence"),
            "choose a new bucket name (Object Lock is enabled when a bucket is created)",
        ));
    }
    let want_mode = match mode {
        LockMode::Compliance => ObjectLockRetentionMode::Compliance,
        LockMode::Governance => ObjectLockRetentionMode::Governance,
    };
    let retention = current
        .as_ref()
        .and_then(|c| c.rule())
        .and_then(|r| r.default_retention());
    let have_days = retention.and_then(|d| d.days().or(d.years().map(|y| y * 365)));
    let have_mode = retention.and_then(|d| d.mode()).cloned();
    // A default retention is never shortened, nor moved from COMPLIANCE to GOVERNANCE: what
    // is asked for is applied only where it is at least as strong as what is there.
    let keep_days = have_days.map_or(days, |h| h.max(days));
    let keep_mode = match (&have_mode, &want_mode) {
        (Some(ObjectLockRetentionMode::Compliance), ObjectLockRetentionMode::Governance) => {
            ObjectLockRetentionMode::Compliance
        }
        _ => want_mode.clone(),
    };
    let asked = if (keep_days, &keep_mode) == (days, &want_mode) {
        String::new()
    } else {
        format!(
            "; asked for {} {days} days, not applied: an existing default retention is never shortened or weakened (change it in S3 if that is meant)",
            want_mode.as_str()
        )
    };
    if have_days == Some(keep_days) && have_mode.as_ref() == Some(&keep_mode) {
        lines.push(format!(
            "default retention: {} {keep_days} days (kept{asked})",
            keep_mode.as_str()
        ));
    } else {
        s3.put_object_lock_configuration()
            .bucket(bucket)
            .object_lock_configuration(
                ObjectLockConfiguration::builder()
                    .object_lock_enabled(ObjectLockEnabled::Enabled)
                    .rule(
                        ObjectLockRule::builder()
                            .default_retention(
                                DefaultRetention::builder()
                                    .mode(keep_mode.clone())
                                    .days(keep_days)
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .map_err(|e| {
                SetupError::aws(
                    "setting the default retention".into(),
                    crate::aws::classify(&e, "s3", "PutObjectLockConfiguration"),
                )
            })?;
        let note = asked.strip_prefix("; ").map(|a| format!(" ({a})"));
        lines.push(format!(
            "default retention: set to {} {keep_days} days{}",
            keep_mode.as_str(),
            note.unwrap_or_default()
        ));
    }
    lines.push("versioning: on (Object Lock buckets are always versioned)".into());
    let pab = s3.get_public_access_block().bucket(bucket).send().await;
    let all_on = pab
        .as_ref()
        .ok()
        .and_then(|p| p.public_access_block_configuration())
        .is_some_and(|c| {
            c.block_public_acls() == Some(true)
                && c.ignore_public_acls() == Some(true)
                && c.block_public_policy() == Some(true)
                && c.restrict_public_buckets() == Some(true)
        });
    if all_on {
        lines.push("public access: blocked (kept)".into());
    } else {
        s3.put_public_access_block()
            .bucket(bucket)
            .public_access_block_configuration(
                PublicAccessBlockConfiguration::builder()
                    .block_public_acls(true)
                    .ignore_public_acls(true)
                    .block_public_policy(true)
                    .restrict_public_buckets(true)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| {
                SetupError::aws(
                    "blocking public access".into(),
                    crate::aws::classify(&e, "s3", "PutPublicAccessBlock"),
                )
            })?;
        lines.push("public access: blocked".into());
    }
    // Only firebreak writes the evidence: every other principal is denied writes, deletes and
    // lock changes on its objects, and changes to the bucket's policy and lock.
    let policy = bucket_policy(bucket, true, writers);
    let who = writers.join(", ");
    if !tls_policy {
        // An emulator reached over http://: its bucket-policy evaluation does not know the
        // caller, so a deny conditioned on `aws:PrincipalArn` would refuse everyone.
        lines.push(format!(
            "policy: skipped the plain-HTTP deny and the writers-only deny (the endpoint is http://, an emulator); on AWS only {who} may write evidence"
        ));
        return Ok(SetupReport { lines });
    }
    let current = s3
        .get_bucket_policy()
        .bucket(bucket)
        .send()
        .await
        .ok()
        .and_then(|p| p.policy().map(str::to_string));
    let ours = current
        .as_deref()
        .is_some_and(|p| p.contains("FirebreakDenyInsecureTransport") || p.contains(WRITERS_SID));
    let same = current
        .as_deref()
        .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok())
        .is_some_and(|p| p == policy);
    if same {
        lines.push(format!(
            "policy: plain-HTTP access refused, only {who} may write evidence (kept)"
        ));
    } else if current.is_some() && !ours {
        lines.push(format!(
            "policy: the bucket has its own policy; add firebreak's statements to it by hand (not changed):\n{}",
            serde_json::to_string_pretty(&policy).unwrap_or_default()
        ));
    } else {
        s3.put_bucket_policy()
            .bucket(bucket)
            .policy(policy.to_string())
            .send()
            .await
            .map_err(|e| {
                SetupError::aws(
                    "setting the bucket policy".into(),
                    crate::aws::classify(&e, "s3", "PutBucketPolicy"),
                )
            })?;
        lines.push(format!(
            "policy: plain-HTTP access refused, only {who} may write evidence"
        ));
    }
    Ok(SetupReport { lines })
}

/// The queue `serve` reads, its dead-letter queue, and the EventBridge rule that delivers
/// GuardDuty findings to it; the queue's policy ([`queue_policy`]) lets the rule and
/// `senders` (firebreak's principals: `serve` sends a dead-lettered finding back) send, and
/// denies everyone else. Returns the report and the queue's URL.
pub async fn finding_queue(
    sqs: &aws_sdk_sqs::Client,
    events: &aws_sdk_eventbridge::Client,
    name: &str,
    min_severity: Option<f64>,
    max_receives: u32,
    senders: &[String],
) -> Result<(SetupReport, String), SetupError> {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let mut lines = Vec::new();
    // Findings are kept as long as SQS allows (14 days), in both queues.
    let retention = "1209600".to_string();
    let dlq_name = format!("{name}-dead-letter");
    let dlq_url = ensure_queue(
        sqs,
        &dlq_name,
        &[(A::MessageRetentionPeriod, retention.clone())],
        &mut lines,
    )
    .await?;
    let dlq_arn = queue_arn(sqs, &dlq_url).await?;
    let redrive =
        json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives.to_string()})
            .to_string();
    let url = ensure_queue(
        sqs,
        name,
        &[
            (A::MessageRetentionPeriod, retention),
            (A::VisibilityTimeout, "60".into()),
            (A::RedrivePolicy, redrive),
        ],
        &mut lines,
    )
    .await?;
    let arn = queue_arn(sqs, &url).await?;

    let rule = format!("firebreak-{name}");
    // GuardDuty's findings, and the Malware Protection for S3 scan results that found a threat
    // (a bucket protected without a detector sends no finding of one).
    let mut findings = json!({"detail-type": ["GuardDuty Finding"]});
    if let Some(s) = min_severity {
        findings["detail"] = json!({"severity": [{"numeric": [">=", s]}]});
    }
    let scans: serde_json::Value =
        serde_json::from_str(crate::domain::finding::SCAN_RESULT_PATTERN).map_err(|e| {
            SetupError::unusable(
                format!("the scan results' pattern: {e}"),
                "report this: the pattern is a constant",
            )
        })?;
    let pattern = json!({"source": ["aws.guardduty"], "$or": [
        findings,
        {"detail-type": scans["detail-type"], "detail": scans["detail"]},
    ]});
    let rule_arn = events
        .put_rule()
        .name(&rule)
        .description("GuardDuty findings, and scan results that found malware, to firebreak serve")
        .event_pattern(pattern.to_string())
        .state(aws_sdk_eventbridge::types::RuleState::Enabled)
        .send()
        .await
        .map_err(|e| {
            SetupError::aws(
                format!("EventBridge rule {rule}"),
                crate::aws::classify(&e, "events", "PutRule"),
            )
        })?
        .rule_arn()
        .unwrap_or_default()
        .to_string();
    lines.push(format!(
        "rule {rule}: GuardDuty findings{}, and Malware Protection for S3 scan results that found a threat → queue {name}",
        min_severity
            .map(|s| format!(" of severity ≥ {s}"))
            .unwrap_or_default()
    ));
    let policy = queue_policy(&arn, &rule_arn, senders);
    sqs.set_queue_attributes()
        .queue_url(&url)
        .attributes(A::Policy, policy.to_string())
        .send()
        .await
        .map_err(|e| {
            SetupError::aws(
                format!("queue {name} policy"),
                crate::aws::classify(&e, "sqs", "SetQueueAttributes"),
            )
        })?;
    lines.push(format!(
        "queue {name}: policy lets only rule {rule} and {} send",
        senders.join(", ")
    ));
    events
        .put_targets()
        .rule(&rule)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("firebreak-queue")
                .arn(&arn)
                .build()
                .map_err(|e| {
                    SetupError::unusable(
                        format!("rule {rule} target: {e}"),
                        "report this: the target is built from the queue's ARN",
                    )
                })?,
        )
        .send()
        .await
        .map_err(|e| {
            SetupError::aws(
                format!("rule {rule} target"),
                crate::aws::classify(&e, "events", "PutTargets"),
            )
        })?;
    lines.push(format!("rule {rule}: target queue {name}"));
    lines.push(format!("queue url: {url}"));
    Ok((SetupReport { lines }, url))
}

async fn ensure_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    attributes: &[(aws_sdk_sqs::types::QueueAttributeName, String)],
    lines: &mut Vec<String>,
) -> Result<String, SetupError> {
    if let Ok(found) = sqs.get_queue_url().queue_name(name).send().await
        && let Some(url) = found.queue_url()
    {
        let mut set = sqs.set_queue_attributes().queue_url(url);
        for (k, v) in attributes {
            set = set.attributes(k.clone(), v);
        }
        set.send().await.map_err(|e| {
            SetupError::aws(
                format!("queue {name}"),
                crate::aws::classify(&e, "sqs", "SetQueueAttributes"),
            )
        })?;
        lines.push(format!("queue {name}: exists, settings applied"));
        return Ok(url.to_string());
    }
    let mut create = sqs.create_queue().queue_name(name);
    for (k, v) in attributes {
        create = create.attributes(k.clone(), v);
    }
    let out = create.send().await.map_err(|e| {
        SetupError::aws(
            format!("creating queue {name}"),
            crate::aws::classify(&e, "sqs", "CreateQueue"),
        )
    })?;
    lines.push(format!("queue {name}: created"));
    Ok(out.queue_url().unwrap_or_default().to_string())
}

async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<String, SetupError> {
    sqs.get_queue_attributes()
        .queue_url(url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| {
            SetupError::aws(
                format!("queue {url}"),
                crate::aws::classify(&e, "sqs", "GetQueueAttributes"),
            )
        })?
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .cloned()
        .ok_or_else(|| {
            SetupError::unusable(
                format!("queue {url}: no QueueArn"),
                "check that the URL names an SQS queue",
            )
        })
}

/// The KMS HMAC key that seals claims and records (`crate::evidence::seal`): the key behind `alias`
/// when it exists, else a new `HMAC_256` key given that alias. Returns its ARN and a line.
pub async fn seal_key(
    kms: &aws_sdk_kms::Client,
    alias: &str,
) -> Result<(String, String), SetupError> {
    use aws_sdk_kms::types::{KeySpec, KeyUsageType};
    match kms.describe_key().key_id(alias).send().await {
        Ok(d) => {
            let meta = d.key_metadata();
            let arn = meta.and_then(|m| m.arn()).unwrap_or(alias).to_string();
            if meta.and_then(|m| m.key_usage()) != Some(&KeyUsageType::GenerateVerifyMac) {
                return Err(SetupError::unusable(
                    format!("seal key {alias} ({arn}) is not an HMAC key (GENERATE_VERIFY_MAC)"),
                    "point the alias at an HMAC_256 key, or name one with --seal-key",
                ));
            }
            let line = format!("seal key {alias}: exists ({arn})");
            Ok((arn, line))
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_not_found_exception()) =>
        {
            let made = kms
                .create_key()
                .key_spec(KeySpec::Hmac256)
                .key_usage(KeyUsageType::GenerateVerifyMac)
                .description(
                    "firebreak: seals claims and evidence records (HMAC); never leaves KMS",
                )
                .send()
                .await
                .map_err(|e| {
                    SetupError::aws(
                        "creating the seal key".to_string(),
                        crate::aws::classify(&e, "kms", "CreateKey"),
                    )
                })?;
            let arn = made
                .key_metadata()
                .map(|m| m.arn().unwrap_or(m.key_id()).to_string())
                .unwrap_or_default();
            kms.create_alias()
                .alias_name(alias)
                .target_key_id(&arn)
                .send()
                .await
                .map_err(|e| {
                    SetupError::aws(
                        format!("naming the seal key {alias}"),
                        crate::aws::classify(&e, "kms", "CreateAlias"),
                    )
                })?;
            Ok((arn.clone(), format!("seal key {alias}: created ({arn})")))
        }
        Err(e) => Err(SetupError::aws(
            format!("seal key {alias}"),
            crate::aws::classify(&e, "kms", "DescribeKey"),
        )),
    }
}

/// The Sid of the statement that keeps writes to firebreak's principals.
pub const WRITERS_SID: &str = "FirebreakOnlyFirebreakWrites";

/// The evidence bucket's policy: no plain HTTP (unless `tls` is false: an emulator), and no
/// write, delete, lock or policy change by any principal but `writers` (IAM principal ARNs,
/// wildcards allowed: `aws:PrincipalArn` is the role's ARN for a role's sessions).
pub fn bucket_policy(bucket: &str, tls: bool, writers: &[String]) -> serde_json::Value {
    let mut statements = Vec::new();
    if tls {
        statements.push(json!({
            "Sid": "FirebreakDenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}
        }));
    }
    statements.push(json!({
        "Sid": WRITERS_SID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": [
            "s3:PutObject", "s3:PutObjectRetention", "s3:PutObjectLegalHold",
            "s3:BypassGovernanceRetention", "s3:DeleteObject", "s3:DeleteObjectVersion",
            "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutBucketObjectLockConfiguration",
            "s3:PutBucketVersioning"
        ],
        "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")],
        "Condition": {"ArnNotLike": {"aws:PrincipalArn": writers}}
    }));
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// The Sid of the queue policy's statement that denies every other sender.
pub const SENDERS_SID: &str = "FirebreakOnlyTheRuleSends";

/// The finding queue's policy: the EventBridge rule `rule_arn` may send to the queue `queue_arn`;
/// a send neither from that rule (`aws:SourceArn`) nor by one of `senders` (IAM principal ARNs,
/// wildcards allowed, as [`writers`] gives them) is denied, whatever the sender's own IAM
/// policies allow: a made-up finding is not put in front of `serve` by whoever may call
/// `sqs:SendMessage` in the account. (Both conditions of the Deny must hold: a key a request does
/// not have, such as `aws:SourceArn` on a direct send, or `aws:PrincipalArn` on a service's
/// delivery, satisfies its `Not` operator.)
pub fn queue_policy(queue_arn: &str, rule_arn: &str, senders: &[String]) -> serde_json::Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "FirebreakEventBridgeDelivers",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}}
            },
            {
                "Sid": SENDERS_SID,
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {
                    "ArnNotEquals": {"aws:SourceArn": rule_arn},
                    "ArnNotLike": {"aws:PrincipalArn": senders}
                }
            }
        ]
    })
}

/// The IAM principal ARNs behind a caller ARN: an assumed-role session
/// (`arn:aws:sts::A:assumed-role/R/session`) is its role (`arn:aws:iam::A:role/R`, or the
/// same name under a path, which the session ARN does not show), anything else is itself.
pub fn principal_arns(caller: &str) -> Vec<String> {
    let parts: Vec<&str> = caller.splitn(6, ':').collect();
    if let [arn, partition, "sts", _, account, rest] = parts.as_slice()
        && let Some(role) = rest.strip_prefix("assumed-role/")
        && let Some((role, _session)) = role.split_once('/')
    {
        return vec![
            format!("{arn}:{partition}:iam::{account}:role/{role}"),
            format!("{arn}:{partition}:iam::{account}:role/*/{role}"),
        ];
    }
    vec![caller.to_string()]
}

/// The writers `setup` allows: the caller, the Step Functions roles `deploy` makes in this
/// account (`firebreak-sfn-*`), and any given.
pub fn writers(caller: &str, extra: &[String]) -> Vec<String> {
    let mut out = principal_arns(caller);
    let parts: Vec<&str> = caller.split(':').collect();
    if let [_, partition, _, _, account, ..] = parts.as_slice() {
        out.push(format!(
            "arn:{partition}:iam::{account}:role/firebreak-sfn-*"
        ));
    }
    for w in extra {
        if !out.contains(w) {
            out.push(w.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rule delivers; a send neither from the rule nor by firebreak is denied (both
    /// conditions of one Deny statement, so each exempts on its own).
    #[test]
    fn only_the_rule_and_firebreak_send_to_the_queue() {
        let rule = "arn:aws:events:us-east-1:1:rule/firebreak-q";
        let p = queue_policy(
            "arn:aws:sqs:us-east-1:1:q",
            rule,
            &["arn:aws:iam::1:role/FirebreakServe".into()],
        );
        let statements = p["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 2);
        assert_eq!(statements[0]["Effect"], "Allow");
        assert_eq!(
            statements[0]["Condition"]["ArnEquals"]["aws:SourceArn"],
            rule
        );
        let deny = &statements[1];
        assert_eq!(
            (&deny["Sid"], &deny["Effect"], &deny["Principal"]),
            (&json!(SENDERS_SID), &json!("Deny"), &json!("*"))
        );
        assert_eq!(deny["Resource"], "arn:aws:sqs:us-east-1:1:q");
        let cond = deny["Condition"].as_object().unwrap();
        assert_eq!(cond.len(), 2);
        assert_eq!(cond["ArnNotEquals"]["aws:SourceArn"], rule);
        assert_eq!(
            cond["ArnNotLike"]["aws:PrincipalArn"],
            json!(["arn:aws:iam::1:role/FirebreakServe"])
        );
    }

    #[test]
    fn writers_are_the_caller_its_state_machine_roles_and_those_given() {
        assert_eq!(
            writers(
                "arn:aws:sts::123456789012:assumed-role/FirebreakServe/i-0abc",
                &["arn:aws:iam::123456789012:role/Auditor".into()]
            ),
            [
                "arn:aws:iam::123456789012:role/FirebreakServe",
                "arn:aws:iam::123456789012:role/*/FirebreakServe",
                "arn:aws:iam::123456789012:role/firebreak-sfn-*",
                "arn:aws:iam::123456789012:role/Auditor",
            ]
        );
        assert_eq!(
            principal_arns("arn:aws:iam::123456789012:user/alice"),
            ["arn:aws:iam::123456789012:user/alice"]
        );
        let p = bucket_policy("ev", false, &["arn:aws:iam::1:user/a".into()]);
        assert_eq!(p["Statement"].as_array().unwrap().len(), 1);
        assert_eq!(p["Statement"][0]["Effect"], "Deny");
        assert_eq!(
            p["Statement"][0]["Condition"]["ArnNotLike"]["aws:PrincipalArn"][0],
            "arn:aws:iam::1:user/a"
        );
        assert_eq!(
            bucket_policy("ev", true, &[])
                .pointer("/Statement/0/Sid")
                .unwrap(),
            "FirebreakDenyInsecureTransport"
        );
    }
}
