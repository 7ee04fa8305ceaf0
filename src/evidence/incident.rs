//! Incident records (written by `crate::tickets`): what the audit checks of them and what they
//! hold. They live beside the claims, under `{prefix}/_incidents/{account}/{incident}/`.

use serde::{Deserialize, Serialize};

/// The folder, right under the evidence prefix, that holds incidents.
pub const INCIDENTS_DIR: &str = "_incidents";

/// The schema every incident record names.
pub const SCHEMA: &str = "firebreak.incident/v1";

/// A ticket in a tracker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketRef {
    /// `github`.
    pub tracker: String,
    /// The repository (`OWNER/NAME`).
    pub project: String,
    /// The issue number.
    pub id: String,
    /// Where a person opens it.
    pub url: String,
    /// Its title (for a tracker that rewrites the whole message, Slack).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// One write to a ticket tracker, kept whole in an `unwritten` record so that it can be
/// written later from the record alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum TicketOp {
    /// Open the incident's ticket.
    Open {
        title: String,
        body: String,
        assignees: Vec<String>,
    },
    Comment {
        body: String,
    },
    /// Close the ticket (`detail` says why, in the `closed` record).
    Close {
        detail: String,
    },
    Reopen,
}

/// The folder, under [`INCIDENTS_DIR`], that lists the ticket writes still to make: one
/// `{day}/{uuid}.json` per failed write (a copy of its `unwritten` record), and
/// `{day}/{uuid}.done.json` once it is made (see `crate::tickets::pending`).
pub const UNWRITTEN_DIR: &str = "_unwritten";

/// The folder, under [`INCIDENTS_DIR`], that lists the incidents whose ticket closes when
/// GuardDuty archives the finding (`close: on_archive`), kept like [`UNWRITTEN_DIR`].
pub const AWAITING_ARCHIVE_DIR: &str = "_awaiting_archive";

/// One incident record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub schema: String,
    /// `opened`, `ticket`, `updated`, `outcome`, `closed`, `reopened` or `unwritten`.
    pub kind: String,
    pub at: String,
    pub incident: String,
    pub finding_id: String,
    pub finding_type: String,
    pub account_id: String,
    pub region: String,
    /// The GuardDuty detector that produced the finding (`service.detectorId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detector_id: Option<String>,
    /// The finding's `service.count` and `updatedAt` as this record saw them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<TicketRef>,
    /// The triage decision (on `opened`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<crate::domain::config::Decision>,
    /// When the ticket closes by itself (on `opened`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close: Option<crate::domain::config::Close>,
    /// The tracker writes still to make, in order (on `unwritten`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ops: Vec<TicketOp>,
    /// Data behind the record (an investigation's CloudTrail events), scrubbed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
    /// What happened, in a line (an outcome's status, why a write failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Entry {
    /// A record of `kind`, now, of no finding yet (the caller fills in what it is about).
    pub fn new(kind: &str) -> Entry {
        Entry {
            schema: SCHEMA.into(),
            kind: kind.into(),
            at: crate::evidence::now_rfc3339(),
            incident: String::new(),
            finding_id: String::new(),
            finding_type: String::new(),
            account_id: String::new(),
            region: String::new(),
            detector_id: None,
            count: None,
            updated_at: None,
            execution_id: None,
            ticket: None,
            decision: None,
            close: None,
            ops: Vec::new(),
            data: None,
            detail: None,
        }
    }
}
