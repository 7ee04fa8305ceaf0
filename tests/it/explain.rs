//! `firebreak explain` on fixture findings of many GuardDuty types: the right playbook or none.

use serde_json::Value;

use crate::support::{firebreak, fixture, stderr, stdout};

fn explain(name: &str) -> Vec<Value> {
    let path = fixture(name);
    let out = firebreak(&["explain", "--output", "json", path.to_str().unwrap()]);
    assert!(out.status.success(), "{name}: {}", stderr(&out));
    serde_json::from_str(&stdout(&out)).expect("explain prints JSON")
}

/// Regression guard for issue 2: each fixture's finding type selects the expected playbook.
#[test]
fn fixtures_select_the_expected_playbook() {
    let cases: &[(&str, &str, Option<&str>)] = &[
        (
            "iam-user-tor.json",
            "UnauthorizedAccess:IAMUser/TorIPCaller",
            Some("iam-credential-compromise"),
        ),
        (
            "iam-user-exfil-outside.json",
            "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",
            Some("iam-credential-compromise"),
        ),
        (
            "iam-assumed-role-anomalous.json",
            "Exfiltration:IAMUser/AnomalousBehavior",
            Some("iam-credential-compromise"),
        ),
        (
            "iam-root-usage.json",
            "Policy:IAMUser/RootCredentialUsage",
            Some("iam-credential-compromise"),
        ),
        (
            "iam-pentest-kali.json",
            "PenTest:IAMUser/KaliLinux",
            Some("iam-credential-compromise"),
        ),
        (
            "ec2-bitcoin-dns.json",
            "CryptoCurrency:EC2/BitcoinTool.B!DNS",
            Some("ec2-instance-compromise"),
        ),
        (
            "ec2-ssh-bruteforce-target.json",
            "UnauthorizedAccess:EC2/SSHBruteForce",
            Some("ec2-instance-compromise"),
        ),
        (
            "ec2-backdoor-cc.json",
            "Backdoor:EC2/C&CActivity.B",
            Some("ec2-instance-compromise"),
        ),
        (
            "ec2-portprobe.json",
            "Recon:EC2/PortProbeUnprotectedPort",
            Some("ec2-instance-compromise"),
        ),
        ("ec2-exempt.json", "Trojan:EC2/DropPoint", None),
        (
            "ec2-malware-snapshot.json",
            "Execution:EC2/MaliciousFile!Snapshot",
            Some("ebs-snapshot-malware"),
        ),
        (
            "ec2-malware-ami.json",
            "Execution:EC2/MaliciousFile!AMI",
            Some("ami-malware"),
        ),
        (
            "lambda-bitcoin.json",
            "CryptoCurrency:Lambda/BitcoinTool.B",
            Some("lambda-compromise"),
        ),
        (
            "ec2-malware-recovery-point.json",
            "Execution:EC2/MaliciousFile!RecoveryPoint",
            Some("malware-artifact"),
        ),
        (
            "runtime-ec2-reverse-shell.json",
            "Execution:Runtime/ReverseShell",
            Some("ec2-instance-compromise"),
        ),
        // A container on an instance (Runtime Monitoring's standalone container): its host.
        (
            "runtime-container-reverse-shell.json",
            "Execution:Runtime/ReverseShell",
            Some("ec2-instance-compromise"),
        ),
        (
            "runtime-ecs-reverse-shell.json",
            "Execution:Runtime/ReverseShell",
            Some("ecs-task-compromise"),
        ),
        (
            "runtime-eks-cryptominer.json",
            "CryptoCurrency:Runtime/BitcoinTool.B",
            Some("eks-cluster-compromise"),
        ),
        (
            "s3-public-policy.json",
            "Policy:S3/BucketBlockPublicAccessDisabled",
            Some("s3-public-exposure"),
        ),
        (
            "s3-exfil-anomalous.json",
            "Exfiltration:S3/AnomalousBehavior",
            Some("s3-data-access"),
        ),
        (
            "s3-tor-role.json",
            "UnauthorizedAccess:S3/TorIPCaller",
            Some("s3-data-access"),
        ),
        (
            "eks-anonymous.json",
            "Policy:Kubernetes/AnonymousAccessGranted",
            Some("eks-cluster-compromise"),
        ),
        (
            "rds-bruteforce.json",
            "CredentialAccess:RDS/AnomalousBehavior.SuccessfulBruteForce",
            Some("rds-compromise"),
        ),
        (
            "rds-successful-login.json",
            "CredentialAccess:RDS/AnomalousBehavior.SuccessfulLogin",
            Some("rds-compromise"),
        ),
        (
            "variant-value-types.json",
            "Backdoor:EC2/C&CActivity.B",
            Some("ec2-instance-compromise"),
        ),
    ];
    for (file, ty, playbook) in cases {
        let out = explain(file);
        assert_eq!(out.len(), 1, "{file}");
        assert_eq!(out[0]["type"], *ty, "{file}");
        assert_eq!(out[0]["playbook"].as_str(), *playbook, "{file}");
        assert_eq!(out[0]["sample"], false, "{file}");
    }
}

