//! Raw JSON → [`Finding`]: accepts a bare GuardDuty finding, an EventBridge event, a `GetFindings`
//! response, or any stream of them (NDJSON). Lenient where real findings are untidy, strict only on
//! the fields routing needs, and the raw JSON of each finding is kept byte for byte.

mod scan;
mod types;

use std::fmt;

use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

pub use scan::{SCAN_RESULT, SCAN_RESULT_PATTERN};
pub use types::{FindingType, KNOWN_TYPES, RESOURCE_TYPES, is_known_type};

/// Which of the accepted shapes a finding arrived in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// A bare finding, as exported to S3 or as the `detail` of an event.
    Bare,
    /// An EventBridge event whose `detail` is the finding.
    EventBridge,
    /// One element of a `GetFindings` response's `findings` array.
    GetFindings,
    /// One element of the AWS CLI's or boto3's `get-findings` output (`{"Findings": [...]}`,
    /// member names in PascalCase), read as the API's wire names.
    Cli,
    /// A Malware Protection for S3 scan result event that found a threat, read as the finding
    /// GuardDuty makes of one (`Object:S3/MaliciousFile`); the event is in the finding's
    /// `service.additionalInfo`.
    MalwareScanResult,
}

/// The EventBridge envelope a finding came in, when it came in one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventMeta {
    pub id: Option<String>,
    pub time: Option<String>,
    pub account: Option<String>,
}

/// Where a finding came from: the file (or `-`), the JSON document's 1-based line, and its
/// position among the findings of that document.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Origin {
    pub file: String,
    pub line: usize,
    pub index: usize,
    pub shape: Shape,
}

/// A GuardDuty finding: the fields routing needs, parsed, and the rest kept as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub id: String,
    pub type_name: String,
    pub finding_type: FindingType,
    pub account_id: String,
    pub region: String,
    pub severity: f64,
    pub resource_type: String,
    /// GuardDuty sample finding (generated, not a real incident).
    pub sample: bool,
    /// `service.count`: grows as GuardDuty re-sends updates of the same finding.
    pub count: Option<u64>,
    pub updated_at: Option<String>,
    pub event: Option<EventMeta>,
    pub origin: Origin,
    /// The finding parsed, for expressions (`finding.resource…`).
    pub json: Value,
    /// The finding exactly as received (for the `detail` of an event: that object's text).
    pub raw: String,
}

/// A finding that cannot be used, with the place and the JSON path of the problem.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct FindingError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// JSON path of the offending field (`$.detail.resource.resourceType`), empty for syntax errors.
    pub path: String,
    pub message: String,
    pub hint: String,
}

impl fmt::Display for FindingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        write!(f, "{}\n  hint: {}", self.message, self.hint)
    }
}

/// Parses every finding in `text` (one JSON value, or several one after another as in NDJSON).
/// `file` names the source in messages. An empty `GetFindings` response yields no findings.
pub fn parse_findings(text: &str, file: &str) -> Result<Vec<Finding>, FindingError> {
    let mut out = Vec::new();
    // Each document's place, counted on from the last one's: a file of many findings is read
    // in one pass, not once more per finding.
    let mut place = Place::default();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<&RawValue>();
    loop {
        let offset = stream.byte_offset();
        let Some(next) = stream.next() else { break };
        let raw = next.map_err(|e| FindingError {
            file: file.to_string(),
            line: e.line(),
            column: e.column(),
            path: String::new(),
            message: format!("not valid JSON: {e}"),
            hint: "a finding file holds JSON: one finding, an EventBridge event, a GetFindings \
                   response, or one of those per line (NDJSON)"
                .into(),
        })?;
        let start = offset + leading_ws(&text[offset..]);
        let (line, column) = place.at(text, start);
        let at = At { file, line, column };
        parse_document(raw, &at, &mut out)?;
    }
    if out.is_empty() && text.trim().is_empty() {
        return Err(FindingError {
            file: file.to_string(),
            line: 1,
            column: 1,
            path: String::new(),
            message: "the input is empty".into(),
            hint: "pass a file holding a GuardDuty finding".into(),
        });
    }
    Ok(out)
}

struct At<'a> {
    file: &'a str,
    line: usize,
    column: usize,
}

