//! `firebreak drill`: rehearse playbooks end to end, safely. For each playbook the drill creates
//! a target of its own (tagged `firebreak:drill`), synthesizes a realistic GuardDuty finding about
//! it (id `firebreak-drill-…`, title `[DRILL] …`), runs it through the production path (the same
//! `run::execute` as `run`, `serve` and `watch`, with evidence), reads AWS back to check every
//! containment postcondition, audits the evidence, and removes the targets unless `--keep`.
//!
//! Which target a playbook gets is decided by selection, not by name: the drill knows five kinds
//! of target (a leaked access key, a compromised instance, a public bucket, a bucket read by a
//! leaked key, a malicious snapshot) and uses the first whose synthesized finding selects the
//! playbook. A playbook no such finding selects cannot be drilled, and the drill says so.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::evidence::{LockMode, Store};
use crate::finding::Finding;
use crate::{aws, plan, select};

pub struct Options {
    /// Playbook names; empty with `all`.
    pub names: Vec<String>,
    pub all: bool,
    pub keep: bool,
    /// Start (and stop) a local moto server and drill against it.
    pub emulator: bool,
    /// Deliver the findings through an SQS queue to `serve` instead of running them directly.
    pub via_queue: bool,
    /// `s3://BUCKET[/PREFIX]`; made for the drill on the emulator when absent.
    pub evidence: Option<String>,
    pub playbooks: PathBuf,
    /// Contain on each playbook's Step Functions state machine (deployed for the drill).
    pub sfn: bool,
}

/// A local moto server, stopped when dropped.
struct Emulator {
    _child: tokio::process::Child,
    endpoint: String,
}

impl Emulator {
    async fn start() -> Result<Emulator> {
        let bin = std::env::var_os("FIREBREAK_MOTO_SERVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(".venv-moto/bin/moto_server"));
        if !bin.exists() {
            bail!(
                "{}: no moto server\n  hint: `./scripts/ensure-moto` installs it (or set FIREBREAK_MOTO_SERVER)",
                bin.display()
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .context("finding a free port")?
            .port();
        let child = tokio::process::Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            // Step Functions' SDK tasks call the server's own port; moto reads it here.
            .env("MOTO_PORT", port.to_string())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let endpoint = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        for _ in 0..300 {
            if http
                .get(format!("{endpoint}/moto-api/data.json"))
                .send()
                .await
                .is_ok()
            {
                // Step Functions executes definitions only when this is switched on.
                http.post(format!("{endpoint}/moto-api/config"))
                    .json(&serde_json::json!({"stepfunctions": {"execute_state_machine": true}}))
                    .send()
                    .await
                    .context("switching on the emulator's Step Functions interpreter")?;
                return Ok(Emulator {
                    _child: child,
                    endpoint,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("the moto server did not answer on {endpoint} within 30 s")
    }

    async fn config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_credential_types::Credentials::new(
                "AKIAFIREBREAKDRILL00",
                "firebreak-drill-not-a-secret",
                None,
                None,
                "firebreak-drill",
            ))
            .load()
            .await
    }
}

/// The kinds of target a drill can build, in the order they are tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    LeakedKey,
    Instance,
    PublicBucket,
    BucketAccess,
    MaliciousSnapshot,
}

const KINDS: [Kind; 5] = [
    Kind::LeakedKey,
    Kind::Instance,
    Kind::PublicBucket,
    Kind::BucketAccess,
    Kind::MaliciousSnapshot,
];

impl Kind {
    /// A realistic GuardDuty finding of this kind (the fixtures the tests use).
    fn template(self) -> &'static str {
        match self {
            Kind::LeakedKey => include_str!("../tests/findings/iam-user-tor.json"),
            Kind::Instance => include_str!("../tests/findings/ec2-bitcoin-dns.json"),
            Kind::PublicBucket => include_str!("../tests/findings/s3-public-policy.json"),
            Kind::BucketAccess => include_str!("../tests/findings/s3-exfil-anomalous.json"),
            Kind::MaliciousSnapshot => include_str!("../tests/findings/ec2-malware-snapshot.json"),
        }
    }
}

/// AWS clients for targets and checks.
struct Aws {
    iam: aws_sdk_iam::Client,
    ec2: aws_sdk_ec2::Client,
    s3: aws_sdk_s3::Client,
    asg: aws_sdk_autoscaling::Client,
    elb: aws_sdk_elasticloadbalancingv2::Client,
    sns: aws_sdk_sns::Client,
    account: String,
    region: String,
}

/// What a target is made of, for the finding, the checks and the cleanup.
#[derive(Debug, Default)]
struct Target {
    user: Option<String>,
    leaked_key: Option<String>,
    other_key: Option<String>,
    bucket: Option<String>,
    instance: Option<String>,
    asg: Option<String>,
    launch_template: Option<String>,
    target_group: Option<String>,
    role: Option<String>,
    profile: Option<String>,
    topic: Option<String>,
}

fn tag_iam() -> Result<aws_sdk_iam::types::Tag> {
    aws_sdk_iam::types::Tag::builder()
        .key("firebreak:drill")
        .value("true")
        .build()
        .map_err(err("tag"))
}

fn err<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> anyhow::Error + '_ {
    move |e| anyhow::anyhow!("{what}: {e}")
}

fn sdk<E, R>(what: &str) -> impl FnOnce(aws_sdk_iam::error::SdkError<E, R>) -> anyhow::Error + '_
where
    E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    move |e| {
        let code = aws_sdk_iam::error::ProvideErrorMetadata::code(&e)
            .unwrap_or("error")
            .to_string();
        let msg = aws_sdk_iam::error::ProvideErrorMetadata::message(&e)
            .unwrap_or_default()
            .to_string();
        anyhow::anyhow!("{what}: {code} {msg}")
    }
}

impl Aws {
    async fn user_with_keys(&self, t: &mut Target, name: &str, keys: usize) -> Result<()> {
        self.iam
            .create_user()
            .user_name(name)
            .tags(tag_iam()?)
            .send()
            .await
            .map_err(sdk("creating the drill user"))?;
        t.user = Some(name.to_string());
        for i in 0..keys {
            let k = self
                .iam
                .create_access_key()
                .user_name(name)
                .send()
                .await
                .map_err(sdk("creating an access key"))?;
            let id = k.access_key().map(|k| k.access_key_id().to_string());
            if i == 0 {
                t.leaked_key = id;
            } else {
                t.other_key = id;
            }
        }
        Ok(())
    }

