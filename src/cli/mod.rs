//! The command line: parses arguments, runs one stage of the pipeline, prints the result, and
//! chooses the exit code (0 done, 1 problems found, 2 usage or input errors).

pub mod actions;
pub mod asl;
pub mod audit;
pub mod deploy;
pub mod drill;
pub mod explain;
pub mod graph;
pub mod log;
pub mod permissions;
pub mod plan;
pub mod reconcile;
pub mod run;
pub mod serve;
pub mod setup;
pub mod triage;
pub mod validate;
pub mod watch;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};

use crate::domain::catalog::Engine;
use crate::domain::finding::{self, Finding};
use crate::domain::playbook::{self, LoadedSet, Playbook};

#[derive(Parser, Debug)]
#[command(
    name = "firebreak",
    version,
    about = "Automated incident response for AWS: GuardDuty findings in, containment out, evidence kept.",
    after_help = crate::domain::exit::HELP
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
    engine: EngineArg,
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
    #[arg(long, default_value = crate::evidence::seal::DEFAULT_ALIAS)]
    seal_key: String,
    /// The account that must own the evidence bucket: every request names it, and S3 refuses
    /// them when another account owns a bucket of that name.
    #[arg(long, value_name = "ACCOUNT", value_parser = account_id)]
    expected_owner: Option<String>,
    /// Contain GuardDuty sample findings (for drills); otherwise they are logged and dropped.
    #[arg(long)]
    allow_sample: bool,
    /// firebreak's configuration (where incidents are ticketed); default `FIREBREAK_CONFIG`,
    /// else `firebreak.yaml` here if there is one.
    #[arg(long)]
    config: Option<PathBuf>,
}

/// A 12-digit AWS account id (`--expected-owner`).
pub(crate) fn account_id(s: &str) -> Result<String, String> {
    if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(s.to_string())
    } else {
        Err("not a 12-digit AWS account id".into())
    }
}

impl WorkerArgs {
    /// The worker's options, with its configuration file read.
    fn options(self) -> Result<crate::intake::worker::Options> {
        let config = crate::tickets::load_config(self.config.as_deref())?;
        Ok(crate::intake::worker::Options {
            evidence: self.evidence,
            playbooks: self.playbooks,
            inputs: self.inputs.into_iter().collect(),
            step_concurrency: self.step_concurrency.into(),
            engine: self.engine.into(),
            lease: std::time::Duration::from_secs(self.lease_seconds),
            cross: crate::aws::CrossAccount {
                role_name: self.role_name,
                external_id: self.external_id,
                external_ids: config.external_ids.clone(),
            },
            config,
            retention_days: self.retention_days,
            lock_mode: self.lock_mode.into(),
            sign_key: self.sign_key,
            seal_key: self.seal_key,
            allow_sample: self.allow_sample,
            expected_owner: self.expected_owner,
        })
    }
}

/// `--engine`, as the command line spells it (the core's `Engine` knows nothing of clap).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EngineArg {
    Local,
    Sfn,
}

impl From<EngineArg> for Engine {
    fn from(e: EngineArg) -> Engine {
        match e {
            EngineArg::Local => Engine::Local,
            EngineArg::Sfn => Engine::Sfn,
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
    Validate(validate::Args),
    /// Show which playbook each finding selects, and why every other one did not.
    Explain(explain::Args),
    /// Bind a finding to its playbook and print the resulting step DAG.
    Plan(plan::Args),
    /// Select, compile and execute: contain the incident a finding describes.
    Run(run::Args),
    /// Contain findings from an SQS queue as they arrive, exactly once across processes.
    Serve(serve::Args),
    /// Contain findings polled from the GuardDuty API (no EventBridge needed), exactly once.
    Watch(watch::Args),
    /// Check every finding GuardDuty holds for a window against what firebreak did; handle
    /// the ones it never acted on (a dropped delivery) now.
    Reconcile(reconcile::Args),
    /// Rehearse playbooks end to end: targets made, findings synthesized, contained, checked,
    /// audited, cleaned up.
    Drill(drill::Args),
    /// Create or check firebreak's infrastructure, idempotently: the evidence bucket, and the
    /// queue (with its dead-letter queue and EventBridge rule) that `serve` reads.
    #[command(group(clap::ArgGroup::new("what").required(true).multiple(true).args(["evidence_bucket", "queue"])))]
    Setup(setup::Args),
    /// Check an evidence store: every record present, unaltered, chained, listed, locked.
    Audit(audit::Args),
    /// Draw a playbook's step graph.
    Graph(graph::Args),
    /// Compile playbooks to AWS Step Functions state machines (Amazon States Language).
    Asl(asl::Args),
    /// Create or update one Step Functions state machine per playbook, with an execution role
    /// holding exactly its actions' permissions (idempotent; says what changed).
    Deploy(deploy::Args),
    /// Print the least-privilege IAM policy of the responder role for playbooks: every
    /// permission their actions need, and nothing else.
    Permissions(permissions::Args),
    /// List the action catalog: parameters, outputs, permissions.
    Actions(actions::Args),
    /// What the triage rules decide for findings, and which finding types nothing decides.
    Triage(triage::Args),
}

impl Cli {
    /// How the command logs (`log::init`).
    pub fn log_style(&self) -> log::Style {
        match &self.command {
            Command::Serve(_) | Command::Watch(_) | Command::Reconcile(_) => log::Style::Intake,
            Command::Drill(_) => log::Style::Events,
            _ => log::Style::Diagnostic,
        }
    }
}

/// Runs the command line; errors are printed by `main`.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Validate(a) => validate::run(a),
        Command::Explain(a) => explain::run(a),
        Command::Plan(a) => plan::run(a),
        Command::Run(a) => run::run(a),
        Command::Serve(a) => serve::run(a),
        Command::Watch(a) => watch::run(a),
        Command::Reconcile(a) => reconcile::run(a),
        Command::Drill(a) => drill::run(a),
        Command::Setup(a) => setup::run(a),
        Command::Audit(a) => audit::run(a),
        Command::Graph(a) => graph::run(a),
        Command::Asl(a) => asl::run(a),
        Command::Deploy(a) => deploy::run(a),
        Command::Permissions(a) => permissions::run(a),
        Command::Actions(a) => actions::run(a),
        Command::Triage(a) => triage::run(a),
    }
}

