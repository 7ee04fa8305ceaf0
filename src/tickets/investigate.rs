//! The automatic investigation: the ticket's first comment, so that the person who picks the
//! incident up starts from what AWS already knows, not from a blank page. It reads CloudTrail's
//! management events (`LookupEvents`) in the finding's account and region:
//!
//! - a leaked key: what was done with it (calls by service and region, the changes it made,
//!   the addresses it came from, the calls refused), and what was done to its user;
//! - an instance: who launched it, and the changes to its security groups;
//! - a bucket: the changes to its policy, ACL and public access block;
//!
//! plus what GuardDuty says of the resource (tags, owner), the other GuardDuty findings on the
//! same key, instance or bucket (`ListFindings`, `GetFindings`), and for an instance its Auto
//! Scaling group (`DescribeAutoScalingInstances`) and load balancer target groups
//! (`DescribeTargetGroups`, `DescribeTargetHealth`), which isolating it takes it out of. The
//! comment is a summary; the events themselves, whole, and the other findings are kept in the
//! incident's record (`investigation.json`), scrubbed like evidence.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use serde_json::{Value, json};

use crate::domain::finding::Finding;

/// Events read per lookup at most (four pages of CloudTrail's fifty).
const MAX_EVENTS: usize = 200;
/// Other findings on the resource listed at most (the most recently updated).
const MAX_OTHER_FINDINGS: i32 = 20;
/// Target groups looked through at most for an instance.
const MAX_TARGET_GROUPS: usize = 100;
/// How far back the lookups go before the finding's first sighting.
const LOOKBACK_HOURS: i64 = 24;

/// Reads what AWS knows of a finding's resource.
#[derive(Debug, Clone)]
pub struct Investigator {
    cloudtrail: aws_sdk_cloudtrail::Client,
    /// The rest of AWS (none in tests of the CloudTrail lookups alone).
    others: Option<Others>,
}

/// The clients beside CloudTrail's.
#[derive(Debug, Clone)]
struct Others {
    /// For the account's alias.
    iam: aws_sdk_iam::Client,
    /// For the other findings on the resource.
    guardduty: aws_sdk_guardduty::Client,
    /// For an instance's group and load balancers.
    autoscaling: aws_sdk_autoscaling::Client,
    elb: aws_sdk_elasticloadbalancingv2::Client,
}

/// An investigation: the comment, and the data behind it.
#[derive(Debug, Clone)]
pub struct Investigation {
    pub summary: String,
    pub raw: Value,
}

/// One CloudTrail event, as the summary reads it.
#[derive(Debug, Clone, Default)]
struct Seen {
    name: String,
    source: String,
    region: String,
    time: String,
    user: String,
    ip: String,
    error: Option<String>,
    read_only: bool,
    resources: Vec<String>,
    /// The whole event, as CloudTrail recorded it.
    raw: Value,
}

impl Investigator {
    /// Lookups made with `config` (the finding's account and region).
    pub fn new(config: &aws_config::SdkConfig) -> Investigator {
        Investigator {
            cloudtrail: aws_sdk_cloudtrail::Client::new(config),
            others: Some(Others {
                iam: aws_sdk_iam::Client::new(config),
                guardduty: aws_sdk_guardduty::Client::new(config),
                autoscaling: aws_sdk_autoscaling::Client::new(config),
                elb: aws_sdk_elasticloadbalancingv2::Client::new(config),
            }),
        }
    }

    /// Lookups made on this client (tests: the SDK's mocks).
    pub fn with_client(cloudtrail: aws_sdk_cloudtrail::Client) -> Investigator {
        Investigator {
            cloudtrail,
            others: None,
        }
    }

    /// The account's alias (`ListAccountAliases`), if it has one and it can be read.
    pub async fn account_alias(&self) -> Option<String> {
        let out = self
            .others
            .as_ref()?
            .iam
            .list_account_aliases()
            .send()
            .await
            .ok()?;
        out.account_aliases().first().cloned()
    }

