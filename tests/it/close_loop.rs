//! Closing the loop in AWS (issue 17, item 5): a ticket that opens marks the finding NOTIFIED
//! in Security Hub; one that closes archives the GuardDuty finding with feedback and marks it
//! RESOLVED. The emulator serves no ArchiveFindings, UpdateFindingsFeedback or Security Hub
//! BatchUpdateFindings: these calls are tested with the SDK's mocks (`aws-smithy-mocks`),
//! every request's members checked. GuardDuty's GetFindings (the finding read back before it
//! is archived) answers with the raw JSON body GuardDuty sends.

use aws_sdk_guardduty::operation::archive_findings::ArchiveFindingsOutput;
use aws_sdk_guardduty::operation::list_detectors::ListDetectorsOutput;
use aws_sdk_guardduty::operation::update_findings_feedback::UpdateFindingsFeedbackOutput;
use aws_sdk_guardduty::types::Feedback;
use aws_sdk_securityhub::operation::batch_update_findings::BatchUpdateFindingsOutput;
use aws_sdk_securityhub::types::{
    AwsSecurityFindingIdentifier, BatchUpdateFindingsUnprocessedFinding, WorkflowStatus,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use firebreak::tickets::findings::{FindingStatus, Target};

const TICKET: &str = "https://github.example/acme/incidents/issues/7";
const ASFF_ID: &str =
    "arn:aws:guardduty:eu-west-1:111122223333:detector/member-detector/finding/f-1";

fn target() -> Target<'static> {
    Target {
        finding_id: "f-1",
        finding_type: "UnauthorizedAccess:IAMUser/TorIPCaller",
        account_id: "111122223333",
        region: "eu-west-1",
        detector_id: Some("member-detector"),
    }
}

/// GetFindings in the caller's detector answering with finding f-1 as GuardDuty holds it.
fn held(finding_type: &'static str, archived: bool) -> Rule {
    mock!(aws_sdk_guardduty::Client::get_findings)
        .match_requests(|r| r.detector_id() == Some("admin-detector") && r.finding_ids() == ["f-1"])
        .then_http_response(move || {
            let body = serde_json::json!({"findings": [{
                "id": "f-1", "type": finding_type, "accountId": "111122223333",
                "region": "eu-west-1", "arn": "arn:aws:guardduty:eu-west-1:111122223333:detector/member-detector/finding/f-1",
                "createdAt": "2026-12-01T00:00:00.000Z", "updatedAt": "2026-12-01T00:00:00.000Z",
                "schemaVersion": "2.0", "severity": 5.0, "resource": {"resourceType": "AccessKey"},
                "service": {"archived": archived, "serviceName": "guardduty"}
            }]});
            aws_smithy_runtime_api::http::Response::new(
                StatusCode::try_from(200u16).unwrap(),
                SdkBody::from(body.to_string()),
            )
        })
}

fn admin_detector() -> Rule {
    mock!(aws_sdk_guardduty::Client::list_detectors).then_output(|| {
        ListDetectorsOutput::builder()
            .detector_ids("admin-detector")
            .build()
    })
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
    let list = admin_detector();
    let get = held("UnauthorizedAccess:IAMUser/TorIPCaller", false);
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
        &[&list, &get, &archive, &feedback]
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
            get.num_calls(),
            archive.num_calls(),
            feedback.num_calls(),
            resolved.num_calls()
        ),
        (1, 1, 1, 1)
    );
}

#[tokio::test]
async fn a_finding_guardduty_holds_otherwise_is_not_archived_and_one_archived_is_left_as_it_is() {
    let archive = mock!(aws_sdk_guardduty::Client::archive_findings)
        .then_output(|| ArchiveFindingsOutput::builder().build());
    let feedback = mock!(aws_sdk_guardduty::Client::update_findings_feedback)
        .then_output(|| UpdateFindingsFeedbackOutput::builder().build());
    let resolved = mock!(aws_sdk_securityhub::Client::batch_update_findings).then_output(processed);
    // The id names a finding of another type: a finding firebreak was handed that does not
    // describe what GuardDuty holds archives nothing and resolves nothing.
    let (list, other) = (
        admin_detector(),
        held("Recon:EC2/PortProbeUnprotectedPort", false),
    );
    let gd = mock_client!(
        aws_sdk_guardduty,
        RuleMode::MatchAny,
        &[&list, &other, &archive, &feedback]
    );
    let sh = mock_client!(aws_sdk_securityhub, RuleMode::MatchAny, &[&resolved]);
    let outcomes = FindingStatus::with_clients(gd, sh)
        .resolved(&target(), "closed")
        .await;
    assert_eq!(outcomes.len(), 1);
    let e = outcomes[0].as_ref().unwrap_err();
    assert!(
        e.contains("Recon:EC2/PortProbeUnprotectedPort") && e.contains("not archived"),
        "{e}"
    );
    assert_eq!(
        (
            archive.num_calls(),
            feedback.num_calls(),
            resolved.num_calls()
        ),
        (0, 0, 0)
    );
    // Archived already (by a person, or a suppression rule): their judgement stands, no
    // feedback is given over it; Security Hub is resolved.
    let (list, archived) = (
        admin_detector(),
        held("UnauthorizedAccess:IAMUser/TorIPCaller", true),
    );
    let gd = mock_client!(
        aws_sdk_guardduty,
        RuleMode::MatchAny,
        &[&list, &archived, &archive, &feedback]
    );
    let sh = mock_client!(aws_sdk_securityhub, RuleMode::MatchAny, &[&resolved]);
    let status = FindingStatus::with_clients(gd, sh);
    assert_eq!(status.archived(&target()).await, Ok(true));
    let outcomes = status.resolved(&target(), "closed").await;
    assert_eq!(
        outcomes,
        vec![
            Ok("GuardDuty: already archived"),
            Ok("Security Hub: RESOLVED")
        ]
    );
    assert_eq!(
        (
            archive.num_calls(),
            feedback.num_calls(),
            resolved.num_calls()
        ),
        (0, 0, 1)
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
