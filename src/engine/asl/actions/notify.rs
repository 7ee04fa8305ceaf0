//! Notification actions still compiled by hand (not yet in the step vocabulary).

use serde_json::json;

use super::super::act::Act;
use super::Outputs;

/// `http.webhook`.
pub(super) fn webhook(a: &mut Act, _outputs: &mut Outputs, succeeded: &str) -> String {
    // Step Functions has no Lambda-free way to POST to an arbitrary URL but its HTTP
    // Task (which needs an EventBridge connection and which the emulator cannot run),
    // so the message goes to EventBridge as an event; an EventBridge rule with an API
    // destination can make the POST (not set up by `deploy` yet). The HTTP status is not
    // seen here: `status` is null.
    let name = a.n("PutEvents");
    let mut t = json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::events:putEvents",
        "Parameters": {"Entries": [{
            "Source": "firebreak",
            "DetailType": "firebreak webhook",
            "Detail": {"url.$": a.p("url"), "text.$": a.p("text")},
        }]},
        "TimeoutSeconds": a.timeout,
        "ResultSelector": {"FailedEntryCount.$": "$.FailedEntryCount"},
        "ResultPath": a.s("result"),
        "Catch": [a.catch_all()],
        "Next": a.n("sent"),
    });
    a.states.insert(
        a.n("sent"),
        json!({"Type": "Pass", "Result": {"v": true}, "ResultPath": a.s("changed"), "Next": succeeded}),
    );
    let retry = super::super::retriers(a.retry, "EventBridge");
    if retry.as_array().is_some_and(|r| !r.is_empty()) {
        t["Retry"] = retry;
    }
    a.states.insert(name.clone(), t);
    // The local action's check of the URL's scheme, made before anything is sent.
    let refused = a.fail(
        "not http(s)",
        "InvalidParameter",
        json!("webhook url must be http(s)"),
    );
    let url = a.p("url");
    a.choice(
        "http(s)?",
        json!([{"Or": [
            {"Variable": url, "StringMatches": "https://*"},
            {"Variable": url, "StringMatches": "http://*"},
        ], "Next": name}]),
        &refused,
    )
}
