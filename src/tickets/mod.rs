//! Incidents and their tickets: every finding firebreak contains becomes an incident a person
//! can work from, with one ticket in the configured tracker (GitHub Issues), opened when
//! containment starts, given the outcome as a comment, closed when the finding is contained and
//! reopened when it comes back.
//!
//! An incident is recorded write-once in the evidence bucket, beside the claims, under
//! `{prefix}/_incidents/{account}/{incident}/`:
//!
//! - `opened.json`: who opened the incident, for which finding and execution. Written with
//!   `If-None-Match: *`, so that of several processes exactly one opens the ticket. With a seal
//!   key ([`Desk::with_seal`]) every record is sealed and only sealed ones are believed; when
//!   `opened.json` holds one firebreak did not write, the next of [`OPENED`]'s names is used.
//! - `ticket.json`: the ticket's tracker, number and address, once it exists.
//! - `{uuid}-{kind}.json`, in time order (UUIDv7): `updated` (the finding came again, with a
//!   higher count or a later `updatedAt`), `outcome` (an execution ended), `closed`,
//!   `reopened`, `unwritten` (a ticket write failed after its retries; the record keeps what it
//!   was, so nothing is lost with it).
//!
//! The ticket is never in the way of containment: it is opened while the steps run, every
//! write is retried by the tracker's policy, and a failure is logged and recorded, never
//! returned. Ticket texts are scrubbed of secrets like evidence, and the tracker's token is
//! never written anywhere.

pub mod findings;
pub mod github;
mod http;
pub mod investigate;
pub mod jira;
mod pending;
mod render;
mod setup;
pub mod slack;
mod tend;

use crate::domain::config::{Close, Config, Decision};
use crate::domain::finding::Finding;
use crate::domain::triage::Triage;
use crate::engine::{RunReport, RunStatus};
use crate::evidence::{Store, StoreError};

pub use setup::{Secret, config_path, load_config, permissions};

pub use crate::evidence::incident::{
    AWAITING_ARCHIVE_DIR, Entry, INCIDENTS_DIR, SCHEMA, TicketOp, TicketRef, UNWRITTEN_DIR,
};

/// Why a ticket could not be written.
#[derive(Debug, thiserror::Error)]
pub enum TicketError {
    /// The configuration or the environment is incomplete.
    #[error("{0}")]
    Config(String),
    /// The tracker failed after every retry.
    #[error("{0}")]
    Tracker(String),
    /// The tracker refused the write (a 4xx other than a rate limit).
    #[error("{message}")]
    Refused { status: u16, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("incident record {key}: {reason}")]
    Unreadable { key: String, reason: String },
}

/// The configured ticket tracker.
#[derive(Debug)]
pub enum Tracker {
    GitHub(github::GitHub),
    Jira(jira::Jira),
    Slack(slack::Slack),
}

impl Tracker {
    async fn open(
        &self,
        title: &str,
        body: &str,
        assignees: &[String],
    ) -> Result<TicketRef, TicketError> {
        match self {
            Tracker::GitHub(t) => t.open(title, body, assignees).await,
            Tracker::Jira(t) => t.open(title, body, assignees).await,
            Tracker::Slack(t) => t.open(title, body).await,
        }
    }

    async fn comment(&self, ticket: &TicketRef, body: &str) -> Result<(), TicketError> {
        match self {
            Tracker::GitHub(t) => t.comment(&ticket.id, body).await,
            Tracker::Jira(t) => t.comment(&ticket.id, body).await,
            Tracker::Slack(t) => t.comment(&ticket.id, body).await,
        }
    }

    async fn set_open(&self, ticket: &TicketRef, open: bool) -> Result<(), TicketError> {
        match self {
            Tracker::GitHub(t) => t.set_open(&ticket.id, open).await,
            Tracker::Jira(t) => t.set_open(&ticket.id, open).await,
            Tracker::Slack(t) => t.set_open(ticket, open).await,
        }
    }
}

/// Each step's parameters known before it ran, by step id.
pub type StepParams = std::collections::HashMap<String, serde_json::Map<String, serde_json::Value>>;

