//! The SQS queue subscribed to the alert topic: what was really published.

use crate::LocalError;
use chrono::{DateTime, Utc};
use dialtone_shared::alert::Alert;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// One alert as it arrived through SNS.
#[derive(Clone, Debug, PartialEq)]
pub struct Received {
    pub subject: Option<String>,
    pub alert: Alert,
    pub attributes: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Envelope {
    #[serde(default)]
    subject: Option<String>,
    message: String,
    #[serde(default)]
    message_attributes: BTreeMap<String, Attribute>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Attribute {
    value: String,
}

/// Reads and deletes everything in the queue, waiting up to `quiet` for stragglers.
pub async fn drain(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    quiet: Duration,
) -> Result<Vec<Received>, LocalError> {
    let mut received = Vec::new();
    loop {
        let (_, batch) = receive(sqs, queue_url, quiet).await?;
        if batch.is_empty() {
            return Ok(received);
        }
        received.extend(batch);
    }
}

/// One `ReceiveMessage` (up to 10 messages, a long poll of up to `wait`, whole seconds
/// up to 20), each message read and deleted. Also returns when the answer arrived, taken
/// before the reading and the deletes, so a latency measured to it excludes them.
pub async fn receive(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    wait: Duration,
) -> Result<(DateTime<Utc>, Vec<Received>), LocalError> {
    let out = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(wait.as_secs().clamp(0, 20) as i32)
        .send()
        .await
        .map_err(LocalError::aws)?;
    let arrived = Utc::now();
    let mut received = Vec::new();
    for message in out.messages.unwrap_or_default() {
        let body = message.body.unwrap_or_default();
        let envelope: Envelope = serde_json::from_str(&body)
            .map_err(|e| LocalError::Aws(format!("not an SNS envelope: {e}")))?;
        let alert: Alert = serde_json::from_str(&envelope.message)
            .map_err(|e| LocalError::Aws(format!("not an alert: {e}")))?;
        received.push(Received {
            subject: envelope.subject,
            alert,
            attributes: envelope
                .message_attributes
                .into_iter()
                .map(|(k, v)| (k, v.value))
                .collect(),
        });
        if let Some(handle) = message.receipt_handle {
            sqs.delete_message()
                .queue_url(queue_url)
                .receipt_handle(handle)
                .send()
                .await
                .map_err(LocalError::aws)?;
        }
    }
    Ok((arrived, received))
}