/// Runs a command's async work on the runtime every command uses (multi-threaded, I/O and
/// timers on).
pub(crate) fn block_on<T>(work: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // A containment's futures nest deep (engine, evidence, tickets); 8 MiB per thread
        // instead of 2 keeps a debug build's frames far from the edge.
        .thread_stack_size(8 * 1024 * 1024)
        .build()
        .context("starting the async runtime")?
        .block_on(work)
}

/// Loads the playbooks for explain/plan; any error in them stops the command.
pub(crate) fn load_playbooks(dir: &Path) -> Result<LoadedSet> {
    playbook::load_valid(dir).map_err(|e| e.into_command_error())
}

/// The findings in a file (or `-`, standard input), in any shape firebreak reads; a Security Hub
/// copy (ASFF) of GuardDuty findings becomes the native findings, read from GuardDuty
/// (`GetFindings` in the caller's detector of each finding's region), so that `run`,
/// `explain`, `plan` and `triage` see the same finding as from GuardDuty itself.
pub(crate) fn read_findings(path: &Path) -> Result<Vec<Finding>> {
    // Bytes, not text: a file that is not UTF-8 is reported at its first bad byte.
    let (bytes, name) = if path == Path::new("-") {
        let mut s = Vec::new();
        std::io::stdin()
            .read_to_end(&mut s)
            .context("reading findings from standard input")?;
        (s, "<stdin>".to_string())
    } else {
        let s = std::fs::read(path)
            .with_context(|| format!("{}: cannot read the finding file", path.display()))?;
        (s, path.display().to_string())
    };
    let e = match finding::parse_finding_bytes(&bytes, &name) {
        Ok(findings) => return Ok(findings),
        Err(e) => e,
    };
    match std::str::from_utf8(&bytes)
        .ok()
        .and_then(crate::intake::asff::named)
    {
        Some(Ok(named)) => block_on(async {
            let base = crate::aws::load().await;
            crate::intake::asff::read(&base, &named).await.map_err(|e| {
                anyhow::anyhow!(
                    "{name}: a Security Hub finding whose GuardDuty finding cannot be read: {e}\n  hint: run firebreak with access to GuardDuty in that region (guardduty:ListDetectors, guardduty:GetFindings), or pass GuardDuty's own finding"
                )
            })
        }),
        Some(Err(why)) => anyhow::bail!("{name}: {why}"),
        None => Err(e.into()),
    }
}

fn parse_input(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not NAME=VALUE")),
    }
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
        chosen.push(find_playbook(set, w, dir)?);
    }
    Ok(Some(chosen))
}

/// The playbooks `which` names when each is a file, else those of `dir` (every one valid);
/// `None` when the named files have errors, which are printed.
fn load_named(which: &[String], dir: &Path) -> Result<Option<LoadedSet>> {
    let files: Vec<&Path> = which
        .iter()
        .map(Path::new)
        .filter(|p| p.is_file())
        .collect();
    if which.is_empty() || files.len() != which.len() {
        return load_playbooks(dir).map(Some);
    }
    let set = playbook::load_dir(&files);
    if set.has_errors() {
        for d in &set.diagnostics {
            crate::say!("{d}");
        }
        return Ok(None);
    }
    Ok(Some(set))
}

/// The playbook `which` names (a name, or a file) in `set`, read from `dir`; the error names
/// the playbooks there.
fn find_playbook<'a>(set: &'a LoadedSet, which: &str, dir: &Path) -> Result<&'a Playbook> {
    set.find(which)
        .ok_or_else(|| anyhow::anyhow!(set.not_found(which, dir)))
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
