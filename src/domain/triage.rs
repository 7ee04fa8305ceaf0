//! Triage as code: which decision a finding gets (respond, ticket, ignore), by the first
//! configured rule that matches it, else by default: `respond` when a playbook matches,
//! `ticket` when none does, so that a finding never ends without a trace.

use serde::Serialize;

use crate::domain::config::{Close, Config, Decision};
use crate::domain::finding::Finding;

/// A finding's triage.
#[derive(Debug, Clone, Serialize)]
pub struct Triage {
    pub decision: Decision,
    pub close: Close,
    /// Why, for a person: the rule's reason, or the default's.
    pub reason: String,
    /// The rule that decided (1-based, with its place), or none for the default.
    pub rule: Option<String>,
    /// What the rule matched on.
    pub because: Vec<String>,
    /// Who the ticket goes to, by the rule.
    pub assign: Vec<String>,
    /// For `ignore`: suppress the finding's type in GuardDuty.
    pub suppress: bool,
}

/// Before any rule: a finding of an account firebreak does not act in (`accounts:`), or about a
/// protected resource, is a ticket for a person, whatever the rules say: firebreak never acts
/// on firebreak itself, the organization's break-glass path, or an account it was not given.
pub fn guarded(config: &Config, f: &Finding) -> Option<Triage> {
    let ticket = |reason: String, rule: &str, because: Vec<String>| Triage {
        decision: Decision::Ticket,
        close: Close::Manual,
        reason,
        rule: Some(rule.to_string()),
        because,
        assign: Vec::new(),
        suppress: false,
    };
    if !config.accounts.is_empty() && !config.accounts.contains(&f.account_id) {
        return Some(ticket(
            format!(
                "account {} is not among the accounts firebreak acts in (`accounts:`); a person checks where the finding came from",
                f.account_id
            ),
            "accounts",
            vec![format!("accountId {}", f.account_id)],
        ));
    }
    let names = f.resource_names();
    let patterns = crate::domain::config::PROTECTED
        .iter()
        .map(|p| (*p).to_string())
        .chain(config.protected.iter().cloned());
    for pattern in patterns {
        if let Some(name) = names
            .iter()
            .find(|n| crate::domain::expr::wildcard_match(&pattern, n))
        {
            return Some(ticket(
                format!(
                    "`{name}` is protected (`{pattern}`): firebreak does not touch it; a person decides"
                ),
                "protected",
                vec![format!("resource {name}")],
            ));
        }
    }
    None
}

/// Triages `f`; `playbook` is the playbook that selection chose for it, if any. A `respond`
/// rule for a finding no playbook handles becomes `ticket` (there is nothing to run).
pub fn decide(config: &Config, f: &Finding, playbook: Option<&str>) -> Triage {
    if let Some(t) = guarded(config, f) {
        return t;
    }
    let file = &config.file;
    let tags = f.resource_tags();
    for (n, rule) in config.triage.iter().enumerate() {
        let Ok((mut because, _)) = crate::domain::select::matches(f, &rule.matcher, &tags) else {
            continue;
        };
        if rule.sample.is_some_and(|s| s != f.sample) {
            continue;
        }
        if !rule.tags.iter().all(|t| t.matches(&tags)) {
            continue;
        }
        because.extend(rule.tags.iter().map(|t| format!("tag {t}")));
        if let Some(s) = rule.sample {
            because.push(format!("sample: {s}"));
        }
        let place = format!(
            "rule {} ({file}:{}:{})",
            n + 1,
            rule.pos.line,
            rule.pos.column
        );
        let mut reason = rule.reason.clone().unwrap_or_default();
        let mut decision = rule.decision;
        if decision == Decision::Respond && playbook.is_none() {
            decision = Decision::Ticket;
            reason = format!(
                "{}no playbook handles it, so a person does",
                if reason.is_empty() {
                    String::new()
                } else {
                    format!("{reason}; ")
                }
            );
        }
        return Triage {
            decision,
            close: if decision == Decision::Respond {
                rule.close
            } else {
                Close::Manual
            },
            reason,
            rule: Some(place),
            because,
            assign: rule.assign.clone(),
            suppress: rule.suppress && decision == Decision::Ignore,
        };
    }
    match playbook {
        Some(p) => Triage {
            decision: Decision::Respond,
            close: Close::OnContainment,
            reason: format!("no rule matches; playbook {p} handles it"),
            rule: None,
            because: Vec::new(),
            assign: Vec::new(),
            suppress: false,
        },
        None => Triage {
            decision: Decision::Ticket,
            close: Close::Manual,
            reason: "no rule or playbook matches: a person decides".into(),
            rule: None,
            because: Vec::new(),
            assign: Vec::new(),
            suppress: false,
        },
    }
}

