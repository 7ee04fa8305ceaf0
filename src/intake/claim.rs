//! Exactly-once containment across any number of `serve` processes: a finding is claimed by
//! writing a claim object with `If-None-Match: *` to the evidence bucket, so that S3 decides who
//! won. Claims live beside the evidence, under `{prefix}/_claims/{account}/{finding}/`:
//!
//! - `claim-{generation}.json`: who claimed the finding, for which execution, until when (the
//!   lease). A claim whose lease has expired without a `done` marker (its worker died) is taken
//!   over by writing the next generation, which again only one worker can do.
//! - `done-{execution}.json`: the execution's manifest is written; later deliveries of the
//!   finding (SQS redelivery, GuardDuty's re-sent updates with a higher `service.count`) are
//!   only recorded.
//! - `seen-{uuid}.json`: one such later delivery.
//!
//! The objects are written through the evidence store: locked like evidence, never
//! overwritten. Every one is sealed (`crate::evidence::seal`, one key per finding): a claim or `done`
//! marker whose seal does not hold was not written by firebreak. It is reported (`forged`) and
//! treated as absent, so a writer of the bucket can neither stop a containment with a forged
//! `done`, nor make a worker resume a made-up execution, nor bounce deliveries with a claim
//! held forever.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::domain::finding::Finding;
use crate::domain::step::StepError;
use crate::evidence::seal::{KeyError, SealError, Sealer};
use crate::evidence::{Store, StoreError, sha256_hex};

/// Why a finding's claims could not be read, written or settled.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    /// The evidence bucket refused or failed a call.
    #[error("{what}: {source}")]
    Bucket { what: String, source: StepError },
    /// An object's body could not be read.
    #[error("{key}: {reason}")]
    Unreadable { key: String, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("finding {0}: claim generations are exhausted")]
    Exhausted(String),
    #[error("could not settle the claim on finding {0} after 5 tries")]
    Unsettled(String),
    #[error("claim generation {0} was written by another worker: the execution was taken over")]
    TakenOver(u32),
    #[error("finding {0}: 16 forged claims in a row; not claimed")]
    Forged(String),
    /// The object that should be this worker's is not one firebreak wrote.
    #[error("{key} exists and {reason}")]
    NotOurs { key: String, reason: SealError },
}

/// The folder, right under the evidence prefix, that holds claims.
pub const CLAIMS_DIR: &str = "_claims";

/// A claim, a done marker or a sighting.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClaimRecord {
    /// `firebreak.claim/v1`
    pub schema: String,
    /// `claim`, `done` or `seen`.
    pub kind: String,
    pub finding_id: String,
    pub account_id: String,
    pub execution_id: String,
    #[serde(default)]
    pub generation: u32,
    pub worker: String,
    /// RFC 3339.
    pub at: String,
    /// Epoch milliseconds until which the claim holds (claims only).
    #[serde(default)]
    pub lease_until_ms: i64,
    /// The finding's `service.count` and `updatedAt` as delivered.
    #[serde(default)]
    pub count: Option<u64>,
    #[serde(default)]
    pub updated_at: Option<String>,
    /// SQS message id of the delivery (`seen`), or the execution's status (`done`).
    #[serde(default)]
    pub detail: Option<String>,
}

pub const SCHEMA: &str = "firebreak.claim/v1";

/// What a claim attempt found.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// This worker holds the finding: run `execution_id`. `resume`: taken over (generation >
    /// 0) from a worker whose lease expired; the execution is theirs, to be continued.
    Won {
        generation: u32,
        execution_id: String,
        resume: bool,
    },
    /// The finding was contained already, by `execution_id`.
    Done { execution_id: String },
    /// Another worker holds it until `lease_until_ms` (epoch milliseconds).
    Held {
        execution_id: String,
        lease_until_ms: i64,
    },
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Claims in one S3 evidence store.
#[derive(Clone)]
pub struct Claims {
    store: Store,
    client: aws_sdk_s3::Client,
    bucket: String,
    worker: String,
    lease: Duration,
    sealer: Sealer,
}

/// A claim attempt's result and the objects in the finding's folder whose seal did not hold
/// (to be reported: someone who is not firebreak wrote them).
pub struct Claimed {
    pub claim: Claim,
    pub forged: Vec<String>,
}

