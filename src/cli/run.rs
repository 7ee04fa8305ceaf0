//! `firebreak run`: select, compile and execute each finding, printing progress as it happens
//! and a summary (or one JSON object per finding) at the end.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Result, bail};
use tokio::sync::watch;

use super::{EngineArg, LockArg, Output, parse_input, read_findings};
use crate::aws;
use crate::contain::{Exec, execute, wait_for_signal};
use crate::domain::catalog::Engine;
use crate::domain::config::Decision;
use crate::domain::finding::Finding;
use crate::domain::{plan, select};
use crate::engine::{RunReport, StepStatus};
use crate::evidence::{self, Store};

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
    /// KMS HMAC key that seals every record (`crate::evidence::seal`).
    pub seal_key: Option<String>,
    /// The account that must own the evidence bucket.
    pub expected_owner: Option<String>,
    pub lock_mode: evidence::LockMode,
    /// Run on the playbook's Step Functions state machine instead of in this process.
    pub sfn: bool,
    /// That state machine's ARN (default: the one `firebreak deploy` named after the playbook).
    pub state_machine: Option<String>,
    /// firebreak's configuration file (tickets); see `crate::tickets::load_config`.
    pub config: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A finding file (`-` for standard input).
    pub finding: PathBuf,
    /// Use this playbook instead of the selected one.
    #[arg(long)]
    pub playbook: Option<String>,
    #[arg(long, default_value = "playbooks")]
    pub playbooks: PathBuf,
    /// Set a playbook input (e.g. `--input sns_topic_arn=arn:aws:sns:…`); repeatable.
    #[arg(long = "input", value_name = "NAME=VALUE", value_parser = parse_input)]
    pub inputs: Vec<(String, String)>,
    /// Change nothing: EC2 calls are sent with DryRun=true, other changes are only planned.
    #[arg(long)]
    pub dry_run: bool,
    /// Contain GuardDuty sample findings too (for drills); they are refused otherwise.
    #[arg(long)]
    pub allow_sample: bool,
    /// Role assumed in the finding's account when it is not the caller's.
    #[arg(long, default_value = "FirebreakResponder")]
    pub role_name: String,
    /// ExternalId for that role, if its trust policy requires one.
    #[arg(long)]
    pub external_id: Option<String>,
    /// Keep evidence: `s3://BUCKET[/PREFIX]` (an Object Lock bucket) or a folder.
    #[arg(long)]
    pub evidence: Option<String>,
    /// Where the plan runs: `local` (this process) or `sfn` (the playbook's Step Functions
    /// state machine, made by `firebreak deploy`).
    #[arg(long, value_enum, default_value = "local")]
    pub engine: EngineArg,
    /// The state machine to start with `--engine sfn` (default: `firebreak-<playbook>`).
    #[arg(long)]
    pub state_machine: Option<String>,
    /// Retention of evidence objects, in days.
    #[arg(long, default_value_t = 365)]
    pub retention_days: u32,
    /// Sign each manifest with this KMS key (ECC_NIST_P256, SIGN_VERIFY); needs --evidence.
    #[arg(long, requires = "evidence")]
    pub sign_key: Option<String>,
    /// Seal every record with this KMS HMAC key (HMAC_256, GENERATE_VERIFY_MAC; `serve` and
    /// `watch` use `alias/firebreak-seal`, made by `setup`); needs --evidence.
    #[arg(long, requires = "evidence")]
    pub seal_key: Option<String>,
    /// The account that must own the evidence bucket: every request names it, and S3 refuses
    /// them when another account owns a bucket of that name.
    #[arg(long, requires = "evidence", value_name = "ACCOUNT", value_parser = super::account_id)]
    pub expected_owner: Option<String>,
    /// Object Lock mode of evidence objects.
    #[arg(long, value_enum, default_value = "compliance")]
    pub lock_mode: LockArg,
    /// Steps that may run at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,
    /// firebreak's configuration (where incidents are ticketed); default `FIREBREAK_CONFIG`,
    /// else `firebreak.yaml` here if there is one.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

