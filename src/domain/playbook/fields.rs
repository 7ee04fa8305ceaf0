//! The known fields of a GuardDuty finding (`data/finding-fields.txt`), so that an expression
//! reading `finding.resource.acessKeyDetails` is caught when the playbook is validated.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use crate::domain::expr::Seg;

#[derive(Default)]
struct FieldNode {
    list: bool,
    open: bool,
    children: BTreeMap<String, FieldNode>,
}

static TREE: LazyLock<FieldNode> = LazyLock::new(|| {
    let mut root = FieldNode::default();
    for line in include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/finding-fields.txt"
    ))
    .lines()
    {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut node = &mut root;
        for part in line.split('.') {
            if part == "*" {
                node.open = true;
                break;
            }
            let (name, list) = match part.strip_suffix("[]") {
                Some(n) => (n, true),
                None => (part, false),
            };
            node = node.children.entry(name.to_string()).or_default();
            node.list |= list;
        }
    }
    root
});

/// `Ok(())` when the path below `finding` names a known field (or lies under a free-form one);
/// otherwise the first unknown segment and the names that would have been valid there.
pub fn finding_field_known(segs: &[Seg]) -> Result<(), (String, Vec<String>)> {
    let mut node: &FieldNode = &TREE;
    let mut indexed = false;
    for seg in segs {
        if node.open {
            return Ok(());
        }
        match seg {
            Seg::Index(_) if node.list && !indexed => indexed = true,
            Seg::Index(i) => return Err((format!("[{i}]"), Vec::new())),
            Seg::Field(name) => {
                // A list may be read through without an index only by functions such as
                // `length`; a field below it needs an index first.
                if node.list && !indexed {
                    return Err((name.clone(), vec!["[0]".to_string()]));
                }
                match node.children.get(name) {
                    Some(child) => {
                        node = child;
                        indexed = false;
                    }
                    None => return Err((name.clone(), node.children.keys().cloned().collect())),
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(path: &str) -> Vec<Seg> {
        path.split('.')
            .flat_map(|p| match p.strip_suffix("[0]") {
                Some(n) => vec![Seg::Field(n.into()), Seg::Index(0)],
                None => vec![Seg::Field(p.into())],
            })
            .collect()
    }

    #[test]
    fn known_and_unknown() {
        assert!(finding_field_known(&segs("resource.accessKeyDetails.accessKeyId")).is_ok());
        assert!(finding_field_known(&segs("resource.s3BucketDetails[0].name")).is_ok());
        assert!(finding_field_known(&segs("service.additionalInfo.anything.at.all")).is_ok());
        let (bad, options) = finding_field_known(&segs("resource.acessKeyDetails")).unwrap_err();
        assert_eq!(bad, "acessKeyDetails");
        assert!(options.contains(&"accessKeyDetails".to_string()));
        assert!(finding_field_known(&segs("resource.s3BucketDetails.name")).is_err());
    }
}
