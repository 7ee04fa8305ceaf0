//! firebreak's own POST to a webhook (`http.webhook`), with a Slack-compatible `text` field:
//! to a public HTTPS address only, checked before anything is sent and again, for the address
//! connected to, by the client's resolver (`crate::aws::webhook`). The URL's path and query
//! often hold a token (Slack): only the host is ever named.

use serde_json::{Value, json};

use super::{Req, elsewhere, text};
use crate::aws::webhook::{self, Refusal};
use crate::domain::define::Op;
use crate::domain::retry::ErrorClass;
use crate::domain::step::{ApiCall, StepError};

/// Makes the call `q` asks for; a dry run checks where the POST would go and sends nothing.
pub(super) async fn call(q: &Req<'_, '_>) -> Result<Value, StepError> {
    if q.op != Op::HttpPost {
        return Err(elsewhere(q.op));
    }
    let cx = q.cx;
    let url = reqwest::Url::parse(text(q.args, "Url")?).map_err(|e| {
        StepError::permanent("InvalidParameter", format!("webhook url is not a URL: {e}"))
    })?;
    let host = match webhook::check(&url).await {
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
    if q.dry {
        cx.planned("http", "POST");
        return Ok(Value::Null);
    }
    let body = json!({
        "text": text(q.args, "Text")?,
        "finding_id": cx.finding_id,
        "execution_id": cx.execution_id,
        "source": "firebreak",
    });
    let record = |result: String| {
        cx.record(ApiCall {
            service: "http".into(),
            operation: "POST".into(),
            request_id: None,
            result,
        });
    };
    let response = match cx.clients.http.post(url).json(&body).send().await {
        Ok(r) => r,
        Err(e) => {
            record("connection_error".into());
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
    record(status.to_string());
    match status {
        200..=299 => Ok(json!({"Status": status})),
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
