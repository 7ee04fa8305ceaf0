//! Checks across playbooks: unique names, and no two playbooks that would both claim the same
//! finding at the same priority.

use std::collections::BTreeMap;

use super::Playbook;
use crate::domain::diag::{Code, Diagnostic};
use crate::domain::expr::wildcard_match;
use crate::domain::finding::KNOWN_TYPES;

pub fn check_set(playbooks: &[Playbook]) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let mut names: BTreeMap<&str, &Playbook> = BTreeMap::new();
    for pb in playbooks {
        if let Some(first) = names.get(pb.name.as_str()) {
            diags.push(
                Diagnostic::error(
                    Code::DuplicatePlaybookName,
                    &pb.file,
                    pb.pos,
                    format!("playbook name `{}` is also used by {}", pb.name, first.file),
                )
                .hint(
                    "playbook names must be unique: `--playbook NAME` and state machines use them",
                ),
            );
        } else {
            names.insert(&pb.name, pb);
        }
    }
    for (i, a) in playbooks.iter().enumerate() {
        for b in &playbooks[i + 1..] {
            if a.priority != b.priority || a.name == b.name {
                continue;
            }
            let shared = shared_types(a, b);
            if shared.is_empty() || !others_overlap(a, b) {
                continue;
            }
            let more = if shared.len() > 1 {
                format!(" and {} more", shared.len() - 1)
            } else {
                String::new()
            };
            diags.push(
                Diagnostic::error(
                    Code::AmbiguousMatch,
                    &b.file,
                    b.matcher.pos,
                    format!(
                        "playbooks `{}` ({}) and `{}` both match `{}`{more} at priority {}",
                        a.name, a.file, b.name, shared[0], a.priority
                    ),
                )
                .hint("give one a higher `priority`, or narrow `match` (types, resource_types, severity) so they do not overlap"),
            );
        }
    }
    diags
}

/// Known finding types both playbooks match, plus patterns they literally share.
fn shared_types(a: &Playbook, b: &Playbook) -> Vec<String> {
    let matches =
        |pb: &Playbook, t: &str| pb.matcher.types.iter().any(|p| wildcard_match(&p.value, t));
    let mut out: Vec<String> = KNOWN_TYPES
        .iter()
        .filter(|t| matches(a, t) && matches(b, t))
        .map(|t| t.to_string())
        .collect();
    for p in &a.matcher.types {
        if b.matcher.types.iter().any(|q| q.value == p.value) && !out.contains(&p.value) {
            out.push(p.value.clone());
        }
    }
    out
}

/// Whether resource types, severity, accounts and regions leave any finding both could match.
fn others_overlap(a: &Playbook, b: &Playbook) -> bool {
    let (ma, mb) = (&a.matcher, &b.matcher);
    let resources = ma.resource_types.is_empty()
        || mb.resource_types.is_empty()
        || ma
            .resource_types
            .iter()
            .any(|r| mb.resource_types.contains(r));
    let severity = ma.severity_min <= mb.severity_max && mb.severity_min <= ma.severity_max;
    let lists = |x: &super::Filter, y: &super::Filter| {
        x.include.is_empty()
            || y.include.is_empty()
            || x.include.iter().any(|i| y.include.contains(i))
    };
    resources && severity && lists(&ma.accounts, &mb.accounts) && lists(&ma.regions, &mb.regions)
}