impl At<'_> {
    fn err(&self, path: &str, message: impl Into<String>, hint: impl Into<String>) -> FindingError {
        FindingError {
            file: self.file.to_string(),
            line: self.line,
            column: self.column,
            path: path.to_string(),
            message: message.into(),
            hint: hint.into(),
        }
    }
}

fn leading_ws(s: &str) -> usize {
    s.len() - s.trim_start().len()
}

/// The 1-based line and column (in characters) of a byte of a text, for bytes asked in
/// increasing order: each answer counts only the text since the last.
#[derive(Default)]
struct Place {
    byte: usize,
    /// Newlines before `byte`.
    newlines: usize,
    /// Characters between the last newline before `byte` and `byte`.
    chars: usize,
}

impl Place {
    fn at(&mut self, text: &str, byte: usize) -> (usize, usize) {
        let end = byte.min(text.len()).max(self.byte);
        let seg = text.get(self.byte..end).unwrap_or_default();
        match seg.rfind('\n') {
            Some(last) => {
                self.newlines += seg.matches('\n').count();
                self.chars = seg[last + 1..].chars().count();
            }
            None => self.chars += seg.chars().count(),
        }
        self.byte = end;
        (self.newlines + 1, self.chars + 1)
    }
}

/// Parses findings from bytes (a file, standard input): [`parse_findings`] once they are
/// UTF-8 text; bytes that are not are reported at their line and column.
pub fn parse_finding_bytes(bytes: &[u8], file: &str) -> Result<Vec<Finding>, FindingError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse_findings(text, file),
        Err(e) => {
            let good = &bytes[..e.valid_up_to()];
            // The valid part is text: its place is counted there.
            let text = std::str::from_utf8(good).unwrap_or_default();
            let (line, column) = Place::default().at(text, text.len());
            let byte = bytes.get(e.valid_up_to()).copied().unwrap_or_default();
            Err(FindingError {
                file: file.to_string(),
                line,
                column,
                path: String::new(),
                message: format!(
                    "not UTF-8 text: byte 0x{byte:02x} at offset {} does not start a UTF-8 character",
                    e.valid_up_to()
                ),
                hint: "GuardDuty and the AWS CLI write findings as UTF-8 JSON; re-export the file \
                       (or convert it, e.g. `iconv -t UTF-8`)"
                    .into(),
            })
        }
    }
}

#[derive(serde::Deserialize)]
struct EventEnvelope<'a> {
    #[serde(borrow)]
    detail: Option<&'a RawValue>,
}

#[derive(serde::Deserialize)]
struct GetFindingsEnvelope<'a> {
    #[serde(borrow)]
    findings: Vec<&'a RawValue>,
}

