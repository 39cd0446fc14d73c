//! The one DynamoDB table and everything written to it.
//!
//! | row | pk | sk | ttl |
//! |---|---|---|---|
//! | idempotency key | `DEDUP#<source>#<key>` | `DEDUP` | 30 days |
//! | state (monitor, message, contact…) | `STATE#<state key>` | `STATE` | none |
//! | part of a large state's text | `STATE#<state key>` | `STATE#PART#<nnn>` | none |
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
//!
//! A state row holds its state as a map attribute `state`, beside the `version` every write
//! is conditioned on. A state too large for one item (DynamoDB stops at 400 KB: a heartbeat
//! listing some 4 300 affected lines) is kept as JSON text instead, cut into part items
//! (`entity = state-part`, at most 300 KiB of text each, each carrying the version it
//! belongs to); its state row then holds `parts`, their count, in place of `state`. The parts
//! are written, and those a smaller state no longer needs deleted, in the same transaction
//! as the state row, so a reader that finds the row's version on every part reads one
//! whole state.

use crate::alert::Alert;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update,
};
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

/// DynamoDB's item size limit, counted as DynamoDB counts it (KB of 1 024 bytes).
const ITEM_LIMIT: usize = 400 * 1024;
/// A state row whose estimated size is above this is written in parts: the margin covers
/// the one approximation in DynamoDB's published size rules (numbers).
const STATE_ROW_LIMIT: usize = ITEM_LIMIT - 10 * 1024;
/// The JSON text one part item holds, well inside an item with its keys and version.
const PART_TEXT_BYTES: usize = 300 * 1024;
/// The largest state one transaction can carry: its 4 MB also hold the commit's
/// idempotency key, history, alerts and other states (bounded, and small beside this).
const STATE_TEXT_LIMIT: usize = 3 * 1024 * 1024 + 512 * 1024;
/// DynamoDB's limit of items in one transaction.
const TRANSACTION_ITEMS: usize = 100;
const STATE_SK: &str = "STATE";
const PART_SK_PREFIX: &str = "STATE#PART#";
/// Reads of a state whose parts were replaced between reading its row and its parts:
/// another commit landing in between is the only cause, so a fresh read settles it.
const TORN_READ_ATTEMPTS: u32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("DynamoDB request failed: {0}")]
    Request(String),
    #[error("stored item could not be read or written: {0}")]
    Item(#[from] serde_dynamo::Error),
    #[error("stored state text could not be read or written: {0}")]
    StateText(#[from] serde_json::Error),
    #[error(
        "state {key} is {bytes} bytes as JSON, over the {limit} bytes one transaction can carry"
    )]
    StateTooLarge {
        key: String,
        bytes: usize,
        limit: usize,
    },
    #[error("state {key} at version {version} could not be read whole: {why}")]
    TornState {
        key: String,
        version: u64,
        why: TornParts,
    },
    #[error("a transaction of {0} items is over DynamoDB's limit of {TRANSACTION_ITEMS}")]
    TooManyItems(usize),
    /// DynamoDB refused the request itself (`ValidationException`, or a transaction item
    /// cancelled with `ValidationError`: an item over 400 KB, a transaction over 4 MB).
    #[error("DynamoDB refused the write as invalid: {0}")]
    Rejected(String),
}

impl StoreError {
    /// A failure the same request would meet again: retrying cannot store it.
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::StateTooLarge { .. }
            | Self::TooManyItems(_)
            | Self::Rejected(_)
            | Self::Item(_)
            | Self::StateText(_) => true,
            Self::Request(_) | Self::TornState { .. } => false,
        }
    }
}

/// Why the part items read do not make up the text of the state row's version.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TornParts {
    #[error("the row has no state and no parts")]
    NoState,
    #[error("{found} of its {expected} parts were found")]
    Missing { expected: usize, found: usize },
    #[error("part {index} is stored as {sk}")]
    OutOfPlace { index: usize, sk: String },
    #[error("part {index} belongs to version {found}")]
    OtherVersion { index: usize, found: String },
    #[error("part {index} has no text")]
    NoText { index: usize },
}

