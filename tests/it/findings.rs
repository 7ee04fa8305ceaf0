//! Finding parsing over the fixture files: every shape, NDJSON, value-type variants, samples,
//! and errors that name the JSON path.

use firebreak::domain::finding::{Shape, parse_findings};

use crate::support::fixture;

fn parse(
    name: &str,
) -> Result<Vec<firebreak::domain::finding::Finding>, firebreak::domain::finding::FindingError> {
    let path = fixture(name);
    let text = std::fs::read_to_string(&path).expect("fixture exists");
    parse_findings(&text, name)
}

#[test]
fn every_shape_is_accepted() {
    let bare = parse("iam-user-tor.json").unwrap();
    assert_eq!(bare.len(), 1);
    assert_eq!(bare[0].origin.shape, Shape::Bare);

    let event = parse("shape-eventbridge.json").unwrap();
    assert_eq!(event[0].origin.shape, Shape::EventBridge);
    assert_eq!(event[0].id, bare[0].id);
    assert_eq!(
        event[0].event.as_ref().and_then(|e| e.account.as_deref()),
        Some("123456789012")
    );

    let no_account = parse("shape-eventbridge-no-account.json").unwrap();
    assert_eq!(no_account[0].event.as_ref().unwrap().account, None);
    assert_eq!(no_account[0].account_id, "123456789012");

    let get = parse("shape-getfindings.json").unwrap();
    assert_eq!(get.len(), 2);
    assert!(get.iter().all(|f| f.origin.shape == Shape::GetFindings));

    assert!(parse("shape-getfindings-empty.json").unwrap().is_empty());

    let nd = parse("shape-ndjson.ndjson").unwrap();
    let shapes: Vec<Shape> = nd.iter().map(|f| f.origin.shape).collect();
    assert_eq!(
        shapes,
        [Shape::Bare, Shape::EventBridge, Shape::GetFindings]
    );
    assert_eq!(
        nd.iter().map(|f| f.origin.line).collect::<Vec<_>>(),
        [1, 2, 3]
    );
}

#[test]
fn raw_json_is_kept_byte_for_byte() {
    let text = std::fs::read_to_string(fixture("shape-eventbridge.json")).unwrap();
    let f = &parse_findings(&text, "x").unwrap()[0];
    assert!(
        text.contains(&f.raw),
        "the raw finding is a slice of the input"
    );
    assert!(f.raw.trim_start().starts_with('{'));
    let bare = std::fs::read_to_string(fixture("iam-user-tor.json")).unwrap();
    assert_eq!(parse_findings(&bare, "x").unwrap()[0].raw, bare.trim_end());
}

#[test]
fn value_type_variants_are_lenient() {
    let f = &parse("variant-value-types.json").unwrap()[0];
    assert_eq!(f.severity, 8.0, "severity given as text");
    assert_eq!(f.account_id, "123456789012", "account id given as a number");
    assert_eq!(f.count, Some(7), "count given as text");
    assert_eq!(f.finding_type.purpose, "Backdoor");
    assert_eq!(f.finding_type.family.as_deref(), Some("C&CActivity"));
}

#[test]
fn samples_are_detected_in_both_places() {
    assert!(parse("sample-flag.json").unwrap()[0].sample);
    assert!(parse("sample-in-value-string.json").unwrap()[0].sample);
    assert!(!parse("iam-user-tor.json").unwrap()[0].sample);
}

#[test]
fn missing_routing_field_names_the_path() {
    let e = parse("missing-resource-type.json").unwrap_err();
    assert_eq!(e.path, "$.detail.resource.resourceType");
    assert!(
        e.to_string()
            .contains("missing required field `resource.resourceType`"),
        "{e}"
    );
}

#[test]
fn bad_inputs_are_errors_with_places() {
    let cases = [
        ("", "empty"),
        ("{", "not valid JSON"),
        ("[1]", "expected a JSON object"),
        ("{\"findings\": 3}", "`findings` must be a list"),
        ("{\"id\": \"x\"}", "missing required field `type`"),
        (
            "{\"id\":\"x\",\"type\":\"A:B/C\",\"accountId\":\"1\",\"region\":\"r\",\"severity\":\"high\",\"resource\":{}}",
            "`severity` must be a number",
        ),
        (
            "{\"detail-type\":\"AWS API Call via CloudTrail\",\"source\":\"aws.iam\",\"detail\":{}}",
            "not a GuardDuty finding",
        ),
        (
            "{\"detail-type\":\"GuardDuty Finding\",\"source\":\"aws.guardduty\",\"detail\":null}",
            "detail is null",
        ),
        ("{\"findings\":[]}\n{", "not valid JSON"),
    ];
    for (input, want) in cases {
        let e = parse_findings(input, "case").unwrap_err();
        assert!(e.to_string().contains(want), "{input:?}: {e}");
    }
    let e = parse_findings("{\"findings\":[]}\n\n  {\"id\": 1}", "f").unwrap_err();
    assert_eq!((e.line, e.column), (3, 3), "{e}");
}

#[test]
fn resource_tags_are_found_in_any_details() {
    let f = &parse("ec2-exempt.json").unwrap()[0];
    assert!(
        f.resource_tags()
            .contains(&("firebreak:exempt".to_string(), "honeypot".to_string()))
    );
}
