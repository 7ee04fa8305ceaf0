//! `firebreak audit`: check an evidence store: every record present, unaltered, chained, listed,
//! locked.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use super::AuditOutput;
use crate::domain::render;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// `s3://BUCKET[/PREFIX]` or a folder.
    pub target: String,
    /// Only this execution id.
    #[arg(long)]
    pub execution: Option<String>,
    /// The retention every S3 object must have, in days from its writing.
    #[arg(long, default_value_t = 365)]
    pub retention_days: u32,
    /// Require every manifest to be signed by this KMS key (id or ARN).
    #[arg(long)]
    pub sign_key: Option<String>,
    /// Require every claim and record (but a state machine's) to carry a seal of this KMS
    /// HMAC key (`alias/firebreak-seal` for what `serve` and `watch` wrote).
    #[arg(long)]
    pub seal_key: Option<String>,
    /// The account that must own the evidence bucket (S3 targets): every request names it, and
    /// S3 refuses them when another account owns a bucket of that name.
    #[arg(long, value_name = "ACCOUNT", value_parser = super::account_id)]
    pub expected_owner: Option<String>,
    /// The head of the execution index an earlier audit printed (`SEQ:SHA256`): the index must
    /// still hold that entry, unchanged, so that its last entries cannot be taken away unseen.
    #[arg(long, value_name = "SEQ:SHA256", value_parser = index_head)]
    pub index_head: Option<(u64, String)>,
    /// `html` is a page for people: verdicts, failures first, a timeline table per execution.
    #[arg(long, value_enum, default_value = "text")]
    pub output: AuditOutput,
}

pub fn run(a: Args) -> Result<ExitCode> {
    let Args {
        target,
        execution,
        retention_days,
        sign_key,
        seal_key,
        expected_owner,
        index_head,
        output,
    } = a;
    let target = target.as_str();
    let execution = execution.as_deref();
    // Drawn on stderr only when it is a terminal; never mixed into the report on stdout.
    let progress = crate::evidence::audit::progress();
    let (report, _) = super::block_on(async {
        let config = crate::aws::load().await;
        let (objects, problems) = match crate::evidence::parse_target(target)
            .map_err(|e| anyhow::anyhow!(e))?
        {
            crate::evidence::Target::Dir(dir) => {
                if !dir.is_dir() {
                    bail!("{}: no such evidence folder", dir.display());
                }
                (
                    crate::evidence::audit::read_local(&dir)
                        .with_context(|| format!("reading {}", dir.display()))?,
                    Vec::new(),
                )
            }
            crate::evidence::Target::S3 { bucket, prefix } => {
                let client = crate::aws::s3_client_owned_by(&config, expected_owner.as_deref());
                crate::evidence::audit::read_s3(&client, &bucket, &prefix, retention_days, &progress)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}\n  hint: check the bucket name and credentials (AWS_PROFILE, AWS_ENDPOINT_URL)"))?
            }
        };
        let mut policy = crate::evidence::audit::SignaturePolicy {
            expected_key: sign_key,
            index_head,
            ..Default::default()
        };
        if objects.iter().any(|o| o.key.ends_with("-signature.json")) {
            policy.checks = crate::evidence::audit::verify_signatures(
                &aws_sdk_kms::Client::new(&config),
                &objects,
            )
            .await;
        }
        if let Some(key) = &seal_key {
            let sealer = crate::evidence::seal::Sealer::new(aws_sdk_kms::Client::new(&config), key);
            let keys = crate::evidence::audit::seal_keys(
                &sealer,
                crate::evidence::audit::seal_scopes(&objects),
            )
            .await
            .map_err(|e| {
                anyhow::anyhow!("{e}\n  hint: the auditor needs kms:GenerateMac on the seal key")
            })?;
            policy.seals = Some(keys);
        }
        Ok::<_, anyhow::Error>((
            crate::evidence::audit::audit(
                target,
                objects,
                problems,
                retention_days,
                execution,
                &policy,
                &progress,
            ),
            (),
        ))
    })?;
    let mut report = report;
    if expected_owner.is_none() && target.starts_with("s3://") {
        report.notes.push(
            "the bucket's owner is not pinned (no --expected-owner): a bucket of the same name in another account would be read as this one".to_string(),
        );
    }
    match output {
        AuditOutput::Text => print!(
            "{}",
            render::terminal_safe(&crate::evidence::audit::render(&report))
        ),
        AuditOutput::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        AuditOutput::Html => print!("{}", crate::evidence::audit::render_html(&report)),
    }
    Ok(if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(crate::domain::exit::PROBLEMS)
    })
}

/// `SEQ:SHA256`, as the audit prints the index's head.
fn index_head(s: &str) -> Result<(u64, String), String> {
    let (seq, sha) = s
        .split_once(':')
        .ok_or("expected SEQ:SHA256, as `firebreak audit` prints the index head")?;
    let seq = seq
        .parse()
        .map_err(|_| format!("`{seq}` is not an entry number"))?;
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("`{sha}` is not a SHA-256 in hex (64 characters)"));
    }
    Ok((seq, sha.to_ascii_lowercase()))
}
