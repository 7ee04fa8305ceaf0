//! The HTTP webhook, with a Slack-compatible `text` field (SNS publish is defined in the step
//! vocabulary).

use serde_json::json;

use super::{Cx, outputs};
use crate::aws::webhook::{self, Refusal};
use crate::domain::retry::ErrorClass;
use crate::domain::step::{ApiCall, Outcome, StepError};

pub(super) async fn webhook(cx: &Cx<'_>) -> Result<Outcome, StepError> {
    let url = cx.str("url")?;
    let text = cx.str("text")?;
    let parsed = reqwest::Url::parse(url).map_err(|e| {
        StepError::permanent("InvalidParameter", format!("webhook url is not a URL: {e}"))
    })?;
    // https to a public address only, checked before anything is sent (and again, for the
    // address connected to, by the client's resolver). The URL's path and query often hold a
    // token (Slack): only the host is ever named.
    let host = match webhook::check(&parsed).await {
        Ok(host) => host,
        Err(Refusal::Invalid(m)) => return Err(StepError::permanent("InvalidParameter", m)),
        Err(Refusal::Address(m)) => return Err(StepError::permanent("WebhookRefused", m)),
        Err(Refusal::Unresolved(host)) => {
            return Err(StepError::transient(
                ErrorClass::Network,
                "WebhookUnreachable",
                format!("webhook host {host} does not resolve"),
            ));
        }
    };
    let mut out = Outcome::default();
    if cx.dry_run {
        cx.planned("http", "POST");
        out.planned.push(format!("POST a notification to {host}"));
        return Ok(out);
    }
    let body = json!({"text": text, "finding_id": cx.finding_id, "execution_id": cx.execution_id, "source": "firebreak"});
    let result = cx.clients.http.post(parsed).json(&body).send().await;
    let response = match result {
        Ok(r) => r,
        Err(e) => {
            cx.record(ApiCall {
                service: "http".into(),
                operation: "POST".into(),
                request_id: None,
                result: "connection_error".into(),
            });
            let class = if e.is_timeout() {
                ErrorClass::Timeout
            } else {
                ErrorClass::Network
            };
            // reqwest errors name the URL; keep only the host.
            return Err(StepError::transient(
                class,
                "WebhookUnreachable",
                format!("POST to {host} failed"),
            ));
        }
    };
    let status = response.status().as_u16();
    cx.record(ApiCall {
        service: "http".into(),
        operation: "POST".into(),
        request_id: None,
        result: status.to_string(),
    });
    match status {
        200..=299 => {
            out.changed = true;
            out.outputs = outputs([("status", json!(status))]);
            Ok(out)
        }
        429 => Err(StepError::transient(
            ErrorClass::Throttling,
            "HTTP429",
            format!("{host} asked to slow down"),
        )),
        500..=599 => Err(StepError::transient(
            ErrorClass::Server,
            format!("HTTP{status}"),
            format!("{host} answered {status}"),
        )),
        // A redirect is not followed: where it points was not checked, and a receiver that
        // moved must be given its new URL.
        300..=399 => Err(StepError::permanent(
            format!("HTTP{status}"),
            format!("{host} answered with a redirect ({status}), which firebreak does not follow"),
        )),
        _ => Err(StepError::permanent(
            format!("HTTP{status}"),
            format!("{host} refused the notification ({status})"),
        )),
    }
}
