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
//! query, and owed callbacks while open (`gsi1pk = CALLBACKS_OPEN` until the watchdog's
//! alert, then `CALLBACKS_ALERTED`, so a sweep reads only those still to decide). The stream
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
use crate::phone::mask_numbers;
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

mod bucket_io;
mod buckets;
mod callbacks;
mod dynamodb;
mod keys;
mod layout;
mod ports;
mod queries;
mod rows;
mod size;
mod units;
mod watch;

use buckets::*;
pub use buckets::{BucketIndex, BucketRef, BUCKETS};
pub use dynamodb::DynamoStore;
pub use keys::{
    CallLogBucket, CounterKey, CounterLine, StateKey, TelerivetObject, UnknownCounterKey,
    UnknownStateKey,
};
use layout::*;
pub use ports::{
    AlertLedger, AlertSaved, CallbackStore, Claim, DashboardStore, DayCounterStore, EventStore,
    WatchStore,
};
use rows::*;
use size::*;
use units::*;

type Item = HashMap<String, AttributeValue>;

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
/// A state whose row would be larger than this is laid out in buckets when it has a large
/// map (its row is rewritten by every write, and 2 KB already costs 4 write units in a
/// transaction).
const BUCKETED_ROW_BYTES: usize = 2 * 1024;
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

/// Every message masks the phone numbers in it (state keys such as `callback:<E.164>`, or a
/// value quoted by serde or by DynamoDB): these errors are logged and quarantined.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("DynamoDB request failed: {}", mask_numbers(.0))]
    Request(String),
    #[error("stored item could not be read or written: {}", mask_numbers(&.0.to_string()))]
    Item(#[from] serde_dynamo::Error),
    #[error("stored state text could not be read or written: {}", mask_numbers(&.0.to_string()))]
    StateText(#[from] serde_json::Error),
    #[error(
        "state {} is {bytes} bytes as JSON, over the {limit} bytes one transaction can carry",
        mask_numbers(.key)
    )]
    StateTooLarge {
        key: String,
        bytes: usize,
        limit: usize,
    },
    #[error(
        "state {} at version {version} could not be read whole: {why}",
        mask_numbers(.key)
    )]
    TornState {
        key: String,
        version: u64,
        why: TornParts,
    },
    #[error("a transaction of {0} items is over DynamoDB's limit of {TRANSACTION_ITEMS}")]
    TooManyItems(usize),
    /// DynamoDB refused the request itself (`ValidationException`, or a transaction item
    /// cancelled with `ValidationError`: an item over 400 KB, a transaction over 4 MB).
    #[error("DynamoDB refused the write as invalid: {}", mask_numbers(.0))]
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

/// Which write of a state was read: its version, the token of optimistic concurrency; how
/// many part items its text takes (0: its row holds it); and where its buckets are and
/// what they held, if it is kept in buckets. The write replacing it deletes what the new
/// state no longer needs and puts only the buckets that changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revision {
    pub version: u64,
    pub(crate) parts: usize,
    pub(crate) buckets: Option<std::sync::Arc<BucketIndex>>,
}

impl Revision {
    /// The version a write replacing `replaced` stores.
    pub fn next_version(replaced: Option<&Revision>) -> u64 {
        replaced.map_or(1, |r| r.version + 1)
    }

    /// A revision whose state its row holds whole: what a store without parts or buckets
    /// (the tests' offline store) hands out.
    pub fn in_row(version: u64) -> Self {
        Self {
            version,
            parts: 0,
            buckets: None,
        }
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
    /// Who the reply was for, when the provider has several senders of one event (a
    /// Telerivet service): a repeat from another is not sent it again.
    pub reply_to: Option<String>,
}

/// A reply kept with an idempotency key, and who it was for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredReply {
    pub body: serde_json::Value,
    pub to: Option<String>,
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
            reply_to: None,
        }
    }
}

/// A state read and left unchanged, and the revision it was read at (`None`: absent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateCheck {
    pub key: StateKey,
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
    pub key: StateKey,
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

/// Adds to a counter row's fields ([`COUNTER_TOTAL`] is always bumped by one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CounterBump {
    pub key: CounterKey,
    pub adds: BTreeMap<String, i64>,
    pub keep_days: i64,
    /// Which of the counter's [`COUNTER_SHARDS`] items this bump moves (`None`: the one
    /// unsharded item). Readers sum every item of the counter.
    pub shard: Option<u16>,
}

/// A counter many concurrent events move (a project's messages, a line's calls) is spread
/// over this many items, so that their transactions do not all conflict on one item.
pub const COUNTER_SHARDS: u16 = 16;
const COUNTER_SK: &str = "COUNTER";

impl CounterBump {
    /// A daily counter is indexed under its key's day, found with the day's others by
    /// `day_counters`.
    pub fn new(key: CounterKey, keep_days: i64) -> Self {
        Self {
            key,
            adds: BTreeMap::from([(COUNTER_TOTAL.to_owned(), 1)]),
            keep_days,
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

    /// Moves only the fields added afterwards, not [`COUNTER_TOTAL`]: a second figure kept
    /// on another count's row (the failures among a window's sends). Add at least one.
    pub fn without_total(mut self) -> Self {
        self.adds.remove(COUNTER_TOTAL);
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
    /// When the row was written (rows written before it was kept have none: their
    /// `alert.occurred_at` stands in).
    #[serde(default)]
    pub stored_at: Option<DateTime<Utc>>,
}

pub fn alert_pk(alert_id: &str) -> String {
    format!("ALERT#{alert_id}")
}

#[cfg(test)]
#[path = "store_test.rs"]
mod tests;
