//! `firebreak serve`: the always-on path. Long-polls an SQS queue fed by an EventBridge rule for
//! GuardDuty findings, and contains each finding exactly once across any number of `serve`
//! processes (see `claim`). A message is deleted only once every finding in it is contained
//! (its manifest written and its claim marked done), was contained before, or needs no action;
//! anything else stays in the queue, to be redelivered and, if it never succeeds, moved to the
//! dead-letter queue by SQS's redrive policy.

use std::collections::HashSet;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use tokio::sync::{Semaphore, watch};

use crate::aws;
use crate::domain::retry::RetryPolicy;
use crate::intake::redrive;
use crate::intake::worker::{Handled, Worker, serve_metrics};

pub struct Options {
    pub queue_url: String,
    /// Findings contained at once.
    pub concurrency: usize,
    /// Seconds a received message stays invisible; renewed while its finding is worked on.
    pub visibility: i32,
    pub wait_seconds: i32,
    /// Exit once the queue answers empty and nothing is in flight.
    pub drain: bool,
    pub metrics: Option<std::net::SocketAddr>,
    /// How often findings are brought back from the queue's dead-letter queue (at start, then
    /// every so often); `None`: never.
    pub redrive_every: Option<Duration>,
    /// How often ticket writes that failed are made again (none: never).
    pub ticket_retry_every: Option<Duration>,
    /// How often a reconcile pass runs (at start, then every so often); `None`: never.
    pub reconcile_every: Option<Duration>,
}

/// The window a scheduled reconcile pass reads.
const RECONCILE_WINDOW: Duration = Duration::from_secs(24 * 3600);

struct Ctx {
    /// The caller's configuration (Security Hub copies are read from GuardDuty with it).
    base: aws_config::SdkConfig,
    opts: Options,
    worker: Worker,
    sqs: aws_sdk_sqs::Client,
}

pub async fn serve(opts: Options, worker: crate::intake::worker::Options) -> Result<ExitCode> {
    let base = aws::load().await;
    // Its own queue is protected too.
    let mut worker = worker;
    if let Some(name) = opts.queue_url.rsplit('/').next() {
        worker.config.protected.push(name.to_string());
    }
    let worker = Worker::new(base.clone(), worker).await?;
    serve_queue(&base, opts, worker).await
}