    /// Investigates `f`'s resource. A lookup that fails is said in the summary.
    pub async fn investigate(&self, f: &Finding) -> Investigation {
        let j = &f.json;
        let text = |p: &str| j.pointer(p).and_then(Value::as_str).map(str::to_string);
        let since = text("/service/eventFirstSeen")
            .and_then(|t| {
                aws_smithy_types::DateTime::from_str(
                    &t,
                    aws_smithy_types::date_time::Format::DateTime,
                )
                .ok()
            })
            .map(|t| aws_smithy_types::DateTime::from_secs(t.secs() - LOOKBACK_HOURS * 3600))
            .unwrap_or_else(|| {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs() as i64)
                    .unwrap_or_default();
                aws_smithy_types::DateTime::from_secs(now - LOOKBACK_HOURS * 3600)
            });
        let mut s = String::from("## Investigation (automatic)\n\n");
        let mut raw = serde_json::Map::new();
        let tags = f.resource_tags();
        if !tags.is_empty() {
            let t: Vec<String> = tags.iter().map(|(k, v)| format!("`{k}={v}`")).collect();
            let _ = writeln!(s, "Resource tags: {}\n", t.join(", "));
        }
        let since_text = since
            .fmt(aws_smithy_types::date_time::Format::DateTime)
            .unwrap_or_default();
        match f.resource_type.as_str() {
            "AccessKey" => {
                if let Some(key) = text("/resource/accessKeyDetails/accessKeyId") {
                    let used = self
                        .lookup(LookupAttributeKey::AccessKeyId, &key, since)
                        .await;
                    let _ = writeln!(s, "### What was done with key `{key}` since {since_text}\n");
                    section_of_actor(&mut s, &used);
                    raw.insert("events_by_key".into(), events_json(&used));
                }
                if let Some(user) = text("/resource/accessKeyDetails/userName") {
                    let changed = self
                        .lookup(LookupAttributeKey::ResourceName, &user, since)
                        .await;
                    let _ = writeln!(s, "### What was done to `{user}`\n");
                    section_of_changes(&mut s, &changed, |_| true);
                    raw.insert("events_on_user".into(), events_json(&changed));
                }
            }
            "Instance" => {
                if let Some(id) = text("/resource/instanceDetails/instanceId") {
                    let on = self
                        .lookup(LookupAttributeKey::ResourceName, &id, since)
                        .await;
                    let _ = writeln!(s, "### Instance `{id}`\n");
                    if let Ok(events) = &on {
                        match events.iter().find(|e| e.name == "RunInstances") {
                            Some(e) => {
                                let _ = writeln!(
                                    s,
                                    "Launched by `{}` at {} from {}.\n",
                                    e.user, e.time, e.ip
                                );
                            }
                            None => {
                                let _ = writeln!(
                                    s,
                                    "Its launch is not among the events read (CloudTrail keeps 90 days).\n"
                                );
                            }
                        }
                    }
                    section_of_changes(&mut s, &on, |_| true);
                    raw.insert("events_on_instance".into(), events_json(&on));
                    if let Some(o) = &self.others {
                        let serving = o.serving(&id).await;
                        section_of_serving(&mut s, &serving);
                        raw.insert(
                            "serving".into(),
                            serving.unwrap_or_else(|e| json!({"error": e})),
                        );
                    }
                    let groups: Vec<String> = j
                        .pointer("/resource/instanceDetails/networkInterfaces")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .flat_map(|n| n["securityGroups"].as_array().cloned().unwrap_or_default())
                        .filter_map(|g| g["groupId"].as_str().map(str::to_string))
                        .collect();
                    for g in groups {
                        let on = self
                            .lookup(LookupAttributeKey::ResourceName, &g, since)
                            .await;
                        let _ = writeln!(s, "### Security group `{g}`\n");
                        section_of_changes(&mut s, &on, |e| e.name.contains("SecurityGroup"));
                        raw.insert(format!("events_on_{g}"), events_json(&on));
                    }
                }
            }
            "S3Bucket" => {
                let buckets: Vec<String> = j
                    .pointer("/resource/s3BucketDetails")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|b| b["name"].as_str().map(str::to_string))
                    .collect();
                for b in buckets {
                    let on = self
                        .lookup(LookupAttributeKey::ResourceName, &b, since)
                        .await;
                    let _ = writeln!(s, "### Bucket `{b}`: policy and public access\n");
                    section_of_changes(&mut s, &on, |e| {
                        ["Policy", "Acl", "PublicAccessBlock", "OwnershipControls"]
                            .iter()
                            .any(|w| e.name.contains(w))
                    });
                    raw.insert(format!("events_on_{b}"), events_json(&on));
                }
            }
            other => {
                let _ = writeln!(
                    s,
                    "No automatic investigation for a {other} yet: see the finding's details above."
                );
            }
        }
        if let Some(o) = &self.others
            && let Some(on) = o.other_findings(f).await
        {
            section_of_findings(&mut s, &on);
            raw.insert(
                "other_findings".into(),
                on.unwrap_or_else(|e| json!({"error": e})),
            );
        }
        let _ = write!(
            s,
            "\nFrom CloudTrail's management events and GuardDuty in {} ({}); the events themselves are in the incident's record (`investigation.json`).",
            f.account_id, f.region
        );
        Investigation {
            summary: crate::domain::scrub::scrub_text(&s),
            raw: crate::domain::scrub::scrub(Value::Object(raw)),
        }
    }

    /// Up to [`MAX_EVENTS`] events with `key = value` since `since`, newest first.
    async fn lookup(
        &self,
        key: LookupAttributeKey,
        value: &str,
        since: aws_smithy_types::DateTime,
    ) -> Result<Vec<Seen>, String> {
        let attribute = LookupAttribute::builder()
            .attribute_key(key)
            .attribute_value(value)
            .build()
            .map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .cloudtrail
                .lookup_events()
                .lookup_attributes(attribute.clone())
                .start_time(since)
                .max_results(50)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| super::findings::described("LookupEvents", &e))?;
            for e in page.events() {
                out.push(seen(e));
            }
            token = page.next_token().map(str::to_string);
            if token.is_none() || out.len() >= MAX_EVENTS {
                break;
            }
        }
        out.truncate(MAX_EVENTS);
        Ok(out)
    }
}

