//! `firebreak serve`: the always-on path. Long-polls an SQS queue fed by an EventBridge rule for
//! GuardDuty findings, and contains each finding exactly once across any number of `serve`
//! processes (see `claim`). A message is deleted only once every finding in it is contained
//! (its manifest written and its claim marked done), was contained before, or needs no action;
//! anything else stays in the queue, to be redelivered and, if it never succeeds, moved to the
//! dead-letter queue by SQS's redrive policy.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use serde_json::{Value, json};
use tokio::sync::{Semaphore, watch};

use crate::claim::{Claim, Claims};
use crate::evidence::{self, Store};
use crate::finding::Finding;
use crate::{aws, plan, select};

pub struct Options {
    pub queue_url: String,
    pub evidence: String,
    pub playbooks: std::path::PathBuf,
    pub inputs: std::collections::BTreeMap<String, String>,
    pub concurrency: usize,
    pub step_concurrency: usize,
    pub lease: Duration,
    /// Seconds a received message stays invisible; renewed while its finding is worked on.
    pub visibility: i32,
    pub wait_seconds: i32,
    pub cross: aws::CrossAccount,
    pub retention_days: u32,
    pub lock_mode: evidence::LockMode,
    pub sign_key: Option<String>,
    pub allow_sample: bool,
    /// Exit once the queue answers empty and nothing is in flight.
    pub drain: bool,
    pub metrics: Option<std::net::SocketAddr>,
}

/// One JSON object per line on stderr, scrubbed.
pub fn log(event: &str, fields: Value) {
    let mut line = json!({"ts": evidence::now_rfc3339(), "event": event});
    if let (Some(l), Value::Object(f)) = (line.as_object_mut(), fields) {
        l.extend(f);
    }
    eprintln!("{}", crate::scrub::scrub(line));
}

/// Counters and latencies, served in the Prometheus text format.
#[derive(Default)]
pub struct Metrics {
    pub received: AtomicU64,
    pub rejected: AtomicU64,
    pub duplicates: AtomicU64,
    pub no_playbook: AtomicU64,
    pub by_outcome: std::sync::Mutex<std::collections::BTreeMap<String, u64>>,
    /// (count, sum in seconds) of time-to-contain.
    pub ttc: std::sync::Mutex<(u64, f64)>,
    /// Per action: (count, sum in seconds) of step durations.
    pub steps: std::sync::Mutex<std::collections::BTreeMap<String, (u64, f64)>>,
}

impl Metrics {
    fn outcome(&self, status: &str) {
        if let Ok(mut m) = self.by_outcome.lock() {
            *m.entry(status.to_string()).or_default() += 1;
        }
    }

    pub fn render(&self) -> String {
        let mut o = String::new();
        let counter = |o: &mut String, name: &str, help: &str, v: u64| {
            o.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} counter\n{name}_total {v}\n"
            ));
        };
        counter(
            &mut o,
            "firebreak_findings_received",
            "Findings received from the queue.",
            self.received.load(Ordering::Relaxed),
        );
        counter(
            &mut o,
            "firebreak_messages_rejected",
            "Messages that hold no finding (left for the dead-letter queue).",
            self.rejected.load(Ordering::Relaxed),
        );
        counter(
            &mut o,
            "firebreak_findings_duplicate",
            "Deliveries of findings already contained or being contained.",
            self.duplicates.load(Ordering::Relaxed),
        );
        counter(
            &mut o,
            "firebreak_findings_without_playbook",
            "Findings no playbook matches.",
            self.no_playbook.load(Ordering::Relaxed),
        );
        o.push_str("# HELP firebreak_executions Executions by outcome.\n# TYPE firebreak_executions counter\n");
        if let Ok(m) = self.by_outcome.lock() {
            for (status, n) in m.iter() {
                o.push_str(&format!(
                    "firebreak_executions_total{{status=\"{status}\"}} {n}\n"
                ));
            }
        }
        if let Ok(t) = self.ttc.lock() {
            o.push_str("# HELP firebreak_time_to_contain_seconds Finding accepted to last containment step verified.\n# TYPE firebreak_time_to_contain_seconds summary\n");
            o.push_str(&format!(
                "firebreak_time_to_contain_seconds_count {}\nfirebreak_time_to_contain_seconds_sum {}\n",
                t.0, t.1
            ));
        }
        if let Ok(s) = self.steps.lock() {
            o.push_str("# HELP firebreak_step_duration_seconds Step latency by action.\n# TYPE firebreak_step_duration_seconds summary\n");
            for (action, (n, sum)) in s.iter() {
                o.push_str(&format!(
                    "firebreak_step_duration_seconds_count{{action=\"{action}\"}} {n}\nfirebreak_step_duration_seconds_sum{{action=\"{action}\"}} {sum}\n"
                ));
            }
        }
        o
    }
}

