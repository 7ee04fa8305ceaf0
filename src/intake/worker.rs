//! One finding in, contained exactly once: the part `serve` (SQS) and `watch` (the GuardDuty API)
//! share. A worker selects and binds the playbook, claims the finding in the evidence bucket
//! (see `claim`), runs it through `contain::execute` (resuming a dead worker's execution when it
//! takes a claim over), and marks it done. Also the metrics both report (their JSON log lines
//! are `crate::log!`, in `intake`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use serde_json::Value;
use tokio::sync::watch;

use crate::aws;
use crate::domain::finding::Finding;
use crate::domain::{plan, select};
use crate::evidence::{self, Store};
use crate::intake::claim::{Claim, Claims};

/// How findings are contained, whatever brings them.
pub struct Options {
    /// `s3://BUCKET[/PREFIX]`: evidence and claims.
    pub evidence: String,
    pub playbooks: std::path::PathBuf,
    pub inputs: std::collections::BTreeMap<String, String>,
    /// Steps that may run at once within one finding.
    pub step_concurrency: usize,
    /// Where plans run: in this process, or on each playbook's state machine.
    pub engine: crate::domain::catalog::Engine,
    /// How long a claim holds before another worker may take it over.
    pub lease: Duration,
    pub cross: aws::CrossAccount,
    pub retention_days: u32,
    pub lock_mode: evidence::LockMode,
    pub sign_key: Option<String>,
    /// The KMS HMAC key that seals claims and records (`crate::evidence::seal`).
    pub seal_key: String,
    pub allow_sample: bool,
    /// The account that must own the evidence bucket (`--expected-owner`).
    pub expected_owner: Option<String>,
    /// firebreak's configuration (where incidents are ticketed).
    pub config: crate::domain::config::Config,
}

/// Counters and latencies, served in the Prometheus text format by `metrics-exporter-prometheus`
/// (a recorder of this worker's own, not the process-wide one: each worker's metrics are its own).
pub struct Metrics {
    recorder: metrics_exporter_prometheus::PrometheusRecorder,
    handle: metrics_exporter_prometheus::PrometheusHandle,
}

const RECEIVED: &str = "firebreak_findings_received_total";
const REJECTED: &str = "firebreak_messages_rejected_total";
const DUPLICATE: &str = "firebreak_findings_duplicate_total";
const NO_PLAYBOOK: &str = "firebreak_findings_without_playbook_total";
const EXECUTIONS: &str = "firebreak_executions_total";
const TIME_TO_CONTAIN: &str = "firebreak_time_to_contain_seconds";
const STEP_DURATION: &str = "firebreak_step_duration_seconds";
const DEAD_LETTERS: &str = "firebreak_dead_letter_messages";
const DEAD_LETTER_AGE: &str = "firebreak_dead_letter_oldest_age_seconds";
const REDRIVEN: &str = "firebreak_messages_redriven_total";

impl Default for Metrics {
    fn default() -> Self {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let m = Metrics { recorder, handle };
        m.with(|| {
            use metrics::{Unit, describe_counter, describe_histogram};
            for (name, help) in [
                (RECEIVED, "Findings received from the queue."),
                (
                    REJECTED,
                    "Messages that hold no finding (left for the dead-letter queue).",
                ),
                (
                    DUPLICATE,
                    "Deliveries of findings already contained or being contained.",
                ),
                (NO_PLAYBOOK, "Findings no playbook matches."),
                (
                    REDRIVEN,
                    "Messages holding findings brought back from the dead-letter queue.",
                ),
            ] {
                describe_counter!(name, help);
                // Present from the start, at 0.
                metrics::counter!(name).absolute(0);
            }
            describe_counter!(EXECUTIONS, "Executions by outcome.");
            metrics::describe_gauge!(
                DEAD_LETTERS,
                "Messages in the dead-letter queue when last looked at (serve --redrive-every)."
            );
            metrics::describe_gauge!(
                DEAD_LETTER_AGE,
                Unit::Seconds,
                "Age of the oldest message read from the dead-letter queue in the last pass (at most 100 read; 0 when it is empty)."
            );
            describe_histogram!(
                TIME_TO_CONTAIN,
                Unit::Seconds,
                "Finding accepted to last containment step verified."
            );
            describe_histogram!(STEP_DURATION, Unit::Seconds, "Step latency by action.");
        });
        m
    }
}

impl Metrics {
    fn with<T>(&self, f: impl FnOnce() -> T) -> T {
        metrics::with_local_recorder(&self.recorder, f)
    }

