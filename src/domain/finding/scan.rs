//! A Malware Protection for S3 scan result: an EventBridge event (`GuardDuty Malware Protection
//! Object Scan Result`), not a finding. GuardDuty makes a finding of a threat only where a
//! detector is on; a bucket protected without one sends this event alone. One that found a threat
//! is read as the finding GuardDuty makes of it (`Object:S3/MaliciousFile`, resource type
//! `S3Object`), so the same playbook contains it; the event is kept whole in the finding.

use serde_json::{Map, Value, json};

/// The event's `detail-type`.
pub const SCAN_RESULT: &str = "GuardDuty Malware Protection Object Scan Result";

/// The EventBridge pattern that sends firebreak only the scan results it acts on.
pub const SCAN_RESULT_PATTERN: &str = r#"{"source":["aws.guardduty"],"detail-type":["GuardDuty Malware Protection Object Scan Result"],"detail":{"scanResultDetails":{"scanResultStatus":["THREATS_FOUND"]}}}"#;

/// What is wrong with a scan result: the JSON path and the message.
pub(super) type Problem = (&'static str, String);

/// The finding a scan result that found a threat stands for, as JSON text. Its id is the
/// object version's (account, bucket, key, version and ETag hashed): a result sent again, or
/// scanned again, is the same finding.
pub(super) fn as_finding(event: &Map<String, Value>) -> Result<String, Problem> {
    let detail = event.get("detail").unwrap_or(&Value::Null);
    let text = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_string);
    let status = detail["scanResultDetails"]["scanResultStatus"]
        .as_str()
        .unwrap_or_default();
    if status != "THREATS_FOUND" {
        return Err((
            "$.detail.scanResultDetails.scanResultStatus",
            format!(
                "a Malware Protection for S3 scan result without a threat (result {status:?}, scan {:?}): nothing to contain",
                detail["scanStatus"].as_str().unwrap_or_default()
            ),
        ));
    }
    let object = &detail["s3ObjectDetails"];
    let bucket = text(&object["bucketName"]).ok_or((
        "$.detail.s3ObjectDetails.bucketName",
        "the scan result names no bucket".to_string(),
    ))?;
    let key = text(&object["objectKey"]).ok_or((
        "$.detail.s3ObjectDetails.objectKey",
        "the scan result names no object".to_string(),
    ))?;
    let plan = event
        .get("resources")
        .and_then(|r| r.get(0))
        .and_then(Value::as_str)
        .unwrap_or_default();
    // The event's account, or its Malware Protection plan's (the bucket's owner both).
    let account = text(event.get("account").unwrap_or(&Value::Null))
        .or_else(|| {
            plan.split(':')
                .nth(4)
                .filter(|a| !a.is_empty())
                .map(str::to_string)
        })
        .ok_or((
            "$.account",
            "the scan result's event has no account, nor a Malware Protection plan in its resources"
                .to_string(),
        ))?;
    let region = text(event.get("region").unwrap_or(&Value::Null)).ok_or((
        "$.region",
        "the scan result's event has no region".to_string(),
    ))?;
    let partition = if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    };
    let version = text(&object["versionId"]);
    let etag = text(&object["eTag"]);
    let id = crate::domain::digest::sha256_hex(
        [
            account.as_str(),
            &bucket,
            &key,
            version.as_deref().unwrap_or_default(),
            etag.as_deref().unwrap_or_default(),
        ]
        .join("\n")
        .as_bytes(),
    )[..32]
        .to_string();
    let time = text(event.get("time").unwrap_or(&Value::Null)).unwrap_or_default();
    let threats = match &detail["scanResultDetails"]["threats"] {
        Value::Array(t) => t.clone(),
        _ => Vec::new(),
    };
    let names: Vec<&str> = threats.iter().filter_map(|t| t["name"].as_str()).collect();
    let mut o = json!({
        "objectArn": format!("arn:{partition}:s3:::{bucket}/{key}"),
        "key": key,
    });
    if let Some(e) = &etag {
        o["eTag"] = json!(e);
    }
    if let Some(v) = &version {
        o["versionId"] = json!(v);
    }
    let finding = json!({
        "schemaVersion": "2.0",
        "accountId": account,
        "region": region,
        "partition": partition,
        "id": id,
        "arn": plan,
        "type": "Object:S3/MaliciousFile",
        "resource": {
            "resourceType": "S3Object",
            "s3BucketDetails": [{
                "name": bucket,
                "arn": format!("arn:{partition}:s3:::{bucket}"),
                "s3ObjectDetails": [o],
            }],
        },
        "service": {
            "serviceName": "guardduty",
            "featureName": "S3MalwareProtection",
            "malwareScanDetails": {"threats": threats},
            "eventFirstSeen": time,
            "eventLastSeen": time,
            "archived": false,
            "count": 1,
            // The event as it came, for the evidence.
            "additionalInfo": {"type": "scanResult", "value": Value::Object(event.clone()).to_string()},
        },
        "severity": 8.0,
        "createdAt": time,
        "updatedAt": time,
        "title": format!("Malware in object {key} of bucket {bucket}"),
        "description": format!(
            "GuardDuty Malware Protection for S3 found {} in s3://{bucket}/{key}{}. firebreak read this finding from the scan result event {}.",
            if names.is_empty() { "a threat".to_string() } else { names.join(", ") },
            version.as_deref().map(|v| format!(" (version {v})")).unwrap_or_default(),
            event.get("id").and_then(Value::as_str).unwrap_or("without an id"),
        ),
    });
    Ok(finding.to_string())
}
