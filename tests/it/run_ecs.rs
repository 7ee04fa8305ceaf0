//! `firebreak run` of the ECS playbook (issue 13): a service's Fargate task that GuardDuty
//! Runtime Monitoring saw open a reverse shell is recorded, protected from being replaced and
//! its task role's sessions revoked; it keeps running; giving its service the isolation group
//! and stopping it are opt-ins; a second run changes nothing; a dry run changes nothing; a task
//! started alone is not protected (ECS refuses: only a service replaces its tasks).
//!
//! moto 5.2.5 has no task protection: these tests run on `support::private_emulator`, whose
//! `scripts/emulator/ecs_tasks.py` serves UpdateTaskProtection and
//! GetTaskProtection as AWS's API reference describes them (a stand-in, not AWS's behaviour
//! observed). Everything else is moto.

use serde_json::{Value, json};

use crate::support::{self, finding_file, run_report, step_of, unique};

/// A seeded task and what it is made of.
pub(crate) struct Task {
    pub cluster: String,
    pub arn: String,
    pub role: String,
    pub vpc: String,
    /// The service that runs it (none: started alone).
    pub service: Option<String>,
}

/// The Fargate task of a service (of one task) in a cluster, in a VPC of its own, its task
/// definition giving it a task role.
pub(crate) async fn service_task(config: &aws_config::SdkConfig) -> Task {
    task_named(config, &unique("orders"), true).await
}

/// A task started alone (`RunTask`), otherwise as [`service_task`].
async fn lone_task(config: &aws_config::SdkConfig) -> Task {
    task_named(config, &unique("orders"), false).await
}

/// A task in cluster `name`, of service `name`-api or started alone, its task definition
/// (family `name`-api) giving it the role `name`-task (path `/apps/`).
pub(crate) async fn task_named(config: &aws_config::SdkConfig, name: &str, service: bool) -> Task {
    let iam = aws_sdk_iam::Client::new(config);
    let role = format!("{name}-task");
    let role_arn = support::service_role(&iam, &role, "ecs-tasks.amazonaws.com", "/apps/").await;
    let ec2 = aws_sdk_ec2::Client::new(config);
    let vpc = support::new_vpc(&ec2, "10.30.0.0/16").await;
    let subnet = support::new_subnet(&ec2, &vpc, "10.30.1.0/24").await;
    let group_id =
        support::new_security_group(&ec2, &vpc, &format!("{name}-api"), "the API's tasks").await;
    let ecs = aws_sdk_ecs::Client::new(config);
    let cluster_arn = ecs
        .create_cluster()
        .cluster_name(name)
        .send()
        .await
        .unwrap()
        .cluster()
        .unwrap()
        .cluster_arn()
        .unwrap()
        .to_string();
    let definition = ecs
        .register_task_definition()
        .family(format!("{name}-api"))
        .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
        .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .task_role_arn(&role_arn)
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("api")
                .image("123456789012.dkr.ecr.us-east-1.amazonaws.com/orders-api:2026-11-18")
                .essential(true)
                // moto sums the containers' memory to place the task.
                .memory(512)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .task_definition()
        .unwrap()
        .task_definition_arn()
        .unwrap()
        .to_string();
    let network = aws_sdk_ecs::types::NetworkConfiguration::builder()
        .awsvpc_configuration(
            aws_sdk_ecs::types::AwsVpcConfiguration::builder()
                .subnets(subnet)
                .security_groups(group_id)
                .build()
                .unwrap(),
        )
        .build();
    let family = format!("{name}-api");
    let arn = if service {
        ecs.create_service()
            .cluster(name)
            .service_name(&family)
            .task_definition(&definition)
            .desired_count(1)
            .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
            .network_configuration(network)
            .send()
            .await
            .unwrap();
        ecs.list_tasks()
            .cluster(name)
            .service_name(&family)
            .send()
            .await
            .unwrap()
            .task_arns()[0]
            .clone()
    } else {
        ecs.run_task()
            .cluster(name)
            .task_definition(&definition)
            .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
            .group(format!("family:{family}"))
            .network_configuration(network)
            .send()
            .await
            .unwrap()
            .tasks()[0]
            .task_arn()
            .unwrap()
            .to_string()
    };
    Task {
        cluster: cluster_arn,
        arn,
        role,
        vpc,
        service: service.then_some(family),
    }
}