fn request_error<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    if err.code() == Some("ValidationException") {
        return StoreError::Rejected(DisplayErrorContext(err).to_string());
    }
    StoreError::Request(DisplayErrorContext(err).to_string())
}

/// A stored state as it was read.
#[derive(Clone, Debug, PartialEq)]
pub struct Versioned<T> {
    pub revision: Revision,
    pub value: T,
}

/// Which write of a state was read: its version, the token of optimistic concurrency, and
/// how many part items its text takes (0: its row holds it), so that the write replacing
/// it deletes the parts the new state no longer needs. Only the store makes one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Revision {
    pub version: u64,
    pub(crate) parts: usize,
}

impl Revision {
    /// The version a write replacing `replaced` stores.
    pub(crate) fn next_version(replaced: Option<Revision>) -> u64 {
        replaced.map_or(1, |r| r.version + 1)
    }
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
    /// States the decision read and leaves as they are: the commit holds only while each
    /// is still at the revision read, so a decision is never made on a row moved meanwhile.
    pub checks: Vec<StateCheck>,
    /// History kept for a while, keyed under the source.
    pub history: Option<serde_json::Value>,
    pub history_at: DateTime<Utc>,
    /// Alerts to store. One whose row already exists is dropped; it never cancels the
    /// commit.
    pub alerts: Vec<Alert>,
    /// Things seen for the first time: each marker is written once, ever, and its alert
    /// goes out with the commit that writes it (later commits drop both).
    pub firsts: Vec<FirstSeen>,
    /// Counters moved by the same transaction.
    pub counters: Vec<CounterBump>,
    /// The answer given to the provider, kept with the idempotency key for its retries.
    pub reply: Option<serde_json::Value>,
}

impl Commit {
    /// A commit of the idempotency key alone; the caller adds what it writes.
    pub fn new(source: &'static str, dedup_key: String, received_at: DateTime<Utc>) -> Self {
        Self {
            source,
            dedup_key,
            received_at,
            states: Vec::new(),
            checks: Vec::new(),
            history: None,
            history_at: received_at,
            alerts: Vec::new(),
            firsts: Vec::new(),
            counters: Vec::new(),
            reply: None,
        }
    }
}

/// A state read and left unchanged, and the revision it was read at (`None`: absent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateCheck {
    pub key: String,
    pub revision: Option<Revision>,
}

/// A marker written once (`SEEN#<source>#<key>`), and the alert its first write raises.
#[derive(Clone, Debug, PartialEq)]
pub struct FirstSeen {
    pub key: String,
    pub alert: Alert,
}

#[derive(Clone, Debug)]
pub struct StateWrite {
    pub key: String,
    /// `gsi1pk` and `gsi1sk`, for rows found by query; `None` leaves the row unindexed.
    pub index: Option<(String, String)>,
    /// The revision read before deciding (`None`: not stored yet); the write holds only if
    /// the state is still at it.
    pub replaces: Option<Revision>,
    pub state: StateJson,
}

/// A state as it is written: its compact JSON text, made once from the typed state, and
/// the size DynamoDB would count for it as a map attribute. The text is what a large
/// state's parts hold; a state that fits its row is stored from it as a map attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateJson {
    text: String,
    attribute_bytes: usize,
}

