//! SDK errors → [`StepError`]s that know whether a retry can help.

use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::http::Response;

use crate::domain::retry::ErrorClass;
use crate::domain::step::StepError;

/// AWS error codes that mean "slow down" across services.
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// True when an error code means "this identity may not make this call".
pub fn is_access_denied(code: &str) -> bool {
    ACCESS_DENIED.contains(&code)
}

/// Codes that mean "this identity may not make this call".
const ACCESS_DENIED: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AuthorizationError",
];

/// Codes that are transient although their status is not 5xx.
const TRANSIENT: &[&str] = &[
    "RequestTimeout",
    "RequestTimeoutException",
    "IDPCommunicationError",
];

/// Classifies an SDK error: throttling, 5xx, timeouts and dropped connections are transient;
/// everything else (AccessDenied, NoSuchEntity, invalid parameters, …) is permanent.
pub fn classify<E>(err: &SdkError<E, Response>, service: &str, operation: &str) -> StepError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let call = format!("{service}:{operation}");
    match err {
        SdkError::TimeoutError(_) => {
            StepError::transient(ErrorClass::Timeout, "Timeout", format!("{call} timed out"))
        }
        SdkError::DispatchFailure(d) => {
            if d.is_timeout() {
                StepError::transient(
                    ErrorClass::Timeout,
                    "Timeout",
                    format!("{call}: the connection timed out"),
                )
            } else if d.is_user() {
                StepError::permanent(
                    "DispatchFailure",
                    format!(
                        "{call}: the request could not be sent: {}",
                        source_text(err)
                    ),
                )
            } else {
                StepError::transient(
                    ErrorClass::Network,
                    "ConnectionError",
                    format!("{call}: {}", source_text(err)),
                )
            }
        }
        SdkError::ResponseError(r) => {
            let status = r.raw().status().as_u16();
            if status >= 500 {
                StepError::transient(
                    ErrorClass::Server,
                    format!("HTTP{status}"),
                    format!("{call}: server error {status}"),
                )
            } else {
                StepError::transient(
                    ErrorClass::Network,
                    "BadResponse",
                    format!("{call}: an unreadable or cut-off response (HTTP {status})"),
                )
            }
        }
        SdkError::ServiceError(s) => {
            let code = err.code().unwrap_or("Unknown");
            // RDS names some codes with `Fault` (`DBClusterNotFoundFault`), others without:
            // the code is kept without it, as Step Functions names them.
            let code = match service {
                "rds" => code.strip_suffix("Fault").unwrap_or(code),
                _ => code,
            }
            .to_string();
            let message = err.message().unwrap_or("").to_string();
            let status = s.raw().status().as_u16();
            let text = if message.is_empty() {
                call.clone()
            } else {
                format!("{call}: {message}")
            };
            // Name the IAM permission a refused call needs: S3 and EC2 do not say it.
            let text = if is_access_denied(&code) {
                format!(
                    "{text} (needs {})",
                    crate::domain::catalog::permission(service, operation)
                )
            } else {
                text
            };
            if THROTTLING.contains(&code.as_str()) || status == 429 {
                StepError::transient(ErrorClass::Throttling, code, text)
            } else if status >= 500 || TRANSIENT.contains(&code.as_str()) {
                StepError::transient(ErrorClass::Server, code, text)
            } else {
                StepError::permanent(code, text)
            }
        }
        _ => StepError::permanent("RequestError", format!("{call}: {}", source_text(err))),
    }
}

fn source_text<E: std::error::Error + 'static>(err: &SdkError<E, Response>) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
