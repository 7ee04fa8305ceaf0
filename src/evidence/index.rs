//! The execution index: entries naming every execution whose manifest is written (one each,
//! unless several end at once: then one entry names them all), numbered from 0 and chained
//! (each entry carries the SHA-256 of the one before), under `{prefix}/_index/`, written once
//! like every record. Each execution's own chain proves only that execution; the index
//! lets `audit` prove the store as a whole: an execution deleted whole (its entry names it), an
//! entry deleted (a gap or a broken chain), and an execution made up or a "succeeded" twin of a
//! failed one (no entry names it, or the entry names another manifest) are each reported.
//! Entries are sealed like claims (`crate::evidence::seal`, scope [`INDEX_SCOPE`]) whenever the
//! execution is, so that an entry cannot be made up either.
//!
//! Writers of one store agree on the numbers without a lock service: an entry is written only
//! if its number is free (`If-None-Match: *`), and a writer that loses a number finds the new
//! end of the index and tries the next. In one process, entries are written one at a time, the
//! end is remembered, and whoever writes enters every execution waiting then (a group commit),
//! so an execution costs at most one write, and many ending at once share a few.
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

/// One entry: the executions whose manifests were written while the entry before it was being
/// written (one write for them all), usually one.
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
    /// The executions it enters, at least one.
    pub executions: Vec<IndexedExecution>,
    /// HMAC-SHA256 (hex) of the entry's pretty-printed bytes without this member, under the
    /// index's seal key: present, as the last member, when the executions' records are sealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal: Option<String>,
}

