//! The dispatcher's decisions without I/O: the ports are small in-memory recorders.

use super::*;
use aws_lambda_events::event::dynamodb::Event;
use chrono::{DateTime, Utc};
use dialtone_shared::alert::Alert;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

const STREAM: &str = include_str!("../../../events/dynamodb-stream-alerts.json");

/// The ledger's rules in memory: published ids, and claims with their end.
#[derive(Default)]
pub(crate) struct Ledger(
    pub(crate) Mutex<HashSet<String>>,
    pub(crate) Mutex<HashMap<String, DateTime<Utc>>>,
    pub(crate) Mutex<Vec<AlertRow>>,
    /// The alerts stored back as sent, by id.
    pub(crate) Mutex<HashMap<String, Alert>>,
);

impl AlertLedger for Ledger {
    async fn claim(
        &self,
        alert_id: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Claim, StoreError> {
        if self.0.lock().unwrap().contains(alert_id) {
            return Ok(Claim::Published);
        }
        let mut claims = self.1.lock().unwrap();
        if claims.get(alert_id).is_some_and(|held| *held >= now) {
            return Ok(Claim::InFlight);
        }
        claims.insert(alert_id.to_owned(), until);
        Ok(Claim::Claimed)
    }
    async fn release_claim(&self, alert_id: &str, until: DateTime<Utc>) -> Result<(), StoreError> {
        let mut claims = self.1.lock().unwrap();
        if claims.get(alert_id) == Some(&until) {
            claims.remove(alert_id);
        }
        Ok(())
    }
    async fn mark_published(
        &self,
        alert_id: &str,
        _at: DateTime<Utc>,
        as_sent: Option<&Alert>,
    ) -> Result<(), StoreError> {
        if let Some(alert) = as_sent {
            self.3
                .lock()
                .unwrap()
                .insert(alert_id.to_owned(), alert.clone());
        }
        self.1.lock().unwrap().remove(alert_id);
        self.0.lock().unwrap().insert(alert_id.to_owned());
        Ok(())
    }
    async fn unpublished(
        &self,
        since: DateTime<Utc>,
        stored_by: DateTime<Utc>,
    ) -> Result<Vec<AlertRow>, StoreError> {
        let published = self.0.lock().unwrap().clone();
        Ok(self
            .2
            .lock()
            .unwrap()
            .iter()
            .filter(|r| {
                !published.contains(&r.alert_id)
                    && r.alert.occurred_at >= since
                    && r.stored_at.unwrap_or(r.alert.occurred_at) <= stored_by
            })
            .cloned()
            .collect())
    }
}

/// Records what it publishes; refuses alerts of the `failing_severity`.
#[derive(Default)]
pub(crate) struct Publisher {
    pub(crate) sent: Mutex<Vec<Alert>>,
    pub(crate) failing_severity: Option<&'static str>,
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
        ledger: Ledger::default(),
        publisher: Publisher::default(),
        enricher: Noting,
    };
    let response = handler(&deps, event()).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    let sent = deps.publisher.sent.lock().unwrap().clone();
    let stored_back = deps.ledger.3.lock().unwrap().clone();
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
        enricher: (),
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
        enricher: (),
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
        enricher: (),
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
        publisher: Publisher::default(),
        enricher: Noting,
    };
    let mut row = crate::sweep::tests::row("+919812345601", Utc::now());
    row.alert.severity = dialtone_shared::alert::Severity::Critical;
    assert_eq!(
        publish_once(&deps, &row, Utc::now()).await.unwrap(),
        Dispatched::Published
    );
    assert_eq!(*deps.ledger.0.lock().unwrap(), [true, false]);
}
