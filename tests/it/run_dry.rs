//! Dry runs (issue 3): for every shipped playbook, a dry run reaches every mutating call (EC2
//! with DryRun=true, others planned) and leaves the emulator's whole state unchanged.

use serde_json::Value;

use crate::support::{finding_file, private_emulator, stderr, unique};

#[tokio::test]
async fn dry_runs_of_every_playbook_change_nothing() {
    // The emulator: the backup playbook's recovery point is its stand-in's.
    let server = private_emulator();
    let config = server.config().await;
    let iam = aws_sdk_iam::Client::new(&config);
    let (user, key) = crate::run_s3::user_with_key(&config).await;
    let role = unique("dry-role");
    iam.create_role()
        .role_name(&role)
        .assume_role_policy_document("{}")
        .send()
        .await
        .unwrap();
    let t = crate::run_ec2::target(&config).await;
    let (bucket, _) = crate::run_s3::public_bucket(&config).await;
    let (s3_public, s3_access) = crate::run_s3::s3_findings(&bucket, &user, &key);
    let point = crate::run_backup::recovery_point(&config, crate::run_backup::Of::Volume).await;
    let cases = vec![
        (
            "iam-credential-compromise",
            finding_file("iam-user-tor.json", |f| {
                f["resource"]["accessKeyDetails"]["userName"] = user.clone().into();
                f["resource"]["accessKeyDetails"]["accessKeyId"] = key.clone().into();
            }),
        ),
        (
            "iam-credential-compromise",
            finding_file("iam-user-exfil-outside.json", |f| {
                f["resource"]["accessKeyDetails"]["userName"] = role.clone().into();
                f["resource"]["instanceDetails"]["instanceId"] = t.instance_id.clone().into();
            }),
        ),
        (
            "ec2-instance-compromise",
            finding_file("ec2-bitcoin-dns.json", |f| {
                f["resource"]["instanceDetails"]["instanceId"] = t.instance_id.clone().into();
            }),
        ),
        ("s3-public-exposure", s3_public),
        ("s3-data-access", s3_access),
        ("malware-artifact", crate::run_backup::point_finding(&point)),
    ];
    let before = server.state();
    for (playbook, f) in &cases {
        let out = server.firebreak(&["run", "--dry-run", "--output", "json", f.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{playbook}: {}", stderr(&out));
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["playbook"], *playbook);
        assert_eq!(report["status"], "dry_run", "{report:#}");
        // Issue 16, item 2: one story in progress, summary and JSON. A step with a planned
        // change never says "nothing changed".
        let progress = stderr(&out);
        for s in report["steps"].as_array().unwrap() {
            let planned = s["planned"].as_array().is_some_and(|p| !p.is_empty());
            let line = progress
                .lines()
                .find(|l| l.starts_with(&format!("  done     {} in ", s["id"].as_str().unwrap())));
            if planned {
                let line = line.unwrap_or_else(|| panic!("{playbook}/{}: {progress}", s["id"]));
                assert!(
                    line.contains("dry run: a change is planned, none made")
                        && !line.contains("nothing changed"),
                    "{playbook}: {line}"
                );
            }
        }
        let text = server.firebreak(&["run", "--dry-run", f.to_str().unwrap()]);
        assert!(
            crate::support::stdout(&text)
                .contains("time to contain: - (a dry run contains nothing)"),
            "{playbook}: {}",
            crate::support::stdout(&text)
        );
        for s in report["steps"].as_array().unwrap() {
            assert_eq!(s["changed"], false, "{playbook}/{}", s["id"]);
            for c in s["calls"].as_array().unwrap() {
                let op = c["operation"].as_str().unwrap();
                let mutating = !(op.starts_with("Describe")
                    || op.starts_with("Get")
                    || op.starts_with("List"));
                if mutating {
                    assert_eq!(
                        c["result"], "dry_run",
                        "{playbook}/{}: {op} was really called",
                        s["id"]
                    );
                }
            }
        }
        if *playbook == "ec2-instance-compromise" {
            let preserve = report["steps"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["id"] == "preserve")
                .unwrap();
            assert!(
                !preserve["planned"].as_array().unwrap().is_empty(),
                "{preserve:#}"
            );
        }
    }
    let after = server.state();
    let mut diffs = Vec::new();
    diff("", &before, &after, &mut diffs);
    // moto materialises DescribeTargetHealth answers as `FakeHealthStatus` records the first
    // time they are read; that is the emulator caching a read, not a change firebreak made.
    diffs.retain(|d| !d.starts_with(".elbv2.FakeHealthStatus"));
    assert!(
        diffs.is_empty(),
        "moto state changed during dry runs: {diffs:#?}"
    );
}

pub(crate) fn diff(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    if out.len() > 20 {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                diff(
                    &format!("{path}.{k}"),
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                diff(&format!("{path}[{i}]"), p, q, out);
            }
        }
        _ if a != b => out.push(format!("{path}: {a} -> {b}")),
        _ => {}
    }
}