    async fn bucket(&self, t: &mut Target, name: &str, public: bool) -> Result<()> {
        let mut create = self.s3.create_bucket().bucket(name);
        if self.region != "us-east-1" {
            create = create.create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                        self.region.as_str(),
                    ))
                    .build(),
            );
        }
        create
            .send()
            .await
            .map_err(sdk("creating the drill bucket"))?;
        t.bucket = Some(name.to_string());
        self.s3
            .put_bucket_tagging()
            .bucket(name)
            .tagging(
                aws_sdk_s3::types::Tagging::builder()
                    .tag_set(
                        aws_sdk_s3::types::Tag::builder()
                            .key("firebreak:drill")
                            .value("true")
                            .build()
                            .map_err(err("tag"))?,
                    )
                    .build()
                    .map_err(err("tagging"))?,
            )
            .send()
            .await
            .map_err(sdk("tagging the drill bucket"))?;
        if public {
            let policy = json!({"Version": "2012-10-17", "Statement": [{
                "Sid": "DrillPublicRead", "Effect": "Allow", "Principal": "*",
                "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{name}/*")}]});
            self.s3
                .put_bucket_policy()
                .bucket(name)
                .policy(policy.to_string())
                .send()
                .await
                .map_err(sdk("making the drill bucket public"))?;
        }
        Ok(())
    }

    async fn instance(&self, t: &mut Target, name: &str) -> Result<()> {
        use aws_sdk_ec2::types::{
            BlockDeviceMapping, EbsBlockDevice, Filter, IamInstanceProfileSpecification,
            ResourceType, Tag, TagSpecification,
        };
        let filter = |k: &str, v: &str| Filter::builder().name(k).values(v).build();
        let vpc = self
            .ec2
            .describe_vpcs()
            .filters(filter("isDefault", "true"))
            .send()
            .await
            .map_err(sdk("finding the default VPC"))?
            .vpcs()
            .first()
            .and_then(|v| v.vpc_id())
            .map(str::to_string)
            .context("the drill needs a default VPC in this region")?;
        let subnet = self
            .ec2
            .describe_subnets()
            .filters(filter("vpc-id", &vpc))
            .send()
            .await
            .map_err(sdk("finding a subnet"))?
            .subnets()
            .first()
            .and_then(|s| s.subnet_id())
            .map(str::to_string)
            .context("the default VPC has no subnet")?;
        let image = self
            .ec2
            .describe_images()
            .owners("amazon")
            .filters(filter("architecture", "x86_64"))
            .max_results(5)
            .send()
            .await
            .map_err(sdk("finding an image"))?
            .images()
            .iter()
            .filter_map(|i| i.image_id())
            .next()
            .map(str::to_string)
            .context("no Amazon x86_64 image to start the drill instance from")?;
        self.iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#)
            .tags(tag_iam()?)
            .send()
            .await
            .map_err(sdk("creating the drill role"))?;
        t.role = Some(name.to_string());
        self.iam
            .create_instance_profile()
            .instance_profile_name(name)
            .send()
            .await
            .map_err(sdk("creating the drill instance profile"))?;
        t.profile = Some(name.to_string());
        self.iam
            .add_role_to_instance_profile()
            .instance_profile_name(name)
            .role_name(name)
            .send()
            .await
            .map_err(sdk("adding the role to the profile"))?;
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
        let run = self
            .ec2
            .run_instances()
            .image_id(&image)
            .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
            .min_count(1)
            .max_count(1)
            .subnet_id(&subnet)
            .block_device_mappings(volume("/dev/sda1", 8))
            .block_device_mappings(volume("/dev/sdb", 4))
            .iam_instance_profile(
                IamInstanceProfileSpecification::builder()
                    .name(name)
                    .build(),
            )
            .tag_specifications(
                TagSpecification::builder()
                    .resource_type(ResourceType::Instance)
                    .tags(Tag::builder().key("firebreak:drill").value("true").build())
                    .tags(Tag::builder().key("Name").value(name).build())
                    .build(),
            )
            .send()
            .await
            .map_err(sdk("starting the drill instance"))?;
        let instance = run
            .instances()
            .first()
            .and_then(|i| i.instance_id())
            .map(str::to_string)
            .context("RunInstances returned no instance")?;
        t.instance = Some(instance.clone());
        self.ec2
            .create_launch_template()
            .launch_template_name(name)
            .launch_template_data(
                aws_sdk_ec2::types::RequestLaunchTemplateData::builder()
                    .image_id(&image)
                    .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
                    .build(),
            )
            .send()
            .await
            .map_err(sdk("creating the drill launch template"))?;
        t.launch_template = Some(name.to_string());
        self.asg
            .create_auto_scaling_group()
            .auto_scaling_group_name(name)
            .launch_template(
                aws_sdk_autoscaling::types::LaunchTemplateSpecification::builder()
                    .launch_template_name(name)
                    .build(),
            )
            .min_size(0)
            .max_size(1)
            .desired_capacity(0)
            .vpc_zone_identifier(&subnet)
            .send()
            .await
            .map_err(sdk("creating the drill Auto Scaling group"))?;
        t.asg = Some(name.to_string());
        self.asg
            .attach_instances()
            .auto_scaling_group_name(name)
            .instance_ids(&instance)
            .send()
            .await
            .map_err(sdk("attaching the drill instance"))?;
        let tg_name: String = name.replace(['_', '.'], "-").chars().take(32).collect();
        let tg = self
            .elb
            .create_target_group()
            .name(tg_name.trim_end_matches('-'))
            .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
            .port(80)
            .vpc_id(&vpc)
            .target_type(aws_sdk_elasticloadbalancingv2::types::TargetTypeEnum::Instance)
            .send()
            .await
            .map_err(sdk("creating the drill target group"))?;
        let tg_arn = tg
            .target_groups()
            .first()
            .and_then(|g| g.target_group_arn())
            .map(str::to_string)
            .context("CreateTargetGroup returned no group")?;
        t.target_group = Some(tg_arn.clone());
        self.elb
            .register_targets()
            .target_group_arn(&tg_arn)
            .targets(
                aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
                    .id(&instance)
                    .port(80)
                    .build(),
            )
            .send()
            .await
            .map_err(sdk("registering the drill instance"))?;
        Ok(())
    }

    async fn build(&self, kind: Kind, t: &mut Target, name: &str) -> Result<()> {
        match kind {
            Kind::LeakedKey => self.user_with_keys(t, name, 2).await,
            Kind::Instance => self.instance(t, name).await,
            Kind::PublicBucket => self.bucket(t, name, true).await,
            Kind::BucketAccess => {
                self.bucket(t, name, false).await?;
                self.user_with_keys(t, name, 1).await
            }
            Kind::MaliciousSnapshot => {
                let topic = self
                    .sns
                    .create_topic()
                    .name(name)
                    .send()
                    .await
                    .map_err(sdk("creating the drill alert topic"))?;
                t.topic = topic.topic_arn().map(str::to_string);
                Ok(())
            }
        }
    }

    /// The finding GuardDuty would send about the target.
    fn finding(&self, kind: Kind, t: &Target, id: &str) -> Result<Value> {
        let mut f: Value = serde_json::from_str(kind.template()).context("drill template")?;
        f["id"] = id.into();
        f["accountId"] = self.account.clone().into();
        f["region"] = self.region.clone().into();
        let title = f["title"]
            .as_str()
            .unwrap_or("GuardDuty finding")
            .to_string();
        f["title"] = format!("[DRILL] {title}").into();
        let s = |v: &Option<String>| v.clone().unwrap_or_default();
        match kind {
            Kind::LeakedKey | Kind::BucketAccess => {
                f["resource"]["accessKeyDetails"]["userName"] = s(&t.user).into();
                f["resource"]["accessKeyDetails"]["accessKeyId"] = s(&t.leaked_key).into();
            }
            Kind::Instance => {
                f["resource"]["instanceDetails"]["instanceId"] = s(&t.instance).into();
            }
            _ => {}
        }
        if matches!(kind, Kind::PublicBucket | Kind::BucketAccess) {
            f["resource"]["s3BucketDetails"][0]["name"] = s(&t.bucket).into();
            f["resource"]["s3BucketDetails"][0]["arn"] =
                format!("arn:aws:s3:::{}", s(&t.bucket)).into();
        }
        Ok(f)
    }

    /// Every containment postcondition, read back from AWS.
    async fn checks(
        &self,
        kind: Kind,
        t: &Target,
        finding_id: &str,
        outcome: &Outcome,
    ) -> Vec<(String, bool)> {
        let mut out = Vec::new();
        if let Some(user) = &t.user {
            let keys: std::collections::BTreeMap<String, String> = self
                .iam
                .list_access_keys()
                .user_name(user)
                .send()
                .await
                .map(|k| {
                    k.access_key_metadata()
                        .iter()
                        .map(|m| {
                            (
                                m.access_key_id().unwrap_or_default().to_string(),
                                m.status()
                                    .map(|s| s.as_str().to_string())
                                    .unwrap_or_default(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            if let Some(k) = &t.leaked_key {
                out.push((
                    format!("leaked key {k} is Inactive"),
                    keys.get(k).map(String::as_str) == Some("Inactive"),
                ));
            }
            if let Some(k) = &t.other_key {
                out.push((
                    format!("the user's other key {k} is still Active"),
                    keys.get(k).map(String::as_str) == Some("Active"),
                ));
            }
            let denied = self
                .iam
                .list_user_policies()
                .user_name(user)
                .send()
                .await
                .map(|p| !p.policy_names().is_empty())
                .unwrap_or(false);
            out.push((format!("user {user} has a deny-all policy"), denied));
        }
        if let Some(bucket) = &t.bucket {
            let pab = self
                .s3
                .get_public_access_block()
                .bucket(bucket)
                .send()
                .await
                .ok();
            let c = pab
                .as_ref()
                .and_then(|p| p.public_access_block_configuration());
            let all = c.is_some_and(|c| {
                c.block_public_acls() == Some(true)
                    && c.ignore_public_acls() == Some(true)
                    && c.block_public_policy() == Some(true)
                    && c.restrict_public_buckets() == Some(true)
            });
            if kind == Kind::PublicBucket {
                out.push((format!("bucket {bucket} blocks all public access"), all));
            }
            if kind == Kind::BucketAccess {
                let policy = self
                    .s3
                    .get_bucket_policy()
                    .bucket(bucket)
                    .send()
                    .await
                    .ok()
                    .and_then(|p| p.policy().map(str::to_string))
                    .unwrap_or_default();
                let user = t.user.clone().unwrap_or_default();
                out.push((
                    format!("bucket {bucket} denies user {user}"),
                    policy.contains("\"Deny\"") && policy.contains(&format!(":user/{user}")),
                ));
            }
        }
        if let Some(id) = &t.instance {
            use aws_sdk_ec2::types::Filter;
            let snaps = self
                .ec2
                .describe_snapshots()
                .owner_ids("self")
                .filters(
                    Filter::builder()
                        .name("tag:firebreak:finding-id")
                        .values(finding_id)
                        .build(),
                )
                .send()
                .await
                .map(|s| s.snapshots().len())
                .unwrap_or(0);
            out.push((format!("both volumes of {id} are snapshotted"), snaps == 2));
            let protected = self
                .ec2
                .describe_instance_attribute()
                .instance_id(id)
                .attribute(aws_sdk_ec2::types::InstanceAttributeName::DisableApiTermination)
                .send()
                .await
                .ok()
                .and_then(|a| a.disable_api_termination().and_then(|v| v.value()))
                == Some(true);
            out.push((format!("{id} is protected from termination"), protected));
            let in_asg = self
                .asg
                .describe_auto_scaling_instances()
                .instance_ids(id)
                .send()
                .await
                .map(|r| !r.auto_scaling_instances().is_empty())
                .unwrap_or(true);
            out.push((format!("{id} is out of its Auto Scaling group"), !in_asg));
            if let Some(tg) = &t.target_group {
                let registered = self
                    .elb
                    .describe_target_health()
                    .target_group_arn(tg)
                    .send()
                    .await
                    .map(|h| {
                        h.target_health_descriptions().iter().any(|d| {
                            d.target().and_then(|t| t.id()) == Some(id.as_str())
                                && d.target_health()
                                    .and_then(|h| h.state())
                                    .map(|s| s.as_str())
                                    != Some("draining")
                        })
                    })
                    .unwrap_or(true);
                out.push((format!("{id} is out of its target group"), !registered));
            }
            let profiles = self
                .ec2
                .describe_iam_instance_profile_associations()
                .filters(Filter::builder().name("instance-id").values(id).build())
                .send()
                .await
                .map(|a| {
                    a.iam_instance_profile_associations()
                        .iter()
                        .any(|a| a.state().map(|s| s.as_str()) == Some("associated"))
                })
                .unwrap_or(true);
            out.push((format!("{id} has no instance profile"), !profiles));
            // Every network interface only in firebreak's isolation group.
            let enis = self
                .ec2
                .describe_network_interfaces()
                .filters(
                    Filter::builder()
                        .name("attachment.instance-id")
                        .values(id)
                        .build(),
                )
                .send()
                .await
                .map(|r| r.network_interfaces().to_vec())
                .unwrap_or_default();
            let isolated = !enis.is_empty()
                && enis.iter().all(|n| {
                    !n.groups().is_empty()
                        && n.groups().iter().all(|g| {
                            g.group_name()
                                .is_some_and(|g| g.starts_with("firebreak-isolation"))
                        })
                });
            out.push((
                format!("every network interface of {id} is only in an isolation group"),
                isolated,
            ));
        }
        if kind == Kind::MaliciousSnapshot {
            let notified = outcome
                .steps
                .iter()
                .any(|s| s.action == "sns.publish" && s.status == "succeeded");
            out.push((
                "the alert was published to the drill topic".into(),
                notified,
            ));
        }
        out
    }

    /// Removes the target; returns what could not be removed.
    async fn cleanup(&self, t: &Target, finding_id: &str) -> Vec<String> {
        let mut left = Vec::new();
        if let Some(id) = &t.instance {
            let _ = self
                .ec2
                .modify_instance_attribute()
                .instance_id(id)
                .disable_api_termination(
                    aws_sdk_ec2::types::AttributeBooleanValue::builder()
                        .value(false)
                        .build(),
                )
                .send()
                .await;
            if let Some(g) = &t.asg
                && let Err(e) = self
                    .asg
                    .delete_auto_scaling_group()
                    .auto_scaling_group_name(g)
                    .force_delete(true)
                    .send()
                    .await
            {
                left.push(format!(
                    "Auto Scaling group {g}: {}",
                    sdk::<_, _>("delete")(e)
                ));
            }
            if let Err(e) = self.ec2.terminate_instances().instance_ids(id).send().await {
                left.push(format!("instance {id}: {}", sdk::<_, _>("terminate")(e)));
            }
            if let Ok(s) = self
                .ec2
                .describe_snapshots()
                .owner_ids("self")
                .filters(
                    aws_sdk_ec2::types::Filter::builder()
                        .name("tag:firebreak:finding-id")
                        .values(finding_id)
                        .build(),
                )
                .send()
                .await
            {
                for snap in s.snapshots().iter().filter_map(|s| s.snapshot_id()) {
                    if let Err(e) = self.ec2.delete_snapshot().snapshot_id(snap).send().await {
                        left.push(format!("snapshot {snap}: {}", sdk::<_, _>("delete")(e)));
                    }
                }
            }
        }
        if let Some(lt) = &t.launch_template
            && let Err(e) = self
                .ec2
                .delete_launch_template()
                .launch_template_name(lt)
                .send()
                .await
        {
            left.push(format!(
                "launch template {lt}: {}",
                sdk::<_, _>("delete")(e)
            ));
        }
        if let Some(tg) = &t.target_group
            && let Err(e) = self
                .elb
                .delete_target_group()
                .target_group_arn(tg)
                .send()
                .await
        {
            left.push(format!("target group {tg}: {}", sdk::<_, _>("delete")(e)));
        }
        if let (Some(p), Some(r)) = (&t.profile, &t.role) {
            let _ = self
                .iam
                .remove_role_from_instance_profile()
                .instance_profile_name(p)
                .role_name(r)
                .send()
                .await;
            if let Err(e) = self
                .iam
                .delete_instance_profile()
                .instance_profile_name(p)
                .send()
                .await
            {
                left.push(format!(
                    "instance profile {p}: {}",
                    sdk::<_, _>("delete")(e)
                ));
            }
        }
        if let Some(r) = &t.role {
            if let Ok(p) = self.iam.list_role_policies().role_name(r).send().await {
                for name in p.policy_names() {
                    let _ = self
                        .iam
                        .delete_role_policy()
                        .role_name(r)
                        .policy_name(name)
                        .send()
                        .await;
                }
            }
            if let Err(e) = self.iam.delete_role().role_name(r).send().await {
                left.push(format!("role {r}: {}", sdk::<_, _>("delete")(e)));
            }
        }
        if let Some(u) = &t.user {
            if let Ok(p) = self.iam.list_user_policies().user_name(u).send().await {
                for name in p.policy_names() {
                    let _ = self
                        .iam
                        .delete_user_policy()
                        .user_name(u)
                        .policy_name(name)
                        .send()
                        .await;
                }
            }
            if let Ok(k) = self.iam.list_access_keys().user_name(u).send().await {
                for key in k
                    .access_key_metadata()
                    .iter()
                    .filter_map(|k| k.access_key_id())
                {
                    let _ = self
                        .iam
                        .delete_access_key()
                        .user_name(u)
                        .access_key_id(key)
                        .send()
                        .await;
                }
            }
            if let Err(e) = self.iam.delete_user().user_name(u).send().await {
                left.push(format!("user {u}: {}", sdk::<_, _>("delete")(e)));
            }
        }
        if let Some(b) = &t.bucket {
            let _ = self.s3.delete_bucket_policy().bucket(b).send().await;
            if let Err(e) = self.s3.delete_bucket().bucket(b).send().await {
                left.push(format!("bucket {b}: {}", sdk::<_, _>("delete")(e)));
            }
        }
        if let Some(topic) = &t.topic
            && let Err(e) = self.sns.delete_topic().topic_arn(topic).send().await
        {
            left.push(format!("topic {topic}: {}", sdk::<_, _>("delete")(e)));
        }
        left
    }
}

/// How one execution went, from its report or (through the queue) from its evidence.
#[derive(Debug, Default, serde::Serialize)]
pub struct Outcome {
    pub execution_id: String,
    pub status: String,
    pub time_to_contain_ms: Option<u64>,
    pub steps: Vec<StepOutcome>,
}

#[derive(Debug, serde::Serialize)]
pub struct StepOutcome {
    pub id: String,
    pub action: String,
    pub status: String,
    pub detail: Option<String>,
}

impl Outcome {
    fn from_report(r: &crate::engine::RunReport) -> Outcome {
        Outcome {
            execution_id: r.execution_id.clone(),
            status: text_of(&r.status),
            time_to_contain_ms: r.time_to_contain_ms,
            steps: r
                .steps
                .iter()
                .map(|s| StepOutcome {
                    id: s.id.clone(),
                    action: s.action.to_string(),
                    status: text_of(&s.status),
                    detail: s.error.clone().or(s.skip_reason.clone()),
                })
                .collect(),
        }
    }

    /// From the records of the finding's execution (the one with a manifest).
    fn from_evidence(objects: &[(String, Vec<u8>)]) -> Option<Outcome> {
        let manifest_key = objects
            .iter()
            .find(|(k, _)| k.ends_with("-manifest.json"))?;
        let folder = manifest_key.0.rsplit_once('/')?.0;
        let manifest: Value = serde_json::from_slice(&manifest_key.1).ok()?;
        let mut steps = Vec::new();
        for (k, bytes) in objects.iter().filter(|(k, _)| k.starts_with(folder)) {
            let v: Value = serde_json::from_slice(bytes).unwrap_or_default();
            if k.contains("-step-") {
                let s = &v["step"];
                steps.push(StepOutcome {
                    id: s["id"].as_str().unwrap_or_default().to_string(),
                    action: s["action"].as_str().unwrap_or_default().to_string(),
                    status: s["status"].as_str().unwrap_or_default().to_string(),
                    detail: s["error"]
                        .as_str()
                        .or(s["skip_reason"].as_str())
                        .map(str::to_string),
                });
            }
        }
        Some(Outcome {
            execution_id: manifest["execution_id"].as_str()?.to_string(),
            status: manifest["status"].as_str().unwrap_or_default().to_string(),
            time_to_contain_ms: manifest["time_to_contain_ms"].as_u64(),
            steps,
        })
    }
}

fn text_of<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// One playbook's drill.
#[derive(Debug, serde::Serialize)]
pub struct DrillReport {
    pub playbook: String,
    pub finding_id: String,
    pub outcome: Option<Outcome>,
    pub checks: Vec<(String, bool)>,
    pub audit_passed: bool,
    pub left_behind: Vec<String>,
    pub error: Option<String>,
}

impl DrillReport {
    pub fn passed(&self) -> bool {
        self.error.is_none()
            && self
                .outcome
                .as_ref()
                .is_some_and(|o| o.status == "succeeded")
            && self.checks.iter().all(|c| c.1)
            && self.audit_passed
            && self.left_behind.is_empty()
    }
}

/// A playbook being drilled: its target and finding.
struct Case {
    report: DrillReport,
    kind: Option<Kind>,
    target: Target,
    finding: Option<Finding>,
}

pub fn drill(opts: Options) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(drill_async(opts))
}

async fn drill_async(opts: Options) -> Result<ExitCode> {
    let set = crate::playbook::load_valid(&opts.playbooks).map_err(|e| e.into_command_error())?;
    let mut names: Vec<String> = if opts.all {
        set.playbooks.iter().map(|p| p.name.clone()).collect()
    } else {
        opts.names.clone()
    };
    names.sort();
    names.dedup();
    if names.is_empty() {
        bail!("name the playbooks to drill, or pass --all");
    }
    for n in &names {
        if !set.playbooks.iter().any(|p| &p.name == n) {
            bail!(
                "no playbook named `{n}` in {}\n  hint: `firebreak validate` lists them",
                opts.playbooks.display()
            );
        }
    }
    let emulator = match opts.emulator {
        true => Some(Emulator::start().await?),
        false => None,
    };
    let base = match &emulator {
        Some(e) => e.config().await,
        None => aws::load().await,
    };
    let cross = aws::CrossAccount {
        role_name: "FirebreakResponder".into(),
        external_id: None,
    };
    let acc = aws::Accounts::new(base.clone(), cross, "firebreak-drill").await?;
    let region = base
        .region()
        .map(|r| r.to_string())
        .unwrap_or_else(|| "us-east-1".into());
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&base)
            .force_path_style(true)
            .build(),
    );
    let run_tag: String = uuid::Uuid::now_v7()
        .simple()
        .to_string()
        .chars()
        .rev()
        .take(8)
        .collect();
    let (bucket, prefix) = match (&opts.evidence, &emulator) {
        (Some(t), _) => match crate::evidence::parse_target(t)
            .map_err(|e| anyhow::anyhow!("--evidence: {e}"))?
        {
            crate::evidence::Target::S3 { bucket, prefix } => (bucket, prefix),
            crate::evidence::Target::Dir(_) => bail!(
                "--evidence must be s3://BUCKET[/PREFIX]: a drill audits Object-Locked evidence"
            ),
        },
        (None, Some(_)) => {
            let bucket = format!("firebreak-drill-evidence-{run_tag}");
            let writers = crate::setup::writers(acc.caller_arn(), &[]);
            crate::setup::evidence_bucket(
                &s3,
                &region,
                &bucket,
                1,
                LockMode::Governance,
                false,
                &writers,
            )
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
            (bucket, String::new())
        }
        (None, None) => bail!(
            "--evidence s3://BUCKET[/PREFIX] is needed outside --emulator\n  hint: a bucket made by `firebreak setup --evidence-bucket`"
        ),
    };
    let prefix = if prefix.is_empty() {
        "drills".to_string()
    } else {
        format!("{prefix}/drills")
    };
    let store = Store::S3 {
        client: s3.clone(),
        bucket: bucket.clone(),
        prefix: prefix.clone(),
        mode: LockMode::Governance,
        retention: Duration::from_secs(86_400),
    };
    let aws = Aws {
        iam: aws_sdk_iam::Client::new(&base),
        ec2: aws_sdk_ec2::Client::new(&base),
        s3: s3.clone(),
        asg: aws_sdk_autoscaling::Client::new(&base),
        elb: aws_sdk_elasticloadbalancingv2::Client::new(&base),
        sns: aws_sdk_sns::Client::new(&base),
        account: acc.caller_account().to_string(),
        region,
    };
    println!(
        "firebreak drill: {} playbook(s) in account {} ({}), evidence s3://{bucket}/{prefix}{}",
        names.len(),
        aws.account,
        emulator
            .as_ref()
            .map_or("AWS".to_string(), |e| format!("emulator {}", e.endpoint)),
        if opts.via_queue {
            ", through a queue to serve"
        } else {
            ""
        }
    );

    // 1. Targets and findings.
    let mut cases = Vec::new();
    for name in &names {
        cases.push(prepare(&aws, &set, name, &run_tag).await);
    }
    // 2. Containment: directly, or through a queue and `serve`.
    if opts.via_queue {
        let queue = format!("firebreak-drill-{run_tag}");
        if let Err(e) = via_queue(
            &base,
            &aws,
            &store,
            &bucket,
            &prefix,
            &opts.playbooks,
            &mut cases,
            &queue,
            opts.keep,
        )
        .await
        {
            for c in cases.iter_mut().filter(|c| c.report.error.is_none()) {
                c.report.error = Some(format!("{e:#}"));
            }
        }
    } else {
        for c in cases.iter_mut() {
            let Some(f) = c.finding.clone() else { continue };
            let engine = if opts.sfn {
                crate::catalog::Engine::Sfn
            } else {
                crate::catalog::Engine::Local
            };
            let run = run_direct(
                &set,
                &c.report.playbook,
                &f,
                &c.target,
                &acc,
                &store,
                engine,
                emulator.is_some(),
            )
            .await;
            match run {
                Ok(o) => c.report.outcome = Some(o),
                Err(e) => c.report.error = Some(format!("{e:#}")),
            }
        }
    }
    // 3. Read-back checks and clean-up.
    for c in cases.iter_mut() {
        if let (Some(kind), Some(o)) = (c.kind, &c.report.outcome) {
            c.report.checks = aws.checks(kind, &c.target, &c.report.finding_id, o).await;
        }
        if !opts.keep {
            c.report.left_behind = aws.cleanup(&c.target, &c.report.finding_id).await;
        }
        print_report(&c.report);
    }
    let mut reports: Vec<DrillReport> = cases.into_iter().map(|c| c.report).collect();
    // 4. The evidence of every drill, audited as `firebreak audit` would.
    let target = format!("s3://{bucket}/{prefix}");
    let hidden = indicatif::ProgressBar::hidden();
    match crate::audit::read_s3(&s3, &bucket, &prefix, 1, &hidden).await {
        Ok((objects, problems)) => {
            let audit = crate::audit::audit(
                &target,
                objects,
                problems,
                1,
                None,
                &Default::default(),
                &hidden,
            );
            for r in &mut reports {
                r.audit_passed = audit.store_problems.is_empty()
                    && r.outcome.as_ref().is_some_and(|o| {
                        audit
                            .executions
                            .iter()
                            .any(|e| e.execution_id == o.execution_id && e.passed())
                    });
            }
            println!(
                "\naudit of {target}: {}",
                if audit.passed { "PASS" } else { "FAIL" }
            );
            for p in audit
                .store_problems
                .iter()
                .chain(audit.executions.iter().flat_map(|e| e.problems.iter()))
            {
                println!("  problem: {p}");
            }
        }
        Err(e) => println!("\naudit of {target}: FAIL ({e})"),
    }
    let passed = reports.iter().filter(|r| r.passed()).count();
    println!(
        "\ndrill {}: {passed} of {} playbook(s) passed",
        if passed == reports.len() {
            "passed"
        } else {
            "FAILED"
        },
        reports.len()
    );
    for r in reports.iter().filter(|r| !r.passed()) {
        let why: Vec<String> = r
            .error
            .iter()
            .cloned()
            .chain(
                r.checks
                    .iter()
                    .filter(|c| !c.1)
                    .map(|c| format!("check failed: {}", c.0)),
            )
            .chain((!r.audit_passed).then(|| "its evidence did not pass the audit".to_string()))
            .chain(r.left_behind.iter().map(|l| format!("left behind: {l}")))
            .collect();
        println!("  {}: {}", r.playbook, why.join("; "));
    }
    drop(emulator);
    Ok(if passed == reports.len() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(crate::exit::PROBLEMS)
    })
}

fn print_report(r: &DrillReport) {
    println!(
        "\n== {} (finding {}){}",
        r.playbook,
        r.finding_id,
        r.outcome
            .as_ref()
            .and_then(|o| o.time_to_contain_ms)
            .map(|t| format!(": contained in {t} ms"))
            .unwrap_or_default()
    );
    if let Some(e) = &r.error {
        println!("  FAIL  {e}");
    }
    for s in r.outcome.iter().flat_map(|o| o.steps.iter()) {
        match &s.detail {
            Some(d) => println!("  step  {}: {} ({d})", s.id, s.status),
            None => println!("  step  {}: {}", s.id, s.status),
        }
    }
    for (text, ok) in &r.checks {
        println!("  {}  {text}", if *ok { "PASS" } else { "FAIL" });
    }
    for l in &r.left_behind {
        println!("  FAIL  left behind: {l}");
    }
}

/// Picks the kind of target whose finding selects the playbook, builds it, and writes the
/// finding about it.
async fn prepare(aws: &Aws, set: &crate::playbook::LoadedSet, name: &str, run_tag: &str) -> Case {
    let finding_id = format!("firebreak-drill-{run_tag}-{name}");
    let mut case = Case {
        report: DrillReport {
            playbook: name.to_string(),
            finding_id: finding_id.clone(),
            outcome: None,
            checks: Vec::new(),
            audit_passed: false,
            left_behind: Vec::new(),
            error: None,
        },
        kind: None,
        target: Target::default(),
        finding: None,
    };
    let selects = |kind: Kind| -> bool {
        aws.finding(kind, &Target::default(), &finding_id)
            .ok()
            .and_then(|f| crate::finding::parse_findings(&f.to_string(), "drill").ok())
            .and_then(|mut f| f.pop())
            .is_some_and(|f| {
                select::select(&f, &set.playbooks)
                    .winner
                    .map(|p| p.name.as_str())
                    == Some(name)
            })
    };
    let Some(kind) = KINDS.into_iter().find(|k| selects(*k)) else {
        case.report.error = Some(
            "no drill finding selects this playbook (the drill builds leaked keys, instances, buckets and snapshots)"
                .into(),
        );
        return case;
    };
    case.kind = Some(kind);
    let target_name = format!("firebreak-drill-{run_tag}-{}", kind_slug(kind));
    let built = async {
        aws.build(kind, &mut case.target, &target_name).await?;
        let f = aws.finding(kind, &case.target, &finding_id)?;
        crate::finding::parse_findings(&f.to_string(), "drill")
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .pop()
            .context("the drill finding did not parse")
    }
    .await;
    match built {
        Ok(f) => case.finding = Some(f),
        Err(e) => case.report.error = Some(format!("{e:#}")),
    }
    case
}

fn drill_inputs(t: &Target) -> std::collections::BTreeMap<String, String> {
    t.topic
        .iter()
        .map(|topic| ("sns_topic_arn".to_string(), topic.clone()))
        .collect()
}

/// The drilled playbook and the finding bound to it.
fn bound<'a>(
    set: &'a crate::playbook::LoadedSet,
    name: &str,
    f: &Finding,
    inputs: &std::collections::BTreeMap<String, String>,
) -> Result<(&'a crate::playbook::Playbook, crate::plan::Plan)> {
    let pb = set
        .playbooks
        .iter()
        .find(|p| p.name == name)
        .context("playbook vanished")?;
    let plan = plan::compile_with(f, pb, inputs).map_err(|errors| {
        anyhow::anyhow!(
            errors
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        )
    })?;
    Ok((pb, plan))
}

