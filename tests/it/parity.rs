//! Parity of the two engines over every catalog action (issue 15): the same plan run by the
//! local engine and by its compiled state machine, each on an emulator of its own seeded
//! alike, gives the same status, the same error code on failure, the same outputs (resource
//! ids, which each emulator draws at random, are compared by kind; times by presence; the
//! outputs a definition declares unavailable on Step Functions are left out) and the same AWS
//! end state. A definition changed for one engine only fails it.
//!
//! `iam.deactivate_mfa_devices` runs without `enabled_after`: the emulator's Step Functions
//! hands an answer's timestamps to the state machine as objects it can neither compare nor
//! write (AWS hands ISO 8601 text), so its later-than Choice cannot run there.
//!
//! `http.webhook` is in it for its status only: the state machine puts an EventBridge event
//! where the local engine POSTs (declared on the definition; its `status` output is
//! unavailable there).
//!
//! Failing cases: most actions fail on a resource that does not exist; those that find nothing
//! to do there fail when AWS refuses their first call, refused by a proxy in front of the
//! emulator that the state machine's SDK tasks pass through too (the emulator sends them to its
//! `MOTO_PORT`, there the proxy's), and the webhook on a URL that is not http(s).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::support::{self, unique};

/// Every action once, on the resources `seed` made (the inputs' defaults, so that both engines
/// bind the same plan: a state machine's inputs are fixed when it is deployed), in the order a
/// containment needs (out of the group before isolation, capture before change).
const PLAYBOOK: &str = r#"name: parity
description: every catalog action, once
match:
  types: ["*:IAMUser/*"]
inputs:
  user_name:
    from: ${{ finding.resource.accessKeyDetails.userName }}
    required: true
  access_key_id:
    from: ${{ finding.resource.accessKeyDetails.accessKeyId }}
    required: true
