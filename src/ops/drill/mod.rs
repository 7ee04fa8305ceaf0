//! `firebreak drill`: rehearse playbooks end to end, safely. For each playbook the drill creates
//! a target of its own (tagged `firebreak:drill`), synthesizes a realistic GuardDuty finding about
//! it (id `firebreak-drill-…`, title `[DRILL] …`), runs it through the production path (the same
//! `contain::execute` as `run`, `serve` and `watch`, with evidence), reads AWS back to check every
//! containment postcondition, audits the evidence, and removes the targets unless `--keep`.
//!
//! Which target a playbook gets is decided by selection, not by name: the drill knows five kinds
//! of target (a leaked access key, a compromised instance, a public bucket, a bucket read by a
//! leaked key, a malicious snapshot) and uses the first whose synthesized finding selects the
//! playbook. A playbook no such finding selects cannot be drilled, and the drill says so.

mod backup;
mod checks;
mod cluster;
mod database;
mod targets;
mod task;
mod wait;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::aws;
use crate::domain::finding::Finding;
use crate::domain::{plan, select};
use crate::evidence::{LockMode, Store};

pub struct Options {
    /// Playbook names; empty with `all`.
    pub names: Vec<String>,
    pub all: bool,
    pub keep: bool,
    /// Start (and stop) a local moto server and drill against it.
    pub emulator: bool,
    /// Deliver the findings through an SQS queue to `serve` instead of running them directly.
    pub via_queue: bool,
    /// `s3://BUCKET[/PREFIX]`; made for the drill on the emulator when absent.
    pub evidence: Option<String>,
    pub playbooks: PathBuf,
    /// Contain on each playbook's Step Functions state machine (deployed for the drill).
    pub sfn: bool,
}

/// A local moto server, stopped when dropped.
struct Emulator {
    _child: tokio::process::Child,
    endpoint: String,
}

