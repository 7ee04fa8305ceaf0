//! Jira Cloud as the ticket tracker (REST API v3): an issue per incident in the configured
//! project, labelled `firebreak`, comments as it progresses, closed and reopened through the
//! configured workflow transitions (found by name). Texts are sent as Atlassian Document
//! Format (ADF): a heading per `#` line, a code block per fenced block, a paragraph per other
//! line. Credentials: `JIRA_EMAIL` and `JIRA_API_TOKEN` (basic authentication, as Atlassian
//! documents for API tokens), sent only over https (or to loopback).

use reqwest::{Method, Url};
use serde_json::{Value, json};

use super::http::{Token, Writer};
use super::{TicketError, TicketRef};
use crate::domain::config;

/// A Jira project's issues.
#[derive(Debug)]
pub struct Jira {
    http: Writer,
    site: Url,
    email: String,
    token: Token,
    c: config::Jira,
}

impl Jira {
    /// The tracker `c` configures, with its credentials from the environment.
    pub fn from_env(c: &config::Jira, secret: Option<&super::Secret>) -> Result<Jira, TicketError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let email = secret
            .and_then(|s| s.email.clone())
            .or_else(|| var("JIRA_EMAIL"));
        let token = secret
            .map(|s| s.token.clone())
            .or_else(|| var("JIRA_API_TOKEN"));
        let (Some(email), Some(token)) = (email, token) else {
            return Err(TicketError::Config(
                "tickets.jira is configured but JIRA_EMAIL or JIRA_API_TOKEN is not set\n  hint: export the account's email and an API token (id.atlassian.com → Security → API tokens), or keep {\"email\", \"token\"} in the AWS Secrets Manager secret named by tickets.token_secret".into(),
            ));
        };
        Ok(Jira {
            http: Writer::new("jira")?,
            site: super::http::base_url("tickets.jira.base_url", &c.base_url)?,
            email,
            token: Token(token),
            c: c.clone(),
        })
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, TicketError> {
        let url = self
            .site
            .join(path)
            .map_err(|e| TicketError::Config(format!("{path}: {e}")))?;
        self.http
            .send(method, url, body, |r| {
                r.basic_auth(&self.email, Some(&self.token.0))
                    .header("Accept", "application/json")
            })
            .await
    }

    /// Opens an issue (assigned to the first of `assignees`, a Jira account id, if any).
    pub async fn open(
        &self,
        title: &str,
        body: &str,
        assignees: &[String],
    ) -> Result<TicketRef, TicketError> {
        let labels = config::labels(&self.c.labels);
        let mut fields = json!({
            "project": {"key": self.c.project},
            "issuetype": {"name": self.c.issue_type},
            "summary": title.chars().take(250).collect::<String>(),
            "description": adf(body),
            "labels": labels,
        });
        if let Some(a) = assignees.first() {
            fields["assignee"] = json!({"accountId": a});
        }
        let issue = self
            .send(
                Method::POST,
                "rest/api/3/issue",
                Some(json!({"fields": fields})),
            )
            .await?;
        let key = issue["key"].as_str().ok_or_else(|| {
            TicketError::Tracker("Jira answered the new issue without its key".into())
        })?;
        Ok(TicketRef {
            tracker: "jira".into(),
            project: self.c.project.clone(),
            id: key.to_string(),
            url: self
                .site
                .join(&format!("browse/{key}"))
                .map(|u| u.to_string())
                .unwrap_or_default(),
            title: None,
        })
    }

    /// Adds a comment to issue `key`.
    pub async fn comment(&self, key: &str, body: &str) -> Result<(), TicketError> {
        let path = format!("rest/api/3/issue/{key}/comment");
        self.send(Method::POST, &path, Some(json!({"body": adf(body)})))
            .await
            .map(drop)
    }

    /// Closes (or reopens) issue `key` through the configured transition.
    pub async fn set_open(&self, key: &str, open: bool) -> Result<(), TicketError> {
        let want = if open {
            &self.c.reopen_transition
        } else {
            &self.c.close_transition
        };
        let path = format!("rest/api/3/issue/{key}/transitions");
        let list = self.send(Method::GET, &path, None).await?;
        let id = list["transitions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| {
                t["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(want))
                    || t["to"]["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(want))
            })
            .and_then(|t| t["id"].as_str())
            .ok_or_else(|| TicketError::Refused {
                status: 400,
                message: format!(
                    "issue {key} has no transition `{want}` now; set tickets.jira.{}_transition to one of its workflow's",
                    if open { "reopen" } else { "close" }
                ),
            })?
            .to_string();
        self.send(Method::POST, &path, Some(json!({"transition": {"id": id}})))
            .await
            .map(drop)
    }
}

/// Markdown-ish text as an Atlassian Document Format document.
pub fn adf(text: &str) -> Value {
    let mut content = Vec::new();
    let mut code: Option<Vec<&str>> = None;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            match code.take() {
                Some(lines) => content.push(json!({
                    "type": "codeBlock",
                    "content": [{"type": "text", "text": lines.join("\n")}],
                })),
                None => code = Some(Vec::new()),
            }
            continue;
        }
        if let Some(lines) = code.as_mut() {
            lines.push(line);
            continue;
        }
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with("<!--") {
            continue;
        }
        let level = trimmed.chars().take_while(|c| *c == '#').count();
        if (1..=6).contains(&level) && trimmed[level..].starts_with(' ') {
            content.push(json!({
                "type": "heading",
                "attrs": {"level": level},
                "content": [{"type": "text", "text": trimmed[level..].trim()}],
            }));
        } else {
            content.push(json!({
                "type": "paragraph",
                "content": [{"type": "text", "text": trimmed}],
            }));
        }
    }
    if let Some(lines) = code {
        content.push(json!({
            "type": "codeBlock",
            "content": [{"type": "text", "text": lines.join("\n")}],
        }));
    }
    json!({"type": "doc", "version": 1, "content": content})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_becomes_a_document_of_headings_paragraphs_and_code() {
        let d =
            adf("## What happened\n\nA key leaked.\n```\nfirebreak audit s3://b\n```\n<!-- id -->");
        assert_eq!(d["type"], "doc");
        let c = d["content"].as_array().unwrap();
        assert_eq!(c.len(), 3);
        assert_eq!(c[0]["type"], "heading");
        assert_eq!(c[0]["attrs"]["level"], 2);
        assert_eq!(c[1]["content"][0]["text"], "A key leaked.");
        assert_eq!(c[2]["type"], "codeBlock");
        assert_eq!(c[2]["content"][0]["text"], "firebreak audit s3://b");
    }
}
