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

/// Validators for the committed record schemas, compiled once.
static VALIDATORS: std::sync::LazyLock<Vec<(&'static str, Option<jsonschema::Validator>)>> =
    std::sync::LazyLock::new(|| {
        let compile = |text: &str| {
            serde_json::from_str::<Value>(text)
                .ok()
                .and_then(|s| jsonschema::validator_for(&s).ok())
        };
        vec![
            (
                "finding",
                compile(include_str!("../evidence-schemas/finding.schema.json")),
            ),
            (
                "plan",
                compile(include_str!("../evidence-schemas/plan.schema.json")),
            ),
            (
                "step",
                compile(include_str!("../evidence-schemas/step.schema.json")),
            ),
            (
                "manifest",
                compile(include_str!("../evidence-schemas/manifest.schema.json")),
            ),
            (
                "signature",
                compile(include_str!("../evidence-schemas/signature.schema.json")),
            ),
        ]
    });

/// Problems of a record against its kind's schema (at most three, for readability).
fn schema_problems(kind: &str, v: &Value) -> Vec<String> {
    match VALIDATORS
        .iter()
        .find(|(k, _)| *k == kind)
        .and_then(|(_, v)| v.as_ref())
    {
        Some(validator) => validator
            .iter_errors(v)
            .take(3)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect(),
        None => vec![format!("no schema for kind {kind}")],
    }
}

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
    /// What this audit could not prove, given what it was told (no `--sign-key`, no
    /// `--seal-key`).
    pub notes: Vec<String>,
    pub passed: bool,
}

/// Reads every file under `dir` as objects with keys relative to it.
pub fn read_local(dir: &Path) -> std::io::Result<Vec<Object>> {
    let mut out = Vec::new();
    fn walk(root: &Path, dir: &Path, out: &mut Vec<Object>) -> std::io::Result<()> {
        for e in std::fs::read_dir(dir)? {
            let p = e?.path();
            if p.is_dir() {
                walk(root, &p, out)?;
            } else {
                let key = p
                    .strip_prefix(root)
                    .unwrap_or(&p)
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push(Object {
                    key,
                    bytes: std::fs::read(&p)?,
                    lock_mode: None,
                    retain_until: None,
                    last_modified: None,
                    versions: 1,
                    s3: false,
                });
            }
        }
        Ok(())
    }
    walk(dir, dir, &mut out)?;
    Ok(out)
}

/// Checks objects grouped by execution folder. `min_retention_days` applies to S3 objects.
/// What KMS said of one signature record (keyed by the signature object's key).
#[derive(Debug, Clone)]
pub struct SignatureCheck {
    pub valid: bool,
    pub key_id: String,
    pub detail: String,
}

/// What the audit requires of signatures and seals.
#[derive(Debug, Clone, Default)]
pub struct SignaturePolicy {
    /// Every manifest must be signed by this key (KMS key id or ARN; matched as a suffix).
    pub expected_key: Option<String>,
    /// Results of KMS Verify, by signature object key.
    pub checks: BTreeMap<String, SignatureCheck>,
    /// With `--seal-key`: the derived seal keys, by scope (`crate::seal`). Every claim and
    /// every record (but those a state machine wrote) must then carry a seal that holds.
    pub seals: Option<BTreeMap<String, crate::seal::Key>>,
}

