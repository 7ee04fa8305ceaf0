//! The execution index: one entry per execution whose manifest is written, numbered from 0 and
//! chained (each entry carries the SHA-256 of the one before), under `{prefix}/_index/`, written
//! once like every record. Each execution's own chain proves only that execution; the index
//! lets `audit` prove the store as a whole: an execution deleted whole (its entry names it), an
//! entry deleted (a gap or a broken chain), and an execution made up or a "succeeded" twin of a
//! failed one (no entry names it, or the entry names another manifest) are each reported.
//! Entries are sealed like claims (`crate::evidence::seal`, scope [`INDEX_SCOPE`]) whenever the
//! execution is, so that an entry cannot be made up either.
//!
//! Writers of one store agree on the numbers without a lock service: an entry is written only
//! if its number is free (`If-None-Match: *`), and a writer that loses a number finds the new
//! end of the index and tries the next. In one process, entries are appended one at a time and
//! the end is remembered, so an execution costs one write.
//!
//! What the index cannot show alone: its last entries deleted together with their executions
//! (only possible where Object Lock is in governance mode and the deleter may bypass it). An
//! audit's `--index-head SEQ:SHA256`, the head an earlier audit printed, covers that.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{GENESIS, Store, StoreError, sha256_hex};
use crate::evidence::seal::{KeyError, Sealer};

/// The index's folder, under the store's prefix.
pub const INDEX_DIR: &str = "_index";

/// The `schema` of an index entry.
pub const SCHEMA: &str = "firebreak.evidence.index/v1";

/// The seal scope of every index entry of a store.
pub const INDEX_SCOPE: &str = "index";

/// One entry: an execution whose manifest was written.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct IndexRecord {
    /// `firebreak.evidence.index/v1`.
    pub schema: String,
    /// The entry's number, from 0; the object is `_index/{seq:012}.json`.
    pub seq: u64,
    /// SHA-256 (hex) of the previous entry's bytes; 64 zeros for the first.
    pub prev_sha256: String,
    /// When the entry was written (RFC 3339, UTC).
    pub recorded_at: String,
    pub account_id: String,
    pub finding_id: String,
    pub execution_id: String,
    /// The execution's folder: the key prefix of its records.
    pub folder: String,
    /// The key of the execution's manifest.
    pub manifest_key: String,
    /// SHA-256 (hex) of the manifest's bytes.
    pub manifest_sha256: String,
    /// HMAC-SHA256 (hex) of the entry's pretty-printed bytes without this member, under the
    /// index's seal key: present, as the last member, when the execution's records are sealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal: Option<String>,
}

/// The execution an entry is written for.
#[derive(Debug, Clone)]
pub struct Indexed<'a> {
    pub account_id: &'a str,
    pub finding_id: &'a str,
    pub execution_id: &'a str,
    /// The execution's folder (`Recorder::folder`).
    pub folder: &'a str,
    pub manifest_key: &'a str,
    pub manifest_sha256: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Seal(#[from] KeyError),
    #[error("no free index number after {0} attempts: other writers took each one first")]
    Contended(u32),
}

/// The object name of entry `seq`.
pub fn entry_name(seq: u64) -> String {
    format!("{seq:012}.json")
}

/// `000000000042.json` → 42; `None` for any other name.
pub fn parse_entry_name(name: &str) -> Option<u64> {
    let stem = name.strip_suffix(".json")?;
    (stem.len() == 12 && stem.bytes().all(|b| b.is_ascii_digit()))
        .then(|| stem.parse().ok())
        .flatten()
}

/// Where the next entry goes: its number and the hash of the entry before it.
#[derive(Debug, Clone)]
struct Head {
    next: u64,
    prev_sha256: String,
}

/// Each store's end of the index as this process last saw it, behind a lock that makes this
/// process's entries one at a time.
type Slot = Arc<tokio::sync::Mutex<Option<Head>>>;
static HEADS: LazyLock<std::sync::Mutex<HashMap<String, Slot>>> =
    LazyLock::new(|| std::sync::Mutex::new(HashMap::new()));

const ATTEMPTS: u32 = 64;