impl Claims {
    /// `None` unless the store is S3: claims need conditional writes that every worker sees.
    pub fn new(store: &Store, worker: &str, lease: Duration, sealer: Sealer) -> Option<Claims> {
        match store {
            Store::S3 { client, bucket, .. } => Some(Claims {
                store: store.clone(),
                client: client.clone(),
                bucket: bucket.clone(),
                worker: worker.to_string(),
                lease,
                sealer,
            }),
            Store::Local { .. } => None,
        }
    }

    fn folder(&self, f: &Finding) -> String {
        crate::evidence::folder(self.store.prefix(), &[CLAIMS_DIR, &f.account_id, &f.id])
    }

    fn record(&self, f: &Finding, kind: &str, execution_id: &str) -> ClaimRecord {
        ClaimRecord {
            schema: SCHEMA.into(),
            kind: kind.into(),
            finding_id: f.id.clone(),
            account_id: f.account_id.clone(),
            execution_id: execution_id.into(),
            generation: 0,
            worker: self.worker.clone(),
            at: crate::evidence::now_rfc3339(),
            lease_until_ms: 0,
            count: f.count,
            updated_at: f.updated_at.clone(),
            detail: None,
        }
    }

    async fn put(&self, key: &str, r: &ClaimRecord) -> Result<(), StoreError> {
        let seal = self
            .sealer
            .key(&crate::evidence::seal::claims_scope(
                &r.account_id,
                &r.finding_id,
            ))
            .await
            .map_err(|e| StoreError::Io(e.to_string()))?;
        let value = serde_json::to_value(r).map_err(|e| StoreError::Io(e.to_string()))?;
        let bytes = seal
            .seal_json(value)
            .map_err(|e| StoreError::Io(e.to_string()))?;
        let sha = sha256_hex(&bytes);
        self.store.put(key, bytes, &sha).await
    }

    /// A claim object: `Ok(Err(_))` when it is not one firebreak wrote for this finding (its
    /// seal does not hold, or it names another finding or kind).
    async fn get(
        &self,
        f: &Finding,
        key: &str,
        kind: &str,
    ) -> Result<Result<ClaimRecord, SealError>, ClaimError> {
        let bytes = self.get_bytes(key).await?;
        let seal = self
            .sealer
            .key(&crate::evidence::seal::claims_scope(&f.account_id, &f.id))
            .await?;
        Ok(seal.open_json(&bytes).and_then(|v| {
            serde_json::from_value::<ClaimRecord>(v)
                .ok()
                .filter(|r| r.kind == kind && r.finding_id == f.id && r.account_id == f.account_id)
                .ok_or(SealError::Mismatch)
        }))
    }

    async fn get_bytes(&self, key: &str) -> Result<Vec<u8>, ClaimError> {
        use crate::aws::GetObjectError;
        crate::aws::get_object_bytes(&self.client, &self.bucket, key)
            .await
            .map_err(|e| match e {
                GetObjectError::Call(source) => ClaimError::Bucket {
                    what: key.to_string(),
                    source,
                },
                GetObjectError::Body(reason) => ClaimError::Unreadable {
                    key: key.to_string(),
                    reason,
                },
            })
    }

    /// The claim objects' names in the finding's folder.
    async fn names(&self, folder: &str) -> Result<Vec<String>, ClaimError> {
        let mut names = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(format!("{folder}/"))
                .set_continuation_token(token)
                .send()
                .await
                .map_err(|e| ClaimError::Bucket {
                    what: "listing claims".into(),
                    source: crate::aws::classify(&e, "s3", "ListObjectsV2"),
                })?;
            for o in page.contents() {
                if let Some(k) = o.key() {
                    names.push(k.rsplit('/').next().unwrap_or_default().to_string());
                }
            }
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(names)
    }

