//! Shared test support: the real `firebreak` binary, fixture paths, and the moto server.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> PathBuf {
    root().join("tests/findings").join(name)
}

/// Runs the real binary from the project folder.
pub fn firebreak(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_firebreak"))
        .args(args)
        .current_dir(root())
        .stdin(Stdio::null())
        .output()
        .expect("the firebreak binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A moto server on a free loopback port, shared by every test of this binary. It is started
/// through a shell that kills it when this process's end of a pipe closes, so it never outlives
/// the test run, even when a test panics.
pub struct Moto {
    pub endpoint: String,
    _guard: Mutex<Child>,
}

static MOTO: OnceLock<Moto> = OnceLock::new();

pub fn moto() -> &'static Moto {
    MOTO.get_or_init(start_moto)
}

/// A moto server of its own, for a test that compares whole-server state; stopped on drop.
pub fn private_moto() -> Moto {
    start_moto()
}

/// A moto server of its own whose IAM enforcement checks the AWS SDKs' signatures of
/// form-encoded requests as AWS does (`tests/emulator/moto_server_aws_form_signing.py` says
/// what moto gets wrong there); for the least-privilege tests, which switch enforcement on.
pub fn private_moto_for_enforcement() -> Moto {
    let python = root().join(".venv-moto/bin/python");
    assert!(
        python.exists(),
        "moto's Python is not installed at {} — run `scripts/ensure-moto`",
        python.display()
    );
    let wrapper = root().join("tests/emulator/moto_server_aws_form_signing.py");
    spawn_moto(&python, &[wrapper.as_os_str()])
}

/// A moto server of its own with what firebreak's actions need and moto lacks, as the drill's
/// emulator (`scripts/emulator/moto_server.py`): object requests authorised by a bucket policy
/// as S3 does (the request's own action, and `s3:ExistingObjectTag` conditions against the
/// object's tags; `s3_objects.py` says what moto does instead), for the quarantine of objects,
/// whose deny is on a tag; ECS task protection and EKS access entries, which moto lacks
/// (`ecs_tasks.py`, `eks_clusters.py`: stand-ins written from AWS's API reference).
pub fn private_emulator() -> Moto {
    let python = root().join(".venv-moto/bin/python");
    assert!(
        python.exists(),
        "moto's Python is not installed at {} — run `scripts/ensure-moto`",
        python.display()
    );
    let wrapper = root().join("scripts/emulator/moto_server.py");
    spawn_moto(&python, &[wrapper.as_os_str()])
}

impl Drop for Moto {
    fn drop(&mut self) {
        if let Ok(child) = self._guard.get_mut() {
            // Closing stdin makes the wrapper shell kill the server.
            drop(child.stdin.take());
            let _ = child.wait();
        }
    }
}

impl Moto {
    /// The whole server state (`/moto-api/data.json`).
    pub fn state(&self) -> serde_json::Value {
        let addr = self.endpoint.trim_start_matches("http://").to_string();
        let mut s = std::net::TcpStream::connect(&addr).expect("moto answers");
        use std::io::{Read, Write};
        s.write_all(format!("GET /moto-api/data.json HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
            .unwrap();
        let mut body = String::new();
        s.read_to_string(&mut body).unwrap();
        let json = body.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
        serde_json::from_str(json).expect("moto state is JSON")
    }

    /// Runs the real binary against this server with dummy credentials.
    pub fn firebreak(&self, args: &[&str]) -> Output {
        firebreak_at(&self.endpoint, args)
    }

    /// SDK configuration for this server.
    pub async fn config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sts::config::Credentials::new(
                "AKIAFIREBREAKTEST000",
                "dummy-secret-not-used",
                None,
                None,
                "firebreak-tests",
            ))
            .load()
            .await
    }
}

/// Runs the real binary against an AWS endpoint (moto, or a proxy in front of it) with dummy
/// credentials.
pub fn firebreak_at(endpoint: &str, args: &[&str]) -> Output {
    firebreak_env(endpoint, args, &[])
}

/// [`firebreak_at`] with more environment variables (set after, so they override the defaults).
pub fn firebreak_env(endpoint: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_firebreak"));
    cmd.args(args)
        .current_dir(root())
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "AKIAFIREBREAKTEST000")
        .env("AWS_SECRET_ACCESS_KEY", "dummy-secret-not-used")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("FIREBREAK_LOG")
        // The suite's webhook receivers listen on loopback over plain HTTP, which firebreak
        // refuses without this test-only switch (a test of the refusal sets it to 0).
        .env(firebreak::aws::webhook::LOCAL_SWITCH, "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::null())
        .output()
        .expect("the firebreak binary runs")
}

/// A unique name for test resources.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Deploys every playbook in `dir` as `firebreak deploy` does (one state machine each).
pub async fn deploy_dir(config: &aws_config::SdkConfig, dir: &str) {
    let set = firebreak::domain::playbook::load_dir(&[dir]);
    let playbooks: Vec<_> = set.playbooks.iter().collect();
    firebreak::contain::deploy::deploy(&playbooks, &Default::default(), None, true, config)
        .await
        .unwrap();
}

/// A new instance on the emulator (one root volume, in the default VPC); its id.
pub async fn instance(config: &aws_config::SdkConfig) -> String {
    aws_sdk_ec2::Client::new(config)
        .run_instances()
        .image_id("ami-12c6146b")
        .min_count(1)
        .max_count(1)
        .send()
        .await
        .unwrap()
        .instances()[0]
        .instance_id()
        .unwrap()
        .to_string()
}

/// A leaked-access-key finding (`iam-user-tor.json`) about `user`'s `key`, with a unique id, in
/// `account` (the fixture's, which is the caller's, when `None`); its path.
pub fn leaked_key_finding(account: Option<&str>, user: &str, key: &str) -> PathBuf {
    finding_file("iam-user-tor.json", |f| {
        f["id"] = serde_json::Value::String(unique("finding"));
        if let Some(a) = account {
            f["accountId"] = a.into();
        }
        f["resource"]["accessKeyDetails"]["userName"] = user.into();
        f["resource"]["accessKeyDetails"]["accessKeyId"] = key.into();
    })
}

/// Writes a finding made from a fixture with `edit` applied, and returns its path.
pub fn finding_file(fixture_name: &str, edit: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture(fixture_name)).unwrap()).unwrap();
    edit(&mut v);
    let path = std::env::temp_dir().join(format!("{}.json", unique("finding")));
    std::fs::write(&path, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    path
}

