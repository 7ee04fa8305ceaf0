//! `firebreak run` of the EC2 playbook against moto (issue 3): preserve, snapshot, take out of
//! service, remove credentials, isolate, tag; and a second run that changes nothing.

use aws_sdk_ec2::types::{
    BlockDeviceMapping, EbsBlockDevice, Filter, IamInstanceProfileSpecification,
};
use serde_json::Value;

use crate::support::{finding_file, moto, stderr, stdout, unique};

pub(crate) struct Target {
    pub instance_id: String,
    pub role: String,
    pub group: String,
    pub target_group_arn: String,
}

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// An instance with two volumes, an instance profile, in an Auto Scaling group and a target
/// group, in the default VPC.
pub(crate) async fn target(config: &aws_config::SdkConfig) -> Target {
    let vpc = aws_sdk_ec2::Client::new(config)
        .describe_vpcs()
        .filters(filter("isDefault", "true"))
        .send()
        .await
        .unwrap()
        .vpcs()[0]
        .vpc_id()
        .unwrap()
        .to_string();
    target_in(config, &vpc).await
}

/// [`target`] in a VPC of its own (with one subnet), where no isolation group exists yet.
pub(crate) async fn target_in_new_vpc(config: &aws_config::SdkConfig) -> (Target, String) {
    let ec2 = aws_sdk_ec2::Client::new(config);
    let vpc = crate::support::new_vpc(&ec2, "10.20.0.0/16").await;
    crate::support::new_subnet(&ec2, &vpc, "10.20.1.0/24").await;
    (target_in(config, &vpc).await, vpc)
}

