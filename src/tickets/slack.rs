//! Slack as the ticket tracker: one message per incident in the configured channel
//! (`chat.postMessage`), its progress as replies in the message's thread, and the message
//! itself updated (`chat.update`) when the incident closes or reopens. The token is
//! `SLACK_BOT_TOKEN` (a bot token with `chat:write`), the API base `SLACK_API_URL` (default
//! `https://slack.com/api/`); Slack answers an error as `ok: false` with its code, which is a
//! refused write here (a rate limit is a 429 with `Retry-After`, waited out).

use reqwest::{Method, Url};
use serde_json::{Value, json};

use super::http::{Token, Writer};
use super::{TicketError, TicketRef};
use crate::domain::config;

/// A Slack channel's incident messages.
#[derive(Debug)]
pub struct Slack {
    http: Writer,
    api: Url,
    token: Token,
    channel: String,
}

impl Slack {
    /// The tracker `c` configures, with its token and API base from the environment.
    pub fn from_env(
        c: &config::Slack,
        secret: Option<&super::Secret>,
    ) -> Result<Slack, TicketError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let token = secret
            .map(|s| s.token.clone())
            .or_else(|| var("SLACK_BOT_TOKEN"))
            .ok_or_else(|| {
                TicketError::Config(
                    "tickets.slack is configured but SLACK_BOT_TOKEN is not set\n  hint: export the bot token of a Slack app with the chat:write scope, invited to the channel, or name the AWS Secrets Manager secret holding it in tickets.token_secret".into(),
                )
            })?;
        let base = var("SLACK_API_URL").unwrap_or_else(|| "https://slack.com/api/".into());
        Ok(Slack {
            http: Writer::new("slack")?,
            api: super::http::base_url("SLACK_API_URL", &base)?,
            token: Token(token),
            channel: c.channel.clone(),
        })
    }

    /// Calls Web API `method`; Slack's `ok: false` is a refusal.
    async fn call(&self, method: &str, body: Value) -> Result<Value, TicketError> {
        let url = self
            .api
            .join(method)
            .map_err(|e| TicketError::Config(format!("{method}: {e}")))?;
        let answer = self
            .http
            .send(Method::POST, url, Some(body), |r| {
                r.bearer_auth(&self.token.0)
            })
            .await?;
        if answer["ok"] == true {
            Ok(answer)
        } else {
            Err(TicketError::Refused {
                status: 200,
                message: format!("{method}: {}", answer["error"].as_str().unwrap_or("not ok")),
            })
        }
    }

    /// Posts the incident's message; its timestamp is the ticket's id.
    pub async fn open(&self, title: &str, body: &str) -> Result<TicketRef, TicketError> {
        let text = format!("*{}*\n{}", mrkdwn(title), mrkdwn(body));
        let posted = self
            .call(
                "chat.postMessage",
                json!({"channel": self.channel, "text": text, "unfurl_links": false}),
            )
            .await?;
        let ts = posted["ts"].as_str().ok_or_else(|| {
            TicketError::Tracker("Slack answered the message without its ts".into())
        })?;
        let channel = posted["channel"].as_str().unwrap_or(&self.channel);
        Ok(TicketRef {
            tracker: "slack".into(),
            project: channel.to_string(),
            id: ts.to_string(),
            url: format!("slack:{channel}/{ts}"),
            title: Some(title.to_string()),
        })
    }

    /// A reply in the incident's thread.
    pub async fn comment(&self, ts: &str, body: &str) -> Result<(), TicketError> {
        self.call(
            "chat.postMessage",
            json!({"channel": self.channel, "thread_ts": ts, "text": mrkdwn(body)}),
        )
        .await
        .map(drop)
    }

    /// Says in the thread and in the message itself that the incident closed or reopened.
    pub async fn set_open(&self, t: &TicketRef, open: bool) -> Result<(), TicketError> {
        let ts = t.id.as_str();
        let status = if open {
            ":rotating_light: *Reopened*: the finding came back."
        } else {
            ":white_check_mark: *Closed*: contained."
        };
        self.call(
            "chat.postMessage",
            json!({"channel": self.channel, "thread_ts": ts, "text": status, "reply_broadcast": true}),
        )
        .await?;
        self.call(
            "chat.update",
            json!({"channel": self.channel, "ts": ts,
                   "text": format!("{status}\n*{}*\n(firebreak incident: the thread has its story)",
                                   mrkdwn(t.title.as_deref().unwrap_or_default()))}),
        )
        .await
        .map(drop)
    }
}

/// Markdown as Slack's mrkdwn: `**bold**` is `*bold*`, headings are bold lines.
fn mrkdwn(text: &str) -> String {
    text.lines()
        .map(|l| {
            let t = l.trim_start_matches('#');
            let l = if t.len() < l.len() && t.starts_with(' ') {
                format!("*{}*", t.trim())
            } else {
                l.to_string()
            };
            l.replace("**", "*")
        })
        .collect::<Vec<_>>()
        .join("\n")
}
