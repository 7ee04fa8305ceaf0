//! `firebreak permissions` (issue 7, least privilege), for every shipped playbook: the printed
//! policy is enough for a responder holding exactly it, every permission in it is used by one
//! of the playbook's paths, and with any one of them removed the run fails on an AccessDenied
//! whose error names the step and the permission. The emulator's IAM enforcement is switched
//! on for this (emulator.md), on a moto server whose signature check is corrected for the
//! AWS SDKs' form encoding (`tests/emulator/moto_server_aws_form_signing.py`).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::support::{self, finding_file, unique};

/// The IAM actions moto checks instead of AWS's for a few S3 calls (it misses the
/// `publicAccessBlock` and `ownershipControls` subresources and falls back to the method's
/// default: GET → `s3:ListBucket`, PUT → `s3:CreateBucket`). The responder gets those too, and
/// loses them with the permission; two permissions sharing one stand for each other.
fn moto_aliases(permission: &str) -> &'static [&'static str] {
    match permission {
        "s3:GetBucketPublicAccessBlock" | "s3:GetBucketOwnershipControls" => &["s3:ListBucket"],
        "s3:PutBucketPublicAccessBlock" => &["s3:CreateBucket"],
        // Reading a version's tags: moto checks `s3:GetObjectVersion` (the last of the
        // request's sub-resources it knows).
        "s3:GetObjectTagging" | "s3:GetObjectVersionTagging" => &["s3:GetObjectVersion"],
        // Object Lock's subresources: the bucket's configuration is a GET of the bucket, a
        // legal hold a GET or PUT of the object.
        "s3:GetBucketObjectLockConfiguration" => &["s3:ListBucket"],
        "s3:GetObjectLegalHold" => &["s3:GetObject"],
        "s3:PutObjectLegalHold" | "s3:PutObject" => &["s3:PutObject"],
        _ => &[],
    }
}

/// The quarantine bucket of `Case::MalwareObjectCopied` (its input names it too).
const QUARANTINE_BUCKET: &str = "lab-quarantine";

/// A finding and the resources it is about, made fresh for each run.
#[derive(Clone, Copy, Debug)]
enum Case {
    /// A leaked long-term key of an IAM user.
    UserKey,
    /// Instance credentials used outside AWS: the role, and the instance that has its profile.
    InstanceCredentials,
    /// A bucket made public by its policy.
    PublicBucket,
    /// Data read from a bucket with an IAM user's key.
    BucketByUser,
    /// Data read from a bucket by an assumed role.
    BucketByRole,
    /// An instance in an Auto Scaling group and a target group, with a profile and two volumes.
    Instance,
    /// As `Instance`, with someone having opened the existing isolation group (it must be
    /// closed again).
    InstanceOpenedIsolation,
    /// Malware in an EBS volume's backup recovery point (an EBS snapshot) in a vault with an
    /// access policy.
    Malware,
    /// Malware in an EC2 instance's backup recovery point (an AMI).
    MalwareImage,
    /// Malware in an S3 bucket's backup recovery point (AWS Backup's own ARN).
    MalwareBackup,
    /// Malware in an EBS snapshot shared with everyone and another account.
    Snapshot,
    /// Malware in an AMI launchable by everyone and another account.
    Image,
    /// A mining Lambda function with a public URL, a queue feeding it and an execution role.
    Function,
    /// Malware in a version of an S3 object, in a bucket with a policy.
    MalwareObject,
    /// As `MalwareObject`, with a quarantine bucket for a copy under legal hold.
    MalwareObjectCopied,
    /// A database logged into, in a VPC without an isolation group.
    Database,
    /// As `Database`, the login its master user's; its password replaced (the opt-in).
    DatabaseMasterUser,
    /// As `Database`, an Aurora instance (its cluster is snapshotted), the login its master
    /// user's: the cluster's password replaced (the opt-in).
    Aurora,
    /// A reverse shell in a service's ECS task with a task role; its service isolated and the
    /// task stopped (the opt-ins).
    EcsTaskStopped,
    /// A role's Kubernetes user calling an EKS cluster from Tor, with an access entry; the
    /// endpoint restricted (the opt-in).
    EksRole,
    /// As `EksRole`, an IAM user with a long-term key.
    EksUser,
    /// A miner in a pod on an EKS node (an instance in an Auto Scaling group and a target
    /// group, with a profile and two volumes, its VPC's isolation group opened by someone); the
    /// node role's sessions revoked (the opt-in).
    EksNode,
}