impl Others {
    /// The other GuardDuty findings on `f`'s resource (its access key, instance or bucket) in
    /// the account's own detector, most recently updated first: `None` for a resource GuardDuty
    /// cannot be asked about by one field.
    async fn other_findings(&self, f: &Finding) -> Option<Result<Value, String>> {
        let (field, pointer) = match f.resource_type.as_str() {
            "AccessKey" => (
                "resource.accessKeyDetails.accessKeyId",
                "/resource/accessKeyDetails/accessKeyId",
            ),
            "Instance" => (
                "resource.instanceDetails.instanceId",
                "/resource/instanceDetails/instanceId",
            ),
            "S3Bucket" => (
                "resource.s3BucketDetails.name",
                "/resource/s3BucketDetails/0/name",
            ),
            _ => return None,
        };
        let value = f.json.pointer(pointer)?.as_str()?.to_string();
        let read = async {
            let detector = &crate::aws::own_detector(&self.guardduty).await?;
            let criteria = aws_sdk_guardduty::types::FindingCriteria::builder()
                .criterion(
                    field,
                    aws_sdk_guardduty::types::Condition::builder()
                        .equals(value.as_str())
                        .build(),
                )
                .build();
            let listed = self
                .guardduty
                .list_findings()
                .detector_id(detector)
                .finding_criteria(criteria)
                .sort_criteria(
                    aws_sdk_guardduty::types::SortCriteria::builder()
                        .attribute_name("updatedAt")
                        .order_by(aws_sdk_guardduty::types::OrderBy::Desc)
                        .build(),
                )
                .max_results(MAX_OTHER_FINDINGS)
                .send()
                .await
                .map_err(|e| super::findings::described("ListFindings", &e))?;
            let ids: Vec<String> = listed
                .finding_ids()
                .iter()
                .filter(|id| **id != f.id)
                .cloned()
                .collect();
            if ids.is_empty() {
                return Ok(json!([]));
            }
            let got = self
                .guardduty
                .get_findings()
                .detector_id(detector)
                .set_finding_ids(Some(ids))
                .send()
                .await
                .map_err(|e| super::findings::described("GetFindings", &e))?;
            let mut list: Vec<Value> = got
                .findings()
                .iter()
                .map(|o| {
                    json!({
                        "id": o.id(), "type": o.r#type(), "severity": o.severity(),
                        "updatedAt": o.updated_at(), "title": o.title(),
                        "count": o.service().and_then(|s| s.count()),
                        "archived": o.service().and_then(|s| s.archived()).unwrap_or(false),
                    })
                })
                .collect();
            list.sort_by(|a, b| b["updatedAt"].as_str().cmp(&a["updatedAt"].as_str()));
            Ok(Value::Array(list))
        };
        Some(read.await)
    }

