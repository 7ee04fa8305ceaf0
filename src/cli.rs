//! The command line: parses arguments, runs one stage of the pipeline, prints the result, and
//! chooses the exit code (0 done, 1 problems found, 2 usage or input errors).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;

use crate::catalog::{Action, Engine};
use crate::finding::{self, Finding};
use crate::playbook::{self, LoadedSet, Playbook};
use crate::{plan, render, select};

#[derive(Parser, Debug)]
#[command(
    name = "firebreak",
    version,
    about = "Automated incident response for AWS: GuardDuty findings in, containment out, evidence kept.",
    after_help = crate::exit::HELP
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Output {
    Text,
    Json,
}

/// What `serve` and `watch` share: how each finding is contained.
#[derive(Debug, clap::Args)]
pub struct WorkerArgs {
    /// Where evidence and claims go: `s3://BUCKET[/PREFIX]`, an Object Lock bucket.
    #[arg(long)]
    evidence: String,
    #[arg(long, default_value = "playbooks")]
    playbooks: PathBuf,
    /// Set a playbook input for every finding; repeatable.
    #[arg(long = "input", value_name = "NAME=VALUE", value_parser = parse_input)]
    inputs: Vec<(String, String)>,
    /// Steps that may run at once within one finding.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    step_concurrency: u16,
    /// `local` runs each plan in this process; `sfn` on its playbook's Step Functions state
    /// machine (`firebreak-<playbook>`, made by `firebreak deploy`) in the finding's account.
    #[arg(long, value_enum, default_value = "local")]
    engine: Engine,
    /// How long a claim on a finding holds before another process may take it over (its
    /// holder presumed dead), in seconds.
    #[arg(long, default_value_t = 900, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    lease_seconds: u64,
    #[arg(long, default_value = "FirebreakResponder")]
    role_name: String,
    #[arg(long)]
    external_id: Option<String>,
    #[arg(long, default_value_t = 365)]
    retention_days: u32,
    #[arg(long, value_enum, default_value = "compliance")]
    lock_mode: LockArg,
    /// Sign each manifest with this KMS key.
    #[arg(long)]
    sign_key: Option<String>,
    /// The KMS HMAC key that seals claims and records (default: `alias/firebreak-seal`, which
    /// `firebreak setup` makes). Claims and records without a valid seal are never believed.
    #[arg(long, default_value = crate::seal::DEFAULT_ALIAS)]
    seal_key: String,
    /// Contain GuardDuty sample findings (for drills); otherwise they are logged and dropped.
    #[arg(long)]
    allow_sample: bool,
}

impl From<WorkerArgs> for crate::worker::Options {
    fn from(a: WorkerArgs) -> Self {
        crate::worker::Options {
            evidence: a.evidence,
            playbooks: a.playbooks,
            inputs: a.inputs.into_iter().collect(),
            step_concurrency: a.step_concurrency.into(),
            engine: a.engine,
            lease: std::time::Duration::from_secs(a.lease_seconds),
            cross: crate::aws::CrossAccount {
                role_name: a.role_name,
                external_id: a.external_id,
            },
            retention_days: a.retention_days,
            lock_mode: a.lock_mode.into(),
            sign_key: a.sign_key,
            seal_key: a.seal_key,
            allow_sample: a.allow_sample,
        }
    }
}

/// `audit --output`: text and JSON as elsewhere, or one self-contained HTML page.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum AuditOutput {
    Text,
    Json,
    Html,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LockArg {
    Compliance,
    Governance,
}