impl Case {
    async fn make(self, admin: &aws_config::SdkConfig) -> PathBuf {
        let id = Value::String(unique("finding"));
        match self {
            Case::UserKey => {
                let (user, key) = crate::run_s3::user_with_key(admin).await;
                support::leaked_key_finding(None, &user, &key)
            }
            Case::InstanceCredentials => {
                let t = crate::run_ec2::target(admin).await;
                finding_file("iam-user-exfil-outside.json", |f| {
                    f["id"] = id;
                    f["resource"]["accessKeyDetails"]["userName"] = t.role.into();
                    f["resource"]["instanceDetails"]["instanceId"] = t.instance_id.into();
                })
            }
            Case::PublicBucket => {
                let (bucket, _) = crate::run_s3::public_bucket(admin).await;
                crate::run_s3::s3_findings(&bucket, "-", "-").0
            }
            Case::BucketByUser => {
                let (bucket, _) = crate::run_s3::public_bucket(admin).await;
                let (user, key) = crate::run_s3::user_with_key(admin).await;
                crate::run_s3::s3_findings(&bucket, &user, &key).1
            }
            Case::BucketByRole => {
                let (bucket, _) = crate::run_s3::public_bucket(admin).await;
                let role = support::ec2_role(&aws_sdk_iam::Client::new(admin), "etl-role").await;
                finding_file("s3-tor-role.json", |f| {
                    f["id"] = id;
                    f["resource"]["s3BucketDetails"][0]["name"] = bucket.into();
                    f["resource"]["accessKeyDetails"]["userName"] = role.into();
                })
            }
            Case::Instance => {
                let (t, _) = crate::run_ec2::target_in_new_vpc(admin).await;
                instance_finding(&t.instance_id)
            }
            Case::InstanceOpenedIsolation => {
                let (t, vpc) = crate::run_ec2::target_in_new_vpc(admin).await;
                crate::support::open_isolation_group(admin, &vpc).await;
                instance_finding(&t.instance_id)
            }
            Case::Malware | Case::MalwareImage | Case::MalwareBackup => {
                let of = match self {
                    Case::Malware => crate::run_backup::Of::Volume,
                    Case::MalwareImage => crate::run_backup::Of::Instance,
                    _ => crate::run_backup::Of::Bucket,
                };
                crate::run_backup::point_finding(
                    &crate::run_backup::recovery_point(admin, of).await,
                )
            }
            Case::Snapshot => crate::run_artifact::snapshot_finding(
                &crate::run_artifact::shared_snapshot(admin).await,
            ),
            Case::Database => crate::run_rds::rds_finding(
                &crate::run_rds::database(admin).await,
                "AnomalousBehavior.SuccessfulLogin",
            ),
            Case::DatabaseMasterUser => {
                let db = crate::run_rds::database(admin).await;
                finding_file("rds-successful-login.json", |f| {
                    f["id"] = id;
                    f["resource"]["rdsDbInstanceDetails"]["dbInstanceIdentifier"] =
                        db.id.clone().into();
                    f["resource"]["rdsDbUserDetails"]["user"] = "orders".into();
                })
            }
            Case::Aurora => {
                let db = crate::run_rds::aurora(admin).await;
                let path =
                    crate::run_rds::rds_finding(&db, "AnomalousBehavior.SuccessfulBruteForce");
                let mut f: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
                f["resource"]["rdsDbUserDetails"]["user"] = "orders".into();
                std::fs::write(&path, serde_json::to_vec(&f).unwrap()).unwrap();
                path
            }
            Case::Function => {
                crate::run_lambda::lambda_finding(&crate::run_lambda::function(admin).await)
            }
            Case::MalwareObject => {
                crate::run_quarantine::finding(&crate::run_quarantine::upload(admin).await)
            }
            Case::MalwareObjectCopied => {
                // One quarantine bucket for every run: the copies are under each finding's id.
                let made = firebreak::aws::s3_client(admin)
                    .create_bucket()
                    .bucket(QUARANTINE_BUCKET)
                    .object_lock_enabled_for_bucket(true)
                    .send()
                    .await;
                if let Err(e) = made {
                    let code = e.as_service_error().and_then(|e| {
                        aws_sdk_s3::error::ProvideErrorMetadata::code(e).map(str::to_string)
                    });
                    assert_eq!(code.as_deref(), Some("BucketAlreadyOwnedByYou"), "{e:?}");
                }
                crate::run_quarantine::finding(&crate::run_quarantine::upload(admin).await)
            }
            Case::Image => {
                crate::run_artifact::image_finding(&crate::run_artifact::shared_image(admin).await)
            }
            Case::EcsTaskStopped => {
                crate::run_ecs::ecs_finding(&crate::run_ecs::service_task(admin).await)
            }
            Case::EksRole => {
                crate::run_eks::eks_finding(&crate::run_eks::cluster_with_entry(admin).await)
            }
            Case::EksUser => crate::run_eks::user_finding(admin).await,
            Case::EksNode => crate::run_eks::node_finding(admin).await,
        }
    }