    /// What the instance serves in: its Auto Scaling group and the target groups it is
    /// registered with.
    async fn serving(&self, instance: &str) -> Result<Value, String> {
        let groups = self
            .autoscaling
            .describe_auto_scaling_instances()
            .instance_ids(instance)
            .send()
            .await
            .map_err(|e| super::findings::described("DescribeAutoScalingInstances", &e))?;
        let asg: Vec<Value> = groups
            .auto_scaling_instances()
            .iter()
            .map(|g| {
                json!({"group": g.auto_scaling_group_name(), "lifecycle": g.lifecycle_state(),
                       "health": g.health_status()})
            })
            .collect();
        let mut targets = Vec::new();
        let mut token = None;
        let mut seen = 0;
        loop {
            let page = self
                .elb
                .describe_target_groups()
                .set_marker(token)
                .send()
                .await
                .map_err(|e| super::findings::described("DescribeTargetGroups", &e))?;
            for tg in page.target_groups() {
                seen += 1;
                let Some(arn) = tg.target_group_arn() else {
                    continue;
                };
                let health = self
                    .elb
                    .describe_target_health()
                    .target_group_arn(arn)
                    .send()
                    .await
                    .map_err(|e| super::findings::described("DescribeTargetHealth", &e))?;
                for d in health.target_health_descriptions() {
                    if d.target().and_then(|t| t.id()) == Some(instance) {
                        targets.push(json!({
                            "target_group": tg.target_group_name(),
                            "load_balancers": tg.load_balancer_arns(),
                            "state": d.target_health().and_then(|h| h.state()).map(|s| s.as_str()),
                        }));
                    }
                }
            }
            token = page.next_marker().map(str::to_string);
            if token.is_none() || seen >= MAX_TARGET_GROUPS {
                break;
            }
        }
        Ok(json!({"auto_scaling": asg, "target_groups": targets}))
    }
}

/// The other findings on the resource, a row each.
fn section_of_findings(s: &mut String, found: &Result<Value, String>) {
    let _ = writeln!(
        s,
        "### Other GuardDuty findings on this resource
"
    );
    let list = match found {
        Ok(Value::Array(l)) if l.is_empty() => {
            s.push_str(
                "None.

",
            );
            return;
        }
        Ok(Value::Array(l)) => l,
        Ok(_) => return,
        Err(e) => {
            let _ = writeln!(
                s,
                "Could not be read: {e}
"
            );
            return;
        }
    };
    s.push_str(
        "| last updated | type | severity | count | archived |
|---|---|---|---|---|
",
    );
    for o in list {
        let _ = writeln!(
            s,
            "| {} | `{}` | {} | {} | {} |",
            o["updatedAt"].as_str().unwrap_or("?"),
            o["type"].as_str().unwrap_or("?"),
            o["severity"],
            o["count"],
            if o["archived"] == true { "yes" } else { "no" }
        );
    }
    s.push('\n');
}

/// The instance's Auto Scaling group and target groups: isolating it takes it out of them.
fn section_of_serving(s: &mut String, serving: &Result<Value, String>) {
    let v = match serving {
        Ok(v) => v,
        Err(e) => {
            let _ = writeln!(
                s,
                "Its Auto Scaling group and load balancers could not be read: {e}
"
            );
            return;
        }
    };
    let asg = v["auto_scaling"].as_array().cloned().unwrap_or_default();
    let tgs = v["target_groups"].as_array().cloned().unwrap_or_default();
    match asg.first() {
        Some(g) => {
            let _ = writeln!(
                s,
                "In Auto Scaling group `{}` ({}): the group may replace it once it is isolated or unhealthy.\n",
                g["group"].as_str().unwrap_or("?"),
                g["lifecycle"].as_str().unwrap_or("?")
            );
        }
        None => s.push_str("In no Auto Scaling group.\n\n"),
    }
    if tgs.is_empty() {
        s.push_str("Registered with no load balancer target group.\n\n");
    } else {
        let names: Vec<String> = tgs
            .iter()
            .map(|t| {
                format!(
                    "`{}` ({})",
                    t["target_group"].as_str().unwrap_or("?"),
                    t["state"].as_str().unwrap_or("?")
                )
            })
            .collect();
        let _ = writeln!(
            s,
            "Behind load balancer target groups {}: it serves traffic until it is deregistered.\n",
            names.join(", ")
        );
    }
}

