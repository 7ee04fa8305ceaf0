//! Whether an instance is contained follows its finding type's meaning (issue 13, item 0).
//!
//! GuardDuty sets `service.resourceRole: TARGET` on findings where the instance is the one doing
//! harm: AWS's own sample findings carry it on C&C (`Backdoor:EC2/C&CActivity.B!DNS`), Trojan
//! (`BlackholeTraffic!DNS`, `DropPoint!DNS`, `DriveBySourceTraffic!DNS`), Bitcoin, Spambot and
//! Tor relay findings. The EC2 playbook used to skip every containment step on TARGET, so a
//! crypto-mining instance was captured and left running. Only the types AWS documents as an
//! attack *on* the instance from outside are left uncontained: port probes, brute force aimed at
//! the instance (`resourceRole: TARGET`, not outbound), and an inbound caller on a custom
//! threat list.

use serde_json::{Value, json};

use crate::run_ec2::{assert_contained, target};
use crate::support::{finding_file, firebreak, moto, root, stderr, stdout, unique};

/// `service.action` as GuardDuty writes it for each kind of detection.
fn action_of(type_name: &str, direction: &str) -> Value {
    if type_name.contains("PortProbe") {
        return json!({"actionType": "PORT_PROBE", "portProbeAction": {
            "blocked": false,
            "portProbeDetails": [{"localPortDetails": {"port": 22, "portName": "SSH"},
                "remoteIpDetails": {"ipAddressV4": "198.51.100.9"}}]}});
    }
    if type_name.ends_with("!DNS") || type_name.contains("DomainRequest") {
        return json!({"actionType": "DNS_REQUEST", "dnsRequestAction": {
            "domain": "GeneratedFindingDomainName", "protocol": "UDP", "blocked": false}});
    }
    json!({"actionType": "NETWORK_CONNECTION", "networkConnectionAction": {
        "connectionDirection": direction,
        "protocol": "TCP",
        "blocked": false,
        "localPortDetails": {"port": 22, "portName": "SSH"},
        "remotePortDetails": {"port": 32794, "portName": "Unknown"},
        "remoteIpDetails": {"ipAddressV4": "198.51.100.0"}}})
}

/// A finding of `type_name` about `instance_id`, with the role and direction given.
fn finding(type_name: &str, role: &str, direction: &str, instance_id: &str) -> Value {
    let path = finding_file("ec2-bitcoin-dns.json", |_| {});
    let mut f: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    f["id"] = unique("role-finding").into();
    f["type"] = type_name.into();
    f["title"] = format!("{type_name} on {instance_id}").into();
    f["resource"]["instanceDetails"]["instanceId"] = instance_id.into();
    f["service"]["resourceRole"] = role.into();
    f["service"]["action"] = action_of(type_name, direction);
    f
}

/// The types AWS documents as an attack on the instance from outside, under these conditions.
fn inbound(type_name: &str, role: &str, direction: &str) -> bool {
    match type_name {
        "Recon:EC2/PortProbeUnprotectedPort" | "Recon:EC2/PortProbeEMRUnprotectedPort" => true,
        // GuardDuty's own test finding: nothing happened on the instance.
        "Canary:EC2/Stateless.IntegTest" => true,
        "UnauthorizedAccess:EC2/SSHBruteForce"
        | "UnauthorizedAccess:EC2/RDPBruteForce"
        | "Impact:EC2/WinRMBruteForce" => role == "TARGET" && direction != "OUTBOUND",
        "UnauthorizedAccess:EC2/MaliciousIPCaller.Custom" => direction == "INBOUND",
        _ => false,
    }
}

