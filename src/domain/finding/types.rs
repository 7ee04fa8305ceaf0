//! GuardDuty finding type names: their parts, and the list of names GuardDuty currently emits
//! (shipped as data so that validation can warn about patterns that match nothing).

use std::sync::LazyLock;

use serde::Serialize;

/// `ThreatPurpose:ResourceTypeAffected/ThreatFamilyName.DetectionMechanism!Artifact`, split into its
/// parts. Every part but the purpose may be absent; a name that does not follow the scheme at all
/// keeps only `purpose` = the whole name.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct FindingType {
    pub purpose: String,
    pub resource: Option<String>,
    pub family: Option<String>,
    pub mechanism: Option<String>,
    pub artifact: Option<String>,
}

impl FindingType {
    pub fn parse(name: &str) -> FindingType {
        let Some((purpose, rest)) = name.split_once(':') else {
            return FindingType {
                purpose: name.to_string(),
                ..Default::default()
            };
        };
        let (resource, rest) = match rest.split_once('/') {
            Some((r, rest)) => (Some(r.to_string()), rest),
            None => (None, rest),
        };
        let (rest, artifact) = match rest.rsplit_once('!') {
            Some((rest, a)) => (rest, Some(a.to_string())),
            None => (rest, None),
        };
        let (family, mechanism) = match rest.split_once('.') {
            Some((f, m)) => (Some(f.to_string()), Some(m.to_string())),
            None => ((!rest.is_empty()).then(|| rest.to_string()), None),
        };
        FindingType {
            purpose: purpose.to_string(),
            resource,
            family,
            mechanism,
            artifact,
        }
    }
}

/// Every finding type name in `data/guardduty-finding-types.txt`.
pub static KNOWN_TYPES: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/guardduty-finding-types.txt"
    ))
    .lines()
    .map(str::trim)
    .filter(|l| !l.is_empty() && !l.starts_with('#'))
    .collect()
});

pub fn is_known_type(name: &str) -> bool {
    KNOWN_TYPES.contains(&name)
}

/// `resource.resourceType` values GuardDuty documents. Others may come; they are not errors.
pub const RESOURCE_TYPES: &[&str] = &[
    "AccessKey",
    "Instance",
    "S3Bucket",
    "S3Object",
    "EKSCluster",
    "ECSCluster",
    "Container",
    "RDSDBInstance",
    "RDSLimitlessDB",
    "Lambda",
    "EBSSnapshot",
    "EC2Image",
    "RecoveryPoint",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_part() {
        let t = FindingType::parse("Trojan:EC2/DGADomainRequest.C!DNS");
        assert_eq!(t.purpose, "Trojan");
        assert_eq!(t.resource.as_deref(), Some("EC2"));
        assert_eq!(t.family.as_deref(), Some("DGADomainRequest"));
        assert_eq!(t.mechanism.as_deref(), Some("C"));
        assert_eq!(t.artifact.as_deref(), Some("DNS"));
        let t = FindingType::parse("Policy:S3/BucketBlockPublicAccessDisabled");
        assert_eq!(t.family.as_deref(), Some("BucketBlockPublicAccessDisabled"));
        assert_eq!(t.mechanism, None);
        let t = FindingType::parse("garbage");
        assert_eq!(t.purpose, "garbage");
        assert_eq!(t.resource, None);
    }

    #[test]
    fn known_list_is_loaded() {
        assert!(KNOWN_TYPES.len() > 150);
        assert!(is_known_type(
            "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS"
        ));
    }
}