/// The receive loop with a ready worker (also used by `drill --via-queue`).
pub async fn serve_queue(
    base: &aws_config::SdkConfig,
    opts: Options,
    worker: Worker,
) -> Result<ExitCode> {
    if let Some(addr) = opts.metrics {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("--metrics {addr}: cannot listen"))?;
        crate::log!(
            "metrics",
            listen = listener
                .local_addr()
                .map(|a| a.to_string())
                .unwrap_or_default()
        );
        tokio::spawn(serve_metrics(listener, worker.metrics.clone()));
    }
    let ctx = Arc::new(Ctx {
        sqs: aws_sdk_sqs::Client::new(base),
        base: base.clone(),
        opts,
        worker,
    });
    let mut stop_rx = crate::contain::stop_on_signal();
    crate::log!("started", worker = %ctx.worker.name, queue = %ctx.opts.queue_url,
        evidence = %ctx.worker.store().describe(), concurrency = ctx.opts.concurrency);
    // Findings dead-lettered while the evidence bucket was out (or before this process ran)
    // come back: once now, before the first receive, then every so often.
    let dlq = match ctx.opts.redrive_every {
        Some(_) => redrive::dead_letter_queue(&ctx.sqs, &ctx.opts.queue_url).await,
        None => None,
    };
    let redriver = match (dlq, ctx.opts.redrive_every) {
        (Some(dlq), Some(every)) => {
            let mut kept = HashSet::new();
            redrive::pass(&ctx.sqs, &ctx.opts.queue_url, &dlq, &ctx.worker, &mut kept).await;
            let (ctx, mut stop) = (ctx.clone(), stop_rx.clone());
            Some(tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(every) => {}
                        _ = stop.changed() => return,
                    }
                    redrive::pass(&ctx.sqs, &ctx.opts.queue_url, &dlq, &ctx.worker, &mut kept)
                        .await;
                }
            }))
        }
        _ => None,
    };
    // Ticket writes that failed (the tracker down or refusing) are made again from their
    // incident records, and tickets that close when their finding is archived are closed:
    // now, then every so often, and once more on the way out.
    let ticket_retrier = match (ctx.worker.desk(), ctx.opts.ticket_retry_every) {
        (Some(_), Some(every)) => {
            let (ctx, mut stop) = (ctx.clone(), stop_rx.clone());
            Some(tokio::spawn(async move {
                loop {
                    ctx.worker.tend_tickets().await;
                    tokio::select! {
                        _ = tokio::time::sleep(every) => {}
                        _ = stop.changed() => return,
                    }
                }
            }))
        }
        _ => None,
    };
    // Findings whose delivery was lost are found in GuardDuty and handled: once now, before
    // the first receive, then every so often.
    let reconciler = match ctx.opts.reconcile_every {
        Some(every) => {
            let regions: Vec<String> = base.region().map(|r| r.to_string()).into_iter().collect();
            let reconcile_pass = move |ctx: Arc<Ctx>, base: aws_config::SdkConfig| {
                let regions = regions.clone();
                async move {
                    let since =
                        crate::intake::claim::now_ms() - RECONCILE_WINDOW.as_millis() as i64;
                    crate::intake::reconcile::pass(&base, &ctx.worker, None, &regions, since).await;
                }
            };
            reconcile_pass(ctx.clone(), base.clone()).await;
            let (ctx, base, mut stop) = (ctx.clone(), base.clone(), stop_rx.clone());
            Some(tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(every) => {}
                        _ = stop.changed() => return,
                    }
                    reconcile_pass(ctx.clone(), base.clone()).await;
                }
            }))
        }
        None => None,
    };
    let slots = Arc::new(Semaphore::new(ctx.opts.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let mut receive_errors = 0u32;
    let queue_policy = RetryPolicy::queue();
    let mut fatal: Option<String> = None;
    loop {
        if *stop_rx.borrow() {
            break;
        }
        while tasks.try_join_next().is_some() {}
        let free = slots.available_permits();
        if free == 0 {
            tokio::select! {
                _ = tasks.join_next() => {}
                _ = stop_rx.changed() => {}
            }
            continue;
        }
        let receive = ctx
            .sqs
            .receive_message()
            .queue_url(&ctx.opts.queue_url)
            .max_number_of_messages(free.min(10) as i32)
            .wait_time_seconds(ctx.opts.wait_seconds)
            .visibility_timeout(ctx.opts.visibility)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send();
        let received = tokio::select! {
            r = receive => r,
            _ = stop_rx.changed() => break,
        };
        let messages = match received {
            Ok(r) => {
                receive_errors = 0;
                r.messages.unwrap_or_default()
            }
            Err(e) => {
                receive_errors += 1;
                let c = crate::aws::classify(&e, "sqs", "ReceiveMessage");
                crate::log!("receive_failed", error = %c, consecutive = receive_errors);
                // No such queue, no permission: waiting will not help. The queue's policy
                // says which errors are waited out (the transient ones, however many).
                if !c.kind.retried_by(&queue_policy, receive_errors) {
                    fatal = Some(format!(
                        "--queue {}: {c}\n  hint: check the queue URL (`firebreak setup --queue` prints it) and sqs:ReceiveMessage",
                        ctx.opts.queue_url
                    ));
                    break;
                }
                // Back off, capped: the queue may be throttling or briefly unreachable.
                let delay = queue_policy.delay(receive_errors, 0.0);
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = stop_rx.changed() => break,
                }
                continue;
            }
        };
        if messages.is_empty() && ctx.opts.drain && tasks.is_empty() && queue_empty(&ctx).await {
            break;
        }
        for m in messages {
            let Ok(permit) = slots.clone().acquire_owned().await else {
                break;
            };
            let ctx = ctx.clone();
            tasks.spawn(async move {
                handle(&ctx, m).await;
                drop(permit);
            });
        }
    }
    crate::log!(
        "stopping",
        in_flight = tasks.len(),
        note = "taking no more messages; finishing the findings in flight"
    );
    while tasks.join_next().await.is_some() {}
    if let Some(r) = redriver {
        r.abort();
    }
    if let Some(r) = reconciler {
        r.abort();
    }
    if let Some(r) = ticket_retrier {
        r.abort();
    }
    if ctx.worker.desk().is_some() {
        let last = tokio::time::timeout(FINAL_TICKET_PASS, ctx.worker.tend_tickets()).await;
        if last.is_err() {
            crate::log!(
                "tickets_left",
                note = "the last ticket pass did not finish; the next serve makes what is left"
            );
        }
    }
    crate::log!("stopped");
    match fatal {
        Some(e) => anyhow::bail!(e),
        None => Ok(ExitCode::SUCCESS),
    }
}

/// How long the last pass over failed ticket writes may take on the way out.
const FINAL_TICKET_PASS: Duration = Duration::from_secs(60);

/// The longest SQS keeps a message invisible (12 hours).
const MAX_VISIBILITY_S: u64 = 12 * 3600;

/// True when the queue holds no message, visible or not (in flight elsewhere, or waiting to come
/// back).
async fn queue_empty(ctx: &Ctx) -> bool {
    super::queue_depth(&ctx.sqs, &ctx.opts.queue_url).await == Some(0)
}

