//! firebreak's configuration file (`firebreak.yaml`, `--config FILE` or `FIREBREAK_CONFIG`):
//! how each finding is triaged (`triage:`), where incidents are ticketed (`tickets:`) and who
//! owns each account (`owners:`). Read with the playbooks' YAML reader, so that every problem is
//! reported at once with file:line:column, a code and a hint. Secrets never live here: a
//! tracker's token comes from the environment (see `crate::tickets`).

use crate::domain::diag::{Code, Diagnostic};
use crate::domain::yaml::{self, Node, Pos, Value};

/// The configuration; an absent file is the default (no rules, no tickets).
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The file it was read from (for places in messages).
    pub file: String,
    pub tickets: Tickets,
    /// Triage rules, first match wins.
    pub triage: Vec<Rule>,
    /// Who a ticket is assigned to by account id (after a rule's `assign`).
    pub owners: Vec<(String, String)>,
    /// The resource tag that names an owner (`firebreak:owner` by default).
    pub owner_tag: String,
    /// Resources no step touches (names or ARNs, `*` and `?` wildcards), besides
    /// [`PROTECTED`] and firebreak's own (its evidence bucket, queue and identity).
    pub protected: Vec<String>,
    /// The accounts firebreak acts in (`accounts:`); empty: any.
    pub accounts: Vec<String>,
    /// Each account's ExternalId for the responder role (`external_ids:`), instead of the one
    /// `--external-id` gives every account.
    pub external_ids: std::collections::BTreeMap<String, String>,
}

/// Resources always protected: the role an organization's management account reaches members
/// with (its break-glass path), and firebreak's own roles (the responder and the state
/// machines' execution roles).
pub const PROTECTED: &[&str] = &[
    "OrganizationAccountAccessRole",
    "FirebreakResponder",
    "firebreak-sfn-*",
];

/// The tag that names a resource's owner unless `owner_tag` says otherwise.
pub const OWNER_TAG: &str = "firebreak:owner";

/// What is done with a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Contain it with the selected playbook and ticket the incident.
    Respond,
    /// Ticket it for a person; contain nothing.
    Ticket,
    /// Record the decision and its reason in the incident; no containment, no ticket.
    Ignore,
}

impl Decision {
    /// The name a rule writes.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Respond => "respond",
            Decision::Ticket => "ticket",
            Decision::Ignore => "ignore",
        }
    }
}

/// When an incident's ticket closes by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Close {
    /// When every step of its containment succeeded.
    OnContainment,
    /// When the finding is archived in GuardDuty (a person judged it there, or a suppression
    /// rule archived it): `serve` and `watch` look every `--ticket-retry-every`.
    OnArchive,
    /// Never by firebreak: a person closes it.
    Manual,
}

/// One triage rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub pos: Pos,
    /// The same keys as a playbook's `match`.
    pub matcher: crate::domain::playbook::Match,
    /// Tags the resource must carry (`key` or `key=value`), all of them.
    pub tags: Vec<crate::domain::playbook::TagMatch>,
    /// Only sample findings (`true`) or only real ones (`false`).
    pub sample: Option<bool>,
    pub decision: Decision,
    pub close: Close,
    pub reason: Option<String>,
    /// GitHub logins the ticket is assigned to.
    pub assign: Vec<String>,
    /// For `ignore`: a GuardDuty suppression filter is made for each finding type it ignores,
    /// so that GuardDuty archives them as they come.
    pub suppress: bool,
}

/// The trackers incidents are written to.
#[derive(Debug, Clone, PartialEq)]
pub struct Tickets {
    pub github: Option<GitHub>,
    pub jira: Option<Jira>,
    pub slack: Option<Slack>,
    /// Whether a ticket's opening marks the finding NOTIFIED in Security Hub and its closing
    /// archives it in GuardDuty and marks it RESOLVED (default: yes).
    pub resolve_findings: bool,
    /// Whether a new ticket gets the automatic investigation as its first comment (default:
    /// yes).
    pub investigate: bool,
    /// The AWS Secrets Manager secret (name or ARN) that holds the tracker's token, read at
    /// start instead of the environment.
    pub token_secret: Option<String>,
}