pub fn run(a: Args) -> Result<ExitCode> {
    let Args {
        finding,
        playbook,
        inputs,
        playbooks,
        dry_run,
        allow_sample,
        role_name,
        external_id,
        concurrency,
        evidence,
        retention_days,
        sign_key,
        seal_key,
        expected_owner,
        lock_mode,
        output,
        engine,
        state_machine,
        config,
    } = a;
    let opts = Options {
        sfn: Engine::from(engine) == Engine::Sfn,
        state_machine,
        playbook,
        inputs: inputs.into_iter().collect(),
        playbooks,
        dry_run,
        allow_sample,
        cross: crate::aws::CrossAccount {
            role_name,
            external_id,
            // From the configuration, once it is read.
            external_ids: Default::default(),
        },
        concurrency: concurrency.into(),
        json: output == Output::Json,
        evidence,
        retention_days,
        sign_key,
        seal_key,
        expected_owner,
        lock_mode: lock_mode.into(),
        config,
    };
    let started = std::time::Instant::now();
    // Security Hub's copy of GuardDuty findings is read as the native ones, from GuardDuty.
    let findings = read_findings(&finding)?;
    run_findings(findings, opts, started)
}

/// Runs every finding (in order) and returns the exit code: 0 only when every step that ran
/// succeeded.
pub fn run_findings(findings: Vec<Finding>, opts: Options, started: Instant) -> Result<ExitCode> {
    super::block_on(run_all(findings, opts, started))
}