/// What an incident's records say.
#[derive(Debug, Default)]
pub struct Incident {
    pub opened: Option<Entry>,
    pub ticket: Option<TicketRef>,
    /// The later records, in time order.
    pub events: Vec<Entry>,
}

impl Incident {
    /// Whether the ticket is closed (its last close or reopen record).
    pub fn closed(&self) -> bool {
        self.events
            .iter()
            .rev()
            .find(|e| e.kind == "closed" || e.kind == "reopened")
            .is_some_and(|e| e.kind == "closed")
    }

    /// When the ticket was last closed.
    fn closed_at(&self) -> Option<&String> {
        self.events
            .iter()
            .rev()
            .find(|e| e.kind == "closed")
            .map(|e| &e.at)
    }

    /// The highest count and latest `updatedAt` recorded.
    fn seen(&self) -> (Option<u64>, Option<String>) {
        let all = self.opened.iter().chain(&self.events);
        (
            all.clone().filter_map(|e| e.count).max(),
            all.filter_map(|e| e.updated_at.clone()).max(),
        )
    }
}

/// The incident a finding belongs to: its attack sequence for an AttackSequence finding,
/// otherwise the finding itself.
pub fn incident_key(f: &Finding) -> String {
    f.json
        .pointer("/service/detection/sequence/uid")
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .map_or_else(|| f.id.clone(), |s| format!("sequence-{s}"))
}

/// The account folder, under [`INCIDENTS_DIR`], of messages on the finding queue that hold no
/// finding firebreak can act on (one incident per message).
pub const QUEUE_DIR: &str = "_queue";

/// What an incident record says of its finding: enough to find the incident and to write its
/// records, whether from a finding or from an earlier record.
#[derive(Debug, Clone)]
struct Subject {
    incident: String,
    detector_id: Option<String>,
    finding_id: String,
    finding_type: String,
    account_id: String,
    region: String,
    count: Option<u64>,
    updated_at: Option<String>,
}

impl From<&Finding> for Subject {
    fn from(f: &Finding) -> Self {
        Subject {
            incident: incident_key(f),
            detector_id: f
                .json
                .pointer("/service/detectorId")
                .and_then(|v| v.as_str())
                .map(str::to_string),
            finding_id: f.id.clone(),
            finding_type: f.type_name.clone(),
            account_id: f.account_id.clone(),
            region: f.region.clone(),
            count: f.count,
            updated_at: f.updated_at.clone(),
        }
    }
}

impl Subject {
    /// The finding as GuardDuty and Security Hub calls name it.
    fn target(&self) -> findings::Target<'_> {
        findings::Target {
            finding_id: &self.finding_id,
            finding_type: &self.finding_type,
            account_id: &self.account_id,
            region: &self.region,
            detector_id: self.detector_id.as_deref(),
        }
    }
}

impl From<&Entry> for Subject {
    fn from(e: &Entry) -> Self {
        Subject {
            incident: e.incident.clone(),
            detector_id: e.detector_id.clone(),
            finding_id: e.finding_id.clone(),
            finding_type: e.finding_type.clone(),
            account_id: e.account_id.clone(),
            region: e.region.clone(),
            count: e.count,
            updated_at: e.updated_at.clone(),
        }
    }
}

/// Opens, updates and closes tickets, keeping each incident's record.
pub struct Desk {
    store: Store,
    /// The tracker; without one, incidents are only recorded.
    tracker: Option<Tracker>,
    /// Owners by account id, and the tag that names a resource's owner.
    owners: Vec<(String, String)>,
    owner_tag: String,
    /// Closes the loop in GuardDuty and Security Hub (`tickets.resolve_findings`).
    findings: Option<findings::FindingStatus>,
    /// Reads an account's owner tag in AWS Organizations.
    organizations: Option<aws_sdk_organizations::Client>,
    resolve_findings: bool,
    /// Whether a new ticket gets the automatic investigation (`tickets.investigate`).
    pub investigate: bool,
    /// Seals every incident record; only records whose seal holds are believed
    /// ([`Desk::with_seal`]).
    seal: Option<crate::evidence::seal::Key>,
}

