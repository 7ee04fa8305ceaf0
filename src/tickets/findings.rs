//! Closing the loop in AWS: when an incident's ticket opens, the finding's Security Hub copy is
//! marked `NOTIFIED`; when the ticket closes by its rule, the GuardDuty finding is archived
//! (`ArchiveFindings`) with feedback (`UpdateFindingsFeedback`, useful) and its Security Hub
//! copy set to `RESOLVED` with a note saying where the ticket is.
//!
//! The calls are made as the caller (firebreak's own account) in the finding's region: where
//! GuardDuty and Security Hub are administered for an organization, that is the administrator
//! account, the only one that can archive a member's findings. GuardDuty's detector there is
//! the caller's own (`ListDetectors`); Security Hub names the finding by the detector that
//! produced it (the finding's `service.detectorId`).

use aws_sdk_guardduty::types::Feedback;
use aws_sdk_securityhub::types::{
    AwsSecurityFindingIdentifier, NoteUpdate, WorkflowStatus, WorkflowUpdate,
};

/// The finding as these calls need it.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    pub finding_id: &'a str,
    /// The finding's type as firebreak received it: the finding GuardDuty holds under that id
    /// must be of this type and account before it is archived.
    pub finding_type: &'a str,
    pub account_id: &'a str,
    pub region: &'a str,
    /// The detector that produced it (`service.detectorId`), if the finding says.
    pub detector_id: Option<&'a str>,
}

/// Where the calls go.
#[derive(Debug, Clone)]
enum Clients {
    /// Clients made per region from the caller's configuration.
    Config(Box<aws_config::SdkConfig>),
    /// The same clients for every region (tests: the SDK's mocks).
    Fixed(aws_sdk_guardduty::Client, aws_sdk_securityhub::Client),
}

/// Updates findings' status in GuardDuty and Security Hub.
#[derive(Debug, Clone)]
pub struct FindingStatus {
    clients: Clients,
    /// The caller's detector by region, once known.
    detectors: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, String>>>,
}

/// What GuardDuty holds of a finding.
struct Held {
    archived: bool,
}

/// What one call did, or why it failed.
pub type Outcome = Result<&'static str, String>;

impl FindingStatus {
    /// Calls made as the caller of `base`.
    pub fn new(base: aws_config::SdkConfig) -> FindingStatus {
        FindingStatus {
            clients: Clients::Config(Box::new(base)),
            detectors: Default::default(),
        }
    }

    /// Calls made on these clients whatever the region (for tests).
    pub fn with_clients(
        guardduty: aws_sdk_guardduty::Client,
        securityhub: aws_sdk_securityhub::Client,
    ) -> FindingStatus {
        FindingStatus {
            clients: Clients::Fixed(guardduty, securityhub),
            detectors: Default::default(),
        }
    }

    fn clients(&self, region: &str) -> (aws_sdk_guardduty::Client, aws_sdk_securityhub::Client) {
        match &self.clients {
            Clients::Fixed(g, s) => (g.clone(), s.clone()),
            Clients::Config(base) => {
                let s = aws_sdk_securityhub::config::Builder::from(base.as_ref())
                    .region(aws_types::region::Region::new(region.to_string()))
                    .build();
                (
                    crate::aws::guardduty_in(base, region),
                    aws_sdk_securityhub::Client::from_conf(s),
                )
            }
        }
    }

    /// The ticket is open: the Security Hub copy is `NOTIFIED`.
    pub async fn notified(&self, t: &Target<'_>, ticket_url: &str) -> Outcome {
        let (_, sh) = self.clients(t.region);
        let detector = match t.detector_id {
            Some(d) => d.to_string(),
            None => self.own_detector(t.region).await?,
        };
        self.workflow(
            &sh,
            t,
            &detector,
            WorkflowStatus::Notified,
            &format!("firebreak opened {ticket_url}"),
        )
        .await
        .map(|()| "Security Hub: NOTIFIED")
    }

