//! The automatic investigation: the ticket's first comment, so that the person who picks the
//! incident up starts from what AWS already knows, not from a blank page. It reads CloudTrail's
//! management events (`LookupEvents`) in the finding's account and region:
//!
//! - a leaked key: what was done with it (calls by service and region, the changes it made,
//!   the addresses it came from, the calls refused), and what was done to its user;
//! - an instance: who launched it, and the changes to its security groups;
//! - a bucket: the changes to its policy, ACL and public access block;
//!
//! plus what GuardDuty says of the resource (tags, owner). The comment is a summary; the events
//! themselves are kept in the incident's record (`investigation.json`), scrubbed like evidence.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use serde_json::{Value, json};

use crate::domain::finding::Finding;

/// Events read per lookup at most (four pages of CloudTrail's fifty).
const MAX_EVENTS: usize = 200;
/// How far back the lookups go before the finding's first sighting.
const LOOKBACK_HOURS: i64 = 24;

/// Reads what AWS knows of a finding's resource.
#[derive(Debug, Clone)]
pub struct Investigator {
    cloudtrail: aws_sdk_cloudtrail::Client,
    /// For the account's alias (none in tests of the lookups alone).
    iam: Option<aws_sdk_iam::Client>,
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
}

impl Investigator {
    /// Lookups made with `config` (the finding's account and region).
    pub fn new(config: &aws_config::SdkConfig) -> Investigator {
        Investigator {
            cloudtrail: aws_sdk_cloudtrail::Client::new(config),
            iam: Some(aws_sdk_iam::Client::new(config)),
        }
    }

    /// Lookups made on this client (tests: the SDK's mocks).
    pub fn with_client(cloudtrail: aws_sdk_cloudtrail::Client) -> Investigator {
        Investigator {
            cloudtrail,
            iam: None,
        }
    }

    /// The account's alias (`ListAccountAliases`), if it has one and it can be read.
    pub async fn account_alias(&self) -> Option<String> {
        let out = self
            .iam
            .as_ref()?
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
        let _ = write!(
            s,
            "\nFrom CloudTrail's management events in {} ({}); the events themselves are in the incident's record (`investigation.json`).",
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
    }
}

fn events_json(events: &Result<Vec<Seen>, String>) -> Value {
    match events {
        Ok(list) => Value::Array(
            list.iter()
                .map(|e| {
                    json!({"eventName": e.name, "eventSource": e.source, "awsRegion": e.region,
                           "eventTime": e.time, "username": e.user, "sourceIPAddress": e.ip,
                           "errorCode": e.error, "readOnly": e.read_only, "resources": e.resources})
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
