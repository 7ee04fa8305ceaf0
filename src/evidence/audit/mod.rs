//! `firebreak audit`: reads an evidence store back and checks, per execution, that every record
//! is present, unaltered, in order and chained, that the manifest lists exactly what is there,
//! and (in S3) that every object is locked for the required retention in a bucket that enforces
//! Object Lock, with no second version and no deletion.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use futures_util::StreamExt as _;
use indicatif::ProgressBar;
use serde::Serialize;
use serde_json::Value;

use crate::evidence::{GENESIS, sha256_hex};

mod index;
mod read;
mod render;
mod schemas;

pub use index::IndexSummary;

/// The audit's progress (drawn on stderr when it is a terminal): a count of the objects found
/// while the bucket is listed, a bar once their number is known.
pub fn progress() -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {msg} {pos} objects") {
        bar.set_style(style);
    }
    bar
}

/// Turns `progress` into a bar of `len` objects, from the start.
pub(crate) fn as_bar(progress: &ProgressBar, len: u64) {
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg:>9} [{bar:40}] {pos}/{len} objects ({rate}, {eta} left)",
    ) {
        progress.set_style(
            style
                .with_key(
                    "rate",
                    |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = w.write_str(&rate(s.per_sec()));
                    },
                )
                .progress_chars("=> "),
        );
    }
    progress.set_length(len);
    progress.set_position(0);
}

/// Objects a second, whole.
fn rate(per_sec: f64) -> String {
    format!("{:.0}/s", per_sec.max(0.0))
}

pub use read::{READ_CONCURRENCY, read_local, read_s3, verify_signatures};
use render::{fmt_time, short};
pub use render::{render, render_html};
use schemas::schema_problems;

/// One object as read from the store.
#[derive(Debug, Clone)]
pub struct Object {
    pub key: String,
    pub bytes: Vec<u8>,
    /// S3 only: lock mode, retain-until (epoch seconds), last modified (epoch seconds), versions.
    pub lock_mode: Option<String>,
    pub retain_until: Option<i64>,
    pub last_modified: Option<i64>,
    pub versions: usize,
    pub s3: bool,
}

/// What the audit found for one execution.
#[derive(Debug, Clone, Serialize)]
pub struct ExecutionAudit {
    pub path: String,
    pub execution_id: String,
    pub finding_id: Option<String>,
    pub playbook: Option<String>,
    pub status: Option<String>,
    pub account_id: Option<String>,
    pub region: Option<String>,
    pub time_to_contain_ms: Option<u64>,
    pub complete: bool,
    pub records: usize,
    pub problems: Vec<String>,
    pub timeline: Vec<TimelineEntry>,
}