    /// The ticket closed: the GuardDuty finding archived with feedback, the Security Hub copy
    /// `RESOLVED`. Every call is tried; each one's outcome is returned.
    ///
    /// The finding is first read back from GuardDuty (`GetFindings`): one that GuardDuty does
    /// not hold under that id, or holds with another type or account, is not archived. A
    /// finding firebreak was handed (from a queue, a file) could otherwise archive a real one
    /// it does not describe.
    pub async fn resolved(&self, t: &Target<'_>, note: &str) -> Vec<Outcome> {
        let (gd, sh) = self.clients(t.region);
        let own = match self.own_detector(t.region).await {
            Ok(d) => d,
            Err(e) => return vec![Err(e)],
        };
        let held = match self.held(&gd, &own, t).await {
            Ok(held) => held,
            Err(e) => return vec![Err(e)],
        };
        let ids = vec![t.finding_id.to_string()];
        let mut outcomes = Vec::new();
        if held.archived {
            // Archived by a person or a suppression rule: their judgement (and feedback) stands.
            outcomes.push(Ok("GuardDuty: already archived"));
        } else {
            outcomes.push(
                gd.archive_findings()
                    .detector_id(&own)
                    .set_finding_ids(Some(ids.clone()))
                    .send()
                    .await
                    .map(|_| "GuardDuty: archived")
                    .map_err(|e| described("ArchiveFindings", &e)),
            );
            outcomes.push(
                gd.update_findings_feedback()
                    .detector_id(&own)
                    .set_finding_ids(Some(ids))
                    .feedback(Feedback::Useful)
                    .comments(note.chars().take(1000).collect::<String>())
                    .send()
                    .await
                    .map(|_| "GuardDuty: feedback useful")
                    .map_err(|e| described("UpdateFindingsFeedback", &e)),
            );
        }
        let detector = t.detector_id.unwrap_or(&own);
        outcomes.push(
            self.workflow(&sh, t, detector, WorkflowStatus::Resolved, note)
                .await
                .map(|()| "Security Hub: RESOLVED"),
        );
        outcomes
    }

    /// Makes (once) a GuardDuty suppression filter for findings of `finding_type` in the
    /// finding's account: GuardDuty archives them as they come.
    pub async fn suppress(&self, t: &Target<'_>, finding_type: &str, reason: &str) -> Outcome {
        let (gd, _) = self.clients(t.region);
        let own = self.own_detector(t.region).await?;
        let name = filter_name(finding_type, t.account_id);
        if gd
            .get_filter()
            .detector_id(&own)
            .filter_name(&name)
            .send()
            .await
            .is_ok()
        {
            return Ok("GuardDuty: suppression filter in place");
        }
        let eq = |v: &str| {
            aws_sdk_guardduty::types::Condition::builder()
                .equals(v)
                .build()
        };
        let criteria = aws_sdk_guardduty::types::FindingCriteria::builder()
            .criterion("type", eq(finding_type))
            .criterion("accountId", eq(t.account_id))
            .build();
        gd.create_filter()
            .detector_id(&own)
            .name(&name)
            .action(aws_sdk_guardduty::types::FilterAction::Archive)
            .rank(1)
            .description(
                format!("firebreak: ignored by triage: {reason}")
                    .chars()
                    .take(512)
                    .collect::<String>(),
            )
            .finding_criteria(criteria)
            .send()
            .await
            .map(|_| "GuardDuty: suppression filter made")
            .map_err(|e| described("CreateFilter", &e))
    }

