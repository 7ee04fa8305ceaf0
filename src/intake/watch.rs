//! `firebreak watch`: the path without EventBridge. Polls GuardDuty's ListFindings (findings
//! updated at or after a cursor, oldest first) and GetFindings, and contains each finding
//! through the same worker as `serve`, so claims keep it exactly-once even beside `serve`
//! processes or after a restart.
//!
//! GetFindings answers are parsed from the raw JSON body (kept by an interceptor), not from the
//! SDK's types: that body is the GuardDuty finding format the rest of firebreak reads, so a
//! finding polled here is the same bytes, and the same evidence, as one from EventBridge.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use aws_sdk_guardduty::types::{Condition, FindingCriteria, OrderBy, SortCriteria};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::AfterDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use crate::domain::finding::Finding;
use crate::intake::worker::{Handled, Worker};

pub struct Options {
    pub detector: String,
    /// Time between polls.
    pub interval: Duration,
    /// How far back the first poll looks.
    pub since: Duration,
    /// Poll once, contain what was found, exit.
    pub once: bool,
    /// Findings contained at once.
    pub concurrency: usize,
}

/// Keeps the raw body of the answer it is attached to.
#[derive(Debug, Clone, Default)]
struct RawBody(Arc<Mutex<Option<Vec<u8>>>>);

impl Intercept for RawBody {
    fn name(&self) -> &'static str {
        "firebreak-raw-body"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let (Some(bytes), Ok(mut slot)) = (context.response().body().bytes(), self.0.lock()) {
            *slot = Some(bytes.to_vec());
        }
        Ok(())
    }
}

/// What a watcher remembers between polls.
#[derive(Debug, Default)]
pub struct Cursor {
    /// Epoch milliseconds: findings updated at or after this are listed.
    pub since_ms: i64,
    /// Findings handled, with the `updatedAt` handled, so that a finding seen again unchanged
    /// (the cursor is inclusive) is not handled twice.
    pub handled: HashMap<String, String>,
}

/// A finding GuardDuty returned that cannot be read as one: reported, and the cursor does not
/// wait for it (one bad finding must not stall every later one).
#[derive(Debug, Clone, PartialEq)]
pub struct Unreadable {
    pub finding_id: String,
    pub updated_at_ms: Option<i64>,
    pub error: String,
}

/// What one poll found.
#[derive(Debug, Default)]
pub struct Polled {
    pub findings: Vec<Finding>,
    pub unreadable: Vec<Unreadable>,
}

/// Why GuardDuty could not be polled.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error(transparent)]
    Aws(crate::domain::step::StepError),
    #[error("GetFindings: the answer had no body")]
    NoBody,
    #[error("GetFindings: the answer is not a findings list: {0}")]
    NotFindings(String),
}

/// The findings of `detector` updated at or after `since_ms`, oldest first; each is read on
/// its own, so one that cannot be parsed is reported without hiding the others.
pub async fn poll(
    gd: &aws_sdk_guardduty::Client,
    detector: &str,
    since_ms: i64,
) -> Result<Polled, PollError> {
    let mut ids = Vec::new();
    let mut token = None;
    loop {
        let page = gd
            .list_findings()
            .detector_id(detector)
            .finding_criteria(
                FindingCriteria::builder()
                    .criterion(
                        "updatedAt",
                        Condition::builder().greater_than_or_equal(since_ms).build(),
                    )
                    .build(),
            )
            .sort_criteria(
                SortCriteria::builder()
                    .attribute_name("updatedAt")
                    .order_by(OrderBy::Asc)
                    .build(),
            )
            .max_results(50)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| PollError::Aws(crate::aws::classify(&e, "guardduty", "ListFindings")))?;
        ids.extend(page.finding_ids().iter().cloned());
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    get(gd, detector, &ids).await
}

/// The findings `ids` of `detector` (`GetFindings`, 50 at a time), each read from the raw body
/// on its own, so one that cannot be parsed is reported without hiding the others.
pub async fn get(
    gd: &aws_sdk_guardduty::Client,
    detector: &str,
    ids: &[String],
) -> Result<Polled, PollError> {
    let mut polled = Polled::default();
    for chunk in ids.chunks(50) {
        let raw = RawBody::default();
        gd.get_findings()
            .detector_id(detector)
            .set_finding_ids(Some(chunk.to_vec()))
            .customize()
            .interceptor(raw.clone())
            .send()
            .await
            .map_err(|e| PollError::Aws(crate::aws::classify(&e, "guardduty", "GetFindings")))?;
        let body = raw
            .0
            .lock()
            .ok()
            .and_then(|mut b| b.take())
            .ok_or(PollError::NoBody)?;
        let text = String::from_utf8_lossy(&body);
        #[derive(serde::Deserialize)]
        struct Page<'a> {
            #[serde(borrow, default)]
            findings: Vec<&'a serde_json::value::RawValue>,
        }
        let page: Page =
            serde_json::from_str(&text).map_err(|e| PollError::NotFindings(e.to_string()))?;
        for raw in page.findings {
            // Each finding's exact text, as received, is what gets parsed and kept.
            match crate::domain::finding::parse_findings(raw.get(), "guardduty:GetFindings") {
                Ok(found) => polled.findings.extend(found),
                Err(e) => {
                    let v: serde_json::Value = serde_json::from_str(raw.get()).unwrap_or_default();
                    polled.unreadable.push(Unreadable {
                        finding_id: v["id"].as_str().unwrap_or("?").to_string(),
                        updated_at_ms: v["updatedAt"].as_str().and_then(crate::evidence::epoch_ms),
                        error: e.to_string(),
                    });
                }
            }
        }
    }
    Ok(polled)
}