impl Default for Tickets {
    fn default() -> Self {
        Tickets {
            github: None,
            jira: None,
            slack: None,
            resolve_findings: true,
            investigate: true,
            token_secret: None,
        }
    }
}

/// GitHub Issues (`tickets.github`).
#[derive(Debug, Clone, PartialEq)]
pub struct GitHub {
    /// `OWNER/NAME`.
    pub repo: String,
    /// Labels on every ticket besides `firebreak`.
    pub labels: Vec<String>,
    /// Who every ticket is assigned to (GitHub logins).
    pub assignees: Vec<String>,
}

/// Jira Cloud (`tickets.jira`, REST API v3).
#[derive(Debug, Clone, PartialEq)]
pub struct Jira {
    /// `https://SITE.atlassian.net`.
    pub base_url: String,
    /// The project key (`SEC`).
    pub project: String,
    /// The issue type of a ticket (default `Task`).
    pub issue_type: String,
    /// The transition that closes a ticket (default `Done`) and the one that reopens it
    /// (default `To Do`), by name.
    pub close_transition: String,
    pub reopen_transition: String,
    pub labels: Vec<String>,
}

impl Tickets {
    /// Whether a tracker is configured.
    pub fn any(&self) -> bool {
        self.github.is_some() || self.jira.is_some() || self.slack.is_some()
    }
}

/// Slack (`tickets.slack`): one message per incident in a channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Slack {
    /// The channel's id (`C0123456789`) or name.
    pub channel: String,
}

/// The label every firebreak ticket carries.
pub const LABEL: &str = "firebreak";

/// A ticket's labels: [`LABEL`], then the configured ones.
pub fn labels(extra: &[String]) -> Vec<String> {
    std::iter::once(LABEL.to_string())
        .chain(extra.iter().cloned())
        .collect()
}

/// Parses a configuration text; `file` names it in diagnostics. Warnings (a rule's type
/// pattern no GuardDuty type matches) do not fail it; `check` returns them.
pub fn parse(src: &str, file: &str) -> Result<Config, Vec<Diagnostic>> {
    let (config, diags) = check(src, file);
    match config {
        Some(c) => Ok(c),
        None => Err(diags.into_iter().filter(Diagnostic::is_error).collect()),
    }
}

/// Parses a configuration text: the configuration (none when there is an error) and every
/// diagnostic, warnings included, sorted by place.
pub fn check(src: &str, file: &str) -> (Option<Config>, Vec<Diagnostic>) {
    match read(src, file) {
        Ok(c) => {
            let mut w = c.1;
            crate::domain::diag::sort(&mut w);
            (Some(c.0), w)
        }
        Err(d) => (None, d),
    }
}

fn read(src: &str, file: &str) -> Result<(Config, Vec<Diagnostic>), Vec<Diagnostic>> {
    let root = yaml::parse(src).map_err(|e| {
        let mut d = Diagnostic::error(Code::YamlSyntax, file, e.pos, e.message);
        d.hint = e.hint.map(str::to_string);
        vec![d]
    })?;
    let mut r = Reader {
        file,
        diags: Vec::new(),
    };
    let mut config = Config {
        file: file.to_string(),
        owner_tag: OWNER_TAG.into(),
        ..Config::default()
    };
    if root.value != Value::Null {
        for (key, node) in r.map(
            &root,
            "the configuration",
            &[
                "tickets",
                "triage",
                "owners",
                "owner_tag",
                "protected",
                "accounts",
                "external_ids",
            ],
        ) {
            match key {
                "tickets" => config.tickets = r.tickets(node),
                "triage" => config.triage = r.rules(node),
                "owners" => config.owners = r.owners(node),
                "external_ids" => {
                    config.external_ids = r
                        .by_account(
                            node,
                            "external_ids",
                            "the responder role's ExternalId there",
                        )
                        .into_iter()
                        .collect()
                }
                "protected" => config.protected = r.texts(node, "a protected resource"),
                "accounts" => config.accounts = r.accounts(node),
                _ => {
                    if let Some(t) = r.text(node, "`owner_tag`") {
                        config.owner_tag = t;
                    }
                }
            }
        }
    }
    if r.diags.iter().any(Diagnostic::is_error) {
        crate::domain::diag::sort(&mut r.diags);
        Err(r.diags)
    } else {
        Ok((config, r.diags))
    }
}