impl Emulator {
    /// moto, with what firebreak's actions need and moto lacks (`scripts/emulator/moto_server.py`:
    /// S3's authorisation of object requests by a bucket policy, as moto applies a deny on tagged
    /// objects to every object and to reading their tags; ECS task protection, which moto does not
    /// have); `FIREBREAK_MOTO_SERVER` names another server.
    async fn start() -> Result<Emulator> {
        let (bin, script) = match std::env::var_os("FIREBREAK_MOTO_SERVER") {
            Some(server) => (PathBuf::from(server), None),
            None => (
                PathBuf::from(".venv-moto/bin/python"),
                Some(PathBuf::from("scripts/emulator/moto_server.py")),
            ),
        };
        for path in std::iter::once(&bin).chain(&script) {
            if !path.exists() {
                bail!(
                    "{}: no moto server\n  hint: run from firebreak's checkout; `./scripts/ensure-moto` installs moto (or set FIREBREAK_MOTO_SERVER)",
                    path.display()
                );
            }
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .context("finding a free port")?
            .port();
        let child = tokio::process::Command::new(&bin)
            .args(script.iter().map(|s| s.as_os_str()))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            // Step Functions' SDK tasks call the server's own port; moto reads it here.
            .env("MOTO_PORT", port.to_string())
            // AWS's managed policies (AWSDenyAll, which `iam.deny_all_user` attaches), as in
            // every AWS account.
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let endpoint = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        for _ in 0..300 {
            if http
                .get(format!("{endpoint}/moto-api/data.json"))
                .send()
                .await
                .is_ok()
            {
                // Step Functions executes definitions only when this is switched on.
                http.post(format!("{endpoint}/moto-api/config"))
                    .json(&serde_json::json!({"stepfunctions": {"execute_state_machine": true}}))
                    .send()
                    .await
                    .context("switching on the emulator's Step Functions interpreter")?;
                return Ok(Emulator {
                    _child: child,
                    endpoint,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("the moto server did not answer on {endpoint} within 30 s")
    }

    async fn config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_credential_types::Credentials::new(
                "AKIAFIREBREAKDRILL00",
                "firebreak-drill-not-a-secret",
                None,
                None,
                "firebreak-drill",
            ))
            .load()
            .await
    }
}

/// The kinds of target a drill can build, in the order they are tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    LeakedKey,
    Instance,
    PublicBucket,
    BucketAccess,
    MaliciousSnapshot,
    MaliciousImage,
    MaliciousRecoveryPoint,
    Function,
    Database,
    /// Malware in an S3 object (GuardDuty Malware Protection for S3).
    MaliciousObject,
    /// A reverse shell in a service's ECS task (GuardDuty Runtime Monitoring).
    EcsTask,
    /// A role's Kubernetes user calling an EKS cluster from a Tor exit node (GuardDuty EKS
    /// Protection).
    EksCluster,
}

const KINDS: [Kind; 12] = [
    Kind::LeakedKey,
    Kind::Instance,
    Kind::PublicBucket,
    Kind::BucketAccess,
    Kind::MaliciousSnapshot,
    Kind::MaliciousImage,
    Kind::MaliciousRecoveryPoint,
    Kind::Function,
    Kind::Database,
    Kind::MaliciousObject,
    Kind::EcsTask,
    Kind::EksCluster,
];

impl Kind {
    /// A realistic GuardDuty finding of this kind (the fixtures the tests use).
    fn template(self) -> &'static str {
        match self {
            Kind::LeakedKey => include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/findings/iam-user-tor.json"
            )),
            Kind::Instance => include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/findings/ec2-bitcoin-dns.json"
            )),
            Kind::PublicBucket => include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/findings/s3-public-policy.json"
            )),
            Kind::BucketAccess => include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/findings/s3-exfil-anomalous.json"
            )),
            Kind::MaliciousSnapshot => include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/findings/ec2-malware-snapshot.json"
            )),
            Kind::MaliciousImage => include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/findings/ec2-malware-ami.json"
            )),
            Kind::MaliciousRecoveryPoint => include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/findings/ec2-malware-recovery-point.json"
            )),
            Kind::Function => include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/findings/lambda-bitcoin.json"
            )),
            Kind::Database => include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/findings/rds-successful-login.json"
            )),
            Kind::MaliciousObject => include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/findings/s3-malware-object.json"
            )),
            Kind::EcsTask => include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/findings/runtime-ecs-reverse-shell.json"
            )),
            Kind::EksCluster => include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/findings/eks-tor-ip-caller.json"
            )),
        }
    }
}

/// AWS clients for targets and checks.
struct Aws {
    iam: aws_sdk_iam::Client,
    ec2: aws_sdk_ec2::Client,
    s3: aws_sdk_s3::Client,
    asg: aws_sdk_autoscaling::Client,
    elb: aws_sdk_elasticloadbalancingv2::Client,
    sns: aws_sdk_sns::Client,
    lambda: aws_sdk_lambda::Client,
    rds: aws_sdk_rds::Client,
    ecs: aws_sdk_ecs::Client,
    eks: aws_sdk_eks::Client,
    backup: aws_sdk_backup::Client,
    sqs: aws_sdk_sqs::Client,
    account: String,
    /// The identity the drill runs as (it sends the drill's findings to the queue).
    caller: String,
    region: String,
}

