//! Bringing findings back from the dead-letter queue. A message holding findings reaches it when
//! its receives run out: the evidence bucket was unreachable for hours, or a worker kept
//! failing. Once the bucket answers again, `serve` sends such messages back to its queue, where
//! they are contained (or found contained) as any other. A message that holds no finding stays
//! for a person; so does one brought back [`MAX_REDRIVES`] times already, with an alert in the
//! log. Nothing is deleted from the dead-letter queue before its copy is in the queue.

use std::collections::HashSet;

use aws_sdk_sqs::types::{MessageAttributeValue, QueueAttributeName};

use crate::intake::worker::Worker;

/// The message attribute counting how often a message was brought back.
pub const REDRIVES: &str = "firebreak-redrives";

/// How often one message is brought back before it is left for a person.
pub const MAX_REDRIVES: u32 = 5;

/// At most this many messages are looked at in one pass.
const PER_PASS: usize = 100;

/// The dead-letter queue of `queue`, from its redrive policy; `None` (and a log line) when it
/// has none or it cannot be read.
pub async fn dead_letter_queue(sqs: &aws_sdk_sqs::Client, queue: &str) -> Option<String> {
    let attrs = match sqs
        .get_queue_attributes()
        .queue_url(queue)
        .attribute_names(QueueAttributeName::RedrivePolicy)
        .send()
        .await
    {
        Ok(a) => a,
        Err(e) => {
            crate::log!("redrive_unavailable", queue, error = %crate::aws::classify(&e, "sqs", "GetQueueAttributes"));
            return None;
        }
    };
    let policy = attrs
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::RedrivePolicy))?;
    let arn = serde_json::from_str::<serde_json::Value>(policy)
        .ok()?
        .get("deadLetterTargetArn")?
        .as_str()?
        .to_string();
    // arn:aws:sqs:REGION:ACCOUNT:NAME
    let parts: Vec<&str> = arn.split(':').collect();
    let (account, name) = match parts.as_slice() {
        [.., account, name] if parts.len() == 6 => (*account, *name),
        _ => {
            crate::log!("redrive_unavailable", queue, reason = "the redrive policy names no queue ARN", arn = %arn);
            return None;
        }
    };
    match sqs
        .get_queue_url()
        .queue_name(name)
        .queue_owner_aws_account_id(account)
        .send()
        .await
    {
        Ok(u) => u.queue_url().map(str::to_string),
        Err(e) => {
            crate::log!("redrive_unavailable", queue, dead_letter_queue = %arn, error = %crate::aws::classify(&e, "sqs", "GetQueueUrl"));
            None
        }
    }
}

/// One pass: when the evidence store answers, every message of `dlq` that holds findings (and
/// was not brought back too often) is sent to `queue` and then deleted from `dlq`. `kept`
/// remembers the messages left for a person, so each is logged once. Returns how many were
/// brought back.
pub async fn pass(
    sqs: &aws_sdk_sqs::Client,
    queue: &str,
    dlq: &str,
    worker: &Worker,
    kept: &mut HashSet<String>,
) -> usize {
    if let Some(n) = super::queue_depth(sqs, dlq).await {
        worker.metrics.dead_letters(n);
        if n == 0 {
            worker.metrics.dead_letter_age(0.0);
        }
    }
    if let Err(e) = worker.store().probe().await {
        crate::log!("redrive_waits", dead_letter_queue = dlq, error = %e,
            note = "the evidence store does not answer; findings stay in the dead-letter queue");
        return 0;
    }
    let mut brought = 0;
    let mut seen = 0;
    let mut oldest_sent_ms: Option<i64> = None;
    while seen < PER_PASS {
        let received = match sqs
            .receive_message()
            .queue_url(dlq)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .visibility_timeout(30)
            .message_attribute_names(REDRIVES)
            .message_system_attribute_names(
                aws_sdk_sqs::types::MessageSystemAttributeName::SentTimestamp,
            )
            .send()
            .await
        {
            Ok(r) => r.messages.unwrap_or_default(),
            Err(e) => {
                crate::log!("redrive_failed", dead_letter_queue = dlq,
                    error = %crate::aws::classify(&e, "sqs", "ReceiveMessage"));
                break;
            }
        };
        if received.is_empty() {
            break;
        }
        seen += received.len();
        // The oldest message read so far (SQS keeps no age attribute for a queue).
        oldest_sent_ms = received
            .iter()
            .filter_map(|m| {
                m.attributes()?
                    .get(&aws_sdk_sqs::types::MessageSystemAttributeName::SentTimestamp)?
                    .parse::<i64>()
                    .ok()
            })
            .chain(oldest_sent_ms)
            .min();
        for m in received {
            let id = m.message_id().unwrap_or_default().to_string();
            let body = m.body().unwrap_or_default();
            let redrives = m
                .message_attributes()
                .and_then(|a| a.get(REDRIVES))
                .and_then(|v| v.string_value())
                .and_then(|v| v.parse::<u32>().ok())
                .unwrap_or(0);
            let findings = match crate::domain::finding::parse_findings(body, &format!("sqs:{id}"))
            {
                Ok(f) if !f.is_empty() => f,
                Ok(_) => {
                    if kept.insert(id.clone()) {
                        crate::log!("dead_letter_kept", message_id = %id,
                            reason = "the message holds no finding; left for a person");
                    }
                    continue;
                }
                Err(e) => {
                    if kept.insert(id.clone()) {
                        crate::log!("dead_letter_kept", message_id = %id, reason = %e,
                            note = "not a finding firebreak can read; left for a person");
                    }
                    continue;
                }
            };
            let ids: Vec<&str> = findings.iter().map(|f| f.id.as_str()).collect();
            if redrives >= MAX_REDRIVES {
                if kept.insert(id.clone()) {
                    crate::log!("dead_letter_given_up", message_id = %id, finding_ids = %ids.join(","),
                        redrives, note = "brought back this often and dead-lettered again: look at it by hand");
                }
                continue;
            }
            let mut send = sqs.send_message().queue_url(queue).message_body(body);
            if let Ok(count) = MessageAttributeValue::builder()
                .data_type("Number")
                .string_value((redrives + 1).to_string())
                .build()
            {
                send = send.message_attributes(REDRIVES, count);
            }
            let sent = send.send().await;
            if let Err(e) = sent {
                crate::log!("redrive_failed", message_id = %id,
                    error = %crate::aws::classify(&e, "sqs", "SendMessage"));
                continue;
            }
            // Only now: a crash between the two leaves a copy in each queue, which claims
            // make harmless.
            if let Err(e) = sqs
                .delete_message()
                .queue_url(dlq)
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .send()
                .await
            {
                crate::log!("redrive_failed", message_id = %id,
                    error = %crate::aws::classify(&e, "sqs", "DeleteMessage"),
                    note = "sent back, but still in the dead-letter queue");
            }
            worker.metrics.redriven();
            brought += 1;
            crate::log!("redriven", message_id = %id, finding_ids = %ids.join(","), redrives = redrives + 1);
        }
    }
    if let Some(sent) = oldest_sent_ms {
        let age_ms = (crate::intake::claim::now_ms() - sent).max(0);
        worker.metrics.dead_letter_age(age_ms as f64 / 1000.0);
    }
    brought
}
