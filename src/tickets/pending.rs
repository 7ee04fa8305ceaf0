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
use crate::evidence::{Store, StoreError};

/// One list.
pub(crate) struct Pending<'a> {
    store: &'a Store,
    folder: String,
}

/// An item not done yet: its key without `.json`, and its record.
pub(crate) type Item = (String, Entry);

const DONE: &str = ".done.json";
const COMPLETE: &str = ".complete.json";

impl<'a> Pending<'a> {
    pub(crate) fn new(store: &'a Store, folder: String) -> Pending<'a> {
        Pending { store, folder }
    }

    /// Adds an item (a copy of an incident record).
    pub(crate) async fn add(&self, e: &Entry) -> Result<(), StoreError> {
        let day = today();
        let key = format!("{}/{day}/{}.json", self.folder, uuid::Uuid::now_v7());
        write(self.store, &key, e).await
    }

    /// Says that the item is done.
    pub(crate) async fn done(&self, stem: &str, e: &Entry) -> Result<(), StoreError> {
        write(self.store, &format!("{stem}{DONE}"), e).await
    }

    /// The items not done yet, oldest first. Past days found all done are marked complete.
    pub(crate) async fn open(&self) -> Result<Vec<Item>, TicketError> {
        let top = self.store.list(&self.folder).await?;
        let mut items = self.open_in(&top.keys).await?;
        let today = today();
        for day in &top.folders {
            let name = day.rsplit('/').next().unwrap_or_default();
            if top.keys.iter().any(|k| *k == format!("{day}{COMPLETE}")) {
                continue;
            }
            let listed = self.store.list(day).await?;
            let open = self.open_in(&listed.keys).await?;
            if open.is_empty() && name < today.as_str() && !listed.keys.is_empty() {
                let mut marker = Entry::new("complete");
                marker.detail = Some(format!("every item of {name} is done"));
                match write(self.store, &format!("{day}{COMPLETE}"), &marker).await {
                    Ok(()) | Err(StoreError::Exists(_)) => {}
                    Err(e) => crate::log!("pending_not_marked", folder = %day, error = %e),
                }
            }
            items.extend(open);
        }
        Ok(items)
    }

    /// The items among `keys` (one folder's) without their done marker, read.
    async fn open_in(&self, keys: &[String]) -> Result<Vec<Item>, TicketError> {
        let done: std::collections::HashSet<&str> =
            keys.iter().filter_map(|k| k.strip_suffix(DONE)).collect();
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
            let e: Entry =
                serde_json::from_slice(&bytes).map_err(|err| TicketError::Unreadable {
                    key: key.clone(),
                    reason: err.to_string(),
                })?;
            if e.schema == SCHEMA {
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

/// Writes `e` once at `key` (every incident object is written this way).
pub(crate) async fn write(store: &Store, key: &str, e: &Entry) -> Result<(), StoreError> {
    let bytes = serde_json::to_vec_pretty(e).map_err(|err| StoreError::Io(err.to_string()))?;
    let sha = crate::evidence::sha256_hex(&bytes);
    store.put(key, bytes, &sha).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str) -> Entry {
        let mut e = Entry::new("unwritten");
        e.finding_id = id.into();
        e
    }

    #[tokio::test]
    async fn items_are_listed_until_done_and_a_past_day_all_done_is_not_listed_again() {
        let dir = std::env::temp_dir().join(format!("firebreak-pending-{}", uuid::Uuid::now_v7()));
        let store = Store::Local { dir: dir.clone() };
        let list = Pending::new(&store, "_incidents/_unwritten".into());
        // An item of a past day, and one of today; and one as written before days were kept.
        write(
            &store,
            "_incidents/_unwritten/2020-01-01/a.json",
            &item("past"),
        )
        .await
        .unwrap();
        list.add(&item("today")).await.unwrap();
        write(&store, "_incidents/_unwritten/old.json", &item("old"))
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