impl StateJson {
    pub fn of<T: Serialize + ?Sized>(state: &T) -> Result<Self, StoreError> {
        let text = serde_json::to_string(state)?;
        // Measured on the text, so no JSON value of the state is ever built to size it.
        let AttributeSize(attribute_bytes) = serde_json::from_str(&text)?;
        Ok(Self {
            text,
            attribute_bytes,
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Its size as a DynamoDB map attribute, by DynamoDB's published rules.
    pub fn attribute_bytes(&self) -> usize {
        self.attribute_bytes
    }

    /// The state as a JSON value (a row's map attribute is made from it).
    pub fn to_value(&self) -> Result<serde_json::Value, StoreError> {
        Ok(serde_json::from_str(&self.text)?)
    }
}

/// How a state is kept in the table: its size as one row's attribute, by DynamoDB's rules,
/// and the part items it is split into when that row would be too large (0 when it fits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateFootprint {
    pub attribute_bytes: usize,
    pub parts: usize,
}

impl StateWrite {
    /// The layout this write would store, as the commit lays it out.
    pub fn footprint(&self) -> Result<StateFootprint, StoreError> {
        let rows = state_rows(self, Utc::now())?;
        Ok(StateFootprint {
            attribute_bytes: self.state.attribute_bytes(),
            parts: rows.parts.len(),
        })
    }
}

/// Adds to a counter row's fields ([`COUNTER_TOTAL`] is always bumped by one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CounterBump {
    pub key: String,
    pub adds: BTreeMap<String, i64>,
    pub keep_days: i64,
    /// The day a daily counter belongs to: it is indexed under it.
    pub day: Option<String>,
    /// Which of the counter's [`COUNTER_SHARDS`] items this bump moves (`None`: the one
    /// unsharded item). Readers sum every item of the counter.
    pub shard: Option<u16>,
}

/// A counter many concurrent events move (a project's messages, a line's calls) is spread
/// over this many items, so that their transactions do not all conflict on one item.
pub const COUNTER_SHARDS: u16 = 16;
const COUNTER_SK: &str = "COUNTER";

impl CounterBump {
    pub fn new(key: impl Into<String>, keep_days: i64) -> Self {
        Self {
            key: key.into(),
            adds: BTreeMap::from([(COUNTER_TOTAL.to_owned(), 1)]),
            keep_days,
            day: None,
            shard: None,
        }
    }

    /// Moves one of the counter's shards, chosen by `seed` (the event's idempotency key:
    /// any choice sums the same; a stable one keeps a retry on the item it first moved).
    pub fn sharded_by(mut self, seed: &str) -> Self {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::hash::DefaultHasher::new();
        seed.hash(&mut hasher);
        self.shard = Some((hasher.finish() % u64::from(COUNTER_SHARDS)) as u16);
        self
    }

    fn sk(&self) -> String {
        match self.shard {
            None => COUNTER_SK.to_owned(),
            Some(n) => format!("{COUNTER_SK}#{n:02}"),
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
    /// The idempotency key was already stored: nothing was written.
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
    /// Writes one state on its own, if it is still at the revision it was read at; returns
    /// the revision written, or `None` when another writer moved the state first.
    fn save_state(
        &self,
        write: StateWrite,
    ) -> impl Future<Output = Result<Option<Revision>, StoreError>> + Send;
    /// The reply stored with an idempotency key, if any.
    fn stored_reply(
        &self,
        source: &'static str,
        dedup_key: &str,
    ) -> impl Future<Output = Result<Option<serde_json::Value>, StoreError>> + Send;
    /// A counter's fields, summed over its shards.
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

    /// A state row's put, conditioned on the revision it replaces.
    fn state_put(&self, row: StateRow) -> Result<Put, StoreError> {
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(row.item))
            .condition_expression(row.condition)
            .set_expression_attribute_values(row.expected)
            .build()
            .map_err(|e| StoreError::Request(e.to_string()))
    }

    /// The puts of a state's parts and the deletes of the parts its replaced revision had
    /// beyond them: none has a condition, so no failed condition is ever one of them.
    fn part_items(
        &self,
        parts: Vec<Item>,
        stale: Vec<Item>,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut items = Vec::with_capacity(parts.len() + stale.len());
        for part in parts {
            items.push(
                TransactWriteItem::builder()
                    .put(self.put(part, None)?)
                    .build(),
            );
        }
        for key in stale {
            let delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key))
                .build()
                .map_err(|e| StoreError::Request(e.to_string()))?;
            items.push(TransactWriteItem::builder().delete(delete).build());
        }
        Ok(items)
    }

