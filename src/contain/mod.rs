//! The one service that contains a finding, on either engine: `run`, `serve`, `watch` and
//! `drill` all call [`execute`]. Locally it runs the plan with the evidence recorder
//! observing; on Step Functions it starts the playbook's state machine and follows it
//! ([`sfn::execute`]).

pub mod deploy;
pub mod sfn;

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Result, bail};
use tokio::sync::{mpsc, watch};

use crate::aws;
use crate::domain::finding::Finding;
use crate::engine::local::AwsExecutor;
use crate::engine::{self, Event, RunOptions, RunReport};
use crate::evidence::{self, Recorder, Store};

/// How one finding is executed (shared by `run` and `serve`).
pub(crate) struct Exec<'a> {
    pub dry_run: bool,
    pub concurrency: usize,
    pub role_name: &'a str,
    pub sign_key: Option<&'a str>,
    /// Seals every record (`crate::evidence::seal`): `serve` and `watch` always, `run` with `--seal-key`.
    pub sealer: Option<&'a crate::evidence::seal::Sealer>,
    /// Where the plan runs: in this process, or on the playbook's state machine.
    pub engine: crate::domain::catalog::Engine,
    /// That state machine (default: the one `deploy` named after the playbook).
    pub state_machine: Option<&'a str>,
    /// Where the finding's incident is ticketed (none: no tickets).
    pub desk: Option<&'a crate::tickets::Desk>,
    /// How the finding was triaged (none: respond by default).
    pub triage: Option<&'a crate::domain::triage::Triage>,
}

