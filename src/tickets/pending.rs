//! A write-once list of incident work still to do, kept in the evidence bucket: the ticket
//! writes that failed (`_incidents/_unwritten/`) and the incidents whose ticket closes when
//! GuardDuty archives the finding (`_incidents/_awaiting_archive/`).
//!
//! The bucket is Object-Locked, so nothing is removed or rewritten. An item is
//! `{folder}/{day}/{uuid}.json` (UTC day of its writing, UUIDv7); `{uuid}.done.json` beside it
//! says it is done. A past day whose every item is done gets `{folder}/{day}.complete.json` and
//! is never listed again. A pass therefore lists the days (one short listing), then only the
//! days still open, and reads only the items not done: its cost follows the open work, not the
//! bucket's history.
//!
//! Items written directly in the folder, as firebreak wrote them before days were kept, are
//! still read.

use super::{Entry, SCHEMA, TicketError};
use crate::evidence::seal::Key;
use crate::evidence::{Store, StoreError};

/// One list.
pub(crate) struct Pending<'a> {
    store: &'a Store,
    folder: String,
    /// Seals what is written, and only items whose seal holds are read.
    seal: Option<&'a Key>,
}

/// An item not done yet: its key without `.json`, and its record.
pub(crate) type Item = (String, Entry);

const DONE: &str = ".done.json";
const COMPLETE: &str = ".complete.json";

impl<'a> Pending<'a> {
    pub(crate) fn new(store: &'a Store, folder: String, seal: Option<&'a Key>) -> Pending<'a> {
        Pending {
            store,
            folder,
            seal,
        }
    }

    /// Adds an item (a copy of an incident record).
    pub(crate) async fn add(&self, e: &Entry) -> Result<(), StoreError> {
        let day = today();
        let key = format!("{}/{day}/{}.json", self.folder, uuid::Uuid::now_v7());
        write(self.store, &key, e, self.seal).await
    }

    /// Says that the item is done.
    pub(crate) async fn done(&self, stem: &str, e: &Entry) -> Result<(), StoreError> {
        write(self.store, &format!("{stem}{DONE}"), e, self.seal).await
    }

    /// The items not done yet, oldest first. Past days found all done are marked complete.
    pub(crate) async fn open(&self) -> Result<Vec<Item>, TicketError> {
        let top = self.store.list(&self.folder).await?;
        let mut items = self.open_in(&top.keys).await?;
        let today = today();
        for day in &top.folders {
            let name = day.rsplit('/').next().unwrap_or_default();
            let complete = format!("{day}{COMPLETE}");
            if top.keys.contains(&complete) && self.believed(&complete).await? {
                continue;
            }
            let listed = self.store.list(day).await?;
            let open = self.open_in(&listed.keys).await?;
            if open.is_empty() && name < today.as_str() && !listed.keys.is_empty() {
                let mut marker = Entry::new("complete");
                marker.detail = Some(format!("every item of {name} is done"));
                match write(self.store, &format!("{day}{COMPLETE}"), &marker, self.seal).await {
                    Ok(()) | Err(StoreError::Exists(_)) => {}
                    Err(e) => crate::log!("pending_not_marked", folder = %day, error = %e),
                }
            }
            items.extend(open);
        }
        Ok(items)
    }

    /// Whether the marker at `key` is firebreak's ([`believed`]): a forged "done" or
    /// "complete" would hide work still to do.
    async fn believed(&self, key: &str) -> Result<bool, TicketError> {
        believed(self.store, key, self.seal).await
    }

    /// The items among `keys` (one folder's) without their done marker, read.
    async fn open_in(&self, keys: &[String]) -> Result<Vec<Item>, TicketError> {
        let mut done: std::collections::HashSet<&str> = std::collections::HashSet::new();
        for k in keys {
            if let Some(stem) = k.strip_suffix(DONE)
                && self.believed(k).await?
            {
                done.insert(stem);
            }
        }
        let mut out = Vec::new();
        for key in keys {
            if key.ends_with(DONE) || key.ends_with(COMPLETE) {
                continue;
            }
            let Some(stem) = key.strip_suffix(".json") else {
                continue;
            };
            if done.contains(stem) {
                continue;
            }
            let bytes = self.store.get(key).await?;
            if let Some(e) = read_entry(key, &bytes, self.seal)?
                && e.schema == SCHEMA
            {
                out.push((stem.to_string(), e));
            }
        }
        Ok(out)
    }
}

/// Today, UTC, as `YYYY-MM-DD` (the first ten characters of an RFC 3339 time).
fn today() -> String {
    crate::evidence::now_rfc3339().chars().take(10).collect()
}