fn start_moto() -> Moto {
    let bin = std::env::var_os("FIREBREAK_MOTO_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv-moto/bin/moto_server"));
    assert!(
        bin.exists(),
        "the moto server is not installed at {} — run `scripts/ensure-moto` (the README's test \
         command does this) or set FIREBREAK_MOTO_SERVER",
        bin.display()
    );
    spawn_moto(&bin, &[])
}

/// A moto server of its own behind a fault-injecting proxy: the SDK calls of its Step
/// Functions' SDK tasks go through the proxy too (moto sends them to `MOTO_PORT`, here the
/// proxy's), so both engines meet the same injected AWS errors. Firebreak is pointed at the
/// proxy; set-up may go to the server directly.
pub fn private_moto_behind(
    faults: crate::fault_proxy::Faults,
) -> (Moto, crate::fault_proxy::FaultProxy) {
    let port = free_port();
    let proxy = crate::fault_proxy::FaultProxy::start(&format!("127.0.0.1:{port}"), faults);
    let sdk_port: u16 = proxy
        .endpoint
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("the proxy's port");
    let bin = std::env::var_os("FIREBREAK_MOTO_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv-moto/bin/moto_server"));
    (spawn_moto_at(&bin, &[], port, sdk_port), proxy)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

fn spawn_moto(program: &Path, args: &[&std::ffi::OsStr]) -> Moto {
    let port = free_port();
    spawn_moto_at(program, args, port, port)
}

/// moto on `port`; its Step Functions' SDK tasks call `sdk_port`.
fn spawn_moto_at(program: &Path, args: &[&std::ffi::OsStr], port: u16, sdk_port: u16) -> Moto {
    let script = format!(
        "log=\"$1\"; shift; \"$0\" \"$@\" -H 127.0.0.1 -p {port} >\"$log\" 2>&1 & pid=$!; read _; kill $pid; wait $pid",
    );
    let log = std::env::temp_dir().join(format!("firebreak-moto-{port}.log"));
    let child = Command::new("sh")
        // Step Functions' SDK tasks call the server's own port; moto reads it from MOTO_PORT.
        .env("MOTO_PORT", sdk_port.to_string())
        // AWS's managed policies (AWSDenyAll, which `iam.deny_all_user` attaches) exist in
        // every AWS account; the emulator has them only when asked.
        .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        .arg("-c")
        .arg(script)
        .arg(program)
        .arg(&log)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the moto server");
    let endpoint = format!("http://127.0.0.1:{port}");
    wait_ready(&endpoint, &log);
    Moto {
        endpoint,
        _guard: Mutex::new(child),
    }
}

