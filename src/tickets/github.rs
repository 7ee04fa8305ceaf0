//! GitHub Issues as the ticket tracker (REST API version 2022-11-28): an issue per incident,
//! labelled `firebreak`, comments as it progresses, closed and reopened by firebreak.
//!
//! The token is `GITHUB_TOKEN` and the API base `GITHUB_API_URL` (default
//! `https://api.github.com`), as GitHub's own tools read them, so GitHub Enterprise Server
//! works. The token is sent only over https (or to a loopback address, where a local test
//! server listens) and never appears in a message. Writes are sent one at a time, as GitHub
//! asks of integrations; a secondary rate limit (403 or 429) is waited out as its `Retry-After`
//! says, and 5xx answers and dropped connections are retried, by the tracker's
//! [`RetryPolicy`].

use reqwest::{Method, Url};
use serde_json::{Value, json};

use super::{TicketError, TicketRef};
use crate::domain::config;

use super::http::Token;

/// A repository's issues.
#[derive(Debug)]
pub struct GitHub {
    http: super::http::Writer,
    api: Url,
    token: Token,
    /// `OWNER/NAME`.
    repo: String,
    labels: Vec<String>,
    assignees: Vec<String>,
}

impl GitHub {
    /// The tracker `c` configures, with its token from `secret` (`tickets.token_secret`) or
    /// the environment, and its API base from the environment.
    pub fn from_env(
        c: &config::GitHub,
        secret: Option<&super::Secret>,
    ) -> Result<GitHub, TicketError> {
        let token = secret
            .map(|s| s.token.clone())
            .or_else(|| std::env::var("GITHUB_TOKEN").ok())
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| {
                TicketError::Config(
                    "tickets.github is configured but GITHUB_TOKEN is not set\n  hint: export a token that may write the repository's issues (a fine-grained token with Issues: read and write), or name the AWS Secrets Manager secret holding it in tickets.token_secret".into(),
                )
            })?;
        let base = std::env::var("GITHUB_API_URL")
            .ok()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| "https://api.github.com".into());
        Self::new(c, &base, token)
    }

    fn new(c: &config::GitHub, base: &str, token: String) -> Result<GitHub, TicketError> {
        let api = super::http::base_url("GITHUB_API_URL", base)?;
        Ok(GitHub {
            http: super::http::Writer::new("github")?,
            api,
            token: Token(token),
            repo: c.repo.clone(),
            labels: c.labels.clone(),
            assignees: c.assignees.clone(),
        })
    }

    /// Opens an issue assigned to `assignees` (the configured ones when empty); returns its
    /// number and address.
    pub async fn open(
        &self,
        title: &str,
        body: &str,
        assignees: &[String],
    ) -> Result<TicketRef, TicketError> {
        let labels = config::labels(&self.labels);
        let mut req = json!({"title": title, "body": body, "labels": labels});
        let assignees = if assignees.is_empty() {
            &self.assignees
        } else {
            assignees
        };
        if !assignees.is_empty() {
            req["assignees"] = json!(assignees);
        }
        let issue = self
            .send(Method::POST, &format!("repos/{}/issues", self.repo), req)
            .await?;
        let number = issue["number"].as_u64().ok_or_else(|| {
            TicketError::Tracker("GitHub answered the new issue without its number".into())
        })?;
        Ok(TicketRef {
            tracker: "github".into(),
            project: self.repo.clone(),
            id: number.to_string(),
            url: issue["html_url"].as_str().unwrap_or_default().to_string(),
            title: None,
        })
    }

    /// Adds a comment to issue `number`.
    pub async fn comment(&self, number: &str, body: &str) -> Result<(), TicketError> {
        let path = format!("repos/{}/issues/{}/comments", self.repo, number);
        self.send(Method::POST, &path, json!({"body": body}))
            .await
            .map(drop)
    }

    /// Closes issue `number` as completed, or reopens it.
    pub async fn set_open(&self, number: &str, open: bool) -> Result<(), TicketError> {
        let path = format!("repos/{}/issues/{}", self.repo, number);
        let body = if open {
            json!({"state": "open"})
        } else {
            json!({"state": "closed", "state_reason": "completed"})
        };
        self.send(Method::PATCH, &path, body).await.map(drop)
    }

    /// One write, retried while GitHub says to wait or fails transiently.
    async fn send(&self, method: Method, path: &str, body: Value) -> Result<Value, TicketError> {
        let url = self
            .api
            .join(path)
            .map_err(|e| TicketError::Config(format!("{path}: {e}")))?;
        self.http
            .send(method, url, Some(body), |r| {
                r.bearer_auth(&self.token.0)
                    .header("Accept", "application/vnd.github+json")
                    .header("X-GitHub-Api-Version", "2022-11-28")
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> config::GitHub {
        config::GitHub {
            repo: "acme/incidents".into(),
            labels: vec![],
            assignees: vec![],
        }
    }

    #[test]
    fn the_token_goes_only_over_https_or_to_this_machine() {
        for ok in [
            "https://api.github.com",
            "http://127.0.0.1:9000",
            "http://localhost:1/api/v3",
        ] {
            assert!(GitHub::new(&cfg(), ok, "t".into()).is_ok(), "{ok}");
        }
        let e = GitHub::new(&cfg(), "http://github.example.com", "secret-token".into())
            .unwrap_err()
            .to_string();
        assert!(e.contains("not https"), "{e}");
        assert!(!e.contains("secret-token"));
        let g = GitHub::new(
            &cfg(),
            "https://ghe.example.com/api/v3",
            "secret-token".into(),
        )
        .unwrap();
        assert_eq!(g.api.as_str(), "https://ghe.example.com/api/v3/");
        assert!(!format!("{g:?}").contains("secret-token"));
    }
}
