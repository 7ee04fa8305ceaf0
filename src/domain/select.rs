//! `Finding` × playbooks → the playbook that handles the finding, and why every other one did not.
//! Precedence is deterministic: highest `priority`, then the most specific matching type pattern
//! (most literal characters), then the name in alphabetical order.

use serde::Serialize;

use crate::domain::expr::wildcard_match;
use crate::domain::finding::Finding;
use crate::domain::playbook::Playbook;

/// What happened to one playbook for one finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Chosen; `because` lists what matched.
    Selected { because: Vec<String> },
    /// Matched, but another playbook took precedence.
    Outranked { by: String, reason: String },
    /// Did not match; `reason` says which condition failed.
    NotMatched { reason: String },
    /// Matched, but the resource carries the playbook's exemption tag.
    Exempt { tag: String },
}

#[derive(Debug, Clone, Serialize)]
pub struct Candidate<'a> {
    #[serde(rename = "playbook", serialize_with = "ser_name")]
    pub playbook: &'a Playbook,
    #[serde(flatten)]
    pub verdict: Verdict,
}

fn ser_name<S: serde::Serializer>(p: &&Playbook, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&p.name)
}

/// The outcome of selection for one finding. No playbook is a normal outcome.
#[derive(Debug, Clone)]
pub struct Selection<'a> {
    pub winner: Option<&'a Playbook>,
    /// Every playbook, the winner first, then in precedence order, then the rest by name.
    pub candidates: Vec<Candidate<'a>>,
}

struct Matched<'a> {
    playbook: &'a Playbook,
    specificity: usize,
    because: Vec<String>,
}

/// Chooses the playbook for `finding`.
pub fn select<'a>(finding: &Finding, playbooks: &'a [Playbook]) -> Selection<'a> {
    let mut matched = Vec::new();
    let mut others = Vec::new();
    let tags = finding.resource_tags();
    for pb in playbooks {
        match check(finding, pb, &tags) {
            Ok(m) => matched.push(m),
            Err(verdict) => others.push(Candidate {
                playbook: pb,
                verdict,
            }),
        }
    }
    matched.sort_by(|a, b| {
        b.playbook
            .priority
            .cmp(&a.playbook.priority)
            .then(b.specificity.cmp(&a.specificity))
            .then(a.playbook.name.cmp(&b.playbook.name))
    });
    let mut candidates = Vec::new();
    let winner = matched.first().map(|m| m.playbook);
    if let Some(first) = matched.first() {
        let w = first.playbook;
        for m in &matched {
            let verdict = if std::ptr::eq(m.playbook, w) {
                Verdict::Selected {
                    because: m.because.clone(),
                }
            } else {
                let reason = if m.playbook.priority < w.priority {
                    format!("priority {} is below {}", m.playbook.priority, w.priority)
                } else if m.specificity < first.specificity {
                    format!(
                        "same priority; its type pattern is less specific ({} literal characters against {})",
                        m.specificity, first.specificity
                    )
                } else {
                    "same priority and specificity; names are ordered alphabetically".to_string()
                };
                Verdict::Outranked {
                    by: w.name.clone(),
                    reason,
                }
            };
            candidates.push(Candidate {
                playbook: m.playbook,
                verdict,
            });
        }
    }
    others.sort_by(|a, b| a.playbook.name.cmp(&b.playbook.name));
    candidates.extend(others);
    Selection { winner, candidates }
}

fn check<'a>(
    f: &Finding,
    pb: &'a Playbook,
    tags: &[(String, String)],
) -> Result<Matched<'a>, Verdict> {
    let (mut because, specificity) = matches(f, &pb.matcher, tags)?;
    because.push(format!("priority {}", pb.priority));
    Ok(Matched {
        playbook: pb,
        specificity,
        because,
    })
}

/// Whether `f` (with its resource's `tags`) fits `m`: what matched and how specific the type
/// pattern is, or why not. Playbooks and triage rules match alike.
pub fn matches(
    f: &Finding,
    m: &crate::domain::playbook::Match,
    tags: &[(String, String)],
) -> Result<(Vec<String>, usize), Verdict> {
    let not = |reason: String| Verdict::NotMatched { reason };
    let Some(pattern) = m
        .types
        .iter()
        .filter(|p| wildcard_match(&p.value, &f.type_name))
        .max_by_key(|p| literal_len(&p.value))
    else {
        let pats: Vec<&str> = m.types.iter().map(|t| t.value.as_str()).collect();
        return Err(not(format!(
            "type {} matches none of {}",
            f.type_name,
            pats.join(", ")
        )));
    };
    let mut because = vec![format!("type matches `{}`", pattern.value)];
    if !m.resource_types.is_empty() {
        if !m.resource_types.contains(&f.resource_type) {
            return Err(not(format!(
                "resource type {} is not one of {}",
                f.resource_type,
                m.resource_types.join(", ")
            )));
        }
        because.push(format!("resource type {}", f.resource_type));
    }
    if f.severity < m.severity_min || f.severity > m.severity_max {
        return Err(not(format!(
            "severity {} is outside {}-{}",
            f.severity, m.severity_min, m.severity_max
        )));
    }
    m.accounts
        .check(&f.account_id)
        .map_err(|e| not(format!("account {e}")))?;
    m.regions
        .check(&f.region)
        .map_err(|e| not(format!("region {e}")))?;
    if let Some(tag) = &m.exempt_tag
        && tag.matches(tags)
    {
        return Err(Verdict::Exempt {
            tag: tag.to_string(),
        });
    }
    Ok((because, literal_len(&pattern.value)))
}

fn literal_len(pattern: &str) -> usize {
    pattern.chars().filter(|c| *c != '*' && *c != '?').count()
}