async fn target_in(config: &aws_config::SdkConfig, vpc: &str) -> Target {
    let ec2 = aws_sdk_ec2::Client::new(config);
    let iam = aws_sdk_iam::Client::new(config);
    let asg = aws_sdk_autoscaling::Client::new(config);
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(config);
    let subnet = ec2
        .describe_subnets()
        .filters(filter("vpc-id", vpc))
        .send()
        .await
        .unwrap()
        .subnets()[0]
        .clone();
    let role = crate::support::ec2_role(&iam, "web-role").await;
    let profile = unique("web-profile");
    iam.create_instance_profile()
        .instance_profile_name(&profile)
        .send()
        .await
        .unwrap();
    iam.add_role_to_instance_profile()
        .instance_profile_name(&profile)
        .role_name(&role)
        .send()
        .await
        .unwrap();
    let volume = |dev: &str, size| {
        BlockDeviceMapping::builder()
            .device_name(dev)
            .ebs(
                EbsBlockDevice::builder()
                    .volume_size(size)
                    .delete_on_termination(true)
                    .build(),
            )
            .build()
    };
    let run = ec2
        .run_instances()
        .image_id("ami-12c6146b")
        .min_count(1)
        .max_count(1)
        .subnet_id(subnet.subnet_id().unwrap())
        .block_device_mappings(volume("/dev/sda1", 8))
        .block_device_mappings(volume("/dev/sdb", 4))
        .iam_instance_profile(
            IamInstanceProfileSpecification::builder()
                .name(&profile)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let instance_id = run.instances()[0].instance_id().unwrap().to_string();
    let lt = unique("lt");
    ec2.create_launch_template()
        .launch_template_name(&lt)
        .launch_template_data(
            aws_sdk_ec2::types::RequestLaunchTemplateData::builder()
                .image_id("ami-12c6146b")
                .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let group = unique("web-asg");
    asg.create_auto_scaling_group()
        .auto_scaling_group_name(&group)
        .launch_template(
            aws_sdk_autoscaling::types::LaunchTemplateSpecification::builder()
                .launch_template_name(&lt)
                .build(),
        )
        .min_size(0)
        .max_size(3)
        .desired_capacity(0)
        .vpc_zone_identifier(subnet.subnet_id().unwrap())
        .send()
        .await
        .unwrap();
    asg.attach_instances()
        .auto_scaling_group_name(&group)
        .instance_ids(&instance_id)
        .send()
        .await
        .unwrap();
    let tg = elb
        .create_target_group()
        .name(
            unique("tg")
                .replace('-', "")
                .chars()
                .take(30)
                .collect::<String>(),
        )
        .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
        .port(80)
        .vpc_id(vpc)
        .target_type(aws_sdk_elasticloadbalancingv2::types::TargetTypeEnum::Instance)
        .send()
        .await
        .unwrap();
    let target_group_arn = tg.target_groups()[0]
        .target_group_arn()
        .unwrap()
        .to_string();
    elb.register_targets()
        .target_group_arn(&target_group_arn)
        .targets(
            aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
                .id(&instance_id)
                .port(80)
                .build(),
        )
        .send()
        .await
        .unwrap();
    Target {
        instance_id,
        role,
        group,
        target_group_arn,
    }
}

fn step<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step {id}"))
}

/// Regression guard for issue 3 (EC2 containment end state).
#[tokio::test]
async fn ec2_instance_is_preserved_and_isolated() {
    let finding = contains_the_instance("ec2-bitcoin-dns.json").await;

    // The second run succeeds and changes nothing.
    let again = moto().firebreak(&["run", "--output", "json", finding.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    let again: Value = serde_json::from_slice(&again.stdout).unwrap();
    for s in again["steps"].as_array().unwrap() {
        assert_eq!(
            s["changed"], false,
            "{} changed on the second run: {s:#}",
            s["id"]
        );
    }
}

/// A reverse shell in a container that runs on an instance by itself (Runtime Monitoring's
/// `Container` resource, with the host's `instanceDetails`) contains the host.
#[tokio::test]
async fn a_container_finding_contains_its_host() {
    contains_the_instance("runtime-container-reverse-shell.json").await;
}

/// Runs the fixture's finding, naming a seeded instance, with the EC2 playbook and checks the
/// instance is contained; the finding's file.
async fn contains_the_instance(fixture: &str) -> std::path::PathBuf {
    let config = moto().config().await;
    let t = target(&config).await;
    let finding_id = unique("finding");
    let finding = finding_file(fixture, |f| {
        f["id"] = Value::String(finding_id.clone());
        f["resource"]["instanceDetails"]["instanceId"] = t.instance_id.clone().into();
    });
    let out = moto().firebreak(&["run", "--output", "json", finding.to_str().unwrap()]);
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {} {}", stdout(&out), stderr(&out)));
    assert_eq!(out.status.code(), Some(0), "{report:#}\n{}", stderr(&out));
    assert_eq!(report["status"], "succeeded");
    assert_eq!(report["playbook"], "ec2-instance-compromise");
    assert_contained(
        &config,
        &t,
        &finding_id,
        &step(&report, "isolate")["outputs"]["isolation_group_ids"],
    )
    .await;
    finding
}

/// The EC2 containment end state, read back from AWS: every volume snapshotted with the finding
/// id, termination protection on, out of the Auto Scaling group and the target group, no
/// instance profile and the role's sessions revoked, every interface only in one of
/// `isolation_group_ids` (which has no rule), tagged contained. Shared by the local engine's
/// test and the Step Functions one.
pub(crate) async fn assert_contained(
    config: &aws_config::SdkConfig,
    t: &Target,
    finding_id: &str,
    isolation_group_ids: &Value,
) {
    let ec2 = aws_sdk_ec2::Client::new(config);
    // Both volumes snapshotted and tagged with the finding.
    let vols = ec2
        .describe_volumes()
        .filters(filter("attachment.instance-id", &t.instance_id))
        .send()
        .await
        .unwrap();
    assert_eq!(vols.volumes().len(), 2);
    let snaps = ec2
        .describe_snapshots()
        .owner_ids("self")
        .filters(filter("tag:firebreak:finding-id", finding_id))
        .send()
        .await
        .unwrap();
    let mut snapped: Vec<&str> = snaps
        .snapshots()
        .iter()
        .filter_map(|s| s.volume_id())
        .collect();
    let mut wanted: Vec<&str> = vols
        .volumes()
        .iter()
        .filter_map(|v| v.volume_id())
        .collect();
    snapped.sort();
    wanted.sort();
    assert_eq!(snapped, wanted);
    // Termination protection on, volumes kept on termination.
    let attr = ec2
        .describe_instance_attribute()
        .instance_id(&t.instance_id)
        .attribute(aws_sdk_ec2::types::InstanceAttributeName::DisableApiTermination)
        .send()
        .await
        .unwrap();
    assert_eq!(
        attr.disable_api_termination().and_then(|v| v.value()),
        Some(true)
    );
    // Out of the Auto Scaling group and the target group.
    let asg = aws_sdk_autoscaling::Client::new(config);
    let inst = asg
        .describe_auto_scaling_instances()
        .instance_ids(&t.instance_id)
        .send()
        .await
        .unwrap();
    assert!(
        inst.auto_scaling_instances()
            .iter()
            .all(|a| a.auto_scaling_group_name() != Some(t.group.as_str()))
    );
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(config);
    let health = elb
        .describe_target_health()
        .target_group_arn(&t.target_group_arn)
        .send()
        .await
        .unwrap();
    assert!(health.target_health_descriptions().iter().all(|d| {
        d.target().and_then(|x| x.id()) != Some(t.instance_id.as_str())
            || matches!(
                d.target_health()
                    .and_then(|h| h.state())
                    .map(|s| s.as_str()),
                Some("draining" | "unused")
            )
    }));
    // Instance profile gone, and the role's older sessions revoked.
    let assoc = ec2
        .describe_iam_instance_profile_associations()
        .filters(filter("instance-id", &t.instance_id))
        .send()
        .await
        .unwrap();
    assert!(
        assoc
            .iam_instance_profile_associations()
            .iter()
            .all(|a| a.state().map(|s| s.as_str()) != Some("associated"))
    );
    let iam = aws_sdk_iam::Client::new(config);
    iam.get_role_policy()
        .role_name(&t.role)
        .policy_name("AWSRevokeOlderSessions")
        .send()
        .await
        .expect("role sessions revoked");
    // Every ENI is only in an isolation group that has no rule at all.
    let isolation_ids: Vec<String> = isolation_group_ids
        .as_array()
        .expect("isolation_group_ids is a list")
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let enis = ec2
        .describe_network_interfaces()
        .filters(filter("attachment.instance-id", &t.instance_id))
        .send()
        .await
        .unwrap();
    assert!(!enis.network_interfaces().is_empty());
    for n in enis.network_interfaces() {
        let groups: Vec<&str> = n.groups().iter().filter_map(|g| g.group_id()).collect();
        assert_eq!(groups.len(), 1, "{groups:?}");
        assert!(isolation_ids.iter().any(|i| i == groups[0]));
        let sg = ec2
            .describe_security_groups()
            .group_ids(groups[0])
            .send()
            .await
            .unwrap();
        let sg = &sg.security_groups()[0];
        assert!(
            sg.ip_permissions().is_empty(),
            "isolation group has ingress rules"
        );
        assert!(
            sg.ip_permissions_egress().is_empty(),
            "isolation group has egress rules"
        );
        // Tagged as it was made: the only groups the responder may write rules in.
        assert!(
            sg.tags()
                .iter()
                .any(|t| t.key() == Some("firebreak:purpose") && t.value() == Some("isolation")),
            "{sg:?}"
        );
    }
    // Tagged as contained.
    let tags = ec2
        .describe_tags()
        .filters(filter("resource-id", &t.instance_id))
        .send()
        .await
        .unwrap();
    assert!(
        tags.tags()
            .iter()
            .any(|t| t.key() == Some("firebreak:state") && t.value() == Some("contained"))
    );
}

/// The security groups of the instance's first network interface, sorted.
pub(crate) async fn eni_groups(ec2: &aws_sdk_ec2::Client, instance_id: &str) -> Vec<String> {
    let d = ec2
        .describe_network_interfaces()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("attachment.instance-id")
                .values(instance_id)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mut g: Vec<String> = d.network_interfaces()[0]
        .groups()
        .iter()
        .filter_map(|g| g.group_id().map(str::to_string))
        .collect();
    g.sort();
    g
}

/// The isolation group made beforehand in `vpc` (its id known to a test's fault proxy); its id.
pub(crate) async fn isolation_group(ec2: &aws_sdk_ec2::Client, vpc: &str) -> String {
    crate::support::new_security_group(
        ec2,
        vpc,
        firebreak::domain::catalog::names::ISOLATION_GROUP,
        "firebreak isolation",
    )
    .await
}