    /// A finding received.
    pub fn received(&self) {
        self.with(|| metrics::counter!(RECEIVED).increment(1));
    }

    /// A message that holds no finding.
    pub fn rejected(&self) {
        self.with(|| metrics::counter!(REJECTED).increment(1));
    }

    /// A message brought back from the dead-letter queue.
    pub fn redriven(&self) {
        self.with(|| metrics::counter!(REDRIVEN).increment(1));
    }

    /// The dead-letter queue's depth, as last read.
    pub fn dead_letters(&self, n: u64) {
        self.with(|| metrics::gauge!(DEAD_LETTERS).set(n as f64));
    }

    /// The age of the oldest message read from the dead-letter queue, in seconds.
    pub fn dead_letter_age(&self, seconds: f64) {
        self.with(|| metrics::gauge!(DEAD_LETTER_AGE).set(seconds));
    }

    fn duplicate(&self) {
        self.with(|| metrics::counter!(DUPLICATE).increment(1));
    }

    fn no_playbook(&self) {
        self.with(|| metrics::counter!(NO_PLAYBOOK).increment(1));
    }

    /// An execution ended: its outcome, time-to-contain and each step's duration.
    fn executed(&self, report: &crate::engine::RunReport, status: &str) {
        self.with(|| {
            metrics::counter!(EXECUTIONS, "status" => status.to_string()).increment(1);
            if let Some(t) = report.time_to_contain_ms {
                metrics::histogram!(TIME_TO_CONTAIN).record(t as f64 / 1000.0);
            }
            for s in &report.steps {
                metrics::histogram!(STEP_DURATION, "action" => s.action.to_string())
                    .record(s.duration_ms as f64 / 1000.0);
            }
        });
        // Samples are moved into the summaries now, not only when scraped.
        self.handle.run_upkeep();
    }

    pub fn render(&self) -> String {
        self.handle.run_upkeep();
        self.handle.render()
    }
}

/// At most this many metrics connections are answered at once; more are closed unanswered.
const METRICS_CONNECTIONS: usize = 16;

/// Answers HTTP requests on `listener` (a loopback address) with the metrics: one tiny
/// response, so no HTTP framework. A request whose `Host` is not this address (or `localhost`
/// on its port) gets 421: a page in a browser cannot read the metrics through DNS rebinding.
pub async fn serve_metrics(listener: tokio::net::TcpListener, metrics: Arc<Metrics>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    let allowed: Vec<String> = match listener.local_addr() {
        Ok(a) => vec![a.to_string(), format!("localhost:{port}")],
        Err(_) => Vec::new(),
    };
    let allowed = Arc::new(allowed);
    let slots = Arc::new(tokio::sync::Semaphore::new(METRICS_CONNECTIONS));
    loop {
        let Ok((mut sock, _)) = listener.accept().await else {
            // Out of file descriptors or the like: do not spin.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            // Too many at once: closed unanswered.
            continue;
        };
        let (metrics, allowed) = (metrics.clone(), allowed.clone());
        tokio::spawn(async move {
            let _slot = slot;
            let mut buf = [0u8; 2048];
            let n = tokio::time::timeout(Duration::from_secs(2), sock.read(&mut buf))
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]);
            let host = request.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("host")
                    .then(|| v.trim().to_ascii_lowercase())
            });
            let (status, body) = match host {
                Some(h) if allowed.contains(&h) => ("200 OK", metrics.render()),
                _ => (
                    "421 Misdirected Request",
                    "the Host header must name this loopback address\n".to_string(),
                ),
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = sock.write_all(head.as_bytes()).await;
            let _ = sock.write_all(body.as_bytes()).await;
            let _ = sock.shutdown().await;
        });
    }
}

/// What became of one finding.
pub enum Handled {
    /// Contained now, before, or nothing to do: the message may go.
    Finished,
    /// Not done (another worker holds it, or it failed before its evidence was complete): the
    /// message stays and comes back after `Duration` (when the claim that holds it ends).
    Later(Duration),
    /// Not done, for a reason that may pass (the evidence bucket unreachable, a claim that
    /// could not be written): the message stays and comes back after a wait that grows with
    /// its receives, so that an outage does not use them up.
    Retry,
    /// Not a finding we can ever act on: left for the dead-letter queue.
    Rejected(String),
}