    /// The finding as GuardDuty holds it in the caller's detector `own`: it must be there, of
    /// the type and account firebreak was told.
    async fn held(
        &self,
        gd: &aws_sdk_guardduty::Client,
        own: &str,
        t: &Target<'_>,
    ) -> Result<Held, String> {
        let out = gd
            .get_findings()
            .detector_id(own)
            .finding_ids(t.finding_id)
            .send()
            .await
            .map_err(|e| described("GetFindings", &e))?;
        let Some(f) = out.findings().iter().find(|f| f.id() == Some(t.finding_id)) else {
            return Err(format!(
                "GetFindings: GuardDuty holds no finding {} in detector {own} ({}); not archived",
                t.finding_id, t.region
            ));
        };
        if f.r#type() != Some(t.finding_type) || f.account_id() != Some(t.account_id) {
            return Err(format!(
                "GetFindings: GuardDuty's finding {} is {} in account {}, not {} in {}; not archived",
                t.finding_id,
                f.r#type().unwrap_or("?"),
                f.account_id().unwrap_or("?"),
                t.finding_type,
                t.account_id
            ));
        }
        Ok(Held {
            archived: f.service().and_then(|s| s.archived()).unwrap_or(false),
        })
    }

    /// Whether GuardDuty holds the finding archived (a person archived it, or a suppression
    /// rule did); an error when it holds no such finding.
    pub async fn archived(&self, t: &Target<'_>) -> Result<bool, String> {
        let (gd, _) = self.clients(t.region);
        let own = self.own_detector(t.region).await?;
        self.held(&gd, &own, t).await.map(|h| h.archived)
    }

    /// The caller's GuardDuty detector in `region`, asked once per region (every ticket that
    /// opens or closes, and every finding waiting to be archived, would ask again).
    async fn own_detector(&self, region: &str) -> Result<String, String> {
        if let Some(d) = self
            .detectors
            .lock()
            .ok()
            .and_then(|m| m.get(region).cloned())
        {
            return Ok(d);
        }
        let (gd, _) = self.clients(region);
        let d = crate::aws::own_detector(&gd).await?;
        if let Ok(mut m) = self.detectors.lock() {
            m.insert(region.to_string(), d.clone());
        }
        Ok(d)
    }

    async fn workflow(
        &self,
        sh: &aws_sdk_securityhub::Client,
        t: &Target<'_>,
        detector: &str,
        status: WorkflowStatus,
        note: &str,
    ) -> Result<(), String> {
        let id = AwsSecurityFindingIdentifier::builder()
            .id(format!(
                "arn:aws:guardduty:{}:{}:detector/{detector}/finding/{}",
                t.region, t.account_id, t.finding_id
            ))
            .product_arn(format!(
                "arn:aws:securityhub:{}::product/aws/guardduty",
                t.region
            ))
            .build();
        let note = NoteUpdate::builder()
            .text(note.chars().take(512).collect::<String>())
            .updated_by("firebreak")
            .build();
        let out = sh
            .batch_update_findings()
            .finding_identifiers(id)
            .workflow(WorkflowUpdate::builder().status(status).build())
            .note(note)
            .send()
            .await
            .map_err(|e| described("BatchUpdateFindings", &e))?;
        match out.unprocessed_findings().first() {
            Some(u) => Err(format!(
                "BatchUpdateFindings: not processed: {} {}",
                u.error_code().unwrap_or_default(),
                u.error_message().unwrap_or_default()
            )),
            None => Ok(()),
        }
    }
}

/// What a failed call says, in a line: its AWS error code and message, or its HTTP status
/// when the service answered without one (it does not serve the call).
pub(crate) fn described<E>(
    operation: &str,
    e: &aws_smithy_runtime_api::client::result::SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> String
where
    E: aws_sdk_guardduty::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    use aws_sdk_guardduty::error::ProvideErrorMetadata as _;
    let text = match (e.code(), e.message()) {
        (Some(code), message) => format!("{operation}: {code}: {}", message.unwrap_or_default()),
        // No error code: a service that does not answer this call at all.
        _ => match e.raw_response() {
            Some(r) => format!(
                "{operation}: HTTP {} without an AWS error (the service does not answer this call)",
                r.status().as_u16()
            ),
            None => format!(
                "{operation}: {}",
                aws_smithy_types::error::display::DisplayErrorContext(e)
            ),
        },
    };
    crate::domain::render::brief(&crate::domain::scrub::scrub_text(&text))
}

/// A suppression filter's name: `firebreak-` and the type and account, in the characters
/// GuardDuty allows (letters, digits, `-`, `_`, `.`), at most 64.
pub fn filter_name(finding_type: &str, account: &str) -> String {
    let raw = format!("firebreak-{account}-{finding_type}");
    raw.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect()
}