/// Contains one finding: the one service `run`, `serve`, `watch` and `drill` use, on either
/// engine. Locally it records the finding and plan (or refuses to start), runs the steps with
/// the evidence recorder, then writes (and signs) the manifest; on Step Functions it starts the
/// playbook's state machine in the finding's account and follows it (`sfn::execute`). Returns
/// the report and whether everything that ran succeeded and its evidence is complete.
/// `progress` prints each step's events on stderr.
/// With a ticket desk (`opts.desk`, not on a dry run), the incident's ticket is opened while
/// the steps run, given the outcome and closed when the finding is contained; a ticket that
/// cannot be written is recorded and never changes the outcome.
#[allow(clippy::too_many_arguments)]
#[tracing::instrument(name = "execution", skip_all, fields(
    execution_id = %execution_id, finding_id = %f.id, playbook = %pb.name, engine = ?opts.engine,
))]
pub(crate) async fn execute(
    f: &Finding,
    pb: &crate::domain::playbook::Playbook,
    plan: crate::domain::plan::Plan,
    acc: &aws::Accounts,
    store: Option<&Store>,
    execution_id: String,
    opts: &Exec<'_>,
    stop_rx: watch::Receiver<bool>,
    progress: bool,
    started: Instant,
    resume: Option<Vec<(String, Vec<u8>)>>,
) -> Result<(RunReport, bool)> {
    let ticket_execution = execution_id.clone();
    // Each step's parameters known before it runs, for the ticket's "how to undo".
    // Only when a ticket will say how to undo the changes: not on the way to containment.
    let ticketed = opts.desk.is_some() && !opts.dry_run;
    let step_params: crate::tickets::StepParams = plan
        .graph
        .node_weights()
        .filter(|_| ticketed)
        .map(|s| {
            let known = s
                .params
                .iter()
                .filter_map(|(k, v)| match v {
                    crate::domain::plan::ParamValue::Known(v) => Some((k.clone(), v.clone())),
                    crate::domain::plan::ParamValue::Deferred { .. } => None,
                })
                .collect();
            (s.id.clone(), known)
        })
        .collect();
    let contain = async {
        if opts.engine == crate::domain::catalog::Engine::Sfn {
            if opts.dry_run {
                bail!(
                    "--dry-run runs with the local engine only\n  hint: drop --engine sfn to see what would be done"
                );
            }
            // A state machine starts from the beginning: its actions are idempotent, and what an
            // earlier execution did is in that execution's own evidence.
            let config = acc
                .execution_config(&f.account_id, &f.region, &execution_id)
                .await;
            return crate::contain::sfn::execute(
                f,
                pb,
                plan,
                &config,
                acc.caller_arn(),
                store,
                execution_id,
                opts.state_machine,
                progress,
                started,
                opts.sealer,
            )
            .await;
        }
        let mut ok = true;
        let started_at = evidence::now_rfc3339();
        // What an earlier worker recorded of this execution before it died.
        let existing = resume.unwrap_or_default();
        let has = |kind: &str| {
            existing.iter().any(|(k, _)| {
                k.rsplit('/')
                    .next()
                    .and_then(evidence::parse_record_name)
                    .is_some_and(|(_, k)| k == kind)
            })
        };
        let (has_finding, has_plan) = (has("finding"), has("plan"));
        let mut resumed = std::collections::HashMap::new();
        for (_, bytes) in &existing {
            let v: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
            if v["step"]["status"] == "succeeded"
                && let Some(id) = v["step"]["id"].as_str()
            {
                resumed.insert(id.to_string(), v["step"].clone());
            }
        }
        let seal = match (opts.sealer, store) {
            (Some(sealer), Some(_)) => Some(
                sealer
                    .key(&crate::evidence::seal::execution_scope(&f.account_id, &f.id, &execution_id))
                    .await
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "{e}\n  hint: firebreak does not act without sealing its evidence; the caller needs kms:GenerateMac on the seal key"
                        )
                    })?,
            ),
            _ => None,
        };
        let recorder = store.cloned().map(|s| {
            Arc::new(
                Recorder::resume(s, &f.account_id, &f.id, &execution_id, &existing).with_seal(seal),
            )
        });
        // The finding and the plan are recorded while the execution's clients get their
        // credentials (in another account, a role session named after the execution).
        let first = async {
            if let Some(r) = &recorder {
                if !has_finding {
                    r.finding(f).await?;
                }
                if !has_plan {
                    r.plan(&plan, &pb.source).await?;
                }
            }
            Ok::<_, evidence::StoreError>(())
        };
        let (first, (clients, acted_as)) = tokio::join!(
            first,
            acc.execution_clients(&f.account_id, &f.region, &execution_id)
        );
        if let Err(e) = first {
            bail!(
                "{e}\n  hint: firebreak does not act without its evidence; check that the evidence target exists and is writable (`firebreak setup`)"
            );
        }
        if progress {
            let cross = if f.account_id != acc.caller_account() {
                format!(", in account {} via role {}", f.account_id, opts.role_name)
            } else {
                String::new()
            };
            crate::say!(
                "{}",
                start_line(f, &pb.name, &execution_id, "", opts.dry_run, &cross)
            );
        }
        let executor = Arc::new(AwsExecutor {
            clients,
            finding_id: f.id.clone(),
            execution_id: execution_id.clone(),
        });
        let (tx, mut rx) = mpsc::unbounded_channel();
        let printer = tokio::spawn(async move {
            while let Some(e) = rx.recv().await {
                if progress {
                    crate::say!("{}", event_line(&e));
                }
            }
        });
        let run_opts = RunOptions {
            execution_id,
            dry_run: opts.dry_run,
            concurrency: opts.concurrency,
            resumed,
        };
        let mut report = engine::run(
            &plan,
            executor,
            &run_opts,
            started,
            tx,
            stop_rx.clone(),
            recorder
                .clone()
                .map(|r| r as Arc<dyn crate::engine::Journal>),
        )
        .await;
        let _ = printer.await;
        ok &= report.ok();
        if let Some(r) = &recorder {
            match r
                .manifest(&report, acc.caller_arn(), acted_as.as_deref(), &started_at)
                .await
            {
                Ok(entry) => {
                    let indexed = index(
                        store,
                        opts.sealer,
                        f,
                        &ticket_execution,
                        r.folder(),
                        &entry.key,
                        &entry.sha256,
                    )
                    .await;
                    ok &= indexed.is_some();
                    if progress {
                        crate::say!("{}", evidence_line(&entry.key, indexed.as_ref()));
                    }
                    report.evidence_index = indexed.map(|i| format!("{}:{}", i.seq, i.sha256));
                    if let Some(key) = opts.sign_key {
                        let kms = aws_sdk_kms::Client::new(acc.base());
                        match r.sign(&kms, key, &entry).await {
                            Ok(sig) if progress => {
                                crate::say!("evidence: manifest signed, {}", sig.key)
                            }
                            Ok(_) => {}
                            Err(e) => {
                                crate::say!("error: the manifest could not be signed: {e}");
                                ok = false;
                            }
                        }
                    }
                    report.evidence_manifest = Some(entry.key);
                }
                Err(e) => {
                    crate::say!("error: the evidence manifest could not be written: {e}");
                    ok = false;
                }
            }
        }
        Ok::<_, anyhow::Error>((report, ok))
    };
    let Some(desk) = opts.desk.filter(|_| !opts.dry_run) else {
        return Box::pin(contain).await;
    };
    let default;
    let triage = match opts.triage {
        Some(t) => t,
        None => {
            default = crate::domain::triage::decide(
                &crate::domain::config::Config::default(),
                f,
                Some(&pb.name),
            );
            &default
        }
    };
    let opening = async {
        // The account's alias and (unless the configuration says not to) the investigation
        // are read in the finding's account.
        let investigator = Some(crate::tickets::investigate::Investigator::new(
            &acc.config(&f.account_id, &f.region).await,
        ));
        desk.open(
            f,
            triage,
            Some(pb),
            Some(&ticket_execution),
            investigator.as_ref(),
        )
        .await
    };
    // Both on the heap: the containment's future is large, and the ticket's beside it would
    // make the task's stack frame too deep for a runtime thread.
    let (ticket, result) = tokio::join!(Box::pin(opening), Box::pin(contain));
    if let Some(t) = &ticket
        && progress
    {
        crate::say!("ticket: {}", t.url);
    }
    let evidence = store.map(Store::describe).unwrap_or_default();
    match &result {
        Ok((report, _)) => {
            desk.contained(f, report, &step_params, &evidence, triage.close)
                .await
        }
        Err(e) => {
            desk.not_contained(f, &ticket_execution, &e.to_string())
                .await
        }
    }
    result
}

