//! `ec2.snapshot_volumes` waits for a `pending` snapshot and fails on one that ended in
//! `error`, alike on both engines. The emulator's snapshots are complete at once, so the proxy
//! in front of it shows the states (`Faults::snapshot_states`): the snapshots, the calls and
//! the rest of each answer are the emulator's own.

use serde_json::Value;

use crate::fault_proxy::Faults;
use crate::support::{self, finding_file, unique};

const PLAYBOOK: &str = r#"name: snapshots
description: the instance's volumes snapshotted
match:
  types: ["*:EC2/*"]
inputs:
  instance_id:
    from: ${{ finding.resource.instanceDetails.instanceId }}
    required: true
steps:
  - id: snapshot
    action: ec2.snapshot_volumes
    with:
      instance_id: ${{ inputs.instance_id }}
      wait: WAIT
"#;

/// The snapshot step's report on `engine`, with `states` shown by `DescribeSnapshots` and
/// `wait`, and how many of the states were left unshown.
async fn snapshot(engine: &str, states: Vec<&'static str>, wait: bool) -> (Value, usize) {
    run(engine, faults(states, &[]), wait, &[]).await
}

fn faults(snapshot_states: Vec<&'static str>, deny: &[&str]) -> Faults {
    Faults {
        every: 0,
        deny_actions: deny.iter().map(|a| a.to_string()).collect(),
        deny_body: None,
        long_denial: false,
        bucket_owner: None,
        snapshot_states,
    }
}

/// The snapshot step's report of a run on `engine` through a proxy making `faults`, with
/// `wait` and `extra` arguments, and how many snapshot states were left unshown.
async fn run(engine: &str, faults: Faults, wait: bool, extra: &[&str]) -> (Value, usize) {
    let (moto, proxy) = support::private_moto_behind(faults);
    crate::asl::enable_sfn(&moto);
    let config = moto.config().await;
    let instance = support::instance(&config).await;
    let finding = finding_file("ec2-bitcoin-dns.json", |f| {
        f["id"] = Value::String(unique("finding"));
        f["resource"]["instanceDetails"]["instanceId"] = instance.clone().into();
    });
    let dir = std::env::temp_dir().join(unique("snapshot-playbooks"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("snapshots.yaml"),
        PLAYBOOK.replace("WAIT", &wait.to_string()),
    )
    .unwrap();
    let dir = dir.to_str().unwrap();
    let mut args = vec!["run", "--playbooks", dir, "--output", "json"];
    args.extend(extra);
    if engine == "sfn" {
        support::deploy_dir(&config, dir).await;
        args.extend(["--engine", "sfn"]);
    }
    args.push(finding.to_str().unwrap());
    // Through the proxy: the local engine's calls, and (its `MOTO_PORT`) the state machine's.
    let out = support::firebreak_at(&proxy.endpoint, &args);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{engine}: {e}\n{}{}",
            support::stdout(&out),
            support::stderr(&out)
        )
    });
    (
        support::step_of(&report, "snapshot"),
        proxy.snapshot_states_left(),
    )
}

/// How many `DescribeSnapshots` calls the local engine's step made (a state machine's report
/// does not list its calls).
fn reads(step: &Value) -> usize {
    step["calls"].as_array().map_or(0, |c| {
        c.iter()
            .filter(|c| c["operation"] == "DescribeSnapshots")
            .count()
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pending_snapshot_is_waited_for_and_one_in_error_fails_alike_on_both_engines() {
    for engine in ["local", "sfn"] {
        // Pending at the first read-back, then complete: read again, and done.
        let (step, left) = snapshot(engine, vec!["pending"], true).await;
        assert_eq!(step["status"], "succeeded", "{engine}: {step:#}");
        assert_eq!(left, 0, "{engine}: the pending answer was not read");
        if engine == "local" {
            // The finding's snapshots before, then the read-back twice.
            assert_eq!(reads(&step), 3, "{step:#}");
        }
        // `wait: false`: one read-back, whatever it shows.
        let (step, left) = snapshot(engine, vec!["pending"], false).await;
        assert_eq!(step["status"], "succeeded", "{engine}: {step:#}");
        assert_eq!(left, 0, "{engine}");
        if engine == "local" {
            assert_eq!(reads(&step), 2, "{step:#}");
        }
        // Ended in error: the step fails with its own code.
        let (step, _) = snapshot(engine, vec!["error"], true).await;
        assert_eq!(step["status"], "failed", "{engine}: {step:#}");
        assert_eq!(step["error_code"], "SnapshotFailed", "{engine}: {step:#}");
    }
}

/// A dry run checks, for each volume, that the snapshot would be allowed (EC2's `DryRun`):
/// a responder that may not snapshot fails the dry run, instead of learning it in an incident.
#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_checks_the_snapshot_permission() {
    let (step, _) = run("local", faults(Vec::new(), &[]), true, &["--dry-run"]).await;
    assert_eq!(step["status"], "succeeded", "{step:#}");
    let (step, _) = run(
        "local",
        faults(Vec::new(), &["CreateSnapshot"]),
        true,
        &["--dry-run"],
    )
    .await;
    assert_eq!(step["status"], "failed", "{step:#}");
    assert_eq!(step["error_code"], "UnauthorizedOperation", "{step:#}");
}