fn parse_document(raw: &RawValue, at: &At<'_>, out: &mut Vec<Finding>) -> Result<(), FindingError> {
    let value: Value = serde_json::from_str(raw.get())
        .map_err(|e| at.err("$", format!("not valid JSON: {e}"), "fix the JSON syntax"))?;
    let Value::Object(obj) = &value else {
        if let Value::Array(_) = value {
            let items: Vec<&RawValue> = serde_json::from_str(raw.get())
                .map_err(|e| at.err("$", format!("not valid JSON: {e}"), "fix the JSON syntax"))?;
            for item in items {
                parse_document(item, at, out)?;
            }
            return Ok(());
        }
        return Err(at.err(
            "$",
            format!("expected a JSON object, found {}", json_kind(&value)),
            "pass a GuardDuty finding object, an EventBridge event or a GetFindings response",
        ));
    };
    // An EventBridge event (early CloudWatch Events ones may carry only `region` and `detail`).
    let is_event = obj.contains_key("detail")
        && !obj.contains_key("type")
        && (obj.contains_key("detail-type")
            || obj.contains_key("source")
            || obj.contains_key("region"));
    if is_event {
        let source = obj.get("source").and_then(Value::as_str);
        let detail_type = obj.get("detail-type").and_then(Value::as_str);
        let meta = EventMeta {
            id: lenient_string(obj.get("id")),
            time: lenient_string(obj.get("time")),
            account: lenient_string(obj.get("account")),
        };
        if source == Some("aws.guardduty") && detail_type == Some(SCAN_RESULT) {
            let text = scan::as_finding(obj).map_err(|(path, message)| {
                at.err(
                    path,
                    message,
                    format!("route only the scan results that found a threat to firebreak: {SCAN_RESULT_PATTERN}"),
                )
            })?;
            let converted = RawValue::from_string(text)
                .map_err(|e| at.err("$.detail", e.to_string(), "fix the event JSON"))?;
            let index = out.len();
            out.push(parse_finding(
                &converted,
                at,
                "$.detail",
                Shape::MalwareScanResult,
                Some(meta),
                index,
            )?);
            return Ok(());
        }
        if source.is_some_and(|s| s != "aws.guardduty")
            || detail_type.is_some_and(|d| d != "GuardDuty Finding")
        {
            return Err(at.err(
                "$.detail-type",
                format!(
                    "an EventBridge event that is not a GuardDuty finding (source {:?}, detail-type {:?})",
                    source.unwrap_or(""),
                    detail_type.unwrap_or("")
                ),
                "route only events matching {\"source\":[\"aws.guardduty\"],\"detail-type\":[\"GuardDuty Finding\"]} to firebreak",
            ));
        }
        let env: EventEnvelope<'_> = serde_json::from_str(raw.get())
            .map_err(|e| at.err("$.detail", e.to_string(), "fix the event JSON"))?;
        let Some(detail) = env.detail else {
            return Err(at.err(
                "$.detail",
                "the event's detail is null",
                "the finding must be the event's `detail` object",
            ));
        };
        let index = out.len();
        out.push(parse_finding(
            detail,
            at,
            "$.detail",
            Shape::EventBridge,
            Some(meta),
            index,
        )?);
        return push_sequence_parts(at, out);
    }
    if obj.contains_key("findings") && !obj.contains_key("type") {
        let env: GetFindingsEnvelope<'_> = serde_json::from_str(raw.get()).map_err(|e| {
            at.err(
                "$.findings",
                format!("`findings` must be a list of findings: {e}"),
                "a GetFindings response looks like {\"findings\": [ … ]}",
            )
        })?;
        for (i, item) in env.findings.into_iter().enumerate() {
            let index = out.len();
            out.push(parse_finding(
                item,
                at,
                &format!("$.findings[{i}]"),
                Shape::GetFindings,
                None,
                index,
            )?);
            push_sequence_parts(at, out)?;
        }
        return Ok(());
    }
    // The AWS CLI's or boto3's output: member names in PascalCase.
    if let Some(items) = obj.get("Findings").and_then(Value::as_array) {
        for (i, item) in items.iter().enumerate() {
            if is_asff(item) {
                return Err(asff_error(at, &format!("$.Findings[{i}]")));
            }
            let text = wire_names(item).to_string();
            let converted = RawValue::from_string(text)
                .map_err(|e| at.err(&format!("$.Findings[{i}]"), e.to_string(), "fix the JSON"))?;
            let index = out.len();
            out.push(parse_finding(
                &converted,
                at,
                &format!("$.Findings[{i}]"),
                Shape::Cli,
                None,
                index,
            )?);
            push_sequence_parts(at, out)?;
        }
        return Ok(());
    }
    if is_asff(&value) {
        return Err(asff_error(at, "$"));
    }
    // One finding as the CLI prints it (`Id`, `Type`, …).
    if obj.contains_key("Id") && obj.contains_key("Type") && !obj.contains_key("id") {
        let converted = RawValue::from_string(wire_names(&value).to_string())
            .map_err(|e| at.err("$", e.to_string(), "fix the JSON"))?;
        let index = out.len();
        out.push(parse_finding(&converted, at, "$", Shape::Cli, None, index)?);
        return push_sequence_parts(at, out);
    }
    if !obj.contains_key("id") && !obj.contains_key("type") {
        let mut keys: Vec<&str> = obj.keys().map(String::as_str).take(8).collect();
        if obj.len() > 8 {
            keys.push("…");
        }
        return Err(at.err(
            "$",
            format!(
                "an object with {}: not a GuardDuty finding, an EventBridge event of one, or a GetFindings answer",
                if keys.is_empty() {
                    "no keys".to_string()
                } else {
                    format!("keys {}", keys.join(", "))
                }
            ),
            "pass a GuardDuty finding (id, type, accountId, region, severity, resource), an EventBridge \"GuardDuty Finding\" event, a GetFindings answer ({\"findings\": […]}) or the AWS CLI's get-findings output ({\"Findings\": […]})",
        ));
    }
    let index = out.len();
    out.push(parse_finding(raw, at, "$", Shape::Bare, None, index)?);
    push_sequence_parts(at, out)
}

