//! What the trackers' HTTP clients share: a base address the token may be sent to, secrets that
//! never print, and writes made one at a time and retried — a rate limit (429, or 403 with
//! `Retry-After` or an exhausted quota, as GitHub's secondary limits answer) waited out as the
//! tracker says, 5xx answers, timeouts and dropped connections by the tracker's
//! [`RetryPolicy`].

use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use serde_json::Value;

use super::TicketError;
use crate::domain::retry::{ErrorClass, RetryPolicy};

/// A secret that never prints.
pub(super) struct Token(pub(super) String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The longest `Retry-After` waited out in one go (a longer one counts as a failed try).
const MAX_WAIT: Duration = Duration::from_secs(120);

/// `base` (from the environment variable `var`) as a URL ending in `/`, if a token may be sent
/// there: https, or plain http to this machine (a local test server).
pub(super) fn base_url(var: &str, base: &str) -> Result<Url, TicketError> {
    let mut api = Url::parse(base).map_err(|e| {
        TicketError::Config(format!(
            "{var} `{base}` is not a URL: {e}\n  hint: the tracker's https address"
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
            "{var} `{base}` is not https: the token would cross the network in the clear\n  hint: use the https address of the API"
        )));
    }
    if !api.path().ends_with('/') {
        let path = format!("{}/", api.path());
        api.set_path(&path);
    }
    Ok(api)
}

/// Sends a tracker's writes.
#[derive(Debug)]
pub(super) struct Writer {
    http: reqwest::Client,
    /// Writes go one at a time.
    writes: tokio::sync::Mutex<()>,
    policy: RetryPolicy,
    tracker: &'static str,
}

impl Writer {
    pub(super) fn new(tracker: &'static str) -> Result<Writer, TicketError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("firebreak/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| TicketError::Config(format!("no HTTP client: {e}")))?;
        Ok(Writer {
            http,
            writes: tokio::sync::Mutex::new(()),
            policy: RetryPolicy::tracker(),
            tracker,
        })
    }

    /// One write (`auth` adds the credentials and the tracker's headers), retried while the
    /// tracker says to wait or fails transiently; its JSON answer (null when empty).
    pub(super) async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<Value>,
        auth: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<Value, TicketError> {
        let path = url.path().to_string();
        let _one_at_a_time = self.writes.lock().await;
        let mut attempt = 1;
        loop {
            let mut request = auth(self.http.request(method.clone(), url.clone()));
            if let Some(b) = &body {
                request = request.json(b);
            }
            let (class, wait, error) = match request.send().await {
                Ok(r) if r.status().is_success() => {
                    let text = r.text().await.unwrap_or_default();
                    if text.trim().is_empty() {
                        return Ok(Value::Null);
                    }
                    return serde_json::from_str(&text).map_err(|e| {
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
                    let message = message_of(&text);
                    let limited = status == StatusCode::TOO_MANY_REQUESTS
                        || status == StatusCode::FORBIDDEN
                            && (retry_after.is_some()
                                || exhausted
                                || message.contains("rate limit"));
                    let error = format!("{method} {path}: HTTP {}: {message}", status.as_u16());
                    if limited {
                        // Wait Retry-After; else until the reset time when none remain; else
                        // at least a minute (GitHub's advice for its secondary limits).
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
            tracing::warn!(tracker = self.tracker, %error, retry_in_ms = delay.as_millis() as u64, "ticket write failed; retrying");
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }
}

/// A tracker's error message: GitHub's `message`, Jira's `errorMessages` and `errors`, Slack's
/// `error`, else the text in brief.
fn message_of(text: &str) -> String {
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return crate::domain::render::brief(text);
    };
    if let Some(m) = v["message"].as_str() {
        return m.to_string();
    }
    let mut parts: Vec<String> = v["errorMessages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m.as_str().map(str::to_string))
        .collect();
    if let Some(errors) = v["errors"].as_object() {
        parts.extend(
            errors
                .iter()
                .map(|(k, m)| format!("{k}: {}", m.as_str().unwrap_or_default())),
        );
    }
    if let Some(e) = v["error"].as_str() {
        parts.push(e.to_string());
    }
    if parts.is_empty() {
        crate::domain::render::brief(text)
    } else {
        parts.join("; ")
    }
}
