//! The dispatcher's decisions without I/O: the ports are small in-memory recorders.

use super::*;
use aws_lambda_events::event::dynamodb::Event;
use chrono::{DateTime, Utc};
use dialtone_shared::alert::Alert;
use dialtone_testkit::alerts::{MemoryLedger, RecordingPublisher};
use std::sync::Mutex;

const STREAM: &str = include_str!("../../../events/dynamodb-stream-alerts.json");

/// Adds a note to the alerts it knows something about (critical ones).
struct Noting;

impl AlertEnricher for Noting {
    async fn enrich(&self, alert: &Alert) -> Option<Alert> {
        (alert.severity.as_str() == "critical").then(|| {
            let mut enriched = alert.clone();
            enriched.notes.push("looked up on the way out".into());
            enriched
        })
    }
}

#[tokio::test]
async fn what_the_enricher_adds_is_published_and_stored_back_and_the_rest_goes_as_stored() {
    let deps = Deps {
        ledger: MemoryLedger::default(),
        publisher: RecordingPublisher::default(),
        enricher: Noting,
    };
    let response = handler(&deps, event()).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    let sent = deps.publisher.sent.lock().unwrap().clone();
    let stored_back = deps.ledger.as_sent.lock().unwrap().clone();
    assert!(sent
        .iter()
        .any(|a| a.severity.as_str() != "critical" && a.notes.is_empty()));
    for alert in sent.iter().filter(|a| a.severity.as_str() == "critical") {
        assert_eq!(alert.notes, ["looked up on the way out"]);
        assert!(
            stored_back.values().any(|stored| stored == alert),
            "stored as sent"
        );
    }
    assert_eq!(
        stored_back.len(),
        sent.iter()
            .filter(|a| a.severity.as_str() == "critical")
            .count()
    );
    assert!(
        !stored_back.is_empty(),
        "the stream sample has a critical alert"
    );
}

fn event() -> LambdaEvent<Event> {
    LambdaEvent::new(
        serde_json::from_str(STREAM).unwrap(),
        lambda_runtime::Context::default(),
    )
}

fn sent_statuses(p: &RecordingPublisher) -> Vec<String> {
    p.sent
        .lock()
        .unwrap()
        .iter()
        .map(|a| a.status.clone())
        .collect()
}

#[tokio::test]
async fn publishes_each_inserted_alert_once_and_ignores_other_records() {
    let deps = Deps {
        ledger: MemoryLedger::default(),
        publisher: RecordingPublisher::default(),
        enricher: None::<DetailsEnricher>,
    };
    let response = handler(&deps, event()).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(sent_statuses(&deps.publisher), ["WARNING", "CRITICAL"]);

    // The same batch again (a retry): nothing goes out twice.
    let response = handler(&deps, event()).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(deps.publisher.sent.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_failed_publish_stops_the_batch_and_names_that_record() {
    let deps = Deps {
        ledger: MemoryLedger::default(),
        publisher: RecordingPublisher {
            failing_severity: Some("critical"),
            ..RecordingPublisher::default()
        },
        enricher: None::<DetailsEnricher>,
    };
    let response = handler(&deps, event()).await.unwrap();
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone().unwrap())
        .collect();
    assert_eq!(failed, ["111100000000000000003"]);
    assert_eq!(sent_statuses(&deps.publisher), ["WARNING"]);
    assert!(deps
        .ledger
        .published
        .lock()
        .unwrap()
        .contains("exotel-heartbeat:fleet@2026-11-01T10:01:00+00:00"));
}

#[tokio::test]
async fn a_record_without_sequence_number_fails_the_invocation() {
    let mut payload: serde_json::Value = serde_json::from_str(STREAM).unwrap();
    payload["Records"][0]["dynamodb"]
        .as_object_mut()
        .unwrap()
        .remove("SequenceNumber");
    let deps = Deps {
        ledger: MemoryLedger::default(),
        publisher: RecordingPublisher::default(),
        enricher: None::<DetailsEnricher>,
    };
    let event = LambdaEvent::new(
        serde_json::from_value(payload).unwrap(),
        lambda_runtime::Context::default(),
    );
    assert!(matches!(
        handler(&deps, event).await,
        Err(DispatchError::NoSequenceNumber)
    ));
}

#[test]
fn an_unreadable_row_never_names_a_callers_number_in_full() {
    let unreadable: DispatchError =
        serde_dynamo::from_item::<_, AlertRow>(std::collections::HashMap::from([(
            "alert_id".to_owned(),
            serde_dynamo::AttributeValue::N("919812345601".into()),
        )]))
        .unwrap_err()
        .into();
    assert!(
        !unreadable.to_string().contains("9812345601"),
        "{unreadable}"
    );
}

#[test]
fn exotel_settings_that_cannot_be_read_or_used_leave_the_details_off_not_the_dispatcher() {
    let unreadable = Err(ConfigError::Missing("EXOTEL_API_SECRET_ID"));
    assert!(optional_exotel(unreadable).is_none());
    let unusable = ExotelApi {
        base: "not a url".into(),
        account_sid: "acme1".into(),
        credentials: dialtone_shared::secrets::Cached::fixed(
            dialtone_shared::exotel::client::ApiCredentials {
                api_key: "key".into(),
                api_token: dialtone_shared::secret::Secret::new("token-0123456789abcdef".into())
                    .unwrap(),
            },
        ),
        spacing: std::time::Duration::from_millis(300),
        budget: 20,
        retry_base: std::time::Duration::from_millis(500),
        max_attempts: 4,
    };
    assert!(details_enricher(Some(unusable)).is_none());
    assert!(details_enricher(None).is_none());
}

/// Refuses to store an alert as sent (too large, say), and records what it marked.
#[derive(Default)]
struct RefusesAsSent(Mutex<Vec<bool>>);

impl AlertLedger for RefusesAsSent {
    async fn claim(
        &self,
        _: &str,
        _: DateTime<Utc>,
        _: DateTime<Utc>,
    ) -> Result<Claim, StoreError> {
        Ok(Claim::Claimed)
    }
    async fn release_claim(&self, _: &str, _: DateTime<Utc>) -> Result<(), StoreError> {
        Ok(())
    }
    async fn mark_published(
        &self,
        _: &str,
        _: DateTime<Utc>,
        as_sent: Option<&Alert>,
    ) -> Result<(), StoreError> {
        self.0.lock().unwrap().push(as_sent.is_some());
        match as_sent {
            Some(_) => Err(StoreError::Rejected("item too large".into())),
            None => Ok(()),
        }
    }
    async fn unpublished(
        &self,
        _: DateTime<Utc>,
        _: DateTime<Utc>,
    ) -> Result<Vec<AlertRow>, StoreError> {
        Ok(Vec::new())
    }
}

#[tokio::test]
async fn an_alert_as_sent_that_cannot_be_stored_is_still_marked_published() {
    let deps = Deps {
        ledger: RefusesAsSent::default(),
        publisher: RecordingPublisher::default(),
        enricher: Noting,
    };
    let mut row = dialtone_testkit::alerts::callback_row("+919812345601", Utc::now());
    row.alert.severity = dialtone_shared::alert::Severity::Critical;
    assert_eq!(
        publish_once(&deps, &row, Utc::now()).await.unwrap(),
        Dispatched::Published
    );
    assert_eq!(*deps.ledger.0.lock().unwrap(), [true, false]);
}
