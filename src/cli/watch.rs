//! `firebreak watch`: contain findings polled from the GuardDuty API (no EventBridge needed),
//! exactly once.

use std::process::ExitCode;

use anyhow::Result;

use super::WorkerArgs;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The GuardDuty detector to poll (in the configured region).
    #[arg(long)]
    pub detector: String,
    /// Seconds between polls.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub interval_seconds: u64,
    /// How far back the first poll looks, in minutes.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(0..=129_600))]
    pub since_minutes: u64,
    /// Poll once, contain what was found, exit.
    #[arg(long)]
    pub once: bool,
    /// Findings contained at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    #[command(flatten)]
    pub worker: WorkerArgs,
}

pub fn run(a: Args) -> Result<ExitCode> {
    let opts = crate::intake::watch::Options {
        detector: a.detector,
        interval: std::time::Duration::from_secs(a.interval_seconds),
        since: std::time::Duration::from_secs(a.since_minutes * 60),
        once: a.once,
        concurrency: a.concurrency.into(),
    };
    super::block_on(crate::intake::watch::watch(opts, a.worker.options()?))
}