/// Runs the finding as `run` does, on `engine`: on Step Functions, the playbook's state
/// machine is deployed first (with the drill's inputs), as `firebreak deploy` does.
#[allow(clippy::too_many_arguments)]
async fn run_direct(
    set: &crate::playbook::LoadedSet,
    name: &str,
    f: &Finding,
    target: &Target,
    acc: &aws::Accounts,
    store: &Store,
    engine: crate::catalog::Engine,
    emulator: bool,
) -> Result<Outcome> {
    let inputs = drill_inputs(target);
    let (pb, plan) = bound(set, name, f, &inputs)?;
    if engine == crate::catalog::Engine::Sfn {
        let evidence = match store {
            Store::S3 { bucket, prefix, .. } => Some((bucket.as_str(), prefix.as_str())),
            Store::Local { .. } => None,
        };
        crate::sfn::deploy(&[pb], &inputs, evidence, emulator, acc.base()).await?;
    }
    let exec = crate::run::Exec {
        dry_run: false,
        concurrency: 16,
        role_name: "FirebreakResponder",
        sign_key: None,
        sealer: None,
        engine,
        state_machine: None,
    };
    let (_never_tx, never) = watch::channel(false);
    let (run, _) = crate::run::execute(
        f,
        pb,
        plan,
        acc,
        Some(store),
        uuid::Uuid::now_v7().to_string(),
        &exec,
        never,
        false,
        Instant::now(),
        None,
    )
    .await?;
    Ok(Outcome::from_report(&run))
}