async fn handle(ctx: &Ctx, m: Message) {
    let message_id = m.message_id().unwrap_or_default().to_string();
    let receipt = m.receipt_handle().unwrap_or_default().to_string();
    let receives = m
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(1);
    let findings = match crate::domain::finding::parse_findings(
        m.body().unwrap_or_default(),
        &format!("sqs:{message_id}"),
    ) {
        Ok(f) if !f.is_empty() => f,
        Ok(_) => {
            let why = "the message holds no finding".to_string();
            return reject(ctx, &m, &receipt, receives, why).await;
        }
        // Security Hub's copy of GuardDuty findings: the native ones are read from GuardDuty.
        Err(e) => match crate::intake::asff::named(m.body().unwrap_or_default()) {
            Some(Ok(named)) => match crate::intake::asff::read(&ctx.base, &named).await {
                Ok(f) if !f.is_empty() => f,
                Ok(_) => {
                    let why = "a Security Hub event naming no GuardDuty finding".to_string();
                    return reject(ctx, &m, &receipt, receives, why).await;
                }
                Err(why) => {
                    // GuardDuty may answer later: the message comes back, as after any outage.
                    crate::log!("asff_unread", message_id = %message_id, error = %why);
                    let d = RetryPolicy::redelivery().delay(receives, 0.0);
                    let _ = ctx
                        .sqs
                        .change_message_visibility()
                        .queue_url(&ctx.opts.queue_url)
                        .receipt_handle(&receipt)
                        .visibility_timeout(d.as_secs().clamp(1, MAX_VISIBILITY_S) as i32)
                        .send()
                        .await;
                    return;
                }
            },
            Some(Err(why)) => return reject(ctx, &m, &receipt, receives, why).await,
            None => return reject(ctx, &m, &receipt, receives, e.to_string()).await,
        },
    };
    // Keep the message invisible while its findings are worked on.
    let (done_tx, mut done_rx) = watch::channel(false);
    let heartbeat = {
        let sqs = ctx.sqs.clone();
        let queue = ctx.opts.queue_url.clone();
        let receipt = receipt.clone();
        let visibility = ctx.opts.visibility;
        tokio::spawn(async move {
            let every = Duration::from_secs((visibility as u64 / 3).max(1));
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = done_rx.changed() => return,
                }
                let _ = sqs
                    .change_message_visibility()
                    .queue_url(&queue)
                    .receipt_handle(&receipt)
                    .visibility_timeout(visibility)
                    .send()
                    .await;
            }
        })
    };
    let mut later: Option<Duration> = None;
    let mut rejected: Option<String> = None;
    for f in &findings {
        ctx.worker.metrics.received();
        match ctx.worker.contain(f, &message_id).await {
            Handled::Finished => {}
            Handled::Later(d) => later = Some(later.map_or(d, |l| l.min(d))),
            Handled::Retry => {
                let d = RetryPolicy::redelivery().delay(receives, 0.0);
                later = Some(later.map_or(d, |l| l.min(d)));
            }
            Handled::Rejected(why) => rejected = Some(why),
        }
    }
    let _ = done_tx.send(true);
    let _ = heartbeat.await;
    if let Some(why) = rejected {
        return reject(ctx, &m, &receipt, receives, why).await;
    }
    if let Some(after) = later {
        let _ = ctx
            .sqs
            .change_message_visibility()
            .queue_url(&ctx.opts.queue_url)
            .receipt_handle(&receipt)
            // Away until then, however long: a message held by a live claim must not come back
            // every visibility timeout, each time spending one of its receives, and reach the
            // dead-letter queue before the claim's lease ends.
            .visibility_timeout(after.as_secs().clamp(1, MAX_VISIBILITY_S) as i32)
            .send()
            .await;
        return;
    }
    match ctx
        .sqs
        .delete_message()
        .queue_url(&ctx.opts.queue_url)
        .receipt_handle(&receipt)
        .send()
        .await
    {
        Ok(_) => {}
        // The finding is done; a redelivery will find its `done` claim and only be recorded.
        Err(e) => crate::log!("delete_failed", message_id,
            error = %crate::aws::classify(&e, "sqs", "DeleteMessage")),
    }
}

/// Leaves a message that is no finding to come back at once, so that SQS moves it to the
/// dead-letter queue after the allowed receives; with a ticket desk, the message becomes a
/// ticket (once) for a person.
async fn reject(ctx: &Ctx, m: &Message, receipt: &str, receives: u32, why: String) {
    let message_id = m.message_id().unwrap_or_default();
    if let Some(desk) = ctx.worker.desk() {
        desk.poison(message_id, m.body().unwrap_or_default(), &why)
            .await;
    }
    ctx.worker.metrics.rejected();
    crate::log!("rejected", message_id, receives, reason = %why,
        note = "not a finding firebreak can act on; left for the dead-letter queue");
    let _ = ctx
        .sqs
        .change_message_visibility()
        .queue_url(&ctx.opts.queue_url)
        .receipt_handle(receipt)
        .visibility_timeout(0)
        .send()
        .await;
}

#[cfg(test)]
mod tests {
    use crate::domain::retry::RetryPolicy;

    #[test]
    fn a_retried_message_stays_away_longer_each_receive_up_to_sqs_limit() {
        let p = RetryPolicy::redelivery();
        let waits: Vec<u64> = (1..=5).map(|r| p.delay(r, 0.0).as_secs()).collect();
        assert_eq!(waits, [30, 120, 480, 1920, 7680]);
        // Four receives outlast a 40-minute outage before the fifth.
        assert!(waits[..4].iter().sum::<u64>() > 40 * 60);
        assert_eq!(p.delay(u32::MAX, 0.0).as_secs(), super::MAX_VISIBILITY_S);
    }
}
