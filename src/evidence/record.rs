//! The evidence record types. `evidence-schemas/` holds the JSON Schemas generated from them
//! (`FIREBREAK_WRITE_SCHEMAS=1 cargo test schemas` rewrites them; a test fails when stale).

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value};

use super::Entry;
use crate::domain::finding::Origin;
use crate::domain::plan::Plan;
use crate::engine::{RunStatus, StepReport};

/// Fields every record starts with.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Header {
    /// `firebreak.evidence.<kind>/v1`.
    pub schema: String,
    /// Position in the execution's chain, from 0.
    pub seq: u64,
    /// The execution (UUIDv7).
    pub execution_id: String,
    /// SHA-256 (hex) of the previous record's bytes; 64 zeros for the first.
    pub prev_sha256: String,
    /// When the record was written (RFC 3339, UTC).
    pub recorded_at: String,
    /// `sfn` in records written by a Step Functions state machine: their `prev_sha256` is the
    /// SHA-256 of the record before them on their own branch of the plan (an earlier record,
    /// not always the one numbered just before), as parallel branches cannot share one chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// HMAC-SHA256 (hex) of the record's pretty-printed bytes without this member, under the
    /// execution's seal key (derived from firebreak's KMS HMAC key): present, as the last
    /// member, in records written by `serve`, `watch` and `run --seal-key`. A record whose seal
    /// does not hold was not written by firebreak; `serve` never resumes from one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal: Option<String>,
}

/// The finding as received.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FindingRecord {
    #[serde(flatten)]
    pub header: Header,
    pub finding_id: String,
    pub finding_type: String,
    pub account_id: String,
    pub region: String,
    pub sample: bool,
    pub source: Origin,
    /// SHA-256 of `raw` as stored: the bytes received, unless `raw_scrubbed` (a hash of
    /// unscrubbed bytes would let a short secret be found by trying values).
    pub raw_sha256: String,
    /// True when `raw` had secrets replaced by the scrubber.
    pub raw_scrubbed: bool,
    /// The finding's JSON text.
    pub raw: String,
}

/// The playbook and the plan bound to the finding.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PlanRecord {
    #[serde(flatten)]
    pub header: Header,
    pub playbook: String,
    pub playbook_file: String,
    pub playbook_sha256: String,
    pub playbook_source: String,
    pub plan: Plan,
}

/// One step: what it was asked, what it did and found.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StepRecord {
    #[serde(flatten)]
    pub header: Header,
    pub step: StepReport,
    /// The parameters the step ran with (empty for skipped steps).
    pub params: Map<String, Value>,
}

/// Closes the chain: every record's key and hash, the outcome and timings.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ManifestRecord {
    #[serde(flatten)]
    pub header: Header,
    pub finding_id: String,
    pub finding_type: String,
    pub account_id: String,
    pub region: String,
    pub playbook: String,
    /// The identity firebreak acted as (STS caller ARN).
    pub caller: String,
    /// The identity the steps acted as in the finding's account: the caller in its own
    /// account, else the responder role's session named after the execution
    /// (`…:assumed-role/ROLE/firebreak-{execution_id}`, as CloudTrail shows it). Absent in a
    /// manifest a state machine wrote (its execution role acted) and when the role could not be
    /// assumed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acted_as: Option<String>,
    pub firebreak_version: String,
    pub status: RunStatus,
    pub started_at: String,
    pub ended_at: String,
    pub time_to_contain_ms: Option<u64>,
    /// Absent in a manifest written by the state machine (see `started_at`, `ended_at`).
    #[serde(default)]
    pub total_ms: u64,
    pub records: Vec<Entry>,
    /// SHA-256 of the last record before this manifest.
    pub chain_head: String,
}

/// A KMS signature of the manifest, stored beside it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, JsonSchema)]
pub struct SignatureRecord {
    /// `firebreak.evidence.signature/v1`.
    pub schema: String,
    pub execution_id: String,
    pub manifest_key: String,
    /// The SHA-256 (hex) of the manifest's bytes: the digest that was signed.
    pub manifest_sha256: String,
    /// The KMS key (ARN) that signed.
    pub key_id: String,
    /// `ECDSA_SHA_256` over the digest.
    pub algorithm: String,
    /// The DER signature, base64.
    pub signature: String,
    pub signed_at: String,
}

/// The schemas, by file name, as pretty JSON.
pub fn schemas() -> Vec<(&'static str, String)> {
    let render = |s: schemars::Schema| serde_json::to_string_pretty(&s).unwrap_or_default() + "\n";
    vec![
        (
            "finding.schema.json",
            render(schemars::schema_for!(FindingRecord)),
        ),
        (
            "plan.schema.json",
            render(schemars::schema_for!(PlanRecord)),
        ),
        (
            "step.schema.json",
            render(schemars::schema_for!(StepRecord)),
        ),
        (
            "manifest.schema.json",
            render(schemars::schema_for!(ManifestRecord)),
        ),
        (
            "signature.schema.json",
            render(schemars::schema_for!(SignatureRecord)),
        ),
        (
            "index.schema.json",
            render(schemars::schema_for!(super::index::IndexRecord)),
        ),
    ]
}