    /// The transaction of a commit, and where in it each kind of conditioned item sits.
    fn transact_items(&self, c: &Commit) -> Result<(Vec<TransactWriteItem>, Layout), StoreError> {
        let mut items = Vec::with_capacity(3 + c.states.len() + c.checks.len() + c.alerts.len());
        let put = |put: Put| TransactWriteItem::builder().put(put).build();
        let mut dedup = dedup_item(c.source, &c.dedup_key, c.received_at)?;
        if let Some(reply) = &c.reply {
            // As text: the exact body goes back to a retry, key order and all.
            dedup.insert("reply".into(), AttributeValue::S(reply.to_string()));
        }
        items.push(put(self.put(dedup, Some("attribute_not_exists(pk)"))?));

        // The state rows and the checks of the rows read and left alone come right after
        // the idempotency key; the parts go after everything else.
        let mut parts = Vec::with_capacity(c.states.len());
        for state in &c.states {
            let rows = state_rows(state, c.received_at)?;
            items.push(put(self.state_put(rows.row)?));
            parts.push((rows.parts, rows.stale));
        }
        for check in &c.checks {
            items.push(
                TransactWriteItem::builder()
                    .condition_check(self.state_check(check)?)
                    .build(),
            );
        }
        let states = 1..items.len();

        if let Some(history) = &c.history {
            let item = dynamo::to_item(serde_json::json!({
                "pk": format!("HISTORY#{}", c.source),
                "sk": format!("{}#{}", c.history_at.to_rfc3339(), c.dedup_key),
                "entity": "history",
                "received_at": c.received_at,
                "record": history,
                TTL_ATTRIBUTE: expiry(c.received_at, HISTORY_TTL_DAYS),
            }))?;
            items.push(put(self.put(item, None)?));
        }

        let alerts_from = items.len();
        for alert in &c.alerts {
            items.push(put(
                self.put(alert_item(alert)?, Some("attribute_not_exists(pk)"))?
            ));
        }
        let firsts_from = items.len();
        for first in &c.firsts {
            let marker = HashMap::from([
                (
                    "pk".to_owned(),
                    AttributeValue::S(seen_pk(c.source, &first.key)),
                ),
                ("sk".to_owned(), AttributeValue::S("SEEN".into())),
                ("entity".to_owned(), AttributeValue::S("seen".into())),
            ]);
            items.push(put(self.put(marker, Some("attribute_not_exists(pk)"))?));
            items.push(put(self.put(
                alert_item(&first.alert)?,
                Some("attribute_not_exists(pk)"),
            )?));
        }
        let layout = Layout {
            states,
            alerts: alerts_from..firsts_from,
            firsts: firsts_from..items.len(),
        };
        for bump in &c.counters {
            items.push(
                TransactWriteItem::builder()
                    .update(self.counter_update(bump, c.received_at)?)
                    .build(),
            );
        }
        for (written, stale) in parts {
            items.extend(self.part_items(written, stale)?);
        }
        Ok((items, layout))
    }

    /// The condition that a state row read is still at the revision it was read at.
    fn state_check(&self, check: &StateCheck) -> Result<ConditionCheck, StoreError> {
        let (condition, expected) = revision_condition(check.revision);
        ConditionCheck::builder()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(state_pk(&check.key)))
            .key("sk", AttributeValue::S(STATE_SK.into()))
            .condition_expression(condition)
            .set_expression_attribute_values(expected)
            .build()
            .map_err(|e| StoreError::Request(e.to_string()))
    }

    /// Runs a transaction: `Ok(None)` when it committed, `Ok(Some(why))` when DynamoDB
    /// cancelled it, `Err` for every other failure.
    async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<Option<Cancelled>, StoreError> {
        if items.len() > TRANSACTION_ITEMS {
            return Err(StoreError::TooManyItems(items.len()));
        }
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
                    if let Some(i) = codes.iter().position(|c| *c == Some("ValidationError")) {
                        let why = cancel.cancellation_reasons()[i]
                            .message()
                            .unwrap_or_default();
                        return Err(StoreError::Rejected(format!("transaction item {i}: {why}")));
                    }
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
            .key("sk", AttributeValue::S(bump.sk()))
            .update_expression(expression)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(|e| StoreError::Request(e.to_string()))
    }
}

type Item = HashMap<String, AttributeValue>;

fn state_pk(key: &str) -> String {
    format!("STATE#{key}")
}

