//! `firebreak drill`: rehearse playbooks end to end: targets made, findings synthesized, contained,
//! checked, audited, cleaned up.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use super::EngineArg;
use crate::domain::catalog::Engine;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Playbooks to drill (names in --playbooks).
    pub playbooks_to_drill: Vec<String>,
    /// Drill every playbook.
    #[arg(long, conflicts_with = "playbooks_to_drill")]
    pub all: bool,
    /// Leave the drill targets in place (to look at them).
    #[arg(long)]
    pub keep: bool,
    /// Deliver the findings through an SQS queue (made for the drill) to `serve`, as in
    /// production, instead of running them directly.
    #[arg(long)]
    pub via_queue: bool,
    /// Start a local moto server for the drill and stop it afterwards (needs
    /// `./scripts/ensure-moto`, or FIREBREAK_MOTO_SERVER).
    #[arg(long)]
    pub emulator: bool,
    /// Where the drill's evidence goes (`s3://BUCKET[/PREFIX]`, under `drills/`); with
    /// --emulator a bucket is made for it.
    #[arg(long)]
    pub evidence: Option<String>,
    #[arg(long, default_value = "playbooks")]
    pub playbooks: PathBuf,
    /// Where containment runs: `local`, or `sfn` (each playbook's Step Functions state
    /// machine, deployed for the drill with its inputs).
    #[arg(
        long,
        value_enum,
        default_value = "local",
        conflicts_with = "via_queue"
    )]
    pub engine: EngineArg,
}

pub fn run(a: Args) -> Result<ExitCode> {
    super::block_on(crate::ops::drill::drill(crate::ops::drill::Options {
        names: a.playbooks_to_drill,
        all: a.all,
        keep: a.keep,
        via_queue: a.via_queue,
        emulator: a.emulator,
        evidence: a.evidence,
        playbooks: a.playbooks,
        sfn: Engine::from(a.engine) == Engine::Sfn,
    }))
}