#[test]
fn every_input_shape_through_the_cli() {
    let ids = |name| -> Vec<(String, Option<String>)> {
        explain(name)
            .iter()
            .map(|v| {
                (
                    v["type"].as_str().unwrap().to_string(),
                    v["playbook"].as_str().map(str::to_string),
                )
            })
            .collect()
    };
    assert_eq!(
        ids("shape-eventbridge.json")[0].1.as_deref(),
        Some("iam-credential-compromise")
    );
    assert_eq!(ids("shape-getfindings.json").len(), 2);
    assert!(ids("shape-getfindings-empty.json").is_empty());
    let nd = ids("shape-ndjson.ndjson");
    assert_eq!(
        nd.iter()
            .map(|(_, p)| p.as_deref().unwrap())
            .collect::<Vec<_>>(),
        [
            "iam-credential-compromise",
            "iam-credential-compromise",
            "s3-data-access"
        ]
    );
}

#[test]
fn samples_are_reported() {
    assert_eq!(explain("sample-flag.json")[0]["sample"], true);
    assert_eq!(explain("sample-in-value-string.json")[0]["sample"], true);
}

#[test]
fn losers_say_why() {
    let out = explain("ec2-exempt.json");
    let c = &out[0]["candidates"];
    let ec2 = c
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["playbook"] == "ec2-instance-compromise")
        .unwrap();
    assert_eq!(ec2["verdict"], "exempt");
    let s3 = c
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["playbook"] == "s3-data-access")
        .unwrap();
    assert_eq!(s3["verdict"], "not_matched");
    assert!(s3["reason"].as_str().unwrap().contains("matches none of"));
    // The text form names the winner and every other playbook.
    let text = stdout(&firebreak(&[
        "explain",
        fixture("iam-user-tor.json").to_str().unwrap(),
    ]));
    assert!(
        text.contains("playbook: iam-credential-compromise"),
        "{text}"
    );
    assert!(
        text.contains("s3-public-exposure") && text.contains("not matched"),
        "{text}"
    );
}

#[test]
fn stdin_is_accepted() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_firebreak"))
        .args(["explain", "--output", "json", "-"])
        .current_dir(crate::support::root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let text = std::fs::read_to_string(fixture("s3-public-policy.json")).unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["playbook"], "s3-public-exposure");
}

/// Every IAMUser, EC2 and S3 finding type GuardDuty lists is handled by a shipped playbook
/// (contained, or declared uncontained with a reason).
#[test]
fn shipped_playbooks_cover_iam_ec2_and_s3_types() {
    let set = firebreak::domain::playbook::load_dir(&[crate::support::root().join("playbooks")]);
    assert!(!set.has_errors(), "{:?}", set.diagnostics);
    for t in firebreak::domain::finding::KNOWN_TYPES.iter() {
        let family = family(t);
        if !matches!(family, "IAMUser" | "EC2" | "S3") {
            continue;
        }
        let covered = set.playbooks.iter().any(|p| {
            p.matcher
                .types
                .iter()
                .any(|pat| firebreak::domain::expr::wildcard_match(&pat.value, t))
        });
        assert!(covered, "no shipped playbook matches {t}");
    }
}

/// Issue 16, item 13: several findings in text are set apart by a blank line.
#[test]
fn several_findings_are_apart() {
    let out = firebreak(&[
        "explain",
        fixture("shape-getfindings.json").to_str().unwrap(),
        fixture("iam-user-tor.json").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let blocks: Vec<&str> = text.trim_end().split("\n\n").collect();
    assert_eq!(blocks.len(), 3, "{text}");
    for b in blocks {
        assert!(b.lines().any(|l| l.contains("playbook:")), "{b}");
    }
}

/// Issue 13: every Kubernetes and EKS type GuardDuty lists, and Runtime Monitoring's types, on a
/// cluster (`resourceType: EKSCluster`) select the EKS playbook.
#[test]
fn every_cluster_type_selects_the_eks_playbook() {
    let set = firebreak::domain::playbook::load_dir(&[crate::support::root().join("playbooks")]);
    assert!(!set.has_errors(), "{:?}", set.diagnostics);
    let template: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("eks-tor-ip-caller.json")).unwrap())
            .unwrap();
    let mut checked = 0;
    for t in firebreak::domain::finding::KNOWN_TYPES.iter() {
        let family = family(t);
        if !matches!(family, "Kubernetes" | "EKS" | "Runtime") {
            continue;
        }
        let mut f = template.clone();
        f["type"] = (*t).into();
        let parsed = firebreak::domain::finding::parse_findings(&f.to_string(), "test").unwrap();
        let winner = firebreak::domain::select::select(&parsed[0], &set.playbooks)
            .winner
            .map(|p| p.name.clone());
        assert_eq!(winner.as_deref(), Some("eks-cluster-compromise"), "{t}");
        checked += 1;
    }
    assert!(checked > 40, "only {checked} types checked");
}

/// The resource family of a finding type (`IAMUser` in `Discovery:IAMUser/…`).
fn family(t: &str) -> &str {
    t.split(':')
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or("")
}