/// Writes the index entry of `x`; returns its key. Sealed when `sealer` is given.
pub async fn append(
    store: &Store,
    sealer: Option<&Sealer>,
    x: &Indexed<'_>,
) -> Result<String, IndexError> {
    let folder = super::folder(store.prefix(), &[INDEX_DIR]);
    let slot = {
        let mut heads = HEADS.lock().unwrap_or_else(|p| p.into_inner());
        heads.entry(store.describe()).or_default().clone()
    };
    let key = match sealer {
        Some(s) => Some(s.key(INDEX_SCOPE).await?),
        None => None,
    };
    let mut remembered = slot.lock().await;
    let mut from = 0;
    for attempt in 1..=ATTEMPTS {
        let head = match remembered.take() {
            Some(h) => h,
            None => find_head(store, &folder, from).await?,
        };
        let record = IndexRecord {
            schema: SCHEMA.to_string(),
            seq: head.next,
            prev_sha256: head.prev_sha256.clone(),
            recorded_at: super::now_rfc3339(),
            account_id: x.account_id.to_string(),
            finding_id: x.finding_id.to_string(),
            execution_id: x.execution_id.to_string(),
            folder: x.folder.to_string(),
            manifest_key: x.manifest_key.to_string(),
            manifest_sha256: x.manifest_sha256.to_string(),
            seal: None,
        };
        let value = serde_json::to_value(&record).map_err(|e| StoreError::Io(e.to_string()))?;
        let bytes = match &key {
            Some(k) => k
                .seal_json(value)
                .map_err(|e| StoreError::Io(e.to_string()))?,
            None => {
                let mut b =
                    serde_json::to_vec_pretty(&value).map_err(|e| StoreError::Io(e.to_string()))?;
                b.push(b'\n');
                b
            }
        };
        let sha = sha256_hex(&bytes);
        let entry_key = format!("{folder}/{}", entry_name(head.next));
        match store.put(&entry_key, bytes, &sha).await {
            Ok(()) => {
                *remembered = Some(Head {
                    next: head.next + 1,
                    prev_sha256: sha,
                });
                return Ok(entry_key);
            }
            // Another writer took the number: find the new end from there, after a pause
            // that keeps two writers from colliding again and again.
            Err(StoreError::Exists(_)) if attempt < ATTEMPTS => {
                from = head.next + 1;
                tokio::time::sleep(std::time::Duration::from_millis(fastrand::u64(5..50))).await;
            }
            Err(StoreError::Exists(_)) => break,
            Err(e) => return Err(e.into()),
        }
    }
    Err(IndexError::Contended(ATTEMPTS))
}

/// The end of the index, knowing that entries below `from` exist: the first free number
/// (found by doubling, then halving: a few listings however long the index) and the hash of
/// the entry before it.
async fn find_head(store: &Store, folder: &str, from: u64) -> Result<Head, IndexError> {
    let exists = |n: u64| {
        let key = format!("{folder}/{}", entry_name(n));
        async move { store.exists(&key).await }
    };
    // Invariant: every entry below `lo` exists; `hi`, when found, does not.
    let mut lo = from;
    let mut step = 1u64;
    let hi = loop {
        let probe = lo.saturating_add(step - 1);
        if !exists(probe).await? {
            break probe;
        }
        lo = probe + 1;
        step = step.saturating_mul(2);
    };
    let mut hi = hi;
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if exists(mid).await? {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    let prev_sha256 = match lo.checked_sub(1) {
        None => GENESIS.to_string(),
        Some(last) => {
            let key = format!("{folder}/{}", entry_name(last));
            // Whatever is there is chained to, even an entry that is not firebreak's: the
            // index goes on, and `audit` reports that entry.
            sha256_hex(&store.get(&key).await?)
        }
    };
    Ok(Head {
        next: lo,
        prev_sha256,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn indexed(n: usize) -> (String, String) {
        (format!("exec-{n}"), format!("{n:064}"))
    }

    #[tokio::test]
    async fn entries_are_numbered_and_chained_across_writers() {
        let dir = std::env::temp_dir().join(format!("fb-index-{}", fastrand::u64(..)));
        let store = Store::Local { dir: dir.clone() };
        let write = |n: usize| {
            let store = store.clone();
            async move {
                let (exec, sha) = indexed(n);
                append(
                    &store,
                    None,
                    &Indexed {
                        account_id: "111122223333",
                        finding_id: "f",
                        execution_id: &exec,
                        folder: &format!("111122223333/f/{exec}"),
                        manifest_key: "k",
                        manifest_sha256: &sha,
                    },
                )
                .await
                .unwrap()
            }
        };
        for n in 0..5 {
            write(n).await;
        }
        // Another process's writer: it does not know the end, and finds it.
        HEADS.lock().unwrap().clear();
        let key = write(5).await;
        assert!(key.ends_with("_index/000000000005.json"), "{key}");
        // Another writer took the next number behind this process's back.
        let taken = dir.join(INDEX_DIR).join(entry_name(6));
        std::fs::copy(dir.join(INDEX_DIR).join(entry_name(5)), &taken).unwrap();
        let key = write(7).await;
        assert!(key.ends_with("_index/000000000007.json"), "{key}");
        let mut prev = GENESIS.to_string();
        for seq in 0..=7u64 {
            let bytes = std::fs::read(dir.join(INDEX_DIR).join(entry_name(seq))).unwrap();
            let r: IndexRecord = serde_json::from_slice(&bytes).unwrap();
            if seq != 6 && seq != 7 {
                assert_eq!((r.seq, &r.prev_sha256), (seq, &prev));
            }
            prev = sha256_hex(&bytes);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn entry_names_round_trip() {
        assert_eq!(parse_entry_name(&entry_name(42)), Some(42));
        assert_eq!(parse_entry_name("42.json"), None);
        assert_eq!(parse_entry_name("00000000004x.json"), None);
    }
}
