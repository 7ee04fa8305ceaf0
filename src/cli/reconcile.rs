//! `firebreak reconcile`: every finding GuardDuty holds for a window checked against what
//! firebreak did; those it never acted on are handled now and reported.

use std::process::ExitCode;

use anyhow::Result;

use super::WorkerArgs;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The GuardDuty detector to read (default: the caller's own in each region; in an
    /// organization's administrator account it holds the members' findings too).
    #[arg(long)]
    pub detector: Option<String>,
    /// A region to read (repeatable; default: the configured region).
    #[arg(long = "region", value_name = "REGION")]
    pub regions: Vec<String>,
    /// How far back, in hours (findings updated since then).
    #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u64).range(1..=2_160))]
    pub since_hours: u64,
    #[command(flatten)]
    pub worker: WorkerArgs,
}

pub fn run(a: Args) -> Result<ExitCode> {
    let opts = crate::intake::reconcile::Options {
        detector: a.detector,
        regions: a.regions,
        since: std::time::Duration::from_secs(a.since_hours * 3600),
    };
    super::block_on(crate::intake::reconcile::reconcile(
        opts,
        a.worker.options()?,
    ))
}
