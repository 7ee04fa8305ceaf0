//! Secret planting (issue 4): secret keys, session tokens and passwords planted in the caller's
//! credentials, in AWS answers (IAM user tags, EC2 instance tags) and carried by the assumed
//! role's credentials never reach a record, a log line (even at `FIREBREAK_LOG=trace`, with
//! the AWS SDK's own logging), the run's output or an audit report.

use std::path::Path;

use aws_sdk_ec2::types::Tag;
use serde_json::Value;

use crate::support::{finding_file, firebreak_env, moto, stderr, stdout, unique};

const CALLER_SECRET: &str = "PlantedCallerSecretKey/0000000000000000aa";
const CALLER_TOKEN: &str = "PlantedCallerSessionToken//IQoJb3JpZ2luX2VjEPlanted0000==";
const TAG_PASSWORD: &str = "PlantedTagPassword-1111";
const TAG_SECRET: &str = "PlantedTagSecret/2222";
const EC2_PASSWORD: &str = "PlantedEc2Password-3333";
const EC2_TOKEN: &str = "PlantedEc2Token4444";
/// moto's session tokens (those of the assumed responder role) start with this.
const MOTO_TOKEN_PREFIX: &str = "FQoGZXIvYXdzEBYaD";

pub(crate) fn read_all(dir: &Path) -> String {
    let mut out = String::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.push_str(&read_all(&p));
        } else {
            out.push_str(&std::fs::read_to_string(&p).unwrap());
        }
    }
    out
}

/// Runs firebreak with planted caller credentials and full diagnostic logging.
fn run_planted(args: &[&str]) -> (Option<i32>, String, String) {
    let out = firebreak_env(
        &moto().endpoint,
        args,
        &[
            ("AWS_SECRET_ACCESS_KEY", CALLER_SECRET),
            ("AWS_SESSION_TOKEN", CALLER_TOKEN),
            ("FIREBREAK_LOG", "trace"),
        ],
    );
    (out.status.code(), stdout(&out), stderr(&out))
}

#[tokio::test]
async fn planted_secrets_reach_no_record_log_line_or_report() {
    let config = moto().config().await;
    let dir = std::env::temp_dir().join(unique("evidence-secrets"));
    let dir_arg = dir.to_str().unwrap();

    // 1. A leaked key in another account, reached through the assumed responder role; the
    //    user's tags carry secrets.
    let other = "210987654321";
    let there = aws_sdk_iam::Client::new(&crate::support::Account::with_id(other).await.config);
    let user = unique("leaky");
    let tag = |k: &str, v: &str| {
        aws_sdk_iam::types::Tag::builder()
            .key(k)
            .value(v)
            .build()
            .unwrap()
    };
    there
        .create_user()
        .user_name(&user)
        .tags(tag("db_password", TAG_PASSWORD))
        .tags(tag("aws_secret_access_key", TAG_SECRET))
        .tags(tag("owner", "payments-team"))
        .send()
        .await
        .unwrap();
    let key = there
        .create_access_key()
        .user_name(&user)
        .send()
        .await
        .unwrap()
        .access_key()
        .unwrap()
        .access_key_id()
        .to_string();
    let iam_finding = crate::support::leaked_key_finding(Some(other), &user, &key);
    let (code, iam_out, iam_err) =
        run_planted(&["run", "--evidence", dir_arg, iam_finding.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{iam_out}\n{iam_err}");
    // The log's lines carry the execution's and the step's span (issue 15, item 5).
    assert!(
        iam_err
            .lines()
            .any(|l| l.contains("execution{execution_id=")
                && l.contains("finding_id=")
                && l.contains(":step{step=")
                && l.contains("action=iam.")
                && l.contains("aws call")),
        "{iam_err}"
    );

    // 2. A compromised instance in the caller's account whose tags carry secrets.
    let t = crate::run_ec2::target(&config).await;
    aws_sdk_ec2::Client::new(&config)
        .create_tags()
        .resources(&t.instance_id)
        .tags(Tag::builder().key("Password").value(EC2_PASSWORD).build())
        .tags(
            Tag::builder()
                .key("bootstrap")
                .value(format!("session_token={EC2_TOKEN}"))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let ec2_finding = finding_file("ec2-bitcoin-dns.json", |f| {
        f["id"] = Value::String(unique("finding"));
        f["resource"]["instanceDetails"]["instanceId"] = t.instance_id.clone().into();
    });
    let (code, ec2_out, ec2_err) = run_planted(&[
        "run",
        "--output",
        "json",
        "--evidence",
        dir_arg,
        ec2_finding.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{ec2_out}\n{ec2_err}");

    // 3. The audit, in every format.
    let mut audits = String::new();
    for format in ["text", "json", "html"] {
        let (code, out, err) = run_planted(&["audit", "--output", format, dir_arg]);
        assert_eq!(code, Some(0), "{out}\n{err}");
        audits.push_str(&out);
        audits.push_str(&err);
    }

    let evidence = read_all(&dir);
    let logs = format!("{iam_err}\n{ec2_err}");
    // The test can fail: the tagged values were captured, and the logs were on, SDK included.
    // The user's tags as IAM lists them: `{"Key": "db_password", "Value": "[REDACTED]"}`.
    let squeezed: String = evidence.split_whitespace().collect();
    assert!(
        squeezed.contains(r#""Key":"db_password","Value":"[REDACTED]""#)
            && squeezed.contains(r#""Key":"owner","Value":"payments-team""#),
        "the IAM user's tags are in the pre-state, secrets redacted"
    );
    assert!(
        // As EC2 lists them, in the instance the capture recorded.
        squeezed.contains(r#""Key":"Password","Value":"[REDACTED]""#)
            && evidence.contains("session_token=[REDACTED]"),
        "the instance's tags are in the pre-state, secrets redacted"
    );
    assert!(
        logs.contains("aws call"),
        "firebreak's debug events are logged"
    );
    assert!(
        logs.contains("aws_sigv4") && logs.contains("aws_smithy_runtime"),
        "the SDK's trace events are logged"
    );
    for (what, text) in [
        ("evidence", &evidence),
        ("logs", &logs),
        ("run output", &format!("{iam_out}{ec2_out}")),
        ("audit reports", &audits),
    ] {
        for secret in [
            CALLER_SECRET,
            CALLER_TOKEN,
            TAG_PASSWORD,
            TAG_SECRET,
            EC2_PASSWORD,
            EC2_TOKEN,
            MOTO_TOKEN_PREFIX,
        ] {
            if let Some(i) = text.find(secret) {
                let from = text[..i]
                    .char_indices()
                    .rev()
                    .nth(300)
                    .map_or(0, |(j, _)| j);
                panic!(
                    "{secret} reached the {what}: …{}…",
                    &text[from..(i + 100).min(text.len())]
                );
            }
        }
    }
}