/// Every current EC2 and Runtime type about an instance, as TARGET and ACTOR, inbound and
/// outbound: the plan contains exactly the ones where the instance is not merely attacked.
#[test]
fn every_instance_type_is_decided_by_its_meaning() {
    let types = std::fs::read_to_string(root().join("data/guardduty-finding-types.txt")).unwrap();
    let types: Vec<&str> = types
        .lines()
        .map(str::trim)
        .filter(|t| t.contains(":EC2/") || t.contains(":Runtime/"))
        // Malware in snapshots, AMIs and recovery points is not about a running instance.
        .filter(|t| !t.contains('!') || t.ends_with("!DNS"))
        .filter(|t| !t.starts_with("AttackSequence:"))
        .collect();
    assert!(types.len() > 60, "{} types", types.len());
    let mut cases = Vec::new();
    let mut ndjson = String::new();
    for t in &types {
        for role in ["TARGET", "ACTOR"] {
            for direction in ["INBOUND", "OUTBOUND"] {
                let f = finding(t, role, direction, "i-0abc1234def567890");
                ndjson.push_str(&serde_json::to_string(&f).unwrap());
                ndjson.push('\n');
                cases.push((t.to_string(), role, direction));
            }
        }
    }
    let file = std::env::temp_dir().join(format!("{}.ndjson", unique("roles")));
    std::fs::write(&file, ndjson).unwrap();
    let out = firebreak(&["plan", "--output", "json", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let plans: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let plans = plans.as_array().expect("one plan per finding");
    assert_eq!(plans.len(), cases.len());
    let mut inbound_seen = 0;
    for ((t, role, direction), p) in cases.iter().zip(plans) {
        assert_eq!(p["playbook"], "ec2-instance-compromise", "{t}");
        let steps = p["steps"].as_array().unwrap();
        let isolate = steps.iter().find(|s| s["id"] == "isolate").unwrap();
        let preserve = steps.iter().find(|s| s["id"] == "preserve").unwrap();
        let capture = steps.iter().find(|s| s["id"] == "capture").unwrap();
        assert_eq!(
            capture["state"], "planned",
            "{t}: evidence is always captured"
        );
        if inbound(t, role, direction) {
            inbound_seen += 1;
            for s in [isolate, preserve] {
                assert_eq!(s["state"], "skipped", "{t} {role} {direction}: {s:#}");
                let reason = s["reason"].as_str().unwrap_or_default();
                assert!(reason.contains("no containment for"), "{t}: {reason}");
            }
        } else {
            assert_eq!(
                isolate["state"], "planned",
                "{t} {role} {direction} must be contained: {isolate:#}"
            );
            assert_eq!(preserve["state"], "planned", "{t} {role} {direction}");
        }
    }
    // Port probes (2 types × 4), GuardDuty's test finding (4), brute force on TARGET inbound
    // (3), an inbound custom-list caller (2).
    assert_eq!(inbound_seen, 17);
}

/// Runs the EC2 playbook on a seeded instance for a finding of `type_name` with
/// `resourceRole: TARGET`, as AWS emits these types; the report.
async fn run_target(
    config: &aws_config::SdkConfig,
    type_name: &str,
    direction: &str,
) -> (crate::run_ec2::Target, String, Value) {
    let t = target(config).await;
    let f = finding(type_name, "TARGET", direction, &t.instance_id);
    let id = f["id"].as_str().unwrap().to_string();
    let path = std::env::temp_dir().join(format!("{}.json", unique("role-finding")));
    std::fs::write(&path, serde_json::to_vec_pretty(&f).unwrap()).unwrap();
    let out = moto().firebreak(&["run", "--output", "json", path.to_str().unwrap()]);
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{type_name}: {e}: {} {}", stdout(&out), stderr(&out)));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{type_name}: {report:#}\n{}",
        stderr(&out)
    );
    (t, id, report)
}

fn isolation_ids(report: &Value) -> Value {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "isolate")
        .unwrap()["outputs"]["isolation_group_ids"]
        .clone()
}

/// One family per test: the instance doing harm is contained although GuardDuty says TARGET.
async fn family_is_contained(types: &[&str], direction: &str) {
    let config = moto().config().await;
    for type_name in types {
        let (t, id, report) = run_target(&config, type_name, direction).await;
        assert_eq!(report["status"], "succeeded", "{type_name}");
        assert_contained(&config, &t, &id, &isolation_ids(&report)).await;
    }
}

#[tokio::test]
async fn command_and_control_on_target_is_contained() {
    family_is_contained(&["Backdoor:EC2/C&CActivity.B!DNS"], "OUTBOUND").await;
}

#[tokio::test]
async fn trojan_on_target_is_contained() {
    family_is_contained(
        &[
            "Trojan:EC2/BlackholeTraffic!DNS",
            "Trojan:EC2/DropPoint!DNS",
            "Trojan:EC2/DriveBySourceTraffic!DNS",
        ],
        "OUTBOUND",
    )
    .await;
}

#[tokio::test]
async fn bitcoin_on_target_is_contained() {
    family_is_contained(
        &[
            "CryptoCurrency:EC2/BitcoinTool.B!DNS",
            "CryptoCurrency:EC2/BitcoinTool.B",
        ],
        "OUTBOUND",
    )
    .await;
}

#[tokio::test]
async fn spambot_on_target_is_contained() {
    family_is_contained(&["Backdoor:EC2/Spambot"], "OUTBOUND").await;
}

#[tokio::test]
async fn tor_relay_on_target_is_contained() {
    // A relay accepts connections from the Tor network: GuardDuty reports them inbound.
    family_is_contained(&["UnauthorizedAccess:EC2/TorRelay"], "INBOUND").await;
}

/// Brute force aimed at the instance (AWS's sample: TARGET, INBOUND, port 22) and a port probe
/// leave it running in its groups: captured, not preserved, snapshotted or isolated.
#[tokio::test]
async fn inbound_attacks_do_not_isolate() {
    let config = moto().config().await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    for type_name in [
        "UnauthorizedAccess:EC2/SSHBruteForce",
        "Recon:EC2/PortProbeUnprotectedPort",
    ] {
        let (t, id, report) = run_target(&config, type_name, "INBOUND").await;
        assert_eq!(report["status"], "succeeded", "{type_name}");
        let steps = report["steps"].as_array().unwrap();
        for s in steps {
            let expected = if s["id"] == "capture" {
                "succeeded"
            } else {
                "skipped"
            };
            assert_eq!(s["status"], expected, "{type_name}: {s:#}");
        }
        let enis = ec2
            .describe_network_interfaces()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("attachment.instance-id")
                    .values(&t.instance_id)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        for n in enis.network_interfaces() {
            for g in n.groups() {
                assert!(
                    !g.group_name().unwrap_or_default().contains("firebreak"),
                    "{type_name}: interface moved to {g:?}"
                );
            }
        }
        let snaps = ec2
            .describe_snapshots()
            .owner_ids("self")
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("tag:firebreak:finding-id")
                    .values(&id)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        assert!(snaps.snapshots().is_empty(), "{type_name}: snapshotted");
    }
}