    /// Claims `f` for this worker, or says who has it or that it is done. Races between
    /// workers are settled by S3's conditional write: exactly one `claim-N` is written. Only
    /// sealed objects count; the others are returned as forged.
    pub async fn claim(&self, f: &Finding) -> Result<Claimed, ClaimError> {
        let folder = self.folder(f);
        let mut forged = Vec::new();
        for _ in 0..5 {
            forged.clear();
            let names = self.names(&folder).await?;
            // The finding is done unless GuardDuty saw its activity again after its latest
            // `done` (`service.eventLastSeen` later), when it is contained again.
            let (finished, latest_done) = self.dones(f, &folder, &names, &mut forged).await?;
            if let Some(done) = latest_done {
                if !active_after(f, &done.at) {
                    return Ok(Claimed {
                        claim: Claim::Done {
                            execution_id: done.execution_id,
                        },
                        forged,
                    });
                }
                crate::log!("active_after_containment", finding_id = %f.id,
                    contained_by = %done.execution_id, contained_at = %done.at,
                    last_seen = %f.json.pointer("/service/eventLastSeen").and_then(|v| v.as_str()).unwrap_or_default(),
                    note = "GuardDuty saw the activity again after it was contained: contained again");
            }
            let mut generations: Vec<u32> = names
                .iter()
                .filter_map(|n| {
                    n.strip_prefix("claim-")?
                        .strip_suffix(".json")?
                        .parse::<u32>()
                        .ok()
                })
                .collect();
            generations.sort_unstable_by(|a, b| b.cmp(a));
            // The claim that counts is the latest sealed one.
            let mut latest: Option<ClaimRecord> = None;
            for g in &generations {
                let key = format!("{folder}/claim-{g:04}.json");
                match self.get(f, &key, "claim").await? {
                    Ok(c) if c.generation == *g => {
                        latest = Some(c);
                        break;
                    }
                    _ => forged.push(key),
                }
            }
            // The next generation is the one after the latest sealed claim, passing over the
            // names forged objects hold (they cannot be overwritten); a forged name, even the
            // last generation there is, never leaves the finding without one.
            let mut generation = match &latest {
                None => 0,
                Some(c) => c
                    .generation
                    .checked_add(1)
                    .ok_or_else(|| ClaimError::Exhausted(f.id.clone()))?,
            };
            while generations.contains(&generation) {
                generation = generation
                    .checked_add(1)
                    .ok_or_else(|| ClaimError::Exhausted(f.id.clone()))?;
            }
            let previous = match latest {
                // Its execution finished: a new one starts.
                Some(c) if finished.contains(&c.execution_id) => None,
                Some(c) if c.lease_until_ms > now_ms() => {
                    return Ok(Claimed {
                        claim: Claim::Held {
                            execution_id: c.execution_id,
                            lease_until_ms: c.lease_until_ms,
                        },
                        forged,
                    });
                }
                Some(c) => Some(c.execution_id),
                None => None,
            };
            let resume = previous.is_some();
            let execution_id = previous.unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
            let mut r = self.record(f, "claim", &execution_id);
            r.generation = generation;
            r.lease_until_ms = now_ms() + self.lease.as_millis() as i64;
            match self
                .put(&format!("{folder}/claim-{generation:04}.json"), &r)
                .await
            {
                Ok(()) => {
                    return Ok(Claimed {
                        claim: Claim::Won {
                            generation,
                            execution_id,
                            resume,
                        },
                        forged,
                    });
                }
                // Another worker won this generation; look again.
                Err(StoreError::Exists(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ClaimError::Unsettled(f.id.clone()))
    }

    /// The executions of `f` that finished (their sealed `done` markers among `names`), and
    /// the latest `done`; the objects whose seal does not hold go to `forged`.
    async fn dones(
        &self,
        f: &Finding,
        folder: &str,
        names: &[String],
        forged: &mut Vec<String>,
    ) -> Result<(std::collections::HashSet<String>, Option<ClaimRecord>), ClaimError> {
        let mut finished = std::collections::HashSet::new();
        let mut latest: Option<ClaimRecord> = None;
        for n in names.iter().filter(|n| is_done_name(n)) {
            let key = format!("{folder}/{n}");
            match self.get(f, &key, "done").await? {
                Ok(done) => {
                    finished.insert(done.execution_id.clone());
                    if latest.as_ref().is_none_or(|l| {
                        crate::evidence::epoch_ms(&done.at) > crate::evidence::epoch_ms(&l.at)
                    }) {
                        latest = Some(done);
                    }
                }
                Err(_) => forged.push(key),
            }
        }
        Ok((finished, latest))
    }

    /// The execution that contained `f`, if one did and GuardDuty has not seen its activity
    /// since (read only: nothing is claimed).
    pub async fn settled(&self, f: &Finding) -> Result<Option<String>, ClaimError> {
        let folder = self.folder(f);
        let names = self.names(&folder).await?;
        let (_, latest) = self.dones(f, &folder, &names, &mut Vec::new()).await?;
        Ok(latest
            .filter(|done| !active_after(f, &done.at))
            .map(|done| done.execution_id))
    }

    /// Takes over a claim whose execution cannot be continued (its records are not
    /// firebreak's): the next generation, for a new execution.
    pub async fn restart(&self, f: &Finding, generation: u32) -> Result<(u32, String), ClaimError> {
        let execution_id = uuid::Uuid::now_v7().to_string();
        let next = self.next_free(f, generation, &execution_id, None).await?;
        Ok((next, execution_id))
    }

    /// Writes a claim for `execution_id` at the first generation after `generation` that is
    /// free or held only by a forged object; fails if firebreak wrote one first.
    async fn next_free(
        &self,
        f: &Finding,
        generation: u32,
        execution_id: &str,
        detail: Option<&str>,
    ) -> Result<u32, ClaimError> {
        let mut next = generation;
        for _ in 0..16 {
            next = next
                .checked_add(1)
                .ok_or_else(|| ClaimError::Exhausted(f.id.clone()))?;
            let mut r = self.record(f, "claim", execution_id);
            r.generation = next;
            r.lease_until_ms = now_ms() + self.lease.as_millis() as i64;
            r.detail = detail.map(str::to_string);
            let key = format!("{}/claim-{next:04}.json", self.folder(f));
            match self.put(&key, &r).await {
                Ok(()) => return Ok(next),
                Err(StoreError::Exists(_)) => match self.get(f, &key, "claim").await? {
                    // A forged object holds that name: the next one.
                    Err(_) => continue,
                    Ok(_) => return Err(ClaimError::TakenOver(next)),
                },
                Err(e) => return Err(e.into()),
            }
        }
        Err(ClaimError::Forged(f.id.clone()))
    }

    /// Extends this worker's claim (generation `generation`) by a lease, by writing the next
    /// generation for the same execution; returns it. Fails if another worker wrote it first
    /// (the claim was taken over).
    pub async fn renew(
        &self,
        f: &Finding,
        generation: u32,
        execution_id: &str,
    ) -> Result<u32, ClaimError> {
        self.next_free(f, generation, execution_id, Some("renewal"))
            .await
    }

    /// Marks the finding contained by `execution_id` (its manifest is written).
    pub async fn done(
        &self,
        f: &Finding,
        execution_id: &str,
        status: &str,
    ) -> Result<(), ClaimError> {
        let mut r = self.record(f, "done", execution_id);
        r.detail = Some(status.to_string());
        let key = format!(
            "{}/done-{}.json",
            self.folder(f),
            crate::evidence::sanitize(execution_id)
        );
        match self.put(&key, &r).await {
            Ok(()) => Ok(()),
            Err(StoreError::Exists(_)) => match self.get(f, &key, "done").await? {
                Ok(_) => Ok(()),
                Err(reason) => Err(ClaimError::NotOurs { key, reason }),
            },
            Err(e) => Err(e.into()),
        }
    }

    /// Records a delivery of a finding that was not executed again.
    pub async fn seen(
        &self,
        f: &Finding,
        execution_id: &str,
        message_id: &str,
    ) -> Result<(), ClaimError> {
        let mut r = self.record(f, "seen", execution_id);
        r.detail = Some(message_id.to_string());
        let key = format!("{}/seen-{}.json", self.folder(f), uuid::Uuid::now_v7());
        Ok(self.put(&key, &r).await?)
    }
}

/// Whether GuardDuty saw `f`'s activity after `done_at` (its `service.eventLastSeen` is later).
fn active_after(f: &Finding, done_at: &str) -> bool {
    let last = f
        .json
        .pointer("/service/eventLastSeen")
        .and_then(|v| v.as_str())
        .and_then(crate::evidence::epoch_ms);
    matches!((last, crate::evidence::epoch_ms(done_at)), (Some(last), Some(done)) if last > done)
}

/// `done.json` (older workers) or `done-{execution}.json`.
pub fn is_done_name(name: &str) -> bool {
    name == "done.json" || name.starts_with("done-") && name.ends_with(".json")
}