INPUTS
steps:
  - {id: capture_user, action: iam.capture_user, with: {user_name: "${{ inputs.user_name }}"}}
  - {id: capture_role, action: iam.capture_role, with: {role_name: "${{ inputs.role_name }}"}}
  - id: deactivate_key
    action: iam.deactivate_access_key
    needs: [capture_user]
    with: {user_name: "${{ inputs.user_name }}", access_key_id: "${{ inputs.access_key_id }}"}
  - {id: deny_all, action: iam.deny_all_user, needs: [capture_user], with: {user_name: "${{ inputs.user_name }}"}}
  - {id: password, action: iam.delete_login_profile, needs: [capture_user], with: {user_name: "${{ inputs.user_name }}"}}
  - {id: mfa, action: iam.deactivate_mfa_devices, needs: [capture_user], with: {user_name: "${{ inputs.user_name }}"}}
  - {id: revoke, action: iam.revoke_role_sessions, needs: [capture_role], with: {role_name: "${{ inputs.role_name }}"}}
  - {id: capture_instance, action: ec2.capture_instance, with: {instance_id: "${{ inputs.instance_id }}"}}
  - {id: preserve, action: ec2.preserve_instance, needs: [capture_instance], with: {instance_id: "${{ inputs.instance_id }}"}}
  - id: snapshot
    action: ec2.snapshot_volumes
    needs: [preserve]
    with: {instance_id: "${{ inputs.instance_id }}", tags: {purpose: parity}}
  - {id: detach, action: autoscaling.detach_instance, needs: [preserve], with: {instance_id: "${{ inputs.instance_id }}"}}
  - {id: deregister, action: elbv2.deregister_instance, needs: [preserve], with: {instance_id: "${{ inputs.instance_id }}"}}
  - {id: profile, action: ec2.disassociate_instance_profile, needs: [preserve], with: {instance_id: "${{ inputs.instance_id }}"}}
  - {id: isolate, action: ec2.isolate_instance, needs: [detach, deregister], with: {instance_id: "${{ inputs.instance_id }}"}}
  - id: tag
    action: ec2.tag_instance
    needs: [isolate, snapshot]
    with: {instance_id: "${{ inputs.instance_id }}", tags: {"firebreak:state": contained}}
  - {id: stop, action: ec2.stop_instance, with: {instance_id: "${{ inputs.stop_instance_id }}"}}
  - {id: capture_snapshot, action: ec2.capture_snapshot, with: {snapshot_id: "${{ inputs.snapshot_id }}"}}
  - {id: snapshot_private, action: ec2.make_snapshot_private, needs: [capture_snapshot], with: {snapshot_id: "${{ inputs.snapshot_id }}"}}
  - id: tag_snapshot
    action: ec2.tag_snapshot
    needs: [snapshot_private]
    with: {snapshot_id: "${{ inputs.snapshot_id }}", tags: {"firebreak:quarantine": malware}}
  - {id: capture_image, action: ec2.capture_image, with: {image_id: "${{ inputs.image_id }}"}}
  - {id: image_private, action: ec2.make_image_private, needs: [capture_image], with: {image_id: "${{ inputs.image_id }}"}}
  - id: tag_image
    action: ec2.tag_image
    needs: [image_private]
    with: {image_id: "${{ inputs.image_id }}", tags: {"firebreak:quarantine": malware}}
  - {id: capture_function, action: lambda.capture_function, with: {function_name: "${{ inputs.function_name }}"}}
  - {id: throttle, action: lambda.throttle_function, needs: [capture_function], with: {function_name: "${{ inputs.function_name }}"}}
  - {id: triggers, action: lambda.disable_event_source_mappings, needs: [capture_function], with: {function_name: "${{ inputs.function_name }}"}}
  - {id: url, action: lambda.restrict_function_url, needs: [capture_function], with: {function_name: "${{ inputs.function_name }}"}}
  - {id: public, action: lambda.remove_public_permissions, needs: [url], with: {function_name: "${{ inputs.function_name }}"}}
  - {id: capture_db, action: rds.capture_db_instance, needs: [capture_function], with: {db_instance_id: "${{ inputs.db_instance_id }}"}}
  - id: db_snapshot
    action: rds.snapshot_db_instance
    needs: [capture_db]
    with: {db_instance_id: "${{ inputs.db_instance_id }}", snapshot_id: parity-snapshot}
  - id: cluster_snapshot
    action: rds.snapshot_db_cluster
    needs: [capture_db]
    with: {db_cluster_id: "${{ inputs.db_cluster_id }}", snapshot_id: parity-cluster-snapshot}
  - {id: isolation_group, action: ec2.create_isolation_group, needs: [capture_db], with: {vpc_id: "${{ inputs.empty_vpc_id }}"}}
  - {id: isolation_group_id, action: ec2.capture_isolation_group, needs: [isolation_group], with: {vpc_id: "${{ inputs.empty_vpc_id }}"}}
  - id: isolate_db
    action: rds.isolate_db_instance
    needs: [capture_db, db_snapshot]
    with: {db_instance_id: "${{ inputs.db_instance_id }}", group_id: "${{ inputs.db_isolation_group }}"}
  - {id: db_private, action: rds.make_db_instance_private, needs: [capture_db], with: {db_instance_id: "${{ inputs.db_instance_id }}"}}
  - {id: db_password, action: rds.rotate_master_password, needs: [db_private], with: {db_instance_id: "${{ inputs.db_instance_id }}"}}
  - id: isolate_cluster
    action: rds.isolate_db_cluster
    needs: [cluster_snapshot]
    with: {db_cluster_id: "${{ inputs.db_cluster_id }}", group_id: "${{ inputs.db_isolation_group }}"}
  - {id: cluster_password, action: rds.rotate_cluster_master_password, needs: [isolate_cluster], with: {db_cluster_id: "${{ inputs.db_cluster_id }}"}}
  - {id: capture_bucket, action: s3.capture_bucket, with: {bucket: "${{ inputs.bucket }}"}}
  - {id: block, action: s3.block_public_access, needs: [capture_bucket], with: {bucket: "${{ inputs.bucket }}"}}
  - id: deny_principal
    action: s3.deny_principal
    needs: [capture_bucket]
    with: {bucket: "${{ inputs.bucket }}", principal_arn: "${{ inputs.principal_arn }}"}
  - {id: versioning, action: s3.enable_versioning, needs: [capture_bucket], with: {bucket: "${{ inputs.bucket }}"}}
  - {id: capture_point, action: backup.capture_recovery_point, needs: [capture_bucket], with: {vault: "${{ inputs.vault }}", recovery_point_arn: "${{ inputs.recovery_point }}"}}
  - {id: quarantine_point, action: backup.quarantine_recovery_point, needs: [capture_point], with: {vault: "${{ inputs.vault }}", recovery_point_arn: "${{ inputs.recovery_point }}"}}
  - {id: tag_point, action: backup.tag_recovery_point, needs: [capture_point], with: {vault: "${{ inputs.vault }}", recovery_point_arn: "${{ inputs.recovery_point }}"}}
  - id: copy_object
    action: s3.copy_to_quarantine
    needs: [capture_bucket]
    with: {bucket: "${{ inputs.bucket }}", key: "${{ inputs.object_key }}", version_id: "null", quarantine_bucket: "${{ inputs.quarantine_bucket }}"}
  # After the other edit of the bucket's policy: two read-modify-writes at once lose one. And
  # after the copy, whatever became of it: the quarantine denies reading the object.
  - id: quarantine
    action: s3.quarantine_object
    needs: [deny_principal]
    after: [copy_object]
    with: {bucket: "${{ inputs.bucket }}", key: "${{ inputs.object_key }}"}
  - {id: capture_task, action: ecs.capture_task, needs: [capture_function], with: {cluster: "${{ inputs.ecs_cluster }}", task_arn: "${{ inputs.task_arn }}"}}
  - {id: protect_task, action: ecs.protect_task, needs: [capture_task], with: {cluster: "${{ inputs.ecs_cluster }}", task_arn: "${{ inputs.task_arn }}"}}
  - id: isolate_service
    action: ecs.isolate_service
    needs: [protect_task]
    with: {cluster: "${{ inputs.ecs_cluster }}", service: "${{ inputs.ecs_service }}", group_id: "${{ inputs.ecs_isolation_group }}"}
  - id: scale_service
    action: ecs.scale_service_to_zero
    needs: [isolate_service]
    with: {cluster: "${{ inputs.ecs_cluster }}", service: "${{ inputs.ecs_service }}"}
  - {id: stop_task, action: ecs.stop_task, needs: [scale_service], with: {cluster: "${{ inputs.ecs_cluster }}", task_arn: "${{ inputs.task_arn }}"}}
  - {id: capture_eks, action: eks.capture_cluster, needs: [capture_task], with: {cluster: "${{ inputs.eks_cluster }}"}}
  - id: access_entry
    action: eks.delete_access_entry
    needs: [capture_eks]
    with: {cluster: "${{ inputs.eks_cluster }}", principal_arn: "${{ inputs.eks_principal }}"}
  - id: pod_identity
    action: eks.delete_pod_identity_association
    needs: [capture_eks]
    with: {cluster: "${{ inputs.eks_cluster }}", namespace: payments, service_account: api}
  - {id: restrict_endpoint, action: eks.restrict_endpoint, needs: [capture_eks], with: {cluster: "${{ inputs.eks_cluster }}"}}
  - {id: sns, action: sns.publish, with: {topic_arn: "${{ inputs.topic_arn }}", subject: parity, message: "parity run"}}
  - {id: webhook, action: http.webhook, with: {url: "${{ inputs.webhook_url }}", text: "parity run"}}
"#;

/// The resources of one emulator and the inputs naming them.
struct Seeded {
    user: String,
    key: String,
    inputs: Vec<String>,
}

/// A web server answering every POST with 200, for the local engine's webhook; its URL.
fn webhook_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for mut s in listener.incoming().flatten().take(16) {
            let mut buf = [0u8; 8192];
            let _ = s.read(&mut buf);
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    format!("http://{addr}/hook")
}

impl Seeded {
    /// The inputs as playbook input declarations with these defaults.
    fn inputs_yaml(&self) -> String {
        self.inputs
            .iter()
            .map(|i| {
                let (k, v) = i.split_once('=').unwrap();
                format!("  {k}: {{default: \"{v}\"}}\n")
            })
            .collect()
    }
}

