//! Publishing rendered alerts to the SNS topic.

use crate::alert::Alert;
use aws_sdk_sns::error::DisplayErrorContext;
use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sns::Client;
use std::future::Future;

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("SNS publish failed: {0}")]
    Sns(String),
}

/// What the dispatcher needs from a notification channel.
pub trait AlertPublisher: Send + Sync {
    fn publish(&self, alert: &Alert) -> impl Future<Output = Result<String, PublishError>> + Send;
}

/// The SNS message for an alert: JSON for machines (`default`, which Lambda and SQS
/// subscribers receive) and plain text for email.
pub fn message_body(alert: &Alert) -> String {
    serde_json::json!({
        "default": serde_json::to_string(alert).unwrap_or_default(),
        "email": crate::notice::text_body(alert),
    })
    .to_string()
}

#[derive(Clone, Debug)]
pub struct SnsPublisher {
    client: Client,
    topic_arn: String,
}

impl SnsPublisher {
    pub fn new(client: Client, topic_arn: impl Into<String>) -> Self {
        Self {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

fn attribute(value: &str) -> Result<MessageAttributeValue, PublishError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| PublishError::Sns(e.to_string()))
}

impl AlertPublisher for SnsPublisher {
    async fn publish(&self, alert: &Alert) -> Result<String, PublishError> {
        let out = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(crate::notice::subject(alert))
            .message_structure("json")
            .message(message_body(alert))
            .message_attributes("severity", attribute(alert.severity.as_str())?)
            .message_attributes("source", attribute(alert.source.as_str())?)
            .message_attributes("kind", attribute(alert.kind.as_str())?)
            .send()
            .await
            .map_err(|e| PublishError::Sns(DisplayErrorContext(e).to_string()))?;
        Ok(out.message_id.unwrap_or_default())
    }
}
