//! `firebreak run` of the RDS playbook against moto (issue 13): a database that an unusual
//! login succeeded on is snapshotted, made not publicly accessible and moved into its VPC's
//! isolation group (made with no rule in or out); a second run changes nothing; a dry run changes nothing; failed logins are
//! not contained.

use serde_json::{Value, json};

use crate::support::{self, finding_file, run_report, step_of, unique};

/// A seeded database and what it is made of.
pub(crate) struct Database {
    pub id: String,
    pub vpc: String,
    pub group: String,
    /// The Aurora cluster the instance is in.
    pub cluster: Option<String>,
}

/// A PostgreSQL instance in a VPC of its own (a subnet group over two zones), publicly
/// accessible, reachable through one security group.
pub(crate) async fn database(config: &aws_config::SdkConfig) -> Database {
    seed(config, false).await
}

/// An Aurora PostgreSQL instance in a cluster, otherwise as [`database`].
pub(crate) async fn aurora(config: &aws_config::SdkConfig) -> Database {
    seed(config, true).await
}

async fn seed(config: &aws_config::SdkConfig, aurora: bool) -> Database {
    let ec2 = aws_sdk_ec2::Client::new(config);
    let vpc = crate::support::new_vpc(&ec2, "10.20.0.0/16").await;
    let mut subnets = Vec::new();
    for (zone, cidr) in [
        ("us-east-1a", "10.20.1.0/24"),
        ("us-east-1b", "10.20.2.0/24"),
    ] {
        let s = ec2
            .create_subnet()
            .vpc_id(&vpc)
            .availability_zone(zone)
            .cidr_block(cidr)
            .send()
            .await
            .unwrap();
        subnets.push(s.subnet().unwrap().subnet_id().unwrap().to_string());
    }
    let group = crate::support::new_security_group(
        &ec2,
        &vpc,
        &unique("orders-db"),
        "the applications reach the database",
    )
    .await;
    let rds = aws_sdk_rds::Client::new(config);
    let subnet_group = unique("orders");
    rds.create_db_subnet_group()
        .db_subnet_group_name(&subnet_group)
        .db_subnet_group_description("orders database")
        .set_subnet_ids(Some(subnets))
        .send()
        .await
        .unwrap();
    let id = unique("orders-db");
    let cluster = if aurora {
        let cluster = unique("orders-cluster");
        rds.create_db_cluster()
            .db_cluster_identifier(&cluster)
            .engine("aurora-postgresql")
            .master_username("orders")
            .master_user_password("Firebreak-test-1")
            .db_subnet_group_name(&subnet_group)
            .vpc_security_group_ids(&group)
            .send()
            .await
            .unwrap();
        Some(cluster)
    } else {
        None
    };
    let instance = rds
        .create_db_instance()
        .db_instance_identifier(&id)
        .db_instance_class("db.t3.micro")
        .db_subnet_group_name(&subnet_group)
        .vpc_security_group_ids(&group)
        .publicly_accessible(true);
    let instance = match &cluster {
        Some(c) => instance
            .engine("aurora-postgresql")
            .db_cluster_identifier(c),
        None => instance
            .engine("postgres")
            .allocated_storage(20)
            .master_username("orders")
            .master_user_password("Firebreak-test-1"),
    };
    instance.send().await.unwrap();
    Database {
        id,
        vpc,
        group,
        cluster,
    }
}