async fn seed(config: &aws_config::SdkConfig, missing: bool) -> Seeded {
    let iam = aws_sdk_iam::Client::new(config);
    if missing {
        // Nothing exists: every action meets a resource that is not there.
        return Seeded {
            user: "no-such-user".into(),
            key: "AKIANOSUCHKEY0000000".into(),
            inputs: vec![
                "role_name=no-such-role".into(),
                "instance_id=i-0000000000000dead".into(),
                "stop_instance_id=i-0000000000000beef".into(),
                "snapshot_id=snap-0000000000000dead".into(),
                "image_id=ami-0000000000000dead".into(),
                "function_name=no-such-function".into(),
                "mapping=00000000-0000-0000-0000-000000000000".into(),
                "db_instance_id=no-such-db".into(),
                "db_cluster_id=no-such-cluster".into(),
                "empty_vpc_id=vpc-0000000000000dead".into(),
                "db_isolation_group=sg-0000000000000dead".into(),
                "bucket=no-such-parity-bucket".into(),
                "object_key=inbox/no-such-object".into(),
                "quarantine_bucket=no-such-parity-quarantine".into(),
                "vault=no-such-parity-vault".into(),
                "recovery_point=arn:aws:backup:us-east-1:123456789012:recovery-point:no-such".into(),
                "ecs_cluster=no-such-cluster".into(),
                "ecs_service=no-such-service".into(),
                "ecs_isolation_group=sg-0000000000000dead".into(),
                "task_arn=arn:aws:ecs:us-east-1:123456789012:task/no-such-cluster/0000000000000000000000000000dead".into(),
                "principal_arn=arn:aws:iam::123456789012:user/no-such-user".into(),
                "eks_cluster=no-such-eks".into(),
                "eks_principal=arn:aws:iam::123456789012:role/no-such-role".into(),
                "topic_arn=arn:aws:sns:us-east-1:123456789012:no-such-topic".into(),
                format!("webhook_url={}", webhook_server()),
            ],
        };
    }
    let user = "parity-user".to_string();
    iam.create_user().user_name(&user).send().await.unwrap();
    let key = iam
        .create_access_key()
        .user_name(&user)
        .send()
        .await
        .unwrap()
        .access_key()
        .unwrap()
        .access_key_id()
        .to_string();
    iam.create_access_key()
        .user_name(&user)
        .send()
        .await
        .unwrap();
    iam.create_login_profile()
        .user_name(&user)
        .password("Firebreak-parity-1")
        .send()
        .await
        .unwrap();
    let mfa = iam
        .create_virtual_mfa_device()
        .virtual_mfa_device_name("parity-mfa")
        .send()
        .await
        .unwrap();
    iam.enable_mfa_device()
        .user_name(&user)
        .serial_number(mfa.virtual_mfa_device().unwrap().serial_number())
        .authentication_code1("123456")
        .authentication_code2("654321")
        .send()
        .await
        .unwrap();
    let t = crate::run_ec2::target(config).await;
    let stop = support::instance(config).await;
    let snapshot = crate::run_artifact::shared_snapshot(config).await;
    let image = crate::run_artifact::shared_image(config).await;
    let function = crate::run_lambda::function(config).await;
    let db = crate::run_rds::database(config).await;
    let db_isolation_group = crate::run_rds::isolation_group(config, &db.vpc).await;
    let rds = aws_sdk_rds::Client::new(config);
    rds.create_db_cluster()
        .db_cluster_identifier("parity-cluster")
        .engine("aurora-postgresql")
        .master_username("parity")
        .master_user_password("Firebreak-parity-1")
        .vpc_security_group_ids(&db.group)
        .send()
        .await
        .unwrap();
    let empty_vpc =
        crate::support::new_vpc(&aws_sdk_ec2::Client::new(config), "10.30.0.0/16").await;
    let s3 = support::s3_client(config);
    let bucket = "parity-bucket".to_string();
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    s3.put_bucket_policy()
        .bucket(&bucket)
        .policy(
            json!({"Version": "2012-10-17", "Statement": [{"Sid": "Public", "Effect": "Allow",
                "Principal": "*", "Action": "s3:GetObject",
                "Resource": format!("arn:aws:s3:::{bucket}/*")}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    s3.put_object()
        .bucket(&bucket)
        .key("inbox/invoice.pdf.exe")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"malware"))
        .tagging("team=billing")
        .send()
        .await
        .unwrap();
    s3.create_bucket()
        .bucket("parity-quarantine")
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .unwrap();
    let point = crate::run_backup::recovery_point(config, crate::run_backup::Of::Bucket).await;
    // Fixed names: each engine's emulator holds its own, and the outputs name them.
    let task = crate::run_ecs::task_named(config, "parity", true).await;
    let task_isolation_group = crate::run_rds::isolation_group(config, &task.vpc).await;
    let eks = crate::run_eks::cluster_named(config, "parity-eks").await;
    let topic = aws_sdk_sns::Client::new(config)
        .create_topic()
        .name("parity-alerts")
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_string();
    Seeded {
        inputs: vec![
            format!("role_name={}", t.role),
            format!("instance_id={}", t.instance_id),
            format!("stop_instance_id={stop}"),
            format!("snapshot_id={snapshot}"),
            format!("image_id={image}"),
            format!("function_name={}", function.name),
            format!("mapping={}", function.mapping),
            format!("db_instance_id={}", db.id),
            "db_cluster_id=parity-cluster".into(),
            format!("empty_vpc_id={empty_vpc}"),
            format!("db_isolation_group={db_isolation_group}"),
            format!("bucket={bucket}"),
            "object_key=inbox/invoice.pdf.exe".into(),
            "quarantine_bucket=parity-quarantine".into(),
            format!("vault={}", point.vault),
            format!("recovery_point={}", point.arn),
            format!("ecs_cluster={}", task.cluster),
            format!("ecs_service={}", task.service.clone().unwrap_or_default()),
            format!("ecs_isolation_group={task_isolation_group}"),
            format!("task_arn={}", task.arn),
            format!("principal_arn=arn:aws:iam::123456789012:user/{user}"),
            format!("eks_cluster={}", eks.name),
            format!("eks_principal={}", eks.role_arn),
            format!("topic_arn={topic}"),
            format!("webhook_url={}", webhook_server()),
        ],
        user,
        key,
    }
}

/// A value with what differs between two emulators by chance replaced by its kind: generated
/// ids (`i-…`, `snap-…`, `sg-…`, …), ARNs holding them, times.
fn normalize(v: &Value) -> Value {
    match v {
        Value::String(s) => {
            let id = |p: &str| {
                s.strip_prefix(p).is_some_and(|rest| {
                    !rest.is_empty() && rest.chars().all(|c| c.is_ascii_hexdigit())
                })
            };
            for p in ["i-", "snap-", "sg-", "eni-", "vol-", "vpc-", "subnet-"] {
                if id(p) {
                    return json!(format!("{p}*"));
                }
            }
            // RFC 3339, with `Z` or (a state machine's `$$.State.EnteredTime`) `+00:00`.
            let time = s.len() >= 20
                && s.as_bytes()[4] == b'-'
                && s.as_bytes()[10] == b'T'
                && (s.ends_with('Z') || s.ends_with("+00:00"));
            if time {
                return json!("<time>");
            }
            // The secret RDS makes for a master password is named by a UUID it draws.
            if let Some((region_account, _)) = s
                .strip_prefix("arn:aws:secretsmanager:")
                .and_then(|rest| rest.split_once(":secret:rds!"))
            {
                return json!(format!(
                    "arn:aws:secretsmanager:{region_account}:secret:rds!*"
                ));
            }
            // Access key ids are drawn by the emulator.
            if s.len() == 20 && s.starts_with("AKIA") {
                return json!("AKIA*");
            }
            // Event source mappings' UUIDs and function URLs' hosts are drawn by the emulator.
            // (Before the names: a UUID whose last two groups are digits looks like one.)
            let uuid = s.len() == 36
                && s.chars().enumerate().all(|(i, c)| {
                    if [8, 13, 18, 23].contains(&i) {
                        c == '-'
                    } else {
                        c.is_ascii_hexdigit()
                    }
                });
            if uuid {
                return json!("<uuid>");
            }
            // Names made unique per test process (`support::unique`): `web-asg-123-4`.
            let parts: Vec<&str> = s.rsplitn(3, '-').collect();
            if let [n, pid, rest] = parts.as_slice()
                && !n.is_empty()
                && n.chars().all(|c| c.is_ascii_digit())
                && !pid.is_empty()
                && pid.chars().all(|c| c.is_ascii_digit())
            {
                return json!(format!("{rest}-*"));
            }
            if s.starts_with("https://") && s.contains(".lambda-url.") {
                return json!("https://*.lambda-url…");
            }
            if s.starts_with("arn:") && s.contains(":instance-profile/") {
                return json!("arn:…:instance-profile/*");
            }
            // A target group's ARN ends with its name and an id the emulator draws.
            if s.starts_with("arn:") && s.contains(":targetgroup/") {
                return json!("arn:…:targetgroup/*");
            }
            json!(s)
        }
        Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), normalize(v))).collect())
        }
        other => other.clone(),
    }
}

