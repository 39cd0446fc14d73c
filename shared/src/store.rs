//! The one DynamoDB table and everything written to it.
//!
//! | row | pk | sk | ttl |
//! |---|---|---|---|
//! | idempotency key | `DEDUP#<source>#<key>` | `DEDUP` | 30 days |
//! | state (monitor, message, contact…) | `STATE#<state key>` | `STATE` | none |
//! | counter (per window or day) | `COUNTER#<key>` | `COUNTER` | chosen per counter |
//! | history (snapshot) | `HISTORY#<source>` | `<UTC time>#<key>` | 90 days |
//! | alert | `ALERT#<alert id>` | `ALERT` | 90 days |
//! | quarantined body | `QUARANTINE#<source>` | `<UTC time>#<request id>` | 30 days |
//!
//! Alerts are also indexed by time (`gsi1pk = ALERTS`, `gsi1sk = <time>#<id>`), daily
//! counters by day (`gsi1pk = COUNTERS#<day>`, `gsi1sk = <key>`) so a day's figures are one
//! query, and owed callbacks while open (`gsi1pk = CALLBACKS#open`). The stream
//! carries new alert rows to the dispatcher; every row names its `entity` so the event
//! source mapping can filter on it.

use crate::alert::Alert;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Duration, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_dynamo::aws_sdk_dynamodb_1 as dynamo;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;

pub const TTL_ATTRIBUTE: &str = "expires_at";
/// Every counter has this field: how many times it was bumped.
pub const COUNTER_TOTAL: &str = "total";
/// Counter fields are stored as attributes with this prefix (their names may be any text,
/// e.g. an error message).
const COUNTER_FIELD_PREFIX: &str = "c:";
pub const ALERTS_INDEX: &str = "gsi1";
/// The index partition of alert rows.
const ALERTS_PARTITION: &str = "ALERTS";
const DEDUP_TTL_DAYS: i64 = 30;
const HISTORY_TTL_DAYS: i64 = 90;
const QUARANTINE_TTL_DAYS: i64 = 30;
/// DynamoDB items stop at 400 KB; a quarantined body keeps its first 350 KB and says so.
const QUARANTINE_BODY_LIMIT: usize = 350 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("DynamoDB request failed: {0}")]
    Request(String),
    #[error("stored item could not be read or written: {0}")]
    Item(#[from] serde_dynamo::Error),
}

fn request_error<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    StoreError::Request(DisplayErrorContext(err).to_string())
}

/// The state row of one monitor, with the version used for optimistic concurrency.
#[derive(Clone, Debug, PartialEq)]
pub struct Versioned<T> {
    pub version: u64,
    pub value: T,
}

/// Everything one accepted event writes, committed atomically or not at all.
#[derive(Clone, Debug)]
pub struct Commit {
    pub source: &'static str,
    /// The provider's idempotency key: a second commit with it is a duplicate.
    pub dedup_key: String,
    pub received_at: DateTime<Utc>,
    /// The new states, each with the version it replaces (`None`: not stored yet).
    pub states: Vec<StateWrite>,
    /// History kept for a while, keyed under the source.
    pub history: Option<serde_json::Value>,
    pub history_at: DateTime<Utc>,
    pub alerts: Vec<Alert>,
    /// Counters moved by the same transaction.
    pub counters: Vec<CounterBump>,
    /// The answer given to the provider, kept with the idempotency key for its retries.
    pub reply: Option<serde_json::Value>,
}

#[derive(Clone, Debug)]
pub struct StateWrite {
    pub key: String,
    /// `gsi1pk` and `gsi1sk`, for rows found by query; `None` leaves the row unindexed.
    pub index: Option<(String, String)>,
    pub expected_version: Option<u64>,
    pub value: serde_json::Value,
}

/// Adds to a counter row's fields ([`COUNTER_TOTAL`] is always bumped by one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CounterBump {
    pub key: String,
    pub adds: BTreeMap<String, i64>,
    pub keep_days: i64,
    /// The day a daily counter belongs to: it is indexed under it.
    pub day: Option<String>,
}

impl CounterBump {
    pub fn new(key: impl Into<String>, keep_days: i64) -> Self {
        Self {
            key: key.into(),
            adds: BTreeMap::from([(COUNTER_TOTAL.to_owned(), 1)]),
            keep_days,
            day: None,
        }
    }