fn wait_ready(endpoint: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let addr = endpoint.trim_start_matches("http://").to_string();
    while Instant::now() < deadline {
        if let Ok(mut s) = std::net::TcpStream::connect(&addr) {
            use std::io::Write;
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let req = format!("GET /moto-api/data.json HTTP/1.0\r\nHost: {addr}\r\n\r\n");
            if s.write_all(req.as_bytes()).is_ok() {
                let mut line = String::new();
                if BufReader::new(s).read_line(&mut line).is_ok() && line.contains(" 200") {
                    return;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "the moto server did not answer on {endpoint} within 60 s; its log:\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

/// An AWS SDK configuration that talks to the shared moto server with dummy credentials.
pub async fn aws_config() -> aws_config::SdkConfig {
    moto().config().await
}

/// An emulated account of the test's own: EventBridge's default bus is per account, so tests
/// that share the moto server would otherwise see each other's events.
pub(crate) struct Account {
    pub id: String,
    pub config: aws_config::SdkConfig,
    pub env: Vec<(String, String)>,
    /// The emulator it is on.
    endpoint: String,
}

impl Account {
    pub(crate) async fn new() -> Account {
        Account::with_id(&format!("{:012}", 100_000_000_000u64 + fastrand_id())).await
    }

    /// The emulated account `id`, reached as firebreak reaches accounts: by assuming a role.
    pub(crate) async fn with_id(id: &str) -> Account {
        Account::on(moto(), id).await
    }

    /// The account `id` of the emulator `server`.
    pub(crate) async fn on(server: &Moto, id: &str) -> Account {
        let base = server.config().await;
        let id = id.to_string();
        let c = aws_sdk_sts::Client::new(&base)
            .assume_role()
            .role_arn(format!("arn:aws:iam::{id}:role/FirebreakTests"))
            .role_session_name("tests")
            .send()
            .await
            .unwrap()
            .credentials()
            .unwrap()
            .clone();
        let config = base
            .to_builder()
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(
                    aws_sdk_sts::config::Credentials::new(
                        c.access_key_id(),
                        c.secret_access_key(),
                        Some(c.session_token().to_string()),
                        None,
                        "test-account",
                    ),
                ),
            )
            .build();
        let env = vec![
            ("AWS_ACCESS_KEY_ID".into(), c.access_key_id().to_string()),
            (
                "AWS_SECRET_ACCESS_KEY".into(),
                c.secret_access_key().to_string(),
            ),
            ("AWS_SESSION_TOKEN".into(), c.session_token().to_string()),
        ];
        Account {
            id,
            config,
            env,
            endpoint: server.endpoint.clone(),
        }
    }

    /// The emulator's endpoint.
    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The same account, firebreak run with `more` in its environment too.
    pub(crate) fn with_env(&self, more: impl IntoIterator<Item = (String, String)>) -> Account {
        Account {
            id: self.id.clone(),
            config: self.config.clone(),
            env: self.env.iter().cloned().chain(more).collect(),
            endpoint: self.endpoint.clone(),
        }
    }

    /// A new evidence bucket made by `firebreak setup` (retention one day); its name.
    pub(crate) fn evidence_bucket(&self, prefix: &str) -> String {
        let bucket = unique(prefix);
        let out = self.firebreak(&[
            "setup",
            "--evidence-bucket",
            &bucket,
            "--retention-days",
            "1",
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}{}",
            stdout(&out),
            stderr(&out)
        );
        bucket
    }

    pub(crate) fn firebreak(&self, args: &[&str]) -> std::process::Output {
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        firebreak_env(&self.endpoint, args, &env)
    }
}

/// A number unique to this test process and call.
fn fastrand_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    u64::from(std::process::id()) * 1000 + N.fetch_add(1, Ordering::Relaxed)
}

/// An S3 client for moto (path-style addressing).
pub fn s3_client(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    firebreak::aws::s3_client(config)
}

/// A new IAM role (named `prefix-…`) that EC2 instances may assume; its name.
pub async fn ec2_role(iam: &aws_sdk_iam::Client, prefix: &str) -> String {
    let role = unique(prefix);
    service_role(iam, &role, "ec2.amazonaws.com", "/").await;
    role
}

/// A new IAM role `name` at `path` that an AWS service (`lambda.amazonaws.com`) may assume;
/// its ARN.
pub async fn service_role(
    iam: &aws_sdk_iam::Client,
    name: &str,
    service: &str,
    path: &str,
) -> String {
    let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]});
    iam.create_role()
        .role_name(name)
        .path(path)
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap()
        .role()
        .unwrap()
        .arn()
        .to_string()
}

