//! The pipeline's answers and metrics, run against the offline store.

mod common;

use common::*;

use chrono::{DateTime, Utc};
use dialtone_shared::alert::Alert;
use dialtone_shared::metrics::Outcome;
use dialtone_shared::store::{
    Commit, CommitOutcome, CounterBump, CounterKey, EventStore, Quarantine, Revision, StateJson,
    StateKey, StateWrite, StoreError, StoredReply, Versioned,
};
use dialtone_testkit::offline::OfflineStore;
use lambda_http::Body;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

/// The [`OfflineStore`] as DynamoDB behaves for a redelivery: the dedup condition fails.
struct Redelivered(OfflineStore);

impl EventStore for Redelivered {
    async fn load_state<T: DeserializeOwned + Send>(
        &self,
        key: &StateKey,
    ) -> Result<Option<Versioned<T>>, StoreError> {
        self.0.load_state(key).await
    }
    async fn commit(&self, _commit: Commit) -> Result<CommitOutcome, StoreError> {
        Ok(CommitOutcome::Duplicate)
    }
    async fn quarantine(&self, item: Quarantine) -> Result<(), StoreError> {
        self.0.quarantine(item).await
    }
    async fn count_once(
        &self,
        source: &'static str,
        keys: &[String],
        counters: &[CounterBump],
        now: DateTime<Utc>,
    ) -> Result<Vec<usize>, StoreError> {
        self.0.count_once(source, keys, counters, now).await
    }
    async fn save_state(&self, write: StateWrite) -> Result<Option<Revision>, StoreError> {
        self.0.save_state(write).await
    }
    async fn stored_reply(
        &self,
        source: &'static str,
        dedup_key: &str,
    ) -> Result<Option<StoredReply>, StoreError> {
        self.0.stored_reply(source, dedup_key).await
    }
    async fn read_counter(&self, key: &CounterKey) -> Result<BTreeMap<String, i64>, StoreError> {
        self.0.read_counter(key).await
    }
    async fn put_alert_once(&self, alert: &Alert) -> Result<bool, StoreError> {
        self.0.put_alert_once(alert).await
    }
}

#[test]
fn a_new_event_is_counted_as_stored_under_its_name() {
    let before = Utc::now();
    let handled = handled(&OfflineStore::new(Vec::new()), initial_call());
    assert_eq!(handled.response.status(), 200);
    let metric = handled.metric;
    assert_eq!(metric.provider, "voipstudio");
    assert_eq!(metric.event, "call.initial");
    assert_eq!(metric.outcome, Outcome::Stored);
    assert!(metric.at >= before && metric.at <= Utc::now(), "{metric:?}");
}

#[test]
fn a_redelivery_is_counted_as_a_duplicate() {
    let handled = handled(&Redelivered(OfflineStore::new(Vec::new())), initial_call());
    assert_eq!(handled.response.status(), 200);
    assert_eq!(handled.metric.outcome, Outcome::Duplicate);
    assert_eq!(handled.metric.event, "call.initial");
}

#[test]
fn a_wrong_token_is_counted_as_refused_before_any_event_is_known() {
    let mut request = initial_call();
    *request.uri_mut() = "https://example.invalid/voipstudio/webhook/not-the-token"
        .parse()
        .expect("uri");
    let handled = handled(&OfflineStore::new(Vec::new()), request);
    assert_eq!(handled.response.status(), 404);
    assert_eq!(handled.metric.outcome, Outcome::RejectedAuth);
    assert_eq!(handled.metric.event, "unknown");
}

#[test]
fn an_unreadable_body_is_counted_as_a_bad_request() {
    let mut request = initial_call();
    *request.body_mut() = Body::Text("{\"event_name\": ".into());
    let handled = handled(&OfflineStore::new(Vec::new()), request);
    assert_eq!(handled.response.status(), 400);
    assert_eq!(handled.metric.outcome, Outcome::BadRequest);
    assert_eq!(handled.metric.event, "unknown");
}

#[test]
fn a_storage_failure_is_counted_as_unavailable_with_the_event_known() {
    let not_a_call = StateJson::of("not a call").expect("text");
    let store = OfflineStore::new(vec![Some(not_a_call)]);
    let handled = handled(&store, initial_call());
    assert_eq!(handled.response.status(), 503);
    assert_eq!(handled.metric.outcome, Outcome::Unavailable);
    assert_eq!(handled.metric.event, "call.initial");
}