impl From<LockArg> for crate::evidence::LockMode {
    fn from(l: LockArg) -> Self {
        match l {
            LockArg::Compliance => crate::evidence::LockMode::Compliance,
            LockArg::Governance => crate::evidence::LockMode::Governance,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GraphFormat {
    Dot,
    Mermaid,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check playbooks: every problem at once, with file:line:column, a code and a hint.
    Validate {
        /// Playbook files or folders (default: playbooks/).
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
    /// Show which playbook each finding selects, and why every other one did not.
    Explain {
        /// Finding files (`-` for standard input): a finding, an EventBridge event, a GetFindings
        /// response, or NDJSON of them.
        #[arg(required = true)]
        findings: Vec<PathBuf>,
        #[arg(long, default_value = "playbooks")]
        playbooks: PathBuf,
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
    /// Bind a finding to its playbook and print the resulting step DAG.
    Plan {
        /// A finding file (`-` for standard input).
        finding: PathBuf,
        /// Use this playbook instead of the selected one.
        #[arg(long)]
        playbook: Option<String>,
        /// Set a playbook input (e.g. `--input sns_topic_arn=arn:aws:sns:…`); repeatable.
        #[arg(long = "input", value_name = "NAME=VALUE", value_parser = parse_input)]
        inputs: Vec<(String, String)>,
        #[arg(long, default_value = "playbooks")]
        playbooks: PathBuf,
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
    /// Select, compile and execute: contain the incident a finding describes.
    Run {
        /// A finding file (`-` for standard input).
        finding: PathBuf,
        /// Use this playbook instead of the selected one.
        #[arg(long)]
        playbook: Option<String>,
        #[arg(long, default_value = "playbooks")]
        playbooks: PathBuf,
        /// Set a playbook input (e.g. `--input sns_topic_arn=arn:aws:sns:…`); repeatable.
        #[arg(long = "input", value_name = "NAME=VALUE", value_parser = parse_input)]
        inputs: Vec<(String, String)>,
        /// Change nothing: EC2 calls are sent with DryRun=true, other changes are only planned.
        #[arg(long)]
        dry_run: bool,
        /// Contain GuardDuty sample findings too (for drills); they are refused otherwise.
        #[arg(long)]
        allow_sample: bool,
        /// Role assumed in the finding's account when it is not the caller's.
        #[arg(long, default_value = "FirebreakResponder")]
        role_name: String,
        /// ExternalId for that role, if its trust policy requires one.
        #[arg(long)]
        external_id: Option<String>,
        /// Keep evidence: `s3://BUCKET[/PREFIX]` (an Object Lock bucket) or a folder.
        #[arg(long)]
        evidence: Option<String>,
        /// Where the plan runs: `local` (this process) or `sfn` (the playbook's Step Functions
        /// state machine, made by `firebreak deploy`).
        #[arg(long, value_enum, default_value = "local")]
        engine: Engine,
        /// The state machine to start with `--engine sfn` (default: `firebreak-<playbook>`).
        #[arg(long)]
        state_machine: Option<String>,
        /// Retention of evidence objects, in days.
        #[arg(long, default_value_t = 365)]
        retention_days: u32,
        /// Sign each manifest with this KMS key (ECC_NIST_P256, SIGN_VERIFY); needs --evidence.
        #[arg(long, requires = "evidence")]
        sign_key: Option<String>,
        /// Seal every record with this KMS HMAC key (HMAC_256, GENERATE_VERIFY_MAC; `serve` and
        /// `watch` use `alias/firebreak-seal`, made by `setup`); needs --evidence.
        #[arg(long, requires = "evidence")]
        seal_key: Option<String>,
        /// Object Lock mode of evidence objects.
        #[arg(long, value_enum, default_value = "compliance")]
        lock_mode: LockArg,
        /// Steps that may run at once.
        #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
        concurrency: u16,
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
    /// Contain findings from an SQS queue as they arrive, exactly once across processes.
    Serve {
        /// The queue the GuardDuty EventBridge rule delivers to (`firebreak setup --queue`).
        #[arg(long)]
        queue: String,
        /// Findings contained at once.
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
        concurrency: u16,
        /// How long a received message stays invisible (renewed while it is worked on).
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(i32).range(1..=43_200))]
        visibility_seconds: i32,
        /// Long-poll wait of each receive, in seconds.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(i32).range(0..=20))]
        wait_seconds: i32,
        /// Exit once the queue is empty and nothing is in flight (batch catch-up, drills).
        #[arg(long)]
        drain: bool,
        /// Serve Prometheus metrics on this loopback address (e.g. 127.0.0.1:9464).
        #[arg(long, value_parser = parse_loopback)]
        metrics: Option<std::net::SocketAddr>,
        #[command(flatten)]
        worker: WorkerArgs,
    },
    /// Contain findings polled from the GuardDuty API (no EventBridge needed), exactly once.
    Watch {
        /// The GuardDuty detector to poll (in the configured region).
        #[arg(long)]
        detector: String,
        /// Seconds between polls.
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
        interval_seconds: u64,
        /// How far back the first poll looks, in minutes.
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(0..=129_600))]
        since_minutes: u64,
        /// Poll once, contain what was found, exit.
        #[arg(long)]
        once: bool,
        /// Findings contained at once.
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
        concurrency: u16,
        #[command(flatten)]
        worker: WorkerArgs,
    },
    /// Rehearse playbooks end to end: targets made, findings synthesized, contained, checked,
    /// audited, cleaned up.
    Drill {
        /// Playbooks to drill (names in --playbooks).
        playbooks_to_drill: Vec<String>,
        /// Drill every playbook.
        #[arg(long, conflicts_with = "playbooks_to_drill")]
        all: bool,
        /// Leave the drill targets in place (to look at them).
        #[arg(long)]
        keep: bool,
        /// Deliver the findings through an SQS queue (made for the drill) to `serve`, as in
        /// production, instead of running them directly.
        #[arg(long)]
        via_queue: bool,
        /// Start a local moto server for the drill and stop it afterwards (needs
        /// `./scripts/ensure-moto`, or FIREBREAK_MOTO_SERVER).
        #[arg(long)]
        emulator: bool,
        /// Where the drill's evidence goes (`s3://BUCKET[/PREFIX]`, under `drills/`); with
        /// --emulator a bucket is made for it.
        #[arg(long)]
        evidence: Option<String>,
        #[arg(long, default_value = "playbooks")]
        playbooks: PathBuf,
        /// Where containment runs: `local`, or `sfn` (each playbook's Step Functions state
        /// machine, deployed for the drill with its inputs).
        #[arg(
            long,
            value_enum,
            default_value = "local",
            conflicts_with = "via_queue"
        )]
        engine: Engine,
    },
    /// Create or check firebreak's infrastructure, idempotently: the evidence bucket, and the
    /// queue (with its dead-letter queue and EventBridge rule) that `serve` reads.
    #[command(group(clap::ArgGroup::new("what").required(true).multiple(true).args(["evidence_bucket", "queue"])))]
    Setup {
        /// The evidence bucket to create or check.
        #[arg(long)]
        evidence_bucket: Option<String>,
        /// Default retention of evidence objects, in days.
        #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..=36500))]
        retention_days: u32,
        #[arg(long, value_enum, default_value = "compliance")]
        lock_mode: LockArg,
        /// The SQS queue for findings (its dead-letter queue is `NAME-dead-letter`, the rule
        /// `firebreak-NAME`).
        #[arg(long)]
        queue: Option<String>,
        /// Deliver only findings of at least this severity.
        #[arg(long, requires = "queue", value_parser = parse_severity)]
        min_severity: Option<f64>,
        /// Receives of a message before SQS moves it to the dead-letter queue.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
        max_receives: u32,
        /// Another IAM principal ARN that may write evidence (the role `serve` or `watch` runs
        /// as, when it is not the caller's); repeatable. Everyone else is denied writes.
        #[arg(long = "writer", value_name = "ARN")]
        writers: Vec<String>,
    },
    /// Check an evidence store: every record present, unaltered, chained, listed, locked.
    Audit {
        /// `s3://BUCKET[/PREFIX]` or a folder.
        target: String,
        /// Only this execution id.
        #[arg(long)]
        execution: Option<String>,
        /// The retention every S3 object must have, in days from its writing.
        #[arg(long, default_value_t = 365)]
        retention_days: u32,
        /// Require every manifest to be signed by this KMS key (id or ARN).
        #[arg(long)]
        sign_key: Option<String>,
        /// Require every claim and record (but a state machine's) to carry a seal of this KMS
        /// HMAC key (`alias/firebreak-seal` for what `serve` and `watch` wrote).
        #[arg(long)]
        seal_key: Option<String>,
        /// `html` is a page for people: verdicts, failures first, a timeline table per execution.
        #[arg(long, value_enum, default_value = "text")]
        output: AuditOutput,
    },
    /// Draw a playbook's step graph.
    Graph {
        /// A playbook file, or the name of a playbook in --playbooks.
        playbook: String,
        #[arg(long, value_enum, default_value = "dot")]
        format: GraphFormat,
        #[arg(long, default_value = "playbooks")]
        playbooks: PathBuf,
    },
    /// Compile playbooks to AWS Step Functions state machines (Amazon States Language).
    Asl {
        /// Playbook files or names in --playbooks (default: every playbook there).
        playbooks_or_names: Vec<String>,
        #[arg(long, default_value = "playbooks")]
        playbooks: PathBuf,
        /// Write `<name>.asl.json` files into this folder instead of printing.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Create or update one Step Functions state machine per playbook, with an execution role
    /// holding exactly its actions' permissions (idempotent; says what changed).
    Deploy {
        /// Playbook files or names in --playbooks (default: every playbook there).
        playbooks_or_names: Vec<String>,
        #[arg(long, default_value = "playbooks")]
        playbooks: PathBuf,
        /// Fix a playbook input in the state machines (e.g. `--input sns_topic_arn=arn:aws:sns:…`);
        /// repeatable.
        #[arg(long = "input", value_name = "NAME=VALUE", value_parser = parse_input)]
        inputs: Vec<(String, String)>,
        /// The evidence bucket the state machines write their records to
        /// (`s3://BUCKET[/PREFIX]`, as given to `run --evidence`): their roles may write there.
        #[arg(long)]
        evidence: Option<String>,
    },
    /// Print the least-privilege IAM policy of the responder role for playbooks: every
    /// permission their actions need, and nothing else.
    Permissions {
        /// Playbook files or names in --playbooks (default: every playbook there).
        playbooks_or_names: Vec<String>,
        #[arg(long, default_value = "playbooks")]
        playbooks: PathBuf,
        /// Whose policy: the responder that runs the actions itself (`run`, `serve`), or a
        /// state machine's execution role (`deploy` adds its evidence writes to that).
        #[arg(long, value_enum, default_value = "local")]
        engine: Engine,
    },
    /// List the action catalog: parameters, outputs, permissions.
    Actions {
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
}

/// Runs the command line; errors are printed by `main`.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Validate { paths, output } => validate(paths, output),
        Command::Explain {
            findings,
            playbooks,
            output,
        } => explain(&findings, &playbooks, output),
        Command::Plan {
            finding,
            playbook,
            inputs,
            playbooks,
            output,
        } => plan_cmd(
            &finding,
            playbook.as_deref(),
            &inputs.into_iter().collect(),
            &playbooks,
            output,
        ),
        Command::Graph {
            playbook,
            format,
            playbooks,
        } => graph(&playbook, format, &playbooks),
        Command::Actions { output } => actions(output),
        Command::Permissions {
            playbooks_or_names,
            playbooks,
            engine,
        } => permissions_cmd(&playbooks_or_names, &playbooks, engine),
        Command::Asl {
            playbooks_or_names,
            playbooks,
            out,
        } => asl_cmd(&playbooks_or_names, &playbooks, out.as_deref()),
        Command::Deploy {
            playbooks_or_names,
            playbooks,
            inputs,
            evidence,
        } => deploy_cmd(
            &playbooks_or_names,
            &playbooks,
            &inputs.into_iter().collect(),
            evidence.as_deref(),
        ),
        Command::Setup {
            evidence_bucket,
            retention_days,
            lock_mode,
            queue,
            min_severity,
            max_receives,
            writers,
        } => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let config = crate::aws::load().await;
                let region = config
                    .region()
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| "us-east-1".into());
                let plain_http =
                    std::env::var("AWS_ENDPOINT_URL").is_ok_and(|u| u.starts_with("http://"));
                let s3 = aws_sdk_s3::Client::from_conf(
                    aws_sdk_s3::config::Builder::from(&config)
                        .force_path_style(true)
                        .build(),
                );
                let mode = match lock_mode {
                    LockArg::Compliance => crate::evidence::LockMode::Compliance,
                    LockArg::Governance => crate::evidence::LockMode::Governance,
                };
                let days = i32::try_from(retention_days).unwrap_or(i32::MAX);
                if let Some(bucket) = &evidence_bucket {
                    let caller = aws_sdk_sts::Client::new(&config)
                        .get_caller_identity()
                        .send()
                        .await
                        .map_err(|e| {
                            anyhow::anyhow!(
                                "who am I: {}\n  hint: check the credentials (AWS_PROFILE, AWS_ENDPOINT_URL)",
                                crate::aws::classify(&e, "sts", "GetCallerIdentity")
                            )
                        })?
                        .arn()
                        .unwrap_or_default()
                        .to_string();
                    let writers = crate::setup::writers(&caller, &writers);
                    let report = crate::setup::evidence_bucket(
                        &s3,
                        &region,
                        bucket,
                        days,
                        mode,
                        !plain_http,
                        &writers,
                    )
                    .await
                    .map_err(|e| anyhow::anyhow!(e))?;
                    for l in report.lines {
                        println!("{l}");
                    }
                    // Claims and records are sealed with it: `serve` and `watch` believe no
                    // other.
                    let (_, line) = crate::setup::seal_key(
                        &aws_sdk_kms::Client::new(&config),
                        crate::seal::DEFAULT_ALIAS,
                    )
                    .await
                    .map_err(|e| anyhow::anyhow!(e))?;
                    println!("{line}");
                }
                if let Some(name) = &queue {
                    let (report, _) = crate::setup::finding_queue(
                        &aws_sdk_sqs::Client::new(&config),
                        &aws_sdk_eventbridge::Client::new(&config),
                        name,
                        min_severity,
                        max_receives,
                    )
                    .await
                    .map_err(|e| anyhow::anyhow!(e))?;
                    for l in report.lines {
                        println!("{l}");
                    }
                }
                Ok(ExitCode::SUCCESS)
            })
        }
        Command::Audit {
            target,
            execution,
            retention_days,
            sign_key,
            seal_key,
            output,
        } => audit_cmd(
            &target,
            execution.as_deref(),
            retention_days,
            sign_key,
            seal_key,
            output,
        ),
        Command::Serve {
            queue,
            concurrency,
            visibility_seconds,
            wait_seconds,
            drain,
            metrics,
            worker,
        } => crate::serve::serve(
            crate::serve::Options {
                queue_url: queue,
                concurrency: concurrency.into(),
                visibility: visibility_seconds,
                wait_seconds,
                drain,
                metrics,
            },
            worker.into(),
        ),
        Command::Drill {
            playbooks_to_drill,
            all,
            keep,
            via_queue,
            emulator,
            evidence,
            playbooks,
            engine,
        } => crate::drill::drill(crate::drill::Options {
            names: playbooks_to_drill,
            all,
            keep,
            via_queue,
            emulator,
            evidence,
            playbooks,
            sfn: engine == Engine::Sfn,
        }),
        Command::Watch {
            detector,
            interval_seconds,
            since_minutes,
            once,
            concurrency,
            worker,
        } => crate::watch::watch(
            crate::watch::Options {
                detector,
                interval: std::time::Duration::from_secs(interval_seconds),
                since: std::time::Duration::from_secs(since_minutes * 60),
                once,
                concurrency: concurrency.into(),
            },
            worker.into(),
        ),
        Command::Run {
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
            lock_mode,
            output,
            engine,
            state_machine,
        } => {
            let opts = crate::run::Options {
                sfn: engine == Engine::Sfn,
                state_machine,
                playbook,
                inputs: inputs.into_iter().collect(),
                playbooks,
                dry_run,
                allow_sample,
                cross: crate::aws::CrossAccount {
                    role_name,
                    external_id,
                },
                concurrency: concurrency.into(),
                json: output == Output::Json,
                evidence,
                retention_days,
                sign_key,
                seal_key,
                lock_mode: match lock_mode {
                    LockArg::Compliance => crate::evidence::LockMode::Compliance,
                    LockArg::Governance => crate::evidence::LockMode::Governance,
                },
            };
            let started = std::time::Instant::now();
            let findings = read_findings(&finding)?;
            crate::run::run(findings, opts, started)
        }
    }
}

