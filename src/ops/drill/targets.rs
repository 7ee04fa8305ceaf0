//! The drill's targets: made for each kind (tagged `firebreak:drill`), described by a
//! synthesized finding, and removed afterwards.

use anyhow::{Context, Result};
use serde_json::{Value, json};

use super::{Aws, Kind, Target, err, sdk, tag_iam};

impl Aws {
    pub(super) async fn user_with_keys(
        &self,
        t: &mut Target,
        name: &str,
        keys: usize,
    ) -> Result<()> {
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

    pub(super) async fn bucket(&self, t: &mut Target, name: &str, public: bool) -> Result<()> {
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
            self.put_policy(name, &policy, "making the drill bucket public")
                .await?;
        }
        Ok(())
    }

    /// Gives bucket `name` `policy` (`what` says why, in an error).
    async fn put_policy(&self, name: &str, policy: &Value, what: &str) -> Result<()> {
        self.s3
            .put_bucket_policy()
            .bucket(name)
            .policy(policy.to_string())
            .send()
            .await
            .map_err(sdk(what))?;
        Ok(())
    }

    /// A bucket with a policy statement of its own and an object with a tag, as Malware
    /// Protection for S3 finds one. (Its text is harmless, and not the EICAR test string,
    /// which would make scanners flag firebreak's own binary.)
    async fn malicious_object(&self, t: &mut Target, name: &str) -> Result<()> {
        self.bucket(t, name, false).await?;
        let policy = json!({"Version": "2012-10-17", "Statement": [{
            "Sid": "DrillPartnerUpload", "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{}:root", self.account)},
            "Action": "s3:PutObject", "Resource": format!("arn:aws:s3:::{name}/inbox/*")}]});
        self.put_policy(name, &policy, "giving the drill bucket a policy")
            .await?;
        let key = "inbox/invoice.pdf.exe";
        let put = self
            .s3
            .put_object()
            .bucket(name)
            .key(key)
            .body(aws_sdk_s3::primitives::ByteStream::from_static(
                b"firebreak drill: this object stands for one with malware",
            ))
            .tagging("team=billing")
            .send()
            .await
            .map_err(sdk("uploading the drill object"))?;
        t.object = Some((key.to_string(), put.version_id().map(str::to_string)));
        Ok(())
    }

    /// The region's default VPC and its subnets.
    pub(super) async fn default_vpc(&self) -> Result<(String, Vec<String>)> {
        use aws_sdk_ec2::types::Filter;
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
        let subnets = self
            .ec2
            .describe_subnets()
            .filters(filter("vpc-id", &vpc))
            .send()
            .await
            .map_err(sdk("finding subnets"))?
            .subnets()
            .iter()
            .filter_map(|s| s.subnet_id())
            .map(str::to_string)
            .collect();
        Ok((vpc, subnets))
    }

    pub(super) async fn instance(&self, t: &mut Target, name: &str) -> Result<()> {
        use aws_sdk_ec2::types::{
            BlockDeviceMapping, EbsBlockDevice, Filter, IamInstanceProfileSpecification,
            ResourceType, Tag, TagSpecification,
        };
        let filter = |k: &str, v: &str| Filter::builder().name(k).values(v).build();
        let (vpc, subnets) = self.default_vpc().await?;
        let subnet = subnets
            .into_iter()
            .next()
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

    pub(super) async fn build(&self, kind: Kind, t: &mut Target, name: &str) -> Result<()> {
        match kind {
            Kind::LeakedKey => self.user_with_keys(t, name, 2).await,
            Kind::Instance => self.instance(t, name).await,
            Kind::PublicBucket => self.bucket(t, name, true).await,
            Kind::BucketAccess => {
                self.bucket(t, name, false).await?;
                self.user_with_keys(t, name, 1).await
            }
            Kind::MaliciousSnapshot => self.shared_snapshot(t, name).await.map(|_| ()),
            Kind::MaliciousImage => {
                let snapshot = self.shared_snapshot(t, name).await?;
                let image = self
                    .ec2
                    .register_image()
                    .name(name)
                    .root_device_name("/dev/xvda")
                    .block_device_mappings(
                        aws_sdk_ec2::types::BlockDeviceMapping::builder()
                            .device_name("/dev/xvda")
                            .ebs(
                                aws_sdk_ec2::types::EbsBlockDevice::builder()
                                    .snapshot_id(snapshot)
                                    .build(),
                            )
                            .build(),
                    )
                    .send()
                    .await
                    .map_err(sdk("registering the drill image"))?
                    .image_id()
                    .map(str::to_string)
                    .context("RegisterImage returned no image id")?;
                t.image = Some(image.clone());
                use aws_sdk_ec2::types::{
                    LaunchPermission, LaunchPermissionModifications, PermissionGroup,
                };
                self.ec2
                    .modify_image_attribute()
                    .image_id(image)
                    .launch_permission(
                        LaunchPermissionModifications::builder()
                            .add(
                                LaunchPermission::builder()
                                    .group(PermissionGroup::All)
                                    .build(),
                            )
                            .add(LaunchPermission::builder().user_id(OTHER_ACCOUNT).build())
                            .build(),
                    )
                    .send()
                    .await
                    .map_err(sdk("sharing the drill image"))?;
                Ok(())
            }
            Kind::Function => self.function(t, name).await,
            Kind::Database => self.database(t, name).await,
            Kind::MaliciousObject => self.malicious_object(t, name).await,
            Kind::EcsTask => self.ecs_task(t, name).await,
            Kind::EksCluster => self.eks_cluster(t, name).await,
            Kind::MaliciousRecoveryPoint => self.recovery_point(t, name).await,
        }
    }

    /// A snapshot of a new volume, shared with everyone and with another account, as malware
    /// in a snapshot is found; its id.
    async fn shared_snapshot(&self, t: &mut Target, name: &str) -> Result<String> {
        let volume = self
            .ec2
            .create_volume()
            .availability_zone(format!("{}a", self.region))
            .size(1)
            .tag_specifications(drill_tags(aws_sdk_ec2::types::ResourceType::Volume, name))
            .send()
            .await
            .map_err(sdk("creating the drill volume"))?
            .volume_id()
            .map(str::to_string)
            .context("CreateVolume returned no volume id")?;
        t.volume = Some(volume.clone());
        let snapshot = self
            .ec2
            .create_snapshot()
            .volume_id(volume)
            .description(name)
            .send()
            .await
            .map_err(sdk("creating the drill snapshot"))?
            .snapshot_id()
            .map(str::to_string)
            .context("CreateSnapshot returned no snapshot id")?;
        t.snapshot = Some(snapshot.clone());
        self.ec2
            .modify_snapshot_attribute()
            .snapshot_id(&snapshot)
            .attribute(aws_sdk_ec2::types::SnapshotAttributeName::CreateVolumePermission)
            .operation_type(aws_sdk_ec2::types::OperationType::Add)
            .group_names("all")
            .user_ids(OTHER_ACCOUNT)
            .send()
            .await
            .map_err(sdk("sharing the drill snapshot"))?;
        Ok(snapshot)
    }

    /// A Lambda function with an execution role, a function URL anyone can call and a queue
    /// feeding it, as GuardDuty Lambda Protection finds one mining.
    async fn function(&self, t: &mut Target, name: &str) -> Result<()> {
        use aws_sdk_lambda::types::{FunctionCode, FunctionUrlAuthType, Runtime};
        let role_name = format!("{name}-exec");
        let role = self
            .iam
            .create_role()
            .role_name(&role_name)
            .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#)
            .tags(tag_iam()?)
            .send()
            .await
            .map_err(sdk("creating the drill function's role"))?
            .role()
            .map(|r| r.arn().to_string())
            .context("CreateRole returned no role")?;
        t.function_role = Some(role_name);
        self.lambda
            .create_function()
            .function_name(name)
            .runtime(Runtime::Python312)
            .role(role)
            .handler("index.handler")
            .code(
                FunctionCode::builder()
                    .zip_file(aws_smithy_types::Blob::new(
                        include_bytes!("../../../data/drill/function.zip").as_slice(),
                    ))
                    .build(),
            )
            .tags("firebreak:drill", "true")
            .send()
            .await
            .map_err(sdk("creating the drill function"))?;
        t.function = Some(name.to_string());
        self.lambda
            .create_function_url_config()
            .function_name(name)
            .auth_type(FunctionUrlAuthType::None)
            .send()
            .await
            .map_err(sdk("creating the drill function's URL"))?;
        // The grant the console writes for a public URL: anyone may invoke it.
        self.lambda
            .add_permission()
            .function_name(name)
            .statement_id("FunctionURLAllowPublicAccess")
            .action("lambda:InvokeFunctionUrl")
            .principal("*")
            .function_url_auth_type(FunctionUrlAuthType::None)
            .send()
            .await
            .map_err(sdk("granting the drill function's URL to anyone"))?;
        let queue = self
            .sqs
            .create_queue()
            .queue_name(name)
            .send()
            .await
            .map_err(sdk("creating the drill function's queue"))?
            .queue_url()
            .map(str::to_string)
            .context("CreateQueue returned no URL")?;
        t.queue = Some(queue.clone());
        let arn = format!("arn:aws:sqs:{}:{}:{name}", self.region, self.account);
        let mapping = self
            .lambda
            .create_event_source_mapping()
            .function_name(name)
            .event_source_arn(arn)
            .enabled(true)
            .send()
            .await
            .map_err(sdk("connecting the queue to the drill function"))?
            .uuid()
            .map(str::to_string)
            .context("CreateEventSourceMapping returned no UUID")?;
        t.mapping = Some(mapping);
        Ok(())
    }

    /// Deletes a drill role and its inline policies (firebreak's revocation among them);
    /// what could not be deleted goes to `left`.
    pub(super) async fn delete_role(&self, r: &str, left: &mut Vec<String>) {
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

    /// The finding GuardDuty would send about the target.
    pub(super) fn finding(&self, kind: Kind, t: &Target, id: &str) -> Result<Value> {
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
            Kind::MaliciousSnapshot => {
                f["resource"]["ebsSnapshotDetails"]["snapshotArn"] =
                    format!("arn:aws:ec2:{}::snapshot/{}", self.region, s(&t.snapshot)).into();
            }
            Kind::MaliciousImage => {
                f["resource"]["ec2ImageDetails"]["imageArn"] =
                    format!("arn:aws:ec2:{}::image/{}", self.region, s(&t.image)).into();
            }
            Kind::Function => {
                let function = s(&t.function);
                let d = &mut f["resource"]["lambdaDetails"];
                d["functionName"] = function.clone().into();
                d["functionArn"] = format!(
                    "arn:aws:lambda:{}:{}:function:{function}",
                    self.region, self.account
                )
                .into();
                d["role"] =
                    format!("arn:aws:iam::{}:role/{}", self.account, s(&t.function_role)).into();
            }
            Kind::Database => {
                f["resource"]["rdsDbInstanceDetails"]["dbInstanceIdentifier"] =
                    s(&t.database).into();
                f["resource"]["rdsDbInstanceDetails"]["dbInstanceArn"] = format!(
                    "arn:aws:rds:{}:{}:db:{}",
                    self.region,
                    self.account,
                    s(&t.database)
                )
                .into();
            }
            Kind::MaliciousObject => {
                let (key, version) = t.object.clone().unwrap_or_default();
                let b = &mut f["resource"]["s3BucketDetails"][0];
                b["name"] = s(&t.bucket).into();
                b["arn"] = format!("arn:aws:s3:::{}", s(&t.bucket)).into();
                let o = &mut b["s3ObjectDetails"][0];
                o["objectArn"] = format!("arn:aws:s3:::{}/{key}", s(&t.bucket)).into();
                o["key"] = key.into();
                match version {
                    Some(v) => o["versionId"] = v.into(),
                    None => {
                        if let Some(o) = o.as_object_mut() {
                            o.remove("versionId");
                        }
                    }
                }
            }
            Kind::EcsTask => {
                let c = &mut f["resource"]["ecsClusterDetails"];
                let cluster = s(&t.cluster);
                c["name"] = cluster.rsplit('/').next().unwrap_or_default().into();
                c["arn"] = cluster.into();
                c["taskDetails"]["arn"] = s(&t.task).into();
                c["taskDetails"]["definitionArn"] = s(&t.task_definition).into();
                c["taskDetails"]["group"] = format!("service:{}", s(&t.service)).into();
            }
            Kind::EksCluster => {
                if let Some((name, arn)) = &t.eks_cluster {
                    let c = &mut f["resource"]["eksClusterDetails"];
                    c["name"] = name.clone().into();
                    c["arn"] = arn.clone().into();
                }
                f["resource"]["accessKeyDetails"]["userName"] = s(&t.eks_deployer).into();
            }
            Kind::MaliciousRecoveryPoint => {
                if let Some((vault, arn, _)) = &t.recovery_point {
                    let d = &mut f["resource"]["recoveryPointDetails"];
                    d["recoveryPointArn"] = arn.clone().into();
                    d["backupVaultName"] = vault.clone().into();
                }
            }
            Kind::PublicBucket => {}
        }
        if matches!(kind, Kind::PublicBucket | Kind::BucketAccess) {
            f["resource"]["s3BucketDetails"][0]["name"] = s(&t.bucket).into();
            f["resource"]["s3BucketDetails"][0]["arn"] =
                format!("arn:aws:s3:::{}", s(&t.bucket)).into();
        }
        Ok(f)
    }

    /// Removes the target; returns what could not be removed.
    pub(super) async fn cleanup(&self, t: &Target, finding_id: &str) -> Vec<String> {
        let mut left = self.remove_database(t, finding_id).await;
        left.extend(self.remove_recovery_point(t).await);
        left.extend(self.remove_ecs_task(t).await);
        left.extend(self.remove_eks_cluster(t).await);
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
        if let Some(m) = &t.mapping
            && let Err(e) = self
                .lambda
                .delete_event_source_mapping()
                .uuid(m)
                .send()
                .await
        {
            left.push(format!(
                "event source mapping {m}: {}",
                sdk::<_, _>("delete")(e)
            ));
        }
        if let Some(f) = &t.function
            && let Err(e) = self.lambda.delete_function().function_name(f).send().await
        {
            left.push(format!("function {f}: {}", sdk::<_, _>("delete")(e)));
        }
        if let Some(q) = &t.queue
            && let Err(e) = self.sqs.delete_queue().queue_url(q).send().await
        {
            left.push(format!("queue {q}: {}", sdk::<_, _>("delete")(e)));
        }
        if let Some(r) = &t.function_role {
            self.delete_role(r, &mut left).await;
        }
        if let Some(image) = &t.image
            && let Err(e) = self.ec2.deregister_image().image_id(image).send().await
        {
            left.push(format!("image {image}: {}", sdk::<_, _>("deregister")(e)));
        }
        if let Some(snap) = &t.snapshot
            && let Err(e) = self.ec2.delete_snapshot().snapshot_id(snap).send().await
        {
            left.push(format!("snapshot {snap}: {}", sdk::<_, _>("delete")(e)));
        }
        if let Some(volume) = &t.volume
            && let Err(e) = self.ec2.delete_volume().volume_id(volume).send().await
        {
            left.push(format!("volume {volume}: {}", sdk::<_, _>("delete")(e)));
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
            self.delete_role(r, &mut left).await;
        }
        if let Some(u) = &t.user {
            // firebreak's deny-all, attached: a user with a policy attached cannot be deleted.
            if let Ok(p) = self
                .iam
                .list_attached_user_policies()
                .user_name(u)
                .send()
                .await
            {
                for arn in p.attached_policies().iter().filter_map(|a| a.policy_arn()) {
                    let _ = self
                        .iam
                        .detach_user_policy()
                        .user_name(u)
                        .policy_arn(arn)
                        .send()
                        .await;
                }
            }
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
            if let Some((key, version)) = &t.object
                && let Err(e) = self
                    .s3
                    .delete_object()
                    .bucket(b)
                    .key(key)
                    .set_version_id(version.clone())
                    .send()
                    .await
            {
                left.push(format!("object {key}: {}", sdk::<_, _>("delete")(e)));
            }
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

/// The account a drill artifact is shared with (AWS's documentation example account).
const OTHER_ACCOUNT: &str = "111122223333";

/// The drill's tag on a new EC2 resource of `kind`.
pub(super) fn drill_tags(
    kind: aws_sdk_ec2::types::ResourceType,
    name: &str,
) -> aws_sdk_ec2::types::TagSpecification {
    aws_sdk_ec2::types::TagSpecification::builder()
        .resource_type(kind)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key("firebreak:drill")
                .value(name)
                .build(),
        )
        .build()
}