impl ExecutionAudit {
    pub fn passed(&self) -> bool {
        self.problems.is_empty() && self.complete
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    pub at: String,
    /// `finding`, `plan`, `step` or `manifest`.
    pub kind: String,
    /// A step's or the execution's status (`succeeded`, `failed`, `skipped`, …); empty for
    /// the finding and the plan.
    pub outcome: String,
    pub what: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    pub target: String,
    pub store_problems: Vec<String>,
    /// Claim records of `serve` (claims, done markers, later deliveries) checked.
    pub claims: usize,
    pub executions: Vec<ExecutionAudit>,
    /// The execution index (`crate::evidence::index`), when the store has one.
    pub index: Option<IndexSummary>,
    /// What this audit could not prove, given what it was told (no `--sign-key`, no
    /// `--seal-key`).
    pub notes: Vec<String>,
    pub passed: bool,
}

/// Checks objects grouped by execution folder. `min_retention_days` applies to S3 objects.
/// What KMS said of one signature record (keyed by the signature object's key).
#[derive(Debug, Clone)]
pub struct SignatureCheck {
    pub valid: bool,
    pub key_id: String,
    pub detail: String,
}

/// What the audit requires beyond the records themselves: signatures, seals, an index head.
#[derive(Debug, Clone, Default)]
pub struct SignaturePolicy {
    /// Every manifest must be signed by this key (KMS key id or ARN; matched as a suffix).
    pub expected_key: Option<String>,
    /// Results of KMS Verify, by signature object key.
    pub checks: BTreeMap<String, SignatureCheck>,
    /// With `--seal-key`: the derived seal keys, by scope (`crate::evidence::seal`). Every claim and
    /// every record (but those a state machine wrote) must then carry a seal that holds.
    pub seals: Option<BTreeMap<String, crate::evidence::seal::Key>>,
    /// With `--index-head`: an index entry (number, SHA-256) an earlier audit saw, which the
    /// index must still hold as it was.
    pub index_head: Option<(u64, String)>,
}

/// The seal scopes of the objects: each execution's (from its finding record), each
/// finding's claims, the incident records' and the index's.
pub fn seal_scopes(objects: &[Object]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for o in objects {
        if o.key
            .split('/')
            .any(|part| part == crate::evidence::index::INDEX_DIR)
        {
            out.insert(crate::evidence::index::INDEX_SCOPE.to_string());
            continue;
        }
        if o.key
            .split('/')
            .any(|part| part == crate::evidence::incident::INCIDENTS_DIR)
        {
            out.insert(crate::evidence::seal::INCIDENTS_SCOPE.to_string());
            continue;
        }
        let name = o.key.rsplit('/').next().unwrap_or_default();
        let claim = o
            .key
            .contains(&format!("{}/", crate::intake::claim::CLAIMS_DIR));
        let record = crate::evidence::parse_record_name(name);
        if !claim && record.is_some() {
            // The folder's own names, for an execution without a finding record.
            let parts: Vec<&str> = o.key.rsplit('/').skip(1).take(3).collect();
            if let [exec, fid, acc] = parts.as_slice() {
                out.insert(crate::evidence::seal::execution_scope(acc, fid, exec));
            }
        }
        let finding = record.is_some_and(|(_, k)| k == "finding");
        if !claim && !finding {
            continue;
        }
        let Ok(v) = serde_json::from_slice::<Value>(&o.bytes) else {
            continue;
        };
        let (Some(acc), Some(fid)) = (v["account_id"].as_str(), v["finding_id"].as_str()) else {
            continue;
        };
        if claim {
            out.insert(crate::evidence::seal::claims_scope(acc, fid));
        } else if let Some(exec) = v["execution_id"].as_str() {
            out.insert(crate::evidence::seal::execution_scope(acc, fid, exec));
        }
    }
    out
}

/// Derives the seal keys of `scopes` (16 KMS calls at a time).
pub async fn seal_keys(
    sealer: &crate::evidence::seal::Sealer,
    scopes: BTreeSet<String>,
) -> Result<BTreeMap<String, crate::evidence::seal::Key>, crate::evidence::seal::KeyError> {
    let keys: Vec<Result<(String, crate::evidence::seal::Key), crate::evidence::seal::KeyError>> =
        futures_util::stream::iter(
            scopes
                .into_iter()
                .map(|scope| async move { sealer.key(&scope).await.map(|k| (scope, k)) }),
        )
        .buffer_unordered(16)
        .collect()
        .await;
    keys.into_iter().collect()
}

pub fn audit(
    target: &str,
    objects: Vec<Object>,
    store_problems: Vec<String>,
    min_retention_days: u32,
    only: Option<&str>,
    signatures: &SignaturePolicy,
    progress: &ProgressBar,
) -> AuditReport {
    let mut store_problems = store_problems;
    let prefix = match crate::evidence::parse_target(target) {
        Ok(crate::evidence::Target::S3 { prefix, .. }) if !prefix.is_empty() => {
            format!("{prefix}/")
        }
        _ => String::new(),
    };
    let claims_dir = format!("{prefix}{}/", crate::intake::claim::CLAIMS_DIR);
    let (claims, objects): (Vec<Object>, Vec<Object>) = objects
        .into_iter()
        .partition(|o| o.key.starts_with(&claims_dir));
    // Incident records (`crate::tickets`) are no execution's: each must be one.
    let incidents_dir = format!("{prefix}{}/", crate::evidence::incident::INCIDENTS_DIR);
    let (incidents, objects): (Vec<Object>, Vec<Object>) = objects
        .into_iter()
        .partition(|o| o.key.starts_with(&incidents_dir));
    // The execution index's entries: right inside an `_index` folder (under the prefix, or
    // under the prefix's copy in a folder).
    let (index, objects): (Vec<Object>, Vec<Object>) = objects
        .into_iter()
        .partition(|o| o.key.rsplit('/').nth(1) == Some(crate::evidence::index::INDEX_DIR));
    // With the seal keys, each must be sealed, as `serve` and `watch` seal them.
    let incidents_key = signatures
        .seals
        .as_ref()
        .and_then(|k| k.get(crate::evidence::seal::INCIDENTS_SCOPE));
    store_problems.extend(incidents.iter().filter_map(|o| {
        match serde_json::from_slice::<crate::evidence::incident::Entry>(&o.bytes) {
            Ok(e) if e.schema == crate::evidence::incident::SCHEMA => match incidents_key {
                Some(k) => k.open_json(&o.bytes).err().map(|err| {
                    format!(
                        "{}: incident record {err} (forged: firebreak seals every incident record)",
                        o.key
                    )
                }),
                None => None,
            },
            Ok(e) => Some(format!(
                "{}: not an incident record (schema {})",
                o.key, e.schema
            )),
            Err(e) => Some(format!("{}: not an incident record: {e}", o.key)),
        }
    }));
    store_problems.extend(
        claims
            .iter()
            .filter_map(|o| claim_problem(o, signatures.seals.as_ref())),
    );
    let mut groups: BTreeMap<String, Vec<Object>> = BTreeMap::new();
    // Each execution folder's manifest hash, for the index.
    let mut manifests: BTreeMap<String, String> = BTreeMap::new();
    for o in objects {
        let (dir, name) = o.key.rsplit_once('/').unwrap_or(("", &o.key));
        if crate::evidence::parse_record_name(name).is_some_and(|(_, kind)| kind == "manifest") {
            manifests.insert(dir.to_string(), sha256_hex(&o.bytes));
        }
        groups.entry(dir.to_string()).or_default().push(o);
    }
    let mut executions = Vec::new();
    as_bar(progress, groups.values().map(|g| g.len() as u64).sum());
    progress.set_message("checking");
    for (path, objs) in groups {
        let execution_id = path.rsplit('/').next().unwrap_or_default().to_string();
        let n = objs.len() as u64;
        if only.is_none_or(|id| id == execution_id) {
            executions.push(audit_execution(
                &path,
                &execution_id,
                objs,
                min_retention_days,
                signatures,
            ));
        }
        progress.inc(n);
    }
    progress.finish_and_clear();
    if let Some(id) = only
        && executions.is_empty()
    {
        store_problems.push(format!(
            "no execution {id} in {target}\n  hint: `firebreak audit {target}` audits (and lists) every execution there"
        ));
    }
    // Every `done` marker names an execution that is here, whole; and a finding that was
    // claimed has an execution, unless its claim is still held (being contained now): a
    // claim with neither is a finding that was never contained.
    if only.is_none() {
        let parsed: Vec<(&Object, crate::intake::claim::ClaimRecord)> = claims
            .iter()
            .filter_map(|o| {
                serde_json::from_slice::<crate::intake::claim::ClaimRecord>(&o.bytes)
                    .ok()
                    .map(|c| (o, c))
            })
            .collect();
        let now_ms = crate::intake::claim::now_ms();
        let mut reported = BTreeSet::new();
        for (o, c) in &parsed {
            let executed = executions.iter().any(|e| {
                e.execution_id == c.execution_id
                    || e.finding_id.as_deref() == Some(c.finding_id.as_str())
                        && e.account_id.as_deref() == Some(c.account_id.as_str())
            });
            let done = parsed.iter().any(|(_, d)| {
                d.kind == "done" && d.finding_id == c.finding_id && d.account_id == c.account_id
            });
            if c.kind == "claim"
                && !executed
                && !done
                && c.lease_until_ms <= now_ms
                && reported.insert((c.account_id.clone(), c.finding_id.clone()))
            {
                store_problems.push(format!(
                    "{}: finding {} was claimed by {} at {}, and there is no execution of it: it was never contained",
                    o.key, c.finding_id, c.worker, c.at
                ));
            }
        }
        for o in &claims {
            let Ok(c) = serde_json::from_slice::<crate::intake::claim::ClaimRecord>(&o.bytes)
            else {
                continue;
            };
            if c.kind == "done"
                && !executions
                    .iter()
                    .any(|e| e.execution_id == c.execution_id && e.complete)
            {
                store_problems.push(format!(
                    "{}: marks finding {} contained by execution {}, which is not in the store with a manifest",
                    o.key, c.finding_id, c.execution_id
                ));
            }
        }
    }
    let (index_problems, index) = index::check(
        &index,
        &manifests,
        &mut executions,
        only.is_none(),
        signatures,
    );
    store_problems.extend(index_problems);
    let mut notes = Vec::new();
    if signatures.expected_key.is_none() {
        notes.push(
            "manifests are not required to be signed (no --sign-key): the records' chains and the execution index prove internal consistency only; an execution made up or rewritten consistently, with the index entries after it, is detected only by their seals (--seal-key)".to_string(),
        );
    }
    if signatures.seals.is_none() {
        notes.push(
            "seals are not checked (no --seal-key): a claim, record or index entry written by someone other than firebreak is not detected".to_string(),
        );
    }
    if let Some(IndexSummary {
        head: Some((seq, sha)),
        ..
    }) = &index
        && signatures.index_head.is_none()
    {
        notes.push(format!(
            "the index's last entries, deleted together with their executions, cannot be told from a shorter index: keep this head and give it to a later audit (--index-head {seq}:{sha})"
        ));
    }
    // Failures first, then by path.
    executions.sort_by(|a, b| (a.passed(), &a.path).cmp(&(b.passed(), &b.path)));
    let passed = store_problems.is_empty()
        && !executions.is_empty()
        && executions.iter().all(ExecutionAudit::passed);
    AuditReport {
        target: target.to_string(),
        store_problems,
        claims: claims.len(),
        executions,
        index,
        notes,
        passed,
    }
}

/// What is wrong with an object in the claims folder (written by `serve`), if anything.
fn claim_problem(
    o: &Object,
    seals: Option<&BTreeMap<String, crate::evidence::seal::Key>>,
) -> Option<String> {
    let name = o.key.rsplit('/').next().unwrap_or_default();
    let named = crate::intake::claim::is_done_name(name)
        || (name.starts_with("claim-") || name.starts_with("seen-")) && name.ends_with(".json");
    if !named {
        return Some(format!("{}: extra object in the claims folder", o.key));
    }
    let c = match serde_json::from_slice::<crate::intake::claim::ClaimRecord>(&o.bytes) {
        Ok(c) if c.schema == crate::intake::claim::SCHEMA => c,
        _ => return Some(format!("{}: not a claim record", o.key)),
    };
    if let Some(keys) = seals {
        let scope = crate::evidence::seal::claims_scope(&c.account_id, &c.finding_id);
        let sealed = keys.get(&scope).map(|k| k.open_json(&o.bytes));
        match sealed {
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                return Some(format!(
                    "{}: {e}; a claim firebreak did not write (forged)",
                    o.key
                ));
            }
            None => return Some(format!("{}: its seal key could not be derived", o.key)),
        }
        let folder = o.key.rsplit('/').nth(1).unwrap_or_default();
        if folder != crate::evidence::sanitize(&c.finding_id) {
            return Some(format!(
                "{}: filed under finding {folder} but names finding {}",
                o.key, c.finding_id
            ));
        }
    }
    locking_problem(o, "a claim")
}