fn validate(mut paths: Vec<PathBuf>, output: Output) -> Result<ExitCode> {
    if paths.is_empty() {
        paths.push(PathBuf::from("playbooks"));
    }
    for p in &paths {
        if !p.exists() {
            bail!(
                "{}: no such file or folder\n  hint: pass playbook files or folders, e.g. `firebreak validate playbooks/`",
                p.display()
            );
        }
    }
    let set = playbook::load_dir(&paths);
    let errors = set.diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = set.diagnostics.len() - errors;
    match output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "files": set.files,
                "playbooks": set.playbooks.iter().map(|p| &p.name).collect::<Vec<_>>(),
                "errors": errors,
                "warnings": warnings,
                "diagnostics": set.diagnostics,
            }))?
        ),
        Output::Text => {
            for d in &set.diagnostics {
                println!("{d}");
            }
            println!(
                "{} file(s), {} playbook(s) loaded, {errors} error(s), {warnings} warning(s)",
                set.files.len(),
                set.playbooks.len()
            );
        }
    }
    Ok(if errors > 0 {
        ExitCode::from(crate::exit::PROBLEMS)
    } else {
        ExitCode::SUCCESS
    })
}

/// Loads the playbooks for explain/plan; any error in them stops the command.
pub(crate) fn load_playbooks(dir: &Path) -> Result<LoadedSet> {
    playbook::load_valid(dir).map_err(|e| e.into_command_error())
}