/// What a target is made of, for the finding, the checks and the cleanup.
#[derive(Debug, Default)]
struct Target {
    user: Option<String>,
    leaked_key: Option<String>,
    other_key: Option<String>,
    bucket: Option<String>,
    /// An object with malware in `bucket`, and its version.
    object: Option<(String, Option<String>)>,
    instance: Option<String>,
    asg: Option<String>,
    launch_template: Option<String>,
    target_group: Option<String>,
    role: Option<String>,
    profile: Option<String>,
    topic: Option<String>,
    volume: Option<String>,
    snapshot: Option<String>,
    image: Option<String>,
    function: Option<String>,
    function_role: Option<String>,
    queue: Option<String>,
    mapping: Option<String>,
    database: Option<String>,
    db_group: Option<String>,
    db_subnet_group: Option<String>,
    /// The ECS task's cluster (ARN), service, task (ARN), task definition (ARN), group and
    /// role.
    cluster: Option<String>,
    service: Option<String>,
    task: Option<String>,
    task_definition: Option<String>,
    task_group: Option<String>,
    task_role: Option<String>,
    /// The EKS cluster (name and ARN), its role, and the deployer role with an access entry in
    /// it.
    eks_cluster: Option<(String, String)>,
    eks_cluster_role: Option<String>,
    eks_deployer: Option<String>,
    /// The recovery point's vault and ARN, and the role AWS Backup made it with.
    recovery_point: Option<(String, String, String)>,
}

fn tag_iam() -> Result<aws_sdk_iam::types::Tag> {
    aws_sdk_iam::types::Tag::builder()
        .key("firebreak:drill")
        .value("true")
        .build()
        .map_err(err("tag"))
}

fn err<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> anyhow::Error + '_ {
    move |e| anyhow::anyhow!("{what}: {e}")
}

fn sdk<E, R>(what: &str) -> impl FnOnce(aws_sdk_iam::error::SdkError<E, R>) -> anyhow::Error + '_
where
    E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    move |e| {
        let code = aws_sdk_iam::error::ProvideErrorMetadata::code(&e)
            .unwrap_or("error")
            .to_string();
        let msg = aws_sdk_iam::error::ProvideErrorMetadata::message(&e)
            .unwrap_or_default()
            .to_string();
        anyhow::anyhow!("{what}: {code} {msg}")
    }
}

impl Aws {}

/// How one execution went, from its report or (through the queue) from its evidence.
#[derive(Debug, Default, serde::Serialize)]
pub struct Outcome {
    pub execution_id: String,
    pub status: String,
    pub time_to_contain_ms: Option<u64>,
    pub steps: Vec<StepOutcome>,
}

#[derive(Debug, serde::Serialize)]
pub struct StepOutcome {
    pub id: String,
    pub action: String,
    pub status: String,
    pub detail: Option<String>,
}

impl Outcome {
    fn from_report(r: &crate::engine::RunReport) -> Outcome {
        Outcome {
            execution_id: r.execution_id.clone(),
            status: text_of(&r.status),
            time_to_contain_ms: r.time_to_contain_ms,
            steps: r
                .steps
                .iter()
                .map(|s| StepOutcome {
                    id: s.id.clone(),
                    action: s.action.to_string(),
                    status: text_of(&s.status),
                    detail: s.error.clone().or(s.skip_reason.clone()),
                })
                .collect(),
        }
    }

    /// From the records of the finding's execution (the one with a manifest).
    fn from_evidence(objects: &[(String, Vec<u8>)]) -> Option<Outcome> {
        let manifest_key = objects
            .iter()
            .find(|(k, _)| k.ends_with("-manifest.json"))?;
        let folder = manifest_key.0.rsplit_once('/')?.0;
        let manifest: Value = serde_json::from_slice(&manifest_key.1).ok()?;
        let mut steps = Vec::new();
        for (k, bytes) in objects.iter().filter(|(k, _)| k.starts_with(folder)) {
            let v: Value = serde_json::from_slice(bytes).unwrap_or_default();
            if k.contains("-step-") {
                let s = &v["step"];
                steps.push(StepOutcome {
                    id: s["id"].as_str().unwrap_or_default().to_string(),
                    action: s["action"].as_str().unwrap_or_default().to_string(),
                    status: s["status"].as_str().unwrap_or_default().to_string(),
                    detail: s["error"]
                        .as_str()
                        .or(s["skip_reason"].as_str())
                        .map(str::to_string),
                });
            }
        }
        Some(Outcome {
            execution_id: manifest["execution_id"].as_str()?.to_string(),
            status: manifest["status"].as_str().unwrap_or_default().to_string(),
            time_to_contain_ms: manifest["time_to_contain_ms"].as_u64(),
            steps,
        })
    }
}

