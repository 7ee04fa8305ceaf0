//! The automatic investigation (issue 17, item 4): the ticket's first comment, from CloudTrail's
//! management events. The emulator serves no CloudTrail `LookupEvents`: it is tested with the
//! SDK's mocks (`aws-smithy-mocks`), the lookups' members checked.

use aws_sdk_cloudtrail::operation::lookup_events::{LookupEventsInput, LookupEventsOutput};
use aws_sdk_cloudtrail::types::{Event, LookupAttributeKey, Resource};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use firebreak::tickets::investigate::Investigator;
use serde_json::json;

fn event(name: &str, source: &str, ip: &str, error: Option<&str>, read_only: bool) -> Event {
    let mut detail = json!({"awsRegion": "us-east-1", "sourceIPAddress": ip, "readOnly": read_only,
        "requestParameters": {"password": "hunter2-not-in-the-record"}});
    if let Some(e) = error {
        detail["errorCode"] = e.into();
    }
    Event::builder()
        .event_name(name)
        .event_source(source)
        .username("alice")
        .read_only(read_only.to_string())
        .event_time(aws_smithy_types::DateTime::from_secs(1_796_000_000))
        .resources(Resource::builder().resource_name("alice").build())
        .cloud_trail_event(detail.to_string())
        .build()
}

fn asks(r: &LookupEventsInput, key: LookupAttributeKey, value: &str) -> bool {
    let a = &r.lookup_attributes()[0];
    a.attribute_key() == &key
        && a.attribute_value() == value
        // From a day before GuardDuty first saw it (the fixture's eventFirstSeen).
        && r.start_time().is_some_and(|t| t.secs() > 0)
}

#[tokio::test]
async fn a_leaked_key_s_investigation_says_what_was_done_with_it_and_to_its_user() {
    let f = firebreak::domain::finding::parse_findings(
        &std::fs::read_to_string(crate::support::fixture("iam-user-tor.json")).unwrap(),
        "f.json",
    )
    .unwrap()
    .remove(0);
    let key = f.json["resource"]["accessKeyDetails"]["accessKeyId"]
        .as_str()
        .unwrap()
        .to_string();
    let user = f.json["resource"]["accessKeyDetails"]["userName"]
        .as_str()
        .unwrap()
        .to_string();
    let k = key.clone();
    let by_key = mock!(aws_sdk_cloudtrail::Client::lookup_events)
        .match_requests(move |r| asks(r, LookupAttributeKey::AccessKeyId, &k))
        .then_output(|| {
            LookupEventsOutput::builder()
                .events(event(
                    "ListBuckets",
                    "s3.amazonaws.com",
                    "198.51.100.7",
                    Some("AccessDenied"),
                    true,
                ))
                .events(event(
                    "GetCallerIdentity",
                    "sts.amazonaws.com",
                    "198.51.100.7",
                    None,
                    true,
                ))
                .events(event(
                    "CreateUser",
                    "iam.amazonaws.com",
                    "203.0.113.9",
                    None,
                    false,
                ))
                .build()
        });
    let u = user.clone();
    let on_user = mock!(aws_sdk_cloudtrail::Client::lookup_events)
        .match_requests(move |r| asks(r, LookupAttributeKey::ResourceName, &u))
        .then_output(|| {
            LookupEventsOutput::builder()
                .events(event(
                    "CreateAccessKey",
                    "iam.amazonaws.com",
                    "203.0.113.9",
                    None,
                    false,
                ))
                .build()
        });
    let ct = mock_client!(aws_sdk_cloudtrail, RuleMode::MatchAny, &[&by_key, &on_user]);
    let found = Investigator::with_client(ct).investigate(&f).await;
    assert_eq!((by_key.num_calls(), on_user.num_calls()), (1, 1));
    let s = &found.summary;
    assert!(s.starts_with("## Investigation (automatic)"), "{s}");
    assert!(
        s.contains(&format!("### What was done with key `{key}`")),
        "{s}"
    );
    assert!(s.contains("3 call(s). By service and region: iam in us-east-1: 1, s3 in us-east-1: 1, sts in us-east-1: 1."), "{s}");
    assert!(
        s.contains("From: `198.51.100.7` (2), `203.0.113.9` (1)."),
        "{s}"
    );
    assert!(s.contains("Refused: ListBuckets (AccessDenied) ×1."), "{s}");
    assert!(s.contains("| `CreateUser` | alice | 203.0.113.9 |"), "{s}");
    assert!(s.contains(&format!("### What was done to `{user}`")), "{s}");
    assert!(s.contains("| `CreateAccessKey` |"), "{s}");
    let raw = found.raw.to_string();
    assert!(
        raw.contains("GetCallerIdentity") && raw.contains("CreateAccessKey"),
        "{raw}"
    );
    assert!(!raw.contains("hunter2") && !s.contains("hunter2"));
}

#[tokio::test]
async fn a_refused_lookup_is_said_not_hidden() {
    let f = firebreak::domain::finding::parse_findings(
        &std::fs::read_to_string(crate::support::fixture("s3-public-policy.json")).unwrap(),
        "f.json",
    )
    .unwrap()
    .remove(0);
    let denied = mock!(aws_sdk_cloudtrail::Client::lookup_events).then_error(|| {
        aws_sdk_cloudtrail::operation::lookup_events::LookupEventsError::generic(
            aws_smithy_types::error::ErrorMetadata::builder()
                .code("AccessDeniedException")
                .message("not allowed to cloudtrail:LookupEvents")
                .build(),
        )
    });
    let ct = mock_client!(aws_sdk_cloudtrail, RuleMode::MatchAny, &[&denied]);
    let found = Investigator::with_client(ct).investigate(&f).await;
    assert!(
        found
            .summary
            .contains("Could not be read: LookupEvents: AccessDeniedException: not allowed"),
        "{}",
        found.summary
    );
}
