//! `firebreak run`: select, compile and execute each finding, printing progress as it happens
//! and a summary (or one JSON object per finding) at the end.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use tokio::sync::{mpsc, watch};

use crate::actions::AwsExecutor;
use crate::engine::{self, Event, RunOptions, RunReport, StepStatus};
use crate::evidence::{self, Recorder, Store};
use crate::finding::Finding;
use crate::{aws, plan, select};

pub struct Options {
    pub playbook: Option<String>,
    pub inputs: std::collections::BTreeMap<String, String>,
    pub playbooks: PathBuf,
    pub dry_run: bool,
    pub allow_sample: bool,
    pub cross: aws::CrossAccount,
    pub concurrency: usize,
    pub json: bool,
    /// `s3://BUCKET[/PREFIX]` or a folder; no evidence is kept without it.
    pub evidence: Option<String>,
    pub retention_days: u32,
    /// KMS key that signs each manifest.
    pub sign_key: Option<String>,
    /// KMS HMAC key that seals every record (`crate::seal`).
    pub seal_key: Option<String>,
    pub lock_mode: evidence::LockMode,
    /// Run on the playbook's Step Functions state machine instead of in this process.
    pub sfn: bool,
    /// That state machine's ARN (default: the one `firebreak deploy` named after the playbook).
    pub state_machine: Option<String>,
}

/// Runs every finding (in order) and returns the exit code: 0 only when every step that ran
/// succeeded.
pub fn run(findings: Vec<Finding>, opts: Options, started: Instant) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(run_all(findings, opts, started))
}

