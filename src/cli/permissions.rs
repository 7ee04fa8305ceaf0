//! `firebreak permissions`: print the least-privilege IAM policy of the responder role for
//! playbooks: every permission their actions need, and nothing else.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;

use super::{EngineArg, choose, load_playbooks};
use crate::domain::catalog::Engine;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Playbook files or names in --playbooks (default: every playbook there).
    pub playbooks_or_names: Vec<String>,
    #[arg(long, default_value = "playbooks")]
    pub playbooks: PathBuf,
    /// Whose policy: the responder that runs the actions itself (`run`, `serve`), or a
    /// state machine's execution role (`deploy` adds its evidence writes to that).
    #[arg(long, value_enum, default_value = "local")]
    pub engine: EngineArg,
    /// Add what the incidents of this configuration need (tickets, investigation, closing
    /// the loop, suppression) as a second statement (default: `FIREBREAK_CONFIG`, else
    /// `firebreak.yaml` in the working directory, if either is there).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The evidence bucket (`s3://BUCKET[/PREFIX]`): the policy then denies its bucket writes
    /// (policy, public access block, versioning) there.
    #[arg(long, value_name = "s3://BUCKET[/PREFIX]")]
    pub evidence: Option<String>,
}

pub fn run(a: Args) -> Result<ExitCode> {
    let config = crate::tickets::load_config(a.config.as_deref())?;
    let bucket = match a.evidence.as_deref().map(crate::evidence::parse_target) {
        None => None,
        Some(Ok(crate::evidence::Target::S3 { bucket, .. })) => Some(bucket),
        Some(Ok(crate::evidence::Target::Dir(_))) => anyhow::bail!(
            "--evidence names a folder: only an S3 bucket has a policy to keep\n  hint: give --evidence s3://BUCKET[/PREFIX]"
        ),
        Some(Err(e)) => anyhow::bail!("--evidence: {e}"),
    };
    permissions_cmd(
        &a.playbooks_or_names,
        &a.playbooks,
        a.engine.into(),
        &config,
        bucket.as_deref(),
    )
}

fn permissions_cmd(
    which: &[String],
    dir: &Path,
    engine: Engine,
    config: &crate::domain::config::Config,
    evidence_bucket: Option<&str>,
) -> Result<ExitCode> {
    let set = load_playbooks(dir)?;
    let Some(chosen) = choose(&set, which, dir)? else {
        return Ok(ExitCode::from(crate::domain::exit::PROBLEMS));
    };
    let mut policy = crate::domain::catalog::policy(
        chosen.iter().flat_map(|p| p.steps.iter().map(|s| s.action)),
        engine,
    );
    let incidents = crate::tickets::permissions(config);
    if let (false, Some(statements)) = (incidents.is_empty(), policy["Statement"].as_array_mut()) {
        statements.push(serde_json::json!({
            "Sid": "FirebreakIncidents", "Effect": "Allow", "Action": incidents, "Resource": "*",
        }));
    }
    if let Some(bucket) = evidence_bucket {
        crate::domain::catalog::never_on_evidence(&mut policy, bucket);
    }
    println!("{}", serde_json::to_string_pretty(&policy)?);
    Ok(ExitCode::SUCCESS)
}