/// Answers every HTTP request on `addr` with the metrics (loopback only; one tiny response, so
/// no HTTP framework).
async fn serve_metrics(listener: tokio::net::TcpListener, metrics: Arc<Metrics>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    loop {
        let Ok((mut sock, _)) = listener.accept().await else {
            continue;
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            // The request itself does not matter; read what came so the client sees a reply.
            let _ = tokio::time::timeout(Duration::from_secs(2), sock.read(&mut buf)).await;
            let body = metrics.render();
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = sock.write_all(head.as_bytes()).await;
            let _ = sock.write_all(body.as_bytes()).await;
            let _ = sock.shutdown().await;
        });
    }
}

struct Ctx {
    opts: Options,
    set: crate::playbook::LoadedSet,
    acc: aws::Accounts,
    sqs: aws_sdk_sqs::Client,
    store: Store,
    claims: Claims,
    metrics: Arc<Metrics>,
}

pub fn serve(opts: Options) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve_async(opts))
}

async fn serve_async(opts: Options) -> Result<ExitCode> {
    let set = crate::cli::load_playbooks(&opts.playbooks)?;
    let (bucket, prefix) = match evidence::parse_target(&opts.evidence)
        .map_err(|e| anyhow::anyhow!("--evidence: {e}"))?
    {
        evidence::Target::S3 { bucket, prefix } => (bucket, prefix),
        evidence::Target::Dir(_) => bail!(
            "--evidence must be s3://BUCKET[/PREFIX] for serve\n  hint: claims that make containment exactly-once across processes need S3's conditional writes"
        ),
    };
    let worker = format!(
        "{}-{}",
        std::env::var("HOSTNAME").unwrap_or_else(|_| "firebreak".into()),
        uuid::Uuid::now_v7()
    );
    let base = aws::load().await;
    let acc = aws::Accounts::new(base.clone(), opts.cross.clone(), "firebreak-serve").await?;
    let s3_config = base
        .to_builder()
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .build();
    let store = Store::S3 {
        client: aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&s3_config)
                .force_path_style(true)
                .build(),
        ),
        bucket,
        prefix,
        mode: opts.lock_mode,
        retention: Duration::from_secs(u64::from(opts.retention_days) * 86_400),
    };
    let Some(claims) = Claims::new(&store, &worker, opts.lease) else {
        bail!("claims need an S3 evidence store");
    };
    let metrics = Arc::new(Metrics::default());
    if let Some(addr) = opts.metrics {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("--metrics {addr}: cannot listen"))?;
        log(
            "metrics",
            json!({"listen": listener.local_addr().map(|a| a.to_string()).unwrap_or_default()}),
        );
        tokio::spawn(serve_metrics(listener, metrics.clone()));
    }
    let ctx = Arc::new(Ctx {
        sqs: aws_sdk_sqs::Client::new(&base),
        opts,
        set,
        acc,
        store,
        claims,
        metrics,
    });
    let (stop_tx, mut stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        crate::run::wait_for_signal().await;
        let _ = stop_tx.send(true);
    });
    log(
        "started",
        json!({"worker": worker, "queue": ctx.opts.queue_url, "evidence": ctx.store.describe(), "concurrency": ctx.opts.concurrency}),
    );
    let slots = Arc::new(Semaphore::new(ctx.opts.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let mut receive_errors = 0u32;
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
                let c = crate::actions::classify(&e, "sqs", "ReceiveMessage");
                log(
                    "receive_failed",
                    json!({"error": c.to_string(), "consecutive": receive_errors}),
                );
                // Back off, capped: the queue may be throttling or briefly unreachable.
                let delay = Duration::from_millis(200 * 2u64.pow(receive_errors.min(6)));
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
    log(
        "stopping",
        json!({"in_flight": tasks.len(), "note": "taking no more messages; finishing the findings in flight"}),
    );
    while tasks.join_next().await.is_some() {}
    log("stopped", json!({}));
    Ok(ExitCode::SUCCESS)
}

/// True when the queue holds no message, visible or not (in flight elsewhere, or waiting to come
/// back).
async fn queue_empty(ctx: &Ctx) -> bool {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let Ok(out) = ctx
        .sqs
        .get_queue_attributes()
        .queue_url(&ctx.opts.queue_url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .attribute_names(A::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
    else {
        return false;
    };
    out.attributes()
        .is_some_and(|a| a.values().all(|v| v.parse::<u64>().is_ok_and(|n| n == 0)))
}

/// What became of one finding of a message.
enum Handled {
    /// Contained now, before, or nothing to do: the message may go.
    Finished,
    /// Not done (another worker holds it, or it failed before its evidence was complete): the
    /// message stays and comes back after `Duration`.
    Later(Duration),
    /// Not a finding we can ever act on: left for the dead-letter queue.
    Rejected(String),
}

async fn handle(ctx: &Ctx, m: Message) {
    let message_id = m.message_id().unwrap_or_default().to_string();
    let receipt = m.receipt_handle().unwrap_or_default().to_string();
    let receives = m
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(1);
    let findings = match crate::finding::parse_findings(
        m.body().unwrap_or_default(),
        &format!("sqs:{message_id}"),
    ) {
        Ok(f) if !f.is_empty() => f,
        Ok(_) => {
            return reject(
                ctx,
                &message_id,
                &receipt,
                receives,
                "the message holds no finding".into(),
            )
            .await;
        }
        Err(e) => return reject(ctx, &message_id, &receipt, receives, e.to_string()).await,
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
        ctx.metrics.received.fetch_add(1, Ordering::Relaxed);
        match contain(ctx, f, &message_id).await {
            Handled::Finished => {}
            Handled::Later(d) => later = Some(later.map_or(d, |l| l.min(d))),
            Handled::Rejected(why) => rejected = Some(why),
        }
    }
    let _ = done_tx.send(true);
    let _ = heartbeat.await;
    if let Some(why) = rejected {
        return reject(ctx, &message_id, &receipt, receives, why).await;
    }
    if let Some(after) = later {
        let _ = ctx
            .sqs
            .change_message_visibility()
            .queue_url(&ctx.opts.queue_url)
            .receipt_handle(&receipt)
            .visibility_timeout(after.as_secs().clamp(1, 43_200) as i32)
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
        Err(e) => log(
            "delete_failed",
            json!({"message_id": message_id, "error": crate::actions::classify(&e, "sqs", "DeleteMessage").to_string()}),
        ),
    }
}

/// Leaves a message that is no finding to come back at once, so that SQS moves it to the
/// dead-letter queue after the allowed receives.
async fn reject(ctx: &Ctx, message_id: &str, receipt: &str, receives: u32, why: String) {
    ctx.metrics.rejected.fetch_add(1, Ordering::Relaxed);
    log(
        "rejected",
        json!({"message_id": message_id, "receives": receives, "reason": why,
               "note": "not a finding firebreak can act on; left for the dead-letter queue"}),
    );
    let _ = ctx
        .sqs
        .change_message_visibility()
        .queue_url(&ctx.opts.queue_url)
        .receipt_handle(receipt)
        .visibility_timeout(0)
        .send()
        .await;
}

async fn contain(ctx: &Ctx, f: &Finding, message_id: &str) -> Handled {
    let fields = json!({"finding_id": f.id, "type": f.type_name, "account_id": f.account_id,
                        "region": f.region, "count": f.count, "message_id": message_id});
    if f.sample && !ctx.opts.allow_sample {
        log("sample_ignored", fields);
        return Handled::Finished;
    }
    let Some(pb) = select::select(f, &ctx.set.playbooks).winner else {
        ctx.metrics.no_playbook.fetch_add(1, Ordering::Relaxed);
        log("no_playbook", fields);
        return Handled::Finished;
    };
    let plan = match plan::compile_with(f, pb, &ctx.opts.inputs) {
        Ok(p) => p,
        Err(errors) => {
            let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            return Handled::Rejected(format!(
                "finding {} cannot be bound to playbook {}: {}",
                f.id,
                pb.name,
                text.join("; ")
            ));
        }
    };
    let started = Instant::now();
    let claim = match ctx.claims.claim(f).await {
        Ok(c) => c,
        Err(e) => {
            log("claim_failed", json!({"finding_id": f.id, "error": e}));
            return Handled::Later(Duration::from_secs(5));
        }
    };
    let (execution_id, generation, resume) = match claim {
        Claim::Done { execution_id } => {
            ctx.metrics.duplicates.fetch_add(1, Ordering::Relaxed);
            if let Err(e) = ctx.claims.seen(f, &execution_id, message_id).await {
                log("seen_not_recorded", json!({"finding_id": f.id, "error": e}));
            }
            log(
                "duplicate",
                json!({"finding_id": f.id, "count": f.count, "message_id": message_id,
                       "contained_by": execution_id}),
            );
            return Handled::Finished;
        }
        Claim::Held {
            execution_id,
            lease_until,
        } => {
            ctx.metrics.duplicates.fetch_add(1, Ordering::Relaxed);
            let wait = (lease_until - crate::claim::now_secs()).max(1) as u64 + 1;
            log(
                "in_progress_elsewhere",
                json!({"finding_id": f.id, "execution_id": execution_id, "retry_in_s": wait}),
            );
            return Handled::Later(Duration::from_secs(wait));
        }
        Claim::Won {
            generation,
            execution_id,
            resume,
        } => (execution_id, generation, resume),
    };
    // Taken over from a worker that died: continue its execution where its evidence ends.
    let existing = if resume {
        let folder =
            crate::evidence::Recorder::new(ctx.store.clone(), &f.account_id, &f.id, &execution_id)
                .folder()
                .to_string();
        let existing = match ctx.store.read_folder(&folder).await {
            Ok(e) => e,
            Err(e) => {
                log(
                    "resume_failed",
                    json!({"finding_id": f.id, "execution_id": execution_id, "error": e.to_string()}),
                );
                return Handled::Later(ctx.opts.lease);
            }
        };
        let manifest = existing.iter().find(|(k, _)| k.ends_with("-manifest.json"));
        log(
            "taken_over",
            json!({"finding_id": f.id, "execution_id": execution_id, "generation": generation,
                   "records_found": existing.len(), "manifest_found": manifest.is_some()}),
        );
        // It died after its manifest: only the `done` marker is missing.
        if let Some((_, bytes)) = manifest {
            let status = serde_json::from_slice::<Value>(bytes)
                .ok()
                .and_then(|v| v["status"].as_str().map(str::to_string))
                .unwrap_or_default();
            return match ctx.claims.done(f, &execution_id, &status).await {
                Ok(()) => Handled::Finished,
                Err(e) => {
                    log(
                        "done_not_recorded",
                        json!({"finding_id": f.id, "execution_id": execution_id, "error": e}),
                    );
                    Handled::Later(ctx.opts.lease)
                }
            };
        }
        Some(existing)
    } else {
        None
    };
    log(
        "containing",
        json!({"finding_id": f.id, "type": f.type_name, "playbook": pb.name,
               "execution_id": execution_id, "generation": generation}),
    );
    let exec = crate::run::Exec {
        dry_run: false,
        concurrency: ctx.opts.step_concurrency,
        role_name: &ctx.opts.cross.role_name,
        sign_key: ctx.opts.sign_key.as_deref(),
    };
    // Steps are never interrupted by SIGTERM here: serve stops taking messages and lets the
    // findings in flight finish.
    let (_never_tx, never) = watch::channel(false);
    let result = crate::run::execute(
        f,
        pb,
        plan,
        &ctx.acc,
        Some(&ctx.store),
        execution_id.clone(),
        &exec,
        never,
        false,
        started,
        existing,
    )
    .await;
    let (report, complete) = match result {
        Ok(r) => r,
        Err(e) => {
            log(
                "execution_not_started",
                json!({"finding_id": f.id, "execution_id": execution_id, "error": format!("{e:#}")}),
            );
            return Handled::Later(ctx.opts.lease);
        }
    };
    let status = serde_json::to_value(report.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    ctx.metrics.outcome(&status);
    if let (Some(t), Ok(mut m)) = (report.time_to_contain_ms, ctx.metrics.ttc.lock()) {
        m.0 += 1;
        m.1 += t as f64 / 1000.0;
    }
    if let Ok(mut m) = ctx.metrics.steps.lock() {
        for s in &report.steps {
            let e = m.entry(s.action.to_string()).or_default();
            e.0 += 1;
            e.1 += s.duration_ms as f64 / 1000.0;
        }
    }
    log(
        "executed",
        json!({"finding_id": f.id, "execution_id": execution_id, "status": status,
               "time_to_contain_ms": report.time_to_contain_ms, "total_ms": report.total_ms,
               "manifest": report.evidence_manifest}),
    );
    if report.evidence_manifest.is_none() {
        // The evidence is incomplete: the claim's lease expires and another worker takes over.
        return Handled::Later(ctx.opts.lease);
    }
    let _ = complete;
    match ctx.claims.done(f, &execution_id, &status).await {
        Ok(()) => Handled::Finished,
        Err(e) => {
            log(
                "done_not_recorded",
                json!({"finding_id": f.id, "execution_id": execution_id, "error": e}),
            );
            Handled::Later(ctx.opts.lease)
        }
    }
}