pub(crate) fn read_findings(path: &Path) -> Result<Vec<Finding>> {
    let (text, name) = if path == Path::new("-") {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading findings from standard input")?;
        (s, "<stdin>".to_string())
    } else {
        let s = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read the finding file", path.display()))?;
        (s, path.display().to_string())
    };
    Ok(finding::parse_findings(&text, &name)?)
}

fn explain(files: &[PathBuf], dir: &Path, output: Output) -> Result<ExitCode> {
    let set = load_playbooks(dir)?;
    let mut json_out = Vec::new();
    for file in files {
        let findings = read_findings(file)?;
        if findings.is_empty() && output == Output::Text {
            println!(
                "{}: no findings (an empty GetFindings response)",
                file.display()
            );
        }
        for f in findings {
            let sel = select::select(&f, &set.playbooks);
            match output {
                Output::Text => print!("{}", render::terminal_safe(&render::selection(&f, &sel))),
                Output::Json => json_out.push(json!({
                    "finding_id": f.id,
                    "type": f.type_name,
                    "account_id": f.account_id,
                    "region": f.region,
                    "severity": f.severity,
                    "resource_type": f.resource_type,
                    "sample": f.sample,
                    "source": f.origin,
                    "playbook": sel.winner.map(|w| &w.name),
                    "candidates": sel.candidates,
                })),
            }
        }
    }
    if output == Output::Json {
        println!("{}", serde_json::to_string_pretty(&json_out)?);
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_input(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not NAME=VALUE")),
    }
}

fn plan_cmd(
    file: &Path,
    name: Option<&str>,
    inputs: &std::collections::BTreeMap<String, String>,
    dir: &Path,
    output: Output,
) -> Result<ExitCode> {
    let set = load_playbooks(dir)?;
    let findings = read_findings(file)?;
    let mut json_out = Vec::new();
    let mut failed = false;
    for f in &findings {
        let chosen: Option<&Playbook> = match name {
            Some(n) => Some(set.playbooks.iter().find(|p| p.name == n).with_context(|| {
                format!("no playbook named `{n}` in {}\n  hint: `firebreak validate {}` lists them", dir.display(), dir.display())
            })?),
            None => select::select(f, &set.playbooks).winner,
        };
        let Some(pb) = chosen else {
            match output {
                Output::Text => println!("{}\n  no playbook matches: firebreak takes no action (`firebreak explain` says why)", render::terminal_safe(&render::finding_line(f))),
                Output::Json => json_out.push(json!({"finding_id": f.id, "type": f.type_name, "playbook": null, "sample": f.sample})),
            }
            continue;
        };
        match plan::compile_with(f, pb, inputs) {
            Ok(p) => match output {
                Output::Text => print!(
                    "{}",
                    render::terminal_safe(&crate::scrub::scrub_text(&render::plan(&p)))
                ),
                Output::Json => json_out.push(crate::scrub::scrub(serde_json::to_value(&p)?)),
            },
            Err(errors) => {
                failed = true;
                for e in errors {
                    crate::say!("error: {}: {e}", f.origin.file);
                }
            }
        }
    }
    if output == Output::Json {
        let v = if json_out.len() == 1 {
            json_out.remove(0)
        } else {
            serde_json::Value::Array(json_out)
        };
        println!("{}", serde_json::to_string_pretty(&v)?);
    }
    Ok(if failed {
        ExitCode::from(crate::exit::PROBLEMS)
    } else {
        ExitCode::SUCCESS
    })
}

fn graph(which: &str, format: GraphFormat, dir: &Path) -> Result<ExitCode> {
    let path = Path::new(which);
    let set = if path.is_file() {
        playbook::load_dir(&[path])
    } else {
        load_playbooks(dir)?
    };
    if set.has_errors() {
        for d in &set.diagnostics {
            crate::say!("{d}");
        }
        return Ok(ExitCode::from(crate::exit::PROBLEMS));
    }
    let pb = set
        .playbooks
        .iter()
        .find(|p| path.is_file() || p.name == which)
        .with_context(|| format!("no playbook file or name `{which}`\n  hint: pass a playbook file, or a name from {}", dir.display()))?;
    match format {
        GraphFormat::Dot => print!("{}", render::dot(pb)),
        GraphFormat::Mermaid => print!("{}", render::mermaid(pb)),
    }
    Ok(ExitCode::SUCCESS)
}

/// The playbooks named (files or names), or all; `None` (after printing every problem) when
/// the set does not validate.
fn choose<'a>(
    set: &'a playbook::LoadedSet,
    which: &[String],
    dir: &Path,
) -> Result<Option<Vec<&'a playbook::Playbook>>> {
    if set.has_errors() {
        for d in &set.diagnostics {
            crate::say!("{d}");
        }
        return Ok(None);
    }
    if which.is_empty() {
        return Ok(Some(set.playbooks.iter().collect()));
    }
    let mut chosen = Vec::new();
    for w in which {
        chosen.push(
            set.playbooks
                .iter()
                .find(|p| p.name == *w || Path::new(&p.file) == Path::new(w))
                .with_context(|| {
                    format!(
                        "no playbook `{w}` in {}\n  hint: name a playbook there (`firebreak validate` lists them)",
                        dir.display()
                    )
                })?,
        );
    }
    Ok(Some(chosen))
}

