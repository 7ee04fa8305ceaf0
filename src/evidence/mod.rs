//! Evidence: every input, step and result of an execution written as a chain of JSON records
//! (each carrying the SHA-256 of the one before) to a write-once store — an S3 bucket with Object
//! Lock, or a local folder of read-only files for offline drills — and closed by a manifest.
//! Only this module writes the evidence store.

pub mod audit;
pub mod incident;
pub mod index;
mod record;
pub mod seal;
mod store;

use std::time::SystemTime;

use serde::Serialize;
use serde_json::Value;
use tokio::sync::Mutex;

pub use record::{
    FindingRecord, Header, ManifestRecord, PlanRecord, SignatureRecord, StepRecord, schemas,
};
pub use store::{Listing, LockMode, Store, StoreError, Target, parse_target};

use crate::domain::finding::Finding;
use crate::domain::plan::Plan;
use crate::engine::{RunReport, StepReport};

pub use crate::domain::digest::{GENESIS, sha256_hex};

/// Makes one key part safe: letters, digits, `.`, `_`, `-` kept, anything else `_`; never
/// empty, `.` or `..`, at most 128 characters. A finding id like `../x` cannot leave its folder.
pub fn sanitize(part: &str) -> String {
    let mut s: String = part
        .chars()
        .take(128)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.chars().all(|c| c == '.') {
        s = s.replace('.', "_");
        if s.is_empty() {
            s.push('_');
        }
    }
    s
}

/// The evidence key layout: `{prefix}/{part}/{part}…`, every part sanitized (an empty prefix
/// is left out). Executions live at `[account, finding, execution]`, claims at
/// `["_claims", account, finding]`.
pub fn folder(prefix: &str, parts: &[&str]) -> String {
    let mut out: Vec<String> = Vec::new();
    if !prefix.is_empty() {
        out.push(prefix.to_string());
    }
    out.extend(parts.iter().map(|p| sanitize(p)));
    out.join("/")
}

/// `0003-step-deactivate_key.json` → (3, "step"): a record's sequence number and kind, for
/// the five kinds firebreak writes; `None` for any other name.
pub fn parse_record_name(name: &str) -> Option<(u64, String)> {
    let stem = name.strip_suffix(".json")?;
    let (seq, rest) = stem.split_once('-')?;
    if seq.len() != 4 {
        return None;
    }
    let seq = seq.parse().ok()?;
    let kind = rest.split('-').next()?.to_string();
    matches!(
        kind.as_str(),
        "finding" | "plan" | "step" | "manifest" | "signature"
    )
    .then_some((seq, kind))
}

/// One record's place in the manifest.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, schemars::JsonSchema)]
pub struct Entry {
    pub seq: u64,
    pub kind: String,
    pub key: String,
    pub sha256: String,
}

struct Chain {
    seq: u64,
    prev: String,
    entries: Vec<Entry>,
}

/// Writes one execution's records in order, chaining them.
pub struct Recorder {
    store: Store,
    /// `{prefix}/{account}/{finding}/{execution}`
    base: String,
    execution_id: String,
    chain: Mutex<Chain>,
    /// Seals every record written (`crate::evidence::seal`), when the execution has a seal key.
    seal: Option<crate::evidence::seal::Key>,
}

/// An RFC 3339 time (with `Z` or an offset) in epoch milliseconds; `None` when it is not one.
pub fn epoch_ms(at: &str) -> Option<i64> {
    use aws_sdk_s3::primitives::{DateTime, DateTimeFormat};
    let t = DateTime::from_str(at, DateTimeFormat::DateTimeWithOffset).ok()?;
    Some(t.secs() * 1000 + i64::from(t.subsec_nanos() / 1_000_000))
}

pub fn now_rfc3339() -> String {
    aws_sdk_s3::primitives::DateTime::from(SystemTime::now())
        .fmt(aws_sdk_s3::primitives::DateTimeFormat::DateTime)
        .unwrap_or_default()
}

impl Recorder {
    pub fn new(store: Store, account_id: &str, finding_id: &str, execution_id: &str) -> Recorder {
        Recorder {
            base: folder(store.prefix(), &[account_id, finding_id, execution_id]),
            store,
            execution_id: execution_id.to_string(),
            chain: Mutex::new(Chain {
                seq: 0,
                prev: GENESIS.to_string(),
                entries: Vec::new(),
            }),
            seal: None,
        }
    }

    /// Seals every record this recorder writes with `key` (the execution's seal key).
    pub fn with_seal(mut self, key: Option<crate::evidence::seal::Key>) -> Recorder {
        self.seal = key;
        self
    }

    /// The record's bytes: pretty JSON and a newline, sealed as its last member when the
    /// recorder has a seal key.
    fn bytes(&self, value: Value) -> Result<Vec<u8>, StoreError> {
        crate::evidence::seal::json_bytes(crate::domain::scrub::scrub(value), self.seal.as_ref())
            .map_err(|e| StoreError::Io(e.to_string()))
    }