/// Writes `claim` into `bucket` at `_claims/{account}/{finding}/{name}` sealed as a firebreak
/// worker seals it (the KMS key `setup` made), as a worker that then died would have left it.
pub async fn put_sealed_claim(
    config: &aws_config::SdkConfig,
    bucket: &str,
    name: &str,
    claim: serde_json::Value,
) {
    let (account, finding) = (
        claim["account_id"].as_str().unwrap().to_string(),
        claim["finding_id"].as_str().unwrap().to_string(),
    );
    let sealed = firebreak::evidence::seal::Sealer::new(
        aws_sdk_kms::Client::new(config),
        firebreak::evidence::seal::DEFAULT_ALIAS,
    )
    .key(&firebreak::evidence::seal::claims_scope(&account, &finding))
    .await
    .unwrap()
    .seal_json(claim)
    .unwrap();
    s3_client(config)
        .put_object()
        .bucket(bucket)
        .key(format!("_claims/{account}/{finding}/{name}"))
        .body(aws_sdk_s3::primitives::ByteStream::from(sealed))
        .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256)
        .send()
        .await
        .unwrap();
}

/// One of the suite's stand-in servers (the tracker and findings emulators): started from a
/// script that prints `listening on URL` once it answers, stopped when dropped.
pub struct StandIn {
    child: Child,
    pub url: String,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl StandIn {
    pub fn start(cmd: &mut Command, what: &str) -> StandIn {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("{what} does not start: {e}"));
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("{what} said {line:?}"))
            .to_string();
        StandIn { child, url }
    }

    /// A GET of `path` (a POST of `body` when there is one), which must succeed; its JSON
    /// answer (null when it has none).
    pub fn call(&self, path: &str, body: Option<serde_json::Value>) -> serde_json::Value {
        let out = Command::new("python3")
            .args([
                "-c",
                "import sys,urllib.request\nd=sys.argv[2].encode() if len(sys.argv)>2 else None\nprint(urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=d, method='POST' if d else 'GET')).read().decode())",
                &format!("{}{path}", self.url),
            ])
            .args(body.map(|b| b.to_string()))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
    }
}

/// A firebreak configuration file holding `text`, in a folder of its own.
pub fn config_file(text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique("firebreak-config"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("firebreak.yaml");
    std::fs::write(&file, text).unwrap();
    file
}

/// `firebreak run --output json [extra…] FINDING` on `moto`: it exits 0 with `playbook`
/// selected; its report.
pub fn run_report(
    moto: &Moto,
    finding: &std::path::Path,
    playbook: &str,
    extra: &[&str],
) -> serde_json::Value {
    let mut args = vec!["run", "--output", "json"];
    args.extend_from_slice(extra);
    args.push(finding.to_str().unwrap());
    let out = moto.firebreak(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["playbook"], playbook, "{report:#}");
    report
}

/// The report of step `id` in a run's report.
pub fn step_of(report: &serde_json::Value, id: &str) -> serde_json::Value {
    report["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|s| s["id"] == id))
        .cloned()
        .unwrap_or_else(|| panic!("no step {id} in {report:#}"))
}

/// The bodies of a tracker issue's comments, in order.
pub fn comment_bodies(issue: &serde_json::Value) -> Vec<&str> {
    issue["comments"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["body"].as_str())
        .collect()
}

/// Every IAM action a printed playbook policy grants (its `FirebreakPlaybook` statement and
/// the narrowed ones after it, `FirebreakPlaybookNarrowed…`), sorted, without their conditions.
pub fn playbook_actions(policy: &serde_json::Value) -> std::collections::BTreeSet<String> {
    policy["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| {
            s["Sid"]
                .as_str()
                .is_some_and(|sid| sid.starts_with("FirebreakPlaybook"))
        })
        .flat_map(|s| match &s["Action"] {
            serde_json::Value::Array(a) => a.clone(),
            one => vec![one.clone()],
        })
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect()
}

/// The statement of a policy with this `Sid`.
pub fn statement<'p>(policy: &'p serde_json::Value, sid: &str) -> &'p serde_json::Value {
    policy["Statement"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["Sid"] == sid))
        .unwrap_or_else(|| panic!("no statement {sid} in {policy:#}"))
}

