//! `firebreak deploy`: per playbook, its state machine's execution role (trusting that state
//! machine only, holding exactly its actions' permissions) and the state machine, created or
//! updated only where they differ.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use serde_json::{Value, json};

use super::sfn::{find_machine, machine_name};
use crate::domain::catalog::Engine;
use crate::domain::playbook::Playbook;

/// The Sid of the execution role's statement that keeps it out of firebreak's own folders of the
/// evidence store (claims, incidents, the execution index).
pub const OWN_FOLDERS_SID: &str = "FirebreakNotItsFolders";

/// The IAM policy a playbook's execution role needs: every permission the state machine's
/// states call for the actions it uses (`catalog::policy` for [`Engine::Sfn`], webhooks'
/// EventBridge included), and, when it keeps evidence in `evidence` (bucket, prefix), writing
/// locked objects there, but not in firebreak's own folders.
pub fn execution_policy(pb: &Playbook, evidence: Option<(&str, &str)>) -> Value {
    let mut policy = crate::domain::catalog::policy(pb.steps.iter().map(|s| s.action), Engine::Sfn);
    let Some(statements) = policy["Statement"].as_array_mut() else {
        return policy;
    };
    if let Some((bucket, prefix)) = evidence {
        let objects = if prefix.is_empty() {
            format!("arn:aws:s3:::{bucket}/*")
        } else {
            format!("arn:aws:s3:::{bucket}/{}/*", prefix.trim_end_matches('/'))
        };
        // Firebreak's own folders (`_claims`, `_incidents`, `_index`) are no state machine's
        // to write: account folders are digits, so every folder starting with `_` is kept.
        let own = format!("{}_*", objects.trim_end_matches('*'));
        statements.push(json!({
            "Sid": "FirebreakEvidence",
            "Effect": "Allow",
            // PutObjectRetention: a PutObject that sets Object Lock retention needs it too.
            "Action": ["s3:PutObject", "s3:PutObjectRetention"],
            "Resource": objects,
        }));
        statements.push(json!({
            "Sid": OWN_FOLDERS_SID,
            "Effect": "Deny",
            "Action": ["s3:PutObject", "s3:PutObjectRetention"],
            "Resource": own,
        }));
        crate::domain::catalog::never_on_evidence(&mut policy, bucket);
    }
    policy
}

/// The trust policy of a playbook's execution role: Step Functions, for that playbook's state
/// machine in this account only (`aws:SourceArn`, `aws:SourceAccount`: a state machine of
/// another account, or another of this one, that names the role cannot act with it).
pub fn trust_policy(partition: &str, region: &str, account: &str, playbook: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "states.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "ArnLike": {"aws:SourceArn": format!(
                    "arn:{partition}:states:{region}:{account}:stateMachine:{}",
                    machine_name(playbook)
                )},
                "StringEquals": {"aws:SourceAccount": account}
            }
        }]
    })
}

/// The execution role of a playbook's state machine.
pub fn role_name(playbook: &str) -> String {
    format!("firebreak-sfn-{playbook}")
}