    /// The playbook inputs the case sets besides the alert topic.
    fn inputs(self) -> &'static [&'static str] {
        match self {
            Case::EcsTaskStopped => &[
                "--input",
                "stop_task=true",
                "--input",
                "isolate_service=true",
                "--input",
                "scale_service_to_zero=true",
            ],
            Case::EksRole => &["--input", "restrict_endpoint=true"],
            Case::DatabaseMasterUser | Case::Aurora => &["--input", "rotate_master_password=true"],
            Case::EksNode => &["--input", "revoke_node_role_sessions=true"],
            Case::MalwareObjectCopied => &["--input", "quarantine_bucket=lab-quarantine"],
            _ => &[],
        }
    }
}

fn instance_finding(instance_id: &str) -> PathBuf {
    finding_file("ec2-bitcoin-dns.json", |f| {
        f["id"] = Value::String(unique("finding"));
        f["resource"]["instanceDetails"]["instanceId"] = instance_id.into();
    })
}

/// A moto server with IAM enforcement on: an administrator who sets things up, a responder
/// whose one inline policy the test rewrites, and an alert topic.
struct Lab {
    moto: support::Moto,
    admin: aws_config::SdkConfig,
    responder: (String, String),
    topic: String,
}

impl Lab {
    async fn new() -> Lab {
        let moto = support::private_moto_for_enforcement();
        let iam = aws_sdk_iam::Client::new(&moto.config().await);
        let user_with_key = |name: &'static str, policy: &'static str| {
            let iam = iam.clone();
            async move {
                iam.create_user().user_name(name).send().await.unwrap();
                iam.put_user_policy()
                    .user_name(name)
                    .policy_name("firebreak")
                    .policy_document(policy)
                    .send()
                    .await
                    .unwrap();
                let k = iam
                    .create_access_key()
                    .user_name(name)
                    .send()
                    .await
                    .unwrap();
                let k = k.access_key().unwrap();
                (
                    k.access_key_id().to_string(),
                    k.secret_access_key().to_string(),
                )
            }
        };
        let admin = user_with_key(
            "admin",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
        )
        .await;
        let responder = user_with_key(
            "responder",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#,
        )
        .await;
        let out = Command::new("curl")
            .args([
                "-sf",
                "-X",
                "POST",
                "-H",
                "Content-Type: text/plain",
                "-d",
                "0",
            ])
            .arg(format!("{}/moto-api/reset-auth", moto.endpoint))
            .output()
            .expect("curl");
        assert!(out.status.success(), "switching on IAM enforcement");
        let admin = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&moto.endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sts::config::Credentials::new(
                &admin.0, &admin.1, None, None, "admin",
            ))
            .load()
            .await;
        let topic = aws_sdk_sns::Client::new(&admin)
            .create_topic()
            .name("firebreak-alerts")
            .send()
            .await
            .unwrap()
            .topic_arn()
            .unwrap()
            .to_string();
        Lab {
            moto,
            admin,
            responder,
            topic,
        }
    }

    /// Gives the responder exactly `actions` (with moto's spellings of them), minus
    /// `without` and what moto checks for it.
    async fn grant(&self, actions: &BTreeSet<String>, without: Option<&str>) {
        let taken: Vec<&str> = without
            .into_iter()
            .flat_map(|w| std::iter::once(w).chain(moto_aliases(w).iter().copied()))
            .collect();
        let mut names: Vec<&str> = Vec::new();
        for a in actions {
            names.push(a);
            names.extend(moto_aliases(a));
        }
        names.retain(|n| !taken.contains(n));
        names.sort_unstable();
        names.dedup();
        let iam = aws_sdk_iam::Client::new(&self.admin);
        if names.is_empty() {
            iam.delete_user_policy()
                .user_name("responder")
                .policy_name("firebreak")
                .send()
                .await
                .unwrap();
            return;
        }
        let policy = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": names, "Resource": "*"}],
        });
        iam.put_user_policy()
            .user_name("responder")
            .policy_name("firebreak")
            .policy_document(policy.to_string())
            .send()
            .await
            .unwrap();
    }

    /// `firebreak run` of a fresh `case` as the responder; exit code and JSON report.
    async fn run(&self, case: Case) -> (Option<i32>, Value) {
        let finding = case.make(&self.admin).await;
        let topic = format!("sns_topic_arn={}", self.topic);
        let mut args = vec!["run", "--output", "json", "--input", &topic];
        args.extend_from_slice(case.inputs());
        args.push(finding.to_str().unwrap());
        let out = support::firebreak_env(
            &self.moto.endpoint,
            &args,
            &[
                ("AWS_ACCESS_KEY_ID", self.responder.0.as_str()),
                ("AWS_SECRET_ACCESS_KEY", self.responder.1.as_str()),
            ],
        );
        let report: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{case:?}: {e}: {}", support::stderr(&out)));
        (out.status.code(), report)
    }
}