/// A closed isolation group (no rule in or out) in `vpc`, as `ec2.create_isolation_group`
/// leaves one; its id.
pub(crate) async fn isolation_group(config: &aws_config::SdkConfig, vpc: &str) -> String {
    let ec2 = aws_sdk_ec2::Client::new(config);
    let group = crate::support::new_security_group(
        &ec2,
        vpc,
        "firebreak-isolation",
        "firebreak isolation: no inbound or outbound rule",
    )
    .await;
    ec2.revoke_security_group_egress()
        .group_id(&group)
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("-1")
                .ip_ranges(
                    aws_sdk_ec2::types::IpRange::builder()
                        .cidr_ip("0.0.0.0/0")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    group
}

/// The finding GuardDuty gives for an unusual successful login to the database (GuardDuty's
/// own sample, with the database's identifier).
/// The master password's secret of the database, or of its Aurora cluster (none: its own),
/// and the tags it has.
async fn password_state(config: &aws_config::SdkConfig, db: &Database) -> Value {
    let rds = aws_sdk_rds::Client::new(config);
    let tags = |list: &[aws_sdk_rds::types::Tag]| -> Vec<String> {
        list.iter()
            .map(|t| format!("{}={}", t.key().unwrap_or(""), t.value().unwrap_or("")))
            .collect()
    };
    let (managed, tags) = match &db.cluster {
        Some(cluster) => {
            let r = rds
                .describe_db_clusters()
                .db_cluster_identifier(cluster)
                .send()
                .await
                .unwrap();
            let c = &r.db_clusters()[0];
            (c.master_user_secret().is_some(), tags(c.tag_list()))
        }
        None => {
            let r = rds
                .describe_db_instances()
                .db_instance_identifier(&db.id)
                .send()
                .await
                .unwrap();
            let i = &r.db_instances()[0];
            (i.master_user_secret().is_some(), tags(i.tag_list()))
        }
    };
    json!({"managed": managed, "tags": tags})
}

/// The opt-in: a login as the master user has its password replaced by a new one that
/// Secrets Manager keeps, once per finding; a login as another user does not.
#[tokio::test(flavor = "multi_thread")]
async fn the_master_user_s_password_is_replaced_by_opt_in() {
    let moto = support::private_moto();
    let config = moto.config().await;
    let db = database(&config).await;
    let other = rds_finding(&db, "AnomalousBehavior.SuccessfulLogin");
    let opt_in = ["--input", "rotate_master_password=true"];
    let report = run_report(&moto, &other, "rds-compromise", &opt_in);
    assert_eq!(report["status"], "succeeded", "{report:#}");
    // The fixture's user is not the master user (`orders`).
    assert_eq!(step_of(&report, "rotate_password")["status"], "skipped");
    assert_eq!(
        password_state(&config, &db).await,
        json!({"managed": false, "tags": []})
    );

    let finding = finding_file("rds-successful-login.json", |f| {
        f["id"] = Value::String(unique("finding"));
        f["resource"]["rdsDbInstanceDetails"]["dbInstanceIdentifier"] = db.id.clone().into();
        f["resource"]["rdsDbUserDetails"]["user"] = "orders".into();
    });
    let without = run_report(&moto, &finding, "rds-compromise", &[]);
    assert_eq!(step_of(&without, "rotate_password")["status"], "skipped");
    replaced_once(&moto, &config, &db, &finding, "rotate_password").await;
}

/// The opt-in on a master user's login `finding`: a dry run changes nothing; a run replaces
/// the password (step `step` changed, its secret the output, the database or its cluster
/// tagged with the finding); a second run changes nothing.
async fn replaced_once(
    moto: &support::Moto,
    config: &aws_config::SdkConfig,
    db: &Database,
    finding: &std::path::Path,
    step: &str,
) -> Value {
    let opt_in = ["--input", "rotate_master_password=true"];
    let dry = run_report(
        moto,
        finding,
        "rds-compromise",
        &["--dry-run", opt_in[0], opt_in[1]],
    );
    assert_eq!(dry["status"], "dry_run", "{dry:#}");
    assert_eq!(
        password_state(config, db).await,
        json!({"managed": false, "tags": []})
    );
    let report = run_report(moto, finding, "rds-compromise", &opt_in);
    assert_eq!(report["status"], "succeeded", "{report:#}");
    let rotated = step_of(&report, step);
    assert_eq!(rotated["changed"], true, "{rotated:#}");
    assert!(
        rotated["outputs"]["secret_arn"]
            .as_str()
            .is_some_and(|a| a.starts_with("arn:aws:secretsmanager:")),
        "{rotated:#}"
    );
    let id = report["finding_id"].as_str().unwrap().to_string();
    assert_eq!(
        password_state(config, db).await,
        json!({"managed": true, "tags": [format!("firebreak:password-rotated-for={id}")]})
    );
    support::run_changes_nothing_with(moto, finding, "rds-compromise", &opt_in);
    report
}

pub(crate) fn rds_finding(db: &Database, kind: &str) -> std::path::PathBuf {
    finding_file("rds-successful-login.json", |f| {
        f["id"] = Value::String(unique("finding"));
        f["type"] = format!("CredentialAccess:RDS/{kind}").into();
        f["resource"]["rdsDbInstanceDetails"]["dbInstanceIdentifier"] = db.id.clone().into();
        if let Some(c) = &db.cluster {
            f["resource"]["rdsDbInstanceDetails"]["dbClusterIdentifier"] = c.clone().into();
        }
    })
}

/// The isolation group of `vpc` (`firebreak-isolation`), if it has one.
async fn find_isolation_group(
    config: &aws_config::SdkConfig,
    vpc: &str,
) -> Option<aws_sdk_ec2::types::SecurityGroup> {
    let filter = |name: &str, value: &str| {
        aws_sdk_ec2::types::Filter::builder()
            .name(name)
            .values(value)
            .build()
    };
    aws_sdk_ec2::Client::new(config)
        .describe_security_groups()
        .filters(filter("vpc-id", vpc))
        .filters(filter("group-name", "firebreak-isolation"))
        .send()
        .await
        .unwrap()
        .security_groups()
        .first()
        .cloned()
}

/// The isolation group of `vpc`: its id and how many rules it has in and out; null when the
/// VPC has none.
pub(crate) async fn isolation_group_state(config: &aws_config::SdkConfig, vpc: &str) -> Value {
    find_isolation_group(config, vpc)
        .await
        .map_or(Value::Null, |g| {
            json!({"id": g.group_id(), "rules_in": g.ip_permissions().len(),
                "rules_out": g.ip_permissions_egress().len()})
        })
}

/// The `firebreak:purpose` tag of `vpc`'s isolation group, which firebreak gives the groups it
/// makes (the responder may write rules only in groups with it); null without one.
pub(crate) async fn isolation_group_purpose(config: &aws_config::SdkConfig, vpc: &str) -> Value {
    find_isolation_group(config, vpc)
        .await
        .and_then(|g| {
            g.tags()
                .iter()
                .find(|t| t.key() == Some("firebreak:purpose"))
                .and_then(|t| t.value().map(Value::from))
        })
        .unwrap_or(Value::Null)
}

/// The database's security groups (id and status), whether it is publicly accessible, its
/// manual snapshots and the rules of its VPC's isolation group (null when there is none).
pub(crate) async fn end_state(config: &aws_config::SdkConfig, db: &Database) -> Value {
    let rds = aws_sdk_rds::Client::new(config);
    let read = rds
        .describe_db_instances()
        .db_instance_identifier(&db.id)
        .send()
        .await
        .unwrap();
    let instance = &read.db_instances()[0];
    let groups: Vec<Value> = instance
        .vpc_security_groups()
        .iter()
        .map(|g| json!([g.vpc_security_group_id(), g.status()]))
        .collect();
    let snapshots = rds
        .describe_db_snapshots()
        .db_instance_identifier(&db.id)
        .snapshot_type("manual")
        .send()
        .await
        .unwrap()
        .db_snapshots()
        .len();
    let isolation = isolation_group_state(config, &db.vpc).await;
    json!({"groups": groups, "public": instance.publicly_accessible(), "snapshots": snapshots,
        "isolation": isolation})
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_logged_into_is_snapshotted_and_isolated() {
    let moto = support::private_moto();
    let config = moto.config().await;
    let db = database(&config).await;
    let finding = rds_finding(&db, "AnomalousBehavior.SuccessfulLogin");

    let open = json!({"groups": [[db.group, "active"]], "public": true, "snapshots": 0,
        "isolation": null});
    assert_eq!(end_state(&config, &db).await, open);
    let dry = run_report(&moto, &finding, "rds-compromise", &["--dry-run"]);
    assert_eq!(dry["status"], "dry_run", "{dry:#}");
    assert_eq!(
        end_state(&config, &db).await,
        open,
        "a dry run changed the database"
    );
    // The isolation group is planned, not made: the step moving the database into it says so.
    let isolate = step_of(&dry, "isolate");
    assert_eq!(isolate["status"], "skipped", "{isolate}");
    assert!(
        isolate["skip_reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("a dry run: parameter `group_id` resolved to nothing")),
        "{isolate}"
    );

    let report = run_report(&moto, &finding, "rds-compromise", &[]);
    assert_eq!(report["status"], "succeeded", "{report:#}");
    let group = step_of(&report, "isolation_group_id")["outputs"]["group_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        end_state(&config, &db).await,
        json!({"groups": [[group, "active"]], "public": false, "snapshots": 1,
            "isolation": {"id": group, "rules_in": 0, "rules_out": 0}})
    );
    assert_eq!(
        step_of(&report, "make_private")["outputs"]["was_publicly_accessible"],
        true
    );
    assert_eq!(
        step_of(&report, "isolate")["outputs"]["previous_security_group_ids"],
        json!([db.group])
    );
    assert_eq!(
        step_of(&report, "capture")["outputs"]["vpc_id"],
        db.vpc.as_str()
    );

    support::run_changes_nothing(&moto, &finding, "rds-compromise");
}

/// A failed login is recorded and ticketed, not contained: the database keeps its groups.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_login_leaves_the_database_as_it_is() {
    let moto = support::private_moto();
    let config = moto.config().await;
    let db = database(&config).await;
    let finding = rds_finding(&db, "MaliciousIPCaller.FailedLogin");
    let report = run_report(&moto, &finding, "rds-compromise", &[]);
    assert_eq!(
        end_state(&config, &db).await,
        json!({"groups": [[db.group, "active"]], "public": true, "snapshots": 0,
            "isolation": null}),
        "{report:#}"
    );
}

/// An Aurora instance cannot be snapshotted nor given security groups alone: its cluster is.
#[tokio::test(flavor = "multi_thread")]
async fn an_aurora_instance_is_snapshotted_through_its_cluster() {
    let moto = support::private_moto();
    let config = moto.config().await;
    let db = aurora(&config).await;
    let finding = rds_finding(&db, "TorIPCaller.SuccessfulLogin");
    let report = run_report(&moto, &finding, "rds-compromise", &[]);
    assert_eq!(report["status"], "succeeded", "{report:#}");
    let status = |id: &str| step_of(&report, id)["status"].clone();
    assert_eq!(status("snapshot"), "skipped");
    assert_eq!(status("snapshot_cluster"), "succeeded");
    assert_eq!(status("isolate"), "skipped");
    assert_eq!(status("isolate_cluster"), "succeeded");
    // Public accessibility is the instance's own, in a cluster too.
    assert_eq!(status("make_private"), "succeeded");
    assert_eq!(end_state(&config, &db).await["public"], false);
    let snapshots = aws_sdk_rds::Client::new(&config)
        .describe_db_cluster_snapshots()
        .db_cluster_identifier(db.cluster.as_deref().unwrap())
        .snapshot_type("manual")
        .send()
        .await
        .unwrap();
    assert_eq!(snapshots.db_cluster_snapshots().len(), 1);
}

/// The opt-in on an Aurora instance: the master password is its cluster's, replaced there
/// once per finding (the instance's own step is skipped).
#[tokio::test(flavor = "multi_thread")]
async fn an_aurora_cluster_s_master_password_is_replaced_by_opt_in() {
    let moto = support::private_moto();
    let config = moto.config().await;
    let db = aurora(&config).await;
    let cluster = db.cluster.clone().unwrap();
    let finding = finding_file("rds-successful-login.json", |f| {
        f["id"] = Value::String(unique("finding"));
        f["resource"]["rdsDbInstanceDetails"]["dbInstanceIdentifier"] = db.id.clone().into();
        f["resource"]["rdsDbInstanceDetails"]["dbClusterIdentifier"] = cluster.clone().into();
        f["resource"]["rdsDbUserDetails"]["user"] = "orders".into();
    });
    let report = replaced_once(&moto, &config, &db, &finding, "rotate_cluster_password").await;
    assert_eq!(step_of(&report, "rotate_password")["status"], "skipped");
}
