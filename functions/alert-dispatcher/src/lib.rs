//! The alert dispatcher publishes each alert row to the SNS topic once, in order, from two
//! triggers:
//!
//! - the table's stream: new alert rows arrive within seconds; a failure stops the batch
//!   there and reports it, so Lambda retries from that record (and, after its retries,
//!   sends it to the DLQ);
//! - a schedule (the sweep, [`sweep`]): alert rows still unpublished a few minutes after
//!   they were stored — the stream's retries spent, its 24 hours passed, a crash — are
//!   published then.
//!
//! Each publish is claimed in the ledger first and marked after, so the two never publish
//! one alert together. SNS delivery is at least once: an alert is published twice only if
//! the function stops between the publish and its mark (the claim then lapses and the
//! sweep publishes it again).

mod enrich;
mod sweep;

pub use enrich::AlertEnricher;
pub use sweep::{sweep, SweepReport, SWEEP_LOOKBACK, SWEEP_MIN_AGE};

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use chrono::{DateTime, Duration, Utc};
use dialtone_shared::config::{self, ConfigError};
use dialtone_shared::exotel::client::{ExotelApi, ExotelClient};
use dialtone_shared::heartbeat::enrich::{DetailsEnricher, EnrichPolicy};
use dialtone_shared::phone::mask_numbers;
use dialtone_shared::publish::{AlertPublisher, PublishError, SnsPublisher};
use dialtone_shared::secrets::SecretsManager;
use dialtone_shared::store::{AlertLedger, AlertRow, Claim, DynamoStore, StoreError};
use lambda_runtime::LambdaEvent;
use serde::{Deserialize, Serialize};

/// How long a claim holds: longer than the function's timeout (30 s), so a publisher still
/// running is never overtaken, and short enough that a crashed one's alert goes out at the
/// next sweep.
pub const CLAIM_LEASE: Duration = Duration::seconds(60);

/// ExoPhone details requests a minute for the alerts' lines: a small share of the ≈ 200 a
/// minute Exotel allows an account (the watchdog and the aggregator use it too).
const DETAILS_BUDGET: u32 = 20;

#[derive(Debug)]
pub struct Config {
    pub table_name: String,
    pub topic_arn: String,
    /// Exotel's API, when configured: heartbeat alerts then name their lines' details.
    pub exotel: Option<ExotelApi>,
}

impl Config {
    /// The table and the topic, or the missing variable's name. Exotel's API is optional
    /// here: no alert may wait on it, so a secret that cannot be read leaves the details
    /// off (logged as an error) rather than the dispatcher down.
    pub async fn load(secrets: &SecretsManager) -> Result<Self, ConfigError> {
        Ok(Self {
            table_name: config::required("TABLE_NAME")?,
            topic_arn: config::required("ALERT_TOPIC_ARN")?,
            exotel: optional_exotel(ExotelApi::load_if_configured(secrets, DETAILS_BUDGET).await),
        })
    }
}

/// Exotel's API settings when they could be read; else none, said once at cold start.
pub fn optional_exotel(loaded: Result<Option<ExotelApi>, ConfigError>) -> Option<ExotelApi> {
    loaded.unwrap_or_else(|err| {
        tracing::error!(error = %err, "Exotel API settings unreadable: alerts go out without their lines' details");
        None
    })
}

/// The details reader for `api`, when there is one and it can be built.
pub fn details_enricher(api: Option<ExotelApi>) -> Option<DetailsEnricher> {
    let mut api = api?;
    // No back-off and no spacing inside an alert's path: the minute's budget paces the
    // reads, and a 429 or a slow Exotel pauses them.
    api.max_attempts = 1;
    api.spacing = std::time::Duration::ZERO;
    match ExotelClient::new(api) {
        Ok(client) => Some(DetailsEnricher::new(client, EnrichPolicy::default())),
        Err(err) => {
            tracing::error!(error = %err, "Exotel API unusable: alerts go out without their lines' details");
            None
        }
    }
}

pub struct Deps<L, P, E = Option<DetailsEnricher>> {
    pub ledger: L,
    pub publisher: P,
    /// What may add to an alert on its way out (`None`: nothing, the alert goes as stored).
    pub enricher: E,
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
            enricher: details_enricher(config.exotel),
        }
    }
}

