//! What the drill reads back from AWS after containment: every postcondition of each kind.

use super::{Aws, Kind, Target};

impl Aws {
    /// How many may make a volume of `snapshot` (`None`: it cannot be read).
    async fn snapshot_shares(&self, snapshot: &str) -> Option<usize> {
        self.ec2
            .describe_snapshot_attribute()
            .snapshot_id(snapshot)
            .attribute(aws_sdk_ec2::types::SnapshotAttributeName::CreateVolumePermission)
            .send()
            .await
            .map(|a| a.create_volume_permissions().len())
            .ok()
    }

    /// Every containment postcondition, read back from AWS.
    pub(super) async fn checks(
        &self,
        kind: Kind,
        t: &Target,
        finding_id: &str,
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
                .list_attached_user_policies()
                .user_name(user)
                .send()
                .await
                .map(|p| {
                    p.attached_policies().iter().any(|a| {
                        a.policy_arn() == Some(crate::domain::catalog::names::DENY_ALL_ARN)
                    })
                })
                .unwrap_or(false);
            out.push((format!("user {user} has AWSDenyAll attached"), denied));
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
            // The bucket's policy, as text (empty when it has none).
            let policy = self
                .s3
                .get_bucket_policy()
                .bucket(bucket)
                .send()
                .await
                .ok()
                .and_then(|p| p.policy().map(str::to_string))
                .unwrap_or_default();
            let all = c.is_some_and(|c| {
                c.block_public_acls() == Some(true)
                    && c.ignore_public_acls() == Some(true)
                    && c.block_public_policy() == Some(true)
                    && c.restrict_public_buckets() == Some(true)
            });
            if kind == Kind::PublicBucket {
                out.push((format!("bucket {bucket} blocks all public access"), all));
            }
            if let (Kind::MaliciousObject, Some((key, version))) = (kind, &t.object) {
                let tags: Vec<(String, String)> = self
                    .s3
                    .get_object_tagging()
                    .bucket(bucket)
                    .key(key)
                    .set_version_id(version.clone())
                    .send()
                    .await
                    .map(|r| {
                        r.tag_set()
                            .iter()
                            .map(|t| (t.key().to_string(), t.value().to_string()))
                            .collect()
                    })
                    .unwrap_or_default();
                let has = |k: &str, v: &str| tags.iter().any(|(a, b)| a == k && b == v);
                out.push((
                    format!("object {key} is tagged for quarantine, its own tag kept"),
                    has(crate::domain::catalog::names::QUARANTINE_TAG, "true")
                        && has("team", "billing"),
                ));
                out.push((
                    format!(
                        "bucket {bucket} denies reading objects tagged for quarantine, its statement kept"
                    ),
                    policy.contains(crate::domain::define::s3::QUARANTINE_CONDITION)
                        && policy.contains("DrillPartnerUpload"),
                ));
            }
            if kind == Kind::BucketAccess {
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
        if let Some(snap) = &t.snapshot
            && kind == Kind::MaliciousSnapshot
        {
            out.push((
                format!("snapshot {snap} is shared with nobody"),
                self.snapshot_shares(snap).await == Some(0),
            ));
            out.push((
                format!("snapshot {snap} is tagged as quarantined"),
                self.quarantined(snap).await,
            ));
        }
        if let Some(image) = &t.image {
            let shares = self
                .ec2
                .describe_image_attribute()
                .image_id(image)
                .attribute(aws_sdk_ec2::types::ImageAttributeName::LaunchPermission)
                .send()
                .await
                .map(|a| a.launch_permissions().len())
                .ok();
            out.push((
                format!("image {image} can be launched by nobody else"),
                shares == Some(0),
            ));
            out.push((
                format!("image {image} is tagged as quarantined"),
                self.quarantined(image).await,
            ));
        }
        if let Some(f) = &t.function {
            let reserved = self
                .lambda
                .get_function_concurrency()
                .function_name(f)
                .send()
                .await
                .ok()
                .and_then(|c| c.reserved_concurrent_executions());
            out.push((
                format!("function {f} is throttled (reserved concurrency 0)"),
                reserved == Some(0),
            ));
            let url = self
                .lambda
                .get_function_url_config()
                .function_name(f)
                .send()
                .await
                .map(|u| u.auth_type().as_str().to_string())
                .ok();
            out.push((
                format!("the URL of function {f} needs AWS credentials"),
                url.as_deref() == Some("AWS_IAM"),
            ));
            // No policy at all ("not found") grants nothing either; an error is no answer.
            let public = match self.lambda.get_policy().function_name(f).send().await {
                Ok(p) => p
                    .policy()
                    .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok())
                    .map(|d| {
                        d["Statement"]
                            .as_array()
                            .is_some_and(|l| l.iter().any(|s| s["Principal"] == "*"))
                    }),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception()) =>
                {
                    Some(false)
                }
                Err(_) => None,
            };
            out.push((
                format!("the policy of function {f} grants nothing to anyone"),
                public == Some(false),
            ));
        }
        if let Some(m) = &t.mapping {
            let state = self
                .lambda
                .get_event_source_mapping()
                .uuid(m)
                .send()
                .await
                .ok()
                .and_then(|m| m.state().map(str::to_string));
            out.push((
                "the queue no longer feeds the function".to_string(),
                matches!(state.as_deref(), Some("Disabled" | "Disabling")),
            ));
        }
        if let Some(db) = &t.database {
            let (groups, public) = self.database_state(db).await;
            let isolated = matches!(groups.as_slice(), [g] if Some(g) != t.db_group.as_ref());
            out.push((
                format!("database {db} is only in its VPC's isolation group"),
                isolated,
            ));
            out.push((
                format!("database {db} is not publicly accessible"),
                public == Some(false),
            ));
            let snapshot = format!("firebreak-{finding_id}");
            let taken = self
                .rds
                .describe_db_snapshots()
                .db_snapshot_identifier(&snapshot)
                .send()
                .await
                .is_ok();
            out.push((format!("database {db} is snapshotted"), taken));
        }
        if let (Some(cluster), Some(task), Some(service)) = (&t.cluster, &t.task, &t.service) {
            let (status, protected) = self.task_status(cluster, task).await;
            out.push((
                format!("the task of service {service} is protected from being replaced"),
                protected == Some(true),
            ));
            out.push((
                format!("the task of service {service} is kept running for the investigation"),
                status.as_deref() == Some("RUNNING"),
            ));
            let revoked = self.role_revoked(t.task_role.as_deref()).await;
            out.push(("the task role's older sessions are denied".into(), revoked));
        }
        if let (Some((cluster, _)), Some(role)) = (&t.eks_cluster, &t.eks_deployer) {
            out.push((
                format!("the deployer role's access entry in cluster {cluster} is deleted"),
                self.has_access_entry(cluster, role).await == Some(false),
            ));
            out.push((
                "the deployer role's older sessions are denied".into(),
                self.role_revoked(Some(role)).await,
            ));
        }
        if let Some((vault, arn, _)) = &t.recovery_point {
            out.push((
                format!("vault {vault} denies restoring its recovery point"),
                self.recovery_point_quarantined(vault, arn).await,
            ));
            if let Some(snap) = arn.rsplit_once(":snapshot/").map(|(_, id)| id) {
                out.push((
                    format!("the recovery point's snapshot {snap} is shared with nobody"),
                    self.snapshot_shares(snap).await == Some(0),
                ));
            }
        }
        out
    }

    /// Whether the EC2 resource has firebreak's quarantine tag.
    async fn quarantined(&self, id: &str) -> bool {
        self.ec2
            .describe_tags()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("resource-id")
                    .values(id)
                    .build(),
            )
            .send()
            .await
            .map(|r| {
                r.tags().iter().any(|t| {
                    t.key() == Some("firebreak:quarantine") && t.value() == Some("malware")
                })
            })
            .unwrap_or(false)
    }
}