/// The names an incident's `opened` record may take, in order: when a writer of the bucket has
/// put a record firebreak did not seal at one, the next is used.
const OPENED: [&str; 4] = [
    "opened.json",
    "opened-2.json",
    "opened-3.json",
    "opened-4.json",
];

impl Desk {
    /// The desk `config` asks for (a tracker, or triage rules whose decisions are recorded),
    /// or none when it asks for neither.
    /// With `tickets.token_secret`, the tracker's token is read from AWS Secrets Manager with
    /// `base`'s identity.
    pub async fn from_config(
        config: &Config,
        store: Option<&Store>,
        base: &aws_config::SdkConfig,
    ) -> Result<Option<Desk>, TicketError> {
        if !config.tickets.any() && config.triage.is_empty() {
            return Ok(None);
        }
        let store = store.cloned().ok_or_else(|| {
            TicketError::Config(
                "tickets and triage are configured but there is no evidence target: each incident's record is kept there\n  hint: pass --evidence s3://BUCKET (made by `firebreak setup`)".into(),
            )
        })?;
        let t = &config.tickets;
        let secret = match (&t.token_secret, t.any()) {
            (Some(id), true) => Some(Secret::read(base, id).await?),
            _ => None,
        };
        let secret = secret.as_ref();
        let tracker = match (&t.github, &t.jira, &t.slack) {
            (Some(g), _, _) => Some(Tracker::GitHub(github::GitHub::from_env(g, secret)?)),
            (None, Some(j), _) => Some(Tracker::Jira(jira::Jira::from_env(j, secret)?)),
            (None, None, Some(s)) => Some(Tracker::Slack(slack::Slack::from_env(s, secret)?)),
            (None, None, None) => None,
        };
        Ok(Some(Desk {
            store,
            tracker,
            owners: config.owners.clone(),
            owner_tag: config.owner_tag.clone(),
            findings: None,
            organizations: None,
            resolve_findings: config.tickets.resolve_findings,
            investigate: config.tickets.investigate,
            seal: None,
        }))
    }

    /// Seals every incident record with `sealer`'s key for incidents, and believes only records
    /// whose seal holds (`serve` and `watch` always; `run` with `--seal-key`): someone who may
    /// only write to the evidence bucket can then neither pre-empt an incident's `opened` record
    /// (so that its ticket is never opened) nor put a ticket write in its lists (a close).
    pub async fn with_seal(
        mut self,
        sealer: &crate::evidence::seal::Sealer,
    ) -> Result<Desk, crate::evidence::seal::KeyError> {
        self.seal = Some(sealer.key(crate::evidence::seal::INCIDENTS_SCOPE).await?);
        Ok(self)
    }

    /// Calls AWS as the caller of `base`: findings marked in GuardDuty and Security Hub as
    /// their tickets open and close (unless the configuration says not to), and accounts'
    /// owner tags read in AWS Organizations.
    pub fn with_aws(mut self, base: &aws_config::SdkConfig) -> Desk {
        self.findings = Some(findings::FindingStatus::new(base.clone()));
        self.organizations = Some(aws_sdk_organizations::Client::new(base));
        self
    }

    /// Suppresses an ignored finding's type in GuardDuty, recording the outcome.
    async fn suppressed(&self, f: &Subject, status: &findings::FindingStatus, triage: &Triage) {
        let target = f.target();
        let outcome = status
            .suppress(&target, &f.finding_type, &triage.reason)
            .await;
        let text = match &outcome {
            Ok(done) => (*done).to_string(),
            Err(e) => format!("failed: {e}"),
        };
        crate::log!("suppressed", finding_id = %f.finding_id, outcome = %text);
        let mut e = self.entry(f, "suppressed");
        e.detail = Some(text);
        if let Err(err) = self.event(f, &e).await {
            crate::log!("incident_unrecorded", finding_id = %f.finding_id, error = %err);
        }
    }