/// One step's status, error code and outputs, comparable across engines.
fn summary(report: &Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for s in report["steps"].as_array().expect("steps") {
        let action =
            firebreak::domain::catalog::Action::from_name(s["action"].as_str().unwrap()).unwrap();
        let mut outputs = s["outputs"].as_object().cloned().unwrap_or_default();
        for o in action.spec().sfn_unavailable() {
            outputs.remove(o);
        }
        // SNS draws a message id.
        if let Some(m) = outputs.get_mut("message_id") {
            *m = json!(m.is_string());
        }
        out.insert(
            s["id"].as_str().unwrap().to_string(),
            json!({"status": s["status"], "error_code": s["error_code"],
                "outputs": normalize(&Value::Object(outputs))}),
        );
    }
    out
}

/// What AWS holds after the run, read the same way for both engines.
async fn end_state(config: &aws_config::SdkConfig, seeded: &Seeded) -> Value {
    let iam = aws_sdk_iam::Client::new(config);
    let keys: Vec<(bool, String)> = iam
        .list_access_keys()
        .user_name(&seeded.user)
        .send()
        .await
        .map(|k| {
            k.access_key_metadata()
                .iter()
                .map(|m| {
                    (
                        m.access_key_id() == Some(seeded.key.as_str()),
                        m.status()
                            .map(|s| s.as_str().to_string())
                            .unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let policies = iam
        .list_user_policies()
        .user_name(&seeded.user)
        .send()
        .await
        .map(|p| p.policy_names().to_vec())
        .unwrap_or_default();
    let attached: Vec<String> = iam
        .list_attached_user_policies()
        .user_name(&seeded.user)
        .send()
        .await
        .map(|p| {
            p.attached_policies()
                .iter()
                .filter_map(|a| a.policy_arn().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let login = iam
        .get_login_profile()
        .user_name(&seeded.user)
        .send()
        .await
        .is_ok();
    let mfa = iam
        .list_mfa_devices()
        .user_name(&seeded.user)
        .send()
        .await
        .map(|d| d.mfa_devices().len())
        .unwrap_or_default();
    let input = |name: &str| {
        seeded
            .inputs
            .iter()
            .find_map(|i| i.strip_prefix(&format!("{name}=")))
            .unwrap_or_default()
            .to_string()
    };
    let role_policies = iam
        .list_role_policies()
        .role_name(input("role_name"))
        .send()
        .await
        .map(|p| p.policy_names().to_vec())
        .unwrap_or_default();
    let ec2 = aws_sdk_ec2::Client::new(config);
    let instance = ec2
        .describe_instances()
        .instance_ids(input("instance_id"))
        .send()
        .await
        .ok();
    let (groups, tags) = instance
        .as_ref()
        .and_then(|d| d.reservations().first()?.instances().first().cloned())
        .map(|i| {
            let groups: Vec<String> = i
                .security_groups()
                .iter()
                .filter_map(|g| g.group_name().map(str::to_string))
                .collect();
            let mut tags: Vec<String> = i
                .tags()
                .iter()
                .map(|t| format!("{}={}", t.key().unwrap_or(""), t.value().unwrap_or("")))
                .collect();
            tags.sort();
            (groups, tags)
        })
        .unwrap_or_default();
    let stopped = ec2
        .describe_instances()
        .instance_ids(input("stop_instance_id"))
        .send()
        .await
        .ok()
        .and_then(|d| {
            d.reservations()
                .first()?
                .instances()
                .first()?
                .state()?
                .name()
                .map(|n| matches!(n.as_str(), "stopped" | "stopping"))
        });
    let attribute = |name: aws_sdk_ec2::types::InstanceAttributeName| {
        ec2.describe_instance_attribute()
            .instance_id(input("instance_id"))
            .attribute(name)
            .send()
    };
    let protected = attribute(aws_sdk_ec2::types::InstanceAttributeName::DisableApiTermination)
        .await
        .ok()
        .and_then(|a| a.disable_api_termination().and_then(|v| v.value()));
    let shutdown =
        attribute(aws_sdk_ec2::types::InstanceAttributeName::InstanceInitiatedShutdownBehavior)
            .await
            .ok()
            .and_then(|a| {
                a.instance_initiated_shutdown_behavior()
                    .and_then(|v| v.value().map(str::to_string))
            });
    let profiles = ec2
        .describe_iam_instance_profile_associations()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("instance-id")
                .values(input("instance_id"))
                .build(),
        )
        .send()
        .await
        .map(|r| {
            r.iam_instance_profile_associations()
                .iter()
                .filter_map(|a| a.state().map(|s| s.as_str().to_string()))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let snapshots = ec2
        .describe_snapshots()
        .owner_ids("self")
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:purpose")
                .values("parity")
                .build(),
        )
        .send()
        .await
        .map(|s| s.snapshots().len())
        .unwrap_or_default();
    let snapshot_shares = ec2
        .describe_snapshot_attribute()
        .snapshot_id(input("snapshot_id"))
        .attribute(aws_sdk_ec2::types::SnapshotAttributeName::CreateVolumePermission)
        .send()
        .await
        .map(|a| a.create_volume_permissions().len())
        .ok();
    let image_shares = ec2
        .describe_image_attribute()
        .image_id(input("image_id"))
        .attribute(aws_sdk_ec2::types::ImageAttributeName::LaunchPermission)
        .send()
        .await
        .map(|a| a.launch_permissions().len())
        .ok();
    let artifact_tags = ec2
        .describe_tags()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("key")
                .values("firebreak:quarantine")
                .build(),
        )
        .send()
        .await
        .map(|t| t.tags().len())
        .unwrap_or_default();
    let lambda = aws_sdk_lambda::Client::new(config);
    let reserved = lambda
        .get_function_concurrency()
        .function_name(input("function_name"))
        .send()
        .await
        .ok()
        .and_then(|c| c.reserved_concurrent_executions());
    let mapping_state = lambda
        .get_event_source_mapping()
        .uuid(input("mapping"))
        .send()
        .await
        .ok()
        .and_then(|m| m.state().map(str::to_string));
    let url_auth = lambda
        .get_function_url_config()
        .function_name(input("function_name"))
        .send()
        .await
        .ok()
        .map(|u| u.auth_type().as_str().to_string());
    let public_statements =
        crate::run_lambda::public_statements(config, &input("function_name")).await;
    let rds = aws_sdk_rds::Client::new(config);
    let db = rds
        .describe_db_instances()
        .db_instance_identifier(input("db_instance_id"))
        .send()
        .await
        .ok();
    let db = db.as_ref().and_then(|r| r.db_instances().first());
    let db_groups: Vec<String> = db
        .map(|i| i.vpc_security_groups())
        .unwrap_or_default()
        .iter()
        .map(|g| format!("{:?}", g.status()))
        .collect();
    let db_public = db.and_then(|i| i.publicly_accessible());
    // Whether Secrets Manager keeps the master password, and the tags.
    let db_password = db.map(|i| {
        let tags: Vec<(String, String)> = i
            .tag_list()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap_or_default().to_string(),
                    t.value().unwrap_or_default().to_string(),
                )
            })
            .collect();
        json!({"managed": i.master_user_secret().is_some(), "tags": normalize(&json!(tags))})
    });
    let cluster_groups: Vec<String> = rds
        .describe_db_clusters()
        .db_cluster_identifier(input("db_cluster_id"))
        .send()
        .await
        .map(|r| {
            r.db_clusters()
                .iter()
                .flat_map(|c| c.vpc_security_groups())
                .map(|g| format!("{:?}", g.status()))
                .collect()
        })
        .unwrap_or_default();
    // Whether the cluster's master password is in Secrets Manager.
    let cluster_password = rds
        .describe_db_clusters()
        .db_cluster_identifier(input("db_cluster_id"))
        .send()
        .await
        .ok()
        .map(|r| {
            r.db_clusters()
                .iter()
                .any(|c| c.master_user_secret().is_some())
        });
    let db_snapshots = rds
        .describe_db_snapshots()
        .db_snapshot_identifier("parity-snapshot")
        .send()
        .await
        .map(|r| r.db_snapshots().len())
        .unwrap_or_default();
    let cluster_snapshots = rds
        .describe_db_cluster_snapshots()
        .db_cluster_snapshot_identifier("parity-cluster-snapshot")
        .send()
        .await
        .map(|r| r.db_cluster_snapshots().len())
        .unwrap_or_default();
    // The group's id is drawn by each emulator: its rules are compared.
    let isolation = crate::run_rds::isolation_group_state(config, &input("empty_vpc_id")).await;
    // And its tag: the responder may write rules only in groups firebreak made with it.
    let purpose = crate::run_rds::isolation_group_purpose(config, &input("empty_vpc_id")).await;
    assert!(
        isolation.is_null() || purpose == "isolation",
        "{isolation} {purpose}"
    );
    let isolation_rules = json!([isolation["rules_in"], isolation["rules_out"], purpose]);
    let s3 = support::s3_client(config);
    let bucket = input("bucket");
    let block = s3
        .get_public_access_block()
        .bucket(&bucket)
        .send()
        .await
        .ok()
        .and_then(|b| b.public_access_block_configuration().cloned())
        .map(|c| {
            [
                c.block_public_acls(),
                c.ignore_public_acls(),
                c.block_public_policy(),
                c.restrict_public_buckets(),
            ]
        });
    let versioning = s3
        .get_bucket_versioning()
        .bucket(&bucket)
        .send()
        .await
        .ok()
        .and_then(|v| v.status().map(|s| s.as_str().to_string()));
    let policy = s3
        .get_bucket_policy()
        .bucket(&bucket)
        .send()
        .await
        .ok()
        .and_then(|p| p.policy().map(str::to_string))
        .and_then(|p| serde_json::from_str::<Value>(&p).ok());
    let object_tags: Option<Vec<(String, String)>> = s3
        .get_object_tagging()
        .bucket(&bucket)
        .key(input("object_key"))
        .send()
        .await
        .ok()
        .map(|t| {
            t.tag_set()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect()
        });
    // The copies in the quarantine bucket (under the finding's id, which each run draws) and
    // their legal holds.
    let mut copies = Vec::new();
    if let Ok(list) = s3
        .list_objects_v2()
        .bucket(input("quarantine_bucket"))
        .send()
        .await
    {
        for o in list.contents() {
            let key = o.key().unwrap_or_default();
            let hold = s3
                .get_object_legal_hold()
                .bucket(input("quarantine_bucket"))
                .key(key)
                .send()
                .await
                .ok()
                .and_then(|h| h.legal_hold().and_then(|h| h.status().cloned()));
            let (_, rest) = key.split_once('/').unwrap_or_default();
            copies.push(json!([rest, format!("{hold:?}")]));
        }
    }
    // The recovery point's vault policy, the point named alike (each emulator draws its id).
    let vault_policy = aws_sdk_backup::Client::new(config)
        .get_backup_vault_access_policy()
        .backup_vault_name(input("vault"))
        .send()
        .await
        .ok()
        .and_then(|p| {
            p.policy()
                .map(|p| p.replace(&input("recovery_point"), "<recovery point>"))
        })
        .and_then(|p| serde_json::from_str::<Value>(&p).ok())
        .map(|p| normalize(&p));
    // Its tags (the finding's id drawn per run: present or not).
    let point_tags = aws_sdk_backup::Client::new(config)
        .list_tags()
        .resource_arn(input("recovery_point"))
        .send()
        .await
        .ok()
        .and_then(|t| t.tags().cloned())
        .map(|t| {
            t.into_iter()
                .map(|(k, v)| {
                    if k == "firebreak:finding-id" {
                        (k, "<finding>".to_string())
                    } else {
                        (k, v)
                    }
                })
                .collect::<std::collections::BTreeMap<_, _>>()
        });
    let (task_desired, task_protected) =
        crate::run_ecs::task_state(config, &input("ecs_cluster"), &input("task_arn")).await;
    // The service's groups (ids drawn by each emulator: compared by kind) and desired count.
    let service: Option<Value> = aws_sdk_ecs::Client::new(config)
        .describe_services()
        .cluster(input("ecs_cluster"))
        .services(input("ecs_service"))
        .send()
        .await
        .ok()
        .and_then(|r| {
            r.services().first().map(|s| {
                let groups = s
                    .network_configuration()
                    .and_then(|n| n.awsvpc_configuration())
                    .map(|v| v.security_groups().to_vec())
                    .unwrap_or_default();
                json!({"groups": normalize(&json!(groups)), "desired": s.desired_count()})
            })
        });
    // The cluster's access entry and endpoint.
    let eks = aws_sdk_eks::Client::new(config);
    let access_entry = eks
        .describe_access_entry()
        .cluster_name(input("eks_cluster"))
        .principal_arn(input("eks_principal"))
        .send()
        .await
        .is_ok();
    let endpoint_public = eks
        .describe_cluster()
        .name(input("eks_cluster"))
        .send()
        .await
        .ok()
        .and_then(|c| {
            c.cluster()
                .and_then(|c| c.resources_vpc_config())
                .map(|v| v.endpoint_public_access())
        });
    let pod_identity = crate::run_eks::has_pod_identity(config, &input("eks_cluster")).await;
    json!({
        "access_entry": access_entry, "endpoint_public": endpoint_public, "pod_identity": pod_identity,
        "object_tags": object_tags, "copies": copies, "vault_policy": vault_policy, "point_tags": point_tags, "task_desired": task_desired, "task_protected": task_protected, "service": service,
        "keys": keys, "user_policies": policies, "user_attached": attached, "login_profile": login, "mfa_devices": mfa,
        "role_policies": role_policies, "instance_groups": groups, "instance_tags": tags,
        "stopped": stopped, "snapshots": snapshots, "public_access_block": format!("{block:?}"),
        "versioning": versioning, "bucket_policy": policy, "profile_associations": profiles,
        "termination_protection": protected, "shutdown_behavior": shutdown,
        "snapshot_shares": snapshot_shares, "image_shares": image_shares,
        "artifact_tags": artifact_tags, "reserved_concurrency": reserved,
        "mapping_state": mapping_state, "url_auth": url_auth, "public_statements": public_statements, "db_groups": db_groups, "db_public": db_public, "db_password": db_password,
        "db_snapshots": db_snapshots, "cluster_snapshots": cluster_snapshots,
        "isolation_rules": isolation_rules, "cluster_groups": cluster_groups, "cluster_password": cluster_password,
    })
}

async fn run_engine(
    engine: &str,
    missing: bool,
) -> (BTreeMap<String, Value>, Value, Value, Vec<String>) {
    // Object requests authorised as S3 does: the quarantine's deny is on a tag.
    let moto = support::private_emulator();
    crate::asl::enable_sfn(&moto);
    let config = moto.config().await;
    let seeded = seed(&config, missing).await;
    let inputs = seeded.inputs_yaml();
    let dir = std::env::temp_dir().join(unique("parity-playbooks"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("parity.yaml"),
        PLAYBOOK.replace("INPUTS\n", &inputs),
    )
    .unwrap();
    let dir = dir.to_str().unwrap();
    let finding = support::leaked_key_finding(None, &seeded.user, &seeded.key);
    let finding = finding.to_str().unwrap().to_string();
    let fb = |args: &[&str]| support::firebreak_at(&moto.endpoint, args);
    let out = if engine == "sfn" {
        // Deployed as `firebreak deploy` does, with the one service name the emulator spells
        // its own way (`elbv2`) translated.
        support::deploy_dir(&config, dir).await;
        fb(&[
            "run",
            "--engine",
            "sfn",
            "--playbooks",
            dir,
            "--output",
            "json",
            &finding,
        ])
    } else {
        fb(&["run", "--playbooks", dir, "--output", "json", &finding])
    };
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{engine}: {e}\n{}{}",
            support::stdout(&out),
            support::stderr(&out)
        )
    });
    let state = end_state(&config, &seeded).await;
    if std::env::var_os("PARITY_DEBUG").is_some() {
        eprintln!("{engine}: {report:#}");
    }
    // What each engine printed of its progress (steps run at once end in any order).
    let mut progress = crate::asl::progress_shape(&support::stderr(&out));
    progress.sort();
    (summary(&report), state, report, progress)
}

fn assert_same(what: &str, local: &BTreeMap<String, Value>, sfn: &BTreeMap<String, Value>) {
    let mut differ = Vec::new();
    for (id, l) in local {
        let s = sfn.get(id).cloned().unwrap_or(Value::Null);
        if *l != s {
            differ.push(format!("  {id}:\n    local {l}\n    sfn   {s}"));
        }
    }
    assert!(
        differ.is_empty(),
        "{what}: the engines differ on {} step(s):\n{}",
        differ.len(),
        differ.join("\n")
    );
}

/// Every action succeeds alike on a seeded account, and leaves the same end state.
#[tokio::test(flavor = "multi_thread")]
async fn every_action_succeeds_alike_on_both_engines() {
    let (local, local_state, report, local_progress) = run_engine("local", false).await;
    for (id, s) in &local {
        assert_eq!(s["status"], "succeeded", "local {id}: {report:#}");
    }
    let covered: std::collections::BTreeSet<String> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap().to_string())
        .collect();
    for a in firebreak::domain::catalog::Action::ALL {
        assert!(
            covered.contains(a.spec().name),
            "{a} is not in the parity playbook"
        );
    }
    let (sfn, sfn_state, _, sfn_progress) = run_engine("sfn", false).await;
    assert_same("success", &local, &sfn);
    assert_eq!(local_state, sfn_state, "the end states differ");
    assert_eq!(
        local_progress, sfn_progress,
        "the engines print their progress differently"
    );
}

/// Playbooks of one step each, every action against resources that do not exist (from
/// `PLAYBOOK`, whose steps name every action once): each fails on its own.
fn failing_playbooks(dir: &std::path::Path, inputs: &str) -> Vec<(String, String)> {
    let steps = PLAYBOOK.split_once("steps:\n").unwrap().1;
    let head = PLAYBOOK
        .split_once("steps:\n")
        .unwrap()
        .0
        .replace("INPUTS\n", inputs);
    let mut out = Vec::new();
    for (i, step) in steps.split("\n  - ").enumerate() {
        let step = step.trim_start_matches("  - ").trim_end();
        // One step alone: no needs.
        let mut step = step.to_string();
        while let Some(at) = step.find(", needs: [") {
            let end = at + step[at..].find(']').unwrap() + 1;
            step.replace_range(at..end, "");
        }
        let step = step
            .lines()
            .filter(|l| {
                !l.trim_start().starts_with("needs:") && !l.trim_start().starts_with("after:")
            })
            .collect::<Vec<_>>()
            .join("\n");
        let name = format!("parity-fail-{i}");
        // Distinct priorities: the playbooks all match the finding (each is named in `run`).
        let text = head.replacen("name: parity", &format!("name: {name}\npriority: {i}"), 1)
            + "steps:\n  - "
            + &step
            + "\n";
        std::fs::write(dir.join(format!("{name}.yaml")), text).unwrap();
        let id = step
            .split_once("id: ")
            .unwrap()
            .1
            .split([',', '\n'])
            .next()
            .unwrap()
            .to_string();
        out.push((name, id));
    }
    out
}

/// The emulator interpreter's own failure, now and then, when an error leaves a Parallel
/// branch (as the reads of `ec2.capture_instance` are): it names the
/// error `States.Runtime`, refuses that as a custom error name and ends the execution. AWS does
/// not do this; for such a step only the status is compared.
const MOTO_BRANCH_CRASH: &str = "Custom Error Names MUST NOT begin with the prefix 'States.'";

/// The actions that succeed, alike on both engines, with nothing to do when their resource is
/// not there: an instance in no group, with no profile, no volume or no target group; a user
/// with no console password (IAM answers NoSuchEntity for both); and the webhook, whose
/// server is up.
const NOTHING_TO_DO: &[&str] = &[
    "autoscaling.detach_instance",
    "ec2.capture_isolation_group",
    "ec2.disassociate_instance_profile",
    "ec2.snapshot_volumes",
    "elbv2.deregister_instance",
    "http.webhook",
    "iam.delete_login_profile",
    "lambda.disable_event_source_mappings",
    "lambda.remove_public_permissions",
    "lambda.restrict_function_url",
];

/// The first call of each action that finds nothing to do on a resource that is not there,
/// refused by the proxy in front of the emulator (on both engines alike: the state machine's
/// SDK tasks go through it too): each such action then fails, and must fail alike.
/// (`http.webhook` is not among them: the state machine puts an EventBridge event where the
/// local engine POSTs, so no one refusal reaches both; its failing case is a URL that is not
/// http(s), [`NOT_A_WEBHOOK`], which both refuse before sending anything.)
const REFUSED_FIRST_CALLS: &[(&str, &str)] = &[
    (
        "autoscaling.detach_instance",
        "DescribeAutoScalingInstances",
    ),
    (
        "ec2.disassociate_instance_profile",
        "DescribeIamInstanceProfileAssociations",
    ),
    ("ec2.snapshot_volumes", "DescribeVolumes"),
    ("ec2.capture_isolation_group", "DescribeSecurityGroups"),
    ("elbv2.deregister_instance", "DescribeTargetGroups"),
    ("iam.delete_login_profile", "GetLoginProfile"),
    (
        "lambda.disable_event_source_mappings",
        "ListEventSourceMappings",
    ),
    ("lambda.restrict_function_url", "GetFunctionUrlConfig"),
    ("lambda.remove_public_permissions", "GetPolicy"),
];

/// The webhook URL of the failing runs with `refused`.
const NOT_A_WEBHOOK: &str = "ftp://firebreak.invalid/hook";

/// Every action alone against resources that do not exist, each step's report by id; with
/// `refused`, only the actions of [`REFUSED_FIRST_CALLS`], their first calls refused, and
/// `http.webhook` with [`NOT_A_WEBHOOK`].
async fn run_failing(engine: &str, refused: bool) -> BTreeMap<String, Value> {
    let (moto, proxy) = if refused {
        let faults = crate::fault_proxy::Faults {
            every: 0,
            deny_actions: REFUSED_FIRST_CALLS
                .iter()
                .map(|(_, op)| op.to_string())
                .collect(),
            deny_body: None,
            long_denial: false,
            bucket_owner: None,
            snapshot_states: Vec::new(),
        };
        let (moto, proxy) = support::private_moto_behind(faults);
        (moto, Some(proxy))
    } else {
        (support::private_emulator(), None)
    };
    let endpoint = proxy
        .as_ref()
        .map_or(moto.endpoint.clone(), |p| p.endpoint.clone());
    crate::asl::enable_sfn(&moto);
    let config = moto.config().await;
    let mut seeded = seed(&config, true).await;
    if refused {
        for i in &mut seeded.inputs {
            if i.starts_with("webhook_url=") {
                *i = format!("webhook_url={NOT_A_WEBHOOK}");
            }
        }
    }
    let inputs = seeded.inputs_yaml();
    let dir = std::env::temp_dir().join(unique("parity-fail-playbooks"));
    std::fs::create_dir_all(&dir).unwrap();
    let playbooks = failing_playbooks(&dir, &inputs);
    let dir = dir.to_str().unwrap();
    let set = firebreak::domain::playbook::load_dir(&[dir]);
    assert!(
        set.diagnostics
            .iter()
            .all(|d| d.severity != firebreak::domain::diag::Severity::Error),
        "{:?}",
        set.diagnostics
    );
    if engine == "sfn" {
        support::deploy_dir(&config, dir).await;
    }
    let finding = support::leaked_key_finding(None, &seeded.user, &seeded.key);
    let finding = finding.to_str().unwrap().to_string();
    let mut out = BTreeMap::new();
    for (name, id) in &playbooks {
        let text = std::fs::read_to_string(format!("{dir}/{name}.yaml")).unwrap();
        if refused
            && !REFUSED_FIRST_CALLS
                .iter()
                .map(|(action, _)| *action)
                .chain(["http.webhook"])
                .any(|action| text.contains(&format!("action: {action}")))
        {
            continue;
        }
        let mut args = vec![
            "run",
            "--playbooks",
            dir,
            "--playbook",
            name.as_str(),
            "--output",
            "json",
        ];
        if engine == "sfn" {
            args.extend(["--engine", "sfn"]);
        }
        args.push(&finding);
        let run = support::firebreak_at(&endpoint, &args);
        let report: Value = serde_json::from_slice(&run.stdout).unwrap_or_else(|e| {
            panic!(
                "{engine} {name}: {e}\n{}{}",
                support::stdout(&run),
                support::stderr(&run)
            )
        });
        let step = report["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id.as_str())
            .cloned()
            .unwrap_or_else(|| panic!("{engine} {name}: no step {id}: {report:#}"));
        out.insert(id.clone(), step);
    }
    out
}

/// Every action meets a resource that does not exist, alone: the same status and error code
/// on both engines. (EC2's errors reach Step Functions without their code, as `Ec2Exception`:
/// there the state machine's cause must carry the local error's message.)
#[tokio::test(flavor = "multi_thread")]
async fn every_action_fails_alike_on_both_engines() {
    let local = run_failing("local", false).await;
    let sfn = run_failing("sfn", false).await;
    let differ = differences(&local, &sfn);
    assert!(
        differ.is_empty(),
        "the engines fail differently:\n{}",
        differ.join("\n")
    );
    // Most actions fail on a resource that is not there; these find nothing to do.
    let mut nothing_to_do: Vec<String> = local
        .values()
        .filter(|l| l["status"] != "failed")
        .map(|l| l["action"].as_str().unwrap().to_string())
        .collect();
    nothing_to_do.sort();
    assert_eq!(nothing_to_do, NOTHING_TO_DO, "{local:#?}");
}

/// The actions that find nothing to do above fail alike when AWS refuses their first call
/// (AccessDenied, EC2's UnauthorizedOperation), injected by a proxy both engines' calls
/// pass through; the webhook on a URL that is not http(s).
#[tokio::test(flavor = "multi_thread")]
async fn every_action_with_nothing_to_do_fails_alike_when_aws_refuses_it() {
    let local = run_failing("local", true).await;
    let sfn = run_failing("sfn", true).await;
    let ran: Vec<&str> = local
        .values()
        .map(|l| l["action"].as_str().unwrap())
        .collect();
    let mut want: Vec<&str> = REFUSED_FIRST_CALLS
        .iter()
        .map(|(a, _)| *a)
        .chain(["http.webhook"])
        .collect();
    want.sort();
    let mut ran_sorted = ran.clone();
    ran_sorted.sort();
    assert_eq!(ran_sorted, want);
    // Together with the test above: every action has a failing case on both engines.
    let mut failing: Vec<&str> = NOTHING_TO_DO.to_vec();
    failing.sort();
    assert_eq!(failing, want);
    for (id, l) in &local {
        assert_eq!(l["status"], "failed", "local {id}: {l:#}");
        let code = l["error_code"].as_str().unwrap_or("");
        let want = if l["action"] == "http.webhook" {
            "InvalidParameter"
        } else if l["action"].as_str().is_some_and(|a| a.starts_with("ec2.")) {
            "UnauthorizedOperation"
        } else if l["action"]
            .as_str()
            .is_some_and(|a| a.starts_with("lambda."))
        {
            // Lambda's own name for it.
            "AccessDeniedException"
        } else {
            "AccessDenied"
        };
        assert_eq!(code, want, "local {id}: {l:#}");
    }
    let differ = differences(&local, &sfn);
    assert!(
        differ.is_empty(),
        "the engines fail differently:\n{}",
        differ.join("\n")
    );
}

/// The steps whose status or error code differ between the engines.
fn differences(local: &BTreeMap<String, Value>, sfn: &BTreeMap<String, Value>) -> Vec<String> {
    let mut differ = Vec::new();
    for (id, l) in local {
        let s = &sfn[id];
        let action = l["action"].as_str().unwrap();
        if s["error"]
            .as_str()
            .is_some_and(|e| e.contains(MOTO_BRANCH_CRASH))
        {
            assert_eq!(l["status"], "failed", "{id}: {l:#}");
            assert_eq!(s["status"], "failed", "{id}: {s:#}");
            eprintln!(
                "note: {id} ({action}): the emulator's interpreter crashed on the branch error; status compared only"
            );
            continue;
        }
        // The emulator names an error whose code its Step Functions does not carry (every
        // EC2 error; an unmodelled one such as AccessDenied of other services) by the service
        // alone, `ec2Exception`: then its cause must carry the local error's message (without
        // the permission hint firebreak adds).
        let generic = s["error_code"].as_str().is_some_and(|c| {
            c.strip_suffix("Exception").is_some_and(|svc| {
                !svc.is_empty() && svc.chars().all(|x| x.is_ascii_alphanumeric())
            })
        });
        // An error the emulator sends without a message (`InvalidSnapshot.NotFound`) has
        // none locally and `None (Service: ec2, …)` as the state machine's cause.
        let message = l["error"].as_str().map(|e| e.splitn(3, ": ").nth(2));
        let same_code = l["error_code"] == s["error_code"]
            || generic
                && match message {
                    Some(Some(m)) => {
                        let m = m.split(" (needs ").next().unwrap_or(m);
                        s["error"].as_str().is_some_and(|c| c.starts_with(m))
                    }
                    Some(None) => s["error"].as_str().is_some_and(|c| c.starts_with("None (")),
                    None => false,
                };
        if l["status"] != s["status"] || !same_code {
            differ.push(format!(
                "  {id} ({action}):\n    local {} {} {}\n    sfn   {} {} {}",
                l["status"], l["error_code"], l["error"], s["status"], s["error_code"], s["error"]
            ));
        }
    }
    differ
}
