//! The storage ports: one narrow trait per consumer, each implemented by the DynamoDB
//! adapter (and by the tests' offline store).

use super::{AlertRow, Commit, CommitOutcome, CounterBump, Quarantine, Revision, StateWrite};
use super::{CounterKey, StateKey, StoreError, StoredReply, Versioned};
use crate::alert::Alert;
use chrono::{DateTime, NaiveDate, Utc};
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::future::Future;

/// What a webhook receiver needs from storage.
pub trait EventStore: Send + Sync {
    fn load_state<T: DeserializeOwned + Send>(
        &self,
        key: &StateKey,
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
    ) -> impl Future<Output = Result<Option<StoredReply>, StoreError>> + Send;
    /// A counter's fields, summed over its shards.
    fn read_counter(
        &self,
        key: &CounterKey,
    ) -> impl Future<Output = Result<BTreeMap<String, i64>, StoreError>> + Send;
    /// Writes an alert row unless one with its id exists; says whether it wrote.
    fn put_alert_once(
        &self,
        alert: &Alert,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// A day's counters, all kinds at once: what the call-log aggregator reads to compare the
/// calls Exotel lists with the call notifications received (and the dashboard its figures).
pub trait DayCounterStore: Send + Sync {
    /// Every daily counter of `day`, by key (a stored key none of the kinds reads is left
    /// out, and logged).
    fn day_counters(
        &self,
        day: NaiveDate,
    ) -> impl Future<Output = Result<BTreeMap<CounterKey, BTreeMap<String, i64>>, StoreError>> + Send;
}

/// What the callback watchdog needs from storage: only the callbacks it still has to
/// decide about, however many are owed.
pub trait CallbackStore: Send + Sync {
    /// The state keys under the index partition `partition` whose sort key (a time) is
    /// before `cutoff`: for the callbacks, those owed and not yet alerted whose first missed
    /// call is older than the deadline (read from the index: eventually consistent).
    fn indexed_before(
        &self,
        partition: &str,
        cutoff: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<StateKey>, StoreError>> + Send;
    fn load_state<T: DeserializeOwned + Send>(
        &self,
        key: &StateKey,
    ) -> impl Future<Output = Result<Option<Versioned<T>>, StoreError>> + Send;
    /// Writes a state, if it is still at the revision read, and its alert, in one
    /// transaction. An alert already stored (raised before this state kept its mark) is
    /// not raised again; the state is still written.
    fn save_with_alert(
        &self,
        write: StateWrite,
        alert: &Alert,
    ) -> impl Future<Output = Result<AlertSaved, StoreError>> + Send;
}

/// What became of a state written with its alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertSaved {
    /// Both were written: the alert is new.
    Raised,
    /// The alert was stored already; the state was written alone.
    AlreadyRaised,
    /// The state had moved since it was read: nothing was written.
    StateMoved,
}

/// What the dashboard reads (it never writes).
pub trait DashboardStore: Send + Sync {
    fn load_state<T: DeserializeOwned + Send>(
        &self,
        key: &StateKey,
    ) -> impl Future<Output = Result<Option<Versioned<T>>, StoreError>> + Send;
    /// Every daily counter of `day`, by key (a stored key none of the kinds reads is
    /// left out, and logged).
    fn day_counters(
        &self,
        day: NaiveDate,
    ) -> impl Future<Output = Result<BTreeMap<CounterKey, BTreeMap<String, i64>>, StoreError>> + Send;
    /// Alerts that occurred at or after `since`, oldest first.
    fn alerts_since(
        &self,
        since: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<Alert>, StoreError>> + Send;
    /// The states of the rows under one index partition (the callbacks owed, say).
    fn indexed_states<T: DeserializeOwned + Send>(
        &self,
        partition: &str,
    ) -> impl Future<Output = Result<Vec<T>, StoreError>> + Send;
}

/// What the dispatcher needs to publish each alert once: a claim before the publish (so the
/// stream and the sweep never publish one alert at the same time), the mark after it, and
/// the alerts left unpublished. Only a crash between a publish and its mark publishes twice.
pub trait AlertLedger: Send + Sync {
    /// Takes the alert for publishing until `until`, unless it is published or another
    /// publisher's claim still holds.
    fn claim(
        &self,
        alert_id: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send;
    /// Gives up the claim taken until `until` (its publish failed), unless another
    /// publisher's has replaced it: the next try need not wait for it to lapse.
    fn release_claim(
        &self,
        alert_id: &str,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Marks the alert published; `as_sent`, when the dispatcher added to it on the way
    /// out (a line's details), replaces the stored alert, so the dashboard shows what
    /// people were told.
    fn mark_published(
        &self,
        alert_id: &str,
        at: DateTime<Utc>,
        as_sent: Option<&Alert>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Alert rows not published, decided at or after `since` and stored at or before
    /// `stored_by`, oldest first. A row that cannot be read is left out (logged): the
    /// stream sent it to the dispatcher's dead-letter queue, and it must not hold up the
    /// others.
    fn unpublished(
        &self,
        since: DateTime<Utc>,
        stored_by: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<AlertRow>, StoreError>> + Send;
}

/// What a claim on an alert found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// Taken: publish it, then mark it.
    Claimed,
    /// Already published.
    Published,
    /// Another publisher holds it (or crashed holding it: its claim lapses).
    InFlight,
}

/// What the SMS watchdog reads besides a watchdog's state and alert writes: the states an
/// index partition holds from before a time, with their keys (the messages waiting), and
/// a partition's newest sort key (when a phone last moved a message).
pub trait WatchStore: CallbackStore + DashboardStore {
    fn indexed_states_before<T: DeserializeOwned + Send>(
        &self,
        partition: &str,
        cutoff: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<(StateKey, T)>, StoreError>> + Send;
    fn newest_indexed(
        &self,
        partition: &str,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
}