fn permissions_cmd(which: &[String], dir: &Path, engine: Engine) -> Result<ExitCode> {
    let set = load_playbooks(dir)?;
    let Some(chosen) = choose(&set, which, dir)? else {
        return Ok(ExitCode::from(crate::exit::PROBLEMS));
    };
    let policy = crate::catalog::policy(
        chosen.iter().flat_map(|p| p.steps.iter().map(|s| s.action)),
        engine,
    );
    println!("{}", serde_json::to_string_pretty(&policy)?);
    Ok(ExitCode::SUCCESS)
}

fn deploy_cmd(
    which: &[String],
    dir: &Path,
    inputs: &std::collections::BTreeMap<String, String>,
    evidence: Option<&str>,
) -> Result<ExitCode> {
    let evidence = match evidence.map(crate::evidence::parse_target) {
        None => None,
        Some(Ok(crate::evidence::Target::S3 { bucket, prefix })) => Some((bucket, prefix)),
        Some(Ok(crate::evidence::Target::Dir(_))) => anyhow::bail!(
            "--evidence: state machines write their evidence to S3\n  hint: give s3://BUCKET[/PREFIX]"
        ),
        Some(Err(e)) => anyhow::bail!("--evidence: {e}"),
    };
    let set = load_playbooks(dir)?;
    let Some(chosen) = choose(&set, which, dir)? else {
        return Ok(ExitCode::from(crate::exit::PROBLEMS));
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let lines = runtime.block_on(async {
        let config = crate::aws::load().await;
        let evidence = evidence.as_ref().map(|(b, p)| (b.as_str(), p.as_str()));
        crate::sfn::deploy(&chosen, inputs, evidence, false, &config).await
    })?;
    for l in lines {
        println!("{l}");
    }
    Ok(ExitCode::SUCCESS)
}

fn asl_cmd(which: &[String], dir: &Path, out: Option<&Path>) -> Result<ExitCode> {
    let files: Vec<&Path> = which
        .iter()
        .map(Path::new)
        .filter(|p| p.is_file())
        .collect();
    let set = if !which.is_empty() && files.len() == which.len() {
        playbook::load_dir(&files)
    } else {
        load_playbooks(dir)?
    };
    if set.has_errors() {
        for d in &set.diagnostics {
            crate::say!("{d}");
        }
        return Ok(ExitCode::from(crate::exit::PROBLEMS));
    }
    let mut chosen = Vec::new();
    for w in which {
        let pb = set
            .playbooks
            .iter()
            .find(|p| p.name == *w || Path::new(&p.file) == Path::new(w))
            .with_context(|| {
                format!(
                    "no playbook file or name `{w}`\n  hint: pass a playbook file, or a name from {}",
                    dir.display()
                )
            })?;
        chosen.push(pb);
    }
    if which.is_empty() {
        chosen = set.playbooks.iter().collect();
    }
    if out.is_none() && chosen.len() != 1 {
        anyhow::bail!(
            "{} playbooks to compile and no --out folder\n  hint: name one playbook, or give --out DIR to write one file each",
            chosen.len()
        );
    }
    let mut failed = false;
    for pb in chosen {
        match crate::asl::compile(pb) {
            Ok(def) => {
                let text = crate::asl::render(&def);
                match out {
                    Some(dir) => {
                        std::fs::create_dir_all(dir)
                            .with_context(|| format!("creating {}", dir.display()))?;
                        let file = dir.join(format!("{}.asl.json", pb.name));
                        std::fs::write(&file, text)
                            .with_context(|| format!("writing {}", file.display()))?;
                        println!("{}", file.display());
                    }
                    None => print!("{text}"),
                }
            }
            Err(errors) => {
                failed = true;
                for e in errors {
                    crate::say!("{}: cannot compile to Step Functions: {e}", pb.file);
                }
            }
        }
    }
    Ok(if failed {
        ExitCode::from(crate::exit::PROBLEMS)
    } else {
        ExitCode::SUCCESS
    })
}

/// The metrics carry no secrets but say what is being contained: loopback only, for a local
/// scraper or a sidecar to forward.
fn parse_loopback(s: &str) -> Result<std::net::SocketAddr, String> {
    match s.parse::<std::net::SocketAddr>() {
        Ok(a) if a.ip().is_loopback() => Ok(a),
        Ok(a) => Err(format!(
            "{a} is not a loopback address; the metrics endpoint listens on 127.0.0.1 or [::1] only"
        )),
        Err(e) => Err(format!("`{s}`: {e} (e.g. 127.0.0.1:9464)")),
    }
}

fn parse_severity(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=10.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "`{s}` is not a GuardDuty severity (a number from 0 to 10, e.g. 7)"
        )),
    }
}