    /// Marks the finding in GuardDuty and Security Hub as its ticket opens or closes, and
    /// records what each call did; a failure is recorded, not retried.
    /// `closed` is why the ticket closed, when it did.
    async fn finding_status(&self, f: &Subject, ticket: &TicketRef, closed: Option<&str>) {
        let Some(status) = self
            .findings
            .as_ref()
            .filter(|_| self.resolve_findings && f.account_id != QUEUE_DIR)
        else {
            return;
        };
        let target = f.target();
        let outcomes = if let Some(why) = closed {
            status
                .resolved(
                    &target,
                    &format!("firebreak closed ticket {} {why}", ticket.url),
                )
                .await
        } else {
            vec![status.notified(&target, &ticket.url).await]
        };
        let text: Vec<String> = outcomes
            .iter()
            .map(|o| match o {
                Ok(done) => (*done).to_string(),
                Err(e) => format!("failed: {e}"),
            })
            .collect();
        let failed = outcomes.iter().any(Result::is_err);
        if failed {
            crate::log!("finding_status_failed", finding_id = %f.finding_id, outcome = %text.join("; "));
        } else {
            crate::log!("finding_status", finding_id = %f.finding_id, outcome = %text.join("; "));
        }
        let mut e = self.entry(f, "finding_status");
        e.detail = Some(text.join("; "));
        if let Err(err) = self.event(f, &e).await {
            crate::log!("incident_unrecorded", finding_id = %f.finding_id, error = %err);
        }
    }

    /// Who a new ticket is assigned to: the rule's `assign`, else the account's owner
    /// (`owners:`), else the resource's owner tag, else the account's owner tag in AWS
    /// Organizations (read as the caller: the organization's management account or its
    /// delegated administrator); else (empty) the tracker's own `assignees`.
    pub async fn assignees(&self, f: &Finding, triage: &Triage) -> Vec<String> {
        if !triage.assign.is_empty() {
            return triage.assign.clone();
        }
        if let Some((_, owner)) = self.owners.iter().find(|(a, _)| *a == f.account_id) {
            return vec![owner.clone()];
        }
        if let Some((_, v)) = f
            .resource_tags()
            .into_iter()
            .find(|(k, v)| *k == self.owner_tag && !v.is_empty())
        {
            return vec![v];
        }
        let Some(org) = &self.organizations else {
            return Vec::new();
        };
        match org
            .list_tags_for_resource()
            .resource_id(&f.account_id)
            .send()
            .await
        {
            Ok(out) => out
                .tags()
                .iter()
                .filter(|t| t.key() == self.owner_tag && !t.value().is_empty())
                .map(|t| t.value().to_string())
                .take(1)
                .collect(),
            Err(e) => {
                // Not in an organization, or not its administrator: no account tags to read.
                crate::log!("account_owner_unread", account_id = %f.account_id,
                    error = %findings::described("ListTagsForResource", &e));
                Vec::new()
            }
        }
    }

    fn folder(&self, f: &Subject) -> String {
        crate::evidence::folder(
            self.store.prefix(),
            &[INCIDENTS_DIR, &f.account_id, &f.incident],
        )
    }

    fn entry(&self, f: &Subject, kind: &str) -> Entry {
        Entry {
            incident: f.incident.clone(),
            detector_id: f.detector_id.clone(),
            finding_id: f.finding_id.clone(),
            finding_type: f.finding_type.clone(),
            account_id: f.account_id.clone(),
            region: f.region.clone(),
            count: f.count,
            updated_at: f.updated_at.clone(),
            ..Entry::new(kind)
        }
    }

    /// Writes `e` once at `name` in the incident's folder.
    async fn put(&self, f: &Subject, name: &str, e: &Entry) -> Result<(), StoreError> {
        self.write(&format!("{}/{name}", self.folder(f)), e).await
    }

    /// Writes `e` once at `key` (every incident object is written here).
    async fn write(&self, key: &str, e: &Entry) -> Result<(), StoreError> {
        pending::write(&self.store, key, e, self.seal.as_ref()).await
    }

