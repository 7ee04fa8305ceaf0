//! GuardDuty and Security Hub with the real binary (issue 17): closing the loop (item 5) and
//! the investigation's other findings on a resource (item 4). moto serves neither GuardDuty's findings API nor Security Hub's BatchUpdateFindings, so
//! those two services alone go to the suite's stand-in, `scripts/findings-emulator`, through the
//! SDK's per-service endpoints (`AWS_ENDPOINT_URL_GUARDDUTY`, `AWS_ENDPOINT_URL_SECURITYHUB`);
//! everything else is moto. The stand-in checks every request against AWS's service models
//! (botocore's data), and these tests assert that each one conformed.

use std::process::Command;

use serde_json::{Value, json};

use crate::support::{Account, firebreak_env, moto, root, stderr, stdout, unique};
use crate::tickets::TrackerServer;

/// The GuardDuty and Security Hub stand-in, stopped when dropped.
pub(crate) struct FindingsServer {
    server: crate::support::StandIn,
    pub url: String,
}

impl FindingsServer {
    pub(crate) fn start() -> FindingsServer {
        let server = crate::support::StandIn::start(
            Command::new(root().join(".venv-moto/bin/python"))
                .arg(root().join("scripts/findings-emulator")),
            "the findings stand-in (moto's python, scripts/ensure-moto)",
        );
        let url = server.url.clone();
        FindingsServer { server, url }
    }

    fn call(&self, path: &str, body: Option<Value>) -> Value {
        self.server.call(path, body)
    }

    /// GuardDuty holds `findings` (in their regions, seen by those regions' detectors).
    pub(crate) fn hold(&self, findings: &[Value]) {
        self.call("/_emulator/findings", Some(json!({ "findings": findings })));
    }

    /// The finding `id` as GuardDuty holds it now.
    pub(crate) fn finding(&self, id: &str) -> Value {
        self.call("/_emulator/findings", None)["guardduty"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == id)
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// Security Hub's record of the GuardDuty finding `id`: its workflow status and notes.
    pub(crate) fn security_hub(&self, id: &str) -> Value {
        let all = self.call("/_emulator/findings", None)["securityhub"].clone();
        all.as_object()
            .unwrap()
            .iter()
            .find(|(k, _)| k.ends_with(&format!("/finding/{id}")))
            .map(|(_, v)| v.clone())
            .unwrap_or(Value::Null)
    }

    /// Every request so far; each must have conformed to AWS's service model.
    pub(crate) fn assert_requests_conform(&self) -> Vec<Value> {
        let requests = self.call("/_emulator/requests", None);
        let requests = requests.as_array().unwrap().clone();
        let bad: Vec<&Value> = requests
            .iter()
            .filter(|r| !r["problems"].as_array().unwrap().is_empty())
            .collect();
        assert!(bad.is_empty(), "requests AWS would refuse: {bad:#?}");
        requests
    }

    /// The environment that sends firebreak's GuardDuty and Security Hub calls here.
    pub(crate) fn env(&self) -> Vec<(String, String)> {
        vec![
            ("AWS_ENDPOINT_URL_GUARDDUTY".into(), self.url.clone()),
            ("AWS_ENDPOINT_URL_SECURITYHUB".into(), self.url.clone()),
        ]
    }
}

fn with(account: &Account, extra: &[(String, String)], args: &[&str]) -> std::process::Output {
    let env: Vec<(&str, &str)> = account
        .env
        .iter()
        .chain(extra)
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    firebreak_env(&moto().endpoint, args, &env)
}

fn ok(out: &std::process::Output) {
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(out), stderr(out));
}

/// A leaked-key finding of a planted user, in `account`.
async fn leaked_key(account: &Account, id: &str) -> Value {
    let (user, key) = crate::run_s3::user_with_key(&account.config).await;
    let mut f: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/findings/iam-user-tor.json")).unwrap(),
    )
    .unwrap();
    f["id"] = id.into();
    f["accountId"] = account.id.as_str().into();
    f["resource"]["accessKeyDetails"]["userName"] = user.into();
    f["resource"]["accessKeyDetails"]["accessKeyId"] = key.into();
    f
}