async fn run_all(findings: Vec<Finding>, opts: Options, started: Instant) -> Result<ExitCode> {
    let set = crate::playbook::load_valid(&opts.playbooks).map_err(|e| e.into_command_error())?;
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        crate::say!(
            "firebreak: stop requested; finishing the steps already running, starting no more"
        );
        let _ = stop_tx.send(true);
    });
    let unknown = plan::undeclared_inputs(&set.playbooks, &opts.inputs);
    if opts.playbook.is_none() && !unknown.is_empty() {
        bail!(
            "--input {}: no playbook in {} declares it\n  hint: the playbooks' `inputs:` say what each takes",
            unknown.join(", "),
            opts.playbooks.display()
        );
    }
    // Refuse before touching AWS: a sample finding is never contained for real by accident.
    for f in &findings {
        if f.sample && !opts.allow_sample && !opts.dry_run {
            bail!(
                "finding {} is a GuardDuty sample finding; refusing live containment\n  hint: use --dry-run to see what would be done, or --allow-sample in a drill",
                f.id
            );
        }
    }
    let target = match &opts.evidence {
        Some(t) => Some(evidence::parse_target(t).map_err(|e| anyhow::anyhow!("--evidence: {e}"))?),
        None => None,
    };
    let mut store: Option<Store> = None;
    let mut sealer: Option<crate::seal::Sealer> = None;
    let mut accounts: Option<aws::Accounts> = None;
    let mut reports = Vec::new();
    let mut ok = true;
    for f in &findings {
        let pb = match &opts.playbook {
            Some(name) => Some(
                set.playbooks
                    .iter()
                    .find(|p| &p.name == name)
                    .with_context(|| format!("no playbook named `{name}`"))?,
            ),
            None => select::select(f, &set.playbooks).winner,
        };
        let Some(pb) = pb else {
            crate::say!(
                "{}: no playbook matches; nothing to do (`firebreak explain` says why)",
                f.label()
            );
            continue;
        };
        // A playbook named with --playbook must take every --input; a selected one gets those
        // it declares.
        let inputs = if opts.playbook.is_some() {
            opts.inputs.clone()
        } else {
            plan::inputs_for(pb, &opts.inputs)
        };
        // One finding that cannot be bound is reported and the batch goes on: the findings
        // after it are contained, and the run exits 1.
        let plan = match plan::compile_with(f, pb, &inputs) {
            Ok(p) => p,
            Err(errors) => {
                let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
                crate::say!(
                    "error: cannot bind finding {} to playbook {} (not contained; the other findings go on):\n{}",
                    f.id,
                    pb.name,
                    text.join("\n")
                );
                ok = false;
                continue;
            }
        };
        let execution_id = uuid::Uuid::now_v7().to_string();
        if accounts.is_none() {
            let base = aws::load().await;
            accounts = Some(
                aws::Accounts::new(
                    base,
                    opts.cross.clone(),
                    &format!("firebreak-{execution_id}"),
                )
                .await?,
            );
        }
        let Some(acc) = accounts.as_ref() else {
            continue;
        };
        if store.is_none() {
            store = match &target {
                None => None,
                Some(evidence::Target::Dir(dir)) => Some(Store::Local { dir: dir.clone() }),
                Some(evidence::Target::S3 { bucket, prefix }) => {
                    let config = acc
                        .base()
                        .to_builder()
                        .retry_config(aws_config::retry::RetryConfig::disabled())
                        .build();
                    Some(Store::S3 {
                        client: aws_sdk_s3::Client::from_conf(
                            aws_sdk_s3::config::Builder::from(&config)
                                .force_path_style(true)
                                .build(),
                        ),
                        bucket: bucket.clone(),
                        prefix: prefix.clone(),
                        mode: opts.lock_mode,
                        retention: std::time::Duration::from_secs(
                            u64::from(opts.retention_days) * 86_400,
                        ),
                    })
                }
            };
        }
        if sealer.is_none()
            && let Some(key) = &opts.seal_key
        {
            sealer = Some(crate::seal::Sealer::new(
                aws_sdk_kms::Client::new(acc.base()),
                key,
            ));
        }
        if opts.sfn {
            if opts.dry_run {
                bail!(
                    "--dry-run runs with the local engine only\n  hint: drop --engine sfn to see what would be done"
                );
            }
            if !opts.inputs.is_empty() {
                bail!(
                    "--input is not passed to a state machine: its inputs are fixed when it is deployed\n  hint: `firebreak deploy --input NAME=VALUE`"
                );
            }
        }
        let exec = Exec {
            dry_run: opts.dry_run,
            concurrency: opts.concurrency,
            role_name: &opts.cross.role_name,
            sign_key: opts.sign_key.as_deref(),
            sealer: sealer.as_ref(),
            engine: if opts.sfn {
                crate::catalog::Engine::Sfn
            } else {
                crate::catalog::Engine::Local
            },
            state_machine: opts.state_machine.as_deref(),
        };
        let (report, done) = execute(
            f,
            pb,
            plan,
            acc,
            store.as_ref(),
            execution_id,
            &exec,
            stop_rx.clone(),
            true,
            started,
            None,
        )
        .await?;
        ok &= done;
        if !opts.json {
            print!(
                "{}",
                crate::render::terminal_safe(&crate::scrub::scrub_text(&summary(&report)))
            );
        }
        reports.push(report);
    }
    if opts.json {
        let v = if reports.len() == 1 {
            serde_json::to_value(&reports[0])?
        } else {
            serde_json::to_value(&reports)?
        };
        println!("{}", serde_json::to_string_pretty(&crate::scrub::scrub(v))?);
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(crate::exit::PROBLEMS)
    })
}

/// How one finding is executed (shared by `run` and `serve`).
pub(crate) struct Exec<'a> {
    pub dry_run: bool,
    pub concurrency: usize,
    pub role_name: &'a str,
    pub sign_key: Option<&'a str>,
    /// Seals every record (`crate::seal`): `serve` and `watch` always, `run` with `--seal-key`.
    pub sealer: Option<&'a crate::seal::Sealer>,
    /// Where the plan runs: in this process, or on the playbook's state machine.
    pub engine: crate::catalog::Engine,
    /// That state machine (default: the one `deploy` named after the playbook).
    pub state_machine: Option<&'a str>,
}