/// The seal scopes of the objects: each execution's (from its finding record) and each
/// finding's claims.
pub fn seal_scopes(objects: &[Object]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for o in objects {
        let name = o.key.rsplit('/').next().unwrap_or_default();
        let claim = o.key.contains(&format!("{}/", crate::claim::CLAIMS_DIR));
        let record = crate::evidence::parse_record_name(name);
        if !claim && record.is_some() {
            // The folder's own names, for an execution without a finding record.
            let parts: Vec<&str> = o.key.rsplit('/').skip(1).take(3).collect();
            if let [exec, fid, acc] = parts.as_slice() {
                out.insert(crate::seal::execution_scope(acc, fid, exec));
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
            out.insert(crate::seal::claims_scope(acc, fid));
        } else if let Some(exec) = v["execution_id"].as_str() {
            out.insert(crate::seal::execution_scope(acc, fid, exec));
        }
    }
    out
}

/// Derives the seal keys of `scopes` (16 KMS calls at a time).
pub async fn seal_keys(
    sealer: &crate::seal::Sealer,
    scopes: BTreeSet<String>,
) -> Result<BTreeMap<String, crate::seal::Key>, String> {
    let keys: Vec<Result<(String, crate::seal::Key), String>> = futures_util::stream::iter(
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
    let claims_dir = format!("{prefix}{}/", crate::claim::CLAIMS_DIR);
    let (claims, objects): (Vec<Object>, Vec<Object>) = objects
        .into_iter()
        .partition(|o| o.key.starts_with(&claims_dir));
    store_problems.extend(
        claims
            .iter()
            .filter_map(|o| claim_problem(o, signatures.seals.as_ref())),
    );
    let mut groups: BTreeMap<String, Vec<Object>> = BTreeMap::new();
    for o in objects {
        let (dir, _) = o.key.rsplit_once('/').unwrap_or(("", &o.key));
        groups.entry(dir.to_string()).or_default().push(o);
    }
    let mut executions = Vec::new();
    progress.set_length(groups.values().map(|g| g.len() as u64).sum());
    progress.set_position(0);
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
    // Every `done` marker names an execution that is here, whole.
    if only.is_none() {
        for o in &claims {
            let Ok(c) = serde_json::from_slice::<crate::claim::ClaimRecord>(&o.bytes) else {
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
    let mut notes = Vec::new();
    if signatures.expected_key.is_none() {
        notes.push(
            "manifests are not required to be signed (no --sign-key): the chain proves each execution's internal consistency only; an execution made up or rewritten consistently, or deleted whole, is not detected".to_string(),
        );
    }
    if signatures.seals.is_none() {
        notes.push(
            "seals are not checked (no --seal-key): a claim or record written by someone other than firebreak is not detected".to_string(),
        );
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
        notes,
        passed,
    }
}

/// What is wrong with an object in the claims folder (written by `serve`), if anything.
fn claim_problem(o: &Object, seals: Option<&BTreeMap<String, crate::seal::Key>>) -> Option<String> {
    let name = o.key.rsplit('/').next().unwrap_or_default();
    let named = crate::claim::is_done_name(name)
        || (name.starts_with("claim-") || name.starts_with("seen-")) && name.ends_with(".json");
    if !named {
        return Some(format!("{}: extra object in the claims folder", o.key));
    }
    let c = match serde_json::from_slice::<crate::claim::ClaimRecord>(&o.bytes) {
        Ok(c) if c.schema == crate::claim::SCHEMA => c,
        _ => return Some(format!("{}: not a claim record", o.key)),
    };
    if let Some(keys) = seals {
        let scope = crate::seal::claims_scope(&c.account_id, &c.finding_id);
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
    if o.s3 && (o.lock_mode.is_none() || o.retain_until.is_none()) {
        return Some(format!(
            "{}: object without an Object Lock retention",
            o.key
        ));
    }
    if o.versions > 1 {
        return Some(format!(
            "{}: {} versions; a claim was rewritten",
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
                problems.push(format!(
                    "records {expected:04}..{:04} are missing before {}",
                    seq - 1,
                    o.key
                ));
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
                match keys.get(&crate::seal::execution_scope(acc, fid, execution_id)) {
                    Some(k) => {
                        for (_, _, o) in &records {
                            match k.open_json(&o.bytes) {
                                Ok(_) => {}
                                // A state machine cannot seal (it has no derived key).
                                Err(crate::seal::SealError::Missing)
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
        time_to_contain_ms = m["time_to_contain_ms"].as_u64();
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
                    w.push_str(&format!(": {e}"));
                }
                if let Some(r) = s["skip_reason"].as_str() {
                    w.push_str(&format!(": {r}"));
                }
                w
            }
            _ => match v["time_to_contain_ms"].as_u64() {
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

fn short(sha: &str) -> String {
    sha.chars().take(12).collect()
}

fn fmt_time(secs: i64) -> String {
    aws_sdk_s3::primitives::DateTime::from_secs(secs)
        .fmt(aws_sdk_s3::primitives::DateTimeFormat::DateTime)
        .unwrap_or_else(|_| secs.to_string())
}

/// The text report: failures first, then each execution's timeline and verdict.
pub fn render(r: &AuditReport) -> String {
    let mut out = format!("audit of {}\n", r.target);
    for p in &r.store_problems {
        out.push_str(&format!("  STORE PROBLEM: {p}\n"));
    }
    if r.claims > 0 {
        out.push_str(&format!(
            "  {} claim record(s) of `serve` checked\n",
            r.claims
        ));
    }
    for e in &r.executions {
        let verdict = if e.passed() { "PASS" } else { "FAIL" };
        out.push_str(&format!(
            "\n{verdict}  execution {} · finding {} · playbook {} · status {} · {} records\n",
            e.execution_id,
            e.finding_id.as_deref().unwrap_or("?"),
            e.playbook.as_deref().unwrap_or("?"),
            e.status.as_deref().unwrap_or("incomplete"),
            e.records
        ));
        for p in &e.problems {
            out.push_str(&format!("  problem: {p}\n"));
        }
        for t in &e.timeline {
            out.push_str(&format!("  {}  {}\n", t.at, t.what));
        }
    }
    if r.executions.is_empty() {
        out.push_str("no executions found\n");
    }
    for n in &r.notes {
        out.push_str(&format!("\nnote: {n}\n"));
    }
    out.push_str(&format!(
        "\nverdict: {} ({} execution(s), {} with problems)\n",
        if r.passed { "PASS" } else { "FAIL" },
        r.executions.len(),
        r.executions.iter().filter(|e| !e.passed()).count()
    ));
    out
}

/// Escapes text for HTML element content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const HTML_STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;color:#1b1b1b;padding:0 1em}\
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em}code{font:12px ui-monospace,monospace}\
table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top}\
th{background:#f3f3f3}.PASS{color:#fff;background:#1a7f37}.FAIL{color:#fff;background:#cf222e}\
.verdict{display:inline-block;padding:.1em .6em;border-radius:.3em;font-weight:bold}\
tr.failed td,tr.aborted td{background:#ffebe9}tr.skipped td{color:#6e6e6e}ul.problems li{color:#a40e26}";

/// The HTML report: one self-contained page (no scripts, no external resources) with the
/// verdict, the executions (failures first), their problems and timeline tables.
pub fn render_html(r: &AuditReport) -> String {
    let verdict = if r.passed { "PASS" } else { "FAIL" };
    let failing = r.executions.iter().filter(|e| !e.passed()).count();
    let mut o = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>firebreak audit {verdict}: {}</title><style>{HTML_STYLE}</style></head><body>\n\
         <h1>firebreak evidence audit</h1>\n<p><span class=\"verdict {verdict}\">{verdict}</span> \
         <code>{}</code> · {} execution(s), {failing} with problems · firebreak {}</p>\n",
        esc(&r.target),
        esc(&r.target),
        r.executions.len(),
        env!("CARGO_PKG_VERSION"),
    );
    if !r.store_problems.is_empty() {
        o.push_str("<h2>Store problems</h2>\n<ul class=\"problems\">\n");
        for p in &r.store_problems {
            o.push_str(&format!("<li>{}</li>\n", esc(p)));
        }
        o.push_str("</ul>\n");
    }
    if !r.notes.is_empty() {
        o.push_str("<h2>What this audit cannot prove</h2>\n<ul>\n");
        for n in &r.notes {
            o.push_str(&format!("<li>{}</li>\n", esc(n)));
        }
        o.push_str("</ul>\n");
    }
    if r.executions.is_empty() {
        o.push_str("<p>No executions found.</p>\n");
    } else {
        o.push_str(
            "<h2>Executions</h2>\n<table><tr><th>Verdict</th><th>Execution</th><th>Finding</th>\
             <th>Account / region</th><th>Playbook</th><th>Status</th><th>Time to contain</th>\
             <th>Records</th><th>Problems</th></tr>\n",
        );
        for e in &r.executions {
            let v = if e.passed() { "PASS" } else { "FAIL" };
            o.push_str(&format!(
                "<tr><td><span class=\"verdict {v}\">{v}</span></td><td><a href=\"#x-{id}\"><code>{id}</code></a></td>\
                 <td>{}</td><td>{} / {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                esc(e.finding_id.as_deref().unwrap_or("?")),
                esc(e.account_id.as_deref().unwrap_or("?")),
                esc(e.region.as_deref().unwrap_or("?")),
                esc(e.playbook.as_deref().unwrap_or("?")),
                esc(e.status.as_deref().unwrap_or("incomplete")),
                e.time_to_contain_ms
                    .map_or_else(|| "—".to_string(), |t| format!("{t} ms")),
                e.records,
                e.problems.len(),
                id = esc(&e.execution_id),
            ));
        }
        o.push_str("</table>\n");
    }
    for e in &r.executions {
        let v = if e.passed() { "PASS" } else { "FAIL" };
        o.push_str(&format!(
            "<h2 id=\"x-{id}\"><span class=\"verdict {v}\">{v}</span> execution <code>{id}</code></h2>\n\
             <p>Evidence at <code>{}</code></p>\n",
            esc(&e.path),
            id = esc(&e.execution_id),
        ));
        if !e.problems.is_empty() {
            o.push_str("<ul class=\"problems\">\n");
            for p in &e.problems {
                o.push_str(&format!("<li>{}</li>\n", esc(p)));
            }
            o.push_str("</ul>\n");
        }
        o.push_str("<table><tr><th>Recorded at (UTC)</th><th>Record</th><th>Outcome</th><th>What happened</th></tr>\n");
        for t in &e.timeline {
            o.push_str(&format!(
                "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                esc(&t.outcome),
                esc(&t.at),
                esc(&t.kind),
                esc(&t.outcome),
                esc(&t.what)
            ));
        }
        o.push_str("</table>\n");
    }
    o.push_str("</body></html>\n");
    o
}

/// Reads an S3 evidence location: bucket settings, every object with its lock, its versions.
/// Objects are read [`READ_CONCURRENCY`] at a time; `progress` counts them.
pub async fn read_s3(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    min_days: u32,
    progress: &ProgressBar,
) -> Result<(Vec<Object>, Vec<String>), String> {
    let mut problems = Vec::new();
    match client
        .get_object_lock_configuration()
        .bucket(bucket)
        .send()
        .await
    {
        Ok(c) => {
            let cfg = c.object_lock_configuration();
            if cfg
                .and_then(|c| c.object_lock_enabled())
                .map(|e| e.as_str())
                != Some("Enabled")
            {
                problems.push(format!("bucket {bucket}: Object Lock is not enabled"));
            }
            let days = cfg
                .and_then(|c| c.rule())
                .and_then(|r| r.default_retention())
                .and_then(|d| d.days().or(d.years().map(|y| y * 365)));
            match days {
                None => problems.push(format!("bucket {bucket}: no default retention (objects written without their own retention would be unlocked)")),
                Some(d) if d < min_days as i32 => problems.push(format!("bucket {bucket}: default retention {d} days is below the required {min_days}")),
                _ => {}
            }
        }
        Err(e) => problems.push(format!(
            "bucket {bucket}: Object Lock configuration unreadable: {}",
            crate::aws::classify(&e, "s3", "GetObjectLockConfiguration")
        )),
    }
    match client.get_bucket_versioning().bucket(bucket).send().await {
        Ok(v) if v.status().map(|s| s.as_str()) == Some("Enabled") => {}
        Ok(_) => problems.push(format!("bucket {bucket}: versioning is not enabled")),
        // moto's answer (see actions/s3.rs); Object Lock buckets are always versioned there.
        Err(aws_sdk_s3::error::SdkError::ServiceError(se))
            if String::from_utf8_lossy(se.raw().body().bytes().unwrap_or_default())
                .contains("<Status>Enabled</Status>") => {}
        Err(e) => problems.push(format!("bucket {bucket}: versioning unreadable: {e}")),
    }
    // Every version and delete marker under the prefix.
    let mut versions: BTreeMap<String, usize> = BTreeMap::new();
    let mut deleted: BTreeSet<String> = BTreeSet::new();
    let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
    progress.set_message("listing");
    loop {
        let page = client
            .list_object_versions()
            .bucket(bucket)
            .prefix(prefix)
            .set_key_marker(key_marker.clone())
            .set_version_id_marker(version_marker.clone())
            .send()
            .await
            .map_err(|e| {
                format!(
                    "listing s3://{bucket}/{prefix}: {}",
                    crate::aws::classify(&e, "s3", "ListObjectVersions")
                )
            })?;
        for v in page.versions() {
            *versions
                .entry(v.key().unwrap_or_default().to_string())
                .or_default() += 1;
        }
        for d in page.delete_markers() {
            deleted.insert(d.key().unwrap_or_default().to_string());
        }
        progress.set_length(versions.len() as u64);
        if page.is_truncated() != Some(true) {
            break;
        }
        key_marker = page.next_key_marker().map(str::to_string);
        version_marker = page.next_version_id_marker().map(str::to_string);
    }
    for k in &deleted {
        problems.push(format!(
            "{k}: deleted (a delete marker hides it); evidence was removed"
        ));
    }
    progress.set_message("reading");
    progress.set_position(0);
    progress.set_length(versions.len() as u64);
    let reads = versions
        .into_iter()
        .filter(|(key, _)| !deleted.contains(key))
        .map(|(key, n)| async move {
            let read = read_object(client, bucket, &key, n).await;
            progress.inc(1);
            read
        });
    let mut objects = Vec::new();
    let mut results = futures_util::stream::iter(reads).buffer_unordered(READ_CONCURRENCY);
    while let Some(read) = results.next().await {
        match read {
            Ok(o) => objects.push(o),
            // An unreadable object fails the audit; the rest is still checked.
            Err(e) => problems.push(e),
        }
    }
    objects.sort_by(|a, b| a.key.cmp(&b.key));
    Ok((objects, problems))
}

/// How many objects the S3 audit reads at once.
pub const READ_CONCURRENCY: usize = 32;

/// One object's lock (HeadObject) and body (GetObject).
async fn read_object(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    versions: usize,
) -> Result<Object, String> {
    let unreadable =
        |op: &str, e: String| format!("{key}: unreadable ({op}: {e}); it cannot be checked");
    let head = client
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| {
            unreadable(
                "HeadObject",
                crate::aws::classify(&e, "s3", "HeadObject").to_string(),
            )
        })?;
    let body = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| {
            unreadable(
                "GetObject",
                crate::aws::classify(&e, "s3", "GetObject").to_string(),
            )
        })?
        .body
        .collect()
        .await
        .map_err(|e| unreadable("GetObject", e.to_string()))?
        .into_bytes()
        .to_vec();
    Ok(Object {
        key: key.to_string(),
        bytes: body,
        lock_mode: head.object_lock_mode().map(|m| m.as_str().to_string()),
        retain_until: head.object_lock_retain_until_date().map(|d| d.secs()),
        last_modified: head.last_modified().map(|d| d.secs()),
        versions,
        s3: true,
    })
}

/// Asks KMS to verify every signature record among `objects`.
pub async fn verify_signatures(
    kms: &aws_sdk_kms::Client,
    objects: &[Object],
) -> BTreeMap<String, SignatureCheck> {
    use base64::Engine as _;
    let mut out = BTreeMap::new();
    for o in objects
        .iter()
        .filter(|o| o.key.ends_with("-signature.json"))
    {
        let v: Value = serde_json::from_slice(&o.bytes).unwrap_or(Value::Null);
        let key_id = v["key_id"].as_str().unwrap_or_default().to_string();
        let sha = v["manifest_sha256"].as_str().unwrap_or_default();
        let digest: Vec<u8> = (0..sha.len() / 2)
            .filter_map(|i| u8::from_str_radix(sha.get(2 * i..2 * i + 2)?, 16).ok())
            .collect();
        let Ok(signature) = base64::engine::general_purpose::STANDARD
            .decode(v["signature"].as_str().unwrap_or_default())
        else {
            out.insert(
                o.key.clone(),
                SignatureCheck {
                    valid: false,
                    key_id,
                    detail: "the signature is not base64".into(),
                },
            );
            continue;
        };
        let result = kms
            .verify()
            .key_id(&key_id)
            .message(aws_sdk_kms::primitives::Blob::new(digest))
            .message_type(aws_sdk_kms::types::MessageType::Digest)
            .signature(aws_sdk_kms::primitives::Blob::new(signature))
            .signing_algorithm(aws_sdk_kms::types::SigningAlgorithmSpec::EcdsaSha256)
            .send()
            .await;
        let check = match result {
            Ok(r) if r.signature_valid() => SignatureCheck {
                valid: true,
                key_id,
                detail: String::new(),
            },
            Ok(_) => SignatureCheck {
                valid: false,
                key_id,
                detail: "KMS says the signature is not valid".into(),
            },
            Err(e) => {
                let c = crate::aws::classify(&e, "kms", "Verify");
                SignatureCheck {
                    valid: false,
                    key_id,
                    detail: c.to_string(),
                }
            }
        };
        out.insert(o.key.clone(), check);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_everything_that_came_from_the_store() {
        let hostile = r#"<script>alert("x")</script> & 'q'"#;
        let report = AuditReport {
            target: hostile.into(),
            store_problems: vec![hostile.into()],
            claims: 0,
            notes: vec![hostile.into()],
            executions: vec![ExecutionAudit {
                path: hostile.into(),
                execution_id: hostile.into(),
                finding_id: Some(hostile.into()),
                playbook: None,
                status: None,
                account_id: None,
                region: None,
                time_to_contain_ms: None,
                complete: false,
                records: 1,
                problems: vec![hostile.into()],
                timeline: vec![TimelineEntry {
                    at: hostile.into(),
                    kind: "step".into(),
                    outcome: hostile.into(),
                    what: hostile.into(),
                }],
            }],
            passed: false,
        };
        let html = render_html(&report);
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains(r#""x""#), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;")
        );
        assert!(html.contains("incomplete"));
    }
}