/// What firebreak already did with a finding (`Worker::accounted`).
#[derive(Debug, Clone, PartialEq)]
pub enum Accounted {
    /// An execution contained it (and GuardDuty has not seen its activity since).
    Contained(String),
    /// It has an incident: triaged and recorded (ticketed, ignored, or being contained).
    Recorded,
    /// Nothing: its delivery was lost, or it was never sent.
    Missing,
}

/// Contains findings; cheap to share between tasks behind an `Arc`.
pub struct Worker {
    pub opts: Options,
    set: crate::domain::playbook::LoadedSet,
    acc: aws::Accounts,
    store: Store,
    claims: Claims,
    sealer: crate::evidence::seal::Sealer,
    /// Where incidents are ticketed, if the configuration names a tracker.
    desk: Option<crate::tickets::Desk>,
    pub metrics: Arc<Metrics>,
    pub name: String,
    /// One lock per finding id being contained in this process: deliveries of one finding
    /// that arrive together (SQS batches, GuardDuty's re-sends) are handled one after the other,
    /// the later ones finding the claim done, instead of bouncing off a live claim.
    in_flight: std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Worker {
    /// Loads the playbooks and resolves the caller; `base` is the AWS configuration.
    pub async fn new(base: aws_config::SdkConfig, opts: Options) -> Result<Worker> {
        let set = crate::domain::playbook::load_valid(&opts.playbooks)
            .map_err(|e| e.into_command_error())?;
        let unknown = plan::undeclared_inputs(&set.playbooks, &opts.inputs);
        if !unknown.is_empty() {
            bail!(
                "--input {}: no playbook in {} declares it\n  hint: `firebreak actions` and the playbooks' `inputs:` say what each takes",
                unknown.join(", "),
                opts.playbooks.display()
            );
        }
        if opts.engine == crate::domain::catalog::Engine::Sfn && !opts.inputs.is_empty() {
            bail!(
                "--input is not passed to a state machine: its inputs are fixed when it is deployed\n  hint: `firebreak deploy --input NAME=VALUE`"
            );
        }
        let (bucket, prefix) = match evidence::parse_target(&opts.evidence)
            .map_err(|e| anyhow::anyhow!("--evidence: {e}"))?
        {
            evidence::Target::S3 { bucket, prefix } => (bucket, prefix),
            evidence::Target::Dir(_) => bail!(
                "--evidence must be s3://BUCKET[/PREFIX]\n  hint: claims that make containment exactly-once across processes need S3's conditional writes"
            ),
        };
        let id = uuid::Uuid::now_v7();
        let name = format!(
            "{}-{id}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "firebreak".into()),
        );
        // Each process's sessions in other accounts carry its id (the `worker` of its log
        // lines), so CloudTrail there tells one worker's calls from another's.
        let acc = aws::Accounts::new(base.clone(), opts.cross.clone(), &format!("firebreak-{id}"))
            .await?;
        // firebreak never acts on itself: its identity and its evidence bucket are protected
        // like the configured resources (triage tickets findings about them).
        let mut opts = opts;
        opts.config
            .protected
            .extend([acc.caller_name().to_string(), bucket.clone()]);
        let s3_config = base
            .to_builder()
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .build();
        let store = Store::S3 {
            client: crate::aws::s3_client_owned_by(&s3_config, opts.expected_owner.as_deref()),
            bucket,
            prefix,
            mode: opts.lock_mode,
            retention: Duration::from_secs(u64::from(opts.retention_days) * 86_400),
        };
        // Fail now, not finding by finding: without its evidence bucket nothing can be contained.
        if let Store::S3 { client, bucket, .. } = &store
            && let Err(e) = client.head_bucket().bucket(bucket).send().await
        {
            bail!(
                "evidence bucket {bucket}: {}\n  hint: create it with `firebreak setup --evidence-bucket {bucket}`",
                crate::aws::classify(&e, "s3", "HeadBucket")
            );
        }
        // Claims and records are believed only when sealed: without the key, nothing is done.
        let sealer =
            crate::evidence::seal::Sealer::new(aws_sdk_kms::Client::new(&base), &opts.seal_key);
        if let Err(e) = sealer.check().await {
            bail!(
                "{e}\n  hint: `firebreak setup --evidence-bucket BUCKET` makes the seal key ({}); or name one with --seal-key (an HMAC_256 KMS key)",
                crate::evidence::seal::DEFAULT_ALIAS
            );
        }
        let Some(claims) = Claims::new(&store, &name, opts.lease, sealer.clone()) else {
            bail!("claims need an S3 evidence store");
        };
        // Incident records are sealed and believed only when sealed, like claims.
        let desk =
            match crate::tickets::Desk::from_config(&opts.config, Some(&store), &base).await? {
                Some(d) => Some(d.with_aws(&base).with_seal(&sealer).await?),
                None => None,
            };
        Ok(Worker {
            opts,
            set,
            acc,
            store,
            claims,
            sealer,
            desk,
            metrics: Arc::new(Metrics::default()),
            name,
            in_flight: Default::default(),
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Where incidents are ticketed, if anywhere.
    pub fn desk(&self) -> Option<&crate::tickets::Desk> {
        self.desk.as_ref()
    }

    /// What was already done with `f`: contained (its sealed `done`), recorded as an incident,
    /// or nothing. Reads only.
    pub async fn accounted(&self, f: &Finding) -> Result<Accounted> {
        if let Some(execution) = self.claims.settled(f).await? {
            return Ok(Accounted::Contained(execution));
        }
        if let Some(desk) = &self.desk
            && desk.recorded(f).await?
        {
            return Ok(Accounted::Recorded);
        }
        Ok(Accounted::Missing)
    }

    /// Tends the tickets: makes the writes that failed before (`Desk::retry_unwritten`) and
    /// closes those waiting for their finding to be archived (`Desk::close_archived`), logging
    /// what it did.
    pub async fn tend_tickets(&self) {
        let Some(desk) = &self.desk else { return };
        match desk.retry_unwritten().await {
            Ok((0, 0)) => {}
            Ok((made, left)) => crate::log!("tickets_retried", made, left),
            Err(e) => crate::log!("tickets_retry_failed", error = %e),
        }
        match desk.close_archived().await {
            Ok((0, _)) => {}
            Ok((closed, waiting)) => crate::log!("tickets_closed_on_archive", closed, waiting),
            Err(e) => crate::log!("archive_check_failed", error = %e),
        }
    }

    /// Writes the finding's `done` marker; the message may go once it is there.
    async fn mark_done(&self, f: &Finding, execution_id: &str, status: &str) -> Handled {
        match self.claims.done(f, execution_id, status).await {
            Ok(()) => Handled::Finished,
            Err(e) => {
                crate::log!("done_not_recorded", finding_id = %f.id, execution_id, error = %e);
                Handled::Later(self.opts.lease)
            }
        }
    }

    /// The records in `existing` (an execution's folder) whose seal does not hold.
    async fn unsealed_records(
        &self,
        f: &Finding,
        execution_id: &str,
        existing: &[(String, Vec<u8>)],
    ) -> Result<Vec<String>, crate::evidence::seal::KeyError> {
        let key = self
            .sealer
            .key(&crate::evidence::seal::execution_scope(
                &f.account_id,
                &f.id,
                execution_id,
            ))
            .await?;
        Ok(existing
            .iter()
            .filter(|(k, _)| {
                k.rsplit('/')
                    .next()
                    .and_then(evidence::parse_record_name)
                    .is_some_and(|(_, kind)| kind != "signature")
            })
            .filter(|(_, bytes)| key.open_json(bytes).is_err())
            .map(|(k, _)| k.clone())
            .collect())
    }

    /// Contains one finding exactly once (see `claim`); `source_id` names its delivery (an SQS
    /// message id, `guardduty:{updatedAt}`) in logs and `seen` records.
    pub async fn contain(&self, f: &Finding, message_id: &str) -> Handled {
        let key = format!("{}/{}", f.account_id, f.id);
        let lock = match self.in_flight.lock() {
            Ok(mut m) => m.entry(key.clone()).or_default().clone(),
            Err(_) => Arc::default(),
        };
        let handled = {
            let _turn = lock.lock().await;
            self.contain_now(f, message_id).await
        };
        if let Ok(mut m) = self.in_flight.lock()
            && m.get(&key).is_some_and(|l| Arc::strong_count(l) <= 2)
        {
            m.remove(&key);
        }
        handled
    }

    async fn contain_now(&self, f: &Finding, message_id: &str) -> Handled {
        let ctx = self;
        macro_rules! about {
            ($event:literal) => {
                crate::log!($event, finding_id = %f.id, r#type = %f.type_name,
                    account_id = %f.account_id, region = %f.region, count = f.count, message_id)
            };
        }
        if f.sample && !ctx.opts.allow_sample {
            about!("sample_ignored");
            return Handled::Finished;
        }
        let selected = select::select(f, &ctx.set.playbooks).winner;
        let triage =
            crate::domain::triage::decide(&ctx.opts.config, f, selected.map(|p| p.name.as_str()));
        let pb = match (triage.decision, selected) {
            (crate::domain::config::Decision::Respond, Some(pb)) => pb,
            _ => {
                if selected.is_none() {
                    ctx.metrics.no_playbook();
                }
                crate::log!("triaged", finding_id = %f.id, r#type = %f.type_name,
                    decision = triage.decision.as_str(), reason = %triage.reason,
                    rule = triage.rule.as_deref().unwrap_or("default"), message_id);
                // Ticketed or ignored: recorded in the incident (once, however many
                // deliveries), never contained.
                if let Some(desk) = &ctx.desk {
                    let investigator = crate::tickets::investigate::Investigator::new(
                        &ctx.acc.config(&f.account_id, &f.region).await,
                    );
                    desk.open(f, &triage, selected, None, Some(&investigator))
                        .await;
                } else if selected.is_none() {
                    about!("no_playbook");
                }
                return Handled::Finished;
            }
        };
        let plan = match plan::compile_with(f, pb, &plan::inputs_for(pb, &ctx.opts.inputs)) {
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
        let claimed = match ctx.claims.claim(f).await {
            Ok(c) => c,
            Err(e) => {
                crate::log!("claim_failed", finding_id = %f.id, error = %e);
                return Handled::Retry;
            }
        };
        if !claimed.forged.is_empty() {
            // Someone who is not firebreak wrote into the finding's claims: say so loudly and
            // go on as if those objects were not there. A line per object, its key a plain
            // string (a log field holds no list).
            for object in &claimed.forged {
                crate::log!("forged_claims", finding_id = %f.id, object = %object,
                    of = claimed.forged.len(),
                    what = "a claim or done marker without a valid seal; ignored");
            }
        }
        let (mut execution_id, mut generation, resume) = match claimed.claim {
            Claim::Done { execution_id } => {
                ctx.metrics.duplicate();
                if let Err(e) = ctx.claims.seen(f, &execution_id, message_id).await {
                    crate::log!("seen_not_recorded", finding_id = %f.id, error = %e);
                }
                crate::log!("duplicate", finding_id = %f.id, count = f.count, message_id,
                    contained_by = %execution_id);
                if let Some(desk) = &ctx.desk {
                    desk.seen_again(f).await;
                }
                return Handled::Finished;
            }
            Claim::Held {
                execution_id,
                lease_until_ms,
            } => {
                ctx.metrics.duplicate();
                let wait = ((lease_until_ms - crate::intake::claim::now_ms()).max(0) as u64)
                    .div_ceil(1000)
                    + 1;
                crate::log!("in_progress_elsewhere", finding_id = %f.id, execution_id = %execution_id,
                    retry_in_s = wait);
                return Handled::Later(Duration::from_secs(wait));
            }
            Claim::Won {
                generation,
                execution_id,
                resume,
            } => (execution_id, generation, resume),
        };
        // Taken over from a worker that died: continue its execution where its evidence ends,
        // if every record there is firebreak's; otherwise contain afresh.
        let existing = if resume {
            let folder =
                crate::evidence::folder(ctx.store.prefix(), &[&f.account_id, &f.id, &execution_id]);
            let existing = match ctx.store.read_folder(&folder).await {
                Ok(e) => e,
                Err(e) => {
                    crate::log!("resume_failed", finding_id = %f.id, execution_id = %execution_id, error = %e);
                    return Handled::Later(ctx.opts.lease);
                }
            };
            let forged = match ctx.unsealed_records(f, &execution_id, &existing).await {
                Ok(forged) => forged,
                Err(e) => {
                    crate::log!("resume_failed", finding_id = %f.id, execution_id = %execution_id, error = %e);
                    return Handled::Retry;
                }
            };
            if !forged.is_empty() {
                let (g, fresh) = match ctx.claims.restart(f, generation).await {
                    Ok(r) => r,
                    Err(e) => {
                        crate::log!("claim_failed", finding_id = %f.id, error = %e);
                        return Handled::Retry;
                    }
                };
                for record in &forged {
                    crate::log!("forged_records", finding_id = %f.id, execution_id = %execution_id,
                        record = %record, of = forged.len(),
                        what = "a record without a valid seal; not resumed, contained afresh",
                        new_execution_id = %fresh);
                }
                execution_id = fresh;
                generation = g;
                None
            } else {
                let manifest = existing.iter().find(|(k, _)| k.ends_with("-manifest.json"));
                crate::log!("taken_over", finding_id = %f.id, execution_id = %execution_id, generation,
                    records_found = existing.len(), manifest_found = manifest.is_some());
                // It died after its manifest: only the `done` marker is missing, and perhaps the
                // index entry (written again if it was not: the audit takes two entries of one
                // manifest as one).
                if let Some((key, bytes)) = manifest {
                    let indexed = crate::contain::index(
                        Some(&ctx.store),
                        Some(&ctx.sealer),
                        f,
                        &execution_id,
                        &folder,
                        key,
                        &crate::evidence::sha256_hex(bytes),
                    )
                    .await;
                    if indexed.is_none() {
                        return Handled::Retry;
                    }
                    let status = serde_json::from_slice::<Value>(bytes)
                        .ok()
                        .and_then(|v| v["status"].as_str().map(str::to_string))
                        .unwrap_or_default();
                    return ctx.mark_done(f, &execution_id, &status).await;
                }
                Some(existing)
            }
        } else {
            None
        };
        crate::log!("containing", finding_id = %f.id, r#type = %f.type_name, playbook = %pb.name,
            execution_id = %execution_id, generation);
        let exec = crate::contain::Exec {
            dry_run: false,
            concurrency: ctx.opts.step_concurrency,
            role_name: &ctx.opts.cross.role_name,
            sign_key: ctx.opts.sign_key.as_deref(),
            sealer: Some(&ctx.sealer),
            engine: ctx.opts.engine,
            state_machine: None,
            desk: ctx.desk.as_ref(),
            triage: Some(&triage),
        };
        // Steps are never interrupted by SIGTERM here: serve stops taking messages and lets the
        // findings in flight finish.
        let (_never_tx, never) = watch::channel(false);
        // Renew the claim at half its lease for as long as the execution runs, so that a long
        // execution is not taken over while its worker is alive.
        let (finished_tx, mut finished_rx) = watch::channel(false);
        let renewal = {
            let claims = ctx.claims.clone();
            let f = f.clone();
            let execution_id = execution_id.clone();
            let every = (ctx.opts.lease / 2).max(Duration::from_millis(500));
            tokio::spawn(async move {
                let mut generation = generation;
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(every) => {}
                        _ = finished_rx.changed() => return,
                    }
                    match claims.renew(&f, generation, &execution_id).await {
                        Ok(next) => generation = next,
                        Err(e) => {
                            crate::log!("lease_not_renewed", finding_id = %f.id,
                                execution_id = %execution_id, error = %e);
                            return;
                        }
                    }
                }
            })
        };
        let result = crate::contain::execute(
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
        let _ = finished_tx.send(true);
        let _ = renewal.await;
        let (report, complete) = match result {
            Ok(r) => r,
            Err(e) => {
                crate::log!("execution_not_started", finding_id = %f.id, execution_id = %execution_id,
                    error = format!("{e:#}"));
                return Handled::Later(ctx.opts.lease);
            }
        };
        let status = serde_json::to_value(report.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        ctx.metrics.executed(&report, &status);
        crate::log!("executed", finding_id = %f.id, execution_id = %execution_id, status = %status,
            time_to_contain_ms = report.time_to_contain_ms, total_ms = report.total_ms,
            manifest = report.evidence_manifest.as_deref(),
            index_entry = report.evidence_index.as_deref());
        if report.evidence_manifest.is_none() || report.evidence_index.is_none() {
            // The evidence is incomplete (no manifest, or not in the index): the claim's lease
            // expires and another worker takes over, finishing what is missing.
            return Handled::Later(ctx.opts.lease);
        }
        let _ = complete;
        ctx.mark_done(f, &execution_id, &status).await
    }
}

#[cfg(test)]
mod tests {
    use super::Metrics;

    /// Every counter is there from the start, described; a received finding counts.
    #[test]
    fn metrics_render_in_the_prometheus_text_format() {
        let m = Metrics::default();
        m.received();
        let text = m.render();
        for line in [
            "# HELP firebreak_findings_received_total Findings received from the queue.",
            "# TYPE firebreak_findings_received_total counter",
            "firebreak_findings_received_total 1",
            "firebreak_messages_rejected_total 0",
            "firebreak_findings_duplicate_total 0",
            "firebreak_findings_without_playbook_total 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
    }
}
