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

/// Issue 13: a severity outside GuardDuty's scale is refused, naming what it saw.
#[test]
fn a_severity_off_the_scale_is_refused() {
    let finding = |sev: &str| {
        format!(
            "{{\"id\":\"x\",\"type\":\"A:B/C\",\"accountId\":\"1\",\"region\":\"r\",\"severity\":{sev},\"resource\":{{\"resourceType\":\"Instance\"}}}}"
        )
    };
    for bad in ["99999", "-1", "\"11\""] {
        let e = parse_findings(&finding(bad), "f").unwrap_err();
        assert!(
            e.to_string()
                .contains("`severity` must be from 1.0 to 10.0"),
            "{bad}: {e}"
        );
        assert_eq!(e.path, "$.severity", "{e}");
    }
    for good in ["1", "8.9", "10", "\"5.0\""] {
        assert!(parse_findings(&finding(good), "f").is_ok(), "{good}");
    }
}

/// Issue 13: in a file of many findings each is placed at its own line, the last as
/// exactly as the first (each place is counted on from the one before it).
#[test]
fn every_record_of_a_long_ndjson_file_has_its_line() {
    let one = std::fs::read_to_string(fixture("iam-user-tor.json")).unwrap();
    let value: serde_json::Value = serde_json::from_str(&one).unwrap();
    let line = serde_json::to_string(&value).unwrap();
    let mut text = String::new();
    for _ in 0..3000 {
        text.push_str(&line);
        text.push('\n');
    }
    // A blank line and an indented bad record at the end.
    text.push_str("\n   {\"id\": 1}\n");
    let e = parse_findings(&text, "many.ndjson").unwrap_err();
    assert_eq!((e.line, e.column), (3002, 4), "{e}");
    text.truncate(text.len() - "\n   {\"id\": 1}\n".len());
    let all = parse_findings(&text, "many.ndjson").unwrap();
    assert_eq!(all.len(), 3000);
    assert_eq!(all[0].origin.line, 1);
    assert_eq!(all[2999].origin.line, 3000);
}