async fn run_all(findings: Vec<Finding>, mut opts: Options, started: Instant) -> Result<ExitCode> {
    let set =
        crate::domain::playbook::load_valid(&opts.playbooks).map_err(|e| e.into_command_error())?;
    let mut config = crate::tickets::load_config(opts.config.as_deref())?;
    opts.cross.external_ids = config.external_ids.clone();
    if config.tickets.any() && opts.evidence.is_none() && !opts.dry_run {
        bail!(
            "tickets are configured but there is no --evidence: each incident's record is kept beside the evidence\n  hint: pass --evidence s3://BUCKET (made by `firebreak setup`)"
        );
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        crate::say!(
            "firebreak: stop requested; finishing the steps already running, starting no more (Ctrl-C again to stop at once)"
        );
        let _ = stop_tx.send(true);
        // A second request stops at once: the steps still running are left as they are (their
        // evidence says how far each came; a state machine's execution goes on in Step
        // Functions).
        wait_for_signal().await;
        crate::say!("firebreak: stopped at once; steps that were running may not have finished");
        std::process::exit(i32::from(crate::domain::exit::INTERRUPTED));
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
    // firebreak never acts on its own evidence bucket (nor, below, on its own identity).
    if let Some(evidence::Target::S3 { bucket, .. }) = &target {
        config.protected.push(bucket.clone());
    }
    let mut store: Option<Store> = None;
    let mut sealer: Option<crate::evidence::seal::Sealer> = None;
    let mut desk: Option<crate::tickets::Desk> = None;
    let has_desk = config.tickets.any() || !config.triage.is_empty();
    let mut accounts: Option<aws::Accounts> = None;
    let mut reports = Vec::new();
    let mut ok = true;
    for f in &findings {
        let pb = match &opts.playbook {
            Some(name) => Some(super::find_playbook(&set, name, &opts.playbooks)?),
            None => select::select(f, &set.playbooks).winner,
        };
        let execution_id = uuid::Uuid::now_v7().to_string();
        // Who firebreak runs as, before triage: its own identity is protected (a finding about
        // it is a ticket, never contained).
        if pb.is_some() && accounts.is_none() {
            let base = aws::load().await;
            // `firebreak-run` names the session of what is not an execution's (the ticket's
            // investigation); each execution acts in a session of its own.
            let acc = aws::Accounts::new(base, opts.cross.clone(), "firebreak-run").await?;
            config.protected.push(acc.caller_name().to_string());
            accounts = Some(acc);
        }
        // Triage (for a playbook named by hand, only the guards: a protected resource or an
        // account firebreak does not act in): respond, ticket or ignore.
        let triage = match opts.playbook {
            None => Some(crate::domain::triage::decide(
                &config,
                f,
                pb.map(|p| p.name.as_str()),
            )),
            Some(_) => crate::domain::triage::guarded(&config, f),
        };
        let decision = triage.as_ref().map_or(Decision::Respond, |t| t.decision);
        let recorded = decision != Decision::Respond && has_desk && !opts.dry_run;
        if decision != Decision::Respond && !recorded {
            match (&triage, pb) {
                (Some(t), _) if t.rule.is_some() => crate::say!(
                    "{}: {} by triage {}: {}; nothing contained",
                    f.label(),
                    t.decision.as_str(),
                    t.rule.as_deref().unwrap_or_default(),
                    t.reason
                ),
                _ => crate::say!(
                    "{}: no playbook matches; nothing to do (`firebreak explain` says why)",
                    f.label()
                ),
            }
            continue;
        }
        if accounts.is_none() {
            let base = aws::load().await;
            accounts = Some(aws::Accounts::new(base, opts.cross.clone(), "firebreak-run").await?);
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
                        client: crate::aws::s3_client_owned_by(
                            &config,
                            opts.expected_owner.as_deref(),
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
        if desk.is_none() && !opts.dry_run {
            desk = match crate::tickets::Desk::from_config(&config, store.as_ref(), acc.base())
                .await?
            {
                // Incident records are sealed as `serve` and `watch` seal them (which believe
                // no other): with --seal-key's key, else, in S3, with the one `setup` made
                // when it is there.
                Some(d) => {
                    let d = d.with_aws(acc.base());
                    let kms = || aws_sdk_kms::Client::new(acc.base());
                    match (&opts.seal_key, &target) {
                        (Some(key), _) => Some(
                            d.with_seal(&crate::evidence::seal::Sealer::new(kms(), key))
                                .await?,
                        ),
                        (None, Some(evidence::Target::S3 { .. })) => {
                            let sealer = crate::evidence::seal::Sealer::new(
                                kms(),
                                crate::evidence::seal::DEFAULT_ALIAS,
                            );
                            // One KMS call: the sealer keeps the key for `with_seal`.
                            match sealer.key(crate::evidence::seal::INCIDENTS_SCOPE).await {
                                Ok(_) => Some(d.with_seal(&sealer).await?),
                                Err(e) => {
                                    crate::say!(
                                        "warning: incident records are not sealed ({e}); `serve` and `watch` will not believe them\n  hint: `firebreak setup --evidence-bucket BUCKET` makes the seal key, or pass --seal-key"
                                    );
                                    Some(d)
                                }
                            }
                        }
                        (None, _) => Some(d),
                    }
                }
                None => None,
            };
        }
        if let (true, Some(t)) = (recorded, &triage) {
            crate::say!(
                "{}: {} ({}): {}; nothing contained",
                f.label(),
                t.decision.as_str(),
                t.rule.as_deref().unwrap_or("default"),
                t.reason
            );
            if let Some(d) = &desk
                && let Some(ticket) = d
                    .open(
                        f,
                        t,
                        pb,
                        None,
                        Some(&crate::tickets::investigate::Investigator::new(
                            &acc.config(&f.account_id, &f.region).await,
                        )),
                    )
                    .await
            {
                crate::say!("ticket: {}", ticket.url);
            }
            continue;
        }
        let Some(pb) = pb else {
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
        if sealer.is_none()
            && let Some(key) = &opts.seal_key
        {
            sealer = Some(crate::evidence::seal::Sealer::new(
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
                crate::domain::catalog::Engine::Sfn
            } else {
                crate::domain::catalog::Engine::Local
            },
            state_machine: opts.state_machine.as_deref(),
            desk: desk.as_ref(),
            triage: triage.as_ref(),
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
                crate::domain::render::terminal_safe(&crate::domain::scrub::scrub_text(&summary(
                    &report
                )))
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
        println!(
            "{}",
            serde_json::to_string_pretty(&crate::domain::scrub::scrub(v))?
        );
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(crate::domain::exit::PROBLEMS)
    })
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
            StepStatus::Failed => {
                crate::domain::render::brief(s.error.as_deref().unwrap_or_default())
            }
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
