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

use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use serde_json::{Value, json};

use super::{TicketError, TicketRef};
use crate::domain::config;
use crate::domain::retry::{ErrorClass, RetryPolicy};

/// A secret that never prints.
struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A repository's issues.
#[derive(Debug)]
pub struct GitHub {
    http: reqwest::Client,
    api: Url,
    token: Token,
    /// `OWNER/NAME`.
    repo: String,
    labels: Vec<String>,
    assignees: Vec<String>,
    /// Writes go one at a time.
    writes: tokio::sync::Mutex<()>,
    policy: RetryPolicy,
}

/// The longest `Retry-After` waited out in one go (a longer one counts as a failed try).
const MAX_WAIT: Duration = Duration::from_secs(120);

impl GitHub {
    /// The tracker `c` configures, with its token and API base from the environment.
    pub fn from_env(c: &config::GitHub) -> Result<GitHub, TicketError> {
        let token = std::env::var("GITHUB_TOKEN")
            .ok()
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| {
                TicketError::Config(
                    "tickets.github is configured but GITHUB_TOKEN is not set\n  hint: export a token that may write the repository's issues (a fine-grained token with Issues: read and write)".into(),
                )
            })?;
        let base = std::env::var("GITHUB_API_URL")
            .ok()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| "https://api.github.com".into());
        Self::new(c, &base, token)
    }

    fn new(c: &config::GitHub, base: &str, token: String) -> Result<GitHub, TicketError> {
        let mut api = Url::parse(base).map_err(|e| {
            TicketError::Config(format!(
                "GITHUB_API_URL `{base}` is not a URL: {e}\n  hint: e.g. https://github.example.com/api/v3 for GitHub Enterprise Server"
            ))
        })?;
        let host = api.host_str().unwrap_or_default();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|a| a.is_loopback());
        if api.scheme() != "https" && !(api.scheme() == "http" && loopback) {
            return Err(TicketError::Config(format!(
                "GITHUB_API_URL `{base}` is not https: the token would cross the network in the clear\n  hint: use the https address of the API"
            )));
        }
        if !api.path().ends_with('/') {
            let path = format!("{}/", api.path());
            api.set_path(&path);
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("firebreak/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| TicketError::Config(format!("no HTTP client: {e}")))?;
        Ok(GitHub {
            http,
            api,
            token: Token(token),
            repo: c.repo.clone(),
            labels: c.labels.clone(),
            assignees: c.assignees.clone(),
            writes: tokio::sync::Mutex::new(()),
            policy: RetryPolicy::tracker(),
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
        let mut labels = vec![config::LABEL.to_string()];
        labels.extend(self.labels.iter().cloned());
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
        let _one_at_a_time = self.writes.lock().await;
        let mut attempt = 1;
        loop {
            let answer = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(&self.token.0)
                .header("Accept", "application/vnd.github+json")
                .header("X-GitHub-Api-Version", "2022-11-28")
                .json(&body)
                .send()
                .await;
            let (class, wait, error) = match answer {
                Ok(r) if r.status().is_success() => {
                    return r.json::<Value>().await.map_err(|e| {
                        TicketError::Tracker(format!("{method} {path}: unreadable answer: {e}"))
                    });
                }
                Ok(r) => {
                    let status = r.status();
                    let header = |name: &str| {
                        r.headers()
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.trim().parse::<u64>().ok())
                    };
                    let retry_after = header("retry-after").map(Duration::from_secs);
                    let exhausted = header("x-ratelimit-remaining") == Some(0);
                    let reset = header("x-ratelimit-reset");
                    let text = r.text().await.unwrap_or_default();
                    let message = serde_json::from_str::<Value>(&text)
                        .ok()
                        .and_then(|v| v["message"].as_str().map(str::to_string))
                        .unwrap_or_else(|| crate::domain::render::brief(&text));
                    let limited = status == StatusCode::TOO_MANY_REQUESTS
                        || status == StatusCode::FORBIDDEN
                            && (retry_after.is_some()
                                || exhausted
                                || message.contains("rate limit"));
                    let error = format!("{method} {path}: HTTP {}: {message}", status.as_u16());
                    if limited {
                        // GitHub: wait Retry-After; else until the reset time when none
                        // remain; else at least a minute.
                        let wait = retry_after.or_else(|| {
                            let now = std::time::SystemTime::now()
                                .duration_since(std::time::UNIX_EPOCH)
                                .ok()?
                                .as_secs();
                            reset.map(|t| Duration::from_secs(t.saturating_sub(now) + 1))
                        });
                        (
                            ErrorClass::Throttling,
                            Some(wait.unwrap_or(Duration::from_secs(60))),
                            error,
                        )
                    } else if status.is_server_error() {
                        (ErrorClass::Server, None, error)
                    } else {
                        return Err(TicketError::Refused {
                            status: status.as_u16(),
                            message: error,
                        });
                    }
                }
                Err(e) if e.is_timeout() => (
                    ErrorClass::Timeout,
                    None,
                    format!("{method} {path}: timed out"),
                ),
                Err(e) => (
                    ErrorClass::Network,
                    None,
                    format!("{method} {path}: {}", e.without_url()),
                ),
            };
            let wait = wait.unwrap_or_default();
            if !self.policy.should_retry(class, attempt) || wait > MAX_WAIT {
                return Err(TicketError::Tracker(error));
            }
            let delay = self.policy.delay(attempt, fastrand::f64()).max(wait);
            tracing::warn!(tracker = "github", %error, retry_in_ms = delay.as_millis() as u64, "ticket write failed; retrying");
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
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