struct Reader<'a> {
    file: &'a str,
    diags: Vec<Diagnostic>,
}

impl Reader<'_> {
    fn error(&mut self, code: Code, pos: Pos, message: String, hint: &str) {
        self.diags
            .push(Diagnostic::error(code, self.file, pos, message).hint(hint));
    }

    /// The entries of a mapping whose keys are among `known` (each other key is reported).
    fn map<'n>(&mut self, node: &'n Node, what: &str, known: &[&str]) -> Vec<(&'n str, &'n Node)> {
        let Value::Map(entries) = &node.value else {
            self.error(
                Code::WrongType,
                node.pos,
                format!("{what} must be a mapping, not {}", node.kind()),
                "write `key: value` pairs, indented under it",
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in entries {
            if known.contains(&k.text.as_str()) {
                out.push((k.text.as_str(), v));
            } else {
                self.error(
                    Code::UnknownKey,
                    k.pos,
                    format!("unknown key `{}` in {what}", k.text),
                    &format!("the keys here are: {}", known.join(", ")),
                );
            }
        }
        out
    }

    fn text(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.value {
            Value::Str { text, .. } if !text.trim().is_empty() => Some(text.clone()),
            _ => {
                self.error(
                    Code::WrongType,
                    node.pos,
                    format!("{what} must be a non-empty string, not {}", node.kind()),
                    "quote it if it looks like a number or a boolean",
                );
                None
            }
        }
    }

    fn texts(&mut self, node: &Node, what: &str) -> Vec<String> {
        match &node.value {
            Value::Seq(items) => items.iter().filter_map(|i| self.text(i, what)).collect(),
            _ => self.text(node, what).into_iter().collect(),
        }
    }

    fn rules(&mut self, node: &Node) -> Vec<Rule> {
        let Value::Seq(items) = &node.value else {
            self.error(
                Code::WrongType,
                node.pos,
                format!("`triage` must be a list of rules, not {}", node.kind()),
                "start each rule with `- match:`",
            );
            return Vec::new();
        };
        items.iter().filter_map(|i| self.rule(i)).collect()
    }

    fn rule(&mut self, node: &Node) -> Option<Rule> {
        let (mut matcher, mut tags, mut sample, mut decision) = (None, Vec::new(), None, None);
        let (mut close, mut reason, mut assign) = (None, None, Vec::new());
        let mut suppress = false;
        let (mut has_match, mut has_decision) = (false, false);
        for (key, v) in self.map(
            node,
            "a triage rule",
            &[
                "match", "tags", "sample", "decision", "close", "reason", "assign", "suppress",
            ],
        ) {
            match key {
                "match" => {
                    has_match = true;
                    let (m, diags) = crate::domain::playbook::parse_match(v, self.file);
                    self.diags.extend(diags);
                    matcher = m;
                }
                "tags" => {
                    tags = self
                        .texts(v, "a tag")
                        .into_iter()
                        .map(|t| match t.split_once('=') {
                            Some((k, val)) => crate::domain::playbook::TagMatch {
                                key: k.into(),
                                value: Some(val.into()),
                            },
                            None => crate::domain::playbook::TagMatch {
                                key: t,
                                value: None,
                            },
                        })
                        .collect();
                }
                "sample" => match v.value {
                    Value::Bool(b) => sample = Some(b),
                    _ => self.error(
                        Code::WrongType,
                        v.pos,
                        format!("`sample` must be true or false, not {}", v.kind()),
                        "true: only GuardDuty's sample findings; false: only real ones",
                    ),
                },
                "decision" => {
                    has_decision = true;
                    decision = match self.text(v, "`decision`").as_deref() {
                        Some("respond") => Some(Decision::Respond),
                        Some("ticket") => Some(Decision::Ticket),
                        Some("ignore") => Some(Decision::Ignore),
                        Some(other) => {
                            self.error(
                                Code::InvalidValue,
                                v.pos,
                                format!("`decision` is `{other}`"),
                                "one of: respond, ticket, ignore",
                            );
                            None
                        }
                        None => None,
                    }
                }
                "close" => {
                    close = match self.text(v, "`close`").as_deref() {
                        Some("on_containment") => Some(Close::OnContainment),
                        Some("manual") => Some(Close::Manual),
                        Some("on_archive") => Some(Close::OnArchive),
                        Some(other) => {
                            self.error(
                                Code::InvalidValue,
                                v.pos,
                                format!("`close` is `{other}`"),
                                "one of: on_containment, on_archive, manual",
                            );
                            None
                        }
                        None => None,
                    }
                }
                "reason" => reason = self.text(v, "`reason`"),
                "assign" => assign = self.texts(v, "an assignee"),
                _ => match v.value {
                    Value::Bool(b) => suppress = b,
                    _ => self.error(
                        Code::WrongType,
                        v.pos,
                        format!("`suppress` must be true or false, not {}", v.kind()),
                        "true: GuardDuty archives the findings this rule ignores as they come",
                    ),
                },
            }
        }
        let Some(decision) = decision else {
            if has_decision {
                return None;
            }
            self.error(
                Code::MissingField,
                node.pos,
                "the rule has no `decision`".into(),
                "add `decision: respond`, `ticket` or `ignore`",
            );
            return None;
        };
        if !has_match {
            self.error(
                Code::MissingField,
                node.pos,
                "the rule has no `match`".into(),
                "add `match: {types: [\"Recon:*\"]}` (the keys of a playbook's match)",
            );
        }
        if suppress && decision != Decision::Ignore {
            self.error(
                Code::InvalidValue,
                node.pos,
                "`suppress: true` on a rule that does not ignore".into(),
                "only an `ignore` rule can suppress: GuardDuty then archives what it ignores",
            );
        }
        if decision == Decision::Ignore && reason.is_none() {
            self.error(
                Code::MissingField,
                node.pos,
                "an `ignore` rule has no `reason`".into(),
                "say why these findings need nobody: the reason is kept in each incident",
            );
        }
        Some(Rule {
            pos: node.pos,
            matcher: matcher?,
            tags,
            sample,
            decision,
            close: close.unwrap_or(match decision {
                Decision::Respond => Close::OnContainment,
                _ => Close::Manual,
            }),
            reason,
            assign,
            suppress,
        })
    }

    fn accounts(&mut self, node: &Node) -> Vec<String> {
        let Value::Seq(items) = &node.value else {
            self.error(
                Code::WrongType,
                node.pos,
                format!("`accounts` must be a list, not {}", node.kind()),
                "list the account ids firebreak acts in: `- '123456789012'`",
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items {
            let Some(id) = self.text(item, "an account id") else {
                continue;
            };
            if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) {
                out.push(id);
            } else {
                self.error(
                    Code::InvalidValue,
                    item.pos,
                    format!("`{id}` is not a 12-digit AWS account id"),
                    "quote account ids so YAML keeps leading zeros: '012345678901'",
                );
            }
        }
        out
    }

    fn owners(&mut self, node: &Node) -> Vec<(String, String)> {
        self.by_account(node, "owners", "an owner")
    }

    /// A mapping of 12-digit account ids to texts (`owners:`, `external_ids:`).
    fn by_account(&mut self, node: &Node, key: &str, what: &str) -> Vec<(String, String)> {
        let Value::Map(entries) = &node.value else {
            self.error(
                Code::WrongType,
                node.pos,
                format!("`{key}` must be a mapping, not {}", node.kind()),
                &format!("write `'123456789012': …` ({what}), one line per account"),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in entries {
            if !(k.text.len() == 12 && k.text.bytes().all(|b| b.is_ascii_digit())) {
                self.error(
                    Code::InvalidValue,
                    k.pos,
                    format!("`{}` is not a 12-digit AWS account id", k.text),
                    "quote account ids so YAML keeps leading zeros: '012345678901'",
                );
                continue;
            }
            if let Some(text) = self.text(v, what) {
                out.push((k.text.clone(), text));
            }
        }
        out
    }

    fn tickets(&mut self, node: &Node) -> Tickets {
        let mut t = Tickets::default();
        for (key, node) in self.map(
            node,
            "`tickets`",
            &[
                "github",
                "jira",
                "slack",
                "resolve_findings",
                "investigate",
                "token_secret",
            ],
        ) {
            if key == "token_secret" {
                t.token_secret = self.text(node, "`token_secret`");
                continue;
            }
            if key == "slack" {
                let mut channel = None;
                for (k, v) in self.map(node, "`tickets.slack`", &["channel"]) {
                    if k == "channel" {
                        channel = self.text(v, "`channel`");
                    }
                }
                if channel.is_none() {
                    self.error(
                        Code::MissingField,
                        node.pos,
                        "`tickets.slack` has no `channel`".into(),
                        "add `channel: C0123456789` (the channel's id; the bot must be in it)",
                    );
                }
                t.slack = channel.map(|channel| Slack { channel });
                continue;
            }
            if key == "github" {
                t.github = self.github(node);
                continue;
            }
            if key == "jira" {
                t.jira = self.jira(node);
                continue;
            }
            let Value::Bool(b) = node.value else {
                self.error(
                    Code::WrongType,
                    node.pos,
                    format!("`{key}` must be true or false, not {}", node.kind()),
                    "resolve_findings: a closed ticket archives its finding; investigate: a new ticket gets CloudTrail's account of the resource",
                );
                continue;
            };
            if key == "resolve_findings" {
                t.resolve_findings = b;
            } else {
                t.investigate = b;
            }
        }
        let trackers = [t.github.is_some(), t.jira.is_some(), t.slack.is_some()];
        if trackers.iter().filter(|x| **x).count() > 1 {
            self.error(
                Code::InvalidValue,
                node.pos,
                "`tickets` names more than one tracker".into(),
                "choose one of github, jira and slack: an incident has one ticket",
            );
        }
        t
    }

    fn jira(&mut self, node: &Node) -> Option<Jira> {
        let mut j = Jira {
            base_url: String::new(),
            project: String::new(),
            issue_type: "Task".into(),
            close_transition: "Done".into(),
            reopen_transition: "To Do".into(),
            labels: Vec::new(),
        };
        let (mut has_url, mut has_project) = (false, false);
        for (key, value) in self.map(
            node,
            "`tickets.jira`",
            &[
                "base_url",
                "project",
                "issue_type",
                "close_transition",
                "reopen_transition",
                "labels",
            ],
        ) {
            if key == "labels" {
                j.labels = self.texts(value, "a label");
                continue;
            }
            let Some(text) = self.text(value, &format!("`{key}`")) else {
                continue;
            };
            match key {
                "base_url" => {
                    has_url = true;
                    if !text.starts_with("https://") && !text.starts_with("http://") {
                        self.error(
                            Code::InvalidValue,
                            value.pos,
                            format!("`base_url` is `{text}`, not a URL"),
                            "your Jira site, e.g. https://acme.atlassian.net",
                        );
                    }
                    j.base_url = text;
                }
                "project" => {
                    has_project = true;
                    j.project = text;
                }
                "issue_type" => j.issue_type = text,
                "close_transition" => j.close_transition = text,
                _ => j.reopen_transition = text,
            }
        }
        for (has, what, hint) in [
            (
                has_url,
                "base_url",
                "add `base_url: https://SITE.atlassian.net`",
            ),
            (
                has_project,
                "project",
                "add `project: KEY`, the project the tickets go to",
            ),
        ] {
            if !has {
                self.error(
                    Code::MissingField,
                    node.pos,
                    format!("`tickets.jira` has no `{what}`"),
                    hint,
                );
            }
        }
        (has_url && has_project).then_some(j)
    }

    fn github(&mut self, node: &Node) -> Option<GitHub> {
        let (mut repo, mut labels, mut assignees) = (None, Vec::new(), Vec::new());
        for (key, value) in self.map(node, "`tickets.github`", &["repo", "labels", "assignees"]) {
            match key {
                "repo" => {
                    repo = self.text(value, "`repo`");
                    let valid = repo.as_deref().is_some_and(|r| {
                        let mut parts = r.split('/');
                        let ok = |p: Option<&str>| {
                            p.is_some_and(|p| {
                                !p.is_empty()
                                    && p.chars()
                                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                            })
                        };
                        ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
                    });
                    if repo.is_some() && !valid {
                        self.error(
                            Code::InvalidValue,
                            value.pos,
                            format!("`repo` is `{}`, not OWNER/NAME", repo.take().unwrap_or_default()),
                            "name the repository as GitHub shows it, e.g. `acme/security-incidents`",
                        );
                    }
                }
                "labels" => labels = self.texts(value, "a label"),
                _ => assignees = self.texts(value, "an assignee"),
            }
        }
        if repo.is_none() && !self.diags.iter().any(|d| d.code == Code::InvalidValue) {
            self.error(
                Code::MissingField,
                node.pos,
                "`tickets.github` has no `repo`".into(),
                "add `repo: OWNER/NAME`, the repository whose issues are the tickets",
            );
        }
        Some(GitHub {
            repo: repo?,
            labels,
            assignees,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_github_tracker() {
        let c = parse(
            "tickets:\n  github:\n    repo: acme/incidents\n    labels: [security]\n    assignees: alice\n",
            "f.yaml",
        )
        .unwrap();
        let g = c.tickets.github.unwrap();
        assert_eq!(g.repo, "acme/incidents");
        assert_eq!(g.labels, ["security"]);
        assert_eq!(g.assignees, ["alice"]);
        let empty = parse("", "f.yaml").unwrap();
        assert!(empty.tickets.github.is_none() && empty.triage.is_empty());
        assert_eq!(empty.owner_tag, OWNER_TAG);
    }

    #[test]
    fn only_an_ignore_rule_can_suppress() {
        let ok = parse(
            "triage:\n  - match: {types: [\"Recon:*\"]}\n    decision: ignore\n    suppress: true\n    reason: noise\n",
            "f.yaml",
        )
        .unwrap();
        assert!(ok.triage[0].suppress);
        let bad = parse(
            "triage:\n  - match: {types: [\"Recon:*\"]}\n    decision: ticket\n    suppress: true\n",
            "f.yaml",
        )
        .unwrap_err();
        assert!(bad[0].to_string().contains("does not ignore"), "{bad:?}");
    }

    #[test]
    fn every_problem_is_reported_with_its_place() {
        let errs = parse(
            "tickets:\n  github:\n    repo: not a repo\n    token: x\n  servicenow: {}\n",
            "f.yaml",
        )
        .unwrap_err();
        let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert!(text[0].starts_with("f.yaml:3:11: error[FB020"), "{text:?}");
        assert!(
            text.iter()
                .any(|t| t.starts_with("f.yaml:4:5: error[FB002")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t.starts_with("f.yaml:5:3: error[FB002")),
            "{text:?}"
        );
        let missing = parse("tickets:\n  github: {labels: [a]}\n", "f.yaml").unwrap_err();
        assert_eq!(missing[0].code, Code::MissingField);
    }
}