/// The finding GuardDuty gives for a reverse shell in the task's container (the fixture, with
/// the seeded cluster and task).
pub(crate) fn ecs_finding(t: &Task) -> std::path::PathBuf {
    finding_file("runtime-ecs-reverse-shell.json", |f| {
        f["id"] = Value::String(unique("finding"));
        let c = &mut f["resource"]["ecsClusterDetails"];
        c["arn"] = t.cluster.clone().into();
        c["name"] = t.cluster.rsplit('/').next().unwrap().into();
        c["taskDetails"]["arn"] = t.arn.clone().into();
    })
}

/// The desired count of the task's service.
async fn desired_count(config: &aws_config::SdkConfig, t: &Task) -> i32 {
    aws_sdk_ecs::Client::new(config)
        .describe_services()
        .cluster(&t.cluster)
        .services(t.service.as_deref().unwrap())
        .send()
        .await
        .unwrap()
        .services()[0]
        .desired_count()
}

/// The security groups of the task's service.
async fn service_groups(config: &aws_config::SdkConfig, t: &Task) -> Value {
    let services = aws_sdk_ecs::Client::new(config)
        .describe_services()
        .cluster(&t.cluster)
        .services(t.service.as_deref().unwrap())
        .send()
        .await
        .unwrap();
    json!(
        services.services()[0]
            .network_configuration()
            .and_then(|n| n.awsvpc_configuration())
            .map(|v| v.security_groups().to_vec())
    )
}

/// The task's desired status and whether it is protected (none when ECS has neither).
pub(crate) async fn task_state(
    config: &aws_config::SdkConfig,
    cluster: &str,
    task: &str,
) -> (Option<String>, Option<bool>) {
    let ecs = aws_sdk_ecs::Client::new(config);
    let desired = ecs
        .describe_tasks()
        .cluster(cluster)
        .tasks(task)
        .send()
        .await
        .ok()
        .and_then(|r| {
            r.tasks()
                .first()
                .and_then(|t| t.desired_status().map(str::to_string))
        });
    let protected = ecs
        .get_task_protection()
        .cluster(cluster)
        .tasks(task)
        .send()
        .await
        .ok()
        .and_then(|r| r.protected_tasks().first().map(|p| p.protection_enabled()));
    (desired, protected)
}

/// What the test reads back: the task's desired status, its protection and its role's inline
/// policies.
pub(crate) async fn end_state(config: &aws_config::SdkConfig, t: &Task) -> Value {
    let (desired, protected) = task_state(config, &t.cluster, &t.arn).await;
    let policies = support::role_policy_names(config, &t.role).await;
    json!({"desired": desired, "protected": protected, "role_policies": policies})
}