/// An execution whose manifest is written, as the index names it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct IndexedExecution {
    pub account_id: String,
    pub finding_id: String,
    pub execution_id: String,
    /// The execution's folder: the key prefix of its records (`Recorder::folder`).
    pub folder: String,
    /// The key of the execution's manifest.
    pub manifest_key: String,
    /// SHA-256 (hex) of the manifest's bytes.
    pub manifest_sha256: String,
}

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Seal(#[from] KeyError),
    #[error("no free index number after {0} attempts: other writers took each one first")]
    Contended(u32),
    /// The write that was to carry this execution, with others', failed.
    #[error("{0}")]
    Shared(String),
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

/// An execution waiting for its entry, and where to say which entry holds it.
type Waiting = (
    IndexedExecution,
    tokio::sync::oneshot::Sender<Result<EntryAt, String>>,
);

/// One store's index in this process: the executions waiting to be entered, and the writer's
/// lock with the end of the index as this process last saw it. Whoever takes the lock writes
/// one entry for every execution waiting then (a group commit), so that many executions ending
/// at once cost a few writes, not one each in turn.
#[derive(Default)]
struct Slot {
    waiting: std::sync::Mutex<Vec<Waiting>>,
    writer: tokio::sync::Mutex<Option<Head>>,
}

static SLOTS: LazyLock<std::sync::Mutex<HashMap<String, Arc<Slot>>>> =
    LazyLock::new(|| std::sync::Mutex::new(HashMap::new()));

const ATTEMPTS: u32 = 64;

/// The entry that holds an execution: its key and the SHA-256 of its bytes (what `audit
/// --index-head` is given, once it is the head).
#[derive(Debug, Clone, PartialEq)]
pub struct EntryAt {
    pub key: String,
    pub seq: u64,
    pub sha256: String,
}

/// Enters `x` in its store's index; returns the entry that holds it. Sealed when `sealer` is
/// given.
pub async fn append(
    store: &Store,
    sealer: Option<&Sealer>,
    x: IndexedExecution,
) -> Result<EntryAt, IndexError> {
    let folder = super::folder(store.prefix(), &[INDEX_DIR]);
    let slot = {
        let mut slots = SLOTS.lock().unwrap_or_else(|p| p.into_inner());
        slots.entry(store.describe()).or_default().clone()
    };
    let key = match sealer {
        Some(s) => Some(s.key(INDEX_SCOPE).await?),
        None => None,
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    slot.waiting
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push((x, tx));
    {
        let mut head = slot.writer.lock().await;
        // Everything waiting now, this execution too unless the writer before took it.
        let batch = std::mem::take(&mut *slot.waiting.lock().unwrap_or_else(|p| p.into_inner()));
        if !batch.is_empty() {
            let (executions, senders): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
            let written = write(store, &folder, key.as_ref(), &mut head, executions).await;
            let said = written.map_err(|e| e.to_string());
            for s in senders {
                let _ = s.send(said.clone());
            }
        }
    }
    match rx.await {
        Ok(Ok(entry)) => Ok(entry),
        Ok(Err(e)) => Err(IndexError::Shared(e)),
        Err(_) => Err(IndexError::Shared("the index writer stopped".into())),
    }
}

/// Writes one entry for `executions` at the end of the index (`head`, found when unknown, kept
/// up to date).
async fn write(
    store: &Store,
    folder: &str,
    key: Option<&crate::evidence::seal::Key>,
    remembered: &mut Option<Head>,
    executions: Vec<IndexedExecution>,
) -> Result<EntryAt, IndexError> {
    let mut from = 0;
    for attempt in 1..=ATTEMPTS {
        let head = match remembered.take() {
            Some(h) => h,
            None => find_head(store, folder, from).await?,
        };
        let record = IndexRecord {
            schema: SCHEMA.to_string(),
            seq: head.next,
            prev_sha256: head.prev_sha256.clone(),
            recorded_at: super::now_rfc3339(),
            executions: executions.clone(),
            seal: None,
        };
        let value = serde_json::to_value(&record).map_err(|e| StoreError::Io(e.to_string()))?;
        let bytes = crate::evidence::seal::json_bytes(value, key)
            .map_err(|e| StoreError::Io(e.to_string()))?;
        let sha = sha256_hex(&bytes);
        let entry_key = format!("{folder}/{}", entry_name(head.next));
        match store.put(&entry_key, bytes, &sha).await {
            Ok(()) => {
                *remembered = Some(Head {
                    next: head.next + 1,
                    prev_sha256: sha.clone(),
                });
                return Ok(EntryAt {
                    key: entry_key,
                    seq: head.next,
                    sha256: sha,
                });
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

    fn execution(n: usize) -> IndexedExecution {
        IndexedExecution {
            account_id: "111122223333".into(),
            finding_id: "f".into(),
            execution_id: format!("exec-{n}"),
            folder: format!("111122223333/f/exec-{n}"),
            manifest_key: format!("111122223333/f/exec-{n}/0003-manifest.json"),
            manifest_sha256: format!("{n:064}"),
        }
    }

    fn entries(dir: &std::path::Path) -> Vec<(Vec<u8>, IndexRecord)> {
        let mut names: Vec<_> = std::fs::read_dir(dir.join(INDEX_DIR))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|p| {
                let b = std::fs::read(p).unwrap();
                let r = serde_json::from_slice(&b).unwrap();
                (b, r)
            })
            .collect()
    }

    #[tokio::test]
    async fn entries_are_numbered_and_chained_across_writers() {
        let dir = std::env::temp_dir().join(format!("fb-index-{}", fastrand::u64(..)));
        let store = Store::Local { dir: dir.clone() };
        for n in 0..5 {
            append(&store, None, execution(n)).await.unwrap();
        }
        // Another process's writer: it does not know the end, and finds it.
        SLOTS.lock().unwrap().clear();
        let at = append(&store, None, execution(5)).await.unwrap();
        assert!(at.key.ends_with("_index/000000000005.json"), "{at:?}");
        assert_eq!(at.seq, 5);
        assert_eq!(
            at.sha256,
            sha256_hex(&std::fs::read(dir.join(INDEX_DIR).join(entry_name(5))).unwrap())
        );
        // Another writer took the next number behind this process's back.
        let taken = dir.join(INDEX_DIR).join(entry_name(6));
        std::fs::copy(dir.join(INDEX_DIR).join(entry_name(5)), &taken).unwrap();
        let at = append(&store, None, execution(7)).await.unwrap();
        assert!(at.key.ends_with("_index/000000000007.json"), "{at:?}");
        let mut prev = GENESIS.to_string();
        for (seq, (bytes, r)) in entries(&dir).into_iter().enumerate() {
            if seq != 6 {
                assert_eq!((r.seq, &r.prev_sha256), (seq as u64, &prev));
            }
            prev = sha256_hex(&bytes);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Executions ending at once share writes, and each is entered exactly once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn executions_ending_at_once_share_entries() {
        let dir = std::env::temp_dir().join(format!("fb-index-{}", fastrand::u64(..)));
        let store = Store::Local { dir: dir.clone() };
        let tasks: Vec<_> = (0..40)
            .map(|n| {
                let store = store.clone();
                tokio::spawn(async move { append(&store, None, execution(n)).await.unwrap() })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let entries = entries(&dir);
        let mut named: Vec<String> = entries
            .iter()
            .flat_map(|(_, r)| r.executions.iter().map(|e| e.execution_id.clone()))
            .collect();
        named.sort();
        let mut wanted: Vec<String> = (0..40).map(|n| format!("exec-{n}")).collect();
        wanted.sort();
        assert_eq!(named, wanted);
        assert!(entries.iter().all(|(_, r)| !r.executions.is_empty()));
        let mut prev = GENESIS.to_string();
        for (seq, (bytes, r)) in entries.iter().enumerate() {
            assert_eq!((r.seq, &r.prev_sha256), (seq as u64, &prev));
            prev = sha256_hex(bytes);
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