/// Part sort keys are fixed-width, so that they sort in part order.
fn part_sk(index: usize) -> String {
    format!("{PART_SK_PREFIX}{index:03}")
}

/// One state as written: its row; the parts that hold its text when the row cannot; the
/// keys of the replaced revision's parts it no longer needs; and the revision it becomes.
struct StateRows {
    row: StateRow,
    parts: Vec<Item>,
    stale: Vec<Item>,
    revision: Revision,
}

/// A state row, and the condition that it replaces the revision it was decided on.
struct StateRow {
    item: Item,
    condition: &'static str,
    expected: Option<Item>,
}

/// Lays a state out as rows: a state that fits one item stays a map attribute of its row,
/// exactly as states always were; a larger one becomes JSON text in part items.
fn state_rows(state: &StateWrite, now: DateTime<Utc>) -> Result<StateRows, StoreError> {
    let pk = state_pk(&state.key);
    let version = Revision::next_version(state.replaces);
    let mut head = serde_json::Map::new();
    head.insert("pk".into(), pk.as_str().into());
    head.insert("sk".into(), STATE_SK.into());
    head.insert("entity".into(), "state".into());
    head.insert("version".into(), version.into());
    head.insert("updated_at".into(), serde_json::to_value(now)?);
    if let Some((gsi_pk, gsi_sk)) = &state.index {
        head.insert("gsi1pk".into(), gsi_pk.as_str().into());
        head.insert("gsi1sk".into(), gsi_sk.as_str().into());
    }
    let row_size = item_size(&head) + "state".len() + state.state.attribute_bytes();
    let mut head = dynamo::to_item(head)?;
    let parts = if row_size <= STATE_ROW_LIMIT {
        head.insert(
            "state".into(),
            dynamo::to_attribute_value(state.state.to_value()?)?,
        );
        Vec::new()
    } else {
        let text = state.state.text();
        if text.len() > STATE_TEXT_LIMIT {
            return Err(StoreError::StateTooLarge {
                key: state.key.clone(),
                bytes: text.len(),
                limit: STATE_TEXT_LIMIT,
            });
        }
        let parts: Vec<Item> = split_text(text, PART_TEXT_BYTES)
            .into_iter()
            .enumerate()
            .map(|(index, text)| part_item(&pk, index, version, text))
            .collect();
        head.insert("parts".into(), AttributeValue::N(parts.len().to_string()));
        parts
    };
    let replaced_parts = state.replaces.map_or(0, |r| r.parts);
    let stale = (parts.len()..replaced_parts)
        .map(|index| {
            HashMap::from([
                ("pk".to_owned(), AttributeValue::S(pk.clone())),
                ("sk".to_owned(), AttributeValue::S(part_sk(index))),
            ])
        })
        .collect();
    let (condition, expected) = revision_condition(state.replaces);
    Ok(StateRows {
        row: StateRow {
            item: head,
            condition,
            expected,
        },
        revision: Revision {
            version,
            parts: parts.len(),
        },
        parts,
        stale,
    })
}

/// The condition that a state row is still at `revision` (`None`: that it does not exist).
fn revision_condition(revision: Option<Revision>) -> (&'static str, Option<Item>) {
    match revision {
        None => ("attribute_not_exists(pk)", None),
        Some(r) => (
            "version = :expected",
            Some(HashMap::from([(
                ":expected".to_owned(),
                AttributeValue::N(r.version.to_string()),
            )])),
        ),
    }
}

fn part_item(pk: &str, index: usize, version: u64, text: &str) -> Item {
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(pk.to_owned())),
        ("sk".to_owned(), AttributeValue::S(part_sk(index))),
        // Not an alert, nor a state row: the stream's consumers pass it by.
        ("entity".to_owned(), AttributeValue::S("state-part".into())),
        ("version".to_owned(), AttributeValue::N(version.to_string())),
        ("text".to_owned(), AttributeValue::S(text.to_owned())),
    ])
}

/// Cuts text into pieces of at most `max` bytes (`max` ≥ 4), never inside a character.
fn split_text(text: &str, max: usize) -> Vec<&str> {
    let mut pieces = Vec::with_capacity(text.len().div_ceil(max));
    let mut rest = text;
    while !rest.is_empty() {
        let mut end = rest.len().min(max);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (piece, tail) = rest.split_at(end);
        pieces.push(piece);
        rest = tail;
    }
    pieces
}