fn text_of<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// One playbook's drill.
#[derive(Debug, serde::Serialize)]
pub struct DrillReport {
    pub playbook: String,
    pub finding_id: String,
    pub outcome: Option<Outcome>,
    pub checks: Vec<(String, bool)>,
    pub audit_passed: bool,
    pub left_behind: Vec<String>,
    pub error: Option<String>,
}

impl DrillReport {
    pub fn passed(&self) -> bool {
        self.error.is_none()
            && self
                .outcome
                .as_ref()
                .is_some_and(|o| o.status == "succeeded")
            && self.checks.iter().all(|c| c.1)
            && self.audit_passed
            && self.left_behind.is_empty()
    }
}

/// A playbook being drilled: its target and finding.
struct Case {
    report: DrillReport,
    kind: Option<Kind>,
    target: Target,
    finding: Option<Finding>,
}

pub async fn drill(opts: Options) -> Result<ExitCode> {
    let set =
        crate::domain::playbook::load_valid(&opts.playbooks).map_err(|e| e.into_command_error())?;
    let mut names: Vec<String> = if opts.all {
        set.playbooks.iter().map(|p| p.name.clone()).collect()
    } else {
        opts.names.clone()
    };
    names.sort();
    names.dedup();
    if names.is_empty() {
        bail!("name the playbooks to drill, or pass --all");
    }
    for n in &names {
        if set.find(n).is_none() {
            bail!("{}", set.not_found(n, &opts.playbooks));
        }
    }
    // The arguments are checked before anything reaches the network (credentials, the
    // instance metadata endpoint, the emulator).
    let given = match &opts.evidence {
        Some(t) => match crate::evidence::parse_target(t)
            .map_err(|e| anyhow::anyhow!("--evidence: {e}"))?
        {
            crate::evidence::Target::S3 { bucket, prefix } => Some((bucket, prefix)),
            crate::evidence::Target::Dir(_) => bail!(
                "--evidence must be s3://BUCKET[/PREFIX]: a drill audits Object-Locked evidence"
            ),
        },
        None if !opts.emulator => bail!(
            "--evidence s3://BUCKET[/PREFIX] is needed outside --emulator\n  hint: a bucket made by `firebreak setup --evidence-bucket`"
        ),
        None => None,
    };
    let emulator = match opts.emulator {
        true => Some(Emulator::start().await?),
        false => None,
    };
    let base = match &emulator {
        Some(e) => e.config().await,
        None => aws::load().await,
    };
    let cross = aws::CrossAccount {
        role_name: "FirebreakResponder".into(),
        external_id: None,
        external_ids: Default::default(),
    };
    let acc = aws::Accounts::new(base.clone(), cross, "firebreak-drill").await?;
    let region = base
        .region()
        .map(|r| r.to_string())
        .unwrap_or_else(|| "us-east-1".into());
    let s3 = crate::aws::s3_client(&base);
    let run_tag: String = uuid::Uuid::now_v7()
        .simple()
        .to_string()
        .chars()
        .rev()
        .take(8)
        .collect();
    let (bucket, prefix) = match given {
        Some(target) => target,
        None => {
            let bucket = format!("firebreak-drill-evidence-{run_tag}");
            let writers = crate::ops::setup::writers(acc.caller_arn(), &[]);
            crate::ops::setup::evidence_bucket(
                &s3,
                &region,
                &bucket,
                1,
                LockMode::Governance,
                false,
                &writers,
            )
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
            (bucket, String::new())
        }
    };
    let prefix = if prefix.is_empty() {
        "drills".to_string()
    } else {
        format!("{prefix}/drills")
    };
    let store = Store::S3 {
        client: s3.clone(),
        bucket: bucket.clone(),
        prefix: prefix.clone(),
        mode: LockMode::Governance,
        retention: Duration::from_secs(86_400),
    };
    let aws = Aws {
        iam: aws_sdk_iam::Client::new(&base),
        ec2: aws_sdk_ec2::Client::new(&base),
        s3: s3.clone(),
        asg: aws_sdk_autoscaling::Client::new(&base),
        elb: aws_sdk_elasticloadbalancingv2::Client::new(&base),
        sns: aws_sdk_sns::Client::new(&base),
        lambda: aws_sdk_lambda::Client::new(&base),
        rds: aws_sdk_rds::Client::new(&base),
        ecs: aws_sdk_ecs::Client::new(&base),
        eks: aws_sdk_eks::Client::new(&base),
        backup: aws_sdk_backup::Client::new(&base),
        sqs: aws_sdk_sqs::Client::new(&base),
        account: acc.caller_account().to_string(),
        caller: acc.caller_arn().to_string(),
        region,
    };
    println!(
        "firebreak drill: {} playbook(s) in account {} ({}), evidence s3://{bucket}/{prefix}{}",
        names.len(),
        aws.account,
        emulator
            .as_ref()
            .map_or("AWS".to_string(), |e| format!("emulator {}", e.endpoint)),
        if opts.via_queue {
            ", through a queue to serve"
        } else {
            ""
        }
    );

    // 1. Targets and findings.
    let mut cases = Vec::new();
    for name in &names {
        cases.push(prepare(&aws, &set, name, &run_tag).await);
    }
    // 2. Containment: directly, or through a queue and `serve`.
    if opts.via_queue {
        let queue = format!("firebreak-drill-{run_tag}");
        if let Err(e) = via_queue(
            &base,
            &aws,
            &store,
            &bucket,
            &prefix,
            &opts.playbooks,
            &mut cases,
            &queue,
            opts.keep,
        )
        .await
        {
            for c in cases.iter_mut().filter(|c| c.report.error.is_none()) {
                c.report.error = Some(format!("{e:#}"));
            }
        }
    } else {
        for c in cases.iter_mut() {
            let Some(f) = c.finding.clone() else { continue };
            let engine = if opts.sfn {
                crate::domain::catalog::Engine::Sfn
            } else {
                crate::domain::catalog::Engine::Local
            };
            let run = run_direct(
                &set,
                &c.report.playbook,
                &f,
                &c.target,
                &acc,
                &store,
                engine,
                emulator.is_some(),
            )
            .await;
            match run {
                Ok(o) => c.report.outcome = Some(o),
                Err(e) => c.report.error = Some(format!("{e:#}")),
            }
        }
    }
    // 3. Read-back checks and clean-up.
    for c in cases.iter_mut() {
        if let (Some(kind), Some(_)) = (c.kind, &c.report.outcome) {
            c.report.checks = aws.checks(kind, &c.target, &c.report.finding_id).await;
        }
        if !opts.keep {
            c.report.left_behind = aws.cleanup(&c.target, &c.report.finding_id).await;
        }
        print_report(&c.report);
    }
    let mut reports: Vec<DrillReport> = cases.into_iter().map(|c| c.report).collect();
    // 4. The evidence of every drill, audited as `firebreak audit` would.
    let target = format!("s3://{bucket}/{prefix}");
    let hidden = indicatif::ProgressBar::hidden();
    match crate::evidence::audit::read_s3(&s3, &bucket, &prefix, 1, &hidden).await {
        Ok((objects, problems)) => {
            let audit = crate::evidence::audit::audit(
                &target,
                objects,
                problems,
                1,
                None,
                &Default::default(),
                &hidden,
            );
            for r in &mut reports {
                r.audit_passed = audit.store_problems.is_empty()
                    && r.outcome.as_ref().is_some_and(|o| {
                        audit
                            .executions
                            .iter()
                            .any(|e| e.execution_id == o.execution_id && e.passed())
                    });
            }
            println!(
                "\naudit of {target}: {}",
                if audit.passed { "PASS" } else { "FAIL" }
            );
            for p in audit
                .store_problems
                .iter()
                .chain(audit.executions.iter().flat_map(|e| e.problems.iter()))
            {
                println!("  problem: {p}");
            }
        }
        Err(e) => println!("\naudit of {target}: FAIL ({e})"),
    }
    let passed = reports.iter().filter(|r| r.passed()).count();
    println!(
        "\ndrill {}: {passed} of {} playbook(s) passed",
        if passed == reports.len() {
            "passed"
        } else {
            "FAILED"
        },
        reports.len()
    );
    for r in reports.iter().filter(|r| !r.passed()) {
        let why: Vec<String> = r
            .error
            .iter()
            .cloned()
            .chain(
                r.checks
                    .iter()
                    .filter(|c| !c.1)
                    .map(|c| format!("check failed: {}", c.0)),
            )
            .chain((!r.audit_passed).then(|| "its evidence did not pass the audit".to_string()))
            .chain(r.left_behind.iter().map(|l| format!("left behind: {l}")))
            .collect();
        println!("  {}: {}", r.playbook, why.join("; "));
    }
    drop(emulator);
    Ok(if passed == reports.len() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(crate::domain::exit::PROBLEMS)
    })
}

