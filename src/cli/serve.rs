//! `firebreak serve`: contain findings from an SQS queue as they arrive, exactly once across
//! processes.

use std::process::ExitCode;

use anyhow::Result;

use super::{WorkerArgs, parse_loopback};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The queue the GuardDuty EventBridge rule delivers to (`firebreak setup --queue`).
    #[arg(long)]
    pub queue: String,
    /// Findings contained at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    /// How long a received message stays invisible (renewed while it is worked on).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(i32).range(1..=43_200))]
    pub visibility_seconds: i32,
    /// Long-poll wait of each receive, in seconds.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(i32).range(0..=20))]
    pub wait_seconds: i32,
    /// Exit once the queue is empty and nothing is in flight (batch catch-up, drills).
    #[arg(long)]
    pub drain: bool,
    /// Bring findings back from the queue's dead-letter queue at start and then every this
    /// many seconds, once the evidence bucket answers (0: never).
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub redrive_every: u64,
    /// Make ticket writes that failed (the tracker down) again at start, then every this many
    /// seconds, and once more on the way out (0: only then).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub ticket_retry_every: u64,
    /// Reconcile (`firebreak reconcile`: every finding GuardDuty holds for the last 24 hours,
    /// in the caller's detector of the configured region, checked; those never acted on handled)
    /// at start and then every this many seconds (0: never).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub reconcile_every: u64,
    /// Serve Prometheus metrics on this loopback address (e.g. 127.0.0.1:9464).
    #[arg(long, value_parser = parse_loopback)]
    pub metrics: Option<std::net::SocketAddr>,
    #[command(flatten)]
    pub worker: WorkerArgs,
}

pub fn run(a: Args) -> Result<ExitCode> {
    let opts = crate::intake::serve::Options {
        queue_url: a.queue,
        concurrency: a.concurrency.into(),
        visibility: a.visibility_seconds,
        wait_seconds: a.wait_seconds,
        drain: a.drain,
        metrics: a.metrics,
        redrive_every: (a.redrive_every > 0)
            .then(|| std::time::Duration::from_secs(a.redrive_every)),
        ticket_retry_every: Some(std::time::Duration::from_secs(a.ticket_retry_every.max(1)))
            .filter(|_| a.ticket_retry_every > 0),
        reconcile_every: (a.reconcile_every > 0)
            .then(|| std::time::Duration::from_secs(a.reconcile_every)),
    };
    super::block_on(crate::intake::serve::serve(opts, a.worker.options()?))
}