/// After an attack sequence (`resource.resourceType: AttackSequence`, GuardDuty Extended Threat
/// Detection), one finding per resource of it that a playbook can contain: its access key, its
/// instances, its EKS clusters and its buckets (with the key as their actor), each with the sequence's type,
/// severity and `service.detection.sequence` (so all are one incident), its own `resource` in
/// the native form, and an id of its own (the sequence's, and a hash of the resource's uid).
/// Other resources (network interfaces, objects, workloads, containers) stay for the person
/// the sequence's ticket goes to.
fn push_sequence_parts(at: &At<'_>, out: &mut Vec<Finding>) -> Result<(), FindingError> {
    let Some(last) = out.last() else {
        return Ok(());
    };
    if last.resource_type != "AttackSequence" {
        return Ok(());
    }
    let (json, shape, id) = (last.json.clone(), last.origin.shape, last.id.clone());
    let resources = json
        .pointer("/service/detection/sequence/resources")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let text = |r: &Value, p: &str| r.pointer(p).and_then(Value::as_str).map(str::to_string);
    let key_of = |r: &Value| {
        serde_json::json!({
            "accessKeyId": text(r, "/uid"),
            "principalId": text(r, "/data/accessKey/principalId"),
            "userName": text(r, "/data/accessKey/userName").or_else(|| text(r, "/name")),
            "userType": text(r, "/data/accessKey/userType"),
        })
    };
    let actor = resources
        .iter()
        .find(|r| r["resourceType"] == "ACCESS_KEY")
        .map(key_of);
    for (i, r) in resources.iter().enumerate() {
        let Some(uid) = text(r, "/uid") else { continue };
        let last_part = uid.rsplit([':', '/']).next().unwrap_or(&uid).to_string();
        let tags = r.get("tags").cloned().unwrap_or(Value::Array(Vec::new()));
        let native = match r["resourceType"].as_str() {
            Some("ACCESS_KEY") => serde_json::json!({
                "resourceType": "AccessKey", "accessKeyDetails": key_of(r),
            }),
            Some("EC2_INSTANCE") => serde_json::json!({
                "resourceType": "Instance",
                "instanceDetails": {"instanceId": last_part, "tags": tags},
            }),
            // A cluster, with the key as its Kubernetes user's IAM principal (whose access
            // entry the EKS playbook deletes).
            Some("EKS_CLUSTER") => serde_json::json!({
                "resourceType": "EKSCluster",
                "eksClusterDetails": {
                    "name": text(r, "/name").unwrap_or(last_part),
                    "arn": uid.starts_with("arn:").then_some(uid.clone()),
                    "tags": tags,
                },
                "accessKeyDetails": actor.clone(),
            }),
            Some("S3_BUCKET") => match &actor {
                Some(actor) => serde_json::json!({
                    "resourceType": "S3Bucket",
                    "accessKeyDetails": actor,
                    "s3BucketDetails": [{
                        "name": text(r, "/name").unwrap_or(last_part),
                        "arn": uid.starts_with("arn:").then_some(uid.clone()),
                        "tags": tags,
                    }],
                }),
                None => continue,
            },
            _ => continue,
        };
        let mut part = json.clone();
        part["id"] = format!(
            "{id}-{}",
            &crate::domain::digest::sha256_hex(uid.as_bytes())[..12]
        )
        .into();
        part["resource"] = native;
        for key in ["accountId", "region"] {
            if let Some(v) = text(r, &format!("/{key}")) {
                part[key] = v.into();
            }
        }
        let raw = RawValue::from_string(part.to_string())
            .map_err(|e| at.err("$", e.to_string(), "fix the JSON"))?;
        let index = out.len();
        out.push(parse_finding(
            &raw,
            at,
            &format!("$.service.detection.sequence.resources[{i}]"),
            shape,
            None,
            index,
        )?);
    }
    Ok(())
}