fn print_report(r: &DrillReport) {
    println!(
        "\n== {} (finding {}){}",
        r.playbook,
        r.finding_id,
        r.outcome
            .as_ref()
            .and_then(|o| o.time_to_contain_ms)
            .map(|t| format!(": contained in {t} ms"))
            .unwrap_or_default()
    );
    if let Some(e) = &r.error {
        println!("  FAIL  {e}");
    }
    for s in r.outcome.iter().flat_map(|o| o.steps.iter()) {
        match &s.detail {
            Some(d) => println!(
                "  step  {}: {} ({})",
                s.id,
                s.status,
                crate::domain::render::brief(d)
            ),
            None => println!("  step  {}: {}", s.id, s.status),
        }
    }
    for (text, ok) in &r.checks {
        println!("  {}  {text}", if *ok { "PASS" } else { "FAIL" });
    }
    for l in &r.left_behind {
        println!("  FAIL  left behind: {l}");
    }
}

/// Picks the kind of target whose finding selects the playbook, builds it, and writes the
/// finding about it.
async fn prepare(
    aws: &Aws,
    set: &crate::domain::playbook::LoadedSet,
    name: &str,
    run_tag: &str,
) -> Case {
    let finding_id = format!("firebreak-drill-{run_tag}-{name}");
    let mut case = Case {
        report: DrillReport {
            playbook: name.to_string(),
            finding_id: finding_id.clone(),
            outcome: None,
            checks: Vec::new(),
            audit_passed: false,
            left_behind: Vec::new(),
            error: None,
        },
        kind: None,
        target: Target::default(),
        finding: None,
    };
    let selects = |kind: Kind| -> bool {
        aws.finding(kind, &Target::default(), &finding_id)
            .ok()
            .and_then(|f| crate::domain::finding::parse_findings(&f.to_string(), "drill").ok())
            .and_then(|mut f| f.pop())
            .is_some_and(|f| {
                select::select(&f, &set.playbooks)
                    .winner
                    .map(|p| p.name.as_str())
                    == Some(name)
            })
    };
    let Some(kind) = KINDS.into_iter().find(|k| selects(*k)) else {
        case.report.error = Some(
            "no drill finding selects this playbook (the drill builds leaked keys, instances, buckets and snapshots)"
                .into(),
        );
        return case;
    };
    case.kind = Some(kind);
    let target_name = format!("firebreak-drill-{run_tag}-{}", kind_slug(kind));
    let built = async {
        aws.build(kind, &mut case.target, &target_name).await?;
        let f = aws.finding(kind, &case.target, &finding_id)?;
        crate::domain::finding::parse_findings(&f.to_string(), "drill")
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .pop()
            .context("the drill finding did not parse")
    }
    .await;
    match built {
        Ok(f) => case.finding = Some(f),
        Err(e) => case.report.error = Some(format!("{e:#}")),
    }
    case
}