/// Issue 13: bytes that are not UTF-8 are reported where they are, as a finding error.
#[test]
fn bytes_that_are_not_utf8_are_placed() {
    use firebreak::domain::finding::parse_finding_bytes;
    let mut bytes = b"{\"findings\": []}\n{\"id\": \"caf".to_vec();
    bytes.push(0xe9);
    bytes.extend_from_slice(b"\"}\n");
    let e = parse_finding_bytes(&bytes, "latin1.json").unwrap_err();
    assert_eq!((e.line, e.column), (2, 12), "{e}");
    assert!(e.to_string().contains("not UTF-8 text: byte 0xe9"), "{e}");
    assert!(e.to_string().contains("hint: "), "{e}");
    // And through the command line, with a non-zero exit.
    let dir = std::env::temp_dir().join(format!("fb-utf8-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("latin1.json");
    std::fs::write(&file, &bytes).unwrap();
    let out = crate::support::firebreak(&["explain", file.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = crate::support::stderr(&out);
    assert!(err.contains("latin1.json:2:12: not UTF-8 text"), "{err}");
}

/// Issue 13: the AWS CLI's (and boto3's) `get-findings` output, PascalCase, and an early
/// CloudWatch Events event carrying only `region` and `detail`, are read as the finding itself;
/// a Security Hub (ASFF) finding and an object that is no finding are refused, naming what was
/// seen.
#[test]
fn the_cli_s_output_and_an_early_event_are_read_as_the_finding() {
    fn pascal(v: &serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(m) => serde_json::Value::Object(
                m.iter()
                    .map(|(k, v)| {
                        let mut c = k.chars();
                        let k = c
                            .next()
                            .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                            .unwrap_or_default();
                        (k, pascal(v))
                    })
                    .collect(),
            ),
            serde_json::Value::Array(a) => serde_json::Value::Array(a.iter().map(pascal).collect()),
            other => other.clone(),
        }
    }
    for name in [
        "iam-user-tor.json",
        "ec2-bitcoin-dns.json",
        "s3-public-policy.json",
    ] {
        let text = std::fs::read_to_string(fixture(name)).unwrap();
        let native = parse_findings(&text, name).unwrap().remove(0);
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let cli = serde_json::json!({ "Findings": [pascal(&json)] }).to_string();
        let read = parse_findings(&cli, "cli.json").unwrap().remove(0);
        assert_eq!(read.origin.shape, Shape::Cli);
        assert_eq!(
            (
                &read.id,
                &read.type_name,
                &read.account_id,
                &read.region,
                &read.resource_type
            ),
            (
                &native.id,
                &native.type_name,
                &native.account_id,
                &native.region,
                &native.resource_type
            ),
            "{name}"
        );
        assert_eq!(
            read.json, native.json,
            "{name}: the same finding, by its wire names"
        );
        let early = serde_json::json!({"region": native.region, "detail": json}).to_string();
        let read = parse_findings(&early, "early.json").unwrap().remove(0);
        assert_eq!(
            (read.origin.shape, &read.id),
            (Shape::EventBridge, &native.id)
        );
    }
    let asff = r#"{"SchemaVersion": "2018-10-08", "ProductArn": "arn:aws:securityhub:us-east-1::product/aws/guardduty", "Id": "x"}"#;
    let e = parse_findings(asff, "asff.json").unwrap_err();
    assert!(e.to_string().contains("a Security Hub finding"), "{e}");
    let e = parse_findings(r#"{"alert": "x", "level": 3}"#, "other.json").unwrap_err();
    assert!(
        e.to_string().contains("an object with keys alert, level"),
        "{e}"
    );
}

/// Issue 13: an attack sequence (GuardDuty Extended Threat Detection) is read with one finding
/// per resource a playbook can contain: its key, its instance, its bucket (with the key as the
/// actor), each in the native form, all of one incident; its object is left to the person.
#[test]
fn an_attack_sequence_fans_out_over_its_resources() {
    let all = parse("attack-sequence.json").unwrap();
    let kinds: Vec<&str> = all.iter().map(|f| f.resource_type.as_str()).collect();
    assert_eq!(
        kinds,
        ["AttackSequence", "AccessKey", "Instance", "S3Bucket"]
    );
    let incidents: std::collections::BTreeSet<String> =
        all.iter().map(firebreak::tickets::incident_key).collect();
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    let ids: std::collections::BTreeSet<&str> = all.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids.len(), 4, "each part has its own id");
    let key = &all[1].json["resource"]["accessKeyDetails"];
    assert_eq!(
        (key["accessKeyId"].as_str(), key["userName"].as_str()),
        (Some("AKIAIOSFODNN7EXAMPLE"), Some("alice"))
    );
    assert_eq!(
        all[2].json["resource"]["instanceDetails"]["instanceId"],
        "i-99999999"
    );
    let bucket = &all[3].json["resource"];
    assert_eq!(bucket["s3BucketDetails"][0]["name"], "example-data-bucket");
    assert_eq!(bucket["accessKeyDetails"]["userName"], "alice");
    // The same as an EventBridge event.
    let text = std::fs::read_to_string(fixture("attack-sequence.json")).unwrap();
    let event = format!(
        "{{\"source\":\"aws.guardduty\",\"detail-type\":\"GuardDuty Finding\",\"detail\":{text}}}"
    );
    assert_eq!(parse_findings(&event, "event.json").unwrap().len(), 4);
}

/// Issue 13: a Malware Protection for S3 scan result that found a threat is read as the finding
/// GuardDuty makes of one; sent again (another event id and time), it is the same finding; one
/// that found none, or names no object, is refused with where and what to route.
#[test]
fn a_scan_result_that_found_malware_is_read_as_its_finding() {
    let text = std::fs::read_to_string(fixture("shape-malware-scan-result.json")).unwrap();
    let f = parse_findings(&text, "scan.json").unwrap();
    assert_eq!(f.len(), 1);
    let f = &f[0];
    assert_eq!(f.origin.shape, Shape::MalwareScanResult);
    assert_eq!(f.type_name, "Object:S3/MaliciousFile");
    assert_eq!(f.resource_type, "S3Object");
    assert_eq!(f.account_id, "123456789012");
    let object = &f.json["resource"]["s3BucketDetails"][0];
    assert_eq!(object["name"], "customer-uploads");
    assert_eq!(object["s3ObjectDetails"][0]["key"], "inbox/invoice.pdf.exe");
    assert_eq!(
        object["s3ObjectDetails"][0]["versionId"],
        "d41d8cd98f00b204e9800998ecEXAMPLE"
    );
    assert_eq!(
        f.json["service"]["malwareScanDetails"]["threats"][0]["name"],
        "EICAR-Test-File (not a virus)"
    );
    // The event itself is kept in the finding.
    let kept: serde_json::Value = serde_json::from_str(
        f.json["service"]["additionalInfo"]["value"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        kept,
        serde_json::from_str::<serde_json::Value>(&text).unwrap()
    );

    let mut again: serde_json::Value = serde_json::from_str(&text).unwrap();
    again["id"] = "another-delivery".into();
    again["time"] = "2026-11-20T10:00:00Z".into();
    let again = parse_findings(&again.to_string(), "again.json").unwrap();
    assert_eq!(
        again[0].id, f.id,
        "the same object version is the same finding"
    );

    for (edit, path) in [
        (
            serde_json::json!({"scanResultDetails": {"scanResultStatus": "NO_THREATS_FOUND", "threats": null}}),
            "$.detail.scanResultDetails.scanResultStatus",
        ),
        (
            serde_json::json!({"s3ObjectDetails": {"bucketName": "customer-uploads"}}),
            "$.detail.s3ObjectDetails.objectKey",
        ),
    ] {
        let mut event: serde_json::Value = serde_json::from_str(&text).unwrap();
        for (k, v) in edit.as_object().unwrap() {
            event["detail"][k] = v.clone();
        }
        let e = parse_findings(&event.to_string(), "bad.json").unwrap_err();
        assert_eq!(e.path, path, "{e}");
        assert!(e.hint.contains("THREATS_FOUND"), "{e}");
    }
}

/// Issue 13: an attack sequence's EKS cluster is a part too, with the sequence's key as its
/// Kubernetes user's IAM principal (for the EKS playbook, which deletes its access entry).
#[test]
fn an_attack_sequence_s_cluster_is_a_part_with_the_key_as_its_user() {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("attack-sequence.json")).unwrap())
            .unwrap();
    v["type"] = "AttackSequence:EKS/CompromisedCluster".into();
    v["service"]["detection"]["sequence"]["resources"]
        .as_array_mut()
        .unwrap()
        .push(
            serde_json::json!({"uid": "arn:aws:eks:us-east-1:123456789012:cluster/prod",
            "name": "prod", "accountId": "123456789012", "region": "us-east-1",
            "resourceType": "EKS_CLUSTER", "service": "EKS"}),
        );
    let all = parse_findings(&v.to_string(), "sequence.json").unwrap();
    let cluster = all
        .iter()
        .find(|f| f.resource_type == "EKSCluster")
        .expect("a cluster part");
    let r = &cluster.json["resource"];
    assert_eq!(r["eksClusterDetails"]["name"], "prod");
    assert_eq!(
        r["eksClusterDetails"]["arn"],
        "arn:aws:eks:us-east-1:123456789012:cluster/prod"
    );
    assert_eq!(r["accessKeyDetails"]["userName"], "alice");
    assert_eq!(
        firebreak::tickets::incident_key(cluster),
        firebreak::tickets::incident_key(&all[0]),
        "one incident"
    );
}
