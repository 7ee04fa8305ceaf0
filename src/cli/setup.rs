//! `firebreak setup`: create or check firebreak's infrastructure, idempotently: the evidence
//! bucket, and the queue (with its dead-letter queue and EventBridge rule) that `serve` reads.

use std::process::ExitCode;

use anyhow::Result;

use super::{LockArg, parse_severity};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The evidence bucket to create or check.
    #[arg(long)]
    pub evidence_bucket: Option<String>,
    /// Default retention of evidence objects, in days.
    #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub retention_days: u32,
    #[arg(long, value_enum, default_value = "compliance")]
    pub lock_mode: LockArg,
    /// The SQS queue for findings (its dead-letter queue is `NAME-dead-letter`, the rule
    /// `firebreak-NAME`).
    #[arg(long)]
    pub queue: Option<String>,
    /// Deliver only findings of at least this severity.
    #[arg(long, requires = "queue", value_parser = parse_severity)]
    pub min_severity: Option<f64>,
    /// Receives of a message before SQS moves it to the dead-letter queue.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max_receives: u32,
    /// Another IAM principal ARN that may write evidence and send to the queue (the role
    /// `serve` or `watch` runs as, when it is not the caller's); repeatable. Everyone else is
    /// denied both (the queue's EventBridge rule excepted).
    #[arg(long = "writer", value_name = "ARN")]
    pub writers: Vec<String>,
}

pub fn run(a: Args) -> Result<ExitCode> {
    let Args {
        evidence_bucket,
        retention_days,
        lock_mode,
        queue,
        min_severity,
        max_receives,
        writers,
    } = a;
    super::block_on(async {
        let config = crate::aws::load().await;
        let region = config
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "us-east-1".into());
        let plain_http = std::env::var("AWS_ENDPOINT_URL").is_ok_and(|u| u.starts_with("http://"));
        let s3 = crate::aws::s3_client(&config);
        let mode = match lock_mode {
            LockArg::Compliance => crate::evidence::LockMode::Compliance,
            LockArg::Governance => crate::evidence::LockMode::Governance,
        };
        let days = i32::try_from(retention_days).unwrap_or(i32::MAX);
        // firebreak's principals: the caller, its state machines' roles and those given. They
        // alone may write evidence and send findings to the queue.
        let writers = if evidence_bucket.is_some() || queue.is_some() {
            let caller = aws_sdk_sts::Client::new(&config)
                .get_caller_identity()
                .send()
                .await
                .map_err(|e| {
                    anyhow::anyhow!(
                        "who am I: {}\n  hint: check the credentials (AWS_PROFILE, AWS_ENDPOINT_URL)",
                        crate::aws::classify(&e, "sts", "GetCallerIdentity")
                    )
                })?
                .arn()
                .unwrap_or_default()
                .to_string();
            crate::ops::setup::writers(&caller, &writers)
        } else {
            Vec::new()
        };
        if let Some(bucket) = &evidence_bucket {
            let report = crate::ops::setup::evidence_bucket(
                &s3,
                &region,
                bucket,
                days,
                mode,
                !plain_http,
                &writers,
            )
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
            for l in report.lines {
                println!("{l}");
            }
            // Claims and records are sealed with it: `serve` and `watch` believe no
            // other.
            let (_, line) = crate::ops::setup::seal_key(
                &aws_sdk_kms::Client::new(&config),
                crate::evidence::seal::DEFAULT_ALIAS,
            )
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
            println!("{line}");
        }
        if let Some(name) = &queue {
            let (report, _) = crate::ops::setup::finding_queue(
                &aws_sdk_sqs::Client::new(&config),
                &aws_sdk_eventbridge::Client::new(&config),
                name,
                min_severity,
                max_receives,
                &writers,
            )
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
            for l in report.lines {
                println!("{l}");
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