    /// Continues an execution whose records `existing` (key, bytes; from
    /// [`Store::read_folder`]) an earlier worker wrote before it died: the chain goes on from
    /// the last record. Signatures and names that are no records are ignored.
    pub fn resume(
        store: Store,
        account_id: &str,
        finding_id: &str,
        execution_id: &str,
        existing: &[(String, Vec<u8>)],
    ) -> Recorder {
        let r = Recorder::new(store, account_id, finding_id, execution_id);
        let mut records: Vec<(u64, String, &String, &Vec<u8>)> = existing
            .iter()
            .filter_map(|(key, bytes)| {
                let (seq, kind) = parse_record_name(key.rsplit('/').next()?)?;
                (kind != "signature").then_some((seq, kind, key, bytes))
            })
            .collect();
        records.sort_by_key(|r| r.0);
        if let Some(last) = records.last() {
            let chain = Chain {
                seq: last.0 + 1,
                prev: sha256_hex(last.3),
                entries: records
                    .iter()
                    .map(|(seq, kind, key, bytes)| Entry {
                        seq: *seq,
                        kind: kind.clone(),
                        key: (*key).clone(),
                        sha256: sha256_hex(bytes),
                    })
                    .collect(),
            };
            return Recorder {
                chain: Mutex::new(chain),
                ..r
            };
        }
        r
    }

    /// The folder of this execution's records (`{prefix}/{account}/{finding}/{execution}`).
    pub fn folder(&self) -> &str {
        &self.base
    }

    /// Writes a step record at a given position, linked to `prev` as a state machine links
    /// its records (`engine: sfn`): for steps of a Step Functions execution that ended before
    /// the state machine could record them. The chain goes on after the highest record.
    pub async fn step_at(
        &self,
        seq: u64,
        prev: &str,
        r: &StepReport,
        params: &serde_json::Map<String, Value>,
    ) -> Result<Entry, StoreError> {
        let mut chain = self.chain.lock().await;
        let key = format!("{}/{seq:04}-step-{}.json", self.base, sanitize(&r.id));
        let header = Header {
            schema: "firebreak.evidence.step/v1".into(),
            seq,
            execution_id: self.execution_id.clone(),
            prev_sha256: prev.to_string(),
            recorded_at: now_rfc3339(),
            engine: Some("sfn".into()),
            seal: None,
        };
        let value = serde_json::to_value(StepRecord {
            header,
            step: r.clone(),
            params: params.clone(),
        })
        .map_err(|e| StoreError::Io(e.to_string()))?;
        let bytes = self.bytes(value)?;
        let sha = sha256_hex(&bytes);
        self.store.put(&key, bytes, &sha).await?;
        let entry = Entry {
            seq,
            kind: "step".into(),
            key,
            sha256: sha.clone(),
        };
        chain.entries.push(entry.clone());
        chain.entries.sort_by_key(|e| e.seq);
        if seq >= chain.seq {
            chain.seq = seq + 1;
            chain.prev = sha;
        }
        Ok(entry)
    }

    /// Appends a record: `build` gets the header (`schema`, `seq`, `execution_id`,
    /// `prev_sha256`, `recorded_at`) and makes the typed record, which is scrubbed, written,
    /// and only then added to the chain.
    async fn append<T: Serialize>(
        &self,
        kind: &str,
        step: Option<&str>,
        build: impl FnOnce(Header) -> T,
    ) -> Result<Entry, StoreError> {
        let mut chain = self.chain.lock().await;
        let name = match step {
            Some(s) => format!("{:04}-{kind}-{}.json", chain.seq, sanitize(s)),
            None => format!("{:04}-{kind}.json", chain.seq),
        };
        let key = format!("{}/{name}", self.base);
        let header = Header {
            schema: format!("firebreak.evidence.{kind}/v1"),
            seq: chain.seq,
            execution_id: self.execution_id.clone(),
            prev_sha256: chain.prev.clone(),
            recorded_at: now_rfc3339(),
            engine: None,
            seal: None,
        };
        let value =
            serde_json::to_value(build(header)).map_err(|e| StoreError::Io(e.to_string()))?;
        let bytes = self.bytes(value)?;
        let sha = sha256_hex(&bytes);
        self.store.put(&key, bytes, &sha).await?;
        let entry = Entry {
            seq: chain.seq,
            kind: kind.to_string(),
            key,
            sha256: sha.clone(),
        };
        chain.entries.push(entry.clone());
        chain.seq += 1;
        chain.prev = sha;
        Ok(entry)
    }

    /// The finding as received. `raw_sha256` is over `raw` as stored; should the finding
    /// carry a secret (a planted key, a password in a command line), `raw` is stored scrubbed
    /// and `raw_scrubbed` says so: no secret is ever written, even to keep a finding verbatim.
    pub async fn finding(&self, f: &Finding) -> Result<Entry, StoreError> {
        let scrubbed = crate::domain::scrub::scrub_text(&f.raw);
        self.append("finding", None, |header| FindingRecord {
            header,
            finding_id: f.id.clone(),
            finding_type: f.type_name.clone(),
            account_id: f.account_id.clone(),
            region: f.region.clone(),
            sample: f.sample,
            source: f.origin.clone(),
            // Over what is kept: a hash of the unscrubbed bytes would let a short secret be
            // found by trying values.
            raw_sha256: sha256_hex(scrubbed.as_bytes()),
            raw_scrubbed: scrubbed != f.raw,
            raw: scrubbed,
        })
        .await
    }