/// GuardDuty's finding types that no rule and no playbook decides (by their type patterns).
pub fn uncovered(
    config: &Config,
    playbooks: &[crate::domain::playbook::Playbook],
) -> Vec<&'static str> {
    let patterns: Vec<&str> = config
        .triage
        .iter()
        .flat_map(|r| r.matcher.types.iter().map(|t| t.value.as_str()))
        .chain(
            playbooks
                .iter()
                .flat_map(|p| p.matcher.types.iter().map(|t| t.value.as_str())),
        )
        .collect();
    crate::domain::finding::KNOWN_TYPES
        .iter()
        .copied()
        .filter(|t| {
            !patterns
                .iter()
                .any(|p| crate::domain::expr::wildcard_match(p, t))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(kind: &str, severity: f64, sample: bool) -> Finding {
        let text = serde_json::json!({
            "id": "f1", "type": kind, "accountId": "123456789012", "region": "us-east-1",
            "severity": severity, "resource": {"resourceType": "AccessKey",
                "accessKeyDetails": {"userName": "alice", "accessKeyId": "AKIAEXAMPLE"}},
            "service": {"additionalInfo": {"sample": sample}},
        })
        .to_string();
        crate::domain::finding::parse_findings(&text, "f.json")
            .unwrap()
            .remove(0)
    }

    fn shipped() -> Config {
        let text = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/config/firebreak.yaml"
        ));
        crate::domain::config::parse(text, "config/firebreak.yaml").unwrap()
    }

    #[test]
    fn the_first_matching_rule_decides_and_says_where_it_is() {
        let c = shipped();
        let root = finding("Policy:IAMUser/RootCredentialUsage", 2.0, false);
        let t = decide(&c, &root, Some("p"));
        assert_eq!(
            t.decision,
            Decision::Ticket,
            "the rule outranks the playbook"
        );
        assert_eq!(
            t.rule.as_deref(),
            Some("rule 2 (config/firebreak.yaml:14:5)")
        );
        let t = decide(
            &c,
            &finding("Recon:IAMUser/TorIPCaller", 2.0, true),
            Some("p"),
        );
        assert_eq!(
            (t.decision, t.rule.as_deref()),
            (Decision::Ignore, Some("rule 1 (config/firebreak.yaml:7:5)"))
        );
        let t = decide(
            &c,
            &finding("UnauthorizedAccess:IAMUser/TorIPCaller", 5.0, false),
            Some("p"),
        );
        assert_eq!(
            (t.decision, t.close),
            (Decision::Respond, Close::OnContainment)
        );
    }

    #[test]
    fn respond_without_a_playbook_is_a_ticket_and_no_rule_falls_to_the_default() {
        let c = shipped();
        let t = decide(
            &c,
            &finding("UnauthorizedAccess:IAMUser/TorIPCaller", 5.0, false),
            None,
        );
        assert_eq!(t.decision, Decision::Ticket);
        assert!(t.reason.contains("no playbook handles it"), "{}", t.reason);
        let none = Config::default();
        let f = finding("UnauthorizedAccess:IAMUser/TorIPCaller", 5.0, false);
        assert_eq!(decide(&none, &f, Some("p")).decision, Decision::Respond);
        let t = decide(&none, &f, None);
        assert_eq!((t.decision, t.rule), (Decision::Ticket, None));
    }

    #[test]
    fn the_shipped_rules_decide_every_finding_type() {
        assert!(uncovered(&shipped(), &[]).is_empty());
        assert_eq!(
            uncovered(&Config::default(), &[]).len(),
            crate::domain::finding::KNOWN_TYPES.len()
        );
    }

    #[test]
    fn protected_resources_and_other_accounts_are_tickets_whatever_the_rules() {
        let mut c = shipped();
        let with_user = |user: &str| {
            let text = serde_json::json!({
                "id": "f2", "type": "UnauthorizedAccess:IAMUser/TorIPCaller",
                "accountId": "123456789012", "region": "us-east-1", "severity": 5.0,
                "resource": {"resourceType": "AccessKey",
                    "accessKeyDetails": {"userName": user, "userType": "AssumedRole"}},
            })
            .to_string();
            crate::domain::finding::parse_findings(&text, "f.json")
                .unwrap()
                .remove(0)
        };
        // The organization's break-glass role and firebreak's own roles, always.
        for user in [
            "OrganizationAccountAccessRole",
            "firebreak-sfn-iam-credential-compromise",
        ] {
            let t = decide(&c, &with_user(user), Some("p"));
            assert_eq!(
                (t.decision, t.rule.as_deref()),
                (Decision::Ticket, Some("protected")),
                "{user}"
            );
            assert!(t.reason.contains(user), "{}", t.reason);
        }
        assert_eq!(
            decide(&c, &with_user("alice"), Some("p")).decision,
            Decision::Respond
        );
        // A configured pattern.
        c.protected.push("BreakGlass*".into());
        let t = decide(&c, &with_user("BreakGlassAdmin"), Some("p"));
        assert_eq!(t.decision, Decision::Ticket);
        assert!(
            t.reason
                .contains("`BreakGlassAdmin` is protected (`BreakGlass*`)"),
            "{}",
            t.reason
        );
        // An account firebreak was not given.
        c.accounts = vec!["111122223333".into()];
        let t = decide(&c, &with_user("alice"), Some("p"));
        assert_eq!(
            (t.decision, t.rule.as_deref()),
            (Decision::Ticket, Some("accounts"))
        );
        assert!(t.reason.contains("123456789012"), "{}", t.reason);
        c.accounts.push("123456789012".into());
        assert_eq!(
            decide(&c, &with_user("alice"), Some("p")).decision,
            Decision::Respond
        );
    }
}
