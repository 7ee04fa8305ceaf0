//! The audit of the execution index (`crate::evidence::index`): the entries are numbered from
//! 0 without a gap and chained; each names an execution that is in the store with the manifest
//! it names; each execution with a manifest is named by an entry; with the seal keys, each entry
//! is sealed; with an earlier audit's head (`--index-head`), the index still holds it.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use super::{ExecutionAudit, Object, SignaturePolicy, locking_problem, schema_problems, short};
use crate::evidence::index::{INDEX_SCOPE, IndexRecord, SCHEMA, parse_entry_name};
use crate::evidence::{GENESIS, sanitize, sha256_hex};

/// The index as the audit found it.
#[derive(Debug, Clone, Serialize)]
pub struct IndexSummary {
    pub entries: usize,
    /// The last entry's number and the SHA-256 of its bytes: what a later audit's
    /// `--index-head` names to prove that nothing after it was taken away.
    pub head: Option<(u64, String)>,
}

/// What the index shows: problems of the store, problems of single executions (by folder),
/// and the summary. `manifests` holds each execution folder's manifest hash; `whole` is false
/// when only one execution is audited (entries naming others are then not looked for).
pub(super) fn check(
    index: &[Object],
    manifests: &BTreeMap<String, String>,
    executions: &mut [ExecutionAudit],
    whole: bool,
    policy: &SignaturePolicy,
) -> (Vec<String>, Option<IndexSummary>) {
    let mut problems = Vec::new();
    let key = policy
        .seals
        .as_ref()
        .and_then(|k| k.get(INDEX_SCOPE).cloned());
    let mut entries: BTreeMap<u64, (&Object, IndexRecord, String)> = BTreeMap::new();
    for o in index {
        let Some(seq) = o.key.rsplit('/').next().and_then(parse_entry_name) else {
            problems.push(format!("{}: extra object in the index folder", o.key));
            continue;
        };
        if let Some(p) = locking_problem(o, "an index entry") {
            problems.push(p);
        }
        let v: Value = match serde_json::from_slice(&o.bytes) {
            Ok(v) => v,
            Err(e) => {
                problems.push(format!("{}: not an index entry ({e})", o.key));
                continue;
            }
        };
        let invalid = schema_problems("index", &v);
        let record = match serde_json::from_value::<IndexRecord>(v) {
            Ok(r) if r.schema == SCHEMA && invalid.is_empty() => r,
            _ => {
                problems.push(format!(
                    "{}: not an index entry{}",
                    o.key,
                    invalid
                        .first()
                        .map(|p| format!(": {p}"))
                        .unwrap_or_default()
                ));
                continue;
            }
        };
        if record.seq != seq {
            problems.push(format!(
                "{}: says it is entry {} but is stored as {seq}; the index was rearranged",
                o.key, record.seq
            ));
        }
        if let Some(k) = &key
            && let Err(e) = k.open_json(&o.bytes)
        {
            problems.push(format!(
                "{}: index entry {e}; an entry firebreak did not write (forged)",
                o.key
            ));
        }
        if policy.seals.is_some() && key.is_none() {
            problems.push(format!(
                "{}: the index's seal key could not be derived",
                o.key
            ));
        }
        entries.insert(seq, (o, record, sha256_hex(&o.bytes)));
    }
    if index.is_empty() {
        if whole && !manifests.is_empty() {
            problems.push(format!(
                "the store has {} execution(s) with a manifest and no execution index (`_index/`): it was deleted, or the executions were not written by this firebreak",
                manifests.len()
            ));
        }
        return (problems, None);
    }
    // Numbered from 0 without a gap, each chained to the one before.
    let mut prev: Option<(u64, &str)> = None;
    for (seq, (o, r, sha)) in &entries {
        let expected = prev.map_or(0, |(p, _)| p + 1);
        if *seq > expected {
            problems.push(if *seq == expected + 1 {
                format!("index entry {expected} is missing before {}: it was deleted, and the execution it named may be too", o.key)
            } else {
                format!("index entries {expected} to {} are missing before {}: they were deleted, and the executions they named may be too", seq - 1, o.key)
            });
        }
        let before = match prev {
            Some((p, sha)) if p + 1 == *seq => Some(sha),
            None if *seq == 0 => Some(GENESIS),
            _ => None,
        };
        if let Some(before) = before
            && r.prev_sha256 != before
        {
            problems.push(format!(
                "{}: index chain broken: it links to {} but the entry before hashes to {}; an entry was replaced or made up",
                o.key,
                short(&r.prev_sha256),
                short(before)
            ));
        }
        prev = Some((*seq, sha));
    }
    // Each entry names executions that are here, with the manifests it names.
    let mut indexed: BTreeSet<(&str, &str)> = BTreeSet::new();
    for (o, r, _) in entries.values() {
        if r.executions.is_empty() {
            problems.push(format!("{}: an index entry that names no execution", o.key));
        }
        for x in &r.executions {
            let parts: Vec<&str> = x.folder.rsplit('/').take(3).collect();
            let agrees = parts
                == [
                    sanitize(&x.execution_id).as_str(),
                    sanitize(&x.finding_id).as_str(),
                    sanitize(&x.account_id).as_str(),
                ]
                && x.manifest_key.starts_with(&format!("{}/", x.folder));
            if !agrees {
                problems.push(format!(
                    "{}: names execution {} of finding {} in account {}, but folder {} and manifest {}",
                    o.key, x.execution_id, x.finding_id, x.account_id, x.folder, x.manifest_key
                ));
                continue;
            }
            indexed.insert((x.folder.as_str(), x.manifest_sha256.as_str()));
            if !whole {
                continue;
            }
            match manifests.get(&x.folder) {
                Some(sha) if *sha == x.manifest_sha256 => {}
                Some(sha) => problems.push(format!(
                    "{}: names manifest {} of execution {}, but its manifest hashes to {}: the execution was rewritten",
                    o.key,
                    short(&x.manifest_sha256),
                    x.execution_id,
                    short(sha)
                )),
                None if executions.iter().any(|e| e.path == x.folder) => {
                    // There without its manifest: its own audit says so.
                }
                None => problems.push(format!(
                    "{}: names execution {} of finding {} (account {}), which is not in the store: it was deleted",
                    o.key, x.execution_id, x.finding_id, x.account_id
                )),
            }
        }
    }
    // Each execution with a manifest is named by an entry.
    for e in executions.iter_mut() {
        let Some(sha) = manifests.get(&e.path) else {
            continue;
        };
        if !indexed.contains(&(e.path.as_str(), sha.as_str())) {
            e.problems.push(
                "no entry of the execution index names it (with this manifest): firebreak enters every execution it writes, so this one was made up, copied in, or rewritten"
                    .to_string(),
            );
        }
    }
    let head = entries
        .last_key_value()
        .map(|(seq, (_, _, sha))| (*seq, sha.clone()));
    if let Some((seq, sha)) = &policy.index_head {
        match entries.get(seq) {
            Some((_, _, found)) if found == sha => {}
            Some((o, _, found)) => problems.push(format!(
                "{}: is not the index entry {seq} an earlier audit saw ({} then, {} now): the index was rewritten",
                o.key,
                short(sha),
                short(found)
            )),
            None => problems.push(format!(
                "the index ends at entry {}, and entry {seq}, which an earlier audit saw, is gone: entries were deleted",
                head.as_ref().map_or("none".to_string(), |(s, _)| s.to_string())
            )),
        }
    }
    (
        problems,
        Some(IndexSummary {
            entries: entries.len(),
            head,
        }),
    )
}
