//! `firebreak deploy`: create or update one Step Functions state machine per playbook, with an
//! execution role holding exactly its actions' permissions (idempotent; says what changed).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;

use super::{choose, load_playbooks, parse_input};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Playbook files or names in --playbooks (default: every playbook there).
    pub playbooks_or_names: Vec<String>,
    #[arg(long, default_value = "playbooks")]
    pub playbooks: PathBuf,
    /// Fix a playbook input in the state machines (e.g. `--input sns_topic_arn=arn:aws:sns:…`);
    /// repeatable.
    #[arg(long = "input", value_name = "NAME=VALUE", value_parser = parse_input)]
    pub inputs: Vec<(String, String)>,
    /// The evidence bucket the state machines write their records to
    /// (`s3://BUCKET[/PREFIX]`, as given to `run --evidence`): their roles may write there.
    #[arg(long)]
    pub evidence: Option<String>,
}

pub fn run(a: Args) -> Result<ExitCode> {
    deploy_cmd(
        &a.playbooks_or_names,
        &a.playbooks,
        &a.inputs.into_iter().collect(),
        a.evidence.as_deref(),
    )
}

fn deploy_cmd(
    which: &[String],
    dir: &Path,
    inputs: &std::collections::BTreeMap<String, String>,
    evidence: Option<&str>,
) -> Result<ExitCode> {
    let evidence = match evidence.map(crate::evidence::parse_target) {
        None => None,
        Some(Ok(crate::evidence::Target::S3 { bucket, prefix })) => Some((bucket, prefix)),
        Some(Ok(crate::evidence::Target::Dir(_))) => anyhow::bail!(
            "--evidence: state machines write their evidence to S3\n  hint: give s3://BUCKET[/PREFIX]"
        ),
        Some(Err(e)) => anyhow::bail!("--evidence: {e}"),
    };
    let set = load_playbooks(dir)?;
    let Some(chosen) = choose(&set, which, dir)? else {
        return Ok(ExitCode::from(crate::domain::exit::PROBLEMS));
    };
    let lines = super::block_on(async {
        let config = crate::aws::load().await;
        let evidence = evidence.as_ref().map(|(b, p)| (b.as_str(), p.as_str()));
        crate::contain::deploy::deploy(&chosen, inputs, evidence, false, &config).await
    })?;
    for l in lines {
        println!("{l}");
    }
    Ok(ExitCode::SUCCESS)
}