/// Writes `e` once at `key` (every incident object is written this way), sealed with `seal`
/// when there is one.
pub(crate) async fn write(
    store: &Store,
    key: &str,
    e: &Entry,
    seal: Option<&Key>,
) -> Result<(), StoreError> {
    let bytes = serde_json::to_value(e)
        .map_err(|err| StoreError::Io(err.to_string()))
        .and_then(|v| {
            crate::evidence::seal::json_bytes(v, seal)
                .map_err(|err| StoreError::Io(format!("{key}: {err}")))
        })?;
    let sha = crate::evidence::sha256_hex(&bytes);
    store.put(key, bytes, &sha).await
}

/// Whether the incident record at `key` is firebreak's: any is without a seal key (nothing is
/// read); with one, only one whose seal holds.
pub(crate) async fn believed(
    store: &Store,
    key: &str,
    seal: Option<&Key>,
) -> Result<bool, TicketError> {
    if seal.is_none() {
        return Ok(true);
    }
    let bytes = store.get(key).await?;
    Ok(read_entry(key, &bytes, seal)?.is_some())
}

/// The incident record in `bytes` (at `key`). With `seal`, only one whose seal holds: one that
/// does not was not written by firebreak (or was changed), is reported and is `None`, so that
/// a writer of the bucket cannot close, reopen or pre-empt an incident.
pub(crate) fn read_entry(
    key: &str,
    bytes: &[u8],
    seal: Option<&Key>,
) -> Result<Option<Entry>, TicketError> {
    let unreadable = |reason: String| TicketError::Unreadable {
        key: key.to_string(),
        reason,
    };
    match seal {
        None => serde_json::from_slice(bytes)
            .map(Some)
            .map_err(|e| unreadable(e.to_string())),
        Some(k) => match k.open_json(bytes) {
            Ok(v) => serde_json::from_value(v)
                .map(Some)
                .map_err(|e| unreadable(e.to_string())),
            Err(e) => {
                crate::log!("incident_record_forged", key, reason = %e);
                Ok(None)
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str) -> Entry {
        let mut e = Entry::new("unwritten");
        e.finding_id = id.into();
        e
    }

    /// With a seal key, only sealed items are work to do, and only a sealed marker says one is
    /// done: a forged item (a "close" someone put in the list) and a forged done marker (to
    /// hide a ticket write still to make) change nothing.
    #[tokio::test]
    async fn with_a_seal_key_forged_items_and_markers_are_not_believed() {
        let dir = std::env::temp_dir().join(format!("firebreak-pending-{}", uuid::Uuid::now_v7()));
        let store = Store::Local { dir: dir.clone() };
        let key = crate::evidence::seal::Key::for_test(3);
        let list = Pending::new(&store, "_incidents/_unwritten".into(), Some(&key));
        list.add(&item("real")).await.unwrap();
        let day = today();
        write(
            &store,
            &format!("_incidents/_unwritten/{day}/forged.json"),
            &item("forged"),
            None,
        )
        .await
        .unwrap();
        let open = list.open().await.unwrap();
        let ids: Vec<&str> = open.iter().map(|(_, e)| e.finding_id.as_str()).collect();
        assert_eq!(ids, ["real"]);
        // A done marker firebreak did not seal: the item is still to do.
        let (stem, e) = &open[0];
        write(&store, &format!("{stem}{DONE}"), e, None)
            .await
            .unwrap();
        assert_eq!(list.open().await.unwrap().len(), 1);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn items_are_listed_until_done_and_a_past_day_all_done_is_not_listed_again() {
        let dir = std::env::temp_dir().join(format!("firebreak-pending-{}", uuid::Uuid::now_v7()));
        let store = Store::Local { dir: dir.clone() };
        let list = Pending::new(&store, "_incidents/_unwritten".into(), None);
        // An item of a past day, and one of today; and one as written before days were kept.
        write(
            &store,
            "_incidents/_unwritten/2020-01-01/a.json",
            &item("past"),
            None,
        )
        .await
        .unwrap();
        list.add(&item("today")).await.unwrap();
        write(&store, "_incidents/_unwritten/old.json", &item("old"), None)
            .await
            .unwrap();
        let open = list.open().await.unwrap();
        let ids: Vec<&str> = open.iter().map(|(_, e)| e.finding_id.as_str()).collect();
        assert_eq!(ids, ["old", "past", "today"]);
        for (stem, e) in &open {
            list.done(stem, e).await.unwrap();
        }
        assert!(list.open().await.unwrap().is_empty());
        // The past day is complete and never read again; today's is not marked (more may come).
        assert!(
            dir.join("_incidents/_unwritten/2020-01-01.complete.json")
                .exists()
        );
        std::fs::remove_file(dir.join("_incidents/_unwritten/2020-01-01/a.done.json")).unwrap();
        assert!(
            list.open().await.unwrap().is_empty(),
            "a complete day is not listed"
        );
        let today = today();
        assert!(
            !dir.join(format!("_incidents/_unwritten/{today}.complete.json"))
                .exists()
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