fn seen(e: &aws_sdk_cloudtrail::types::Event) -> Seen {
    let detail: Value = e
        .cloud_trail_event()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default();
    let text = |p: &str| {
        detail
            .pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    Seen {
        name: e.event_name().unwrap_or_default().to_string(),
        source: e.event_source().unwrap_or_default().to_string(),
        region: text("/awsRegion"),
        time: e
            .event_time()
            .and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
            .unwrap_or_default(),
        user: e.username().unwrap_or_default().to_string(),
        ip: text("/sourceIPAddress"),
        error: detail
            .pointer("/errorCode")
            .and_then(Value::as_str)
            .map(str::to_string),
        read_only: e.read_only() == Some("true") || detail["readOnly"] == true,
        resources: e
            .resources()
            .iter()
            .filter_map(|r| r.resource_name().map(str::to_string))
            .collect(),
        raw: detail,
    }
}

fn events_json(events: &Result<Vec<Seen>, String>) -> Value {
    match events {
        Ok(list) => Value::Array(
            list.iter()
                .map(|e| {
                    json!({"eventName": e.name, "eventSource": e.source, "awsRegion": e.region,
                           "eventTime": e.time, "username": e.user, "sourceIPAddress": e.ip,
                           "errorCode": e.error, "readOnly": e.read_only, "resources": e.resources,
                           "event": e.raw})
                })
                .collect(),
        ),
        Err(e) => json!({"error": e}),
    }
}

/// What a principal did: calls by service and region, addresses, refusals, changes.
fn section_of_actor(s: &mut String, events: &Result<Vec<Seen>, String>) {
    let events = match events {
        Ok(e) if e.is_empty() => {
            s.push_str("No CloudTrail management events.\n\n");
            return;
        }
        Ok(e) => e,
        Err(e) => {
            let _ = writeln!(s, "Could not be read: {e}\n");
            return;
        }
    };
    let mut by_service: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut ips: BTreeMap<String, usize> = BTreeMap::new();
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    for e in events {
        *by_service
            .entry((
                e.source.trim_end_matches(".amazonaws.com").to_string(),
                e.region.clone(),
            ))
            .or_default() += 1;
        if !e.ip.is_empty() {
            *ips.entry(e.ip.clone()).or_default() += 1;
        }
        if let Some(err) = &e.error {
            *errors.entry(format!("{} ({err})", e.name)).or_default() += 1;
        }
    }
    let _ = writeln!(
        s,
        "{} call(s){}. By service and region: {}.\n",
        events.len(),
        if events.len() >= MAX_EVENTS {
            " (the newest; there may be more)"
        } else {
            ""
        },
        by_service
            .iter()
            .map(|((svc, region), n)| format!("{svc} in {region}: {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        s,
        "From: {}.\n",
        ips.iter()
            .map(|(ip, n)| format!("`{ip}` ({n})"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if !errors.is_empty() {
        let _ = writeln!(
            s,
            "Refused: {}.\n",
            errors
                .iter()
                .map(|(what, n)| format!("{what} ×{n}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    section_of_changes(s, &Ok(events.clone()), |_| true);
}

/// The changes (calls that are not read-only) among `events` that `keep` selects.
fn section_of_changes(
    s: &mut String,
    events: &Result<Vec<Seen>, String>,
    keep: impl Fn(&Seen) -> bool,
) {
    let events = match events {
        Ok(e) => e,
        Err(e) => {
            let _ = writeln!(s, "Could not be read: {e}\n");
            return;
        }
    };
    let changes: Vec<&Seen> = events.iter().filter(|e| !e.read_only && keep(e)).collect();
    if changes.is_empty() {
        s.push_str("No changes recorded.\n\n");
        return;
    }
    s.push_str("| when | call | by | from | on | result |\n|---|---|---|---|---|---|\n");
    for e in changes.iter().take(25) {
        let _ = writeln!(
            s,
            "| {} | `{}` | {} | {} | {} | {} |",
            e.time,
            e.name,
            e.user.replace('|', "\\|"),
            e.ip,
            e.resources.join(", ").replace('|', "\\|"),
            e.error.as_deref().unwrap_or("ok")
        );
    }
    if changes.len() > 25 {
        let _ = writeln!(s, "\n…and {} more in the record.", changes.len() - 25);
    }
    s.push('\n');
}