fn drill_inputs(t: &Target) -> std::collections::BTreeMap<String, String> {
    t.topic
        .iter()
        .map(|topic| ("sns_topic_arn".to_string(), topic.clone()))
        .collect()
}

/// The drilled playbook and the finding bound to it.
fn bound<'a>(
    set: &'a crate::domain::playbook::LoadedSet,
    name: &str,
    f: &Finding,
    inputs: &std::collections::BTreeMap<String, String>,
) -> Result<(
    &'a crate::domain::playbook::Playbook,
    crate::domain::plan::Plan,
)> {
    let pb = set.find(name).context("playbook vanished")?;
    let plan = plan::compile_with(f, pb, inputs).map_err(|errors| {
        anyhow::anyhow!(
            errors
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        )
    })?;
    Ok((pb, plan))
}

/// Runs the finding as `run` does, on `engine`: on Step Functions, the playbook's state
/// machine is deployed first (with the drill's inputs), as `firebreak deploy` does.
#[allow(clippy::too_many_arguments)]
async fn run_direct(
    set: &crate::domain::playbook::LoadedSet,
    name: &str,
    f: &Finding,
    target: &Target,
    acc: &aws::Accounts,
    store: &Store,
    engine: crate::domain::catalog::Engine,
    emulator: bool,
) -> Result<Outcome> {
    let inputs = drill_inputs(target);
    let (pb, plan) = bound(set, name, f, &inputs)?;
    if engine == crate::domain::catalog::Engine::Sfn {
        let evidence = match store {
            Store::S3 { bucket, prefix, .. } => Some((bucket.as_str(), prefix.as_str())),
            Store::Local { .. } => None,
        };
        crate::contain::deploy::deploy(&[pb], &inputs, evidence, emulator, acc.base()).await?;
    }
    let exec = crate::contain::Exec {
        dry_run: false,
        concurrency: 16,
        role_name: "FirebreakResponder",
        sign_key: None,
        sealer: None,
        engine,
        state_machine: None,
        desk: None,
        triage: None,
    };
    let (_never_tx, never) = watch::channel(false);
    let (run, _) = crate::contain::execute(
        f,
        pb,
        plan,
        acc,
        Some(store),
        uuid::Uuid::now_v7().to_string(),
        &exec,
        never,
        false,
        Instant::now(),
        None,
    )
    .await?;
    Ok(Outcome::from_report(&run))
}

