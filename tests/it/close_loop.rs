//! Closing the loop in AWS (issue 17, item 5): a ticket that opens marks the finding NOTIFIED
//! in Security Hub; one that closes archives the GuardDuty finding with feedback and marks it
//! RESOLVED. The emulator serves no ArchiveFindings, UpdateFindingsFeedback or Security Hub
//! BatchUpdateFindings: these calls are tested with the SDK's mocks (`aws-smithy-mocks`),
//! every request's members checked.

use aws_sdk_guardduty::operation::archive_findings::ArchiveFindingsOutput;
use aws_sdk_guardduty::operation::list_detectors::ListDetectorsOutput;
use aws_sdk_guardduty::operation::update_findings_feedback::UpdateFindingsFeedbackOutput;
use aws_sdk_guardduty::types::Feedback;
use aws_sdk_securityhub::operation::batch_update_findings::BatchUpdateFindingsOutput;
use aws_sdk_securityhub::types::{
    AwsSecurityFindingIdentifier, BatchUpdateFindingsUnprocessedFinding, WorkflowStatus,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use firebreak::tickets::findings::{FindingStatus, Target};

const TICKET: &str = "https://github.example/acme/incidents/issues/7";
const ASFF_ID: &str =
    "arn:aws:guardduty:eu-west-1:111122223333:detector/member-detector/finding/f-1";

fn target() -> Target<'static> {
    Target {
        finding_id: "f-1",
        account_id: "111122223333",
        region: "eu-west-1",
        detector_id: Some("member-detector"),
    }
}

fn processed() -> BatchUpdateFindingsOutput {
    BatchUpdateFindingsOutput::builder()
        .processed_findings(
            AwsSecurityFindingIdentifier::builder()
                .id(ASFF_ID)
                .product_arn("arn:aws:securityhub:eu-west-1::product/aws/guardduty")
                .build(),
        )
        .set_unprocessed_findings(Some(vec![]))
        .build()
}

#[tokio::test]
async fn a_closed_ticket_archives_the_finding_with_feedback_and_resolves_it() {
    let list = mock!(aws_sdk_guardduty::Client::list_detectors).then_output(|| {
        ListDetectorsOutput::builder()
            .detector_ids("admin-detector")
            .build()
    });
    // Archived and given feedback in the caller's (the administrator's) detector.
    let archive = mock!(aws_sdk_guardduty::Client::archive_findings)
        .match_requests(|r| r.detector_id() == Some("admin-detector") && r.finding_ids() == ["f-1"])
        .then_output(|| ArchiveFindingsOutput::builder().build());
    let feedback = mock!(aws_sdk_guardduty::Client::update_findings_feedback)
        .match_requests(|r| {
            r.detector_id() == Some("admin-detector")
                && r.finding_ids() == ["f-1"]
                && r.feedback() == Some(&Feedback::Useful)
                && r.comments().is_some_and(|c| c.contains(TICKET))
        })
        .then_output(|| UpdateFindingsFeedbackOutput::builder().build());
    let gd = mock_client!(
        aws_sdk_guardduty,
        RuleMode::MatchAny,
        &[&list, &archive, &feedback]
    );
    // Security Hub names the finding by the detector that produced it.
    let status_is = |want: WorkflowStatus| {
        move |r: &aws_sdk_securityhub::operation::batch_update_findings::BatchUpdateFindingsInput| {
            let id = &r.finding_identifiers()[0];
            id.id() == Some(ASFF_ID)
                && id.product_arn() == Some("arn:aws:securityhub:eu-west-1::product/aws/guardduty")
                && r.workflow().and_then(|w| w.status()) == Some(&want)
                && r.note().is_some_and(|n| n.updated_by() == Some("firebreak") && n.text().is_some_and(|t| t.contains(TICKET)))
        }
    };
    let notified = mock!(aws_sdk_securityhub::Client::batch_update_findings)
        .match_requests(status_is(WorkflowStatus::Notified))
        .then_output(processed);
    let resolved = mock!(aws_sdk_securityhub::Client::batch_update_findings)
        .match_requests(status_is(WorkflowStatus::Resolved))
        .then_output(processed);
    let sh = mock_client!(
        aws_sdk_securityhub,
        RuleMode::MatchAny,
        &[&notified, &resolved]
    );
    let status = FindingStatus::with_clients(gd, sh);

    assert_eq!(
        status.notified(&target(), TICKET).await,
        Ok("Security Hub: NOTIFIED")
    );
    assert_eq!(notified.num_calls(), 1);
    let outcomes = status
        .resolved(
            &target(),
            &format!("Contained by firebreak; ticket {TICKET} closed"),
        )
        .await;
    assert_eq!(
        outcomes,
        vec![
            Ok("GuardDuty: archived"),
            Ok("GuardDuty: feedback useful"),
            Ok("Security Hub: RESOLVED")
        ]
    );
    assert_eq!(
        (
            archive.num_calls(),
            feedback.num_calls(),
            resolved.num_calls()
        ),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn a_finding_security_hub_does_not_process_or_no_detector_is_a_failure_said() {
    let none = mock!(aws_sdk_guardduty::Client::list_detectors).then_output(|| {
        ListDetectorsOutput::builder()
            .set_detector_ids(Some(vec![]))
            .build()
    });
    let gd = mock_client!(aws_sdk_guardduty, RuleMode::MatchAny, &[&none]);
    let refused = mock!(aws_sdk_securityhub::Client::batch_update_findings).then_output(|| {
        BatchUpdateFindingsOutput::builder()
            .set_processed_findings(Some(vec![]))
            .unprocessed_findings(
                BatchUpdateFindingsUnprocessedFinding::builder()
                    .finding_identifier(
                        AwsSecurityFindingIdentifier::builder()
                            .id(ASFF_ID)
                            .product_arn("arn:aws:securityhub:eu-west-1::product/aws/guardduty")
                            .build(),
                    )
                    .error_code("FindingNotFound")
                    .error_message("no such finding")
                    .build(),
            )
            .build()
    });
    let sh = mock_client!(aws_sdk_securityhub, RuleMode::MatchAny, &[&refused]);
    let status = FindingStatus::with_clients(gd, sh);
    let e = status.notified(&target(), TICKET).await.unwrap_err();
    assert!(e.contains("FindingNotFound"), "{e}");
    let outcomes = status.resolved(&target(), "closed").await;
    assert_eq!(outcomes.len(), 1);
    assert!(
        outcomes[0].as_ref().unwrap_err().contains("no detector"),
        "{outcomes:?}"
    );
}