/// Whether AWS's managed `AWSDenyAll` (firebreak's deny-all) is attached to `user`.
pub async fn deny_all_attached(iam: &aws_sdk_iam::Client, user: &str) -> bool {
    iam.list_attached_user_policies()
        .user_name(user)
        .send()
        .await
        .expect("ListAttachedUserPolicies")
        .attached_policies()
        .iter()
        .any(|p| p.policy_arn() == Some("arn:aws:iam::aws:policy/AWSDenyAll"))
}

/// A new VPC of `cidr`; its id.
pub async fn new_vpc(ec2: &aws_sdk_ec2::Client, cidr: &str) -> String {
    ec2.create_vpc()
        .cidr_block(cidr)
        .send()
        .await
        .expect("CreateVpc")
        .vpc()
        .and_then(|v| v.vpc_id())
        .expect("a VPC id")
        .to_string()
}

/// A new security group `name` in `vpc` (with AWS's default egress rule); its id.
pub async fn new_security_group(
    ec2: &aws_sdk_ec2::Client,
    vpc: &str,
    name: &str,
    description: &str,
) -> String {
    ec2.create_security_group()
        .group_name(name)
        .description(description)
        .vpc_id(vpc)
        .send()
        .await
        .expect("CreateSecurityGroup")
        .group_id()
        .expect("a group id")
        .to_string()
}

/// A new KMS key of `usage` and `spec` on the emulator; its id.
pub async fn new_kms_key(
    config: &aws_config::SdkConfig,
    usage: aws_sdk_kms::types::KeyUsageType,
    spec: aws_sdk_kms::types::KeySpec,
) -> String {
    aws_sdk_kms::Client::new(config)
        .create_key()
        .key_usage(usage)
        .key_spec(spec)
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .key_id()
        .to_string()
}

/// `v` with every member named one of `keys` removed, at any depth.
pub fn drop_keys(v: &mut serde_json::Value, keys: &[&str]) {
    match v {
        serde_json::Value::Object(m) => {
            m.retain(|k, _| !keys.contains(&k.as_str()));
            for x in m.values_mut() {
                drop_keys(x, keys);
            }
        }
        serde_json::Value::Array(a) => {
            for x in a {
                drop_keys(x, keys);
            }
        }
        _ => {}
    }
}

/// The names of a role's inline policies (firebreak's revocation among them once it ran).
pub async fn role_policy_names(config: &aws_config::SdkConfig, role: &str) -> Vec<String> {
    aws_sdk_iam::Client::new(config)
        .list_role_policies()
        .role_name(role)
        .send()
        .await
        .unwrap()
        .policy_names()
        .to_vec()
}

/// A security group named `firebreak-isolation` in `vpc` that someone made before firebreak,
/// opened to SSH from anywhere (isolating into it must close it again).
pub async fn open_isolation_group(config: &aws_config::SdkConfig, vpc: &str) {
    let ec2 = aws_sdk_ec2::Client::new(config);
    let group = new_security_group(&ec2, vpc, "firebreak-isolation", "made before firebreak").await;
    ec2.authorize_security_group_ingress()
        .group_id(group)
        .ip_protocol("tcp")
        .from_port(22)
        .to_port(22)
        .cidr_ip("0.0.0.0/0")
        .send()
        .await
        .unwrap();
}

/// Runs `playbook` on `finding` again: it succeeds and no step changes anything.
pub fn run_changes_nothing(moto: &Moto, finding: &std::path::Path, playbook: &str) {
    run_changes_nothing_with(moto, finding, playbook, &[]);
}

/// [`run_changes_nothing`] with more arguments of `run` (`--input`s).
pub fn run_changes_nothing_with(
    moto: &Moto,
    finding: &std::path::Path,
    playbook: &str,
    extra: &[&str],
) {
    let again = run_report(moto, finding, playbook, extra);
    assert_eq!(again["status"], "succeeded", "{again:#}");
    for s in again["steps"].as_array().unwrap() {
        assert_eq!(s["changed"], false, "{} changed on the second run", s["id"]);
    }
}

/// A subnet of `vpc` with the addresses `cidr`; its id.
pub async fn new_subnet(ec2: &aws_sdk_ec2::Client, vpc: &str, cidr: &str) -> String {
    ec2.create_subnet()
        .vpc_id(vpc)
        .cidr_block(cidr)
        .send()
        .await
        .expect("CreateSubnet")
        .subnet()
        .and_then(|s| s.subnet_id())
        .expect("a subnet id")
        .to_string()
}