#[tokio::test(flavor = "multi_thread")]
async fn a_task_with_a_reverse_shell_is_protected_and_its_role_revoked() {
    let moto = support::private_emulator();
    let config = moto.config().await;
    let t = service_task(&config).await;
    let finding = ecs_finding(&t);

    let open = json!({"desired": "RUNNING", "protected": false, "role_policies": []});
    assert_eq!(end_state(&config, &t).await, open);
    let dry = run_report(&moto, &finding, "ecs-task-compromise", &["--dry-run"]);
    assert_eq!(dry["status"], "dry_run", "{dry:#}");
    assert_eq!(
        end_state(&config, &t).await,
        open,
        "a dry run changed the task"
    );

    let report = run_report(&moto, &finding, "ecs-task-compromise", &[]);
    assert_eq!(report["status"], "succeeded", "{report:#}");
    let capture = step_of(&report, "capture")["outputs"].clone();
    // The service's own group, as ECS gives its tasks.
    assert!(
        capture["group"]
            .as_str()
            .is_some_and(|g| g.starts_with("service:orders-") && g.ends_with("-api")),
        "{capture}"
    );
    assert_eq!(capture["launch_type"], "FARGATE");
    assert_eq!(capture["last_status"], "RUNNING");
    assert_eq!(capture["task_role_name"], t.role.as_str());
    assert!(
        capture["task_role_arn"]
            .as_str()
            .is_some_and(|a| a.ends_with(&format!(":role/apps/{}", t.role))),
        "{capture}"
    );
    assert_eq!(capture["service_name"], t.service.as_deref().unwrap());
    assert_eq!(capture["vpc_id"], t.vpc.as_str());
    assert_eq!(step_of(&report, "protect")["changed"], true);
    assert_eq!(step_of(&report, "revoke_task_role")["changed"], true);
    // Stopping is an opt-in: the task keeps running, protected, its role's older sessions
    // denied.
    assert_eq!(step_of(&report, "stop")["status"], "skipped");
    assert_eq!(step_of(&report, "isolate_service")["status"], "skipped");
    assert_eq!(
        end_state(&config, &t).await,
        json!({"desired": "RUNNING", "protected": true,
            "role_policies": ["AWSRevokeOlderSessions"]})
    );

    support::run_changes_nothing(&moto, &finding, "ecs-task-compromise");

    // The first opt-in: the service's new tasks get only the isolation group; the protected
    // task keeps running.
    let isolated = run_report(
        &moto,
        &finding,
        "ecs-task-compromise",
        &["--input", "isolate_service=true"],
    );
    assert_eq!(isolated["status"], "succeeded", "{isolated:#}");
    let group = step_of(&isolated, "isolation_group_id")["outputs"]["group_id"].clone();
    assert_eq!(
        service_groups(&config, &t).await,
        json!([group]),
        "{isolated:#}"
    );
    assert_eq!(
        step_of(&isolated, "isolate_service")["outputs"]["previous_security_group_ids"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(end_state(&config, &t).await["desired"], "RUNNING");

    // Another: the service is scaled to zero.
    let scaled = run_report(
        &moto,
        &finding,
        "ecs-task-compromise",
        &["--input", "scale_service_to_zero=true"],
    );
    assert_eq!(scaled["status"], "succeeded", "{scaled:#}");
    assert_eq!(
        step_of(&scaled, "scale_service_to_zero")["outputs"]["previous_desired_count"],
        1
    );
    assert_eq!(desired_count(&config, &t).await, 0);

    // The last: the task is stopped.
    let stopped = run_report(
        &moto,
        &finding,
        "ecs-task-compromise",
        &["--input", "stop_task=true"],
    );
    assert_eq!(stopped["status"], "succeeded", "{stopped:#}");
    assert_eq!(step_of(&stopped, "stop")["changed"], true);
    assert_eq!(end_state(&config, &t).await["desired"], "STOPPED");
}

/// A task no service started is recorded and its role revoked, but not protected: ECS
/// protects only a service's tasks (it answers `TASK_NOT_VALID`), and nothing would replace
/// it anyway, so the step has nothing to do. Stopping it still works.
#[tokio::test(flavor = "multi_thread")]
async fn a_task_started_alone_is_not_protected() {
    let moto = support::private_emulator();
    let config = moto.config().await;
    let t = lone_task(&config).await;
    let finding = ecs_finding(&t);
    let report = run_report(&moto, &finding, "ecs-task-compromise", &[]);
    assert_eq!(report["status"], "succeeded", "{report:#}");
    let protect = step_of(&report, "protect");
    assert_eq!(
        (&protect["status"], &protect["changed"]),
        (&json!("succeeded"), &json!(false)),
        "{protect}"
    );
    assert_eq!(
        end_state(&config, &t).await,
        json!({"desired": "RUNNING", "protected": null,
            "role_policies": ["AWSRevokeOlderSessions"]})
    );
    // It has no service to isolate or scale; stopping it is asked for, and done.
    let stopped = run_report(
        &moto,
        &finding,
        "ecs-task-compromise",
        &[
            "--input",
            "stop_task=true",
            "--input",
            "isolate_service=true",
            "--input",
            "scale_service_to_zero=true",
        ],
    );
    assert_eq!(stopped["status"], "succeeded", "{stopped:#}");
    assert_eq!(step_of(&stopped, "isolate_service")["status"], "skipped");
    assert_eq!(
        step_of(&stopped, "scale_service_to_zero")["status"],
        "skipped"
    );
    assert_eq!(end_state(&config, &t).await["desired"], "STOPPED");
}

/// A finding about a task that is gone fails the capture with `TaskNotFound` (ECS answers a
/// missing task with a failure, not an error), and nothing else runs.
#[tokio::test(flavor = "multi_thread")]
async fn a_task_that_is_gone_is_reported() {
    let moto = support::private_emulator();
    let config = moto.config().await;
    let mut t = service_task(&config).await;
    t.arn = format!(
        "{}/0000000000000000000000000000dead",
        t.arn.rsplit_once('/').unwrap().0
    );
    let finding = ecs_finding(&t);
    let out = moto.firebreak(&["run", "--output", "json", finding.to_str().unwrap()]);
    // A step failed: containment is incomplete (exit 1).
    assert_eq!(out.status.code(), Some(1), "{}", support::stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["status"], "failed", "{report:#}");
    let capture = step_of(&report, "capture");
    assert_eq!(capture["error_code"], "TaskNotFound", "{capture}");
}