fn audit_cmd(
    target: &str,
    execution: Option<&str>,
    retention_days: u32,
    sign_key: Option<String>,
    seal_key: Option<String>,
    output: AuditOutput,
) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // Drawn on stderr only when it is a terminal; never mixed into the report on stdout.
    let progress = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template(
            "{msg:>9} [{bar:40}] {pos}/{len} objects ({per_sec}, {eta} left)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let (report, _) = runtime.block_on(async {
        let config = crate::aws::load().await;
        let (objects, problems) = match crate::evidence::parse_target(target).map_err(|e| anyhow::anyhow!(e))? {
            crate::evidence::Target::Dir(dir) => {
                if !dir.is_dir() {
                    bail!("{}: no such evidence folder", dir.display());
                }
                (crate::audit::read_local(&dir).with_context(|| format!("reading {}", dir.display()))?, Vec::new())
            }
            crate::evidence::Target::S3 { bucket, prefix } => {
                let client = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build());
                crate::audit::read_s3(&client, &bucket, &prefix, retention_days, &progress)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}\n  hint: check the bucket name and credentials (AWS_PROFILE, AWS_ENDPOINT_URL)"))?
            }
        };
        let mut policy = crate::audit::SignaturePolicy { expected_key: sign_key, ..Default::default() };
        if objects.iter().any(|o| o.key.ends_with("-signature.json")) {
            policy.checks = crate::audit::verify_signatures(&aws_sdk_kms::Client::new(&config), &objects).await;
        }
        if let Some(key) = &seal_key {
            let sealer = crate::seal::Sealer::new(aws_sdk_kms::Client::new(&config), key);
            let keys = crate::audit::seal_keys(&sealer, crate::audit::seal_scopes(&objects))
                .await
                .map_err(|e| anyhow::anyhow!("{e}\n  hint: the auditor needs kms:GenerateMac on the seal key"))?;
            policy.seals = Some(keys);
        }
        Ok::<_, anyhow::Error>((crate::audit::audit(target, objects, problems, retention_days, execution, &policy, &progress), ()))
    })?;
    match output {
        AuditOutput::Text => print!("{}", render::terminal_safe(&crate::audit::render(&report))),
        AuditOutput::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        AuditOutput::Html => print!("{}", crate::audit::render_html(&report)),
    }
    Ok(if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(crate::exit::PROBLEMS)
    })
}

