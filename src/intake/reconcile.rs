//! `firebreak reconcile`: nothing vanishes. Every finding GuardDuty holds for a window (in the
//! caller's detector of each region: in an organization's administrator account, the members'
//! too) is checked against what firebreak did: contained (a sealed `done`), or recorded as an
//! incident. A finding with neither (its EventBridge delivery was dropped, the queue was
//! purged, firebreak was down) is handled now, through the same worker as `serve` and `watch`,
//! exactly once, and reported. `serve --reconcile-every` runs a pass on a schedule.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Result, bail};

use crate::domain::finding::Finding;
use crate::intake::worker::{Accounted, Handled, Worker};

pub struct Options {
    /// The detector to read (default: the caller's in each region).
    pub detector: Option<String>,
    /// The regions to read (default: the configured one).
    pub regions: Vec<String>,
    /// How far back.
    pub since: Duration,
}

/// What one pass found and did.
#[derive(Debug, Default)]
pub struct Report {
    pub findings: usize,
    pub contained: usize,
    pub recorded: usize,
    /// The findings firebreak had not acted on, and what became of them now.
    pub missing: Vec<(Finding, String)>,
    /// Findings GuardDuty returned that are not readable ones.
    pub unreadable: Vec<String>,
    /// Regions that could not be read, and why.
    pub failed: Vec<String>,
}

impl Report {
    /// Whether everything was accounted for, or handled now.
    pub fn ok(&self) -> bool {
        self.failed.is_empty() && self.missing.iter().all(|(_, outcome)| outcome == HANDLED)
    }
}

const HANDLED: &str = "handled now";

/// One pass over `regions` (with `base`'s identity): each finding updated since `since_ms`
/// checked, and those firebreak had not acted on handled now.
pub async fn pass(
    base: &aws_config::SdkConfig,
    worker: &Worker,
    detector: Option<&str>,
    regions: &[String],
    since_ms: i64,
) -> Report {
    let mut report = Report::default();
    for region in regions {
        let gd = crate::aws::guardduty_in(base, region);
        let detector = match detector {
            Some(d) => d.to_string(),
            None => match crate::aws::own_detector(&gd).await {
                Ok(d) => d,
                Err(e) => {
                    report.failed.push(format!("{region}: {e}"));
                    continue;
                }
            },
        };
        let polled = match crate::intake::watch::poll(&gd, &detector, since_ms).await {
            Ok(p) => p,
            Err(e) => {
                report
                    .failed
                    .push(format!("{region} (detector {detector}): {e}"));
                continue;
            }
        };
        report.findings += polled.findings.len() + polled.unreadable.len();
        report.unreadable.extend(
            polled
                .unreadable
                .iter()
                .map(|u| format!("{}: {}", u.finding_id, u.error)),
        );
        for f in polled.findings {
            match worker.accounted(&f).await {
                Ok(Accounted::Contained(_)) => report.contained += 1,
                Ok(Accounted::Recorded) => report.recorded += 1,
                Ok(Accounted::Missing) => {
                    crate::log!("reconcile_missing", finding_id = %f.id, r#type = %f.type_name,
                        account_id = %f.account_id, region = %f.region);
                    let outcome = match worker.contain(&f, "reconcile").await {
                        Handled::Finished => HANDLED.to_string(),
                        Handled::Later(_) | Handled::Retry => {
                            "not yet: held elsewhere or the evidence bucket did not answer; the next pass tries again".to_string()
                        }
                        Handled::Rejected(why) => format!("cannot be acted on: {why}"),
                    };
                    report.missing.push((f, outcome));
                }
                Err(e) => report
                    .failed
                    .push(format!("{}: what was done could not be read: {e}", f.id)),
            }
        }
    }
    crate::log!(
        "reconciled",
        findings = report.findings,
        contained = report.contained,
        recorded = report.recorded,
        missing = report.missing.len(),
        failed = report.failed.len()
    );
    report
}

/// The report, for a person.
pub fn render(r: &Report, since: Duration) -> String {
    let mut s = format!(
        "reconcile: {} finding(s) in GuardDuty updated in the last {} h: {} contained already, {} recorded as incidents, {} missing\n",
        r.findings,
        since.as_secs() / 3600,
        r.contained,
        r.recorded,
        r.missing.len()
    );
    for (f, outcome) in &r.missing {
        s.push_str(&format!(
            "  missing  {} ({}, account {}, {}): {outcome}\n",
            f.id, f.type_name, f.account_id, f.region
        ));
    }
    for u in &r.unreadable {
        s.push_str(&format!("  unreadable  {u}\n"));
    }
    for e in &r.failed {
        s.push_str(&format!("  failed  {e}\n"));
    }
    crate::domain::render::terminal_safe(&s)
}

pub async fn reconcile(opts: Options, worker: crate::intake::worker::Options) -> Result<ExitCode> {
    let base = crate::aws::load().await;
    let regions = if opts.regions.is_empty() {
        match base.region() {
            Some(r) => vec![r.to_string()],
            None => bail!(
                "no region: reconcile reads GuardDuty in each region it is given\n  hint: pass --region REGION (repeatable) or set AWS_REGION"
            ),
        }
    } else {
        opts.regions.clone()
    };
    let worker = Worker::new(base.clone(), worker).await?;
    let since_ms = crate::intake::claim::now_ms() - opts.since.as_millis() as i64;
    let report = pass(&base, &worker, opts.detector.as_deref(), &regions, since_ms).await;
    worker.tend_tickets().await;
    print!("{}", render(&report, opts.since));
    Ok(if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(crate::domain::exit::PROBLEMS)
    })
}