/// A Security Hub (AWS Security Finding Format) finding.
fn is_asff(v: &Value) -> bool {
    v.get("ProductArn").is_some() && v.get("SchemaVersion").is_some()
        || v.pointer("/detail/findings/0/ProductArn").is_some()
}

fn asff_error(at: &At<'_>, path: &str) -> FindingError {
    at.err(
        path,
        "a Security Hub finding (AWS Security Finding Format), not GuardDuty's own",
        "`firebreak run` and `serve` read the GuardDuty finding it copies from GuardDuty (GetFindings); for the others, pass GuardDuty's own finding",
    )
}

/// `v` with its member names as GuardDuty's API spells them: the AWS CLI and boto3 print
/// PascalCase (`AccessKeyDetails`, `EcsClusterDetails`, `S3BucketDetails`), the API and
/// EventBridge camelCase (`accessKeyDetails`, `ecsClusterDetails`, `s3BucketDetails`). Values
/// are left as they are.
fn wire_names(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (camel(k), wire_names(v))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(wire_names).collect()),
        other => other.clone(),
    }
}

/// `AccessKeyDetails` → `accessKeyDetails`; a leading run of capitals is lowered but for the
/// one that starts the next word (`ECSCluster` → `ecsCluster`).
fn camel(k: &str) -> String {
    let chars: Vec<char> = k.chars().collect();
    let upper = chars.iter().take_while(|c| c.is_ascii_uppercase()).count();
    let lowered = match upper {
        0 => return k.to_string(),
        n if n == chars.len() || n == 1 => n,
        // The last capital of the run begins a word when a lowercase letter follows it.
        n if chars[n].is_ascii_lowercase() => n - 1,
        n => n,
    };
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i < lowered {
                c.to_ascii_lowercase()
            } else {
                *c
            }
        })
        .collect()
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A string field that may also arrive as a number; null and absence are `None`.
fn lenient_string(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn parse_finding(
    raw: &RawValue,
    at: &At<'_>,
    base: &str,
    shape: Shape,
    event: Option<EventMeta>,
    index: usize,
) -> Result<Finding, FindingError> {
    let json: Value = serde_json::from_str(raw.get())
        .map_err(|e| at.err(base, format!("not valid JSON: {e}"), "fix the JSON syntax"))?;
    let Value::Object(obj) = &json else {
        return Err(at.err(
            base,
            format!(
                "a finding must be a JSON object, found {}",
                json_kind(&json)
            ),
            "pass a GuardDuty finding object",
        ));
    };
    let required = |key: &str| -> Result<String, FindingError> {
        lenient_string(obj.get(key)).filter(|s| !s.is_empty()).ok_or_else(|| {
            at.err(
                &format!("{base}.{key}"),
                match obj.get(key) {
                    None => format!("missing required field `{key}`"),
                    Some(v) => format!("field `{key}` must be a non-empty string, found {}", json_kind(v)),
                },
                "every GuardDuty finding has id, type, accountId, region, severity and resource; \
                 check that this is a finding and not another kind of event",
            )
        })
    };
    let id = required("id")?;
    let type_name = required("type")?;
    let region = required("region")?;
    let account_id = match obj.get("accountId") {
        Some(Value::Number(n)) if n.is_u64() => format!("{:012}", n.as_u64().unwrap_or_default()),
        _ => required("accountId")?,
    };
    let number = match obj.get("severity") {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|s| s.is_finite());
    let severity = match (number, obj.get("severity")) {
        // GuardDuty's scale: low from 1.0, critical (attack sequences) up to 10.0.
        (Some(s), _) if (0.0..=10.0).contains(&s) => s,
        (Some(_), Some(v)) => {
            return Err(at.err(
                &format!("{base}.severity"),
                format!("`severity` must be from 1.0 to 10.0, found {v}"),
                "GuardDuty severities are numbers from 1.0 to 10.0 (e.g. 8.0)",
            ));
        }
        (_, v) => {
            return Err(at.err(
                &format!("{base}.severity"),
                match v {
                    None => "missing required field `severity`".to_string(),
                    Some(v) => format!("`severity` must be a number, found {v}"),
                },
                "GuardDuty severities are numbers from 1.0 to 10.0 (e.g. 8.0)",
            ));
        }
    };
    let resource_type = match obj.get("resource") {
        Some(Value::Object(r)) => lenient_string(r.get("resourceType"))
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                at.err(
                    &format!("{base}.resource.resourceType"),
                    "missing required field `resource.resourceType`",
                    "playbooks are chosen by resource type (AccessKey, Instance, S3Bucket, …)",
                )
            })?,
        Some(other) => {
            return Err(at.err(
                &format!("{base}.resource"),
                format!("`resource` must be an object, found {}", json_kind(other)),
                "the finding's resource describes what was affected",
            ));
        }
        None => {
            return Err(at.err(
                &format!("{base}.resource"),
                "missing required field `resource`",
                "every GuardDuty finding names the affected resource",
            ));
        }
    };
    let service = obj.get("service");
    let count = service.and_then(|s| s.get("count")).and_then(|c| match c {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    });
    Ok(Finding {
        finding_type: FindingType::parse(&type_name),
        sample: is_sample(service),
        updated_at: lenient_string(obj.get("updatedAt")),
        id,
        type_name,
        account_id,
        region,
        severity,
        resource_type,
        count,
        event,
        origin: Origin {
            file: at.file.to_string(),
            line: at.line,
            index,
            shape,
        },
        raw: raw.get().to_string(),
        json,
    })
}