/// Creates or updates, for each playbook, its execution role (exactly its actions'
/// permissions) and its state machine. Idempotent; returns one line per thing, saying what
/// changed.
pub async fn deploy(
    playbooks: &[&Playbook],
    inputs: &BTreeMap<String, String>,
    evidence: Option<(&str, &str)>,
    emulator: bool,
    config: &aws_config::SdkConfig,
) -> Result<Vec<String>> {
    let iam = aws_sdk_iam::Client::new(config);
    let sfn = aws_sdk_sfn::Client::new(config);
    let mut lines = Vec::new();
    // Who deploys: the execution roles trust this account's state machines only.
    let caller = aws_sdk_sts::Client::new(config)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("GetCallerIdentity: {}", crate::aws::describe(&e)))?;
    let account = caller.account().unwrap_or_default().to_string();
    let partition = caller
        .arn()
        .and_then(|a| a.split(':').nth(1))
        .unwrap_or("aws")
        .to_string();
    let region = config
        .region()
        .map(|r| r.to_string())
        .unwrap_or_else(|| "us-east-1".into());
    // Compile everything first: nothing is deployed when one playbook cannot be.
    let mut compiled = Vec::new();
    for pb in playbooks {
        // Inputs are fixed for the playbooks that have them.
        let mine: BTreeMap<String, String> = inputs
            .iter()
            .filter(|(k, _)| pb.inputs.iter().any(|i| &i.name == *k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        match crate::engine::asl::compile_with(pb, &mine) {
            Ok(def) => compiled.push((*pb, def)),
            Err(errors) => {
                let text: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
                bail!(
                    "{}: cannot compile to Step Functions; nothing was deployed:\n{}",
                    pb.file,
                    text.join("\n")
                );
            }
        }
    }
    for name in inputs.keys() {
        if !playbooks
            .iter()
            .any(|pb| pb.inputs.iter().any(|i| &i.name == name))
        {
            bail!(
                "--input {name}: no playbook deployed here has that input\n  hint: `firebreak validate` shows each playbook's inputs"
            );
        }
    }
    for (pb, def) in compiled {
        // The emulator knows Elastic Load Balancing v2 only by its boto3 name.
        let def = if emulator {
            serde_json::from_str(&crate::engine::asl::render(&def).replace(
                "arn:aws:states:::aws-sdk:elasticloadbalancingv2:",
                "arn:aws:states:::aws-sdk:elbv2:",
            ))
            .unwrap_or(def)
        } else {
            def
        };
        let role = role_name(&pb.name);
        let trust = trust_policy(&partition, &region, &account, &pb.name);
        let role_arn = match iam.get_role().role_name(&role).send().await {
            Ok(r) => {
                let current = r
                    .role()
                    .and_then(|r| r.assume_role_policy_document())
                    .map(|d| percent_encoding::percent_decode_str(d).decode_utf8_lossy())
                    .and_then(|d| serde_json::from_str::<Value>(&d).ok());
                if current.as_ref() == Some(&trust) {
                    lines.push(format!("role {role}: exists"));
                } else {
                    // A role from an earlier version (trusting every state machine) is narrowed.
                    iam.update_assume_role_policy()
                        .role_name(&role)
                        .policy_document(trust.to_string())
                        .send()
                        .await
                        .map_err(|e| {
                            anyhow::anyhow!(
                                "UpdateAssumeRolePolicy {role}: {}",
                                crate::aws::describe(&e)
                            )
                        })?;
                    lines.push(format!("role {role}: exists, trust updated"));
                }
                r.role().map(|r| r.arn().to_string()).unwrap_or_default()
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_no_such_entity_exception()) =>
            {
                let r = iam
                    .create_role()
                    .role_name(&role)
                    .assume_role_policy_document(trust.to_string())
                    .description(format!(
                        "firebreak: runs the state machine of playbook {}",
                        pb.name
                    ))
                    .send()
                    .await
                    .map_err(|e| {
                        anyhow::anyhow!("CreateRole {role}: {}", crate::aws::describe(&e))
                    })?;
                lines.push(format!("role {role}: created"));
                r.role().map(|r| r.arn().to_string()).unwrap_or_default()
            }
            Err(e) => bail!("GetRole {role}: {}", crate::aws::describe(&e)),
        };
        let policy = execution_policy(pb, evidence);
        let current = match iam
            .get_role_policy()
            .role_name(&role)
            .policy_name("firebreak-playbook")
            .send()
            .await
        {
            Ok(p) => {
                let text = percent_encoding::percent_decode_str(p.policy_document())
                    .decode_utf8_lossy()
                    .into_owned();
                serde_json::from_str::<Value>(&text).ok()
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_no_such_entity_exception()) =>
            {
                None
            }
            Err(e) => bail!("GetRolePolicy {role}: {}", crate::aws::describe(&e)),
        };
        if current.as_ref() == Some(&policy) {
            lines.push(format!("role {role}: permissions unchanged"));
        } else {
            iam.put_role_policy()
                .role_name(&role)
                .policy_name("firebreak-playbook")
                .policy_document(policy.to_string())
                .send()
                .await
                .map_err(|e| {
                    anyhow::anyhow!("PutRolePolicy {role}: {}", crate::aws::describe(&e))
                })?;
            let n: usize = policy["Statement"]
                .as_array()
                .map(|st| {
                    st.iter()
                        .filter(|x| x["Effect"] == "Allow")
                        .map(|x| match &x["Action"] {
                            Value::Array(a) => a.len(),
                            Value::String(_) => 1,
                            _ => 0,
                        })
                        .sum()
                })
                .unwrap_or(0);
            lines.push(format!(
                "role {role}: permissions {} ({n} actions)",
                if current.is_some() { "updated" } else { "set" }
            ));
        }
        let name = machine_name(&pb.name);
        let definition = crate::engine::asl::render(&def);
        match find_machine(&sfn, &name).await? {
            Some(arn) => {
                let d = sfn
                    .describe_state_machine()
                    .state_machine_arn(&arn)
                    .send()
                    .await
                    .map_err(|e| {
                        anyhow::anyhow!("DescribeStateMachine {name}: {}", crate::aws::describe(&e))
                    })?;
                let same = serde_json::from_str::<Value>(d.definition()).ok() == Some(def.clone())
                    && d.role_arn() == role_arn;
                if same {
                    lines.push(format!("state machine {name}: unchanged"));
                } else {
                    sfn.update_state_machine()
                        .state_machine_arn(&arn)
                        .definition(&definition)
                        .role_arn(&role_arn)
                        .send()
                        .await
                        .map_err(|e| {
                            anyhow::anyhow!(
                                "UpdateStateMachine {name}: {}",
                                crate::aws::describe(&e)
                            )
                        })?;
                    lines.push(format!("state machine {name}: updated"));
                }
            }
            None => {
                // A new role takes a few seconds before Step Functions may assume it.
                let mut tries = 0;
                loop {
                    match sfn
                        .create_state_machine()
                        .name(&name)
                        .definition(&definition)
                        .role_arn(&role_arn)
                        .send()
                        .await
                    {
                        Ok(_) => break,
                        Err(e)
                            if tries < 10
                                && crate::aws::describe(&e)
                                    .contains("not authorized to assume") =>
                        {
                            tries += 1;
                            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                        }
                        Err(e) => bail!("CreateStateMachine {name}: {}", crate::aws::describe(&e)),
                    }
                }
                lines.push(format!("state machine {name}: created"));
            }
        }
    }
    Ok(lines)
}
