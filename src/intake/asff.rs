//! Security Hub's copies of GuardDuty findings (AWS Security Finding Format): the `Security Hub
//! Findings - Imported` event, a bare ASFF finding, or `{"Findings": [...]}` from Security Hub's
//! GetFindings. The copy lacks much of what playbooks read, so the native finding is read from
//! GuardDuty instead (`GetFindings` in the caller's detector of the finding's region) and
//! contained as if it had come itself: the same routing, plan and evidence.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::domain::finding::Finding;

/// A GuardDuty finding an ASFF copy names.
#[derive(Debug, Clone, PartialEq)]
pub struct Named {
    pub region: String,
    pub account_id: String,
    pub finding_id: String,
}

/// The GuardDuty findings an ASFF text names; `None` when the text is no ASFF at all.
pub fn named(text: &str) -> Option<Result<Vec<Named>, String>> {
    let v: Value = serde_json::from_str(text.trim()).ok()?;
    let items: Vec<&Value> =
        if let Some(list) = v.pointer("/detail/findings").and_then(Value::as_array) {
            list.iter().collect()
        } else if let Some(list) = v.get("Findings").and_then(Value::as_array) {
            list.iter().collect()
        } else {
            vec![&v]
        };
    if !items
        .iter()
        .any(|i| i.get("ProductArn").is_some() && i.get("SchemaVersion").is_some())
    {
        return None;
    }
    Some(items.into_iter().map(one).collect())
}

fn one(asff: &Value) -> Result<Named, String> {
    let product = asff["ProductArn"].as_str().unwrap_or_default();
    if !product.ends_with("product/aws/guardduty") {
        return Err(format!(
            "a Security Hub finding of {product}, not of GuardDuty: firebreak contains GuardDuty's findings"
        ));
    }
    let id = asff["Id"].as_str().unwrap_or_default();
    // arn:aws:guardduty:REGION:ACCOUNT:detector/DETECTOR/finding/FINDING
    let parts: Vec<&str> = id.splitn(6, ':').collect();
    match (parts.as_slice(), id.rsplit_once("/finding/")) {
        ([_, _, "guardduty", region, account, _], Some((_, finding)))
            if !region.is_empty() && !finding.is_empty() =>
        {
            Ok(Named {
                region: (*region).to_string(),
                account_id: (*account).to_string(),
                finding_id: finding.to_string(),
            })
        }
        _ => Err(format!(
            "the Security Hub finding's Id `{id}` is not a GuardDuty finding's ARN (arn:aws:guardduty:REGION:ACCOUNT:detector/ID/finding/ID)"
        )),
    }
}

/// Reads the `named` findings from GuardDuty with `base`'s identity: the caller's detector in
/// each finding's region (in an organization, the administrator's, which holds the members').
pub async fn read(base: &aws_config::SdkConfig, named: &[Named]) -> Result<Vec<Finding>, String> {
    let mut by_region: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for n in named {
        by_region
            .entry(n.region.as_str())
            .or_default()
            .push(n.finding_id.clone());
    }
    let mut out = Vec::new();
    for (region, ids) in by_region {
        let gd = crate::aws::guardduty_in(base, region);
        let detector = &crate::aws::own_detector(&gd).await?;
        let polled = crate::intake::watch::get(&gd, detector, &ids)
            .await
            .map_err(|e| e.to_string())?;
        if let Some(u) = polled.unreadable.first() {
            return Err(format!("GuardDuty's finding {}: {}", u.finding_id, u.error));
        }
        for id in &ids {
            if !polled.findings.iter().any(|f| &f.id == id) {
                return Err(format!(
                    "GuardDuty holds no finding {id} in detector {detector} ({region})"
                ));
            }
        }
        out.extend(polled.findings);
    }
    Ok(out)
}