/// Contains one finding: the one service `run`, `serve`, `watch` and `drill` use, on either
/// engine. Locally it records the finding and plan (or refuses to start), runs the steps with
/// the evidence recorder, then writes (and signs) the manifest; on Step Functions it starts the
/// playbook's state machine in the finding's account and follows it (`sfn::execute`). Returns
/// the report and whether everything that ran succeeded and its evidence is complete.
/// `progress` prints each step's events on stderr.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn execute(
    f: &Finding,
    pb: &crate::playbook::Playbook,
    plan: crate::plan::Plan,
    acc: &aws::Accounts,
    store: Option<&Store>,
    execution_id: String,
    opts: &Exec<'_>,
    stop_rx: watch::Receiver<bool>,
    progress: bool,
    started: Instant,
    resume: Option<Vec<(String, Vec<u8>)>>,
) -> Result<(RunReport, bool)> {
    if opts.engine == crate::catalog::Engine::Sfn {
        if opts.dry_run {
            bail!(
                "--dry-run runs with the local engine only\n  hint: drop --engine sfn to see what would be done"
            );
        }
        // A state machine starts from the beginning: its actions are idempotent, and what an
        // earlier execution did is in that execution's own evidence.
        let config = acc.config(&f.account_id, &f.region).await;
        return crate::sfn::execute(
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
                .key(&crate::seal::execution_scope(&f.account_id, &f.id, &execution_id))
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
    if let Some(r) = &recorder {
        let first = async {
            if !has_finding {
                r.finding(f).await?;
            }
            if !has_plan {
                r.plan(&plan, &pb.source).await?;
            }
            Ok::<_, evidence::StoreError>(())
        };
        if let Err(e) = first.await {
            bail!(
                "{e}\n  hint: firebreak does not act without its evidence; check that the evidence target exists and is writable (`firebreak setup`)"
            );
        }
    }
    let clients = acc.clients(&f.account_id, &f.region).await;
    if progress {
        crate::say!(
            "firebreak: {} {} with playbook {} (execution {execution_id}){}",
            if opts.dry_run {
                "dry run for"
            } else {
                "containing"
            },
            f.label(),
            pb.name,
            if f.account_id != acc.caller_account() {
                format!(", in account {} via role {}", f.account_id, opts.role_name)
            } else {
                String::new()
            }
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
        match r.manifest(&report, acc.caller_arn(), &started_at).await {
            Ok(entry) => {
                if progress {
                    crate::say!(
                        "evidence: {} records, manifest {}",
                        entry.seq + 1,
                        entry.key
                    );
                }
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
    Ok((report, ok))
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

fn event_line(e: &Event) -> String {
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
                "  retry    {step}: attempt {attempt} failed ({error}); trying again in {delay_ms} ms"
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
        } => format!("  FAILED   {step} after {attempts} attempt(s): {error}"),
        Event::StepSkipped { step, reason } => format!("  skipped  {step}: {reason}"),
        Event::Interrupted => "  interrupted: no further step will start".to_string(),
    }
}

fn summary(r: &RunReport) -> String {
    let mut out = format!(
        "\nexecution {} · finding {} · playbook {} · status {}\n",
        r.execution_id,
        r.finding_id,
        r.playbook,
        serde_json::to_value(r.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    );
    for s in &r.steps {
        let detail = match s.status {
            StepStatus::Succeeded if !s.planned.is_empty() => {
                format!("dry run: would {}", s.planned.join("; "))
            }
            StepStatus::Succeeded if !s.action.spec().mutates() => "captured".to_string(),
            StepStatus::Succeeded if s.changed => "changed".to_string(),
            StepStatus::Succeeded => "already as wanted".to_string(),
            StepStatus::Failed => s.error.clone().unwrap_or_default(),
            StepStatus::Skipped => s.skip_reason.clone().unwrap_or_default(),
        };
        let status = serde_json::to_value(s.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        out.push_str(&format!(
            "  {:<24} {:<34} {:<9} {:>3}  {detail}\n",
            s.id,
            s.action.to_string(),
            status,
            s.attempts
        ));
    }
    match r.time_to_contain_ms {
        Some(t) => out.push_str(&format!(
            "time to contain: {t} ms · total: {} ms\n",
            r.total_ms
        )),
        None if r.status == crate::engine::RunStatus::DryRun => out.push_str(&format!(
            "time to contain: - (a dry run contains nothing) · total: {} ms\n",
            r.total_ms
        )),
        None => out.push_str(&format!(
            "time to contain: - (no containment step succeeded) · total: {} ms\n",
            r.total_ms
        )),
    }
    out
}