/// Sends every finding to a drill queue as the EventBridge rule would deliver it, contains them
/// with `serve --drain`, and reads each outcome back from the evidence. (EventBridge itself is
/// skipped: AWS reserves `aws.*` event sources, so only GuardDuty can put these events.)
#[allow(clippy::too_many_arguments)]
async fn via_queue(
    base: &aws_config::SdkConfig,
    aws: &Aws,
    store: &Store,
    bucket: &str,
    prefix: &str,
    playbooks: &std::path::Path,
    cases: &mut [Case],
    queue: &str,
    keep: bool,
) -> Result<()> {
    let sqs = aws_sdk_sqs::Client::new(base);
    let events = aws_sdk_eventbridge::Client::new(base);
    let senders = crate::ops::setup::writers(&aws.caller, &[]);
    let (_, url) = crate::ops::setup::finding_queue(&sqs, &events, queue, None, 5, &senders)
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    let mut inputs = std::collections::BTreeMap::new();
    for c in cases.iter() {
        inputs.extend(drill_inputs(&c.target));
        let Some(f) = &c.finding else { continue };
        let event = json!({
            "version": "0", "id": uuid::Uuid::now_v7().to_string(),
            "detail-type": "GuardDuty Finding", "source": "aws.guardduty",
            "account": aws.account, "region": aws.region,
            "time": crate::evidence::now_rfc3339(), "resources": [],
            "detail": serde_json::from_str::<Value>(&f.raw).unwrap_or_default(),
        });
        sqs.send_message()
            .queue_url(&url)
            .message_body(event.to_string())
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "sending the drill finding: {}",
                    crate::aws::classify(&e, "sqs", "SendMessage")
                )
            })?;
    }
    let (seal_key, _) = crate::ops::setup::seal_key(
        &aws_sdk_kms::Client::new(base),
        crate::evidence::seal::DEFAULT_ALIAS,
    )
    .await
    .map_err(|e| anyhow::anyhow!(e))?;
    let worker = crate::intake::worker::Worker::new(
        base.clone(),
        crate::intake::worker::Options {
            evidence: format!("s3://{bucket}/{prefix}"),
            playbooks: playbooks.to_path_buf(),
            inputs,
            step_concurrency: 16,
            engine: crate::domain::catalog::Engine::Local,
            lease: Duration::from_secs(300),
            cross: aws::CrossAccount {
                role_name: "FirebreakResponder".into(),
                external_id: None,
                external_ids: Default::default(),
            },
            retention_days: 1,
            lock_mode: LockMode::Governance,
            sign_key: None,
            seal_key,
            allow_sample: false,
            expected_owner: None,
            config: Default::default(),
        },
    )
    .await?;
    let served = crate::intake::serve::serve_queue(
        base,
        crate::intake::serve::Options {
            queue_url: url.clone(),
            concurrency: 8,
            visibility: 30,
            wait_seconds: 1,
            drain: true,
            metrics: None,
            // The drill's queue is new and removed afterwards.
            redrive_every: None,
            ticket_retry_every: None,
            reconcile_every: None,
        },
        worker,
    )
    .await;
    for c in cases.iter_mut().filter(|c| c.finding.is_some()) {
        let folder = crate::evidence::folder(store.prefix(), &[&aws.account, &c.report.finding_id]);
        match store.read_folder(&folder).await {
            Ok(objects) => match Outcome::from_evidence(&objects) {
                Some(o) => c.report.outcome = Some(o),
                None => {
                    c.report.error = Some("serve left no complete execution for the finding".into())
                }
            },
            Err(e) => c.report.error = Some(format!("reading the evidence back: {e}")),
        }
    }
    if !keep {
        let _ = events
            .remove_targets()
            .rule(format!("firebreak-{queue}"))
            .ids("firebreak-queue")
            .send()
            .await;
        let _ = events
            .delete_rule()
            .name(format!("firebreak-{queue}"))
            .send()
            .await;
        let _ = sqs.delete_queue().queue_url(&url).send().await;
        if let Ok(dlq) = sqs
            .get_queue_url()
            .queue_name(format!("{queue}-dead-letter"))
            .send()
            .await
            && let Some(u) = dlq.queue_url()
        {
            let _ = sqs.delete_queue().queue_url(u).send().await;
        }
    }
    served.map(|_| ())
}

fn kind_slug(k: Kind) -> &'static str {
    match k {
        Kind::LeakedKey => "user",
        Kind::Instance => "instance",
        Kind::PublicBucket => "public",
        Kind::BucketAccess => "data",
        Kind::MaliciousSnapshot => "snapshot",
        Kind::MaliciousImage => "image",
        Kind::MaliciousRecoveryPoint => "backup",
        Kind::Function => "function",
        Kind::Database => "database",
        Kind::MaliciousObject => "object",
        Kind::EcsTask => "task",
        Kind::EksCluster => "cluster",
    }
}