/// The permissions a run used, each with the steps that used it.
fn used(report: &Value) -> Vec<(String, BTreeSet<String>)> {
    let mut used: Vec<(String, BTreeSet<String>)> = Vec::new();
    for s in report["steps"].as_array().unwrap() {
        for c in s["calls"].as_array().into_iter().flatten() {
            let perm = firebreak::domain::catalog::permission(
                c["service"].as_str().unwrap(),
                c["operation"].as_str().unwrap(),
            );
            let step = s["id"].as_str().unwrap().to_string();
            match used.iter_mut().find(|(p, _)| *p == perm) {
                Some((_, steps)) => {
                    steps.insert(step);
                }
                None => used.push((perm, BTreeSet::from([step]))),
            }
        }
    }
    used
}

/// The permissions AWS checks on a call beside its own, which the emulator does not: tags given
/// as a security group is made need `ec2:CreateTags` (firebreak tags its groups so, and the
/// responder may write rules only in groups with that tag); an object version's tags need the
/// version's permissions (`s3:GetObjectVersionTagging`, `s3:PutObjectVersionTagging`); a
/// master password handed to Secrets Manager, or rotated there, needs Secrets Manager's and
/// KMS's, and a copy reads its source version (`Op::member_permissions`).
/// Printed, used by that call, but not shown failing when taken away: the emulator would not
/// refuse the call (or refuses it under another name, see `moto_aliases`).
fn implied(report: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for s in report["steps"].as_array().unwrap() {
        let version = s["pre_state"]["version_id"]
            .as_str()
            .is_some_and(|v| !v.is_empty());
        for c in s["calls"].as_array().into_iter().flatten() {
            match (c["service"].as_str(), c["operation"].as_str()) {
                (Some("ec2"), Some("CreateSecurityGroup")) => {
                    out.insert("ec2:CreateTags".to_string());
                }
                (Some("s3"), Some("GetObjectTagging")) if version => {
                    out.insert("s3:GetObjectVersionTagging".to_string());
                }
                (Some("s3"), Some("PutObjectTagging")) if version => {
                    out.insert("s3:PutObjectVersionTagging".to_string());
                }
                (Some("s3"), Some("CopyObject")) => {
                    out.extend(
                        firebreak::domain::define::Op::S3CopyObject
                            .member_permissions("CopySource")
                            .iter()
                            .map(|p| p.to_string()),
                    );
                }
                (Some("rds"), Some("ModifyDBInstance" | "ModifyDBCluster"))
                    if s["action"] == "rds.rotate_master_password"
                        || s["action"] == "rds.rotate_cluster_master_password" =>
                {
                    for member in ["ManageMasterUserPassword", "RotateMasterUserPassword"] {
                        out.extend(
                            firebreak::domain::define::Op::RdsModifyDbInstance
                                .member_permissions(member)
                                .iter()
                                .map(|p| p.to_string()),
                        );
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// The whole check for one playbook over the cases that take its paths.
async fn least_privilege(playbook: &str, cases: &[Case]) {
    let printed = support::firebreak_at("http://127.0.0.1:1", &["permissions", playbook]);
    assert_eq!(
        printed.status.code(),
        Some(0),
        "{}",
        support::stderr(&printed)
    );
    let policy: Value = serde_json::from_slice(&printed.stdout).unwrap();
    // Every action the policy grants, narrowed ones included, granted on every resource and
    // without conditions: the emulator evaluates neither a statement's Resource (it checks
    // each request against `*`) nor condition keys other than `sts:ExternalId`. The narrowing
    // itself is checked by `the_deny_all_is_the_one_policy_the_responder_may_attach`.
    let granted: BTreeSet<String> = support::playbook_actions(&policy);

    let lab = Lab::new().await;
    lab.grant(&granted, None).await;
    // With exactly the printed policy every path succeeds; together they use all of it.
    let mut uses: Vec<(String, BTreeSet<String>, Case)> = Vec::new();
    let mut implied_uses = BTreeSet::new();
    for &case in cases {
        let (code, report) = lab.run(case).await;
        assert_eq!(code, Some(0), "{playbook}, {case:?}: {report:#}");
        implied_uses.extend(implied(&report));
        for (perm, steps) in used(&report) {
            assert!(
                granted.contains(&perm),
                "{playbook}, {case:?}: {perm} was used ({steps:?}) but is not in the printed policy"
            );
            if !uses.iter().any(|(p, _, _)| *p == perm) {
                uses.push((perm, steps, case));
            }
        }
    }
    let unused: Vec<&String> = granted
        .iter()
        .filter(|g| !uses.iter().any(|(p, _, _)| p == *g) && !implied_uses.contains(*g))
        .collect();
    assert!(
        unused.is_empty(),
        "{playbook}: printed but used by none of {cases:?}: {unused:?}"
    );

    // Each permission taken away in turn: the path that used it fails, naming step and permission.
    for (perm, steps, case) in &uses {
        lab.grant(&granted, Some(perm)).await;
        let (code, report) = lab.run(*case).await;
        assert_eq!(code, Some(1), "{playbook} without {perm}: {report:#}");
        // The permissions moto cannot tell from this one (see `moto_aliases`).
        let same: Vec<&String> = granted
            .iter()
            .filter(|g| {
                *g == perm
                    || moto_aliases(g)
                        .iter()
                        .any(|a| moto_aliases(perm).contains(a))
            })
            .collect();
        let named = report["steps"].as_array().unwrap().iter().any(|s| {
            let error = s["error"].as_str().unwrap_or_default();
            s["status"] == "failed"
                && (steps.contains(s["id"].as_str().unwrap_or_default()) || same.len() > 1)
                && same.iter().any(|p| error.contains(p.as_str()))
        });
        assert!(
            named,
            "{playbook} without {perm}: one of the steps {steps:?} must fail naming it: {report:#}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn credential_playbook_needs_exactly_its_printed_policy() {
    least_privilege(
        "iam-credential-compromise",
        &[Case::UserKey, Case::InstanceCredentials],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_playbooks_need_exactly_their_printed_policies() {
    least_privilege("s3-public-exposure", &[Case::PublicBucket]).await;
    least_privilege("s3-data-access", &[Case::BucketByUser, Case::BucketByRole]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ec2_playbook_needs_exactly_its_printed_policy() {
    least_privilege(
        "ec2-instance-compromise",
        &[Case::Instance, Case::InstanceOpenedIsolation],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn malware_playbook_needs_exactly_its_printed_policy() {
    least_privilege(
        "malware-artifact",
        &[Case::Malware, Case::MalwareImage, Case::MalwareBackup],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshot_playbook_needs_exactly_its_printed_policy() {
    least_privilege("ebs-snapshot-malware", &[Case::Snapshot]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rds_playbook_needs_exactly_its_printed_policy() {
    least_privilege(
        "rds-compromise",
        &[Case::Database, Case::Aurora, Case::DatabaseMasterUser],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn lambda_playbook_needs_exactly_its_printed_policy() {
    least_privilege("lambda-compromise", &[Case::Function]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_malware_playbook_needs_exactly_its_printed_policy() {
    least_privilege(
        "s3-malware-object",
        &[Case::MalwareObject, Case::MalwareObjectCopied],
    )
    .await;
}

/// ECS task protection is the emulator's stand-in (`scripts/emulator/ecs_tasks.py`), checked
/// under the emulator's enforcement like moto's own calls.
#[tokio::test(flavor = "multi_thread")]
async fn ecs_playbook_needs_exactly_its_printed_policy() {
    least_privilege("ecs-task-compromise", &[Case::EcsTaskStopped]).await;
}

/// EKS access entries and the endpoint's merge are the emulator's stand-ins
/// (`scripts/emulator/eks_clusters.py`), checked under the emulator's enforcement like moto's
/// own calls.
#[tokio::test(flavor = "multi_thread")]
async fn eks_playbook_needs_exactly_its_printed_policy() {
    least_privilege(
        "eks-cluster-compromise",
        &[Case::EksRole, Case::EksUser, Case::EksNode],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn image_playbook_needs_exactly_its_printed_policy() {
    least_privilege("ami-malware", &[Case::Image]).await;
}

/// The catalog listing says which permissions one engine only needs, and `permissions
/// --engine` prints each engine's set.
#[test]
fn engine_only_permissions_are_marked_and_split() {
    let actions = support::firebreak(&["actions"]);
    let text = support::stdout(&actions);
    assert!(
        text.contains("events:PutEvents (Step Functions only)")
            && text.contains("iam:GetAccessKeyLastUsed (local only)"),
        "{text}"
    );
    let actions_of = |engine: &str| -> Vec<String> {
        let out =
            support::firebreak(&["permissions", "ec2-instance-compromise", "--engine", engine]);
        assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        support::playbook_actions(&v).into_iter().collect()
    };
    let (local, sfn) = (actions_of("local"), actions_of("sfn"));
    // `ec2.tag_instance` is defined once: both engines read tags with DescribeTags.
    assert!(
        local.contains(&"ec2:DescribeInstances".into())
            && local.contains(&"ec2:DescribeTags".into())
    );
    assert!(sfn.contains(&"ec2:DescribeTags".into()) && sfn.contains(&"events:PutEvents".into()));
    assert!(!local.contains(&"events:PutEvents".into()));
}

/// With a configuration, `permissions` adds what its incidents call (the investigation,
/// closing the loop, suppression) as a statement of its own; without one, only the playbooks'.
#[test]
fn the_incidents_of_a_configuration_add_their_own_statement() {
    let config = support::config_file(
        "tickets:\n  github:\n    repo: acme/incidents\ntriage:\n  - match: {types: [\"Recon:*\"]}\n    decision: ignore\n    suppress: true\n    reason: expected\n",
    );
    let policy = |args: &[&str]| -> Value {
        let out = support::firebreak(args);
        assert!(out.status.success(), "{}", support::stderr(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let plain = policy(&["permissions", "iam-credential-compromise"]);
    assert!(
        plain["Statement"].as_array().unwrap().iter().all(|s| {
            let sid = s["Sid"].as_str().unwrap();
            sid.starts_with("FirebreakPlaybook") || s["Effect"] == "Deny"
        }),
        "{plain:#}"
    );
    let with = policy(&[
        "permissions",
        "iam-credential-compromise",
        "--config",
        config.to_str().unwrap(),
    ]);
    let statements = with["Statement"].as_array().unwrap();
    let playbook = plain["Statement"].as_array().unwrap();
    assert_eq!(statements[..playbook.len()], playbook[..]);
    assert_eq!(statements.len(), playbook.len() + 1);
    let actions: Vec<&str> = support::statement(&with, "FirebreakIncidents")["Action"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "autoscaling:DescribeAutoScalingInstances",
            "cloudtrail:LookupEvents",
            "elasticloadbalancing:DescribeTargetGroups",
            "elasticloadbalancing:DescribeTargetHealth",
            "guardduty:ArchiveFindings",
            "guardduty:CreateFilter",
            "guardduty:GetFilter",
            "guardduty:GetFindings",
            "guardduty:ListDetectors",
            "guardduty:ListFindings",
            "guardduty:UpdateFindingsFeedback",
            "iam:ListAccountAliases",
            "organizations:ListTagsForResource",
            "securityhub:BatchUpdateFindings",
        ]
    );
}

/// The deny-all is AWS's managed `AWSDenyAll`, attached: the responder may attach that one
/// policy and no other (`iam:PolicyARN`), and may not write a user's inline policy at all, on
/// either engine (an inline-policy write would let whoever holds the role write itself an
/// Allow-all); and every IAM write is denied on the protected roles. (The emulator checks each
/// request against `Resource: *`, so these are read from the printed policy.)
#[test]
fn the_deny_all_is_the_one_policy_the_responder_may_attach() {
    for engine in ["local", "sfn"] {
        let out = support::firebreak(&[
            "permissions",
            "iam-credential-compromise",
            "s3-data-access",
            "--engine",
            engine,
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
        let policy: Value = serde_json::from_slice(&out.stdout).unwrap();
        let text = policy.to_string();
        assert!(!text.contains("iam:PutUserPolicy"), "{policy:#}");
        let open = support::statement(&policy, "FirebreakPlaybook");
        assert!(
            !open["Action"].to_string().contains("iam:AttachUserPolicy"),
            "{policy:#}"
        );
        assert_eq!(
            support::statement(&policy, "FirebreakPlaybookNarrowed1"),
            &serde_json::json!({
                "Sid": "FirebreakPlaybookNarrowed1",
                "Effect": "Allow",
                "Action": "iam:AttachUserPolicy",
                "Resource": "*",
                "Condition": {"ArnEquals": {"iam:PolicyARN": ["arn:aws:iam::aws:policy/AWSDenyAll"]}},
            }),
            "{engine}"
        );
        // And no IAM write reaches firebreak's own roles or the organization's break-glass
        // role, whatever a stolen credential of the responder asks.
        let deny = support::statement(&policy, "FirebreakNeverOnProtectedRoles");
        assert_eq!(deny["Effect"], "Deny");
        let actions = deny["Action"].to_string();
        for write in [
            "iam:AttachUserPolicy",
            "iam:PutRolePolicy",
            "iam:UpdateAccessKey",
        ] {
            assert!(actions.contains(write), "{engine}: {policy:#}");
        }
        assert!(!actions.contains("iam:Get") && !actions.contains("iam:List"));
        let roles = deny["Resource"].to_string();
        for role in [
            "arn:aws:iam::*:role/FirebreakResponder",
            "arn:aws:iam::*:role/*/FirebreakResponder",
            "arn:aws:iam::*:role/firebreak-sfn-*",
            "arn:aws:iam::*:role/OrganizationAccountAccessRole",
        ] {
            assert!(roles.contains(role), "{engine}: {policy:#}");
        }
    }
}

/// Security-group rules are written only in firebreak's own groups (issue 14, item 9): the
/// printed policy grants the rule writes only on groups with firebreak's purpose tag and denies
/// giving that tag but as a group is made (read from the policy: the emulator evaluates neither
/// conditions nor resources). That the groups firebreak makes carry the tag is checked where
/// they are made: `run_ec2` (an instance's isolation) and `parity` (a database's, both engines).
#[test]
fn security_group_rules_are_written_only_in_firebreak_s_own_groups() {
    for engine in ["local", "sfn"] {
        let out = support::firebreak(&[
            "permissions",
            "ec2-instance-compromise",
            "rds-compromise",
            "--engine",
            engine,
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
        let policy: Value = serde_json::from_slice(&out.stdout).unwrap();
        let open = support::statement(&policy, "FirebreakPlaybook")["Action"].to_string();
        assert!(
            !open.contains("SecurityGroupIngress"),
            "{engine}: {policy:#}"
        );
        assert!(
            !open.contains("SecurityGroupEgress"),
            "{engine}: {policy:#}"
        );
        assert!(
            open.contains("ec2:CreateSecurityGroup"),
            "{engine}: {policy:#}"
        );
        let own = support::statement(&policy, "FirebreakPlaybookOwnSecurityGroups");
        assert_eq!(
            own["Condition"],
            serde_json::json!({"StringEquals": {"aws:ResourceTag/firebreak:purpose": "isolation"}}),
            "{engine}"
        );
        assert_eq!(own["Resource"], "arn:aws:ec2:*:*:security-group/*");
        for write in [
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:RevokeSecurityGroupEgress",
            "ec2:RevokeSecurityGroupIngress",
        ] {
            assert!(own["Action"].to_string().contains(write), "{engine}: {own}");
        }
        let deny = support::statement(&policy, "FirebreakPurposeTagOnlyAtCreation");
        assert_eq!(
            deny,
            &serde_json::json!({
                "Sid": "FirebreakPurposeTagOnlyAtCreation",
                "Effect": "Deny",
                "Action": "ec2:CreateTags",
                "Resource": "*",
                "Condition": {
                    "ForAnyValue:StringEquals": {"aws:TagKeys": ["firebreak:purpose"]},
                    "StringNotEquals": {"ec2:CreateAction": ["CreateSecurityGroup"]},
                },
            }),
            "{engine}"
        );
    }
}

/// Given the evidence bucket, the policy denies its bucket writes there (issue 14, item 9):
/// `s3:PutBucketPolicy`, which the S3 playbooks need on any bucket, cannot change the evidence
/// bucket's policy with a stolen responder credential. (Read from the policy: the emulator
/// evaluates no resource.)
#[test]
fn the_evidence_bucket_is_kept_out_of_the_bucket_writes() {
    for engine in ["local", "sfn"] {
        let out = support::firebreak(&[
            "permissions",
            "s3-public-exposure",
            "s3-data-access",
            "--engine",
            engine,
            "--evidence",
            "s3://acme-evidence/incidents",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
        let policy: Value = serde_json::from_slice(&out.stdout).unwrap();
        let deny = support::statement(&policy, "FirebreakNeverOnTheEvidenceBucket");
        assert_eq!(deny["Effect"], "Deny");
        assert_eq!(deny["Resource"], "arn:aws:s3:::acme-evidence");
        let actions = deny["Action"].to_string();
        for write in ["s3:PutBucketPolicy", "s3:PutBucketPublicAccessBlock"] {
            assert!(actions.contains(write), "{engine}: {policy:#}");
        }
        assert!(!actions.contains("s3:Get"), "{engine}: {policy:#}");
    }
    // A quarantine's tag writes are kept off the evidence objects too.
    let out = support::firebreak(&[
        "permissions",
        "s3-malware-object",
        "--evidence",
        "s3://acme-evidence/incidents",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
    let policy: Value = serde_json::from_slice(&out.stdout).unwrap();
    let deny = support::statement(&policy, "FirebreakNeverOnTheEvidenceBucket");
    assert_eq!(
        deny["Resource"],
        serde_json::json!(["arn:aws:s3:::acme-evidence", "arn:aws:s3:::acme-evidence/*"])
    );
    for write in [
        "s3:PutBucketPolicy",
        "s3:PutObjectTagging",
        "s3:PutObjectVersionTagging",
    ] {
        assert!(deny["Action"].to_string().contains(write), "{policy:#}");
    }
    let out = support::firebreak(&["permissions", "--evidence", "/tmp/evidence"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(support::stderr(&out).contains("only an S3 bucket"));
}
