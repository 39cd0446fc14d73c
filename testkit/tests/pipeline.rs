//! The pipeline's answers and metrics, run against the offline store.

use chrono::{DateTime, Utc};
use dialtone_shared::alert::Alert;
use dialtone_shared::calls::receiver::{CallReceiver, Voipstudio};
use dialtone_shared::metrics::Outcome;
use dialtone_shared::pipeline::{handle, Handled};
use dialtone_shared::secret::Secret;
use dialtone_shared::store::{
    Commit, CommitOutcome, CounterBump, CounterKey, EventStore, Quarantine, Revision, StateJson,
    StateKey, StateWrite, StoreError, Versioned,
};
use dialtone_testkit::offline::{run_to_end, OfflineStore};
use lambda_http::{Body, Request, RequestExt};
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, Mutex};
use tracing_subscriber::EnvFilter;

const TOKEN: &str = "local-voipstudio-token-0123456789";

fn voipstudio() -> CallReceiver<Voipstudio> {
    CallReceiver::new(
        dialtone_shared::secrets::Cached::fixed(Secret::new(TOKEN.into()).expect("token")),
        chrono_tz::Asia::Kolkata,
    )
}

/// `events/voipstudio-call-initial.json`: a genuine `call.initial` from 919812345678.
fn initial_call() -> Request {
    lambda_http::request::from_str(include_str!("../../events/voipstudio-call-initial.json"))
        .expect("envelope")
}

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
    ) -> Result<Option<serde_json::Value>, StoreError> {
        self.0.stored_reply(source, dedup_key).await
    }
    async fn read_counter(&self, key: &CounterKey) -> Result<BTreeMap<String, i64>, StoreError> {
        self.0.read_counter(key).await
    }
    async fn put_alert_once(&self, alert: &Alert) -> Result<bool, StoreError> {
        self.0.put_alert_once(alert).await
    }
}

fn handled<S: EventStore>(store: &S, request: Request) -> Handled {
    run_to_end(handle(&voipstudio(), store, request))
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

/// Collects what the subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn every_log_line_of_a_request_carries_its_id_and_provider_and_no_phone_number() {
    let mut context = lambda_http::Context::default();
    context.request_id = "7f3c2a91-0d4e-4b6a-9c1f-2e8d5b7a6c40".into();
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber =
        dialtone_shared::telemetry::subscriber(EnvFilter::new("info"), move || writer.clone());

    tracing::subscriber::with_default(subscriber, || {
        // A stored event and a refused one: both paths log.
        handled(
            &OfflineStore::new(Vec::new()),
            initial_call().with_lambda_context(context.clone()),
        );
        let mut refused = initial_call().with_lambda_context(context.clone());
        *refused.body_mut() = Body::Text("{}".into());
        handled(&OfflineStore::new(Vec::new()), refused);
    });

    let text = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("UTF-8");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert!(lines.len() >= 2, "{text}");
    for line in &lines {
        assert_eq!(line["span"]["request_id"], context.request_id, "{line}");
        assert_eq!(line["span"]["provider"], "voipstudio", "{line}");
    }
    assert!(text.contains("event stored"), "{text}");
    assert!(text.contains("payload quarantined"), "{text}");
    assert!(
        !text.contains("9812345678"),
        "a phone number was logged: {text}"
    );
    assert!(!text.contains(TOKEN), "the URL token was logged: {text}");
}