    /// A list of work still to do, under `_incidents/{dir}/`.
    fn pending(&self, dir: &str) -> pending::Pending<'_> {
        pending::Pending::new(
            &self.store,
            crate::evidence::folder(self.store.prefix(), &[INCIDENTS_DIR, dir]),
            self.seal.as_ref(),
        )
    }

    /// Writes a record of the incident's history.
    async fn event(&self, f: &Subject, e: &Entry) -> Result<(), StoreError> {
        let name = format!("{}-{}.json", uuid::Uuid::now_v7(), e.kind);
        self.put(f, &name, e).await
    }

    /// Reads the incident's records.
    async fn read(&self, f: &Subject) -> Result<Incident, TicketError> {
        let mut objects = self.store.read_folder(&self.folder(f)).await?;
        objects.sort_by(|a, b| a.0.cmp(&b.0));
        let mut inc = Incident::default();
        // The `opened` record: the believed one at the first of `OPENED`'s names (without a
        // seal, only the first name is firebreak's).
        let mut opened: Option<(usize, Entry)> = None;
        for (key, bytes) in objects {
            let Some(e) = pending::read_entry(&key, &bytes, self.seal.as_ref())? else {
                continue;
            };
            if e.schema != SCHEMA {
                continue;
            }
            match e.kind.as_str() {
                "opened" => {
                    let name = key.rsplit('/').next().unwrap_or_default();
                    let Some(at) = OPENED.iter().position(|n| *n == name) else {
                        continue;
                    };
                    if (at == 0 || self.seal.is_some())
                        && opened.as_ref().is_none_or(|(seen, _)| at < *seen)
                    {
                        opened = Some((at, e));
                    }
                }
                "ticket" => inc.ticket = e.ticket,
                _ => inc.events.push(e),
            }
        }
        inc.opened = opened.map(|(_, e)| e);
        Ok(inc)
    }

    /// A new incident (or a known one again): recorded with its triage, and for `respond`
    /// and `ticket` its ticket opened (or told that the finding came again, and reopened if it
    /// was closed). `execution_id` is the containment running beside it, for `respond`.
    /// Returns the ticket, if there is one. Never fails: what went wrong is logged and
    /// recorded.
    /// With `investigator`, a new ticket's first comment is the automatic investigation.
    pub async fn open(
        &self,
        f: &Finding,
        triage: &Triage,
        playbook: Option<&crate::domain::playbook::Playbook>,
        execution_id: Option<&str>,
        investigator: Option<&investigate::Investigator>,
    ) -> Option<TicketRef> {
        let opened = async {
            let sub = Subject::from(f);
            let mut opened = self.entry(&sub, "opened");
            opened.execution_id = execution_id.map(str::to_string);
            opened.decision = Some(triage.decision);
            opened.close = Some(triage.close);
            opened.detail = Some(triage.reason.clone());
            match self.put_opened(&sub, &opened).await {
                Ok(()) => {
                    crate::log!("incident_opened", finding_id = %f.id, decision = ?triage.decision,
                        reason = %triage.reason);
                    if triage.close == Close::OnArchive
                        && triage.decision != Decision::Ignore
                        && self.tracker.is_some()
                    {
                        let mut awaiting = self.entry(&sub, "awaiting_archive");
                        awaiting.close = Some(Close::OnArchive);
                        if let Err(e) = self.pending(AWAITING_ARCHIVE_DIR).add(&awaiting).await {
                            self.failed(f, "awaiting archive", &e.into());
                        }
                    }
                    if let (Some(status), true) = (&self.findings, triage.suppress) {
                        self.suppressed(&sub, status, triage).await;
                    }
                    if self.tracker.is_none() || triage.decision == Decision::Ignore {
                        return Ok(None);
                    }
                    let alias = match investigator {
                        Some(i) => i.account_alias().await,
                        None => None,
                    };
                    let open = TicketOp::Open {
                        title: render::title(f),
                        body: render::opening(f, triage, playbook, execution_id, alias.as_deref()),
                        assignees: self.assignees(f, triage).await,
                    };
                    let ticket = self.deliver(&sub, None, vec![open]).await;
                    if let (Some(t), Some(inv)) =
                        (&ticket, investigator.filter(|_| self.investigate))
                    {
                        let found = inv.investigate(f).await;
                        let mut e = self.entry(&sub, "investigation");
                        e.data = Some(found.raw);
                        if let Err(err) = self.put(&sub, "investigation.json", &e).await {
                            self.failed(f, "investigation record", &err.into());
                        }
                        self.deliver(
                            &sub,
                            Some(t.clone()),
                            vec![TicketOp::Comment {
                                body: found.summary,
                            }],
                        )
                        .await;
                    }
                    Ok(ticket)
                }
                Err(StoreError::Exists(_)) => self.again(f, execution_id).await,
                Err(e) => Err(e.into()),
            }
        };
        match opened.await {
            Ok(t) => t,
            Err(e) => {
                self.failed(f, "open", &e);
                None
            }
        }
    }

    /// Whether `f` has an incident already (a believed `opened` record): it was triaged and
    /// recorded.
    pub async fn recorded(&self, f: &Finding) -> Result<bool, TicketError> {
        let sub = Subject::from(f);
        let folder = self.folder(&sub);
        let listed = self.store.list(&folder).await?;
        // Only the `opened` names are read (not the incident's other records); without a seal
        // key only the first name is firebreak's, and nothing is read.
        let names = if self.seal.is_some() {
            &OPENED[..]
        } else {
            &OPENED[..1]
        };
        for name in names {
            let key = format!("{folder}/{name}");
            if listed.keys.contains(&key)
                && pending::believed(&self.store, &key, self.seal.as_ref()).await?
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Writes the incident's `opened` record once, at the first of [`OPENED`]'s names that is
    /// free: `Exists` when one holds a record firebreak wrote (another process opened the
    /// incident). A name taken by a record whose seal does not hold is passed over.
    async fn put_opened(&self, f: &Subject, opened: &Entry) -> Result<(), StoreError> {
        let mut last = None;
        for name in OPENED {
            match self.put(f, name, opened).await {
                Err(StoreError::Exists(place)) if self.seal.is_some() => {
                    let key = format!("{}/{name}", self.folder(f));
                    match pending::believed(&self.store, &key, self.seal.as_ref()).await {
                        Ok(true) => return Err(StoreError::Exists(place)),
                        Err(TicketError::Store(e)) => return Err(e),
                        // Reported by `read_entry`; the next name is tried.
                        Ok(false) | Err(_) => last = Some(place),
                    }
                }
                other => return other,
            }
        }
        Err(StoreError::Io(format!(
            "every name of the incident's opened record is taken by records firebreak did not write (the last: {})",
            last.unwrap_or_default()
        )))
    }

    /// A message on the finding queue that firebreak cannot act on (not a finding, or one it
    /// cannot bind): one incident and one ticket per message, however often it is received,
    /// saying why and showing its text (scrubbed), so that a person looks at what was sent.
    /// Never fails: what went wrong is said.
    pub async fn poison(&self, message_id: &str, text: &str, why: &str) {
        let sub = Subject {
            incident: format!("message-{message_id}"),
            detector_id: None,
            finding_id: format!("sqs:{message_id}"),
            finding_type: "not a finding".into(),
            account_id: QUEUE_DIR.into(),
            region: String::new(),
            count: None,
            updated_at: None,
        };
        let mut opened = self.entry(&sub, "opened");
        opened.decision = Some(Decision::Ticket);
        opened.detail = Some(crate::domain::scrub::scrub_text(why));
        match self.put_opened(&sub, &opened).await {
            Ok(()) => {
                crate::log!("poison_ticketed", message_id);
                if self.tracker.is_some() {
                    let (title, body) = render::poison(message_id, why, text);
                    let open = TicketOp::Open {
                        title,
                        body,
                        assignees: Vec::new(),
                    };
                    self.deliver(&sub, None, vec![open]).await;
                }
            }
            Err(StoreError::Exists(_)) => {}
            Err(e) => crate::say!(
                "warning: the record of message {message_id}, which cannot be acted on, was not written: {e}"
            ),
        }
    }

    /// The finding came again, to be contained again (`execution_id`) or only recorded: a
    /// comment on its ticket with what changed, and the ticket reopened if it was closed.
    async fn again(
        &self,
        f: &Finding,
        execution_id: Option<&str>,
    ) -> Result<Option<TicketRef>, TicketError> {
        let sub = Subject::from(f);
        let inc = self.read(&sub).await?;
        let (count, updated) = inc.seen();
        let newer = f.count > count || f.updated_at > updated;
        let (Some(_), Some(t)) = (self.tracker.as_ref(), inc.ticket.clone()) else {
            // No ticket: none is kept (no tracker, an ignored finding), or another process
            // opened the incident and has not written its ticket yet (or died before it could;
            // the outcome then says so). Recorded.
            if newer || execution_id.is_some() {
                let mut e = self.entry(&sub, "updated");
                e.execution_id = execution_id.map(str::to_string);
                e.detail = Some("no ticket".into());
                self.event(&sub, &e).await?;
            }
            return Ok(None);
        };
        // Reopened when it is contained again, or when GuardDuty saw activity after the ticket
        // closed (the finding came back); a re-sent update of what was contained is a comment.
        // Compared as instants: GuardDuty's and firebreak's times differ in form.
        let last_seen = f
            .json
            .pointer("/service/eventLastSeen")
            .and_then(|v| v.as_str())
            .and_then(crate::evidence::epoch_ms);
        let active_since_close = inc
            .closed_at()
            .and_then(|c| crate::evidence::epoch_ms(c))
            .zip(last_seen)
            .is_some_and(|(closed, last)| last > closed);
        let reopen = inc.closed() && (execution_id.is_some() || active_since_close);
        if !newer && execution_id.is_none() {
            return Ok(Some(t));
        }
        let mut e = self.entry(&sub, "updated");
        e.execution_id = execution_id.map(str::to_string);
        self.event(&sub, &e).await?;
        // Another resource of the same attack sequence (its own finding, one incident).
        let part = inc.opened.as_ref().is_some_and(|o| o.finding_id != f.id);
        let body = match (part, execution_id) {
            (true, Some(e)) => render::sequence_part(f, e),
            _ => render::again(f, count, execution_id, reopen),
        };
        let mut ops = vec![TicketOp::Comment { body }];
        if reopen {
            ops.push(TicketOp::Reopen);
        }
        Ok(self.deliver(&sub, Some(t), ops).await)
    }

    /// A delivery that is not contained again (it was already): its ticket told what changed.
    pub async fn seen_again(&self, f: &Finding) {
        if let Err(e) = self.again(f, None).await {
            self.failed(f, "update", &e);
        }
    }

    /// After containment: the outcome as a comment; the ticket closed when the finding is
    /// contained (every step succeeded) and the rule closes on containment.
    pub async fn contained(
        &self,
        f: &Finding,
        report: &RunReport,
        params: &StepParams,
        evidence: &str,
        close: Close,
    ) {
        let written = async {
            let sub = Subject::from(f);
            let mut e = self.entry(&sub, "outcome");
            e.execution_id = Some(report.execution_id.clone());
            e.detail = Some(format!("{:?}", report.status).to_lowercase());
            self.event(&sub, &e).await?;
            if self.tracker.is_none() {
                return Ok(());
            }
            let inc = self.read(&sub).await?;
            // The incident closes as decided when it was opened (an attack sequence's parts are
            // contained by their playbooks; the sequence's ticket is a person's).
            let close = inc.opened.as_ref().and_then(|o| o.close).unwrap_or(close);
            let mut ops = vec![TicketOp::Comment {
                body: render::outcome(report, params, evidence, close),
            }];
            if report.status == RunStatus::Succeeded
                && close == Close::OnContainment
                && !inc.closed()
            {
                ops.push(TicketOp::Close {
                    detail: format!("on containment by execution {}", report.execution_id),
                });
            }
            self.deliver_or_keep(&sub, inc.ticket, ops).await;
            Ok::<(), TicketError>(())
        };
        if let Err(e) = written.await {
            self.failed(f, "outcome", &e);
        }
    }

    /// The execution could not run (its evidence could not be written, the state machine
    /// could not start): said on the ticket, which stays open for a person.
    pub async fn not_contained(&self, f: &Finding, execution_id: &str, error: &str) {
        let sub = Subject::from(f);
        let run = async {
            let mut e = self.entry(&sub, "outcome");
            e.execution_id = Some(execution_id.to_string());
            e.detail = Some(format!(
                "not run: {}",
                crate::domain::scrub::scrub_text(error)
            ));
            self.event(&sub, &e).await?;
            if self.tracker.is_none() {
                return Ok(());
            }
            let ops = vec![TicketOp::Comment {
                body: render::not_run(execution_id, error),
            }];
            let ticket = self.read(&sub).await?.ticket;
            self.deliver_or_keep(&sub, ticket, ops).await;
            Ok::<_, TicketError>(())
        };
        if let Err(e) = run.await {
            crate::say!("warning: incident of finding {}: {e}", f.id);
        }
    }

    /// A failure outside the tracker (the evidence store): said and logged; the writes it
    /// stopped are made when the finding comes again.
    fn failed(&self, f: &Finding, what: &str, err: &TicketError) {
        let message = crate::domain::scrub::scrub_text(&err.to_string());
        crate::say!("warning: incident of finding {}: {what}: {message}", f.id);
        crate::log!("incident_unrecorded", finding_id = %f.id, what = %what, error = %message);
    }

    /// Makes `ops` on `ticket`; without one (opening it failed), keeps them as unwritten, to
    /// follow the open when it is made.
    async fn deliver_or_keep(&self, f: &Subject, ticket: Option<TicketRef>, ops: Vec<TicketOp>) {
        match ticket {
            Some(t) => {
                self.deliver(f, Some(t), ops).await;
            }
            None => {
                let not_yet = TicketError::Tracker("the ticket is not opened yet".into());
                self.unwritten(f, ops, &not_yet).await
            }
        }
    }

    /// Makes `ops` on the ticket in order (an `Open` first when there is none yet); at the
    /// first that fails, records it and the rest as unwritten, to be made later from the
    /// record. Returns the ticket.
    async fn deliver(
        &self,
        f: &Subject,
        ticket: Option<TicketRef>,
        ops: Vec<TicketOp>,
    ) -> Option<TicketRef> {
        let mut ticket = ticket;
        for (i, op) in ops.iter().enumerate() {
            if let Err(e) = self.make(f, &mut ticket, op).await {
                self.unwritten(f, ops[i..].to_vec(), &e).await;
                break;
            }
        }
        ticket
    }

    /// Makes one write on the ticket, recording what it changed.
    async fn make(
        &self,
        f: &Subject,
        ticket: &mut Option<TicketRef>,
        op: &TicketOp,
    ) -> Result<(), TicketError> {
        let Some(tracker) = &self.tracker else {
            return Err(TicketError::Config(
                "no ticket tracker is configured".into(),
            ));
        };
        if let TicketOp::Open {
            title,
            body,
            assignees,
        } = op
        {
            if ticket.is_some() {
                return Ok(());
            }
            let t = tracker.open(title, body, assignees).await?;
            let mut e = self.entry(f, "ticket");
            e.ticket = Some(t.clone());
            self.put(f, "ticket.json", &e).await?;
            crate::log!("ticket_opened", finding_id = %f.finding_id, ticket = %t.url);
            self.finding_status(f, &t, None).await;
            *ticket = Some(t);
            return Ok(());
        }
        let Some(t) = ticket.as_ref() else {
            return Err(TicketError::Tracker("the ticket is not opened yet".into()));
        };
        match op {
            TicketOp::Comment { body } => tracker.comment(t, body).await?,
            TicketOp::Close { detail } => {
                tracker.set_open(t, false).await?;
                let mut e = self.entry(f, "closed");
                e.detail = Some(detail.clone());
                self.event(f, &e).await?;
                crate::log!("ticket_closed", finding_id = %f.finding_id, ticket = %t.url);
                self.finding_status(f, t, Some(detail)).await;
            }
            TicketOp::Reopen => {
                tracker.set_open(t, true).await?;
                self.event(f, &self.entry(f, "reopened")).await?;
                crate::log!("ticket_reopened", finding_id = %f.finding_id, ticket = %t.url);
            }
            TicketOp::Open { .. } => {}
        }
        Ok(())
    }
}