    pub async fn plan(&self, plan: &Plan, playbook_source: &str) -> Result<Entry, StoreError> {
        self.append("plan", None, |header| PlanRecord {
            header,
            playbook: plan.playbook.clone(),
            playbook_file: plan.playbook_file.clone(),
            playbook_sha256: sha256_hex(playbook_source.as_bytes()),
            playbook_source: playbook_source.to_string(),
            plan: plan.clone(),
        })
        .await
    }

    pub async fn step(
        &self,
        r: &StepReport,
        params: &serde_json::Map<String, Value>,
    ) -> Result<Entry, StoreError> {
        self.append("step", Some(&r.id), |header| StepRecord {
            header,
            step: r.clone(),
            params: params.clone(),
        })
        .await
    }

    /// Signs the manifest's SHA-256 with a KMS asymmetric key (ECDSA P-256) and stores the
    /// signature beside it, as `{seq}-signature.json` (outside the chain, which the manifest
    /// closes).
    pub async fn sign(
        &self,
        kms: &aws_sdk_kms::Client,
        key_id: &str,
        manifest: &Entry,
    ) -> Result<Entry, StoreError> {
        use base64::Engine as _;
        let digest: Vec<u8> = (0..manifest.sha256.len() / 2)
            .filter_map(|i| u8::from_str_radix(&manifest.sha256[2 * i..2 * i + 2], 16).ok())
            .collect();
        let signed = kms
            .sign()
            .key_id(key_id)
            .message(aws_sdk_kms::primitives::Blob::new(digest))
            .message_type(aws_sdk_kms::types::MessageType::Digest)
            .signing_algorithm(aws_sdk_kms::types::SigningAlgorithmSpec::EcdsaSha256)
            .send()
            .await
            .map_err(|e| {
                StoreError::Io(format!(
                    "signing the manifest with KMS key {key_id}: {}",
                    crate::aws::classify(&e, "kms", "Sign")
                ))
            })?;
        let signature = signed
            .signature()
            .map(|b| base64::engine::general_purpose::STANDARD.encode(b.as_ref()))
            .unwrap_or_default();
        let record = SignatureRecord {
            schema: "firebreak.evidence.signature/v1".into(),
            execution_id: self.execution_id.clone(),
            manifest_key: manifest.key.clone(),
            manifest_sha256: manifest.sha256.clone(),
            key_id: signed.key_id().unwrap_or(key_id).to_string(),
            algorithm: "ECDSA_SHA_256".into(),
            signature,
            signed_at: now_rfc3339(),
        };
        let mut bytes =
            serde_json::to_vec_pretty(&record).map_err(|e| StoreError::Io(e.to_string()))?;
        bytes.push(b'\n');
        let sha = sha256_hex(&bytes);
        let key = format!("{}/{:04}-signature.json", self.base, manifest.seq + 1);
        self.store.put(&key, bytes, &sha).await?;
        Ok(Entry {
            seq: manifest.seq + 1,
            kind: "signature".into(),
            key,
            sha256: sha,
        })
    }

    /// Closes the chain with the manifest.
    pub async fn manifest(
        &self,
        report: &RunReport,
        caller: &str,
        acted_as: Option<&str>,
        started_at: &str,
    ) -> Result<Entry, StoreError> {
        let (records, chain_head) = {
            let chain = self.chain.lock().await;
            (chain.entries.clone(), chain.prev.clone())
        };
        self.append("manifest", None, |header| ManifestRecord {
            header,
            finding_id: report.finding_id.clone(),
            finding_type: report.finding_type.clone(),
            account_id: report.account_id.clone(),
            region: report.region.clone(),
            playbook: report.playbook.clone(),
            caller: caller.to_string(),
            acted_as: acted_as.map(str::to_string),
            firebreak_version: env!("CARGO_PKG_VERSION").to_string(),
            status: report.status,
            started_at: started_at.to_string(),
            ended_at: now_rfc3339(),
            time_to_contain_ms: report.time_to_contain_ms,
            total_ms: report.total_ms,
            records,
            chain_head,
        })
        .await
    }
}

/// The engine reports each finished step here: its record is written as it ends.
impl crate::engine::Journal for Recorder {
    fn step<'a>(
        &'a self,
        report: &'a StepReport,
        params: &'a serde_json::Map<String, Value>,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<(), crate::engine::JournalError>> + Send + 'a>,
    > {
        Box::pin(async move {
            Recorder::step(self, report, params)
                .await
                .map(|_| ())
                .map_err(|e| crate::engine::JournalError(Box::new(e)))
        })
    }
}
