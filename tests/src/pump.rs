//! Lambda's DynamoDB event source mapping, played locally: reads the table's stream through
//! the DynamoDB Streams API, applies the template's filter, hands batches to the
//! dispatcher, and on a reported batch item failure retries from that record, as Lambda
//! does; after the last attempt the record is dead-lettered (reported, then skipped).

use crate::LocalError;
use aws_lambda_events::event::dynamodb::{Event, EventRecord, StreamRecord};
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};
use chrono::{DateTime, TimeZone, Utc};
use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

/// How long `dialtone-local pump --follow` (the local run's pump) sleeps between two drains
/// of the stream. Lambda's event source mapping polls a shard about 4 times a second; the
/// local pump polls less often, and the latency bench reports the wait this costs.
pub const FOLLOW_INTERVAL: Duration = Duration::from_secs(1);

/// Where batches go: the dispatcher in-process (tests) or through the runtime emulator.
pub trait Dispatch {
    fn dispatch(
        &self,
        event: Event,
    ) -> impl Future<Output = Result<DynamoDbEventResponse, LocalError>>;
}

/// Invokes a function through `cargo lambda watch`'s Lambda Invoke API.
pub struct EmulatorInvoke {
    pub http: reqwest::Client,
    pub url: String,
}

impl EmulatorInvoke {
    pub fn new(emulator: &str, function: &str) -> Self {
        Self {
            http: crate::http_client(),
            url: format!(
                "{}/2015-03-31/functions/{function}/invocations",
                emulator.trim_end_matches('/')
            ),
        }
    }
}

impl EmulatorInvoke {
    /// Invokes the function with `payload` and returns what it answered; a function error
    /// is an error.
    pub async fn invoke<P: serde::Serialize, R: serde::de::DeserializeOwned>(
        &self,
        payload: &P,
    ) -> Result<R, LocalError> {
        let response = self
            .http
            .post(&self.url)
            .json(payload)
            .send()
            .await
            .map_err(|e| LocalError::Invoke(e.to_string()))?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|e| LocalError::Invoke(e.to_string()))?;
        if !status.is_success() || body.contains("\"errorType\"") {
            return Err(LocalError::Invoke(format!("{status}: {body}")));
        }
        serde_json::from_str(&body).map_err(|e| LocalError::Invoke(format!("{e}: {body}")))
    }
}

impl Dispatch for EmulatorInvoke {
    async fn dispatch(&self, event: Event) -> Result<DynamoDbEventResponse, LocalError> {
        self.invoke(&event).await
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PumpReport {
    /// Records that matched the filter and were handed over.
    pub delivered: usize,
    /// Invocations made, retries included.
    pub invocations: usize,
    /// Sequence numbers given up on after the last attempt.
    pub dead_lettered: Vec<String>,
    /// When each record handed over was read and dispatched (wall clock, as the
    /// latency bench compares them with instants taken in another task).
    pub handovers: Vec<Handover>,
}

/// The pump's part of one record's journey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handover {
    /// The alert row's `alert_id` (empty if the row has none).
    pub alert_id: String,
    /// When the drain that read the record started.
    pub poll_started: DateTime<Utc>,
    /// When the `GetRecords` answer that held the record arrived.
    pub read_at: DateTime<Utc>,
    /// When the dispatcher's invocation with the record returned (retries included).
    pub dispatched_at: DateTime<Utc>,
}

pub struct StreamPump {
    streams: aws_sdk_dynamodbstreams::Client,
    stream_arn: String,
    /// Shard id → the iterator to read next (`None` once a closed shard is exhausted).
    iterators: HashMap<String, Option<String>>,
    pub batch_size: usize,
    pub max_attempts: usize,
}

impl StreamPump {
    /// Starts at the oldest record still in the stream (TRIM_HORIZON, as the template).
    pub async fn new(stack: &crate::stack::Stack) -> Result<Self, LocalError> {
        let stream_arn = stack
            .dynamodb
            .describe_table()
            .table_name(&stack.table)
            .send()
            .await
            .map_err(LocalError::aws)?
            .table
            .and_then(|t| t.latest_stream_arn)
            .ok_or_else(|| LocalError::Aws(format!("table {} has no stream", stack.table)))?;
        Ok(Self {
            streams: stack.streams.clone(),
            stream_arn,
            iterators: HashMap::new(),
            batch_size: 10,
            max_attempts: 3,
        })
    }