/// The text of a state's version from its part items, read in sort key order: they must
/// be exactly its `parts` parts, each of that version.
fn join_parts(version: u64, parts: usize, items: Vec<Item>) -> Result<String, TornParts> {
    if items.len() != parts {
        return Err(TornParts::Missing {
            expected: parts,
            found: items.len(),
        });
    }
    let version = version.to_string();
    let mut text = String::new();
    for (index, mut item) in items.into_iter().enumerate() {
        match item.get("sk") {
            Some(AttributeValue::S(sk)) if *sk == part_sk(index) => {}
            other => {
                return Err(TornParts::OutOfPlace {
                    index,
                    sk: format!("{other:?}"),
                })
            }
        }
        match item.get("version") {
            Some(AttributeValue::N(n)) if *n == version => {}
            other => {
                return Err(TornParts::OtherVersion {
                    index,
                    found: match other {
                        Some(AttributeValue::N(n)) => n.clone(),
                        other => format!("{other:?}"),
                    },
                })
            }
        }
        match item.remove("text") {
            Some(AttributeValue::S(piece)) => text.push_str(&piece),
            _ => return Err(TornParts::NoText { index }),
        }
    }
    Ok(text)
}

/// The size DynamoDB counts for an item, by its published rules: the names of its
/// attributes and the sizes of their values.
fn item_size(fields: &serde_json::Map<String, serde_json::Value>) -> usize {
    fields
        .iter()
        .map(|(name, value)| name.len() + attribute_size(value))
        .sum()
}

/// The size DynamoDB counts for a value stored as an attribute: strings by their UTF-8
/// bytes; numbers one byte per two significant digits, plus one; null and booleans one
/// byte; lists and maps three bytes, plus one byte and the name of each element.
fn attribute_size(value: &serde_json::Value) -> usize {
    use serde_json::Value;
    match value {
        Value::Null | Value::Bool(_) => 1,
        // Every digit counted: the zeros DynamoDB trims would only make it smaller.
        Value::Number(n) => number_size(n.to_string().bytes().filter(u8::is_ascii_digit).count()),
        Value::String(s) => s.len(),
        Value::Array(items) => 3 + items.iter().map(|v| 1 + attribute_size(v)).sum::<usize>(),
        Value::Object(fields) => {
            3 + fields
                .iter()
                .map(|(name, v)| name.len() + 1 + attribute_size(v))
                .sum::<usize>()
        }
    }
}

/// [`attribute_size`] of a value read from its JSON text, without building the value.
struct AttributeSize(usize);

impl<'de> Deserialize<'de> for AttributeSize {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(AttributeSizeVisitor)
    }
}

struct AttributeSizeVisitor;

/// The bytes DynamoDB counts for a number with this many significant digits.
fn number_size(digits: usize) -> usize {
    digits.div_ceil(2) + 1
}

fn decimal_digits(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |log| log as usize + 1)
}

impl<'de> serde::de::Visitor<'de> for AttributeSizeVisitor {
    type Value = AttributeSize;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<AttributeSize, E> {
        Ok(AttributeSize(1))
    }

    fn visit_unit<E>(self) -> Result<AttributeSize, E> {
        Ok(AttributeSize(1))
    }

    fn visit_u64<E>(self, n: u64) -> Result<AttributeSize, E> {
        Ok(AttributeSize(number_size(decimal_digits(n))))
    }

    fn visit_i64<E>(self, n: i64) -> Result<AttributeSize, E> {
        Ok(AttributeSize(number_size(decimal_digits(n.unsigned_abs()))))
    }

    fn visit_f64<E>(self, n: f64) -> Result<AttributeSize, E> {
        Ok(AttributeSize(attribute_size(&serde_json::Value::from(n))))
    }