fn actions(output: Output) -> Result<ExitCode> {
    match output {
        Output::Json => {
            let specs: Vec<_> = Action::ALL.iter().map(|a| a.spec()).collect();
            println!("{}", serde_json::to_string_pretty(&specs)?);
        }
        Output::Text => {
            for a in Action::ALL {
                let s = a.spec();
                println!(
                    "{}  ({:?}{})\n  {}",
                    s.name,
                    s.effect,
                    if s.mutates() { ", changes state" } else { "" },
                    s.doc
                );
                for p in s.params {
                    let req = if p.required { "required" } else { "optional" };
                    let def = p
                        .default
                        .map(|d| format!(", default {d}"))
                        .unwrap_or_default();
                    println!(
                        "    with.{}: {} ({req}{def}) — {}",
                        p.name,
                        p.ty.describe(),
                        p.doc
                    );
                }
                for o in s.outputs {
                    println!("    outputs.{}: {} — {}", o.name, o.ty.describe(), o.doc);
                }
                if !s.permissions.is_empty() {
                    let named: Vec<String> = s
                        .permissions
                        .iter()
                        .map(|p| match a.engine_only(p) {
                            Some(Engine::Local) => format!("{p} (local only)"),
                            Some(Engine::Sfn) => {
                                format!("{p} (Step Functions only)")
                            }
                            None => p.to_string(),
                        })
                        .collect();
                    println!("    permissions: {}", named.join(", "));
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