    /// A counter of one day (`YYYY-MM-DD`), found with the day's others by `day_counters`.
    pub fn on_day(mut self, day: impl std::fmt::Display) -> Self {
        self.day = Some(day.to_string());
        self
    }

    pub fn add(mut self, field: impl Into<String>, n: i64) -> Self {
        *self.adds.entry(field.into()).or_default() += n;
        self
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommitOutcome {
    Committed,
    /// The idempotency key (or an identical alert) was already stored.
    Duplicate,
    /// Another delivery changed the state first; decide again on the new state.
    StateConflict,
}

/// A body that was refused, kept with the reason so nothing accepted by the network is lost.
#[derive(Clone, Debug)]
pub struct Quarantine {
    pub source: &'static str,
    pub request_id: String,
    pub received_at: DateTime<Utc>,
    pub reason: String,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// What a webhook receiver needs from storage.
pub trait EventStore: Send + Sync {
    fn load_state<T: DeserializeOwned + Send>(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<Versioned<T>>, StoreError>> + Send;
    fn commit(
        &self,
        commit: Commit,
    ) -> impl Future<Output = Result<CommitOutcome, StoreError>> + Send;
    fn quarantine(&self, item: Quarantine) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Records many idempotency keys and moves counters in one transaction, all or none.
    /// When some keys were stored before, nothing is written and their positions are
    /// returned, so the caller can retry without them.
    fn count_once(
        &self,
        source: &'static str,
        keys: &[String],
        counters: &[CounterBump],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<usize>, StoreError>> + Send;
    /// Writes one state row on its own, if it is still at the version it was read at;
    /// says whether it was.
    fn save_state(
        &self,
        write: StateWrite,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The reply stored with an idempotency key, if any.
    fn stored_reply(
        &self,
        source: &'static str,
        dedup_key: &str,
    ) -> impl Future<Output = Result<Option<serde_json::Value>, StoreError>> + Send;
    /// Bumps a counter on its own (outside any transaction) and returns its fields.
    fn bump(
        &self,
        bump: &CounterBump,
    ) -> impl Future<Output = Result<BTreeMap<String, i64>, StoreError>> + Send;
    fn read_counter(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<BTreeMap<String, i64>, StoreError>> + Send;
    /// Writes an alert row unless one with its id exists; says whether it wrote.
    fn put_alert_once(
        &self,
        alert: &Alert,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// What the callback watchdog needs from storage.
pub trait CallbackStore: Send + Sync {
    /// Callbacks still owed whose first missed call is older than `cutoff`.
    fn open_callbacks_before(
        &self,
        cutoff: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<crate::calls::CallbackState>, StoreError>> + Send;
    fn put_alert_once(
        &self,
        alert: &Alert,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// What the dashboard reads (it never writes).
pub trait DashboardStore: Send + Sync {
    fn load_state<T: DeserializeOwned + Send>(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<Versioned<T>>, StoreError>> + Send;
    /// Every daily counter of `day` (`YYYY-MM-DD`), by key.
    fn day_counters(
        &self,
        day: &str,
    ) -> impl Future<Output = Result<BTreeMap<String, BTreeMap<String, i64>>, StoreError>> + Send;
    /// Alerts that occurred at or after `since`, oldest first.
    fn alerts_since(
        &self,
        since: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<Alert>, StoreError>> + Send;
    /// Callbacks still owed.
    fn open_callbacks(
        &self,
    ) -> impl Future<Output = Result<Vec<crate::calls::CallbackState>, StoreError>> + Send;
}

/// What the alert dispatcher needs from storage: has this alert gone out already?
pub trait AlertLedger: Send + Sync {
    fn is_published(&self, alert_id: &str)
        -> impl Future<Output = Result<bool, StoreError>> + Send;
    fn mark_published(
        &self,
        alert_id: &str,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// An alert as stored (and as it arrives on the stream).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertRow {
    pub pk: String,
    pub sk: String,
    pub entity: String,
    pub alert_id: String,
    pub alert: Alert,
    #[serde(default)]
    pub published_at: Option<DateTime<Utc>>,
}

pub fn alert_pk(alert_id: &str) -> String {
    format!("ALERT#{alert_id}")
}

#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    fn put(
        &self,
        item: HashMap<String, AttributeValue>,
        condition: Option<&str>,
    ) -> Result<Put, StoreError> {
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .build()
            .map_err(|e| StoreError::Request(e.to_string()))
    }

    fn transact_items(&self, c: &Commit) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut items = Vec::with_capacity(3 + c.alerts.len());
        let mut dedup = dedup_item(c.source, &c.dedup_key, c.received_at)?;
        if let Some(reply) = &c.reply {
            // As text: the exact body goes back to a retry, key order and all.
            dedup.insert("reply".into(), AttributeValue::S(reply.to_string()));
        }
        items.push(self.put(dedup, Some("attribute_not_exists(pk)"))?);

        for state in &c.states {
            let (item, condition, expected) = state_item(state, c.received_at)?;
            items.push(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .condition_expression(condition)
                    .set_expression_attribute_values(expected)
                    .build()
                    .map_err(|e| StoreError::Request(e.to_string()))?,
            );
        }

        if let Some(history) = &c.history {
            let item = dynamo::to_item(serde_json::json!({
                "pk": format!("HISTORY#{}", c.source),
                "sk": format!("{}#{}", c.history_at.to_rfc3339(), c.dedup_key),
                "entity": "history",
                "received_at": c.received_at,
                "record": history,
                TTL_ATTRIBUTE: expiry(c.received_at, HISTORY_TTL_DAYS),
            }))?;
            items.push(self.put(item, None)?);
        }

        for alert in &c.alerts {
            items.push(self.put(alert_item(alert)?, Some("attribute_not_exists(pk)"))?);
        }
        let mut items: Vec<TransactWriteItem> = items
            .into_iter()
            .map(|put| TransactWriteItem::builder().put(put).build())
            .collect();
        for bump in &c.counters {
            items.push(
                TransactWriteItem::builder()
                    .update(self.counter_update(bump, c.received_at)?)
                    .build(),
            );
        }
        Ok(items)
    }

    /// Runs a transaction: `Ok(None)` when it committed, `Ok(Some(why))` when DynamoDB
    /// cancelled it, `Err` for every other failure.
    async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<Option<Cancelled>, StoreError> {
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(None),
            Err(SdkError::ServiceError(ctx)) => match ctx.err() {
                TransactWriteItemsError::TransactionCanceledException(cancel) => {
                    let codes: Vec<Option<&str>> = cancel
                        .cancellation_reasons()
                        .iter()
                        .map(|r| r.code())
                        .collect();
                    Ok(Some(Cancelled {
                        failed: (0..codes.len())
                            .filter(|&i| codes[i] == Some("ConditionalCheckFailed"))
                            .collect(),
                        conflicted: codes.contains(&Some("TransactionConflict")),
                        message: cancel.message().map(str::to_owned),
                    }))
                }
                _ => Err(request_error(SdkError::ServiceError(ctx))),
            },
            Err(other) => Err(request_error(other)),
        }
    }

    /// Puts an item if its condition holds; says whether it did.
    async fn conditional_put(
        &self,
        item: Item,
        condition: &str,
        values: Option<Item>,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_values(values)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(ctx))
                if ctx.err().is_conditional_check_failed_exception() =>
            {
                Ok(false)
            }
            Err(other) => Err(request_error(other)),
        }
    }

    fn counter_update(&self, bump: &CounterBump, now: DateTime<Utc>) -> Result<Update, StoreError> {
        let (expression, names, values) = counter_expression(bump, now);
        Update::builder()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(counter_pk(&bump.key)))
            .key("sk", AttributeValue::S("COUNTER".into()))
            .update_expression(expression)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(|e| StoreError::Request(e.to_string()))
    }
}

type Item = HashMap<String, AttributeValue>;

/// A state row, and the condition that it replaces the version it was read at.
fn state_item(
    state: &StateWrite,
    now: DateTime<Utc>,
) -> Result<(Item, &'static str, Option<Item>), StoreError> {
    let mut item = dynamo::to_item(serde_json::json!({
        "pk": format!("STATE#{}", state.key),
        "sk": "STATE",
        "entity": "state",
        "version": state.expected_version.map_or(1, |v| v + 1),
        "updated_at": now,
        "state": state.value,
    }))?;
    if let Some((pk, sk)) = &state.index {
        item.insert("gsi1pk".into(), AttributeValue::S(pk.clone()));
        item.insert("gsi1sk".into(), AttributeValue::S(sk.clone()));
    }
    Ok(match state.expected_version {
        None => (item, "attribute_not_exists(pk)", None),
        Some(v) => (
            item,
            "version = :expected",
            Some(HashMap::from([(
                ":expected".to_owned(),
                AttributeValue::N(v.to_string()),
            )])),
        ),
    })
}

/// An idempotency key's row (written with `attribute_not_exists(pk)`).
fn dedup_item(source: &str, key: &str, at: DateTime<Utc>) -> Result<Item, StoreError> {
    Ok(dynamo::to_item(serde_json::json!({
        "pk": dedup_pk(source, key),
        "sk": "DEDUP",
        "entity": "dedup",
        "received_at": at,
        TTL_ATTRIBUTE: expiry(at, DEDUP_TTL_DAYS),
    }))?)
}

/// Why a transaction was cancelled: the items whose condition failed, and whether another
/// transaction was writing the same rows.
struct Cancelled {
    failed: Vec<usize>,
    conflicted: bool,
    message: Option<String>,
}

impl Cancelled {
    fn unexplained(&self) -> StoreError {
        StoreError::Request(format!("transaction cancelled: {:?}", self.message))
    }
}

fn dedup_pk(source: &str, key: &str) -> String {
    format!("DEDUP#{source}#{key}")
}

fn counter_pk(key: &str) -> String {
    format!("COUNTER#{key}")
}

fn alert_item(alert: &Alert) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let id = alert.id();
    Ok(dynamo::to_item(serde_json::json!({
        "pk": alert_pk(&id),
        "sk": "ALERT",
        "entity": "alert",
        "alert_id": id,
        "alert": alert,
        "gsi1pk": ALERTS_PARTITION,
        "gsi1sk": format!("{}#{id}", alert.occurred_at.to_rfc3339()),
        TTL_ATTRIBUTE: expiry(alert.occurred_at.max(Utc::now()), HISTORY_TTL_DAYS),
    }))?)
}

/// `SET entity, expiry ADD c:<field> n, …`: one expression for a transaction or on its own.
fn counter_expression(
    bump: &CounterBump,
    now: DateTime<Utc>,
) -> (
    String,
    HashMap<String, String>,
    HashMap<String, AttributeValue>,
) {
    let mut names = HashMap::from([("#ttl".to_owned(), TTL_ATTRIBUTE.to_owned())]);
    let mut values = HashMap::from([
        (":entity".to_owned(), AttributeValue::S("counter".into())),
        (
            ":ttl".to_owned(),
            AttributeValue::N(expiry(now, bump.keep_days).to_string()),
        ),
    ]);
    let mut adds = Vec::new();
    for (i, (field, n)) in bump.adds.iter().enumerate() {
        names.insert(format!("#c{i}"), format!("{COUNTER_FIELD_PREFIX}{field}"));
        values.insert(format!(":c{i}"), AttributeValue::N(n.to_string()));
        adds.push(format!("#c{i} :c{i}"));
    }
    let mut sets = "entity = :entity, #ttl = :ttl".to_owned();
    if let Some(day) = &bump.day {
        values.insert(":gpk".into(), AttributeValue::S(day_index_pk(day)));
        values.insert(":gsk".into(), AttributeValue::S(bump.key.clone()));
        sets.push_str(", gsi1pk = :gpk, gsi1sk = :gsk");
    }
    let expression = format!("SET {sets} ADD {}", adds.join(", "));
    (expression, names, values)
}

fn day_index_pk(day: &str) -> String {
    format!("COUNTERS#{day}")
}

fn counter_fields(item: Option<HashMap<String, AttributeValue>>) -> BTreeMap<String, i64> {
    item.unwrap_or_default()
        .into_iter()
        .filter_map(|(name, value)| {
            let field = name.strip_prefix(COUNTER_FIELD_PREFIX)?.to_owned();
            match value {
                AttributeValue::N(n) => n.parse().ok().map(|n| (field, n)),
                _ => None,
            }
        })
        .collect()
}

fn expiry(from: DateTime<Utc>, days: i64) -> i64 {
    (from + Duration::days(days)).timestamp()
}

impl EventStore for DynamoStore {
    async fn load_state<T: DeserializeOwned + Send>(
        &self,
        key: &str,
    ) -> Result<Option<Versioned<T>>, StoreError> {
        #[derive(Deserialize)]
        struct Row<T> {
            version: u64,
            state: T,
        }
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(format!("STATE#{key}")))
            .key("sk", AttributeValue::S("STATE".into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(request_error)?;
        match out.item {
            None => Ok(None),
            Some(item) => {
                let row: Row<T> = dynamo::from_item(item)?;
                Ok(Some(Versioned {
                    version: row.version,
                    value: row.state,
                }))
            }
        }
    }

    async fn commit(&self, commit: Commit) -> Result<CommitOutcome, StoreError> {
        let items = self.transact_items(&commit)?;
        // Item 0 is the idempotency key; the state rows follow it.
        let state_items = 1..=commit.states.len();
        match self.transact(items).await? {
            None => Ok(CommitOutcome::Committed),
            Some(why) if why.failed.iter().any(|i| !state_items.contains(i)) => {
                Ok(CommitOutcome::Duplicate)
            }
            // Another delivery moved the state, or was writing the same rows.
            Some(why) if !why.failed.is_empty() || why.conflicted => {
                Ok(CommitOutcome::StateConflict)
            }
            Some(why) => Err(why.unexplained()),
        }
    }

    async fn quarantine(&self, q: Quarantine) -> Result<(), StoreError> {
        let truncated = q.body.len() > QUARANTINE_BODY_LIMIT;
        let kept = &q.body[..q.body.len().min(QUARANTINE_BODY_LIMIT)];
        let mut item = dynamo::to_item(serde_json::json!({
            "pk": format!("QUARANTINE#{}", q.source),
            "sk": format!("{}#{}", q.received_at.to_rfc3339(), q.request_id),
            "entity": "quarantine",
            "received_at": q.received_at,
            "reason": q.reason,
            "content_type": q.content_type,
            "body_bytes": q.body.len(),
            "body_truncated": truncated,
            TTL_ATTRIBUTE: expiry(q.received_at, QUARANTINE_TTL_DAYS),
        }))?;
        // Bytes as they came: not every rejected body is UTF-8.
        let body = if kept.is_empty() {
            AttributeValue::S(String::new())
        } else {
            AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(kept))
        };
        item.insert("body".into(), body);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(request_error)?;
        Ok(())
    }

    async fn count_once(
        &self,
        source: &'static str,
        keys: &[String],
        counters: &[CounterBump],
        now: DateTime<Utc>,
    ) -> Result<Vec<usize>, StoreError> {
        let mut items = Vec::with_capacity(keys.len() + counters.len());
        for key in keys {
            let marker = dedup_item(source, key, now)?;
            items.push(
                TransactWriteItem::builder()
                    .put(self.put(marker, Some("attribute_not_exists(pk)"))?)
                    .build(),
            );
        }
        for bump in counters {
            items.push(
                TransactWriteItem::builder()
                    .update(self.counter_update(bump, now)?)
                    .build(),
            );
        }
        match self.transact(items).await? {
            None => Ok(Vec::new()),
            Some(why) => {
                let seen: Vec<usize> = why
                    .failed
                    .iter()
                    .copied()
                    .filter(|&i| i < keys.len())
                    .collect();
                if seen.is_empty() {
                    Err(why.unexplained())
                } else {
                    Ok(seen)
                }
            }
        }
    }

    async fn save_state(&self, write: StateWrite) -> Result<bool, StoreError> {
        let (item, condition, expected) = state_item(&write, Utc::now())?;
        self.conditional_put(item, condition, expected).await
    }

    async fn stored_reply(
        &self,
        source: &'static str,
        dedup_key: &str,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(dedup_pk(source, dedup_key)))
            .key("sk", AttributeValue::S("DEDUP".into()))
            .projection_expression("reply")
            .consistent_read(true)
            .send()
            .await
            .map_err(request_error)?;
        match out.item.and_then(|mut i| i.remove("reply")) {
            Some(AttributeValue::S(text)) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| StoreError::Request(format!("stored reply is not JSON: {e}"))),
            _ => Ok(None),
        }
    }

    async fn bump(&self, bump: &CounterBump) -> Result<BTreeMap<String, i64>, StoreError> {
        let (expression, names, values) = counter_expression(bump, Utc::now());
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(counter_pk(&bump.key)))
            .key("sk", AttributeValue::S("COUNTER".into()))
            .update_expression(expression)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(request_error)?;
        Ok(counter_fields(out.attributes))
    }

    async fn read_counter(&self, key: &str) -> Result<BTreeMap<String, i64>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(counter_pk(key)))
            .key("sk", AttributeValue::S("COUNTER".into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(request_error)?;
        Ok(counter_fields(out.item))
    }

    async fn put_alert_once(&self, alert: &Alert) -> Result<bool, StoreError> {
        self.conditional_put(alert_item(alert)?, "attribute_not_exists(pk)", None)
            .await
    }
}

impl CallbackStore for DynamoStore {
    async fn open_callbacks_before(
        &self,
        cutoff: DateTime<Utc>,
    ) -> Result<Vec<crate::calls::CallbackState>, StoreError> {
        #[derive(Deserialize)]
        struct Row {
            state: crate::calls::CallsState,
        }
        let pages = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(ALERTS_INDEX)
            .key_condition_expression("gsi1pk = :open AND gsi1sk < :cutoff")
            .expression_attribute_values(
                ":open",
                AttributeValue::S(crate::calls::CALLBACKS_OPEN.into()),
            )
            .expression_attribute_values(":cutoff", AttributeValue::S(cutoff.to_rfc3339()))
            .into_paginator()
            .items()
            .send();
        let items: Vec<HashMap<String, AttributeValue>> = pages
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(request_error)?;
        let mut open = Vec::new();
        for item in items {
            if let crate::calls::CallsState::Callback(callback) =
                dynamo::from_item::<Row>(item)?.state
            {
                open.push(callback);
            }
        }
        Ok(open)
    }

    async fn put_alert_once(&self, alert: &Alert) -> Result<bool, StoreError> {
        EventStore::put_alert_once(self, alert).await
    }
}

impl DynamoStore {
    /// Every item of one `gsi1` partition whose sort key is at least `from`.
    async fn index_partition(
        &self,
        pk: String,
        from: Option<String>,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(ALERTS_INDEX)
            .expression_attribute_values(":pk", AttributeValue::S(pk));
        let query = match from {
            Some(from) => query
                .key_condition_expression("gsi1pk = :pk AND gsi1sk >= :from")
                .expression_attribute_values(":from", AttributeValue::S(from)),
            None => query.key_condition_expression("gsi1pk = :pk"),
        };
        query
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(request_error)
    }
}

impl DashboardStore for DynamoStore {
    async fn load_state<T: DeserializeOwned + Send>(
        &self,
        key: &str,
    ) -> Result<Option<Versioned<T>>, StoreError> {
        EventStore::load_state(self, key).await
    }

    async fn day_counters(
        &self,
        day: &str,
    ) -> Result<BTreeMap<String, BTreeMap<String, i64>>, StoreError> {
        let items = self.index_partition(day_index_pk(day), None).await?;
        Ok(items
            .into_iter()
            .filter_map(|mut item| {
                let key = match item.remove("gsi1sk") {
                    Some(AttributeValue::S(key)) => key,
                    _ => return None,
                };
                Some((key, counter_fields(Some(item))))
            })
            .collect())
    }

    async fn alerts_since(&self, since: DateTime<Utc>) -> Result<Vec<Alert>, StoreError> {
        let items = self
            .index_partition(ALERTS_PARTITION.into(), Some(since.to_rfc3339()))
            .await?;
        items
            .into_iter()
            .map(|item| Ok(dynamo::from_item::<AlertRow>(item)?.alert))
            .collect()
    }

    async fn open_callbacks(&self) -> Result<Vec<crate::calls::CallbackState>, StoreError> {
        self.open_callbacks_before(Utc::now() + Duration::days(1))
            .await
    }
}

impl AlertLedger for DynamoStore {
    async fn is_published(&self, alert_id: &str) -> Result<bool, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(alert_pk(alert_id)))
            .key("sk", AttributeValue::S("ALERT".into()))
            .projection_expression("published_at")
            .consistent_read(true)
            .send()
            .await
            .map_err(request_error)?;
        Ok(out.item.is_some_and(|i| i.contains_key("published_at")))
    }

    async fn mark_published(&self, alert_id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(alert_pk(alert_id)))
            .key("sk", AttributeValue::S("ALERT".into()))
            .update_expression("SET published_at = :at")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":at", AttributeValue::S(at.to_rfc3339()))
            .send()
            .await
            .map_err(request_error)?;
        Ok(())
    }
}
