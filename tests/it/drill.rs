//! `firebreak drill` (issue 6): every playbook rehearsed end to end — targets made, findings
//! synthesized, contained through the production path, postconditions read back, evidence
//! audited — and no drill target left behind.

use std::process::{Command, Stdio};

use crate::support::{Account, root, s3_client, stderr, stdout};

fn drill_on_emulator(engine: &str) -> std::process::Output {
    // As the README's main job runs it: the command starts and stops the emulator itself,
    // here through a script that keeps the emulator's own log, so that a failure the emulator
    // caused (an internal error it answers with a 500) shows its traceback.
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let log = dir.join(format!("drill-emulator-{engine}.log"));
    let _ = std::fs::remove_file(&log);
    // The server the drill starts by itself (moto with S3's authorisation of object requests and ECS task protection).
    let server = std::env::var("FIREBREAK_MOTO_SERVER").unwrap_or_else(|_| {
        format!(
            "{}' '{}",
            root().join(".venv-moto/bin/python").display(),
            root().join("scripts/emulator/moto_server.py").display()
        )
    });
    let script = dir.join(format!("drill-emulator-{engine}.sh"));
    std::fs::write(
        &script,
        format!("#!/bin/sh\nexec '{server}' \"$@\" 2>>'{}'\n", log.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut out = Command::new(env!("CARGO_BIN_EXE_firebreak"))
        .args(["drill", "--all", "--emulator", "--engine", engine])
        .current_dir(root())
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .env("FIREBREAK_MOTO_SERVER", &script)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    if !out.status.success() {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let tracebacks: Vec<&str> = text
            .split("Traceback (most recent call last):")
            .skip(1)
            .filter(|t| !t.contains("NoSuchJsonPathError"))
            .collect();
        let note = format!(
            "\nthe emulator's tracebacks ({}):\n{}",
            log.display(),
            tracebacks.join("\n---\n")
        );
        out.stderr.extend_from_slice(note.as_bytes());
    }
    out
}

/// The read-back checks a drill printed, with the names and ids that differ between runs
/// (run tags, instance ids, access key ids) replaced.
fn checks(text: &str) -> Vec<String> {
    let mut out: Vec<String> = text
        .lines()
        .filter(|l| l.trim_start().starts_with("PASS") || l.trim_start().starts_with("FAIL"))
        .map(|l| {
            l.split_whitespace()
                .map(|w| {
                    if w.starts_with("firebreak-drill-") {
                        "<drill>"
                    } else if w.starts_with("i-") {
                        "<instance>"
                    } else if w.starts_with("snap-") {
                        "<snapshot>"
                    } else if w.starts_with("ami-") {
                        "<image>"
                    } else if w.starts_with("AKIA") || w.starts_with("ASIA") {
                        "<key>"
                    } else {
                        w
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    out.sort();
    out
}

/// Parity of the two engines (issue 5): every shipped playbook drilled on a fresh emulator with
/// the local engine and with its Step Functions state machine passes the same read-back checks
/// of the AWS end state, and both evidence sets pass the audit.
#[test]
fn drill_all_on_its_own_emulator_passes_with_either_engine_alike() {
    let sfn = std::thread::spawn(|| drill_on_emulator("sfn"));
    let local = drill_on_emulator("local");
    let sfn = sfn.join().unwrap();
    let mut seen = Vec::new();
    for (engine, out) in [("local", &local), ("sfn", &sfn)] {
        let text = stdout(out);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{engine}: {text}\n{}",
            stderr(out)
        );
        assert!(
            text.contains("drill passed: 12 of 12 playbook(s) passed"),
            "{engine}: {text}"
        );
        assert!(
            text.contains("audit of s3://firebreak-drill-evidence-") && text.contains(": PASS"),
            "{engine}: {text}"
        );
        assert!(!text.contains("FAIL"), "{engine}: {text}");
        seen.push(checks(&text));
    }
    assert!(seen[0].len() >= 12, "{:?}", seen[0]);
    assert_eq!(seen[0], seen[1], "the engines leave different end states");
}

#[tokio::test]
async fn a_drill_in_an_account_leaves_no_target_behind() {
    // An emulator that authorises object requests as S3 does (the quarantine of an object).
    let server = crate::support::private_emulator();
    let account = Account::on(&server, "100000000042").await;
    let bucket = account.evidence_bucket("drill-evidence");
    let out = account.firebreak(&[
        "drill",
        "--all",
        "--evidence",
        &format!("s3://{bucket}/ops"),
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", stderr(&out));
    assert!(text.contains("drill passed: 12 of 12"), "{text}");

    let c = &account.config;
    let drill = |name: &str| name.starts_with("firebreak-drill-");
    let iam = aws_sdk_iam::Client::new(c);
    let users = iam.list_users().send().await.unwrap();
    assert!(
        !users.users().iter().any(|u| drill(u.user_name())),
        "users left"
    );
    let roles = iam.list_roles().send().await.unwrap();
    assert!(
        !roles.roles().iter().any(|r| drill(r.role_name())),
        "roles left"
    );
    // ECS keeps a deleted cluster listed a while, INACTIVE.
    let ecs = aws_sdk_ecs::Client::new(c);
    let clusters = ecs.list_clusters().send().await.unwrap();
    if !clusters.cluster_arns().is_empty() {
        let described = ecs
            .describe_clusters()
            .set_clusters(Some(clusters.cluster_arns().to_vec()))
            .send()
            .await
            .unwrap();
        assert!(
            !described
                .clusters()
                .iter()
                .any(|c| { c.cluster_name().is_some_and(drill) && c.status() == Some("ACTIVE") }),
            "clusters left: {:?}",
            described.clusters()
        );
    }
    let profiles = iam.list_instance_profiles().send().await.unwrap();
    assert!(
        !profiles
            .instance_profiles()
            .iter()
            .any(|p| drill(p.instance_profile_name()))
    );
    let buckets = s3_client(c).list_buckets().send().await.unwrap();
    assert!(
        !buckets
            .buckets()
            .iter()
            .any(|b| b.name().is_some_and(drill)),
        "buckets left: {:?}",
        buckets.buckets()
    );
    let ec2 = aws_sdk_ec2::Client::new(c);
    let running = ec2
        .describe_instances()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:firebreak:drill")
                .values("true")
                .build(),
        )
        .send()
        .await
        .unwrap();
    for r in running.reservations() {
        for i in r.instances() {
            let state = i
                .state()
                .and_then(|s| s.name())
                .map(|n| n.as_str().to_string());
            assert!(
                matches!(state.as_deref(), Some("terminated" | "shutting-down")),
                "instance {:?} is {state:?}",
                i.instance_id()
            );
        }
    }
    let images = ec2.describe_images().owners("self").send().await.unwrap();
    assert!(
        !images.images().iter().any(|i| i.name().is_some_and(drill)),
        "images left"
    );
    let snapshots = ec2
        .describe_snapshots()
        .owner_ids("self")
        .send()
        .await
        .unwrap();
    assert!(
        !snapshots
            .snapshots()
            .iter()
            .any(|s| s.description().is_some_and(drill)),
        "snapshots left"
    );
    let volumes = ec2
        .describe_volumes()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag-key")
                .values("firebreak:drill")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(volumes.volumes().is_empty(), "volumes left");
    let functions = aws_sdk_lambda::Client::new(c)
        .list_functions()
        .send()
        .await
        .unwrap();
    assert!(
        !functions
            .functions()
            .iter()
            .any(|f| f.function_name().is_some_and(drill)),
        "functions left"
    );
    let queues = aws_sdk_sqs::Client::new(c)
        .list_queues()
        .queue_name_prefix("firebreak-drill-")
        .send()
        .await
        .unwrap();
    assert!(queues.queue_urls().is_empty(), "queues left");
    let rds = aws_sdk_rds::Client::new(c);
    let databases = rds.describe_db_instances().send().await.unwrap();
    assert!(
        !databases
            .db_instances()
            .iter()
            .any(|d| d.db_instance_identifier().is_some_and(drill)),
        "databases left"
    );
    let subnet_groups = rds.describe_db_subnet_groups().send().await.unwrap();
    assert!(
        !subnet_groups
            .db_subnet_groups()
            .iter()
            .any(|g| g.db_subnet_group_name().is_some_and(drill)),
        "subnet groups left"
    );
    let db_snapshots = rds.describe_db_snapshots().send().await.unwrap();
    assert!(
        !db_snapshots
            .db_snapshots()
            .iter()
            .any(|s| s.db_instance_identifier().is_some_and(drill)),
        "database snapshots left"
    );
    let templates = ec2.describe_launch_templates().send().await.unwrap();
    assert!(
        !templates
            .launch_templates()
            .iter()
            .any(|t| t.launch_template_name().is_some_and(drill))
    );
    let asgs = aws_sdk_autoscaling::Client::new(c)
        .describe_auto_scaling_groups()
        .send()
        .await
        .unwrap();
    assert!(
        !asgs
            .auto_scaling_groups()
            .iter()
            .any(|g| drill(g.auto_scaling_group_name().unwrap_or_default()))
    );
    let tgs = aws_sdk_elasticloadbalancingv2::Client::new(c)
        .describe_target_groups()
        .send()
        .await
        .unwrap();
    assert!(
        !tgs.target_groups()
            .iter()
            .any(|g| g.target_group_name().is_some_and(drill))
    );
    let topics = aws_sdk_sns::Client::new(c)
        .list_topics()
        .send()
        .await
        .unwrap();
    assert!(!topics.topics().iter().any(|t| {
        t.topic_arn()
            .is_some_and(|a| a.contains(":firebreak-drill-"))
    }));
    // The evidence snapshots the playbook took of the drill instance (moto's own AMI snapshots
    // carry no such tag).
    let snaps = ec2
        .describe_snapshots()
        .owner_ids("self")
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag-key")
                .values("firebreak:finding-id")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(
        snaps.snapshots().is_empty(),
        "snapshots left: {:?}",
        snaps.snapshots()
    );

    // The drill's evidence is where it was asked to go, and passes the audit.
    let out = account.firebreak(&[
        "audit",
        "--retention-days",
        "1",
        &format!("s3://{bucket}/ops/drills"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("(12 execution(s), 0 with problems)"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_drill_refuses_unknown_playbooks_and_a_missing_evidence_target() {
    let out = crate::support::firebreak(&["drill", "no-such-playbook", "--emulator"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no playbook named `no-such-playbook`"),
        "{}",
        stderr(&out)
    );
    let out = crate::support::moto().firebreak(&["drill", "--all"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--evidence s3://BUCKET[/PREFIX] is needed outside --emulator"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn a_drill_through_the_queue_uses_serve_and_removes_its_queue() {
    let account = Account::new().await;
    let bucket = account.evidence_bucket("drillq-evidence");
    let out = account.firebreak(&[
        "drill",
        "iam-credential-compromise",
        "ebs-snapshot-malware",
        "--via-queue",
        "--evidence",
        &format!("s3://{bucket}"),
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", stderr(&out));
    assert!(text.contains("through a queue to serve"), "{text}");
    assert!(text.contains("drill passed: 2 of 2"), "{text}");
    // serve's JSON log lines show the findings came through the queue.
    assert_eq!(
        stderr(&out).matches("\"event\":\"executed\"").count(),
        2,
        "{}",
        stderr(&out)
    );
    let queues = aws_sdk_sqs::Client::new(&account.config)
        .list_queues()
        .send()
        .await
        .unwrap();
    assert!(
        !queues
            .queue_urls()
            .iter()
            .any(|q| q.contains("firebreak-drill-")),
        "{:?}",
        queues.queue_urls()
    );
}

/// Issue 16, item 14: an argument error is reported before anything reaches the network (no
/// credential lookup, no instance metadata endpoint, no AWS call).
#[test]
fn drill_argument_errors_come_before_the_network() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    for (args, want) in [
        (
            vec!["drill", "--all"],
            "--evidence s3://BUCKET[/PREFIX] is needed outside --emulator",
        ),
        (
            vec!["drill", "--all", "--evidence", "/tmp/evidence"],
            "--evidence must be s3://BUCKET[/PREFIX]",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_firebreak"))
            .args(&args)
            .current_dir(root())
            .env("AWS_ENDPOINT_URL", &endpoint)
            .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", &endpoint)
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_PROFILE")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(want), "{args:?}: {}", stderr(&out));
        assert!(
            listener.accept().is_err(),
            "{args:?}: the command reached the network before reporting its arguments"
        );
    }
}

/// The automatic path of the README's main job (`scripts/drill` runs it after the two drills
/// above): setup, a finding contained by hand and one through EventBridge, SQS and `serve`, each
/// read back from the emulator, the evidence, the tickets and GuardDuty. Run as the script runs
/// it, with the binary the suite built (`FIREBREAK_BIN`), so that the first set-up command
/// keeps working.
#[test]
fn the_main_job_s_automatic_path_passes() {
    let out = Command::new(root().join(".venv-moto/bin/python"))
        .arg("scripts/drill_automatic.py")
        .current_dir(root())
        .env("FIREBREAK_BIN", env!("CARGO_BIN_EXE_firebreak"))
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    assert!(text.contains("\ndrill passed"), "{text}");
    assert!(!text.contains("  FAIL  "), "{text}");
    assert!(
        text.contains("PASS  user drill-alice has AWSDenyAll attached"),
        "{text}"
    );
}