    /// Delivers every record now in the stream, then returns.
    pub async fn drain<D: Dispatch>(&mut self, dispatch: &D) -> Result<PumpReport, LocalError> {
        let mut report = PumpReport::default();
        let poll_started = Utc::now();
        let shards = self
            .streams
            .describe_stream()
            .stream_arn(&self.stream_arn)
            .send()
            .await
            .map_err(LocalError::aws)?
            .stream_description
            .map(|d| d.shards.unwrap_or_default())
            .unwrap_or_default();
        for shard in shards {
            let Some(shard_id) = shard.shard_id else {
                continue;
            };
            if !self.iterators.contains_key(&shard_id) {
                let iterator = self
                    .streams
                    .get_shard_iterator()
                    .stream_arn(&self.stream_arn)
                    .shard_id(&shard_id)
                    .shard_iterator_type(ShardIteratorType::TrimHorizon)
                    .send()
                    .await
                    .map_err(LocalError::aws)?
                    .shard_iterator;
                self.iterators.insert(shard_id.clone(), iterator);
            }
            while let Some(Some(iterator)) = self.iterators.get(&shard_id).cloned() {
                let out = self
                    .streams
                    .get_records()
                    .shard_iterator(iterator)
                    .limit(1000)
                    .send()
                    .await
                    .map_err(LocalError::aws)?;
                let read_at = Utc::now();
                let records: Vec<EventRecord> = out
                    .records
                    .unwrap_or_default()
                    .into_iter()
                    .map(|r| to_event_record(r, &self.stream_arn))
                    .filter(matches_template_filter)
                    .collect();
                let done = records.is_empty();
                self.iterators
                    .insert(shard_id.clone(), out.next_shard_iterator);
                for batch in records.chunks(self.batch_size) {
                    self.deliver(dispatch, batch, &mut report).await?;
                    let dispatched_at = Utc::now();
                    report.handovers.extend(batch.iter().map(|record| Handover {
                        alert_id: alert_id(record),
                        poll_started,
                        read_at,
                        dispatched_at,
                    }));
                }
                if done {
                    break;
                }
            }
        }
        Ok(report)
    }

    async fn deliver<D: Dispatch>(
        &self,
        dispatch: &D,
        batch: &[EventRecord],
        report: &mut PumpReport,
    ) -> Result<(), LocalError> {
        report.delivered += batch.len();
        let mut pending = batch.to_vec();
        let mut attempts = 0;
        while !pending.is_empty() {
            attempts += 1;
            report.invocations += 1;
            let mut event = Event::default();
            event.records = pending.clone();
            let failed_from = match dispatch.dispatch(event).await {
                Ok(response) => response
                    .batch_item_failures
                    .iter()
                    .filter_map(|f| f.item_identifier.as_deref())
                    .filter_map(|id| {
                        pending
                            .iter()
                            .position(|r| r.change.sequence_number.as_deref() == Some(id))
                    })
                    .min(),
                // A failed invocation retries the whole batch.
                Err(_) => Some(0),
            };
            match failed_from {
                None => return Ok(()),
                Some(i) if attempts >= self.max_attempts => {
                    report.dead_lettered.push(
                        pending[i]
                            .change
                            .sequence_number
                            .clone()
                            .unwrap_or_default(),
                    );
                    pending.drain(..=i);
                    attempts = 0;
                }
                Some(i) => {
                    pending.drain(..i);
                }
            }
        }
        Ok(())
    }
}

fn alert_id(record: &EventRecord) -> String {
    match record.change.new_image.get("alert_id") {
        Some(serde_dynamo::AttributeValue::S(id)) => id.clone(),
        _ => String::new(),
    }
}

/// The template's `FilterCriteria`: only inserted alert rows reach the dispatcher.
fn matches_template_filter(record: &EventRecord) -> bool {
    record.event_name == "INSERT"
        && matches!(record.change.new_image.get("entity"), Some(serde_dynamo::AttributeValue::S(e)) if e == "alert")
}

fn to_event_record(record: Record, stream_arn: &str) -> EventRecord {
    let mut out = EventRecord::default();
    out.event_id = record.event_id.unwrap_or_default();
    out.event_name = record
        .event_name
        .map(|n| n.as_str().to_owned())
        .unwrap_or_default();
    out.event_source = Some("aws:dynamodb".into());
    out.event_version = record.event_version;
    out.aws_region = record.aws_region.unwrap_or_default();
    out.event_source_arn = Some(stream_arn.to_owned());
    if let Some(change) = record.dynamodb {
        let mut sr = StreamRecord::default();
        sr.approximate_creation_date_time = change
            .approximate_creation_date_time
            .and_then(|t| Utc.timestamp_opt(t.secs(), 0).single())
            .unwrap_or_default();
        sr.keys = change.keys.unwrap_or_default().into();
        sr.new_image = change.new_image.unwrap_or_default().into();
        sr.old_image = change.old_image.unwrap_or_default().into();
        sr.sequence_number = change.sequence_number;
        sr.size_bytes = change.size_bytes.unwrap_or_default();
        out.change = sr;
    }
    out
}