/// Sends every finding to a drill queue as the EventBridge rule would deliver it, contains them
/// with `serve --drain`, and reads each outcome back from the evidence. (EventBridge itself is
/// skipped: AWS reserves `aws.*` event sources, so only GuardDuty can put these events.)
#[allow(clippy::too_many_arguments)]
async fn via_queue(
    base: &aws_config::SdkConfig,
    aws: &Aws,
    store: &Store,
    bucket: &str,
    prefix: &str,
    playbooks: &std::path::Path,
    cases: &mut [Case],
    queue: &str,
    keep: bool,
) -> Result<()> {
    let sqs = aws_sdk_sqs::Client::new(base);
    let events = aws_sdk_eventbridge::Client::new(base);
    let (_, url) = crate::setup::finding_queue(&sqs, &events, queue, None, 5)
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    let mut inputs = std::collections::BTreeMap::new();
    for c in cases.iter() {
        inputs.extend(drill_inputs(&c.target));
        let Some(f) = &c.finding else { continue };
        let event = json!({
            "version": "0", "id": uuid::Uuid::now_v7().to_string(),
            "detail-type": "GuardDuty Finding", "source": "aws.guardduty",
            "account": aws.account, "region": aws.region,
            "time": crate::evidence::now_rfc3339(), "resources": [],
            "detail": serde_json::from_str::<Value>(&f.raw).unwrap_or_default(),
        });
        sqs.send_message()
            .queue_url(&url)
            .message_body(event.to_string())
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "sending the drill finding: {}",
                    crate::aws::classify(&e, "sqs", "SendMessage")
                )
            })?;
    }
    let (seal_key, _) =
        crate::setup::seal_key(&aws_sdk_kms::Client::new(base), crate::seal::DEFAULT_ALIAS)
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
    let worker = crate::worker::Worker::new(
        base.clone(),
        crate::worker::Options {
            evidence: format!("s3://{bucket}/{prefix}"),
            playbooks: playbooks.to_path_buf(),
            inputs,
            step_concurrency: 16,
            engine: crate::catalog::Engine::Local,
            lease: Duration::from_secs(300),
            cross: aws::CrossAccount {
                role_name: "FirebreakResponder".into(),
                external_id: None,
            },
            retention_days: 1,
            lock_mode: LockMode::Governance,
            sign_key: None,
            seal_key,
            allow_sample: false,
        },
    )
    .await?;
    let served = crate::serve::serve_queue(
        base,
        crate::serve::Options {
            queue_url: url.clone(),
            concurrency: 8,
            visibility: 30,
            wait_seconds: 1,
            drain: true,
            metrics: None,
        },
        worker,
    )
    .await;
    for c in cases.iter_mut().filter(|c| c.finding.is_some()) {
        let folder = crate::evidence::folder(store.prefix(), &[&aws.account, &c.report.finding_id]);
        match store.read_folder(&folder).await {
            Ok(objects) => match Outcome::from_evidence(&objects) {
                Some(o) => c.report.outcome = Some(o),
                None => {
                    c.report.error = Some("serve left no complete execution for the finding".into())
                }
            },
            Err(e) => c.report.error = Some(format!("reading the evidence back: {e}")),
        }
    }
    if !keep {
        let _ = events
            .remove_targets()
            .rule(format!("firebreak-{queue}"))
            .ids("firebreak-queue")
            .send()
            .await;
        let _ = events
            .delete_rule()
            .name(format!("firebreak-{queue}"))
            .send()
            .await;
        let _ = sqs.delete_queue().queue_url(&url).send().await;
        if let Ok(dlq) = sqs
            .get_queue_url()
            .queue_name(format!("{queue}-dead-letter"))
            .send()
            .await
            && let Some(u) = dlq.queue_url()
        {
            let _ = sqs.delete_queue().queue_url(u).send().await;
        }
    }
    served.map(|_| ())
}

fn kind_slug(k: Kind) -> &'static str {
    match k {
        Kind::LeakedKey => "user",
        Kind::Instance => "instance",
        Kind::PublicBucket => "public",
        Kind::BucketAccess => "data",
        Kind::MaliciousSnapshot => "alerts",
    }
}
