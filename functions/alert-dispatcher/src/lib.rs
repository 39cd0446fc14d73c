//! The alert dispatcher: new alert rows arrive on the table's stream, each is rendered and
//! published to the SNS topic once, in order; a failure stops the batch there and reports
//! it, so Lambda retries from that record (and, after its retries, sends it to the DLQ).

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use chrono::Utc;
use dialtone_shared::config::{self, ConfigError};
use dialtone_shared::publish::{AlertPublisher, PublishError, SnsPublisher};
use dialtone_shared::store::{AlertLedger, AlertRow, DynamoStore, StoreError};
use lambda_runtime::LambdaEvent;

#[derive(Debug)]
pub struct Config {
    pub table_name: String,
    pub topic_arn: String,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            table_name: config::required("TABLE_NAME")?,
            topic_arn: config::required("ALERT_TOPIC_ARN")?,
        })
    }
}

pub struct Deps<L, P> {
    pub ledger: L,
    pub publisher: P,
}

impl Deps<DynamoStore, SnsPublisher> {
    pub fn new(
        config: Config,
        dynamodb: aws_sdk_dynamodb::Client,
        sns: aws_sdk_sns::Client,
    ) -> Self {
        Self {
            ledger: DynamoStore::new(dynamodb, config.table_name),
            publisher: SnsPublisher::new(sns, config.topic_arn),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error("stream record has no sequence number")]
    NoSequenceNumber,
    #[error("alert row is unreadable: {0}")]
    Unreadable(#[from] serde_dynamo::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Publish(#[from] PublishError),
}

/// The one place a dispatcher error becomes what Lambda records for a failed invocation.
impl From<DispatchError> for lambda_runtime::Diagnostic {
    fn from(err: DispatchError) -> Self {
        Self {
            error_type: "DispatchError".into(),
            error_message: err.to_string(),
        }
    }
}

/// What became of one stream record.
#[derive(Debug, PartialEq, Eq)]
enum Dispatched {
    Published,
    AlreadyPublished,
    NotAnAlert,
}

pub async fn handler<L: AlertLedger, P: AlertPublisher>(
    deps: &Deps<L, P>,
    event: LambdaEvent<Event>,
) -> Result<DynamoDbEventResponse, DispatchError> {
    let mut response = DynamoDbEventResponse::default();
    for record in &event.payload.records {
        let sequence = record
            .change
            .sequence_number
            .clone()
            .ok_or(DispatchError::NoSequenceNumber)?;
        match dispatch(deps, record).await {
            Ok(outcome) => tracing::debug!(sequence = %sequence, ?outcome, "record handled"),
            Err(err) => {
                tracing::error!(sequence = %sequence, error = %err, "alert not published; stopping the batch here");
                let mut failure = DynamoDbBatchItemFailure::default();
                failure.item_identifier = Some(sequence);
                response.batch_item_failures.push(failure);
                // Later records wait: alerts go out in the order they were decided.
                break;
            }
        }
    }
    Ok(response)
}

async fn dispatch<L: AlertLedger, P: AlertPublisher>(
    deps: &Deps<L, P>,
    record: &EventRecord,
) -> Result<Dispatched, DispatchError> {
    let is_alert = record.event_name == "INSERT"
        && matches!(record.change.new_image.get("entity"), Some(serde_dynamo::AttributeValue::S(e)) if e == "alert");
    if !is_alert {
        return Ok(Dispatched::NotAnAlert);
    }
    let row: AlertRow = serde_dynamo::from_item(record.change.new_image.clone())?;
    // A retried batch replays records already sent: the ledger keeps each alert to one publish.
    if row.published_at.is_some() || deps.ledger.is_published(&row.alert_id).await? {
        return Ok(Dispatched::AlreadyPublished);
    }
    let message_id = deps.publisher.publish(&row.alert).await?;
    deps.ledger
        .mark_published(&row.alert_id, Utc::now())
        .await?;
    tracing::info!(
        alert = %row.alert_id,
        severity = row.alert.severity.as_str(),
        kind = row.alert.kind.as_str(),
        message_id = %message_id,
        "alert published"
    );
    Ok(Dispatched::Published)
}

#[cfg(test)]
#[path = "lib_test.rs"]
mod tests;