    fn visit_str<E>(self, s: &str) -> Result<AttributeSize, E> {
        Ok(AttributeSize(s.len()))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut items: A,
    ) -> Result<AttributeSize, A::Error> {
        let mut size = 3;
        while let Some(AttributeSize(item)) = items.next_element()? {
            size += 1 + item;
        }
        Ok(AttributeSize(size))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut fields: A,
    ) -> Result<AttributeSize, A::Error> {
        let mut size = 3;
        while let Some((AttributeSize(name), AttributeSize(value))) = fields.next_entry()? {
            size += name + 1 + value;
        }
        Ok(AttributeSize(size))
    }
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

/// Removes the items at `positions` (in any order, repeats allowed) and returns them.
fn drop_positions<T>(items: &mut Vec<T>, positions: &[usize]) -> Vec<T> {
    let mut dropped = Vec::new();
    let mut kept = Vec::with_capacity(items.len());
    for (i, item) in items.drain(..).enumerate() {
        if positions.contains(&i) {
            dropped.push(item);
        } else {
            kept.push(item);
        }
    }
    *items = kept;
    dropped
}

/// Where a commit's conditioned items sit in its transaction (item 0 is the idempotency
/// key): the state rows and checks, the alerts, and the first-seen markers, each followed
/// by its alert.
struct Layout {
    states: std::ops::Range<usize>,
    alerts: std::ops::Range<usize>,
    firsts: std::ops::Range<usize>,
}

impl Cancelled {
    fn unexplained(&self) -> StoreError {
        StoreError::Request(format!("transaction cancelled: {:?}", self.message))
    }
}

fn dedup_pk(source: &str, key: &str) -> String {
    format!("DEDUP#{source}#{key}")
}

fn seen_pk(source: &str, key: &str) -> String {
    format!("SEEN#{source}#{key}")
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

fn add_fields(sum: &mut BTreeMap<String, i64>, fields: BTreeMap<String, i64>) {
    for (field, n) in fields {
        *sum.entry(field).or_default() += n;
    }
}

fn expiry(from: DateTime<Utc>, days: i64) -> i64 {
    (from + Duration::days(days)).timestamp()
}

impl DynamoStore {
    /// A state as its last write left it: its row, read consistently, and when the row
    /// names parts, a consistent query for them, checked to be all of the row's version.
    async fn read_state<T: DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<Versioned<T>>, StoreError> {
        #[derive(Deserialize)]
        struct Head {
            version: u64,
            #[serde(default)]
            parts: usize,
        }
        let pk = state_pk(key);
        let mut attempt = 1;
        loop {
            let out = self
                .client
                .get_item()
                .table_name(&self.table)
                .key("pk", AttributeValue::S(pk.clone()))
                .key("sk", AttributeValue::S(STATE_SK.into()))
                .consistent_read(true)
                .send()
                .await
                .map_err(request_error)?;
            let Some(mut item) = out.item else {
                return Ok(None);
            };
            let state = item.remove("state");
            let head: Head = dynamo::from_item(item)?;
            let revision = Revision {
                version: head.version,
                parts: head.parts,
            };
            if head.parts == 0 {
                let Some(state) = state else {
                    return Err(StoreError::TornState {
                        key: key.to_owned(),
                        version: head.version,
                        why: TornParts::NoState,
                    });
                };
                return Ok(Some(Versioned {
                    revision,
                    value: dynamo::from_attribute_value(state)?,
                }));
            }
            let parts = self.parts(&pk, head.parts).await?;
            match join_parts(head.version, head.parts, parts) {
                Ok(text) => {
                    return Ok(Some(Versioned {
                        revision,
                        value: serde_json::from_str(&text)?,
                    }))
                }
                Err(why) if attempt < TORN_READ_ATTEMPTS => {
                    tracing::warn!(
                        version = head.version,
                        why = %why,
                        attempt,
                        "state replaced while its parts were read; reading it again"
                    );
                    attempt += 1;
                }
                Err(why) => {
                    return Err(StoreError::TornState {
                        key: key.to_owned(),
                        version: head.version,
                        why,
                    })
                }
            }
        }
    }

    /// The first `count` part items of a state, in order.
    async fn parts(&self, pk: &str, count: usize) -> Result<Vec<Item>, StoreError> {
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :first AND :last")
            .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
            .expression_attribute_values(":first", AttributeValue::S(part_sk(0)))
            .expression_attribute_values(":last", AttributeValue::S(part_sk(count - 1)))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(request_error)
    }
}

impl EventStore for DynamoStore {
    async fn load_state<T: DeserializeOwned + Send>(
        &self,
        key: &str,
    ) -> Result<Option<Versioned<T>>, StoreError> {
        self.read_state(key).await
    }

    async fn commit(&self, mut commit: Commit) -> Result<CommitOutcome, StoreError> {
        // Each round either ends or drops at least one alert, so this ends.
        loop {
            let (items, layout) = self.transact_items(&commit)?;
            let Some(why) = self.transact(items).await? else {
                return Ok(CommitOutcome::Committed);
            };
            // Only the idempotency key's own condition makes a delivery a duplicate.
            if why.failed.contains(&0) {
                return Ok(CommitOutcome::Duplicate);
            }
            // Another delivery moved a state read, or was writing the same rows.
            if why.conflicted || why.failed.iter().any(|i| layout.states.contains(i)) {
                return Ok(CommitOutcome::StateConflict);
            }
            // What is left to fail is alert rows and first-seen markers that exist: that
            // alert was raised before. It is dropped; the event is kept.
            let alerts: Vec<usize> = why
                .failed
                .iter()
                .filter_map(|i| i.checked_sub(layout.alerts.start))
                .filter(|i| *i < layout.alerts.len())
                .collect();
            let firsts: Vec<usize> = why
                .failed
                .iter()
                .filter_map(|i| i.checked_sub(layout.firsts.start))
                .filter(|i| *i < layout.firsts.len())
                .map(|i| i / 2)
                .collect();
            if alerts.is_empty() && firsts.is_empty() {
                return Err(why.unexplained());
            }
            for alert in drop_positions(&mut commit.alerts, &alerts) {
                tracing::warn!(alert = %alert.id(), "alert already stored; the event is kept without it");
            }
            drop_positions(&mut commit.firsts, &firsts);
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

    async fn save_state(&self, write: StateWrite) -> Result<Option<Revision>, StoreError> {
        let StateRows {
            row,
            parts,
            stale,
            revision,
        } = state_rows(&write, Utc::now())?;
        if parts.is_empty() && stale.is_empty() {
            let saved = self
                .conditional_put(row.item, row.condition, row.expected)
                .await?;
            return Ok(saved.then_some(revision));
        }
        // The row and its parts stand or fall together; the row, first, holds the condition.
        let mut items = vec![TransactWriteItem::builder()
            .put(self.state_put(row)?)
            .build()];
        items.extend(self.part_items(parts, stale)?);
        match self.transact(items).await? {
            None => Ok(Some(revision)),
            Some(why) if why.failed.contains(&0) || why.conflicted => Ok(None),
            Some(why) => Err(why.unexplained()),
        }
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

    async fn read_counter(&self, key: &str) -> Result<BTreeMap<String, i64>, StoreError> {
        // The unsharded item and every shard share the partition: one query sums them.
        let items = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :sk)")
            .expression_attribute_values(":pk", AttributeValue::S(counter_pk(key)))
            .expression_attribute_values(":sk", AttributeValue::S(COUNTER_SK.into()))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(request_error)?;
        let mut sum = BTreeMap::new();
        for item in items {
            add_fields(&mut sum, counter_fields(Some(item)));
        }
        Ok(sum)
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
        self.read_state(key).await
    }

    async fn day_counters(
        &self,
        day: &str,
    ) -> Result<BTreeMap<String, BTreeMap<String, i64>>, StoreError> {
        let items = self.index_partition(day_index_pk(day), None).await?;
        // A sharded counter's items share its key in the index: summed into one.
        let mut counters: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
        for mut item in items {
            if let Some(AttributeValue::S(key)) = item.remove("gsi1sk") {
                add_fields(counters.entry(key).or_default(), counter_fields(Some(item)));
            }
        }
        Ok(counters)
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

#[cfg(test)]
#[path = "store_test.rs"]
mod tests;