/// True for GuardDuty's generated sample findings: `service.additionalInfo.sample`, or the same
/// flag inside the JSON text `service.additionalInfo.value`.
fn is_sample(service: Option<&Value>) -> bool {
    let Some(info) = service.and_then(|s| s.get("additionalInfo")) else {
        return false;
    };
    if truthy(info.get("sample")) {
        return true;
    }
    match info.get("value") {
        Some(Value::String(text)) => serde_json::from_str::<Value>(text)
            .ok()
            .is_some_and(|v| truthy(v.get("sample"))),
        Some(v @ Value::Object(_)) => truthy(v.get("sample")),
        _ => false,
    }
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

impl Finding {
    /// Tags of the affected resource, from any `resource.*.tags` or `resource.*[].tags` list of
    /// `{key, value}` pairs (instance, bucket, cluster, database, function details).
    /// The names and ARNs the finding gives its resource (a user or role, an access key's
    /// principal, an instance and its profile, buckets, clusters, functions, databases), for
    /// matching against protected resources. Tags are not names.
    pub fn resource_names(&self) -> Vec<String> {
        const NAMES: &[&str] = &[
            "userName",
            "instanceId",
            "name",
            "arn",
            "functionName",
            "functionArn",
            "dbInstanceIdentifier",
            "dbClusterIdentifier",
            "dbInstanceArn",
        ];
        fn walk(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    for (k, v) in m {
                        if k == "tags" {
                            continue;
                        }
                        match v {
                            Value::String(s) if NAMES.contains(&k.as_str()) && !s.is_empty() => {
                                out.push(s.clone());
                                // An ARN's last part is a name too (`…:role/Admin`).
                                if let Some(last) = s.rsplit(['/', ':']).next().filter(|l| *l != s)
                                {
                                    out.push(last.to_string());
                                }
                            }
                            _ => walk(v, out),
                        }
                    }
                }
                Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        if let Some(r) = self.json.get("resource") {
            walk(r, &mut out);
        }
        out.sort();
        out.dedup();
        out
    }

    pub fn resource_tags(&self) -> Vec<(String, String)> {
        let mut tags = Vec::new();
        let Some(Value::Object(resource)) = self.json.get("resource") else {
            return tags;
        };
        let mut collect = |details: &Value| {
            if let Some(Value::Array(list)) = details.get("tags") {
                for t in list {
                    let key = lenient_string(t.get("key").or_else(|| t.get("Key")));
                    let value = lenient_string(t.get("value").or_else(|| t.get("Value")));
                    if let Some(key) = key {
                        tags.push((key, value.unwrap_or_default()));
                    }
                }
            }
        };
        for details in resource.values() {
            match details {
                Value::Object(_) => collect(details),
                Value::Array(items) => items.iter().for_each(&mut collect),
                _ => {}
            }
        }
        tags
    }

    /// A short description for messages: `id (type)`.
    pub fn label(&self) -> String {
        format!("{} ({})", self.id, self.type_name)
    }
}