/// What is wrong with how an S3 object (`what`: "a claim", "an index entry") is kept: no
/// Object Lock retention, or more than one version (it was rewritten).
fn locking_problem(o: &Object, what: &str) -> Option<String> {
    if o.s3 && (o.lock_mode.is_none() || o.retain_until.is_none()) {
        return Some(format!(
            "{}: object without an Object Lock retention",
            o.key
        ));
    }
    if o.versions > 1 {
        return Some(format!(
            "{}: {} versions; {what} was rewritten",
            o.key, o.versions
        ));
    }
    None
}

fn audit_execution(
    path: &str,
    execution_id: &str,
    mut objs: Vec<Object>,
    min_days: u32,
    sigs: &SignaturePolicy,
) -> ExecutionAudit {
    let mut problems = Vec::new();
    let mut records: Vec<(u64, String, Object)> = Vec::new();
    let mut signature: Option<Object> = None;
    for o in objs.drain(..) {
        let name = o.key.rsplit('/').next().unwrap_or_default().to_string();
        match crate::evidence::parse_record_name(&name) {
            Some((_, kind)) if kind == "signature" => signature = Some(o),
            Some((seq, kind)) => records.push((seq, kind, o)),
            None => problems.push(format!("extra object {}: not a firebreak record", o.key)),
        }
    }
    records.sort_by(|a, b| a.0.cmp(&b.0).then(a.2.key.cmp(&b.2.key)));
    // S3 object checks.
    for (_, _, o) in &records {
        if !o.s3 {
            continue;
        }
        if o.versions > 1 {
            problems.push(format!(
                "{}: {} versions; a record was rewritten as a new version",
                o.key, o.versions
            ));
        }
        match (&o.lock_mode, o.retain_until, o.last_modified) {
            (None, _, _) | (_, None, _) => problems.push(format!(
                "{}: object without an Object Lock retention",
                o.key
            )),
            (Some(_), Some(until), Some(modified)) => {
                let required = modified + i64::from(min_days) * 86_400;
                // Allow an hour for clock differences between writer and store.
                if until + 3600 < required {
                    problems.push(format!(
                        "{}: retention shortened: retained until {} but {min_days} days from its writing is {}",
                        o.key,
                        fmt_time(until),
                        fmt_time(required)
                    ));
                }
            }
            _ => {}
        }
    }
    // Sequence, chain and schema basics.
    let mut prev = GENESIS.to_string();
    let mut expected = 0u64;
    let mut parsed: Vec<(u64, String, String, Value, String)> = Vec::new(); // seq, kind, key, json, sha
    let mut earlier: BTreeSet<String> = BTreeSet::new();
    for (seq, kind, o) in &records {
        let sha = sha256_hex(&o.bytes);
        if *seq != expected {
            if *seq > expected {
                problems.push(if *seq == expected + 1 {
                    format!("record {expected:04} is missing before {}", o.key)
                } else {
                    format!(
                        "records {expected:04} to {:04} are missing before {}",
                        seq - 1,
                        o.key
                    )
                });
            } else {
                problems.push(format!(
                    "{}: a second record with sequence number {seq:04}",
                    o.key
                ));
            }
        }
        expected = seq + 1;
        let v: Value = match serde_json::from_slice(&o.bytes) {
            Ok(v) => v,
            Err(e) => {
                problems.push(format!(
                    "{}: not valid JSON ({e}); the record was altered",
                    o.key
                ));
                prev = sha;
                continue;
            }
        };
        if v["seq"].as_u64() != Some(*seq) {
            problems.push(format!(
                "{}: says it is record {} but is stored as {seq:04}; records are out of order",
                o.key, v["seq"]
            ));
        }
        if v["schema"].as_str() != Some(&format!("firebreak.evidence.{kind}/v1")) {
            problems.push(format!(
                "{}: schema {} does not match its kind {kind}",
                o.key, v["schema"]
            ));
        }
        for p in schema_problems(kind, &v) {
            problems.push(format!("{}: not a valid {kind} record: {p}", o.key));
        }
        if v["execution_id"].as_str() != Some(execution_id) {
            problems.push(format!(
                "{}: belongs to execution {}, not {execution_id}",
                o.key, v["execution_id"]
            ));
        }
        // A record a state machine wrote links to the record before it on its own branch:
        // any earlier record of this execution.
        let branch_link = v["engine"] == "sfn"
            && v["prev_sha256"]
                .as_str()
                .is_some_and(|p| earlier.contains(p));
        if v["prev_sha256"].as_str() != Some(prev.as_str()) && !branch_link {
            problems.push(format!(
                "{}: chain broken: it links to {} but the record before hashes to {}; a record was altered, removed or reordered",
                o.key,
                short(v["prev_sha256"].as_str().unwrap_or("none")),
                short(&prev)
            ));
        }
        prev = sha.clone();
        earlier.insert(sha.clone());
        parsed.push((*seq, kind.clone(), o.key.clone(), v, sha));
    }
    // The manifest.
    let manifest = parsed.iter().rev().find(|p| p.1 == "manifest").cloned();
    let mut complete = false;
    let text = |v: &Value, k: &str| v[k].as_str().map(str::to_string);
    // Until a manifest says otherwise, what the finding record says.
    let first = parsed.iter().find(|p| p.1 == "finding").map(|p| &p.3);
    let (mut finding_id, mut account_id, mut region) = match first {
        Some(f) => (
            text(f, "finding_id"),
            text(f, "account_id"),
            text(f, "region"),
        ),
        None => (None, None, None),
    };
    // The folder is named after what its records say (`{account}/{finding}/{execution}`).
    if let (Some(acc), Some(fid)) = (&account_id, &finding_id) {
        let parts: Vec<&str> = path.rsplit('/').take(3).collect();
        if parts.len() == 3
            && (parts[2] != crate::evidence::sanitize(acc)
                || parts[1] != crate::evidence::sanitize(fid))
        {
            problems.push(format!(
                "{path}: filed under account {} and finding {}, but its records say account {acc} and finding {fid}",
                parts[2], parts[1]
            ));
        }
    }
    if let Some(keys) = &sigs.seals {
        // Without a finding record, the folder's own names say whose execution it claims to be.
        let parts: Vec<String> = path.rsplit('/').take(3).map(str::to_string).collect();
        let named = match parts.as_slice() {
            [_, fid, acc] => (Some(acc.clone()), Some(fid.clone())),
            _ => (None, None),
        };
        let (acc, fid) = (
            account_id.clone().or(named.0),
            finding_id.clone().or(named.1),
        );
        match (&acc, &fid) {
            (Some(acc), Some(fid)) => {
                match keys.get(&crate::evidence::seal::execution_scope(acc, fid, execution_id)) {
                    Some(k) => {
                        for (_, _, o) in &records {
                            match k.open_json(&o.bytes) {
                                Ok(_) => {}
                                // A state machine cannot seal (it has no derived key).
                                Err(crate::evidence::seal::SealError::Missing)
                                    if serde_json::from_slice::<Value>(&o.bytes)
                                        .is_ok_and(|v| v["engine"] == "sfn") => {}
                                Err(e) => problems.push(format!(
                                    "{}: {e}; a record firebreak did not write (forged)",
                                    o.key
                                )),
                            }
                        }
                    }
                    None => problems.push("the execution's seal key could not be derived".into()),
                }
            }
            _ => problems.push("neither a finding record nor a folder name says whose execution this is: the seals cannot be checked".into()),
        }
    }
    let mut playbook = parsed
        .iter()
        .find(|p| p.1 == "plan")
        .and_then(|p| text(&p.3, "playbook"));
    let (mut status, mut time_to_contain_ms) = (None, None);
    if let Some((mseq, _, mkey, m, _)) = &manifest {
        complete = true;
        finding_id = text(m, "finding_id").or(finding_id);
        account_id = text(m, "account_id").or(account_id);
        region = text(m, "region").or(region);
        playbook = text(m, "playbook").or(playbook);
        status = text(m, "status");
        time_to_contain_ms = m["time_to_contain_ms"].as_u64().or_else(|| {
            // A state machine cannot subtract times: its manifest leaves time-to-contain out,
            // and it is read from the records as the local engine counts it (the last
            // containing step that succeeded, from when the finding was accepted).
            (m["engine"] == "sfn")
                .then(|| machine_time_to_contain(m, &parsed))
                .flatten()
        });
        if parsed.last().map(|p| p.0) != Some(*mseq) {
            problems.push(format!("{mkey}: records follow the manifest"));
        }
        let listed: Vec<(String, String)> = m["records"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| {
                        (
                            e["key"].as_str().unwrap_or_default().to_string(),
                            e["sha256"].as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let present: BTreeMap<&str, &str> = parsed
            .iter()
            .filter(|p| p.0 != *mseq)
            .map(|p| (p.2.as_str(), p.4.as_str()))
            .collect();
        let listed_keys: BTreeSet<&str> = listed.iter().map(|(k, _)| k.as_str()).collect();
        for (k, sha) in &listed {
            match present.get(k.as_str()) {
                None => problems.push(format!(
                    "{k}: listed in the manifest but missing from the store"
                )),
                Some(actual) if actual != sha => problems.push(format!(
                    "{k}: its SHA-256 {} differs from the manifest's {}; the record was altered",
                    short(actual),
                    short(sha)
                )),
                _ => {}
            }
        }
        for k in present.keys() {
            if !listed_keys.contains(k) {
                problems.push(format!(
                    "{k}: present but not listed in the manifest (an extra object)"
                ));
            }
        }
        let before = parsed
            .iter()
            .rfind(|p| p.0 < *mseq)
            .map(|p| p.4.clone())
            .unwrap_or_else(|| GENESIS.to_string());
        if m["chain_head"].as_str() != Some(before.as_str()) {
            problems.push(format!("{mkey}: its chain head does not match the last record; the manifest was forged or records changed"));
        }
    } else if !parsed.is_empty() {
        problems.push(format!(
            "no manifest: the execution is incomplete ({} records, the last {})",
            parsed.len(),
            parsed.last().map(|p| p.2.as_str()).unwrap_or_default()
        ));
    }
    // The signature of the manifest.
    let manifest_sha = manifest.as_ref().map(|m| m.4.clone());
    match (&signature, &manifest_sha) {
        (Some(sig), Some(msha)) => {
            let v: Value = serde_json::from_slice(&sig.bytes).unwrap_or(Value::Null);
            for p in schema_problems("signature", &v) {
                problems.push(format!("{}: not a valid signature record: {p}", sig.key));
            }
            if v["manifest_sha256"].as_str() != Some(msha.as_str()) {
                problems.push(format!(
                    "{}: the manifest was changed after it was signed (forged manifest)",
                    sig.key
                ));
            }
            match sigs.checks.get(&sig.key) {
                Some(c) if !c.valid => problems.push(format!(
                    "{}: the signature does not verify with KMS key {}: {}",
                    sig.key, c.key_id, c.detail
                )),
                Some(_) => {}
                None => problems.push(format!("{}: the signature was not verified", sig.key)),
            }
            if let Some(want) = &sigs.expected_key {
                let got = v["key_id"].as_str().unwrap_or_default();
                if !(got == want
                    || got.ends_with(&format!("/{want}"))
                    || want.ends_with(&format!("/{got}")))
                {
                    problems.push(format!(
                        "{}: signed by key {got}, not the expected {want} (re-signed)",
                        sig.key
                    ));
                }
            }
            if sig.s3 && sig.lock_mode.is_none() {
                problems.push(format!(
                    "{}: object without an Object Lock retention",
                    sig.key
                ));
            }
        }
        (Some(sig), None) => problems.push(format!("{}: a signature without a manifest", sig.key)),
        (None, Some(_)) if sigs.expected_key.is_some() => {
            problems.push("the manifest is not signed".to_string())
        }
        _ => {}
    }
    // Timeline.
    let mut timeline = Vec::new();
    for (_, kind, _, v, _) in &parsed {
        let at = v["recorded_at"].as_str().unwrap_or_default().to_string();
        let outcome = match kind.as_str() {
            "step" => v["step"]["status"].as_str().unwrap_or("?").to_string(),
            "manifest" => v["status"].as_str().unwrap_or("?").to_string(),
            _ => String::new(),
        };
        let what = match kind.as_str() {
            "finding" => format!(
                "finding {} received ({})",
                v["finding_id"].as_str().unwrap_or("?"),
                v["finding_type"].as_str().unwrap_or("?")
            ),
            "plan" => format!(
                "plan compiled with playbook {}",
                v["playbook"].as_str().unwrap_or("?")
            ),
            "step" => {
                let s = &v["step"];
                let mut w = format!(
                    "step {} ({}) {}",
                    s["id"].as_str().unwrap_or("?"),
                    s["action"].as_str().unwrap_or("?"),
                    s["status"].as_str().unwrap_or("?")
                );
                if let Some(e) = s["error"].as_str() {
                    w.push_str(&format!(": {}", crate::domain::render::brief(e)));
                }
                if let Some(r) = s["skip_reason"].as_str() {
                    w.push_str(&format!(": {r}"));
                }
                w
            }
            _ => match v["time_to_contain_ms"]
                .as_u64()
                .or(time_to_contain_ms.filter(|_| v["engine"] == "sfn"))
            {
                Some(t) => format!(
                    "execution {} — contained in {t} ms",
                    v["status"].as_str().unwrap_or("?")
                ),
                None => format!(
                    "execution {} — nothing contained",
                    v["status"].as_str().unwrap_or("?")
                ),
            },
        };
        timeline.push(TimelineEntry {
            at,
            kind: kind.clone(),
            outcome,
            what,
        });
    }
    // In time order (records written by a state machine's branches are chained in plan
    // order, not time order), each time in one form.
    timeline.sort_by_key(|t| crate::evidence::epoch_ms(&t.at).unwrap_or(i64::MAX));
    for t in &mut timeline {
        t.at = one_form(&t.at);
    }
    ExecutionAudit {
        path: path.to_string(),
        execution_id: execution_id.to_string(),
        finding_id,
        playbook,
        status,
        account_id,
        region,
        time_to_contain_ms,
        complete,
        records: parsed.len(),
        problems,
        timeline,
    }
}

/// An RFC 3339 time as `YYYY-MM-DDTHH:MM:SS.mmmZ`; what cannot be read stays as it is.
fn one_form(at: &str) -> String {
    use aws_smithy_types::date_time::{DateTime, Format};
    let Some(ms) = crate::evidence::epoch_ms(at) else {
        return at.to_string();
    };
    let whole = DateTime::from_secs(ms.div_euclid(1000))
        .fmt(Format::DateTime)
        .unwrap_or_default();
    match whole.strip_suffix('Z') {
        Some(w) => format!("{w}.{:03}Z", ms.rem_euclid(1000)),
        None => at.to_string(),
    }
}

/// Time-to-contain of an execution a state machine recorded: from `started_at` (when firebreak
/// accepted the finding) to the record of the last containing step that succeeded.
fn machine_time_to_contain(
    manifest: &Value,
    parsed: &[(u64, String, String, Value, String)],
) -> Option<u64> {
    let started = crate::evidence::epoch_ms(manifest["started_at"].as_str()?)?;
    let done = parsed
        .iter()
        .filter(|p| p.1 == "step" && p.3["step"]["status"] == "succeeded")
        .filter(|p| {
            p.3["step"]["action"]
                .as_str()
                .and_then(crate::domain::catalog::Action::from_name)
                .is_some_and(|a| a.spec().effect == crate::domain::catalog::Effect::Contain)
        })
        .filter_map(|p| crate::evidence::epoch_ms(p.3["recorded_at"].as_str()?))
        .max()?;
    u64::try_from(done - started).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_one_form_and_ordered_by_their_instant() {
        assert_eq!(one_form("2026-12-06T10:00:00Z"), "2026-12-06T10:00:00.000Z");
        assert_eq!(
            one_form("2026-12-06T10:00:00.5+00:00"),
            "2026-12-06T10:00:00.500Z"
        );
        assert_eq!(
            one_form("2026-12-06T11:00:00.123456+01:00"),
            "2026-12-06T10:00:00.123Z"
        );
        assert_eq!(one_form("not a time"), "not a time");
        assert!(
            crate::evidence::epoch_ms("2026-12-06T10:00:01Z")
                > crate::evidence::epoch_ms("2026-12-06T10:00:00.999+00:00")
        );
    }

    #[test]
    fn a_state_machine_s_time_to_contain_is_read_from_its_records() {
        let step = |action: &str, status: &str, at: &str| {
            (
                0,
                "step".to_string(),
                String::new(),
                serde_json::json!({"recorded_at": at, "step": {"action": action, "status": status}}),
                String::new(),
            )
        };
        let manifest =
            serde_json::json!({"engine": "sfn", "started_at": "2026-12-06T10:00:00.000Z"});
        let records = [
            step("iam.capture_user", "succeeded", "2026-12-06T10:00:09.000Z"),
            step(
                "iam.deactivate_access_key",
                "succeeded",
                "2026-12-06T10:00:00.250+00:00",
            ),
            step("iam.deny_all_user", "succeeded", "2026-12-06T10:00:00.400Z"),
            step(
                "iam.revoke_role_sessions",
                "failed",
                "2026-12-06T10:00:05.000Z",
            ),
        ];
        assert_eq!(machine_time_to_contain(&manifest, &records), Some(400));
        assert_eq!(machine_time_to_contain(&manifest, &records[..1]), None);
    }

    #[test]
    fn the_rate_is_whole_objects_a_second() {
        assert_eq!(rate(2.9548), "3/s");
        assert_eq!(rate(0.0), "0/s");
    }
}
