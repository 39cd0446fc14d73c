//! The dispatcher's decisions without I/O: the ports are small in-memory recorders.

use super::*;
use aws_lambda_events::event::dynamodb::Event;
use chrono::{DateTime, Utc};
use dialtone_shared::alert::Alert;
use std::collections::HashSet;
use std::sync::Mutex;

const STREAM: &str = include_str!("../../../events/dynamodb-stream-alerts.json");

#[derive(Default)]
struct Ledger(Mutex<HashSet<String>>);

impl AlertLedger for Ledger {
    async fn is_published(&self, alert_id: &str) -> Result<bool, StoreError> {
        Ok(self.0.lock().unwrap().contains(alert_id))
    }
    async fn mark_published(&self, alert_id: &str, _at: DateTime<Utc>) -> Result<(), StoreError> {
        self.0.lock().unwrap().insert(alert_id.to_owned());
        Ok(())
    }
}

/// Records what it publishes; refuses alerts of the `failing_severity`.
#[derive(Default)]
struct Publisher {
    sent: Mutex<Vec<Alert>>,
    failing_severity: Option<&'static str>,
}

impl AlertPublisher for Publisher {
    async fn publish(&self, alert: &Alert) -> Result<String, PublishError> {
        if self.failing_severity == Some(alert.severity.as_str()) {
            return Err(PublishError::Sns("throttled".into()));
        }
        self.sent.lock().unwrap().push(alert.clone());
        Ok(format!("msg-{}", self.sent.lock().unwrap().len()))
    }
}

fn event() -> LambdaEvent<Event> {
    LambdaEvent::new(
        serde_json::from_str(STREAM).unwrap(),
        lambda_runtime::Context::default(),
    )
}

fn sent_statuses(p: &Publisher) -> Vec<String> {
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
        ledger: Ledger::default(),
        publisher: Publisher::default(),
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
        ledger: Ledger::default(),
        publisher: Publisher {
            failing_severity: Some("critical"),
            ..Publisher::default()
        },
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
        .0
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
        ledger: Ledger::default(),
        publisher: Publisher::default(),
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