/// A receiver that turns true at the first SIGINT or SIGTERM.
pub(crate) fn stop_on_signal() -> watch::Receiver<bool> {
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        let _ = stop_tx.send(true);
    });
    stop_rx
}

pub(crate) async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The line that starts an execution's progress, the same on both engines (`on` says where it
/// runs, `cross` in which account).
pub(crate) fn start_line(
    f: &Finding,
    playbook: &str,
    execution_id: &str,
    on: &str,
    dry_run: bool,
    cross: &str,
) -> String {
    format!(
        "firebreak: {} {} with playbook {playbook}{on} (execution {execution_id}){cross}",
        if dry_run { "dry run for" } else { "containing" },
        f.label(),
    )
}

/// The line that ends it, the same on both engines: how many records the evidence has, its
/// manifest and its index entry.
pub(crate) fn evidence_line(
    manifest_key: &str,
    index: Option<&crate::evidence::index::EntryAt>,
) -> String {
    let name = manifest_key.rsplit('/').next().unwrap_or(manifest_key);
    let mut line = match crate::evidence::parse_record_name(name) {
        Some((seq, _)) => format!("evidence: {} records, manifest {manifest_key}", seq + 1),
        None => format!("evidence: manifest {manifest_key}"),
    };
    if let Some(i) = index {
        line.push_str(&format!(", index entry {}", i.seq));
    }
    line
}

/// Enters an execution whose manifest is written in its store's index
/// (`crate::evidence::index`), sealed with the execution's records; the entry, or `None` (said
/// on stderr) when it could not be written: the execution is then not whole.
pub(crate) async fn index(
    store: Option<&Store>,
    sealer: Option<&crate::evidence::seal::Sealer>,
    f: &Finding,
    execution_id: &str,
    folder: &str,
    manifest_key: &str,
    manifest_sha256: &str,
) -> Option<crate::evidence::index::EntryAt> {
    let store = store?;
    let entry = crate::evidence::index::IndexedExecution {
        account_id: f.account_id.clone(),
        finding_id: f.id.clone(),
        execution_id: execution_id.to_string(),
        folder: folder.to_string(),
        manifest_key: manifest_key.to_string(),
        manifest_sha256: manifest_sha256.to_string(),
    };
    match crate::evidence::index::append(store, sealer, entry).await {
        Ok(key) => Some(key),
        Err(e) => {
            crate::say!("error: the execution could not be entered in the evidence index: {e}");
            None
        }
    }
}

/// A step's progress line, the same on both engines.
pub(crate) fn event_line(e: &Event) -> String {
    match e {
        Event::StepStarted {
            step,
            action,
            attempt,
        } if *attempt == 1 => format!("  start    {step} ({action})"),
        Event::StepStarted { step, attempt, .. } => {
            format!("  start    {step} (attempt {attempt})")
        }
        Event::StepRetrying {
            step,
            attempt,
            delay_ms,
            error,
        } => {
            format!(
                "  retry    {step}: attempt {attempt} failed ({}); trying again in {delay_ms} ms",
                crate::domain::render::brief(error)
            )
        }
        Event::StepSucceeded {
            step,
            action,
            attempts,
            duration_ms,
            changed,
            would_change,
        } => format!(
            "  done     {step} in {duration_ms} ms{}{}",
            if *attempts > 1 {
                format!(" after {attempts} attempts")
            } else {
                String::new()
            },
            if *would_change {
                " (dry run: a change is planned, none made)"
            } else if *changed || !action.spec().mutates() {
                ""
            } else {
                " (already as wanted; nothing changed)"
            }
        ),
        Event::StepFailed {
            step,
            attempts,
            error,
        } => format!(
            "  FAILED   {step} after {attempts} attempt(s): {}",
            crate::domain::render::brief(error)
        ),
        Event::StepSkipped { step, reason } => format!("  skipped  {step}: {reason}"),
        Event::Interrupted => "  interrupted: no further step will start".to_string(),
    }
}