/// Messages mask phone numbers: alert ids carry callers' numbers (callback alerts), and
/// serde quotes the values it cannot read.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error("stream record has no sequence number")]
    NoSequenceNumber,
    #[error("alert row is unreadable: {}", mask_numbers(&.0.to_string()))]
    Unreadable(#[from] serde_dynamo::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Publish(#[from] PublishError),
}

// The one place a dispatcher error becomes what Lambda records for a failed invocation.
dialtone_shared::diagnostic!(DispatchError);

/// What invoked the function: a stream batch (it has `Records`) or the schedule.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Trigger {
    Stream(Event),
    Schedule(EventBridgeEvent<serde_json::Value>),
}

/// The answer to each trigger: the stream's batch item failures, the sweep's report.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Reply {
    Stream(DynamoDbEventResponse),
    Sweep(SweepReport),
}

/// The function's entry: either trigger.
pub async fn entry<L: AlertLedger, P: AlertPublisher, E: AlertEnricher>(
    deps: &Deps<L, P, E>,
    event: LambdaEvent<Trigger>,
) -> Result<Reply, DispatchError> {
    let (payload, context) = (event.payload, event.context);
    match payload {
        Trigger::Stream(batch) => Ok(Reply::Stream(
            handler(deps, LambdaEvent::new(batch, context)).await?,
        )),
        Trigger::Schedule(_) => Ok(Reply::Sweep(sweep(deps, Utc::now()).await?)),
    }
}

/// What became of one alert.
#[derive(Debug, PartialEq, Eq)]
pub enum Dispatched {
    Published,
    AlreadyPublished,
    /// Another publisher holds its claim: it publishes it (or its claim lapses and the
    /// next sweep does).
    InFlight,
    NotAnAlert,
}

/// The stream's batch.
pub async fn handler<L: AlertLedger, P: AlertPublisher, E: AlertEnricher>(
    deps: &Deps<L, P, E>,
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

async fn dispatch<L: AlertLedger, P: AlertPublisher, E: AlertEnricher>(
    deps: &Deps<L, P, E>,
    record: &EventRecord,
) -> Result<Dispatched, DispatchError> {
    let is_alert = record.event_name == "INSERT"
        && matches!(record.change.new_image.get("entity"), Some(serde_dynamo::AttributeValue::S(e)) if e == "alert");
    if !is_alert {
        return Ok(Dispatched::NotAnAlert);
    }
    let row: AlertRow = serde_dynamo::from_item(record.change.new_image.clone())?;
    publish_once(deps, &row, Utc::now()).await
}

/// Claims, publishes and marks one alert: a replayed record, or one the other trigger
/// holds, is not published again.
pub async fn publish_once<L: AlertLedger, P: AlertPublisher, E: AlertEnricher>(
    deps: &Deps<L, P, E>,
    row: &AlertRow,
    now: DateTime<Utc>,
) -> Result<Dispatched, DispatchError> {
    let alert = mask_numbers(&row.alert_id);
    if row.published_at.is_some() {
        return Ok(Dispatched::AlreadyPublished);
    }
    let until = now + CLAIM_LEASE;
    match deps.ledger.claim(&row.alert_id, now, until).await? {
        Claim::Claimed => {}
        Claim::Published => return Ok(Dispatched::AlreadyPublished),
        Claim::InFlight => {
            tracing::info!(alert = %alert, "alert claimed by another publisher; left to it");
            return Ok(Dispatched::InFlight);
        }
    }
    let enriched = deps.enricher.enrich(&row.alert).await;
    let message_id = match deps
        .publisher
        .publish(enriched.as_ref().unwrap_or(&row.alert))
        .await
    {
        Ok(id) => id,
        Err(err) => {
            // The next try (the stream's retry, the sweep) need not wait for the claim.
            if let Err(e) = deps.ledger.release_claim(&row.alert_id, until).await {
                tracing::warn!(alert = %alert, error = %e, "claim not released; it lapses");
            }
            return Err(err.into());
        }
    };
    if let Err(err) = deps
        .ledger
        .mark_published(&row.alert_id, Utc::now(), enriched.as_ref())
        .await
    {
        // Published: the mark must land, or the sweep sends it again. Without what the
        // dispatcher added, if that is what could not be stored.
        if enriched.is_none() {
            return Err(err.into());
        }
        tracing::warn!(alert = %alert, error = %err, "alert as sent not stored; marked published as stored");
        deps.ledger
            .mark_published(&row.alert_id, Utc::now(), None)
            .await?;
    }
    tracing::info!(
        alert = %alert,
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
