//! `firebreak plan`: bound DAGs with levels and critical path, paths chosen by `when`, and
//! errors that name the missing finding field.

use serde_json::Value;

use crate::support::{firebreak, fixture, stderr, stdout};

fn plan(name: &str) -> Value {
    let out = firebreak(&["plan", "--output", "json", fixture(name).to_str().unwrap()]);
    assert!(out.status.success(), "{name}: {}", stderr(&out));
    serde_json::from_str(&stdout(&out)).expect("plan prints JSON")
}

fn state<'a>(plan: &'a Value, id: &str) -> &'a str {
    plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step {id}"))["state"]
        .as_str()
        .unwrap()
}

#[test]
fn iam_user_path_deactivates_the_finding_key() {
    let p = plan("iam-user-tor.json");
    assert_eq!(p["playbook"], "iam-credential-compromise");
    assert_eq!(state(&p, "deactivate_key"), "planned");
    assert_eq!(state(&p, "deny_all_user"), "planned");
    assert_eq!(state(&p, "revoke_role_sessions"), "skipped");
    let step = p["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "deactivate_key")
        .unwrap();
    assert_eq!(step["params"]["access_key_id"], "AKIAIOSFODNN7EXAMPLE");
    assert_eq!(step["params"]["user_name"], "alice");
    assert_eq!(
        p["levels"],
        serde_json::json!([["capture_user"], ["deactivate_key", "deny_all_user"]])
    );
}

#[test]
fn assumed_role_and_instance_credential_paths() {
    let p = plan("iam-assumed-role-anomalous.json");
    assert_eq!(state(&p, "deactivate_key"), "skipped");
    assert_eq!(state(&p, "revoke_role_sessions"), "planned");
    assert_eq!(state(&p, "disassociate_profile"), "skipped");
    let p = plan("iam-user-exfil-outside.json");
    assert_eq!(state(&p, "revoke_role_sessions"), "planned");
    assert_eq!(state(&p, "disassociate_profile"), "planned");
}

#[test]
fn root_gets_no_containment_with_the_reason() {
    let p = plan("iam-root-usage.json");
    assert!(
        p["no_containment"]
            .as_str()
            .unwrap()
            .contains("root credentials")
    );
    for s in p["steps"].as_array().unwrap() {
        if s["effect"] == "contain" {
            assert_eq!(s["state"], "skipped", "{}", s["id"]);
        }
    }
}

#[test]
fn ec2_plan_has_levels_and_a_critical_path() {
    let p = plan("ec2-bitcoin-dns.json");
    let levels = p["levels"].as_array().unwrap();
    assert_eq!(levels[0], serde_json::json!(["capture"]));
    assert_eq!(levels[1], serde_json::json!(["preserve"]));
    let cp: Vec<&str> = p["critical_path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(cp.first(), Some(&"capture"));
    assert_eq!(cp.last(), Some(&"tag"));
    assert_eq!(cp.len(), levels.len());
    let revoke = p["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "revoke_role_sessions")
        .unwrap();
    assert!(
        revoke["params"]["role_name"]["deferred"]
            .as_str()
            .unwrap()
            .contains("steps.remove_profile.outputs.role_name")
    );
    assert_eq!(revoke["when"], "steps.remove_profile.outputs.role_name");
}

#[test]
fn a_target_instance_is_not_isolated() {
    let p = plan("ec2-ssh-bruteforce-target.json");
    assert_eq!(state(&p, "capture"), "planned");
    assert_eq!(state(&p, "preserve"), "skipped");
    assert_eq!(state(&p, "isolate"), "skipped");
}

#[test]
fn missing_required_field_is_named() {
    let out = firebreak(&["plan", fixture("missing-username.json").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("finding.resource.accessKeyDetails.userName"),
        "{err}"
    );
    assert!(err.contains("input `user_name`"), "{err}");
}

#[test]
fn no_playbook_is_a_normal_outcome() {
    let out = firebreak(&[
        "plan",
        "--output",
        "json",
        fixture("rds-limitless-login.json").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["playbook"], Value::Null);
}

#[test]
fn a_named_playbook_overrides_selection() {
    let out = firebreak(&[
        "plan",
        "--playbook",
        "s3-public-exposure",
        "--output",
        "json",
        fixture("s3-exfil-anomalous.json").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["playbook"], "s3-public-exposure");
    let out = firebreak(&[
        "plan",
        "--playbook",
        "nope",
        fixture("s3-exfil-anomalous.json").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no playbook named `nope`"));
    // The hint names the playbooks there (issue 16, item 7), for `run` as for `plan`.
    assert!(
        stderr(&out).contains("hint: the playbooks there are ")
            && stderr(&out).contains("iam-credential-compromise"),
        "{}",
        stderr(&out)
    );
    let run = firebreak(&[
        "run",
        "--dry-run",
        "--playbook",
        "nope",
        fixture("s3-exfil-anomalous.json").to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    assert!(
        stderr(&run).contains("no playbook named `nope`")
            && stderr(&run).contains("s3-public-exposure"),
        "{}",
        stderr(&run)
    );
}

#[test]
fn graphs_draw() {
    let dot = stdout(&firebreak(&[
        "graph",
        "ec2-instance-compromise",
        "--format",
        "dot",
    ]));
    assert!(
        dot.starts_with("digraph \"ec2-instance-compromise\""),
        "{dot}"
    );
    assert!(dot.contains("\"preserve\" -> \"snapshot\";"), "{dot}");
    let mermaid = stdout(&firebreak(&[
        "graph",
        "playbooks/s3-public-exposure.yaml",
        "--format",
        "mermaid",
    ]));
    assert!(mermaid.starts_with("flowchart TD"), "{mermaid}");
    assert!(
        mermaid.contains("s_capture --> s_block_public_access"),
        "{mermaid}"
    );
    // Issue 16, item 13: conditional steps are styled as in the DOT output (dashed).
    let mermaid = stdout(&firebreak(&[
        "graph",
        "playbooks/ec2-instance-compromise.yaml",
        "--format",
        "mermaid",
    ]));
    assert!(
        mermaid.contains("classDef conditional stroke-dasharray"),
        "{mermaid}"
    );
    let class = mermaid
        .lines()
        .find(|l| l.trim_start().starts_with("class "))
        .unwrap_or_else(|| panic!("{mermaid}"));
    assert!(class.contains("s_notify_sns"), "{class}");
    assert!(!class.contains("s_capture,") && !class.ends_with("s_capture conditional"));
}

/// Issue 13: a credential finding about an AWS service's own credentials (`userType:
/// AWSService`) says why nothing is contained, instead of skipping every step silently; and
/// GuardDuty's own test finding on an instance is not treated as a compromise.
#[test]
fn service_credentials_and_guardduty_test_findings_get_a_reason() {
    let cases = [
        (
            crate::support::finding_file("iam-user-tor.json", |f| {
                f["resource"]["accessKeyDetails"]["userType"] = "AWSService".into();
            }),
            "deactivate_key",
            "AWS service's own",
        ),
        (
            crate::support::finding_file("ec2-bitcoin-dns.json", |f| {
                f["type"] = "Canary:EC2/Stateless.IntegTest".into();
            }),
            "isolate",
            "integration-test finding",
        ),
    ];
    for (f, step, why) in cases {
        let out = firebreak(&["plan", "--output", "json", f.to_str().unwrap()]);
        assert!(out.status.success(), "{}", stderr(&out));
        let p: Value = serde_json::from_str(&stdout(&out)).unwrap();
        let s = p["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == step)
            .unwrap();
        assert_eq!(s["state"], "skipped", "{s:#}");
        assert!(
            s["reason"].as_str().unwrap_or_default().contains(why),
            "{s:#}"
        );
    }
}

/// A value longer than the AWS API takes (an SNS subject: 100 characters) is cut when the plan
/// is made, so the local engine and a state machine send the same text.
#[test]
fn a_long_subject_is_cut_when_the_plan_is_made() {
    let long_type = format!("UnauthorizedAccess:IAMUser/{}", "Very".repeat(30));
    let finding = crate::support::finding_file("iam-user-tor.json", |f| {
        f["type"] = long_type.clone().into();
    });
    let out = firebreak(&[
        "plan",
        "--playbook",
        "iam-credential-compromise",
        "--input",
        "sns_topic_arn=arn:aws:sns:us-east-1:123456789012:alerts",
        "--output",
        "json",
        finding.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let p: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let step = p["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "notify_sns")
        .unwrap();
    let subject = step["params"]["subject"].as_str().unwrap();
    assert_eq!(subject.chars().count(), 100, "{subject}");
    assert!(subject.starts_with("firebreak: containing UnauthorizedAccess:IAMUser/VeryVery"));
    // The message has no limit of its own: it is whole.
    assert!(
        step["params"]["message"]
            .as_str()
            .unwrap()
            .contains(&long_type)
    );
}

/// Issue 16, item 12: a plan whose every step is skipped says so instead of printing empty
/// levels and a 0-step critical path, has no blank line after a reason, and the root reason
/// promises nothing the playbook does not do by default.
#[test]
fn a_plan_with_every_step_skipped_reads_cleanly() {
    let out = firebreak(&["plan", fixture("iam-root-usage.json").to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("levels: none: every step is skipped"),
        "{text}"
    );
    assert!(!text.contains("(0 steps)"), "{text}");
    assert!(
        !text.trim_end().lines().any(|l| l.trim().is_empty()),
        "a blank line: {text}"
    );
    assert!(!text.contains("captures evidence"), "{text}");
    assert!(text.contains("firebreak changes nothing"), "{text}");
}