/// What one sweep did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Sweep {
    pub found: usize,
    pub finished: usize,
    pub later: usize,
    pub rejected: usize,
}

/// One poll and the containment of what it found (`concurrency` at once); the cursor moves
/// past what is finished, never past a finding that must be tried again.
pub async fn sweep(
    gd: &aws_sdk_guardduty::Client,
    detector: &str,
    worker: &Arc<Worker>,
    cursor: &mut Cursor,
    concurrency: usize,
) -> Result<Sweep, PollError> {
    let Polled {
        findings,
        unreadable,
    } = poll(gd, detector, cursor.since_ms).await?;
    let mut report = Sweep {
        found: findings.len() + unreadable.len(),
        ..Sweep::default()
    };
    let mut newest: Option<i64> = None;
    for u in &unreadable {
        report.rejected += 1;
        newest = newest.max(u.updated_at_ms);
        crate::log!("rejected", finding_id = %u.finding_id,
            reason = format!("not a readable finding: {}", u.error));
    }
    let fresh: Vec<Finding> = findings
        .into_iter()
        .filter(|f| {
            cursor.handled.get(&f.id).map(String::as_str)
                != Some(f.updated_at.as_deref().unwrap_or(""))
        })
        .collect();
    let slots = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for f in fresh {
        let worker = worker.clone();
        let slots = slots.clone();
        tasks.spawn(async move {
            let _permit = slots.acquire_owned().await;
            let source = format!("guardduty:{}", f.updated_at.as_deref().unwrap_or("?"));
            let handled = worker.contain(&f, &source).await;
            (f, handled)
        });
    }
    let mut oldest_unfinished: Option<i64> = None;
    while let Some(done) = tasks.join_next().await {
        let Ok((f, handled)) = done else { continue };
        let at = f.updated_at.as_deref().and_then(crate::evidence::epoch_ms);
        newest = newest.max(at);
        match handled {
            Handled::Finished => {
                report.finished += 1;
                cursor
                    .handled
                    .insert(f.id.clone(), f.updated_at.clone().unwrap_or_default());
            }
            Handled::Later(_) | Handled::Retry => {
                report.later += 1;
                if let Some(at) = at {
                    oldest_unfinished = Some(oldest_unfinished.map_or(at, |o: i64| o.min(at)));
                }
            }
            Handled::Rejected(why) => {
                report.rejected += 1;
                crate::log!("rejected", finding_id = %f.id, reason = %why);
                cursor
                    .handled
                    .insert(f.id.clone(), f.updated_at.clone().unwrap_or_default());
            }
        }
    }
    if let Some(to) = oldest_unfinished.or(newest) {
        cursor.since_ms = cursor.since_ms.max(to);
    }
    // What lies before the cursor is never listed again: forget it, so a long-running watcher
    // keeps only the findings at its edge.
    let since = cursor.since_ms;
    cursor
        .handled
        .retain(|_, at| crate::evidence::epoch_ms(at).is_none_or(|ms| ms >= since));
    Ok(report)
}

pub async fn watch(opts: Options, worker: crate::intake::worker::Options) -> Result<ExitCode> {
    let base = crate::aws::load().await;
    let gd = aws_sdk_guardduty::Client::new(&base);
    let worker = Arc::new(Worker::new(base, worker).await?);
    let now_ms = crate::intake::claim::now_ms();
    let mut cursor = Cursor {
        since_ms: now_ms - opts.since.as_millis() as i64,
        ..Cursor::default()
    };
    let mut stop_rx = crate::contain::stop_on_signal();
    crate::log!("started", worker = %worker.name, detector = %opts.detector,
        since_ms = cursor.since_ms, evidence = %worker.store().describe());
    let mut failures = 0u32;
    loop {
        match sweep(&gd, &opts.detector, &worker, &mut cursor, opts.concurrency).await {
            Ok(s) => {
                failures = 0;
                if s.found > 0 {
                    crate::log!(
                        "swept",
                        found = s.found,
                        finished = s.finished,
                        later = s.later,
                        rejected = s.rejected,
                        cursor_ms = cursor.since_ms
                    );
                }
            }
            Err(e) => {
                failures += 1;
                crate::log!("poll_failed", error = %e, consecutive = failures);
                if opts.once {
                    anyhow::bail!(
                        "{e}\n  hint: check the detector id, the region and the credentials (guardduty:ListFindings, guardduty:GetFindings)"
                    );
                }
            }
        }
        // Ticket writes that failed are made again, and tickets that close when their finding is
        // archived are closed, at every poll.
        worker.tend_tickets().await;
        if opts.once || *stop_rx.borrow() {
            break;
        }
        let pause = opts.interval * failures.clamp(1, 10);
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop_rx.changed() => break,
        }
    }
    crate::log!("stopped");
    Ok(ExitCode::SUCCESS)
}
