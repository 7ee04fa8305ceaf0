//! firebreak's configuration file (`firebreak.yaml`, `--config FILE` or `FIREBREAK_CONFIG`):
//! where incidents are ticketed. Read with the playbooks' YAML reader, so that every problem is
//! reported at once with file:line:column, a code and a hint. Secrets never live here: a
//! tracker's token comes from the environment (see `crate::tickets`).

use crate::domain::diag::{Code, Diagnostic};
use crate::domain::yaml::{self, Node, Pos, Value};

/// The configuration; an absent file is the default (no tickets).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    pub tickets: Tickets,
}

/// The trackers incidents are written to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tickets {
    pub github: Option<GitHub>,
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

/// The label every firebreak ticket carries.
pub const LABEL: &str = "firebreak";

/// Parses a configuration text; `file` names it in diagnostics.
pub fn parse(src: &str, file: &str) -> Result<Config, Vec<Diagnostic>> {
    let root = yaml::parse(src).map_err(|e| {
        let mut d = Diagnostic::error(Code::YamlSyntax, file, e.pos, e.message);
        d.hint = e.hint.map(str::to_string);
        vec![d]
    })?;
    let mut r = Reader {
        file,
        diags: Vec::new(),
    };
    let mut config = Config::default();
    if root.value != Value::Null {
        for (key, node) in r.map(&root, "the configuration", &["tickets"]) {
            if key == "tickets" {
                config.tickets = r.tickets(node);
            }
        }
    }
    if r.diags.is_empty() {
        Ok(config)
    } else {
        crate::domain::diag::sort(&mut r.diags);
        Err(r.diags)
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

    fn tickets(&mut self, node: &Node) -> Tickets {
        let mut t = Tickets::default();
        for (key, node) in self.map(node, "`tickets`", &["github"]) {
            if key == "github" {
                t.github = self.github(node);
            }
        }
        t
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
        assert_eq!(parse("", "f.yaml").unwrap(), Config::default());
    }

    #[test]
    fn every_problem_is_reported_with_its_place() {
        let errs = parse(
            "tickets:\n  github:\n    repo: not a repo\n    token: x\n  jira: {}\n",
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