fn file_of(f: &Value) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(unique("firebreak-archive"));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("finding.json");
    std::fs::write(&p, f.to_string()).unwrap();
    p
}

#[tokio::test]
async fn a_contained_finding_is_archived_in_guardduty_and_resolved_in_security_hub() {
    let (gh, gd) = (TrackerServer::start(), FindingsServer::start());
    let account = Account::new().await;
    let bucket = account.evidence_bucket("archive");
    let repo = "acme/archive";
    let env: Vec<_> = gh.env(repo).into_iter().chain(gd.env()).collect();
    let held = leaked_key(&account, &unique("held")).await;
    gd.hold(std::slice::from_ref(&held));
    // A finding GuardDuty does not hold (a forged message, a file): contained, ticketed, and
    // nothing in GuardDuty or Security Hub touched in its name.
    let mut stray = leaked_key(&account, &unique("stray")).await;
    stray["service"]["detectorId"] = held["service"]["detectorId"].clone();
    let evidence = format!("s3://{bucket}");
    for f in [&held, &stray] {
        ok(&with(
            &account,
            &env,
            &["run", file_of(f).to_str().unwrap(), "--evidence", &evidence],
        ));
    }
    let id = held["id"].as_str().unwrap();
    let now = gd.finding(id);
    assert_eq!(now["service"]["archived"], true, "{now:#}");
    assert_eq!(now["service"]["userFeedback"], "USEFUL");
    let sh = gd.security_hub(id);
    assert_eq!(sh["workflow"], "RESOLVED", "{sh:#}");
    let notes: Vec<&str> = sh["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["Text"].as_str().unwrap())
        .collect();
    assert!(
        notes[0].starts_with("firebreak opened ") && notes[1].contains("on containment"),
        "{notes:?}"
    );
    let stray_id = stray["id"].as_str().unwrap();
    assert_eq!(gd.finding(stray_id), Value::Null);
    let requests = gd.assert_requests_conform();
    assert!(
        requests
            .iter()
            .all(|r| r["body"].to_string().find(stray_id).is_none()
                || r["operation"] == "GetFindings"
                || r["service"] == "securityhub"),
        "only read (and the Security Hub copy, which it has not) in the stray finding's name: {requests:#?}"
    );
    // Its incident says why nothing was archived.
    let text = crate::tickets::bucket_text(&account, &bucket).await;
    assert!(
        text.contains(&format!("GuardDuty holds no finding {stray_id}")),
        "the stray finding's incident says why it was not archived"
    );
    assert_eq!(
        gh.issues(repo)
            .iter()
            .filter(|i| i["state"] == "closed")
            .count(),
        2
    );
}

#[tokio::test]
async fn a_ticket_closes_when_guardduty_archives_its_finding() {
    let (gh, gd) = (TrackerServer::start(), FindingsServer::start());
    let account = Account::new().await;
    let bucket = unique("on-archive");
    let queue = crate::serve::setup(&account, &bucket, &unique("on-archive-q"), &[]);
    let repo = "acme/on-archive";
    let env: Vec<_> = gh
        .env_with(
            repo,
            "triage:\n  - match:\n      types: [\"*\"]\n    decision: respond\n    close: on_archive\n    reason: a person judges it in GuardDuty\n",
        )
        .into_iter()
        .chain(gd.env())
        .collect();
    let f = leaked_key(&account, &unique("judged")).await;
    gd.hold(std::slice::from_ref(&f));
    let id = f["id"].as_str().unwrap();
    let evidence = format!("s3://{bucket}");
    ok(&with(
        &account,
        &env,
        &[
            "run",
            file_of(&f).to_str().unwrap(),
            "--evidence",
            &evidence,
        ],
    ));
    let tend = || {
        ok(&with(
            &account,
            &env,
            &[
                "serve",
                "--queue",
                &queue,
                "--evidence",
                &evidence,
                "--drain",
                "--wait-seconds",
                "1",
            ],
        ))
    };
    // Contained, and open: a person has not judged it yet.
    tend();
    let issue = &gh.issues(repo)[0];
    assert_eq!(issue["state"], "open", "{issue:#}");
    assert!(
        issue["body"]
            .as_str()
            .unwrap()
            .contains("closes itself when the finding is archived in GuardDuty")
    );
    assert_eq!(gd.finding(id)["service"]["archived"], false);
    // A person archives it in GuardDuty (the real SDK, on the stand-in).
    let conf = aws_sdk_guardduty::config::Builder::from(&account.config)
        .endpoint_url(&gd.url)
        .build();
    let client = aws_sdk_guardduty::Client::from_conf(conf);
    let detector = client.list_detectors().send().await.unwrap().detector_ids()[0].clone();
    client
        .archive_findings()
        .detector_id(&detector)
        .finding_ids(id)
        .send()
        .await
        .unwrap();
    tend();
    let issue = &gh.issues(repo)[0];
    assert_eq!(issue["state"], "closed", "{issue:#}");
    let comments = crate::support::comment_bodies(issue);
    assert!(
        comments
            .iter()
            .any(|c| c.contains("is archived in GuardDuty")),
        "{comments:#?}"
    );
    // The person's judgement stands: no feedback over it; Security Hub resolved.
    assert_eq!(gd.finding(id)["service"].get("userFeedback"), None);
    assert_eq!(gd.security_hub(id)["workflow"], "RESOLVED");
    // Once closed, it is not looked at again.
    let reads = |r: Vec<Value>| r.iter().filter(|r| r["operation"] == "GetFindings").count();
    let before = reads(gd.assert_requests_conform());
    tend();
    assert_eq!(reads(gd.assert_requests_conform()), before);
    assert_eq!(gh.issues(repo).len(), 1);
}

#[tokio::test]
async fn an_instance_s_investigation_names_its_group_its_load_balancers_and_its_other_findings() {
    let (gh, gd) = (TrackerServer::start(), FindingsServer::start());
    let account = Account::new().await;
    let bucket = account.evidence_bucket("investigated");
    let t = crate::run_ec2::target(&account.config).await;
    let of_instance = |id: &str, kind: &str| {
        let mut f: Value = serde_json::from_str(
            &std::fs::read_to_string(root().join("tests/findings/ec2-bitcoin-dns.json")).unwrap(),
        )
        .unwrap();
        f["id"] = id.into();
        f["type"] = kind.into();
        f["accountId"] = account.id.as_str().into();
        f["resource"]["instanceDetails"]["instanceId"] = t.instance_id.as_str().into();
        f
    };
    let f = of_instance(&unique("mining"), "CryptoCurrency:EC2/BitcoinTool.B!DNS");
    let earlier = of_instance(&unique("probed"), "Recon:EC2/PortProbeUnprotectedPort");
    let elsewhere = {
        let mut o = of_instance(&unique("elsewhere"), "Backdoor:EC2/C&CActivity.B");
        o["resource"]["instanceDetails"]["instanceId"] = "i-0123456789abcdef0".into();
        o
    };
    gd.hold(&[f.clone(), earlier, elsewhere]);
    // Ticketed, not contained: the investigation reads the instance as it is.
    let config = crate::support::config_file(
        "tickets:\n  github:\n    repo: acme/investigated\ntriage:\n  - match: {types: [\"*\"]}\n    decision: ticket\n    reason: a person looks first\n",
    );
    let mut env = gh.env("acme/investigated");
    env.retain(|(k, _)| k != "FIREBREAK_CONFIG");
    env.push(("FIREBREAK_CONFIG".into(), config.display().to_string()));
    env.extend(gd.env());
    ok(&with(
        &account,
        &env,
        &[
            "run",
            file_of(&f).to_str().unwrap(),
            "--evidence",
            &format!("s3://{bucket}"),
        ],
    ));
    let issue = &gh.issues("acme/investigated")[0];
    let investigation = issue["comments"][0]["body"].as_str().unwrap();
    for said in [
        format!("In Auto Scaling group `{}`", t.group),
        "Behind load balancer target groups".to_string(),
        "Recon:EC2/PortProbeUnprotectedPort".to_string(),
    ] {
        assert!(investigation.contains(&said), "{said:?} in {investigation}");
    }
    assert!(
        !investigation.contains("C&CActivity"),
        "another instance's finding is not listed: {investigation}"
    );
    gd.assert_requests_conform();
}

/// `watch` (the path without EventBridge) on the Step Functions engine, with tickets: the finding
/// polled from GuardDuty (the stand-in) is contained by the deployed state machine on moto, its
/// ticket opened and closed on containment, and the finding archived where it was polled.
#[tokio::test(flavor = "multi_thread")]
async fn watch_contains_on_step_functions_and_closes_the_loop() {
    let (gh, gd) = (TrackerServer::start(), FindingsServer::start());
    let moto = crate::support::private_moto();
    crate::asl::enable_sfn(&moto);
    let config = moto.config().await;
    let bucket = unique("watch-sfn-evidence");
    let target = format!("s3://{bucket}");
    let env: Vec<(String, String)> = gh.env("acme/watched").into_iter().chain(gd.env()).collect();
    let fb = |args: &[&str]| {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        firebreak_env(&moto.endpoint, args, &env)
    };
    ok(&fb(&[
        "setup",
        "--evidence-bucket",
        &bucket,
        "--retention-days",
        "1",
    ]));
    ok(&fb(&[
        "deploy",
        "iam-credential-compromise",
        "--evidence",
        &target,
    ]));
    let (user, key) = crate::run_s3::user_with_key(&config).await;
    let path = crate::support::leaked_key_finding(None, &user, &key);
    let finding: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    gd.hold(std::slice::from_ref(&finding));
    let detector = finding["service"]["detectorId"].as_str().unwrap();
    let out = fb(&[
        "watch",
        "--detector",
        detector,
        "--once",
        "--since-minutes",
        "129600",
        "--engine",
        "sfn",
        "--evidence",
        &target,
        "--retention-days",
        "1",
    ]);
    ok(&out);
    let keys = aws_sdk_iam::Client::new(&config)
        .list_access_keys()
        .user_name(&user)
        .send()
        .await
        .unwrap();
    assert_eq!(
        keys.access_key_metadata()[0].status().map(|s| s.as_str()),
        Some("Inactive"),
        "{}",
        stderr(&out)
    );
    let issues = gh.issues("acme/watched");
    assert_eq!(issues.len(), 1, "{issues:#?}");
    assert_eq!(issues[0]["state"], "closed", "{:#}", issues[0]);
    let id = finding["id"].as_str().unwrap();
    assert_eq!(gd.finding(id)["service"]["archived"], true);
    assert_eq!(gd.security_hub(id)["workflow"], "RESOLVED");
    let ops: Vec<String> = gd
        .assert_requests_conform()
        .iter()
        .map(|r| r["operation"].as_str().unwrap_or("?").to_string())
        .collect();
    assert!(ops.contains(&"ListFindings".to_string()), "{ops:?}");
}

/// Issue 13, item 3: `reconcile` finds a finding whose EventBridge delivery was dropped (never
/// put on the queue here) among those GuardDuty holds, and contains it; what was contained is
/// left alone; `serve --reconcile-every` does the same at its start.
#[tokio::test]
async fn reconcile_contains_a_finding_whose_delivery_was_dropped() {
    let gd = FindingsServer::start();
    let account = Account::new().await;
    let bucket = unique("reconcile");
    let queue = crate::serve::setup(&account, &bucket, &unique("reconcile-q"), &[]);
    let evidence = format!("s3://{bucket}");
    let (delivered, dropped, later) = (
        leaked_key(&account, &unique("delivered")).await,
        leaked_key(&account, &unique("dropped")).await,
        leaked_key(&account, &unique("later")).await,
    );
    gd.hold(&[delivered.clone(), dropped.clone()]);
    crate::serve::put_event(
        &aws_sdk_eventbridge::Client::new(&account.config),
        &delivered,
    )
    .await;
    let worker = ["--evidence", &evidence, "--retention-days", "1"];
    let serve = |extra: &[&str]| {
        let mut args = vec!["serve", "--queue", &queue, "--drain", "--wait-seconds", "1"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&worker);
        with(&account, &gd.env(), &args)
    };
    ok(&serve(&[]));
    let reconcile = || {
        let mut args = vec!["reconcile", "--since-hours", "2160"];
        args.extend_from_slice(&worker);
        let out = with(&account, &gd.env(), &args);
        ok(&out);
        stdout(&out)
    };
    let report = reconcile();
    assert!(
        report.contains("2 finding(s)")
            && report.contains("1 contained already")
            && report.contains("1 missing"),
        "{report}"
    );
    let dropped_id = dropped["id"].as_str().unwrap();
    assert!(
        report.contains(&format!("missing  {dropped_id}")) && report.contains("handled now"),
        "{report}"
    );
    let iam = aws_sdk_iam::Client::new(&account.config);
    let status = |f: &Value| {
        let (iam, user) = (
            iam.clone(),
            f["resource"]["accessKeyDetails"]["userName"]
                .as_str()
                .unwrap()
                .to_string(),
        );
        async move {
            iam.list_access_keys()
                .user_name(user)
                .send()
                .await
                .unwrap()
                .access_key_metadata()[0]
                .status()
                .map(|s| s.as_str().to_string())
        }
    };
    assert_eq!(status(&dropped).await.as_deref(), Some("Inactive"));
    // Everything is accounted for now.
    let again = reconcile();
    assert!(
        again.contains("2 contained already") && again.contains("0 missing"),
        "{again}"
    );
    // serve --reconcile-every reconciles at its start (the last 24 hours: a finding updated now).
    let mut later = later;
    later["updatedAt"] = aws_smithy_types::DateTime::from(std::time::SystemTime::now())
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap()
        .into();
    gd.hold(std::slice::from_ref(&later));
    assert_eq!(status(&later).await.as_deref(), Some("Active"));
    let out = serve(&["--reconcile-every", "3600"]);
    ok(&out);
    assert!(
        stderr(&out).contains("\"reconcile_missing\""),
        "{}",
        stderr(&out)
    );
    assert_eq!(status(&later).await.as_deref(), Some("Inactive"));
    gd.assert_requests_conform();
    ok(&with(
        &account,
        &[],
        &["audit", "--retention-days", "1", &evidence],
    ));
}

/// Issue 13, item 2: Security Hub's copy of a GuardDuty finding (an ASFF `Security Hub
/// Findings - Imported` event) is contained as the native finding, read from GuardDuty: by
/// `run` from a file and by `serve` from the queue, with the same plan as the native finding.
#[tokio::test]
async fn a_security_hub_copy_is_contained_as_the_native_finding() {
    let gd = FindingsServer::start();
    let account = Account::new().await;
    let bucket = unique("asff");
    let queue = crate::serve::setup(&account, &bucket, &unique("asff-q"), &[]);
    let evidence = format!("s3://{bucket}");
    let (by_file, by_queue) = (
        leaked_key(&account, &unique("asff-file")).await,
        leaked_key(&account, &unique("asff-queue")).await,
    );
    gd.hold(&[by_file.clone(), by_queue.clone()]);
    let asff = |f: &Value| {
        let (region, detector, id) = (
            f["region"].as_str().unwrap(),
            f["service"]["detectorId"].as_str().unwrap(),
            f["id"].as_str().unwrap(),
        );
        json!({
            "version": "0", "id": unique("event"), "detail-type": "Security Hub Findings - Imported",
            "source": "aws.securityhub", "account": account.id, "region": region,
            "detail": {"findings": [{
                "SchemaVersion": "2018-10-08",
                "Id": format!("arn:aws:guardduty:{region}:{}:detector/{detector}/finding/{id}", account.id),
                "ProductArn": format!("arn:aws:securityhub:{region}::product/aws/guardduty"),
                "GeneratorId": format!("arn:aws:guardduty:{region}:{}:detector/{detector}", account.id),
                "AwsAccountId": account.id,
                "Types": ["TTPs/Initial Access/UnauthorizedAccess:IAMUser-TorIPCaller"],
                "CreatedAt": "2026-11-20T09:06:12.345Z", "UpdatedAt": "2026-11-20T09:06:12.345Z",
                "Severity": {"Label": "MEDIUM", "Normalized": 50},
                "Title": "UnauthorizedAccess:IAMUser/TorIPCaller", "Description": "copied by Security Hub",
                "Resources": [{"Type": "AwsIamAccessKey", "Id": "AWS::IAM::AccessKey:AKIAEXAMPLE"}]
            }]}
        })
    };
    let keys_of = |f: &Value| {
        let user = f["resource"]["accessKeyDetails"]["userName"]
            .as_str()
            .unwrap()
            .to_string();
        let iam = aws_sdk_iam::Client::new(&account.config);
        async move { crate::serve::keys_of(&iam, &user).await }
    };
    // The same plan as the native finding (a dry run of each).
    let plan = |path: &std::path::Path| {
        let out = with(
            &account,
            &gd.env(),
            &[
                "run",
                "--dry-run",
                "--output",
                "json",
                path.to_str().unwrap(),
            ],
        );
        ok(&out);
        let r: Value = serde_json::from_slice(&out.stdout).unwrap();
        let steps: Vec<Value> = r["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| json!([s["id"], s["status"]]))
            .collect();
        (r["finding_id"].clone(), r["playbook"].clone(), steps)
    };
    let copy = file_of(&asff(&by_file));
    assert_eq!(plan(&copy), plan(&file_of(&by_file)));
    // `explain`, `plan` and `triage` read the copy as the native finding too: the same
    // selection, the same plan, the same decision.
    let native = file_of(&by_file);
    for command in [
        &["explain", "--output", "json"][..],
        &["plan", "--output", "json"][..],
        &["triage", "test", "--output", "json"][..],
    ] {
        let of = |path: &std::path::Path| {
            let mut args = command.to_vec();
            args.push(path.to_str().unwrap());
            let out = with(&account, &gd.env(), &args);
            ok(&out);
            let mut v: Value = serde_json::from_slice(&out.stdout).unwrap();
            // Where the finding came from is the one thing that differs.
            crate::support::drop_keys(&mut v, &["source"]);
            v
        };
        assert_eq!(of(&copy), of(&native), "{command:?}");
    }
    ok(&with(
        &account,
        &gd.env(),
        &[
            "run",
            copy.to_str().unwrap(),
            "--evidence",
            &evidence,
            "--retention-days",
            "1",
        ],
    ));
    assert_eq!(keys_of(&by_file).await, ["Inactive"]);
    // From the queue.
    aws_sdk_sqs::Client::new(&account.config)
        .send_message()
        .queue_url(&queue)
        .message_body(asff(&by_queue).to_string())
        .send()
        .await
        .unwrap();
    let out = with(
        &account,
        &gd.env(),
        &[
            "serve",
            "--queue",
            &queue,
            "--drain",
            "--wait-seconds",
            "1",
            "--evidence",
            &evidence,
            "--retention-days",
            "1",
        ],
    );
    ok(&out);
    assert_eq!(keys_of(&by_queue).await, ["Inactive"], "{}", stderr(&out));
    gd.assert_requests_conform();
}
